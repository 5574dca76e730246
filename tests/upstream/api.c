/* The API endpoints: what to answer to chat/completions, messages and the
 * model listing.  Decisions (auth, validation, rate window, fault, cold or
 * warm, prefix cache) and counting happen under the model lock, in that
 * order, so every request lands in exactly one status count; the reply is
 * then sent by respond.c outside the lock. */
#include "config.h"

#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_ulong reply_ids;

/* ---- prompt accounting ---- */

struct prompt {
  size_t chars;        /* all message and system text */
  size_t prefix_chars; /* system text only */
  uint64_t prefix_hash;
};

/* "characters": UTF-8 code points, so a non-ASCII prompt is not counted
 * 2-4 times over. */
static size_t utf8_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xc0) != 0x80;
  return n;
}

/* The rule from the issue: a token is 4 characters, rounded up. */
static long tokens_of(size_t chars) { return (long)((chars + 3) / 4); }

static void hash_text(uint64_t *h, const char *s) {
  for (; *s; s++)
    *h = (*h ^ (unsigned char)*s) * 0x100000001b3ULL; /* FNV-1a 64 prime */
  *h = (*h ^ 0xff) * 0x100000001b3ULL; /* 0xff never occurs in UTF-8 */
}

/* A content value is a string or an array of blocks; text blocks count,
 * images and tool calls do not. */
static size_t text_of(json_t *content, uint64_t *hash) {
  size_t n = 0, i;
  json_t *block;
  if (json_is_string(content)) {
    if (hash)
      hash_text(hash, json_string_value(content));
    return utf8_chars(json_string_value(content));
  }
  json_array_foreach(content, i, block) {
    json_t *t = json_object_get(block, "text");
    if (json_is_string(t))
      n += text_of(t, hash);
  }
  return n;
}

static void add_prefix(struct prompt *p, json_t *content) {
  size_t n = text_of(content, &p->prefix_hash);
  p->prefix_chars += n;
  p->chars += n;
}

static void measure(enum up_api api, json_t *body, struct prompt *p) {
  size_t i;
  json_t *msg;
  memset(p, 0, sizeof *p);
  p->prefix_hash = 0xcbf29ce484222325ULL; /* FNV-1a 64 offset basis */
  if (api == UP_API_MESSAGES)
    add_prefix(p, json_object_get(body, "system"));
  json_array_foreach(json_object_get(body, "messages"), i, msg) {
    const char *role = json_string_value(json_object_get(msg, "role"));
    json_t *content = json_object_get(msg, "content");
    /* OpenAI carries its system prompt as messages ("developer" is the
     * newer name of the same role) */
    if (api == UP_API_CHAT && role &&
        (!strcmp(role, "system") || !strcmp(role, "developer")))
      add_prefix(p, content);
    else
      p->chars += text_of(content, NULL);
  }
}

/* ---- reasoning ---- */

/* The reasoning tokens a request's reasoning_effort costs (OpenAI's
 * reasoning models think before they answer): -1 for an unknown word. */
static long reasoning_of(json_t *body) {
  static const struct {
    const char *word;
    long tokens;
  } t[] = {{"minimal", 0}, {"low", 8}, {"medium", 16}, {"high", 32}};
  const char *e = json_string_value(json_object_get(body, "reasoning_effort"));
  if (!json_object_get(body, "reasoning_effort"))
    return 0;
  for (size_t i = 0; e && i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(e, t[i].word))
      return t[i].tokens;
  return -1;
}

/* ---- validation: NULL when fine, else the message for a 400 ---- */

static const char *check_max_tokens(json_t *v, bool required) {
  if (!v)
    return required ? "max_tokens: field required" : NULL;
  if (!json_is_integer(v) || json_integer_value(v) < 1)
    return "max_tokens must be a positive integer";
  return NULL;
}

static const char *validate(enum up_api api, const struct up_call *call) {
  json_t *b = call->json;
  size_t i;
  json_t *msg;
  if (!json_is_object(b))
    return "the request body must be a JSON object";
  if (!json_is_string(json_object_get(b, "model")))
    return "model: a string is required";
  if (!up_name_valid(json_string_value(json_object_get(b, "model"))))
    return "model: invalid name";
  json_t *msgs = json_object_get(b, "messages");
  if (!json_is_array(msgs) || json_array_size(msgs) == 0)
    return "messages: a non-empty array is required";
  json_array_foreach(msgs, i, msg) {
    if (!json_is_string(json_object_get(msg, "role")))
      return "messages: each message needs a string role";
  }
  if (json_is_true(json_object_get(b, "stream")))
    return "stream: not supported by warmth-upstream";
  if (api == UP_API_MESSAGES) {
    if (!call->has_version)
      return "anthropic-version: header is required";
    return check_max_tokens(json_object_get(b, "max_tokens"), true);
  }
  const char *e = check_max_tokens(json_object_get(b, "max_tokens"), false);
  if (!e)
    e = check_max_tokens(json_object_get(b, "max_completion_tokens"), false);
  long reasoning = reasoning_of(b);
  if (!e && reasoning < 0)
    e = "reasoning_effort: one of minimal, low, medium, high";
  /* A reasoning model that runs out of tokens while thinking: OpenAI's
   * words.  (Gemini's thinking has its own budget: not checked.) */
  json_t *mt = json_object_get(b, "max_completion_tokens");
  if (!mt)
    mt = json_object_get(b, "max_tokens");
  if (!e && reasoning > 0 && call->via != UP_VIA_GEMINI && mt &&
      json_integer_value(mt) < reasoning + 1)
    e = "Could not finish the message because max_tokens or model output "
        "limit was reached. Please try again with higher max_tokens.";
  return e;
}

/* ---- faults ---- */

/* A failing fault becomes the reply (true, *key: what to count); a
 * serving one (none, slow, big, badjson, absurd) returns false. */
static bool fault_reply(const struct up_fault *f, const struct up_call *call,
                        struct up_reply *out, int *key) {
  switch (f->kind) {
  case UP_FAULT_429:
  case UP_FAULT_429DATE:
    up_reply_error(out, 429, "rate_limit_exceeded",
                   "Rate limit reached (injected fault)");
    out->retry_after_s = f->arg;
    out->retry_date = f->kind == UP_FAULT_429DATE;
    break;
  case UP_FAULT_500:
    up_reply_error(out, 500, "server_error",
                   "The server had an error (injected fault)");
    break;
  case UP_FAULT_503:
    up_reply_error(out, 503, "overloaded",
                   "The engine is currently overloaded (injected fault)");
    out->retry_after_s = f->arg;
    break;
  case UP_FAULT_401:
    up_reply_error(out, 401, "invalid_api_key",
                   "Incorrect API key provided (injected fault)");
    break;
  case UP_FAULT_ECHOKEY: {
    /* N characters from the middle of the key: the case of a provider
     * that masks the ends only (what warmd's redaction must catch). */
    const char *k = call->key ? call->key : "";
    size_t len = strlen(k), n = (size_t)f->arg < len ? (size_t)f->arg : len;
    up_reply_error(out, 401, "invalid_api_key",
                   "Incorrect API key provided: %.*s (injected fault)", (int)n,
                   k + (len - n) / 2);
    break;
  }
  case UP_FAULT_TIMEOUT:
    out->action = UP_ACT_HOLD;
    *key = UP_STATUS_TIMEOUT;
    return true;
  case UP_FAULT_RESET:
    out->action = UP_ACT_RESET;
    *key = UP_STATUS_RESET;
    return true;
  default:
    return false;
  }
  *key = out->status;
  return true;
}

/* What a serving fault does to a good body. */
static void fault_body(const struct up_fault *f, struct up_reply *out) {
  static const char bad[] =
      "{\"id\":\"chatcmpl-bad\",\"choices\":[{\"message\":";
  if (f->kind == UP_FAULT_SLOW) {
    out->mode = UP_BODY_SLOW;
    out->mode_arg = f->arg;
  } else if (f->kind == UP_FAULT_BIG) {
    out->mode = UP_BODY_BIG;
    out->mode_arg = f->arg;
  } else if (f->kind == UP_FAULT_BADJSON) {
    free(out->body);
    out->body = strdup(bad);
    out->len = out->body ? strlen(out->body) : 0;
  } else if (f->kind == UP_FAULT_ABSURD) {
    /* the request was served and counted as usual; the bill is absurd */
    free(out->body);
    out->body =
        strdup(out->anthropic ? "{\"content\":[],\"usage\":{\"input_tokens\":"
                                "1e30,\"output_tokens\":1e30}}"
                              : "{\"choices\":[],\"usage\":{\"prompt_tokens\":"
                                "1e30,\"completion_tokens\":1e30}}");
    out->len = out->body ? strlen(out->body) : 0;
  }
}

/* The checks every API request goes through, in the real APIs' order.
 * Lock held.  Returns true when `out` already holds the answer. */
static bool gate(struct up_model *m, const struct up_call *call,
                 const char *invalid, long tokens, int64_t now,
                 struct up_reply *out, struct up_fault *fault) {
  int key = 0;
  long retry;
  if (up_opt.require_key && !call->auth_ok) {
    up_reply_error(out, 401, "invalid_api_key", "Incorrect API key provided");
    key = 401;
  } else if (invalid) {
    up_reply_error(out, 400, NULL, "%s", invalid);
    key = 400;
  } else if (!up_rl_admit(m, tokens, now, &retry)) {
    up_reply_error(out, 429, "rate_limit_exceeded", "Rate limit reached for %s",
                   m->name);
    out->retry_after_s = retry;
    key = 429;
  } else {
    *fault = up_fault_pick(m);
    if (!fault_reply(fault, call, out, &key))
      return false;
  }
  up_count_status(m, key);
  return true;
}

static void unknown_model(struct up_reply *out, const char *name, bool full) {
  if (full)
    up_reply_error(out, 503, "too_many_models", "model table is full");
  else
    up_reply_error(out, 404, "model_not_found",
                   "The model `%s` does not exist or you do not have access "
                   "to it.",
                   name ? name : "");
  up_count_status(NULL, out->status);
}

static void set_rl(struct up_reply *out, const struct up_model *m,
                   int64_t now) {
  up_rl_view(m, now, &out->rl);
  out->has_rl = true;
}

void up_api_infer(enum up_api api, struct up_call *call, struct up_reply *out) {
  int64_t now = up_now_ns();
  bool anth = api == UP_API_MESSAGES, full;
  const char *name = json_string_value(json_object_get(call->json, "model"));
  const char *invalid = call->json ? validate(api, call) : call->json_err;
  struct prompt p = {0};
  struct up_fault fault = {UP_FAULT_NONE, 0};
  if (!invalid)
    measure(api, call->json, &p);
  long ptok = tokens_of(p.chars), prefix_tok = tokens_of(p.prefix_chars);
  long reasoning = invalid || anth ? 0 : reasoning_of(call->json);
  long cached = 0, created = 0;
  bool cold = false;
  snprintf(call->model, sizeof call->model, "%s", name ? name : "-");

  up_models_lock();
  up_count_request();
  struct up_model *m = up_model_get(name, &full);
  if (!m && !invalid && !(up_opt.require_key && !call->auth_ok)) {
    unknown_model(out, name, full);
    set_rl(out, up_model_star(), now);
    up_models_unlock();
    return;
  }
  if (!m) { /* not attributable: count and answer with the defaults */
    m = up_model_star();
  } else {
    m->c.requests++;
    if (!m->c.first_ns)
      m->c.first_ns = now;
    m->c.last_ns = now;
    if (anth)
      m->c.messages++;
    else
      m->c.chat++;
    m->c.via[call->via]++;
  }
  if (gate(m, call, invalid, ptok + 1, now, out, &fault)) {
    set_rl(out, m, now);
    up_models_unlock();
    return;
  }
  cold = !m->warm_ns ||
         now - m->warm_ns >
             (int64_t)up_model_setting(m, UP_SET_COLD_AFTER) * 1000000;
  m->warm_ns = now;
  out->delay_ms = up_model_setting(m, cold ? UP_SET_COLD_MS : UP_SET_WARM_MS);
  if (p.prefix_chars) {
    bool hit = m->prefix_ns && m->prefix_hash == p.prefix_hash &&
               now - m->prefix_ns <= (int64_t)up_opt.cache_ttl_ms * 1000000;
    cached = hit ? prefix_tok : 0;
    created = hit ? 0 : prefix_tok;
    m->prefix_hash = p.prefix_hash;
    m->prefix_ns = now;
  }
  if (cold)
    m->c.cold_served++;
  else
    m->c.warm_served++;
  m->c.prompt_tokens += (uint64_t)ptok;
  m->c.completion_tokens += 1 + (uint64_t)reasoning;
  m->c.reasoning_tokens += (uint64_t)reasoning;
  m->c.cached_tokens += (uint64_t)cached;
  m->c.cache_write_tokens +=
      anth ? (uint64_t)created : 0; /* only Anthropic bills writes */
  up_count_status(m, 200);
  set_rl(out, m, now);
  up_models_unlock();

  char id[48];
  unsigned long n = atomic_fetch_add(&reply_ids, 1) + 1;
  json_t *body;
  if (anth) {
    snprintf(id, sizeof id, "msg_up_%lu", n);
    /* Anthropic's input_tokens leaves out what the cache read or wrote */
    body =
        json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:s}],s:s,s:n,s:{s:I,s:i,s:I,s:I}}",
                  "id", id, "type", "message", "role", "assistant", "model",
                  name, "content", "type", "text", "text", "hi", "stop_reason",
                  "end_turn", "stop_sequence", "usage", "input_tokens",
                  (json_int_t)(ptok - cached - created), "output_tokens", 1,
                  "cache_read_input_tokens", (json_int_t)cached,
                  "cache_creation_input_tokens", (json_int_t)created);
  } else {
    snprintf(id, sizeof id, "chatcmpl-up%lu", n);
    body = json_pack(
        "{s:s,s:s,s:I,s:s,s:[{s:i,s:{s:s,s:s},s:s,s:n}],"
        "s:{s:I,s:I,s:I,s:{s:I}},s:s}",
        "id", id, "object", "chat.completion", "created",
        (json_int_t)time(NULL), "model", name, "choices", "index", 0, "message",
        "role", "assistant", "content", "hi", "finish_reason", "stop",
        "logprobs", "usage", "prompt_tokens", (json_int_t)ptok,
        "completion_tokens", (json_int_t)(1 + reasoning), "total_tokens",
        (json_int_t)(ptok + 1 + reasoning), "prompt_tokens_details",
        "cached_tokens", (json_int_t)cached, "system_fingerprint",
        "fp_warmth_upstream");
    /* reasoning models report their thinking as a part of completion */
    if (body && json_object_get(call->json, "reasoning_effort"))
      json_object_set_new(
          json_object_get(body, "usage"), "completion_tokens_details",
          json_pack("{s:I}", "reasoning_tokens", (json_int_t)reasoning));
  }
  up_reply_json(out, 200, body);
  fault_body(&fault, out);
}

/* GET /v1/models: no model named, so the "*" entry's window and fault. */
void up_api_list(struct up_call *call, struct up_reply *out) {
  int64_t now = up_now_ns();
  struct up_model *star = up_model_star();
  struct up_fault fault = {UP_FAULT_NONE, 0};
  snprintf(call->model, sizeof call->model, "-");
  up_models_lock();
  up_count_request();
  up_count_list();
  if (!gate(star, call, NULL, 0, now, out, &fault)) {
    up_reply_json(out, 200, up_models_list_json());
    up_count_status(NULL, 200);
    fault_body(&fault, out);
  }
  set_rl(out, star, now);
  up_models_unlock();
}

/* GET /v1/models/ID: counts for that model, never warms it (listing a
 * model loads nothing), answers without the cold delay. */
void up_api_model(const char *id, struct up_call *call, struct up_reply *out) {
  int64_t now = up_now_ns();
  bool full;
  struct up_fault fault = {UP_FAULT_NONE, 0};
  snprintf(call->model, sizeof call->model, "%s", id);
  up_models_lock();
  up_count_request();
  struct up_model *m = up_model_get(id, &full);
  if (!m) {
    unknown_model(out, id, full);
    set_rl(out, up_model_star(), now);
    up_models_unlock();
    return;
  }
  m->c.requests++;
  m->c.models_list++;
  if (!m->c.first_ns)
    m->c.first_ns = now;
  m->c.last_ns = now;
  if (!gate(m, call, NULL, 0, now, out, &fault)) {
    up_reply_json(out, 200,
                  json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "id", m->name,
                            "object", "model", "created", 1700000000,
                            "owned_by", "warmth-upstream", "type", "model",
                            "display_name", m->name));
    up_count_status(m, 200);
    fault_body(&fault, out);
  }
  set_rl(out, m, now);
  up_models_unlock();
}
