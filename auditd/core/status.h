/* status.h: the one project-wide status enum and the error record.
 *
 * Every function that can fail returns an `int` from `adt_status` and, when it
 * fails, writes a human message into an `adt_err` the caller owns. The message
 * says what was wrong and, where it can, what to do about it. */
#ifndef AUDITD_STATUS_H
#define AUDITD_STATUS_H

#include <stdarg.h>
#include <stddef.h>

typedef enum adt_status {
    ADT_OK = 0,
    ADT_EINVAL,     /* bad input: malformed, out of range, missing field */
    ADT_ENOMEM,     /* allocation failed or a bounded buffer hit its maximum */
    ADT_EIO,        /* file system or database I/O error */
    ADT_ECORRUPT,   /* stored data failed an integrity check */
    ADT_ENOTFOUND,  /* the named thing does not exist */
    ADT_EEXIST,     /* the thing to create exists already */
    ADT_EAUTH,      /* unauthenticated: no or bad credentials, bad signature */
    ADT_EFORBIDDEN, /* authenticated but not allowed */
    ADT_EREPLAY,    /* a reused sequence number or stale timestamp */
    ADT_ETOOBIG,    /* over a configured size or count limit */
    ADT_EBUSY,      /* queue full or resource locked: try again later */
    ADT_ESHUTDOWN,  /* the service is stopping */
    ADT_ECRYPTO,    /* a cryptographic primitive failed */
    ADT_ECONFLICT,  /* the request contradicts stored state */
    ADT_EINTERNAL   /* a bug: an invariant did not hold */
} adt_status;

#define ADT_ERR_MAX 512

/* A caller-owned error record. `msg` is always NUL-terminated. */
typedef struct adt_err {
    int code;
    char msg[ADT_ERR_MAX];
} adt_err;

/* Record `code` and a printf-style message in `err` (which may be NULL).
 * Returns `code` so callers can write `return adt_fail(err, ADT_EINVAL, ...)`. */
int adt_fail(adt_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* adt_fail with the arguments as a va_list, for functions that take a message
 * of their own (`fmt, ...`) and record it. */
int adt_vfail(adt_err *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Prefix the message already in `err` with more context ("reading x: <old>"). */
void adt_err_prefix(adt_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A short stable name for a status ("invalid", "busy", ...), for logs and JSON. */
const char *adt_status_name(int code);

#endif
