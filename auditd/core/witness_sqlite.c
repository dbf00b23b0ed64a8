#include "witness_sqlite.h"

#include "rfc3339.h"
#include "sha256.h"
#include "sqldb.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT "auditd-witness-1"

struct witness_sqlite {
    sqlite3 *db;
    pthread_mutex_t mu;
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS logs(origin TEXT NOT NULL, vkey TEXT NOT NULL,"
    " key_name TEXT NOT NULL, pubkey BLOB NOT NULL, added_at TEXT NOT NULL,"
    " PRIMARY KEY(origin, vkey));"
    "CREATE TABLE IF NOT EXISTS latest(origin TEXT PRIMARY KEY, size INTEGER NOT NULL,"
    " root BLOB NOT NULL, note TEXT NOT NULL, updated_at TEXT NOT NULL);";

static int db_fail(sqlite3 *db, adt_err *err, const char *what)
{
    return sqldb_fail(db, what, err);
}

static int open_db(const char *dir, bool create, sqlite3 **out, adt_err *err)
{
    /* What a witness cosigned must never be forgotten (it would cosign a fork). */
    sqlite3 *db = NULL;
    int rc = sqldb_open(dir, WITNESS_DB_FILE, create ? SQLDB_CREATE : SQLDB_WRITE, SQLDB_DURABLE,
                        "this directory is not a witness: run 'auditd witness init --name NAME' "
                        "first", &db, err);
    if (!rc && (rc = sqldb_exec(db, schema, "creating the witness tables", err)))
        sqldb_close(db);
    if (!rc)
        *out = db;
    return rc;
}

static int meta_put(sqlite3 *db, const char *key, const void *v, int n, adt_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(db, "INSERT INTO meta(key, value) VALUES(?,?)", -1, &s, NULL) != SQLITE_OK)
        return db_fail(db, err, "prepare");
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, v, n, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_fail(db, err, "writing meta");
    sqlite3_finalize(s);
    return rc;
}

int witness_sqlite_create(const char *dir, const char *name, const uint8_t *seed, adt_err *err)
{
    char kpath[4200], dpath[4200];
    struct stat sb;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return adt_fail(err, ADT_EIO, "cannot create %s: %s", dir, strerror(errno));
    snprintf(kpath, sizeof kpath, "%s/%s", dir, WITNESS_KEY_FILE);
    snprintf(dpath, sizeof dpath, "%s/%s", dir, WITNESS_DB_FILE);
    if (stat(kpath, &sb) == 0 || stat(dpath, &sb) == 0)
        return adt_fail(err, ADT_EEXIST, "%s is a witness already (%s or %s exists)", dir,
                        WITNESS_KEY_FILE, WITNESS_DB_FILE);
    char vk[NOTE_KEYLINE_MAX];
    uint8_t zero[32] = {0};
    /* Check the name the way a vkey needs it before writing anything. */
    if (note_vkey_line(name, NOTE_SIG_COSIG_V1, zero, vk, sizeof vk) != ADT_OK)
        return adt_fail(err, ADT_EINVAL, "witness name is too long");
    char nm[NOTE_ORIGIN_MAX + 1];
    adt_err e2;
    if (note_vkey_parse(vk, NOTE_SIG_COSIG_V1, nm, sizeof nm, zero, &e2) != ADT_OK)
        return adt_fail(err, ADT_EINVAL, "invalid witness name '%s': 1..%d printable ASCII "
                        "characters without spaces or '+' (e.g. witness.example/w1)", name,
                        NOTE_ORIGIN_MAX);
    uint8_t pub[32];
    int rc = seed ? note_keygen_seeded(kpath, seed, pub, err) : note_keygen(kpath, pub, err);
    if (rc)
        return rc;
    sqlite3 *db = NULL;
    if (!(rc = open_db(dir, true, &db, err))) {
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            rc = db_fail(db, err, "begin");
        if (!rc)
            rc = meta_put(db, "format", FORMAT, (int)strlen(FORMAT), err);
        if (!rc)
            rc = meta_put(db, "name", name, (int)strlen(name), err);
        if (!rc)
            rc = meta_put(db, "pubkey", pub, 32, err);
        if (!rc && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = db_fail(db, err, "commit");
        sqlite3_close(db);
    }
    if (rc) {
        unlink(kpath);
        unlink(dpath);
    }
    return rc;
}

static int meta_get(sqlite3 *db, const char *key, void *out, size_t cap, size_t *n, adt_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key=?", -1, &s, NULL) != SQLITE_OK)
        return db_fail(db, err, "prepare");
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_ROW) {
        rc = adt_fail(err, ADT_ECORRUPT, "witness.db has no '%s': recreate it with 'auditd witness "
                      "init'", key);
    } else {
        size_t l = (size_t)sqlite3_column_bytes(s, 0);
        if (l > cap)
            rc = adt_fail(err, ADT_ECORRUPT, "witness.db: '%s' is too long", key);
        else {
            memcpy(out, sqlite3_column_blob(s, 0), l);
            *n = l;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

int witness_sqlite_open(const char *dir, witness_sqlite **out, adt_err *err)
{
    witness_sqlite *ws = calloc(1, sizeof *ws);
    if (!ws)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    pthread_mutex_init(&ws->mu, NULL);
    int rc = open_db(dir, false, &ws->db, err);
    char fmt[32];
    size_t n = 0;
    if (!rc && !(rc = meta_get(ws->db, "format", fmt, sizeof fmt - 1, &n, err)) &&
        (n != strlen(FORMAT) || memcmp(fmt, FORMAT, n) != 0))
        rc = adt_fail(err, ADT_ECORRUPT, "witness.db has format '%.*s', expected %s", (int)n, fmt,
                      FORMAT);
    if (!rc && !(rc = meta_get(ws->db, "name", ws->name, sizeof ws->name - 1, &n, err)))
        ws->name[n] = '\0';
    if (!rc && !(rc = meta_get(ws->db, "pubkey", ws->pub, sizeof ws->pub, &n, err)) && n != 32)
        rc = adt_fail(err, ADT_ECORRUPT, "witness.db: the public key is not 32 bytes");
    if (rc) {
        witness_sqlite_close(ws);
        return rc;
    }
    *out = ws;
    return ADT_OK;
}

void witness_sqlite_close(witness_sqlite *ws)
{
    if (!ws)
        return;
    sqlite3_close(ws->db);
    pthread_mutex_destroy(&ws->mu);
    free(ws);
}

const char *witness_sqlite_name(const witness_sqlite *ws) { return ws->name; }

int witness_sqlite_signer(witness_sqlite *ws, const char *dir, note_signer **out, adt_err *err)
{
    char kpath[4200];
    snprintf(kpath, sizeof kpath, "%s/%s", dir, WITNESS_KEY_FILE);
    note_signer *s = NULL;
    int rc = note_signer_load(kpath, ws->name, &s, err);
    if (rc)
        return rc;
    if (sodium_memcmp(note_signer_pub(s), ws->pub, 32) != 0) {
        note_signer_free(s);
        return adt_fail(err, ADT_ECORRUPT, "%s is not the key %s was created with", kpath,
                        WITNESS_DB_FILE);
    }
    *out = s;
    return ADT_OK;
}

static bool origin_ok(const char *o)
{
    size_t n = strlen(o);
    if (n == 0 || n > NOTE_ORIGIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)o[i] < 0x20 || o[i] == 0x7F)
            return false;
    return true;
}

int witness_sqlite_add_log(witness_sqlite *ws, const char *origin, const char *log_vkey,
                           adt_err *err)
{
    if (!origin_ok(origin))
        return adt_fail(err, ADT_EINVAL, "origin must be 1..%d bytes without control characters "
                        "(the first line of the log's checkpoints)", NOTE_ORIGIN_MAX);
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    int rc = note_key_parse(log_vkey, name, sizeof name, pub, err);
    if (rc) {
        adt_err_prefix(err, "--key must be the log's verifier key (auditd key, or GET /v1/log/key)");
        return rc;
    }
    char vk[NOTE_KEYLINE_MAX], now[40];
    note_key_line(name, pub, vk, sizeof vk);
    rfc3339_format(rfc3339_now_us(), now, sizeof now);
    pthread_mutex_lock(&ws->mu);
    sqlite3_stmt *s = NULL;
    if (sqlite3_exec(ws->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(ws->db, err, "begin");
        goto out;
    }
    if (sqlite3_prepare_v2(ws->db, "SELECT count(*) FROM logs WHERE origin=?", -1, &s, NULL)) {
        rc = db_fail(ws->db, err, "prepare");
        goto out;
    }
    sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) >= WITNESS_LOG_KEYS_MAX) {
        rc = adt_fail(err, ADT_ETOOBIG, "origin '%s' has %d keys already", origin,
                      WITNESS_LOG_KEYS_MAX);
        goto out;
    }
    sqlite3_finalize(s);
    s = NULL;
    if (sqlite3_prepare_v2(ws->db, "INSERT INTO logs(origin, vkey, key_name, pubkey, added_at) "
                                   "VALUES(?,?,?,?,?)", -1, &s, NULL)) {
        rc = db_fail(ws->db, err, "prepare");
        goto out;
    }
    sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, vk, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, pub, 32, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, now, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    if (r == SQLITE_CONSTRAINT)
        rc = adt_fail(err, ADT_EEXIST, "key %s is registered for '%s' already", vk, origin);
    else if (r != SQLITE_DONE)
        rc = db_fail(ws->db, err, "adding the log");
out:
    sqlite3_finalize(s);
    if (rc == ADT_OK && sqlite3_exec(ws->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(ws->db, err, "commit");
    if (rc)
        sqlite3_exec(ws->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&ws->mu);
    return rc;
}

int witness_sqlite_latest(witness_sqlite *ws, const char *origin, buf *note, uint64_t *size,
                          adt_err *err)
{
    pthread_mutex_lock(&ws->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(ws->db, "SELECT size, note FROM latest WHERE origin=?", -1, &s, NULL)) {
        rc = db_fail(ws->db, err, "prepare");
    } else {
        sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
        int r = sqlite3_step(s);
        if (r == SQLITE_ROW) {
            *size = (uint64_t)sqlite3_column_int64(s, 0);
            buf_reset(note);
            rc = buf_append(note, sqlite3_column_text(s, 1), (size_t)sqlite3_column_bytes(s, 1));
        } else if (r == SQLITE_DONE) {
            rc = adt_fail(err, ADT_ENOTFOUND, "the witness has not cosigned a checkpoint for '%s'",
                          origin);
        } else {
            rc = db_fail(ws->db, err, "reading latest");
        }
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&ws->mu);
    return rc;
}

int witness_sqlite_latest_by_hash(witness_sqlite *ws, const char *origin_sha256_hex, buf *note,
                                  adt_err *err)
{
    pthread_mutex_lock(&ws->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_ENOTFOUND;
    if (sqlite3_prepare_v2(ws->db, "SELECT origin, note FROM latest", -1, &s, NULL)) {
        rc = db_fail(ws->db, err, "prepare");
    } else {
        int r;
        while ((r = sqlite3_step(s)) == SQLITE_ROW) {
            char hex[SHA256_HEX_LEN];
            sha256_hex(sqlite3_column_text(s, 0), (size_t)sqlite3_column_bytes(s, 0), hex);
            if (!strcmp(hex, origin_sha256_hex)) {
                buf_reset(note);
                rc = buf_append(note, sqlite3_column_text(s, 1), (size_t)sqlite3_column_bytes(s, 1));
                break;
            }
        }
        if (rc == ADT_ENOTFOUND && r != SQLITE_DONE)
            rc = db_fail(ws->db, err, "reading latest");
        else if (rc == ADT_ENOTFOUND)
            adt_fail(err, rc, "the witness has not cosigned a checkpoint for a log with that origin hash");
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&ws->mu);
    return rc;
}

int witness_sqlite_list(witness_sqlite *ws, buf *out, adt_err *err)
{
    pthread_mutex_lock(&ws->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(ws->db, "SELECT l.origin, t.size, l.vkey FROM logs l LEFT JOIN latest t "
                                   "ON t.origin = l.origin ORDER BY l.origin, l.vkey", -1, &s, NULL)) {
        rc = db_fail(ws->db, err, "prepare");
    } else {
        int r = SQLITE_DONE;
        while (!rc && (r = sqlite3_step(s)) == SQLITE_ROW) {
            if (sqlite3_column_type(s, 1) == SQLITE_NULL)
                rc = buf_printf(out, "%s - %s\n", sqlite3_column_text(s, 0), sqlite3_column_text(s, 2));
            else
                rc = buf_printf(out, "%s %lld %s\n", sqlite3_column_text(s, 0),
                                (long long)sqlite3_column_int64(s, 1), sqlite3_column_text(s, 2));
        }
        if (!rc && r != SQLITE_DONE)
            rc = db_fail(ws->db, err, "listing logs");
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&ws->mu);
    return rc;
}

/* ---------- witness_store_ops ---------- */

static int op_log_keys(void *ctx, const char *origin, witness_log_key *keys, size_t cap, size_t *n,
                       adt_err *err)
{
    witness_sqlite *ws = ctx;
    pthread_mutex_lock(&ws->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    *n = 0;
    if (sqlite3_prepare_v2(ws->db, "SELECT key_name, pubkey FROM logs WHERE origin=? ORDER BY vkey",
                           -1, &s, NULL)) {
        rc = db_fail(ws->db, err, "prepare");
    } else {
        sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
        int r = SQLITE_DONE;
        while ((r = sqlite3_step(s)) == SQLITE_ROW && *n < cap) {
            const char *nm = (const char *)sqlite3_column_text(s, 0);
            if (sqlite3_column_bytes(s, 1) != 32 || !nm || strlen(nm) > NOTE_ORIGIN_MAX) {
                rc = adt_fail(err, ADT_ECORRUPT, "witness.db: a key of '%s' is damaged", origin);
                break;
            }
            snprintf(keys[*n].name, sizeof keys[*n].name, "%s", nm);
            memcpy(keys[*n].pub, sqlite3_column_blob(s, 1), 32);
            (*n)++;
        }
        if (!rc && r != SQLITE_DONE && r != SQLITE_ROW)
            rc = db_fail(ws->db, err, "reading logs");
        if (!rc && *n == 0)
            rc = adt_fail(err, ADT_ENOTFOUND, "unknown origin");
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&ws->mu);
    return rc;
}

/* Read latest for origin with the mutex held. */
static int read_latest(witness_sqlite *ws, const char *origin, uint64_t *size, merkle_hash root,
                       bool *has, adt_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    *has = false;
    *size = 0;
    if (sqlite3_prepare_v2(ws->db, "SELECT size, root FROM latest WHERE origin=?", -1, &s, NULL))
        return db_fail(ws->db, err, "prepare");
    sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        if (sqlite3_column_bytes(s, 1) != MERKLE_HASH_LEN || sqlite3_column_int64(s, 0) < 0) {
            rc = adt_fail(err, ADT_ECORRUPT, "witness.db: the latest checkpoint of '%s' is damaged",
                          origin);
        } else {
            *size = (uint64_t)sqlite3_column_int64(s, 0);
            memcpy(root, sqlite3_column_blob(s, 1), MERKLE_HASH_LEN);
            *has = true;
        }
    } else if (r != SQLITE_DONE) {
        rc = db_fail(ws->db, err, "reading latest");
    }
    sqlite3_finalize(s);
    return rc;
}

static int op_latest(void *ctx, const char *origin, uint64_t *size, merkle_hash root, bool *has,
                     adt_err *err)
{
    witness_sqlite *ws = ctx;
    pthread_mutex_lock(&ws->mu);
    int rc = read_latest(ws, origin, size, root, has, err);
    pthread_mutex_unlock(&ws->mu);
    return rc;
}

static int op_swap(void *ctx, const char *origin, uint64_t old_size, bool old_has,
                   const merkle_hash old_root, uint64_t size, const merkle_hash root,
                   const char *note, size_t note_len, uint64_t *current, adt_err *err)
{
    witness_sqlite *ws = ctx;
    if (size > INT64_MAX)
        return adt_fail(err, ADT_EINVAL, "tree size above 2^63-1");
    char now[40];
    rfc3339_format(rfc3339_now_us(), now, sizeof now);
    pthread_mutex_lock(&ws->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_exec(ws->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(ws->db, err, "begin");
        pthread_mutex_unlock(&ws->mu);
        return rc;
    }
    uint64_t cur = 0;
    merkle_hash cur_root;
    bool has = false;
    if ((rc = read_latest(ws, origin, &cur, cur_root, &has, err)))
        goto out;
    if (has != old_has || (has && (cur != old_size || sodium_memcmp(cur_root, old_root, 32) != 0))) {
        *current = has ? cur : 0;
        rc = ADT_ECONFLICT;
        goto out;
    }
    if (sqlite3_prepare_v2(ws->db, "INSERT INTO latest(origin, size, root, note, updated_at) "
                                   "VALUES(?,?,?,?,?) ON CONFLICT(origin) DO UPDATE SET "
                                   "size=excluded.size, root=excluded.root, note=excluded.note, "
                                   "updated_at=excluded.updated_at", -1, &s, NULL)) {
        rc = db_fail(ws->db, err, "prepare");
        goto out;
    }
    sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)size);
    sqlite3_bind_blob(s, 3, root, MERKLE_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, note, (int)note_len, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, now, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_fail(ws->db, err, "storing the latest checkpoint");
out:
    sqlite3_finalize(s);
    if (rc == ADT_OK && sqlite3_exec(ws->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(ws->db, err, "commit");
    if (rc)
        sqlite3_exec(ws->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&ws->mu);
    return rc;
}

static const witness_store_ops sqlite_ops = {op_log_keys, op_latest, op_swap};

const witness_store_ops *witness_sqlite_ops(void) { return &sqlite_ops; }
