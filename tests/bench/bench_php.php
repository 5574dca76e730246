<?php
/*
 * bench_php.php - what a PHP worker pays to ask "is my model warm?".
 *
 * ns per call of the PHP binding (Table::isWarm, touch, lookup, the bare FFI
 * call under them, and the per-request Table::shared()) next to what PHP
 * workers share state with today: phpredis GET of one key over a Unix
 * socket and over TCP loopback, and APCu (apcu_fetch, shared memory of one
 * FPM pool or Apache server), with hrtime() as the floor.
 *
 * The table is made by tests/helpers/fill-table; redis-server is started here on a
 * free loopback port and a Unix socket in a temporary directory (no
 * persistence) and stopped by pid, as is fill-table.  The benchmark pins
 * itself to one CPU and Redis to the same CPU, then to another (a Unix
 * socket round trip costs very differently in the two cases).
 *
 * Run from the build directory through `make bench-php`, or:
 *   WARMTH_LIB=lib/.libs/libwarmth.so.0 FILL_TABLE=tests/helpers/fill-table \
 *     php -d apc.enable_cli=1 $srcdir/tests/bench/bench_php.php [--quick]
 * Needs php8.2-redis, php8.2-apcu and redis-server (tools/deps.sh); a
 * missing one is reported and its rows left out.  Prints figures; judges
 * nothing.
 */
declare(strict_types=1);

require __DIR__ . '/../../lib/php/warmth.php';

use Warmth\Table;

const REPEATS = 7;
$quick = in_array('--quick', $argv, true);
$budget = $quick ? 0.05 : 0.25; // seconds per repeat

/** @var list<array{0: resource, 1: string}> processes started here */
$procs = [];
$tmp = sys_get_temp_dir() . '/warmth-bench-php-' . getmypid();
mkdir($tmp, 0700);
register_shutdown_function(static function () use (&$procs, $tmp): void {
    foreach ($procs as [$p]) {
        $st = proc_get_status($p);
        if ($st['running']) {
            posix_kill($st['pid'], SIGTERM); // by pid, never by name
        }
        proc_close($p);
    }
    foreach (glob("$tmp/*") ?: [] as $f) {
        @unlink($f);
    }
    @rmdir($tmp);
});

function start(array $argv, string $log): mixed
{
    global $procs;
    $p = proc_open($argv, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'],
                           2 => ['file', $log, 'a']], $pipes);
    if (!is_resource($p)) {
        fwrite(STDERR, "bench_php: cannot start $argv[0]\n");
        exit(1);
    }
    $procs[] = [$p, $argv[0]];
    return $p;
}

function waitFor(callable $ready, $proc, string $what): void
{
    $end = microtime(true) + 10;
    while (!$ready()) {
        if (!proc_get_status($proc)['running'] || microtime(true) > $end) {
            fwrite(STDERR, "bench_php: $what did not start\n");
            exit(1);
        }
        usleep(10000);
    }
}

/** Median ns per call of $fn over REPEATS runs of a calibrated count. */
function measure(callable $fn): float
{
    global $budget;
    $n = 1000;
    for (;;) { // calibrate: one run of about $budget seconds
        $t = hrtime(true);
        $fn($n);
        $dt = (hrtime(true) - $t) / 1e9;
        if ($dt > $budget / 4) {
            break;
        }
        $n *= 4;
    }
    $n = max(1000, (int) ($n * $budget / $dt));
    $runs = [];
    for ($i = 0; $i < REPEATS; $i++) {
        $t = hrtime(true);
        $fn($n);
        $runs[] = (hrtime(true) - $t) / $n;
    }
    sort($runs);
    return $runs[intdiv(REPEATS, 2)];
}

function pin(int $pid, int $cpu): bool
{
    exec(sprintf('taskset -pc %d %d 2>/dev/null', $cpu, $pid), $out, $rc);
    return $rc === 0;
}

// ---- the table ----------------------------------------------------------------
$fill = getenv('FILL_TABLE') ?: './tests/helpers/fill-table';
if (!is_executable($fill)) {
    fwrite(STDERR, "bench_php: $fill not found: run from the build directory after make, or set FILL_TABLE\n");
    exit(1);
}
$shm = '/warmth-bench-php-' . getmypid();
$ft = start([$fill, '--shm', $shm, '--models', 'bench-a,bench-b,bench-c', '--warm', 'bench-a',
             '--hold', '600'], "$tmp/fill-table.log");
waitFor(fn () => file_exists("/dev/shm$shm"), $ft, 'fill-table');
usleep(50000);
$t = Table::open($shm, false);
if (!$t->isWarm('bench-a')) {
    fwrite(STDERR, "bench_php: the table does not say bench-a is warm\n");
    exit(1);
}
$ffi = Warmth\Native::ffi();
$h = $ffi->new('warmth_t*[1]');
$ffi->warmth_open($h, $shm, 0);
$raw = $h[0];

// ---- Redis ------------------------------------------------------------------------
$redis = null;
$redisPid = 0;
$why = [];
$bin = trim((string) shell_exec('command -v redis-server'));
if (!extension_loaded('redis')) {
    $why[] = 'phpredis not loaded (php8.2-redis)';
} elseif ($bin === '') {
    $why[] = 'redis-server not found (redis-server)';
} else {
    $srv = stream_socket_server('tcp://127.0.0.1:0');
    $port = (int) substr(strrchr(stream_socket_get_name($srv, false), ':'), 1);
    fclose($srv);
    $sock = "$tmp/redis.sock";
    $rp = start([$bin, '--port', (string) $port, '--bind', '127.0.0.1', '--unixsocket', $sock,
                 '--unixsocketperm', '700', '--save', '', '--appendonly', 'no',
                 '--dir', $tmp, '--daemonize', 'no', '--loglevel', 'warning'], "$tmp/redis.log");
    waitFor(fn () => file_exists($sock), $rp, 'redis-server');
    $redisPid = proc_get_status($rp)['pid'];
    $unix = new Redis();
    $unix->connect($sock);
    $tcp = new Redis();
    $tcp->connect('127.0.0.1', $port);
    $unix->set('warm:bench-a', '1');
    $redis = ['unix' => $unix, 'tcp' => $tcp];
}
$apcu = extension_loaded('apcu') && apcu_enabled();
if ($apcu) {
    apcu_store('warm:bench-a', 1);
} else {
    $why[] = 'APCu not enabled (php8.2-apcu, and -d apc.enable_cli=1 in the CLI)';
}

// ---- measure ------------------------------------------------------------------------
$cpus = (int) trim((string) shell_exec('nproc 2>/dev/null')) ?: 1;
$pinned = pin(getmypid(), 0);
if ($redisPid) {
    pin($redisPid, 0);
}

$rows = [];
$rows['empty loop'] = measure(function (int $n): void { for ($i = 0; $i < $n; $i++) {} });
$rows['hrtime(true)'] = measure(function (int $n): void { for ($i = 0; $i < $n; $i++) { hrtime(true); } });
$rows['FFI warmth_is_warm (bare)'] = measure(function (int $n) use ($ffi, $raw): void {
    for ($i = 0; $i < $n; $i++) { $ffi->warmth_is_warm($raw, 'bench-a'); } });
$rows['Table::isWarm'] = measure(function (int $n) use ($t): void {
    for ($i = 0; $i < $n; $i++) { $t->isWarm('bench-a'); } });
$rows['Table::touch'] = measure(function (int $n) use ($t): void {
    for ($i = 0; $i < $n; $i++) { $t->touch('bench-a'); } });
$rows['Table::lookup (ModelInfo)'] = measure(function (int $n) use ($t): void {
    for ($i = 0; $i < $n; $i++) { $t->lookup('bench-a'); } });
// Per request: what a request pays to get its table (PHP reset its statics).
$reset = (function (): void { self::$shared = []; })->bindTo(null, Table::class);
Table::shared($shm);
$rows['Table::shared (new request)'] = measure(function (int $n) use ($reset, $shm): void {
    for ($i = 0; $i < $n; $i++) { $reset(); Table::shared($shm); } });
$rows['Table::open+close (per request)'] = measure(function (int $n) use ($shm): void {
    for ($i = 0; $i < $n; $i++) { Table::open($shm)->close(); } });
if ($apcu) {
    $rows['APCu apcu_fetch'] = measure(function (int $n): void {
        for ($i = 0; $i < $n; $i++) { apcu_fetch('warm:bench-a'); } });
}
$placements = [];
if ($redis) {
    $placements = $cpus > 1 && $pinned ? [0 => 'same CPU', 1 => 'other CPU'] : [-1 => 'unpinned'];
    foreach ($placements as $cpu => $where) {
        if ($cpu >= 0) {
            pin($redisPid, $cpu);
        }
        foreach ($redis as $kind => $r) {
            $rows["phpredis GET $kind ($where)"] = measure(function (int $n) use ($r): void {
                for ($i = 0; $i < $n; $i++) { $r->get('warm:bench-a'); } });
        }
    }
}

// ---- report -------------------------------------------------------------------------
printf("PHP %s, libwarmth %s, %d CPUs, %s; median of %d runs, ns per call"
       . " (loop overhead included: see 'empty loop')\n",
       PHP_VERSION, Table::version(), $cpus, $pinned ? 'pinned to CPU 0' : 'not pinned', REPEATS);
$base = $rows['Table::isWarm'];
printf("%-40s %10s %14s\n", 'operation', 'ns/op', 'x Table::isWarm');
foreach ($rows as $name => $ns) {
    printf("%-40s %10.1f %14.2f\n", $name, $ns, $ns / $base);
}
echo "ratios:\n";
printf("  Table::isWarm / hrtime(true)            %8.1f\n", $base / $rows['hrtime(true)']);
printf("  Table::lookup / Table::isWarm           %8.1f\n", $rows['Table::lookup (ModelInfo)'] / $base);
if ($apcu) {
    printf("  APCu apcu_fetch / Table::isWarm         %8.2f\n", $rows['APCu apcu_fetch'] / $base);
}
foreach ($placements as $where) {
    foreach (['unix', 'tcp'] as $kind) {
        $k = "phpredis GET $kind ($where)";
        printf("  %-39s %8.1f\n", "Redis GET $kind ($where) / isWarm", $rows[$k] / $base);
    }
}
foreach ($why as $w) {
    echo "not measured: $w\n";
}
