#include "cosigdb.h"

#include "rfc3339.h"
#include "sqldb.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct cosigdb {
    sqlite3 *db;
    pthread_mutex_t mu;
    /* The newest cosigned checkpoint with its cosignatures (cache of the file). */
    bool has_latest;
    uint64_t latest_size;
    merkle_hash latest_root;
    size_t latest_n; /* cosignatures in it */
    buf latest;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS cosigned(size INTEGER PRIMARY KEY, root BLOB NOT NULL,"
    " note TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS cosignatures(size INTEGER NOT NULL, witness TEXT NOT NULL,"
    " line TEXT NOT NULL, timestamp INTEGER NOT NULL, received_at TEXT NOT NULL,"
    " PRIMARY KEY(size, witness));"
    "CREATE INDEX IF NOT EXISTS cosignatures_by_witness ON cosignatures(witness, size);";

static int db_fail(sqlite3 *db, adt_err *err, const char *what)
{
    return sqldb_fail(db, what, err);
}

/* Lines for (size, root) appended to `out`, with the mutex held. */
static int lines_locked(cosigdb *db, uint64_t size, const merkle_hash root, buf *out, size_t *n,
                        adt_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    size_t k = 0;
    if (sqlite3_prepare_v2(db->db, "SELECT c.line FROM cosignatures c JOIN cosigned p ON "
                                   "p.size = c.size WHERE c.size=? AND p.root=? ORDER BY c.witness",
                           -1, &s, NULL))
        return db_fail(db->db, err, "prepare");
    sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
    sqlite3_bind_blob(s, 2, root, MERKLE_HASH_LEN, SQLITE_STATIC);
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW && k < COSIGDB_WITNESSES_MAX) {
        if ((rc = buf_append(out, sqlite3_column_text(s, 0), (size_t)sqlite3_column_bytes(s, 0))))
            break;
        k++;
    }
    if (!rc && r != SQLITE_DONE && r != SQLITE_ROW)
        rc = db_fail(db->db, err, "reading cosignatures");
    sqlite3_finalize(s);
    if (rc && !err->msg[0])
        adt_fail(err, rc, "the cosigned checkpoint does not fit");
    if (n)
        *n = k;
    return rc;
}

/* Reload the cache from the newest cosigned size, with the mutex held. */
static int load_latest(cosigdb *db, adt_err *err)
{
    sqlite3_stmt *s = NULL;
    db->has_latest = false;
    buf_reset(&db->latest);
    if (sqlite3_prepare_v2(db->db, "SELECT size, root, note FROM cosigned WHERE size = "
                                   "(SELECT max(size) FROM cosignatures)", -1, &s, NULL))
        return db_fail(db->db, err, "prepare");
    int rc = ADT_OK;
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW && sqlite3_column_bytes(s, 1) == MERKLE_HASH_LEN) {
        db->latest_size = (uint64_t)sqlite3_column_int64(s, 0);
        memcpy(db->latest_root, sqlite3_column_blob(s, 1), MERKLE_HASH_LEN);
        rc = buf_append(&db->latest, sqlite3_column_text(s, 2), (size_t)sqlite3_column_bytes(s, 2));
        sqlite3_finalize(s);
        if (!rc)
            rc = lines_locked(db, db->latest_size, db->latest_root, &db->latest, &db->latest_n, err);
        db->has_latest = rc == ADT_OK;
        return rc;
    }
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        rc = db_fail(db->db, err, "reading the latest cosigned checkpoint");
    sqlite3_finalize(s);
    return rc;
}

int cosigdb_open(const char *dir, bool create, cosigdb **out, adt_err *err)
{
    cosigdb *db = calloc(1, sizeof *db);
    if (!db)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    pthread_mutex_init(&db->mu, NULL);
    buf_init(&db->latest, COSIGDB_NOTE_MAX);
    /* Cosignatures can be asked of the witnesses again. */
    int rc = sqldb_open(dir, COSIGDB_FILE, create ? SQLDB_CREATE : SQLDB_WRITE, SQLDB_REBUILDABLE,
                        "no witness has cosigned yet", &db->db, err);
    if (!rc)
        rc = sqldb_exec(db->db, schema, "creating the cosignature tables", err);
    if (!rc)
        rc = load_latest(db, err);
    if (rc) {
        cosigdb_close(db);
        return rc;
    }
    *out = db;
    return ADT_OK;
}

void cosigdb_close(cosigdb *db)
{
    if (!db)
        return;
    sqldb_close(db->db);
    buf_free(&db->latest);
    pthread_mutex_destroy(&db->mu);
    free(db);
}

int cosigdb_add(cosigdb *db, const char *note, uint64_t size, const merkle_hash root,
                const char *vkey, const char *line, uint64_t timestamp, adt_err *err)
{
    if (size > INT64_MAX || timestamp > INT64_MAX)
        return adt_fail(err, ADT_EINVAL, "size or timestamp above 2^63-1");
    char now[40];
    rfc3339_format(rfc3339_now_us(), now, sizeof now);
    pthread_mutex_lock(&db->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(db->db, err, "begin");
        pthread_mutex_unlock(&db->mu);
        return rc;
    }
    /* The checkpoint: the same size can only ever have one root in an honest
     * ledger; a different one means the ledger was rewritten under us. */
    if (sqlite3_prepare_v2(db->db, "SELECT root FROM cosigned WHERE size=?", -1, &s, NULL)) {
        rc = db_fail(db->db, err, "prepare");
        goto out;
    }
    sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW &&
        (sqlite3_column_bytes(s, 0) != MERKLE_HASH_LEN ||
         sodium_memcmp(sqlite3_column_blob(s, 0), root, MERKLE_HASH_LEN) != 0)) {
        rc = adt_fail(err, ADT_ECONFLICT, "%s holds cosignatures on another root at size %llu: the "
                      "ledger's history below that size changed", COSIGDB_FILE,
                      (unsigned long long)size);
        goto out;
    }
    sqlite3_finalize(s);
    s = NULL;
    if (r == SQLITE_DONE) {
        if (sqlite3_prepare_v2(db->db, "INSERT INTO cosigned(size, root, note) VALUES(?,?,?)", -1,
                               &s, NULL)) {
            rc = db_fail(db->db, err, "prepare");
            goto out;
        }
        sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
        sqlite3_bind_blob(s, 2, root, MERKLE_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, note, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE) {
            rc = db_fail(db->db, err, "storing the checkpoint");
            goto out;
        }
        sqlite3_finalize(s);
        s = NULL;
    } else if (r != SQLITE_ROW) {
        rc = db_fail(db->db, err, "reading cosigned");
        goto out;
    }
    if (sqlite3_prepare_v2(db->db, "INSERT OR REPLACE INTO cosignatures(size, witness, line, "
                                   "timestamp, received_at) VALUES(?,?,?,?,?)", -1, &s, NULL)) {
        rc = db_fail(db->db, err, "prepare");
        goto out;
    }
    sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
    sqlite3_bind_text(s, 2, vkey, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, line, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)timestamp);
    sqlite3_bind_text(s, 5, now, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_fail(db->db, err, "storing the cosignature");
out:
    sqlite3_finalize(s);
    if (!rc && sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(db->db, err, "commit");
    if (rc) {
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    } else if (!db->has_latest || size >= db->latest_size) {
        adt_err e2 = {0};
        if (load_latest(db, &e2))
            db->has_latest = false; /* the next reader goes to the file */
    }
    pthread_mutex_unlock(&db->mu);
    return rc;
}

int cosigdb_attach(cosigdb *db, const char *note, uint64_t size, const merkle_hash root, buf *out,
                   size_t *n, adt_err *err)
{
    buf_reset(out);
    int rc = buf_puts(out, note);
    if (rc)
        return adt_fail(err, rc, "checkpoint does not fit");
    if (n)
        *n = 0;
    if (!db)
        return ADT_OK;
    pthread_mutex_lock(&db->mu);
    if (!db->has_latest || size > db->latest_size) {
        /* Nothing above the newest cosigned size is cosigned: no file read on
         * the receipts' hot path (fresh commits). */
        pthread_mutex_unlock(&db->mu);
        return ADT_OK;
    }
    if (db->latest_size == size &&
        sodium_memcmp(db->latest_root, root, MERKLE_HASH_LEN) == 0) {
        /* The cache holds the same note followed by its lines. */
        buf_reset(out);
        rc = buf_append(out, db->latest.data, db->latest.len);
        if (n)
            *n = db->latest_n;
        if (rc)
            adt_fail(err, rc, "checkpoint does not fit");
    } else {
        rc = lines_locked(db, size, root, out, n, err);
    }
    pthread_mutex_unlock(&db->mu);
    return rc;
}

int cosigdb_latest(cosigdb *db, buf *out, uint64_t *size, adt_err *err)
{
    pthread_mutex_lock(&db->mu);
    int rc = ADT_OK;
    if (!db->has_latest)
        rc = load_latest(db, err);
    if (!rc && !db->has_latest)
        rc = adt_fail(err, ADT_ENOTFOUND, "no witness has cosigned a checkpoint of this ledger yet");
    if (!rc) {
        buf_reset(out);
        rc = buf_append(out, db->latest.data, db->latest.len);
        if (rc)
            adt_fail(err, rc, "checkpoint does not fit");
        if (size)
            *size = db->latest_size;
    }
    pthread_mutex_unlock(&db->mu);
    return rc;
}

int cosigdb_witness_size(cosigdb *db, const char *vkey, uint64_t *size, adt_err *err)
{
    pthread_mutex_lock(&db->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(db->db, "SELECT max(size) FROM cosignatures WHERE witness=?", -1, &s,
                           NULL)) {
        rc = db_fail(db->db, err, "prepare");
    } else {
        sqlite3_bind_text(s, 1, vkey, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_ROW)
            rc = db_fail(db->db, err, "reading cosignatures");
        else if (sqlite3_column_type(s, 0) == SQLITE_NULL)
            rc = adt_fail(err, ADT_ENOTFOUND, "witness has not cosigned");
        else
            *size = (uint64_t)sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&db->mu);
    return rc;
}

int cosigdb_list(cosigdb *db, uint64_t size, const merkle_hash root, cosigdb_cosig *out,
                 size_t cap, size_t *n, adt_err *err)
{
    pthread_mutex_lock(&db->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    *n = 0;
    if (sqlite3_prepare_v2(db->db, "SELECT c.witness, c.line, c.timestamp FROM cosignatures c "
                                   "JOIN cosigned p ON p.size = c.size WHERE c.size=? AND p.root=? "
                                   "ORDER BY c.witness", -1, &s, NULL)) {
        rc = db_fail(db->db, err, "prepare");
    } else {
        sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
        sqlite3_bind_blob(s, 2, root, MERKLE_HASH_LEN, SQLITE_STATIC);
        int r;
        while ((r = sqlite3_step(s)) == SQLITE_ROW && *n < cap) {
            snprintf(out[*n].vkey, sizeof out[*n].vkey, "%s", sqlite3_column_text(s, 0));
            snprintf(out[*n].line, sizeof out[*n].line, "%s", sqlite3_column_text(s, 1));
            out[*n].timestamp = (uint64_t)sqlite3_column_int64(s, 2);
            (*n)++;
        }
        if (r != SQLITE_DONE && r != SQLITE_ROW)
            rc = db_fail(db->db, err, "reading cosignatures");
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&db->mu);
    return rc;
}

int cosigdb_checkpoint(const char *dir, ledger *lg, bool latest, uint64_t size, buf *out,
                       uint64_t *out_size, size_t *ncosigs, adt_err *err)
{
    char note[NOTE_MAX];
    uint64_t sz = size;
    int rc = latest ? ledger_checkpoint(lg, note, sizeof note, &sz, err)
                    : ledger_checkpoint_at(lg, size, note, sizeof note, err);
    if (rc)
        return rc;
    merkle_hash root;
    if ((rc = note_verify_checkpoint(note, strlen(note), ledger_origin(lg), ledger_pubkey(lg), NULL,
                                     root, err)))
        return rc;
    cosigdb *db = NULL;
    adt_err e2 = {0};
    rc = cosigdb_open(dir, false, &db, &e2);
    if (rc && rc != ADT_ENOTFOUND) {
        *err = e2;
        return rc;
    }
    rc = cosigdb_attach(db, note, sz, root, out, ncosigs, err);
    cosigdb_close(db);
    if (!rc && out_size)
        *out_size = sz;
    return rc;
}
