/* statusfleet.c - the fleet line of the status page (statuspage.h).
 *
 * Kept in a file of its own so fleet mode fills it in without touching the
 * page: until warmd has a [fleet] section there is no fleet, and the page
 * says "off". */
#include <stdio.h>

#include "statuspage.h"

void wd_status_fleet(struct wd_daemon *d, struct wd_status_fleet *out) {
  (void)d;
  snprintf(out->state, sizeof out->state, "off");
  out->detail[0] = 0;
}
