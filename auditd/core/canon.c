#include "canon.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const canon_limits canon_event_limits = {65536, 16, 4096};

/* ---- Fast scanning -----------------------------------------------------------
 * Most strings in events need no escaping. These find, eight bytes at a time,
 * the length of the leading run of bytes that stand for themselves in a
 * canonical string: not '"', not '\\', not a control character (and, for
 * `ascii_run`, below 0x80). */

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
/* A byte of x is zero / below n (n <= 0x80) -> its high bit set in the result. */
#define HAS_ZERO(x) (((x) - ONES) & ~(x) & HIGHS)
#define HAS_LESS(x, n) (((x) - ONES * (n)) & ~(x) & HIGHS)

static inline bool plain8(uint64_t x, bool ascii)
{
    uint64_t bad = HAS_LESS(x, 0x20) | HAS_ZERO(x ^ (ONES * '"')) | HAS_ZERO(x ^ (ONES * '\\'));
    return !(bad | (ascii ? x & HIGHS : 0));
}

static inline bool plain1(unsigned char c, bool ascii)
{
    return c >= 0x20 && c != '"' && c != '\\' && (!ascii || c < 0x80);
}

static size_t run_of(const unsigned char *s, size_t n, bool ascii)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (!plain8(x, ascii))
            break;
    }
    while (i < n && plain1(s[i], ascii))
        i++;
    return i;
}

/* One object member while its object is being canonicalised: where its
 * decoded key sits in the key scratch buffer and where its canonical
 * "key":value text sits in the output. */
typedef struct member {
    size_t key_off, key_len; /* in p->keys */
    size_t out_off, out_len; /* in out */
} member;

typedef struct parser {
    const char *s;
    size_t n, i;
    const canon_limits *lim;
    size_t values;
    buf *out;
    buf keys;     /* decoded keys of the objects being parsed */
    buf tmp;      /* decoded string scratch */
    member *mem;  /* a stack of members, objects use slices */
    size_t nmem, capmem;
    member *sorttmp; /* merge sort scratch, reused */
    size_t capsort;
    buf copy;        /* object body scratch for reordering, reused */
    adt_err *err;
} parser;

static int fail(parser *p, const char *what)
{
    return adt_fail(p->err, ADT_EINVAL, "invalid JSON at byte %zu: %s", p->i, what);
}

static void skip_ws(parser *p)
{
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->i++;
    }
}

/* Length of the UTF-8 sequence at s[0..n) if valid, else 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2)
        return 0;
    if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        return 2;
    }
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && s[1] >= 0xA0)
            return 0; /* surrogate */
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90)
            return 0;
        if (c == 0xF4 && s[1] >= 0x90)
            return 0;
        return 4;
    }
    return 0;
}

bool canon_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(u + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

static int put_utf8(buf *b, uint32_t cp)
{
    char t[4];
    size_t k;
    if (cp < 0x80) {
        t[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        t[0] = (char)(0xF0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    return buf_append(b, t, k);
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* If the string at p->i (which is '"') has no escape and no control
 * character, it is its own canonical form: its length with both quotes,
 * else 0. Checks the UTF-8 of what it passes over. */
static size_t plain_string(const parser *p)
{
    const unsigned char *u = (const unsigned char *)p->s;
    size_t i = p->i + 1;
    for (;;) {
        i += run_of(u + i, p->n - i, true);
        if (i >= p->n)
            return 0;
        if (u[i] == '"')
            return i + 1 - p->i;
        if (u[i] < 0x80)
            return 0; /* an escape or a control character */
        size_t k = utf8_seq(u + i, p->n - i);
        if (!k)
            return 0; /* invalid: the slow path says where */
        i += k;
    }
}

/* Parse a string at p->i (which is '"') and append its decoded bytes to `dst`. */
static int parse_string(parser *p, buf *dst)
{
    p->i++;
    const unsigned char *u = (const unsigned char *)p->s;
    for (;;) {
        size_t run = p->i;
        p->i += run_of(u + p->i, p->n - p->i, true);
        if (p->i > run && buf_append(dst, p->s + run, p->i - run))
            return adt_fail(p->err, ADT_ETOOBIG, "string too long");
        if (p->i >= p->n)
            return fail(p, "unterminated string");
        unsigned char c = u[p->i];
        if (c == '"') {
            p->i++;
            return ADT_OK;
        }
        if (c < 0x20)
            return fail(p, "control character in string (escape it)");
        if (c >= 0x80) {
            size_t k = utf8_seq(u + p->i, p->n - p->i);
            if (!k)
                return fail(p, "invalid UTF-8");
            if (buf_append(dst, p->s + p->i, k))
                return adt_fail(p->err, ADT_ETOOBIG, "string too long");
            p->i += k;
            continue;
        }
        /* backslash */
        if (p->i + 1 >= p->n)
            return fail(p, "unterminated escape");
        char e = p->s[p->i + 1];
        char lit = 0;
        switch (e) {
        case '"': lit = '"'; break;
        case '\\': lit = '\\'; break;
        case '/': lit = '/'; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u': break;
        default: return fail(p, "invalid escape");
        }
        if (lit) {
            if (buf_putc(dst, lit))
                return adt_fail(p->err, ADT_ETOOBIG, "string too long");
            p->i += 2;
            continue;
        }
        uint32_t cp;
        if (p->i + 6 > p->n || hex4(p->s + p->i + 2, &cp))
            return fail(p, "invalid \\u escape");
        p->i += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return fail(p, "lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (p->i + 6 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
                hex4(p->s + p->i + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return fail(p, "lone high surrogate");
            p->i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (put_utf8(dst, cp))
            return adt_fail(p->err, ADT_ETOOBIG, "string too long");
    }
}

int canon_unquote(const char *v, size_t vlen, char *out, size_t cap, size_t *outlen)
{
    if (vlen < 2 || v[0] != '"' || cap == 0)
        return ADT_EINVAL;
    const unsigned char *u = (const unsigned char *)v;
    size_t n = vlen - 2;
    bool plain = u[vlen - 1] == '"', ascii = true;
    for (size_t i = 1; plain && i <= n; i++) {
        plain = u[i] >= 0x20 && u[i] != '\\' && u[i] != '"';
        ascii = ascii && u[i] < 0x80;
    }
    if (plain && (ascii || canon_utf8_valid(v + 1, n))) {
        /* The common case: no escape, so the text is the string. */
        if (n >= cap)
            return ADT_ETOOBIG;
        memcpy(out, v + 1, n);
        out[n] = '\0';
        if (outlen)
            *outlen = n;
        return ADT_OK;
    }
    buf dst;
    buf_init(&dst, cap - 1);
    parser p = {.s = v, .n = vlen, .i = 0};
    int rc = parse_string(&p, &dst);
    if (!rc && p.i != vlen)
        rc = ADT_EINVAL; /* something after the closing quote */
    if (!rc) {
        memcpy(out, dst.data ? dst.data : "", dst.len);
        out[dst.len] = '\0';
        if (outlen)
            *outlen = dst.len;
    }
    buf_free(&dst);
    return rc == ADT_OK || rc == ADT_ETOOBIG ? rc : ADT_EINVAL;
}

int canon_put_string(buf *out, const char *s, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    int rc = buf_putc(out, '"');
    size_t run = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n && !rc; i++) {
        i += run_of(u + i, n - i, false);
        if (i >= n)
            break;
        unsigned char c = u[i];
        rc = buf_append(out, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0};
        size_t k = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hexd[c >> 4];
            esc[5] = hexd[c & 15];
            k = 6;
        }
        if (!rc)
            rc = buf_append(out, esc, k);
    }
    if (!rc)
        rc = buf_append(out, s + run, n - run);
    if (!rc)
        rc = buf_putc(out, '"');
    return rc;
}

/* True if the JSON number s[0..n) (grammar already checked, n <= 64) is
 * finite as a double and is 0 only when written as zero. strtod is
 * locale-dependent only for the decimal point, and auditd never calls
 * setlocale, so the C locale's '.' applies. */
static bool number_fits_double(const char *s, size_t n)
{
    char tmp[72];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    double v = strtod(tmp, NULL);
    if (isinf(v))
        return false;
    if (v != 0.0)
        return true;
    /* Zero: fine if every mantissa digit is 0 (0e5, 0.00E-3). */
    for (size_t i = 0; i < n && s[i] != 'e' && s[i] != 'E'; i++)
        if (s[i] >= '1' && s[i] <= '9')
            return false;
    return true;
}

/* The JSON number grammar (RFC 8259 section 6) from s[*i]: NULL with *i
 * just past the number, or what is wrong with *i at the byte that breaks
 * the grammar. *has_exp when the number has an exponent. Shared by
 * canon_json and canon_is_canonical. */
static const char *scan_number(const char *s, size_t n, size_t *i, bool *has_exp)
{
    size_t k = *i;
    const char *what = NULL;
    *has_exp = false;
    if (k < n && s[k] == '-')
        k++;
    if (k >= n) {
        what = "truncated number";
    } else if (s[k] == '0') {
        k++;
    } else if (s[k] >= '1' && s[k] <= '9') {
        while (k < n && s[k] >= '0' && s[k] <= '9')
            k++;
    } else {
        what = "invalid number";
    }
    if (!what && k < n && s[k] == '.') {
        size_t d = ++k;
        while (k < n && s[k] >= '0' && s[k] <= '9')
            k++;
        if (k == d)
            what = "digits expected after decimal point";
    }
    if (!what && k < n && (s[k] == 'e' || s[k] == 'E')) {
        *has_exp = true;
        k++;
        if (k < n && (s[k] == '+' || s[k] == '-'))
            k++;
        size_t d = k;
        while (k < n && s[k] >= '0' && s[k] <= '9')
            k++;
        if (k == d)
            what = "digits expected in exponent";
    }
    *i = k;
    return what;
}

static int parse_number(parser *p)
{
    size_t st = p->i;
    const char *s = p->s;
    bool has_exp;
    const char *what = scan_number(s, p->n, &p->i, &has_exp);
    if (what)
        return fail(p, what);
    if (p->i - st > 64)
        return fail(p, "number longer than 64 characters");
    /* Numbers are kept as written, but every reader (cJSON, the rules, a
     * verifier in another language) turns them into IEEE 754 doubles: one
     * that becomes infinity (1e999) or zero although it is not (1e-999)
     * would mean something else to each of them, so it is refused. Without
     * an exponent a number of at most 64 characters always fits. */
    if (has_exp && !number_fits_double(s + st, p->i - st))
        return fail(p, "number out of the range of a 64-bit floating-point value (RFC 8259 "
                       "section 6: interoperable numbers fit an IEEE 754 double)");
    if (buf_append(p->out, s + st, p->i - st))
        return adt_fail(p->err, ADT_ETOOBIG, "canonical form too large");
    return ADT_OK;
}

static int push_member(parser *p, member m)
{
    if (p->nmem == p->capmem) {
        size_t cap = p->capmem ? p->capmem * 2 : 32;
        member *nm = realloc(p->mem, cap * sizeof *nm);
        if (!nm)
            return adt_fail(p->err, ADT_ENOMEM, "out of memory");
        p->mem = nm;
        p->capmem = cap;
    }
    p->mem[p->nmem++] = m;
    return ADT_OK;
}



/* qsort has no context argument in C11; members are sorted with a small
 * insertion/merge sort of our own instead, which is also stable. */
static int key_cmp(const char *keys, const member *a, const member *b)
{
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(keys + a->key_off, keys + b->key_off, n);
    if (c)
        return c;
    return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

static void merge_sort(const char *keys, member *m, member *tmp, size_t n)
{
    if (n < 2)
        return;
    if (n <= 8) {
        for (size_t i = 1; i < n; i++) {
            member x = m[i];
            size_t j = i;
            while (j > 0 && key_cmp(keys, &m[j - 1], &x) > 0) {
                m[j] = m[j - 1];
                j--;
            }
            m[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    merge_sort(keys, m, tmp, h);
    merge_sort(keys, m + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = key_cmp(keys, &m[i], &m[j]) <= 0 ? m[i++] : m[j++];
    while (i < h)
        tmp[k++] = m[i++];
    while (j < n)
        tmp[k++] = m[j++];
    memcpy(m, tmp, n * sizeof *m);
}

static int parse_value(parser *p, int depth);

/* One "key": value of an object whose members start at p->mem[base]:
 * the key collected in p->keys, the member written to p->out (after a comma
 * unless it is the first) and recorded for sorting. */
static int parse_member(parser *p, int depth, size_t base)
{
    skip_ws(p);
    if (p->i >= p->n || p->s[p->i] != '"')
        return fail(p, "object key (a string) expected");
    member m;
    m.key_off = p->keys.len;
    size_t key_at = p->i, plain = plain_string(p);
    int rc = plain ? buf_append(&p->keys, p->s + p->i + 1, plain - 2) : parse_string(p, &p->keys);
    if (rc)
        return rc == ADT_ETOOBIG ? adt_fail(p->err, rc, "string too long") : rc;
    p->i += plain;
    m.key_len = p->keys.len - m.key_off;
    skip_ws(p);
    if (p->i >= p->n || p->s[p->i] != ':')
        return fail(p, "':' expected after object key");
    p->i++;
    skip_ws(p);
    if (p->nmem > base && buf_putc(p->out, ','))
        return adt_fail(p->err, ADT_ETOOBIG, "canonical form too large");
    m.out_off = p->out->len;
    /* A plain key is its own canonical form (see plain_string). */
    rc = plain ? buf_append(p->out, p->s + key_at, plain)
               : canon_put_string(p->out, p->keys.data + m.key_off, m.key_len);
    if (!rc)
        rc = buf_putc(p->out, ':');
    if (rc)
        return adt_fail(p->err, ADT_ETOOBIG, "canonical form too large");
    if ((rc = parse_value(p, depth)))
        return rc;
    m.out_len = p->out->len - m.out_off;
    return push_member(p, m);
}

/* The members p->mem[base..] of the object whose '{' is at obj_start in
 * p->out: sorted by key (RFC 8785 order), a duplicate key refused, and the
 * body rewritten in key order when it was not already. */
static int order_members(parser *p, size_t base, size_t obj_start)
{
    size_t cnt = p->nmem - base;
    member *ms = p->mem + base;
    if (cnt > p->capsort) {
        member *t = realloc(p->sorttmp, cnt * sizeof *t);
        if (!t)
            return adt_fail(p->err, ADT_ENOMEM, "out of memory");
        p->sorttmp = t;
        p->capsort = cnt;
    }
    merge_sort(p->keys.data, ms, p->sorttmp, cnt);
    bool sorted = true;
    for (size_t k = 1; k < cnt; k++) {
        if (key_cmp(p->keys.data, &ms[k - 1], &ms[k]) == 0) {
            char key[64];
            size_t kl = ms[k].key_len < sizeof key - 1 ? ms[k].key_len : sizeof key - 1;
            memcpy(key, p->keys.data + ms[k].key_off, kl);
            key[kl] = '\0';
            return adt_fail(p->err, ADT_EINVAL,
                            "invalid JSON before byte %zu: duplicate key \"%s\" in object", p->i,
                            key);
        }
        sorted = sorted && ms[k].out_off > ms[k - 1].out_off;
    }
    if (sorted)
        return ADT_OK;
    size_t body_start = obj_start + 1, body_len = p->out->len - body_start;
    buf_reset(&p->copy);
    if (buf_append(&p->copy, p->out->data + body_start, body_len))
        return adt_fail(p->err, ADT_ENOMEM, "out of memory");
    const char *copy = p->copy.data;
    size_t w = body_start;
    for (size_t k = 0; k < cnt; k++) {
        if (k)
            p->out->data[w++] = ',';
        memcpy(p->out->data + w, copy + (ms[k].out_off - body_start), ms[k].out_len);
        w += ms[k].out_len;
    }
    return ADT_OK;
}

/* The opening `open` of an object or array at `depth`: copied to the
 * output. *empty when `close` follows at once (consumed and copied too). */
static int open_container(parser *p, int depth, char open, char close, bool *empty)
{
    if (depth > p->lim->max_depth)
        return adt_fail(p->err, ADT_EINVAL, "invalid JSON at byte %zu: nesting deeper than %d",
                        p->i, p->lim->max_depth);
    p->i++;
    if (buf_putc(p->out, open))
        return adt_fail(p->err, ADT_ETOOBIG, "canonical form too large");
    skip_ws(p);
    *empty = p->i < p->n && p->s[p->i] == close;
    if (!*empty)
        return ADT_OK;
    p->i++;
    return buf_putc(p->out, close) ? adt_fail(p->err, ADT_ETOOBIG, "too large") : ADT_OK;
}

/* After an element of a container closed by `close`: true to go on (a
 * comma), false at its end; *rc set when neither follows. */
static bool next_element(parser *p, char close, const char *what, int *rc)
{
    skip_ws(p);
    if (p->i < p->n && (p->s[p->i] == ',' || p->s[p->i] == close))
        return p->s[p->i++] == ',';
    *rc = fail(p, what);
    return false;
}

static int parse_object(parser *p, int depth)
{
    size_t obj_start = p->out->len;
    size_t base = p->nmem;
    size_t keys_base = p->keys.len;
    bool empty;
    int rc = open_container(p, depth, '{', '}', &empty);
    if (rc || empty)
        return rc;
    do {
        if ((rc = parse_member(p, depth, base)))
            return rc;
    } while (next_element(p, '}', "',' or '}' expected in object", &rc));
    if (!rc)
        rc = order_members(p, base, obj_start);
    if (rc)
        return rc;
    p->nmem = base;
    p->keys.len = keys_base;
    if (buf_putc(p->out, '}'))
        return adt_fail(p->err, ADT_ETOOBIG, "canonical form too large");
    return ADT_OK;
}

static int parse_array(parser *p, int depth)
{
    bool empty;
    int rc = open_container(p, depth, '[', ']', &empty);
    if (rc || empty)
        return rc;
    for (bool first = true;; first = false) {
        if (!first && buf_putc(p->out, ','))
            return adt_fail(p->err, ADT_ETOOBIG, "canonical form too large");
        skip_ws(p);
        if ((rc = parse_value(p, depth)))
            return rc;
        if (!next_element(p, ']', "',' or ']' expected in array", &rc))
            break;
    }
    if (rc)
        return rc;
    return buf_putc(p->out, ']') ? adt_fail(p->err, ADT_ETOOBIG, "too large") : ADT_OK;
}

static int literal(parser *p, const char *lit)
{
    size_t k = strlen(lit);
    if (p->n - p->i < k || memcmp(p->s + p->i, lit, k) != 0)
        return fail(p, "unexpected character");
    p->i += k;
    return buf_append(p->out, lit, k) ? adt_fail(p->err, ADT_ETOOBIG, "too large") : ADT_OK;
}

static int parse_value(parser *p, int depth)
{
    if (++p->values > p->lim->max_members)
        return adt_fail(p->err, ADT_ETOOBIG, "JSON has more than %zu values", p->lim->max_members);
    if (p->i >= p->n)
        return fail(p, "value expected");
    char c = p->s[p->i];
    switch (c) {
    case '{': return parse_object(p, depth + 1);
    case '[': return parse_array(p, depth + 1);
    case '"': {
        size_t plain = plain_string(p);
        if (plain) {
            p->i += plain;
            return buf_append(p->out, p->s + p->i - plain, plain)
                       ? adt_fail(p->err, ADT_ETOOBIG, "canonical form too large")
                       : ADT_OK;
        }
        buf_reset(&p->tmp);
        int rc = parse_string(p, &p->tmp);
        if (rc)
            return rc;
        return canon_put_string(p->out, p->tmp.data ? p->tmp.data : "", p->tmp.len)
                   ? adt_fail(p->err, ADT_ETOOBIG, "canonical form too large")
                   : ADT_OK;
    }
    case 't': return literal(p, "true");
    case 'f': return literal(p, "false");
    case 'n': return literal(p, "null");
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return parse_number(p);
        return fail(p, "unexpected character");
    }
}

int canon_json(const char *in, size_t len, const canon_limits *lim, bool require_object,
               buf *out, adt_err *err)
{
    if (!lim)
        lim = &canon_event_limits;
    if (len > lim->max_bytes)
        return adt_fail(err, ADT_ETOOBIG, "JSON of %zu bytes is over the limit of %zu bytes", len,
                        lim->max_bytes);
    parser p = {.s = in, .n = len, .lim = lim, .out = out, .err = err};
    buf_init(&p.keys, len + 16);
    buf_init(&p.tmp, len + 16);
    buf_init(&p.copy, 2 * len + 16);
    /* Allocate both up front so their data pointers are never NULL. */
    if (buf_append(&p.keys, "", 0) || buf_append(&p.tmp, "", 0)) {
        buf_free(&p.keys);
        buf_free(&p.tmp);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    size_t start = out->len;
    skip_ws(&p);
    int rc;
    if (require_object && (p.i >= p.n || p.s[p.i] != '{'))
        rc = fail(&p, "a JSON object is expected");
    else
        rc = parse_value(&p, 0);
    if (!rc) {
        skip_ws(&p);
        if (p.i != p.n)
            rc = fail(&p, "trailing characters after the JSON value");
    }
    buf_free(&p.keys);
    buf_free(&p.tmp);
    buf_free(&p.copy);
    free(p.mem);
    free(p.sorttmp);
    if (rc) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return rc;
}

/* ---- canon_is_canonical ----
 * A walk over the input that accepts only what canon_json would copy
 * unchanged: no whitespace; strings without escapes or control characters
 * and of valid UTF-8 (plain_string: exactly the strings canon_json copies as
 * they are); numbers of the JSON grammar without an exponent (canon_json
 * copies them verbatim; with an exponent it checks the range: declined
 * here); true, false, null; object members in strictly increasing memcmp
 * order of their keys (for keys without escapes the bytes are the decoded
 * key, which canon_json sorts by); the depth and value limits. */
typedef struct ccheck {
    const char *s;
    size_t n, i;
    const canon_limits *lim;
    size_t values;
} ccheck;

static bool cc_value(ccheck *c, int depth);

/* A number canon_json copies as it is: no exponent, at most 64 characters. */
static bool cc_number(ccheck *c)
{
    size_t i = c->i;
    bool has_exp;
    if (scan_number(c->s, c->n, &i, &has_exp) || has_exp || i - c->i > 64)
        return false;
    c->i = i;
    return true;
}

/* A plain string at c->i (which is '"'): its length with both quotes. */
static size_t cc_string(ccheck *c)
{
    parser p = {.s = c->s, .n = c->n, .i = c->i};
    return plain_string(&p);
}

static bool cc_literal(ccheck *c, const char *lit)
{
    size_t k = strlen(lit);
    if (c->n - c->i < k || memcmp(c->s + c->i, lit, k) != 0)
        return false;
    c->i += k;
    return true;
}

/* Past the '{' or '[' at c->i; true when `close` follows at once (the
 * empty container, then passed as well). */
static bool cc_open_empty(ccheck *c, char close)
{
    c->i++;
    if (c->i < c->n && c->s[c->i] == close) {
        c->i++;
        return true;
    }
    return false;
}

/* After a member: 1 past `close`, 0 past ',', -1 at anything else. */
static int cc_after_member(ccheck *c, char close)
{
    if (c->i >= c->n)
        return -1;
    char x = c->s[c->i++];
    return x == close ? 1 : x == ',' ? 0 : -1;
}

static bool cc_object(ccheck *c, int depth)
{
    if (cc_open_empty(c, '}'))
        return true;
    const char *prev = NULL;
    size_t prev_len = 0;
    for (;;) {
        if (c->i >= c->n || c->s[c->i] != '"')
            return false;
        size_t kl = cc_string(c);
        if (!kl)
            return false;
        const char *key = c->s + c->i + 1;
        kl -= 2;
        if (prev) {
            size_t m = prev_len < kl ? prev_len : kl;
            int cmp = memcmp(prev, key, m);
            if (cmp > 0 || (cmp == 0 && prev_len >= kl))
                return false; /* out of order, or a duplicate: canon_json decides */
        }
        prev = key;
        prev_len = kl;
        c->i += kl + 2;
        if (c->i >= c->n || c->s[c->i] != ':')
            return false;
        c->i++;
        if (!cc_value(c, depth))
            return false;
        int r = cc_after_member(c, '}');
        if (r)
            return r > 0;
    }
}

static bool cc_array(ccheck *c, int depth)
{
    if (cc_open_empty(c, ']'))
        return true;
    for (;;) {
        if (!cc_value(c, depth))
            return false;
        int r = cc_after_member(c, ']');
        if (r)
            return r > 0;
    }
}

static bool cc_value(ccheck *c, int depth)
{
    if (++c->values > c->lim->max_members || c->i >= c->n)
        return false;
    char x = c->s[c->i];
    switch (x) {
    case '{': return depth + 1 <= c->lim->max_depth && cc_object(c, depth + 1);
    case '[': return depth + 1 <= c->lim->max_depth && cc_array(c, depth + 1);
    case '"': {
        size_t l = cc_string(c);
        c->i += l;
        return l > 0;
    }
    case 't': return cc_literal(c, "true");
    case 'f': return cc_literal(c, "false");
    case 'n': return cc_literal(c, "null");
    default: return (x == '-' || (x >= '0' && x <= '9')) && cc_number(c);
    }
}

bool canon_is_canonical(const char *in, size_t len, const canon_limits *lim)
{
    if (!lim)
        lim = &canon_event_limits;
    if (!in || len == 0 || len > lim->max_bytes || in[0] != '{')
        return false;
    ccheck c = {.s = in, .n = len, .i = 0, .lim = lim};
    return cc_value(&c, 0) && c.i == len;
}

/* Index just past the closing quote of the string whose body starts at
 * s[i] (just after its opening quote); n + 1 when it is not terminated.
 * Strings are most of an event: their bodies are crossed eight bytes at a
 * time, stopping only at a quote or a backslash. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
    for (;;) {
        for (; i + 8 <= n; i += 8) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (HAS_ZERO(x ^ (ONES * '"')) | HAS_ZERO(x ^ (ONES * '\\')))
                break;
        }
        while (i < n && s[i] != '"' && s[i] != '\\')
            i++;
        if (i >= n)
            return n + 1;
        if (s[i] == '"')
            return i + 1;
        i += 2; /* an escape: the next byte is never the closing quote */
    }
}

/* Skip one JSON value starting at s[i] (no validation beyond structure). */
size_t canon_skip_value(const char *s, size_t n, size_t i)
{
    int depth = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            i = skip_string(s, n, i + 1);
            if (depth == 0 || i > n)
                return i;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return i;
            depth--;
            if (depth == 0)
                return i + 1;
        } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            return i;
        }
        i++;
    }
    return i;
}

int canon_member(const char *json, size_t len, const char *key, const char **val, size_t *vlen)
{
    size_t klen = strlen(key), i = 0;
    while (i < len && strchr(" \t\r\n", json[i]))
        i++;
    if (i >= len || json[i] != '{')
        return ADT_EINVAL;
    i++;
    while (i < len) {
        while (i < len && strchr(" \t\r\n,", json[i]))
            i++;
        if (i >= len || json[i] == '}')
            return ADT_ENOTFOUND;
        if (json[i] != '"')
            return ADT_EINVAL;
        size_t ks = i + 1;
        size_t ke = canon_skip_value(json, len, i) - 1;
        if (ke > len)
            return ADT_EINVAL;
        i = ke + 1;
        while (i < len && strchr(" \t\r\n", json[i]))
            i++;
        if (i >= len || json[i] != ':')
            return ADT_EINVAL;
        i++;
        while (i < len && strchr(" \t\r\n", json[i]))
            i++;
        size_t vs = i, ve = canon_skip_value(json, len, i);
        if (ve > len || ve == vs)
            return ADT_EINVAL;
        if (ke - ks == klen && memcmp(json + ks, key, klen) == 0) {
            *val = json + vs;
            *vlen = ve - vs;
            return ADT_OK;
        }
        i = ve;
    }
    return ADT_ENOTFOUND;
}
