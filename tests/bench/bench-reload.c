/* bench-reload.c - how long warmd's main loop stalls in a reload's model
 * matching (tools/warmd/table.c), at 10,000 models by default.
 *
 * Builds a real model table (config file, shared segment, publisher thread)
 * and times, with CLOCK_MONOTONIC around the call alone (the config is
 * parsed before the clock starts):
 *   init-adopt   wd_table_init() on a segment adopted from a previous
 *                coordinator (drops the models the config no longer names)
 *   reload-same  wd_table_reload() with the same models (all kept)
 *   reload-mixed wd_table_reload() with the order reversed, 10% renamed
 *                (10% removed, 10% added)
 *   config-load  wd_config_load() of that config (also on the main loop
 *                at a reload, before the matching; for scale)
 * Each figure is the median of --rounds runs (default 5), in ms.  Usage:
 * bench-reload [--models N] [--rounds R].  Issue 12, item 14: the nested
 * scans it replaced took ~220 ms at 10,000 models.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "table.h"

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static struct wd_config *conf(const char *path, int n, int variant) {
  FILE *c = fopen(path, "w");
  if (!c) {
    perror(path);
    exit(1);
  }
  fprintf(c, "[warmd]\nhttp_listen =\n[endpoint local]\nkind = openai\n"
             "base_url = http://127.0.0.1:9/v1\n");
  for (int k = 0; k < n; k++) {
    int i = variant ? n - 1 - k : k; /* variant 1: reversed, 10% renamed */
    fprintf(c, "[model %s-%05d]\nendpoint = local\ninterval = 60s\n",
            variant && i % 10 == 0 ? "renamed" : "model", i);
  }
  fclose(c);
  struct wd_config *cfg;
  char err[512];
  if (wd_config_load(path, &cfg, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    exit(1);
  }
  return cfg;
}

static double median_ms(int64_t *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_i64);
  return (double)v[n / 2] / 1e6;
}

int main(int argc, char **argv) {
  int n = 10000, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--models") == 0)
      n = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--rounds") == 0)
      rounds = atoi(argv[i + 1]);
  }
  if (n < 10 || rounds < 1 || rounds > 100) {
    fprintf(stderr, "usage: bench-reload [--models N>=10] [--rounds R]\n");
    return 2;
  }
  wd_log_open(0, LOG_WARNING);
  rcu_register_thread();
  char dir[] = "/tmp/bench-reload.XXXXXX", path[64], shm[64], err[512];
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(path, sizeof path, "%s/warmd.conf", dir);
  snprintf(shm, sizeof shm, "/bench-reload-%d", (int)getpid());
  struct warmth__w_opts o = {
      .capacity = (uint32_t)n * 4, .mode = 0600, .group = (gid_t)-1};
  int64_t t_init[100], t_same[100], t_mixed[100], t_load[100];
  for (int r = 0; r < rounds; r++) {
    struct warmth__w *w;
    /* A previous coordinator's table: the models plus 10% others. */
    if (warmth__w_open(&w, shm, &o, err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
    for (int i = 0; i < n + n / 10; i++) {
      char m[32];
      uint32_t slot;
      snprintf(m, sizeof m, "%s-%05d", i < n ? "model" : "gone", i);
      warmth__w_add(w, m, &slot);
    }
    warmth__w_publish(w);
    warmth__w_crash(w); /* as kill -9: the next open adopts the segment */
    warmth__w_close(w, 0);
    if (warmth__w_open(&w, shm, &o, err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
    struct wd_pub *pub;
    if (wd_pub_start(&pub, w, 100 * WD_NS_PER_MS) != 0)
      return 1;
    struct wd_table t;
    struct wd_config *cfg = conf(path, n, 0);
    int64_t t0 = wd_mono_ns();
    if (wd_table_init(&t, cfg, w, pub, t0, err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
    t_init[r] = wd_mono_ns() - t0;
    struct wd_reload_summary sum;
    cfg = conf(path, n, 0);
    t0 = wd_mono_ns();
    if (wd_table_reload(&t, cfg, w, pub, t0, &sum, err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
    t_same[r] = wd_mono_ns() - t0;
    t0 = wd_mono_ns();
    cfg = conf(path, n, 1);
    t_load[r] = wd_mono_ns() - t0;
    t0 = wd_mono_ns();
    if (wd_table_reload(&t, cfg, w, pub, t0, &sum, err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
    t_mixed[r] = wd_mono_ns() - t0;
    if (sum.added != n / 10 || sum.removed != n / 10) {
      fprintf(stderr, "unexpected summary: %d added, %d removed\n", sum.added,
              sum.removed);
      return 1;
    }
    wd_table_free(&t);
    wd_pub_stop(pub);
    warmth__w_close(w, 1);
  }
  unlink(path);
  rmdir(dir);
  printf("models %d, rounds %d (median ms)\n", n, rounds);
  printf("init-adopt   %8.2f ms\n", median_ms(t_init, rounds));
  printf("reload-same  %8.2f ms\n", median_ms(t_same, rounds));
  printf("reload-mixed %8.2f ms\n", median_ms(t_mixed, rounds));
  printf("config-load  %8.2f ms (writing and parsing the file)\n",
         median_ms(t_load, rounds));
  rcu_unregister_thread();
  return 0;
}
