/* rkeep.c: the reports' kept ledger folds (see rkeep.h). */
#include "rkeep.h"

#include "log.h"
#include "sha256.h"
#include "sqldb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

struct rkeep {
    sqlite3 *db;
    char dir[1024];
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS fold("
    " key TEXT PRIMARY KEY,"       /* the fold's format and windows (rdata.c) */
    " size INTEGER NOT NULL,"      /* ledger entries [0, size) folded */
    " root BLOB NOT NULL,"         /* the ledger's root at size */
    " sha256 BLOB NOT NULL,"       /* of state: a damaged state is not trusted */
    " state BLOB NOT NULL,"
    " used INTEGER NOT NULL);";    /* order of last use, for dropping the oldest */

static void remove_files(const char *dir)
{
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s%s", dir, RKEEP_FILE, sfx[i]);
        remove(p);
    }
}

static int open_db(rkeep *k, adt_err *err)
{
    int rc = sqldb_open(k->dir, RKEEP_FILE, SQLDB_CREATE, SQLDB_REBUILDABLE, NULL, &k->db, err);
    if (!rc)
        rc = sqldb_exec(k->db, schema, "creating the kept folds' table", err);
    if (rc) {
        sqldb_close(k->db);
        k->db = NULL;
    }
    return rc;
}

/* The file cannot be read as a database: it only held a cache, so it is
 * removed and created anew. */
static int reset(rkeep *k, adt_err *err)
{
    log_msg(LOG_WARN, "reports", "%s/%s is damaged (%s): removed; the reports rebuild it",
            k->dir, RKEEP_FILE, err->msg);
    sqldb_close(k->db);
    k->db = NULL;
    remove_files(k->dir);
    return open_db(k, err);
}

int rkeep_open(const char *data_dir, rkeep **out, adt_err *err)
{
    *out = NULL;
    rkeep *k = calloc(1, sizeof *k);
    if (!k)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    if (snprintf(k->dir, sizeof k->dir, "%s", data_dir) >= (int)sizeof k->dir) {
        free(k);
        return adt_fail(err, ADT_EINVAL, "data directory path too long");
    }
    int rc = open_db(k, err);
    if (rc == ADT_ECORRUPT)
        rc = reset(k, err);
    if (rc) {
        free(k);
        return rc;
    }
    *out = k;
    return ADT_OK;
}

void rkeep_close(rkeep *k)
{
    if (!k)
        return;
    sqldb_close(k->db);
    free(k);
}

int rkeep_load(rkeep *k, const char *key, uint64_t max_size, uint64_t *size, merkle_hash root,
               uint8_t **state, size_t *len, adt_err *err)
{
    *state = NULL;
    *len = 0;
    if (!k->db) /* a reset that could not create the file anew */
        return adt_fail(err, ADT_EIO, "%s/%s could not be created anew", k->dir, RKEEP_FILE);
    sqlite3_stmt *st = NULL;
    /* One statement (one snapshot of the row); the state and its checksum
     * are only read when the fold is not beyond max_size. */
    int rc = sqldb_prepare(k->db,
                           "SELECT size, root, CASE WHEN size <= ?2 THEN sha256 END,"
                           " CASE WHEN size <= ?2 THEN state END FROM fold WHERE key=?1",
                           &st, err);
    if (rc) {
        if (rc == ADT_ECORRUPT)
            reset(k, err);
        return rc;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, max_size > INT64_MAX ? INT64_MAX : (sqlite3_int64)max_size);
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE) {
        sqlite3_finalize(st);
        return adt_fail(err, ADT_ENOTFOUND, "no kept fold for %s", key);
    }
    if (s != SQLITE_ROW) {
        rc = sqldb_fail(k->db, "reading a kept fold", err);
        sqlite3_finalize(st);
        if (rc == ADT_ECORRUPT)
            reset(k, err);
        return rc;
    }
    sqlite3_int64 sz = sqlite3_column_int64(st, 0);
    const void *rt = sqlite3_column_blob(st, 1);
    int rtl = sqlite3_column_bytes(st, 1);
    if (sz < 0 || !rt || rtl != (int)sizeof(merkle_hash)) {
        sqlite3_finalize(st);
        return adt_fail(err, ADT_ECORRUPT, "the kept fold for %s has no valid size and root", key);
    }
    *size = (uint64_t)sz;
    memcpy(root, rt, sizeof(merkle_hash));
    if ((uint64_t)sz > max_size) {
        sqlite3_finalize(st);
        return adt_fail(err, ADT_EEXIST, "the kept fold for %s covers %llu entries, beyond %llu",
                        key, (unsigned long long)sz, (unsigned long long)max_size);
    }
    const void *sum = sqlite3_column_blob(st, 2);
    int suml = sqlite3_column_bytes(st, 2);
    const void *blob = sqlite3_column_blob(st, 3);
    int bl = sqlite3_column_bytes(st, 3);
    uint8_t mine[SHA256_LEN];
    if (blob && bl > 0)
        sha256(blob, (size_t)bl, mine);
    if (!sum || suml != SHA256_LEN || !blob || bl <= 0 || memcmp(mine, sum, SHA256_LEN)) {
        sqlite3_finalize(st);
        return adt_fail(err, ADT_ECORRUPT, "the kept fold for %s does not match its checksum", key);
    }
    uint8_t *copy = malloc((size_t)bl);
    if (!copy) {
        sqlite3_finalize(st);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    memcpy(copy, blob, (size_t)bl);
    *state = copy;
    *len = (size_t)bl;
    sqlite3_finalize(st);
    /* last use, for dropping the oldest; a failure only costs that order */
    sqlite3_stmt *up = NULL;
    if (sqldb_prepare(k->db, "UPDATE fold SET used=(SELECT max(used)+1 FROM fold) WHERE key=?",
                      &up, err) == ADT_OK) {
        sqlite3_bind_text(up, 1, key, -1, SQLITE_STATIC);
        sqlite3_step(up);
    }
    sqlite3_finalize(up);
    return ADT_OK;
}

int rkeep_save(rkeep *k, const char *key, uint64_t size, const merkle_hash root,
               const uint8_t *state, size_t len, adt_err *err)
{
    if (!len || len > INT32_MAX || size > INT64_MAX)
        return adt_fail(err, ADT_EINVAL, "a kept fold of %zu bytes at size %llu", len,
                        (unsigned long long)size);
    if (!k->db)
        return adt_fail(err, ADT_EIO, "%s/%s could not be created anew", k->dir, RKEEP_FILE);
    uint8_t sum[SHA256_LEN];
    sha256(state, len, sum);
    int rc = sqldb_begin(k->db, err);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = sqldb_prepare(k->db,
                           "INSERT INTO fold(key, size, root, sha256, state, used) "
                           "VALUES(?1, ?2, ?3, ?4, ?5, (SELECT coalesce(max(used), 0) + 1 FROM fold)) "
                           "ON CONFLICT(key) DO UPDATE SET size=excluded.size, root=excluded.root, "
                           "sha256=excluded.sha256, state=excluded.state, used=excluded.used",
                           &st, err);
    if (!rc) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
        sqlite3_bind_blob(st, 3, root, (int)sizeof(merkle_hash), SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, sum, SHA256_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 5, state, (int)len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sqldb_fail(k->db, "keeping a report's fold", err);
    }
    sqlite3_finalize(st);
    if (!rc)
        rc = sqldb_exec(k->db,
                        "DELETE FROM fold WHERE key NOT IN "
                        "(SELECT key FROM fold ORDER BY used DESC LIMIT " STR(RKEEP_MAX) ")",
                        "dropping the oldest kept folds", err);
    if (!rc)
        rc = sqldb_commit(k->db, err);
    if (rc)
        sqldb_rollback(k->db);
    return rc;
}

/* ---- state bytes ------------------------------------------------------------- */

static void put(rkeep_w *w, const void *p, size_t n)
{
    if (!w->oom && buf_append(&w->b, p, n))
        w->oom = true;
}

void rkeep_w_init(rkeep_w *w)
{
    buf_init(&w->b, RKEEP_STATE_MAX);
    w->oom = false;
}

void rkeep_w_u64(rkeep_w *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, 8);
}

void rkeep_w_i64(rkeep_w *w, int64_t v)
{
    rkeep_w_u64(w, (uint64_t)v);
}

void rkeep_w_f64(rkeep_w *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    rkeep_w_u64(w, u);
}

void rkeep_w_bytes(rkeep_w *w, const void *p, size_t n)
{
    rkeep_w_u64(w, n);
    put(w, p, n);
}

void rkeep_w_str(rkeep_w *w, const char *s)
{
    rkeep_w_bytes(w, s ? s : "", s ? strlen(s) : 0);
}

void rkeep_w_free(rkeep_w *w)
{
    buf_free(&w->b);
    w->oom = false;
}

size_t rkeep_w_count_at(rkeep_w *w)
{
    size_t at = w->b.len;
    rkeep_w_u64(w, 0);
    return at;
}

void rkeep_w_set_count(rkeep_w *w, size_t at, uint64_t n)
{
    if (w->oom || at > w->b.len || w->b.len - at < 8)
        return;
    for (int i = 0; i < 8; i++)
        w->b.data[at + (size_t)i] = (char)(uint8_t)(n >> (8 * i));
}

uint64_t rkeep_r_u64(rkeep_r *r)
{
    if (r->bad || r->len - r->pos < 8) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
    r->pos += 8;
    return v;
}

int64_t rkeep_r_i64(rkeep_r *r)
{
    return (int64_t)rkeep_r_u64(r);
}

double rkeep_r_f64(rkeep_r *r)
{
    uint64_t u = rkeep_r_u64(r);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

const uint8_t *rkeep_r_bytes(rkeep_r *r, size_t *n)
{
    uint64_t l = rkeep_r_u64(r);
    if (r->bad || l > r->len - r->pos) {
        r->bad = true;
        *n = 0;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += (size_t)l;
    *n = (size_t)l;
    return p;
}

void rkeep_r_str(rkeep_r *r, char *out, size_t cap)
{
    size_t n = 0;
    const uint8_t *p = rkeep_r_bytes(r, &n);
    if (!p || n >= cap || memchr(p, 0, n)) {
        r->bad = true;
        out[0] = 0;
        return;
    }
    memcpy(out, p, n);
    out[n] = 0;
}

size_t rkeep_r_count(rkeep_r *r, size_t min_size)
{
    uint64_t n = rkeep_r_u64(r);
    if (r->bad || (min_size && n > (r->len - r->pos) / min_size)) {
        r->bad = true;
        return 0;
    }
    return (size_t)n;
}

void rkeep_w_rec(rkeep_w *w, const void *rec, const rkeep_field *f, size_t nf)
{
    const unsigned char *b = rec;
    for (size_t i = 0; i < nf; i++) {
        const unsigned char *at = b + f[i].off;
        if (f[i].kind == RKEEP_STR) {
            rkeep_w_str(w, (const char *)at);
            continue;
        }
        uint64_t v = 0;
        if (f[i].size != sizeof v) { /* a table that names a field of another width */
            w->oom = true;
            return;
        }
        memcpy(&v, at, sizeof v); /* the bits of the int64_t, uint64_t or double */
        rkeep_w_u64(w, v);
    }
}

void rkeep_r_rec(rkeep_r *r, void *rec, const rkeep_field *f, size_t nf)
{
    unsigned char *b = rec;
    for (size_t i = 0; i < nf && !r->bad; i++) {
        unsigned char *at = b + f[i].off;
        if (f[i].kind == RKEEP_STR) {
            rkeep_r_str(r, (char *)at, f[i].size);
            continue;
        }
        if (f[i].size != sizeof(uint64_t)) {
            r->bad = true;
            return;
        }
        uint64_t v = rkeep_r_u64(r);
        memcpy(at, &v, sizeof v);
    }
}

size_t rkeep_rec_min(size_t nf)
{
    return nf * 8; /* a number's 8 bytes, or a string's 8-byte length */
}
