/* reply.c - probe request bodies and the reading of provider replies.
 *
 * Everything here is a pure function of its arguments (see reply.h),
 * except the list of secrets wd_redact() removes from every text; the
 * only library calls are jansson and curl_getdate(), so the parsers are
 * tested on canned input without a network.  A reply is untrusted input:
 * every number is range-checked and clamped, every string sanitized before
 * it can reach a log line.
 */
#define _GNU_SOURCE /* explicit_bzero */
#include "config.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reply.h"
#include "warmth.h"

/* ---- small helpers ------------------------------------------------------ */

static int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    return ((a < 0) != (b < 0)) ? INT64_MIN : INT64_MAX;
  return r;
}

static int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return b < 0 ? INT64_MIN : INT64_MAX;
  return r;
}

static int64_t clamp_wait(int64_t ns) {
  if (ns < 0)
    return 0;
  return ns > WD_REPLY_WAIT_MAX_NS ? WD_REPLY_WAIT_MAX_NS : ns;
}

/* Trims optional whitespace (and the CR LF libcurl leaves on header lines). */
static void trim(const char **s, size_t *len) {
  const char *p = *s;
  size_t n = *len;
  while (n > 0 && (*p == ' ' || *p == '\t')) {
    p++;
    n--;
  }
  while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' ||
                   p[n - 1] == '\n'))
    n--;
  *s = p;
  *len = n;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* ---- request and reply bodies: the providers' (provider.h) -------------- */

/* The body only: the URL of a bare endpoint does not matter here. */
char *wd_build_chat_body(const struct wd_model *m, int kind) {
  const struct wd_provider *p = wd_provider(kind);
  struct wd_endpoint ep = {.kind = kind, .base_url = "http://x"};
  struct wd_request rq;

  if (!p || p->request(&ep, m, WD_PROBE_CHAT, &rq))
    return NULL;
  free(rq.url);
  return rq.body;
}

int wd_reply_chat(int kind, const char *body, size_t len, struct wd_usage *u,
                  char *err, size_t errlen) {
  const struct wd_provider *p = wd_provider(kind);
  struct wd_reply r;
  int rc;

  memset(&r, 0, sizeof r);
  r.warm_for_ns = -1;
  if (!p) {
    snprintf(err, errlen, "unknown kind %d", kind);
    rc = -1;
  } else {
    rc = p->reply(NULL, WD_PROBE_CHAT, body, len, &r, err, errlen);
  }
  *u = r.u;
  return rc;
}

int wd_reply_models(const char *body, size_t len, char ***ids, int *nids,
                    char *err, size_t errlen) {
  return wd_openai_models(body, len, ids, nids, err, errlen);
}

void wd_reply_error_message(const char *body, size_t len, const char *secret,
                            char *out, size_t outlen) {
  json_t *root;
  json_error_t je;

  if (outlen == 0)
    return;
  out[0] = '\0';
  if (!body || len == 0)
    return;
  root = json_loadb(body, len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &je);
  wd_error_text(root, secret, out, outlen);
  json_decref(root);
}

size_t wd_sanitize(char *out, size_t outlen, const char *in, size_t inlen) {
  size_t n = 0;

  if (outlen == 0)
    return 0;
  for (size_t i = 0; i < inlen && n + 1 < outlen; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '\t' || c == '\r' || c == '\n')
      c = ' ';
    else if (c < 0x20 || c > 0x7e)
      c = '?';
    out[n++] = (char)c;
  }
  out[n] = '\0';
  return n;
}

/* The secrets every wd_redact() call also removes (wd_redact_set): copies,
 * wiped when replaced.  The one piece of state in this file; behind a
 * mutex, since log lines of every thread are redacted with it. */
static pthread_mutex_t redact_mu = PTHREAD_MUTEX_INITIALIZER;
static char **redact_reg;
static int redact_nreg;
/* wd_redact_keep's: never replaced, never freed (held to the end). */
static char **redact_kept;
static int redact_nkept;

static void free_secrets(char **v, int n) {
  for (int i = 0; v && i < n; i++) {
    explicit_bzero(v[i], strlen(v[i]));
    free(v[i]);
  }
  free(v);
}

int wd_redact_set(const char *const *secrets, int n) {
  char **v = n > 0 ? calloc((size_t)n, sizeof *v) : NULL;
  int m = 0;
  if (n > 0 && !v)
    return -1;
  for (int i = 0; i < n; i++) {
    if (!secrets[i] || strlen(secrets[i]) < WD_REDACT_SHORTEST)
      continue;
    if (!(v[m] = strdup(secrets[i]))) {
      free_secrets(v, m);
      return -1;
    }
    m++;
  }
  pthread_mutex_lock(&redact_mu);
  char **old = redact_reg;
  int nold = redact_nreg;
  redact_reg = v;
  redact_nreg = m;
  pthread_mutex_unlock(&redact_mu);
  free_secrets(old, nold);
  return 0;
}

int wd_redact_keep(const char *secret) {
  if (!secret || strlen(secret) < WD_REDACT_SHORTEST)
    return 0;
  char *copy = strdup(secret);
  if (!copy)
    return -1;
  pthread_mutex_lock(&redact_mu);
  char **v = realloc(redact_kept, (size_t)(redact_nkept + 1) * sizeof *v);
  if (v) {
    redact_kept = v;
    redact_kept[redact_nkept++] = copy;
  }
  pthread_mutex_unlock(&redact_mu);
  if (!v) {
    explicit_bzero(copy, strlen(copy));
    free(copy);
    return -1;
  }
  return 0;
}

/* Marks every byte of s[0..n) that lies in a run of WD_REDACT_RUN or more
 * bytes also found somewhere in secret[0..k).  row[j] is the length of the
 * longest common suffix of s[..i] and secret[..j): the longest-common-
 * substring table one row at a time, O(n k) time, O(k) memory.  The
 * longest run ending at each i covers every shorter run ending there, so
 * marking it alone marks every byte of every run.  -1: out of memory. */
static int mark_runs(const char *s, size_t n, const char *secret, size_t k,
                     unsigned char *mark) {
  uint32_t *row = calloc(k + 1, sizeof *row);
  if (!row)
    return -1;
  for (size_t i = 0; i < n; i++) {
    uint32_t best = 0;
    /* Downwards, so row[j] still holds the previous byte's value. */
    for (size_t j = k; j-- > 0;) {
      row[j + 1] = s[i] == secret[j] ? row[j] + 1 : 0;
      if (row[j + 1] > best)
        best = row[j + 1];
    }
    if (best >= WD_REDACT_RUN)
      memset(mark + i + 1 - best, 1, best);
  }
  free(row);
  return 0;
}

static void redact_one(char *s, const char *secret) {
  size_t k = strlen(secret), n = strlen(s);
  char *r, *w;

  if (k < WD_REDACT_SHORTEST)
    return;
  if (k < WD_REDACT_RUN) { /* too short for runs: whole occurrences */
    /* "***" is shorter than any secret redacted, so w never passes r. */
    for (r = w = s; *r;) {
      if (strncmp(r, secret, k) == 0) {
        memcpy(w, "***", 3);
        w += 3;
        r += k;
      } else {
        *w++ = *r++;
      }
    }
    *w = '\0';
    return;
  }
  unsigned char *mark = calloc(n + 1, 1);
  if (!mark || mark_runs(s, n, secret, k, mark) != 0) {
    /* Cannot tell what to keep: keep nothing (fail closed). */
    free(mark);
    snprintf(s, n + 1, "%s", "***");
    return;
  }
  /* One "***" per marked stretch; a stretch is at least WD_REDACT_RUN (8)
   * bytes, so w never passes r. */
  size_t i = 0;
  for (w = s; i < n;) {
    if (mark[i]) {
      memcpy(w, "***", 3);
      w += 3;
      while (i < n && mark[i])
        i++;
    } else {
      *w++ = s[i++];
    }
  }
  *w = '\0';
  free(mark);
}

void wd_redact(char *s, const char *secret) {
  if (!s)
    return;
  if (secret)
    redact_one(s, secret);
  pthread_mutex_lock(&redact_mu);
  for (int i = 0; i < redact_nreg; i++)
    if (!secret || strcmp(redact_reg[i], secret) != 0)
      redact_one(s, redact_reg[i]);
  for (int i = 0; i < redact_nkept; i++)
    if (!secret || strcmp(redact_kept[i], secret) != 0)
      redact_one(s, redact_kept[i]);
  pthread_mutex_unlock(&redact_mu);
}

/* ---- value parsers ------------------------------------------------------ */

int wd_parse_count(const char *s, size_t len, int64_t *out) {
  int64_t v = 0;
  size_t i = 0;

  trim(&s, &len);
  if (len == 0 || !is_digit(s[0]))
    return -1;
  for (; i < len && is_digit(s[i]); i++) {
    int d = s[i] - '0';
    v = (v > (INT64_MAX - d) / 10) ? INT64_MAX : v * 10 + d;
  }
  if (i < len && s[i] == '.') /* some relays send "149984.0" */
    for (i++; i < len && is_digit(s[i]); i++)
      ;
  if (i != len)
    return -1;
  *out = v;
  return 0;
}

int wd_parse_go_duration(const char *s, size_t len, int64_t *ns) {
  static const struct {
    const char *name;
    double ns;
  } units[] = {
      /* longest first where one is a prefix of another ("ms" before "m") */
      {"ns", 1},          {"us", 1e3}, {"\xc2\xb5s", 1e3}, /* U+00B5 */
      {"\xce\xbcs", 1e3},                                  /* U+03BC */
      {"ms", 1e6},        {"s", 1e9},  {"m", 60e9},        {"h", 3600e9},
  };
  double total = 0;
  size_t i = 0;
  int first = 1;

  trim(&s, &len);
  if (len == 0)
    return -1;
  for (; i < len; first = 0) {
    double v = 0, scale = 1;
    size_t digits = 0, u;
    for (; i < len && is_digit(s[i]); i++, digits++)
      v = v * 10 + (s[i] - '0');
    if (i < len && s[i] == '.')
      for (i++; i < len && is_digit(s[i]); i++, digits++) {
        scale /= 10;
        v += (s[i] - '0') * scale;
      }
    if (digits == 0)
      return -1;
    if (i == len && first) {
      /* A bare number ("0", "20", "1.5"): seconds. */
      total = v * 1e9;
      break;
    }
    for (u = 0; u < sizeof units / sizeof units[0]; u++) {
      size_t ul = strlen(units[u].name);
      if (len - i >= ul && memcmp(s + i, units[u].name, ul) == 0) {
        /* "m" must not swallow the "m" of "ms" (listed earlier); and after
         * a unit comes a digit or the end. */
        i += ul;
        break;
      }
    }
    if (u == sizeof units / sizeof units[0])
      return -1;
    if (i < len && !is_digit(s[i]) && s[i] != '.')
      return -1;
    total += v * units[u].ns;
  }
  if (!(total < (double)WD_REPLY_WAIT_MAX_NS)) /* also inf */
    *ns = WD_REPLY_WAIT_MAX_NS;
  else
    *ns = (int64_t)llround(total);
  return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil, public domain). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int fixed_num(const char *s, size_t n, int *out) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(s[i]))
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

int wd_parse_rfc3339(const char *s, size_t len, int64_t *unix_ns) {
  int Y, M, D, h, mi, sec, oh = 0, om = 0;
  int64_t frac = 0, secs;
  size_t i = 19;

  trim(&s, &len);
  /* YYYY-MM-DDTHH:MM:SS is 19 bytes */
  if (len < 20 || fixed_num(s, 4, &Y) || s[4] != '-' ||
      fixed_num(s + 5, 2, &M) || s[7] != '-' || fixed_num(s + 8, 2, &D) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      fixed_num(s + 11, 2, &h) || s[13] != ':' || fixed_num(s + 14, 2, &mi) ||
      s[16] != ':' || fixed_num(s + 17, 2, &sec))
    return -1;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60)
    return -1;
  if (s[i] == '.') {
    int digits = 0;
    for (i++; i < len && is_digit(s[i]); i++, digits++)
      if (digits < 9)
        frac = frac * 10 + (s[i] - '0');
    if (digits == 0)
      return -1;
    for (; digits < 9; digits++)
      frac *= 10;
  }
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i + 6 == len && (s[i] == '+' || s[i] == '-')) {
    if (fixed_num(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
        fixed_num(s + i + 4, 2, &om) || oh > 23 || om > 59)
      return -1;
    if (s[i] == '-') {
      oh = -oh;
      om = -om;
    }
    i += 6;
  } else {
    return -1;
  }
  if (i != len)
    return -1;
  secs = days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec -
         (oh * 3600 + om * 60);
  /* Years up to 9999 overflow int64 nanoseconds past 2262: saturate. */
  *unix_ns = sat_add(sat_mul(secs, WD_NS_PER_S), frac);
  return 0;
}

/* curl_getdate() wants a C string; a date is far shorter than 64 bytes. */
static int64_t http_date(const char *s, size_t len) {
  char buf[64];
  time_t t;

  if (len == 0 || len >= sizeof buf)
    return -1;
  memcpy(buf, s, len);
  buf[len] = '\0';
  t = curl_getdate(buf, NULL);
  return t < 0 ? -1 : (int64_t)t;
}

int wd_parse_retry_after(const char *s, size_t len, int64_t *rel_ns,
                         int64_t *at_s) {
  int64_t v;

  trim(&s, &len);
  *rel_ns = -1;
  *at_s = -1;
  if (len == 0)
    return -1;
  if (is_digit(s[0])) {
    /* delta-seconds is digits only (RFC 9110 10.2.3); curl_getdate would
     * read "3" or "3.5" as some date, so digits never go there. */
    for (size_t i = 0; i < len; i++)
      if (!is_digit(s[i]))
        return -1;
    if (wd_parse_count(s, len, &v))
      return -1;
    *rel_ns = clamp_wait(sat_mul(v, WD_NS_PER_S));
    return 0;
  }
  /* An HTTP-date (IMF-fixdate, RFC 850, asctime) starts with a day name. */
  if (!isalpha((unsigned char)s[0]) || (v = http_date(s, len)) < 0)
    return -1;
  *at_s = v;
  return 0;
}

/* ---- reply headers ------------------------------------------------------ */

void wd_ratelimit_init(struct wd_ratelimit *rl) {
  rl->remaining_requests = rl->limit_requests = -1;
  rl->remaining_tokens = rl->limit_tokens = -1;
  rl->reset_requests_ns = rl->reset_tokens_ns = -1;
  rl->retry_after_ns = -1;
  rl->date_s = rl->retry_at_s = -1;
  rl->reset_req_at_ns = rl->reset_tok_at_ns = -1;
  rl->retry_after_ms_seen = 0;
}

enum hv { HV_COUNT, HV_GODUR, HV_RFC3339, HV_RETRY, HV_RETRY_MS, HV_DATE };

void wd_ratelimit_header(struct wd_ratelimit *rl, const char *line,
                         size_t len) {
  static const struct {
    const char *name;
    enum hv type;
    size_t off; /* of the int64_t field in struct wd_ratelimit */
  } known[] = {
#define F(f) offsetof(struct wd_ratelimit, f)
      /* OpenAI (and most OpenAI-compatible relays) */
      {"x-ratelimit-remaining-requests", HV_COUNT, F(remaining_requests)},
      {"x-ratelimit-limit-requests", HV_COUNT, F(limit_requests)},
      {"x-ratelimit-remaining-tokens", HV_COUNT, F(remaining_tokens)},
      {"x-ratelimit-limit-tokens", HV_COUNT, F(limit_tokens)},
      {"x-ratelimit-reset-requests", HV_GODUR, F(reset_requests_ns)},
      {"x-ratelimit-reset-tokens", HV_GODUR, F(reset_tokens_ns)},
      /* Anthropic: the tokens-* family is the most restrictive of its
       * input and output token limits. */
      {"anthropic-ratelimit-requests-remaining", HV_COUNT,
       F(remaining_requests)},
      {"anthropic-ratelimit-requests-limit", HV_COUNT, F(limit_requests)},
      {"anthropic-ratelimit-requests-reset", HV_RFC3339, F(reset_req_at_ns)},
      {"anthropic-ratelimit-tokens-remaining", HV_COUNT, F(remaining_tokens)},
      {"anthropic-ratelimit-tokens-limit", HV_COUNT, F(limit_tokens)},
      {"anthropic-ratelimit-tokens-reset", HV_RFC3339, F(reset_tok_at_ns)},
      {"retry-after", HV_RETRY, 0},
      {"retry-after-ms", HV_RETRY_MS, 0}, /* OpenAI, finer than seconds */
      {"date", HV_DATE, 0},
#undef F
  };
  const char *colon, *v;
  size_t nlen, vlen;
  int64_t x, at;

  if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
    wd_ratelimit_init(rl); /* a final reply after a 1xx: start over */
    return;
  }
  if (!(colon = memchr(line, ':', len)))
    return;
  nlen = (size_t)(colon - line);
  while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
    nlen--;
  v = colon + 1;
  vlen = len - (size_t)(v - line);
  trim(&v, &vlen);
  for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
    int64_t *field = (int64_t *)((char *)rl + known[k].off);
    if (strlen(known[k].name) != nlen ||
        strncasecmp(known[k].name, line, nlen) != 0)
      continue;
    switch (known[k].type) {
    case HV_COUNT:
      if (wd_parse_count(v, vlen, &x) == 0)
        *field = x;
      break;
    case HV_GODUR:
      if (wd_parse_go_duration(v, vlen, &x) == 0)
        *field = x;
      break;
    case HV_RFC3339:
      if (wd_parse_rfc3339(v, vlen, &x) == 0)
        *field = x;
      break;
    case HV_RETRY:
      if (!rl->retry_after_ms_seen &&
          wd_parse_retry_after(v, vlen, &x, &at) == 0) {
        rl->retry_after_ns = x;
        rl->retry_at_s = at;
      }
      break;
    case HV_RETRY_MS:
      if (wd_parse_count(v, vlen, &x) == 0) {
        rl->retry_after_ns = clamp_wait(sat_mul(x, WD_NS_PER_MS));
        rl->retry_at_s = -1;
        rl->retry_after_ms_seen = 1;
      }
      break;
    case HV_DATE:
      if ((x = http_date(v, vlen)) >= 0)
        rl->date_s = x;
      break;
    }
    return;
  }
}

static int64_t until(int64_t at_ns, int64_t ref_ns) {
  int64_t d;
  if (__builtin_sub_overflow(at_ns, ref_ns, &d))
    d = at_ns > ref_ns ? INT64_MAX : 0;
  return clamp_wait(d);
}

void wd_ratelimit_finish(struct wd_ratelimit *rl, int64_t now_unix_ns) {
  int64_t ref =
      rl->date_s >= 0 ? sat_mul(rl->date_s, WD_NS_PER_S) : now_unix_ns;

  if (rl->retry_after_ns < 0 && rl->retry_at_s >= 0)
    rl->retry_after_ns = until(sat_mul(rl->retry_at_s, WD_NS_PER_S), ref);
  if (rl->reset_requests_ns < 0 && rl->reset_req_at_ns >= 0)
    rl->reset_requests_ns = until(rl->reset_req_at_ns, ref);
  if (rl->reset_tokens_ns < 0 && rl->reset_tok_at_ns >= 0)
    rl->reset_tokens_ns = until(rl->reset_tok_at_ns, ref);
}

int64_t wd_ratelimit_wait(const struct wd_ratelimit *rl, int http_status) {
  int64_t w = -1;

  if (rl->retry_after_ns >= 0)
    return rl->retry_after_ns;
  if (http_status != 429)
    return -1;
  if (rl->remaining_requests == 0 && rl->reset_requests_ns > w)
    w = rl->reset_requests_ns;
  if (rl->remaining_tokens == 0 && rl->reset_tokens_ns > w)
    w = rl->reset_tokens_ns;
  return w;
}

/* ---- outcome ------------------------------------------------------------ */

static int connect_error(int c) {
  switch (c) {
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_INTERFACE_FAILED:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_USE_SSL_FAILED:
  case CURLE_PROXY:
#if LIBCURL_VERSION_NUM >= 0x074d00 /* 7.77.0 */
  case CURLE_SSL_CLIENTCERT:
#endif
    return 1;
  default:
    return 0;
  }
}

int wd_classify(int curl_code, int http_status, int body_ok, int aborted) {
  int is2xx = http_status >= 200 && http_status <= 299;

  if (curl_code == CURLE_OPERATION_TIMEDOUT)
    return WARMTH_ERR_TIMEOUT;
  if (http_status > 0 && !is2xx) {
    if (http_status == 401 || http_status == 403)
      return WARMTH_ERR_AUTH;
    if (http_status == 429)
      return WARMTH_ERR_RATE;
    if (http_status >= 500 && http_status <= 599)
      return WARMTH_ERR_SERVER;
    return WARMTH_ERR_HTTP;
  }
  if (aborted)
    return WARMTH_ERR_BODY;
  if (curl_code != CURLE_OK && connect_error(curl_code))
    return WARMTH_ERR_CONNECT;
  if (is2xx)
    return (curl_code == CURLE_OK && body_ok) ? WARMTH_ERR_NONE
                                              : WARMTH_ERR_BODY;
  return WARMTH_ERR_CONNECT; /* nothing usable came back: reset, empty */
}
