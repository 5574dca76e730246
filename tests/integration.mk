# Integration tests: warmd against the test upstream, with worker processes.
noinst_PROGRAMS += tests/worker-sim
tests_worker_sim_SOURCES = tests/worker-sim.c
tests_worker_sim_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
tests_worker_sim_LDADD = lib/libwarmth.la $(CURL_LIBS)
