/* state.h - the state file (state.c): counters, cost, latencies and
 * backoff kept across restarts; main thread only.
 */
#ifndef WARMD_STATE_H
#define WARMD_STATE_H

#include "table.h"

/* Applies a saved state to the entries of t (by model name): counters,
 * tokens, cost, latencies, backoff.  A corrupt, truncated or foreign file is
 * renamed aside (path + ".bad-<unix time>") and logged; returns 0 then too,
 * so warmd starts fresh.  A missing file is not an error. */
int wd_state_load(const char *path, struct wd_table *t, int64_t now);
/* Writes the state atomically (temp file, fsync, rename).  0 or -1. */
int wd_state_save(const char *path, const struct wd_table *t, int64_t now);

#endif
