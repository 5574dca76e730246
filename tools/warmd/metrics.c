/* metrics.c - see metrics.h.
 *
 * Every request first copies what it shows into a snapshot (counters from
 * the entries, records through the reader handle), then formats it, so a
 * histogram's buckets are cumulative and consistent with its _count even
 * while the main loop goes on counting. */
#define _GNU_SOURCE
#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fleet.h"
#include "metrics.h"
#include "schedule.h"

void wd_buf_printf(struct wd_buf *b, const char *fmt, ...) {
  for (int pass = 0; pass < 2 && !b->oom; pass++) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = 1;
    } else if ((size_t)n < room) {
      b->len += (size_t)n;
      return;
    } else {
      size_t cap = b->cap ? b->cap : 4096;
      while (cap - b->len <= (size_t)n)
        cap *= 2;
      char *p = realloc(b->p, cap);
      if (!p)
        b->oom = 1;
      else
        b->p = p, b->cap = cap;
    }
  }
}

void wd_buf_label(struct wd_buf *b, const char *s) {
  for (; *s; s++) {
    if (*s == '\\')
      wd_buf_printf(b, "\\\\");
    else if (*s == '"')
      wd_buf_printf(b, "\\\"");
    else if (*s == '\n')
      wd_buf_printf(b, "\\n");
    else
      wd_buf_printf(b, "%c", *s);
  }
}

/* ---- the snapshot ----------------------------------------------------------
 */

struct msnap {
  char name[WARMTH_NAME_MAX + 1];
  int found; /* the record could be read */
  int warm;  /* as a worker would see it now */
  int required;
  struct warmth_model_info info;
  uint64_t n_ok, skip[4], by_class[WARMTH_ERR_CLASS_COUNT];
  uint64_t lat[WD_LAT_BUCKETS], lat_sum_us;
  uint64_t tokens_reasoning, tokens_cache_write;
};

struct snap {
  int64_t now;
  int have_status;
  struct warmth_status st;
  size_t n;
  struct msnap *m;
};

static void copy_entry(struct msnap *m, struct wd_entry *e) {
  snprintf(m->name, sizeof m->name, "%s", e->name);
  m->required = e->m->required;
  m->n_ok = atomic_load_explicit(&e->n_ok, memory_order_relaxed);
  m->skip[0] = atomic_load_explicit(&e->n_skip_real, memory_order_relaxed);
  m->skip[1] = atomic_load_explicit(&e->n_skip_idle, memory_order_relaxed);
  m->skip[2] = atomic_load_explicit(&e->n_skip_budget, memory_order_relaxed);
  m->skip[3] = atomic_load_explicit(&e->n_skip_throttle, memory_order_relaxed);
  for (int c = 0; c < WARMTH_ERR_CLASS_COUNT; c++)
    m->by_class[c] =
        atomic_load_explicit(&e->n_by_class[c], memory_order_relaxed);
  for (int b = 0; b < WD_LAT_BUCKETS; b++)
    m->lat[b] = atomic_load_explicit(&e->lat_count[b], memory_order_relaxed);
  m->lat_sum_us = atomic_load_explicit(&e->lat_sum_us, memory_order_relaxed);
  m->tokens_reasoning =
      atomic_load_explicit(&e->tokens_reasoning, memory_order_relaxed);
  m->tokens_cache_write =
      atomic_load_explicit(&e->tokens_cache_write, memory_order_relaxed);
}

/* Returns 0, or -1 when out of memory. */
static int take_snap(struct wd_daemon *d, struct snap *s) {
  memset(s, 0, sizeof s[0]);
  s->st.size = sizeof s->st;
  s->have_status = warmth_status(d->reader, &s->st) == 0;
  s->now = wd_mono_ns();
  int live = s->have_status && !s->st.stale && !s->st.retired;
  size_t cap = 0;
  struct cds_lfht_iter it;
  struct wd_entry *e;
  rcu_read_lock();
  cds_lfht_for_each_entry(d->t->ht, &it, e, node) {
    if (s->n == cap) {
      cap = cap ? 2 * cap : 64;
      struct msnap *m = realloc(s->m, cap * sizeof *m);
      if (!m) {
        rcu_read_unlock();
        free(s->m);
        s->m = NULL;
        return -1;
      }
      s->m = m;
    }
    struct msnap *m = &s->m[s->n++];
    memset(m, 0, sizeof *m);
    copy_entry(m, e);
    m->info.size = sizeof m->info;
    m->found = warmth_lookup(d->reader, m->name, &m->info) == 0;
    m->warm = live && m->found && m->info.state == WARMTH_WARM &&
              s->now < m->info.warm_until;
  }
  rcu_read_unlock();
  return 0;
}

/* ---- /health/warmup --------------------------------------------------------
 */

int wd_health_warmup(struct wd_daemon *d, char **json) {
  struct snap s;
  *json = NULL;
  int running = atomic_load(&d->running);
  if (take_snap(d, &s) != 0)
    return 0;
  int ready = running && s.have_status && !s.st.stale && !s.st.retired;
  json_t *models = json_object();
  for (size_t i = 0; i < s.n; i++) {
    const struct msnap *m = &s.m[i];
    if (m->required && !m->warm)
      ready = 0;
    json_t *o =
        json_pack("{s:s,s:b,s:b}", "state",
                  m->found ? warmth_state_name(m->info.state) : "unknown",
                  "warm", m->warm, "required", m->required);
    if (o && m->found && m->warm)
      json_object_set_new(
          o, "seconds_until_cold",
          json_real((double)(m->info.warm_until - s.now) / 1e9));
    json_object_set_new(models, m->name, o);
  }
  json_t *root = json_pack(
      "{s:b,s:b,s:b,s:o}", "ready", ready, "running", running, "stale",
      !s.have_status || s.st.stale || s.st.retired, "models", models);
  if (root) {
    *json = json_dumps(root,
                       JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
    json_decref(root);
  }
  free(s.m);
  return ready;
}

/* ---- /metrics --------------------------------------------------------------
 */

static void family(struct wd_buf *b, const char *name, const char *type,
                   const char *help) {
  wd_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Starts a sample line: name{model="...",  (the caller closes the braces) */
static void model_sample(struct wd_buf *b, const char *name, const char *m) {
  wd_buf_printf(b, "%s{model=\"", name);
  wd_buf_label(b, m);
  wd_buf_printf(b, "\"");
}

static void model_metrics(struct wd_buf *b, const struct snap *s) {
  family(b, "warmd_model_warm", "gauge",
         "1 when the model is warm now, as a worker reads it.");
  for (size_t i = 0; i < s->n; i++) {
    model_sample(b, "warmd_model_warm", s->m[i].name);
    wd_buf_printf(b, "} %d\n", s->m[i].warm);
  }
  family(b, "warmd_model_required", "gauge",
         "1 when the model counts for /health/warmup (required = yes).");
  for (size_t i = 0; i < s->n; i++) {
    model_sample(b, "warmd_model_required", s->m[i].name);
    wd_buf_printf(b, "} %d\n", s->m[i].required);
  }
  family(b, "warmd_warmups_total", "counter",
         "Warmups finished, by result: ok or the error class.");
  for (size_t i = 0; i < s->n; i++)
    for (int c = 0; c < WARMTH_ERR_CLASS_COUNT; c++) {
      model_sample(b, "warmd_warmups_total", s->m[i].name);
      wd_buf_printf(
          b, ",result=\"%s\"} %llu\n", c ? warmth_error_class_name(c) : "ok",
          (unsigned long long)(c ? s->m[i].by_class[c] : s->m[i].n_ok));
    }
  static const char *const why[4] = {"real_traffic", "idle", "budget",
                                     "headroom"};
  family(b, "warmd_warmups_skipped_total", "counter",
         "Warmups not sent when due, by reason.");
  for (size_t i = 0; i < s->n; i++)
    for (int r = 0; r < 4; r++) {
      model_sample(b, "warmd_warmups_skipped_total", s->m[i].name);
      wd_buf_printf(b, ",reason=\"%s\"} %llu\n", why[r],
                    (unsigned long long)s->m[i].skip[r]);
    }
  const char *h = "warmd_warmup_latency_seconds";
  family(b, h, "histogram", "Warmup latency (every result, ok or not).");
  for (size_t i = 0; i < s->n; i++) {
    uint64_t cum = 0;
    for (int k = 0; k < WD_LAT_BUCKETS; k++) {
      cum += s->m[i].lat[k];
      model_sample(b, "warmd_warmup_latency_seconds_bucket", s->m[i].name);
      if (k == WD_LAT_BUCKETS - 1)
        wd_buf_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
      else
        wd_buf_printf(b, ",le=\"%g\"} %llu\n",
                      (double)wd_lat_bounds_us[k] / 1e6,
                      (unsigned long long)cum);
    }
    model_sample(b, "warmd_warmup_latency_seconds_sum", s->m[i].name);
    wd_buf_printf(b, "} %.6f\n", (double)s->m[i].lat_sum_us / 1e6);
    model_sample(b, "warmd_warmup_latency_seconds_count", s->m[i].name);
    wd_buf_printf(b, "} %llu\n", (unsigned long long)cum);
  }
  static const char *const tok[3] = {"input", "output", "cached"};
  family(b, "warmd_tokens_total", "counter",
         "Tokens of warmups (input counts cached input too).");
  for (size_t i = 0; i < s->n; i++) {
    const struct warmth_model_info *in = &s->m[i].info;
    uint64_t v[3] = {in->tokens_in, in->tokens_out, in->tokens_cached};
    for (int k = 0; k < 3; k++) {
      model_sample(b, "warmd_tokens_total", s->m[i].name);
      wd_buf_printf(b, ",type=\"%s\"} %llu\n", tok[k],
                    (unsigned long long)v[k]);
    }
  }
  family(b, "warmd_reasoning_tokens_total", "counter",
         "Output tokens of warmups spent reasoning (part of output).");
  for (size_t i = 0; i < s->n; i++) {
    model_sample(b, "warmd_reasoning_tokens_total", s->m[i].name);
    wd_buf_printf(b, "} %llu\n", (unsigned long long)s->m[i].tokens_reasoning);
  }
  family(b, "warmd_cache_write_tokens_total", "counter",
         "Input tokens of warmups written to the prompt cache (part of "
         "input).");
  for (size_t i = 0; i < s->n; i++) {
    model_sample(b, "warmd_cache_write_tokens_total", s->m[i].name);
    wd_buf_printf(b, "} %llu\n",
                  (unsigned long long)s->m[i].tokens_cache_write);
  }
  family(b, "warmd_cost_usd_total", "counter", "Cost of warmups in USD.");
  for (size_t i = 0; i < s->n; i++) {
    model_sample(b, "warmd_cost_usd_total", s->m[i].name);
    wd_buf_printf(b, "} %.9f\n", (double)s->m[i].info.cost_nusd / 1e9);
  }
  family(b, "warmd_seconds_until_cold", "gauge",
         "Seconds the model stays warm without a new warmup (0: cold).");
  for (size_t i = 0; i < s->n; i++) {
    int64_t left = s->m[i].warm ? s->m[i].info.warm_until - s->now : 0;
    model_sample(b, "warmd_seconds_until_cold", s->m[i].name);
    wd_buf_printf(b, "} %.3f\n", (double)left / 1e9);
  }
  family(b, "warmd_latency_ewma_seconds", "gauge",
         "Moving average of successful warmup latency.");
  for (size_t i = 0; i < s->n; i++) {
    model_sample(b, "warmd_latency_ewma_seconds", s->m[i].name);
    wd_buf_printf(b, "} %.6f\n", (double)s->m[i].info.ewma_latency_us / 1e6);
  }
  family(b, "warmd_warmup_failures_in_row", "gauge",
         "Failed warmups since the last success.");
  for (size_t i = 0; i < s->n; i++) {
    model_sample(b, "warmd_warmup_failures_in_row", s->m[i].name);
    wd_buf_printf(b, "} %u\n", s->m[i].info.fails_in_row);
  }
}

static void process_metrics(struct wd_buf *b, struct wd_daemon *d) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    family(b, "process_cpu_seconds_total", "counter",
           "User and system CPU time.");
    wd_buf_printf(b, "process_cpu_seconds_total %.6f\n",
                  (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) /
                          1e6);
  }
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long long pages, rss;
  if (f && fscanf(f, "%llu %llu", &pages, &rss) == 2) {
    family(b, "process_resident_memory_bytes", "gauge",
           "Resident memory size.");
    wd_buf_printf(b, "process_resident_memory_bytes %llu\n",
                  rss * (unsigned long long)sysconf(_SC_PAGESIZE));
  }
  if (f)
    fclose(f);
  DIR *dir = opendir("/proc/self/fd");
  if (dir) {
    int n = -1; /* not counting the directory's own descriptor */
    for (struct dirent *de; (de = readdir(dir));)
      n += de->d_name[0] != '.';
    closedir(dir);
    family(b, "process_open_fds", "gauge", "Open file descriptors.");
    wd_buf_printf(b, "process_open_fds %d\n", n);
  }
  family(b, "process_start_time_seconds", "gauge",
         "Start time since the Unix epoch.");
  wd_buf_printf(b, "process_start_time_seconds %.3f\n",
                (double)d->started_real_ns / 1e9);
}

/* Fleet mode (fleet.h): only with [fleet], so a host without it shows
 * exactly what it showed before. */
static void fleet_metrics(struct wd_buf *b, struct wd_fleet *f) {
  if (!f)
    return;
  int st = atomic_load(&f->state);
  family(b, "warmd_fleet_state", "gauge",
         "Fleet mode: 1 for the current state (ok: through Redis; "
         "degraded: warming per host).");
  for (int i = WD_FLEET_OK; i <= WD_FLEET_DEGRADED; i++) {
    wd_buf_printf(b, "warmd_fleet_state{fleet=\"");
    wd_buf_label(b, f->name);
    wd_buf_printf(b, "\",state=\"%s\"} %d\n", wd_fleet_state_name(i), st == i);
  }
  static const struct {
    const char *name, *help;
    size_t off;
  } c[] = {
      {"warmd_fleet_leases_won_total",
       "Claims won: this host sent the fleet's warmup.",
       offsetof(struct wd_fleet, leases_won)},
      {"warmd_fleet_leases_lost_total",
       "Claims lost: another host held the lease.",
       offsetof(struct wd_fleet, leases_lost)},
      {"warmd_fleet_skipped_total",
       "Warmups skipped because the fleet had one (or real traffic).",
       offsetof(struct wd_fleet, skipped_fleet)},
      {"warmd_fleet_local_fallbacks_total",
       "Warmups sent without the fleet: Redis down, slow or refusing.",
       offsetof(struct wd_fleet, local_fallbacks)},
      {"warmd_fleet_redis_errors_total",
       "Redis errors: connection, timeout, protocol, refused commands.",
       offsetof(struct wd_fleet, redis_errors)},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    family(b, c[i].name, "counter", c[i].help);
    wd_buf_printf(b, "%s %llu\n", c[i].name,
                  (unsigned long long)atomic_load(
                      (_Atomic uint64_t *)((char *)f + c[i].off)));
  }
  family(b, "warmd_fleet_hosts", "gauge",
         "Hosts of the fleet seen in the last minute.");
  wd_buf_printf(b, "warmd_fleet_hosts %lld\n",
                (long long)atomic_load(&f->hosts_seen));
  const char *h = "warmd_fleet_redis_seconds";
  family(b, h, "histogram", "Redis round-trip time of fleet commands.");
  uint64_t cum = 0;
  for (int k = 0; k < WD_FLEET_RTT_BUCKETS; k++) {
    cum += atomic_load(&f->rtt_count[k]);
    if (k == WD_FLEET_RTT_BUCKETS - 1)
      wd_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", h,
                    (unsigned long long)cum);
    else
      wd_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", h,
                    (double)wd_fleet_rtt_bounds_us[k] / 1e6,
                    (unsigned long long)cum);
  }
  wd_buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", h,
                (double)atomic_load(&f->rtt_sum_us) / 1e6, h,
                (unsigned long long)cum);
}

void wd_metrics(struct wd_daemon *d, struct wd_buf *b) {
  struct snap s;
  if (take_snap(d, &s) != 0) {
    b->oom = 1;
    return;
  }
  model_metrics(b, &s);
  family(b, "warmd_heartbeat_age_seconds", "gauge",
         "Age of the table's heartbeat; workers call it stale past "
         "stale_after.");
  wd_buf_printf(b, "warmd_heartbeat_age_seconds %.6f\n",
                s.have_status ? (double)s.st.heartbeat_age_ns / 1e9 : -1.0);
  family(b, "warmd_table_stale", "gauge",
         "1 when workers read the table as stale (or cannot read it).");
  wd_buf_printf(b, "warmd_table_stale %d\n",
                !s.have_status || s.st.stale || s.st.retired);
  family(b, "warmd_models", "gauge", "Models configured.");
  wd_buf_printf(b, "warmd_models %zu\n", s.n);
  family(b, "warmd_warmups_sent_total", "counter", "Warmups sent.");
  wd_buf_printf(b, "warmd_warmups_sent_total %llu\n",
                (unsigned long long)atomic_load(&d->warmups_sent));
  family(b, "warmd_reloads_total", "counter", "Configuration reloads.");
  wd_buf_printf(b, "warmd_reloads_total %llu\n",
                (unsigned long long)atomic_load(&d->reloads));
  family(b, "warmd_budget_spent_usd", "gauge",
         "Spent on warmups in the current UTC day.");
  wd_buf_printf(b, "warmd_budget_spent_usd %.9f\n",
                (double)atomic_load(&d->budget_spent_nusd) / 1e9);
  family(b, "warmd_budget_limit_usd", "gauge",
         "Daily budget (budget_per_day); 0 = no limit.");
  wd_buf_printf(b, "warmd_budget_limit_usd %.9f\n",
                (double)atomic_load(&d->budget_limit_nusd) / 1e9);
  family(b, "warmd_build_info", "gauge", "The running version.");
  wd_buf_printf(b, "warmd_build_info{version=\"");
  wd_buf_label(b, PACKAGE_VERSION);
  wd_buf_printf(b, "\"} 1\n");
  fleet_metrics(b, d->fleet);
  process_metrics(b, d);
  free(s.m);
}
