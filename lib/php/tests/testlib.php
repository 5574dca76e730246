<?php
/*
 * The runner of lib/php/tests/run.php: checks (ok, eq, throws), tests
 * by name, fill-table processes stopped by pid, php-helper and a fresh php.
 */
declare(strict_types=1);

use Warmth\WarmthException;

// ---- a tiny runner -----------------------------------------------------------

$passed = 0;
$failed = 0;
$current = '';

function ok(bool $cond, string $what): void
{
    global $passed, $failed, $current;
    if ($cond) {
        $passed++;
        echo "ok - $current: $what\n";
    } else {
        $failed++;
        echo "FAIL - $current: $what\n";
    }
}

function eq(mixed $want, mixed $got, string $what): void
{
    ok($want === $got, $what . ($want === $got ? ''
        : ' (want ' . var_export($want, true) . ', got ' . var_export($got, true) . ')'));
}

/** Checks that $fn throws WarmthException with $code; returns it. */
function throws(int $code, callable $fn, string $what): ?WarmthException
{
    try {
        $fn();
    } catch (WarmthException $e) {
        eq($code, $e->getCode(), "$what throws code $code");
        return $e;
    } catch (Throwable $e) {
        ok(false, "$what throws WarmthException, not " . get_class($e) . ': ' . $e->getMessage());
        return null;
    }
    ok(false, "$what throws");
    return null;
}

function throwsAny(string $class, callable $fn, string $what): void
{
    try {
        $fn();
    } catch (Throwable $e) {
        ok($e instanceof $class, "$what throws $class" .
           ($e instanceof $class ? '' : ', not ' . get_class($e)));
        return;
    }
    ok(false, "$what throws $class");
}

function test(string $name, callable $fn): void
{
    global $current, $failed, $argv;
    if (isset($argv[1]) && !str_contains($name, $argv[1])) {
        return;
    }
    $current = $name;
    try {
        $fn();
    } catch (Throwable $e) {
        $failed++;
        echo "FAIL - $name: uncaught " . get_class($e) . ': ' . $e->getMessage()
            . ' at ' . basename($e->getFile()) . ':' . $e->getLine() . "\n";
    } finally {
        Helpers::stopAll();
    }
}

function need(string $env): string
{
    $v = getenv($env);
    if (!is_string($v) || $v === '' || !is_executable($v)) {
        fwrite(STDERR, "run.php: set $env to the built program (see run-tests.sh)\n");
        exit(2);
    }
    return $v;
}

/** fill-table processes, stopped by pid. */
final class Helpers
{
    /** @var list<array{0: resource, 1: string}> */
    private static array $procs = [];
    private static int $n = 0;

    public static function name(): string
    {
        return sprintf('/warmth-php-%d-%d', getmypid(), ++self::$n);
    }

    /** Starts fill-table on $shm and waits for its segment. */
    public static function fill(string $shm, array $args, float $hold = 30): int
    {
        $argv = [need('FILL_TABLE'), '--shm', $shm, '--hold', (string) $hold, ...$args];
        $p = proc_open($argv, [0 => ['file', '/dev/null', 'r'], 1 => STDOUT, 2 => STDERR], $pipes);
        if (!is_resource($p)) {
            throw new RuntimeException('cannot start fill-table');
        }
        self::$procs[] = [$p, $shm];
        $end = microtime(true) + 10;
        while (!file_exists("/dev/shm$shm")) {
            if (!proc_get_status($p)['running'] || microtime(true) > $end) {
                throw new RuntimeException("fill-table did not make $shm");
            }
            usleep(10000);
        }
        // The segment exists before it is published (WARMTH_ENOTREADY until
        // then): wait, within the same bound, until it opens, however slow
        // the machine is.  Any other answer is the test's to judge.
        while (true) {
            try {
                \Warmth\Table::open($shm, false)->close();
                break;
            } catch (WarmthException $e) {
                if ($e->getCode() !== WarmthException::NOTREADY) {
                    break;
                }
            }
            if (!proc_get_status($p)['running'] || microtime(true) > $end) {
                throw new RuntimeException("fill-table did not publish $shm");
            }
            usleep(10000);
        }
        return proc_get_status($p)['pid'];
    }

    /** Waits for the last fill-table to exit by itself (--hold ran out). */
    public static function waitExit(float $timeout): bool
    {
        [$p] = end(self::$procs);
        $end = microtime(true) + $timeout;
        while (proc_get_status($p)['running']) {
            if (microtime(true) > $end) {
                return false;
            }
            usleep(10000);
        }
        return true;
    }

    public static function stopAll(): void
    {
        foreach (self::$procs as [$p, $shm]) {
            if (proc_get_status($p)['running']) {
                proc_terminate($p, 15); // SIGTERM to its pid: it unlinks
            }
            proc_close($p);
            foreach (['', '.demand'] as $suffix) {
                if (file_exists("/dev/shm$shm$suffix")) {
                    @unlink("/dev/shm$shm$suffix");
                }
            }
        }
        self::$procs = [];
    }
}
register_shutdown_function([Helpers::class, 'stopAll']);

/** Runs php-helper; returns its stdout lines. */
function helper(string ...$args): array
{
    $out = [];
    $rc = 0;
    exec(escapeshellarg(need('PHP_HELPER')) . ' ' . implode(' ', array_map('escapeshellarg', $args)), $out, $rc);
    if ($rc !== 0) {
        throw new RuntimeException("php-helper @{$args[0]} failed ($rc)");
    }
    return $out;
}

/** @return array<string,int> counters of one demand slot */
function demand(string $shm, int $slot): array
{
    $line = helper('demand', $shm, (string) $slot)[0];
    preg_match_all('/(\w+)=(\d+)/', $line, $m);
    return array_map('intval', array_combine($m[1], $m[2]));
}

/** Runs a PHP snippet in a fresh php process (FFI state starts anew). */
function php(string $code, array $env): array
{
    $p = proc_open([PHP_BINARY, '-d', 'ffi.enable=preload', '-r', $code],
                   [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env + getenv());
    $out = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
    return [proc_close($p), $out];
}
