/* warmctl.h - the warmctl tool: command table, shared context, formatting.
 *
 * Files:
 *   main.c     options, the command table, dispatch, --help/--version
 *   inspect.c  list, show, watch, check: read the segment via libwarmth
 *              (no coordinator needed, so they work while warmd is down)
 *   cost.c     cost: tokens and USD so far, projected per day and month
 *   json.c     jansson objects for a model and for the coordinator
 *   format.c   durations, latencies, counts, cost, flags: text both ways
 *
 *   ctlclient.c  warmd's control socket: find it, one request, its reply
 *   ctlcmds.c  status, warm, pause, resume, reload, stats: the control
 *              commands (need warmd), their text and JSON output
 * Nothing here assumes a command reads shm.
 */
#ifndef WARMCTL_H
#define WARMCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "units.h"
#include "util.h"
#include "warmth.h"

/* Exit status, documented in --help and warmctl.1: keep the three equal.
 * When several apply, the higher row wins: ERROR, then STALE, then
 * NOTWARM (see wc_worst()). */
enum {
  WC_EXIT_OK = 0,      /* for check: every named model is warm */
  WC_EXIT_NOTWARM = 1, /* a named model is not warm or not in the table */
  WC_EXIT_ERROR = 2,   /* no segment, bad segment, bad arguments */
  WC_EXIT_STALE = 3,   /* coordinator stale or retired */
};

/* Options a command accepts besides the global ones (--json, --shm). */
#define WC_OPT_INTERVAL 0x1u
#define WC_OPT_COUNT 0x2u

/* What the command line said, after parsing. */
struct wc_ctx {
  const char *prog; /* for messages: "warmctl" */
  const char *shm;  /* resolved: --shm, else shm of -c CONFIG (table
                       commands), else $WARMTH_SHM, else /warmth */
  int json;
  int64_t interval_ns; /* watch */
  long count;          /* watch: refreshes, 0 = until interrupted */
  const char *socket;  /* control commands: --socket, or NULL */
  const char *config;  /* -c CONFIG, or NULL: the socket, and the segment
                          for the table commands */
};

struct wc_cmd {
  const char *name;
  const char *args;       /* positional arguments for --help, "" if none */
  const char *summary;    /* one line for --help */
  int min_args, max_args; /* max_args -1: unbounded */
  unsigned opts;          /* WC_OPT_* it accepts */
  int (*run)(const struct wc_ctx *ctx, int argc, char **argv);
  int table; /* reads the segment: -c CONFIG gives its shm */
};

/* ---- inspect.c ---------------------------------------------------------- */
int wc_cmd_list(const struct wc_ctx *ctx, int argc, char **argv);
int wc_cmd_show(const struct wc_ctx *ctx, int argc, char **argv);
int wc_cmd_watch(const struct wc_ctx *ctx, int argc, char **argv);
int wc_cmd_check(const struct wc_ctx *ctx, int argc, char **argv);

/* ---- ctlclient.c: warmd's control socket ------------------------------- */
struct wc_reply {
  unsigned status;       /* enum wctl_status */
  struct json_t *fields; /* the reply's fields as JSON; caller frees */
};
/* Sends one request (cmd: enum wctl_cmd; model or NULL) and waits at most
 * timeout_ns for its reply.  Returns WC_EXIT_OK with *out filled (whatever
 * the status), or an exit status after saying what went wrong (no socket,
 * permission, protocol error). */
int wc_ctl_call(const struct wc_ctx *ctx, unsigned cmd, const char *model,
                int64_t timeout_ns, struct wc_reply *out);
/* The [warmd] shm of -c CONFIG (read by warmd's own parser, so the
 * default means the same to both), malloc'd, or NULL after saying why. */
char *wc_config_shm(const struct wc_ctx *ctx);
/* The exit status for a reply status. */
int wc_ctl_exit(unsigned status);
/* Says on stderr what a reply other than OK means. */
void wc_ctl_complain(const struct wc_ctx *ctx, const char *cmd,
                     const struct wc_reply *r);

/* ---- ctlcmds.c: the control commands ----------------------------------- */
int wc_cmd_status(const struct wc_ctx *ctx, int argc, char **argv);
int wc_cmd_warm(const struct wc_ctx *ctx, int argc, char **argv);
int wc_cmd_pause(const struct wc_ctx *ctx, int argc, char **argv);
int wc_cmd_resume(const struct wc_ctx *ctx, int argc, char **argv);
int wc_cmd_reload(const struct wc_ctx *ctx, int argc, char **argv);
int wc_cmd_stats(const struct wc_ctx *ctx, int argc, char **argv);

/* A reading of the segment at one instant, so that every line of a frame
 * is judged against the same clock and the same coordinator state. */
struct wc_snap {
  const char *shm;
  int64_t now; /* CLOCK_MONOTONIC ns when the status was read */
  struct warmth_status st;
  int hb_stale; /* heartbeat older than its bound */
};

/* All records, sorted by name: slot order means nothing to a reader. */
struct wc_rows {
  struct warmth_model_info *v;
  size_t n, cap;
  int oom;
};

/* Opens ctx->shm (not lazy: a missing segment is exit 2, said on stderr). */
warmth_t *wc_open_table(const struct wc_ctx *ctx);
/* Reads the header into *s; WC_EXIT_OK, _STALE, or _ERROR (said). */
int wc_snap_take(const struct wc_ctx *ctx, warmth_t *h, struct wc_snap *s);
/* Says on stderr why the exit status is 3. */
void wc_stale_note(const struct wc_ctx *ctx, const struct wc_snap *s);
/* Every record, sorted by name (r->v to free); WC_EXIT_OK or _ERROR. */
int wc_rows_read(const struct wc_ctx *ctx, warmth_t *h, struct wc_rows *r);

/* ---- cost.c ---------------------------------------------------------------
 */
int wc_cmd_cost(const struct wc_ctx *ctx, int argc, char **argv);

/* ---- json.c ---------------------------------------------------------------
 */

/* "live", "stale", "retired" or "superseded". */
const char *wc_coord_state(const struct wc_snap *s);

struct json_t;
struct json_t *wc_json_coordinator(const struct wc_snap *s);
struct json_t *wc_json_model(const struct wc_snap *s,
                             const struct warmth_model_info *m);
/* Prints v (compact on one line, or indented) and a newline; frees v.
 * Returns 0, or -1 when v is NULL (out of memory) or the write failed. */
int wc_json_print(struct json_t *v, int compact);

/* ---- format.c -------------------------------------------------------------
 */
#define WC_FMT_MAX 32

/* Warm now, as a worker would judge it: state warm, not expired, and the
 * coordinator neither stale nor retired (same rule as warmth_is_warm). */
int wc_warm_now(const struct wc_snap *s, const struct warmth_model_info *m);

/* ns -> "850ms", "59s", "4m12s", "2h3m", "3d4h"; negative as "-". */
char *wc_fmt_dur(char buf[WC_FMT_MAX], int64_t ns);
/* microseconds -> "850us", "12.3ms", "182ms", "1.24s"; 0 as "-". */
char *wc_fmt_lat(char buf[WC_FMT_MAX], uint32_t us);
/* 1234, 12.3k, 456k, 7.8M ... */
char *wc_fmt_count(char buf[WC_FMT_MAX], uint64_t n);
/* 1e-9 USD -> "$0.000077", "$1.2345", "$123.45"; 0 as "$0". */
char *wc_fmt_cost(char buf[WC_FMT_MAX], uint64_t nusd);
/* A monotonic instant relative to now: "3s ago", "in 4m12s", "never". */
char *wc_fmt_when(char buf[WC_FMT_MAX], int64_t t, int64_t now);
/* Flags as letters ("SKc", "-" for none) for list. */
char *wc_fmt_flags(char buf[WC_FMT_MAX], uint32_t flags);

/* Flag names, for show and JSON: calls fn for each flag set, with its name
 * ("slow", "key_problem", ...; "0x80" for a bit this tool does not know). */
void wc_each_flag(uint32_t flags, void (*fn)(const char *name, void *arg),
                  void *arg);
/* The legend of the letters of wc_fmt_flags, for --help (indented). */
const char *wc_flags_legend(void);

/* The more severe of two exit statuses (ERROR > STALE > NOTWARM > OK). */
int wc_worst(int a, int b);

#endif /* WARMCTL_H */
