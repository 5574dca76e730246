/* check_util.h - helpers shared by the lib/ unit tests (tests/unit/check_*.c).
 *
 * Every segment a test makes is named "/wt-<runner pid>-<test pid>-<n>", so
 * tests forked by Check never collide, and tu_run() can remove whatever a
 * test that failed or timed out left behind in /dev/shm.
 *
 * Children forked by a test never call ck_assert (its failure path belongs
 * to the Check process): they report through their exit status, and the
 * test asserts on that.
 */
#ifndef WARMTH_CHECK_UTIL_H
#define WARMTH_CHECK_UTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "layout.h"
#include "warmth.h"
#include "writer.h"

#define TU_NAME_LEN 64
/* A TTL that outlives any test. */
static const int64_t MINUTE = 60LL * 1000000000LL;
/* A uid and gid that are neither root nor the test's own ("nobody"). */
#define TU_OTHER_ID 65534

/* Runs the suite with Check's defaults (fork mode), cleans /dev/shm, and
 * returns the exit status for main(). */
int tu_run(Suite *s);

/* A fresh segment name for this test; removed (with its ".lock") when
 * the test process exits. */
void tu_name(char name[TU_NAME_LEN]);
void tu_unlink(const char *name);

/* A writer on `name` with `capacity` slots, the default modes and the
 * given stale bound (0 = default); fails the test when it cannot open. */
struct warmth__w *tu_writer(const char *name, uint32_t capacity,
                            int64_t stale_after_ns);
/* Adds and publishes `model`; returns its slot. */
uint32_t tu_add(struct warmth__w *w, const char *model);
/* Publishes `model` as warm until now + ttl_ns with marker values. */
void tu_set_state(struct warmth__w *w, uint32_t slot, uint16_t state,
                  int64_t ttl_ns);
/* The records of the writer's mapping (read/write, for forging). */
struct warmth__rec *tu_recs(struct warmth__w *w);
/* The copy of slot's record that readers do not use now: what a writer
 * stopped mid-update has half written (lib/layout.h). */
_Atomic uint64_t *tu_spare_copy(struct warmth__w *w, uint32_t slot);
/* The active index buffer of the writer's mapping (read/write). */
_Atomic uint64_t *tu_active_index(struct warmth__w *w);

/* A reader handle on `name`; fails the test unless warmth_open says 0. */
warmth_t *tu_reader(const char *name);

/* Makes a shared-memory object by hand: `size` bytes, the first `len` of
 * them copied from `bytes`, then chmod `mode`.  Returns 0 or -errno. */
int tu_craft(const char *name, const void *bytes, size_t len, size_t size,
             mode_t mode);

/* Waits for child `pid` (bounded: kills it after timeout_ms) and returns
 * its wait status. */
int tu_wait(pid_t pid, int timeout_ms);
/* Exit code of a child that exited normally, or -1 (signal, timeout). */
int tu_exit_code(int status);

/* The demand protocol by hand (lib/dsock.h), as a hostile worker or a
 * squatter would speak it. */
/* Connects to the demand server of `id` and returns the descriptor it hands
 * out (>= 0), or -1 (refused, no server, no descriptor). */
int tu_fetch_demand_fd(uint64_t id);
/* A fake demand server in a child process: binds the name of `id` (after
 * setuid(uid) unless uid is ours) and answers every client with `status`
 * and `nfds` copies of fd.  Returns its pid once it listens (kill it with
 * SIGKILL and tu_wait), or -1. */
pid_t tu_fake_demand_server(uint64_t id, int fd, int nfds, uint16_t status,
                            uid_t uid);

/* Calls warmth_lookup (by name) or warmth_model_lookup (by handle) until
 * it answers `want` (a handle re-attaches at most every 100 ms by design);
 * returns the last answer, bounded at 5 s. */
int tu_lookup_until(warmth_t *h, const char *model, int want,
                    struct warmth_model_info *info);
int tu_mlookup_until(warmth_model_t *m, int want,
                     struct warmth_model_info *info);

void tu_sleep_ms(int ms);
int tu_is_root(void);

#endif /* WARMTH_CHECK_UTIL_H */
