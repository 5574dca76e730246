/* util.h - the small helpers warmd and warmctl share, one of each kind:
 * clocks, an error-buffer printf, edit distance, and the defaults that more
 * than one file needs (each defined once, here or in the public header it
 * belongs to).
 *
 * Prefix wd_ (warmd's) for all of tools/common: warmctl is warmd's tool.
 */
#ifndef WARMTH_TOOLS_UTIL_H
#define WARMTH_TOOLS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "warmth.h"

#define WD_NS_PER_US 1000LL
#define WD_NS_PER_MS 1000000LL
#define WD_NS_PER_S 1000000000LL

/* ---- defaults (warmd.conf(5) documents them) ----------------------------- */
/* [warmd] shm: the reader's default, so an unconfigured warmd and an
 * unconfigured worker meet. */
#define WD_DEFAULT_SHM WARMTH_SHM_DEFAULT
/* [warmd] control_socket: warmctl's default too. */
#define WD_DEFAULT_SOCKET "/run/warmth/warmd.sock"
#define WD_DEFAULT_HTTP_LISTEN "127.0.0.1:9464" /* Prometheus' range */
#define WD_DEFAULT_TICK_NS (50 * WD_NS_PER_MS)
#define WD_DEFAULT_MAX_CONCURRENCY 16
/* [warmd] stale_after: also what the writer publishes when given 0
 * (lib/layout.h, WARMTH__STALE_DEFAULT_NS, checked equal in util.c). */
#define WD_DEFAULT_STALE_AFTER_NS (5 * WD_NS_PER_S)
/* [endpoint] timeout and anthropic_version. */
#define WD_DEFAULT_TIMEOUT_NS (5 * WD_NS_PER_S)
#define WD_DEFAULT_ANTHROPIC_VERSION "2023-06-01"
/* [model] defaults. */
#define WD_DEFAULT_MAX_TOKENS 3
#define WD_DEFAULT_INTERVAL_NS (240 * WD_NS_PER_S)
#define WD_DEFAULT_JITTER 0.10
#define WD_DEFAULT_WARM_TTL_NS (300 * WD_NS_PER_S)
#define WD_DEFAULT_RISE 1
#define WD_DEFAULT_FALL 3

/* ---- clocks -------------------------------------------------------------- */
/* CLOCK_MONOTONIC in ns: every time inside warmd and warmctl. */
int64_t wd_mono_ns(void);
/* CLOCK_MONOTONIC_COARSE in whole seconds: the demand segment's touches. */
uint32_t wd_mono_coarse_s(void);
/* CLOCK_REALTIME in ns (logs, event log, state file). */
int64_t wd_real_ns(void);
/* The UTC day number (days since 1970-01-01): the daily budget's day. */
int64_t wd_utc_day(void);

/* ---- errors -------------------------------------------------------------- */
/* printf into err[errlen] (nothing when err is NULL or errlen 0); returns
 * -1, so that `return wd_errf(err, errlen, ...)` reads as the failure. */
int wd_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- words --------------------------------------------------------------- */
/* Levenshtein distance, for "did you mean"; fold_case compares ASCII
 * letters case-blind.  Words longer than 255 bytes: 255. */
int wd_edit_distance(const char *a, const char *b, int fold_case);
/* The indexes of the (up to) three of ids[0..n) closest to want by edit
 * distance in best[], nearest first (a tie: the earlier id); returns how
 * many (n, at most 3). */
int wd_closest3(const char *want, char *const *ids, int n, int best[3]);
/* The (up to) three of ids[0..n) closest to want by edit distance, as
 * "a, b, c" in out (NUL-terminated, cut to outlen); "" when n is 0. */
void wd_closest_ids(const char *want, char *const *ids, int n, char *out,
                    size_t outlen);

#endif
