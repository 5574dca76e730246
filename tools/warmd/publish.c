/* publish.c - see publish.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu/wfcqueue.h>

#include "log.h"
#include "publish.h"
#include "util.h"

struct item {
  struct cds_wfcq_node node;
  uint32_t slot;
  int64_t since_ns;
  struct warmth__payload rec;
};

struct wd_pub {
  struct warmth__w *w;
  int64_t tick_ns;
  uint32_t capacity;
  struct cds_wfcq_head head;
  struct cds_wfcq_tail tail;
  pthread_t thread;
  pthread_mutex_t wlock; /* serialises every writer call */
  pthread_mutex_t mu;    /* guards `kick` and `stop` with cv */
  pthread_cond_t cv;
  int kick, stop;
  /* Publisher thread only (and wd_pub_forget under wlock): */
  struct item **pending; /* latest unwritten update per slot */
  int64_t *written_ns;   /* when each slot was last written */
  uint8_t *wrote_result; /* whether that write carried a result */
  uint32_t *dirty;       /* slots with a pending update */
  uint32_t ndirty;
  struct wd_hist vis; /* guarded by wlock */
};

static void ts_at(struct timespec *ts, int64_t ns) {
  ts->tv_sec = (time_t)(ns / 1000000000LL);
  ts->tv_nsec = (long)(ns % 1000000000LL);
}

/* Moves queued items into the per-slot pending table, newest wins. */
static void take_queue(struct wd_pub *p) {
  struct cds_wfcq_head h;
  struct cds_wfcq_tail t;
  cds_wfcq_init(&h, &t);
  __cds_wfcq_splice_blocking(&h, &t, &p->head, &p->tail);
  struct cds_wfcq_node *n, *next;
  __cds_wfcq_for_each_blocking_safe(&h, &t, n, next) {
    struct item *it = caa_container_of(n, struct item, node);
    if (it->slot >= p->capacity) {
      free(it);
      continue;
    }
    struct item *old = p->pending[it->slot];
    if (old) {
      if (!it->since_ns)
        it->since_ns = old->since_ns; /* keep the oldest result time */
      free(old);
    } else {
      p->dirty[p->ndirty++] = it->slot;
    }
    p->pending[it->slot] = it;
  }
}

/* Writes pending records whose slot was not written this tick, and
 * results whose slot's last write was not a result: a warmup's "warming"
 * update must not hold its reply back for up to a tick (measured with 10,000
 * models: result-to-visible p50 31 ms, most of a 50 ms tick).  So a record
 * is written at most twice a tick, never hammered.  Returns the earliest
 * time a deferred one may be written, or INT64_MAX. */
static int64_t flush(struct wd_pub *p, int64_t now) {
  int64_t next = INT64_MAX;
  uint32_t keep = 0;
  for (uint32_t i = 0; i < p->ndirty; i++) {
    uint32_t s = p->dirty[i];
    struct item *it = p->pending[s];
    if (!it)
      continue; /* forgotten */
    int64_t ok_at = p->written_ns[s] + p->tick_ns;
    int result_first = it->since_ns && !p->wrote_result[s];
    if (p->written_ns[s] && now < ok_at && !result_first) {
      p->dirty[keep++] = s;
      if (ok_at < next)
        next = ok_at;
      continue;
    }
    warmth__w_update(p->w, s, &it->rec);
    int64_t done = wd_mono_ns();
    p->written_ns[s] = done;
    p->wrote_result[s] = it->since_ns != 0;
    if (it->since_ns)
      wd_hist_add(&p->vis, done - it->since_ns);
    p->pending[s] = NULL;
    free(it);
  }
  p->ndirty = keep;
  return next;
}

static void *run(void *arg) {
  struct wd_pub *p = arg;
  int64_t next_hb = 0;
  int64_t next_deferred = INT64_MAX;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    int64_t wake = next_hb < next_deferred ? next_hb : next_deferred;
    while (!p->kick && !p->stop && wd_mono_ns() < wake) {
      struct timespec ts;
      ts_at(&ts, wake);
      if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT)
        break;
    }
    int stop = p->stop;
    p->kick = 0;
    pthread_mutex_unlock(&p->mu);

    pthread_mutex_lock(&p->wlock);
    take_queue(p);
    int64_t now = wd_mono_ns();
    next_deferred = flush(p, stop ? INT64_MAX / 2 : now);
    if (now >= next_hb) {
      warmth__w_heartbeat(p->w, now);
      next_hb = now + p->tick_ns;
    }
    pthread_mutex_unlock(&p->wlock);
    if (stop)
      break;
  }
  return NULL;
}

int wd_pub_start(struct wd_pub **out, struct warmth__w *w, int64_t tick_ns) {
  struct wd_pub *p = calloc(1, sizeof *p);
  if (!p)
    return -1;
  p->w = w;
  p->tick_ns = tick_ns;
  p->capacity = warmth__w_capacity(w);
  p->pending = calloc(p->capacity, sizeof *p->pending);
  p->written_ns = calloc(p->capacity, sizeof *p->written_ns);
  p->dirty = calloc(p->capacity, sizeof *p->dirty);
  p->wrote_result = calloc(p->capacity, sizeof *p->wrote_result);
  if (!p->pending || !p->written_ns || !p->dirty || !p->wrote_result)
    goto bad;
  cds_wfcq_init(&p->head, &p->tail);
  pthread_mutex_init(&p->wlock, NULL);
  pthread_mutex_init(&p->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->cv, &ca);
  pthread_condattr_destroy(&ca);
  int rc = pthread_create(&p->thread, NULL, run, p);
  if (rc != 0) {
    errno = rc; /* main.c says why start-up failed */
    goto bad;
  }
  *out = p;
  return 0;
bad:
  free(p->pending);
  free(p->written_ns);
  free(p->dirty);
  free(p->wrote_result);
  free(p);
  return -1;
}

void wd_pub_push(struct wd_pub *p, uint32_t slot,
                 const struct warmth__payload *rec, int64_t since_ns) {
  struct item *it = malloc(sizeof *it);
  if (!it) {
    LOG(LOG_ERR, "out of memory: dropped an update of slot %u", slot);
    return;
  }
  cds_wfcq_node_init(&it->node);
  it->slot = slot;
  it->since_ns = since_ns;
  it->rec = *rec;
  cds_wfcq_enqueue(&p->head, &p->tail, &it->node);
  pthread_mutex_lock(&p->mu);
  p->kick = 1;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

void wd_pub_stop(struct wd_pub *p) {
  if (!p)
    return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  pthread_join(p->thread, NULL);
  take_queue(p);
  for (uint32_t s = 0; s < p->capacity; s++)
    free(p->pending[s]);
  free(p->pending);
  free(p->written_ns);
  free(p->dirty);
  free(p->wrote_result);
  pthread_mutex_destroy(&p->wlock);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p);
}

void wd_pub_lock(struct wd_pub *p) { pthread_mutex_lock(&p->wlock); }
void wd_pub_unlock(struct wd_pub *p) { pthread_mutex_unlock(&p->wlock); }

void wd_pub_forget(struct wd_pub *p, uint32_t slot) {
  take_queue(p);
  if (slot < p->capacity && p->pending[slot]) {
    free(p->pending[slot]);
    p->pending[slot] = NULL;
  }
  if (slot < p->capacity) {
    p->written_ns[slot] = 0;
    p->wrote_result[slot] = 0;
  }
}

void wd_pub_visibility(struct wd_pub *p, struct wd_hist *out) {
  pthread_mutex_lock(&p->wlock);
  *out = p->vis;
  pthread_mutex_unlock(&p->wlock);
}
