/* prov_openai.c - kind = openai: the OpenAI API and everything that copies
 * it (relays, gateways, local servers).  Its pieces are exported
 * (provider.h, wd_openai_*) because azure and local servers speak the same
 * bodies under other URLs and headers.
 *
 *   chat    POST {base}/chat/completions
 *           {"model":ID,"messages":[{"role":"system","content":PREFIX}?,
 *            {"role":"user","content":"hi"}],"max_tokens"|
 *            "max_completion_tokens":N,"reasoning_effort":E?}
 *   models  GET {base}/models -> {"data":[{"id":...}]}
 *   auth    Authorization: Bearer KEY
 *   usage   prompt_tokens (cached: prompt_tokens_details.cached_tokens),
 *           completion_tokens (reasoning: completion_tokens_details.
 *           reasoning_tokens, a part of completion_tokens)
 *   errors  {"error":{"message","type","code"}}; a missing model is
 *           404 code model_not_found (relays: "... does not exist")
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

static const char *effort_word(int e) {
  switch (e) {
  case WD_EFFORT_MINIMAL:
    return "minimal";
  case WD_EFFORT_LOW:
    return "low";
  case WD_EFFORT_MEDIUM:
    return "medium";
  case WD_EFFORT_HIGH:
    return "high";
  default:
    return NULL;
  }
}

char *wd_openai_body(const struct wd_model *m, int with_model) {
  const char *id = wd_model_id(m), *effort = effort_word(m->reasoning_effort);
  json_int_t n = m->max_tokens > 0 ? m->max_tokens : 1;
  const char *prefix = (m->prefix && m->prefix[0]) ? m->prefix : NULL;
  const char *param = m->max_tokens_param == WD_MAX_COMPLETION_TOKENS
                          ? "max_completion_tokens"
                          : "max_tokens";
  json_t *root, *msgs;

  if (!id)
    return NULL;
  /* json_pack fails (NULL) on a NULL or non-UTF-8 string: no bad JSON. */
  if (prefix)
    msgs = json_pack("[{s:s, s:s}, {s:s, s:s}]", "role", "system", "content",
                     prefix, "role", "user", "content", "hi");
  else
    msgs = json_pack("[{s:s, s:s}]", "role", "user", "content", "hi");
  if (!msgs)
    return NULL;
  if (with_model)
    root =
        json_pack("{s:s, s:o, s:I}", "model", id, "messages", msgs, param, n);
  else
    root = json_pack("{s:o, s:I}", "messages", msgs, param, n);
  if (effort)
    root = wd_json_with(root, "reasoning_effort", json_string(effort));
  return wd_json_dump(root);
}

static void usage_of(const json_t *usage, struct wd_usage *u) {
  const json_t *pd = json_object_get(usage, "prompt_tokens_details");
  const json_t *cd = json_object_get(usage, "completion_tokens_details");
  u->in = wd_json_tokens(usage, "prompt_tokens");
  u->out = wd_json_tokens(usage, "completion_tokens");
  u->cached = wd_json_tokens(pd, "cached_tokens"); /* 0 when absent */
  u->reasoning = wd_json_tokens(cd, "reasoning_tokens");
}

int wd_openai_reply(const struct wd_model *m, int what, const char *body,
                    size_t len, struct wd_reply *out, char *err,
                    size_t errlen) {
  (void)m;
  if (what == WD_PROBE_CHAT)
    return wd_chat_reply(body, len, "usage", "choices", usage_of, &out->u, err,
                         errlen);
  return wd_openai_models(body, len, NULL, NULL, err, errlen);
}

int wd_openai_models(const char *body, size_t len, char ***ids, int *nids,
                     char *err, size_t errlen) {
  return wd_ids_list(body, len, "data", "id", NULL, ids, nids, err, errlen);
}

static int str_is(const json_t *o, const char *key, const char *want) {
  const json_t *v = json_object_get(o, key);
  return json_is_string(v) && strcasecmp(json_string_value(v), want) == 0;
}

static int classify(const json_t *e, int http_status, const char *msg) {
  if (http_status == 404 &&
      ((json_is_object(e) && (str_is(e, "code", "model_not_found") ||
                              str_is(e, "code", "DeploymentNotFound"))) ||
       /* vLLM, llama.cpp and relays: "The model `x` does not exist." */
       (strcasestr(msg, "model") &&
        (strcasestr(msg, "does not exist") || strcasestr(msg, "not found")))))
    return WARMTH_ERR_MODEL;
  return -1;
}

int wd_openai_error(const struct wd_model *m, int http_status, const char *body,
                    size_t len, const char *secret, int cls, char *msg,
                    size_t msglen) {
  return wd_error_classify(m, http_status, body, len, secret, cls, msg, msglen,
                           classify);
}

int wd_openai_request(const struct wd_endpoint *ep, const struct wd_model *m,
                      int what, struct wd_request *rq) {
  if (what == WD_PROBE_CHAT)
    return wd_request_fill(rq,
                           wd_url_join(ep->base_url, "/chat/completions", NULL),
                           wd_openai_body(m, 1), 1);
  return wd_request_models(ep, what, "/models", rq);
}

int wd_openai_headers(const struct wd_endpoint *ep, const char *key,
                      wd_header_fn add, void *arg) {
  (void)ep;
  return key ? add(arg, "Authorization", "Bearer ", key) : 0;
}

const struct wd_provider wd_prov_openai = {
    .name = "openai",
    .kind = WD_KIND_OPENAI,
    .request = wd_openai_request,
    .headers = wd_openai_headers,
    .reply = wd_openai_reply,
    .models = wd_openai_models,
    .error = wd_openai_error,
};
