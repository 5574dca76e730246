/* schedule.h - per-model scheduling: when to warm, what a result means.
 *
 * Pure functions over one model's entry, driven by the main loop (loop.c);
 * they read the clock only through their `now` argument (and results'
 * times), and randomness only through the rng state they are given, so
 * tests/unit/check_schedule.c drives them by hand.  Every scheduling
 * decision is here: due times, jitter, backoff, Retry-After, headroom,
 * idle, real traffic, the daily budget and the operator's warm, pause and
 * resume.  Every "may I warm this model now?" decision is wd_sched_decide():
 * a fleet lease (DESIGN.md, "more than one host") plugs in there.
 */
#ifndef WARMD_SCHEDULE_H
#define WARMD_SCHEDULE_H

#include <stdatomic.h>
#include <stdint.h>

#include "layout.h"
#include "rcu.h"
#include "recent.h"
#include "warmd.h"
#include "writer.h"

#define WD_LAT_BUCKETS 10
extern const uint64_t wd_lat_bounds_us[WD_LAT_BUCKETS]; /* last: UINT64_MAX */

struct wd_entry {
  struct cds_lfht_node node; /* in the table's name hash (other threads) */
  struct rcu_head rcu;       /* freed after a grace period */
  uint32_t epoch;            /* config generation that made this entry */
  /* Identity: fixed for the entry's life. */
  char name[WARMTH_NAME_MAX + 1];
  const struct wd_model *m;
  const struct wd_endpoint *ep;
  uint32_t model_idx; /* index in the config's models (probe requests) */
  uint32_t slot;      /* record slot in the table */

  /* Scheduler thread only. */
  int64_t due;        /* next warmup, or INT64_MAX when none planned */
  int64_t hold_until; /* backoff / Retry-After / headroom: not before */
  int heap_pos;       /* position in the due heap, -1 if not in it */
  int inflight;
  int ok_in_row;
  int64_t last_touch_ns; /* last touch seen in the demand segment */
  uint32_t touch_s_seen;
  int64_t real_ok_seen;       /* last real success already accounted */
  int64_t started_ns;         /* warmd start or model add: counts as a touch */
  struct warmth__payload rec; /* what the table says (our copy) */

  /* Read by other threads (control, metrics). */
  _Atomic uint64_t n_ok, n_fail, n_skip_real, n_skip_idle, n_skip_budget,
      n_skip_throttle;
  _Atomic int paused; /* operator pause (warmctl pause) */
  /* Warmup latencies for /metrics: per bucket (not cumulative), upper
   * bounds in wd_lat_bounds_us, the last one +Inf; and results by class. */
  _Atomic uint64_t lat_count[WD_LAT_BUCKETS];
  _Atomic uint64_t lat_sum_us;
  _Atomic uint64_t n_by_class[WARMTH_ERR_CLASS_COUNT];
  /* Last latencies and today's cost, for the status page (recent.h);
   * written by the main thread. */
  struct wd_recent recent;

  /* Fleet mode (fleetloop.c), scheduler thread only. */
  int fleet_on;              /* this model's warmth is shared with the fleet */
  int fleet_claim;           /* enum wd_fleet_claim_state */
  uint32_t fleet_seq;        /* the claim in flight: older replies dropped */
  int64_t fleet_deadline;    /* warm locally if no reply by then */
  int64_t fleet_planned;     /* e->due before the claim moved it: lateness */
  int64_t fleet_real_posted; /* real success last reported to the fleet */
  /* Read by other threads. */
  _Atomic uint64_t n_skip_fleet; /* skipped: the fleet had a warmup */
  /* Parts of the record's tokens that its ABI has no field for (provider.h:
   * reasoning is a part of tokens_out, cache writes of tokens_in); main
   * thread writes, others read. */
  _Atomic uint64_t tokens_reasoning, tokens_cache_write;
};

/* What the scheduler may do when a model is due. */
enum wd_decision {
  WD_SEND = 0,
  WD_SKIP_REAL,     /* real traffic kept it warm: no warmup needed */
  WD_SKIP_IDLE,     /* nobody touched it for idle_after */
  WD_SKIP_BUDGET,   /* daily budget spent (chat probes only) */
  WD_SKIP_HOLD,     /* backoff, Retry-After or headroom: wait */
  WD_SKIP_DISABLED, /* key problem or operator pause */
};

struct wd_budget {
  int64_t limit_nusd; /* 0 = no limit */
  int64_t spent_nusd; /* spent in the current UTC day */
  int64_t day;        /* UTC day number of spent_nusd */
};

/* Small xorshift PRNG for jitter; one state per thread. */
uint64_t wd_rand(uint64_t *state);
/* Uniform in [-frac, +frac] of span. */
int64_t wd_jitter(uint64_t *rng, int64_t span, double frac);

/* Initialises an entry's schedule (entry i of n): the first round is
 * spread evenly over min(interval, n * 10 ms) so a start never fires every
 * model at once. */
void wd_sched_init(struct wd_entry *e, uint32_t i, uint32_t n, int64_t now);

/* Decides what to do with a due model. */
enum wd_decision wd_sched_decide(struct wd_entry *e, const struct wd_budget *b,
                                 int64_t now);

/* Plans the next warmup after a decision that sent nothing. */
void wd_sched_skip(struct wd_entry *e, enum wd_decision d, int64_t now,
                   uint64_t *rng);

/* Folds in the demand segment.  Returns a bitmask: 1 when the record
 * changed (real traffic extended warmth, idle state entered; publish it),
 * 2 when a touch on a cold or idle model made it due now (fix its heap
 * position); 0 when nothing changed. */
int wd_sched_demand(struct wd_entry *e, const struct warmth__demand *d,
                    int64_t now, uint32_t now_s);

/* Marks the record as warming when a probe is sent; returns 1 if changed. */
int wd_sched_sent(struct wd_entry *e, int64_t now);

/* Applies a probe result: updates the record, the counters and the next
 * due time.  Returns the cost of the probe in nano-USD.  *old_state is set
 * to the state before the result (for the log and the event log). */
int64_t wd_sched_result(struct wd_entry *e, const struct wd_probe_result *r,
                        uint64_t *rng, int *old_state);

/* A request that could not be built (bad URL or id, wd_prober_submit
 * returned -2): marks e in flight and fills r as a connect failure of the
 * probe `model`, for wd_sched_result, so the model backs off instead of
 * blocking the heap top. */
void wd_sched_unbuildable(struct wd_entry *e, struct wd_probe_result *r,
                          uint32_t model, int64_t now);

/* ---- operator requests (warmctl warm, pause, resume) ----------------------
 */
/* Warm now: once, even when idle, held back or waiting for its due time;
 * counts as demand.  Nothing when a warmup is already in flight. */
void wd_sched_warm_now(struct wd_entry *e, int64_t now);
/* Stops warming until resumed: state disabled, flag paused. */
void wd_sched_pause(struct wd_entry *e);
/* Resumes a paused model (and clears a key problem): warm again if its
 * warmth has not run out, due at once. */
void wd_sched_resume(struct wd_entry *e, int64_t now);

/* ---- the loop's clock ------------------------------------------------------
 */
/* Starts a new budget day when `day` (UTC day number) is not b's; returns 1
 * then (the "budget reached" notice may be logged again), else 0. */
int wd_budget_roll(struct wd_budget *b, int64_t day);
/* When the loop must wake: next_tick, or top's due time when earlier and a
 * probe slot is free (slot_free); top may be NULL. */
int64_t wd_sched_wake(int64_t next_tick, const struct wd_entry *top,
                      int slot_free);

/* Cost of a probe in nano-USD from its usage and the model's prices: in
 * counts cached and cache-written input too (priced at price_cached and
 * price_cache_write, the rest at price_in); out counts reasoning tokens
 * too, all at price_out. */
int64_t wd_cost_nusd(const struct wd_model *m, uint64_t in, uint64_t out,
                     uint64_t cached, uint64_t cache_write);

#endif
