/* service.h - running warmd as a service: detaching from the terminal with
 * start-up errors reported to the caller, the pidfile, signal flags.
 *
 * Order in main(): wd_service_detach() before any thread starts (fork keeps
 * only the calling thread), then wd_pidfile_claim(), then the rest of
 * start-up, then wd_service_ready().  Until ready, every LOG(LOG_ERR) of
 * the detached child also goes to the waiting parent, which prints it and
 * exits 1; `warmd` as typed by an operator or an init script therefore
 * fails visibly when start-up fails, and exits 0 only once warmd runs.
 */
#ifndef WARMD_SERVICE_H
#define WARMD_SERVICE_H

#include <signal.h>
#include <stddef.h>

/* Forks twice (setsid between), leaving the caller as the daemon; the
 * original process waits for wd_service_ready() or for start-up errors and
 * never returns.  chdir("/") happens here; stdio is redirected at ready.
 * Returns 0 in the daemon, -1 (errno set) when it cannot fork. */
int wd_service_detach(void);

/* Start-up is done: the waiting parent exits 0, stdio goes to /dev/null
 * when detached.  Safe to call when not detached (-f): then a no-op. */
void wd_service_ready(void);

/* Takes the pidfile: refuses (-1, err says why) when a live warmd holds it
 * (an fcntl lock held for our whole life, so a stale file left by kill -9
 * is simply taken over), else writes our pid.  The file is removed at
 * exit(). */
int wd_pidfile_claim(const char *path, char *err, size_t errlen);

/* An absolute version of path (relative to the current directory), so
 * files named on the command line survive the chdir("/") of detaching.
 * malloc'd; NULL on failure. */
char *wd_abspath(const char *path);

/* Signals: SIGTERM and SIGINT set *stop, SIGHUP sets *reload; SIGPIPE is
 * ignored.  Handlers only set the flags. */
void wd_signals_install(volatile sig_atomic_t *stop,
                        volatile sig_atomic_t *reload);

#endif
