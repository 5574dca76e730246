# The control protocol (included from Makefile.am): its codec as a
# convenience library that warmd and warmctl both link (msgpack-c stays out
# of libwarmth).  Its unit test is in tests/unit/local.mk, its fuzz target
# in tests/fuzz.
noinst_LTLIBRARIES += tools/warmd/libwdctlproto.la
tools_warmd_libwdctlproto_la_SOURCES = tools/warmd/ctlproto.c \
	tools/warmd/ctlproto.h
tools_warmd_libwdctlproto_la_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS)
tools_warmd_libwdctlproto_la_LIBADD = $(MSGPACK_LIBS)
