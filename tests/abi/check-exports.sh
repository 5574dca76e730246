#!/bin/sh
# check-exports.sh - libwarmth.so exports exactly the symbols listed in
# tests/abi/exports.txt and needs nothing but libc.  An accidental export (a
# helper that lost its `static`, a writer symbol) or a new dependency pulled
# into every PHP or Python worker fails the build with a diff.  After
# jansson's test/suites/api/check-exports.
#
#   check-exports.sh [top_builddir [top_srcdir]]
#
# make check runs it from the top build directory with $srcdir exported by
# automake's test driver; both can also be given as arguments.
set -u
top_builddir=${1:-.}
top_srcdir=${2:-${srcdir:-$(dirname "$0")/../..}}
lib=$top_builddir/lib/.libs/libwarmth.so
want=$top_srcdir/tests/abi/exports.txt

if [ ! -f "$lib" ]; then
  echo "SKIP: $lib not built (--disable-shared?)"
  exit 77
fi
for tool in nm readelf; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found"
    exit 77
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-exports.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0

# Every defined dynamic symbol, whatever its type: only the list may appear.
nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | LC_ALL=C sort \
  > "$tmp/exports"
if ! diff -u "$want" "$tmp/exports"; then
  echo "FAIL: exports of $lib differ from $want (- listed, + exported)"
  status=1
fi

# NEEDED: libc only.  A sanitizer build legitimately needs its runtime; it
# is accepted only when the library really calls into it.
readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | LC_ALL=C sort \
  > "$tmp/needed"
if nm -D --undefined-only "$lib" | grep -q ' __\(asan\|tsan\|ubsan\)_'; then
  grep -v '^lib\(asan\|tsan\|ubsan\)\.so' "$tmp/needed" > "$tmp/needed.libc"
else
  cp "$tmp/needed" "$tmp/needed.libc"
fi
echo libc.so.6 > "$tmp/want-needed"
if ! diff -u "$tmp/want-needed" "$tmp/needed.libc"; then
  echo "FAIL: $lib needs more than libc (- wanted, + NEEDED)"
  status=1
fi
[ "$status" -eq 0 ] && echo "PASS: $(wc -l < "$tmp/exports") symbols, NEEDED libc.so.6"
exit "$status"
