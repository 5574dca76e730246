#!/bin/sh
# make check: the Python binding's tests (pytest), against this build's
# libwarmth and tests/fill-table, twice: on the C extension warmth._native
# (WARMTH_BACKEND=native: an extension that did not build or load fails),
# then on the ctypes fallback.  pytest missing is a failure, not a skip.
srcdir=${srcdir:-$(dirname "$0")/../..}
export srcdir
test -x ./tests/fill-table || {
  echo "run-tests: ./tests/fill-table not built (run from the build dir)" >&2
  exit 99
}
# Bounded: the tests bound themselves (30 s each); this bounds the run.
bound=
command -v timeout >/dev/null 2>&1 && bound="timeout -k 10 300"
test -f ./lib/python/pkg/.built || {
  echo "run-tests: ./lib/python/pkg not built (make; needs python3-dev)" >&2
  exit 99
}
for backend in native ctypes; do
  echo "run-tests: the suite on WARMTH_BACKEND=$backend"
  WARMTH_BACKEND=$backend PYRUN_NAME=run-tests $bound \
    sh "$srcdir/lib/python/pyrun.sh" "pytest setuptools pip" \
    -m pytest -q -p no:cacheprovider "$srcdir/lib/python/tests" || exit $?
done
