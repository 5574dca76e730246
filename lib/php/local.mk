# lib/php rules (included from Makefile.am): the PHP binding of libwarmth
# (FFI, pure PHP: nothing to build), its tests, and the PHP-FPM and Apache
# mod_php integration tests.  See doc/php.md.

WARMTH_PHP_SRC = \
	lib/php/warmth.php \
	lib/php/preload.php \
	lib/php/composer.json \
	lib/php/src/warmth.ffi.h \
	lib/php/src/warmth.h.php \
	lib/php/src/Native.php \
	lib/php/src/Table.php \
	lib/php/src/ModelInfo.php \
	lib/php/src/Status.php \
	lib/php/src/ProcessHandle.php \
	lib/php/src/WarmthException.php
EXTRA_DIST += $(WARMTH_PHP_SRC) lib/php/tests/run.php

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
TESTS += $(PHP_INTEGRATION_TESTS)
EXTRA_DIST += $(PHP_INTEGRATION_TESTS) \
	tests/integration/php/phpit.py \
	tests/integration/php/worker.php \
	tests/integration/php/load.lua
