/* service.c - see service.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "service.h"

/* The daemon's end of the start-up pipe, -1 when not detached or ready. */
static int report_fd = -1;

/* The byte that tells the waiting parent start-up is done; error lines are
 * text and never start with it. */
#define READY_MARK '\001'

/* The original process: copies error lines to stderr until the daemon
 * says ready (exit 0) or closes the pipe without saying it (exit 1). */
static void __attribute__((noreturn)) wait_for_child(int fd, pid_t mid) {
  int st;
  waitpid(mid, &st, 0); /* the middle child exits at once */
  char buf[1024];
  int ready = 0, any = 0, bol = 1;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] == READY_MARK) {
        ready = 1;
        continue;
      }
      if (bol)
        fputs("warmd: ", stderr);
      bol = buf[i] == '\n';
      any = 1;
      fputc(buf[i], stderr);
    }
  }
  if (!ready && !any)
    fputs("warmd: start-up failed (no message; see the log)\n", stderr);
  fflush(stderr);
  _exit(ready ? 0 : 1);
}

int wd_service_detach(void) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid > 0) {
    close(p[1]);
    wait_for_child(p[0], pid);
  }
  close(p[0]);
  if (setsid() < 0)
    _exit(1);
  /* Second fork: the daemon is no session leader, so opening a terminal
   * can never make it the controlling one. */
  pid = fork();
  if (pid < 0)
    _exit(1);
  if (pid > 0)
    _exit(0);
  umask(umask(0) | 0022); /* never group/world-writable files by accident */
  if (chdir("/") != 0)
    return -1;
  report_fd = p[1];
  wd_log_tee(report_fd);
  return 0;
}

void wd_service_ready(void) {
  if (report_fd < 0)
    return;
  wd_log_tee(-1);
  int fd = open("/dev/null", O_RDWR);
  if (fd >= 0) {
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
      close(fd);
  }
  char mark = READY_MARK;
  ssize_t w = write(report_fd, &mark, 1);
  (void)w; /* the parent may be gone; we run either way */
  close(report_fd);
  report_fd = -1;
}

/* ---- pidfile --------------------------------------------------------------
 */

static char *pid_path;
static int pid_fd = -1;

static void remove_pidfile(void) {
  /* Only the process that holds the lock removes the file: a child that
   * inherited the atexit list (none does today) must not. */
  if (pid_path && pid_fd >= 0 && fcntl(pid_fd, F_GETFD) >= 0) {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(pid_fd, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK)
      unlink(pid_path);
  }
}

int wd_pidfile_claim(const char *path, char *err, size_t errlen) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open pidfile %s: %s", path, strerror(errno));
    return -1;
  }
  /* An fcntl lock dies with its process, so a pidfile a killed warmd left
   * behind is never mistaken for a running one (and a recycled pid in it
   * does not matter). */
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  if (fcntl(fd, F_SETLK, &fl) != 0) {
    int e = errno;
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    buf[strcspn(buf, "\n")] = 0;
    close(fd);
    if (e == EAGAIN || e == EACCES)
      snprintf(err, errlen, "pidfile %s: warmd is already running (pid %s)",
               path, buf[0] ? buf : "?");
    else
      snprintf(err, errlen, "cannot lock pidfile %s: %s", path, strerror(e));
    return -1;
  }
  char line[32];
  int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len) {
    snprintf(err, errlen, "cannot write pidfile %s: %s", path, strerror(errno));
    unlink(path);
    close(fd);
    return -1;
  }
  pid_path = strdup(path);
  pid_fd = fd; /* kept open: it holds the lock */
  atexit(remove_pidfile);
  return 0;
}

char *wd_abspath(const char *path) {
  if (!path)
    return NULL;
  if (path[0] == '/')
    return strdup(path);
  char *cwd = getcwd(NULL, 0);
  if (!cwd)
    return NULL;
  char *out = NULL;
  if (asprintf(&out, "%s/%s", cwd, path) < 0)
    out = NULL;
  free(cwd);
  return out;
}

/* ---- signals --------------------------------------------------------------
 */

static volatile sig_atomic_t *stop_flag, *reload_flag;

static void on_signal(int sig) {
  if (sig == SIGHUP)
    *reload_flag = 1;
  else
    *stop_flag = 1;
}

void wd_signals_install(volatile sig_atomic_t *stop,
                        volatile sig_atomic_t *reload) {
  stop_flag = stop;
  reload_flag = reload;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}
