/* ctlcmds.c - the control commands: status, warm, pause, resume, reload,
 * stats.  Each sends one request over warmd's control socket (ctlclient.c)
 * and prints the reply: text for people, or with --json the reply's fields
 * as warmd sent them (keys name their unit, as in json.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"
#include "warmctl.h"

/* How long each command waits for its reply.  warm: warmd bounds its
 * wait by the model's timeout (at most 1 h, see warmd.conf(5)) plus a
 * margin, and always answers first. */
#define QUICK_NS (10 * WD_NS_PER_S)
#define ACT_NS (30 * WD_NS_PER_S)
#define WARM_NS ((3600 + 60) * WD_NS_PER_S)

static int64_t num(json_t *o, const char *key) {
  return (int64_t)json_integer_value(json_object_get(o, key));
}

static const char *text(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "?";
}

static int flag(json_t *o, const char *key) {
  return json_is_true(json_object_get(o, key));
}

/* Runs cmd; prints the reply with show() (text) when its status is one of
 * those that carry a model's result, else complains.  Returns the exit
 * status. */
static int run(const struct wc_ctx *ctx, unsigned cmd, const char *model,
               int64_t timeout_ns, void (*show)(json_t *f)) {
  struct wc_reply r;
  int rc = wc_ctl_call(ctx, cmd, model, timeout_ns, &r);
  if (rc != WC_EXIT_OK)
    return rc;
  int printable = r.status == WCTL_OK || r.status == WCTL_WARMUP_FAILED ||
                  r.status == WCTL_SKIPPED;
  if (!printable) {
    wc_ctl_complain(ctx, wctl_cmd_name(cmd), &r);
  } else if (ctx->json) {
    if (wc_json_print(json_incref(r.fields), 0) != 0)
      rc = WC_EXIT_ERROR;
  } else {
    show(r.fields);
  }
  json_decref(r.fields);
  return rc != WC_EXIT_OK ? rc : wc_ctl_exit(r.status);
}

/* ---- status -------------------------------------------------------------- */

static void show_status(json_t *f) {
  char a[WC_FMT_MAX], b[WC_FMT_MAX];
  printf("warmd %s (pid %lld), control protocol %lld, up %s%s\n",
         text(f, "version"), (long long)num(f, "pid"),
         (long long)num(f, "protocol"),
         wc_fmt_dur(a, num(f, "uptime_ms") * WD_NS_PER_MS),
         flag(f, "running") ? "" : ", stopping");
  printf("config    %s\n", text(f, "config"));
  /* an older warmd sends no "reachable" (ctlproto.h): left out then */
  char reach[48] = "";
  if (json_object_get(f, "reachable"))
    snprintf(reach, sizeof reach, "%lld reachable, ",
             (long long)num(f, "reachable"));
  printf("models    %lld: %lld warm, %s%lld failing, %lld idle, %lld paused\n",
         (long long)num(f, "models"), (long long)num(f, "warm"), reach,
         (long long)num(f, "failing"), (long long)num(f, "idle"),
         (long long)num(f, "paused"));
  printf("warmups   %lld sent\n", (long long)num(f, "warmups_sent"));
  printf("reloads   %lld (%lld failed)\n", (long long)num(f, "reloads"),
         (long long)num(f, "reload_failures"));
  int64_t limit = num(f, "budget_limit_nusd");
  wc_fmt_cost(a, (uint64_t)num(f, "budget_spent_nusd"));
  if (limit > 0)
    printf("budget    %s of %s today (UTC)\n", a,
           wc_fmt_cost(b, (uint64_t)limit));
  else
    printf("budget    %s today (UTC), no limit\n", a);
  json_t *fl = json_object_get(f, "fleet");
  const char *st = text(fl, "state");
  if (fl && strcmp(st, "off") != 0) {
    printf("fleet %s via %s: %s, %lld of the fleet's %lld warmups in the "
           "last hour sent by this host (%s), hosts seen %lld\n",
           text(fl, "name"), text(fl, "redis"), st,
           (long long)num(fl, "sent_last_hour"),
           (long long)num(fl, "fleet_sent_last_hour"), text(fl, "host_id"),
           (long long)num(fl, "hosts"));
    const char *e = text(fl, "error");
    if (strcmp(st, "ok") != 0 && e[0] && strcmp(e, "?") != 0)
      printf("          %s\n", e);
  } else if (fl) {
    printf("fleet     off\n");
  }
}

int wc_cmd_status(const struct wc_ctx *ctx, int argc, char **argv) {
  (void)argc, (void)argv;
  return run(ctx, WCTL_CMD_STATUS, NULL, QUICK_NS, show_status);
}

/* ---- warm, pause, resume
 * ----------------------------------------------------- */

static void show_warm(json_t *f) {
  char a[WC_FMT_MAX], b[WC_FMT_MAX], c[WC_FMT_MAX];
  const char *result = text(f, "result");
  wc_fmt_dur(c, num(f, "waited_ms") * WD_NS_PER_MS);
  if (!strcmp(result, "ok") || !strcmp(result, "real_traffic")) {
    printf("%s: %s", text(f, "model"),
           !strcmp(result, "ok") ? "warmed" : "kept warm by real traffic");
    if (flag(f, "warm"))
      printf(", warm for %s",
             wc_fmt_dur(a, num(f, "warm_for_ms") * WD_NS_PER_MS));
    else
      printf(", state %s", text(f, "state"));
    printf(", latency %s (ttfb %s), http %lld, in %s\n",
           wc_fmt_lat(a, (uint32_t)num(f, "last_latency_us")),
           wc_fmt_lat(b, (uint32_t)num(f, "ttfb_us")),
           (long long)num(f, "http_status"), c);
  } else if (!strcmp(result, "failed")) {
    printf("%s: warmup failed: %s, http %lld, %lld failures in a row, "
           "state %s, in %s\n",
           text(f, "model"), text(f, "error_class"),
           (long long)num(f, "http_status"), (long long)num(f, "fails_in_row"),
           text(f, "state"), c);
  } else {
    printf("%s: not sent: %s, state %s\n", text(f, "model"),
           !strcmp(result, "budget") ? "the daily budget is spent" : result,
           text(f, "state"));
  }
}

static void show_paused(json_t *f) {
  printf("%s: %s (state %s)\n", text(f, "model"),
         flag(f, "paused") ? "paused" : "resumed", text(f, "state"));
}

int wc_cmd_warm(const struct wc_ctx *ctx, int argc, char **argv) {
  (void)argc;
  return run(ctx, WCTL_CMD_WARM, argv[0], WARM_NS, show_warm);
}

int wc_cmd_pause(const struct wc_ctx *ctx, int argc, char **argv) {
  (void)argc;
  return run(ctx, WCTL_CMD_PAUSE, argv[0], ACT_NS, show_paused);
}

int wc_cmd_resume(const struct wc_ctx *ctx, int argc, char **argv) {
  (void)argc;
  return run(ctx, WCTL_CMD_RESUME, argv[0], ACT_NS, show_paused);
}

/* ---- reload
 * ------------------------------------------------------------------ */

static void show_reload(json_t *f) {
  printf("reloaded %s: %lld models (reload %lld)\n", text(f, "config"),
         (long long)num(f, "models"), (long long)num(f, "reloads"));
}

int wc_cmd_reload(const struct wc_ctx *ctx, int argc, char **argv) {
  (void)argc, (void)argv;
  return run(ctx, WCTL_CMD_RELOAD, NULL, ACT_NS, show_reload);
}

/* ---- stats
 * -------------------------------------------------------------------- */

static void show_stats(json_t *f) {
  json_t *models = json_object_get(f, "models");
  size_t i, width = 5, swidth = 8; /* swidth: the longest state name */
  json_t *m;
  json_array_foreach(models, i, m) {
    size_t n = strlen(text(m, "model"));
    if (n > width)
      width = n;
    if (json_object_get(m, "state") && strlen(text(m, "state")) > swidth)
      swidth = strlen(text(m, "state"));
  }
  printf("%-*s  %-*s %7s %7s %7s %7s %7s %7s %8s %9s %8s\n", (int)width,
         "MODEL", (int)swidth, "STATE", "OK", "FAILED", "S-REAL", "S-IDLE",
         "S-BUDG", "THROTL", "TOKENS", "COST", "AVG-LAT");
  json_array_foreach(models, i, m) {
    char c[6][WC_FMT_MAX], tok[WC_FMT_MAX], cost[WC_FMT_MAX], lat[WC_FMT_MAX];
    int64_t n = num(m, "latency_count");
    wc_fmt_count(c[0], (uint64_t)num(m, "warmups_ok"));
    wc_fmt_count(c[1], (uint64_t)num(m, "warmups_failed"));
    wc_fmt_count(c[2], (uint64_t)num(m, "skipped_real_traffic"));
    wc_fmt_count(c[3], (uint64_t)num(m, "skipped_idle"));
    wc_fmt_count(c[4], (uint64_t)num(m, "skipped_budget"));
    wc_fmt_count(c[5], (uint64_t)num(m, "throttled"));
    wc_fmt_count(tok, (uint64_t)(num(m, "tokens_in") + num(m, "tokens_out")));
    wc_fmt_cost(cost, (uint64_t)num(m, "cost_nusd"));
    wc_fmt_lat(lat, n ? (uint32_t)(num(m, "latency_sum_us") / n) : 0);
    printf("%-*s  %-*s %7s %7s %7s %7s %7s %7s %8s %9s %8s\n", (int)width,
           text(m, "model"), (int)swidth,
           json_object_get(m, "state") ? text(m, "state") : "-", c[0], c[1],
           c[2], c[3], c[4], c[5], tok, cost, lat);
  }
}

int wc_cmd_stats(const struct wc_ctx *ctx, int argc, char **argv) {
  return run(ctx, WCTL_CMD_STATS, argc ? argv[0] : NULL, QUICK_NS, show_stats);
}
