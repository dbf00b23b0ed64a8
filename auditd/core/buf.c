#include "buf.h"
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void buf_free(buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_reset(buf *b)
{
    buf_truncate(b, 0);
}

void buf_truncate(buf *b, size_t len)
{
    if (len > b->len)
        return;
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
}

static int buf_reserve(buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return ADT_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return ADT_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (!p)
        return ADT_ENOMEM;
    b->data = p;
    b->cap = cap;
    return ADT_OK;
}

int buf_append(buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return ADT_OK;
}

int buf_puts(buf *b, const char *s) { return buf_append(b, s, strlen(s)); }

int buf_putc(buf *b, char c) { return buf_append(b, &c, 1); }

int buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ADT_EINVAL;
    if ((size_t)n < sizeof tmp)
        return buf_append(b, tmp, (size_t)n);
    int rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ADT_OK;
}

char *buf_steal(buf *b, size_t *len)
{
    if (!b->data && buf_reserve(b, 0) != ADT_OK)
        return NULL;
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
