# tests/upstream rules (included from Makefile.am)
#
# warmth-upstream: a fake OpenAI / Anthropic API on loopback.  Built by a
# plain `make` (the README demo runs it) but never installed.
noinst_PROGRAMS += tests/upstream/warmth-upstream
tests_upstream_warmth_upstream_SOURCES = \
	tests/upstream/upstream.h \
	tests/upstream/upstream.c \
	tests/upstream/options.c \
	tests/upstream/models.c \
	tests/upstream/faults.c \
	tests/upstream/ratelimit.c \
	tests/upstream/api.c \
	tests/upstream/azure.c \
	tests/upstream/gemini.c \
	tests/upstream/handlers.c \
	tests/upstream/respond.c \
	tests/upstream/ollama.c \
	tests/upstream/vllm.c
tests_upstream_warmth_upstream_CFLAGS = $(AM_CFLAGS) $(PTHREAD_FLAGS) \
	$(MHD_CFLAGS) $(JANSSON_CFLAGS)
tests_upstream_warmth_upstream_LDADD = $(MHD_LIBS) $(JANSSON_LIBS)
tests_upstream_warmth_upstream_LDFLAGS = $(AM_LDFLAGS) $(PTHREAD_FLAGS)

# The smoke test: the shell wrapper finds the binary (build dir) and the
# Python driver (source dir), so it works in VPATH builds and distcheck.
TESTS += tests/upstream/test-upstream.sh
dist_check_SCRIPTS += tests/upstream/test-upstream.sh
EXTRA_DIST += tests/upstream/test_upstream.py
