#include "state.h"

#include "agentsig.h"
#include "canon.h"
#include "ledger.h"
#include "rfc3339.h"
#include "sqldb.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct state {
    sqlite3 *db;
    pthread_mutex_t mu;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS srv_agents("
    " name TEXT PRIMARY KEY, role TEXT NOT NULL, pubkey BLOB NOT NULL, key_id TEXT NOT NULL,"
    " created_at TEXT NOT NULL, revoked_at TEXT, last_seq INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS srv_tokens("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, hash BLOB NOT NULL,"
    " created_at TEXT NOT NULL, revoked_at TEXT);";

static int db_fail(state *st, adt_err *err, const char *what)
{
    return sqldb_fail(st->db, what, err);
}

int state_open(const char *data_dir, state **out, adt_err *err)
{
    if (sodium_init() < 0)
        return adt_fail(err, ADT_ECRYPTO, "libsodium failed to initialise");
    state *st = calloc(1, sizeof *st);
    if (!st)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    pthread_mutex_init(&st->mu, NULL);
    /* Agents and tokens are re-issued by an administrator if a power cut
     * loses their last commit; the replay counters only move forward. */
    int rc = sqldb_open(data_dir, STATE_DB_FILE, SQLDB_CREATE, SQLDB_REBUILDABLE, NULL, &st->db, err);
    if (!rc)
        rc = sqldb_exec(st->db, schema, "creating the agent tables", err);
    if (rc) {
        state_close(st);
        return rc;
    }
    *out = st;
    return ADT_OK;
}

void state_close(state *st)
{
    if (!st)
        return;
    sqldb_close(st->db);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static void now_text(char out[32])
{
    rfc3339_format(rfc3339_now_us(), out, 32);
}

bool state_agent_role_valid(const char *role)
{
    /* An agent's role is the writer its events carry (event.h). */
    event_writer w = role ? event_writer_parse(role, strlen(role)) : EVENT_WRITER_NONE;
    return w == EVENT_WRITER_EDGE || w == EVENT_WRITER_PLATFORM;
}

int state_agent_add(state *st, const char *name, const char *role, const uint8_t pub[32],
                    adt_err *err)
{
    if (!agentsig_name_valid(name, strlen(name)))
        return adt_fail(err, ADT_EINVAL, "agent name '%s' must be 1..64 of [A-Za-z0-9._-]", name);
    if (!state_agent_role_valid(role))
        return adt_fail(err, ADT_EINVAL, "agent role must be edge or platform");
    char kid[AGENTSIG_KEYID_HEX + 1], now[32];
    agentsig_key_id(pub, kid);
    now_text(now);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO srv_agents(name, role, pubkey, key_id, created_at) "
                           "VALUES(?,?,?,?,?)", -1, &s, NULL)) {
        rc = db_fail(st, err, "prepare");
        goto out;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, role, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, pub, 32, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, kid, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, now, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    if (r == SQLITE_CONSTRAINT)
        rc = adt_fail(err, ADT_EEXIST, "agent '%s' exists already (names are never reused, even "
                      "after revocation)", name);
    else if (r != SQLITE_DONE)
        rc = db_fail(st, err, "adding agent");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

/* Revoke the active row `sql` names by `key` (?1 = now, ?2 = key), and copy
 * its RETURNING columns into out[i][0..caps[i]). ADT_ENOTFOUND (no message)
 * when no active row matches. */
static int revoke_row(state *st, const char *sql, const char *key, char *const *out,
                      const size_t *caps, int ncols, const char *what, adt_err *err)
{
    char now[32];
    now_text(now);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) {
        rc = db_fail(st, err, "prepare");
    } else {
        sqlite3_bind_text(s, 1, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
        int r = sqlite3_step(s);
        if (r == SQLITE_ROW) {
            for (int i = 0; i < ncols; i++)
                snprintf(out[i], caps[i], "%s", (const char *)sqlite3_column_text(s, i));
            while (sqlite3_step(s) == SQLITE_ROW)
                ;
        } else {
            rc = r == SQLITE_DONE ? ADT_ENOTFOUND : db_fail(st, err, what);
        }
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int state_agent_revoke(state *st, const char *name, char *role_out, size_t rcap, adt_err *err)
{
    char *out[] = {role_out};
    size_t caps[] = {rcap};
    int rc = revoke_row(st, "UPDATE srv_agents SET revoked_at=?1 WHERE name=?2 AND revoked_at IS "
                        "NULL RETURNING role", name, out, caps, 1, "revoking agent", err);
    if (rc == ADT_ENOTFOUND)
        return adt_fail(err, ADT_ENOTFOUND, "no active agent named '%s' ('auditd agent list')",
                        name);
    return rc;
}

int state_agent_get(state *st, const char *name, uint8_t pub[32], char *role, size_t rcap,
                    adt_err *err)
{
    return state_agent_lookup(st, name, pub, role, rcap, NULL, err);
}

int state_agent_lookup(state *st, const char *name, uint8_t pub[32], char *role, size_t rcap,
                       uint64_t *last_seq, adt_err *err)
{
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(st->db, "SELECT pubkey, role, revoked_at, last_seq FROM srv_agents "
                                   "WHERE name=?", -1, &s, NULL)) {
        rc = db_fail(st, err, "prepare");
        goto out;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        if (sqlite3_column_type(s, 2) != SQLITE_NULL)
            rc = adt_fail(err, ADT_EAUTH, "agent '%s' was revoked", name);
        else if (sqlite3_column_bytes(s, 0) != 32)
            rc = adt_fail(err, ADT_ECORRUPT, "agent '%s' has a bad stored key", name);
        else {
            memcpy(pub, sqlite3_column_blob(s, 0), 32);
            if (role)
                snprintf(role, rcap, "%s", (const char *)sqlite3_column_text(s, 1));
            if (last_seq)
                *last_seq = (uint64_t)sqlite3_column_int64(s, 3);
        }
    } else if (r == SQLITE_DONE) {
        rc = adt_fail(err, ADT_ENOTFOUND, "unknown agent '%s'", name);
    } else {
        rc = db_fail(st, err, "looking up agent");
    }
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int state_seq_check(const char *name, uint64_t last_seq, uint64_t seq, uint64_t now_us,
                    adt_err *err)
{
    if (seq <= last_seq)
        return adt_fail(err, ADT_EREPLAY, "sequence number %llu of agent '%s' is not greater than "
                        "the last one accepted, %llu (replay?)", (unsigned long long)seq, name,
                        (unsigned long long)last_seq);
    uint64_t base = last_seq > now_us ? last_seq : now_us;
    if (seq > INT64_MAX || (seq > base && seq - base > STATE_SEQ_MAX_JUMP))
        return adt_fail(err, ADT_EREPLAY, "sequence number %llu of agent '%s' is too far ahead: "
                        "at most 2^40 beyond the larger of the last one accepted (%llu) and the "
                        "server's clock in microseconds (%llu)", (unsigned long long)seq, name,
                        (unsigned long long)last_seq, (unsigned long long)now_us);
    return ADT_OK;
}

int state_agent_use_seq(state *st, const char *name, uint64_t seq, adt_err *err)
{
    uint64_t now_us = (uint64_t)rfc3339_now_us();
    if (seq > INT64_MAX)
        return state_seq_check(name, 0, seq, now_us, err);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    /* Atomic across processes: consumed only if greater than the last one
     * and at most 2^40 beyond max(last one, now in microseconds). */
    if (sqlite3_prepare_v2(st->db,
                           "UPDATE srv_agents SET last_seq=?1 WHERE name=?2 AND last_seq<?1 "
                           "AND ?1 - ?4 <= max(last_seq, ?3) AND revoked_at IS NULL", -1, &s, NULL)) {
        rc = db_fail(st, err, "prepare");
        goto out;
    }
    sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)now_us);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)STATE_SEQ_MAX_JUMP);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_fail(st, err, "recording sequence number");
    else if (sqlite3_changes(st->db) != 1)
        rc = adt_fail(err, ADT_EREPLAY, "sequence number %llu of agent '%s' is not greater than "
                      "the last one accepted, or more than 2^40 beyond it (replay?)",
                      (unsigned long long)seq, name);
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

static int list_json(state *st, const char *sql, buf *out, adt_err *err, int kind)
{
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) {
        rc = db_fail(st, err, "prepare");
        goto out;
    }
    rc = buf_putc(out, '[');
    int r, first = 1;
    while (!rc && (r = sqlite3_step(s)) == SQLITE_ROW) {
        if (!first)
            rc = buf_putc(out, ',');
        first = 0;
        const char *names[6];
        int n = kind == 0 ? 5 : 5;
        if (kind == 0) {
            names[0] = "name"; names[1] = "role"; names[2] = "key_id";
            names[3] = "created_at"; names[4] = "revoked_at";
        } else {
            names[0] = "id"; names[1] = "name"; names[2] = "role";
            names[3] = "created_at"; names[4] = "revoked_at";
        }
        /* Sorted keys are not needed here: this is an API answer, not a leaf. */
        rc = rc ? rc : buf_putc(out, '{');
        for (int i = 0; !rc && i < n; i++) {
            rc = buf_printf(out, "%s\"%s\":", i ? "," : "", names[i]);
            if (!rc && sqlite3_column_type(s, i) == SQLITE_NULL)
                rc = buf_puts(out, "null");
            else if (!rc) {
                const char *v = (const char *)sqlite3_column_text(s, i);
                rc = canon_put_string(out, v, strlen(v));
            }
        }
        if (!rc && kind == 0)
            rc = buf_printf(out, ",\"last_seq\":%lld", (long long)sqlite3_column_int64(s, 5));
        rc = rc ? rc : buf_putc(out, '}');
    }
    if (!rc)
        rc = buf_putc(out, ']');
    if (rc)
        adt_fail(err, rc, "listing: %s", rc == ADT_EIO ? sqlite3_errmsg(st->db) : "output too large");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int state_agent_list_json(state *st, buf *out, adt_err *err)
{
    return list_json(st, "SELECT name, role, key_id, created_at, revoked_at, last_seq "
                         "FROM srv_agents ORDER BY name", out, err, 0);
}

int state_token_list_json(state *st, buf *out, adt_err *err)
{
    return list_json(st, "SELECT id, name, role, created_at, revoked_at FROM srv_tokens "
                         "ORDER BY created_at, id", out, err, 1);
}

/* Token text: "adt_" + 16 hex id + "_" + 64 hex secret. */
#define TOKEN_PREFIX "adt_"

int state_token_create(state *st, const char *role, const char *name, char *out_token,
                       char *out_id, adt_err *err)
{
    api_role ar;
    int prc = api_token_role_parse(role, &ar, err);
    if (prc)
        return prc;
    uint8_t idb[8];
    uint8_t *secret = sodium_malloc(32);
    if (!secret)
        return adt_fail(err, ADT_ENOMEM, "out of secure memory");
    randombytes_buf(idb, sizeof idb);
    randombytes_buf(secret, 32);
    char id[17], sx[65];
    agentsig_hex(idb, 8, id);
    agentsig_hex(secret, 32, sx);
    sodium_free(secret);
    if (name && !agentsig_name_valid(name, strlen(name))) {
        sodium_memzero(sx, sizeof sx);
        return adt_fail(err, ADT_EINVAL, "token name '%s' must be 1..64 of [A-Za-z0-9._-]", name);
    }
    snprintf(out_token, STATE_TOKEN_MAX, TOKEN_PREFIX "%s_%s", id, sx);
    sodium_memzero(sx, sizeof sx);
    uint8_t h[32];
    crypto_hash_sha256(h, (const unsigned char *)out_token, strlen(out_token));
    char now[32];
    now_text(now);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO srv_tokens(id, name, role, hash, created_at) VALUES(?,?,?,?,?)",
                           -1, &s, NULL)) {
        rc = db_fail(st, err, "prepare");
        goto out;
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, name ? name : id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, role, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, h, 32, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, now, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    if (r == SQLITE_CONSTRAINT)
        rc = adt_fail(err, ADT_EEXIST, "a token named '%s' exists already", name ? name : id);
    else if (r != SQLITE_DONE)
        rc = db_fail(st, err, "creating token");
    else
        memcpy(out_id, id, 17);
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    if (rc)
        sodium_memzero(out_token, STATE_TOKEN_MAX);
    return rc;
}

int state_token_revoke(state *st, const char *id_or_name, char *id_out, char *role_out,
                       size_t rcap, char *name_out, size_t ncap, adt_err *err)
{
    char *out[] = {id_out, role_out, name_out};
    size_t caps[] = {17, rcap, ncap};
    int rc = revoke_row(st, "UPDATE srv_tokens SET revoked_at=?1 WHERE (id=?2 OR name=?2) AND "
                        "revoked_at IS NULL RETURNING id, role, name", id_or_name, out, caps, 3,
                        "revoking token", err);
    if (rc == ADT_ENOTFOUND)
        return adt_fail(err, ADT_ENOTFOUND, "no active token with id or name '%s' ('auditd "
                        "token list')", id_or_name);
    return rc;
}

int state_token_check(state *st, const char *token, api_role *role, char *name, size_t ncap,
                      adt_err *err)
{
    size_t tl = strlen(token);
    if (tl != 4 + 16 + 1 + 64 || memcmp(token, TOKEN_PREFIX, 4) || token[20] != '_')
        return adt_fail(err, ADT_EAUTH, "malformed bearer token");
    char id[17];
    memcpy(id, token + 4, 16);
    id[16] = '\0';
    uint8_t h[32];
    crypto_hash_sha256(h, (const unsigned char *)token, tl);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int rc = ADT_OK;
    if (sqlite3_prepare_v2(st->db, "SELECT hash, role, name, revoked_at FROM srv_tokens WHERE id=?",
                           -1, &s, NULL)) {
        rc = db_fail(st, err, "prepare");
        goto out;
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 32 &&
        sodium_memcmp(sqlite3_column_blob(s, 0), h, 32) == 0) {
        if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
            rc = adt_fail(err, ADT_EAUTH, "bearer token was revoked");
        } else {
            const char *rl = (const char *)sqlite3_column_text(s, 1);
            adt_err ignored;
            if (api_token_role_parse(rl, role, &ignored)) /* only create writes the column */
                *role = API_ROLE_AUDITOR;
            if (name)
                snprintf(name, ncap, "%s", (const char *)sqlite3_column_text(s, 2));
        }
    } else if (r == SQLITE_ROW || r == SQLITE_DONE) {
        rc = adt_fail(err, ADT_EAUTH, "unknown bearer token");
    } else {
        rc = db_fail(st, err, "checking token");
    }
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int state_audit_payload_at(buf *out, const char *type, const char *actor, const char *fields_json,
                           int64_t at_us, adt_err *err)
{
    char now[32];
    rfc3339_format(at_us ? at_us : rfc3339_now_us(), now, sizeof now);
    buf raw;
    buf_init(&raw, 16384);
    const char *f = fields_json && *fields_json ? fields_json : "{}";
    size_t fl = strlen(f);
    /* fields_json is a JSON object built by auditd; splice its members in. */
    int rc = buf_puts(&raw, "{\"type\":");
    if (!rc)
        rc = canon_put_string(&raw, type, strlen(type));
    if (!rc)
        rc = buf_printf(&raw, ",\"time\":\"%s\",\"actor\":", now);
    if (!rc)
        rc = canon_put_string(&raw, actor, strlen(actor));
    if (!rc && fl > 2)
        rc = buf_putc(&raw, ',') || buf_append(&raw, f + 1, fl - 2);
    if (!rc)
        rc = buf_putc(&raw, '}');
    if (rc) {
        buf_free(&raw);
        return adt_fail(err, ADT_ETOOBIG, "administrative event too large");
    }
    rc = canon_json(raw.data, raw.len, NULL, true, out, err);
    buf_free(&raw);
    return rc;
}

int state_verify_fields(buf *out, const ledger_verify_result *res)
{
    int rc = buf_printf(out, "{\"result\":\"%s\",\"tree_size\":%llu,\"checkpoints\":%llu",
                        res->ok ? "pass" : "fail", (unsigned long long)res->entries,
                        (unsigned long long)res->checkpoints);
    if (!rc && res->ok) {
        char hex[2 * MERKLE_HASH_LEN + 1];
        sodium_bin2hex(hex, sizeof hex, res->root, MERKLE_HASH_LEN);
        rc = buf_printf(out, ",\"root\":\"%s\"", hex);
    }
    if (!rc && !res->ok) {
        rc = buf_puts(out, ",\"problem\":");
        if (!rc)
            rc = canon_put_string(out, res->problem, strlen(res->problem));
        if (!rc && res->has_bad_index)
            rc = buf_printf(out, ",\"bad_index\":%llu", (unsigned long long)res->bad_index);
    }
    return rc ? rc : buf_putc(out, '}');
}

int state_audit_record(const evsink *sink, const char *type, const char *actor,
                       const char *fields_json, int64_t at_us, adt_err *err)
{
    buf p;
    buf_init(&p, 65536);
    int rc = state_audit_payload_at(&p, type, actor, fields_json, at_us, err);
    if (!rc) {
        ledger_item it = {.source = EVSINK_AUDITD, .type = type, .payload = p.data,
                          .payload_len = p.len, .writer = EVENT_WRITER_AUDITD};
        rc = evsink_append(sink, &it, 1, NULL, NULL, err);
    }
    buf_free(&p);
    return rc;
}

int state_audit_event(ledger *lg, const char *type, const char *actor, const char *fields_json,
                      adt_err *err)
{
    return state_audit_record(&(evsink){.lg = lg}, type, actor, fields_json, 0, err);
}

int state_audit_event_at(ledger *lg, const char *type, const char *actor, const char *fields_json,
                         int64_t at_us, adt_err *err)
{
    return state_audit_record(&(evsink){.lg = lg}, type, actor, fields_json, at_us, err);
}
