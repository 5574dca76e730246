/* fleet.h - fleet mode: one Redis connection on its own thread.
 *
 * The main loop never calls Redis.  It posts messages (claim a model's
 * lease, store a warmup's result, report real traffic) with
 * wd_fleet_post(); the fleet thread sends them pipelined over one hiredis
 * connection (blocking calls, connect and command timeouts = [fleet]
 * timeout), puts the answered messages on a reply list and wakes the loop
 * through the callback given to wd_fleet_start (wd_prober_wakeup).  The
 * loop takes the replies with wd_fleet_take() every turn.  A message the
 * thread cannot send (Redis down, slow, refusing, answering garbage) comes
 * back with rc -1 at once; and the loop does not wait for a claim longer
 * than the timeout in any case (fleetloop.c), so a hung Redis costs at most
 * one timeout's delay on a warmup, never a missed one.
 *
 * Connection life: connect, AUTH (user from the URL, password from
 * password_env / password_file: held by this module only, never logged),
 * SELECT, SCRIPT LOAD of the four scripts, INFO server for the version.
 * Any error (I/O, timeout, protocol, an error reply to any of those) drops
 * the connection and the state becomes degraded; the thread reconnects
 * every WD_FLEET_RETRY_NS and the state is ok again as soon as a whole
 * handshake succeeded.  A heartbeat script runs every WD_FLEET_BEAT_NS
 * (hosts seen, the fleet's warmups in the last hour, the fleet's budget).
 *
 * Key layout and script replies: fleetproto.h.
 */
#ifndef WARMD_FLEET_H
#define WARMD_FLEET_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "fleetproto.h"
#include "warmth.h"

#define WD_FLEET_RETRY_NS (1000LL * 1000000LL) /* < the 2 s promised */
#define WD_FLEET_BEAT_NS (2000LL * 1000000LL)
#define WD_FLEET_RTT_BUCKETS 12
extern const int64_t wd_fleet_rtt_bounds_us[WD_FLEET_RTT_BUCKETS];

enum wd_fleet_state {
  WD_FLEET_OFF = 0,
  WD_FLEET_OK = 1,
  WD_FLEET_DEGRADED = 2
};
const char *wd_fleet_state_name(int s);

enum wd_fleet_op {
  WD_FOP_CLAIM = 1,  /* may this host warm the model now? */
  WD_FOP_RESULT = 2, /* the warmup this host sent ended: store it */
  WD_FOP_REAL = 3,   /* workers here saw a real success */
};

struct wd_fleet_msg {
  struct wd_fleet_msg *next;
  int op;       /* enum wd_fleet_op */
  uint64_t tag; /* the table's tag of the model (wd_table_tag) */
  uint32_t seq; /* the entry's claim number: stale replies are dropped */
  char model[WARMTH_NAME_MAX + 1];
  int64_t posted_ns;
  /* claim */
  int64_t lease_ms, fresh_ms;
  /* result (ok or not), real */
  int ok, cls, http, thr;
  int64_t dur_ms, lat_us, hold_ms, ttl_ms, real_age_ms;
  uint64_t tin, tout, tcach;
  double cost_usd; /* > 0 with budget = fleet: INCRBYFLOAT */
  /* reply, set by the thread */
  int rc;           /* 0: rec is valid; -1: no answer (see wd_fleet_error) */
  int64_t local_at; /* CLOCK_MONOTONIC when the reply arrived */
  struct wd_fleet_rec rec;
};

struct wd_fleet_opts {
  const char *url;      /* [fleet] redis */
  const char *password; /* NULL: no AUTH; copied, then wiped by the caller */
  const char *name;     /* fleet name */
  const char *host_id;
  int64_t timeout_ns;
  int budget_fleet; /* count the daily budget fleet-wide */
  void (*wake)(void *arg);
  void *wake_arg;
};

struct wd_fleet {
  /* Read from any thread. */
  _Atomic int state; /* enum wd_fleet_state */
  _Atomic uint64_t leases_won, leases_lost, skipped_fleet, redis_errors,
      local_fallbacks, degraded_since_ns;
  _Atomic uint64_t rtt_count[WD_FLEET_RTT_BUCKETS];
  _Atomic uint64_t rtt_sum_us;
  _Atomic int64_t hosts_seen;        /* in the last minute, this one included */
  _Atomic int64_t fleet_sent_hour;   /* the fleet's warmups in the last hour */
  _Atomic int64_t self_sent_hour;    /* this host's, as last reported */
  _Atomic int64_t budget_spent_nusd; /* fleet-wide today; -1 unknown */
  /* Until the first handshake ends (either way) or this deadline passes,
   * fleetloop.c holds claims back rather than warming locally: a host
   * starting next to a running fleet would otherwise duplicate its first
   * round.  Set once by wd_fleet_start. */
  _Atomic int tried;
  /* When the thread entered its current blocking call (0: not in one).  A
   * call older than half the timeout means Redis hangs: the loop stops
   * posting claims and warms locally at once (fleetloop.c). */
  _Atomic int64_t busy_since_ns;
  int64_t first_deadline_ns;
  char url_shown[300]; /* no password: safe to print */
  char name[WD_FLEET_NAME_MAX + 1];
  char host_id[WD_FLEET_NAME_MAX + 1];
  int64_t timeout_ns;
  int budget_fleet;
  /* the rest is private to fleet.c */
  struct wd_fleet_priv *p;
};

/* Starts the thread (it connects by itself, in the background).  0, or -1
 * with why in err (a bad URL, no memory). */
int wd_fleet_start(struct wd_fleet **out, const struct wd_fleet_opts *o,
                   char *err, size_t errlen);
/* Stops the thread, drops what is queued, frees everything. */
void wd_fleet_stop(struct wd_fleet *f);
/* From the main loop: hands msg (malloc'd) to the thread. */
void wd_fleet_post(struct wd_fleet *f, struct wd_fleet_msg *msg);
/* From the main loop: the answered messages, oldest first (free them). */
struct wd_fleet_msg *wd_fleet_take(struct wd_fleet *f);
/* This host's warmups, for the heartbeat's "sent in the last hour". */
void wd_fleet_count_sent(struct wd_fleet *f, int64_t now);
/* The last error, for status ("" when none); copied under a lock. */
void wd_fleet_error(struct wd_fleet *f, char *out, size_t outlen);
/* The Redis server's version ("" until connected once). */
void wd_fleet_version(struct wd_fleet *f, char *out, size_t outlen);

/* --check-config --online: connects, authenticates, reads INFO server and
 * prints "fleet NAME: redis URL: ok, Redis VERSION" or why not.  0 or -1. */
int wd_fleet_check_online(const struct wd_fleet_opts *o, FILE *out);

#endif
