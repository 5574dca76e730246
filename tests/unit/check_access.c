/* check_access.c - who may read and write the table.  The reader trusts a
 * segment only when an expected user owns it and no one else can write it;
 * it maps the state segment read-only, so a compromised worker cannot
 * corrupt it; a worker in the group reads the state and writes demand only.
 * Tests that need other uids run their work as root (as CI does) and say
 * so when they cannot. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "check_util.h"

Suite *access_suite(void);

static int needs_root(void) {
  if (tu_is_root())
    return 1;
  fprintf(stderr, "%s: not root, uid tests not run\n", __FILE__);
  return 0;
}

/* Changes ownership or mode of a segment behind the writer's back. */
static void chown_seg(const char *name, uid_t uid, gid_t gid) {
  int fd = shm_open(name, O_RDWR, 0);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(fchown(fd, uid, gid), 0);
  close(fd);
}

static void chmod_seg(const char *name, mode_t mode) {
  int fd = shm_open(name, O_RDWR, 0);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(fchmod(fd, mode), 0);
  close(fd);
}

static int open_rc(const char *name) {
  warmth_t *h = NULL;
  int rc = warmth_open(&h, name, 0);
  warmth_close(h);
  return rc;
}

START_TEST(test_badowner) {
  if (!needs_root())
    return;
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  ck_assert_int_eq(open_rc(name), 0);
  chown_seg(name, TU_OTHER_ID, (gid_t)-1);
  ck_assert_int_eq(open_rc(name), WARMTH_EBADOWNER);
  /* Unless the caller names that user as the coordinator's. */
  char uid[16];
  snprintf(uid, sizeof uid, "%d", TU_OTHER_ID);
  setenv("WARMTH_OWNER", uid, 1);
  ck_assert_int_eq(open_rc(name), 0);
  unsetenv("WARMTH_OWNER");
  /* The group does not matter for ownership. */
  chown_seg(name, 0, TU_OTHER_ID);
  ck_assert_int_eq(open_rc(name), 0);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_insecure) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  static const mode_t bad[] = {0660, 0662, 0602, 0666, 0620, 0777};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    chmod_seg(name, bad[i]);
    ck_assert_msg(open_rc(name) == WARMTH_EINSECURE, "mode %o", bad[i]);
  }
  /* Readable by others is the operator's choice, not a danger. */
  static const mode_t good[] = {0640, 0600, 0644, 0400, 0440};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    chmod_seg(name, good[i]);
    ck_assert_msg(open_rc(name) == 0, "mode %o", good[i]);
  }
  /* (An insecure demand segment: check_demand's fake servers.) */
  warmth__w_close(w, 1);
}
END_TEST

/* The reader's mapping of `name`, from /proc/self/maps: its address and
 * permission string ("r--s"). */
static void *find_mapping(const char *name, char perms[5]) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f)
    return NULL;
  char line[512], want[TU_NAME_LEN + 16];
  snprintf(want, sizeof want, "/dev/shm%s\n", name);
  void *addr = NULL;
  while (fgets(line, sizeof line, f)) {
    size_t n = strlen(line), k = strlen(want);
    if (n < k || strcmp(line + n - k, want) != 0)
      continue;
    unsigned long lo;
    if (sscanf(line, "%lx-%*x %4s", &lo, perms) == 2)
      addr = (void *)lo;
    break;
  }
  fclose(f);
  return addr;
}

/* Child exit codes of the fault test. */
enum { WROTE = 10, NO_MAP = 11, NOT_RO = 12, NO_OPEN = 13, REMAPPED = 14 };

START_TEST(test_read_only_mapping) {
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  uint32_t slot = tu_add(w, "m");
  tu_set_state(w, slot, WARMTH_WARM, MINUTE);
  uint64_t magic = atomic_load(&warmth__w_hdr(w)->magic);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    warmth_t *h = NULL;
    if (warmth_open(&h, name, 0) != 0)
      _exit(NO_OPEN);
    char perms[5] = "";
    volatile uint64_t *p = find_mapping(name, perms);
    if (!p)
      _exit(NO_MAP);
    if (strcmp(perms, "r--s") != 0)
      _exit(NOT_RO);
    /* Nor can the mapping be made writable: the descriptor was O_RDONLY. */
    if (mprotect((void *)p, 4096, PROT_READ | PROT_WRITE) == 0)
      _exit(REMAPPED);
    /* Restore the default action, so the fault kills us even when a
     * sanitizer installed its own SIGSEGV handler. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGSEGV, &sa, NULL);
    *p = 0; /* the header's magic */
    _exit(WROTE);
  }
  int st = tu_wait(pid, 10000);
  ck_assert_msg(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
                "child: exit %d signal %d", tu_exit_code(st),
                st != -1 && WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  ck_assert_uint_eq(atomic_load(&warmth__w_hdr(w)->magic), magic);
  warmth__w_close(w, 1);
}
END_TEST

/* Child exit codes of the worker-uid test. */
enum {
  RDWR_OPENED = 20,
  RDONLY_FAILED,
  OPEN_FAILED,
  LOOKUP_FAILED,
  TOUCH_FAILED,
  SETID_FAILED,
  OUTSIDER_OPENED
};

START_TEST(test_worker_uid) {
  /* A worker (uid and group "nobody"; the segments' group) reads the state
   * segment and writes demand, but cannot open the state segment for
   * writing; a user outside the group cannot open it at all. */
  if (!needs_root())
    return;
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w_opts o = {.capacity = 4, .group = TU_OTHER_ID};
  struct warmth__w *w = NULL;
  char err[256];
  ck_assert_int_eq(warmth__w_open(&w, name, &o, err, sizeof err), 0);
  uint32_t slot = tu_add(w, "m");
  tu_set_state(w, slot, WARMTH_WARM, MINUTE);
  for (int outsider = 0; outsider < 2; outsider++) {
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      gid_t gid = outsider ? TU_OTHER_ID - 1 : TU_OTHER_ID;
      if (setgroups(0, NULL) != 0 || setgid(gid) != 0 ||
          setuid(TU_OTHER_ID) != 0)
        _exit(SETID_FAILED);
      int fd = shm_open(name, O_RDWR, 0);
      if (fd >= 0 || errno != EACCES)
        _exit(RDWR_OPENED);
      warmth_t *h = NULL;
      if (outsider)
        _exit(warmth_open(&h, name, 0) == WARMTH_EACCES ? 0 : OUTSIDER_OPENED);
      fd = shm_open(name, O_RDONLY, 0);
      if (fd < 0)
        _exit(RDONLY_FAILED);
      close(fd);
      if (warmth_open(&h, name, 0) != 0)
        _exit(OPEN_FAILED);
      if (warmth_is_warm(h, "m") != 1)
        _exit(LOOKUP_FAILED);
      if (warmth_touch(h, "m") != 0 || warmth_report(h, "m", 5, 1) != 0)
        _exit(TOUCH_FAILED);
      warmth_close(h);
      _exit(0);
    }
    int st = tu_wait(pid, 10000);
    ck_assert_msg(tu_exit_code(st) == 0, "outsider=%d: child exit %d", outsider,
                  tu_exit_code(st));
  }
  struct warmth__demand d;
  ck_assert_int_eq(warmth__w_demand(w, slot, &d), 0);
  ck_assert_uint_eq(d.touches, 2); /* touch + report */
  ck_assert_uint_eq(d.real_ok, 1);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_hostile_worker_cannot_resize) {
  /* Issue 12, item 1: a group member shrinks or grows whatever a worker can
   * write (then the named demand segment; now the memfd it gets like any
   * worker), and the coordinator (here: this process reading every demand
   * slot) and the other workers keep running.  Before the fix the child's
   * ftruncate(0) succeeded and this process died of SIGBUS below. */
  if (!needs_root())
    return;
  char name[TU_NAME_LEN], dname[TU_NAME_LEN + 8];
  tu_name(name);
  snprintf(dname, sizeof dname, "%s.demand", name);
  struct warmth__w_opts o = {.capacity = 4, .group = TU_OTHER_ID};
  struct warmth__w *w = NULL;
  char err[256];
  ck_assert_int_eq(warmth__w_open(&w, name, &o, err, sizeof err), 0);
  uint32_t slot = tu_add(w, "m");
  uint64_t id = warmth__w_demand_id(w);
  warmth_t *h = tu_reader(name);
  ck_assert_int_eq(warmth_touch(h, "m"), 0); /* a worker mapped it */
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    if (setgroups(0, NULL) != 0 || setgid(TU_OTHER_ID) != 0 ||
        setuid(TU_OTHER_ID) != 0)
      _exit(SETID_FAILED);
    int resized = 0, fd = shm_open(dname, O_RDWR, 0);
    if (fd >= 0) { /* the old design: group-writable by name */
      resized |= ftruncate(fd, 0) == 0;
      close(fd);
    }
    fd = tu_fetch_demand_fd(id); /* as any worker gets it */
    if (fd < 0)
      _exit(TOUCH_FAILED);
    resized |= ftruncate(fd, 0) == 0;
    resized |= ftruncate(fd, 1 << 20) == 0;
    resized |= fallocate(fd, 0, 0, 1 << 20) == 0;
    resized |= fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0;
    /* Still allowed, and harmless: writing it (demand is untrusted input)
     * and punching a hole (the pages read back as zeros, no SIGBUS). */
    if (pwrite(fd, "x", 1, WARMTH__HDR_SIZE) != 1)
      _exit(TOUCH_FAILED);
    (void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    WARMTH__HDR_SIZE, 4096);
    close(fd);
    _exit(resized ? RDWR_OPENED : 0);
  }
  int st = tu_wait(pid, 10000);
  ck_assert_msg(tu_exit_code(st) == 0, "hostile child: exit %d",
                tu_exit_code(st));
  /* Every slot the coordinator scans, and a worker's touch: no SIGBUS. */
  struct warmth__demand d;
  for (uint32_t s = 0; s < 4; s++)
    ck_assert_int_eq(warmth__w_demand(w, s, &d), 0);
  ck_assert_int_eq(warmth_touch(h, "m"), 0);
  ck_assert_int_eq(warmth__w_demand(w, slot, &d), 0);
  ck_assert_uint_ge(d.touches, 1);
  warmth_close(h);
  warmth__w_close(w, 1);
}
END_TEST

START_TEST(test_outsider_gets_no_demand) {
  /* A user outside the group is refused the demand segment, even by hand. */
  if (!needs_root())
    return;
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w_opts o = {.capacity = 4, .group = TU_OTHER_ID};
  struct warmth__w *w = NULL;
  char err[256];
  ck_assert_int_eq(warmth__w_open(&w, name, &o, err, sizeof err), 0);
  tu_add(w, "m");
  uint64_t id = warmth__w_demand_id(w);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    if (setgroups(0, NULL) != 0 || setgid(TU_OTHER_ID - 1) != 0 ||
        setuid(TU_OTHER_ID) != 0)
      _exit(SETID_FAILED);
    _exit(tu_fetch_demand_fd(id) < 0 ? 0 : OUTSIDER_OPENED);
  }
  ck_assert_int_eq(tu_exit_code(tu_wait(pid, 10000)), 0);
  warmth__w_close(w, 1);
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(test_mode_after_umask) {
  /* The writer sets the modes itself: a permissive umask cannot widen
   * them and a strict one cannot lock the workers out. */
  char name[TU_NAME_LEN], dname[TU_NAME_LEN + 8];
  tu_name(name);
  snprintf(dname, sizeof dname, "%s.demand", name);
  for (int i = 0; i < 2; i++) {
    mode_t old = umask(i ? 0077 : 0);
    struct warmth__w *w = tu_writer(name, 4, 0);
    umask(old);
    struct stat st;
    int fd = shm_open(name, O_RDONLY, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    close(fd);
    ck_assert_uint_eq(st.st_mode & 07777, 0640);
    ck_assert_uint_eq(st.st_uid, geteuid());
    /* No named demand segment any more (a sealed memfd, lib/dsock.h). */
    ck_assert_int_lt(shm_open(dname, O_RDONLY, 0), 0);
    ck_assert_int_eq(open_rc(name), 0);
    warmth__w_close(w, 1);
  }
}
END_TEST

START_TEST(test_owner_by_name) {
  /* WARMTH_OWNER takes a user name as well as a uid. */
  if (!needs_root())
    return;
  char name[TU_NAME_LEN];
  tu_name(name);
  struct warmth__w *w = tu_writer(name, 4, 0);
  chown_seg(name, TU_OTHER_ID, (gid_t)-1);
  ck_assert_int_eq(open_rc(name), WARMTH_EBADOWNER);
  struct passwd *pw = getpwuid(TU_OTHER_ID);
  if (pw) {
    setenv("WARMTH_OWNER", pw->pw_name, 1);
    ck_assert_int_eq(open_rc(name), 0);
    unsetenv("WARMTH_OWNER");
  }
  setenv("WARMTH_OWNER", "0", 1); /* root is trusted anyway */
  ck_assert_int_eq(open_rc(name), WARMTH_EBADOWNER);
  unsetenv("WARMTH_OWNER");
  warmth__w_close(w, 1);
}
END_TEST

Suite *access_suite(void) {
  Suite *s = suite_create("access");
  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 30);
  tcase_add_test(core, test_badowner);
  tcase_add_test(core, test_insecure);
  tcase_add_test(core, test_read_only_mapping);
  tcase_add_test(core, test_worker_uid);
  tcase_add_test(core, test_hostile_worker_cannot_resize);
  tcase_add_test(core, test_outsider_gets_no_demand);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, test_mode_after_umask);
  tcase_add_test(limits, test_owner_by_name);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(access_suite()); }
