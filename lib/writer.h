/* writer.h - the table writer (internal; used by warmd and the tests, never
 * exported from libwarmth.so).
 *
 * Single writer: every function here must be called from one thread at a
 * time (warmd's publisher thread).  Readers in other processes never block
 * it: a record update is a seqlock write, a structural change is written
 * into the inactive index buffer and published with one release store.
 */
#ifndef WARMTH_WRITER_H
#define WARMTH_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "layout.h"

struct warmth__w;

struct warmth__w_opts {
  uint32_t capacity;      /* record slots (>= models you will ever hold) */
  mode_t mode;            /* state segment, default 0640 */
  gid_t group;            /* chown the state segment to this group, and
                             hand the demand segment to its members;
                             (gid_t)-1 = our egid */
  int64_t stale_after_ns; /* published for readers; 0 = 5 s */
  int no_adopt;           /* 1: always create anew (supersede the old) */
};

/* Opens the table `name` for writing.  An existing segment with our magic,
 * owned by us, with the same layout, is adopted (its records and the
 * readers attached to it stay); otherwise it is marked superseded,
 * unlinked and a new one created.  A segment owned by someone else, or with
 * a foreign magic, is never touched: the call fails and `err` says why.
 *
 * Only one writer per name: it holds an OFD lock (F_OFD_SETLK) on the lock
 * file `name` + ".lock" (mode 0600: no reader can open it, so none can hold
 * a lock that keeps warmd out) for as long as it is open.  The kernel drops
 * the lock when the writer dies, and keeps it while the writer is stopped
 * (SIGSTOP), however old its heartbeat: a stalled coordinator is never
 * replaced behind its back.  A live coordinator of an older version (pid
 * alive, heartbeat fresh, no lock) is not displaced either.
 *
 * The demand segment is a new sealed memfd (lib/dsock.h), served by a
 * thread of the writer (lib/dsock.c) until warmth__w_close().
 * Returns 0 or a WARMTH_E* code, with a message in err. */
int warmth__w_open(struct warmth__w **out, const char *name,
                   const struct warmth__w_opts *o, char *err, size_t errlen);

/* Marks the segment retired (clean stop: readers read it as stale) and
 * unmaps it.  unlink = 1 also removes both segments. */
void warmth__w_close(struct warmth__w *w, int unlink_too);

/* Stages a model (its record is written at once, the index at publish).
 * Returns its slot, or WARMTH_EFULL / WARMTH_ENAMETOOLONG / WARMTH_EEXIST
 * (then *slot is the existing one). */
int warmth__w_add(struct warmth__w *w, const char *name, uint32_t *slot);

/* Stages the removal of a model: the record is cleared at once, the slot
 * reused only after a grace period and two publications. */
int warmth__w_remove(struct warmth__w *w, const char *name);

/* Publishes staged adds/removes: writes the inactive index buffer and
 * switches to it with one release store.  No-op when nothing is staged. */
void warmth__w_publish(struct warmth__w *w);

/* Slot of a published or staged model, or WARMTH_ENOTFOUND. */
int warmth__w_slot(const struct warmth__w *w, const char *name);

/* Name of the model in slot, or NULL when the slot holds none. */
const char *warmth__w_name(const struct warmth__w *w, uint32_t slot);

/* Seqlock update of a record.  name and generation in *p are ignored (the
 * writer keeps them).  Wakes readers sleeping in warmth_wait_warm. */
int warmth__w_update(struct warmth__w *w, uint32_t slot,
                     const struct warmth__payload *p);

/* The record as last written (the writer's own copy, no seqlock needed). */
int warmth__w_get(const struct warmth__w *w, uint32_t slot,
                  struct warmth__payload *p);

/* Stores the heartbeat (CLOCK_MONOTONIC ns). */
void warmth__w_heartbeat(struct warmth__w *w, int64_t now);

/* Demand seen by the coordinator for a slot (read from the untrusted,
 * worker-writable demand segment: every value is just a hint). */
struct warmth__demand {
  uint32_t last_touch_s;
  uint32_t waiters;
  uint64_t touches;
  int64_t real_ok_ns;
  uint32_t real_latency_us;
  uint64_t real_ok;
  uint64_t real_fail;
};
int warmth__w_demand(const struct warmth__w *w, uint32_t slot,
                     struct warmth__demand *d);

uint32_t warmth__w_capacity(const struct warmth__w *w);
/* Slots that hold a model (published or staged), and slots freed that
 * wait out their grace period (WARMTH__SLOT_GRACE_NS) before reuse: what
 * a "table is full" message says. */
void warmth__w_usage(const struct warmth__w *w, uint32_t *used,
                     uint32_t *waiting);
uint64_t warmth__w_instance(const struct warmth__w *w);
/* 1 if the segment was adopted from a previous coordinator. */
int warmth__w_adopted(const struct warmth__w *w);

/* The demand server (lib/dsock.c), started by warmth__w_open: hands the
 * sealed `memfd` of demand segment `id` to root, our uid and members of
 * `group` ((gid_t)-1: our egid) on the abstract socket of `id`. */
struct warmth__ds;
int warmth__ds_start(struct warmth__ds **out, int memfd, uint64_t id,
                     gid_t group, char *err, size_t errlen);
void warmth__ds_stop(struct warmth__ds *s);

/* The id of the demand segment readers get now (0: none). */
uint64_t warmth__w_demand_id(const struct warmth__w *w);

/* For tests: the writer dies as kill -9 would leave it (the lock and the
 * demand server gone, the segment as it is); its mappings stay until
 * warmth__w_close(), which then only frees. */
void warmth__w_crash(struct warmth__w *w);

/* For tests: the mapped header (read/write). */
struct warmth__hdr *warmth__w_hdr(struct warmth__w *w);

#endif /* WARMTH_WRITER_H */
