/* check_recent.c - the status page's per-model history (tools/warmd/recent.c):
 * samples come back oldest first within the hour, the ring keeps the last
 * WD_RECENT_N, failures are marked, latencies saturate, today's cost resets
 * at a new UTC day, a copy carries everything over; and a reader thread
 * racing the writer only ever sees samples the writer wrote. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "recent.h"

#define S 1000000000LL /* ns per second */
#define T0 (1000 * S)  /* an arbitrary CLOCK_MONOTONIC time */

START_TEST(empty) {
  struct wd_recent r;
  memset(&r, 0, sizeof r);
  struct wd_recent_sample out[WD_RECENT_N];
  ck_assert_int_eq(wd_recent_read(&r, T0, out), 0);
  ck_assert_int_eq(wd_recent_cost_today(&r, 20000), 0);
}
END_TEST

START_TEST(order_and_failures) {
  struct wd_recent r;
  memset(&r, 0, sizeof r);
  wd_recent_add(&r, T0, 100, 1, 5, 20000);
  wd_recent_add(&r, T0 + 10 * S, 200, 0, 0, 20000);
  wd_recent_add(&r, T0 + 20 * S, 300, 1, 7, 20000);
  struct wd_recent_sample out[WD_RECENT_N];
  ck_assert_int_eq(wd_recent_read(&r, T0 + 30 * S, out), 3);
  ck_assert_int_eq(out[0].age_s, 30);
  ck_assert_uint_eq(out[0].latency_us, 100);
  ck_assert_int_eq(out[0].ok, 1);
  ck_assert_int_eq(out[1].age_s, 20);
  ck_assert_uint_eq(out[1].latency_us, 200);
  ck_assert_int_eq(out[1].ok, 0);
  ck_assert_int_eq(out[2].age_s, 10);
  ck_assert_uint_eq(out[2].latency_us, 300);
  ck_assert_int_eq(wd_recent_cost_today(&r, 20000), 12);
}
END_TEST

START_TEST(hour_only) {
  struct wd_recent r;
  memset(&r, 0, sizeof r);
  wd_recent_add(&r, T0, 1, 1, 0, 1);
  wd_recent_add(&r, T0 + 100 * S, 2, 1, 0, 1);
  struct wd_recent_sample out[WD_RECENT_N];
  /* At T0 + 1 h + 50 s the first sample is past the span. */
  int n = wd_recent_read(&r, T0 + (WD_RECENT_SPAN_S + 50) * S, out);
  ck_assert_int_eq(n, 1);
  ck_assert_uint_eq(out[0].latency_us, 2);
}
END_TEST

START_TEST(ring_wraps) {
  struct wd_recent r;
  memset(&r, 0, sizeof r);
  int total = 3 * WD_RECENT_N + 5;
  for (int i = 0; i < total; i++)
    wd_recent_add(&r, T0 + i * S, (uint32_t)i + 1, 1, 0, 1);
  struct wd_recent_sample out[WD_RECENT_N];
  int n = wd_recent_read(&r, T0 + total * S, out);
  ck_assert_int_eq(n, WD_RECENT_N);
  for (int k = 0; k < n; k++) /* the last N, oldest first */
    ck_assert_uint_eq(out[k].latency_us,
                      (uint32_t)(total - WD_RECENT_N + k + 1));
}
END_TEST

START_TEST(saturates) {
  struct wd_recent r;
  memset(&r, 0, sizeof r);
  wd_recent_add(&r, T0, UINT32_MAX, 0, 0, 1);
  struct wd_recent_sample out[WD_RECENT_N];
  ck_assert_int_eq(wd_recent_read(&r, T0, out), 1);
  ck_assert_uint_eq(out[0].latency_us, WD_RECENT_LAT_MAX);
  ck_assert_int_eq(out[0].ok, 0);
}
END_TEST

START_TEST(cost_new_day) {
  struct wd_recent r;
  memset(&r, 0, sizeof r);
  wd_recent_add(&r, T0, 1, 1, 1000, 20000);
  wd_recent_add(&r, T0 + S, 1, 1, 500, 20000);
  ck_assert_int_eq(wd_recent_cost_today(&r, 20000), 1500);
  /* Nothing spent yet on the next day, though nothing was added. */
  ck_assert_int_eq(wd_recent_cost_today(&r, 20001), 0);
  wd_recent_add(&r, T0 + 2 * S, 1, 1, 40, 20001);
  ck_assert_int_eq(wd_recent_cost_today(&r, 20001), 40);
  ck_assert_int_eq(wd_recent_cost_today(&r, 20000), 0);
}
END_TEST

START_TEST(copy_keeps_all) {
  struct wd_recent a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0xff, sizeof b);
  for (int i = 0; i < 10; i++)
    wd_recent_add(&a, T0 + i * S, (uint32_t)(i + 1) * 10, i % 3 != 0, 3, 7);
  wd_recent_copy(&b, &a);
  struct wd_recent_sample x[WD_RECENT_N], y[WD_RECENT_N];
  int nx = wd_recent_read(&a, T0 + 20 * S, x);
  int ny = wd_recent_read(&b, T0 + 20 * S, y);
  ck_assert_int_eq(nx, 10);
  ck_assert_int_eq(ny, nx);
  ck_assert_mem_eq(x, y, sizeof x[0] * (size_t)nx);
  ck_assert_int_eq(wd_recent_cost_today(&b, 7), 30);
  /* The copy goes on from where the original was. */
  wd_recent_add(&b, T0 + 11 * S, 999, 1, 0, 7);
  ck_assert_int_eq(wd_recent_read(&b, T0 + 20 * S, y), 11);
  ck_assert_uint_eq(y[10].latency_us, 999);
}
END_TEST

/* Writer and reader threads: every sample read is one the writer stored
 * (latency == its second + 1, so a torn or invented sample shows), in
 * time order. */
struct race {
  struct wd_recent r;
  _Atomic int stop;
};

static void *writer(void *arg) {
  struct race *x = arg;
  for (int64_t i = 1; i <= 200000; i++)
    wd_recent_add(&x->r, i * S, (uint32_t)i + 1, 1, 1, 1);
  atomic_store(&x->stop, 1);
  return NULL;
}

START_TEST(race_reader) {
  struct race *x = calloc(1, sizeof *x);
  ck_assert_ptr_nonnull(x);
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, writer, x), 0);
  long reads = 0, bad = 0;
  struct wd_recent_sample out[WD_RECENT_N];
  while (!atomic_load(&x->stop) || reads == 0) {
    /* Sample i is stored at second i: read "now" just past the newest,
     * so the whole ring is within the hour. */
    int64_t last = atomic_load(&x->r.next) + 1;
    int n = wd_recent_read(&x->r, last * S, out);
    for (int k = 0; k < n; k++) {
      int64_t sec = last - out[k].age_s;
      if (out[k].latency_us != (uint32_t)sec + 1)
        bad++;
      if (k && out[k].age_s > out[k - 1].age_s)
        bad++;
    }
    reads++;
  }
  pthread_join(t, NULL);
  ck_assert_int_eq(bad, 0);
  ck_assert_int_gt(reads, 0);
  free(x);
}
END_TEST

static Suite *recent_suite(void) {
  Suite *s = suite_create("recent");
  TCase *core = tcase_create("core");
  tcase_add_test(core, empty);
  tcase_add_test(core, order_and_failures);
  tcase_add_test(core, hour_only);
  tcase_add_test(core, cost_new_day);
  tcase_add_test(core, copy_keeps_all);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, ring_wraps);
  tcase_add_test(limits, saturates);
  tcase_add_test(limits, race_reader);
  tcase_set_timeout(limits, 60);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(recent_suite()); }
