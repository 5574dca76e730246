#!/bin/sh
# make check: the Node addon's tests (lib/node/tests/run.js) against the
# addon and libwarmth.so just built, with fill-table playing the
# coordinator.  Runs from the top build directory (automake's harness sets
# cwd there and exports srcdir).  Skips (77) when the addon was not built
# because node or its headers are missing (lib/node-build/SKIP says which).
set -eu
srcdir=${srcdir:-.}
out=$PWD/lib/node-build
if [ -f "$out/SKIP" ]; then
  echo "run-tests.sh: SKIP: $(cat "$out/SKIP")" >&2
  exit 77
fi
if [ ! -f "$out/build/Release/warmth.node" ]; then
  echo "run-tests.sh: FAIL: no $out/build/Release/warmth.node (make check builds it)" >&2
  exit 1
fi

fill=$PWD/tests/helpers/fill-table
FILL_TABLE=$fill \
PHP_HELPER=$PWD/lib/php/tests/php-helper \
WARMTH_NODE=$out \
exec node "$srcdir/lib/node/tests/run.js" "$@"
