/* fleetloop.c - see fleetloop.h.
 *
 * Schedule alignment: every host, after a warmup of the fleet (its own or
 * another's), plans the model's next warmup at the warmup's start + the
 * interval + a random offset in [0, jitter * interval].  The host with the
 * smallest offset claims first and wins; the others then find a fresh
 * record (one round trip) and align again.  So the fleet sends one warmup
 * per interval, late by the smallest of N offsets (jitter * interval /
 * (N + 1) on average), never early.  The offset is one-sided because a
 * symmetric jitter would let the earliest of N hosts pull every round
 * forward, by nearly the whole jitter with many hosts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "events.h"
#include "fleetloop.h"
#include "log.h"

/* A record is fresh when its warmup started less than interval - slack
 * ago: the slack absorbs the error of converting Redis ages into our clock
 * (one round trip), so a host due exactly one interval after the record
 * claims instead of skipping by a hair and asking again. */
#define FRESH_SLACK_NS (50 * WD_NS_PER_MS)
/* A loser asks again when the winner should be done: twice the record's
 * last latency, at least this, at most the lease's time left. */
#define LOST_RECHECK_MIN_NS (250 * WD_NS_PER_MS)
/* Real successes are reported at most this often per model (a fraction of
 * the interval): enough to hold the fleet, few round trips. */
#define REAL_REPORT_DIV 4
/* While the first handshake runs, a due model looks again this often. */
#define WD_FLEET_START_POLL_NS (5 * WD_NS_PER_MS)
/* The record outlives two intervals by this (fleetproto.h). */
#define REC_TTL_EXTRA_MS 3600000LL

int wd_fleet_applies(int endpoint_fleet, const char *base_url) {
  if (endpoint_fleet == 1) /* yes */
    return 1;
  if (endpoint_fleet == 2) /* no */
    return 0;
  return wd_fleet_url_is_upstream(base_url);
}

void wd_fleet_mark(struct wd_fleet *f, struct wd_table *t) {
  for (uint32_t i = 0; i < t->n; i++) {
    struct wd_entry *e = t->v[i];
    e->fleet_on = f && wd_fleet_applies(e->ep->fleet, e->ep->base_url);
    if (!e->fleet_on)
      e->fleet_claim = WD_FCS_NONE;
  }
}

static int64_t model_timeout(const struct wd_entry *e) {
  return e->m->timeout_ns > 0 ? e->m->timeout_ns : e->ep->timeout_ns;
}

static int64_t rec_ttl_ms(const struct wd_entry *e) {
  return 2 * (e->m->interval_ns / WD_NS_PER_MS) + REC_TTL_EXTRA_MS;
}

static struct wd_fleet_msg *new_msg(int op, const struct wd_entry *e,
                                    uint64_t tag, int64_t now) {
  struct wd_fleet_msg *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  m->op = op;
  m->tag = tag;
  m->seq = e->fleet_seq;
  m->posted_ns = now;
  m->ttl_ms = rec_ttl_ms(e);
  snprintf(m->model, sizeof m->model, "%s", e->name);
  return m;
}

int wd_fleet_gate(struct wd_fleet *f, struct wd_entry *e, uint64_t tag,
                  int64_t now) {
  if (!f || !e->fleet_on)
    return 1;
  switch (e->fleet_claim) {
  case WD_FCS_GO:
    /* The loop measures lateness from e->due: the time planned, not the
     * time the claim came back. */
    e->fleet_claim = WD_FCS_NONE;
    e->due = e->fleet_planned;
    return 1;
  case WD_FCS_POSTED:
    if (now < e->fleet_deadline) {
      e->due = e->fleet_deadline;
      return 0;
    }
    /* No answer within the timeout (the thread is stuck on a slow
     * Redis): warm locally now; a late reply is dropped by its seq. */
    e->fleet_claim = WD_FCS_NONE;
    e->fleet_seq++;
    e->due = e->fleet_planned;
    atomic_fetch_add(&f->local_fallbacks, 1);
    return 1;
  default:
    break;
  }
  if (atomic_load(&f->state) != WD_FLEET_OK) {
    if (!atomic_load(&f->tried) && now < f->first_deadline_ns) {
      /* Starting: the first handshake is under way (fleet.h). */
      e->due = now + WD_FLEET_START_POLL_NS;
      return 0;
    }
    atomic_fetch_add(&f->local_fallbacks, 1);
    return 1; /* degraded: per-host warming, at once */
  }
  int64_t busy = atomic_load(&f->busy_since_ns);
  if (busy && now - busy > f->timeout_ns / 2) {
    /* The thread has been stuck in one call (a hung Redis): a claim now
     * would only wait for its deadline.  The thread's timeout will make
     * the state degraded soon. */
    atomic_fetch_add(&f->local_fallbacks, 1);
    return 1;
  }
  e->fleet_seq++;
  struct wd_fleet_msg *m = new_msg(WD_FOP_CLAIM, e, tag, now);
  if (!m)
    return 1;
  m->lease_ms = (model_timeout(e) + WD_NS_PER_S) / WD_NS_PER_MS;
  int64_t slack = e->m->interval_ns / 10 < FRESH_SLACK_NS
                      ? e->m->interval_ns / 10
                      : FRESH_SLACK_NS;
  m->fresh_ms = (e->m->interval_ns - slack) / WD_NS_PER_MS;
  wd_fleet_post(f, m);
  DEBUG_LOG("fleet: model %s: claim posted (lease %lld ms)", e->name,
            (long long)m->lease_ms);
  e->fleet_claim = WD_FCS_POSTED;
  e->fleet_planned = e->due;
  e->fleet_deadline = now + f->timeout_ns;
  e->due = e->fleet_deadline;
  return 0;
}

void wd_fleet_force(struct wd_entry *e, int64_t now) {
  if (!e->fleet_on)
    return;
  e->fleet_claim = WD_FCS_GO;
  e->fleet_seq++; /* a claim in flight is moot */
  e->fleet_planned = now;
}

/* [0, jitter * interval]: see the top of the file. */
static int64_t offset(const struct wd_entry *e, uint64_t *rng) {
  double j = e->m->jitter;
  if (j <= 0)
    return 0;
  double u = (double)(wd_rand(rng) >> 11) / 9007199254740992.0;
  return (int64_t)(u * j * (double)e->m->interval_ns);
}

/* The fleet had a warmup (or real traffic) that covers now: publish the
 * model warm as if this host had warmed it, and plan the next one. */
static int apply_fresh(struct wd_entry *e, const struct wd_fleet_msg *m,
                       uint64_t *rng, int64_t now) {
  const struct wd_fleet_rec *r = &m->rec;
  struct warmth__payload *p = &e->rec;
  int64_t at = m->local_at ? m->local_at : now;
  int64_t ok = r->ok_ms ? wd_fleet_to_local(r->ok_ms, r->now_ms, at) : 0;
  int64_t real = r->real_ms ? wd_fleet_to_local(r->real_ms, r->now_ms, at) : 0;
  int64_t warm = ok > real ? ok : real;
  int64_t until = 0;
  if (r->ok_ms)
    until = ok + r->lat_us * 1000 + e->m->warm_ttl_ns;
  if (r->real_ms && real + e->m->warm_ttl_ns > until)
    until = real + e->m->warm_ttl_ns;
  int old = p->state;
  if (p->state != WARMTH_DISABLED && until > now) {
    p->state = WARMTH_WARM;
    p->flags |= WARMTH_F_FLEET;
    if (until > p->warm_until)
      p->warm_until = until;
    if (warm > p->last_ok)
      p->last_ok = warm;
  }
  e->due = warm + e->m->interval_ns + offset(e, rng);
  if (e->due <= now) /* cannot happen for a fresh record; be safe */
    e->due = now + e->m->interval_ns / 2;
  return old;
}

void wd_fleet_poll(struct wd_fleet *f, struct wd_table *t, int64_t now,
                   uint64_t *rng, wd_fleet_publish_fn publish, void *arg) {
  if (!f)
    return;
  struct wd_fleet_msg *m = wd_fleet_take(f);
  while (m) {
    struct wd_fleet_msg *next = m->next;
    uint32_t idx;
    struct wd_entry *e = NULL;
    if (wd_table_untag(t, m->tag, &idx) == 0)
      e = t->v[idx];
    if (m->op == WD_FOP_CLAIM && e && e->fleet_claim == WD_FCS_POSTED &&
        e->fleet_seq == m->seq) {
      e->fleet_claim = WD_FCS_NONE;
      uint32_t flags = e->rec.flags;
      int old = e->rec.state;
      DEBUG_LOG("fleet: model %s: claim %s", e->name,
                m->rc != 0                     ? "unanswered: warming here"
                : m->rec.status == WD_FC_WON   ? "won: warming here"
                : m->rec.status == WD_FC_FRESH ? "fresh: the fleet warmed it"
                : m->rec.status == WD_FC_LOST  ? "lost: another host warms it"
                : m->rec.status == WD_FC_HELD  ? "held: the fleet backs off"
                                               : "answered");
      if (m->rc != 0) {
        /* Redis did not answer: warm locally at once. */
        atomic_fetch_add(&f->local_fallbacks, 1);
        e->fleet_claim = WD_FCS_GO;
        e->due = now;
      } else {
        switch (m->rec.status) {
        case WD_FC_WON:
          atomic_fetch_add(&f->leases_won, 1);
          e->fleet_claim = WD_FCS_GO;
          e->due = now;
          break;
        case WD_FC_FRESH:
          atomic_fetch_add(&f->skipped_fleet, 1);
          atomic_fetch_add_explicit(&e->n_skip_fleet, 1, memory_order_relaxed);
          old = apply_fresh(e, m, rng, now);
          break;
        case WD_FC_LOST: {
          atomic_fetch_add(&f->leases_lost, 1);
          int64_t wait = 2 * m->rec.lat_us * 1000;
          if (wait < LOST_RECHECK_MIN_NS)
            wait = LOST_RECHECK_MIN_NS;
          if (m->rec.lease_pttl > 0 && wait > m->rec.lease_pttl * WD_NS_PER_MS)
            wait = m->rec.lease_pttl * WD_NS_PER_MS;
          e->due = now + wait;
          break;
        }
        case WD_FC_HELD: {
          int64_t at = m->local_at ? m->local_at : now;
          int64_t h = wd_fleet_to_local(m->rec.hold_ms, m->rec.now_ms, at);
          if (h > e->hold_until)
            e->hold_until = h;
          if (m->rec.thr) {
            e->rec.flags |= WARMTH_F_THROTTLED;
            if (h > e->rec.retry_after_until)
              e->rec.retry_after_until = h;
          }
          /* Spread the hosts' claims after the hold a little. */
          e->due = e->hold_until + offset(e, rng) / 4;
          break;
        }
        default:
          e->due = now; /* cannot happen (decoded): warm */
          e->fleet_claim = WD_FCS_GO;
        }
      }
      if (old != e->rec.state) {
        LOG(LOG_INFO, "model %s: %s -> %s (fleet)", e->name,
            warmth_state_name(old), warmth_state_name(e->rec.state));
        wd_event(e, old, "warm in the fleet");
      }
      if (old != e->rec.state || flags != e->rec.flags ||
          m->rec.status == WD_FC_FRESH)
        publish(arg, e);
      wd_heap_fix(t, e);
    }
    free(m);
    m = next;
  }
}

void wd_fleet_result(struct wd_fleet *f, struct wd_entry *e,
                     const struct wd_probe_result *r, int64_t cost_nusd,
                     uint64_t *rng, int64_t now) {
  if (!f || !e->fleet_on)
    return;
  wd_fleet_count_sent(f, now);
  if (r->ok) {
    e->rec.flags &= ~WARMTH_F_FLEET;
    if (e->rec.state == WARMTH_WARM && e->due != INT64_MAX &&
        e->hold_until <= r->started_ns + e->m->interval_ns)
      e->due = r->started_ns + e->m->interval_ns + offset(e, rng);
  }
  if (atomic_load(&f->state) != WD_FLEET_OK)
    return; /* the record would not be written: keep the queue empty */
  struct wd_fleet_msg *m = new_msg(WD_FOP_RESULT, e, 0, now);
  if (!m)
    return;
  m->ok = r->ok;
  m->cls = r->error_class;
  m->http = r->http_status;
  m->lat_us = r->total_us;
  int64_t dur = r->ended_ns - r->started_ns;
  m->dur_ms = dur > 0 ? dur / WD_NS_PER_MS : 0;
  m->tin = r->tokens_in;
  m->tout = r->tokens_out;
  m->tcach = r->tokens_cached;
  m->cost_usd = (double)cost_nusd / 1e9;
  /* What holds the fleet: a Retry-After or a rate-limit floor (thr), or a
   * failure's backoff (so N hosts do not each retry a failing model).  A
   * refused key holds nobody: keys may differ between hosts. */
  if (e->hold_until > now) {
    m->hold_ms = (e->hold_until - now) / WD_NS_PER_MS;
    m->thr = (e->rec.flags & WARMTH_F_THROTTLED) != 0;
  } else if (!r->ok && e->due != INT64_MAX && e->due > now) {
    m->hold_ms = (e->due - now) / WD_NS_PER_MS;
  }
  wd_fleet_post(f, m);
}

void wd_fleet_real(struct wd_fleet *f, struct wd_entry *e, int64_t now) {
  if (!f || !e->fleet_on || e->real_ok_seen <= e->fleet_real_posted ||
      atomic_load(&f->state) != WD_FLEET_OK)
    return;
  if (e->fleet_real_posted && e->real_ok_seen - e->fleet_real_posted <
                                  e->m->interval_ns / REAL_REPORT_DIV)
    return;
  struct wd_fleet_msg *m = new_msg(WD_FOP_REAL, e, 0, now);
  if (!m)
    return;
  int64_t age = now - e->real_ok_seen;
  m->real_age_ms = age > 0 ? age / WD_NS_PER_MS : 0;
  e->fleet_real_posted = e->real_ok_seen;
  wd_fleet_post(f, m);
}

int64_t wd_fleet_budget(struct wd_fleet *f) {
  if (!f || !f->budget_fleet)
    return -1;
  return atomic_load(&f->budget_spent_nusd);
}
