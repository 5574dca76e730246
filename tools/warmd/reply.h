/* reply.h - building probe requests and reading provider replies.
 *
 * Pure functions (no I/O, no clocks: the caller passes "now"), so that every
 * parser can be unit-tested on canned input (tests/unit/check_reply.c). probe.c
 * is their only user in warmd.  Nothing here ever sees the API key, except
 * wd_redact() and wd_reply_error_message(), which only remove it.
 *
 * Unknown numbers are -1; numbers that are present but absurd are clamped,
 * never wrapped, so the scheduler can add them to a clock without overflow.
 */
#ifndef WARMD_REPLY_H
#define WARMD_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "provider.h"
#include "warmd.h"

#define WD_REPLY_BODY_MAX 65536    /* a probe reply is a few hundred bytes */
#define WD_REPLY_HEADERS_MAX 65536 /* all header lines of one reply */
/* Per reply.  A real reply to a 3-token probe is tiny; a broken relay must
 * not be able to push the day's cost to infinity with one number. */
#define WD_REPLY_TOKENS_MAX UINT32_MAX
/* Longest wait we believe from Retry-After or a reset header: a provider
 * that asks for more is asked again a day later. */
#define WD_REPLY_WAIT_MAX_NS (86400 * WD_NS_PER_S)

/* ---- request and reply bodies -------------------------------------------
 * Each provider's own (provider.h); these call the provider of `kind`, for
 * callers and tests that need only one piece. */

/* The JSON body of a chat probe of `kind` for m, malloc'd, or NULL (out of
 * memory, or the id or prefix is not valid UTF-8). */
char *wd_build_chat_body(const struct wd_model *m, int kind);

/* A chat reply of `kind`: 0 when it parses (usage zero when absent), else
 * -1 with a short reason in err.  The meaning of each count: provider.h. */
int wd_reply_chat(int kind, const char *body, size_t len, struct wd_usage *u,
                  char *err, size_t errlen);

/* A models list ({"data":[{"id":...},...]}).  Returns 0 when "data" is an
 * array.  When ids is not NULL, fills a malloc'd array of the malloc'd
 * string ids (free with wd_model_ids_free); -1 with a reason otherwise. */
int wd_reply_models(const char *body, size_t len, char ***ids, int *nids,
                    char *err, size_t errlen);

/* The provider's error message: error.message (openai and anthropic), or
 * error when it is a string, or a top-level message or detail (vLLM, API
 * gateways).  Writes "" when there is none.  The message is redacted of
 * `secret` (may be NULL) before it is truncated, then sanitized. */
void wd_reply_error_message(const char *body, size_t len, const char *secret,
                            char *out, size_t outlen);

/* Copies at most outlen-1 bytes of in[0..inlen) into out as printable ASCII
 * (tab, CR, LF become spaces, other bytes '?'), NUL-terminated.  Returns the
 * length written. */
size_t wd_sanitize(char *out, size_t outlen, const char *in, size_t inlen);

/* Removes secrets from a text an upstream wrote (in place; s can only get
 * shorter), before it is logged or stored anywhere: `secret` (may be NULL)
 * and every secret given to wd_redact_set().  The rule: every run of
 * WD_REDACT_RUN (8) or more consecutive bytes that also occurs in a secret
 * becomes "***" (one per stretch), wherever it starts in the secret: a
 * provider that echoes a key's prefix, middle or end gives none of it away.
 * Shorter runs stay (7 bytes of a key are not the key, and a provider's
 * "sk-...abcd" must stay readable).  A secret of 4 to 7 bytes is removed
 * where it occurs whole; shorter ones are left alone: they would only
 * mangle the text.  Out of memory, s becomes "***".  Any thread. */
void wd_redact(char *s, const char *secret);
#define WD_REDACT_RUN 8
#define WD_REDACT_SHORTEST 4
/* How much of a provider's message is redacted beyond what is kept. */
#define WD_REDACT_SCAN_MAX 4096
/* The secrets wd_redact() always removes: every configured key (and any
 * secret header value), replacing the previous list (copies are kept and
 * wiped when replaced; NULL entries skipped; n = 0 clears).  0, or -1 out
 * of memory (the previous list stays). */
int wd_redact_set(const char *const *secrets, int n);
/* Adds a secret that wd_redact() removes for the rest of the process,
 * whatever wd_redact_set() replaces later: the [fleet] password, read once
 * at start (fleet changes need a restart, so the one in use never changes
 * on reload).  A copy is kept; NULL or shorter than WD_REDACT_SHORTEST is
 * a no-op.  0, or -1 out of memory. */
int wd_redact_keep(const char *secret);

/* ---- reply headers ------------------------------------------------------ */

struct wd_ratelimit {
  int64_t remaining_requests, limit_requests; /* -1 unknown */
  int64_t remaining_tokens, limit_tokens;     /* -1 unknown */
  int64_t reset_requests_ns, reset_tokens_ns; /* relative, -1 unknown */
  int64_t retry_after_ns;                     /* relative, -1 unknown */
  /* Filled while the lines arrive; wd_ratelimit_finish() turns the absolute
   * times into relative ones. */
  int64_t date_s;          /* the reply's Date, unix seconds, -1 */
  int64_t retry_at_s;      /* Retry-After as an HTTP-date, -1 */
  int64_t reset_req_at_ns; /* anthropic resets (RFC 3339), unix ns, -1 */
  int64_t reset_tok_at_ns;
  int retry_after_ms_seen; /* retry-after-ms wins over Retry-After */
};

void wd_ratelimit_init(struct wd_ratelimit *rl);
/* One header line as libcurl hands it ("Name: value\r\n", not NUL-
 * terminated).  A status line ("HTTP/...") starts a new reply (after a 1xx)
 * and forgets what came before.  Unknown or garbled headers are ignored. */
void wd_ratelimit_header(struct wd_ratelimit *rl, const char *line, size_t len);
/* After the last line: absolute times become waits relative to the reply's
 * Date header when there was one (the provider's clock decided them), else
 * to now_unix_ns (CLOCK_REALTIME).  A time in the past is a wait of 0. */
void wd_ratelimit_finish(struct wd_ratelimit *rl, int64_t now_unix_ns);
/* The wait to report for a reply: Retry-After (or retry-after-ms) when
 * given; else, for a 429 only, the longest reset among the limits that are
 * exhausted (remaining 0); else -1. */
int64_t wd_ratelimit_wait(const struct wd_ratelimit *rl, int http_status);

/* Value parsers, exposed for the tests.  Each returns 0 or -1 (garbage). */
/* Non-negative decimal count ("149984", " 12 ", "7.5" -> 7), clamped to
 * INT64_MAX. */
int wd_parse_count(const char *s, size_t len, int64_t *out);
/* Go-style duration, as OpenAI sends in x-ratelimit-reset-*: "1s", "6m0s",
 * "20ms", "1h2m3.5s", "150us"; a bare number is seconds.  Clamped to
 * WD_REPLY_WAIT_MAX_NS. */
int wd_parse_go_duration(const char *s, size_t len, int64_t *ns);
/* RFC 3339 "2024-05-01T12:00:30Z", "...30.250+02:00" -> unix ns. */
int wd_parse_rfc3339(const char *s, size_t len, int64_t *unix_ns);
/* Retry-After: delta-seconds -> *rel_ns (clamped), or an HTTP-date (via
 * curl_getdate) -> *at_s, the other set to -1. */
int wd_parse_retry_after(const char *s, size_t len, int64_t *rel_ns,
                         int64_t *at_s);

/* ---- outcome ------------------------------------------------------------ */

/* enum warmth_error_class of a finished transfer: curl_code is its CURLcode,
 * http_status 0 when no status line came, body_ok whether a 2xx body
 * parsed, aborted whether our own callbacks stopped it (a body or headers
 * over the cap).  The mapping:
 *   OPERATION_TIMEDOUT                             -> TIMEOUT
 *   a non-2xx status (even if the body was cut):  401/403 AUTH, 429 RATE,
 *                                                  5xx SERVER, other HTTP
 *   aborted by us (over the cap)                   -> BODY
 *   resolve, connect, TLS, proxy errors           -> CONNECT
 *   2xx and a receive error or a bad body          -> BODY
 *   any other transfer error before a status line -> CONNECT (e.g. reset)
 *   2xx and body_ok                                -> NONE */
int wd_classify(int curl_code, int http_status, int body_ok, int aborted);

#endif /* WARMD_REPLY_H */
