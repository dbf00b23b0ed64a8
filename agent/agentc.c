#include "agentc.h"

#include "agentsig.h"
#include "buf.h"
#include "canon.h"
#include "event.h"
#include "httpc.h"
#include "merkle.h"
#include "note.h"
#include "numparse.h"
#include "rfc3339.h"
#include "sqldb.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES (1u << 20)
#define RESP_MAX (64u << 20)

enum { EV_PENDING = 0, EV_ACKED = 1, EV_REJECTED = 2 };

static const char spool_schema[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS ev(id INTEGER PRIMARY KEY, path TEXT NOT NULL, body BLOB NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0, idx INTEGER, receipt INTEGER, error TEXT);"
    "CREATE INDEX IF NOT EXISTS ev_state ON ev(state, path, id);"
    "CREATE INDEX IF NOT EXISTS ev_idx ON ev(idx) WHERE idx IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS attempt(seq INTEGER PRIMARY KEY, path TEXT NOT NULL,"
    " first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, body_sha256 TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS receipt(id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, path TEXT NOT NULL,"
    " first INTEGER, count INTEGER, tree_size INTEGER, body_sha256 TEXT, json TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);";

/* The agent's connection to the daemon: core's HTTP client (httpc.h). */
typedef httpc http;

typedef struct client {
    const agentc_opts *o;
    sqlite3 *db;
    http h;
    uint8_t *sk; /* sodium_malloc'd */
    uint8_t pub[32];
    agentc_stats *st;
} client;

/* ---------- spool ---------- */

static int spool_open(const char *dir, sqlite3 **db, adt_err *err)
{
    /* Events spooled and not yet sent exist nowhere else. */
    int rc = sqldb_open(dir, AGENTC_SPOOL_FILE, SQLDB_CREATE, SQLDB_DURABLE, NULL, db, err);
    if (!rc && (rc = sqldb_exec(*db, spool_schema, "creating the spool", err))) {
        sqldb_close(*db);
        *db = NULL;
    }
    return rc;
}

static int meta_get(sqlite3 *db, const char *k, char *out, size_t cap)
{
    sqlite3_stmt *s;
    int rc = ADT_ENOTFOUND;
    if (sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k=?", -1, &s, NULL))
        return ADT_EIO;
    sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
        rc = ADT_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

static int meta_set(sqlite3 *db, const char *k, const char *v)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(k, v) VALUES(?,?)", -1, &s, NULL))
        return ADT_EIO;
    sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, v, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s) == SQLITE_DONE ? ADT_OK : ADT_EIO;
    sqlite3_finalize(s);
    return rc;
}

static int exec1(sqlite3 *db, const char *sql, adt_err *err)
{
    char *em = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &em)) {
        adt_fail(err, ADT_EIO, "spool: %s", em ? em : sqlite3_errmsg(db));
        sqlite3_free(em);
        return ADT_EIO;
    }
    return ADT_OK;
}

/* Spool every non-blank line of `text` (all in one transaction). In follow
 * mode `follow_off` (>= 0) is the file offset just past `text`, stored in the
 * same transaction so a crash never spools a line twice. */
static int spool_lines(client *cl, const char *text, size_t len, long long follow_off, adt_err *err)
{
    sqlite3_stmt *s;
    if (exec1(cl->db, "BEGIN IMMEDIATE", err))
        return ADT_EIO;
    if (sqlite3_prepare_v2(cl->db, "INSERT INTO ev(path, body) VALUES(?,?)", -1, &s, NULL)) {
        exec1(cl->db, "ROLLBACK", err);
        return adt_fail(err, ADT_EIO, "spool: %s", sqlite3_errmsg(cl->db));
    }
    int rc = ADT_OK;
    for (const char *p = text, *end = text + len; p < end && !rc;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        size_t a = 0, b = l;
        while (a < b && (p[a] == ' ' || p[a] == '\t' || p[a] == '\r'))
            a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t' || p[b - 1] == '\r'))
            b--;
        if (b > a) {
            sqlite3_reset(s);
            sqlite3_bind_text(s, 1, cl->o->path, -1, SQLITE_STATIC);
            sqlite3_bind_blob(s, 2, p + a, (int)(b - a), SQLITE_STATIC);
            if (sqlite3_step(s) != SQLITE_DONE)
                rc = adt_fail(err, ADT_EIO, "spool: %s", sqlite3_errmsg(cl->db));
            else
                cl->st->read++;
        }
        p += l + 1;
    }
    sqlite3_finalize(s);
    if (!rc && follow_off >= 0) {
        char v[32];
        snprintf(v, sizeof v, "%lld", follow_off);
        if (meta_set(cl->db, "follow_offset", v))
            rc = adt_fail(err, ADT_EIO, "spool: %s", sqlite3_errmsg(cl->db));
    }
    if (rc || exec1(cl->db, "COMMIT", err)) {
        exec1(cl->db, "ROLLBACK", err);
        return rc ? rc : ADT_EIO;
    }
    return ADT_OK;
}

/* Read `f` to its current end, spooling complete lines; `partial` keeps an
 * unfinished last line for the next call (follow mode). */
static int spool_stream(client *cl, FILE *f, buf *partial, bool final, bool follow, adt_err *err)
{
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (buf_append(partial, tmp, n))
            return adt_fail(err, ADT_ETOOBIG, "an input line is longer than %u bytes", LINE_MAX_BYTES);
        char *last = NULL;
        for (size_t i = partial->len; i > 0; i--)
            if (partial->data[i - 1] == '\n') {
                last = partial->data + i - 1;
                break;
            }
        if (last) {
            size_t upto = (size_t)(last - partial->data) + 1;
            long long off = follow ? (long long)ftello(f) - (long long)(partial->len - upto) : -1;
            int rc = spool_lines(cl, partial->data, upto, off, err);
            if (rc)
                return rc;
            memmove(partial->data, partial->data + upto, partial->len - upto);
            partial->len -= upto;
            partial->data[partial->len] = '\0';
        }
        if (partial->len > LINE_MAX_BYTES)
            return adt_fail(err, ADT_ETOOBIG, "an input line is longer than %u bytes", LINE_MAX_BYTES);
    }
    if (ferror(f))
        return adt_fail(err, ADT_EIO, "reading input: %s", strerror(errno));
    if (final && partial->len) {
        int rc = spool_lines(cl, partial->data, partial->len, -1, err);
        buf_reset(partial);
        return rc;
    }
    return ADT_OK;
}

/* ---------- HTTP ---------- */

typedef enum { NET_OK, NET_REFUSED, NET_LOST } net_result;

/* One request. NET_REFUSED: could not connect; NET_LOST: failed later. Either
 * way the request may have reached the server (see send_step). */
static net_result http_do(http *h, const char *method, const char *path, const char *authz,
                          const char *body, size_t blen, const char *ctype, char *emsg, size_t ecap)
{
    char ah[AGENTSIG_HDR_MAX + 64], ch[128];
    const char *hs[3];
    size_t n = 0;
    if (authz) {
        snprintf(ah, sizeof ah, "Authorization: %s", authz);
        hs[n++] = ah;
    }
    if (ctype) {
        snprintf(ch, sizeof ch, "Content-Type: %s", ctype);
        hs[n++] = ch;
    }
    hs[n] = NULL;
    httpc_result r = httpc_do(h, method, path, hs, body, blen, emsg, ecap);
    return r == HTTPC_OK ? NET_OK : r == HTTPC_REFUSED ? NET_REFUSED : NET_LOST;
}

static int http_init(http *h, const char *base, const agentc_tls *tls, adt_err *err)
{
    int rc = httpc_init(h, base, RESP_MAX, 120, err);
    if (!rc && tls) {
        h->cacert = tls->cacert;
        h->insecure = tls->insecure;
    }
    return rc;
}


/* ---------- signed requests ---------- */

static uint64_t next_seq(client *cl)
{
    char v[32];
    uint64_t last = 0;
    if (!meta_get(cl->db, "last_seq", v, sizeof v))
        num_u64(v, INT64_MAX, &last);
    /* Microseconds since the epoch keep seqs increasing even if the spool is
     * lost and the agent starts afresh. */
    uint64_t now = (uint64_t)rfc3339_now_us();
    uint64_t seq = now > last ? now : last + 1;
    snprintf(v, sizeof v, "%llu", (unsigned long long)seq);
    meta_set(cl->db, "last_seq", v);
    return seq;
}

static void sign_header(client *cl, const char *method, const char *path, uint64_t seq,
                        const uint8_t bh[32], char *out, size_t cap)
{
    agentsig_hdr h;
    memset(&h, 0, sizeof h);
    snprintf(h.name, sizeof h.name, "%s", cl->o->name);
    h.ts = (int64_t)time(NULL);
    h.seq = seq;
    adt_err e;
    agentsig_sign(&h, method, path, bh, cl->sk, &e);
    agentsig_format(&h, out, cap);
}

/* ---------- pinning the server key ---------- */

static int pin_key(sqlite3 *db, http *h, char *key_line, size_t cap, adt_err *err)
{
    char emsg[512];
    if (http_do(h, "GET", "/v1/log/key", NULL, NULL, 0, NULL, emsg, sizeof emsg) != NET_OK)
        return adt_fail(err, ADT_EBUSY, "cannot reach the server: %s", emsg);
    if (h->status != 200)
        return adt_fail(err, ADT_EIO, "GET /v1/log/key answered %ld", h->status);
    char got[NOTE_KEYLINE_MAX];
    size_t n = h->resp.len;
    while (n && (h->resp.data[n - 1] == '\n' || h->resp.data[n - 1] == '\r'))
        n--;
    if (n == 0 || n >= sizeof got)
        return adt_fail(err, ADT_EINVAL, "the server's key line is empty or too long");
    memcpy(got, h->resp.data, n);
    got[n] = '\0';
    char pinned[NOTE_KEYLINE_MAX];
    if (!meta_get(db, "server_key", pinned, sizeof pinned)) {
        if (strcmp(pinned, got))
            return adt_fail(err, ADT_ECRYPTO, "the server's log key changed: pinned '%s', now '%s'; "
                            "refusing (a new spool is needed if this is intended)", pinned, got);
    } else if (meta_set(db, "server_key", got)) {
        return adt_fail(err, ADT_EIO, "cannot pin the server key in the spool");
    }
    snprintf(key_line, cap, "%s", got);
    return ADT_OK;
}

/* ---------- receipts ---------- */

static int json_u64(const cJSON *o, const char *k, uint64_t *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > 9007199254740992.0)
        return ADT_EINVAL;
    *v = (uint64_t)x->valuedouble;
    return ADT_OK;
}

/* Store the receipt for attempt (seq, ids first_id..last_id) and mark its
 * events acknowledged, in one transaction. */
static int settle(client *cl, uint64_t seq, const char *path, int64_t first_id, int64_t last_id,
                  const char *bsha, const char *json, size_t jlen, adt_err *err)
{
    uint64_t first = 0, count = 0, tree = 0, rseq = seq;
    bool ledger_receipt = false;
    cJSON *j = cJSON_ParseWithLength(json, jlen);
    if (j && !json_u64(j, "first", &first) && !json_u64(j, "count", &count) &&
        !json_u64(j, "tree_size", &tree))
        ledger_receipt = true;
    /* A resent batch is answered with the original receipt: its entries
     * carry the signature of the request that first delivered them. */
    if (ledger_receipt && json_u64(j, "seq", &rseq))
        rseq = seq;
    cJSON_Delete(j);
    if (exec1(cl->db, "BEGIN IMMEDIATE", err))
        return ADT_EIO;
    sqlite3_stmt *s = NULL, *u = NULL, *d = NULL;
    int rc = ADT_OK;
    uint64_t k = 0;
    if (sqlite3_prepare_v2(cl->db, "INSERT INTO receipt(seq, path, first, count, tree_size, "
                                   "body_sha256, json) VALUES(?,?,?,?,?,?,?)", -1, &s, NULL) ||
        sqlite3_prepare_v2(cl->db, "SELECT id FROM ev WHERE id BETWEEN ? AND ? AND state=0 AND path=? "
                                   "ORDER BY id", -1, &u, NULL) ||
        sqlite3_prepare_v2(cl->db, "UPDATE ev SET state=1, idx=?, receipt=? WHERE id=?", -1, &d, NULL)) {
        rc = adt_fail(err, ADT_EIO, "spool: %s", sqlite3_errmsg(cl->db));
        goto out;
    }
    sqlite3_bind_int64(s, 1, (sqlite3_int64)rseq);
    sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
    if (ledger_receipt) {
        sqlite3_bind_int64(s, 3, (sqlite3_int64)first);
        sqlite3_bind_int64(s, 4, (sqlite3_int64)count);
        sqlite3_bind_int64(s, 5, (sqlite3_int64)tree);
    }
    sqlite3_bind_text(s, 6, bsha, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, json, (int)jlen, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE) {
        rc = adt_fail(err, ADT_EIO, "spool: %s", sqlite3_errmsg(cl->db));
        goto out;
    }
    sqlite3_int64 rid = sqlite3_last_insert_rowid(cl->db);
    sqlite3_bind_int64(u, 1, first_id);
    sqlite3_bind_int64(u, 2, last_id);
    sqlite3_bind_text(u, 3, path, -1, SQLITE_STATIC);
    while (!rc && sqlite3_step(u) == SQLITE_ROW) {
        sqlite3_reset(d);
        if (ledger_receipt)
            sqlite3_bind_int64(d, 1, (sqlite3_int64)(first + k));
        else
            sqlite3_bind_null(d, 1);
        sqlite3_bind_int64(d, 2, rid);
        sqlite3_bind_int64(d, 3, sqlite3_column_int64(u, 0));
        if (sqlite3_step(d) != SQLITE_DONE)
            rc = adt_fail(err, ADT_EIO, "spool: %s", sqlite3_errmsg(cl->db));
        k++;
    }
    if (!rc && ledger_receipt && k != count)
        rc = adt_fail(err, ADT_ECORRUPT, "receipt for seq %llu covers %llu entries but the batch "
                      "had %llu events", (unsigned long long)seq, (unsigned long long)count,
                      (unsigned long long)k);
    if (!rc) {
        char q[128];
        snprintf(q, sizeof q, "DELETE FROM attempt WHERE seq=%llu", (unsigned long long)seq);
        rc = exec1(cl->db, q, err);
    }
out:
    sqlite3_finalize(s);
    sqlite3_finalize(u);
    sqlite3_finalize(d);
    if (rc || exec1(cl->db, "COMMIT", err)) {
        exec1(cl->db, "ROLLBACK", err);
        if (!rc)
            rc = ADT_EIO;
        return rc;
    }
    cl->st->acked += k;
    return rc;
}

static int reject_attempt(client *cl, uint64_t seq, const char *path, int64_t first_id,
                          int64_t last_id, const char *why, adt_err *err)
{
    sqlite3_stmt *s;
    if (exec1(cl->db, "BEGIN IMMEDIATE", err))
        return ADT_EIO;
    if (sqlite3_prepare_v2(cl->db, "UPDATE ev SET state=2, error=? WHERE id BETWEEN ? AND ? AND "
                                   "state=0 AND path=?", -1, &s, NULL)) {
        exec1(cl->db, "ROLLBACK", err);
        return ADT_EIO;
    }
    sqlite3_bind_text(s, 1, why, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, first_id);
    sqlite3_bind_int64(s, 3, last_id);
    sqlite3_bind_text(s, 4, path, -1, SQLITE_STATIC);
    sqlite3_step(s);
    cl->st->rejected += (uint64_t)sqlite3_changes(cl->db);
    sqlite3_finalize(s);
    char q[128];
    snprintf(q, sizeof q, "DELETE FROM attempt WHERE seq=%llu", (unsigned long long)seq);
    if (exec1(cl->db, q, err) || exec1(cl->db, "COMMIT", err)) {
        exec1(cl->db, "ROLLBACK", err);
        return ADT_EIO;
    }
    return ADT_OK;
}

static void drop_attempt(client *cl, uint64_t seq)
{
    char q[128];
    adt_err e;
    snprintf(q, sizeof q, "DELETE FROM attempt WHERE seq=%llu", (unsigned long long)seq);
    exec1(cl->db, q, &e);
}

/* ---------- backoff ---------- */

typedef struct backoff {
    unsigned cur_ms, max_ms;
    time_t started;
} backoff;

static void nap_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* Sleep for the next backoff step; returns false if the give-up time passed. */
static bool backoff_wait(client *cl, backoff *b, int retry_after_s)
{
    if (cl->o->give_up_s && time(NULL) - b->started > (time_t)cl->o->give_up_s)
        return false;
    unsigned d = b->cur_ms;
    /* Half fixed, half random ("equal jitter"): spreads agents that failed
     * together without ever retrying at once. */
    unsigned wait = d / 2 + (d / 2 ? randombytes_uniform(d / 2 + 1) : 0);
    if (retry_after_s > 0 && wait < (unsigned)retry_after_s * 1000u)
        wait = (unsigned)retry_after_s * 1000u;
    b->cur_ms = d * 2 > b->max_ms ? b->max_ms : d * 2;
    cl->st->retries++;
    for (unsigned slept = 0; slept < wait; slept += 50) {
        if (cl->o->stop && *cl->o->stop)
            break;
        nap_ms(wait - slept > 50 ? 50 : wait - slept);
    }
    return true;
}

static void backoff_reset(backoff *b)
{
    b->cur_ms = 100;
    b->started = time(NULL);
}

/* ---------- the send loop ---------- */

typedef enum { STEP_DONE, STEP_AGAIN, STEP_RETRY } step;

/* The NDJSON body of the pending spool events: ids [fid, lid] when
 * `range`, else the next `batch` of them (fid and lid are then set). The
 * bytes are the spooled lines, so one range always gives the same body. */
static int build_body(client *cl, bool range, int64_t *fid, int64_t *lid, buf *body, adt_err *err)
{
    sqlite3_stmt *s;
    const char *sql = range ? "SELECT id, body FROM ev WHERE state=0 AND path=?1 AND id BETWEEN ?2 "
                              "AND ?3 ORDER BY id"
                            : "SELECT id, body FROM ev WHERE state=0 AND path=?1 ORDER BY id LIMIT ?4";
    if (sqlite3_prepare_v2(cl->db, sql, -1, &s, NULL))
        return adt_fail(err, ADT_EIO, "spool: %s", sqlite3_errmsg(cl->db));
    sqlite3_bind_text(s, 1, cl->o->path, -1, SQLITE_STATIC);
    if (range) {
        sqlite3_bind_int64(s, 2, *fid);
        sqlite3_bind_int64(s, 3, *lid);
    } else {
        sqlite3_bind_int(s, 4, (int)(cl->o->batch ? cl->o->batch : 500));
        *fid = *lid = -1;
    }
    int rc = ADT_OK;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (!range) {
            if (*fid < 0)
                *fid = sqlite3_column_int64(s, 0);
            *lid = sqlite3_column_int64(s, 0);
        }
        if (buf_append(body, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1)) ||
            buf_putc(body, '\n')) {
            rc = adt_fail(err, ADT_ETOOBIG, "batch too large; lower --batch");
            break;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

/* Post spool events [fid, lid] (body `body`) under a new seq. The attempt is
 * recorded durably before the request can reach the server, in the same
 * transaction that retires `old_seq` (a resend of that attempt; 0 = none). */
static int post_batch(client *cl, int64_t fid, int64_t lid, const buf *body, uint64_t old_seq,
                      step *out, int *retry_after, adt_err *err)
{
    uint8_t bh[32];
    char bsha[65], authz[AGENTSIG_HDR_MAX], emsg[512];
    crypto_hash_sha256(bh, (const unsigned char *)body->data, body->len);
    agentsig_hex(bh, 32, bsha);
    uint64_t seq = next_seq(cl);
    if (exec1(cl->db, "BEGIN IMMEDIATE", err))
        return ADT_EIO;
    sqlite3_stmt *a;
    if (old_seq) {
        char q[128];
        snprintf(q, sizeof q, "DELETE FROM attempt WHERE seq=%llu", (unsigned long long)old_seq);
        if (exec1(cl->db, q, err)) {
            exec1(cl->db, "ROLLBACK", err);
            return ADT_EIO;
        }
    }
    if (sqlite3_prepare_v2(cl->db, "INSERT INTO attempt(seq, path, first_id, last_id, body_sha256) "
                                   "VALUES(?,?,?,?,?)", -1, &a, NULL)) {
        exec1(cl->db, "ROLLBACK", err);
        return adt_fail(err, ADT_EIO, "spool: %s", sqlite3_errmsg(cl->db));
    }
    sqlite3_bind_int64(a, 1, (sqlite3_int64)seq);
    sqlite3_bind_text(a, 2, cl->o->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(a, 3, fid);
    sqlite3_bind_int64(a, 4, lid);
    sqlite3_bind_text(a, 5, bsha, -1, SQLITE_STATIC);
    int ar = sqlite3_step(a);
    sqlite3_finalize(a);
    if (ar != SQLITE_DONE || exec1(cl->db, "COMMIT", err)) {
        exec1(cl->db, "ROLLBACK", err);
        return adt_fail(err, ADT_EIO, "spool: %s", sqlite3_errmsg(cl->db));
    }
    sign_header(cl, "POST", cl->o->path, seq, bh, authz, sizeof authz);
    cl->st->requests++;
    net_result nr = http_do(&cl->h, "POST", cl->o->path, authz, body->data, body->len,
                            "application/x-ndjson", emsg, sizeof emsg);
    if (nr != NET_OK) {
        /* Even "could not connect" may follow a send: libcurl retries a request
         * whose reused connection died on a fresh one. So the attempt stays and
         * is resolved with the server before anything is resent. */
        if (!cl->o->quiet)
            fprintf(stderr, "auditd agent send: %s; retrying (the batch is checked with the server "
                            "before it is resent)\n", emsg);
        *out = STEP_RETRY;
        return ADT_OK;
    }
    long st = cl->h.status;
    if (st == 200 || st == 201) {
        /* 200: the server had committed these bytes already (a resend): the
         * answer is the original receipt. */
        *out = STEP_AGAIN;
        return settle(cl, seq, cl->o->path, fid, lid, bsha, cl->h.resp.data, cl->h.resp.len, err);
    }
    if (st == 429 || st == 503) {
        /* Certainly not committed under this request; a resend of the same
         * bytes is safe either way (the server keeps batches by body hash). */
        drop_attempt(cl, seq);
        *retry_after = cl->h.retry_after;
        *out = STEP_RETRY;
        return ADT_OK;
    }
    if (st >= 500 || (st == 409 && strstr(cl->h.resp.data ? cl->h.resp.data : "", "\"in_flight\""))) {
        /* Outcome unknown (5xx), or the same bytes are still in flight on
         * another connection (409 in_flight): ask before resending. */
        *retry_after = cl->h.retry_after;
        *out = STEP_RETRY;
        return ADT_OK;
    }
    char m[400], why[480];
    httpc_server_msg(&cl->h, m, sizeof m);
    snprintf(why, sizeof why, "HTTP %ld: %s", st, m);
    reject_attempt(cl, seq, cl->o->path, fid, lid, why, err);
    return adt_fail(err, ADT_EINVAL, "the server refused a batch of events (spool ids %lld..%lld), "
                    "kept in the spool marked rejected: %s", (long long)fid, (long long)lid, why);
}

/* Settle one outstanding attempt by asking the server whether it committed.
 * 200: it did (settle). 409 in_flight: it is still arriving or committing
 * there: ask again later. 404: the server holds no batch for that seq and
 * none in flight: resend exactly the same events (the same bytes), which
 * the server appends at most once even if the first copy turns up after
 * all. */
static int resolve_attempt(client *cl, uint64_t aseq, const char *path, int64_t fid, int64_t lid,
                           const char *bsha, step *out, int *retry_after, adt_err *err)
{
    char p[96], authz[AGENTSIG_HDR_MAX], emsg[512];
    snprintf(p, sizeof p, "/v1/agent/batches/%llu", (unsigned long long)aseq);
    uint8_t bh[32];
    crypto_hash_sha256(bh, (const unsigned char *)"", 0);
    sign_header(cl, "GET", p, next_seq(cl), bh, authz, sizeof authz);
    cl->st->requests++;
    net_result nr = http_do(&cl->h, "GET", p, authz, NULL, 0, NULL, emsg, sizeof emsg);
    if (nr != NET_OK || cl->h.status == 409 || cl->h.status == 429 || cl->h.status == 503 ||
        cl->h.status >= 500) {
        *retry_after = nr == NET_OK ? cl->h.retry_after : 0;
        *out = STEP_RETRY;
        return ADT_OK;
    }
    if (cl->h.status == 200) {
        *out = STEP_AGAIN;
        return settle(cl, aseq, path, fid, lid, bsha, cl->h.resp.data, cl->h.resp.len, err);
    }
    if (cl->h.status == 404) {
        buf body;
        buf_init(&body, 64u << 20);
        int rc = build_body(cl, true, &fid, &lid, &body, err);
        if (!rc && body.len == 0) {
            /* Nothing of it is pending any more (settled meanwhile). */
            drop_attempt(cl, aseq);
            *out = STEP_AGAIN;
        } else if (!rc) {
            rc = post_batch(cl, fid, lid, &body, aseq, out, retry_after, err);
        }
        buf_free(&body);
        return rc;
    }
    char m[300];
    httpc_server_msg(&cl->h, m, sizeof m);
    return adt_fail(err, ADT_EINVAL, "asking about batch %llu: server answered %ld: %s",
                    (unsigned long long)aseq, cl->h.status, m);
}

static int send_step(client *cl, step *out, int *retry_after, adt_err *err)
{
    *retry_after = 0;
    sqlite3_stmt *s;
    /* 1. Outstanding attempts (unknown outcome) first. */
    if (sqlite3_prepare_v2(cl->db, "SELECT seq, path, first_id, last_id, body_sha256 FROM attempt "
                                   "ORDER BY seq LIMIT 1", -1, &s, NULL))
        return adt_fail(err, ADT_EIO, "spool: %s", sqlite3_errmsg(cl->db));
    if (sqlite3_step(s) == SQLITE_ROW) {
        uint64_t aseq = (uint64_t)sqlite3_column_int64(s, 0);
        char path[64], bsha[65];
        snprintf(path, sizeof path, "%s", (const char *)sqlite3_column_text(s, 1));
        int64_t fid = sqlite3_column_int64(s, 2), lid = sqlite3_column_int64(s, 3);
        snprintf(bsha, sizeof bsha, "%s", (const char *)sqlite3_column_text(s, 4));
        sqlite3_finalize(s);
        if (strcmp(path, "/v1/events")) {
            /* Only event batches can be looked up; resend the others. */
            drop_attempt(cl, aseq);
            *out = STEP_AGAIN;
            return ADT_OK;
        }
        return resolve_attempt(cl, aseq, path, fid, lid, bsha, out, retry_after, err);
    }
    sqlite3_finalize(s);
    /* 2. The next batch of pending events. */
    buf body;
    buf_init(&body, 64u << 20);
    int64_t fid = -1, lid = -1;
    int rc = build_body(cl, false, &fid, &lid, &body, err);
    if (!rc && fid < 0)
        *out = STEP_DONE;
    else if (!rc)
        rc = post_batch(cl, fid, lid, &body, 0, out, retry_after, err);
    buf_free(&body);
    return rc;
}

static int count_state(sqlite3 *db, int state, uint64_t *n)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM ev WHERE state=?", -1, &s, NULL))
        return ADT_EIO;
    sqlite3_bind_int(s, 1, state);
    *n = sqlite3_step(s) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return ADT_OK;
}

/* Send the spool until it is empty (with `ff`, --follow: until stopped),
 * pinning the server's key first and backing off while it is unreachable or
 * busy; with `ff`, new lines are spooled as they come. */
static int send_until_done(client *cl, FILE *ff, buf *partial, adt_err *err)
{
    const agentc_opts *o = cl->o;
    backoff b = {100, o->max_backoff_ms ? o->max_backoff_ms : 30000, time(NULL)};
    bool pinned = false;
    char key_line[NOTE_KEYLINE_MAX];
    int rc;
    for (;;) {
        if (ff) {
            clearerr(ff);
            if ((rc = spool_stream(cl, ff, partial, false, true, err)))
                return rc;
        }
        if (!pinned) {
            adt_err e2;
            int pr = pin_key(cl->db, &cl->h, key_line, sizeof key_line, &e2);
            if (pr == ADT_OK)
                pinned = true;
            else if (pr != ADT_EBUSY)
                return adt_fail(err, pr, "%s", e2.msg);
        }
        step sp = STEP_RETRY;
        int ra = 0;
        if (pinned && (rc = send_step(cl, &sp, &ra, err)))
            return rc;
        if (sp == STEP_AGAIN) {
            backoff_reset(&b);
            continue;
        }
        if (sp == STEP_DONE) {
            if (!ff || (o->stop && *o->stop))
                return ADT_OK;
            for (int i = 0; i < 4 && !(o->stop && *o->stop); i++)
                nap_ms(50);
            continue;
        }
        if (o->stop && *o->stop)
            return adt_fail(err, ADT_ESHUTDOWN, "stopped with events still pending in the spool");
        if (!backoff_wait(cl, &b, ra))
            return adt_fail(err, ADT_EBUSY, "gave up after %u s: the server is unreachable or "
                            "busy; events stay in the spool for the next run", o->give_up_s);
    }
}

int agentc_send(const agentc_opts *o, FILE *in, agentc_stats *st, adt_err *err)
{
    memset(st, 0, sizeof *st);
    if (sodium_init() < 0)
        return adt_fail(err, ADT_ECRYPTO, "libsodium failed to initialise");
    if (!agentsig_name_valid(o->name, strlen(o->name)))
        return adt_fail(err, ADT_EINVAL, "agent name must be 1..64 of [A-Za-z0-9._-]");
    client cl = {.o = o, .st = st};
    agentc_opts oo = *o;
    if (!oo.path)
        oo.path = "/v1/events";
    cl.o = &oo;
    int rc;
    cl.sk = sodium_malloc(64);
    if (!cl.sk)
        return adt_fail(err, ADT_ENOMEM, "out of secure memory");
    if ((rc = agentsig_key_load(o->key_path, cl.sk, cl.pub, err)) ||
        (rc = spool_open(o->spool_dir, &cl.db, err)) ||
        (rc = http_init(&cl.h, o->server, &o->tls, err)))
        goto out;
    char pubb64[64];
    agentsig_b64(cl.pub, 32, pubb64, sizeof pubb64);
    meta_set(cl.db, "agent_name", o->name);
    meta_set(cl.db, "agent_pub", pubb64);
    meta_set(cl.db, "server", o->server);

    FILE *ff = NULL;
    buf partial;
    buf_init(&partial, LINE_MAX_BYTES + 65536);
    if (o->follow) {
        ff = fopen(o->follow, "rb");
        if (!ff) {
            rc = adt_fail(err, ADT_EIO, "cannot open %s: %s", o->follow, strerror(errno));
            buf_free(&partial);
            goto out;
        }
        char v[32];
        uint64_t off = 0;
        if (!meta_get(cl.db, "follow_offset", v, sizeof v) && !num_u64(v, INT64_MAX, &off))
            fseeko(ff, (off_t)off, SEEK_SET);
    } else if (in) {
        /* Spool all of standard input before sending anything. */
        rc = spool_stream(&cl, in, &partial, true, false, err);
        if (rc) {
            buf_free(&partial);
            goto out;
        }
    }
    rc = send_until_done(&cl, ff, &partial, err);
    if (ff)
        fclose(ff);
    buf_free(&partial);
out:
    if (cl.db) {
        count_state(cl.db, EV_PENDING, &st->pending);
        sqlite3_close(cl.db);
    }
    httpc_free(&cl.h);
    sodium_free(cl.sk);
    return rc;
}

/* ---------- verify-receipts ---------- */

static int get_json(http *h, const char *path, const char *authz, cJSON **out, adt_err *err)
{
    char emsg[512];
    if (http_do(h, "GET", path, authz, NULL, 0, NULL, emsg, sizeof emsg) != NET_OK)
        return adt_fail(err, ADT_EIO, "GET %s: %s", path, emsg);
    if (h->status != 200) {
        char m[300];
        httpc_server_msg(h, m, sizeof m);
        return adt_fail(err, h->status == 401 || h->status == 403 ? ADT_EAUTH : ADT_EIO,
                        "GET %s answered %ld: %s", path, h->status, m);
    }
    *out = cJSON_ParseWithLength(h->resp.data, h->resp.len);
    if (!*out)
        return adt_fail(err, ADT_EINVAL, "GET %s: answer is not JSON", path);
    return ADT_OK;
}

static int unb64_hash(const char *s, merkle_hash out)
{
    adt_err e;
    return agentsig_unb64(s, strlen(s), out, MERKLE_HASH_LEN, &e);
}

static int hashes_of(const cJSON *arr, merkle_hash *out, size_t *n)
{
    *n = 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > MERKLE_MAX_PROOF)
        return ADT_EINVAL;
    const cJSON *x;
    cJSON_ArrayForEach(x, arr)
    {
        if (!cJSON_IsString(x) || unb64_hash(x->valuestring, out[*n]))
            return ADT_EINVAL;
        (*n)++;
    }
    return ADT_OK;
}

/* Check entry `idx` of a receipt: fetch the leaf, compare its payload with the
 * spooled event, check the agent's signature record, and prove inclusion at
 * (tree, root). `inl` is the receipt's inline entry or NULL. */
static int verify_entry(http *h, const char *authz, sqlite3 *db, const uint8_t agent_pub[32],
                        uint64_t idx, uint64_t seq, const char *bsha, uint64_t tree,
                        const merkle_hash root, const cJSON *inl, adt_err *err)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/log/entries/%llu", (unsigned long long)idx);
    cJSON *j = NULL;
    int rc = get_json(h, path, authz, &j, err);
    if (rc)
        return rc;
    const cJSON *lf = cJSON_GetObjectItemCaseSensitive(j, "leaf");
    size_t cap = cJSON_IsString(lf) ? strlen(lf->valuestring) : 0;
    uint8_t *leaf = malloc(cap + 1);
    size_t ll = 0;
    buf canon;
    buf_init(&canon, LINE_MAX_BYTES * 2);
    sqlite3_stmt *s = NULL;
    if (!leaf || !cap ||
        sodium_base642bin(leaf, cap, lf->valuestring, cap, NULL, &ll, NULL,
                          sodium_base64_VARIANT_ORIGINAL)) {
        rc = adt_fail(err, ADT_EINVAL, "entry %llu: leaf is not base64", (unsigned long long)idx);
        goto out;
    }
    merkle_hash lh;
    merkle_leaf_hash(leaf, ll, lh);
    /* The payload is the event this agent spooled. */
    const char *pv, *sv;
    size_t pl, sl;
    if (canon_member((const char *)leaf, ll, "payload", &pv, &pl) ||
        canon_member((const char *)leaf, ll, "sig", &sv, &sl)) {
        rc = adt_fail(err, ADT_ECORRUPT, "entry %llu: leaf lacks payload or sig", (unsigned long long)idx);
        goto out;
    }
    if (sqlite3_prepare_v2(db, "SELECT body FROM ev WHERE idx=? AND state=1 AND path='/v1/events'",
                           -1, &s, NULL) ||
        (sqlite3_bind_int64(s, 1, (sqlite3_int64)idx), sqlite3_step(s) != SQLITE_ROW)) {
        rc = adt_fail(err, ADT_ECORRUPT, "entry %llu: no acknowledged event in the spool has this "
                      "index", (unsigned long long)idx);
        goto out;
    }
    adt_err e2;
    if (event_validate(sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), NULL, &canon,
                       NULL, &e2) ||
        canon.len != pl || memcmp(canon.data, pv, pl)) {
        rc = adt_fail(err, ADT_ECORRUPT, "entry %llu: the ledger's payload differs from the event "
                      "this agent sent", (unsigned long long)idx);
        goto out;
    }
    uint8_t sbh[32];
    uint64_t sseq = 0;
    char sbhx[65];
    if ((rc = agentsig_verify_record(sv, sl, agent_pub, sbh, &sseq, &e2))) {
        rc = adt_fail(err, ADT_ECORRUPT, "entry %llu: signature record: %s", (unsigned long long)idx,
                      e2.msg);
        goto out;
    }
    agentsig_hex(sbh, 32, sbhx);
    if (sseq != seq || (bsha && strcmp(bsha, sbhx))) {
        rc = adt_fail(err, ADT_ECORRUPT, "entry %llu: signed by this agent but for another request "
                      "(seq %llu, expected %llu)", (unsigned long long)idx,
                      (unsigned long long)sseq, (unsigned long long)seq);
        goto out;
    }
    merkle_hash proof[MERKLE_MAX_PROOF];
    size_t np = 0;
    const cJSON *incl = inl ? cJSON_GetObjectItemCaseSensitive(inl, "inclusion") : NULL;
    if (inl) {
        const cJSON *ih = cJSON_GetObjectItemCaseSensitive(inl, "leaf_hash");
        merkle_hash rh;
        if (!cJSON_IsString(ih) || unb64_hash(ih->valuestring, rh) || memcmp(rh, lh, 32)) {
            rc = adt_fail(err, ADT_ECORRUPT, "entry %llu: the receipt's leaf hash is not the "
                          "leaf's", (unsigned long long)idx);
            goto out;
        }
    }
    cJSON *pj = NULL;
    if (!incl) {
        snprintf(path, sizeof path, "/v1/log/proof/inclusion?index=%llu&tree_size=%llu",
                 (unsigned long long)idx, (unsigned long long)tree);
        if ((rc = get_json(h, path, authz, &pj, err)))
            goto out;
        incl = cJSON_GetObjectItemCaseSensitive(pj, "hashes");
    }
    if (hashes_of(incl, proof, &np) || !merkle_verify_inclusion(idx, tree, lh, proof, np, root))
        rc = adt_fail(err, ADT_ECORRUPT, "entry %llu is not included in the receipt's checkpoint "
                      "(tree size %llu)", (unsigned long long)idx, (unsigned long long)tree);
    cJSON_Delete(pj);
out:
    sqlite3_finalize(s);
    buf_free(&canon);
    free(leaf);
    cJSON_Delete(j);
    return rc;
}

/* What checking the spool's receipts against the server needs: the server,
 * the spool, the log's key, the agent's key and the server's checkpoint now. */
typedef struct rcheck {
    http *h;
    sqlite3 *db;
    const char *authz, *kname;
    const uint8_t *kpub, *apub;
    uint64_t cur;
    const uint8_t *croot;
} rcheck;

/* The tree of a receipt (size `tree`, `root`) must be the current tree or a
 * prefix of it. */
static int check_prefix(const rcheck *c, uint64_t seq, uint64_t tree, const merkle_hash root,
                        adt_err *err)
{
    if (tree == c->cur) {
        if (memcmp(root, c->croot, 32))
            return adt_fail(err, ADT_ECORRUPT, "receipt for seq %llu: same tree size as now "
                            "but a different root: history was rewritten", (unsigned long long)seq);
        return ADT_OK;
    }
    char p[160];
    cJSON *pj = NULL;
    merkle_hash proof[MERKLE_MAX_PROOF];
    size_t np;
    snprintf(p, sizeof p, "/v1/log/proof/consistency?first=%llu&second=%llu",
             (unsigned long long)tree, (unsigned long long)c->cur);
    int rc = get_json(c->h, p, c->authz, &pj, err);
    if (!rc && (hashes_of(cJSON_GetObjectItemCaseSensitive(pj, "hashes"), proof, &np) ||
                !merkle_verify_consistency(tree, c->cur, root, c->croot, proof, np)))
        rc = adt_fail(err, ADT_ECORRUPT, "receipt for seq %llu: the tree of size %llu is "
                      "not a prefix of the current tree (size %llu): history was "
                      "rewritten", (unsigned long long)seq, (unsigned long long)tree,
                      (unsigned long long)c->cur);
    cJSON_Delete(pj);
    return rc;
}

/* One stored receipt (`r`, of the batch with sequence number `seq` and body
 * hash `bsha`): its checkpoint, every entry it names, and its tree against
 * the current one. */
static int check_receipt(const rcheck *c, uint64_t seq, const char *bsha, const cJSON *r,
                         agentc_vstats *st, adt_err *err)
{
    uint64_t first = 0, count = 0, tree = 0, nsize = 0;
    merkle_hash root;
    const cJSON *cp = r ? cJSON_GetObjectItemCaseSensitive(r, "checkpoint") : NULL;
    int rc;
    if (!r || json_u64(r, "first", &first) || json_u64(r, "count", &count) ||
        json_u64(r, "tree_size", &tree) || !cJSON_IsString(cp))
        return adt_fail(err, ADT_ECORRUPT, "stored receipt for seq %llu is malformed",
                        (unsigned long long)seq);
    if ((rc = note_verify_checkpoint(cp->valuestring, strlen(cp->valuestring), c->kname, c->kpub,
                                     &nsize, root, err))) {
        adt_err_prefix(err, "receipt for seq %llu: checkpoint", (unsigned long long)seq);
        return rc;
    }
    if (nsize != tree || first + count > tree)
        return adt_fail(err, ADT_ECORRUPT, "receipt for seq %llu: checkpoint size %llu does not "
                        "cover entries %llu..%llu", (unsigned long long)seq,
                        (unsigned long long)nsize, (unsigned long long)first,
                        (unsigned long long)(first + count));
    if (tree > c->cur)
        return adt_fail(err, ADT_ECORRUPT, "receipt for seq %llu has tree size %llu but the server "
                        "now shows only %llu: history was rolled back", (unsigned long long)seq,
                        (unsigned long long)tree, (unsigned long long)c->cur);
    const cJSON *ents = cJSON_GetObjectItemCaseSensitive(r, "entries");
    for (uint64_t k = 0; !rc && k < count; k++) {
        const cJSON *inl = cJSON_IsArray(ents) ? cJSON_GetArrayItem(ents, (int)k) : NULL;
        rc = verify_entry(c->h, c->authz, c->db, c->apub, first + k, seq, bsha, tree, root, inl,
                          err);
        if (!rc)
            st->entries++;
    }
    return rc ? rc : check_prefix(c, seq, tree, root, err);
}

int agentc_verify_receipts(const char *server, const char *spool_dir, const char *token,
                           const agentc_tls *tls, agentc_vstats *st, adt_err *err)
{
    memset(st, 0, sizeof *st);
    if (sodium_init() < 0)
        return adt_fail(err, ADT_ECRYPTO, "libsodium failed to initialise");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", spool_dir, AGENTC_SPOOL_FILE);
    struct stat sb;
    if (stat(path, &sb))
        return adt_fail(err, ADT_ENOTFOUND, "no spool at %s", path);
    if (!token || !*token)
        return adt_fail(err, ADT_EINVAL, "entries and proofs need an auditor token: --token T or "
                        "AUDITD_TOKEN");
    sqlite3 *db = NULL;
    http h;
    memset(&h, 0, sizeof h);
    int rc = spool_open(spool_dir, &db, err);
    if (!rc)
        rc = http_init(&h, server, tls, err);
    char key_line[NOTE_KEYLINE_MAX], kname[NOTE_ORIGIN_MAX + 2], authz[200], pubb64[64];
    uint8_t kpub[32], apub[32];
    if (!rc)
        rc = pin_key(db, &h, key_line, sizeof key_line, err);
    if (!rc)
        rc = note_key_parse(key_line, kname, sizeof kname, kpub, err);
    if (!rc && (meta_get(db, "agent_pub", pubb64, sizeof pubb64) ||
                agentsig_unb64(pubb64, strlen(pubb64), apub, 32, err)))
        rc = adt_fail(err, ADT_ENOTFOUND, "the spool has no agent key recorded (nothing was sent)");
    snprintf(authz, sizeof authz, "Bearer %s", token ? token : "");
    /* The current checkpoint. */
    uint64_t cur = 0;
    merkle_hash croot;
    char emsg[512];
    if (!rc) {
        if (http_do(&h, "GET", "/v1/log/checkpoint", NULL, NULL, 0, NULL, emsg, sizeof emsg) != NET_OK)
            rc = adt_fail(err, ADT_EIO, "%s", emsg);
        else if (h.status != 200)
            rc = adt_fail(err, ADT_EIO, "GET /v1/log/checkpoint answered %ld", h.status);
        else if ((rc = note_verify_checkpoint(h.resp.data, h.resp.len, kname, kpub, &cur, croot, err)))
            adt_err_prefix(err, "the server's current checkpoint");
    }
    st->tree_size = cur;
    sqlite3_stmt *s = NULL;
    if (!rc && sqlite3_prepare_v2(db, "SELECT seq, body_sha256, json FROM receipt WHERE first IS NOT "
                                      "NULL AND path='/v1/events' ORDER BY id", -1, &s, NULL))
        rc = adt_fail(err, ADT_EIO, "spool: %s", sqlite3_errmsg(db));
    const rcheck c = {&h, db, authz, kname, kpub, apub, cur, croot};
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(s, 0);
        const char *bsha = (const char *)sqlite3_column_text(s, 1);
        cJSON *r = cJSON_Parse((const char *)sqlite3_column_text(s, 2));
        rc = check_receipt(&c, seq, bsha, r, st, err);
        if (!rc)
            st->receipts++;
        cJSON_Delete(r);
    }
    sqlite3_finalize(s);
    if (db)
        sqlite3_close(db);
    httpc_free(&h);
    return rc;
}
