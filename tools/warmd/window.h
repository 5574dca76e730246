/* window.h - warm windows: when a model is warmed at all (warmd.conf(5)
 * `active`, `timezone`, `warm_before`).
 *
 * Parsing (for config.c) and evaluation are pure: evaluation reads the
 * time zone rules of the process's current zone through localtime_r and
 * mktime, so that the system tz database decides DST.  Models with their
 * own `timezone` are evaluated between wd_tz_enter() and wd_tz_leave(),
 * which switch the process zone (TZ + tzset) and back.  Why that is safe
 * enough: only the main (scheduler) thread switches, only to evaluate
 * models whose window state is due for a look (at a window edge, hourly,
 * after a reload), grouped by zone, so a switch lasts microseconds a few
 * times an hour.  glibc serialises its zone state under its own lock, so a
 * conversion in another thread never sees a torn zone; at worst a
 * localtime_r in another thread at that instant uses the model's zone.  In
 * warmd the only such call is the timestamp vsyslog() writes (log.c's own
 * stderr stamps are UTC, gmtime_r); the journal stamps lines itself.  The
 * environment itself is safe for a getenv() in another thread (libcurl
 * reads the proxy variables): wd_tz_init(), before any thread starts, puts
 * TZ in the environment, so a switch replaces the value pointer of an
 * existing entry (glibc keeps old values allocated) and never adds or
 * removes one, which would move or free the array a reader walks.  The
 * alternative, parsing TZif files, would duplicate the C library.
 */
#ifndef WARMD_WINDOW_H
#define WARMD_WINDOW_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"

/* One `active` value: "[DAYS ]HH:MM-HH:MM".  DAYS: comma-separated day
 * names (Mon..Sun, any case) or ranges of them ("Mon-Fri", "Fri-Mon" wraps
 * over the week), or "daily" / "*"; left out: every day.  HH:MM 00:00 to
 * 24:00 (24:00 as an end only); an end at or before the start crosses
 * midnight (the window belongs to the day it opens).  Returns 0, or -1
 * with the bad part named in why. */
int wd_window_parse(const char *value, struct wd_window *w, char *why,
                    size_t whylen);

/* A `timezone` value: a name of the system tz database (a file under
 * $TZDIR or /usr/share/zoneinfo, no "..").  Returns 0, or -1 with why. */
int wd_tz_check(const char *zone, char *why, size_t whylen);

/* At unix time now, in the process's current zone: *active is 1 when now
 * is inside a window opened warm_before_s early, and *next_change the
 * first window edge after now (open - warm_before or close) within 8
 * days, else now + 8 days.  n == 0: always active, next_change INT64_MAX. */
void wd_window_eval(const struct wd_window *w, int n, int64_t warm_before_s,
                    time_t now, int *active, time_t *next_change);

/* Sets TZ to ":/etc/localtime" (what an unset TZ means) when it is unset.
 * Once, before warmd starts a thread. */
void wd_tz_init(void);

/* Switches the process zone to `zone` until wd_tz_leave (main thread
 * only, after wd_tz_init; see the header comment). */
struct wd_tz_saved {
  char *old; /* TZ before, or NULL when it was unset */
  int set;
};
void wd_tz_enter(const char *zone, struct wd_tz_saved *s);
void wd_tz_leave(struct wd_tz_saved *s);

#endif
