/* Sending a reply.  api.c and handlers.c decide what to answer (under the
 * model lock); this file does the slow part, outside any lock: the cold or
 * warm delay, chunked-slow and oversized bodies, holding a connection
 * open, or resetting it. */
#include "config.h"

#include "upstream.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static atomic_ulong request_ids;

void up_reply_init(struct up_reply *r, bool anthropic) {
  memset(r, 0, sizeof *r);
  r->action = UP_ACT_SEND;
  r->status = 500;
  r->anthropic = anthropic;
  r->retry_after_s = -1;
}

void up_reply_free(struct up_reply *r) {
  free(r->body);
  r->body = NULL;
}

void up_reply_json(struct up_reply *r, int status, json_t *obj) {
  free(r->body);
  r->status = status;
  r->body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
  r->len = r->body ? strlen(r->body) : 0;
  json_decref(obj);
}

static const char *error_type(int status, bool anthropic) {
  switch (status) {
  case 401:
    return anthropic ? "authentication_error" : "invalid_request_error";
  case 404:
    return anthropic ? "not_found_error" : "invalid_request_error";
  case 429:
    return anthropic ? "rate_limit_error" : "requests";
  case 500:
    return anthropic ? "api_error" : "server_error";
  case 503:
    return anthropic ? "overloaded_error" : "server_error";
  default:
    return "invalid_request_error";
  }
}

/* Each API's own error shape, so each prober parses what it would get from
 * the real service; both carry "code" so tests can match one field. */
void up_reply_error(struct up_reply *r, int status, const char *code,
                    const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const char *type = error_type(status, r->anthropic);
  json_t *err;
  if (r->anthropic)
    err = json_pack("{s:s,s:{s:s,s:s,s:s?}}", "type", "error", "error", "type",
                    type, "message", msg, "code", code);
  else
    err = json_pack("{s:{s:s,s:s,s:n,s:s?}}", "error", "message", msg, "type",
                    type, "param", "code", code);
  up_reply_json(r, status, err);
}

/* ---- slow and big bodies, produced by MHD content callbacks ---- */

struct slow_body {
  char *body;
  size_t len, chunk;
  long ms;
};

static ssize_t slow_read(void *cls, uint64_t pos, char *buf, size_t max) {
  struct slow_body *s = cls;
  if (pos >= s->len)
    return MHD_CONTENT_READER_END_OF_STREAM;
  /* thread per connection: sleeping here only delays this client */
  up_sleep_ms(s->ms);
  size_t n = s->len - (size_t)pos;
  if (n > s->chunk)
    n = s->chunk;
  if (n > max)
    n = max;
  memcpy(buf, s->body + pos, n);
  return (ssize_t)n;
}

static void slow_free(void *cls) {
  struct slow_body *s = cls;
  free(s->body);
  free(s);
}

static const char big_head[] = "{\"id\":\"big\",\"object\":\"chat.completion\","
                               "\"padding\":\"";
static const char big_tail[] = "\"}";

/* Generated on the fly: an 8 MiB body costs no 8 MiB buffer. */
static ssize_t big_read(void *cls, uint64_t pos, char *buf, size_t max) {
  uint64_t size = *(uint64_t *)cls;
  uint64_t head = sizeof big_head - 1, tail = sizeof big_tail - 1;
  if (pos >= size)
    return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = 0;
  for (; n < max && pos < size; n++, pos++) {
    if (pos < head)
      buf[n] = big_head[pos];
    else if (pos >= size - tail)
      buf[n] = big_tail[pos - (size - tail)];
    else
      buf[n] = 'x';
  }
  return (ssize_t)n;
}

static struct MHD_Response *make_response(struct up_reply *r) {
  struct MHD_Response *resp = NULL;
  if (r->mode == UP_BODY_SLOW && r->body) {
    struct slow_body *s = malloc(sizeof *s);
    if (!s)
      return NULL;
    s->body = r->body;
    s->len = r->len;
    s->chunk = (r->len + UP_SLOW_CHUNKS - 1) / UP_SLOW_CHUNKS;
    s->ms = r->mode_arg;
    resp = MHD_create_response_from_callback(r->len, 4096, slow_read, s,
                                             slow_free);
    if (resp)
      r->body = NULL; /* now owned by the response */
    else
      free(s);
  } else if (r->mode == UP_BODY_BIG) {
    uint64_t *size = malloc(sizeof *size);
    if (!size)
      return NULL;
    *size = (uint64_t)r->mode_arg;
    resp = MHD_create_response_from_callback(*size, 64 * 1024, big_read, size,
                                             free);
    if (!resp)
      free(size);
  } else {
    resp = MHD_create_response_from_buffer(r->len, r->body ? r->body : "",
                                           r->body ? MHD_RESPMEM_MUST_FREE
                                                   : MHD_RESPMEM_PERSISTENT);
    if (resp)
      r->body = NULL;
  }
  return resp;
}

static void add_retry_after(struct MHD_Response *resp, struct up_reply *r) {
  char buf[64];
  if (r->retry_date) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t t = ts.tv_sec + r->retry_after_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    /* RFC 9110 IMF-fixdate; we never call setlocale, so names are English */
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  } else {
    snprintf(buf, sizeof buf, "%ld", r->retry_after_s);
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, buf);
}

/* ---- no reply at all ---- */

static int conn_fd(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  return ci ? ci->connect_fd : -1;
}

/* "timeout": keep the connection open and silent until the client gives
 * up (its close shows as a readable socket with nothing to read), or we
 * shut down.  Blocking here is fine: this thread serves only this client. */
static void hold(struct MHD_Connection *c) {
  int fd = conn_fd(c);
  while (!atomic_load(&up_stop)) {
    if (fd < 0) {
      up_sleep_ms(50);
      continue;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 50) <= 0)
      continue;
    if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
      return;
    char b;
    ssize_t k = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
      return;
    up_sleep_ms(50); /* pipelined bytes: stay silent without spinning */
  }
}

/* "reset": linger 0 makes the close that follows our MHD_NO send an RST
 * instead of an orderly FIN after a reply. */
static void arm_reset(struct MHD_Connection *c) {
  int fd = conn_fd(c);
  struct linger l = {.l_onoff = 1, .l_linger = 0};
  if (fd >= 0)
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

up_mhd_result up_reply_send(struct MHD_Connection *c, struct up_reply *r) {
  if (r->action == UP_ACT_RESET) {
    arm_reset(c);
    return MHD_NO; /* MHD closes the connection without a reply */
  }
  if (r->action == UP_ACT_HOLD) {
    hold(c);
    return MHD_NO;
  }
  if (r->delay_ms > 0)
    up_sleep_ms(r->delay_ms);
  struct MHD_Response *resp = make_response(r);
  if (!resp)
    return MHD_NO;
  char id[40];
  snprintf(id, sizeof id, "req_up_%lu", atomic_fetch_add(&request_ids, 1) + 1);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          "application/json");
  MHD_add_response_header(resp, r->anthropic ? "request-id" : "x-request-id",
                          id);
  if (r->has_rl)
    up_rl_headers(resp, &r->rl, r->anthropic);
  if (r->retry_after_s >= 0)
    add_retry_after(resp, r);
  up_mhd_result ret = MHD_queue_response(c, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  return ret;
}
