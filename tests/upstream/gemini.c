/* Gemini (generativelanguage v1beta): POST /v1beta/models/ID:generateContent
 * and GET /v1beta/models, with the key in an `x-goog-api-key` header.
 *
 * A request is translated into api.c's OpenAI chat (so the model table,
 * faults, rate limits, prefix cache and counters are shared) and the reply
 * back into Gemini's shape:
 *   systemInstruction.parts[].text -> a system message (the cached prefix)
 *   contents[].parts[].text        -> messages
 *   generationConfig.maxOutputTokens -> max_tokens
 *   thinking: on unless generationConfig.thinkingConfig.thinkingBudget is 0
 *     (then 16 reasoning tokens, reported as thoughtsTokenCount)
 *   usageMetadata: promptTokenCount, candidatesTokenCount (without the
 *     thoughts), thoughtsTokenCount, cachedContentTokenCount (part of the
 *     prompt), totalTokenCount
 * Errors come back as {"error":{"code","message","status"}}; a refused key
 * is a 400 INVALID_ARGUMENT "API key not valid", as the real service says. */
#include "config.h"

#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT "/v1beta/models"
#define VERB ":generateContent"

static const char *status_word(int status) {
  switch (status) {
  case 400:
    return "INVALID_ARGUMENT";
  case 401:
    return "UNAUTHENTICATED";
  case 403:
    return "PERMISSION_DENIED";
  case 404:
    return "NOT_FOUND";
  case 429:
    return "RESOURCE_EXHAUSTED";
  case 503:
    return "UNAVAILABLE";
  default:
    return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

static void gemini_error(struct up_reply *out, int status, const char *msg) {
  up_reply_json(out, status,
                json_pack("{s:{s:i,s:s,s:s}}", "error", "code", status,
                          "message", msg, "status", status_word(status)));
}

/* Text of a Gemini content ({"parts":[{"text":...}]}), joined. */
static json_t *text_of(json_t *content) {
  json_t *part, *parts = json_object_get(content, "parts");
  size_t i, n = 1;
  char *buf;
  json_array_foreach(parts, i, part) {
    n += json_string_length(json_object_get(part, "text"));
  }
  if (!(buf = calloc(1, n)))
    return json_string("");
  json_array_foreach(parts, i, part) {
    const char *t = json_string_value(json_object_get(part, "text"));
    if (t)
      strcat(buf, t);
  }
  json_t *s = json_string(buf);
  free(buf);
  return s ? s : json_string("");
}

/* The OpenAI chat body for a generateContent body; NULL with *why. */
static json_t *to_openai(json_t *g, const char *id, const char **why) {
  json_t *msgs = json_array(), *c,
         *sys = json_object_get(g, "systemInstruction");
  json_t *gen = json_object_get(g, "generationConfig");
  json_t *budget =
      json_object_get(json_object_get(gen, "thinkingConfig"), "thinkingBudget");
  json_t *maxo = json_object_get(gen, "maxOutputTokens");
  size_t i;

  if (!json_is_array(json_object_get(g, "contents")) ||
      !json_array_size(json_object_get(g, "contents"))) {
    *why = "* GenerateContentRequest.contents: contents is not specified";
    json_decref(msgs);
    return NULL;
  }
  if (sys)
    json_array_append_new(msgs, json_pack("{s:s,s:o}", "role", "system",
                                          "content", text_of(sys)));
  json_array_foreach(json_object_get(g, "contents"), i, c) {
    const char *role = json_string_value(json_object_get(c, "role"));
    json_array_append_new(
        msgs, json_pack("{s:s,s:o}", "role",
                        role && !strcmp(role, "model") ? "assistant" : "user",
                        "content", text_of(c)));
  }
  json_t *o = json_pack("{s:s,s:o}", "model", id, "messages", msgs);
  if (maxo)
    json_object_set(o, "max_tokens", maxo);
  /* thinking is on by default (Gemini 2.5); a budget of 0 turns it off */
  if (!(json_is_integer(budget) && json_integer_value(budget) == 0))
    json_object_set_new(o, "reasoning_effort", json_string("medium"));
  return o;
}

/* api.c's OpenAI reply -> Gemini's; errors -> Gemini's error shape. */
static void to_gemini(struct up_reply *out, const char *id) {
  json_t *o = out->body ? json_loadb(out->body, out->len, 0, NULL) : NULL;
  if (!json_is_object(o) || out->mode != UP_BODY_PLAIN) {
    json_decref(o); /* a fault's body (bad JSON, big, slow) stays as it is */
    return;
  }
  if (out->status != 200) {
    const char *msg = json_string_value(
        json_object_get(json_object_get(o, "error"), "message"));
    char copy[512];
    snprintf(copy, sizeof copy, "%s", msg ? msg : "error");
    if (out->status == 401) {
      gemini_error(out, 400, "API key not valid. Please pass a valid API key.");
    } else if (out->status == 404) { /* naming the model, as Gemini does */
      char m[600];
      snprintf(m, sizeof m,
               "models/%s is not found for API version v1beta, or is not "
               "supported for generateContent.",
               id);
      gemini_error(out, 404, m);
    } else {
      gemini_error(out, out->status, copy);
    }
    json_decref(o);
    return;
  }
  json_t *u = json_object_get(o, "usage");
  json_int_t p = json_integer_value(json_object_get(u, "prompt_tokens"));
  json_int_t c = json_integer_value(json_object_get(u, "completion_tokens"));
  json_int_t r = json_integer_value(json_object_get(
      json_object_get(u, "completion_tokens_details"), "reasoning_tokens"));
  json_int_t k = json_integer_value(json_object_get(
      json_object_get(u, "prompt_tokens_details"), "cached_tokens"));
  json_t *meta =
      json_pack("{s:I,s:I,s:I}", "promptTokenCount", p, "candidatesTokenCount",
                c - r, "totalTokenCount", p + c);
  if (r > 0)
    json_object_set_new(meta, "thoughtsTokenCount", json_integer(r));
  if (k > 0)
    json_object_set_new(meta, "cachedContentTokenCount", json_integer(k));
  up_reply_json(out, 200,
                json_pack("{s:[{s:{s:[{s:s}],s:s},s:s,s:i}],s:o,s:s,s:s}",
                          "candidates", "content", "parts", "text", "hi",
                          "role", "model", "finishReason", "STOP", "index", 0,
                          "usageMetadata", meta, "modelVersion", id,
                          "responseId", "up-gemini"));
  json_decref(o);
}

static void list(const struct up_http *h, struct up_reply *out) {
  struct up_call call;
  memset(&call, 0, sizeof call);
  call.auth_ok = true;
  call.via = UP_VIA_GEMINI;
  up_api_list(&call, out);
  json_t *o = out->body ? json_loadb(out->body, out->len, 0, NULL) : NULL;
  json_t *data = json_object_get(o, "data"), *it;
  size_t i;
  (void)h;
  if (out->status == 200 && json_is_array(data)) {
    json_t *models = json_array();
    json_array_foreach(data, i, it) {
      const char *id = json_string_value(json_object_get(it, "id"));
      char name[UP_NAME_MAX + 8];
      snprintf(name, sizeof name, "models/%s", id ? id : "");
      json_array_append_new(models, json_pack("{s:s,s:s,s:[s]}", "name", name,
                                              "displayName", id ? id : "",
                                              "supportedGenerationMethods",
                                              "generateContent"));
    }
    up_reply_json(out, 200, json_pack("{s:o}", "models", models));
  }
  json_decref(o);
}

bool up_gemini_route(const struct up_http *h, struct up_reply *out) {
  size_t rl = strlen(ROOT), ul = strlen(h->url), vl = strlen(VERB);
  char id[UP_NAME_MAX + 1];
  const char *why = NULL;
  bool post = !strcmp(h->method, "POST");

  if (strncmp(h->url, ROOT, rl) != 0 || (h->url[rl] && h->url[rl] != '/'))
    return false;
  if (!up_key_ok(MHD_lookup_connection_value(h->c, MHD_HEADER_KIND,
                                             "x-goog-api-key"))) {
    gemini_error(out, 400, "API key not valid. Please pass a valid API key.");
    up_count_unrouted(400);
    return true;
  }
  if (!h->url[rl] || !strcmp(h->url + rl, "/")) {
    if (post) {
      gemini_error(out, 405, "method not allowed");
      up_count_unrouted(405);
    } else {
      list(h, out);
    }
    return true;
  }
  if (ul <= rl + 1 + vl || strcmp(h->url + ul - vl, VERB) != 0 ||
      ul - rl - 1 - vl > UP_NAME_MAX || !post) {
    gemini_error(out, 404, "no such method");
    up_count_unrouted(404);
    return true;
  }
  memcpy(id, h->url + rl + 1, ul - rl - 1 - vl);
  id[ul - rl - 1 - vl] = '\0';
  snprintf(h->model, h->model_size, "%s", id);
  if (h->too_big) {
    gemini_error(out, 413, "request body too large");
    up_count_unrouted(413);
    return true;
  }
  struct up_call call;
  json_error_t jerr;
  memset(&call, 0, sizeof call);
  call.auth_ok = true;
  call.via = UP_VIA_GEMINI;
  json_t *g = json_loadb(h->body ? h->body : "", h->len, 0, &jerr);
  if (!json_is_object(g) || !(call.json = to_openai(g, id, &why))) {
    gemini_error(out, 400, why ? why : "Invalid JSON payload received.");
    up_count_unrouted(400);
    json_decref(g);
    return true;
  }
  json_decref(g);
  up_api_infer(UP_API_CHAT, &call, out);
  json_decref(call.json);
  to_gemini(out, id);
  return true;
}
