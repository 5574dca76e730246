/* check_config.c - unit tests of warmd's configuration (tools/warmd/config.c).
 *
 * Every test writes its config into a fresh directory from mkdtemp, so the
 * tests run in parallel, in VPATH builds and under make distcheck.  The
 * example config is found through WARMTH_TOP_SRCDIR (see config.mk). */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "check_run.h"
#include "warmd.h"

#ifndef WARMTH_TOP_SRCDIR
#define WARMTH_TOP_SRCDIR "."
#endif

static char dir[1024];      /* this test's directory */
static char rdir[PATH_MAX]; /* the same, symbolic links resolved */

static void write_file(const char *name, const void *data, size_t len,
                       mode_t mode) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
  ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
  ck_assert_int_eq(fchmod(fd, mode), 0); /* whatever the umask */
  close(fd);
}

/* Writes `text` as dir/name and returns its path (static buffer). */
static const char *conf(const char *name, const char *text) {
  static char path[PATH_MAX];
  write_file(name, text, strlen(text), 0644);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

/* The text of warmd.conf.5 (a static buffer, overwritten by each call). */
static const char *man_page(void) {
  static char man[160 * 1024];
  FILE *f = fopen(WARMTH_TOP_SRCDIR "/tools/warmd/warmd.conf.5", "r");
  ck_assert_ptr_nonnull(f);
  size_t n = fread(man, 1, sizeof man - 1, f);
  fclose(f);
  man[n] = 0;
  return man;
}

/* Fails the test unless the page documents each of the n keys. */
static void man_documents(const char *man, const char *const *keys, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char want[64];
    snprintf(want, sizeof want, ".BI \"%s = \"", keys[i]);
    ck_assert_msg(strstr(man, want), "warmd.conf.5 lacks %s", want);
  }
}

static struct wd_config *load_ok(const char *text) {
  struct wd_config *c = NULL;
  char err[512];
  int rc = wd_config_load(conf("t.conf", text), &c, err, sizeof err);
  ck_assert_msg(rc == 0, "load failed: %s", err);
  ck_assert_ptr_nonnull(c);
  return c;
}

/* Loads a config that must fail; the message goes to err. */
static void load_bad(const char *text, char *err, size_t errlen) {
  struct wd_config *c = (struct wd_config *)&c; /* must become NULL */
  int rc = wd_config_load(conf("t.conf", text), &c, err, errlen);
  ck_assert_msg(rc == -1, "loaded, expected an error:\n%s", text);
  ck_assert_ptr_null(c);
  ck_assert_msg(err[0], "no message");
}

static void setup(void) {
  tu_mkdtemp(dir, sizeof dir, "check_config");
  ck_assert_ptr_nonnull(realpath(dir, rdir));
  static const char prefix[] = "You are a terse assistant.\n";
  write_file("prefix.txt", prefix, sizeof prefix - 1, 0644);
}

static void teardown(void) { tu_rmtree(dir); }

static int near_eq(double a, double b) {
  double d = a - b;
  return d < 1e-12 && d > -1e-12;
}

/* ---- a full config ------------------------------------------------------- */

static const char full[] = "[warmd]\n"                                  /* 1 */
                           "shm = /warmth-test\n"                       /* 2 */
                           "tick = 20ms\n"                              /* 3 */
                           "max_concurrency = 8\n"                      /* 4 */
                           "stale_after = 2s\n"                         /* 5 */
                           "budget_per_day = 2.50\n"                    /* 6 */
                           "capacity = 100\n"                           /* 7 */
                           "control_socket = /tmp/warmd-test.sock\n"    /* 8 */
                           "state_file = state.msgpack\n"               /* 9 */
                           "http_listen = [::1]:9999\n"                 /* 10 */
                           "event_log = /var/log/warmth/ev.jsonl\n"     /* 11 */
                           "group = warmth\n"                           /* 12 */
                           "pidfile = /run/warmth/warmd.pid\n"          /* 13 */
                           "log_level = debug\n"                        /* 14 */
                           "\n"                                         /* 15 */
                           "[endpoint b]\n"                             /* 16 */
                           "kind = anthropic\n"                         /* 17 */
                           "base_url = https://api.example.com/v1//\n"  /* 18 */
                           "api_key_file = key.txt\n"                   /* 19 */
                           "timeout = 1.5s\n"                           /* 20 */
                           "anthropic_version = 2024-01-01\n"           /* 21 */
                           "\n"                                         /* 22 */
                           "[model gpt-4.1]\n"                          /* 23 */
                           "endpoint = a\n"                             /* 24 */
                           "id = gpt-4.1-2025-04-14\n"                  /* 25 */
                           "probe = chat\n"                             /* 26 */
                           "max_tokens = 7\n"                           /* 27 */
                           "max_tokens_param = max_completion_tokens\n" /* 28 */
                           "interval = 2m\n"                            /* 29 */
                           "jitter = 12.5%\n"                           /* 30 */
                           "warm_ttl = 3m\n"                            /* 31 */
                           "timeout = 750ms\n"                          /* 32 */
                           "rise = 2\n"                                 /* 33 */
                           "fall = 4\n"                                 /* 34 */
                           "idle_after = 1h\n"                          /* 35 */
                           "price_in = 2.00\n"                          /* 36 */
                           "price_out = 8\n"                            /* 37 */
                           "price_cached = 0.5\n"                       /* 38 */
                           "latency_alert = 100ms\n"                    /* 39 */
                           "min_headroom = 15%\n"                       /* 40 */
                           "probe_prefix_file = prefix.txt\n"           /* 41 */
                           "required = yes\n"                           /* 42 */
                           "\n"                                         /* 43 */
                           "[endpoint a]\n"                             /* 44 */
                           "kind = openai\n"                            /* 45 */
                           "base_url = http://127.0.0.1:8080/v1\n"      /* 46 */
                           "api_key_env = WARMTH_TEST_KEY\n"            /* 47 */
                           "\n"                                         /* 48 */
                           "[model claude]\n"                           /* 49 */
                           "endpoint = b\n"                             /* 50 */
                           "probe = models\n"                           /* 51 */
                           "thinking = off\n"                           /* 52 */
                           "price_cache_write = 4\n"                    /* 53 */
                           "\n"                                         /* 54 */
                           "[endpoint az]\n"                            /* 55 */
                           "kind = azure\n"                             /* 56 */
                           "base_url = https://r.openai.azure.com/openai\n"
                           "api_version = 2024-10-21\n"           /* 58 */
                           "header = X-Title: warmth\n"           /* 59 */
                           "header_env = X-Gw: WARMTH_TEST_HDR\n" /* 60 */
                           "[model o3]\n"                         /* 61 */
                           "endpoint = az\n"                      /* 62 */
                           "reasoning_effort = low\n"             /* 63 */
                           "active = Mon-Fri 07:00-20:00\n"       /* 64 */
                           "active = Sat 22:00-02:00\n"           /* 65 */
                           "timezone = Europe/Berlin\n"           /* 66 */
                           "warm_before = 10m\n";                 /* 67 */

START_TEST(test_full) {
  setenv("WARMTH_TEST_HDR", " gw-token-0123 \n", 1); /* blanks trimmed */
  struct wd_config *c = load_ok(full);
  char want[PATH_MAX + 32];

  ck_assert_str_eq(c->shm, "/warmth-test");
  ck_assert_int_eq(c->tick_ns, 20 * WD_NS_PER_MS);
  ck_assert_int_eq(c->max_concurrency, 8);
  ck_assert_int_eq(c->stale_after_ns, 2 * WD_NS_PER_S);
  ck_assert(near_eq(c->budget_per_day, 2.5));
  ck_assert_uint_eq(c->capacity, 100);
  ck_assert_str_eq(c->control_socket, "/tmp/warmd-test.sock");
  snprintf(want, sizeof want, "%s/state.msgpack", rdir);
  ck_assert_str_eq(c->state_file, want); /* relative: the file's dir */
  ck_assert_str_eq(c->http_listen, "[::1]:9999");
  ck_assert_str_eq(c->event_log, "/var/log/warmth/ev.jsonl");
  ck_assert_str_eq(c->group, "warmth");
  ck_assert_str_eq(c->pidfile, "/run/warmth/warmd.pid");
  ck_assert_int_eq(c->log_level, LOG_DEBUG);
  ck_assert_ptr_nonnull(strstr(c->path, "t.conf"));

  ck_assert_int_eq(c->nendpoints, 3);
  const struct wd_endpoint *b = &c->endpoints[0], *a = &c->endpoints[1];
  ck_assert_str_eq(b->name, "b");
  ck_assert_int_eq(b->kind, WD_KIND_ANTHROPIC);
  ck_assert_str_eq(b->base_url, "https://api.example.com/v1");
  ck_assert_ptr_null(b->api_key_env);
  snprintf(want, sizeof want, "%s/key.txt", rdir);
  ck_assert_str_eq(b->api_key_file, want);
  ck_assert_int_eq(b->timeout_ns, 1500 * WD_NS_PER_MS);
  ck_assert_str_eq(b->anthropic_version, "2024-01-01");
  ck_assert_int_eq(b->line, 16);
  ck_assert_str_eq(a->name, "a");
  ck_assert_int_eq(a->kind, WD_KIND_OPENAI);
  ck_assert_str_eq(a->base_url, "http://127.0.0.1:8080/v1");
  ck_assert_str_eq(a->api_key_env, "WARMTH_TEST_KEY");
  ck_assert_ptr_null(a->api_key_file);
  ck_assert_int_eq(a->timeout_ns, 5 * WD_NS_PER_S);
  ck_assert_str_eq(a->anthropic_version, "2023-06-01");
  ck_assert_int_eq(a->line, 44);

  ck_assert_int_eq(c->nmodels, 3);
  const struct wd_model *m = &c->models[0];
  ck_assert_str_eq(m->name, "gpt-4.1");
  ck_assert_int_eq(m->endpoint, 1); /* "a", defined after the model */
  ck_assert_str_eq(m->id, "gpt-4.1-2025-04-14");
  ck_assert_int_eq(m->probe, WD_PROBE_CHAT);
  ck_assert_int_eq(m->max_tokens, 7);
  ck_assert_int_eq(m->max_tokens_param, WD_MAX_COMPLETION_TOKENS);
  ck_assert_int_eq(m->interval_ns, 120 * WD_NS_PER_S);
  ck_assert(near_eq(m->jitter, 0.125));
  ck_assert_int_eq(m->warm_ttl_ns, 180 * WD_NS_PER_S);
  ck_assert_int_eq(m->timeout_ns, 750 * WD_NS_PER_MS);
  ck_assert_int_eq(m->rise, 2);
  ck_assert_int_eq(m->fall, 4);
  ck_assert_int_eq(m->idle_after_ns, 3600 * WD_NS_PER_S);
  ck_assert(near_eq(m->price_in, 2.0));
  ck_assert(near_eq(m->price_out, 8.0));
  ck_assert(near_eq(m->price_cached, 0.5));
  ck_assert_int_eq(m->latency_alert_ns, 100 * WD_NS_PER_MS);
  ck_assert(near_eq(m->min_headroom, 0.15));
  snprintf(want, sizeof want, "%s/prefix.txt", rdir);
  ck_assert_str_eq(m->probe_prefix_file, want);
  ck_assert_str_eq(m->prefix, "You are a terse assistant.\n");
  ck_assert_int_eq(m->required, 1);
  ck_assert_int_eq(m->line, 23);

  m = &c->models[1];
  ck_assert_str_eq(m->name, "claude");
  ck_assert_str_eq(m->id, "claude");
  ck_assert_int_eq(m->endpoint, 0);
  ck_assert_int_eq(m->probe, WD_PROBE_MODELS);
  ck_assert_int_eq(m->line, 49);
  ck_assert_int_eq(m->thinking, WD_THINKING_OFF);
  ck_assert(near_eq(m->price_cache_write, 4));
  m = &c->models[2];
  ck_assert_int_eq(m->endpoint, 2);
  ck_assert_int_eq(m->reasoning_effort, WD_EFFORT_LOW);
  ck_assert_str_eq(c->endpoints[2].api_version, "2024-10-21");
  ck_assert_int_eq(c->endpoints[2].nheaders, 2);
  ck_assert_str_eq(c->endpoints[2].headers[0], "X-Title: warmth");
  ck_assert_str_eq(c->endpoints[2].headers[1], "X-Gw: gw-token-0123");
  ck_assert_int_eq(m->nwindows, 2); /* active is repeatable */
  ck_assert_int_eq(m->windows[0].days, 0x1f);
  ck_assert_int_eq(m->windows[0].start, 7 * 60);
  ck_assert_int_eq(m->windows[0].end, 20 * 60);
  ck_assert_int_eq(m->windows[1].days, 0x20);
  ck_assert_int_eq(m->windows[1].end, 2 * 60);
  ck_assert_str_eq(m->timezone, "Europe/Berlin");
  ck_assert_int_eq(m->warm_before_ns, 600 * WD_NS_PER_S);
  ck_assert_int_eq(c->models[0].nwindows, 0); /* always warm */
  wd_config_free(c);
}
END_TEST

START_TEST(test_defaults) {
  struct wd_config *c = load_ok("[endpoint only]\n"
                                "base_url = http://h/\n"
                                "[model m]\n");
  ck_assert_str_eq(c->shm, "/warmth");
  ck_assert_int_eq(c->tick_ns, 50 * WD_NS_PER_MS);
  ck_assert_int_eq(c->max_concurrency, 16);
  ck_assert_int_eq(c->stale_after_ns, 5 * WD_NS_PER_S);
  ck_assert(near_eq(c->budget_per_day, 0));
  ck_assert_uint_eq(c->capacity, 64);
  ck_assert_str_eq(c->control_socket, "/run/warmth/warmd.sock");
  ck_assert_ptr_null(c->state_file);
  ck_assert_str_eq(c->http_listen, "127.0.0.1:9464");
  ck_assert_ptr_null(c->event_log);
  ck_assert_ptr_null(c->group);
  ck_assert_ptr_null(c->pidfile);
  ck_assert_int_eq(c->log_level, LOG_INFO);

  ck_assert_int_eq(c->nendpoints, 1);
  const struct wd_endpoint *e = &c->endpoints[0];
  ck_assert_int_eq(e->kind, WD_KIND_OPENAI);
  ck_assert_str_eq(e->base_url, "http://h");
  ck_assert_ptr_null(e->api_key_env);
  ck_assert_ptr_null(e->api_key_file);
  ck_assert_str_eq(e->anthropic_version, "2023-06-01");
  ck_assert_int_eq(e->timeout_ns, 5 * WD_NS_PER_S);

  ck_assert_int_eq(c->nmodels, 1);
  const struct wd_model *m = &c->models[0];
  ck_assert_str_eq(m->name, "m");
  ck_assert_str_eq(m->id, "m");
  ck_assert_int_eq(m->endpoint, 0); /* the only one */
  ck_assert_int_eq(m->probe, WD_PROBE_CHAT);
  ck_assert_int_eq(m->max_tokens, 3);
  ck_assert_int_eq(m->max_tokens_param, WD_MAX_TOKENS);
  ck_assert_int_eq(m->interval_ns, 240 * WD_NS_PER_S);
  ck_assert(near_eq(m->jitter, 0.10));
  ck_assert_int_eq(m->warm_ttl_ns, 300 * WD_NS_PER_S);
  ck_assert_int_eq(m->timeout_ns, 0);
  ck_assert_int_eq(m->rise, 1);
  ck_assert_int_eq(m->fall, 3);
  ck_assert_int_eq(m->idle_after_ns, 0);
  ck_assert(near_eq(m->price_in, 0) && near_eq(m->price_out, 0));
  ck_assert(near_eq(m->price_cached, 0));
  ck_assert_int_eq(m->latency_alert_ns, 0);
  ck_assert(near_eq(m->min_headroom, 0));
  ck_assert_ptr_null(m->probe_prefix_file);
  ck_assert_ptr_null(m->prefix);
  ck_assert_int_eq(m->required, 0);
  wd_config_free(c);
}
END_TEST

START_TEST(test_price_cached_default) {
  struct wd_config *c = load_ok("[endpoint e]\nbase_url = http://h\n"
                                "[model m]\nprice_in = 3.25\n");
  ck_assert(near_eq(c->models[0].price_cached, 3.25));
  wd_config_free(c);
}
END_TEST

/* The providers' keys: azure's api_version, repeatable extra headers,
 * reasoning settings where the kind takes them, cache-write prices. */
START_TEST(test_provider_keys) {
  struct wd_config *c =
      load_ok("[endpoint az]\n"
              "kind = azure\n"
              "base_url = https://r.openai.azure.com/openai\n"
              "api_version = 2024-10-21\n"
              "header = X-Title: warmth\n"
              "header = HTTP-Referer:https://example.com/a?b=1\n"
              "[endpoint g]\n"
              "kind = gemini\n"
              "base_url = https://generativelanguage.googleapis.com/v1beta\n"
              "[endpoint an]\n"
              "kind = anthropic\n"
              "base_url = https://api.anthropic.com/v1\n"
              "[model o]\nendpoint = az\nreasoning_effort = minimal\n"
              "max_tokens_param = max_completion_tokens\n"
              "[model gm]\nendpoint = g\nthinking = off\n"
              "[model c]\nendpoint = an\nprice_in = 3\nthinking = off\n"
              "[model c2]\nendpoint = an\nprice_in = 3\n"
              "price_cache_write = 6\n");
  const struct wd_endpoint *az = &c->endpoints[0];
  ck_assert_int_eq(az->kind, WD_KIND_AZURE);
  ck_assert_str_eq(az->api_version, "2024-10-21");
  ck_assert_int_eq(az->nheaders, 2);
  ck_assert_str_eq(az->headers[0], "X-Title: warmth");
  ck_assert_str_eq(az->headers[1], "HTTP-Referer: https://example.com/a?b=1");
  ck_assert_int_eq(c->endpoints[1].kind, WD_KIND_GEMINI);
  ck_assert_int_eq(c->endpoints[1].nheaders, 0);
  ck_assert_int_eq(c->models[0].reasoning_effort, WD_EFFORT_MINIMAL);
  ck_assert_int_eq(c->models[1].thinking, WD_THINKING_OFF);
  ck_assert_int_eq(c->models[1].reasoning_effort, WD_EFFORT_UNSET);
  ck_assert(near_eq(c->models[2].price_cache_write, 3.75)); /* 1.25 x in */
  ck_assert(near_eq(c->models[3].price_cache_write, 6));
  wd_config_free(c);
}
END_TEST

/* BOM, CRLF, indentation, both comment signs, "key: value", quotes, an
 * empty value, ';' inside a value, blanks inside the section header. */
START_TEST(test_syntax) {
  struct wd_config *c = load_ok("\xEF\xBB\xBF; comment\r\n"
                                "# another\r\n"
                                "[warmd]  ; here too\r\n"
                                "  tick = 20ms   # inline\r\n"
                                "\tmax_concurrency: 4 ; colon form\r\n"
                                "http_listen =\r\n"
                                "shm = \"/q\"\r\n"
                                "state_file =  ; off\r\n"
                                "[endpoint e]\r\n"
                                "base_url = http://h/a;b\r\n"
                                "[  model   m  ]\r\n");
  ck_assert_int_eq(c->tick_ns, 20 * WD_NS_PER_MS);
  ck_assert_int_eq(c->max_concurrency, 4);
  ck_assert_str_eq(c->http_listen, "");
  ck_assert_str_eq(c->shm, "/q");
  ck_assert_ptr_null(c->state_file);
  ck_assert_str_eq(c->endpoints[0].base_url, "http://h/a;b");
  ck_assert_str_eq(c->models[0].name, "m");
  wd_config_free(c);
}
END_TEST

START_TEST(test_several_endpoints) {
  struct wd_config *c = load_ok("[model x]\nendpoint = two\n"
                                "[endpoint one]\nbase_url = http://1\n"
                                "[endpoint two]\nbase_url = http://2\n"
                                "[model y]\nendpoint = one\n");
  ck_assert_int_eq(c->models[0].endpoint, 1);
  ck_assert_int_eq(c->models[1].endpoint, 0);
  wd_config_free(c);
}
END_TEST

START_TEST(test_example) {
  const char *path = WARMTH_TOP_SRCDIR "/tools/warmd.conf.example";
  struct wd_config *c = NULL;
  char err[512];
  int rc = wd_config_load(path, &c, err, sizeof err);
  ck_assert_msg(rc == 0, "%s", err);
  ck_assert_int_eq(c->nendpoints, 3);
  ck_assert_int_eq(c->nmodels, 4);
  ck_assert_int_eq(c->endpoints[1].kind, WD_KIND_ANTHROPIC);
  for (int i = 0; i < c->nmodels; i++)
    ck_assert_int_ge(c->models[i].endpoint, 0);
  ck_assert_int_eq(c->models[3].probe, WD_PROBE_MODELS);
  wd_config_free(c);
}
END_TEST

/* tools/warmd.demo.conf, as tools/demo.sh fills it in (the README's first
 * command): it loads, with the models and probes the demo shows. */
START_TEST(test_demo) {
  FILE *f = fopen(WARMTH_TOP_SRCDIR "/tools/warmd.demo.conf", "r");
  ck_assert_ptr_nonnull(f);
  static char in[16 * 1024], out[32 * 1024];
  size_t n = fread(in, 1, sizeof in - 1, f), o = 0;
  fclose(f);
  in[n] = 0;
  ck_assert_int_lt(n, sizeof in - 1);
  for (const char *p = in; *p; p++) {
    const char *rep = strncmp(p, "@PORT@", 6) == 0  ? "9"
                      : strncmp(p, "@SHM@", 5) == 0 ? "/warmth-demo-check"
                      : strncmp(p, "@DIR@", 5) == 0 ? dir
                                                    : NULL;
    ck_assert_int_lt(o + strlen(dir) + 2, sizeof out);
    if (!rep) {
      out[o++] = *p;
      continue;
    }
    o += (size_t)snprintf(out + o, sizeof out - o, "%s", rep);
    p += strchr(p + 1, '@') - p;
  }
  out[o] = 0;
  ck_assert_ptr_null(strchr(out, '@'));
  struct wd_config *c = load_ok(out);
  ck_assert_int_eq(c->nmodels, 4);
  ck_assert_int_eq(c->nendpoints, 2);
  int models_probes = 0;
  for (int i = 0; i < c->nmodels; i++)
    models_probes += c->models[i].probe == WD_PROBE_MODELS;
  ck_assert_int_eq(models_probes, 1);
  wd_config_free(c);
}
END_TEST

/* The man page documents every key (the list is the one test_full sets). */
START_TEST(test_manpage_keys) {
  static const char *keys[] = {"shm",
                               "tick",
                               "max_concurrency",
                               "stale_after",
                               "budget_per_day",
                               "capacity",
                               "control_socket",
                               "state_file",
                               "http_listen",
                               "event_log",
                               "group",
                               "pidfile",
                               "log_level",
                               "kind",
                               "base_url",
                               "api_key_env",
                               "api_key_file",
                               "timeout",
                               "anthropic_version",
                               "endpoint",
                               "id",
                               "probe",
                               "max_tokens",
                               "max_tokens_param",
                               "interval",
                               "jitter",
                               "warm_ttl",
                               "rise",
                               "fall",
                               "idle_after",
                               "price_in",
                               "price_out",
                               "price_cached",
                               "latency_alert",
                               "min_headroom",
                               "probe_prefix_file",
                               "required",
                               "api_version",
                               "header",
                               "header_env",
                               "reasoning_effort",
                               "thinking",
                               "price_cache_write",
                               "active",
                               "timezone",
                               "warm_before"};
  man_documents(man_page(), keys, sizeof keys / sizeof keys[0]);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    ck_assert_msg(strstr(full, keys[i]), "test_full does not set %s", keys[i]);
}
END_TEST

/* Every key of the parser's own tables (wd_config_key) is documented in
 * its section of warmd.conf(5) as `.BI "key = "`, and the page documents
 * no key the parser does not take: a key added to config.c cannot go
 * undocumented, nor a removed one stay in the page. */
START_TEST(test_manpage_every_key) {
  static const struct {
    const char *sec, *heading;
    int at_least;
  } secs[] = {{"warmd", ".SH \"THE [warmd] SECTION\"", 14},
              {"endpoint", ".SH \"THE [endpoint NAME] SECTION\"", 12},
              {"model", ".SH \"THE [model NAME] SECTION\"", 26},
              {"fleet", ".SH \"THE [fleet] SECTION\"", 7}};
  const char *man = man_page();
  for (size_t s = 0; s < sizeof secs / sizeof secs[0]; s++) {
    const char *start = strstr(man, secs[s].heading);
    ck_assert_msg(start, "warmd.conf.5 has no %s", secs[s].heading);
    start += strlen(secs[s].heading);
    const char *end = strstr(start, "\n.SH ");
    ck_assert_ptr_nonnull(end);
    int nkeys = 0;
    for (const char *k; (k = wd_config_key(secs[s].sec, nkeys)); nkeys++) {
      char want[96];
      snprintf(want, sizeof want, "\n.BI \"%s = \"", k);
      const char *at = strstr(start, want);
      ck_assert_msg(at && at < end, "warmd.conf.5 does not document %s in %s",
                    k, secs[s].heading);
    }
    ck_assert_int_ge(nkeys, secs[s].at_least);
    /* The other way: each key the section documents is one of the table. */
    for (const char *p = start; (p = strstr(p, "\n.BI \"")) && p < end; p++) {
      char key[64];
      if (sscanf(p, "\n.BI \"%63[a-z_] = \"", key) != 1)
        continue;
      int i = 0;
      while (wd_config_key(secs[s].sec, i) &&
             strcmp(wd_config_key(secs[s].sec, i), key) != 0)
        i++;
      ck_assert_msg(wd_config_key(secs[s].sec, i),
                    "warmd.conf.5 documents %s in %s, which warmd does not "
                    "take there",
                    key, secs[s].heading);
    }
  }
  ck_assert_ptr_null(wd_config_key("nope", 0));
  ck_assert_ptr_null(wd_config_key("warmd", -1));
}
END_TEST

START_TEST(test_no_file) {
  struct wd_config *c = (struct wd_config *)&c;
  char err[256], path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/missing.conf", dir);
  ck_assert_int_eq(wd_config_load(path, &c, err, sizeof err), -1);
  ck_assert_ptr_null(c);
  ck_assert_ptr_nonnull(strstr(err, "missing.conf: cannot open"));
  ck_assert_int_eq(wd_config_load(NULL, &c, err, sizeof err), -1);
  wd_config_free(NULL);
}
END_TEST

/* ---- errors: each names the file, the line and the key ------------------- */

#define EP "[endpoint e]\nbase_url = http://h\n" /* lines 1-2 */
#define X10 "xxxxxxxxxx"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define N63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
#define N64 N63 "l"

static const struct bad {
  const char *text;
  int line;          /* 0: the message has no line */
  const char *key;   /* must be in the message */
  const char *what;  /* must be in the message too */
  const char *never; /* must not be in the message */
} bad[] = {
    {EP "[model m]\ninterval = 5x\n", 4, "interval",
     "[model m] interval: '5x' is not a duration (use ms, s, m, h)", NULL},
    {EP "[model m]\ninterval = 5\n", 4, "interval", "missing a unit", NULL},
    {EP "[model m]\nintervall = 5s\n", 4, "intervall",
     "did you mean 'interval'", NULL},
    {EP "[modle m]\n", 3, "modle", "did you mean [model NAME]", NULL},
    {EP "[model m]\n[model m]\n", 4, "[model m]", "first at line 3", NULL},
    {EP "[endpoint e]\nbase_url = http://h2\n[model m]\n", 3, "[endpoint e]",
     "first at line 1", NULL},
    {EP "[model m]\nendpoint = nope\n", 4, "endpoint", "no [endpoint nope]",
     NULL},
    {"[endpoint local]\nbase_url = http://h\n[model m]\nendpoint = locla\n", 4,
     "endpoint", "did you mean 'local'", NULL},
    {EP "[endpoint f]\nbase_url = http://h\n[model m]\n", 5, "endpoint",
     "several endpoints", NULL},
    {"[model m]\n", 1, "endpoint", "no [endpoint NAME]", NULL},
    {EP "[model a b]\n", 3, "[model a b]", "not a valid name", NULL},
    {EP "[model " N64 "]\n", 3, N64, "not a valid name", NULL},
    {EP "[model]\n", 3, "[model]", "a name is needed", NULL},
    {"[warmd]\nmax_concurrency = 0\n" EP "[model m]\n", 2, "max_concurrency",
     "out of range (1..1024)", NULL},
    {"[warmd]\nmax_concurrency = 1025\n" EP "[model m]\n", 2, "max_concurrency",
     "out of range (1..1024)", NULL},
    {"[warmd]\nmax_concurrency = 1x\n" EP "[model m]\n", 2, "max_concurrency",
     "not a whole number", NULL},
    {EP "[model m]\nmax_tokens = 4097\n", 4, "max_tokens", "(1..4096)", NULL},
    {EP "[model m]\nmax_tokens = 0\n", 4, "max_tokens", "(1..4096)", NULL},
    {EP "[model m]\nrise = 0\n", 4, "rise", "(1..100)", NULL},
    {EP "[model m]\nfall = 101\n", 4, "fall", "(1..100)", NULL},
    {"[warmd]\ntick = 1s\n" EP "[model m]\ninterval = 500ms\n", 6, "interval",
     "shorter than tick (1s)", NULL},
    {EP "[model m]\ninterval = 0\n", 4, "interval", "more than 0", NULL},
    {EP "[model m]\nwarm_ttl = 0s\n", 4, "warm_ttl", "more than 0", NULL},
    {EP "[model m]\nidle_after = 99999999999h\n", 4, "idle_after", "too large",
     NULL},
    {"[endpoint e]\nbase_url = ftp://h\n[model m]\n", 2, "base_url",
     "http:// or https://", NULL},
    {"[endpoint e]\nbase_url = http://\n[model m]\n", 2, "base_url", "no host",
     NULL},
    {"[endpoint e]\nbase_url = http://h/v1?x=1\n[model m]\n", 2, "base_url",
     "query", NULL},
    {"[endpoint e]\n[model m]\n", 1, "base_url", "missing", NULL},
    {"[endpoint e]\nbase_url = http://h\ntimeout = 0\n[model m]\n", 3,
     "timeout", "less than 1ms", NULL},
    {EP "[model m]\nprice_in = -1\n", 4, "price_in", "-1 is negative", NULL},
    {EP "[model m]\nprice_out = 1e3\n", 4, "price_out", "not an amount", NULL},
    {EP "[model m]\nprice_cached = abc\n", 4, "price_cached", "not an amount",
     NULL},
    {"[warmd]\nbudget_per_day = -5\n" EP "[model m]\n", 2, "budget_per_day",
     "negative", NULL},
    {"[endpoint e]\nbase_url = http://h\napi_key_env = K\napi_key_file = /k\n"
     "[model m]\n",
     4, "api_key_file", "api_key_env is already set at line 3", NULL},
    {"[endpoint e]\nbase_url = http://h\napi_key_file = /k\napi_key_env = K\n"
     "[model m]\n",
     4, "api_key_env", "api_key_file is already set at line 3", NULL},
    /* the key pasted where its variable's name belongs: never echoed */
    {"[endpoint e]\nbase_url = http://h\napi_key_env = sk-abc123 def\n", 3,
     "api_key_env", "not the name of an environment variable", "sk-abc123"},
    {"[warmd]\ntick = 50ms\n" EP, 0, "t.conf: ", "nothing to do", NULL},
    {"[endpoint e]\nkind = bedrock\nbase_url = http://h\n[model m]\n", 2,
     "kind", "'bedrock' is not one of: openai, anthropic, azure, gemini", NULL},
    {EP "[model m]\nprobe = ping\n", 4, "probe", "not one of: chat, models",
     NULL},
    {EP "[model m]\nmax_tokens_param = max_tok\n", 4, "max_tokens_param",
     "not one of", NULL},
    {EP "[model m]\nprobe_prefix_file = does-not-exist.txt\n", 4,
     "probe_prefix_file", "does-not-exist.txt", NULL},
    {EP "[model m]\nprobe = models\nprobe_prefix_file = prefix.txt\n", 5,
     "probe_prefix_file", "only used by probe = chat", NULL},
    {"[endpoint e]\nkind = anthropic\nbase_url = http://h\n[model m]\n"
     "max_tokens_param = max_completion_tokens\n",
     5, "max_tokens_param", "anthropic", NULL},
    {"[warmd]\ncapacity = 1\n" EP "[model a]\n[model b]\n", 2, "capacity",
     "less than the number of models (2)", NULL},
    {"[warmd]\ncapacity = 1048577\n" EP "[model a]\n", 2, "capacity",
     "out of range (1..1048576)", NULL},
    {EP "[model m]\njitter = 60%\n", 4, "jitter", "out of range (0%..50%)",
     NULL},
    {EP "[model m]\njitter = 10\n", 4, "jitter", "missing '%'", NULL},
    {EP "[model m]\njitter = -1%\n", 4, "jitter", "not a percentage", NULL},
    {EP "[model m]\nmin_headroom = 101%\n", 4, "min_headroom", "(0%..100%)",
     NULL},
    {"shm = /x\n[warmd]\n" EP "[model m]\n", 1, "shm", "outside any section",
     NULL},
    {EP "[model m]\nthis is not a key\n", 4, "t.conf",
     "expected 'key = value' or '[section]'", NULL},
    {EP "[model m]\ninterval = 5s\n  10s\n", 5, "t.conf", "expected", NULL},
    {EP "[model m]\nsk-proj-Secret123\n", 4, "t.conf", "expected", "Secret123"},
    {EP "[model m]\n= 5\n", 4, "[model m]", "a value without a key", NULL},
    {EP "[model m]\nrise = 1\nrise = 2\n", 5, "rise",
     "set twice (first at line 4)", NULL},
    {EP "[model m]\nid = " X100 X100 "\n", 4, "t.conf", "line too long", NULL},
    {EP "[model m]\nid = a b\n", 4, "id", "one word", NULL},
    {EP "[model m]\nrequired = maybe\n", 4, "required", "not one of: yes, no",
     NULL},
    {"[warmd]\nlog_level = loud\n" EP "[model m]\n", 2, "log_level",
     "debug, info, notice, warning", NULL},
    {"[warmd]\nshm = warmth\n" EP "[model m]\n", 2, "shm", "not a segment name",
     NULL},
    {"[warmd]\nshm = /a/b\n" EP "[model m]\n", 2, "shm", "not a segment name",
     NULL},
    {"[warmd]\nhttp_listen = localhost\n" EP "[model m]\n", 2, "http_listen",
     "not host:port", NULL},
    {"[warmd]\nhttp_listen = 127.0.0.1:70000\n" EP "[model m]\n", 2,
     "http_listen", "not host:port", NULL},
    {"[warmd]\ncontrol_socket = /" X100 X100 "\n" EP "[model m]\n", 2, "t.conf",
     "line too long", NULL},
    {"[warmd]\ncontrol_socket = /" X100 X10 "\n" EP "[model m]\n", 2,
     "control_socket", "too long for a socket", NULL},
    {"[warmd]\ngroup = bad group\n" EP "[model m]\n", 2, "group",
     "not a group name", NULL},
    {"[warmd]\nstale_after = 50ms\n" EP "[model m]\n", 2, "stale_after",
     "at least two ticks (100ms)", NULL},
    {"[warmd]\ntick = 10s\n" EP "[model m]\n", 2, "tick",
     "at least two ticks (20s)", NULL},
    {"[warmd]\ntick = 11s\n" EP "[model m]\n", 2, "tick", "more than 10s",
     NULL},
    {EP "[model m\n", 3, "[model m", "missing ']'", NULL},
    {"[warmd] x\n" EP "[model m]\n", 1, "t.conf", "unexpected text after ']'",
     NULL},
    {"[warmd x]\n" EP "[model m]\n", 1, "[warmd]", "takes no name", NULL},
    {"[warmd]\n[warmd]\n" EP "[model m]\n", 2, "[warmd]", "first is at line 1",
     NULL},
    {"[warmd]\ntimeout = 5s\n" EP "[model m]\n", 2, "timeout",
     "belongs in [endpoint NAME] or [model NAME]", NULL},
    {EP "[model m]\nbase_url = http://x\n", 4, "base_url",
     "belongs in [endpoint NAME]", NULL},
    {EP "[model m]\napi_key = sk-live-secret\n", 4, "api_key", "unknown key",
     "sk-live-secret"},
    {EP "[model m]\nendpoint =\n", 4, "endpoint", "empty value", NULL},
    /* providers */
    {"[endpoint e]\nkind = azure\nbase_url = http://h\n[model m]\n", 1,
     "api_version", "kind = azure needs it", NULL},
    {EP "api_version = 2024-10-21\n[model m]\n", 3, "api_version",
     "only kind = azure", NULL},
    {EP "api_version = 2024 10\n[model m]\n", 3, "api_version",
     "not an api-version", NULL},
    {EP "header = X-Token sk-live-secret\n[model m]\n", 3, "header",
     "expected 'Name: value'", "sk-live-secret"},
    {EP "header = X Token: sk-live-secret\n[model m]\n", 3, "header",
     "is not a header name", "sk-live-secret"},
    {EP "header = Bearer sk-live-secret: x\n[model m]\n", 3, "header",
     "is not a header name", "sk-live-secret"},
    {EP "header = Authorization: Bearer sk-live-secret\n[model m]\n", 3,
     "header", "is set by warmd", "sk-live-secret"},
    {EP "header = x-api-key: sk-live-secret\n[model m]\n", 3, "header",
     "is set by warmd", "sk-live-secret"},
    {EP "header_env = X-Gw: WARMTH_TEST_UNSET_VAR\n[model m]\n", 3,
     "header_env", "environment variable WARMTH_TEST_UNSET_VAR is not set",
     NULL},
    {EP "header_env = X-Gw: sk-live-secret\n[model m]\n", 3, "header_env",
     "the name of an environment variable", "sk-live-secret"},
    {EP "header_env = X-Gw WARMTH_TEST_HDR\n[model m]\n", 3, "header_env",
     "expected 'Name: VARIABLE'", "WARMTH_TEST_HDR"},
    {EP "[model m]\nreasoning_effort = extreme\n", 4, "reasoning_effort",
     "not one of: minimal, low, medium, high", NULL},
    {"[endpoint e]\nkind = anthropic\nbase_url = http://h\n[model m]\n"
     "reasoning_effort = low\n",
     5, "reasoning_effort", "kind = anthropic takes no reasoning_effort", NULL},
    {EP "[model m]\nthinking = off\n", 4, "thinking",
     "use reasoning_effort = minimal", NULL},
    {EP "[model m]\nthinking = on\n", 4, "thinking", "not one of: off", NULL},
    {"[endpoint e]\nkind = azure\nbase_url = http://h\napi_version = v\n"
     "[model m]\nprobe = models\n",
     6, "probe", "has no such probe", NULL},
    {"[endpoint e]\nkind = gemini\nbase_url = http://h\n[model m]\n"
     "max_tokens_param = max_completion_tokens\n",
     5, "max_tokens_param", "the gemini API only takes max_tokens", NULL},
    {EP "[model m]\nprice_cache_write = -1\n", 4, "price_cache_write",
     "negative", NULL},
    {EP "[model m]\nactive = Mon-Fry 07:00-20:00\n", 4, "active",
     "'Mon-Fry': days are", NULL},
    {EP "[model m]\nactive = Mon-Fri 07:00-25:00\n", 4, "active",
     "'07:00-25:00': times are HH:MM-HH:MM", NULL},
    {EP "[model m]\nactive = 07:00-20:00\nactive = 8-9\n", 5, "active", "'8-9'",
     NULL},
    {EP "[model m]\nactive = 07:00-20:00\ntimezone = Mars/Olympus\n", 5,
     "timezone", "'Mars/Olympus': no such zone", NULL},
    {EP "[model m]\ntimezone = UTC\n", 4, "timezone", "only used with active",
     NULL},
    {EP "[model m]\nactive = 07:00-20:00\nwarm_before = 2x\n", 5, "warm_before",
     "'2x'", NULL},
};

START_TEST(test_errors) {
  const struct bad *b = &bad[_i];
  char err[512], want[64];
  load_bad(b->text, err, sizeof err);
  if (b->line)
    snprintf(want, sizeof want, "t.conf:%d: ", b->line);
  else
    snprintf(want, sizeof want, "t.conf: ");
  ck_assert_msg(strstr(err, want), "case %d: '%s' lacks '%s'", _i, err, want);
  ck_assert_msg(strstr(err, b->key), "case %d: '%s' lacks '%s'", _i, err,
                b->key);
  ck_assert_msg(strstr(err, b->what), "case %d: '%s' lacks '%s'", _i, err,
                b->what);
  ck_assert_msg(!b->never || !strstr(err, b->never), "case %d: '%s' shows '%s'",
                _i, err, b->never);
}
END_TEST

/* ---- units --------------------------------------------------------------- */

static const struct {
  const char *s;
  int64_t ns; /* -1: invalid */
} durs[] = {
    {"0", 0},
    {"0s", 0},
    {"0ms", 0},
    {"1ms", 1000000},
    {"250ms", 250000000},
    {"5s", 5000000000},
    {"4m", 240000000000},
    {"1h", 3600000000000},
    {"1.5s", 1500000000},
    {"0.5ms", 500000},
    {"2.25m", 135000000000},
    {"0.000000001s", 1},
    {"2562047h", 2562047LL * 3600 * 1000000000},
    {"9223372036s", 9223372036LL * 1000000000},
    {"", -1},
    {"5", -1},
    {"00", -1},
    {"-5s", -1},
    {"+5s", -1},
    {"5x", -1},
    {"5 s", -1},
    {" 5s", -1},
    {"5s ", -1},
    {"s", -1},
    {"ms", -1},
    {".5s", -1},
    {"5.s", -1},
    {"5sec", -1},
    {"5S", -1},
    {"1e3s", -1},
    {"0x10s", -1},
    {"5ms5", -1},
    {"1.0000000001s", -1},
    {"99999999999h", -1},
    {"2562048h", -1},
    {"9223372037s", -1},
    {"18446744073709551616s", -1},
    {"nan", -1},
};

START_TEST(test_duration) {
  int64_t ns = 12345;
  int rc = wd_parse_duration(durs[_i].s, &ns);
  if (durs[_i].ns < 0) {
    ck_assert_msg(rc == -1, "'%s' parsed as %lld", durs[_i].s, (long long)ns);
    ck_assert_int_eq(ns, 12345); /* untouched */
  } else {
    ck_assert_msg(rc == 0, "'%s' refused", durs[_i].s);
    ck_assert_int_eq(ns, durs[_i].ns);
  }
}
END_TEST

static const struct {
  const char *s;
  double f; /* < 0: invalid */
} pcts[] = {
    {"0", 0},         {"0%", 0},    {"10%", 0.10},
    {"12.5%", 0.125}, {"50%", 0.5}, {"100%", 1.0},
    {"0.1%", 0.001},  {"", -1},     {"10", -1},
    {"%", -1},        {"-5%", -1},  {"10 %", -1},
    {"1e1%", -1},     {"ten%", -1}, {"10%%", -1},
    {".5%", -1},      {"5.%", -1},  {"1234567890123456%", -1},
    {"10%x", -1},
};

START_TEST(test_percent) {
  double f = 7;
  int rc = wd_parse_percent(pcts[_i].s, &f);
  if (pcts[_i].f < 0) {
    ck_assert_msg(rc == -1, "'%s' parsed as %g", pcts[_i].s, f);
    ck_assert(f == 7);
  } else {
    ck_assert_msg(rc == 0, "'%s' refused", pcts[_i].s);
    ck_assert_msg(near_eq(f, pcts[_i].f), "'%s' -> %g", pcts[_i].s, f);
  }
}
END_TEST

START_TEST(test_parse_null) {
  int64_t ns;
  double f;
  ck_assert_int_eq(wd_parse_duration(NULL, &ns), -1);
  ck_assert_int_eq(wd_parse_duration("5s", NULL), -1);
  ck_assert_int_eq(wd_parse_percent(NULL, &f), -1);
  ck_assert_int_eq(wd_parse_percent("5%", NULL), -1);
}
END_TEST

/* ---- API keys ------------------------------------------------------------ */

static struct wd_endpoint ep_env(const char *var) {
  struct wd_endpoint e = {.name = "e", .api_key_env = (char *)var};
  return e;
}

static struct wd_endpoint ep_file(const char *name) {
  static char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  struct wd_endpoint e = {.name = "e", .api_key_file = path};
  return e;
}

START_TEST(test_key_none) {
  struct wd_endpoint e = {.name = "e"};
  char err[256] = "junk";
  ck_assert_ptr_null(wd_endpoint_key(&e, err, sizeof err));
  ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(test_key_env) {
  struct wd_endpoint e = ep_env("WARMTH_TEST_KEY");
  char err[256];
  setenv("WARMTH_TEST_KEY", "  sk-test-123\n", 1);
  char *k = wd_endpoint_key(&e, err, sizeof err);
  ck_assert_str_eq(k, "sk-test-123");
  ck_assert_str_eq(err, "");
  free(k);

  unsetenv("WARMTH_TEST_KEY");
  ck_assert_ptr_null(wd_endpoint_key(&e, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "WARMTH_TEST_KEY is not set"));

  setenv("WARMTH_TEST_KEY", " \n", 1);
  ck_assert_ptr_null(wd_endpoint_key(&e, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "WARMTH_TEST_KEY is empty"));

  /* A key with a newline inside would inject headers; never echoed. */
  setenv("WARMTH_TEST_KEY", "sk-secret-1\nX-Evil: 1", 1);
  ck_assert_ptr_null(wd_endpoint_key(&e, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "WARMTH_TEST_KEY"));
  ck_assert_ptr_null(strstr(err, "sk-secret"));
  ck_assert_ptr_null(strstr(err, "Evil"));
}
END_TEST

/* wd_keys_check collects warnings through its callback. */
static void add_warning(void *arg, const char *msg) {
  char *all = arg;
  strncat(all, msg, 2047 - strlen(all));
  strncat(all, "\n", 2047 - strlen(all));
}

/* wd_keys_check: the checks warmd and --check-config share (issue 12
 * item 10).  A key over plain http warns unless the host is loopback. */
START_TEST(test_keys_check) {
  static const struct {
    const char *url;
    int warns;
  } urls[] = {
      {"http://127.0.0.1:8080/v1", 0},
      {"http://127.9.9.9/v1", 0},
      {"http://localhost:11434", 0},
      {"http://LOCALHOST./v1", 0},
      {"http://a.localhost/v1", 0},
      {"http://[::1]:8000/v1", 0},
      {"http://[::ffff:127.0.0.1]/v1", 0},
      {"http://user@127.0.0.1/v1", 0},
      {"https://api.example.com/v1", 0},
      {"http://10.0.0.5:8000/v1", 1},
      {"http://169.254.1.1/v1", 1},
      {"http://[fe80::1]/v1", 1},
      {"http://localhost.example.com/v1", 1},
      {"http://127.0.0.1@evil.example/v1", 1},
      {"HTTP://api.example.com/v1", 1},
  };
  struct wd_endpoint ep[2] = {{.name = "k", .api_key_env = "WARMTH_TEST_KEY"},
                              {.name = "nokey"}};
  struct wd_config c = {.endpoints = ep, .nendpoints = 2};
  char err[256], warnings[2048];
  setenv("WARMTH_TEST_KEY", "sk-test-123", 1);
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
    ep[0].base_url = ep[1].base_url = (char *)urls[i].url;
    warnings[0] = 0;
    char **keys = wd_keys_check(&c, add_warning, warnings, err, sizeof err);
    ck_assert_ptr_nonnull(keys);
    ck_assert_str_eq(keys[0], "sk-test-123");
    ck_assert_ptr_null(keys[1]); /* no key, no warning */
    wd_keys_free(keys, 2);
    if (urls[i].warns)
      ck_assert_msg(strstr(warnings, "warning: endpoint k: the API key would "
                                     "travel in clear text") &&
                        !strstr(warnings, "nokey"),
                    "%s: %s", urls[i].url, warnings);
    else
      ck_assert_msg(warnings[0] == 0, "%s: %s", urls[i].url, warnings);
    ck_assert_ptr_null(strstr(warnings, "sk-test"));
  }
  /* An unusable key refuses the whole config, naming the endpoint. */
  setenv("WARMTH_TEST_KEY", "sk-a\r\nX-Evil: 1", 1);
  ck_assert_ptr_null(wd_keys_check(&c, add_warning, warnings, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "endpoint k:"));
  ck_assert_ptr_null(strstr(err, "Evil"));
  unsetenv("WARMTH_TEST_KEY");
  ck_assert_ptr_null(wd_keys_check(&c, NULL, NULL, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "is not set"));
}
END_TEST

START_TEST(test_key_file) {
  char err[256];
  write_file("key", "sk-file-456\n", 12, 0600);
  struct wd_endpoint e = ep_file("key");
  char *k = wd_endpoint_key(&e, err, sizeof err);
  ck_assert_str_eq(k, "sk-file-456");
  ck_assert_str_eq(err, "");
  free(k);

  /* Readable by every user: usable, with a warning that hides the key. */
  write_file("key", "sk-file-456\n", 12, 0644);
  k = wd_endpoint_key(&e, err, sizeof err);
  ck_assert_str_eq(k, "sk-file-456");
  ck_assert_msg(strncmp(err, "warning:", 8) == 0, "%s", err);
  ck_assert_ptr_nonnull(strstr(err, "/key"));
  ck_assert_ptr_null(strstr(err, "sk-file"));
  free(k);

  write_file("key", "\n\n", 2, 0600);
  ck_assert_ptr_null(wd_endpoint_key(&e, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "is empty"));

  write_file("key", "sk-one\nsk-two\n", 14, 0600);
  ck_assert_ptr_null(wd_endpoint_key(&e, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "not one word"));
  ck_assert_ptr_null(strstr(err, "sk-"));

  write_file("key", "sk-a\0b", 6, 0600);
  ck_assert_ptr_null(wd_endpoint_key(&e, err, sizeof err));
  ck_assert_ptr_null(strstr(err, "sk-"));
  ck_assert(err[0]);

  e = ep_file("nokey");
  ck_assert_ptr_null(wd_endpoint_key(&e, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "nokey"));

  e = ep_file(".");
  ck_assert_ptr_null(wd_endpoint_key(&e, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
}
END_TEST

START_TEST(test_placeholder) {
  static const char *yes[] = {"",
                              "   ",
                              "YOUR_API_KEY",
                              "your-key-here",
                              "sk-...",
                              "sk-xxxxxxxx",
                              "<key>",
                              "<YOUR KEY>",
                              "changeme",
                              "CHANGE_ME",
                              "xxx",
                              "XXXXXXXXXXXX",
                              "sk-",
                              "sk-proj-xxxx",
                              "sk-ant-...",
                              "****",
                              "replace-with-a-key",
                              "OPENAI_API_KEY",
                              "sk-\xE2\x80\xA6"};
  static const char *no[] = {"sk-proj-3fA9kL2mQ8vR7tY1uZ0wX5cB4nD6eH",
                             "sk-ant-api03-abcdEFGH1234ijklMNOP5678qrst",
                             "0123456789abcdef0123456789abcdef",
                             "local-secret-token", "x1"};
  ck_assert_int_eq(wd_config_check_placeholder(NULL), 1);
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    ck_assert_msg(wd_config_check_placeholder(yes[i]) == 1, "'%s'", yes[i]);
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    ck_assert_msg(wd_config_check_placeholder(no[i]) == 0, "'%s'", no[i]);
}
END_TEST

/* ---- limits -------------------------------------------------------------- */

START_TEST(test_edges_ok) {
  struct wd_config *c = load_ok("[warmd]\n"
                                "max_concurrency = 1024\n"
                                "capacity = 1048576\n"
                                "tick = 10s\n"
                                "stale_after = 20s\n"
                                "budget_per_day = 0\n" EP "[model " N63 "]\n"
                                "[model m]\n"
                                "max_tokens = 4096\n"
                                "rise = 100\n"
                                "fall = 100\n"
                                "jitter = 50%\n"
                                "min_headroom = 100%\n"
                                "interval = 10s\n"
                                "idle_after = 2562047h\n");
  ck_assert_int_eq(c->max_concurrency, 1024);
  ck_assert_uint_eq(c->capacity, 1u << 20);
  ck_assert_int_eq((int)strlen(c->models[0].name), 63);
  ck_assert_int_eq(c->models[1].max_tokens, 4096);
  ck_assert(near_eq(c->models[1].jitter, 0.5));
  ck_assert(near_eq(c->models[1].min_headroom, 1.0));
  ck_assert_int_eq(c->models[1].interval_ns, c->tick_ns);
  wd_config_free(c);

  c = load_ok("[warmd]\nmax_concurrency = 1\n" EP
              "[model m]\nmax_tokens = 1\nrise = 1\nfall = 1\njitter = 0\n");
  ck_assert_int_eq(c->max_concurrency, 1);
  wd_config_free(c);
}
END_TEST

/* n models, one per line pair; returns the text (malloc'd). */
static char *many(int n, int dup_last) {
  size_t cap = 64 + (size_t)n * 32;
  char *t = malloc(cap);
  size_t len = (size_t)snprintf(t, cap, EP);
  for (int i = 0; i < n; i++)
    len += (size_t)snprintf(t + len, cap - len, "[model m%d]\nrise = 2\n",
                            dup_last && i == n - 1 ? 7 : i);
  return t;
}

START_TEST(test_many_models) {
  char *t = many(5000, 0);
  struct wd_config *c = load_ok(t);
  free(t);
  ck_assert_int_eq(c->nmodels, 5000);
  ck_assert_uint_eq(c->capacity, 10000);
  ck_assert_str_eq(c->models[4999].name, "m4999");
  ck_assert_int_eq(c->models[4999].line, 3 + 2 * 4999);
  ck_assert_int_eq(c->models[4999].rise, 2);
  wd_config_free(c);
}
END_TEST

START_TEST(test_many_dup) {
  char err[512], want[64];
  char *t = many(5000, 1);
  load_bad(t, err, sizeof err);
  free(t);
  snprintf(want, sizeof want, "t.conf:%d: [model m7]", 3 + 2 * 4999);
  ck_assert_msg(strstr(err, want), "%s", err);
  ck_assert_msg(strstr(err, "first at line 17"), "%s", err);
}
END_TEST

START_TEST(test_prefix_limits) {
  static char big[WD_PREFIX_MAX + 1];
  char err[512];
  memset(big, 'a', sizeof big);
  write_file("p", big, WD_PREFIX_MAX, 0644);
  struct wd_config *c = load_ok(EP "[model m]\nprobe_prefix_file = p\n");
  ck_assert_int_eq((int)strlen(c->models[0].prefix), WD_PREFIX_MAX);
  wd_config_free(c);

  write_file("p", big, WD_PREFIX_MAX + 1, 0644);
  load_bad(EP "[model m]\nprobe_prefix_file = p\n", err, sizeof err);
  ck_assert_msg(strstr(err, "t.conf:4: [model m] probe_prefix_file:"), "%s",
                err);
  ck_assert_msg(strstr(err, "larger than 64 KiB"), "%s", err);

  write_file("p", "", 0, 0644);
  load_bad(EP "[model m]\nprobe_prefix_file = p\n", err, sizeof err);
  ck_assert_msg(strstr(err, "is empty"), "%s", err);

  write_file("p", "ab\0c", 4, 0644);
  load_bad(EP "[model m]\nprobe_prefix_file = p\n", err, sizeof err);
  ck_assert_msg(strstr(err, "NUL"), "%s", err);

  write_file("p", "caf\xc3", 4, 0644); /* cut in a sequence */
  load_bad(EP "[model m]\nprobe_prefix_file = p\n", err, sizeof err);
  ck_assert_msg(strstr(err, "not UTF-8"), "%s", err);

  write_file("p", "\xed\xa0\x80", 3, 0644); /* a surrogate */
  load_bad(EP "[model m]\nprobe_prefix_file = p\n", err, sizeof err);
  ck_assert_msg(strstr(err, "not UTF-8"), "%s", err);

  static const char utf8[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5";
  write_file("p", utf8, sizeof utf8 - 1, 0644);
  c = load_ok(EP "[model m]\nprobe_prefix_file = p\n");
  ck_assert_str_eq(c->models[0].prefix, utf8);
  wd_config_free(c);
}
END_TEST

START_TEST(test_key_limits) {
  static char big[WD_KEY_MAX + 1];
  char err[256];
  memset(big, 'k', sizeof big);
  write_file("key", big, WD_KEY_MAX + 1, 0600);
  struct wd_endpoint e = ep_file("key");
  ck_assert_ptr_null(wd_endpoint_key(&e, err, sizeof err));
  ck_assert_msg(strstr(err, "larger than"), "%s", err);
  write_file("key", big, WD_KEY_MAX, 0600);
  char *k = wd_endpoint_key(&e, err, sizeof err);
  ck_assert_ptr_nonnull(k);
  ck_assert_int_eq((int)strlen(k), WD_KEY_MAX);
  free(k);
}
END_TEST

/* An error message never overflows the caller's buffer. */
START_TEST(test_small_err) {
  char err[16];
  memset(err, 'z', sizeof err);
  struct wd_config *c = (struct wd_config *)&c;
  ck_assert_int_eq(
      wd_config_load(conf("t.conf", EP "[model m]\ninterval = 5x\n"), &c, err,
                     10),
      -1);
  ck_assert_int_eq((int)strlen(err), 9);
  ck_assert_int_eq(err[15], 'z');
  ck_assert_int_eq(
      wd_config_load(conf("t.conf", EP "[model m]\ninterval = 5x\n"), &c, NULL,
                     0),
      -1);
}
END_TEST

/* kind = ollama | vllm, probe = load, keep_alive, max_loaded (issue 10):
 * defaults, inheritance, the seconds and forever forms, and the errors. */
START_TEST(test_local_servers) {
  static const char *man_keys[] = {"keep_alive", "max_loaded"};
  char err[512];
  struct wd_config *c = load_ok("[endpoint o]\nkind = ollama\n"
                                "base_url = http://127.0.0.1:11434\n"
                                "max_loaded = 2\nkeep_alive = 20m\n"
                                "[endpoint v]\nkind = vllm\n"
                                "base_url = http://127.0.0.1:8000/v1\n"
                                "[model a]\nendpoint = o\n"
                                "[model b]\nendpoint = o\nkeep_alive = 600\n"
                                "probe = chat\n"
                                "[model c]\nendpoint = o\nkeep_alive = -1\n"
                                "[model d]\nendpoint = v\n"
                                "[endpoint o2]\nkind = ollama\n"
                                "base_url = http://127.0.0.1:11435\n"
                                "[model e]\nendpoint = o2\ninterval = 10m\n"
                                "[model f]\nendpoint = o2\n"
                                "[model g]\nendpoint = o2\ninterval = 1m\n");
  ck_assert_int_eq(c->endpoints[0].kind, WD_KIND_OLLAMA);
  ck_assert_int_eq(c->endpoints[0].max_loaded, 2);
  ck_assert_int_eq(c->endpoints[1].kind, WD_KIND_VLLM);
  ck_assert_int_eq(c->endpoints[1].max_loaded, 0);
  /* a: inherits the endpoint's keep_alive; probe defaults to load */
  ck_assert_int_eq(c->models[0].probe, WD_PROBE_LOAD);
  ck_assert_str_eq(c->models[0].keep_alive, "20m");
  ck_assert_int_eq(c->models[0].keep_alive_ns, 1200 * WD_NS_PER_S);
  /* b: its own, in seconds; an explicit probe stays */
  ck_assert_int_eq(c->models[1].probe, WD_PROBE_CHAT);
  ck_assert_str_eq(c->models[1].keep_alive, "600");
  ck_assert_int_eq(c->models[1].keep_alive_ns, 600 * WD_NS_PER_S);
  ck_assert_int_eq(c->models[2].keep_alive_ns, WD_KEEP_FOREVER);
  /* d: vllm keeps the chat default and has no keep_alive */
  ck_assert_int_eq(c->models[3].probe, WD_PROBE_CHAT);
  ck_assert_ptr_null(c->models[3].keep_alive);
  /* e, f: nothing set: twice the interval, at least 5 minutes */
  ck_assert_str_eq(c->models[4].keep_alive, "1200s");
  ck_assert_str_eq(c->models[5].keep_alive, "480s"); /* interval 4m */
  ck_assert_str_eq(c->models[6].keep_alive, "300s");
  wd_config_free(c);

  load_bad("[endpoint o]\nkind = ollama\nbase_url = http://h\n"
           "[model a]\nkeep_alive = 0\n",
           err, sizeof err);
  ck_assert_msg(strstr(err, "keep_alive"), "%s", err);
  load_bad("[endpoint o]\nkind = ollama\nbase_url = http://h\n"
           "[model a]\nkeep_alive = 1m\ninterval = 2m\n",
           err, sizeof err);
  ck_assert_msg(strstr(err, "between warmups"), "%s", err);
  load_bad(EP "[model a]\nprobe = load\n", err, sizeof err);
  ck_assert_msg(strstr(err, "no such probe"), "%s", err);
  load_bad(EP "[model a]\nkeep_alive = 10m\n", err, sizeof err);
  ck_assert_msg(strstr(err, "kind = ollama"), "%s", err);
  load_bad(EP "max_loaded = 2\n[model a]\n", err, sizeof err);
  ck_assert_msg(strstr(err, "max_loaded") && strstr(err, ":3:"), "%s", err);
  load_bad("[endpoint o]\nkind = ollama\nbase_url = http://h\n"
           "max_loaded = -1\n[model a]\n",
           err, sizeof err);
  ck_assert_msg(strstr(err, "max_loaded"), "%s", err);

  const char *man = man_page();
  man_documents(man, man_keys, sizeof man_keys / sizeof man_keys[0]);
  ck_assert_msg(strstr(man, ".B ollama") && strstr(man, ".B vllm") &&
                    strstr(man, ".B load"),
                "warmd.conf.5 lacks kind ollama/vllm or probe load");
}
END_TEST

/* [warmd] control_group (issue 12): who may run mutating control commands;
 * none by default, a group name's rules, documented. */
START_TEST(test_control_group) {
  struct wd_config *c = load_ok(EP "[model m]\n");
  ck_assert_ptr_null(c->control_group);
  wd_config_free(c);
  c = load_ok("[warmd]\ncontrol_group = warmth-admin\n" EP "[model m]\n");
  ck_assert_str_eq(c->control_group, "warmth-admin");
  wd_config_free(c);
  c = load_ok("[warmd]\ncontrol_group =\n" EP "[model m]\n");
  ck_assert_ptr_null(c->control_group);
  wd_config_free(c);
  char err[512];
  ck_assert_int_eq(wd_config_load(conf("t.conf", "[warmd]\ncontrol_group = a "
                                                 "b\n" EP "[model m]\n"),
                                  &c, err, sizeof err),
                   -1);
  ck_assert_ptr_nonnull(strstr(err, "not a group name"));
  static const char *const key[] = {"control_group"};
  man_documents(man_page(), key, 1);
}
END_TEST

static Suite *config_suite(void) {
  Suite *s = suite_create("config");
  TCase *core = tcase_create("core");
  tcase_add_checked_fixture(core, setup, teardown);
  tcase_add_test(core, test_full);
  tcase_add_test(core, test_defaults);
  tcase_add_test(core, test_price_cached_default);
  tcase_add_test(core, test_provider_keys);
  tcase_add_test(core, test_syntax);
  tcase_add_test(core, test_several_endpoints);
  tcase_add_test(core, test_example);
  tcase_add_test(core, test_demo);
  tcase_add_test(core, test_manpage_keys);
  tcase_add_test(core, test_manpage_every_key);
  tcase_add_test(core, test_no_file);
  tcase_add_test(core, test_control_group);
  tcase_add_loop_test(core, test_errors, 0, (int)(sizeof bad / sizeof bad[0]));
  tcase_add_loop_test(core, test_duration, 0,
                      (int)(sizeof durs / sizeof durs[0]));
  tcase_add_loop_test(core, test_percent, 0,
                      (int)(sizeof pcts / sizeof pcts[0]));
  tcase_add_test(core, test_parse_null);
  tcase_add_test(core, test_key_none);
  tcase_add_test(core, test_key_env);
  tcase_add_test(core, test_key_file);
  tcase_add_test(core, test_keys_check);
  tcase_add_test(core, test_placeholder);
  suite_add_tcase(s, core);

  TCase *limits = tcase_create("limits");
  tcase_add_checked_fixture(limits, setup, teardown);
  tcase_set_timeout(limits, 30);
  tcase_add_test(limits, test_edges_ok);
  tcase_add_test(limits, test_many_models);
  tcase_add_test(limits, test_many_dup);
  tcase_add_test(limits, test_prefix_limits);
  tcase_add_test(core, test_local_servers);
  tcase_add_test(limits, test_key_limits);
  tcase_add_test(limits, test_small_err);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(config_suite()); }
