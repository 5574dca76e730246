/* http.c - placeholder until the health and metrics endpoint lands. */
#include <stdio.h>

#include "daemon.h"

int wd_http_start(struct wd_http **out, struct wd_daemon *d,
                  const char *listen, char *err, size_t errlen) {
  *out = NULL;
  snprintf(err, errlen, "http_listen %s: not built in this version", listen);
  return -1;
}

void wd_http_stop(struct wd_http *h) { (void)h; }
