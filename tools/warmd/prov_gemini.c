/* prov_gemini.c - kind = gemini: the Gemini API (generativelanguage).
 *
 *   base    https://generativelanguage.googleapis.com/v1beta
 *   chat    POST {base}/models/{id}:generateContent ({base}/{id}:... when
 *           the id has a '/', e.g. tunedModels/x)
 *           {"systemInstruction":{"parts":[{"text":PREFIX}]}?,
 *            "contents":[{"role":"user","parts":[{"text":"hi"}]}],
 *            "generationConfig":{"maxOutputTokens":N,
 *             "thinkingConfig":{"thinkingBudget":0}?}}
 *   models  GET {base}/models?pageSize=1000 -> {"models":[{"name":
 *           "models/ID"}]}: ids without the "models/"
 *   auth    x-goog-api-key: KEY
 *   usage   usageMetadata: in = promptTokenCount (+ toolUsePromptTokenCount),
 *           cached = cachedContentTokenCount (a part of the prompt), out =
 *           candidatesTokenCount + thoughtsTokenCount (thoughts are billed
 *           as output), reasoning = thoughtsTokenCount
 *   errors  {"error":{"code","message","status"}}; a missing model is 404
 *           NOT_FOUND; a bad key is 400 INVALID_ARGUMENT "API key not
 *           valid" (class auth, so it is not retried)
 */
#define _GNU_SOURCE /* strcasestr */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider.h"
#include "reply.h"
#include "warmth.h"

static char *body_of(const struct wd_model *m) {
  json_int_t n = m->max_tokens > 0 ? m->max_tokens : 1;
  const char *prefix = (m->prefix && m->prefix[0]) ? m->prefix : NULL;
  json_t *root, *gen;
  char *out;

  gen = json_pack("{s:I}", "maxOutputTokens", n);
  if (gen && m->thinking == WD_THINKING_OFF &&
      json_object_set_new(gen, "thinkingConfig",
                          json_pack("{s:i}", "thinkingBudget", 0))) {
    json_decref(gen);
    return NULL;
  }
  if (!gen)
    return NULL;
  root = json_pack("{s:[{s:s, s:[{s:s}]}], s:o}", "contents", "role", "user",
                   "parts", "text", "hi", "generationConfig", gen);
  if (root && prefix &&
      json_object_set_new(root, "systemInstruction",
                          json_pack("{s:[{s:s}]}", "parts", "text", prefix))) {
    json_decref(root);
    return NULL;
  }
  if (!root)
    return NULL;
  out = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  return out;
}

static int request(const struct wd_endpoint *ep, const struct wd_model *m,
                   int what, struct wd_request *rq) {
  rq->url = rq->body = NULL;
  if (what == WD_PROBE_CHAT) {
    const char *id = wd_model_id(m);
    char *eid;
    if (!id || !(rq->body = body_of(m)) || !(eid = wd_url_escape(id, 1))) {
      free(rq->body);
      rq->body = NULL;
      errno = EINVAL;
      return -1;
    }
    rq->url = wd_url_join(ep->base_url, strchr(id, '/') ? "/" : "/models/", eid,
                          ":generateContent", NULL);
    free(eid);
  } else if (what == WD_PROBE_MODELS || what == WD_REQ_LIST) {
    rq->url = wd_url_join(ep->base_url, "/models?pageSize=1000", NULL);
  } else {
    errno = ENOTSUP;
    return -1;
  }
  if (!rq->url) {
    free(rq->body);
    rq->body = NULL;
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

static int headers(const struct wd_endpoint *ep, const char *key,
                   wd_header_fn add, void *arg) {
  (void)ep;
  return key ? add(arg, "x-goog-api-key", key, NULL) : 0;
}

static int models(const char *body, size_t len, char ***ids, int *nids,
                  char *err, size_t errlen) {
  json_t *root, *list, *it;
  char **v = NULL;
  int n = 0;
  size_t i;

  if (ids)
    *ids = NULL;
  if (nids)
    *nids = 0;
  if (!(root = wd_json_object(body, len, err, errlen)))
    return -1;
  list = json_object_get(root, "models");
  if (!json_is_array(list)) {
    snprintf(err, errlen, "reply has no models array");
    json_decref(root);
    return -1;
  }
  if (ids && json_array_size(list) > 0 &&
      !(v = calloc(json_array_size(list), sizeof *v)))
    goto nomem;
  json_array_foreach(list, i, it) {
    const json_t *name = json_object_get(it, "name");
    const char *s;
    size_t l;
    if (!ids || !json_is_string(name))
      continue;
    s = json_string_value(name);
    l = json_string_length(name);
    if (l > 7 && strncmp(s, "models/", 7) == 0) /* as `id =` names it */
      s += 7, l -= 7;
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

static int reply(const struct wd_model *m, int what, const char *body,
                 size_t len, struct wd_reply *out, char *err, size_t errlen) {
  json_t *root, *um;
  struct wd_usage *u = &out->u;

  (void)m;
  if (what != WD_PROBE_CHAT)
    return models(body, len, NULL, NULL, err, errlen);
  if (!(root = wd_json_object(body, len, err, errlen)))
    return -1;
  um = json_object_get(root, "usageMetadata");
  if (!json_is_object(um) &&
      !json_is_array(json_object_get(root, "candidates"))) {
    snprintf(err, errlen, "reply has neither usageMetadata nor candidates");
    json_decref(root);
    return -1;
  }
  if (json_is_object(um)) {
    /* Each part is at most 2^32: the sums cannot wrap. */
    u->in = wd_json_tokens(um, "promptTokenCount") +
            wd_json_tokens(um, "toolUsePromptTokenCount");
    u->cached = wd_json_tokens(um, "cachedContentTokenCount");
    u->reasoning = wd_json_tokens(um, "thoughtsTokenCount");
    u->out = wd_json_tokens(um, "candidatesTokenCount") + u->reasoning;
    if (u->in > WD_REPLY_TOKENS_MAX)
      u->in = WD_REPLY_TOKENS_MAX;
    if (u->out > WD_REPLY_TOKENS_MAX)
      u->out = WD_REPLY_TOKENS_MAX;
  }
  json_decref(root);
  return 0;
}

static int error(const struct wd_model *m, int http_status, const char *body,
                 size_t len, const char *secret, int cls, char *msg,
                 size_t msglen) {
  json_t *root = NULL;
  const json_t *e, *st;
  json_error_t je;
  const char *status = "";

  if (msglen)
    msg[0] = '\0';
  if (body && len)
    root = json_loadb(body, len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &je);
  if (!json_is_object(root)) {
    json_decref(root);
    return cls;
  }
  wd_error_text(root, secret, msg, msglen);
  e = json_object_get(root, "error");
  if (json_is_object(e) && json_is_string(st = json_object_get(e, "status")))
    status = json_string_value(st);
  if (http_status == 404 && strcmp(status, "NOT_FOUND") == 0)
    cls = WARMTH_ERR_MODEL;
  else if (http_status == 400 && strcasestr(msg, "API key"))
    cls = WARMTH_ERR_AUTH; /* Gemini refuses a bad key with a 400 */
  else
    wd_max_tokens_hint(m, http_status, msg, msglen);
  json_decref(root);
  return cls;
}

const struct wd_provider wd_prov_gemini = {
    .name = "gemini",
    .kind = WD_KIND_GEMINI,
    .request = request,
    .headers = headers,
    .reply = reply,
    .models = models,
    .error = error,
};
