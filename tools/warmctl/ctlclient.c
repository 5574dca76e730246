/* ctlclient.c - warmctl's side of warmd's control socket: finding the
 * socket, one request and its reply with time bounds, the reply's fields
 * as a jansson object, and exit statuses and messages for each status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctlproto.h"
#include "inipeek.h"
#include "warmctl.h"

/* Where the socket is: --socket, else [warmd] control_socket of -c CONFIG
 * (read with config.c's lexical rules and path resolution, so relative
 * paths and the default mean the same to both), else the default.  NULL
 * after saying why. */
static char *socket_path(const struct wc_ctx *ctx) {
  if (ctx->socket)
    return strdup(ctx->socket);
  if (!ctx->config)
    return strdup(WCTL_DEFAULT_SOCKET);
  char err[1024];
  char *p =
      wd_ini_peek(ctx->config, "warmd", "control_socket", 1, err, sizeof err);
  if (!p && err[0]) {
    fprintf(stderr, "%s: %s\n", ctx->prog, err);
    return NULL;
  }
  if (!p)
    return strdup(WCTL_DEFAULT_SOCKET);
  if (!p[0]) {
    fprintf(stderr,
            "%s: %s: the control socket is off (control_socket is "
            "empty)\n",
            ctx->prog, ctx->config);
    free(p);
    return NULL;
  }
  return p;
}

char *wc_config_shm(const struct wc_ctx *ctx) {
  char err[1024];
  char *p = wd_ini_peek(ctx->config, "warmd", "shm", 0, err, sizeof err);
  if (!p && err[0]) {
    fprintf(stderr, "%s: %s\n", ctx->prog, err);
    return NULL;
  }
  if (!p && !(p = strdup(WARMTH_SHM_DEFAULT)))
    fprintf(stderr, "%s: out of memory\n", ctx->prog);
  return p;
}

/* Waits for fd to be ready; 0, or -1 with errno ETIMEDOUT. */
static int ready(int fd, short ev, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - wd_mono_ns();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    struct pollfd p = {.fd = fd, .events = ev};
    int rc = poll(&p, 1, (int)(left / WD_NS_PER_MS) + 1);
    if (rc > 0)
      return 0;
    if (rc < 0 && errno != EINTR)
      return -1;
  }
}

static int send_all(int fd, const char *buf, size_t n, int64_t deadline) {
  while (n) {
    if (ready(fd, POLLOUT, deadline) != 0)
      return -1;
    ssize_t w = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (w < 0)
      return -1;
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

/* 0, or -1 with errno (0 for "closed before the end"). */
static int recv_all(int fd, char *buf, size_t n, int64_t deadline) {
  while (n) {
    if (ready(fd, POLLIN, deadline) != 0)
      return -1;
    ssize_t r = recv(fd, buf, n, MSG_DONTWAIT);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (r <= 0) {
      if (r == 0)
        errno = 0;
      return -1;
    }
    buf += r;
    n -= (size_t)r;
  }
  return 0;
}

/* ---- msgpack -> JSON ----------------------------------------------------- */

static json_t *to_json(const msgpack_object *o) {
  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    return json_null();
  case MSGPACK_OBJECT_BOOLEAN:
    return json_boolean(o->via.boolean);
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    return o->via.u64 > INT64_MAX ? json_real((double)o->via.u64)
                                  : json_integer((json_int_t)o->via.u64);
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    return json_integer((json_int_t)o->via.i64);
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    return json_real(o->via.f64);
  case MSGPACK_OBJECT_STR: {
    json_t *s = json_stringn(o->via.str.ptr, o->via.str.size);
    return s ? s : json_string("(not UTF-8)");
  }
  case MSGPACK_OBJECT_ARRAY: {
    json_t *a = json_array();
    for (uint32_t i = 0; a && i < o->via.array.size; i++)
      json_array_append_new(a, to_json(&o->via.array.ptr[i]));
    return a;
  }
  case MSGPACK_OBJECT_MAP: {
    json_t *m = json_object();
    for (uint32_t i = 0; m && i < o->via.map.size; i++) {
      const msgpack_object *k = &o->via.map.ptr[i].key;
      if (k->type != MSGPACK_OBJECT_STR || k->via.str.size > 64)
        continue; /* not a field name this protocol uses */
      char key[65];
      memcpy(key, k->via.str.ptr, k->via.str.size);
      key[k->via.str.size] = 0;
      json_t *v = to_json(&o->via.map.ptr[i].val);
      if (v)
        json_object_set_new(m, key, v);
    }
    return m;
  }
  default: /* bin, ext: nothing warmd sends */
    return json_null();
  }
}

/* ---- one call ------------------------------------------------------------ */

static int connect_to(const struct wc_ctx *ctx, const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    fprintf(stderr, "%s: %s: too long for a socket path\n", ctx->prog, path);
    return -WC_EXIT_ERROR;
  }
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
    return fd;
  int e = errno;
  if (fd >= 0)
    close(fd);
  /* connect() to a file that is no socket says ECONNREFUSED too: that is a
   * wrong path (exit 2), not a dead warmd (exit 3). */
  struct stat st;
  if (e == ECONNREFUSED && stat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
    fprintf(stderr, "%s: %s: not a socket (is it warmd's control_socket?)\n",
            ctx->prog, path);
    return -WC_EXIT_ERROR;
  }
  if (e == ENOENT)
    fprintf(stderr, "%s: %s: no control socket (is warmd running?)\n",
            ctx->prog, path);
  else if (e == EACCES || e == EPERM)
    fprintf(stderr, "%s: %s: permission denied (needs the socket's group)\n",
            ctx->prog, path);
  else if (e == ECONNREFUSED)
    fprintf(stderr, "%s: %s: nobody listens (warmd is gone: stale socket)\n",
            ctx->prog, path);
  else
    fprintf(stderr, "%s: %s: %s\n", ctx->prog, path, strerror(e));
  return e == ECONNREFUSED ? -WC_EXIT_STALE : -WC_EXIT_ERROR;
}

static int io_error(const struct wc_ctx *ctx, const char *path,
                    const char *what) {
  fprintf(stderr, "%s: %s: %s: %s\n", ctx->prog, path, what,
          errno == ETIMEDOUT ? "timed out"
          : errno == 0       ? "warmd closed the connection"
                             : strerror(errno));
  return WC_EXIT_ERROR;
}

int wc_ctl_call(const struct wc_ctx *ctx, unsigned cmd, const char *model,
                int64_t timeout_ns, struct wc_reply *out) {
  memset(out, 0, sizeof *out);
  struct wctl_req req = {.version = WCTL_VERSION, .cmd = cmd};
  req.seq = ((uint64_t)getpid() << 32) ^ (uint64_t)wd_mono_ns();
  if (model) {
    req.has_model = 1;
    if (strlen(model) >= sizeof req.model) {
      fprintf(stderr, "%s: '%s' is not a model name (too long)\n", ctx->prog,
              model);
      return WC_EXIT_ERROR;
    }
    snprintf(req.model, sizeof req.model, "%s", model);
  }
  msgpack_sbuffer b;
  msgpack_sbuffer_init(&b);
  if (wctl_req_encode(&req, &b) != 0) {
    msgpack_sbuffer_destroy(&b);
    fprintf(stderr, "%s: '%s' is not a model name (printable, no space)\n",
            ctx->prog, model ? model : "");
    return WC_EXIT_ERROR;
  }
  char *path = socket_path(ctx);
  if (!path) {
    msgpack_sbuffer_destroy(&b);
    return WC_EXIT_ERROR;
  }
  int rc = WC_EXIT_ERROR, fd = connect_to(ctx, path);
  char *buf = NULL;
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  if (fd < 0) {
    rc = -fd;
    goto done;
  }
  int64_t deadline = wd_mono_ns() + timeout_ns;
  unsigned char hdr[WCTL_HEADER];
  /* warmd may refuse a connection (busy: too many clients of this user)
   * with a reply and close it before reading the request: the send then
   * fails (EPIPE), but the reply is waiting to be read, and says why. */
  int sent = send_all(fd, b.data, b.size, wd_mono_ns() + 5 * WD_NS_PER_S);
  int send_errno = errno;
  if (sent != 0 && send_errno != EPIPE && send_errno != ECONNRESET) {
    rc = io_error(ctx, path, "sending the request");
    goto done;
  }
  if (recv_all(fd, (char *)hdr, sizeof hdr, deadline) != 0) {
    if (sent != 0)
      errno = send_errno;
    rc = io_error(ctx, path,
                  sent != 0 ? "sending the request" : "waiting for the reply");
    goto done;
  }
  uint32_t len = wctl_get_len(hdr);
  char why[160];
  if (len == 0 || len > WCTL_MAX_REPLY) {
    fprintf(stderr, "%s: %s: protocol error: reply of %u bytes\n", ctx->prog,
            path, len);
    goto done;
  }
  buf = malloc(len);
  if (!buf || recv_all(fd, buf, len, wd_mono_ns() + 10 * WD_NS_PER_S) != 0) {
    rc = io_error(ctx, path, "reading the reply");
    goto done;
  }
  struct wctl_reply r;
  if (wctl_reply_decode(buf, len, &u, &r, why, sizeof why) != 0) {
    fprintf(stderr, "%s: %s: protocol error: %s\n", ctx->prog, path, why);
    goto done;
  }
  if (r.seq != req.seq && r.seq != 0) {
    fprintf(stderr, "%s: %s: protocol error: reply to another request\n",
            ctx->prog, path);
    goto done;
  }
  out->status = r.status;
  out->fields = to_json(r.fields);
  if (!out->fields) {
    fprintf(stderr, "%s: out of memory\n", ctx->prog);
    goto done;
  }
  rc = WC_EXIT_OK;
done:
  if (fd >= 0)
    close(fd);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&b);
  free(buf);
  free(path);
  return rc;
}

int wc_ctl_exit(unsigned status) {
  switch (status) {
  case WCTL_OK:
    return WC_EXIT_OK;
  case WCTL_NO_MODEL:
  case WCTL_WARMUP_FAILED:
  case WCTL_TIMEOUT:
  case WCTL_DISABLED:
  case WCTL_SKIPPED:
  case WCTL_RATE_LIMITED:
    return WC_EXIT_NOTWARM;
  case WCTL_STOPPING:
    return WC_EXIT_STALE;
  default:
    return WC_EXIT_ERROR;
  }
}

void wc_ctl_complain(const struct wc_ctx *ctx, const char *cmd,
                     const struct wc_reply *r) {
  const char *text = wctl_status_text(r->status);
  const char *detail = json_string_value(json_object_get(r->fields, "error"));
  if (r->status == WCTL_BAD_VERSION) {
    json_int_t v = json_integer_value(json_object_get(r->fields, "version"));
    fprintf(stderr,
            "%s: %s: warmd speaks control protocol %lld, this "
            "warmctl %d\n",
            ctx->prog, cmd, (long long)v, WCTL_VERSION);
    return;
  }
  if (detail && strcmp(detail, text) != 0)
    fprintf(stderr, "%s: %s: %s: %s\n", ctx->prog, cmd, text, detail);
  else
    fprintf(stderr, "%s: %s: %s\n", ctx->prog, cmd, text);
}
