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
#include <stddef.h>
#include <sys/types.h>

/* Runs the suite, cleans /dev/shm of "/wt-<runner pid>-..." segments, and
 * returns the exit status for main(). */
int tu_run(Suite *s);

/* The pid of the runner (0 before tu_run): forked tests inherit it, so the
 * names they make share a prefix the runner can sweep. */
pid_t tu_runner_pid(void);

/* A fresh directory "$TMPDIR/<name>.XXXXXX" (/tmp when TMPDIR is unset or
 * empty), its path written to dir; fails the test when it cannot be made.
 * For a fixture's setup; tu_rmtree(dir) in its teardown. */
void tu_mkdtemp(char *dir, size_t len, const char *name);
/* Removes dir and everything below it (links not followed; errors
 * ignored: a teardown has no one to tell). */
void tu_rmtree(const char *dir);

#endif /* WARMTH_CHECK_RUN_H */
