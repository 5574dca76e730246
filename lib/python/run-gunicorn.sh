#!/bin/sh
# make check: tests/integration/test_gunicorn.py, Gunicorn workers using the
# Python binding against warmd and the test upstream (bounded: 90 s).
# Gunicorn or warmd missing is a failure, not a skip.  The workers use the C
# extension warmth._native (WARMTH_BACKEND=native: a missing one fails).
srcdir=${srcdir:-$(dirname "$0")/../..}
export srcdir
for b in tools/warmd/warmd tests/upstream/warmth-upstream; do
  test -x "./$b" || {
    echo "run-gunicorn: ./$b not built (run from the build dir)" >&2
    exit 99
  }
done
bound=
command -v timeout >/dev/null 2>&1 && bound="timeout -k 10 120"
WARMTH_BACKEND=${WARMTH_BACKEND:-native} PYRUN_NAME=run-gunicorn exec $bound sh "$srcdir/lib/python/pyrun.sh" gunicorn \
  "$srcdir/tests/integration/test_gunicorn.py"
