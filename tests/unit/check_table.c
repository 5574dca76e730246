/* check_table.c - unit tests of warmd's model table (tools/warmd/table.c):
 * how a reload matches the models of the new config with the old ones
 * (renames, removals, additions, reordering, changed settings), and that
 * the shared table's slots freed by a reload come back.
 *
 * Each test builds real tables (config file, shared segment, publisher) in
 * a fresh directory.  A model's carried-over state is told apart by a
 * marker stored in its n_ok counter: a reload must carry it to the entry of
 * the same name, and start a new model (or one that comes back after a
 * removal) at 0.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_util.h"
#include "daemon.h"
#include "log.h"
#include "table.h"

Suite *table_suite(void);

static char dir[512];

struct fx {
  char shm[TU_NAME_LEN];
  struct warmth__w *w;
  struct wd_pub *pub;
  struct wd_table t;
  int nconf;
};

/* A config with models[i] (NULL-terminated); interval[i] in seconds when
 * intervals is not NULL, else 60. */
static struct wd_config *conf_of(struct fx *f, const char *const *models,
                                 const int *intervals) {
  char path[700], err[512];
  snprintf(path, sizeof path, "%s/warmd-%d.conf", dir, f->nconf++);
  FILE *c = fopen(path, "w");
  ck_assert_ptr_nonnull(c);
  fprintf(c, "[warmd]\nhttp_listen =\n[endpoint local]\nkind = openai\n"
             "base_url = http://127.0.0.1:9/v1\n");
  for (int i = 0; models[i]; i++)
    fprintf(c, "[model %s]\nendpoint = local\ninterval = %ds\n", models[i],
            intervals ? intervals[i] : 60);
  ck_assert_int_eq(fclose(c), 0);
  struct wd_config *cfg;
  ck_assert_msg(wd_config_load(path, &cfg, err, sizeof err) == 0, "%s", err);
  return cfg;
}

static void fx_open(struct fx *f, uint32_t capacity,
                    const char *const *models) {
  char err[512];
  memset(f, 0, sizeof *f);
  struct wd_config *cfg = conf_of(f, models, NULL);
  tu_name(f->shm);
  f->w = tu_writer(f->shm, capacity, 0);
  ck_assert_int_eq(wd_pub_start(&f->pub, f->w, 10 * WD_NS_PER_MS), 0);
  ck_assert_msg(wd_table_init(&f->t, cfg, f->w, f->pub, warmth__mono_ns(), err,
                              sizeof err) == 0,
                "%s", err);
}

static int fx_reload(struct fx *f, const char *const *models,
                     const int *intervals, struct wd_reload_summary *sum,
                     char *err, size_t errlen) {
  struct wd_config *cfg = conf_of(f, models, intervals);
  int rc = wd_table_reload(&f->t, cfg, f->w, f->pub, warmth__mono_ns(), sum,
                           err, errlen);
  if (rc != 0)
    wd_config_free(cfg);
  return rc;
}

static void fx_close(struct fx *f) {
  wd_table_free(&f->t);
  wd_pub_stop(f->pub);
  warmth__w_close(f->w, 1);
}

/* The writer's slot of `name`, under the publisher's lock (its thread
 * writes the same slots). */
static int slot_of(struct fx *f, const char *name) {
  wd_pub_lock(f->pub);
  int s = warmth__w_slot(f->w, name);
  wd_pub_unlock(f->pub);
  return s;
}

/* Checks the table against the config it was built from: entries in
 * config order, each found by name in the hash, each in the shared table
 * at its slot, the heap holding every one. */
static void check_consistent(struct fx *f, const char *const *models) {
  uint32_t n = 0;
  for (; models[n]; n++) {
    ck_assert_uint_lt(n, f->t.n);
    struct wd_entry *e = f->t.v[n];
    ck_assert_str_eq(e->name, models[n]);
    ck_assert_uint_eq(e->model_idx, n);
    rcu_read_lock();
    ck_assert_ptr_eq(wd_table_find(&f->t, models[n]), e);
    rcu_read_unlock();
    ck_assert_int_eq(slot_of(f, models[n]), (int)e->slot);
  }
  ck_assert_uint_eq(f->t.n, n);
  ck_assert_uint_eq(f->t.nheap, n);
}

static uint64_t marker(const char *name) {
  size_t len;
  return 1000 + warmth__hash(name, &len);
}

START_TEST(test_reload_matching) {
  /* Renames (= a removal and an addition), removals, additions,
   * reordering and one changed setting in one reload. */
  static const char *const before[] = {"m0", "m1", "m2", "m3", "m4", "m5",
                                       "m6", "m7", "m8", "m9", NULL};
  static const char *const after[] = {"m9", "x1", "m8", "m7", "r0", "m3",
                                      "m6", "m5", "x2", "m4", NULL};
  static const int ivs[] = {60, 60, 60, 60, 60, 30, 60, 60, 60, 60};
  struct fx f;
  fx_open(&f, 64, before);
  check_consistent(&f, before);
  uint32_t slot_before[10];
  for (uint32_t i = 0; i < f.t.n; i++) {
    atomic_store(&f.t.v[i]->n_ok, marker(f.t.v[i]->name));
    slot_before[i] = f.t.v[i]->slot;
  }
  struct wd_reload_summary sum;
  char err[512];
  ck_assert_msg(fx_reload(&f, after, ivs, &sum, err, sizeof err) == 0, "%s",
                err);
  ck_assert_int_eq(sum.added, 3);   /* x1 r0 x2 */
  ck_assert_int_eq(sum.removed, 3); /* m0 m1 m2 */
  ck_assert_int_eq(sum.changed, 1); /* m3: interval */
  ck_assert_int_eq(sum.kept, 6);    /* m4..m9 */
  check_consistent(&f, after);
  for (uint32_t i = 0; i < f.t.n; i++) {
    struct wd_entry *e = f.t.v[i];
    int old = e->name[0] == 'm';
    ck_assert_uint_eq(atomic_load(&e->n_ok), old ? marker(e->name) : 0);
    if (old) /* same slot: readers' handles stay valid */
      ck_assert_uint_eq(e->slot, slot_before[e->name[1] - '0']);
  }
  ck_assert_int_eq(f.t.v[5]->m->interval_ns, 30 * WD_NS_PER_S);
  for (int i = 0; i < 3; i++) {
    char m[8];
    snprintf(m, sizeof m, "m%d", i);
    rcu_read_lock();
    ck_assert_ptr_null(wd_table_find(&f.t, m));
    rcu_read_unlock();
    ck_assert_int_eq(slot_of(&f, m), WARMTH_ENOTFOUND);
  }
  warmth_t *h = tu_reader(f.shm);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "r0", &info), 0);
  ck_assert_int_eq(warmth_lookup(h, "m0", &info), WARMTH_ENOTFOUND);
  warmth_close(h);
  fx_close(&f);
}
END_TEST

START_TEST(test_reload_random) {
  /* Random reloads over a pool of names against a reference: which names
   * are added, removed and kept, and that a kept name keeps its marker. */
  enum { POOL = 300, ROUNDS = 25 };
  static char names[POOL][16];
  static const char *cur[POOL + 1], *nxt[POOL + 1];
  static int present[POOL];
  unsigned seed = 12345;
  for (int i = 0; i < POOL; i++)
    snprintf(names[i], sizeof names[i], "pool-%03d", i);
  int n = 0;
  for (int i = 0; i < POOL; i += 3) {
    cur[n++] = names[i];
    present[i] = 1;
  }
  cur[n] = NULL;
  struct fx f;
  fx_open(&f, 8192, cur);
  for (uint32_t i = 0; i < f.t.n; i++)
    atomic_store(&f.t.v[i]->n_ok, marker(f.t.v[i]->name));
  for (int r = 0; r < ROUNDS; r++) {
    int idx[POOL], m = 0, want_add = 0, want_rm = 0, want_keep = 0;
    int next_present[POOL];
    for (int i = 0; i < POOL; i++) {
      next_present[i] = rand_r(&seed) % 3 == 0;
      if (next_present[i])
        idx[m++] = i;
      want_add += next_present[i] && !present[i];
      want_rm += !next_present[i] && present[i];
      want_keep += next_present[i] && present[i];
    }
    for (int i = m - 1; i > 0; i--) { /* any order */
      int j = rand_r(&seed) % (i + 1), x = idx[i];
      idx[i] = idx[j];
      idx[j] = x;
    }
    for (int i = 0; i < m; i++)
      nxt[i] = names[idx[i]];
    nxt[m] = NULL;
    struct wd_reload_summary sum;
    char err[512];
    ck_assert_msg(fx_reload(&f, nxt, NULL, &sum, err, sizeof err) == 0,
                  "round %d: %s", r, err);
    ck_assert_int_eq(sum.added, want_add);
    ck_assert_int_eq(sum.removed, want_rm);
    ck_assert_int_eq(sum.kept + sum.changed, want_keep);
    check_consistent(&f, nxt);
    for (uint32_t i = 0; i < f.t.n; i++) {
      struct wd_entry *e = f.t.v[i];
      int p = atoi(e->name + 5);
      ck_assert_uint_eq(atomic_load(&e->n_ok),
                        present[p] ? marker(e->name) : 0);
      atomic_store(&e->n_ok, marker(e->name));
    }
    for (int i = 0; i < POOL; i++) {
      present[i] = next_present[i];
      if (!present[i])
        ck_assert_int_eq(slot_of(&f, names[i]), WARMTH_ENOTFOUND);
    }
  }
  fx_close(&f);
}
END_TEST

START_TEST(test_reload_after_swap) {
  /* Issue 12, item 7: 32 models in 64 slots, a reload with a disjoint set
   * of 32, then (the slots' grace period over) a reload that adds a model
   * must find room: it answered "table is full" until a restart. */
  enum { N = 32 };
  static char a[N][16], b[N][16];
  static const char *ca[N + 1], *cb[N + 4];
  for (int i = 0; i < N; i++) {
    snprintf(a[i], sizeof a[i], "a%02d", i);
    snprintf(b[i], sizeof b[i], "b%02d", i);
    ca[i] = a[i];
    cb[i] = b[i];
  }
  ca[N] = NULL;
  cb[N] = NULL;
  struct fx f;
  fx_open(&f, 2 * N, ca);
  struct wd_reload_summary sum;
  char err[512];
  int64_t swapped = warmth__mono_ns();
  ck_assert_msg(fx_reload(&f, cb, NULL, &sum, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(sum.added, N);
  ck_assert_int_eq(sum.removed, N);
  /* Within the grace period the freed slots are not reusable yet: the
   * reload fails and says so (checked only when the machine was quick
   * enough to try within it). */
  cb[N] = "early";
  cb[N + 1] = NULL;
  int rc = fx_reload(&f, cb, NULL, &sum, err, sizeof err);
  if (warmth__mono_ns() - swapped < WARMTH__SLOT_GRACE_NS) {
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, "table is full (32 of 64 slots hold models; "
                              "32 freed by a recent reload come back 2 s"),
                  "%s", err);
  }
  cb[N] = NULL;
  ck_assert_msg(fx_reload(&f, cb, NULL, &sum, err, sizeof err) == 0, "%s", err);
  while (warmth__mono_ns() - swapped < WARMTH__SLOT_GRACE_NS + 100000000LL)
    tu_sleep_ms(50);
  static char extra[3][16];
  for (int k = 0; k < 3; k++) { /* and again, each adding one more */
    snprintf(extra[k], sizeof extra[k], "c%d", k);
    cb[N + k] = extra[k];
    cb[N + k + 1] = NULL;
    ck_assert_msg(fx_reload(&f, cb, NULL, &sum, err, sizeof err) == 0,
                  "reload %d after the swap: %s", k, err);
    ck_assert_int_eq(sum.added, 1);
    check_consistent(&f, cb);
  }
  fx_close(&f);
}
END_TEST

START_TEST(test_reload_failed_then_retried) {
  /* A reload that fails half-way (table full) rolls back the models it
   * added; their slots must come back like any freed slot, so a retry that
   * fits succeeds once the grace period is over.  Before, the roll-back
   * was never published and the retry failed with "table is full" too,
   * and so did every one after it, until a restart. */
  static const char *const base[] = {"m0", "m1", "m2", "m3", "m4", NULL};
  static const char *const too_many[] = {"m0", "m1", "m2", "m3", "m4",
                                         "n0", "n1", "n2", "n3", NULL};
  static const char *const fits[] = {"m0", "m1", "m2", "m3", "m4",
                                     "n0", "n1", "n2", NULL};
  struct fx f;
  fx_open(&f, 8, base);
  struct wd_reload_summary sum;
  char err[512];
  int64_t failed = warmth__mono_ns();
  ck_assert_int_eq(fx_reload(&f, too_many, NULL, &sum, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "table is full"), "%s", err);
  check_consistent(&f, base); /* nothing of it stayed */
  ck_assert_int_eq(slot_of(&f, "n0"), WARMTH_ENOTFOUND);
  while (warmth__mono_ns() - failed < WARMTH__SLOT_GRACE_NS + 100000000LL)
    tu_sleep_ms(50);
  ck_assert_msg(fx_reload(&f, fits, NULL, &sum, err, sizeof err) == 0,
                "retry: %s", err);
  ck_assert_int_eq(sum.added, 3);
  check_consistent(&f, fits);
  fx_close(&f);
}
END_TEST

/* Every counter of a kept model survives a reload, not only n_ok: the
 * latency histogram and results by class (/metrics, warmctl stats' AVG-LAT
 * read "-" for a kept model after a reload), fleet skips, the tokens the
 * record has no field for. */
START_TEST(test_reload_keeps_counters) {
  static const char *const before[] = {"k", NULL};
  static const char *const after[] = {"k", "new", NULL};
  struct fx f;
  fx_open(&f, 16, before);
  struct wd_entry *e = f.t.v[0];
  uint64_t v = 1;
  atomic_store(&e->n_ok, v++);
  atomic_store(&e->n_fail, v++);
  atomic_store(&e->n_skip_real, v++);
  atomic_store(&e->n_skip_idle, v++);
  atomic_store(&e->n_skip_budget, v++);
  atomic_store(&e->n_skip_throttle, v++);
  atomic_store(&e->n_skip_fleet, v++);
  atomic_store(&e->tokens_reasoning, v++);
  atomic_store(&e->tokens_cache_write, v++);
  atomic_store(&e->lat_sum_us, v++);
  for (int b = 0; b < WD_LAT_BUCKETS; b++)
    atomic_store(&e->lat_count[b], v++);
  for (int c = 0; c < WARMTH_ERR_CLASS_COUNT; c++)
    atomic_store(&e->n_by_class[c], v++);
  struct wd_reload_summary sum;
  char err[512];
  ck_assert_msg(fx_reload(&f, after, NULL, &sum, err, sizeof err) == 0, "%s",
                err);
  ck_assert_int_eq(sum.kept, 1);
  e = f.t.v[0];
  ck_assert_str_eq(e->name, "k");
  v = 1;
  ck_assert_uint_eq(atomic_load(&e->n_ok), v++);
  ck_assert_uint_eq(atomic_load(&e->n_fail), v++);
  ck_assert_uint_eq(atomic_load(&e->n_skip_real), v++);
  ck_assert_uint_eq(atomic_load(&e->n_skip_idle), v++);
  ck_assert_uint_eq(atomic_load(&e->n_skip_budget), v++);
  ck_assert_uint_eq(atomic_load(&e->n_skip_throttle), v++);
  ck_assert_uint_eq(atomic_load(&e->n_skip_fleet), v++);
  ck_assert_uint_eq(atomic_load(&e->tokens_reasoning), v++);
  ck_assert_uint_eq(atomic_load(&e->tokens_cache_write), v++);
  ck_assert_uint_eq(atomic_load(&e->lat_sum_us), v++);
  for (int b = 0; b < WD_LAT_BUCKETS; b++)
    ck_assert_uint_eq(atomic_load(&e->lat_count[b]), v++);
  for (int c = 0; c < WARMTH_ERR_CLASS_COUNT; c++)
    ck_assert_uint_eq(atomic_load(&e->n_by_class[c]), v++);
  /* The new model starts from nothing. */
  e = f.t.v[1];
  ck_assert_uint_eq(atomic_load(&e->lat_sum_us), 0);
  ck_assert_uint_eq(atomic_load(&e->n_by_class[0]), 0);
  fx_close(&f);
}
END_TEST

static void setup(void) {
  tu_mkdtemp(dir, sizeof dir, "check_table");
  wd_log_open(0, LOG_WARNING);
  rcu_register_thread();
}

static void teardown(void) {
  rcu_unregister_thread();
  tu_rmtree(dir);
}

Suite *table_suite(void) {
  Suite *s = suite_create("table");
  TCase *core = tcase_create("core");
  tcase_add_checked_fixture(core, setup, teardown);
  tcase_set_timeout(core, 60);
  tcase_add_test(core, test_reload_matching);
  tcase_add_test(core, test_reload_random);
  tcase_add_test(core, test_reload_after_swap);
  tcase_add_test(core, test_reload_failed_then_retried);
  tcase_add_test(core, test_reload_keeps_counters);
  suite_add_tcase(s, core);
  return s;
}

int main(void) { return tu_run(table_suite()); }
