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
  char **hvals;   /* values of the endpoint's `header =` lines, likewise */
  int nhvals;
  const struct wd_provider *prov;
  /* The model's settings, with its strings dropped but the id: the config
   * it came from may be freed by a reload while the probe runs. */
  struct wd_model mc;
  int has_model;
  size_t prefix_len; /* of the model's prompt prefix: bounds the usage */
  /* A pre-check (provider.h) runs first when stage is 1; the probe's own
   * request waits here. */
  int stage;
  char *main_url, *main_body;
  /* A post-check (provider.h) runs after the probe's own request when
   * post_url is set: stage 2, with the probe's result kept in post_r. */
  char *post_url;
  struct wd_probe_result *post_r;
  /* The endpoint's numbers (strings NULL) for pre_reply and post_reply;
   * its base URL, to count this endpoint's probes that add a model. */
  struct wd_endpoint epc;
  char *ep_url;
  int adds;
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
  free(x->main_body);
  free(x->main_url);
  free(x->post_url);
  free(x->post_r);
  free(x->ep_url);
  if (x->key) {
    wipe(x->key, strlen(x->key));
    free(x->key);
  }
  for (int i = 0; i < x->nhvals; i++) {
    wipe(x->hvals[i], strlen(x->hvals[i]));
    free(x->hvals[i]);
  }
  free(x->hvals);
  free(x->mc.id);
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

/* wd_header_fn for the providers: "Name: v1v2", joined in a wiped buffer. */
static int add_provider_header(void *arg, const char *name, const char *v1,
                               const char *v2) {
  char line[1024];
  struct curl_slist **h = arg;
  int n =
      snprintf(line, sizeof line, "%s: %s%s", name, v1 ? v1 : "", v2 ? v2 : "");
  int bad = n < 0 || (size_t)n >= sizeof line || !add_header(h, line, NULL);

  wipe(line, sizeof line);
  return bad ? -1 : 0;
}

/* The headers of a request: the provider's (auth), the endpoint's own
 * `header =` lines (checked by config.c: a name, no CR or LF), and JSON
 * when there is a body. */
static int build_headers(struct curl_slist **h, const struct wd_provider *p,
                         const struct wd_endpoint *ep, const char *key,
                         int has_body) {
  *h = NULL;
  if (p->headers(ep, key, add_provider_header, h))
    return -1;
  for (int i = 0; i < ep->nheaders; i++)
    if (!add_header(h, ep->headers[i], NULL))
      return -1;
  if (!add_header(h, "Accept: application/json", NULL))
    return -1;
  /* No "Expect: 100-continue" round trip before a long prefix. */
  if (has_body && (!add_header(h, "Content-Type: application/json", NULL) ||
                   !add_header(h, "Expect:", NULL)))
    return -1;
  return 0;
}

/* Keeps the values of the endpoint's extra headers, for redaction: a
 * gateway's token in a header is as secret as the key. */
static int keep_header_values(struct xfer *x, const struct wd_endpoint *ep) {
  if (ep->nheaders == 0)
    return 0;
  if (!(x->hvals = calloc((size_t)ep->nheaders, sizeof *x->hvals)))
    return -1;
  for (int i = 0; i < ep->nheaders; i++) {
    const char *v = strchr(ep->headers[i], ':');
    v = v ? v + 1 : "";
    while (*v == ' ' || *v == '\t')
      v++;
    if (!(x->hvals[x->nhvals] = strdup(v)))
      return -1;
    x->nhvals++;
  }
  return 0;
}

static void redact_all(const struct xfer *x, char *text) {
  wd_redact(text, x->key);
  for (int i = 0; i < x->nhvals; i++)
    wd_redact(text, x->hvals[i]);
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

/* A transfer for (m, ep, key); what is enum wd_probe_kind, or WD_REQ_LIST
 * (m NULL). */
static struct xfer *xfer_new(const struct wd_model *m,
                             const struct wd_endpoint *ep, const char *key,
                             int what) {
  const struct wd_provider *p = wd_provider(ep->kind);
  struct xfer *x;
  struct wd_request rq = {NULL, NULL}, pre = {NULL, NULL};
  int has_pre = 0;

  if (key && !*key)
    key = NULL; /* an empty key file: no header, and the 401 says why */
  if (!p || !ep->base_url || (key && !key_ok(key))) {
    errno = EINVAL;
    return NULL;
  }
  if (!(x = calloc(1, sizeof *x)))
    return NULL;
  x->kind = ep->kind;
  x->probe = what;
  x->prov = p;
  wd_ratelimit_init(&x->rl);
  if (m) {
    x->mc = *m;
    x->mc.name = x->mc.probe_prefix_file = x->mc.prefix = NULL;
    x->mc.keep_alive = NULL; /* request() has used it; the rest may not */
    x->mc.id = NULL;
    x->has_model = 1;
    x->prefix_len = m->prefix ? strlen(m->prefix) : 0;
    if (!(x->mc.id = strdup(wd_model_id(m))))
      goto nomem;
  }
  x->epc = *ep; /* the numbers; no string outlives a reload */
  x->epc.name = x->epc.base_url = x->epc.api_key_env = NULL;
  x->epc.api_key_file = x->epc.anthropic_version = x->epc.api_version = NULL;
  x->epc.keep_alive = NULL;
  x->epc.headers = NULL;
  x->epc.nheaders = 0;
  if (!(x->ep_url = strdup(ep->base_url)))
    goto nomem;
  if (p->request(ep, m, what, &rq))
    goto fail; /* errno from the provider */
  if (p->post_request && m) {
    struct wd_request post = {NULL, NULL};
    int rc = p->post_request(ep, m, what, &post);
    if (rc < 0)
      goto fail;
    free(post.body); /* a post-check is a GET */
    x->post_url = rc == 0 ? post.url : NULL;
    if (rc != 0)
      free(post.url);
  }
  if (p->pre_request && m) {
    int rc = p->pre_request(ep, m, what, &pre);
    if (rc < 0)
      goto fail;
    has_pre = rc == 0;
  }
  if (has_pre) {
    /* The pre-check goes first; the probe's request waits. */
    x->stage = 1;
    x->main_url = rq.url;
    x->main_body = rq.body;
    x->req_body = pre.body;
    rq.url = pre.url;
    rq.body = NULL;
  } else {
    x->req_body = rq.body;
    rq.body = NULL;
  }
  if ((key && !(x->key = strdup(key))) || keep_header_values(x, ep))
    goto nomem;
  if (build_headers(&x->hdrs, p, ep, key,
                    x->req_body != NULL || x->main_body != NULL))
    goto nomem;
  if (!(x->easy = curl_easy_init()))
    goto nomem;
  if (easy_setup(x, rq.url, timeout_of(m, ep))) {
    errno = EINVAL; /* the URL, most likely */
    goto fail;
  }
  free(rq.url); /* curl copied it */
  return x;
nomem:
  errno = ENOMEM;
fail:
  free(rq.url);
  free(rq.body);
  xfer_free(x);
  return NULL;
}

/* After a pre-check that said "go on": the same handle (and connection)
 * sends the probe's own request. */
static int xfer_restart(struct wd_prober *p, struct xfer *x) {
  CURL *e = x->easy;
  int bad = 0;

  curl_multi_remove_handle(p->multi, e);
  free(x->req_body);
  x->req_body = x->main_body;
  x->main_body = NULL;
  x->stage = x->stage == 1 ? 0 : 2;
  x->body.len = 0;
  x->hdr_bytes = 0;
  x->errbuf[0] = '\0';
  wd_ratelimit_init(&x->rl);
  bad |= curl_easy_setopt(e, CURLOPT_URL, x->main_url) != CURLE_OK;
  if (x->req_body) {
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->req_body) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
                            (long)strlen(x->req_body)) != CURLE_OK;
  } else {
    bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
  }
  free(x->main_url);
  x->main_url = NULL;
  if (bad || curl_multi_add_handle(p->multi, e) != CURLM_OK)
    return -1;
  return 0;
}

static uint32_t us32(curl_off_t v) {
  return v <= 0 ? 0 : v >= UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* A models probe: is the model's id listed?  If not, error names the
 * closest ids (as --check-config --online does). */
static void check_listed(struct xfer *x, struct wd_probe_result *r) {
  char **ids = NULL, why[160];
  int n = 0, best[3], nbest;
  size_t len;

  if (x->prov->models(x->body.p, x->body.len, &ids, &n, why, sizeof why))
    return;
  r->listed = 0;
  for (int i = 0; i < n && !r->listed; i++)
    r->listed = strcmp(ids[i], x->mc.id) == 0;
  if (!r->listed) {
    nbest = wd_closest3(x->mc.id, ids, n, best);
    snprintf(r->error, sizeof r->error, "model id %.60s is not listed%s",
             x->mc.id, nbest ? " (closest:" : " (the list is empty)");
    for (int k = 0; k < nbest; k++) {
      len = strlen(r->error);
      snprintf(r->error + len, sizeof r->error - len, "%s %.40s", k ? "," : "",
               ids[best[k]]);
    }
    if (nbest) {
      len = strlen(r->error);
      snprintf(r->error + len, sizeof r->error - len, ")");
    }
  }
  wd_model_ids_free(ids, n);
}

/* Fills r from a finished transfer. */
static void finish(struct xfer *x, CURLcode rc, struct wd_probe_result *r) {
  curl_off_t dns = 0, conn = 0, app = 0, start = 0, total = 0;
  long status = 0;
  int body_ok = 0, aborted = x->over_body || x->over_hdrs;
  char why[160] = "", msg[160] = "", text[512];
  struct wd_reply rep;

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

  memset(&rep, 0, sizeof rep);
  rep.warm_for_ns = -1;
  if (rc == CURLE_OK && r->http_status >= 200 && r->http_status <= 299) {
    const struct wd_model *m = x->has_model ? &x->mc : NULL;
    body_ok = x->prov->reply(m, x->probe, x->body.p, x->body.len, &rep, why,
                             sizeof why) == 0 &&
              wd_usage_check(m, x->prefix_len, &rep.u, why, sizeof why) == 0;
    if (!body_ok)
      memset(&rep.u, 0, sizeof rep.u); /* an impossible usage is no cost */
  }
  r->error_class = wd_classify(rc, r->http_status, body_ok, aborted);
  r->ok = r->error_class == WARMTH_ERR_NONE;
  r->tokens_in = rep.u.in;
  r->tokens_out = rep.u.out;
  r->tokens_cached = rep.u.cached;
  r->tokens_reasoning = rep.u.reasoning;
  r->tokens_cache_write = rep.u.cache_write;
  r->state = rep.state;
  r->warm_for_ns = rep.warm_for_ns;
  r->listed = -1;
  if (r->ok && x->probe == WD_PROBE_MODELS && x->has_model &&
      (wd_kind_caps(x->kind) & WD_CAP_LISTS))
    check_listed(x, r);
  if (r->ok)
    return;

  /* The provider's own words first; a status or a cap second.  The
   * provider also tells a missing model (class model) from other 4xx. */
  if (!aborted && r->http_status > 0 &&
      (r->http_status < 200 || r->http_status > 299))
    r->error_class =
        x->prov->error(x->has_model ? &x->mc : NULL, r->http_status, x->body.p,
                       x->body.len, x->key, r->error_class, msg, sizeof msg);
  else if (!aborted)
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
  redact_all(x, text);
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

/* A finished pre-check: 0 when the probe's own request went out on the
 * same handle; else r is the probe's result (the pre-check ended it). */
static int precheck(struct wd_prober *p, struct xfer *x, CURLcode rc,
                    struct wd_probe_result *r) {
  long status = 0;
  char why[160] = "";
  struct wd_reply rep;
  int v;

  if (rc != CURLE_OK) {
    finish(x, rc, r); /* the transport failed: so would the probe */
    return -1;
  }
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  memset(&rep, 0, sizeof rep);
  rep.warm_for_ns = -1;
  int pending = 0;
  for (const struct xfer *o = p->list; o; o = o->next)
    pending += o != x && o->adds && !strcmp(o->ep_url, x->ep_url);
  v = x->prov->pre_reply(&x->epc, &x->mc, pending, wd_real_ns(),
                         status > 0 && status < 1000 ? (int)status : 0,
                         x->body.p, x->body.len, &rep, why, sizeof why);
  if (v == 0 && xfer_restart(p, x) == 0) {
    x->adds = rep.adds;
    return 0;
  }
  finish(x, rc, r);
  r->precheck_only = 1;
  r->state = rep.state;
  r->warm_for_ns = rep.warm_for_ns;
  /* a pre-check costs nothing */
  r->tokens_in = r->tokens_out = r->tokens_cached = 0;
  r->tokens_reasoning = r->tokens_cache_write = 0;
  if (v == 1) {
    r->ok = 0;
    r->error_class = WARMTH_ERR_NONE;
    snprintf(r->error, sizeof r->error, "pre-check: %s", why);
  } else {
    r->ok = 0;
    r->error_class = WARMTH_ERR_BODY;
    redact_all(x, why);
    snprintf(r->error, sizeof r->error, "pre-check: %s",
             why[0] ? why : "cannot send the probe");
  }
  return -1;
}

/* The probe's own request finished with r: 0 when a post-check went out
 * on the same handle (r kept for it), else r stands. */
static int postcheck_start(struct wd_prober *p, struct xfer *x,
                           const struct wd_probe_result *r) {
  if (!x->post_url || !r->ok || !(x->post_r = malloc(sizeof *r)))
    return -1;
  *x->post_r = *r;
  x->main_url = x->post_url; /* xfer_restart sends main_url, a GET */
  x->post_url = NULL;
  return xfer_restart(p, x);
}

/* A finished post-check: r becomes the probe's result with what the
 * post-check said (warm_for_ns), or a failure when it said the probe did
 * not stick; its clock is the post-check's, which warm_for_ns counts from. */
static void postcheck_end(struct xfer *x, CURLcode rc,
                          struct wd_probe_result *r) {
  long status = 0;
  char why[160] = "";
  struct wd_reply rep;
  int v = -1;

  *r = *x->post_r;
  r->ended_ns = wd_mono_ns();
  memset(&rep, 0, sizeof rep);
  rep.warm_for_ns = -1;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_OK)
    v = x->prov->post_reply(&x->epc, &x->mc, wd_real_ns(),
                            status > 0 && status < 1000 ? (int)status : 0,
                            x->body.p, x->body.len, &rep, why, sizeof why);
  else
    wd_sanitize(why, sizeof why,
                x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc),
                strlen(x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc)));
  if (v == 0) {
    if (rep.warm_for_ns >= 0)
      r->warm_for_ns = rep.warm_for_ns;
    return;
  }
  r->ok = 0;
  r->error_class = WARMTH_ERR_BODY;
  redact_all(x, why);
  snprintf(r->error, sizeof r->error, "post-check: %s", why);
}

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
    if (x->stage == 1) {
      if (precheck(p, x, rc, &r) == 0)
        continue; /* the probe's own request is on its way */
    } else if (x->stage == 2) {
      postcheck_end(x, rc, &r);
    } else {
      finish(x, rc, &r);
      if (postcheck_start(p, x, &r) == 0)
        continue; /* the post-check is on its way */
    }
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
  if (!(x = xfer_new(NULL, ep, api_key, WD_REQ_LIST))) {
    snprintf(err, errlen, "cannot build the request: %s", strerror(errno));
    return -1;
  }
  x->started_ns = wd_mono_ns();
  rc = curl_easy_perform(x->easy);
  finish(x, rc, &r);
  *http_status = r.http_status;
  if (r.ok) {
    char why[160];
    if (x->prov->models(x->body.p, x->body.len, ids, nids, why, sizeof why)) {
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
