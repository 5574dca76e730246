/* check_writer.c - the table writer: what it refuses to touch (another
 * program's segment, another user's, a live coordinator's), what it adopts
 * or replaces, a full table, and slot reuse only after the grace period
 * with a new generation. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "check_util.h"

Suite *writer_suite(void);

static int wopen(struct warmth__w **w, const char *name, uint32_t cap,
                 int no_adopt, char *err, size_t errlen) {
  struct warmth__w_opts o = {
      .capacity = cap, .group = (gid_t)-1, .no_adopt = no_adopt};
  *w = NULL;
  return warmth__w_open(w, name, &o, err, errlen);
}

static int exists(const char *name) {
  int fd = shm_open(name, O_RDONLY, 0);
  if (fd >= 0)
    close(fd);
  return fd >= 0;
}

START_TEST(test_refuse_foreign_magic) {
  char name[TU_NAME_LEN], err[256];
  tu_name(name);
  static unsigned char junk[8192];
  memset(junk, 0x5a, sizeof junk);
  ck_assert_int_eq(tu_craft(name, junk, sizeof junk, sizeof junk, 0600), 0);
  struct warmth__w *w;
  for (int no_adopt = 0; no_adopt < 2; no_adopt++) {
    ck_assert_int_eq(wopen(&w, name, 8, no_adopt, err, sizeof err),
                     WARMTH_EBADMAGIC);
    ck_assert_ptr_null(w);
    ck_assert_ptr_nonnull(strstr(err, name));
  }
  /* Untouched, byte for byte. */
  int fd = shm_open(name, O_RDONLY, 0);
  ck_assert_int_ge(fd, 0);
  unsigned char back[sizeof junk];
  ck_assert_int_eq(pread(fd, back, sizeof back, 0), (ssize_t)sizeof back);
  close(fd);
  ck_assert_int_eq(memcmp(back, junk, sizeof junk), 0);
  tu_unlink(name);
}
END_TEST

START_TEST(test_old_named_demand) {
  /* The named, group-writable demand segment of ABI 2 is gone: one of ours
   * left by an older version is removed (no worker may keep writing it),
   * another user's is left alone and does not stop us. */
  char name[TU_NAME_LEN], dname[TU_NAME_LEN + 8], err[256];
  tu_name(name);
  snprintf(dname, sizeof dname, "%s.demand", name);
  static unsigned char junk[8192];
  memset(junk, 0x77, sizeof junk);
  for (int foreign = 0; foreign < 1 + tu_is_root(); foreign++) {
    ck_assert_int_eq(tu_craft(dname, junk, sizeof junk, sizeof junk, 0660), 0);
    if (foreign) {
      int fd = shm_open(dname, O_RDWR, 0);
      ck_assert_int_ge(fd, 0);
      ck_assert_int_eq(fchown(fd, TU_OTHER_ID, TU_OTHER_ID), 0);
      close(fd);
    }
    struct warmth__w *w;
    ck_assert_int_eq(wopen(&w, name, 8, 0, err, sizeof err), 0);
    ck_assert_int_eq(exists(dname), foreign);
    ck_assert_uint_ne(warmth__w_demand_id(w), 0);
    warmth__w_close(w, 1);
    shm_unlink(dname);
  }
}
END_TEST

START_TEST(test_refuse_other_owner) {
  if (!tu_is_root()) {
    fprintf(stderr, "not root: ownership test not run\n");
    return;
  }
  char name[TU_NAME_LEN], err[1024], want[128];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  uint64_t inst = warmth__w_instance(w);
  warmth__w_close(w, 0);
  int fd = shm_open(name, O_RDWR, 0);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(fchown(fd, TU_OTHER_ID, TU_OTHER_ID), 0);
  close(fd);
  ck_assert_int_eq(wopen(&w, name, 8, 1, err, sizeof err), WARMTH_EBADOWNER);
  /* Whose it is and how to clear it (issue 12, item 11). */
  struct passwd *pw = getpwuid(TU_OTHER_ID);
  snprintf(want, sizeof want, "owner uid %d (%s)", TU_OTHER_ID,
           pw ? pw->pw_name : "no such user");
  ck_assert_msg(strstr(err, want), "%s", err);
  ck_assert_msg(strstr(err, "mode 0640"), "%s", err);
  snprintf(want, sizeof want, "rm /dev/shm%s)", name);
  ck_assert_msg(strstr(err, want), "%s", err);
  /* Still there, still the old instance, still retired. */
  fd = shm_open(name, O_RDONLY, 0);
  ck_assert_int_ge(fd, 0);
  struct warmth__hdr *hd =
      mmap(NULL, WARMTH__HDR_SIZE, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  ck_assert_ptr_ne(hd, MAP_FAILED);
  ck_assert_uint_eq(hd->instance, inst);
  ck_assert_uint_eq(atomic_load(&hd->retired), WARMTH__RETIRED);
  munmap(hd, WARMTH__HDR_SIZE);
  tu_unlink(name);
  /* The lock file squatted: the same, for it. */
  char lname[TU_NAME_LEN + 8];
  tu_name(name);
  snprintf(lname, sizeof lname, "%s.lock", name);
  fd = shm_open(lname, O_RDWR | O_CREAT | O_EXCL, 0644);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(fchmod(fd, 0644), 0);
  ck_assert_int_eq(fchown(fd, TU_OTHER_ID, TU_OTHER_ID), 0);
  close(fd);
  ck_assert_int_eq(wopen(&w, name, 8, 1, err, sizeof err), WARMTH_EBADOWNER);
  ck_assert_msg(strstr(err, "mode 0644") && strstr(err, "no process has it"),
                "%s", err);
  snprintf(want, sizeof want, "rm /dev/shm%s)", lname);
  ck_assert_msg(strstr(err, want), "%s", err);
  tu_unlink(name);
}
END_TEST

START_TEST(test_refuse_live_coordinator) {
  char name[TU_NAME_LEN], err[256];
  tu_name(name);
  int go[2], done[2];
  ck_assert_int_eq(pipe(go), 0);
  ck_assert_int_eq(pipe(done), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    /* Only the parent may hold the write end of `done`: its close is how
     * we learn that the test is over. */
    close(done[1]);
    close(go[0]);
    struct warmth__w *w;
    uint32_t slot;
    char c = 'n';
    if (wopen(&w, name, 8, 0, NULL, 0) == 0 &&
        warmth__w_add(w, "theirs", &slot) == 0) {
      warmth__w_publish(w);
      c = 'y';
    }
    if (write(go[1], &c, 1) != 1 || c != 'y')
      _exit(1);
    if (read(done[0], &c, 1) != 1) /* wait for the parent */
      _exit(2);
    /* Then let our heartbeat go stale while we stay alive. */
    warmth__w_heartbeat(w, warmth__mono_ns() - 2 * WARMTH__STALE_DEFAULT_NS);
    if (write(go[1], &c, 1) != 1)
      _exit(3);
    if (read(done[0], &c, 1) != 0) /* until the parent closes the pipe */
      _exit(4);
    _exit(0);
  }
  close(go[1]);
  close(done[0]);
  char c = 0;
  ck_assert_int_eq(read(go[0], &c, 1), 1);
  ck_assert_int_eq(c, 'y');
  struct warmth__w *w;
  char pidstr[16];
  snprintf(pidstr, sizeof pidstr, "%d", (int)pid);
  for (int no_adopt = 0; no_adopt < 2; no_adopt++) {
    ck_assert_int_eq(wopen(&w, name, 8, no_adopt, err, sizeof err),
                     WARMTH_EEXIST);
    ck_assert_ptr_nonnull(strstr(err, pidstr));
  }
  /* Alive with a stale heartbeat (stopped, or stalled): it may resume at
   * any moment and write again, so it is still not replaced; the message
   * names it and says how to clear it.  (Before the lock, it was adopted
   * here and two coordinators wrote the table.) */
  ck_assert_int_eq(write(done[1], "x", 1), 1);
  ck_assert_int_eq(read(go[0], &c, 1), 1);
  ck_assert_int_eq(wopen(&w, name, 8, 0, err, sizeof err), WARMTH_EEXIST);
  ck_assert_ptr_nonnull(strstr(err, pidstr));
  ck_assert_ptr_nonnull(strstr(err, "kill -CONT"));
  /* Once it is gone (here it exits without closing: as if killed), the
   * kernel has dropped its lock and the table is adopted. */
  close(done[1]);
  ck_assert_int_eq(tu_exit_code(tu_wait(pid, 10000)), 0);
  ck_assert_int_eq(wopen(&w, name, 8, 0, err, sizeof err), 0);
  ck_assert_int_eq(warmth__w_adopted(w), 1);
  ck_assert_int_ge(warmth__w_slot(w, "theirs"), 0);
  close(go[0]);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_lock_stopped_and_killed) {
  /* The lock is the kernel's view of the coordinator: SIGSTOP keeps it
   * (however stale the heartbeat), SIGKILL drops it. */
  char name[TU_NAME_LEN], err[512];
  tu_name(name);
  int go[2];
  ck_assert_int_eq(pipe(go), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(go[0]);
    struct warmth__w *w;
    if (wopen(&w, name, 8, 0, NULL, 0) != 0)
      _exit(1);
    warmth__w_publish(w);
    warmth__w_heartbeat(w, warmth__mono_ns() - 2 * WARMTH__STALE_DEFAULT_NS);
    if (write(go[1], "y", 1) != 1)
      _exit(2);
    for (;;)
      pause();
  }
  close(go[1]);
  char c;
  ck_assert_int_eq(read(go[0], &c, 1), 1);
  close(go[0]);
  ck_assert_int_eq(kill(pid, SIGSTOP), 0);
  struct warmth__w *w;
  ck_assert_int_eq(wopen(&w, name, 8, 0, err, sizeof err), WARMTH_EEXIST);
  ck_assert_int_eq(wopen(&w, name, 8, 1, err, sizeof err), WARMTH_EEXIST);
  ck_assert_int_eq(kill(pid, SIGKILL), 0);
  int st = tu_wait(pid, 10000);
  ck_assert(WIFSIGNALED(st));
  ck_assert_int_eq(wopen(&w, name, 8, 0, err, sizeof err), 0);
  ck_assert_int_eq(warmth__w_adopted(w), 1);
  /* One writer per name in one process too (an OFD lock, not a POSIX
   * record lock that a process shares with itself). */
  struct warmth__w *w2;
  ck_assert_int_eq(wopen(&w2, name, 8, 0, err, sizeof err), WARMTH_EEXIST);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_full_and_exist) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 3, 0);
  uint32_t a = tu_add(w, "a");
  tu_add(w, "b");
  tu_add(w, "c");
  uint32_t slot = 99;
  ck_assert_int_eq(warmth__w_add(w, "d", &slot), WARMTH_EFULL);
  ck_assert_int_eq(warmth__w_add(w, "a", &slot), WARMTH_EEXIST);
  ck_assert_uint_eq(slot, a);
  /* A freed slot is not reusable yet: still full. */
  ck_assert_int_eq(warmth__w_remove(w, "a"), 0);
  warmth__w_publish(w);
  ck_assert_int_eq(warmth__w_add(w, "d", &slot), WARMTH_EFULL);
  warmth_t *h = tu_reader(name);
  struct warmth_status st = {.size = sizeof st};
  ck_assert_int_eq(warmth_status(h, &st), 0);
  ck_assert_uint_eq(st.models, 2);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_slot_reuse_after_grace) {
  /* A freed slot comes back only after WARMTH__SLOT_GRACE_NS and two index
   * publications; it comes back with a new generation and a reset demand
   * slot, so nothing of the old model leaks into the new one. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 2, 0);
  uint32_t a = tu_add(w, "old"), b = tu_add(w, "keep");
  tu_set_state(w, a, WARMTH_WARM, MINUTE);
  warmth_t *h = tu_reader(name);
  ck_assert_int_eq(warmth_touch(h, "old"), 0);
  ck_assert_int_eq(warmth_report(h, "old", 7, 1), 0);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "old", &info), 0);
  uint64_t gen = info.generation;
  int64_t freed = warmth__mono_ns();
  struct warmth__hdr *hd = warmth__w_hdr(w);
  uint64_t seq = atomic_load(&hd->index_seq);
  ck_assert_int_eq(warmth__w_remove(w, "old"), 0);
  warmth__w_publish(w);
  /* A publication with a removal is two: both buffers forget the slot. */
  ck_assert_uint_eq(atomic_load(&hd->index_seq), seq + 4);
  uint32_t slot;
  ck_assert_int_eq(warmth__w_add(w, "new", &slot), WARMTH_EFULL);
  while (warmth__mono_ns() - freed < WARMTH__SLOT_GRACE_NS + 50000000LL)
    tu_sleep_ms(50);
  /* Grace period over: no other change needed to bring the slot back. */
  ck_assert_int_eq(warmth__w_add(w, "new", &slot), 0);
  ck_assert_uint_eq(slot, a);
  warmth__w_publish(w);
  ck_assert_int_eq(warmth_lookup(h, "new", &info), 0);
  ck_assert_uint_eq(info.slot, a);
  ck_assert_uint_eq(info.generation, gen + 1);
  ck_assert_uint_eq(info.state, WARMTH_UNKNOWN);
  ck_assert_uint_eq(info.successes, 0);
  ck_assert_int_eq(warmth_lookup(h, "old", &info), WARMTH_ENOTFOUND);
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, a, &d), 0);
  ck_assert_uint_eq(d.touches, 0);
  ck_assert_uint_eq(d.real_ok, 0);
  ck_assert_uint_eq(d.last_touch_s, 0);
  (void)b;
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_swap_whole_set) {
  /* Issue 12, item 7: a reload that swaps the whole model set (removes
   * every model, adds as many others, one publication) must not leave the
   * freed slots in limbo for good: once the grace period is over, the next
   * add gets one, with no other change published in between. */
  char name[TU_NAME_LEN], m[32];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  for (int i = 0; i < 4; i++) {
    snprintf(m, sizeof m, "a%d", i);
    tu_add(w, m);
  }
  uint32_t slot;
  int64_t freed = warmth__mono_ns();
  for (int i = 0; i < 4; i++) { /* as wd_table_reload: adds, removes, one
                                   publication */
    snprintf(m, sizeof m, "b%d", i);
    ck_assert_int_eq(warmth__w_add(w, m, &slot), 0);
  }
  for (int i = 0; i < 4; i++) {
    snprintf(m, sizeof m, "a%d", i);
    ck_assert_int_eq(warmth__w_remove(w, m), 0);
  }
  warmth__w_publish(w);
  ck_assert_int_eq(warmth__w_add(w, "c0", &slot), WARMTH_EFULL);
  while (warmth__mono_ns() - freed < WARMTH__SLOT_GRACE_NS + 50000000LL)
    tu_sleep_ms(50);
  for (int i = 0; i < 4; i++) {
    snprintf(m, sizeof m, "c%d", i);
    ck_assert_msg(warmth__w_add(w, m, &slot) == 0, "add %s", m);
    ck_assert_uint_lt(slot, 4); /* one of the freed slots */
  }
  ck_assert_int_eq(warmth__w_add(w, "d0", &slot), WARMTH_EFULL);
  warmth__w_publish(w);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "c3", &info), 0);
  ck_assert_int_eq(warmth_lookup(h, "a3", &info), WARMTH_ENOTFOUND);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_fallocate_failure) {
  /* A /dev/shm without room must fail at creation with a message, not
   * with a SIGBUS later.  RLIMIT_FSIZE makes posix_fallocate fail cheaply
   * (EFBIG) without filling the real /dev/shm. */
  char name[TU_NAME_LEN];
  tu_name(name);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {65536, 65536};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
      _exit(1);
    struct warmth__w *w;
    char err[256] = "";
    int rc = wopen(&w, name, 4096, 0, err, sizeof err);
    if (rc != WARMTH_ESYS)
      _exit(2);
    if (!strstr(err, "reserve"))
      _exit(3);
    if (exists(name))
      _exit(4);
    _exit(0);
  }
  ck_assert_int_eq(tu_exit_code(tu_wait(pid, 10000)), 0);
  tu_unlink(name);
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(test_open_arguments) {
  char err[256];
  struct warmth__w *w;
  ck_assert_int_eq(wopen(&w, "noslash", 8, 0, err, sizeof err), WARMTH_EINVAL);
  ck_assert_uint_gt(strlen(err), 0);
  ck_assert_int_eq(wopen(&w, "/a/b", 8, 0, err, sizeof err), WARMTH_EINVAL);
  ck_assert_int_eq(wopen(&w, "/", 8, 0, err, sizeof err), WARMTH_EINVAL);
  char name[TU_NAME_LEN];
  tu_name(name);
  ck_assert_int_eq(wopen(&w, name, 0, 0, err, sizeof err), WARMTH_EINVAL);
  ck_assert_int_eq(
      wopen(&w, name, WARMTH__CAPACITY_MAX + 1, 0, err, sizeof err),
      WARMTH_EINVAL);
  ck_assert(!exists(name));
  ck_assert_int_eq(warmth__w_open(&w, name, NULL, NULL, 0), WARMTH_EINVAL);
}
END_TEST

START_TEST(test_close_unlink) {
  char name[TU_NAME_LEN], dname[TU_NAME_LEN + 8];
  tu_name(name);
  snprintf(dname, sizeof dname, "%s.demand", name);
  char lname[TU_NAME_LEN + 8];
  snprintf(lname, sizeof lname, "%s.lock", name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  warmth__w_close(w, 0);
  ck_assert(exists(name));
  ck_assert(exists(lname));
  ck_assert(!exists(dname)); /* the demand segment has no name */
  w = tu_writer(name, 4, 0); /* adopts the retired one */
  ck_assert_int_eq(warmth__w_adopted(w), 1);
  warmth__w_close(w, 1);
  ck_assert(!exists(name));
  ck_assert(!exists(lname));
}
END_TEST

START_TEST(test_adopt_empty_table) {
  /* A table adopted before it ever held a model must still take models. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  warmth__w_close(w, 0);
  w = tu_writer(name, 4, 0);
  ck_assert_int_eq(warmth__w_adopted(w), 1);
  uint32_t slot = 99;
  int rc = warmth__w_add(w, "first", &slot);
  ck_assert_msg(rc == 0, "add after adopt: %s", warmth_err_name(rc));
  warmth__w_publish(w);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "first", &info), 0);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_adopt_killed_mid_update) {
  /* A coordinator killed in the middle of a record update has half
   * written the copy readers do not use: readers go on reading the whole
   * one, and the successor adopts that one. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 8, 0);
  tu_add(w, "a");
  uint32_t b = tu_add(w, "b");
  tu_add(w, "c");
  struct warmth__payload p;
  ck_assert_int_eq(warmth__w_get(w, b, &p), 0);
  p.successes = 7;
  ck_assert_int_eq(warmth__w_update(w, b, &p), 0);
  warmth_t *h = tu_reader(name);
  struct warmth_model_info info = {.size = sizeof info};
  ck_assert_int_eq(warmth_lookup(h, "b", &info), 0);
  uint64_t gen = info.generation;
  _Atomic uint64_t *spare = tu_spare_copy(w, b);
  for (int k = 0; k < WARMTH__PAYLOAD_WORDS / 2; k++) /* "killed" half way */
    atomic_store(&spare[k], 0xabababababababab);
  ck_assert_int_eq(warmth_lookup(h, "b", &info), 0);
  ck_assert_uint_eq(info.successes, 7);
  warmth__w_crash(w);
  struct warmth__w *w2 = tu_writer(name, 8, 0);
  ck_assert_int_eq(warmth__w_adopted(w2), 1);
  warmth__w_close(w, 0); /* the predecessor's mapping */
  ck_assert_int_eq(warmth__w_slot(w2, "b"), (int)b);
  ck_assert_int_ge(warmth__w_slot(w2, "a"), 0);
  ck_assert_int_ge(warmth__w_slot(w2, "c"), 0);
  ck_assert_int_eq(warmth__w_get(w2, b, &p), 0);
  ck_assert_uint_eq(p.successes, 7);
  ck_assert_int_eq(warmth_lookup(h, "b", &info), 0);
  ck_assert_uint_eq(info.successes, 7);
  ck_assert_uint_eq(info.generation, gen);
  /* The successor's next update overwrites the half-written copy first. */
  p.successes = 8;
  ck_assert_int_eq(warmth__w_update(w2, b, &p), 0);
  ck_assert_int_eq(warmth_lookup(h, "b", &info), 0);
  ck_assert_uint_eq(info.successes, 8);
  ck_assert_str_eq(info.name, "b");
  ck_assert_int_eq(warmth_lookup(h, "a", &info), 0);
  ck_assert_int_eq(warmth_lookup(h, "c", &info), 0);
  warmth_close(h);
  warmth__w_close(w2, 1);
}
END_TEST

START_TEST(test_replace_not_adopt) {
  /* Our own segment that cannot be adopted (other capacity, or magic 0 from
   * a crash during creation) is replaced by a new one. */
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  tu_add(w, "gone");
  uint64_t inst = warmth__w_instance(w);
  warmth__w_close(w, 0);
  w = tu_writer(name, 8, 0);
  ck_assert_int_eq(warmth__w_adopted(w), 0);
  ck_assert_uint_ne(warmth__w_instance(w), inst);
  ck_assert_int_eq(warmth__w_slot(w, "gone"), WARMTH_ENOTFOUND);
  warmth__w_publish(w); /* live; then the magic of an unfinished creation */
  atomic_store(&warmth__w_hdr(w)->magic, 0);
  warmth__w_close(w, 0);
  w = tu_writer(name, 8, 0);
  ck_assert_int_eq(warmth__w_adopted(w), 0);
  warmth__w_close(w, 0);
  /* Too short for a header: replaced too. */
  tu_unlink(name);
  ck_assert_int_eq(tu_craft(name, NULL, 0, 100, 0640), 0);
  w = tu_writer(name, 8, 0);
  ck_assert_int_eq(warmth__w_adopted(w), 0);
  warmth_t *h = tu_reader(name);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

Suite *writer_suite(void) {
  Suite *s = suite_create("writer");
  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 30);
  tcase_add_test(core, test_refuse_foreign_magic);
  tcase_add_test(core, test_old_named_demand);
  tcase_add_test(core, test_lock_stopped_and_killed);
  tcase_add_test(core, test_refuse_other_owner);
  tcase_add_test(core, test_refuse_live_coordinator);
  tcase_add_test(core, test_full_and_exist);
  tcase_add_test(core, test_slot_reuse_after_grace);
  tcase_add_test(core, test_swap_whole_set);
  tcase_add_test(core, test_fallocate_failure);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 30);
  tcase_add_test(limits, test_open_arguments);
  tcase_add_test(limits, test_close_unlink);
  tcase_add_test(limits, test_adopt_empty_table);
  tcase_add_test(limits, test_adopt_killed_mid_update);
  tcase_add_test(limits, test_replace_not_adopt);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(writer_suite()); }
