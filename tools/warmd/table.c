/* table.c - see table.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "table.h"

/* ---- due heap (binary min-heap on e->due) ------------------------------- */

static void heap_swap(struct wd_table *t, uint32_t a, uint32_t b) {
  struct wd_entry *x = t->heap[a];
  t->heap[a] = t->heap[b];
  t->heap[b] = x;
  t->heap[a]->heap_pos = (int)a;
  t->heap[b]->heap_pos = (int)b;
}

static void sift_up(struct wd_table *t, uint32_t i) {
  while (i > 0) {
    uint32_t up = (i - 1) / 2;
    if (t->heap[up]->due <= t->heap[i]->due)
      break;
    heap_swap(t, i, up);
    i = up;
  }
}

static void sift_down(struct wd_table *t, uint32_t i) {
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < t->nheap && t->heap[l]->due < t->heap[m]->due)
      m = l;
    if (r < t->nheap && t->heap[r]->due < t->heap[m]->due)
      m = r;
    if (m == i)
      return;
    heap_swap(t, i, m);
    i = m;
  }
}

void wd_heap_fix(struct wd_table *t, struct wd_entry *e) {
  int in = e->heap_pos >= 0;
  if (e->due == INT64_MAX || e->inflight) {
    if (!in)
      return;
    uint32_t i = (uint32_t)e->heap_pos;
    e->heap_pos = -1;
    if (i != --t->nheap) {
      t->heap[i] = t->heap[t->nheap];
      t->heap[i]->heap_pos = (int)i;
      sift_up(t, i);
      sift_down(t, (uint32_t)t->heap[i]->heap_pos);
    }
    return;
  }
  if (!in) {
    e->heap_pos = (int)t->nheap;
    t->heap[t->nheap++] = e;
  }
  sift_up(t, (uint32_t)e->heap_pos);
  sift_down(t, (uint32_t)e->heap_pos);
}

struct wd_entry *wd_heap_top(const struct wd_table *t) {
  return t->nheap ? t->heap[0] : NULL;
}

/* ---- entries ------------------------------------------------------------ */

static unsigned long name_hash(const char *name) {
  size_t len;
  return warmth__hash(name, &len);
}

static int name_match(struct cds_lfht_node *node, const void *key) {
  const struct wd_entry *e = caa_container_of(node, struct wd_entry, node);
  return strcmp(e->name, key) == 0;
}

struct wd_entry *wd_table_find(struct wd_table *t, const char *name) {
  struct cds_lfht_iter it;
  cds_lfht_lookup(t->ht, name_hash(name), name_match, name, &it);
  struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
  return n ? caa_container_of(n, struct wd_entry, node) : NULL;
}

static void free_entry_rcu(struct rcu_head *h) {
  free(caa_container_of(h, struct wd_entry, rcu));
}

struct cfg_box {
  struct rcu_head rcu;
  struct wd_config *cfg;
};

static void free_cfg_rcu(struct rcu_head *h) {
  struct cfg_box *b = caa_container_of(h, struct cfg_box, rcu);
  wd_config_free(b->cfg);
  free(b);
}

static struct wd_entry *new_entry(const struct wd_config *c, uint32_t i,
                                  uint32_t epoch) {
  struct wd_entry *e = calloc(1, sizeof *e);
  if (!e)
    return NULL;
  cds_lfht_node_init(&e->node);
  e->m = &c->models[i];
  e->ep = &c->endpoints[c->models[i].endpoint];
  e->model_idx = i;
  e->epoch = epoch;
  e->heap_pos = -1;
  snprintf(e->name, sizeof e->name, "%s", c->models[i].name);
  return e;
}

/* A record adopted from a previous coordinator: what it said stays, but a
 * warmup it had in flight is gone with it. */
static void adopt_record(struct wd_entry *e, int64_t now) {
  if (e->rec.state == WARMTH_WARMING)
    e->rec.state = now < e->rec.warm_until ? WARMTH_WARM : WARMTH_UNKNOWN;
  if (e->rec.state == WARMTH_WARM && e->rec.last_probe &&
      e->rec.last_probe + e->m->interval_ns > e->due)
    e->due = e->rec.last_probe + e->m->interval_ns;
}

/* What the record tells of the model's config (warmctl cost projects
 * from the interval). */
static void set_config_fields(struct wd_entry *e) {
  e->rec.endpoint = (uint16_t)e->m->endpoint;
  int64_t iv = e->m->interval_ns / WD_NS_PER_MS;
  int64_t ttl = e->m->warm_ttl_ns / WD_NS_PER_MS;
  e->rec.interval_ms = iv > UINT32_MAX ? UINT32_MAX : (uint32_t)iv;
  e->rec.warm_ttl_ms = ttl > UINT32_MAX ? UINT32_MAX : (uint32_t)ttl;
}

/* Adds the model of entry e to the shared table. */
static int join_table(struct wd_entry *e, struct warmth__w *w,
                      struct wd_pub *pub, int64_t now, char *err,
                      size_t errlen) {
  uint32_t slot;
  wd_pub_lock(pub);
  int rc = warmth__w_add(w, e->name, &slot);
  if (rc == WARMTH_EEXIST) {
    warmth__w_get(w, slot, &e->rec);
    rc = 0;
    e->slot = slot;
    adopt_record(e, now);
  } else if (rc == 0) {
    e->slot = slot;
    warmth__w_get(w, slot, &e->rec);
  }
  wd_pub_unlock(pub);
  if (rc == WARMTH_EFULL) {
    uint32_t used, waiting;
    wd_pub_lock(pub);
    warmth__w_usage(w, &used, &waiting);
    wd_pub_unlock(pub);
    snprintf(err, errlen,
             "cannot add model %s to the table: table is full (%u of %u "
             "slots hold models; %u freed by a recent reload come back %.0f s "
             "after it); raise capacity in [warmd] (a restart) for more",
             e->name, used, warmth__w_capacity(w), waiting,
             (double)WARMTH__SLOT_GRACE_NS / 1e9);
  } else if (rc < 0) {
    snprintf(err, errlen, "cannot add model %s to the table: %s", e->name,
             warmth_strerror(rc));
  }
  set_config_fields(e);
  return rc;
}

static void leave_table(struct wd_entry *e, struct warmth__w *w,
                        struct wd_pub *pub) {
  wd_pub_lock(pub);
  wd_pub_forget(pub, e->slot);
  warmth__w_remove(w, e->name);
  wd_pub_unlock(pub);
}

static void rebuild_heap(struct wd_table *t) {
  t->nheap = 0;
  for (uint32_t i = 0; i < t->n; i++) {
    t->v[i]->heap_pos = -1;
    wd_heap_fix(t, t->v[i]);
  }
}

int wd_table_init(struct wd_table *t, struct wd_config *cfg,
                  struct warmth__w *w, struct wd_pub *pub, int64_t now,
                  char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  uint32_t n = (uint32_t)cfg->nmodels;
  t->ht =
      cds_lfht_new(64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
  t->v = calloc(n, sizeof *t->v);
  t->heap = calloc(n, sizeof *t->heap);
  if (!t->ht || !t->v || !t->heap) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  t->cfg = cfg;
  t->epoch = 1;
  for (uint32_t i = 0; i < n; i++) {
    struct wd_entry *e = new_entry(cfg, i, t->epoch);
    if (!e) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    t->v[t->n++] = e;
    rcu_read_lock();
    cds_lfht_add(t->ht, name_hash(e->name), &e->node);
    rcu_read_unlock();
  }
  /* Models an adopted table holds that the config no longer names: one
   * hash lookup per slot (a scan of the config per slot was O(n^2)). */
  for (uint32_t s = 0; s < warmth__w_capacity(w); s++) {
    const char *name = warmth__w_name(w, s);
    if (!name)
      continue;
    rcu_read_lock();
    int known = wd_table_find(t, name) != NULL;
    rcu_read_unlock();
    if (!known) {
      DEBUG_LOG("table: adopted model %s is no longer configured: removed",
                name);
      wd_pub_lock(pub);
      warmth__w_remove(w, name);
      wd_pub_unlock(pub);
    }
  }
  for (uint32_t i = 0; i < n; i++) {
    struct wd_entry *e = t->v[i];
    wd_sched_init(e, i, n, now);
    if (join_table(e, w, pub, now, err, errlen) < 0)
      return -1;
  }
  wd_pub_lock(pub);
  warmth__w_publish(w);
  wd_pub_unlock(pub);
  rebuild_heap(t);
  return 0;
}

/* What the providers added to an endpoint and a model (provider.h): a new
 * header or api_version may fix a refused key, as a new key does. */
static int same_provider_keys(const struct wd_model *a,
                              const struct wd_model *b,
                              const struct wd_endpoint *ea,
                              const struct wd_endpoint *eb) {
  if (a->reasoning_effort != b->reasoning_effort ||
      a->thinking != b->thinking ||
      a->price_cache_write != b->price_cache_write ||
      a->price_cached != b->price_cached ||
      !!ea->api_version != !!eb->api_version ||
      (ea->api_version && strcmp(ea->api_version, eb->api_version) != 0) ||
      ea->nheaders != eb->nheaders)
    return 0;
  for (int i = 0; i < ea->nheaders; i++)
    if (strcmp(ea->headers[i], eb->headers[i]) != 0)
      return 0;
  return 1;
}

static int same_model(const struct wd_model *a, const struct wd_model *b,
                      const struct wd_config *ca, const struct wd_config *cb) {
  const struct wd_endpoint *ea = &ca->endpoints[a->endpoint];
  const struct wd_endpoint *eb = &cb->endpoints[b->endpoint];
  return strcmp(a->id, b->id) == 0 && a->probe == b->probe &&
         a->max_tokens == b->max_tokens && a->interval_ns == b->interval_ns &&
         a->warm_ttl_ns == b->warm_ttl_ns && a->jitter == b->jitter &&
         a->idle_after_ns == b->idle_after_ns && a->rise == b->rise &&
         a->fall == b->fall && a->price_in == b->price_in &&
         a->price_out == b->price_out && a->timeout_ns == b->timeout_ns &&
         strcmp(ea->base_url, eb->base_url) == 0 && ea->kind == eb->kind &&
         !!a->prefix == !!b->prefix &&
         (!a->prefix || strcmp(a->prefix, b->prefix) == 0) &&
         same_provider_keys(a, b, ea, eb) &&
         /* Ollama: a new keep_alive or max_loaded applies at the next load */
         a->keep_alive_ns == b->keep_alive_ns &&
         ea->max_loaded == eb->max_loaded;
}

int wd_table_reload(struct wd_table *t, struct wd_config *cfg,
                    struct warmth__w *w, struct wd_pub *pub, int64_t now,
                    struct wd_reload_summary *sum, char *err, size_t errlen) {
  memset(sum, 0, sizeof *sum);
  uint32_t n = (uint32_t)cfg->nmodels;
  struct wd_entry **v = calloc(n ? n : 1, sizeof *v);
  struct wd_entry **heap = calloc(n ? n : 1, sizeof *heap);
  if (!v || !heap) {
    free(v);
    free(heap);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  /* The old entry each new one continues (NULL: a new model), and the new
   * entry each old one goes on as (NULL: removed), both found through the
   * name hash: one lookup per model instead of a scan of the other config
   * per model (O(n^2): ~220 ms of scheduler stall at 10,000 models). */
  struct wd_entry **prev = calloc(n ? n : 1, sizeof *prev);
  struct wd_entry **next = calloc(t->n ? t->n : 1, sizeof *next);
  if (!prev || !next) {
    free(v);
    free(heap);
    free(prev);
    free(next);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  uint32_t epoch = t->epoch + 1;
  uint32_t made = 0;
  int rc = 0;
  /* First build every new entry and add new models; nothing visible to
   * other threads changes until all of it worked. */
  for (uint32_t i = 0; i < n && rc == 0; i++, made++) {
    struct wd_entry *e = new_entry(cfg, i, epoch);
    if (!e) {
      snprintf(err, errlen, "out of memory");
      rc = -1;
      break;
    }
    v[i] = e;
    rcu_read_lock(); /* we are the hash's only writer: old stays valid */
    struct wd_entry *old = wd_table_find(t, e->name);
    rcu_read_unlock();
    prev[i] = old;
    if (old)
      next[old->model_idx] = e;
    if (!old) {
      wd_sched_init(e, i, n, now);
      rc = join_table(e, w, pub, now, err, errlen);
      continue;
    }
    /* Same model: its state carries over under the new settings. */
    e->slot = old->slot;
    e->rec = old->rec;
    set_config_fields(e);
    e->due = old->due;
    e->hold_until = old->hold_until;
    e->ok_in_row = old->ok_in_row;
    e->last_touch_ns = old->last_touch_ns;
    e->touch_s_seen = old->touch_s_seen;
    e->real_ok_seen = old->real_ok_seen;
    e->started_ns = old->started_ns;
    e->n_ok = old->n_ok;
    e->n_fail = old->n_fail;
    e->n_skip_real = old->n_skip_real;
    e->n_skip_idle = old->n_skip_idle;
    e->n_skip_budget = old->n_skip_budget;
    e->n_skip_throttle = old->n_skip_throttle;
    e->tokens_reasoning = old->tokens_reasoning;
    e->tokens_cache_write = old->tokens_cache_write;
    e->n_skip_fleet = old->n_skip_fleet;
    /* /metrics' histogram and results by class are counters too: a reload
     * must not set them back (the state file keeps them over a restart). */
    for (int b = 0; b < WD_LAT_BUCKETS; b++)
      e->lat_count[b] = old->lat_count[b];
    e->lat_sum_us = old->lat_sum_us;
    for (int c = 0; c < WARMTH_ERR_CLASS_COUNT; c++)
      e->n_by_class[c] = old->n_by_class[c];
    e->paused = old->paused;
    wd_recent_copy(&e->recent, &old->recent);
    e->heap_pos = -1;
    if (old->inflight) { /* its result belongs to the old epoch: redo */
      adopt_record(e, now);
      e->due = now;
    }
    if (e->rec.flags & WARMTH_F_MODEL_PROBLEM) {
      /* The operator's reload is the retry of a model the provider did
       * not have (it may have been deployed since): once, at once. */
      e->rec.flags &= ~WARMTH_F_MODEL_PROBLEM;
      if (e->rec.state == WARMTH_DISABLED && !e->paused)
        e->rec.state = WARMTH_UNKNOWN;
      e->due = now;
    }
    if (same_model(old->m, e->m, t->cfg, cfg)) {
      sum->kept++;
    } else {
      sum->changed++;
      DEBUG_LOG("reload: model %s: settings changed, state carried over",
                e->name);
      e->rec.flags &= ~WARMTH_F_KEY_PROBLEM; /* a new key may fix it */
      if (e->rec.state == WARMTH_DISABLED && !e->paused)
        e->rec.state = WARMTH_UNKNOWN;
      if (e->due == INT64_MAX || e->due > now + e->m->interval_ns)
        e->due = now;
    }
  }
  if (rc < 0) {
    for (uint32_t i = 0; i < made && i < n; i++) {
      if (!v[i])
        continue;
      wd_pub_lock(pub); /* the publisher thread writes the slots too */
      int added = !prev[i] && warmth__w_slot(w, v[i]->name) >= 0;
      wd_pub_unlock(pub);
      if (added)
        leave_table(v[i], w, pub); /* roll back what this reload added */
      free(v[i]);
    }
    /* Publish the roll-back (the index readers see does not change): the
     * slots the failed reload took come back after the grace period, as
     * for any removal.  Unpublished, they waited for the next successful
     * reload, which at a nearly full table needed them: a failed reload
     * made every retry fail too, until a restart. */
    wd_pub_lock(pub);
    warmth__w_publish(w);
    wd_pub_unlock(pub);
    free(v);
    free(heap);
    free(prev);
    free(next);
    return -1;
  }
  /* Commit: removed models leave, the hash points at the new entries. */
  rcu_read_lock();
  for (uint32_t j = 0; j < t->n; j++) {
    struct wd_entry *old = t->v[j];
    struct wd_entry *nw = next[j];
    if (nw) {
      struct cds_lfht_iter it;
      cds_lfht_lookup(t->ht, name_hash(old->name), name_match, old->name, &it);
      cds_lfht_replace(t->ht, &it, name_hash(old->name), name_match, old->name,
                       &nw->node);
    } else {
      sum->removed++;
      DEBUG_LOG("reload: model %s removed", old->name);
      cds_lfht_del(t->ht, &old->node);
      leave_table(old, w, pub);
    }
    call_rcu(&old->rcu, free_entry_rcu);
  }
  for (uint32_t i = 0; i < n; i++)
    if (!prev[i]) {
      sum->added++;
      DEBUG_LOG("reload: model %s added (slot %u)", v[i]->name, v[i]->slot);
      cds_lfht_add(t->ht, name_hash(v[i]->name), &v[i]->node);
    }
  rcu_read_unlock();
  free(prev);
  free(next);
  wd_pub_lock(pub);
  warmth__w_publish(w);
  for (uint32_t i = 0; i < n; i++)
    wd_pub_push(pub, v[i]->slot, &v[i]->rec, 0);
  wd_pub_unlock(pub);
  struct cfg_box *box = malloc(sizeof *box);
  if (box) {
    box->cfg = t->cfg;
    call_rcu(&box->rcu, free_cfg_rcu);
  } /* else: leak the old config rather than free it under a reader */
  free(t->v);
  free(t->heap);
  t->v = v;
  t->heap = heap;
  t->n = n;
  t->cfg = cfg;
  t->epoch = epoch;
  rebuild_heap(t);
  return 0;
}

void wd_table_free(struct wd_table *t) {
  if (t->ht) {
    rcu_read_lock();
    for (uint32_t i = 0; i < t->n; i++)
      cds_lfht_del(t->ht, &t->v[i]->node);
    rcu_read_unlock();
  }
  synchronize_rcu();
  for (uint32_t i = 0; i < t->n; i++)
    free(t->v[i]);
  if (t->ht)
    cds_lfht_destroy(t->ht, NULL);
  rcu_barrier(); /* run pending call_rcu frees before we return */
  wd_config_free(t->cfg);
  free(t->v);
  free(t->heap);
  memset(t, 0, sizeof *t);
}

uint64_t wd_table_tag(const struct wd_table *t, uint32_t idx) {
  return (uint64_t)t->epoch << 32 | idx;
}

int wd_table_untag(const struct wd_table *t, uint64_t tag, uint32_t *idx) {
  if ((uint32_t)(tag >> 32) != t->epoch || (uint32_t)tag >= t->n)
    return -1;
  *idx = (uint32_t)tag;
  return 0;
}
