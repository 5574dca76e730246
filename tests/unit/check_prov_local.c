/* check_prov_local.c - Ollama and vLLM (prov_ollama.c, prov_vllm.c): the
 * load probe's body, /api/ps parsing (expires_at -> warm_until), the
 * max_loaded decision, /api/generate and /api/tags replies, vLLM's
 * /is_sleeping and its root URL. */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "prov_local.h"
#include "provider.h"
#include "warmd.h"
#include "warmth.h"

#define S(lit) lit, sizeof(lit) - 1
#define T0 1445412480LL /* 2015-10-21T07:28:00Z (python calendar.timegm) */
#define NS 1000000000LL

static struct wd_model model(const char *id, const char *ka) {
  struct wd_model m;
  memset(&m, 0, sizeof m);
  m.name = "name-x";
  m.id = (char *)id;
  m.keep_alive = (char *)ka;
  m.max_tokens = 3;
  return m;
}

START_TEST(load_body) {
  struct wd_model m = model("llama3.2:1b", "10m");
  char *b = wd_ollama_load_body(&m);
  ck_assert_str_eq(b, "{\"model\":\"llama3.2:1b\",\"keep_alive\":\"10m\","
                      "\"stream\":false}");
  free(b);
  m.keep_alive = "600"; /* seconds go as a number, as Ollama documents */
  b = wd_ollama_load_body(&m);
  ck_assert_str_eq(
      b, "{\"model\":\"llama3.2:1b\",\"keep_alive\":600,\"stream\":false}");
  ck_assert_ptr_null(strstr(b, "prompt")); /* a prompt would generate */
  free(b);
  m.keep_alive = "-1";
  b = wd_ollama_load_body(&m);
  ck_assert_ptr_nonnull(strstr(b, "\"keep_alive\":-1"));
  free(b);
  b = wd_ollama_generate_body(&m);
  ck_assert_ptr_nonnull(strstr(b, "\"prompt\":\"hi\""));
  ck_assert_ptr_nonnull(strstr(b, "\"num_predict\":3"));
  free(b);
  m.prefix = "You are terse.";
  b = wd_ollama_generate_body(&m);
  ck_assert_ptr_nonnull(strstr(b, "\"system\":\"You are terse.\""));
  free(b);
  m.prefix = "bad\xff";
  ck_assert_ptr_null(wd_ollama_generate_body(&m));
  m.prefix = NULL;
  m.id = "bad\xff";
  ck_assert_ptr_null(wd_ollama_load_body(&m));
}
END_TEST

static const char ps3[] =
    "{\"models\":[{\"name\":\"mistral:latest\",\"model\":\"mistral:latest\","
    "\"size\":5137025024,\"expires_at\":\"2015-10-21T07:33:00Z\"},"
    "{\"name\":\"llama3.2:1b\",\"model\":\"llama3.2:1b\",\"size\":1,"
    "\"expires_at\":\"2015-10-21T00:38:00.5-07:00\"},"
    "{\"name\":\"qwen\",\"model\":\"qwen\",\"expires_at\":\"garbage\"}]}";

START_TEST(ps_parse) {
  struct wd_ollama_ps ps;
  char err[160];
  ck_assert_int_eq(
      wd_ollama_reply_ps(S(ps3), "llama3.2:1b", &ps, err, sizeof err), 0);
  ck_assert_int_eq(ps.nloaded, 3);
  ck_assert_int_eq(ps.found, 1);
  /* 00:38:00.5-07:00 is 07:38:00.5Z: ten minutes and a half second on */
  ck_assert_int_eq(ps.expires_unix_ns, (T0 + 600) * NS + NS / 2);
  /* "mistral" is "mistral:latest" */
  ck_assert_int_eq(wd_ollama_reply_ps(S(ps3), "mistral", &ps, err, sizeof err),
                   0);
  ck_assert_int_eq(ps.found, 1);
  ck_assert_int_eq(ps.expires_unix_ns, (T0 + 300) * NS);
  /* listed with an expiry that does not parse: loaded, expiry unknown */
  ck_assert_int_eq(wd_ollama_reply_ps(S(ps3), "qwen", &ps, err, sizeof err), 0);
  ck_assert_int_eq(ps.found, 1);
  ck_assert_int_eq(ps.expires_unix_ns, -1);
  ck_assert_int_eq(wd_ollama_reply_ps(S(ps3), "llama3.2", &ps, err, sizeof err),
                   0);
  ck_assert_int_eq(ps.found, 0); /* a tag other than latest is another model */
  ck_assert_int_eq(ps.nloaded, 3);
  ck_assert_int_eq(
      wd_ollama_reply_ps(S("{\"models\":[]}"), "x", &ps, err, sizeof err), 0);
  ck_assert_int_eq(ps.nloaded, 0);
  ck_assert_int_eq(
      wd_ollama_reply_ps(S("{\"models\":null}"), "x", &ps, err, sizeof err),
      -1);
  ck_assert_int_eq(wd_ollama_reply_ps(S("[1]"), "x", &ps, err, sizeof err), -1);
  ck_assert_int_eq(wd_ollama_reply_ps(S("{"), "x", &ps, err, sizeof err), -1);
}
END_TEST

START_TEST(warm_until) {
  struct wd_ollama_ps ps = {.nloaded = 1, .found = 1};
  int64_t mono = 5000 * NS, unix_now = T0 * NS;
  ps.expires_unix_ns = (T0 + 290) * NS;
  ck_assert_int_eq(wd_ollama_warm_until(&ps, mono, unix_now), mono + 290 * NS);
  ps.expires_unix_ns = (T0 - 1) * NS; /* expired: warm no longer */
  ck_assert_int_eq(wd_ollama_warm_until(&ps, mono, unix_now), mono);
  ps.expires_unix_ns = INT64_MAX; /* keep_alive -1: year 2318, saturated */
  ck_assert_int_ge(wd_ollama_warm_until(&ps, mono, unix_now),
                   mono + 200LL * 365 * 86400 * NS);
  ps.expires_unix_ns = (T0 + 10) * NS; /* a monotonic clock near its end */
  ck_assert_int_eq(wd_ollama_warm_until(&ps, INT64_MAX - NS, unix_now),
                   INT64_MAX);
  ps.expires_unix_ns = -1;
  ck_assert_int_eq(wd_ollama_warm_until(&ps, mono, unix_now), -1);
  ps.expires_unix_ns = (T0 + 10) * NS;
  ps.found = 0; /* not loaded: nothing to say */
  ck_assert_int_eq(wd_ollama_warm_until(&ps, mono, unix_now), -1);
  /* year 2318 as Ollama prints it parses and saturates */
  static const char far[] = "{\"models\":[{\"name\":\"m\",\"expires_at\":"
                            "\"2318-02-20T05:29:41.519-08:00\"}]}";
  char err[160];
  ck_assert_int_eq(wd_ollama_reply_ps(S(far), "m", &ps, err, sizeof err), 0);
  ck_assert_int_ge(wd_ollama_warm_until(&ps, mono, unix_now),
                   mono + 200LL * 365 * 86400 * NS);
}
END_TEST

START_TEST(may_load) {
  struct wd_ollama_ps ps = {.nloaded = 2, .found = 0, .expires_unix_ns = -1};
  ck_assert_int_eq(wd_ollama_may_load(&ps, 3), 1); /* room left */
  ck_assert_int_eq(wd_ollama_may_load(&ps, 2), 0); /* would push one out */
  ck_assert_int_eq(wd_ollama_may_load(&ps, 1), 0);
  ck_assert_int_eq(wd_ollama_may_load(&ps, 0), 1); /* no limit */
  ps.found = 1; /* loaded already: a load only renews keep_alive */
  ck_assert_int_eq(wd_ollama_may_load(&ps, 2), 1);
  ck_assert_int_eq(wd_ollama_may_load(&ps, 1), 1);
  ps.nloaded = 0;
  ps.found = 0;
  ck_assert_int_eq(wd_ollama_may_load(&ps, 1), 1);
}
END_TEST

START_TEST(generate_reply) {
  struct wd_usage u;
  char err[160];
  ck_assert_int_eq(wd_ollama_reply_generate(
                       S("{\"model\":\"m\",\"response\":\"\",\"done\":true,"
                         "\"done_reason\":\"load\"}"),
                       &u, err, sizeof err),
                   0);
  ck_assert_uint_eq(u.in + u.out + u.cached, 0); /* a load costs nothing */
  ck_assert_int_eq(
      wd_ollama_reply_generate(S("{\"done\":true,\"prompt_eval_count\":26,"
                                 "\"eval_count\":3}"),
                               &u, err, sizeof err),
      0);
  ck_assert_uint_eq(u.in, 26);
  ck_assert_uint_eq(u.out, 3);
  ck_assert_int_eq(
      wd_ollama_reply_generate(S("{\"done\":false}"), &u, err, sizeof err), -1);
  ck_assert_int_eq(
      wd_ollama_reply_generate(S("{\"error\":\"x\"}"), &u, err, sizeof err),
      -1);
  ck_assert_int_eq(wd_ollama_reply_generate(NULL, 0, &u, err, sizeof err), -1);
}
END_TEST

START_TEST(tags_reply) {
  char **ids, err[160];
  int n;
  ck_assert_int_eq(
      wd_ollama_reply_tags(S("{\"models\":[{\"name\":\"a:latest\"},{\"x\":1},"
                             "{\"name\":\"b\"}]}"),
                           &ids, &n, err, sizeof err),
      0);
  ck_assert_int_eq(n, 2);
  ck_assert_str_eq(ids[0], "a:latest");
  ck_assert_str_eq(ids[1], "b");
  wd_model_ids_free(ids, n);
  ck_assert_int_eq(
      wd_ollama_reply_tags(S("{\"data\":[]}"), &ids, &n, err, sizeof err), -1);
  ck_assert_int_eq(wd_ollama_same_name("a", "a:latest"), 1);
  ck_assert_int_eq(wd_ollama_same_name("a:latest", "a"), 1);
  ck_assert_int_eq(wd_ollama_same_name("a:1b", "a"), 0);
  ck_assert_int_eq(wd_ollama_same_name("ab", "a"), 0);
}
END_TEST

START_TEST(vllm_root_and_sleep) {
  char *u = wd_vllm_root_url("http://h:8000/v1", "/is_sleeping");
  ck_assert_str_eq(u, "http://h:8000/is_sleeping");
  free(u);
  u = wd_vllm_root_url("http://h:8000/v1//", "/is_sleeping");
  ck_assert_str_eq(u, "http://h:8000/is_sleeping");
  free(u);
  u = wd_vllm_root_url("http://h:8000", "/is_sleeping");
  ck_assert_str_eq(u, "http://h:8000/is_sleeping");
  free(u);
  u = wd_vllm_root_url("http://h/llm/v1", "/is_sleeping"); /* behind a path */
  ck_assert_str_eq(u, "http://h/llm/is_sleeping");
  free(u);
  int s = -1;
  char err[160];
  ck_assert_int_eq(
      wd_vllm_reply_sleeping(S("{\"is_sleeping\":true}"), &s, err, sizeof err),
      0);
  ck_assert_int_eq(s, 1);
  ck_assert_int_eq(
      wd_vllm_reply_sleeping(S("{\"is_sleeping\":false}"), &s, err, sizeof err),
      0);
  ck_assert_int_eq(s, 0);
  ck_assert_int_eq(
      wd_vllm_reply_sleeping(S("{\"is_sleeping\":1}"), &s, err, sizeof err),
      -1);
  ck_assert_int_eq(wd_vllm_reply_sleeping(S("<html>"), &s, err, sizeof err),
                   -1);
}
END_TEST

/* The adapters through the provider table, as probe.c calls them. */
START_TEST(adapters) {
  const struct wd_provider *o = wd_provider(WD_KIND_OLLAMA);
  const struct wd_provider *v = wd_provider(WD_KIND_VLLM);
  struct wd_endpoint ep;
  struct wd_model m = model("llama3.2:1b", "10m");
  struct wd_request rq;
  struct wd_reply out;
  char err[160];
  memset(&ep, 0, sizeof ep);
  ep.base_url = "http://127.0.0.1:11434";
  ep.max_loaded = 3;
  ck_assert_ptr_nonnull(o);
  ck_assert_ptr_nonnull(v);
  ck_assert_int_eq(o->request(&ep, &m, WD_PROBE_LOAD, &rq), 0);
  ck_assert_str_eq(rq.url, "http://127.0.0.1:11434/api/generate");
  ck_assert_ptr_null(strstr(rq.body, "prompt"));
  free(rq.url);
  free(rq.body);
  ck_assert_int_eq(o->request(&ep, &m, WD_PROBE_MODELS, &rq), 0);
  ck_assert_str_eq(rq.url, "http://127.0.0.1:11434/api/tags");
  ck_assert_ptr_null(rq.body);
  free(rq.url);
  ck_assert_int_eq(o->pre_request(&ep, &m, WD_PROBE_LOAD, &rq), 0);
  ck_assert_str_eq(rq.url, "http://127.0.0.1:11434/api/ps");
  free(rq.url);
  ck_assert_int_eq(o->pre_request(&ep, &m, WD_PROBE_MODELS, &rq), 1);
  char **ids;
  int nids;
  ck_assert_int_eq(o->models(S("{\"models\":[{\"name\":\"a:latest\"},"
                               "{\"name\":\"b:1b\"}]}"),
                             &ids, &nids, err, sizeof err),
                   0);
  ck_assert_int_eq(nids, 3); /* a:latest, a, b:1b */
  ck_assert_str_eq(ids[0], "a:latest");
  ck_assert_str_eq(ids[1], "a");
  ck_assert_str_eq(ids[2], "b:1b");
  wd_model_ids_free(ids, nids);
  ck_assert_int_eq(
      o->models(S("{\"models\":[]}"), &ids, &nids, err, sizeof err), 0);
  ck_assert_int_eq(nids, 0);

  m.keep_alive_ns = 60 * NS; /* ps3: llama3.2:1b expires in 600.5 s */
  memset(&out, 0, sizeof out);
  ck_assert_int_eq(
      o->pre_reply(&ep, &m, 0, T0 * NS, 200, S(ps3), &out, err, sizeof err),
      1); /* a client keeps it longer: a load would cut it */
  ck_assert_int_eq(out.warm_for_ns, 600 * NS + NS / 2);
  ck_assert_msg(strstr(err, "longer than keep_alive"), "%s", err);
  m.keep_alive_ns = 598 * NS; /* within the 5 s margin: our own last load */
  /* ps3 holds 3 models, llama3.2:1b among them: a load only renews it */
  memset(&out, 0, sizeof out);
  ck_assert_int_eq(
      o->pre_reply(&ep, &m, 5, T0 * NS, 200, S(ps3), &out, err, sizeof err), 0);
  ck_assert_int_eq(out.adds, 0);
  /* another model, not loaded: no room at 3 of 3 */
  m.id = "other";
  memset(&out, 0, sizeof out);
  ck_assert_int_eq(
      o->pre_reply(&ep, &m, 0, T0 * NS, 200, S(ps3), &out, err, sizeof err), 1);
  ck_assert_msg(strstr(err, "max_loaded 3"), "%s", err);
  ep.max_loaded = 4; /* room for one: taken by a load in flight */
  ck_assert_int_eq(
      o->pre_reply(&ep, &m, 1, T0 * NS, 200, S(ps3), &out, err, sizeof err), 1);
  memset(&out, 0, sizeof out);
  ck_assert_int_eq(
      o->pre_reply(&ep, &m, 0, T0 * NS, 200, S(ps3), &out, err, sizeof err), 0);
  ck_assert_int_eq(out.adds, 1);
  ck_assert_int_eq(
      o->pre_reply(&ep, &m, 0, T0 * NS, 500, S("{}"), &out, err, sizeof err),
      -1);
  /* after the load: warm for what expires_at says, from the given clock */
  m.id = "llama3.2:1b";
  out.warm_for_ns = -1;
  ck_assert_int_eq(
      o->post_reply(&ep, &m, T0 * NS, 200, S(ps3), &out, err, sizeof err), 0);
  ck_assert_int_eq(out.warm_for_ns, 600 * NS + NS / 2);
  m.id = "other"; /* not there after its load: it did not stick */
  ck_assert_int_eq(
      o->post_reply(&ep, &m, T0 * NS, 200, S(ps3), &out, err, sizeof err), -1);

  ep.base_url = "http://127.0.0.1:8000/v1";
  ck_assert_int_eq(v->pre_request(&ep, &m, WD_PROBE_CHAT, &rq), 0);
  ck_assert_str_eq(rq.url, "http://127.0.0.1:8000/is_sleeping");
  free(rq.url);
  ck_assert_int_eq(v->request(&ep, &m, WD_PROBE_CHAT, &rq), 0);
  ck_assert_str_eq(rq.url, "http://127.0.0.1:8000/v1/chat/completions");
  free(rq.url);
  free(rq.body);
  memset(&out, 0, sizeof out);
  ck_assert_int_eq(v->pre_reply(&ep, &m, 0, T0 * NS, 200,
                                S("{\"is_sleeping\":true}"), &out, err,
                                sizeof err),
                   1);
  ck_assert_int_eq(out.state, WARMTH_SLEEPING);
  memset(&out, 0, sizeof out);
  ck_assert_int_eq(v->pre_reply(&ep, &m, 0, T0 * NS, 200,
                                S("{\"is_sleeping\":false}"), &out, err,
                                sizeof err),
                   0);
  ck_assert_int_eq(out.state, 0);
  /* no dev mode: no sleep endpoint, no sleep either */
  ck_assert_int_eq(v->pre_reply(&ep, &m, 0, T0 * NS, 404,
                                S("{\"detail\":\"Not Found\"}"), &out, err,
                                sizeof err),
                   0);
  ck_assert_int_eq(
      v->pre_reply(&ep, &m, 0, T0 * NS, 503, S("{}"), &out, err, sizeof err),
      -1);
}
END_TEST

/* Every prefix of every sample, and byte flips of them, through every
 * parser: no crash, no leak (ASan, valgrind), and results within bounds. */
START_TEST(parsers_never_crash) {
  static const char *samples[] = {
      ps3,
      "{\"models\":[{\"name\":\"m\",\"expires_at\":"
      "\"2318-02-20T05:29:41.519-08:00\"}]}",
      "{\"done\":true,\"prompt_eval_count\":1e300,\"eval_count\":-5}",
      "{\"is_sleeping\":true}", "{\"models\":[{\"name\":7},null,[]]}"};
  char buf[1024], err[160], **ids;
  uint64_t rng = 0x9e3779b97f4a7c15ULL;
  for (size_t k = 0; k < sizeof samples / sizeof samples[0]; k++) {
    size_t n = strlen(samples[k]);
    for (size_t cut = 0; cut <= n; cut++) {
      for (int flip = 0; flip < 4; flip++) {
        struct wd_ollama_ps ps;
        struct wd_usage u;
        int s, nids;
        memcpy(buf, samples[k], cut);
        if (flip && cut) {
          rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
          buf[rng % cut] ^= (char)(1u << (rng >> 32) % 8);
        }
        if (wd_ollama_reply_ps(buf, cut, "m", &ps, err, sizeof err) == 0) {
          ck_assert_int_ge(ps.nloaded, ps.found);
          ck_assert_int_ge(wd_ollama_warm_until(&ps, NS, T0 * NS), -1);
        }
        if (wd_ollama_reply_generate(buf, cut, &u, err, sizeof err) == 0)
          ck_assert_uint_le(u.in, WD_REPLY_TOKENS_MAX);
        if (wd_ollama_reply_tags(buf, cut, &ids, &nids, err, sizeof err) == 0)
          wd_model_ids_free(ids, nids);
        (void)wd_vllm_reply_sleeping(buf, cut, &s, err, sizeof err);
      }
    }
  }
}
END_TEST

static Suite *prov_local_suite(void) {
  Suite *s = suite_create("prov_local");
  TCase *core = tcase_create("core");
  tcase_add_test(core, load_body);
  tcase_add_test(core, ps_parse);
  tcase_add_test(core, warm_until);
  tcase_add_test(core, may_load);
  tcase_add_test(core, generate_reply);
  tcase_add_test(core, tags_reply);
  tcase_add_test(core, vllm_root_and_sleep);
  tcase_add_test(core, adapters);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, parsers_never_crash);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return tu_run(prov_local_suite()); }
