#!/bin/sh
# Smoke test of warmth-upstream, the fake LLM API used by the tests and the
# README demo.  The checks live in test_upstream.py (source dir); the
# binary is in the build dir, where automake runs tests.  Bounded: the
# driver arms a 30 s alarm and every server it starts exits by itself.
srcdir=${srcdir:-$(dirname "$0")/../..}
bin=${WARMTH_UPSTREAM:-./tests/upstream/warmth-upstream}

if ! test -x "$bin"; then
  echo "test-upstream: $bin not built" >&2
  exit 99 # a hard error, not a skip: make check builds it first
fi
python=${PYTHON3:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
  echo "test-upstream: python3 not found, skipping" >&2
  exit 77
fi
exec "$python" "$srcdir/tests/upstream/test_upstream.py" "$bin"
