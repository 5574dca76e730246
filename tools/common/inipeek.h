/* inipeek.h - reads one key of one section of warmd.conf(5) without the
 * whole parser (inih, the key tables, the checks): what warmctl needs to
 * find the control socket from -c CONFIG.  It follows the lexical rules of
 * config.c (comments after a blank, "quoted" values, key = value or
 * key: value, first occurrence) but validates nothing else: warmd
 * --check-config is what says whether a file is valid.
 */
#ifndef WARMTH_TOOLS_INIPEEK_H
#define WARMTH_TOOLS_INIPEEK_H

#include <stddef.h>

/* The value of `key` in [section] of the file at path: malloc'd, with a
 * relative value made absolute against the file's directory when is_path
 * (as config.c does for path keys).  NULL with err "" when the key is not
 * set; NULL with err set when the file cannot be read. */
char *wd_ini_peek(const char *path, const char *section, const char *key,
                  int is_path, char *err, size_t errlen);

#endif
