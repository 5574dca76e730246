/* fleetproto.h - fleet mode's Redis key layout, its scripts' replies, and
 * the pure helpers around them (URL parsing, address classification, key
 * names).  No I/O here: fleet.c owns the connection; check_fleet tests this.
 *
 * Keys (version v1).  <fleet> is [fleet] name, <model> a model's name;
 * both are plain table names (no '{', '}' or spaces: checked by the
 * config).  Keys of one model share the hash tag {<fleet>:<model>}, the
 * fleet-wide keys the tag {<fleet>}, so a Redis Cluster could hold them
 * (every script touches keys of one tag only).
 *
 *   warmth:{<fleet>:<model>}:v1:lease  STRING  host_id of the host warming
 *        the model now.  SET NX PX lease_ms; deleted by the winner's result
 *        script only while it still holds the value (compare-and-delete),
 *        else it expires.  lease_ms = the model's timeout + 1 s.
 *   warmth:{<fleet>:<model>}:v1:rec    HASH    the model's shared record;
 *        every time is Redis TIME in ms (never a host's clock):
 *          ok    start of the last successful warmup
 *          lat   its latency, us
 *          real  last real success reported by any host's workers
 *          fail  time of the last failed warmup, cls its error class,
 *                http its HTTP status
 *          hold  no host warms before this (Retry-After, rate-limit floor,
 *                a failure's backoff); thr 1 when it is a throttle
 *          tin, tout, tcach  tokens of the last successful warmup
 *          host  host_id that wrote last
 *        PEXPIRE on every write: max(2 intervals, hold) + 1 h.
 *   warmth:{<fleet>}:v1:hosts          HASH    host_id -> "<seen ms> <warmups
 *        this host sent in its last hour>"; fields older than 1 h are
 *        deleted by each heartbeat, the key expires 1 day after the last.
 *   warmth:{<fleet>}:v1:budget:<utc day>  STRING  USD spent by the fleet
 *        that day (INCRBYFLOAT), expires after 2 days.  Only with
 *        [fleet] budget = fleet.
 *
 * Scripts (loaded with SCRIPT LOAD on connect, called with EVALSHA, and
 * EVAL again after NOSCRIPT): claim, result, real, beat (fleet.c holds
 * their text).  claim and result reply with the record as one array:
 *   [status, now, ok, lat, real, fail, cls, hold, thr, lease_pttl]
 * (integers; 0 for a field the record lacks); status is enum
 * wd_fleet_claim.  beat replies [now, hosts seen in the last minute,
 * warmups sent by the fleet in the last hour].
 *
 * Numbering rule: hash fields, reply positions and statuses are only
 * appended; a reader ignores fields and positions it does not know.
 * Version rule: the "v1" in every key is bumped when a field changes type,
 * unit or meaning, or a key changes type: hosts of two versions then use
 * disjoint keys and a mixed fleet at worst warms twice during the upgrade,
 * never misreads.  Adding a field, a key or a reply position needs no bump.
 *
 * Changelog:
 *   v1 (warmth 0.1.0) lease, rec, hosts, budget.
 */
#ifndef WARMD_FLEETPROTO_H
#define WARMD_FLEETPROTO_H

#include <stddef.h>
#include <stdint.h>

#define WD_FLEET_KEY_VERSION "v1"
#define WD_FLEET_NAME_MAX 64 /* [fleet] name and host_id */
#define WD_FLEET_KEY_MAX 256

/* Where Redis is: parsed from "redis://[user@]host:port/db" or
 * "unix:/path[?db=N]".  No password in the URL: it comes from
 * password_env / password_file, so the URL can be printed as is. */
struct wd_redis_url {
  int unix_socket; /* 1: path is set, else host and port */
  char host[256];
  int port;       /* default 6379 */
  char path[108]; /* sun_path */
  char user[128]; /* "" = default user */
  int db;         /* SELECT db, default 0 */
};

/* Parses u.  0, or -1 with why in err (never echoing a password: a URL
 * with ":pass@" is refused, and the message says to use password_env). */
int wd_redis_url_parse(const char *s, struct wd_redis_url *u, char *err,
                       size_t errlen);
/* "redis://user@host:port/db" or "unix:/path?db=N", for logs and status. */
void wd_redis_url_format(const struct wd_redis_url *u, char *out,
                         size_t outlen);

/* The host of a URL (scheme://[user@]host[:port]/...; an IPv6 host
 * without its brackets, a trailing dot dropped) into host.  0, or -1 when
 * there is none or it does not fit. */
int wd_url_host(const char *url, char *host, size_t hostlen);

/* fleet = auto: 1 when base_url's host is shared upstream (fleet mode
 * applies), 0 when it is loopback (127/8, ::1, localhost) or link-local
 * (169.254/16, fe80::/10): a local llama.cpp or Ollama is per host.  A URL
 * it cannot read counts as upstream. */
int wd_fleet_url_is_upstream(const char *base_url);

enum wd_fleet_key {
  WD_FK_LEASE = 0,
  WD_FK_REC = 1,
  WD_FK_HOSTS = 2,
  WD_FK_BUDGET = 3, /* needs the UTC day number */
};
/* Writes the key name; model is NULL for the fleet-wide keys.  Returns the
 * length, or -1 when it does not fit. */
int wd_fleet_key(char *out, size_t outlen, const char *fleet, const char *model,
                 enum wd_fleet_key k, int64_t day);

/* Statuses of the claim and result scripts: append only. */
enum wd_fleet_claim {
  WD_FC_WON = 0,    /* lease taken: this host warms now */
  WD_FC_FRESH = 1,  /* a success or real traffic covers this interval */
  WD_FC_LOST = 2,   /* another host holds the lease (lease_pttl left) */
  WD_FC_HELD = 3,   /* the fleet holds this model until hold */
  WD_FC_STORED = 4, /* result / real: record written */
  WD_FC__END
};

/* The record as a script returned it (Redis times in ms). */
struct wd_fleet_rec {
  int status; /* enum wd_fleet_claim */
  int64_t now_ms, ok_ms, lat_us, real_ms, fail_ms;
  int cls;
  int64_t hold_ms;
  int thr;
  int64_t lease_pttl;
};
#define WD_FLEET_REC_FIELDS 10

/* Decodes a script's reply given as its integer elements (n of them).
 * 0, or -1 when it has fewer than WD_FLEET_REC_FIELDS, a status out of
 * range or a negative time (garbage from a server that is not Redis). */
int wd_fleet_rec_decode(const long long *v, size_t n, struct wd_fleet_rec *r);

/* When was the model last known warm, in Redis ms (0: never). */
int64_t wd_fleet_rec_warm_ms(const struct wd_fleet_rec *r);

/* Converts a Redis time to this host's CLOCK_MONOTONIC: local_at is our
 * monotonic time when the reply carrying redis_now arrived.  Clocks are
 * never compared, only ages (the error is the round trip). */
int64_t wd_fleet_to_local(int64_t redis_ms, int64_t redis_now_ms,
                          int64_t local_at);

#endif
