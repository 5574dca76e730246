/* warmth.h - read the per-host LLM warmth table kept by warmd.
 *
 * One coordinator (warmd) per host keeps models warm and publishes, in a
 * POSIX shared-memory segment, what it knows of each model.  Worker processes
 * (PHP-FPM, Apache prefork, Gunicorn, ...) link this library to read that
 * table without locks, allocation or system calls (the only one on the hot
 * path is the vDSO clock), and to tell the coordinator which models they use.
 *
 * Thread safety: a handle may be shared by threads of one process; every
 * function is lock-free and async-signal-unsafe only where it re-attaches
 * or fetches the demand segment.  Nothing a thread may still be reading is
 * unmapped or freed before warmth_close(), however long it holds on (a
 * blocked foreach callback, a long wait_warm).
 * Fork safety: a handle opened before fork() works in the children.
 *
 * Errors: functions return 0 (or a non-negative count) on success and a
 * negative WARMTH_E* code on failure; warmth_strerror() describes it.
 */
#ifndef WARMTH_H
#define WARMTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(WARMTH_BUILDING)
#define WARMTH_EXPORT __attribute__((visibility("default")))
#else
#define WARMTH_EXPORT
#endif

#define WARMTH_VERSION_MAJOR 0
#define WARMTH_VERSION_MINOR 1
#define WARMTH_VERSION_PATCH 0
#define WARMTH_VERSION_HEX                                                     \
  ((WARMTH_VERSION_MAJOR << 16) | (WARMTH_VERSION_MINOR << 8) |                \
   WARMTH_VERSION_PATCH)
#define WARMTH_VERSION_STRING "0.1.0"

/* Default state segment name; the WARMTH_SHM environment variable overrides
 * it, and a non-NULL name given to warmth_open() overrides both.  The demand
 * segment (what touch and report write) has no name: the coordinator hands
 * it out over a Unix socket (see touch). */
#define WARMTH_SHM_DEFAULT "/warmth"

/* Longest model name, without the terminating NUL.  Names are 1..63 bytes of
 * printable ASCII without spaces (0x21..0x7e). */
#define WARMTH_NAME_MAX 63

/* Error codes.  Append only: a code is never renumbered or reused. */
#define WARMTH_ERRNO_MAP(XX)                                                   \
  XX(INVAL, 1, "invalid argument")                                             \
  XX(NOMEM, 2, "out of memory")                                                \
  XX(NOENT, 3, "no such segment (is warmd running?)")                          \
  XX(ACCES, 4, "permission denied opening the segment")                        \
  XX(SYS, 5, "system call failed (see errno)")                                 \
  XX(TRUNCATED, 6, "segment is truncated or empty")                            \
  XX(BADMAGIC, 7, "segment is not a warmth table (foreign magic)")             \
  XX(BADVERSION, 8, "segment has an unsupported ABI version")                  \
  XX(BADLAYOUT, 9, "segment header points outside the segment")                \
  XX(BADOWNER, 10, "segment is owned by an unexpected user")                   \
  XX(INSECURE, 11, "segment is writable by others than its owner")             \
  XX(NOTREADY, 12, "segment is still being initialised")                       \
  XX(NOTFOUND, 13, "model not in the table")                                   \
  XX(BUSY, 14, "record kept changing; writer stalled mid-update?")             \
  XX(NAMETOOLONG, 15, "model name too long or not printable ASCII")            \
  XX(NODEMAND, 16, "demand segment not available")                             \
  XX(TIMEDOUT, 17, "timed out")                                                \
  XX(STALE, 18, "coordinator heartbeat is stale")                              \
  XX(RETIRED, 19, "segment retired by its coordinator")                        \
  XX(FULL, 20, "table is full")                                                \
  XX(EXIST, 21, "already exists")

enum warmth_errno {
#define WARMTH__ERR(name, num, msg) WARMTH_E##name = -(num),
  WARMTH_ERRNO_MAP(WARMTH__ERR)
#undef WARMTH__ERR
};

/* Model states, as published by the coordinator.  Append only. */
enum warmth_state {
  WARMTH_UNKNOWN = 0,   /* never probed yet (or coordinator stale) */
  WARMTH_WARMING = 1,   /* a warmup is in flight, not warm yet */
  WARMTH_WARM = 2,      /* warm until warm_until */
  WARMTH_FAILING = 3,   /* `fall` failures in a row */
  WARMTH_IDLE = 4,      /* nobody touched it for idle_after: not warmed */
  WARMTH_DISABLED = 5,  /* paused by the operator, a key or model problem */
  WARMTH_REACHABLE = 6, /* the provider lists the model; not proven loaded */
  WARMTH_SLEEPING = 7,  /* the server sleeps (vLLM): no warmup is sent */
  WARMTH_STATE_COUNT
};

/* Record flags (warmth_model_info.flags).  Append only.
 *   SLOW           warm, but latency above latency_alert
 *   KEY_PROBLEM    401/403: the API key was refused
 *   BUDGET         daily budget reached: chat probes stop
 *   PAUSED         paused by the operator
 *   THROTTLED      rate limited, or under min_headroom
 *   REAL_TRAFFIC   the last warm extension came from workers' real requests
 *   PREFIX_CACHED  the provider confirmed the cached prompt prefix
 *   FLEET          warm because another host of the fleet warmed it (or
 *                  saw real traffic): fleet mode, warmd.conf(5) [fleet]
 *   MODEL_PROBLEM  the provider does not know the model id (not listed, or
 *                  model_not_found): not retried until reload or resume
 *   OFF_HOURS      outside the model's warm windows (active=): not warmed */
#define WARMTH_F_SLOW 0x01u
#define WARMTH_F_KEY_PROBLEM 0x02u
#define WARMTH_F_BUDGET 0x04u
#define WARMTH_F_PAUSED 0x08u
#define WARMTH_F_THROTTLED 0x10u
#define WARMTH_F_REAL_TRAFFIC 0x20u
#define WARMTH_F_PREFIX_CACHED 0x40u
#define WARMTH_F_FLEET 0x80u
#define WARMTH_F_MODEL_PROBLEM 0x100u
#define WARMTH_F_OFF_HOURS 0x200u

/* Error classes (warmth_model_info.error_class).  Append only. */
enum warmth_error_class {
  WARMTH_ERR_NONE = 0,
  WARMTH_ERR_CONNECT = 1, /* DNS, connect, TLS */
  WARMTH_ERR_TIMEOUT = 2,
  WARMTH_ERR_HTTP = 3,   /* a non-2xx status not listed below */
  WARMTH_ERR_AUTH = 4,   /* 401/403 */
  WARMTH_ERR_RATE = 5,   /* 429 */
  WARMTH_ERR_SERVER = 6, /* 5xx */
  WARMTH_ERR_BODY = 7,   /* invalid or oversized reply */
  WARMTH_ERR_BUDGET = 8, /* not sent: budget reached */
  WARMTH_ERR_MODEL = 9,  /* model not found / not listed by the provider */
  WARMTH_ERR_CLASS_COUNT
};

/* One model's record, copied out consistently by warmth_lookup().  Times
 * are CLOCK_MONOTONIC nanoseconds (0 = never).  The struct may grow at its
 * end: set `size` to sizeof(struct warmth_model_info) before a call; the
 * library fills in no more than that, and sets `size` to what it filled
 * (less than the caller's when the library is older than its header). */
struct warmth_model_info {
  uint32_t size;
  uint16_t state;       /* enum warmth_state */
  uint16_t http_status; /* last HTTP status, 0 if none */
  char name[WARMTH_NAME_MAX + 1];
  int64_t warm_until;        /* warm while now < warm_until */
  int64_t last_probe;        /* end of the last warmup */
  int64_t last_ok;           /* last success, warmup or real traffic */
  int64_t retry_after_until; /* provider asked to wait until then */
  uint64_t successes;        /* warmups that succeeded */
  uint64_t failures;         /* warmups that failed */
  uint64_t tokens_in;
  uint64_t tokens_out;
  uint64_t tokens_cached; /* input tokens the provider served from cache */
  uint64_t cost_nusd;     /* cost of all warmups, in 1e-9 USD */
  uint32_t last_latency_us;
  uint32_t ewma_latency_us;
  uint32_t dns_us, connect_us, tls_us, ttfb_us; /* parts of last latency */
  uint32_t fails_in_row;
  uint32_t flags;             /* WARMTH_F_* */
  uint16_t error_class;       /* enum warmth_error_class */
  uint16_t endpoint;          /* index of the endpoint in warmd's config */
  uint32_t headroom_requests; /* x-ratelimit-remaining-requests, or ~0u */
  uint32_t headroom_tokens;   /* x-ratelimit-remaining-tokens, or ~0u */
  uint32_t slot;              /* record slot (stable while the model exists) */
  uint64_t generation;  /* slot generation: changes when a slot is reused */
  uint32_t interval_ms; /* warmup interval configured for the model */
  uint32_t warm_ttl_ms; /* how long a success keeps it warm */
};

/* Coordinator liveness, from the segment header. */
struct warmth_status {
  uint32_t size;            /* set to sizeof(struct warmth_status); on
                               return: the bytes the library filled */
  int32_t pid;              /* coordinator pid */
  int64_t heartbeat_age_ns; /* now - last heartbeat (CLOCK_MONOTONIC) */
  int64_t stale_after_ns;   /* heartbeat older than this: stale */
  int64_t created_ns;       /* CLOCK_REALTIME when the segment was made */
  uint32_t retired;         /* 0 live, 1 retired (clean stop), 2 superseded */
  /* 1 when heartbeat_age_ns > stale_after_ns, or when the segment is
   * retired or superseded (retired != 0): nobody is keeping it current. */
  uint32_t stale;
  uint32_t models;   /* models in the table */
  uint32_t capacity; /* record slots */
  uint64_t index_generation;
};

typedef struct warmth warmth_t;

/* warmth_open flags.  WARMTH_OPEN_LAZY: return a handle even if the
 * segment is not there yet; calls re-attach by themselves. */
#define WARMTH_OPEN_LAZY 0x1u

/* Opens the table.  `shm_name` NULL means $WARMTH_SHM, else "/warmth".
 * Without WARMTH_OPEN_LAZY, fails with the reason the segment cannot be
 * used.  Checks, before trusting a byte, that the segment is owned by an
 * expected user (root, the caller, the user "warmth", or $WARMTH_OWNER, a
 * name or uid) and writable by no one but its owner.  Either way the handle
 * later follows a coordinator that replaces the segment. */
WARMTH_EXPORT int warmth_open(warmth_t **out, const char *shm_name,
                              unsigned flags);

/* Unmaps and frees the handle. NULL is ignored. */
WARMTH_EXPORT void warmth_close(warmth_t *h);

/* Copies one consistent record of `model` into *info (info->size set by the
 * caller).  Returns 0, WARMTH_ENOTFOUND, WARMTH_EBUSY (the coordinator
 * replaced the record during each of a bounded number of tries) or an attach
 * error. */
WARMTH_EXPORT int warmth_lookup(warmth_t *h, const char *model,
                                struct warmth_model_info *info);

/* 1 if `model` is warm now (state warm, now < warm_until, coordinator not
 * stale or retired), 0 if not, or a negative error.  A stale coordinator
 * reads as not warm: old warmth is never trusted. */
WARMTH_EXPORT int warmth_is_warm(warmth_t *h, const char *model);

/* Tells the coordinator that this worker uses `model` (demand signal: an
 * idle model is warmed within one tick).  Stores only when the coarse second
 * changes, so hot loops do not bounce cache lines.
 * The first touch or report after the handle attached fetches the demand
 * segment from the coordinator (a sealed memfd over a Unix socket: one
 * connect, at most ~100 ms when the coordinator does not answer); the
 * handle keeps it across fork() and fetches anew after a coordinator
 * restart.  WARMTH_ENODEMAND: none served, the coordinator refused us (not
 * in its group), or another network namespace; WARMTH_EBADOWNER /
 * WARMTH_EINSECURE: what was offered is not the table owner's or not
 * sealed (someone else bound the socket's name).  A failed fetch is
 * retried after 100 ms, backing off to 5 s. */
WARMTH_EXPORT int warmth_touch(warmth_t *h, const char *model);

/* Reports a real request to `model`: its latency and whether it succeeded.
 * A real success counts as warmth, so the coordinator skips the warmup it
 * would have sent, once the coordinator has confirmed the model itself (its
 * own last warmup succeeded): a report never turns a failing, disabled or
 * never-confirmed model warm; the coordinator then warms it first. Also
 * touches the model. */
WARMTH_EXPORT int warmth_report(warmth_t *h, const char *model,
                                uint32_t latency_us, int ok);

/* Touches `model` and sleeps (futex on the record, no spinning) until it is
 * warm or `timeout_ms` passes.  Returns 1 warm, 0 timed out, or an error. */
WARMTH_EXPORT int warmth_wait_warm(warmth_t *h, const char *model,
                                   uint32_t timeout_ms);

/* Resolved model handles: resolve a name once, then ask about that model
 * without hashing it again.  A worker asks about the same few models all
 * its life; each call on a handle is one latch read of the model's record
 * (no hashing, no allocation, no system call but the vDSO clock).
 *
 * A handle caches the model's slot, the slot's generation and the
 * attachment, and re-resolves by itself after a reload, a slot reused by
 * another model, a replaced segment or fork(); it checks the name in the
 * record it reads, so it never returns another model's data.  A handle
 * belongs to the warmth_t it came from: free it before warmth_close(h).
 * Like warmth_t, it may be shared by the threads of one process and used in
 * the children of the process that resolved it.
 *
 * Clock: warmth_is_warm() and warmth_model_is_warm() read
 * CLOCK_MONOTONIC_COARSE (a vDSO read, a fifth of CLOCK_MONOTONIC's cost
 * on x86 with the TSC clock) when clock_getres() says it ticks at least
 * every 10 ms, and CLOCK_MONOTONIC only when the answer could depend on the
 * difference: the coarse clock trails the precise one by less than its
 * resolution, so "warm" is answered from it only when warm_until and the
 * stale bound are more than twice that resolution away, and "not warm"
 * when they have passed even by the coarse clock.  Answers are the ones
 * CLOCK_MONOTONIC gives; warmd's tick (50 ms by default) is far coarser.
 * The coarse clock is read by calling the vDSO's clock_gettime directly
 * (glibc's wrapper cost as much as the read: 4.9 ns against 3.0 here).
 * WARMTH_CLOCK=precise in the environment reads CLOCK_MONOTONIC always;
 * WARMTH_CLOCK=glibc reads the coarse clock through glibc. */
typedef struct warmth_model warmth_model_t;

/* Resolves `model` in h and returns a handle in *out.  Succeeds for any
 * valid name, even one not in the table (yet): calls on the handle then
 * return WARMTH_ENOTFOUND, as the calls by name do, until it appears.
 * Errors: WARMTH_EINVAL, WARMTH_ENAMETOOLONG, WARMTH_ENOMEM. */
WARMTH_EXPORT int warmth_resolve(warmth_t *h, const char *model,
                                 warmth_model_t **out);

/* Frees a model handle.  NULL is ignored. */
WARMTH_EXPORT void warmth_model_free(warmth_model_t *m);

/* warmth_is_warm(), warmth_lookup(), warmth_touch(), warmth_report() and
 * warmth_wait_warm() on a resolved handle: same results, same errors. */
WARMTH_EXPORT int warmth_model_is_warm(warmth_model_t *m);
WARMTH_EXPORT int warmth_model_lookup(warmth_model_t *m,
                                      struct warmth_model_info *info);
WARMTH_EXPORT int warmth_model_touch(warmth_model_t *m);
WARMTH_EXPORT int warmth_model_report(warmth_model_t *m, uint32_t latency_us,
                                      int ok);
WARMTH_EXPORT int warmth_model_wait_warm(warmth_model_t *m,
                                         uint32_t timeout_ms);

/* Calls fn for each model in slot order with a consistent copy of its record;
 * stops early when fn returns non-zero.  Returns the number of models
 * visited or a negative error. */
typedef int (*warmth_iter_fn)(const struct warmth_model_info *info, void *arg);
WARMTH_EXPORT int warmth_foreach(warmth_t *h, warmth_iter_fn fn, void *arg);

/* Fills *st (st->size set by the caller) from the segment header. */
WARMTH_EXPORT int warmth_status(warmth_t *h, struct warmth_status *st);

/* Name of a state ("warm"), error class ("timeout") or error code. */
WARMTH_EXPORT const char *warmth_state_name(int state);
WARMTH_EXPORT const char *warmth_error_class_name(int error_class);
WARMTH_EXPORT const char *warmth_strerror(int err);
WARMTH_EXPORT const char *warmth_err_name(int err);

/* Runtime version, WARMTH_VERSION_HEX of the library actually loaded. */
WARMTH_EXPORT unsigned warmth_version(void);
WARMTH_EXPORT const char *warmth_version_string(void);

#ifdef __cplusplus
}
#endif
#endif /* WARMTH_H */
