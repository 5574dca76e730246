/* cost.c - warmctl cost: tokens and USD spent on warmups so far, per model
 * and in total, and what the current schedule costs per day and per month.
 *
 * The projection uses what the table says: the model's interval and the
 * mean cost of its successful warmups so far.  It is an upper bound: a
 * warmup that real traffic made unnecessary is skipped and costs nothing,
 * and an idle or paused model is projected at 0.  A model with no success
 * yet has no mean cost to project from ("-", null in JSON).
 *
 * Reasoning and cache-write tokens are warmd's own counters (the record's
 * ABI has no field for them): they come from the control socket's stats,
 * asked quietly because cost also works with warmd down ("-", null).
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlproto.h"
#include "warmctl.h"

#define MS_PER_DAY (86400.0 * 1000.0)
#define DAYS_PER_MONTH 30.0

struct proj {
  int known;              /* a mean cost per warmup exists */
  double warmups_per_day; /* at the interval; 0 when idle or paused */
  double nusd_per_warmup; /* mean of the warmups so far */
  double tokens_per_day;
  double nusd_per_day;
};

static int scheduled(const struct warmth_model_info *m) {
  return m->state != WARMTH_IDLE && m->state != WARMTH_DISABLED &&
         !(m->flags & WARMTH_F_PAUSED) && m->interval_ms > 0;
}

static struct proj project(const struct warmth_model_info *m) {
  struct proj p = {0};
  p.known = m->successes > 0;
  p.warmups_per_day = scheduled(m) ? MS_PER_DAY / m->interval_ms : 0;
  if (p.known) {
    double n = (double)m->successes;
    p.nusd_per_warmup = (double)m->cost_nusd / n;
    p.tokens_per_day =
        (double)(m->tokens_in + m->tokens_out) / n * p.warmups_per_day;
    p.nusd_per_day = p.nusd_per_warmup * p.warmups_per_day;
  }
  return p;
}

static uint64_t u64(double v) { return v < 0 ? 0 : (uint64_t)(v + 0.5); }

/* warmd's stats reply ("models": [{model, tokens_reasoning, ...}]), or
 * NULL when warmd does not answer; its complaints are not ours to print. */
static json_t *warmd_stats(const struct wc_ctx *ctx) {
  struct wc_reply rep = {0, NULL};
  int saved, null, rc;

  fflush(stderr);
  saved = dup(2);
  null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (saved >= 0 && null >= 0)
    dup2(null, 2);
  rc = wc_ctl_call(ctx, WCTL_CMD_STATS, NULL, 500 * WD_NS_PER_MS, &rep);
  fflush(stderr);
  if (saved >= 0) {
    dup2(saved, 2);
    close(saved);
  }
  if (null >= 0)
    close(null);
  if (rc != WC_EXIT_OK || rep.status != WCTL_OK) {
    json_decref(rep.fields);
    return NULL;
  }
  return rep.fields;
}

/* One of warmd's counters for a model: 1 and *v, or 0 when unknown. */
static int warmd_count(const json_t *stats, const char *model, const char *key,
                       uint64_t *v) {
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(stats, "models"), i, m) {
    const json_t *n = json_object_get(m, "model"), *x;
    if (json_is_string(n) && strcmp(json_string_value(n), model) == 0 &&
        json_is_integer(x = json_object_get(m, key))) {
      *v = (uint64_t)json_integer_value(x);
      return 1;
    }
  }
  return 0;
}

static json_t *jcount(const json_t *stats, const char *model, const char *key,
                      uint64_t *sum) {
  uint64_t v;
  if (!warmd_count(stats, model, key, &v))
    return json_null();
  *sum += v;
  return json_integer((json_int_t)v);
}

static json_t *jnum_or_null(int known, double v) {
  return known ? json_integer((json_int_t)u64(v)) : json_null();
}

static int print_json(const struct wc_snap *s, const struct wc_rows *r,
                      const json_t *stats) {
  json_t *models = json_array();
  uint64_t cost = 0, tin = 0, tout = 0, tcached = 0, warmups = 0;
  uint64_t treason = 0, tcw = 0;
  double day = 0;
  for (size_t i = 0; i < r->n; i++) {
    const struct warmth_model_info *m = &r->v[i];
    struct proj p = project(m);
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:o, s:o, s:o}", "model",
        m->name, "state", warmth_state_name(m->state), "warmups",
        (json_int_t)m->successes, "tokens_in", (json_int_t)m->tokens_in,
        "tokens_out", (json_int_t)m->tokens_out, "tokens_cached",
        (json_int_t)m->tokens_cached, "cost_nusd", (json_int_t)m->cost_nusd,
        "interval_ms", (json_int_t)m->interval_ms, "warmups_per_day",
        p.warmups_per_day, "nusd_per_warmup",
        jnum_or_null(p.known, p.nusd_per_warmup), "nusd_per_day",
        jnum_or_null(p.known, p.nusd_per_day), "nusd_per_month",
        jnum_or_null(p.known, p.nusd_per_day * DAYS_PER_MONTH));
    /* appended: parts of tokens_out and tokens_in, from warmd */
    json_object_set_new(o, "tokens_reasoning",
                        jcount(stats, m->name, "tokens_reasoning", &treason));
    json_object_set_new(o, "tokens_cache_write",
                        jcount(stats, m->name, "tokens_cache_write", &tcw));
    json_array_append_new(models, o);
    cost += m->cost_nusd;
    tin += m->tokens_in;
    tout += m->tokens_out;
    tcached += m->tokens_cached;
    warmups += m->successes;
    day += p.nusd_per_day;
  }
  json_t *total = json_pack(
      "{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "warmups", (json_int_t)warmups,
      "tokens_in", (json_int_t)tin, "tokens_out", (json_int_t)tout,
      "tokens_cached", (json_int_t)tcached, "cost_nusd", (json_int_t)cost,
      "nusd_per_day", (json_int_t)u64(day), "nusd_per_month",
      (json_int_t)u64(day * DAYS_PER_MONTH));
  json_object_set_new(total, "tokens_reasoning",
                      stats ? json_integer((json_int_t)treason) : json_null());
  json_object_set_new(total, "tokens_cache_write",
                      stats ? json_integer((json_int_t)tcw) : json_null());
  json_t *o =
      json_pack("{s:o, s:o, s:o}", "coordinator", wc_json_coordinator(s),
                "models", models, "total", total);
  return wc_json_print(o, 0) ? WC_EXIT_ERROR : WC_EXIT_OK;
}

static void cell_cost(char buf[WC_FMT_MAX], int known, double nusd) {
  if (known)
    wc_fmt_cost(buf, u64(nusd));
  else
    strcpy(buf, "-");
}

static void cell_count(char buf[WC_FMT_MAX], const json_t *stats,
                       const char *model, const char *key, uint64_t *sum) {
  uint64_t v;
  if (warmd_count(stats, model, key, &v)) {
    wc_fmt_count(buf, v);
    *sum += v;
  } else {
    strcpy(buf, "-");
  }
}

static int print_text(const struct wc_rows *r, const json_t *stats) {
  char h[WC_FMT_MAX], k[WC_FMT_MAX];
  uint64_t treason = 0, tcw = 0;
  char a[WC_FMT_MAX], b[WC_FMT_MAX], c[WC_FMT_MAX], d[WC_FMT_MAX],
      e[WC_FMT_MAX], f[WC_FMT_MAX], g[WC_FMT_MAX];
  int w = 5; /* "MODEL" / "TOTAL" */
  for (size_t i = 0; i < r->n; i++) {
    int l = (int)strlen(r->v[i].name);
    w = l > w ? l : w;
  }
  printf("%-*s  %8s  %15s  %9s  %11s  %11s  %11s  %8s  %11s  %11s\n", w,
         "MODEL", "WARMUPS", "TOKENS IN+OUT", "REASONING", "CACHE WRITE",
         "COST", "PER WARMUP", "INTERVAL", "PER DAY", "PER MONTH");
  uint64_t cost = 0, tin = 0, tout = 0, warmups = 0;
  double day = 0;
  for (size_t i = 0; i < r->n; i++) {
    const struct warmth_model_info *m = &r->v[i];
    struct proj p = project(m);
    char tok[2 * WC_FMT_MAX + 1];
    snprintf(tok, sizeof tok, "%s+%s", wc_fmt_count(a, m->tokens_in),
             wc_fmt_count(b, m->tokens_out));
    cell_cost(d, p.known, p.nusd_per_warmup);
    cell_cost(f, p.known, p.nusd_per_day);
    cell_cost(g, p.known, p.nusd_per_day * DAYS_PER_MONTH);
    if (scheduled(m))
      wc_fmt_dur(e, (int64_t)m->interval_ms * WD_NS_PER_MS);
    else if (m->interval_ms == 0)
      strcpy(e, "-"); /* a table whose writer sets no interval */
    else
      snprintf(e, sizeof e, "%s", warmth_state_name(m->state)); /* idle.. */
    cell_count(h, stats, m->name, "tokens_reasoning", &treason);
    cell_count(k, stats, m->name, "tokens_cache_write", &tcw);
    printf("%-*s  %8s  %15s  %9s  %11s  %11s  %11s  %8s  %11s  %11s\n", w,
           m->name, wc_fmt_count(c, m->successes), tok, h, k,
           wc_fmt_cost(b, m->cost_nusd), d, e, f, g);
    cost += m->cost_nusd;
    tin += m->tokens_in;
    tout += m->tokens_out;
    warmups += m->successes;
    day += p.nusd_per_day;
  }
  char tok[2 * WC_FMT_MAX + 1];
  snprintf(tok, sizeof tok, "%s+%s", wc_fmt_count(a, tin),
           wc_fmt_count(b, tout));
  if (stats) {
    wc_fmt_count(h, treason);
    wc_fmt_count(k, tcw);
  } else {
    strcpy(h, "-");
    strcpy(k, "-");
  }
  printf("%-*s  %8s  %15s  %9s  %11s  %11s  %11s  %8s  %11s  %11s\n", w,
         "TOTAL", wc_fmt_count(c, warmups), tok, h, k, wc_fmt_cost(d, cost), "",
         "", wc_fmt_cost(f, u64(day)),
         wc_fmt_cost(g, u64(day * DAYS_PER_MONTH)));
  printf("projection: each model's mean cost per warmup at its interval; an "
         "upper bound\n(warmups made unnecessary by real traffic cost "
         "nothing; idle and paused models count 0)\n");
  return WC_EXIT_OK;
}

int wc_cmd_cost(const struct wc_ctx *ctx, int argc, char **argv) {
  (void)argc;
  (void)argv;
  warmth_t *h = wc_open_table(ctx);
  if (!h)
    return WC_EXIT_ERROR;
  struct wc_snap s;
  int st = wc_snap_take(ctx, h, &s);
  struct wc_rows r;
  int rc = st == WC_EXIT_ERROR ? st : wc_rows_read(ctx, h, &r);
  if (rc == WC_EXIT_OK) {
    json_t *stats = warmd_stats(ctx);
    rc = ctx->json ? print_json(&s, &r, stats) : print_text(&r, stats);
    json_decref(stats);
    free(r.v);
  }
  if (st == WC_EXIT_STALE)
    wc_stale_note(ctx, &s);
  warmth_close(h);
  return wc_worst(rc, st);
}
