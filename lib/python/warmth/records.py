"""Typed, read-only copies of what libwarmth hands out.

ModelInfo and Status are NamedTuples: immutable, cheap to build (a lookup
is on a worker's request path) and easy to log or compare.  Times keep the
library's raw CLOCK_MONOTONIC nanoseconds (0 = never) under the C field
names; on Linux time.monotonic_ns() reads that same clock, so the derived
seconds (`warm_for_s`, `last_ok_age_s`, ...) are computed against it.
"""
import enum
from typing import NamedTuple, Optional

NS_PER_S = 1_000_000_000
HEADROOM_UNKNOWN = 0xFFFFFFFF  # ~0u in warmth.h: the provider did not say


class State(enum.IntEnum):
    """enum warmth_state.  str() gives the library's name ("warm")."""

    UNKNOWN = 0   # never probed yet (or coordinator stale)
    WARMING = 1   # a warmup is in flight, not warm yet
    WARM = 2      # warm until warm_until
    FAILING = 3   # `fall` failures in a row
    IDLE = 4      # nobody touched it for idle_after: not warmed
    DISABLED = 5  # paused by the operator, a key or model problem
    REACHABLE = 6  # the provider lists the model; not proven loaded
    SLEEPING = 7  # the server sleeps (vLLM): no warmup is sent

    def __str__(self):
        return self.name.lower()


class ErrorClass(enum.IntEnum):
    """enum warmth_error_class.  str() gives the library's name."""

    NONE = 0
    CONNECT = 1  # DNS, connect, TLS
    TIMEOUT = 2
    HTTP = 3     # a non-2xx status not listed below
    AUTH = 4     # 401/403
    RATE = 5     # 429
    SERVER = 6   # 5xx
    BODY = 7     # invalid or oversized reply
    BUDGET = 8   # not sent: budget reached
    MODEL = 9    # model not found / not listed by the provider

    def __str__(self):
        return self.name.lower()


class Flags(enum.IntFlag):
    """WARMTH_F_* record flags."""

    SLOW = 0x01           # warm, but latency above latency_alert
    KEY_PROBLEM = 0x02    # 401/403: the API key was refused
    BUDGET = 0x04         # daily budget reached: chat probes stop
    PAUSED = 0x08         # paused by the operator
    THROTTLED = 0x10      # rate limited or under min_headroom
    REAL_TRAFFIC = 0x20   # last warm extension came from workers
    PREFIX_CACHED = 0x40  # provider confirmed cached prefix
    FLEET = 0x80          # warmed by another host of the fleet
    MODEL_PROBLEM = 0x100  # provider does not know the model id
    OFF_HOURS = 0x200     # outside the model's warm windows


class Liveness(enum.IntEnum):
    """warmth_status.retired."""

    LIVE = 0
    RETIRED = 1     # clean stop of the coordinator
    SUPERSEDED = 2  # replaced by a new segment

    def __str__(self):
        return self.name.lower()


class ModelInfo(NamedTuple):
    """One consistent copy of a model's record (struct warmth_model_info).

    Every field of the C struct but `size`, under its C name; enums as
    IntEnum/IntFlag, with the library's names beside them.  `now_ns` is the
    time.monotonic_ns() the copy was made at, `warm_for_s` the seconds of
    warmth left then (0.0 unless the state is warm).  Whether the
    coordinator is alive is not part of a record: Table.is_warm() checks it,
    a record alone cannot.
    """

    name: str
    state: State
    state_name: str
    http_status: int
    warm_until: int          # CLOCK_MONOTONIC ns; warm while now < warm_until
    last_probe: int          # end of the last warmup (ns, 0 = never)
    last_ok: int             # last success, warmup or real traffic (ns)
    retry_after_until: int   # provider asked to wait until then (ns)
    successes: int
    failures: int
    tokens_in: int
    tokens_out: int
    tokens_cached: int
    cost_nusd: int           # 1e-9 USD
    last_latency_us: int
    ewma_latency_us: int
    dns_us: int
    connect_us: int
    tls_us: int
    ttfb_us: int
    fails_in_row: int
    flags: Flags
    error_class: ErrorClass
    error_class_name: str
    endpoint: int
    headroom_requests: int   # HEADROOM_UNKNOWN when the provider did not say
    headroom_tokens: int
    slot: int
    generation: int
    interval_ms: int         # warmup interval configured for the model
    warm_ttl_ms: int         # how long a success keeps it warm
    now_ns: int
    warm_for_s: float

    def _age(self, t):
        return None if t == 0 else (self.now_ns - t) / NS_PER_S

    @property
    def last_probe_age_s(self) -> Optional[float]:
        """Seconds since the last warmup ended, None if never."""
        return self._age(self.last_probe)

    @property
    def last_ok_age_s(self) -> Optional[float]:
        """Seconds since the last success, None if never."""
        return self._age(self.last_ok)

    @property
    def retry_after_s(self) -> float:
        """Seconds the provider still asks us to wait (0.0 if none)."""
        return max(0, self.retry_after_until - self.now_ns) / NS_PER_S

    @property
    def cost_usd(self) -> float:
        return self.cost_nusd / NS_PER_S

    @property
    def requests_left(self) -> Optional[int]:
        """Rate-limit headroom in requests, None when unknown."""
        h = self.headroom_requests
        return None if h == HEADROOM_UNKNOWN else h

    @property
    def tokens_left(self) -> Optional[int]:
        """Rate-limit headroom in tokens, None when unknown."""
        h = self.headroom_tokens
        return None if h == HEADROOM_UNKNOWN else h


class Status(NamedTuple):
    """Coordinator liveness, from the segment header (struct warmth_status)."""

    pid: int                 # coordinator pid
    heartbeat_age_ns: int    # now - last heartbeat (CLOCK_MONOTONIC)
    stale_after_ns: int      # heartbeat older than this: stale
    created_ns: int          # CLOCK_REALTIME ns when the segment was made
    retired: Liveness
    stale: bool              # heartbeat too old, or segment retired
    models: int
    capacity: int
    index_generation: int

    @property
    def heartbeat_age_s(self) -> float:
        return self.heartbeat_age_ns / NS_PER_S

    @property
    def created_s(self) -> float:
        """Creation time as a time.time() value."""
        return self.created_ns / NS_PER_S

    @property
    def alive(self) -> bool:
        """A live coordinator with a fresh heartbeat."""
        return not self.stale and self.retired == Liveness.LIVE


def _table(enum_cls, n):
    return tuple(enum_cls(i) if i in enum_cls._value2member_map_ else i
                 for i in range(n))


# Value -> member, so a lookup indexes a tuple instead of calling the enum
# (an enum call costs more than the whole C lookup).  A value this binding
# does not know yet (the enums are append-only) stays a plain int.
STATES = _table(State, 64)
CLASSES = _table(ErrorClass, 64)
_flags_cache = {}


def flags(v):
    f = _flags_cache.get(v)
    if f is None:
        f = Flags(v)
        if len(_flags_cache) < 1024:
            _flags_cache[v] = f
    return f


def state(v):
    return STATES[v] if v < len(STATES) else v


def error_class(v):
    return CLASSES[v] if v < len(CLASSES) else v
