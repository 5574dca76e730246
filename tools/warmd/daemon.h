/* daemon.h - what warmd's service threads (control socket, HTTP) share
 * with the main loop, and the modules that run beside it.
 *
 * Threads and ownership:
 *  - the main thread owns the model table's entries (schedule, record);
 *  - other threads find entries by name in the cds_lfht under
 *    rcu_read_lock() (they must rcu_register_thread()), read only their
 *    atomic counters and their config (e->m, freed by call_rcu after a
 *    reload), and read records through `reader`, a libwarmth handle on our
 *    own table (consistent seqlock copies, like any worker's);
 *  - anything that changes an entry goes to the main loop as a request.
 */
#ifndef WARMD_DAEMON_H
#define WARMD_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "table.h"
#include "warmth.h"

enum wd_req_kind {
  WD_REQ_WARM = 1,   /* warm now (even if idle, held or paused: once) */
  WD_REQ_PAUSE = 2,  /* stop warming until resumed */
  WD_REQ_RESUME = 3, /* resume, clearing a key problem, warm at once */
  WD_REQ_RELOAD = 4, /* as SIGHUP */
};

struct wd_req {
  struct wd_req *next;
  enum wd_req_kind kind;
  char model[WARMTH_NAME_MAX + 1];
};

struct wd_daemon {
  const char *config_path;
  int64_t started_mono_ns;
  int64_t started_real_ns;
  struct wd_table *t; /* t->ht is safe to read from any registered thread */
  warmth_t *reader;   /* our own table, read like a worker reads it */
  _Atomic int64_t budget_spent_nusd;
  _Atomic int64_t budget_limit_nusd;
  _Atomic uint64_t warmups_sent;
  _Atomic uint64_t reloads; /* reloads done, failed ones included */
  _Atomic uint64_t reload_failures;
  char reload_error[512]; /* why the last reload failed; under req_mu */
  _Atomic int running;    /* 1 once start-up is complete */
  pthread_mutex_t req_mu;
  struct wd_req *req_head, *req_tail;
  struct wd_prober *prober; /* for wd_prober_wakeup only */
  struct wd_fleet *fleet;   /* NULL without [fleet]; its atomics only */
};

/* From any thread: queues a request for the main loop and wakes it.
 * Returns 0, or -1 when the model is unknown (WD_REQ_RELOAD takes none). */
int wd_daemon_request(struct wd_daemon *d, enum wd_req_kind kind,
                      const char *model);

/* Main thread: takes the queued requests (a list to free). */
struct wd_req *wd_daemon_take(struct wd_daemon *d);

/* Main thread, after each reload (SIGHUP or request): err NULL when it
 * took effect, else why not.  Counts reload_failures before reloads, so a
 * thread that sees reloads move reads the failure count of that reload. */
void wd_daemon_reloaded(struct wd_daemon *d, const char *err);

#endif
