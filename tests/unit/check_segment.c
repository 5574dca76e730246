/* check_segment.c - validation of the state segment before a byte of it is
 * trusted.  Every bad segment is crafted by hand (shm_open, ftruncate,
 * mmap) and must give its exact error code: never a crash, never a read
 * outside the mapping (a read past the end of a shared mapping is a SIGBUS,
 * which Check would report as an error). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "check_util.h"

Suite *segment_suite(void);

enum { CAP = 100 };

/* The canonical header for CAP slots, as warmd would write it. */
static void good_hdr(struct warmth__hdr *hd, uint32_t cap) {
  struct warmth__geom g;
  warmth__geometry(cap, &g);
  memset(hd, 0, sizeof *hd);
  atomic_store(&hd->magic, WARMTH__MAGIC);
  hd->abi = WARMTH__ABI;
  hd->hdr_size = WARMTH__HDR_SIZE;
  hd->rec_size = WARMTH__REC_SIZE;
  hd->capacity = cap;
  hd->index_cap = g.index_cap;
  hd->seg_size = g.seg_size;
  hd->off_index[0] = g.off_index[0];
  hd->off_index[1] = g.off_index[1];
  hd->off_records = g.off_records;
  hd->instance = 12345;
  atomic_store(&hd->heartbeat, warmth__mono_ns());
  atomic_store(&hd->stale_after_ns, WARMTH__STALE_DEFAULT_NS);
}

static uint64_t seg_size(uint32_t cap) {
  struct warmth__geom g;
  warmth__geometry(cap, &g);
  return g.seg_size;
}

/* Crafts `name` from a header (size bytes, mode 0640) and returns what a
 * strict warmth_open says of it. */
static int craft_and_open(const char *name, const struct warmth__hdr *hd,
                          size_t size) {
  shm_unlink(name);
  ck_assert_int_eq(tu_craft(name, hd, sizeof *hd, size, 0640), 0);
  warmth_t *h = NULL;
  int rc = warmth_open(&h, name, 0);
  ck_assert(rc == 0 ? h != NULL : h == NULL);
  warmth_close(h);
  return rc;
}

static int lookup_cb(const struct warmth_model_info *info, void *arg) {
  (void)arg;
  return info->name[WARMTH_NAME_MAX] != 0; /* always NUL-terminated */
}

START_TEST(test_good_crafted) {
  /* The hand-made template is accepted: every failure below is due to the
   * one thing each test breaks. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__hdr hd;
  good_hdr(&hd, CAP);
  ck_assert_int_eq(craft_and_open(name, &hd, seg_size(CAP)), 0);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "m", &info), WARMTH_ENOTFOUND);
  /* No demand segment: reading works, demand does not. */
  ck_assert_int_eq(warmth_touch(h, "m"), WARMTH_ENOTFOUND);
  warmth_close(h);
  /* A larger file than the layout needs is fine (never resized though). */
  ck_assert_int_eq(craft_and_open(name, &hd, seg_size(CAP) + 8192), 0);
  shm_unlink(name);
}
END_TEST

START_TEST(test_missing) {
  char name[TU_NAME_LEN];
  tu_name(name);
  warmth_t *h = (warmth_t *)&h;
  ck_assert_int_eq(warmth_open(&h, name, 0), WARMTH_ENOENT);
  ck_assert_ptr_null(h);
  /* Lazily, the handle exists and every call says why it cannot answer. */
  ck_assert_int_eq(warmth_open(&h, name, WARMTH_OPEN_LAZY), 0);
  struct warmth_model_info info = {.size = sizeof info};
  struct warmth_status st = {.size = sizeof st};
  ck_assert_int_eq(warmth_lookup(h, "m", &info), WARMTH_ENOENT);
  ck_assert_int_eq(warmth_is_warm(h, "m"), WARMTH_ENOENT);
  ck_assert_int_eq(warmth_touch(h, "m"), WARMTH_ENOENT);
  ck_assert_int_eq(warmth_report(h, "m", 1, 1), WARMTH_ENOENT);
  ck_assert_int_eq(warmth_status(h, &st), WARMTH_ENOENT);
  ck_assert_int_eq(warmth_wait_warm(h, "m", 1), WARMTH_ENOENT);
  ck_assert_int_eq(warmth_foreach(h, lookup_cb, NULL), WARMTH_ENOENT);
  warmth_close(h);
}
END_TEST

START_TEST(test_foreign) {
  char name[TU_NAME_LEN];
  tu_name(name);
  static unsigned char junk[65536];
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (unsigned char)(i * 131 + 7);
  memcpy(junk, "NOTWARMT", 8);
  ck_assert_int_eq(tu_craft(name, junk, sizeof junk, sizeof junk, 0640), 0);
  warmth_t *h = NULL;
  ck_assert_int_eq(warmth_open(&h, name, 0), WARMTH_EBADMAGIC);
  shm_unlink(name);
  /* Our magic in another byte order is still foreign. */
  struct warmth__hdr hd;
  good_hdr(&hd, CAP);
  atomic_store(&hd.magic, __builtin_bswap64(WARMTH__MAGIC));
  ck_assert_int_eq(craft_and_open(name, &hd, seg_size(CAP)), WARMTH_EBADMAGIC);
  /* The demand segment's magic is not the state segment's. */
  atomic_store(&hd.magic, WARMTH__DMAGIC);
  ck_assert_int_eq(craft_and_open(name, &hd, seg_size(CAP)), WARMTH_EBADMAGIC);
  shm_unlink(name);
}
END_TEST

START_TEST(test_truncated) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__hdr hd;
  good_hdr(&hd, CAP);
  /* Zero length: created, never sized (a coordinator killed at once). */
  ck_assert_int_eq(tu_craft(name, NULL, 0, 0, 0640), 0);
  warmth_t *h = NULL;
  ck_assert_int_eq(warmth_open(&h, name, 0), WARMTH_ETRUNCATED);
  shm_unlink(name);
  /* Shorter than a header: nothing of it may be read. */
  ck_assert_int_eq(tu_craft(name, "WARMTHs1", 8, 100, 0640), 0);
  ck_assert_int_eq(warmth_open(&h, name, 0), WARMTH_ETRUNCATED);
  shm_unlink(name);
  ck_assert_int_eq(craft_and_open(name, &hd, WARMTH__HDR_SIZE - 1),
                   WARMTH_ETRUNCATED);
  /* A valid header whose records would lie past the end of the file. */
  ck_assert_int_eq(craft_and_open(name, &hd, WARMTH__HDR_SIZE),
                   WARMTH_ETRUNCATED);
  ck_assert_int_eq(craft_and_open(name, &hd, seg_size(CAP) - 1),
                   WARMTH_ETRUNCATED);
  shm_unlink(name);
}
END_TEST

START_TEST(test_notready) {
  /* magic 0: the coordinator is still writing the header.  A lazy handle
   * attaches by itself once the magic is stored. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__hdr hd;
  good_hdr(&hd, CAP);
  atomic_store(&hd.magic, 0);
  ck_assert_int_eq(craft_and_open(name, &hd, seg_size(CAP)), WARMTH_ENOTREADY);
  warmth_t *h = NULL;
  ck_assert_int_eq(warmth_open(&h, name, WARMTH_OPEN_LAZY), 0);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "m", &info), WARMTH_ENOTREADY);
  int fd = shm_open(name, O_RDWR, 0);
  ck_assert_int_ge(fd, 0);
  struct warmth__hdr *m =
      mmap(NULL, WARMTH__HDR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  ck_assert_ptr_ne(m, MAP_FAILED);
  atomic_store(&m->magic, WARMTH__MAGIC);
  munmap(m, WARMTH__HDR_SIZE);
  int rc = WARMTH_ENOTREADY;
  for (int i = 0; i < 500 && rc == WARMTH_ENOTREADY; i++) {
    tu_sleep_ms(10); /* re-attach tries are rate-limited (100 ms) */
    rc = warmth_lookup(h, "m", &info);
  }
  ck_assert_int_eq(rc, WARMTH_ENOTFOUND); /* attached: the table is empty */
  warmth_close(h);
  shm_unlink(name);
}
END_TEST

START_TEST(test_badversion) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__hdr hd;
  good_hdr(&hd, CAP);
  hd.abi = WARMTH__ABI + 1;
  ck_assert_int_eq(craft_and_open(name, &hd, seg_size(CAP)),
                   WARMTH_EBADVERSION);
  hd.abi = 0;
  ck_assert_int_eq(craft_and_open(name, &hd, seg_size(CAP)),
                   WARMTH_EBADVERSION);
  hd.abi = UINT32_MAX;
  ck_assert_int_eq(craft_and_open(name, &hd, seg_size(CAP)),
                   WARMTH_EBADVERSION);
  shm_unlink(name);
}
END_TEST

/* One way to break the layout: what to change and to what. */
static void set_field(struct warmth__hdr *hd, int which, uint64_t v) {
  switch (which) {
  case 0:
    hd->hdr_size = (uint32_t)v;
    break;
  case 1:
    hd->rec_size = (uint32_t)v;
    break;
  case 2:
    hd->capacity = (uint32_t)v;
    break;
  case 3:
    hd->index_cap = (uint32_t)v;
    break;
  case 4:
    hd->seg_size = v;
    break;
  case 5:
    hd->off_index[0] = v;
    break;
  case 6:
    hd->off_index[1] = v;
    break;
  case 7:
    hd->off_records = v;
    break;
  }
}

START_TEST(test_badlayout) {
  /* Header fields pointing outside the mapping, or anything but the one
   * canonical geometry for the capacity, are refused. */
  struct warmth__geom g;
  warmth__geometry(CAP, &g);
  static const struct {
    int which;
    uint64_t v;
  } bad[] = {
      {0, 0},          {0, 4095},
      {0, 8192},       {1, 0},
      {1, 128},        {1, 256},
      {2, 0},          {2, WARMTH__CAPACITY_MAX + 1},
      {2, UINT32_MAX}, {2, CAP + 1},
      {3, 0},          {3, 255},
      {3, 1u << 31},   {4, 0},
      {4, UINT64_MAX}, {4, 1ull << 40},
      {5, 0},          {5, 1ull << 40},
      {6, 4096},       {6, UINT64_MAX - 7},
      {7, 0},          {7, 1ull << 50},
      {7, 4096},       {7, UINT64_MAX - 255},
  };
  char name[TU_NAME_LEN];
  tu_name(name);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct warmth__hdr hd;
    good_hdr(&hd, CAP);
    set_field(&hd, bad[i].which, bad[i].v);
    int rc = craft_and_open(name, &hd, g.seg_size);
    ck_assert_msg(rc == WARMTH_EBADLAYOUT, "case %zu (field %d = %llu): %s", i,
                  bad[i].which, (unsigned long long)bad[i].v,
                  warmth_err_name(rc));
  }
  /* Consistent with a bigger capacity than the file holds: truncated. */
  struct warmth__hdr hd;
  good_hdr(&hd, WARMTH__CAPACITY_MAX);
  ck_assert_int_eq(craft_and_open(name, &hd, g.seg_size), WARMTH_ETRUNCATED);
  shm_unlink(name);
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(test_garbage_contents) {
  /* A valid header over garbage index and records (a buggy or malicious
   * owner): every call returns, with a code, and reads stay in bounds. */
  char name[TU_NAME_LEN];
  tu_name(name);
  uint64_t size = seg_size(CAP);
  unsigned char *buf = malloc(size);
  ck_assert_ptr_nonnull(buf);
  unsigned seed = 7;
  for (int round = 0; round < 20; round++) {
    for (uint64_t i = 0; i < size; i++) {
      seed = seed * 1103515245u + 12345u;
      buf[i] = (unsigned char)(seed >> 16);
    }
    if (round % 2) /* half the rounds: names in the records are printable */
      for (uint64_t i = WARMTH__HDR_SIZE; i < size; i++)
        buf[i] = (unsigned char)(0x21 + buf[i] % 0x5e);
    good_hdr((struct warmth__hdr *)buf, CAP);
    shm_unlink(name);
    ck_assert_int_eq(tu_craft(name, buf, size, size, 0640), 0);
    warmth_t *h = tu_reader(name);
    struct warmth_model_info info = {.size = sizeof info};
    char m[16];
    for (int k = 0; k < 200; k++) {
      snprintf(m, sizeof m, "m%d", k);
      int rc = warmth_lookup(h, m, &info);
      ck_assert(rc == WARMTH_ENOTFOUND || rc == WARMTH_EBUSY ||
                (rc == 0 && strcmp(info.name, m) == 0));
      rc = warmth_is_warm(h, m);
      ck_assert(rc == 0 || rc == 1 || rc == WARMTH_ENOTFOUND ||
                rc == WARMTH_EBUSY);
    }
    ck_assert_int_ge(warmth_foreach(h, lookup_cb, NULL), 0);
    struct warmth_status st = {.size = sizeof st};
    ck_assert_int_eq(warmth_status(h, &st), 0);
    ck_assert_uint_eq(st.capacity, CAP);
    warmth_close(h);
  }
  free(buf);
  shm_unlink(name);
}
END_TEST

START_TEST(test_random_headers) {
  /* Random header fields behind a valid magic and ABI: each open gives 0 or
   * a layout/size error, never a crash. */
  char name[TU_NAME_LEN];
  tu_name(name);
  uint64_t size = seg_size(CAP);
  unsigned seed = 99;
  for (int round = 0; round < 300; round++) {
    struct warmth__hdr hd;
    good_hdr(&hd, CAP);
    for (int f = 0; f < 8; f++) {
      seed = seed * 1103515245u + 12345u;
      if ((seed >> 16) % 3)
        continue;
      uint64_t v = ((uint64_t)seed << 32) ^ (seed * 2654435761u);
      set_field(&hd, f, (seed >> 20) % 2 ? v : v % (2 * size));
    }
    int rc = craft_and_open(name, &hd, size);
    ck_assert_msg(rc == 0 || rc == WARMTH_EBADLAYOUT || rc == WARMTH_ETRUNCATED,
                  "round %d: %s", round, warmth_err_name(rc));
  }
  shm_unlink(name);
}
END_TEST

START_TEST(test_bad_arguments) {
  warmth_t *h = NULL;
  ck_assert_int_eq(warmth_open(NULL, "/x", 0), WARMTH_EINVAL);
  ck_assert_int_eq(warmth_open(&h, "/x", 0x80), WARMTH_EINVAL);
  ck_assert_int_eq(warmth_open(&h, "noslash", 0), WARMTH_EINVAL);
  ck_assert_int_eq(warmth_open(&h, "/a/b", 0), WARMTH_EINVAL);
  ck_assert_int_eq(warmth_open(&h, "/", 0), WARMTH_EINVAL);
  char longname[300];
  memset(longname, 'l', sizeof longname - 1);
  longname[0] = '/';
  longname[sizeof longname - 1] = 0;
  ck_assert_int_eq(warmth_open(&h, longname, WARMTH_OPEN_LAZY), WARMTH_EINVAL);
  /* Room for ".demand" is part of the limit. */
  longname[255 - 7] = 0;
  ck_assert_int_eq(warmth_open(&h, longname, WARMTH_OPEN_LAZY), WARMTH_EINVAL);
  longname[255 - 8] = 0;
  ck_assert_int_eq(warmth_open(&h, longname, WARMTH_OPEN_LAZY), 0);
  warmth_close(h);
  warmth_close(NULL);
  /* NULL name: $WARMTH_SHM, then the default. */
  char name[TU_NAME_LEN];
  tu_name(name);
  setenv("WARMTH_SHM", name, 1);
  ck_assert_int_eq(warmth_open(&h, NULL, 0), WARMTH_ENOENT);
  struct warmth__w *w = tu_writer(name, 4, 0);
  ck_assert_int_eq(warmth_open(&h, "", 0), 0);
  warmth_close(h);
  unsetenv("WARMTH_SHM");
  warmth__w_close(w, 1);
  /* An owner that names no user is a configuration error. */
  setenv("WARMTH_OWNER", "no-such-user-here", 1);
  ck_assert_int_eq(warmth_open(&h, "/x", WARMTH_OPEN_LAZY), WARMTH_EINVAL);
  unsetenv("WARMTH_OWNER");
}
END_TEST

Suite *segment_suite(void) {
  Suite *s = suite_create("segment");
  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 30);
  tcase_add_test(core, test_good_crafted);
  tcase_add_test(core, test_missing);
  tcase_add_test(core, test_foreign);
  tcase_add_test(core, test_truncated);
  tcase_add_test(core, test_notready);
  tcase_add_test(core, test_badversion);
  tcase_add_test(core, test_badlayout);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 60);
  tcase_add_test(limits, test_garbage_contents);
  tcase_add_test(limits, test_random_headers);
  tcase_add_test(limits, test_bad_arguments);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(segment_suite()); }
