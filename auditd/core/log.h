/* log.h: the process logger (the one allowed global): lines to stderr as
 * "<RFC 3339 time> <level> <module>: <message>". */
#ifndef AUDITD_LOG_H
#define AUDITD_LOG_H

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(int level);
void log_msg(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
