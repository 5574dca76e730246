/* loop.c - warmd's main loop: see loop.h.
 *
 * The main thread is the scheduler and drives the libcurl multi loop; the
 * publisher thread is the only writer of records and the heartbeat.  Every
 * decision about a model (when it is due, whether to send, what a result
 * or a touch or an operator request means) is a function of schedule.c;
 * this file carries them out.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "fleetloop.h"
#include "log.h"
#include "loop.h"
#include "reply.h"
#include "secret.h"
#include "state.h"
#include "window.h"

/* How long a stop waits for warmups in flight before cancelling them. */
#define STOP_GRACE_NS (2 * WD_NS_PER_S)
/* How often the state file is written besides at exit. */
#define STATE_SAVE_NS (60 * WD_NS_PER_S)

/* ---- keys ---------------------------------------------------------------- */

static void log_warning(void *arg, const char *msg) {
  (void)arg;
  LOG(LOG_WARNING, "%s", msg);
}

/* From now on wd_redact() removes every key and every value of an
 * endpoint's `header =` lines (a gateway's token is as secret as a key)
 * from every upstream text and log line, whichever endpoint's reply echoes
 * them.  The values point into c and keys: wd_redact_set copies them. */
static int register_secrets(const struct wd_config *c, char **keys) {
  int n = c->nendpoints, rc;
  for (int i = 0; i < c->nendpoints; i++)
    n += c->endpoints[i].nheaders;
  const char **v = calloc((size_t)n + 1, sizeof *v);
  if (!v)
    return -1;
  n = 0;
  for (int i = 0; i < c->nendpoints; i++) {
    const struct wd_endpoint *ep = &c->endpoints[i];
    v[n++] = keys[i];
    for (int h = 0; h < ep->nheaders; h++) {
      const char *val = strchr(ep->headers[h], ':');
      val = val ? val + 1 : "";
      while (*val == ' ' || *val == '\t')
        val++;
      v[n++] = val;
    }
  }
  rc = wd_redact_set(v, n);
  free(v);
  return rc;
}

char **wd_keys_load(const struct wd_config *c, char *err, size_t errlen) {
  char **keys = wd_keys_check(c, log_warning, NULL, err, errlen);
  if (keys && register_secrets(c, keys) != 0) {
    wd_keys_free(keys, c->nendpoints);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  return keys;
}

/* ---- results and dispatch ----------------------------------------------- */

void wd_loop_publish(struct warmd *d, struct wd_entry *e, int64_t since) {
  wd_pub_push(d->pub, e->slot, &e->rec, since);
}

static void publish_cb(void *arg, struct wd_entry *e) {
  wd_loop_publish(arg, e, 0);
}

static void on_done(const struct wd_probe_result *res, void *arg) {
  struct warmd *d = arg;
  int64_t now = wd_mono_ns();
  uint32_t idx;
  if (wd_table_untag(&d->t, res->model, &idx) != 0)
    return; /* a result for a config a reload replaced */
  struct wd_entry *e = d->t.v[idx];
  /* A models probe whose id the provider does not list (probe.c keeps ok
   * and says so in listed): the provider does not have the model, a model
   * problem like a 404 model_not_found, for the schedule, the fleet, the
   * counters and the log alike. */
  struct wd_probe_result copy;
  const struct wd_probe_result *r = res;
  if (res->ok && res->listed == 0) {
    copy = *res;
    copy.ok = 0;
    copy.error_class = WARMTH_ERR_MODEL;
    r = &copy;
  }
  int old;
  uint32_t old_flags = e->rec.flags;
  int64_t cost = wd_sched_result(e, r, &d->rng, &old);
  wd_fleet_result(d->fleet, e, r, cost, &d->rng, now);
  d->budget.spent_nusd += cost;
  atomic_store(&d->dm.budget_spent_nusd, d->budget.spent_nusd);
  wd_recent_add(&e->recent, r->ended_ns, r->total_us, r->ok, cost,
                d->budget.day);
  wd_loop_publish(d, e, now);
  wd_heap_fix(&d->t, e);
  /* No warmup sent on purpose (a sleeping vLLM, a full Ollama): not a
   * failure; the state change below says what happened. */
  int held = r->precheck_only && r->error_class == WARMTH_ERR_NONE;
  if (r->ok)
    d->ok++;
  else if (!held)
    d->failed++;
  /* a disabled model (key or model problem) is never due: say so */
  char next[64];
  if (e->due == INT64_MAX)
    snprintf(next, sizeof next, "not retried until a reload or resume");
  else
    snprintf(next, sizeof next, "next in %.1fs", (double)(e->due - now) / 1e9);
  DEBUG_LOG("model %s: warmup finished (endpoint %s): %s, http %d, %s, "
            "%u ms, state %s, %s",
            e->name, e->ep->name, r->ok ? "ok" : r->error, r->http_status,
            warmth_error_class_name(r->error_class), r->total_us / 1000,
            warmth_state_name(e->rec.state), next);
  if (!r->ok && !held)
    LOG(LOG_WARNING,
        "model %s: warmup failed: %s (http %d, %s), %u failures "
        "in a row, %s",
        e->name, r->error, r->http_status,
        warmth_error_class_name(r->error_class), e->rec.fails_in_row, next);
  if (old != e->rec.state) {
    LOG(LOG_INFO, "model %s: %s -> %s (latency %u ms)", e->name,
        warmth_state_name(old), warmth_state_name(e->rec.state),
        r->total_us / 1000);
    wd_event(e, old, r->ok ? "warmup ok" : r->error);
  }
  if ((old_flags ^ e->rec.flags) & WARMTH_F_SLOW) {
    int slow = (e->rec.flags & WARMTH_F_SLOW) != 0;
    LOG(LOG_WARNING, "model %s: %s (EWMA latency %u ms, alert at %lld ms)",
        e->name, slow ? "slow" : "no longer slow",
        e->rec.ewma_latency_us / 1000,
        (long long)(e->m->latency_alert_ns / WD_NS_PER_MS));
    wd_event(e, e->rec.state, slow ? "slow" : "no longer slow"); /* a flag */
  }
}

/* Why a due model got no warmup, for the debug log. */
static const char *skip_reason(enum wd_decision dec) {
  switch (dec) {
  case WD_SKIP_REAL:
    return "real traffic kept it warm";
  case WD_SKIP_IDLE:
    return "idle (no touch for idle_after)";
  case WD_SKIP_BUDGET:
    return "daily budget spent";
  case WD_SKIP_HOLD:
    return "backoff, Retry-After or rate-limit headroom";
  case WD_SKIP_DISABLED:
    return "disabled (key problem or paused)";
  default:
    return "not to be warmed now";
  }
}

static void dispatch(struct warmd *d, int64_t now) {
  struct wd_entry *e;
  while ((e = wd_heap_top(&d->t)) && e->due <= now &&
         wd_prober_inflight(d->prober) < d->t.cfg->max_concurrency) {
    enum wd_decision dec = wd_sched_decide(e, &d->budget, now);
    if (dec == WD_SEND &&
        !wd_fleet_gate(d->fleet, e, wd_table_tag(&d->t, e->model_idx), now)) {
      wd_heap_fix(&d->t, e); /* a fleet claim in flight: back at its due */
      DEBUG_LOG("model %s: due, waiting for the fleet's claim", e->name);
      continue;
    }
    if (dec == WD_SEND) {
      struct wd_probe_req req = {
          .model = wd_table_tag(&d->t, e->model_idx),
          .m = e->m,
          .ep = e->ep,
          .api_key = d->keys[e->m->endpoint],
      };
      int rc = wd_prober_submit(d->prober, &req);
      if (rc == -1)
        break; /* full: the next finished probe makes room */
      wd_hist_add(&d->lateness, now - e->due);
      atomic_fetch_add(&d->dm.warmups_sent, 1);
      if (rc != 0) {
        /* The request cannot be built (bad URL or id): a failure like any
         * other, so it backs off instead of blocking the heap top. */
        struct wd_probe_result r;
        wd_sched_unbuildable(e, &r, req.model, now);
        on_done(&r, d);
        continue;
      }
      d->sent++;
      DEBUG_LOG("model %s: due, warmup sent (endpoint %s, model id %s), "
                "%.0f ms after its due time",
                e->name, e->ep->name, e->m->id, (double)(now - e->due) / 1e6);
      if (wd_sched_sent(e, now))
        wd_loop_publish(d, e, 0);
    } else {
      uint32_t flags = e->rec.flags;
      wd_sched_skip(e, dec, now, &d->rng);
      DEBUG_LOG("model %s: due, skipped: %s; next in %.1fs", e->name,
                skip_reason(dec),
                e->due == INT64_MAX ? -1.0 : (double)(e->due - now) / 1e9);
      if (dec == WD_SKIP_BUDGET && !d->budget_logged) {
        d->budget_logged = 1;
        LOG(LOG_NOTICE,
            "daily budget of $%.2f reached: chat warmups stop "
            "until 00:00 UTC (models probes go on)",
            d->t.cfg->budget_per_day);
      }
      if (flags != e->rec.flags)
        wd_loop_publish(d, e, 0);
    }
    wd_heap_fix(&d->t, e);
  }
}

/* [fleet] budget = fleet: the fleet's spend today, as the fleet thread
 * last heard it (with each claim and heartbeat). */
static void fleet_budget(struct warmd *d) {
  int64_t spent = wd_fleet_budget(d->fleet);
  if (spent > d->budget.spent_nusd) {
    d->budget.spent_nusd = spent;
    atomic_store(&d->dm.budget_spent_nusd, spent);
  }
}

/* Looks at the warm windows of the models that are due for it (a window
 * edge, an hour since the last look, a reload or start), grouped by time
 * zone so that the process zone is switched once per zone (window.h says
 * why switching in this thread is safe). */
#define WINDOW_LOOK_MAX_NS (3600 * WD_NS_PER_S)

static int same_zone(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static void look_at_window(struct warmd *d, struct wd_entry *e, int64_t now,
                           int64_t real_ns) {
  time_t real_s = (time_t)(real_ns / WD_NS_PER_S), next;
  int active;
  wd_window_eval(e->m->windows, e->m->nwindows,
                 e->m->warm_before_ns / WD_NS_PER_S, real_s, &active, &next);
  int64_t until = WINDOW_LOOK_MAX_NS; /* no windows: always active */
  if ((int64_t)next < INT64_MAX / WD_NS_PER_S)
    until = (int64_t)next * WD_NS_PER_S - real_ns;
  if (until < 0)
    until = 0;
  int64_t next_mono = now + until;
  e->win_eval_at =
      now + (until < WINDOW_LOOK_MAX_NS ? until : WINDOW_LOOK_MAX_NS);
  int was_off = e->win_off, old = e->rec.state;
  int c = wd_sched_window(e, active, next_mono, now);
  if (was_off != e->win_off) {
    LOG(LOG_INFO, "model %s: %s its warm windows (next change in %.0f s)",
        e->name, e->win_off ? "outside" : "inside", (double)until / 1e9);
    if (old != e->rec.state)
      wd_event(e, old, e->win_off ? "off hours" : "warm window opens");
  }
  if (c & 1)
    wd_loop_publish(d, e, 0);
  if (c)
    wd_heap_fix(&d->t, e);
}

static void windows(struct warmd *d, int64_t now) {
  int64_t real_ns = wd_real_ns();
  for (uint32_t i = 0; i < d->t.n; i++) {
    struct wd_entry *e = d->t.v[i];
    if (!e->m->nwindows && (e->rec.flags & WARMTH_F_OFF_HOURS))
      look_at_window(d, e, now, real_ns); /* a reload removed them */
    if (!e->m->nwindows || now < e->win_eval_at)
      continue;
    const char *zone = e->m->timezone;
    struct wd_tz_saved saved = {0};
    if (zone)
      wd_tz_enter(zone, &saved);
    for (uint32_t j = i; j < d->t.n; j++) {
      struct wd_entry *f = d->t.v[j];
      if (f->m->nwindows && now >= f->win_eval_at &&
          same_zone(f->m->timezone, zone))
        look_at_window(d, f, now, real_ns);
    }
    if (zone)
      wd_tz_leave(&saved);
  }
}

/* Once per tick: the day's budget, and what workers told us. */
static void tick(struct warmd *d, int64_t now) {
  if (wd_budget_roll(&d->budget, wd_utc_day())) {
    d->budget_logged = 0;
    if (d->fleet) /* what it holds is yesterday's */
      atomic_store(&d->fleet->budget_spent_nusd, -1);
  }
  uint32_t now_s = wd_mono_coarse_s();
  for (uint32_t i = 0; i < d->t.n; i++) {
    struct wd_entry *e = d->t.v[i];
    struct warmth__demand dm;
    if (warmth__w_demand(d->w, e->slot, &dm) != 0)
      continue;
    int c = wd_sched_demand(e, &dm, now, now_s);
    wd_fleet_real(d->fleet, e, now);
    if (c & 1)
      wd_loop_publish(d, e, 0);
    if (c)
      wd_heap_fix(&d->t, e);
  }
  windows(d, now);
}

/* Returns 0, or -1 with why in err. */
static int do_reload(struct warmd *d, char *err, size_t errlen) {
  struct wd_config *c;
  if (wd_config_load(d->config_path, &c, err, errlen) != 0) {
    LOG(LOG_ERR, "reload failed, keeping the running config: %s", err);
    return -1;
  }
  if (strcmp(c->shm, d->t.cfg->shm) != 0 || c->tick_ns != d->t.cfg->tick_ns)
    LOG(LOG_WARNING, "reload: shm and tick changes need a restart");
  if (!c->fleet_redis != !d->t.cfg->fleet_redis ||
      (c->fleet_redis && (strcmp(c->fleet_redis, d->t.cfg->fleet_redis) ||
                          strcmp(c->fleet_name, d->t.cfg->fleet_name) ||
                          strcmp(c->fleet_host_id, d->t.cfg->fleet_host_id))))
    LOG(LOG_WARNING, "reload: [fleet] changes need a restart");
  char **keys = wd_keys_load(c, err, errlen);
  if (!keys) {
    LOG(LOG_ERR, "reload failed, keeping the running config: %s", err);
    wd_config_free(c);
    return -1;
  }
  struct wd_reload_summary s;
  if (wd_table_reload(&d->t, c, d->w, d->pub, wd_mono_ns(), &s, err, errlen) !=
      0) {
    LOG(LOG_ERR, "reload failed, keeping the running config: %s", err);
    register_secrets(d->t.cfg, d->keys); /* the running config's again */
    wd_keys_free(keys, c->nendpoints);
    wd_config_free(c);
    return -1;
  }
  wd_keys_free(d->keys, d->nkeys);
  wd_fleet_mark(d->fleet, &d->t);
  if (!d->log_level_forced)
    wd_log_set_level(c->log_level);
  d->keys = keys;
  d->nkeys = c->nendpoints;
  d->budget.limit_nusd = (int64_t)(c->budget_per_day * 1e9);
  atomic_store(&d->dm.budget_limit_nusd, d->budget.limit_nusd);
  LOG(LOG_NOTICE, "reloaded %s: %d added, %d removed, %d changed, %d kept",
      d->config_path, s.added, s.removed, s.changed, s.kept);
  return 0;
}

/* Requests from the control socket, in the main thread that owns the
 * entries. */
static void serve_requests(struct warmd *d, int64_t now,
                           volatile sig_atomic_t *reload) {
  struct wd_req *r = wd_daemon_take(&d->dm);
  while (r) {
    struct wd_req *next = r->next;
    struct wd_entry *e = NULL;
    for (uint32_t i = 0; i < d->t.n && !e && r->kind != WD_REQ_RELOAD; i++)
      if (strcmp(d->t.v[i]->name, r->model) == 0)
        e = d->t.v[i];
    int old = e ? e->rec.state : 0;
    DEBUG_LOG("control: %s%s%s", r->kind == WD_REQ_RELOAD ? "reload" : "model ",
              r->kind == WD_REQ_RELOAD ? "" : r->model,
              r->kind == WD_REQ_RELOAD  ? " requested"
              : !e                      ? ": request for an unknown model"
              : r->kind == WD_REQ_WARM  ? ": warm requested"
              : r->kind == WD_REQ_PAUSE ? ": pause requested"
                                        : ": resume requested");
    switch (r->kind) {
    case WD_REQ_RELOAD:
      *reload = 1;
      break;
    case WD_REQ_WARM:
      if (e) {
        wd_sched_warm_now(e, now);
        if (!e->inflight)
          wd_fleet_force(e, now);
      }
      break;
    case WD_REQ_PAUSE:
      if (e)
        wd_sched_pause(e);
      break;
    case WD_REQ_RESUME:
      if (e)
        wd_sched_resume(e, now);
      break;
    }
    if (e) {
      LOG(LOG_NOTICE, "model %s: %s requested", e->name,
          r->kind == WD_REQ_WARM    ? "warm"
          : r->kind == WD_REQ_PAUSE ? "pause"
                                    : "resume");
      if (old != e->rec.state)
        wd_event(e, old, "operator request");
      wd_loop_publish(d, e, 0);
      wd_heap_fix(&d->t, e);
    }
    free(r);
    r = next;
  }
}

void wd_loop_save_state(struct warmd *d, int64_t now) {
  if (d->t.cfg->state_file && wd_state_save(d->t.cfg->state_file, &d->t, now))
    LOG(LOG_ERR, "cannot write state file %s", d->t.cfg->state_file);
}

void wd_loop_run(struct warmd *d, volatile sig_atomic_t *stop,
                 volatile sig_atomic_t *reload) {
  int64_t tick_ns = d->t.cfg->tick_ns;
  int64_t next_tick = 0;
  while (!*stop) {
    int64_t now = wd_mono_ns();
    serve_requests(d, now, reload);
    wd_fleet_poll(d->fleet, &d->t, now, &d->rng, publish_cb, d);
    fleet_budget(d);
    if (*reload) {
      *reload = 0;
      char why[512];
      wd_daemon_reloaded(&d->dm, do_reload(d, why, sizeof why) ? why : NULL);
      windows(d, wd_mono_ns()); /* before a dispatch: reloaded entries */
    }
    if (now >= d->next_state_save) {
      if (d->next_state_save)
        wd_loop_save_state(d, now);
      d->next_state_save = now + STATE_SAVE_NS;
    }
    if (now >= next_tick) {
      tick(d, now);
      next_tick = now + tick_ns;
    }
    dispatch(d, now);
    int64_t wake = wd_sched_wake(next_tick, wd_heap_top(&d->t),
                                 wd_prober_inflight(d->prober) <
                                     d->t.cfg->max_concurrency);
    int64_t wait = wake - wd_mono_ns();
    int ms = wait <= 0 ? 0 : (int)((wait + WD_NS_PER_MS - 1) / WD_NS_PER_MS);
    wd_prober_run(d->prober, ms, on_done, d);
  }
  /* Stop: let warmups in flight finish within a bound, then cancel. */
  int64_t until = wd_mono_ns() + STOP_GRACE_NS;
  while (wd_prober_inflight(d->prober) > 0 && wd_mono_ns() < until)
    wd_prober_run(d->prober, 50, on_done, d);
}
