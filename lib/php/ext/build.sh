#!/bin/sh
# build.sh - builds the PHP extension against the libwarmth of a build tree,
# for make (lib/php/local.mk) and tests/run-all.sh.
#
#   build.sh SRCDIR BUILDDIR INCLUDEDIR LIBDIR [PHPIZE]
#
# phpize writes its files (configure, build/, Makefile...) next to the
# sources, so it runs in a copy of SRCDIR under BUILDDIR: the source tree
# stays untouched (read-only in make distcheck).  The result is
# BUILDDIR/modules/warmth.so, linked to LIBDIR's libwarmth.so with an rpath
# there, so php -d extension=... finds the library just built.  Rebuilds from
# scratch each time (a few seconds): phpize's own dependency tracking does not
# know the library's header moved.
set -eu
src=$1 out=$2 inc=$3 libdir=$4 phpize=${5:-phpize}

if ! command -v "$phpize" >/dev/null 2>&1; then
  echo "build.sh: '$phpize' not found: install php8.2-dev (tools/deps.sh)" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out"
cp "$src/config.m4" "$src/php_warmth.h" "$src/warmth.c" "$out/"
cd "$out"
"$phpize" >phpize.log 2>&1 || { cat phpize.log >&2; exit 1; }
# The house flags (-Wall -Wextra -Werror); PHP's own macros leave
# parameters unused (INTERNAL_FUNCTION_PARAMETERS of every function) and mix
# signedness (ZEND_TYPE_INIT_CODE), hence the two exceptions.
CFLAGS="-O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare" \
CPPFLAGS="-I$inc" \
LDFLAGS="-L$libdir -Wl,-rpath,$libdir" \
  ./configure --with-warmth >configure.log 2>&1 ||
  { tail -30 configure.log >&2; exit 1; }
make >make.log 2>&1 || { cat make.log >&2; exit 1; }
test -f modules/warmth.so
