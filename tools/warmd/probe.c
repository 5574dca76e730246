/* probe.c - the prober: warmups over one libcurl multi handle.
 *
 * One CURLM runs every probe of the process.  Its connection cache is the
 * point of the exercise: a warmup leaves a keep-alive (or HTTP/2)
 * connection to the provider in the cache, and the next warmup finds it
 * there.  A CURLSH adds the TLS session and DNS caches across easy handles,
 * so even a fresh connection resumes TLS.  (wd_list_models, for
 * --check-config --online, runs apart from both, in its own process.)
 *
 * Threads: everything runs in the thread that calls wd_prober_run(), except
 * wd_prober_wakeup(), which only calls curl_multi_wakeup() (meant to be
 * called from another thread).  So the share needs no lock callbacks.
 *
 * The API key is copied into the request's header list and, for redaction
 * only, into the transfer; both copies are wiped when the transfer ends.
 * Error text is built from the status, the provider's message and curl's
 * error buffer (which never holds request headers), and then redacted of
 * the key anyway, in case a server echoed it.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "reply.h"
#include "warmd.h"
#include "warmth.h"

#define USER_AGENT "warmd/" PACKAGE_VERSION

struct buf {
  char *p;
  size_t len, cap;
};

struct xfer {
  struct xfer *prev, *next; /* the prober's in-flight list */
  CURL *easy;
  struct curl_slist *hdrs;
  char *req_body; /* CURLOPT_POSTFIELDS does not copy */
  char *key;      /* for redaction only */
  char *id;       /* models probe: the id the list must hold (issue 10) */
  int kind, probe;
  uint64_t model;
  int64_t started_ns;
  struct buf body;
  size_t hdr_bytes;
  int over_body, over_hdrs; /* we aborted the transfer */
  struct wd_ratelimit rl;
  char errbuf[CURL_ERROR_SIZE];
};

struct wd_prober {
  CURLM *multi;
  CURLSH *share;
  int max, inflight;
  struct xfer *list;
};

/* ---- global state ------------------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init_once(void) {
  global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int wd_probe_global_init(void) {
  pthread_once(&global_once, global_init_once);
  return global_rc == CURLE_OK ? 0 : -1;
}

void wd_probe_global_cleanup(void) {
  if (global_rc == CURLE_OK) {
    curl_global_cleanup();
    global_rc = CURLE_FAILED_INIT; /* pthread_once will not run it again */
  }
}

/* ---- callbacks ---------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg) {
  struct xfer *x = arg;
  size_t n = size * nmemb; /* size is always 1 (CURLOPT_WRITEFUNCTION) */

  if (n > WD_REPLY_BODY_MAX - x->body.len) {
    x->over_body = 1;
    return 0; /* != n: curl aborts with CURLE_WRITE_ERROR */
  }
  if (x->body.len + n + 1 > x->body.cap) {
    size_t cap = x->body.cap ? x->body.cap : 1024;
    char *p;
    while (cap < x->body.len + n + 1)
      cap *= 2;
    if (!(p = realloc(x->body.p, cap)))
      return 0;
    x->body.p = p;
    x->body.cap = cap;
  }
  memcpy(x->body.p + x->body.len, data, n);
  x->body.len += n;
  x->body.p[x->body.len] = '\0';
  return n;
}

/* Headers are read line by line as they arrive; only numbers are kept. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg) {
  struct xfer *x = arg;
  size_t n = size * nmemb;

  if (n > WD_REPLY_HEADERS_MAX - x->hdr_bytes) {
    x->over_hdrs = 1;
    return 0;
  }
  x->hdr_bytes += n;
  wd_ratelimit_header(&x->rl, data, n);
  return n;
}

/* ---- transfers ---------------------------------------------------------- */

static void wipe(void *p, size_t n) {
  /* explicit_bzero is glibc >= 2.25; the barrier keeps the stores. */
  memset(p, 0, n);
  __asm__ __volatile__("" : : "r"(p) : "memory");
}

static void free_headers(struct curl_slist *h) {
  for (struct curl_slist *s = h; s; s = s->next)
    wipe(s->data, strlen(s->data)); /* one of them holds the key */
  curl_slist_free_all(h);
}

static void xfer_free(struct xfer *x) {
  if (!x)
    return;
  if (x->easy)
    curl_easy_cleanup(x->easy);
  free_headers(x->hdrs);
  free(x->req_body);
  free(x->id);
  if (x->key) {
    wipe(x->key, strlen(x->key));
    free(x->key);
  }
  free(x->body.p);
  free(x);
}

static int key_ok(const char *key) {
  for (const unsigned char *p = (const unsigned char *)key; *p; p++)
    if (*p < 0x21 || *p > 0x7e) /* no CR/LF header injection, no spaces */
      return 0;
  return 1;
}

static struct curl_slist *add_header(struct curl_slist **list, const char *a,
                                     const char *b) {
  char line[1024];
  struct curl_slist *l;
  int n = snprintf(line, sizeof line, "%s%s", a, b ? b : "");

  if (n < 0 || (size_t)n >= sizeof line)
    return NULL;
  l = curl_slist_append(*list, line);
  wipe(line, sizeof line);
  if (l)
    *list = l;
  return l;
}

/* The headers of a request: auth by kind, JSON when there is a body. */
static int build_headers(struct curl_slist **h, const struct wd_endpoint *ep,
                         const char *key, int has_body) {
  *h = NULL;
  if (ep->kind == WD_KIND_ANTHROPIC) {
    const char *v = ep->anthropic_version ? ep->anthropic_version
                                          : WD_DEFAULT_ANTHROPIC_VERSION;
    if ((key && !add_header(h, "x-api-key: ", key)) ||
        !add_header(h, "anthropic-version: ", v))
      return -1;
  } else if (key && !add_header(h, "Authorization: Bearer ", key)) {
    return -1;
  }
  if (!add_header(h, "Accept: application/json", NULL))
    return -1;
  /* No "Expect: 100-continue" round trip before a long prefix. */
  if (has_body && (!add_header(h, "Content-Type: application/json", NULL) ||
                   !add_header(h, "Expect:", NULL)))
    return -1;
  return 0;
}

static char *make_url(const char *base, const char *path) {
  size_t bl = strlen(base);
  char *u;

  while (bl > 0 && base[bl - 1] == '/')
    bl--;
  if (!(u = malloc(bl + strlen(path) + 1)))
    return NULL;
  memcpy(u, base, bl);
  strcpy(u + bl, path);
  return u;
}

static int64_t timeout_of(const struct wd_model *m,
                          const struct wd_endpoint *ep) {
  if (m && m->timeout_ns > 0)
    return m->timeout_ns;
  if (ep->timeout_ns > 0)
    return ep->timeout_ns;
  return WD_DEFAULT_TIMEOUT_NS;
}

/* Options common to probes and wd_list_models. */
static int easy_setup(struct xfer *x, const char *url, int64_t timeout_ns) {
  CURL *e = x->easy;
  long ms = (long)((timeout_ns + WD_NS_PER_MS - 1) / WD_NS_PER_MS);
  /* A slow connect reports itself as such rather than as the whole budget
   * gone; half the budget, at least a second (but never more than it). */
  long cms = ms / 2 < 1000 ? 1000 : ms / 2;
  int bad = 0;

  if (ms < 1)
    ms = 1;
  if (cms > ms)
    cms = ms;
#define SET(opt, val) bad |= curl_easy_setopt(e, opt, val) != CURLE_OK
  SET(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  /* Over TLS, ALPN tells within the handshake whether the connection in
   * progress multiplexes: wait for it rather than open a second one.  Over
   * plain http that is known only from the first reply, so a slow first
   * probe would hold back every other probe to the endpoint: no wait. */
  if (strncasecmp(url, "https:", 6) == 0)
    SET(CURLOPT_PIPEWAIT, 1L);
  SET(CURLOPT_TIMEOUT_MS, ms);
  SET(CURLOPT_CONNECTTIMEOUT_MS, cms);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_USERAGENT, USER_AGENT);
  SET(CURLOPT_HTTPHEADER, x->hdrs);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, x);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, x);
  SET(CURLOPT_ERRORBUFFER, x->errbuf);
  SET(CURLOPT_PRIVATE, x);
  if (x->req_body) {
    SET(CURLOPT_POSTFIELDS, x->req_body);
    SET(CURLOPT_POSTFIELDSIZE, (long)strlen(x->req_body));
  }
#undef SET
  return bad ? -1 : 0;
}

/* A transfer for (m, ep, key); probe is enum wd_probe_kind. */
static struct xfer *xfer_new(const struct wd_model *m,
                             const struct wd_endpoint *ep, const char *key,
                             int probe) {
  struct xfer *x;
  char *url = NULL;
  const char *path;

  if (key && !*key)
    key = NULL; /* an empty key file: no header, and the 401 says why */
  if (!ep->base_url || (key && !key_ok(key))) {
    errno = EINVAL;
    return NULL;
  }
  if (!(x = calloc(1, sizeof *x)))
    return NULL;
  x->kind = ep->kind;
  x->probe = probe;
  wd_ratelimit_init(&x->rl);
  if (probe == WD_PROBE_CHAT) {
    path = ep->kind == WD_KIND_ANTHROPIC ? "/messages" : "/chat/completions";
    if (!(x->req_body = wd_build_chat_body(m, ep->kind))) {
      errno = EINVAL; /* or ENOMEM; a prefix that is not UTF-8 is likelier */
      goto fail;
    }
  } else {
    /* Anthropic pages its list by 20 unless asked for more; a models
     * probe checks that its id is listed, so it reads the long page too. */
    path = ep->kind == WD_KIND_ANTHROPIC ? "/models?limit=1000" : "/models";
    if (m && m->id && !(x->id = strdup(m->id)))
      goto nomem;
  }
  if ((key && !(x->key = strdup(key))) || !(url = make_url(ep->base_url, path)))
    goto nomem;
  if (build_headers(&x->hdrs, ep, key, x->req_body != NULL))
    goto nomem;
  if (!(x->easy = curl_easy_init()))
    goto nomem;
  if (easy_setup(x, url, timeout_of(m, ep))) {
    errno = EINVAL; /* the URL, most likely */
    goto fail;
  }
  free(url); /* curl copied it */
  return x;
nomem:
  errno = ENOMEM;
fail:
  free(url);
  xfer_free(x);
  return NULL;
}

static uint32_t us32(curl_off_t v) {
  return v <= 0 ? 0 : v >= UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int has_word(const char *p, size_t n, const char *w) {
  size_t l = strlen(w);
  for (size_t i = 0; i + l <= n; i++)
    if (p[i] == w[0] && memcmp(p + i, w, l) == 0)
      return 1;
  return 0;
}

/* A models probe: is id in the provider's list?  0 if so; else 1 with a
 * message naming the closest listed ids in r->error (issue 10: a models
 * probe must not call an id the provider does not have reachable). */
static int listed_check(const char *id, char **ids, int n,
                        struct wd_probe_result *r) {
  for (int i = 0; i < n; i++)
    if (strcmp(ids[i], id) == 0)
      return 0;
  char close[120], text[256];
  wd_closest_ids(id, ids, n, close, sizeof close);
  snprintf(text, sizeof text, "model id '%s' is not listed by the provider%s%s",
           id, n ? "; closest: " : " (it lists no models)", n ? close : "");
  wd_sanitize(r->error, sizeof r->error, text, strlen(text));
  return 1;
}

/* Fills r from a finished transfer. */
static void finish(struct xfer *x, CURLcode rc, struct wd_probe_result *r) {
  curl_off_t dns = 0, conn = 0, app = 0, start = 0, total = 0;
  long status = 0;
  int body_ok = 0, aborted = x->over_body || x->over_hdrs;
  char why[160] = "", msg[160] = "", text[512];
  struct wd_usage u = {0, 0, 0};

  memset(r, 0, sizeof *r);
  r->model = x->model;
  r->started_ns = x->started_ns;
  r->ended_ns = wd_mono_ns();

  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(x->easy, CURLINFO_NAMELOOKUP_TIME_T, &dns);
  curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &conn);
  curl_easy_getinfo(x->easy, CURLINFO_APPCONNECT_TIME_T, &app);
  curl_easy_getinfo(x->easy, CURLINFO_STARTTRANSFER_TIME_T, &start);
  curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total);
  r->http_status = status > 0 && status < 1000 ? (int)status : 0;
  r->total_us = us32(total);
  r->dns_us = us32(dns);
  r->connect_us = us32(conn - dns);
  r->tls_us = app > 0 ? us32(app - conn) : 0;
  r->ttfb_us = us32(start);

  wd_ratelimit_finish(&x->rl, wd_real_ns());
  r->retry_after_ns = wd_ratelimit_wait(&x->rl, r->http_status);
  r->headroom_requests = x->rl.remaining_requests;
  r->limit_requests = x->rl.limit_requests;
  r->headroom_tokens = x->rl.remaining_tokens;
  r->limit_tokens = x->rl.limit_tokens;
  r->reset_requests_ns = x->rl.reset_requests_ns;
  r->reset_tokens_ns = x->rl.reset_tokens_ns;

  char **ids = NULL;
  int nids = 0;
  if (rc == CURLE_OK && r->http_status >= 200 && r->http_status <= 299) {
    if (x->probe == WD_PROBE_MODELS)
      body_ok = wd_reply_models(x->body.p, x->body.len, x->id ? &ids : NULL,
                                &nids, why, sizeof why) == 0;
    else
      body_ok = wd_reply_chat(x->kind, x->body.p, x->body.len, &u, why,
                              sizeof why) == 0;
  }
  r->error_class = wd_classify(rc, r->http_status, body_ok, aborted);
  if (r->error_class == WARMTH_ERR_NONE && x->id &&
      listed_check(x->id, ids, nids, r))
    r->error_class = WARMTH_ERR_MODEL;
  wd_model_ids_free(ids, nids);
  /* A minimal stand-in for the provider adapters' mapping: a 404 that says
   * the model does not exist is a model problem, not retried. */
  if (r->error_class == WARMTH_ERR_HTTP && r->http_status == 404 && !aborted &&
      x->body.p &&
      (has_word(x->body.p, x->body.len, "model_not_found") ||
       has_word(x->body.p, x->body.len, "not_found_error")))
    r->error_class = WARMTH_ERR_MODEL;
  r->ok = r->error_class == WARMTH_ERR_NONE;
  r->tokens_in = u.in;
  r->tokens_out = u.out;
  r->tokens_cached = u.cached;
  if (r->ok)
    return;

  if (r->error_class == WARMTH_ERR_MODEL && r->error[0])
    return; /* listed_check wrote the message */
  /* The provider's own words first; a status or a cap second. */
  if (!aborted)
    wd_reply_error_message(x->body.p, x->body.len, x->key, msg, sizeof msg);
  if (x->over_body)
    snprintf(msg, sizeof msg, "reply body over %d bytes", WD_REPLY_BODY_MAX);
  else if (x->over_hdrs)
    snprintf(msg, sizeof msg, "reply headers over %d bytes",
             WD_REPLY_HEADERS_MAX);
  switch (r->error_class) {
  case WARMTH_ERR_AUTH:
  case WARMTH_ERR_RATE:
  case WARMTH_ERR_SERVER:
  case WARMTH_ERR_HTTP:
  case WARMTH_ERR_MODEL:
    snprintf(text, sizeof text, "HTTP %d%s%s", r->http_status,
             msg[0] ? ": " : "", msg);
    break;
  case WARMTH_ERR_BODY:
    if (aborted)
      snprintf(text, sizeof text, "%s", msg);
    else if (rc == CURLE_OK)
      snprintf(text, sizeof text, "%s%s%s", why, msg[0] ? ": " : "", msg);
    else
      snprintf(text, sizeof text, "reply cut short: %s",
               x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    break;
  default:
    snprintf(text, sizeof text, "%s",
             x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    break;
  }
  wd_redact(text, x->key);
  wd_sanitize(r->error, sizeof r->error, text, strlen(text));
}

/* ---- the prober --------------------------------------------------------- */

int wd_prober_new(struct wd_prober **out, int max_concurrency) {
  struct wd_prober *p;

  *out = NULL;
  if (max_concurrency < 1) {
    errno = EINVAL;
    return -1;
  }
  if (wd_probe_global_init())
    return -1;
  if (!(p = calloc(1, sizeof *p)))
    return -1;
  p->max = max_concurrency;
  if (!(p->multi = curl_multi_init()) || !(p->share = curl_share_init()))
    goto fail;
  /* Keep at least one idle connection per probe that can run at once. */
  if (curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS,
                        (long)max_concurrency) != CURLM_OK ||
      curl_multi_setopt(p->multi, CURLMOPT_PIPELINING,
                        (long)CURLPIPE_MULTIPLEX) != CURLM_OK ||
      curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
          CURLSHE_OK ||
      curl_share_setopt(p->share, CURLSHOPT_SHARE,
                        CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
    goto fail;
  *out = p;
  return 0;
fail:
  if (p->share)
    curl_share_cleanup(p->share);
  if (p->multi)
    curl_multi_cleanup(p->multi);
  free(p);
  errno = ENOMEM;
  return -1;
}

static void unlink_xfer(struct wd_prober *p, struct xfer *x) {
  if (x->prev)
    x->prev->next = x->next;
  else
    p->list = x->next;
  if (x->next)
    x->next->prev = x->prev;
  curl_multi_remove_handle(p->multi, x->easy);
  p->inflight--;
}

void wd_prober_free(struct wd_prober *p) {
  if (!p)
    return;
  while (p->list) {
    struct xfer *x = p->list;
    unlink_xfer(p, x);
    xfer_free(x);
  }
  /* The multi handle first: closing its cached connections may still touch
   * the TLS session cache in the share. */
  curl_multi_cleanup(p->multi);
  curl_share_cleanup(p->share);
  free(p);
}

int wd_prober_submit(struct wd_prober *p, const struct wd_probe_req *req) {
  struct xfer *x;

  if (!req || !req->m || !req->ep) {
    errno = EINVAL;
    return -2;
  }
  if (p->inflight >= p->max) {
    errno = EBUSY;
    return -1;
  }
  if (!(x = xfer_new(req->m, req->ep, req->api_key, req->m->probe)))
    return -2;
  x->model = req->model;
  if (curl_easy_setopt(x->easy, CURLOPT_SHARE, p->share) != CURLE_OK ||
      curl_multi_add_handle(p->multi, x->easy) != CURLM_OK) {
    xfer_free(x);
    errno = ENOMEM;
    return -2;
  }
  x->started_ns = wd_mono_ns();
  x->next = p->list;
  if (p->list)
    p->list->prev = x;
  p->list = x;
  p->inflight++;
  return 0;
}

int wd_prober_inflight(const struct wd_prober *p) { return p->inflight; }

/* Hands every finished transfer to done(); returns how many. */
static int drain(struct wd_prober *p, wd_probe_done_fn done, void *arg) {
  CURLMsg *msg;
  int left, n = 0;

  while ((msg = curl_multi_info_read(p->multi, &left))) {
    struct wd_probe_result r;
    struct xfer *x;
    char *priv = NULL;
    CURLcode rc = msg->data.result;

    if (msg->msg != CURLMSG_DONE)
      continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    if (!(x = (struct xfer *)priv))
      continue;
    /* msg dies with the removal below: everything is read first. */
    finish(x, rc, &r);
    unlink_xfer(p, x);
    xfer_free(x);
    if (done)
      done(&r, arg);
    n++;
  }
  return n;
}

int wd_prober_run(struct wd_prober *p, int timeout_ms, wd_probe_done_fn done,
                  void *arg) {
  int running, n;

  if (curl_multi_perform(p->multi, &running) != CURLM_OK)
    return -1;
  n = drain(p, done, arg);
  if (n > 0 || timeout_ms <= 0)
    return n;
  /* curl_multi_poll shortens the wait to curl's own next timeout, and
   * returns at once if a wakeup came in since the last poll: no lost
   * wakeups between the perform above and here. */
  if (curl_multi_poll(p->multi, NULL, 0, timeout_ms, NULL) != CURLM_OK ||
      curl_multi_perform(p->multi, &running) != CURLM_OK)
    return -1;
  return drain(p, done, arg);
}

void wd_prober_wakeup(struct wd_prober *p) { curl_multi_wakeup(p->multi); }

/* ---- one-shot model list ------------------------------------------------ */

int wd_list_models(const struct wd_endpoint *ep, const char *api_key,
                   int *http_status, char ***ids, int *nids, char *err,
                   size_t errlen) {
  struct xfer *x;
  struct wd_probe_result r;
  CURLcode rc;
  int ret = -1;

  *http_status = 0;
  *ids = NULL;
  *nids = 0;
  if (wd_probe_global_init()) {
    snprintf(err, errlen, "libcurl initialisation failed");
    return -1;
  }
  if (!(x = xfer_new(NULL, ep, api_key, WD_PROBE_MODELS))) {
    snprintf(err, errlen, "cannot build the request: %s", strerror(errno));
    return -1;
  }
  x->started_ns = wd_mono_ns();
  rc = curl_easy_perform(x->easy);
  finish(x, rc, &r);
  *http_status = r.http_status;
  if (r.ok) {
    char why[160];
    if (wd_reply_models(x->body.p, x->body.len, ids, nids, why, sizeof why)) {
      snprintf(err, errlen, "%s", why);
    } else {
      ret = 0;
    }
  } else {
    snprintf(err, errlen, "%s", r.error);
  }
  xfer_free(x);
  return ret;
}
