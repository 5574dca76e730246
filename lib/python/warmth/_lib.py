"""Loads libwarmth.so and declares its C API for ctypes (internal).

The library is found, in order, at $WARMTH_LIB (a path), through
ctypes.util.find_library("warmth"), then as "libwarmth.so.0" on the default
search path.  It is loaded once per process, on the first Table; importing
the package never touches it, so `import warmth` works where the library is
not installed (docs, type checks).

Two views of the same dlopen() handle:
  * `fast` (ctypes.PyDLL) keeps the GIL during the call.  Used for the
    lock-free, bounded calls (lookup, is_warm, touch, report, status,
    foreach): releasing and re-taking the GIL would cost more than the call.
  * `slow` (ctypes.CDLL) releases the GIL.  Used for warmth_open (it may
    resolve a user name through NSS) and warmth_wait_warm (it sleeps).
"""
import ctypes
import ctypes.util
import os
import struct
import threading

# The major version of the C API this binding speaks (warmth.h,
# WARMTH_VERSION_MAJOR).  A library with another major is refused.
API_MAJOR = 0

NAME_MAX = 63  # WARMTH_NAME_MAX
OPEN_LAZY = 0x1  # WARMTH_OPEN_LAZY


class _ModelInfo(ctypes.Structure):
    """struct warmth_model_info, field for field (warmth.h)."""

    _fields_ = [
        ("size", ctypes.c_uint32),
        ("state", ctypes.c_uint16),
        ("http_status", ctypes.c_uint16),
        ("name", ctypes.c_char * (NAME_MAX + 1)),
        ("warm_until", ctypes.c_int64),
        ("last_probe", ctypes.c_int64),
        ("last_ok", ctypes.c_int64),
        ("retry_after_until", ctypes.c_int64),
        ("successes", ctypes.c_uint64),
        ("failures", ctypes.c_uint64),
        ("tokens_in", ctypes.c_uint64),
        ("tokens_out", ctypes.c_uint64),
        ("tokens_cached", ctypes.c_uint64),
        ("cost_nusd", ctypes.c_uint64),
        ("last_latency_us", ctypes.c_uint32),
        ("ewma_latency_us", ctypes.c_uint32),
        ("dns_us", ctypes.c_uint32),
        ("connect_us", ctypes.c_uint32),
        ("tls_us", ctypes.c_uint32),
        ("ttfb_us", ctypes.c_uint32),
        ("fails_in_row", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("error_class", ctypes.c_uint16),
        ("endpoint", ctypes.c_uint16),
        ("headroom_requests", ctypes.c_uint32),
        ("headroom_tokens", ctypes.c_uint32),
        ("slot", ctypes.c_uint32),
        ("generation", ctypes.c_uint64),
        ("interval_ms", ctypes.c_uint32),
        ("warm_ttl_ms", ctypes.c_uint32),
    ]


class _Status(ctypes.Structure):
    """struct warmth_status, field for field (warmth.h)."""

    _fields_ = [
        ("size", ctypes.c_uint32),
        ("pid", ctypes.c_int32),
        ("heartbeat_age_ns", ctypes.c_int64),
        ("stale_after_ns", ctypes.c_int64),
        ("created_ns", ctypes.c_int64),
        ("retired", ctypes.c_uint32),
        ("stale", ctypes.c_uint32),
        ("models", ctypes.c_uint32),
        ("capacity", ctypes.c_uint32),
        ("index_generation", ctypes.c_uint64),
    ]


# The same layouts as struct formats: one unpack_from() of the filled buffer
# is several times cheaper than reading 28 ctypes attributes one by one.
# Native ('@') alignment is the C compiler's, as for the ctypes structures.
INFO_FMT = struct.Struct("@IHH64sqqqqQQQQQQIIIIIIIIHHIIIQII")
STATUS_FMT = struct.Struct("@IiqqqIIIIQ")
INFO_SIZE = ctypes.sizeof(_ModelInfo)
STATUS_SIZE = ctypes.sizeof(_Status)
# Both views must agree, or a field would be read from the wrong offset.
assert INFO_FMT.size == INFO_SIZE, (INFO_FMT.size, INFO_SIZE)
assert STATUS_FMT.size == STATUS_SIZE, (STATUS_FMT.size, STATUS_SIZE)

ModelInfoStruct = _ModelInfo
StatusStruct = _Status
ITER_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_ModelInfo),
                           ctypes.c_void_p)


class LibraryNotFound(ImportError):
    """libwarmth.so could not be loaded (or is of an incompatible version)."""


class Lib:
    """The loaded library: prototypes, and tables of its names."""

    def __init__(self, path):
        self.path = path
        # Both objects wrap the same dlopen() handle (dlopen refcounts it).
        self.slow = ctypes.CDLL(path, use_errno=True)
        self.fast = ctypes.PyDLL(path, use_errno=True)
        self._declare()
        self.version = self.fast.warmth_version()
        self.version_string = self.fast.warmth_version_string().decode()
        major = self.version >> 16
        if major != API_MAJOR:
            raise LibraryNotFound(
                f"{path}: libwarmth {self.version_string} has C API major "
                f"{major}; this binding speaks major {API_MAJOR}")
        self.err_names = {}
        self.err_codes = {}
        self.err_messages = {}
        # Error codes are -1, -2, ... and only ever appended (warmth.h);
        # asking the library keeps the names and messages its own.
        for num in range(1, 256):
            name = self.fast.warmth_err_name(-num).decode()
            if name == "WARMTH_E?":
                break
            self.err_names[-num] = name
            self.err_codes[name] = -num
            self.err_messages[-num] = self.fast.warmth_strerror(-num).decode()
        # States and error classes are small append-only enums: their names
        # are read once here, never per lookup.
        self.state_names = tuple(
            self.fast.warmth_state_name(i).decode() for i in range(64))
        self.class_names = tuple(
            self.fast.warmth_error_class_name(i).decode() for i in range(64))

    def _declare(self):
        vp, cp, i, u32 = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                          ctypes.c_uint32)
        info_p = ctypes.POINTER(_ModelInfo)
        protos = [
            # (view, name, restype, argtypes)
            ("slow", "warmth_open", i,
             [ctypes.POINTER(vp), cp, ctypes.c_uint]),
            ("slow", "warmth_close", None, [vp]),
            ("slow", "warmth_wait_warm", i, [vp, cp, u32]),
            ("fast", "warmth_lookup", i, [vp, cp, info_p]),
            ("fast", "warmth_is_warm", i, [vp, cp]),
            ("fast", "warmth_touch", i, [vp, cp]),
            ("fast", "warmth_report", i, [vp, cp, u32, i]),
            ("fast", "warmth_foreach", i, [vp, ITER_FN, vp]),
            ("fast", "warmth_status", i, [vp, ctypes.POINTER(_Status)]),
            ("fast", "warmth_state_name", cp, [i]),
            ("fast", "warmth_error_class_name", cp, [i]),
            ("fast", "warmth_strerror", cp, [i]),
            ("fast", "warmth_err_name", cp, [i]),
            ("fast", "warmth_version", ctypes.c_uint, []),
            ("fast", "warmth_version_string", cp, []),
        ]
        for view, name, restype, argtypes in protos:
            try:
                fn = getattr(getattr(self, view), name)
            except AttributeError:
                raise LibraryNotFound(
                    f"{self.path} does not export {name}: not libwarmth, or "
                    f"too old for this binding") from None
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name[len("warmth_"):], fn)


_lock = threading.Lock()
_lib = None


def candidates():
    """Where the library is looked for, in order (for messages and tests)."""
    env = os.environ.get("WARMTH_LIB")
    if env:
        return [env]  # an explicit path is never second-guessed
    found = ctypes.util.find_library("warmth")
    return ([found] if found else []) + ["libwarmth.so.0"]


def get():
    """The loaded library; loads it on first use."""
    global _lib
    lib = _lib
    if lib is not None:
        return lib
    with _lock:
        if _lib is None:
            errors = []
            for path in candidates():
                try:
                    _lib = Lib(path)
                    break
                except OSError as e:
                    errors.append(f"  {path}: {e}")
            else:
                raise LibraryNotFound(
                    "cannot load libwarmth (the warmth reader library):\n"
                    + "\n".join(errors)
                    + "\nInstall libwarmth (make install; ldconfig) or set "
                    "WARMTH_LIB to the path of libwarmth.so.")
        return _lib
