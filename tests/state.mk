# warmd's state file (tools/warmd/state.c): its unit test, on real model
# tables (config, shared segment, publisher) from libwdcore.
check_PROGRAMS += tests/check_state
TESTS += tests/check_state
tests_check_state_SOURCES = tests/check_state.c $(WARMTH_CHECK_SRC)
tests_check_state_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_check_state_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(URCU_CFLAGS) \
	$(MSGPACK_CFLAGS) -pthread
tests_check_state_LDADD = tools/warmd/libwdcore.la $(WARMTH_CHECK_LDADD) \
	$(MSGPACK_LIBS) $(URCU_LIBS)

# The status page's per-model history (tools/warmd/recent.c): its ring and
# today's cost, with a reader thread racing the writer.
check_PROGRAMS += tests/check_recent
TESTS += tests/check_recent
tests_check_recent_SOURCES = tests/check_recent.c $(WARMTH_CHECK_SRC)
tests_check_recent_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_check_recent_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
tests_check_recent_LDADD = tools/warmd/libwdcore.la $(WARMTH_CHECK_LDADD)
