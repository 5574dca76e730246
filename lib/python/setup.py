"""Build script of the warmth package: the pure-Python package (pyproject.toml
has the metadata) plus the optional C extension warmth._native.

The extension needs a C compiler, Python's headers (Debian: python3-dev)
and warmth.h: from $WARMTH_INCLUDE, else the source tree this directory is
part of (../../include), else the system's (libwarmth-dev).  It does not
link libwarmth: it binds the library the package loads at run time
(warmth/_lib.py).  When it cannot be built the install goes on without it
(optional=True) and warmth.Table uses ctypes.
"""
import os

from setuptools import Extension, setup

here = os.path.dirname(os.path.abspath(__file__))
include = [d for d in (os.environ.get("WARMTH_INCLUDE"),
                       os.path.join(here, "..", "..", "include"))
           if d and os.path.isfile(os.path.join(d, "warmth.h"))]

setup(ext_modules=[Extension(
    "warmth._native",
    sources=["native.c"],
    include_dirs=include[:1],
    libraries=["dl"],
    extra_compile_args=["-O2", "-Wall", "-Wextra"],
    optional=True,
)])
