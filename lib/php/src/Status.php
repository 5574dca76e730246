<?php
declare(strict_types=1);

namespace Warmth;

/** Coordinator liveness, from the segment header (warmth_status). */
final class Status
{
    public const LIVE = 0;
    public const RETIRED = 1;     // the coordinator stopped cleanly
    public const SUPERSEDED = 2;  // a new coordinator replaced the segment

    public function __construct(
        public readonly int $pid,             // coordinator pid
        public readonly int $heartbeatAgeNs,  // now - last heartbeat
        public readonly int $staleAfterNs,    // older than this: stale
        public readonly int $createdNs,       // CLOCK_REALTIME of creation
        public readonly int $retired,         // LIVE, RETIRED or SUPERSEDED
        public readonly bool $stale,          // nobody is keeping it current
        public readonly int $models,
        public readonly int $capacity,
        public readonly int $indexGeneration,
    ) {
    }

    /** A copy, read-only: no field can be added either. */
    public function __set(string $name, mixed $value): void
    {
        throw new \Error("Warmth\\Status is read-only: cannot set \$$name");
    }

    /** "live", "retired" or "superseded". */
    public function retiredName(): string
    {
        return match ($this->retired) {
            self::LIVE => 'live',
            self::RETIRED => 'retired',
            self::SUPERSEDED => 'superseded',
            default => 'invalid',
        };
    }

    /** True when a live coordinator keeps the table current. */
    public function alive(): bool
    {
        return !$this->stale && $this->retired === self::LIVE;
    }
}
