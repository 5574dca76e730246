/* vLLM's sleep mode (its dev-mode endpoints, at the server root, not under
 * /v1): POST /sleep puts the engine to sleep (weights offloaded), POST
 * /wake_up wakes it, GET /is_sleeping says which: {"is_sleeping": bool}.
 * A real engine asked to infer while asleep errors out or crashes; here an
 * inference request while asleep answers 500 and is counted, so a test can
 * prove that nobody sent one.  Awake, every request goes on to the OpenAI
 * endpoints (api.c) as usual.
 *   GET /_vllm  test counters: sleeping, refused_while_sleeping,
 *               is_sleeping_checks, sleeps, wakes */
#include "config.h"

#include "upstream.h"

#include <stdio.h>
#include <string.h>

/* -1 until the first request: options are parsed before that, so the
 * --sleeping flag is read then, without an init call from main. */
static atomic_int sleeping = -1;
static atomic_ulong refused, checks, sleeps, wakes;

static bool asleep(void) {
  int s = atomic_load(&sleeping);
  if (s < 0) {
    int want = up_opt.start_sleeping ? 1 : 0;
    atomic_compare_exchange_strong(&sleeping, &s, want);
    s = atomic_load(&sleeping);
  }
  return s == 1;
}

static bool is_inference(const char *u) {
  const char *p = strncmp(u, "/v1/", 4) ? u : u + 3;
  return !strcmp(p, "/chat/completions") || !strcmp(p, "/completions") ||
         !strcmp(p, "/messages");
}

bool up_vllm_route(const struct up_http *rq, struct up_reply *out) {
  bool get = !strcmp(rq->method, "GET"), post = !strcmp(rq->method, "POST");
  const char *u = rq->url;
  json_t *j = NULL;
  bool s = asleep();

  if (!strcmp(u, "/is_sleeping") && get) {
    atomic_fetch_add(&checks, 1);
    j = json_pack("{s:b}", "is_sleeping", s);
  } else if (!strcmp(u, "/sleep") && post) {
    atomic_store(&sleeping, 1);
    atomic_fetch_add(&sleeps, 1);
    j = json_object();
  } else if (!strcmp(u, "/wake_up") && post) {
    atomic_store(&sleeping, 0);
    atomic_fetch_add(&wakes, 1);
    j = json_object();
  } else if (!strcmp(u, "/_vllm") && get) {
    j = json_pack("{s:b,s:I,s:I,s:I,s:I}", "sleeping", s,
                  "refused_while_sleeping", (json_int_t)atomic_load(&refused),
                  "is_sleeping_checks", (json_int_t)atomic_load(&checks),
                  "sleeps", (json_int_t)atomic_load(&sleeps), "wakes",
                  (json_int_t)atomic_load(&wakes));
  } else if (s && post && is_inference(u)) {
    json_error_t jerr;
    json_t *b = rq->body ? json_loadb(rq->body, rq->len, 0, &jerr) : NULL;
    const char *name = json_string_value(json_object_get(b, "model"));
    snprintf(rq->model, rq->model_size, "%s", name ? name : "-");
    json_decref(b);
    atomic_fetch_add(&refused, 1);
    up_models_lock();
    up_count_request();
    up_count_status(NULL, 500);
    up_models_unlock();
    up_reply_error(out, 500, "engine_sleeping",
                   "the engine is sleeping: POST /wake_up first");
    return true;
  } else {
    return false;
  }
  up_reply_json(out, 200, j);
  return true;
}
