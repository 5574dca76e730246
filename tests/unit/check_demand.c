/* check_demand.c - what workers tell the coordinator through the demand
 * segment (touches, real requests), read back with warmth__w_demand, and
 * warmth_wait_warm sleeping on a record until the coordinator warms it. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "check_util.h"

Suite *demand_suite(void);

static const int64_t MINUTE = 60LL * 1000000000LL;

static uint32_t coarse_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint32_t)ts.tv_sec;
}

START_TEST(test_touch) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t a = tu_add(w, "a"), b = tu_add(w, "b");
  warmth_t *h = tu_reader(name);
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, a, &d), 0);
  ck_assert_uint_eq(d.touches, 0);
  ck_assert_uint_eq(d.last_touch_s, 0);
  uint32_t t0 = coarse_s();
  for (int i = 0; i < 5; i++)
    ck_assert_int_eq(warmth_touch(h, "a"), 0);
  uint32_t t1 = coarse_s();
  ck_assert_int_eq(warmth__w_demand(w, a, &d), 0);
  ck_assert_uint_eq(d.touches, 5);
  ck_assert_uint_ge(d.last_touch_s, t0);
  ck_assert_uint_le(d.last_touch_s, t1);
  ck_assert_uint_eq(d.real_ok, 0);
  /* Only the touched model's slot moved. */
  ck_assert_int_eq(warmth__w_demand(w, b, &d), 0);
  ck_assert_uint_eq(d.touches, 0);
  ck_assert_int_eq(warmth_touch(h, "nope"), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth_touch(NULL, "a"), WARMTH_EINVAL);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_report) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t a = tu_add(w, "a");
  warmth_t *h = tu_reader(name);
  int64_t t0 = warmth__mono_ns();
  ck_assert_int_eq(warmth_report(h, "a", 3500, 1), 0);
  int64_t t1 = warmth__mono_ns();
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, a, &d), 0);
  ck_assert_uint_eq(d.real_ok, 1);
  ck_assert_uint_eq(d.real_fail, 0);
  ck_assert_uint_eq(d.real_latency_us, 3500);
  ck_assert_int_ge(d.real_ok_ns, t0);
  ck_assert_int_le(d.real_ok_ns, t1);
  ck_assert_uint_eq(d.touches, 1); /* a report is a touch too */
  /* A failure counts, and leaves the last success alone. */
  ck_assert_int_eq(warmth_report(h, "a", 9999, 0), 0);
  struct warmth__demand d2;
  ck_assert_int_eq(warmth__w_demand(w, a, &d2), 0);
  ck_assert_uint_eq(d2.real_fail, 1);
  ck_assert_uint_eq(d2.real_ok, 1);
  ck_assert_uint_eq(d2.real_latency_us, 3500);
  ck_assert_int_eq(d2.real_ok_ns, d.real_ok_ns);
  ck_assert_uint_eq(d2.touches, 2);
  ck_assert_int_eq(warmth_report(h, "zz", 1, 1), WARMTH_ENOTFOUND);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

/* Child exit codes of the wait tests: the return value of wait_warm + 10. */
static pid_t spawn_waiter(const char *name, const char *model,
                          uint32_t timeout_ms) {
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    warmth_t *h = NULL;
    if (warmth_open(&h, name, 0) != 0)
      _exit(2);
    int rc = warmth_wait_warm(h, model, timeout_ms);
    warmth_close(h);
    _exit(rc + 10 >= 0 ? rc + 10 : 3);
  }
  return pid;
}

/* Waits until the coordinator sees `n` workers sleeping on `slot`. */
static int wait_waiters(struct warmth__w *w, uint32_t slot, uint32_t n) {
  struct warmth__demand d;
  for (int i = 0; i < 1000; i++) {
    warmth__w_demand(w, slot, &d);
    if (d.waiters == n)
      return 1;
    tu_sleep_ms(5);
  }
  return 0;
}

START_TEST(test_wait_warm_wakes) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t slot = tu_add(w, "cold");
  pid_t pid = spawn_waiter(name, "cold", 20000);
  ck_assert(wait_waiters(w, slot, 1));
  /* The waiter touched the model: an idle one gets warmed at once. */
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, slot, &d), 0);
  ck_assert_uint_ge(d.touches, 1);
  int64_t t0 = warmth__mono_ns();
  tu_set_state(w, slot, WARMTH_WARM, MINUTE);
  int st = tu_wait(pid, 20000);
  double ms = (double)(warmth__mono_ns() - t0) / 1e6;
  ck_assert_int_eq(tu_exit_code(st), 1 + 10);
  fprintf(stderr, "wait_warm: woken %.1f ms after the update\n", ms);
  ck_assert(wait_waiters(w, slot, 0)); /* it unregistered */
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_wait_warm_timeout) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t slot = tu_add(w, "cold");
  warmth_t *h = tu_reader(name);
  ck_assert_int_eq(warmth_wait_warm(h, "cold", 100), 0);
  ck_assert_int_eq(warmth_wait_warm(h, "cold", 0), 0);
  /* An update that does not make it warm does not end the wait early. */
  pid_t pid = spawn_waiter(name, "cold", 300);
  ck_assert(wait_waiters(w, slot, 1));
  tu_set_state(w, slot, WARMTH_WARMING, MINUTE);
  ck_assert_int_eq(tu_exit_code(tu_wait(pid, 20000)), 0 + 10);
  /* Already warm: no wait at all. */
  tu_set_state(w, slot, WARMTH_WARM, MINUTE);
  ck_assert_int_eq(warmth_wait_warm(h, "cold", 0), 1);
  ck_assert_int_eq(warmth_wait_warm(h, "absent", 10), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth_wait_warm(NULL, "cold", 10), WARMTH_EINVAL);
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, slot, &d), 0);
  ck_assert_uint_eq(d.waiters, 0);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(test_no_demand_segment) {
  /* Without a usable demand segment, reads still work; touches say so, and
   * wait_warm falls back to polling instead of blocking forever. */
  char name[TU_NAME_LEN], dname[TU_NAME_LEN + 8];
  tu_name(name);
  snprintf(dname, sizeof dname, "%s.demand", name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t slot = tu_add(w, "m");
  shm_unlink(dname);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "m", &info), 0);
  ck_assert_int_eq(warmth_touch(h, "m"), WARMTH_ENODEMAND);
  ck_assert_int_eq(warmth_report(h, "m", 1, 1), WARMTH_ENODEMAND);
  ck_assert_int_eq(warmth_wait_warm(h, "m", 50), 0);
  pid_t pid = spawn_waiter(name, "m", 20000);
  tu_sleep_ms(100); /* no waiter count to watch: let it start sleeping */
  tu_set_state(w, slot, WARMTH_WARM, MINUTE);
  ck_assert_int_eq(tu_exit_code(tu_wait(pid, 20000)), 1 + 10);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_foreign_demand_segment) {
  /* A demand segment of another table (other instance) is not used: a
   * worker's touch must never land in the wrong table. */
  char name[TU_NAME_LEN], other[TU_NAME_LEN];
  char dname[TU_NAME_LEN + 8], odname[TU_NAME_LEN + 8];
  tu_name(name);
  tu_name(other);
  snprintf(dname, sizeof dname, "%s.demand", name);
  snprintf(odname, sizeof odname, "%s.demand", other);
  struct warmth__w *w = tu_writer(name, 8, 0);
  struct warmth__w *w2 = tu_writer(other, 8, 0);
  tu_add(w, "m");
  shm_unlink(dname);
  /* Move the other table's demand segment under our name. */
  char from[TU_NAME_LEN + 32], to[TU_NAME_LEN + 32];
  snprintf(from, sizeof from, "/dev/shm%s", odname);
  snprintf(to, sizeof to, "/dev/shm%s", dname);
  ck_assert_int_eq(rename(from, to), 0);
  warmth_t *h = tu_reader(name);
  ck_assert_int_eq(warmth_touch(h, "m"), WARMTH_ENODEMAND);
  warmth_close(h);
  warmth__w_close(w2, 1);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_touch_store_coalesced) {
  /* A hot loop of touches: every call is counted (last_touch_s is stored
   * only when the coarse second changes, which is not observable here). */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t slot = tu_add(w, "hot");
  warmth_t *h = tu_reader(name);
  for (int i = 0; i < 100000; i++)
    ck_assert_int_eq(warmth_touch(h, "hot"), 0);
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, slot, &d), 0);
  ck_assert_uint_eq(d.touches, 100000);
  ck_assert_uint_le(d.last_touch_s, coarse_s());
  ck_assert_int_eq(warmth__w_demand(w, 8, &d), WARMTH_EINVAL);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

Suite *demand_suite(void) {
  Suite *s = suite_create("demand");
  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 60);
  tcase_add_test(core, test_touch);
  tcase_add_test(core, test_report);
  tcase_add_test(core, test_wait_warm_wakes);
  tcase_add_test(core, test_wait_warm_timeout);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 60);
  tcase_add_test(limits, test_no_demand_segment);
  tcase_add_test(limits, test_foreign_demand_segment);
  tcase_add_test(limits, test_touch_store_coalesced);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(demand_suite()); }
