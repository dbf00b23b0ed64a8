#include "cproof.h"

#include "ledger.h"
#include "numparse.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A cache of subtree hashes: key = level << 56 | index (as the site ledger's
 * node ids), level 0 for leaf hashes. Open addressing, grown at half full. */
typedef struct slot {
    uint64_t key;
    bool used;
    merkle_hash h;
} slot;

struct cproof {
    cstore *cs;
    int64_t site_id;
    uint64_t size;
    slot *t;
    size_t cap, n;
    /* the leaf bytes of prepared entries */
    uint64_t *lidx;
    buf *leaves;
    size_t nleaves, leaves_cap;
};

static uint64_t key_of(int level, uint64_t index)
{
    return (uint64_t)level << 56 | index;
}

static size_t slot_of(const cproof *p, uint64_t key)
{
    uint64_t x = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(x >> 7) & (p->cap - 1);
    while (p->t[i].used && p->t[i].key != key)
        i = (i + 1) & (p->cap - 1);
    return i;
}

static const uint8_t *cache_get(const cproof *p, uint64_t key)
{
    if (!p->cap)
        return NULL;
    size_t i = slot_of(p, key);
    return p->t[i].used ? p->t[i].h : NULL;
}

static int cache_put(cproof *p, uint64_t key, const uint8_t *h)
{
    if ((p->n + 1) * 2 > p->cap) {
        size_t oc = p->cap;
        slot *old = p->t;
        p->cap = oc ? oc * 2 : 1024;
        p->t = calloc(p->cap, sizeof *p->t);
        if (!p->t) {
            p->t = old;
            p->cap = oc;
            return ADT_ENOMEM;
        }
        p->n = 0;
        for (size_t i = 0; i < oc; i++)
            if (old[i].used) {
                size_t j = slot_of(p, old[i].key);
                p->t[j] = old[i];
                p->n++;
            }
        free(old);
    }
    size_t i = slot_of(p, key);
    if (!p->t[i].used)
        p->n++;
    p->t[i].used = true;
    p->t[i].key = key;
    memcpy(p->t[i].h, h, MERKLE_HASH_LEN);
    return ADT_OK;
}

int cproof_open(cstore *cs, int64_t site_id, uint64_t size, cproof **out, adt_err *err)
{
    *out = NULL;
    if (size == 0)
        return adt_fail(err, ADT_EINVAL, "no entry is in the tree of size 0");
    cproof *p = calloc(1, sizeof *p);
    if (!p)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    p->cs = cs;
    p->site_id = site_id;
    p->size = size;
    *out = p;
    return ADT_OK;
}

void cproof_free(cproof *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nleaves; i++)
        buf_free(&p->leaves[i]);
    free(p->leaves);
    free(p->lidx);
    free(p->t);
    free(p);
}

/* ---- what a proof needs ---------------------------------------------------- */

typedef struct want {
    uint64_t *nodes; /* keys of perfect subtrees of level >= CSTORE_NODE_MIN_LEVEL */
    size_t nn, cn;
    uint64_t *leaves; /* leaf indices */
    size_t nl, cl;
} want;

static int push(uint64_t **a, size_t *n, size_t *cap, uint64_t v)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        uint64_t *x = realloc(*a, nc * sizeof *x);
        if (!x)
            return ADT_ENOMEM;
        *a = x;
        *cap = nc;
    }
    (*a)[(*n)++] = v;
    return ADT_OK;
}

static uint64_t largest_pow2_below(uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

static bool is_perfect(uint64_t a, uint64_t b, int *level)
{
    uint64_t n = b - a;
    if (n & (n - 1))
        return false;
    int l = 0;
    while ((1ull << l) < n)
        l++;
    if (a & (n - 1))
        return false;
    *level = l;
    return true;
}

/* What MTH(D[a:b]) needs (not yet cached). */
static int need_range(const cproof *p, uint64_t a, uint64_t b, want *w)
{
    int l;
    if (is_perfect(a, b, &l)) {
        if (cache_get(p, key_of(l, a >> l)))
            return ADT_OK;
        if (l >= CSTORE_NODE_MIN_LEVEL)
            return push(&w->nodes, &w->nn, &w->cn, key_of(l, a >> l));
        for (uint64_t i = a; i < b; i++)
            if (!cache_get(p, key_of(0, i)) && push(&w->leaves, &w->nl, &w->cl, i))
                return ADT_ENOMEM;
        return ADT_OK;
    }
    uint64_t k = largest_pow2_below(b - a);
    int rc = need_range(p, a, a + k, w);
    return rc ? rc : need_range(p, a + k, b, w);
}

/* The ranges of PATH(m, D[a:b]) (RFC 9162 2.1.3.1). */
static int need_path(const cproof *p, uint64_t m, uint64_t a, uint64_t b, want *w)
{
    while (b - a > 1) {
        uint64_t k = largest_pow2_below(b - a);
        int rc;
        if (m - a < k) {
            rc = need_range(p, a + k, b, w);
            b = a + k;
        } else {
            rc = need_range(p, a, a + k, w);
            a = a + k;
        }
        if (rc)
            return rc;
    }
    return push(&w->leaves, &w->nl, &w->cl, m);
}

/* ---- reading ----------------------------------------------------------------- */

/* {1,2,3} as a PostgreSQL array literal. */
static int array_lit(const uint64_t *v, size_t n, buf *out)
{
    int rc = buf_putc(out, '{');
    for (size_t i = 0; !rc && i < n; i++)
        rc = buf_printf(out, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
    if (!rc)
        rc = buf_putc(out, '}');
    return rc;
}

static int read_nodes(cproof *p, const want *w, adt_err *err)
{
    if (!w->nn)
        return ADT_OK;
    buf lv, ix;
    buf_init(&lv, 64u << 20);
    buf_init(&ix, 64u << 20);
    uint64_t *levels = malloc(w->nn * sizeof *levels), *idxs = malloc(w->nn * sizeof *idxs);
    int rc = levels && idxs ? ADT_OK : ADT_ENOMEM;
    for (size_t i = 0; !rc && i < w->nn; i++) {
        levels[i] = w->nodes[i] >> 56;
        idxs[i] = w->nodes[i] & ((1ull << 56) - 1);
    }
    if (!rc)
        rc = array_lit(levels, w->nn, &lv);
    if (!rc)
        rc = array_lit(idxs, w->nn, &ix);
    free(levels);
    free(idxs);
    if (rc) {
        buf_free(&lv);
        buf_free(&ix);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)p->site_id);
    const char *vals[3] = {id, lv.data, ix.data};
    PGresult *r = PQexecParams(cstore_conn(p->cs),
                               "SELECT n.level, n.idx, n.hash FROM auditd_central.nodes n"
                               " JOIN unnest($2::smallint[], $3::bigint[]) AS w(level, idx)"
                               " ON n.level = w.level AND n.idx = w.idx WHERE n.site_id = $1",
                               3, NULL, vals, NULL, NULL, 1);
    buf_free(&lv);
    buf_free(&ix);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return cstore_fail(p->cs, r, err, "reading tree nodes");
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        const uint8_t *l = (const uint8_t *)PQgetvalue(r, i, 0);
        const uint8_t *x = (const uint8_t *)PQgetvalue(r, i, 1);
        if (PQgetlength(r, i, 0) != 2 || PQgetlength(r, i, 1) != 8 ||
            PQgetlength(r, i, 2) != MERKLE_HASH_LEN) {
            rc = adt_fail(err, ADT_ECORRUPT, "auditd_central.nodes holds a malformed row");
            break;
        }
        uint64_t index = 0;
        for (int k = 0; k < 8; k++)
            index = index << 8 | x[k];
        int level = l[0] << 8 | l[1];
        rc = cache_put(p, key_of(level, index), (const uint8_t *)PQgetvalue(r, i, 2));
    }
    PQclear(r);
    return rc;
}

/* Leaf hashes of w->leaves, and (when `bytes`) the leaves themselves. */
static int read_leaves(cproof *p, const uint64_t *idx, size_t n, bool bytes, adt_err *err)
{
    if (!n)
        return ADT_OK;
    buf ix;
    buf_init(&ix, 64u << 20);
    if (array_lit(idx, n, &ix)) {
        buf_free(&ix);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)p->site_id);
    const char *vals[2] = {id, ix.data};
    PGresult *r = PQexecParams(cstore_conn(p->cs),
                               bytes ? "SELECT idx, leaf_hash, leaf FROM auditd_central.entries"
                                       " WHERE site_id = $1 AND idx = ANY($2::bigint[])"
                                     : "SELECT idx, leaf_hash FROM auditd_central.entries"
                                       " WHERE site_id = $1 AND idx = ANY($2::bigint[])",
                               2, NULL, vals, NULL, NULL, 1);
    buf_free(&ix);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return cstore_fail(p->cs, r, err, "reading mirrored entries");
    int rc = ADT_OK;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        if (PQgetlength(r, i, 0) != 8 || PQgetlength(r, i, 1) != MERKLE_HASH_LEN) {
            rc = adt_fail(err, ADT_ECORRUPT, "auditd_central.entries holds a malformed row");
            break;
        }
        const uint8_t *x = (const uint8_t *)PQgetvalue(r, i, 0);
        uint64_t index = 0;
        for (int k = 0; k < 8; k++)
            index = index << 8 | x[k];
        /* The stored hash is what the mirror proved; the bytes must still hash to it. */
        if (bytes) {
            merkle_hash lh;
            merkle_leaf_hash(PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2), lh);
            if (memcmp(lh, PQgetvalue(r, i, 1), MERKLE_HASH_LEN)) {
                rc = adt_fail(err, ADT_ECORRUPT, "mirrored entry %llu does not hash to its "
                              "stored leaf hash: run 'auditd central verify'",
                              (unsigned long long)index);
                break;
            }
            if (p->nleaves == p->leaves_cap) {
                size_t nc = p->leaves_cap ? p->leaves_cap * 2 : 64;
                uint64_t *a = realloc(p->lidx, nc * sizeof *a);
                if (a)
                    p->lidx = a;
                buf *b = a ? realloc(p->leaves, nc * sizeof *b) : NULL;
                if (!b) {
                    rc = adt_fail(err, ADT_ENOMEM, "out of memory");
                    break;
                }
                p->leaves = b;
                p->leaves_cap = nc;
            }
            buf *lb = &p->leaves[p->nleaves];
            buf_init(lb, LEDGER_MAX_LEAF);
            if (buf_append(lb, PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2))) {
                buf_free(lb);
                rc = adt_fail(err, ADT_ENOMEM, "out of memory");
                break;
            }
            p->lidx[p->nleaves++] = index;
        }
        rc = cache_put(p, key_of(0, index), (const uint8_t *)PQgetvalue(r, i, 1));
    }
    PQclear(r);
    return rc;
}

/* MTH(D[a:b]) from the cache, computing (and reading, for nodes the mirror
 * did not store) what is missing. */
static int mth(cproof *p, uint64_t a, uint64_t b, merkle_hash out, adt_err *err)
{
    int l;
    if (is_perfect(a, b, &l)) {
        const uint8_t *h = cache_get(p, key_of(l, a >> l));
        if (h) {
            memcpy(out, h, MERKLE_HASH_LEN);
            return ADT_OK;
        }
        if (l == 0) {
            int rc = read_leaves(p, &a, 1, false, err);
            if (rc)
                return rc;
            h = cache_get(p, key_of(0, a));
            if (!h)
                return adt_fail(err, ADT_ENOTFOUND, "mirrored entry %llu is missing",
                                (unsigned long long)a);
            memcpy(out, h, MERKLE_HASH_LEN);
            return ADT_OK;
        }
        merkle_hash x, y;
        uint64_t half = (b - a) / 2;
        if (l < CSTORE_NODE_MIN_LEVEL) {
            /* All its leaves at once. */
            uint64_t *ix = malloc((size_t)(b - a) * sizeof *ix);
            size_t n = 0;
            if (!ix)
                return adt_fail(err, ADT_ENOMEM, "out of memory");
            for (uint64_t i = a; i < b; i++)
                if (!cache_get(p, key_of(0, i)))
                    ix[n++] = i;
            int rc = read_leaves(p, ix, n, false, err);
            free(ix);
            if (rc)
                return rc;
        }
        int rc = mth(p, a, a + half, x, err);
        if (!rc)
            rc = mth(p, a + half, b, y, err);
        if (rc)
            return rc;
        merkle_node_hash(x, y, out);
        return cache_put(p, key_of(l, a >> l), out);
    }
    merkle_hash x, y;
    uint64_t k = largest_pow2_below(b - a);
    int rc = mth(p, a, a + k, x, err);
    if (!rc)
        rc = mth(p, a + k, b, y, err);
    if (!rc)
        merkle_node_hash(x, y, out);
    return rc;
}

int cproof_prepare(cproof *p, const uint64_t *idx, size_t n, adt_err *err)
{
    want w = {0};
    int rc = ADT_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        if (idx[i] >= p->size)
            rc = adt_fail(err, ADT_EINVAL, "entry %llu is not in the tree of size %llu",
                          (unsigned long long)idx[i], (unsigned long long)p->size);
        else if (need_path(p, idx[i], 0, p->size, &w))
            rc = adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = read_nodes(p, &w, err);
    if (!rc)
        rc = read_leaves(p, w.leaves, w.nl, false, err);
    if (!rc)
        rc = read_leaves(p, idx, n, true, err);
    free(w.nodes);
    free(w.leaves);
    return rc;
}

int cproof_get(cproof *p, uint64_t m, merkle_hash *proof, size_t *np, merkle_hash leaf_hash,
               buf *leaf, adt_err *err)
{
    *np = 0;
    if (m >= p->size)
        return adt_fail(err, ADT_EINVAL, "entry %llu is not in the tree of size %llu",
                        (unsigned long long)m, (unsigned long long)p->size);
    merkle_hash tmp[MERKLE_MAX_PROOF];
    size_t n = 0;
    uint64_t a = 0, b = p->size;
    int rc = ADT_OK;
    /* PATH is built from the root down; RFC 9162 lists it leaf first. */
    while (!rc && b - a > 1) {
        uint64_t k = largest_pow2_below(b - a);
        if (m - a < k) {
            rc = mth(p, a + k, b, tmp[n++], err);
            b = a + k;
        } else {
            rc = mth(p, a, a + k, tmp[n++], err);
            a = a + k;
        }
    }
    if (!rc)
        rc = mth(p, m, m + 1, leaf_hash, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        memcpy(proof[i], tmp[n - 1 - i], MERKLE_HASH_LEN);
    *np = n;
    if (leaf) {
        size_t i = 0;
        while (i < p->nleaves && p->lidx[i] != m)
            i++;
        if (i == p->nleaves) {
            rc = read_leaves(p, &m, 1, true, err);
            if (rc)
                return rc;
            i = p->nleaves - 1;
            if (!p->nleaves || p->lidx[i] != m)
                return adt_fail(err, ADT_ENOTFOUND, "mirrored entry %llu is missing",
                                (unsigned long long)m);
        }
        rc = buf_append(leaf, p->leaves[i].data, p->leaves[i].len);
    }
    return rc;
}

int cproof_root(cproof *p, merkle_hash out, adt_err *err)
{
    return mth(p, 0, p->size, out, err);
}
