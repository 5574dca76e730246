# tests/bench rules (included from Makefile.am)
#
# Benchmarks are built by `make` (so they never rot) and run by `make bench`,
# never by `make check`: their figures are reports, not verdicts.

# bench-reader: ns per call of the reader hot path (lookup, is_warm, touch)
# next to clock_gettime and a process-shared rwlock; see the top of the file.
noinst_PROGRAMS += tests/bench/bench-reader
WARMTH_BENCHES += tests/bench/bench-reader
tests_bench_bench_reader_SOURCES = tests/bench/bench-reader.c
tests_bench_bench_reader_CFLAGS = $(AM_CFLAGS) $(PTHREAD_FLAGS)
tests_bench_bench_reader_LDFLAGS = $(AM_LDFLAGS) $(PTHREAD_FLAGS)
tests_bench_bench_reader_LDADD = lib/libwarmth_writer.la lib/libwarmth.la
