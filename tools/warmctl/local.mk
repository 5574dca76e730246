# tools/warmctl rules (included from Makefile.am)

# warmctl: inspect the table (reads shm through libwarmth; works with warmd
# down).  Control commands over warmd's socket will join these sources.
bin_PROGRAMS += tools/warmctl/warmctl
tools_warmctl_warmctl_SOURCES = tools/warmctl/main.c \
	tools/warmctl/inspect.c tools/warmctl/cost.c tools/warmctl/json.c tools/warmctl/format.c \
	tools/warmctl/warmctl.h
tools_warmctl_warmctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_warmctl_warmctl_LDADD = lib/libwarmth.la $(JANSSON_LIBS)
dist_man_MANS += tools/warmctl/warmctl.1

# fill-table: plays the coordinator through the internal writer, for
# test-warmctl.sh and the README demo.  noinst, so `make` builds it too
# (make check needs it as well; a program may live in one primary only).
noinst_PROGRAMS += tests/fill-table
tests_fill_table_SOURCES = tests/fill-table.c
tests_fill_table_LDADD = lib/libwarmth_writer.la

TESTS += tests/test-warmctl.sh
dist_check_SCRIPTS += tests/test-warmctl.sh
