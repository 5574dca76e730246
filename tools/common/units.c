/* units.c - see units.h. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

/* "digits[.digits]" (no sign, no exponent, locale-free) -> mantissa and
 * number of fraction digits.  At most 15 significant digits, so the value
 * is an exact integer in a double and one division rounds it correctly. */
static int scan_dec(const char *s, size_t len, uint64_t *mant, int *fd) {
  uint64_t m = 0;
  int digits = 0, frac = -1;
  size_t i = 0;
  if (len == 0 || !isdigit((unsigned char)s[0]))
    return WD_P_BAD;
  for (; i < len; i++) {
    if (s[i] == '.' && frac < 0) {
      frac = 0;
      continue;
    }
    if (!isdigit((unsigned char)s[i]))
      return WD_P_BAD;
    if (m == 0 && s[i] == '0') { /* leading zeros do not count */
      if (frac >= 0)
        frac++;
      continue;
    }
    if (++digits > 15)
      return WD_P_RANGE;
    m = m * 10 + (uint64_t)(s[i] - '0');
    if (frac >= 0)
      frac++;
  }
  if (frac == 0) /* "5." */
    return WD_P_BAD;
  *mant = m;
  *fd = frac < 0 ? 0 : frac;
  return WD_P_OK;
}

static double dec_value(uint64_t mant, int fd) {
  double d = 1;
  while (fd-- > 0)
    d *= 10;
  return (double)mant / d;
}

int wd_scan_usd(const char *s, double *usd) {
  uint64_t m;
  int fd;
  int rc = scan_dec(s, strlen(s), &m, &fd);
  if (rc == WD_P_OK)
    *usd = dec_value(m, fd);
  return rc;
}

/* Percent: "12.5%" or "0" alone.  A number without '%' is WD_P_NOUNIT. */
int wd_scan_percent(const char *s, double *frac) {
  size_t n = strlen(s);
  uint64_t m;
  int fd;
  if (strcmp(s, "0") == 0) {
    *frac = 0;
    return WD_P_OK;
  }
  if (n == 0)
    return WD_P_BAD;
  int rc = scan_dec(s, s[n - 1] == '%' ? n - 1 : n, &m, &fd);
  if (rc != WD_P_OK)
    return rc;
  if (s[n - 1] != '%')
    return WD_P_NOUNIT;
  *frac = dec_value(m, fd) / 100.0;
  return WD_P_OK;
}

/* Duration: digits[.digits] then ms, s, m or h; "0" alone.  Fractions are
 * kept to the nanosecond, beyond is cut. */
int wd_scan_duration(const char *s, int64_t *ns) {
  static const struct {
    const char *u;
    uint64_t ns;
  } units[] = {{"ms", 1000000ull},
               {"s", 1000000000ull},
               {"m", 60ull * 1000000000ull},
               {"h", 3600ull * 1000000000ull}};
  const char *p = s;
  uint64_t ip = 0, fv = 0, fscale = 1;
  int big = 0;
  if (strcmp(s, "0") == 0) {
    *ns = 0;
    return WD_P_OK;
  }
  if (!isdigit((unsigned char)*p))
    return WD_P_BAD;
  for (; isdigit((unsigned char)*p); p++) {
    if (ip > (UINT64_MAX - 9) / 10)
      big = 1;
    else
      ip = ip * 10 + (uint64_t)(*p - '0');
  }
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p))
      return WD_P_BAD;
    for (; isdigit((unsigned char)*p); p++) {
      if (fscale == 1000000000ull)
        return WD_P_BAD; /* finer than a nanosecond in seconds: a typo */
      fv = fv * 10 + (uint64_t)(*p - '0');
      fscale *= 10;
    }
  }
  if (*p == 0)
    return WD_P_NOUNIT;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcmp(p, units[i].u) != 0)
      continue;
    uint64_t u = units[i].ns;
    /* fv < fscale <= 1e9 and u % fscale < 1e9: no product overflows. */
    uint64_t fns = (u / fscale) * fv + (u % fscale) * fv / fscale;
    if (big || ip > ((uint64_t)INT64_MAX - fns) / u)
      return WD_P_RANGE;
    *ns = (int64_t)(ip * u + fns);
    return WD_P_OK;
  }
  return WD_P_BAD;
}

int wd_parse_duration(const char *s, int64_t *ns) {
  int64_t v;
  if (!s || !ns || wd_scan_duration(s, &v) != WD_P_OK)
    return -1;
  *ns = v;
  return 0;
}

int wd_parse_percent(const char *s, double *frac) {
  double v;
  if (!s || !frac || wd_scan_percent(s, &v) != WD_P_OK)
    return -1;
  *frac = v;
  return 0;
}

int wd_scan_int(const char *s, long long *out) {
  const char *p = s + (*s == '-');
  long long v = 0;
  if (!isdigit((unsigned char)*p))
    return WD_P_BAD;
  for (; *p; p++) {
    if (!isdigit((unsigned char)*p))
      return WD_P_BAD;
    if (v > (LLONG_MAX - 9) / 10)
      return WD_P_RANGE;
    v = v * 10 + (*p - '0');
  }
  *out = *s == '-' ? -v : v;
  return WD_P_OK;
}

/* "240s", "50ms", "1.5s": for messages. */
const char *wd_fmt_duration(int64_t ns, char *buf, size_t n) {
  static const struct {
    const char *u;
    int64_t ns;
  } units[] = {{"h", 3600 * WD_NS_PER_S},
               {"m", 60 * WD_NS_PER_S},
               {"s", WD_NS_PER_S},
               {"ms", WD_NS_PER_MS}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (ns != 0 && ns % units[i].ns == 0) {
      snprintf(buf, n, "%lld%s", (long long)(ns / units[i].ns), units[i].u);
      return buf;
    }
  snprintf(buf, n, "%.6gms", (double)ns / (double)WD_NS_PER_MS);
  return buf;
}
