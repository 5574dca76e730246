# lib/node rules (included from Makefile.am): the Node N-API addon of
# libwarmth (node-addon-api), its tests and bench-node.  See doc/node.md.
#
# lib/node/build.sh builds it in a copy under the build tree (npm ci writes
# node_modules next to package.json; the source tree is read-only in make
# distcheck), against the libwarmth just built.  Without node it writes
# lib/node-build/SKIP and the Node tests skip.  Not installed by make
# install: Node packages go through npm (doc/node.md).
NODE_ADDON_SRC = \
	lib/node/package.json \
	lib/node/package-lock.json \
	lib/node/index.js \
	lib/node/src/warmth.cc
EXTRA_DIST += $(NODE_ADDON_SRC) lib/node/build.sh lib/node/binding.gyp \
	lib/node/index.d.ts \
	lib/node/tests/run.js doc/node.md
NODE_ADDON_STAMP = lib/node-build/stamp
$(NODE_ADDON_STAMP): $(NODE_ADDON_SRC) lib/node/build.sh include/warmth.h lib/libwarmth.la
	$(AM_V_GEN)$(SHELL) $(srcdir)/lib/node/build.sh $(srcdir)/lib/node \
	  lib/node-build $(abs_top_srcdir)/include $(abs_top_builddir)/lib/.libs \
	  && touch $@
node-addon: $(NODE_ADDON_STAMP)
if !SANITIZED
check_DATA += $(NODE_ADDON_STAMP)
endif
clean-local: clean-node-addon
clean-node-addon:
	rm -rf lib/node-build
.PHONY: node-addon clean-node-addon

# The addon's API against fill-table (lib/node/tests/run.js), and
# node:cluster + PM2 with warmd against the per-process warmer.
dist_check_SCRIPTS += lib/node/tests/run-tests.sh
TESTS += lib/node/tests/run-tests.sh
# Against warmd and the test upstream: not in a worker host's build.
if WARMD
TESTS += tests/integration/test_node.py
endif
EXTRA_DIST += tests/integration/test_node.py tests/integration/node/app.js

# make bench-node: isWarm next to process.hrtime.bigint() and an ioredis
# GET (redis-server started and stopped by the bench).  Not in make check.
# fill-table is one of the helper programs, in tests/helpers/ in the tests'
# layout, tests/ before it.
EXTRA_DIST += tests/bench/bench_node.js
bench-node: $(NODE_ADDON_STAMP) $(noinst_PROGRAMS)
	@test ! -f lib/node-build/SKIP || { cat lib/node-build/SKIP; exit 1; }
	fill=tests/helpers/fill-table; \
	FILL_TABLE=$(abs_top_builddir)/$$fill \
	NODE_PATH=$(abs_top_builddir)/lib/node-build/node_modules \
	WARMTH_NODE=$(abs_top_builddir)/lib/node-build \
	  node $(srcdir)/tests/bench/bench_node.js $(BENCH_ARGS)
.PHONY: bench-node
