/* fleetproto.c - see fleetproto.h. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fleetproto.h"

#define NS_PER_MS 1000000LL

static int fail(char *err, size_t errlen, const char *why) {
  snprintf(err, errlen, "%s", why);
  return -1;
}

static int parse_int(const char *s, size_t n, int lo, int hi, int *out) {
  if (n == 0 || n > 9)
    return -1;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  if (v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

int wd_redis_url_parse(const char *s, struct wd_redis_url *u, char *err,
                       size_t errlen) {
  memset(u, 0, sizeof *u);
  u->port = 6379;
  if (!s || !*s)
    return fail(err, errlen, "empty Redis address");
  if (strncmp(s, "unix:", 5) == 0) {
    const char *p = s + 5;
    const char *q = strchr(p, '?');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n == 0 || p[0] != '/')
      return fail(err, errlen, "unix: needs an absolute socket path");
    if (n >= sizeof u->path)
      return fail(err, errlen, "unix socket path too long");
    memcpy(u->path, p, n);
    u->unix_socket = 1;
    if (q) {
      if (strncmp(q, "?db=", 4) != 0 ||
          parse_int(q + 4, strlen(q + 4), 0, 1000000, &u->db) != 0)
        return fail(err, errlen, "unix: only ?db=N may follow the path");
    }
    return 0;
  }
  if (strncmp(s, "redis://", 8) != 0)
    return fail(err, errlen,
                "expected redis://[user@]host[:port][/db] or unix:/path "
                "(rediss:// TLS is not supported)");
  const char *p = s + 8;
  const char *end = p + strcspn(p, "/?#");
  const char *at = memchr(p, '@', (size_t)(end - p));
  if (at) {
    size_t n = (size_t)(at - p);
    if (memchr(p, ':', n))
      return fail(err, errlen,
                  "no password in the Redis URL: use password_env or "
                  "password_file");
    if (n == 0 || n >= sizeof u->user)
      return fail(err, errlen, "bad user name in the Redis URL");
    memcpy(u->user, p, n);
    p = at + 1;
  }
  const char *hend;
  const char *port = NULL;
  if (*p == '[') { /* [v6]:port */
    const char *rb = memchr(p, ']', (size_t)(end - p));
    if (!rb)
      return fail(err, errlen, "unclosed [ in the Redis URL");
    if ((size_t)(rb - p - 1) >= sizeof u->host || rb == p + 1)
      return fail(err, errlen, "bad host in the Redis URL");
    memcpy(u->host, p + 1, (size_t)(rb - p - 1));
    hend = rb + 1;
    if (hend < end && *hend != ':')
      return fail(err, errlen, "bad host in the Redis URL");
    if (hend < end)
      port = hend + 1;
  } else {
    const char *colon = memchr(p, ':', (size_t)(end - p));
    hend = colon ? colon : end;
    size_t n = (size_t)(hend - p);
    if (n == 0 || n >= sizeof u->host)
      return fail(err, errlen, "no host in the Redis URL");
    memcpy(u->host, p, n);
    if (colon)
      port = colon + 1;
  }
  if (port && parse_int(port, (size_t)(end - port), 1, 65535, &u->port) != 0)
    return fail(err, errlen, "bad port in the Redis URL");
  for (const char *h = u->host; *h; h++)
    if (!isalnum((unsigned char)*h) && !strchr(".-_:", *h))
      return fail(err, errlen, "bad host in the Redis URL");
  if (*end == '/') {
    const char *db = end + 1;
    if (*db && parse_int(db, strlen(db), 0, 1000000, &u->db) != 0)
      return fail(err, errlen, "bad database number in the Redis URL");
  } else if (*end) {
    return fail(err, errlen, "unexpected ? or # in the Redis URL");
  }
  return 0;
}

void wd_redis_url_format(const struct wd_redis_url *u, char *out,
                         size_t outlen) {
  if (u->unix_socket) {
    if (u->db)
      snprintf(out, outlen, "unix:%s?db=%d", u->path, u->db);
    else
      snprintf(out, outlen, "unix:%s", u->path);
    return;
  }
  int v6 = strchr(u->host, ':') != NULL;
  snprintf(out, outlen, "redis://%s%s%s%s%s:%d/%d", u->user,
           u->user[0] ? "@" : "", v6 ? "[" : "", u->host, v6 ? "]" : "",
           u->port, u->db);
}

int wd_url_host(const char *url, char *host, size_t hostlen) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  const char *end = p + strcspn(p, "/?#");
  const char *at = memchr(p, '@', (size_t)(end - p));
  size_t n;
  if (at)
    p = at + 1;
  if (*p == '[') {
    const char *rb = memchr(p, ']', (size_t)(end - p));
    if (!rb)
      return -1;
    p++;
    n = (size_t)(rb - p);
  } else {
    const char *colon = memchr(p, ':', (size_t)(end - p));
    n = (size_t)((colon ? colon : end) - p);
  }
  if (n == 0 || n >= hostlen)
    return -1;
  memcpy(host, p, n);
  host[n] = 0;
  if (host[n - 1] == '.') /* "localhost." is localhost */
    host[n - 1] = 0;
  return 0;
}

int wd_fleet_url_is_upstream(const char *url) {
  char host[256];
  if (!url || wd_url_host(url, host, sizeof host) != 0)
    return 1;
  if (strcasecmp(host, "localhost") == 0 ||
      (strlen(host) > 10 &&
       strcasecmp(host + strlen(host) - 10, ".localhost") == 0))
    return 0;
  struct in_addr a4;
  if (inet_pton(AF_INET, host, &a4) == 1) {
    uint32_t a = ntohl(a4.s_addr);
    if ((a >> 24) == 127 || (a >> 16) == 0xa9fe) /* 127/8, 169.254/16 */
      return 0;
    return 1;
  }
  struct in6_addr a6;
  char *pct = strchr(host, '%'); /* fe80::1%eth0 */
  if (pct)
    *pct = 0;
  if (inet_pton(AF_INET6, host, &a6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_LINKLOCAL(&a6))
      return 0;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      uint32_t a;
      memcpy(&a, &a6.s6_addr[12], 4);
      a = ntohl(a);
      if ((a >> 24) == 127 || (a >> 16) == 0xa9fe)
        return 0;
    }
    return 1;
  }
  return 1; /* a name other than localhost: assume it is shared */
}

int wd_fleet_key(char *out, size_t outlen, const char *fleet, const char *model,
                 enum wd_fleet_key k, int64_t day) {
  int n = -1;
  switch (k) {
  case WD_FK_LEASE:
  case WD_FK_REC:
    if (!model)
      return -1;
    n = snprintf(out, outlen, "warmth:{%s:%s}:" WD_FLEET_KEY_VERSION ":%s",
                 fleet, model, k == WD_FK_LEASE ? "lease" : "rec");
    break;
  case WD_FK_HOSTS:
    n = snprintf(out, outlen, "warmth:{%s}:" WD_FLEET_KEY_VERSION ":hosts",
                 fleet);
    break;
  case WD_FK_BUDGET:
    n = snprintf(out, outlen,
                 "warmth:{%s}:" WD_FLEET_KEY_VERSION ":budget:%lld", fleet,
                 (long long)day);
    break;
  }
  return n < 0 || (size_t)n >= outlen ? -1 : n;
}

int wd_fleet_rec_decode(const long long *v, size_t n, struct wd_fleet_rec *r) {
  memset(r, 0, sizeof *r);
  if (n < WD_FLEET_REC_FIELDS)
    return -1;
  if (v[0] < 0 || v[0] >= WD_FC__END)
    return -1;
  for (size_t i = 1; i < WD_FLEET_REC_FIELDS; i++)
    if (v[i] < -1) /* lease_pttl may be -1 (no TTL) or -2 (no key): */
      if (!(i == 9 && v[i] == -2))
        return -1;
  if (v[1] <= 0) /* Redis TIME is never 0 */
    return -1;
  r->status = (int)v[0];
  r->now_ms = v[1];
  r->ok_ms = v[2];
  r->lat_us = v[3];
  r->real_ms = v[4];
  r->fail_ms = v[5];
  r->cls = (int)v[6];
  r->hold_ms = v[7];
  r->thr = v[8] != 0;
  r->lease_pttl = v[9];
  return 0;
}

int64_t wd_fleet_rec_warm_ms(const struct wd_fleet_rec *r) {
  return r->ok_ms > r->real_ms ? r->ok_ms : r->real_ms;
}

int64_t wd_fleet_to_local(int64_t redis_ms, int64_t redis_now_ms,
                          int64_t local_at) {
  return local_at - (redis_now_ms - redis_ms) * NS_PER_MS;
}
