#!/bin/sh
# make check: the PHP binding's tests (lib/php/tests/run.php) against the
# libwarmth.so just built, with tests/helpers/fill-table playing the
# coordinator.
# Runs from the top build directory (automake's harness sets cwd there and
# exports srcdir), so it works in VPATH builds and make distcheck.
#
# php is required: without it this test fails, loudly, rather than skip
# (CI installs php8.2-cli through tools/deps.sh).
set -eu
srcdir=${srcdir:-.}
PHP=${PHP:-php}

if ! command -v "$PHP" >/dev/null 2>&1; then
  echo "run-tests.sh: FAIL: '$PHP' not found; install php8.2-cli (tools/deps.sh) or set PHP" >&2
  exit 1
fi
if ! "$PHP" -r 'exit(extension_loaded("ffi") ? 0 : 1);'; then
  echo "run-tests.sh: FAIL: $PHP has no FFI extension (Debian: php8.2-cli ships it)" >&2
  exit 1
fi
lib=$PWD/lib/.libs/libwarmth.so.0
if [ ! -f "$lib" ]; then
  echo "run-tests.sh: SKIP: no $lib (configured with --disable-shared?)" >&2
  exit 77
fi

FILL_TABLE=$PWD/tests/helpers/fill-table \
PHP_HELPER=$PWD/lib/php/tests/php-helper \
WARMTH_LIB=$lib \
exec "$PHP" -d ffi.enable=preload -d error_reporting=-1 -d display_errors=stderr \
  "$srcdir/lib/php/tests/run.php" "$@"
