# tools/warmd prober rules (included from Makefile.am)
# libwdprobe: the prober (libcurl multi) and the reply parsers (jansson), a
# convenience library that the warmd binary and the tests link.
noinst_LTLIBRARIES += tools/warmd/libwdprobe.la
tools_warmd_libwdprobe_la_SOURCES = tools/warmd/probe.c tools/warmd/reply.c \
	tools/warmd/reply.h tools/warmd/probe.h tools/warmd/warmd.h
tools_warmd_libwdprobe_la_CFLAGS = $(AM_CFLAGS) $(PTHREAD_FLAGS) \
	$(CURL_CFLAGS) $(JANSSON_CFLAGS)
tools_warmd_libwdprobe_la_LIBADD = tools/common/libwdcommon.la $(CURL_LIBS) \
	$(JANSSON_LIBS)

check_PROGRAMS += tests/check_reply tests/check_probe
TESTS += tests/check_reply tests/check_probe

tests_check_reply_SOURCES = tests/check_reply.c
tests_check_reply_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_check_reply_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CURL_CFLAGS) \
	$(JANSSON_CFLAGS)
tests_check_reply_LDFLAGS = $(AM_LDFLAGS) $(PTHREAD_FLAGS)
tests_check_reply_LDADD = tools/warmd/libwdprobe.la $(CHECK_LIBS) \
	$(CURL_LIBS) $(JANSSON_LIBS)

tests_check_probe_SOURCES = tests/check_probe.c
tests_check_probe_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tools/warmd
tests_check_probe_CFLAGS = $(AM_CFLAGS) $(PTHREAD_FLAGS) $(CHECK_CFLAGS) \
	$(CURL_CFLAGS) $(JANSSON_CFLAGS)
tests_check_probe_LDFLAGS = $(AM_LDFLAGS) $(PTHREAD_FLAGS)
tests_check_probe_LDADD = tools/warmd/libwdprobe.la $(CHECK_LIBS) \
	$(CURL_LIBS) $(JANSSON_LIBS)
