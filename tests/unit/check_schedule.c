/* check_schedule.c - unit tests of warmd's scheduling decisions
 * (tools/warmd/schedule.c).
 *
 * Time is driven by hand: every function under test reads the clock only
 * through its `now` argument and the times of the results it is given, so
 * these tests pick the times (T0 and offsets from it) and need no sleep.
 * Jitter comes from a seeded xorshift state; bounds are checked over many
 * draws, never a single value.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "schedule.h"

Suite *schedule_suite(void);

#define S WD_NS_PER_S
#define MS WD_NS_PER_MS
#define T0 (1000 * S) /* an arbitrary monotonic time */

static struct wd_model model;
static struct wd_endpoint endpoint;
static struct wd_entry *e;
static uint64_t rng;

static void setup(void) {
  memset(&model, 0, sizeof model);
  memset(&endpoint, 0, sizeof endpoint);
  model.name = "m";
  model.interval_ns = WD_DEFAULT_INTERVAL_NS;
  model.jitter = WD_DEFAULT_JITTER;
  model.warm_ttl_ns = WD_DEFAULT_WARM_TTL_NS;
  model.rise = WD_DEFAULT_RISE;
  model.fall = WD_DEFAULT_FALL;
  model.max_tokens = WD_DEFAULT_MAX_TOKENS;
  model.probe = WD_PROBE_CHAT;
  e = calloc(1, sizeof *e);
  ck_assert_ptr_nonnull(e);
  e->m = &model;
  e->ep = &endpoint;
  rng = 0x5eed;
  wd_sched_init(e, 0, 1, T0);
}

static void teardown(void) { free(e); }

/* A result as the prober would hand it, sent at `at` and answered 100 ms
 * later: no rate-limit information unless the test sets some. */
static struct wd_probe_result result(int ok, int error_class, int64_t at) {
  struct wd_probe_result r = {.ok = ok,
                              .http_status = ok ? 200 : 500,
                              .error_class = error_class,
                              .started_ns = at,
                              .ended_ns = at + 100 * MS,
                              .total_us = 100000,
                              .retry_after_ns = -1,
                              .headroom_requests = -1,
                              .limit_requests = -1,
                              .headroom_tokens = -1,
                              .limit_tokens = -1,
                              .reset_requests_ns = -1,
                              .reset_tokens_ns = -1};
  return r;
}

/* Sends a warmup at `at` and applies its result; returns the old state. */
static int probe(int ok, int error_class, int64_t at) {
  int old;
  ck_assert_int_eq(wd_sched_decide(e, NULL, at), WD_SEND);
  wd_sched_sent(e, at);
  struct wd_probe_result r = result(ok, error_class, at);
  wd_sched_result(e, &r, &rng, &old);
  return old;
}

/* ---- due times ------------------------------------------------------------
 */

START_TEST(test_first_round_spread) {
  /* 8 models of 240 s: spread over 8 * 10 ms, 10 ms apart. */
  for (uint32_t i = 0; i < 8; i++) {
    wd_sched_init(e, i, 8, T0);
    ck_assert_int_eq(e->due, T0 + (int64_t)i * 10 * MS);
    ck_assert_int_eq(e->hold_until, 0);
    ck_assert_int_eq(e->inflight, 0);
    ck_assert_int_eq(e->heap_pos, -1);
  }
  /* 1000 models of 2 s: the spread stops at the interval. */
  model.interval_ns = 2 * S;
  wd_sched_init(e, 999, 1000, T0);
  ck_assert_int_lt(e->due, T0 + 2 * S);
  ck_assert_int_ge(e->due, T0 + 2 * S - 2 * S / 1000);
}
END_TEST

START_TEST(test_ok_plans_next_interval) {
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  int64_t at = T0;
  for (int i = 0; i < 200; i++) {
    probe(1, WARMTH_ERR_NONE, at);
    ck_assert_int_eq(e->rec.state, WARMTH_WARM);
    ck_assert_int_eq(e->rec.warm_until, at + 100 * MS + model.warm_ttl_ns);
    ck_assert_int_eq(e->inflight, 0);
    /* Next warmup: one interval after the start of this one, +-10%. */
    int64_t gap = e->due - at;
    lo = gap < lo ? gap : lo;
    hi = gap > hi ? gap : hi;
    at = e->due;
  }
  ck_assert_int_ge(lo, model.interval_ns - model.interval_ns / 10);
  ck_assert_int_le(hi, model.interval_ns + model.interval_ns / 10);
  ck_assert_msg(hi - lo > model.interval_ns / 20,
                "200 intervals jittered by +-10%% spread over %lld ns only",
                (long long)(hi - lo));
  ck_assert_int_eq(e->rec.successes, 200);
}
END_TEST

START_TEST(test_rise_confirms_soon) {
  model.rise = 2;
  probe(1, WARMTH_ERR_NONE, T0);
  ck_assert_int_eq(e->rec.state, WARMTH_WARMING);
  ck_assert_int_eq(e->due, T0 + 100 * MS + 1 * S); /* confirm in 1 s */
  probe(1, WARMTH_ERR_NONE, e->due);
  ck_assert_int_eq(e->rec.state, WARMTH_WARM);
}
END_TEST

/* ---- jitter ---------------------------------------------------------------
 */

START_TEST(test_jitter_bounds) {
  int neg = 0, pos = 0;
  for (int i = 0; i < 10000; i++) {
    int64_t j = wd_jitter(&rng, 1000 * MS, 0.25);
    ck_assert_int_ge(j, -250 * MS);
    ck_assert_int_le(j, 250 * MS);
    neg += j < -200 * MS;
    pos += j > 200 * MS;
  }
  /* Uniform: a tenth of the draws in each outer fifth, give or take. */
  ck_assert_int_gt(neg, 500);
  ck_assert_int_gt(pos, 500);
  ck_assert_int_eq(wd_jitter(&rng, 1000 * MS, 0), 0);
  ck_assert_int_eq(wd_jitter(&rng, 0, 0.5), 0);
}
END_TEST

/* ---- backoff --------------------------------------------------------------
 */

START_TEST(test_backoff_doubles_to_interval) {
  model.interval_ns = 60 * S;
  int64_t at = T0;
  for (int k = 1; k <= 10; k++) {
    probe(0, WARMTH_ERR_SERVER, at);
    ck_assert_int_eq(e->rec.fails_in_row, k);
    ck_assert_int_eq(e->rec.state,
                     k >= model.fall ? WARMTH_FAILING : WARMTH_UNKNOWN);
    int64_t base = (int64_t)S << (k - 1);
    if (base > model.interval_ns)
      base = model.interval_ns;
    int64_t delay = e->due - (at + 100 * MS);
    ck_assert_msg(delay >= base - base / 5 && delay <= base + base / 5,
                  "failure %d: next in %lld ns, want %lld +-20%%", k,
                  (long long)delay, (long long)base);
    at = e->due;
  }
  /* A success ends the backoff. */
  probe(1, WARMTH_ERR_NONE, at);
  ck_assert_int_eq(e->rec.fails_in_row, 0);
  ck_assert_int_eq(e->rec.state, WARMTH_WARM);
}
END_TEST

START_TEST(test_failure_while_warm_stays_warm) {
  probe(1, WARMTH_ERR_NONE, T0);
  probe(0, WARMTH_ERR_TIMEOUT, T0 + 10 * S); /* warmth lasts 300 s */
  ck_assert_int_eq(e->rec.state, WARMTH_WARM);
}
END_TEST

START_TEST(test_auth_disables) {
  probe(0, WARMTH_ERR_AUTH, T0);
  ck_assert_int_eq(e->rec.state, WARMTH_DISABLED);
  ck_assert(e->rec.flags & WARMTH_F_KEY_PROBLEM);
  ck_assert_int_eq(e->due, INT64_MAX);
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 3600 * S), WD_SKIP_DISABLED);
}
END_TEST

/* ---- Retry-After and headroom ---------------------------------------------
 */

START_TEST(test_retry_after_obeyed) {
  struct wd_probe_result r = result(0, WARMTH_ERR_RATE, T0);
  r.http_status = 429;
  r.retry_after_ns = 30 * S;
  int old;
  wd_sched_sent(e, T0);
  wd_sched_result(e, &r, &rng, &old);
  int64_t until = T0 + 100 * MS + 30 * S;
  ck_assert_int_eq(e->hold_until, until);
  ck_assert_int_eq(e->rec.retry_after_until, until);
  ck_assert(e->rec.flags & WARMTH_F_THROTTLED);
  ck_assert_int_ge(e->due, until); /* no jitter before it */
  ck_assert_int_eq(wd_sched_decide(e, NULL, until - 1), WD_SKIP_HOLD);
  wd_sched_skip(e, WD_SKIP_HOLD, until - 1, &rng);
  ck_assert_int_eq(e->due, until);
  ck_assert_int_eq(wd_sched_decide(e, NULL, until), WD_SEND);
}
END_TEST

START_TEST(test_headroom_floor_holds) {
  model.min_headroom = 0.10;
  struct wd_probe_result r = result(1, WARMTH_ERR_NONE, T0);
  r.limit_requests = 100;
  r.headroom_requests = 5; /* under 10% */
  int old;
  wd_sched_sent(e, T0);
  wd_sched_result(e, &r, &rng, &old);
  ck_assert(e->rec.flags & WARMTH_F_THROTTLED);
  ck_assert_int_eq(e->rec.headroom_requests, 5);
  ck_assert_int_eq(e->hold_until, T0 + 100 * MS + 2 * model.interval_ns);
  ck_assert_int_eq(e->due, e->hold_until);
  /* Above the floor: no hold. */
  r = result(1, WARMTH_ERR_NONE, e->due);
  r.limit_requests = 100;
  r.headroom_requests = 50;
  wd_sched_sent(e, r.started_ns);
  wd_sched_result(e, &r, &rng, &old);
  ck_assert(!(e->rec.flags & WARMTH_F_THROTTLED));
}
END_TEST

/* ---- idle -----------------------------------------------------------------
 */

START_TEST(test_idle_and_touch) {
  model.idle_after_ns = 60 * S;
  struct warmth__demand d = {0};
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 60 * S), WD_SEND);
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 61 * S), WD_SKIP_IDLE);
  wd_sched_skip(e, WD_SKIP_IDLE, T0 + 61 * S, &rng);
  ck_assert_int_eq(e->due, INT64_MAX);
  /* The demand tick marks it idle (nothing warm left to wait for). */
  ck_assert_int_eq(wd_sched_demand(e, &d, T0 + 61 * S, 61) & 1, 1);
  ck_assert_int_eq(e->rec.state, WARMTH_IDLE);
  ck_assert_int_eq(wd_sched_demand(e, &d, T0 + 62 * S, 62), 0);
  /* A worker's touch makes it due at once (bit 2: move it in the heap). */
  d.last_touch_s = 62;
  ck_assert_int_eq(wd_sched_demand(e, &d, T0 + 63 * S, 63), 2);
  ck_assert_int_eq(e->due, T0 + 63 * S);
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 63 * S), WD_SEND);
  /* The same touch seen again changes nothing. */
  ck_assert_int_eq(wd_sched_demand(e, &d, T0 + 64 * S, 64), 0);
}
END_TEST

START_TEST(test_touch_from_the_future_ignored) {
  model.idle_after_ns = 60 * S;
  struct warmth__demand d = {.last_touch_s = 100};
  e->due = T0 + 200 * S;
  ck_assert_int_eq(wd_sched_demand(e, &d, T0 + 10 * S, 99), 0);
  ck_assert_int_eq(e->due, T0 + 200 * S);
}
END_TEST

/* ---- real traffic ---------------------------------------------------------
 */

START_TEST(test_real_traffic_replaces_warmup) {
  struct warmth__demand d = {.real_ok_ns = T0 + 5 * S};
  ck_assert_int_eq(wd_sched_demand(e, &d, T0 + 6 * S, 6) & 1, 1);
  ck_assert_int_eq(e->rec.state, WARMTH_WARM);
  ck_assert(e->rec.flags & WARMTH_F_REAL_TRAFFIC);
  ck_assert_int_eq(e->rec.warm_until, T0 + 5 * S + model.warm_ttl_ns);
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 7 * S), WD_SKIP_REAL);
  wd_sched_skip(e, WD_SKIP_REAL, T0 + 7 * S, &rng);
  int64_t gap = e->due - (T0 + 5 * S);
  ck_assert_int_ge(gap, model.interval_ns - model.interval_ns / 10);
  ck_assert_int_le(gap, model.interval_ns + model.interval_ns / 10);
  ck_assert_int_eq(atomic_load(&e->n_skip_real), 1);
  /* A real success older than an interval no longer replaces a warmup. */
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 5 * S + model.interval_ns),
                   WD_SEND);
  /* Claims from the future are ignored. */
  d.real_ok_ns = T0 + 100 * S;
  ck_assert_int_eq(wd_sched_demand(e, &d, T0 + 8 * S, 8), 0);
}
END_TEST

/* ---- budget ---------------------------------------------------------------
 */

START_TEST(test_budget) {
  struct wd_budget b = {.limit_nusd = 1000, .spent_nusd = 1000, .day = 7};
  ck_assert_int_eq(wd_sched_decide(e, &b, T0), WD_SKIP_BUDGET);
  wd_sched_skip(e, WD_SKIP_BUDGET, T0, &rng);
  ck_assert(e->rec.flags & WARMTH_F_BUDGET);
  ck_assert_int_eq(e->due, T0 + model.interval_ns);
  model.probe = WD_PROBE_MODELS; /* costs nothing: goes on */
  ck_assert_int_eq(wd_sched_decide(e, &b, T0), WD_SEND);
  model.probe = WD_PROBE_CHAT;
  ck_assert_int_eq(wd_budget_roll(&b, 7), 0);
  ck_assert_int_eq(b.spent_nusd, 1000);
  ck_assert_int_eq(wd_budget_roll(&b, 8), 1);
  ck_assert_int_eq(b.spent_nusd, 0);
  ck_assert_int_eq(wd_sched_decide(e, &b, T0), WD_SEND);
  wd_sched_sent(e, T0);
  ck_assert(!(e->rec.flags & WARMTH_F_BUDGET));
}
END_TEST

START_TEST(test_cost) {
  model.price_in = 1.0; /* USD per million: 1000 nano-USD a token */
  model.price_out = 2.0;
  model.price_cached = 0.5;
  ck_assert_int_eq(wd_cost_nusd(&model, 10, 3, 4, 0),
                   6 * 1000 + 3 * 2000 + 4 * 500);
  ck_assert_int_eq(wd_cost_nusd(&model, 2, 0, 5, 0), 5 * 500); /* never < 0 */
  /* Cache writes at price_cache_write, the rest of the input at price_in;
   * reasoning tokens are a part of out, priced as output. */
  model.price_cache_write = 1.25;
  ck_assert_int_eq(wd_cost_nusd(&model, 100, 3, 10, 80),
                   10 * 1000 + 3 * 2000 + 10 * 500 + 80 * 1250);
  ck_assert_int_eq(wd_cost_nusd(&model, 5, 0, 4, 80), 4 * 500 + 80 * 1250);
}
END_TEST

/* The result's reasoning and cache-write tokens reach the entry's counters
 * and the cost; the `c` flag needs the model's own prefix. */
START_TEST(test_result_tokens) {
  int old;
  model.price_in = 1.0;
  model.price_out = 2.0;
  model.price_cached = 0.5;
  model.price_cache_write = 1.25;
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0), WD_SEND);
  wd_sched_sent(e, T0);
  struct wd_probe_result r = result(1, WARMTH_ERR_NONE, T0);
  r.tokens_in = 100;
  r.tokens_cached = 10;
  r.tokens_cache_write = 80;
  r.tokens_out = 9;
  r.tokens_reasoning = 8;
  ck_assert_int_eq(wd_sched_result(e, &r, &rng, &old),
                   10 * 1000 + 9 * 2000 + 10 * 500 + 80 * 1250);
  ck_assert_uint_eq(atomic_load(&e->tokens_reasoning), 8);
  ck_assert_uint_eq(atomic_load(&e->tokens_cache_write), 80);
  ck_assert(!(e->rec.flags & WARMTH_F_PREFIX_CACHED)); /* no prefix file */

  model.probe_prefix_file = "/p";
  r = result(1, WARMTH_ERR_NONE, e->due);
  r.tokens_in = r.tokens_cached = 10;
  ck_assert_int_eq(wd_sched_decide(e, NULL, e->due), WD_SEND);
  wd_sched_sent(e, r.started_ns);
  wd_sched_result(e, &r, &rng, &old);
  ck_assert(e->rec.flags & WARMTH_F_PREFIX_CACHED);
  ck_assert_uint_eq(atomic_load(&e->tokens_reasoning), 8);
}
END_TEST

/* ---- operator: warm now, pause, resume ------------------------------------
 */

START_TEST(test_pause_resume) {
  probe(1, WARMTH_ERR_NONE, T0);
  wd_sched_pause(e);
  ck_assert_int_eq(e->rec.state, WARMTH_DISABLED);
  ck_assert(e->rec.flags & WARMTH_F_PAUSED);
  ck_assert_int_eq(e->due, INT64_MAX);
  ck_assert_int_eq(atomic_load(&e->paused), 1);
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + S), WD_SKIP_DISABLED);
  /* Resumed while its warmth lasts: warm again, due at once. */
  wd_sched_resume(e, T0 + 2 * S);
  ck_assert_int_eq(e->rec.state, WARMTH_WARM);
  ck_assert(!(e->rec.flags & WARMTH_F_PAUSED));
  ck_assert_int_eq(e->due, T0 + 2 * S);
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 2 * S), WD_SEND);
  /* Resumed after it ran out: unknown. */
  wd_sched_pause(e);
  wd_sched_resume(e, e->rec.warm_until);
  ck_assert_int_eq(e->rec.state, WARMTH_UNKNOWN);
}
END_TEST

START_TEST(test_resume_clears_key_problem) {
  probe(0, WARMTH_ERR_AUTH, T0);
  wd_sched_resume(e, T0 + S);
  ck_assert(!(e->rec.flags & WARMTH_F_KEY_PROBLEM));
  ck_assert_int_eq(e->rec.state, WARMTH_UNKNOWN);
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + S), WD_SEND);
}
END_TEST

START_TEST(test_warm_now) {
  /* Held back by a Retry-After and idle: warm now sends anyway. */
  model.idle_after_ns = 60 * S;
  e->hold_until = T0 + 3600 * S;
  e->rec.state = WARMTH_IDLE;
  e->due = INT64_MAX;
  wd_sched_warm_now(e, T0 + 100 * S);
  ck_assert_int_eq(e->due, T0 + 100 * S);
  ck_assert_int_eq(e->hold_until, 0);
  ck_assert_int_eq(e->rec.state, WARMTH_UNKNOWN);
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 100 * S), WD_SEND);
  /* In flight: nothing changes. */
  wd_sched_sent(e, T0 + 100 * S);
  e->due = INT64_MAX;
  wd_sched_warm_now(e, T0 + 101 * S);
  ck_assert_int_eq(e->due, INT64_MAX);
}
END_TEST

START_TEST(test_unbuildable_backs_off) {
  struct wd_probe_result r;
  int old;
  wd_sched_unbuildable(e, &r, 7, T0);
  ck_assert_int_eq(e->inflight, 1);
  ck_assert_int_eq(r.model, 7);
  ck_assert_int_eq(r.ok, 0);
  ck_assert_int_eq(r.retry_after_ns, -1);
  wd_sched_result(e, &r, &rng, &old);
  ck_assert_int_eq(e->inflight, 0);
  ck_assert_int_gt(e->due, T0); /* backs off, not due again at once */
}
END_TEST

/* Local servers (issue 10): the server's own warm_until wins over
 * warm_ttl; a sleeping vLLM is published sleeping, not warm, counts
 * neither as a success nor as a failure, and is asked again soon; a load
 * held back by max_loaded keeps the state it had. */
START_TEST(test_local_server_results) {
  int old;
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0), WD_SEND);
  wd_sched_sent(e, T0);
  struct wd_probe_result r = result(1, WARMTH_ERR_NONE, T0);
  r.warm_for_ns = 500 * S - 100 * MS; /* Ollama's expires_at */
  wd_sched_result(e, &r, &rng, &old);
  ck_assert_int_eq(e->rec.state, WARMTH_WARM);
  ck_assert_int_eq(e->rec.warm_until, T0 + 500 * S);

  int64_t at = e->due;
  wd_sched_sent(e, at);
  r = result(0, WARMTH_ERR_NONE, at);
  r.precheck_only = 1; /* no room: nothing sent, nothing changes */
  wd_sched_result(e, &r, &rng, &old);
  ck_assert_int_eq(e->rec.state, WARMTH_WARM);
  ck_assert_int_eq(e->rec.warm_until, T0 + 500 * S);
  ck_assert_int_eq(e->rec.failures, 0);
  ck_assert_int_le(e->due, r.ended_ns + 33 * S);
  ck_assert_int_ge(e->due, r.ended_ns + 27 * S);

  at = e->due;
  wd_sched_sent(e, at);
  r = result(0, WARMTH_ERR_NONE, at);
  r.precheck_only = 1;
  r.state = WARMTH_SLEEPING;
  wd_sched_result(e, &r, &rng, &old);
  ck_assert_int_eq(old, WARMTH_WARM);
  ck_assert_int_eq(e->rec.state, WARMTH_SLEEPING);
  ck_assert_int_le(e->rec.warm_until, r.ended_ns); /* not warm any more */
  ck_assert_int_eq(e->rec.failures, 0);
  ck_assert_int_eq(e->rec.fails_in_row, 0);
  ck_assert_int_eq(e->rec.successes, 1);
  ck_assert_int_le(e->due, r.ended_ns + 33 * S);

  /* loaded by a client for longer than our keep_alive: warm, no warmup */
  at = e->due;
  wd_sched_sent(e, at);
  r = result(0, WARMTH_ERR_NONE, at);
  r.precheck_only = 1;
  r.warm_for_ns = 3600 * S;
  wd_sched_result(e, &r, &rng, &old);
  ck_assert_int_eq(e->rec.state, WARMTH_WARM);
  ck_assert_int_eq(e->rec.warm_until, r.ended_ns + 3600 * S);
  ck_assert_int_eq(e->rec.successes, 1); /* not a warmup of ours */

  /* awake again: the next warmup makes it warm, warm_ttl without a word */
  probe(1, WARMTH_ERR_NONE, e->due);
  ck_assert_int_eq(e->rec.state, WARMTH_WARM);
}
END_TEST

START_TEST(test_wake) {
  struct wd_entry top = {.due = T0 + 5 * MS};
  ck_assert_int_eq(wd_sched_wake(T0 + 50 * MS, &top, 1), T0 + 5 * MS);
  ck_assert_int_eq(wd_sched_wake(T0 + 50 * MS, &top, 0), T0 + 50 * MS);
  ck_assert_int_eq(wd_sched_wake(T0 + 50 * MS, NULL, 1), T0 + 50 * MS);
  top.due = T0 + 60 * MS;
  ck_assert_int_eq(wd_sched_wake(T0 + 50 * MS, &top, 1), T0 + 50 * MS);
}
END_TEST

Suite *schedule_suite(void) {
  Suite *s = suite_create("schedule");
  TCase *core = tcase_create("core");
  tcase_add_checked_fixture(core, setup, teardown);
  tcase_add_test(core, test_first_round_spread);
  tcase_add_test(core, test_ok_plans_next_interval);
  tcase_add_test(core, test_rise_confirms_soon);
  tcase_add_test(core, test_jitter_bounds);
  tcase_add_test(core, test_backoff_doubles_to_interval);
  tcase_add_test(core, test_failure_while_warm_stays_warm);
  tcase_add_test(core, test_auth_disables);
  tcase_add_test(core, test_retry_after_obeyed);
  tcase_add_test(core, test_headroom_floor_holds);
  tcase_add_test(core, test_idle_and_touch);
  tcase_add_test(core, test_real_traffic_replaces_warmup);
  tcase_add_test(core, test_budget);
  tcase_add_test(core, test_cost);
  tcase_add_test(core, test_result_tokens);
  tcase_add_test(core, test_pause_resume);
  tcase_add_test(core, test_resume_clears_key_problem);
  tcase_add_test(core, test_warm_now);
  tcase_add_test(core, test_unbuildable_backs_off);
  tcase_add_test(core, test_wake);
  tcase_add_test(core, test_local_server_results);
  suite_add_tcase(s, core);
  TCase *lim = tcase_create("limits");
  tcase_add_checked_fixture(lim, setup, teardown);
  tcase_add_test(lim, test_touch_from_the_future_ignored);
  suite_add_tcase(s, lim);
  return s;
}

int main(void) { return tu_run(schedule_suite()); }
