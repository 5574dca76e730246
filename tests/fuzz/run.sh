#!/bin/sh
# run.sh - builds the libFuzzer targets with clang (ASan + UBSan, outside
# automake) and runs each for a bounded time from its checked-in seed
# corpus, printing the execution counts.  Exits non-zero when a target
# crashes, leaks or fails to build; 77 (skip) without clang or libFuzzer.
#
# Usage: tests/fuzz/run.sh [SECONDS]   (default $FUZZ_SECONDS, else 30)
# New inputs go to a scratch copy of the corpus; crash inputs are kept in
# $FUZZ_OUT (default: a fresh temporary directory, printed on failure).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-${FUZZ_SECONDS:-30}}
cc=${CLANG:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "SKIP: $cc not found (tools/deps.sh installs clang)"
  exit 77
fi
out=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/warmth-fuzz.XXXXXX")}
mkdir -p "$out"

cflags="-g -O1 -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=undefined -std=gnu11 -Wall -Wextra
  -I$top/include -I$top/lib -I$top/tools/common -I$top/tools/warmd
  $(pkg-config --cflags msgpack inih jansson)"

build() { # build NAME SOURCES... -- LIBS...
  name=$1
  shift
  srcs=
  while [ "$1" != -- ]; do srcs="$srcs $1"; shift; done
  shift
  # shellcheck disable=SC2086 # word splitting of the flag lists is wanted
  if ! "$cc" $cflags -o "$out/$name" $srcs "$@" 2>"$out/$name.build.log"; then
    cat "$out/$name.build.log" >&2
    echo "FAIL: $name does not build" >&2
    exit 1
  fi
}

# shellcheck disable=SC2046
build fuzz_ctlproto "$here/fuzz_ctlproto.c" "$top/tools/common/ctlproto.c" \
  "$top/tools/common/util.c" \
  -- $(pkg-config --libs msgpack)
# shellcheck disable=SC2046
build fuzz_config "$here/fuzz_config.c" "$top/tools/warmd/config.c" \
  "$top/tools/warmd/secret.c" "$top/tools/warmd/fleetproto.c" \
  "$top/tools/warmd/window.c" "$top/tools/common/units.c" \
  "$top/tools/common/util.c" \
  -- $(pkg-config --libs inih)

failed=0
for t in ctlproto config; do
  work=$out/corpus-$t
  mkdir -p "$work"
  # The scratch corpus first: libFuzzer adds new inputs to the first
  # directory, and the checked-in seeds stay as they are.  Runs in $out so
  # that fuzz_config's relative paths stay in a scratch directory.
  set +e
  (cd "$out" && "./fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$out/crash-$t-" -timeout=10 -rss_limit_mb=1024 \
    "$work" "$here/corpus-$t" >"$out/fuzz_$t.log" 2>&1)
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz_$t.log")
  units=$(ls "$work" | wc -l)
  if [ $rc -eq 0 ]; then
    echo "fuzz_$t: ${execs:-?} executions in ${secs}s, $units new corpus inputs, no crash"
  else
    failed=1
    echo "FAIL: fuzz_$t exited $rc after ${execs:-?} executions; log and" \
      "crash input in $out:"
    grep -E 'ERROR|SUMMARY|crash-' "$out/fuzz_$t.log" | head -20
  fi
done
if [ $failed -eq 0 ] && [ -z "${FUZZ_OUT:-}" ]; then
  rm -rf "$out"
fi
exit $failed
