/* table-watch - a reader process for the reload and restart tests: it
 * reads the table as fast as a busy worker would, checks every record copy
 * it gets, and prints what it saw over time.
 *
 *   table-watch --models a,b [--shm NAME] [--seconds N] [--sample-ms N]
 *
 * It reads for --seconds (default 5) or until SIGTERM, whichever comes
 * first, then prints its summary: a test that cannot know how long its
 * events take on a loaded machine gives a generous --seconds and stops it
 * once they are over.
 *
 * Every copy is checked: the name is the one asked for, every enumerated
 * field is in range, times are near now, and within one coordinator (pid)
 * and one slot generation `successes` and `warm_until` never go back.
 * A copy that fails is "garbage"; a value going back is a "regression".
 *
 * Output, one JSON object per line:
 *   {"t":MS,"pid":P,"stale":0|1,"retired":R,"m":{NAME:[RC,STATE,SUCCESSES,
 *    WARM,WARM_UNTIL_MINUS_NOW_MS,INTERVAL_MS,SLOT,GENERATION],...}}
 * every --sample-ms (default 50), MS being CLOCK_MONOTONIC in ms (Python's
 * time.monotonic() * 1000, so a test can line samples up with its own
 * events), RC being 0 or a WARMTH_E* code (the other
 * fields 0 then), and a last line
 *   {"done":1,"lookups":N,"garbage":N,"regressions":N,"first_bad":"...",
 *    "misses":{NAME:N,...},"miss_rc":{NAME:"WARMTH_E...",...}}
 * misses counting the lookups of a model that failed after one had found
 * it (a model that left the table, or one a reader failed to find), and
 * miss_rc what the first of them returned (models with misses only).
 * Exit status: 1 if any garbage or regression was seen, else 0.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "opts.h"
#include "warmth.h"

#define MAX_MODELS 64
#define DAY_NS (86400LL * 1000000000LL)

struct seen {
  int32_t pid;
  uint32_t slot;
  uint64_t generation;
  uint64_t successes;
  int64_t warm_until;
  int valid;
  int found_once;
  unsigned long long misses; /* failed lookups after the first success */
  int miss_rc;               /* what the first of them returned */
};

static unsigned long long garbage, regressions;
static char first_bad[256];

static void bad(int is_garbage, const char *model, const char *what) {
  if (is_garbage)
    garbage++;
  else
    regressions++;
  if (!first_bad[0])
    snprintf(first_bad, sizeof first_bad, "%s: %s", model, what);
}

/* Checks one copy; returns 0 when it is whole and sane. */
static int check_copy(const char *model, const struct warmth_model_info *i,
                      int64_t now) {
  const char *why = NULL;
  if (strncmp(i->name, model, sizeof i->name) != 0)
    why = "another model's record";
  else if (i->size != sizeof *i)
    why = "size changed";
  else if (i->state >= WARMTH_STATE_COUNT)
    why = "state out of range";
  else if (i->error_class >= WARMTH_ERR_CLASS_COUNT)
    why = "error class out of range";
  else if (i->http_status > 999)
    why = "http status out of range";
  else if (i->generation == 0)
    why = "generation 0";
  else if (i->warm_until &&
           (i->warm_until < now - DAY_NS || i->warm_until > now + DAY_NS))
    why = "warm_until far from now";
  else if (i->last_probe > now + 1000000000LL)
    why = "last_probe in the future";
  else if (i->fails_in_row > 1000000 || i->successes > 100000000ull)
    why = "counter out of range";
  if (why)
    bad(1, model, why);
  return why != NULL;
}

static volatile sig_atomic_t stop_now; /* SIGTERM: summary, then exit */

static void on_term(int sig) {
  (void)sig;
  stop_now = 1;
}

static const char usage[] =
    "Usage: table-watch --models a,b [--shm NAME] [--seconds N]"
    " [--sample-ms N]\n";

int main(int argc, char **argv) {
  const char *shm = NULL;
  char *models_arg = NULL;
  double seconds = 5;
  long sample_ms = 50;
  const struct hopt opts[] = {
      {"shm", HOPT_STR, &shm, 0, 0, NULL},
      {"models", HOPT_STR, &models_arg, 0, 0, NULL},
      {"seconds", HOPT_SECONDS, &seconds, 1e-3, 86400, NULL},
      {"sample-ms", HOPT_LONG, &sample_ms, 1, 3600000, NULL},
      {NULL, 0, NULL, 0, 0, NULL}};
  int rc = hopt_parse("table-watch", usage, opts, argc, argv, NULL);
  if (rc)
    return rc;
  if (!models_arg)
    return hopt_fail("table-watch", "--models is required");
  char *names[MAX_MODELS];
  int n = hopt_split(models_arg, names, MAX_MODELS);
  if (n < 0)
    return hopt_fail("table-watch", "more than %d models", MAX_MODELS);
  warmth_t *h = NULL;
  rc = warmth_open(&h, shm, WARMTH_OPEN_LAZY);
  if (rc) {
    fprintf(stderr, "table-watch: %s\n", warmth_strerror(rc));
    return 2;
  }
  static struct seen seen[MAX_MODELS];
  static struct warmth_model_info last[MAX_MODELS];
  static int last_rc[MAX_MODELS];
  unsigned long long lookups = 0;
  int64_t start = hopt_now_ns(), end = start + (int64_t)(seconds * 1e9);
  int64_t next_sample = start;
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa = {.sa_handler = on_term};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  while (!stop_now && hopt_now_ns() < end) {
    struct warmth_status st;
    st.size = sizeof st;
    if (warmth_status(h, &st) != 0)
      memset(&st, 0, sizeof st);
    for (int i = 0; i < n; i++) {
      struct warmth_model_info info;
      info.size = sizeof info;
      rc = warmth_lookup(h, names[i], &info);
      int64_t now = hopt_now_ns();
      last_rc[i] = rc;
      if (rc != 0) {
        if (seen[i].found_once && !seen[i].misses++)
          seen[i].miss_rc = rc;
        continue;
      }
      seen[i].found_once = 1;
      lookups++;
      if (check_copy(names[i], &info, now))
        continue;
      last[i] = info;
      struct seen *s = &seen[i];
      if (s->valid && s->pid == st.pid && s->slot == info.slot &&
          s->generation == info.generation) {
        if (info.successes < s->successes)
          bad(0, names[i], "successes went back");
        if (info.warm_until < s->warm_until)
          bad(0, names[i], "warm_until went back");
      }
      s->valid = 1;
      s->pid = st.pid;
      s->slot = info.slot;
      s->generation = info.generation;
      s->successes = info.successes;
      s->warm_until = info.warm_until;
    }
    int64_t now = hopt_now_ns();
    if (now >= next_sample) {
      next_sample = now + sample_ms * 1000000LL;
      printf("{\"t\":%lld,\"pid\":%d,\"stale\":%u,\"retired\":%u,\"m\":{",
             (long long)(now / 1000000), (int)st.pid, st.stale, st.retired);
      for (int i = 0; i < n; i++) {
        const struct warmth_model_info *l = &last[i];
        int ok = last_rc[i] == 0;
        printf("%s\"%s\":[%d,%d,%llu,%d,%lld,%u,%u,%llu]", i ? "," : "",
               names[i], last_rc[i], ok ? l->state : 0,
               ok ? (unsigned long long)l->successes : 0ull,
               ok ? warmth_is_warm(h, names[i]) == 1 : 0,
               ok && l->warm_until
                   ? (long long)((l->warm_until - now) / 1000000)
                   : 0ll,
               ok ? l->interval_ms : 0u, ok ? l->slot : 0u,
               ok ? (unsigned long long)l->generation : 0ull);
      }
      printf("}}\n");
    }
    usleep(200);
  }
  printf("{\"done\":1,\"lookups\":%llu,\"garbage\":%llu,\"regressions\":%llu,"
         "\"first_bad\":\"%s\",\"misses\":{",
         lookups, garbage, regressions, first_bad);
  for (int i = 0; i < n; i++)
    printf("%s\"%s\":%llu", i ? "," : "", names[i], seen[i].misses);
  printf("},\"miss_rc\":{");
  for (int i = 0, k = 0; i < n; i++)
    if (seen[i].misses)
      printf("%s\"%s\":\"%s\"", k++ ? "," : "", names[i],
             warmth_err_name(seen[i].miss_rc));
  printf("}}\n");
  warmth_close(h);
  return garbage || regressions ? 1 : 0;
}
