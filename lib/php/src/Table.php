<?php
declare(strict_types=1);

namespace Warmth;

/**
 * The per-host warmth table kept by warmd, read through libwarmth.
 *
 *     $t = Warmth\Table::shared();          // this process's; $WARMTH_SHM or "/warmth"
 *     if (!$t->isWarm('gpt-4o-mini')) { ... pick another model, or go on cold }
 *     $t->touch('gpt-4o-mini');             // "this worker uses it"
 *     ...call the API...
 *     $t->report('gpt-4o-mini', $seconds, $ok);
 *
 * Two kinds of method:
 *  - the per-request ones, isWarm(), touch(), report() and waitWarm(),
 *    never throw because the table is missing, stale, busy or lacks the
 *    model: a coordinator that is down reads as "cold", and a request goes
 *    on without it.  They answer false and keep the reason in lastError().
 *    They throw WarmthException only for a caller's mistake (a bad model
 *    name, a closed table);
 *  - the inspecting ones, lookup(), status(), iteration and a strict
 *    open(), throw WarmthException with the library's code.
 *
 * A handle is fork-safe (the library's guarantee); cloning and serialising
 * are refused, since two objects would free one handle.
 *
 * @implements \IteratorAggregate<string, ModelInfo>
 */
final class Table implements \IteratorAggregate
{
    /** warmth_open flag: return a handle even with no segment yet. */
    private const OPEN_LAZY = 0x1;
    /** include/warmth.h WARMTH_NAME_MAX */
    public const NAME_MAX = 63;

    private \FFI $ffi;
    private ?\FFI\CData $h = null;
    /** lookup()'s buffer, made on first use: most requests never look up */
    private ?\FFI\CData $info = null;
    private int $lastError = 0;

    private function __construct(\FFI $ffi, \FFI\CData $h, private readonly ?string $shm,
                                 private readonly bool $owned = true)
    {
        $this->ffi = $ffi;
        $this->h = $h;
        $this->pid = getmypid();
    }

    /**
     * Opens the table.  $shm null means $WARMTH_SHM, else "/warmth".  Lazy
     * (the default): succeeds with no segment yet, and every call re-attaches
     * by itself when the coordinator (re)starts; strict ($lazy false):
     * throws the reason the segment cannot be used now.
     */
    public static function open(?string $shm = null, bool $lazy = true): self
    {
        $ffi = Native::ffi();
        if ($shm !== null && ($shm === '' || str_contains($shm, "\0"))) {
            throw Native::error(WarmthException::INVAL, 'open: bad segment name');
        }
        $out = $ffi->new('warmth_t*[1]');
        $rc = $ffi->warmth_open($out, $shm, $lazy ? self::OPEN_LAZY : 0);
        if ($rc !== 0) {
            throw Native::error($rc, 'open ' . ($shm ?? self::defaultName()));
        }
        return new self($ffi, $out[0], $shm);
    }

    /** @var array<string, self> this request's Table::shared() objects */
    private static array $shared = [];

    /**
     * The table for this process: opened (lazily: never throws for an
     * absent coordinator) on the first call in a worker process, then the
     * same handle for every later request of that process, as long as it
     * lives.  Use this in PHP-FPM and mod_php: opening costs system calls
     * and a user lookup; the per-request calls on an open table cost none.
     * close() on it only drops this request's object.  See doc/php.md.
     */
    public static function shared(?string $shm = null): self
    {
        $key = $shm ?? "\0";
        $t = self::$shared[$key] ?? null;
        if ($t !== null && $t->h !== null && $t->pid === getmypid()) {
            return $t;
        }
        $ffi = Native::ffi();
        $name = $shm ?? self::defaultName();
        $h = ProcessHandle::get($ffi, $name);
        if ($h === null) {
            $t = self::open($shm, true);
            if (!ProcessHandle::put($ffi, $name, $t->h)) {
                return self::$shared[$key] = $t; // per request, then
            }
            $h = $t->h;
            $t->h = null; // now the process's: never closed
        }
        return self::$shared[$key] = new self($ffi, $h, $shm, false);
    }

    /** getmypid() when made: a shared() object of a parent is not reused. */
    private int $pid = 0;

    /** Unmaps and frees the handle; later calls throw.  Idempotent.  A
     * shared() table's handle stays open for the process's next requests. */
    public function close(): void
    {
        if ($this->h !== null) {
            $h = $this->h;
            $this->h = null;
            if ($this->owned) {
                $this->ffi->warmth_close($h);
            }
        }
    }

    public function __destruct()
    {
        $this->close();
    }

    public function __clone()
    {
        $this->h = null; // the copy must not free the original's handle
        throw new \LogicException('a Warmth\Table cannot be cloned');
    }

    public function __serialize(): array
    {
        throw new \LogicException('a Warmth\Table cannot be serialized');
    }

    public function __unserialize(array $data): void
    {
        throw new \LogicException('a Warmth\Table cannot be unserialized');
    }

    /** The segment name this table was opened with (null: the default). */
    public function shmName(): ?string
    {
        return $this->shm;
    }

    public function isOpen(): bool
    {
        return $this->h !== null;
    }

    /**
     * Why the last per-request call answered false (a negative
     * WarmthException code), or 0 when it succeeded.
     */
    public function lastError(): int
    {
        return $this->lastError;
    }

    // ---- per request: never throw for an absent or stale coordinator -----

    /**
     * True if $model is warm now: state warm, not expired, and the
     * coordinator alive.  False when it is cold, and also when the table
     * cannot say (see lastError()): old warmth is never trusted.
     */
    public function isWarm(string $model): bool
    {
        return $this->soft($this->ffi->warmth_is_warm($this->handle(), self::name($model)),
                           'isWarm') === 1;
    }

    /** Tells the coordinator this worker uses $model.  False if not recorded. */
    public function touch(string $model): bool
    {
        return $this->soft($this->ffi->warmth_touch($this->handle(), self::name($model)),
                           'touch') === 0;
    }

    /**
     * Reports a real request to $model: it took $latencySeconds and
     * succeeded or not.  A real success counts as warmth, so warmd skips the
     * warmup it would have sent.  Also touches.  False if not recorded.
     */
    public function report(string $model, float $latencySeconds, bool $ok): bool
    {
        if (!($latencySeconds >= 0.0)) { // also NaN
            throw Native::error(WarmthException::INVAL, 'report: latency must be >= 0 seconds');
        }
        $us = (int) min(0xffffffff, round($latencySeconds * 1e6));
        return $this->soft($this->ffi->warmth_report($this->handle(), self::name($model),
                                                     $us, $ok ? 1 : 0), 'report') === 0;
    }

    /**
     * Touches $model and sleeps (no spinning) until it is warm or
     * $timeoutSeconds pass.  True if warm.  This blocks the worker: keep the
     * timeout short on a request path.
     */
    public function waitWarm(string $model, float $timeoutSeconds): bool
    {
        if (!($timeoutSeconds >= 0.0)) {
            throw Native::error(WarmthException::INVAL, 'waitWarm: timeout must be >= 0 seconds');
        }
        $ms = (int) min(0xffffffff, ceil($timeoutSeconds * 1e3));
        return $this->soft($this->ffi->warmth_wait_warm($this->handle(), self::name($model), $ms),
                           'waitWarm') === 1;
    }

    // ---- inspection: throw -------------------------------------------------

    /** One consistent copy of $model's record. */
    public function lookup(string $model): ModelInfo
    {
        if ($this->info === null) {
            $this->info = $this->ffi->new('struct warmth_model_info');
            $this->info->size = \FFI::sizeof($this->info);
        }
        $rc = $this->ffi->warmth_lookup($this->handle(), self::name($model), \FFI::addr($this->info));
        if ($rc !== 0) {
            throw Native::error($rc, "lookup $model");
        }
        return ModelInfo::fromC($this->ffi, $this->info, hrtime(true));
    }

    /**
     * Every model, in slot order, keyed by name.  One consistent copy per
     * record (warmth_foreach), all taken before the first is yielded.
     *
     * @return \ArrayIterator<string, ModelInfo>
     */
    public function getIterator(): \ArrayIterator
    {
        return new \ArrayIterator($this->models());
    }

    /** @return array<string, ModelInfo> every model, keyed by name */
    public function models(): array
    {
        $h = $this->handle();
        self::$walk = [];
        self::$walkFailure = null;
        try {
            $rc = $this->ffi->warmth_foreach($h, self::iterFn($this->ffi), null);
            if (self::$walkFailure !== null) {
                throw self::$walkFailure;
            }
            if ($rc < 0) {
                throw Native::error($rc, 'foreach');
            }
            return self::$walk;
        } finally {
            self::$walk = [];
            self::$walkFailure = null;
        }
    }

    /** Coordinator liveness from the segment header. */
    public function status(): Status
    {
        $st = $this->ffi->new('struct warmth_status');
        $st->size = \FFI::sizeof($st);
        $rc = $this->ffi->warmth_status($this->handle(), \FFI::addr($st));
        if ($rc !== 0) {
            throw Native::error($rc, 'status');
        }
        return new Status($st->pid, $st->heartbeat_age_ns, $st->stale_after_ns,
                          $st->created_ns, $st->retired, $st->stale !== 0,
                          $st->models, $st->capacity, $st->index_generation);
    }

    // ---- library-wide ------------------------------------------------------

    /** Version of the libwarmth actually loaded, e.g. "0.1.0". */
    public static function version(): string
    {
        return Native::ffi()->warmth_version_string();
    }

    /** The segment name warmth_open uses for $shm null. */
    public static function defaultName(): string
    {
        $env = getenv('WARMTH_SHM');
        return is_string($env) && $env !== '' ? $env : '/warmth';
    }

    // ---- internals ---------------------------------------------------------

    /** @var array<string, ModelInfo> the walk in progress (models()) */
    private static array $walk = [];
    private static ?\Throwable $walkFailure = null;
    private static ?\FFI\CData $iterBox = null;

    /*
     * The C callback of models(), made once per request.  FFI makes a new
     * trampoline, kept until the request ends, each time a PHP callable is
     * passed where C wants a function pointer (measured: ~150 bytes a call,
     * unbounded in a long-running worker); stored once into a function
     * pointer field, it is made once and reused.  The closure is static and
     * fills self::$walk, so it holds no Table alive.  It must not throw
     * through warmth_foreach's C frames: it catches, stops the walk, and
     * models() rethrows once C has returned.
     */
    private static function iterFn(\FFI $ffi): \FFI\CData
    {
        if (self::$iterBox === null) {
            $box = $ffi->new('struct { warmth_iter_fn fn; }');
            $box->fn = static function ($info, $arg) use ($ffi): int {
                try {
                    $m = ModelInfo::fromC($ffi, $info[0], hrtime(true));
                    self::$walk[$m->name] = $m;
                    return 0;
                } catch (\Throwable $e) {
                    self::$walkFailure = $e;
                    return 1;
                }
            };
            self::$iterBox = $box;
        }
        return self::$iterBox->fn;
    }

    private function handle(): \FFI\CData
    {
        return $this->h ?? throw Native::error(WarmthException::INVAL, 'table is closed');
    }

    /* A NUL would cut the name short on its way to C, so "a\0b" would read
     * as "a": refuse it here, with the code the library gives bad names. */
    private static function name(string $model): string
    {
        if (str_contains($model, "\0")) {
            throw Native::error(WarmthException::NAMETOOLONG, 'model name contains NUL');
        }
        return $model;
    }

    /* Per-request calls: a caller's mistake throws, anything else (no
     * segment, stale, busy, unknown model, ...) is remembered and read as
     * "no". */
    private function soft(int $rc, string $what): int
    {
        if ($rc >= 0) {
            $this->lastError = 0;
            return $rc;
        }
        $this->lastError = $rc;
        if ($rc === WarmthException::INVAL || $rc === WarmthException::NAMETOOLONG) {
            throw Native::error($rc, $what);
        }
        return $rc;
    }
}
