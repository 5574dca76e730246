"""Exceptions carrying libwarmth's error codes.

Every failure of a library call raises WarmthError or one of its
subclasses, chosen by the code's name (warmth_err_name()).  `.code` is the
negative WARMTH_E* value, `.name` its name ("WARMTH_ENOTFOUND"), and the
message is the library's own (warmth_strerror()), prefixed with the model
when there is one.
"""
import os

from . import _lib


class WarmthError(Exception):
    """A libwarmth call failed.

    code:  the negative WARMTH_E* code the C function returned
    name:  its name, e.g. "WARMTH_ENOTFOUND"
    model: the model the call was about, or None
    errno: for WARMTH_ESYS, the errno of the failed system call, else None
    """

    def __init__(self, code, model=None, errno=None, message=None,
                 context=None):
        self.code = code
        self.model = model
        self.errno = errno
        lib = _lib._lib  # loaded whenever a call could fail
        self.name = lib.err_names.get(code, "WARMTH_E?") if lib else "WARMTH_E?"
        if message is None:
            message = (lib.err_messages.get(code, "unknown error") if lib
                       else f"warmth error {code}")
            if errno:
                message += f": {os.strerror(errno)}"
        self.message = message
        self.context = context
        if context is None and model is not None:
            context = model if _plain(model) else repr(model)
        text = f"{context}: {message}" if context is not None else message
        super().__init__(text)

    def __str__(self):
        # KeyError (a base of NotFound) would print the repr of its argument.
        return self.args[0]

    def __reduce__(self):  # e.g. across a multiprocessing pool
        return (type(self), (self.code, self.model, self.errno, self.message,
                             self.context))


def _plain(model):
    """A name that reads unambiguously without quotes."""
    return (isinstance(model, str) and model.isascii() and model.isprintable()
            and " " not in model and model != "")


class InvalidArgument(WarmthError, ValueError):
    """WARMTH_EINVAL: a bad argument (or a closed table)."""


class NoSegment(WarmthError):
    """WARMTH_ENOENT: no table in shared memory (is warmd running?)."""


class AccessDenied(WarmthError):
    """WARMTH_EACCES: the segment exists but may not be opened."""


class Untrusted(WarmthError):
    """WARMTH_EBADOWNER, WARMTH_EINSECURE: the segment's owner or mode is
    not one a reader may trust."""


class BadSegment(WarmthError):
    """WARMTH_ETRUNCATED, _EBADMAGIC, _EBADVERSION, _EBADLAYOUT: the segment
    is not a warmth table this library can read."""


class NotReady(WarmthError):
    """WARMTH_ENOTREADY: the coordinator is still initialising the table."""


class NotFound(WarmthError, KeyError):
    """WARMTH_ENOTFOUND: the model is not in the table."""


class Busy(WarmthError):
    """WARMTH_EBUSY: the record kept changing (a writer stalled mid-update?)."""


class InvalidName(WarmthError, ValueError):
    """WARMTH_ENAMETOOLONG: a model name must be 1..63 printable ASCII
    characters without spaces."""


class NoDemand(WarmthError):
    """WARMTH_ENODEMAND: the demand segment is not available (touch and
    report cannot be recorded)."""


class TimedOut(WarmthError):
    """WARMTH_ETIMEDOUT."""


class Stale(WarmthError):
    """WARMTH_ESTALE: the coordinator's heartbeat is stale."""


class Retired(WarmthError):
    """WARMTH_ERETIRED: the segment was retired by its coordinator."""


class SysError(WarmthError):
    """WARMTH_ESYS: a system call failed; .errno tells which way."""


_BY_NAME = {
    "WARMTH_EINVAL": InvalidArgument,
    "WARMTH_ENOENT": NoSegment,
    "WARMTH_EACCES": AccessDenied,
    "WARMTH_ESYS": SysError,
    "WARMTH_ETRUNCATED": BadSegment,
    "WARMTH_EBADMAGIC": BadSegment,
    "WARMTH_EBADVERSION": BadSegment,
    "WARMTH_EBADLAYOUT": BadSegment,
    "WARMTH_EBADOWNER": Untrusted,
    "WARMTH_EINSECURE": Untrusted,
    "WARMTH_ENOTREADY": NotReady,
    "WARMTH_ENOTFOUND": NotFound,
    "WARMTH_EBUSY": Busy,
    "WARMTH_ENAMETOOLONG": InvalidName,
    "WARMTH_ENODEMAND": NoDemand,
    "WARMTH_ETIMEDOUT": TimedOut,
    "WARMTH_ESTALE": Stale,
    "WARMTH_ERETIRED": Retired,
}


def error(code, model=None, errno=None, message=None, context=None):
    """The exception for a negative return code of the library."""
    lib = _lib._lib
    name = lib.err_names.get(code) if lib else None
    cls = _BY_NAME.get(name, WarmthError)
    if cls is SysError and errno is None:
        errno = _errno()
    return cls(code, model, errno, message, context)


def _errno():
    import ctypes

    return ctypes.get_errno() or None
