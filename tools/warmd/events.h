/* events.h - the event log (events.c): JSON lines of state changes;
 * main thread only.
 */
#ifndef WARMD_EVENTS_H
#define WARMD_EVENTS_H

#include <stddef.h>

#include "schedule.h"

/* JSON lines of state changes; NULL path = off.  0, or -1 with why in
 * err (starting with the path; not logged: the caller logs it once).  An
 * existing file that other users may read or write is made 0640-like
 * (others' bits cleared, with a notice) when warmd owns it, else refused. */
int wd_events_open(const char *path, char *err, size_t errlen);
void wd_events_close(void);
void wd_event(const struct wd_entry *e, int old_state, const char *why);

#endif
