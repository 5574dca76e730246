/* config.c - warmd's configuration: an INI file read with inih, then
 * validated as a whole.  The file format is documented in warmd.conf(5).
 *
 * Why inih is fed through our own line reader (ini_parse_stream):
 *  - Debian's libinih is built with INI_HANDLER_LINENO=0, so the handler is
 *    never told the line, and with a 200-byte line buffer that splits a
 *    longer line into two, after which inih's own count is off by one.  Our
 *    reader hands inih exactly one physical line per call (refusing lines
 *    that do not fit its buffer), so x->line is the line being handled.
 *  - inih calls the handler only for "key = value", so an empty [model x]
 *    would go unseen; the reader registers section headers itself.  It also
 *    keeps the whole section name, which inih truncates to 50 bytes.
 *  - inih's run-time switches (ini_allow_multiline, ...) are a Debian patch,
 *    and its defaults make an indented line the continuation of the value
 *    above and know only ';' as an inline comment.  The reader drops leading
 *    blanks (no continuations: an indented stray line is a syntax error) and
 *    strips ';' and '#' comments itself, portably.
 * The first error wins: the reader then returns NULL, which ends inih's loop.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "fleetproto.h"
#include "layout.h"
#include "secret.h"
#include "units.h"
#include "util.h"
#include "window.h"

/* ---- parse state --------------------------------------------------------- */

enum sec { SEC_NONE, SEC_WARMD, SEC_ENDPOINT, SEC_MODEL, SEC_FLEET };

#define KEYS_MAX 32

/* What the public structs do not keep: where each key was set. */
struct side {
  int line;         /* section header */
  int kl[KEYS_MAX]; /* line of each key of the section's table, 0 = unset */
  char *endpoint;   /* [model]: the endpoint's name, resolved at the end */
};

struct ctx {
  const char *path;
  char *dir; /* absolute directory of path: relative paths start there */
  FILE *f;
  char *lbuf;
  size_t lcap;
  int line;
  int failed;
  char *err;
  size_t errlen;
  struct wd_config *c;
  enum sec cur;
  int cur_i;
  struct side w;
  struct side fl; /* [fleet] */
  struct side *es;
  int ecap;
  struct side *ms;
  int mcap;
};

/* "FILE:LINE: [section NAME] key: message"; line 0 leaves out the line,
 * SEC_NONE the section, a NULL key the key.  Only the first error counts. */
static void verr(struct ctx *x, int line, enum sec s, int i, const char *key,
                 const char *fmt, va_list ap) {
  char where[128] = "", msg[512];
  if (x->failed)
    return;
  x->failed = 1;
  if (!x->err || !x->errlen)
    return;
  if (s == SEC_WARMD)
    snprintf(where, sizeof where, "[warmd]");
  else if (s == SEC_ENDPOINT)
    snprintf(where, sizeof where, "[endpoint %s]", x->c->endpoints[i].name);
  else if (s == SEC_MODEL)
    snprintf(where, sizeof where, "[model %s]", x->c->models[i].name);
  else if (s == SEC_FLEET)
    snprintf(where, sizeof where, "[fleet]");
  vsnprintf(msg, sizeof msg, fmt, ap);
  char lno[16] = "";
  if (line > 0)
    snprintf(lno, sizeof lno, "%d:", line);
  snprintf(x->err, x->errlen, "%s:%s %s%s%s%s%s", x->path, lno, where,
           *where && key ? " " : "", key ? key : "", *where || key ? ": " : "",
           msg);
}

__attribute__((format(printf, 6, 7))) static void err_at(struct ctx *x,
                                                         int line, enum sec s,
                                                         int i, const char *key,
                                                         const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verr(x, line, s, i, key, fmt, ap);
  va_end(ap);
}

/* An error about `key` of the section being read, at the current line. */
__attribute__((format(printf, 3, 4))) static void
kerr(struct ctx *x, const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verr(x, x->line, x->cur, x->cur_i, key, fmt, ap);
  va_end(ap);
}

static void oom(struct ctx *x) {
  err_at(x, x->line, SEC_NONE, 0, NULL, "out of memory");
}

/* Close enough to be a typo of `known`. */
static int near(const char *word, const char *known) {
  int d = wd_edit_distance(word, known, 1);
  return d <= 2 && (size_t)d * 3 <= strlen(known) + 1;
}
/* ---- value checks ---------------------------------------------------------
 * Each gets the value (already a path made absolute, for path keys), may
 * rewrite it in place, and on failure writes why into `why`. */

typedef int (*check_fn)(struct ctx *x, char *v, char *why, size_t n);

static int printable_word(const char *v) {
  for (; *v; v++)
    if ((unsigned char)*v < 0x21 || (unsigned char)*v > 0x7e)
      return 0;
  return 1;
}

static int chk_shm(struct ctx *x, char *v, char *why, size_t n) {
  (void)x;
  size_t len = strlen(v);
  if (v[0] != '/' || len < 2 || strchr(v + 1, '/') ||
      len + sizeof ".demand" > NAME_MAX || !printable_word(v)) {
    snprintf(why, n,
             "'%.80s' is not a segment name (one '/' then 1..%zu "
             "characters, no other '/')",
             v, (size_t)NAME_MAX - sizeof ".demand" - 1);
    return -1;
  }
  return 0;
}

static int chk_socket(struct ctx *x, char *v, char *why, size_t n) {
  (void)x;
  struct sockaddr_un sa;
  if (strlen(v) >= sizeof sa.sun_path) {
    snprintf(why, n, "'%.120s' is too long for a socket (at most %zu bytes)", v,
             sizeof sa.sun_path - 1);
    return -1;
  }
  return 0;
}

static int chk_listen(struct ctx *x, char *v, char *why, size_t n) {
  (void)x;
  char *colon = strrchr(v, ':');
  long long port = 0;
  if (!*v)
    return 0; /* off */
  if (!printable_word(v) || !colon || colon == v ||
      wd_scan_int(colon + 1, &port) != WD_P_OK || colon[1] == '-' || port < 1 ||
      port > 65535 || (v[0] == '[' && colon[-1] != ']')) {
    snprintf(why, n,
             "'%.80s' is not host:port (e.g. 127.0.0.1:9464 or [::1]:9464; "
             "empty = off)",
             v);
    return -1;
  }
  return 0;
}

static int chk_group(struct ctx *x, char *v, char *why, size_t n) {
  (void)x;
  int ok = strlen(v) <= 64 && v[0] != '-';
  for (const char *p = v; ok && *p; p++)
    ok = isalnum((unsigned char)*p) || strchr("_.-$", *p);
  if (!ok) {
    snprintf(why, n, "'%.80s' is not a group name", v);
    return -1;
  }
  return 0;
}

static int chk_url(struct ctx *x, char *v, char *why, size_t n) {
  (void)x;
  size_t skip = strncasecmp(v, "http://", 7) == 0    ? 7
                : strncasecmp(v, "https://", 8) == 0 ? 8
                                                     : 0;
  if (!skip) {
    snprintf(why, n, "'%.120s' must start with http:// or https://", v);
    return -1;
  }
  if (!printable_word(v)) {
    snprintf(why, n, "'%.120s' contains spaces or control characters", v);
    return -1;
  }
  if (strpbrk(v, "?#")) {
    snprintf(why, n, "'%.120s' must not have a query (?) or fragment (#)", v);
    return -1;
  }
  size_t len = strlen(v);
  while (len > skip && v[len - 1] == '/')
    v[--len] = 0;
  if (len == skip || v[skip] == '/') {
    snprintf(why, n, "'%.120s' has no host", v);
    return -1;
  }
  return 0;
}

/* The value is the variable's name, but people do paste the key itself
 * here: never echo it. */
static int chk_envname(struct ctx *x, char *v, char *why, size_t n) {
  int ok = strlen(v) <= 255 && (isalpha((unsigned char)v[0]) || v[0] == '_');
  for (const char *p = v; ok && *p; p++)
    ok = isalnum((unsigned char)*p) || *p == '_';
  if (!ok) {
    snprintf(why, n,
             "not the name of an environment variable (letters, digits, _; "
             "the key itself belongs in that variable, not here)");
    return -1;
  }
  struct side *sd = &x->es[x->cur_i];
  if (sd->kl[3]) { /* EK_KEYFILE, see ekeys[] */
    snprintf(why, n,
             "api_key_file is already set at line %d: use one or the "
             "other",
             sd->kl[3]);
    return -1;
  }
  return 0;
}

static int chk_keyfile(struct ctx *x, char *v, char *why, size_t n) {
  (void)v;
  struct side *sd = &x->es[x->cur_i];
  if (sd->kl[2]) { /* EK_KEYENV */
    snprintf(why, n,
             "api_key_env is already set at line %d: use one or the "
             "other",
             sd->kl[2]);
    return -1;
  }
  return 0;
}

static int chk_word(struct ctx *x, char *v, char *why, size_t n) {
  (void)x;
  if (!printable_word(v) || strlen(v) > 255) {
    snprintf(why, n,
             "'%.80s' must be one word of printable ASCII (at most 255)", v);
    return -1;
  }
  return 0;
}

static int chk_tz(struct ctx *x, char *v, char *why, size_t n) {
  (void)x;
  return wd_tz_check(v, why, n);
}

/* keep_alive as Ollama takes it: a duration ("10m", "90s"), a bare number
 * of seconds, or a negative number (never unload).  0 is refused: it
 * unloads the model right after the warmup that was to keep it. */
static int chk_keep_alive(struct ctx *x, char *v, char *why, size_t n) {
  long long secs;
  int64_t ns;
  if (v[0] == '-' && wd_scan_int(v, &secs) == WD_P_OK && secs < 0)
    ns = WD_KEEP_FOREVER;
  else if (wd_scan_int(v, &secs) == WD_P_OK && secs > 0 &&
           secs <= 366LL * 86400)
    ns = (int64_t)secs * WD_NS_PER_S;
  else if (wd_scan_duration(v, &ns) != WD_P_OK || ns < WD_NS_PER_S ||
           ns > 366LL * 86400 * WD_NS_PER_S) {
    snprintf(why, n,
             "'%.40s' is not a duration from 1s to 366 days (\"10m\", "
             "\"600\" seconds) nor negative (never unload)",
             v);
    return -1;
  }
  if (x->cur == SEC_ENDPOINT)
    x->c->endpoints[x->cur_i].keep_alive_ns = ns;
  else
    x->c->models[x->cur_i].keep_alive_ns = ns;
  return 0;
}

static int chk_apiversion(struct ctx *x, char *v, char *why, size_t n) {
  (void)x;
  for (const char *p = v; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("-._", *p)) {
      snprintf(why, n,
               "'%.40s' is not an api-version (e.g. 2024-10-21 or "
               "2025-01-01-preview)",
               v);
      return -1;
    }
  return 0;
}

/* header = Name: value.  The value may be a gateway's token: it is never
 * echoed in a message, and probe.c redacts it like the key. */
static int chk_header(struct ctx *x, char *v, char *why, size_t n) {
  struct wd_endpoint *e = &x->c->endpoints[x->cur_i];
  const char *colon = strchr(v, ':');
  size_t nl = colon ? (size_t)(colon - v) : 0;
  static const char *const ours[] = {
      "host",          "content-length", "content-type", "transfer-encoding",
      "authorization", "x-api-key",      "api-key",      "x-goog-api-key",
      "expect",        "connection"};
  if (!colon || nl == 0) {
    snprintf(why, n, "expected 'Name: value' (the value is not shown)");
    return -1;
  }
  /* RFC 9110 token characters only, in the name. */
  for (size_t i = 0; i < nl; i++)
    if (!isalnum((unsigned char)v[i]) && !strchr("!#$%&'*+-.^_`|~", v[i])) {
      /* not echoed: a pasted key may stand before the ':' */
      snprintf(why, n,
               "what stands before ':' is not a header name (letters, digits "
               "and !#$%%&'*+-.^_`|~; not shown)");
      return -1;
    }
  for (const char *p = colon + 1; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) {
      snprintf(why, n,
               "the value of %.*s has control characters (the value is not "
               "shown)",
               (int)(nl > 60 ? 60 : nl), v);
      return -1;
    }
  if (strlen(v) > 1000) {
    snprintf(why, n, "%.*s: longer than 1000 bytes", (int)(nl > 60 ? 60 : nl),
             v);
    return -1;
  }
  for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
    if (strlen(ours[i]) == nl && strncasecmp(ours[i], v, nl) == 0) {
      snprintf(why, n,
               "%.*s is set by warmd (the key goes in api_key_env or "
               "api_key_file)",
               (int)nl, v);
      return -1;
    }
  char **nv = realloc(e->headers, (size_t)(e->nheaders + 1) * sizeof *nv);
  if (!nv) {
    snprintf(why, n, "out of memory");
    return -1;
  }
  e->headers = nv;
  /* "Name: value" with one space, as curl sends it. */
  const char *val = colon + 1;
  while (*val == ' ' || *val == '\t')
    val++;
  if (asprintf(&e->headers[e->nheaders], "%.*s: %s", (int)nl, v, val) < 0) {
    snprintf(why, n, "out of memory");
    return -1;
  }
  e->nheaders++;
  return 0;
}

/* header_env = Name: VARIABLE, the value from the environment (as
 * api_key_env for a key): a gateway's token need not sit in the file.
 * Read here, at load, so the error names the line and --check-config,
 * start and reload give the same verdict; then checked and kept as a
 * `header =` line (redacted like one).  Neither the value nor anything
 * after the ':' that is not a variable's name is ever shown. */
static int chk_header_env(struct ctx *x, char *v, char *why, size_t n) {
  const char *colon = strchr(v, ':');
  if (!colon || colon == v) {
    snprintf(why, n, "expected 'Name: VARIABLE' (the value is not shown)");
    return -1;
  }
  size_t nl = (size_t)(colon - v);
  const char *var = colon + 1;
  while (*var == ' ' || *var == '\t')
    var++;
  int ok =
      strlen(var) <= 255 && (isalpha((unsigned char)var[0]) || var[0] == '_');
  for (const char *p = var; ok && *p; p++)
    ok = isalnum((unsigned char)*p) || *p == '_';
  if (!ok) {
    snprintf(why, n,
             "after ':' comes the name of an environment variable (letters, "
             "digits, _; the value itself belongs in that variable, not "
             "here; not shown)");
    return -1;
  }
  const char *val = getenv(var);
  size_t vl = val ? strlen(val) : 0;
  while (vl && isspace((unsigned char)val[vl - 1]))
    vl--;
  while (vl && isspace((unsigned char)*val))
    val++, vl--;
  if (!val || vl == 0) {
    snprintf(why, n, "environment variable %s is %s", var,
             val ? "empty" : "not set");
    return -1;
  }
  char *line, sub[300];
  if (asprintf(&line, "%.*s: %.*s", (int)nl, v, (int)vl, val) < 0) {
    snprintf(why, n, "out of memory");
    return -1;
  }
  int rc = chk_header(x, line, sub, sizeof sub);
  explicit_bzero(line, strlen(line));
  free(line);
  if (rc != 0)
    snprintf(why, n, "environment variable %s: %s", var, sub);
  return rc;
}

/* [fleet] redis: parsed now so a typo fails --check-config; a password in
 * the URL is refused without echoing it. */
static int chk_redis(struct ctx *x, char *v, char *why, size_t n) {
  (void)x;
  struct wd_redis_url u;
  char err[200];
  if (wd_redis_url_parse(v, &u, err, sizeof err) != 0) {
    snprintf(why, n, "%s", err);
    return -1;
  }
  return 0;
}

static int chk_fleet_pwenv(struct ctx *x, char *v, char *why, size_t n) {
  int ok = strlen(v) <= 255 && (isalpha((unsigned char)v[0]) || v[0] == '_');
  for (const char *p = v; ok && *p; p++)
    ok = isalnum((unsigned char)*p) || *p == '_';
  if (!ok) {
    snprintf(why, n,
             "not the name of an environment variable (letters, digits, _; "
             "the password itself belongs in that variable, not here)");
    return -1;
  }
  if (x->fl.kl[2]) { /* FK_PWFILE */
    snprintf(why, n,
             "password_file is already set at line %d: use one or "
             "the other",
             x->fl.kl[2]);
    return -1;
  }
  return 0;
}

static int chk_fleet_pwfile(struct ctx *x, char *v, char *why, size_t n) {
  (void)v;
  if (x->fl.kl[1]) { /* FK_PWENV */
    snprintf(why, n,
             "password_env is already set at line %d: use one or "
             "the other",
             x->fl.kl[1]);
    return -1;
  }
  return 0;
}

/* Fleet and host names go into Redis keys and hash tags. */
static int chk_fleet_word(struct ctx *x, char *v, char *why, size_t n) {
  (void)x;
  if (!printable_word(v) || strlen(v) > WD_FLEET_ID_MAX || strpbrk(v, "{}")) {
    snprintf(why, n,
             "'%.80s' must be one word of printable ASCII, at most %d, "
             "without { or }",
             v, WD_FLEET_ID_MAX);
    return -1;
  }
  return 0;
}

static int utf8_ok(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t k;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf)
      k = 1, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
      k = 2, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
      k = 3, cp = c & 0x07;
    else
      return 0;
    if (i + k >= n) /* truncated sequence */
      return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += k + 1;
  }
  return 1;
}

static int chk_prefix(struct ctx *x, char *v, char *why, size_t n) {
  struct wd_model *m = &x->c->models[x->cur_i];
  struct stat st;
  char *buf;
  size_t len;
  if (wd_read_small_file(v, WD_PREFIX_MAX, &buf, &len, &st) != 0) {
    if (errno == EFBIG)
      snprintf(why, n, "'%.120s' is larger than %d KiB", v,
               WD_PREFIX_MAX / 1024);
    else if (errno == EINVAL)
      snprintf(why, n, "'%.120s' is not a regular file", v);
    else
      snprintf(why, n, "cannot read '%.120s': %s", v, strerror(errno));
    return -1;
  }
  const char *bad = len == 0              ? "is empty"
                    : memchr(buf, 0, len) ? "contains a NUL byte"
                    : !utf8_ok((unsigned char *)buf, len) ? "is not UTF-8"
                                                          : NULL;
  if (bad) {
    free(buf);
    snprintf(why, n, "'%.120s' %s", v, bad);
    return -1;
  }
  free(m->prefix);
  m->prefix = buf;
  return 0;
}

/* ---- the keys ------------------------------------------------------------ */

enum vtype {
  V_STR,  /* char *; "" is an error unless a flag says otherwise */
  V_INT,  /* int in lo..hi */
  V_U32,  /* uint32_t in lo..hi */
  V_DUR,  /* int64_t ns in lo..hi */
  V_PCT,  /* double fraction; lo..hi in percent */
  V_USD,  /* double >= 0 */
  V_BOOL, /* int 0/1 */
  V_ENUM, /* int, one of words */
};

enum {
  F_EMPTY_NULL = 1, /* "" sets NULL (off) */
  F_EMPTY_KEEP = 2, /* "" is kept (off) */
  F_PATH = 4,       /* relative to the config file's directory */
  F_SIDE = 8,       /* stored in struct side, not the public struct */
  F_REPEAT = 16,    /* may be given more than once */
  F_TAKEN = 32,     /* the check function keeps the value (V_STR) */
};

struct word {
  const char *w;
  int v;
};

struct key {
  const char *name;
  enum vtype t;
  unsigned flags;
  size_t off;
  long long lo, hi;
  const struct word *words;
  check_fn check;
};

static const struct word w_level[] = {
    {"debug", LOG_DEBUG},   {"info", LOG_INFO},
    {"notice", LOG_NOTICE}, {"warning", LOG_WARNING},
    {"warn", LOG_WARNING},  {"err", LOG_ERR},
    {"error", LOG_ERR},     {NULL, 0}};
static const struct word w_kind[] = {
#define WD_X(e, w, caps) {#w, WD_KIND_##e},
    WD_PROVIDERS(WD_X)
#undef WD_X
        {NULL, 0}};
static const struct word w_effort[] = {{"minimal", WD_EFFORT_MINIMAL},
                                       {"low", WD_EFFORT_LOW},
                                       {"medium", WD_EFFORT_MEDIUM},
                                       {"high", WD_EFFORT_HIGH},
                                       {NULL, 0}};
static const struct word w_thinking[] = {{"off", WD_THINKING_OFF}, {NULL, 0}};
static const struct word w_probe[] = {{"chat", WD_PROBE_CHAT},
                                      {"models", WD_PROBE_MODELS},
                                      {"load", WD_PROBE_LOAD},
                                      {NULL, 0}};
static const struct word w_param[] = {
    {"max_tokens", WD_MAX_TOKENS},
    {"max_completion_tokens", WD_MAX_COMPLETION_TOKENS},
    {NULL, 0}};
static const struct word w_fleet[] = {{"auto", WD_FLEET_AUTO},
                                      {"yes", WD_FLEET_YES},
                                      {"no", WD_FLEET_NO},
                                      {NULL, 0}};
static const struct word w_budget[] = {{"host", 0}, {"fleet", 1}, {NULL, 0}};
static const struct word w_bool[] = {{"yes", 1},   {"no", 0}, {"true", 1},
                                     {"false", 0}, {"on", 1}, {"off", 0},
                                     {"1", 1},     {"0", 0},  {NULL, 0}};

#define MS WD_NS_PER_MS
#define SEC WD_NS_PER_S
/* Fully designated, so that no field is left out by accident. */
#define K_STR(name_, flags_, off_, check_)                                     \
  { .name = name_, .t = V_STR, .flags = flags_, .off = off_, .check = check_ }
#define K_NUM(name_, type_, off_, lo_, hi_)                                    \
  { .name = name_, .t = type_, .off = off_, .lo = lo_, .hi = hi_ }
#define K_WORD(name_, type_, off_, words_)                                     \
  { .name = name_, .t = type_, .off = off_, .words = words_ }

enum {
  GK_SHM,
  GK_TICK,
  GK_MAXCONC,
  GK_STALE,
  GK_BUDGET,
  GK_CAPACITY,
  GK_CONTROL,
  GK_STATE,
  GK_HTTP,
  GK_EVENTS,
  GK_GROUP,
  GK_PIDFILE,
  GK_LOGLEVEL,
  GK_CTLGROUP,
  GK__N
};
#define G(f) offsetof(struct wd_config, f)
static const struct key gkeys[GK__N] = {
    [GK_SHM] = K_STR("shm", 0, G(shm), chk_shm),
    [GK_TICK] = K_NUM("tick", V_DUR, G(tick_ns), MS, 10 * SEC),
    [GK_MAXCONC] = K_NUM("max_concurrency", V_INT, G(max_concurrency), 1, 1024),
    [GK_STALE] = K_NUM("stale_after", V_DUR, G(stale_after_ns), MS, 3600 * SEC),
    [GK_BUDGET] = K_NUM("budget_per_day", V_USD, G(budget_per_day), 0, 0),
    [GK_CAPACITY] =
        K_NUM("capacity", V_U32, G(capacity), 1, WARMTH__CAPACITY_MAX),
    [GK_CONTROL] =
        K_STR("control_socket", F_PATH, G(control_socket), chk_socket),
    [GK_STATE] =
        K_STR("state_file", F_PATH | F_EMPTY_NULL, G(state_file), NULL),
    [GK_HTTP] = K_STR("http_listen", F_EMPTY_KEEP, G(http_listen), chk_listen),
    [GK_EVENTS] = K_STR("event_log", F_PATH | F_EMPTY_NULL, G(event_log), NULL),
    [GK_GROUP] = K_STR("group", F_EMPTY_NULL, G(group), chk_group),
    [GK_PIDFILE] = K_STR("pidfile", F_PATH | F_EMPTY_NULL, G(pidfile), NULL),
    [GK_LOGLEVEL] = K_WORD("log_level", V_ENUM, G(log_level), w_level),
    [GK_CTLGROUP] =
        K_STR("control_group", F_EMPTY_NULL, G(control_group), chk_group),
};

/* chk_envname and chk_keyfile know EK_KEYENV = 2 and EK_KEYFILE = 3. */
enum {
  EK_KIND,
  EK_URL,
  EK_KEYENV,
  EK_KEYFILE,
  EK_TIMEOUT,
  EK_AVERSION,
  EK_FLEET,
  EK_APIVERSION,
  EK_HEADER,
  EK_KEEPALIVE,
  EK_MAXLOADED,
  EK_HEADERENV,
  EK__N
};
#define E(f) offsetof(struct wd_endpoint, f)
static const struct key ekeys[EK__N] = {
    [EK_KIND] = K_WORD("kind", V_ENUM, E(kind), w_kind),
    [EK_URL] = K_STR("base_url", 0, E(base_url), chk_url),
    [EK_KEYENV] = K_STR("api_key_env", 0, E(api_key_env), chk_envname),
    [EK_KEYFILE] = K_STR("api_key_file", F_PATH, E(api_key_file), chk_keyfile),
    [EK_TIMEOUT] = K_NUM("timeout", V_DUR, E(timeout_ns), MS, 3600 * SEC),
    [EK_AVERSION] =
        K_STR("anthropic_version", 0, E(anthropic_version), chk_word),
    [EK_FLEET] = K_WORD("fleet", V_ENUM, E(fleet), w_fleet),
    [EK_APIVERSION] = K_STR("api_version", 0, E(api_version), chk_apiversion),
    /* Repeatable: chk_header appends to headers and keeps the value. */
    [EK_HEADER] = K_STR("header", F_REPEAT | F_TAKEN, 0, chk_header),
    [EK_KEEPALIVE] = K_STR("keep_alive", 0, E(keep_alive), chk_keep_alive),
    [EK_MAXLOADED] = K_NUM("max_loaded", V_INT, E(max_loaded), 0, 1000),
    /* Repeatable, as header; the value read from the environment. */
    [EK_HEADERENV] = K_STR("header_env", F_REPEAT | F_TAKEN, 0, chk_header_env),
};
_Static_assert(EK_KEYENV == 2 && EK_KEYFILE == 3, "chk_envname, chk_keyfile");

enum {
  MK_ENDPOINT,
  MK_ID,
  MK_PROBE,
  MK_MAXTOK,
  MK_PARAM,
  MK_INTERVAL,
  MK_JITTER,
  MK_TTL,
  MK_TIMEOUT,
  MK_RISE,
  MK_FALL,
  MK_IDLE,
  MK_PIN,
  MK_POUT,
  MK_PCACHED,
  MK_LATENCY,
  MK_HEADROOM,
  MK_PREFIX,
  MK_REQUIRED,
  MK_EFFORT,
  MK_THINKING,
  MK_PCWRITE,
  MK_KEEPALIVE,
  MK_ACTIVE,
  MK_TZ,
  MK_WARMBEFORE,
  MK__N
};
#define M(f) offsetof(struct wd_model, f)
static const struct key mkeys[MK__N] = {
    [MK_ENDPOINT] =
        K_STR("endpoint", F_SIDE, offsetof(struct side, endpoint), NULL),
    [MK_ID] = K_STR("id", 0, M(id), chk_word),
    [MK_PROBE] = K_WORD("probe", V_ENUM, M(probe), w_probe),
    [MK_MAXTOK] = K_NUM("max_tokens", V_INT, M(max_tokens), 1, 4096),
    [MK_PARAM] =
        K_WORD("max_tokens_param", V_ENUM, M(max_tokens_param), w_param),
    [MK_INTERVAL] = K_NUM("interval", V_DUR, M(interval_ns), 1, INT64_MAX),
    [MK_JITTER] = K_NUM("jitter", V_PCT, M(jitter), 0, 50),
    [MK_TTL] = K_NUM("warm_ttl", V_DUR, M(warm_ttl_ns), 1, INT64_MAX),
    [MK_TIMEOUT] = K_NUM("timeout", V_DUR, M(timeout_ns), 0, 3600 * SEC),
    [MK_RISE] = K_NUM("rise", V_INT, M(rise), 1, 100),
    [MK_FALL] = K_NUM("fall", V_INT, M(fall), 1, 100),
    [MK_IDLE] = K_NUM("idle_after", V_DUR, M(idle_after_ns), 0, INT64_MAX),
    [MK_PIN] = K_NUM("price_in", V_USD, M(price_in), 0, 0),
    [MK_POUT] = K_NUM("price_out", V_USD, M(price_out), 0, 0),
    [MK_PCACHED] = K_NUM("price_cached", V_USD, M(price_cached), 0, 0),
    [MK_LATENCY] =
        K_NUM("latency_alert", V_DUR, M(latency_alert_ns), 0, INT64_MAX),
    [MK_HEADROOM] = K_NUM("min_headroom", V_PCT, M(min_headroom), 0, 100),
    [MK_PREFIX] =
        K_STR("probe_prefix_file", F_PATH, M(probe_prefix_file), chk_prefix),
    [MK_REQUIRED] = K_WORD("required", V_BOOL, M(required), w_bool),
    [MK_EFFORT] =
        K_WORD("reasoning_effort", V_ENUM, M(reasoning_effort), w_effort),
    [MK_THINKING] = K_WORD("thinking", V_ENUM, M(thinking), w_thinking),
    [MK_PCWRITE] =
        K_NUM("price_cache_write", V_USD, M(price_cache_write), 0, 0),
    [MK_KEEPALIVE] = K_STR("keep_alive", 0, M(keep_alive), chk_keep_alive),
    /* Repeatable: on_value parses it (add_window), the entry is for the
     * list of keys and the line of the first one. */
    [MK_ACTIVE] = K_STR("active", F_REPEAT, 0, NULL),
    [MK_TZ] = K_STR("timezone", 0, M(timezone), chk_tz),
    [MK_WARMBEFORE] =
        K_NUM("warm_before", V_DUR, M(warm_before_ns), 0, 86400 * SEC),
};
/* chk_fleet_pwenv and chk_fleet_pwfile know FK_PWENV = 1, FK_PWFILE = 2. */
enum {
  FK_REDIS,
  FK_PWENV,
  FK_PWFILE,
  FK_NAME,
  FK_HOST,
  FK_TIMEOUT,
  FK_BUDGET,
  FK__N
};
static int chk_redis(struct ctx *x, char *v, char *why, size_t n);
static int chk_fleet_pwenv(struct ctx *x, char *v, char *why, size_t n);
static int chk_fleet_pwfile(struct ctx *x, char *v, char *why, size_t n);
static int chk_fleet_word(struct ctx *x, char *v, char *why, size_t n);
static const struct key fkeys[FK__N] = {
    [FK_REDIS] = K_STR("redis", 0, G(fleet_redis), chk_redis),
    [FK_PWENV] =
        K_STR("password_env", 0, G(fleet_password_env), chk_fleet_pwenv),
    [FK_PWFILE] = K_STR("password_file", F_PATH, G(fleet_password_file),
                        chk_fleet_pwfile),
    [FK_NAME] = K_STR("name", 0, G(fleet_name), chk_fleet_word),
    [FK_HOST] = K_STR("host_id", 0, G(fleet_host_id), chk_fleet_word),
    [FK_TIMEOUT] =
        K_NUM("timeout", V_DUR, G(fleet_timeout_ns), 10 * MS, 10 * SEC),
    [FK_BUDGET] = K_WORD("budget", V_ENUM, G(fleet_budget), w_budget),
};
_Static_assert(FK_PWENV == 1 && FK_PWFILE == 2, "chk_fleet_pw*");

_Static_assert(GK__N <= KEYS_MAX && EK__N <= KEYS_MAX && MK__N <= KEYS_MAX &&
                   FK__N <= KEYS_MAX,
               "struct side holds the line of every key");

static const struct {
  const struct key *keys;
  int n;
} tables[] = {[SEC_WARMD] = {gkeys, GK__N},
              [SEC_ENDPOINT] = {ekeys, EK__N},
              [SEC_MODEL] = {mkeys, MK__N},
              [SEC_FLEET] = {fkeys, FK__N}};

const char *wd_config_key(const char *section, int i) {
  static const char *const names[] = {[SEC_WARMD] = "warmd",
                                      [SEC_ENDPOINT] = "endpoint",
                                      [SEC_MODEL] = "model",
                                      [SEC_FLEET] = "fleet"};
  for (int s = SEC_WARMD; s <= SEC_FLEET; s++)
    if (strcmp(section, names[s]) == 0)
      return i >= 0 && i < tables[s].n ? tables[s].keys[i].name : NULL;
  return NULL;
}

static int find_key(enum sec s, const char *name) {
  for (int i = 0; i < tables[s].n; i++)
    if (strcmp(tables[s].keys[i].name, name) == 0)
      return i;
  return -1;
}

static void unknown_key(struct ctx *x, const char *name) {
  static const char *where[] = {"", "[warmd]", "[endpoint NAME]",
                                "[model NAME]", "[fleet]"};
  char list[96] = "";
  for (int s = SEC_WARMD; s <= SEC_FLEET; s++)
    if (s != (int)x->cur && find_key(s, name) >= 0)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
               *list ? " or " : "", where[s]);
  if (*list) {
    kerr(x, name, "unknown key here (it belongs in %s)", list);
    return;
  }
  for (int i = 0; i < tables[x->cur].n; i++)
    if (near(name, tables[x->cur].keys[i].name)) {
      kerr(x, name, "unknown key (did you mean '%s'?)",
           tables[x->cur].keys[i].name);
      return;
    }
  kerr(x, name, "unknown key (see warmd.conf(5))");
}

/* dir + "/" + v unless v is absolute. */
static char *abspath(const char *dir, const char *v) {
  char *s;
  if (v[0] == '/' || !dir)
    return strdup(v);
  if (asprintf(&s, "%s/%s", strcmp(dir, "/") ? dir : "", v) < 0)
    return NULL;
  return s;
}

static void set_value(struct ctx *x, const struct key *k, void *base, char *v) {
  char why[400];
  void *p = (char *)base + k->off;
  switch (k->t) {
  case V_STR: {
    char **sp = p;
    if (!*v && (k->flags & F_EMPTY_NULL)) {
      free(*sp);
      *sp = NULL;
      return;
    }
    if (!*v && !(k->flags & F_EMPTY_KEEP)) {
      kerr(x, k->name, "empty value");
      return;
    }
    char *s = (k->flags & F_PATH) && *v ? abspath(x->dir, v) : strdup(v);
    if (!s) {
      oom(x);
      return;
    }
    if (k->check && k->check(x, s, why, sizeof why) != 0) {
      free(s);
      kerr(x, k->name, "%s", why);
      return;
    }
    if (k->flags & F_TAKEN) {
      free(s); /* the check stored its own copy */
      return;
    }
    free(*sp);
    *sp = s;
    return;
  }
  case V_INT:
  case V_U32: {
    long long n = 0;
    int rc = wd_scan_int(v, &n);
    if (rc == WD_P_BAD)
      kerr(x, k->name, "'%.40s' is not a whole number", v);
    else if (rc == WD_P_RANGE || n < k->lo || n > k->hi)
      kerr(x, k->name, "%.40s is out of range (%lld..%lld)", v, k->lo, k->hi);
    else if (k->t == V_INT)
      *(int *)p = (int)n;
    else
      *(uint32_t *)p = (uint32_t)n;
    return;
  }
  case V_DUR: {
    int64_t ns = 0;
    char b1[32];
    int rc = wd_scan_duration(v, &ns);
    if (rc == WD_P_NOUNIT)
      kerr(x, k->name, "'%.40s' is missing a unit (use ms, s, m, h)", v);
    else if (rc == WD_P_RANGE)
      kerr(x, k->name, "'%.40s' is too large", v);
    else if (rc != WD_P_OK)
      kerr(x, k->name, "'%.40s' is not a duration (use ms, s, m, h)", v);
    else if (ns < k->lo && k->lo == 1)
      kerr(x, k->name, "must be more than 0");
    else if (ns < k->lo)
      kerr(x, k->name, "'%.40s' is less than %s", v,
           wd_fmt_duration(k->lo, b1, sizeof b1));
    else if (ns > k->hi)
      kerr(x, k->name, "'%.40s' is more than %s", v,
           wd_fmt_duration(k->hi, b1, sizeof b1));
    else
      *(int64_t *)p = ns;
    return;
  }
  case V_PCT: {
    double f = 0;
    int rc = wd_scan_percent(v, &f);
    if (rc == WD_P_NOUNIT)
      kerr(x, k->name, "'%.40s' is missing '%%' (e.g. %s%%)", v, v);
    else if (rc != WD_P_OK)
      kerr(x, k->name, "'%.40s' is not a percentage (e.g. 10%%)", v);
    else if (f * 100 < (double)k->lo || f * 100 > (double)k->hi)
      kerr(x, k->name, "%.40s is out of range (%lld%%..%lld%%)", v, k->lo,
           k->hi);
    else
      *(double *)p = f;
    return;
  }
  case V_USD: {
    double d = 0;
    int rc = wd_scan_usd(v, &d);
    if (v[0] == '-')
      kerr(x, k->name, "%.40s is negative", v);
    else if (rc != WD_P_OK)
      kerr(x, k->name, "'%.40s' is not an amount of USD (e.g. 0.50)", v);
    else
      *(double *)p = d;
    return;
  }
  case V_BOOL:
  case V_ENUM: {
    char list[160] = "";
    for (const struct word *w = k->words; w->w; w++)
      if (strcmp(w->w, v) == 0) {
        *(int *)p = w->v;
        return;
      }
    for (const struct word *w = k->words; w->w; w++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
               w == k->words ? "" : ", ", w->w);
    kerr(x, k->name, "'%.40s' is not one of: %s", v, list);
    return;
  }
  }
}

/* ---- sections ------------------------------------------------------------ */

static int grow(void **arr, size_t elem, void **side, int *cap, int n) {
  if (n < *cap)
    return 0;
  int nc = *cap ? *cap * 2 : 8;
  void *a = realloc(*arr, (size_t)nc * elem);
  if (!a)
    return -1;
  *arr = a;
  void *s = realloc(*side, (size_t)nc * sizeof(struct side));
  if (!s)
    return -1;
  *side = s;
  *cap = nc;
  return 0;
}

/* new_endpoint and new_model take `name` over, also when they fail. */
static int new_endpoint(struct ctx *x, char *name) {
  struct wd_config *c = x->c;
  if (grow((void **)&c->endpoints, sizeof *c->endpoints, (void **)&x->es,
           &x->ecap, c->nendpoints) != 0) {
    free(name);
    return -1;
  }
  struct wd_endpoint *e = &c->endpoints[c->nendpoints];
  memset(e, 0, sizeof *e);
  memset(&x->es[c->nendpoints], 0, sizeof x->es[0]);
  e->name = name;
  e->line = x->es[c->nendpoints].line = x->line;
  x->cur_i = c->nendpoints++;
  e->kind = WD_KIND_OPENAI;
  e->timeout_ns = WD_DEFAULT_TIMEOUT_NS;
  e->anthropic_version = strdup(WD_DEFAULT_ANTHROPIC_VERSION);
  return e->anthropic_version ? 0 : -1;
}

static int new_model(struct ctx *x, char *name) {
  struct wd_config *c = x->c;
  if (grow((void **)&c->models, sizeof *c->models, (void **)&x->ms, &x->mcap,
           c->nmodels) != 0) {
    free(name);
    return -1;
  }
  struct wd_model *m = &c->models[c->nmodels];
  memset(m, 0, sizeof *m);
  memset(&x->ms[c->nmodels], 0, sizeof x->ms[0]);
  m->name = name;
  m->line = x->ms[c->nmodels].line = x->line;
  x->cur_i = c->nmodels++;
  m->endpoint = -1;
  m->probe = WD_PROBE_CHAT;
  m->max_tokens = WD_DEFAULT_MAX_TOKENS;
  m->max_tokens_param = WD_MAX_TOKENS;
  m->interval_ns = WD_DEFAULT_INTERVAL_NS;
  m->jitter = WD_DEFAULT_JITTER;
  m->warm_ttl_ns = WD_DEFAULT_WARM_TTL_NS;
  m->rise = WD_DEFAULT_RISE;
  m->fall = WD_DEFAULT_FALL;
  return 0;
}

/* s: a line starting with '[', comments and outer blanks gone. */
static int section(struct ctx *x, const char *s) {
  const char *end = strchr(s, ']'), *t = s + 1, *nm;
  size_t tlen, nlen;
  if (!end) {
    err_at(x, x->line, SEC_NONE, 0, NULL, "'%.80s': missing ']'", s);
    return -1;
  }
  if (end[1]) {
    err_at(x, x->line, SEC_NONE, 0, NULL, "unexpected text after ']'");
    return -1;
  }
  while (t < end && isblank((unsigned char)*t))
    t++;
  for (nm = t; nm < end && !isblank((unsigned char)*nm);)
    nm++;
  tlen = (size_t)(nm - t);
  while (nm < end && isblank((unsigned char)*nm))
    nm++;
  nlen = (size_t)(end - nm);
  while (nlen && isblank((unsigned char)nm[nlen - 1]))
    nlen--;
  char type[16] = "";
  if (tlen < sizeof type)
    memcpy(type, t, tlen);

  if (strcmp(type, "warmd") == 0) {
    if (nlen) {
      err_at(x, x->line, SEC_NONE, 0, NULL, "[warmd] takes no name");
      return -1;
    }
    if (x->w.line) {
      err_at(x, x->line, SEC_WARMD, 0, NULL,
             "a second [warmd] section (the first is at line %d)", x->w.line);
      return -1;
    }
    x->w.line = x->line;
    x->cur = SEC_WARMD;
    return 0;
  }
  if (strcmp(type, "fleet") == 0) {
    if (nlen) {
      err_at(x, x->line, SEC_NONE, 0, NULL,
             "[fleet] takes no name (the fleet's name is its key name)");
      return -1;
    }
    if (x->fl.line) {
      err_at(x, x->line, SEC_FLEET, 0, NULL,
             "a second [fleet] section (the first is at line %d)", x->fl.line);
      return -1;
    }
    x->fl.line = x->c->fleet_line = x->line;
    x->cur = SEC_FLEET;
    return 0;
  }
  if (strcmp(type, "endpoint") != 0 && strcmp(type, "model") != 0) {
    const char *hint = near(type, "model") ? " (did you mean [model NAME]?)"
                       : near(type, "endpoint")
                           ? " (did you mean [endpoint NAME]?)"
                       : near(type, "warmd") ? " (did you mean [warmd]?)"
                                             : "";
    err_at(x, x->line, SEC_NONE, 0, NULL,
           "%.80s: unknown section%s; sections are [warmd], [endpoint NAME], "
           "[model NAME] and [fleet]",
           s, hint);
    return -1;
  }
  int model = type[0] == 'm';
  size_t len;
  char *name = strndup(nm, nlen);
  if (!name) {
    oom(x);
    return -1;
  }
  if (!nlen)
    err_at(x, x->line, SEC_NONE, 0, NULL, "[%s]: a name is needed: [%s NAME]",
           type, type);
  else if (!warmth__name_ok(name, &len))
    err_at(x, x->line, SEC_NONE, 0, NULL,
           "[%s %.80s]: not a valid name (1..%d printable ASCII characters, "
           "no spaces)",
           type, name, WARMTH_NAME_MAX);
  if (x->failed) {
    free(name);
    return -1;
  }
  if ((model ? new_model(x, name) : new_endpoint(x, name)) != 0) {
    oom(x);
    return -1;
  }
  x->cur = model ? SEC_MODEL : SEC_ENDPOINT;
  return 0;
}

/* ---- inih glue ----------------------------------------------------------- */

/* inih's fgets-style reader: one physical line per call (see the top). */
static char *read_line(char *str, int num, void *stream) {
  struct ctx *x = stream;
  if (x->failed)
    return NULL;
  ssize_t n = getline(&x->lbuf, &x->lcap, x->f);
  if (n < 0)
    return NULL;
  x->line++;
  char *s = x->lbuf;
  if (memchr(s, 0, (size_t)n)) {
    err_at(x, x->line, SEC_NONE, 0, NULL, "NUL byte in the line");
    return NULL;
  }
  if (x->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
    s += 3; /* UTF-8 byte order mark */
  while (isspace((unsigned char)*s))
    s++;
  /* A comment starts a line, or follows a blank. */
  for (char *p = s; *p; p++)
    if ((*p == ';' || *p == '#') && (p == s || isblank((unsigned char)p[-1]))) {
      *p = 0;
      break;
    }
  size_t len = strlen(s);
  while (len && isspace((unsigned char)s[len - 1]))
    s[--len] = 0;
  /* Room for the line, '\n' and NUL: a longer one inih would split. */
  if (num < 3 || len > (size_t)num - 2) {
    err_at(x, x->line, SEC_NONE, 0, NULL,
           "line too long (at most %d characters, comments aside)", num - 2);
    return NULL;
  }
  if (s[0] == '[') {
    if (section(x, s) != 0)
      return NULL;
  } else if (s[0] && !strpbrk(s, "=:")) {
    /* Not echoed: a stray line may well be a pasted API key. */
    err_at(x, x->line, SEC_NONE, 0, NULL,
           "expected 'key = value' or '[section]'");
    return NULL;
  }
  memcpy(str, s, len);
  str[len] = '\n';
  str[len + 1] = 0;
  return str;
}

/* One `active` line (repeatable): appended to the model's windows. */
static void add_window(struct ctx *x, struct wd_model *m, const char *value) {
  struct wd_window w;
  char why[200];
  if (wd_window_parse(value, &w, why, sizeof why)) {
    kerr(x, "active", "%s", why);
    return;
  }
  if (m->nwindows >= 64) {
    kerr(x, "active", "at most 64 windows per model");
    return;
  }
  struct wd_window *v =
      realloc(m->windows, (size_t)(m->nwindows + 1) * sizeof *v);
  if (!v) {
    oom(x);
    return;
  }
  v[m->nwindows++] = w;
  m->windows = v;
}

static int on_value(void *user, const char *section_name, const char *name,
                    const char *value) {
  struct ctx *x = user;
  struct side *sd;
  void *base;
  (void)section_name; /* ours is x->cur: inih's is cut at 50 bytes */
  if (x->failed)
    return 1;
  switch (x->cur) {
  case SEC_WARMD:
    sd = &x->w, base = x->c;
    break;
  case SEC_ENDPOINT:
    sd = &x->es[x->cur_i], base = &x->c->endpoints[x->cur_i];
    break;
  case SEC_MODEL:
    sd = &x->ms[x->cur_i], base = &x->c->models[x->cur_i];
    break;
  case SEC_FLEET:
    sd = &x->fl, base = x->c;
    break;
  default:
    err_at(x, x->line, SEC_NONE, 0, name,
           "outside any section (global settings go under [warmd])");
    return 1;
  }
  if (!*name) {
    kerr(x, NULL, "a value without a key");
    return 1;
  }
  int k = find_key(x->cur, name);
  if (k < 0) {
    unknown_key(x, name);
    return 1;
  }
  if (x->cur == SEC_MODEL && k == MK_ACTIVE) {
    if (!sd->kl[k])
      sd->kl[k] = x->line;
    add_window(x, base, value);
    return 1;
  }
  if (sd->kl[k] && !(tables[x->cur].keys[k].flags & F_REPEAT)) {
    kerr(x, name, "set twice (first at line %d)", sd->kl[k]);
    return 1;
  }
  sd->kl[k] = x->line;
  char *v = strdup(value);
  if (!v) {
    oom(x);
    return 1;
  }
  size_t vl = strlen(v);
  if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') { /* "quoted" */
    memmove(v, v + 1, vl - 2);
    v[vl - 2] = 0;
  }
  const struct key *kd = &tables[x->cur].keys[k];
  set_value(x, kd, (kd->flags & F_SIDE) ? (void *)sd : base, v);
  free(v);
  return 1;
}

/* ---- whole-file checks --------------------------------------------------- */

struct ent {
  const char *name;
  int line, i;
};

static int ent_cmp(const void *a, const void *b) {
  const struct ent *x = a, *y = b;
  int r = strcmp(x->name, y->name);
  return r ? r : (x->line > y->line) - (x->line < y->line);
}

/* Sorted names (for duplicates and look-ups), or NULL when out of memory. */
static struct ent *sorted(struct ctx *x, int n, int model) {
  struct ent *e = malloc((size_t)(n ? n : 1) * sizeof *e);
  if (!e)
    return NULL;
  for (int i = 0; i < n; i++) {
    e[i].name = model ? x->c->models[i].name : x->c->endpoints[i].name;
    e[i].line = model ? x->c->models[i].line : x->c->endpoints[i].line;
    e[i].i = i;
  }
  qsort(e, (size_t)n, sizeof *e, ent_cmp);
  for (int i = 1; i < n; i++)
    if (strcmp(e[i].name, e[i - 1].name) == 0) {
      err_at(x, e[i].line, model ? SEC_MODEL : SEC_ENDPOINT, e[i].i, NULL,
             "defined twice (first at line %d)", e[i - 1].line);
      break;
    }
  return e;
}

static void resolve_endpoint(struct ctx *x, int i, const struct ent *eps) {
  struct wd_config *c = x->c;
  struct wd_model *m = &c->models[i];
  struct side *sd = &x->ms[i];
  if (!sd->endpoint) {
    if (c->nendpoints == 1)
      m->endpoint = 0;
    else if (c->nendpoints == 0)
      err_at(x, m->line, SEC_MODEL, i, "endpoint",
             "no [endpoint NAME] section in the file");
    else
      err_at(x, m->line, SEC_MODEL, i, "endpoint",
             "missing (needed when there are several endpoints)");
    return;
  }
  struct ent key = {.name = sd->endpoint}, *hit = NULL;
  for (size_t lo = 0, hi = (size_t)c->nendpoints; lo < hi && !hit;) {
    size_t mid = (lo + hi) / 2;
    int r = strcmp(key.name, eps[mid].name);
    if (r == 0)
      hit = (struct ent *)&eps[mid];
    else if (r < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  if (hit) {
    m->endpoint = hit->i;
    return;
  }
  for (int j = 0; j < c->nendpoints; j++)
    if (near(sd->endpoint, c->endpoints[j].name)) {
      err_at(x, sd->kl[MK_ENDPOINT], SEC_MODEL, i, "endpoint",
             "no [endpoint %.80s] in the file (did you mean '%s'?)",
             sd->endpoint, c->endpoints[j].name);
      return;
    }
  err_at(x, sd->kl[MK_ENDPOINT], SEC_MODEL, i, "endpoint",
         "no [endpoint %.80s] in the file", sd->endpoint);
}

/* kind = ollama: probe defaults to load, keep_alive comes from the model,
 * else the endpoint, else max(5m, 2 x interval), and must outlast the
 * interval (else the model unloads between two warmups).  Other kinds
 * take neither load nor keep_alive. */
static void finish_ollama(struct ctx *x, int i) {
  struct wd_model *m = &x->c->models[i];
  struct side *sd = &x->ms[i];
  const struct wd_endpoint *ep = &x->c->endpoints[m->endpoint];
  char b1[32], b2[32];
  if (ep->kind != WD_KIND_OLLAMA) {
    if (m->probe == WD_PROBE_LOAD)
      err_at(x, sd->kl[MK_PROBE], SEC_MODEL, i, "probe",
             "load needs an endpoint with kind = ollama");
    else if (m->keep_alive)
      err_at(x, sd->kl[MK_KEEPALIVE], SEC_MODEL, i, "keep_alive",
             "only used with kind = ollama");
    return;
  }
  if (!sd->kl[MK_PROBE] && !m->probe_prefix_file)
    m->probe = WD_PROBE_LOAD;
  if (!m->keep_alive && ep->keep_alive) {
    m->keep_alive_ns = ep->keep_alive_ns;
    if (!(m->keep_alive = strdup(ep->keep_alive)))
      oom(x);
  } else if (!m->keep_alive) {
    int64_t ns = 2 * m->interval_ns;
    if (ns < 300 * SEC)
      ns = 300 * SEC;
    m->keep_alive_ns = ns;
    if (asprintf(&m->keep_alive, "%llds", (long long)((ns + SEC - 1) / SEC)) <
        0) {
      m->keep_alive = NULL;
      oom(x);
    }
  }
  if (!x->failed && m->keep_alive_ns != WD_KEEP_FOREVER &&
      m->keep_alive_ns <= m->interval_ns)
    err_at(x, sd->kl[MK_KEEPALIVE] ? sd->kl[MK_KEEPALIVE] : m->line, SEC_MODEL,
           i, "keep_alive",
           "%s is not longer than interval (%s): the model would unload "
           "between warmups",
           wd_fmt_duration(m->keep_alive_ns, b1, sizeof b1),
           wd_fmt_duration(m->interval_ns, b2, sizeof b2));
}

static void finish(struct ctx *x) {
  struct wd_config *c = x->c;
  char b1[32], b2[32];
  if (c->nmodels == 0) {
    err_at(x, 0, SEC_NONE, 0, NULL, "no [model NAME] section: nothing to do");
    return;
  }
  if ((size_t)c->nmodels > WARMTH__CAPACITY_MAX) {
    err_at(x, 0, SEC_NONE, 0, NULL, "%d models: at most %u", c->nmodels,
           WARMTH__CAPACITY_MAX);
    return;
  }
  for (int i = 0; i < c->nendpoints && !x->failed; i++) {
    const struct wd_endpoint *e = &c->endpoints[i];
    if (!e->base_url)
      err_at(x, e->line, SEC_ENDPOINT, i, "base_url",
             "missing (e.g. base_url = https://api.openai.com/v1)");
    else if (e->kind == WD_KIND_AZURE && !e->api_version)
      err_at(x, e->line, SEC_ENDPOINT, i, "api_version",
             "missing: kind = azure needs it (e.g. api_version = 2024-10-21)");
    else if (e->kind != WD_KIND_AZURE && e->api_version)
      err_at(x, x->es[i].kl[EK_APIVERSION], SEC_ENDPOINT, i, "api_version",
             "only kind = azure takes it");
    else {
      int k = x->es[i].kl[EK_KEEPALIVE] ? EK_KEEPALIVE : EK_MAXLOADED;
      if (e->kind != WD_KIND_OLLAMA && x->es[i].kl[k])
        err_at(x, x->es[i].kl[k], SEC_ENDPOINT, i, ekeys[k].name,
               "only used with kind = ollama");
    }
  }
  struct ent *eps = sorted(x, c->nendpoints, 0);
  struct ent *mods = eps ? sorted(x, c->nmodels, 1) : NULL;
  if (!mods)
    oom(x);
  for (int i = 0; i < c->nmodels && !x->failed; i++) {
    struct wd_model *m = &c->models[i];
    struct side *sd = &x->ms[i];
    resolve_endpoint(x, i, eps);
    if (x->failed)
      break;
    if (!m->id && !(m->id = strdup(m->name)))
      oom(x);
    if (!sd->kl[MK_PCACHED])
      m->price_cached = m->price_in;
    if (!sd->kl[MK_PCWRITE])
      m->price_cache_write = m->price_in * WD_CACHE_WRITE_FACTOR;
    const struct wd_endpoint *ep = &c->endpoints[m->endpoint];
    unsigned caps = wd_kind_caps(ep->kind);
    if (m->interval_ns < c->tick_ns)
      err_at(x, sd->kl[MK_INTERVAL] ? sd->kl[MK_INTERVAL] : m->line, SEC_MODEL,
             i, "interval", "%s is shorter than tick (%s)",
             wd_fmt_duration(m->interval_ns, b1, sizeof b1),
             wd_fmt_duration(c->tick_ns, b2, sizeof b2));
    else if (m->max_tokens_param == WD_MAX_COMPLETION_TOKENS &&
             !(caps & WD_CAP_COMPLETION))
      err_at(x, sd->kl[MK_PARAM], SEC_MODEL, i, "max_tokens_param",
             "the %s API only takes max_tokens", wd_kind_name(ep->kind));
    else if (!(caps & (1u << m->probe)))
      err_at(x, sd->kl[MK_PROBE] ? sd->kl[MK_PROBE] : m->line, SEC_MODEL, i,
             "probe", "endpoint %s (kind = %s) has no such probe", ep->name,
             wd_kind_name(ep->kind));
    else if (m->reasoning_effort && !(caps & WD_CAP_EFFORT))
      err_at(x, sd->kl[MK_EFFORT], SEC_MODEL, i, "reasoning_effort",
             "kind = %s takes no reasoning_effort%s", wd_kind_name(ep->kind),
             (caps & WD_CAP_THINKING) ? " (it has thinking = off)" : "");
    else if (m->thinking && !(caps & WD_CAP_THINKING))
      err_at(x, sd->kl[MK_THINKING], SEC_MODEL, i, "thinking",
             "kind = %s takes no thinking setting%s", wd_kind_name(ep->kind),
             (caps & WD_CAP_EFFORT) ? " (use reasoning_effort = minimal)" : "");
    else if (m->probe_prefix_file && m->probe != WD_PROBE_CHAT)
      err_at(x, sd->kl[MK_PREFIX], SEC_MODEL, i, "probe_prefix_file",
             "only used by probe = chat");
    else if ((m->timezone || sd->kl[MK_WARMBEFORE]) && !m->nwindows)
      err_at(x, sd->kl[MK_TZ] ? sd->kl[MK_TZ] : sd->kl[MK_WARMBEFORE],
             SEC_MODEL, i, m->timezone ? "timezone" : "warm_before",
             "only used with active (warm windows)");
    else
      finish_ollama(x, i);
  }
  free(eps);
  free(mods);
  if (x->failed)
    return;
  /* Readers call the coordinator stale past stale_after; it stores the
   * heartbeat once a tick, so less than two ticks would flap. */
  if (c->stale_after_ns < 2 * c->tick_ns) {
    int sl = x->w.kl[GK_STALE];
    err_at(x, sl ? sl : x->w.kl[GK_TICK], SEC_WARMD, 0,
           sl ? "stale_after" : "tick",
           "stale_after (%s) must be at least "
           "two ticks (%s)",
           wd_fmt_duration(c->stale_after_ns, b1, sizeof b1),
           wd_fmt_duration(2 * c->tick_ns, b2, sizeof b2));
    return;
  }
  if (x->fl.line) {
    if (!c->fleet_redis) {
      err_at(x, x->fl.line, SEC_FLEET, 0, "redis",
             "missing (e.g. redis = redis://127.0.0.1:6379/0)");
      return;
    }
    if (!c->fleet_name && !(c->fleet_name = strdup("default"))) {
      oom(x);
      return;
    }
    if (!c->fleet_host_id) {
      char h[256] = "";
      if (gethostname(h, sizeof h - 1) != 0 || !h[0])
        snprintf(h, sizeof h, "pid%d", (int)getpid());
      h[WD_FLEET_ID_MAX] = 0;
      for (char *p = h; *p; p++)
        if (!isgraph((unsigned char)*p) || *p == '{' || *p == '}')
          *p = '_';
      if (!(c->fleet_host_id = strdup(h))) {
        oom(x);
        return;
      }
    }
    if (!c->fleet_timeout_ns)
      c->fleet_timeout_ns = 200 * MS;
  }
  if (x->w.kl[GK_CAPACITY]) {
    if (c->capacity < (uint32_t)c->nmodels)
      err_at(x, x->w.kl[GK_CAPACITY], SEC_WARMD, 0, "capacity",
             "%u is less than the number of models (%d)", c->capacity,
             c->nmodels);
  } else {
    uint64_t cap = 2 * (uint64_t)c->nmodels;
    if (cap < 64)
      cap = 64;
    if (cap > WARMTH__CAPACITY_MAX)
      cap = WARMTH__CAPACITY_MAX;
    c->capacity = (uint32_t)cap;
  }
}

/* ---- public -------------------------------------------------------------- */

void wd_config_free(struct wd_config *c) {
  if (!c)
    return;
  for (int i = 0; i < c->nendpoints; i++) {
    struct wd_endpoint *e = &c->endpoints[i];
    free(e->name);
    free(e->base_url);
    free(e->api_key_env);
    free(e->api_key_file);
    free(e->anthropic_version);
    free(e->api_version);
    for (int k = 0; k < e->nheaders; k++) {
      /* a header value may be a token: wiped like a key */
      memset(e->headers[k], 0, strlen(e->headers[k]));
      free(e->headers[k]);
    }
    free(e->headers);
    free(e->keep_alive);
  }
  for (int i = 0; i < c->nmodels; i++) {
    struct wd_model *m = &c->models[i];
    free(m->name);
    free(m->id);
    free(m->probe_prefix_file);
    free(m->prefix);
    free(m->windows);
    free(m->timezone);
    free(m->keep_alive);
  }
  free(c->endpoints);
  free(c->models);
  free(c->path);
  free(c->shm);
  free(c->control_socket);
  free(c->state_file);
  free(c->http_listen);
  free(c->event_log);
  free(c->group);
  free(c->control_group);
  free(c->pidfile);
  free(c->fleet_redis);
  free(c->fleet_password_env);
  free(c->fleet_password_file);
  free(c->fleet_name);
  free(c->fleet_host_id);
  free(c);
}

static struct wd_config *defaults(const char *path) {
  struct wd_config *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->path = strdup(path);
  c->shm = strdup(WD_DEFAULT_SHM);
  c->tick_ns = WD_DEFAULT_TICK_NS;
  c->max_concurrency = WD_DEFAULT_MAX_CONCURRENCY;
  c->stale_after_ns = WD_DEFAULT_STALE_AFTER_NS;
  c->control_socket = strdup(WD_DEFAULT_SOCKET);
  c->http_listen = strdup(WD_DEFAULT_HTTP_LISTEN);
  c->log_level = LOG_INFO;
  if (!c->path || !c->shm || !c->control_socket || !c->http_listen) {
    wd_config_free(c);
    return NULL;
  }
  return c;
}

/* The absolute directory of the config file. */
static char *config_dir(const char *path) {
  char *copy = strdup(path), *real;
  if (!copy)
    return NULL;
  real = realpath(dirname(copy), NULL);
  free(copy);
  return real;
}

/* Parses the open stream f (closed here) named path. */
static int load_stream(const char *path, FILE *f, struct wd_config **out,
                       char *err, size_t errlen) {
  struct ctx x = {.path = path, .err = err, .errlen = errlen, .f = f};
  x.dir = config_dir(path);
  x.c = defaults(path);
  if (!x.dir || !x.c) {
    oom(&x);
  } else {
    int rc = ini_parse_stream(read_line, &x, on_value, &x);
    if (!x.failed && ferror(x.f))
      err_at(&x, 0, SEC_NONE, 0, NULL, "cannot read: %s", strerror(errno));
    else if (!x.failed && rc == -2)
      oom(&x);
    else if (!x.failed && rc != 0) /* our reader keeps inih's count right */
      err_at(&x, rc, SEC_NONE, 0, NULL, "syntax error");
    if (!x.failed)
      finish(&x);
  }
  fclose(x.f);
  free(x.lbuf);
  free(x.dir);
  for (int i = 0; x.c && i < x.c->nmodels; i++)
    free(x.ms[i].endpoint);
  free(x.es);
  free(x.ms);
  if (x.failed) {
    wd_config_free(x.c);
    return -1;
  }
  *out = x.c;
  return 0;
}

int wd_config_load(const char *path, struct wd_config **out, char *err,
                   size_t errlen) {
  if (err && errlen)
    err[0] = 0;
  if (!out || !path) {
    if (err && errlen)
      snprintf(err, errlen, "wd_config_load: no path");
    return -1;
  }
  *out = NULL;
  FILE *f = fopen(path, "re");
  if (!f) {
    if (err && errlen)
      snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  return load_stream(path, f, out, err, errlen);
}

int wd_config_parse(const char *name, const char *buf, size_t len,
                    struct wd_config **out, char *err, size_t errlen) {
  if (err && errlen)
    err[0] = 0;
  if (!out || !name || (!buf && len)) {
    if (err && errlen)
      snprintf(err, errlen, "wd_config_parse: no name or buffer");
    return -1;
  }
  *out = NULL;
  /* fmemopen refuses a size of 0 on some libcs; an empty line reads the
   * same as an empty file. */
  FILE *f = len ? fmemopen((void *)buf, len, "r") : fmemopen("\n", 1, "r");
  if (!f) {
    if (err && errlen)
      snprintf(err, errlen, "%s: %s", name, strerror(errno));
    return -1;
  }
  return load_stream(name, f, out, err, errlen);
}
