/* Azure OpenAI: POST /openai/deployments/DEPLOYMENT/chat/completions
 * ?api-version=V with the key in an `api-key` header; GET /openai/models
 * ?api-version=V lists the models (as --check-config --online asks).  The
 * deployment is the model (the body names none); the rest is api.c's OpenAI
 * chat, so the model table, faults, rate limits and counters are the same.
 *
 * Like the real service: no api-version is a 404 "Resource not found"; a
 * missing or wrong api-key is a 401 (a Bearer header does not count here:
 * a prober that sends the key the OpenAI way must fail). */
#include "config.h"

#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/openai/deployments/"
#define SUFFIX "/chat/completions"

static void azure_error(struct up_reply *out, int status, const char *msg) {
  up_reply_json(out, status,
                json_pack("{s:{s:s,s:s}}", "error", "code",
                          status == 401 ? "401" : "404", "message", msg));
}

bool up_azure_route(const struct up_http *h, struct up_reply *out) {
  size_t ul = strlen(h->url), pl = strlen(PREFIX), sl = strlen(SUFFIX);
  char dep[UP_NAME_MAX + 1];
  struct up_call call;
  json_error_t jerr;
  char jmsg[300];

  if (!strcmp(h->url, "/openai/models")) {
    if (!MHD_lookup_connection_value(h->c, MHD_GET_ARGUMENT_KIND,
                                     "api-version")) {
      azure_error(out, 404, "Resource not found");
      up_count_unrouted(404);
    } else if (!up_key_ok(MHD_lookup_connection_value(h->c, MHD_HEADER_KIND,
                                                      "api-key"))) {
      azure_error(out, 401, "Access denied due to invalid subscription key.");
      up_count_unrouted(401);
    } else {
      memset(&call, 0, sizeof call);
      call.auth_ok = true;
      call.via = UP_VIA_AZURE;
      up_api_list(&call, out);
    }
    return true;
  }
  if (strncmp(h->url, PREFIX, pl) != 0)
    return false;
  if (ul <= pl + sl || strcmp(h->url + ul - sl, SUFFIX) != 0 ||
      ul - pl - sl > UP_NAME_MAX || memchr(h->url + pl, '/', ul - pl - sl)) {
    azure_error(out, 404, "Resource not found");
    up_count_unrouted(404);
    return true;
  }
  memcpy(dep, h->url + pl, ul - pl - sl);
  dep[ul - pl - sl] = '\0';
  snprintf(h->model, h->model_size, "%s", dep);
  if (strcmp(h->method, "POST") != 0) {
    up_reply_error(out, 405, "method_not_allowed", "%s is not allowed",
                   h->method);
    up_count_unrouted(405);
    return true;
  }
  if (!MHD_lookup_connection_value(h->c, MHD_GET_ARGUMENT_KIND,
                                   "api-version")) {
    azure_error(out, 404, "Resource not found");
    up_count_unrouted(404);
    return true;
  }
  if (!up_key_ok(
          MHD_lookup_connection_value(h->c, MHD_HEADER_KIND, "api-key"))) {
    azure_error(out, 401,
                "Access denied due to invalid subscription key or wrong API "
                "endpoint. Make sure to provide a valid key for an active "
                "subscription and use a correct regional API endpoint for your "
                "resource.");
    up_count_unrouted(401);
    return true;
  }
  if (h->too_big) {
    up_reply_error(out, 413, "request_too_large", "request body over %ld bytes",
                   UP_BODY_MAX);
    up_count_unrouted(413);
    return true;
  }
  memset(&call, 0, sizeof call);
  call.auth_ok = true;
  call.via = UP_VIA_AZURE;
  call.json = json_loadb(h->body ? h->body : "", h->len, 0, &jerr);
  if (!call.json) {
    snprintf(jmsg, sizeof jmsg, "could not parse the JSON body: %s", jerr.text);
    call.json_err = jmsg;
  } else if (json_is_object(call.json)) {
    /* the deployment is the model: a body that names another one is
     * answered for the deployment, as Azure does */
    json_object_set_new(call.json, "model", json_string(dep));
  }
  up_api_infer(UP_API_CHAT, &call, out);
  json_decref(call.json);
  return true;
}
