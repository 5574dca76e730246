/* check_util.c - helpers shared by the lib/ unit tests (runner: check_run.c).
 */
#define _GNU_SOURCE
#include "check_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned name_seq;

void tu_name(char name[TU_NAME_LEN]) {
  snprintf(name, TU_NAME_LEN, "/wt-%d-%d-%u", (int)tu_runner_pid(),
           (int)getpid(), name_seq++);
}

void tu_unlink(const char *name) {
  char d[TU_NAME_LEN + 16];
  snprintf(d, sizeof d, "%s.demand", name);
  shm_unlink(name);
  shm_unlink(d);
}

struct warmth__w *tu_writer(const char *name, uint32_t capacity,
                            int64_t stale_after_ns) {
  struct warmth__w_opts o = {.capacity = capacity,
                             .group = (gid_t)-1,
                             .stale_after_ns = stale_after_ns};
  struct warmth__w *w = NULL;
  char err[256];
  int rc = warmth__w_open(&w, name, &o, err, sizeof err);
  ck_assert_msg(rc == 0, "warmth__w_open(%s): %d %s", name, rc, err);
  return w;
}

uint32_t tu_add(struct warmth__w *w, const char *model) {
  uint32_t slot = UINT32_MAX;
  int rc = warmth__w_add(w, model, &slot);
  ck_assert_msg(rc == 0, "add %s: %s", model, warmth_err_name(rc));
  warmth__w_publish(w);
  return slot;
}

void tu_set_state(struct warmth__w *w, uint32_t slot, uint16_t state,
                  int64_t ttl_ns) {
  struct warmth__payload p;
  ck_assert_int_eq(warmth__w_get(w, slot, &p), 0);
  p.state = state;
  p.warm_until = warmth__mono_ns() + ttl_ns;
  p.successes = 1000 + slot;
  p.http_status = 200;
  p.last_latency_us = 1234;
  ck_assert_int_eq(warmth__w_update(w, slot, &p), 0);
}

struct warmth__rec *tu_recs(struct warmth__w *w) {
  struct warmth__hdr *hd = warmth__w_hdr(w);
  return (struct warmth__rec *)((char *)hd + hd->off_records);
}

_Atomic uint64_t *tu_active_index(struct warmth__w *w) {
  struct warmth__hdr *hd = warmth__w_hdr(w);
  uint64_t s = atomic_load(&hd->index_seq);
  return (_Atomic uint64_t *)((char *)hd + hd->off_index[(s >> 1) & 1]);
}

warmth_t *tu_reader(const char *name) {
  warmth_t *h = NULL;
  int rc = warmth_open(&h, name, 0);
  ck_assert_msg(rc == 0, "warmth_open(%s): %s", name, warmth_err_name(rc));
  ck_assert_ptr_nonnull(h);
  return h;
}

int tu_craft(const char *name, const void *bytes, size_t len, size_t size,
             mode_t mode) {
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return -errno;
  int rc = 0;
  if (size && ftruncate(fd, (off_t)size) != 0)
    rc = -errno;
  if (!rc && len) {
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
      rc = -errno;
    } else {
      memcpy(m, bytes, len < size ? len : size);
      munmap(m, size);
    }
  }
  /* fchmod, not the create mode: the umask must not weaken a test. */
  if (!rc && fchmod(fd, mode) != 0)
    rc = -errno;
  close(fd);
  return rc;
}

int tu_wait(pid_t pid, int timeout_ms) {
  int status = 0;
  for (int waited = 0;; waited += 5) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return status;
    if (r < 0)
      return -1;
    if (waited >= timeout_ms) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1; /* timed out: not a normal exit */
    }
    tu_sleep_ms(5);
  }
}

int tu_exit_code(int status) {
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void tu_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

int tu_is_root(void) { return geteuid() == 0; }
