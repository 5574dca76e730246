# tests rules for lib/ (included from Makefile.am): the Check unit tests, the
# multi-process torn-read stress test and the export check of libwarmth.so.
#
# One check_<module> program per lib module (STYLE.md).  check_util.c is
# compiled into each: a shared test library would need check_LTLIBRARIES,
# a variable the other fragments may want to own.
WARMTH_LIB_CHECKS = \
	tests/check_layout \
	tests/check_seqlock

check_PROGRAMS += $(WARMTH_LIB_CHECKS)
TESTS += $(WARMTH_LIB_CHECKS)

WARMTH_CHECK_SRC = tests/check_util.c tests/check_util.h
WARMTH_CHECK_LDADD = lib/libwarmth.la lib/libwarmth_writer.la $(CHECK_LIBS)

tests_check_layout_SOURCES = tests/check_layout.c $(WARMTH_CHECK_SRC)
tests_check_layout_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_layout_LDADD = $(WARMTH_CHECK_LDADD)

tests_check_seqlock_SOURCES = tests/check_seqlock.c $(WARMTH_CHECK_SRC)
tests_check_seqlock_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_seqlock_LDADD = $(WARMTH_CHECK_LDADD)
