/* util.c - see util.h. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "layout.h"
#include "util.h"

_Static_assert(WD_DEFAULT_STALE_AFTER_NS == WARMTH__STALE_DEFAULT_NS,
               "one stale_after default for warmd and the writer");

static int64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * WD_NS_PER_S + ts.tv_nsec;
}

int64_t wd_mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

int64_t wd_real_ns(void) { return clock_ns(CLOCK_REALTIME); }

int64_t wd_utc_day(void) { return (int64_t)time(NULL) / 86400; }

uint32_t wd_mono_coarse_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint32_t)ts.tv_sec;
}

int wd_errf(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

int wd_edit_distance(const char *a, const char *b, int fold_case) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 255 || lb > 255)
    return 255;
  unsigned char row[256];
  for (size_t j = 0; j <= lb; j++)
    row[j] = (unsigned char)j;
  for (size_t i = 1; i <= la; i++) {
    unsigned char diag = row[0];
    row[0] = (unsigned char)i;
    for (size_t j = 1; j <= lb; j++) {
      unsigned char up = row[j];
      int ca = (unsigned char)a[i - 1], cb = (unsigned char)b[j - 1];
      if (fold_case)
        ca = tolower(ca), cb = tolower(cb);
      int best = diag + (ca != cb);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = (unsigned char)(best > 255 ? 255 : best);
      diag = up;
    }
  }
  return row[lb];
}

int wd_closest3(const char *want, char *const *ids, int n, int best[3]) {
  int dist[3] = {256, 256, 256}, found = 0;
  best[0] = best[1] = best[2] = -1;
  for (int i = 0; i < n; i++) {
    int dd = wd_edit_distance(want, ids[i], 0);
    for (int k = 0; k < 3; k++)
      if (dd < dist[k]) {
        for (int m = 2; m > k; m--) {
          dist[m] = dist[m - 1];
          best[m] = best[m - 1];
        }
        dist[k] = dd;
        best[k] = i;
        break;
      }
  }
  while (found < 3 && best[found] >= 0)
    found++;
  return found;
}

void wd_closest_ids(const char *want, char *const *ids, int n, char *out,
                    size_t outlen) {
  int best[3], nbest = wd_closest3(want, ids, n, best);
  if (!outlen)
    return;
  out[0] = 0;
  size_t len = 0;
  for (int k = 0; k < nbest && len < outlen; k++) {
    int w =
        snprintf(out + len, outlen - len, "%s%s", k ? ", " : "", ids[best[k]]);
    if (w < 0)
      break;
    len += (size_t)w;
  }
}
