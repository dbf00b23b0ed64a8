#include "log.h"

#include "rfc3339.h"

#include <stdarg.h>
#include <stdio.h>

/* The logger's level is the one mutable global the style allows. */
static int log_level = LOG_INFO;

void log_set_level(int level) { log_level = level; }

void log_msg(int level, const char *module, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > log_level || level < 0 || level > LOG_DEBUG)
        return;
    char ts[32], line[1024];
    rfc3339_format(rfc3339_now_us(), ts, sizeof ts);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s %s: %s\n", ts, names[level], module, line);
}
