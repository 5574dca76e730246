/* statusfleet.c - the fleet line of the status page (statuspage.h), from
 * the fleet thread's atomics (fleet.h): never the password (the URL shown
 * is built without it). */
#include <stdio.h>

#include "fleet.h"
#include "statuspage.h"

void wd_status_fleet(struct wd_daemon *d, struct wd_status_fleet *out) {
  struct wd_fleet *f = d->fleet;
  if (!f) {
    snprintf(out->state, sizeof out->state, "off");
    out->detail[0] = 0;
    return;
  }
  int st = atomic_load(&f->state);
  snprintf(out->state, sizeof out->state, "%s", wd_fleet_state_name(st));
  char err[160] = "";
  if (st != WD_FLEET_OK)
    wd_fleet_error(f, err, sizeof err);
  snprintf(out->detail, sizeof out->detail,
           "%.30s via %.80s, %lld hosts seen%s%.40s", f->name, f->url_shown,
           (long long)atomic_load(&f->hosts_seen), err[0] ? ": " : "", err);
}
