/* ctlcmd.c - the answers to control commands (requests already decoded,
 * validated and authorised by control.c).
 *
 * Read-only commands read entries' atomic counters under rcu_read_lock()
 * and records through d->reader, the way any worker reads them.  Mutating
 * ones queue a request for the main loop and then watch for its effect:
 *  - warm: the record's successes + failures move when the warmup's result
 *    is published (the publisher writes it at most a tick after the main
 *    loop applied it), or a skip counter of the entry moves (the scheduler
 *    decided not to send: real traffic, budget);
 *  - pause/resume: the record's paused flag changes;
 *  - reload: d->reloads moves (wd_daemon_reloaded), and reload_failures
 *    says whether it took effect.
 * Polling every few ms costs nothing at the rate operators type commands,
 * and needs no hook in the main loop or the publisher.
 *
 * warm is rate-limited per model, whoever asks (root too: a script in a
 * loop costs the same): one forced warmup of a model per min(interval,
 * 60 s), counted from the last one warmd accepted.  The scheduler already
 * warms every model once per interval; a forced warmup more often than
 * that only buys tokens (30 x `warmctl warm` sent 30 paid warmups), and
 * 60 s keeps an operator who just fixed a key from waiting an hour.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "fleet.h"
#include "rcu.h"

#define POLL_NS (5 * WD_NS_PER_MS)
#define WARM_EVERY_MAX_NS (60 * WD_NS_PER_S) /* rate limit of warm, above */

/* The forced warmups of the last WARM_EVERY_MAX_NS: a few entries at the
 * rate people type (and at most one per model in that time), so a list
 * scanned under a mutex is enough.  Shared by the client threads. */
struct forced {
  char name[WARMTH_NAME_MAX + 1];
  int64_t at;
};
static pthread_mutex_t forced_mu = PTHREAD_MUTEX_INITIALIZER;
static struct forced *forced_v;
static size_t forced_n, forced_cap;

/* Takes the model's turn for a forced warmup: 0, or -1 with *wait_ns until
 * the next one is allowed.  Entries older than the longest window go. */
static int forced_take(const char *name, int64_t now, int64_t every_ns,
                       int64_t *wait_ns) {
  int rc = 0;
  pthread_mutex_lock(&forced_mu);
  size_t keep = 0;
  struct forced *mine = NULL;
  for (size_t i = 0; i < forced_n; i++) {
    if (now - forced_v[i].at >= WARM_EVERY_MAX_NS)
      continue;
    forced_v[keep] = forced_v[i];
    if (!strcmp(forced_v[keep].name, name))
      mine = &forced_v[keep];
    keep++;
  }
  forced_n = keep;
  if (mine && now - mine->at < every_ns) {
    *wait_ns = mine->at + every_ns - now;
    rc = -1;
  } else if (mine) {
    mine->at = now;
  } else {
    if (forced_n == forced_cap) {
      size_t cap = forced_cap ? 2 * forced_cap : 16;
      struct forced *v = realloc(forced_v, cap * sizeof *v);
      if (v) /* out of memory: not limited, as before */
        forced_v = v, forced_cap = cap;
    }
    if (forced_n < forced_cap) {
      snprintf(forced_v[forced_n].name, sizeof forced_v[0].name, "%s", name);
      forced_v[forced_n++].at = now;
    }
  }
  pthread_mutex_unlock(&forced_mu);
  return rc;
}

static void pause_poll(void) {
  struct timespec ts = {0, POLL_NS};
  nanosleep(&ts, NULL);
}

/* ---- reply fields: counted as they are packed, header written last ------ */

struct fw {
  msgpack_sbuffer body;
  msgpack_packer pk;
  uint32_t n;
};

static void fw_init(struct fw *f) {
  msgpack_sbuffer_init(&f->body);
  msgpack_packer_init(&f->pk, &f->body, msgpack_sbuffer_write);
  f->n = 0;
}

static msgpack_packer *fw_key(struct fw *f, const char *key) {
  f->n++;
  wctl_pack_str(&f->pk, key);
  return &f->pk;
}

static void fw_str(struct fw *f, const char *key, const char *v) {
  wctl_pack_str(fw_key(f, key), v);
}

static void fw_u64(struct fw *f, const char *key, uint64_t v) {
  msgpack_pack_uint64(fw_key(f, key), v);
}

static void fw_i64(struct fw *f, const char *key, int64_t v) {
  msgpack_pack_int64(fw_key(f, key), v);
}

static void fw_bool(struct fw *f, const char *key, int v) {
  msgpack_packer *pk = fw_key(f, key);
  if (v)
    msgpack_pack_true(pk);
  else
    msgpack_pack_false(pk);
}

static void kv_str(msgpack_packer *pk, const char *k, const char *v) {
  wctl_pack_str(pk, k);
  wctl_pack_str(pk, v);
}

static void kv_i64(msgpack_packer *pk, const char *k, int64_t v) {
  wctl_pack_str(pk, k);
  msgpack_pack_int64(pk, v);
}

/* status: "fleet", a map (appended in protocol 1, ctlproto.h).  Never the
 * password: the URL shown is built without it (fleetproto.h). */
static void fw_fleet(struct fw *f, struct wd_fleet *fl) {
  msgpack_packer *pk = fw_key(f, "fleet");
  if (!fl) {
    msgpack_pack_map(pk, 1);
    kv_str(pk, "state", "off");
    return;
  }
  char err[256], ver[32];
  wd_fleet_error(fl, err, sizeof err);
  wd_fleet_version(fl, ver, sizeof ver);
  int st = atomic_load(&fl->state);
  msgpack_pack_map(pk, 14);
  kv_str(pk, "state", wd_fleet_state_name(st));
  kv_str(pk, "name", fl->name);
  kv_str(pk, "host_id", fl->host_id);
  kv_str(pk, "redis", fl->url_shown);
  kv_str(pk, "redis_version", ver);
  kv_str(pk, "error", st == WD_FLEET_OK ? "" : err);
  kv_i64(pk, "hosts", atomic_load(&fl->hosts_seen));
  kv_i64(pk, "sent_last_hour", atomic_load(&fl->self_sent_hour));
  kv_i64(pk, "fleet_sent_last_hour", atomic_load(&fl->fleet_sent_hour));
  kv_i64(pk, "leases_won", (int64_t)atomic_load(&fl->leases_won));
  kv_i64(pk, "leases_lost", (int64_t)atomic_load(&fl->leases_lost));
  kv_i64(pk, "skipped_fleet", (int64_t)atomic_load(&fl->skipped_fleet));
  kv_i64(pk, "local_fallbacks", (int64_t)atomic_load(&fl->local_fallbacks));
  kv_i64(pk, "redis_errors", (int64_t)atomic_load(&fl->redis_errors));
}

/* Writes the reply frame (header + the fields) into out; frees f. */
static void fw_reply(struct fw *f, const struct wctl_req *r, unsigned status,
                     msgpack_sbuffer *out) {
  msgpack_packer pk;
  wctl_reply_begin(out, &pk, r->version, r->seq, status, f->n);
  if (f->body.size)
    msgpack_sbuffer_write(out, f->body.data, f->body.size);
  msgpack_sbuffer_destroy(&f->body);
  if (wctl_frame_finish(out, WCTL_MAX_REPLY) != 0) {
    msgpack_sbuffer_clear(out);
    wctl_reply_error(out, r->version, r->seq, WCTL_INTERNAL,
                     "reply larger than the protocol allows");
  }
}

static void error_reply(const struct wctl_req *r, unsigned status,
                        const char *why, msgpack_sbuffer *out) {
  wctl_reply_error(out, r->version, r->seq, status, why);
}

/* Fields of a record that every model answer carries. */
static void put_record(struct fw *f, const struct warmth_model_info *m,
                       int64_t now) {
  int warm = m->state == WARMTH_WARM && now < m->warm_until;
  fw_str(f, "model", m->name);
  fw_str(f, "state", warmth_state_name(m->state));
  fw_bool(f, "warm", warm);
  fw_i64(f, "warm_for_ms", warm ? (m->warm_until - now) / WD_NS_PER_MS : 0);
  fw_u64(f, "last_latency_us", m->last_latency_us);
  fw_u64(f, "ewma_latency_us", m->ewma_latency_us);
  fw_u64(f, "ttfb_us", m->ttfb_us);
  fw_u64(f, "http_status", m->http_status);
  fw_str(f, "error_class", warmth_error_class_name(m->error_class));
  fw_u64(f, "successes", m->successes);
  fw_u64(f, "failures", m->failures);
  fw_u64(f, "fails_in_row", m->fails_in_row);
  fw_bool(f, "paused", (m->flags & WARMTH_F_PAUSED) != 0);
  fw_u64(f, "flags", m->flags);
}

static int lookup(struct wd_daemon *d, const char *name,
                  struct warmth_model_info *m) {
  memset(m, 0, sizeof *m);
  m->size = sizeof *m;
  return warmth_lookup(d->reader, name, m);
}

/* ---- status ------------------------------------------------------------ */

struct counts {
  uint64_t models, warm, failing, paused, idle, reachable;
  int64_t now;
};

static int count_one(const struct warmth_model_info *m, void *arg) {
  struct counts *c = arg;
  c->models++;
  c->warm += m->state == WARMTH_WARM && c->now < m->warm_until;
  c->failing += m->state == WARMTH_FAILING;
  c->idle += m->state == WARMTH_IDLE;
  c->reachable += m->state == WARMTH_REACHABLE;
  c->paused += (m->flags & WARMTH_F_PAUSED) != 0;
  return 0;
}

static void do_status(struct wd_daemon *d, const struct wctl_req *r,
                      msgpack_sbuffer *out) {
  struct counts n = {.now = wd_mono_ns()};
  int rc = warmth_foreach(d->reader, count_one, &n);
  struct fw f;
  fw_init(&f);
  fw_i64(&f, "pid", getpid());
  fw_str(&f, "version", PACKAGE_VERSION);
  fw_u64(&f, "protocol", WCTL_VERSION);
  fw_str(&f, "config", d->config_path ? d->config_path : "");
  fw_i64(&f, "uptime_ms", (n.now - d->started_mono_ns) / WD_NS_PER_MS);
  fw_i64(&f, "started_unix", d->started_real_ns / WD_NS_PER_S);
  fw_bool(&f, "running", atomic_load(&d->running));
  fw_u64(&f, "models", n.models);
  fw_u64(&f, "warm", n.warm);
  fw_u64(&f, "failing", n.failing);
  fw_u64(&f, "idle", n.idle);
  fw_u64(&f, "paused", n.paused);
  fw_u64(&f, "reachable", n.reachable);
  fw_i64(&f, "budget_spent_nusd", atomic_load(&d->budget_spent_nusd));
  fw_i64(&f, "budget_limit_nusd", atomic_load(&d->budget_limit_nusd));
  fw_u64(&f, "warmups_sent", atomic_load(&d->warmups_sent));
  fw_u64(&f, "reloads", atomic_load(&d->reloads));
  fw_u64(&f, "reload_failures", atomic_load(&d->reload_failures));
  if (rc < 0)
    fw_str(&f, "table_error", warmth_strerror(rc));
  fw_fleet(&f, d->fleet);
  fw_reply(&f, r, WCTL_OK, out);
}

/* ---- stats --------------------------------------------------------------- */

struct row {
  char name[WARMTH_NAME_MAX + 1];
  uint64_t ok, fail, skip_real, skip_idle, skip_budget, skip_throttle;
  uint64_t skip_fleet;
  uint64_t lat_count, lat_sum_us;
  uint64_t tokens_reasoning, tokens_cache_write;
  int paused;
};

static void take_row(struct row *w, struct wd_entry *e) {
  memcpy(w->name, e->name, sizeof w->name);
  w->ok = atomic_load_explicit(&e->n_ok, memory_order_relaxed);
  w->fail = atomic_load_explicit(&e->n_fail, memory_order_relaxed);
  w->skip_real = atomic_load_explicit(&e->n_skip_real, memory_order_relaxed);
  w->skip_idle = atomic_load_explicit(&e->n_skip_idle, memory_order_relaxed);
  w->skip_budget =
      atomic_load_explicit(&e->n_skip_budget, memory_order_relaxed);
  w->skip_throttle =
      atomic_load_explicit(&e->n_skip_throttle, memory_order_relaxed);
  w->skip_fleet = atomic_load_explicit(&e->n_skip_fleet, memory_order_relaxed);
  w->lat_count = 0;
  for (int i = 0; i < WD_LAT_BUCKETS; i++)
    w->lat_count +=
        atomic_load_explicit(&e->lat_count[i], memory_order_relaxed);
  w->lat_sum_us = atomic_load_explicit(&e->lat_sum_us, memory_order_relaxed);
  w->paused = atomic_load_explicit(&e->paused, memory_order_relaxed);
  w->tokens_reasoning =
      atomic_load_explicit(&e->tokens_reasoning, memory_order_relaxed);
  w->tokens_cache_write =
      atomic_load_explicit(&e->tokens_cache_write, memory_order_relaxed);
}

static int row_cmp(const void *a, const void *b) {
  return strcmp(((const struct row *)a)->name, ((const struct row *)b)->name);
}

/* Copies the rows out under one read-side critical section (entries a
 * reload replaces stay valid until it ends), then packs them at leisure. */
static struct row *collect(struct wd_daemon *d, const char *only, size_t *n) {
  size_t cap = 16;
  struct row *v = malloc(cap * sizeof *v);
  *n = 0;
  if (!v)
    return NULL;
  rcu_read_lock();
  if (only) {
    struct wd_entry *e = wd_table_find(d->t, only);
    if (e)
      take_row(&v[(*n)++], e);
  } else {
    struct cds_lfht_iter it;
    struct wd_entry *e;
    cds_lfht_for_each_entry(d->t->ht, &it, e, node) {
      if (*n == cap) {
        struct row *bigger = realloc(v, 2 * cap * sizeof *v);
        if (!bigger) {
          free(v);
          v = NULL;
          break;
        }
        v = bigger;
        cap *= 2;
      }
      take_row(&v[(*n)++], e);
    }
  }
  rcu_read_unlock();
  if (v)
    qsort(v, *n, sizeof *v, row_cmp);
  return v;
}

static void pack_row(msgpack_packer *pk, struct wd_daemon *d,
                     const struct row *w, int64_t now) {
  struct warmth_model_info m;
  int have = lookup(d, w->name, &m) == 0;
  struct fw f;
  fw_init(&f);
  if (have) {
    put_record(&f, &m, now);
    fw_u64(&f, "tokens_in", m.tokens_in);
    fw_u64(&f, "tokens_out", m.tokens_out);
    fw_u64(&f, "tokens_cached", m.tokens_cached);
    fw_u64(&f, "cost_nusd", m.cost_nusd);
  } else {
    fw_str(&f, "model", w->name);
  }
  fw_u64(&f, "warmups_ok", w->ok);
  fw_u64(&f, "warmups_failed", w->fail);
  fw_u64(&f, "skipped_real_traffic", w->skip_real);
  fw_u64(&f, "skipped_idle", w->skip_idle);
  fw_u64(&f, "skipped_budget", w->skip_budget);
  fw_u64(&f, "throttled", w->skip_throttle);
  fw_u64(&f, "skipped_fleet", w->skip_fleet); /* appended: fleet mode */
  fw_u64(&f, "latency_count", w->lat_count);
  fw_u64(&f, "latency_sum_us", w->lat_sum_us);
  /* appended: parts of tokens_out and tokens_in (provider.h) */
  fw_u64(&f, "tokens_reasoning", w->tokens_reasoning);
  fw_u64(&f, "tokens_cache_write", w->tokens_cache_write);
  msgpack_pack_map(pk, f.n);
  if (f.body.size) /* the fields, already packed */
    pk->callback(pk->data, f.body.data, f.body.size);
  msgpack_sbuffer_destroy(&f.body);
}

static void do_stats(struct wd_daemon *d, const struct wctl_req *r,
                     msgpack_sbuffer *out) {
  size_t n;
  struct row *v = collect(d, r->has_model ? r->model : NULL, &n);
  if (!v) {
    error_reply(r, WCTL_INTERNAL, "out of memory", out);
    return;
  }
  if (r->has_model && n == 0) {
    free(v);
    error_reply(r, WCTL_NO_MODEL, r->model, out);
    return;
  }
  int64_t now = wd_mono_ns();
  struct fw f;
  fw_init(&f);
  msgpack_packer *pk = fw_key(&f, "models");
  msgpack_pack_array(pk, n);
  for (size_t i = 0; i < n; i++)
    pack_row(pk, d, &v[i], now);
  free(v);
  fw_reply(&f, r, WCTL_OK, out);
}

/* ---- warm ---------------------------------------------------------------- */

struct baseline {
  int found, paused;
  int64_t timeout_ns, interval_ns;
  uint64_t skip_real, skip_idle, skip_budget;
};

static void entry_baseline(struct wd_daemon *d, const char *name,
                           struct baseline *b) {
  memset(b, 0, sizeof *b);
  rcu_read_lock();
  struct wd_entry *e = wd_table_find(d->t, name);
  if (e) {
    b->found = 1;
    b->paused = atomic_load(&e->paused);
    /* e->m stays valid until rcu_read_unlock (freed by call_rcu). */
    b->timeout_ns = e->m->timeout_ns ? e->m->timeout_ns : e->ep->timeout_ns;
    b->interval_ns = e->m->interval_ns;
    b->skip_real = atomic_load(&e->n_skip_real);
    b->skip_idle = atomic_load(&e->n_skip_idle);
    b->skip_budget = atomic_load(&e->n_skip_budget);
  }
  rcu_read_unlock();
}

static void do_warm(struct wd_daemon *d, const struct wctl_req *r,
                    const _Atomic int *stopping, msgpack_sbuffer *out) {
  struct baseline b0, b;
  struct warmth_model_info m;
  entry_baseline(d, r->model, &b0);
  if (!b0.found || lookup(d, r->model, &m) != 0) {
    error_reply(r, WCTL_NO_MODEL, r->model, out);
    return;
  }
  if (b0.paused || (m.flags & (WARMTH_F_PAUSED | WARMTH_F_KEY_PROBLEM |
                               WARMTH_F_MODEL_PROBLEM))) {
    error_reply(r, WCTL_DISABLED,
                b0.paused || (m.flags & WARMTH_F_PAUSED)
                    ? "model is paused (warmctl resume MODEL warms it)"
                : (m.flags & WARMTH_F_KEY_PROBLEM)
                    ? "the API key was refused (fix it, then warmctl resume "
                      "MODEL)"
                    : "the provider does not have this model id (fix it, "
                      "then warmctl resume MODEL)",
                out);
    return;
  }
  uint64_t ok0 = m.successes, results0 = m.successes + m.failures;
  int64_t start = wd_mono_ns(), wait_ns;
  int64_t every =
      b0.interval_ns < WARM_EVERY_MAX_NS ? b0.interval_ns : WARM_EVERY_MAX_NS;
  if (forced_take(r->model, start, every, &wait_ns) != 0) {
    char why[160];
    snprintf(why, sizeof why,
             "next allowed in %lld s (one forced warmup of a model per "
             "min(interval, 60 s))",
             (long long)((wait_ns + WD_NS_PER_S - 1) / WD_NS_PER_S));
    error_reply(r, WCTL_RATE_LIMITED, why, out);
    return;
  }
  int64_t deadline = start + b0.timeout_ns + WD_CTL_WARM_MARGIN_NS;
  if (wd_daemon_request(d, WD_REQ_WARM, r->model) != 0) {
    error_reply(r, WCTL_NO_MODEL, r->model, out);
    return;
  }
  const char *skipped = NULL;
  for (;;) {
    if (atomic_load(stopping)) {
      error_reply(r, WCTL_STOPPING, NULL, out);
      return;
    }
    if (lookup(d, r->model, &m) != 0) {
      error_reply(r, WCTL_NO_MODEL, "model removed by a reload", out);
      return;
    }
    if (m.successes + m.failures != results0)
      break;
    entry_baseline(d, r->model, &b);
    if (b.skip_real != b0.skip_real)
      skipped = "real_traffic";
    else if (b.skip_budget != b0.skip_budget)
      skipped = "budget";
    else if (b.skip_idle != b0.skip_idle)
      skipped = "idle";
    if (skipped)
      break;
    if (wd_mono_ns() > deadline) {
      error_reply(r, WCTL_TIMEOUT,
                  "no result within the model's timeout (is max_concurrency "
                  "reached?)",
                  out);
      return;
    }
    pause_poll();
  }
  int64_t now = wd_mono_ns();
  int ok = skipped ? !strcmp(skipped, "real_traffic")
                   : m.successes != ok0 && m.fails_in_row == 0;
  unsigned status = skipped ? (ok ? WCTL_OK : WCTL_SKIPPED)
                    : ok    ? WCTL_OK
                            : WCTL_WARMUP_FAILED;
  struct fw f;
  fw_init(&f);
  put_record(&f, &m, now);
  fw_str(&f, "result", skipped ? skipped : ok ? "ok" : "failed");
  fw_i64(&f, "waited_ms", (now - start) / WD_NS_PER_MS);
  if (status != WCTL_OK) {
    char why[160];
    if (skipped)
      snprintf(why, sizeof why, "not sent: %s",
               !strcmp(skipped, "budget") ? "the daily budget is spent"
                                          : "the model is idle");
    else
      snprintf(why, sizeof why, "warmup failed: %s, http %u",
               warmth_error_class_name(m.error_class), m.http_status);
    fw_str(&f, "error", why);
  }
  fw_reply(&f, r, status, out);
}

/* ---- pause, resume, reload ----------------------------------------------- */

static void do_pause_resume(struct wd_daemon *d, const struct wctl_req *r,
                            const _Atomic int *stopping, msgpack_sbuffer *out) {
  int pause = r->cmd == WCTL_CMD_PAUSE;
  struct warmth_model_info m;
  if (lookup(d, r->model, &m) != 0 ||
      wd_daemon_request(d, pause ? WD_REQ_PAUSE : WD_REQ_RESUME, r->model) !=
          0) {
    error_reply(r, WCTL_NO_MODEL, r->model, out);
    return;
  }
  int64_t deadline = wd_mono_ns() + WD_CTL_ACT_WAIT_NS;
  for (;;) {
    if (lookup(d, r->model, &m) != 0) {
      error_reply(r, WCTL_NO_MODEL, "model removed by a reload", out);
      return;
    }
    if (!(m.flags & WARMTH_F_PAUSED) == !pause)
      break;
    if (atomic_load(stopping)) {
      error_reply(r, WCTL_STOPPING, NULL, out);
      return;
    }
    if (wd_mono_ns() > deadline) {
      error_reply(r, WCTL_TIMEOUT, "the record did not change in time", out);
      return;
    }
    pause_poll();
  }
  struct fw f;
  fw_init(&f);
  put_record(&f, &m, wd_mono_ns());
  fw_reply(&f, r, WCTL_OK, out);
}

static void do_reload(struct wd_daemon *d, const struct wctl_req *r,
                      const _Atomic int *stopping, msgpack_sbuffer *out) {
  uint64_t before = atomic_load(&d->reloads);
  uint64_t failed = atomic_load(&d->reload_failures);
  wd_daemon_request(d, WD_REQ_RELOAD, NULL);
  int64_t deadline = wd_mono_ns() + WD_CTL_ACT_WAIT_NS;
  while (atomic_load(&d->reloads) == before) {
    if (atomic_load(stopping)) {
      error_reply(r, WCTL_STOPPING, NULL, out);
      return;
    }
    if (wd_mono_ns() > deadline) {
      error_reply(r, WCTL_TIMEOUT, "the main loop did not reload in time", out);
      return;
    }
    pause_poll();
  }
  if (atomic_load(&d->reload_failures) != failed) {
    char why[sizeof d->reload_error];
    pthread_mutex_lock(&d->req_mu);
    memcpy(why, d->reload_error, sizeof why);
    pthread_mutex_unlock(&d->req_mu);
    error_reply(r, WCTL_RELOAD_FAILED, why, out);
    return;
  }
  struct counts n = {.now = wd_mono_ns()};
  warmth_foreach(d->reader, count_one, &n);
  struct fw f;
  fw_init(&f);
  fw_str(&f, "config", d->config_path ? d->config_path : "");
  fw_u64(&f, "reloads", atomic_load(&d->reloads));
  fw_u64(&f, "models", n.models);
  fw_reply(&f, r, WCTL_OK, out);
}

void wd_ctl_answer(struct wd_daemon *d, const struct wctl_req *r,
                   const _Atomic int *stopping, msgpack_sbuffer *out) {
  if (!atomic_load(&d->running) && wctl_cmd_mutating(r->cmd)) {
    error_reply(r, WCTL_STOPPING, NULL, out);
    return;
  }
  switch (r->cmd) {
  case WCTL_CMD_STATUS:
    do_status(d, r, out);
    break;
  case WCTL_CMD_STATS:
    do_stats(d, r, out);
    break;
  case WCTL_CMD_WARM:
    do_warm(d, r, stopping, out);
    break;
  case WCTL_CMD_PAUSE:
  case WCTL_CMD_RESUME:
    do_pause_resume(d, r, stopping, out);
    break;
  case WCTL_CMD_RELOAD:
    do_reload(d, r, stopping, out);
    break;
  default: /* wctl_req_decode let through only known commands */
    error_reply(r, WCTL_BAD_COMMAND, NULL, out);
  }
}
