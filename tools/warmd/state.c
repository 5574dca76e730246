/* state.c - the state file: per-model counters, tokens, cost, latencies
 * and backoff kept across restarts, in msgpack.
 *
 * Format: one msgpack map.
 *   "format"        "warmd-state": a file without it is foreign
 *   "version"       STATE_VERSION.  Rule: adding keys keeps the version
 *                   (readers ignore keys they do not know and default
 *                   missing ones to 0); a key that changes meaning or type,
 *                   or is removed, bumps it, and an unknown version is set
 *                   aside like a corrupt file
 *   "saved_unix_ms" wall clock at save: CLOCK_MONOTONIC means nothing
 *                   after a reboot, so times are stored as durations
 *                   remaining at save and shortened by the wall time since
 *   "lat_bounds_us" the histogram's bucket bounds; its counts are restored
 *                   only when the bounds are the same
 *   "models"        array of maps, keyed "name", then the fields of `keys`
 *                   below and "lat_count", "by_class" (arrays), "hold_ms"
 *                   (Retry-After/backoff hold left, 0 none) and "due_ms"
 *                   (until the next warmup, -1 none planned)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <msgpack.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "state.h"

#define STATE_FORMAT "warmd-state"
#define STATE_VERSION 1
/* 10,000 models take about 5 MB; a larger file is not ours. */
#define STATE_MAX_BYTES (32u << 20)

struct saved {
  char name[WARMTH_NAME_MAX + 1];
  uint64_t n_ok, n_fail, n_skip_real, n_skip_idle, n_skip_budget,
      n_skip_throttle, lat_sum_us, successes, failures, tokens_in, tokens_out,
      tokens_cached, cost_nusd, last_latency_us, ewma_latency_us, fails_in_row,
      tokens_reasoning, tokens_cache_write;
  uint64_t lat[WD_LAT_BUCKETS];
  uint64_t by_class[WARMTH_ERR_CLASS_COUNT];
  int has_lat;
  int64_t hold_ms, due_ms;
};

/* Unsigned fields: key, offset, largest value (the record's are 32-bit). */
#define K(f, max)                                                              \
  { #f, offsetof(struct saved, f), max }
static const struct {
  const char *key;
  size_t off;
  uint64_t max;
} keys[] = {
    K(n_ok, UINT64_MAX),
    K(n_fail, UINT64_MAX),
    K(n_skip_real, UINT64_MAX),
    K(n_skip_idle, UINT64_MAX),
    K(n_skip_budget, UINT64_MAX),
    K(n_skip_throttle, UINT64_MAX),
    K(lat_sum_us, UINT64_MAX),
    K(successes, UINT64_MAX),
    K(failures, UINT64_MAX),
    K(tokens_in, UINT64_MAX),
    K(tokens_out, UINT64_MAX),
    K(tokens_cached, UINT64_MAX),
    K(cost_nusd, UINT64_MAX),
    K(last_latency_us, UINT32_MAX),
    K(ewma_latency_us, UINT32_MAX),
    K(fails_in_row, UINT32_MAX),
    /* appended (absent from older files: 0) */
    K(tokens_reasoning, UINT64_MAX),
    K(tokens_cache_write, UINT64_MAX),
};
#define NKEYS (sizeof keys / sizeof keys[0])

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- save -----------------------------------------------------------------
 */

static void pack_key(msgpack_packer *pk, const char *k) {
  msgpack_pack_str_with_body(pk, k, strlen(k));
}

static int64_t left_ms(int64_t until, int64_t now) {
  return until > now ? (until - now + WD_NS_PER_MS - 1) / WD_NS_PER_MS : 0;
}

static void pack_entry(msgpack_packer *pk, const struct wd_entry *e,
                       int64_t now) {
  struct saved s;
  memset(&s, 0, sizeof s);
  s.n_ok = atomic_load(&e->n_ok);
  s.n_fail = atomic_load(&e->n_fail);
  s.n_skip_real = atomic_load(&e->n_skip_real);
  s.n_skip_idle = atomic_load(&e->n_skip_idle);
  s.n_skip_budget = atomic_load(&e->n_skip_budget);
  s.n_skip_throttle = atomic_load(&e->n_skip_throttle);
  s.lat_sum_us = atomic_load(&e->lat_sum_us);
  s.successes = e->rec.successes;
  s.failures = e->rec.failures;
  s.tokens_in = e->rec.tokens_in;
  s.tokens_out = e->rec.tokens_out;
  s.tokens_cached = e->rec.tokens_cached;
  s.cost_nusd = e->rec.cost_nusd;
  s.last_latency_us = e->rec.last_latency_us;
  s.ewma_latency_us = e->rec.ewma_latency_us;
  s.fails_in_row = e->rec.fails_in_row;
  s.tokens_reasoning = atomic_load(&e->tokens_reasoning);
  s.tokens_cache_write = atomic_load(&e->tokens_cache_write);

  msgpack_pack_map(pk, NKEYS + 5);
  pack_key(pk, "name");
  msgpack_pack_str_with_body(pk, e->name, strlen(e->name));
  for (size_t k = 0; k < NKEYS; k++) {
    pack_key(pk, keys[k].key);
    msgpack_pack_uint64(pk,
                        *(const uint64_t *)((const char *)&s + keys[k].off));
  }
  pack_key(pk, "lat_count");
  msgpack_pack_array(pk, WD_LAT_BUCKETS);
  for (int b = 0; b < WD_LAT_BUCKETS; b++)
    msgpack_pack_uint64(pk, atomic_load(&e->lat_count[b]));
  pack_key(pk, "by_class");
  msgpack_pack_array(pk, WARMTH_ERR_CLASS_COUNT);
  for (int c = 0; c < WARMTH_ERR_CLASS_COUNT; c++)
    msgpack_pack_uint64(pk, atomic_load(&e->n_by_class[c]));
  pack_key(pk, "hold_ms");
  msgpack_pack_int64(pk, left_ms(e->hold_until, now));
  pack_key(pk, "due_ms");
  msgpack_pack_int64(pk, e->due == INT64_MAX ? -1 : left_ms(e->due, now));
}

/* Writes all of buf to fd; NULL or what failed (errno says why). */
static const char *write_sync(int fd, const void *buf, size_t len) {
  for (size_t off = 0; off < len;) {
    ssize_t w = write(fd, (const char *)buf + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return "cannot write";
    off += (size_t)w;
  }
  return fsync(fd) != 0 ? "cannot sync" : NULL;
}

/* Writes buf to a temp file beside path, syncs it, renames it over path and
 * syncs the directory, so a crash leaves the old file or the new one, never
 * a part of either. */
static int write_atomic(const char *path, const void *buf, size_t len) {
  size_t n = strlen(path) + 8;
  char *tmp = malloc(n), *dir = strdup(path);
  const char *what = "out of memory";
  int fd = -1;
  if (tmp && dir) {
    snprintf(tmp, n, "%s.XXXXXX", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    what = fd < 0 ? "cannot create a temp file beside it" : NULL;
  }
  if (fd >= 0) {
    what = write_sync(fd, buf, len);
    if (close(fd) != 0 && !what)
      what = "cannot close";
    if (!what && rename(tmp, path) != 0)
      what = "cannot rename the temp file over it";
    if (what) {
      int e = errno;
      unlink(tmp);
      errno = e;
    }
  }
  if (!what) { /* the rename is durable once the directory is */
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  } else {
    LOG(LOG_ERR, "state file %s: %s: %s", path, what, strerror(errno));
  }
  free(tmp);
  free(dir);
  return what ? -1 : 0;
}

int wd_state_save(const char *path, const struct wd_table *t, int64_t now) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 5);
  pack_key(&pk, "format");
  pack_key(&pk, STATE_FORMAT);
  pack_key(&pk, "version");
  msgpack_pack_uint32(&pk, STATE_VERSION);
  pack_key(&pk, "saved_unix_ms");
  msgpack_pack_int64(&pk, wall_ms());
  pack_key(&pk, "lat_bounds_us");
  msgpack_pack_array(&pk, WD_LAT_BUCKETS);
  for (int b = 0; b < WD_LAT_BUCKETS; b++)
    msgpack_pack_uint64(&pk, wd_lat_bounds_us[b]);
  pack_key(&pk, "models");
  msgpack_pack_array(&pk, t->n);
  for (uint32_t i = 0; i < t->n; i++)
    pack_entry(&pk, t->v[i], now);
  int rc = sb.data ? write_atomic(path, sb.data, sb.size) : -1;
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* ---- load: check the bytes, then the schema, then apply ------------------ */

/* Checks that buf holds exactly one msgpack object whose every array and
 * map could fit in the bytes left, before msgpack-c sees it: its unpacker
 * allocates a container's elements from the header's count, so a 5-byte
 * "array of 4 billion" would ask for 96 GB.  NULL when fine, else why. */
static const char *check_bytes(const unsigned char *p, size_t len) {
  size_t off = 0;
  uint64_t pending = 1; /* objects still to read */
  while (pending) {
    pending--;
    if (off >= len)
      return "truncated";
    unsigned c = p[off++];
    uint64_t skip = 0, items = 0; /* payload bytes; child objects */
    int nlen = 0;                 /* big-endian length bytes that follow */
    int kind = 0;                 /* 1 bytes, 2 array, 3 map, 4 ext */
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
      ;
    else if (c <= 0x8f)
      items = 2 * (uint64_t)(c & 0x0f);
    else if (c <= 0x9f)
      items = c & 0x0f;
    else if (c <= 0xbf)
      skip = c & 0x1f;
    else if (c == 0xc1)
      return "invalid byte 0xc1";
    else if (c <= 0xc6)
      nlen = 1 << (c - 0xc4), kind = 1; /* bin 8/16/32 */
    else if (c <= 0xc9)
      nlen = 1 << (c - 0xc7), kind = 4; /* ext 8/16/32 */
    else if (c <= 0xcb)
      skip = c == 0xca ? 4 : 8; /* float */
    else if (c <= 0xd3)
      skip = 1u << ((c - 0xcc) & 3); /* uint, int 8..64 */
    else if (c <= 0xd8)
      skip = 1 + (1u << (c - 0xd4)); /* fixext: type + 1..16 */
    else if (c <= 0xdb)
      nlen = 1 << (c - 0xd9), kind = 1; /* str 8/16/32 */
    else if (c <= 0xdd)
      nlen = c == 0xdc ? 2 : 4, kind = 2;
    else
      nlen = c == 0xde ? 2 : 4, kind = 3;
    if (nlen) {
      if (len - off < (size_t)nlen)
        return "truncated";
      uint64_t n = 0;
      for (int i = 0; i < nlen; i++)
        n = n << 8 | p[off++];
      if (kind == 1)
        skip = n;
      else if (kind == 4)
        skip = n + 1;
      else
        items = kind == 3 ? 2 * n : n;
    }
    if (skip > len - off)
      return "truncated";
    off += skip;
    pending += items;
    if (pending > len - off) /* each object takes at least a byte */
      return "truncated";
  }
  return off == len ? NULL : "trailing bytes after the state";
}

static const msgpack_object *get(const msgpack_object *map, const char *k) {
  size_t kl = strlen(k);
  for (uint32_t i = 0; i < map->via.map.size; i++) {
    const msgpack_object *key = &map->via.map.ptr[i].key;
    if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == kl &&
        memcmp(key->via.str.ptr, k, kl) == 0)
      return &map->via.map.ptr[i].val;
  }
  return NULL;
}

static int get_int(const msgpack_object *o, int64_t *v) {
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
    *v = (int64_t)o->via.u64;
  else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    *v = o->via.i64;
  else
    return -1;
  return 0;
}

/* Parses models[i] into s; on error writes why. */
static int parse_model(const msgpack_object *o, uint32_t i, struct saved *s,
                       int lat_ok, char *why, size_t n) {
  memset(s, 0, sizeof *s);
  s->due_ms = -1;
  if (o->type != MSGPACK_OBJECT_MAP) {
    snprintf(why, n, "models[%u] is not a map", i);
    return -1;
  }
  const msgpack_object *v = get(o, "name");
  if (!v || v->type != MSGPACK_OBJECT_STR || !v->via.str.size ||
      v->via.str.size > WARMTH_NAME_MAX ||
      memchr(v->via.str.ptr, 0, v->via.str.size)) {
    snprintf(why, n, "models[%u].name: missing or not a model name", i);
    return -1;
  }
  memcpy(s->name, v->via.str.ptr, v->via.str.size);
  for (size_t k = 0; k < NKEYS; k++) {
    if (!(v = get(o, keys[k].key)))
      continue; /* added after this file was written: 0 */
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        v->via.u64 > keys[k].max) {
      snprintf(why, n, "models[%u] (%s).%s: not an integer in 0..%llu", i,
               s->name, keys[k].key, (unsigned long long)keys[k].max);
      return -1;
    }
    *(uint64_t *)((char *)s + keys[k].off) = v->via.u64;
  }
  static const struct {
    const char *key;
    size_t off, max;
  } arrays[] = {
      {"lat_count", offsetof(struct saved, lat), WD_LAT_BUCKETS},
      {"by_class", offsetof(struct saved, by_class), WARMTH_ERR_CLASS_COUNT}};
  for (int a = 0; a < 2; a++) {
    if (!(v = get(o, arrays[a].key)))
      continue;
    int ok = v->type == MSGPACK_OBJECT_ARRAY;
    for (uint32_t j = 0; ok && j < v->via.array.size; j++)
      ok = v->via.array.ptr[j].type == MSGPACK_OBJECT_POSITIVE_INTEGER;
    if (!ok) {
      snprintf(why, n, "models[%u] (%s).%s: not an array of integers", i,
               s->name, arrays[a].key);
      return -1;
    }
    if (a == 0 && (!lat_ok || v->via.array.size != WD_LAT_BUCKETS))
      continue; /* other buckets: the histogram starts afresh */
    s->has_lat |= a == 0;
    uint64_t *dst = (uint64_t *)((char *)s + arrays[a].off);
    for (uint32_t j = 0; j < v->via.array.size && j < arrays[a].max; j++)
      dst[j] = v->via.array.ptr[j].via.u64; /* classes only get appended */
  }
  const char *ikeys[] = {"hold_ms", "due_ms"};
  int64_t *idst[] = {&s->hold_ms, &s->due_ms};
  for (int k = 0; k < 2; k++)
    if ((v = get(o, ikeys[k])) && get_int(v, idst[k]) != 0) {
      snprintf(why, n, "models[%u] (%s).%s: not an integer", i, s->name,
               ikeys[k]);
      return -1;
    }
  return 0;
}

/* Checks the header and parses every model (nothing is applied unless the
 * whole file is good).  Returns the models (malloc'd) or NULL with why. */
static struct saved *parse(const msgpack_object *root, uint32_t *count,
                           int64_t *saved_ms, char *why, size_t n) {
  const msgpack_object *v;
  int64_t ver;
  if (root->type != MSGPACK_OBJECT_MAP || !(v = get(root, "format")) ||
      v->type != MSGPACK_OBJECT_STR ||
      v->via.str.size != strlen(STATE_FORMAT) ||
      memcmp(v->via.str.ptr, STATE_FORMAT, v->via.str.size) != 0) {
    snprintf(why, n, "not a warmd state file (no \"format\": \"%s\")",
             STATE_FORMAT);
    return NULL;
  }
  if (!(v = get(root, "version")) || get_int(v, &ver) != 0) {
    snprintf(why, n, "no format version");
    return NULL;
  }
  if (ver != STATE_VERSION) {
    snprintf(why, n, "format version %lld, this warmd reads %d", (long long)ver,
             STATE_VERSION);
    return NULL;
  }
  if (!(v = get(root, "saved_unix_ms")) || get_int(v, saved_ms) != 0) {
    snprintf(why, n, "saved_unix_ms: missing or not an integer");
    return NULL;
  }
  int lat_ok = (v = get(root, "lat_bounds_us")) &&
               v->type == MSGPACK_OBJECT_ARRAY &&
               v->via.array.size == WD_LAT_BUCKETS;
  for (int b = 0; lat_ok && b < WD_LAT_BUCKETS; b++)
    lat_ok = v->via.array.ptr[b].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
             v->via.array.ptr[b].via.u64 == wd_lat_bounds_us[b];
  const msgpack_object *models = get(root, "models");
  if (!models || models->type != MSGPACK_OBJECT_ARRAY) {
    snprintf(why, n, "models: missing or not an array");
    return NULL;
  }
  *count = models->via.array.size;
  struct saved *s = calloc(*count ? *count : 1, sizeof *s);
  if (!s) {
    snprintf(why, n, "out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < *count; i++)
    if (parse_model(&models->via.array.ptr[i], i, &s[i], lat_ok, why, n)) {
      free(s);
      return NULL;
    }
  return s;
}

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* The process-local counters start at zero, so they take the saved values.
 * The record's may have been adopted from the shared table, which is at
 * least as new as the file (the same coordinators wrote both), or be fresh
 * after a reboot: the larger value is right either way. */
static void apply(struct wd_table *t, struct wd_entry *e, const struct saved *s,
                  int64_t now, int64_t elapsed_ns) {
  atomic_store(&e->n_ok, s->n_ok);
  atomic_store(&e->n_fail, s->n_fail);
  atomic_store(&e->n_skip_real, s->n_skip_real);
  atomic_store(&e->n_skip_idle, s->n_skip_idle);
  atomic_store(&e->n_skip_budget, s->n_skip_budget);
  atomic_store(&e->n_skip_throttle, s->n_skip_throttle);
  atomic_store(&e->tokens_reasoning, s->tokens_reasoning);
  atomic_store(&e->tokens_cache_write, s->tokens_cache_write);
  if (s->has_lat) {
    for (int b = 0; b < WD_LAT_BUCKETS; b++)
      atomic_store(&e->lat_count[b], s->lat[b]);
    atomic_store(&e->lat_sum_us, s->lat_sum_us);
  }
  for (int c = 0; c < WARMTH_ERR_CLASS_COUNT; c++)
    atomic_store(&e->n_by_class[c], s->by_class[c]);
  struct warmth__payload *p = &e->rec;
  int fresh = !p->successes && !p->failures && !p->last_probe;
  p->successes = max_u64(p->successes, s->successes);
  p->failures = max_u64(p->failures, s->failures);
  p->tokens_in = max_u64(p->tokens_in, s->tokens_in);
  p->tokens_out = max_u64(p->tokens_out, s->tokens_out);
  p->tokens_cached = max_u64(p->tokens_cached, s->tokens_cached);
  p->cost_nusd = max_u64(p->cost_nusd, s->cost_nusd);
  if (fresh) {
    p->last_latency_us = (uint32_t)s->last_latency_us;
    p->ewma_latency_us = (uint32_t)s->ewma_latency_us;
    p->fails_in_row = (uint32_t)s->fails_in_row;
  }
  /* A hold (Retry-After, headroom) is the provider's word: it outlives a
   * restart.  A model in backoff keeps its pace; a healthy one starts with
   * the spread first round, as its warmth is unknown after a restart. */
  int64_t hold = s->hold_ms * WD_NS_PER_MS - elapsed_ns;
  if (s->hold_ms > 0 && hold > 0 && now + hold > e->hold_until)
    e->hold_until = now + hold;
  int64_t due = s->due_ms * WD_NS_PER_MS - elapsed_ns;
  if (p->fails_in_row > 0 && s->due_ms >= 0 && e->due != INT64_MAX &&
      now + (due > 0 ? due : 0) > e->due)
    e->due = now + (due > 0 ? due : 0);
  if (e->due != INT64_MAX && e->due < e->hold_until)
    e->due = e->hold_until;
  wd_heap_fix(t, e);
}

static void set_aside(const char *path, const char *why) {
  char *bad = NULL;
  if (asprintf(&bad, "%s.bad-%lld", path, (long long)time(NULL)) < 0) {
    LOG(LOG_ERR, "state file %s: %s; starting fresh", path, why);
    return;
  }
  if (rename(path, bad) == 0)
    LOG(LOG_ERR, "state file %s: %s; kept aside as %s, starting fresh", path,
        why, bad);
  else
    LOG(LOG_ERR,
        "state file %s: %s; cannot rename it to %s (%s), starting "
        "fresh",
        path, why, bad, strerror(errno));
  free(bad);
}

/* The whole file, or NULL with why. */
static unsigned char *read_all(int fd, size_t *len, char *why, size_t n) {
  struct stat st;
  unsigned char *buf = NULL;
  if (fstat(fd, &st) != 0)
    snprintf(why, n, "cannot stat: %s", strerror(errno));
  else if (!S_ISREG(st.st_mode))
    snprintf(why, n, "not a regular file");
  else if ((uint64_t)st.st_size > STATE_MAX_BYTES)
    snprintf(why, n, "larger than %u MiB", STATE_MAX_BYTES >> 20);
  else if (!(buf = malloc((size_t)st.st_size + 1)))
    snprintf(why, n, "out of memory");
  size_t off = 0, cap = buf ? (size_t)st.st_size + 1 : 0;
  while (buf && off < cap) { /* one byte more than stat said: growth */
    ssize_t r = read(fd, buf + off, cap - off);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      snprintf(why, n, "cannot read: %s", strerror(errno));
      free(buf);
      return NULL;
    }
    if (r == 0)
      break;
    off += (size_t)r;
  }
  *len = off;
  return buf;
}

int wd_state_load(const char *path, struct wd_table *t, int64_t now) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT)
      LOG(LOG_INFO, "state file %s: none yet, starting fresh", path);
    else /* not ours to move: say why and go on without it */
      LOG(LOG_ERR, "state file %s: cannot open: %s; starting fresh", path,
          strerror(errno));
    return 0;
  }
  size_t len = 0;
  char why[256];
  unsigned char *buf = read_all(fd, &len, why, sizeof why);
  close(fd);
  if (!buf) {
    set_aside(path, why);
    return 0;
  }
  const char *bad = len ? check_bytes(buf, len) : "empty";
  if (bad) {
    snprintf(why, sizeof why, "not a valid msgpack file: %s", bad);
    free(buf);
    set_aside(path, why);
    return 0;
  }
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  size_t off = 0;
  int rc = msgpack_unpack_next(&u, (const char *)buf, len, &off);
  struct saved *s = NULL;
  uint32_t n = 0;
  int64_t saved_ms = 0;
  if (rc != MSGPACK_UNPACK_SUCCESS)
    snprintf(why, sizeof why,
             "msgpack-c cannot unpack it (%d): nested too "
             "deep or out of memory",
             rc);
  else
    s = parse(&u.data, &n, &saved_ms, why, sizeof why);
  msgpack_unpacked_destroy(&u);
  free(buf);
  if (!s) {
    set_aside(path, why);
    return 0;
  }
  int64_t elapsed = (wall_ms() - saved_ms) * WD_NS_PER_MS;
  if (elapsed < 0)
    elapsed = 0; /* the clock went back: assume no time passed */
  uint32_t applied = 0, gone = 0;
  rcu_read_lock();
  for (uint32_t i = 0; i < n; i++) {
    struct wd_entry *e = wd_table_find(t, s[i].name);
    if (e) {
      apply(t, e, &s[i], now, elapsed);
      applied++;
    } else {
      gone++;
    }
  }
  rcu_read_unlock();
  LOG(LOG_INFO,
      "state file %s: restored %u models (%u no longer configured, "
      "ignored), saved %llds ago",
      path, applied, gone, (long long)(elapsed / WD_NS_PER_S));
  free(s);
  return 0;
}
