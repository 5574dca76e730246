/* warmd.h - the coordinator's modules and the types they share.
 *
 * Modules (one file each):
 *   config.c   INI config (inih): parse, validate, units        wd_config_*
 *   probe.c    libcurl multi prober, reply parsing (jansson)    wd_prober_*
 *   schedule.c per-model schedule, backoff, budget, idle        wd_sched_*
 *   publish.c  results -> shared table (single writer thread)   wd_pub_*
 *   main.c     options, start-up order, main loop, signals
 * Times are CLOCK_MONOTONIC nanoseconds (int64_t) unless named otherwise.
 */
#ifndef WARMD_H
#define WARMD_H

#include <stddef.h>
#include <stdint.h>

#define WD_NS_PER_MS 1000000LL
#define WD_NS_PER_S 1000000000LL
#define WD_FLEET_ID_MAX 64 /* [fleet] name and host_id */

/* ---- config ------------------------------------------------------------- */

enum wd_kind { WD_KIND_OPENAI = 0, WD_KIND_ANTHROPIC = 1 };
enum wd_probe_kind { WD_PROBE_CHAT = 0, WD_PROBE_MODELS = 1 };
enum wd_tokens_param { WD_MAX_TOKENS = 0, WD_MAX_COMPLETION_TOKENS = 1 };

struct wd_endpoint {
  char *name;         /* section name: [endpoint NAME] */
  int kind;           /* enum wd_kind */
  char *base_url;     /* e.g. http://127.0.0.1:8080/v1 (no trailing /) */
  char *api_key_env;  /* name of the env variable holding the key, or NULL */
  char *api_key_file; /* path of a file holding the key, or NULL */
  char *anthropic_version; /* default "2023-06-01" */
  int64_t timeout_ns;      /* default 5 s */
  int line;  /* line of the [endpoint NAME] header, for messages */
  int fleet; /* enum wd_fleet_mode: share warmth with the fleet? */
};

/* [endpoint] fleet: auto = yes unless base_url is loopback or link-local. */
enum wd_fleet_mode { WD_FLEET_AUTO = 0, WD_FLEET_YES = 1, WD_FLEET_NO = 2 };

struct wd_model {
  char *name;               /* section name: [model NAME], a valid table name */
  char *id;                 /* provider's model id (default: name) */
  int endpoint;             /* index into wd_config.endpoints */
  int probe;                /* enum wd_probe_kind */
  int max_tokens;           /* default 3 */
  int max_tokens_param;     /* enum wd_tokens_param */
  int64_t interval_ns;      /* default 240 s */
  double jitter;            /* fraction of interval, 0..0.5, default 0.10 */
  int64_t warm_ttl_ns;      /* default 300 s */
  int64_t timeout_ns;       /* 0 = the endpoint's */
  int rise;                 /* default 1 */
  int fall;                 /* default 3 */
  int64_t idle_after_ns;    /* 0 = always keep warm */
  double price_in;          /* USD per million input tokens */
  double price_out;         /* USD per million output tokens */
  double price_cached;      /* USD per million cached input tokens (default:
                               price_in) */
  int64_t latency_alert_ns; /* 0 = off */
  double min_headroom;      /* fraction 0..1 of the rate limit; 0 = off */
  char *probe_prefix_file;  /* path, or NULL */
  char *prefix;             /* its content, loaded at parse time, or NULL */
  int required;             /* counts for /health/warmup */
  int line;                 /* line of the [model NAME] header, for messages */
};

struct wd_config {
  char *path;
  char *shm;              /* default "/warmth" */
  int64_t tick_ns;        /* default 50 ms */
  int max_concurrency;    /* default 16 */
  int64_t stale_after_ns; /* default 5 s */
  double budget_per_day;  /* USD, 0 = no limit */
  uint32_t capacity;      /* table slots, default max(64, 2 * models) */
  char *control_socket;   /* default /run/warmth/warmd.sock */
  char *state_file;       /* default NULL (no state file) */
  char *http_listen;      /* default 127.0.0.1:9464, "" = off */
  char *event_log;        /* JSON lines, NULL = off */
  char *group;            /* group of the segments and control socket */
  char *pidfile;          /* default NULL */
  int log_level;          /* syslog level, default LOG_INFO */
  /* [fleet] (tools/warmd/fleet.h); fleet_redis NULL = no fleet mode. */
  char *fleet_redis;         /* redis://[user@]host:port/db or unix:/path */
  char *fleet_password_env;  /* variable holding the password, or NULL */
  char *fleet_password_file; /* file holding it, or NULL */
  char *fleet_name;          /* default "default" */
  char *fleet_host_id;       /* default: gethostname() */
  int64_t fleet_timeout_ns;  /* per Redis call, default 200 ms */
  int fleet_budget;          /* 1: budget_per_day counts for the fleet */
  int fleet_line;            /* line of [fleet], 0 when absent */
  struct wd_endpoint *endpoints;
  int nendpoints;
  struct wd_model *models;
  int nmodels;
};

/* Parses and validates `path`.  On error returns -1 and writes
 * "FILE:LINE: [section] key: what is wrong" into err. */
int wd_config_load(const char *path, struct wd_config **out, char *err,
                   size_t errlen);
/* The same from a buffer (for the fuzzer): `name` stands for the file in
 * messages, and relative paths in it are taken from name's directory. */
int wd_config_parse(const char *name, const char *buf, size_t len,
                    struct wd_config **out, char *err, size_t errlen);
void wd_config_free(struct wd_config *c);
/* "250ms", "5s", "4m", "1h", "0" -> ns.  Returns 0 or -1. */
int wd_parse_duration(const char *s, int64_t *ns);
/* "10%" -> 0.10.  Returns 0 or -1. */
int wd_parse_percent(const char *s, double *frac);
/* Reads the API key of an endpoint (env or file, trailing newline cut).
 * Returns a malloc'd string, NULL when the endpoint has no key configured
 * (no auth header), and sets *err on failure (missing variable/file).  The
 * key is never logged. */
char *wd_endpoint_key(const struct wd_endpoint *ep, char *err, size_t errlen);
/* The same for [fleet] password_env / password_file (NULL + err "" when
 * none is configured: no AUTH). */
char *wd_fleet_password(const struct wd_config *c, char *err, size_t errlen);
/* wd_endpoint_key in detail: err is always written ("" when there is
 * nothing to say).  NULL + err "" = no key configured; NULL + err set = the
 * key is unusable (variable unset, file missing, empty, more than
 * WD_KEY_MAX bytes, or not one word of printable ASCII); a key + err set =
 * usable, with a warning starting "warning:" to log (a key file that other
 * users may read).  No message ever contains the key. */
#define WD_KEY_MAX 16384
/* Size cap of probe_prefix_file (the prompt prefix sent with chat probes). */
#define WD_PREFIX_MAX (64 * 1024)
/* 1 if key is an obvious placeholder ("", "YOUR_API_KEY", "sk-...",
 * "<key>", "changeme", "xxxx"), as left over from an example; for
 * --check-config --online.  NULL counts as a placeholder. */
int wd_config_check_placeholder(const char *key);

/* ---- probes ------------------------------------------------------------- */

struct wd_probe_req {
  uint32_t model; /* index into the config's models */
  const struct wd_model *m;
  const struct wd_endpoint *ep;
  const char *api_key; /* NULL: no auth header */
};

struct wd_probe_result {
  uint32_t model;  /* as in the request */
  int ok;          /* 2xx and a body that parses */
  int http_status; /* 0 when no reply */
  int error_class; /* enum warmth_error_class */
  char error[160]; /* short, for logs; never contains the key */
  int64_t started_ns, ended_ns;
  uint32_t total_us, dns_us, connect_us, tls_us, ttfb_us;
  uint64_t tokens_in, tokens_out, tokens_cached;
  int64_t retry_after_ns;    /* relative wait the provider asked for, or -1 */
  int64_t headroom_requests; /* remaining requests, -1 unknown */
  int64_t limit_requests;    /* the limit itself, -1 unknown */
  int64_t headroom_tokens;   /* remaining tokens, -1 unknown */
  int64_t limit_tokens;      /* -1 unknown */
  /* appended by probe.c: */
  int64_t reset_requests_ns; /* until the request limit refills, -1 unknown */
  int64_t reset_tokens_ns;   /* until the token limit refills, -1 unknown */
};

struct wd_prober;
int wd_prober_new(struct wd_prober **out, int max_concurrency);
void wd_prober_free(struct wd_prober *p); /* cancels what is in flight */
/* Starts a probe (copies what it needs from req).  -1 when full. */
int wd_prober_submit(struct wd_prober *p, const struct wd_probe_req *req);
int wd_prober_inflight(const struct wd_prober *p);
/* Runs transfers, waiting at most timeout_ms for activity (or until
 * wd_prober_wakeup), and calls done() for each finished probe. */
typedef void (*wd_probe_done_fn)(const struct wd_probe_result *r, void *arg);
int wd_prober_run(struct wd_prober *p, int timeout_ms, wd_probe_done_fn done,
                  void *arg);
/* Makes a wd_prober_run() in another thread return early. */
void wd_prober_wakeup(struct wd_prober *p);
/* Blocking one-shot GET {base_url}/models for --check-config --online:
 * fills ids (malloc'd array of malloc'd strings) and the HTTP status. */
int wd_list_models(const struct wd_endpoint *ep, const char *api_key,
                   int *http_status, char ***ids, int *nids, char *err,
                   size_t errlen);

/* appended by probe.c:
 * - tokens_in counts all input tokens, cached ones included, for both kinds
 *   (Anthropic's input_tokens + cache_creation + cache_read), so uncached
 *   input = tokens_in - tokens_cached (never negative).
 * - retry_after_ns: Retry-After / retry-after-ms; failing those, on a 429,
 *   the longest reset of an exhausted limit; else -1.  At most 1 day.
 * - wd_prober_submit returns 0, -1 when max_concurrency probes are in
 *   flight (errno EBUSY), -2 when the request cannot be built (errno EINVAL:
 *   bad URL, key with control characters, id/prefix not UTF-8; ENOMEM).
 * - done() is called from wd_prober_run, in its thread, once per submitted
 *   probe, after the probe left the in-flight count (so done() may submit);
 *   r is valid during the call only.  done() must not call wd_prober_run or
 *   wd_prober_free.  Probes cancelled by wd_prober_free get no done().
 * - wd_prober_wakeup is the only call safe from another thread (not from a
 *   signal handler), and not concurrently with wd_prober_free. */
/* libcurl's global state: once per process, before threads that use the
 * prober start (wd_prober_new and wd_list_models call it too, guarded by
 * pthread_once); the cleanup after the last prober is freed, at exit. */
int wd_probe_global_init(void);
void wd_probe_global_cleanup(void);
/* Frees what wd_list_models returned. */
void wd_model_ids_free(char **ids, int n);

#endif /* WARMD_H */
