# lib/php rules (included from Makefile.am): the PHP binding of libwarmth
# (FFI, pure PHP: nothing to build), its tests, and the PHP-FPM and Apache
# mod_php integration tests.  See doc/php.md.

# Installed as $(pkgdatadir)/php (e.g. /usr/share/warmth/php), the paths
# doc/php.md gives for require, ffi.preload and opcache.preload.
# Installed with warmd only: --disable-warmd installs libwarmth alone.
warmthphpdir = $(pkgdatadir)/php
WARMTH_PHP_FILES = \
	lib/php/warmth.php \
	lib/php/preload.php \
	lib/php/composer.json
warmthphpsrcdir = $(pkgdatadir)/php/src
WARMTH_PHP_SRC = \
	lib/php/src/warmth.ffi.h \
	lib/php/src/warmth.h.php \
	lib/php/src/Native.php \
	lib/php/src/Table.php \
	lib/php/src/ModelInfo.php \
	lib/php/src/Status.php \
	lib/php/src/ProcessHandle.php \
	lib/php/src/WarmthException.php
EXTRA_DIST += $(WARMTH_PHP_FILES) $(WARMTH_PHP_SRC)
if WARMD
warmthphp_DATA = $(WARMTH_PHP_FILES)
warmthphpsrc_DATA = $(WARMTH_PHP_SRC)
endif
EXTRA_DIST += lib/php/tests/run.php lib/php/tests/testlib.php doc/php.md

# The binding's tests: run.php through a wrapper that finds the build tree;
# php-helper prints the C header's layout and reads demand slots for them.
check_PROGRAMS += lib/php/tests/php-helper
lib_php_tests_php_helper_SOURCES = lib/php/tests/php-helper.c
dist_check_SCRIPTS += lib/php/tests/run-tests.sh
TESTS += lib/php/tests/run-tests.sh

# PHP-FPM (pm static, 8 children) and Apache prefork + mod_php (8 children)
# on loopback, with warmd and the test upstream; see the tests' docstrings.
PHP_INTEGRATION_TESTS = \
	tests/integration/test_phpfpm.py \
	tests/integration/test_apache.py
if WARMD
TESTS += $(PHP_INTEGRATION_TESTS)
endif
EXTRA_DIST += $(PHP_INTEGRATION_TESTS) \
	tests/integration/php/phpit.py \
	tests/integration/php/worker.php \
	tests/integration/php/load.lua

# make bench-php: ns per call of the binding next to phpredis GET (Unix
# socket, TCP loopback; redis-server started and stopped by the bench),
# APCu and hrtime().  Not part of make check.
WARMTH_PHP = php
EXTRA_DIST += tests/bench/bench_php.php
bench-php: lib/libwarmth.la tests/helpers/fill-table
	WARMTH_LIB=$(abs_top_builddir)/lib/.libs/libwarmth.so.0 \
	FILL_TABLE=$(abs_top_builddir)/tests/helpers/fill-table \
	  $(WARMTH_PHP) -d ffi.enable=preload -d apc.enable_cli=1 \
	  $(srcdir)/tests/bench/bench_php.php $(BENCH_ARGS)
.PHONY: bench-php
