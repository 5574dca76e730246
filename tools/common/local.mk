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
# warmctl both link (msgpack-c stays out of libwarmth), its unit test, and
# the fuzz targets (built and run by tests/fuzz/run.sh with clang, outside
# automake).
noinst_LTLIBRARIES += tools/common/libwdctlproto.la
tools_common_libwdctlproto_la_SOURCES = tools/common/ctlproto.c \
	tools/common/ctlproto.h
tools_common_libwdctlproto_la_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS)
tools_common_libwdctlproto_la_LIBADD = tools/common/libwdcommon.la \
	$(MSGPACK_LIBS)

check_PROGRAMS += tests/check_ctlproto
TESTS += tests/check_ctlproto
tests_check_ctlproto_SOURCES = tests/check_ctlproto.c
tests_check_ctlproto_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_check_ctlproto_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(MSGPACK_CFLAGS)
tests_check_ctlproto_LDADD = tools/common/libwdctlproto.la \
	tools/warmd/libwdconfig.la $(CHECK_LIBS)

# Directories in EXTRA_DIST are copied whole: the seed corpora.
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/fuzz_ctlproto.c \
	tests/fuzz/fuzz_config.c tests/fuzz/corpus-ctlproto \
	tests/fuzz/corpus-config
