/* table.h - warmd's in-process model table.
 *
 * The main thread owns it: it holds the entries in config order (probe
 * requests carry an index and the config epoch) and a min-heap of due
 * times.  Other threads (control socket, HTTP) find entries by name in a
 * liburcu lock-free hash (cds_lfht), under rcu_read_lock(); a reload
 * replaces entries with cds_lfht_replace() and frees the old ones, and the
 * old config, with call_rcu() once no reader can hold them.
 */
#ifndef WARMD_TABLE_H
#define WARMD_TABLE_H

#include "publish.h"
#include "schedule.h"

struct wd_table {
  struct cds_lfht *ht;
  struct wd_config *cfg;
  uint32_t epoch;
  struct wd_entry **v; /* by model index in cfg */
  uint32_t n;
  struct wd_entry **heap;
  uint32_t nheap;
};

struct wd_reload_summary {
  int added, removed, changed, kept;
};

/* Builds the table for cfg, adding models to the shared table (adopted
 * records keep their warm state).  Takes ownership of cfg. */
int wd_table_init(struct wd_table *t, struct wd_config *cfg,
                  struct warmth__w *w, struct wd_pub *pub, int64_t now,
                  char *err, size_t errlen);
/* Swaps in a new config: unchanged models keep their state, changed ones
 * keep it under their new settings, removed ones leave the shared table,
 * added ones join it.  Takes ownership of cfg on success. */
int wd_table_reload(struct wd_table *t, struct wd_config *cfg,
                    struct warmth__w *w, struct wd_pub *pub, int64_t now,
                    struct wd_reload_summary *sum, char *err, size_t errlen);
/* Frees everything (after the other threads stopped). */
void wd_table_free(struct wd_table *t);

/* Finds an entry by name; call under rcu_read_lock(). */
struct wd_entry *wd_table_find(struct wd_table *t, const char *name);

/* Due heap (main thread only). */
void wd_heap_fix(struct wd_table *t, struct wd_entry *e);
struct wd_entry *wd_heap_top(const struct wd_table *t);

#endif
