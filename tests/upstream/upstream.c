/* warmth-upstream main: options, then the model table, then the HTTP
 * daemon; one wait for a signal or the deadline; teardown in reverse. */
#include "config.h"

#include "upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct up_options up_opt;
atomic_int up_stop;

int64_t up_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps in short steps so that shutdown never waits for a long cold
 * start or slow body: MHD_stop_daemon joins every connection thread. */
void up_sleep_ms(long ms) {
  int64_t end = up_now_ns() + (int64_t)ms * 1000000;
  for (;;) {
    int64_t left = end - up_now_ns();
    if (left <= 0 || atomic_load(&up_stop))
      return;
    if (left > 20000000)
      left = 20000000;
    struct timespec ts = {0, (long)left};
    nanosleep(&ts, NULL);
  }
}

void up_log(const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* one stdio call per line: its lock keeps threads' lines whole */
  fprintf(stderr, "warmth-upstream: %s\n", line);
}

/* Write-then-rename, so a test polling the file never reads half of it. */
static int write_file_atomic(const char *path, const char *text) {
  size_t n = strlen(path) + 16;
  char *tmp = malloc(n);
  if (!tmp)
    return -1;
  snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  int ok = f && fputs(text, f) >= 0;
  if (f && fclose(f) != 0)
    ok = 0;
  if (ok && rename(tmp, path) != 0)
    ok = 0;
  if (!ok) {
    up_log("cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
  }
  free(tmp);
  return ok ? 0 : -1;
}

static struct MHD_Daemon *start_daemon(void) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)up_opt.port);
  if (inet_pton(AF_INET, up_opt.listen_host, &sa.sin_addr) != 1)
    return NULL;
  /* Thread per connection: a held or slow reply blocks only its own
   * client, and keep-alive connections keep their thread. */
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                   MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO;
  if (up_opt.verbose)
    flags |= MHD_USE_ERROR_LOG;
  return MHD_start_daemon(
      flags, 0, NULL, NULL, up_handle, NULL, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, up_completed, NULL,
      /* idle keep-alive connections go after a minute */
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
}

/* Blocks until SIGTERM/SIGINT or the --max-seconds deadline.  The signals
 * are blocked in every thread (the mask is set before MHD starts its
 * threads) and taken here synchronously: no async handler at all. */
static void wait_for_end(const sigset_t *set) {
  int64_t deadline =
      up_opt.max_seconds ? up_now_ns() + up_opt.max_seconds * 1000000000LL : 0;
  for (;;) {
    struct timespec ts = {1, 0};
    if (deadline) {
      int64_t left = deadline - up_now_ns();
      if (left <= 0) {
        up_log("--max-seconds %ld reached, exiting", up_opt.max_seconds);
        return;
      }
      if (left < 1000000000) {
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left;
      }
    }
    int sig = sigtimedwait(set, NULL, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      if (up_opt.verbose)
        up_log("signal %d, exiting", sig);
      return;
    }
  }
}

int main(int argc, char **argv) {
  /* the table first: options fill in per-model settings and faults */
  if (up_models_init() != 0) {
    up_log("out of memory");
    return 1;
  }
  int rc = up_options_parse(argc, argv);
  if (rc != 0) {
    up_models_free();
    up_options_free();
    return rc > 0 ? 0 : 2;
  }
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  int status = 1;
  struct MHD_Daemon *d = start_daemon();
  if (!d) {
    up_log("cannot listen on %s:%u", up_opt.listen_host, up_opt.port);
    goto out;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  unsigned port = info ? info->port : up_opt.port;
  char text[32];
  bool wrote_pid = false, wrote_port = false;
  /* the files before the stdout line: whoever reads "port=" may read the
   * pidfile next */
  if (up_opt.pidfile) {
    snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (write_file_atomic(up_opt.pidfile, text) != 0)
      goto stop;
    wrote_pid = true;
  }
  if (up_opt.port_file) {
    snprintf(text, sizeof text, "%u\n", port);
    if (write_file_atomic(up_opt.port_file, text) != 0)
      goto stop;
    wrote_port = true;
  }
  /* the first stdout line is the contract with scripts that start us */
  printf("port=%u\n", port);
  fflush(stdout);
  if (up_opt.verbose)
    up_log("listening on %s:%u", up_opt.listen_host, port);
  wait_for_end(&set);
  status = 0;
stop:
  atomic_store(&up_stop, 1); /* held and sleeping replies give up now */
  MHD_stop_daemon(d);
  if (wrote_pid)
    unlink(up_opt.pidfile);
  if (wrote_port)
    unlink(up_opt.port_file);
out:
  up_models_free();
  up_options_free();
  return status;
}
