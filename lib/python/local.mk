# lib/python rules (included from Makefile.am)
#
# The Python binding (ctypes over libwarmth.so: nothing to build).  make
# check runs its pytest suite and the Gunicorn integration test through
# pyrun.sh, which finds a python3 with the modules needed and points it at
# this build's library (WARMTH_LIB) and the source tree's package.
PY_BINDING = \
	lib/python/pyproject.toml \
	lib/python/.gitignore \
	lib/python/warmth/__init__.py \
	lib/python/warmth/_lib.py \
	lib/python/warmth/errors.py \
	lib/python/warmth/records.py \
	lib/python/warmth/table.py \
	lib/python/warmth/py.typed \
	lib/python/tests/conftest.py \
	lib/python/tests/test_abi.py \
	lib/python/tests/test_demand.py \
	lib/python/tests/test_fork.py \
	lib/python/tests/test_install.py \
	lib/python/tests/test_lookup.py \
	lib/python/tests/test_table.py \
	lib/python/examples/wsgi_app.py \
	lib/python/examples/gunicorn_conf.py \
	tests/integration/test_gunicorn.py \
	tests/integration/harness.py \
	tests/bench/bench_python.py \
	doc/python.md \
	doc/migration.md

TESTS += lib/python/run-tests.sh
if WARMD
TESTS += lib/python/run-gunicorn.sh
endif
dist_check_SCRIPTS += lib/python/run-tests.sh lib/python/run-gunicorn.sh \
	lib/python/pyrun.sh
EXTRA_DIST += $(PY_BINDING)

# make bench-python: ns per call of the binding next to redis-py and the
# clock (needs python3-redis and redis-server).  Not part of make check;
# `make bench` runs it too (tests/bench/local.mk).
bench-python: tests/bench/bench-python
	./tests/bench/bench-python
.PHONY: bench-python
