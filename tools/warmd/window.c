/* window.c - see window.h. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"
#include "window.h"

static const char *const day_names[7] = {"Mon", "Tue", "Wed", "Thu",
                                         "Fri", "Sat", "Sun"};

static int day_of(const char *s, size_t n) {
  if (n != 3)
    return -1;
  for (int d = 0; d < 7; d++)
    if (strncasecmp(s, day_names[d], 3) == 0)
      return d;
  return -1;
}

/* "HH:MM" at s (exactly 5 characters): minutes, or -1. */
static int hhmm(const char *s, size_t n) {
  if (n != 5 || !isdigit((unsigned char)s[0]) ||
      !isdigit((unsigned char)s[1]) || s[2] != ':' ||
      !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
    return -1;
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0))
    return -1;
  return h * 60 + m;
}

static int parse_days(const char *s, size_t n, uint8_t *days, char *why,
                      size_t whylen) {
  if ((n == 1 && s[0] == '*') || (n == 5 && strncasecmp(s, "daily", 5) == 0)) {
    *days = 0x7f;
    return 0;
  }
  *days = 0;
  while (n) {
    const char *comma = memchr(s, ',', n);
    size_t part = comma ? (size_t)(comma - s) : n;
    const char *dash = memchr(s, '-', part);
    size_t l1 = dash ? (size_t)(dash - s) : part;
    int a = day_of(s, l1), b = a;
    if (dash)
      b = day_of(dash + 1, part - l1 - 1);
    if (a < 0 || b < 0)
      return wd_errf(why, whylen,
                     "'%.*s': days are Mon, Tue, Wed, Thu, Fri, Sat, Sun, "
                     "ranges (Mon-Fri) and lists (Sat,Sun), or daily",
                     (int)part, s);
    for (int d = a;; d = (d + 1) % 7) {
      *days |= (uint8_t)(1u << d);
      if (d == b)
        break;
    }
    if (!comma)
      break;
    n -= part + 1;
    s = comma + 1;
    if (!n)
      return wd_errf(why, whylen, "a day list ends with ','");
  }
  return 0;
}

int wd_window_parse(const char *value, struct wd_window *w, char *why,
                    size_t whylen) {
  while (isspace((unsigned char)*value))
    value++;
  size_t len = strlen(value);
  while (len && isspace((unsigned char)value[len - 1]))
    len--;
  /* The times are the last word; days, if any, the first. */
  size_t t0 = len;
  while (t0 && !isspace((unsigned char)value[t0 - 1]))
    t0--;
  const char *times = value + t0;
  size_t tl = len - t0;
  if (!tl)
    return wd_errf(why, whylen, "empty (e.g. active = Mon-Fri 07:00-20:00)");
  w->days = 0x7f;
  if (t0) {
    size_t dl = t0;
    while (dl && isspace((unsigned char)value[dl - 1]))
      dl--;
    for (size_t i = 0; i < dl; i++)
      if (isspace((unsigned char)value[i]))
        return wd_errf(why, whylen,
                       "'%.*s': one word of days, then one of times (e.g. "
                       "Mon-Fri 07:00-20:00)",
                       (int)dl, value);
    if (parse_days(value, dl, &w->days, why, whylen))
      return -1;
  }
  const char *dash = memchr(times, '-', tl);
  int a = dash ? hhmm(times, (size_t)(dash - times)) : -1;
  int b = dash ? hhmm(dash + 1, tl - (size_t)(dash - times) - 1) : -1;
  if (a < 0 || b < 0)
    return wd_errf(why, whylen,
                   "'%.*s': times are HH:MM-HH:MM, 00:00 to 24:00 (e.g. "
                   "07:00-20:00, or 22:00-06:00 across midnight)",
                   (int)tl, times);
  if (a == 24 * 60)
    return wd_errf(why, whylen, "'%.*s': a window cannot open at 24:00",
                   (int)tl, times);
  if (a == b)
    return wd_errf(why, whylen,
                   "'%.*s': opens and closes at the same time (a whole day "
                   "is 00:00-24:00)",
                   (int)tl, times);
  w->start = (uint16_t)a;
  w->end = (uint16_t)b;
  return 0;
}

int wd_tz_check(const char *zone, char *why, size_t whylen) {
  if (!*zone || zone[0] == '/' || zone[0] == ':' || strstr(zone, "..") ||
      strlen(zone) > 200)
    return wd_errf(why, whylen,
                   "'%s': a tz database name such as Europe/Berlin or UTC",
                   zone);
  for (const char *p = zone; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("/_-+", *p))
      return wd_errf(why, whylen, "'%s': '%c' is not in a zone name", zone, *p);
  const char *dir = getenv("TZDIR");
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s",
           dir && *dir ? dir : "/usr/share/zoneinfo", zone);
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return wd_errf(why, whylen,
                   "'%s': no such zone in the tz database (%s; is tzdata "
                   "installed?)",
                   zone, dir && *dir ? dir : "/usr/share/zoneinfo");
  return 0;
}

/* Local midnight-relative time `min` minutes into the day `day` (a struct
 * tm of that day, any hour), through mktime so that DST decides. */
static time_t at_minute(const struct tm *day, int add_days, int min) {
  struct tm t = *day;
  t.tm_mday += add_days;
  t.tm_hour = min / 60;
  t.tm_min = min % 60;
  t.tm_sec = 0;
  t.tm_isdst = -1;
  return mktime(&t);
}

void wd_window_eval(const struct wd_window *w, int n, int64_t warm_before_s,
                    time_t now, int *active, time_t *next_change) {
  *active = 1;
  *next_change = (time_t)INT64_MAX;
  if (n <= 0)
    return;
  *active = 0;
  time_t next = now + 8 * 86400;
  struct tm today;
  localtime_r(&now, &today);
  /* Yesterday's windows may run past midnight into today; a week ahead
   * holds every weekday's next opening. */
  for (int d = -1; d <= 7; d++) {
    struct tm day = today;
    day.tm_mday += d;
    day.tm_hour = 12; /* noon: never in a DST gap */
    day.tm_min = day.tm_sec = 0;
    day.tm_isdst = -1;
    if (mktime(&day) == (time_t)-1)
      continue;
    int wd = (day.tm_wday + 6) % 7; /* Monday = 0 */
    for (int i = 0; i < n; i++) {
      if (!(w[i].days & (1u << wd)))
        continue;
      time_t open = at_minute(&day, 0, w[i].start) - (time_t)warm_before_s;
      time_t close = at_minute(&day, w[i].end <= w[i].start, w[i].end);
      if (now >= open && now < close) {
        *active = 1;
        if (close < next)
          next = close;
      } else if (open > now && open < next) {
        next = open;
      }
    }
  }
  *next_change = next;
}

void wd_tz_init(void) {
  if (!getenv("TZ"))
    setenv("TZ", ":/etc/localtime", 1); /* glibc's default zone, by name */
}

void wd_tz_enter(const char *zone, struct wd_tz_saved *s) {
  const char *old = getenv("TZ");
  s->old = old ? strdup(old) : NULL;
  s->set = 1;
  setenv("TZ", zone, 1);
  tzset();
}

void wd_tz_leave(struct wd_tz_saved *s) {
  if (!s->set)
    return;
  if (s->old)
    setenv("TZ", s->old, 1);
  else
    unsetenv("TZ");
  free(s->old);
  s->old = NULL;
  s->set = 0;
  tzset();
}
