# tools/common: what warmd and warmctl share (included from Makefile.am).
# libwdcommon: clocks, error buffers, defaults (util), the value grammar of
# warmd.conf(5) (units) and the one-key config reader warmctl uses to find
# the control socket (inipeek); libc only.
noinst_LTLIBRARIES += tools/common/libwdcommon.la
tools_common_libwdcommon_la_SOURCES = \
	tools/common/util.c tools/common/util.h \
	tools/common/units.c tools/common/units.h \
	tools/common/inipeek.c tools/common/inipeek.h

# The control protocol: its codec as a convenience library that warmd and
# warmctl both link (msgpack-c stays out of libwarmth).  Its unit test is in
# tests/unit/local.mk, its fuzz target in tests/fuzz.
noinst_LTLIBRARIES += tools/common/libwdctlproto.la
tools_common_libwdctlproto_la_SOURCES = tools/common/ctlproto.c \
	tools/common/ctlproto.h
tools_common_libwdctlproto_la_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS)
tools_common_libwdctlproto_la_LIBADD = tools/common/libwdcommon.la \
	$(MSGPACK_LIBS)

