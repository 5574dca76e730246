/* secret.h - API keys and other secrets (secret.c): reading an endpoint's
 * key, spotting a placeholder key, and reading small files (key files,
 * prompt prefixes) without leaving copies behind.  No message written here
 * ever contains a key.
 */
#ifndef WARMD_SECRET_H
#define WARMD_SECRET_H

#include <stddef.h>
#include <sys/stat.h>

#include "conf.h"

/* Reads the API key of an endpoint (env or file, trailing newline cut).
 * Returns a malloc'd string, NULL when the endpoint has no key configured
 * (no auth header), and sets *err on failure (missing variable/file).  The
 * key is never logged. */
char *wd_endpoint_key(const struct wd_endpoint *ep, char *err, size_t errlen);
/* wd_endpoint_key in detail: err is always written ("" when there is
 * nothing to say).  NULL + err "" = no key configured; NULL + err set = the
 * key is unusable (variable unset, file missing, empty, more than
 * WD_KEY_MAX bytes, or not one word of printable ASCII); a key + err set =
 * usable, with a warning starting "warning:" to log (a key file that other
 * users may read).  No message ever contains the key. */
#define WD_KEY_MAX 16384
/* The same for [fleet] password_env / password_file (NULL + err "" when
 * none is configured: no AUTH); messages name [fleet], never the password. */
char *wd_fleet_password(const struct wd_config *c, char *err, size_t errlen);
/* 1 if key is an obvious placeholder ("", "YOUR_API_KEY", "sk-...",
 * "<key>", "changeme", "xxxx"), as left over from an example; for
 * --check-config --online.  NULL counts as a placeholder. */
int wd_config_check_placeholder(const char *key);

/* The checks on a config's keys that warmd runs at start and on every
 * reload and that --check-config runs too: one function, so the two
 * cannot disagree.  Reads every endpoint's key with wd_endpoint_key (an
 * unusable key, e.g. with a CR or LF inside, is refused) and calls
 * warn(arg, msg) for each warning, each starting "warning: ": a key file
 * other users may read; a key sent over http:// to a host that is not
 * loopback.  Returns c->nendpoints keys (NULL where none is configured;
 * free with wd_keys_free), or NULL with err set (naming the endpoint,
 * never the key). */
char **wd_keys_check(const struct wd_config *c,
                     void (*warn)(void *arg, const char *msg), void *arg,
                     char *err, size_t errlen);

/* Frees the first n keys of an array of keys (wiped first) and the array. */
void wd_keys_free(char **keys, int n);

/* Reads a whole regular file of at most max bytes into a malloc'd buffer
 * (NUL-terminated; *st is its fstat).  0, or -1 with errno: EFBIG past max,
 * EINVAL not a regular file.  A buffer freed on failure is wiped first. */
int wd_read_small_file(const char *path, size_t max, char **out, size_t *len,
                       struct stat *st);

#endif
