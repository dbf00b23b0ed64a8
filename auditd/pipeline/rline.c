/* rline.c: reading lines checked against their profile (rline.h). */
#include "rline.h"

#include "rfc3339.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The tree reader (the reference) ------------------------------------------ */

profile_reason rline_check_tree(const char *p, size_t n, rline_device_fn device, void *ctx,
                                buf *packed, rline_out *out)
{
    char *detail = out->detail;
    size_t dcap = sizeof out->detail;
    out->devname[0] = 0;
    out->time = 0;
    cJSON *j = cJSON_ParseWithLength(p, n);
    if (!cJSON_IsObject(j)) {
        snprintf(detail, dcap, "not a JSON object");
        cJSON_Delete(j);
        return PROFILE_R_PARSE;
    }
    const cJSON *dv = NULL, *tm = NULL, *vals = NULL, *it;
    profile_reason r = PROFILE_OK;
    cJSON_ArrayForEach(it, j)
    {
        if (!strcmp(it->string, "device") && !dv)
            dv = it;
        else if (!strcmp(it->string, "time") && !tm)
            tm = it;
        else if (!strcmp(it->string, "values") && !vals)
            vals = it;
        else {
            snprintf(detail, dcap, "member '%.64s' unexpected or repeated (a reading is "
                                   "{\"device\",\"time\",\"values\"})", it->string);
            r = PROFILE_R_PARSE;
            goto out;
        }
    }
    if (!cJSON_IsString(dv) || !cJSON_IsObject(vals)) {
        snprintf(detail, dcap, "device (string) and values (object) are required");
        r = PROFILE_R_PARSE;
        goto out;
    }
    snprintf(out->devname, sizeof out->devname, "%s", dv->valuestring);
    if (!cJSON_IsString(tm) ||
        rfc3339_parse(tm->valuestring, strlen(tm->valuestring), &out->time)) {
        snprintf(detail, dcap, "time must be an RFC 3339 string");
        r = PROFILE_R_TIME;
        goto out;
    }
    const profile *pf = device(ctx, dv->valuestring, strlen(dv->valuestring), &out->dev);
    if (!pf) {
        snprintf(detail, dcap, "device %.64s is not registered", dv->valuestring);
        r = PROFILE_R_UNKNOWN_DEVICE;
        goto out;
    }
    r = profile_validate(pf, vals, packed, detail, dcap);
out:
    cJSON_Delete(j);
    return r;
}

/* ---- The direct reader ---------------------------------------------------------
 * A strict subset of what cJSON accepts, read to the same values: whitespace
 * is space, tab, CR, LF (cJSON: any byte <= 32); strings have no escapes and
 * no control bytes (their bytes are cJSON's valuestring); numbers follow the
 * JSON grammar and are at most 63 bytes (cJSON copies up to 63 bytes of
 * [0-9+-eE.] and runs strtod on them: for such a number that is the whole
 * number, so the value is strtod's); no arrays; at most two levels below the
 * line's object. Anything else is left to the tree reader. */

typedef struct cur {
    const char *p, *end;
} cur;

static void skip_ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static bool eat(cur *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static bool read_string(cur *c, const char **s, size_t *n)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    const char *b = ++c->p;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            *s = b;
            *n = (size_t)(c->p - b);
            c->p++;
            return true;
        }
        if (ch == '\\' || ch < 0x20)
            return false;
        c->p++;
    }
    return false;
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* A JSON-grammar number. With at most 15 significant digits and a decimal
 * exponent within +-22, m * 10^e (or m / 10^-e) is one correctly rounded
 * operation on exact operands: the same double strtod returns. Otherwise
 * strtod itself, as cJSON does. */
static bool read_number(cur *c, double *out)
{
    const char *b = c->p, *q = c->p, *e = c->end;
    bool neg = false;
    if (q < e && *q == '-') {
        neg = true;
        q++;
    }
    if (q >= e || !is_digit(*q))
        return false;
    uint64_t m = 0;
    int sig = 0, e10 = 0;
    if (*q == '0') {
        q++;
    } else {
        while (q < e && is_digit(*q)) {
            if (sig < 19)
                m = m * 10 + (uint64_t)(*q - '0');
            else
                e10++;
            sig++;
            q++;
        }
    }
    if (q < e && *q == '.') {
        q++;
        if (q >= e || !is_digit(*q))
            return false;
        while (q < e && is_digit(*q)) {
            if (m || *q != '0') {
                if (sig < 19) {
                    m = m * 10 + (uint64_t)(*q - '0');
                    e10--;
                }
                sig++;
            } else {
                e10--;
            }
            q++;
        }
    }
    int ex = 0;
    bool big_exp = false;
    if (q < e && (*q == 'e' || *q == 'E')) {
        q++;
        bool eneg = false;
        if (q < e && (*q == '+' || *q == '-'))
            eneg = *q++ == '-';
        if (q >= e || !is_digit(*q))
            return false;
        while (q < e && is_digit(*q)) {
            if (ex < 100000)
                ex = ex * 10 + (*q - '0');
            else
                big_exp = true;
            q++;
        }
        ex = eneg ? -ex : ex;
    }
    size_t len = (size_t)(q - b);
    if (len > 63)
        return false;
    c->p = q;
    int total = e10 + ex;
    if (!big_exp && sig <= 15 && total >= -22 && total <= 22) {
        double d = (double)m;
        d = total >= 0 ? d * pow10_exact[total] : d / pow10_exact[-total];
        *out = neg ? -d : d;
        return true;
    }
    char tmp[64];
    memcpy(tmp, b, len);
    tmp[len] = 0;
    *out = strtod(tmp, NULL);
    return true;
}

static bool read_literal(cur *c, const char *w, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n))
        return false;
    c->p += n;
    return true;
}

/* A scalar value (after whitespace). */
static bool read_scalar(cur *c, profile_scalar *v)
{
    skip_ws(c);
    if (c->p >= c->end)
        return false;
    switch (*c->p) {
    case '"': v->kind = PROFILE_V_STRING; return read_string(c, &v->s, &v->n);
    case 't': v->kind = PROFILE_V_TRUE; return read_literal(c, "true", 4);
    case 'f': v->kind = PROFILE_V_FALSE; return read_literal(c, "false", 5);
    case 'n': v->kind = PROFILE_V_NULL; return read_literal(c, "null", 4);
    default: v->kind = PROFILE_V_NUMBER; return read_number(c, &v->num);
    }
}

/* The next member's key (after '{' or ','), then its ':'. */
static bool read_key(cur *c, const char **k, size_t *kn)
{
    skip_ws(c);
    return read_string(c, k, kn) && eat(c, ':');
}

/* After a member: ',' (*more) or '}'. */
static bool member_end(cur *c, bool *more)
{
    skip_ws(c);
    if (c->p < c->end && (*c->p == ',' || *c->p == '}')) {
        *more = *c->p++ == ',';
        return true;
    }
    return false;
}

static bool key_is(const char *k, size_t kn, const char *w)
{
    return strlen(w) == kn && !memcmp(k, w, kn);
}

/* {"value": scalar, "unit": "..."} (unit optional) after its '{'. */
static bool read_value_object(cur *c, profile_scalar *v, const char **unit, size_t *unit_n)
{
    bool have_value = false, more = true;
    *unit = NULL;
    if (eat(c, '}'))
        return false; /* {} : no value */
    while (more) {
        const char *k;
        size_t kn;
        if (!read_key(c, &k, &kn))
            return false;
        if (key_is(k, kn, "value") && !have_value) {
            if (!read_scalar(c, v))
                return false;
            have_value = true;
        } else if (key_is(k, kn, "unit") && !*unit) {
            skip_ws(c);
            if (!read_string(c, unit, unit_n))
                return false;
        } else {
            return false;
        }
        if (!member_end(c, &more))
            return false;
    }
    return have_value;
}

/* `b` back to its first `len` bytes (still NUL-terminated). */
static void cut_to(buf *b, size_t len)
{
    b->len = len;
    if (b->data)
        b->data[len] = 0;
}

static int field_of(const profile *p, const char *k, size_t kn, size_t hint)
{
    if (hint < p->nfields && key_is(k, kn, p->fields[hint].name))
        return (int)hint;
    for (size_t i = 0; i < p->nfields; i++)
        if (key_is(k, kn, p->fields[i].name))
            return (int)i;
    return -1;
}

/* The values object (at its '{'), read into its profile slots and packed
 * (on false, partly perhaps). */
static bool pack_values(const profile *pf, cur *c, buf *packed)
{
    profile_scalar slot[PROFILE_MAX_FIELDS];
    for (size_t i = 0; i < pf->nfields; i++)
        slot[i].kind = PROFILE_V_ABSENT;
    if (!eat(c, '{'))
        return false;
    bool more = !eat(c, '}');
    size_t hint = 0; /* readings usually list fields in profile order */
    while (more) {
        const char *k;
        size_t kn;
        if (!read_key(c, &k, &kn))
            return false;
        int fi = field_of(pf, k, kn, hint);
        if (fi < 0 || slot[fi].kind != PROFILE_V_ABSENT)
            return false;
        hint = (size_t)fi + 1;
        const profile_field *f = &pf->fields[fi];
        profile_scalar *v = &slot[fi];
        if (eat(c, '{')) {
            const char *u;
            size_t un;
            if (!read_value_object(c, v, &u, &un) ||
                (u && (!f->unit || !key_is(u, un, f->unit))))
                return false;
        } else if (!read_scalar(c, v)) {
            return false;
        }
        if (!member_end(c, &more))
            return false;
    }
    char detail[256]; /* unused: a refusal is the tree reader's to explain */
    return profile_pack_values(pf, slot, packed, detail, sizeof detail) == PROFILE_OK;
}

/* Skip a values object (at its '{') that the direct reader can read. */
static bool skip_values(cur *c)
{
    if (!eat(c, '{'))
        return false;
    bool more = !eat(c, '}');
    while (more) {
        const char *k, *u;
        size_t kn, un;
        profile_scalar v;
        if (!read_key(c, &k, &kn))
            return false;
        if (eat(c, '{') ? !read_value_object(c, &v, &u, &un) : !read_scalar(c, &v))
            return false;
        if (!member_end(c, &more))
            return false;
    }
    return true;
}

/* The direct reader: true when the line is in the plain form and valid.
 * The values are packed as they are read when the device came before them
 * (the usual order), else skipped and packed after the line is read. On
 * false `packed` may hold part of the values: the caller cuts it back. */
static bool check_direct(const char *p, size_t n, rline_device_fn device, void *ctx,
                         buf *packed, rline_out *out)
{
    cur c = {p, p + n};
    const char *dev = NULL, *tm = NULL, *vals = NULL;
    size_t devn = 0, tmn = 0;
    const profile *pf = NULL;
    if (!eat(&c, '{'))
        return false;
    bool more = true;
    while (more) {
        const char *k;
        size_t kn;
        if (!read_key(&c, &k, &kn))
            return false;
        skip_ws(&c);
        if (key_is(k, kn, "device") && !dev) {
            if (!read_string(&c, &dev, &devn))
                return false;
        } else if (key_is(k, kn, "time") && !tm) {
            if (!read_string(&c, &tm, &tmn))
                return false;
        } else if (key_is(k, kn, "values") && !vals) {
            vals = c.p;
            if (dev && !(pf = device(ctx, dev, devn, &out->dev)))
                return false;
            if (pf ? !pack_values(pf, &c, packed) : !skip_values(&c))
                return false;
        } else {
            return false;
        }
        if (!member_end(&c, &more))
            return false;
    }
    skip_ws(&c);
    if (c.p != c.end || !dev || !tm || !vals)
        return false;
    if (rfc3339_parse(tm, tmn, &out->time))
        return false;
    if (!pf) {
        cur vc = {vals, c.end};
        if (!(pf = device(ctx, dev, devn, &out->dev)) || !pack_values(pf, &vc, packed))
            return false;
    }
    size_t dn = devn < sizeof out->devname - 1 ? devn : sizeof out->devname - 1;
    memcpy(out->devname, dev, dn);
    out->devname[dn] = 0;
    out->detail[0] = 0;
    return true;
}

profile_reason rline_check(const char *p, size_t n, rline_device_fn device, void *ctx,
                           buf *packed, rline_out *out)
{
    size_t mark = packed->len;
    if (check_direct(p, n, device, ctx, packed, out))
        return PROFILE_OK;
    cut_to(packed, mark);
    return rline_check_tree(p, n, device, ctx, packed, out);
}
