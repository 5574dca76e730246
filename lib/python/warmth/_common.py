"""What both Table classes, the extension's (_ntable.py) and the ctypes
fallback's (table.py), build the same way on a few primitives: written once
so the two backends cannot drift apart.  A backend provides lookup(model),
models(), close(), the property closed, the attribute _shm, and
_wait(model, ms) -> rc of warmth_model_wait_warm (> 0 warm, 0 not yet,
< 0 an error)."""
import math
import time

from . import records as _rec
from .errors import InvalidArgument, WarmthError, error

# wait_warm sleeps in slices this long, so Ctrl-C (KeyboardInterrupt) and a
# deadline are seen between them.
_WAIT_SLICE_MS = 250


class TableCommon:
    """Mixin of both Table classes (see the module's docstring)."""

    __slots__ = ()

    @classmethod
    def open(cls, shm=None, lazy=True):
        """Same as Table(shm, lazy)."""
        return cls(shm, lazy)

    # ---- life cycle -------------------------------------------------------
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

    # ---- errors (native.c calls it too, on the slow path) ---------------------
    def _fail(self, rc, model):
        if self.closed:
            return InvalidArgument(rc, model=model, message="table is closed")
        return error(rc, model=model)

    # ---- reading ------------------------------------------------------------
    def __contains__(self, model):
        try:
            self.lookup(model)
        except WarmthError as e:
            if e.name == "WARMTH_ENOTFOUND":
                return False
            raise
        return True

    def get(self, model, default=None):
        """lookup(model), or `default` on any WarmthError."""
        try:
            return self.lookup(model)
        except WarmthError:
            return default

    def __iter__(self):
        return iter(self.models())

    def names(self):
        return [m.name for m in self.models()]

    @staticmethod
    def _make_status(pid, age, stale_after, created, retired, stale, models,
                     cap, gen):
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
