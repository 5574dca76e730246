"""Table: a worker's read handle on the host's warmth table."""
import ctypes
import os
import time

from . import _lib
from . import records as _rec
from ._common import TableCommon
from .errors import InvalidName, WarmthError, error

_RAISE = object()
_UINT32_MAX = 0xFFFFFFFF

# str/bytes -> the bytes handed to C.  Names are few and reused on every
# request: encoding and checking each once saves a third of an is_warm().
_names = {}
_NAMES_MAX = 4096


def _encode(model):
    b = _names.get(model)
    if b is not None:
        return b
    if isinstance(model, str):
        try:
            b = model.encode("ascii")
        except UnicodeEncodeError:
            raise _bad_name(model) from None
    elif isinstance(model, bytes):
        b = model
    else:
        raise TypeError(f"model name must be str or bytes, not "
                        f"{type(model).__name__}")
    if b"\0" in b:
        # C would stop at the NUL and look up a shorter name.
        raise _bad_name(model)
    if len(_names) >= _NAMES_MAX:
        _names.clear()
    _names[model] = b
    return b


def _bad_name(model):
    lib = _lib.get()
    return InvalidName(lib.err_codes["WARMTH_ENAMETOOLONG"], model=model)


class Table(TableCommon):
    """A read handle on the warmth table of this host.

    Open it once per process (or once in a pre-fork master: a handle opened
    before fork() works in the children) and keep it; every call is a few
    hundred nanoseconds, lock-free, and never blocks but wait_warm().

    shm:  segment name ("/warmth"); None means $WARMTH_SHM, else "/warmth".
    lazy: True (the default) returns a handle even when the coordinator is
          not running yet; calls re-attach by themselves (at most every
          100 ms) and raise NoSegment meanwhile.  False raises at once why
          the table cannot be used.

    A handle may be shared by the threads of a process; close() it only when
    no other thread is inside a call on it.
    """

    __slots__ = ("_h", "_lib", "_shm", "_is_warm_fn", "_lookup_fn",
                 "_touch_fn", "__weakref__")

    def __init__(self, shm=None, lazy=True):
        lib = _lib.get()
        self._lib = lib
        self._h = None
        self._shm = shm
        name = None
        if shm is not None:
            name = _encode_shm(shm)
        h = ctypes.c_void_p()
        rc = lib.open(ctypes.byref(h), name,
                      _lib.OPEN_LAZY if lazy else 0)
        if rc < 0:
            raise error(rc, context=None if shm is None else str(shm))
        self._h = h
        self._is_warm_fn = lib.is_warm
        self._lookup_fn = lib.lookup
        self._touch_fn = lib.touch

    # ---- life cycle -------------------------------------------------------
    def close(self):
        """Unmaps the table.  Idempotent; further calls raise InvalidArgument."""
        h, self._h = self._h, None
        if h is not None:
            self._lib.close(h)

    @property
    def closed(self):
        return self._h is None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: modules may be gone
            pass

    # ---- reading --------------------------------------------------------------
    def is_warm(self, model, default=_RAISE):
        """True if `model` is warm now: state warm, before warm_until, and
        the coordinator alive (a stale or retired coordinator reads as not
        warm: old warmth is never trusted).

        On an error (no table, model not in it, ...) raises WarmthError, or
        returns `default` when one is given: is_warm(m, default=False) is
        the "never block, treat as cold" form for the request path.
        """
        try:
            rc = self._is_warm_fn(self._h,
                                  _names.get(model) or _encode(model))
        except WarmthError:  # a name refused before the call
            if default is _RAISE:
                raise
            return default
        if rc >= 0:
            return rc > 0
        if default is not _RAISE:
            return default
        raise self._fail(rc, model)

    def lookup(self, model):
        """One consistent copy of `model`'s record, as a ModelInfo.
        Raises NotFound (a KeyError) when the model is not in the table."""
        info = _lib.ModelInfoStruct(_lib.INFO_SIZE)
        rc = self._lookup_fn(self._h, _names.get(model) or _encode(model),
                             info)
        if rc < 0:
            raise self._fail(rc, model)
        return self._record(_lib.INFO_FMT.unpack_from(info),
                            time.monotonic_ns())

    __getitem__ = lookup

    def models(self):
        """Consistent copies of every model's record, in slot order."""
        raw = []

        def collect(p, arg):
            raw.append(ctypes.string_at(p, _lib.INFO_SIZE))
            return 0  # an exception here would be printed, not raised

        fn = _lib.ITER_FN(collect)
        rc = self._lib.foreach(self._h, fn, None)
        if rc < 0:
            raise self._fail(rc, None)
        now = time.monotonic_ns()
        unpack = _lib.INFO_FMT.unpack_from
        return [self._record(unpack(b), now) for b in raw]

    def status(self):
        """Coordinator liveness from the segment header, as a Status."""
        st = _lib.StatusStruct(_lib.STATUS_SIZE)
        rc = self._lib.status(self._h, st)
        if rc < 0:
            raise self._fail(rc, None)
        return self._make_status(*_lib.STATUS_FMT.unpack_from(st)[1:])

    # ---- demand -------------------------------------------------------------
    def touch(self, model):
        """Tells the coordinator this worker uses `model` (an idle model is
        then warmed within one tick).  Cheap enough for every request."""
        rc = self._touch_fn(self._h, _names.get(model) or _encode(model))
        if rc < 0:
            raise self._fail(rc, model)

    def report(self, model, latency_s, ok):
        """Reports a real request to `model`: its latency in seconds and
        whether it succeeded.  A real success counts as warmth, so the
        coordinator skips the warmup it would have sent.  Also touches."""
        if not latency_s >= 0:  # also refuses NaN
            raise ValueError(f"latency_s must be >= 0, not {latency_s!r}")
        us = min(_UINT32_MAX, round(latency_s * 1e6))
        rc = self._lib.report(self._h, _names.get(model) or _encode(model),
                              us, 1 if ok else 0)
        if rc < 0:
            raise self._fail(rc, model)

    def _wait(self, model, ms):
        """One slice of wait_warm (_common.py): warmth_wait_warm's rc."""
        return self._lib.wait_warm(self._h, _names.get(model) or
                                   _encode(model), ms)

    # ---- records --------------------------------------------------------------
    def _record(self, t, now):
        # t is INFO_FMT's tuple: (size, state, http_status, name, warm_until
        # .. fails_in_row [4:21], flags, error_class, endpoint .. generation
        # [23:]).  Built by slicing, not field by field: this is on the
        # request path.
        st, ec, warm_until = t[1], t[22], t[4]
        states, classes = self._lib.state_names, self._lib.class_names
        warm_for = ((warm_until - now) / _rec.NS_PER_S
                    if st == _WARM and warm_until > now else 0.0)
        return _new(_rec.ModelInfo, (
            t[3].split(b"\0", 1)[0].decode("ascii", "replace"),
            _rec.state(st), states[st] if st < len(states) else "invalid",
            t[2]) + t[4:21] + (
            _rec.flags(t[21]), _rec.error_class(ec),
            classes[ec] if ec < len(classes) else "invalid") + t[23:] + (
            now, warm_for))


_new = tuple.__new__
_WARM = int(_rec.State.WARM)


def _encode_shm(shm):
    if isinstance(shm, str):
        shm = shm.encode()
    if not isinstance(shm, bytes):
        raise TypeError("shm must be str or bytes")
    if b"\0" in shm:
        raise ValueError("shm name contains NUL")
    return shm


# The backend: the C extension warmth._native when it imports (built by
# setuptools from python3-dev), else this module's ctypes Table.
# WARMTH_BACKEND=ctypes forces ctypes; =native makes a missing or unloadable
# extension an ImportError instead of a silent fallback (the tests run the
# suite once each way).
CtypesTable = Table
backend = "ctypes"
_want = os.environ.get("WARMTH_BACKEND", "").lower()
if _want != "ctypes":
    try:
        from ._ntable import Table  # noqa: F811
        backend = "native"
    except ImportError:
        if _want == "native":
            raise


def open(shm=None, lazy=True):  # noqa: A001 (mirrors warmth_open)
    """warmth.open(shm=None, lazy=True): same as Table(shm, lazy)."""
    return Table(shm, lazy)
