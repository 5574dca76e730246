/* loop.h - warmd's main loop (loop.c): the main thread's work once start-up
 * is done.  Each turn it serves operator requests, reloads on SIGHUP,
 * saves the state file now and then, reads the demand segment once per
 * tick, dispatches due warmups to the prober and waits in the prober for
 * results or the next due time.  What each of those means for a model is
 * decided in schedule.c; this file only carries the decisions out (probe,
 * publish, log, event).
 */
#ifndef WARMD_LOOP_H
#define WARMD_LOOP_H

#include <signal.h>
#include <stdint.h>

#include "daemon.h"
#include "hist.h"
#include "publish.h"
#include "schedule.h"
#include "table.h"
#include "warmd.h"

/* The coordinator: what main.c builds at start-up and the loop runs on. */
struct warmd {
  const char *config_path;
  int log_level_forced; /* -v or -q: the config's log_level is not used */
  struct wd_config *cfg;
  char **keys; /* per endpoint of t.cfg; never logged */
  int nkeys;
  struct warmth__w *w;
  struct wd_pub *pub;
  struct wd_table t;
  struct wd_prober *prober;
  struct wd_fleet *fleet; /* NULL without [fleet] */
  struct wd_budget budget;
  int budget_logged;
  uint64_t rng;
  struct wd_hist lateness;
  uint64_t sent, ok, failed;
  struct wd_daemon dm; /* shared with the control and HTTP threads */
  struct wd_control *control;
  struct wd_http *http;
  int64_t next_state_save;
};

/* Runs until *stop is set (a signal handler sets it), reloading when
 * *reload is set; then lets warmups in flight finish within a bound. */
void wd_loop_run(struct warmd *d, volatile sig_atomic_t *stop,
                 volatile sig_atomic_t *reload);

/* Queues e's record for the publisher (since: when the change happened,
 * for the visibility histogram; 0 = not measured). */
void wd_loop_publish(struct warmd *d, struct wd_entry *e, int64_t since);

/* Writes the state file, when one is configured (logs a failure). */
void wd_loop_save_state(struct warmd *d, int64_t now);

/* The API keys of every endpoint of c (wd_keys_check, secret.h), warnings
 * logged, and made the secrets wd_redact() removes: a malloc'd array, or
 * NULL with why in err.  Freed by wd_keys_free. */
char **wd_keys_load(const struct wd_config *c, char *err, size_t errlen);

#endif
