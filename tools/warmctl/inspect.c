/* inspect.c - list, show, watch, check: read the table through libwarmth.
 *
 * These commands map the segment read-only and never talk to warmd, so they
 * answer while the coordinator is down; its liveness is read from the
 * header (heartbeat, retired flag) and shown, and a stale or retired
 * coordinator makes the exit status 3 so a probe cannot mistake old warmth
 * for current warmth.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "warmctl.h"

/* ---- opening and snapshots ---------------------------------------------- */

/* "warmctl: /warmth: no such segment (is warmd running?)" */
static void report(const struct wc_ctx *ctx, const char *what, int err) {
  int e = errno;
  if (err == WARMTH_ESYS)
    fprintf(stderr, "%s: %s: %s: %s\n", ctx->prog, what, warmth_strerror(err),
            strerror(e));
  else
    fprintf(stderr, "%s: %s: %s\n", ctx->prog, what, warmth_strerror(err));
}

/* Not lazy: a missing segment is an answer (exit 2), not something to wait
 * for.  The handle still follows a coordinator that replaces the segment,
 * which matters for watch. */
warmth_t *wc_open_table(const struct wc_ctx *ctx) {
  /* warmth_open says WARMTH_EINVAL both for a bad name and for a
   * $WARMTH_OWNER that names no user: tell the two apart for the user. */
  const char *sh = ctx->shm;
  if (sh[0] != '/' || !sh[1] || strchr(sh + 1, '/')) {
    fprintf(stderr, "%s: %s: bad segment name (want /name, no other slash)\n",
            ctx->prog, sh);
    return NULL;
  }
  warmth_t *h = NULL;
  int rc = warmth_open(&h, sh, 0);
  if (rc == WARMTH_EINVAL && getenv("WARMTH_OWNER")) {
    fprintf(stderr, "%s: %s: %s (is $WARMTH_OWNER '%s' a user?)\n", ctx->prog,
            sh, warmth_strerror(rc), getenv("WARMTH_OWNER"));
    return NULL;
  }
  if (rc) {
    report(ctx, ctx->shm, rc);
    return NULL;
  }
  return h;
}

int wc_snap_take(const struct wc_ctx *ctx, warmth_t *h, struct wc_snap *s) {
  memset(s, 0, sizeof *s);
  s->shm = ctx->shm;
  s->st.size = sizeof s->st;
  int rc = warmth_status(h, &s->st);
  if (rc) {
    report(ctx, ctx->shm, rc);
    return WC_EXIT_ERROR;
  }
  s->now = wd_mono_ns();
  /* st.stale also covers "retired"; the header names the two apart. */
  s->hb_stale = s->st.heartbeat_age_ns > s->st.stale_after_ns;
  return s->st.stale ? WC_EXIT_STALE : WC_EXIT_OK;
}

/* Says on stderr why the status will be 3, for scripts that only keep
 * stderr; stdout already shows it (header, "warm: no (...)"). */
void wc_stale_note(const struct wc_ctx *ctx, const struct wc_snap *s) {
  if (!s->st.stale)
    return;
  char age[WC_FMT_MAX];
  if (s->st.retired)
    fprintf(stderr, "%s: %s: %s\n", ctx->prog, ctx->shm,
            warmth_strerror(WARMTH_ERETIRED));
  else
    fprintf(stderr, "%s: %s: %s (last heartbeat %s ago, pid %d)\n", ctx->prog,
            ctx->shm, warmth_strerror(WARMTH_ESTALE),
            wc_fmt_dur(age, s->st.heartbeat_age_ns), (int)s->st.pid);
}

static int collect(const struct warmth_model_info *info, void *arg) {
  struct wc_rows *r = arg;
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 64;
    void *v = realloc(r->v, cap * sizeof *r->v);
    if (!v) {
      r->oom = 1;
      return 1;
    }
    r->v = v;
    r->cap = cap;
  }
  r->v[r->n++] = *info;
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const struct warmth_model_info *)a)->name,
                ((const struct warmth_model_info *)b)->name);
}

int wc_rows_read(const struct wc_ctx *ctx, warmth_t *h, struct wc_rows *r) {
  memset(r, 0, sizeof *r);
  int rc = warmth_foreach(h, collect, r);
  if (rc < 0 || r->oom) {
    report(ctx, ctx->shm, rc < 0 ? rc : WARMTH_ENOMEM);
    free(r->v);
    r->v = NULL;
    return WC_EXIT_ERROR;
  }
  if (r->n)
    qsort(r->v, r->n, sizeof *r->v, by_name);
  return WC_EXIT_OK;
}

/* ---- list ------------------------------------------------------------------
 */

static void print_header(const struct wc_snap *s) {
  char age[WC_FMT_MAX];
  printf("shm %s  coordinator pid %d  heartbeat %s ago  models %u/%u", s->shm,
         (int)s->st.pid, wc_fmt_dur(age, s->st.heartbeat_age_ns), s->st.models,
         s->st.capacity);
  if (s->hb_stale)
    printf("  STALE");
  if (s->st.retired)
    printf(s->st.retired == 2 ? "  RETIRED (superseded)" : "  RETIRED");
  putchar('\n');
}

enum {
  C_MODEL,
  C_STATE,
  C_WARM,
  C_LAST,
  C_EWMA,
  C_OK,
  C_FAILS,
  C_HTTP,
  C_TOKENS,
  C_COST,
  C_FLAGS,
  NCOL
};
static const char *const col_name[NCOL] = {
    "MODEL", "STATE", "WARM FOR", "LAST", "EWMA", "OK",
    "FAILS", "HTTP",  "TOKENS",   "COST", "FLAGS"};
/* Numbers align right, words left. */
static const int col_right[NCOL] = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0};

#define CELL_MAX (2 * WC_FMT_MAX + WARMTH_NAME_MAX)
typedef char row_cells[NCOL][CELL_MAX];

static void fill_cells(const struct wc_snap *s,
                       const struct warmth_model_info *m, row_cells c) {
  char a[WC_FMT_MAX], b[WC_FMT_MAX];
  snprintf(c[C_MODEL], CELL_MAX, "%s", m->name);
  snprintf(c[C_STATE], CELL_MAX, "%s", warmth_state_name(m->state));
  wc_fmt_dur(c[C_WARM], wc_warm_now(s, m) ? m->warm_until - s->now : -1);
  wc_fmt_lat(c[C_LAST], m->last_latency_us);
  wc_fmt_lat(c[C_EWMA], m->ewma_latency_us);
  wc_fmt_count(c[C_OK], m->successes);
  snprintf(c[C_FAILS], CELL_MAX, "%u", m->fails_in_row);
  if (m->http_status)
    snprintf(c[C_HTTP], CELL_MAX, "%u", m->http_status);
  else
    strcpy(c[C_HTTP], "-");
  snprintf(c[C_TOKENS], CELL_MAX, "%s+%s", wc_fmt_count(a, m->tokens_in),
           wc_fmt_count(b, m->tokens_out));
  wc_fmt_cost(c[C_COST], m->cost_nusd);
  wc_fmt_flags(c[C_FLAGS], m->flags);
}

static void print_row(row_cells c, const int *w) {
  for (int i = 0; i < NCOL; i++) {
    int last = i == NCOL - 1;
    if (col_right[i])
      printf("%*s", w[i], c[i]);
    else
      printf("%-*s", last ? 0 : w[i], c[i]); /* no trailing blanks */
    fputs(last ? "\n" : "  ", stdout);
  }
}

static int print_table(const struct wc_snap *s, const struct wc_rows *r) {
  row_cells *cells = calloc(r->n + 1, sizeof *cells);
  if (!cells)
    return -1;
  int w[NCOL];
  for (int i = 0; i < NCOL; i++) {
    snprintf(cells[0][i], CELL_MAX, "%s", col_name[i]);
    w[i] = (int)strlen(col_name[i]);
  }
  for (size_t k = 0; k < r->n; k++) {
    fill_cells(s, &r->v[k], cells[k + 1]);
    for (int i = 0; i < NCOL; i++) {
      int l = (int)strlen(cells[k + 1][i]);
      if (l > w[i])
        w[i] = l;
    }
  }
  for (size_t k = 0; k <= r->n; k++)
    print_row(cells[k], w);
  free(cells);
  return 0;
}

/* One reading of the whole table, as text or JSON.  Returns the exit
 * status it implies: 0, 2 (could not read) or 3 (stale / retired). */
static int frame(const struct wc_ctx *ctx, warmth_t *h, int compact,
                 struct wc_snap *sp) {
  struct wc_snap s;
  int rc = wc_snap_take(ctx, h, &s);
  *sp = s;
  if (rc == WC_EXIT_ERROR)
    return rc;
  struct wc_rows r;
  if (wc_rows_read(ctx, h, &r) != WC_EXIT_OK)
    return WC_EXIT_ERROR;
  int bad;
  if (ctx->json) {
    json_t *o = json_object(), *a = json_array();
    if (o && a)
      for (size_t k = 0; k < r.n; k++)
        json_array_append_new(a, wc_json_model(&s, &r.v[k]));
    if (o) {
      json_object_set_new(o, "coordinator", wc_json_coordinator(&s));
      if (a)
        json_object_set_new(o, "models", a);
    }
    bad = !a || wc_json_print(o, compact) != 0;
  } else {
    print_header(&s);
    bad = print_table(&s, &r) != 0;
  }
  free(r.v);
  if (bad) {
    report(ctx, "output", WARMTH_ENOMEM);
    return WC_EXIT_ERROR;
  }
  return rc;
}

int wc_cmd_list(const struct wc_ctx *ctx, int argc, char **argv) {
  warmth_t *h = wc_open_table(ctx);
  if (!h)
    return WC_EXIT_ERROR;
  struct wc_snap s;
  int rc = frame(ctx, h, 0, &s);
  if (rc == WC_EXIT_STALE)
    wc_stale_note(ctx, &s);
  warmth_close(h);
  return rc;
}

/* ---- watch -----------------------------------------------------------------
 */

static volatile sig_atomic_t stop_watch;

static void on_stop(int sig) { stop_watch = sig; }

/* Sleeps ns, returning early when SIGINT or SIGTERM arrives (the handler is
 * installed without SA_RESTART, so nanosleep returns EINTR). */
static void nap(int64_t ns) {
  struct timespec ts = {(time_t)(ns / WD_NS_PER_S), (long)(ns % WD_NS_PER_S)};
  while (!stop_watch && nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

int wc_cmd_watch(const struct wc_ctx *ctx, int argc, char **argv) {
  warmth_t *h = wc_open_table(ctx);
  if (!h)
    return WC_EXIT_ERROR;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  /* Clear the screen only for a person: into a pipe or file, frames follow
   * each other (text separated by a blank line, JSON one per line). */
  int tty = !ctx->json && isatty(STDOUT_FILENO);
  char every[WC_FMT_MAX];
  wc_fmt_dur(every, ctx->interval_ns);
  int rc = WC_EXIT_OK;
  for (long n = 1; !stop_watch; n++) {
    if (tty)
      printf("\033[H\033[2J"
             "every %s, refresh %ld (Ctrl-C to stop)\n\n",
             every, n);
    else if (n > 1 && !ctx->json)
      putchar('\n');
    struct wc_snap s;
    rc = frame(ctx, h, 1, &s);
    if (fflush(stdout) != 0)
      break; /* reader gone; main() reports the write error */
    if (ctx->count && n >= ctx->count)
      break;
    nap(ctx->interval_ns);
  }
  warmth_close(h);
  return rc;
}

/* ---- show ------------------------------------------------------------------
 */

static void print_flag(const char *name, void *arg) {
  int *first = arg;
  printf("%s%s", *first ? "" : " ", name);
  *first = 0;
}

/* Why nothing in this table can be warm, or NULL when the coordinator is
 * live. */
static const char *dead_why(const struct wc_snap *s) {
  if (s->st.retired)
    return "segment retired";
  return s->hb_stale ? "coordinator stale" : NULL;
}

static void show_text(const struct wc_snap *s,
                      const struct warmth_model_info *m) {
  char a[WC_FMT_MAX];
  int64_t now = s->now;
#define KV(key, ...)                                                           \
  do {                                                                         \
    printf("%-20s", key ":");                                                  \
    printf(__VA_ARGS__);                                                       \
    putchar('\n');                                                             \
  } while (0)
  KV("name", "%s", m->name);
  KV("state", "%s", warmth_state_name(m->state));
  if (wc_warm_now(s, m))
    KV("warm", "yes, for %s", wc_fmt_dur(a, m->warm_until - now));
  else if (dead_why(s))
    KV("warm", "no (%s)", dead_why(s));
  else
    KV("warm", "%s", m->state == WARMTH_WARM ? "no (expired)" : "no");
  KV("warm_until", "%s", wc_fmt_when(a, m->warm_until, now));
  KV("last_probe", "%s", wc_fmt_when(a, m->last_probe, now));
  KV("last_ok", "%s", wc_fmt_when(a, m->last_ok, now));
  KV("retry_after", "%s",
     m->retry_after_until > now ? wc_fmt_when(a, m->retry_after_until, now)
                                : "-");
  KV("successes", "%llu", (unsigned long long)m->successes);
  KV("failures", "%llu", (unsigned long long)m->failures);
  KV("fails_in_row", "%u", m->fails_in_row);
  KV("http_status", "%u", m->http_status);
  KV("error_class", "%s", warmth_error_class_name(m->error_class));
  KV("last_latency", "%s", wc_fmt_lat(a, m->last_latency_us));
  KV("  dns", "%s", wc_fmt_lat(a, m->dns_us));
  KV("  connect", "%s", wc_fmt_lat(a, m->connect_us));
  KV("  tls", "%s", wc_fmt_lat(a, m->tls_us));
  KV("  ttfb", "%s", wc_fmt_lat(a, m->ttfb_us));
  KV("ewma_latency", "%s", wc_fmt_lat(a, m->ewma_latency_us));
  KV("tokens_in", "%llu", (unsigned long long)m->tokens_in);
  KV("tokens_out", "%llu", (unsigned long long)m->tokens_out);
  KV("tokens_cached", "%llu", (unsigned long long)m->tokens_cached);
  KV("cost", "%s (%llu nUSD)", wc_fmt_cost(a, m->cost_nusd),
     (unsigned long long)m->cost_nusd);
  printf("%-20s", "flags:");
  int first = 1;
  wc_each_flag(m->flags, print_flag, &first);
  puts(first ? "none" : "");
  /* ~0u: the provider sent no rate-limit header for it. */
  if (m->headroom_requests == UINT32_MAX)
    KV("headroom_requests", "-");
  else
    KV("headroom_requests", "%u", m->headroom_requests);
  if (m->headroom_tokens == UINT32_MAX)
    KV("headroom_tokens", "-");
  else
    KV("headroom_tokens", "%u", m->headroom_tokens);
  KV("endpoint", "%u", m->endpoint);
  KV("slot", "%u", m->slot);
  KV("generation", "%llu", (unsigned long long)m->generation);
#undef KV
}

/* Looks one model up.  Returns 0, or the exit status of the failure after
 * saying what it was (not found: 1; anything else: 2). */
static int lookup(const struct wc_ctx *ctx, warmth_t *h, const char *model,
                  struct warmth_model_info *m, int quiet_notfound) {
  memset(m, 0, sizeof *m);
  m->size = sizeof *m;
  int rc = warmth_lookup(h, model, m);
  if (rc == 0)
    return WC_EXIT_OK;
  if (rc == WARMTH_ENOTFOUND && quiet_notfound)
    return WC_EXIT_NOTWARM;
  report(ctx, model, rc);
  return rc == WARMTH_ENOTFOUND ? WC_EXIT_NOTWARM : WC_EXIT_ERROR;
}

int wc_cmd_show(const struct wc_ctx *ctx, int argc, char **argv) {
  warmth_t *h = wc_open_table(ctx);
  if (!h)
    return WC_EXIT_ERROR;
  struct wc_snap s;
  int rc = wc_snap_take(ctx, h, &s);
  struct warmth_model_info m;
  int lrc = rc == WC_EXIT_ERROR ? rc : lookup(ctx, h, argv[0], &m, 0);
  if (lrc == WC_EXIT_OK) {
    if (ctx->json) {
      if (wc_json_print(wc_json_model(&s, &m), 0) != 0) {
        report(ctx, "output", WARMTH_ENOMEM);
        lrc = WC_EXIT_ERROR;
      }
    } else {
      show_text(&s, &m);
    }
  }
  if (rc == WC_EXIT_STALE)
    wc_stale_note(ctx, &s);
  warmth_close(h);
  return wc_worst(rc, lrc);
}

/* ---- check -----------------------------------------------------------------
 */

int wc_cmd_check(const struct wc_ctx *ctx, int argc, char **argv) {
  warmth_t *h = wc_open_table(ctx);
  if (!h)
    return WC_EXIT_ERROR;
  struct wc_snap s;
  int rc = wc_snap_take(ctx, h, &s);
  if (rc == WC_EXIT_ERROR) {
    warmth_close(h);
    return rc;
  }
  int result = WC_EXIT_OK;
  json_t *all = ctx->json ? json_object() : NULL;
  json_t *models = ctx->json ? json_object() : NULL;
  int width = 0;
  for (int i = 0; i < argc; i++)
    if ((int)strlen(argv[i]) > width)
      width = (int)strlen(argv[i]);
  for (int i = 0; i < argc; i++) {
    struct warmth_model_info m;
    int lrc = lookup(ctx, h, argv[i], &m, 1);
    /* The verdict comes from warmth_is_warm, the very call workers make;
     * the lookup above only adds the state and time left for people. */
    int warm = lrc == WC_EXIT_OK ? warmth_is_warm(h, argv[i]) : 0;
    if (warm < 0 && warm != WARMTH_ENOTFOUND) {
      report(ctx, argv[i], warm);
      lrc = WC_EXIT_ERROR;
    }
    warm = warm > 0;
    result = wc_worst(result, lrc != WC_EXIT_OK ? lrc
                              : warm            ? WC_EXIT_OK
                                                : WC_EXIT_NOTWARM);
    if (lrc == WC_EXIT_ERROR)
      continue;
    char a[WC_FMT_MAX];
    const char *state = lrc == WC_EXIT_OK ? warmth_state_name(m.state) : NULL;
    int64_t left = warm ? m.warm_until - s.now : 0;
    if (ctx->json && models) {
      json_t *o = json_object();
      if (o) {
        json_object_set_new(o, "warm", json_boolean(warm));
        json_object_set_new(o, "state",
                            state ? json_string(state) : json_null());
        json_object_set_new(o, "warm_for_ms",
                            json_integer(left / WD_NS_PER_MS));
        if (!state)
          json_object_set_new(o, "error",
                              json_string(warmth_strerror(WARMTH_ENOTFOUND)));
      }
      json_object_set_new(models, argv[i], o);
    } else if (!ctx->json) {
      if (!state)
        printf("%-*s  not found\n", width, argv[i]);
      else if (warm)
        printf("%-*s  warm      for %s\n", width, argv[i], wc_fmt_dur(a, left));
      else if (dead_why(&s))
        printf("%-*s  not warm  %s (%s)\n", width, argv[i], state,
               dead_why(&s));
      else
        printf("%-*s  not warm  %s\n", width, argv[i], state);
    }
  }
  result = wc_worst(result, rc);
  /* A bad argument leaves nothing a script should parse: stdout stays
   * empty and stderr says why. */
  if (ctx->json && result != WC_EXIT_ERROR) {
    if (all && models) {
      json_object_set_new(all, "models", models);
      json_object_set_new(all, "ok", json_boolean(result == WC_EXIT_OK));
      json_object_set_new(all, "coordinator", wc_json_coordinator(&s));
      models = NULL;
    } else {
      json_decref(all);
      all = NULL;
    }
    if (wc_json_print(all, 0) != 0) {
      report(ctx, "output", WARMTH_ENOMEM);
      result = WC_EXIT_ERROR;
    }
    all = NULL;
  }
  json_decref(all);
  json_decref(models);
  wc_stale_note(ctx, &s);
  warmth_close(h);
  return result;
}
