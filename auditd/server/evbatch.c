#include "evbatch.h"

#include <stdlib.h>
#include <string.h>

bool evbatch_writer_check(const evbatch *b, event_writer w, size_t *bad)
{
    for (size_t i = 0; i < b->n; i++)
        if (!event_writer_may(b->types[i], w)) {
            *bad = i;
            return false;
        }
    return true;
}

void evbatch_free(evbatch *b)
{
    buf_free(&b->canon);
    free(b->off);
    free(b->types);
    free(b->items);
    memset(b, 0, sizeof *b);
}

static int add_event(evbatch *b, const char *p, size_t len, size_t cap, size_t lineno,
                     bool ndjson, adt_err *err)
{
    if (b->n >= cap)
        return adt_fail(err, ADT_ETOOBIG, "more than %zu events in one request; split the batch",
                        cap);
    event_info info;
    adt_err e2;
    b->off[b->n] = b->canon.len;
    int rc = event_validate(p, len, NULL, &b->canon, &info, &e2);
    if (rc) {
        if (ndjson)
            return adt_fail(err, rc, "event %zu (line %zu): %s; nothing was appended", b->n + 1,
                            lineno, e2.msg);
        return adt_fail(err, rc, "%s; nothing was appended", e2.msg);
    }
    memcpy(b->types[b->n], info.type, sizeof info.type);
    b->n++;
    b->off[b->n] = b->canon.len;
    return ADT_OK;
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

int evbatch_parse(const char *body, size_t len, const evbatch_limits *lim, evbatch *out,
                  adt_err *err)
{
    memset(out, 0, sizeof *out);
    size_t max_events = lim && lim->max_events ? lim->max_events : 10000;
    size_t max_body = lim && lim->max_body ? lim->max_body : (8u << 20);
    if (len > max_body)
        return adt_fail(err, ADT_ETOOBIG, "body of %zu bytes is over the limit of %zu bytes", len,
                        max_body);
    if (!body || blank(body, len))
        return adt_fail(err, ADT_EINVAL, "empty body: send one JSON event or NDJSON events");
    /* Count lines to size the arrays (bounded by max_events + 1). */
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        if (body[i] == '\n')
            lines++;
    size_t cap = lines < max_events ? lines : max_events;
    buf_init(&out->canon, len * 2 + 64);
    out->off = calloc(cap + 2, sizeof *out->off);
    out->types = calloc(cap + 1, sizeof *out->types);
    if (!out->off || !out->types) {
        evbatch_free(out);
        return adt_fail(err, ADT_ENOMEM, "out of memory for a batch of %zu lines", lines);
    }
    int rc = ADT_OK;
    /* A body whose first non-blank line is the whole document is one event;
     * otherwise (several non-blank lines) it is NDJSON. A pretty-printed single
     * object spans lines: try the whole body as one event first. */
    size_t nonblank = 0;
    for (const char *p = body, *end = body + len; p < end && nonblank < 2;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (!blank(p, l))
            nonblank++;
        p += l + 1;
    }
    if (nonblank > 1) {
        adt_err e1;
        buf tmp;
        buf_init(&tmp, len * 2 + 64);
        int single = event_validate(body, len, NULL, &tmp, NULL, &e1);
        buf_free(&tmp);
        if (single == ADT_OK)
            nonblank = 1;
    }
    if (nonblank == 1) {
        rc = add_event(out, body, len, cap, 1, false, err);
    } else {
        size_t lineno = 0;
        for (const char *p = body, *end = body + len; p < end && !rc;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
            lineno++;
            if (!blank(p, l))
                rc = add_event(out, p, l, cap, lineno, true, err);
            p += l + 1;
        }
    }
    if (rc)
        evbatch_free(out);
    return rc;
}

int evbatch_items(evbatch *b, const char *source, event_writer writer, const char *sig,
                  size_t sig_len)
{
    free(b->items);
    b->items = calloc(b->n ? b->n : 1, sizeof *b->items);
    if (!b->items)
        return ADT_ENOMEM;
    for (size_t i = 0; i < b->n; i++)
        b->items[i] = (ledger_item){.source = source,
                                    .type = b->types[i],
                                    .payload = b->canon.data + b->off[i],
                                    .payload_len = b->off[i + 1] - b->off[i],
                                    .payload_canonical = true, /* from event_validate */
                                    .sig = sig,
                                    .sig_len = sig_len,
                                    .writer = writer};
    return ADT_OK;
}
