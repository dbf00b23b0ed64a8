/* psink.c: ledger event sink for the pipeline (psink.h). */
#include "psink.h"

#include "canon.h"
#include "rfc3339.h"

#include <string.h>

int psink_append(const psink *s, const ledger_item *items, size_t n, uint64_t *first,
                 adt_err *err)
{
    ledger_commit c;
    *first = PSINK_NONE;
    int rc;
    if (s && s->cq)
        rc = commitq_submit(s->cq, items, n, &c, err);
    else if (s && s->lg)
        rc = ledger_append(s->lg, items, n, &c, err);
    else
        return ADT_OK;
    if (rc)
        return rc;
    *first = c.first;
    return ADT_OK;
}

int psink_event(const char *type, const char *actor, const char *body, buf *out, adt_err *err)
{
    char now[40];
    rfc3339_format(rfc3339_now_us(), now, sizeof now);
    buf raw;
    buf_init(&raw, LEDGER_MAX_LEAF);
    size_t blen = strlen(body);
    int rc = buf_puts(&raw, "{\"type\":");
    rc |= canon_put_string(&raw, type, strlen(type));
    rc |= buf_puts(&raw, ",\"time\":");
    rc |= canon_put_string(&raw, now, strlen(now));
    rc |= buf_puts(&raw, ",\"actor\":");
    rc |= canon_put_string(&raw, actor, strlen(actor));
    /* body is "{...}": splice its members after ours */
    if (blen > 2) {
        rc |= buf_putc(&raw, ',');
        rc |= buf_append(&raw, body + 1, blen - 1);
    } else {
        rc |= buf_putc(&raw, '}');
    }
    if (rc) {
        buf_free(&raw);
        return adt_fail(err, ADT_ETOOBIG, "%s event too large", type);
    }
    buf_reset(out);
    rc = canon_json(raw.data, raw.len, &canon_event_limits, true, out, err);
    buf_free(&raw);
    if (rc)
        adt_err_prefix(err, "building %s event", type);
    return rc;
}
