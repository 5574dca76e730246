# tests/helpers rules (included from Makefile.am)
#
# Programs the tests, the benchmarks and the README demo run; noinst, so a
# plain `make` builds them too (a program may live in one primary only).
# opts.c, their one option parser, is compiled into each.
HELPER_OPTS = tests/helpers/opts.c tests/helpers/opts.h

# fill-table: plays the coordinator through the internal writer, for
# test-warmctl.sh, the Python and PHP binding tests and the README demo.
noinst_PROGRAMS += tests/helpers/fill-table
tests_helpers_fill_table_SOURCES = tests/helpers/fill-table.c $(HELPER_OPTS)
tests_helpers_fill_table_LDADD = lib/libwarmth_writer.la

# worker-sim: a worker process (looks models up, reports traffic) for the
# integration tests and the demo; it links libcurl, so not with
# --disable-warmd (nor are the tests that run it).
if WARMD
noinst_PROGRAMS += tests/helpers/worker-sim
endif
tests_helpers_worker_sim_SOURCES = tests/helpers/worker-sim.c $(HELPER_OPTS)
tests_helpers_worker_sim_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
tests_helpers_worker_sim_LDADD = lib/libwarmth.la $(CURL_LIBS)

# table-watch: the reader that verifies every record it copies (the reload
# and restart tests drive it through tests/integration/ops.py).
noinst_PROGRAMS += tests/helpers/table-watch
tests_helpers_table_watch_SOURCES = tests/helpers/table-watch.c $(HELPER_OPTS)
tests_helpers_table_watch_LDADD = lib/libwarmth.la
