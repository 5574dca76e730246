"""warmth.Table on the CPython extension warmth._native (internal).

The request-path methods (is_warm, lookup, touch, report, models) are C
methods of warmth._native.Table, which keeps one resolved libwarmth model
handle per name (warmth_resolve()); what is left here is what no request
pays for: opening and status (errors, the wait loop and the container
protocol are shared with the ctypes path: _common.py).
Same API and the same exceptions as the ctypes path (warmth/table.py),
which stays the fallback when the extension is missing or cannot load.
"""
import threading

from . import _lib, _native
from . import records as _rec
from ._common import TableCommon
from .errors import WarmthError, error

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


class Table(TableCommon, _native.Table):
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

    # ---- life cycle -------------------------------------------------------
    def close(self):
        """Unmaps the table.  Idempotent; further calls raise InvalidArgument."""
        self._close()

    # ---- reading ------------------------------------------------------------
    __getitem__ = _native.Table.lookup

    def status(self):
        """Coordinator liveness from the segment header, as a Status."""
        return self._make_status(*self._status())

