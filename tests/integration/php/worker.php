<?php
/*
 * The PHP worker of tests/integration/test_phpfpm.py and test_apache.py:
 * what an application does on each request, answered as JSON.  The same
 * code runs on the extension (lib/php/ext) and on the FFI binding.
 *
 *   ?model=M              (mode warmd) the process's table (Table::shared),
 *                         ask whether M is warm, touch it, look its record
 *                         up and check the record is M's and hangs together
 *   ?model=M&mode=own     the per-process warmer people run today, no
 *                         warmd: this worker process sends its own warmup
 *                         of M when its own timer (interval 1 s) expires
 *
 * Server variables (FastCGI params / Apache SetEnv): WARMTH_SHM (segment),
 * WARMTH_UPSTREAM (base URL of the API, own mode), WARMER_DIR (own mode's
 * per-process timers).
 */
declare(strict_types=1);

require __DIR__ . '/../../../lib/php/warmth.php';

header('Content-Type: application/json');
$model = (string) ($_GET['model'] ?? '');
$mode = (string) ($_GET['mode'] ?? 'warmd');
$out = ['pid' => getmypid(), 'model' => $model, 'mode' => $mode];

if ($mode === 'own') {
    $out['own_warmup'] = ownWarmup($model, 1.0);
    echo json_encode($out, JSON_UNESCAPED_SLASHES), "\n";
    return;
}

// Opened once per worker process, kept across its requests (doc/php.md);
// "reused" says this request found the process's handle already open;
// "impl" which binding answered ("extension", or "ffi:" and where the FFI
// binding found the library: "scope" when ffi.preload declared it).
$shm = $_SERVER['WARMTH_SHM'] ?? null;
if (extension_loaded('warmth')) {
    $out['reused'] = warmth_info($shm)['open'];
    $t = Warmth\Table::shared($shm);
    $out['impl'] = 'extension';
    $out['opened_pid'] = warmth_info($shm)['opened_pid']; // this child, or the master
} else {
    $out['reused'] = Warmth\ProcessHandle::get(Warmth\Native::ffi(), $shm ?? Warmth\Table::defaultName()) !== null;
    $t = Warmth\Table::shared($shm);
    $out['impl'] = 'ffi:' . Warmth\Native::source();
}
$out['warm'] = $t->isWarm($model);
$out['touched'] = $t->touch($model);
$out['last_error'] = $t->lastError();
try {
    $m = $t->lookup($model);
    $out['name'] = $m->name;
    $out['state'] = $m->state;
    $out['interval_ms'] = $m->intervalMs;
    $out['warm_ttl_ms'] = $m->warmTtlMs;
    $out['consistent'] = consistent($m, $model);
} catch (Warmth\WarmthException $e) {
    $out['error'] = $e->getMessage();
    $out['consistent'] = false;
}
echo json_encode($out, JSON_UNESCAPED_SLASHES), "\n";

/** The record is the one asked for, and its fields agree with each other. */
function consistent(Warmth\ModelInfo $m, string $model): bool
{
    static $states = ['unknown', 'warming', 'warm', 'failing', 'idle', 'disabled', 'reachable', 'sleeping'];
    return $m->name === $model
        && ($states[$m->stateCode] ?? null) === $m->state
        && $m->warmForSeconds >= 0.0
        && ($m->state !== 'warm' || ($m->warmUntil > 0 && $m->lastOk > 0 && $m->successes > 0))
        && $m->generation > 0
        && $m->successes >= 0 && $m->failures >= 0;
}

/*
 * The per-process warmer: every worker process keeps its own "last warmup"
 * time per model and, on a request that finds it older than $interval,
 * sends a warmup itself.  PHP-FPM and mod_php forget every variable between
 * requests, so the timer lives where people put it today: a per-PID file
 * (APCu keyed by getmypid() is the other common home; same count).  N
 * processes send N warmups per model per interval.
 */
function ownWarmup(string $model, float $interval): bool
{
    $dir = $_SERVER['WARMER_DIR'] ?? sys_get_temp_dir();
    $stamp = sprintf('%s/warmer-%d-%s', $dir, getmypid(), rawurlencode($model));
    $last = @file_get_contents($stamp);
    $now = hrtime(true);
    if ($last !== false && $now - (int) $last < $interval * 1e9) {
        return false;
    }
    file_put_contents($stamp, (string) $now);
    $body = json_encode(['model' => $model, 'max_tokens' => 1,
                         'messages' => [['role' => 'user', 'content' => 'ping']]]);
    $ctx = stream_context_create(['http' => [
        'method' => 'POST', 'timeout' => 5, 'ignore_errors' => true,
        'header' => "Content-Type: application/json\r\nAuthorization: Bearer test\r\n",
        'content' => $body,
    ]]);
    return @file_get_contents(rtrim($_SERVER['WARMTH_UPSTREAM'], '/') . '/chat/completions',
                              false, $ctx) !== false;
}
