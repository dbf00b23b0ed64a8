/* buf.h: a growable byte buffer with a hard maximum size.
 *
 * Ownership: the buffer owns `data`; `buf_free` releases it. `data` is always
 * NUL-terminated (the terminator is not counted in `len`), so text can be used
 * as a C string. Every append fails with ADT_ETOOBIG rather than grow past `max`. */
#ifndef AUDITD_BUF_H
#define AUDITD_BUF_H

#include <stddef.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
} buf;

/* Start an empty buffer that may grow up to `max` bytes. Cannot fail. */
void buf_init(buf *b, size_t max);
void buf_free(buf *b);
/* Forget the contents, keep the allocation. */
void buf_reset(buf *b);
/* Forget what was appended after the first `len` bytes (len <= b->len): undo
 * a partial append back to a mark taken before it. */
void buf_truncate(buf *b, size_t len);
int buf_append(buf *b, const void *p, size_t n);
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Take ownership of the data (caller frees with free()); the buffer is left empty. */
char *buf_steal(buf *b, size_t *len);

#endif
