#!/bin/sh
# pyrun.sh MODULES SCRIPT-OR-OPTION... - run Python against this build's
# libwarmth, for make check and make bench.
#
# Picks the interpreter: $PYTHON3 when set (it must have MODULES), else the
# first python3 on PATH that can import every module of MODULES (a
# space-separated list): a pyenv or venv python3 early on PATH often lacks
# the Debian packages (python3-pytest, gunicorn, python3-redis) that
# tools/deps.sh installs for /usr/bin's.  None found: a hard error (99),
# never a skip, so CI cannot pass without running the tests.
#
# Exports WARMTH_LIB (lib/.libs/libwarmth.so of the build), PYTHONPATH (the
# binding's source), WARMTH_FILL_TABLE and WARMTH_BUILDDIR; runs from the
# build directory (where automake runs tests), also in VPATH builds and
# distcheck (srcdir read-only: no bytecode or pytest cache is written).
set -u
modules=$1
shift
srcdir=${srcdir:-$(dirname "$0")/../..}
builddir=$(pwd)
me=${PYRUN_NAME:-pyrun}

fail() {
  echo "$me: $*" >&2
  exit 99
}

lib=${WARMTH_LIB:-$builddir/lib/.libs/libwarmth.so}
test -f "$lib" ||
  fail "$lib not found: build first (make), with shared libraries"

imports=
for m in $modules; do imports="${imports}import $m;"; done

python=
if test -n "${PYTHON3:-}"; then
  "$PYTHON3" -c "$imports" 2>/dev/null ||
    fail "\$PYTHON3=$PYTHON3 cannot import: $modules"
  python=$PYTHON3
else
  save_ifs=$IFS
  IFS=:
  for d in $PATH; do
    IFS=$save_ifs
    test -n "$d" || d=.
    if test -x "$d/python3" && "$d/python3" -c "$imports" 2>/dev/null; then
      python=$d/python3
      break
    fi
  done
  IFS=$save_ifs
  test -n "$python" ||
    fail "no python3 on PATH can import: $modules (install the Debian packages of tools/deps.sh, or set PYTHON3)"
fi

# A library built with a sanitizer cannot be loaded into an uninstrumented
# python (the runtime must come first): that build runs the C tests only.
if ! out=$("$python" -c "import ctypes, sys; ctypes.CDLL(sys.argv[1])" \
    "$lib" 2>&1); then
  case $out in
  *runtime*first* | *[Ss]anitizer*)
    echo "$me: $lib is built with a sanitizer; skipped" >&2
    exit 77
    ;;
  esac
  fail "cannot load $lib: $out"
fi

WARMTH_LIB=$lib
WARMTH_FILL_TABLE=$builddir/tests/helpers/fill-table
WARMTH_BUILDDIR=$builddir
PYTHONPATH=$srcdir/lib/python${PYTHONPATH:+:$PYTHONPATH}
PYTHONDONTWRITEBYTECODE=1
export WARMTH_LIB WARMTH_FILL_TABLE WARMTH_BUILDDIR PYTHONPATH \
  PYTHONDONTWRITEBYTECODE srcdir
exec "$python" "$@"
