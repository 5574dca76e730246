/* MHD glue: collects a request's body, routes it, answers the control
 * endpoints (/_stats, /_reset, /_fault) and logs each request when done. */
#include "config.h"

#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Per request, from MHD's first call to the completion callback. */
struct up_req {
  char *body;
  size_t len, cap;
  bool too_big;
  int64_t start_ns;
  char method[16];
  char path[160];
  char model[UP_NAME_MAX + 1];
  int status; /* 0: none sent (client went away); UP_STATUS_*: no reply */
};

static int append(struct up_req *q, const char *data, size_t n) {
  if (q->too_big || q->len + n > (size_t)UP_BODY_MAX) {
    q->too_big = true; /* keep reading, answer 413 at the end */
    return 0;
  }
  if (q->len + n + 1 > q->cap) {
    size_t cap = q->cap ? q->cap : 4096;
    while (cap < q->len + n + 1)
      cap *= 2;
    char *b = realloc(q->body, cap);
    if (!b)
      return -1;
    q->body = b;
    q->cap = cap;
  }
  memcpy(q->body + q->len, data, n);
  q->len += n;
  q->body[q->len] = 0;
  return 0;
}

/* Compares all of the key whatever the input, so the time taken says
 * nothing about how much of a guess was right. */
static bool key_equal(const char *given) {
  const char *key = up_opt.require_key;
  size_t n = strlen(key), m = strlen(given);
  unsigned char d = n != m;
  for (size_t i = 0; i < n; i++)
    d |= (unsigned char)(key[i] ^ (i < m ? given[i] : 0));
  return d == 0;
}

bool up_key_ok(const char *given) {
  return !up_opt.require_key || (given && key_equal(given));
}

void up_count_unrouted(int status) {
  up_models_lock();
  up_count_request();
  up_count_status(NULL, status);
  up_models_unlock();
}

static bool auth_ok(struct MHD_Connection *c) {
  if (!up_opt.require_key)
    return true;
  const char *a =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  const char *x = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-api-key");
  if (a && !strncasecmp(a, "Bearer ", 7) && key_equal(a + 7))
    return true;
  return x && key_equal(x);
}

/* The key of an Authorization: Bearer or x-api-key header, else a
 * gateway's token (cf-aig-authorization: Bearer, as Cloudflare's AI
 * gateway takes it), for the echokey fault only (never logged). */
static const char *presented_key(struct MHD_Connection *c) {
  static const char *const bearer[] = {"Authorization", "cf-aig-authorization"};
  const char *x = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-api-key");
  for (size_t i = 0; i < sizeof bearer / sizeof bearer[0]; i++) {
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, bearer[i]);
    if (a && !strncasecmp(a, "Bearer ", 7))
      return a + 7;
    if (i == 0 && x)
      return x;
  }
  return NULL;
}

/* ---- control endpoints (no auth, no counting: they are the test's) ---- */

static void control_fault(struct up_req *q, struct up_reply *out) {
  json_error_t jerr;
  json_t *j = json_loadb(q->body ? q->body : "", q->len, 0, &jerr);
  const char *model = json_string_value(json_object_get(j, "model"));
  const char *kind = json_string_value(json_object_get(j, "kind"));
  json_t *argv = json_object_get(j, "arg");
  char arg[32] = "";
  const char *err = NULL;
  struct up_fault f;
  if (json_is_integer(argv))
    snprintf(arg, sizeof arg, "%lld", (long long)json_integer_value(argv));
  else if (json_is_string(argv))
    snprintf(arg, sizeof arg, "%s", json_string_value(argv));
  if (!j)
    err = "body is not JSON";
  else if (!model || (strcmp(model, UP_STAR) && !up_name_valid(model)))
    err = "model: a model name or \"*\" is required";
  else if (!kind)
    err = "kind: a string is required";
  else if (argv && !json_is_null(argv) && !arg[0])
    err = "arg: a string or an integer";
  if (!err && up_fault_parse(kind, arg[0] ? arg : NULL, &f, &err) == 0) {
    char text[64];
    up_fault_format(&f, text, sizeof text);
    up_models_lock();
    struct up_model *m = up_model_find(model, true);
    if (m)
      m->fault = f;
    up_models_unlock();
    if (m)
      up_reply_json(out, 200,
                    json_pack("{s:s,s:s}", "model", model, "fault", text));
    else
      up_reply_error(out, 503, "too_many_models", "model table is full");
  } else {
    up_reply_error(out, 400, NULL, "%s", err);
  }
  json_decref(j);
}

static bool control(struct MHD_Connection *c, struct up_req *q,
                    const char *path, bool get, bool post,
                    struct up_reply *out) {
  json_t *j = NULL;
  if (!strcmp(path, "/_stats") && get) {
    up_models_lock();
    j = up_stats_json(up_now_ns());
    up_models_unlock();
  } else if (!strcmp(path, "/_reset") && post) {
    const char *all =
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "all");
    bool everything = all && (!strcmp(all, "1") || !strcmp(all, "true"));
    up_models_lock();
    up_stats_reset(everything);
    up_models_unlock();
    j = json_pack("{s:b,s:b}", "ok", 1, "all", everything);
  } else if (!strcmp(path, "/_fault") && get) {
    up_models_lock();
    j = up_faults_json();
    up_models_unlock();
  } else if (!strcmp(path, "/_fault") && post) {
    control_fault(q, out);
    return true;
  } else {
    return false;
  }
  up_reply_json(out, 200, j);
  return true;
}

/* ---- routing ---- */

static void not_routed(struct up_reply *out, int status, const char *method,
                       const char *url) {
  if (status == 405)
    up_reply_error(out, 405, "method_not_allowed", "%s is not allowed on %s",
                   method, url);
  else
    up_reply_error(out, 404, "not_found", "no such endpoint: %s", url);
  up_models_lock();
  up_count_request();
  up_count_status(NULL, status);
  up_models_unlock();
}

/* The protocols translated to api.c's (upstream.h): one line each. */
/* Other protocols, one line each; vLLM's before the OpenAI endpoints,
 * since a sleeping engine answers them itself. */
static bool (*const protocols[])(const struct up_http *, struct up_reply *) = {
    up_ollama_route,
    up_vllm_route,
    up_azure_route,
    up_gemini_route,
};

static void route(struct MHD_Connection *c, struct up_req *q, const char *url,
                  const char *method, struct up_reply *out) {
  bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
  /* the /v1 prefix is optional: base URLs are written both ways */
  const char *p = strncmp(url, "/v1/", 4) ? url : url + 3;
  bool chat = !strcmp(p, "/chat/completions"), msgs = !strcmp(p, "/messages");
  bool list = !strcmp(p, "/models");
  bool one = !strncmp(p, "/models/", 8) && p[8];
  struct up_call call;
  char jmsg[300];

  if (control(c, q, url, get, post, out))
    return;
  struct up_http h = {c,      url,        method,   q->body,
                      q->len, q->too_big, q->model, sizeof q->model};
  for (size_t i = 0; i < sizeof protocols / sizeof protocols[0]; i++)
    if (protocols[i](&h, out))
      return;
  if (!chat && !msgs && !list && !one) {
    not_routed(out, 404, method, url);
    return;
  }
  if (((chat || msgs) && !post) || ((list || one) && !get)) {
    not_routed(out, 405, method, url);
    return;
  }
  memset(&call, 0, sizeof call);
  out->anthropic = msgs;
  call.auth_ok = auth_ok(c);
  call.key = presented_key(c);
  call.has_version =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "anthropic-version");
  if (list) {
    up_api_list(&call, out);
  } else if (one) {
    up_api_model(p + 8, &call, out);
  } else if (q->too_big) {
    up_reply_error(out, 413, "request_too_large", "request body over %ld bytes",
                   UP_BODY_MAX);
    up_models_lock();
    up_count_request();
    up_count_status(NULL, 413);
    up_models_unlock();
    snprintf(call.model, sizeof call.model, "-");
  } else {
    json_error_t jerr;
    call.json = json_loadb(q->body ? q->body : "", q->len, 0, &jerr);
    if (!call.json) {
      snprintf(jmsg, sizeof jmsg, "could not parse the JSON body: %s",
               jerr.text);
      call.json_err = jmsg;
    }
    up_api_infer(chat ? UP_API_CHAT : UP_API_MESSAGES, &call, out);
    json_decref(call.json);
  }
  snprintf(q->model, sizeof q->model, "%s", call.model);
}

up_mhd_result up_handle(void *cls, struct MHD_Connection *c, const char *url,
                        const char *method, const char *version,
                        const char *upload, size_t *upload_size,
                        void **req_cls) {
  struct up_req *q = *req_cls;
  if (!q) { /* first call: headers only; the body comes next */
    q = calloc(1, sizeof *q);
    if (!q)
      return MHD_NO;
    q->start_ns = up_now_ns();
    snprintf(q->method, sizeof q->method, "%s", method);
    snprintf(q->path, sizeof q->path, "%s", url);
    snprintf(q->model, sizeof q->model, "-");
    *req_cls = q;
    return MHD_YES;
  }
  if (*upload_size) {
    if (append(q, upload, *upload_size) != 0)
      return MHD_NO;
    *upload_size = 0;
    return MHD_YES;
  }
  struct up_reply r;
  up_reply_init(&r, false);
  route(c, q, url, method, &r);
  q->status = r.action == UP_ACT_HOLD    ? UP_STATUS_TIMEOUT
              : r.action == UP_ACT_RESET ? UP_STATUS_RESET
                                         : r.status;
  up_mhd_result ret = up_reply_send(c, &r);
  up_reply_free(&r);
  return ret;
}

void up_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                  enum MHD_RequestTerminationCode toe) {
  struct up_req *q = *req_cls;
  if (!q)
    return;
  if (up_opt.verbose) {
    char status[16];
    if (q->status == UP_STATUS_TIMEOUT)
      strcpy(status, "timeout");
    else if (q->status == UP_STATUS_RESET)
      strcpy(status, "reset");
    else if (q->status == 0 || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
      snprintf(status, sizeof status, "%d/aborted", q->status);
    else
      snprintf(status, sizeof status, "%d", q->status);
    /* never the headers: they may carry keys */
    up_log("%s %s model=%s status=%s %ldms", q->method, q->path, q->model,
           status, (long)((up_now_ns() - q->start_ns) / 1000000));
  }
  free(q->body);
  free(q);
  *req_cls = NULL;
}
