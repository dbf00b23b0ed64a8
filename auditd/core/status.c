#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int adt_vfail(adt_err *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        err->code = code;
    }
    return code;
}

int adt_fail(adt_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    adt_vfail(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void adt_err_prefix(adt_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char pre[ADT_ERR_MAX], old[ADT_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Truncation is fine: the message is bounded by design. */
    size_t pl = strnlen(pre, sizeof pre - 3);
    memcpy(err->msg, pre, pl);
    memcpy(err->msg + pl, ": ", 2);
    size_t ol = strnlen(old, sizeof err->msg - pl - 3);
    memcpy(err->msg + pl + 2, old, ol);
    err->msg[pl + 2 + ol] = '\0';
}

const char *adt_status_name(int code)
{
    static const char *const names[] = {
        [ADT_OK] = "ok",           [ADT_EINVAL] = "invalid",     [ADT_ENOMEM] = "no_memory",
        [ADT_EIO] = "io",          [ADT_ECORRUPT] = "corrupt",   [ADT_ENOTFOUND] = "not_found",
        [ADT_EEXIST] = "exists",   [ADT_EAUTH] = "unauthenticated", [ADT_EFORBIDDEN] = "forbidden",
        [ADT_EREPLAY] = "replay",  [ADT_ETOOBIG] = "too_large",  [ADT_EBUSY] = "busy",
        [ADT_ESHUTDOWN] = "shutting_down", [ADT_ECRYPTO] = "crypto", [ADT_ECONFLICT] = "conflict",
        [ADT_EINTERNAL] = "internal",
    };
    if (code < 0 || (size_t)code >= sizeof names / sizeof names[0] || !names[code])
        return "unknown";
    return names[code];
}
