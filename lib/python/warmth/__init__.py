"""warmth: read the host's LLM warmth table from Python (a CPython extension
over libwarmth, warmth._native, with a ctypes fallback that needs no
compiler; `warmth.backend` says which one is in use).

One coordinator per host (warmd) keeps the models warm and publishes what it
knows in shared memory; a worker opens the table once and asks, per request,
whether its model is warm, and tells the coordinator which models it uses:

    import warmth

    table = warmth.Table()                  # once per process (or pre-fork)
    if table.is_warm("gpt-4o-mini", default=False):
        ...
    table.touch("gpt-4o-mini")
    rec = table.lookup("gpt-4o-mini")       # ModelInfo, read-only
    print(rec.state, rec.warm_for_s, rec.ewma_latency_us)

The library is found at $WARMTH_LIB, else through ctypes.util.find_library,
else as libwarmth.so.0.  See doc/python.md.
"""
from ._lib import LibraryNotFound
from .errors import (AccessDenied, BadSegment, Busy, InvalidArgument,
                     InvalidName, NoDemand, NoSegment, NotFound, NotReady,
                     Retired, Stale, SysError, TimedOut, Untrusted,
                     WarmthError)
from .records import (HEADROOM_UNKNOWN, ErrorClass, Flags, Liveness,
                      ModelInfo, State, Status)
from .table import Table, backend, open

__version__ = "0.1.0"


def library_version():
    """(version_hex, version_string) of the libwarmth actually loaded."""
    from . import _lib

    lib = _lib.get()
    return lib.version, lib.version_string


def library_path():
    """The path or name libwarmth was loaded from."""
    from . import _lib

    return _lib.get().path


__all__ = [
    "Table", "open", "ModelInfo", "Status", "State", "ErrorClass", "Flags",
    "Liveness", "HEADROOM_UNKNOWN", "WarmthError", "InvalidArgument",
    "NoSegment", "AccessDenied", "Untrusted", "BadSegment", "NotReady",
    "NotFound", "Busy", "InvalidName", "NoDemand", "TimedOut", "Stale",
    "Retired", "SysError", "LibraryNotFound", "library_version",
    "library_path", "backend",
]
