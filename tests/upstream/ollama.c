/* Ollama's native API, as far as warmth needs it: a model is loaded on
 * first use and stays loaded for keep_alive after its last use, then
 * unloads by itself; at most --max-loaded models are loaded at once, and a
 * load past that unloads the least recently used one.
 *
 *   POST /api/generate  {model, keep_alive?, prompt?}: without a prompt it
 *                       only loads the model (done_reason "load", no
 *                       tokens), or with keep_alive 0 unloads it
 *   POST /api/chat      {model, keep_alive?, messages?}: the same with
 *                       messages instead of a prompt
 *   GET  /api/ps        loaded models with expires_at (RFC 3339) and size
 *   GET  /api/tags      the models there are
 *   GET  /_ollama       test counters: loads, idle unloads, evictions (and
 *                       how many a load-only request caused), peak_loaded
 *
 * A load costs the model's --cold-ms, a request to a loaded model its
 * --warm-ms: the same cold/warm simulation as the OpenAI endpoints, but
 * "cold" here is "not loaded", which is what Ollama really does.
 * Everything sits under the model lock (models.c); unloading is lazy (done
 * at the next Ollama request), which nobody can tell from a timer. */
#include "config.h"

#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOADED_MAX 1000            /* --max-loaded's upper bound */
#define MODEL_SIZE (1LL << 30)     /* what /api/ps says a model takes: 1 GiB */
#define FOREVER_NS (INT64_MAX / 2) /* keep_alive < 0: never unload */

struct loaded {
  char name[UP_NAME_MAX + 1];
  int64_t loaded_ns, used_ns; /* used_ns: LRU order */
  int64_t ready_ns;           /* load done: /api/ps lists it from then */
  int64_t expires_ns;         /* FOREVER_NS: never */
};

static struct loaded slots[LOADED_MAX];
static int nloaded;
static struct {
  uint64_t generate, chat, load_only, unload, ps, tags;
  uint64_t loads, idle_unloads, evictions, evictions_by_load_only;
  int peak_loaded;
} cnt;

/* ---- time ---- */

/* CLOCK_MONOTONIC ns -> RFC 3339 with nanoseconds in UTC, as Go prints a
 * time.Time (Ollama's is local time with an offset; both parse alike). */
static void rfc3339(int64_t mono_ns, char *buf, size_t n) {
  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  int64_t real = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
  int64_t sec, ns;
  if (mono_ns >= FOREVER_NS) { /* Ollama shows "never" as year 2318 */
    sec = 10997000000LL;       /* past int64 nanoseconds: seconds apart */
    ns = 0;
  } else {
    real += mono_ns - up_now_ns();
    sec = real / 1000000000;
    ns = real % 1000000000;
  }
  time_t s = (time_t)sec;
  struct tm tm;
  gmtime_r(&s, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, n, "%s.%09lldZ", date,
           (long long)(ns < 0 ? 0 : ns % 1000000000));
}

/* keep_alive as Ollama takes it: a duration string ("5m", "30s", "1h",
 * "-1"), or a number of seconds; negative means forever.  -1 on garbage. */
static int keep_alive_ns(json_t *v, int64_t *out) {
  long ms;
  if (!v || json_is_null(v)) {
    *out = (int64_t)up_opt.keep_alive_ms * 1000000;
    return 0;
  }
  if (json_is_number(v)) {
    double s = json_number_value(v);
    *out = s < 0 || s * 1e9 >= (double)FOREVER_NS ? FOREVER_NS
                                                  : (int64_t)(s * 1e9);
    return 0;
  }
  const char *s = json_string_value(v);
  if (!s)
    return -1;
  if (s[0] == '-') {
    *out = FOREVER_NS;
    return 0;
  }
  if (up_parse_duration_ms(s, &ms) != 0)
    return -1;
  *out = (int64_t)ms * 1000000;
  return 0;
}

/* ---- the loaded set (lock held) ---- */

static void sweep(int64_t now) {
  for (int i = 0; i < nloaded;) {
    if (slots[i].expires_ns <= now) {
      cnt.idle_unloads++;
      slots[i] = slots[--nloaded];
    } else {
      i++;
    }
  }
}

static struct loaded *find(const char *name) {
  for (int i = 0; i < nloaded; i++)
    if (!strcmp(slots[i].name, name))
      return &slots[i];
  return NULL;
}

static void drop(struct loaded *l) { *l = slots[--nloaded]; }

/* Loads name (evicting the least recently used model when full); returns
 * the slot, or NULL when the set is full of models that cannot go (never:
 * every model can be evicted here). */
static struct loaded *load(const char *name, int64_t now, bool load_only) {
  if (nloaded >= up_opt.max_loaded) {
    int lru = 0;
    for (int i = 1; i < nloaded; i++)
      if (slots[i].used_ns < slots[lru].used_ns)
        lru = i;
    if (up_opt.verbose)
      up_log("ollama: loading %s evicts %s", name, slots[lru].name);
    cnt.evictions++;
    if (load_only)
      cnt.evictions_by_load_only++;
    drop(&slots[lru]);
  }
  struct loaded *l = &slots[nloaded++];
  snprintf(l->name, sizeof l->name, "%s", name);
  l->loaded_ns = now;
  cnt.loads++;
  if (nloaded > cnt.peak_loaded)
    cnt.peak_loaded = nloaded;
  return l;
}

/* ---- endpoints ---- */

static void error(struct up_reply *out, int status, const char *msg) {
  up_reply_json(out, status, json_pack("{s:s}", "error", msg));
}

static size_t text_len(json_t *v) {
  return json_is_string(v) ? strlen(json_string_value(v)) : 0;
}

/* /api/generate (chat false) and /api/chat (chat true). */
static void infer(const struct up_http *rq, bool chat, struct up_reply *out) {
  json_error_t jerr;
  json_t *j = rq->too_big
                  ? NULL
                  : json_loadb(rq->body ? rq->body : "", rq->len, 0, &jerr);
  const char *name = json_string_value(json_object_get(j, "model"));
  json_t *prompt = json_object_get(j, chat ? "messages" : "prompt");
  bool has_prompt = chat ? json_array_size(prompt) > 0 : text_len(prompt) > 0;
  int64_t now = up_now_ns(), ka = 0;
  bool full, bad_ka = j && keep_alive_ns(json_object_get(j, "keep_alive"), &ka);
  snprintf(rq->model, rq->model_size, "%s", name ? name : "-");

  up_models_lock();
  up_count_request();
  struct up_model *m = name ? up_model_get(name, &full) : NULL;
  if (!j || !name || bad_ka) {
    error(out, 400,
          !j      ? "invalid JSON body"
          : !name ? "model is required"
                  : "keep_alive: a duration (\"5m\") or a number of seconds");
    up_count_status(NULL, 400);
    up_models_unlock();
    json_decref(j);
    return;
  }
  if (!m) {
    char msg[UP_NAME_MAX + 64];
    snprintf(msg, sizeof msg, "model '%s' not found", name);
    error(out, 404, msg);
    up_count_status(NULL, 404);
    up_models_unlock();
    json_decref(j);
    return;
  }
  m->c.requests++;
  if (!m->c.first_ns)
    m->c.first_ns = now;
  m->c.last_ns = now;
  sweep(now);
  if (chat)
    cnt.chat++;
  else
    cnt.generate++;
  struct loaded *l = find(name);
  const char *reason = "stop";
  if (!has_prompt && ka == 0) { /* keep_alive 0 without a prompt: unload */
    if (l)
      drop(l);
    cnt.unload++;
    reason = "unload";
  } else {
    bool cold = !l;
    if (cold) {
      l = load(name, now, !has_prompt);
      l->ready_ns = now + up_model_setting(m, UP_SET_COLD_MS) * 1000000;
    }
    l->used_ns = now;
    l->expires_ns = ka >= FOREVER_NS ? FOREVER_NS : now + ka;
    if (!has_prompt) {
      cnt.load_only++;
      reason = "load";
      out->delay_ms = cold ? up_model_setting(m, UP_SET_COLD_MS) : 0;
    } else {
      out->delay_ms =
          up_model_setting(m, cold ? UP_SET_COLD_MS : UP_SET_WARM_MS);
      if (cold)
        m->c.cold_served++;
      else
        m->c.warm_served++;
      m->c.completion_tokens++;
    }
    if (ka == 0) /* a prompt with keep_alive 0: answered, then unloaded */
      drop(l);
  }
  if (has_prompt && chat)
    m->c.chat++;
  up_count_status(m, 200);
  up_models_unlock();

  char created[64];
  rfc3339(now, created, sizeof created);
  json_t *body = json_pack("{s:s,s:s,s:b,s:s}", "model", name, "created_at",
                           created, "done", 1, "done_reason", reason);
  if (chat)
    json_object_set_new(body, "message",
                        json_pack("{s:s,s:s}", "role", "assistant", "content",
                                  has_prompt ? "hi" : ""));
  else
    json_object_set_new(body, "response", json_string(has_prompt ? "hi" : ""));
  if (has_prompt) {
    json_object_set_new(body, "prompt_eval_count", json_integer(1));
    json_object_set_new(body, "eval_count", json_integer(1));
  }
  up_reply_json(out, 200, body);
  json_decref(j);
}

static json_t *model_json(const char *name) {
  return json_pack("{s:s,s:s,s:I,s:s,s:{s:s,s:s,s:s}}", "name", name, "model",
                   name, "size", (json_int_t)MODEL_SIZE, "digest",
                   "0000000000000000000000000000000000000000000000000000000000"
                   "000000",
                   "details", "format", "gguf", "family", "warmth",
                   "parameter_size", "1B");
}

static void ps(struct up_reply *out) {
  int64_t now = up_now_ns();
  json_t *models = json_array();
  up_models_lock();
  up_count_request();
  sweep(now);
  cnt.ps++;
  for (int i = 0; i < nloaded; i++) {
    char exp[64];
    /* Ollama lists a runner once its model is loaded, not while it loads:
     * two clients can both see room for one more */
    if (slots[i].ready_ns > now)
      continue;
    json_t *o = model_json(slots[i].name);
    rfc3339(slots[i].expires_ns, exp, sizeof exp);
    json_object_set_new(o, "expires_at", json_string(exp));
    json_object_set_new(o, "size_vram", json_integer(MODEL_SIZE));
    json_array_append_new(models, o);
  }
  up_count_status(NULL, 200);
  up_models_unlock();
  up_reply_json(out, 200, json_pack("{s:o}", "models", models));
}

static void tags(struct up_reply *out) {
  json_t *models = json_array(), *v;
  size_t i;
  up_models_lock();
  up_count_request();
  cnt.tags++;
  json_t *list = up_models_list_json();
  json_array_foreach(json_object_get(list, "data"), i, v) {
    json_t *o = model_json(json_string_value(json_object_get(v, "id")));
    json_object_set_new(o, "modified_at", json_string("2024-01-01T00:00:00Z"));
    json_array_append_new(models, o);
  }
  json_decref(list);
  up_count_status(NULL, 200);
  up_models_unlock();
  up_reply_json(out, 200, json_pack("{s:o}", "models", models));
}

static void stats(struct up_reply *out) {
  json_t *loaded = json_array();
  up_models_lock();
  sweep(up_now_ns());
  for (int i = 0; i < nloaded; i++)
    json_array_append_new(loaded, json_string(slots[i].name));
  json_t *j = json_pack(
      "{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:I}", "loaded", loaded,
      "generate", (json_int_t)cnt.generate, "chat", (json_int_t)cnt.chat,
      "load_only", (json_int_t)cnt.load_only, "unload", (json_int_t)cnt.unload,
      "ps", (json_int_t)cnt.ps, "tags", (json_int_t)cnt.tags, "loads",
      (json_int_t)cnt.loads, "idle_unloads", (json_int_t)cnt.idle_unloads,
      "evictions", (json_int_t)cnt.evictions, "evictions_by_load_only",
      (json_int_t)cnt.evictions_by_load_only, "peak_loaded", cnt.peak_loaded,
      "max_loaded", (json_int_t)up_opt.max_loaded);
  up_models_unlock();
  up_reply_json(out, 200, j);
}

bool up_ollama_route(const struct up_http *rq, struct up_reply *out) {
  bool get = !strcmp(rq->method, "GET"), post = !strcmp(rq->method, "POST");
  const char *u = rq->url;
  if (!strcmp(u, "/_ollama") && get)
    stats(out);
  else if (!strcmp(u, "/api/generate") && post)
    infer(rq, false, out);
  else if (!strcmp(u, "/api/chat") && post)
    infer(rq, true, out);
  else if (!strcmp(u, "/api/ps") && get)
    ps(out);
  else if (!strcmp(u, "/api/tags") && get)
    tags(out);
  else if (!strncmp(u, "/api/", 5))
    error(out, 404, "404 page not found"); /* Ollama's Go router says so */
  else
    return false;
  return true;
}
