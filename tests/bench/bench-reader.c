/* bench-reader.c - what the reader hot path costs, next to a clock read.
 *
 * DESIGN.md, "Numbers to hold": a lookup of one model by name must stay
 * within 2x of a vDSO clock_gettime(CLOCK_MONOTONIC) measured in the same
 * run.  This program measures both, and the rest of the hot path, in one
 * process: every benchmark runs `reps` times `calls` calls, the repetitions
 * of all benchmarks interleaved (rep 1 of each, then rep 2 of each, ...), so
 * frequency changes and noisy neighbours hit them alike; the median is shown.
 *
 * Tables are made with the internal writer under unique names
 * ("/warmth-bench-<pid>-<n>") and unlinked at exit, on error and on a
 * fatal signal.  The last three lines of output are always
 *   handle_is_warm_vs_clock_gettime=R  (goal <= 0.5: warmth_model_is_warm
 *                                       on 1,000 resolved handles, random)
 *   is_warm_vs_clock_gettime=R         (goal <= 1.5: warmth_is_warm by name)
 *   lookup_vs_clock_gettime=R          (goal <= 1.0: warmth_lookup by name)
 * each over 1,000 models looked up in random order, divided by a
 * clock_gettime(CLOCK_MONOTONIC) measured in the same run; they are
 * printed, never asserted (figures from a shared CI box are no verdict).
 *
 * Run by `make bench`, never by `make check`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "warmth.h"
#include "writer.h"

#define MAX_REPS 101
#define MAX_BENCH 24
#define NAME_STRIDE 64
/* Far enough that no record cools down during a run. */
#define HOUR_NS (3600LL * 1000000000LL)

/* ---- cleanup: segments and the writer child, whatever way we leave ----- */

#define MAX_SHM 16
static char shm_names[MAX_SHM][NAME_STRIDE + 16];
static volatile sig_atomic_t n_shm;
static volatile pid_t child_pid;

static void cleanup(void) {
  pid_t pid = child_pid;
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    child_pid = 0;
  }
  /* shm_unlink is unlink() of a /dev/shm path in glibc: fine in a handler. */
  for (int i = 0; i < n_shm; i++)
    shm_unlink(shm_names[i]);
  n_shm = 0;
}

static void on_fatal_signal(int sig) {
  cleanup();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void register_shm(const char *name) {
  if (n_shm < MAX_SHM) {
    snprintf(shm_names[n_shm], sizeof shm_names[0], "%s", name);
    n_shm = n_shm + 1;
  }
}

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bench-reader: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1); /* atexit(cleanup) unlinks and reaps */
}

/* ---- machine description ------------------------------------------------ */

static void read_line(const char *path, char *buf, size_t len) {
  FILE *f = fopen(path, "r");
  buf[0] = 0;
  if (f) {
    if (!fgets(buf, (int)len, f))
      buf[0] = 0;
    fclose(f);
  }
  buf[strcspn(buf, "\n")] = 0;
  if (!buf[0])
    snprintf(buf, len, "unknown");
}

/* "model name" on x86; aarch64 kernels print no model, only part numbers. */
static void cpu_model(char *buf, size_t len) {
  static const char *const keys[] = {"model name", "Hardware", "CPU part",
                                     "cpu model", "cpu"};
  char line[512];
  buf[0] = 0;
  for (size_t k = 0; k < sizeof keys / sizeof keys[0] && !buf[0]; k++) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
      break;
    size_t kl = strlen(keys[k]);
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, keys[k], kl) != 0)
        continue;
      const char *c = strchr(line, ':');
      if (!c || strspn(line + kl, " \t") != (size_t)(c - line - (long)kl))
        continue;
      c += 1 + strspn(c + 1, " \t");
      snprintf(buf, len, "%s", c);
      buf[strcspn(buf, "\n")] = 0;
      break;
    }
    fclose(f);
  }
  if (!buf[0])
    snprintf(buf, len, "unknown");
}

/* ---- timing ------------------------------------------------------------- */

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Keeps the compiler from dropping a copy that is otherwise unused. */
#define BARRIER_ON(p) __asm__ __volatile__("" : : "r"(p) : "memory")

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* ---- the tables --------------------------------------------------------- */

struct table {
  unsigned n;
  char shm[NAME_STRIDE];
  struct warmth__w *w;
  warmth_t *h;
  char *names;             /* n names, NAME_STRIDE apart */
  uint32_t *slots;         /* slot of name i */
  const char **seq;        /* random existing names, in the order looked up */
  warmth_model_t **models; /* model i resolved */
  warmth_model_t **hseq;   /* the handles of seq's names, same order */
  size_t seq_mask;         /* seq has seq_mask + 1 entries, a power of two */
  uint64_t errors;         /* calls that did not return what they should */
  int last_rc;             /* what the last of them returned */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull; /* fixed: same runs */

static uint64_t rng(void) { /* xorshift64* (Vigna) */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

/* Lengths like real model ids ("claude-3-5-sonnet-20241022" is 26). */
static void model_name(char *buf, size_t len, unsigned i) {
  static const char *const vendor[] = {"openai", "anthropic", "mistral",
                                       "google"};
  snprintf(buf, len, "%s/bench-model-%05u", vendor[i % 4], i);
}

static void fill_payload(struct warmth__payload *p, int64_t now, unsigned i) {
  memset(p, 0, sizeof *p);
  p->state = WARMTH_WARM;
  p->warm_until = now + HOUR_NS;
  p->last_probe = now;
  p->last_ok = now;
  p->successes = i + 1;
  p->last_latency_us = 150000 + i;
  p->ewma_latency_us = 160000;
  p->http_status = 200;
  p->headroom_requests = UINT32_MAX;
  p->headroom_tokens = UINT32_MAX;
}

static void table_make(struct table *t, unsigned n, int serial) {
  memset(t, 0, sizeof *t);
  t->n = n;
  snprintf(t->shm, sizeof t->shm, "/warmth-bench-%ld-%d", (long)getpid(),
           serial);
  char dname[NAME_STRIDE + 8];
  snprintf(dname, sizeof dname, "%s.lock", t->shm); /* the writer's lock */
  /* Registered before creation: a failure half way still unlinks. */
  register_shm(t->shm);
  register_shm(dname);

  struct warmth__w_opts o;
  memset(&o, 0, sizeof o);
  o.capacity = n;
  o.group = (gid_t)-1;
  o.no_adopt = 1;
  /* The heartbeat is stored once: an hour of grace keeps is_warm() on its
   * full path (a stale table would answer "not warm" all the same). */
  o.stale_after_ns = HOUR_NS;
  char err[256];
  int rc = warmth__w_open(&t->w, t->shm, &o, err, sizeof err);
  if (rc)
    die("cannot create %s: %s (%s)", t->shm, err, warmth_strerror(rc));

  t->names = calloc(n, NAME_STRIDE);
  t->slots = calloc(n, sizeof *t->slots);
  if (!t->names || !t->slots)
    die("out of memory");
  int64_t now = now_ns();
  for (unsigned i = 0; i < n; i++) {
    char *name = t->names + (size_t)i * NAME_STRIDE;
    model_name(name, NAME_STRIDE, i);
    rc = warmth__w_add(t->w, name, &t->slots[i]);
    if (rc)
      die("cannot add %s: %s", name, warmth_strerror(rc));
    struct warmth__payload p;
    fill_payload(&p, now, i);
    rc = warmth__w_update(t->w, t->slots[i], &p);
    if (rc)
      die("cannot update %s: %s", name, warmth_strerror(rc));
  }
  warmth__w_publish(t->w);
  warmth__w_heartbeat(t->w, now_ns());

  rc = warmth_open(&t->h, t->shm, 0);
  if (rc)
    die("warmth_open(%s): %s", t->shm, warmth_strerror(rc));

  /* Back-to-back shuffles of all names: every name equally often, in an
   * order no branch predictor or prefetcher learns. */
  size_t len = 4096;
  while (len < 2 * (size_t)n)
    len <<= 1;
  t->seq = malloc(len * sizeof *t->seq);
  uint32_t *perm = malloc(n * sizeof *perm);
  if (!t->seq || !perm)
    die("out of memory");
  t->models = calloc(n, sizeof *t->models);
  t->hseq = malloc(len * sizeof *t->hseq);
  if (!t->models || !t->hseq)
    die("out of memory");
  for (unsigned i = 0; i < n; i++) {
    rc =
        warmth_resolve(t->h, t->names + (size_t)i * NAME_STRIDE, &t->models[i]);
    if (rc)
      die("warmth_resolve: %s", warmth_strerror(rc));
  }
  for (size_t k = 0; k < len;) {
    for (unsigned i = 0; i < n; i++)
      perm[i] = i;
    for (unsigned i = n - 1; i > 0; i--) {
      unsigned j = (unsigned)(rng() % (i + 1));
      uint32_t x = perm[i];
      perm[i] = perm[j];
      perm[j] = x;
    }
    for (unsigned i = 0; i < n && k < len; i++, k++) {
      t->seq[k] = t->names + (size_t)perm[i] * NAME_STRIDE;
      t->hseq[k] = t->models[perm[i]];
    }
  }
  free(perm);
  t->seq_mask = len - 1;
}

static void table_free(struct table *t) {
  for (unsigned i = 0; i < t->n; i++)
    warmth_model_free(t->models[i]);
  free(t->models);
  free(t->hseq);
  warmth_close(t->h);
  warmth__w_close(t->w, 1);
  free(t->names);
  free(t->slots);
  free(t->seq);
}

/* ---- the measured loops ------------------------------------------------- */

typedef uint64_t (*bench_fn)(void *arg, uint64_t n);

static uint64_t b_clock(void *arg, uint64_t n) {
  (void)arg;
  struct timespec ts;
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    acc += (uint64_t)ts.tv_nsec;
  }
  return acc;
}

static uint64_t b_lookup(void *arg, uint64_t n) {
  struct table *t = arg;
  struct warmth_model_info info;
  info.size = sizeof info;
  uint64_t acc = 0, bad = 0;
  for (uint64_t i = 0; i < n; i++) {
    int rc = warmth_lookup(t->h, t->seq[i & t->seq_mask], &info);
    if (rc != 0) {
      bad++;
      t->last_rc = rc;
    }
    acc += info.slot + (uint64_t)info.warm_until;
  }
  t->errors += bad;
  return acc;
}

static uint64_t b_lookup_same(void *arg, uint64_t n) {
  struct table *t = arg;
  const char *name = t->seq[0];
  struct warmth_model_info info;
  info.size = sizeof info;
  uint64_t acc = 0, bad = 0;
  for (uint64_t i = 0; i < n; i++) {
    int rc = warmth_lookup(t->h, name, &info);
    if (rc != 0) {
      bad++;
      t->last_rc = rc;
    }
    acc += info.slot + (uint64_t)info.warm_until;
  }
  t->errors += bad;
  return acc;
}

static uint64_t b_is_warm(void *arg, uint64_t n) {
  struct table *t = arg;
  uint64_t acc = 0, bad = 0;
  for (uint64_t i = 0; i < n; i++) {
    int rc = warmth_is_warm(t->h, t->seq[i & t->seq_mask]);
    if (rc != 1) {
      bad++;
      t->last_rc = rc;
    }
    acc += (uint64_t)rc;
  }
  t->errors += bad;
  return acc;
}

static uint64_t b_handle_is_warm(void *arg, uint64_t n) {
  struct table *t = arg;
  uint64_t acc = 0, bad = 0;
  for (uint64_t i = 0; i < n; i++) {
    int rc = warmth_model_is_warm(t->hseq[i & t->seq_mask]);
    if (rc != 1) {
      bad++;
      t->last_rc = rc;
    }
    acc += (uint64_t)rc;
  }
  t->errors += bad;
  return acc;
}

static uint64_t b_handle_is_warm_same(void *arg, uint64_t n) {
  struct table *t = arg;
  warmth_model_t *m = t->hseq[0];
  uint64_t acc = 0, bad = 0;
  for (uint64_t i = 0; i < n; i++) {
    int rc = warmth_model_is_warm(m);
    if (rc != 1) {
      bad++;
      t->last_rc = rc;
    }
    acc += (uint64_t)rc;
  }
  t->errors += bad;
  return acc;
}

static uint64_t b_handle_lookup(void *arg, uint64_t n) {
  struct table *t = arg;
  struct warmth_model_info info;
  info.size = sizeof info;
  uint64_t acc = 0, bad = 0;
  for (uint64_t i = 0; i < n; i++) {
    int rc = warmth_model_lookup(t->hseq[i & t->seq_mask], &info);
    if (rc != 0) {
      bad++;
      t->last_rc = rc;
    }
    acc += info.slot + (uint64_t)info.warm_until;
  }
  t->errors += bad;
  return acc;
}

static uint64_t b_clock_coarse(void *arg, uint64_t n) {
  (void)arg;
  struct timespec ts;
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    acc += (uint64_t)ts.tv_nsec;
  }
  return acc;
}

static uint64_t b_touch(void *arg, uint64_t n) {
  struct table *t = arg;
  uint64_t acc = 0, bad = 0;
  for (uint64_t i = 0; i < n; i++) {
    int rc = warmth_touch(t->h, t->seq[i & t->seq_mask]);
    if (rc != 0) {
      bad++;
      t->last_rc = rc;
    }
    acc += (uint64_t)rc;
  }
  t->errors += bad;
  return acc;
}

/* Baseline: what a conventional design pays, a process-shared rwlock in a
 * shared mapping around a copy of a 256-byte record. */
/* One copy of the payload, as a locked design would keep it (a latch
 * record holds two). */
#define RW_WORDS 32
struct rwseg {
  pthread_rwlock_t lock;
  uint64_t rec[RW_WORDS] __attribute__((aligned(64)));
};

static uint64_t b_rwlock(void *arg, uint64_t n) {
  struct rwseg *s = arg;
  uint64_t copy[RW_WORDS];
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    pthread_rwlock_rdlock(&s->lock);
    memcpy(copy, s->rec, sizeof copy);
    pthread_rwlock_unlock(&s->lock);
    BARRIER_ON(copy);
    acc += copy[i & (RW_WORDS - 1)];
  }
  return acc;
}

static struct rwseg *rwseg_make(char *name, size_t len) {
  snprintf(name, len, "/warmth-bench-%ld-rwlock", (long)getpid());
  register_shm(name);
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    die("cannot create %s: %s", name, strerror(errno));
  if (ftruncate(fd, sizeof(struct rwseg)) != 0)
    die("cannot size %s: %s", name, strerror(errno));
  struct rwseg *s =
      mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (s == MAP_FAILED)
    die("cannot map %s: %s", name, strerror(errno));
  pthread_rwlockattr_t at;
  if (pthread_rwlockattr_init(&at) ||
      pthread_rwlockattr_setpshared(&at, PTHREAD_PROCESS_SHARED) ||
      pthread_rwlock_init(&s->lock, &at))
    die("cannot initialise a process-shared rwlock");
  pthread_rwlockattr_destroy(&at);
  for (size_t i = 0; i < RW_WORDS; i++)
    s->rec[i] = i * 0x0101010101010101ull;
  return s;
}

/* ---- the writer child (write-load phase) -------------------------------- */

struct wl_ctl {
  _Atomic int ready;
  _Atomic int stop;
  _Atomic uint64_t updates;
};

/* Updates records until told to stop: round-robin over the whole table, or
 * one slot only (hot = the slot, else -1); `rate` updates per second, 0 =
 * as fast as it can. */
static void writer_child(struct table *t, struct wl_ctl *c, int cpu, int hot,
                         uint64_t rate, pid_t parent) {
  /* The parent's handlers and registry would unlink its segments. */
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  n_shm = 0;
  child_pid = 0;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) /* it died before prctl took effect */
    _exit(1);
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  struct warmth__payload p;
  fill_payload(&p, now_ns(), 0);
  int64_t t0 = now_ns();
  uint64_t k = 0;
  unsigned i = 0;
  atomic_store(&c->ready, 1);
  while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
    if (rate && (k & 15) == 0) {
      int64_t due = t0 + (int64_t)(k * 1000000000ull / rate);
      int64_t now = now_ns();
      if (now < due) {
        struct timespec ts = {0, (long)(due - now)};
        nanosleep(&ts, NULL);
        continue;
      }
    }
    uint32_t slot = hot >= 0 ? (uint32_t)hot : t->slots[i];
    p.successes = k;
    p.last_latency_us = (uint32_t)k;
    warmth__w_update(t->w, slot, &p);
    if (++i == t->n)
      i = 0;
    /* Flat out, publish the count now and then: the line would bounce. */
    if ((++k & 255) == 0 || rate)
      atomic_store_explicit(&c->updates, k, memory_order_relaxed);
  }
  atomic_store(&c->updates, k);
  _exit(0);
}

/* ---- running and reporting ---------------------------------------------- */

struct bench {
  const char *key;  /* for --json and scripts */
  const char *desc; /* for people */
  bench_fn fn;
  void *arg;
  struct table *t; /* whose error count the calls add to, or NULL */
  double ns[MAX_REPS];
  double med, min, max;
  double wps; /* writer updates per second, write-load phase only */
  uint64_t errors;
  int last_rc;
};

static struct bench benches[MAX_BENCH];
static int nbench;
static volatile uint64_t sink;

static struct bench *add_bench(const char *key, const char *desc, bench_fn fn,
                               void *arg, struct table *t) {
  if (nbench == MAX_BENCH)
    die("too many benchmarks");
  struct bench *b = &benches[nbench++];
  memset(b, 0, sizeof *b);
  b->key = key;
  b->desc = desc;
  b->fn = fn;
  b->arg = arg;
  b->t = t;
  return b;
}

static double run_once(struct bench *b, uint64_t calls) {
  uint64_t e0 = b->t ? b->t->errors : 0;
  int64_t t0 = now_ns();
  sink += b->fn(b->arg, calls);
  int64_t t1 = now_ns();
  if (b->t && b->t->errors != e0) {
    b->errors += b->t->errors - e0;
    b->last_rc = b->t->last_rc;
  }
  return (double)(t1 - t0) / (double)calls;
}

static void summarise(struct bench *b, int reps) {
  double v[MAX_REPS];
  memcpy(v, b->ns, sizeof(double) * (size_t)reps);
  qsort(v, (size_t)reps, sizeof v[0], cmp_double);
  b->min = v[0];
  b->max = v[reps - 1];
  b->med = reps % 2 ? v[reps / 2] : (v[reps / 2 - 1] + v[reps / 2]) / 2;
}

/* Runs benches [from, to) with their repetitions interleaved. */
static void run_interleaved(int from, int to, int reps, uint64_t calls) {
  for (int i = from; i < to; i++) /* warm caches, TLB, branch predictors */
    (void)run_once(&benches[i], calls / 10 + 1);
  for (int r = 0; r < reps; r++)
    for (int i = from; i < to; i++)
      benches[i].ns[r] = run_once(&benches[i], calls);
  for (int i = from; i < to; i++)
    summarise(&benches[i], reps);
}

/* One write-load benchmark: its own writer child, its own repetitions. */
static void run_loaded(struct bench *b, struct table *t, int wcpu, int hot,
                       uint64_t rate, int reps, uint64_t calls) {
  struct wl_ctl *c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (c == MAP_FAILED)
    die("mmap: %s", strerror(errno));
  memset(c, 0, sizeof *c);
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    die("fork: %s", strerror(errno));
  if (pid == 0)
    writer_child(t, c, wcpu, hot, rate, parent);
  child_pid = pid;
  while (!atomic_load(&c->ready))
    sched_yield();
  int64_t t0 = now_ns();
  uint64_t u0 = atomic_load(&c->updates);
  (void)run_once(b, calls / 10 + 1);
  for (int r = 0; r < reps; r++)
    b->ns[r] = run_once(b, calls);
  uint64_t u1 = atomic_load(&c->updates);
  int64_t t1 = now_ns();
  atomic_store(&c->stop, 1);
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
    die("writer child failed");
  child_pid = 0;
  munmap(c, sizeof *c);
  b->wps = (double)(u1 - u0) * 1e9 / (double)(t1 - t0);
  summarise(b, reps);
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

static void usage(FILE *f) {
  fprintf(f, "usage: bench-reader [--quick] [--json] [--cpu N] [--reps R] "
             "[--calls N] [--no-write-load]\n"
             "  --quick          short run (3 reps of 200000 calls)\n"
             "  --json           print the results as JSON (the last three "
             "lines stay name=R)\n"
             "  --cpu N          pin to CPU N (the writer child gets another "
             "one)\n"
             "  --reps R         repetitions per benchmark, median shown "
             "(default 5)\n"
             "  --calls N        calls per repetition (default 2000000)\n"
             "  --no-write-load  skip the phase with a concurrent writer\n");
}

int main(int argc, char **argv) {
  int json = 0, quick = 0, cpu = -1, write_load = 1, reps = 5;
  long long calls = 2000000;
  int reps_set = 0, calls_set = 0;
  static const struct option opts[] = {
      {"json", no_argument, NULL, 'j'},
      {"quick", no_argument, NULL, 'q'},
      {"cpu", required_argument, NULL, 'c'},
      {"reps", required_argument, NULL, 'r'},
      {"calls", required_argument, NULL, 'n'},
      {"no-write-load", no_argument, NULL, 'W'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int ch;
  char *end;
  while ((ch = getopt_long(argc, argv, "jqc:r:n:Wh", opts, NULL)) != -1) {
    switch (ch) {
    case 'j':
      json = 1;
      break;
    case 'q':
      quick = 1;
      break;
    case 'c':
      cpu = (int)strtol(optarg, &end, 10);
      if (*end || cpu < 0 || cpu >= CPU_SETSIZE)
        die("bad --cpu '%s'", optarg);
      break;
    case 'r':
      reps = (int)strtol(optarg, &end, 10);
      if (*end || reps < 1 || reps > MAX_REPS)
        die("bad --reps '%s' (1..%d)", optarg, MAX_REPS);
      reps_set = 1;
      break;
    case 'n':
      calls = strtoll(optarg, &end, 10);
      if (*end || calls < 1000)
        die("bad --calls '%s' (>= 1000)", optarg);
      calls_set = 1;
      break;
    case 'W':
      write_load = 0;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (optind != argc) {
    usage(stderr);
    return 2;
  }
  if (quick) {
    if (!reps_set)
      reps = 3;
    if (!calls_set)
      calls = 200000;
  }

  atexit(cleanup);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fatal_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  /* The writer child runs on another CPU than ours when we are pinned. */
  cpu_set_t allowed;
  int wcpu = -1;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
    CPU_ZERO(&allowed);
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
      die("cannot pin to CPU %d: %s", cpu, strerror(errno));
    for (int i = 0; i < CPU_SETSIZE; i++)
      if (i != cpu && CPU_ISSET(i, &allowed)) {
        wcpu = i;
        break;
      }
  }

  char model[256], clocksrc[64];
  cpu_model(model, sizeof model);
  read_line("/sys/devices/system/clocksource/clocksource0/"
            "current_clocksource",
            clocksrc, sizeof clocksrc);
  struct utsname un;
  if (uname(&un) != 0)
    memset(&un, 0, sizeof un);

  static const unsigned sizes[] = {16, 1000, 10000};
  enum { NT = sizeof sizes / sizeof sizes[0] };
  struct table tables[NT];
  for (int i = 0; i < NT; i++)
    table_make(&tables[i], sizes[i], i);
  struct table *t1k = &tables[1];
  char rwname[NAME_STRIDE];
  struct rwseg *rw = rwseg_make(rwname, sizeof rwname);

  struct bench *bclock = add_bench(
      "clock_gettime", "clock_gettime(CLOCK_MONOTONIC)", b_clock, NULL, NULL);
  add_bench("lookup_16", "warmth_lookup, 16 models, random names", b_lookup,
            &tables[0], &tables[0]);
  struct bench *b1k =
      add_bench("lookup_1000", "warmth_lookup, 1000 models, random names",
                b_lookup, t1k, t1k);
  add_bench("lookup_10000", "warmth_lookup, 10000 models, random names",
            b_lookup, &tables[2], &tables[2]);
  add_bench("lookup_1000_same", "warmth_lookup, 1000 models, same name",
            b_lookup_same, t1k, t1k);
  struct bench *bwarm =
      add_bench("is_warm_1000", "warmth_is_warm, 1000 models, random names",
                b_is_warm, t1k, t1k);
  struct bench *bhwarm = add_bench("handle_is_warm_1000",
                                   "warmth_model_is_warm, 1000 handles, random",
                                   b_handle_is_warm, t1k, t1k);
  add_bench("handle_is_warm_same", "warmth_model_is_warm, same handle",
            b_handle_is_warm_same, t1k, t1k);
  add_bench("handle_lookup_1000", "warmth_model_lookup, 1000 handles, random",
            b_handle_lookup, t1k, t1k);
  add_bench("clock_gettime_coarse", "clock_gettime(CLOCK_MONOTONIC_COARSE)",
            b_clock_coarse, NULL, NULL);
  add_bench("touch_1000", "warmth_touch, 1000 models, random names", b_touch,
            t1k, t1k);
  add_bench("rwlock_read_256", "pshared rwlock rdlock + 256 B copy + unlock",
            b_rwlock, rw, NULL);
  int nmain = nbench;
  run_interleaved(0, nmain, reps, (uint64_t)calls);

  if (write_load) {
    struct bench *b;
    b = add_bench("lookup_1000_wl_paced",
                  "warmth_lookup 1000, writer 10k upd/s round-robin", b_lookup,
                  t1k, t1k);
    run_loaded(b, t1k, wcpu, -1, 10000, reps, (uint64_t)calls);
    b = add_bench("lookup_1000_wl_full",
                  "warmth_lookup 1000, writer flat out round-robin", b_lookup,
                  t1k, t1k);
    run_loaded(b, t1k, wcpu, -1, 0, reps, (uint64_t)calls);
    /* The worst case DESIGN.md warns of: one record hammered while read.
     * The publisher coalesces to one update per tick, so this is a bound,
     * not an expectation. */
    b = add_bench("lookup_1000_same_wl_hot",
                  "warmth_lookup 1000 same name, writer flat out on it",
                  b_lookup_same, t1k, t1k);
    size_t hot = (size_t)(t1k->seq[0] - t1k->names) / NAME_STRIDE;
    run_loaded(b, t1k, wcpu, (int)t1k->slots[hot], 0, reps, (uint64_t)calls);
  }
  /* A call that fails in the quiet phase means the figures measure an
   * error path: the run fails.  Under write load, WARMTH_EBUSY is a result. */
  uint64_t errors = 0;
  for (int i = 0; i < nmain; i++)
    errors += benches[i].errors;

  double clk = bclock->med;
  double ratio = b1k->med / clk;
  char pinned[64];
  if (cpu >= 0 && wcpu >= 0)
    snprintf(pinned, sizeof pinned, "%d (writer child on %d)", cpu, wcpu);
  else if (cpu >= 0)
    snprintf(pinned, sizeof pinned, "%d (writer child unpinned)", cpu);
  else
    snprintf(pinned, sizeof pinned, "no");
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

  if (json) {
    printf("{\n  \"benchmark\": \"bench-reader\",\n  \"libwarmth\": ");
    json_str(stdout, warmth_version_string());
    printf(",\n  \"cpu_model\": ");
    json_str(stdout, model);
    printf(",\n  \"clocksource\": ");
    json_str(stdout, clocksrc);
    printf(",\n  \"kernel\": ");
    json_str(stdout, un.release);
    printf(",\n  \"machine\": ");
    json_str(stdout, un.machine);
    printf(",\n  \"online_cpus\": %ld,\n  \"pinned_cpu\": ", ncpu);
    if (cpu >= 0)
      printf("%d", cpu);
    else
      printf("null");
    printf(",\n  \"calls_per_rep\": %lld,\n  \"reps\": %d,\n"
           "  \"errors\": %llu,\n  \"results\": [\n",
           calls, reps, (unsigned long long)errors);
    for (int i = 0; i < nbench; i++) {
      struct bench *b = &benches[i];
      printf("    {\"name\": ");
      json_str(stdout, b->key);
      printf(", \"desc\": ");
      json_str(stdout, b->desc);
      printf(", \"write_load\": %s, \"ns_per_call\": %.2f, \"min\": %.2f, "
             "\"max\": %.2f, \"ratio_to_clock_gettime\": %.2f",
             i >= nmain ? "true" : "false", b->med, b->min, b->max,
             b->med / clk);
      printf(", \"errors\": %llu", (unsigned long long)b->errors);
      if (b->errors) {
        printf(", \"last_error\": ");
        json_str(stdout, warmth_err_name(b->last_rc));
      }
      if (i >= nmain)
        printf(", \"writer_updates_per_s\": %.0f", b->wps);
      printf("}%s\n", i + 1 < nbench ? "," : "");
    }
    printf("  ],\n  \"handle_is_warm_vs_clock_gettime\": %.2f,\n"
           "  \"is_warm_vs_clock_gettime\": %.2f,\n"
           "  \"lookup_vs_clock_gettime\": %.2f\n}\n",
           bhwarm->med / clk, bwarm->med / clk, ratio);
  } else {
    printf("warmth bench-reader (libwarmth %s)\n", warmth_version_string());
    printf("cpu model    : %s\n", model);
    printf("clocksource  : %s\n", clocksrc);
    printf("kernel       : %s %s\n", un.release, un.machine);
    printf("online cpus  : %ld, pinned: %s\n", ncpu, pinned);
    printf("runs         : %d reps x %lld calls, interleaved; median "
           "(min..max) ns per call\n",
           reps, calls);
    printf("\n%-54s %8s %17s %8s\n", "benchmark", "ns/call", "min..max",
           "x clock");
    for (int i = 0; i < nbench; i++) {
      struct bench *b = &benches[i];
      if (i == nmain)
        printf("-- under write load (separate phase: a writer process "
               "updates records) --\n");
      char range[32];
      snprintf(range, sizeof range, "%.2f..%.2f", b->min, b->max);
      printf("%-54s %8.2f %17s %8.2f\n", b->desc, b->med, range, b->med / clk);
      if (i >= nmain)
        printf("   writer updates/s: %.0f, failed lookups: %llu%s%s\n", b->wps,
               (unsigned long long)b->errors, b->errors ? ", last " : "",
               b->errors ? warmth_err_name(b->last_rc) : "");
      else if (b->errors)
        printf("   failed calls: %llu, last %s\n",
               (unsigned long long)b->errors, warmth_err_name(b->last_rc));
    }
    printf("\n");
  }
  fflush(stdout);

  munmap(rw, sizeof *rw);
  shm_unlink(rwname);
  for (int i = 0; i < NT; i++)
    table_free(&tables[i]);
  if (errors)
    fprintf(stderr,
            "bench-reader: %llu calls did not return the expected result\n",
            (unsigned long long)errors);
  printf("handle_is_warm_vs_clock_gettime=%.2f\n", bhwarm->med / clk);
  printf("is_warm_vs_clock_gettime=%.2f\n", bwarm->med / clk);
  printf("lookup_vs_clock_gettime=%.2f\n", ratio);
  return errors ? 1 : 0;
}
