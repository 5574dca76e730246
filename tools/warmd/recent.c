/* recent.c - see recent.h. */
#include "recent.h"

#include <string.h>

#define NS_PER_S 1000000000LL

void wd_recent_add(struct wd_recent *r, int64_t now_ns, uint32_t latency_us,
                   int ok, int64_t cost_nusd, int64_t utc_day) {
  uint64_t t = (uint64_t)(now_ns / NS_PER_S) & 0xffffffffu;
  uint32_t lat =
      latency_us > WD_RECENT_LAT_MAX ? WD_RECENT_LAT_MAX : latency_us;
  if (!ok)
    lat |= WD_RECENT_FAILED;
  /* t == 0 only in the first second after boot: bump it so the sample is
   * not taken for an empty slot. */
  uint64_t word = (t ? t : 1) << 32 | lat;
  uint32_t i = atomic_load_explicit(&r->next, memory_order_relaxed);
  atomic_store_explicit(&r->sample[i % WD_RECENT_N], word,
                        memory_order_relaxed);
  /* Release: pairs with the acquire load of `next` in wd_recent_read, so
   * a reader that sees the count sees the sample. */
  atomic_store_explicit(&r->next, i + 1, memory_order_release);

  if (atomic_load_explicit(&r->cost_day, memory_order_relaxed) != utc_day) {
    atomic_store_explicit(&r->cost_nusd, 0, memory_order_relaxed);
    /* Release: pairs with the acquire in wd_recent_cost_today (the reset
     * above is visible to whoever sees the new day). */
    atomic_store_explicit(&r->cost_day, utc_day, memory_order_release);
  }
  if (cost_nusd > 0)
    atomic_fetch_add_explicit(&r->cost_nusd, cost_nusd, memory_order_relaxed);
}

void wd_recent_copy(struct wd_recent *to, const struct wd_recent *from) {
  for (int i = 0; i < WD_RECENT_N; i++)
    atomic_store_explicit(
        &to->sample[i],
        atomic_load_explicit(&from->sample[i], memory_order_relaxed),
        memory_order_relaxed);
  atomic_store_explicit(
      &to->cost_nusd,
      atomic_load_explicit(&from->cost_nusd, memory_order_relaxed),
      memory_order_relaxed);
  /* Release / acquire as in wd_recent_add: the new entry is published to
   * other threads by cds_lfht_replace, which orders these stores anyway. */
  atomic_store_explicit(
      &to->cost_day,
      atomic_load_explicit(&from->cost_day, memory_order_relaxed),
      memory_order_release);
  atomic_store_explicit(&to->next,
                        atomic_load_explicit(&from->next, memory_order_relaxed),
                        memory_order_release);
}

int wd_recent_read(const struct wd_recent *r, int64_t now_ns,
                   struct wd_recent_sample out[WD_RECENT_N]) {
  /* Acquire: pairs with the release store of `next` in wd_recent_add. */
  uint32_t next = atomic_load_explicit(&r->next, memory_order_acquire);
  uint32_t have = next < WD_RECENT_N ? next : WD_RECENT_N;
  int64_t now_s = now_ns / NS_PER_S;
  int n = 0;
  for (uint32_t k = have; k > 0; k--) {
    uint32_t i = (next - k) % WD_RECENT_N; /* oldest first */
    uint64_t w = atomic_load_explicit(&r->sample[i], memory_order_relaxed);
    if (!w)
      continue;
    /* Seconds are stored mod 2^32 (136 years of uptime). */
    int64_t age = (int64_t)(uint32_t)((uint64_t)now_s - (w >> 32));
    if (age > WD_RECENT_SPAN_S)
      continue;
    /* A sample newer than the one before it in the ring was written
     * while we read: keep the order by time. */
    if (n > 0 && age > out[n - 1].age_s)
      continue;
    out[n].age_s = age;
    out[n].latency_us = (uint32_t)w & WD_RECENT_LAT_MAX;
    out[n].ok = !((uint32_t)w & WD_RECENT_FAILED);
    n++;
  }
  return n;
}

int64_t wd_recent_cost_today(const struct wd_recent *r, int64_t utc_day) {
  if (atomic_load_explicit(&r->cost_day, memory_order_acquire) != utc_day)
    return 0;
  return atomic_load_explicit(&r->cost_nusd, memory_order_relaxed);
}
