# tests/abi rules (included from Makefile.am)
#
# libwarmth.so exports exactly tests/abi/exports.txt and needs only libc.
# The script finds the build tree from its working directory (the top build
# directory under make check) and the list through $srcdir.
dist_check_SCRIPTS += tests/abi/check-exports.sh
TESTS += tests/abi/check-exports.sh
EXTRA_DIST += tests/abi/exports.txt

# The package version agrees in configure.ac, include/warmth.h, the Python
# and PHP packages and the man pages (sources only: runs in every build).
dist_check_SCRIPTS += tests/abi/check-version.sh
TESTS += tests/abi/check-version.sh
