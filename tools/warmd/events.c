/* events.c - the event log: one JSON object per line for each state
 * change, appended to [warmd] event_log, for people and for log shippers. */
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "daemon.h"
#include "events.h"
#include "log.h"

static FILE *events;

int wd_events_open(const char *path) {
  if (!path)
    return 0;
  events = fopen(path, "ae");
  if (!events) {
    LOG(LOG_ERR, "cannot open event log %s: %m", path);
    return -1;
  }
  return 0;
}

void wd_events_close(void) {
  if (events)
    fclose(events);
  events = NULL;
}

void wd_event(const struct wd_entry *e, int old_state, const char *why) {
  if (!events)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  const struct warmth__payload *p = &e->rec;
  json_t *o = json_pack(
      "{s:f, s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:b}", "ts",
      (double)ts.tv_sec + ts.tv_nsec / 1e9, "model", e->name, "from",
      warmth_state_name(old_state), "to", warmth_state_name(p->state), "why",
      why ? why : "", "http_status", (int)p->http_status, "error_class",
      warmth_error_class_name(p->error_class), "latency_us",
      (json_int_t)p->last_latency_us, "ewma_latency_us",
      (json_int_t)p->ewma_latency_us, "fails_in_row",
      (json_int_t)p->fails_in_row, "slow", (p->flags & WARMTH_F_SLOW) != 0);
  if (!o)
    return;
  char *line = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (line) {
    fprintf(events, "%s\n", line);
    fflush(events);
    free(line);
  }
}
