/* bench-warmd-reader.c - how long a warmup result takes to reach a reader,
 * measured from a real reader process, for tests/bench/bench-warmd.
 *
 *   bench-warmd-reader --shm NAME --prefix P --count N [--sample K]
 *                      [--period-us U] [--seconds S]
 *
 * Watches K of the N models "P00000".."P<N-1>" (evenly spaced) through
 * libwarmth, polling them every U microseconds.  A record's last_probe is
 * the CLOCK_MONOTONIC time warmd saw the warmup's reply end; when a poll
 * finds a new last_probe, (time of that poll - last_probe) is one sample of
 * "reply received by warmd -> visible to this reader".  A sample includes
 * the polling delay (up to one period plus one scan, and this process's own
 * wake-up delay on a busy machine), so it is an upper bound of the real
 * delay.  The first value seen of a model counts only if it was 0 (never
 * probed) before: a value already there when we started has no known start.
 *
 * Stops after S seconds or on SIGTERM/SIGINT and prints one line:
 *   reader samples=N p50_us=X p99_us=X max_us=X polls=N scan_us=X
 *          period_us=U models=K errors=N
 * (scan_us: mean time of one scan of the K models).  Exit 0, or 1 if it
 * could not open the table.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "warmth.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static long parse_pos(const char *s, const char *what) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == 0 || *end || v <= 0) {
    fprintf(stderr,
            "bench-warmd-reader: %s must be a positive number, not "
            "'%s'\n",
            what, s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"shm", required_argument, NULL, 's'},
      {"prefix", required_argument, NULL, 'p'},
      {"count", required_argument, NULL, 'n'},
      {"sample", required_argument, NULL, 'k'},
      {"period-us", required_argument, NULL, 'u'},
      {"seconds", required_argument, NULL, 't'},
      {NULL, 0, NULL, 0}};
  const char *shm = NULL, *prefix = "bench-";
  long count = 0, sample = 200, period_us = 250, seconds = 600;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 's':
      shm = optarg;
      break;
    case 'p':
      prefix = optarg;
      break;
    case 'n':
      count = parse_pos(optarg, "--count");
      break;
    case 'k':
      sample = parse_pos(optarg, "--sample");
      break;
    case 'u':
      period_us = parse_pos(optarg, "--period-us");
      break;
    case 't':
      seconds = parse_pos(optarg, "--seconds");
      break;
    default:
      fprintf(stderr, "usage: bench-warmd-reader --shm NAME --count N "
                      "[--prefix P] [--sample K] [--period-us U] "
                      "[--seconds S]\n");
      return 2;
    }
  }
  if (!shm || count <= 0 || strlen(prefix) > 64) {
    fprintf(stderr, "bench-warmd-reader: --shm and --count are needed "
                    "(and a prefix of at most 64 characters)\n");
    return 2;
  }
  if (sample > count)
    sample = count;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  warmth_t *h;
  int rc = warmth_open(&h, shm, 0);
  if (rc != 0) {
    fprintf(stderr, "bench-warmd-reader: cannot open %s: %s\n", shm,
            warmth_strerror(rc));
    return 1;
  }
  /* warmd creates the segment first and adds the models after: wait for
   * them (bounded), so start-up is not counted as lookup errors. */
  int64_t wait_end = now_ns() + 30 * 1000000000LL;
  for (;;) {
    struct warmth_status st = {.size = sizeof st};
    if ((warmth_status(h, &st) == 0 && st.models >= (uint32_t)count) ||
        now_ns() > wait_end || g_stop)
      break;
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  char(*names)[80] = calloc((size_t)sample, sizeof *names);
  int64_t *seen = calloc((size_t)sample, sizeof *seen);
  char *known = calloc((size_t)sample, 1);
  /* At most one result per model per 1/10 of a second is plenty. */
  size_t cap = (size_t)sample * (size_t)(seconds * 10 + 1), n = 0;
  if (cap > (size_t)1 << 24)
    cap = (size_t)1 << 24;
  int64_t *d = malloc(cap * sizeof *d);
  if (!names || !seen || !known || !d) {
    fprintf(stderr, "bench-warmd-reader: out of memory\n");
    return 1;
  }
  for (long i = 0; i < sample; i++)
    snprintf(names[i], sizeof names[i], "%s%05ld", prefix, i * count / sample);

  uint64_t polls = 0, errors = 0;
  int64_t scan_total = 0;
  int64_t end = now_ns() + seconds * 1000000000LL;
  struct timespec nap = {0, period_us * 1000};
  while (!g_stop && now_ns() < end) {
    int64_t t0 = now_ns();
    for (long i = 0; i < sample; i++) {
      struct warmth_model_info info = {.size = sizeof info};
      if (warmth_lookup(h, names[i], &info) != 0) {
        errors++;
        continue;
      }
      int64_t t = now_ns();
      if (known[i] && info.last_probe != seen[i] && info.last_probe && n < cap)
        d[n++] = t - info.last_probe;
      if (!known[i] || info.last_probe != seen[i]) {
        known[i] = 1;
        seen[i] = info.last_probe;
      }
    }
    scan_total += now_ns() - t0;
    polls++;
    nanosleep(&nap, NULL);
  }
  qsort(d, n, sizeof *d, cmp_i64);
  int64_t p50 = n ? d[n / 2] : 0;
  size_t r99 = (size_t)(0.99 * (double)n);
  int64_t p99 = n ? d[r99 < n ? r99 : n - 1] : 0;
  int64_t mx = n ? d[n - 1] : 0;
  printf("reader samples=%zu p50_us=%lld p99_us=%lld max_us=%lld polls=%llu "
         "scan_us=%.1f period_us=%ld models=%ld errors=%llu\n",
         n, (long long)(p50 / 1000), (long long)(p99 / 1000),
         (long long)(mx / 1000), (unsigned long long)polls,
         polls ? (double)scan_total / (double)polls / 1000.0 : 0.0, period_us,
         sample, (unsigned long long)errors);
  free(d);
  free(known);
  free(seen);
  free(names);
  warmth_close(h);
  return 0;
}
