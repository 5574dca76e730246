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

# bench-warmd: warmd with 10,000 models at a 60 s interval against the test
# upstream for 130 s (--seconds N for a shorter run): CPU share, peak RSS,
# how late warmups go out, and how long a result takes to reach a reader
# (warmd's own figure, and bench-warmd-reader's from a separate process).
# A Python 3 script (stdlib only), copied into the build directory so
# `make bench` runs it as ./tests/bench/bench-warmd.
noinst_PROGRAMS += tests/bench/bench-warmd-reader
tests_bench_bench_warmd_reader_SOURCES = tests/bench/bench-warmd-reader.c
tests_bench_bench_warmd_reader_LDADD = lib/libwarmth.la
WARMTH_BENCHES += tests/bench/bench-warmd
EXTRA_DIST += tests/bench/bench-warmd.py
CLEANFILES += tests/bench/bench-warmd
tests/bench/bench-warmd: $(srcdir)/tests/bench/bench-warmd.py \
		tests/bench/bench-warmd-reader$(EXEEXT) tools/warmd/warmd$(EXEEXT) \
		tests/upstream/warmth-upstream$(EXEEXT)
	@$(MKDIR_P) tests/bench
	$(AM_V_GEN)sed -e '1s|^#!.*|#!$(PYTHON3)|' \
	  $(srcdir)/tests/bench/bench-warmd.py >$@.tmp && chmod +x $@.tmp && \
	  mv $@.tmp $@
