/* http.c - the health and metrics endpoint (libmicrohttpd).
 *
 *   GET /health/startup  200 once warmd is running, else 503
 *   GET /health/warmup   200 when every required model is warm, else 503;
 *                        a JSON body names each model's state
 *   GET /metrics         Prometheus text format 0.0.4 (metrics.c)
 *   GET /                the status page, HTML (statuspage.c)
 *   GET /status.json     the status page's data
 * HEAD works on each; other methods get 405, other paths 404.
 *
 * We bind the listening socket ourselves (exactly the configured address,
 * with an error that names it) and hand it to MHD, which runs in external
 * polling mode (epoll) in a thread of ours: that thread is registered with
 * liburcu for its whole life, which MHD's own threads could not be.
 *
 * Slow and idle clients (issue 12, item 6).  Measured before: 16 slow
 * connections from 127.0.0.1 filled the per-address limit and /health on
 * loopback timed out for as long as they stayed; 64 from anywhere filled
 * the connection limit; and every /metrics request formatted its own copy
 * (19 MB at 10,000 models), so 64 clients that asked and never read held
 * 64 copies (32 MB -> 1.25 GB).  A limit only moves the number an attacker
 * needs, and a per-address limit hits the kubelet or a local probe first,
 * since they share the address with every local user.  So:
 *  - No per-address limit; the connection limit is HTTP_MAX_CONNECTIONS,
 *    and before it is reached (HTTP_EVICT_AT) the connection that waited
 *    longest without a request in progress is closed (shutdown(2) on its
 *    socket from this thread, between two MHD_run calls: MHD then reads
 *    EOF and frees it), else the oldest one still sending.  A new client
 *    always gets in, and a probe, which sends its request at once, is the
 *    youngest and the last to go.  A request's head must also come within
 *    HTTP_HEAD_NS of the connection (or of the previous answer), however
 *    slowly it trickles in: MHD's idle timeout alone restarts at every byte.
 *  - The big answers (/metrics, /, /status.json, /health/warmup) are built
 *    at most once per CACHE_NS per path and the same MHD_Response, which
 *    MHD reference-counts, is queued to every client that asks meanwhile:
 *    a client holds a reference, not a copy.  A client that never reads
 *    keeps its generation alive until MHD's idle timeout; while
 *    CACHE_OLD_MAX older generations of a path are still held, the current
 *    one is served even when older than CACHE_NS (at most the idle timeout
 *    more), so memory stays within (CACHE_OLD_MAX + 1) copies per path
 *    whatever the number of clients.
 *  - They are built by a thread of their own (builder), never by the one
 *    that serves: at 10,000 models a /metrics build took 0.2 to 1.5 s, and
 *    clients asking for all four paths in turn held /health/startup up to
 *    2.5 s when the serving thread built them.  A request that finds its
 *    path's answer older than CACHE_NS is suspended (MHD_suspend_connection)
 *    and resumed by the builder once the new one is in; /health/startup and
 *    everything else goes on meanwhile.
 *  - Rejected: MHD_USE_THREAD_PER_CONNECTION (a thread and its stack per
 *    slow client, and still a limit that slow clients fill); streaming
 *    /metrics with MHD_create_response_from_callback (bounded memory, but
 *    the snapshot is taken under rcu_read_lock, which cannot be held across
 *    callbacks, and each client would still cost a formatting pass).
 * Measured after (tests/integration/test_http_slow.py): at 2,000 models,
 * beside 200 slow and 64 non-reading clients, health answered within 12 ms
 * and RSS grew by 5 MiB (before: health timed out, +269 MiB); at 10,000
 * models, +17 MiB (64 copies would be 1.3 GB); with 8 clients fetching
 * the four big paths in a loop, /health/startup took at most 36 ms (2.5 s
 * when the serving thread built them).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "rcu.h"
#include "statuspage.h"

/* MHD's limit; a descriptor and at most CONNECTION_MEMORY each. */
#define HTTP_MAX_CONNECTIONS 256
/* Evict from here on, so the MHD_run calls between two of our checks can
 * still accept the clients that arrive meanwhile. */
#define HTTP_EVICT_AT (HTTP_MAX_CONNECTIONS - 32)
#define HTTP_TIMEOUT_S 10 /* MHD: idle (no byte read or written) */
#define HTTP_HEAD_NS (10 * WD_NS_PER_S) /* a request's head, however slow */
#define CONNECTION_MEMORY ((size_t)32 * 1024)
/* How soon the thread notices a stop request when nothing happens; also
 * the period of the HTTP_HEAD_NS sweep. */
#define HTTP_POLL_MS 100

#define CACHE_NS (1 * WD_NS_PER_S)
#define CACHE_OLD_MAX 2

enum route { R_STARTUP, R_WARMUP, R_METRICS, R_HTML, R_JSON, R__N };

/* One client connection, from MHD's "started" to its "closed". */
struct conn {
  struct conn *prev, *next;
  int fd;
  int busy;      /* a request is being answered */
  int shut;      /* we shut it down; MHD has not closed it yet */
  int64_t since; /* connected, or its last answer finished */
};

/* A body shared by every response of one generation of a path. */
struct body {
  struct wd_http *h;
  enum route route;
  int current; /* still the cache's generation */
  char *p;
};

/* A request suspended until its path's answer is rebuilt. */
struct waiter {
  struct waiter *next;
  struct MHD_Connection *c;
};

struct cached {
  struct MHD_Response *r; /* our reference, or NULL */
  struct body *b;
  unsigned status;
  int64_t built;
  int old; /* generations of this path replaced, still held by clients */
  struct waiter *waiting;
};

struct wd_http {
  struct MHD_Daemon *mhd;
  struct wd_daemon *d;
  pthread_t thread, builder;
  _Atomic int stop;
  /* Only the HTTP thread (and MHD_stop_daemon after it) touches these. */
  struct conn *conns; /* oldest first */
  struct conn *last;
  int live; /* connections not shut down */
  int64_t swept;
  uint64_t evicted;
  /* Shared by the HTTP thread, the builder and body_free (which runs in
   * whichever thread drops a response's last reference): under mu. */
  pthread_mutex_t mu;
  pthread_cond_t cv; /* the builder waits on it for `want` or stopping */
  unsigned want;     /* paths to rebuild, 1 << route */
  int quit;          /* the builder is to stop */
  int builder_gone;  /* it stopped: no more suspensions */
  struct cached cache[R__N];
};

/* ---- connections --------------------------------------------------------- */

static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
                          enum MHD_ConnectionNotificationCode code) {
  struct wd_http *h = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct conn *k = calloc(1, sizeof *k);
    *ctx = k;
    if (!k || !ci)
      return; /* not tracked: MHD's own limit and timeout still apply */
    k->fd = ci->connect_fd;
    k->since = wd_mono_ns();
    k->prev = h->last;
    if (h->last)
      h->last->next = k;
    else
      h->conns = k;
    h->last = k;
    h->live++;
    return;
  }
  struct conn *k = *ctx; /* MHD_CONNECTION_NOTIFY_CLOSED */
  if (!k)
    return;
  if (k->prev)
    k->prev->next = k->next;
  else
    h->conns = k->next;
  if (k->next)
    k->next->prev = k->prev;
  else
    h->last = k->prev;
  h->live -= !k->shut;
  free(k);
  *ctx = NULL;
}

static struct conn *conn_of(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode code) {
  (void)cls, (void)state, (void)code;
  struct conn *k = conn_of(c);
  if (k) {
    k->busy = 0;
    k->since = wd_mono_ns(); /* the next request's head starts now */
  }
}

static void shut(struct wd_http *h, struct conn *k) {
  shutdown(k->fd, SHUT_RDWR); /* MHD sees EOF or EPIPE, closes, notifies */
  k->shut = 1;
  h->live--;
  h->evicted++;
}

/* Closes connections whose request head is overdue, and, near the limit,
 * the one that waited longest without a request (else the oldest). */
static void evict(struct wd_http *h) {
  int64_t now = wd_mono_ns();
  if (now - h->swept >= HTTP_POLL_MS * WD_NS_PER_MS) {
    h->swept = now;
    for (struct conn *k = h->conns; k; k = k->next)
      if (!k->shut && !k->busy && now - k->since > HTTP_HEAD_NS)
        shut(h, k);
  }
  while (h->live >= HTTP_EVICT_AT) {
    struct conn *idle = NULL, *oldest = NULL;
    for (struct conn *k = h->conns; k; k = k->next) {
      if (k->shut)
        continue;
      if (!oldest || k->since < oldest->since)
        oldest = k;
      if (!k->busy && (!idle || k->since < idle->since))
        idle = k;
    }
    if (!oldest)
      break;
    shut(h, idle ? idle : oldest);
  }
}

/* ---- responses ----------------------------------------------------------- */

static void add_headers(struct MHD_Response *r, const char *type,
                        unsigned status) {
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                             const char *type, char *body, size_t len,
                             int must_free) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!r) {
    if (must_free)
      free(body);
    return MHD_NO;
  }
  add_headers(r, type, status);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status,
                            const char *s) {
  return reply(c, status, "text/plain; charset=utf-8", (char *)s, strlen(s), 0);
}

/* MHD frees a response (and calls this) when the last connection that
 * queued it is done with it, and we no longer hold it. */
static void body_free(void *cls) {
  struct body *b = cls;
  pthread_mutex_lock(&b->h->mu);
  if (!b->current)
    b->h->cache[b->route].old--;
  pthread_mutex_unlock(&b->h->mu);
  free(b->p);
  free(b);
}

/* Builds route's body: 0 with *p (malloc'd), *len, *status, or -1. */
static int build(struct wd_http *h, enum route route, char **p, size_t *len,
                 unsigned *status) {
  *status = MHD_HTTP_OK;
  if (route == R_WARMUP || route == R_JSON) {
    char *json = NULL;
    if (route == R_WARMUP) {
      int ready = wd_health_warmup(h->d, &json);
      *status = ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    } else {
      json = wd_status_json(h->d);
    }
    if (!json)
      return -1;
    *len = strlen(json);
    json[(*len)++] = '\n'; /* json_dumps' NUL becomes the line end */
    *p = json;
    return 0;
  }
  struct wd_buf b = {0};
  if (route == R_HTML)
    wd_status_html(h->d, &b);
  else
    wd_metrics(h->d, &b);
  if (b.oom || !(b.p || (b.p = strdup("")))) {
    free(b.p);
    return -1;
  }
  *p = b.p;
  *len = b.len;
  return 0;
}

/* Under mu: whether route's answer may be served as it is. */
static int fresh(const struct cached *k, int64_t now) {
  return k->r && (now - k->built < CACHE_NS || k->old >= CACHE_OLD_MAX);
}

/* Builds route's answer and puts it in the cache (the builder thread; mu
 * not held).  Out of memory: the cache keeps what it had. */
static void rebuild(struct wd_http *h, enum route route) {
  static const char *const types[R__N] = {
      [R_WARMUP] = "application/json",
      [R_METRICS] = "text/plain; version=0.0.4; charset=utf-8",
      [R_HTML] = "text/html; charset=utf-8",
      [R_JSON] = "application/json",
  };
  struct body *b = calloc(1, sizeof *b);
  size_t len;
  unsigned status;
  if (!b || build(h, route, &b->p, &len, &status) != 0) {
    free(b);
    return;
  }
  b->h = h;
  b->route = route;
  b->current = 1;
  struct MHD_Response *r =
      MHD_create_response_from_buffer_with_free_callback_cls(len, b->p,
                                                             body_free, b);
  if (!r) {
    free(b->p);
    free(b);
    return;
  }
  add_headers(r, types[route], status);
  pthread_mutex_lock(&h->mu);
  struct cached *k = &h->cache[route];
  struct MHD_Response *replaced = k->r;
  if (replaced) { /* clients may still hold it: an old generation now */
    k->b->current = 0;
    k->old++;
  }
  k->r = r;
  k->b = b;
  k->status = status;
  k->built = wd_mono_ns();
  pthread_mutex_unlock(&h->mu);
  if (replaced) /* our reference; body_free (which takes mu) may run now */
    MHD_destroy_response(replaced);
}

/* The builder: rebuilds the paths asked for, then resumes the requests
 * that wait for them (each finds the new answer when MHD calls handle()
 * again).  At stop it resumes every waiter: MHD must not be stopped with
 * suspended connections. */
static void *builder_main(void *arg) {
  struct wd_http *h = arg;
  rcu_register_thread(); /* the builds walk the cds_lfht */
  pthread_mutex_lock(&h->mu);
  for (;;) {
    while (!h->want && !h->quit)
      pthread_cond_wait(&h->cv, &h->mu);
    int stopping = h->quit;
    for (int i = 0; i < R__N; i++) {
      if (!(h->want & (1u << i)) && !stopping)
        continue;
      h->want &= ~(1u << i);
      if (!stopping && !fresh(&h->cache[i], wd_mono_ns())) {
        pthread_mutex_unlock(&h->mu);
        rebuild(h, (enum route)i);
        pthread_mutex_lock(&h->mu);
      }
      struct waiter *w = h->cache[i].waiting;
      h->cache[i].waiting = NULL;
      while (w) {
        struct waiter *next = w->next;
        MHD_resume_connection(w->c);
        free(w);
        w = next;
      }
    }
    if (stopping) {
      h->builder_gone = 1;
      break;
    }
  }
  pthread_mutex_unlock(&h->mu);
  rcu_unregister_thread();
  return NULL;
}

/* Answers a cached path: the current answer when fresh; else suspends the
 * request until the builder has a new one (once: a request resumed after
 * a failed build gets the older answer, or 500). */
static enum MHD_Result answer_cached(struct wd_http *h,
                                     struct MHD_Connection *c, enum route route,
                                     void **state) {
  static int resumed; /* its address marks a resumed request */
  pthread_mutex_lock(&h->mu);
  struct cached *k = &h->cache[route];
  if (!fresh(k, wd_mono_ns()) && *state != &resumed && !h->builder_gone) {
    struct waiter *w = malloc(sizeof *w);
    if (w) {
      w->c = c;
      w->next = k->waiting;
      k->waiting = w;
      h->want |= 1u << route;
      *state = &resumed;
      MHD_suspend_connection(c);
      pthread_cond_signal(&h->cv);
      pthread_mutex_unlock(&h->mu);
      return MHD_YES;
    }
  }
  enum MHD_Result ret =
      k->r ? MHD_queue_response(c, k->status, k->r) /* MHD takes a ref */
           : MHD_NO;
  int have = k->r != NULL;
  pthread_mutex_unlock(&h->mu);
  if (!have)
    return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
  return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_len, void **state) {
  (void)version, (void)upload, (void)upload_len;
  struct wd_http *h = cls;
  struct conn *k = conn_of(c);
  if (k)
    k->busy = 1;
  static const char *const paths[R__N] = {[R_STARTUP] = "/health/startup",
                                          [R_WARMUP] = "/health/warmup",
                                          [R_METRICS] = "/metrics",
                                          [R_HTML] = "/",
                                          [R_JSON] = "/status.json"};
  int route = -1;
  for (int i = 0; i < R__N && route < 0; i++)
    if (strcmp(url, paths[i]) == 0)
      route = i;
  if (route < 0)
    return text(c, MHD_HTTP_NOT_FOUND,
                "not found: try /, /status.json, /health/startup, "
                "/health/warmup or /metrics\n");
  /* MHD leaves the body out of HEAD replies itself. */
  if (strcmp(method, MHD_HTTP_METHOD_GET) &&
      strcmp(method, MHD_HTTP_METHOD_HEAD))
    return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
  if (route == R_STARTUP)
    return atomic_load(&h->d->running)
               ? text(c, MHD_HTTP_OK, "started\n")
               : text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n");
  return answer_cached(h, c, (enum route)route, state);
}

static void *serve(void *arg) {
  struct wd_http *h = arg;
  rcu_register_thread();
  while (!atomic_load(&h->stop)) {
    if (MHD_run_wait(h->mhd, HTTP_POLL_MS) == MHD_NO)
      break; /* MHD cannot go on; health checks will notice */
    evict(h);
  }
  MHD_run(h->mhd); /* serves what the builder resumed as it stopped */
  rcu_unregister_thread();
  return NULL;
}

/* "host:port" or "[v6]:port" -> a bound, listening socket, or -1 with err. */
static int listen_on(const char *listen_at, int *ipv6, char *err,
                     size_t errlen) {
  char host[256];
  const char *orig = listen_at;
  const char *colon = strrchr(listen_at, ':');
  size_t hl = colon ? (size_t)(colon - listen_at) : 0;
  if (hl >= 2 && listen_at[0] == '[' && listen_at[hl - 1] == ']')
    listen_at++, hl -= 2; /* brackets off */
  if (!colon || !hl || hl >= sizeof host) {
    snprintf(err, errlen, "http_listen %s: not host:port", orig);
    return -1;
  }
  memcpy(host, listen_at, hl);
  host[hl] = 0;
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_NUMERICSERV};
  struct addrinfo *ai;
  int g = getaddrinfo(host, colon + 1, &hints, &ai);
  if (g != 0) {
    snprintf(err, errlen, "http_listen %s: %s", orig, gai_strerror(g));
    return -1;
  }
  /* Only the first address: "localhost" must not also open the other
   * family's wildcard or a second address nobody configured. */
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  *ipv6 = ai->ai_family == AF_INET6;
  if (fd < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      (*ipv6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one)) ||
      bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
    snprintf(err, errlen, "http_listen %s: cannot listen: %s", orig,
             strerror(errno));
    if (fd >= 0)
      close(fd);
    fd = -1;
  }
  freeaddrinfo(ai);
  return fd;
}

/* The builder first (it resumes every waiting request), then the serving
 * thread (its last MHD_run answers them): MHD must not be stopped with
 * suspended connections. */
static void stop_builder(struct wd_http *h) {
  pthread_mutex_lock(&h->mu);
  h->quit = 1;
  pthread_cond_signal(&h->cv);
  pthread_mutex_unlock(&h->mu);
  pthread_join(h->builder, NULL);
}

int wd_http_start(struct wd_http **out, struct wd_daemon *d,
                  const char *listen_at, char *err, size_t errlen) {
  *out = NULL;
  int ipv6 = 0;
  int fd = listen_on(listen_at, &ipv6, err, errlen);
  if (fd < 0)
    return -1;
  struct wd_http *h = calloc(1, sizeof *h);
  if (!h) {
    close(fd);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  h->d = d;
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->cv, NULL);
  /* No MHD_USE_INTERNAL_POLLING_THREAD: serve() polls.  MHD closes fd in
   * MHD_stop_daemon.  No per-address limit: see the top of the file.
   * Suspend/resume: the builder thread resumes requests (an ITC wakes
   * serve()'s wait). */
  h->mhd = MHD_start_daemon(
      MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | (ipv6 ? MHD_USE_IPv6 : 0), 0,
      NULL, NULL, handle, h, MHD_OPTION_LISTEN_SOCKET, fd,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
  if (!h->mhd) {
    close(fd);
    free(h);
    snprintf(err, errlen, "http_listen %s: libmicrohttpd did not start",
             listen_at);
    return -1;
  }
  int rc = pthread_create(&h->builder, NULL, builder_main, h);
  if (rc == 0 && (rc = pthread_create(&h->thread, NULL, serve, h)) != 0) {
    stop_builder(h);
  }
  if (rc != 0) {
    MHD_stop_daemon(h->mhd);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
    snprintf(err, errlen, "cannot start the HTTP threads: %s", strerror(rc));
    return -1;
  }
  LOG(LOG_INFO, "health and metrics on http://%s/", listen_at);
  *out = h;
  return 0;
}

void wd_http_stop(struct wd_http *h) {
  if (!h)
    return;
  stop_builder(h);
  atomic_store(&h->stop, 1);
  pthread_join(h->thread, NULL);
  for (int i = 0; i < R__N; i++)
    if (h->cache[i].r) /* connections still holding it free it at stop */
      MHD_destroy_response(h->cache[i].r);
  MHD_stop_daemon(h->mhd);
  if (h->evicted)
    LOG(LOG_INFO, "http: %llu slow or idle connections closed early",
        (unsigned long long)h->evicted);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->cv);
  free(h);
}
