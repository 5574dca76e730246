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

# make bench-reader: that benchmark alone (its last three lines are the
# handle_is_warm / is_warm / lookup ratios to clock_gettime).
bench-reader: tests/bench/bench-reader$(EXEEXT)
	./tests/bench/bench-reader
.PHONY: bench-reader

# bench-redis: the headline figures, a lookup next to Redis GET (Unix socket
# and TCP loopback, redis-server started by the benchmark), a small file
# read and the clock, unpinned, on one CPU and across CPUs.  Needs hiredis
# (configure) and redis-server (at run time).
if HAVE_HIREDIS
noinst_PROGRAMS += tests/bench/bench-redis
WARMTH_BENCHES += tests/bench/bench-redis
endif
tests_bench_bench_redis_SOURCES = tests/bench/bench-redis.c
tests_bench_bench_redis_CFLAGS = $(AM_CFLAGS) $(HIREDIS_CFLAGS)
tests_bench_bench_redis_LDADD = lib/libwarmth_writer.la lib/libwarmth.la \
	$(HIREDIS_LIBS)

# bench-python: the same question from Python (the binding next to redis-py
# and time.monotonic_ns()), tests/bench/bench_python.py run through
# lib/python/pyrun.sh.  A script made here so that `make bench` runs it as
# ./tests/bench/bench-python like the others.
WARMTH_BENCHES += tests/bench/bench-python
CLEANFILES += tests/bench/bench-python
tests/bench/bench-python: lib/libwarmth.la tests/helpers/fill-table \
		$(srcdir)/tests/bench/local.mk
	$(AM_V_GEN)mkdir -p tests/bench && { \
	  echo '#!/bin/sh'; \
	  echo '# made by make from tests/bench/local.mk'; \
	  echo 'srcdir="$(abs_srcdir)" PYRUN_NAME=bench-python exec sh' \
	    '"$(abs_srcdir)/lib/python/pyrun.sh" redis' \
	    '"$(abs_srcdir)/tests/bench/bench_python.py" "$$@"'; \
	} >$@.tmp && chmod +x $@.tmp && mv $@.tmp $@

# bench-warmd: warmd with 10,000 models at a 60 s interval against the test
# upstream for 130 s (--seconds N for a shorter run): CPU share, peak RSS,
# how late warmups go out, and how long a result takes to reach a reader
# (warmd's own figure, and bench-warmd-reader's from a separate process).
# A Python 3 script (stdlib and tests/integration/harness.py), copied into
# the build directory so `make bench` runs it as ./tests/bench/bench-warmd.
if WARMD
noinst_PROGRAMS += tests/bench/bench-warmd-reader
WARMTH_BENCHES += tests/bench/bench-warmd
endif
tests_bench_bench_warmd_reader_SOURCES = tests/bench/bench-warmd-reader.c
tests_bench_bench_warmd_reader_LDADD = lib/libwarmth.la
EXTRA_DIST += tests/bench/bench-warmd.py
CLEANFILES += tests/bench/bench-warmd
tests/bench/bench-warmd: $(srcdir)/tests/bench/bench-warmd.py \
		tests/bench/bench-warmd-reader$(EXEEXT) tools/warmd/warmd$(EXEEXT) \
		tests/upstream/warmth-upstream$(EXEEXT)
	@$(MKDIR_P) tests/bench
	$(AM_V_GEN)sed -e '1s|^#!.*|#!$(PYTHON3)|' \
	  -e 's|^TOP = .*|TOP = "$(abs_top_srcdir)"|' \
	  $(srcdir)/tests/bench/bench-warmd.py >$@.tmp && chmod +x $@.tmp && \
	  mv $@.tmp $@

# bench-fleet: fleet mode, 20 warmd hosts x 1,000 models at 60 s against one
# local redis-server for 2 minutes (--seconds, --interval, --hosts, --models
# for other runs): Redis commands per second and per model-interval, Redis
# and warmd CPU, warmups next to one per model per interval, lateness.  A
# Python 3 script (stdlib and harness.py) copied into the build directory
# like bench-warmd; `make bench-fleet` runs it alone.
WARMTH_BENCHES += tests/bench/bench-fleet
EXTRA_DIST += tests/bench/bench-fleet.py
CLEANFILES += tests/bench/bench-fleet
tests/bench/bench-fleet: $(srcdir)/tests/bench/bench-fleet.py \
		tools/warmd/warmd$(EXEEXT) tests/upstream/warmth-upstream$(EXEEXT)
	@$(MKDIR_P) tests/bench
	$(AM_V_GEN)sed -e '1s|^#!.*|#!$(PYTHON3)|' \
	  -e 's|^TOP = .*|TOP = "$(abs_top_srcdir)"|' \
	  $(srcdir)/tests/bench/bench-fleet.py >$@.tmp && chmod +x $@.tmp && \
	  mv $@.tmp $@
.PHONY: bench-fleet
bench-fleet: tests/bench/bench-fleet
	./tests/bench/bench-fleet

# bench-reload: how long a reload's model matching stalls warmd's main loop
# (tools/warmd/table.c) at 10,000 models: wd_table_init on an adopted
# table, a reload with the same models, one with 10% renamed and the order
# reversed (--models N, --rounds R for other runs).
if WARMD
noinst_PROGRAMS += tests/bench/bench-reload
WARMTH_BENCHES += tests/bench/bench-reload
endif
tests_bench_bench_reload_SOURCES = tests/bench/bench-reload.c
tests_bench_bench_reload_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_bench_bench_reload_CFLAGS = $(AM_CFLAGS) $(URCU_CFLAGS) $(PTHREAD_FLAGS)
tests_bench_bench_reload_LDFLAGS = $(AM_LDFLAGS) $(PTHREAD_FLAGS)
tests_bench_bench_reload_LDADD = tools/warmd/libwdcore.la $(URCU_LIBS)
.PHONY: bench-reload
bench-reload: tests/bench/bench-reload$(EXEEXT)
	./tests/bench/bench-reload

# bench-coldstart: issue 10's closing table, the first real request after an
# idle spell with and without warmd, per provider kind and probe kind,
# against the test upstream with a lazily unloading model (about a minute).
# Not in WARMTH_BENCHES: `make bench-coldstart` runs it alone.
EXTRA_DIST += tests/bench/bench-coldstart.py
CLEANFILES += tests/bench/bench-coldstart
tests/bench/bench-coldstart: $(srcdir)/tests/bench/bench-coldstart.py \
		tools/warmd/warmd$(EXEEXT) tools/warmctl/warmctl$(EXEEXT) \
		tests/upstream/warmth-upstream$(EXEEXT)
	@$(MKDIR_P) tests/bench
	$(AM_V_GEN)sed -e '1s|^#!.*|#!$(PYTHON3)|' \
	  -e 's|^TOP = .*|TOP = "$(abs_top_srcdir)"|' \
	  $(srcdir)/tests/bench/bench-coldstart.py >$@.tmp && chmod +x $@.tmp && \
	  mv $@.tmp $@
.PHONY: bench-coldstart
bench-coldstart: tests/bench/bench-coldstart
	./tests/bench/bench-coldstart
