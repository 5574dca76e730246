/* schedule.c - see schedule.h. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "schedule.h"

#define BACKOFF_BASE_NS (1 * WD_NS_PER_S)
/* 429 and 5xx without Retry-After: the provider is overloaded or limiting
 * us, so the backoff goes on past the interval, up to this many intervals
 * and at most BACKOFF_MAX_NS (issue 10: a short interval kept eating an
 * exhausted rate limit). */
#define BACKOFF_MAX_INTERVALS 8
#define BACKOFF_MAX_NS (3600 * WD_NS_PER_S)
#define EWMA_WEIGHT 0.2 /* each probe moves the average 20% of the way */
/* Spread of the first round: one model per 10 ms at most. */
#define FIRST_ROUND_STEP_NS (10 * WD_NS_PER_MS)
/* Demand-segment values are hints from workers: a real success claimed to
 * be older than this, or in the future, is ignored. */
#define REAL_OK_HORIZON_NS (3600 * WD_NS_PER_S)

const uint64_t wd_lat_bounds_us[WD_LAT_BUCKETS] = {
    25000,   50000,   100000,  250000,   500000,
    1000000, 2500000, 5000000, 10000000, UINT64_MAX};

uint64_t wd_rand(uint64_t *s) {
  /* xorshift64* (Vigna): plenty for jitter, never for secrets. */
  uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dull;
}

int64_t wd_jitter(uint64_t *rng, int64_t span, double frac) {
  if (frac <= 0 || span <= 0)
    return 0;
  double u = (double)(wd_rand(rng) >> 11) / 9007199254740992.0; /* [0,1) */
  return (int64_t)((2 * u - 1) * frac * (double)span);
}

static int64_t next_interval(const struct wd_entry *e, uint64_t *rng) {
  return e->m->interval_ns + wd_jitter(rng, e->m->interval_ns, e->m->jitter);
}

void wd_sched_init(struct wd_entry *e, uint32_t i, uint32_t n, int64_t now) {
  int64_t spread = (int64_t)n * FIRST_ROUND_STEP_NS;
  if (spread > e->m->interval_ns)
    spread = e->m->interval_ns;
  e->due = now + (n ? spread * (int64_t)i / (int64_t)n : 0);
  e->hold_until = 0;
  e->heap_pos = -1;
  e->inflight = 0;
  e->started_ns = now;
  e->win_off = 0;
  e->win_next = INT64_MAX;
  e->win_eval_at = 0; /* the loop looks at the windows at once */
}

static int is_idle(const struct wd_entry *e, int64_t now) {
  int64_t idle = e->m->idle_after_ns;
  if (idle <= 0)
    return 0;
  int64_t last =
      e->last_touch_ns > e->started_ns ? e->last_touch_ns : e->started_ns;
  return now - last > idle;
}

enum wd_decision wd_sched_decide(struct wd_entry *e, const struct wd_budget *b,
                                 int64_t now) {
  if (atomic_load_explicit(&e->paused, memory_order_relaxed) ||
      (e->rec.flags & (WARMTH_F_KEY_PROBLEM | WARMTH_F_MODEL_PROBLEM)))
    return WD_SKIP_DISABLED;
  /* Outside the warm windows nothing is sent (an operator's warm aside).
   * win_next is when the off spell ends: from then on the window is open,
   * even before the loop's next look at it (else the due time could not
   * move past now). */
  if (e->win_off && !e->forced && now < e->win_next)
    return WD_SKIP_OFF_HOURS;
  if (now < e->hold_until)
    return WD_SKIP_HOLD;
  if (is_idle(e, now))
    return WD_SKIP_IDLE;
  /* Real traffic is warmth too: a real success within the last interval
   * makes this warmup redundant, once warmd believed it (state warm, see
   * wd_sched_demand); an unconfirmed report gets a confirming warmup. */
  if (e->real_ok_seen && now - e->real_ok_seen < e->m->interval_ns &&
      e->rec.state == WARMTH_WARM)
    return WD_SKIP_REAL;
  if (e->m->probe == WD_PROBE_CHAT && b && b->limit_nusd > 0 &&
      b->spent_nusd >= b->limit_nusd)
    return WD_SKIP_BUDGET;
  return WD_SEND;
}

void wd_sched_skip(struct wd_entry *e, enum wd_decision d, int64_t now,
                   uint64_t *rng) {
  switch (d) {
  case WD_SKIP_REAL:
    atomic_fetch_add_explicit(&e->n_skip_real, 1, memory_order_relaxed);
    e->due = e->real_ok_seen + next_interval(e, rng);
    break;
  case WD_SKIP_IDLE:
    atomic_fetch_add_explicit(&e->n_skip_idle, 1, memory_order_relaxed);
    e->due = INT64_MAX; /* a touch wakes it (wd_sched_demand) */
    break;
  case WD_SKIP_BUDGET:
    atomic_fetch_add_explicit(&e->n_skip_budget, 1, memory_order_relaxed);
    e->rec.flags |= WARMTH_F_BUDGET;
    e->due = now + e->m->interval_ns;
    break;
  case WD_SKIP_HOLD:
    e->due = e->hold_until;
    break;
  case WD_SKIP_DISABLED:
    e->due = INT64_MAX; /* resume or reload plans it again */
    break;
  case WD_SKIP_OFF_HOURS:
    e->due = e->win_next; /* wd_sched_window makes it due at the opening */
    break;
  case WD_SEND:
    break;
  }
}

/* Whether a worker's report of a real success may make the model warm: only
 * when the model is warm or reachable by a warmup (this host's, or in fleet
 * mode another host's) with no failure since, so the model answered warmd
 * and the report only keeps it so.  A report never turns a failing,
 * disabled (refused key, model problem, pause) or never-confirmed model
 * warm (DESIGN.md, demand segment): a worker must not fake warmth. */
static int report_trusted(const struct wd_entry *e) {
  const struct warmth__payload *p = &e->rec;
  return p->fails_in_row == 0 &&
         (p->state == WARMTH_WARM || p->state == WARMTH_REACHABLE);
}

/* A models probe found the id listed, no failure since: this is as far as
 * its probe gets (never warm), so a worker's touch must not bring the next
 * one forward (else every touch second sends one), and a probe in flight
 * does not turn it into "warming" (the demo's local-llama). */
static int reachable(const struct wd_entry *e) {
  return e->m->probe == WD_PROBE_MODELS && e->rec.fails_in_row == 0 &&
         e->rec.state == WARMTH_REACHABLE;
}

int wd_sched_demand(struct wd_entry *e, const struct warmth__demand *d,
                    int64_t now, uint32_t now_s) {
  int changed = 0, wake = 0;
  if (d->last_touch_s && d->last_touch_s != e->touch_s_seen &&
      d->last_touch_s <= now_s) {
    e->touch_s_seen = d->last_touch_s;
    e->last_touch_ns = now;
    wake = 1;
  }
  int64_t ok = d->real_ok_ns;
  if (ok > e->real_ok_seen && ok <= now && now - ok < REAL_OK_HORIZON_NS) {
    e->real_ok_seen = ok;
    e->last_touch_ns = now;
    if (report_trusted(e)) {
      e->rec.last_ok = ok;
      int64_t until = ok + e->m->warm_ttl_ns;
      if (until > e->rec.warm_until)
        e->rec.warm_until = until;
      e->rec.state = WARMTH_WARM;
      e->rec.flags |= WARMTH_F_REAL_TRAFFIC;
      changed |= 1;
    } else {
      wake = 1; /* warmd confirms with its own warmup first */
    }
  }
  /* A touch (or an unconfirmed report) on an idle or cold model warms it
   * within this tick, unless the model waits out a backoff, a Retry-After
   * or a headroom hold (hold_until), or is disabled: a touch never brings
   * a warmup forward past those (issue 12: touches during an outage sent a
   * request per second). */
  int cold = !(e->rec.state == WARMTH_WARM && now < e->rec.warm_until) &&
             !reachable(e);
  if (wake && cold && !e->inflight && now >= e->hold_until && e->due > now &&
      e->rec.state != WARMTH_DISABLED) {
    e->due = now;
    changed |= 2;
  }
  if (!e->inflight && (is_idle(e, now) || e->win_off) &&
      now >= e->rec.warm_until && e->rec.state != WARMTH_IDLE &&
      e->rec.state != WARMTH_DISABLED) {
    e->rec.state = WARMTH_IDLE;
    changed |= 1;
  }
  return changed;
}

int wd_sched_window(struct wd_entry *e, int active, int64_t next_mono,
                    int64_t now) {
  int changed = 0;
  e->win_next = active ? INT64_MAX : next_mono;
  if (!active && !e->win_off) {
    e->win_off = 1;
    e->rec.flags |= WARMTH_F_OFF_HOURS;
    if (!e->inflight && now >= e->rec.warm_until &&
        e->rec.state != WARMTH_DISABLED)
      e->rec.state = WARMTH_IDLE;
    changed = 1;
  } else if (active && (e->win_off || (e->rec.flags & WARMTH_F_OFF_HOURS))) {
    e->win_off = 0;
    e->rec.flags &= ~WARMTH_F_OFF_HOURS;
    if (e->rec.state == WARMTH_IDLE)
      e->rec.state = WARMTH_UNKNOWN;
    changed = 1;
    /* The window opens (warm_before early): warm now, unless a backoff or
     * Retry-After holds the model or it is disabled. */
    if (!e->inflight && e->rec.state != WARMTH_DISABLED && e->due > now) {
      e->due = now > e->hold_until ? now : e->hold_until;
      changed |= 2;
    }
  }
  if (e->win_off && !e->inflight && e->due < e->win_next && !e->forced) {
    e->due = e->win_next; /* nothing to do before the opening */
    changed |= 2;
  }
  return changed;
}

int wd_sched_sent(struct wd_entry *e, int64_t now) {
  e->inflight = 1;
  e->forced = 0;
  e->rec.flags &= ~WARMTH_F_BUDGET;
  if ((e->rec.state == WARMTH_WARM && now < e->rec.warm_until) || reachable(e))
    return 0;
  e->rec.state = WARMTH_WARMING;
  return 1;
}

int64_t wd_cost_nusd(const struct wd_model *m, uint64_t in, uint64_t out,
                     uint64_t cached, uint64_t cache_write) {
  /* in counts every input token, cached and cache-written ones included;
   * USD per million tokens is 1000 nano-USD per token. */
  uint64_t fresh = in > cached ? in - cached : 0;
  fresh = fresh > cache_write ? fresh - cache_write : 0;
  double c = ((double)fresh * m->price_in + (double)out * m->price_out +
              (double)cached * m->price_cached +
              (double)cache_write * m->price_cache_write) *
             1000.0;
  return c > 9e18 ? INT64_MAX : (int64_t)llround(c);
}

static uint32_t clamp_u32(int64_t v) {
  return v < 0 ? 0 : v > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)v;
}

static int now_warm(const struct warmth__payload *p, int64_t now) {
  return p->state == WARMTH_WARM && now < p->warm_until;
}

static void apply_ok(struct wd_entry *e, const struct wd_probe_result *r,
                     uint64_t *rng, int64_t *cost) {
  struct warmth__payload *p = &e->rec;
  const struct wd_model *m = e->m;
  atomic_fetch_add_explicit(&e->n_ok, 1, memory_order_relaxed);
  p->successes++;
  p->fails_in_row = 0;
  p->error_class = WARMTH_ERR_NONE;
  p->last_ok = r->ended_ns;
  p->ewma_latency_us = p->ewma_latency_us
                           ? (uint32_t)(EWMA_WEIGHT * r->total_us +
                                        (1 - EWMA_WEIGHT) * p->ewma_latency_us)
                           : r->total_us;
  p->tokens_in += r->tokens_in;
  p->tokens_out += r->tokens_out;
  p->tokens_cached += r->tokens_cached;
  atomic_fetch_add_explicit(&e->tokens_reasoning, r->tokens_reasoning,
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&e->tokens_cache_write, r->tokens_cache_write,
                            memory_order_relaxed);
  *cost = wd_cost_nusd(m, r->tokens_in, r->tokens_out, r->tokens_cached,
                       r->tokens_cache_write);
  p->cost_nusd += (uint64_t)*cost;
  p->flags &= ~(WARMTH_F_REAL_TRAFFIC | WARMTH_F_SLOW | WARMTH_F_PREFIX_CACHED);
  if (m->latency_alert_ns > 0 &&
      (int64_t)p->ewma_latency_us * 1000 > m->latency_alert_ns)
    p->flags |= WARMTH_F_SLOW;
  /* "Prefix cached" is about warmd's own prefix: a provider that caches
   * something of a bare "hi" probe does not make it so. */
  if (r->tokens_cached > 0 && m->probe_prefix_file)
    p->flags |= WARMTH_F_PREFIX_CACHED;
  p->flags &= ~WARMTH_F_MODEL_PROBLEM;
  if (++e->ok_in_row >= m->rise) {
    if (m->probe == WD_PROBE_MODELS) {
      /* The endpoint is up and lists the id; the model itself did not
       * answer (a lazily loading server lists unloaded models): reachable,
       * never warm.  Warmth from real traffic is kept as it is. */
      p->state = now_warm(p, r->ended_ns) ? WARMTH_WARM : WARMTH_REACHABLE;
    } else {
      p->state = WARMTH_WARM;
      /* the server's own word (Ollama's expires_at) over warm_ttl */
      p->warm_until =
          r->ended_ns + (r->warm_for_ns > 0 ? r->warm_for_ns : m->warm_ttl_ns);
    }
    e->due = r->started_ns + next_interval(e, rng);
  } else {
    /* Not yet `rise` successes in a row: confirm soon. */
    int64_t soon =
        m->interval_ns < BACKOFF_BASE_NS ? m->interval_ns : BACKOFF_BASE_NS;
    p->state = WARMTH_WARMING;
    e->due = r->ended_ns + soon;
  }
}

static void apply_fail(struct wd_entry *e, const struct wd_probe_result *r,
                       uint64_t *rng) {
  struct warmth__payload *p = &e->rec;
  const struct wd_model *m = e->m;
  atomic_fetch_add_explicit(&e->n_fail, 1, memory_order_relaxed);
  p->failures++;
  p->fails_in_row++;
  e->ok_in_row = 0;
  p->error_class = (uint16_t)r->error_class;
  if (r->error_class == WARMTH_ERR_AUTH || r->error_class == WARMTH_ERR_MODEL) {
    /* A refused key, or a model the provider does not have (not listed,
     * 404 model_not_found), is not retried: it needs an operator (reload
     * or warmctl resume). */
    p->flags |= r->error_class == WARMTH_ERR_AUTH ? WARMTH_F_KEY_PROBLEM
                                                  : WARMTH_F_MODEL_PROBLEM;
    p->state = WARMTH_DISABLED;
    e->due = INT64_MAX;
    return;
  }
  if (p->fails_in_row >= (uint32_t)m->fall)
    p->state = WARMTH_FAILING;
  else
    p->state = r->ended_ns < p->warm_until ? WARMTH_WARM : WARMTH_UNKNOWN;
  int64_t delay = wd_sched_backoff(m->interval_ns, r->error_class,
                                   r->retry_after_ns, p->fails_in_row);
  delay += wd_jitter(rng, delay, 0.2);
  e->due = r->ended_ns + delay;
  /* The backoff holds the model: a touch must not bring it forward. */
  e->hold_until = e->due;
}

int64_t wd_sched_backoff(int64_t interval_ns, int error_class,
                         int64_t retry_after_ns, uint32_t fails_in_row) {
  /* Exponential from 1 s, capped at the interval; for 429 and 5xx (an
   * overloaded or limiting provider) that did not say when to come back,
   * the cap is BACKOFF_MAX_INTERVALS intervals, at most BACKOFF_MAX_NS (but
   * never below the interval).  When it said (Retry-After), that is obeyed
   * (wd_sched_result) and the backoff stays within the interval. */
  int64_t cap = interval_ns;
  if ((error_class == WARMTH_ERR_RATE || error_class == WARMTH_ERR_SERVER) &&
      retry_after_ns < 0) {
    cap = interval_ns > INT64_MAX / BACKOFF_MAX_INTERVALS
              ? INT64_MAX
              : interval_ns * BACKOFF_MAX_INTERVALS;
    if (cap > BACKOFF_MAX_NS)
      cap = BACKOFF_MAX_NS > interval_ns ? BACKOFF_MAX_NS : interval_ns;
  }
  if (fails_in_row < 1)
    fails_in_row = 1;
  if (fails_in_row >= 40)
    return cap;
  int64_t b = BACKOFF_BASE_NS << (fails_in_row - 1);
  return b < cap ? b : cap;
}

/* No warmup was sent, on purpose: a pre-check (provider.h pre_reply) ended
 * the probe without an error.  Neither a success nor a failure.  A sleeping
 * vLLM is not warm whatever it was; a model Ollama has no room for keeps what
 * it had.  Both are asked again soon (the check itself is free): at most 30 s,
 * at most an interval. */
static void apply_held(struct wd_entry *e, const struct wd_probe_result *r,
                       uint64_t *rng) {
  struct warmth__payload *p = &e->rec;
  int64_t again = e->m->interval_ns < 30 * WD_NS_PER_S ? e->m->interval_ns
                                                       : 30 * WD_NS_PER_S;
  e->ok_in_row = 0;
  if (r->state == WARMTH_SLEEPING) {
    p->state = WARMTH_SLEEPING;
    if (p->warm_until > r->ended_ns)
      p->warm_until = r->ended_ns;
  } else if (r->warm_for_ns > 0) {
    /* loaded, for that long, without a warmup (Ollama: a client loaded it
     * with a longer keep_alive than ours; /api/ps says so) */
    p->state = WARMTH_WARM;
    p->warm_until = r->ended_ns + r->warm_for_ns;
  } else {
    p->state = r->ended_ns < p->warm_until ? WARMTH_WARM : WARMTH_UNKNOWN;
  }
  e->due = r->ended_ns + again + wd_jitter(rng, again, 0.1);
}

int64_t wd_sched_result(struct wd_entry *e, const struct wd_probe_result *r,
                        uint64_t *rng, int *old_state) {
  struct warmth__payload *p = &e->rec;
  int64_t cost = 0;
  *old_state = p->state;
  e->inflight = 0;
  p->last_probe = r->ended_ns;
  p->http_status = (uint16_t)(r->http_status > 0 ? r->http_status : 0);
  p->last_latency_us = r->total_us;
  p->dns_us = r->dns_us;
  p->connect_us = r->connect_us;
  p->tls_us = r->tls_us;
  p->ttfb_us = r->ttfb_us;
  int b = 0;
  while (r->total_us > wd_lat_bounds_us[b])
    b++;
  atomic_fetch_add_explicit(&e->lat_count[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&e->lat_sum_us, r->total_us, memory_order_relaxed);
  if (r->error_class >= 0 && r->error_class < WARMTH_ERR_CLASS_COUNT)
    atomic_fetch_add_explicit(&e->n_by_class[r->error_class], 1,
                              memory_order_relaxed);
  if (r->precheck_only && r->error_class == WARMTH_ERR_NONE)
    apply_held(e, r, rng);
  else if (r->ok)
    apply_ok(e, r, rng, &cost);
  else
    apply_fail(e, r, rng);

  p->flags &= ~WARMTH_F_THROTTLED;
  if (r->retry_after_ns >= 0 && !r->ok) {
    /* The provider said when: nothing before it, no jitter before it
     * (the backoff, when longer, still holds: apply_fail). */
    p->retry_after_until = r->ended_ns + r->retry_after_ns;
    if (p->retry_after_until > e->hold_until)
      e->hold_until = p->retry_after_until;
    p->flags |= WARMTH_F_THROTTLED;
    if (e->due != INT64_MAX && e->due < e->hold_until)
      e->due = e->hold_until;
  }
  if (r->headroom_requests >= 0)
    p->headroom_requests = clamp_u32(r->headroom_requests);
  if (r->headroom_tokens >= 0)
    p->headroom_tokens = clamp_u32(r->headroom_tokens);
  double floor = e->m->min_headroom;
  int under =
      floor > 0 &&
      ((r->limit_requests > 0 && r->headroom_requests >= 0 &&
        (double)r->headroom_requests < floor * (double)r->limit_requests) ||
       (r->limit_tokens > 0 && r->headroom_tokens >= 0 &&
        (double)r->headroom_tokens < floor * (double)r->limit_tokens));
  if (under) {
    /* Warmups must never eat the production rate limit: under the floor,
     * the next warmup waits one more interval. */
    atomic_fetch_add_explicit(&e->n_skip_throttle, 1, memory_order_relaxed);
    p->flags |= WARMTH_F_THROTTLED;
    int64_t hold = r->ended_ns + 2 * e->m->interval_ns;
    if (hold > e->hold_until)
      e->hold_until = hold;
    if (e->due != INT64_MAX && e->due < e->hold_until)
      e->due = e->hold_until;
  }
  return cost;
}

void wd_sched_unbuildable(struct wd_entry *e, struct wd_probe_result *r,
                          uint32_t model, int64_t now) {
  *r = (struct wd_probe_result){.model = model,
                                .error_class = WARMTH_ERR_CONNECT,
                                .started_ns = now,
                                .ended_ns = now,
                                .retry_after_ns = -1,
                                .headroom_requests = -1,
                                .limit_requests = -1,
                                .headroom_tokens = -1,
                                .limit_tokens = -1,
                                .reset_requests_ns = -1,
                                .reset_tokens_ns = -1};
  snprintf(r->error, sizeof r->error, "cannot build the request");
  e->inflight = 1;
}

/* ---- operator requests ----------------------------------------------------
 */

void wd_sched_warm_now(struct wd_entry *e, int64_t now) {
  if (e->inflight)
    return;
  e->hold_until = 0;
  e->due = now;
  e->forced = 1;          /* even outside the warm windows */
  e->last_touch_ns = now; /* an operator asking counts as demand */
  if (e->rec.state == WARMTH_IDLE)
    e->rec.state = WARMTH_UNKNOWN;
}

void wd_sched_pause(struct wd_entry *e) {
  atomic_store(&e->paused, 1); /* read by control threads (ctlcmd.c) */
  e->rec.flags |= WARMTH_F_PAUSED;
  e->rec.state = WARMTH_DISABLED;
  e->due = INT64_MAX;
}

void wd_sched_resume(struct wd_entry *e, int64_t now) {
  atomic_store(&e->paused, 0);
  e->rec.flags &=
      ~(WARMTH_F_PAUSED | WARMTH_F_KEY_PROBLEM | WARMTH_F_MODEL_PROBLEM);
  if (e->rec.state == WARMTH_DISABLED)
    e->rec.state = now < e->rec.warm_until ? WARMTH_WARM : WARMTH_UNKNOWN;
  e->hold_until = 0;
  e->due = now;
}

/* ---- the loop's clock ------------------------------------------------------
 */

int wd_budget_roll(struct wd_budget *b, int64_t day) {
  if (day == b->day)
    return 0;
  b->day = day;
  b->spent_nusd = 0;
  return 1;
}

int64_t wd_sched_wake(int64_t next_tick, const struct wd_entry *top,
                      int slot_free) {
  if (top && top->due < next_tick && slot_free)
    return top->due;
  return next_tick;
}
