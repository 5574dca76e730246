# tests/integration rules (included from Makefile.am)
#
# Integration tests: warmd against the test upstream (tests/upstream), with
# worker processes (tests/helpers/worker-sim), and warmctl against tables.

# Each test starts the upstream, warmd and workers on loopback itself,
# bounds its own run time and stops what it started by pid.
INTEGRATION_TESTS = \
	tests/integration/test_dedup.py \
	tests/integration/test_coldstart.py \
	tests/integration/test_faults.py \
	tests/integration/test_idle_budget.py \
	tests/integration/test_real_traffic.py \
	tests/integration/test_cost.py \
	tests/integration/test_providers.py \
	tests/integration/test_control.py \
	tests/integration/test_ctlperm.py \
	tests/integration/test_http.py \
	tests/integration/test_http_slow.py \
	tests/integration/test_state.py \
	tests/integration/test_events.py \
	tests/integration/test_online.py \
	tests/integration/test_statuspage.py \
	tests/integration/test_grafana.py \
	tests/integration/test_hardening.py \
	tests/integration/test_secrets.py \
	tests/integration/test_fleet.py \
	tests/integration/test_fleet_faults.py \
	tests/integration/test_fleet_refused.py \
	tests/integration/test_local_servers.py \
	tests/integration/test_startup.py \
	tests/integration/test_truth.py
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/harness.py \
	tests/integration/fleetlib.py

# Operations: reload, restart, running as a service.  ops.py drives
# tests/helpers/table-watch, the reader that verifies every record it copies.
OPS_TESTS = \
	tests/integration/test_reload.py \
	tests/integration/test_reload_swap.py \
	tests/integration/test_restart.py \
	tests/integration/test_service.py \
	tests/integration/test_initscript.py
TESTS += $(OPS_TESTS)
EXTRA_DIST += $(OPS_TESTS) tests/integration/ops.py

# warmctl list/show/watch/check against tables that
# tests/helpers/fill-table makes (no warmd needed).
TESTS += tests/integration/test-warmctl.sh
dist_check_SCRIPTS += tests/integration/test-warmctl.sh
CLEANFILES += status-page.png
