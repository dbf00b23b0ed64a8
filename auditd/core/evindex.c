#include "evindex.h"

#include "canon.h"
#include "leaf.h"
#include "numparse.h"
#include "sqldb.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct evindex {
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *ins;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS ev(idx INTEGER PRIMARY KEY, type TEXT NOT NULL, source TEXT NOT NULL,"
    " actor TEXT, time_us INTEGER, agent_seq INTEGER);"
    "CREATE INDEX IF NOT EXISTS ev_type ON ev(type, idx);"
    "CREATE INDEX IF NOT EXISTS ev_source ON ev(source, idx);"
    "CREATE INDEX IF NOT EXISTS ev_actor ON ev(actor, idx);"
    "CREATE INDEX IF NOT EXISTS ev_time ON ev(time_us);"
    "CREATE INDEX IF NOT EXISTS ev_seq ON ev(source, agent_seq) WHERE agent_seq IS NOT NULL;";

int evindex_open(const char *data_dir, evindex **out, adt_err *err)
{
    evindex *ix = calloc(1, sizeof *ix);
    if (!ix)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    pthread_mutex_init(&ix->mu, NULL);
    int rc = sqldb_open(data_dir, EVINDEX_DB_FILE, SQLDB_CREATE, SQLDB_REBUILDABLE, NULL, &ix->db,
                        err);
    if (!rc)
        rc = sqldb_exec(ix->db, schema, "creating the index", err);
    if (!rc)
        rc = sqldb_prepare(ix->db, "INSERT OR REPLACE INTO ev(idx, type, source, actor, time_us, "
                           "agent_seq) VALUES(?,?,?,?,?,?)", &ix->ins, err);
    if (rc) {
        evindex_close(ix);
        return rc;
    }
    *out = ix;
    return ADT_OK;
}

void evindex_close(evindex *ix)
{
    if (!ix)
        return;
    sqlite3_finalize(ix->ins);
    sqldb_close(ix->db);
    pthread_mutex_destroy(&ix->mu);
    free(ix);
}

typedef struct scan_ctx {
    evindex *ix;
    int rc;
} scan_ctx;

/* One entry into the index. The index is derived: an entry that is not a
 * leaf of the ledger's form (only a damaged file has one; verify says
 * which) is indexed with empty fields rather than stopping the catch-up. */
static int on_leaf(void *vctx, uint64_t index, const char *leaf, size_t len)
{
    scan_ctx *sc = vctx;
    leaf_view lv;
    adt_err perr;
    if (leaf_parse(leaf, len, index, &lv, &perr))
        memset(&lv, 0, sizeof lv);
    int64_t seq = -1;
    const char *v;
    size_t vl;
    if (lv.has_sig && !canon_member(lv.sig, lv.sig_len, "seq", &v, &vl)) {
        uint64_t s;
        if (!num_u64n(v, vl, INT64_MAX, &s) && s > 0)
            seq = (int64_t)s;
    }
    const char *type = lv.type, *source = lv.source, *actor = lv.actor;
    bool has_t = lv.has_time;
    int64_t t = lv.time_us;
    sqlite3_stmt *s = sc->ix->ins;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, (sqlite3_int64)index);
    sqlite3_bind_text(s, 2, type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, actor, -1, SQLITE_TRANSIENT);
    if (has_t)
        sqlite3_bind_int64(s, 5, t);
    else
        sqlite3_bind_null(s, 5);
    if (seq > 0)
        sqlite3_bind_int64(s, 6, seq);
    else
        sqlite3_bind_null(s, 6);
    if (sqlite3_step(s) != SQLITE_DONE) {
        sc->rc = ADT_EIO;
        return 1;
    }
    return 0;
}

static int indexed_upto(evindex *ix, uint64_t *n)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(ix->db, "SELECT COALESCE(MAX(idx)+1, 0) FROM ev", -1, &s, NULL))
        return ADT_EIO;
    int rc = sqlite3_step(s) == SQLITE_ROW ? ADT_OK : ADT_EIO;
    if (!rc)
        *n = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc;
}

int evindex_catch_up(evindex *ix, ledger *lg, adt_err *err)
{
    uint64_t size;
    int rc = ledger_size(lg, &size, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&ix->mu);
    uint64_t from;
    if (indexed_upto(ix, &from)) {
        rc = adt_fail(err, ADT_EIO, "events index: %s", sqlite3_errmsg(ix->db));
        goto out;
    }
    while (from < size && !rc) {
        /* Chunks keep each transaction short so readers are not starved. */
        uint64_t to = size - from > 50000 ? from + 50000 : size;
        sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        scan_ctx sc = {ix, 0};
        rc = ledger_scan(lg, from, to, on_leaf, &sc, err);
        if (sc.rc)
            rc = adt_fail(err, ADT_EIO, "events index: %s", sqlite3_errmsg(ix->db));
        if (rc || sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL)) {
            sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
            if (!rc)
                rc = adt_fail(err, ADT_EIO, "events index commit: %s", sqlite3_errmsg(ix->db));
        }
        from = to;
    }
out:
    pthread_mutex_unlock(&ix->mu);
    return rc;
}

/* Take the index's lock and prepare sql; on failure the lock is released. */
static int lock_prepare(evindex *ix, const char *sql, sqlite3_stmt **s, adt_err *err)
{
    pthread_mutex_lock(&ix->mu);
    if (sqlite3_prepare_v2(ix->db, sql, -1, s, NULL) == SQLITE_OK)
        return ADT_OK;
    int rc = adt_fail(err, ADT_EIO, "events index: %s", sqlite3_errmsg(ix->db));
    pthread_mutex_unlock(&ix->mu);
    return rc;
}

int evindex_query_run(evindex *ix, const evindex_query *q, uint64_t *idx, unsigned *n, int *more,
                      adt_err *err)
{
    char sql[512] = "SELECT idx FROM ev WHERE idx > ?1";
    size_t l = strlen(sql);
    if (q->type)
        l += (size_t)snprintf(sql + l, sizeof sql - l, " AND type = ?2");
    if (q->source)
        l += (size_t)snprintf(sql + l, sizeof sql - l, " AND source = ?3");
    if (q->actor)
        l += (size_t)snprintf(sql + l, sizeof sql - l, " AND actor = ?4");
    if (q->from_us != INT64_MIN)
        l += (size_t)snprintf(sql + l, sizeof sql - l, " AND time_us >= ?5");
    if (q->to_us != INT64_MAX)
        l += (size_t)snprintf(sql + l, sizeof sql - l, " AND time_us < ?6");
    snprintf(sql + l, sizeof sql - l, " ORDER BY idx LIMIT ?7");
    sqlite3_stmt *s;
    int rc = lock_prepare(ix, sql, &s, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(s, 1, q->has_after ? (sqlite3_int64)q->after : -1);
    if (q->type)
        sqlite3_bind_text(s, 2, q->type, -1, SQLITE_STATIC);
    if (q->source)
        sqlite3_bind_text(s, 3, q->source, -1, SQLITE_STATIC);
    if (q->actor)
        sqlite3_bind_text(s, 4, q->actor, -1, SQLITE_STATIC);
    if (q->from_us != INT64_MIN)
        sqlite3_bind_int64(s, 5, q->from_us);
    if (q->to_us != INT64_MAX)
        sqlite3_bind_int64(s, 6, q->to_us);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)q->limit + 1);
    unsigned k = 0;
    *more = 0;
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        if (k == q->limit) {
            *more = 1;
            break;
        }
        idx[k++] = (uint64_t)sqlite3_column_int64(s, 0);
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = adt_fail(err, ADT_EIO, "events index: %s", sqlite3_errmsg(ix->db));
    *n = k;
    sqlite3_finalize(s);
    pthread_mutex_unlock(&ix->mu);
    return rc;
}

int evindex_batch(evindex *ix, const char *agent, uint64_t seq, uint64_t *first, uint64_t *count,
                  adt_err *err)
{
    sqlite3_stmt *s;
    int rc = lock_prepare(ix, "SELECT MIN(idx), COUNT(*) FROM ev WHERE source=? AND agent_seq=?",
                          &s, err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, agent, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 1) > 0) {
        *first = (uint64_t)sqlite3_column_int64(s, 0);
        *count = (uint64_t)sqlite3_column_int64(s, 1);
    } else {
        rc = adt_fail(err, ADT_ENOTFOUND, "no entries from agent '%s' with seq %llu", agent,
                      (unsigned long long)seq);
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&ix->mu);
    return rc;
}

int evindex_last(evindex *ix, const char *type, const char *source, uint64_t *idx,
                 int64_t *time_us, adt_err *err)
{
    sqlite3_stmt *s;
    int rc = lock_prepare(ix, "SELECT idx, time_us FROM ev WHERE type=? AND source=? "
                              "ORDER BY idx DESC LIMIT 1", &s, err);
    if (rc)
        return rc;
    sqlite3_bind_text(s, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, source, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *idx = (uint64_t)sqlite3_column_int64(s, 0);
        *time_us = sqlite3_column_int64(s, 1);
    } else {
        rc = adt_fail(err, ADT_ENOTFOUND, "no %s entry from %s", type, source);
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&ix->mu);
    return rc;
}
