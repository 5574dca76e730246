# libwarmth: the reader library (libc only).  The writer is a convenience
# library for warmd and the tests, never part of libwarmth.so.
lib_LTLIBRARIES += lib/libwarmth.la
lib_libwarmth_la_SOURCES = lib/reader.c lib/layout.h lib/dsock.h \
	lib/vdso.c lib/vdso.h include/warmth.h
lib_libwarmth_la_CPPFLAGS = $(AM_CPPFLAGS) -DWARMTH_BUILDING
lib_libwarmth_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
lib_libwarmth_la_LDFLAGS = $(AM_LDFLAGS) -no-undefined \
	-version-info $(WARMTH_LT_VERSION) -export-symbols-regex '^warmth_[a-z]'

noinst_LTLIBRARIES += lib/libwarmth_writer.la
lib_libwarmth_writer_la_SOURCES = lib/writer.c lib/writer.h lib/layout.h \
	lib/dsock.c lib/dsock.h

include_HEADERS += include/warmth.h
pkgconfig_DATA += lib/libwarmth.pc
EXTRA_DIST += lib/libwarmth.pc.in
