/* provider.h - one adapter per provider: what a probe looks like on the
 * wire for each `kind` of endpoint, and how its replies read.
 *
 * A provider is a struct of functions in a file of its own
 * (tools/warmd/prov_WORD.c defines `const struct wd_provider wd_prov_WORD`)
 * and a row in WD_PROVIDERS (conf.h), which names its kind word and what it
 * speaks (probe kinds, reasoning settings) for the config checks.  probe.c
 * does the transport (libcurl, timings, caps, rate-limit headers, extra
 * `header =` lines, redaction) and asks the provider for the rest:
 *
 *   request()     URL and JSON body of a probe kind (or of the models list)
 *   headers()     the auth header (its name and format) and protocol headers
 *   reply()       a 2xx body: parsed, usage (reasoning, cache reads and
 *                 writes), and what the provider says of the model's state
 *   models()      a models list -> ids as used in `id =`
 *   error()       a non-2xx body: message and error class (a missing model
 *                 is WARMTH_ERR_MODEL)
 *   pre_request() optional: a request sent before each probe (vLLM's
 *   pre_reply()   GET /is_sleeping); its reply says go on, or ends the probe
 *                 with a result of its own (a state such as sleeping)
 *
 * reply(), error() and pre_reply() get a copy of the model's settings in
 * which every string but id is NULL (a reload may free the config while a
 * probe runs): they must not need the prefix or the name.
 *
 * Every function is pure (no I/O, no clock) and never sees the API key,
 * except headers(), which puts it in a header, and error(), which only
 * redacts it.  Shared shapes (the OpenAI protocol, which azure and local
 * servers reuse) are exported below so a provider can borrow them.
 */
#ifndef WARMD_PROVIDER_H
#define WARMD_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* Tokens of one reply.  Every provider fills the same meanings:
 *   in          all input tokens: cached and cache writes included
 *   cached      the part of `in` read from the provider's prompt cache
 *   cache_write the part of `in` written to the cache (Anthropic)
 *   out         all output tokens, reasoning included (billed as output)
 *   reasoning   the part of `out` spent thinking (OpenAI reasoning_tokens,
 *               Gemini thoughtsTokenCount; Anthropic reports none: 0)
 * so uncached input = in - cached - cache_write, never negative. */
struct wd_usage {
  uint64_t in;
  uint64_t out;
  uint64_t cached;
  uint64_t reasoning;
  uint64_t cache_write;
};

/* What a reply said, beyond "it parsed". */
struct wd_reply {
  struct wd_usage u;
  /* A state the provider reported for the model, 0 = none (so far only
   * pre_reply: WARMTH_SLEEPING for a vLLM engine put to sleep). */
  int state;
  /* How long the provider says it keeps the model loaded from now, -1
   * unknown (Ollama's /api/ps expires_at). */
  int64_t warm_for_ns;
  /* pre_reply: going on, this probe makes the server hold one model more
   * (Ollama loading a model it has not loaded); the prober counts such
   * probes per endpoint until they end and tells pre_reply (`pending`). */
  int adds;
};

/* A request a provider built: both malloc'd, freed by the caller. */
struct wd_request {
  char *url;  /* absolute */
  char *body; /* JSON for a POST; NULL: a GET */
};

/* headers() hands each header to this as name and a value in two parts
 * (v2 may be NULL: "Bearer " and the key), so that the key is only ever
 * joined in the prober's own wiped buffer; nonzero: out of memory. */
typedef int (*wd_header_fn)(void *arg, const char *name, const char *v1,
                            const char *v2);

/* Which request: a probe kind (enum wd_probe_kind), or the models list that
 * --check-config --online fetches (m is NULL then). */
#define WD_REQ_LIST (-1)

struct wd_provider {
  const char *name; /* the kind word, as in WD_PROVIDERS */
  int kind;         /* enum wd_kind */
  /* 0 and rq filled, or -1 with errno: ENOTSUP (a probe kind this provider
   * does not speak), EINVAL (id or prefix not usable), ENOMEM. */
  int (*request)(const struct wd_endpoint *ep, const struct wd_model *m,
                 int what, struct wd_request *rq);
  /* The provider's own headers; key NULL: no auth header. */
  int (*headers)(const struct wd_endpoint *ep, const char *key,
                 wd_header_fn add, void *arg);
  /* A 2xx body of request `what`: 0, or -1 with a reason in err (the
   * probe then fails with class body).  out is zeroed (warm_for_ns -1)
   * before the call.  m is NULL for WD_REQ_LIST. */
  int (*reply)(const struct wd_model *m, int what, const char *body, size_t len,
               struct wd_reply *out, char *err, size_t errlen);
  /* A models list body: ids (malloc'd array of malloc'd, sanitized strings;
   * free with wd_model_ids_free) as a model's `id =` names them.  0, or -1
   * with a reason.  ids may be NULL: only check the shape. */
  int (*models)(const char *body, size_t len, char ***ids, int *nids, char *err,
                size_t errlen);
  /* A non-2xx reply: writes the provider's message (redacted of secret,
   * sanitized, "" when none) and returns the error class, given cls, the
   * class wd_classify() chose from the status.  m may be NULL. */
  int (*error)(const struct wd_model *m, int http_status, const char *body,
               size_t len, const char *secret, int cls, char *msg,
               size_t msglen);
  /* Optional (NULL: none).  pre_request: 0 and rq filled, 1 no pre-check
   * for this probe, -1 errno.  pre_reply gets the pre-check's status (0:
   * no reply) and body: 0 go on with the probe; 1 the probe ends here with
   * out (e.g. out->state = WARMTH_SLEEPING) and no warmup sent; -1 the
   * probe fails with class body and err. */
  int (*pre_request)(const struct wd_endpoint *ep, const struct wd_model *m,
                     int what, struct wd_request *rq);
  /* ep: the endpoint's numbers (its strings are NULL: the config may be
   * gone); pending: other probes of this endpoint in flight past a
   * pre-check that said out->adds (Ollama's max_loaded counts them);
   * now_unix_ns: the wall clock as the reply came.  Ending the probe (1)
   * with out->warm_for_ns > 0 says the model is loaded for that long
   * without a warmup (Ollama: a client loaded it for longer than ours
   * would keep it). */
  int (*pre_reply)(const struct wd_endpoint *ep, const struct wd_model *m,
                   int pending, int64_t now_unix_ns, int http_status,
                   const char *body, size_t len, struct wd_reply *out,
                   char *err, size_t errlen);
  /* Optional (NULL: none).  A request sent after a probe that succeeded,
   * to read what the probe did (Ollama: GET /api/ps after the load, for
   * expires_at): post_request as pre_request; post_reply gets its status
   * and body and the wall clock (unix ns, read as the reply came: no clock
   * in the providers) and may set out->warm_for_ns: 0; -1 the probe fails
   * with class body and err (the load did not stick). */
  int (*post_request)(const struct wd_endpoint *ep, const struct wd_model *m,
                      int what, struct wd_request *rq);
  int (*post_reply)(const struct wd_endpoint *ep, const struct wd_model *m,
                    int64_t now_unix_ns, int http_status, const char *body,
                    size_t len, struct wd_reply *out, char *err, size_t errlen);
};

/* The provider of a kind, NULL for an unknown kind. */
const struct wd_provider *wd_provider(int kind);
/* For the unit tests only: puts p in kind's place (NULL: the built-in one
 * again), so the prober can be driven through a provider made up for the
 * test (a pre-check, say).  Not thread-safe; warmd never calls it. */
void wd_provider_override(int kind, const struct wd_provider *p);

#define WD_X(e, w, caps) extern const struct wd_provider wd_prov_##w;
WD_PROVIDERS(WD_X)
#undef WD_X

/* ---- shared pieces (provider.c), for providers to borrow ---------------- */

/* base (trailing '/' dropped) + the parts, NULL-terminated; malloc'd. */
char *wd_url_join(const char *base, ...) __attribute__((sentinel));
/* s percent-encoded for one path segment (keep_slash: '/' stays), so an id
 * can never change the path or add a query; malloc'd. */
char *wd_url_escape(const char *s, int keep_slash);
/* The model id the request names (id, else name). */
const char *wd_model_id(const struct wd_model *m);
/* A JSON object from body, or NULL with a reason (not JSON, not an object). */
struct json_t;
struct json_t *wd_json_object(const char *body, size_t len, char *err,
                              size_t errlen);
/* A chat reply's JSON (json_decref it) and in *usage its usage object
 * root[usage_key] (NULL when absent), or NULL with a reason when the body
 * is not JSON or has neither usage nor a content_key array (a reply of
 * some other API). */
struct json_t *wd_chat_json(const char *body, size_t len, const char *usage_key,
                            const char *content_key, struct json_t **usage,
                            char *err, size_t errlen);
/* a + b, at most WD_REPLY_TOKENS_MAX (a sum of clamped counts clamps). */
uint64_t wd_tokens_add(uint64_t a, uint64_t b);
/* A token count of obj[key]: 0 when absent or not a positive number,
 * clamped at WD_REPLY_TOKENS_MAX. */
uint64_t wd_json_tokens(const struct json_t *obj, const char *key);
/* The message of an error body, redacted and sanitized (as
 * wd_reply_error_message). */
void wd_error_text(const struct json_t *root, const char *secret, char *out,
                   size_t outlen);
/* Fills rq from what a request() built: 0, or -1 with errno EINVAL when a
 * wanted body (want_body) could not be built (an id or prefix that is not
 * UTF-8), ENOMEM when the URL could not; what was built is freed then. */
int wd_request_fill(struct wd_request *rq, char *url, char *body,
                    int want_body);
/* The ids of a models list: the string `key` of each object in the array
 * root[list], less a leading `strip` (may be NULL), sanitized.  As
 * wd_provider.models(). */
int wd_ids_list(const char *body, size_t len, const char *list, const char *key,
                const char *strip, char ***ids, int *nids, char *err,
                size_t errlen);
/* An error body as JSON (NULL when it is none: then msg is "") with its
 * message written to msg as wd_error_text; json_decref it. */
struct json_t *wd_error_json(const char *body, size_t len, const char *secret,
                             char *msg, size_t msglen);
/* The body of a chat request: root (its reference taken) with root[key] =
 * value (its reference taken), or NULL when either is NULL or the set
 * fails; what was built is freed then.  Chains: a member that could not be
 * built drops the whole body. */
struct json_t *wd_json_with(struct json_t *root, const char *key,
                            struct json_t *value);
/* root as compact JSON (malloc'd), NULL when root is NULL or out of memory;
 * root's reference is taken. */
char *wd_json_dump(struct json_t *root);
/* A GET of base + path for the models probe and the models list, ENOTSUP
 * for any other `what`: the tail of request() for most providers. */
int wd_request_models(const struct wd_endpoint *ep, int what, const char *path,
                      struct wd_request *rq);
/* A chat reply of request() as wd_chat_json (usage_key, content_key); the
 * usage object, when there is one, goes to usage_of to fill u.  0, or -1
 * with a reason. */
int wd_chat_reply(const char *body, size_t len, const char *usage_key,
                  const char *content_key,
                  void (*usage_of)(const struct json_t *usage,
                                   struct wd_usage *u),
                  struct wd_usage *u, char *err, size_t errlen);
/* The error() of a provider whose error bodies are JSON: msg as
 * wd_error_json; classify() gets root["error"] (anything, or NULL), the
 * status and msg, and returns the class it finds or -1 for none; with
 * none, wd_max_tokens_hint rewrites msg and cls stands.  A body that is
 * no JSON object: cls, msg "". */
int wd_error_classify(const struct wd_model *m, int http_status,
                      const char *body, size_t len, const char *secret, int cls,
                      char *msg, size_t msglen,
                      int (*classify)(const struct json_t *e, int http_status,
                                      const char *msg));
/* A 400 that names max_tokens (or reasoning) means a reasoning model ran
 * out of tokens, or the value is above the model's limit: rewrites msg to
 * say so and name the key to change.  Returns 1 when it did. */
int wd_max_tokens_hint(const struct wd_model *m, int http_status, char *msg,
                       size_t msglen);

/* The OpenAI protocol (prov_openai.c), also spoken by azure and by local
 * servers: the chat body (with_model: the "model" member, which azure
 * takes from the URL instead), the request and headers (vLLM's too), a
 * chat or models reply, an error. */
char *wd_openai_body(const struct wd_model *m, int with_model);
int wd_openai_request(const struct wd_endpoint *ep, const struct wd_model *m,
                      int what, struct wd_request *rq);
int wd_openai_headers(const struct wd_endpoint *ep, const char *key,
                      wd_header_fn add, void *arg);
int wd_openai_reply(const struct wd_model *m, int what, const char *body,
                    size_t len, struct wd_reply *out, char *err, size_t errlen);
int wd_openai_models(const char *body, size_t len, char ***ids, int *nids,
                     char *err, size_t errlen);
int wd_openai_error(const struct wd_model *m, int http_status, const char *body,
                    size_t len, const char *secret, int cls, char *msg,
                    size_t msglen);

/* Usage that no real reply to a probe could carry (a relay that bills
 * 10^30 tokens): 0 when plausible for a probe of m whose prompt prefix is
 * prefix_bytes long (m NULL: only the absolute bound), else -1 and why
 * ("usage impossible: ...").  The bounds:
 *   - any count above WD_USAGE_SANE_MAX;
 *   - a part larger than its whole (cached + cache_write > in, reasoning >
 *     out);
 *   - input above prefix_bytes + WD_USAGE_PROMPT_SLACK (no tokenizer makes
 *     more tokens than bytes; the slack covers "hi", roles and templates);
 *   - visible output (out - reasoning) above 2 x max_tokens + 16 (servers
 *     stop at max_tokens; reasoning is bounded by other settings). */
#define WD_USAGE_SANE_MAX 10000000ULL /* tokens of one kind in one warmup */
#define WD_USAGE_PROMPT_SLACK 4096
int wd_usage_check(const struct wd_model *m, size_t prefix_bytes,
                   const struct wd_usage *u, char *err, size_t errlen);

#endif /* WARMD_PROVIDER_H */
