#!/bin/sh
# make check: the Python binding's tests (pytest), against this build's
# libwarmth and tests/helpers/fill-table.  pytest missing is a failure, not
# a skip.
srcdir=${srcdir:-$(dirname "$0")/../..}
export srcdir
test -x ./tests/helpers/fill-table || {
  echo "run-tests: ./tests/helpers/fill-table not built" \
    "(run from the build dir)" >&2
  exit 99
}
# Bounded: the tests bound themselves (30 s each); this bounds the run.
bound=
command -v timeout >/dev/null 2>&1 && bound="timeout -k 10 300"
PYRUN_NAME=run-tests exec $bound sh "$srcdir/lib/python/pyrun.sh" "pytest setuptools pip" \
  -m pytest -q -p no:cacheprovider "$srcdir/lib/python/tests"
