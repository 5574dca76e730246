dnl config.m4 - the PHP extension of libwarmth (see doc/php.md).
dnl
dnl   phpize && ./configure [--with-warmth=PREFIX] && make
dnl
dnl PREFIX holds include/warmth.h and lib/libwarmth.so (default: the
dnl compiler's own paths, e.g. /usr with libwarmth-dev).  A build against an
dnl uninstalled tree passes CPPFLAGS=-I.../include and LDFLAGS=-L.../lib/.libs
dnl instead (lib/php/ext/build.sh does).

PHP_ARG_WITH([warmth],
  [for the warmth extension],
  [AS_HELP_STRING([[--with-warmth[=PREFIX]]],
    [Read the warmth table of warmd (libwarmth under PREFIX)])])

if test "$PHP_WARMTH" != "no"; then
  if test "$PHP_WARMTH" != "yes"; then
    PHP_ADD_INCLUDE([$PHP_WARMTH/include])
    PHP_ADD_LIBRARY_WITH_PATH([warmth], [$PHP_WARMTH/lib], [WARMTH_SHARED_LIBADD])
  else
    PHP_ADD_LIBRARY([warmth], [1], [WARMTH_SHARED_LIBADD])
  fi
  AC_CHECK_HEADER([warmth.h], [],
    [AC_MSG_ERROR([warmth.h not found: install libwarmth-dev or pass --with-warmth=PREFIX])])
  PHP_CHECK_LIBRARY([warmth], [warmth_open], [],
    [AC_MSG_ERROR([libwarmth not found: install libwarmth-dev or pass --with-warmth=PREFIX])],
    [$WARMTH_SHARED_LIBADD])
  dnl Resolved model handles arrived in libwarmth 0.2; before, by name.
  PHP_CHECK_LIBRARY([warmth], [warmth_resolve],
    [AC_DEFINE([HAVE_WARMTH_RESOLVE], [1], [libwarmth has warmth_resolve])], [],
    [$WARMTH_SHARED_LIBADD])
  PHP_SUBST([WARMTH_SHARED_LIBADD])
  PHP_NEW_EXTENSION([warmth], [warmth.c], [$ext_shared])
  PHP_ADD_EXTENSION_DEP([warmth], [spl])
fi
