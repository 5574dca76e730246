/* check_index.c - RCU-style republication of the name index while readers
 * (threads of one process, and separate processes) look models up: every
 * hit carries the name asked for, and a model that is never removed is
 * never reported missing however often the index is rewritten. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "check_util.h"

Suite *index_suite(void);

enum { STABLE = 16, CHURN = 64, ROUNDS = 2000 };

static void stable_name(char *b, size_t n, unsigned i) {
  snprintf(b, n, "stable-%u", i);
}
static void churn_name(char *b, size_t n, unsigned i) {
  snprintf(b, n, "churn-%u", i);
}

/* What readers share with the test, in a MAP_SHARED page so forked
 * readers can report too. */
struct shared {
  _Atomic int stop;
  _Atomic int ready;
  _Atomic uint64_t reads, hits, wrong, stable_missing, busy;
};

static struct shared *shared_new(void) {
  struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ck_assert_ptr_ne(s, MAP_FAILED);
  memset(s, 0, sizeof *s);
  return s;
}

/* One reader's loop, the same in a thread and in a process. */
static void read_loop(warmth_t *h, struct shared *sh, unsigned seed) {
  uint64_t reads = 0, hits = 0, wrong = 0, missing = 0, busy = 0;
  char m[32];
  atomic_fetch_add(&sh->ready, 1);
  while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
    seed = seed * 1103515245u + 12345u;
    unsigned r = (seed >> 8) % (STABLE + CHURN);
    int stable = r < STABLE;
    if (stable)
      stable_name(m, sizeof m, r);
    else
      churn_name(m, sizeof m, r - STABLE);
    struct warmth_model_info info = {.size = sizeof info};
    int rc = warmth_lookup(h, m, &info);
    reads++;
    if (rc == 0) {
      hits++;
      if (strcmp(info.name, m) != 0 ||
          (stable && info.successes != 7777)) /* stable ones carry a mark */
        wrong++;
    } else if (rc == WARMTH_EBUSY) {
      busy++;
    } else if (rc != WARMTH_ENOTFOUND || stable) {
      missing += stable;
      wrong += !stable;
    }
  }
  atomic_fetch_add(&sh->reads, reads);
  atomic_fetch_add(&sh->hits, hits);
  atomic_fetch_add(&sh->wrong, wrong);
  atomic_fetch_add(&sh->stable_missing, missing);
  atomic_fetch_add(&sh->busy, busy);
}

/* The writer side: the stable models, then ROUNDS of structural churn,
 * each change published on its own so the index flips as often as it can. */
static struct warmth__w *setup(const char *name) {
  /* Removed slots wait out a grace period: room for every add we make
   * (at most one per round), and no more: each publication copies the
   * whole index, which is slow under ThreadSanitizer. */
  struct warmth__w *w = tu_writer(name, STABLE + CHURN + ROUNDS, 0);
  char m[32];
  for (unsigned i = 0; i < STABLE; i++) {
    stable_name(m, sizeof m, i);
    uint32_t slot = tu_add(w, m);
    struct warmth__payload p;
    ck_assert_int_eq(warmth__w_get(w, slot, &p), 0);
    p.successes = 7777;
    ck_assert_int_eq(warmth__w_update(w, slot, &p), 0);
  }
  return w;
}

static void churn(struct warmth__w *w) {
  char m[32];
  for (unsigned r = 0; r < ROUNDS; r++) {
    churn_name(m, sizeof m, r % CHURN);
    uint32_t slot;
    int rc = warmth__w_add(w, m, &slot);
    if (rc == WARMTH_EEXIST)
      rc = warmth__w_remove(w, m);
    ck_assert_int_eq(rc, 0);
    warmth__w_publish(w);
    /* Remove an older one too, so adds and removes interleave. */
    churn_name(m, sizeof m, (r * 7 + 3) % CHURN);
    if (warmth__w_remove(w, m) == 0)
      warmth__w_publish(w);
  }
}

static void check_shared(const struct shared *sh) {
  ck_assert_uint_gt(sh->reads, 0);
  ck_assert_uint_gt(sh->hits, 0);
  ck_assert_msg(sh->wrong == 0, "%lu lookups returned the wrong record",
                (unsigned long)sh->wrong);
  ck_assert_msg(sh->stable_missing == 0,
                "%lu lookups missed a model that was never removed",
                (unsigned long)sh->stable_missing);
}

struct targ {
  warmth_t *h;
  struct shared *sh;
  unsigned seed;
};

static void *reader_thread(void *arg) {
  struct targ *t = arg;
  read_loop(t->h, t->sh, t->seed);
  return NULL;
}

START_TEST(test_republish_threads) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = setup(name);
  warmth_t *h = tu_reader(name);
  struct shared *sh = shared_new();
  enum { N = 3 };
  pthread_t t[N];
  struct targ a[N];
  for (int i = 0; i < N; i++) {
    a[i] = (struct targ){h, sh, (unsigned)i + 1};
    ck_assert_int_eq(pthread_create(&t[i], NULL, reader_thread, &a[i]), 0);
  }
  while (atomic_load(&sh->ready) < N)
    sched_yield();
  churn(w);
  atomic_store(&sh->stop, 1);
  for (int i = 0; i < N; i++)
    pthread_join(t[i], NULL);
  check_shared(sh);
  munmap(sh, sizeof *sh);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_republish_processes) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = setup(name);
  struct shared *sh = shared_new();
  enum { N = 3 };
  pid_t pids[N];
  for (int i = 0; i < N; i++) {
    pids[i] = fork();
    ck_assert_int_ge(pids[i], 0);
    if (pids[i] == 0) {
      /* Each reader process opens its own handle, as a worker would. */
      warmth_t *h = NULL;
      if (warmth_open(&h, name, 0) != 0)
        _exit(2);
      read_loop(h, sh, (unsigned)getpid());
      warmth_close(h);
      _exit(0);
    }
  }
  for (int spins = 0; atomic_load(&sh->ready) < N && spins < 2000; spins++)
    tu_sleep_ms(5);
  churn(w);
  atomic_store(&sh->stop, 1);
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(tu_exit_code(tu_wait(pids[i], 10000)), 0);
  check_shared(sh);
  munmap(sh, sizeof *sh);
  warmth__w_close(w, 1);
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(test_double_buffer) {
  /* A publication rewrites only the inactive buffer and flips with one
   * step of 2: a reader still probing the old buffer sees it unchanged. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 16, 0);
  tu_add(w, "first");
  struct warmth__hdr *hd = warmth__w_hdr(w);
  uint64_t s = atomic_load(&hd->index_seq);
  ck_assert_uint_eq(s & 1, 0);
  uint32_t cap = hd->index_cap;
  uint64_t before[64];
  ck_assert_uint_le(cap, 64);
  _Atomic uint64_t *old = tu_active_index(w);
  for (uint32_t i = 0; i < cap; i++)
    before[i] = atomic_load(&old[i]);
  tu_add(w, "second");
  ck_assert_uint_eq(atomic_load(&hd->index_seq), s + 2);
  _Atomic uint64_t *now = tu_active_index(w);
  ck_assert_ptr_ne(now, old);
  int n_old = 0, n_new = 0;
  for (uint32_t i = 0; i < cap; i++) {
    ck_assert_uint_eq(atomic_load(&old[i]), before[i]);
    n_old += before[i] != 0;
    n_new += atomic_load(&now[i]) != 0;
  }
  ck_assert_int_eq(n_old, 1);
  ck_assert_int_eq(n_new, 2);
  /* Nothing staged: publish is a no-op and does not flip. */
  warmth__w_publish(w);
  ck_assert_uint_eq(atomic_load(&hd->index_seq), s + 2);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_random_ops) {
  /* Random adds and removes against a reference set: linear probing with
   * backward-shift deletion keeps every remaining model reachable. */
  enum { POOL = 300, OPS = 1500 };
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4096, 0);
  warmth_t *h = tu_reader(name);
  static char present[POOL];
  unsigned seed = 42;
  char m[32];
  for (int op = 0; op < OPS; op++) {
    seed = seed * 1103515245u + 12345u;
    unsigned k = (seed >> 8) % POOL;
    snprintf(m, sizeof m, "pool-%u", k);
    if (present[k]) {
      ck_assert_int_eq(warmth__w_remove(w, m), 0);
    } else {
      uint32_t slot;
      ck_assert_int_eq(warmth__w_add(w, m, &slot), 0);
    }
    present[k] ^= 1;
    if (op % 10 != 9)
      continue;
    warmth__w_publish(w);
    for (unsigned j = 0; j < POOL; j++) {
      snprintf(m, sizeof m, "pool-%u", j);
      struct warmth_model_info info = {.size = sizeof info};
      int rc = warmth_lookup(h, m, &info);
      ck_assert_msg(rc == (present[j] ? 0 : WARMTH_ENOTFOUND), "op %d: %s: %s",
                    op, m, warmth_err_name(rc));
      ck_assert_int_eq(warmth__w_slot(w, m) >= 0, present[j]);
    }
  }
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

Suite *index_suite(void) {
  Suite *s = suite_create("index");
  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 60);
  tcase_add_test(core, test_republish_threads);
  tcase_add_test(core, test_republish_processes);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 60);
  tcase_add_test(limits, test_double_buffer);
  tcase_add_test(limits, test_random_ops);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(index_suite()); }
