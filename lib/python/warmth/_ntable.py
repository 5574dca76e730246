"""warmth.Table on the CPython extension warmth._native (internal).

The request-path methods (is_warm, lookup, touch, report, models) are C
methods of warmth._native.Table, which keeps one resolved libwarmth model
handle per name (warmth_resolve()); what is left here is what no request
pays for: opening, errors, the wait loop, status, the container protocol.
Same API and the same exceptions as the ctypes path (warmth/table.py),
which stays the fallback when the extension is missing or cannot load.
"""
import math
import threading
import time

from . import _lib, _native
from . import records as _rec
from ._mapping import TableMapping
from .errors import InvalidArgument, WarmthError, error

_loaded = False
_load_lock = threading.Lock()


def _load():
    """Binds the extension to the library _lib found and checked (once)."""
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if not _loaded:
            lib = _lib.get()
            _native.load(lib.path, {
                "ModelInfo": _rec.ModelInfo,
                "STATES": tuple(_rec.STATES),
                "state_names": tuple(lib.state_names),
                "CLASSES": tuple(_rec.CLASSES),
                "class_names": tuple(lib.class_names),
                "flags": _rec.flags,
                "flags_cache": _rec._flags_cache,
                "WarmthError": WarmthError,
            })
            _loaded = True


class Table(TableMapping, _native.Table):
    """A read handle on the warmth table of this host.

    Open it once per process (or once in a pre-fork master: a handle opened
    before fork() works in the children) and keep it; every call is lock-
    free and never blocks but wait_warm().

    shm:  segment name ("/warmth"); None means $WARMTH_SHM, else "/warmth".
    lazy: True (the default) returns a handle even when the coordinator is
          not running yet; calls re-attach by themselves (at most every
          100 ms) and raise NoSegment meanwhile.  False raises at once why
          the table cannot be used.

    A handle may be shared by the threads of a process; close() it only when
    no other thread is inside a call on it.

    is_warm(model, default=<raise>), lookup(model), touch(model),
    report(model, latency_s, ok) and models() are implemented in C
    (warmth._native); see warmth/table.py for their documentation.
    """

    __slots__ = ("_shm",)

    def __init__(self, shm=None, lazy=True):
        from .table import _encode_shm

        _load()
        self._shm = shm
        name = None if shm is None else _encode_shm(shm)
        rc = self._open(name, _lib.OPEN_LAZY if lazy else 0)
        if rc < 0:
            raise error(rc, context=None if shm is None else str(shm))

    @classmethod
    def open(cls, shm=None, lazy=True):
        """Same as Table(shm, lazy)."""
        return cls(shm, lazy)

    # ---- life cycle -------------------------------------------------------
    def close(self):
        """Unmaps the table.  Idempotent; further calls raise InvalidArgument."""
        self._close()

    @property
    def shm(self):
        """The name given to open (None: $WARMTH_SHM or "/warmth")."""
        return self._shm

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        state = "closed" if self.closed else "open"
        return f"<warmth.Table shm={self._shm!r} {state}>"

    def __reduce__(self):
        raise TypeError("a warmth.Table cannot be pickled; open one per "
                        "process (a handle survives fork, not pickling)")

    # ---- errors (called from C on the slow path) ----------------------------
    def _fail(self, rc, model):
        if self.closed:
            return InvalidArgument(rc, model=model, message="table is closed")
        return error(rc, model=model)

    # ---- reading ------------------------------------------------------------
    __getitem__ = _native.Table.lookup

    def status(self):
        """Coordinator liveness from the segment header, as a Status."""
        (pid, age, stale_after, created, retired, stale, models, cap,
         gen) = self._status()
        try:
            retired = _rec.Liveness(retired)
        except ValueError:
            pass  # a newer library's value: keep the int
        return _rec.Status(pid, age, stale_after, created, retired,
                           bool(stale), models, cap, gen)

    # ---- demand -------------------------------------------------------------
    def wait_warm(self, model, timeout_s):
        """Touches `model` and sleeps until it is warm or timeout_s passes
        (None: no limit).  Returns True if warm, False on timeout.  Sleeps on
        a futex with the GIL released; other threads keep running."""
        from .table import _WAIT_SLICE_MS

        if timeout_s is not None and not timeout_s >= 0:
            raise ValueError(f"timeout_s must be >= 0, not {timeout_s!r}")
        deadline = (None if timeout_s is None
                    else time.monotonic() + timeout_s)
        while True:
            if deadline is None:
                ms = _WAIT_SLICE_MS
            else:
                left = deadline - time.monotonic()
                ms = max(0, min(_WAIT_SLICE_MS, math.ceil(left * 1000)))
            rc = self._wait(model, ms)
            if rc < 0:
                raise self._fail(rc, model)
            if rc > 0:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
