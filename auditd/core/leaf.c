/* leaf.c: typed views of ledger entries (leaf.h). */
#include "leaf.h"

#include "canon.h"
#include "numparse.h"
#include "rfc3339.h"

#include <string.h>

/* A cursor over the leaf, following the fixed member order. */
typedef struct cursor {
    const char *s;
    size_t n, i;
} cursor;

/* Expect the literal `lit` (a separator and key, e.g. ",\"prev\":") here. */
static bool expect(cursor *c, const char *lit)
{
    size_t k = strlen(lit);
    if (c->n - c->i < k || memcmp(c->s + c->i, lit, k) != 0)
        return false;
    c->i += k;
    return true;
}

/* The member `lit` may be next. */
static bool next_is(const cursor *c, const char *lit)
{
    size_t k = strlen(lit);
    return c->n - c->i >= k && memcmp(c->s + c->i, lit, k) == 0;
}

/* The span of the value here; the cursor moves past it. */
static bool value(cursor *c, const char **v, size_t *vl)
{
    size_t end = canon_skip_value(c->s, c->n, c->i);
    if (end > c->n || end == c->i)
        return false;
    *v = c->s + c->i;
    *vl = end - c->i;
    c->i = end;
    return true;
}

/* A string value here, decoded into out[0..cap). */
static bool string(cursor *c, char *out, size_t cap)
{
    const char *v;
    size_t vl;
    return c->i < c->n && c->s[c->i] == '"' && value(c, &v, &vl) &&
           canon_unquote(v, vl, out, cap, NULL) == ADT_OK;
}

static int bad(adt_err *err, uint64_t index, const char *what)
{
    return adt_fail(err, ADT_ECORRUPT, "entry %llu is not a leaf of this ledger: %s",
                    (unsigned long long)index, what);
}

/* The payload's actor and time (docs/events.md: every event has both). */
/* The payload object at c (canonical JSON: members in byte order), walked
 * once: its span is kept, and its "actor" and "time" read on the way (a
 * value of another form leaves the field empty, as an absent one does). */
static bool payload_object(cursor *c, leaf_view *out)
{
    size_t start = c->i;
    if (!expect(c, "{"))
        return false;
    bool first = true;
    while (!expect(c, "}")) {
        if ((!first && !expect(c, ",")) || c->i >= c->n || c->s[c->i] != '"')
            return false;
        first = false;
        const char *k, *v;
        size_t kl, vl;
        if (!value(c, &k, &kl) || !expect(c, ":") || !value(c, &v, &vl))
            return false;
        if (kl == 7 && !memcmp(k, "\"actor\"", 7)) {
            if (canon_unquote(v, vl, out->actor, sizeof out->actor, NULL) != ADT_OK)
                out->actor[0] = '\0';
        } else if (kl == 6 && !memcmp(k, "\"time\"", 6)) {
            char t[64];
            if (canon_unquote(v, vl, t, sizeof t, NULL) == ADT_OK)
                out->has_time = rfc3339_parse(t, strlen(t), &out->time_us) == ADT_OK;
        }
    }
    out->payload = c->s + start;
    out->payload_len = c->i - start;
    return true;
}

int leaf_parse(const char *leaf, size_t len, uint64_t index, leaf_view *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    out->index = index;
    cursor c = {leaf, len, 0};
    char prev[2 * 32 + 1], recorded[64], writer[EVENT_WRITER_NAME_MAX + 1];
    const char *seq;
    size_t seql;
    uint64_t seqv;
    if (!expect(&c, "{\"payload\":") || !payload_object(&c, out))
        return bad(err, index, "no payload object first");
    if (!expect(&c, ",\"prev\":") || !string(&c, prev, sizeof prev))
        return bad(err, index, "no prev after the payload");
    if (!expect(&c, ",\"recorded_at\":") || !string(&c, recorded, sizeof recorded) ||
        rfc3339_parse(recorded, strlen(recorded), &out->recorded_us) != ADT_OK)
        return bad(err, index, "no recorded_at time after prev");
    if (!expect(&c, ",\"seq\":") || !value(&c, &seq, &seql) ||
        num_u64n(seq, seql, UINT64_MAX, &seqv) != ADT_OK || seqv != index)
        return bad(err, index, "its seq is not its index");
    if (expect(&c, ",\"sig\":")) {
        if (c.i >= len || leaf[c.i] != '{' || !value(&c, &out->sig, &out->sig_len))
            return bad(err, index, "a sig that is not an object");
        out->has_sig = true;
    }
    if (!expect(&c, ",\"source\":") || !string(&c, out->source, sizeof out->source))
        return bad(err, index, "no source");
    if (!expect(&c, ",\"type\":") || !string(&c, out->type, sizeof out->type))
        return bad(err, index, "no type");
    if (next_is(&c, ",\"writer\":")) {
        expect(&c, ",\"writer\":");
        if (!string(&c, writer, sizeof writer))
            return bad(err, index, "a writer that is not a name");
        out->writer = event_writer_parse(writer, strlen(writer));
        if (out->writer == EVENT_WRITER_NONE)
            return bad(err, index, "an unknown writer");
    }
    if (!expect(&c, "}") || c.i != len)
        return bad(err, index, "bytes after its last member");
    return ADT_OK;
}

bool leaf_chain(const char *leaf, size_t len, const char **prev, size_t *prev_len,
                uint64_t *seq)
{
    cursor c = {leaf, len, 0};
    const char *v, *q;
    size_t vl;
    if (!expect(&c, "{\"payload\":") || !value(&c, &v, &vl) || !expect(&c, ",\"prev\":\""))
        return false;
    if (!(q = memchr(leaf + c.i, '"', len - c.i)))
        return false;
    *prev = leaf + c.i;
    *prev_len = (size_t)(q - *prev);
    c.i = (size_t)(q - leaf) + 1;
    if (!expect(&c, ",\"recorded_at\":\"") || !(q = memchr(leaf + c.i, '"', len - c.i)))
        return false;
    c.i = (size_t)(q - leaf) + 1;
    if (!expect(&c, ",\"seq\":"))
        return false;
    size_t d = c.i;
    while (c.i < len && leaf[c.i] >= '0' && leaf[c.i] <= '9')
        c.i++;
    return num_u64n(leaf + d, c.i - d, UINT64_MAX, seq) == ADT_OK;
}

int leaf_payload_str(const leaf_view *v, const char *key, char *out, size_t cap)
{
    const char *val;
    size_t vl;
    int rc = canon_member(v->payload, v->payload_len, key, &val, &vl);
    if (rc)
        return rc == ADT_ENOTFOUND ? ADT_ENOTFOUND : ADT_EINVAL;
    return canon_unquote(val, vl, out, cap, NULL);
}
