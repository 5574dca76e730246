# doc rules (included from Makefile.am)
dist_man_MANS += doc/libwarmth.3
# The Kubernetes example: warmd as a sidecar sharing /dev/shm.
EXTRA_DIST += doc/kubernetes.md doc/kubernetes.yaml
# Fleet mode: the protocol, its keys and the choices behind them.
EXTRA_DIST += doc/fleet.md
