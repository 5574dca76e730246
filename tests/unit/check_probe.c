/* check_probe.c - the prober against a tiny HTTP server in a thread.
 *
 * The server (127.0.0.1, an ephemeral port) reads whole requests, records
 * the last one, and answers according to the model id in the body (or the
 * path, for GET /models).  It keeps connections alive unless a scenario
 * says otherwise, and counts accepts so that connection reuse can be seen.
 * It runs in the test's own (forked) process: started by the fixture's
 * setup, stopped and joined by its teardown; if a test dies, its process
 * takes the thread and the sockets with it.
 */
#define _GNU_SOURCE /* strcasestr */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "provider.h"
#include "reply.h"
#include "warmd.h"
#include "warmth.h"

/* Check (0.15) records a forked test as passed even when its child then
 * exits non-zero (LeakSanitizer at exit) or fails in a checked teardown; so
 * each test checks for leaks as its last statement, where a failure counts. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WD_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(WD_ASAN)
#include <sanitizer/lsan_interface.h>
#define LEAK_CHECK()                                                           \
  ck_assert_msg(__lsan_do_recoverable_leak_check() == 0,                       \
                "leak: see the LeakSanitizer report above")
#else
#define LEAK_CHECK() ((void)0)
#endif

#define KEY "sk-test-SECRET-0123456789"
#define MAXC 16
#define REQ_MAX 65536

/* ---- the server --------------------------------------------------------- */

struct conn {
  int fd;
  size_t len;
  int hung; /* scenario "hang": read and discard, never answer */
  char buf[REQ_MAX + 1];
};

static struct srv {
  int lfd, stop[2], port;
  atomic_int sleeping; /* GET /is_sleeping answers this */
  pthread_t th;
  atomic_int accepts, requests, open_conns, max_open;
  pthread_mutex_t mu;
  char last[REQ_MAX + 1]; /* the last request, headers and body */
  struct conn c[MAXC];
} S;

static char base_url[64];

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * WD_NS_PER_S + ts.tv_nsec;
}

static void send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0)
      return; /* the client went away (e.g. it aborted a big body) */
    p += w;
    n -= (size_t)w;
  }
}

static void reply(int fd, const char *status, const char *extra,
                  const char *body) {
  char head[1024];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n%s\r\n",
                   status, strlen(body), extra ? extra : "");
  send_all(fd, head, (size_t)n);
  send_all(fd, body, strlen(body));
}

static void close_conn(struct conn *c, int rst) {
  if (rst) { /* SO_LINGER 0: close() sends a RST */
    struct linger l = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  close(c->fd);
  c->fd = -1;
  c->len = 0;
  c->hung = 0;
  atomic_fetch_sub(&S.open_conns, 1);
}

/* The value after `name` in a request (up to the quote or end of line). */
static void field(const char *req, const char *name, char *out, size_t n) {
  const char *p = strcasestr(req, name);
  size_t i = 0;
  out[0] = '\0';
  if (!p)
    return;
  for (p += strlen(name); *p && *p != '"' && *p != '\r' && i + 1 < n; p++)
    out[i++] = *p;
  out[i] = '\0';
}

enum after { KEEP, CLOSE, RST, HANG };

/* Azure and Gemini name the model in the path, not the body. */
static void path_model(const char *req, char *out, size_t n) {
  const char *p, *end = strstr(req, " HTTP/");
  size_t i = 0;
  if ((p = strstr(req, "/deployments/")) && p < end)
    p += strlen("/deployments/");
  else if ((p = strstr(req, "/models/")) && p < end)
    p += strlen("/models/");
  else
    return;
  for (; p < end && *p != '/' && *p != ':' && *p != '?' && i + 1 < n; p++)
    out[i++] = *p;
  out[i] = '\0';
}

/* Replies that need nothing of the request. */
static const struct {
  const char *model, *status, *body;
} canned[] = {
    {"az-ok", "200 OK", /* OpenAI-shaped, with reasoning */
     "{\"choices\":[],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":"
     "40,\"completion_tokens_details\":{\"reasoning_tokens\":32}}}"},
    {"gem-ok", "200 OK",
     "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]}}],"
     "\"usageMetadata\":{\"promptTokenCount\":30,\"candidatesTokenCount\":2,"
     "\"thoughtsTokenCount\":16,\"cachedContentTokenCount\":24}}"},
    {"gone", "404 Not Found",
     "{\"error\":{\"message\":\"The model `gone` does not exist\",\"type\":"
     "\"invalid_request_error\",\"code\":\"model_not_found\"}}"},
    {"huge", "200 OK", /* a relay that bills absurd usage */
     "{\"choices\":[],\"usage\":{\"prompt_tokens\":1e30,"
     "\"completion_tokens\":1}}"},
};

static enum after answer(int fd, const char *req) {
  char model[64], key[128], body[512], extra[512];

  if (strncmp(req, "GET /is_sleeping ", 17) == 0) {
    reply(fd, "200 OK", NULL,
          atomic_load(&S.sleeping) ? "{\"is_sleeping\":true}"
                                   : "{\"is_sleeping\":false}");
    return KEEP;
  }
  field(req, "\"model\":\"", model, sizeof model);
  if (!model[0])
    path_model(req, model, sizeof model);
  for (size_t i = 0; i < sizeof canned / sizeof canned[0]; i++)
    if (!strcmp(model, canned[i].model)) {
      reply(fd, canned[i].status, NULL, canned[i].body);
      return KEEP;
    }
  if (!strcmp(model, "echo-hdr")) { /* echoes a gateway's header back */
    field(req, "X-Gateway-Token: ", key, sizeof key);
    snprintf(body, sizeof body,
             "{\"error\":{\"message\":\"bad gateway token %s\"}}", key);
    reply(fd, "400 Bad Request", NULL, body);
    return KEEP;
  }
  if (strncmp(req, "GET ", 4) == 0 && strstr(req, "/models")) {
    reply(fd, "200 OK", NULL,
          "{\"object\":\"list\",\"data\":[{\"id\":\"m-one\"},{\"id\":\"m-two\"}"
          "]}");
    return KEEP;
  }
  if (!strcmp(model, "ok") || !strcmp(model, "close")) {
    reply(fd, "200 OK",
          !strcmp(model, "close") ? "Connection: close\r\n"
                                  : "x-ratelimit-limit-requests: 500\r\n"
                                    "x-ratelimit-remaining-requests: 499\r\n"
                                    "x-ratelimit-limit-tokens: 30000\r\n"
                                    "x-ratelimit-remaining-tokens: 29990\r\n"
                                    "x-ratelimit-reset-requests: 120ms\r\n"
                                    "x-ratelimit-reset-tokens: 1m0s\r\n",
          "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{"
          "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
          "\"Hi\"}}],\"usage\":{\"prompt_tokens\":1200,\"completion_tokens\":"
          "3,\"prompt_tokens_details\":{\"cached_tokens\":1024}}}");
    return strcmp(model, "close") ? KEEP : CLOSE;
  }
  if (!strcmp(model, "anth-ok")) {
    time_t t = time(NULL) + 10;
    struct tm tm;
    char ts[32];
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(extra, sizeof extra,
             "anthropic-ratelimit-requests-limit: 50\r\n"
             "anthropic-ratelimit-requests-remaining: 49\r\n"
             "anthropic-ratelimit-requests-reset: %s\r\n"
             "anthropic-ratelimit-tokens-limit: 80000\r\n"
             "anthropic-ratelimit-tokens-remaining: 79000\r\n",
             ts);
    reply(fd, "200 OK", extra,
          "{\"id\":\"msg_1\",\"type\":\"message\",\"content\":[{\"type\":"
          "\"text\",\"text\":\"Hi\"}],\"usage\":{\"input_tokens\":5,"
          "\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":"
          "2000,\"output_tokens\":2}}");
    return KEEP;
  }
  if (!strcmp(model, "rate")) {
    reply(fd, "429 Too Many Requests", "Retry-After: 3\r\n",
          "{\"error\":{\"message\":\"Rate limit reached\",\"type\":"
          "\"requests\"}}");
    return KEEP;
  }
  if (!strcmp(model, "auth")) {
    /* Echo the key back, as a careless relay might: the prober must not
     * let it into the error text. */
    field(req, "Authorization: Bearer ", key, sizeof key);
    if (!key[0])
      field(req, "x-api-key: ", key, sizeof key);
    snprintf(body, sizeof body,
             "{\"error\":{\"message\":\"Incorrect API key provided: %s.\"}}",
             key);
    reply(fd, "401 Unauthorized", NULL, body);
    return KEEP;
  }
  if (!strcmp(model, "server")) {
    reply(fd, "503 Service Unavailable", NULL,
          "{\"error\":{\"message\":\"overloaded\"}}");
    return KEEP;
  }
  if (!strcmp(model, "badjson")) {
    reply(fd, "200 OK", NULL, "{\"choices\": [ oops");
    return KEEP;
  }
  if (!strcmp(model, "big")) {
    size_t n = 100 * 1024;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    reply(fd, "200 OK", NULL, big);
    free(big);
    return CLOSE;
  }
  if (!strcmp(model, "bighdr")) {
    char line[128];
    static const char h[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n";
    send_all(fd, h, sizeof h - 1);
    for (int i = 0; i < 1000; i++) { /* 1000 x 80 bytes > 64 KiB */
      int n = snprintf(line, sizeof line, "x-filler-%04d: %066d\r\n", i, 0);
      send_all(fd, line, (size_t)n);
    }
    send_all(fd, "\r\n{}", 4);
    return CLOSE;
  }
  if (!strcmp(model, "cut")) { /* a 200 that dies in the middle of its body */
    static const char h[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
                            "{\"usage\":";
    send_all(fd, h, sizeof h - 1);
    usleep(50000);
    return RST;
  }
  if (!strcmp(model, "reset"))
    return RST;
  if (!strcmp(model, "hang"))
    return HANG;
  reply(fd, "404 Not Found", NULL, "{\"error\":{\"message\":\"no model\"}}");
  return KEEP;
}

/* Handles every complete request in c->buf. */
static void serve(struct conn *c) {
  for (;;) {
    char *end, *cl;
    size_t hlen, blen = 0;
    enum after a;

    c->buf[c->len] = '\0';
    if (c->hung || !(end = strstr(c->buf, "\r\n\r\n")))
      return;
    hlen = (size_t)(end - c->buf) + 4;
    *end = '\0'; /* look for Content-Length in the headers only */
    if ((cl = strcasestr(c->buf, "\r\nContent-Length:")))
      blen = strtoul(cl + 17, NULL, 10);
    *end = '\r';
    if (c->len < hlen + blen)
      return;
    pthread_mutex_lock(&S.mu);
    memcpy(S.last, c->buf, hlen + blen);
    S.last[hlen + blen] = '\0';
    pthread_mutex_unlock(&S.mu);
    atomic_fetch_add(&S.requests, 1);
    a = answer(c->fd, S.last);
    if (a == CLOSE || a == RST) {
      close_conn(c, a == RST);
      return;
    }
    if (a == HANG) {
      c->hung = 1;
      return;
    }
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
  }
}

static void *srv_main(void *arg) {
  (void)arg;
  for (;;) {
    struct pollfd pf[2 + MAXC];
    int map[2 + MAXC], n = 2;

    pf[0] = (struct pollfd){.fd = S.stop[0], .events = POLLIN};
    pf[1] = (struct pollfd){.fd = S.lfd, .events = POLLIN};
    for (int i = 0; i < MAXC; i++)
      if (S.c[i].fd >= 0) {
        map[n] = i;
        pf[n++] = (struct pollfd){.fd = S.c[i].fd, .events = POLLIN};
      }
    if (poll(pf, (nfds_t)n, 1000) < 0 && errno != EINTR)
      break;
    if (pf[0].revents)
      break;
    if (pf[1].revents & POLLIN) {
      int fd = accept(S.lfd, NULL, NULL), i;
      struct timeval tv = {2, 0};
      if (fd >= 0) {
        int open;
        atomic_fetch_add(&S.accepts, 1);
        open = atomic_fetch_add(&S.open_conns, 1) + 1;
        if (open > atomic_load(&S.max_open))
          atomic_store(&S.max_open, open);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        for (i = 0; i < MAXC && S.c[i].fd >= 0; i++)
          ;
        if (i < MAXC)
          S.c[i].fd = fd;
        else
          close(fd);
      }
    }
    for (int k = 2; k < n; k++) {
      struct conn *c = &S.c[map[k]];
      ssize_t r;
      if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)) || c->fd < 0)
        continue;
      r = recv(c->fd, c->buf + c->len, REQ_MAX - c->len, 0);
      if (r <= 0) {
        close_conn(c, 0);
        continue;
      }
      c->len += (size_t)r;
      if (c->hung)
        c->len = 0;
      serve(c);
      if (c->fd >= 0 && c->len >= REQ_MAX)
        close_conn(c, 0);
    }
  }
  for (int i = 0; i < MAXC; i++)
    if (S.c[i].fd >= 0)
      close_conn(&S.c[i], 0);
  return NULL;
}

static void srv_start(void) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t al = sizeof a;
  int one = 1;

  memset(&S, 0, sizeof S);
  for (int i = 0; i < MAXC; i++)
    S.c[i].fd = -1;
  pthread_mutex_init(&S.mu, NULL);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_ge(S.lfd = socket(AF_INET, SOCK_STREAM, 0), 0);
  setsockopt(S.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ck_assert_int_eq(bind(S.lfd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(S.lfd, 16), 0);
  ck_assert_int_eq(getsockname(S.lfd, (struct sockaddr *)&a, &al), 0);
  S.port = ntohs(a.sin_port);
  ck_assert_int_eq(pipe(S.stop), 0);
  ck_assert_int_eq(pthread_create(&S.th, NULL, srv_main, NULL), 0);
  snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d/v1", S.port);
}

static void srv_stop(void) {
  ck_assert_int_eq(write(S.stop[1], "x", 1), 1);
  pthread_join(S.th, NULL);
  close(S.stop[0]);
  close(S.stop[1]);
  close(S.lfd);
  pthread_mutex_destroy(&S.mu);
}

static void last_request(char *out, size_t n) {
  pthread_mutex_lock(&S.mu);
  snprintf(out, n, "%s", S.last);
  pthread_mutex_unlock(&S.mu);
}

/* ---- helpers ------------------------------------------------------------ */

struct got {
  int n;
  struct wd_probe_result r[8];
};

static void on_done(const struct wd_probe_result *r, void *arg) {
  struct got *g = arg;
  /* whatever the outcome, the key never reaches the error text */
  ck_assert_ptr_null(strstr(r->error, KEY));
  ck_assert_ptr_null(strstr(r->error, "SECRET"));
  if (g->n < 8)
    g->r[g->n] = *r;
  g->n++;
}

/* Runs p until `want` results arrived, for at most max_ms. */
static void run_for(struct wd_prober *p, struct got *g, int want, int max_ms) {
  int64_t end = now_ns() + max_ms * WD_NS_PER_MS;
  while (g->n < want && now_ns() < end)
    ck_assert_int_ge(wd_prober_run(p, 50, on_done, g), 0);
  ck_assert_int_eq(g->n, want);
}

static struct wd_endpoint endpoint(int kind) {
  struct wd_endpoint ep;
  memset(&ep, 0, sizeof ep);
  ep.name = "test";
  ep.kind = kind;
  ep.base_url = base_url;
  ep.timeout_ns = 2 * WD_NS_PER_S;
  return ep;
}

static struct wd_model model(const char *id) {
  struct wd_model m;
  memset(&m, 0, sizeof m);
  m.name = (char *)id;
  m.id = (char *)id;
  m.max_tokens = 3;
  return m;
}

static struct wd_probe_result probe1(const struct wd_model *m,
                                     const struct wd_endpoint *ep,
                                     const char *key) {
  struct wd_prober *p;
  struct got g = {0};
  struct wd_probe_req req = {.model = 7, .m = m, .ep = ep, .api_key = key};

  ck_assert_int_eq(wd_prober_new(&p, 4), 0);
  ck_assert_int_eq(wd_prober_submit(p, &req), 0);
  ck_assert_int_eq(wd_prober_inflight(p), 1);
  run_for(p, &g, 1, 4000);
  ck_assert_int_eq(wd_prober_inflight(p), 0);
  wd_prober_free(p);
  ck_assert_uint_eq(g.r[0].model, 7);
  return g.r[0];
}

/* ---- core --------------------------------------------------------------- */

START_TEST(success_openai) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("ok");
  struct wd_probe_result r;
  char req[REQ_MAX + 1], *body;
  json_t *j;

  m.prefix = "You are terse.";
  m.max_tokens_param = WD_MAX_COMPLETION_TOKENS;
  r = probe1(&m, &ep, KEY);
  ck_assert_msg(r.ok, "not ok: %s", r.error);
  ck_assert_int_eq(r.http_status, 200);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_NONE);
  ck_assert_str_eq(r.error, "");
  ck_assert_uint_eq(r.tokens_in, 1200);
  ck_assert_uint_eq(r.tokens_out, 3);
  ck_assert_uint_eq(r.tokens_cached, 1024);
  ck_assert_int_eq(r.limit_requests, 500);
  ck_assert_int_eq(r.headroom_requests, 499);
  ck_assert_int_eq(r.limit_tokens, 30000);
  ck_assert_int_eq(r.headroom_tokens, 29990);
  ck_assert_int_eq(r.reset_requests_ns, 120 * WD_NS_PER_MS);
  ck_assert_int_eq(r.reset_tokens_ns, 60 * WD_NS_PER_S);
  ck_assert_int_eq(r.retry_after_ns, -1);
  /* timings: all there and consistent */
  ck_assert_int_gt(r.started_ns, 0);
  ck_assert_int_gt(r.ended_ns, r.started_ns);
  ck_assert_uint_gt(r.total_us, 0);
  ck_assert_uint_gt(r.ttfb_us, 0);
  ck_assert_uint_le(r.ttfb_us, r.total_us);
  ck_assert_uint_le(r.dns_us + r.connect_us, r.ttfb_us);
  ck_assert_uint_eq(r.tls_us, 0); /* plain http */
  ck_assert_int_le((int64_t)r.total_us * 1000, r.ended_ns - r.started_ns);

  last_request(req, sizeof req);
  ck_assert_ptr_nonnull(strstr(req, "POST /v1/chat/completions HTTP/1.1\r\n"));
  ck_assert_ptr_nonnull(strstr(req, "\r\nAuthorization: Bearer " KEY "\r\n"));
  ck_assert_ptr_nonnull(strstr(req, "\r\nUser-Agent: warmd/" PACKAGE_VERSION));
  ck_assert_ptr_nonnull(
      strcasestr(req, "\r\nContent-Type: application/json\r\n"));
  ck_assert_ptr_null(strcasestr(req, "x-api-key"));
  ck_assert_ptr_null(strcasestr(req, "Expect:"));
  body = strstr(req, "\r\n\r\n") + 4;
  j = json_loads(body, 0, NULL);
  ck_assert_ptr_nonnull(j);
  ck_assert_str_eq(json_string_value(json_object_get(j, "model")), "ok");
  ck_assert_int_eq(
      json_integer_value(json_object_get(j, "max_completion_tokens")), 3);
  ck_assert_int_eq(json_array_size(json_object_get(j, "messages")), 2);
  ck_assert_str_eq(
      json_string_value(json_object_get(
          json_array_get(json_object_get(j, "messages"), 0), "content")),
      "You are terse.");
  json_decref(j);
  LEAK_CHECK();
}
END_TEST

START_TEST(success_anthropic) {
  struct wd_endpoint ep = endpoint(WD_KIND_ANTHROPIC);
  struct wd_model m = model("anth-ok");
  struct wd_probe_result r;
  char req[REQ_MAX + 1];
  json_t *j, *sys;

  m.prefix = "cached prefix";
  r = probe1(&m, &ep, KEY);
  ck_assert_msg(r.ok, "not ok: %s", r.error);
  ck_assert_uint_eq(r.tokens_in, 2105);
  ck_assert_uint_eq(r.tokens_cached, 2000);
  ck_assert_uint_eq(r.tokens_out, 2);
  ck_assert_int_eq(r.limit_requests, 50);
  ck_assert_int_eq(r.headroom_requests, 49);
  ck_assert_int_eq(r.limit_tokens, 80000);
  ck_assert_int_eq(r.headroom_tokens, 79000);
  ck_assert_int_ge(r.reset_requests_ns, 8 * WD_NS_PER_S);
  ck_assert_int_le(r.reset_requests_ns, 10 * WD_NS_PER_S);
  ck_assert_int_eq(r.reset_tokens_ns, -1);

  last_request(req, sizeof req);
  ck_assert_ptr_nonnull(strstr(req, "POST /v1/messages HTTP/1.1\r\n"));
  ck_assert_ptr_nonnull(strstr(req, "\r\nx-api-key: " KEY "\r\n"));
  ck_assert_ptr_nonnull(strstr(req, "\r\nanthropic-version: 2023-06-01\r\n"));
  ck_assert_ptr_nonnull(
      strcasestr(req, "\r\ncontent-type: application/json\r\n"));
  ck_assert_ptr_null(strcasestr(req, "Authorization"));
  j = json_loads(strstr(req, "\r\n\r\n") + 4, 0, NULL);
  ck_assert_ptr_nonnull(j);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "max_tokens")), 3);
  sys = json_array_get(json_object_get(j, "system"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(sys, "text")),
                   "cached prefix");
  json_decref(j);

  /* a configured version replaces the default */
  ep.anthropic_version = "2099-01-01";
  r = probe1(&m, &ep, KEY);
  ck_assert(r.ok);
  last_request(req, sizeof req);
  ck_assert_ptr_nonnull(strstr(req, "\r\nanthropic-version: 2099-01-01\r\n"));
  LEAK_CHECK();
}
END_TEST

START_TEST(models_probe_and_list) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("whatever");
  struct wd_probe_result r;
  char req[REQ_MAX + 1], err[160] = "", **ids = NULL;
  int status = 0, n = 0;

  m.probe = WD_PROBE_MODELS;
  r = probe1(&m, &ep, NULL);
  ck_assert_msg(r.ok, "not ok: %s", r.error);
  ck_assert_uint_eq(r.tokens_in + r.tokens_out, 0);
  /* the id is checked against the list: not there, the closest named */
  ck_assert_int_eq(r.listed, 0);
  ck_assert_str_eq(r.error, "model id whatever is not listed (closest: "
                            "m-one, m-two)");
  m.id = "m-two";
  r = probe1(&m, &ep, NULL);
  ck_assert_int_eq(r.listed, 1);
  ck_assert_str_eq(r.error, "");
  last_request(req, sizeof req);
  ck_assert_ptr_nonnull(strstr(req, "GET /v1/models HTTP/1.1\r\n"));
  ck_assert_ptr_null(strcasestr(req, "Authorization")); /* no key: none */
  ck_assert_ptr_null(strcasestr(req, "Content-Length"));

  ck_assert_int_eq(wd_list_models(&ep, KEY, &status, &ids, &n, err, sizeof err),
                   0);
  ck_assert_int_eq(status, 200);
  ck_assert_int_eq(n, 2);
  ck_assert_str_eq(ids[0], "m-one");
  ck_assert_str_eq(ids[1], "m-two");
  wd_model_ids_free(ids, n);
  last_request(req, sizeof req);
  ck_assert_ptr_nonnull(strstr(req, "\r\nAuthorization: Bearer " KEY "\r\n"));

  ep.kind = WD_KIND_ANTHROPIC;
  ck_assert_int_eq(wd_list_models(&ep, KEY, &status, &ids, &n, err, sizeof err),
                   0);
  wd_model_ids_free(ids, n);
  last_request(req, sizeof req);
  ck_assert_ptr_nonnull(strstr(req, "GET /v1/models?limit=1000 HTTP/1.1"));
  ck_assert_ptr_nonnull(strstr(req, "\r\nx-api-key: " KEY "\r\n"));
  LEAK_CHECK();
}
END_TEST

START_TEST(rate_limited) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("rate");
  struct wd_probe_result r = probe1(&m, &ep, KEY);

  ck_assert(!r.ok);
  ck_assert_int_eq(r.http_status, 429);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_RATE);
  ck_assert_int_eq(r.retry_after_ns, 3 * WD_NS_PER_S);
  ck_assert_str_eq(r.error, "HTTP 429: Rate limit reached");
  LEAK_CHECK();
}
END_TEST

START_TEST(auth_and_key_redacted) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("auth");
  struct wd_probe_result r = probe1(&m, &ep, KEY);

  ck_assert_int_eq(r.http_status, 401);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_AUTH);
  /* the server echoed the key; what is left is the message around it */
  ck_assert_str_eq(r.error, "HTTP 401: Incorrect API key provided: ***.");

  ep.kind = WD_KIND_ANTHROPIC;
  r = probe1(&m, &ep, KEY);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_AUTH);
  ck_assert_str_eq(r.error, "HTTP 401: Incorrect API key provided: ***.");
  LEAK_CHECK();
}
END_TEST

START_TEST(server_error) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("server");
  struct wd_probe_result r = probe1(&m, &ep, KEY);

  ck_assert_int_eq(r.http_status, 503);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_SERVER);
  ck_assert_str_eq(r.error, "HTTP 503: overloaded");
  ck_assert_int_eq(r.retry_after_ns, -1);

  m = model("nosuchmodel");
  r = probe1(&m, &ep, KEY);
  ck_assert_int_eq(r.http_status, 404);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_HTTP);
  LEAK_CHECK();
}
END_TEST

START_TEST(invalid_json) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("badjson");
  struct wd_probe_result r = probe1(&m, &ep, KEY);

  ck_assert(!r.ok);
  ck_assert_int_eq(r.http_status, 200);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_BODY);
  ck_assert_ptr_nonnull(strstr(r.error, "invalid JSON"));
  LEAK_CHECK();
}
END_TEST

START_TEST(connection_refused) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t al = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("ok");
  struct wd_probe_result r;
  char url[64];

  /* bound but not listening: a SYN to it is answered with a RST */
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", ntohs(a.sin_port));
  ep.base_url = url;
  r = probe1(&m, &ep, KEY);
  close(fd);
  ck_assert(!r.ok);
  ck_assert_int_eq(r.http_status, 0);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_CONNECT);
  ck_assert_msg(strstr(r.error, "onnect") != NULL, "error: %s", r.error);
  LEAK_CHECK();
}
END_TEST

START_TEST(reset_before_and_during_reply) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("reset");
  struct wd_probe_result r = probe1(&m, &ep, KEY);

  ck_assert_int_eq(r.http_status, 0);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_CONNECT);
  ck_assert_msg(r.error[0] != '\0', "no error text");

  m = model("cut");
  r = probe1(&m, &ep, KEY);
  ck_assert_int_eq(r.http_status, 200);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_BODY);
  ck_assert_ptr_nonnull(strstr(r.error, "reply cut short"));
  LEAK_CHECK();
}
END_TEST

START_TEST(timeout_in_bound) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("hang");
  struct wd_probe_result r;
  int64_t took;

  m.timeout_ns = 300 * WD_NS_PER_MS; /* the model's beats the endpoint's */
  r = probe1(&m, &ep, KEY);
  took = r.ended_ns - r.started_ns;
  ck_assert_int_eq(r.error_class, WARMTH_ERR_TIMEOUT);
  ck_assert_int_eq(r.http_status, 0);
  ck_assert_int_ge(took, 290 * WD_NS_PER_MS);
  ck_assert_int_le(took, 1500 * WD_NS_PER_MS);
  LEAK_CHECK();
}
END_TEST

START_TEST(connection_reused) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("ok"), mc = model("close");
  struct wd_probe_req req = {.m = &m, .ep = &ep, .api_key = KEY};
  struct wd_prober *p;
  struct got g = {0};

  ck_assert_int_eq(wd_prober_new(&p, 4), 0);
  for (int i = 0; i < 3; i++) { /* sequential: one keep-alive connection */
    ck_assert_int_eq(wd_prober_submit(p, &req), 0);
    run_for(p, &g, i + 1, 3000);
    ck_assert(g.r[i].ok);
  }
  ck_assert_int_eq(atomic_load(&S.requests), 3);
  ck_assert_int_eq(atomic_load(&S.accepts), 1);
  /* the second probe paid no connect */
  ck_assert_uint_eq(g.r[1].connect_us, 0);

  /* a server that closes after each reply costs a connection each */
  req.m = &mc;
  for (int i = 3; i < 5; i++) {
    ck_assert_int_eq(wd_prober_submit(p, &req), 0);
    run_for(p, &g, i + 1, 3000);
    ck_assert(g.r[i].ok);
  }
  ck_assert_int_eq(atomic_load(&S.accepts), 2);
  req.m = &m;
  ck_assert_int_eq(wd_prober_submit(p, &req), 0);
  run_for(p, &g, 6, 3000);
  ck_assert_int_eq(atomic_load(&S.accepts), 3);
  wd_prober_free(p);
  LEAK_CHECK();
}
END_TEST

START_TEST(max_concurrency) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("hang");
  struct wd_probe_req req = {.m = &m, .ep = &ep, .api_key = KEY};
  struct wd_prober *p;
  struct got g = {0};

  m.timeout_ns = 300 * WD_NS_PER_MS;
  ck_assert_int_eq(wd_prober_new(&p, 2), 0);
  ck_assert_int_eq(wd_prober_submit(p, &req), 0);
  ck_assert_int_eq(wd_prober_submit(p, &req), 0);
  ck_assert_int_eq(wd_prober_submit(p, &req), -1);
  ck_assert_int_eq(errno, EBUSY);
  ck_assert_int_eq(wd_prober_inflight(p), 2);
  run_for(p, &g, 2, 3000);
  ck_assert_int_eq(g.r[0].error_class, WARMTH_ERR_TIMEOUT);
  ck_assert_int_eq(g.r[1].error_class, WARMTH_ERR_TIMEOUT);
  ck_assert_int_eq(atomic_load(&S.max_open), 2); /* both at once, no more */
  ck_assert_int_eq(wd_prober_inflight(p), 0);
  /* room again */
  ck_assert_int_eq(wd_prober_submit(p, &req), 0);
  ck_assert_int_eq(wd_prober_inflight(p), 1);
  wd_prober_free(p); /* with one in flight: no leak, no done() */
  ck_assert_int_eq(g.n, 2);
  LEAK_CHECK();
}
END_TEST

static struct wd_prober *wake_p;
static void *waker(void *arg) {
  (void)arg;
  usleep(100000);
  wd_prober_wakeup(wake_p);
  return NULL;
}

START_TEST(wakeup_from_thread) {
  pthread_t th;
  int64_t t0, took;

  ck_assert_int_eq(wd_prober_new(&wake_p, 2), 0);
  /* without a wakeup, an idle run waits its timeout */
  t0 = now_ns();
  ck_assert_int_eq(wd_prober_run(wake_p, 200, on_done, NULL), 0);
  ck_assert_int_ge(now_ns() - t0, 150 * WD_NS_PER_MS);
  /* with one, it returns early */
  ck_assert_int_eq(pthread_create(&th, NULL, waker, NULL), 0);
  t0 = now_ns();
  ck_assert_int_eq(wd_prober_run(wake_p, 3000, on_done, NULL), 0);
  took = now_ns() - t0;
  pthread_join(th, NULL);
  ck_assert_int_ge(took, 50 * WD_NS_PER_MS);
  ck_assert_int_le(took, 1000 * WD_NS_PER_MS);
  /* a wakeup before the run is not lost */
  wd_prober_wakeup(wake_p);
  t0 = now_ns();
  ck_assert_int_eq(wd_prober_run(wake_p, 3000, on_done, NULL), 0);
  ck_assert_int_le(now_ns() - t0, 1000 * WD_NS_PER_MS);
  wd_prober_free(wake_p);
  LEAK_CHECK();
}
END_TEST

/* done() may submit the next probe: the scheduler's natural pattern. */
struct chain {
  struct got g;
  struct wd_prober *p;
  struct wd_probe_req req;
};
static void on_done_chain(const struct wd_probe_result *r, void *arg) {
  struct chain *c = arg;
  on_done(r, &c->g);
  if (c->g.n == 1) {
    ck_assert_int_eq(wd_prober_inflight(c->p), 0);
    ck_assert_int_eq(wd_prober_submit(c->p, &c->req), 0);
  }
}

START_TEST(done_may_submit) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("ok");
  struct chain c = {.req = {.model = 1, .m = &m, .ep = &ep, .api_key = KEY}};
  int64_t end = now_ns() + 3 * WD_NS_PER_S;

  ck_assert_int_eq(wd_prober_new(&c.p, 1), 0);
  ck_assert_int_eq(wd_prober_submit(c.p, &c.req), 0);
  while (c.g.n < 2 && now_ns() < end)
    ck_assert_int_ge(wd_prober_run(c.p, 50, on_done_chain, &c), 0);
  ck_assert_int_eq(c.g.n, 2);
  ck_assert(c.g.r[0].ok && c.g.r[1].ok);
  wd_prober_free(c.p);
  LEAK_CHECK();
}
END_TEST

/* ---- limits ------------------------------------------------------------- */

START_TEST(body_over_cap) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("big");
  struct wd_probe_result r = probe1(&m, &ep, KEY);

  ck_assert(!r.ok);
  ck_assert_int_eq(r.http_status, 200);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_BODY);
  ck_assert_str_eq(r.error, "reply body over 65536 bytes");
  LEAK_CHECK();
}
END_TEST

START_TEST(headers_over_cap) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("bighdr");
  struct wd_probe_result r = probe1(&m, &ep, KEY);

  ck_assert(!r.ok);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_BODY);
  ck_assert_str_eq(r.error, "reply headers over 65536 bytes");
  LEAK_CHECK();
}
END_TEST

START_TEST(bad_requests_refused) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("ok"), bad = model("ok");
  struct wd_probe_req req = {.m = &m, .ep = &ep, .api_key = "sk-a\r\nX: y"};
  struct wd_prober *p;
  struct got g = {0};

  ck_assert_int_eq(wd_prober_new(&p, 2), 0);
  /* a key that would inject a header line */
  ck_assert_int_eq(wd_prober_submit(p, &req), -2);
  ck_assert_int_eq(errno, EINVAL);
  /* a prefix that is not UTF-8 cannot become JSON */
  bad.prefix = "\xff\xfe";
  req.m = &bad;
  req.api_key = KEY;
  ck_assert_int_eq(wd_prober_submit(p, &req), -2);
  /* a scheme other than http(s) */
  ep.base_url = "file:///etc";
  req.m = &m;
  ck_assert_int_eq(wd_prober_submit(p, &req), 0);
  run_for(p, &g, 1, 2000);
  ck_assert_int_eq(g.r[0].error_class, WARMTH_ERR_CONNECT);
  ck_assert_int_eq(atomic_load(&S.requests), 0);
  ck_assert_int_eq(wd_prober_inflight(p), 0);
  req.ep = NULL;
  ck_assert_int_eq(wd_prober_submit(p, &req), -2);
  wd_prober_free(p);
  ck_assert_int_eq(wd_prober_new(&p, 0), -1);
  LEAK_CHECK();
}
END_TEST

START_TEST(free_with_many_inflight) {
  struct wd_endpoint ep = endpoint(WD_KIND_ANTHROPIC);
  struct wd_model m = model("hang");
  struct wd_probe_req req = {.m = &m, .ep = &ep, .api_key = KEY};
  struct wd_prober *p;
  struct got g = {0};
  int64_t end;

  ck_assert_int_eq(wd_prober_new(&p, 8), 0);
  for (int i = 0; i < 8; i++)
    ck_assert_int_eq(wd_prober_submit(p, &req), 0);
  end = now_ns() + 2 * WD_NS_PER_S;
  while (atomic_load(&S.requests) < 8 && now_ns() < end)
    ck_assert_int_ge(wd_prober_run(p, 20, on_done, &g), 0);
  ck_assert_int_eq(atomic_load(&S.requests), 8); /* all sent, none answered */
  ck_assert_int_eq(g.n, 0);
  wd_prober_free(p);
  LEAK_CHECK();
}
END_TEST

/* ---- one row per adapter: the request on the wire and what it gave ------ */

static const struct {
  int kind;
  const char *id, *api_version, *line, *auth, *not ;
  uint64_t in, out, cached, reasoning;
} wire[] = {
    {WD_KIND_AZURE, "az-ok", "2024-10-21",
     "POST /v1/deployments/az-ok/chat/completions?api-version=2024-10-21 "
     "HTTP/1.1\r\n",
     "\r\napi-key: " KEY "\r\n", "Authorization", 20, 40, 0, 32},
    {WD_KIND_GEMINI, "gem-ok", NULL,
     "POST /v1/models/gem-ok:generateContent HTTP/1.1\r\n",
     "\r\nx-goog-api-key: " KEY "\r\n", "Authorization", 30, 18, 24, 16},
    {WD_KIND_OPENAI, "az-ok", NULL, "POST /v1/chat/completions HTTP/1.1\r\n",
     "\r\nAuthorization: Bearer " KEY "\r\n", "api-key", 20, 40, 0, 32},
};

START_TEST(wire_per_adapter) {
  struct wd_endpoint ep = endpoint(wire[_i].kind);
  struct wd_model m = model(wire[_i].id);
  struct wd_probe_result r;
  char req[REQ_MAX + 1];

  ep.api_version = (char *)wire[_i].api_version;
  m.max_tokens = 64;
  r = probe1(&m, &ep, KEY);
  ck_assert_msg(r.ok, "row %d not ok: %s", _i, r.error);
  ck_assert_uint_eq(r.tokens_in, wire[_i].in);
  ck_assert_uint_eq(r.tokens_out, wire[_i].out);
  ck_assert_uint_eq(r.tokens_cached, wire[_i].cached);
  ck_assert_uint_eq(r.tokens_reasoning, wire[_i].reasoning);
  last_request(req, sizeof req);
  ck_assert_msg(strncmp(req, wire[_i].line, strlen(wire[_i].line)) == 0,
                "row %d: request line %.80s", _i, req);
  ck_assert_ptr_nonnull(strstr(req, wire[_i].auth));
  ck_assert_ptr_null(strcasestr(req, wire[_i].not ));
  LEAK_CHECK();
}
END_TEST

/* A 404 model_not_found is class model (warmd stops warming it); an
 * absurd usage is class body and costs nothing (issue 12). */
static const struct {
  const char *id, *want;
  int cls, status;
} bad_replies[] = {
    {"gone", "HTTP 404: The model `gone` does not exist", WARMTH_ERR_MODEL,
     404},
    {"huge", "usage impossible", WARMTH_ERR_BODY, 200},
};

START_TEST(bad_reply_classes) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model(bad_replies[_i].id);
  struct wd_probe_result r = probe1(&m, &ep, KEY);

  ck_assert(!r.ok);
  ck_assert_int_eq(r.http_status, bad_replies[_i].status);
  ck_assert_int_eq(r.error_class, bad_replies[_i].cls);
  ck_assert_msg(strstr(r.error, bad_replies[_i].want), "'%s'", r.error);
  ck_assert_uint_eq(r.tokens_in + r.tokens_out + r.tokens_cached, 0);
  LEAK_CHECK();
}
END_TEST

/* header = lines go out as written, and their values never into the
 * error text (a gateway's token is a secret like the key). */
START_TEST(extra_headers_sent_and_redacted) {
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("echo-hdr");
  char *h[] = {"X-Title: warmth-test", "X-Gateway-Token: gw-secret-123456"};
  struct wd_probe_result r;
  char req[REQ_MAX + 1];

  ep.headers = h;
  ep.nheaders = 2;
  r = probe1(&m, &ep, KEY);
  ck_assert(!r.ok);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_HTTP);
  last_request(req, sizeof req);
  ck_assert_ptr_nonnull(strstr(req, "\r\nX-Title: warmth-test\r\n"));
  ck_assert_ptr_nonnull(
      strstr(req, "\r\nX-Gateway-Token: gw-secret-123456\r\n"));
  ck_assert_ptr_null(strstr(r.error, "gw-secret"));
  ck_assert_msg(strstr(r.error, "bad gateway token ***"), "'%s'", r.error);
  LEAK_CHECK();
}
END_TEST

/* ---- a pre-check (provider.h), as a vLLM adapter would use it ---------- */

static int pre_request(const struct wd_endpoint *ep, const struct wd_model *m,
                       int what, struct wd_request *rq) {
  (void)m;
  if (what != WD_PROBE_CHAT)
    return 1;
  /* the server's root: base_url less its /v1 */
  size_t n = strlen(ep->base_url) - 3;
  char *url = malloc(n + sizeof "/is_sleeping");
  if (url) {
    memcpy(url, ep->base_url, n);
    strcpy(url + n, "/is_sleeping");
  }
  return wd_request_fill(rq, url, NULL, 0);
}

static int pre_reply(const struct wd_endpoint *ep, const struct wd_model *m,
                     int pending, int64_t now_unix_ns, int status,
                     const char *body, size_t len, struct wd_reply *out,
                     char *err, size_t errlen) {
  (void)ep;
  (void)m;
  (void)pending;
  (void)now_unix_ns;
  if (status != 200 || !body) {
    snprintf(err, errlen, "is_sleeping: HTTP %d", status);
    return -1;
  }
  if (memmem(body, len, "true", 4)) {
    out->state = WARMTH_SLEEPING;
    snprintf(err, errlen, "engine asleep");
    return 1;
  }
  return 0;
}

START_TEST(precheck_stops_or_goes_on) {
  struct wd_provider fake = wd_prov_openai;
  struct wd_endpoint ep = endpoint(WD_KIND_OPENAI);
  struct wd_model m = model("ok");
  struct wd_probe_result r;
  char req[REQ_MAX + 1];

  fake.pre_request = pre_request;
  fake.pre_reply = pre_reply;
  wd_provider_override(WD_KIND_OPENAI, &fake);

  atomic_store(&S.sleeping, 1); /* asleep: no warmup goes out */
  r = probe1(&m, &ep, KEY);
  ck_assert(!r.ok);
  ck_assert_int_eq(r.precheck_only, 1);
  ck_assert_int_eq(r.state, WARMTH_SLEEPING);
  ck_assert_int_eq(r.error_class, WARMTH_ERR_NONE);
  ck_assert_uint_eq(r.tokens_in + r.tokens_out, 0);
  ck_assert_int_eq(atomic_load(&S.requests), 1);
  last_request(req, sizeof req);
  ck_assert_ptr_nonnull(strstr(req, "GET /is_sleeping HTTP/1.1\r\n"));

  atomic_store(&S.sleeping, 0); /* awake: the probe follows, same handle */
  int accepts = atomic_load(&S.accepts);
  r = probe1(&m, &ep, KEY);
  ck_assert_int_eq(atomic_load(&S.accepts), accepts + 1); /* one connection */
  ck_assert_msg(r.ok, "not ok: %s", r.error);
  ck_assert_int_eq(r.precheck_only, 0);
  ck_assert_uint_eq(r.tokens_in, 1200);
  ck_assert_int_eq(atomic_load(&S.requests), 3);
  last_request(req, sizeof req);
  ck_assert_ptr_nonnull(strstr(req, "POST /v1/chat/completions HTTP/1.1\r\n"));
  ck_assert_ptr_nonnull(strstr(req, "\r\nAuthorization: Bearer " KEY));

  /* a models probe has no pre-check (pre_request said 1) */
  m.probe = WD_PROBE_MODELS;
  r = probe1(&m, &ep, KEY);
  ck_assert(r.ok);
  ck_assert_int_eq(atomic_load(&S.requests), 4);
  wd_provider_override(WD_KIND_OPENAI, NULL);
  ck_assert_ptr_eq(wd_provider(WD_KIND_OPENAI), &wd_prov_openai);
  LEAK_CHECK();
}
END_TEST

static void setup(void) { srv_start(); }
static void teardown(void) { srv_stop(); }

static Suite *probe_suite(void) {
  Suite *s = suite_create("probe");
  TCase *core = tcase_create("core"), *limits = tcase_create("limits");

  tcase_add_checked_fixture(core, setup, teardown);
  tcase_set_timeout(core, 5);
  tcase_add_test(core, success_openai);
  tcase_add_test(core, success_anthropic);
  tcase_add_test(core, models_probe_and_list);
  tcase_add_test(core, rate_limited);
  tcase_add_test(core, auth_and_key_redacted);
  tcase_add_test(core, server_error);
  tcase_add_test(core, invalid_json);
  tcase_add_test(core, connection_refused);
  tcase_add_test(core, reset_before_and_during_reply);
  tcase_add_test(core, timeout_in_bound);
  tcase_add_test(core, connection_reused);
  tcase_add_test(core, max_concurrency);
  tcase_add_test(core, wakeup_from_thread);
  tcase_add_test(core, done_may_submit);
  tcase_add_loop_test(core, wire_per_adapter, 0,
                      (int)(sizeof wire / sizeof wire[0]));
  tcase_add_loop_test(core, bad_reply_classes, 0,
                      (int)(sizeof bad_replies / sizeof bad_replies[0]));
  tcase_add_test(core, extra_headers_sent_and_redacted);
  tcase_add_test(core, precheck_stops_or_goes_on);
  suite_add_tcase(s, core);

  tcase_add_checked_fixture(limits, setup, teardown);
  tcase_set_timeout(limits, 5);
  tcase_add_test(limits, body_over_cap);
  tcase_add_test(limits, headers_over_cap);
  tcase_add_test(limits, bad_requests_refused);
  tcase_add_test(limits, free_with_many_inflight);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) {
  if (wd_probe_global_init() != 0)
    return EXIT_FAILURE;
  int rc = tu_run(probe_suite());
  wd_probe_global_cleanup();
  return rc;
}
