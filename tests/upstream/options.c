/* Command line and config file.  One table drives getopt_long, the config
 * file keys and --help, so every option is documented and every option
 * works in both places. */
#include "config.h"

#include "upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind {
  O_LISTEN,
  O_PORT_FILE,
  O_PIDFILE,
  O_MAX_SECONDS,
  O_CONFIG,
  O_MODELS,
  O_REQUIRE_KEY,
  O_WINDOW,
  O_CACHE_TTL,
  O_KEEP_ALIVE,
  O_MAX_LOADED,
  O_SLEEPING,
  O_SETTING, /* [MODEL=]VALUE into a per-model setting */
  O_FAULT,   /* [MODEL=]KIND[:ARG] */
  O_VERBOSE,
  O_HELP,
  O_VERSION,
};

struct opt {
  const char *name;
  enum opt_kind kind;
  int setting;     /* O_SETTING: enum up_setting */
  const char *arg; /* NULL: a flag */
  const char *help;
};

static const struct opt opts[] = {
    /* help text: at most 50 columns a line, so --help fits 80 */
    {"listen", O_LISTEN, 0, "ADDR:PORT",
     "listen there (default 127.0.0.1:0); ADDR must be\n"
     "in 127.0.0.0/8 or \"localhost\"; PORT 0: any free"},
    {"port-file", O_PORT_FILE, 0, "FILE",
     "also write the port to FILE; removed on exit"},
    {"pidfile", O_PIDFILE, 0, "FILE",
     "write the process id to FILE; removed on exit"},
    {"max-seconds", O_MAX_SECONDS, 0, "N",
     "exit by itself after N seconds (default 600;\n"
     "0: never), so a leaked server never lingers"},
    {"config", O_CONFIG, 0, "FILE", "read options from FILE (see CONFIG FILE)"},
    {"models", O_MODELS, 0, "A,B,C",
     "only these models exist (repeatable); others get\n"
     "404 model_not_found.  Default: any name is fine"},
    {"require-key", O_REQUIRE_KEY, 0, "KEY",
     "require \"Authorization: Bearer KEY\" or\n"
     "\"x-api-key: KEY\", else 401 invalid_api_key"},
    {"cold-after", O_SETTING, UP_SET_COLD_AFTER, "[MODEL=]DURATION",
     "a model not served for this long is cold\n"
     "(default 10s); a model never served is cold"},
    {"cold-ms", O_SETTING, UP_SET_COLD_MS, "[MODEL=]MS",
     "delay before a cold model answers (default 800)"},
    {"warm-ms", O_SETTING, UP_SET_WARM_MS, "[MODEL=]MS",
     "delay before a warm model answers (default 20)"},
    {"rpm", O_SETTING, UP_SET_RPM, "[MODEL=]N",
     "requests per rate-limit window (default 600);\n"
     "past it: 429 with Retry-After"},
    {"tpm", O_SETTING, UP_SET_TPM, "[MODEL=]N",
     "tokens per rate-limit window (default 1000000);\n"
     "past it: 429 with Retry-After"},
    {"headroom", O_SETTING, UP_SET_HEADROOM, "[MODEL=]N",
     "report N remaining requests in the headers,\n"
     "whatever the window says"},
    {"window", O_WINDOW, 0, "DURATION", "rate-limit window (default 60s)"},
    {"cache-ttl", O_CACHE_TTL, 0, "DURATION",
     "prompt-prefix cache lifetime since its last use\n"
     "(default 5m)"},
    {"keep-alive", O_KEEP_ALIVE, 0, "DURATION",
     "Ollama: how long a loaded model stays loaded\n"
     "after its last use when a request names no\n"
     "keep_alive (default 5m); a load costs --cold-ms"},
    {"max-loaded", O_MAX_LOADED, 0, "N",
     "Ollama: models loaded at once (default 3); a\n"
     "load past it unloads the least recently used"},
    {"sleeping", O_SLEEPING, 0, NULL,
     "vLLM: start asleep (POST /wake_up wakes it)"},
    {"fault", O_FAULT, 0, "[MODEL=]KIND[:ARG]",
     "inject a fault (repeatable; see FAULTS); MODEL\n"
     "\"*\" or none: every model without its own fault"},
    {"verbose", O_VERBOSE, 0, NULL,
     "log each request to stderr: method, path, model,\n"
     "status, ms (never a key or an auth header)"},
    {"help", O_HELP, 0, NULL, "show this help and exit"},
    {"version", O_VERSION, 0, NULL, "show the version and exit"},
};
#define NOPTS (sizeof opts / sizeof opts[0])

static const char help_tail[] =
    "\n"
    "Per-model options take MODEL=VALUE (that model) or VALUE (every model\n"
    "without its own value).  Model names may not contain '='.\n"
    "DURATION: a number with ms, s, m or h; a bare number is seconds.\n"
    "\n"
    "FAULTS (KIND[:ARG]):\n"
    "  none        healthy (clears a fault)\n"
    "  429[:S]     429 with Retry-After: S seconds (default 2)\n"
    "  429date[:S] 429 with Retry-After as an HTTP-date S seconds ahead\n"
    "  500         500 server_error\n"
    "  503[:S]     503 with Retry-After: S seconds (default 2)\n"
    "  401         401 invalid_api_key, whatever the key\n"
    "  timeout     read the request, never answer; the connection is held\n"
    "              until the client closes it (other requests go on)\n"
    "  slow[:MS]   a normal reply whose body comes in 5 chunks MS apart\n"
    "              (default 200)\n"
    "  big[:BYTES] 200 with a JSON-looking body of BYTES (k/M suffixes;\n"
    "              default 8M)\n"
    "  badjson     200 with a body that is not JSON\n"
    "  reset       close the connection abruptly (RST), no reply\n"
    "  flaky[:N]   every Nth request of the model gets 500 (default 2)\n"
    "  absurd      200 whose usage bills 1e30 tokens (a broken relay)\n"
    "  echokey[:N] 401 whose message quotes N characters from the middle\n"
    "              of the key the request presented (Bearer, x-api-key,\n"
    "              else cf-aig-authorization: Bearer; default 18), as\n"
    "              providers echo keys; never logged here\n"
    "Faults apply to chat, messages and GET /v1/models/ID; the \"*\" fault\n"
    "also to GET /v1/models.  Change them at run time with POST /_fault.\n"
    "\n"
    "CONFIG FILE: one option per line, \"name = value\" (the long option\n"
    "without its dashes) or \"name\" for a flag; '#' and ';' start comments.\n"
    "A \"[MODEL]\" line starts a section whose per-model options apply to\n"
    "MODEL (\"[*]\": every model); other options go before any section.\n"
    "For example:\n"
    "    models = gpt-4o-mini,claude-3-5-haiku\n"
    "    cold-ms = 800\n"
    "    [gpt-4o-mini]\n"
    "    fault = 503:2\n"
    "    rpm = 60\n"
    "\n"
    "ENDPOINTS (the /v1 prefix is optional):\n"
    "  POST /v1/chat/completions   OpenAI chat; reply \"hi\" with usage\n"
    "  POST /v1/messages           Anthropic messages (needs "
    "anthropic-version\n"
    "                              and max_tokens)\n"
    "  GET  /v1/models[/ID]        list of models (or one)\n"
    "  POST /api/generate          Ollama: {model, keep_alive?, prompt?};\n"
    "                              without a prompt it only loads (or with\n"
    "                              keep_alive 0 unloads) the model\n"
    "  POST /api/chat              Ollama chat (loads the model too)\n"
    "  GET  /api/ps                Ollama: loaded models, expires_at, size\n"
    "  GET  /api/tags              Ollama: the models there are\n"
    "  GET  /_ollama               Ollama counters: loads, evictions (and\n"
    "                              by load-only requests), peak_loaded\n"
    "  GET  /is_sleeping           vLLM: {\"is_sleeping\": bool}\n"
    "  POST /sleep, /wake_up       vLLM: sleep (chat answers 500) or wake\n"
    "  GET  /_vllm                 vLLM counters: requests refused asleep\n"
    "  GET  /_stats                counters (JSON): {\"models\": {NAME: "
    "{\"requests\",\n"
    "                              \"chat\", \"messages\", \"models_list\",\n"
    "                              \"cold_served\", \"warm_served\",\n"
    "                              \"first_request_ms_ago\",\n"
    "                              \"last_request_ms_ago\", "
    "\"status_counts\",\n"
    "                              \"prompt_tokens\", \"completion_tokens\",\n"
    "                              \"cached_tokens\", \"warm\"}}, \"total\",\n"
    "                              \"models_list\", \"status_counts\"}\n"
    "  POST /_reset[?all=1]        zero counters (all=1: also forget warmth,\n"
    "                              prefix caches, windows, flaky counts)\n"
    "  GET  /_fault                faults in force\n"
    "  POST /_fault                "
    "{\"model\":\"M\",\"kind\":\"503\",\"arg\":\"2\"};\n"
    "                              kind \"none\" heals\n"
    "Token counts: a token is 4 characters (rounded up) of all message and\n"
    "system text.  A system prompt equal to the model's previous one (within\n"
    "--cache-ttl) is a cache hit: OpenAI cached_tokens, Anthropic\n"
    "cache_read_input_tokens; a new one is Anthropic\n"
    "cache_creation_input_tokens.\n"
    "\n"
    "The first line on stdout is \"port=N\".  SIGTERM and SIGINT exit\n"
    "cleanly (status 0), as does the --max-seconds deadline.\n";

static void usage(FILE *f) {
  fprintf(f, "Usage: warmth-upstream [OPTION]...\n"
             "A fake OpenAI / Anthropic API on loopback for warmth's tests "
             "and demo.\n\n");
  for (size_t i = 0; i < NOPTS; i++) {
    char left[64];
    snprintf(left, sizeof left, "--%s%s%s", opts[i].name,
             opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
    const char *h = opts[i].help;
    /* help lines are wrapped by hand; indent the continuations */
    int first = 1;
    while (*h) {
      const char *nl = strchr(h, '\n');
      int n = nl ? (int)(nl - h) : (int)strlen(h);
      if (first && strlen(left) <= 26)
        fprintf(f, "  %-26s %.*s\n", left, n, h);
      else if (first)
        fprintf(f, "  %s\n  %-26s %.*s\n", left, "", n, h);
      else
        fprintf(f, "  %-26s %.*s\n", "", n, h);
      first = 0;
      h += n + (nl ? 1 : 0);
    }
  }
  fputs(help_tail, f);
}

int up_parse_long(const char *s, long min, long max, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

int up_parse_duration_ms(const char *s, long *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || v < 0)
    return -1;
  double mult;
  if (!*end || !strcmp(end, "s"))
    mult = 1000;
  else if (!strcmp(end, "ms"))
    mult = 1;
  else if (!strcmp(end, "m"))
    mult = 60000;
  else if (!strcmp(end, "h"))
    mult = 3600000;
  else
    return -1;
  v *= mult;
  if (v > 30.0 * 24 * 3600000) /* a month is plenty and fits a long */
    return -1;
  *out = (long)(v + 0.5);
  return 0;
}

static int set_string(char **dst, const char *val) {
  char *s = strdup(val);
  if (!s)
    return -1;
  free(*dst);
  *dst = s;
  return 0;
}

static int parse_listen(const char *val) {
  char host[64] = "127.0.0.1";
  const char *colon = strrchr(val, ':');
  const char *port = colon ? colon + 1 : val;
  if (colon && colon != val) {
    size_t n = (size_t)(colon - val);
    if (n >= sizeof host)
      return -1;
    memcpy(host, val, n);
    host[n] = 0;
  }
  if (!strcmp(host, "localhost"))
    strcpy(host, "127.0.0.1");
  struct in_addr a;
  long p;
  /* loopback only: this server answers anyone with fake keys accepted */
  if (inet_pton(AF_INET, host, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
    return -1;
  if (up_parse_long(port, 0, 65535, &p) != 0)
    return -1;
  up_opt.port = (unsigned)p;
  return set_string(&up_opt.listen_host, host);
}

static int apply_setting(const struct opt *o, const char *model,
                         const char *val) {
  long v;
  int rc;
  if (o->setting == UP_SET_COLD_AFTER)
    rc = up_parse_duration_ms(val, &v);
  else if (o->setting == UP_SET_COLD_MS || o->setting == UP_SET_WARM_MS)
    rc = up_parse_long(val, 0, 600000, &v);
  else if (o->setting == UP_SET_HEADROOM)
    rc = up_parse_long(val, 0, LONG_MAX / 2, &v);
  else
    rc = up_parse_long(val, 1, LONG_MAX / 2, &v);
  if (rc != 0)
    return -1;
  struct up_model *m = up_model_find(model, true);
  if (!m)
    return -1;
  m->set[o->setting] = v;
  return 0;
}

static int apply_fault(const char *model, const char *val, const char **err) {
  struct up_fault f;
  if (up_fault_parse(val, NULL, &f, err) != 0)
    return -1;
  struct up_model *m = up_model_find(model, true);
  if (!m)
    return -1;
  m->fault = f;
  return 0;
}

static int read_config(const char *path);

/* Applies one option.  section: the model of a config-file section, or
 * NULL.  Returns 0, 1 (exit now, success) or -1 (reported). */
static int apply(const struct opt *o, const char *val, const char *section,
                 const char *where) {
  const char *err = NULL;
  int rc = 0;
  char model[UP_NAME_MAX + 1];
  const char *v = val;
  bool per_model = o->kind == O_SETTING || o->kind == O_FAULT;

  if (section && !per_model) {
    fprintf(stderr, "warmth-upstream: %s: --%s is not a per-model option\n",
            where, o->name);
    return -1;
  }
  if (per_model) {
    const char *eq = section ? NULL : strchr(val, '=');
    const char *name = section ? section : UP_STAR;
    size_t n = strlen(name);
    if (eq) {
      name = val;
      n = (size_t)(eq - val);
      v = eq + 1;
    }
    if (n > UP_NAME_MAX) {
      err = "model name too long";
      goto bad;
    }
    memcpy(model, name, n);
    model[n] = 0;
    if (strcmp(model, UP_STAR) != 0 && !up_name_valid(model)) {
      err = "bad model name";
      goto bad;
    }
  }
  switch (o->kind) {
  case O_LISTEN:
    rc = parse_listen(v);
    err = "want 127.x.x.x:PORT";
    break;
  case O_PORT_FILE:
    rc = set_string(&up_opt.port_file, v);
    break;
  case O_PIDFILE:
    rc = set_string(&up_opt.pidfile, v);
    break;
  case O_MAX_SECONDS:
    rc = up_parse_long(v, 0, 7 * 86400, &up_opt.max_seconds);
    break;
  case O_CONFIG:
    if (where[0] != '-') {
      err = "config files do not nest";
      goto bad;
    }
    return read_config(v);
  case O_MODELS:
    rc = up_models_restrict(v, &err);
    break;
  case O_REQUIRE_KEY:
    rc = set_string(&up_opt.require_key, v);
    break;
  case O_WINDOW:
    rc = up_parse_duration_ms(v, &up_opt.window_ms);
    if (rc == 0 && up_opt.window_ms < 1)
      rc = -1;
    break;
  case O_CACHE_TTL:
    rc = up_parse_duration_ms(v, &up_opt.cache_ttl_ms);
    break;
  case O_KEEP_ALIVE:
    rc = up_parse_duration_ms(v, &up_opt.keep_alive_ms);
    break;
  case O_MAX_LOADED:
    rc = up_parse_long(v, 1, 1000, &up_opt.max_loaded);
    break;
  case O_SLEEPING:
    up_opt.start_sleeping = true;
    break;
  case O_SETTING:
    rc = apply_setting(o, model, v);
    break;
  case O_FAULT:
    rc = apply_fault(model, v, &err);
    break;
  case O_VERBOSE:
    up_opt.verbose = true;
    break;
  case O_HELP:
    usage(stdout);
    return 1;
  case O_VERSION:
    printf("warmth-upstream (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
    return 1;
  }
  if (rc == 0)
    return 0;
bad:
  fprintf(stderr, "warmth-upstream: %s: bad value for --%s: \"%s\"%s%s\n",
          where, o->name, val, err ? ": " : "", err ? err : "");
  return -1;
}

static const struct opt *find_opt(const char *name) {
  for (size_t i = 0; i < NOPTS; i++)
    if (!strcmp(opts[i].name, name))
      return &opts[i];
  return NULL;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  char *e = s + strlen(s);
  while (e > s && strchr(" \t\r\n", e[-1]))
    *--e = 0;
  return s;
}

static int read_config(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "warmth-upstream: %s: %s\n", path, strerror(errno));
    return -1;
  }
  char line[4096], where[512], section[UP_NAME_MAX + 1] = "";
  int lineno = 0, rc = 0;
  while (rc == 0 && fgets(line, sizeof line, f)) {
    lineno++;
    snprintf(where, sizeof where, "%s:%d", path, lineno);
    char *s = trim(line);
    if (!*s || *s == '#' || *s == ';')
      continue;
    if (*s == '[') {
      char *end = strchr(s, ']');
      if (!end || end[1]) {
        fprintf(stderr, "warmth-upstream: %s: bad section line\n", where);
        rc = -1;
        break;
      }
      *end = 0;
      char *name = trim(s + 1);
      if (strcmp(name, UP_STAR) != 0 && !up_name_valid(name)) {
        fprintf(stderr, "warmth-upstream: %s: bad model name\n", where);
        rc = -1;
        break;
      }
      snprintf(section, sizeof section, "%s", name);
      continue;
    }
    char *eq = strchr(s, '=');
    char *val = NULL;
    if (eq) {
      *eq = 0;
      val = trim(eq + 1);
    }
    char *key = trim(s);
    while (*key == '-')
      key++;
    const struct opt *o = find_opt(key);
    if (!o || o->kind == O_HELP || o->kind == O_VERSION ||
        (o->arg != NULL) != (val != NULL)) {
      fprintf(stderr, "warmth-upstream: %s: unknown option or bad form: %s\n",
              where, key);
      rc = -1;
      break;
    }
    rc = apply(o, val ? val : "", section[0] ? section : NULL, where);
  }
  if (rc == 0 && ferror(f)) {
    fprintf(stderr, "warmth-upstream: %s: read error\n", path);
    rc = -1;
  }
  fclose(f);
  return rc;
}

int up_options_parse(int argc, char **argv) {
  struct option lo[NOPTS + 1];
  memset(lo, 0, sizeof lo);
  for (size_t i = 0; i < NOPTS; i++) {
    lo[i].name = opts[i].name;
    lo[i].has_arg = opts[i].arg ? required_argument : no_argument;
    lo[i].val = 256 + (int)i; /* above any short option character */
  }
  up_opt.max_seconds = 600;
  up_opt.window_ms = 60000;
  up_opt.cache_ttl_ms = 300000;
  up_opt.keep_alive_ms = 300000; /* Ollama's default keep_alive, 5m */
  up_opt.max_loaded = 3;         /* OLLAMA_MAX_LOADED_MODELS: 3 per GPU */
  if (set_string(&up_opt.listen_host, "127.0.0.1") != 0)
    return -1;
  int c;
  while ((c = getopt_long(argc, argv, "hV", lo, NULL)) != -1) {
    const struct opt *o;
    if (c == 'h')
      o = find_opt("help");
    else if (c == 'V')
      o = find_opt("version");
    else if (c >= 256 && c < 256 + (int)NOPTS)
      o = &opts[c - 256];
    else {
      fprintf(stderr, "Try 'warmth-upstream --help'.\n");
      return -1;
    }
    char where[80];
    snprintf(where, sizeof where, "--%s", o->name);
    int rc = apply(o, optarg ? optarg : "", NULL, where);
    if (rc != 0)
      return rc;
  }
  if (optind < argc) {
    fprintf(stderr, "warmth-upstream: unexpected argument \"%s\"\n",
            argv[optind]);
    return -1;
  }
  return 0;
}

void up_options_free(void) {
  free(up_opt.listen_host);
  free(up_opt.port_file);
  free(up_opt.pidfile);
  free(up_opt.require_key);
  memset(&up_opt, 0, sizeof up_opt);
}
