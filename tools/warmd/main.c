/* main.c - warmd: options, start-up order, the main loop, signals.
 *
 * Start-up runs in a fixed order (log, config, keys, table, publisher,
 * model table, prober) and shut-down in reverse.  The main thread is the
 * scheduler and drives the libcurl multi loop; the publisher thread is the
 * only writer of records and the heartbeat.  Signal handlers only set flags.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "fleetloop.h"
#include "log.h"
#include "online.h"
#include "service.h"
#include "table.h"
#include "warmd.h"

#define DEFAULT_CONFIG SYSCONFDIR "/warmth/warmd.conf"
/* How long a stop waits for warmups in flight before cancelling them. */
#define STOP_GRACE_NS (2 * WD_NS_PER_S)
/* Probe requests carry (epoch << 20 | model index): results of a config a
 * reload replaced are recognised and dropped. */
#define IDX_BITS 20
/* How often the state file is written besides at exit. */
#define STATE_SAVE_NS (60 * WD_NS_PER_S)

static volatile sig_atomic_t g_stop, g_reload;

struct warmd {
  const char *config_path;
  int log_level_forced; /* -v or -q: the config's log_level is not used */
  struct wd_config *cfg;
  char **keys; /* per endpoint of t.cfg; never logged */
  int nkeys;
  struct warmth__w *w;
  struct wd_pub *pub;
  struct wd_table t;
  struct wd_prober *prober;
  struct wd_fleet *fleet; /* NULL without [fleet] */
  struct wd_budget budget;
  int budget_logged;
  uint64_t rng;
  struct wd_hist lateness;
  uint64_t sent, ok, failed;
  struct wd_daemon dm; /* shared with the control and HTTP threads */
  struct wd_control *control;
  struct wd_http *http;
  int64_t next_state_save;
};

static int64_t mono_ns(void) { return warmth__mono_ns(); }

static uint32_t mono_coarse_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint32_t)ts.tv_sec;
}

static int64_t utc_day(void) { return (int64_t)time(NULL) / 86400; }

static void free_keys(char **keys, int n) {
  for (int i = 0; i < n; i++)
    if (keys[i]) {
      explicit_bzero(keys[i], strlen(keys[i]));
      free(keys[i]);
    }
  free(keys);
}

static char **load_keys(const struct wd_config *c, char *err, size_t errlen) {
  char **keys = calloc((size_t)c->nendpoints + 1, sizeof *keys);
  if (!keys)
    return NULL;
  for (int i = 0; i < c->nendpoints; i++) {
    err[0] = 0;
    keys[i] = wd_endpoint_key(&c->endpoints[i], err, errlen);
    if (!keys[i] && err[0]) {
      free_keys(keys, i);
      return NULL;
    }
    if (err[0]) /* a warning, e.g. a key file others can read */
      LOG(LOG_WARNING, "%s", err);
  }
  return keys;
}

/* ---- results and dispatch ----------------------------------------------- */

static void publish(struct warmd *d, struct wd_entry *e, int64_t since) {
  wd_pub_push(d->pub, e->slot, &e->rec, since);
}

static void publish_cb(void *arg, struct wd_entry *e) { publish(arg, e, 0); }

static void wake_cb(void *arg) { wd_prober_wakeup(arg); }

static void on_done(const struct wd_probe_result *r, void *arg) {
  struct warmd *d = arg;
  int64_t now = mono_ns();
  uint32_t idx = r->model & ((1u << IDX_BITS) - 1);
  if ((r->model >> IDX_BITS) != (d->t.epoch & 0xfff) || idx >= d->t.n)
    return; /* a result for a config a reload replaced */
  struct wd_entry *e = d->t.v[idx];
  int old;
  uint32_t old_flags = e->rec.flags;
  int64_t cost = wd_sched_result(e, r, &d->rng, &old);
  wd_fleet_result(d->fleet, e, r, cost, &d->rng, now);
  d->budget.spent_nusd += cost;
  atomic_store(&d->dm.budget_spent_nusd, d->budget.spent_nusd);
  publish(d, e, now);
  wd_heap_fix(&d->t, e);
  if (r->ok)
    d->ok++;
  else
    d->failed++;
  if (!r->ok)
    LOG(LOG_WARNING,
        "model %s: warmup failed: %s (http %d, %s), %u failures "
        "in a row, next in %.1fs",
        e->name, r->error, r->http_status,
        warmth_error_class_name(r->error_class), e->rec.fails_in_row,
        e->due == INT64_MAX ? -1.0 : (double)(e->due - now) / 1e9);
  if (old != e->rec.state) {
    LOG(LOG_INFO, "model %s: %s -> %s (latency %u ms)", e->name,
        warmth_state_name(old), warmth_state_name(e->rec.state),
        r->total_us / 1000);
    wd_event(e, old, r->ok ? "warmup ok" : r->error);
  }
  if ((old_flags ^ e->rec.flags) & WARMTH_F_SLOW) {
    int slow = (e->rec.flags & WARMTH_F_SLOW) != 0;
    LOG(LOG_WARNING, "model %s: %s (EWMA latency %u ms, alert at %lld ms)",
        e->name, slow ? "slow" : "no longer slow",
        e->rec.ewma_latency_us / 1000,
        (long long)(e->m->latency_alert_ns / WD_NS_PER_MS));
    wd_event(e, e->rec.state, slow ? "slow" : "no longer slow"); /* a flag */
  }
}

static void dispatch(struct warmd *d, int64_t now) {
  struct wd_entry *e;
  while ((e = wd_heap_top(&d->t)) && e->due <= now &&
         wd_prober_inflight(d->prober) < d->t.cfg->max_concurrency) {
    enum wd_decision dec = wd_sched_decide(e, &d->budget, now);
    if (dec == WD_SEND &&
        !wd_fleet_gate(d->fleet, e,
                       ((d->t.epoch & 0xfff) << IDX_BITS) | e->model_idx,
                       now)) {
      wd_heap_fix(&d->t, e); /* a fleet claim in flight: back at its due */
      continue;
    }
    if (dec == WD_SEND) {
      struct wd_probe_req req = {
          .model = ((d->t.epoch & 0xfff) << IDX_BITS) | e->model_idx,
          .m = e->m,
          .ep = e->ep,
          .api_key = d->keys[e->m->endpoint],
      };
      int rc = wd_prober_submit(d->prober, &req);
      if (rc == -1)
        break; /* full: the next finished probe makes room */
      wd_hist_add(&d->lateness, now - e->due);
      atomic_fetch_add(&d->dm.warmups_sent, 1);
      if (rc != 0) {
        /* The request cannot be built (bad URL or id): a failure like any
         * other, so it backs off instead of blocking the heap top. */
        struct wd_probe_result r = {.model = req.model,
                                    .error_class = WARMTH_ERR_CONNECT,
                                    .started_ns = now,
                                    .ended_ns = now,
                                    .retry_after_ns = -1,
                                    .headroom_requests = -1,
                                    .limit_requests = -1,
                                    .headroom_tokens = -1,
                                    .limit_tokens = -1,
                                    .reset_requests_ns = -1,
                                    .reset_tokens_ns = -1};
        snprintf(r.error, sizeof r.error, "cannot build the request");
        e->inflight = 1;
        on_done(&r, d);
        continue;
      }
      d->sent++;
      if (wd_sched_sent(e, now))
        publish(d, e, 0);
    } else {
      uint32_t flags = e->rec.flags;
      wd_sched_skip(e, dec, now, &d->rng);
      if (dec == WD_SKIP_BUDGET && !d->budget_logged) {
        d->budget_logged = 1;
        LOG(LOG_NOTICE,
            "daily budget of $%.2f reached: chat warmups stop "
            "until 00:00 UTC (models probes go on)",
            d->t.cfg->budget_per_day);
      }
      if (flags != e->rec.flags)
        publish(d, e, 0);
    }
    wd_heap_fix(&d->t, e);
  }
}

/* [fleet] budget = fleet: the fleet's spend today, as the fleet thread
 * last heard it (with each claim and heartbeat). */
static void fleet_budget(struct warmd *d) {
  int64_t spent = wd_fleet_budget(d->fleet);
  if (spent > d->budget.spent_nusd) {
    d->budget.spent_nusd = spent;
    atomic_store(&d->dm.budget_spent_nusd, spent);
  }
}

/* Once per tick: the day's budget, and what workers told us. */
static void tick(struct warmd *d, int64_t now) {
  int64_t day = utc_day();
  if (day != d->budget.day) {
    d->budget.day = day;
    d->budget.spent_nusd = 0;
    d->budget_logged = 0;
    if (d->fleet)
      atomic_store(&d->fleet->budget_spent_nusd, -1); /* yesterday's */
  }

  uint32_t now_s = mono_coarse_s();
  for (uint32_t i = 0; i < d->t.n; i++) {
    struct wd_entry *e = d->t.v[i];
    struct warmth__demand dm;
    if (warmth__w_demand(d->w, e->slot, &dm) != 0)
      continue;
    int c = wd_sched_demand(e, &dm, now, now_s);
    wd_fleet_real(d->fleet, e, now);
    if (c & 1)
      publish(d, e, 0);
    if (c)
      wd_heap_fix(&d->t, e);
  }
}

/* Returns 0, or -1 with why in err. */
static int reload(struct warmd *d, char *err, size_t errlen) {
  struct wd_config *c;
  if (wd_config_load(d->config_path, &c, err, errlen) != 0) {
    LOG(LOG_ERR, "reload failed, keeping the running config: %s", err);
    return -1;
  }
  if (strcmp(c->shm, d->t.cfg->shm) != 0 || c->tick_ns != d->t.cfg->tick_ns)
    LOG(LOG_WARNING, "reload: shm and tick changes need a restart");
  if (!c->fleet_redis != !d->t.cfg->fleet_redis ||
      (c->fleet_redis && (strcmp(c->fleet_redis, d->t.cfg->fleet_redis) ||
                          strcmp(c->fleet_name, d->t.cfg->fleet_name) ||
                          strcmp(c->fleet_host_id, d->t.cfg->fleet_host_id))))
    LOG(LOG_WARNING, "reload: [fleet] changes need a restart");
  char **keys = load_keys(c, err, errlen);
  if (!keys) {
    LOG(LOG_ERR, "reload failed, keeping the running config: %s", err);
    wd_config_free(c);
    return -1;
  }
  struct wd_reload_summary s;
  if (wd_table_reload(&d->t, c, d->w, d->pub, mono_ns(), &d->rng, &s, err,
                      errlen) != 0) {
    LOG(LOG_ERR, "reload failed, keeping the running config: %s", err);
    free_keys(keys, c->nendpoints);
    wd_config_free(c);
    return -1;
  }
  free_keys(d->keys, d->nkeys);
  wd_fleet_mark(d->fleet, &d->t);
  if (!d->log_level_forced)
    wd_log_set_level(c->log_level);
  d->keys = keys;
  d->nkeys = c->nendpoints;
  d->budget.limit_nusd = (int64_t)(c->budget_per_day * 1e9);
  atomic_store(&d->dm.budget_limit_nusd, d->budget.limit_nusd);
  LOG(LOG_NOTICE, "reloaded %s: %d added, %d removed, %d changed, %d kept",
      d->config_path, s.added, s.removed, s.changed, s.kept);
  return 0;
}

/* Requests from the control socket, in the main thread that owns the
 * entries. */
static void serve_requests(struct warmd *d, int64_t now) {
  struct wd_req *r = wd_daemon_take(&d->dm);
  while (r) {
    struct wd_req *next = r->next;
    struct wd_entry *e = NULL;
    for (uint32_t i = 0; i < d->t.n && !e && r->kind != WD_REQ_RELOAD; i++)
      if (strcmp(d->t.v[i]->name, r->model) == 0)
        e = d->t.v[i];
    int old = e ? e->rec.state : 0;
    switch (r->kind) {
    case WD_REQ_RELOAD:
      g_reload = 1;
      break;
    case WD_REQ_WARM:
      if (e && !e->inflight) {
        e->hold_until = 0;
        e->due = now;
        e->last_touch_ns = now; /* an operator asking counts as demand */
        wd_fleet_force(e, now);
        if (e->rec.state == WARMTH_IDLE)
          e->rec.state = WARMTH_UNKNOWN;
      }
      break;
    case WD_REQ_PAUSE:
      if (e) {
        atomic_store(&e->paused, 1);
        e->rec.flags |= WARMTH_F_PAUSED;
        e->rec.state = WARMTH_DISABLED;
        e->due = INT64_MAX;
      }
      break;
    case WD_REQ_RESUME:
      if (e) {
        atomic_store(&e->paused, 0);
        e->rec.flags &= ~(WARMTH_F_PAUSED | WARMTH_F_KEY_PROBLEM);
        if (e->rec.state == WARMTH_DISABLED)
          e->rec.state = now < e->rec.warm_until ? WARMTH_WARM : WARMTH_UNKNOWN;
        e->hold_until = 0;
        e->due = now;
      }
      break;
    }
    if (e) {
      LOG(LOG_NOTICE, "model %s: %s requested", e->name,
          r->kind == WD_REQ_WARM    ? "warm"
          : r->kind == WD_REQ_PAUSE ? "pause"
                                    : "resume");
      if (old != e->rec.state)
        wd_event(e, old, "operator request");
      publish(d, e, 0);
      wd_heap_fix(&d->t, e);
    }
    free(r);
    r = next;
  }
}

static void save_state(struct warmd *d, int64_t now) {
  if (d->t.cfg->state_file && wd_state_save(d->t.cfg->state_file, &d->t, now))
    LOG(LOG_ERR, "cannot write state file %s", d->t.cfg->state_file);
}

static void run(struct warmd *d) {
  int64_t tick_ns = d->t.cfg->tick_ns;
  int64_t next_tick = 0;
  while (!g_stop) {
    int64_t now = mono_ns();
    serve_requests(d, now);
    wd_fleet_poll(d->fleet, &d->t, now, &d->rng, publish_cb, d);
    fleet_budget(d);
    if (g_reload) {
      g_reload = 0;
      char why[512];
      wd_daemon_reloaded(&d->dm, reload(d, why, sizeof why) ? why : NULL);
    }
    if (now >= d->next_state_save) {
      if (d->next_state_save)
        save_state(d, now);
      d->next_state_save = now + STATE_SAVE_NS;
    }
    if (now >= next_tick) {
      tick(d, now);
      next_tick = now + tick_ns;
    }
    dispatch(d, now);
    int64_t wake = next_tick;
    struct wd_entry *e = wd_heap_top(&d->t);
    if (e && e->due < wake &&
        wd_prober_inflight(d->prober) < d->t.cfg->max_concurrency)
      wake = e->due;
    int64_t wait = wake - mono_ns();
    int ms = wait <= 0 ? 0 : (int)((wait + WD_NS_PER_MS - 1) / WD_NS_PER_MS);
    wd_prober_run(d->prober, ms, on_done, d);
  }
  /* Stop: let warmups in flight finish within a bound, then cancel. */
  int64_t until = mono_ns() + STOP_GRACE_NS;
  while (wd_prober_inflight(d->prober) > 0 && mono_ns() < until)
    wd_prober_run(d->prober, 50, on_done, d);
}

/* ---- start-up ------------------------------------------------------------ */

static int fleet_opts(const struct wd_config *c, struct wd_fleet_opts *o,
                      char **pw, char *err, size_t errlen) {
  char why[512];
  *pw = wd_fleet_password(c, why, sizeof why);
  if (!*pw && why[0]) {
    snprintf(err, errlen, "%s", why);
    return -1;
  }
  if (why[0]) /* a warning, e.g. a password file others can read */
    LOG(LOG_WARNING, "%s", why);
  *o = (struct wd_fleet_opts){.url = c->fleet_redis,
                              .password = *pw,
                              .name = c->fleet_name,
                              .host_id = c->fleet_host_id,
                              .timeout_ns = c->fleet_timeout_ns,
                              .budget_fleet = c->fleet_budget};
  return 0;
}

static void wipe(char *pw) {
  if (pw) {
    explicit_bzero(pw, strlen(pw));
    free(pw);
  }
}

/* [fleet]: the thread connects in the background (degraded until then). */
static int start_fleet(struct warmd *d, char *err, size_t errlen) {
  struct wd_fleet_opts o;
  char *pw;
  if (fleet_opts(d->cfg, &o, &pw, err, errlen) != 0)
    return -1;
  o.wake = wake_cb;
  o.wake_arg = d->prober;
  int rc = wd_fleet_start(&d->fleet, &o, err, errlen);
  wipe(pw);
  return rc;
}

static int check_fleet(const struct wd_config *c, FILE *out) {
  struct wd_fleet_opts o;
  char *pw, err[512];
  if (fleet_opts(c, &o, &pw, err, sizeof err) != 0) {
    fprintf(out, "fleet %s: %s\n", c->fleet_name, err);
    return -1;
  }
  int rc = wd_fleet_check_online(&o, out);
  wipe(pw);
  return rc;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: warmd [-f] [-c FILE] [-p PIDFILE] [-v | -q]\n"
          "       warmd --check-config [--online] [-c FILE]\n"
          "Keeps LLM models warm for every worker on this host.\n\n"
          "  -c, --config FILE    config file (default %s)\n"
          "  -f, --foreground     stay in the foreground, log to stderr\n"
          "  -p, --pidfile FILE   write the pid here (overrides [warmd] "
          "pidfile)\n"
          "  -v, --verbose        log debug messages too\n"
          "  -q, --quiet          log warnings and errors only\n"
          "      --check-config   validate the config and exit: 0 valid, 2 "
          "invalid\n"
          "      --online         with --check-config: also check each "
          "endpoint's key\n"
          "                       and that the provider has every model\n"
          "  -h, --help           this help\n"
          "  -V, --version        print the version\n",
          DEFAULT_CONFIG);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"foreground", no_argument, NULL, 'f'},
      {"pidfile", required_argument, NULL, 'p'},
      {"verbose", no_argument, NULL, 'v'},
      {"quiet", no_argument, NULL, 'q'},
      {"check-config", no_argument, NULL, 'C'},
      {"online", no_argument, NULL, 'O'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0}};
  /* Static: the coordinator lives as long as the process, and whatever it
   * holds stays reachable on the early exits of a failed start (where
   * freeing piece by piece would only add code); the normal exit frees it
   * all, so valgrind and LeakSanitizer see no leak either way. */
  static struct warmd d;
  static char *config_abs, *pidfile_abs;
  d.config_path = DEFAULT_CONFIG;
  const char *pidfile = NULL;
  int foreground = 0, verbose = 0, quiet = 0, check = 0, online = 0, c;
  while ((c = getopt_long(argc, argv, "c:fp:vqhV", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      d.config_path = optarg;
      break;
    case 'f':
      foreground = 1;
      break;
    case 'p':
      pidfile = optarg;
      break;
    case 'v':
      verbose = 1;
      break;
    case 'q':
      quiet = 1;
      break;
    case 'C':
      check = 1;
      break;
    case 'O':
      online = 1;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case 'V':
      printf("warmd %s\n", PACKAGE_VERSION);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (optind != argc || (online && !check) || (verbose && quiet)) {
    usage(stderr);
    return 2;
  }

  char err[1024];
  /* Absolute, so a reload after the chdir("/") of detaching still finds
   * the file (and relative paths in it keep their meaning). */
  const char *config_arg = d.config_path;
  config_abs = wd_abspath(d.config_path);
  if (config_abs)
    d.config_path = config_abs;
  if (wd_config_load(d.config_path, &d.cfg, err, sizeof err) != 0) {
    fprintf(stderr, "warmd: %s\n", err);
    return 2;
  }
  if (check) {
    int rc = 0;
    printf("%s: ok (%d models, %d endpoints)\n", config_arg, d.cfg->nmodels,
           d.cfg->nendpoints);
    if (online)
      rc = wd_check_online(d.cfg, stdout);
    if (online && d.cfg->fleet_redis && check_fleet(d.cfg, stdout) != 0)
      rc = 1;
    wd_config_free(d.cfg);
    free(config_abs);
    return rc ? 2 : 0;
  }

  d.log_level_forced = verbose || quiet;
  int level = verbose ? LOG_DEBUG : quiet ? LOG_WARNING : d.cfg->log_level;
  wd_log_open(!foreground, level);
  d.keys = load_keys(d.cfg, err, sizeof err);
  if (!d.keys) {
    fprintf(stderr, "warmd: %s\n", err);
    wd_config_free(d.cfg);
    return 2;
  }
  d.nkeys = d.cfg->nendpoints;
  pidfile_abs = wd_abspath(pidfile ? pidfile : d.cfg->pidfile);
  /* Before any thread starts: fork keeps only the calling one. */
  if (!foreground && wd_service_detach() != 0) {
    fprintf(stderr, "warmd: cannot daemonize: %s\n", strerror(errno));
    return 1;
  }
  if (pidfile_abs && wd_pidfile_claim(pidfile_abs, err, sizeof err) != 0) {
    LOG(LOG_ERR, "%s", err);
    return 1;
  }
  wd_signals_install(&g_stop, &g_reload);

  struct warmth__w_opts wo = {.capacity = d.cfg->capacity,
                              .mode = 0640,
                              .demand_mode = 0660,
                              .group = (gid_t)-1,
                              .stale_after_ns = d.cfg->stale_after_ns};
  if (d.cfg->group) {
    struct group *g = getgrnam(d.cfg->group);
    if (!g) {
      LOG(LOG_ERR, "group %s does not exist", d.cfg->group);
      return 1;
    }
    wo.group = g->gr_gid;
  }
  /* Everything slow comes before the table opens: a segment that replaces
   * another goes live at wd_table_init()'s first publication (readers stay
   * on the old one until then), and the old one's readers wait for it. */
  rcu_register_thread();
  wd_probe_global_init();
  int rc = warmth__w_open(&d.w, d.cfg->shm, &wo, err, sizeof err);
  if (rc != 0) {
    LOG(LOG_ERR, "%s", err[0] ? err : warmth_strerror(rc));
    return 1;
  }
  if (getrandom(&d.rng, sizeof d.rng, 0) != sizeof d.rng)
    d.rng = (uint64_t)mono_ns() ^ (uint64_t)getpid();
  d.budget.limit_nusd = (int64_t)(d.cfg->budget_per_day * 1e9);
  d.budget.day = utc_day();

  if (wd_pub_start(&d.pub, d.w, d.cfg->tick_ns) != 0 ||
      wd_table_init(&d.t, d.cfg, d.w, d.pub, mono_ns(), &d.rng, err,
                    sizeof err) != 0 ||
      wd_prober_new(&d.prober, d.cfg->max_concurrency) != 0) {
    LOG(LOG_ERR, "start-up failed: %s", err);
    return 1;
  }
  d.dm.config_path = d.config_path;
  d.dm.started_mono_ns = mono_ns();
  d.dm.started_real_ns = (int64_t)time(NULL) * WD_NS_PER_S;
  d.dm.t = &d.t;
  d.dm.prober = d.prober;
  if (d.cfg->fleet_redis && start_fleet(&d, err, sizeof err) != 0) {
    LOG(LOG_ERR, "%s", err);
    return 1;
  }
  d.dm.fleet = d.fleet;
  wd_fleet_mark(d.fleet, &d.t);
  atomic_store(&d.dm.budget_limit_nusd, d.budget.limit_nusd);
  pthread_mutex_init(&d.dm.req_mu, NULL);
  if (warmth_open(&d.dm.reader, d.cfg->shm, WARMTH_OPEN_LAZY) != 0) {
    LOG(LOG_ERR, "cannot read back our own table %s", d.cfg->shm);
    return 1;
  }
  if (d.cfg->state_file) {
    wd_state_load(d.cfg->state_file, &d.t, mono_ns());
    for (uint32_t i = 0; i < d.t.n; i++) /* restored counters: visible */
      publish(&d, d.t.v[i], 0);
  }
  if (wd_events_open(d.cfg->event_log) != 0)
    return 1;
  if (d.cfg->control_socket && d.cfg->control_socket[0] &&
      wd_control_start(&d.control, &d.dm, d.cfg->control_socket, d.cfg->group,
                       err, sizeof err) != 0)
    LOG(LOG_WARNING, "no control socket: %s", err);
  if (d.cfg->http_listen && d.cfg->http_listen[0] &&
      wd_http_start(&d.http, &d.dm, d.cfg->http_listen, err, sizeof err) != 0) {
    LOG(LOG_ERR, "cannot serve health and metrics: %s", err);
    return 1;
  }
  atomic_store(&d.dm.running, 1);
  wd_service_ready();
  LOG(LOG_NOTICE, "warmd %s started: %s, %u models, table %s (%s), pid %d",
      PACKAGE_VERSION, d.config_path, d.t.n, d.cfg->shm,
      warmth__w_adopted(d.w) ? "adopted" : "new", (int)getpid());

  run(&d);

  atomic_store(&d.dm.running, 0);
  wd_control_stop(d.control);
  wd_http_stop(d.http);
  save_state(&d, mono_ns());
  wd_events_close();
  wd_fleet_stop(d.fleet); /* before the prober its wake-ups go to */
  for (struct wd_req *r = wd_daemon_take(&d.dm), *next; r; r = next) {
    next = r->next; /* requests that came too late: dropped */
    free(r);
  }
  wd_prober_free(d.prober);
  struct wd_hist vis;
  wd_pub_visibility(d.pub, &vis);
  wd_pub_stop(d.pub);
  /* One line with the figures bench-warmd reads. */
  LOG(LOG_NOTICE,
      "stopping: %llu warmups sent, %llu ok, %llu failed; lateness "
      "p50=%lldus p99=%lldus max=%lldus; visibility p50=%lldus p99=%lldus "
      "max=%lldus",
      (unsigned long long)d.sent, (unsigned long long)d.ok,
      (unsigned long long)d.failed,
      (long long)wd_hist_quantile(&d.lateness, 0.5) / 1000,
      (long long)wd_hist_quantile(&d.lateness, 0.99) / 1000,
      (long long)d.lateness.max / 1000,
      (long long)wd_hist_quantile(&vis, 0.5) / 1000,
      (long long)wd_hist_quantile(&vis, 0.99) / 1000,
      (long long)vis.max / 1000);
  warmth_close(d.dm.reader);
  warmth__w_close(d.w, 0);
  wd_table_free(&d.t);
  wd_probe_global_cleanup();
  free_keys(d.keys, d.nkeys);
  rcu_unregister_thread();
  free(pidfile_abs);
  free(config_abs);
  return 0; /* the pidfile goes at exit (service.c) */
}
