/* prov_vllm.c - vLLM's sleep mode (prov_local.h): where /is_sleeping is
 * and what it says.  The rest of vLLM is the OpenAI API.  Pure. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov_local.h"

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
