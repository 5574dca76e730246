/* check_seqlock.c - the per-record latch (lib/layout.h): writer steps,
 * consistent copies under concurrent updates, and a writer stopped or
 * killed at any point mid-update, which must not hold up a reader. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
  ck_assert_uint_gt(s0, 0); /* the add itself was a write */
  struct warmth__payload p;
  ck_assert_int_eq(warmth__w_get(w, slot, &p), 0);
  for (int i = 1; i <= 5; i++) {
    p.successes = (uint64_t)i;
    ck_assert_int_eq(warmth__w_update(w, slot, &p), 0);
    ck_assert_uint_eq(seq_of(w, slot), s0 + (uint64_t)i);
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

START_TEST(test_half_written) {
  /* A writer stopped or killed mid-update has written part of the copy
   * readers do not use, and not moved seq: every call answers from the
   * whole copy, as before the update. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint32_t half = tu_add(w, "half");
  uint32_t fine = tu_add(w, "fine");
  tu_set_state(w, half, WARMTH_WARM, 60LL * 1000000000LL);
  tu_set_state(w, fine, WARMTH_WARM, 60LL * 1000000000LL);
  warmth_t *h = tu_reader(name);
  _Atomic uint64_t *spare = tu_spare_copy(w, half);
  for (int k = 0; k < WARMTH__PAYLOAD_WORDS / 2; k++)
    atomic_store(&spare[k], 0x5a5a5a5a5a5a5a5aull);

  struct warmth_model_info info = {.size = sizeof info};
  for (int i = 0; i < 20; i++) {
    ck_assert_int_eq(warmth_lookup(h, "half", &info), 0);
    ck_assert_str_eq(info.name, "half");
    ck_assert_int_eq(info.state, WARMTH_WARM);
  }
  ck_assert_int_eq(warmth_is_warm(h, "half"), 1);
  ck_assert_int_eq(warmth_touch(h, "half"), 0);
  ck_assert_int_eq(warmth_report(h, "half", 10, 1), 0);
  ck_assert_int_eq(warmth_wait_warm(h, "half", 10), 1);
  int n = 0;
  ck_assert_int_eq(warmth_foreach(h, count_cb, &n), 2);
  ck_assert_int_eq(n, 2);
  warmth_model_t *m = NULL;
  ck_assert_int_eq(warmth_resolve(h, "half", &m), 0);
  ck_assert_int_eq(warmth_model_is_warm(m), 1);
  warmth_model_free(m);

  /* The next update overwrites the half-written copy and hands it over. */
  struct warmth__payload p;
  ck_assert_int_eq(warmth__w_get(w, half, &p), 0);
  p.successes = 3;
  ck_assert_int_eq(warmth__w_update(w, half, &p), 0);
  ck_assert_int_eq(warmth_lookup(h, "half", &info), 0);
  ck_assert_uint_eq(info.successes, 3);
  ck_assert_int_eq(warmth_is_warm(h, "half"), 1);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_writer_stopped) {
  /* A writer process updating one record as fast as it can, stopped
   * (SIGSTOP) at arbitrary points, as the scheduler or an operator stops
   * warmd: while it stands still, every lookup answers, untorn.  With one
   * copy and seq odd during the update (the seqlock before ABI 4), a fifth
   * of the stops landed inside an update and every lookup then answered
   * WARMTH_EBUSY (108 to 141 of 600 in three runs). */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  uint32_t slot = tu_add(w, "racy");
  struct warmth__payload p;
  ck_assert_int_eq(warmth__w_get(w, slot, &p), 0);
  fill(&p, 0);
  ck_assert_int_eq(warmth__w_update(w, slot, &p), 0);
  warmth_t *h = tu_reader(name);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    for (uint64_t k = 1;; k++) {
      fill(&p, k);
      warmth__w_update(w, slot, &p);
    }
  }
  enum { STOPS = 200 };
  int busy = 0, bad = 0;
  uint64_t last = 0;
  for (int i = 0; i < STOPS; i++) {
    /* Stop it only once it has moved on since the last stop (however
     * late a loaded machine schedules it), then at a varied point. */
    int64_t deadline = warmth__mono_ns() + 30LL * 1000000000LL;
    for (;;) {
      struct warmth_model_info info = {.size = sizeof info};
      if (warmth_lookup(h, "racy", &info) == 0 && info.successes != last)
        break;
      ck_assert_msg(warmth__mono_ns() < deadline,
                    "the writer made no update in 30 s (stop %d)", i);
      usleep(20);
    }
    usleep((unsigned)(i * 37) % 300);
    ck_assert_int_eq(kill(pid, SIGSTOP), 0);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, WUNTRACED), pid);
    ck_assert(WIFSTOPPED(st));
    for (int k = 0; k < 3; k++) {
      struct warmth_model_info info = {.size = sizeof info};
      int rc = warmth_lookup(h, "racy", &info);
      if (rc == WARMTH_EBUSY) {
        busy++;
        continue;
      }
      if (rc != 0 || strcmp(info.name, "racy") != 0 || torn(&info) ||
          info.successes < last)
        bad++;
      last = info.successes;
    }
    ck_assert_int_eq(kill(pid, SIGCONT), 0);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  ck_assert_msg(busy == 0,
                "%d of %d lookups of a stopped writer's record "
                "answered WARMTH_EBUSY",
                busy, 3 * STOPS);
  ck_assert_int_eq(bad, 0);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(test_rec_read_local) {
  /* The read on its own, on a record in private memory: seq's parity picks
   * the copy, up to the top of the counter. */
  static struct warmth__rec r;
  _Atomic uint64_t *c0 = (_Atomic uint64_t *)warmth__rec_copy(&r, 0);
  _Atomic uint64_t *c1 = (_Atomic uint64_t *)warmth__rec_copy(&r, 1);
  for (int i = 0; i < WARMTH__PAYLOAD_WORDS; i++) {
    atomic_store(&c0[i], (uint64_t)i * 7);
    atomic_store(&c1[i], (uint64_t)i * 11);
  }
  uint64_t seqs[] = {2, 3, UINT64_MAX - 1, UINT64_MAX};
  for (size_t t = 0; t < sizeof seqs / sizeof *seqs; t++) {
    atomic_store(&r.seq, seqs[t]);
    uint64_t mul = seqs[t] & 1 ? 11 : 7;
    struct warmth__payload p;
    memset(&p, 0xee, sizeof p);
    ck_assert_int_eq(warmth__rec_read(&r, &p), 0);
    uint64_t words[WARMTH__PAYLOAD_WORDS];
    memcpy(words, &p, sizeof words);
    /* Every word a reader uses is copied; `reserved` is left alone. */
    for (size_t i = 0; i < WARMTH__READ_WORDS; i++)
      ck_assert_uint_eq(words[i], (uint64_t)i * mul);
    for (size_t i = WARMTH__READ_WORDS; i < WARMTH__PAYLOAD_WORDS; i++)
      ck_assert_uint_eq(words[i], 0xeeeeeeeeeeeeeeeeull);
  }
}
END_TEST

START_TEST(test_seq_wrap) {
  /* 64-bit counters never wrap in practice; if one did, the protocol still
   * holds: 2^64 is even, so the parity alternates across the wrap. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 2, 0);
  uint32_t slot = tu_add(w, "wrap");
  struct warmth__rec *r = &tu_recs(w)[slot];
  /* The same parity, so readers keep the copy they read. */
  atomic_store(&r->seq, UINT64_MAX - 1 + (atomic_load(&r->seq) & 1));
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "wrap", &info), 0);
  struct warmth__payload p;
  ck_assert_int_eq(warmth__w_get(w, slot, &p), 0);
  for (uint64_t k = 1; k <= 2; k++) {
    p.successes = 98 + k;
    ck_assert_int_eq(warmth__w_update(w, slot, &p), 0);
    ck_assert_int_eq(warmth_lookup(h, "wrap", &info), 0);
    ck_assert_uint_eq(info.successes, 98 + k);
  }
  ck_assert_uint_le(atomic_load(&r->seq), 1); /* it wrapped */
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
  tcase_add_test(core, test_half_written);
  tcase_add_test(core, test_writer_stopped);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 30);
  tcase_add_test(limits, test_rec_read_local);
  tcase_add_test(limits, test_seq_wrap);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(seqlock_suite()); }
