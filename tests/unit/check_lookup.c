/* check_lookup.c - lookups by name: found / not found, what is copied out,
 * and the name check: whatever the index says, a lookup never returns
 * another model's record.  Index entries are forged through the writer's
 * read/write mapping (warmth__w_hdr), as a bug or a torn index would. */
#include <string.h>

#include "check_util.h"

Suite *lookup_suite(void);

START_TEST(test_found) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 16, 0);
  uint32_t a = tu_add(w, "alpha"), b = tu_add(w, "beta");
  ck_assert_uint_ne(a, b);
  tu_set_state(w, b, WARMTH_WARM, MINUTE);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "beta", &info), 0);
  ck_assert_uint_eq(info.size, sizeof info);
  ck_assert_str_eq(info.name, "beta");
  ck_assert_uint_eq(info.slot, b);
  ck_assert_uint_eq(info.generation, 1);
  ck_assert_uint_eq(info.state, WARMTH_WARM);
  ck_assert_uint_eq(info.successes, 1000 + b);
  ck_assert_uint_eq(info.http_status, 200);
  ck_assert_uint_eq(info.last_latency_us, 1234);
  ck_assert_int_gt(info.warm_until, warmth__mono_ns());
  ck_assert_int_eq(warmth_lookup(h, "alpha", &info), 0);
  ck_assert_str_eq(info.name, "alpha");
  ck_assert_uint_eq(info.state, WARMTH_UNKNOWN);
  /* A fresh record says "no rate-limit information": ~0. */
  ck_assert_uint_eq(info.headroom_requests, UINT32_MAX);
  ck_assert_uint_eq(info.headroom_tokens, UINT32_MAX);
  ck_assert_int_eq(warmth_is_warm(h, "beta"), 1);
  ck_assert_int_eq(warmth_is_warm(h, "alpha"), 0);
  ck_assert_int_eq(warmth_lookup(h, "gamma", &info), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth_is_warm(h, "gamma"), WARMTH_ENOTFOUND);
  /* Neither prefixes nor extensions of a name match it. */
  ck_assert_int_eq(warmth_lookup(h, "alph", &info), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth_lookup(h, "alphaa", &info), WARMTH_ENOTFOUND);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_staged_and_removed) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 16, 0);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  uint32_t slot;
  ck_assert_int_eq(warmth__w_add(w, "staged", &slot), 0);
  /* Written but not published: readers do not see it yet. */
  ck_assert_int_eq(warmth_lookup(h, "staged", &info), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth__w_slot(w, "staged"), (int)slot);
  warmth__w_publish(w);
  ck_assert_int_eq(warmth_lookup(h, "staged", &info), 0);
  /* Removal clears the record at once: the still-published entry now
   * points at a record without that name, and the name check says no. */
  ck_assert_int_eq(warmth__w_remove(w, "staged"), 0);
  ck_assert_int_eq(warmth_lookup(h, "staged", &info), WARMTH_ENOTFOUND);
  warmth__w_publish(w);
  ck_assert_int_eq(warmth_lookup(h, "staged", &info), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth__w_remove(w, "staged"), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth__w_slot(w, "staged"), WARMTH_ENOTFOUND);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

/* Inserts an entry into a forged index with linear probing. */
static void forge_insert(_Atomic uint64_t *ix, uint32_t mask, uint64_t e) {
  uint32_t i = (uint32_t)(e >> 32) & mask;
  while (atomic_load(&ix[i]))
    i = (i + 1) & mask;
  atomic_store(&ix[i], e);
}

static uint32_t hash_of(const char *s) {
  size_t len;
  return warmth__hash(s, &len);
}

START_TEST(test_forged_wrong_slot) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 16, 0);
  uint32_t a = tu_add(w, "model-a");
  tu_set_state(w, a, WARMTH_WARM, MINUTE);
  warmth_t *h = tu_reader(name);
  /* The only entry for "model-b" points at model-a's warm record. */
  _Atomic uint64_t *ix = tu_active_index(w);
  uint32_t mask = warmth__w_hdr(w)->index_cap - 1;
  forge_insert(ix, mask, warmth__entry(hash_of("model-b"), a));
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "model-b", &info), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth_is_warm(h, "model-b"), WARMTH_ENOTFOUND);
  /* Nor may a touch of model-b land on model-a's demand slot. */
  ck_assert_int_eq(warmth_touch(h, "model-b"), WARMTH_ENOTFOUND);
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, a, &d), 0);
  ck_assert_uint_eq(d.touches, 0);
  ck_assert_int_eq(warmth_lookup(h, "model-a", &info), 0);
  ck_assert_str_eq(info.name, "model-a");
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_forged_before_real) {
  /* A wrong entry earlier in the probe chain does not hide the right one. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 16, 0);
  uint32_t a = tu_add(w, "model-a"), b = tu_add(w, "model-b");
  warmth_t *h = tu_reader(name);
  _Atomic uint64_t *ix = tu_active_index(w);
  uint32_t mask = warmth__w_hdr(w)->index_cap - 1;
  for (uint32_t i = 0; i <= mask; i++)
    atomic_store(&ix[i], 0);
  forge_insert(ix, mask, warmth__entry(hash_of("model-b"), a));
  forge_insert(ix, mask, warmth__entry(hash_of("model-b"), 15)); /* empty */
  forge_insert(ix, mask, warmth__entry(hash_of("model-b"), b));
  forge_insert(ix, mask, warmth__entry(hash_of("model-a"), a));
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "model-b", &info), 0);
  ck_assert_str_eq(info.name, "model-b");
  ck_assert_uint_eq(info.slot, b);
  ck_assert_int_eq(warmth_lookup(h, "model-a", &info), 0);
  ck_assert_uint_eq(info.slot, a);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_info_size) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  tu_set_state(w, tu_add(w, "m"), WARMTH_WARM, MINUTE);
  warmth_t *h = tu_reader(name);
  /* An older caller with a shorter struct gets no more than it asked for. */
  union {
    struct warmth_model_info info;
    unsigned char b[sizeof(struct warmth_model_info) + 32];
  } u;
  size_t small = offsetof(struct warmth_model_info, warm_until);
  memset(&u, 0xab, sizeof u);
  u.info.size = (uint32_t)small;
  ck_assert_int_eq(warmth_lookup(h, "m", &u.info), 0);
  ck_assert_str_eq(u.info.name, "m");
  ck_assert_uint_eq(u.info.size, small);
  for (size_t i = small; i < sizeof u.b; i++)
    ck_assert_uint_eq(u.b[i], 0xab);
  /* A newer caller with a longer struct: we fill what we know, and `size`
   * says how much that was (issue 12, item 16: it used to come back as
   * the caller's size, claiming fields we never wrote). */
  memset(&u, 0xab, sizeof u);
  u.info.size = sizeof u.b;
  ck_assert_int_eq(warmth_lookup(h, "m", &u.info), 0);
  ck_assert_uint_eq(u.info.size, sizeof u.info);
  ck_assert_uint_eq(u.info.generation, 1);
  for (size_t i = sizeof u.info; i < sizeof u.b; i++)
    ck_assert_uint_eq(u.b[i], 0xab);
  /* A full-size lookup writes every byte (the library does not memset):
   * one into a dirty struct equals one into a zeroed struct. */
  struct warmth_model_info zeroed, dirty;
  memset(&zeroed, 0, sizeof zeroed);
  memset(&dirty, 0x5a, sizeof dirty);
  zeroed.size = dirty.size = sizeof zeroed;
  ck_assert_int_eq(warmth_lookup(h, "m", &zeroed), 0);
  ck_assert_int_eq(warmth_lookup(h, "m", &dirty), 0);
  ck_assert_mem_eq(&zeroed, &dirty, sizeof zeroed);
  u.info.size = (uint32_t)small - 1;
  ck_assert_int_eq(warmth_lookup(h, "m", &u.info), WARMTH_EINVAL);
  ck_assert_int_eq(warmth_lookup(h, "m", NULL), WARMTH_EINVAL);
  u.info.size = sizeof u.info;
  ck_assert_int_eq(warmth_lookup(NULL, "m", &u.info), WARMTH_EINVAL);
  ck_assert_int_eq(warmth_is_warm(NULL, "m"), WARMTH_EINVAL);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

static int collect_cb(const struct warmth_model_info *info, void *arg) {
  char *seen = arg;
  strcat(seen, info->name);
  strcat(seen, ",");
  return strcmp(info->name, "stop") == 0;
}

START_TEST(test_foreach_and_status) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  warmth_t *h = tu_reader(name);
  struct warmth_status st = {.size = sizeof st};
  ck_assert_int_eq(warmth_status(h, &st), 0);
  uint64_t gen0 = st.index_generation;
  ck_assert_uint_eq(st.models, 0);
  ck_assert_uint_eq(st.capacity, 8);
  ck_assert_int_eq(st.pid, getpid());
  ck_assert_int_gt(st.created_ns, 0);
  tu_add(w, "one");
  tu_add(w, "two");
  tu_add(w, "stop");
  tu_add(w, "four");
  ck_assert_int_eq(warmth_status(h, &st), 0);
  ck_assert_uint_eq(st.models, 4);
  ck_assert_uint_eq(st.index_generation, gen0 + 4); /* one per publish */
  char seen[128] = "";
  /* Slot order; stops after the callback says so, counting that one. */
  ck_assert_int_eq(warmth_foreach(h, collect_cb, seen), 3);
  ck_assert_str_eq(seen, "one,two,stop,");
  ck_assert_int_eq(warmth_foreach(h, NULL, NULL), WARMTH_EINVAL);
  /* `size` comes back as what was filled: all of ours for a larger
   * caller, the caller's prefix for a smaller one (issue 12, item 16). */
  union {
    struct warmth_status st;
    unsigned char b[sizeof(struct warmth_status) + 16];
  } big;
  memset(&big, 0xab, sizeof big);
  big.st.size = sizeof big;
  ck_assert_int_eq(warmth_status(h, &big.st), 0);
  ck_assert_uint_eq(big.st.size, sizeof big.st);
  ck_assert_uint_eq(big.st.models, 4);
  for (size_t i = sizeof big.st; i < sizeof big.b; i++)
    ck_assert_uint_eq(big.b[i], 0xab);
  uint32_t prefix = (uint32_t)offsetof(struct warmth_status, models);
  memset(&big, 0xab, sizeof big);
  big.st.size = prefix;
  ck_assert_int_eq(warmth_status(h, &big.st), 0);
  ck_assert_uint_eq(big.st.size, prefix);
  ck_assert_uint_eq(big.b[prefix], 0xab);
  st.size = 4;
  ck_assert_int_eq(warmth_status(h, &st), WARMTH_EINVAL);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(test_bad_names) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  tu_add(w, "m");
  warmth_t *h = tu_reader(name);
  char longname[WARMTH_NAME_MAX + 2];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  const char *bad[] = {"", NULL, "a b", "tab\t", longname, "\x80"};
  struct warmth_model_info info = {.size = sizeof info};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq(warmth_lookup(h, bad[i], &info), WARMTH_ENAMETOOLONG);
    ck_assert_int_eq(warmth_is_warm(h, bad[i]), WARMTH_ENAMETOOLONG);
    ck_assert_int_eq(warmth_touch(h, bad[i]), WARMTH_ENAMETOOLONG);
    ck_assert_int_eq(warmth__w_add(w, bad[i], &(uint32_t){0}),
                     WARMTH_ENAMETOOLONG);
  }
  /* The longest valid name round-trips. */
  longname[WARMTH_NAME_MAX] = 0;
  tu_add(w, longname);
  ck_assert_int_eq(warmth_lookup(h, longname, &info), 0);
  ck_assert_str_eq(info.name, longname);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_forged_garbage_index) {
  /* Every entry set, all with model-b's hash, slots in and out of range:
   * the probe is bounded and never reads outside the records. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 16, 0);
  uint32_t a = tu_add(w, "model-a");
  warmth_t *h = tu_reader(name);
  _Atomic uint64_t *ix = tu_active_index(w);
  uint32_t mask = warmth__w_hdr(w)->index_cap - 1;
  uint32_t hb = hash_of("model-b");
  for (uint32_t i = 0; i <= mask; i++) {
    uint32_t slot = i % 4 == 0   ? a
                    : i % 4 == 1 ? 16
                    : i % 4 == 2 ? UINT32_MAX - 1
                                 : 0x7fffffff;
    atomic_store(&ix[i], warmth__entry(hb, slot));
  }
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "model-b", &info), WARMTH_ENOTFOUND);
  /* No empty entry left: a lookup of any name walks the whole ring once. */
  ck_assert_int_eq(warmth_lookup(h, "model-c", &info), WARMTH_ENOTFOUND);
  ck_assert_int_eq(warmth_lookup(h, "model-a", &info), WARMTH_ENOTFOUND);
  /* Entry value 0xffffffff... (slot + 1 wraps to 0) must not pass either. */
  for (uint32_t i = 0; i <= mask; i++)
    atomic_store(&ix[i], ((uint64_t)hb << 32) | 0xffffffffu);
  ck_assert_int_eq(warmth_lookup(h, "model-b", &info), WARMTH_ENOTFOUND);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_index_seq_stuck_odd) {
  /* A coordinator killed mid-publication leaves index_seq odd: the active
   * buffer is still the last published one, and lookups keep working. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 16, 0);
  tu_add(w, "kept");
  struct warmth__hdr *hd = warmth__w_hdr(w);
  atomic_fetch_add(&hd->index_seq, 1);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "kept", &info), 0);
  ck_assert_int_eq(warmth_lookup(h, "other", &info), WARMTH_ENOTFOUND);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_many_models) {
  enum { N = 1000 };
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, N, 0);
  char m[32];
  for (int i = 0; i < N; i++) {
    snprintf(m, sizeof m, "model-%d", i);
    uint32_t slot;
    ck_assert_int_eq(warmth__w_add(w, m, &slot), 0);
  }
  warmth__w_publish(w);
  ck_assert_int_eq(warmth__w_add(w, "one-too-many", &(uint32_t){0}),
                   WARMTH_EFULL);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  for (int i = 0; i < N; i++) {
    snprintf(m, sizeof m, "model-%d", i);
    ck_assert_int_eq(warmth_lookup(h, m, &info), 0);
    ck_assert_str_eq(info.name, m);
    snprintf(m, sizeof m, "absent-%d", i);
    ck_assert_int_eq(warmth_lookup(h, m, &info), WARMTH_ENOTFOUND);
  }
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

Suite *lookup_suite(void) {
  Suite *s = suite_create("lookup");
  TCase *core = tcase_create("core");
  tcase_add_test(core, test_found);
  tcase_add_test(core, test_staged_and_removed);
  tcase_add_test(core, test_forged_wrong_slot);
  tcase_add_test(core, test_forged_before_real);
  tcase_add_test(core, test_info_size);
  tcase_add_test(core, test_foreach_and_status);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 30);
  tcase_add_test(limits, test_bad_names);
  tcase_add_test(limits, test_forged_garbage_index);
  tcase_add_test(limits, test_index_seq_stuck_odd);
  tcase_add_test(limits, test_many_models);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(lookup_suite()); }
