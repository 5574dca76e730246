# The control protocol (included from Makefile.am): its codec as a
# convenience library that warmd and warmctl both link (msgpack-c stays out
# of libwarmth), its unit test, and the fuzz targets (built and run by
# tests/fuzz/run.sh with clang, outside automake).
noinst_LTLIBRARIES += tools/warmd/libwdctlproto.la
tools_warmd_libwdctlproto_la_SOURCES = tools/warmd/ctlproto.c \
	tools/warmd/ctlproto.h
tools_warmd_libwdctlproto_la_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS)
tools_warmd_libwdctlproto_la_LIBADD = $(MSGPACK_LIBS)

check_PROGRAMS += tests/check_ctlproto
TESTS += tests/check_ctlproto
tests_check_ctlproto_SOURCES = tests/check_ctlproto.c
tests_check_ctlproto_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_check_ctlproto_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(MSGPACK_CFLAGS)
tests_check_ctlproto_LDADD = tools/warmd/libwdctlproto.la \
	tools/warmd/libwdconfig.la $(CHECK_LIBS)

# Directories in EXTRA_DIST are copied whole: the seed corpora.
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/fuzz_ctlproto.c \
	tests/fuzz/fuzz_config.c tests/fuzz/corpus-ctlproto \
	tests/fuzz/corpus-config
