/* warmd.h - the coordinator's modules and the types they share.
 *
 * Modules (one file each):
 *   config.c   INI config (inih): parse, validate, units        wd_config_*
 *   probe.c    libcurl multi prober, reply parsing (jansson)    wd_prober_*
 *   schedule.c per-model schedule, backoff, budget, idle        wd_sched_*
 *   publish.c  results -> shared table (single writer thread)   wd_pub_*
 *   main.c     options, start-up order, main loop, signals
 * Times are CLOCK_MONOTONIC nanoseconds (int64_t) unless named otherwise.
 */
#ifndef WARMD_H
#define WARMD_H

#include <stddef.h>
#include <stdint.h>

#define WD_NS_PER_MS 1000000LL
#define WD_NS_PER_S 1000000000LL

#include "conf.h"
#include "probe.h"
#include "secret.h"
#include "units.h"
#include "util.h"

#endif /* WARMD_H */
