<?php
/*
 * Tests of the PHP binding (lib/php): every Warmth\Table method, the
 * errors, iteration, status, and the declarations against the C header.
 * A table is made by tests/helpers/fill-table (the coordinator played by the
 * internal writer); each one is stopped by its pid.
 *
 * One file for both implementations of Warmth\Table: the extension
 * (lib/php/ext) when php runs with it loaded, else the FFI binding
 * (lib/php/src).  A few tests are one implementation's own: the FFI
 * declarations, the process handle kept in the environment, the FFI
 * settings; the extension's plain functions, its process handle and model
 * cache, phpinfo().
 *
 *   WARMTH_LIB=.../libwarmth.so.0 FILL_TABLE=.../tests/helpers/fill-table \
 *   PHP_HELPER=.../lib/php/tests/php-helper php [-d extension=.../warmth.so] \
 *   run.php [FILTER]
 *
 * Prints one line per check and "N passed, N failed"; exits 1 if any
 * failed (or none ran).  lib/php/tests/run-tests.sh sets the paths for
 * make check.
 */
declare(strict_types=1);

require __DIR__ . '/../warmth.php';

use Warmth\ModelInfo;
use Warmth\Status;
use Warmth\Table;
use Warmth\WarmthException;

error_reporting(E_ALL);
set_error_handler(static function (int $no, string $str, string $file, int $line): bool {
    throw new ErrorException($str, 0, $no, $file, $line);
});

require __DIR__ . '/testlib.php';

/** The extension is loaded: its classes are Warmth\Table & co, and the
 * autoloader of warmth.php is never asked for them. */
define('WARMTH_EXT', extension_loaded('warmth'));
echo '# testing ', WARMTH_EXT ? 'the extension (lib/php/ext)' : 'the FFI binding (lib/php/src)', "\n";
ok_impl();

function ok_impl(): void
{
    global $current;
    $current = 'implementation';
    $internal = (new ReflectionClass(Table::class))->isInternal();
    eq(WARMTH_EXT, $internal, 'Warmth\Table comes from ' . (WARMTH_EXT ? 'the extension' : 'lib/php/src'));
}

// ---- the tests ---------------------------------------------------------------

test('layout', function (): void {
    // The extension is compiled against the header: only its constants can
    // drift.  The FFI binding declares the structs by hand: all of it.
    $ffi = WARMTH_EXT ? null : Warmth\Native::ffi();
    $c = ['error' => [], 'state' => [], 'flag' => []];
    $seen = [];
    foreach (helper('layout') as $line) {
        $f = explode(' ', $line);
        if ($ffi === null && ($f[0] === 'sizeof' || $f[0] === 'field')) {
            continue;
        }
        switch ($f[0]) {
        case 'sizeof':
            eq((int) $f[2], FFI::sizeof($ffi->type("struct $f[1]")), "sizeof struct $f[1]");
            $seen[$f[1]] = [];
            break;
        case 'field':
            $t = $ffi->type("struct $f[1]");
            $seen[$f[1]][] = $f[2];
            if (!in_array($f[2], $t->getStructFieldNames(), true)) {
                ok(false, "$f[1].$f[2] declared in warmth.ffi.h");
                break;
            }
            eq([(int) $f[3], (int) $f[4]],
               [$t->getStructFieldOffset($f[2]), $t->getStructFieldType($f[2])->getSize()],
               "offset and size of $f[1].$f[2]");
            break;
        case 'error':
        case 'state':
        case 'flag':
            $c[$f[0]][$f[1]] = (int) $f[2];
            break;
        case 'name_max':
            eq((int) $f[1], Table::NAME_MAX, 'WARMTH_NAME_MAX');
            break;
        case 'version':
            eq($f[1], Table::version(), 'the loaded library is the one built');
            break;
        }
    }
    foreach ($seen as $struct => $fields) {
        eq($fields, $ffi->type("struct $struct")->getStructFieldNames(),
           "struct $struct has the header's fields, in order");
    }
    $errs = (new ReflectionClass(WarmthException::class))->getConstants();
    eq($c['error'], $errs, 'WarmthException constants are the WARMTH_E* codes');
    $mi = (new ReflectionClass(ModelInfo::class))->getConstants();
    foreach ($c['state'] as $k => $v) {
        eq($v, $mi[$k] ?? null, "ModelInfo::$k");
    }
    foreach ($c['flag'] as $k => $v) {
        eq($v, $mi[$k] ?? null, "ModelInfo::$k");
    }
    ok(count($c['error']) >= 21 && count($c['state']) === 6 && count($c['flag']) === 8,
       'the helper listed every constant');
});

test('names', function (): void {
    foreach ((new ReflectionClass(WarmthException::class))->getConstants() as $k => $v) {
        $e = WARMTH_EXT ? new WarmthException($v, warmth_err_name($v), warmth_strerror($v), 'x')
                        : Warmth\Native::error($v, 'x');
        eq("WARMTH_E$k", $e->errName(), "warmth_err_name($v)");
        ok($e->strerror() !== '' && $e->strerror() !== 'unknown error', "warmth_strerror($v) says something");
        eq("x: {$e->strerror()} (WARMTH_E$k)", $e->getMessage(), "message of $k");
    }
});

test('missing segment', function (): void {
    $shm = Helpers::name();
    $e = throws(WarmthException::NOENT, fn () => Table::open($shm, false), 'strict open of a missing segment');
    eq('WARMTH_ENOENT', $e?->errName(), 'errName');
    ok(str_contains((string) $e?->strerror(), 'no such segment'), 'strerror: ' . $e?->strerror());
    ok(str_contains((string) $e?->getMessage(), $shm), 'the message names the segment');
    ok($e instanceof RuntimeException, 'a RuntimeException');

    $t = Table::open($shm);
    ok($t->isOpen(), 'a lazy open succeeds without the segment');
    eq($shm, $t->shmName(), 'shmName');
    eq(false, $t->isWarm('a'), 'isWarm answers false with no coordinator');
    eq(WarmthException::NOENT, $t->lastError(), 'lastError says why');
    eq(false, $t->touch('a'), 'touch answers false');
    eq(false, $t->report('a', 0.1, true), 'report answers false');
    $t0 = hrtime(true);
    eq(false, $t->waitWarm('a', 0.5), 'waitWarm answers false');
    ok(hrtime(true) - $t0 < 100_000_000, 'waitWarm does not wait for a missing segment');
    throws(WarmthException::NOENT, fn () => $t->lookup('a'), 'lookup');
    throws(WarmthException::NOENT, fn () => $t->status(), 'status');
    throws(WarmthException::NOENT, fn () => iterator_to_array($t), 'iteration');

    // The coordinator comes up late: the same handle attaches by itself.
    Helpers::fill($shm, ['--models', 'a,b', '--warm', 'a']);
    $end = microtime(true) + 3;
    while (!$t->isWarm('a') && microtime(true) < $end) {
        usleep(20000);
    }
    eq(true, $t->isWarm('a'), 'the lazy handle attached when the segment appeared');
    eq(0, $t->lastError(), 'lastError is 0 after a success');
});

test('bad names', function (): void {
    throws(WarmthException::INVAL, fn () => Table::open('no-slash', false), 'a segment name without /');
    throws(WarmthException::INVAL, fn () => Table::open('/a/b', false), 'a segment name with two /');
    throws(WarmthException::INVAL, fn () => Table::open('', false), 'an empty segment name');
    throws(WarmthException::INVAL, fn () => Table::open("/a\0b"), 'a segment name with NUL');
    throws(WarmthException::INVAL, fn () => Table::open('/' . str_repeat('x', 300)), 'a long segment name');

    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a', '--warm', 'a']);
    $t = Table::open($shm, false);
    foreach (['has space', '', str_repeat('m', 64), "tab\t", "caf\xc3\xa9"] as $bad) {
        $show = json_encode($bad);
        throws(WarmthException::NAMETOOLONG, fn () => $t->isWarm($bad), "isWarm($show)");
        throws(WarmthException::NAMETOOLONG, fn () => $t->touch($bad), "touch($show)");
        throws(WarmthException::NAMETOOLONG, fn () => $t->lookup($bad), "lookup($show)");
    }
    throws(WarmthException::NAMETOOLONG, fn () => $t->isWarm("a\0b"), 'a NUL in a model name is refused, not cut');
    throws(WarmthException::NAMETOOLONG, fn () => $t->report("a\0", 1.0, true), 'report("a\0")');
    throws(WarmthException::NAMETOOLONG, fn () => $t->waitWarm("a\0", 0.1), 'waitWarm("a\0")');
    eq(true, $t->isWarm(str_repeat('m', 63) === '' ? '' : 'a'), 'the table still answers');
    eq(false, $t->isWarm(str_repeat('m', 63)), 'a 63-byte name is valid (not in the table)');
    eq(WarmthException::NOTFOUND, $t->lastError(), 'and reads as not found');
});

test('unknown model', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a,b', '--warm', 'a']);
    $t = Table::open($shm, false);
    eq(false, $t->isWarm('zz'), 'isWarm of an unknown model is false');
    eq(WarmthException::NOTFOUND, $t->lastError(), 'lastError NOTFOUND');
    eq(false, $t->touch('zz'), 'touch of an unknown model is false');
    eq(false, $t->report('zz', 0.2, true), 'report of an unknown model is false');
    eq(false, $t->waitWarm('zz', 0.1), 'waitWarm of an unknown model is false');
    eq(WarmthException::NOTFOUND, $t->lastError(), 'lastError NOTFOUND');
    $e = throws(WarmthException::NOTFOUND, fn () => $t->lookup('zz'), 'lookup of an unknown model');
    eq('WARMTH_ENOTFOUND', $e?->errName(), 'errName');
    ok(str_contains((string) $e?->getMessage(), 'zz'), 'the message names the model');
});

test('isWarm', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a,b,c', '--warm', 'a', '--failing', 'c']);
    $t = Table::open($shm, false);
    eq(true, $t->isWarm('a'), 'a warm model');
    eq(0, $t->lastError(), 'lastError 0');
    eq(false, $t->isWarm('b'), 'a never-probed model');
    eq(0, $t->lastError(), 'cold is not an error');
    eq(false, $t->isWarm('c'), 'a failing model');
});

test('lookup', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a,b,c', '--warm', 'a', '--failing', 'c']);
    $t = Table::open($shm, false);
    $a = $t->lookup('a');
    ok($a instanceof ModelInfo, 'a ModelInfo');
    eq('a', $a->name, 'name');
    eq('warm', $a->state, 'state as a string');
    eq(ModelInfo::WARM, $a->stateCode, 'stateCode');
    eq(200, $a->httpStatus, 'httpStatus');
    $now = hrtime(true);
    ok($a->warmUntil > $now && $a->warmUntil - $now <= 300e9, 'warmUntil is on the hrtime(true) clock');
    ok($a->warmForSeconds > 290 && $a->warmForSeconds <= 300, "warmForSeconds $a->warmForSeconds");
    ok($a->lastProbe > 0 && $a->lastProbe < $now, 'lastProbe in the past');
    eq($a->lastProbe, $a->lastOk, 'lastOk');
    eq(0, $a->retryAfterUntil, 'retryAfterUntil');
    eq(40, $a->successes, 'successes');
    eq(0, $a->failures, 'failures');
    eq([480, 40, 320], [$a->tokensIn, $a->tokensOut, $a->tokensCached], 'tokens');
    eq(72000, $a->costNusd, 'costNusd');
    eq(72e-6, $a->costUsd(), 'costUsd');
    eq(150000, $a->lastLatencyUs, 'lastLatencyUs');
    eq(150000, $a->ewmaLatencyUs, 'ewmaLatencyUs');
    ok($a->dnsUs > 0 && $a->connectUs > 0 && $a->tlsUs > 0 && $a->ttfbUs > 0, 'latency parts');
    ok($a->dnsUs + $a->connectUs + $a->tlsUs + $a->ttfbUs <= $a->lastLatencyUs, 'parts add up');
    eq(0, $a->failsInRow, 'failsInRow');
    eq(ModelInfo::F_PREFIX_CACHED, $a->flags, 'flags');
    eq(['prefix_cached'], $a->flagNames(), 'flagNames');
    eq('none', $a->errorClass, 'errorClass');
    eq(0, $a->errorClassCode, 'errorClassCode');
    eq(0, $a->endpoint, 'endpoint');
    eq([4990, 79000], [$a->headroomRequests, $a->headroomTokens], 'headroom');
    eq(0, $a->slot, 'slot');
    ok($a->generation > 0, 'generation');
    eq([0, 0], [$a->intervalMs, $a->warmTtlMs], 'interval and warm_ttl (fill-table sets none; warmd does, see worker.php)');

    $b = $t->lookup('b');
    eq(['b', 'unknown', 0, 0.0, 0, 1], [$b->name, $b->state, $b->stateCode, $b->warmForSeconds, $b->successes, $b->slot],
       'a never-probed model');
    eq('none', $b->errorClass, 'its errorClass');

    $c = $t->lookup('c');
    eq(['failing', 503, 'server', ModelInfo::FAILING, 3, 3], [$c->state, $c->httpStatus, $c->errorClass, $c->stateCode, $c->failsInRow, $c->failures],
       'a failing model');
    eq(0.0, $c->warmForSeconds, 'a failing model is warm for 0 s');
    ok($c->hasFlag(ModelInfo::F_THROTTLED) && !$c->hasFlag(ModelInfo::F_SLOW), 'hasFlag');
    ok($c->retryAfterUntil > hrtime(true), 'retryAfterUntil in the future');
    ok($c->warmUntil < hrtime(true), 'warmUntil in the past');

    throwsAny(Error::class, function () use ($a): void { $a->state = 'cold'; }, 'writing a field');
    throwsAny(Error::class, function () use ($a): void { $a->extra = 1; }, 'adding a field');
    eq('warm', $a->state, 'the record is unchanged');
    ok($t->lookup('a') !== $t->lookup('a'), 'each lookup is its own copy');
});

test('touch and report', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a,b', '--warm', 'a']);
    $t = Table::open($shm, false);
    $before = demand($shm, 1);
    eq(true, $t->touch('b'), 'touch');
    eq(true, $t->touch('b'), 'touch again');
    $after = demand($shm, 1);
    eq($before['touches'] + 2, $after['touches'], 'two touches landed in the demand segment');
    eq(true, $t->report('b', 0.25, true), 'report a success');
    eq(true, $t->report('b', 1.5, false), 'report a failure');
    $d = demand($shm, 1);
    eq([$after['touches'] + 2, 1, 1, 250000], [$d['touches'], $d['real_ok'], $d['real_fail'], $d['real_latency_us']],
       'report touched and counted (latency in us)');
    eq(true, $t->report('b', 1e9, true), 'a huge latency is clamped');
    eq(0xffffffff, demand($shm, 1)['real_latency_us'], 'to the largest uint32');
    eq(0, demand($shm, 0)['touches'], 'other slots untouched');
    throws(WarmthException::INVAL, fn () => $t->report('b', -1.0, true), 'a negative latency');
    throws(WarmthException::INVAL, fn () => $t->report('b', NAN, true), 'a NaN latency');
});

test('waitWarm', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a,b', '--warm', 'a']);
    $t = Table::open($shm, false);
    $t0 = hrtime(true);
    eq(true, $t->waitWarm('a', 5.0), 'a warm model: at once');
    ok(hrtime(true) - $t0 < 1e9, 'without waiting');
    $t0 = hrtime(true);
    eq(false, $t->waitWarm('b', 0.3), 'a cold model: timed out');
    $dt = (hrtime(true) - $t0) / 1e9;
    ok($dt >= 0.29 && $dt < 1.5, sprintf('after the timeout (%.3f s)', $dt));
    eq(0, $t->lastError(), 'a timeout is not an error');
    ok(demand($shm, 1)['touches'] >= 1, 'waitWarm touched the model');
    eq(false, $t->waitWarm('b', 0.0), 'a zero timeout');
    throws(WarmthException::INVAL, fn () => $t->waitWarm('b', -1.0), 'a negative timeout');
});

test('iteration', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'm0,m1,m2,m3', '--warm', 'm1,m3', '--failing', 'm2']);
    $t = Table::open($shm, false);
    ok($t instanceof IteratorAggregate, 'a Table is IteratorAggregate');
    $seen = [];
    foreach ($t as $name => $m) {
        ok($m instanceof ModelInfo && $m->name === $name, "key $name is the record's name");
        $seen[$name] = [$m->state, $m->slot];
    }
    eq(['m0' => ['unknown', 0], 'm1' => ['warm', 1], 'm2' => ['failing', 2], 'm3' => ['warm', 3]], $seen,
       'every model, in slot order, with its state');
    eq(4, iterator_count($t), 'iterator_count');
    $models = $t->models();
    eq(array_keys($seen), array_keys($models), 'models() gives the same');
    eq($t->lookup('m3')->generation, $models['m3']->generation, 'the same record as lookup');
    ok($models['m1']->warmForSeconds > 290, 'warmForSeconds computed in iteration');

    // Each walk hands a PHP closure to C; many walks must neither fail nor
    // grow the request's memory without bound.
    $mem0 = memory_get_usage();
    for ($i = 0; $i < 2000; $i++) {
        $n = count($t->models());
    }
    eq(4, $n, '2000 walks');
    ok(memory_get_usage() - $mem0 < 64 << 10, sprintf('memory grew %d bytes', memory_get_usage() - $mem0));
});

test('iteration of a big table', function (): void {
    $shm = Helpers::name();
    $names = array_map(fn ($i) => "model-$i", range(0, 299));
    Helpers::fill($shm, ['--models', implode(',', $names), '--warm', 'model-7,model-299']);
    $t = Table::open($shm, false);
    $all = iterator_to_array($t);
    eq($names, array_keys($all), '300 models in slot order');
    eq(['model-7', 'model-299'], array_keys(array_filter($all, fn ($m) => $m->state === 'warm')), 'the warm ones');
    eq(300, $t->status()->models, 'status agrees');
});

test('status', function (): void {
    $shm = Helpers::name();
    $pid = Helpers::fill($shm, ['--models', 'a,b,c', '--warm', 'a', '--capacity', '32']);
    $t = Table::open($shm, false);
    $s = $t->status();
    ok($s instanceof Status, 'a Status');
    eq($pid, $s->pid, 'pid is the coordinator (fill-table)');
    eq(3, $s->models, 'models');
    eq(32, $s->capacity, 'capacity');
    eq(false, $s->stale, 'not stale');
    eq(0, $s->retired, 'live');
    eq('live', $s->retiredName(), 'retiredName');
    eq(true, $s->alive(), 'alive');
    ok($s->heartbeatAgeNs >= 0 && $s->heartbeatAgeNs < $s->staleAfterNs, "heartbeat age {$s->heartbeatAgeNs} ns");
    eq(5_000_000_000, $s->staleAfterNs, 'staleAfterNs (the default 5 s)');
    ok(abs($s->createdNs / 1e9 - microtime(true)) < 60, 'createdNs is wall-clock time');
    ok($s->indexGeneration >= 1, 'indexGeneration');
    throwsAny(Error::class, function () use ($s): void { $s->pid = 1; }, 'writing a status field');
});

test('stale coordinator', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a', '--warm', 'a', '--stale']);
    usleep(300000); // beyond --stale's 100 ms bound
    $t = Table::open($shm, false);
    eq(false, $t->isWarm('a'), 'old warmth is not trusted');
    eq(0, $t->lastError(), 'stale reads as cold, not as an error');
    eq('warm', $t->lookup('a')->state, 'the record itself still says warm');
    $s = $t->status();
    eq([true, false], [$s->stale, $s->alive()], 'status says stale');
    eq(false, $t->waitWarm('a', 0.1), 'waitWarm does not trust it either');
});

test('retired segment', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a', '--warm', 'a', '--retire'], 0.5);
    $t = Table::open($shm, false);
    eq(true, $t->isWarm('a'), 'warm while live');
    ok(Helpers::waitExit(5), 'fill-table stopped');
    $s = $t->status();
    eq([1, 'retired', false], [$s->retired, $s->retiredName(), $s->alive()], 'status says retired');
    eq(false, $t->isWarm('a'), 'a retired table reads cold');
    eq('a', $t->lookup('a')->name, 'lookup still answers');
});

test('default name', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a', '--warm', 'a']);
    putenv("WARMTH_SHM=$shm");
    try {
        $t = Table::open(null, false);
        eq(null, $t->shmName(), 'shmName null');
        eq($shm, Table::defaultName(), 'defaultName follows $WARMTH_SHM');
        eq(true, $t->isWarm('a'), 'open(null) used $WARMTH_SHM');
    } finally {
        putenv('WARMTH_SHM');
    }
    eq('/warmth', Table::defaultName(), 'defaultName without $WARMTH_SHM');
});

test('close', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a', '--warm', 'a']);
    $t = Table::open($shm, false);
    $t->close();
    $t->close();
    eq(false, $t->isOpen(), 'closed, twice');
    foreach (['isWarm' => fn () => $t->isWarm('a'), 'touch' => fn () => $t->touch('a'),
              'report' => fn () => $t->report('a', 1.0, true), 'waitWarm' => fn () => $t->waitWarm('a', 0.1),
              'lookup' => fn () => $t->lookup('a'), 'status' => fn () => $t->status(),
              'iteration' => fn () => iterator_to_array($t)] as $what => $fn) {
        $e = throws(WarmthException::INVAL, $fn, "$what after close");
    }
    ok(str_contains((string) $e?->getMessage(), 'closed'), 'the message says closed');
    throwsAny(LogicException::class, fn () => clone Table::open($shm), 'clone');
    throwsAny(LogicException::class, fn () => serialize(Table::open($shm)), 'serialize');
    throwsAny(LogicException::class, fn () => unserialize('O:12:"Warmth\\Table":1:{s:1:"h";i:1;}'), 'unserialize');
    // Many opens and closes: no handle or mapping left behind.
    $maps0 = substr_count(file_get_contents('/proc/self/maps'), $shm);
    for ($i = 0; $i < 200; $i++) {
        Table::open($shm, false)->isWarm('a');
    }
    eq($maps0, substr_count(file_get_contents('/proc/self/maps'), $shm), 'no mapping leaked by 200 open/close');
});

test('fork', function (): void {
    if (!function_exists('pcntl_fork')) {
        ok(true, 'pcntl not loaded: skipped');
        return;
    }
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a,b', '--warm', 'a']);
    $t = Table::open($shm, false);
    $before = demand($shm, 1)['touches'];
    $kids = [];
    for ($i = 0; $i < 4; $i++) {
        $pid = pcntl_fork();
        if ($pid === 0) {
            // The child uses the parent's handle, as a pre-fork master's.
            $okc = $t->isWarm('a') && !$t->isWarm('b') && $t->touch('b')
                && $t->lookup('a')->name === 'a';
            posix_kill(getmypid(), $okc ? SIGUSR1 : SIGUSR2); // exit without destructors
        }
        $kids[] = $pid;
    }
    $sigs = [];
    foreach ($kids as $pid) {
        pcntl_waitpid($pid, $status);
        $sigs[] = pcntl_wifsignaled($status) ? pcntl_wtermsig($status) : -1;
    }
    eq(array_fill(0, 4, SIGUSR1), $sigs, 'four children read and touched through the inherited handle');
    eq($before + 4, demand($shm, 1)['touches'], 'their touches landed');
    eq(true, $t->isWarm('a'), 'the parent still reads');
});

ffiTest('shared', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a,b', '--warm', 'a']);
    $ffi = Warmth\Native::ffi();
    $var = sprintf('WARMTH_PHP_HANDLE_%08x', crc32($shm));
    $env = fn (string $v): ?string => ($p = $ffi->getenv($v)) === null ? null : FFI::string($p);
    $addr = fn (string $v): string => (string) $ffi->cast('uintptr_t', $ffi->getenv($v))->cdata;
    eq(null, $env($var), 'no process handle yet');
    $t = Table::shared($shm);
    ok($t === Table::shared($shm), 'one object per request');
    eq(true, $t->isWarm('a'), 'it reads');
    $entry = $env($var);
    ok(is_string($entry) && preg_match('/^[1-9]\d* ' . preg_quote($shm, '/') . '$/', $entry) === 1,
       "the process's handle is recorded: $entry");
    eq($addr($var), $env("{$var}_AT"), 'with the address of its string');
    $maps = substr_count(file_get_contents('/proc/self/maps'), $shm);

    // A new request: PHP has reset every static property.
    $reset = function (): void { self::$shared = []; };
    for ($i = 0; $i < 50; $i++) {
        $reset->bindTo(null, Table::class)();
        $u = Table::shared($shm);
        $u->isWarm('a');
        $u->close(); // drops this request's object only
    }
    ok($u !== $t, 'a new object in each request');
    eq($entry, $env($var), 'the same handle in every request');
    eq($maps, substr_count(file_get_contents('/proc/self/maps'), $shm), 'no new mapping: not reopened');
    eq(true, Table::shared($shm)->isWarm('a'), 'still open after close() of a shared table');
    eq(true, $t->isWarm('a'), 'the first object too');

    // Entries this process did not write are never trusted: they are
    // replaced, not used.
    [$h] = explode(' ', $entry);
    $cases = [
        'a value set by someone else' => fn () => $ffi->setenv($var, "12345 $shm", 1),
        'a wrong _AT' => fn () => $ffi->setenv("{$var}_AT", '12345', 1),
        'no _AT' => fn () => $ffi->setenv("{$var}_AT", '', 1),
        'another name with the same crc32' => function () use ($ffi, $var, $h, $addr): void {
            $ffi->setenv($var, "$h /other", 1);
            $ffi->setenv("{$var}_AT", $addr($var), 1);
        },
        'a null address' => function () use ($ffi, $var, $shm, $addr): void {
            $ffi->setenv($var, "0 $shm", 1);
            $ffi->setenv("{$var}_AT", $addr($var), 1);
        },
    ];
    foreach ($cases as $what => $forge) {
        $forge();
        $forged = $env($var);
        $reset->bindTo(null, Table::class)();
        eq(true, Table::shared($shm)->isWarm('a'), "$what: ignored, a handle of its own");
        ok($env($var) !== $forged && $env("{$var}_AT") === $addr($var), "$what: replaced by this process's");
    }

    // A program started from here inherits the entry and must not use it.
    $mine = $env($var);
    [$rc, $out] = php('require "' . __DIR__ . '/../warmth.php";
        $f = Warmth\Native::ffi();
        $before = FFI::string($f->getenv(' . var_export($var, true) . '));
        $t = Warmth\Table::shared(' . var_export($shm, true) . ');
        echo $t->isWarm("a") ? "warm" : "cold", "|$before|", FFI::string($f->getenv(' . var_export($var, true) . '));', []);
    $f = explode('|', trim($out));
    eq([0, 'warm', $mine], [$rc, $f[0] ?? '', $f[1] ?? ''], "an exec'd php inherits the entry and reads through its own handle");
    ok(($f[2] ?? $mine) !== $mine, "and records its own: $out");

    if (function_exists('pcntl_fork')) {
        $maps = substr_count(file_get_contents('/proc/self/maps'), $shm);
        $child = pcntl_fork();
        if ($child === 0) {
            // A forked child (a new request in it) uses the handle it
            // inherited, as the library allows.
            $reset->bindTo(null, Table::class)();
            $c = Table::shared($shm);
            $okc = $c !== $t && $c->isWarm('a') && $c->touch('b') && $env($var) === $mine
                && substr_count(file_get_contents('/proc/self/maps'), $shm) === $maps;
            posix_kill(getmypid(), $okc ? SIGUSR1 : SIGUSR2);
        }
        pcntl_waitpid($child, $status);
        eq(SIGUSR1, pcntl_wifsignaled($status) ? pcntl_wtermsig($status) : -1,
           'a forked child reuses the inherited handle');
    }
    eq(true, $t->isWarm('a'), 'the parent still reads');
});

ffiTest('library not found', function (): void {
    [$rc, $out] = php('require "' . __DIR__ . '/../warmth.php";
        try { Warmth\Table::open("/x"); } catch (Warmth\WarmthException $e) {
            echo get_class($e), " ", $e->getCode(), " ", $e->getMessage(); exit(3); }',
        ['WARMTH_LIB' => '/nonexistent/libwarmth.so.0']);
    eq(3, $rc, 'open throws WarmthException');
    ok(str_contains($out, 'cannot load /nonexistent/libwarmth.so.0') && str_contains($out, (string) WarmthException::SYS),
       "it says what it could not load: $out");
});

ffiTest('ffi disabled', function (): void {
    $p = proc_open([PHP_BINARY, '-d', 'ffi.enable=0', '-r', 'require "' . __DIR__ . '/../warmth.php";
        try { Warmth\Table::open("/x"); } catch (Throwable $e) { echo get_class($e), ": ", $e->getMessage(); exit(3); }'],
        [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    $out = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
    eq(3, proc_close($p), 'open fails');
    ok(str_starts_with($out, 'Warmth\WarmthException') && str_contains($out, 'ffi.enable'), "and points at ffi.enable: $out");
});

// ---- the extension's own -------------------------------------------------------

extTest('shared', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a,b', '--warm', 'a']);
    eq(false, warmth_info($shm)['open'], 'no process handle yet');
    $maps0 = substr_count(file_get_contents('/proc/self/maps'), $shm);
    $t = Table::shared($shm);
    ok($t === Table::shared($shm), 'one object per request');
    eq(true, $t->isWarm('a'), 'it reads');
    $info = warmth_info($shm);
    eq([true, getmypid()], [$info['open'], $info['opened_pid']], 'the process holds the handle, opened here');
    $maps = substr_count(file_get_contents('/proc/self/maps'), $shm);
    ok($maps > $maps0, 'mapped once');
    $t->close();
    eq(false, $t->isOpen(), 'close() drops this object');
    $u = Table::shared($shm);
    ok($u !== $t && $u->isWarm('a'), 'the next shared() is a new object on the same handle');
    for ($i = 0; $i < 50; $i++) {
        Table::shared($shm)->isWarm('a');
        Table::shared($shm)->close();
    }
    eq($maps, substr_count(file_get_contents('/proc/self/maps'), $shm), 'no new mapping: not reopened');
    eq(true, warmth_info($shm)['open'], 'the handle stays open');
    ok(Table::shared(null) !== $u && Table::shared(null)->shmName() === null, 'the default segment is another handle');

    if (function_exists('pcntl_fork')) {
        $child = pcntl_fork();
        if ($child === 0) {
            // A forked child (a PHP-FPM or prefork child of a master that
            // opened it) uses the handle it inherited.
            $c = Table::shared($shm);
            $okc = $c->isWarm('a') && $c->touch('b') && warmth_info($shm)['opened_pid'] !== getmypid()
                && substr_count(file_get_contents('/proc/self/maps'), $shm) === $maps;
            posix_kill(getmypid(), $okc ? SIGUSR1 : SIGUSR2);
        }
        pcntl_waitpid($child, $status);
        eq(SIGUSR1, pcntl_wifsignaled($status) ? pcntl_wtermsig($status) : -1,
           'a forked child reads through the inherited handle');
    }
    eq(true, Table::shared($shm)->isWarm('a'), 'the parent still reads');
});

extTest('plain functions', function (): void {
    $shm = Helpers::name();
    Helpers::fill($shm, ['--models', 'a,b', '--warm', 'a']);
    $code = '$r = [warmth_info()["open"], warmth_is_warm("a"), warmth_last_error(), warmth_is_warm("b"),
        warmth_touch("b"), warmth_report("b", 0.25, true), warmth_lookup("a")->name,
        warmth_wait_warm("b", 0.05), warmth_is_warm("zz"), warmth_last_error(), warmth_touch("zz"),
        warmth_info()["open"], warmth_info()["opened_pid"] === getmypid()];
        try { warmth_is_warm("a b"); $r[] = "no throw"; } catch (Warmth\WarmthException $e) { $r[] = $e->getCode(); }
        try { warmth_report("a", -1.0, true); $r[] = "no throw"; } catch (Warmth\WarmthException $e) { $r[] = $e->getCode(); }
        try { warmth_lookup("zz"); $r[] = "no throw"; } catch (Warmth\WarmthException $e) { $r[] = $e->getMessage(); }
        echo json_encode($r);';
    $before = demand($shm, 1)['touches'];
    [$rc, $out] = php($code, [], ["warmth.shm=$shm"]);
    eq(0, $rc, "ran: $out");
    $want = [false, true, 0, false, true, true, 'a', false, false, WarmthException::NOTFOUND, false, true, true,
             WarmthException::NAMETOOLONG, WarmthException::INVAL,
             'lookup zz: model not in the table (WARMTH_ENOTFOUND)'];
    eq($want, json_decode($out, true), 'the plain functions read ini warmth.shm\'s table');
    $d = demand($shm, 1);
    eq([$before + 3, 1, 250000], [$d['touches'], $d['real_ok'], $d['real_latency_us']],
       'touch, report and wait_warm landed in the demand segment');

    // Without the ini setting: $WARMTH_SHM, as warmth_open(NULL).
    [$rc, $out] = php('echo json_encode([warmth_is_warm("a"), warmth_is_warm("b")]);', ['WARMTH_SHM' => $shm]);
    eq([0, '[true,false]'], [$rc, $out], 'no warmth.shm: $WARMTH_SHM');
    [$rc, $out] = php('echo json_encode([warmth_is_warm("a"), warmth_last_error()]);',
                      ['WARMTH_SHM' => $shm], ['warmth.shm=/warmth-php-nonexistent']);
    eq([0, '[false,' . WarmthException::NOENT . ']'], [$rc, $out], 'warmth.shm wins over $WARMTH_SHM');
});

extTest('model handles', function (): void {
    $shm = Helpers::name();
    $handles = warmth_info()['handles'];
    echo '# libwarmth ', $handles ? 'has' : 'has no', " resolved model handles\n";
    Helpers::fill($shm, ['--models', 'a,b,c', '--warm', 'a,c']);
    $t = Table::shared($shm);
    eq([true, false, true], [$t->isWarm('a'), $t->isWarm('b'), $t->isWarm('c')], 'reads');
    eq(false, $t->isWarm('zz'), 'an unknown model');
    eq($handles ? 4 : 0, warmth_info($shm)['models_cached'], 'each name resolved once (an unknown one too: it may appear)');
    eq([0, 2], [$t->lookup('a')->slot, $t->lookup('c')->slot], 'their slots');

    // The coordinator is replaced by one with other slots: the same process
    // handles must follow, never answer with another model's record.
    Helpers::stopAll();
    Helpers::fill($shm, ['--models', 'c,x,b,a', '--warm', 'b']);
    $end = microtime(true) + 5;
    while (!$t->isWarm('b') && microtime(true) < $end) {
        usleep(20000);
    }
    eq([false, true, false], [$t->isWarm('a'), $t->isWarm('b'), $t->isWarm('c')], 'the new table\'s warmth');
    eq([['a', 3], ['c', 0], ['b', 2]], array_map(fn ($m) => [$t->lookup($m)->name, $t->lookup($m)->slot], ['a', 'c', 'b']),
       'each lookup is its own model, at its new slot');

    // Many names: the cache is bounded, every answer stays right.
    Helpers::stopAll();
    $names = array_map(fn ($i) => "m$i", range(0, 399));
    Helpers::fill($shm, ['--models', implode(',', $names), '--warm', 'm7,m300']);
    $end = microtime(true) + 5;
    while (!$t->isWarm('m7') && microtime(true) < $end) {
        usleep(20000);
    }
    $warm = array_values(array_filter($names, fn ($n) => $t->isWarm($n)));
    eq(['m7', 'm300'], $warm, '400 models asked: the warm ones');
    $n = warmth_info($shm)['models_cached'];
    ok($handles ? $n === 256 : $n === 0, "the cache stopped at its bound ($n)");
    eq(['m399', 399], [$t->lookup('m399')->name, $t->lookup('m399')->slot], 'a model past the bound, by name');
});

extTest('phpinfo', function (): void {
    $shm = Helpers::name();
    $pid = Helpers::fill($shm, ['--models', 'a,b', '--warm', 'a']);
    $p = proc_open([PHP_BINARY, ...extArgs(["warmth.shm=$shm"]), '--ri', 'warmth'],
                   [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    $out = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
    eq(0, proc_close($p), 'php --ri warmth');
    foreach (['warmth support => enabled', 'libwarmth version => ' . Table::version(), "shm name => $shm",
              'attached => yes', "coordinator pid => $pid", 'coordinator => live', 'models => 2 of '] as $line) {
        ok(str_contains($out, $line), "says \"$line\"");
    }
    [$rc, $out] = php('phpinfo(INFO_MODULES);', [], ['warmth.shm=/warmth-php-nonexistent']);
    ok($rc === 0 && str_contains($out, 'attached => no') && str_contains($out, 'no such segment'),
       'phpinfo() without a coordinator: attached no, and why');
});

echo "$passed passed, $failed failed\n";
exit($failed > 0 || $passed === 0 ? 1 : 0);
