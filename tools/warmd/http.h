/* http.h - /health/startup, /health/warmup and /metrics (http.c, on
 * libmicrohttpd's own thread; metrics.c writes the text).
 */
#ifndef WARMD_HTTP_H
#define WARMD_HTTP_H

#include "daemon.h"
#include <stddef.h>

struct wd_http;
int wd_http_start(struct wd_http **out, struct wd_daemon *d, const char *listen,
                  char *err, size_t errlen);
void wd_http_stop(struct wd_http *h);

#endif
