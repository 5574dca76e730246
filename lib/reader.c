/* reader.c - libwarmth: attach to the table and read it lock-free.
 *
 * The hot path (lookup, is_warm, touch) allocates nothing, takes no lock and
 * makes no system call but the vDSO clock.  Attaching (open, re-attach after
 * the coordinator replaced the segment) and fetching the demand segment
 * (the first touch or report of an attachment, lib/dsock.h) are the only
 * slow paths.
 *
 * Replaced mappings and threads.  A thread may hold an attachment (or a
 * demand mapping) for as long as it likes without telling anyone: a lookup
 * preempted for seconds, a foreach whose callback blocks, a wait_warm
 * sleeping its whole timeout.  Tracking those readers (hazard pointers, an
 * epoch per thread) would put a store-load fence on every lookup, which
 * costs as much as the lookup itself.  So nothing a thread can reach from
 * the handle is ever given back while the handle lives:
 *  - struct att is freed only by warmth_close(), struct dmap never (the
 *    demand mappings are the process's, shared by its handles: dcache);
 *  - their address ranges are never unmapped before that.  The newest
 *    WARMTH__KEEP_OLD attachments stay mapped as they are (a thread still in
 *    one gets a true, if outdated, answer); older ones, and a demand
 *    mapping as soon as a newer one is published, are retired: a private
 *    anonymous mapping is laid over the same addresses with MAP_FIXED
 *    (retire_range()).  That gives the segment's memory back to the system
 *    (an unlinked segment lives as long as someone maps it) and leaves
 *    zero pages where it was.
 * A thread still in a retired range reads zeros: magic 0, heartbeat 0
 * (stale), empty index entries and records with an empty name, which every
 * path reads as "not found" or "not warm", never as another model's data;
 * its writes (a touch) land in private pages nobody reads.  What remains of
 * a retired attachment is a few hundred bytes of heap and an address range
 * backed by the shared zero page, one per replacement of the segment while
 * the handle lives (replacements are rare: a coordinator restart that
 * cannot adopt, at most one per WARMTH__REATTACH_NS by construction).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "dsock.h"
#include "layout.h"
#include "vdso.h"
#include "warmth.h"

/* One demand segment as this process maps it, fetched from the coordinator
 * at the first touch or report (fetch_demand()).  Immutable once pushed on
 * dcache but for `gone`; never freed. */
struct dmap {
  struct warmth__dslot *dslots;
  void *map;
  size_t len;
  uint64_t instance; /* of the state segment it belongs to */
  uint64_t id;       /* the demand_id it was fetched for */
  _Atomic int gone;  /* retired: zero pages now (retire_range) */
  struct dmap *next; /* in dcache; set before the push, never changed */
};

/* Every demand mapping this process fetched, newest first, shared by all
 * its handles: a process that opens a handle per request (PHP without a
 * persistent handle) fetches once per coordinator, not once per request (a
 * fetch is a connect and a wake-up of warmd's server thread: 150 us
 * measured on a loaded 2-core machine, against 0.06 us for a touch).
 * Push-only, lock-free; entries are never freed or unmapped.  When a table
 * gets a new demand segment (its coordinator restarted), the table's older
 * ones are retired (zero pages), as are a replaced table's once its
 * attachment is retired: what stays mapped is one per live table. */
static _Atomic(struct dmap *) dcache;

/* One attachment: the mapping of one state segment, and the demand
 * segments fetched for it.  Immutable once published in the handle (but
 * for the atomics); kept until warmth_close(), see the top of this file. */
struct att {
  const struct warmth__hdr *hdr;
  size_t len;
  const _Atomic uint64_t *index[2];
  uint32_t mask;
  uint32_t capacity;
  const struct warmth__rec *recs;
  uid_t owner;       /* of the state segment: the only demand server we trust */
  uint64_t instance; /* of the state segment, kept past its retirement */
  _Atomic(struct dmap *) demand; /* newest fetched; NULL before the first */
  _Atomic int64_t next_fetch;    /* earliest time of the next fetch try */
  _Atomic int fetch_fails;       /* in a row: the fetch backs off */
  _Atomic int fetch_err;         /* why the last fetch failed */
  _Atomic int gone;              /* retired: zero pages now */
  struct att *older;             /* the one it replaced; never changes */
};

#define WARMTH__KEEP_OLD 8
#define WARMTH__REATTACH_NS (100LL * 1000000LL)
/* A demand fetch waits this long for the coordinator's answer (its server
 * answers in microseconds; a stopped coordinator never does), and after a
 * failure backs off from WARMTH__REATTACH_NS, doubling, up to
 * WARMTH__FETCH_BACKOFF_MAX_NS, so a worker touching a stopped coordinator
 * pays the wait rarely. */
#define WARMTH__FETCH_MS 100
#define WARMTH__FETCH_BACKOFF_MAX_NS (5LL * 1000000000LL)
#define WARMTH__MAX_OWNERS 4

struct warmth {
  _Atomic(struct att *) cur;
  _Atomic int64_t next_attach; /* earliest time of the next attach try */
  _Atomic int last_err;        /* why the last attach failed */
  unsigned flags;
  int nowners;
  uid_t owners[WARMTH__MAX_OWNERS];
  char name[NAME_MAX + 1];
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
      "unknown", "warming",  "warm",      "failing",
      "idle",    "disabled", "reachable", "sleeping"};
  return state >= 0 && state < WARMTH_STATE_COUNT ? names[state] : "invalid";
}

const char *warmth_error_class_name(int c) {
  static const char *const names[WARMTH_ERR_CLASS_COUNT] = {
      "none", "connect", "timeout", "http",   "auth",
      "rate", "server",  "body",    "budget", "model"};
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

/* Gives a range's memory back without giving its addresses back: a private
 * anonymous mapping over the same addresses (see the top of this file).
 * Writable for demand ranges, so a late touch lands in a private page
 * instead of faulting.  If the kernel refuses (out of mappings), the old
 * mapping stays: that only costs memory. */
static void retire_range(void *p, size_t len, int writable) {
  (void)mmap(p, len, PROT_READ | (writable ? PROT_WRITE : 0),
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}

/* Retires the cached demand mappings of table `instance`, but `keep`. */
static void retire_demand(uint64_t instance, const struct dmap *keep) {
  /* Acquire pairs with the release of the push (dcache_push). */
  for (struct dmap *d = atomic_load_explicit(&dcache, memory_order_acquire); d;
       d = d->next)
    if (d != keep && d->instance == instance &&
        !atomic_exchange_explicit(&d->gone, 1, memory_order_relaxed))
      retire_range(d->map, d->len, 1);
}

static struct dmap *dcache_find(uint64_t instance, uint64_t id) {
  for (struct dmap *d = atomic_load_explicit(&dcache, memory_order_acquire); d;
       d = d->next)
    if (d->instance == instance && d->id == id &&
        !atomic_load_explicit(&d->gone, memory_order_relaxed))
      return d;
  return NULL;
}

/* Slow path only (an RMW is fine here): pushes a new mapping, then retires
 * the table's older ones, which belong to coordinators that are gone. */
static void dcache_push(struct dmap *d) {
  struct dmap *head = atomic_load_explicit(&dcache, memory_order_relaxed);
  do
    d->next = head;
  /* Release pairs with the acquire loads in dcache_find / retire_demand:
   * a thread that finds d sees it initialised. */
  while (!atomic_compare_exchange_weak_explicit(
      &dcache, &head, d, memory_order_release, memory_order_relaxed));
  retire_demand(d->instance, d);
}

static void retire_att(struct att *a) {
  if (!atomic_exchange_explicit(&a->gone, 1, memory_order_relaxed))
    retire_range((void *)a->hdr, a->len, 0);
  retire_demand(a->instance, NULL);
}

/* Unmaps and frees: warmth_close(), or an attachment never published.  Its
 * demand mapping is the process's (dcache) and stays. */
static void att_free(struct att *a) {
  if (!a)
    return;
  munmap((void *)a->hdr, a->len);
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
  a->owner = st.st_uid;
  a->instance = a->hdr->instance;
  *out = a;
  return 0;
}

/* Publishes a new attachment.  The older ones stay in the chain until
 * warmth_close(); past the WARMTH__KEEP_OLD newest, they are retired (see
 * the top of this file).  The chain's links never change once published,
 * so two threads retiring at once only race on `gone`, an exchange. */
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
    if (++n > WARMTH__KEEP_OLD)
      retire_att(p);
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
  /* The same bound as the writer's (room for its ".demand" of ABI 2). */
  if (shm_name[0] != '/' || n < 2 || n + sizeof ".demand" > NAME_MAX ||
      strchr(shm_name + 1, '/'))
    return WARMTH_EINVAL;
  struct warmth *h = calloc(1, sizeof *h);
  if (!h)
    return WARMTH_ENOMEM;
  memcpy(h->name, shm_name, n + 1);
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
    att_free(a); /* retired ones too: their zero-page ranges */
    a = next;
  }
  free(h);
}

/* ---- lookup ------------------------------------------------------------- */

/* Word indexes in the payload of what an is_warm question reads. */
#define W_WARM_UNTIL (offsetof(struct warmth__payload, warm_until) / 8)
#define W_GEN (offsetof(struct warmth__payload, generation) / 8)
#define W_STATE (offsetof(struct warmth__payload, state) / 8)

/* The read of only what an is_warm question needs: the name words
 * (compared with `want`, nw of them, NUL word included), the generation
 * (compared with *gen unless gen_any) and warm_until and the state (into
 * *p).  Same protocol and barrier pairs as warmth__rec_read() (layout.h),
 * fewer words: a third of an is_warm by name was the copy of words it did
 * not use.  Returns 1 when the record holds the name (and generation), 0
 * when it does not, or WARMTH_EBUSY. */
static inline __attribute__((always_inline)) int
rec_try_warm(const struct warmth__rec *r, const _Atomic uint64_t *c,
             uint64_t s1, const uint64_t *want, size_t nw, uint64_t *gen,
             int gen_any, struct warmth__payload *p) {
  /* Acquire loads pair with the writer's release stores of the words: a
   * word from a later update makes the re-read of seq below see it moved. */
  uint64_t diff = 0;
#pragma GCC unroll 8
  for (size_t k = 0; k < nw; k++)
    diff |=
        atomic_load_explicit(&c[WARMTH__NAME_WORD + k], memory_order_acquire) ^
        want[k];
  /* The generation is in a cache line of its own: loaded only when asked
   * for. */
  uint64_t g =
      gen_any ? 0 : atomic_load_explicit(&c[W_GEN], memory_order_acquire);
  uint64_t wu = atomic_load_explicit(&c[W_WARM_UNTIL], memory_order_acquire);
  uint64_t sw = atomic_load_explicit(&c[W_STATE], memory_order_acquire);
  uint64_t s2 = atomic_load_explicit(&r->seq, memory_order_relaxed);
  if (s1 != s2)
    return -1;
  if (!gen_any)
    diff |= g ^ *gen;
  if (diff)
    return 0;
  *gen = g;
  memcpy((char *)p + 8 * W_WARM_UNTIL, &wu, 8);
  memcpy((char *)p + 8 * W_STATE, &sw, 8);
  return 1;
}

static inline __attribute__((always_inline)) int
rec_read_warm(const struct warmth__rec *r, const uint64_t *want, size_t nw,
              uint64_t *gen, int gen_any, struct warmth__payload *p) {
  for (int tries = 0; tries < WARMTH__READ_TRIES; tries++) {
    /* Acquire pairs with the writer's release store of seq. */
    uint64_t s1 = atomic_load_explicit(&r->seq, memory_order_acquire);
    /* A branch per copy, each with its constant offsets, not an address
     * computed from s1: predicted, it lets the copy's loads start while
     * the load of seq is still on its way (layout.h, warmth__rec_read). */
    int rc = (s1 & 1) ? rec_try_warm(r, r->w + WARMTH__COPY_STRIDE, s1, want,
                                     nw, gen, gen_any, p)
                      : rec_try_warm(r, r->w, s1, want, nw, gen, gen_any, p);
    if (rc >= 0)
      return rc;
  }
  return WARMTH_EBUSY;
}

/* Finds `model` and copies its payload (all of it, or with warm_only what
 * rec_read_warm() reads).  Returns its slot (>= 0) or an error.  The index
 * may be republished under us: a hit is trusted only when the copied record
 * carries the name we asked for; a miss only when the buffer we probed was
 * not rewritten meanwhile (see layout.h). */
static inline __attribute__((always_inline)) int
find_words(const struct att *a, const char *model, struct warmth__payload *p,
           int warm_only) {
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
      if (warm_only) {
        uint64_t gen = 0;
        int rc = rec_read_warm(&a->recs[slot], want, nw, &gen, 1, p);
        if (rc < 0)
          return rc;
        if (rc == 1)
          return (int)slot;
        continue;
      }
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

static int find(const struct att *a, const char *model,
                struct warmth__payload *p) {
  return find_words(a, model, p, 0);
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
 * older, smaller one gets the prefix it knows of.  `size` comes back as
 * what was filled: a newer, larger caller learns where our fields end. */
static void to_info(const struct warmth__payload *p, uint32_t slot,
                    struct warmth_model_info *info) {
  uint32_t size = info->size;
  if (size >= sizeof *info) {
    /* Every byte is a field (no padding; tests/unit/check_lookup.c checks that
     * a lookup leaves no byte of a dirty struct behind), so no memset. */
    fill_info(p, slot, info);
    size = (uint32_t)sizeof *info;
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

static inline int warm_at(const struct att *a, uint16_t state,
                          int64_t warm_until);

int warmth_is_warm(warmth_t *h, const char *model) {
  if (!h)
    return WARMTH_EINVAL;
  int err = 0;
  struct att *a = current(h, &err);
  if (!a)
    return err;
  struct warmth__payload p;
  int slot = find_words(a, model, &p, 1);
  if (slot < 0)
    return slot;
  return warm_at(a, p.state, p.warm_until);
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

/* Receives the one message of the demand server (lib/dsock.h) on s and
 * returns the descriptor it carries (>= 0), or an error; closes every
 * descriptor it does not return. */
static int recv_demand_fd(int s, uint64_t id) {
  struct pollfd p = {.fd = s, .events = POLLIN};
  if (poll(&p, 1, WARMTH__FETCH_MS) != 1)
    return WARMTH_ENODEMAND;
  struct warmth__dmsg m;
  struct iovec iov = {.iov_base = &m, .iov_len = sizeof m};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(4 * sizeof(int))]; /* room to see extra fds */
  } u;
  struct msghdr mh = {.msg_iov = &iov,
                      .msg_iovlen = 1,
                      .msg_control = u.buf,
                      .msg_controllen = sizeof u.buf};
  ssize_t n = recvmsg(s, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  int fd = -1, nfds = 0;
  for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; c;
       c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int x;
      memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof x);
      if (nfds++ == 0)
        fd = x;
      else
        close(x);
    }
  }
  int rc = 0;
  if (n != (ssize_t)sizeof m || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) ||
      m.magic != WARMTH__DS_MAGIC || m.version != WARMTH__DS_VERSION ||
      m.demand_id != id)
    rc = WARMTH_ENODEMAND;
  else if (m.status != WARMTH__DS_OK || nfds != 1)
    /* Refused (not in the coordinator's group) included: ENODEMAND has
     * always meant "this worker may not write demand". */
    rc = WARMTH_ENODEMAND;
  if (rc) {
    if (fd >= 0)
      close(fd);
    return rc;
  }
  return fd;
}

/* Fetches demand segment `id` of attachment a from its coordinator and maps
 * it, after every check of lib/dsock.h.  The slow path of the first touch
 * of an attachment: a connect, a recvmsg, an mmap. */
static int fetch_demand(const struct att *a, uint64_t id, struct dmap **out) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0)
    return WARMTH_ESYS;
  struct sockaddr_un addr;
  socklen_t alen = warmth__dsock_addr(id, &addr);
  int rc = WARMTH_ENODEMAND, fd = -1;
  struct ucred cr;
  socklen_t crlen = sizeof cr;
  /* Non-blocking: a full backlog (a stopped coordinator) fails at once. */
  if (connect(s, (struct sockaddr *)&addr, alen) != 0)
    goto out;
  /* The server's credentials as of its listen(): only the owner of the
   * state segment may hand us a demand segment, not whoever bound the name
   * after the coordinator died. */
  if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0 ||
      cr.uid != a->owner) {
    rc = WARMTH_EBADOWNER;
    goto out;
  }
  fd = recv_demand_fd(s, id);
  if (fd < 0) {
    rc = fd;
    fd = -1;
    goto out;
  }
  struct warmth__geom g;
  warmth__geometry(a->capacity, &g);
  int need = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
  int seals = fcntl(fd, F_GET_SEALS);
  struct stat st;
  if (seals < 0 || (seals & need) != need || (seals & F_SEAL_WRITE) ||
      fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      (uint64_t)st.st_size != g.d_seg_size) {
    rc = WARMTH_EINSECURE; /* a size someone could still change */
    goto out;
  }
  void *m = mmap(NULL, (size_t)g.d_seg_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                 fd, 0);
  if (m == MAP_FAILED) {
    rc = WARMTH_ESYS;
    goto out;
  }
  const struct warmth__dhdr *dh = m;
  /* Acquire pairs with the writer's release store of magic (make_demand). */
  struct dmap *d = NULL;
  if (atomic_load_explicit(&dh->magic, memory_order_acquire) ==
          WARMTH__DMAGIC &&
      dh->abi == WARMTH__ABI && dh->hdr_size == WARMTH__HDR_SIZE &&
      dh->slot_size == WARMTH__DSLOT_SIZE && dh->capacity == a->capacity &&
      dh->off_slots == g.d_off_slots && dh->seg_size == g.d_seg_size &&
      dh->instance == a->instance && dh->demand_id == id)
    d = calloc(1, sizeof *d);
  if (!d) {
    munmap(m, (size_t)g.d_seg_size);
    goto out; /* not this table's demand segment */
  }
  d->map = m;
  d->len = (size_t)g.d_seg_size;
  d->instance = a->instance;
  d->id = id;
  d->dslots = (struct warmth__dslot *)((char *)m + g.d_off_slots);
  *out = d;
  rc = 0;
out:
  if (fd >= 0)
    close(fd);
  close(s);
  return rc;
}

/* The demand mapping of attachment a that the coordinator serves now:
 * from the process's cache when another handle (or this one before a
 * fork) fetched it, else fetched, at most one try per backoff period per
 * attachment.  A coordinator that adopts the table brings a new one.  The
 * mapping survives fork(): a pre-fork master's children use it, and fetch
 * again only when the coordinator changed. */
static struct dmap *slow_demand(struct att *a, struct dmap *seen, uint64_t id,
                                int *err) {
  if (id == 0) {
    *err = WARMTH_ENODEMAND; /* no coordinator serves one now */
    return NULL;
  }
  struct dmap *d = dcache_find(a->instance, id);
  if (!d) {
    int64_t now = warmth__mono_ns();
    if (now < atomic_load_explicit(&a->next_fetch, memory_order_relaxed)) {
      *err = atomic_load_explicit(&a->fetch_err, memory_order_relaxed);
      return NULL;
    }
    int fails = atomic_load_explicit(&a->fetch_fails, memory_order_relaxed);
    int64_t wait = WARMTH__REATTACH_NS << (fails < 6 ? fails : 6);
    if (wait > WARMTH__FETCH_BACKOFF_MAX_NS)
      wait = WARMTH__FETCH_BACKOFF_MAX_NS;
    atomic_store_explicit(&a->next_fetch, now + wait, memory_order_relaxed);
    int rc = fetch_demand(a, id, &d);
    if (rc) {
      atomic_store_explicit(&a->fetch_err, rc, memory_order_relaxed);
      atomic_store_explicit(&a->fetch_fails, fails + 1, memory_order_relaxed);
      *err = rc;
      return NULL;
    }
    atomic_store_explicit(&a->fetch_fails, 0, memory_order_relaxed);
    atomic_store_explicit(&a->next_fetch, 0, memory_order_relaxed);
    struct dmap *other = dcache_find(a->instance, id);
    if (other) { /* another thread fetched it meanwhile: one is enough */
      munmap(d->map, d->len);
      free(d);
      d = other;
    } else {
      dcache_push(d); /* retires the table's older ones */
    }
  }
  /* Release pairs with the acquire load in demand_of().  A lost race
   * leaves another thread's choice, just as valid (entries are never
   * freed); d is returned either way. */
  atomic_compare_exchange_strong_explicit(
      &a->demand, &seen, d, memory_order_acq_rel, memory_order_acquire);
  return d;
}

/* The demand slots of attachment a, or NULL with *err.  Hot path: two
 * loads and a compare. */
static struct warmth__dslot *demand_of(struct att *a, int *err) {
  uint64_t id = atomic_load_explicit(&a->hdr->demand_id, memory_order_relaxed);
  struct dmap *d = atomic_load_explicit(&a->demand, memory_order_acquire);
  if (!d || d->id != id)
    d = slow_demand(a, d, id, err);
  return d ? d->dslots : NULL;
}

static void report_slot(struct warmth__dslot *d, uint32_t latency_us, int ok) {
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
  struct warmth__dslot *ds = demand_of(a, &err);
  if (!ds)
    return err ? err : WARMTH_ENODEMAND;
  *ap = a;
  *dp = &ds[slot];
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
  report_slot(d, latency_us, ok);
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
    /* Without a demand segment (none served, refused, not ours) it waits
     * all the same, in slices, with no one to wake it early. */
    struct warmth__dslot *ds = demand_of(a, &err);
    struct warmth__dslot *d = ds ? &ds[slot] : NULL;
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
      if (atomic_load_explicit(&a->hdr->retired, memory_order_relaxed) ||
          atomic_load_explicit(&h->cur, memory_order_relaxed) != a) {
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
  f.size = size; /* what we filled, as to_info() does */
  memcpy(st, &f, size);
  return 0;
}

/* ---- resolved model handles --------------------------------------------- */

/* A handle caches where its model lives: the attachment, the slot and the
 * slot's generation.  Every call checks that binding against the handle's
 * current attachment (a replaced segment, or anything else that makes the
 * handle re-attach, shows as another attachment) and checks the name
 * inside the record it copies (lookup also the generation), so a reload, a
 * slot reused by another model or a replaced segment costs one re-resolve,
 * never another model's data.  After fork() the child inherits the
 * mappings and the binding, both valid.
 *
 * Threads may share a model handle: the binding is separate atomics, so
 * racing re-resolves may leave a mixed binding; a mixed binding only fails
 * the name or generation check (or the slot bound) and is resolved again.
 * The "model absent" shortcut is one word (segment instance ^ index_seq),
 * never mixed. */
#define WARMTH__NOSLOT UINT32_MAX

/* What every call reads sits in the first cache line (names up to 31
 * bytes); the struct is allocated 64-aligned. */
struct warmth_model {
  _Atomic(struct att *) a; /* compared with h->cur, never dereferenced */
  struct warmth *h;
  _Atomic uint32_t slot; /* WARMTH__NOSLOT: unresolved or absent */
  uint32_t nw;           /* name words compared, with the NUL */
  _Atomic uint64_t gen;  /* the slot's generation when resolved */
  uint64_t want[WARMTH__NAME_WORDS];
  _Atomic uint64_t missing; /* instance ^ index_seq when found absent */
  char name[WARMTH_NAME_MAX + 1];
} __attribute__((aligned(64)));

/* Re-resolves by name in `a`.  Returns the slot or an error; WARMTH_ENOTFOUND
 * is remembered until the index is republished, so an absent model costs
 * one load, not a hash, until it may have appeared. */
static int model_resolve(struct warmth_model *m, struct att *a, int force) {
  /* Acquire pairs with the writer's release store of index_seq: the miss
   * we may remember below is a miss in the index as of this value or later
   * (find() loads it again and validates against its own read). */
  uint64_t s0 = atomic_load_explicit(&a->hdr->index_seq, memory_order_acquire);
  uint64_t tag = a->hdr->instance ^ s0;
  if (!force && !(s0 & 1) && tag != 0 &&
      atomic_load_explicit(&m->missing, memory_order_relaxed) == tag &&
      atomic_load_explicit(&m->a, memory_order_relaxed) == a)
    return WARMTH_ENOTFOUND;
  struct warmth__payload p;
  int slot = find(a, m->name, &p);
  if (slot == WARMTH_ENOTFOUND) {
    atomic_store_explicit(&m->slot, WARMTH__NOSLOT, memory_order_relaxed);
    atomic_store_explicit(&m->missing, (s0 & 1) ? 0 : tag,
                          memory_order_relaxed);
    atomic_store_explicit(&m->a, a, memory_order_relaxed);
    return slot;
  }
  if (slot < 0)
    return slot;
  atomic_store_explicit(&m->gen, p.generation, memory_order_relaxed);
  atomic_store_explicit(&m->slot, (uint32_t)slot, memory_order_relaxed);
  atomic_store_explicit(&m->missing, 0, memory_order_relaxed);
  atomic_store_explicit(&m->a, a, memory_order_relaxed);
  return slot;
}

/* The slow half of model_bind(): through current() (re-attach, errors),
 * then a re-resolve when the binding is not of that attachment. */
static int model_rebind(struct warmth_model *m, struct att **ap,
                        uint64_t *genp) {
  int err = 0;
  struct att *a = current(m->h, &err);
  if (!a)
    return err;
  *ap = a;
  uint32_t slot = atomic_load_explicit(&m->slot, memory_order_relaxed);
  int rc = atomic_load_explicit(&m->a, memory_order_relaxed) == a &&
                   slot < a->capacity
               ? (int)slot
               : model_resolve(m, a, 0);
  *genp = atomic_load_explicit(&m->gen, memory_order_relaxed);
  return rc;
}

/* The attachment and slot to read now.  The fast path is current()'s own
 * (one acquire load of the attachment, the retired flag) inlined, plus the
 * binding check; anything else goes through current(). */
static inline __attribute__((always_inline)) int
model_bind(struct warmth_model *m, struct att **ap, uint64_t *genp) {
  /* Acquire pairs with the release in publish_att(), as in current(). */
  struct att *a = atomic_load_explicit(&m->h->cur, memory_order_acquire);
  uint32_t slot = atomic_load_explicit(&m->slot, memory_order_relaxed);
  if (__builtin_expect(
          a && atomic_load_explicit(&m->a, memory_order_relaxed) == a &&
              slot < a->capacity &&
              atomic_load_explicit(&a->hdr->retired, memory_order_relaxed) ==
                  WARMTH__LIVE,
          1)) {
    *ap = a;
    *genp = atomic_load_explicit(&m->gen, memory_order_relaxed);
    return (int)slot;
  }
  return model_rebind(m, ap, genp);
}

/* Reads the handle's record for an is_warm question: 1 and *p filled, or an
 * error; a binding the record refutes is resolved again (bounded: a record
 * that moves again in between is rare). */
#define WARMTH__REBIND_TRIES 4

static inline __attribute__((always_inline)) int
model_read_warm(struct warmth_model *m, struct att **ap, int *slotp,
                struct warmth__payload *p) {
  for (int t = 0; t < WARMTH__REBIND_TRIES; t++) {
    struct att *a = NULL;
    uint64_t gen = 0;
    int slot = model_bind(m, &a, &gen);
    if (slot < 0)
      return slot;
    /* The name check alone decides whose record this is (a slot reused by
     * the same name holds that model's record), so the generation, a cache
     * line of its own, is not read here; warmth_model_lookup() checks it.
     * Name words compared in a constant count, four (names up to 31 bytes,
     * one cache line of the record and of the handle) or all eight: both
     * sides are NUL-padded (the writer pads, resolve zero-fills want), and
     * a fixed count costs less than a loop over fewer (callgrind). */
    const struct warmth__rec *r = &a->recs[slot];
    int rc = m->nw <= 4
                 ? rec_read_warm(r, m->want, 4, &gen, 1, p)
                 : rec_read_warm(r, m->want, WARMTH__NAME_WORDS, &gen, 1, p);
    if (__builtin_expect(rc == 1, 1)) {
      *ap = a;
      *slotp = slot;
      return 1;
    }
    if (rc < 0)
      return rc;
    (void)model_resolve(m, a, 1);
  }
  return WARMTH_EBUSY;
}

/* CLOCK_MONOTONIC_COARSE where it is a vDSO read of a clock ticking at
 * least every WARMTH__COARSE_RES_MAX; see warmth.h.  0 undecided, -1 not
 * used, else the margin in ns.  coarse_clock: the vDSO's clock_gettime,
 * called without glibc's wrapper (vdso.h), or NULL for glibc's. */
#define WARMTH__COARSE_RES_MAX (10LL * 1000000LL)
static _Atomic int64_t coarse_margin;
static _Atomic(warmth__clock_fn) coarse_clock;

static int64_t coarse_margin_ns(void) {
  int64_t mg = atomic_load_explicit(&coarse_margin, memory_order_relaxed);
  if (__builtin_expect(mg != 0, 1))
    return mg;
  struct timespec res;
  const char *env = getenv("WARMTH_CLOCK");
  mg = -1;
  if (!(env && strcmp(env, "precise") == 0) &&
      clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0 && res.tv_sec == 0 &&
      res.tv_nsec > 0 && res.tv_nsec <= WARMTH__COARSE_RES_MAX)
    mg = 2 * (int64_t)res.tv_nsec;
  /* The direct call is used only once it answered like glibc's. */
  warmth__clock_fn f = warmth__vdso_clock_gettime();
  struct timespec a, b, c;
  if (f && !(env && strcmp(env, "glibc") == 0) &&
      clock_gettime(CLOCK_MONOTONIC_COARSE, &a) == 0 &&
      f(CLOCK_MONOTONIC_COARSE, &b) == 0 &&
      clock_gettime(CLOCK_MONOTONIC_COARSE, &c) == 0 &&
      (a.tv_sec < b.tv_sec ||
       (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec)) &&
      (b.tv_sec < c.tv_sec || (b.tv_sec == c.tv_sec && b.tv_nsec <= c.tv_nsec)))
    atomic_store_explicit(&coarse_clock, f, memory_order_relaxed);
  /* Relaxed: every thread computes the same values; a thread that sees the
   * margin before the function uses glibc's, which reads the same clock. */
  atomic_store_explicit(&coarse_margin, mg, memory_order_relaxed);
  return mg;
}

static inline int64_t coarse_ns(void) {
  struct timespec ts;
  warmth__clock_fn f =
      atomic_load_explicit(&coarse_clock, memory_order_relaxed);
  if (!f || __builtin_expect(f(CLOCK_MONOTONIC_COARSE, &ts) != 0, 0))
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* warm_now() with the coarse clock where it decides: the coarse clock C
 * trails CLOCK_MONOTONIC T by less than its resolution (C <= T < C + res,
 * both read the kernel's one timekeeper), so an answer that holds for every
 * time in [C, C + margin] is the answer T gives; only near warm_until or
 * the stale bound is the precise clock read. */
static inline int warm_at(const struct att *a, uint16_t state,
                          int64_t warm_until) {
  if (state != WARMTH_WARM)
    return 0;
  const struct warmth__hdr *hd = a->hdr;
  int64_t hb = atomic_load_explicit(&hd->heartbeat, memory_order_relaxed);
  int64_t lim = atomic_load_explicit(&hd->stale_after_ns, memory_order_relaxed);
  if (atomic_load_explicit(&hd->retired, memory_order_relaxed) != WARMTH__LIVE)
    return 0;
  int64_t mg = coarse_margin_ns();
  if (mg > 0) {
    int64_t c = coarse_ns();
    if (c >= warm_until || c - hb > lim)
      return 0; /* T >= C: already true at C */
    if (c + mg < warm_until && c + mg - hb <= lim)
      return 1;
  }
  int64_t now = warmth__mono_ns();
  return now < warm_until && now - hb <= lim;
}

int warmth_resolve(warmth_t *h, const char *model, warmth_model_t **out) {
  if (!out)
    return WARMTH_EINVAL;
  *out = NULL;
  if (!h)
    return WARMTH_EINVAL;
  size_t len;
  uint32_t hash;
  uint64_t want[WARMTH__NAME_WORDS];
  if (!warmth__name_words(model, &len, &hash, want))
    return WARMTH_ENAMETOOLONG;
  struct warmth_model *m =
      aligned_alloc(_Alignof(struct warmth_model), sizeof(struct warmth_model));
  if (!m)
    return WARMTH_ENOMEM;
  memset(m, 0, sizeof *m);
  m->h = h;
  m->nw = (uint32_t)((len + 8) / 8);
  memcpy(m->want, want, m->nw * sizeof want[0]);
  memcpy(m->name, model, len + 1);
  atomic_init(&m->a, NULL);
  atomic_init(&m->slot, WARMTH__NOSLOT);
  atomic_init(&m->gen, 0);
  atomic_init(&m->missing, 0);
  (void)coarse_margin_ns(); /* decide now, off the hot path */
  /* Resolve now when we can; absent or unattached resolves later. */
  int err = 0;
  struct att *a = current(h, &err);
  if (a)
    (void)model_resolve(m, a, 1);
  *out = m;
  return 0;
}

void warmth_model_free(warmth_model_t *m) { free(m); }

int warmth_model_is_warm(warmth_model_t *m) {
  if (!m)
    return WARMTH_EINVAL;
  struct att *a;
  int slot;
  struct warmth__payload p;
  int rc = model_read_warm(m, &a, &slot, &p);
  if (__builtin_expect(rc != 1, 0))
    return rc;
  return warm_at(a, p.state, p.warm_until);
}

int warmth_model_lookup(warmth_model_t *m, struct warmth_model_info *info) {
  if (!m || !info_size_ok(info))
    return WARMTH_EINVAL;
  for (int t = 0; t < WARMTH__REBIND_TRIES; t++) {
    struct att *a = NULL;
    uint64_t gen = 0;
    int slot = model_bind(m, &a, &gen);
    if (slot < 0)
      return slot;
    struct warmth__payload p;
    int rc = warmth__rec_read(&a->recs[slot], &p);
    if (rc)
      return rc;
    /* The name and generation check, on the consistent copy. */
    uint64_t diff = p.generation ^ gen;
    for (uint32_t k = 0; k < m->nw; k++) {
      uint64_t got;
      memcpy(&got, p.name + 8 * k, 8);
      diff |= got ^ m->want[k];
    }
    if (__builtin_expect(diff == 0, 1)) {
      to_info(&p, (uint32_t)slot, info);
      return 0;
    }
    (void)model_resolve(m, a, 1);
  }
  return WARMTH_EBUSY;
}

/* The demand slot of the handle's model, after checking in its record that
 * the slot is still the model's. */
static int model_dslot(struct warmth_model *m, struct warmth__dslot **dp) {
  if (!m)
    return WARMTH_EINVAL;
  struct att *a;
  int slot;
  struct warmth__payload p;
  int rc = model_read_warm(m, &a, &slot, &p);
  if (rc != 1)
    return rc;
  int err = 0;
  struct warmth__dslot *ds = demand_of(a, &err);
  if (!ds)
    return err ? err : WARMTH_ENODEMAND;
  *dp = &ds[slot];
  return 0;
}

int warmth_model_touch(warmth_model_t *m) {
  struct warmth__dslot *d;
  int rc = model_dslot(m, &d);
  if (rc < 0)
    return rc;
  touch_slot(d);
  return 0;
}

int warmth_model_report(warmth_model_t *m, uint32_t latency_us, int ok) {
  struct warmth__dslot *d;
  int rc = model_dslot(m, &d);
  if (rc < 0)
    return rc;
  report_slot(d, latency_us, ok);
  return 0;
}

/* Waiting sleeps anyway: a model already warm answers from the handle, the
 * rest is warmth_wait_warm() by name (touch, futex, follow a new segment). */
int warmth_model_wait_warm(warmth_model_t *m, uint32_t timeout_ms) {
  if (!m)
    return WARMTH_EINVAL;
  if (warmth_model_is_warm(m) == 1) {
    (void)warmth_model_touch(m);
    return 1;
  }
  return warmth_wait_warm(m->h, m->name, timeout_ms);
}
