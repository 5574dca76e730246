/* control.c - placeholder until the control socket lands (issue 4). */
#include <stdio.h>

#include "daemon.h"

int wd_control_start(struct wd_control **out, struct wd_daemon *d,
                     const char *path, const char *group, char *err,
                     size_t errlen) {
  *out = NULL;
  snprintf(err, errlen, "control socket %s: not built in this version", path);
  return -1;
}

void wd_control_stop(struct wd_control *c) { (void)c; }
