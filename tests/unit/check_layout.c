/* check_layout.c - the shared layout (lib/layout.h): sizes, geometry,
 * offsets, magic, name validation, hash.  These numbers are the ABI every
 * worker process relies on: a change here must be deliberate. */
#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include "check_util.h"

Suite *layout_suite(void);

START_TEST(test_sizes) {
  ck_assert_uint_eq(sizeof(struct warmth__rec), WARMTH__REC_SIZE);
  ck_assert_uint_eq(alignof(struct warmth__rec), 64);
  ck_assert_uint_eq(offsetof(struct warmth__rec, seq), 0);
  ck_assert_uint_eq(offsetof(struct warmth__rec, w), 8);
  /* Copy 1 at the same offset in its cache line as copy 0. */
  struct warmth__rec r;
  ck_assert_uint_eq((uintptr_t)warmth__rec_copy(&r, 1) -
                        (uintptr_t)warmth__rec_copy(&r, 0),
                    256);
  ck_assert_uint_eq((uintptr_t)warmth__rec_copy(&r, 2), (uintptr_t)r.w);
  ck_assert_uint_le(8 * (WARMTH__COPY_STRIDE + WARMTH__PAYLOAD_WORDS) + 8,
                    WARMTH__REC_SIZE);
  ck_assert_uint_eq(sizeof(struct warmth__payload), WARMTH__PAYLOAD_WORDS * 8);
  ck_assert_uint_eq(sizeof(struct warmth__dslot), WARMTH__DSLOT_SIZE);
  ck_assert_uint_eq(alignof(struct warmth__dslot), 64);
  ck_assert_uint_le(sizeof(struct warmth__hdr), WARMTH__HDR_SIZE);
  ck_assert_uint_le(sizeof(struct warmth__dhdr), WARMTH__HDR_SIZE);
  /* warm_until, the state word and a name of up to 31 bytes share the
   * record's first cache line with seq; the name holds a full name + NUL. */
  ck_assert_uint_eq(offsetof(struct warmth__payload, warm_until), 0);
  ck_assert_uint_eq(offsetof(struct warmth__payload, state), 8);
  ck_assert_uint_eq(offsetof(struct warmth__payload, name),
                    8 * WARMTH__NAME_WORD);
  ck_assert_uint_le(offsetof(struct warmth__rec, w) +
                        offsetof(struct warmth__payload, name) + 32,
                    64);
  ck_assert_uint_eq(sizeof(((struct warmth__payload *)0)->name),
                    WARMTH_NAME_MAX + 1);
  ck_assert_uint_eq(offsetof(struct warmth__hdr, magic), 0);
  ck_assert_uint_eq(offsetof(struct warmth__dhdr, magic), 0);
}
END_TEST

START_TEST(test_magic) {
  /* The magic words spell their names in memory on the little-endian
   * machines we run on, so `xxd /dev/shm/warmth` says what it is. */
  uint64_t m = WARMTH__MAGIC, d = WARMTH__DMAGIC;
  char b[9] = {0};
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  memcpy(b, &m, 8);
  ck_assert_str_eq(b, "WARMTHs1");
  memcpy(b, &d, 8);
  ck_assert_str_eq(b, "WARMTHd1");
#endif
  ck_assert_uint_ne(m, d);
  ck_assert_uint_ne(m, 0);
}
END_TEST

static void check_geometry(uint32_t cap) {
  struct warmth__geom g;
  warmth__geometry(cap, &g);
  /* Power of two, at least 16, load factor <= 0.5, and the smallest such. */
  ck_assert_uint_eq(g.index_cap & (g.index_cap - 1), 0);
  ck_assert_uint_ge(g.index_cap, 16);
  ck_assert_uint_ge(g.index_cap, 2ull * cap);
  ck_assert(g.index_cap == 16 || g.index_cap / 2 < 2ull * cap);
  ck_assert_uint_eq(g.off_index[0], WARMTH__HDR_SIZE);
  ck_assert_uint_eq(g.off_index[1], g.off_index[0] + 8ull * g.index_cap);
  ck_assert_uint_ge(g.off_records, g.off_index[1] + 8ull * g.index_cap);
  ck_assert_uint_eq(g.off_records % 64, 0);
  ck_assert_uint_eq(g.seg_size,
                    g.off_records + (uint64_t)cap * WARMTH__REC_SIZE);
  ck_assert_uint_eq(g.d_off_slots, WARMTH__HDR_SIZE);
  ck_assert_uint_eq(g.d_seg_size,
                    WARMTH__HDR_SIZE + (uint64_t)cap * WARMTH__DSLOT_SIZE);
}

START_TEST(test_geometry) {
  static const uint32_t caps[] = {1, 2, 7, 8, 9, 100, 1000, 4096, 10000};
  for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
    check_geometry(caps[i]);
}
END_TEST

START_TEST(test_writer_header) {
  /* The writer creates exactly the canonical geometry the reader demands. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 100, 0);
  struct warmth__hdr *hd = warmth__w_hdr(w);
  struct warmth__geom g;
  warmth__geometry(100, &g);
  ck_assert_uint_eq(atomic_load(&hd->magic), WARMTH__MAGIC);
  ck_assert_uint_eq(hd->abi, WARMTH__ABI);
  ck_assert_uint_eq(hd->hdr_size, WARMTH__HDR_SIZE);
  ck_assert_uint_eq(hd->rec_size, WARMTH__REC_SIZE);
  ck_assert_uint_eq(hd->capacity, 100);
  ck_assert_uint_eq(hd->index_cap, g.index_cap);
  ck_assert_uint_eq(hd->off_index[0], g.off_index[0]);
  ck_assert_uint_eq(hd->off_index[1], g.off_index[1]);
  ck_assert_uint_eq(hd->off_records, g.off_records);
  ck_assert_uint_eq(hd->seg_size, g.seg_size);
  ck_assert_int_eq(atomic_load(&hd->pid), getpid());
  ck_assert_uint_eq(atomic_load(&hd->retired), WARMTH__LIVE);
  ck_assert_int_eq(atomic_load(&hd->stale_after_ns), WARMTH__STALE_DEFAULT_NS);
  ck_assert_uint_eq(warmth__w_capacity(w), 100);
  ck_assert_uint_eq(warmth__w_instance(w), hd->instance);
  ck_assert_int_eq(warmth__w_adopted(w), 0);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_name_ok) {
  size_t len = 99;
  ck_assert(warmth__name_ok("a", &len));
  ck_assert_uint_eq(len, 1);
  ck_assert(warmth__name_ok("gpt-4o-mini", &len));
  ck_assert_uint_eq(len, 11);
  ck_assert(warmth__name_ok("!~azAZ09:/@", &len)); /* 0x21 and 0x7e ends */
  ck_assert(!warmth__name_ok("", &len));
  ck_assert(!warmth__name_ok(NULL, &len));
  ck_assert(!warmth__name_ok("a b", &len));
  ck_assert(!warmth__name_ok("a\tb", &len));
  ck_assert(!warmth__name_ok("a\x7f", &len));
  ck_assert(!warmth__name_ok("caf\xc3\xa9", &len)); /* not ASCII */
  ck_assert(!warmth__name_ok("\n", &len));
}
END_TEST

START_TEST(test_hash) {
  /* The hash is a function of the whole name and its length. */
  size_t len = 99;
  uint32_t h1 = warmth__hash("gpt-4o-mini", &len);
  ck_assert_uint_eq(len, 11);
  ck_assert_uint_eq(warmth__hash("gpt-4o-mini", &len), h1);
  ck_assert_uint_ne(warmth__hash("gpt-4o-minj", &len), h1);
  ck_assert_uint_ne(warmth__hash("gpt-4o-min", &len), h1);
  /* The tail word is padded with 'A': the length keeps these apart. */
  ck_assert_uint_ne(warmth__hash("ab", &len), warmth__hash("abAAAAAA", &len));
  ck_assert_uint_eq(len, 8);
  /* Buckets: 1,000 names like real ones over 2,048 index entries (load
   * 0.5, as the writer sizes it) spread close to a uniform hash: a uniform
   * one leaves about e^-0.49 = 61% of buckets empty; a hash whose low bits
   * ignore some bytes piles names up (all names here differ only near the
   * end). */
  static unsigned char used[2048];
  memset(used, 0, sizeof used);
  unsigned empty = 2048;
  for (unsigned i = 0; i < 1000; i++) {
    char n[64];
    snprintf(n, sizeof n, "openai/bench-model-%05u", i);
    unsigned b = warmth__hash(n, &len) & 2047u;
    empty -= !used[b];
    used[b] = 1;
  }
  ck_assert_uint_ge(empty, 1150);
  ck_assert_uint_le(empty, 1350);
  /* The index entry keeps the hash and slot + 1 apart; 0 means empty. */
  uint64_t e = warmth__entry(0xdeadbeefu, 0);
  ck_assert_uint_ne(e, 0);
  ck_assert_uint_eq((uint32_t)(e >> 32), 0xdeadbeefu);
  ck_assert_uint_eq((uint32_t)e - 1, 0);
  e = warmth__entry(0, WARMTH__CAPACITY_MAX - 1);
  ck_assert_uint_eq((uint32_t)e - 1, WARMTH__CAPACITY_MAX - 1);
}
END_TEST

START_TEST(test_clock) {
  int64_t a = warmth__mono_ns(), b = warmth__mono_ns();
  ck_assert_int_gt(a, 0);
  ck_assert_int_ge(b, a);
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(test_geometry_limits) {
  check_geometry(WARMTH__CAPACITY_MAX);
  struct warmth__geom g;
  warmth__geometry(WARMTH__CAPACITY_MAX, &g);
  /* The largest table stays far from any overflow and from size_t limits of
   * a 32-bit reader: 2^20 records of 256 bytes plus 2 x 2^21 x 8 of index. */
  ck_assert_uint_eq(g.index_cap, 2u * WARMTH__CAPACITY_MAX);
  ck_assert_uint_lt(g.seg_size, 1ull << 30);
  /* Every capacity around powers of two keeps the invariants. */
  for (uint32_t c = 1; c <= 70000; c = c * 2 + 1) {
    check_geometry(c - 1 ? c - 1 : 1);
    check_geometry(c);
    check_geometry(c + 1);
  }
}
END_TEST

START_TEST(test_name_limits) {
  char n[WARMTH_NAME_MAX + 2];
  size_t len = 0;
  memset(n, 'x', sizeof n);
  n[WARMTH_NAME_MAX] = 0; /* exactly 63 */
  ck_assert(warmth__name_ok(n, &len));
  ck_assert_uint_eq(len, WARMTH_NAME_MAX);
  n[WARMTH_NAME_MAX] = 'x';
  n[WARMTH_NAME_MAX + 1] = 0; /* 64 */
  ck_assert(!warmth__name_ok(n, &len));
  /* A very long string is rejected (the scan stops at the 64th byte). */
  static char big[1 << 16];
  memset(big, 'y', sizeof big - 1);
  ck_assert(!warmth__name_ok(big, &len));
  /* Every byte value: only 0x21..0x7e are accepted. */
  for (int c = 1; c < 256; c++) {
    char s[2] = {(char)c, 0};
    ck_assert_int_eq(warmth__name_ok(s, &len), c >= 0x21 && c <= 0x7e);
  }
}
END_TEST

/* The one-pass name_hash agrees with the byte-at-a-time name_ok for every
 * byte value at every position of names of every length, and with hash. */
START_TEST(test_name_hash_agrees) {
  char n[WARMTH_NAME_MAX + 2];
  for (size_t l = 1; l <= WARMTH_NAME_MAX + 1; l++) {
    memset(n, 'm', l);
    n[l] = 0;
    for (size_t pos = 0; pos < l; pos++) {
      for (int c = 1; c < 256; c++) {
        n[pos] = (char)c;
        size_t l1 = 0, l2 = 0, l3 = 0;
        uint32_t h = 0;
        int ok = warmth__name_ok(n, &l1);
        ck_assert_int_eq(warmth__name_hash(n, &l2, &h), ok);
        if (ok) {
          ck_assert_uint_eq(l1, l2);
          ck_assert_uint_eq(warmth__hash(n, &l3), h);
        }
      }
      n[pos] = 'm';
    }
  }
  uint32_t h = 0;
  size_t l = 0;
  ck_assert(!warmth__name_hash(NULL, &l, &h));
  ck_assert(!warmth__name_hash("", &l, &h));
}
END_TEST

START_TEST(test_index_cap_limits) {
  ck_assert_uint_eq(warmth__index_cap(1), 16);
  ck_assert_uint_eq(warmth__index_cap(8), 16);
  ck_assert_uint_eq(warmth__index_cap(9), 32);
  ck_assert_uint_eq(warmth__index_cap(16), 32);
  ck_assert_uint_eq(warmth__index_cap(17), 64);
  ck_assert_uint_eq(warmth__index_cap(WARMTH__CAPACITY_MAX),
                    2u * WARMTH__CAPACITY_MAX);
}
END_TEST

Suite *layout_suite(void) {
  Suite *s = suite_create("layout");
  TCase *core = tcase_create("core");
  tcase_add_test(core, test_sizes);
  tcase_add_test(core, test_magic);
  tcase_add_test(core, test_geometry);
  tcase_add_test(core, test_writer_header);
  tcase_add_test(core, test_name_ok);
  tcase_add_test(core, test_hash);
  tcase_add_test(core, test_clock);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, test_geometry_limits);
  tcase_add_test(limits, test_name_limits);
  tcase_add_test(limits, test_name_hash_agrees);
  tcase_add_test(limits, test_index_cap_limits);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(layout_suite()); }
