/* check_demand.c - what workers tell the coordinator through the demand
 * segment (touches, real requests), read back with warmth__w_demand, and
 * warmth_wait_warm sleeping on a record until the coordinator warms it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "check_util.h"
#include "dsock.h"

Suite *demand_suite(void);

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
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t slot = tu_add(w, "m");
  /* The header names no demand segment (a coordinator that serves none). */
  atomic_store(&warmth__w_hdr(w)->demand_id, 0);
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

/* A memfd made by hand: `size` bytes, a demand header for (instance, id)
 * unless instance is 0, sealed with `seals`. */
static int craft_demand(uint64_t size, uint32_t capacity, uint64_t instance,
                        uint64_t id, int seals) {
  int fd = memfd_create("fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
  if (instance) {
    struct warmth__geom g;
    warmth__geometry(capacity, &g);
    struct warmth__dhdr dh = {.abi = WARMTH__ABI,
                              .hdr_size = WARMTH__HDR_SIZE,
                              .slot_size = WARMTH__DSLOT_SIZE,
                              .capacity = capacity,
                              .seg_size = g.d_seg_size,
                              .off_slots = g.d_off_slots,
                              .instance = instance,
                              .demand_id = id};
    atomic_store(&dh.magic, WARMTH__DMAGIC);
    ck_assert_int_eq(pwrite(fd, &dh, sizeof dh, 0), (ssize_t)sizeof dh);
  }
  if (seals)
    ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
  return fd;
}

START_TEST(test_fake_demand_servers) {
  /* Whoever binds the demand socket's name after the coordinator died (it
   * is unguessable before) must not make a worker write into memory it
   * controls or can shrink: the reader takes a demand segment only from the
   * state segment's owner, sealed against resizing, of the exact size, for
   * this table and this demand id.  Each case below is served by a fake
   * server to a fresh handle; the last one (everything right) is taken,
   * which shows the refusals come from the checks, not from the fake. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  tu_add(w, "m");
  uint64_t inst = warmth__w_instance(w), id = warmth__w_demand_id(w);
  ck_assert_uint_ne(id, 0);
  warmth__w_crash(w); /* its server is gone, the header still names id */
  struct warmth__geom g;
  warmth__geometry(8, &g);
  const int sealed = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
  struct {
    const char *what;
    uint64_t size, instance, id;
    int seals, nfds, status, other_uid, want;
  } cases[] = {
      {"not sealed", g.d_seg_size, inst, id, 0, 1, WARMTH__DS_OK, 0,
       WARMTH_EINSECURE},
      {"shrink sealed only", g.d_seg_size, inst, id, F_SEAL_SHRINK, 1,
       WARMTH__DS_OK, 0, WARMTH_EINSECURE},
      {"sealed, too small", g.d_seg_size - 64, inst, id, sealed, 1,
       WARMTH__DS_OK, 0, WARMTH_EINSECURE},
      {"another table's", g.d_seg_size, inst ^ 1, id, sealed, 1, WARMTH__DS_OK,
       0, WARMTH_ENODEMAND},
      {"another demand id", g.d_seg_size, inst, id ^ 1, sealed, 1,
       WARMTH__DS_OK, 0, WARMTH_ENODEMAND},
      {"no header", g.d_seg_size, 0, id, sealed, 1, WARMTH__DS_OK, 0,
       WARMTH_ENODEMAND},
      {"two descriptors", g.d_seg_size, inst, id, sealed, 2, WARMTH__DS_OK, 0,
       WARMTH_ENODEMAND},
      {"no descriptor", g.d_seg_size, inst, id, sealed, 0, WARMTH__DS_OK, 0,
       WARMTH_ENODEMAND},
      {"refused", g.d_seg_size, inst, id, sealed, 0, WARMTH__DS_REFUSED, 0,
       WARMTH_ENODEMAND},
      {"perfect, served by another uid", g.d_seg_size, inst, id, sealed, 1,
       WARMTH__DS_OK, 1, WARMTH_EBADOWNER},
      {"perfect, served by the owner", g.d_seg_size, inst, id, sealed, 1,
       WARMTH__DS_OK, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (cases[i].other_uid && !tu_is_root()) {
      fprintf(stderr, "not root: squatter of another uid not tried\n");
      continue;
    }
    int fd = craft_demand(cases[i].size, 8, cases[i].instance, cases[i].id,
                          cases[i].seals);
    pid_t srv =
        tu_fake_demand_server(id, fd, cases[i].nfds, (uint16_t)cases[i].status,
                              cases[i].other_uid ? TU_OTHER_ID : geteuid());
    ck_assert_msg(srv > 0, "%s: fake server did not start", cases[i].what);
    close(fd);
    warmth_t *h = tu_reader(name);
    int rc = warmth_touch(h, "m");
    warmth_close(h);
    kill(srv, SIGKILL);
    tu_wait(srv, 5000);
    ck_assert_msg(rc == cases[i].want, "%s: touch said %s, want %s",
                  cases[i].what, warmth_err_name(rc),
                  warmth_err_name(cases[i].want));
  }
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_demand_shared_by_handles) {
  /* The demand mapping is the process's: a handle opened later (PHP opening
   * one per request) uses it without asking the coordinator again.  Here
   * the coordinator's server is gone after the first fetch, so a second
   * fetch would fail. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t slot = tu_add(w, "m");
  warmth_t *h1 = tu_reader(name);
  ck_assert_int_eq(warmth_touch(h1, "m"), 0);
  warmth_close(h1);
  warmth__w_crash(w); /* no server any more; the segment stays mapped */
  warmth_t *h2 = tu_reader(name);
  ck_assert_int_eq(warmth_touch(h2, "m"), 0);
  ck_assert_int_eq(warmth_report(h2, "m", 7, 1), 0);
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, slot, &d), 0);
  ck_assert_uint_eq(d.touches, 3);
  ck_assert_uint_eq(d.real_ok, 1);
  warmth_close(h2);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_demand_follows_restart) {
  /* A coordinator restart brings a new demand segment, even when it adopts
   * the table: a handle that touched before (and the children a pre-fork
   * master forked with it) fetch the new one by themselves, and their
   * touches reach the new coordinator. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  tu_add(w, "m");
  warmth_t *h = tu_reader(name);
  ck_assert_int_eq(warmth_touch(h, "m"), 0); /* the master fetched one */
  uint64_t id1 = warmth__w_demand_id(w);
  warmth__w_crash(w);
  struct warmth__w *w2 = tu_writer(name, 8, 0);
  ck_assert_int_eq(warmth__w_adopted(w2), 1);
  ck_assert_uint_ne(warmth__w_demand_id(w2), id1);
  uint32_t slot = (uint32_t)warmth__w_slot(w2, "m");
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int bad = 0;
    for (int i = 0; i < 3; i++)
      bad |= warmth_touch(h, "m") != 0;
    _exit(bad);
  }
  ck_assert_int_eq(tu_exit_code(tu_wait(pid, 10000)), 0);
  ck_assert_int_eq(warmth_report(h, "m", 10, 1), 0);
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w2, slot, &d), 0);
  ck_assert_uint_eq(d.touches, 4);
  ck_assert_uint_eq(d.real_ok, 1);
  warmth_close(h);
  warmth__w_close(w, 0);
  warmth__w_close(w2, 1);
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
  tcase_add_test(limits, test_fake_demand_servers);
  tcase_add_test(limits, test_demand_follows_restart);
  tcase_add_test(limits, test_demand_shared_by_handles);
  tcase_add_test(limits, test_touch_store_coalesced);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(demand_suite()); }
