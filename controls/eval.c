/* eval.c: the evidence rule engine (see eval.h for the window semantics). */
#include "eval.h"

#include "buf.h"
#include "canon.h"
#include "event.h"
#include "leaf.h"
#include "numparse.h"
#include "rfc3339.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAUSES_PER_KEY 16 /* newest causes kept per key (precedes) */
#define SCRATCH_MAX (64 * 1024)

/* ---- a string-keyed hash map (open addressing, no deletion) ------------- */

typedef struct smap {
    char **keys;
    void **vals;
    uint64_t *hashes;
    size_t cap, n;
} smap;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void **smap_find_h(const smap *m, const char *k, uint64_t h)
{
    if (!m->cap)
        return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return NULL;
        if (m->hashes[i] == h && !strcmp(m->keys[i], k))
            return &m->vals[i];
    }
}

static void **smap_find(const smap *m, const char *k) { return smap_find_h(m, k, hash_str(k)); }

/* The value slot for `k`, created (NULL value) if absent; NULL on OOM. */
static void **smap_put(smap *m, const char *k)
{
    uint64_t h = hash_str(k);
    void **v = smap_find_h(m, k, h);
    if (v)
        return v;
    if ((m->n + 1) * 10 > m->cap * 7) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        char **nk = calloc(nc, sizeof *nk);
        void **nv = calloc(nc, sizeof *nv);
        uint64_t *nh = calloc(nc, sizeof *nh);
        if (!nk || !nv || !nh) {
            free(nk);
            free(nv);
            free(nh);
            return NULL;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = m->hashes[i] & (nc - 1);
            while (nk[j])
                j = (j + 1) & (nc - 1);
            nk[j] = m->keys[i];
            nv[j] = m->vals[i];
            nh[j] = m->hashes[i];
        }
        free(m->keys);
        free(m->vals);
        free(m->hashes);
        m->keys = nk;
        m->vals = nv;
        m->hashes = nh;
        m->cap = nc;
    }
    char *kc = strdup(k);
    if (!kc)
        return NULL;
    size_t i = h & (m->cap - 1);
    while (m->keys[i])
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = kc;
    m->vals[i] = NULL;
    m->hashes[i] = h;
    m->n++;
    return &m->vals[i];
}

/* The stored copy of key `k` (the map's own string). */
static const char *smap_key_of(const smap *m, void **slot) { return m->keys[slot - m->vals]; }

static void smap_free(smap *m, void (*freeval)(void *))
{
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        free(m->keys[i]);
        if (freeval)
            freeval(m->vals[i]);
    }
    free(m->keys);
    free(m->vals);
    free(m->hashes);
    memset(m, 0, sizeof *m);
}

/* ---- state ---------------------------------------------------------------- */

typedef struct finding {
    char *msg;
    const char *owner; /* lives in the RACI policy */
    uint64_t index;
    bool has_index;
    int64_t time;
} finding;

typedef struct cause {
    const char *actor; /* interned */
    char *eqv; /* field-equals: the joined compared values */
    int64_t time;
    uint64_t index;
} cause;

typedef struct cause_list {
    size_t n, cap;
    cause v[]; /* oldest first, at most CAUSES_PER_KEY */
} cause_list;

typedef struct idxvec {
    size_t *v;
    size_t n, cap;
} idxvec;

typedef struct oblig {
    char *key;      /* for messages */
    const char *party;    /* each-informed: who must answer (interned) */
    const char *activity; /* interned */
    char *wrong;    /* first answer by someone not allowed to */
    char *what;     /* revoked-within: what is held */
    uint64_t index; /* the trigger */
    int64_t time, deadline;
    bool done;
} oblig;

typedef struct grant {
    char *principal;
    char *what;
    uint64_t index;
    bool active;
    long obl; /* open obligation, or -1 */
} grant;

typedef struct ptrvec {
    void **v;
    size_t n, cap;
} ptrvec;

typedef struct rstate {
    const rule *r;
    uint64_t checked;
    uint64_t ev_count;
    uint64_t ev[EVAL_MAX_LIST];
    size_t nev;
    finding *f;
    size_t nf;
    uint64_t f_count;
    smap m1, m2;
    oblig *ob;
    size_t nob, capob;
    size_t ndone; /* within: answered obligations still in ob */
    int64_t *times;
    size_t nt, capt;
    double num, den;
} rstate;

enum { ROLE_LATER = 0, ROLE_UNTIL, ROLE_EARLIER, ROLE_SEL, ROLE_SEL2, ROLE_REVOKE };

typedef struct interest {
    rstate *rs;
    int role;
    size_t idx;
} interest;

typedef struct ivec {
    interest *v;
    size_t n, cap;
} ivec;

/* The top-level members of a JSON object, found in one pass, so that rules
 * asking for many fields of one event do not rescan it. */
#define JOBJ_MAX 48
typedef struct jmember {
    const char *k, *v;
    size_t kl, vl;
} jmember;

typedef struct jobj {
    const char *s;
    size_t n;
    jmember m[JOBJ_MAX];
    size_t count;
    bool overflow; /* more members than JOBJ_MAX: fall back to canon_member */
} jobj;

typedef struct ev {
    uint64_t index;
    const char *leaf;
    size_t len;
    const char *payload;
    size_t plen;
    jobj pm; /* the payload's members */
    char type[EVENT_TYPE_MAX + 1];
    int64_t time;
    char actor[EVENT_ACTOR_MAX + 1];
} ev;

struct eval_engine {
    const rules_set *rules;
    const raci_policy *raci;
    int64_t from, to;
    rstate *rs;
    smap dispatch; /* type -> ivec* */
    ivec star;     /* interests in every type */
    uint64_t next, fed, skipped;
    int64_t first_time, last_as_of;
    buf s1, s2, key;
    smap strings; /* interned actors, activities, parties: few distinct values */
    raci_eval *re;
    bool has_raci_rules;
    bool has_ledger_order; /* some precedes rule orders its causes by the ledger */
    char raci_error[ADT_ERR_MAX + 96]; /* the RACI evaluator refused an event (bound) */
    uint64_t raci_checked;
    int64_t max_time;      /* latest event time fed (the ledger's own clock) */
    int64_t raci_advanced; /* the persistent RACI evaluator has passed this time */
    struct tmpf *tmp;      /* deadline findings of a result's RACI clone */
    size_t ntmp, captmp;
    bool oom;
};

/* The RACI evaluator keeps deadline obligations until told the time has
 * passed. The engine tells it the time of its latest event minus this grace
 * (so an event recorded up to a week late still counts), which depends only
 * on the entries fed: continuous and period evaluation stay identical.
 * Deadlines closer than that are judged on a copy at result time. */
#define RACI_GRACE_US (7LL * 86400 * 1000000)
#define RACI_ADVANCE_STEP_US (3600LL * 1000000)

typedef struct tmpf {
    size_t rule;
    char *msg;
    const char *owner; /* interned */
    uint64_t index;
    bool has_index;
    int64_t time;
} tmpf;

static bool in_window(const eval_engine *e, int64_t t) { return t >= e->from && t < e->to; }

/* One shared copy of `s`, alive as long as the engine; NULL on OOM. */
static const char *intern(eval_engine *e, const char *s)
{
    void **slot = smap_put(&e->strings, s);
    return slot ? smap_key_of(&e->strings, slot) : NULL;
}

/* ---- JSON value access ---------------------------------------------------- */

/* Append the text of a JSON value span: a string decoded (canon_unquote),
 * anything else as written (true, 12.5, {...}). */
static int append_value(buf *b, const char *v, size_t n)
{
    if (!n || v[0] != '"')
        return buf_append(b, v, n);
    if (n < 2)
        return ADT_EINVAL;
    if (!memchr(v + 1, '\\', n - 2)) /* no escape: the text is the string */
        return buf_append(b, v + 1, n - 2);
    char *t = malloc(n); /* the decoded text is never longer */
    if (!t)
        return ADT_ENOMEM;
    size_t tl = 0;
    int rc = canon_unquote(v, n, t, n, &tl);
    if (!rc)
        rc = buf_append(b, t, tl);
    free(t);
    return rc;
}

/* The raw span of field `path` of the event: "a.b" into the payload, or
 * "$source" etc. for the leaf's members. */
static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The end of the JSON value starting at s[i]; > n if it does not end. The
 * input was validated when it was appended, so this only finds boundaries. */
static size_t skip_val(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return n + 1;
    if (s[i] == '"') {
        /* the closing quote is the first one not escaped by an odd run of
         * backslashes; memchr keeps this fast on long plain strings */
        size_t j = i + 1;
        for (;;) {
            const char *q = memchr(s + j, '"', n - j);
            if (!q)
                return n + 1;
            size_t k = (size_t)(q - s), b = 0;
            while (k - b > i + 1 && s[k - b - 1] == '\\')
                b++;
            if (b % 2 == 0)
                return k + 1;
            j = k + 1;
        }
    }
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < n) {
            char c = s[i];
            if (c == '"') {
                i = skip_val(s, n, i);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                return i + 1;
            i++;
        }
        return n + 1;
    }
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_ws(s[i]))
        i++;
    return i;
}

/* Index the members of the object starting at s[i] (within s[0..n)); when
 * `inner` is given, the member `inner_key` (an object) is indexed into it in
 * the same pass. Returns the end of the object, or 0 if it is not one. */
static size_t jobj_split_at(const char *s, size_t n, size_t i, jobj *o, const char *inner_key,
                            jobj *inner)
{
    o->s = s + i;
    o->count = 0;
    o->overflow = false;
    while (i < n && is_ws(s[i]))
        i++;
    if (i >= n || s[i] != '{')
        return 0;
    size_t start = i;
    i++;
    size_t ikl = inner_key ? strlen(inner_key) : 0;
    for (;;) {
        while (i < n && (is_ws(s[i]) || s[i] == ','))
            i++;
        if (i >= n)
            return 0;
        if (s[i] == '}') {
            o->n = i + 1 - start;
            return i + 1;
        }
        if (s[i] != '"')
            return 0;
        size_t ke = skip_val(s, n, i);
        if (ke > n)
            return 0;
        size_t ks = i + 1;
        i = ke;
        while (i < n && is_ws(s[i]))
            i++;
        if (i >= n || s[i] != ':')
            return 0;
        i++;
        while (i < n && is_ws(s[i]))
            i++;
        size_t ve;
        if (inner && ke - 1 - ks == ikl && !memcmp(s + ks, inner_key, ikl) && s[i] == '{') {
            ve = jobj_split_at(s, n, i, inner, NULL, NULL);
            if (!ve)
                return 0;
            inner_key = NULL; /* only the first */
        } else {
            ve = skip_val(s, n, i);
        }
        if (ve > n || ve == i)
            return 0;
        if (o->count < JOBJ_MAX)
            o->m[o->count++] = (jmember){s + ks, s + i, ke - 1 - ks, ve - i};
        else
            o->overflow = true;
        i = ve;
    }
}

static bool jobj_get(const jobj *o, const char *key, const char **v, size_t *vl)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < o->count; i++)
        if (o->m[i].kl == kl && !memcmp(o->m[i].k, key, kl)) {
            *v = o->m[i].v;
            *vl = o->m[i].vl;
            return true;
        }
    return o->overflow && canon_member(o->s, o->n, key, v, vl) == ADT_OK;
}

static bool get_raw(const ev *x, const char *path, const char **v, size_t *vl)
{
    if (path[0] == '$') /* a member of the leaf itself ($source, $writer...): rare */
        return canon_member(x->leaf, x->len, path + 1, v, vl) == ADT_OK;
    const char *cur = x->payload;
    size_t curl = x->plen;
    char seg[64];
    const char *dot0 = strchr(path, '.');
    if (!dot0) {
        if (!jobj_get(&x->pm, path, &cur, &curl))
            return false;
        path += strlen(path);
    }
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t sl = dot ? (size_t)(dot - path) : strlen(path);
        if (sl >= sizeof seg)
            return false;
        memcpy(seg, path, sl);
        seg[sl] = 0;
        if (canon_member(cur, curl, seg, &cur, &curl) != ADT_OK)
            return false;
        path += sl + (dot ? 1 : 0);
    }
    if (curl == 4 && !memcmp(cur, "null", 4))
        return false;
    *v = cur;
    *vl = curl;
    return true;
}

/* Field text into b (reset first); NULL if absent. */
static const char *get_text(const ev *x, const char *path, buf *b)
{
    const char *v;
    size_t vl;
    buf_reset(b);
    if (!get_raw(x, path, &v, &vl) || append_value(b, v, vl))
        return NULL;
    return b->data ? b->data : "";
}

/* Join the values of fields[0..n) (side a or b of pairs) with 0x1f into e->key.
 * Returns the missing field's name, or NULL when all were present. */
static const char *build_key(eval_engine *e, const ev *x, const rule_pair *p, size_t n, bool side_a,
                             buf *out)
{
    buf_reset(out);
    buf_putc(out, '\x1e'); /* never empty, so "" is not a key */
    for (size_t i = 0; i < n; i++) {
        const char *f = side_a ? p[i].a : p[i].b;
        const char *v;
        size_t vl;
        if (!get_raw(x, f, &v, &vl))
            return f;
        if (i)
            buf_putc(out, '\x1f');
        if (append_value(out, v, vl))
            return f;
    }
    (void)e;
    return NULL;
}

/* key "\x1e" a "\x1f" b -> "a, b" for messages (into a static-size copy). */
static void key_text(const char *k, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = k[0] == '\x1e' ? k + 1 : k; *p && o + 3 < cap; p++) {
        if (*p == '\x1f') {
            out[o++] = ',';
            out[o++] = ' ';
        } else {
            out[o++] = *p;
        }
    }
    out[o] = 0;
}

static bool pred_match(eval_engine *e, const ev *x, const rule_pred *p)
{
    const char *t = get_text(x, p->field, &e->s1);
    if (!t)
        return p->op == OP_MISSING || p->op == OP_NE;
    switch (p->op) {
    case OP_EXISTS: return true;
    case OP_MISSING: return false;
    case OP_EQ: return !strcmp(t, p->value);
    case OP_NE: return strcmp(t, p->value) != 0;
    case OP_PREFIX: return !strncmp(t, p->value, strlen(p->value));
    case OP_IN: {
        size_t tl = strlen(t);
        for (const char *s = p->value; *s;) {
            while (*s == ' ')
                s++;
            const char *q = s;
            while (*q && *q != ' ')
                q++;
            if ((size_t)(q - s) == tl && tl && !memcmp(s, t, tl))
                return true;
            s = q;
        }
        return false;
    }
    default: {
        double d;
        if (num_double(t, &d))
            return false;
        switch (p->op) {
        case OP_GT: return d > p->num;
        case OP_GE: return d >= p->num;
        case OP_LT: return d < p->num;
        default: return d <= p->num;
        }
    }
    }
}

static bool type_in(const rule_sel *s, const char *type)
{
    for (size_t i = 0; i < s->ntypes; i++)
        if (!strcmp(s->types[i], "*") || !strcmp(s->types[i], type))
            return true;
    return false;
}

static bool sel_match(eval_engine *e, const ev *x, const rule_sel *s)
{
    if (!type_in(s, x->type))
        return false;
    for (size_t i = 0; i < s->npreds; i++)
        if (!pred_match(e, x, &s->preds[i]))
            return false;
    return true;
}

/* ---- results bookkeeping -------------------------------------------------- */

static void evidence(rstate *rs, uint64_t index)
{
    rs->ev_count++;
    if (rs->nev < EVAL_MAX_LIST && (!rs->nev || rs->ev[rs->nev - 1] != index))
        rs->ev[rs->nev++] = index;
}

static void fmt_dur(int64_t us, char *out, size_t cap)
{
    int64_t s = us / 1000000;
    if (s < 0)
        s = 0;
    if (s % 86400 == 0 && s)
        snprintf(out, cap, "%lldd", (long long)(s / 86400));
    else if (s >= 86400)
        snprintf(out, cap, "%lldd%lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    else if (s >= 3600)
        snprintf(out, cap, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(out, cap, "%lldm", (long long)(s / 60));
}

static void add_finding(eval_engine *e, rstate *rs, const ev *x, const char *owner,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void add_finding(eval_engine *e, rstate *rs, const ev *x, const char *owner,
                        const char *fmt, ...)
{
    rs->f_count++;
    if (rs->nf >= EVAL_MAX_LIST)
        return;
    if (!rs->f && !(rs->f = calloc(EVAL_MAX_LIST, sizeof *rs->f))) {
        e->oom = true;
        return;
    }
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    finding *f = &rs->f[rs->nf];
    if (!(f->msg = strdup(msg))) {
        e->oom = true;
        return;
    }
    f->owner = owner;
    f->has_index = x != NULL;
    f->index = x ? x->index : 0;
    f->time = x ? x->time : 0;
    rs->nf++;
}

/* ---- RACI helpers --------------------------------------------------------- */

static const raci_activity *activity_of(eval_engine *e, const char *act)
{
    return e->raci && act ? raci_find_activity(e->raci, act) : NULL;
}

/* The owner of a finding: the Responsible (first one) for rules about the
 * Responsible, else the Accountable; of the event's activity, else of the
 * rule's. NULL when the policy does not say. */
static const char *owner_of(eval_engine *e, const rule *r, const char *act)
{
    const raci_activity *a = activity_of(e, act);
    if (!a)
        a = activity_of(e, r->activity);
    if (!a)
        return NULL;
    if (r->party == PARTY_RESPONSIBLE) {
        const char *p[1];
        if (raci_principals(e->raci, a, RACI_R, p, 1) >= 1)
            return p[0];
    }
    return raci_accountable(a);
}

static const char *party_name(rule_party p)
{
    switch (p) {
    case PARTY_ACCOUNTABLE: return "the Accountable";
    case PARTY_RESPONSIBLE: return "a Responsible";
    case PARTY_CONSULTED: return "a Consulted party";
    case PARTY_EACH_CONSULTED: return "every Consulted party";
    case PARTY_EACH_INFORMED: return "every Informed party";
    default: return "anyone";
    }
}

/* Does `actor` hold the role the rule asks for on activity `a`? */
static bool party_ok(eval_engine *e, rule_party p, const raci_activity *a, const char *act,
                     const char *actor)
{
    switch (p) {
    case PARTY_ANY: return true;
    case PARTY_ACCOUNTABLE: {
        const char *acc = a ? raci_accountable(a) : NULL;
        return acc && !strcmp(acc, actor);
    }
    case PARTY_RESPONSIBLE: return (raci_letters(e->raci, act, actor) & RACI_R) != 0;
    case PARTY_CONSULTED: return (raci_letters(e->raci, act, actor) & RACI_C) != 0;
    default: return false;
    }
}

/* ---- precedes / field-equals ---------------------------------------------- */

static void record_cause(eval_engine *e, rstate *rs, const ev *x)
{
    const rule *r = rs->r;
    if (build_key(e, x, r->keys, r->nkeys, true, &e->key))
        return;
    void **slot = smap_put(&rs->m1, e->key.data);
    if (!slot) {
        e->oom = true;
        return;
    }
    cause_list *cl = *slot;
    if (!cl || (cl->n == cl->cap && cl->cap < CAUSES_PER_KEY)) {
        size_t nc = cl ? cl->cap * 2 : 1;
        cause_list *n = realloc(cl, sizeof *cl + nc * sizeof cl->v[0]);
        if (!n) {
            e->oom = true;
            return;
        }
        if (!cl)
            n->n = 0;
        n->cap = nc;
        *slot = cl = n;
    }
    if (cl->n == CAUSES_PER_KEY) {
        free(cl->v[0].eqv);
        memmove(cl->v, cl->v + 1, (CAUSES_PER_KEY - 1) * sizeof cl->v[0]);
        cl->n--;
    }
    cause *c = &cl->v[cl->n];
    memset(c, 0, sizeof *c);
    c->actor = intern(e, x->actor);
    if (r->nequals && !build_key(e, x, r->equals, r->nequals, true, &e->s2))
        c->eqv = strdup(e->s2.data);
    if (!c->actor || (r->nequals && !c->eqv && e->s2.len)) {
        free(c->eqv);
        e->oom = true;
        return;
    }
    c->time = x->time;
    c->index = x->index;
    cl->n++;
}

static void free_cause_list(void *p)
{
    cause_list *cl = p;
    if (!cl)
        return;
    for (size_t i = 0; i < cl->n; i++)
        free(cl->v[i].eqv);
    free(cl);
}

static void until_event(eval_engine *e, rstate *rs, const ev *x)
{
    if (build_key(e, x, rs->r->keys, rs->r->nkeys, true, &e->key))
        return;
    void **slot = smap_find(&rs->m1, e->key.data);
    if (slot && *slot) {
        cause_list *cl = *slot;
        for (size_t i = 0; i < cl->n; i++)
            free(cl->v[i].eqv);
        cl->n = 0;
    }
}

static const char *first_type(const rule_sel *s) { return s->ntypes ? s->types[0] : "?"; }

/* What judging a subject found out before its rule's kind decides. */
typedef struct subj {
    char act[RACI_ID_MAX];       /* the subject's activity ("" if none) */
    const char *owner;           /* of findings about it */
    char keyt[256];              /* its key, for messages */
    const cause_list *cl;        /* the causes with its key (NULL: none) */
    size_t nc;
    const raci_activity *a;      /* its activity in the policy, when the rule names a party */
} subj;

/* field-equals: the subject's compared fields equal those of a cause. */
static void judge_equals(eval_engine *e, rstate *rs, const ev *x, const subj *sj)
{
    const rule *r = rs->r;
    const cause_list *cl = sj->cl;
    size_t nc = sj->nc;
    if (!nc) {
        if (r->missing_violates)
            add_finding(e, rs, x, sj->owner,
                        "%s at index %llu (%s) has no earlier %s to compare with",
                        x->type, (unsigned long long)x->index, sj->keyt, first_type(&r->earlier));
        else
            rs->checked--; /* not this rule's business: another rule asks for the cause */
        return;
    }
    buf_reset(&e->s2);
    if (build_key(e, x, r->equals, r->nequals, false, &e->s2)) {
        add_finding(e, rs, x, sj->owner, "%s at index %llu (%s) lacks the field %s", x->type,
                    (unsigned long long)x->index, sj->keyt, r->equals[0].b);
        return;
    }
    for (size_t i = nc; i-- > 0;)
        if (cl->v[i].eqv && !strcmp(cl->v[i].eqv, e->s2.data)) {
            evidence(rs, cl->v[i].index);
            evidence(rs, x->index);
            return;
        }
    char got[200], want[200];
    key_text(e->s2.data, got, sizeof got);
    key_text(cl->v[nc - 1].eqv ? cl->v[nc - 1].eqv : "", want, sizeof want);
    add_finding(e, rs, x, sj->owner,
                "%s at index %llu (%s): %s is '%s' but the %s at index %llu has '%s'", x->type,
                (unsigned long long)x->index, sj->keyt, r->equals[0].b, got,
                first_type(&r->earlier), (unsigned long long)cl->v[nc - 1].index, want);
}

/* each-consulted: every Consulted of the activity answered before it. */
static void judge_consulted(eval_engine *e, rstate *rs, const ev *x, const subj *sj)
{
    const rule *r = rs->r;
    if (!raci_consult_required(sj->a)) {
        evidence(rs, x->index);
        return;
    }
    const char *need[32];
    size_t nn = raci_principals(e->raci, sj->a, RACI_C, need, 32);
    if (nn > 32)
        nn = 32;
    char missing[384] = "";
    size_t ml = 0;
    for (size_t k = 0; k < nn; k++) {
        bool found = false;
        for (size_t i = 0; i < sj->nc && !found; i++) {
            const cause *c = &sj->cl->v[i];
            found = !strcmp(c->actor, need[k]) && c->time <= x->time &&
                    (!r->max_age_us || x->time - c->time <= r->max_age_us);
            if (found)
                evidence(rs, c->index);
        }
        if (!found && ml + strlen(need[k]) + 3 < sizeof missing)
            ml += (size_t)snprintf(missing + ml, sizeof missing - ml, "%s%s", ml ? ", " : "",
                                   need[k]);
    }
    if (ml)
        add_finding(e, rs, x, sj->owner, "%s at index %llu (%s): not consulted before it: %s "
                    "(activity %s requires consultation)", x->type,
                    (unsigned long long)x->index, sj->keyt, missing, sj->act);
    else
        evidence(rs, x->index);
}

/* precedes: the newest cause that is earlier, young enough, by another
 * actor when asked, and by the right party; else why none is. */
static void judge_precedes(eval_engine *e, rstate *rs, const ev *x, const subj *sj)
{
    const rule *r = rs->r;
    const char *why = NULL;
    char whybuf[384];
    for (size_t i = sj->nc; i-- > 0;) {
        const cause *c = &sj->cl->v[i];
        if (c->time > x->time && !r->ledger_order) {
            snprintf(whybuf, sizeof whybuf, "the %s at index %llu is dated after it",
                     first_type(&r->earlier), (unsigned long long)c->index);
            why = whybuf;
            continue;
        }
        if (r->max_age_us && x->time - c->time > r->max_age_us) {
            char d[32];
            fmt_dur(r->max_age_us, d, sizeof d);
            snprintf(whybuf, sizeof whybuf, "the %s at index %llu is older than %s",
                     first_type(&r->earlier), (unsigned long long)c->index, d);
            why = whybuf;
            continue;
        }
        if (r->distinct_actor && !strcmp(c->actor, x->actor)) {
            snprintf(whybuf, sizeof whybuf, "%s did both (the %s at index %llu)", x->actor,
                     first_type(&r->earlier), (unsigned long long)c->index);
            why = whybuf;
            continue;
        }
        if (!party_ok(e, r->party, sj->a, sj->act, c->actor)) {
            snprintf(whybuf, sizeof whybuf, "the %s at index %llu is by %s, who is not %s of %s",
                     first_type(&r->earlier), (unsigned long long)c->index, c->actor,
                     party_name(r->party), sj->act);
            why = whybuf;
            continue;
        }
        evidence(rs, c->index);
        evidence(rs, x->index);
        return;
    }
    if (!why) {
        snprintf(whybuf, sizeof whybuf, "there is no earlier %s for it", first_type(&r->earlier));
        why = whybuf;
    }
    add_finding(e, rs, x, sj->owner, "%s at index %llu (%s) by %s: %s", x->type,
                (unsigned long long)x->index, sj->keyt, x->actor, why);
}

static void judge_subject(eval_engine *e, rstate *rs, const ev *x)
{
    const rule *r = rs->r;
    if (!in_window(e, x->time))
        return;
    subj sj;
    memset(&sj, 0, sizeof sj);
    const char *at = get_text(x, r->activity_field, &e->s1);
    if (at)
        snprintf(sj.act, sizeof sj.act, "%s", at);
    sj.owner = owner_of(e, r, sj.act[0] ? sj.act : NULL);
    rs->checked++;
    const char *miss = build_key(e, x, r->keys, r->nkeys, false, &e->key);
    if (miss) {
        add_finding(e, rs, x, sj.owner, "%s at index %llu has no %s, so it cannot be matched to "
                    "a %s", x->type, (unsigned long long)x->index, miss, first_type(&r->earlier));
        return;
    }
    key_text(e->key.data, sj.keyt, sizeof sj.keyt);
    void **slot = smap_find(&rs->m1, e->key.data);
    sj.cl = slot ? *slot : NULL;
    sj.nc = sj.cl ? sj.cl->n : 0;
    if (r->kind == RULE_FIELD_EQUALS) {
        judge_equals(e, rs, x, &sj);
        return;
    }
    if (r->party != PARTY_ANY) {
        if (!e->raci) {
            add_finding(e, rs, x, sj.owner,
                        "%s at index %llu (%s) must be preceded by %s from %s, but no RACI policy "
                        "is loaded (auditd policy load)", x->type, (unsigned long long)x->index,
                        sj.keyt, first_type(&r->earlier), party_name(r->party));
            return;
        }
        if (!(sj.a = activity_of(e, sj.act))) {
            add_finding(e, rs, x, sj.owner,
                        "%s at index %llu (%s) names activity '%s', which the RACI policy does "
                        "not define", x->type, (unsigned long long)x->index, sj.keyt, sj.act);
            return;
        }
    }
    if (r->party == PARTY_EACH_CONSULTED)
        judge_consulted(e, rs, x, &sj);
    else
        judge_precedes(e, rs, x, &sj);
}

/* ---- within --------------------------------------------------------------- */

static oblig *new_oblig(eval_engine *e, rstate *rs)
{
    if (rs->nob == rs->capob) {
        size_t nc = rs->capob ? rs->capob * 2 : 64;
        oblig *n = realloc(rs->ob, nc * sizeof *n);
        if (!n) {
            e->oom = true;
            return NULL;
        }
        rs->ob = n;
        rs->capob = nc;
    }
    oblig *o = &rs->ob[rs->nob++];
    memset(o, 0, sizeof *o);
    return o;
}

static int idx_push(idxvec *v, size_t i)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 2;
        size_t *n = realloc(v->v, nc * sizeof *n);
        if (!n)
            return -1;
        v->v = n;
        v->cap = nc;
    }
    v->v[v->n++] = i;
    return 0;
}

static void free_idxvec(void *p)
{
    idxvec *v = p;
    if (v)
        free(v->v);
    free(v);
}

static void link_oblig(eval_engine *e, rstate *rs, const char *key, size_t oi)
{
    void **slot = smap_put(&rs->m1, key);
    if (!slot) {
        e->oom = true;
        return;
    }
    if (!*slot && !(*slot = calloc(1, sizeof(idxvec)))) {
        e->oom = true;
        return;
    }
    if (idx_push(*slot, oi))
        e->oom = true;
}

static void within_trigger(eval_engine *e, rstate *rs, const ev *x)
{
    const rule *r = rs->r;
    if (!in_window(e, x->time))
        return;
    rs->checked++;
    char act[RACI_ID_MAX] = "";
    const char *at = get_text(x, r->activity_field, &e->s1);
    if (at)
        snprintf(act, sizeof act, "%s", at);
    const char *owner = owner_of(e, r, act[0] ? act : NULL);
    const char *miss = build_key(e, x, r->keys, r->nkeys, true, &e->key);
    if (miss) {
        add_finding(e, rs, x, owner, "%s at index %llu has no %s, so no %s can answer it", x->type,
                    (unsigned long long)x->index, miss, first_type(&r->later));
        return;
    }
    const raci_activity *a = activity_of(e, act);
    if (r->party != PARTY_ANY && !a) {
        add_finding(e, rs, x, owner,
                    e->raci ? "%s at index %llu names activity '%s', which the RACI policy does "
                              "not define"
                            : "%s at index %llu (activity '%s') needs a RACI policy; none is "
                              "loaded (auditd policy load)",
                    x->type, (unsigned long long)x->index, act);
        return;
    }
    int64_t sla = r->sla_us;
    for (size_t i = 0; i < r->nsla_when; i++) {
        const char *v = get_text(x, r->sla_when[i].field, &e->s1);
        if (v && !strcmp(v, r->sla_when[i].value)) {
            sla = r->sla_when[i].sla_us;
            break;
        }
    }
    if (r->sla_from && a) {
        raci_sla s = raci_activity_sla(a);
        int64_t v = r->sla_from == RULE_SLA_ACK ? s.ack_s
                    : r->sla_from == RULE_SLA_RESOLVE ? s.resolve_s : s.inform_s;
        if (v > 0)
            sla = v * 1000000;
    }
    const char *parties[32];
    size_t np = 1;
    parties[0] = NULL;
    if (r->party == PARTY_EACH_INFORMED) {
        np = raci_principals(e->raci, a, RACI_I, parties, 32);
        if (np > 32)
            np = 32;
        if (!np) {
            evidence(rs, x->index);
            return;
        }
    }
    for (size_t i = 0; i < np; i++) {
        oblig *o = new_oblig(e, rs);
        if (!o)
            return;
        o->key = strdup(e->key.data);
        o->activity = intern(e, act);
        o->party = parties[i] ? intern(e, parties[i]) : NULL;
        if (!o->key || !o->activity || (parties[i] && !o->party))
            e->oom = true;
        o->index = x->index;
        o->time = x->time;
        o->deadline = x->time + sla;
        link_oblig(e, rs, e->key.data, rs->nob - 1);
    }
}

/* Drop answered obligations of a within rule once they are most of the list,
 * so a long-running engine keeps only what is still open. */
static void within_compact(eval_engine *e, rstate *rs)
{
    size_t w = 0;
    for (size_t k = 0; k < rs->nob; k++) {
        oblig *o = &rs->ob[k];
        if (o->done) {
            free(o->key);
            free(o->wrong);
            free(o->what);
            continue;
        }
        rs->ob[w++] = *o;
    }
    rs->nob = w;
    rs->ndone = 0;
    for (size_t i = 0; i < rs->m1.cap; i++)
        if (rs->m1.keys[i] && rs->m1.vals[i])
            ((idxvec *)rs->m1.vals[i])->n = 0;
    for (size_t k = 0; k < rs->nob; k++)
        link_oblig(e, rs, rs->ob[k].key, k);
}

static void within_response(eval_engine *e, rstate *rs, const ev *x)
{
    const rule *r = rs->r;
    if (build_key(e, x, r->keys, r->nkeys, false, &e->key))
        return;
    void **slot = smap_find(&rs->m1, e->key.data);
    idxvec *v = slot ? *slot : NULL;
    for (size_t k = 0; v && k < v->n; k++) {
        oblig *o = &rs->ob[v->v[k]];
        if (o->done)
            continue;
        bool ok;
        if (r->party == PARTY_EACH_INFORMED)
            ok = o->party && !strcmp(o->party, x->actor);
        else
            ok = party_ok(e, r->party, activity_of(e, o->activity), o->activity, x->actor);
        if (!ok) {
            if (!o->wrong && r->party != PARTY_EACH_INFORMED && !(o->wrong = strdup(x->actor)))
                e->oom = true;
            continue;
        }
        o->done = true;
        rs->ndone++;
        if (x->time <= o->deadline) {
            evidence(rs, o->index);
            evidence(rs, x->index);
        } else {
            char took[32], sla[32], keyt[256];
            fmt_dur(x->time - o->time, took, sizeof took);
            fmt_dur(o->deadline - o->time, sla, sizeof sla);
            key_text(o->key, keyt, sizeof keyt);
            add_finding(e, rs, x, owner_of(e, r, o->activity),
                        "%s at index %llu (%s) answered the %s at index %llu after %s; "
                        "the SLA is %s",
                        x->type, (unsigned long long)x->index, keyt, first_type(&r->earlier),
                        (unsigned long long)o->index, took, sla);
        }
        if (rs->ndone > 4096 && rs->ndone * 2 > rs->nob)
            within_compact(e, rs);
        break;
    }
}

/* ---- revoked-within ------------------------------------------------------- */

static void free_grant(void *p)
{
    grant *g = p;
    if (!g)
        return;
    free(g->principal);
    free(g->what);
    free(g);
}

static void free_ptrvec(void *p)
{
    ptrvec *v = p;
    if (v)
        free(v->v);
    free(v);
}

/* Identity of a grant or revoke: "<grant#>\x1f<item values...>". */
static bool grant_ident(eval_engine *e, const ev *x, size_t gi, const rule_sel *g, buf *out)
{
    buf_reset(out);
    buf_printf(out, "%zu", gi);
    for (size_t i = 0; i < g->nitems; i++) {
        const char *v;
        size_t vl;
        if (!get_raw(x, g->items[i], &v, &vl))
            return false;
        buf_putc(out, '\x1f');
        if (append_value(out, v, vl))
            return false;
    }
    (void)e;
    return true;
}

static void revoked_grant(eval_engine *e, rstate *rs, const ev *x, size_t gi)
{
    const rule_sel *g = &rs->r->sels[gi];
    const char *pr = get_text(x, g->field, &e->s2);
    if (!pr || !grant_ident(e, x, gi, g, &e->key))
        return;
    void **slot = smap_put(&rs->m1, e->key.data);
    if (!slot) {
        e->oom = true;
        return;
    }
    grant *gr = *slot;
    if (!gr) {
        if (!(gr = *slot = calloc(1, sizeof *gr))) {
            e->oom = true;
            return;
        }
        char what[300];
        key_text(strchr(e->key.data, '\x1f') ? strchr(e->key.data, '\x1f') + 1 : "", what,
                 sizeof what);
        char w2[sizeof what + sizeof x->type + 2];
        snprintf(w2, sizeof w2, "%s %s", x->type, what);
        gr->principal = strdup(pr);
        gr->what = strdup(w2);
        gr->obl = -1;
        if (!gr->principal || !gr->what) {
            e->oom = true;
            return;
        }
        void **ps = smap_put(&rs->m2, pr);
        if (!ps || (!*ps && !(*ps = calloc(1, sizeof(ptrvec))))) {
            e->oom = true;
            return;
        }
        ptrvec *pv = *ps;
        if (pv->n == pv->cap) {
            size_t nc = pv->cap ? pv->cap * 2 : 4;
            void **n = realloc(pv->v, nc * sizeof *n);
            if (!n) {
                e->oom = true;
                return;
            }
            pv->v = n;
            pv->cap = nc;
        }
        pv->v[pv->n++] = gr;
    }
    gr->active = true;
    gr->index = x->index;
}

static void revoked_revoke(eval_engine *e, rstate *rs, const ev *x, size_t gi)
{
    const rule_sel *g = &rs->r->sels[gi];
    if (!grant_ident(e, x, gi, g, &e->key))
        return;
    void **slot = smap_find(&rs->m1, e->key.data);
    grant *gr = slot ? *slot : NULL;
    if (!gr || !gr->active)
        return;
    gr->active = false;
    if (gr->obl < 0)
        return;
    oblig *o = &rs->ob[gr->obl];
    gr->obl = -1;
    o->done = true;
    if (x->time <= o->deadline) {
        evidence(rs, o->index);
        evidence(rs, x->index);
    } else {
        char took[32], sla[32];
        fmt_dur(x->time - o->time, took, sizeof took);
        fmt_dur(o->deadline - o->time, sla, sizeof sla);
        add_finding(e, rs, x, owner_of(e, rs->r, NULL),
                    "%s (index %llu) revoked %s of departed %s %s after the departure at index "
                    "%llu; the SLA is %s", x->type, (unsigned long long)x->index, o->what,
                    gr->principal, took, (unsigned long long)o->index, sla);
    }
}

static void revoked_trigger(eval_engine *e, rstate *rs, const ev *x)
{
    if (!in_window(e, x->time))
        return;
    const char *pr = get_text(x, rs->r->earlier.field, &e->s2);
    rs->checked++;
    if (!pr) {
        add_finding(e, rs, x, owner_of(e, rs->r, NULL), "%s at index %llu has no %s", x->type,
                    (unsigned long long)x->index, rs->r->earlier.field);
        return;
    }
    void **ps = smap_find(&rs->m2, pr);
    ptrvec *pv = ps ? *ps : NULL;
    bool any = false;
    for (size_t i = 0; pv && i < pv->n; i++) {
        grant *gr = pv->v[i];
        if (!gr->active || gr->obl >= 0)
            continue;
        oblig *o = new_oblig(e, rs);
        if (!o)
            return;
        o->key = strdup(pr);
        o->what = strdup(gr->what);
        if (!o->key || !o->what)
            e->oom = true;
        o->index = x->index;
        o->time = x->time;
        o->deadline = x->time + rs->r->sla_us;
        gr->obl = (long)(rs->nob - 1);
        any = true;
    }
    if (!any)
        evidence(rs, x->index);
}

/* ---- every / rate / absent ------------------------------------------------ */

static void every_event(eval_engine *e, rstate *rs, const ev *x)
{
    if (!in_window(e, x->time) || !sel_match(e, x, &rs->r->sels[0]))
        return;
    if (rs->nt == rs->capt) {
        size_t nc = rs->capt ? rs->capt * 2 : 64;
        int64_t *n = realloc(rs->times, nc * sizeof *n);
        if (!n) {
            e->oom = true;
            return;
        }
        rs->times = n;
        rs->capt = nc;
    }
    rs->times[rs->nt++] = x->time;
    rs->checked++;
    evidence(rs, x->index);
}

static void rate_event(eval_engine *e, rstate *rs, const ev *x, int role, size_t i)
{
    if (!in_window(e, x->time))
        return;
    const rule_sel *s = role == ROLE_SEL ? &rs->r->sels[i] : &rs->r->sels2[i];
    if (!sel_match(e, x, s))
        return;
    const char *t = get_text(x, s->field, &e->s2);
    double d;
    if (!t || num_double(t, &d) || !isfinite(d) || d < 0)
        return;
    if (role == ROLE_SEL)
        rs->num += d;
    else
        rs->den += d;
    rs->checked++;
    evidence(rs, x->index);
}

static void absent_event(eval_engine *e, rstate *rs, const ev *x, size_t i)
{
    if (!in_window(e, x->time))
        return;
    /* An event of the selectors' types is evidence the thing was observed; it
     * is counted once even when several selectors name its type. */
    size_t first = 0;
    while (first < rs->r->nsels && !type_in(&rs->r->sels[first], x->type))
        first++;
    if (first == i) {
        rs->checked++;
        evidence(rs, x->index);
    }
    const rule_sel *s = &rs->r->sels[i];
    if (!sel_match(e, x, s))
        return;
    /* report once per event: only the first matching selector reports */
    for (size_t j = 0; j < i; j++)
        if (sel_match(e, x, &rs->r->sels[j]))
            return;
    char cond[300] = "";
    size_t cl = 0;
    for (size_t k = 0; k < s->npreds && cl + 40 < sizeof cond; k++) {
        static const char *const opn[] = {"=", "!=", "in", "starts with", ">", ">=", "<", "<=",
                                          "present", "missing"};
        const rule_pred *p = &s->preds[k];
        cl += (size_t)snprintf(cond + cl, sizeof cond - cl, "%s%s %s%s%s", k ? " and " : "",
                               p->field, opn[p->op], p->value ? " " : "",
                               p->value ? p->value : "");
    }
    add_finding(e, rs, x, owner_of(e, rs->r, NULL), "%s at index %llu by %s has %s", x->type,
                (unsigned long long)x->index, x->actor, cl ? cond : "a forbidden form");
}

/* ---- RACI evaluator ------------------------------------------------------- */

static void on_raci_finding(void *ctx, const raci_finding *f)
{
    eval_engine *e = ctx;
    if (f->time_us < e->from)
        return;
    for (size_t i = 0; i < e->rules->n; i++) {
        rstate *rs = &e->rs[i];
        if (rs->r->kind != RULE_RACI)
            continue;
        for (size_t k = 0; k < rs->r->nraci_findings; k++)
            if (!strcmp(rs->r->raci_findings[k], f->rule)) {
                ev x = {0};
                x.index = f->n_evidence ? f->evidence[f->n_evidence - 1] : 0;
                x.time = f->time_us;
                add_finding(e, rs, f->n_evidence ? &x : NULL, f->owner ? intern(e, f->owner) : NULL,
                            "%s: %s", f->rule, f->message);
                for (size_t j = 0; j < f->n_evidence; j++)
                    evidence(rs, f->evidence[j]);
                break;
            }
    }
}

/* A deadline finding of the result-time copy: listed in this result only. */
static void on_raci_deadline(void *ctx, const raci_finding *f)
{
    eval_engine *e = ctx;
    if (f->time_us < e->from)
        return;
    for (size_t i = 0; i < e->rules->n; i++) {
        const rule *r = e->rs[i].r;
        if (r->kind != RULE_RACI)
            continue;
        for (size_t k = 0; k < r->nraci_findings; k++) {
            if (strcmp(r->raci_findings[k], f->rule))
                continue;
            if (e->ntmp == e->captmp) {
                size_t nc = e->captmp ? e->captmp * 2 : 16;
                tmpf *n = realloc(e->tmp, nc * sizeof *n);
                if (!n) {
                    e->oom = true;
                    return;
                }
                e->tmp = n;
                e->captmp = nc;
            }
            char msg[768];
            snprintf(msg, sizeof msg, "%s: %s", f->rule, f->message);
            tmpf *t = &e->tmp[e->ntmp];
            if (!(t->msg = strdup(msg))) {
                e->oom = true;
                return;
            }
            t->rule = i;
            t->owner = f->owner ? intern(e, f->owner) : NULL;
            t->has_index = f->n_evidence > 0;
            t->index = f->n_evidence ? f->evidence[f->n_evidence - 1] : 0;
            t->time = f->time_us;
            e->ntmp++;
            break;
        }
    }
}

static void free_tmp(eval_engine *e)
{
    for (size_t i = 0; i < e->ntmp; i++)
        free(e->tmp[i].msg);
    e->ntmp = 0;
}

/* Judge the RACI deadlines passed by `t` on a copy of the evaluator, so the
 * engine itself is not changed by when results are asked for. */
static int raci_deadlines(eval_engine *e, int64_t t, adt_err *err)
{
    cJSON *st = NULL;
    raci_eval *copy = NULL;
    int rc = raci_eval_save(e->re, &st, err);
    if (!rc)
        rc = raci_eval_new(e->raci, on_raci_deadline, e, &copy, err);
    if (!rc)
        rc = raci_eval_restore(copy, st, err);
    if (!rc)
        rc = raci_eval_advance(copy, t, err);
    raci_eval_free(copy);
    cJSON_Delete(st);
    if (!rc && e->oom)
        rc = adt_fail(err, ADT_ENOMEM, "out of memory evaluating RACI deadlines");
    return rc;
}

static bool raci_governed(const char *type)
{
    return !strncmp(type, "change.", 7) || !strncmp(type, "incident.", 9) ||
           !strcmp(type, "notify.inform") || !strcmp(type, "firmware.deploy") ||
           !strcmp(type, "model.deploy");
}

static void raci_feed(eval_engine *e, const ev *x)
{
    if (!raci_governed(x->type))
        return;
    if (in_window(e, x->time)) {
        e->raci_checked++;
        for (size_t i = 0; i < e->rules->n; i++) {
            rstate *rs = &e->rs[i];
            if (rs->r->kind == RULE_RACI &&
                (!rs->r->earlier.ntypes || type_in(&rs->r->earlier, x->type))) {
                rs->checked++;
                evidence(rs, x->index);
            }
        }
    }
    if (!e->re)
        return; /* no policy: the events are counted, the rules say why they fail */
    char act[RACI_ID_MAX] = "", ref[256] = "";
    const char *v = get_text(x, "activity", &e->s1);
    if (v)
        snprintf(act, sizeof act, "%s", v);
    const char *rf = !strncmp(x->type, "incident.", 9) ? "incident_id"
                     : !strcmp(x->type, "notify.inform") ? "ref" : "change_id";
    if ((v = get_text(x, rf, &e->s1)))
        snprintf(ref, sizeof ref, "%s", v);
    raci_event re = {x->type, x->time, x->actor, act[0] ? act : NULL, ref[0] ? ref : NULL,
                     x->index};
    adt_err err = {0};
    int rc = raci_eval_feed(e->re, &re, &err);
    if (!rc && x->time > e->max_time) {
        e->max_time = x->time;
        int64_t t = x->time - RACI_GRACE_US;
        if (t > e->raci_advanced + RACI_ADVANCE_STEP_US) {
            rc = raci_eval_advance(e->re, t, &err);
            e->raci_advanced = t;
        }
    }
    if (rc == ADT_ENOMEM)
        e->oom = true;
    else if (rc && !e->raci_error[0])
        snprintf(e->raci_error, sizeof e->raci_error,
                 "the RACI evaluation stopped following entry %llu: %s",
                 (unsigned long long)x->index, err.msg);
}

/* ---- engine --------------------------------------------------------------- */

static int add_interest(eval_engine *e, const rule_sel *s, rstate *rs, int role, size_t idx)
{
    for (size_t t = 0; t < s->ntypes; t++) {
        ivec *v;
        if (!strcmp(s->types[t], "*")) {
            v = &e->star;
        } else {
            void **slot = smap_put(&e->dispatch, s->types[t]);
            if (!slot)
                return ADT_ENOMEM;
            if (!*slot && !(*slot = calloc(1, sizeof(ivec))))
                return ADT_ENOMEM;
            v = *slot;
        }
        /* one interest per (rule, role, idx) even if a type is listed twice */
        bool dup = false;
        for (size_t i = 0; i < v->n; i++)
            dup |= v->v[i].rs == rs && v->v[i].role == role && v->v[i].idx == idx;
        if (dup)
            continue;
        if (v->n == v->cap) {
            size_t nc = v->cap ? v->cap * 2 : 4;
            interest *n = realloc(v->v, nc * sizeof *n);
            if (!n)
                return ADT_ENOMEM;
            v->v = n;
            v->cap = nc;
        }
        /* keep judging roles before recording roles for the same rule, so an
         * event never satisfies itself */
        size_t pos = v->n;
        while (pos > 0 && v->v[pos - 1].rs == rs && v->v[pos - 1].role > role)
            pos--;
        memmove(v->v + pos + 1, v->v + pos, (v->n - pos) * sizeof *v->v);
        v->v[pos] = (interest){rs, role, idx};
        v->n++;
    }
    return ADT_OK;
}

static void free_ivec(void *p)
{
    ivec *v = p;
    if (v)
        free(v->v);
    free(v);
}

int eval_new(const rules_set *rules, const raci_policy *raci, int64_t from_us, int64_t to_us,
             eval_engine **out, adt_err *err)
{
    eval_engine *e = calloc(1, sizeof *e);
    if (!e || !(e->rs = calloc(rules->n ? rules->n : 1, sizeof *e->rs))) {
        free(e);
        return adt_fail(err, ADT_ENOMEM, "out of memory creating the rule engine");
    }
    e->rules = rules;
    e->raci = raci;
    e->from = from_us;
    e->to = to_us;
    e->first_time = INT64_MAX;
    e->last_as_of = INT64_MIN;
    e->max_time = INT64_MIN;
    e->raci_advanced = INT64_MIN / 2;
    buf_init(&e->s1, SCRATCH_MAX);
    buf_init(&e->s2, SCRATCH_MAX);
    buf_init(&e->key, SCRATCH_MAX);
    int rc = ADT_OK;
    for (size_t i = 0; !rc && i < rules->n; i++) {
        const rule *r = &rules->rules[i];
        rstate *rs = &e->rs[i];
        rs->r = r;
        switch (r->kind) {
        case RULE_PRECEDES:
        case RULE_FIELD_EQUALS:
            if (r->ledger_order)
                e->has_ledger_order = true;
            rc = add_interest(e, &r->later, rs, ROLE_LATER, 0);
            if (!rc && r->has_until)
                rc = add_interest(e, &r->until, rs, ROLE_UNTIL, 0);
            if (!rc)
                rc = add_interest(e, &r->earlier, rs, ROLE_EARLIER, 0);
            break;
        case RULE_WITHIN:
            rc = add_interest(e, &r->later, rs, ROLE_LATER, 0);
            if (!rc)
                rc = add_interest(e, &r->earlier, rs, ROLE_EARLIER, 0);
            break;
        case RULE_REVOKED_WITHIN:
            for (size_t k = 0; !rc && k < r->nsels; k++) {
                rc = add_interest(e, r->sels[k].revoke, rs, ROLE_REVOKE, k);
                if (!rc)
                    rc = add_interest(e, &r->sels[k], rs, ROLE_SEL, k);
            }
            if (!rc)
                rc = add_interest(e, &r->earlier, rs, ROLE_EARLIER, 0);
            break;
        case RULE_EVERY:
        case RULE_ABSENT:
        case RULE_RATE:
            for (size_t k = 0; !rc && k < r->nsels; k++)
                rc = add_interest(e, &r->sels[k], rs, ROLE_SEL, k);
            for (size_t k = 0; !rc && k < r->nsels2; k++)
                rc = add_interest(e, &r->sels2[k], rs, ROLE_SEL2, k);
            break;
        case RULE_RACI:
            e->has_raci_rules = true;
            break;
        }
    }
    if (!rc && e->has_raci_rules && raci)
        rc = raci_eval_new(raci, on_raci_finding, e, &e->re, err);
    else if (rc)
        rc = adt_fail(err, rc, "out of memory creating the rule engine");
    if (rc) {
        eval_free(e);
        return rc;
    }
    *out = e;
    return ADT_OK;
}

void eval_free(eval_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->rules->n && e->rs; i++) {
        rstate *rs = &e->rs[i];
        for (size_t k = 0; k < rs->nf; k++)
            free(rs->f[k].msg);
        free(rs->f);
        for (size_t k = 0; k < rs->nob; k++) {
            free(rs->ob[k].key);
            free(rs->ob[k].wrong);
            free(rs->ob[k].what);
        }
        free(rs->ob);
        free(rs->times);
        switch (rs->r ? rs->r->kind : RULE_RACI) {
        case RULE_PRECEDES:
        case RULE_FIELD_EQUALS: smap_free(&rs->m1, free_cause_list); break;
        case RULE_WITHIN: smap_free(&rs->m1, free_idxvec); break;
        case RULE_REVOKED_WITHIN:
            smap_free(&rs->m1, free_grant);
            smap_free(&rs->m2, free_ptrvec);
            break;
        default: break;
        }
    }
    free(e->rs);
    smap_free(&e->dispatch, free_ivec);
    smap_free(&e->strings, NULL);
    free(e->star.v);
    raci_eval_free(e->re);
    free_tmp(e);
    free(e->tmp);
    buf_free(&e->s1);
    buf_free(&e->s2);
    buf_free(&e->key);
    free(e);
}

uint64_t eval_next_index(const eval_engine *e) { return e->next; }

void eval_counts(const eval_engine *e, uint64_t *fed, uint64_t *skipped)
{
    *fed = e->fed;
    *skipped = e->skipped;
}

static void dispatch_one(eval_engine *e, const interest *in, const ev *x)
{
    rstate *rs = in->rs;
    switch (rs->r->kind) {
    case RULE_PRECEDES:
    case RULE_FIELD_EQUALS:
        if (!sel_match(e, x, in->role == ROLE_LATER    ? &rs->r->later
                             : in->role == ROLE_UNTIL ? &rs->r->until
                                                      : &rs->r->earlier))
            return;
        if (in->role == ROLE_LATER)
            judge_subject(e, rs, x);
        else if (in->role == ROLE_UNTIL)
            until_event(e, rs, x);
        else
            record_cause(e, rs, x);
        break;
    case RULE_WITHIN:
        if (!sel_match(e, x, in->role == ROLE_LATER ? &rs->r->later : &rs->r->earlier))
            return;
        if (in->role == ROLE_LATER)
            within_response(e, rs, x);
        else
            within_trigger(e, rs, x);
        break;
    case RULE_REVOKED_WITHIN:
        if (in->role == ROLE_EARLIER) {
            if (sel_match(e, x, &rs->r->earlier))
                revoked_trigger(e, rs, x);
        } else if (in->role == ROLE_REVOKE) {
            if (sel_match(e, x, rs->r->sels[in->idx].revoke))
                revoked_revoke(e, rs, x, in->idx);
        } else if (sel_match(e, x, &rs->r->sels[in->idx])) {
            revoked_grant(e, rs, x, in->idx);
        }
        break;
    case RULE_EVERY: every_event(e, rs, x); break;
    case RULE_RATE: rate_event(e, rs, x, in->role, in->idx); break;
    case RULE_ABSENT: absent_event(e, rs, x, in->idx); break;
    case RULE_RACI: break;
    }
}

/* Whether an interest takes events after the window: the causes and untils
 * of order="ledger" precedes rules. */
/* Types that record data rather than an act: the payload member holding the
 * latest data time they cover. A telemetry.batch's `time` is when auditd
 * ingested it; the readings it vouches for may be older (a backfill, a
 * replay, a simulated plant), and a period is about its data. */
static const char *data_time_member(const char *type)
{
    return !strcmp(type, "telemetry.batch") ? "to" : NULL;
}

static bool ledger_context(const interest *in)
{
    const rule *r = in->rs->r;
    return r->kind == RULE_PRECEDES && r->ledger_order && in->role != ROLE_LATER;
}

int eval_feed(eval_engine *e, uint64_t index, const char *leaf, size_t len, adt_err *err)
{
    e->next = index + 1;
    e->fed++;
    ev x;
    x.index = index;
    x.leaf = leaf;
    x.len = len;
    /* The entry through core's leaf view; its payload's members split once
     * for the rules' fields. */
    leaf_view lv;
    adt_err perr;
    if (leaf_parse(leaf, len, index, &lv, &perr) ||
        !jobj_split_at(lv.payload, lv.payload_len, 0, &x.pm, NULL, NULL)) {
        e->skipped++;
        return ADT_OK;
    }
    x.payload = lv.payload;
    x.plen = lv.payload_len;
    memcpy(x.type, lv.type, sizeof x.type);
    /* Only what its writer may vouch for is evidence (docs/events.md, "Who
     * may write what"): an entry with no writer (a ledger of an older
     * version) or a writer not allowed for its type (appended around the
     * ledger's own check, with raw SQL) is skipped, so it can satisfy no
     * control and count in no rule. */
    if (!event_writer_may(x.type, lv.writer)) {
        e->skipped++;
        return ADT_OK;
    }
    /* The event's own time; the ledger's recorded_at if it has none. A
     * record of data (data_time_member) is dated by the data it covers. */
    const char *dm = data_time_member(x.type);
    const char *v;
    size_t vl;
    bool dated = dm && jobj_get(&x.pm, dm, &v, &vl) && vl > 2 && v[0] == '"' &&
                 rfc3339_parse(v + 1, vl - 2, &x.time) == ADT_OK;
    if (!dated)
        x.time = lv.has_time ? lv.time_us : lv.recorded_us;
    /* After the window an event is context only for rules that order causes
     * by the ledger (order="ledger"); for the rest it does not exist yet. */
    bool late = x.time >= e->to;
    if (late && !e->has_ledger_order)
        return ADT_OK;
    memcpy(x.actor, lv.actor, sizeof x.actor);
    if (in_window(e, x.time) && x.time < e->first_time)
        e->first_time = x.time;

    void **slot = smap_find(&e->dispatch, x.type);
    const ivec *iv = slot ? *slot : NULL;
    for (size_t i = 0; iv && i < iv->n; i++)
        if (!late || ledger_context(&iv->v[i]))
            dispatch_one(e, &iv->v[i], &x);
    for (size_t i = 0; i < e->star.n; i++)
        if (!late || ledger_context(&e->star.v[i]))
            dispatch_one(e, &e->star.v[i], &x);
    if (e->has_raci_rules && !late)
        raci_feed(e, &x);
    if (e->oom)
        return adt_fail(err, ADT_ENOMEM, "out of memory evaluating rules at entry %llu",
                        (unsigned long long)index);
    return ADT_OK;
}

/* ---- results -------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct rout {
    eval_finding *f;
    size_t n, cap;
    uint64_t fcount;
    int oom;
} rout;

static char *dup_str(const char *s, int *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

static void out_finding(rout *o, const char *msg, const char *owner, bool has_index,
                        uint64_t index, int64_t time)
{
    o->fcount++;
    if (o->n >= EVAL_MAX_LIST)
        return;
    if (o->n == o->cap) {
        size_t nc = o->cap ? 2 * o->cap : 8;
        eval_finding *nf = realloc(o->f, nc * sizeof *nf);
        if (!nf) {
            o->oom = 1;
            return;
        }
        o->f = nf;
        o->cap = nc;
    }
    eval_finding *f = &o->f[o->n++];
    f->message = dup_str(msg, &o->oom);
    f->owner = dup_str(owner, &o->oom);
    f->has_index = has_index;
    f->index = has_index ? index : 0;
    f->time_us = has_index ? time : 0;
}

static int cmp_finding(const void *a, const void *b)
{
    const eval_finding *x = a, *y = b;
    double dx = x->has_index ? (double)x->index : -1, dy = y->has_index ? (double)y->index : -1;
    if (dx != dy)
        return dx < dy ? -1 : 1;
    return strcmp(x->message ? x->message : "", y->message ? y->message : "");
}

/* The findings of the window's obligations that were not met by `end`. */
static void within_findings(eval_engine *e, const rule *r, rstate *rs, int64_t end, rout *ro,
                            uint64_t *pending)
{
    char msg[768];
    for (size_t k = 0; k < rs->nob; k++) {
        const oblig *ob = &rs->ob[k];
        if (ob->done)
            continue;
        if (ob->deadline >= end) {
            (*pending)++;
            continue;
        }
        char sla[32], keyt[256];
        fmt_dur(ob->deadline - ob->time, sla, sizeof sla);
        key_text(ob->key, keyt, sizeof keyt);
        if (r->kind == RULE_REVOKED_WITHIN)
            snprintf(msg, sizeof msg,
                     "%s departed (index %llu) but still holds %s after the %s SLA", keyt,
                     (unsigned long long)ob->index, ob->what, sla);
        else if (ob->party)
            snprintf(msg, sizeof msg, "%s (%s) at index %llu: %s was not answered by %s "
                     "(%s) within %s", r->earlier.types[0], keyt, (unsigned long long)ob->index,
                     first_type(&r->later), ob->party, ob->activity, sla);
        else
            snprintf(msg, sizeof msg, "%s (%s) at index %llu: no %s%s%s within %s%s%s%s",
                     r->earlier.types[0], keyt, (unsigned long long)ob->index,
                     first_type(&r->later), r->party != PARTY_ANY ? " by " : "",
                     r->party != PARTY_ANY ? party_name(r->party) : "", sla,
                     ob->wrong ? " (answered by " : "", ob->wrong ? ob->wrong : "",
                     ob->wrong ? ", who may not)" : "");
        out_finding(ro, msg, owner_of(e, r, ob->activity), true, ob->index, ob->time);
    }
}

/* The gaps longer than the rule's period between [start, end) and the
 * times seen. Returns whether there is evidence at all; fails on OOM. */
static int every_findings(eval_engine *e, const rule *r, rstate *rs, int64_t end, rout *ro,
                          bool *evidence_ok)
{
    int64_t start = e->from != INT64_MIN ? e->from : e->first_time;
    *evidence_ok = start != INT64_MAX && end > start && (rs->nt > 0 || end - start > r->period_us);
    if (!*evidence_ok)
        return ADT_OK;
    int64_t *t = malloc((rs->nt ? rs->nt : 1) * sizeof *t);
    if (!t)
        return ADT_ENOMEM;
    if (rs->nt)
        memcpy(t, rs->times, rs->nt * sizeof *t);
    qsort(t, rs->nt, sizeof *t, cmp_i64);
    int64_t prev = start;
    char p[32], g[32], a[32], msg[768];
    fmt_dur(r->period_us, p, sizeof p);
    for (size_t k = 0; k <= rs->nt; k++) {
        int64_t cur = k < rs->nt ? t[k] : end;
        if (cur - prev > r->period_us) {
            fmt_dur(cur - prev, g, sizeof g);
            rfc3339_format_s(prev, a, sizeof a);
            snprintf(msg, sizeof msg, "no %s%s for %s after %s (required every %s)",
                     first_type(&r->sels[0]), r->sels[0].npreds ? " (matching)" : "", g, a, p);
            out_finding(ro, msg, owner_of(e, r, NULL), false, 0, 0);
        }
        if (cur > prev)
            prev = cur;
    }
    free(t);
    return ADT_OK;
}

/* One rule's result at `end` into *o. */
static int rule_result(eval_engine *e, size_t i, int64_t end, eval_rule_result *o)
{
    rstate *rs = &e->rs[i];
    const rule *r = rs->r;
    rout ro = {0};
    o->id = dup_str(r->id, &ro.oom);
    o->title = dup_str(r->title, &ro.oom);
    o->kind = rules_kind_name(r->kind);
    o->severity = rules_sev_name(r->severity);
    for (size_t k = 0; k < rs->nf; k++)
        out_finding(&ro, rs->f[k].msg, rs->f[k].owner, rs->f[k].has_index, rs->f[k].index,
                    rs->f[k].time);
    ro.fcount += rs->f_count - rs->nf; /* findings over the stored cap */
    bool evidence_ok = rs->checked > 0;
    int rc = ADT_OK;
    switch (r->kind) {
    case RULE_WITHIN:
    case RULE_REVOKED_WITHIN:
        within_findings(e, r, rs, end, &ro, &o->pending);
        break;
    case RULE_EVERY:
        rc = every_findings(e, r, rs, end, &ro, &evidence_ok);
        break;
    case RULE_RATE:
        evidence_ok = rs->den >= r->min_denominator && rs->den > 0;
        if (evidence_ok && rs->num / rs->den > r->max_ratio) {
            char msg[768];
            snprintf(msg, sizeof msg, "ratio %.4f (%.0f of %.0f) is above the limit %.4f",
                     rs->num / rs->den, rs->num, rs->den, r->max_ratio);
            out_finding(&ro, msg, owner_of(e, r, NULL), false, 0, 0);
        }
        o->has_ratio = evidence_ok;
        o->ratio = evidence_ok ? rs->num / rs->den : 0;
        break;
    case RULE_RACI:
        if (!e->raci) {
            if (rs->checked) /* governed events, but no policy to judge them by */
                out_finding(&ro, "no RACI policy is loaded (auditd policy load)", NULL, false, 0,
                            0);
        } else if (e->raci_error[0]) {
            out_finding(&ro, e->raci_error, NULL, false, 0, 0);
        }
        for (size_t k = 0; k < e->ntmp; k++)
            if (e->tmp[k].rule == i)
                out_finding(&ro, e->tmp[k].msg, e->tmp[k].owner, e->tmp[k].has_index,
                            e->tmp[k].index, e->tmp[k].time);
        break;
    default: break;
    }
    o->findings = ro.f;
    o->nfindings = ro.n;
    o->findings_count = ro.fcount;
    if (rc || ro.oom)
        return ADT_ENOMEM;
    o->status = ro.fcount ? EVAL_FAIL : evidence_ok ? EVAL_PASS : EVAL_NO_EVIDENCE;
    o->checked = rs->checked;
    if (rs->nev) {
        o->evidence = malloc(rs->nev * sizeof *o->evidence);
        if (!o->evidence)
            return ADT_ENOMEM;
        memcpy(o->evidence, rs->ev, rs->nev * sizeof *o->evidence);
    }
    o->nevidence = rs->nev;
    o->evidence_count = rs->ev_count;
    /* a stable order (ledger index, then message), so that when a finding
     * was discovered (on arrival, at a deadline) does not show */
    if (o->nfindings > 1)
        qsort(o->findings, o->nfindings, sizeof *o->findings, cmp_finding);
    return ADT_OK;
}

int eval_results(eval_engine *e, int64_t as_of_us, eval_rule_result **out, size_t *n,
                 adt_err *err)
{
    *out = NULL;
    *n = 0;
    int64_t end = as_of_us < e->to ? as_of_us : e->to;
    free_tmp(e);
    if (e->re) {
        int rc = raci_deadlines(e, end, err);
        if (rc) {
            free_tmp(e);
            return rc;
        }
    }
    e->last_as_of = as_of_us;
    eval_rule_result *res = calloc(e->rules->n ? e->rules->n : 1, sizeof *res);
    int rc = res ? ADT_OK : ADT_ENOMEM;
    for (size_t i = 0; !rc && i < e->rules->n; i++)
        rc = rule_result(e, i, end, &res[i]);
    free_tmp(e);
    if (rc) {
        eval_results_free(res, e->rules->n);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    *out = res;
    *n = e->rules->n;
    return ADT_OK;
}

void eval_results_free(eval_rule_result *r, size_t n)
{
    if (!r)
        return;
    for (size_t i = 0; i < n; i++) {
        free(r[i].id);
        free(r[i].title);
        free(r[i].evidence);
        for (size_t k = 0; k < r[i].nfindings; k++) {
            free(r[i].findings[k].message);
            free(r[i].findings[k].owner);
        }
        free(r[i].findings);
    }
    free(r);
}

const char *eval_status_name(eval_status s)
{
    return s == EVAL_PASS ? "pass" : s == EVAL_FAIL ? "fail" : "no_evidence";
}

cJSON *eval_finding_json(const eval_rule_result *r, const eval_finding *f)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "rule", r->id);
    cJSON_AddStringToObject(o, "severity", r->severity);
    cJSON_AddStringToObject(o, "message", f->message ? f->message : "");
    if (f->owner)
        cJSON_AddStringToObject(o, "owner", f->owner);
    if (f->has_index) {
        cJSON_AddNumberToObject(o, "index", (double)f->index);
        char t[32];
        if (!rfc3339_format_s(f->time_us, t, sizeof t))
            cJSON_AddStringToObject(o, "time", t);
    }
    return o;
}

cJSON *eval_rule_json(const eval_rule_result *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "title", r->title);
    cJSON_AddStringToObject(o, "kind", r->kind);
    cJSON_AddStringToObject(o, "severity", r->severity);
    if (r->has_ratio)
        cJSON_AddNumberToObject(o, "ratio", r->ratio);
    cJSON_AddStringToObject(o, "status", eval_status_name(r->status));
    cJSON_AddNumberToObject(o, "checked", (double)r->checked);
    cJSON_AddNumberToObject(o, "pending", (double)r->pending);
    cJSON *evs = cJSON_AddArrayToObject(o, "evidence");
    for (size_t k = 0; k < r->nevidence; k++)
        cJSON_AddItemToArray(evs, cJSON_CreateNumber((double)r->evidence[k]));
    cJSON_AddNumberToObject(o, "evidence_count", (double)r->evidence_count);
    cJSON *fl = cJSON_AddArrayToObject(o, "findings");
    for (size_t k = 0; k < r->nfindings; k++)
        cJSON_AddItemToArray(fl, eval_finding_json(r, &r->findings[k]));
    cJSON_AddNumberToObject(o, "findings_count", (double)r->findings_count);
    return o;
}

int eval_result(eval_engine *e, int64_t as_of_us, cJSON **out, adt_err *err)
{
    eval_rule_result *res;
    size_t n;
    int rc = eval_results(e, as_of_us, &res, &n, err);
    if (rc)
        return rc;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++)
        cJSON_AddItemToArray(arr, eval_rule_json(&res[i]));
    eval_results_free(res, n);
    if (!arr)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    *out = arr;
    return ADT_OK;
}

/* ---- saving and restoring the state --------------------------------------- */
/* The state is a JSON document (version 1): counters, capped lists, per-rule
 * open keys (precedes causes, within obligations still open, grants) and the
 * RACI evaluator's own state. 64-bit times are written as decimal strings
 * (doubles would round them); indices and counts as numbers (< 2^53). */

#define SAVE_VERSION 2 /* 2: entries whose writer may not write their type are skipped */

static cJSON *i64s(int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)v);
    return cJSON_CreateString(b);
}

static cJSON *str_or_null(const char *s) { return s ? cJSON_CreateString(s) : cJSON_CreateNull(); }

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
    cJSON_AddNumberToObject(o, k, (double)v);
}

/* A rule's obligations: [key, party, activity, wrong, what, index, time,
 * deadline, done]; a done within obligation as null (its slot kept so that
 * grant references stay valid). */
static cJSON *save_obligs(const rstate *rs)
{
    cJSON *ob = cJSON_CreateArray();
    for (size_t k = 0; k < rs->nob; k++) {
        const oblig *b = &rs->ob[k];
        if (b->done && rs->r->kind == RULE_WITHIN) {
            cJSON_AddItemToArray(ob, cJSON_CreateNull());
            continue;
        }
        cJSON *x = cJSON_CreateArray();
        cJSON_AddItemToArray(x, str_or_null(b->key));
        cJSON_AddItemToArray(x, str_or_null(b->party));
        cJSON_AddItemToArray(x, str_or_null(b->activity));
        cJSON_AddItemToArray(x, str_or_null(b->wrong));
        cJSON_AddItemToArray(x, str_or_null(b->what));
        cJSON_AddItemToArray(x, cJSON_CreateNumber((double)b->index));
        cJSON_AddItemToArray(x, i64s(b->time));
        cJSON_AddItemToArray(x, i64s(b->deadline));
        cJSON_AddItemToArray(x, cJSON_CreateBool(b->done));
        cJSON_AddItemToArray(ob, x);
    }
    return ob;
}

/* A rule's open keys: precedes / field-equals causes [actor, eqv, time,
 * index]..., revoked-within grants [principal, what, index, active, obl];
 * within keys are rebuilt from the obligations. */
static cJSON *save_keys(const rstate *rs)
{
    cJSON *m = cJSON_CreateArray();
    for (size_t s = 0; s < rs->m1.cap; s++) {
        if (!rs->m1.keys[s] || !rs->m1.vals[s])
            continue;
        cJSON *x = cJSON_CreateArray();
        cJSON_AddItemToArray(x, cJSON_CreateString(rs->m1.keys[s]));
        if (rs->r->kind == RULE_PRECEDES || rs->r->kind == RULE_FIELD_EQUALS) {
            const cause_list *cl = rs->m1.vals[s];
            if (!cl->n) {
                cJSON_Delete(x);
                continue;
            }
            for (size_t k = 0; k < cl->n; k++) {
                cJSON *c = cJSON_CreateArray();
                cJSON_AddItemToArray(c, cJSON_CreateString(cl->v[k].actor));
                cJSON_AddItemToArray(c, str_or_null(cl->v[k].eqv));
                cJSON_AddItemToArray(c, i64s(cl->v[k].time));
                cJSON_AddItemToArray(c, cJSON_CreateNumber((double)cl->v[k].index));
                cJSON_AddItemToArray(x, c);
            }
        } else if (rs->r->kind == RULE_REVOKED_WITHIN) {
            const grant *g = rs->m1.vals[s];
            cJSON_AddItemToArray(x, cJSON_CreateString(g->principal));
            cJSON_AddItemToArray(x, cJSON_CreateString(g->what));
            cJSON_AddItemToArray(x, cJSON_CreateNumber((double)g->index));
            cJSON_AddItemToArray(x, cJSON_CreateBool(g->active));
            cJSON_AddItemToArray(x, cJSON_CreateNumber((double)g->obl));
        } else {
            cJSON_Delete(x);
            continue;
        }
        cJSON_AddItemToArray(m, x);
    }
    return m;
}

/* One rule's state: counters, capped lists, times, obligations, keys. */
static cJSON *save_rule(const rstate *rs)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "id", rs->r->id);
    add_u64(r, "checked", rs->checked);
    add_u64(r, "ev_count", rs->ev_count);
    add_u64(r, "f_count", rs->f_count);
    cJSON_AddNumberToObject(r, "num", rs->num);
    cJSON_AddNumberToObject(r, "den", rs->den);
    cJSON *evl = cJSON_AddArrayToObject(r, "ev");
    for (size_t k = 0; k < rs->nev; k++)
        cJSON_AddItemToArray(evl, cJSON_CreateNumber((double)rs->ev[k]));
    cJSON *fl = cJSON_AddArrayToObject(r, "f");
    for (size_t k = 0; k < rs->nf; k++) {
        cJSON *f = cJSON_CreateArray();
        cJSON_AddItemToArray(f, cJSON_CreateString(rs->f[k].msg));
        cJSON_AddItemToArray(f, str_or_null(rs->f[k].owner));
        cJSON_AddItemToArray(f, rs->f[k].has_index ? cJSON_CreateNumber((double)rs->f[k].index)
                                                   : cJSON_CreateNull());
        cJSON_AddItemToArray(f, i64s(rs->f[k].time));
        cJSON_AddItemToArray(fl, f);
    }
    cJSON *tl = cJSON_AddArrayToObject(r, "times");
    for (size_t k = 0; k < rs->nt; k++)
        cJSON_AddItemToArray(tl, i64s(rs->times[k]));
    cJSON_AddItemToObject(r, "ob", save_obligs(rs));
    cJSON_AddItemToObject(r, "m1", save_keys(rs));
    return r;
}

int eval_save(const eval_engine *e, cJSON **out, adt_err *err)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return adt_fail(err, ADT_ENOMEM, "out of memory saving the evaluation");
    cJSON_AddNumberToObject(o, "version", SAVE_VERSION);
    add_u64(o, "next", e->next);
    add_u64(o, "fed", e->fed);
    add_u64(o, "skipped", e->skipped);
    add_u64(o, "raci_checked", e->raci_checked);
    cJSON_AddItemToObject(o, "first_time", i64s(e->first_time));
    cJSON_AddItemToObject(o, "last_as_of", i64s(e->last_as_of));
    cJSON_AddItemToObject(o, "max_time", i64s(e->max_time));
    cJSON_AddItemToObject(o, "raci_advanced", i64s(e->raci_advanced));
    cJSON_AddStringToObject(o, "raci_error", e->raci_error);
    if (e->re) {
        cJSON *rs = NULL;
        int rc = raci_eval_save(e->re, &rs, err);
        if (rc) {
            cJSON_Delete(o);
            return rc;
        }
        cJSON_AddItemToObject(o, "raci", rs);
    }
    cJSON *rules = cJSON_AddArrayToObject(o, "rules");
    for (size_t i = 0; i < e->rules->n; i++)
        cJSON_AddItemToArray(rules, save_rule(&e->rs[i]));
    *out = o;
    return ADT_OK;
}

/* Strict readers for restore: anything unexpected is corruption. */
static bool rd_u64(const cJSON *x, uint64_t *v)
{
    if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > 9007199254740992.0 ||
        x->valuedouble != floor(x->valuedouble))
        return false;
    *v = (uint64_t)x->valuedouble;
    return true;
}

static bool rd_i64(const cJSON *x, int64_t *v)
{
    return cJSON_IsString(x) && num_i64(x->valuestring, INT64_MIN, INT64_MAX, v) == ADT_OK;
}

/* NULL for JSON null; `ok` cleared when neither a string nor null. */
static const char *rd_str(const cJSON *x, bool *ok)
{
    if (cJSON_IsNull(x))
        return NULL;
    if (!cJSON_IsString(x))
        *ok = false;
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static char *dup_or_null(const char *s, bool *ok)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

/* A rule's capped lists: evidence, findings, times. */
static bool restore_lists(eval_engine *e, rstate *rs, const cJSON *r)
{
    bool ok = true;
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(r, "ev"))
    {
        if (rs->nev >= EVAL_MAX_LIST || !rd_u64(x, &rs->ev[rs->nev]))
            return false;
        rs->nev++;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(r, "f"))
    {
        if (rs->nf >= EVAL_MAX_LIST || cJSON_GetArraySize(x) != 4)
            return false;
        if (!rs->f && !(rs->f = calloc(EVAL_MAX_LIST, sizeof *rs->f)))
            return false;
        finding *f = &rs->f[rs->nf];
        const char *msg = rd_str(cJSON_GetArrayItem(x, 0), &ok);
        const char *owner = rd_str(cJSON_GetArrayItem(x, 1), &ok);
        const cJSON *ix = cJSON_GetArrayItem(x, 2);
        f->has_index = !cJSON_IsNull(ix);
        if (!ok || !msg || (f->has_index && !rd_u64(ix, &f->index)) ||
            !rd_i64(cJSON_GetArrayItem(x, 3), &f->time) || !(f->msg = strdup(msg)))
            return false;
        f->owner = owner ? intern(e, owner) : NULL;
        rs->nf++;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(r, "times"))
    {
        if (rs->nt == rs->capt) {
            size_t nc = rs->capt ? rs->capt * 2 : 64;
            int64_t *n = realloc(rs->times, nc * sizeof *n);
            if (!n)
                return false;
            rs->times = n;
            rs->capt = nc;
        }
        if (!rd_i64(x, &rs->times[rs->nt]))
            return false;
        rs->nt++;
    }
    return true;
}

/* A rule's obligations (see save_obligs). */
static bool restore_obligs(eval_engine *e, rstate *rs, const cJSON *r)
{
    bool ok = true;
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(r, "ob"))
    {
        oblig *b = new_oblig(e, rs);
        if (!b)
            return false;
        if (cJSON_IsNull(x)) { /* a done within obligation, dropped */
            b->done = true;
            rs->ndone++;
            continue;
        }
        if (cJSON_GetArraySize(x) != 9)
            return false;
        const char *party = rd_str(cJSON_GetArrayItem(x, 1), &ok);
        const char *act = rd_str(cJSON_GetArrayItem(x, 2), &ok);
        b->key = dup_or_null(rd_str(cJSON_GetArrayItem(x, 0), &ok), &ok);
        b->party = party ? intern(e, party) : NULL;
        b->activity = act ? intern(e, act) : NULL;
        b->wrong = dup_or_null(rd_str(cJSON_GetArrayItem(x, 3), &ok), &ok);
        b->what = dup_or_null(rd_str(cJSON_GetArrayItem(x, 4), &ok), &ok);
        b->done = cJSON_IsTrue(cJSON_GetArrayItem(x, 8));
        if (!ok || !b->key || !rd_u64(cJSON_GetArrayItem(x, 5), &b->index) ||
            !rd_i64(cJSON_GetArrayItem(x, 6), &b->time) ||
            !rd_i64(cJSON_GetArrayItem(x, 7), &b->deadline))
            return false;
        if (rs->r->kind == RULE_WITHIN && !b->done) {
            link_oblig(e, rs, b->key, rs->nob - 1);
            if (e->oom)
                return false;
        }
    }
    return true;
}

/* One open key of a rule: [key, cause...] or [key, principal, what, index,
 * active, obligation]. */
static bool restore_key(eval_engine *e, rstate *rs, const cJSON *x)
{
    bool ok = true;
    const char *key = rd_str(cJSON_GetArrayItem(x, 0), &ok);
    int n = cJSON_GetArraySize(x);
    if (!ok || !key)
        return false;
    void **slot = smap_put(&rs->m1, key);
    if (!slot || *slot)
        return false;
    if (rs->r->kind == RULE_PRECEDES || rs->r->kind == RULE_FIELD_EQUALS) {
        if (n < 2 || n - 1 > CAUSES_PER_KEY)
            return false;
        cause_list *cl = calloc(1, sizeof *cl + (size_t)(n - 1) * sizeof cl->v[0]);
        if (!cl)
            return false;
        cl->cap = (size_t)(n - 1);
        *slot = cl;
        for (int k = 1; k < n; k++) {
            const cJSON *c = cJSON_GetArrayItem(x, k);
            cause *cs = &cl->v[cl->n];
            const char *actor = rd_str(cJSON_GetArrayItem(c, 0), &ok);
            cs->eqv = dup_or_null(rd_str(cJSON_GetArrayItem(c, 1), &ok), &ok);
            cl->n++;
            if (!ok || !actor || !(cs->actor = intern(e, actor)) ||
                !rd_i64(cJSON_GetArrayItem(c, 2), &cs->time) ||
                !rd_u64(cJSON_GetArrayItem(c, 3), &cs->index))
                return false;
        }
    } else if (rs->r->kind == RULE_REVOKED_WITHIN) {
        if (n != 6)
            return false;
        grant *g = calloc(1, sizeof *g);
        if (!g)
            return false;
        *slot = g;
        const char *pr = rd_str(cJSON_GetArrayItem(x, 1), &ok);
        g->principal = dup_or_null(pr, &ok);
        g->what = dup_or_null(rd_str(cJSON_GetArrayItem(x, 2), &ok), &ok);
        g->active = cJSON_IsTrue(cJSON_GetArrayItem(x, 4));
        const cJSON *ob = cJSON_GetArrayItem(x, 5);
        if (!ok || !pr || !g->what || !rd_u64(cJSON_GetArrayItem(x, 3), &g->index) ||
            !cJSON_IsNumber(ob) || ob->valuedouble < -1 ||
            ob->valuedouble >= (double)rs->nob || ob->valuedouble != floor(ob->valuedouble))
            return false;
        g->obl = (long)ob->valuedouble;
        void **ps = smap_put(&rs->m2, pr);
        if (!ps || (!*ps && !(*ps = calloc(1, sizeof(ptrvec)))))
            return false;
        ptrvec *pv = *ps;
        if (pv->n == pv->cap) {
            size_t nc = pv->cap ? pv->cap * 2 : 4;
            void **nv = realloc(pv->v, nc * sizeof *nv);
            if (!nv)
                return false;
            pv->v = nv;
            pv->cap = nc;
        }
        pv->v[pv->n++] = g;
    } else {
        return false;
    }
    return true;
}

static bool restore_rule(eval_engine *e, rstate *rs, const cJSON *r)
{
    bool ok = true;
    const char *id = rd_str(cJSON_GetObjectItem(r, "id"), &ok);
    if (!ok || !id || strcmp(id, rs->r->id))
        return false;
    if (!rd_u64(cJSON_GetObjectItem(r, "checked"), &rs->checked) ||
        !rd_u64(cJSON_GetObjectItem(r, "ev_count"), &rs->ev_count) ||
        !rd_u64(cJSON_GetObjectItem(r, "f_count"), &rs->f_count) ||
        !cJSON_IsNumber(cJSON_GetObjectItem(r, "num")) ||
        !cJSON_IsNumber(cJSON_GetObjectItem(r, "den")))
        return false;
    rs->num = cJSON_GetObjectItem(r, "num")->valuedouble;
    rs->den = cJSON_GetObjectItem(r, "den")->valuedouble;
    if (!restore_lists(e, rs, r) || !restore_obligs(e, rs, r))
        return false;
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(r, "m1"))
        if (!restore_key(e, rs, x))
            return false;
    return true;
}

int eval_restore(eval_engine *e, const cJSON *st, adt_err *err)
{
    const cJSON *v = cJSON_GetObjectItem(st, "version");
    const cJSON *rules = cJSON_GetObjectItem(st, "rules");
    bool ok = true;
    const char *re = rd_str(cJSON_GetObjectItem(st, "raci_error"), &ok);
    if (e->fed || !cJSON_IsNumber(v) || v->valuedouble != SAVE_VERSION ||
        cJSON_GetArraySize(rules) != (int)e->rules->n || !ok ||
        !rd_u64(cJSON_GetObjectItem(st, "next"), &e->next) ||
        !rd_u64(cJSON_GetObjectItem(st, "fed"), &e->fed) ||
        !rd_u64(cJSON_GetObjectItem(st, "skipped"), &e->skipped) ||
        !rd_u64(cJSON_GetObjectItem(st, "raci_checked"), &e->raci_checked) ||
        !rd_i64(cJSON_GetObjectItem(st, "first_time"), &e->first_time) ||
        !rd_i64(cJSON_GetObjectItem(st, "last_as_of"), &e->last_as_of) ||
        !rd_i64(cJSON_GetObjectItem(st, "max_time"), &e->max_time) ||
        !rd_i64(cJSON_GetObjectItem(st, "raci_advanced"), &e->raci_advanced))
        return adt_fail(err, ADT_ECORRUPT, "saved evaluation state: bad header");
    snprintf(e->raci_error, sizeof e->raci_error, "%s", re ? re : "");
    if (e->re != NULL) {
        const cJSON *rs = cJSON_GetObjectItem(st, "raci");
        if (!rs)
            return adt_fail(err, ADT_ECORRUPT, "saved evaluation state: no RACI state");
        int rc = raci_eval_restore(e->re, rs, err);
        if (rc)
            return rc;
    }
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rules)
    {
        if (!restore_rule(e, &e->rs[i], r))
            return adt_fail(err, ADT_ECORRUPT, "saved evaluation state: rule %s is damaged",
                            e->rules->rules[i].id);
        i++;
    }
    return ADT_OK;
}
