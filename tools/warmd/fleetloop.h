/* fleetloop.h - fleet mode on the scheduler's side (main thread only).
 *
 * Where it plugs into the loop:
 *  - dispatch: a due model whose decision is WD_SEND goes through
 *    wd_fleet_gate(): 1 = send the warmup now, 0 = wait (a claim is in
 *    flight; e->due was moved to its deadline, so the heap comes back to it);
 *  - each turn: wd_fleet_poll() applies the replies the fleet thread left
 *    (won: due now; fresh: publish the fleet's warmth, due one interval
 *    after it; lost: look again when the winner should be done; held: hold;
 *    no answer: warm locally at once);
 *  - on_done: wd_fleet_result() posts the warmup's result;
 *  - tick: wd_fleet_tick() reports real traffic and takes the fleet's
 *    budget.
 * Without [fleet] the loop passes f = NULL and each call is a no-op.
 */
#ifndef WARMD_FLEETLOOP_H
#define WARMD_FLEETLOOP_H

#include "fleet.h"
#include "schedule.h"
#include "table.h"

enum wd_fleet_claim_state {
  WD_FCS_NONE = 0,   /* no claim in flight */
  WD_FCS_POSTED = 1, /* claim sent, waiting until fleet_deadline */
  WD_FCS_GO = 2,     /* won (or no answer): the next dispatch sends */
};

/* fleet = auto|yes|no of the endpoint and its base_url -> 1 when the
 * model's warmth is shared with the fleet. */
int wd_fleet_applies(int endpoint_fleet, const char *base_url);

/* Marks the entries of t whose warmth is shared (after init and reload). */
void wd_fleet_mark(struct wd_fleet *f, struct wd_table *t);

/* Claims carry the model's table tag (wd_table_tag), as probe requests do,
 * so a reply for a config a reload replaced is dropped. */
int wd_fleet_gate(struct wd_fleet *f, struct wd_entry *e, uint64_t tag,
                  int64_t now);

/* An operator's "warm now" (warmctl warm): sent without asking the
 * fleet; its result still goes to the record, so the others align. */
void wd_fleet_force(struct wd_entry *e, int64_t now);

/* publish(arg, e) queues e's record for the publisher. */
typedef void (*wd_fleet_publish_fn)(void *arg, struct wd_entry *e);
void wd_fleet_poll(struct wd_fleet *f, struct wd_table *t, int64_t now,
                   uint64_t *rng, wd_fleet_publish_fn publish, void *arg);

/* After wd_sched_result: posts the result (cost in nano-USD) and, after a
 * success, aligns the next warmup on the fleet's schedule. */
void wd_fleet_result(struct wd_fleet *f, struct wd_entry *e,
                     const struct wd_probe_result *r, int64_t cost_nusd,
                     uint64_t *rng, int64_t now);

/* Once per tick, per entry after wd_sched_demand: real traffic. */
void wd_fleet_real(struct wd_fleet *f, struct wd_entry *e, int64_t now);

/* Once per tick: the fleet's spend today in nano-USD, or -1 unknown. */
int64_t wd_fleet_budget(struct wd_fleet *f);

#endif
