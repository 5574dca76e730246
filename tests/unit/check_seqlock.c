/* check_seqlock.c - the per-record seqlock: writer steps, consistent copies
 * under concurrent updates, and a sequence left odd forever (a writer killed
 * mid-update) answered with WARMTH_EBUSY after a bounded number of tries. */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "check_util.h"

Suite *seqlock_suite(void);

static uint64_t seq_of(struct warmth__w *w, uint32_t slot) {
  return atomic_load(&tu_recs(w)[slot].seq);
}

START_TEST(test_seq_steps) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t slot = tu_add(w, "m");
  uint64_t s0 = seq_of(w, slot);
  ck_assert_uint_eq(s0 & 1, 0);
  ck_assert_uint_gt(s0, 0); /* the add itself was a seqlock write */
  struct warmth__payload p;
  ck_assert_int_eq(warmth__w_get(w, slot, &p), 0);
  for (int i = 1; i <= 5; i++) {
    p.successes = (uint64_t)i;
    ck_assert_int_eq(warmth__w_update(w, slot, &p), 0);
    ck_assert_uint_eq(seq_of(w, slot), s0 + 2u * (uint64_t)i);
  }
  struct warmth__payload out;
  ck_assert_int_eq(warmth__rec_read(&tu_recs(w)[slot], &out), 0);
  ck_assert_str_eq(out.name, "m");
  ck_assert_uint_eq(out.successes, 5);
  ck_assert_uint_eq(out.generation, 1);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_update_keeps_name_and_generation) {
  /* warmth__w_update ignores name and generation in its argument: a
   * publisher bug cannot rename a record or fake a slot reuse. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t slot = tu_add(w, "keep-me");
  struct warmth__payload p;
  memset(&p, 0, sizeof p);
  strcpy(p.name, "evil");
  p.generation = 77;
  p.tokens_in = 42;
  ck_assert_int_eq(warmth__w_update(w, slot, &p), 0);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "keep-me", &info), 0);
  ck_assert_str_eq(info.name, "keep-me");
  ck_assert_uint_eq(info.generation, 1);
  ck_assert_uint_eq(info.tokens_in, 42);
  ck_assert_int_eq(warmth_lookup(h, "evil", &info), WARMTH_ENOTFOUND);
  /* Only a slot in use can be updated. */
  ck_assert_int_eq(warmth__w_update(w, 7, &p), WARMTH_EINVAL);
  ck_assert_int_eq(warmth__w_update(w, 8, &p), WARMTH_EINVAL);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

/* A payload whose fields all derive from k, so any mix of two updates is
 * detected. */
static void fill(struct warmth__payload *p, uint64_t k) {
  p->successes = k;
  p->failures = k * 3;
  p->tokens_in = k ^ 0x5555555555555555ull;
  p->tokens_out = ~k;
  p->warm_until = (int64_t)(k >> 1);
  p->cost_nusd = k * 0x9e3779b97f4a7c15ull;
  p->last_latency_us = (uint32_t)k;
  p->ttfb_us = (uint32_t)(k >> 32);
}

static int torn(const struct warmth_model_info *i) {
  uint64_t k = i->successes;
  return i->failures != k * 3 || i->tokens_in != (k ^ 0x5555555555555555ull) ||
         i->tokens_out != ~k || i->warm_until != (int64_t)(k >> 1) ||
         i->cost_nusd != k * 0x9e3779b97f4a7c15ull ||
         i->last_latency_us != (uint32_t)k || i->ttfb_us != (uint32_t)(k >> 32);
}

struct race {
  struct warmth__w *w;
  warmth_t *h;
  uint32_t slot;
  _Atomic int started;
  _Atomic int stop;
  _Atomic uint64_t reads, torn, busy, seen_new;
};

static void *race_reader(void *arg) {
  struct race *r = arg;
  uint64_t reads = 0, bad = 0, busy = 0, last = 0, moved = 0;
  atomic_fetch_add(&r->started, 1);
  while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
    struct warmth_model_info info = {.size = sizeof info};
    int rc = warmth_lookup(r->h, "racy", &info);
    if (rc == WARMTH_EBUSY) {
      busy++;
      continue;
    }
    reads++;
    if (rc != 0 || strcmp(info.name, "racy") != 0 || torn(&info) ||
        info.successes < last)
      bad++; /* a copy from the past after a newer one is torn too */
    moved += info.successes != last;
    last = info.successes;
  }
  atomic_fetch_add(&r->reads, reads);
  atomic_fetch_add(&r->torn, bad);
  atomic_fetch_add(&r->busy, busy);
  atomic_fetch_add(&r->seen_new, moved);
  return NULL;
}

START_TEST(test_concurrent_copies) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct race r = {.w = tu_writer(name, 4, 0)};
  r.slot = tu_add(r.w, "racy");
  struct warmth__payload p;
  ck_assert_int_eq(warmth__w_get(r.w, r.slot, &p), 0);
  fill(&p, 0);
  ck_assert_int_eq(warmth__w_update(r.w, r.slot, &p), 0);
  r.h = tu_reader(name);
  enum { NREADERS = 3 };
  pthread_t t[NREADERS];
  for (int i = 0; i < NREADERS; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, race_reader, &r), 0);
  while (atomic_load(&r.started) < NREADERS)
    sched_yield();
  for (uint64_t k = 1; k <= 200000; k++) {
    fill(&p, k);
    warmth__w_update(r.w, r.slot, &p);
  }
  atomic_store(&r.stop, 1);
  for (int i = 0; i < NREADERS; i++)
    pthread_join(t[i], NULL);
  ck_assert_uint_gt(atomic_load(&r.reads), 0);
  ck_assert_msg(atomic_load(&r.torn) == 0, "%lu torn copies of %lu",
                (unsigned long)r.torn, (unsigned long)r.reads);
  warmth_close(r.h);
  warmth__w_close(r.w, 1);
}
END_TEST

static int count_cb(const struct warmth_model_info *info, void *arg) {
  (void)info;
  ++*(int *)arg;
  return 0;
}

START_TEST(test_odd_forever) {
  /* A writer killed between its two seq stores leaves the record odd for
   * good.  Every reader call must give up with WARMTH_EBUSY, not spin. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t stuck = tu_add(w, "stuck");
  uint32_t fine = tu_add(w, "fine");
  tu_set_state(w, stuck, WARMTH_WARM, 60LL * 1000000000LL);
  tu_set_state(w, fine, WARMTH_WARM, 60LL * 1000000000LL);
  warmth_t *h = tu_reader(name);
  struct warmth__rec *r = &tu_recs(w)[stuck];
  uint64_t s = atomic_load(&r->seq);
  atomic_store(&r->seq, s + 1);

  struct warmth_model_info info = {.size = sizeof info};
  for (int i = 0; i < 20; i++)
    ck_assert_int_eq(warmth_lookup(h, "stuck", &info), WARMTH_EBUSY);
  ck_assert_int_eq(warmth_is_warm(h, "stuck"), WARMTH_EBUSY);
  ck_assert_int_eq(warmth_touch(h, "stuck"), WARMTH_EBUSY);
  ck_assert_int_eq(warmth_report(h, "stuck", 10, 1), WARMTH_EBUSY);
  ck_assert_int_eq(warmth_wait_warm(h, "stuck", 10), WARMTH_EBUSY);
  struct warmth__payload out;
  ck_assert_int_eq(warmth__rec_read(r, &out), WARMTH_EBUSY);
  /* The other records are not held up by the stuck one. */
  ck_assert_int_eq(warmth_lookup(h, "fine", &info), 0);
  ck_assert_int_eq(warmth_is_warm(h, "fine"), 1);
  int n = 0;
  ck_assert_int_eq(warmth_foreach(h, count_cb, &n), 1);
  ck_assert_int_eq(n, 1);

  /* The next writer update (or an adopting successor) repairs it. */
  struct warmth__payload p;
  ck_assert_int_eq(warmth__w_get(w, stuck, &p), 0);
  ck_assert_int_eq(warmth__w_update(w, stuck, &p), 0);
  ck_assert_uint_eq(atomic_load(&r->seq) & 1, 0);
  ck_assert_int_eq(warmth_lookup(h, "stuck", &info), 0);
  ck_assert_int_eq(warmth_is_warm(h, "stuck"), 1);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(test_rec_read_local) {
  /* The seqlock read on its own, on a record in private memory. */
  static struct warmth__rec r;
  for (int i = 0; i < WARMTH__PAYLOAD_WORDS; i++)
    atomic_store(&r.w[i], (uint64_t)i * 7);
  atomic_store(&r.seq, 2);
  struct warmth__payload p;
  ck_assert_int_eq(warmth__rec_read(&r, &p), 0);
  uint64_t words[WARMTH__PAYLOAD_WORDS];
  memset(&p, 0xee, sizeof p);
  ck_assert_int_eq(warmth__rec_read(&r, &p), 0);
  memcpy(words, &p, sizeof words);
  /* Every word a reader uses is copied; `reserved` is left alone. */
  for (size_t i = 0; i < WARMTH__READ_WORDS; i++)
    ck_assert_uint_eq(words[i], (uint64_t)i * 7);
  for (size_t i = WARMTH__READ_WORDS; i < WARMTH__PAYLOAD_WORDS; i++)
    ck_assert_uint_eq(words[i], 0xeeeeeeeeeeeeeeeeull);
  atomic_store(&r.seq, 3);
  ck_assert_int_eq(warmth__rec_read(&r, &p), WARMTH_EBUSY);
  atomic_store(&r.seq, UINT64_MAX); /* odd at the very top, still busy */
  ck_assert_int_eq(warmth__rec_read(&r, &p), WARMTH_EBUSY);
}
END_TEST

START_TEST(test_seq_wrap) {
  /* 64-bit counters never wrap in practice; if one did, the protocol still
   * holds: UINT64_MAX - 1 (even) -> UINT64_MAX (odd) -> 0 (even). */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 2, 0);
  uint32_t slot = tu_add(w, "wrap");
  struct warmth__rec *r = &tu_recs(w)[slot];
  atomic_store(&r->seq, UINT64_MAX - 1);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "wrap", &info), 0);
  struct warmth__payload p;
  ck_assert_int_eq(warmth__w_get(w, slot, &p), 0);
  p.successes = 99;
  ck_assert_int_eq(warmth__w_update(w, slot, &p), 0);
  ck_assert_uint_eq(atomic_load(&r->seq), 0);
  ck_assert_int_eq(warmth_lookup(h, "wrap", &info), 0);
  ck_assert_uint_eq(info.successes, 99);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_busy_many_records) {
  /* Every record stuck at once: a foreach visits none and stays bounded. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 16, 0);
  char m[16];
  for (int i = 0; i < 16; i++) {
    snprintf(m, sizeof m, "m%d", i);
    tu_add(w, m);
  }
  warmth_t *h = tu_reader(name);
  for (int i = 0; i < 16; i++)
    atomic_fetch_or(&tu_recs(w)[i].seq, 1);
  int n = 0;
  ck_assert_int_eq(warmth_foreach(h, count_cb, &n), 0);
  ck_assert_int_eq(n, 0);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "m15", &info), WARMTH_EBUSY);
  ck_assert_int_eq(warmth_lookup(h, "absent", &info), WARMTH_ENOTFOUND);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

Suite *seqlock_suite(void) {
  Suite *s = suite_create("seqlock");
  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 30);
  tcase_add_test(core, test_seq_steps);
  tcase_add_test(core, test_update_keeps_name_and_generation);
  tcase_add_test(core, test_concurrent_copies);
  tcase_add_test(core, test_odd_forever);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 30);
  tcase_add_test(limits, test_rec_read_local);
  tcase_add_test(limits, test_seq_wrap);
  tcase_add_test(limits, test_busy_many_records);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(seqlock_suite()); }
