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
 * polling mode in a thread of ours: that thread is registered with liburcu
 * for its whole life, which MHD's own threads could not be.  Requests are
 * answered from memory in microseconds, so one thread serves them all; a
 * connection limit and a timeout keep slow or idle clients from piling up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
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

#define HTTP_MAX_CONNECTIONS 64
#define HTTP_MAX_PER_IP 16
#define HTTP_TIMEOUT_S 10
/* How soon the thread notices a stop request when nothing happens. */
#define HTTP_POLL_MS 100

struct wd_http {
  struct MHD_Daemon *mhd;
  struct wd_daemon *d;
  pthread_t thread;
  _Atomic int stop;
};

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
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status,
                            const char *s) {
  return reply(c, status, "text/plain; charset=utf-8", (char *)s, strlen(s), 0);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_len, void **state) {
  (void)version, (void)upload, (void)upload_len, (void)state;
  struct wd_http *h = cls;
  static const char *const paths[] = {"/health/startup", "/health/warmup",
                                      "/metrics", "/", "/status.json"};
  int route = -1;
  for (int i = 0; i < 5 && route < 0; i++)
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
  if (route == 0)
    return atomic_load(&h->d->running)
               ? text(c, MHD_HTTP_OK, "started\n")
               : text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n");
  if (route == 1) {
    char *json;
    int ready = wd_health_warmup(h->d, &json);
    if (!json)
      return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    size_t n = strlen(json);
    json[n] = '\n'; /* json_dumps' NUL becomes the line end */
    return reply(c, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                 "application/json", json, n + 1, 1);
  }
  if (route == 4) {
    char *json = wd_status_json(h->d);
    if (!json)
      return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    size_t n = strlen(json);
    json[n] = '\n'; /* json_dumps' NUL becomes the line end */
    return reply(c, MHD_HTTP_OK, "application/json", json, n + 1, 1);
  }
  struct wd_buf b = {0};
  if (route == 3)
    wd_status_html(h->d, &b);
  else
    wd_metrics(h->d, &b);
  if (b.oom) {
    free(b.p);
    return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
  }
  return reply(c, MHD_HTTP_OK,
               route == 3 ? "text/html; charset=utf-8"
                          : "text/plain; version=0.0.4; charset=utf-8",
               b.p ? b.p : strdup(""), b.len, 1);
}

static void *serve(void *arg) {
  struct wd_http *h = arg;
  rcu_register_thread();
  while (!atomic_load(&h->stop))
    if (MHD_run_wait(h->mhd, HTTP_POLL_MS) == MHD_NO)
      break; /* MHD cannot go on; health checks will notice */
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
  /* No MHD_USE_INTERNAL_POLLING_THREAD: serve() polls.  MHD closes fd in
   * MHD_stop_daemon. */
  h->mhd = MHD_start_daemon(
      MHD_USE_AUTO | (ipv6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, handle, h,
      MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned)HTTP_MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      (unsigned)HTTP_MAX_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      (size_t)32 * 1024, MHD_OPTION_END);
  if (!h->mhd) {
    close(fd);
    free(h);
    snprintf(err, errlen, "http_listen %s: libmicrohttpd did not start",
             listen_at);
    return -1;
  }
  int rc = pthread_create(&h->thread, NULL, serve, h);
  if (rc != 0) {
    MHD_stop_daemon(h->mhd);
    free(h);
    snprintf(err, errlen, "cannot start the HTTP thread: %s", strerror(rc));
    return -1;
  }
  LOG(LOG_INFO, "health and metrics on http://%s/", listen_at);
  *out = h;
  return 0;
}

void wd_http_stop(struct wd_http *h) {
  if (!h)
    return;
  atomic_store(&h->stop, 1);
  pthread_join(h->thread, NULL);
  MHD_stop_daemon(h->mhd);
  free(h);
}
