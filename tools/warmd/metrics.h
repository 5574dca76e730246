/* metrics.h - what the HTTP endpoint serves (http.c serves it):
 * /health/warmup's verdict and JSON body, /metrics in the Prometheus text
 * exposition format 0.0.4.
 *
 * Both run in http.c's builder thread, which must be registered with
 * liburcu: they walk the model hash under rcu_read_lock() and read records
 * through d->reader, as daemon.h says. */
#ifndef WARMD_METRICS_H
#define WARMD_METRICS_H

#include <stddef.h>

#include "daemon.h"

/* A growable text buffer; `oom` is set when an append failed. */
struct wd_buf {
  char *p;
  size_t len, cap;
  int oom;
};
void wd_buf_printf(struct wd_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a Prometheus label value: \ " and newline escaped. */
void wd_buf_label(struct wd_buf *b, const char *s);

/* /health/warmup: 1 when running and every model with required = yes is
 * warm (and the table not stale); *json gets a malloc'd body naming each
 * model's state, or NULL when out of memory. */
int wd_health_warmup(struct wd_daemon *d, char **json);

/* /metrics: appends the exposition text to b. */
void wd_metrics(struct wd_daemon *d, struct wd_buf *b);

#endif
