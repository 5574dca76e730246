#!/usr/bin/env bash
# Runs every test: the clang-format check, the normal build (-Werror) with
# `make check`, the unit tests and warmd's integration tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer, the concurrency stress test
# under ThreadSanitizer, the fuzz targets, and `make distcheck`.
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

section "clang-format (.clang-format in the tree)"
# shellcheck disable=SC2046 # one argument per file is wanted
clang-format --dry-run -Werror $(git ls-files '*.c' '*.h' 2>/dev/null ||
  find include lib tools tests -name '*.[ch]') && echo "format: ok"

section "build and make check"
build normal
(cd _build/normal && make -s -j"$jobs" check) || {
  cat _build/normal/test-suite.log; exit 1; }

# The Check unit tests, by name, from the list of what make check builds.
unit_tests=$(cd _build/normal && make -s print-check-programs | tr ' ' '\n' |
             grep '^tests/check_' | sort -u | tr '\n' ' ')

section "unit tests under ASan + UBSan"
build asan --enable-sanitizers=address,undefined
# CK_FORK=no: Check counts a forked test as passed even when LeakSanitizer
# fails the child at exit; in one process a leak fails the run.
(cd _build/asan && CK_FORK=no make -s -j"$jobs" check TESTS="$unit_tests") || {
  cat _build/asan/test-suite.log; exit 1; }

section "warmd's integration tests under ASan + UBSan"
# The same build: warmd, warmctl and the test upstream instrumented; the
# harness fails a test whose warmd does not exit 0 (a sanitizer report).
integration=$(cd _build/normal && make -s print-integration-tests)
(cd _build/asan && make -s check TESTS="$integration tests/test-warmctl.sh") || {
  cat _build/asan/test-suite.log; exit 1; }

section "stress test and threads sharing a handle (check_attach, check_model) under TSan"
build tsan --enable-sanitizers=thread
(cd _build/tsan && make -s check TESTS="tests/stress-table tests/check_attach tests/check_model") || {
  cat _build/tsan/test-suite.log; exit 1; }

section "fuzz targets (libFuzzer, ASan + UBSan)"
fuzz_rc=0
tests/fuzz/run.sh "${FUZZ_SECONDS:-30}" || fuzz_rc=$?
[ $fuzz_rc -eq 0 ] || [ $fuzz_rc -eq 77 ] || exit 1

section "make distcheck"
(cd _build/normal && make -s distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror >/dev/null) 
echo "distcheck: ok"
