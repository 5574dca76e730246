/* warmd.h - the coordinator: a map of its files, its conventions, and the
 * umbrella that includes the headers every module needs (config, probes,
 * secrets, units, helpers).
 *
 * Module map (tools/warmd/; one header per module, prefix wd_):
 *   main.c      options, start-up order, shut-down (as chrony's main.c)
 *   loop.c      loop.h      the main loop: requests, reload, demand tick,
 *                           dispatch, results (carries out schedule.c)
 *   schedule.c  schedule.h  every scheduling decision, pure (time as `now`)
 *   table.c     table.h     the model table: entries, name hash (cds_lfht),
 *                           due heap, reload without losing warm state
 *   publish.c   publish.h   the publisher thread: the one writer of records
 *   config.c    conf.h      warmd.conf(5): key tables, reader (inih),
 *                           whole-file checks
 *   secret.c    secret.h    API keys (env, key files), placeholders
 *   probe.c     probe.h     the prober: libcurl multi, timings
 *   reply.c     reply.h     reply headers, error text, outcome (pure)
 *   provider.c  provider.h  one adapter per provider: the table by kind,
 *                           shared pieces (pure)
 *   prov_openai.c           kind = openai (and the OpenAI protocol)
 *   prov_anthropic.c        kind = anthropic
 *   prov_azure.c            kind = azure
 *   prov_gemini.c           kind = gemini
 *   prov_ollama.c prov_local.h  kind = ollama: load probe, /api/ps, max_loaded
 *   prov_vllm.c   prov_local.h  kind = vllm: OpenAI + /is_sleeping at the root
 *   online.c    online.h    --check-config --online
 *   daemon.c    daemon.h    what the service threads share with the loop
 *   control.c   ctl.h       control socket: threads, framing, SO_PEERCRED
 *   ctlcmd.c    ctl.h       control socket: the commands' answers
 *   http.c      http.h      /health and /metrics (libmicrohttpd)
 *   metrics.c   metrics.h   what http.c serves: verdicts, Prometheus text
 *   state.c     state.h     the state file across restarts (msgpack)
 *   events.c    events.h    the event log (JSON lines)
 *   service.c   service.h   detach, pidfile, signals
 *   log.c       log.h       LOG(): stderr or syslog
 *   hist.c      hist.h      log-linear histogram for percentiles
 *               rcu.h       the liburcu flavour, chosen once
 * Shared with warmctl (tools/common/):
 *   ctlproto.c  ctlproto.h  the control protocol: numbering, versions, codec
 *   units.c     units.h     the value grammar: durations, percentages, USD
 *   util.c      util.h      clocks, wd_errf, edit distance, the defaults
 *   inipeek.c   inipeek.h   one key of warmd.conf without the parser
 *
 * Times are CLOCK_MONOTONIC nanoseconds (int64_t) unless named otherwise
 * (_real_, _unix_, _day).
 *
 * Errors, one convention inside warmd:
 *  - a function that can fail returns 0 on success and -1 on failure (a
 *    pointer: NULL); when it takes (char *err, size_t errlen) it writes why
 *    there with wd_errf() (which returns -1, for `return wd_errf(...)`),
 *    else it leaves errno set.  Where a caller must tell failures apart the
 *    header says so (wd_prober_submit: -1 full, -2 unbuildable).
 *  - libwarmth's functions (warmth_*, warmth__w_*) keep the library's
 *    negative WARMTH_E* codes; warmd turns them into text with
 *    warmth_strerror() where it reports them.
 *  - the error is logged where it is handled: main.c and loop.c, and the
 *    threads' own files (control.c, http.c, publish.c, state.c), which
 *    have no caller to hand it to.  A message never contains an API key.
 */
#ifndef WARMD_H
#define WARMD_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "probe.h"
#include "secret.h"
#include "units.h"
#include "util.h"

#endif /* WARMD_H */
