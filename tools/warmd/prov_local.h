/* prov_local.h - local model servers: Ollama (prov_ollama.c) and vLLM
 * (prov_vllm.c).  The request bodies, the reply parsers and the decisions
 * are pure (no I/O, no clock reads: the caller passes the times), so that
 * tests/unit/check_prov_local.c drives them on canned replies.
 *
 * Ollama, as warmd speaks it (base_url = http://HOST:11434):
 *   load probe  GET /api/ps      how many models are loaded, is ours one?
 *               POST /api/generate {model, keep_alive, stream:false}: no
 *                                prompt, so the server only loads the model
 *                                (done_reason "load"; no tokens, no cost),
 *                                sent only when wd_ollama_may_load() says so
 *               GET /api/ps      our model's expires_at: warm_until
 *   models      GET /api/tags    the models the server has
 * "Warm" is then true: the model itself is loaded until expires_at.
 *
 * vLLM (base_url = http://HOST:8000/v1): the OpenAI API, and before each
 * warmup GET {server root}/is_sleeping; a sleeping engine gets no warmup
 * (inference on a sleeping engine can crash it).
 */
#ifndef WARMD_PROV_LOCAL_H
#define WARMD_PROV_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "provider.h"
#include "reply.h"
#include "warmd.h"

/* ---- Ollama ------------------------------------------------------------- */

/* {"model":ID,"keep_alive":KA,"stream":false}, malloc'd, or NULL.  KA goes
 * as a JSON number when the config gave seconds ("600", "-1"), else as the
 * duration string Ollama parses ("10m"). */
char *wd_ollama_load_body(const struct wd_model *m);
/* probe = chat on Ollama: the same with "prompt":"hi" and
 * "options":{"num_predict":max_tokens}: the model answers one token. */
char *wd_ollama_generate_body(const struct wd_model *m);

/* A /api/generate reply: 0 when it is a JSON object with "done": true;
 * usage from prompt_eval_count (in) and eval_count (out), 0 when absent
 * (a load has neither).  -1 with a reason otherwise. */
int wd_ollama_reply_generate(const char *body, size_t len, struct wd_usage *u,
                             char *err, size_t errlen);

/* What /api/ps says, seen from one model. */
struct wd_ollama_ps {
  int nloaded;             /* models loaded now, ours included */
  int found;               /* ours is one of them */
  int64_t expires_unix_ns; /* ours: expires_at as unix ns; -1 unknown */
};
/* Parses {"models":[{"name","model","expires_at",...}]} for the model `id`
 * (an Ollama name without a tag means ":latest").  0, or -1 with a reason
 * when there is no models array. */
int wd_ollama_reply_ps(const char *body, size_t len, const char *id,
                       struct wd_ollama_ps *ps, char *err, size_t errlen);
/* Whether a load of the model may be sent: always when it is loaded
 * already (the load only renews its keep_alive) or max_loaded is 0 (no
 * limit); else only when fewer than max_loaded models are loaded, so that
 * the server never has to unload a model (maybe one a client is using) to
 * make room for a warmup. */
int wd_ollama_may_load(const struct wd_ollama_ps *ps, int max_loaded);
/* warm_until (CLOCK_MONOTONIC ns) from ps->expires_unix_ns and the two
 * clocks read at the same moment; -1 when unknown.  An expiry in the past
 * gives now_mono (warm no longer); a far one saturates. */
int64_t wd_ollama_warm_until(const struct wd_ollama_ps *ps, int64_t now_mono,
                             int64_t now_unix);
/* Ollama names: "llama3.2" and "llama3.2:latest" are the same model. */
int wd_ollama_same_name(const char *a, const char *b);
/* /api/tags: {"models":[{"name":...},...]}, like wd_reply_models (ids and
 * nids may be NULL: only check the shape). */
int wd_ollama_reply_tags(const char *body, size_t len, char ***ids, int *nids,
                         char *err, size_t errlen);

/* ---- vLLM --------------------------------------------------------------- */

/* The server root of a base URL: base_url without trailing slashes and
 * then without a trailing "/v1", with `path` appended; malloc'd or NULL.
 *   http://h:8000/v1 + /is_sleeping -> http://h:8000/is_sleeping */
char *wd_vllm_root_url(const char *base_url, const char *path);
/* {"is_sleeping": bool} -> *sleeping 0 or 1; -1 with a reason otherwise. */
int wd_vllm_reply_sleeping(const char *body, size_t len, int *sleeping,
                           char *err, size_t errlen);

#endif /* WARMD_PROV_LOCAL_H */
