/* stress-table.c - multi-process torn-read stress test of the shared table.
 *
 * One writer process updates every record as fast as it can, each update a
 * payload whose fields all derive from one counter plus a checksum over
 * them; it also removes and re-adds a few models now and then, so the index
 * is republished under the readers.  Reader processes, each with its own
 * handle as a worker would have, look models up with warmth_lookup and
 * verify every copy: right name, valid checksum, counters never going back.
 *
 * It also shows that a reader stopped with SIGSTOP in the middle of its
 * work does not slow the writer: the writer's rate is measured with all
 * readers running and with one of them stopped.  Only a writer that made
 * (almost) no progress while the reader was stopped fails the run (rate
 * below 10% of the running rate): no fine timing thresholds.
 *
 *   stress-table [--seconds N] [--readers N] [--models N]
 *
 * Prints "reads=N torn=0 ..." and exits 1 if any read was torn.  Every child
 * is killed and reaped by pid on every path; run time is bounded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"
#include "warmth.h"
#include "writer.h"

#define MAX_READERS 64
#define CHURN 8
#define CHURN_EVERY 16384 /* updates between two structural changes */

struct reader_stats {
  _Atomic uint64_t reads, torn, backwards, missing, busy;
} __attribute__((aligned(64)));

/* Shared by all processes (MAP_SHARED | MAP_ANONYMOUS, made before fork). */
struct shared {
  _Atomic int stop;
  _Atomic int ready;
  _Atomic uint64_t writes __attribute__((aligned(64)));
  _Atomic uint64_t churns;
  struct reader_stats r[MAX_READERS];
};

static int opt_seconds = 3, opt_readers = 3, opt_models = 16;
static char shm_name[64];
static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
}

/* splitmix64 finaliser (Steele, Lea, Flood 2014): a cheap, good mix. */
static uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static uint64_t checksum(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                         int64_t e, uint32_t f, uint16_t g) {
  return mix(a ^ mix(b ^ mix(c ^ mix(d ^ mix((uint64_t)e ^
                                             mix(f ^ ((uint64_t)g << 32)))))));
}

/* Update number k of model i: every field from k, cost_nusd the checksum. */
static void fill(struct warmth__payload *p, uint64_t k, uint16_t i) {
  p->successes = k;
  p->failures = k * 3 + i;
  p->tokens_in = k ^ 0xa5a5a5a5a5a5a5a5ull;
  p->tokens_out = (k << 17) | (k >> 47);
  p->warm_until = (int64_t)(k * 7);
  p->last_latency_us = (uint32_t)k;
  p->endpoint = i;
  p->state = WARMTH_WARM;
  p->cost_nusd =
      checksum(p->successes, p->failures, p->tokens_in, p->tokens_out,
               p->warm_until, p->last_latency_us, p->endpoint);
}

/* 1 if the copy is consistent: one update's payload, or a fresh record. */
static int consistent(const struct warmth_model_info *x) {
  if (x->successes == 0 && x->failures == 0 && x->tokens_in == 0 &&
      x->cost_nusd == 0)
    return 1; /* a re-added churn model before its first update */
  return x->cost_nusd == checksum(x->successes, x->failures, x->tokens_in,
                                  x->tokens_out, x->warm_until,
                                  x->last_latency_us, x->endpoint) &&
         x->failures == x->successes * 3 + x->endpoint &&
         x->tokens_in == (x->successes ^ 0xa5a5a5a5a5a5a5a5ull);
}

static void model_name(char *b, size_t n, int i) {
  if (i < opt_models)
    snprintf(b, n, "stress-model-%d", i);
  else
    snprintf(b, n, "churn-%d", i - opt_models);
}

/* ---- the writer process ------------------------------------------------- */

static void churn(struct warmth__w *w, uint64_t round, uint64_t k) {
  char m[32];
  int c = (int)(round % CHURN);
  model_name(m, sizeof m, opt_models + c);
  warmth__w_remove(w, m);
  warmth__w_publish(w);
  uint32_t slot;
  /* EFULL while removed slots wait out their grace period: skip. */
  if (warmth__w_add(w, m, &slot) != 0)
    return;
  warmth__w_publish(w);
  struct warmth__payload p;
  memset(&p, 0, sizeof p);
  fill(&p, k, (uint16_t)(opt_models + c));
  warmth__w_update(w, slot, &p);
}

static void writer_main(struct warmth__w *w, struct shared *sh,
                        const uint32_t *slots) {
  int64_t hard_end = warmth__mono_ns() + (opt_seconds + 30) * 1000000000LL;
  struct warmth__payload p;
  memset(&p, 0, sizeof p);
  uint64_t k = 0, rounds = 0;
  atomic_fetch_add(&sh->ready, 1);
  while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
    for (int i = 0; i < opt_models; i++) {
      fill(&p, ++k, (uint16_t)i);
      warmth__w_update(w, slots[i], &p);
    }
    atomic_store_explicit(&sh->writes, k, memory_order_relaxed);
    if (k / CHURN_EVERY != (k - (uint64_t)opt_models) / CHURN_EVERY) {
      churn(w, rounds++, k);
      atomic_store_explicit(&sh->churns, rounds, memory_order_relaxed);
      int64_t now = warmth__mono_ns();
      warmth__w_heartbeat(w, now);
      if (now > hard_end)
        break; /* the parent is gone or hung: never run forever */
    }
  }
  _exit(0);
}

/* ---- the reader processes ----------------------------------------------- */

static void reader_main(struct shared *sh, int id) {
  struct reader_stats *rs = &sh->r[id];
  warmth_t *h = NULL;
  if (warmth_open(&h, shm_name, 0) != 0)
    _exit(2);
  int total = opt_models + CHURN;
  uint64_t *last = calloc((size_t)total, sizeof *last);
  if (!last)
    _exit(3);
  uint64_t reads = 0, torn = 0, backwards = 0, missing = 0, busy = 0;
  unsigned seed = (unsigned)getpid();
  char m[32];
  atomic_fetch_add(&sh->ready, 1);
  while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
    seed = seed * 1103515245u + 12345u;
    int i = (int)((seed >> 8) % (unsigned)total);
    model_name(m, sizeof m, i);
    struct warmth_model_info x = {.size = sizeof x};
    int rc = warmth_lookup(h, m, &x);
    reads++;
    if (rc == 0) {
      if (strcmp(x.name, m) != 0 || !consistent(&x) ||
          (i < opt_models && x.endpoint != i)) {
        if (torn++ < 3) /* show what a torn copy looks like */
          fprintf(stderr,
                  "torn: asked %s got %s slot %u gen %llu successes %llu "
                  "failures %llu tokens_in %llx cost %llx endpoint %u\n",
                  m, x.name, x.slot, (unsigned long long)x.generation,
                  (unsigned long long)x.successes,
                  (unsigned long long)x.failures,
                  (unsigned long long)x.tokens_in,
                  (unsigned long long)x.cost_nusd, x.endpoint);
      } else if (i < opt_models && x.successes < last[i])
        backwards++; /* an older copy after a newer one */
      if (i < opt_models)
        last[i] = x.successes;
    } else if (rc == WARMTH_EBUSY) {
      busy++;
    } else if (i < opt_models || rc != WARMTH_ENOTFOUND) {
      missing++; /* a model never removed, or an unexpected error */
    }
    if ((reads & 1023) == 0 || torn) {
      atomic_store_explicit(&rs->reads, reads, memory_order_relaxed);
      atomic_store_explicit(&rs->torn, torn, memory_order_relaxed);
      atomic_store_explicit(&rs->backwards, backwards, memory_order_relaxed);
      atomic_store_explicit(&rs->missing, missing, memory_order_relaxed);
      atomic_store_explicit(&rs->busy, busy, memory_order_relaxed);
    }
  }
  atomic_store(&rs->reads, reads);
  atomic_store(&rs->torn, torn);
  atomic_store(&rs->backwards, backwards);
  atomic_store(&rs->missing, missing);
  atomic_store(&rs->busy, busy);
  free(last);
  warmth_close(h);
  _exit(0);
}

/* ---- the parent ---------------------------------------------------------- */

static pid_t spawn(void (*fn)(void *), void *arg) {
  pid_t pid = fork();
  if (pid == 0) {
    /* Die with the parent: a killed test run leaves no spinning children. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
      _exit(1);
    fn(arg);
    _exit(0);
  }
  return pid;
}

struct writer_arg {
  struct warmth__w *w;
  struct shared *sh;
  const uint32_t *slots;
};
static void run_writer(void *a) {
  struct writer_arg *wa = a;
  writer_main(wa->w, wa->sh, wa->slots);
}
struct reader_arg {
  struct shared *sh;
  int id;
};
static void run_reader(void *a) {
  struct reader_arg *ra = a;
  reader_main(ra->sh, ra->id);
}

static double now_s(void) { return (double)warmth__mono_ns() / 1e9; }

static void sleep_s(double s) {
  double end = now_s() + s;
  while (!interrupted && now_s() < end) {
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

/* Writer updates per second over `secs`. */
static double writer_rate(struct shared *sh, double secs) {
  uint64_t w0 = atomic_load(&sh->writes);
  double t0 = now_s();
  sleep_s(secs);
  return (double)(atomic_load(&sh->writes) - w0) / (now_s() - t0);
}

/* Reaps every child: waits up to `grace` seconds, then SIGKILLs the rest.
 * Returns the number of children that did not exit 0. */
static int reap_all(pid_t *pids, int n, double grace) {
  int bad = 0;
  double end = now_s() + grace;
  for (int i = 0; i < n; i++) {
    if (pids[i] <= 0)
      continue;
    int st;
    pid_t r;
    while ((r = waitpid(pids[i], &st, WNOHANG)) == 0 && now_s() < end)
      sleep_s(0.01);
    if (r == 0) {
      fprintf(stderr, "stress-table: child %d hung, killing it\n",
              (int)pids[i]);
      kill(pids[i], SIGKILL);
      kill(pids[i], SIGCONT);
      r = waitpid(pids[i], &st, 0);
    }
    if (r != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
      bad++;
    pids[i] = 0;
  }
  return bad;
}

static int parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    int *dst = !strcmp(argv[i], "--seconds")   ? &opt_seconds
               : !strcmp(argv[i], "--readers") ? &opt_readers
               : !strcmp(argv[i], "--models")  ? &opt_models
                                               : NULL;
    if (!dst || i + 1 >= argc)
      return -1;
    char *end;
    long v = strtol(argv[++i], &end, 10);
    if (*end || v < 1 || v > 100000)
      return -1;
    *dst = (int)v;
  }
  return opt_readers <= MAX_READERS && opt_seconds <= 3600 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (parse_args(argc, argv) != 0) {
    fprintf(stderr,
            "usage: %s [--seconds N] [--readers N (1..%d)] "
            "[--models N]\n",
            argv[0], MAX_READERS);
    return 2;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  snprintf(shm_name, sizeof shm_name, "/wst-%d", (int)getpid());

  struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  uint32_t *slots = calloc((size_t)opt_models, sizeof *slots);
  if (sh == MAP_FAILED || !slots) {
    perror("stress-table: memory");
    return 2;
  }
  /* Room for the churn models' slots waiting out their grace period. */
  struct warmth__w_opts o = {.capacity = (uint32_t)opt_models + CHURN + 4096,
                             .group = (gid_t)-1};
  struct warmth__w *w = NULL;
  char err[256];
  int rc = warmth__w_open(&w, shm_name, &o, err, sizeof err);
  if (rc) {
    fprintf(stderr, "stress-table: %s\n", err);
    return 2;
  }
  char m[32];
  for (int i = 0; i < opt_models + CHURN; i++) {
    uint32_t s;
    model_name(m, sizeof m, i);
    if (warmth__w_add(w, m, &s) != 0) {
      fprintf(stderr, "stress-table: cannot add %s\n", m);
      return 2;
    }
    if (i < opt_models) {
      /* Its first update before any reader starts, so that a reader that
       * finds a stable model always finds it with its own endpoint (a
       * reader that ran before the writer's first round saw endpoint 0 and
       * counted it torn: seen on a loaded machine). */
      struct warmth__payload p;
      memset(&p, 0, sizeof p);
      fill(&p, 0, (uint16_t)i);
      warmth__w_update(w, s, &p);
      slots[i] = s;
    }
  }
  warmth__w_publish(w);

  /* pids[0] is the writer, pids[1..] the readers. */
  int nchild = 1 + opt_readers, failed = 0;
  pid_t *pids = calloc((size_t)nchild, sizeof *pids);
  struct reader_arg *ra = calloc((size_t)opt_readers, sizeof *ra);
  struct writer_arg wa = {w, sh, slots};
  if (!pids || !ra)
    return 2;
  pids[0] = spawn(run_writer, &wa);
  for (int i = 0; i < opt_readers && pids[i] > 0; i++) {
    ra[i] = (struct reader_arg){sh, i};
    pids[1 + i] = spawn(run_reader, &ra[i]);
  }
  for (int i = 0; i < nchild; i++)
    if (pids[i] < 0) {
      perror("stress-table: fork");
      failed = 1;
    }
  double ready_by = now_s() + 10;
  while (!failed && atomic_load(&sh->ready) < nchild && now_s() < ready_by)
    sleep_s(0.01);
  if (atomic_load(&sh->ready) < nchild)
    failed = 1;

  double phase = opt_seconds / 3.0, running = 0, stopped = 0;
  if (!failed) {
    running = writer_rate(sh, phase);
    /* Stop reader 1 wherever it is (a tight lookup loop: mid-read, most
     * likely), and make sure it is stopped before measuring. */
    pid_t victim = pids[1];
    int st;
    kill(victim, SIGSTOP);
    if (waitpid(victim, &st, WUNTRACED) != victim || !WIFSTOPPED(st))
      failed = 1;
    stopped = writer_rate(sh, phase);
    kill(victim, SIGCONT);
    sleep_s(opt_seconds - 2 * phase);
  }
  atomic_store(&sh->stop, 1);
  failed += reap_all(pids, nchild, 10);
  warmth__w_close(w, 1);

  uint64_t reads = 0, torn = 0, backwards = 0, missing = 0, busy = 0;
  for (int i = 0; i < opt_readers; i++) {
    reads += atomic_load(&sh->r[i].reads);
    torn += atomic_load(&sh->r[i].torn);
    backwards += atomic_load(&sh->r[i].backwards);
    missing += atomic_load(&sh->r[i].missing);
    busy += atomic_load(&sh->r[i].busy);
  }
  uint64_t writes = atomic_load(&sh->writes);
  double ratio = running > 0 ? stopped / running : 0;
  printf("reads=%llu torn=%llu backwards=%llu missing=%llu busy=%llu "
         "writes=%llu churns=%llu\n",
         (unsigned long long)reads, (unsigned long long)torn,
         (unsigned long long)backwards, (unsigned long long)missing,
         (unsigned long long)busy, (unsigned long long)writes,
         (unsigned long long)atomic_load(&sh->churns));
  printf("writer: %.0f updates/s with %d readers running, %.0f updates/s "
         "with one stopped (ratio %.2f)\n",
         running, opt_readers, stopped, ratio);

  int bad = failed || interrupted || torn || backwards || missing ||
            reads == 0 || writes == 0 || ratio < 0.10;
  if (failed)
    fprintf(stderr, "stress-table: %d child(ren) failed or hung\n", failed);
  if (!failed && ratio < 0.10)
    fprintf(stderr, "stress-table: the writer stalled while a reader was "
                    "stopped\n");
  munmap(sh, sizeof *sh);
  free(pids);
  free(ra);
  free(slots);
  return bad ? 1 : 0;
}
