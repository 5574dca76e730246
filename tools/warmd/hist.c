/* hist.c - see hist.h. */
#include "hist.h"

static int bucket_of(uint64_t v) {
  if (v < 8)
    return (int)v;
  int lg = 63 - __builtin_clzll(v); /* >= 3 */
  int sub = (int)((v >> (lg - 3)) & 7);
  return (lg - 2) * 8 + sub;
}

static int64_t bucket_top(int b) {
  if (b < 8)
    return b;
  int lg = b / 8 + 2, sub = b % 8;
  uint64_t lo = ((uint64_t)(8 + sub)) << (lg - 3);
  uint64_t top = lo + (1ull << (lg - 3)) - 1;
  return top > INT64_MAX ? INT64_MAX : (int64_t)top;
}

void wd_hist_add(struct wd_hist *h, int64_t ns) {
  if (ns < 0)
    ns = 0;
  int b = bucket_of((uint64_t)ns);
  if (b >= WD_HIST_BUCKETS)
    b = WD_HIST_BUCKETS - 1;
  h->b[b]++;
  h->count++;
  h->sum += ns;
  if (ns > h->max)
    h->max = ns;
}

int64_t wd_hist_quantile(const struct wd_hist *h, double q) {
  if (!h->count)
    return 0;
  uint64_t rank = (uint64_t)(q * (double)h->count);
  if (rank >= h->count)
    rank = h->count - 1;
  uint64_t seen = 0;
  for (int b = 0; b < WD_HIST_BUCKETS; b++) {
    seen += h->b[b];
    if (seen > rank) {
      int64_t top = bucket_top(b);
      return top < h->max ? top : h->max;
    }
  }
  return h->max;
}
