/* probe.h - the prober (probe.c: libcurl multi) and its requests and
 * results; reply parsing per provider is reply.h.
 */
#ifndef WARMD_PROBE_H
#define WARMD_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct wd_probe_req {
  uint64_t model; /* which model: the table's tag (wd_table_tag) */
  const struct wd_model *m;
  const struct wd_endpoint *ep;
  const char *api_key; /* NULL: no auth header */
};

struct wd_probe_result {
  uint64_t model;  /* as in the request */
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
  /* appended with the providers (provider.h): */
  uint64_t tokens_reasoning;   /* part of tokens_out spent thinking */
  uint64_t tokens_cache_write; /* part of tokens_in written to the cache */
  int state;           /* a state the provider reported (WARMTH_SLEEPING), 0 */
  int64_t warm_for_ns; /* the provider keeps the model loaded this long, -1 */
  int precheck_only;   /* 1: a pre-check ended the probe, no warmup sent */
  /* A models probe that succeeded: 1 when the model's id is in the list, 0
   * when not (error then says so and names the closest ids; ok stays 1:
   * what to make of it is the scheduler's), -1 not checked. */
  int listed;
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

#endif
