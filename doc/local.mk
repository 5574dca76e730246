# doc rules (included from Makefile.am)
dist_man_MANS += doc/libwarmth.3
# How the tests are laid out and run (tests/ by kind, tests/run-all.sh).
EXTRA_DIST += doc/tests.md
# The Kubernetes example: warmd as a sidecar sharing /dev/shm.
EXTRA_DIST += doc/kubernetes.md doc/kubernetes.yaml
# The Grafana dashboard over /metrics (tests/integration/test_grafana.py).
EXTRA_DIST += doc/grafana/warmth.json doc/status-page.png
# Fleet mode: the protocol, its keys and the choices behind them.
EXTRA_DIST += doc/fleet.md
# The provider adapters: what each kind sends and reads, how to add one.
EXTRA_DIST += doc/providers.md
