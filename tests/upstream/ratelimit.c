/* Rate limits: a fixed window per model (--window, default 60 s) counting
 * requests and tokens, enforced with 429, and reported on every reply in
 * the header families the real APIs use, so the prober's header parsing
 * and headroom floor can be tested. */
#include "config.h"

#include "upstream.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t window_ns(void) { return (int64_t)up_opt.window_ms * 1000000; }

static bool window_live(const struct up_model *m, int64_t now) {
  return m->win_start_ns && now - m->win_start_ns < window_ns();
}

bool up_rl_admit(struct up_model *m, long tokens, int64_t now, long *retry_s) {
  if (!window_live(m, now)) {
    m->win_start_ns = now;
    m->win_requests = m->win_tokens = 0;
  }
  long rpm = up_model_setting(m, UP_SET_RPM);
  long tpm = up_model_setting(m, UP_SET_TPM);
  if (m->win_requests >= rpm || m->win_tokens + tokens > tpm) {
    int64_t left = m->win_start_ns + window_ns() - now;
    *retry_s = (long)((left + 999999999) / 1000000000);
    return false;
  }
  m->win_requests++;
  m->win_tokens += tokens;
  return true;
}

void up_rl_view(const struct up_model *m, int64_t now, struct up_rl_view *v) {
  bool live = window_live(m, now);
  v->req_limit = up_model_setting(m, UP_SET_RPM);
  v->tok_limit = up_model_setting(m, UP_SET_TPM);
  v->req_remaining = live ? v->req_limit - m->win_requests : v->req_limit;
  v->tok_remaining = live ? v->tok_limit - m->win_tokens : v->tok_limit;
  if (v->req_remaining < 0)
    v->req_remaining = 0;
  if (v->tok_remaining < 0)
    v->tok_remaining = 0;
  long headroom = up_model_setting(m, UP_SET_HEADROOM);
  if (headroom != UP_UNSET)
    v->req_remaining = headroom;
  v->reset_ms = live ? (long)((m->win_start_ns + window_ns() - now) / 1000000)
                     : up_opt.window_ms;
}

/* OpenAI writes durations the Go way: "20ms", "1s", "6m0s", "1.5s". */
static void go_duration(long ms, char *buf, size_t n) {
  if (ms < 1000) {
    snprintf(buf, n, "%ldms", ms);
    return;
  }
  long s = ms / 1000, frac = ms % 1000, min = s / 60;
  char secs[24];
  if (frac) {
    snprintf(secs, sizeof secs, "%ld.%03ld", s % 60, frac);
    /* trim trailing zeros of the fraction, as Go does */
    char *e = secs + strlen(secs);
    while (e[-1] == '0')
      *--e = 0;
  } else {
    snprintf(secs, sizeof secs, "%ld", s % 60);
  }
  if (min)
    snprintf(buf, n, "%ldm%ss", min, secs);
  else
    snprintf(buf, n, "%ss", secs);
}

/* Anthropic gives the reset instant in RFC 3339, rounded up to a second
 * so that a client waiting until then finds the window renewed. */
static void rfc3339_in(long ms, char *buf, size_t n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  time_t t = ts.tv_sec + (ms + 999) / 1000;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_long(struct MHD_Response *r, const char *name, long v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%ld", v);
  MHD_add_response_header(r, name, buf);
}

void up_rl_headers(struct MHD_Response *r, const struct up_rl_view *v,
                   bool anthropic) {
  char when[64];
  go_duration(v->reset_ms, when, sizeof when);
  add_long(r, "x-ratelimit-limit-requests", v->req_limit);
  add_long(r, "x-ratelimit-remaining-requests", v->req_remaining);
  MHD_add_response_header(r, "x-ratelimit-reset-requests", when);
  add_long(r, "x-ratelimit-limit-tokens", v->tok_limit);
  add_long(r, "x-ratelimit-remaining-tokens", v->tok_remaining);
  MHD_add_response_header(r, "x-ratelimit-reset-tokens", when);
  if (!anthropic)
    return;
  rfc3339_in(v->reset_ms, when, sizeof when);
  add_long(r, "anthropic-ratelimit-requests-limit", v->req_limit);
  add_long(r, "anthropic-ratelimit-requests-remaining", v->req_remaining);
  MHD_add_response_header(r, "anthropic-ratelimit-requests-reset", when);
  add_long(r, "anthropic-ratelimit-tokens-limit", v->tok_limit);
  add_long(r, "anthropic-ratelimit-tokens-remaining", v->tok_remaining);
  MHD_add_response_header(r, "anthropic-ratelimit-tokens-reset", when);
}
