/* control.c - warmd's control socket: the listening socket, one thread per
 * client (a few at most), framing with time bounds, peer credentials.
 * The commands themselves are answered in ctlcmd.c.
 *
 * Nothing here can hold up the main loop: the threads only read the model
 * table under RCU and queue requests (wd_daemon_request).  A slow or hung
 * client holds only its own thread, and only until its time bound.
 * Two permissions, kept apart (issue 12): reaching the socket (mode 0660,
 * [warmd] group: the workers' group) lets a peer read (status, stats);
 * changing anything (warm, pause, resume, reload) needs root, warmd's own
 * user or a member of [warmd] control_group (default: none).  Workers are
 * many and run code that handles requests from the network, so a worker
 * must not be able to buy warmups or pause models.  Authorisation is
 * decided once per connection from SO_PEERCRED (and the peer's
 * supplementary groups, SO_PEERGROUPS) as the kernel recorded them at
 * connect time, so a peer cannot change them afterwards.
 *
 * Client slots: a few threads at most, so one uid must not be able to
 * hold them all (a worker opening 8 idle connections locked out every
 * operator).  Every uid but root holds at most MAX_PER_UID; peers that
 * may only read hold at most MAX_READERS together, so MAX_CLIENTS -
 * MAX_READERS stay for those who control warmd; root has ROOT_EXTRA
 * slots of its own beyond MAX_CLIENTS.  Idle clients are closed after
 * IDLE_NS, a started frame must arrive within FRAME_NS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "rcu.h"

#define MAX_CLIENTS 8              /* beyond: WCTL_BUSY (root: + ROOT_EXTRA) */
#define MAX_PER_UID 4              /* per uid other than root */
#define MAX_READERS 6              /* peers that may not mutate, together */
#define ROOT_EXTRA 4               /* root's own, beyond MAX_CLIENTS */
#define IDLE_NS (10 * WD_NS_PER_S) /* between requests */
#define FRAME_NS (2 * WD_NS_PER_S) /* to finish a started frame */
#define WRITE_NS (5 * WD_NS_PER_S) /* to take a reply */
#define BACKLOG 16

struct wd_control {
  struct wd_daemon *d;
  int lfd, stopfd;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  dev_t dev;
  ino_t ino;
  int has_group; /* [warmd] group: the socket's group (read-only access) */
  gid_t gid;
  int has_ctl_group; /* [warmd] control_group: may run mutating commands */
  gid_t ctl_gid;
  char ctl_group[65]; /* its name, for messages */
  pthread_t acceptor;
  _Atomic int stopping;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* Client threads alive, under mu: their uids and whether they may
   * mutate, for the slot limits (at most MAX_CLIENTS + ROOT_EXTRA). */
  int active;
  uid_t slot_uid[MAX_CLIENTS + ROOT_EXTRA];
  int slot_rw[MAX_CLIENTS + ROOT_EXTRA];
  int slot_used[MAX_CLIENTS + ROOT_EXTRA];
};

struct client {
  struct wd_control *c;
  int fd;
  int slot;
  uid_t uid;
  int may_mutate;
};

/* ---- authorisation ------------------------------------------------------- */

static int in_groups(const gid_t *g, int n, gid_t want) {
  for (int i = 0; i < n; i++)
    if (g[i] == want)
      return 1;
  return 0;
}

/* Root, warmd's own user, or a member of [warmd] control_group: as
 * primary group, or as a supplementary one.  The supplementary groups come
 * from SO_PEERGROUPS (Linux 4.13) first: they are the groups the peer
 * process really had when it connected, as the kernel recorded them, so a
 * process that dropped a group (setgroups) is judged without it, and no
 * NSS lookup (LDAP, sssd: slow or down) runs in the acceptor thread.  Only
 * where the kernel lacks SO_PEERGROUPS (ENOPROTOOPT) the group database is
 * asked for the peer uid's groups (getgrouplist of its passwd entry),
 * which is what the user would get at login. */
static int authorised(const struct wd_control *c, int fd,
                      const struct ucred *cr) {
  if (cr->uid == 0 || cr->uid == geteuid())
    return 1;
  if (!c->has_ctl_group)
    return 0;
  if (cr->gid == c->ctl_gid)
    return 1;
  gid_t g[256];
  socklen_t len = sizeof g;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0)
    return in_groups(g, (int)(len / sizeof g[0]), c->ctl_gid);
  if (errno == ERANGE) { /* more than 256 groups: len says how many */
    gid_t *big = malloc(len);
    int ok = big && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, big, &len) == 0 &&
             in_groups(big, (int)(len / sizeof big[0]), c->ctl_gid);
    free(big);
    return ok;
  }
  char buf[4096];
  struct passwd pw, *pp = NULL;
  if (getpwuid_r(cr->uid, &pw, buf, sizeof buf, &pp) != 0 || !pp)
    return 0;
  int n = (int)(sizeof g / sizeof g[0]);
  if (getgrouplist(pp->pw_name, cr->gid, g, &n) < 0)
    return 0;
  return in_groups(g, n, c->ctl_gid);
}

/* ---- bounded I/O --------------------------------------------------------- */

enum {
  IO_OK = 0,
  IO_EOF = 1,
  IO_SHORT = 2,
  IO_TIMEOUT = 3,
  IO_ERR = 4,
  IO_STOP = 5
};

/* Waits until fd is ready for ev, the deadline passes or warmd stops. */
static int wait_fd(const struct wd_control *c, int fd, short ev,
                   int64_t deadline) {
  for (;;) {
    int64_t left = deadline - wd_mono_ns();
    if (left <= 0)
      return IO_TIMEOUT;
    struct pollfd p[2] = {{.fd = fd, .events = ev},
                          {.fd = c->stopfd, .events = POLLIN}};
    int rc = poll(p, 2, (int)(left / WD_NS_PER_MS) + 1);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc < 0)
      return IO_ERR;
    if (p[1].revents)
      return IO_STOP;
    if (p[0].revents)
      return IO_OK;
  }
}

/* Reads n bytes.  IO_EOF: closed before the first byte; IO_SHORT: closed
 * or timed out in the middle (*got says how far). */
static int read_full(const struct wd_control *c, int fd, void *buf, size_t n,
                     int64_t first_deadline, size_t *got) {
  int64_t deadline = first_deadline;
  *got = 0;
  while (*got < n) {
    int w = wait_fd(c, fd, POLLIN, deadline);
    if (w != IO_OK)
      return w == IO_TIMEOUT && *got ? IO_SHORT : w;
    ssize_t r = read(fd, (char *)buf + *got, n - *got);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (r < 0)
      return IO_ERR;
    if (r == 0)
      return *got ? IO_SHORT : IO_EOF;
    if (*got == 0) /* once a frame started, the rest comes promptly */
      deadline = wd_mono_ns() + FRAME_NS;
    *got += (size_t)r;
  }
  return IO_OK;
}

static int write_full(const struct wd_control *c, int fd, const void *buf,
                      size_t n) {
  int64_t deadline = wd_mono_ns() + WRITE_NS;
  size_t done = 0;
  while (done < n) {
    ssize_t w = send(fd, (const char *)buf + done, n - done, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN) {
      if (wait_fd(c, fd, POLLOUT, deadline) != IO_OK)
        return -1;
      continue;
    }
    if (w < 0)
      return -1;
    done += (size_t)w;
  }
  return 0;
}

static void send_error(struct client *cl, uint32_t version, uint64_t seq,
                       unsigned status, const char *why) {
  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
  if (wctl_reply_error(&out, version, seq, status, why) == 0)
    write_full(cl->c, cl->fd, out.data, out.size);
  msgpack_sbuffer_destroy(&out);
}

/* ---- one client ---------------------------------------------------------- */

/* After a framing error: closing a Unix socket with unread input resets
 * the connection, and the peer would lose the error reply queued for it.
 * So stop writing, and drain what the peer still sends, briefly. */
static void drain(const struct wd_control *c, int fd) {
  char junk[4096];
  size_t total = 0;
  int64_t deadline = wd_mono_ns() + 200 * WD_NS_PER_MS;
  shutdown(fd, SHUT_WR);
  while (total < 16 * sizeof junk &&
         wait_fd(c, fd, POLLIN, deadline) == IO_OK) {
    ssize_t r = read(fd, junk, sizeof junk);
    if (r <= 0 && !(r < 0 && (errno == EINTR || errno == EAGAIN)))
      break;
    total += r > 0 ? (size_t)r : 0;
  }
}

/* Serves requests until the client closes, breaks the framing (we cannot
 * find the next frame then) or idles past IDLE_NS. */
static void serve(struct client *cl) {
  struct wd_control *c = cl->c;
  char *buf = malloc(WCTL_MAX_REQUEST);
  if (!buf)
    return;
  for (;;) {
    unsigned char hdr[WCTL_HEADER];
    size_t got;
    int rc =
        read_full(c, cl->fd, hdr, sizeof hdr, wd_mono_ns() + IDLE_NS, &got);
    if (rc == IO_SHORT) {
      send_error(cl, WCTL_VERSION, 0, WCTL_BAD_FRAME,
                 "truncated frame: the 4-byte length prefix is incomplete");
      drain(c, cl->fd);
      break;
    }
    if (rc != IO_OK)
      break;
    uint32_t len = wctl_get_len(hdr);
    if (len == 0 || len > WCTL_MAX_REQUEST) {
      char why[96];
      snprintf(why, sizeof why, "frame length %u (1 to %d bytes)", len,
               WCTL_MAX_REQUEST);
      send_error(cl, WCTL_VERSION, 0, WCTL_BAD_FRAME, why);
      drain(c, cl->fd);
      break;
    }
    rc = read_full(c, cl->fd, buf, len, wd_mono_ns() + FRAME_NS, &got);
    if (rc == IO_SHORT || rc == IO_EOF || rc == IO_TIMEOUT) {
      char why[96];
      snprintf(why, sizeof why, "truncated frame: %zu of %u bytes", got, len);
      send_error(cl, WCTL_VERSION, 0, WCTL_BAD_FRAME, why);
      drain(c, cl->fd);
      break;
    }
    if (rc != IO_OK)
      break;
    struct wctl_req r;
    char why[160];
    int st = wctl_req_decode(buf, len, &r, why, sizeof why);
    /* Answer in the request's version when we speak it. */
    uint32_t v = r.version >= WCTL_VERSION_MIN && r.version <= WCTL_VERSION
                     ? r.version
                     : WCTL_VERSION;
    if (st == WCTL_OK && wctl_cmd_mutating(r.cmd) && !cl->may_mutate) {
      st = WCTL_DENIED;
      if (c->has_ctl_group)
        snprintf(why, sizeof why,
                 "%s needs root, warmd's user or a member of control_group "
                 "%s",
                 wctl_cmd_name(r.cmd), c->ctl_group);
      else
        snprintf(why, sizeof why,
                 "%s needs root or warmd's user (no [warmd] control_group "
                 "is configured)",
                 wctl_cmd_name(r.cmd));
    }
    if (st != WCTL_OK) { /* the framing is intact: go on with the next */
      DEBUG_LOG("control: refused request: %s", why);
      send_error(cl, v, r.seq, (unsigned)st, why);
      continue;
    }
    DEBUG_LOG("control: %s%s%s", wctl_cmd_name(r.cmd), r.has_model ? " " : "",
              r.has_model ? r.model : "");
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    wd_ctl_answer(c->d, &r, &c->stopping, &out);
    int wrc = out.size ? write_full(c, cl->fd, out.data, out.size) : -1;
    msgpack_sbuffer_destroy(&out);
    if (wrc != 0)
      break;
  }
  free(buf);
}

static void *client_main(void *arg) {
  struct client *cl = arg;
  struct wd_control *c = cl->c;
  rcu_register_thread(); /* it looks entries up in the cds_lfht */
  serve(cl);
  rcu_unregister_thread();
  close(cl->fd);
  pthread_mutex_lock(&c->mu);
  c->slot_used[cl->slot] = 0;
  c->active--;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  free(cl);
  return NULL;
}

/* Takes a slot for a peer (under c->mu): its index, or -1 with why.  The
 * limits are in the comment at the top. */
static int take_slot(struct wd_control *c, uid_t uid, int rw, char *why,
                     size_t whylen) {
  int same = 0, readers = 0, others = 0, free_at = -1;
  for (int i = 0; i < MAX_CLIENTS + ROOT_EXTRA; i++) {
    if (!c->slot_used[i]) {
      if (free_at < 0)
        free_at = i;
      continue;
    }
    same += c->slot_uid[i] == uid;
    readers += !c->slot_rw[i];
    others += c->slot_uid[i] != 0;
  }
  if (uid != 0 && same >= MAX_PER_UID)
    snprintf(why, whylen,
             "uid %u already has %d control connections (at most %d per "
             "user)",
             (unsigned)uid, same, MAX_PER_UID);
  else if (uid != 0 && !rw && readers >= MAX_READERS)
    snprintf(why, whylen,
             "%d read-only control clients are connected (at most %d; the "
             "rest are kept for root and control_group)",
             readers, MAX_READERS);
  else if (free_at < 0 || (uid != 0 && others >= MAX_CLIENTS))
    snprintf(why, whylen, "%d control clients are connected (at most %d)",
             c->active, MAX_CLIENTS);
  else {
    c->slot_used[free_at] = 1;
    c->slot_uid[free_at] = uid;
    c->slot_rw[free_at] = rw;
    c->active++;
    return free_at;
  }
  return -1;
}

static void start_client(struct wd_control *c, int fd) {
  struct ucred cr;
  socklen_t len = sizeof cr;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
    close(fd);
    return;
  }
  struct client *cl = calloc(1, sizeof *cl);
  if (!cl) {
    close(fd);
    return;
  }
  cl->c = c;
  cl->fd = fd;
  cl->uid = cr.uid;
  cl->may_mutate = authorised(c, fd, &cr);
  char why[160];
  pthread_mutex_lock(&c->mu);
  cl->slot = take_slot(c, cr.uid, cl->may_mutate, why, sizeof why);
  pthread_mutex_unlock(&c->mu);
  if (cl->slot < 0) {
    DEBUG_LOG("control: refused a client (uid %u): %s", (unsigned)cr.uid, why);
    send_error(cl, WCTL_VERSION, 0, WCTL_BUSY, why);
    close(fd);
    free(cl);
    return;
  }
  pthread_attr_t at;
  pthread_t t;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&t, &at, client_main, cl) != 0) {
    send_error(cl, WCTL_VERSION, 0, WCTL_INTERNAL, NULL);
    close(fd);
    pthread_mutex_lock(&c->mu);
    c->slot_used[cl->slot] = 0;
    c->active--;
    pthread_mutex_unlock(&c->mu);
    free(cl);
  }
  pthread_attr_destroy(&at);
}

static void *acceptor_main(void *arg) {
  struct wd_control *c = arg;
  while (!atomic_load(&c->stopping)) {
    struct pollfd p[2] = {{.fd = c->lfd, .events = POLLIN},
                          {.fd = c->stopfd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0 && errno != EINTR)
      break;
    if (p[1].revents)
      break;
    if (!(p[0].revents & POLLIN))
      continue;
    int fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0)
      start_client(c, fd);
    else if (errno == EMFILE || errno == ENFILE)
      usleep(100 * 1000); /* do not spin while out of descriptors */
  }
  return NULL;
}

/* ---- the socket file ----------------------------------------------------- */

/* Creates the socket's directory (one level, e.g. /run/warmth) if missing. */
static int make_dir(const char *path, char *err, size_t errlen) {
  char *copy = strdup(path);
  if (!copy)
    return -1;
  const char *dir = dirname(copy);
  struct stat st;
  int rc = 0;
  if (stat(dir, &st) != 0) {
    if (errno != ENOENT || mkdir(dir, 0755) != 0) {
      snprintf(err, errlen, "control socket directory %s: %s", dir,
               strerror(errno));
      rc = -1;
    } else {
      LOG(LOG_INFO, "created %s for the control socket", dir);
    }
  } else if (!S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "control socket directory %s is not a directory",
             dir);
    rc = -1;
  }
  free(copy);
  return rc;
}

/* An existing socket file: stale (no one listens: a dead warmd left it)
 * and removed, or in use by a running warmd and left alone.  Anything else
 * at the path is never touched. */
static int clear_stale(const struct sockaddr_un *sa, char *err, size_t errlen) {
  struct stat st;
  if (lstat(sa->sun_path, &st) != 0)
    return errno == ENOENT ? 0 : -1;
  if (!S_ISSOCK(st.st_mode)) {
    snprintf(err, errlen, "%s exists and is not a socket; not touching it",
             sa->sun_path);
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
  int e = errno;
  struct ucred cr = {.pid = 0};
  socklen_t len = sizeof cr;
  if (rc == 0)
    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len);
  close(fd);
  if (rc == 0 || e == EAGAIN) {
    snprintf(err, errlen, "%s is in use by a running warmd (pid %d)",
             sa->sun_path, (int)cr.pid);
    return -1;
  }
  if (e != ECONNREFUSED) {
    snprintf(err, errlen, "%s: %s", sa->sun_path, strerror(e));
    return -1;
  }
  if (unlink(sa->sun_path) != 0 && errno != ENOENT) {
    snprintf(err, errlen, "cannot remove stale socket %s: %s", sa->sun_path,
             strerror(errno));
    return -1;
  }
  LOG(LOG_NOTICE,
      "removed stale control socket %s (left by a warmd that "
      "is gone)",
      sa->sun_path);
  return 0;
}

/* bind, then chmod/chown, then listen: until listen() a connect is refused,
 * so no one can get in while the mode is still the umask's. */
static int make_socket(struct wd_control *c, char *err, size_t errlen) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", c->path);
  if (make_dir(c->path, err, errlen) != 0)
    return -1;
  err[0] = 0;
  if (clear_stale(&sa, err, errlen) != 0) {
    if (!err[0])
      snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
    return -1;
  }
  c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    snprintf(err, errlen, "control socket %s: %s", c->path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (chmod(c->path, 0660) != 0 ||
      (c->has_group && chown(c->path, (uid_t)-1, c->gid) != 0) ||
      lstat(c->path, &st) != 0 || listen(c->lfd, BACKLOG) != 0) {
    snprintf(err, errlen, "control socket %s: %s", c->path, strerror(errno));
    unlink(c->path);
    return -1;
  }
  c->dev = st.st_dev;
  c->ino = st.st_ino;
  return 0;
}

/* ---- start, stop --------------------------------------------------------- */

int wd_control_start(struct wd_control **out, struct wd_daemon *d,
                     const char *path, const char *group,
                     const char *control_group, char *err, size_t errlen) {
  *out = NULL;
  struct wd_control *c = calloc(1, sizeof *c);
  if (!c) {
    snprintf(err, errlen, "control socket: out of memory");
    return -1;
  }
  c->d = d;
  c->lfd = c->stopfd = -1;
  if (strlen(path) >= sizeof c->path) {
    snprintf(err, errlen, "control socket %s: path too long", path);
    free(c);
    return -1;
  }
  snprintf(c->path, sizeof c->path, "%s", path);
  if (group) {
    struct group *g = getgrnam(group);
    if (!g) {
      snprintf(err, errlen, "control socket: group %s does not exist", group);
      free(c);
      return -1;
    }
    c->has_group = 1;
    c->gid = g->gr_gid;
  }
  if (control_group) {
    struct group *g = getgrnam(control_group);
    if (!g) {
      snprintf(err, errlen, "control socket: control_group %s does not exist",
               control_group);
      free(c);
      return -1;
    }
    c->has_ctl_group = 1;
    c->ctl_gid = g->gr_gid;
    snprintf(c->ctl_group, sizeof c->ctl_group, "%s", control_group);
  }
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  c->stopfd = eventfd(0, EFD_CLOEXEC);
  if (c->stopfd < 0) {
    snprintf(err, errlen, "control socket: eventfd: %s", strerror(errno));
    goto fail;
  }
  if (make_socket(c, err, errlen) != 0)
    goto fail;
  int rc = pthread_create(&c->acceptor, NULL, acceptor_main, c);
  if (rc != 0) {
    snprintf(err, errlen, "control socket: cannot start its thread: %s",
             strerror(rc));
    unlink(c->path);
    goto fail;
  }
  LOG(LOG_INFO, "control socket %s (protocol %d); changes by root, uid %u%s%s",
      c->path, WCTL_VERSION, (unsigned)geteuid(),
      c->has_ctl_group ? " and control_group " : "",
      c->has_ctl_group ? c->ctl_group : "");
  *out = c;
  return 0;
fail:
  if (c->lfd >= 0)
    close(c->lfd);
  if (c->stopfd >= 0)
    close(c->stopfd);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  free(c);
  return -1;
}

void wd_control_stop(struct wd_control *c) {
  if (!c)
    return;
  atomic_store(&c->stopping, 1);
  uint64_t one = 1; /* stays readable: wakes every poll, now and later */
  if (write(c->stopfd, &one, sizeof one) != sizeof one)
    LOG(LOG_ERR, "control socket: cannot wake its threads");
  pthread_join(c->acceptor, NULL);
  close(c->lfd);
  /* Only our own socket: a newer warmd may have taken the path over. */
  struct stat st;
  if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
    unlink(c->path);
  pthread_mutex_lock(&c->mu);
  while (c->active > 0)
    pthread_cond_wait(&c->cv, &c->mu);
  pthread_mutex_unlock(&c->mu);
  close(c->stopfd);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  free(c);
}
