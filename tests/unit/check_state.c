/* check_state.c - unit tests of warmd's state file (tools/warmd/state.c).
 *
 * Each test builds real model tables (config, shared segment, publisher)
 * in a fresh directory, so what is saved and restored is what warmd keeps.
 * warmd's log goes to a file here; the tests read it to check that every
 * rejected file is named with its reason.  A file that cannot be used must
 * end up beside its path as "<path>.bad-<unix time>", apply nothing, and
 * leave warmd starting fresh.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check_util.h"
#include "daemon.h"
#include "log.h"
#include "state.h"
#include "table.h"

Suite *state_suite(void);

static char dir[512], path[600], logpath[600];
static size_t log_seen; /* bytes of the log already looked at */

struct fx {
  char shm[TU_NAME_LEN];
  struct warmth__w *w;
  struct wd_pub *pub;
  struct wd_table t;
};

static int64_t now_ns(void) { return warmth__mono_ns(); }

static void fx_open(struct fx *f, const char *const *models) {
  char conf[700], err[512];
  snprintf(conf, sizeof conf, "%s/warmd.conf", dir);
  FILE *c = fopen(conf, "w");
  ck_assert_ptr_nonnull(c);
  fprintf(c, "[warmd]\nhttp_listen =\n[endpoint local]\nkind = openai\n"
             "base_url = http://127.0.0.1:9/v1\n");
  for (int i = 0; models[i]; i++)
    fprintf(c, "[model %s]\nendpoint = local\ninterval = 60s\n", models[i]);
  ck_assert_int_eq(fclose(c), 0);
  struct wd_config *cfg;
  ck_assert_msg(wd_config_load(conf, &cfg, err, sizeof err) == 0, "%s", err);
  tu_name(f->shm);
  f->w = tu_writer(f->shm, 16, 0);
  ck_assert_int_eq(wd_pub_start(&f->pub, f->w, 10 * WD_NS_PER_MS), 0);
  ck_assert_msg(
      wd_table_init(&f->t, cfg, f->w, f->pub, now_ns(), err, sizeof err) == 0,
      "%s", err);
}

static void fx_close(struct fx *f) {
  wd_table_free(&f->t);
  wd_pub_stop(f->pub);
  warmth__w_close(f->w, 1);
}

static struct wd_entry *entry(struct fx *f, const char *name) {
  for (uint32_t i = 0; i < f->t.n; i++)
    if (strcmp(f->t.v[i]->name, name) == 0)
      return f->t.v[i];
  ck_abort_msg("no model %s", name);
  return NULL;
}

/* Distinct values per model (k) in every field the file keeps. */
static void fill(struct wd_entry *e, uint64_t k) {
  atomic_store(&e->n_ok, 100 * k + 1);
  atomic_store(&e->n_fail, 100 * k + 2);
  atomic_store(&e->n_skip_real, 100 * k + 3);
  atomic_store(&e->n_skip_idle, 100 * k + 4);
  atomic_store(&e->n_skip_budget, 100 * k + 5);
  atomic_store(&e->n_skip_throttle, 100 * k + 6);
  for (int b = 0; b < WD_LAT_BUCKETS; b++)
    atomic_store(&e->lat_count[b], 10 * k + (uint64_t)b);
  atomic_store(&e->lat_sum_us, 12345 * k);
  for (int c = 0; c < WARMTH_ERR_CLASS_COUNT; c++)
    atomic_store(&e->n_by_class[c], 7 * k + (uint64_t)c);
  e->rec.successes = 1000 * k + 1;
  e->rec.failures = 1000 * k + 2;
  e->rec.tokens_in = 1000 * k + 3;
  e->rec.tokens_out = 1000 * k + 4;
  e->rec.tokens_cached = 1000 * k + 5;
  e->rec.cost_nusd = 1000000 * k + 6;
  e->rec.last_latency_us = (uint32_t)(100 * k + 7);
  e->rec.ewma_latency_us = (uint32_t)(100 * k + 8);
  atomic_store(&e->tokens_reasoning, 1000 * k + 9);
  atomic_store(&e->tokens_cache_write, 1000 * k + 10);
}

static void check_filled(struct wd_entry *e, uint64_t k) {
  ck_assert_uint_eq(atomic_load(&e->n_ok), 100 * k + 1);
  ck_assert_uint_eq(atomic_load(&e->n_fail), 100 * k + 2);
  ck_assert_uint_eq(atomic_load(&e->n_skip_real), 100 * k + 3);
  ck_assert_uint_eq(atomic_load(&e->n_skip_idle), 100 * k + 4);
  ck_assert_uint_eq(atomic_load(&e->n_skip_budget), 100 * k + 5);
  ck_assert_uint_eq(atomic_load(&e->n_skip_throttle), 100 * k + 6);
  for (int b = 0; b < WD_LAT_BUCKETS; b++)
    ck_assert_uint_eq(atomic_load(&e->lat_count[b]), 10 * k + (uint64_t)b);
  ck_assert_uint_eq(atomic_load(&e->lat_sum_us), 12345 * k);
  for (int c = 0; c < WARMTH_ERR_CLASS_COUNT; c++)
    ck_assert_uint_eq(atomic_load(&e->n_by_class[c]), 7 * k + (uint64_t)c);
  ck_assert_uint_eq(e->rec.successes, 1000 * k + 1);
  ck_assert_uint_eq(e->rec.failures, 1000 * k + 2);
  ck_assert_uint_eq(e->rec.tokens_in, 1000 * k + 3);
  ck_assert_uint_eq(e->rec.tokens_out, 1000 * k + 4);
  ck_assert_uint_eq(e->rec.tokens_cached, 1000 * k + 5);
  ck_assert_uint_eq(e->rec.cost_nusd, 1000000 * k + 6);
  ck_assert_uint_eq(e->rec.last_latency_us, 100 * k + 7);
  ck_assert_uint_eq(e->rec.ewma_latency_us, 100 * k + 8);
  ck_assert_uint_eq(atomic_load(&e->tokens_reasoning), 1000 * k + 9);
  ck_assert_uint_eq(atomic_load(&e->tokens_cache_write), 1000 * k + 10);
}

/* Nothing of a file was applied: every counter still zero. */
static void check_fresh(struct fx *f) {
  for (uint32_t i = 0; i < f->t.n; i++) {
    struct wd_entry *e = f->t.v[i];
    ck_assert_uint_eq(atomic_load(&e->n_ok), 0);
    ck_assert_uint_eq(atomic_load(&e->n_fail), 0);
    ck_assert_uint_eq(atomic_load(&e->lat_count[0]), 0);
    ck_assert_uint_eq(e->rec.successes, 0);
    ck_assert_uint_eq(e->rec.cost_nusd, 0);
    ck_assert_uint_eq(e->rec.fails_in_row, 0);
    ck_assert_int_eq(e->hold_until, 0);
  }
}

/* ---- files and the log -----------------------------------------------------
 */

static void write_bytes(const char *p, const void *buf, size_t len) {
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
  close(fd);
}

static unsigned char *read_bytes(const char *p, size_t *len) {
  int fd = open(p, O_RDONLY);
  ck_assert_msg(fd >= 0, "open %s: %s", p, strerror(errno));
  struct stat st;
  ck_assert_int_eq(fstat(fd, &st), 0);
  unsigned char *b = malloc((size_t)st.st_size + 1);
  ck_assert_int_eq(read(fd, b, (size_t)st.st_size), st.st_size);
  close(fd);
  b[st.st_size] = 0;
  *len = (size_t)st.st_size;
  return b;
}

/* The log written since the last call (malloc'd, NUL-terminated). */
static char *new_log(void) {
  size_t len;
  char *all = (char *)read_bytes(logpath, &len);
  char *s = strdup(all + log_seen);
  log_seen = len;
  free(all);
  return s;
}

static void expect_log(const char *what) {
  char *s = new_log();
  ck_assert_msg(strstr(s, what), "log lacks \"%s\":\n%s", what, s);
  free(s);
}

/* Files in dir whose name starts with prefix; removed when rm. */
static int count_files(const char *prefix, int rm) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
      n++;
      if (rm) {
        char p[1100];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
      }
    }
  closedir(d);
  return n;
}

/* Loads a file that must be rejected for `reason`: set aside under
 * state.bad-*, the original gone, nothing applied. */
static void expect_rejected(struct fx *f, const char *reason) {
  ck_assert_int_eq(wd_state_load(path, &f->t, now_ns()), 0);
  ck_assert_msg(access(path, F_OK) != 0, "%s still in place", path);
  ck_assert_int_eq(count_files("state.bad-", 1), 1);
  char *s = new_log();
  ck_assert_msg(strstr(s, reason) && strstr(s, "kept aside as") &&
                    strstr(s, "starting fresh") && strstr(s, path),
                "log lacks \"%s\", the path, or where it went:\n%s", reason, s);
  free(s);
  check_fresh(f);
}

static void setup(void) {
  tu_mkdtemp(dir, sizeof dir, "check_state");
  snprintf(path, sizeof path, "%s/state", dir);
  snprintf(logpath, sizeof logpath, "%s/log", dir);
  int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
  ck_assert_int_ge(fd, 0);
  dup2(fd, 2);
  close(fd);
  log_seen = 0;
  wd_log_open(0, LOG_DEBUG);
  rcu_register_thread();
}

static void teardown(void) {
  rcu_unregister_thread();
  tu_rmtree(dir);
}

static const char *const abc[] = {"m1", "m2", "m3", NULL};

/* Saves a table with filled models m1..m3 (m2 in backoff) to path. */
static void save_filled(void) {
  struct fx a;
  fx_open(&a, abc);
  int64_t now = now_ns();
  for (uint64_t k = 1; k <= 3; k++) /* m1, m2, m3 */
    fill(a.t.v[k - 1], k);
  struct wd_entry *m2 = entry(&a, "m2");
  m2->rec.fails_in_row = 4;
  m2->hold_until = now + 20 * WD_NS_PER_S;
  m2->due = now + 30 * WD_NS_PER_S;
  entry(&a, "m1")->due = now + 100 * WD_NS_PER_S; /* healthy */
  ck_assert_int_eq(wd_state_save(path, &a.t, now), 0);
  fx_close(&a);
}

/* ---- core ------------------------------------------------------------------
 */

START_TEST(test_round_trip) {
  save_filled();
  ck_assert_int_eq(count_files("state.", 0), 0); /* no temp file left */
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_gt(st.st_size, 0);

  /* A fresh segment, as after a reboot, and a changed config: m3 gone, m4
   * new. */
  static const char *const abd[] = {"m1", "m2", "m4", NULL};
  struct fx b;
  fx_open(&b, abd);
  int64_t now = now_ns();
  int64_t m1_due = entry(&b, "m1")->due;
  ck_assert_int_eq(wd_state_load(path, &b.t, now), 0);
  expect_log("restored 2 models (1 no longer configured, ignored)");
  check_filled(entry(&b, "m1"), 1);
  check_filled(entry(&b, "m2"), 2);
  struct wd_entry *m2 = entry(&b, "m2"), *m4 = entry(&b, "m4");
  ck_assert_uint_eq(m2->rec.fails_in_row, 4);
  /* Durations left, measured from the load (a little time passed). */
  ck_assert_int_le(m2->hold_until, now + 20 * WD_NS_PER_S + WD_NS_PER_MS);
  ck_assert_int_gt(m2->hold_until, now + 18 * WD_NS_PER_S);
  ck_assert_int_le(m2->due, now + 30 * WD_NS_PER_S + WD_NS_PER_MS);
  ck_assert_int_gt(m2->due, now + 28 * WD_NS_PER_S);
  ck_assert_int_eq(entry(&b, "m1")->due, m1_due); /* healthy: no backoff */
  ck_assert_uint_eq(atomic_load(&m4->n_ok), 0);
  ck_assert_uint_eq(m4->rec.successes, 0);
  ck_assert_int_eq(access(path, F_OK), 0); /* a good file stays */
  ck_assert_int_eq(count_files("state.bad-", 0), 0);

  /* What main.c does next: publish; workers then see the counters. */
  for (uint32_t i = 0; i < b.t.n; i++)
    wd_pub_push(b.pub, b.t.v[i]->slot, &b.t.v[i]->rec, 0);
  warmth_t *r = tu_reader(b.shm);
  struct warmth_model_info info = {.size = sizeof info};
  for (int tries = 0; tries < 200; tries++) {
    ck_assert_int_eq(warmth_lookup(r, "m2", &info), 0);
    if (info.successes)
      break;
    tu_sleep_ms(10);
  }
  ck_assert_uint_eq(info.successes, 2001);
  ck_assert_uint_eq(info.cost_nusd, 2000006);
  ck_assert_uint_eq(info.fails_in_row, 4);
  warmth_close(r);
  fx_close(&b);
}
END_TEST

START_TEST(test_adopted_record_wins) {
  /* A table adopted from the previous coordinator is at least as new as
   * the file: its record counters stay, the process counters come back. */
  save_filled();
  struct fx b;
  fx_open(&b, abc);
  struct wd_entry *m1 = entry(&b, "m1");
  m1->rec.successes = 5000;
  m1->rec.last_probe = 1;
  m1->rec.last_latency_us = 9;
  ck_assert_int_eq(wd_state_load(path, &b.t, now_ns()), 0);
  ck_assert_uint_eq(m1->rec.successes, 5000);
  ck_assert_uint_eq(m1->rec.failures, 1002); /* larger in the file */
  ck_assert_uint_eq(m1->rec.last_latency_us, 9);
  ck_assert_uint_eq(atomic_load(&m1->n_ok), 101);
  fx_close(&b);
}
END_TEST

START_TEST(test_missing_file) {
  struct fx b;
  fx_open(&b, abc);
  ck_assert_int_eq(wd_state_load(path, &b.t, now_ns()), 0);
  expect_log("none yet, starting fresh");
  ck_assert_int_eq(count_files("state", 0), 0); /* nothing made up */
  check_fresh(&b);
  fx_close(&b);
}
END_TEST

START_TEST(test_truncated_everywhere) {
  save_filled();
  size_t len;
  unsigned char *good = read_bytes(path, &len);
  struct fx b;
  fx_open(&b, abc);
  for (size_t k = 0; k < len; k++) {
    write_bytes(path, good, k);
    expect_rejected(&b, k ? "truncated" : "empty");
  }
  /* One byte too many is not ours either. */
  unsigned char *more = malloc(len + 1);
  memcpy(more, good, len);
  more[len] = 0xc0;
  write_bytes(path, more, len + 1);
  expect_rejected(&b, "trailing bytes");
  /* And the whole file still loads. */
  write_bytes(path, good, len);
  ck_assert_int_eq(wd_state_load(path, &b.t, now_ns()), 0);
  check_filled(entry(&b, "m3"), 3);
  free(more);
  free(good);
  fx_close(&b);
}
END_TEST

START_TEST(test_random_garbage) {
  struct fx b;
  fx_open(&b, abc);
  uint64_t rng = 0x5eed;
  unsigned char buf[4096];
  for (int round = 0; round < 300; round++) {
    size_t len = 1 + wd_rand(&rng) % sizeof buf;
    for (size_t i = 0; i < len; i++)
      buf[i] = (unsigned char)wd_rand(&rng);
    write_bytes(path, buf, len);
    expect_rejected(&b, "state file");
  }
  /* Headers that claim more than the file holds (msgpack-c would allocate
   * for the count first) and nesting deeper than msgpack-c unpacks. */
  static const unsigned char huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
  static const unsigned char huge_map[] = {0x81, 0xa1, 'x',  0xdf, 0xff,
                                           0xff, 0xff, 0xff, 0x00};
  static const unsigned char huge_str[] = {0xdb, 0x7f, 0xff, 0xff, 0xff};
  write_bytes(path, huge_array, sizeof huge_array);
  expect_rejected(&b, "truncated");
  write_bytes(path, huge_map, sizeof huge_map);
  expect_rejected(&b, "truncated");
  write_bytes(path, huge_str, sizeof huge_str);
  expect_rejected(&b, "truncated");
  unsigned char deep[201];
  memset(deep, 0x91, 200);
  deep[200] = 0;
  write_bytes(path, deep, sizeof deep);
  expect_rejected(&b, "nested too deep");
  fx_close(&b);
}
END_TEST

/* ---- limits: valid msgpack that is not ours ------------------------------ */

static msgpack_sbuffer sb;
static msgpack_packer pk;

static void pk_begin(void) {
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
}
static void pk_str(const char *s) {
  msgpack_pack_str_with_body(&pk, s, strlen(s));
}
static void pk_end(void) {
  write_bytes(path, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

/* A header of ours (format, version, saved_unix_ms) then `models` packed
 * by fn. */
static void pk_ours(int version, void (*models)(void)) {
  pk_begin();
  msgpack_pack_map(&pk, 4);
  pk_str("format");
  pk_str("warmd-state");
  pk_str("version");
  msgpack_pack_int(&pk, version);
  pk_str("saved_unix_ms");
  msgpack_pack_int64(&pk, (int64_t)time(NULL) * 1000);
  pk_str("models");
  models();
  pk_end();
}

static void models_empty(void) { msgpack_pack_array(&pk, 0); }
static void models_not_array(void) { msgpack_pack_int(&pk, 5); }
static void models_bad_type(void) {
  msgpack_pack_array(&pk, 2);
  msgpack_pack_map(&pk, 2); /* m1 is fine ... */
  pk_str("name");
  pk_str("m1");
  pk_str("n_ok");
  msgpack_pack_uint64(&pk, 77);
  msgpack_pack_map(&pk, 2); /* ... m2 is not, so nothing applies */
  pk_str("name");
  pk_str("m2");
  pk_str("n_ok");
  pk_str("many");
}
static void models_no_name(void) {
  msgpack_pack_array(&pk, 1);
  msgpack_pack_map(&pk, 1);
  pk_str("n_ok");
  msgpack_pack_uint64(&pk, 1);
}
static void models_too_big(void) {
  msgpack_pack_array(&pk, 1);
  msgpack_pack_map(&pk, 2);
  pk_str("name");
  pk_str("m1");
  pk_str("fails_in_row");
  msgpack_pack_uint64(&pk, 1ull << 33);
}

START_TEST(test_foreign_msgpack) {
  struct fx b;
  fx_open(&b, abc);
  pk_begin(); /* somebody else's map */
  msgpack_pack_map(&pk, 1);
  pk_str("hello");
  pk_str("world");
  pk_end();
  expect_rejected(&b, "not a warmd state file");
  pk_begin(); /* not even a map */
  msgpack_pack_array(&pk, 3);
  for (int i = 0; i < 3; i++)
    msgpack_pack_int(&pk, i);
  pk_end();
  expect_rejected(&b, "not a warmd state file");
  pk_begin(); /* another program's format name */
  msgpack_pack_map(&pk, 2);
  pk_str("format");
  pk_str("other-state");
  pk_str("version");
  msgpack_pack_int(&pk, 1);
  pk_end();
  expect_rejected(&b, "not a warmd state file");
  pk_ours(1, models_not_array);
  expect_rejected(&b, "models: missing or not an array");
  pk_ours(1, models_bad_type);
  expect_rejected(&b, "models[1] (m2).n_ok: not an integer");
  pk_ours(1, models_no_name);
  expect_rejected(&b, "models[0].name: missing");
  pk_ours(1, models_too_big);
  expect_rejected(&b, "models[0] (m1).fails_in_row: not an integer in "
                      "0..4294967295");
  /* Ours and empty: fine, kept. */
  pk_ours(1, models_empty);
  ck_assert_int_eq(wd_state_load(path, &b.t, now_ns()), 0);
  expect_log("restored 0 models");
  ck_assert_int_eq(access(path, F_OK), 0);
  fx_close(&b);
}
END_TEST

START_TEST(test_wrong_version) {
  struct fx b;
  fx_open(&b, abc);
  pk_ours(2, models_empty);
  expect_rejected(&b, "format version 2, this warmd reads 1");
  pk_ours(0, models_empty);
  expect_rejected(&b, "format version 0, this warmd reads 1");
  pk_begin(); /* a version that is not a number */
  msgpack_pack_map(&pk, 2);
  pk_str("format");
  pk_str("warmd-state");
  pk_str("version");
  pk_str("1");
  pk_end();
  expect_rejected(&b, "no format version");
  fx_close(&b);
}
END_TEST

START_TEST(test_unwritable) {
  struct fx a;
  fx_open(&a, abc);
  fill(a.t.v[0], 1);
  /* The directory does not exist. */
  char p[700];
  snprintf(p, sizeof p, "%s/nodir/state", dir);
  ck_assert_int_eq(wd_state_save(p, &a.t, now_ns()), -1);
  expect_log("cannot create a temp file beside it: No such file or directory");
  /* The path is a directory: the rename fails, the temp file goes. */
  snprintf(p, sizeof p, "%s/adir", dir);
  ck_assert_int_eq(mkdir(p, 0755), 0);
  ck_assert_int_eq(wd_state_save(p, &a.t, now_ns()), -1);
  expect_log("cannot rename the temp file over it");
  ck_assert_int_eq(count_files("adir.", 0), 0);
  /* A directory we may not write (as another user when we are root): the
   * old file is left as it was. */
  ck_assert_int_eq(wd_state_save(path, &a.t, now_ns()), 0);
  size_t len0, len1;
  unsigned char *before = read_bytes(path, &len0);
  fill(a.t.v[0], 2);
  ck_assert_int_eq(chmod(dir, 0555), 0);
  int root = tu_is_root();
  if (root) /* root may write anywhere: be somebody else for the save */
    ck_assert_int_eq(seteuid(TU_OTHER_ID), 0);
  int rc = wd_state_save(path, &a.t, now_ns());
  if (root)
    ck_assert_int_eq(seteuid(0), 0);
  ck_assert_int_eq(chmod(dir, 0700), 0);
  ck_assert_int_eq(rc, -1);
  expect_log("Permission denied");
  unsigned char *after = read_bytes(path, &len1);
  ck_assert_uint_eq(len0, len1);
  ck_assert_int_eq(memcmp(before, after, len0), 0);
  free(before);
  free(after);
  fx_close(&a);
}
END_TEST

START_TEST(test_probe_tag_epoch) {
  /* (Issue 12, item 17; here because this test builds warmd's tables.)
   * A probe result carries the tag of the config it was sent for; after
   * 4,096 reloads the old 12-bit epoch came round again and a result of a
   * config long replaced was taken for the current model at its index. */
  struct wd_table t = {.epoch = 1, .n = 3};
  uint32_t idx = 99;
  uint64_t tag = wd_table_tag(&t, 2);
  ck_assert_int_eq(wd_table_untag(&t, tag, &idx), 0);
  ck_assert_uint_eq(idx, 2);
  t.epoch += 4096;
  ck_assert_int_eq(wd_table_untag(&t, tag, &idx), -1);
  t.epoch = 1u << 20; /* and further: no other width in between */
  ck_assert_int_eq(wd_table_untag(&t, tag, &idx), -1);
  t.epoch = 1;
  ck_assert_int_eq(wd_table_untag(&t, tag, &idx), 0);
  /* An index the current config does not have (a reload shrank it). */
  ck_assert_int_eq(wd_table_untag(&t, wd_table_tag(&t, 3), &idx), -1);
  /* Epochs past 2^31 keep their tags apart too. */
  t.epoch = UINT32_MAX;
  tag = wd_table_tag(&t, 0);
  ck_assert_int_eq(wd_table_untag(&t, tag, &idx), 0);
  t.epoch = UINT32_MAX - 4096;
  ck_assert_int_eq(wd_table_untag(&t, tag, &idx), -1);
}
END_TEST

Suite *state_suite(void) {
  Suite *s = suite_create("state");
  TCase *core = tcase_create("core");
  tcase_add_checked_fixture(core, setup, teardown);
  tcase_set_timeout(core, 60);
  tcase_add_test(core, test_round_trip);
  tcase_add_test(core, test_adopted_record_wins);
  tcase_add_test(core, test_missing_file);
  tcase_add_test(core, test_truncated_everywhere);
  tcase_add_test(core, test_random_garbage);
  suite_add_tcase(s, core);
  TCase *lim = tcase_create("limits");
  tcase_add_checked_fixture(lim, setup, teardown);
  tcase_set_timeout(lim, 30);
  tcase_add_test(lim, test_foreign_msgpack);
  tcase_add_test(lim, test_wrong_version);
  tcase_add_test(lim, test_unwritable);
  tcase_add_test(lim, test_probe_tag_epoch);
  suite_add_tcase(s, lim);
  return s;
}

int main(void) { return tu_run(state_suite()); }
