#include "person.h"

#include "agentsig.h"
#include "canon.h"
#include "rfc3339.h"
#include "sqldb.h"
#include "state.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct person_db {
    sqlite3 *db;
    pthread_mutex_t mu;
};

static const char *const role_names[] = {"steering", "auditor", "operator", "data-scientist",
                                         "approver", "admin"};
#define NROLES (sizeof role_names / sizeof role_names[0])

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS srv_persons("
    " name TEXT PRIMARY KEY, roles TEXT NOT NULL, hash TEXT NOT NULL, cred_id TEXT NOT NULL,"
    " created_at TEXT NOT NULL, revoked_at TEXT);"
    "CREATE TABLE IF NOT EXISTS srv_sessions("
    " token_sha256 BLOB PRIMARY KEY, name TEXT NOT NULL, cred_id TEXT NOT NULL,"
    " created_us INTEGER NOT NULL, last_us INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS srv_sessions_by_name ON srv_sessions(name);";

static int db_fail(person_db *p, adt_err *err, const char *what)
{
    return sqldb_fail(p->db, what, err);
}

int person_open(const char *data_dir, person_db **out, adt_err *err)
{
    if (sodium_init() < 0)
        return adt_fail(err, ADT_ECRYPTO, "libsodium failed to initialise");
    person_db *p = calloc(1, sizeof *p);
    if (!p)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    pthread_mutex_init(&p->mu, NULL);
    /* People and their password hashes are not rebuilt from anything. */
    int rc = sqldb_open(data_dir, STATE_DB_FILE, SQLDB_CREATE, SQLDB_DURABLE, NULL, &p->db, err);
    if (!rc)
        rc = sqldb_exec(p->db, schema, "creating the console's people tables", err);
    if (rc) {
        person_close(p);
        return rc;
    }
    *out = p;
    return ADT_OK;
}

void person_close(person_db *p)
{
    if (!p)
        return;
    sqldb_close(p->db);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

const char *person_role_name(unsigned bit)
{
    for (size_t i = 0; i < NROLES; i++)
        if (bit == 1u << i)
            return role_names[i];
    return "";
}

int person_roles_parse(const char *s, unsigned *mask, adt_err *err)
{
    *mask = 0;
    const char *p = s ? s : "";
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        size_t i = 0;
        for (; i < NROLES; i++)
            if (strlen(role_names[i]) == n && !memcmp(role_names[i], p, n))
                break;
        if (i == NROLES)
            return adt_fail(err, ADT_EINVAL, "unknown console role '%.*s' (use steering, auditor, "
                            "operator, data-scientist, approver or admin, comma-separated)",
                            (int)(n > 64 ? 64 : n), p);
        *mask |= 1u << i;
        p += n;
        if (*p == ',')
            p++;
    }
    if (!*mask)
        return adt_fail(err, ADT_EINVAL, "give at least one console role with --role");
    return ADT_OK;
}

void person_roles_text(unsigned mask, char *out, size_t cap)
{
    size_t used = 0;
    if (cap)
        out[0] = '\0';
    for (size_t i = 0; i < NROLES; i++) {
        if (!(mask & (1u << i)))
            continue;
        int k = snprintf(out + used, cap > used ? cap - used : 0, "%s%s", used ? "," : "",
                         role_names[i]);
        if (k < 0 || (size_t)k >= (cap > used ? cap - used : 0))
            return;
        used += (size_t)k;
    }
}

/* Remove every session of `name` (locked by the caller). */
static int end_sessions_of(person_db *p, const char *name, adt_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(p->db, "DELETE FROM srv_sessions WHERE name=?", -1, &s, NULL))
        return db_fail(p, err, "prepare");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_fail(p, err, "ending the person's sessions");
    sqlite3_finalize(s);
    return rc;
}

/* A password of PERSON_PASSWORD_LEN characters from a 32-letter alphabet
 * (120 bits), and its Argon2id hash; a fresh credential id. */
static int new_secret(char *password, char hash[crypto_pwhash_STRBYTES], char *cred_id,
                      adt_err *err)
{
    static const char alpha[] = "abcdefghijkmnpqrstuvwxyz23456789";
    uint8_t *r = sodium_malloc(PERSON_PASSWORD_LEN);
    if (!r)
        return adt_fail(err, ADT_ENOMEM, "out of secure memory");
    randombytes_buf(r, PERSON_PASSWORD_LEN);
    for (size_t i = 0; i < PERSON_PASSWORD_LEN; i++)
        password[i] = alpha[r[i] & 31];
    password[PERSON_PASSWORD_LEN] = '\0';
    sodium_free(r);
    if (crypto_pwhash_str(hash, password, PERSON_PASSWORD_LEN, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE))
        return adt_fail(err, ADT_ENOMEM, "hashing the password ran out of memory");
    uint8_t id[PERSON_CRED_ID_LEN / 2];
    randombytes_buf(id, sizeof id);
    agentsig_hex(id, sizeof id, cred_id);
    return ADT_OK;
}

int person_add(person_db *p, const char *name, unsigned roles, char *password, char *cred_id,
               adt_err *err)
{
    if (!name || !agentsig_name_valid(name, strlen(name)))
        return adt_fail(err, ADT_EINVAL, "person name '%s' must be 1..64 of [A-Za-z0-9._-] (use "
                        "the principal id of the RACI policy)", name ? name : "");
    if (!roles || (roles & ~PERSON_ROLES_ALL))
        return adt_fail(err, ADT_EINVAL, "give at least one console role");
    char hash[crypto_pwhash_STRBYTES], rt[128], now[32];
    int rc = new_secret(password, hash, cred_id, err);
    if (rc)
        return rc;
    person_roles_text(roles, rt, sizeof rt);
    rfc3339_format(rfc3339_now_us(), now, sizeof now);
    pthread_mutex_lock(&p->mu);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(p->db, "INSERT INTO srv_persons(name, roles, hash, cred_id, created_at) "
                                  "VALUES(?,?,?,?,?)", -1, &s, NULL)) {
        rc = db_fail(p, err, "prepare");
    } else {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, rt, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, cred_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, now, -1, SQLITE_STATIC);
        int r = sqlite3_step(s);
        if (r == SQLITE_CONSTRAINT)
            rc = adt_fail(err, ADT_EEXIST, "person '%s' exists already (names are never reused; "
                          "'auditd person reset %s' gives a new password)", name, name);
        else if (r != SQLITE_DONE)
            rc = db_fail(p, err, "adding person");
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&p->mu);
    sodium_memzero(hash, sizeof hash);
    if (rc)
        sodium_memzero(password, PERSON_PASSWORD_LEN + 1);
    return rc;
}

int person_reset(person_db *p, const char *name, char *password, char *cred_id, adt_err *err)
{
    char hash[crypto_pwhash_STRBYTES];
    int rc = new_secret(password, hash, cred_id, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&p->mu);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(p->db, "UPDATE srv_persons SET hash=?, cred_id=? WHERE name=? AND "
                                  "revoked_at IS NULL", -1, &s, NULL)) {
        rc = db_fail(p, err, "prepare");
    } else {
        sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, cred_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = db_fail(p, err, "resetting");
        else if (sqlite3_changes(p->db) == 0)
            rc = adt_fail(err, ADT_ENOTFOUND, "no active person '%s' ('auditd person list')", name);
    }
    sqlite3_finalize(s);
    if (!rc)
        rc = end_sessions_of(p, name, err); /* the old password's sessions end */
    pthread_mutex_unlock(&p->mu);
    sodium_memzero(hash, sizeof hash);
    if (rc)
        sodium_memzero(password, PERSON_PASSWORD_LEN + 1);
    return rc;
}

int person_revoke(person_db *p, const char *name, adt_err *err)
{
    char now[32];
    rfc3339_format(rfc3339_now_us(), now, sizeof now);
    pthread_mutex_lock(&p->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(p->db, "UPDATE srv_persons SET revoked_at=? WHERE name=? AND "
                                  "revoked_at IS NULL", -1, &s, NULL)) {
        rc = db_fail(p, err, "prepare");
    } else {
        sqlite3_bind_text(s, 1, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = db_fail(p, err, "revoking");
        else if (sqlite3_changes(p->db) == 0)
            rc = adt_fail(err, ADT_ENOTFOUND, "no active person '%s' ('auditd person list')", name);
    }
    sqlite3_finalize(s);
    if (!rc)
        rc = end_sessions_of(p, name, err);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* Row of an active person: roles, hash (may be NULL), cred_id. */
static int lookup(person_db *p, const char *name, unsigned *roles, char *hash, size_t hcap,
                  char *cred_id, adt_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(p->db, "SELECT roles, hash, cred_id FROM srv_persons WHERE name=? AND "
                                  "revoked_at IS NULL", -1, &s, NULL))
        return db_fail(p, err, "prepare");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        adt_err e2 = {0};
        if (person_roles_parse((const char *)sqlite3_column_text(s, 0), roles, &e2))
            rc = adt_fail(err, ADT_ECORRUPT, "person '%s' has bad roles in state.db", name);
        if (hash)
            snprintf(hash, hcap, "%s", (const char *)sqlite3_column_text(s, 1));
        if (cred_id)
            snprintf(cred_id, PERSON_CRED_ID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 2));
    } else if (r == SQLITE_DONE) {
        rc = ADT_ENOTFOUND;
    } else {
        rc = db_fail(p, err, "looking up a person");
    }
    sqlite3_finalize(s);
    return rc;
}

int person_check(person_db *p, const char *name, const char *password, unsigned *roles,
                 char *cred_id, adt_err *err)
{
    char hash[crypto_pwhash_STRBYTES] = "";
    pthread_mutex_lock(&p->mu);
    int rc = lookup(p, name, roles, hash, sizeof hash, cred_id, err);
    pthread_mutex_unlock(&p->mu);
    size_t pl = strlen(password);
    if (rc == ADT_OK && crypto_pwhash_str_verify(hash, password, pl) != 0)
        rc = ADT_ENOTFOUND;
    sodium_memzero(hash, sizeof hash);
    if (rc == ADT_ENOTFOUND)
        return adt_fail(err, ADT_EAUTH, "unknown person or wrong password");
    return rc;
}

int person_active(person_db *p, const char *name, unsigned *roles, char *cred_id, adt_err *err)
{
    pthread_mutex_lock(&p->mu);
    int rc = lookup(p, name, roles, NULL, 0, cred_id, err);
    pthread_mutex_unlock(&p->mu);
    if (rc == ADT_ENOTFOUND)
        return adt_fail(err, ADT_EAUTH, "person '%s' was revoked", name);
    return rc;
}

int person_list_json(person_db *p, buf *out, adt_err *err)
{
    pthread_mutex_lock(&p->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(p->db, "SELECT name, roles, cred_id, created_at, revoked_at FROM "
                                  "srv_persons ORDER BY name", -1, &s, NULL)) {
        rc = db_fail(p, err, "prepare");
        goto out;
    }
    rc = buf_putc(out, '[');
    for (int first = 1; !rc && sqlite3_step(s) == SQLITE_ROW; first = 0) {
        rc = buf_puts(out, first ? "{\"name\":" : ",{\"name\":");
        const char *v[5];
        for (int i = 0; i < 5; i++)
            v[i] = (const char *)sqlite3_column_text(s, i);
        if (!rc)
            rc = canon_put_string(out, v[0], strlen(v[0]));
        if (!rc)
            rc = buf_puts(out, ",\"roles\":[");
        for (const char *q = v[1]; !rc && *q;) {
            const char *e = strchr(q, ',');
            size_t n = e ? (size_t)(e - q) : strlen(q);
            rc = buf_puts(out, q == v[1] ? "" : ",");
            if (!rc)
                rc = canon_put_string(out, q, n);
            q += n + (e ? 1 : 0);
        }
        if (!rc)
            rc = buf_printf(out, "],\"cred_id\":\"%s\",\"created_at\":\"%s\",\"revoked_at\":", v[2], v[3]);
        if (!rc)
            rc = v[4] ? buf_printf(out, "\"%s\"}", v[4]) : buf_puts(out, "null}");
    }
    if (!rc)
        rc = buf_putc(out, ']');
    if (rc)
        adt_fail(err, rc, "listing persons: output too large");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* ---------- sessions ---------- */

/* Run one statement with up to three int64 parameters (?1..?3). */
static int exec_i64(person_db *p, const char *sql, int n, const int64_t *v, const char *what,
                    adt_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(p->db, sql, -1, &s, NULL))
        return db_fail(p, err, "prepare");
    for (int i = 0; i < n; i++)
        sqlite3_bind_int64(s, i + 1, v[i]);
    int rc = sqlite3_step(s) == SQLITE_DONE ? ADT_OK : db_fail(p, err, what);
    sqlite3_finalize(s);
    return rc;
}

static int expire_sessions(person_db *p, int64_t now, const person_session_limits *lim,
                           adt_err *err)
{
    int64_t v[2] = {now - lim->idle_us, now - lim->max_us};
    return exec_i64(p, "DELETE FROM srv_sessions WHERE last_us < ?1 OR created_us < ?2", 2, v,
                    "removing expired sessions", err);
}

int person_session_start(person_db *p, const uint8_t token_sha256[32], const char *name,
                         const char *cred_id, int64_t now_us, const person_session_limits *lim,
                         adt_err *err)
{
    pthread_mutex_lock(&p->mu);
    int rc = exec_i64(p, "BEGIN IMMEDIATE", 0, NULL, "starting a transaction", err);
    if (!rc)
        rc = expire_sessions(p, now_us, lim, err);
    if (!rc) {
        /* Room for one more: the least recently used ones go. */
        int64_t keep = lim->max_sessions > 1 ? lim->max_sessions - 1 : 0;
        rc = exec_i64(p, "DELETE FROM srv_sessions WHERE token_sha256 IN (SELECT token_sha256 "
                         "FROM srv_sessions ORDER BY last_us DESC LIMIT -1 OFFSET ?1)",
                      1, &keep, "making room for a session", err);
    }
    sqlite3_stmt *s = NULL;
    if (!rc && sqlite3_prepare_v2(p->db, "INSERT INTO srv_sessions(token_sha256, name, cred_id, "
                                         "created_us, last_us) VALUES(?,?,?,?,?)", -1, &s, NULL))
        rc = db_fail(p, err, "prepare");
    if (!rc) {
        sqlite3_bind_blob(s, 1, token_sha256, 32, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, cred_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, now_us);
        sqlite3_bind_int64(s, 5, now_us);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = db_fail(p, err, "recording the session");
    }
    sqlite3_finalize(s);
    if (!rc)
        rc = exec_i64(p, "COMMIT", 0, NULL, "committing the session", err);
    else
        sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int person_session_find(person_db *p, const uint8_t token_sha256[32], int64_t now_us,
                        const person_session_limits *lim, char *name, unsigned *roles,
                        char *cred_id, adt_err *err)
{
    pthread_mutex_lock(&p->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    bool drop = false, touch = false;
    if (sqlite3_prepare_v2(p->db, "SELECT s.name, s.cred_id, s.created_us, s.last_us, p.roles, "
                                  "p.cred_id, p.revoked_at FROM srv_sessions s JOIN srv_persons p "
                                  "ON p.name = s.name WHERE s.token_sha256 = ?", -1, &s, NULL)) {
        rc = db_fail(p, err, "prepare");
        goto out;
    }
    sqlite3_bind_blob(s, 1, token_sha256, 32, SQLITE_STATIC);
    int r = sqlite3_step(s);
    if (r == SQLITE_DONE) {
        rc = adt_fail(err, ADT_EAUTH, "your session has ended or is unknown; sign in again");
    } else if (r != SQLITE_ROW) {
        rc = db_fail(p, err, "looking up a session");
    } else {
        const char *sn = (const char *)sqlite3_column_text(s, 0);
        const char *sc = (const char *)sqlite3_column_text(s, 1);
        const char *pc = (const char *)sqlite3_column_text(s, 5);
        int64_t created = sqlite3_column_int64(s, 2), last = sqlite3_column_int64(s, 3);
        if (now_us - last > lim->idle_us || now_us - created > lim->max_us) {
            drop = true;
            rc = adt_fail(err, ADT_EAUTH, "your session has ended (%s); sign in again",
                          now_us - created > lim->max_us ? "it is older than its maximum age"
                                                         : "it was idle too long");
        } else if (sqlite3_column_type(s, 6) != SQLITE_NULL) {
            drop = true;
            rc = adt_fail(err, ADT_EAUTH, "person '%s' was revoked", sn);
        } else if (!sc || !pc || strcmp(sc, pc)) {
            drop = true;
            rc = adt_fail(err, ADT_EAUTH, "the password of '%s' was reset since you signed in; "
                          "sign in with the new one", sn);
        } else {
            adt_err e2 = {0};
            if (person_roles_parse((const char *)sqlite3_column_text(s, 4), roles, &e2))
                rc = adt_fail(err, ADT_ECORRUPT, "person '%s' has bad roles in state.db", sn);
            snprintf(name, PERSON_NAME_MAX + 1, "%s", sn);
            snprintf(cred_id, PERSON_CRED_ID_LEN + 1, "%s", pc);
            touch = now_us - last >= lim->touch_us;
        }
    }
    sqlite3_finalize(s);
    s = NULL;
    if (drop || touch) {
        const char *sql = drop ? "DELETE FROM srv_sessions WHERE token_sha256 = ?1"
                               : "UPDATE srv_sessions SET last_us = ?2 WHERE token_sha256 = ?1";
        if (sqlite3_prepare_v2(p->db, sql, -1, &s, NULL) == SQLITE_OK) {
            sqlite3_bind_blob(s, 1, token_sha256, 32, SQLITE_STATIC);
            if (touch)
                sqlite3_bind_int64(s, 2, now_us);
            if (sqlite3_step(s) != SQLITE_DONE && !rc)
                rc = db_fail(p, err, "updating the session");
        } else if (!rc) {
            rc = db_fail(p, err, "prepare");
        }
        sqlite3_finalize(s);
    }
out:
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int person_session_end(person_db *p, const uint8_t token_sha256[32], adt_err *err)
{
    pthread_mutex_lock(&p->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(p->db, "DELETE FROM srv_sessions WHERE token_sha256 = ?", -1, &s, NULL)) {
        rc = db_fail(p, err, "prepare");
    } else {
        sqlite3_bind_blob(s, 1, token_sha256, 32, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = db_fail(p, err, "ending the session");
        else if (sqlite3_changes(p->db) == 0)
            rc = adt_fail(err, ADT_ENOTFOUND, "no such session");
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int person_session_count(person_db *p, int64_t now_us, const person_session_limits *lim,
                         uint64_t *n, adt_err *err)
{
    pthread_mutex_lock(&p->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    *n = 0;
    if (sqlite3_prepare_v2(p->db, "SELECT COUNT(*) FROM srv_sessions WHERE last_us >= ?1 AND "
                                  "created_us >= ?2", -1, &s, NULL)) {
        rc = db_fail(p, err, "prepare");
    } else {
        sqlite3_bind_int64(s, 1, now_us - lim->idle_us);
        sqlite3_bind_int64(s, 2, now_us - lim->max_us);
        if (sqlite3_step(s) == SQLITE_ROW)
            *n = (uint64_t)sqlite3_column_int64(s, 0);
        else
            rc = db_fail(p, err, "counting sessions");
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&p->mu);
    return rc;
}
