/* main.c - warmd: options, start-up order, shut-down, signals.
 *
 * As chrony's main.c: options, then the log, then the config, then each
 * part in a fixed order (keys, detach, pidfile, signals, table, publisher,
 * model table, prober, state, event log, control socket, HTTP), one main
 * loop (loop.c), then shut-down in reverse.  Signal handlers only set
 * flags.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "daemon.h"
#include "events.h"
#include "fleetloop.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "online.h"
#include "reply.h"
#include "service.h"
#include "state.h"
#include "table.h"
#include "warmd.h"
#include "window.h"

#define DEFAULT_CONFIG SYSCONFDIR "/warmth/warmd.conf"

static volatile sig_atomic_t g_stop, g_reload;

/* ---- fleet mode ([fleet], fleet.h) --------------------------------------- */

static void wipe(char *pw) {
  if (pw) {
    explicit_bzero(pw, strlen(pw));
    free(pw);
  }
}

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
  /* Redacted like a key from every log line and stored text from now on
   * (a proxy in front of Redis may quote it in an error); kept, not part
   * of the set a reload replaces, since the fleet keeps it until exit. */
  if (wd_redact_keep(*pw) != 0) {
    wipe(*pw);
    *pw = NULL;
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  *o = (struct wd_fleet_opts){.url = c->fleet_redis,
                              .password = *pw,
                              .name = c->fleet_name,
                              .host_id = c->fleet_host_id,
                              .timeout_ns = c->fleet_timeout_ns,
                              .budget_fleet = c->fleet_budget};
  return 0;
}

static void wake_cb(void *arg) { wd_prober_wakeup(arg); }

/* The thread connects in the background (degraded until then). */
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

/* --check-config prints on stderr the warnings warmd would log. */
static void check_warning(void *arg, const char *msg) {
  ++*(int *)arg;
  fprintf(stderr, "warmd: %s\n", msg);
}

/* ---- start-up failures ------------------------------------------------- */

/* Logs "start-up failed: STEP: why" and returns main's exit status.  Every
 * failed step names itself and carries a reason (issue 12, item 15: the
 * publisher and the prober used to fail with an empty one); a step that
 * has none to give says so rather than print nothing. */
static int startup_failed(const char *step, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int startup_failed(const char *step, const char *fmt, ...) {
  char why[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  LOG(LOG_ERR, "start-up failed: %s: %s", step,
      why[0] ? why : "no reason given (a bug: please report it)");
  return 1;
}

/* errno as text, or `fallback` when the failed call left none. */
static const char *errno_or(int e, const char *fallback) {
  return e ? strerror(e) : fallback;
}

/* The state file is written beside itself (a temporary file renamed over
 * it): a directory where that cannot happen would lose every save, each
 * with an error at a time nobody watches, so it fails the start instead. */
static int state_dir_ok(const char *path, char *err, size_t errlen) {
  size_t n = strlen(path) + sizeof ".XXXXXX";
  char *tmp = malloc(n);
  if (!tmp)
    return snprintf(err, errlen, "out of memory"), -1;
  snprintf(tmp, n, "%s.XXXXXX", path);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "%s: cannot create a file beside it: %s", path,
             strerror(errno));
    free(tmp);
    return -1;
  }
  close(fd);
  unlink(tmp);
  free(tmp);
  return 0;
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

/* A bad command line: one line that says what, one that says where to
 * look (as warmctl), exit 2; never the whole usage on stderr. */
static int bad_usage(const char *fmt, const char *arg) {
  fputs("warmd: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs("\nTry 'warmd --help'.\n", stderr);
  return 2;
}

/* getopt_long's '?' (opterr off): an unknown option, or a value given to
 * a long option that takes none (--check-config=yes: optopt is its val).
 * A long option always moved optind past itself; a short one may stand in
 * a group (-fx), so it is named by optopt. */
static int bad_option(const struct option *opts, char **argv) {
  const char *a = optind > 0 ? argv[optind - 1] : "";
  if (strncmp(a, "--", 2) == 0) {
    size_t n = strcspn(a + 2, "=");
    for (const struct option *o = opts; optopt && o->name; o++)
      if (o->val == optopt && strncmp(o->name, a + 2, n) == 0) {
        char name[64];
        snprintf(name, sizeof name, "--%s", o->name);
        return bad_usage("option '%s' takes no argument", name);
      }
    if (!optopt)
      return bad_usage("unknown option '%s'", a);
  }
  char shortopt[3] = {'-', (char)optopt, 0};
  return bad_usage("unknown option '%s'", shortopt);
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
  wd_tz_init(); /* before any thread: window.h */
  d.config_path = DEFAULT_CONFIG;
  const char *pidfile = NULL;
  int foreground = 0, verbose = 0, quiet = 0, check = 0, online = 0, c;
  opterr = 0; /* our own messages (bad_usage) */
  while ((c = getopt_long(argc, argv, ":c:fp:vqhV", opts, NULL)) != -1) {
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
    case ':': {
      char shortopt[3] = {'-', (char)optopt, 0}; /* -fc: name the c */
      return bad_usage("option '%s' needs an argument",
                       strncmp(argv[optind - 1], "--", 2) == 0
                           ? argv[optind - 1]
                           : shortopt);
    }
    default:
      return bad_option(opts, argv);
    }
  }
  if (!*d.config_path || (pidfile && !*pidfile))
    return bad_usage("%s", !*d.config_path ? "--config needs a file name"
                                           : "--pidfile needs a file name");
  if (optind != argc)
    return bad_usage("unexpected argument '%s' (a config file goes after -c)",
                     argv[optind]);
  if (online && !check)
    return bad_usage("%s", "--online goes with --check-config");
  if (verbose && quiet)
    return bad_usage("%s", "-v and -q cannot go together");

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
    int rc = 0, nwarn = 0;
    /* The checks warmd runs on its keys (and fleet password) at start. */
    char **keys = wd_keys_check(d.cfg, check_warning, &nwarn, err, sizeof err);
    char *pw = NULL;
    if (keys && d.cfg->fleet_redis) {
      pw = wd_fleet_password(d.cfg, err, sizeof err);
      if (pw && err[0])
        check_warning(&nwarn, err);
    }
    wd_keys_free(keys, keys ? d.cfg->nendpoints : 0);
    wipe(pw);
    if (!keys || (d.cfg->fleet_redis && !pw && err[0])) {
      fprintf(stderr, "warmd: %s\n", err);
      wd_config_free(d.cfg);
      free(config_abs);
      return 2;
    }
    /* The groups, as the start looks them up: a missing group stops the
     * start (exit 1 there), a missing control_group only the control
     * socket (a warning there). */
    const char *grp[2] = {d.cfg->group, d.cfg->control_group};
    for (int i = 0; i < 2; i++) {
      errno = 0;
      if (!grp[i] || getgrnam(grp[i]))
        continue;
      snprintf(err, sizeof err, "[warmd] %s: group %s does not exist%s%s%s",
               i ? "control_group" : "group", grp[i], errno ? ": " : "",
               errno ? strerror(errno) : "",
               i ? " (warmd would run without its control socket)" : "");
      if (i) {
        check_warning(&nwarn, err);
        continue;
      }
      fprintf(stderr, "warmd: %s\n", err);
      wd_config_free(d.cfg);
      free(config_abs);
      return 2;
    }
    printf("%s: ok (%d models, %d endpoints%s)\n", config_arg, d.cfg->nmodels,
           d.cfg->nendpoints, nwarn ? "; warnings above" : "");
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
  d.keys = wd_keys_load(d.cfg, err, sizeof err);
  if (!d.keys) {
    fprintf(stderr, "warmd: %s\n", err);
    wd_config_free(d.cfg);
    return 2;
  }
  d.nkeys = d.cfg->nendpoints;
  pidfile_abs = wd_abspath(pidfile ? pidfile : d.cfg->pidfile);
  /* Before any thread starts: fork keeps only the calling one. */
  if (!foreground && wd_service_detach() != 0) {
    fprintf(stderr, "warmd: start-up failed: detach: %s\n",
            errno_or(errno, "fork or setsid failed"));
    return 1;
  }
  if (pidfile_abs && wd_pidfile_claim(pidfile_abs, err, sizeof err) != 0)
    return startup_failed("pidfile", "%s", err);
  wd_signals_install(&g_stop, &g_reload);

  struct warmth__w_opts wo = {.capacity = d.cfg->capacity,
                              .mode = 0640,
                              .group = (gid_t)-1,
                              .stale_after_ns = d.cfg->stale_after_ns};
  if (d.cfg->group) {
    errno = 0; /* getgrnam: NULL and errno 0 = no such group */
    struct group *g = getgrnam(d.cfg->group);
    if (!g)
      return startup_failed("group", "group %s does not exist%s%s",
                            d.cfg->group, errno ? ": " : "",
                            errno ? strerror(errno) : "");
    wo.group = g->gr_gid;
  }
  /* Everything slow comes before the table opens: a segment that replaces
   * another goes live at wd_table_init()'s first publication (readers stay
   * on the old one until then), and the old one's readers wait for it. */
  rcu_register_thread();
  wd_probe_global_init();
  err[0] = 0;
  int rc = warmth__w_open(&d.w, d.cfg->shm, &wo, err, sizeof err);
  if (rc != 0)
    return startup_failed("shared table", "%s",
                          err[0] ? err : warmth_strerror(rc));
  if (getrandom(&d.rng, sizeof d.rng, 0) != sizeof d.rng)
    d.rng = (uint64_t)wd_mono_ns() ^ (uint64_t)getpid();
  d.budget.limit_nusd = (int64_t)(d.cfg->budget_per_day * 1e9);
  d.budget.day = wd_utc_day();

  errno = 0;
  if (wd_pub_start(&d.pub, d.w, d.cfg->tick_ns) != 0)
    return startup_failed("publisher thread", "%s",
                          errno_or(errno, "cannot start it"));
  err[0] = 0;
  if (wd_table_init(&d.t, d.cfg, d.w, d.pub, wd_mono_ns(), err, sizeof err) !=
      0)
    return startup_failed("model table", "%s", err);
  errno = 0;
  if (wd_prober_new(&d.prober, d.cfg->max_concurrency) != 0)
    return startup_failed(
        "prober", "%s",
        errno_or(errno, "libcurl could not be initialised (curl_multi_init "
                        "or curl_share_init failed)"));
  d.dm.config_path = d.config_path;
  d.dm.started_mono_ns = wd_mono_ns();
  d.dm.started_real_ns = (int64_t)time(NULL) * WD_NS_PER_S;
  d.dm.t = &d.t;
  d.dm.prober = d.prober;
  err[0] = 0;
  if (d.cfg->fleet_redis && start_fleet(&d, err, sizeof err) != 0)
    return startup_failed("fleet", "%s", err);
  d.dm.fleet = d.fleet;
  wd_fleet_mark(d.fleet, &d.t);
  atomic_store(&d.dm.budget_limit_nusd, d.budget.limit_nusd);
  pthread_mutex_init(&d.dm.req_mu, NULL);
  rc = warmth_open(&d.dm.reader, d.cfg->shm, WARMTH_OPEN_LAZY);
  if (rc != 0)
    return startup_failed("reading back the table",
                          "cannot open our own table %s as a reader: %s",
                          d.cfg->shm, warmth_strerror(rc));
  if (d.cfg->state_file && state_dir_ok(d.cfg->state_file, err, sizeof err))
    return startup_failed("state file", "%s", err);
  if (d.cfg->state_file) {
    wd_state_load(d.cfg->state_file, &d.t, wd_mono_ns());
    for (uint32_t i = 0; i < d.t.n; i++) /* restored counters: visible */
      wd_loop_publish(&d, d.t.v[i], 0);
  }
  err[0] = 0;
  if (wd_events_open(d.cfg->event_log, err, sizeof err) != 0)
    return startup_failed("event log", "%s", err);
  if (d.cfg->control_socket && d.cfg->control_socket[0] &&
      wd_control_start(&d.control, &d.dm, d.cfg->control_socket, d.cfg->group,
                       d.cfg->control_group, err, sizeof err) != 0)
    LOG(LOG_WARNING, "no control socket: %s", err);
  err[0] = 0;
  if (d.cfg->http_listen && d.cfg->http_listen[0] &&
      wd_http_start(&d.http, &d.dm, d.cfg->http_listen, err, sizeof err) != 0)
    return startup_failed("HTTP (health and metrics)", "%s", err);
  atomic_store(&d.dm.running, 1);
  wd_service_ready();
  LOG(LOG_NOTICE, "warmd %s started: %s, %u models, table %s (%s), pid %d",
      PACKAGE_VERSION, d.config_path, d.t.n, d.cfg->shm,
      warmth__w_adopted(d.w) ? "adopted" : "new", (int)getpid());

  wd_loop_run(&d, &g_stop, &g_reload);

  atomic_store(&d.dm.running, 0);
  wd_control_stop(d.control);
  wd_http_stop(d.http);
  wd_loop_save_state(&d, wd_mono_ns());
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
  wd_keys_free(d.keys, d.nkeys);
  rcu_unregister_thread();
  free(pidfile_abs);
  free(config_abs);
  return 0; /* the pidfile goes at exit (service.c) */
}
