# tests/stress rules (included from Makefile.am)
#
# The multi-process torn-read stress test of the shared table: ~3 s in make
# check; tests/run-all.sh runs it again under ThreadSanitizer.
check_PROGRAMS += tests/stress/stress-table
TESTS += tests/stress/stress-table
tests_stress_stress_table_SOURCES = tests/stress/stress-table.c
tests_stress_stress_table_LDADD = lib/libwarmth.la lib/libwarmth_writer.la
