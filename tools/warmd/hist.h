/* hist.h - a small log-linear histogram of durations (ns) for percentiles:
 * 8 sub-buckets per power of two, so a percentile is within 12.5%. */
#ifndef WARMD_HIST_H
#define WARMD_HIST_H

#include <stdint.h>

#define WD_HIST_BUCKETS (64 * 8)

struct wd_hist {
  uint64_t count;
  int64_t max;
  int64_t sum;
  uint64_t b[WD_HIST_BUCKETS];
};

void wd_hist_add(struct wd_hist *h, int64_t ns);
/* The q-quantile (0..1), as the upper bound of its bucket; 0 when empty. */
int64_t wd_hist_quantile(const struct wd_hist *h, double q);

#endif
