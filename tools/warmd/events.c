/* events.c - the event log: one JSON object per line for each state
 * change, appended to [warmd] event_log, for people and for log shippers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "events.h"
#include "log.h"
#include "reply.h"
#include "util.h"

static FILE *events;

int wd_events_open(const char *path, char *err, size_t errlen) {
  if (!path)
    return 0;
  /* warmd may run as root and the path's directory may be writable by
   * others: never follow a symlink planted there (O_NOFOLLOW), never block
   * on a FIFO (O_NONBLOCK, then a regular file is required).  0640: the
   * lines quote providers' error messages; the log group may read them,
   * other users not. */
  int fd = open(path,
                O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
                    O_NOCTTY | O_NONBLOCK,
                0640);
  struct stat st;
  if (fd < 0 && errno == ELOOP)
    return wd_errf(err, errlen,
                   "%s: it is a symbolic link (refused: name the file "
                   "itself)",
                   path);
  if (fd < 0)
    return wd_errf(err, errlen, "%s: %s", path, strerror(errno));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return wd_errf(err, errlen, "%s: not a regular file", path);
  }
  /* A file from before logs were created 0640, or made by hand: other
   * users must not read what providers' messages say.  Ours: take their
   * access away on the fd we hold (no race with a rename of the path).
   * Another user's (root may chmod it, but it is not ours to change): we
   * would be writing into a file every user reads, so refuse. */
  if (st.st_mode & S_IRWXO) {
    mode_t was = st.st_mode & 07777, now = st.st_mode & 0770;
    if (st.st_uid != geteuid()) {
      close(fd);
      return wd_errf(err, errlen,
                     "%s: every user may read or write it (mode %04o) and "
                     "it belongs to uid %u, not to warmd (uid %u): refused "
                     "(chmod o-rw, or chown it to warmd's user)",
                     path, (unsigned)was, (unsigned)st.st_uid,
                     (unsigned)geteuid());
    }
    if (fchmod(fd, now) != 0) {
      int e = errno;
      close(fd);
      return wd_errf(err, errlen, "%s: mode %04o: cannot chmod o-rw: %s", path,
                     (unsigned)was, strerror(e));
    }
    LOG(LOG_NOTICE,
        "event log %s: every user could read or write it: mode changed "
        "from %04o to %04o",
        path, (unsigned)was, (unsigned)now);
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
      !(events = fdopen(fd, "a"))) {
    int e = errno;
    close(fd);
    return wd_errf(err, errlen, "%s: %s", path, strerror(e));
  }
  return 0;
}

void wd_events_close(void) {
  if (events)
    fclose(events);
  events = NULL;
}

void wd_event(const struct wd_entry *e, int old_state, const char *why) {
  if (!events)
    return;
  struct timespec ts;
  char reason[512];
  clock_gettime(CLOCK_REALTIME, &ts);
  /* why quotes providers: no run of a key goes into the file (reply.h) */
  snprintf(reason, sizeof reason, "%s", why ? why : "");
  wd_redact(reason, NULL);
  const struct warmth__payload *p = &e->rec;
  json_t *o = json_pack(
      "{s:f, s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:b}", "ts",
      (double)ts.tv_sec + ts.tv_nsec / 1e9, "model", e->name, "from",
      warmth_state_name(old_state), "to", warmth_state_name(p->state), "why",
      reason, "http_status", (int)p->http_status, "error_class",
      warmth_error_class_name(p->error_class), "latency_us",
      (json_int_t)p->last_latency_us, "ewma_latency_us",
      (json_int_t)p->ewma_latency_us, "fails_in_row",
      (json_int_t)p->fails_in_row, "slow", (p->flags & WARMTH_F_SLOW) != 0);
  if (!o)
    return;
  char *line = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (line) {
    fprintf(events, "%s\n", line);
    fflush(events);
    free(line);
  }
}
