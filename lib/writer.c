/* writer.c - create, adopt and update the warmth table (internal). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/futex.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dsock.h"
#include "writer.h"

enum { SLOT_NEVER = 0, SLOT_USED = 1, SLOT_LIMBO = 2 };

struct wslot {
  uint8_t status;
  uint32_t hash;
  int64_t freed_ns;         /* when it entered limbo */
  uint64_t freed_seq;       /* index_seq when it entered limbo */
  struct warmth__payload p; /* what the record holds (name, generation) */
};

struct warmth__w {
  char name[NAME_MAX + 1];
  char dname[NAME_MAX + 1]; /* the named demand segment of ABI <= 2 */
  char lname[NAME_MAX + 1]; /* the lock file, name + ".lock" */
  int lockfd;               /* holds the OFD lock; -1 until taken */
  int dfd;                  /* the sealed demand memfd; -1 until made */
  uint64_t demand_id;
  struct warmth__ds *ds; /* serves dfd to the workers */
  struct warmth__hdr *hdr;
  size_t len;
  _Atomic uint64_t *index[2];
  struct warmth__rec *recs;
  struct warmth__dhdr *dhdr;
  struct warmth__dslot *dslots;
  size_t dlen;
  struct warmth__geom g;
  uint32_t capacity;
  uint32_t mask;
  uint64_t *pidx; /* private index, always current; published by copy */
  struct wslot *slots;
  uint32_t never_next; /* slots >= this were never used */
  int dirty;
  int removed; /* a removal is staged (publish_index publishes twice) */
  int adopted;
  /* A new segment goes live (magic stored, the segment it replaces marked
   * superseded) at its first publication, not at open: a reader that moved
   * over before the models were added would find none of them. */
  int live;
  void *old; /* the replaced segment, mapped until then */
  size_t oldlen;
  int crashed; /* warmth__w_crash(): close only frees */
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return rc;
}

/* ---- private index (linear probing, backward-shift deletion) ------------ */

static int pidx_find(const struct warmth__w *w, const char *name, uint32_t hash,
                     uint32_t *pos) {
  uint32_t i = hash & w->mask;
  for (uint32_t n = 0; n <= w->mask; n++, i = (i + 1) & w->mask) {
    uint64_t e = w->pidx[i];
    if (e == 0)
      break;
    if ((uint32_t)(e >> 32) == hash &&
        strcmp(w->slots[(uint32_t)e - 1].p.name, name) == 0) {
      *pos = i;
      return (int)((uint32_t)e - 1);
    }
  }
  return WARMTH_ENOTFOUND;
}

static void pidx_insert(struct warmth__w *w, uint32_t hash, uint32_t slot) {
  uint32_t i = hash & w->mask;
  while (w->pidx[i])
    i = (i + 1) & w->mask;
  w->pidx[i] = warmth__entry(hash, slot);
}

static void pidx_delete(struct warmth__w *w, uint32_t i) {
  uint32_t j = i;
  for (;;) {
    j = (j + 1) & w->mask;
    uint64_t e = w->pidx[j];
    if (e == 0)
      break;
    uint32_t k = (uint32_t)(e >> 32) & w->mask; /* home of the entry at j */
    /* Move e back to the hole at i unless its home lies cyclically in
     * (i, j]: then moving it would put it before its home. */
    int stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
    if (!stays) {
      w->pidx[i] = e;
      i = j;
    }
  }
  w->pidx[i] = 0;
}

/* ---- records ------------------------------------------------------------ */

static const uint32_t *seq_word(const struct warmth__rec *r) {
  const uint32_t *p = (const uint32_t *)(const void *)&r->seq;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  p++;
#endif
  return p;
}

/* Latch write of slot's record from the shadow copy (layout.h): the words
 * into the copy readers do not use, then one bump of seq hands it to them.
 * Stopped or killed anywhere in here, the copy readers use is whole. */
static void rec_write(struct warmth__w *w, uint32_t slot) {
  struct warmth__rec *r = &w->recs[slot];
  uint64_t words[WARMTH__PAYLOAD_WORDS];
  memcpy(words, &w->slots[slot].p, sizeof words);
  uint64_t s = atomic_load_explicit(&r->seq, memory_order_relaxed);
  _Atomic uint64_t *c = (_Atomic uint64_t *)warmth__rec_copy(r, s + 1);
  /* Release stores: a reader that loads any of these words, in the copy it
   * took at an older seq, also sees the seq store that preceded them (the
   * previous update's), so its second read of seq tells it to retry.
   * Per-word release instead of one release fence: the same plain stores on
   * x86, and ThreadSanitizer models it (it does not model fences). */
  for (int i = 0; i < WARMTH__PAYLOAD_WORDS; i++)
    atomic_store_explicit(&c[i], words[i], memory_order_release);
  /* Release: pairs with the reader's acquire load of seq before its copy.
   * seq_cst: also pairs with warmth_wait_warm()'s seq_cst increment of
   * `waiters` and load of seq, with our seq_cst load of `waiters` below
   * (Dekker): we see the waiter, or it sees the new seq. */
  atomic_store_explicit(&r->seq, s + 1, memory_order_seq_cst);
  if (w->dslots) {
    if (atomic_load_explicit(&w->dslots[slot].waiters, memory_order_seq_cst))
      syscall(SYS_futex, seq_word(r), FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
  }
}

int warmth__w_update(struct warmth__w *w, uint32_t slot,
                     const struct warmth__payload *p) {
  if (!w || slot >= w->capacity || w->slots[slot].status != SLOT_USED)
    return WARMTH_EINVAL;
  struct warmth__payload *s = &w->slots[slot].p;
  char name[64];
  uint64_t gen = s->generation;
  memcpy(name, s->name, sizeof name);
  *s = *p;
  memcpy(s->name, name, sizeof name);
  s->generation = gen;
  rec_write(w, slot);
  return 0;
}

int warmth__w_get(const struct warmth__w *w, uint32_t slot,
                  struct warmth__payload *p) {
  if (!w || slot >= w->capacity || w->slots[slot].status != SLOT_USED)
    return WARMTH_EINVAL;
  *p = w->slots[slot].p;
  return 0;
}

/* ---- structure ---------------------------------------------------------- */

/* freed_seq of a slot that may be reused at once (see adopt_records).
 * Fix: adopt_records used to leave freed_seq = 0, which the test below only
 * passes once index_seq >= 4, so a table adopted before its second
 * publication (a coordinator that died before publishing any model)
 * answered WARMTH_EFULL to every add (tests/unit/check_writer.c,
 * test_adopt_empty_table). */
#define FREED_AT_ONCE UINT64_MAX

static int slot_free_now(const struct warmth__w *w, const struct wslot *s,
                         int64_t now) {
  if (s->status == SLOT_LIMBO && s->freed_seq == FREED_AT_ONCE)
    return 1;
  uint64_t seq = atomic_load_explicit(&w->hdr->index_seq, memory_order_relaxed);
  /* Two publications since the free: no index a reader can still probe
   * validly names the slot.  The time bound is for a reader stopped
   * between its index probe and its record copy (which checks the name
   * anyway); readers keep no slot of their own between calls. */
  return s->status == SLOT_LIMBO &&
         now - s->freed_ns >= WARMTH__SLOT_GRACE_NS && seq >= s->freed_seq + 4;
}

int warmth__w_add(struct warmth__w *w, const char *name, uint32_t *slot) {
  size_t len;
  if (!w || !slot)
    return WARMTH_EINVAL;
  /* A NULL name is a bad name, as for the reader's calls. */
  if (!warmth__name_ok(name, &len))
    return WARMTH_ENAMETOOLONG;
  uint32_t hash = warmth__hash(name, &len), pos;
  int found = pidx_find(w, name, hash, &pos);
  if (found >= 0) {
    *slot = (uint32_t)found;
    return WARMTH_EEXIST;
  }
  uint32_t s = UINT32_MAX;
  if (w->never_next < w->capacity) {
    s = w->never_next++;
  } else {
    int64_t now = warmth__mono_ns();
    for (uint32_t i = 0; i < w->capacity; i++)
      if (slot_free_now(w, &w->slots[i], now)) {
        s = i;
        break;
      }
    if (s == UINT32_MAX)
      return WARMTH_EFULL;
  }
  struct wslot *ws = &w->slots[s];
  uint64_t gen = ws->p.generation + 1;
  memset(&ws->p, 0, sizeof ws->p);
  memcpy(ws->p.name, name, len + 1);
  ws->p.generation = gen;
  ws->p.state = WARMTH_UNKNOWN;
  ws->p.headroom_requests = UINT32_MAX;
  ws->p.headroom_tokens = UINT32_MAX;
  ws->status = SLOT_USED;
  ws->hash = hash;
  if (w->dslots) {
    struct warmth__dslot *d = &w->dslots[s];
    atomic_store_explicit(&d->last_touch_s, 0, memory_order_relaxed);
    atomic_store_explicit(&d->touches, 0, memory_order_relaxed);
    atomic_store_explicit(&d->real_ok_ns, 0, memory_order_relaxed);
    atomic_store_explicit(&d->real_latency_us, 0, memory_order_relaxed);
    atomic_store_explicit(&d->real_ok, 0, memory_order_relaxed);
    atomic_store_explicit(&d->real_fail, 0, memory_order_relaxed);
    atomic_store_explicit(&d->generation, gen, memory_order_relaxed);
  }
  rec_write(w, s);
  pidx_insert(w, hash, s);
  w->dirty = 1;
  *slot = s;
  return 0;
}

int warmth__w_remove(struct warmth__w *w, const char *name) {
  size_t len;
  if (!w)
    return WARMTH_EINVAL;
  if (!warmth__name_ok(name, &len))
    return WARMTH_ENAMETOOLONG;
  uint32_t hash = warmth__hash(name, &len), pos;
  int s = pidx_find(w, name, hash, &pos);
  if (s < 0)
    return s;
  pidx_delete(w, pos);
  struct wslot *ws = &w->slots[s];
  uint64_t gen = ws->p.generation;
  memset(&ws->p, 0, sizeof ws->p); /* empty name: no lookup can match it */
  ws->p.generation = gen;
  rec_write(w, (uint32_t)s);
  ws->status = SLOT_LIMBO;
  ws->freed_ns = warmth__mono_ns();
  ws->freed_seq =
      atomic_load_explicit(&w->hdr->index_seq, memory_order_relaxed);
  w->dirty = 1;
  w->removed = 1;
  return 0;
}

/* The first publication of a new segment: readers may trust it now, and
 * readers of the segment it replaces are told to move over. */
static void go_live(struct warmth__w *w) {
  struct warmth__hdr *hd = w->hdr;
  /* Pairs with the reader's acquire load of magic in check_hdr(): the
   * header, the index and the records are complete before anyone trusts
   * it. */
  atomic_store_explicit(&hd->magic, WARMTH__MAGIC, memory_order_release);
  if (w->old) {
    struct warmth__hdr *oh = w->old;
    if (atomic_load(&oh->magic) == WARMTH__MAGIC) {
      atomic_store(&oh->successor, hd->instance);
      /* Readers load retired relaxed (current(), is_stale()): it is only a
       * hint to re-attach, so nothing pairs with this release.  What a
       * re-attaching reader trusts of the new segment is ordered by the
       * release store of its magic above, which pairs with the acquire
       * load of magic in the reader's attach (lib/reader.c). */
      atomic_store_explicit(&oh->retired, WARMTH__SUPERSEDED,
                            memory_order_release);
    }
    munmap(w->old, w->oldlen);
    w->old = NULL;
  }
  w->live = 1;
}

static void publish_index(struct warmth__w *w);

void warmth__w_publish(struct warmth__w *w) {
  if (!w)
    return;
  if (w->dirty) {
    publish_index(w);
    /* A removal needs two publications before its slot may be reused (the
     * buffer that was active still names it; see slot_free_now).  Only a
     * later change would bring the second one, and a table whose free
     * slots all wait for it answered WARMTH_EFULL to every add: a reload
     * that swapped the whole model set left every later reload that adds a
     * model failing until a restart (issue 12, item 7).  So publish the
     * same index into the other buffer now: the content is what we just
     * published, nothing staged is exposed, and a reader that probed the
     * old buffer fails its index_seq check as for any publication. */
    if (w->removed)
      publish_index(w);
    w->removed = 0;
  }
  if (!w->live)
    go_live(w);
}

static void publish_index(struct warmth__w *w) {
  struct warmth__hdr *hd = w->hdr;
  uint64_t s = atomic_load_explicit(&hd->index_seq, memory_order_relaxed);
  _Atomic uint64_t *ix = w->index[((s >> 1) + 1) & 1]; /* the inactive one */
  atomic_store_explicit(&hd->index_seq, s + 1, memory_order_relaxed);
  /* Release stores pair with the reader's acquire loads of entries in
   * find(): a reader that loaded an entry we store below then sees
   * index_seq odd or newer (as in rec_write: no fence, so TSan models it). */
  for (uint32_t i = 0; i <= w->mask; i++)
    atomic_store_explicit(&ix[i], w->pidx[i], memory_order_release);
  uint32_t n = 0;
  for (uint32_t i = 0; i < w->capacity; i++)
    n += w->slots[i].status == SLOT_USED;
  atomic_store_explicit(&hd->nmodels, n, memory_order_relaxed);
  /* The publication: pairs with the reader's acquire load of index_seq. */
  atomic_store_explicit(&hd->index_seq, s + 2, memory_order_release);
  w->dirty = 0;
}

int warmth__w_slot(const struct warmth__w *w, const char *name) {
  size_t len;
  if (!w)
    return WARMTH_EINVAL;
  if (!warmth__name_ok(name, &len))
    return WARMTH_ENAMETOOLONG;
  uint32_t pos;
  return pidx_find(w, name, warmth__hash(name, &len), &pos);
}

void warmth__w_heartbeat(struct warmth__w *w, int64_t now) {
  atomic_store_explicit(&w->hdr->heartbeat, now, memory_order_relaxed);
}

int warmth__w_demand(const struct warmth__w *w, uint32_t slot,
                     struct warmth__demand *d) {
  memset(d, 0, sizeof *d);
  if (!w || slot >= w->capacity)
    return WARMTH_EINVAL;
  if (!w->dslots)
    return WARMTH_ENODEMAND;
  const struct warmth__dslot *x = &w->dslots[slot];
  d->last_touch_s =
      atomic_load_explicit(&x->last_touch_s, memory_order_relaxed);
  d->waiters = atomic_load_explicit(&x->waiters, memory_order_relaxed);
  d->touches = atomic_load_explicit(&x->touches, memory_order_relaxed);
  d->real_ok_ns = atomic_load_explicit(&x->real_ok_ns, memory_order_relaxed);
  d->real_latency_us =
      atomic_load_explicit(&x->real_latency_us, memory_order_relaxed);
  d->real_ok = atomic_load_explicit(&x->real_ok, memory_order_relaxed);
  d->real_fail = atomic_load_explicit(&x->real_fail, memory_order_relaxed);
  return 0;
}

const char *warmth__w_name(const struct warmth__w *w, uint32_t slot) {
  if (!w || slot >= w->capacity || w->slots[slot].status != SLOT_USED)
    return NULL;
  return w->slots[slot].p.name;
}

uint32_t warmth__w_capacity(const struct warmth__w *w) { return w->capacity; }
void warmth__w_usage(const struct warmth__w *w, uint32_t *used,
                     uint32_t *waiting) {
  int64_t now = warmth__mono_ns();
  *used = *waiting = 0;
  for (uint32_t i = 0; i < w->capacity; i++) {
    *used += w->slots[i].status == SLOT_USED;
    *waiting += w->slots[i].status == SLOT_LIMBO &&
                !slot_free_now(w, &w->slots[i], now);
  }
}
uint64_t warmth__w_instance(const struct warmth__w *w) {
  return w->hdr->instance;
}
uint64_t warmth__w_demand_id(const struct warmth__w *w) { return w->demand_id; }
int warmth__w_adopted(const struct warmth__w *w) { return w->adopted; }
struct warmth__hdr *warmth__w_hdr(struct warmth__w *w) {
  return w->hdr;
}

/* ---- creating and adopting ---------------------------------------------- */

/* ---- diagnostics for a name someone else holds (issue 12, item 11) ------ */

/* 1 if process `pid` has `path` open or mapped (best effort: /proc shows
 * other users' descriptors to root only). */
static int proc_uses(const char *pid, const char *path) {
  char dir[64], link[64], target[PATH_MAX];
  snprintf(dir, sizeof dir, "/proc/%s/fd", pid);
  DIR *d = opendir(dir);
  int found = 0;
  if (d) {
    struct dirent *e;
    while (!found && (e = readdir(d))) {
      if (e->d_name[0] == '.')
        continue;
      snprintf(link, sizeof link, "%.20s/%.20s", dir, e->d_name);
      ssize_t n = readlink(link, target, sizeof target - 1);
      if (n > 0) {
        target[n] = 0;
        found = strcmp(target, path) == 0;
      }
    }
    closedir(d);
  }
  if (found)
    return 1;
  snprintf(dir, sizeof dir, "/proc/%s/maps", pid);
  FILE *f = fopen(dir, "re");
  if (!f)
    return 0;
  char line[PATH_MAX + 128];
  size_t plen = strlen(path);
  while (!found && fgets(line, sizeof line, f)) {
    char *p = strchr(line, '/');
    found = p && strncmp(p, path, plen) == 0 &&
            (p[plen] == '\n' || p[plen] == ' ' || p[plen] == 0);
  }
  fclose(f);
  return found;
}

/* Appends "; in use by pid N (comm), ..." or that no process we can see
 * uses it.  Bounded: the first 4 users. */
static void describe_users(const char *path, char *buf, size_t len) {
  DIR *d = opendir("/proc");
  size_t used = strlen(buf);
  int n = 0;
  if (d) {
    struct dirent *e;
    while (n < 4 && (e = readdir(d))) {
      if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
          strspn(e->d_name, "0123456789") != strlen(e->d_name) ||
          atoi(e->d_name) == getpid() || !proc_uses(e->d_name, path))
        continue;
      char cpath[64], comm[32] = "?";
      snprintf(cpath, sizeof cpath, "/proc/%.20s/comm", e->d_name);
      FILE *f = fopen(cpath, "re");
      if (f) {
        if (fgets(comm, sizeof comm, f))
          comm[strcspn(comm, "\n")] = 0;
        fclose(f);
      }
      if (used < len)
        used += (size_t)snprintf(buf + used, len - used, "%s pid %s (%s)",
                                 n ? "," : "; in use by", e->d_name, comm);
      n++;
    }
    closedir(d);
  }
  if (!n && used < len)
    snprintf(buf + used, len - used,
             "; no process has it open or mapped (as far as %s can see)",
             geteuid() == 0 ? "root" : "this user");
}

/* "owner uid U (user), group gid G (group), mode 0MMM, N bytes, modified
 * T UTC; in use by pid P (comm)" for a file someone else made. */
static void describe_file(const char *path, const struct stat *st, char *buf,
                          size_t len) {
  struct passwd pw, *pwp = NULL;
  struct group gr, *grp = NULL;
  char pbuf[1024], gbuf[1024], when[32] = "?";
  getpwuid_r(st->st_uid, &pw, pbuf, sizeof pbuf, &pwp);
  getgrgid_r(st->st_gid, &gr, gbuf, sizeof gbuf, &grp);
  struct tm tm;
  if (gmtime_r(&st->st_mtime, &tm))
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  snprintf(buf, len,
           "owner uid %u (%s), group gid %u (%s), mode %04o, %lld bytes, "
           "modified %s UTC",
           (unsigned)st->st_uid, pwp ? pw.pw_name : "no such user",
           (unsigned)st->st_gid, grp ? gr.gr_name : "no such group",
           (unsigned)(st->st_mode & 07777), (long long)st->st_size, when);
  describe_users(path, buf, len);
}

/* Opens an existing segment for inspection: 1 = none, 0 = mapped in *map
 * (ours by owner), else an error with a message. */
static int map_existing(const char *name, void **map, size_t *len, char *err,
                        size_t errlen) {
  int fd = shm_open(name, O_RDWR, 0);
  if (fd < 0) {
    if (errno == ENOENT)
      return 1;
    return fail(err, errlen, WARMTH_EACCES, "cannot open existing %s: %s", name,
                strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return fail(err, errlen, WARMTH_EBADMAGIC,
                "%s exists and is not a regular shared-memory file", name);
  }
  if (st.st_uid != geteuid()) {
    /* Someone else made it (squatted the name, or a coordinator of another
     * user): never touched.  Say whose it is, who uses it, and how to
     * clear it, so an operator need not guess (warmd(8), DIAGNOSTICS). */
    char path[NAME_MAX + 16], who[768];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    describe_file(path, &st, who, sizeof who);
    close(fd);
    return fail(err, errlen, WARMTH_EBADOWNER,
                "%s exists and belongs to uid %u, not to us (uid %u): "
                "refusing to touch it. %s: %s. If no warmd runs for this "
                "table (systemctl status warmd; pgrep -a warmd) and you know "
                "who made it, remove it (rm %s) and start warmd again",
                name, (unsigned)st.st_uid, (unsigned)geteuid(), path, who,
                path);
  }
  *len = (size_t)st.st_size;
  *map = NULL;
  if (st.st_size >= (off_t)WARMTH__HDR_SIZE) {
    void *m = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED)
      *map = m;
  }
  close(fd);
  return 0;
}

/* Creates a segment of `size` bytes with O_EXCL, reserving all of it. */
static void *create_seg(const char *name, uint64_t size, mode_t mode,
                        gid_t group, char *err, size_t errlen, int *rc) {
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, mode);
  if (fd < 0) {
    *rc = fail(err, errlen, WARMTH_ESYS, "cannot create %s: %s", name,
               strerror(errno));
    return NULL;
  }
  /* fchmod: the umask must not decide who may read the table. */
  if (fchmod(fd, mode) != 0 ||
      (group != (gid_t)-1 && fchown(fd, (uid_t)-1, group) != 0)) {
    *rc = fail(err, errlen, WARMTH_ESYS, "cannot set mode/group of %s: %s",
               name, strerror(errno));
    goto bad;
  }
  /* Reserve every page now: a full /dev/shm fails here, with a message,
   * instead of a SIGBUS in some worker later. */
  int e = posix_fallocate(fd, 0, (off_t)size);
  if (e) {
    *rc = fail(err, errlen, WARMTH_ESYS,
               "cannot reserve %llu bytes for %s in /dev/shm: %s",
               (unsigned long long)size, name, strerror(e));
    goto bad;
  }
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    *rc = fail(err, errlen, WARMTH_ESYS, "cannot map %s: %s", name,
               strerror(errno));
    goto bad;
  }
  close(fd);
  return m;
bad:
  close(fd);
  shm_unlink(name);
  return NULL;
}

static int pid_alive(pid_t pid) {
  return pid > 0 && pid != getpid() && (kill(pid, 0) == 0 || errno == EPERM);
}

/* Looks at an existing state segment.  Returns 1 when it can be adopted,
 * 0 when it must be replaced, or an error (foreign, live coordinator). */
static int judge_existing(struct warmth__w *w, struct warmth__hdr *hd,
                          size_t len, const struct warmth__w_opts *o, char *err,
                          size_t errlen) {
  uint64_t magic = atomic_load(&hd->magic);
  if (magic == 0) {
    /* Not live yet: another coordinator between open and its first
     * publication, or one that crashed while creating it. */
    int32_t cpid = atomic_load(&hd->pid);
    if (cpid > 0 && cpid != getpid() && pid_alive(cpid) &&
        warmth__mono_ns() - atomic_load(&hd->heartbeat) <
            atomic_load(&hd->stale_after_ns))
      return fail(err, errlen, WARMTH_EEXIST,
                  "%s is being created by a running coordinator (pid %d)",
                  w->name, (int)cpid);
    return 0; /* ours (same owner), never finished: a crash during creation */
  }
  if (magic != WARMTH__MAGIC)
    return fail(err, errlen, WARMTH_EBADMAGIC,
                "%s is not a warmth segment (magic %016llx): refusing to "
                "touch it; if no program uses it (fuser /dev/shm%s), remove "
                "it (rm /dev/shm%s) and start warmd again",
                w->name, (unsigned long long)magic, w->name, w->name);
  int32_t pid = atomic_load(&hd->pid);
  int64_t age = warmth__mono_ns() - atomic_load(&hd->heartbeat);
  if (atomic_load(&hd->retired) == WARMTH__LIVE && pid_alive(pid) &&
      age < atomic_load(&hd->stale_after_ns))
    return fail(err, errlen, WARMTH_EEXIST,
                "%s is in use by a running coordinator (pid %d)", w->name,
                (int)pid);
  struct warmth__geom g;
  warmth__geometry(o->capacity, &g);
  return !o->no_adopt && hd->abi == WARMTH__ABI &&
         hd->hdr_size == WARMTH__HDR_SIZE && hd->rec_size == WARMTH__REC_SIZE &&
         hd->capacity == o->capacity && hd->seg_size == g.seg_size &&
         hd->index_cap == g.index_cap && hd->off_records == g.off_records &&
         len >= g.seg_size;
}

/* Rebuilds the writer's shadow from an adopted segment: from the copy that
 * readers use, whole even if the writer was killed mid-update. */
static void adopt_records(struct warmth__w *w) {
  w->never_next = w->capacity;
  for (uint32_t s = 0; s < w->capacity; s++) {
    struct warmth__rec *r = &w->recs[s];
    struct wslot *ws = &w->slots[s];
    const _Atomic uint64_t *c = warmth__rec_copy(r, atomic_load(&r->seq));
    for (int i = 0; i < WARMTH__PAYLOAD_WORDS; i++)
      ((uint64_t *)&ws->p)[i] =
          atomic_load_explicit(&c[i], memory_order_relaxed);
    size_t len;
    ws->p.name[63] = 0;
    int ok = warmth__name_ok(ws->p.name, &len);
    if (ok) /* NUL-padded, as readers compare whole words */
      memset(ws->p.name + len, 0, sizeof ws->p.name - len);
    if (!ok) {
      uint64_t gen = ws->p.generation;
      memset(&ws->p, 0, sizeof ws->p);
      ws->p.generation = gen + 1;
      /* Reusable at once: the bumped generation and the name check keep
       * any reader that still holds this slot from trusting it. */
      ws->status = SLOT_LIMBO;
      ws->freed_ns = INT64_MIN / 2;
      ws->freed_seq = FREED_AT_ONCE;
      continue;
    }
    uint32_t pos;
    ws->hash = warmth__hash(ws->p.name, &len);
    if (pidx_find(w, ws->p.name, ws->hash, &pos) >= 0) {
      ws->status = SLOT_LIMBO; /* duplicate name: keep the first */
      memset(ws->p.name, 0, sizeof ws->p.name);
      rec_write(w, s);
      continue;
    }
    ws->status = SLOT_USED;
    pidx_insert(w, ws->hash, s);
  }
  w->dirty = 1;
}

/* Removes the named demand segment an older version left, if it is ours:
 * no reader of this version opens it, and none may keep writing it. */
static void drop_named_demand(const struct warmth__w *w) {
  int fd = shm_open(w->dname, O_RDONLY, 0);
  if (fd < 0)
    return;
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_uid == geteuid())
    shm_unlink(w->dname);
  close(fd);
}

/* Makes the demand segment: a memfd sealed against any change of size
 * before anyone else can see it (lib/dsock.h says why), then starts
 * serving it and names it in the state header. */
static int make_demand(struct warmth__w *w, const struct warmth__w_opts *o,
                       char *err, size_t errlen) {
  drop_named_demand(w);
  uint64_t size = w->g.d_seg_size;
  int fd = memfd_create("warmth.demand", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return fail(err, errlen, WARMTH_ESYS, "cannot create the demand memfd: %s",
                strerror(errno));
  const char *what = "size";
  int e = ftruncate(fd, (off_t)size) != 0 ? errno : 0;
  /* Reserve every page now, as create_seg does: no SIGBUS later. */
  if (!e) {
    what = "reserve";
    e = posix_fallocate(fd, 0, (off_t)size);
  }
  /* F_SEAL_SEAL too: no one can add F_SEAL_WRITE (which would make every
   * worker's touch fault) or take a seal off. */
  if (!e) {
    what = "seal";
    e = fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0
            ? errno
            : 0;
  }
  void *m = MAP_FAILED;
  if (!e) {
    what = "map";
    m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    e = m == MAP_FAILED ? errno : 0;
  }
  if (e) {
    close(fd);
    return fail(err, errlen, WARMTH_ESYS, "cannot %s the demand memfd: %s",
                what, strerror(e));
  }
  uint64_t id = 0;
  while (id == 0) /* 0 means "no demand segment" */
    if (getrandom(&id, sizeof id, 0) != sizeof id)
      id = (uint64_t)warmth__mono_ns() ^ ((uint64_t)getpid() << 32);
  struct warmth__dhdr *dh = m;
  dh->abi = WARMTH__ABI;
  dh->hdr_size = WARMTH__HDR_SIZE;
  dh->slot_size = WARMTH__DSLOT_SIZE;
  dh->capacity = w->capacity;
  dh->seg_size = size;
  dh->off_slots = w->g.d_off_slots;
  dh->instance = w->hdr->instance;
  dh->demand_id = id;
  /* Pairs with the reader's acquire load of magic in fetch_demand(). */
  atomic_store_explicit(&dh->magic, WARMTH__DMAGIC, memory_order_release);
  w->dhdr = dh;
  w->dlen = size;
  w->dslots = (struct warmth__dslot *)((char *)m + w->g.d_off_slots);
  w->dfd = fd;
  /* An adopted table's models keep their slots: a fresh demand segment
   * still says which generation each slot belongs to (warmth__w_add does
   * the same for a new model). */
  for (uint32_t s = 0; s < w->capacity; s++)
    atomic_store_explicit(&w->dslots[s].generation, w->slots[s].p.generation,
                          memory_order_relaxed);
  int rc = warmth__ds_start(&w->ds, fd, id, o->group, err, errlen);
  if (rc)
    return rc;
  w->demand_id = id;
  /* Relaxed: the id only names the socket; a reader trusts nothing before
   * it has checked what comes through it (seals, size, both ids). */
  atomic_store_explicit(&w->hdr->demand_id, id, memory_order_relaxed);
  return 0;
}

/* What the header of `name` says of its coordinator, for a message. */
static void holder(const char *name, int32_t *pid, int64_t *age_ns) {
  *pid = 0;
  *age_ns = -1;
  int fd = shm_open(name, O_RDONLY, 0);
  if (fd < 0)
    return;
  char buf[sizeof(struct warmth__hdr)];
  if (pread(fd, buf, sizeof buf, 0) == (ssize_t)sizeof buf) {
    int64_t hb;
    memcpy(pid, buf + offsetof(struct warmth__hdr, pid), sizeof *pid);
    memcpy(&hb, buf + offsetof(struct warmth__hdr, heartbeat), sizeof hb);
    *age_ns = warmth__mono_ns() - hb;
  }
  close(fd);
}

/* Takes the writer's lock: an OFD write lock on the whole lock file.  OFD
 * locks belong to the open file description, not to a process's set of
 * locks: a second open in the same process conflicts too, close() of
 * another descriptor of the file does not drop it, and the kernel drops it
 * when the holder dies (never while it is stopped). */
static int take_lock(struct warmth__w *w, char *err, size_t errlen) {
  for (int tries = 0; tries < 3; tries++) {
    int fd = shm_open(w->lname, O_RDWR | O_CREAT, 0600);
    if (fd < 0)
      return fail(err, errlen, WARMTH_EACCES,
                  "cannot open the lock file %s: %s", w->lname,
                  strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      close(fd);
      return fail(err, errlen, WARMTH_EBADMAGIC,
                  "lock file %s is not a regular shared-memory file", w->lname);
    }
    if (st.st_uid != geteuid()) {
      char path[NAME_MAX + 16], who[768];
      snprintf(path, sizeof path, "/dev/shm%s", w->lname);
      describe_file(path, &st, who, sizeof who);
      close(fd);
      return fail(err, errlen, WARMTH_EBADOWNER,
                  "lock file %s belongs to uid %u, not to us (uid %u): "
                  "refusing to use it. %s: %s. If no warmd runs for this "
                  "table (systemctl status warmd; pgrep -a warmd) and you "
                  "know who made it, remove it (rm %s) and start warmd again",
                  path, (unsigned)st.st_uid, (unsigned)geteuid(), path, who,
                  path);
    }
    /* Ours but readable by others (made by hand?): no one else may open it
     * from now on, or they could hold a read lock that keeps us out. */
    if ((st.st_mode & 077) && fchmod(fd, 0600) != 0) {
      close(fd);
      return fail(err, errlen, WARMTH_ESYS, "cannot chmod %s: %s", w->lname,
                  strerror(errno));
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
      int e = errno;
      close(fd);
      if (e != EAGAIN && e != EACCES)
        return fail(err, errlen, WARMTH_ESYS, "cannot lock %s: %s", w->lname,
                    strerror(e));
      int32_t pid;
      int64_t age;
      holder(w->name, &pid, &age);
      if (pid <= 0 || age < 0)
        return fail(err, errlen, WARMTH_EEXIST,
                    "%s is held by another coordinator that has not written "
                    "its pid yet (it holds the lock on /dev/shm%s): it is "
                    "starting, or stopped while starting; `fuser /dev/shm%s` "
                    "names it",
                    w->name, w->lname, w->lname);
      return fail(err, errlen, WARMTH_EEXIST,
                  "%s is held by another coordinator (pid %d according to the "
                  "segment header, heartbeat %.1f s old): it still holds the "
                  "lock on /dev/shm%s, so it is running or stopped "
                  "(SIGSTOP), not dead; resume it (kill -CONT %d) or stop it "
                  "(kill %d): the kernel releases the lock when it exits",
                  w->name, (int)pid, (double)age / 1e9, w->lname, (int)pid,
                  (int)pid);
    }
    /* Locked; but a holder that removed the file (warmth__w_close with
     * unlink) may have let a third writer create a new one under the name
     * meanwhile: the lock counts only on the file the name still names. */
    int fd2 = shm_open(w->lname, O_RDONLY, 0);
    struct stat st2;
    int same = fd2 >= 0 && fstat(fd2, &st2) == 0 && st2.st_ino == st.st_ino &&
               st2.st_dev == st.st_dev;
    if (fd2 >= 0)
      close(fd2);
    if (same) {
      w->lockfd = fd;
      return 0;
    }
    close(fd);
  }
  return fail(err, errlen, WARMTH_EEXIST,
              "lock file %s keeps being replaced: another coordinator is "
              "starting and stopping",
              w->lname);
}

static void wire(struct warmth__w *w) {
  char *m = (char *)w->hdr;
  w->index[0] = (_Atomic uint64_t *)(m + w->g.off_index[0]);
  w->index[1] = (_Atomic uint64_t *)(m + w->g.off_index[1]);
  w->recs = (struct warmth__rec *)(m + w->g.off_records);
}

int warmth__w_open(struct warmth__w **out, const char *name,
                   const struct warmth__w_opts *o, char *err, size_t errlen) {
  if (err && errlen)
    err[0] = 0;
  size_t n = name ? strlen(name) : 0;
  if (!out || !o || n < 2 || name[0] != '/' || strchr(name + 1, '/') ||
      n + sizeof ".demand" > NAME_MAX) /* also bounds ".lock" */
    return fail(err, errlen, WARMTH_EINVAL,
                "bad segment name '%s' (want /name, no other slash)",
                name ? name : "");
  if (o->capacity == 0 || o->capacity > WARMTH__CAPACITY_MAX)
    return fail(err, errlen, WARMTH_EINVAL, "capacity %u out of 1..%u",
                o->capacity, WARMTH__CAPACITY_MAX);
  struct warmth__w *w = calloc(1, sizeof *w);
  if (!w)
    return WARMTH_ENOMEM;
  memcpy(w->name, name, n + 1);
  memcpy(w->dname, name, n);
  memcpy(w->dname + n, ".demand", sizeof ".demand");
  memcpy(w->lname, name, n);
  memcpy(w->lname + n, ".lock", sizeof ".lock");
  w->lockfd = -1;
  w->dfd = -1;
  w->capacity = o->capacity;
  warmth__geometry(o->capacity, &w->g);
  w->mask = w->g.index_cap - 1;
  w->pidx = calloc(w->g.index_cap, sizeof *w->pidx);
  w->slots = calloc(o->capacity, sizeof *w->slots);
  int rc = WARMTH_ENOMEM;
  if (!w->pidx || !w->slots)
    goto out;
  /* Before looking at the segment: whatever we find, no other writer of
   * this version can be using it while we hold the lock. */
  rc = take_lock(w, err, errlen);
  if (rc < 0)
    goto out;

  void *old = NULL;
  size_t oldlen = 0;
  rc = map_existing(name, &old, &oldlen, err, errlen);
  if (rc < 0)
    goto out;
  if (rc == 0 && old) {
    rc = judge_existing(w, old, oldlen, o, err, errlen);
    if (rc < 0) {
      munmap(old, oldlen);
      goto out;
    }
    if (rc == 1) {
      w->hdr = old;
      w->len = oldlen;
      w->adopted = 1;
      wire(w);
      adopt_records(w);
      old = NULL;
    }
  }
  if (!w->adopted) {
    if (rc == 0)
      shm_unlink(name); /* replaced below; the old mapping gets superseded */
    w->hdr = create_seg(name, w->g.seg_size, o->mode ? o->mode : 0640, o->group,
                        err, errlen, &rc);
    if (!w->hdr) {
      if (old)
        munmap(old, oldlen);
      goto out;
    }
    w->len = w->g.seg_size;
    struct warmth__hdr *hd = w->hdr;
    hd->abi = WARMTH__ABI;
    hd->hdr_size = WARMTH__HDR_SIZE;
    hd->rec_size = WARMTH__REC_SIZE;
    hd->capacity = o->capacity;
    hd->index_cap = w->g.index_cap;
    hd->seg_size = w->g.seg_size;
    hd->off_index[0] = w->g.off_index[0];
    hd->off_index[1] = w->g.off_index[1];
    hd->off_records = w->g.off_records;
    if (getrandom(&hd->instance, sizeof hd->instance, 0) != sizeof hd->instance)
      hd->instance = (uint64_t)warmth__mono_ns() ^ ((uint64_t)getpid() << 32);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    hd->created_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    wire(w);
  }
  struct warmth__hdr *hd = w->hdr;
  atomic_store(&hd->pid, (int32_t)getpid());
  atomic_store(&hd->stale_after_ns, o->stale_after_ns > 0
                                        ? o->stale_after_ns
                                        : WARMTH__STALE_DEFAULT_NS);
  atomic_store(&hd->heartbeat, warmth__mono_ns());
  atomic_store(&hd->demand_id,
               0); /* the dead coordinator's: no one serves it */
  atomic_store(&hd->successor, 0);
  atomic_store(&hd->retired, WARMTH__LIVE);
  rc = make_demand(w, o, err, errlen);
  if (rc < 0) {
    if (!w->adopted)
      shm_unlink(name);
    if (old)
      munmap(old, oldlen);
    goto out;
  }
  w->live = w->adopted;
  w->old = old;
  w->oldlen = oldlen;
  if (!w->live && !old)
    go_live(w); /* a first start: no reader to hand over */
  *out = w;
  return 0;
out:
  warmth__ds_stop(w->ds);
  if (w->dhdr)
    munmap(w->dhdr, w->dlen);
  if (w->dfd >= 0)
    close(w->dfd);
  if (w->hdr)
    munmap(w->hdr, w->len);
  if (w->lockfd >= 0)
    close(w->lockfd);
  free(w->pidx);
  free(w->slots);
  free(w);
  return rc;
}

void warmth__w_crash(struct warmth__w *w) {
  warmth__ds_stop(w->ds);
  w->ds = NULL;
  close(w->lockfd);
  close(w->dfd);
  w->lockfd = w->dfd = -1;
  w->crashed = 1;
}

void warmth__w_close(struct warmth__w *w, int unlink_too) {
  if (!w)
    return;
  if (w->crashed)
    goto unmap;
  if (!w->live)
    go_live(w); /* never published: still hand readers over, then retire */
  warmth__ds_stop(w->ds);
  atomic_store(&w->hdr->demand_id, 0);
  atomic_store_explicit(&w->hdr->retired, WARMTH__RETIRED,
                        memory_order_release);
  if (unlink_too) {
    shm_unlink(w->name);
    shm_unlink(w->dname);
    /* Under the lock; a writer that opened the old file meanwhile sees the
     * name moved and tries again (take_lock). */
    shm_unlink(w->lname);
  }
unmap:
  munmap(w->hdr, w->len);
  if (w->dhdr)
    munmap(w->dhdr, w->dlen);
  if (w->dfd >= 0)
    close(w->dfd);
  /* Last: the next writer may start only once we no longer write. */
  if (w->lockfd >= 0)
    close(w->lockfd);
  free(w->pidx);
  free(w->slots);
  free(w);
}
