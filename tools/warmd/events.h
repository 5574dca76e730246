/* events.h - the event log (events.c): JSON lines of state changes;
 * main thread only.
 */
#ifndef WARMD_EVENTS_H
#define WARMD_EVENTS_H

#include "schedule.h"

/* JSON lines of state changes; NULL path = off. */
int wd_events_open(const char *path);
void wd_events_close(void);
void wd_event(const struct wd_entry *e, int old_state, const char *why);

#endif
