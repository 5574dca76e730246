/* opts.c - the helpers' option parser (see opts.h). */
#define _GNU_SOURCE
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* More options than any helper has; getopt_long needs its own table. */
#define HOPT_MAX 32

int hopt_fail(const char *prog, const char *fmt, ...) {
  int e = errno; /* for a %m in fmt: fprintf may change it */
  va_list ap;
  fprintf(stderr, "%s: ", prog);
  errno = e;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return 2;
}

/* A whole decimal number (strtod accepts "1e3" and "0x10" as well, which
 * no test means). */
static int number(const char *s, double *out) {
  char *end;
  if (!*s || strchr(s, 'x') || strchr(s, 'X'))
    return -1;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

static int value(const char *prog, const struct hopt *o, char *arg, void *ctx) {
  double v;
  switch (o->type) {
  case HOPT_FLAG:
    *(int *)o->dst = 1;
    return 0;
  case HOPT_STR:
    if (!*arg)
      return hopt_fail(prog, "--%s needs a value", o->name);
    *(const char **)o->dst = arg;
    return 0;
  case HOPT_SECONDS:
    if (number(arg, &v) || v < o->min || v > o->max)
      return hopt_fail(prog, "bad --%s '%s' (seconds, %g to %g)", o->name, arg,
                       o->min, o->max);
    *(double *)o->dst = v;
    return 0;
  case HOPT_LONG:
    if (number(arg, &v) || v < o->min || v > o->max || v != (double)(long)v)
      return hopt_fail(prog, "bad --%s '%s' (a whole number, %.0f to %.0f)",
                       o->name, arg, o->min, o->max);
    *(long *)o->dst = (long)v;
    return 0;
  case HOPT_CALL:
    return o->fn(arg, ctx);
  }
  return hopt_fail(prog, "--%s: unknown option type", o->name);
}

int hopt_parse(const char *prog, const char *usage, const struct hopt *opts,
               int argc, char **argv, void *ctx) {
  struct option lo[HOPT_MAX + 2];
  int n = 0;
  for (; opts[n].name; n++) {
    if (n == HOPT_MAX)
      return hopt_fail(prog, "more than %d options", HOPT_MAX);
    lo[n] = (struct option){
        opts[n].name,
        opts[n].type == HOPT_FLAG ? no_argument : required_argument, NULL, n};
  }
  lo[n] = (struct option){"help", no_argument, NULL, n};
  lo[n + 1] = (struct option){NULL, 0, NULL, 0};
  int c, rc;
  opterr = 0; /* our message, with the usage */
  optind = 1;
  /* ":" first: a missing value returns ':', an unknown option '?'. */
  while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
    if (c == n) {
      fputs(usage, stdout);
      exit(0);
    }
    if (c < 0 || c > n) {
      hopt_fail(prog, c == ':' ? "%s needs a value" : "bad option '%s'",
                argv[optind - 1]);
      fputs(usage, stderr);
      return 2;
    }
    if ((rc = value(prog, &opts[c], optarg, ctx)))
      return rc;
  }
  if (optind < argc)
    return hopt_fail(prog, "unexpected argument '%s'", argv[optind]);
  return 0;
}

int hopt_split(char *list, char **names, int max) {
  int n = 0;
  for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    if (n == max)
      return -1;
    names[n++] = t;
  }
  return n;
}

int64_t hopt_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
