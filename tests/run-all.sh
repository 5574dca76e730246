#!/usr/bin/env bash
# Runs every test: the normal build (-Werror) with `make check`, the unit
# tests again under AddressSanitizer + UndefinedBehaviorSanitizer, the
# concurrency stress test under ThreadSanitizer, and `make distcheck`.
# Each build has its own directory under _build/.  Usage: tests/run-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
jobs=$(nproc 2>/dev/null || echo 2)
tools/deps.sh
[ -x configure ] || autoreconf -fi >/dev/null

build() { # build NAME CONFIGURE-ARGS...
  local name=$1; shift
  mkdir -p "_build/$name"
  (cd "_build/$name" && "$top/configure" -q --enable-werror "$@" &&
     make -s -j"$jobs" >/dev/null)
}

section() { printf '\n=== %s\n' "$*"; }

section "build and make check"
build normal
(cd _build/normal && make -s -j"$jobs" check) || {
  cat _build/normal/test-suite.log; exit 1; }

section "unit tests under ASan + UBSan"
build asan --enable-sanitizers=address,undefined
(cd _build/asan && make -s -j"$jobs" check TESTS="$(cd _build/normal && make -s print-unit-tests)") || {
  cat _build/asan/test-suite.log; exit 1; }

section "stress test under TSan"
build tsan --enable-sanitizers=thread
(cd _build/tsan && make -s check TESTS="$(cd _build/normal && make -s print-tsan-tests)") || {
  cat _build/tsan/test-suite.log; exit 1; }

section "make distcheck"
(cd _build/normal && make -s distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror >/dev/null) 
echo "distcheck: ok"
