# tools/warmd configuration (included from Makefile.am): the config module
# as a convenience library that warmd links (and its unit test,
# tests/unit/local.mk), the example config and the warmd.conf(5) man page.
noinst_LTLIBRARIES += tools/warmd/libwdconfig.la
tools_warmd_libwdconfig_la_SOURCES = tools/warmd/config.c tools/warmd/conf.h \
	tools/warmd/secret.c tools/warmd/secret.h tools/warmd/warmd.h \
	tools/warmd/fleetproto.c tools/warmd/fleetproto.h \
	tools/warmd/window.c tools/warmd/window.h
tools_warmd_libwdconfig_la_CPPFLAGS = $(AM_CPPFLAGS) $(INIH_CFLAGS)
tools_warmd_libwdconfig_la_LIBADD = tools/common/libwdcommon.la $(INIH_LIBS)

EXTRA_DIST += tools/warmd.conf.example
dist_man_MANS += tools/warmd/warmd.conf.5

