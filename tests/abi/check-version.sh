#!/bin/sh
# check-version.sh - the package version is written in several files that
# nothing generates from one another; they must agree, or a release ships a
# library, a Python package and man pages that each claim another version:
#   configure.ac          AC_INIT([warmth], [X.Y.Z])   (the reference; the
#                         .pc file and config.h take it from there)
#   include/warmth.h      WARMTH_VERSION_MAJOR/MINOR/PATCH and _STRING
#   lib/python            pyproject.toml version, warmth.__version__, and
#                         _lib.API_MAJOR (the C API major it accepts)
#   lib/php/composer.json "version", if it has one (Composer takes the
#                         version from the VCS tag; none is the usual case)
#   man pages             .TH ... "warmth X.Y.Z", where one names a version
#
#   check-version.sh [top_srcdir]
#
# make check runs it with $srcdir exported by automake's test driver.
# Exit status 0 when all agree, 1 with one line per disagreement.
set -u
top=${1:-${srcdir:-$(dirname "$0")/../..}}
fail=0
bad() {
  echo "FAIL: $*"
  fail=1
}
# first FILE SED-SCRIPT: the first value the script prints from FILE.
first() {
  [ -f "$1" ] || { echo "check-version: $1 missing" >&2; exit 99; }
  sed -n "$2" "$1" | head -n 1
}

want=$(first "$top/configure.ac" \
  's/^AC_INIT(\[warmth\], *\[\([^]]*\)\].*/\1/p')
case $want in
[0-9]*.[0-9]*.[0-9]*) ;;
*) echo "check-version: no X.Y.Z in configure.ac's AC_INIT ('$want')" >&2
   exit 99 ;;
esac
major=${want%%.*}
rest=${want#*.}
minor=${rest%%.*}
patch=${rest#*.}
echo "configure.ac: $want"

h=$top/include/warmth.h
for part in MAJOR:$major MINOR:$minor PATCH:$patch; do
  name=${part%%:*}
  got=$(first "$h" "s/^#define WARMTH_VERSION_$name  *\\([0-9][0-9]*\\).*/\\1/p")
  [ "$got" = "${part#*:}" ] ||
    bad "include/warmth.h: WARMTH_VERSION_$name is '$got', want ${part#*:}"
done
got=$(first "$h" 's/^#define WARMTH_VERSION_STRING "\(.*\)".*/\1/p')
[ "$got" = "$want" ] ||
  bad "include/warmth.h: WARMTH_VERSION_STRING is '$got', want $want"

got=$(first "$top/lib/python/pyproject.toml" \
  's/^version *= *"\(.*\)".*/\1/p')
[ "$got" = "$want" ] ||
  bad "lib/python/pyproject.toml: version is '$got', want $want"
got=$(first "$top/lib/python/warmth/__init__.py" \
  's/^__version__ *= *"\(.*\)".*/\1/p')
[ "$got" = "$want" ] ||
  bad "lib/python/warmth/__init__.py: __version__ is '$got', want $want"
got=$(first "$top/lib/python/warmth/_lib.py" \
  's/^API_MAJOR *= *\([0-9][0-9]*\).*/\1/p')
[ "$got" = "$major" ] ||
  bad "lib/python/warmth/_lib.py: API_MAJOR is '$got', want $major"

c=$top/lib/php/composer.json
[ -f "$c" ] || { echo "check-version: $c missing" >&2; exit 99; }
got=$(sed -n 's/^ *"version" *: *"\(.*\)".*/\1/p' "$c" | head -n 1)
[ -z "$got" ] || [ "$got" = "$want" ] ||
  bad "lib/php/composer.json: version is '$got', want $want"

for man in doc/libwarmth.3 tools/warmd/warmd.8 tools/warmctl/warmctl.1 \
    tools/warmd/warmd.conf.5; do
  [ -f "$top/$man" ] || { echo "check-version: $man missing" >&2; exit 99; }
  got=$(sed -n 's/^\.TH .*"warmth \([^"]*\)".*/\1/p' "$top/$man" | head -n 1)
  [ -z "$got" ] || [ "$got" = "$want" ] ||
    bad "$man: .TH says warmth '$got', want $want"
done

[ $fail -eq 0 ] && echo "every version agrees with configure.ac ($want)"
exit $fail
