/* prov_anthropic.c - kind = anthropic: the Messages API.
 *
 *   chat    POST {base}/messages
 *           {"model":ID,"max_tokens":N,"system":[{"type":"text",
 *            "text":PREFIX,"cache_control":{"type":"ephemeral"}}]?,
 *            "thinking":{"type":"disabled"}?,
 *            "messages":[{"role":"user","content":"hi"}]}
 *           Anthropic caches a prompt only up to a block marked with
 *           cache_control, so the prefix goes in as such a block: as a plain
 *           string it would never be cached and the probe would warm
 *           nothing.
 *   models  GET {base}/models (pages by 20 unless asked: ?limit=1000 for
 *           the list) -> {"data":[{"id":...}]}
 *   auth    x-api-key: KEY, anthropic-version: V
 *   usage   input_tokens leaves out cache reads and writes: in = input +
 *           cache_creation_input_tokens + cache_read_input_tokens,
 *           cached = cache_read, cache_write = cache_creation, out =
 *           output_tokens (thinking included, not reported apart: 0)
 *   errors  {"type":"error","error":{"type","message"}}; a missing model is
 *           404 not_found_error
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"
#include "reply.h"
#include "util.h"
#include "warmth.h"

static char *body_of(const struct wd_model *m) {
  const char *id = wd_model_id(m);
  json_int_t n = m->max_tokens > 0 ? m->max_tokens : 1;
  const char *prefix = (m->prefix && m->prefix[0]) ? m->prefix : NULL;
  json_t *root;

  if (!id)
    return NULL;
  root = json_pack("{s:s, s:I, s:[{s:s, s:s}]}", "model", id, "max_tokens", n,
                   "messages", "role", "user", "content", "hi");
  if (prefix)
    root =
        wd_json_with(root, "system",
                     json_pack("[{s:s, s:s, s:{s:s}}]", "type", "text", "text",
                               prefix, "cache_control", "type", "ephemeral"));
  if (m->thinking == WD_THINKING_OFF)
    root =
        wd_json_with(root, "thinking", json_pack("{s:s}", "type", "disabled"));
  return wd_json_dump(root);
}

static int request(const struct wd_endpoint *ep, const struct wd_model *m,
                   int what, struct wd_request *rq) {
  if (what == WD_PROBE_CHAT)
    return wd_request_fill(rq, wd_url_join(ep->base_url, "/messages", NULL),
                           body_of(m), 1);
  return wd_request_models(ep, what, "/models?limit=1000", rq);
}

static int headers(const struct wd_endpoint *ep, const char *key,
                   wd_header_fn add, void *arg) {
  const char *v = ep->anthropic_version ? ep->anthropic_version
                                        : WD_DEFAULT_ANTHROPIC_VERSION;
  if (key && add(arg, "x-api-key", key, NULL))
    return -1;
  return add(arg, "anthropic-version", v, NULL);
}

static void usage_of(const json_t *usage, struct wd_usage *u) {
  u->cached = wd_json_tokens(usage, "cache_read_input_tokens");
  u->cache_write = wd_json_tokens(usage, "cache_creation_input_tokens");
  u->in = wd_tokens_add(wd_json_tokens(usage, "input_tokens"),
                        wd_tokens_add(u->cached, u->cache_write));
  u->out = wd_json_tokens(usage, "output_tokens");
}

static int reply(const struct wd_model *m, int what, const char *body,
                 size_t len, struct wd_reply *out, char *err, size_t errlen) {
  (void)m;
  if (what != WD_PROBE_CHAT)
    return wd_openai_models(body, len, NULL, NULL, err, errlen);
  return wd_chat_reply(body, len, "usage", "content", usage_of, &out->u, err,
                       errlen);
}

static int classify(const json_t *e, int http_status, const char *msg) {
  const json_t *t;

  (void)msg;
  if (http_status == 404 && json_is_object(e) &&
      json_is_string(t = json_object_get(e, "type")) &&
      strcmp(json_string_value(t), "not_found_error") == 0)
    return WARMTH_ERR_MODEL;
  return -1;
}

static int error(const struct wd_model *m, int http_status, const char *body,
                 size_t len, const char *secret, int cls, char *msg,
                 size_t msglen) {
  return wd_error_classify(m, http_status, body, len, secret, cls, msg, msglen,
                           classify);
}

const struct wd_provider wd_prov_anthropic = {
    .name = "anthropic",
    .kind = WD_KIND_ANTHROPIC,
    .request = request,
    .headers = headers,
    .reply = reply,
    .models = wd_openai_models,
    .error = error,
};
