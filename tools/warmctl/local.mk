# tools/warmctl rules (included from Makefile.am)

# warmctl: inspect the table (reads shm through libwarmth; works with warmd
# down), and control warmd over its socket.
bin_PROGRAMS += tools/warmctl/warmctl
tools_warmctl_warmctl_SOURCES = tools/warmctl/main.c \
	tools/warmctl/inspect.c tools/warmctl/cost.c tools/warmctl/json.c \
	tools/warmctl/format.c tools/warmctl/ctlclient.c tools/warmctl/ctlcmds.c \
	tools/warmctl/warmctl.h
# Control commands: the protocol codec, and the one-key config reader
# (tools/common/inipeek.c) to find the socket from -c CONFIG.
tools_warmctl_warmctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(MSGPACK_CFLAGS)
tools_warmctl_warmctl_LDADD = lib/libwarmth.la \
	tools/common/libwdctlproto.la tools/common/libwdcommon.la $(JANSSON_LIBS)
dist_man_MANS += tools/warmctl/warmctl.1
