/* opts.h - the one option parser of the helper programs (fill-table,
 * table-watch, worker-sim), and the two other things all three need: the
 * monotonic clock and the split of a comma list.
 *
 * Long options only, described by a table; every value is checked (a number
 * must be whole and in range), so a typo in a test's command line fails the
 * helper at once instead of running it with 0.  A bad option or value
 * prints "PROG: why" and the usage on stderr, and the caller exits 2 (the
 * helpers' "usage error" status); --help prints the usage on stdout and
 * exits 0.
 */
#ifndef WARMTH_HELPERS_OPTS_H
#define WARMTH_HELPERS_OPTS_H

#include <stdint.h>

enum hopt_type {
  HOPT_FLAG,    /* no value: *(int *)dst = 1 */
  HOPT_STR,     /* *(const char **)dst = the value (non-empty) */
  HOPT_SECONDS, /* *(double *)dst, a decimal number in [min, max] */
  HOPT_LONG,    /* *(long *)dst, a decimal integer in [min, max] */
  HOPT_CALL,    /* fn(value, ctx): returns 0, or 2 after printing why */
};

struct hopt {
  const char *name; /* without the leading "--" */
  enum hopt_type type;
  void *dst;
  double min, max;                   /* HOPT_SECONDS, HOPT_LONG */
  int (*fn)(char *value, void *ctx); /* HOPT_CALL */
};

/* Parses argv against `opts` (ended by a NULL name), in order, so that a
 * HOPT_CALL may depend on options given before it.  Positional arguments
 * are refused.  Returns 0, or 2 after printing why and `usage`. */
int hopt_parse(const char *prog, const char *usage, const struct hopt *opts,
               int argc, char **argv, void *ctx);

/* Prints "PROG: " and the message on stderr; returns 2, for
 * `return hopt_fail(...)`. */
int hopt_fail(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Splits a comma list in place into names[0..max); empty items are
 * skipped.  Returns the count, or -1 when there are more than max. */
int hopt_split(char *list, char **names, int max);

/* CLOCK_MONOTONIC in ns (Python's time.monotonic_ns(), warmd's clock). */
int64_t hopt_now_ns(void);

#endif /* WARMTH_HELPERS_OPTS_H */
