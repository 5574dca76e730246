/* online.c - see online.h. */
#include <stdlib.h>
#include <string.h>

#include "online.h"

/* Prints the (up to) three ids closest to want. */
static void print_closest(FILE *out, const char *want, char **ids, int n) {
  int best[3] = {-1, -1, -1}, dist[3] = {256, 256, 256};
  for (int i = 0; i < n; i++) {
    int dd = wd_edit_distance(want, ids[i], 0);
    for (int k = 0; k < 3; k++)
      if (dd < dist[k]) {
        for (int m = 2; m > k; m--) {
          dist[m] = dist[m - 1];
          best[m] = best[m - 1];
        }
        dist[k] = dd;
        best[k] = i;
        break;
      }
  }
  fprintf(out, "; closest:");
  for (int k = 0; k < 3 && best[k] >= 0; k++)
    fprintf(out, "%s %s", k ? "," : "", ids[best[k]]);
  if (best[0] < 0)
    fprintf(out, " (the provider lists no models)");
}

static int check_endpoint(const struct wd_config *c, int ei, FILE *out) {
  const struct wd_endpoint *ep = &c->endpoints[ei];
  char err[256] = "";
  char *key = wd_endpoint_key(ep, err, sizeof err);
  if (!key && err[0]) {
    fprintf(out, "%s\n", err); /* it names the endpoint */
    return 1;
  }
  if (key && wd_config_check_placeholder(key)) {
    fprintf(out,
            "endpoint %s: the API key (from %s) looks like a placeholder; "
            "no request sent\n",
            ep->name, ep->api_key_env ? ep->api_key_env : ep->api_key_file);
    free(key);
    return 1;
  }
  int status = 0, n = 0;
  char **ids = NULL;
  int rc = wd_list_models(ep, key, &status, &ids, &n, err, sizeof err);
  if (key) {
    memset(key, 0, strlen(key));
    free(key);
  }
  if (status == 401 || status == 403) {
    fprintf(out, "endpoint %s: the provider refused the key (HTTP %d)\n",
            ep->name, status);
    return 1;
  }
  if (rc != 0) {
    fprintf(out, "endpoint %s: cannot list models: %s\n", ep->name, err);
    return 1;
  }
  int problems = 0;
  fprintf(out, "endpoint %s: key accepted, %d models listed\n", ep->name, n);
  if (!(wd_kind_caps(ep->kind) & WD_CAP_LISTS)) {
    /* azure lists the resource's models, not its deployments */
    fprintf(out,
            "endpoint %s: kind = %s lists no deployments: model ids not "
            "checked\n",
            ep->name, wd_kind_name(ep->kind));
    wd_model_ids_free(ids, n);
    return 0;
  }
  for (int i = 0; i < c->nmodels; i++) {
    const struct wd_model *m = &c->models[i];
    if (m->endpoint != ei)
      continue;
    int found = 0;
    for (int k = 0; k < n && !found; k++)
      found = strcmp(ids[k], m->id) == 0;
    if (!found) {
      problems++;
      fprintf(out, "model %s: endpoint %s has no model '%s'", m->name, ep->name,
              m->id);
      print_closest(out, m->id, ids, n);
      fputc('\n', out);
    }
  }
  for (int k = 0; k < n; k++)
    free(ids[k]);
  free(ids);
  return problems;
}

int wd_check_online(const struct wd_config *c, FILE *out) {
  int problems = 0;
  for (int i = 0; i < c->nendpoints; i++)
    problems += check_endpoint(c, i, out);
  fprintf(out, "%s\n",
          problems ? "online check: problems found" : "online check: ok");
  return problems;
}
