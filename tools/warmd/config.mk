# tools/warmd configuration (included from Makefile.am): the config module
# as a convenience library that warmd links, its unit test, the example
# config and the warmd.conf(5) man page.
noinst_LTLIBRARIES += tools/warmd/libwdconfig.la
tools_warmd_libwdconfig_la_SOURCES = tools/warmd/config.c tools/warmd/warmd.h \
	tools/warmd/fleetproto.c tools/warmd/fleetproto.h
tools_warmd_libwdconfig_la_CPPFLAGS = $(AM_CPPFLAGS) $(INIH_CFLAGS)
tools_warmd_libwdconfig_la_LIBADD = $(INIH_LIBS)

# The test finds tools/warmd.conf.example through the source tree, which in
# a VPATH build or make distcheck is not the build tree.
check_PROGRAMS += tests/check_config
TESTS += tests/check_config
tests_check_config_SOURCES = tests/check_config.c tools/warmd/warmd.h
tests_check_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd \
	-DWARMTH_TOP_SRCDIR='"$(abs_top_srcdir)"'
tests_check_config_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_config_LDADD = tools/warmd/libwdconfig.la $(CHECK_LIBS)

EXTRA_DIST += tools/warmd.conf.example
dist_man_MANS += tools/warmd/warmd.conf.5

# Fleet mode's pure parts (fleetproto.c: Redis URL, fleet = auto, key names,
# script replies); the Redis side is tested by tests/integration/test_fleet.py.
check_PROGRAMS += tests/check_fleet
TESTS += tests/check_fleet
tests_check_fleet_SOURCES = tests/check_fleet.c
tests_check_fleet_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_check_fleet_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_check_fleet_LDADD = tools/warmd/libwdconfig.la $(CHECK_LIBS)
