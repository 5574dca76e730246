/* check_util.c - helpers shared by the lib/ unit tests (runner: check_run.c).
 */
#define _GNU_SOURCE
#include "check_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dsock.h"

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
  snprintf(d, sizeof d, "%s.lock", name);
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

_Atomic uint64_t *tu_spare_copy(struct warmth__w *w, uint32_t slot) {
  struct warmth__rec *r = &tu_recs(w)[slot];
  return (_Atomic uint64_t *)warmth__rec_copy(r, atomic_load(&r->seq) + 1);
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

int tu_lookup_until(warmth_t *h, const char *model, int want,
                    struct warmth_model_info *info) {
  int rc = 0;
  for (int i = 0; i < 500; i++) {
    info->size = sizeof *info;
    rc = warmth_lookup(h, model, info);
    if (rc == want)
      break;
    tu_sleep_ms(10);
  }
  return rc;
}

int tu_mlookup_until(warmth_model_t *m, int want,
                     struct warmth_model_info *info) {
  int rc = 0;
  for (int i = 0; i < 500; i++) {
    info->size = sizeof *info;
    rc = warmth_model_lookup(m, info);
    if (rc == want)
      break;
    tu_sleep_ms(10);
  }
  return rc;
}

int tu_fetch_demand_fd(uint64_t id) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -1;
  struct sockaddr_un a;
  socklen_t alen = warmth__dsock_addr(id, &a);
  struct timeval tv = {5, 0}; /* bounded: a test must not hang */
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int fd = -1;
  if (connect(s, (struct sockaddr *)&a, alen) == 0) {
    struct warmth__dmsg m;
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof m};
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    if (recvmsg(s, &mh, MSG_CMSG_CLOEXEC) == (ssize_t)sizeof m &&
        m.status == WARMTH__DS_OK) {
      struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
      if (c && c->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
    }
  }
  close(s);
  return fd;
}

pid_t tu_fake_demand_server(uint64_t id, int fd, int nfds, uint16_t status,
                            uid_t uid) {
  int ready[2];
  if (pipe(ready) != 0)
    return -1;
  pid_t pid = fork();
  if (pid != 0) {
    close(ready[1]);
    char c = 0;
    ssize_t n = pid > 0 ? read(ready[0], &c, 1) : -1;
    close(ready[0]);
    if (n == 1 && c == 'y')
      return pid;
    if (pid > 0) {
      kill(pid, SIGKILL);
      tu_wait(pid, 5000);
    }
    return -1;
  }
  close(ready[0]);
  /* The credentials a client sees are those of listen(): drop first. */
  if (uid != geteuid() &&
      (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0))
    _exit(1);
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a;
  socklen_t alen = warmth__dsock_addr(id, &a);
  if (l < 0 || bind(l, (struct sockaddr *)&a, alen) != 0 || listen(l, 8) != 0)
    _exit(2);
  if (write(ready[1], "y", 1) != 1)
    _exit(3);
  alarm(60); /* a forgotten fake must not outlive the test run */
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c < 0)
      continue;
    struct warmth__dmsg m = {.magic = WARMTH__DS_MAGIC,
                             .version = WARMTH__DS_VERSION,
                             .status = status,
                             .demand_id = id};
    struct iovec iov = {.iov_base = &m, .iov_len = sizeof m};
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(4 * sizeof(int))];
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > 0) {
      mh.msg_control = u.buf;
      mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
      struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
      h->cmsg_level = SOL_SOCKET;
      h->cmsg_type = SCM_RIGHTS;
      h->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
      for (int i = 0; i < nfds && i < 4; i++)
        memcpy(CMSG_DATA(h) + (size_t)i * sizeof(int), &fd, sizeof fd);
    }
    (void)sendmsg(c, &mh, MSG_NOSIGNAL);
    close(c);
  }
}
