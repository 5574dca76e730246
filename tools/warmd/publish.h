/* publish.h - the publisher: the one thread that writes records and the
 * heartbeat into the shared table.
 *
 * The scheduler hands it new record contents through a wait-free
 * concurrent queue (liburcu wfcqueue); it writes each record at once, but
 * at most once per tick (a writer hammering one record starves its
 * readers; coalescing to the latest costs nothing) -- except that a result
 * following another kind of update is not held back -- and stores the
 * heartbeat every tick.  Structural changes (models added/removed) are made
 * by the main thread under wd_pub_lock(), which serialises all writer calls.
 */
#ifndef WARMD_PUBLISH_H
#define WARMD_PUBLISH_H

#include <stdint.h>

#include "hist.h"
#include "layout.h"
#include "writer.h"

struct wd_pub;

int wd_pub_start(struct wd_pub **out, struct warmth__w *w, int64_t tick_ns);
/* Queues rec for slot.  since_ns: when the result it carries arrived
 * (CLOCK_MONOTONIC), for the visibility histogram; 0 = not a result. */
void wd_pub_push(struct wd_pub *p, uint32_t slot,
                 const struct warmth__payload *rec, int64_t since_ns);
/* Writes everything queued, then stops the thread. */
void wd_pub_stop(struct wd_pub *p);
/* Serialise writer calls of other threads with the publisher. */
void wd_pub_lock(struct wd_pub *p);
void wd_pub_unlock(struct wd_pub *p);
/* Drops queued updates of a slot about to be removed (call under lock). */
void wd_pub_forget(struct wd_pub *p, uint32_t slot);
/* Copies the histogram of result-to-visible delays. */
void wd_pub_visibility(struct wd_pub *p, struct wd_hist *out);

#endif
