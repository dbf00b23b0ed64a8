#include "cstore.h"

#include "canon.h"
#include "cschema.h"
#include "ledger.h"
#include "log.h"
#include "numparse.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cstore {
    PGconn *db;
    char app[CSTORE_NAME_MAX * 2];
};

/* timestamptz as RFC 3339 UTC text */
#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* ---------- libpq helpers ---------- */

static int pg_fail(cstore *cs, PGresult *r, adt_err *err, const char *what)
{
    const char *m = r ? PQresultErrorMessage(r) : "";
    if (!m || !*m)
        m = PQerrorMessage(cs->db);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int code = ADT_EIO;
    if (state && !strcmp(state, "23505"))
        code = ADT_EEXIST;
    else if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01")))
        code = ADT_EBUSY;
    char clean[400];
    snprintf(clean, sizeof clean, "%s", m ? m : "");
    size_t n = strlen(clean);
    while (n && (clean[n - 1] == '\n' || clean[n - 1] == ' '))
        clean[--n] = '\0';
    for (char *p = clean; *p; p++)
        if (*p == '\n')
            *p = ' ';
    if (r)
        PQclear(r);
    return adt_fail(err, code, "%s: PostgreSQL: %s", what, clean[0] ? clean : "no answer");
}

/* Leave any open transaction (after a failure inside one). */
static void rollback(cstore *cs)
{
    if (PQstatus(cs->db) == CONNECTION_OK && PQtransactionStatus(cs->db) != PQTRANS_IDLE)
        PQclear(PQexec(cs->db, "ROLLBACK"));
}

static int exec_cmd(cstore *cs, const char *sql, adt_err *err, const char *what)
{
    PGresult *r = PQexec(cs->db, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return pg_fail(cs, r, err, what);
    PQclear(r);
    return ADT_OK;
}

/* PQexecParams with text parameters except those flagged binary (bytea). */
static PGresult *exec_params(cstore *cs, const char *sql, int n, const char *const *vals,
                             const int *lens, const int *fmts)
{
    return PQexecParams(cs->db, sql, n, NULL, vals, lens, fmts, 0);
}

int cstore_client_new(const char *conninfo, size_t size, void **handle, char **copy,
                      adt_err *err)
{
    *handle = NULL;
    *copy = NULL;
    if (sodium_init() < 0)
        return adt_fail(err, ADT_ECRYPTO, "libsodium failed to initialise");
    *copy = strdup(conninfo ? conninfo : "");
    *handle = calloc(1, size);
    if (*copy && *handle)
        return ADT_OK;
    free(*copy);
    free(*handle);
    *copy = NULL;
    *handle = NULL;
    return adt_fail(err, ADT_ENOMEM, "out of memory");
}

int cstore_exec(cstore *cs, const char *sql, int n, const char *const *vals, const int *lens,
                const int *fmts, ExecStatusType want, PGresult **out, const char *what,
                adt_err *err)
{
    PGresult *r = exec_params(cs, sql, n, vals, lens, fmts);
    if (PQresultStatus(r) != want)
        return pg_fail(cs, r, err, what);
    if (out)
        *out = r;
    else
        PQclear(r);
    return ADT_OK;
}

/* Ends the open transaction: COMMIT when rc is ADT_OK, else (or when COMMIT fails) ROLLBACK.
 * Returns the final status. */
static int tx_end(cstore *cs, int rc, const char *what, adt_err *err)
{
    if (!rc)
        rc = exec_cmd(cs, "COMMIT", err, what);
    if (rc)
        rollback(cs);
    return rc;
}

/* A bytea column in text (hex) form into exactly `want` bytes. */
static bool bytea_get(const PGresult *r, int row, int col, uint8_t *out, size_t want)
{
    const char *v = PQgetvalue(r, row, col);
    size_t n = (size_t)PQgetlength(r, row, col);
    if (n != 2 + 2 * want || v[0] != '\\' || v[1] != 'x')
        return false;
    size_t bl = 0;
    return sodium_hex2bin(out, want, v + 2, n - 2, NULL, &bl, NULL) == 0 && bl == want;
}

static bool u64_get(const PGresult *r, int row, int col, uint64_t *out)
{
    return num_u64(PQgetvalue(r, row, col), INT64_MAX, out) == ADT_OK;
}

static void text_get(const PGresult *r, int row, int col, char *out, size_t cap)
{
    snprintf(out, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static void fmt_i64(char *out, size_t cap, int64_t v)
{
    snprintf(out, cap, "%lld", (long long)v);
}

/* ---------- connection ---------- */

/* PostgreSQL's notices ("schema exists, skipping") are not for the user;
 * warnings go to the log. */
static void on_notice(void *arg, const PGresult *r)
{
    (void)arg;
    const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev && strcmp(sev, "NOTICE") && strcmp(sev, "DEBUG") && strcmp(sev, "LOG") &&
        strcmp(sev, "INFO"))
        log_msg(LOG_WARN, "central", "PostgreSQL: %s", PQresultErrorMessage(r));
}

int cstore_open(const char *conninfo, const char *role, int flags, cstore **out, adt_err *err)
{
    *out = NULL;
    cstore *cs = calloc(1, sizeof *cs);
    if (!cs)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    char host[64] = "";
    if (gethostname(host, sizeof host - 1))
        snprintf(host, sizeof host, "?");
    /* PostgreSQL keeps 63 bytes of an application name: the role and the
     * process id matter more than a long host name, so the host is cut. */
    char app[CSTORE_NAME_MAX];
    snprintf(app, sizeof app, "auditd-central %.8s %.20s:%ld", role ? role : "cli", host,
             (long)getpid());
    /* Our defaults come before dbname, so that a connection string (expanded
     * from dbname) overrides them. Keepalives make PostgreSQL notice a front-end
     * that vanished without closing, which releases its stream locks. */
    const char *kw[] = {"fallback_application_name", "connect_timeout", "keepalives",
                        "keepalives_idle", "keepalives_interval", "keepalives_count",
                        "dbname", NULL};
    const char *vals[] = {app, "10", "1", "30", "10", "3", conninfo ? conninfo : "", NULL};
    cs->db = PQconnectdbParams(kw, vals, 1);
    if (!cs->db) {
        free(cs);
        return adt_fail(err, ADT_ENOMEM, "out of memory (libpq)");
    }
    if (PQstatus(cs->db) != CONNECTION_OK) {
        char m[300];
        snprintf(m, sizeof m, "%s", PQerrorMessage(cs->db));
        size_t n = strlen(m);
        while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
            m[--n] = '\0';
        for (char *p = m; *p; p++)
            if (*p == '\n')
                *p = ' ';
        cstore_close(cs);
        return adt_fail(err, ADT_EIO,
                        "cannot connect to PostgreSQL (%s): check --db or $AUDITD_CENTRAL_DB", m);
    }
    PQsetClientEncoding(cs->db, "UTF8");
    PQsetNoticeReceiver(cs->db, on_notice, NULL);
    const char *an = PQparameterStatus(cs->db, "application_name");
    snprintf(cs->app, sizeof cs->app, "%s", an && *an ? an : app);
    int rc = exec_cmd(cs, "SET TIME ZONE 'UTC'", err, "setting the session time zone");
    if (!rc && !(flags & CSTORE_NO_SCHEMA_CHECK))
        rc = cschema_check(cs->db, err);
    if (rc) {
        cstore_close(cs);
        return rc;
    }
    *out = cs;
    return ADT_OK;
}

void cstore_close(cstore *cs)
{
    if (!cs)
        return;
    if (cs->db)
        PQfinish(cs->db);
    free(cs);
}

bool cstore_ok(const cstore *cs)
{
    return cs && cs->db && PQstatus(cs->db) == CONNECTION_OK;
}

const char *cstore_app_name(const cstore *cs)
{
    return cs->app;
}

int cstore_migrate(cstore *cs, int *from, int *to, adt_err *err)
{
    return cschema_migrate(cs->db, from, to, err);
}

PGconn *cstore_conn(cstore *cs)
{
    return cs->db;
}

int cstore_fail(cstore *cs, PGresult *r, adt_err *err, const char *what)
{
    return pg_fail(cs, r, err, what);
}

void cstore_rollback(cstore *cs)
{
    rollback(cs);
}

bool cstore_bytea(const PGresult *r, int row, int col, uint8_t *out, size_t want)
{
    return bytea_get(r, row, col, out, want);
}

/* ---------- sites ---------- */

#define SITE_COLS "id, origin, key_line, pubkey, url, " TS("added_at") ", added_by"

static int site_row(const PGresult *r, int row, cstore_site *s, adt_err *err)
{
    memset(s, 0, sizeof *s);
    int64_t id;
    if (num_i64(PQgetvalue(r, row, 0), 1, INT64_MAX, &id) || !bytea_get(r, row, 3, s->pub, 32))
        return adt_fail(err, ADT_ECORRUPT, "auditd_central.sites holds a malformed row");
    s->id = id;
    text_get(r, row, 1, s->origin, sizeof s->origin);
    text_get(r, row, 2, s->key_line, sizeof s->key_line);
    text_get(r, row, 4, s->url, sizeof s->url);
    text_get(r, row, 5, s->added_at, sizeof s->added_at);
    text_get(r, row, 6, s->added_by, sizeof s->added_by);
    return ADT_OK;
}

int cstore_site_add(cstore *cs, const char *key_line, const char *url, const char *token,
                    const char *by, cstore_site *out, adt_err *err)
{
    char origin[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    int rc = note_key_parse(key_line, origin, sizeof origin, pub, err);
    if (rc) {
        adt_err_prefix(err, "the site's verifier key (auditd key on the site)");
        return rc;
    }
    if ((rc = sitelog_url_check(url, err)) || (rc = sitelog_token_check(token, err)))
        return rc;
    char line[NOTE_KEYLINE_MAX];
    if (note_key_line(origin, pub, line, sizeof line))
        return adt_fail(err, ADT_EINVAL, "the site's verifier key is malformed");
    merkle_hash empty;
    merkle_empty_root(empty);
    const char *vals[7] = {origin, line, (const char *)pub, url, by && *by ? by : "?", token,
                           (const char *)empty};
    int lens[7] = {0, 0, 32, 0, 0, 0, MERKLE_HASH_LEN};
    int fmts[7] = {0, 0, 1, 0, 0, 0, 1};
    PGresult *r = exec_params(
        cs,
        "WITH s AS (INSERT INTO auditd_central.sites (origin, key_line, pubkey, url, added_by)"
        "           VALUES ($1, $2, $3, $4, $5) RETURNING *),"
        " t AS (INSERT INTO auditd_central.site_tokens (site_id, token) SELECT id, $6 FROM s),"
        " st AS (INSERT INTO auditd_central.streams (site_id, pending_root, mirror_root)"
        "        SELECT id, $7, $7 FROM s)"
        " SELECT " SITE_COLS " FROM s",
        7, vals, lens, fmts);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = pg_fail(cs, r, err, "registering the site");
        if (rc == ADT_EEXIST)
            adt_fail(err, ADT_EEXIST,
                     "a site with origin '%s' is registered already ('auditd central status' "
                     "lists the sites)",
                     origin);
        return rc;
    }
    rc = PQntuples(r) == 1 ? site_row(r, 0, out, err)
                           : adt_fail(err, ADT_EINTERNAL, "registering the site returned no row");
    PQclear(r);
    return rc;
}

static int site_query(cstore *cs, const char *sql, const char *param, cstore_site *out,
                      const char *what, adt_err *err)
{
    const char *vals[1] = {param};
    PGresult *r = exec_params(cs, sql, 1, vals, NULL, NULL);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(cs, r, err, "reading the site");
    int rc = PQntuples(r) == 1
                 ? site_row(r, 0, out, err)
                 : adt_fail(err, ADT_ENOTFOUND,
                            "no site %s is registered ('auditd central status' lists them; "
                            "'auditd central site add' registers one)",
                            what);
    PQclear(r);
    return rc;
}

int cstore_site_get(cstore *cs, const char *origin, cstore_site *out, adt_err *err)
{
    char what[NOTE_ORIGIN_MAX + 32];
    snprintf(what, sizeof what, "with origin '%.200s'", origin);
    return site_query(cs, "SELECT " SITE_COLS " FROM auditd_central.sites WHERE origin = $1",
                      origin, out, what, err);
}

int cstore_site_by_id(cstore *cs, int64_t id, cstore_site *out, adt_err *err)
{
    char v[24], what[48];
    fmt_i64(v, sizeof v, id);
    snprintf(what, sizeof what, "with id %s", v);
    return site_query(cs, "SELECT " SITE_COLS " FROM auditd_central.sites WHERE id = $1", v,
                      out, what, err);
}

int cstore_site_ids(cstore *cs, int64_t *ids, size_t cap, size_t *n, adt_err *err)
{
    *n = 0;
    PGresult *r = PQexec(cs->db, "SELECT id FROM auditd_central.sites ORDER BY id");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(cs, r, err, "listing the sites");
    int rows = PQntuples(r), rc = ADT_OK;
    if ((size_t)rows > cap)
        rc = adt_fail(err, ADT_ETOOBIG, "more than %zu sites are registered", cap);
    for (int i = 0; !rc && i < rows; i++) {
        int64_t id;
        if (num_i64(PQgetvalue(r, i, 0), 1, INT64_MAX, &id))
            rc = adt_fail(err, ADT_ECORRUPT, "auditd_central.sites holds a bad id");
        else
            ids[(*n)++] = id;
    }
    PQclear(r);
    return rc;
}

int cstore_site_token(cstore *cs, int64_t id, char **token, size_t *len, adt_err *err)
{
    *token = NULL;
    *len = 0;
    char v[24];
    fmt_i64(v, sizeof v, id);
    const char *vals[1] = {v};
    PGresult *r = exec_params(cs, "SELECT token FROM auditd_central.site_tokens WHERE site_id = $1",
                              1, vals, NULL, NULL);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(cs, r, err, "reading the site's token");
    if (PQntuples(r) != 1) {
        PQclear(r);
        return adt_fail(err, ADT_ENOTFOUND, "site %s has no token", v);
    }
    size_t n = (size_t)PQgetlength(r, 0, 0);
    char *t = sodium_malloc(n + 1);
    if (!t) {
        PQclear(r);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    memcpy(t, PQgetvalue(r, 0, 0), n);
    t[n] = '\0';
    PQclear(r);
    *token = t;
    *len = n + 1;
    return ADT_OK;
}

int cstore_site_resume(cstore *cs, int64_t id, const char *by, const char *reason, int *resolved,
                       adt_err *err)
{
    *resolved = 0;
    char v[24], sql[512];
    fmt_i64(v, sizeof v, id);
    snprintf(sql, sizeof sql,
             "BEGIN; SELECT halted OR EXISTS (SELECT 1 FROM auditd_central.alerts a"
             " WHERE a.site_id = s.site_id AND a.resolved_at IS NULL)"
             " FROM auditd_central.streams s WHERE site_id = %s FOR UPDATE",
             v);
    PGresult *r = PQexec(cs->db, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int rc = pg_fail(cs, r, err, "resuming the site");
        rollback(cs);
        return rc;
    }
    bool halted = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (!halted) {
        rollback(cs);
        return adt_fail(err, ADT_ECONFLICT,
                        "the site's stream is not halted and has no open alert: nothing to resume");
    }
    const char *vals[3] = {v, by && *by ? by : "?", reason && *reason ? reason : "resumed"};
    r = exec_params(cs,
                    "UPDATE auditd_central.alerts SET resolved_at = now(), resolved_by = $2,"
                    " resolution = $3 WHERE site_id = $1 AND resolved_at IS NULL",
                    3, vals, NULL, NULL);
    int rc = ADT_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = pg_fail(cs, r, err, "resolving the site's alerts");
    } else {
        int64_t k = 0;
        num_i64(PQcmdTuples(r), 0, INT32_MAX, &k);
        *resolved = (int)k;
        PQclear(r);
        rc = cstore_exec(cs,
                         "UPDATE auditd_central.streams SET halted = false, last_error = NULL,"
                         " last_error_at = NULL WHERE site_id = $1",
                         1, vals, NULL, NULL, PGRES_COMMAND_OK, NULL, "resuming the site's stream",
                         err);
    }
    return tx_end(cs, rc, "resuming the site", err);
}

/* ---------- streams ---------- */

int cstore_stream_lock(cstore *cs, int64_t site_id, bool *got, adt_err *err)
{
    *got = false;
    if (site_id < 1 || site_id > INT32_MAX)
        return adt_fail(err, ADT_EINVAL, "site id %lld is outside the advisory lock's range",
                        (long long)site_id);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%d, %d)", CSCHEMA_LOCK_CLASS,
             (int)site_id);
    PGresult *r = PQexec(cs->db, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(cs, r, err, "taking the stream's writer lock");
    *got = !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    return ADT_OK;
}

static int popcount64(uint64_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

int cstore_stream_load(cstore *cs, int64_t site_id, cstore_stream *st, adt_err *err)
{
    char v[24];
    fmt_i64(v, sizeof v, site_id);
    const char *vals[1] = {v};
    PGresult *r = exec_params(cs,
                              "SELECT halted, pending_size, pending_root, coalesce(pending_note, ''),"
                              " mirror_size, next_entry, frontier"
                              " FROM auditd_central.streams WHERE site_id = $1",
                              1, vals, NULL, NULL);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(cs, r, err, "reading the site's stream");
    if (PQntuples(r) != 1) {
        PQclear(r);
        return adt_fail(err, ADT_ENOTFOUND, "site %s has no stream", v);
    }
    memset(st, 0, sizeof *st);
    st->site_id = site_id;
    st->halted = !strcmp(PQgetvalue(r, 0, 0), "t");
    uint64_t next = 0;
    int rc = ADT_OK;
    if (!u64_get(r, 0, 1, &st->pending_size) || !bytea_get(r, 0, 2, st->pending_root, 32) ||
        !u64_get(r, 0, 4, &st->mirror_size) || !u64_get(r, 0, 5, &next) ||
        PQgetlength(r, 0, 3) >= SITELOG_NOTE_MAX)
        rc = adt_fail(err, ADT_ECORRUPT, "the stream of site %s is malformed", v);
    if (!rc) {
        text_get(r, 0, 3, st->pending_note, sizeof st->pending_note);
        int count = popcount64(next);
        const char *f = PQgetvalue(r, 0, 6);
        size_t fl = (size_t)PQgetlength(r, 0, 6), bl = 0;
        if (fl != 2 + (size_t)count * 64 || f[0] != '\\' || f[1] != 'x' ||
            (count && (sodium_hex2bin((unsigned char *)st->frontier.h, sizeof st->frontier.h,
                                      f + 2, fl - 2, NULL, &bl, NULL) ||
                       bl != (size_t)count * 32)))
            rc = adt_fail(err, ADT_ECORRUPT,
                          "the stream of site %s has a compact range that does not match its "
                          "%llu entries",
                          v, (unsigned long long)next);
        st->frontier.size = next;
        st->frontier.count = count;
    }
    PQclear(r);
    return rc;
}

/* Inside BEGIN: lock the stream's row and check it still says what `st` says. */
static int lock_row(cstore *cs, const cstore_stream *st, const char *what, adt_err *err)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "BEGIN; SELECT pending_size, next_entry, halted FROM auditd_central.streams"
             " WHERE site_id = %lld FOR UPDATE",
             (long long)st->site_id);
    PGresult *r = PQexec(cs->db, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(cs, r, err, what);
    uint64_t ps = 0, next = 0;
    bool same = PQntuples(r) == 1 && u64_get(r, 0, 0, &ps) && u64_get(r, 0, 1, &next) &&
                ps == st->pending_size && next == st->frontier.size &&
                strcmp(PQgetvalue(r, 0, 2), "t") != 0;
    PQclear(r);
    if (!same)
        return adt_fail(err, ADT_ECONFLICT,
                        "%s: the stream changed since it was read (another writer, or halted): "
                        "read it again",
                        what);
    return ADT_OK;
}

int cstore_stream_advance(cstore *cs, cstore_stream *st, uint64_t size, const merkle_hash root,
                          const char *note, adt_err *err)
{
    const char *what = "recording the site's checkpoint";
    if (size <= st->pending_size || strlen(note) >= SITELOG_NOTE_MAX)
        return adt_fail(err, ADT_EINTERNAL, "%s: size %llu does not advance %llu", what,
                        (unsigned long long)size, (unsigned long long)st->pending_size);
    int rc = lock_row(cs, st, what, err);
    if (!rc) {
        char id[24], sz[24];
        fmt_i64(id, sizeof id, st->site_id);
        snprintf(sz, sizeof sz, "%llu", (unsigned long long)size);
        const char *vals[4] = {id, sz, (const char *)root, note};
        int lens[4] = {0, 0, MERKLE_HASH_LEN, 0};
        int fmts[4] = {0, 0, 1, 0};
        rc = cstore_exec(
            cs,
            "WITH c AS (INSERT INTO auditd_central.checkpoints (site_id, size, root, note)"
            "           VALUES ($1, $2, $3, $4))"
            " UPDATE auditd_central.streams SET pending_size = $2, pending_root = $3,"
            " pending_note = $4 WHERE site_id = $1",
            4, vals, lens, fmts, PGRES_COMMAND_OK, NULL, what, err);
    }
    if ((rc = tx_end(cs, rc, what, err)))
        return rc;
    st->pending_size = size;
    memcpy(st->pending_root, root, MERKLE_HASH_LEN);
    snprintf(st->pending_note, sizeof st->pending_note, "%s", note);
    return ADT_OK;
}

/* PostgreSQL's binary COPY format (a header, one tuple per entry, a trailer). */
static void be16(buf *b, uint16_t v, int *rc)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    if (!*rc)
        *rc = buf_append(b, x, 2);
}

static void be32(buf *b, uint32_t v, int *rc)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    if (!*rc)
        *rc = buf_append(b, x, 4);
}

static void be64(buf *b, uint64_t v, int *rc)
{
    be32(b, (uint32_t)(v >> 32), rc);
    be32(b, (uint32_t)v, rc);
}

#define COPY_CHUNK (1u << 20)

static int copy_flush(cstore *cs, buf *b, adt_err *err)
{
    if (b->len && PQputCopyData(cs->db, b->data, (int)b->len) != 1)
        return pg_fail(cs, NULL, err, "sending entries");
    buf_reset(b);
    return ADT_OK;
}

/* Starts a binary COPY with `sql`. Returns the server's refusal (then nothing is left to free and
 * copy_end must not be called); otherwise 0, with *b (at most `cap`) holding the file header and
 * OUT *rows_rc the status of writing it, to be carried through the rows into copy_end. */
static int copy_begin(cstore *cs, const char *sql, size_t cap, buf *b, int *rows_rc,
                      adt_err *err, const char *what)
{
    PGresult *r = PQexec(cs->db, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        return pg_fail(cs, r, err, what);
    PQclear(r);
    buf_init(b, cap);
    int rc = buf_append(b, "PGCOPY\n\377\r\n\0", 11);
    be32(b, 0, &rc);
    be32(b, 0, &rc);
    *rows_rc = rc;
    return 0;
}

/* Ends the COPY begun by copy_begin: the trailer, the last flush, the server's verdict. `rc` is
 * the status of the rows so far (a failure aborts the COPY); `building` names the rows for a
 * message when they could not be built. Frees *b. */
static int copy_end(cstore *cs, buf *b, int rc, adt_err *err, const char *what,
                    const char *building)
{
    be16(b, 0xFFFF, &rc);
    if (rc && !err->msg[0])
        adt_fail(err, rc, "%s", building);
    if (!rc)
        rc = copy_flush(cs, b, err);
    buf_free(b);
    if (PQputCopyEnd(cs->db, rc ? "aborted by auditd" : NULL) != 1 && !rc)
        rc = pg_fail(cs, NULL, err, what);
    PGresult *r;
    while ((r = PQgetResult(cs->db)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc)
            rc = pg_fail(cs, r, err, what);
        else
            PQclear(r);
    }
    return rc;
}

static int copy_entries(cstore *cs, int64_t site_id, uint64_t first, const char *data,
                        const size_t *off, const size_t *len, const merkle_hash *hashes, size_t n,
                        adt_err *err)
{
    const char *what = "storing entries";
    buf b;
    int rc = 0;
    int start = copy_begin(cs,
                        "COPY auditd_central.entries (site_id, idx, leaf, leaf_hash)"
                        " FROM STDIN (FORMAT binary)",
                        COPY_CHUNK + LEDGER_MAX_LEAF + 64, &b, &rc, err, what);
    if (start)
        return start;
    for (size_t i = 0; !rc && i < n; i++) {
        be16(&b, 4, &rc);
        be32(&b, 8, &rc);
        be64(&b, (uint64_t)site_id, &rc);
        be32(&b, 8, &rc);
        be64(&b, first + i, &rc);
        be32(&b, (uint32_t)len[i], &rc);
        if (!rc)
            rc = buf_append(&b, data + off[i], len[i]);
        be32(&b, MERKLE_HASH_LEN, &rc);
        if (!rc)
            rc = buf_append(&b, hashes[i], MERKLE_HASH_LEN);
        if (!rc && b.len >= COPY_CHUNK)
            rc = copy_flush(cs, &b, err);
    }
    return copy_end(cs, &b, rc, err, what, "building the entries to store");
}

/* The subtrees the entries complete, in the same binary COPY format. */
static int copy_nodes(cstore *cs, int64_t site_id, const cstore_node *nodes, size_t n,
                      adt_err *err)
{
    const char *what = "storing tree nodes";
    buf b;
    int rc = 0;
    int start = copy_begin(cs,
                        "COPY auditd_central.nodes (site_id, level, idx, hash)"
                        " FROM STDIN (FORMAT binary)",
                        COPY_CHUNK + 256, &b, &rc, err, what);
    if (start)
        return start;
    for (size_t i = 0; !rc && i < n; i++) {
        be16(&b, 4, &rc);
        be32(&b, 8, &rc);
        be64(&b, (uint64_t)site_id, &rc);
        be32(&b, 2, &rc);
        be16(&b, (uint16_t)nodes[i].level, &rc);
        be32(&b, 8, &rc);
        be64(&b, nodes[i].index, &rc);
        be32(&b, MERKLE_HASH_LEN, &rc);
        if (!rc)
            rc = buf_append(&b, nodes[i].hash, MERKLE_HASH_LEN);
        if (!rc && b.len >= COPY_CHUNK)
            rc = copy_flush(cs, &b, err);
    }
    return copy_end(cs, &b, rc, err, what, "building the tree nodes to store");
}

int cstore_stream_append(cstore *cs, cstore_stream *st, const char *data, const size_t *off,
                         const size_t *len, const merkle_hash *hashes, size_t n,
                         const cstore_node *nodes, size_t nnodes, const merkle_frontier *nf,
                         int (*in_tx)(cstore *cs, void *ctx, adt_err *err), void *ctx,
                         adt_err *err)
{
    const char *what = "storing entries";
    if (n == 0 || nf->size != st->frontier.size + n || nf->size > st->pending_size)
        return adt_fail(err, ADT_EINTERNAL, "%s: %zu entries from %llu do not fit the stream",
                        what, n, (unsigned long long)st->frontier.size);
    int rc = lock_row(cs, st, what, err);
    if (!rc)
        rc = copy_entries(cs, st->site_id, st->frontier.size, data, off, len, hashes, n, err);
    if (!rc && nnodes)
        rc = copy_nodes(cs, st->site_id, nodes, nnodes, err);
    if (!rc && in_tx)
        rc = in_tx(cs, ctx, err);
    if (!rc) {
        char id[24], next[24];
        fmt_i64(id, sizeof id, st->site_id);
        snprintf(next, sizeof next, "%llu", (unsigned long long)nf->size);
        const char *vals[3] = {id, next, (const char *)nf->h};
        int lens[3] = {0, 0, nf->count * MERKLE_HASH_LEN};
        int fmts[3] = {0, 0, 1};
        /* Reaching the pending size makes the pending checkpoint the mirror's. */
        rc = cstore_exec(
            cs,
            "UPDATE auditd_central.streams SET next_entry = $2, frontier = $3,"
            " mirror_size = CASE WHEN $2 = pending_size THEN $2 ELSE mirror_size END,"
            " mirror_root = CASE WHEN $2 = pending_size THEN pending_root ELSE mirror_root END,"
            " mirror_note = CASE WHEN $2 = pending_size THEN pending_note ELSE mirror_note END"
            " WHERE site_id = $1",
            3, vals, lens, fmts, PGRES_COMMAND_OK, NULL, what, err);
    }
    if ((rc = tx_end(cs, rc, what, err)))
        return rc;
    st->frontier = *nf;
    if (nf->size == st->pending_size)
        st->mirror_size = nf->size;
    return ADT_OK;
}

int cstore_stream_halt(cstore *cs, cstore_stream *st, const char *kind, const char *site_note,
                       const char *detail, int64_t *alert_id, adt_err *err)
{
    *alert_id = 0;
    const char *what = "raising the alert";
    char id[24], sql[200];
    fmt_i64(id, sizeof id, st->site_id);
    snprintf(sql, sizeof sql,
             "BEGIN; SELECT halted FROM auditd_central.streams WHERE site_id = %s FOR UPDATE", id);
    PGresult *r = PQexec(cs->db, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int rc = pg_fail(cs, r, err, what);
        rollback(cs);
        return rc;
    }
    bool halted = PQntuples(r) != 1 || !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (halted) {
        rollback(cs);
        st->halted = true;
        return ADT_OK;
    }
    const char *vals[6] = {id, kind, cs->app, st->pending_note[0] ? st->pending_note : NULL,
                           site_note, detail};
    r = exec_params(cs,
                    "WITH a AS (INSERT INTO auditd_central.alerts (site_id, kind, detected_by,"
                    "           stored_note, site_note, detail) VALUES ($1, $2, $3, $4, $5, $6)"
                    "           RETURNING id),"
                    " h AS (UPDATE auditd_central.streams SET halted = true WHERE site_id = $1)"
                    " SELECT id FROM a",
                    6, vals, NULL, NULL);
    int rc = ADT_OK;
    int64_t aid = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = pg_fail(cs, r, err, what);
    } else {
        if (PQntuples(r) != 1 || num_i64(PQgetvalue(r, 0, 0), 1, INT64_MAX, &aid))
            rc = adt_fail(err, ADT_EINTERNAL, "%s: no alert id came back", what);
        PQclear(r);
    }
    if ((rc = tx_end(cs, rc, what, err)))
        return rc;
    st->halted = true;
    *alert_id = aid;
    return ADT_OK;
}

int cstore_alert_witness(cstore *cs, int64_t site_id, const char *kind, const char *stored_note,
                         const char *site_note, const char *detail, int64_t *alert_id,
                         adt_err *err)
{
    *alert_id = 0;
    const char *what = "raising the witness's alert";
    char id[24];
    fmt_i64(id, sizeof id, site_id);
    /* The site's row serialises the check for an open alert with the insert,
     * so front-ends seeing the same refusal at once raise it once. */
    const char *vals[6] = {id, kind, cs->app, stored_note, site_note, detail};
    int rc = exec_cmd(cs, "BEGIN", err, what);
    PGresult *r = NULL;
    if (!rc) {
        r = exec_params(cs, "SELECT 1 FROM auditd_central.sites WHERE id = $1 FOR UPDATE", 1,
                        vals, NULL, NULL);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            rc = pg_fail(cs, r, err, what);
        else
            PQclear(r);
    }
    if (!rc) {
        r = exec_params(cs,
                        "INSERT INTO auditd_central.alerts (site_id, kind, detected_by,"
                        " stored_note, site_note, detail, source)"
                        " SELECT $1, $2, $3, $4, $5, $6, 'witness' WHERE NOT EXISTS"
                        " (SELECT 1 FROM auditd_central.alerts WHERE site_id = $1 AND kind = $2"
                        "  AND source = 'witness' AND resolved_at IS NULL)"
                        " RETURNING id",
                        6, vals, NULL, NULL);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = pg_fail(cs, r, err, what);
        } else {
            if (PQntuples(r) == 1)
                num_i64(PQgetvalue(r, 0, 0), 1, INT64_MAX, alert_id);
            PQclear(r);
        }
    }
    if ((rc = tx_end(cs, rc, what, err)))
        *alert_id = 0;
    return rc;
}

void cstore_stream_note(cstore *cs, int64_t site_id, const char *error)
{
    char id[24];
    fmt_i64(id, sizeof id, site_id);
    const char *vals[2] = {id, error};
    PGresult *r = error ? exec_params(cs,
                                      "UPDATE auditd_central.streams SET last_error = $2,"
                                      " last_error_at = now() WHERE site_id = $1",
                                      2, vals, NULL, NULL)
                        : exec_params(cs,
                                      "UPDATE auditd_central.streams SET checked_at = now(),"
                                      " last_error = NULL, last_error_at = NULL"
                                      " WHERE site_id = $1",
                                      1, vals, NULL, NULL);
    PQclear(r);
}

/* ---------- reading ---------- */

/* cstore_status, part 1: every site with its stream, writer, alerts,
 * cosignature and batches, to on_site (may be NULL). */
static int status_sites(cstore *cs, int (*on_site)(void *ctx, const cstore_site_status *s),
                        void *ctx, adt_err *err)
{
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SELECT s.id, s.origin, s.key_line, s.pubkey, s.url, " TS("s.added_at") ", s.added_by,"
             " st.halted, st.pending_size, st.mirror_size, st.next_entry,"
             " coalesce(" TS("st.checked_at") ", ''), coalesce(st.last_error, ''),"
             " coalesce(" TS("st.last_error_at") ", ''),"
             " coalesce((SELECT coalesce(nullif(a.application_name, ''), 'pid ' || l.pid)"
             "   FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
             "   WHERE l.locktype = 'advisory' AND l.classid = %d::oid"
             "   AND l.objid = s.id::oid AND l.objsubid = 2 AND l.granted LIMIT 1), ''),"
             " (SELECT count(*) FROM auditd_central.alerts al"
             "   WHERE al.site_id = s.id AND al.resolved_at IS NULL),"
             " coalesce((SELECT w.size FROM auditd_central.witness_latest w"
             "   WHERE w.site_id = s.id), -1),"
             " coalesce((SELECT " TS("w.cosigned_at") " FROM auditd_central.witness_latest w"
             "   WHERE w.site_id = s.id), ''),"
             " (SELECT count(*) FROM auditd_central.shipments sh WHERE sh.site_id = s.id),"
             " (SELECT count(body) FROM auditd_central.shipments sh WHERE sh.site_id = s.id)"
             " FROM auditd_central.sites s JOIN auditd_central.streams st ON st.site_id = s.id"
             " ORDER BY s.origin",
             CSCHEMA_LOCK_CLASS);
    PGresult *r = PQexec(cs->db, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(cs, r, err, "reading the sites' status");
    int rc = ADT_OK;
    cstore_site_status *s = malloc(sizeof *s);
    if (!s) {
        PQclear(r);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        memset(s, 0, sizeof *s);
        rc = site_row(r, i, &s->site, err);
        if (rc)
            break;
        s->halted = !strcmp(PQgetvalue(r, i, 7), "t");
        if (!u64_get(r, i, 8, &s->pending_size) || !u64_get(r, i, 9, &s->mirror_size) ||
            !u64_get(r, i, 10, &s->next_entry) || !u64_get(r, i, 15, &s->open_alerts)) {
            rc = adt_fail(err, ADT_ECORRUPT, "the stream of %s is malformed", s->site.origin);
            break;
        }
        text_get(r, i, 11, s->checked_at, sizeof s->checked_at);
        text_get(r, i, 12, s->last_error, sizeof s->last_error);
        text_get(r, i, 13, s->last_error_at, sizeof s->last_error_at);
        text_get(r, i, 14, s->writer, sizeof s->writer);
        s->cosigned = strcmp(PQgetvalue(r, i, 16), "-1") != 0;
        if (s->cosigned)
            u64_get(r, i, 16, &s->cosigned_size);
        text_get(r, i, 17, s->cosigned_at, sizeof s->cosigned_at);
        u64_get(r, i, 18, &s->batches);
        u64_get(r, i, 19, &s->batches_fetched);
        if (on_site)
            rc = on_site(ctx, s);
    }
    free(s);
    PQclear(r);
    return rc;
}

/* Part 2: the alerts (open ones, or the latest 1000 with all_alerts). */
static int status_alerts(cstore *cs, bool all_alerts,
                         int (*on_alert)(void *ctx, const cstore_alert *a), void *ctx,
                         adt_err *err)
{
    int rc = ADT_OK;
    PGresult *r;
    r = PQexec(cs->db, all_alerts
                           ? "SELECT a.id, s.origin, a.kind, " TS("a.detected_at") ", a.detected_by,"
                             " a.detail, coalesce(a.stored_note, ''), coalesce(a.site_note, ''),"
                             " a.resolved_at IS NOT NULL, coalesce(" TS("a.resolved_at") ", ''),"
                             " coalesce(a.resolved_by, ''), coalesce(a.resolution, ''), a.source"
                             " FROM auditd_central.alerts a JOIN auditd_central.sites s"
                             " ON s.id = a.site_id ORDER BY a.id DESC LIMIT 1000"
                           : "SELECT a.id, s.origin, a.kind, " TS("a.detected_at") ", a.detected_by,"
                             " a.detail, coalesce(a.stored_note, ''), coalesce(a.site_note, ''),"
                             " false, '', '', '', a.source"
                             " FROM auditd_central.alerts a JOIN auditd_central.sites s"
                             " ON s.id = a.site_id WHERE a.resolved_at IS NULL"
                             " ORDER BY a.id DESC LIMIT 1000");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(cs, r, err, "reading the alerts");
    cstore_alert *a = malloc(sizeof *a);
    if (!a) {
        PQclear(r);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        memset(a, 0, sizeof *a);
        num_i64(PQgetvalue(r, i, 0), 1, INT64_MAX, &a->id);
        text_get(r, i, 1, a->origin, sizeof a->origin);
        text_get(r, i, 2, a->kind, sizeof a->kind);
        text_get(r, i, 3, a->detected_at, sizeof a->detected_at);
        text_get(r, i, 4, a->detected_by, sizeof a->detected_by);
        text_get(r, i, 5, a->detail, sizeof a->detail);
        text_get(r, i, 6, a->stored_note, sizeof a->stored_note);
        text_get(r, i, 7, a->site_note, sizeof a->site_note);
        a->resolved = !strcmp(PQgetvalue(r, i, 8), "t");
        text_get(r, i, 9, a->resolved_at, sizeof a->resolved_at);
        text_get(r, i, 10, a->resolved_by, sizeof a->resolved_by);
        text_get(r, i, 11, a->resolution, sizeof a->resolution);
        text_get(r, i, 12, a->source, sizeof a->source);
        rc = on_alert(ctx, a);
    }
    free(a);
    PQclear(r);
    return rc;
}

int cstore_status(cstore *cs, bool all_alerts,
                  int (*on_site)(void *ctx, const cstore_site_status *s),
                  int (*on_alert)(void *ctx, const cstore_alert *a), void *ctx, adt_err *err)
{
    int rc = status_sites(cs, on_site, ctx, err);
    if (rc || !on_alert)
        return rc;
    return status_alerts(cs, all_alerts, on_alert, ctx, err);
}

/* ---------- status as JSON ---------- */

static int jstr(buf *b, const char *key, const char *v, bool comma)
{
    int rc = buf_printf(b, "%s\"%s\":", comma ? "," : "", key);
    return rc ? rc : canon_put_string(b, v, strlen(v));
}

typedef struct jstatus {
    buf *b;
    int n;
} jstatus;

static int j_site(void *vctx, const cstore_site_status *s)
{
    jstatus *c = vctx;
    buf *b = c->b;
    int rc = buf_puts(b, c->n++ ? ",{" : "{");
    if (!rc) rc = jstr(b, "origin", s->site.origin, false);
    if (!rc) rc = jstr(b, "url", s->site.url, true);
    if (!rc) rc = jstr(b, "state", s->halted ? "halted" : "active", true);
    if (!rc)
        rc = buf_printf(b, ",\"pending_size\":%llu,\"next_entry\":%llu,\"mirror_size\":%llu,"
                           "\"open_alerts\":%llu",
                        (unsigned long long)s->pending_size, (unsigned long long)s->next_entry,
                        (unsigned long long)s->mirror_size, (unsigned long long)s->open_alerts);
    if (!rc && s->cosigned)
        rc = buf_printf(b, ",\"cosigned_size\":%llu", (unsigned long long)s->cosigned_size);
    else if (!rc)
        rc = buf_puts(b, ",\"cosigned_size\":null");
    if (!rc) rc = jstr(b, "cosigned_at", s->cosigned_at, true);
    if (!rc)
        rc = buf_printf(b, ",\"batches\":%llu,\"batches_fetched\":%llu",
                        (unsigned long long)s->batches, (unsigned long long)s->batches_fetched);
    if (!rc) rc = jstr(b, "checked_at", s->checked_at, true);
    if (!rc) rc = jstr(b, "writer", s->writer, true);
    if (!rc) rc = jstr(b, "last_error", s->last_error, true);
    if (!rc) rc = jstr(b, "last_error_at", s->last_error_at, true);
    if (!rc) rc = buf_putc(b, '}');
    return rc;
}

static int j_alert(void *vctx, const cstore_alert *a)
{
    jstatus *c = vctx;
    buf *b = c->b;
    int rc = buf_printf(b, "%s{\"id\":%lld", c->n++ ? "," : "", (long long)a->id);
    if (!rc) rc = jstr(b, "origin", a->origin, true);
    if (!rc) rc = jstr(b, "kind", a->kind, true);
    if (!rc) rc = jstr(b, "source", a->source, true);
    if (!rc) rc = jstr(b, "detected_at", a->detected_at, true);
    if (!rc) rc = jstr(b, "detected_by", a->detected_by, true);
    if (!rc) rc = jstr(b, "detail", a->detail, true);
    if (!rc) rc = jstr(b, "stored_checkpoint", a->stored_note, true);
    if (!rc) rc = jstr(b, "site_checkpoint", a->site_note, true);
    if (!rc && a->resolved) {
        rc = jstr(b, "resolved_at", a->resolved_at, true);
        if (!rc) rc = jstr(b, "resolved_by", a->resolved_by, true);
        if (!rc) rc = jstr(b, "resolution", a->resolution, true);
    }
    if (!rc) rc = buf_putc(b, '}');
    return rc;
}

int cstore_status_json(cstore *cs, bool all_alerts, buf *out, adt_err *err)
{
    jstatus c = {.b = out};
    int rc = buf_puts(out, "{\"sites\":[");
    if (!rc)
        rc = cstore_status(cs, all_alerts, j_site, NULL, &c, err);
    if (!rc)
        rc = buf_puts(out, "],\"alerts\":[");
    c.n = 0;
    if (!rc)
        rc = cstore_status(cs, all_alerts, NULL, j_alert, &c, err);
    if (!rc)
        rc = buf_puts(out, "]}\n");
    if (rc && !err->msg[0])
        adt_fail(err, rc, "the status does not fit its buffer");
    return rc;
}

/* ---------- verify ---------- */

#define FETCH_ROWS 512 /* rows per FETCH: leaves may be up to 1 MiB each */

typedef struct vcursor {
    cstore *cs;
    const char *name;
    PGresult *r;
    int row, rows;
    bool done;
} vcursor;

/* The next row of a cursor (fetched FETCH_ROWS at a time); false at the end. */
static int vnext(vcursor *c, bool *have, adt_err *err)
{
    *have = false;
    if (c->done)
        return ADT_OK;
    if (c->r && c->row + 1 < c->rows) {
        c->row++;
        *have = true;
        return ADT_OK;
    }
    if (c->r)
        PQclear(c->r);
    char sql[64];
    snprintf(sql, sizeof sql, "FETCH %d FROM %s", FETCH_ROWS, c->name);
    c->r = PQexec(c->cs->db, sql);
    if (PQresultStatus(c->r) != PGRES_TUPLES_OK) {
        PGresult *r = c->r;
        c->r = NULL;
        return pg_fail(c->cs, r, err, "reading the mirror");
    }
    c->rows = PQntuples(c->r);
    c->row = 0;
    if (c->rows == 0) {
        c->done = true;
        return ADT_OK;
    }
    *have = true;
    return ADT_OK;
}

static uint64_t get_be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (uint8_t)p[i];
    return v;
}

static void vbad(cstore_verify_result *res, bool has_index, uint64_t index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The first problem is the one reported (ledger_verify_vfail, core). */
static void vbad(cstore_verify_result *res, bool has_index, uint64_t index, const char *fmt, ...)
{
    if (!res->v.ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    ledger_verify_vfail(&res->v, has_index, index, fmt, ap);
    va_end(ap);
}

/* The checkpoint row at the cursor: signed by the site's key, its size and
 * root columns equal to what the note says. OUT: *size, root. */
static bool cp_row_ok(const vcursor *cp, const cstore_site *site, uint64_t *size,
                      merkle_hash root)
{
    const char *note = PQgetvalue(cp->r, cp->row, 2);
    uint64_t nsize;
    merkle_hash col;
    adt_err ve;
    return u64_get(cp->r, cp->row, 0, size) &&
           note_verify_checkpoint(note, strlen(note), site->origin, site->pub, &nsize, root,
                                  &ve) == ADT_OK &&
           nsize == *size && bytea_get(cp->r, cp->row, 1, col, 32) && !memcmp(col, root, 32);
}

/* cstore_verify_site, phase 1: a read-only snapshot, the site's stream and
 * mirror root, and cursors over its checkpoints (cp) and entries (en), in
 * order. OUT: *st, mirror_root. */
static int verify_open(cstore *cs, const cstore_site *site, cstore_stream *st,
                       merkle_hash mirror_root, adt_err *err)
{
    int rc = exec_cmd(cs, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err,
                      "starting the check");
    if (rc)
        return rc;
    rc = cstore_stream_load(cs, site->id, st, err);
    char sql[256];
    PGresult *mr = NULL;
    if (!rc) {
        snprintf(sql, sizeof sql,
                 "SELECT mirror_root FROM auditd_central.streams WHERE site_id = %lld",
                 (long long)site->id);
        mr = PQexec(cs->db, sql);
        if (PQresultStatus(mr) != PGRES_TUPLES_OK || PQntuples(mr) != 1) {
            rc = pg_fail(cs, mr, err, "reading the mirror checkpoint");
        } else {
            if (!bytea_get(mr, 0, 0, mirror_root, 32))
                rc = adt_fail(err, ADT_ECORRUPT, "the mirror root is malformed");
            PQclear(mr);
        }
    }
    if (!rc) {
        snprintf(sql, sizeof sql,
                 "DECLARE cp NO SCROLL CURSOR FOR SELECT size, root, note FROM"
                 " auditd_central.checkpoints WHERE site_id = %lld ORDER BY size",
                 (long long)site->id);
        rc = exec_cmd(cs, sql, err, "reading the checkpoints");
    }
    if (!rc) {
        snprintf(sql, sizeof sql,
                 "DECLARE en BINARY NO SCROLL CURSOR FOR SELECT idx, leaf, leaf_hash FROM"
                 " auditd_central.entries WHERE site_id = %lld ORDER BY idx",
                 (long long)site->id);
        rc = exec_cmd(cs, sql, err, "reading the entries");
    }
    return rc;
}

/* Phase 3: the stream's own record agrees with the entries checked (size,
 * compact range, mirror checkpoint within them). */
static void verify_stream_record(cstore_verify_result *res, const merkle_frontier *fr,
                                 const cstore_stream *st)
{
    if (res->v.ok) {
        if (fr->size != st->frontier.size)
            vbad(res, true, fr->size, "the stream says %llu entries are stored, %llu are",
                 (unsigned long long)st->frontier.size, (unsigned long long)fr->size);
        else if (fr->count != st->frontier.count ||
                 memcmp(fr->h, st->frontier.h, (size_t)fr->count * MERKLE_HASH_LEN))
            vbad(res, false, 0, "the stream's stored compact range does not match its entries");
        else if (st->mirror_size > fr->size)
            vbad(res, false, 0, "the mirror checkpoint (size %llu) is beyond the stored entries",
                 (unsigned long long)st->mirror_size);
    }
}

int cstore_verify_site(cstore *cs, const cstore_site *site, cstore_verify_result *res,
                       adt_err *err)
{
    memset(res, 0, sizeof *res);
    res->v.ok = true;
    cstore_stream st = {0};
    merkle_hash mirror_root;
    int rc = verify_open(cs, site, &st, mirror_root, err);
    vcursor cp = {.cs = cs, .name = "cp"}, en = {.cs = cs, .name = "en"};
    bool cp_have = false, en_have = false;
    uint64_t cp_size = 0;
    merkle_hash cp_root;
    /* The next stored checkpoint, its signature checked. */
#define CP_NEXT()                                                                              \
    do {                                                                                       \
        rc = vnext(&cp, &cp_have, err);                                                        \
        if (!rc && cp_have && !cp_row_ok(&cp, site, &cp_size, cp_root))                        \
            vbad(res, false, 0, "a stored checkpoint (size %s) is not signed by %s's key or "   \
                 "does not match its row", PQgetvalue(cp.r, cp.row, 0), site->origin);        \
    } while (0)
    if (!rc)
        CP_NEXT();
    merkle_frontier f;
    merkle_frontier_init(&f);
    merkle_hash root;
    merkle_empty_root(root);
    if (!rc && res->v.ok && st.mirror_size == 0 && memcmp(root, mirror_root, 32))
        vbad(res, false, 0, "the mirror checkpoint of size 0 does not have the empty root");
    if (!rc && res->v.ok && cp_have && cp_size == 0)
        vbad(res, false, 0, "a checkpoint of size 0 is stored (the stream never stores one)");
    while (!rc && res->v.ok) {
        rc = vnext(&en, &en_have, err);
        if (rc || !en_have)
            break;
        if (PQgetlength(en.r, en.row, 0) != 8 || PQgetlength(en.r, en.row, 2) != 32) {
            vbad(res, true, f.size, "entry %llu is malformed", (unsigned long long)f.size);
            break;
        }
        uint64_t idx = get_be64(PQgetvalue(en.r, en.row, 0));
        if (idx != f.size) {
            vbad(res, true, f.size, "entry %llu is missing (the next stored is %llu)",
                 (unsigned long long)f.size, (unsigned long long)idx);
            break;
        }
        merkle_hash lh;
        merkle_leaf_hash(PQgetvalue(en.r, en.row, 1), (size_t)PQgetlength(en.r, en.row, 1), lh);
        if (memcmp(lh, PQgetvalue(en.r, en.row, 2), 32)) {
            vbad(res, true, idx, "entry %llu does not hash to its stored leaf hash",
                 (unsigned long long)idx);
            break;
        }
        merkle_frontier_push(&f, lh, NULL, NULL);
        res->v.entries++;
        bool at_cp = cp_have && res->v.ok && cp_size == f.size;
        if (!at_cp && f.size != st.mirror_size)
            continue;
        merkle_frontier_root(&f, root);
        if (f.size == st.mirror_size && memcmp(root, mirror_root, 32))
            vbad(res, true, idx, "the stored entries do not have the mirror checkpoint's root");
        if (at_cp) {
            if (memcmp(root, cp_root, 32))
                vbad(res, true, idx,
                     "the stored entries do not have the root of the stored checkpoint of "
                     "size %llu", (unsigned long long)cp_size);
            res->v.checkpoints++;
            CP_NEXT();
        }
    }
    if (!rc)
        verify_stream_record(res, &f, &st);
    /* Checkpoints beyond the entries (pending ones): their signatures only. */
    while (!rc && res->v.ok && cp_have) {
        if (cp_size <= f.size)
            vbad(res, false, 0, "the stored checkpoint of size %llu was never reached by the "
                 "entries", (unsigned long long)cp_size);
        else if (cp_size > st.pending_size)
            vbad(res, false, 0, "a stored checkpoint (size %llu) is beyond the pending one",
                 (unsigned long long)cp_size);
        res->v.checkpoints++;
        CP_NEXT();
    }
#undef CP_NEXT
    if (cp.r)
        PQclear(cp.r);
    if (en.r)
        PQclear(en.r);
    rollback(cs);
    merkle_frontier_root(&f, res->v.root);
    res->mirror_size = st.mirror_size;
    return rc;
}
