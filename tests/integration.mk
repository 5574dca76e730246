# Integration tests: warmd against the test upstream, with worker processes.
noinst_PROGRAMS += tests/worker-sim
tests_worker_sim_SOURCES = tests/worker-sim.c
tests_worker_sim_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
tests_worker_sim_LDADD = lib/libwarmth.la $(CURL_LIBS)

# Each test starts the upstream, warmd and workers on loopback itself,
# bounds its own run time and stops what it started by pid.
INTEGRATION_TESTS = \
	tests/integration/test_dedup.py \
	tests/integration/test_coldstart.py \
	tests/integration/test_faults.py \
	tests/integration/test_idle_budget.py \
	tests/integration/test_real_traffic.py \
	tests/integration/test_cost.py \
	tests/integration/test_control.py \
	tests/integration/test_http.py \
	tests/integration/test_state.py \
	tests/integration/test_events.py \
	tests/integration/test_online.py \
	tests/integration/test_fleet.py \
	tests/integration/test_fleet_faults.py \
	tests/integration/test_fleet_refused.py
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/harness.py \
	tests/integration/fleetlib.py

# Operations: reload, restart, running as a service.  table-watch is the
# reader that verifies every record it copies (ops.py drives it).
noinst_PROGRAMS += tests/table-watch
tests_table_watch_SOURCES = tests/table-watch.c
tests_table_watch_LDADD = lib/libwarmth.la
OPS_TESTS = \
	tests/integration/test_reload.py \
	tests/integration/test_restart.py \
	tests/integration/test_service.py \
	tests/integration/test_initscript.py
TESTS += $(OPS_TESTS)
EXTRA_DIST += $(OPS_TESTS) tests/integration/ops.py
