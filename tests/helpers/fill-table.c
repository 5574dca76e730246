/* fill-table.c - make a warmth table with plausible records, for tests and
 * the README demo, without warmd.
 *
 *   fill-table --shm NAME --models a,b,c [--capacity N] [--warm a,b]
 *              [--failing c] [--hold SECONDS] [--stale] [--stale-after S]
 *              [--retire] [--keep] [--demo] [--verbose]
 *   fill-table --shm NAME --remove
 *
 * It plays the coordinator through the internal writer API: creates the
 * segment, adds the models, publishes, heartbeats every 100 ms while it
 * holds, and at the end (after --hold, or on SIGTERM / SIGINT) unlinks the
 * segment.  Exit status 0, or 2 with a message on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "opts.h"
#include "writer.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL
#define TICK_NS (100 * NS_PER_MS)
#define HOLD_MAX_S 3600.0 /* a forgotten helper must not live forever */
#define MAX_MODELS 1024
#define WARM_TTL_NS (300 * NS_PER_S)
/* With --stale and no --stale-after: a bound tests can outwait quickly. */
#define STALE_TEST_NS (100 * NS_PER_MS)

enum { K_OTHER, K_WARM, K_FAILING };

struct model {
  char *name;
  int kind;
  uint32_t slot;
  uint32_t base_us; /* demo: typical latency of this model */
  int64_t next_probe;
};

struct opts {
  const char *shm;
  struct model m[MAX_MODELS];
  int n;
  uint32_t capacity;
  double hold_s;
  double stale_after_s;
  int stale, retire, keep, demo, verbose, remove;
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = sig; }

/* Reachable at exit on purpose: with --keep the table is left mapped and
 * live-looking, which LeakSanitizer must not count as a leak. */
static struct warmth__w *table;

static int die(const char *fmt, const char *arg) {
  return hopt_fail("fill-table", fmt, arg);
}

static const char usage[] =
    "Usage: fill-table --shm NAME --models a,b,c [--capacity N]\n"
    "         [--warm a,b] [--failing c] [--hold SECONDS (default 2)]\n"
    "         [--stale] [--stale-after SECONDS] [--retire] [--keep]\n"
    "         [--demo] [--verbose]\n"
    "       fill-table --shm NAME --remove\n";

static int find_model(const struct opts *o, const char *name) {
  for (int i = 0; i < o->n; i++)
    if (strcmp(o->m[i].name, name) == 0)
      return i;
  return -1;
}

static int add_models(char *list, void *ctx) {
  struct opts *o = ctx;
  char *names[MAX_MODELS];
  int n = hopt_split(list, names, MAX_MODELS - o->n);
  if (n < 0)
    return die("too many models (at most %s)", "1024");
  for (int i = 0; i < n; i++) {
    if (find_model(o, names[i]) >= 0)
      return die("model '%s' listed twice", names[i]);
    o->m[o->n++].name = names[i];
  }
  return 0;
}

static int set_kind(struct opts *o, char *list, int kind) {
  char *names[MAX_MODELS];
  int n = hopt_split(list, names, MAX_MODELS);
  if (n < 0)
    return die("too many models (at most %s)", "1024");
  for (int i = 0; i < n; i++) {
    int m = find_model(o, names[i]);
    if (m < 0)
      return die("'%s' is not among --models (give --models first)", names[i]);
    o->m[m].kind = kind;
  }
  return 0;
}
static int set_warm(char *list, void *ctx) {
  return set_kind(ctx, list, K_WARM);
}
static int set_failing(char *list, void *ctx) {
  return set_kind(ctx, list, K_FAILING);
}

static int parse(int argc, char **argv, struct opts *o) {
  long capacity = 0;
  const struct hopt opts[] = {
      {"shm", HOPT_STR, &o->shm, 0, 0, NULL},
      {"models", HOPT_CALL, NULL, 0, 0, add_models},
      {"capacity", HOPT_LONG, &capacity, 1, 1 << 20, NULL},
      {"warm", HOPT_CALL, NULL, 0, 0, set_warm},
      {"failing", HOPT_CALL, NULL, 0, 0, set_failing},
      {"hold", HOPT_SECONDS, &o->hold_s, 0, HOLD_MAX_S, NULL},
      {"stale", HOPT_FLAG, &o->stale, 0, 0, NULL},
      /* > 0: 0 would mean "the writer's default", not what was asked. */
      {"stale-after", HOPT_SECONDS, &o->stale_after_s, 1e-3, HOLD_MAX_S, NULL},
      {"retire", HOPT_FLAG, &o->retire, 0, 0, NULL},
      {"keep", HOPT_FLAG, &o->keep, 0, 0, NULL},
      {"demo", HOPT_FLAG, &o->demo, 0, 0, NULL},
      {"verbose", HOPT_FLAG, &o->verbose, 0, 0, NULL},
      {"remove", HOPT_FLAG, &o->remove, 0, 0, NULL},
      {NULL, 0, NULL, 0, 0, NULL},
  };
  int rc = hopt_parse("fill-table", usage, opts, argc, argv, o);
  if (rc)
    return rc;
  o->capacity = (uint32_t)capacity;
  if (!o->shm)
    return die("%s", "--shm NAME is required");
  if (!o->remove && o->n == 0)
    return die("%s", "--models is required");
  if (o->capacity && o->capacity < (uint32_t)o->n)
    return die("%s", "--capacity is smaller than the number of models");
  return 0;
}

/* ---- records ------------------------------------------------------------ */

static uint32_t rnd(uint32_t *state) { /* xorshift32: demo jitter only */
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *state = x;
}

/* A successful warmup of latency `lat_us`: parts in the proportions a TLS
 * API call shows (first byte dominates), tokens of a tiny chat probe with a
 * cached prefix, at gpt-4o-mini-like prices (0.15 / 0.60 USD per M). */
static void probe_ok(struct warmth__payload *p, uint32_t lat_us, int64_t now) {
  p->state = WARMTH_WARM;
  p->warm_until = now + WARM_TTL_NS;
  p->last_probe = p->last_ok = now;
  p->successes++;
  p->fails_in_row = 0;
  p->dns_us = lat_us / 100 + 200;
  p->connect_us = lat_us / 40 + 1000;
  p->tls_us = lat_us / 15 + 3000;
  p->ttfb_us = lat_us - p->dns_us - p->connect_us - p->tls_us - lat_us / 50;
  p->last_latency_us = lat_us;
  p->ewma_latency_us = p->ewma_latency_us
                           ? (uint32_t)(0.8 * p->ewma_latency_us + 0.2 * lat_us)
                           : lat_us;
  p->tokens_in += 12;
  p->tokens_cached += 8;
  p->tokens_out += 1;
  p->cost_nusd += 4 * 150 + 8 * 75 + 1 * 600;
  p->http_status = 200;
  p->error_class = WARMTH_ERR_NONE;
  p->flags = WARMTH_F_PREFIX_CACHED;
  p->headroom_requests = 4990;
  p->headroom_tokens = 79000;
}

/* A 503 with Retry-After: the provider is overloaded. */
static void probe_fail(struct warmth__payload *p, int64_t now) {
  p->state = p->fails_in_row + 1 >= 3 ? WARMTH_FAILING : p->state;
  p->last_probe = now;
  p->failures++;
  p->fails_in_row++;
  p->http_status = 503;
  p->error_class = WARMTH_ERR_SERVER;
  p->last_latency_us = 48000;
  p->dns_us = 300;
  p->connect_us = 2100;
  p->tls_us = 6400;
  p->ttfb_us = 39000;
  p->retry_after_until = now + 30 * NS_PER_S;
  p->flags = WARMTH_F_THROTTLED;
}

/* The state of a model the moment fill-table starts (without --demo). */
static void initial(struct warmth__payload *p, const struct model *m, int i,
                    int64_t now) {
  if (m->kind == K_OTHER)
    return; /* as added: unknown, never probed */
  for (int k = 0; k < 40 + 3 * i; k++)
    probe_ok(p, m->base_us, now - (int64_t)(1 + i) * NS_PER_S);
  if (m->kind == K_WARM) {
    p->warm_until = now + WARM_TTL_NS;
    return;
  }
  p->last_ok = now - 600 * NS_PER_S;
  for (int k = 0; k < 3; k++)
    probe_fail(p, now - 2 * NS_PER_S);
  p->warm_until = p->last_ok + WARM_TTL_NS; /* expired */
  p->retry_after_until = now + 30 * NS_PER_S;
}

/* --demo: every model goes unknown -> warming -> warm (or failing, for
 * --failing ones), one after the other, then re-probes every second with
 * latencies that wander, so `warmctl watch` has something to show. */
static void demo_tick(struct opts *o, int64_t start, int64_t now,
                      uint32_t *seed) {
  for (int i = 0; i < o->n; i++) {
    struct model *m = &o->m[i];
    struct warmth__payload p;
    if (warmth__w_get(table, m->slot, &p) != 0)
      continue;
    int64_t t = now - start, begin = (int64_t)(i + 1) * 400 * NS_PER_MS;
    if (p.state == WARMTH_UNKNOWN && t >= begin) {
      p.state = WARMTH_WARMING;
      m->next_probe = now + 600 * NS_PER_MS;
    } else if (p.state != WARMTH_UNKNOWN && now >= m->next_probe) {
      if (m->kind == K_FAILING)
        probe_fail(&p, now);
      else
        probe_ok(&p, m->base_us * (80 + rnd(seed) % 41) / 100, now);
      m->next_probe = now + NS_PER_S + (int64_t)(rnd(seed) % 200) * NS_PER_MS;
    } else {
      continue; /* nothing changed: a record is written only on change */
    }
    warmth__w_update(table, m->slot, &p);
  }
}

/* ---- main --------------------------------------------------------------- */

/* Our own words for the writer's errors: warmth_strerror() lives in
 * libwarmth, which this helper does not link (a plain binary, so the test
 * can stop it by the pid of `fill-table &`). */
static const char *add_error(int rc) {
  switch (rc) {
  case WARMTH_EFULL:
    return "table is full (raise --capacity)";
  case WARMTH_ENAMETOOLONG:
    return "bad model name (1..63 printable ASCII, no space)";
  case WARMTH_EEXIST:
    return "listed twice";
  }
  return "cannot add";
}

static int remove_table(const struct opts *o) {
  char d[256];
  snprintf(d, sizeof d, "%s.demand", o->shm);
  int rc = shm_unlink(o->shm);
  int e = errno;
  shm_unlink(d);
  if (rc != 0 && e != ENOENT) {
    errno = e;
    return die("cannot remove %s: %m", o->shm);
  }
  return 0;
}

static int fill(struct opts *o) {
  struct warmth__w_opts wo = {
      .capacity = o->capacity ? o->capacity : (o->n < 16 ? 16 : (uint32_t)o->n),
      .group = (gid_t)-1,
      .no_adopt = 1,
  };
  if (o->stale_after_s > 0)
    wo.stale_after_ns = (int64_t)(o->stale_after_s * NS_PER_S);
  else if (o->stale)
    wo.stale_after_ns = STALE_TEST_NS;
  char err[256];
  int rc = warmth__w_open(&table, o->shm, &wo, err, sizeof err);
  if (rc)
    return die("%s", err[0] ? err : "cannot create the table");
  int64_t now = hopt_now_ns();
  for (int i = 0; i < o->n; i++) {
    struct model *m = &o->m[i];
    rc = warmth__w_add(table, m->name, &m->slot);
    if (rc) {
      fprintf(stderr, "fill-table: %s: %s\n", m->name, add_error(rc));
      warmth__w_close(table, 1);
      return 2;
    }
    m->base_us = 150000 + 37000 * (uint32_t)(i % 7);
    struct warmth__payload p;
    warmth__w_get(table, m->slot, &p);
    if (!o->demo)
      initial(&p, m, i, now);
    warmth__w_update(table, m->slot, &p);
  }
  warmth__w_publish(table);
  warmth__w_heartbeat(table, hopt_now_ns());
  if (o->verbose)
    fprintf(stderr, "fill-table: %s: %d models, capacity %u, holding %.1fs\n",
            o->shm, o->n, wo.capacity, o->hold_s);

  uint32_t seed = 2463534242u; /* fixed: a demo that replays the same way */
  int64_t start = hopt_now_ns(), end = start + (int64_t)(o->hold_s * NS_PER_S);
  while (!stop && (now = hopt_now_ns()) < end) {
    if (!o->stale)
      warmth__w_heartbeat(table, now);
    if (o->demo)
      demo_tick(o, start, now, &seed);
    int64_t left = end - now < TICK_NS ? end - now : TICK_NS;
    struct timespec ts = {0, (long)left};
    nanosleep(&ts, NULL); /* EINTR on a signal: the loop sees `stop` */
  }
  if (o->verbose)
    fprintf(stderr, "fill-table: %s: %s\n", o->shm,
            o->retire ? "retired, left in place"
            : o->keep ? "kept (heartbeat will go stale)"
                      : "removed");
  if (o->retire)
    warmth__w_close(table, 0);
  else if (!o->keep)
    warmth__w_close(table, 1);
  return 0;
}

int main(int argc, char **argv) {
  static struct opts o; /* MAX_MODELS entries: not on the stack */
  o.hold_s = 2;
  int rc = parse(argc, argv, &o);
  if (rc)
    return rc;
  if (o.remove)
    return remove_table(&o);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  return fill(&o);
}
