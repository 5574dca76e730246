/* worker-sim - a worker process as the integration tests and the demo need
 * one: it reads the table (lookup, is_warm), touches its models, may report
 * real requests, and may instead warm on its own timer (the per-process
 * warmer people run today), so the two can be counted side by side.
 *
 *   worker-sim --models a,b [--shm NAME] [--seconds N] [--period-ms N]
 *              [--no-touch] [--report-ms N]
 *              [--own-warmup BASE_URL --interval-ms N] [--prefork N]
 *
 * Prints one line: lookups=N warm=N inconsistent=N own_warmups=N errors=N
 * touch_errors=N, and exits 1 when any copied record was inconsistent.
 *
 * --prefork N plays a pre-fork master (Apache prefork, PHP-FPM, Gunicorn):
 * it opens the handle and touches each model once (so the demand segment
 * is mapped before any fork), prints "ready", waits for a line on stdin,
 * then forks N children that do the above with the inherited handle.  It
 * prints "prefork children=N killed=K failed=F" and exits 3 when a child
 * died of a signal or failed.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "warmth.h"

#define MAX_MODELS 64

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

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

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"shm", required_argument, NULL, 's'},
      {"models", required_argument, NULL, 'm'},
      {"seconds", required_argument, NULL, 't'},
      {"period-ms", required_argument, NULL, 'p'},
      {"no-touch", no_argument, NULL, 'n'},
      {"report-ms", required_argument, NULL, 'r'},
      {"own-warmup", required_argument, NULL, 'o'},
      {"interval-ms", required_argument, NULL, 'i'},
      {"prefork", required_argument, NULL, 'f'},
      {NULL, 0, NULL, 0}};
  const char *shm = NULL, *own = NULL;
  char *models_arg = NULL;
  double seconds = 5;
  long period_ms = 10, report_ms = 0, interval_ms = 1000;
  int touch = 1, prefork = 0, c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 's':
      shm = optarg;
      break;
    case 'm':
      models_arg = optarg;
      break;
    case 't':
      seconds = atof(optarg);
      break;
    case 'p':
      period_ms = atol(optarg);
      break;
    case 'n':
      touch = 0;
      break;
    case 'r':
      report_ms = atol(optarg);
      break;
    case 'o':
      own = optarg;
      break;
    case 'i':
      interval_ms = atol(optarg);
      break;
    case 'f':
      prefork = atoi(optarg);
      break;
    default:
      fprintf(stderr, "worker-sim: bad option (see the source's header)\n");
      return 2;
    }
  }
  if (!models_arg || seconds <= 0 || period_ms < 0 || interval_ms <= 0 ||
      prefork < 0 || prefork > 64) {
    fprintf(stderr, "worker-sim: --models is required\n");
    return 2;
  }
  char *names[MAX_MODELS];
  int n = 0;
  for (char *tok = strtok(models_arg, ","); tok && n < MAX_MODELS;
       tok = strtok(NULL, ","))
    names[n++] = tok;

  warmth_t *h = NULL;
  int rc = warmth_open(&h, shm, WARMTH_OPEN_LAZY);
  if (rc) {
    fprintf(stderr, "worker-sim: %s\n", warmth_strerror(rc));
    return 2;
  }
  if (prefork) {
    for (int i = 0; i < n; i++)
      (void)warmth_touch(h, names[i]);
    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin))
      return 2;
    pid_t kids[64];
    int k = 0;
    for (; k < prefork; k++) {
      kids[k] = fork();
      if (kids[k] == 0)
        break;
    }
    if (k == prefork) {
      int killed = 0, failed = 0;
      for (k = 0; k < prefork; k++) {
        int st = 0;
        if (kids[k] < 0 || waitpid(kids[k], &st, 0) < 0)
          failed++;
        else if (WIFSIGNALED(st))
          killed++;
        else if (WEXITSTATUS(st) != 0)
          failed++;
      }
      printf("prefork children=%d killed=%d failed=%d\n", prefork, killed,
             failed);
      warmth_close(h);
      return killed || failed ? 3 : 0;
    }
  }
  CURL *curl = NULL;
  if (own) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
  }
  unsigned long long lookups = 0, warm = 0, bad = 0, warmups = 0, errors = 0,
                     touch_errors = 0;
  int64_t start = now_ns(), end = start + (int64_t)(seconds * 1e9);
  /* A per-process warmer starts at a random phase, as workers do. */
  int64_t next_own =
      start + (int64_t)(rand_r(&(unsigned){(unsigned)getpid()}) % interval_ms) *
                  1000000LL;
  int64_t next_report = start;
  while (now_ns() < end) {
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
      if (touch && warmth_touch(h, names[i]) != 0)
        touch_errors++;
      if (report_ms && now_ns() >= next_report)
        warmth_report(h, names[i], 20000, 1);
    }
    if (report_ms && now_ns() >= next_report)
      next_report = now_ns() + report_ms * 1000000LL;
    if (own && now_ns() >= next_own) {
      for (int i = 0; i < n; i++)
        if (own_warmup(curl, own, names[i]) == 0)
          warmups++;
      next_own += interval_ms * 1000000LL;
    }
    if (period_ms)
      usleep((useconds_t)period_ms * 1000);
  }
  printf("lookups=%llu warm=%llu inconsistent=%llu own_warmups=%llu "
         "errors=%llu touch_errors=%llu\n",
         lookups, warm, bad, warmups, errors, touch_errors);
  if (curl) {
    curl_easy_cleanup(curl);
    curl_global_cleanup();
  }
  warmth_close(h);
  return bad ? 1 : 0;
}
