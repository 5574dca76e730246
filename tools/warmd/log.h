/* log.h - warmd's log: stderr (foreground) or syslog, with levels.
 * LOG(LOG_INFO, "fmt", ...) takes syslog levels; debug compiles out unless
 * WARMD_DEBUG is defined.  Never pass an API key to these functions. */
#ifndef WARMD_LOG_H
#define WARMD_LOG_H

#include <syslog.h>

void wd_log_open(int use_syslog, int level);
void wd_log_set_level(int level);
void wd_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* While fd >= 0, messages of level err and worse are also written to fd,
 * one line each (how a detaching warmd reports start-up errors to the
 * process that started it); -1 stops. */
void wd_log_tee(int fd);

#define LOG(level, ...) wd_log(level, __VA_ARGS__)
#ifdef WARMD_DEBUG
#define DEBUG_LOG(...) wd_log(LOG_DEBUG, __VA_ARGS__)
#else
#define DEBUG_LOG(...) ((void)0)
#endif

#endif
