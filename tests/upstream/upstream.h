/* warmth-upstream: a fake OpenAI / Anthropic API on loopback, for warmth's
 * tests and its no-API-key demo.  Not installed; nothing links to it.
 *
 * Modules, one responsibility each:
 *   upstream.c   main: lifecycle, signals, port and pid files, clock helpers
 *   options.c    command line, config file, --help
 *   models.c     the model table: per-model settings, state and counters
 *   faults.c     fault specs (KIND[:ARG]) and the per-request fault choice
 *   ratelimit.c  request and token windows, the rate-limit headers
 *   api.c        the OpenAI and Anthropic endpoints (what to answer)
 *   azure.c      Azure OpenAI: deployments paths, api-version, api-key
 *   gemini.c     Gemini: models/ID:generateContent, x-goog-api-key,
 *                usageMetadata (translated to and from api.c's OpenAI)
 *   handlers.c   MHD request handling, routing, control endpoints
 *   respond.c    sending a reply: delays, slow and big bodies, holds, resets
 *   ollama.c     Ollama's /api/generate, /api/chat, /api/ps, /api/tags:
 *                loading, idle unloading after keep_alive, LRU eviction
 *   vllm.c       vLLM's sleep mode: /is_sleeping, /sleep, /wake_up
 *
 * Threading: MHD runs one thread per connection, so a reply that sleeps
 * (cold start, slow body, timeout hold) only blocks its own connection.
 * All model state sits behind one mutex (models.c): critical sections are
 * short (no I/O, no sleeping), and one lock makes /_stats exact. */
#ifndef WARMTH_UPSTREAM_H
#define WARMTH_UPSTREAM_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libmicrohttpd 0.9.71 turned the callbacks' int into enum MHD_Result;
 * configure accepts 0.9.70, so both spellings must compile. */
#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result up_mhd_result;
#else
typedef int up_mhd_result;
#endif

#define UP_NAME_MAX 255        /* longest model name accepted */
#define UP_BODY_MAX (1L << 20) /* request bodies above this get 413 */
#define UP_STAR "*"            /* pseudo model: defaults for every model */

/* ---- upstream.c ---- */
struct up_options {
  char *listen_host; /* dotted IPv4, always in 127.0.0.0/8 */
  unsigned port;     /* 0: the kernel picks one */
  char *port_file;
  char *pidfile;
  long max_seconds;  /* 0: no limit */
  char *require_key; /* NULL: no auth */
  bool verbose;
  long window_ms;      /* rate-limit window */
  long cache_ttl_ms;   /* prompt-prefix cache lifetime since last use */
  long keep_alive_ms;  /* Ollama: default keep_alive */
  long max_loaded;     /* Ollama: models loaded at once */
  bool start_sleeping; /* vLLM: asleep from the start */
};
extern struct up_options up_opt;
extern atomic_int up_stop; /* set once at shutdown; sleepers poll it */

int64_t up_now_ns(void);   /* CLOCK_MONOTONIC */
void up_sleep_ms(long ms); /* returns early when up_stop is set */
void up_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- options.c ---- */
/* 0: run; 1: done (--help, --version); -1: error already reported. */
int up_options_parse(int argc, char **argv);
void up_options_free(void);
/* Parses "10s", "500ms", "2m", "1h"; a bare number is seconds. */
int up_parse_duration_ms(const char *s, long *out);
int up_parse_long(const char *s, long min, long max, long *out);

/* ---- faults.c ---- */
enum up_fault_kind {
  UP_FAULT_NONE,
  UP_FAULT_429,     /* Retry-After: ARG seconds */
  UP_FAULT_429DATE, /* Retry-After: HTTP-date ARG seconds ahead */
  UP_FAULT_500,
  UP_FAULT_503, /* Retry-After: ARG seconds */
  UP_FAULT_401,
  UP_FAULT_TIMEOUT, /* never answer; hold until the client gives up */
  UP_FAULT_SLOW,    /* normal reply, body in chunks ARG ms apart */
  UP_FAULT_BIG,     /* 200 with a body of ARG bytes */
  UP_FAULT_BADJSON, /* 200 with a body that is not JSON */
  UP_FAULT_RESET,   /* close the connection without a reply */
  UP_FAULT_FLAKY,   /* every ARG-th request of the model gets 500 */
  UP_FAULT_ABSURD,  /* 200 billing 1e30 tokens (a broken or hostile relay) */
  UP_FAULT_ECHOKEY, /* 401 quoting ARG characters from the middle of the key
                       the request presented, as providers echo keys */
};
struct up_fault {
  enum up_fault_kind kind;
  long arg; /* already defaulted by up_fault_parse */
};
#define UP_SLOW_CHUNKS 5 /* a slow body arrives in this many pieces */

/* spec "KIND[:ARG]"; a non-NULL arg overrides the ":ARG" part. */
int up_fault_parse(const char *spec, const char *arg, struct up_fault *out,
                   const char **err);
void up_fault_format(const struct up_fault *f, char *buf, size_t n);

/* ---- models.c ---- */
enum up_setting {
  UP_SET_COLD_AFTER, /* ms */
  UP_SET_COLD_MS,
  UP_SET_WARM_MS,
  UP_SET_RPM,
  UP_SET_TPM,
  UP_SET_HEADROOM,
  UP_SET_COUNT
};
#define UP_UNSET (-1L) /* per-model setting: use the "*" value */

/* Status keys that are not HTTP codes, for /_stats and the log. */
#define UP_STATUS_RESET (-1)
#define UP_STATUS_TIMEOUT (-2)
#define UP_STATUS_SLOTS 16

/* The protocols that reach api.c through a translation (azure.c,
 * gemini.c, ...): counted per model, so a test sees which paths its
 * requests took.  Append; names in models.c. */
enum up_via { UP_VIA_NATIVE = 0, UP_VIA_AZURE, UP_VIA_GEMINI, UP_VIA__N };

struct up_counters {
  uint64_t requests, chat, messages, models_list;
  uint64_t cold_served, warm_served;
  uint64_t prompt_tokens, completion_tokens, cached_tokens;
  /* completion_tokens includes reasoning_tokens; prompt_tokens includes
   * cached and cache_write tokens (the prefix written to the cache) */
  uint64_t reasoning_tokens, cache_write_tokens;
  uint64_t via[UP_VIA__N];
  int64_t first_ns; /* 0: no request since start or /_reset */
  int64_t last_ns;
  struct {
    int code;
    uint64_t n;
  } status[UP_STATUS_SLOTS];
};

struct up_model {
  char *name;
  long set[UP_SET_COUNT]; /* UP_UNSET: inherit from "*" */
  struct up_fault fault;  /* UP_FAULT_NONE: inherit from "*" */
  bool listed;            /* named by --models */
  /* observed state: survives a plain /_reset, cleared by /_reset?all=1 */
  int64_t warm_ns;      /* last served inference; 0: never (cold) */
  uint64_t prefix_hash; /* last system prefix seen, FNV-1a */
  int64_t prefix_ns;    /* when it was last used; 0: none */
  int64_t win_start_ns; /* current rate-limit window; 0: none */
  long win_requests, win_tokens;
  uint64_t flaky_n;
  struct up_counters c;
};

int up_models_init(void);
void up_models_free(void);
void up_models_lock(void);
void up_models_unlock(void);
/* The rest need the lock held (init-time callers are single-threaded). */
struct up_model *up_model_find(const char *name, bool create);
/* The model a request names: NULL when the name is invalid, unknown under
 * --models, or the table is full (*full set). */
struct up_model *up_model_get(const char *name, bool *full);
struct up_model *up_model_star(void);
long up_model_setting(const struct up_model *m, enum up_setting s);
bool up_model_exists(const struct up_model *m);
int up_models_restrict(const char *csv, const char **err);
bool up_name_valid(const char *name);
void up_count_request(void);                          /* one API request */
void up_count_list(void);                             /* one GET /v1/models */
void up_count_status(struct up_model *m, int status); /* m may be NULL */
json_t *up_stats_json(int64_t now_ns);
json_t *up_models_list_json(void);
json_t *up_faults_json(void);
void up_stats_reset(bool all);
/* picks the fault for one request of m; counts flaky requests */
struct up_fault up_fault_pick(struct up_model *m);

/* ---- ratelimit.c ---- */
struct up_rl_view {
  long req_limit, req_remaining;
  long tok_limit, tok_remaining;
  long reset_ms; /* until the window starts afresh */
};
/* Lock held.  Counts one request of `tokens` tokens in m's window; false
 * (and *retry_s) when the window is spent. */
bool up_rl_admit(struct up_model *m, long tokens, int64_t now, long *retry_s);
void up_rl_view(const struct up_model *m, int64_t now, struct up_rl_view *v);
void up_rl_headers(struct MHD_Response *r, const struct up_rl_view *v,
                   bool anthropic);

/* ---- respond.c ---- */
enum up_action { UP_ACT_SEND, UP_ACT_RESET, UP_ACT_HOLD };
enum up_body_mode { UP_BODY_PLAIN, UP_BODY_SLOW, UP_BODY_BIG };
struct up_reply {
  enum up_action action;
  int status;
  char *body; /* malloc'd, owned by the reply */
  size_t len;
  enum up_body_mode mode;
  long mode_arg;
  long delay_ms;  /* before the first byte */
  bool anthropic; /* error shape and rate-limit header family */
  bool has_rl;
  struct up_rl_view rl;
  long retry_after_s; /* < 0: no Retry-After */
  bool retry_date;    /* Retry-After as an HTTP-date */
};
void up_reply_init(struct up_reply *r, bool anthropic);
void up_reply_json(struct up_reply *r, int status, json_t *obj); /* steals */
void up_reply_error(struct up_reply *r, int status, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
up_mhd_result up_reply_send(struct MHD_Connection *c, struct up_reply *r);
void up_reply_free(struct up_reply *r);

/* ---- api.c ---- */
enum up_api { UP_API_CHAT, UP_API_MESSAGES };
struct up_call {
  json_t *json;         /* parsed body; NULL when it did not parse */
  const char *json_err; /* why it did not parse */
  bool auth_ok;
  const char *key;  /* the key presented (Bearer or x-api-key), or NULL */
  bool has_version; /* anthropic-version header present */
  char model[UP_NAME_MAX + 1]; /* filled for the log */
  enum up_via via;             /* which protocol brought it (counted) */
};
void up_api_infer(enum up_api api, struct up_call *call, struct up_reply *out);
void up_api_list(struct up_call *call, struct up_reply *out);
void up_api_model(const char *id, struct up_call *call, struct up_reply *out);

/* ---- protocols beside OpenAI's and Anthropic's (azure.c, gemini.c) ----
 * Each is one file with a route function that handlers.c calls in turn:
 * true when the request was its (and out holds the answer). */
struct up_http {
  struct MHD_Connection *c;
  const char *url, *method;
  const char *body; /* NULL when empty */
  size_t len;
  bool too_big;
  char *model; /* for the log: the model the request named */
  size_t model_size;
};
bool up_azure_route(const struct up_http *h, struct up_reply *out);
bool up_gemini_route(const struct up_http *h, struct up_reply *out);
/* The key check of --require-key for a header value (NULL: absent). */
bool up_key_ok(const char *given);
/* Counts a request that no model can be charged with (a bad path, a
 * refused request before its model is known).  Takes the lock. */
void up_count_unrouted(int status);
/* ollama.c and vllm.c, the same way */
bool up_ollama_route(const struct up_http *h, struct up_reply *out);
bool up_vllm_route(const struct up_http *h, struct up_reply *out);

/* ---- handlers.c ---- */
up_mhd_result up_handle(void *cls, struct MHD_Connection *c, const char *url,
                        const char *method, const char *version,
                        const char *upload, size_t *upload_size,
                        void **req_cls);
void up_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                  enum MHD_RequestTerminationCode toe);

#endif
