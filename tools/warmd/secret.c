/* secret.c - API keys: read from the environment or a key file, checked
 * to be one word of printable ASCII (they go into an HTTP header), wiped
 * when freed; and placeholders left over from an example.  See secret.h.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleetproto.h"
#include "secret.h"
#include "util.h"

int wd_read_small_file(const char *path, size_t max, char **out, size_t *len,
                       struct stat *st) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return -1;
  if (fstat(fd, st) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  if (!S_ISREG(st->st_mode)) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  char *buf = malloc(max + 2);
  size_t n = 0;
  if (!buf) {
    close(fd);
    errno = ENOMEM;
    return -1;
  }
  for (;;) {
    ssize_t r = read(fd, buf + n, max + 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      explicit_bzero(buf, n);
      free(buf);
      close(fd);
      errno = e;
      return -1;
    }
    if (r == 0)
      break;
    n += (size_t)r;
    if (n > max) {
      explicit_bzero(buf, n);
      free(buf);
      close(fd);
      errno = EFBIG;
      return -1;
    }
  }
  close(fd);
  buf[n] = 0;
  *out = buf;
  *len = n;
  return 0;
}

/* Trims outer white space; the key must then be one word of printable
 * ASCII, since it goes into an HTTP header (a newline inside would let a
 * key file inject headers). */
static char *clean_key(const char *s, size_t n, const char *ep,
                       const char *what, const char *where, char *err,
                       size_t errlen) {
  while (n && isspace((unsigned char)*s))
    s++, n--;
  while (n && isspace((unsigned char)s[n - 1]))
    n--;
  if (n == 0) {
    wd_errf(err, errlen, "endpoint %s: %s %s is empty", ep, what, where);
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
      wd_errf(
          err, errlen,
          "endpoint %s: the key in %s %s is not one word of printable ASCII",
          ep, what, where);
      return NULL;
    }
  char *k = strndup(s, n);
  if (!k)
    wd_errf(err, errlen, "endpoint %s: out of memory", ep);
  return k;
}

char *wd_endpoint_key(const struct wd_endpoint *ep, char *err, size_t errlen) {
  if (err && errlen)
    err[0] = 0;
  if (!ep) {
    wd_errf(err, errlen, "wd_endpoint_key: no endpoint");
    return NULL;
  }
  if (ep->api_key_env) {
    const char *v = getenv(ep->api_key_env);
    if (!v) {
      wd_errf(err, errlen, "endpoint %s: environment variable %s is not set",
              ep->name, ep->api_key_env);
      return NULL;
    }
    if (strlen(v) > WD_KEY_MAX) {
      wd_errf(err, errlen,
              "endpoint %s: environment variable %s is longer "
              "than %d bytes",
              ep->name, ep->api_key_env, WD_KEY_MAX);
      return NULL;
    }
    return clean_key(v, strlen(v), ep->name, "environment variable",
                     ep->api_key_env, err, errlen);
  }
  if (ep->api_key_file) {
    struct stat st;
    char *buf;
    size_t n;
    if (wd_read_small_file(ep->api_key_file, WD_KEY_MAX, &buf, &n, &st) != 0) {
      wd_errf(err, errlen, "endpoint %s: key file %s: %s", ep->name,
              ep->api_key_file,
              errno == EFBIG    ? "larger than a key can be"
              : errno == EINVAL ? "not a regular file"
                                : strerror(errno));
      return NULL;
    }
    char *k = memchr(buf, 0, n) ? NULL
                                : clean_key(buf, n, ep->name, "key file",
                                            ep->api_key_file, err, errlen);
    if (!k && !(err && errlen && err[0]))
      wd_errf(err, errlen,
              "endpoint %s: the key in key file %s is not one word "
              "of printable ASCII",
              ep->name, ep->api_key_file);
    explicit_bzero(buf, n);
    free(buf);
    /* Group read is the usual root:warmd 0640; others reading is not. */
    if (k && (st.st_mode & S_IROTH))
      wd_errf(err, errlen,
              "warning: endpoint %s: key file %s is readable by "
              "every user (chmod o-r)",
              ep->name, ep->api_key_file);
    return k;
  }
  return NULL;
}

char *wd_fleet_password(const struct wd_config *c, char *err, size_t errlen) {
  /* The same rules as an API key (one word of printable ASCII, env or a
   * file that others must not read); the messages name [fleet]. */
  struct wd_endpoint ep = {.name = (char *)"fleet",
                           .api_key_env = c->fleet_password_env,
                           .api_key_file = c->fleet_password_file};
  char tmp[512];
  char *pw = wd_endpoint_key(&ep, tmp, sizeof tmp);
  if (err && errlen) {
    const char *m = tmp;
    const char *warn = "";
    if (strncmp(m, "warning: ", 9) == 0) {
      warn = "warning: ";
      m += 9;
    }
    if (strncmp(m, "endpoint fleet: ", 16) == 0)
      m += 16;
    snprintf(err, errlen, "%s[fleet] password: %s", warn, m);
    if (!tmp[0])
      err[0] = 0;
  }
  return pw;
}

int wd_config_check_placeholder(const char *key) {
  static const char *words[] = {
      "your",        "changeme", "change_me",  "change-me", "replace",
      "placeholder", "example",  "insert",     "dummy",     "redacted",
      "api_key",     "apikey",   "secret_key", "xxxxxx",    "******"};
  static const char *prefixes[] = {"sk-ant-", "sk-proj-", "sk-"};
  if (!key)
    return 1;
  while (isspace((unsigned char)*key))
    key++;
  if (!*key || strchr(key, '<') || strchr(key, '>') || strstr(key, "...") ||
      strstr(key, "\xE2\x80\xA6")) /* U+2026 ellipsis */
    return 1;
  /* Real keys are long and random: these words do not occur by chance. */
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strcasestr(key, words[i]))
      return 1;
  /* Nothing but a known prefix and filler: "sk-xxx", "xxx", "sk-". */
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
    if (strncasecmp(key, prefixes[i], strlen(prefixes[i])) == 0) {
      key += strlen(prefixes[i]);
      break;
    }
  for (; *key; key++)
    if (!strchr("xX*.-_ \t\r\n", *key))
      return 0;
  return 1;
}

/* 1 when the host of an http(s) URL is loopback: localhost (and
 * *.localhost), 127.0.0.0/8, ::1 or ::ffff:127.x.  Link-local is not: it
 * is a wire like any other. */
static int url_is_loopback(const char *url) {
  char host[256];
  size_t n;
  if (wd_url_host(url, host, sizeof host) != 0)
    return 0;
  n = strlen(host);
  if (strcasecmp(host, "localhost") == 0 ||
      (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0))
    return 1;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6) ||
           (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  return 0;
}

char **wd_keys_check(const struct wd_config *c,
                     void (*warn)(void *arg, const char *msg), void *arg,
                     char *err, size_t errlen) {
  char **keys = calloc((size_t)c->nendpoints + 1, sizeof *keys);
  char msg[512];
  if (!keys) {
    wd_errf(err, errlen, "out of memory");
    return NULL;
  }
  for (int i = 0; i < c->nendpoints; i++) {
    const struct wd_endpoint *ep = &c->endpoints[i];
    keys[i] = wd_endpoint_key(ep, msg, sizeof msg);
    if (!keys[i] && msg[0]) {
      snprintf(err, errlen, "%s", msg);
      wd_keys_free(keys, i);
      return NULL;
    }
    if (msg[0] && warn) /* e.g. a key file others can read */
      warn(arg, msg);
    /* A key is a bearer credential: over plain http it is readable (and
     * reusable) by anyone on the path.  Loopback never leaves the host. */
    if (keys[i] && strncasecmp(ep->base_url, "http://", 7) == 0 &&
        !url_is_loopback(ep->base_url) && warn) {
      snprintf(msg, sizeof msg,
               "warning: endpoint %s: the API key would travel in clear text "
               "(base_url is http:// to a host that is not loopback; use "
               "https://)",
               ep->name);
      warn(arg, msg);
    }
  }
  return keys;
}

void wd_keys_free(char **keys, int n) {
  for (int i = 0; keys && i < n; i++)
    if (keys[i]) {
      explicit_bzero(keys[i], strlen(keys[i]));
      free(keys[i]);
    }
  free(keys);
}
