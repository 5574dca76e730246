/* units.h - the value grammar of warmd.conf(5), shared by warmd's config
 * and warmctl's options: one grammar, one parser.
 *
 *   duration    digits[.digits] then ms, s, m or h; or "0" alone
 *   percentage  digits[.digits]%; or "0" alone
 *   USD         digits[.digits] (no sign, no exponent)
 *   integer     [-]digits
 * Locale-free, no white space, no exponent.
 */
#ifndef WARMTH_TOOLS_UNITS_H
#define WARMTH_TOOLS_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* What the wd_scan_* functions return: the config's messages tell these
 * apart ("missing a unit", "too large"). */
enum { WD_P_OK = 0, WD_P_BAD = -1, WD_P_NOUNIT = -2, WD_P_RANGE = -3 };

int wd_scan_duration(const char *s, int64_t *ns); /* cut below 1 ns */
int wd_scan_percent(const char *s, double *frac); /* "10%" -> 0.10 */
int wd_scan_usd(const char *s, double *usd);
int wd_scan_int(const char *s, long long *out);

/* The same as 0 or -1, for callers that need no reason. */
int wd_parse_duration(const char *s, int64_t *ns);
int wd_parse_percent(const char *s, double *frac);

/* "240s", "50ms", "1.5s" (the largest unit that divides): for messages. */
const char *wd_fmt_duration(int64_t ns, char *buf, size_t n);

#endif
