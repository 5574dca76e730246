/* log.h - warmd's log: stderr (foreground) or syslog, with levels.
 * LOG(LOG_INFO, "fmt", ...) takes syslog levels.  DEBUG_LOG(fmt, ...) is
 * compiled in and logged at level debug (warmd -v, log_level = debug): it
 * used to compile out unless WARMD_DEBUG was defined, so -v added nothing
 * (issue 12, item 13).  Its arguments are evaluated only when debug is on.
 * Never pass an API key or a header value to these functions. */
#ifndef WARMD_LOG_H
#define WARMD_LOG_H

#include <syslog.h>

void wd_log_open(int use_syslog, int level);
void wd_log_set_level(int level);
/* 1 when messages of level debug are logged. */
int wd_log_debug_on(void);
void wd_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* While fd >= 0, messages of level err and worse are also written to fd,
 * one line each (how a detaching warmd reports start-up errors to the
 * process that started it); -1 stops. */
void wd_log_tee(int fd);

#define LOG(level, ...) wd_log(level, __VA_ARGS__)
#define DEBUG_LOG(...)                                                         \
  do {                                                                         \
    if (wd_log_debug_on())                                                     \
      wd_log(LOG_DEBUG, __VA_ARGS__);                                          \
  } while (0)

#endif
