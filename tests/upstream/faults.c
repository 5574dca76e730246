/* Fault specs: parsing "KIND[:ARG]", printing them back, and choosing the
 * fault for one request (flaky faults count the model's requests). */
#include "config.h"

#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *name;
  enum up_fault_kind kind;
  long def;      /* ARG when none is given */
  long min, max; /* accepted ARG range */
  bool takes_arg;
} kinds[] = {
    {"none", UP_FAULT_NONE, 0, 0, 0, false},
    {"429", UP_FAULT_429, 2, 0, 86400, true},
    {"429date", UP_FAULT_429DATE, 2, 0, 86400, true},
    {"500", UP_FAULT_500, 0, 0, 0, false},
    {"503", UP_FAULT_503, 2, 0, 86400, true},
    {"401", UP_FAULT_401, 0, 0, 0, false},
    {"timeout", UP_FAULT_TIMEOUT, 0, 0, 0, false},
    /* 10 s per chunk at most: shutdown waits for a slow body to finish */
    {"slow", UP_FAULT_SLOW, 200, 0, 10000, true},
    /* 8 MiB: above any sane reply cap, small enough to send quickly */
    {"big", UP_FAULT_BIG, 8L << 20, 64, 1L << 30, true},
    {"badjson", UP_FAULT_BADJSON, 0, 0, 0, false},
    {"reset", UP_FAULT_RESET, 0, 0, 0, false},
    {"flaky", UP_FAULT_FLAKY, 2, 1, 1000000, true},
    {"absurd", UP_FAULT_ABSURD, 0, 0, 0, false},
    {"echokey", UP_FAULT_ECHOKEY, 18, 1, 1024, true},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* Accepts a plain count or one with a k/K/m/M suffix (powers of 1024). */
static int parse_arg(const char *s, long *out) {
  char buf[32];
  size_t n = strlen(s);
  long mult = 1;
  if (n == 0 || n >= sizeof buf)
    return -1;
  memcpy(buf, s, n + 1);
  if (strchr("kK", buf[n - 1]))
    mult = 1024;
  else if (strchr("mM", buf[n - 1]))
    mult = 1024 * 1024;
  if (mult > 1)
    buf[n - 1] = 0;
  long v;
  if (up_parse_long(buf, 0, (1L << 40) / mult, &v) != 0)
    return -1;
  *out = v * mult;
  return 0;
}

int up_fault_parse(const char *spec, const char *arg, struct up_fault *out,
                   const char **err) {
  char name[16];
  const char *colon = strchr(spec, ':');
  size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
  if (!arg && colon)
    arg = colon + 1;
  if (n >= sizeof name) {
    *err = "unknown fault kind";
    return -1;
  }
  memcpy(name, spec, n);
  name[n] = 0;
  for (size_t i = 0; i < NKINDS; i++) {
    if (strcmp(kinds[i].name, name) != 0)
      continue;
    long v = kinds[i].def;
    if (arg && *arg) {
      if (!kinds[i].takes_arg) {
        *err = "this fault kind takes no argument";
        return -1;
      }
      if (parse_arg(arg, &v) != 0 || v < kinds[i].min || v > kinds[i].max) {
        *err = "argument out of range";
        return -1;
      }
    }
    out->kind = kinds[i].kind;
    out->arg = v;
    return 0;
  }
  *err = "unknown fault kind (none, 429, 429date, 500, 503, 401, timeout, "
         "slow, big, badjson, reset, flaky, absurd, echokey)";
  return -1;
}

void up_fault_format(const struct up_fault *f, char *buf, size_t n) {
  for (size_t i = 0; i < NKINDS; i++) {
    if (kinds[i].kind != f->kind)
      continue;
    if (kinds[i].takes_arg)
      snprintf(buf, n, "%s:%ld", kinds[i].name, f->arg);
    else
      snprintf(buf, n, "%s", kinds[i].name);
    return;
  }
  snprintf(buf, n, "?");
}

struct up_fault up_fault_pick(struct up_model *m) {
  struct up_fault f = m->fault;
  if (f.kind == UP_FAULT_NONE)
    f = up_model_star()->fault;
  if (f.kind == UP_FAULT_FLAKY) {
    /* counted per model even for a "*" fault, so N means N of this
     * model's requests whatever other models do */
    uint64_t n = ++m->flaky_n;
    f.kind = n % (uint64_t)f.arg == 0 ? UP_FAULT_500 : UP_FAULT_NONE;
    f.arg = 0;
  }
  return f;
}
