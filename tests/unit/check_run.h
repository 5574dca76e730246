/* check_run.h - the one runner of every Check unit test (tests/unit/).
 *
 * Each check_<module>.c builds its Suite and ends with
 *   int main(void) { return tu_run(<module>_suite()); }
 * so every unit test runs the same way: Check's fork mode (CK_FORK=no for
 * one process, under gdb or valgrind), output as CK_VERBOSITY says
 * (default: normal), the reader's environment variables unset, and the
 * shared-memory segments a test left behind removed at the end.  libc and
 * Check only, so warmd's module tests link it as well as lib/'s.
 */
#ifndef WARMTH_CHECK_RUN_H
#define WARMTH_CHECK_RUN_H

#include <check.h>
#include <sys/types.h>

/* Runs the suite, cleans /dev/shm of "/wt-<runner pid>-..." segments, and
 * returns the exit status for main(). */
int tu_run(Suite *s);

/* The pid of the runner (0 before tu_run): forked tests inherit it, so the
 * names they make share a prefix the runner can sweep. */
pid_t tu_runner_pid(void);

#endif /* WARMTH_CHECK_RUN_H */
