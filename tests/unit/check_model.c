/* check_model.c - resolved model handles (warmth_resolve): the same answers
 * as the calls by name, and a handle that stays correct across a reload, a
 * slot reused by another model, a replaced segment and fork(), for a model
 * that appears only after it was resolved, and under threads sharing it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_util.h"

Suite *model_suite(void);

static warmth_model_t *resolve(warmth_t *h, const char *model) {
  warmth_model_t *m = NULL;
  int rc = warmth_resolve(h, model, &m);
  ck_assert_msg(rc == 0, "resolve %s: %s", model, warmth_err_name(rc));
  ck_assert_ptr_nonnull(m);
  return m;
}

static void set_successes(struct warmth__w *w, uint32_t slot, uint64_t n) {
  struct warmth__payload p;
  ck_assert_int_eq(warmth__w_get(w, slot, &p), 0);
  p.successes = n;
  ck_assert_int_eq(warmth__w_update(w, slot, &p), 0);
}

START_TEST(test_same_answers_as_by_name) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  tu_add(w, "other");
  uint32_t slot = tu_add(w, "claude-3-5-sonnet-20241022"); /* 4 words */
  warmth_t *h = tu_reader(name);
  warmth_model_t *m = resolve(h, "claude-3-5-sonnet-20241022");
  for (uint16_t s = 0; s < WARMTH_STATE_COUNT; s++) {
    for (int ttl = -1; ttl <= 1; ttl += 2) {
      tu_set_state(w, slot, s, ttl * MINUTE);
      int want = warmth_is_warm(h, "claude-3-5-sonnet-20241022");
      ck_assert_int_eq(want, s == WARMTH_WARM && ttl > 0);
      ck_assert_int_eq(warmth_model_is_warm(m), want);
    }
  }
  struct warmth_model_info a = {.size = sizeof a}, b = {.size = sizeof b};
  ck_assert_int_eq(warmth_lookup(h, "claude-3-5-sonnet-20241022", &a), 0);
  memset(&b, 0xa5, sizeof b);
  b.size = sizeof b;
  ck_assert_int_eq(warmth_model_lookup(m, &b), 0);
  ck_assert_mem_eq(&a, &b, sizeof a);
  ck_assert_str_eq(b.name, "claude-3-5-sonnet-20241022");
  ck_assert_uint_eq(b.slot, slot);

  /* Demand through the handle lands in the model's slot. */
  ck_assert_int_eq(warmth_model_touch(m), 0);
  ck_assert_int_eq(warmth_model_report(m, 4321, 1), 0);
  ck_assert_int_eq(warmth_model_report(m, 0, 0), 0);
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, slot, &d), 0);
  ck_assert_uint_eq(d.touches, 3);
  ck_assert_uint_eq(d.real_ok, 1);
  ck_assert_uint_eq(d.real_fail, 1);
  ck_assert_uint_eq(d.real_latency_us, 4321);

  tu_set_state(w, slot, WARMTH_WARM, MINUTE);
  ck_assert_int_eq(warmth_model_wait_warm(m, 10), 1);
  tu_set_state(w, slot, WARMTH_WARMING, MINUTE);
  ck_assert_int_eq(warmth_model_wait_warm(m, 30), 0);
  warmth_model_free(m);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_not_yet_present) {
  /* Resolved before the coordinator exists, then before the model is in
   * the table: not found until it is, then found without a new resolve. */
  char name[TU_NAME_LEN];
  tu_name(name);
  warmth_t *h = NULL;
  ck_assert_int_eq(warmth_open(&h, name, WARMTH_OPEN_LAZY), 0);
  warmth_model_t *m = resolve(h, "late-model");
  ck_assert_int_eq(warmth_model_is_warm(m), WARMTH_ENOENT);
  struct warmth__w *w = tu_writer(name, 8, 0);
  tu_add(w, "early-model");
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(tu_mlookup_until(m, WARMTH_ENOTFOUND, &info),
                   WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth_model_is_warm(m), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth_model_touch(m), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth_model_report(m, 1, 1), WARMTH_ENOTFOUND);
  /* Asked again and again while absent: still absent. */
  for (int i = 0; i < 100; i++)
    ck_assert_int_eq(warmth_model_is_warm(m), WARMTH_ENOTFOUND);
  uint32_t slot = tu_add(w, "late-model");
  tu_set_state(w, slot, WARMTH_WARM, MINUTE);
  ck_assert_int_eq(warmth_model_is_warm(m), 1);
  ck_assert_int_eq(warmth_model_lookup(m, &info), 0);
  ck_assert_str_eq(info.name, "late-model");
  ck_assert_uint_eq(info.slot, slot);
  warmth_model_free(m);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_reload) {
  /* A reload removes the model, then one adds it back into another slot. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t s1 = tu_add(w, "m");
  tu_add(w, "keep");
  tu_set_state(w, s1, WARMTH_WARM, MINUTE);
  warmth_t *h = tu_reader(name);
  warmth_model_t *m = resolve(h, "m");
  ck_assert_int_eq(warmth_model_is_warm(m), 1);
  ck_assert_int_eq(warmth__w_remove(w, "m"), 0);
  warmth__w_publish(w);
  ck_assert_int_eq(warmth_model_is_warm(m), WARMTH_ENOTFOUND);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_model_lookup(m, &info), WARMTH_ENOTFOUND);
  uint32_t s2 = tu_add(w, "m"); /* the old slot is still in its grace */
  ck_assert_uint_ne(s2, s1);
  set_successes(w, s2, 77);
  ck_assert_int_eq(warmth_model_lookup(m, &info), 0);
  ck_assert_str_eq(info.name, "m");
  ck_assert_uint_eq(info.slot, s2);
  ck_assert_uint_eq(info.successes, 77);
  ck_assert_int_eq(warmth_model_is_warm(m), 0); /* new: unknown state */
  warmth_model_free(m);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_slot_reuse) {
  /* The model's slot is reused by another model: the handle answers "not
   * found", never the other model's record or demand slot. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 3, 0);
  uint32_t sa = tu_add(w, "model-a");
  tu_add(w, "filler");
  tu_add(w, "toggle");
  tu_set_state(w, sa, WARMTH_WARM, MINUTE);
  warmth_t *h = tu_reader(name);
  warmth_model_t *ma = resolve(h, "model-a");
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_model_lookup(ma, &info), 0);
  uint64_t gen_a = info.generation;
  ck_assert_int_eq(warmth__w_remove(w, "model-a"), 0);
  warmth__w_publish(w);
  /* A second publication, which a slot needs before reuse. */
  ck_assert_int_eq(warmth__w_remove(w, "toggle"), 0);
  warmth__w_publish(w);
  /* Every slot used once: model-b gets the first one free again, model-a's
   * (the lowest), after the grace period. */
  uint32_t sb = UINT32_MAX;
  int rc = WARMTH_EFULL;
  for (int i = 0; i < 100 && rc == WARMTH_EFULL; i++) {
    tu_sleep_ms(50);
    rc = warmth__w_add(w, "model-b", &sb);
  }
  ck_assert_int_eq(rc, 0);
  ck_assert_uint_eq(sb, sa);
  warmth__w_publish(w);
  tu_set_state(w, sb, WARMTH_WARM, MINUTE);
  ck_assert_int_eq(warmth_model_is_warm(ma), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth_model_lookup(ma, &info), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth_model_touch(ma), WARMTH_ENOTFOUND);
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, sb, &d), 0);
  ck_assert_uint_eq(d.touches, 0);
  warmth_model_t *mb = resolve(h, "model-b");
  ck_assert_int_eq(warmth_model_lookup(mb, &info), 0);
  ck_assert_str_eq(info.name, "model-b");
  ck_assert_uint_gt(info.generation, gen_a);
  ck_assert_int_eq(warmth_model_is_warm(mb), 1);
  warmth_model_free(ma);
  warmth_model_free(mb);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_same_slot_other_name_in_record) {
  /* Belt and braces: the record at the cached slot holds another name
   * while the index still says nothing new (what a reader could see in a
   * table written by a buggy or hostile writer): no data of it leaks. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  uint32_t s = tu_add(w, "victim");
  tu_set_state(w, s, WARMTH_WARM, MINUTE);
  warmth_t *h = tu_reader(name);
  warmth_model_t *m = resolve(h, "victim");
  ck_assert_int_eq(warmth_model_is_warm(m), 1);
  struct warmth__rec *r = &tu_recs(w)[s];
  uint64_t seq = atomic_load(&r->seq);
  const _Atomic uint64_t *cur = warmth__rec_copy(r, seq);
  _Atomic uint64_t *next = tu_spare_copy(w, s);
  char other[64] = "intruder";
  for (int k = 0; k < WARMTH__PAYLOAD_WORDS; k++) {
    uint64_t v = atomic_load(&cur[k]);
    size_t n = (size_t)k - WARMTH__NAME_WORD;
    if (n < 8)
      memcpy(&v, other + 8 * n, 8);
    atomic_store(&next[k], v);
  }
  atomic_store(&r->seq, seq + 1);
  /* The index still maps "victim" to the slot: the name check refuses it
   * and the re-resolve finds no record of that name. */
  ck_assert_int_eq(warmth_model_is_warm(m), WARMTH_ENOTFOUND);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_model_lookup(m, &info), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth_model_touch(m), WARMTH_ENOTFOUND);
  warmth_model_free(m);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_replaced_segment) {
  /* A new coordinator (no adoption): the model lives in another slot of
   * another segment; the handle follows and reads the new record. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w1 = tu_writer(name, 8, 0);
  tu_add(w1, "x");
  uint32_t s1 = tu_add(w1, "shared-model");
  tu_set_state(w1, s1, WARMTH_WARM, MINUTE);
  set_successes(w1, s1, 1);
  warmth_t *h = tu_reader(name);
  warmth_model_t *m = resolve(h, "shared-model");
  warmth_model_t *gone = resolve(h, "x");
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_model_lookup(m, &info), 0);
  ck_assert_uint_eq(info.successes, 1);
  warmth__w_crash(w1); /* its coordinator dies; the next one may start */

  struct warmth__w_opts o = {.capacity = 8, .group = (gid_t)-1, .no_adopt = 1};
  struct warmth__w *w2 = NULL;
  char err[256];
  ck_assert_int_eq(warmth__w_open(&w2, name, &o, err, sizeof err), 0);
  uint32_t s2 = UINT32_MAX;
  ck_assert_int_eq(warmth__w_add(w2, "shared-model", &s2), 0);
  ck_assert_uint_ne(s2, s1);
  tu_set_state(w2, s2, WARMTH_WARM, MINUTE);
  set_successes(w2, s2, 2);
  warmth__w_publish(w2); /* live: the old segment is superseded */

  /* Until the handle re-attaches (within 100 ms) it may answer from the old
   * segment, which still says successes = 1; then only from the new one. */
  int rc = WARMTH_EBUSY;
  for (int i = 0; i < 500; i++) {
    info.size = sizeof info;
    rc = warmth_model_lookup(m, &info);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(info.name, "shared-model");
    if (info.successes == 2)
      break;
    ck_assert_uint_eq(info.successes, 1);
    tu_sleep_ms(10);
  }
  ck_assert_uint_eq(info.successes, 2);
  ck_assert_uint_eq(info.slot, s2);
  ck_assert_int_eq(warmth_model_is_warm(m), 1);
  ck_assert_int_eq(warmth_model_touch(m), 0);
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w2, s2, &d), 0);
  ck_assert_uint_eq(d.touches, 1);
  ck_assert_int_eq(warmth_model_lookup(gone, &info), WARMTH_ENOTFOUND);
  warmth__w_close(w1, 0);
  ck_assert_int_eq(warmth_model_is_warm(m), 1);
  warmth_model_free(m);
  warmth_model_free(gone);
  warmth_close(h);
  warmth__w_close(w2, 1);
}
END_TEST

START_TEST(test_fork) {
  /* Resolved in a pre-fork master, used in every child, also after the
   * master's coordinator reloaded the model into another slot. */
  enum { N = 3 };
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t s1 = tu_add(w, "forked");
  tu_set_state(w, s1, WARMTH_WARM, MINUTE);
  set_successes(w, s1, 5);
  warmth_t *h = tu_reader(name);
  warmth_model_t *m = resolve(h, "forked");
  ck_assert_int_eq(warmth_model_is_warm(m), 1);
  pid_t pids[N];
  for (int i = 0; i < N; i++) {
    pids[i] = fork();
    ck_assert_int_ge(pids[i], 0);
    if (pids[i] == 0) {
      struct warmth_model_info info = {.size = sizeof info};
      for (int k = 0; k < 1000; k++)
        if (warmth_model_lookup(m, &info) != 0 ||
            strcmp(info.name, "forked") != 0 || info.successes != 5)
          _exit(1);
      if (warmth_model_is_warm(m) != 1)
        _exit(2);
      if (warmth_model_touch(m) != 0)
        _exit(3);
      warmth_model_free(m);
      warmth_close(h);
      _exit(0);
    }
  }
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(tu_exit_code(tu_wait(pids[i], 10000)), 0);
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, s1, &d), 0);
  ck_assert_uint_eq(d.touches, N);

  /* Reloaded while a child holds the handle: it re-resolves by itself. */
  ck_assert_int_eq(warmth__w_remove(w, "forked"), 0);
  uint32_t s2 = tu_add(w, "forked");
  ck_assert_uint_ne(s2, s1);
  tu_set_state(w, s2, WARMTH_WARM, MINUTE);
  set_successes(w, s2, 6);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    struct warmth_model_info info = {.size = sizeof info};
    if (warmth_model_lookup(m, &info) != 0 || info.successes != 6 ||
        info.slot != s2)
      _exit(1);
    _exit(warmth_model_is_warm(m) == 1 ? 0 : 2);
  }
  ck_assert_int_eq(tu_exit_code(tu_wait(pid, 10000)), 0);
  warmth_model_free(m);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_bad_arguments) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  warmth_t *h = tu_reader(name);
  warmth_model_t *m = (warmth_model_t *)&m;
  ck_assert_int_eq(warmth_resolve(h, "", &m), WARMTH_ENAMETOOLONG);
  ck_assert_ptr_null(m);
  ck_assert_int_eq(warmth_resolve(h, "has space", &m), WARMTH_ENAMETOOLONG);
  ck_assert_int_eq(warmth_resolve(h, NULL, &m), WARMTH_ENAMETOOLONG);
  char longname[WARMTH_NAME_MAX + 2];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  ck_assert_int_eq(warmth_resolve(h, longname, &m), WARMTH_ENAMETOOLONG);
  longname[WARMTH_NAME_MAX] = 0; /* exactly the longest name */
  ck_assert_int_eq(warmth_resolve(h, longname, &m), 0);
  ck_assert_int_eq(warmth_model_is_warm(m), WARMTH_ENOTFOUND);
  tu_set_state(w, tu_add(w, longname), WARMTH_WARM, MINUTE);
  ck_assert_int_eq(warmth_model_is_warm(m), 1);
  warmth_model_free(m);
  ck_assert_int_eq(warmth_resolve(NULL, "m", &m), WARMTH_EINVAL);
  ck_assert_int_eq(warmth_resolve(h, "m", NULL), WARMTH_EINVAL);
  ck_assert_int_eq(warmth_model_is_warm(NULL), WARMTH_EINVAL);
  ck_assert_int_eq(warmth_model_touch(NULL), WARMTH_EINVAL);
  ck_assert_int_eq(warmth_model_report(NULL, 1, 1), WARMTH_EINVAL);
  ck_assert_int_eq(warmth_model_wait_warm(NULL, 1), WARMTH_EINVAL);
  struct warmth_model_info info = {.size = 4};
  ck_assert_int_eq(warmth_resolve(h, "m", &m), 0);
  ck_assert_int_eq(warmth_model_lookup(m, &info), WARMTH_EINVAL);
  ck_assert_int_eq(warmth_model_lookup(m, NULL), WARMTH_EINVAL);
  warmth_model_free(m);
  warmth_model_free(NULL);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

/* The coarse clock must not stretch warmth: a model warm for 1 ms more is
 * warm now and cold 2 ms later, as CLOCK_MONOTONIC says; a stale heartbeat
 * reads cold.  Run with each clock path (WARMTH_CLOCK, decided once per
 * process: in Check's fork mode, by each test's own child). */
static void warm_until_exact(const char *clock) {
  if (clock)
    setenv("WARMTH_CLOCK", clock, 1);
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 200LL * 1000000LL);
  uint32_t s = tu_add(w, "edge");
  warmth__w_heartbeat(w, warmth__mono_ns());
  warmth_t *h = tu_reader(name);
  warmth_model_t *m = resolve(h, "edge");
  for (int i = 0; i < 20; i++) {
    warmth__w_heartbeat(w, warmth__mono_ns());
    tu_set_state(w, s, WARMTH_WARM, 1000000);
    int64_t t0 = warmth__mono_ns();
    int rc = warmth_model_is_warm(m);
    int64_t t1 = warmth__mono_ns();
    if (t1 - t0 < 500000) /* not descheduled across the edge */
      ck_assert_int_eq(rc, 1);
    tu_sleep_ms(2);
    ck_assert_int_eq(warmth_model_is_warm(m), 0);
    ck_assert_int_eq(warmth_is_warm(h, "edge"), 0);
  }
  warmth__w_heartbeat(w, warmth__mono_ns());
  tu_set_state(w, s, WARMTH_WARM, MINUTE);
  ck_assert_int_eq(warmth_model_is_warm(m), 1);
  tu_sleep_ms(250); /* heartbeat older than stale_after (200 ms) */
  ck_assert_int_eq(warmth_model_is_warm(m), 0);
  ck_assert_int_eq(warmth_is_warm(h, "edge"), 0);
  warmth__w_heartbeat(w, warmth__mono_ns());
  ck_assert_int_eq(warmth_model_is_warm(m), 1);
  warmth_model_free(m);
  warmth_close(h);
  warmth__w_close(w, 1);
  unsetenv("WARMTH_CLOCK");
}

START_TEST(test_warm_until_exact) { warm_until_exact(NULL); }
END_TEST

START_TEST(test_warm_until_exact_glibc) { warm_until_exact("glibc"); }
END_TEST

START_TEST(test_warm_until_exact_precise) { warm_until_exact("precise"); }
END_TEST

/* Threads sharing one handle while the writer reloads the model into
 * other slots and reuses its slots for other models. */
struct churn {
  warmth_model_t *m;
  _Atomic int stop;
  _Atomic uint64_t reads, wrong;
};

static void *reader_thread(void *arg) {
  struct churn *c = arg;
  struct warmth_model_info info;
  while (!atomic_load(&c->stop)) {
    info.size = sizeof info;
    int rc = warmth_model_lookup(c->m, &info);
    if (rc == 0 && strcmp(info.name, "churned") != 0)
      atomic_fetch_add(&c->wrong, 1);
    else if (rc != 0 && rc != WARMTH_ENOTFOUND && rc != WARMTH_EBUSY)
      atomic_fetch_add(&c->wrong, 1);
    rc = warmth_model_is_warm(c->m);
    if (rc < 0 && rc != WARMTH_ENOTFOUND && rc != WARMTH_EBUSY)
      atomic_fetch_add(&c->wrong, 1);
    atomic_fetch_add(&c->reads, 1);
  }
  return NULL;
}

START_TEST(test_threads_share_a_handle) {
  enum { T = 3 };
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  warmth_t *h = tu_reader(name);
  struct churn c = {.m = resolve(h, "churned")};
  pthread_t th[T];
  for (int i = 0; i < T; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, reader_thread, &c), 0);
  static const char *const others[] = {"other-0", "other-1", "other-2"};
  int64_t end = warmth__mono_ns() + 3LL * 1000000000LL;
  unsigned k = 0, found = 0;
  while (warmth__mono_ns() < end) {
    /* Alternately the model and the others, so slots change hands. */
    uint32_t s;
    const char *n = (k % 2) ? others[(k / 2) % 3] : "churned";
    if (warmth__w_add(w, n, &s) == 0) {
      tu_set_state(w, s, WARMTH_WARM, MINUTE);
      warmth__w_publish(w);
    }
    tu_sleep_ms(1);
    if (k % 2 == 0) {
      struct warmth_model_info info = {.size = sizeof info};
      found += warmth_model_lookup(c.m, &info) == 0;
    }
    if (k % 5 == 4) {
      warmth__w_remove(w, "churned");
      warmth__w_remove(w, others[k % 3]);
      warmth__w_publish(w);
    }
    k++;
  }
  atomic_store(&c.stop, 1);
  for (int i = 0; i < T; i++)
    pthread_join(th[i], NULL);
  ck_assert_uint_eq(atomic_load(&c.wrong), 0);
  ck_assert_uint_gt(atomic_load(&c.reads), 100);
  ck_assert_uint_gt(found, 0);
  warmth_model_free(c.m);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

Suite *model_suite(void) {
  Suite *s = suite_create("model");
  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 30);
  tcase_add_test(core, test_same_answers_as_by_name);
  tcase_add_test(core, test_not_yet_present);
  tcase_add_test(core, test_reload);
  tcase_add_test(core, test_slot_reuse);
  tcase_add_test(core, test_replaced_segment);
  tcase_add_test(core, test_fork);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 30);
  tcase_add_test(limits, test_bad_arguments);
  tcase_add_test(limits, test_same_slot_other_name_in_record);
  tcase_add_test(limits, test_warm_until_exact);
  tcase_add_test(limits, test_warm_until_exact_glibc);
  tcase_add_test(limits, test_warm_until_exact_precise);
  tcase_add_test(limits, test_threads_share_a_handle);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(model_suite()); }
