/* statuspage.c - see statuspage.h.
 *
 * A request copies what it shows into a snapshot first (counters from the
 * entries, records through the reader handle, the recent samples), under
 * one rcu_read_lock(), then formats it: HTML and JSON come from the same
 * snapshot code.  The page's script formats numbers the way fmt_* below
 * do, so a refreshed cell reads like a server-rendered one.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "statuspage.h"

/* The sparkline's box, in CSS pixels. */
#define SPARK_W 120
#define SPARK_H 24

struct srow {
  struct wd_entry *e; /* valid under the snapshot's rcu_read_lock only */
  char name[WARMTH_NAME_MAX + 1];
  uint32_t order; /* index in the config: rows come in config order */
  int found, warm, required;
  struct warmth_model_info info;
  uint64_t n_ok, n_fail;
  int64_t cost_today_nusd;
  int nspark;
  struct wd_recent_sample *spark; /* WD_RECENT_N, shown rows only */
};

struct ssnap {
  int64_t now, now_real_s;
  int have_status, stale;
  struct warmth_status st;
  struct wd_status_fleet fleet;
  size_t n, shown;
  struct srow *r;
  struct wd_recent_sample *sparks; /* shown * WD_RECENT_N */
  uint64_t warm, ok, failed, tokens;
  int64_t cost_today_nusd, budget_spent_nusd, budget_limit_nusd;
  int64_t uptime_ns;
};

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * WD_NS_PER_S + ts.tv_nsec;
}

static int by_order(const void *a, const void *b) {
  const struct srow *x = a, *y = b;
  return x->order < y->order ? -1 : x->order > y->order;
}

static void free_snap(struct ssnap *s) {
  free(s->r);
  free(s->sparks);
}

/* 0, or -1 when out of memory. */
static int take(struct wd_daemon *d, struct ssnap *s) {
  memset(s, 0, sizeof *s);
  s->st.size = sizeof s->st;
  s->have_status = warmth_status(d->reader, &s->st) == 0;
  s->stale = !s->have_status || s->st.stale || s->st.retired;
  s->now = mono_ns();
  s->now_real_s = (int64_t)time(NULL);
  s->uptime_ns = s->now - d->started_mono_ns;
  s->budget_spent_nusd = atomic_load(&d->budget_spent_nusd);
  s->budget_limit_nusd = atomic_load(&d->budget_limit_nusd);
  wd_status_fleet(d, &s->fleet);
  int64_t day = s->now_real_s / 86400;
  size_t cap = 0;
  struct cds_lfht_iter it;
  struct wd_entry *e;
  rcu_read_lock();
  cds_lfht_for_each_entry(d->t->ht, &it, e, node) {
    if (s->n == cap) {
      cap = cap ? 2 * cap : 64;
      struct srow *r = realloc(s->r, cap * sizeof *r);
      if (!r)
        goto oom;
      s->r = r;
    }
    struct srow *r = &s->r[s->n++];
    memset(r, 0, sizeof *r);
    r->e = e;
    snprintf(r->name, sizeof r->name, "%s", e->name);
    r->order = e->model_idx;
    r->required = e->m->required;
    r->n_ok = atomic_load_explicit(&e->n_ok, memory_order_relaxed);
    r->n_fail = atomic_load_explicit(&e->n_fail, memory_order_relaxed);
    r->cost_today_nusd = wd_recent_cost_today(&e->recent, day);
    r->info.size = sizeof r->info;
    r->found = warmth_lookup(d->reader, r->name, &r->info) == 0;
    r->warm = !s->stale && r->found && r->info.state == WARMTH_WARM &&
              s->now < r->info.warm_until;
    s->warm += (uint64_t)r->warm;
    s->ok += r->n_ok;
    s->failed += r->n_fail;
    if (r->found)
      s->tokens += r->info.tokens_in + r->info.tokens_out;
    s->cost_today_nusd += r->cost_today_nusd;
  }
  if (s->n) /* qsort's base must not be NULL */
    qsort(s->r, s->n, sizeof *s->r, by_order);
  s->shown = s->n < WD_STATUS_MAX_MODELS ? s->n : WD_STATUS_MAX_MODELS;
  if (s->shown) {
    s->sparks = calloc(s->shown * WD_RECENT_N, sizeof *s->sparks);
    if (!s->sparks)
      goto oom;
  }
  for (size_t i = 0; i < s->shown; i++) {
    struct srow *r = &s->r[i];
    r->spark = &s->sparks[i * WD_RECENT_N];
    r->nspark = wd_recent_read(&r->e->recent, s->now, r->spark);
  }
  for (size_t i = 0; i < s->n; i++)
    s->r[i].e = NULL; /* not to be used past the read-side section */
  rcu_read_unlock();
  return 0;
oom:
  rcu_read_unlock();
  free_snap(s);
  return -1;
}

/* ---- formatting, mirrored by the page's script ----------------------- */

#define FMT_MAX 48

static const char *fmt_dur(char *buf, int64_t ns) {
  long long s = ns / WD_NS_PER_S;
  if (s < 1)
    snprintf(buf, FMT_MAX, "<1s");
  else if (s < 60)
    snprintf(buf, FMT_MAX, "%llds", s);
  else if (s < 3600)
    snprintf(buf, FMT_MAX, "%lldm %llds", s / 60, s % 60);
  else if (s < 86400)
    snprintf(buf, FMT_MAX, "%lldh %lldm", s / 3600, s % 3600 / 60);
  else
    snprintf(buf, FMT_MAX, "%lldd %lldh", s / 86400, s % 86400 / 3600);
  return buf;
}

/* ms < 0: never measured. */
static const char *fmt_ms(char *buf, double ms) {
  if (ms < 0)
    snprintf(buf, FMT_MAX, "-");
  else if (ms < 10)
    snprintf(buf, FMT_MAX, "%.1f ms", ms);
  else if (ms < 1000)
    snprintf(buf, FMT_MAX, "%.0f ms", ms);
  else
    snprintf(buf, FMT_MAX, "%.2f s", ms / 1000);
  return buf;
}

static const char *fmt_usd(char *buf, double usd) {
  if (usd <= 0)
    snprintf(buf, FMT_MAX, "$0");
  else if (usd < 0.01)
    snprintf(buf, FMT_MAX, "$%.6f", usd);
  else
    snprintf(buf, FMT_MAX, "$%.2f", usd);
  return buf;
}

static double last_ms(const struct srow *r) {
  return r->found && r->info.last_probe ? r->info.last_latency_us / 1000.0 : -1;
}

static double avg_ms(const struct srow *r) {
  return r->found && r->info.ewma_latency_us ? r->info.ewma_latency_us / 1000.0
                                             : -1;
}

static int64_t warm_for_ns(const struct ssnap *s, const struct srow *r) {
  return r->warm ? r->info.warm_until - s->now : 0;
}

static const char *state_of(const struct srow *r) {
  return r->found ? warmth_state_name(r->info.state) : "unknown";
}

/* Record flags in words, in the order of include/warmth.h. */
static const struct {
  uint32_t bit;
  const char *words;
} flag_words[] = {
    {WARMTH_F_SLOW, "slow"},
    {WARMTH_F_KEY_PROBLEM, "API key refused"},
    {WARMTH_F_BUDGET, "daily budget reached"},
    {WARMTH_F_PAUSED, "paused"},
    {WARMTH_F_THROTTLED, "throttled by the provider"},
    {WARMTH_F_REAL_TRAFFIC, "kept warm by real traffic"},
    {WARMTH_F_PREFIX_CACHED, "prompt prefix cached"},
    {WARMTH_F_FLEET, "warmed by the fleet"},
    {WARMTH_F_MODEL_PROBLEM, "model unknown to the provider"},
    {WARMTH_F_OFF_HOURS, "outside its warm windows"},
};
#define NFLAGS (sizeof flag_words / sizeof flag_words[0])

void wd_buf_html(struct wd_buf *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&':
      wd_buf_printf(b, "&amp;");
      break;
    case '<':
      wd_buf_printf(b, "&lt;");
      break;
    case '>':
      wd_buf_printf(b, "&gt;");
      break;
    case '"':
      wd_buf_printf(b, "&quot;");
      break;
    case '\'':
      wd_buf_printf(b, "&#39;");
      break;
    default:
      wd_buf_printf(b, "%c", *s);
    }
  }
}

/* ---- HTML -------------------------------------------------------------- */

static const char page_head[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, "
    "initial-scale=1\">\n"
    "<title>warmd status</title>\n"
    /* With JavaScript off the page reloads itself; with it on, the script
     * refreshes the cells and this stays inert. */
    "<noscript><meta http-equiv=\"refresh\" content=\"10\"></noscript>\n"
    "<style>\n"
    "body{font:13px/1.4 system-ui,sans-serif;margin:1em;color:#222}\n"
    "h1{font-size:20px;margin:0 0 .3em}h1 small{color:#777;font-weight:"
    "normal}\n"
    ".coord{margin:.2em 0}.coord b{font-weight:600}\n"
    ".bad{color:#c62828}.good{color:#2e7d32}\n"
    "table{border-collapse:collapse;margin:.8em 0}\n"
    "th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;"
    "white-space:nowrap}\n"
    "th{background:#f3f3f3}td.name,th.name,td.flags{text-align:left}\n"
    "th.spark{text-align:center}\n"
    "td.name{font-family:monospace}tfoot th,tfoot td{background:#f8f8f8;"
    "font-weight:600}\n"
    ".st{display:inline-block;min-width:4.5em;text-align:center;"
    "border-radius:3px;padding:0 4px;color:#fff;background:#888}\n"
    ".st-warm{background:#2e7d32}.st-warming{background:#1e88e5}\n"
    ".st-failing{background:#c62828}.st-idle{background:#9e9e9e}\n"
    ".st-disabled{background:#ef6c00}.st-unknown{background:#616161}\n"
    ".bar{width:300px;height:10px;background:#eee;border:1px solid #ccc;"
    "display:inline-block;vertical-align:middle}\n"
    ".bar span{display:block;height:100%;background:#43a047}\n"
    ".bar span.over{background:#c62828}\n"
    ".foot{color:#777;font-size:12px}\n"
    "svg{vertical-align:middle}td.spark{text-align:center}\n"
    "</style>\n</head>\n<body>\n";

static void state_span(struct wd_buf *b, const char *state) {
  /* State names are ours (warmth_state_name): letters and spaces; a space
   * becomes a dash in the class. */
  wd_buf_printf(b, "<span class=\"st st-");
  for (const char *p = state; *p; p++)
    wd_buf_printf(b, "%c", *p == ' ' ? '-' : *p);
  wd_buf_printf(b, "\">");
  wd_buf_html(b, state);
  wd_buf_printf(b, "</span>");
}

/* The last hour's latencies: one point per warmup, evenly spaced, oldest
 * at the left (a sparkline, not a time axis: a model warmed every second
 * and one warmed every four minutes both fill the box); a line through the
 * successful ones, a red dot at the foot for each failed one.  The scale
 * is the highest latency of the hour. */
static double spark_x(int i, int n) {
  return n > 1 ? 2 + (SPARK_W - 4) * (double)i / (n - 1) : SPARK_W / 2.0;
}

static void spark_svg(struct wd_buf *b, const struct srow *r) {
  uint32_t max = 1;
  for (int i = 0; i < r->nspark; i++)
    if (r->spark[i].latency_us > max)
      max = r->spark[i].latency_us;
  char m[FMT_MAX];
  wd_buf_printf(b,
                "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                "role=\"img\" aria-label=\"%d warmups in the last hour, "
                "highest %s\"><polyline fill=\"none\" stroke=\"#1e88e5\" "
                "stroke-width=\"1.5\" points=\"",
                SPARK_W, SPARK_H, SPARK_W, SPARK_H, r->nspark,
                fmt_ms(m, max / 1000.0));
  const char *sep = "";
  for (int i = 0; i < r->nspark; i++) {
    if (!r->spark[i].ok)
      continue;
    double y =
        SPARK_H - 2 - (SPARK_H - 4) * (double)r->spark[i].latency_us / max;
    wd_buf_printf(b, "%s%.1f,%.1f", sep, spark_x(i, r->nspark), y);
    sep = " ";
  }
  wd_buf_printf(b, "\"/>");
  for (int i = 0; i < r->nspark; i++)
    if (!r->spark[i].ok)
      wd_buf_printf(b,
                    "<circle cx=\"%.1f\" cy=\"%d\" r=\"2\" "
                    "fill=\"#c62828\"/>",
                    spark_x(i, r->nspark), SPARK_H - 3);
  wd_buf_printf(b, "</svg>");
}

static void flags_text(struct wd_buf *b, const struct srow *r) {
  const char *sep = "";
  if (r->found)
    for (size_t k = 0; k < NFLAGS; k++)
      if (r->info.flags & flag_words[k].bit) {
        wd_buf_printf(b, "%s%s", sep, flag_words[k].words);
        sep = ", ";
      }
  if (r->required) {
    wd_buf_printf(b, "%srequired", sep);
    sep = ", ";
  }
  if (!*sep)
    wd_buf_printf(b, "-");
}

static void row_html(struct wd_buf *b, const struct ssnap *s,
                     const struct srow *r) {
  char f[FMT_MAX];
  wd_buf_printf(b, "<tr data-model=\"");
  wd_buf_html(b, r->name);
  wd_buf_printf(b, "\"><td class=\"name\">");
  wd_buf_html(b, r->name);
  wd_buf_printf(b, "</td><td class=\"state\">");
  state_span(b, state_of(r));
  wd_buf_printf(b, "</td><td class=\"warmfor\">%s</td>",
                r->warm ? fmt_dur(f, warm_for_ns(s, r)) : "-");
  wd_buf_printf(b, "<td class=\"last\">%s</td>", fmt_ms(f, last_ms(r)));
  wd_buf_printf(b, "<td class=\"avg\">%s</td><td class=\"spark\">",
                fmt_ms(f, avg_ms(r)));
  spark_svg(b, r);
  wd_buf_printf(
      b,
      "</td><td class=\"ok\">%llu</td><td class=\"failed\">%llu"
      "</td><td class=\"tokens\">%llu</td>",
      (unsigned long long)r->n_ok, (unsigned long long)r->n_fail,
      r->found ? (unsigned long long)(r->info.tokens_in + r->info.tokens_out)
               : 0ULL);
  wd_buf_printf(b, "<td class=\"cost\">%s</td><td class=\"flags\">",
                fmt_usd(f, r->cost_today_nusd / 1e9));
  flags_text(b, r);
  wd_buf_printf(b, "</td></tr>\n");
}

static void coordinator_html(struct wd_buf *b, const struct ssnap *s) {
  char f[FMT_MAX], g[FMT_MAX];
  wd_buf_printf(b,
                "<p class=\"coord\">coordinator: pid <b id=\"c-pid\">%d</b>"
                " &middot; up <b id=\"c-up\">%s</b> &middot; heartbeat "
                "<b id=\"c-hb\" class=\"%s\">",
                (int)getpid(), fmt_dur(f, s->uptime_ns),
                s->stale ? "bad" : "good");
  if (!s->have_status)
    wd_buf_printf(b, "table unreadable");
  else
    wd_buf_printf(b, "%s%s ago", s->stale ? "stale, " : "",
                  fmt_ms(g, s->st.heartbeat_age_ns / 1e6));
  wd_buf_printf(b, "</b> &middot; fleet <b id=\"c-fleet\">");
  wd_buf_html(b, s->fleet.state);
  if (s->fleet.detail[0]) {
    wd_buf_printf(b, " (");
    wd_buf_html(b, s->fleet.detail);
    wd_buf_printf(b, ")");
  }
  wd_buf_printf(b, "</b></p>\n");
}

static void budget_html(struct wd_buf *b, const struct ssnap *s) {
  char f[FMT_MAX], g[FMT_MAX];
  double spent = s->budget_spent_nusd / 1e9, limit = s->budget_limit_nusd / 1e9;
  double pct = limit > 0 ? 100.0 * spent / limit : 0;
  wd_buf_printf(b, "<p class=\"coord\">budget today: <span id=\"b-text\">");
  if (limit > 0)
    wd_buf_printf(b, "%s of %s (%.0f%%)", fmt_usd(f, spent), fmt_usd(g, limit),
                  pct);
  else
    wd_buf_printf(b, "%s, no daily limit", fmt_usd(f, spent));
  wd_buf_printf(b,
                "</span> <span class=\"bar\"><span id=\"b-fill\" "
                "class=\"%s\" style=\"width:%.1f%%\"></span></span></p>\n",
                pct >= 90 ? "over" : "ok", pct > 100 ? 100.0 : pct);
}

/* The refresh: every 5 s, /status.json; when the models are the same ones
 * in the same order the cells are rewritten in place, else (a reload
 * added or removed one) the page reloads.  No framework, no external
 * file; numbers are formatted as fmt_* and spark_svg do. */
static const char page_script[] =
    "<script>\n"
    "(function () {\n"
    "  'use strict';\n"
    "  function dur(s) {\n"
    "    s = Math.floor(s);\n"
    "    if (s < 1) return '<1s';\n"
    "    if (s < 60) return s + 's';\n"
    "    if (s < 3600) return Math.floor(s / 60) + 'm ' + s % 60 + 's';\n"
    "    if (s < 86400) return Math.floor(s / 3600) + 'h ' +\n"
    "      Math.floor(s % 3600 / 60) + 'm';\n"
    "    return Math.floor(s / 86400) + 'd ' + Math.floor(s % 86400 / 3600) "
    "+ 'h';\n"
    "  }\n"
    "  function ms(v) {\n"
    "    if (v === null) return '-';\n"
    "    if (v < 10) return v.toFixed(1) + ' ms';\n"
    "    if (v < 1000) return v.toFixed(0) + ' ms';\n"
    "    return (v / 1000).toFixed(2) + ' s';\n"
    "  }\n"
    "  function usd(v) {\n"
    "    return v <= 0 ? '$0' : v < 0.01 ? '$' + v.toFixed(6) :\n"
    "      '$' + v.toFixed(2);\n"
    "  }\n"
    "  var NS = 'http://www.w3.org/2000/svg', W = 120, H = 24;\n"
    "  function spark(td, pts) {\n"
    "    var max = 1, line = [], n = pts.length, svg = "
    "td.querySelector('svg');\n"
    "    pts.forEach(function (p) { if (p[1] * 1000 > max) max = p[1] * "
    "1000; });\n"
    "    while (svg.lastChild && svg.lastChild.nodeName === 'circle')\n"
    "      svg.removeChild(svg.lastChild);\n"
    "    pts.forEach(function (p, i) {\n"
    "      var x = (n > 1 ? 2 + (W - 4) * i / (n - 1) : W / 2).toFixed(1);\n"
    "      if (p[2]) {\n"
    "        line.push(x + ',' + (H - 2 - (H - 4) * p[1] * 1000 / "
    "max).toFixed(1));\n"
    "      } else {\n"
    "        var c = document.createElementNS(NS, 'circle');\n"
    "        c.setAttribute('cx', x); c.setAttribute('cy', H - 3);\n"
    "        c.setAttribute('r', 2); c.setAttribute('fill', '#c62828');\n"
    "        svg.appendChild(c);\n"
    "      }\n"
    "    });\n"
    "    svg.querySelector('polyline').setAttribute('points', line.join(' "
    "'));\n"
    "    svg.setAttribute('aria-label', n +\n"
    "      ' warmups in the last hour, highest ' + ms(max / 1000));\n"
    "  }\n"
    "  function set(id, text) { document.getElementById(id).textContent = "
    "text; }\n"
    "  function show(j) {\n"
    "    var rows = document.querySelectorAll('tbody tr'), c = "
    "j.coordinator;\n"
    "    if (rows.length !== j.models.length) return location.reload();\n"
    "    for (var i = 0; i < rows.length; i++) {\n"
    "      var m = j.models[i], r = rows[i];\n"
    "      if (r.getAttribute('data-model') !== m.name) return "
    "location.reload();\n"
    "      var st = r.querySelector('.st');\n"
    "      st.textContent = m.state;\n"
    "      st.className = 'st st-' + m.state.replace(/ /g, '-');\n"
    "      r.querySelector('.warmfor').textContent = m.warm ? "
    "dur(m.warm_for_s) : '-';\n"
    "      r.querySelector('.last').textContent = ms(m.last_latency_ms);\n"
    "      r.querySelector('.avg').textContent = ms(m.avg_latency_ms);\n"
    "      spark(r.querySelector('.spark'), m.latency_last_hour);\n"
    "      r.querySelector('.ok').textContent = m.warmups_ok;\n"
    "      r.querySelector('.failed').textContent = m.warmups_failed;\n"
    "      r.querySelector('.tokens').textContent = m.tokens_in + "
    "m.tokens_out;\n"
    "      r.querySelector('.cost').textContent = usd(m.cost_today_usd);\n"
    "      r.querySelector('.flags').textContent = m.flags.length ?\n"
    "        m.flags.join(', ') : '-';\n"
    "    }\n"
    "    set('c-pid', c.pid);\n"
    "    set('c-up', dur(c.uptime_s));\n"
    "    var hb = document.getElementById('c-hb');\n"
    "    hb.textContent = c.heartbeat_age_s === null ? 'table unreadable' :\n"
    "      (c.stale ? 'stale, ' : '') + ms(c.heartbeat_age_s * 1000) + ' "
    "ago';\n"
    "    hb.className = c.stale ? 'bad' : 'good';\n"
    "    set('c-fleet', c.fleet.state + (c.fleet.detail ? ' (' + "
    "c.fleet.detail + ')' : ''));\n"
    "    var t = j.totals, b = j.budget;\n"
    "    set('t-models', t.models + ' models');\n"
    "    set('t-warm', t.warm + ' warm');\n"
    "    set('t-ok', t.warmups_ok);\n"
    "    set('t-failed', t.warmups_failed);\n"
    "    set('t-tokens', t.tokens);\n"
    "    set('t-cost', usd(t.cost_today_usd));\n"
    "    var pct = b.limit_usd > 0 ? 100 * b.spent_usd / b.limit_usd : 0;\n"
    "    set('b-text', b.limit_usd > 0 ? usd(b.spent_usd) + ' of ' +\n"
    "      usd(b.limit_usd) + ' (' + pct.toFixed(0) + '%)' :\n"
    "      usd(b.spent_usd) + ', no daily limit');\n"
    "    var fill = document.getElementById('b-fill');\n"
    "    fill.style.width = Math.min(pct, 100).toFixed(1) + '%';\n"
    "    fill.className = pct >= 90 ? 'over' : 'ok';\n"
    "    document.body.setAttribute('data-refreshed', j.generated_unix);\n"
    "    set('generated', new Date(j.generated_unix * "
    "1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC');\n"
    "  }\n"
    "  function tick() {\n"
    "    fetch('/status.json', {cache: 'no-store'}).then(function (r) {\n"
    "      return r.json();\n"
    "    }).then(show).catch(function () {});\n"
    "  }\n"
    "  document.body.setAttribute('data-js', 'on');\n"
    "  setInterval(tick, 5000);\n"
    "}());\n"
    "</script>\n";

void wd_status_html(struct wd_daemon *d, struct wd_buf *b) {
  struct ssnap s;
  if (take(d, &s) != 0) {
    b->oom = 1;
    return;
  }
  char f[FMT_MAX], when[32];
  time_t now = (time_t)s.now_real_s;
  struct tm tm;
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime_r(&now, &tm));
  wd_buf_printf(b, "%s<h1>warmd <small>warmth %s</small></h1>\n", page_head,
                PACKAGE_VERSION);
  coordinator_html(b, &s);
  budget_html(b, &s);
  wd_buf_printf(
      b, "<table>\n<thead><tr><th class=\"name\">model</th><th>state</th>"
         "<th title=\"stays warm without a new warmup for\">warm for</th>"
         "<th>last latency</th><th title=\"moving average of successful "
         "warmups\">average</th><th class=\"spark\">last hour</th><th>warmups "
         "ok</th>"
         "<th>failed</th><th>tokens</th><th>cost today</th>"
         "<th class=\"name\">flags</th></tr></thead>\n<tbody>\n");
  for (size_t i = 0; i < s.shown; i++)
    row_html(b, &s, &s.r[i]);
  wd_buf_printf(b,
                "</tbody>\n<tfoot><tr><th class=\"name\" id=\"t-models\">"
                "%zu models</th><td id=\"t-warm\">%llu warm</td>"
                "<td colspan=\"4\"></td><td id=\"t-ok\">%llu</td>"
                "<td id=\"t-failed\">%llu</td><td id=\"t-tokens\">%llu</td>"
                "<td id=\"t-cost\">%s</td><td></td></tr></tfoot>\n"
                "</table>\n",
                s.n, (unsigned long long)s.warm, (unsigned long long)s.ok,
                (unsigned long long)s.failed, (unsigned long long)s.tokens,
                fmt_usd(f, s.cost_today_nusd / 1e9));
  if (s.shown < s.n)
    wd_buf_printf(b,
                  "<p class=\"coord\">Showing the first %zu of %zu models "
                  "(config order); totals count them all, and "
                  "<code>warmctl list</code> shows every one.</p>\n",
                  s.shown, s.n);
  wd_buf_printf(b,
                "<p class=\"foot\">generated <span id=\"generated\">%s "
                "UTC</span> &middot; <a href=\"/status.json\">status.json</a>"
                " &middot; <a href=\"/metrics\">metrics</a> &middot; "
                "<a href=\"/health/warmup\">health</a></p>\n%s</body>\n"
                "</html>\n",
                when, page_script);
  free_snap(&s);
}

/* ---- JSON -------------------------------------------------------------- */

static json_t *ms_or_null(double ms) {
  return ms < 0 ? json_null() : json_real(ms);
}

static json_t *model_json(const struct ssnap *s, const struct srow *r) {
  json_t *flags = json_array(), *spark = json_array();
  if (r->found)
    for (size_t k = 0; k < NFLAGS; k++)
      if (r->info.flags & flag_words[k].bit)
        json_array_append_new(flags, json_string(flag_words[k].words));
  if (r->required)
    json_array_append_new(flags, json_string("required"));
  for (int i = 0; i < r->nspark; i++)
    json_array_append_new(
        spark, json_pack("[I,f,b]", (json_int_t)r->spark[i].age_s,
                         r->spark[i].latency_us / 1000.0, r->spark[i].ok));
  const struct warmth_model_info *in = &r->info;
  return json_pack(
      "{s:s,s:s,s:b,s:b,s:f,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:o,s:o}",
      "name", r->name, "state", state_of(r), "warm", r->warm, "required",
      r->required, "warm_for_s", warm_for_ns(s, r) / 1e9, "last_latency_ms",
      ms_or_null(last_ms(r)), "avg_latency_ms", ms_or_null(avg_ms(r)),
      "warmups_ok", (json_int_t)r->n_ok, "warmups_failed",
      (json_int_t)r->n_fail, "tokens_in",
      (json_int_t)(r->found ? in->tokens_in : 0), "tokens_out",
      (json_int_t)(r->found ? in->tokens_out : 0), "tokens_cached",
      (json_int_t)(r->found ? in->tokens_cached : 0), "cost_today_usd",
      r->cost_today_nusd / 1e9, "cost_total_usd",
      r->found ? in->cost_nusd / 1e9 : 0.0, "flags", flags, "latency_last_hour",
      spark);
}

char *wd_status_json(struct wd_daemon *d) {
  struct ssnap s;
  if (take(d, &s) != 0)
    return NULL;
  json_t *models = json_array();
  for (size_t i = 0; i < s.shown; i++)
    json_array_append_new(models, model_json(&s, &s.r[i]));
  json_t *hb =
      s.have_status ? json_real(s.st.heartbeat_age_ns / 1e9) : json_null();
  json_t *root = json_pack(
      "{s:s,s:I,s:{s:i,s:f,s:o,s:b,s:{s:s,s:s}},s:{s:f,s:f},"
      "s:{s:I,s:I,s:I,s:I,s:I,s:f},s:I,s:o}",
      "version", PACKAGE_VERSION, "generated_unix", (json_int_t)s.now_real_s,
      "coordinator", "pid", (int)getpid(), "uptime_s", s.uptime_ns / 1e9,
      "heartbeat_age_s", hb, "stale", s.stale, "fleet", "state", s.fleet.state,
      "detail", s.fleet.detail, "budget", "spent_usd",
      s.budget_spent_nusd / 1e9, "limit_usd", s.budget_limit_nusd / 1e9,
      "totals", "models", (json_int_t)s.n, "warm", (json_int_t)s.warm,
      "warmups_ok", (json_int_t)s.ok, "warmups_failed", (json_int_t)s.failed,
      "tokens", (json_int_t)s.tokens, "cost_today_usd", s.cost_today_nusd / 1e9,
      "models_shown", (json_int_t)s.shown, "models", models);
  char *out = NULL;
  if (root) {
    out = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(root);
  }
  free_snap(&s);
  return out;
}
