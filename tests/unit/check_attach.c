/* check_attach.c - a reader handle over the coordinator's lifetime: used
 * across fork(), attaching when the coordinator starts late, following a
 * coordinator that replaced the segment, keeping an adopted segment, and
 * telling "cold" from "nobody is watching" (stale heartbeat, retired). */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "check_util.h"

Suite *attach_suite(void);

START_TEST(test_fork_children) {
  /* Opened once in a pre-fork master, used by every child. */
  enum { N = 4 };
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t slot = tu_add(w, "shared");
  tu_set_state(w, slot, WARMTH_WARM, MINUTE);
  warmth_t *h = tu_reader(name);
  pid_t pids[N];
  for (int i = 0; i < N; i++) {
    pids[i] = fork();
    ck_assert_int_ge(pids[i], 0);
    if (pids[i] == 0) {
      struct warmth_model_info info = {.size = sizeof info};
      for (int k = 0; k < 1000; k++)
        if (warmth_lookup(h, "shared", &info) != 0 ||
            strcmp(info.name, "shared") != 0 || info.successes != 1000 + slot)
          _exit(1);
      if (warmth_is_warm(h, "shared") != 1)
        _exit(2);
      if (warmth_touch(h, "shared") != 0)
        _exit(3);
      warmth_close(h); /* a child closing must not disturb the others */
      _exit(0);
    }
  }
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(tu_exit_code(tu_wait(pids[i], 10000)), 0);
  /* The parent's handle still works, and saw every child's touch. */
  ck_assert_int_eq(warmth_is_warm(h, "shared"), 1);
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, slot, &d), 0);
  ck_assert_uint_eq(d.touches, N);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_lazy_then_writer) {
  char name[TU_NAME_LEN];
  tu_name(name);
  warmth_t *h = NULL;
  ck_assert_int_eq(warmth_open(&h, name, WARMTH_OPEN_LAZY), 0);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "late", &info), WARMTH_ENOENT);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t slot = tu_add(w, "late");
  tu_set_state(w, slot, WARMTH_WARM, MINUTE);
  ck_assert_int_eq(tu_lookup_until(h, "late", 0, &info), 0);
  ck_assert_str_eq(info.name, "late");
  ck_assert_int_eq(warmth_is_warm(h, "late"), 1);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_replaced_by_new_writer) {
  /* A new coordinator that does not adopt: the old segment is marked
   * superseded and names its successor; the handle moves over by itself. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w1 = tu_writer(name, 8, 0);
  tu_set_state(w1, tu_add(w1, "old-model"), WARMTH_WARM, MINUTE);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "old-model", &info), 0);
  /* Its coordinator dies (the lock goes with it); the segment stays live
   * until the next one publishes. */
  warmth__w_crash(w1);

  struct warmth__w_opts o = {.capacity = 8, .group = (gid_t)-1, .no_adopt = 1};
  struct warmth__w *w2 = NULL;
  char err[256];
  ck_assert_int_eq(warmth__w_open(&w2, name, &o, err, sizeof err), 0);
  ck_assert_int_eq(warmth__w_adopted(w2), 0);
  ck_assert_uint_ne(warmth__w_instance(w2), warmth__w_instance(w1));
  struct warmth__hdr *old = warmth__w_hdr(w1);
  /* Until its first publication the new segment is not live: readers stay
   * on the old one and still find its models (no gap of "not found"). */
  ck_assert_uint_eq(atomic_load(&old->retired), WARMTH__LIVE);
  ck_assert_int_eq(warmth_lookup(h, "old-model", &info), 0);
  warmth_t *late = NULL; /* a reader opening by name now: not ready yet */
  ck_assert_int_eq(warmth_open(&late, name, 0), WARMTH_ENOTREADY);
  uint32_t ns = UINT32_MAX;
  ck_assert_int_eq(warmth__w_add(w2, "new-model", &ns), 0);
  tu_set_state(w2, ns, WARMTH_WARM, MINUTE);
  ck_assert_uint_eq(atomic_load(&old->retired), WARMTH__LIVE);
  warmth__w_publish(w2); /* live: the old one is superseded */
  ck_assert_uint_eq(atomic_load(&old->retired), WARMTH__SUPERSEDED);
  ck_assert_uint_eq(atomic_load(&old->successor), warmth__w_instance(w2));

  ck_assert_int_eq(tu_lookup_until(h, "new-model", 0, &info), 0);
  ck_assert_str_eq(info.name, "new-model");
  ck_assert_int_eq(warmth_lookup(h, "old-model", &info), WARMTH_ENOTFOUND);
  struct warmth_status st = {.size = sizeof st};
  ck_assert_int_eq(warmth_status(h, &st), 0);
  ck_assert_uint_eq(st.retired, WARMTH__LIVE);
  ck_assert_int_eq(st.stale, 0);
  ck_assert_int_eq(warmth_is_warm(h, "new-model"), 1);
  /* The superseded writer lets go of its mapping only (not the names). */
  warmth__w_close(w1, 0);
  ck_assert_int_eq(warmth_is_warm(h, "new-model"), 1);
  warmth_close(h);
  warmth__w_close(w2, 1);
}
END_TEST

START_TEST(test_adopted_records_survive) {
  /* A coordinator restarted after a crash (here: a child that exits without
   * closing) adopts the segment: records, slots and instance survive, and
   * a reader attached before the restart keeps working. */
  char name[TU_NAME_LEN];
  tu_name(name);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    struct warmth__w_opts o = {.capacity = 8, .group = (gid_t)-1};
    struct warmth__w *w = NULL;
    if (warmth__w_open(&w, name, &o, NULL, 0) != 0)
      _exit(1);
    uint32_t s;
    struct warmth__payload p;
    if (warmth__w_add(w, "a", &s) || warmth__w_add(w, "b", &s))
      _exit(2);
    warmth__w_publish(w);
    warmth__w_get(w, s, &p);
    p.state = WARMTH_WARM;
    p.warm_until = warmth__mono_ns() + MINUTE;
    p.tokens_out = 4242;
    warmth__w_update(w, s, &p);
    _exit(0); /* killed: no close, the segment stays live-looking */
  }
  ck_assert_int_eq(tu_exit_code(tu_wait(pid, 10000)), 0);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info before = {.size = sizeof before};
  ck_assert_int_eq(warmth_lookup(h, "b", &before), 0);

  struct warmth__w *w = tu_writer(name, 8, 0);
  ck_assert_int_eq(warmth__w_adopted(w), 1);
  ck_assert_int_eq(atomic_load(&warmth__w_hdr(w)->pid), getpid());
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "b", &info), 0);
  ck_assert_uint_eq(info.tokens_out, 4242);
  ck_assert_uint_eq(info.slot, before.slot);
  ck_assert_uint_eq(info.generation, before.generation);
  ck_assert_int_eq(warmth_is_warm(h, "b"), 1);
  ck_assert_int_eq(warmth_lookup(h, "a", &info), 0);
  ck_assert_int_eq(warmth__w_slot(w, "b"), (int)before.slot);
  struct warmth__payload p;
  ck_assert_int_eq(warmth__w_get(w, before.slot, &p), 0);
  ck_assert_uint_eq(p.tokens_out, 4242);
  /* The adopting writer can change the adopted records. */
  p.tokens_out = 1;
  ck_assert_int_eq(warmth__w_update(w, before.slot, &p), 0);
  ck_assert_int_eq(warmth_lookup(h, "b", &info), 0);
  ck_assert_uint_eq(info.tokens_out, 1);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

/* ---- stale and retired (limits of trust) -------------------------------- */

START_TEST(test_stale_heartbeat) {
  char name[TU_NAME_LEN];
  tu_name(name);
  int64_t stale_after = 100LL * 1000000LL;
  struct warmth__w *w = tu_writer(name, 8, stale_after);
  uint32_t slot = tu_add(w, "m");
  tu_set_state(w, slot, WARMTH_WARM, MINUTE);
  warmth_t *h = tu_reader(name);
  struct warmth_status st = {.size = sizeof st};
  warmth__w_heartbeat(w, warmth__mono_ns());
  ck_assert_int_eq(warmth_status(h, &st), 0);
  ck_assert_int_eq(st.stale, 0);
  ck_assert_int_eq(st.stale_after_ns, stale_after);
  ck_assert_int_eq(warmth_is_warm(h, "m"), 1);
  /* The last heartbeat is older than stale_after: nobody is watching. */
  warmth__w_heartbeat(w, warmth__mono_ns() - 2 * stale_after);
  ck_assert_int_eq(warmth_status(h, &st), 0);
  ck_assert_int_eq(st.stale, 1);
  ck_assert_int_ge(st.heartbeat_age_ns, 2 * stale_after);
  ck_assert_int_eq(warmth_is_warm(h, "m"), 0);
  /* The record itself still says warm: the data is there, just untrusted. */
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "m", &info), 0);
  ck_assert_uint_eq(info.state, WARMTH_WARM);
  ck_assert_int_gt(info.warm_until, warmth__mono_ns());
  /* A fresh heartbeat makes it warm again. */
  warmth__w_heartbeat(w, warmth__mono_ns());
  ck_assert_int_eq(warmth_is_warm(h, "m"), 1);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_retired) {
  /* A cleanly stopped coordinator leaves its segment retired: lookups
   * still answer, nothing is warm. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  tu_set_state(w, tu_add(w, "m"), WARMTH_WARM, MINUTE);
  warmth_t *h = tu_reader(name);
  ck_assert_int_eq(warmth_is_warm(h, "m"), 1);
  warmth__w_close(w, 0);
  ck_assert_int_eq(warmth_is_warm(h, "m"), 0);
  struct warmth_status st = {.size = sizeof st};
  ck_assert_int_eq(warmth_status(h, &st), 0);
  ck_assert_uint_eq(st.retired, WARMTH__RETIRED);
  ck_assert_int_eq(st.stale, 1);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "m", &info), 0);
  ck_assert_uint_eq(info.state, WARMTH_WARM);
  /* And a fresh handle on the retired segment says the same. */
  warmth_t *h2 = tu_reader(name);
  ck_assert_int_eq(warmth_is_warm(h2, "m"), 0);
  warmth_close(h2);
  warmth_close(h);
  tu_unlink(name);
}
END_TEST

START_TEST(test_warm_until) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t a = tu_add(w, "expired"), b = tu_add(w, "warming");
  tu_set_state(w, a, WARMTH_WARM, -1);
  tu_set_state(w, b, WARMTH_WARMING, MINUTE);
  warmth_t *h = tu_reader(name);
  ck_assert_int_eq(warmth_is_warm(h, "expired"), 0);
  ck_assert_int_eq(warmth_is_warm(h, "warming"), 0);
  for (uint16_t s = 0; s < WARMTH_STATE_COUNT; s++) {
    tu_set_state(w, b, s, MINUTE);
    ck_assert_int_eq(warmth_is_warm(h, "warming"), s == WARMTH_WARM);
  }
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_replaced_segment_unlinked) {
  /* The segment vanished (operator removed it, coordinator gone) while a
   * handle uses it: lookups keep answering from the mapping it has. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  tu_add(w, "m");
  warmth_t *h = tu_reader(name);
  warmth__w_close(w, 1);
  struct warmth_model_info info = {.size = sizeof info};
  for (int i = 0; i < 30; i++) {
    ck_assert_int_eq(warmth_lookup(h, "m", &info), 0);
    tu_sleep_ms(10);
  }
  ck_assert_int_eq(warmth_is_warm(h, "m"), 0);
  warmth_close(h);
}
END_TEST

/* ---- threads while the segment is replaced (issue 12, item 12) --------- */

#define TH_READERS 3
#define TH_REPLACEMENTS 11 /* more than the 8 attachments kept mapped */

struct th {
  warmth_t *h;
  _Atomic int stop;
  _Atomic int in_callback; /* the foreach thread is parked in its callback */
  _Atomic int release;     /* lets it go on */
  _Atomic uint64_t lookups, bad;
  int foreach_rc;
};

static void *th_reader(void *arg) {
  struct th *t = arg;
  char name[16];
  uint64_t n = 0;
  while (!atomic_load(&t->stop)) {
    snprintf(name, sizeof name, "m%u", (unsigned)(n % 4));
    struct warmth_model_info info = {.size = sizeof info};
    int rc = warmth_lookup(t->h, name, &info);
    /* Found: it must be the model asked for.  Not found / busy: allowed
     * while segments come and go. */
    if (rc == 0 && strcmp(info.name, name) != 0)
      atomic_fetch_add(&t->bad, 1);
    if (warmth_is_warm(t->h, name) > 1)
      atomic_fetch_add(&t->bad, 1);
    (void)warmth_touch(t->h, name);
    n++;
  }
  atomic_fetch_add(&t->lookups, n);
  return NULL;
}

static int th_park(const struct warmth_model_info *info, void *arg) {
  struct th *t = arg;
  (void)info;
  if (!atomic_exchange(&t->in_callback, 1))
    while (!atomic_load(&t->release)) /* bounded by the test's timeout */
      tu_sleep_ms(5);
  return 0;
}

static void *th_foreach(void *arg) {
  struct th *t = arg;
  /* Parks in its first callback while the attachment it iterates is
   * replaced TH_REPLACEMENTS times, then reads on through it. */
  t->foreach_rc = warmth_foreach(t->h, th_park, t);
  return NULL;
}

static struct warmth__w *th_writer(const char *name) {
  struct warmth__w_opts o = {.capacity = 8, .group = (gid_t)-1, .no_adopt = 1};
  struct warmth__w *w = NULL;
  char err[512];
  int rc = warmth__w_open(&w, name, &o, err, sizeof err);
  ck_assert_msg(rc == 0, "open: %s", err);
  for (int i = 0; i < 4; i++) {
    char m[16];
    snprintf(m, sizeof m, "m%d", i);
    tu_set_state(w, tu_add(w, m), WARMTH_WARM, MINUTE);
  }
  return w;
}

START_TEST(test_threads_while_replaced) {
  /* Threads of one process share a handle (Gunicorn gthread, PHP ZTS, Node
   * worker threads) while the coordinator replaces the segment again and
   * again.  One of them holds an attachment all along (a foreach whose
   * callback blocks); before the fix the handle freed and unmapped
   * attachments older than 8 replacements, and that thread then read freed
   * memory (ASan: heap-use-after-free; plain build: SIGSEGV). */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = th_writer(name);
  struct th t = {.h = tu_reader(name)};
  pthread_t rd[TH_READERS], fe;
  ck_assert_int_eq(pthread_create(&fe, NULL, th_foreach, &t), 0);
  for (int i = 0; i < TH_READERS; i++)
    ck_assert_int_eq(pthread_create(&rd[i], NULL, th_reader, &t), 0);
  for (int i = 0; i < 500 && !atomic_load(&t.in_callback); i++)
    tu_sleep_ms(10);
  ck_assert(atomic_load(&t.in_callback));
  for (int r = 0; r < TH_REPLACEMENTS; r++) {
    uint64_t inst = warmth__w_instance(w);
    warmth__w_close(w, 0);
    w = th_writer(name);
    ck_assert_uint_ne(warmth__w_instance(w), inst);
    /* Until the shared handle is on the new segment (it re-attaches at most
     * every 100 ms): a replacement it never saw would not count. */
    struct warmth_status st = {.size = sizeof st};
    int moved = 0;
    for (int i = 0; i < 500 && !moved; i++) {
      struct warmth_model_info info = {.size = sizeof info};
      (void)warmth_lookup(t.h, "m0", &info);
      moved = warmth_status(t.h, &st) == 0 &&
              st.created_ns == warmth__w_hdr(w)->created_ns &&
              st.retired == WARMTH__LIVE;
      if (!moved)
        tu_sleep_ms(10);
    }
    ck_assert_msg(moved, "replacement %d: the handle did not follow", r);
  }
  atomic_store(&t.release, 1);
  ck_assert_int_eq(pthread_join(fe, NULL), 0);
  atomic_store(&t.stop, 1);
  for (int i = 0; i < TH_READERS; i++)
    ck_assert_int_eq(pthread_join(rd[i], NULL), 0);
  /* It read on through its attachment, retired by now: zero pages, so no
   * model after the first.  (Before the fix, the range had been unmapped
   * and, as often as not, mapped again for a newer segment: the foreach
   * went on with another segment's records, or faulted.) */
  ck_assert_int_eq(t.foreach_rc, 1);
  ck_assert_uint_eq(atomic_load(&t.bad), 0);
  ck_assert_uint_gt(atomic_load(&t.lookups), 0);
  ck_assert_int_eq(warmth_is_warm(t.h, "m3"), 1);
  warmth_close(t.h);
  warmth__w_close(w, 1);
}
END_TEST

Suite *attach_suite(void) {
  Suite *s = suite_create("attach");
  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 30);
  tcase_add_test(core, test_fork_children);
  tcase_add_test(core, test_lazy_then_writer);
  tcase_add_test(core, test_replaced_by_new_writer);
  tcase_add_test(core, test_adopted_records_survive);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 30);
  tcase_add_test(limits, test_stale_heartbeat);
  tcase_add_test(limits, test_retired);
  tcase_add_test(limits, test_warm_until);
  tcase_add_test(limits, test_replaced_segment_unlinked);
  tcase_add_test(limits, test_threads_while_replaced);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(attach_suite()); }
