# lib/python rules (included from Makefile.am)
#
# The Python binding: the package warmth with its CPython extension
# warmth._native (lib/python/native.c, built by setuptools from python3-dev)
# and the ctypes fallback.  make builds the package as pip would install it
# into lib/python/pkg of the build tree (setup.py build, its egg-info in the
# build tree too: the source tree is only read); make check runs its pytest suite (once per backend) and the
# Gunicorn integration test through pyrun.sh, which finds a python3 with the
# modules needed and points it at this build's library (WARMTH_LIB) and
# package.
PY_PACKAGE = \
	lib/python/warmth/__init__.py \
	lib/python/warmth/_lib.py \
	lib/python/warmth/_common.py \
	lib/python/warmth/_ntable.py \
	lib/python/warmth/errors.py \
	lib/python/warmth/records.py \
	lib/python/warmth/table.py \
	lib/python/warmth/py.typed \
	lib/python/native.c \
	lib/python/setup.py \
	lib/python/pyproject.toml
PY_BINDING = $(PY_PACKAGE) \
	lib/python/.gitignore \
	lib/python/tests/conftest.py \
	lib/python/tests/test_abi.py \
	lib/python/tests/test_backend.py \
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

# A failed compile of the extension does not fail the build (optional=True
# in setup.py: the package then runs on ctypes); make check, which runs the
# suite on the extension too, does.
noinst_DATA += lib/python/pkg/.built
lib/python/pkg/.built: $(PY_PACKAGE:%=$(srcdir)/%) $(srcdir)/include/warmth.h
	$(AM_V_GEN)rm -rf lib/python/pkg && $(MKDIR_P) lib/python/build && \
	if test -z "$(PYTHON3)"; then \
	  echo "no python3: the Python package is not built"; \
	else \
	  (cd $(abs_srcdir)/lib/python && PYTHONWARNINGS=ignore \
	   $(PYTHON3) setup.py -q \
	     egg_info --egg-base $(abs_builddir)/lib/python/build \
	     build --build-base $(abs_builddir)/lib/python/build \
	     --build-lib $(abs_builddir)/lib/python/pkg) && touch $@; \
	fi
clean-local:
	rm -rf lib/python/pkg lib/python/build

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
bench-python: tests/bench/bench-python lib/python/pkg/.built
	./tests/bench/bench-python
.PHONY: bench-python
