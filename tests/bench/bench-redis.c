/* bench-redis.c - the headline figures: what "is my model warm?" costs a
 * worker through libwarmth, next to what workers use today for state shared
 * across processes, measured side by side in one run:
 *
 *   clock       clock_gettime(CLOCK_MONOTONIC), the vDSO floor
 *   lookup      warmth_lookup() of one of 64 models (a full record copy)
 *   pread       pread() of a small file kept open (page cache)
 *   open_read   open() + read() + close() of that file
 *   redis_unix  hiredis GET of one of 64 keys over a Unix socket
 *   redis_tcp   the same over TCP loopback
 *
 * Redis values are as large as a record, so both sides move the same bytes.
 * redis-server ($REDIS_SERVER, else the one on PATH) is started here with a
 * temporary directory (no persistence), on a free loopback port (Redis cannot
 * listen on port 0 and report the port) and a Unix socket in that directory;
 * it is stopped by pid at exit, on error and on a fatal signal.
 *
 * Placement matters more than anything for a round trip (DESIGN.md,
 * "Numbers to hold"), so every figure is taken three ways: unpinned (the
 * scheduler decides), client and server pinned to the same CPU, and to two
 * different CPUs (skipped with one CPU).  In each placement the repetitions
 * of all benchmarks are interleaved so that noise hits them alike; the
 * median is shown.  Ratios are printed, never asserted (a shared CI box is
 * no verdict).  Run by `make bench`, never by `make check`.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "warmth.h"
#include "writer.h"

#define MODELS 64
#define MAX_REPS 51
#define HOUR_NS (3600LL * 1000000000LL)
#define VALUE_SIZE ((int)sizeof(struct warmth_model_info))

/* ---- cleanup: redis-server, the temporary directory, the segments ----- */

static volatile pid_t redis_pid;
static char tmpdir[128];
static char shm_name[64], dshm_name[72];

static void cleanup(void) {
  pid_t pid = redis_pid;
  if (pid > 0) {
    kill(pid, SIGTERM);
    /* Bounded: SIGKILL when it does not stop within 5 s. */
    for (int i = 0; i < 500 && waitpid(pid, NULL, WNOHANG) == 0; i++)
      usleep(10000);
    if (kill(pid, 0) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
    redis_pid = 0;
  }
  if (shm_name[0]) {
    shm_unlink(shm_name);
    shm_unlink(dshm_name);
    shm_name[0] = 0;
  }
  if (tmpdir[0]) {
    /* Our own files only: the socket, the log, the small file. */
    static const char *const files[] = {"redis.sock", "redis.log", "small"};
    char p[192];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
      snprintf(p, sizeof p, "%s/%s", tmpdir, files[i]);
      unlink(p);
    }
    rmdir(tmpdir);
    tmpdir[0] = 0;
  }
}

static void on_fatal_signal(int sig) {
  cleanup();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bench-redis: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1); /* atexit(cleanup) stops redis-server and removes the files */
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static char names[MODELS][32];

static const char *model_name(uint64_t i) { return names[i % MODELS]; }

/* ---- the warmth table ---------------------------------------------------- */

static struct warmth__w *writer;
static warmth_t *reader;

static void table_make(void) {
  snprintf(shm_name, sizeof shm_name, "/warmth-bench-redis-%ld",
           (long)getpid());
  snprintf(dshm_name, sizeof dshm_name, "%s.lock", shm_name);
  struct warmth__w_opts o;
  memset(&o, 0, sizeof o);
  o.capacity = MODELS;
  o.group = (gid_t)-1;
  o.no_adopt = 1;
  o.stale_after_ns = HOUR_NS; /* one heartbeat: keep the table fresh */
  char err[256];
  int rc = warmth__w_open(&writer, shm_name, &o, err, sizeof err);
  if (rc)
    die("cannot create %s: %s", shm_name, err);
  int64_t now = now_ns();
  for (unsigned i = 0; i < MODELS; i++) {
    uint32_t slot;
    if ((rc = warmth__w_add(writer, names[i], &slot)) != 0)
      die("cannot add %s: %s", names[i], warmth_strerror(rc));
    struct warmth__payload p;
    memset(&p, 0, sizeof p);
    p.state = WARMTH_WARM;
    p.warm_until = now + HOUR_NS;
    p.last_ok = p.last_probe = now;
    p.successes = i + 1;
    p.http_status = 200;
    if ((rc = warmth__w_update(writer, slot, &p)) != 0)
      die("cannot update %s: %s", names[i], warmth_strerror(rc));
  }
  warmth__w_publish(writer);
  warmth__w_heartbeat(writer, now_ns());
  if ((rc = warmth_open(&reader, shm_name, 0)) != 0)
    die("warmth_open(%s): %s", shm_name, warmth_strerror(rc));
}

/* ---- redis-server ----------------------------------------------------------
 */

static char redis_sock[192];
static int redis_port;

static int free_port(void) {
  /* Redis takes no port 0: borrow one from the kernel and hand it over.
   * Another process may take it meanwhile: the caller then retries. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    die("cannot pick a free loopback port: %s", strerror(errno));
  close(fd);
  return ntohs(a.sin_port);
}

static redisContext *redis_connect(int unix_socket) {
  struct timeval tv = {2, 0};
  redisContext *c = unix_socket
                        ? redisConnectUnixWithTimeout(redis_sock, tv)
                        : redisConnectWithTimeout("127.0.0.1", redis_port, tv);
  if (c && c->err) {
    redisFree(c);
    c = NULL;
  }
  return c;
}

/* Starts redis-server; 0 when it answers PING on both sockets, -1 if it
 * exited (port taken?), dies on anything else. */
static int redis_start(const char *exe) {
  char port[16], logf[192];
  redis_port = free_port();
  snprintf(port, sizeof port, "%d", redis_port);
  snprintf(logf, sizeof logf, "%s/redis.log", tmpdir);
  char *argv[] = {(char *)exe, "--port",       port,       "--bind",
                  "127.0.0.1", "--unixsocket", redis_sock, "--unixsocketperm",
                  "700",       "--dir",        tmpdir,     "--save",
                  "",          "--appendonly", "no",       "--daemonize",
                  "no",        "--logfile",    logf,       NULL};
  pid_t pid = fork();
  if (pid < 0)
    die("fork: %s", strerror(errno));
  if (pid == 0) {
    execv(exe, argv);
    fprintf(stderr, "bench-redis: cannot run %s: %s\n", exe, strerror(errno));
    _exit(127);
  }
  redis_pid = pid;
  for (int i = 0; i < 500; i++) { /* 5 s */
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      redis_pid = 0;
      if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        die("cannot run %s", exe);
      return -1;
    }
    redisContext *u = redis_connect(1), *t = u ? redis_connect(0) : NULL;
    redisReply *r = t ? redisCommand(t, "PING") : NULL;
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
      freeReplyObject(r);
    if (t)
      redisFree(t);
    if (u)
      redisFree(u);
    if (ok)
      return 0;
    usleep(10000);
  }
  die("redis-server did not answer within 5 s (see its log in %s)", tmpdir);
}

static const char *find_redis(void) {
  const char *env = getenv("REDIS_SERVER");
  if (env && *env)
    return env;
  static char path[512];
  const char *p = getenv("PATH");
  for (p = p ? p : "/usr/bin:/bin"; *p;) {
    size_t n = strcspn(p, ":");
    snprintf(path, sizeof path, "%.*s/redis-server", (int)n, p);
    if (n && access(path, X_OK) == 0)
      return path;
    p += n + (p[n] == ':');
  }
  if (access("/usr/bin/redis-server", X_OK) == 0)
    return "/usr/bin/redis-server";
  return NULL;
}

/* Pins pid, every thread of it, to cpu (-1: all of `all`). */
static void pin(pid_t pid, int cpu, const cpu_set_t *all) {
  cpu_set_t set;
  if (cpu < 0) {
    set = *all;
  } else {
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
  }
  if (pid == 0) {
    if (sched_setaffinity(0, sizeof set, &set) != 0)
      die("sched_setaffinity: %s", strerror(errno));
    return;
  }
  char dir[64];
  snprintf(dir, sizeof dir, "/proc/%ld/task", (long)pid);
  DIR *d = opendir(dir);
  if (!d)
    die("cannot list the threads of redis-server (%s): %s", dir,
        strerror(errno));
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      sched_setaffinity((pid_t)atol(e->d_name), sizeof set, &set);
  closedir(d);
}

/* ---- the measured loops -------------------------------------------------- */

static uint64_t errors;
static redisContext *rc_unix, *rc_tcp;
static int small_fd;
static char small_path[192];

static uint64_t b_clock(uint64_t n) {
  struct timespec ts;
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    acc += (uint64_t)ts.tv_nsec;
  }
  return acc;
}

static uint64_t b_lookup(uint64_t n) {
  struct warmth_model_info info;
  info.size = sizeof info;
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    if (warmth_lookup(reader, model_name(i * 7), &info) != 0 ||
        info.state != WARMTH_WARM)
      errors++;
    acc += info.successes;
  }
  return acc;
}

static uint64_t b_pread(uint64_t n) {
  char buf[VALUE_SIZE];
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    if (pread(small_fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf)
      errors++;
    acc += (unsigned char)buf[i % sizeof buf];
  }
  return acc;
}

static uint64_t b_open_read(uint64_t n) {
  char buf[VALUE_SIZE];
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    int fd = open(small_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
      errors++;
    if (fd >= 0)
      close(fd);
    acc += (unsigned char)buf[i % sizeof buf];
  }
  return acc;
}

static uint64_t redis_get(redisContext *c, uint64_t n) {
  uint64_t acc = 0;
  for (uint64_t i = 0; i < n; i++) {
    redisReply *r = redisCommand(c, "GET %s", model_name(i * 7));
    if (!r)
      die("redis GET: %s", c->errstr);
    if (r->type != REDIS_REPLY_STRING || r->len != VALUE_SIZE)
      errors++;
    else
      acc += (unsigned char)r->str[0];
    freeReplyObject(r);
  }
  return acc;
}

static uint64_t b_redis_unix(uint64_t n) { return redis_get(rc_unix, n); }
static uint64_t b_redis_tcp(uint64_t n) { return redis_get(rc_tcp, n); }

enum { B_CLOCK, B_LOOKUP, B_PREAD, B_OPEN_READ, B_UNIX, B_TCP, NB };

static const struct {
  const char *name;
  uint64_t (*fn)(uint64_t);
  int slow; /* a round trip: fewer calls per repetition */
} benches[NB] = {
    {"clock", b_clock, 0},           {"lookup", b_lookup, 0},
    {"pread", b_pread, 0},           {"open_read", b_open_read, 0},
    {"redis_unix", b_redis_unix, 1}, {"redis_tcp", b_redis_tcp, 1},
};

static volatile uint64_t sink; /* keeps the loops' results alive */

static double time_calls(int b, uint64_t n) {
  int64_t t0 = now_ns();
  sink += benches[b].fn(n);
  return (double)(now_ns() - t0) / (double)n;
}

/* Calls that take about target_ns, from a doubling probe. */
static uint64_t calibrate(int b, int64_t target_ns) {
  uint64_t n = 8;
  for (;;) {
    double ns = time_calls(b, n);
    if (ns * (double)n > (double)target_ns / 8 || n >= (1ull << 30))
      return (uint64_t)((double)target_ns / (ns > 0.1 ? ns : 0.1)) + 1;
    n *= 2;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median ns per call of every benchmark, repetitions interleaved. */
static void measure(int reps, int64_t fast_ns, int64_t slow_ns,
                    double med[NB]) {
  static double runs[NB][MAX_REPS];
  uint64_t calls[NB];
  for (int b = 0; b < NB; b++)
    calls[b] = calibrate(b, benches[b].slow ? slow_ns : fast_ns);
  for (int r = 0; r < reps; r++)
    for (int b = 0; b < NB; b++)
      runs[b][r] = time_calls(b, calls[b]);
  for (int b = 0; b < NB; b++) {
    qsort(runs[b], (size_t)reps, sizeof(double), cmp_double);
    med[b] = runs[b][reps / 2];
  }
}

/* ---- main ------------------------------------------------------------------
 */

static void usage(FILE *f) {
  fputs("usage: bench-redis [--reps N] [--quick]\n"
        "  --reps N  repetitions per benchmark and placement (odd, <= 51;"
        " default 7)\n"
        "  --quick   shorter repetitions (a smoke run; noisier figures)\n"
        "Environment: REDIS_SERVER, the redis-server to start.\n",
        f);
}

static void setup(const char *exe) {
  snprintf(tmpdir, sizeof tmpdir, "%s/warmth-bench-redis-XXXXXX",
           getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(tmpdir)) {
    tmpdir[0] = 0;
    die("cannot make a temporary directory: %s", strerror(errno));
  }
  snprintf(redis_sock, sizeof redis_sock, "%s/redis.sock", tmpdir);
  snprintf(small_path, sizeof small_path, "%s/small", tmpdir);

  char value[VALUE_SIZE];
  for (int i = 0; i < VALUE_SIZE; i++)
    value[i] = (char)('a' + i % 26);
  int fd = open(small_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, value, sizeof value) != (ssize_t)sizeof value)
    die("cannot write %s: %s", small_path, strerror(errno));
  close(fd);
  if ((small_fd = open(small_path, O_RDONLY | O_CLOEXEC)) < 0)
    die("cannot open %s: %s", small_path, strerror(errno));

  table_make();

  int tries = 0;
  while (redis_start(exe) != 0)
    if (++tries == 5)
      die("redis-server exited at start 5 times (see %s/redis.log)", tmpdir);
  if (!(rc_unix = redis_connect(1)) || !(rc_tcp = redis_connect(0)))
    die("cannot connect to redis-server");
  for (int i = 0; i < MODELS; i++) {
    redisReply *r =
        redisCommand(rc_unix, "SET %s %b", names[i], value, sizeof value);
    if (!r || r->type != REDIS_REPLY_STATUS)
      die("redis SET %s failed", names[i]);
    freeReplyObject(r);
  }
}

int main(int argc, char **argv) {
  int reps = 7, quick = 0;
  static const struct option longopts[] = {{"reps", required_argument, 0, 'r'},
                                           {"quick", no_argument, 0, 'q'},
                                           {"help", no_argument, 0, 'h'},
                                           {0, 0, 0, 0}};
  int opt;
  while ((opt = getopt_long(argc, argv, "r:qh", longopts, NULL)) != -1) {
    switch (opt) {
    case 'r': {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (*end || v < 1 || v > MAX_REPS || v % 2 == 0) {
        fprintf(stderr,
                "bench-redis: --reps wants an odd number 1..%d, "
                "not '%s'\n",
                MAX_REPS, optarg);
        return 2;
      }
      reps = (int)v;
      break;
    }
    case 'q':
      quick = 1;
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
  const char *exe = find_redis();
  if (!exe)
    die("redis-server not found on PATH (Debian: apt-get install "
        "redis-server; or set REDIS_SERVER)");

  for (int i = 0; i < MODELS; i++)
    snprintf(names[i], sizeof names[i], "openai/bench-model-%03d", i);
  atexit(cleanup);
  signal(SIGINT, on_fatal_signal);
  signal(SIGTERM, on_fatal_signal);
  signal(SIGHUP, on_fatal_signal);
  signal(SIGPIPE, SIG_IGN);
  setup(exe);

  cpu_set_t all;
  if (sched_getaffinity(0, sizeof all, &all) != 0)
    die("sched_getaffinity: %s", strerror(errno));
  int cpus[2] = {-1, -1}, ncpu = 0;
  for (int c = 0; c < CPU_SETSIZE && ncpu < 2; c++)
    if (CPU_ISSET(c, &all))
      cpus[ncpu++] = c;

  /* Placements: unpinned, same CPU, different CPUs. */
  struct {
    const char *label, *key;
    int client, server;
  } place[3] = {{"unpinned", "unpinned", -1, -1},
                {"same CPU", "same_cpu", cpus[0], cpus[0]},
                {"other CPU", "other_cpu", cpus[0], cpus[1]}};
  int nplace = ncpu > 1 ? 3 : 2;
  int64_t fast_ns = quick ? 2000000 : 20000000;
  int64_t slow_ns = quick ? 20000000 : 150000000;
  double med[3][NB];

  double load[1] = {0};
  getloadavg(load, 1);
  printf("bench-redis: libwarmth %s, hiredis %d.%d.%d, %s, %d CPUs online, "
         "load %.2f; %d-byte records/values, %d keys; median of %d reps\n",
         warmth_version_string(), HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH,
         exe, (int)sysconf(_SC_NPROCESSORS_ONLN), load[0], VALUE_SIZE, MODELS,
         reps);
  printf("%-10s", "ns/op");
  for (int b = 0; b < NB; b++)
    printf(" %11s", benches[b].name);
  printf("\n");
  for (int p = 0; p < nplace; p++) {
    pin(0, place[p].client, &all);
    pin(redis_pid, place[p].server, &all);
    usleep(50000); /* let the server's threads migrate */
    measure(reps, fast_ns, slow_ns, med[p]);
    printf("%-10s", place[p].label);
    for (int b = 0; b < NB; b++)
      printf(" %11.1f", med[p][b]);
    printf("\n");
    fflush(stdout);
  }
  pin(0, -1, &all);

  printf("\nratios (same placement)  redis_unix/lookup  redis_tcp/lookup  "
         "pread/lookup  open_read/lookup  lookup/clock\n");
  for (int p = 0; p < nplace; p++) {
    double *m = med[p];
    printf("%-24s %18.0f %17.0f %13.1f %17.1f %13.2f\n", place[p].label,
           m[B_UNIX] / m[B_LOOKUP], m[B_TCP] / m[B_LOOKUP],
           m[B_PREAD] / m[B_LOOKUP], m[B_OPEN_READ] / m[B_LOOKUP],
           m[B_LOOKUP] / m[B_CLOCK]);
  }
  if (errors)
    die("%llu calls did not return what they should",
        (unsigned long long)errors);
  /* Machine-readable, one per line; goals (DESIGN.md): lookup/clock <= 2,
   * redis_unix/lookup >= 300 even on the same CPU. */
  printf("\n");
  for (int p = 0; p < nplace; p++)
    printf("%s: redis_unix_vs_lookup=%.0f redis_tcp_vs_lookup=%.0f "
           "lookup_vs_clock=%.2f\n",
           place[p].key, med[p][B_UNIX] / med[p][B_LOOKUP],
           med[p][B_TCP] / med[p][B_LOOKUP],
           med[p][B_LOOKUP] / med[p][B_CLOCK]);
  return 0;
}
