"""The binding against include/warmth.h and the loaded library: no compiler
is involved, so these tests are what catch a header change the binding did
not follow (a field, an error code, a state, a flag)."""
import ctypes
import os
import re
import subprocess
import sys

import pytest

import warmth
from warmth import _lib, errors
from conftest import header_path

C_TYPES = {"uint16_t": ctypes.c_uint16, "uint32_t": ctypes.c_uint32,
           "int32_t": ctypes.c_int32, "int64_t": ctypes.c_int64,
           "uint64_t": ctypes.c_uint64, "char": ctypes.c_char}


@pytest.fixture(scope="module")
def header():
    with open(header_path()) as f:
        return f.read()


def c_struct(header, name):
    """[(field, ctypes type, array length or None)] of a struct in the
    header, in order."""
    body = re.search(r"struct %s \{(.*?)\n\};" % name, header, re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    fields = []
    for decl in body.split(";"):
        decl = decl.strip()
        if not decl:
            continue
        ctype, names = decl.split(None, 1)
        for n in names.split(","):
            m = re.fullmatch(r"\s*(\w+)(?:\[(.*)\])?\s*", n)
            fields.append((m.group(1), C_TYPES[ctype], m.group(2)))
    return fields


def check_struct(header, cname, cls):
    ours = cls._fields_
    theirs = c_struct(header, cname)
    assert [f[0] for f in ours] == [f[0] for f in theirs], \
        f"struct {cname} changed in warmth.h: update warmth/_lib.py"
    for (n, t), (_, ct, arr) in zip(ours, theirs):
        if arr is None:
            assert t is ct, n
        else:
            assert t._type_ is ct, n
            assert t._length_ == eval(arr, {"WARMTH_NAME_MAX": _lib.NAME_MAX})


def test_model_info_layout(header):
    check_struct(header, "warmth_model_info", _lib.ModelInfoStruct)
    # 216 on LP64 since interval_ms and warm_ttl_ms (208 before them)
    assert _lib.INFO_FMT.size == ctypes.sizeof(_lib.ModelInfoStruct) == 216
    # every C field but `size` is in the record, under the same name
    rec = set(warmth.ModelInfo._fields)
    missing = [f[0] for f in _lib.ModelInfoStruct._fields_
               if f[0] != "size" and f[0] not in rec]
    assert missing == []


def test_status_layout(header):
    check_struct(header, "warmth_status", _lib.StatusStruct)
    rec = set(warmth.Status._fields)
    assert [f[0] for f in _lib.StatusStruct._fields_
            if f[0] != "size" and f[0] not in rec] == []


def test_constants(header):
    assert int(re.search(r"#define WARMTH_NAME_MAX (\d+)", header)
               .group(1)) == _lib.NAME_MAX
    assert int(re.search(r"#define WARMTH_OPEN_LAZY (0x\w+)u", header)
               .group(1), 16) == _lib.OPEN_LAZY
    major = int(re.search(r"#define WARMTH_VERSION_MAJOR (\d+)", header)
                .group(1))
    assert major == _lib.API_MAJOR
    version = re.search(r'#define WARMTH_VERSION_STRING "(.*)"', header)
    assert warmth.library_version()[1] == version.group(1)


def test_enums(header):
    states = dict(re.findall(r"WARMTH_(\w+) = (\d+),\s*/\*", header.split(
        "enum warmth_state")[1].split("};")[0]))
    assert {k: int(v) for k, v in states.items()} == \
        {s.name: s.value for s in warmth.State}
    classes = dict(re.findall(r"WARMTH_ERR_(\w+) = (\d+)", header))
    assert {k: int(v) for k, v in classes.items()} == \
        {c.name: c.value for c in warmth.ErrorClass}
    flags = dict(re.findall(r"#define WARMTH_F_(\w+) (0x\w+)u", header))
    assert {k: int(v, 16) for k, v in flags.items()} == \
        {f.name: f.value for f in warmth.Flags}
    lib = _lib.get()
    for s in warmth.State:
        assert lib.state_names[s] == str(s)
    for c in warmth.ErrorClass:
        assert lib.class_names[c] == str(c)


def test_error_codes(header):
    codes = re.findall(r'XX\((\w+), (\d+), "(.*)"\)', header)
    assert len(codes) >= 21
    lib = _lib.get()
    generic = {"NOMEM", "FULL", "EXIST"}  # plain WarmthError on purpose
    for name, num, msg in codes:
        code = -int(num)
        e = errors.error(code, model="m")
        assert e.code == code
        assert e.name == "WARMTH_E" + name == lib.err_names[code]
        assert e.message == msg and str(e) == f"m: {msg}"
        if name in generic:
            assert type(e) is warmth.WarmthError
        else:
            assert type(e) is not warmth.WarmthError, \
                f"WARMTH_E{name} has no exception class: add one to errors.py"
    assert set(lib.err_names) == {-int(n) for _, n, _ in codes}
    e = errors.error(-999)
    assert type(e) is warmth.WarmthError and e.name == "WARMTH_E?"


def test_sys_error_carries_errno():
    lib = _lib.get()
    e = errors.error(lib.err_codes["WARMTH_ESYS"], errno=13)
    assert isinstance(e, warmth.SysError) and e.errno == 13
    assert os.strerror(13) in str(e)


def load_in_subprocess(env_lib):
    env = dict(os.environ)
    if env_lib is None:
        env.pop("WARMTH_LIB", None)
    else:
        env["WARMTH_LIB"] = env_lib
    code = ("import warmth\n"
            "try:\n"
            "    warmth.Table('/warmth-py-never-there')\n"
            "except warmth.LibraryNotFound as e:\n"
            "    print('LibraryNotFound:', e)\n"
            "else:\n"
            "    print('loaded', warmth.library_path())\n")
    r = subprocess.run([sys.executable, "-c", code], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_library_not_found():
    out = load_in_subprocess("/nonexistent/libwarmth.so")
    assert out.startswith("LibraryNotFound:")
    assert "/nonexistent/libwarmth.so" in out and "WARMTH_LIB" in out


def test_library_not_warmth():
    libc = ctypes.util.find_library("c")
    out = load_in_subprocess(libc)
    assert "does not export warmth_" in out


def test_library_from_env():
    out = load_in_subprocess(os.environ["WARMTH_LIB"])
    assert out.strip() == "loaded " + os.environ["WARMTH_LIB"]


def test_import_without_library():
    # importing never loads the library: docs and type checks work anywhere
    env = dict(os.environ, WARMTH_LIB="/nonexistent/libwarmth.so")
    r = subprocess.run([sys.executable, "-c",
                        "import warmth; print(warmth.State.WARM)"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "warm", r.stderr
