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

  gen = json_pack("{s:I}", "maxOutputTokens", n);
  if (m->thinking == WD_THINKING_OFF)
    gen = wd_json_with(gen, "thinkingConfig",
                       json_pack("{s:i}", "thinkingBudget", 0));
  if (!gen)
    return NULL;
  root = json_pack("{s:[{s:s, s:[{s:s}]}], s:o}", "contents", "role", "user",
                   "parts", "text", "hi", "generationConfig", gen);
  if (prefix)
    root = wd_json_with(root, "systemInstruction",
                        json_pack("{s:[{s:s}]}", "parts", "text", prefix));
  return wd_json_dump(root);
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
  return wd_request_models(ep, what, "/models?pageSize=1000", rq);
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

static void usage_of(const json_t *um, struct wd_usage *u) {
  u->in = wd_tokens_add(wd_json_tokens(um, "promptTokenCount"),
                        wd_json_tokens(um, "toolUsePromptTokenCount"));
  u->cached = wd_json_tokens(um, "cachedContentTokenCount");
  u->reasoning = wd_json_tokens(um, "thoughtsTokenCount");
  u->out =
      wd_tokens_add(wd_json_tokens(um, "candidatesTokenCount"), u->reasoning);
}

static int reply(const struct wd_model *m, int what, const char *body,
                 size_t len, struct wd_reply *out, char *err, size_t errlen) {
  (void)m;
  if (what != WD_PROBE_CHAT)
    return models(body, len, NULL, NULL, err, errlen);
  return wd_chat_reply(body, len, "usageMetadata", "candidates", usage_of,
                       &out->u, err, errlen);
}

static int classify(const json_t *e, int http_status, const char *msg) {
  const json_t *st;
  const char *status = "";

  if (json_is_object(e) && json_is_string(st = json_object_get(e, "status")))
    status = json_string_value(st);
  if (http_status == 404 && strcmp(status, "NOT_FOUND") == 0)
    return WARMTH_ERR_MODEL;
  if (http_status == 400 && strcasestr(msg, "API key"))
    return WARMTH_ERR_AUTH; /* Gemini refuses a bad key with a 400 */
  return -1;
}

static int error(const struct wd_model *m, int http_status, const char *body,
                 size_t len, const char *secret, int cls, char *msg,
                 size_t msglen) {
  return wd_error_classify(m, http_status, body, len, secret, cls, msg, msglen,
                           classify);
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
