/* prov_ollama.c - Ollama's native API (prov_local.h): the load probe's
 * bodies, /api/generate, /api/ps and /api/tags replies, and the max_loaded
 * decision.  Pure: no I/O, no clock reads. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov_local.h"
#include "provider.h"
#include "warmth.h"

/* "600", "-1": seconds, sent as a JSON number; anything else is a
 * duration string that Ollama parses itself. */
static json_t *keep_alive_json(const struct wd_model *m) {
  const char *s = m->keep_alive;
  char *end;
  long long v;
  if (!s || !*s)
    return json_null();
  v = strtoll(s, &end, 10);
  if (!*end)
    return json_integer(v);
  return json_string(s);
}

char *wd_ollama_load_body(const struct wd_model *m) {
  const char *id = wd_model_id(m);
  json_t *ka = keep_alive_json(m);
  if (!id || !ka) {
    json_decref(ka);
    return NULL;
  }
  /* no "prompt": Ollama loads the model and answers at once, no tokens */
  return wd_json_dump(
      json_pack("{s:s, s:o, s:b}", "model", id, "keep_alive", ka, "stream", 0));
}

char *wd_ollama_generate_body(const struct wd_model *m) {
  const char *id = wd_model_id(m);
  json_t *ka = keep_alive_json(m), *root;
  json_int_t n = m->max_tokens > 0 ? m->max_tokens : 1;
  if (!id || !ka) {
    json_decref(ka);
    return NULL;
  }
  root = json_pack("{s:s, s:s, s:o, s:b, s:{s:I}}", "model", id, "prompt", "hi",
                   "keep_alive", ka, "stream", 0, "options", "num_predict", n);
  /* a probe prefix goes as the system prompt, which Ollama keeps in its
   * KV cache for the next request with the same one */
  if (m->prefix && m->prefix[0])
    root = wd_json_with(root, "system", json_string(m->prefix));
  return wd_json_dump(root);
}

int wd_ollama_reply_generate(const char *body, size_t len, struct wd_usage *u,
                             char *err, size_t errlen) {
  json_t *root;
  memset(u, 0, sizeof *u);
  if (!(root = wd_json_object(body, len, err, errlen)))
    return -1;
  /* stream:false gives one object with done:true; a streamed first chunk
   * (done:false) would mean the server ignored us: not an answer */
  if (!json_is_true(json_object_get(root, "done"))) {
    snprintf(err, errlen, "reply is not done (no \"done\": true)");
    json_decref(root);
    return -1;
  }
  u->in = wd_json_tokens(root, "prompt_eval_count");
  u->out = wd_json_tokens(root, "eval_count");
  json_decref(root);
  return 0;
}

/* The length of a name without its ":latest" tag. */
static size_t base_len(const char *s) {
  size_t n = strlen(s);
  if (n > 7 && !strcmp(s + n - 7, ":latest"))
    return n - 7;
  return n;
}

int wd_ollama_same_name(const char *a, const char *b) {
  size_t na = base_len(a), nb = base_len(b);
  return na == nb && !memcmp(a, b, na);
}

int wd_ollama_reply_ps(const char *body, size_t len, const char *id,
                       struct wd_ollama_ps *ps, char *err, size_t errlen) {
  json_t *root, *models, *it;
  size_t i;
  ps->nloaded = 0;
  ps->found = 0;
  ps->expires_unix_ns = -1;
  if (!(root = wd_json_object(body, len, err, errlen)))
    return -1;
  models = json_object_get(root, "models");
  if (!json_is_array(models)) {
    snprintf(err, errlen, "reply has no models array");
    json_decref(root);
    return -1;
  }
  json_array_foreach(models, i, it) {
    const char *name = json_string_value(json_object_get(it, "name"));
    const char *model = json_string_value(json_object_get(it, "model"));
    const char *exp = json_string_value(json_object_get(it, "expires_at"));
    if (!json_is_object(it))
      continue;
    ps->nloaded++;
    if (ps->found || !id ||
        !((name && wd_ollama_same_name(name, id)) ||
          (model && wd_ollama_same_name(model, id))))
      continue;
    ps->found = 1;
    if (!exp || wd_parse_rfc3339(exp, strlen(exp), &ps->expires_unix_ns))
      ps->expires_unix_ns = -1;
  }
  json_decref(root);
  return 0;
}

int wd_ollama_may_load(const struct wd_ollama_ps *ps, int max_loaded) {
  return ps->found || max_loaded <= 0 || ps->nloaded < max_loaded;
}

int64_t wd_ollama_warm_until(const struct wd_ollama_ps *ps, int64_t now_mono,
                             int64_t now_unix) {
  int64_t left;
  if (!ps->found || ps->expires_unix_ns < 0)
    return -1;
  if (ps->expires_unix_ns <= now_unix)
    return now_mono;
  left = ps->expires_unix_ns - now_unix; /* > 0, no overflow: both >= 0 */
  return left > INT64_MAX - now_mono ? INT64_MAX : now_mono + left;
}

int wd_ollama_reply_tags(const char *body, size_t len, char ***ids, int *nids,
                         char *err, size_t errlen) {
  return wd_ids_list(body, len, "models", "name", NULL, ids, nids, err, errlen);
}

/* ---- the adapter (provider.h) ------------------------------------------- */

static int request(const struct wd_endpoint *ep, const struct wd_model *m,
                   int what, struct wd_request *rq) {
  if (what == WD_PROBE_LOAD)
    return wd_request_fill(rq, wd_url_join(ep->base_url, "/api/generate", NULL),
                           wd_ollama_load_body(m), 1);
  if (what == WD_PROBE_CHAT)
    return wd_request_fill(rq, wd_url_join(ep->base_url, "/api/generate", NULL),
                           wd_ollama_generate_body(m), 1);
  return wd_request_models(ep, what, "/api/tags", rq);
}

static int reply(const struct wd_model *m, int what, const char *body,
                 size_t len, struct wd_reply *out, char *err, size_t errlen) {
  (void)m;
  if (what == WD_PROBE_LOAD || what == WD_PROBE_CHAT)
    return wd_ollama_reply_generate(body, len, &out->u, err, errlen);
  return wd_ollama_reply_tags(body, len, NULL, NULL, err, errlen);
}

/* Ids as a model's `id =` may name them: "qwen:latest" is also listed as
 * "qwen", so a plain comparison finds either spelling. */
static int models(const char *body, size_t len, char ***ids, int *nids,
                  char *err, size_t errlen) {
  char **v, **w = NULL;
  int n, k = 0;
  if (wd_ollama_reply_tags(body, len, &v, &n, err, errlen))
    return -1;
  if (!ids) {
    wd_model_ids_free(v, n);
    return 0;
  }
  if (n && !(w = calloc((size_t)n * 2, sizeof *w))) {
    wd_model_ids_free(v, n);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (int i = 0; i < n; i++) {
    size_t l = strlen(v[i]);
    w[k++] = v[i];
    if (l > 7 && !strcmp(v[i] + l - 7, ":latest") &&
        (w[k] = strndup(v[i], l - 7)))
      k++;
  }
  free(v);
  *ids = w;
  *nids = k;
  return 0;
}

/* Loads and generates are checked against /api/ps first (max_loaded) and
 * after (expires_at); the model list needs neither. */
static int ps_request(const struct wd_endpoint *ep, const struct wd_model *m,
                      int what, struct wd_request *rq) {
  (void)m;
  rq->url = rq->body = NULL;
  if (what != WD_PROBE_LOAD && what != WD_PROBE_CHAT)
    return 1;
  return wd_request_fill(rq, wd_url_join(ep->base_url, "/api/ps", NULL), NULL,
                         0);
}

/* At most ten years: warm_until is a monotonic time, and keep_alive -1
 * ("forever", year 2318) must not overflow it. */
#define WARM_FOR_MAX (10LL * 366 * 86400 * WD_NS_PER_S)
/* A client's keep_alive counts as longer than ours only past this margin,
 * so the rounding of expires_at never skips a warmup of our own. */
#define KEEP_MARGIN_NS (5 * WD_NS_PER_S)

static int64_t clamp_for(int64_t ns) {
  return ns < 0 ? -1 : ns > WARM_FOR_MAX ? WARM_FOR_MAX : ns;
}

/* The /api/ps reply of a pre- or post-check, read for m: 0, or -1 with a
 * reason in err. */
static int read_ps(const struct wd_model *m, int http_status, const char *body,
                   size_t len, struct wd_ollama_ps *ps, char *err,
                   size_t errlen) {
  char why[120];
  if (http_status != 200) {
    snprintf(err, errlen, "GET /api/ps: HTTP %d", http_status);
    return -1;
  }
  if (wd_ollama_reply_ps(body, len, wd_model_id(m), ps, why, sizeof why)) {
    snprintf(err, errlen, "GET /api/ps: %s", why);
    return -1;
  }
  return 0;
}

static int pre_reply(const struct wd_endpoint *ep, const struct wd_model *m,
                     int pending, int64_t now_unix_ns, int http_status,
                     const char *body, size_t len, struct wd_reply *out,
                     char *err, size_t errlen) {
  struct wd_ollama_ps ps;
  int64_t left;
  if (read_ps(m, http_status, body, len, &ps, err, errlen))
    return -1;
  /* Loaded by a client for longer than our keep_alive would keep it: a
   * load now would cut that short (Ollama sets expires_at anew at every
   * request).  Nothing to send; it is loaded, so warm until then. */
  left = wd_ollama_warm_until(&ps, 0, now_unix_ns);
  if (m->keep_alive_ns != WD_KEEP_FOREVER && m->keep_alive_ns > 0 &&
      left > m->keep_alive_ns + KEEP_MARGIN_NS) {
    out->warm_for_ns = clamp_for(left);
    snprintf(err, errlen,
             "loaded for longer than keep_alive by another client: no load");
    return 1;
  }
  /* Loads of this endpoint already on their way count as loaded. */
  ps.nloaded += ps.found ? 0 : pending;
  if (!wd_ollama_may_load(&ps, ep->max_loaded)) {
    snprintf(err, errlen,
             "not loaded: %d models loaded or loading, max_loaded %d",
             ps.nloaded, ep->max_loaded);
    return 1;
  }
  out->adds = !ps.found;
  return 0;
}

static int post_reply(const struct wd_endpoint *ep, const struct wd_model *m,
                      int64_t now_unix_ns, int http_status, const char *body,
                      size_t len, struct wd_reply *out, char *err,
                      size_t errlen) {
  struct wd_ollama_ps ps;
  int64_t until;
  (void)ep;
  if (read_ps(m, http_status, body, len, &ps, err, errlen))
    return -1;
  if (!ps.found) { /* unloaded at once: evicted, or keep_alive 0 */
    snprintf(err, errlen, "the model is not in /api/ps after the load");
    return -1;
  }
  until = wd_ollama_warm_until(&ps, 0, now_unix_ns);
  out->warm_for_ns = clamp_for(until);
  return 0;
}

const struct wd_provider wd_prov_ollama = {
    .name = "ollama",
    .kind = WD_KIND_OLLAMA,
    .request = request,
    /* Ollama has no auth of its own; a key is for a proxy in front of it,
     * which takes it as OpenAI does (Bearer) */
    .headers = wd_openai_headers,
    .reply = reply,
    .models = models,
    .error = wd_openai_error, /* {"error":"model 'x' not found"}: 404 */
    .pre_request = ps_request,
    .pre_reply = pre_reply,
    .post_request = ps_request,
    .post_reply = post_reply,
};
