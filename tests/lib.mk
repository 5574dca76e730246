# tests rules for lib/ (included from Makefile.am): the Check unit tests, the
# multi-process torn-read stress test and the export check of libwarmth.so.
#
# One check_<module> program per lib module (STYLE.md), each a "core" and
# a "limits" TCase, run in Check's fork mode.  check_util.c is compiled into
# each: a shared test library would need check_LTLIBRARIES, a variable other
# fragments may want to own.  access: who may read/write the segments;
# attach: handle lifetime (fork, re-attach, stale); index: republication
# under concurrent readers; segment: validation of bad segments.
WARMTH_LIB_CHECKS = \
	tests/check_layout \
	tests/check_seqlock \
	tests/check_lookup \
	tests/check_index \
	tests/check_segment \
	tests/check_access \
	tests/check_attach \
	tests/check_demand \
	tests/check_writer \
	tests/check_errors \
	tests/check_model

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

tests_check_lookup_SOURCES = tests/check_lookup.c $(WARMTH_CHECK_SRC)
tests_check_lookup_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_lookup_LDADD = $(WARMTH_CHECK_LDADD)

tests_check_index_SOURCES = tests/check_index.c $(WARMTH_CHECK_SRC)
tests_check_index_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_index_LDADD = $(WARMTH_CHECK_LDADD)

tests_check_segment_SOURCES = tests/check_segment.c $(WARMTH_CHECK_SRC)
tests_check_segment_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_segment_LDADD = $(WARMTH_CHECK_LDADD)

tests_check_access_SOURCES = tests/check_access.c $(WARMTH_CHECK_SRC)
tests_check_access_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_access_LDADD = $(WARMTH_CHECK_LDADD)

tests_check_attach_SOURCES = tests/check_attach.c $(WARMTH_CHECK_SRC)
tests_check_attach_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_attach_LDADD = $(WARMTH_CHECK_LDADD)

tests_check_demand_SOURCES = tests/check_demand.c $(WARMTH_CHECK_SRC)
tests_check_demand_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_demand_LDADD = $(WARMTH_CHECK_LDADD)

tests_check_writer_SOURCES = tests/check_writer.c $(WARMTH_CHECK_SRC)
tests_check_writer_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_writer_LDADD = $(WARMTH_CHECK_LDADD)

tests_check_errors_SOURCES = tests/check_errors.c $(WARMTH_CHECK_SRC)
tests_check_errors_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_errors_LDADD = $(WARMTH_CHECK_LDADD)

tests_check_model_SOURCES = tests/check_model.c $(WARMTH_CHECK_SRC)
tests_check_model_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PTHREAD_FLAGS)
tests_check_model_LDFLAGS = $(AM_LDFLAGS) $(PTHREAD_FLAGS)
tests_check_model_LDADD = $(WARMTH_CHECK_LDADD)

# The multi-process torn-read stress test: ~3 s in make check.
check_PROGRAMS += tests/stress-table
TESTS += tests/stress-table
tests_stress_table_SOURCES = tests/stress-table.c
tests_stress_table_LDADD = lib/libwarmth.la lib/libwarmth_writer.la

# libwarmth.so exports exactly tests/exports.txt and needs only libc.  The
# script finds the build tree from its working directory (the top build
# directory under make check) and the list through $srcdir.
dist_check_SCRIPTS += tests/check-exports.sh
TESTS += tests/check-exports.sh
EXTRA_DIST += tests/exports.txt
