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
  char *out;

  if (!id)
    return NULL;
  root = json_pack("{s:s, s:I, s:[{s:s, s:s}]}", "model", id, "max_tokens", n,
                   "messages", "role", "user", "content", "hi");
  if (root && prefix &&
      json_object_set_new(root, "system",
                          json_pack("[{s:s, s:s, s:{s:s}}]", "type", "text",
                                    "text", prefix, "cache_control", "type",
                                    "ephemeral"))) {
    json_decref(root);
    return NULL;
  }
  if (root && m->thinking == WD_THINKING_OFF &&
      json_object_set_new(root, "thinking",
                          json_pack("{s:s}", "type", "disabled"))) {
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
  if (what == WD_PROBE_CHAT)
    return wd_request_fill(rq, wd_url_join(ep->base_url, "/messages", NULL),
                           body_of(m), 1);
  if (what == WD_PROBE_MODELS || what == WD_REQ_LIST)
    return wd_request_fill(
        rq, wd_url_join(ep->base_url, "/models?limit=1000", NULL), NULL, 0);
  errno = ENOTSUP;
  return -1;
}

static int headers(const struct wd_endpoint *ep, const char *key,
                   wd_header_fn add, void *arg) {
  const char *v = ep->anthropic_version ? ep->anthropic_version
                                        : WD_DEFAULT_ANTHROPIC_VERSION;
  if (key && add(arg, "x-api-key", key, NULL))
    return -1;
  return add(arg, "anthropic-version", v, NULL);
}

static int reply(const struct wd_model *m, int what, const char *body,
                 size_t len, struct wd_reply *out, char *err, size_t errlen) {
  json_t *root, *usage;
  struct wd_usage *u = &out->u;

  (void)m;
  if (what != WD_PROBE_CHAT)
    return wd_openai_models(body, len, NULL, NULL, err, errlen);
  if (!(root =
            wd_chat_json(body, len, "usage", "content", &usage, err, errlen)))
    return -1;
  if (usage) {
    u->cached = wd_json_tokens(usage, "cache_read_input_tokens");
    u->cache_write = wd_json_tokens(usage, "cache_creation_input_tokens");
    u->in = wd_tokens_add(wd_json_tokens(usage, "input_tokens"),
                          wd_tokens_add(u->cached, u->cache_write));
    u->out = wd_json_tokens(usage, "output_tokens");
  }
  json_decref(root);
  return 0;
}

static int error(const struct wd_model *m, int http_status, const char *body,
                 size_t len, const char *secret, int cls, char *msg,
                 size_t msglen) {
  json_t *root = wd_error_json(body, len, secret, msg, msglen);
  const json_t *e, *t;

  if (!root)
    return cls;
  e = json_object_get(root, "error");
  if (http_status == 404 && json_is_object(e) &&
      json_is_string(t = json_object_get(e, "type")) &&
      strcmp(json_string_value(t), "not_found_error") == 0)
    cls = WARMTH_ERR_MODEL;
  wd_max_tokens_hint(m, http_status, msg, msglen);
  json_decref(root);
  return cls;
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
