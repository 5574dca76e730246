/* log.c - see log.h. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "reply.h"

static int to_syslog;
/* Atomic: every thread logs (and asks wd_log_debug_on) while the main
 * thread may change the level at a reload.  Relaxed: only the value. */
static _Atomic int max_level = LOG_INFO;
static int tee_fd = -1;

void wd_log_open(int use_syslog, int level) {
  to_syslog = use_syslog;
  atomic_store_explicit(&max_level, level, memory_order_relaxed);
  if (to_syslog)
    openlog("warmd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void wd_log_set_level(int level) {
  atomic_store_explicit(&max_level, level, memory_order_relaxed);
}

int wd_log_debug_on(void) {
  return atomic_load_explicit(&max_level, memory_order_relaxed) >= LOG_DEBUG;
}

void wd_log_tee(int fd) { tee_fd = fd; }

static void tee(const char *line) {
  char buf[1024];
  int n = snprintf(buf, sizeof buf - 1, "%s", line);
  if (n < 0)
    return;
  if ((size_t)n > sizeof buf - 2)
    n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  /* Best effort: the reader is our parent; a short write loses only the
   * message, and the exit status still says start-up failed. */
  ssize_t w = write(tee_fd, buf, (size_t)n);
  (void)w;
}

void wd_log(int level, const char *fmt, ...) {
  if (level > atomic_load_explicit(&max_level, memory_order_relaxed))
    return;
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* Last line of defence: whatever a message quotes (a provider's error,
   * curl's), no run of a configured key leaves warmd (reply.h). */
  wd_redact(line, NULL);
  if (tee_fd >= 0 && level <= LOG_ERR)
    tee(line);
  if (to_syslog) {
    syslog(level, "%s", line);
  } else {
    static const char *const tag[] = {"emerg",   "alert",  "crit", "error",
                                      "warning", "notice", "info", "debug"};
    char ts[32];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    /* One write per line, so lines from threads do not interleave. */
    fprintf(stderr, "%s.%03ldZ warmd[%s]: %s\n", ts, now.tv_nsec / 1000000,
            tag[level & 7], line);
  }
}
