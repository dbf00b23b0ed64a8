/* evsink.c: recording evidence (evsink.h). */
#include "evsink.h"

#include "canon.h"
#include "rfc3339.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A payload is at most half a leaf: the rest is the leaf's own fields. */
#define EVSINK_MAX_PAYLOAD (LEDGER_MAX_LEAF / 2)

static void fail(evsink_event *e, int rc)
{
    if (!e->rc)
        e->rc = rc;
}

/* The separator and key of the next member (or array element). */
static bool member(evsink_event *e, const char *key)
{
    if (e->rc)
        return false;
    int rc = ADT_OK;
    if (e->more[e->depth])
        rc = buf_putc(&e->body, ',');
    e->more[e->depth] = true;
    if (!rc && key) {
        rc = canon_put_string(&e->body, key, strlen(key));
        if (!rc)
            rc = buf_putc(&e->body, ':');
    }
    fail(e, rc);
    return rc == ADT_OK;
}

void evsink_begin(evsink_event *e, const char *source, const char *type, event_writer writer,
                  const char *actor)
{
    memset(e, 0, sizeof *e);
    e->source = source;
    e->writer = writer;
    e->time_us = rfc3339_now_us();
    buf_init(&e->body, EVSINK_MAX_PAYLOAD);
    size_t n = type ? strlen(type) : 0;
    if (n == 0 || n > EVENT_TYPE_MAX)
        fail(e, ADT_EINVAL);
    else
        memcpy(e->type, type, n + 1);
    fail(e, buf_putc(&e->body, '{'));
    evsink_str(e, "type", e->type);
    evsink_str(e, "actor", actor);
}

void evsink_at(evsink_event *e, int64_t time_us)
{
    if (time_us)
        e->time_us = time_us;
}

void evsink_free(evsink_event *e)
{
    buf_free(&e->body);
}

void evsink_strn(evsink_event *e, const char *key, const char *val, size_t len)
{
    if (member(e, key))
        fail(e, val ? canon_put_string(&e->body, val, len) : buf_puts(&e->body, "null"));
}

void evsink_str(evsink_event *e, const char *key, const char *val)
{
    evsink_strn(e, key, val, val ? strlen(val) : 0);
}

void evsink_int(evsink_event *e, const char *key, int64_t val)
{
    if (member(e, key))
        fail(e, buf_printf(&e->body, "%lld", (long long)val));
}

void evsink_uint(evsink_event *e, const char *key, uint64_t val)
{
    if (member(e, key))
        fail(e, buf_printf(&e->body, "%llu", (unsigned long long)val));
}

void evsink_num(evsink_event *e, const char *key, double val)
{
    if (!member(e, key))
        return;
    if (!isfinite(val)) {
        fail(e, buf_puts(&e->body, "null"));
        return;
    }
    /* The shortest of 15, 16 or 17 significant digits that reads back the same. */
    char txt[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(txt, sizeof txt, "%.*g", prec, val);
        if (strtod(txt, NULL) == val)
            break;
    }
    fail(e, buf_puts(&e->body, txt));
}

void evsink_bool(evsink_event *e, const char *key, bool val)
{
    if (member(e, key))
        fail(e, buf_puts(&e->body, val ? "true" : "false"));
}

void evsink_null(evsink_event *e, const char *key)
{
    if (member(e, key))
        fail(e, buf_puts(&e->body, "null"));
}

void evsink_time(evsink_event *e, const char *key, int64_t time_us)
{
    char t[40];
    if (rfc3339_format(time_us, t, sizeof t) != ADT_OK) {
        fail(e, ADT_EINVAL);
        return;
    }
    evsink_str(e, key, t);
}

void evsink_index(evsink_event *e, const char *key, uint64_t index)
{
    if (index == EVSINK_NONE)
        evsink_null(e, key);
    else
        evsink_uint(e, key, index);
}

void evsink_json(evsink_event *e, const char *key, const char *json, size_t len)
{
    if (member(e, key))
        fail(e, len ? buf_append(&e->body, json, len) : ADT_EINVAL);
}

static void open_nested(evsink_event *e, const char *key, char c)
{
    if (e->depth == EVSINK_DEPTH_MAX) {
        fail(e, ADT_ETOOBIG);
        return;
    }
    if (!member(e, key))
        return;
    fail(e, buf_putc(&e->body, c));
    e->depth++;
    e->more[e->depth] = false;
    e->closer[e->depth] = c == '{' ? '}' : ']';
}

void evsink_object(evsink_event *e, const char *key)
{
    open_nested(e, key, '{');
}

void evsink_array(evsink_event *e, const char *key)
{
    open_nested(e, key, '[');
}

void evsink_end(evsink_event *e)
{
    if (e->rc)
        return;
    if (e->depth == 0) {
        fail(e, ADT_EINTERNAL);
        return;
    }
    fail(e, buf_putc(&e->body, e->closer[e->depth--]));
}

/* The canonical payload of a finished event into `out` (the event itself is
 * left as it was, so it can be recorded again). */
static int finish(const evsink_event *e, buf *out, adt_err *err)
{
    int rc = e->rc ? e->rc : e->depth != 0 ? ADT_EINTERNAL : ADT_OK;
    char t[40];
    if (!rc && rfc3339_format(e->time_us, t, sizeof t) != ADT_OK)
        rc = ADT_EINVAL;
    buf raw;
    buf_init(&raw, EVSINK_MAX_PAYLOAD);
    if (!rc)
        rc = buf_append(&raw, e->body.data, e->body.len);
    if (!rc)
        rc = buf_printf(&raw, ",\"time\":\"%s\"}", t);
    if (rc) {
        buf_free(&raw);
        return adt_fail(err, rc, "building a %s event: %s", e->type[0] ? e->type : "(untyped)",
                        rc == ADT_ETOOBIG   ? "larger than the limit of an event"
                        : rc == ADT_ENOMEM  ? "out of memory"
                                            : "a member was invalid (a bug in the caller)");
    }
    static const canon_limits lim = {EVSINK_MAX_PAYLOAD, 32, 65536};
    rc = canon_json(raw.data, raw.len, &lim, true, out, err);
    buf_free(&raw);
    if (rc)
        adt_err_prefix(err, "building a %s event", e->type);
    return rc;
}

int evsink_append(const evsink *s, const ledger_item *items, size_t n, uint64_t *first,
                  ledger_commit *commit, adt_err *err)
{
    ledger_commit c;
    int rc;
    if (first)
        *first = EVSINK_NONE;
    if (s && s->cq) {
        rc = commitq_submit(s->cq, items, n, &c, err);
    } else if (s && s->lg) {
        rc = ledger_append(s->lg, items, n, &c, err);
    } else if (s && s->data_dir) {
        ledger *lg;
        rc = ledger_open(s->data_dir, LEDGER_RDWR, &lg, err);
        if (!rc) {
            rc = ledger_append(lg, items, n, &c, err);
            ledger_close(lg);
        }
    } else {
        return ADT_OK;
    }
    if (rc)
        return rc;
    if (first)
        *first = c.first;
    if (commit)
        *commit = c;
    return ADT_OK;
}

int evsink_record(const evsink *s, evsink_event *evs, size_t n, uint64_t *first, adt_err *err)
{
    if (first)
        *first = EVSINK_NONE;
    if (n == 0)
        return adt_fail(err, ADT_EINTERNAL, "evsink_record: no event");
    buf *payloads = calloc(n, sizeof *payloads);
    ledger_item *items = calloc(n, sizeof *items);
    int rc = payloads && items ? ADT_OK : adt_fail(err, ADT_ENOMEM, "out of memory");
    size_t built = 0;
    for (; !rc && built < n; built++) {
        buf_init(&payloads[built], EVSINK_MAX_PAYLOAD);
        rc = finish(&evs[built], &payloads[built], err);
        items[built] = (ledger_item){.source = evs[built].source,
                                     .type = evs[built].type,
                                     .payload = payloads[built].data,
                                     .payload_len = payloads[built].len,
                                     .payload_canonical = true, /* straight out of canon_json */
                                     .writer = evs[built].writer};
    }
    if (!rc)
        rc = evsink_append(s, items, n, first, NULL, err);
    for (size_t i = 0; payloads && i < built; i++)
        buf_free(&payloads[i]);
    free(payloads);
    free(items);
    return rc;
}
