/* prov_vllm.c - vLLM's sleep mode (prov_local.h): where /is_sleeping is
 * and what it says.  The rest of vLLM is the OpenAI API.  Pure. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov_local.h"
#include "provider.h"
#include "warmth.h"

char *wd_vllm_root_url(const char *base_url, const char *path) {
  size_t n = strlen(base_url), pl = strlen(path);
  char *u;
  while (n > 0 && base_url[n - 1] == '/')
    n--;
  /* vLLM serves the OpenAI API under /v1 and its own endpoints at the
   * root, so base_url = http://h:8000/v1 has its root at http://h:8000 */
  if (n >= 3 && !memcmp(base_url + n - 3, "/v1", 3))
    n -= 3;
  while (n > 0 && base_url[n - 1] == '/')
    n--;
  if (!(u = malloc(n + pl + 1)))
    return NULL;
  memcpy(u, base_url, n);
  memcpy(u + n, path, pl + 1);
  return u;
}

int wd_vllm_reply_sleeping(const char *body, size_t len, int *sleeping,
                           char *err, size_t errlen) {
  json_error_t je;
  json_t *root, *v;
  *sleeping = 0;
  if (!body || !len || !(root = json_loadb(body, len, 0, &je))) {
    snprintf(err, errlen, "/is_sleeping: reply is not JSON");
    return -1;
  }
  v = json_object_get(root, "is_sleeping");
  if (!json_is_boolean(v)) {
    snprintf(err, errlen, "/is_sleeping: no is_sleeping boolean");
    json_decref(root);
    return -1;
  }
  *sleeping = json_is_true(v);
  json_decref(root);
  return 0;
}

/* ---- the adapter (provider.h): the OpenAI protocol and a pre-check ---- */

/* Every probe asks first: a sleeping engine gets nothing else. */
static int pre_request(const struct wd_endpoint *ep, const struct wd_model *m,
                       int what, struct wd_request *rq) {
  (void)m;
  (void)what;
  return wd_request_fill(rq, wd_vllm_root_url(ep->base_url, "/is_sleeping"),
                         NULL, 0);
}

static int pre_reply(const struct wd_endpoint *ep, const struct wd_model *m,
                     int pending, int64_t now_unix_ns, int http_status,
                     const char *body, size_t len, struct wd_reply *out,
                     char *err, size_t errlen) {
  int sleeping;
  char why[120];
  (void)ep;
  (void)m;
  (void)pending;
  (void)now_unix_ns;
  /* /is_sleeping is served only with VLLM_SERVER_DEV_MODE=1: without it
   * nobody can put the engine to sleep either, so go on. */
  if (http_status == 404)
    return 0;
  if (http_status != 200) {
    snprintf(err, errlen, "GET /is_sleeping: HTTP %d", http_status);
    return -1;
  }
  if (wd_vllm_reply_sleeping(body, len, &sleeping, why, sizeof why)) {
    snprintf(err, errlen, "%s", why);
    return -1;
  }
  if (!sleeping)
    return 0;
  out->state = WARMTH_SLEEPING;
  snprintf(err, errlen, "the engine is sleeping: no warmup sent");
  return 1;
}

const struct wd_provider wd_prov_vllm = {
    .name = "vllm",
    .kind = WD_KIND_VLLM,
    .request = wd_openai_request,
    .headers = wd_openai_headers,
    .reply = wd_openai_reply,
    .models = wd_openai_models,
    .error = wd_openai_error,
    .pre_request = pre_request,
    .pre_reply = pre_reply,
};
