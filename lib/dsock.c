/* dsock.c - the writer's demand server: hands the sealed demand memfd to
 * the workers allowed to write demand (protocol: lib/dsock.h).
 *
 * One thread of its own, started and stopped by the writer (writer.c), so
 * every writer serves the same way: warmd, fill-table, the unit tests.  It
 * never blocks on a client: each accepted connection gets one non-blocking
 * send of 16 bytes (a fresh socket's buffer always has room) and is closed,
 * so a client that never reads holds nothing but its own socket.  It shares
 * nothing mutable with the writer: the memfd, the id and the group are set
 * before the thread starts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dsock.h"
#include "writer.h"

#define BACKLOG 64

struct warmth__ds {
  int lfd, stopfd, memfd;
  uint64_t id;
  gid_t gid;
  pthread_t thread;
};

static int in_groups(const gid_t *g, size_t n, gid_t want) {
  for (size_t i = 0; i < n; i++)
    if (g[i] == want)
      return 1;
  return 0;
}

/* Root, our own uid, or a member of the segments' group (primary, or a
 * supplementary group as the kernel recorded it at connect time). */
static int allowed(const struct warmth__ds *s, int fd) {
  struct ucred cr;
  socklen_t len = sizeof cr;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
    return 0;
  if (cr.uid == 0 || cr.uid == geteuid() || cr.gid == s->gid)
    return 1;
  gid_t g[256];
  len = sizeof g;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0)
    return in_groups(g, len / sizeof g[0], s->gid);
  if (errno != ERANGE) /* Linux < 4.13: no group list, refuse */
    return 0;
  gid_t *big = malloc(len); /* more than 256 groups: len says how many */
  int ok = big && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, big, &len) == 0 &&
           in_groups(big, len / sizeof big[0], s->gid);
  free(big);
  return ok;
}

static void answer(const struct warmth__ds *s, int fd) {
  int ok = allowed(s, fd);
  struct warmth__dmsg m = {.magic = WARMTH__DS_MAGIC,
                           .version = WARMTH__DS_VERSION,
                           .status = ok ? WARMTH__DS_OK : WARMTH__DS_REFUSED,
                           .demand_id = s->id};
  struct iovec iov = {.iov_base = &m, .iov_len = sizeof m};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  if (ok) {
    memset(&u, 0, sizeof u);
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof u.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &s->memfd, sizeof(int));
  }
  /* Non-blocking: a fresh connection's buffer takes 16 bytes; if it does
   * not, the client gets nothing and tries again later. */
  (void)sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void *serve(void *arg) {
  struct warmth__ds *s = arg;
  struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN},
                        {.fd = s->stopfd, .events = POLLIN}};
  for (;;) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[1].revents)
      break;
    for (;;) {
      int c = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
            errno != ECONNABORTED) {
          /* Out of descriptors or memory: the connection stays queued and
           * poll would report it at once; do not spin on it. */
          struct timespec ts = {0, 10 * 1000000L};
          nanosleep(&ts, NULL);
        }
        break;
      }
      answer(s, c);
      close(c);
    }
  }
  return NULL;
}

int warmth__ds_start(struct warmth__ds **out, int memfd, uint64_t id,
                     gid_t group, char *err, size_t errlen) {
  struct warmth__ds *s = calloc(1, sizeof *s);
  if (!s)
    return WARMTH_ENOMEM;
  s->memfd = memfd;
  s->id = id;
  s->gid = group != (gid_t)-1 ? group : getegid();
  s->stopfd = -1;
  s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un a;
  socklen_t alen = warmth__dsock_addr(id, &a);
  const char *what = "socket";
  if (s->lfd < 0)
    goto bad;
  what = "bind";
  if (bind(s->lfd, (struct sockaddr *)&a, alen) != 0)
    goto bad;
  what = "listen";
  if (listen(s->lfd, BACKLOG) != 0)
    goto bad;
  what = "eventfd";
  s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->stopfd < 0)
    goto bad;
  /* The thread takes no signal: warmd's handlers and sigwait callers must
   * keep getting theirs where they expect them. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int e = pthread_create(&s->thread, NULL, serve, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e) {
    errno = e;
    what = "pthread_create";
    goto bad;
  }
  *out = s;
  return 0;
bad:
  if (err && errlen)
    snprintf(err, errlen, "demand socket @%s%016llx: %s: %s",
             WARMTH__DSOCK_PREFIX, (unsigned long long)id, what,
             strerror(errno));
  if (s->lfd >= 0)
    close(s->lfd);
  if (s->stopfd >= 0)
    close(s->stopfd);
  free(s);
  return WARMTH_ESYS;
}

void warmth__ds_stop(struct warmth__ds *s) {
  if (!s)
    return;
  uint64_t one = 1;
  if (write(s->stopfd, &one, sizeof one) != sizeof one)
    abort(); /* an eventfd write of 1 cannot fail short of a bug */
  pthread_join(s->thread, NULL);
  close(s->lfd);
  close(s->stopfd);
  free(s);
}
