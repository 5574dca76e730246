/* statuspage.h - the status page (http.c serves it), HAProxy's stats page
 * in spirit:
 *
 *   GET /             HTML, server-rendered: readable with JavaScript off
 *                     (a <noscript> meta refresh reloads it), and with it on
 *                     a few lines of inline script re-read /status.json and
 *                     update the cells in place.  No external asset.
 *   GET /status.json  the same data for scripts.
 *
 * What it shows: the coordinator (pid, uptime, heartbeat, fleet state),
 * one row per model (state, how long it stays warm, last and average
 * latency, a sparkline of the last hour's latencies drawn as inline SVG
 * from the model's ring of recent samples (recent.h), warmups ok and
 * failed, tokens, cost today, flags in words), totals and the day's
 * budget.
 *
 * Bounded: at most WD_STATUS_MAX_MODELS rows (in config order; totals
 * count every model, and the page says when rows were left out), names
 * are at most WARMTH_NAME_MAX bytes, so a page stays under ~1.5 MB.  Every
 * model name is config text and is HTML-escaped (JSON-escaped in JSON).
 *
 * Runs in http.c's builder thread, registered with liburcu (daemon.h).
 */
#ifndef WARMD_STATUSPAGE_H
#define WARMD_STATUSPAGE_H

#include "daemon.h"
#include "metrics.h"

#define WD_STATUS_MAX_MODELS 1000

/* The fleet line of the page.  state: "off" (no [fleet] section), "ok",
 * "degraded", ...; detail: one short line for people ("" when none; never
 * a password).  Filled by wd_status_fleet() (statusfleet.c), which fleet
 * mode provides; until then it says "off". */
struct wd_status_fleet {
  char state[16];
  char detail[200];
};
void wd_status_fleet(struct wd_daemon *d, struct wd_status_fleet *out);

/* Appends the page to b (b->oom set when out of memory). */
void wd_status_html(struct wd_daemon *d, struct wd_buf *b);
/* The JSON document, malloc'd, or NULL when out of memory. */
char *wd_status_json(struct wd_daemon *d);

/* Appends s HTML-escaped (& < > " ' as entities): safe in text and in a
 * quoted attribute. */
void wd_buf_html(struct wd_buf *b, const char *s);

#endif
