/* main.c - warmctl: options, the command table, dispatch.
 *
 * Options may stand before or after the command ("warmctl --shm /x list
 * --json"): getopt_long runs in "return in order" mode (optstring starting
 * with '-'), so positional words come back as they appear, whatever
 * POSIXLY_CORRECT says, and "--" still ends the options (for a model whose
 * name starts with '-').
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "warmctl.h"

/* The commands, in --help order.  Append only; each has its run function
 * in the file of its kind (inspect.c, ctlcmds.c). */
static const struct wc_cmd commands[] = {
    {"list", "", "one line per model, under a coordinator header", 0, 0, 0,
     wc_cmd_list, 1},
    {"show", "MODEL", "every field of one model's record", 1, 1, 0, wc_cmd_show,
     1},
    {"watch", "", "list, refreshed every --interval", 0, 0,
     WC_OPT_INTERVAL | WC_OPT_COUNT, wc_cmd_watch, 1},
    {"check", "MODEL...", "exit 0 if every MODEL is warm (for probes)", 1, -1,
     0, wc_cmd_check, 1},
    {"cost", "", "tokens and USD so far, projected per day and month", 0, 0, 0,
     wc_cmd_cost, 1},
    /* Control commands: over warmd's socket (ctlcmds.c). */
    {"status", "", "warmd: pid, uptime, config, models, budget", 0, 0, 0,
     wc_cmd_status, 0},
    {"warm", "MODEL", "warm MODEL now, wait for the result, print it", 1, 1, 0,
     wc_cmd_warm, 0},
    {"pause", "MODEL", "stop warming MODEL until resumed", 1, 1, 0,
     wc_cmd_pause, 0},
    {"resume", "MODEL", "warm MODEL again (clears a key or model problem)", 1,
     1, 0, wc_cmd_resume, 0},
    {"reload", "", "reload warmd's config (as SIGHUP)", 0, 0, 0, wc_cmd_reload,
     0},
    {"stats", "[MODEL]", "warmup counters per model", 0, 1, 0, wc_cmd_stats, 0},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

#define DEFAULT_INTERVAL_NS WD_NS_PER_S
#define MIN_INTERVAL_NS (10 * WD_NS_PER_MS) /* below this: a busy loop */
#define MAX_INTERVAL_NS (24 * 3600 * WD_NS_PER_S)

static const struct option long_opts[] = {
    {"json", no_argument, NULL, 'j'},
    {"shm", required_argument, NULL, 's'},
    {"interval", required_argument, NULL, 'i'},
    {"count", required_argument, NULL, 'n'},
    {"socket", required_argument, NULL, 'S'},
    {"config", required_argument, NULL, 'c'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};
/* '-': positional words in order; ':': report a missing argument as ':'. */
static const char short_opts[] = "-:js:i:n:S:c:hV";

static void usage(FILE *f) {
  fprintf(f,
          "Usage: warmctl [OPTION...] COMMAND [ARG...]\n"
          "Inspect the warmth table of LLM models kept warm by warmd.  Reads "
          "the\nshared-memory segment directly: works while warmd is down.  "
          "status, warm,\npause, resume, reload and stats talk to warmd over "
          "its control socket.\n"
          "\nCommands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++) {
    char head[64];
    snprintf(head, sizeof head, "%s%s%s", commands[i].name,
             *commands[i].args ? " " : "", commands[i].args);
    fprintf(f, "  %-22s %s\n", head, commands[i].summary);
  }
  fprintf(f,
          "\nOptions (before or after the command):\n"
          "  -j, --json             print JSON (jansson) instead of text\n"
          "  -s, --shm NAME         state segment (default: the shm of "
          "--config,\n"
          "                         else $WARMTH_SHM, else %s)\n"
          "  -i, --interval DURATION\n"
          "                         watch: time between refreshes, e.g. "
          "500ms, 2s\n"
          "                         (default 1s)\n"
          "  -n, --count N          watch: stop after N refreshes\n"
          "  -S, --socket PATH      control commands: warmd's socket "
          "(default: the\n"
          "                         control_socket of --config, else\n"
          "                         %s)\n"
          "  -c, --config FILE      warmd's config: where its socket and "
          "segment are\n"
          "  -h, --help             print this help and exit\n"
          "  -V, --version          print the version and exit\n"
          "\nFlags in list:\n%s\n"
          "\nExit status:\n"
          "  0  success; for check: every named model is warm\n"
          "  1  a named model is not warm or not in the table; warm: the "
          "warmup failed\n     or was not sent (paused, rate limited, ...)\n"
          "  2  error: no segment or socket, bad segment, bad arguments, "
          "protocol error,\n     permission denied\n"
          "  3  coordinator stale or retired (takes precedence over 1), or "
          "gone\n",
          WARMTH_SHM_DEFAULT, WCTL_DEFAULT_SOCKET, wc_flags_legend());
}

static int bad_usage(const char *fmt, const char *arg) {
  fputs("warmctl: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs("\nTry 'warmctl --help'.\n", stderr);
  return WC_EXIT_ERROR;
}

static const struct wc_cmd *find_cmd(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

static int parse_count(const char *s, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 1)
    return -1;
  *out = v;
  return 0;
}

/* Parses the command line into *ctx and the positional words (command
 * first) into pos.  Returns -1 to go on, or an exit status (--help,
 * --version, bad usage). */
static int parse(int argc, char **argv, struct wc_ctx *ctx, char **pos,
                 int *npos, unsigned *seen) {
  const char *shm = NULL;
  ctx->shm = NULL;
  opterr = 0; /* our own messages, in our own format */
  int c;
  while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
    switch (c) {
    case 1:
      pos[(*npos)++] = optarg;
      break;
    case 'j':
      ctx->json = 1;
      break;
    case 's':
      if (!*optarg) /* else it would quietly mean the default */
        return bad_usage("%s", "--shm needs a segment name, e.g. /warmth");
      shm = optarg;
      break;
    case 'i':
      if (wd_parse_duration(optarg, &ctx->interval_ns) != 0 ||
          ctx->interval_ns < MIN_INTERVAL_NS ||
          ctx->interval_ns > MAX_INTERVAL_NS)
        return bad_usage("bad --interval '%s' (want a duration from 10ms to "
                         "24h, e.g. 500ms, 2s, 1m)",
                         optarg);
      *seen |= WC_OPT_INTERVAL;
      break;
    case 'n':
      if (parse_count(optarg, &ctx->count) != 0)
        return bad_usage("bad --count '%s' (want a positive integer)", optarg);
      *seen |= WC_OPT_COUNT;
      break;
    case 'S':
      if (!*optarg)
        return bad_usage("%s", "--socket needs a path");
      ctx->socket = optarg;
      break;
    case 'c':
      if (!*optarg)
        return bad_usage("%s", "--config needs a path");
      ctx->config = optarg;
      break;
    case 'h':
      usage(stdout);
      return WC_EXIT_OK;
    case 'V':
      printf("warmctl (warmth) %s, libwarmth %s\n", WARMTH_VERSION_STRING,
             warmth_version_string());
      return WC_EXIT_OK;
    case ':':
      return bad_usage("option '%s' needs an argument", argv[optind - 1]);
    default:
      return bad_usage("unknown option '%s'", argv[optind - 1]);
    }
  }
  while (optind < argc) /* after "--" */
    pos[(*npos)++] = argv[optind++];
  ctx->shm = shm; /* NULL: resolve() decides */
  return -1;
}

/* The segment: --shm, else the config's shm for a table command given -c
 * (the config names the segment warmd really uses, whatever the
 * environment says), else $WARMTH_SHM, else the default.  *owned gets what
 * to free.  0, or an exit status after saying why. */
static int resolve(struct wc_ctx *ctx, const struct wc_cmd *cmd, char **owned) {
  *owned = NULL;
  if (ctx->shm)
    return -1;
  if (cmd->table && ctx->config) {
    if (!(*owned = wc_config_shm(ctx)))
      return WC_EXIT_ERROR;
    ctx->shm = *owned;
    return -1;
  }
  const char *env = getenv("WARMTH_SHM");
  ctx->shm = env && *env ? env : WARMTH_SHM_DEFAULT;
  return -1;
}

static int model_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > WARMTH_NAME_MAX)
    return 0;
  for (; *s; s++)
    if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
      return 0;
  return 1;
}

/* Finds the command and checks its arguments and options.  Returns it, or
 * NULL after saying what was wrong. */
static const struct wc_cmd *pick(char **pos, int npos, unsigned seen) {
  if (npos == 0) {
    char names[256] = "";
    for (size_t i = 0; i < NCOMMANDS; i++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
               i ? ", " : "", commands[i].name);
    bad_usage("missing command (%s)", names);
    return NULL;
  }
  const struct wc_cmd *cmd = find_cmd(pos[0]);
  if (!cmd) {
    bad_usage("unknown command '%s'", pos[0]);
    return NULL;
  }
  int nargs = npos - 1;
  if (nargs < cmd->min_args || (cmd->max_args >= 0 && nargs > cmd->max_args)) {
    bad_usage(nargs < cmd->min_args ? "%s: missing argument"
                                    : "%s: too many arguments",
              cmd->name);
    return NULL;
  }
  /* Model names follow warmd's rule (warmd.conf(5), [model NAME]): a bad
   * one is a bad argument, said before any segment or socket is opened. */
  if (strstr(cmd->args, "MODEL"))
    for (int i = 1; i < npos; i++)
      if (!model_name_ok(pos[i])) {
        fprintf(stderr,
                "warmctl: '%.80s%s' is not a model name (1..%d printable "
                "ASCII characters, no spaces)\n",
                pos[i], strlen(pos[i]) > 80 ? "..." : "", WARMTH_NAME_MAX);
        return NULL;
      }
  if (seen & ~cmd->opts) {
    bad_usage(seen & WC_OPT_INTERVAL & ~cmd->opts
                  ? "--interval does not apply to %s"
                  : "--count does not apply to %s",
              cmd->name);
    return NULL;
  }
  return cmd;
}

int main(int argc, char **argv) {
  struct wc_ctx ctx = {.prog = "warmctl", .interval_ns = DEFAULT_INTERVAL_NS};
  unsigned seen = 0; /* WC_OPT_* given, checked against the command */
  int npos = 0;
  char **pos = calloc((size_t)argc + 1, sizeof *pos);
  if (!pos) {
    fputs("warmctl: out of memory\n", stderr);
    return WC_EXIT_ERROR;
  }
  char *shm = NULL;
  int rc = parse(argc, argv, &ctx, pos, &npos, &seen);
  if (rc < 0) {
    const struct wc_cmd *cmd = pick(pos, npos, seen);
    rc = cmd ? resolve(&ctx, cmd, &shm) : WC_EXIT_ERROR;
    if (rc < 0)
      rc = cmd->run(&ctx, npos - 1, pos + 1);
  }
  free(shm);
  free(pos);
  /* A full disk or a closed pipe must not pass for success. */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "warmctl: write error: %s\n", strerror(errno));
    rc = WC_EXIT_ERROR;
  }
  return rc;
}
