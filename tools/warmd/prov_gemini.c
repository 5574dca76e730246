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
  const char *id;
  char *eid, *url = NULL;

  if (what == WD_PROBE_CHAT) {
    id = wd_model_id(m);
    if ((eid = wd_url_escape(id, 1)))
      url = wd_url_join(ep->base_url, strchr(id, '/') ? "/" : "/models/", eid,
                        ":generateContent", NULL);
    free(eid);
    return wd_request_fill(rq, url, body_of(m), 1);
  }
  if (what == WD_PROBE_MODELS || what == WD_REQ_LIST)
    return wd_request_fill(
        rq, wd_url_join(ep->base_url, "/models?pageSize=1000", NULL), NULL, 0);
  errno = ENOTSUP;
  return -1;
}

static int headers(const struct wd_endpoint *ep, const char *key,
                   wd_header_fn add, void *arg) {
  (void)ep;
  return key ? add(arg, "x-goog-api-key", key, NULL) : 0;
}

/* ids as `id =` names them: "models/gemini-2.5-flash" -> the part after
 * "models/"; tuned models keep their "tunedModels/" */
static int models(const char *body, size_t len, char ***ids, int *nids,
                  char *err, size_t errlen) {
  return wd_ids_list(body, len, "models", "name", "models/", ids, nids, err,
                     errlen);
}

static int reply(const struct wd_model *m, int what, const char *body,
                 size_t len, struct wd_reply *out, char *err, size_t errlen) {
  json_t *root, *um;
  struct wd_usage *u = &out->u;

  (void)m;
  if (what != WD_PROBE_CHAT)
    return models(body, len, NULL, NULL, err, errlen);
  if (!(root = wd_chat_json(body, len, "usageMetadata", "candidates", &um, err,
                            errlen)))
    return -1;
  if (um) {
    u->in = wd_tokens_add(wd_json_tokens(um, "promptTokenCount"),
                          wd_json_tokens(um, "toolUsePromptTokenCount"));
    u->cached = wd_json_tokens(um, "cachedContentTokenCount");
    u->reasoning = wd_json_tokens(um, "thoughtsTokenCount");
    u->out =
        wd_tokens_add(wd_json_tokens(um, "candidatesTokenCount"), u->reasoning);
  }
  json_decref(root);
  return 0;
}

static int error(const struct wd_model *m, int http_status, const char *body,
                 size_t len, const char *secret, int cls, char *msg,
                 size_t msglen) {
  json_t *root = wd_error_json(body, len, secret, msg, msglen);
  const json_t *e, *st;
  const char *status = "";

  if (!root)
    return cls;
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
