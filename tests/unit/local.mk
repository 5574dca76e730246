# tests/unit rules (included from Makefile.am): every Check unit test of the
# project, of lib/ and of tools/warmd alike.  Nothing under lib/ or tools/
# builds a test; the modules under test are linked from their convenience
# libraries.
#
# One check_<module> program per module (STYLE.md), each with its own Suite
# (a "core" and a "limits" TCase for lib/), all run by the one runner,
# tu_run() in check_run.c, in Check's fork mode.  check_run.c and
# check_util.c are compiled into those that use them: a shared test library
# would need check_LTLIBRARIES, a variable other fragments may want to own.
# access: who may read/write the segments; attach: handle lifetime (fork,
# re-attach, stale); index: republication under concurrent readers;
# segment: validation of bad segments.
WARMTH_LIB_CHECKS = \
	tests/unit/check_layout \
	tests/unit/check_seqlock \
	tests/unit/check_lookup \
	tests/unit/check_index \
	tests/unit/check_segment \
	tests/unit/check_access \
	tests/unit/check_attach \
	tests/unit/check_demand \
	tests/unit/check_writer \
	tests/unit/check_errors \
	tests/unit/check_model

# Check is needed with warmd; with --disable-warmd these run when it is
# installed (configure says when it is not).
if HAVE_CHECK
check_PROGRAMS += $(WARMTH_LIB_CHECKS)
TESTS += $(WARMTH_LIB_CHECKS)
endif

# Every test runs through check_run.c (tu_run: check_run.h); the lib/
# tests also share check_util.c.
WARMTH_CHECK_RUN = tests/unit/check_run.c tests/unit/check_run.h
WARMTH_CHECK_SRC = tests/unit/check_util.c tests/unit/check_util.h \
	$(WARMTH_CHECK_RUN)
WARMTH_CHECK_LDADD = lib/libwarmth.la lib/libwarmth_writer.la $(CHECK_LIBS)

tests_unit_check_layout_SOURCES = tests/unit/check_layout.c $(WARMTH_CHECK_SRC)
tests_unit_check_layout_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_layout_LDADD = $(WARMTH_CHECK_LDADD)

tests_unit_check_seqlock_SOURCES = tests/unit/check_seqlock.c $(WARMTH_CHECK_SRC)
tests_unit_check_seqlock_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_seqlock_LDADD = $(WARMTH_CHECK_LDADD)

tests_unit_check_lookup_SOURCES = tests/unit/check_lookup.c $(WARMTH_CHECK_SRC)
tests_unit_check_lookup_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_lookup_LDADD = $(WARMTH_CHECK_LDADD)

tests_unit_check_index_SOURCES = tests/unit/check_index.c $(WARMTH_CHECK_SRC)
tests_unit_check_index_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_index_LDADD = $(WARMTH_CHECK_LDADD)

tests_unit_check_segment_SOURCES = tests/unit/check_segment.c $(WARMTH_CHECK_SRC)
tests_unit_check_segment_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_segment_LDADD = $(WARMTH_CHECK_LDADD)

tests_unit_check_access_SOURCES = tests/unit/check_access.c $(WARMTH_CHECK_SRC)
tests_unit_check_access_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_access_LDADD = $(WARMTH_CHECK_LDADD)

tests_unit_check_attach_SOURCES = tests/unit/check_attach.c $(WARMTH_CHECK_SRC)
tests_unit_check_attach_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_attach_LDADD = $(WARMTH_CHECK_LDADD)

tests_unit_check_model_SOURCES = tests/unit/check_model.c $(WARMTH_CHECK_SRC)
tests_unit_check_model_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_model_LDADD = $(WARMTH_CHECK_LDADD)

tests_unit_check_demand_SOURCES = tests/unit/check_demand.c $(WARMTH_CHECK_SRC)
tests_unit_check_demand_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_demand_LDADD = $(WARMTH_CHECK_LDADD)

tests_unit_check_writer_SOURCES = tests/unit/check_writer.c $(WARMTH_CHECK_SRC)
tests_unit_check_writer_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_writer_LDADD = $(WARMTH_CHECK_LDADD)

tests_unit_check_errors_SOURCES = tests/unit/check_errors.c $(WARMTH_CHECK_SRC)
tests_unit_check_errors_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_errors_LDADD = $(WARMTH_CHECK_LDADD)

# ---- tools/warmd -----------------------------------------------------------
# Each links the convenience library of its module; -I tools/warmd for the
# module's header.  Not with --disable-warmd.
if WARMD

# config (tools/warmd/config.c).  The test finds tools/warmd.conf.example
# through the source tree, which in a VPATH build or make distcheck is not
# the build tree.
check_PROGRAMS += tests/unit/check_config
TESTS += tests/unit/check_config
tests_unit_check_config_SOURCES = tests/unit/check_config.c tools/warmd/warmd.h \
	$(WARMTH_CHECK_RUN)
tests_unit_check_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd \
	-DWARMTH_TOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_check_config_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_config_LDADD = tools/warmd/libwdconfig.la $(CHECK_LIBS)

# Fleet mode's pure parts (tools/warmd/fleetproto.c: the Redis URL, fleet =
# auto, key names, script replies) and the [fleet] section of the config;
# the Redis side is tested by tests/integration/test_fleet*.py.
check_PROGRAMS += tests/unit/check_fleet
TESTS += tests/unit/check_fleet
tests_unit_check_fleet_SOURCES = tests/unit/check_fleet.c $(WARMTH_CHECK_RUN)
tests_unit_check_fleet_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_unit_check_fleet_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_fleet_LDADD = tools/warmd/libwdconfig.la $(CHECK_LIBS)

# The control protocol's codec (tools/common/ctlproto.c).
check_PROGRAMS += tests/unit/check_ctlproto
TESTS += tests/unit/check_ctlproto
tests_unit_check_ctlproto_SOURCES = tests/unit/check_ctlproto.c \
	$(WARMTH_CHECK_RUN)
tests_unit_check_ctlproto_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_unit_check_ctlproto_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(MSGPACK_CFLAGS)
tests_unit_check_ctlproto_LDADD = tools/common/libwdctlproto.la \
	tools/warmd/libwdconfig.la $(CHECK_LIBS)

# The reply parsers and the prober (tools/warmd/reply.c, probe.c).
check_PROGRAMS += tests/unit/check_reply tests/unit/check_probe
TESTS += tests/unit/check_reply tests/unit/check_probe

tests_unit_check_reply_SOURCES = tests/unit/check_reply.c $(WARMTH_CHECK_RUN)
tests_unit_check_reply_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_unit_check_reply_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CURL_CFLAGS) \
	$(JANSSON_CFLAGS)
tests_unit_check_reply_LDFLAGS = $(AM_LDFLAGS) $(PTHREAD_FLAGS)
tests_unit_check_reply_LDADD = tools/warmd/libwdprobe.la $(CHECK_LIBS) \
	$(CURL_LIBS) $(JANSSON_LIBS)

check_PROGRAMS += tests/unit/check_prov_local
TESTS += tests/unit/check_prov_local
tests_unit_check_prov_local_SOURCES = tests/unit/check_prov_local.c \
	$(WARMTH_CHECK_RUN)
tests_unit_check_prov_local_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/tools/warmd
tests_unit_check_prov_local_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	$(CURL_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_check_prov_local_LDFLAGS = $(AM_LDFLAGS) $(PTHREAD_FLAGS)
tests_unit_check_prov_local_LDADD = tools/warmd/libwdprobe.la $(CHECK_LIBS) \
	$(CURL_LIBS) $(JANSSON_LIBS)

tests_unit_check_probe_SOURCES = tests/unit/check_probe.c $(WARMTH_CHECK_RUN)
tests_unit_check_probe_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_unit_check_probe_CFLAGS = $(AM_CFLAGS) $(PTHREAD_FLAGS) $(CHECK_CFLAGS) \
	$(CURL_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_check_probe_LDFLAGS = $(AM_LDFLAGS) $(PTHREAD_FLAGS)
tests_unit_check_probe_LDADD = tools/warmd/libwdprobe.la $(CHECK_LIBS) \
	$(CURL_LIBS) $(JANSSON_LIBS)

# warmd's state file (tools/warmd/state.c), on real model tables (config,
# shared segment, publisher) from libwdcore.
check_PROGRAMS += tests/unit/check_state
TESTS += tests/unit/check_state
tests_unit_check_state_SOURCES = tests/unit/check_state.c $(WARMTH_CHECK_SRC)
tests_unit_check_state_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_unit_check_state_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(URCU_CFLAGS) \
	$(MSGPACK_CFLAGS) $(PTHREAD_FLAGS)
tests_unit_check_state_LDADD = tools/warmd/libwdcore.la $(WARMTH_CHECK_LDADD) \
	$(MSGPACK_LIBS) $(URCU_LIBS)

# The status page's per-model history (tools/warmd/recent.c): its ring and
# today's cost, with a reader thread racing the writer.
check_PROGRAMS += tests/unit/check_recent
TESTS += tests/unit/check_recent
tests_unit_check_recent_SOURCES = tests/unit/check_recent.c $(WARMTH_CHECK_SRC)
tests_unit_check_recent_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_unit_check_recent_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PTHREAD_FLAGS)
tests_unit_check_recent_LDADD = tools/warmd/libwdcore.la $(WARMTH_CHECK_LDADD)

# warmd's scheduling decisions (tools/warmd/schedule.c), time driven by
# hand: no table, no thread, no sleep.
check_PROGRAMS += tests/unit/check_schedule
TESTS += tests/unit/check_schedule
tests_unit_check_schedule_SOURCES = tests/unit/check_schedule.c \
	$(WARMTH_CHECK_SRC)
tests_unit_check_schedule_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_unit_check_schedule_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(URCU_CFLAGS)
tests_unit_check_schedule_LDADD = tools/warmd/libwdcore.la \
	$(WARMTH_CHECK_LDADD) $(URCU_LIBS)

# warmd's model table (tools/warmd/table.c): reload matching (renames,
# removals, additions, reordering) and slots freed by a reload coming back.
check_PROGRAMS += tests/unit/check_table
TESTS += tests/unit/check_table
tests_unit_check_table_SOURCES = tests/unit/check_table.c $(WARMTH_CHECK_SRC)
tests_unit_check_table_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_unit_check_table_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(URCU_CFLAGS) \
	$(MSGPACK_CFLAGS) $(PTHREAD_FLAGS)
tests_unit_check_table_LDADD = tools/warmd/libwdcore.la $(WARMTH_CHECK_LDADD) \
	$(URCU_LIBS)
endif
