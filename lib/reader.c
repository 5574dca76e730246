/* reader.c - libwarmth: attach to the table and read it lock-free.
 *
 * The hot path (lookup, is_warm, touch) allocates nothing, takes no lock and
 * makes no system call but the vDSO clock.  Attaching (open, re-attach after
 * the coordinator replaced the segment) is the only slow path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "layout.h"
#include "warmth.h"

/* One attachment: the mappings of one state segment (and its demand
 * segment).  Attachments are immutable once published in the handle; a
 * replaced one is kept until warmth_close() (or until WARMTH__KEEP_OLD newer
 * ones exist), because another thread may still be reading through it. */
struct att {
  const struct warmth__hdr *hdr;
  size_t len;
  const _Atomic uint64_t *index[2];
  uint32_t mask;
  uint32_t capacity;
  const struct warmth__rec *recs;
  struct warmth__dslot *dslots; /* NULL when the demand segment is unusable */
  size_t dlen;
  void *dmap;
  struct att *older;
};

#define WARMTH__KEEP_OLD 8
#define WARMTH__REATTACH_NS (100LL * 1000000LL)
#define WARMTH__MAX_OWNERS 4

struct warmth {
  _Atomic(struct att *) cur;
  _Atomic int64_t next_attach; /* earliest time of the next attach try */
  _Atomic int last_err;        /* why the last attach failed */
  unsigned flags;
  int nowners;
  uid_t owners[WARMTH__MAX_OWNERS];
  char name[NAME_MAX + 1];
  char dname[NAME_MAX + 1];
};

/* ---- errors, names, version ------------------------------------------- */

const char *warmth_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
#define WARMTH__STR(name, num, msg)                                            \
  case WARMTH_E##name:                                                         \
    return msg;
    WARMTH_ERRNO_MAP(WARMTH__STR)
#undef WARMTH__STR
  }
  return "unknown error";
}

const char *warmth_err_name(int err) {
  switch (err) {
  case 0:
    return "OK";
#define WARMTH__NAME(name, num, msg)                                           \
  case WARMTH_E##name:                                                         \
    return "WARMTH_E" #name;
    WARMTH_ERRNO_MAP(WARMTH__NAME)
#undef WARMTH__NAME
  }
  return "WARMTH_E?";
}

const char *warmth_state_name(int state) {
  static const char *const names[WARMTH_STATE_COUNT] = {
      "unknown", "warming", "warm", "failing", "idle", "disabled"};
  return state >= 0 && state < WARMTH_STATE_COUNT ? names[state] : "invalid";
}

const char *warmth_error_class_name(int c) {
  static const char *const names[WARMTH_ERR_CLASS_COUNT] = {
      "none", "connect", "timeout", "http",  "auth",
      "rate", "server",  "body",    "budget"};
  return c >= 0 && c < WARMTH_ERR_CLASS_COUNT ? names[c] : "invalid";
}

unsigned warmth_version(void) { return WARMTH_VERSION_HEX; }
const char *warmth_version_string(void) { return WARMTH_VERSION_STRING; }

/* ---- attaching ---------------------------------------------------------- */

static int owner_ok(const struct warmth *h, uid_t uid) {
  for (int i = 0; i < h->nowners; i++)
    if (h->owners[i] == uid)
      return 1;
  return 0;
}

static void add_owner(struct warmth *h, uid_t uid) {
  if (!owner_ok(h, uid) && h->nowners < WARMTH__MAX_OWNERS)
    h->owners[h->nowners++] = uid;
}

static int lookup_user(const char *s, uid_t *uid) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (*s && !*end && !errno) {
    *uid = (uid_t)v;
    return 0;
  }
  char buf[4096];
  struct passwd pw, *res = NULL;
  if (getpwnam_r(s, &pw, buf, sizeof buf, &res) == 0 && res) {
    *uid = res->pw_uid;
    return 0;
  }
  return -1;
}

/* The uid of the user "warmth", looked up once per process: an NSS lookup
 * costs tens of microseconds, which a worker that opens a handle per
 * request (PHP without Table::shared) would pay every time (bench-php).
 * 0 unknown yet, 1 looked up and found, 2 no such user; a race only
 * repeats the lookup, and the two stores of the uid are the same value. */
static _Atomic int warmth_user_state;
static _Atomic uid_t warmth_user_uid;

static int warmth_user(uid_t *uid) {
  int st = atomic_load_explicit(&warmth_user_state, memory_order_acquire);
  if (st == 0) {
    uid_t u;
    st = lookup_user("warmth", &u) == 0 ? 1 : 2;
    if (st == 1)
      atomic_store_explicit(&warmth_user_uid, u, memory_order_relaxed);
    /* Release: pairs with the acquire load above in a later call. */
    atomic_store_explicit(&warmth_user_state, st, memory_order_release);
  }
  if (st != 1)
    return -1;
  *uid = atomic_load_explicit(&warmth_user_uid, memory_order_relaxed);
  return 0;
}

/* Checks an open segment before a byte of it is trusted: a regular file,
 * owned by an expected user, writable by no one but its owner (state) or by
 * owner and group (demand), at least min_size long. */
static int check_fd(const struct warmth *h, int fd, int allow_group_write,
                    size_t min_size, struct stat *st) {
  if (fstat(fd, st) != 0)
    return WARMTH_ESYS;
  if (!S_ISREG(st->st_mode))
    return WARMTH_EBADMAGIC;
  if (!owner_ok(h, st->st_uid))
    return WARMTH_EBADOWNER;
  if ((st->st_mode & S_IWOTH) ||
      (!allow_group_write && (st->st_mode & S_IWGRP)))
    return WARMTH_EINSECURE;
  if ((uint64_t)st->st_size < min_size)
    return WARMTH_ETRUNCATED;
  return 0;
}

static int open_err(int e) {
  if (e == ENOENT)
    return WARMTH_ENOENT;
  if (e == EACCES || e == EPERM)
    return WARMTH_EACCES;
  if (e == ENAMETOOLONG || e == EINVAL)
    return WARMTH_EINVAL;
  return WARMTH_ESYS;
}

/* Validates the header of a mapped state segment of `size` bytes. */
static int check_hdr(const struct warmth__hdr *hd, uint64_t size,
                     struct warmth__geom *g) {
  /* Acquire pairs with the writer's release store of magic, which it makes
   * after every other header field and the empty index are in place. */
  uint64_t magic = atomic_load_explicit(&hd->magic, memory_order_acquire);
  if (magic == 0)
    return WARMTH_ENOTREADY;
  if (magic != WARMTH__MAGIC)
    return WARMTH_EBADMAGIC;
  if (hd->abi != WARMTH__ABI)
    return WARMTH_EBADVERSION;
  if (hd->hdr_size != WARMTH__HDR_SIZE || hd->rec_size != WARMTH__REC_SIZE ||
      hd->capacity == 0 || hd->capacity > WARMTH__CAPACITY_MAX)
    return WARMTH_EBADLAYOUT;
  warmth__geometry(hd->capacity, g);
  if (hd->index_cap != g->index_cap || hd->off_index[0] != g->off_index[0] ||
      hd->off_index[1] != g->off_index[1] ||
      hd->off_records != g->off_records || hd->seg_size != g->seg_size)
    return WARMTH_EBADLAYOUT;
  if (size < g->seg_size)
    return WARMTH_ETRUNCATED;
  return 0;
}

/* Maps the demand segment that belongs to the state segment `hd`; leaves
 * a->dslots NULL when it is missing, foreign or not writable for us. */
static void attach_demand(const struct warmth *h, struct att *a,
                          const struct warmth__geom *g) {
  int fd = shm_open(h->dname, O_RDWR, 0);
  if (fd < 0)
    return;
  struct stat st;
  int rc = check_fd(h, fd, 1, g->d_seg_size, &st);
  void *m = MAP_FAILED;
  if (rc == 0)
    m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
             0);
  close(fd);
  if (m == MAP_FAILED)
    return;
  const struct warmth__dhdr *dh = m;
  if (atomic_load_explicit(&dh->magic, memory_order_acquire) !=
          WARMTH__DMAGIC ||
      dh->abi != WARMTH__ABI || dh->hdr_size != WARMTH__HDR_SIZE ||
      dh->slot_size != WARMTH__DSLOT_SIZE || dh->capacity != a->capacity ||
      dh->off_slots != g->d_off_slots || dh->seg_size != g->d_seg_size ||
      dh->instance != a->hdr->instance) {
    munmap(m, (size_t)st.st_size);
    return;
  }
  a->dmap = m;
  a->dlen = (size_t)st.st_size;
  a->dslots = (struct warmth__dslot *)((char *)m + g->d_off_slots);
}

static void att_free(struct att *a) {
  if (!a)
    return;
  munmap((void *)a->hdr, a->len);
  if (a->dmap)
    munmap(a->dmap, a->dlen);
  free(a);
}

static int attach_new(const struct warmth *h, struct att **out) {
  int fd = shm_open(h->name, O_RDONLY, 0);
  if (fd < 0)
    return open_err(errno);
  struct stat st;
  int rc = check_fd(h, fd, 0, WARMTH__HDR_SIZE, &st);
  if (rc) {
    close(fd);
    return rc;
  }
  void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED)
    return WARMTH_ESYS;
  struct warmth__geom g;
  rc = check_hdr(m, (uint64_t)st.st_size, &g);
  struct att *a = rc ? NULL : calloc(1, sizeof *a);
  if (!a) {
    munmap(m, (size_t)st.st_size);
    return rc ? rc : WARMTH_ENOMEM;
  }
  a->hdr = m;
  a->len = (size_t)st.st_size;
  a->capacity = a->hdr->capacity;
  a->mask = g.index_cap - 1;
  a->index[0] = (const _Atomic uint64_t *)((const char *)m + g.off_index[0]);
  a->index[1] = (const _Atomic uint64_t *)((const char *)m + g.off_index[1]);
  a->recs = (const struct warmth__rec *)((const char *)m + g.off_records);
  attach_demand(h, a, &g);
  *out = a;
  return 0;
}

/* Publishes a new attachment, keeping the older ones mapped (another thread
 * may be mid-lookup in them).  Trims the chain to WARMTH__KEEP_OLD. */
static int publish_att(struct warmth *h, struct att *a, struct att *expect) {
  a->older = expect;
  /* Release pairs with the acquire load in current(): a thread that sees
   * the new attachment sees it fully initialised. */
  if (!atomic_compare_exchange_strong_explicit(
          &h->cur, &expect, a, memory_order_acq_rel, memory_order_acquire)) {
    a->older = NULL;
    att_free(a);
    return 0; /* another thread attached first; use theirs */
  }
  int n = 0;
  for (struct att *p = a; p; p = p->older)
    if (++n == WARMTH__KEEP_OLD) {
      struct att *rest = p->older;
      p->older = NULL;
      while (rest) {
        struct att *next = rest->older;
        att_free(rest);
        rest = next;
      }
      break;
    }
  return 0;
}

/* Tries to (re-)attach, at most once per WARMTH__REATTACH_NS. */
static int try_attach(struct warmth *h, struct att *seen, int64_t now) {
  int64_t next = atomic_load_explicit(&h->next_attach, memory_order_relaxed);
  if (now < next)
    return atomic_load_explicit(&h->last_err, memory_order_relaxed);
  atomic_store_explicit(&h->next_attach, now + WARMTH__REATTACH_NS,
                        memory_order_relaxed);
  struct att *a = NULL;
  int rc = attach_new(h, &a);
  if (rc == 0 && seen && a->hdr->instance == seen->hdr->instance) {
    att_free(a); /* same segment, nothing new yet */
    return 0;
  }
  atomic_store_explicit(&h->last_err, rc, memory_order_relaxed);
  if (rc)
    return rc;
  return publish_att(h, a, seen);
}

/* The attachment to use now.  Costs one acquire load and one relaxed load
 * of the retired flag on the hot path. */
static struct att *current(struct warmth *h, int *err) {
  struct att *a = atomic_load_explicit(&h->cur, memory_order_acquire);
  if (a && atomic_load_explicit(&a->hdr->retired, memory_order_relaxed) ==
               WARMTH__LIVE)
    return a;
  int rc = try_attach(h, a, warmth__mono_ns());
  struct att *b = atomic_load_explicit(&h->cur, memory_order_acquire);
  if (!b)
    *err = rc ? rc : WARMTH_ENOENT;
  return b; /* a retired segment still answers lookups */
}

int warmth_open(warmth_t **out, const char *shm_name, unsigned flags) {
  if (!out || (flags & ~WARMTH_OPEN_LAZY))
    return WARMTH_EINVAL;
  *out = NULL;
  if (!shm_name || !*shm_name)
    shm_name = getenv("WARMTH_SHM");
  if (!shm_name || !*shm_name)
    shm_name = WARMTH_SHM_DEFAULT;
  size_t n = strlen(shm_name);
  if (shm_name[0] != '/' || n < 2 || n + sizeof ".demand" > NAME_MAX ||
      strchr(shm_name + 1, '/'))
    return WARMTH_EINVAL;
  struct warmth *h = calloc(1, sizeof *h);
  if (!h)
    return WARMTH_ENOMEM;
  memcpy(h->name, shm_name, n + 1);
  memcpy(h->dname, shm_name, n);
  memcpy(h->dname + n, ".demand", sizeof ".demand");
  h->flags = flags;
  add_owner(h, 0);
  add_owner(h, geteuid());
  uid_t u;
  if (warmth_user(&u) == 0)
    add_owner(h, u);
  const char *env = getenv("WARMTH_OWNER");
  if (env && *env) {
    if (lookup_user(env, &u) != 0) {
      free(h);
      return WARMTH_EINVAL;
    }
    add_owner(h, u);
  }
  int rc = try_attach(h, NULL, warmth__mono_ns());
  if (rc && !(flags & WARMTH_OPEN_LAZY)) {
    free(h);
    return rc;
  }
  *out = h;
  return 0;
}

void warmth_close(warmth_t *h) {
  if (!h)
    return;
  struct att *a = atomic_load(&h->cur);
  while (a) {
    struct att *next = a->older;
    att_free(a);
    a = next;
  }
  free(h);
}

/* ---- lookup ------------------------------------------------------------- */

/* Finds `model` and copies its payload.  Returns its slot (>= 0) or an
 * error.  The index may be republished under us: a hit is trusted only when
 * the copied record carries the name we asked for; a miss only when the
 * buffer we probed was not rewritten meanwhile (see layout.h). */
static int find(const struct att *a, const char *model,
                struct warmth__payload *p) {
  size_t len;
  uint32_t hash;
  uint64_t want[WARMTH__NAME_WORDS];
  if (!warmth__name_words(model, &len, &hash, want))
    return WARMTH_ENAMETOOLONG;
  size_t nw = (len + 8) / 8; /* with the NUL */
  const struct warmth__hdr *hd = a->hdr;
  for (int tries = 0; tries < WARMTH__READ_TRIES; tries++) {
    /* Acquire pairs with the writer's release store that published the
     * buffer: the entries we read are at least as new as that store. */
    uint64_t s1 = atomic_load_explicit(&hd->index_seq, memory_order_acquire);
    const _Atomic uint64_t *ix = a->index[(s1 >> 1) & 1];
    uint32_t i = hash & a->mask;
    for (uint32_t n = 0; n <= a->mask; n++, i = (i + 1) & a->mask) {
      /* Acquire pairs with the writer's release store of the entry in
       * warmth__w_publish(): see the re-read of index_seq below. */
      uint64_t e = atomic_load_explicit(&ix[i], memory_order_acquire);
      if (e == 0)
        break;
      if ((uint32_t)(e >> 32) != hash)
        continue;
      uint32_t slot = (uint32_t)e - 1;
      if (slot >= a->capacity)
        continue; /* never trust an index entry blindly */
      int rc = warmth__rec_read(&a->recs[slot], p);
      if (rc)
        return rc;
      /* The name check: the record must hold exactly this name (the writer
       * NUL-pads names, so whole words compare). */
      uint64_t diff = 0;
      for (size_t k = 0; k < nw; k++) {
        uint64_t got;
        memcpy(&got, p->name + 8 * k, 8);
        diff |= got ^ want[k];
      }
      if (diff == 0)
        return (int)slot;
    }
    /* Ordered after the acquire loads of the entries: if we read an entry
     * the writer rewrote, we now see the odd (or later) index_seq. */
    uint64_t s2 = atomic_load_explicit(&hd->index_seq, memory_order_relaxed);
    if (s2 - (s1 & ~(uint64_t)1) < 3)
      return WARMTH_ENOTFOUND;
  }
  return WARMTH_EBUSY;
}

static void fill_info(const struct warmth__payload *p, uint32_t slot,
                      struct warmth_model_info *f) {
  f->state = p->state;
  f->http_status = p->http_status;
  memcpy(f->name, p->name, sizeof f->name);
  f->name[WARMTH_NAME_MAX] = 0;
  f->warm_until = p->warm_until;
  f->last_probe = p->last_probe;
  f->last_ok = p->last_ok;
  f->retry_after_until = p->retry_after_until;
  f->successes = p->successes;
  f->failures = p->failures;
  f->tokens_in = p->tokens_in;
  f->tokens_out = p->tokens_out;
  f->tokens_cached = p->tokens_cached;
  f->cost_nusd = p->cost_nusd;
  f->last_latency_us = p->last_latency_us;
  f->ewma_latency_us = p->ewma_latency_us;
  f->dns_us = p->dns_us;
  f->connect_us = p->connect_us;
  f->tls_us = p->tls_us;
  f->ttfb_us = p->ttfb_us;
  f->fails_in_row = p->fails_in_row;
  f->flags = p->flags;
  f->error_class = p->error_class;
  f->endpoint = p->endpoint;
  f->headroom_requests = p->headroom_requests;
  f->headroom_tokens = p->headroom_tokens;
  f->slot = slot;
  f->generation = p->generation;
  f->interval_ms = p->interval_ms;
  f->warm_ttl_ms = p->warm_ttl_ms;
}

/* A caller built against this header gets its struct filled in place; an
 * older, smaller one gets the prefix it knows of. */
static void to_info(const struct warmth__payload *p, uint32_t slot,
                    struct warmth_model_info *info) {
  uint32_t size = info->size;
  if (size >= sizeof *info) {
    /* Every byte is a field (no padding; tests/unit/check_lookup.c checks that
     * a lookup leaves no byte of a dirty struct behind), so no memset. */
    fill_info(p, slot, info);
  } else {
    struct warmth_model_info f;
    memset(&f, 0, sizeof f);
    fill_info(p, slot, &f);
    memcpy(info, &f, size);
  }
  info->size = size;
}

static int info_size_ok(const struct warmth_model_info *info) {
  return info && info->size >= offsetof(struct warmth_model_info, warm_until);
}

int warmth_lookup(warmth_t *h, const char *model,
                  struct warmth_model_info *info) {
  if (!h || !info_size_ok(info))
    return WARMTH_EINVAL;
  int err = 0;
  struct att *a = current(h, &err);
  if (!a)
    return err;
  struct warmth__payload p;
  int slot = find(a, model, &p);
  if (slot < 0)
    return slot;
  to_info(&p, (uint32_t)slot, info);
  return 0;
}

static int is_stale(const struct warmth__hdr *hd, int64_t now) {
  int64_t hb = atomic_load_explicit(&hd->heartbeat, memory_order_relaxed);
  int64_t lim = atomic_load_explicit(&hd->stale_after_ns, memory_order_relaxed);
  return now - hb > lim ||
         atomic_load_explicit(&hd->retired, memory_order_relaxed) !=
             WARMTH__LIVE;
}

static int warm_now(const struct att *a, const struct warmth__payload *p,
                    int64_t now) {
  return p->state == WARMTH_WARM && now < p->warm_until &&
         !is_stale(a->hdr, now);
}

int warmth_is_warm(warmth_t *h, const char *model) {
  if (!h)
    return WARMTH_EINVAL;
  int err = 0;
  struct att *a = current(h, &err);
  if (!a)
    return err;
  struct warmth__payload p;
  int slot = find(a, model, &p);
  if (slot < 0)
    return slot;
  return warm_now(a, &p, warmth__mono_ns());
}

/* ---- demand ------------------------------------------------------------- */

static void touch_slot(struct warmth__dslot *d) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  uint32_t now_s = (uint32_t)ts.tv_sec;
  /* Store only when the second changes: a hot loop of touches from many
   * workers then reads a shared line instead of bouncing it. */
  if (atomic_load_explicit(&d->last_touch_s, memory_order_relaxed) != now_s)
    atomic_store_explicit(&d->last_touch_s, now_s, memory_order_relaxed);
  atomic_fetch_add_explicit(&d->touches, 1, memory_order_relaxed);
}

/* Resolves model to its demand slot. */
static int demand_slot(warmth_t *h, const char *model, struct att **ap,
                       struct warmth__dslot **dp, struct warmth__payload *p) {
  if (!h)
    return WARMTH_EINVAL;
  int err = 0;
  struct att *a = current(h, &err);
  if (!a)
    return err;
  int slot = find(a, model, p);
  if (slot < 0)
    return slot;
  if (!a->dslots)
    return WARMTH_ENODEMAND;
  *ap = a;
  *dp = &a->dslots[slot];
  return slot;
}

int warmth_touch(warmth_t *h, const char *model) {
  struct att *a = NULL;
  struct warmth__dslot *d = NULL;
  struct warmth__payload p;
  int rc = demand_slot(h, model, &a, &d, &p);
  if (rc < 0)
    return rc;
  touch_slot(d);
  return 0;
}

int warmth_report(warmth_t *h, const char *model, uint32_t latency_us, int ok) {
  struct att *a = NULL;
  struct warmth__dslot *d = NULL;
  struct warmth__payload p;
  int rc = demand_slot(h, model, &a, &d, &p);
  if (rc < 0)
    return rc;
  touch_slot(d);
  if (ok) {
    atomic_store_explicit(&d->real_latency_us, latency_us,
                          memory_order_relaxed);
    atomic_store_explicit(&d->real_ok_ns, warmth__mono_ns(),
                          memory_order_relaxed);
    atomic_fetch_add_explicit(&d->real_ok, 1, memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(&d->real_fail, 1, memory_order_relaxed);
  }
  return 0;
}

static const uint32_t *seq_word(const struct warmth__rec *r) {
  /* The futex is the low 32 bits of the 64-bit sequence counter: they change
   * on every update. */
  const uint32_t *w = (const uint32_t *)(const void *)&r->seq;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w++;
#endif
  return w;
}

int warmth_wait_warm(warmth_t *h, const char *model, uint32_t timeout_ms) {
  int64_t deadline = warmth__mono_ns() + (int64_t)timeout_ms * 1000000LL;
  for (;;) {
    struct att *a = NULL;
    struct warmth__dslot *d = NULL;
    struct warmth__payload p;
    int slot = demand_slot(h, model, &a, &d, &p);
    if (slot == WARMTH_ENODEMAND) { /* no demand segment: poll, never block */
      int err = 0;
      a = current(h, &err);
      slot = a ? find(a, model, &p) : err;
      d = NULL;
    }
    if (slot < 0)
      return slot;
    if (d) {
      touch_slot(d);
      atomic_fetch_add_explicit(&d->waiters, 1, memory_order_seq_cst);
    }
    const struct warmth__rec *r = &a->recs[slot];
    int result = 0, moved = 0;
    for (;;) {
      /* seq_cst pairs with the writer's seq_cst store of seq and load of
       * `waiters` (rec_write): either it sees us waiting and wakes us, or
       * we see its new seq and do not sleep on the old value. */
      uint32_t seen = atomic_load_explicit(
          (const _Atomic uint32_t *)(const void *)seq_word(r),
          memory_order_seq_cst);
      int64_t now = warmth__mono_ns();
      if (warmth__rec_read(r, &p) == 0 &&
          strncmp(p.name, model, sizeof p.name) == 0 && warm_now(a, &p, now)) {
        result = 1;
        break;
      }
      if (now >= deadline)
        break;
      /* Sleep in slices of at most 50 ms, so a replaced segment or a missing
       * demand segment (no one to wake us) costs at most that much. */
      int64_t left = deadline - now;
      if (left > 50000000LL)
        left = 50000000LL;
      struct timespec ts = {(time_t)(left / 1000000000LL),
                            (long)(left % 1000000000LL)};
      syscall(SYS_futex, seq_word(r), FUTEX_WAIT, seen, &ts, NULL, 0);
      if (atomic_load_explicit(&a->hdr->retired, memory_order_relaxed)) {
        moved = 1; /* follow the new coordinator: look the model up again */
        break;
      }
    }
    if (d)
      atomic_fetch_sub_explicit(&d->waiters, 1, memory_order_relaxed);
    if (!moved)
      return result;
    current(h, &result);
    if (warmth__mono_ns() >= deadline)
      return 0;
  }
}

/* ---- iteration and status ----------------------------------------------- */

int warmth_foreach(warmth_t *h, warmth_iter_fn fn, void *arg) {
  if (!h || !fn)
    return WARMTH_EINVAL;
  int err = 0;
  struct att *a = current(h, &err);
  if (!a)
    return err;
  int n = 0;
  for (uint32_t s = 0; s < a->capacity; s++) {
    struct warmth__payload p;
    if (warmth__rec_read(&a->recs[s], &p) != 0 || p.name[0] == 0)
      continue; /* free slot, or one a dead writer left mid-update */
    p.name[WARMTH_NAME_MAX] = 0;
    struct warmth_model_info info;
    info.size = sizeof info;
    to_info(&p, s, &info);
    n++;
    if (fn(&info, arg))
      break;
  }
  return n;
}

int warmth_status(warmth_t *h, struct warmth_status *st) {
  if (!h || !st || st->size < offsetof(struct warmth_status, retired))
    return WARMTH_EINVAL;
  int err = 0;
  struct att *a = current(h, &err);
  if (!a)
    return err;
  const struct warmth__hdr *hd = a->hdr;
  struct warmth_status f;
  memset(&f, 0, sizeof f);
  int64_t now = warmth__mono_ns();
  f.pid = atomic_load_explicit(&hd->pid, memory_order_relaxed);
  f.heartbeat_age_ns =
      now - atomic_load_explicit(&hd->heartbeat, memory_order_relaxed);
  f.stale_after_ns =
      atomic_load_explicit(&hd->stale_after_ns, memory_order_relaxed);
  f.created_ns = hd->created_ns;
  f.retired = atomic_load_explicit(&hd->retired, memory_order_relaxed);
  f.stale = is_stale(hd, now);
  f.models = atomic_load_explicit(&hd->nmodels, memory_order_relaxed);
  f.capacity = hd->capacity;
  f.index_generation =
      atomic_load_explicit(&hd->index_seq, memory_order_relaxed) >> 1;
  uint32_t size = st->size < sizeof f ? st->size : (uint32_t)sizeof f;
  f.size = st->size;
  memcpy(st, &f, size);
  return 0;
}
