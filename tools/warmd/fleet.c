/* fleet.c - see fleet.h: the fleet thread and its Redis connection. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "fleet.h"
#include "log.h"
#include "reply.h"
#include "warmd.h"

/* Messages sent per pipelined batch: bounds the time one batch holds the
 * connection (each reply still has its own timeout). */
#define BATCH_MAX 256
/* Hourly ring of this host's warmups: 60 buckets of one minute. */
#define RING 60
/* Keys live a day past their last write at most (fleetproto.h). */
#define HOUR_MS 3600000LL
#define BUDGET_TTL_MS (2 * 86400000LL)

const int64_t wd_fleet_rtt_bounds_us[WD_FLEET_RTT_BUCKETS] = {
    100,   250,   500,   1000,   2500,   5000,
    10000, 25000, 50000, 100000, 250000, INT64_MAX};

/* TIME in ms; scripts write times with it only (fleetproto.h).  Before
 * Redis 5 a script that wrote after TIME needed effects replication;
 * calling it where it exists costs nothing. */
#define LUA_NOW                                                                \
  "if redis.replicate_commands then redis.replicate_commands() end\n"          \
  "local t = redis.call('TIME')\n"                                             \
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
#define LUA_REC                                                                \
  "local function rec(st, pttl)\n"                                             \
  "  local r = redis.call('HMGET', KEYS[2], 'ok', 'lat', 'real', 'fail',"      \
  " 'cls', 'hold', 'thr')\n"                                                   \
  "  local v = {st, now}\n"                                                    \
  "  for i = 1, 7 do v[i + 2] = tonumber(r[i]) or 0 end\n"                     \
  "  v[10] = pttl\n"                                                           \
  "  return v\n"                                                               \
  "end\n"                                                                      \
  "local function keep(ms)\n"                                                  \
  "  if redis.call('PTTL', KEYS[2]) < ms then"                                 \
  " redis.call('PEXPIRE', KEYS[2], ms) end\n"                                  \
  "end\n"

/* claim: KEYS lease, rec; ARGV host, lease_ms, fresh_ms. */
static const char lua_claim[] = LUA_NOW LUA_REC
    "local r = redis.call('HMGET', KEYS[2], 'ok', 'real', 'hold')\n"
    "local ok, real, hold = tonumber(r[1]) or 0, tonumber(r[2]) or 0,"
    " tonumber(r[3]) or 0\n"
    "if hold > now then return rec(3, 0) end\n"
    "local warm = math.max(ok, real)\n"
    "if warm > 0 and now - warm < tonumber(ARGV[3]) then return rec(1, 0) "
    "end\n"
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur == ARGV[1] or (not cur and redis.call('SET', KEYS[1], ARGV[1],"
    " 'NX', 'PX', ARGV[2])) then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  return rec(0, tonumber(ARGV[2]))\n"
    "end\n"
    "return rec(2, redis.call('PTTL', KEYS[1]))\n";

/* result: KEYS lease, rec; ARGV host, ok, dur_ms, lat_us, cls, http,
 * hold_ms (relative), thr, tin, tout, tcach, ttl_ms. */
static const char lua_result[] = LUA_NOW LUA_REC
    "local a = {}\n"
    "for i = 2, 12 do a[i] = tonumber(ARGV[i]) or 0 end\n"
    "if a[2] == 1 then\n"
    "  redis.call('HSET', KEYS[2], 'ok', now - a[3], 'lat', a[4], 'tin',"
    " a[9], 'tout', a[10], 'tcach', a[11], 'host', ARGV[1])\n"
    "else\n"
    "  redis.call('HSET', KEYS[2], 'fail', now, 'cls', a[5], 'http', a[6],"
    " 'host', ARGV[1])\n"
    "end\n"
    "if a[7] > 0 then\n"
    "  local h = now + a[7]\n"
    "  if h > (tonumber(redis.call('HGET', KEYS[2], 'hold')) or 0) then\n"
    "    redis.call('HSET', KEYS[2], 'hold', h, 'thr', a[8])\n"
    "  end\n"
    "elseif a[2] == 1 then\n"
    "  redis.call('HSET', KEYS[2], 'hold', 0, 'thr', 0)\n"
    "end\n"
    "keep(a[12] + a[7])\n"
    "if redis.call('GET', KEYS[1]) == ARGV[1] then"
    " redis.call('DEL', KEYS[1]) end\n"
    "return rec(4, 0)\n";

/* real: KEYS lease (unused), rec; ARGV age_ms, ttl_ms. */
static const char lua_real[] = LUA_NOW LUA_REC
    "local at = now - tonumber(ARGV[1])\n"
    "if at > (tonumber(redis.call('HGET', KEYS[2], 'real')) or 0) then\n"
    "  redis.call('HSET', KEYS[2], 'real', at)\n"
    "end\n"
    "keep(tonumber(ARGV[2]))\n"
    "return rec(4, 0)\n";

/* beat: KEYS hosts, budget; ARGV host, sent in its last hour.  Replies
 * {now, hosts seen in the last minute, fleet's warmups in the last hour,
 * the fleet's budget today as a string}. */
static const char lua_beat[] =
    LUA_NOW "redis.call('HSET', KEYS[1], ARGV[1], now .. ' ' .. ARGV[2])\n"
            "local all = redis.call('HGETALL', KEYS[1])\n"
            "local seen, total = 0, 0\n"
            "for i = 1, #all, 2 do\n"
            "  local ts, s = string.match(all[i + 1], '^(%d+) (%d+)$')\n"
            "  ts = tonumber(ts) or 0\n"
            "  if now - ts > 3600000 then redis.call('HDEL', KEYS[1], all[i])\n"
            "  else\n"
            "    total = total + (tonumber(s) or 0)\n"
            "    if now - ts < 60000 then seen = seen + 1 end\n"
            "  end\n"
            "end\n"
            "redis.call('PEXPIRE', KEYS[1], 86400000)\n"
            "return {now, seen, total, redis.call('GET', KEYS[2]) or '0'}\n";

enum { S_CLAIM, S_RESULT, S_REAL, S_BEAT, NSCRIPTS };
static const char *const scripts[NSCRIPTS] = {lua_claim, lua_result, lua_real,
                                              lua_beat};

struct wd_fleet_priv {
  struct wd_redis_url url;
  char *password; /* wiped on free */
  pthread_t thread;
  pthread_mutex_t mu; /* guards the two lists, stop, err, version */
  pthread_cond_t cv;
  int stop;
  struct wd_fleet_msg *in_head, *in_tail;
  struct wd_fleet_msg *out_head, *out_tail;
  char err[256];
  char version[32];
  void (*wake)(void *);
  void *wake_arg;
  int quiet;   /* --check-config: the caller prints the outcome */
  int ever_ok; /* a handshake passed once: "back", not "joined" */
  /* thread only */
  redisContext *c;
  char sha[NSCRIPTS][41];
  int64_t next_connect, next_beat;
  int64_t redis_now_ms; /* last Redis TIME seen, names the budget key */
  int64_t day_ms_base;
  /* this host's warmups per minute, under mu */
  int64_t ring_min[RING];
  int64_t ring_n[RING];
};

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * WD_NS_PER_S + ts.tv_nsec;
}

const char *wd_fleet_state_name(int s) {
  return s == WD_FLEET_OK ? "ok" : s == WD_FLEET_DEGRADED ? "degraded" : "off";
}

static struct timeval tv_of(int64_t ns) {
  struct timeval tv = {.tv_sec = ns / WD_NS_PER_S,
                       .tv_usec = (ns % WD_NS_PER_S) / 1000};
  return tv;
}

/* ---- connection -----------------------------------------------------------
 */

/* Copies what went wrong into err for status and logs.  A reply's error
 * text comes from the server, cut to one line.  Redis itself never quotes
 * the password ("WRONGPASS invalid username-password pair"), but a proxy
 * in front of it may: the text is redacted of it (and of every key) here,
 * before status, /metrics, the status page or --check-config --online
 * can show it. */
static void set_err(struct wd_fleet *f, const char *what, const char *detail) {
  struct wd_fleet_priv *p = f->p;
  char buf[256];
  snprintf(buf, sizeof buf, "%s%s%s", what, detail ? ": " : "",
           detail ? detail : "");
  buf[strcspn(buf, "\r\n")] = 0;
  wd_redact(buf, p->password);
  pthread_mutex_lock(&p->mu);
  int changed = strcmp(buf, p->err) != 0;
  snprintf(p->err, sizeof p->err, "%s", buf);
  pthread_mutex_unlock(&p->mu);
  int was = atomic_exchange(&f->state, WD_FLEET_DEGRADED);
  if (p->quiet)
    return;
  if (was != WD_FLEET_DEGRADED) {
    atomic_store(&f->degraded_since_ns, (uint64_t)mono_ns());
    LOG(LOG_WARNING,
        "fleet %s: redis %s: %s; warming per host until it is back", f->name,
        f->url_shown, buf);
  } else if (changed) {
    LOG(LOG_WARNING, "fleet %s: redis %s: %s", f->name, f->url_shown, buf);
  }
}

static void drop_conn(struct wd_fleet *f, const char *what) {
  struct wd_fleet_priv *p = f->p;
  if (!p->c)
    return;
  atomic_fetch_add(&f->redis_errors, 1);
  set_err(f, what, p->c->err ? p->c->errstr : NULL);
  redisFree(p->c);
  p->c = NULL;
  p->next_connect = mono_ns() + WD_FLEET_RETRY_NS;
}

/* One command during the handshake: the reply, or NULL after logging. */
static redisReply *hs_cmd(struct wd_fleet *f, int argc, const char **argv,
                          const char *what) {
  redisReply *r = redisCommandArgv(f->p->c, argc, argv, NULL);
  if (!r) {
    char w[64];
    snprintf(w, sizeof w, "no answer to %s", argv[0]);
    drop_conn(f, w);
    return NULL;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    char msg[200];
    snprintf(msg, sizeof msg, "%.*s", (int)(r->len < 190 ? r->len : 190),
             r->str);
    freeReplyObject(r);
    atomic_fetch_add(&f->redis_errors, 1);
    redisFree(f->p->c);
    f->p->c = NULL;
    f->p->next_connect = mono_ns() + WD_FLEET_RETRY_NS;
    set_err(f, what, msg);
    return NULL;
  }
  return r;
}

static void parse_version(struct wd_fleet_priv *p, const redisReply *r) {
  if (r->type != REDIS_REPLY_STRING)
    return;
  const char *v = strstr(r->str, "redis_version:");
  if (!v)
    return;
  v += 14;
  pthread_mutex_lock(&p->mu);
  snprintf(p->version, sizeof p->version, "%.*s", (int)strcspn(v, "\r\n"), v);
  pthread_mutex_unlock(&p->mu);
}

/* SCRIPT LOAD of every script, at connect and after a NOSCRIPT (SCRIPT
 * FLUSH, a failover to a replica that never saw them).  0, or -1 with the
 * connection dropped. */
static int load_scripts(struct wd_fleet *f) {
  struct wd_fleet_priv *p = f->p;
  for (int i = 0; i < NSCRIPTS; i++) {
    const char *a[] = {"SCRIPT", "LOAD", scripts[i]};
    redisReply *r = hs_cmd(f, 3, a, "SCRIPT LOAD refused");
    if (!r)
      return -1;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
      freeReplyObject(r);
      drop_conn(f, "not a Redis reply to SCRIPT LOAD");
      return -1;
    }
    memcpy(p->sha[i], r->str, 40);
    p->sha[i][40] = 0;
    freeReplyObject(r);
  }
  return 0;
}

/* Connects and runs the handshake; 0 when the connection is ready. */
static int connect_redis(struct wd_fleet *f) {
  struct wd_fleet_priv *p = f->p;
  struct timeval tv = tv_of(f->timeout_ns);
  p->c = p->url.unix_socket
             ? redisConnectUnixWithTimeout(p->url.path, tv)
             : redisConnectWithTimeout(p->url.host, p->url.port, tv);
  p->next_connect = mono_ns() + WD_FLEET_RETRY_NS;
  if (!p->c) {
    set_err(f, "cannot connect", "out of memory");
    return -1;
  }
  if (p->c->err) {
    drop_conn(f, "cannot connect");
    return -1;
  }
  if (redisSetTimeout(p->c, tv) != REDIS_OK) {
    drop_conn(f, "cannot set the timeout");
    return -1;
  }
  redisReply *r;
  if (p->password) {
    const char *a[] = {"AUTH", p->url.user, p->password};
    r = p->url.user[0] ? hs_cmd(f, 3, a, "AUTH refused")
                       : hs_cmd(f, 2, (const char *[]){"AUTH", p->password},
                                "AUTH refused");
    if (!r)
      return -1;
    freeReplyObject(r);
  } else if (p->url.user[0]) {
    set_err(f, "a user but no password", "set password_env or password_file");
    redisFree(p->c);
    p->c = NULL;
    return -1;
  }
  if (p->url.db) {
    char db[16];
    snprintf(db, sizeof db, "%d", p->url.db);
    if (!(r = hs_cmd(f, 2, (const char *[]){"SELECT", db}, "SELECT refused")))
      return -1;
    freeReplyObject(r);
  }
  if (load_scripts(f) != 0)
    return -1;
  if (!(r = hs_cmd(f, 2, (const char *[]){"INFO", "server"}, "INFO refused")))
    return -1;
  parse_version(p, r);
  freeReplyObject(r);
  pthread_mutex_lock(&p->mu);
  p->err[0] = 0;
  pthread_mutex_unlock(&p->mu);
  atomic_store(&f->state, WD_FLEET_OK);
  char ver[32];
  wd_fleet_version(f, ver, sizeof ver);
  if (!p->quiet)
    LOG(p->ever_ok ? LOG_NOTICE : LOG_INFO,
        "fleet %s: %s redis %s (Redis %s) as host %s", f->name,
        p->ever_ok ? "back in fleet mode through" : "joined via", f->url_shown,
        ver, f->host_id);
  p->ever_ok = 1;
  p->next_beat = 0;
  return 0;
}

/* ---- messages -------------------------------------------------------------
 */

static void fmt_i(char *buf, int64_t v) {
  snprintf(buf, 24, "%lld", (long long)v);
}

/* Appends the EVALSHA (or EVAL, with full=1) of one message. */
static int append_msg(struct wd_fleet *f, const struct wd_fleet_msg *m,
                      int full) {
  struct wd_fleet_priv *p = f->p;
  char lease[WD_FLEET_KEY_MAX], rec[WD_FLEET_KEY_MAX];
  if (wd_fleet_key(lease, sizeof lease, f->name, m->model, WD_FK_LEASE, 0) <
          0 ||
      wd_fleet_key(rec, sizeof rec, f->name, m->model, WD_FK_REC, 0) < 0)
    return -1;
  char a[12][24];
  const char *argv[17];
  int s = m->op == WD_FOP_CLAIM    ? S_CLAIM
          : m->op == WD_FOP_RESULT ? S_RESULT
                                   : S_REAL;
  int n = 0;
  argv[n++] = full ? "EVAL" : "EVALSHA";
  argv[n++] = full ? scripts[s] : p->sha[s];
  argv[n++] = "2";
  argv[n++] = lease;
  argv[n++] = rec;
  switch (m->op) {
  case WD_FOP_CLAIM:
    argv[n++] = f->host_id;
    fmt_i(a[0], m->lease_ms);
    fmt_i(a[1], m->fresh_ms);
    argv[n++] = a[0];
    argv[n++] = a[1];
    break;
  case WD_FOP_RESULT: {
    argv[n++] = f->host_id;
    int64_t v[11] = {
        m->ok ? 1 : 0,    m->dur_ms,         m->lat_us, m->cls,
        m->http,          m->hold_ms,        m->thr,    (int64_t)m->tin,
        (int64_t)m->tout, (int64_t)m->tcach, m->ttl_ms};
    for (int i = 0; i < 11; i++) {
      fmt_i(a[i], v[i]);
      argv[n++] = a[i];
    }
    break;
  }
  case WD_FOP_REAL:
    fmt_i(a[0], m->real_age_ms);
    fmt_i(a[1], m->ttl_ms);
    argv[n++] = a[0];
    argv[n++] = a[1];
    break;
  default:
    return -1;
  }
  return redisAppendCommandArgv(p->c, n, argv, NULL) == REDIS_OK ? 0 : -1;
}

static int64_t day_of(int64_t ms) { return ms / 86400000LL; }

static int append_budget(struct wd_fleet *f, double usd) {
  struct wd_fleet_priv *p = f->p;
  char key[WD_FLEET_KEY_MAX], v[40];
  if (wd_fleet_key(key, sizeof key, f->name, NULL, WD_FK_BUDGET,
                   day_of(p->redis_now_ms)) < 0)
    return -1;
  snprintf(v, sizeof v, "%.9f", usd);
  const char *a1[] = {"INCRBYFLOAT", key, v};
  char ttl[24];
  fmt_i(ttl, BUDGET_TTL_MS);
  const char *a2[] = {"PEXPIRE", key, ttl};
  if (redisAppendCommandArgv(p->c, 3, a1, NULL) != REDIS_OK ||
      redisAppendCommandArgv(p->c, 3, a2, NULL) != REDIS_OK)
    return -1;
  return 0;
}

static void rtt_add(struct wd_fleet *f, int64_t us) {
  int b = 0;
  while (us > wd_fleet_rtt_bounds_us[b])
    b++;
  atomic_fetch_add_explicit(&f->rtt_count[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&f->rtt_sum_us, (uint64_t)(us < 0 ? 0 : us),
                            memory_order_relaxed);
}

/* A script reply: 0 with m->rec set, 1 for NOSCRIPT, -1 for garbage or an
 * error reply (which keeps the connection: a refused command, e.g. NOPERM,
 * says nothing about the socket; the state still goes degraded). */
static int decode_reply(struct wd_fleet *f, struct wd_fleet_msg *m,
                        redisReply *r) {
  if (r->type == REDIS_REPLY_ERROR) {
    if (strncmp(r->str, "NOSCRIPT", 8) == 0)
      return 1;
    char msg[200];
    snprintf(msg, sizeof msg, "%.*s", (int)(r->len < 190 ? r->len : 190),
             r->str);
    atomic_fetch_add(&f->redis_errors, 1);
    set_err(f, "command refused", msg);
    return -1;
  }
  long long v[WD_FLEET_REC_FIELDS];
  if (r->type != REDIS_REPLY_ARRAY || r->elements < WD_FLEET_REC_FIELDS)
    goto garbage;
  for (size_t i = 0; i < WD_FLEET_REC_FIELDS; i++) {
    if (r->element[i]->type != REDIS_REPLY_INTEGER)
      goto garbage;
    v[i] = r->element[i]->integer;
  }
  if (wd_fleet_rec_decode(v, WD_FLEET_REC_FIELDS, &m->rec) != 0)
    goto garbage;
  if (m->rec.now_ms > f->p->redis_now_ms)
    f->p->redis_now_ms = m->rec.now_ms;
  return 0;
garbage:
  atomic_fetch_add(&f->redis_errors, 1);
  set_err(f, "unexpected reply", "not a warmth script's answer");
  return -1;
}

static void reply_out(struct wd_fleet *f, struct wd_fleet_msg *head) {
  if (!head)
    return;
  struct wd_fleet_priv *p = f->p;
  struct wd_fleet_msg *tail = head;
  while (tail->next)
    tail = tail->next;
  pthread_mutex_lock(&p->mu);
  if (p->out_tail)
    p->out_tail->next = head;
  else
    p->out_head = head;
  p->out_tail = tail;
  pthread_mutex_unlock(&p->mu);
  if (p->wake)
    p->wake(p->wake_arg);
}

/* Sends a batch pipelined and reads the replies in order.  Messages are
 * answered (rc 0 or -1) and handed back in any case. */
static void send_batch(struct wd_fleet *f, struct wd_fleet_msg *batch) {
  struct wd_fleet_priv *p = f->p;
  int64_t now = mono_ns();
  if (!p->c && now >= p->next_connect)
    connect_redis(f);
  struct wd_fleet_msg *m;
  int ok = p->c != NULL;
  for (m = batch; ok && m; m = m->next) {
    if (append_msg(f, m, 0) != 0) {
      ok = 0;
      break;
    }
    if (f->budget_fleet && m->op == WD_FOP_CLAIM) {
      /* The fleet's spend comes back with every claim (pipelined, no
       * round trip of its own), so a won claim is checked against it. */
      char key[WD_FLEET_KEY_MAX];
      if (wd_fleet_key(key, sizeof key, f->name, NULL, WD_FK_BUDGET,
                       day_of(p->redis_now_ms)) < 0 ||
          redisAppendCommand(p->c, "GET %s", key) != REDIS_OK) {
        ok = 0;
        break;
      }
    }
    if (f->budget_fleet && m->op == WD_FOP_RESULT && m->cost_usd > 0) {
      if (append_budget(f, m->cost_usd) != 0) {
        ok = 0;
        break;
      }
    }
  }
  if (!ok && p->c)
    /* Part of the batch may sit in the output buffer: its replies would
     * answer the next batch.  Start again on a new connection. */
    drop_conn(f, "cannot queue a command");
  int64_t sent_at = mono_ns();
  for (m = batch; m; m = m->next) {
    m->rc = -1;
    if (!ok || !p->c)
      continue;
    redisReply *r = NULL;
    if (redisGetReply(p->c, (void **)&r) != REDIS_OK || !r) {
      drop_conn(f, "lost the connection");
      ok = 0;
      continue;
    }
    m->local_at = mono_ns();
    rtt_add(f, (m->local_at - sent_at) / 1000);
    int rc = decode_reply(f, m, r);
    freeReplyObject(r);
    /* rc 1: the scripts were flushed (SCRIPT FLUSH, a failover); this
     * message goes again with EVAL once the batch is read. */
    m->rc = rc;
    int extra = !f->budget_fleet                            ? 0
                : m->op == WD_FOP_CLAIM                     ? 1
                : m->op == WD_FOP_RESULT && m->cost_usd > 0 ? 2
                                                            : 0;
    /* GET's or INCRBYFLOAT's reply is the fleet's spend today (then
     * PEXPIRE's); read whatever the script answered, to stay in step. */
    for (int i = 0; i < extra && p->c; i++) {
      redisReply *b = NULL;
      if (redisGetReply(p->c, (void **)&b) != REDIS_OK || !b) {
        drop_conn(f, "lost the connection");
        ok = 0;
        break;
      }
      if (i == 0 && b->type == REDIS_REPLY_STRING)
        atomic_store(&f->budget_spent_nusd,
                     (int64_t)(strtod(b->str, NULL) * 1e9));
      else if (i == 0 && b->type == REDIS_REPLY_NIL)
        atomic_store(&f->budget_spent_nusd, 0);
      freeReplyObject(b);
    }
  }
  int reloaded = 0;
  for (m = batch; m; m = m->next) {
    if (m->rc != 1)
      continue;
    m->rc = -1;
    if (!p->c || append_msg(f, m, 1) != 0)
      continue;
    redisReply *r = NULL;
    if (redisGetReply(p->c, (void **)&r) != REDIS_OK || !r) {
      drop_conn(f, "lost the connection");
      continue;
    }
    m->local_at = mono_ns();
    m->rc = decode_reply(f, m, r) == 0 ? 0 : -1;
    freeReplyObject(r);
    /* Load them again for the next batches (once per batch). */
    if (!reloaded && p->c)
      reloaded = load_scripts(f) == 0;
  }
  if (p->c && atomic_load(&f->state) == WD_FLEET_DEGRADED) {
    /* Every reply of the batch was read without an I/O error but one was
     * refused: keep the state degraded until a whole handshake passes, so
     * a Redis that refuses our scripts (NOPERM) does not flap. */
    int any_bad = 0;
    for (m = batch; m; m = m->next)
      any_bad |= m->rc != 0;
    if (any_bad) {
      redisFree(p->c);
      p->c = NULL;
      p->next_connect = mono_ns() + WD_FLEET_RETRY_NS;
    }
  }
  reply_out(f, batch);
}

static int64_t sent_last_hour(struct wd_fleet_priv *p, int64_t now) {
  int64_t min = now / (60 * WD_NS_PER_S), n = 0;
  pthread_mutex_lock(&p->mu);
  for (int i = 0; i < RING; i++)
    if (min - p->ring_min[i] < RING)
      n += p->ring_n[i];
  pthread_mutex_unlock(&p->mu);
  return n;
}

void wd_fleet_count_sent(struct wd_fleet *f, int64_t now) {
  struct wd_fleet_priv *p = f->p;
  int64_t min = now / (60 * WD_NS_PER_S);
  pthread_mutex_lock(&p->mu);
  int i = (int)(min % RING);
  if (p->ring_min[i] != min) {
    p->ring_min[i] = min;
    p->ring_n[i] = 0;
  }
  p->ring_n[i]++;
  pthread_mutex_unlock(&p->mu);
}

static void beat(struct wd_fleet *f) {
  struct wd_fleet_priv *p = f->p;
  char hosts[WD_FLEET_KEY_MAX], budget[WD_FLEET_KEY_MAX], sent[24];
  int64_t mine = sent_last_hour(p, mono_ns());
  atomic_store(&f->self_sent_hour, mine);
  fmt_i(sent, mine);
  if (wd_fleet_key(hosts, sizeof hosts, f->name, NULL, WD_FK_HOSTS, 0) < 0 ||
      wd_fleet_key(budget, sizeof budget, f->name, NULL, WD_FK_BUDGET,
                   day_of(p->redis_now_ms)) < 0)
    return;
  const char *a[] = {"EVALSHA", p->sha[S_BEAT], "2", hosts,
                     budget,    f->host_id,     sent};
  int64_t t0 = mono_ns();
  redisReply *r = redisCommandArgv(p->c, 7, a, NULL);
  if (!r) {
    drop_conn(f, "lost the connection");
    return;
  }
  rtt_add(f, (mono_ns() - t0) / 1000);
  if (r->type == REDIS_REPLY_ARRAY && r->elements >= 4 &&
      r->element[0]->type == REDIS_REPLY_INTEGER &&
      r->element[1]->type == REDIS_REPLY_INTEGER &&
      r->element[2]->type == REDIS_REPLY_INTEGER &&
      r->element[3]->type == REDIS_REPLY_STRING) {
    int64_t now_ms = r->element[0]->integer;
    int newday = day_of(now_ms) != day_of(p->redis_now_ms);
    if (now_ms > p->redis_now_ms)
      p->redis_now_ms = now_ms;
    atomic_store(&f->hosts_seen, r->element[1]->integer);
    atomic_store(&f->fleet_sent_hour, r->element[2]->integer);
    if (f->budget_fleet && !newday)
      atomic_store(&f->budget_spent_nusd,
                   (int64_t)(strtod(r->element[3]->str, NULL) * 1e9));
    else if (f->budget_fleet)
      p->next_beat = 0; /* the key was named after yesterday: again */
    freeReplyObject(r);
    return;
  }
  if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
    freeReplyObject(r);
    if (load_scripts(f) == 0)
      p->next_beat = 0; /* again, now */
    return;
  }
  char msg[200] = "not a warmth script's answer";
  if (r->type == REDIS_REPLY_ERROR)
    snprintf(msg, sizeof msg, "%.*s", (int)(r->len < 190 ? r->len : 190),
             r->str);
  freeReplyObject(r);
  atomic_fetch_add(&f->redis_errors, 1);
  set_err(f, "heartbeat refused", msg);
  redisFree(p->c);
  p->c = NULL;
  p->next_connect = mono_ns() + WD_FLEET_RETRY_NS;
}

static void *fleet_main(void *arg) {
  struct wd_fleet *f = arg;
  struct wd_fleet_priv *p = f->p;
  for (;;) {
    int64_t now = mono_ns();
    if (!p->c && now >= p->next_connect) {
      atomic_store(&f->busy_since_ns, mono_ns());
      connect_redis(f);
      atomic_store(&f->busy_since_ns, 0);
      atomic_store(&f->tried, 1);
    }
    if (p->c && now >= p->next_beat) {
      p->next_beat = now + WD_FLEET_BEAT_NS;
      atomic_store(&f->busy_since_ns, now);
      beat(f);
      atomic_store(&f->busy_since_ns, 0);
    }
    now = mono_ns();
    int64_t wake = p->c ? p->next_beat : p->next_connect;
    pthread_mutex_lock(&p->mu);
    if (!p->in_head && !p->stop && wake > now) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      int64_t at = (int64_t)ts.tv_sec * WD_NS_PER_S + ts.tv_nsec + (wake - now);
      ts.tv_sec = at / WD_NS_PER_S;
      ts.tv_nsec = at % WD_NS_PER_S;
      pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    if (p->stop) {
      pthread_mutex_unlock(&p->mu);
      break;
    }
    struct wd_fleet_msg *batch = p->in_head, *last = NULL;
    int n = 0;
    for (struct wd_fleet_msg *m = batch; m && n < BATCH_MAX; m = m->next) {
      last = m;
      n++;
    }
    if (last) {
      p->in_head = last->next;
      if (!p->in_head)
        p->in_tail = NULL;
      last->next = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (batch) {
      atomic_store(&f->busy_since_ns, mono_ns());
      send_batch(f, batch);
      atomic_store(&f->busy_since_ns, 0);
    }
  }
  if (p->c)
    redisFree(p->c);
  p->c = NULL;
  return NULL;
}

/* ---- interface ------------------------------------------------------------
 */

int wd_fleet_start(struct wd_fleet **out, const struct wd_fleet_opts *o,
                   char *err, size_t errlen) {
  struct wd_fleet *f = calloc(1, sizeof *f);
  struct wd_fleet_priv *p = calloc(1, sizeof *p);
  if (!f || !p) {
    free(f);
    free(p);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  f->p = p;
  if (wd_redis_url_parse(o->url, &p->url, err, errlen) != 0) {
    free(p);
    free(f);
    return -1;
  }
  wd_redis_url_format(&p->url, f->url_shown, sizeof f->url_shown);
  snprintf(f->name, sizeof f->name, "%s", o->name);
  snprintf(f->host_id, sizeof f->host_id, "%s", o->host_id);
  f->timeout_ns = o->timeout_ns;
  f->budget_fleet = o->budget_fleet;
  atomic_store(&f->budget_spent_nusd, -1);
  atomic_store(&f->state, WD_FLEET_DEGRADED); /* until the first handshake */
  atomic_store(&f->degraded_since_ns, (uint64_t)mono_ns());
  /* A handshake is 5 calls or so, each bounded by the timeout; past twice
   * the timeout a slow Redis must not hold the first warmups any longer. */
  f->first_deadline_ns = mono_ns() + 2 * o->timeout_ns;
  snprintf(p->err, sizeof p->err, "connecting");
  p->password = o->password ? strdup(o->password) : NULL;
  p->wake = o->wake;
  p->wake_arg = o->wake_arg;
  pthread_mutex_init(&p->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->cv, &ca);
  pthread_condattr_destroy(&ca);
  int rc = pthread_create(&p->thread, NULL, fleet_main, f);
  if (rc != 0) {
    snprintf(err, errlen, "cannot start the fleet thread: %s", strerror(rc));
    free(p->password);
    free(p);
    free(f);
    return -1;
  }
  *out = f;
  return 0;
}

static void free_list(struct wd_fleet_msg *m) {
  while (m) {
    struct wd_fleet_msg *n = m->next;
    free(m);
    m = n;
  }
}

void wd_fleet_stop(struct wd_fleet *f) {
  if (!f)
    return;
  struct wd_fleet_priv *p = f->p;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  pthread_join(p->thread, NULL);
  free_list(p->in_head);
  free_list(p->out_head);
  if (p->password) {
    explicit_bzero(p->password, strlen(p->password));
    free(p->password);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p);
  free(f);
}

void wd_fleet_post(struct wd_fleet *f, struct wd_fleet_msg *m) {
  struct wd_fleet_priv *p = f->p;
  m->next = NULL;
  pthread_mutex_lock(&p->mu);
  if (p->in_tail)
    p->in_tail->next = m;
  else
    p->in_head = m;
  p->in_tail = m;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

struct wd_fleet_msg *wd_fleet_take(struct wd_fleet *f) {
  struct wd_fleet_priv *p = f->p;
  pthread_mutex_lock(&p->mu);
  struct wd_fleet_msg *m = p->out_head;
  p->out_head = p->out_tail = NULL;
  pthread_mutex_unlock(&p->mu);
  return m;
}

void wd_fleet_error(struct wd_fleet *f, char *out, size_t outlen) {
  pthread_mutex_lock(&f->p->mu);
  snprintf(out, outlen, "%s", f->p->err);
  pthread_mutex_unlock(&f->p->mu);
}

void wd_fleet_version(struct wd_fleet *f, char *out, size_t outlen) {
  pthread_mutex_lock(&f->p->mu);
  snprintf(out, outlen, "%s", f->p->version);
  pthread_mutex_unlock(&f->p->mu);
}

int wd_fleet_check_online(const struct wd_fleet_opts *o, FILE *out) {
  struct wd_fleet f = {0};
  struct wd_fleet_priv p = {0};
  char err[256];
  f.p = &p;
  if (wd_redis_url_parse(o->url, &p.url, err, sizeof err) != 0) {
    fprintf(out, "fleet: redis: %s\n", err);
    return -1;
  }
  wd_redis_url_format(&p.url, f.url_shown, sizeof f.url_shown);
  snprintf(f.name, sizeof f.name, "%s", o->name);
  snprintf(f.host_id, sizeof f.host_id, "%s", o->host_id);
  f.timeout_ns = o->timeout_ns;
  p.password = (char *)o->password;
  p.quiet = 1;
  pthread_mutex_init(&p.mu, NULL);
  atomic_store(&f.state, WD_FLEET_OFF);
  int rc = connect_redis(&f);
  if (rc == 0) {
    fprintf(out, "fleet %s: redis %s: ok, Redis %s, host %s\n", f.name,
            f.url_shown, p.version, f.host_id);
    redisFree(p.c);
  } else {
    fprintf(out, "fleet %s: redis %s: %s\n", f.name, f.url_shown, p.err);
  }
  pthread_mutex_destroy(&p.mu);
  return rc;
}
