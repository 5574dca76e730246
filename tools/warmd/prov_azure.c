/* prov_azure.c - kind = azure: Azure OpenAI.  The OpenAI bodies and
 * replies (prov_openai.c) under Azure's URLs and auth header.
 *
 *   base    https://RESOURCE.openai.azure.com/openai
 *   chat    POST {base}/deployments/{id}/chat/completions?api-version=V
 *           (the model's id is the deployment's name; the body names no
 *           model: the deployment does)
 *   list    GET {base}/models?api-version=V (what the resource offers, not
 *           the deployments: --check-config --online checks the key with
 *           it; there is no models probe)
 *   auth    api-key: KEY
 *   errors  OpenAI's; a missing deployment is 404 DeploymentNotFound
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "provider.h"

static int request(const struct wd_endpoint *ep, const struct wd_model *m,
                   int what, struct wd_request *rq) {
  const char *v = ep->api_version ? ep->api_version : "";
  char *dep, *url = NULL;

  if (what == WD_PROBE_CHAT) {
    /* the deployment is one path segment: a '/' or '?' in it is escaped */
    if ((dep = wd_url_escape(wd_model_id(m), 0)))
      url = wd_url_join(ep->base_url, "/deployments/", dep,
                        "/chat/completions?api-version=", v, NULL);
    free(dep);
    return wd_request_fill(rq, url, wd_openai_body(m, 0), 1);
  }
  if (what == WD_REQ_LIST)
    return wd_request_fill(
        rq, wd_url_join(ep->base_url, "/models?api-version=", v, NULL), NULL,
        0);
  errno = ENOTSUP;
  return -1;
}

static int headers(const struct wd_endpoint *ep, const char *key,
                   wd_header_fn add, void *arg) {
  (void)ep;
  return key ? add(arg, "api-key", key, NULL) : 0;
}

const struct wd_provider wd_prov_azure = {
    .name = "azure",
    .kind = WD_KIND_AZURE,
    .request = request,
    .headers = headers,
    .reply = wd_openai_reply,
    .models = wd_openai_models,
    .error = wd_openai_error,
};
