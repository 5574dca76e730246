/* conf.h - warmd's configuration (config.c): the structs a parsed
 * warmd.conf(5) becomes, and loading it.  Value grammar: units.h; API keys
 * and other secrets: secret.h.  (Not "config.h": that name is autoconf's.)
 */
#ifndef WARMD_CONF_H
#define WARMD_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The probe kinds (`probe =`); which ones a provider speaks is its row in
 * WD_PROVIDERS.  Append only. */
/* load: Ollama's POST /api/generate without a prompt (no tokens). */
enum wd_probe_kind {
  WD_PROBE_CHAT = 0,
  WD_PROBE_MODELS = 1,
  WD_PROBE_LOAD = 2
};

/* What a provider speaks, for config checks (the code is provider.h). */
enum {
  WD_CAP_CHAT = 1 << WD_PROBE_CHAT,     /* probe = chat */
  WD_CAP_MODELS = 1 << WD_PROBE_MODELS, /* probe = models */
  WD_CAP_LOAD = 1 << WD_PROBE_LOAD,     /* probe = load (Ollama) */
  WD_CAP_EFFORT = 1 << 8,      /* reasoning_effort in the request body */
  WD_CAP_THINKING = 1 << 9,    /* thinking = off */
  WD_CAP_COMPLETION = 1 << 10, /* max_tokens_param = max_completion_tokens */
  WD_CAP_LISTS = 1 << 11       /* its models list names the ids requests use */
};

/* The providers, one row each: X(ENUM, kind word, capabilities).  Adding
 * one is a row here and a file tools/warmd/prov_WORD.c that defines
 * `const struct wd_provider wd_prov_WORD` (provider.h).  Rows are only ever
 * appended (the enum value of a kind must not change). */
#define WD_PROVIDERS(X)                                                        \
  X(OPENAI, openai,                                                            \
    WD_CAP_CHAT | WD_CAP_MODELS | WD_CAP_LISTS | WD_CAP_EFFORT |               \
        WD_CAP_COMPLETION)                                                     \
  X(ANTHROPIC, anthropic,                                                      \
    WD_CAP_CHAT | WD_CAP_MODELS | WD_CAP_LISTS | WD_CAP_THINKING)              \
  X(AZURE, azure, WD_CAP_CHAT | WD_CAP_EFFORT | WD_CAP_COMPLETION)             \
  X(GEMINI, gemini,                                                            \
    WD_CAP_CHAT | WD_CAP_MODELS | WD_CAP_LISTS | WD_CAP_THINKING)              \
  X(OLLAMA, ollama, WD_CAP_CHAT | WD_CAP_MODELS | WD_CAP_LISTS | WD_CAP_LOAD)  \
  X(VLLM, vllm, WD_CAP_CHAT | WD_CAP_MODELS | WD_CAP_LISTS | WD_CAP_COMPLETION)

enum wd_kind {
#define WD_X(e, w, caps) WD_KIND_##e,
  WD_PROVIDERS(WD_X)
#undef WD_X
      WD_KIND__N
};
_Static_assert(WD_KIND_OPENAI == 0 && WD_KIND_ANTHROPIC == 1 &&
                   WD_KIND_OLLAMA == 4 && WD_KIND_VLLM == 5,
               "kinds are appended, never renumbered");
/* The capabilities of a kind (0 for an unknown one), and its word
 * ("openai", "?" for an unknown one).  Inline: config.c and the prober
 * (two libraries) both ask. */
static inline unsigned wd_kind_caps(int kind) {
  static const unsigned caps[WD_KIND__N] = {
#define WD_X(e, w, c) [WD_KIND_##e] = (c),
      WD_PROVIDERS(WD_X)
#undef WD_X
  };
  return kind >= 0 && kind < WD_KIND__N ? caps[kind] : 0;
}
static inline const char *wd_kind_name(int kind) {
  static const char *const names[WD_KIND__N] = {
#define WD_X(e, w, c) [WD_KIND_##e] = #w,
      WD_PROVIDERS(WD_X)
#undef WD_X
  };
  return kind >= 0 && kind < WD_KIND__N ? names[kind] : "?";
}
enum wd_tokens_param { WD_MAX_TOKENS = 0, WD_MAX_COMPLETION_TOKENS = 1 };
/* [model] reasoning_effort: unset sends nothing (the model's default). */
enum wd_effort {
  WD_EFFORT_UNSET = 0,
  WD_EFFORT_MINIMAL,
  WD_EFFORT_LOW,
  WD_EFFORT_MEDIUM,
  WD_EFFORT_HIGH
};
/* [model] thinking: unset sends nothing; off disables it. */
enum wd_thinking { WD_THINKING_UNSET = 0, WD_THINKING_OFF = 1 };
/* Anthropic's cache writes cost 1.25 x input (5-minute cache). */
#define WD_CACHE_WRITE_FACTOR 1.25

struct wd_endpoint {
  char *name;         /* section name: [endpoint NAME] */
  int kind;           /* enum wd_kind */
  char *base_url;     /* e.g. http://127.0.0.1:8080/v1 (no trailing /) */
  char *api_key_env;  /* name of the env variable holding the key, or NULL */
  char *api_key_file; /* path of a file holding the key, or NULL */
  char *anthropic_version; /* default "2023-06-01" */
  char *api_version;       /* azure: the api-version query, required */
  char **headers;          /* `header = Name: value` lines, repeatable */
  int nheaders;            /* (values count as secrets: never logged) */
  int64_t timeout_ns;      /* default 5 s */
  int line;  /* line of the [endpoint NAME] header, for messages */
  int fleet; /* enum wd_fleet_mode: share warmth with the fleet? */
  /* kind = ollama: */
  char *keep_alive;      /* the models' default keep_alive, or NULL */
  int64_t keep_alive_ns; /* parsed; WD_KEEP_FOREVER: never unload */
  int max_loaded;        /* never load past this many models; 0: no limit */
};
#define WD_KEEP_FOREVER (-1) /* keep_alive < 0 */

/* [endpoint] fleet: auto = yes unless base_url is loopback or link-local. */
enum wd_fleet_mode { WD_FLEET_AUTO = 0, WD_FLEET_YES = 1, WD_FLEET_NO = 2 };
#define WD_FLEET_ID_MAX 64 /* [fleet] name and host_id */

/* A warm window (`active = Mon-Fri 07:00-20:00`; window.h). */
struct wd_window {
  uint8_t days;   /* bit 0 Monday .. bit 6 Sunday: the days it opens */
  uint16_t start; /* minutes after local midnight, 0..1439 */
  uint16_t end;   /* 1..1440; <= start: closes the next day */
};

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
  char *keep_alive;         /* Ollama keep_alive as sent ("10m", "600", "-1");
                               always set for kind = ollama after loading */
  int64_t keep_alive_ns;    /* parsed; WD_KEEP_FOREVER: never unload */
  int line;                 /* line of the [model NAME] header, for messages */
  int reasoning_effort;     /* enum wd_effort: sent by WD_CAP_EFFORT kinds */
  int thinking;             /* enum wd_thinking (WD_CAP_THINKING kinds) */
  double price_cache_write; /* USD per million tokens written to the
                               prompt cache (default 1.25 x price_in) */
  /* Warm windows (window.h); nwindows 0: always. */
  struct wd_window *windows;
  int nwindows;
  char *timezone;         /* tz database name, NULL = the local zone */
  int64_t warm_before_ns; /* warm this early before a window opens */
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
/* The name of key i of section "warmd", "endpoint", "model" or "fleet"
 * (the parser's own tables), NULL past the last: check_config tests that
 * warmd.conf(5) documents each one in its section. */
const char *wd_config_key(const char *section, int i);

/* Size cap of probe_prefix_file (the prompt prefix sent with chat probes). */
#define WD_PREFIX_MAX (64 * 1024)

#endif
