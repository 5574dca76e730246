/* check_run.c - the unit tests' runner (see check_run.h). */
#define _GNU_SOURCE
#include "check_run.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static pid_t runner_pid;

pid_t tu_runner_pid(void) { return runner_pid; }

void tu_mkdtemp(char *dir, size_t len, const char *name) {
  const char *t = getenv("TMPDIR");
  snprintf(dir, len, "%s/%s.XXXXXX", t && *t ? t : "/tmp", name);
  ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
}

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *f) {
  (void)st, (void)flag, (void)f;
  return remove(p);
}

void tu_rmtree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

int tu_run(Suite *s) {
  runner_pid = getpid();
  /* The reader honours these; a developer's environment must not change
   * which segment or which owners the tests see. */
  unsetenv("WARMTH_SHM");
  unsetenv("WARMTH_OWNER");
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);

  char prefix[32];
  snprintf(prefix, sizeof prefix, "wt-%d-", (int)runner_pid);
  DIR *d = opendir("/dev/shm");
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
      if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
        char path[sizeof e->d_name + 1];
        path[0] = '/';
        memcpy(path + 1, e->d_name, sizeof e->d_name);
        shm_unlink(path);
      }
    closedir(d);
  }
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
