# warmd: the coordinator.  Config and prober are convenience libraries
# (config.mk, probe.mk); the rest is here.
sbin_PROGRAMS += tools/warmd/warmd
noinst_LTLIBRARIES += tools/warmd/libwdcore.la
tools_warmd_libwdcore_la_SOURCES = \
	tools/warmd/loop.c tools/warmd/loop.h \
	tools/warmd/schedule.c tools/warmd/schedule.h \
	tools/warmd/table.c tools/warmd/table.h \
	tools/warmd/publish.c tools/warmd/publish.h \
	tools/warmd/hist.c tools/warmd/hist.h \
	tools/warmd/log.c tools/warmd/log.h \
	tools/warmd/online.c tools/warmd/online.h \
	tools/warmd/daemon.c tools/warmd/daemon.h \
	tools/warmd/events.c tools/warmd/events.h \
	tools/warmd/service.c tools/warmd/service.h \
	tools/warmd/control.c tools/warmd/http.c tools/warmd/http.h \
	tools/warmd/state.c tools/warmd/state.h \
	tools/warmd/ctlcmd.c tools/warmd/ctl.h \
	tools/warmd/metrics.c tools/warmd/metrics.h \
	tools/warmd/statuspage.c tools/warmd/statuspage.h \
	tools/warmd/statusfleet.c tools/warmd/recent.c tools/warmd/recent.h \
	tools/warmd/fleet.c tools/warmd/fleet.h \
	tools/warmd/fleetloop.c tools/warmd/fleetloop.h \
	tools/warmd/rcu.h tools/warmd/warmd.h
tools_warmd_libwdcore_la_CFLAGS = $(AM_CFLAGS) $(URCU_CFLAGS) \
	$(JANSSON_CFLAGS) $(MSGPACK_CFLAGS) $(MHD_CFLAGS) $(HIREDIS_CFLAGS) \
	$(PTHREAD_FLAGS)
tools_warmd_libwdcore_la_LIBADD = lib/libwarmth_writer.la lib/libwarmth.la \
	tools/warmd/libwdconfig.la tools/warmd/libwdprobe.la \
	tools/common/libwdctlproto.la \
	$(URCU_LIBS) $(JANSSON_LIBS) $(MSGPACK_LIBS) $(MHD_LIBS) \
	$(HIREDIS_LIBS) -lm
tools_warmd_libwdcore_la_LDFLAGS = $(PTHREAD_FLAGS)

tools_warmd_warmd_SOURCES = tools/warmd/main.c
tools_warmd_warmd_CPPFLAGS = $(AM_CPPFLAGS) -DSYSCONFDIR='"$(sysconfdir)"'
tools_warmd_warmd_CFLAGS = $(AM_CFLAGS) $(URCU_CFLAGS) $(PTHREAD_FLAGS)
tools_warmd_warmd_LDADD = tools/warmd/libwdcore.la
