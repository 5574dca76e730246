# tools/warmd prober rules (included from Makefile.am)
# libwdprobe: the prober (libcurl multi) and the reply parsers (jansson), a
# convenience library that the warmd binary and the tests link
# (tests/unit/local.mk).
noinst_LTLIBRARIES += tools/warmd/libwdprobe.la
# One file per provider (provider.h): prov_WORD.c for each row of
# WD_PROVIDERS in conf.h.
tools_warmd_libwdprobe_la_SOURCES = tools/warmd/probe.c tools/warmd/reply.c \
	tools/warmd/reply.h tools/warmd/probe.h tools/warmd/warmd.h \
	tools/warmd/provider.c tools/warmd/provider.h \
	tools/warmd/prov_openai.c tools/warmd/prov_anthropic.c \
	tools/warmd/prov_azure.c tools/warmd/prov_gemini.c \
	tools/warmd/prov_ollama.c tools/warmd/prov_vllm.c tools/warmd/prov_local.h
tools_warmd_libwdprobe_la_CFLAGS = $(AM_CFLAGS) $(PTHREAD_FLAGS) \
	$(CURL_CFLAGS) $(JANSSON_CFLAGS)
tools_warmd_libwdprobe_la_LIBADD = tools/common/libwdcommon.la $(CURL_LIBS) \
	$(JANSSON_LIBS)
