/* provider.c - the provider table and the pieces providers share
 * (provider.h).  Pure functions, like reply.c.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider.h"
#include "reply.h"
#include "warmth.h"

static const struct wd_provider *const table[WD_KIND__N] = {
#define WD_X(e, w, caps) [WD_KIND_##e] = &wd_prov_##w,
    WD_PROVIDERS(WD_X)
#undef WD_X
};
static const struct wd_provider *override[WD_KIND__N];

const struct wd_provider *wd_provider(int kind) {
  if (kind < 0 || kind >= WD_KIND__N)
    return NULL;
  return override[kind] ? override[kind] : table[kind];
}

void wd_provider_override(int kind, const struct wd_provider *p) {
  if (kind >= 0 && kind < WD_KIND__N)
    override[kind] = p;
}

char *wd_url_join(const char *base, ...) {
  va_list ap;
  size_t bl = strlen(base), n;
  const char *p;
  char *u;

  while (bl > 0 && base[bl - 1] == '/')
    bl--;
  n = bl + 1;
  va_start(ap, base);
  while ((p = va_arg(ap, const char *)))
    n += strlen(p);
  va_end(ap);
  if (!(u = malloc(n)))
    return NULL;
  memcpy(u, base, bl);
  u[bl] = '\0';
  va_start(ap, base);
  while ((p = va_arg(ap, const char *)))
    strcat(u, p);
  va_end(ap);
  return u;
}

char *wd_url_escape(const char *s, int keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  char *out, *w;

  if (!s || !(out = w = malloc(3 * strlen(s) + 1)))
    return NULL;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    /* RFC 3986 unreserved, plus ':' (Gemini's "models/x:generateContent"
     * is ours to add, but ids such as "ft:gpt-4o:org" keep theirs) */
    if (isalnum(*p) || strchr("-._~:", *p) || (keep_slash && *p == '/')) {
      *w++ = (char)*p;
    } else {
      *w++ = '%';
      *w++ = hex[*p >> 4];
      *w++ = hex[*p & 15];
    }
  }
  *w = '\0';
  return out;
}

const char *wd_model_id(const struct wd_model *m) {
  return m->id ? m->id : m->name;
}

struct json_t *wd_json_object(const char *body, size_t len, char *err,
                              size_t errlen) {
  json_error_t je;
  json_t *root;

  if (!body || len == 0) {
    snprintf(err, errlen, "empty reply body");
    return NULL;
  }
  /* Every number as a double: a huge integer then clamps instead of failing
   * the whole parse; token counts are far below 2^53. */
  root = json_loadb(body, len, JSON_DECODE_INT_AS_REAL, &je);
  if (!root) {
    char why[96];
    wd_sanitize(why, sizeof why, je.text, strlen(je.text));
    snprintf(err, errlen, "invalid JSON at byte %d: %s", je.position, why);
    return NULL;
  }
  if (!json_is_object(root)) {
    snprintf(err, errlen, "reply is not a JSON object");
    json_decref(root);
    return NULL;
  }
  return root;
}

json_t *wd_chat_json(const char *body, size_t len, const char *usage_key,
                     const char *content_key, json_t **usage, char *err,
                     size_t errlen) {
  json_t *root = wd_json_object(body, len, err, errlen);

  *usage = NULL;
  if (!root)
    return NULL;
  *usage = json_object_get(root, usage_key);
  if (!json_is_object(*usage))
    *usage = NULL;
  if (!*usage && !json_is_array(json_object_get(root, content_key))) {
    snprintf(err, errlen, "reply has neither %s nor %s", usage_key,
             content_key);
    json_decref(root);
    return NULL;
  }
  return root;
}

uint64_t wd_tokens_add(uint64_t a, uint64_t b) {
  return a + b > WD_REPLY_TOKENS_MAX ? WD_REPLY_TOKENS_MAX : a + b;
}

uint64_t wd_json_tokens(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  double d;

  if (!json_is_number(v))
    return 0;
  d = json_number_value(v);
  if (!(d > 0)) /* negative, zero (and NaN, though jansson never makes one) */
    return 0;
  if (d >= (double)WD_REPLY_TOKENS_MAX)
    return WD_REPLY_TOKENS_MAX;
  return (uint64_t)d;
}

static const json_t *message_of(const json_t *root) {
  const json_t *e = json_object_get(root, "error"), *m;

  if (json_is_object(e) && json_is_string(m = json_object_get(e, "message")))
    return m;
  if (json_is_string(e))
    return e;
  if (json_is_string(m = json_object_get(root, "message")))
    return m;
  if (json_is_string(m = json_object_get(root, "detail")))
    return m;
  return NULL;
}

void wd_error_text(const json_t *root, const char *secret, char *out,
                   size_t outlen) {
  const json_t *m;
  char *copy;
  size_t l;

  if (outlen == 0)
    return;
  out[0] = '\0';
  if (!json_is_object(root) || !(m = message_of(root)))
    return;
  l = json_string_length(m);
  /* Redact before truncating to outlen, so "***" stands where the key was
   * and more of the message fits.  Redaction costs O(length x key), so a
   * message is first cut to what could matter: a key run cut there keeps
   * fewer than WD_REDACT_RUN bytes before the cut only if it is shorter
   * than a redacted run anyway (reply.h). */
  if (l > outlen + WD_REDACT_SCAN_MAX)
    l = outlen + WD_REDACT_SCAN_MAX;
  if ((copy = malloc(l + 1))) {
    memcpy(copy, json_string_value(m), l);
    copy[l] = '\0';
    for (size_t i = 0; i < l; i++) /* \u0000 must not hide a key from */
      if (copy[i] == '\0')         /* wd_redact's strstr */
        copy[i] = '?';
    wd_redact(copy, secret);
    wd_sanitize(out, outlen, copy, strlen(copy));
    free(copy);
  }
}

int wd_request_fill(struct wd_request *rq, char *url, char *body,
                    int want_body) {
  rq->url = url;
  rq->body = body;
  if (url && (body || !want_body))
    return 0;
  errno = want_body && !body ? EINVAL : ENOMEM;
  free(url);
  free(body);
  rq->url = rq->body = NULL;
  return -1;
}

void wd_model_ids_free(char **ids, int n) {
  if (!ids)
    return;
  for (int i = 0; i < n; i++)
    free(ids[i]);
  free(ids);
}

int wd_ids_list(const char *body, size_t len, const char *list, const char *key,
                const char *strip, char ***ids, int *nids, char *err,
                size_t errlen) {
  json_t *root, *data, *it;
  char **v = NULL;
  int n = 0;
  size_t i, sl = strip ? strlen(strip) : 0;

  if (ids)
    *ids = NULL;
  if (nids)
    *nids = 0;
  if (!(root = wd_json_object(body, len, err, errlen)))
    return -1;
  data = json_object_get(root, list);
  if (!json_is_array(data)) {
    snprintf(err, errlen, "reply has no %s array", list);
    json_decref(root);
    return -1;
  }
  if (ids && json_array_size(data) > 0 &&
      !(v = calloc(json_array_size(data), sizeof *v)))
    goto nomem;
  json_array_foreach(data, i, it) {
    const json_t *id = json_object_get(it, key);
    const char *s;
    size_t l;
    if (!ids || !json_is_string(id))
      continue;
    s = json_string_value(id);
    l = json_string_length(id);
    if (sl && l > sl && strncmp(s, strip, sl) == 0)
      s += sl, l -= sl;
    if (!(v[n] = malloc(l + 1)))
      goto nomem;
    wd_sanitize(v[n], l + 1, s, l);
    n++;
  }
  json_decref(root);
  if (ids)
    *ids = v;
  if (nids)
    *nids = n;
  return 0;
nomem:
  wd_model_ids_free(v, n);
  json_decref(root);
  snprintf(err, errlen, "out of memory");
  return -1;
}

json_t *wd_error_json(const char *body, size_t len, const char *secret,
                      char *msg, size_t msglen) {
  json_t *root = NULL;
  json_error_t je;

  if (msglen)
    msg[0] = '\0';
  if (body && len)
    root = json_loadb(body, len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &je);
  if (!json_is_object(root)) {
    json_decref(root);
    return NULL;
  }
  wd_error_text(root, secret, msg, msglen);
  return root;
}

json_t *wd_json_with(json_t *root, const char *key, json_t *value) {
  /* json_object_set_new frees value when it fails (root NULL included) */
  if (json_object_set_new(root, key, value)) {
    json_decref(root);
    return NULL;
  }
  return root;
}

char *wd_json_dump(json_t *root) {
  char *out;

  if (!root)
    return NULL;
  out = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  return out;
}

int wd_request_models(const struct wd_endpoint *ep, int what, const char *path,
                      struct wd_request *rq) {
  if (what == WD_PROBE_MODELS || what == WD_REQ_LIST)
    return wd_request_fill(rq, wd_url_join(ep->base_url, path, NULL), NULL, 0);
  errno = ENOTSUP;
  return -1;
}

int wd_chat_reply(const char *body, size_t len, const char *usage_key,
                  const char *content_key,
                  void (*usage_of)(const json_t *usage, struct wd_usage *u),
                  struct wd_usage *u, char *err, size_t errlen) {
  json_t *root, *usage;

  if (!(root = wd_chat_json(body, len, usage_key, content_key, &usage, err,
                            errlen)))
    return -1;
  if (usage)
    usage_of(usage, u);
  json_decref(root);
  return 0;
}

int wd_error_classify(const struct wd_model *m, int http_status,
                      const char *body, size_t len, const char *secret, int cls,
                      char *msg, size_t msglen,
                      int (*classify)(const json_t *e, int http_status,
                                      const char *msg)) {
  json_t *root = wd_error_json(body, len, secret, msg, msglen);
  int found;

  if (!root)
    return cls;
  found = classify(json_object_get(root, "error"), http_status, msg);
  if (found >= 0)
    cls = found;
  else
    wd_max_tokens_hint(m, http_status, msg, msglen);
  json_decref(root);
  return cls;
}

static int has_word(const char *s, const char *w) {
  size_t wl = strlen(w);
  for (; *s; s++)
    if (strncasecmp(s, w, wl) == 0)
      return 1;
  return 0;
}

int wd_max_tokens_hint(const struct wd_model *m, int http_status, char *msg,
                       size_t msglen) {
  char copy[512];
  int n = m ? m->max_tokens : 0;

  if (http_status != 400 || msglen == 0 ||
      !(has_word(msg, "max_tokens") || has_word(msg, "max_completion_tokens") ||
        has_word(msg, "maxOutputTokens") || has_word(msg, "reasoning") ||
        has_word(msg, "output limit")))
    return 0;
  snprintf(copy, sizeof copy, "%s", msg);
  if (has_word(copy, "too large") || has_word(copy, "exceed") ||
      has_word(copy, "at most") || has_word(copy, "maximum value"))
    snprintf(msg, msglen,
             "max_tokens = %d is above the model's limit: lower max_tokens "
             "in warmd.conf (%s)",
             n, copy);
  else
    snprintf(msg, msglen,
             "max_tokens = %d is too small (a reasoning model thinks first): "
             "raise max_tokens in warmd.conf (%s)",
             n, copy);
  return 1;
}

int wd_usage_check(const struct wd_model *m, size_t prefix_bytes,
                   const struct wd_usage *u, char *err, size_t errlen) {
  const uint64_t v[] = {u->in, u->out, u->cached, u->reasoning, u->cache_write};
  const char *name[] = {"input", "output", "cached", "reasoning",
                        "cache-write"};

  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (v[i] > WD_USAGE_SANE_MAX) {
      snprintf(err, errlen,
               "usage impossible: %llu %s tokens in one warmup (at most %llu)",
               (unsigned long long)v[i], name[i], WD_USAGE_SANE_MAX);
      return -1;
    }
  if (u->reasoning > u->out || u->cached + u->cache_write > u->in) {
    snprintf(err, errlen,
             "usage impossible: parts larger than the whole (in %llu, cached "
             "%llu, cache-write %llu, out %llu, reasoning %llu)",
             (unsigned long long)u->in, (unsigned long long)u->cached,
             (unsigned long long)u->cache_write, (unsigned long long)u->out,
             (unsigned long long)u->reasoning);
    return -1;
  }
  if (m && u->in > (uint64_t)prefix_bytes + WD_USAGE_PROMPT_SLACK) {
    snprintf(err, errlen,
             "usage impossible: %llu input tokens for a prompt of %zu bytes",
             (unsigned long long)u->in, prefix_bytes + 2);
    return -1;
  }
  if (m && m->max_tokens > 0) {
    /* The visible answer is bounded by max_tokens (reasoning tokens are
     * not, at every provider).  Slack for servers that count a stop token
     * or two: 2 x max_tokens + 16. */
    uint64_t visible = u->out - u->reasoning,
             bound = 2 * (uint64_t)m->max_tokens + 16;
    if (visible > bound) {
      snprintf(err, errlen,
               "usage impossible: %llu output tokens for max_tokens = %d",
               (unsigned long long)visible, m->max_tokens);
      return -1;
    }
  }
  return 0;
}
