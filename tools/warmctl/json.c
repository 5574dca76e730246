/* json.c - the --json shapes of the coordinator and of one model.
 *
 * Keys name their unit ("_ms", "_us", "_nusd") so scripts need no manual.
 * Monotonic instants mean nothing outside this host, so they appear as ages
 * ("last_probe_age_ms") or remaining times ("warm_for_ms"), and null when
 * the event never happened.  Keys are only ever added, never renamed.
 */
#include <jansson.h>
#include <stdio.h>

#include "warmctl.h"

/* set_new() that tolerates a NULL value (out of memory) by leaving the key
 * out; wc_json_print then reports the failure as a whole. */
static void put(json_t *o, const char *key, json_t *v) {
  if (o && v)
    json_object_set_new(o, key, v);
}

static json_t *jint(uint64_t v) { return json_integer((json_int_t)v); }

static json_t *ms(int64_t ns) { return json_integer(ns / WD_NS_PER_MS); }

/* Age of a monotonic instant in ms, or null for "never". */
static json_t *age_ms(int64_t t, int64_t now) {
  return t == 0 ? json_null() : ms(now - t);
}

/* ~0u is the writer's "provider sent no such header". */
static json_t *headroom(uint32_t v) {
  return v == UINT32_MAX ? json_null() : jint(v);
}

const char *wc_coord_state(const struct wc_snap *s) {
  if (s->st.retired == 2)
    return "superseded";
  if (s->st.retired)
    return "retired";
  return s->hb_stale ? "stale" : "live";
}

json_t *wc_json_coordinator(const struct wc_snap *s) {
  const struct warmth_status *st = &s->st;
  json_t *o = json_object();
  put(o, "shm", json_string(s->shm));
  put(o, "pid", json_integer(st->pid));
  put(o, "state", json_string(wc_coord_state(s)));
  put(o, "stale", json_boolean(s->hb_stale));
  put(o, "retired", json_boolean(st->retired != 0));
  put(o, "heartbeat_age_ms", ms(st->heartbeat_age_ns));
  put(o, "stale_after_ms", ms(st->stale_after_ns));
  put(o, "created_unix_ms", ms(st->created_ns));
  put(o, "models", jint(st->models));
  put(o, "capacity", jint(st->capacity));
  put(o, "index_generation", jint(st->index_generation));
  return o;
}

static void add_flag(const char *name, void *arg) {
  json_array_append_new(arg, json_string(name));
}

json_t *wc_json_model(const struct wc_snap *s,
                      const struct warmth_model_info *m) {
  int64_t now = s->now;
  int warm = wc_warm_now(s, m);
  json_t *o = json_object();
  put(o, "name", json_string(m->name));
  put(o, "state", json_string(warmth_state_name(m->state)));
  put(o, "warm", json_boolean(warm));
  put(o, "warm_for_ms", warm ? ms(m->warm_until - now) : json_integer(0));
  /* Raw expiry too: a stale coordinator makes warm false, yet an operator
   * may want to know what it had promised. */
  put(o, "warm_until_in_ms",
      m->warm_until ? ms(m->warm_until - now) : json_null());
  put(o, "last_probe_age_ms", age_ms(m->last_probe, now));
  put(o, "last_ok_age_ms", age_ms(m->last_ok, now));
  put(o, "retry_after_ms",
      m->retry_after_until > now ? ms(m->retry_after_until - now)
                                 : json_integer(0));
  put(o, "successes", jint(m->successes));
  put(o, "failures", jint(m->failures));
  put(o, "fails_in_row", jint(m->fails_in_row));
  put(o, "http_status", jint(m->http_status));
  put(o, "error_class", json_string(warmth_error_class_name(m->error_class)));
  put(o, "last_latency_us", jint(m->last_latency_us));
  put(o, "ewma_latency_us", jint(m->ewma_latency_us));
  put(o, "dns_us", jint(m->dns_us));
  put(o, "connect_us", jint(m->connect_us));
  put(o, "tls_us", jint(m->tls_us));
  put(o, "ttfb_us", jint(m->ttfb_us));
  put(o, "tokens_in", jint(m->tokens_in));
  put(o, "tokens_out", jint(m->tokens_out));
  put(o, "tokens_cached", jint(m->tokens_cached));
  put(o, "cost_nusd", jint(m->cost_nusd));
  put(o, "cost_usd", json_real((double)m->cost_nusd / 1e9));
  json_t *fl = json_array();
  if (fl)
    wc_each_flag(m->flags, add_flag, fl);
  put(o, "flags", fl);
  put(o, "headroom_requests", headroom(m->headroom_requests));
  put(o, "headroom_tokens", headroom(m->headroom_tokens));
  put(o, "endpoint", jint(m->endpoint));
  put(o, "slot", jint(m->slot));
  put(o, "generation", jint(m->generation));
  return o;
}

int wc_json_print(json_t *v, int compact) {
  if (!v)
    return -1;
  size_t fl = compact ? JSON_COMPACT | JSON_PRESERVE_ORDER
                      : JSON_INDENT(2) | JSON_PRESERVE_ORDER;
  int rc = json_dumpf(v, stdout, fl);
  json_decref(v);
  if (rc != 0 || putchar('\n') == EOF)
    return -1;
  return 0;
}
