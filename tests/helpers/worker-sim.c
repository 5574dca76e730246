/* worker-sim - a worker process as the integration tests and the demo need
 * one: it reads the table (lookup, is_warm), touches its models, may report
 * real requests, and may instead warm on its own timer (the per-process
 * warmer people run today), so the two can be counted side by side.
 *
 *   worker-sim --models a,b [--shm NAME] [--seconds N] [--period-ms N]
 *              [--no-touch] [--report-ms N]
 *              [--own-warmup BASE_URL --interval-ms N]
 *
 * Prints one line: lookups=N warm=N inconsistent=N own_warmups=N errors=N
 * and exits 1 when any copied record was inconsistent.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "opts.h"
#include "warmth.h"

#define MAX_MODELS 64

static size_t discard(char *p, size_t s, size_t n, void *u) {
  (void)p;
  (void)u;
  return s * n;
}

/* One warmup the way a per-process warmer sends it. */
static int own_warmup(CURL *c, const char *base, const char *model) {
  char url[512], body[256];
  snprintf(url, sizeof url, "%s/chat/completions", base);
  snprintf(body, sizeof body,
           "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":"
           "\"hi\"}],\"max_tokens\":3}",
           model);
  struct curl_slist *h =
      curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(h);
  return rc == CURLE_OK ? 0 : -1;
}

static const char usage[] =
    "Usage: worker-sim --models a,b [--shm NAME] [--seconds N] [--period-ms "
    "N]\n"
    "         [--no-touch] [--report-ms N]\n"
    "         [--own-warmup BASE_URL --interval-ms N]\n";

int main(int argc, char **argv) {
  const char *shm = NULL, *own = NULL;
  char *models_arg = NULL;
  double seconds = 5;
  long period_ms = 10, report_ms = 0, interval_ms = 1000;
  int no_touch = 0;
  const struct hopt opts[] = {
      {"shm", HOPT_STR, &shm, 0, 0, NULL},
      {"models", HOPT_STR, &models_arg, 0, 0, NULL},
      {"seconds", HOPT_SECONDS, &seconds, 1e-3, 86400, NULL},
      {"period-ms", HOPT_LONG, &period_ms, 0, 60000, NULL},
      {"no-touch", HOPT_FLAG, &no_touch, 0, 0, NULL},
      {"report-ms", HOPT_LONG, &report_ms, 0, 3600000, NULL},
      {"own-warmup", HOPT_STR, &own, 0, 0, NULL},
      {"interval-ms", HOPT_LONG, &interval_ms, 1, 3600000, NULL},
      {NULL, 0, NULL, 0, 0, NULL}};
  int rc = hopt_parse("worker-sim", usage, opts, argc, argv, NULL);
  if (rc)
    return rc;
  int touch = !no_touch;
  if (!models_arg)
    return hopt_fail("worker-sim", "--models is required");
  char *names[MAX_MODELS];
  int n = hopt_split(models_arg, names, MAX_MODELS);
  if (n < 0)
    return hopt_fail("worker-sim", "more than %d models", MAX_MODELS);

  warmth_t *h = NULL;
  rc = warmth_open(&h, shm, WARMTH_OPEN_LAZY);
  if (rc) {
    fprintf(stderr, "worker-sim: %s\n", warmth_strerror(rc));
    return 2;
  }
  CURL *curl = NULL;
  if (own) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
  }
  unsigned long long lookups = 0, warm = 0, bad = 0, warmups = 0, errors = 0;
  int64_t start = hopt_now_ns(), end = start + (int64_t)(seconds * 1e9);
  /* A per-process warmer starts at a random phase, as workers do. */
  int64_t next_own =
      start + (int64_t)(rand_r(&(unsigned){(unsigned)getpid()}) % interval_ms) *
                  1000000LL;
  int64_t next_report = start;
  while (hopt_now_ns() < end) {
    for (int i = 0; i < n; i++) {
      struct warmth_model_info info;
      info.size = sizeof info;
      rc = warmth_lookup(h, names[i], &info);
      if (rc == 0) {
        lookups++;
        /* The record copied must be the one asked for, and whole. */
        if (strcmp(info.name, names[i]) != 0 ||
            info.state >= WARMTH_STATE_COUNT || info.size != sizeof info)
          bad++;
        if (warmth_is_warm(h, names[i]) == 1)
          warm++;
      } else {
        errors++;
      }
      if (touch)
        warmth_touch(h, names[i]);
      if (report_ms && hopt_now_ns() >= next_report)
        warmth_report(h, names[i], 20000, 1);
    }
    if (report_ms && hopt_now_ns() >= next_report)
      next_report = hopt_now_ns() + report_ms * 1000000LL;
    if (own && hopt_now_ns() >= next_own) {
      for (int i = 0; i < n; i++)
        if (own_warmup(curl, own, names[i]) == 0)
          warmups++;
      next_own += interval_ms * 1000000LL;
    }
    if (period_ms)
      usleep((useconds_t)period_ms * 1000);
  }
  printf("lookups=%llu warm=%llu inconsistent=%llu own_warmups=%llu "
         "errors=%llu\n",
         lookups, warm, bad, warmups, errors);
  if (curl) {
    curl_easy_cleanup(curl);
    curl_global_cleanup();
  }
  warmth_close(h);
  return bad ? 1 : 0;
}
