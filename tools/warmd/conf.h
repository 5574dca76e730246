/* conf.h - warmd's configuration (config.c): the structs a parsed
 * warmd.conf(5) becomes, and loading it.  Value grammar: units.h; API keys
 * and other secrets: secret.h.  (Not "config.h": that name is autoconf's.)
 */
#ifndef WARMD_CONF_H
#define WARMD_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

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
#define WD_FLEET_ID_MAX 64 /* [fleet] name and host_id */

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
  char *control_group;    /* may run mutating control commands; NULL: none */
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

/* Size cap of probe_prefix_file (the prompt prefix sent with chat probes). */
#define WD_PREFIX_MAX (64 * 1024)

#endif
