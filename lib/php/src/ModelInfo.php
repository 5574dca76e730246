<?php
declare(strict_types=1);

namespace Warmth;

/**
 * One model's record, as one consistent copy (warmth_lookup or
 * warmth_foreach): every field of struct warmth_model_info, read-only.
 *
 * Times are CLOCK_MONOTONIC nanoseconds, the clock of hrtime(true) on
 * Linux (0 = never).  To decide whether to rely on a model, use
 * Table::isWarm(): it also checks that the coordinator is alive, which a
 * record alone cannot say.
 */
final class ModelInfo
{
    // enum warmth_state (include/warmth.h); append only.
    public const UNKNOWN = 0;
    public const WARMING = 1;
    public const WARM = 2;
    public const FAILING = 3;
    public const IDLE = 4;
    public const DISABLED = 5;
    public const REACHABLE = 6;
    public const SLEEPING = 7;

    // WARMTH_F_* record flags; append only.
    public const F_SLOW = 0x01;
    public const F_KEY_PROBLEM = 0x02;
    public const F_BUDGET = 0x04;
    public const F_PAUSED = 0x08;
    public const F_THROTTLED = 0x10;
    public const F_REAL_TRAFFIC = 0x20;
    public const F_PREFIX_CACHED = 0x40;
    public const F_FLEET = 0x80;
    public const F_MODEL_PROBLEM = 0x100;
    public const F_OFF_HOURS = 0x200;

    private const FLAG_NAMES = [
        self::F_SLOW => 'slow', self::F_KEY_PROBLEM => 'key_problem',
        self::F_BUDGET => 'budget', self::F_PAUSED => 'paused',
        self::F_THROTTLED => 'throttled', self::F_REAL_TRAFFIC => 'real_traffic',
        self::F_PREFIX_CACHED => 'prefix_cached', self::F_FLEET => 'fleet',
        self::F_MODEL_PROBLEM => 'model_problem', self::F_OFF_HOURS => 'off_hours',
    ];

    /** headroom_* value meaning "the provider sent no rate-limit header". */
    public const HEADROOM_UNKNOWN = 0xffffffff;

    /** @var array<int, string> state and error-class names, per request */
    private static array $stateNames = [];
    private static array $classNames = [];

    /**
     * Seconds the model stays warm from now, by the record's warm_until and
     * hrtime(true) at the copy; 0.0 unless the state is "warm".
     */
    public readonly float $warmForSeconds;

    public function __construct(
        public readonly string $name,
        public readonly string $state,          // "warm", "failing", ...
        public readonly int $stateCode,         // ModelInfo::WARM, ...
        public readonly int $httpStatus,        // last HTTP status, 0 if none
        public readonly int $warmUntil,         // ns, CLOCK_MONOTONIC
        public readonly int $lastProbe,         // ns, end of the last warmup
        public readonly int $lastOk,            // ns, last success
        public readonly int $retryAfterUntil,   // ns, provider asked to wait
        public readonly int $successes,
        public readonly int $failures,
        public readonly int $tokensIn,
        public readonly int $tokensOut,
        public readonly int $tokensCached,
        public readonly int $costNusd,          // 1e-9 USD
        public readonly int $lastLatencyUs,
        public readonly int $ewmaLatencyUs,
        public readonly int $dnsUs,
        public readonly int $connectUs,
        public readonly int $tlsUs,
        public readonly int $ttfbUs,
        public readonly int $failsInRow,
        public readonly int $flags,             // ModelInfo::F_*
        public readonly string $errorClass,     // "none", "timeout", ...
        public readonly int $errorClassCode,
        public readonly int $endpoint,
        public readonly int $headroomRequests,  // HEADROOM_UNKNOWN if none
        public readonly int $headroomTokens,
        public readonly int $slot,
        public readonly int $generation,
        public readonly int $intervalMs,        // configured warmup interval
        public readonly int $warmTtlMs,         // how long a success keeps it warm
        int $now,
    ) {
        $this->warmForSeconds = $stateCode === self::WARM && $warmUntil > $now
            ? ($warmUntil - $now) / 1e9 : 0.0;
    }

    /**
     * @internal Copies a CData struct warmth_model_info (or a pointer to
     * one) into an object: the record is valid only during the C call that
     * handed it over.
     */
    public static function fromC(\FFI $ffi, \FFI\CData $c, int $now): self
    {
        $s = $c->state;
        $e = $c->error_class;
        return new self(
            \FFI::string($c->name),
            self::$stateNames[$s] ??= $ffi->warmth_state_name($s),
            $s, $c->http_status, $c->warm_until, $c->last_probe, $c->last_ok,
            $c->retry_after_until, $c->successes, $c->failures, $c->tokens_in,
            $c->tokens_out, $c->tokens_cached, $c->cost_nusd,
            $c->last_latency_us, $c->ewma_latency_us, $c->dns_us,
            $c->connect_us, $c->tls_us, $c->ttfb_us, $c->fails_in_row,
            $c->flags, self::$classNames[$e] ??= $ffi->warmth_error_class_name($e),
            $e, $c->endpoint, $c->headroom_requests, $c->headroom_tokens,
            $c->slot, $c->generation, $c->interval_ms, $c->warm_ttl_ms, $now);
    }

    public function hasFlag(int $flag): bool
    {
        return ($this->flags & $flag) === $flag;
    }

    /** @return list<string> the names of the set flags, e.g. ["slow"] */
    public function flagNames(): array
    {
        $out = [];
        foreach (self::FLAG_NAMES as $bit => $name) {
            if ($this->flags & $bit) {
                $out[] = $name;
            }
        }
        return $out;
    }

    /** A copy, read-only: no field can be added either. */
    public function __set(string $name, mixed $value): void
    {
        throw new \Error("Warmth\\ModelInfo is read-only: cannot set \$$name");
    }

    /** Cost of all warmups so far, in USD. */
    public function costUsd(): float
    {
        return $this->costNusd / 1e9;
    }
}
