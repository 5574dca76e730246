/* inipeek.c - see inipeek.h. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inipeek.h"
#include "util.h"

/* Cuts white space at both ends, in place. */
static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1]))
    s[--n] = 0;
  return s;
}

static char *make_abs(const char *path, const char *v) {
  char *copy, *dir, *out;
  if (v[0] == '/' || !v[0])
    return strdup(v);
  if (!(copy = strdup(path)))
    return NULL;
  dir = realpath(dirname(copy), NULL);
  free(copy);
  if (!dir)
    return NULL;
  if (asprintf(&out, "%s/%s", strcmp(dir, "/") ? dir : "", v) < 0)
    out = NULL;
  free(dir);
  return out;
}

char *wd_ini_peek(const char *path, const char *section, const char *key,
                  int is_path, char *err, size_t errlen) {
  if (err && errlen)
    err[0] = 0;
  FILE *f = fopen(path, "re");
  if (!f) {
    wd_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  char *line = NULL, *val = NULL;
  size_t cap = 0;
  int in = 0, found = 0;
  while (!found && getline(&line, &cap, f) >= 0) {
    char *s = line;
    if (memcmp(s, "\xEF\xBB\xBF", 3) == 0) /* UTF-8 byte order mark */
      s += 3;
    s = trim(s);
    for (char *p = s; *p; p++) /* a comment starts a line or follows a blank */
      if ((*p == ';' || *p == '#') &&
          (p == s || isblank((unsigned char)p[-1]))) {
        *p = 0;
        break;
      }
    s = trim(s);
    if (s[0] == '[') {
      char *end = strchr(s, ']');
      if (end)
        *end = 0;
      in = strcmp(trim(s + 1), section) == 0;
      continue;
    }
    char *eq = strpbrk(s, "=:");
    if (!in || !eq)
      continue;
    *eq = 0;
    if (strcmp(trim(s), key) != 0)
      continue;
    char *v = trim(eq + 1);
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
      v[n - 1] = 0;
      v++;
    }
    val = is_path ? make_abs(path, v) : strdup(v);
    found = 1;
    if (!val)
      wd_errf(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOMEM));
  }
  if (!found && ferror(f))
    wd_errf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
  free(line);
  fclose(f);
  return val;
}
