/* check_schedule.c - unit tests of warmd's scheduling decisions
 * (tools/warmd/schedule.c).
 *
 * Time is driven by hand: every function under test reads the clock only
 * through its `now` argument and the times of the results it is given, so
 * these tests pick the times (T0 and offsets from it) and need no sleep.
 * Jitter comes from a seeded xorshift state; bounds are checked over many
 * draws, never a single value.
 */
#define _DEFAULT_SOURCE /* timegm */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "schedule.h"
#include "window.h"

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
  /* Timeouts, connect and body errors: the backoff stops at the interval. */
  model.interval_ns = 60 * S;
  int64_t at = T0;
  for (int k = 1; k <= 10; k++) {
    probe(0, WARMTH_ERR_TIMEOUT, at);
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

/* 429 and 5xx without Retry-After: the backoff goes on past the interval,
 * to 8 intervals, at most 1 h; a success resets it (issue 10). */
START_TEST(test_backoff_beyond_interval_rate_and_5xx) {
  static const int classes[] = {WARMTH_ERR_RATE, WARMTH_ERR_SERVER};
  for (int c = 0; c < 2; c++) {
    model.interval_ns = 2 * S;
    wd_sched_init(e, 0, 1, T0);
    memset(&e->rec, 0, sizeof e->rec);
    int64_t at = T0;
    int64_t want[] = {1 * S, 2 * S, 4 * S, 8 * S, 16 * S, 16 * S, 16 * S};
    for (int k = 1; k <= 7; k++) {
      probe(0, classes[c], at);
      int64_t delay = e->due - (at + 100 * MS);
      int64_t w = want[k - 1];
      ck_assert_msg(delay >= w - w / 5 && delay <= w + w / 5,
                    "class %d failure %d: next in %lld ns, want %lld +-20%%",
                    classes[c], k, (long long)delay, (long long)w);
      ck_assert_int_eq(e->hold_until, e->due);
      at = e->due;
    }
    /* 8 intervals is past the interval: the old cap is gone. */
    ck_assert_int_gt(e->due - (at - e->due), 0);
    probe(1, WARMTH_ERR_NONE, at);
    ck_assert_int_eq(e->rec.fails_in_row, 0);
    at = e->due;
    probe(0, classes[c], at);
    int64_t delay = e->due - (at + 100 * MS);
    ck_assert_msg(delay <= S + S / 5,
                  "after a success the backoff restarts "
                  "at 1 s, got %lld ns",
                  (long long)delay);
  }
  /* The cap is at most an hour (but never below the interval). */
  ck_assert_int_eq(wd_sched_backoff(600 * S, WARMTH_ERR_RATE, -1, 30),
                   3600 * S);
  ck_assert_int_eq(wd_sched_backoff(600 * S, WARMTH_ERR_SERVER, -1, 12),
                   2048 * S);
  ck_assert_int_eq(wd_sched_backoff(7200 * S, WARMTH_ERR_RATE, -1, 30),
                   7200 * S);
  ck_assert_int_eq(wd_sched_backoff(600 * S, WARMTH_ERR_TIMEOUT, -1, 30),
                   600 * S);
  ck_assert_int_eq(wd_sched_backoff(2 * S, WARMTH_ERR_RATE, -1, 1000), 16 * S);
  /* With a Retry-After the provider said when: no backoff past the
   * interval (the Retry-After itself is obeyed, test_retry_after_obeyed). */
  ck_assert_int_eq(wd_sched_backoff(2 * S, WARMTH_ERR_RATE, 3 * S, 10), 2 * S);
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

/* A model the provider does not have (not listed, 404 model_not_found):
 * disabled with the model-problem flag, not retried until resume. */
START_TEST(test_model_problem_disables) {
  probe(0, WARMTH_ERR_MODEL, T0);
  ck_assert_int_eq(e->rec.state, WARMTH_DISABLED);
  ck_assert(e->rec.flags & WARMTH_F_MODEL_PROBLEM);
  ck_assert(!(e->rec.flags & WARMTH_F_KEY_PROBLEM));
  ck_assert_int_eq(e->rec.error_class, WARMTH_ERR_MODEL);
  ck_assert_int_eq(e->due, INT64_MAX);
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 3600 * S), WD_SKIP_DISABLED);
  /* A touch does not wake it. */
  struct warmth__demand d = {.last_touch_s = 10};
  ck_assert_int_eq(wd_sched_demand(e, &d, T0 + 11 * S, 11) & 2, 0);
  ck_assert_int_eq(e->due, INT64_MAX);
  wd_sched_resume(e, T0 + 20 * S);
  ck_assert(!(e->rec.flags & WARMTH_F_MODEL_PROBLEM));
  ck_assert_int_eq(e->rec.state, WARMTH_UNKNOWN);
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 20 * S), WD_SEND);
}
END_TEST

/* probe = models: the id is listed, the model did not answer: reachable,
 * never warm (issue 10). */
START_TEST(test_models_probe_reachable) {
  model.probe = WD_PROBE_MODELS;
  probe(1, WARMTH_ERR_NONE, T0);
  ck_assert_int_eq(e->rec.state, WARMTH_REACHABLE);
  ck_assert_int_eq(e->rec.warm_until, 0);
  ck_assert_int_eq(e->rec.successes, 1);
  /* Real traffic on a reachable model: the model answered a real request,
   * and warmd's own probe found the endpoint up: warm, flag r. */
  struct warmth__demand d = {.real_ok_ns = T0 + 5 * S};
  ck_assert_int_eq(wd_sched_demand(e, &d, T0 + 6 * S, 6) & 1, 1);
  ck_assert_int_eq(e->rec.state, WARMTH_WARM);
  ck_assert(e->rec.flags & WARMTH_F_REAL_TRAFFIC);
  /* Real traffic replaces the probe; a models probe sent anyway (operator)
   * keeps that warmth while it lasts... */
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 7 * S), WD_SKIP_REAL);
  int old;
  struct wd_probe_result r = result(1, WARMTH_ERR_NONE, T0 + 7 * S);
  wd_sched_sent(e, T0 + 7 * S);
  wd_sched_result(e, &r, &rng, &old);
  ck_assert_int_eq(e->rec.state, WARMTH_WARM);
  /* ...and says reachable once it ran out. */
  probe(1, WARMTH_ERR_NONE, T0 + 5 * S + model.warm_ttl_ns + S);
  ck_assert_int_eq(e->rec.state, WARMTH_REACHABLE);
}
END_TEST

/* A reachable model (probe = models) is as good as its probe can make it:
 * workers touching it every second must not bring the next models probe
 * forward (the demo's local-llama, interval 5 s, was probed every second:
 * 22 probes in 20 s), and a probe sent to it keeps it reachable instead of
 * flipping it to warming and back (a log line and a published change per
 * probe).  An idle one still wakes at a touch. */
START_TEST(test_models_probe_touch_keeps_interval) {
  model.probe = WD_PROBE_MODELS;
  model.interval_ns = 5 * S;
  model.idle_after_ns = 60 * S;
  probe(1, WARMTH_ERR_NONE, T0);
  ck_assert_int_eq(e->rec.state, WARMTH_REACHABLE);
  int64_t due = e->due;
  ck_assert_int_gt(due, T0 + 4 * S);
  for (int64_t t = T0 + S; t < due; t += S) {
    uint32_t now_s = (uint32_t)(t / S);
    struct warmth__demand d = {.last_touch_s = now_s};
    ck_assert_int_eq(wd_sched_demand(e, &d, t, now_s) & 2, 0);
    ck_assert_int_eq(e->due, due);
  }
  ck_assert_int_eq(wd_sched_decide(e, NULL, due), WD_SEND);
  ck_assert_int_eq(wd_sched_sent(e, due), 0);
  ck_assert_int_eq(e->rec.state, WARMTH_REACHABLE);
  int old;
  struct wd_probe_result r = result(1, WARMTH_ERR_NONE, due);
  wd_sched_result(e, &r, &rng, &old);
  ck_assert_int_eq(old, WARMTH_REACHABLE);
  ck_assert_int_eq(e->rec.state, WARMTH_REACHABLE);
  /* Idle (no touch for idle_after): a touch wakes it at once. */
  int64_t t = T0 + 200 * S;
  struct warmth__demand d = {0};
  wd_sched_skip(e, WD_SKIP_IDLE, t, &rng);
  ck_assert_int_eq(wd_sched_demand(e, &d, t, (uint32_t)(t / S)) & 1, 1);
  ck_assert_int_eq(e->rec.state, WARMTH_IDLE);
  d.last_touch_s = (uint32_t)(t / S) + 1;
  ck_assert_int_eq(wd_sched_demand(e, &d, t + S, (uint32_t)(t / S) + 1) & 2, 2);
  ck_assert_int_eq(e->due, t + S);
}
END_TEST

/* ---- Retry-After and headroom ---------------------------------------------
 */

/* A warmup sent at `at` answered (100 ms later) 429 with Retry-After:
 * 30 s; returns when the hold that asks for ends. */
static int64_t rate_limited(int64_t at) {
  struct wd_probe_result r = result(0, WARMTH_ERR_RATE, at);
  int old;
  r.http_status = 429;
  r.retry_after_ns = 30 * S;
  wd_sched_sent(e, at);
  wd_sched_result(e, &r, &rng, &old);
  return at + 100 * MS + 30 * S;
}

START_TEST(test_retry_after_obeyed) {
  int64_t until = rate_limited(T0);
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

/* A touch on a failing model never brings a warmup forward past its
 * backoff (issue 12: 44 requests instead of 10 in 20 s of outage). */
START_TEST(test_touch_respects_backoff) {
  model.interval_ns = 60 * S;
  int64_t at = T0;
  for (int k = 0; k < 4; k++) { /* backoff 1, 2, 4, then 8 s */
    probe(0, WARMTH_ERR_CONNECT, at);
    at = e->due;
  }
  int64_t due = e->due;
  ck_assert_int_gt(due - (T0 + 4 * S), 4 * S);
  /* Touches every second until the backoff ends: none moves the due time,
   * and the scheduler's decision holds until then. */
  uint32_t s0 = (uint32_t)((T0 + 8 * S) / S);
  int64_t t;
  for (t = T0 + 8 * S; t < due; t += S) {
    uint32_t now_s = (uint32_t)(t / S);
    struct warmth__demand d = {.last_touch_s = now_s};
    ck_assert_int_eq(wd_sched_demand(e, &d, t, now_s) & 2, 0);
    ck_assert_int_eq(e->due, due);
    ck_assert_int_eq(wd_sched_decide(e, NULL, t), WD_SKIP_HOLD);
  }
  ck_assert_int_gt(t, (int64_t)s0 * S);
  ck_assert_int_eq(wd_sched_decide(e, NULL, due), WD_SEND);
  /* A Retry-After holds the same way. */
  int64_t until = rate_limited(due);
  ck_assert_int_ge(e->hold_until, until);
  struct warmth__demand d = {.last_touch_s = (uint32_t)((due + 2 * S) / S)};
  ck_assert_int_eq(
      wd_sched_demand(e, &d, due + 2 * S, (uint32_t)((due + 2 * S) / S)) & 2,
      0);
  ck_assert_int_ge(e->due, until);
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
  probe(1, WARMTH_ERR_NONE, T0); /* warmd confirmed the model first */
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

/* A worker's report never turns a model warm that warmd has not confirmed,
 * or that fails or is disabled (issue 12: upstream answering 500, worker
 * reporting ok, model warm with flag r and 0 warmups).  warmd sends its own
 * warmup instead, at once unless a backoff holds it. */
START_TEST(test_report_does_not_fake_warmth) {
  /* Never confirmed: no warmth, and the report asks for a warmup now. */
  struct warmth__demand d = {.real_ok_ns = T0 + 5 * S};
  e->due = T0 + 100 * S;
  int c = wd_sched_demand(e, &d, T0 + 6 * S, 6);
  ck_assert_int_eq(c & 1, 0);
  ck_assert_int_eq(c & 2, 2);
  ck_assert_int_ne(e->rec.state, WARMTH_WARM);
  ck_assert(!(e->rec.flags & WARMTH_F_REAL_TRAFFIC));
  ck_assert_int_eq(e->rec.warm_until, 0);
  ck_assert_int_eq(e->due, T0 + 6 * S);
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 6 * S), WD_SEND);
  /* Failing (the upstream answers 500): reports change nothing. */
  int64_t at = T0 + 6 * S;
  for (int k = 0; k < model.fall; k++) {
    probe(0, WARMTH_ERR_SERVER, at);
    at = e->due;
  }
  ck_assert_int_eq(e->rec.state, WARMTH_FAILING);
  int64_t due = e->due;
  for (int64_t t = T0 + 20 * S; t < T0 + 30 * S; t += S) {
    d.real_ok_ns = t - 100 * MS;
    c = wd_sched_demand(e, &d, t, (uint32_t)(t / S));
    ck_assert_int_eq(c & 1, 0);
    ck_assert_int_eq(e->rec.state, WARMTH_FAILING);
    ck_assert(!(e->rec.flags & WARMTH_F_REAL_TRAFFIC));
    if (t < e->hold_until)
      ck_assert_int_eq(e->due, due);
  }
  /* Disabled (refused key): reports change nothing either. */
  probe(0, WARMTH_ERR_AUTH, e->due > T0 + 30 * S ? e->due : T0 + 30 * S);
  d.real_ok_ns = T0 + 300 * S;
  c = wd_sched_demand(e, &d, T0 + 301 * S, 301);
  ck_assert_int_eq(e->rec.state, WARMTH_DISABLED);
  ck_assert_int_eq(e->due, INT64_MAX);
  ck_assert_int_eq(c, 0);
  /* Once warmd's own warmup succeeds, a report keeps it warm. */
  wd_sched_resume(e, T0 + 400 * S);
  probe(1, WARMTH_ERR_NONE, T0 + 400 * S);
  d.real_ok_ns = T0 + 410 * S;
  ck_assert_int_eq(wd_sched_demand(e, &d, T0 + 411 * S, 411) & 1, 1);
  ck_assert(e->rec.flags & WARMTH_F_REAL_TRAFFIC);
  ck_assert_int_eq(e->rec.warm_until, T0 + 410 * S + model.warm_ttl_ns);
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

/* ---- warm windows (window.c, wd_sched_window) ------------------------------
 * Wall-clock times are given in UTC (timegm) and evaluated in
 * Europe/Berlin, a zone with DST: CET (UTC+1), CEST (UTC+2) from
 * 2026-03-29 01:00Z to 2026-10-25 01:00Z. */

static time_t utc(int y, int mo, int d, int h, int mi, int sec) {
  struct tm t = {.tm_year = y - 1900,
                 .tm_mon = mo - 1,
                 .tm_mday = d,
                 .tm_hour = h,
                 .tm_min = mi,
                 .tm_sec = sec};
  return timegm(&t);
}

static struct wd_window win(const char *v) {
  struct wd_window w;
  char why[200];
  ck_assert_msg(wd_window_parse(v, &w, why, sizeof why) == 0, "%s: %s", v, why);
  return w;
}

/* Evaluates in Europe/Berlin; returns active, *next the next edge. */
static int eval_berlin(const struct wd_window *w, int n, int64_t before_s,
                       time_t now, time_t *next) {
  struct wd_tz_saved sv = {0};
  int active;
  wd_tz_enter("Europe/Berlin", &sv);
  wd_window_eval(w, n, before_s, now, &active, next);
  wd_tz_leave(&sv);
  return active;
}

START_TEST(test_tz_switch_keeps_environ) {
  /* A zone switch must not add, remove or move an environment entry while
   * other threads may getenv(): after wd_tz_init, enter and leave only
   * replace TZ's value.  Before it, enter added TZ (environ reallocated)
   * and leave removed it again. */
  extern char **environ;
  unsetenv("TZ");
  wd_tz_init();
  ck_assert_str_eq(getenv("TZ"), ":/etc/localtime");
  char **before = environ;
  size_t n = 0;
  while (environ[n])
    n++;
  for (int i = 0; i < 3; i++) {
    struct wd_tz_saved sv = {0};
    wd_tz_enter(i % 2 ? "America/New_York" : "Europe/Berlin", &sv);
    ck_assert_ptr_eq(environ, before);
    ck_assert_str_eq(getenv("TZ"),
                     i % 2 ? "America/New_York" : "Europe/Berlin");
    wd_tz_leave(&sv);
    ck_assert_ptr_eq(environ, before);
    ck_assert_str_eq(getenv("TZ"), ":/etc/localtime");
    ck_assert_ptr_null(environ[n]);
    ck_assert_ptr_nonnull(environ[n - 1]);
  }
  wd_tz_init(); /* a second call changes nothing */
  ck_assert_ptr_eq(environ, before);
  /* An unset TZ and ":/etc/localtime" are the same zone. */
  time_t t = 1700000000;
  struct tm a, b;
  localtime_r(&t, &a);
  unsetenv("TZ");
  tzset();
  localtime_r(&t, &b);
  ck_assert_int_eq(a.tm_hour, b.tm_hour);
  ck_assert_int_eq(a.tm_gmtoff, b.tm_gmtoff);
}
END_TEST

START_TEST(test_window_parse) {
  struct wd_window w = win("Mon-Fri 07:00-20:00");
  ck_assert_int_eq(w.days, 0x1f);
  ck_assert_int_eq(w.start, 7 * 60);
  ck_assert_int_eq(w.end, 20 * 60);
  ck_assert_int_eq(win("sat,SUN 00:00-24:00").days, 0x60);
  ck_assert_int_eq(win("Mon,Wed-Fri 09:30-10:00").days, 0x1d);
  ck_assert_int_eq(win("Fri-Mon 22:00-02:00").days, 0x71); /* wraps */
  ck_assert_int_eq(win("22:00-06:00").days, 0x7f);         /* every day */
  ck_assert_int_eq(win("daily 22:00-06:00").end, 6 * 60);
  static const struct {
    const char *v, *part;
  } bad[] = {{"Mon-Fry 07:00-20:00", "'Mon-Fry'"},
             {"Mon-Fri 7:00-20:00", "'7:00-20:00'"},
             {"Mon-Fri 07:00-25:00", "'07:00-25:00'"},
             {"Mon-Fri 07:60-20:00", "'07:60-20:00'"},
             {"Mon-Fri 07:00", "'07:00'"},
             {"Mon-Fri 08:00-08:00", "same time"},
             {"Mon-Fri 24:00-02:00", "24:00"},
             {"Mon, Fri 07:00-20:00", "one word of days"},
             {"Mon, 07:00-20:00", "ends with ','"},
             {"", "empty"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct wd_window x;
    char why[200] = "";
    ck_assert_int_eq(wd_window_parse(bad[i].v, &x, why, sizeof why), -1);
    ck_assert_msg(strstr(why, bad[i].part), "'%s': '%s' does not name %s",
                  bad[i].v, why, bad[i].part);
  }
  char why[200];
  ck_assert_int_eq(wd_tz_check("Europe/Berlin", why, sizeof why), 0);
  ck_assert_int_eq(wd_tz_check("UTC", why, sizeof why), 0);
  ck_assert_int_eq(wd_tz_check("Europe/Berln", why, sizeof why), -1);
  ck_assert(strstr(why, "'Europe/Berln'"));
  ck_assert_int_eq(wd_tz_check("../etc/passwd", why, sizeof why), -1);
  ck_assert_int_eq(wd_tz_check("/etc/localtime", why, sizeof why), -1);
}
END_TEST

START_TEST(test_window_edges_and_dst) {
  struct wd_window w = win("Mon-Fri 07:00-20:00");
  time_t next;
  /* Friday 2026-03-27 (CET): open until 20:00 = 19:00Z. */
  ck_assert_int_eq(eval_berlin(&w, 1, 600, utc(2026, 3, 27, 18, 59, 59), &next),
                   1);
  ck_assert_int_eq(next, utc(2026, 3, 27, 19, 0, 0));
  /* At 20:00 it closes; the next opening, 10 min early, is Monday 06:50
   * CEST (after the DST change of Sunday) = 04:50Z, not 05:50Z. */
  ck_assert_int_eq(eval_berlin(&w, 1, 600, utc(2026, 3, 27, 19, 0, 0), &next),
                   0);
  ck_assert_int_eq(next, utc(2026, 3, 30, 4, 50, 0));
  ck_assert_int_eq(eval_berlin(&w, 1, 600, utc(2026, 3, 30, 4, 49, 59), &next),
                   0);
  ck_assert_int_eq(next, utc(2026, 3, 30, 4, 50, 0));
  ck_assert_int_eq(eval_berlin(&w, 1, 600, utc(2026, 3, 30, 4, 50, 0), &next),
                   1);
  ck_assert_int_eq(next, utc(2026, 3, 30, 18, 0, 0)); /* 20:00 CEST */
  /* Without warm_before: 07:00 sharp. */
  ck_assert_int_eq(eval_berlin(&w, 1, 0, utc(2026, 3, 30, 4, 59, 59), &next),
                   0);
  ck_assert_int_eq(eval_berlin(&w, 1, 0, utc(2026, 3, 30, 5, 0, 0), &next), 1);
  /* The DST day itself (Sunday 2026-03-29, 02:00 -> 03:00): a window that
   * opens at 07:00 opens at 05:00Z; one of 01:00-04:00 lasts 2 hours. */
  struct wd_window sun = win("Sun 07:00-20:00");
  ck_assert_int_eq(eval_berlin(&sun, 1, 0, utc(2026, 3, 28, 12, 0, 0), &next),
                   0);
  ck_assert_int_eq(next, utc(2026, 3, 29, 5, 0, 0));
  struct wd_window night = win("Sun 01:00-04:00");
  ck_assert_int_eq(eval_berlin(&night, 1, 0, utc(2026, 3, 29, 0, 0, 0), &next),
                   1);
  ck_assert_int_eq(next, utc(2026, 3, 29, 2, 0, 0)); /* 04:00 CEST */
  /* Autumn (2026-10-25, 03:00 -> 02:00): the same window lasts 4 hours. */
  ck_assert_int_eq(
      eval_berlin(&night, 1, 0, utc(2026, 10, 24, 23, 0, 0), &next), 1);
  ck_assert_int_eq(next, utc(2026, 10, 25, 3, 0, 0)); /* 04:00 CET */
  /* Across midnight: Saturday 22:00-02:00 is open early on Sunday, and the
   * window belongs to Saturday (Sunday 22:00 opens nothing). */
  struct wd_window late = win("Sat 22:00-02:00");
  ck_assert_int_eq(eval_berlin(&late, 1, 0, utc(2026, 5, 2, 23, 30, 0), &next),
                   1);
  ck_assert_int_eq(next, utc(2026, 5, 3, 0, 0, 0)); /* Sun 02:00 CEST */
  ck_assert_int_eq(eval_berlin(&late, 1, 0, utc(2026, 5, 3, 20, 30, 0), &next),
                   0);
  ck_assert_int_eq(next, utc(2026, 5, 9, 20, 0, 0)); /* next Saturday */
  /* Two windows: the gap between them is off; no windows: always on. */
  struct wd_window two[2] = {win("daily 08:00-12:00"),
                             win("daily 13:00-17:00")};
  ck_assert_int_eq(eval_berlin(two, 2, 0, utc(2026, 5, 4, 10, 30, 0), &next),
                   0); /* 12:30 CEST */
  ck_assert_int_eq(next, utc(2026, 5, 4, 11, 0, 0));
  ck_assert_int_eq(eval_berlin(two, 0, 0, utc(2026, 5, 4, 10, 30, 0), &next),
                   1);
}
END_TEST

/* The scheduler side: off hours send nothing (idle, flag o), touches do
 * not change that, the opening warms at once. */
START_TEST(test_window_schedule) {
  probe(1, WARMTH_ERR_NONE, T0);
  int64_t open = T0 + 3600 * S;
  /* The window closes at T0 + 10 s: the model stays warm while its warmth
   * lasts, flagged off_hours, and nothing is planned before the opening. */
  int c = wd_sched_window(e, 0, open, T0 + 10 * S);
  ck_assert_int_eq(c & 1, 1);
  ck_assert(e->rec.flags & WARMTH_F_OFF_HOURS);
  ck_assert_int_eq(e->rec.state, WARMTH_WARM);
  ck_assert_int_eq(e->due, open);
  ck_assert_int_eq(wd_sched_decide(e, NULL, T0 + 20 * S), WD_SKIP_OFF_HOURS);
  /* Once the warmth ran out, the demand tick publishes idle. */
  struct warmth__demand d = {0};
  int64_t later = T0 + model.warm_ttl_ns + S;
  ck_assert_int_eq(wd_sched_demand(e, &d, later, (uint32_t)(later / S)) & 1, 1);
  ck_assert_int_eq(e->rec.state, WARMTH_IDLE);
  /* A worker's touch off hours: the scheduler still sends nothing. */
  d.last_touch_s = (uint32_t)(later / S);
  wd_sched_demand(e, &d, later + S, (uint32_t)(later / S) + 1);
  ck_assert_int_eq(wd_sched_decide(e, NULL, later + S), WD_SKIP_OFF_HOURS);
  wd_sched_skip(e, WD_SKIP_OFF_HOURS, later + S, &rng);
  ck_assert_int_eq(e->due, open);
  /* At the opening, before the loop's look at the windows, the scheduler
   * no longer holds it back (the due time must be able to pass). */
  ck_assert_int_eq(wd_sched_decide(e, NULL, open), WD_SEND);
  /* The window opens (warm_before early): due at once, flag gone. */
  e->due = INT64_MAX; /* e.g. after an idle skip */
  c = wd_sched_window(e, 1, INT64_MAX, open);
  ck_assert_int_eq(c, 3);
  ck_assert(!(e->rec.flags & WARMTH_F_OFF_HOURS));
  ck_assert_int_eq(e->rec.state, WARMTH_UNKNOWN);
  ck_assert_int_eq(e->due, open);
  ck_assert_int_eq(wd_sched_decide(e, NULL, open), WD_SEND);
  /* An operator's warm goes out even off hours, once. */
  wd_sched_window(e, 0, open + 7200 * S, open + S);
  wd_sched_warm_now(e, open + 2 * S);
  ck_assert_int_eq(wd_sched_decide(e, NULL, open + 2 * S), WD_SEND);
  wd_sched_sent(e, open + 2 * S);
  ck_assert_int_eq(e->forced, 0);
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
  tcase_add_test(core, test_report_does_not_fake_warmth);
  tcase_add_test(core, test_touch_respects_backoff);
  tcase_add_test(core, test_backoff_beyond_interval_rate_and_5xx);
  tcase_add_test(core, test_model_problem_disables);
  tcase_add_test(core, test_models_probe_reachable);
  tcase_add_test(core, test_models_probe_touch_keeps_interval);
  tcase_add_test(core, test_tz_switch_keeps_environ);
  tcase_add_test(core, test_window_parse);
  tcase_add_test(core, test_window_edges_and_dst);
  tcase_add_test(core, test_window_schedule);
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
