/* format.c - numbers of the table as short human text, and back.
 *
 * Every formatter writes into a caller's WC_FMT_MAX buffer and returns it,
 * so several can appear in one printf without static storage.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "warmctl.h"

int wc_warm_now(const struct wc_snap *s, const struct warmth_model_info *m) {
  /* st.stale is already 1 for a retired segment (see warmth_status). */
  return m->state == WARMTH_WARM && s->now < m->warm_until && !s->st.stale;
}

char *wc_fmt_dur(char buf[WC_FMT_MAX], int64_t ns) {
  if (ns < 0) {
    strcpy(buf, "-");
    return buf;
  }
  int64_t s = ns / WD_NS_PER_S;
  if (s < 1)
    snprintf(buf, WC_FMT_MAX, "%lldms", (long long)(ns / WD_NS_PER_MS));
  else if (s < 60)
    snprintf(buf, WC_FMT_MAX, "%llds", (long long)s);
  else if (s < 3600)
    snprintf(buf, WC_FMT_MAX, "%lldm%llds", (long long)(s / 60),
             (long long)(s % 60));
  else if (s < 86400)
    snprintf(buf, WC_FMT_MAX, "%lldh%lldm", (long long)(s / 3600),
             (long long)(s % 3600 / 60));
  else
    snprintf(buf, WC_FMT_MAX, "%lldd%lldh", (long long)(s / 86400),
             (long long)(s % 86400 / 3600));
  return buf;
}

char *wc_fmt_lat(char buf[WC_FMT_MAX], uint32_t us) {
  if (us == 0)
    strcpy(buf, "-");
  else if (us < 1000)
    snprintf(buf, WC_FMT_MAX, "%uus", us);
  else if (us < 100000) /* one decimal while it still says something */
    snprintf(buf, WC_FMT_MAX, "%.1fms", us / 1e3);
  else if (us < 1000000)
    snprintf(buf, WC_FMT_MAX, "%ums", us / 1000);
  else
    snprintf(buf, WC_FMT_MAX, "%.2fs", us / 1e6);
  return buf;
}

char *wc_fmt_count(char buf[WC_FMT_MAX], uint64_t n) {
  static const char units[] = "kMGTPE";
  if (n < 10000) {
    snprintf(buf, WC_FMT_MAX, "%llu", (unsigned long long)n);
    return buf;
  }
  double v = (double)n;
  int u = -1;
  while (v >= 1000 && u < (int)sizeof units - 2) {
    v /= 1000;
    u++;
  }
  snprintf(buf, WC_FMT_MAX, v < 100 ? "%.1f%c" : "%.0f%c", v, units[u]);
  return buf;
}

char *wc_fmt_cost(char buf[WC_FMT_MAX], uint64_t nusd) {
  if (nusd == 0) {
    strcpy(buf, "$0");
    return buf;
  }
  /* A warmup costs around a thousandth of a cent, so small totals keep
   * micro-dollars, and decimals shrink as dollars grow.  Truncating integer
   * arithmetic: no rounding drift on big totals. */
  unsigned long long d = nusd / 1000000000ull, f = nusd % 1000000000ull;
  if (nusd < 1000)
    strcpy(buf, "<$0.000001");
  else if (d < 1)
    snprintf(buf, WC_FMT_MAX, "$0.%06llu", f / 1000ull);
  else if (d < 100)
    snprintf(buf, WC_FMT_MAX, "$%llu.%04llu", d, f / 100000ull);
  else
    snprintf(buf, WC_FMT_MAX, "$%llu.%02llu", d, f / 10000000ull);
  return buf;
}

char *wc_fmt_when(char buf[WC_FMT_MAX], int64_t t, int64_t now) {
  char d[WC_FMT_MAX];
  if (t == 0)
    strcpy(buf, "never");
  else if (t <= now)
    snprintf(buf, WC_FMT_MAX, "%s ago", wc_fmt_dur(d, now - t));
  else
    snprintf(buf, WC_FMT_MAX, "in %s", wc_fmt_dur(d, t - now));
  return buf;
}

/* One table for letters, names and the legend (--help), so they cannot
 * drift.  Upper case: a problem; lower case: information. */
static const struct {
  uint32_t bit;
  char letter;
  const char *name;
  const char *legend;
} flag_tab[] = {
    {WARMTH_F_SLOW, 'S', "slow", "slow"},
    {WARMTH_F_KEY_PROBLEM, 'K', "key_problem", "key problem"},
    {WARMTH_F_BUDGET, 'B', "budget", "budget reached"},
    {WARMTH_F_PAUSED, 'P', "paused", "paused"},
    {WARMTH_F_THROTTLED, 'T', "throttled", "throttled"},
    {WARMTH_F_REAL_TRAFFIC, 'r', "real_traffic", "kept warm by real traffic"},
    {WARMTH_F_PREFIX_CACHED, 'c', "prefix_cached", "prompt prefix cached"},
    {WARMTH_F_FLEET, 'f', "fleet", "warmed by another host of the fleet"},
    {WARMTH_F_MODEL_PROBLEM, 'M', "model_problem", "model problem"},
    {WARMTH_F_OFF_HOURS, 'o', "off_hours", "outside its warm windows"},
};
#define NFLAGS (sizeof flag_tab / sizeof flag_tab[0])

char *wc_fmt_flags(char buf[WC_FMT_MAX], uint32_t flags) {
  size_t n = 0;
  uint32_t known = 0;
  for (size_t i = 0; i < NFLAGS; i++) {
    known |= flag_tab[i].bit;
    if (flags & flag_tab[i].bit)
      buf[n++] = flag_tab[i].letter;
  }
  if (flags & ~known)
    buf[n++] = '?'; /* a newer coordinator: show that something is set */
  if (n == 0)
    buf[n++] = '-';
  buf[n] = 0;
  return buf;
}

void wc_each_flag(uint32_t flags, void (*fn)(const char *name, void *arg),
                  void *arg) {
  for (size_t i = 0; i < NFLAGS; i++)
    if (flags & flag_tab[i].bit)
      fn(flag_tab[i].name, arg);
  for (size_t i = 0; i < NFLAGS; i++)
    flags &= ~flag_tab[i].bit;
  for (int b = 0; b < 32; b++)
    if (flags & (1u << b)) {
      char hex[16];
      snprintf(hex, sizeof hex, "0x%x", 1u << b);
      fn(hex, arg);
    }
}

const char *wc_flags_legend(void) {
  /* Built from flag_tab once: "  S slow, K key problem, ..., ? unknown",
   * wrapped before column 78. */
  static char buf[1024];
  if (*buf)
    return buf;
  size_t n = 0, col = 0;
  for (size_t i = 0; i <= NFLAGS; i++) {
    char item[96];
    int len = i < NFLAGS ? snprintf(item, sizeof item, "%c %s",
                                    flag_tab[i].letter, flag_tab[i].legend)
                         : snprintf(item, sizeof item, "? unknown");
    const char *sep = i == 0                       ? "  "
                      : col + 2 + (size_t)len > 76 ? ",\n  "
                                                   : ", ";
    if (n + strlen(sep) + (size_t)len + 1 > sizeof buf)
      break;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", sep, item);
    col = sep[1] == '\n' || i == 0 ? 2 + (size_t)len : col + 2 + (size_t)len;
  }
  return buf;
}

int wc_worst(int a, int b) {
  /* Rank: OK 0 < NOTWARM 1 < STALE 2 < ERROR 3. */
  static const int rank[] = {0, 1, 3, 2};
  int ra = a >= 0 && a <= 3 ? rank[a] : 3, rb = b >= 0 && b <= 3 ? rank[b] : 3;
  return ra >= rb ? a : b;
}
