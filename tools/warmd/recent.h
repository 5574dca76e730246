/* recent.h - one model's recent history, for the status page: its last
 * warmup latencies (a ring of samples, drawn as the sparkline of the last
 * hour) and what its warmups cost in the current UTC day.
 *
 * One writer (the main thread, from wd_sched_result), any number of
 * readers (the HTTP thread).  Each sample is one 64-bit word, stored and
 * loaded atomically, so a reader never sees half a sample; a reader racing
 * the writer may see a ring where the newest sample replaced the oldest,
 * which is what a sparkline of "the last N" means anyway.  Nothing here is
 * in shared memory or the state file: after a restart the sparkline starts
 * empty and refills within the hour.
 */
#ifndef WARMD_RECENT_H
#define WARMD_RECENT_H

#include <stdatomic.h>
#include <stdint.h>

/* Samples kept per model: at the default 240 s interval an hour is 15
 * warmups; at short intervals the ring holds the last 64.  512 bytes per
 * model, 5 MB for 10,000 models. */
#define WD_RECENT_N 64
/* What the sparkline spans. */
#define WD_RECENT_SPAN_S 3600

struct wd_recent {
  /* (CLOCK_MONOTONIC seconds << 32) | latency in us (saturated); 0 = empty.
   * A failed warmup is stored with bit 31 of the latency set. */
  _Atomic uint64_t sample[WD_RECENT_N];
  _Atomic uint32_t next; /* count of samples ever added (mod 2^32) */
  /* Cost in the UTC day `cost_day` (days since the epoch).  The writer
   * resets cost before it publishes a new day (release), the reader loads
   * the day (acquire) before the cost: a reader that sees today's day
   * reads today's cost, never yesterday's. */
  _Atomic int64_t cost_day;
  _Atomic int64_t cost_nusd;
};

#define WD_RECENT_FAILED 0x80000000u
#define WD_RECENT_LAT_MAX 0x7fffffffu

/* Writer: one finished warmup.  now_ns is CLOCK_MONOTONIC, utc_day the
 * current UTC day (time(NULL) / 86400). */
void wd_recent_add(struct wd_recent *r, int64_t now_ns, uint32_t latency_us,
                   int ok, int64_t cost_nusd, int64_t utc_day);

/* Writer: carries the history of a model over a reload (old entry -> new
 * entry of the same model). */
void wd_recent_copy(struct wd_recent *to, const struct wd_recent *from);

/* Reader: the samples of the last WD_RECENT_SPAN_S seconds before now_ns,
 * oldest first; returns their number (<= WD_RECENT_N). */
struct wd_recent_sample {
  int64_t age_s; /* seconds before now */
  uint32_t latency_us;
  int ok;
};
int wd_recent_read(const struct wd_recent *r, int64_t now_ns,
                   struct wd_recent_sample out[WD_RECENT_N]);

/* Reader: cost in utc_day (0 when nothing was spent that day yet). */
int64_t wd_recent_cost_today(const struct wd_recent *r, int64_t utc_day);

#endif
