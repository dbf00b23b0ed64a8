#include "cwitness.h"

#include "bgtask.h"
#include "codec.h"
#include "cosig.h"
#include "log.h"
#include "numparse.h"
#include "sitelog.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MOD "central"
#define POOL_MAX 16
#define PENDING_MAX 64     /* refusals waiting to be checked against their site */
#define RETRY_MAX_S 30     /* longest pause between two attempts to reach a site */
#define GIVE_UP_S 3600     /* a site unreachable for this long: the mirror's own checks remain */

typedef struct refusal refusal;

struct cwitness {
    char *conninfo;
    note_signer *signer;
    char name[NOTE_ORIGIN_MAX + 1];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cstore *idle[POOL_MAX];
    int nidle, nopen, max;
    /* Refusals to check against their site, at most one per site, worked
     * through by `checker` so that a request never waits for a site. */
    refusal *pending[PENDING_MAX];
    int npending;
    pthread_t checker;
    bool checker_started, stopping;
    pthread_cond_t checker_cv;
    atomic_ullong alerts, confirmations;
};

/* ---------- the witness identity ---------- */

int cwitness_vkey(cstore *cs, char *vkey, size_t cap, adt_err *err)
{
    PGresult *r = PQexec(cstore_conn(cs), "SELECT vkey FROM auditd_central.witness WHERE id = 1");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return cstore_fail(cs, r, err, "reading the witness key");
    int rc = ADT_OK;
    if (PQntuples(r) != 1)
        rc = adt_fail(err, ADT_ENOTFOUND, "the central tier is not a witness yet: run 'auditd "
                      "central witness init --name NAME --key-out FILE'");
    else if ((size_t)PQgetlength(r, 0, 0) >= cap)
        rc = adt_fail(err, ADT_ETOOBIG, "the witness key does not fit");
    else
        snprintf(vkey, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

int cwitness_init(cstore *cs, const char *name, const char *key_path, const char *by, char *vkey,
                  size_t cap, adt_err *err)
{
    char have[NOTE_KEYLINE_MAX];
    int rc = cwitness_vkey(cs, have, sizeof have, err);
    if (rc == ADT_OK)
        return adt_fail(err, ADT_EEXIST, "the central tier is a witness already (%s); its key "
                        "file is on the front-ends that serve it", have);
    if (rc != ADT_ENOTFOUND)
        return rc;
    uint8_t pub[32];
    cosig_key k;
    /* The name is checked (a key name) before a file is made. */
    memset(pub, 0, sizeof pub);
    if ((rc = cosig_key_make(name, pub, &k, err)))
        return rc;
    if ((rc = note_keygen(key_path, pub, err)))
        return rc;
    if ((rc = cosig_key_make(name, pub, &k, err))) {
        unlink(key_path);
        return rc;
    }
    const char *vals[4] = {name, k.vkey, (const char *)pub, by && *by ? by : "?"};
    int lens[4] = {0, 0, 32, 0};
    int fmts[4] = {0, 0, 1, 0};
    PGresult *r = PQexecParams(cstore_conn(cs),
                               "INSERT INTO auditd_central.witness (id, name, vkey, pubkey,"
                               " created_by) VALUES (1, $1, $2, $3, $4)",
                               4, NULL, vals, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = cstore_fail(cs, r, err, "recording the witness key");
        unlink(key_path); /* a key nobody recorded must not be left behind */
        if (rc == ADT_EEXIST)
            adt_fail(err, ADT_EEXIST, "another front-end made the central tier a witness at the "
                     "same moment: use its key file");
        return rc;
    }
    PQclear(r);
    snprintf(vkey, cap, "%s", k.vkey);
    return ADT_OK;
}

int cwitness_latest_of(cstore *cs, int64_t site_id, uint64_t *size, merkle_hash root, char *note,
                       size_t cap, bool *has, adt_err *err)
{
    *has = false;
    *size = 0;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)site_id);
    const char *vals[1] = {id};
    PGresult *r = PQexecParams(cstore_conn(cs),
                               "SELECT size, root, note FROM auditd_central.witness_latest"
                               " WHERE site_id = $1",
                               1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return cstore_fail(cs, r, err, "reading the checkpoint the centre cosigned");
    int rc = ADT_OK;
    if (PQntuples(r) == 1) {
        if (num_u64(PQgetvalue(r, 0, 0), INT64_MAX, size) ||
            !cstore_bytea(r, 0, 1, root, MERKLE_HASH_LEN))
            rc = adt_fail(err, ADT_ECORRUPT, "auditd_central.witness_latest holds a bad row");
        else if (note && (size_t)PQgetlength(r, 0, 2) >= cap)
            rc = adt_fail(err, ADT_ETOOBIG, "the cosigned checkpoint does not fit");
        else {
            if (note)
                snprintf(note, cap, "%s", PQgetvalue(r, 0, 2));
            *has = true;
        }
    }
    PQclear(r);
    return rc;
}

/* ---------- sessions ---------- */

static int pool_get(cwitness *w, cstore **out, adt_err *err)
{
    pthread_mutex_lock(&w->mu);
    while (w->nidle == 0 && w->nopen >= w->max)
        pthread_cond_wait(&w->cv, &w->mu);
    if (w->nidle) {
        *out = w->idle[--w->nidle];
        pthread_mutex_unlock(&w->mu);
        return ADT_OK;
    }
    w->nopen++;
    pthread_mutex_unlock(&w->mu);
    int rc = cstore_open(w->conninfo, "witness", 0, out, err);
    if (rc) {
        pthread_mutex_lock(&w->mu);
        w->nopen--;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    return rc;
}

/* A session that lost its connection is closed (the next get opens another). */
static void pool_put(cwitness *w, cstore *cs)
{
    bool ok = cstore_ok(cs);
    if (ok)
        cstore_rollback(cs);
    else
        cstore_close(cs);
    pthread_mutex_lock(&w->mu);
    if (ok)
        w->idle[w->nidle++] = cs;
    else
        w->nopen--;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int cwitness_open(const char *conninfo, const char *key_path, int sessions, cwitness **out,
                  adt_err *err)
{
    *out = NULL;
    void *h;
    char *ci;
    int rc = cstore_client_new(conninfo, sizeof(cwitness), &h, &ci, err);
    if (rc)
        return rc;
    cwitness *w = h;
    w->conninfo = ci;
    w->max = sessions <= 0 ? 4 : sessions > POOL_MAX ? POOL_MAX : sessions;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->checker_cv, NULL);
    cstore *cs = NULL;
    rc = pool_get(w, &cs, err);
    PGresult *r = NULL;
    if (!rc) {
        r = PQexec(cstore_conn(cs), "SELECT name, pubkey FROM auditd_central.witness WHERE id = 1");
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = cstore_fail(cs, r, err, "reading the witness key");
            r = NULL;
        } else if (PQntuples(r) != 1) {
            rc = adt_fail(err, ADT_ENOTFOUND, "the central tier is not a witness yet: run 'auditd "
                          "central witness init --name NAME --key-out FILE' once");
        }
    }
    uint8_t pub[32];
    if (!rc) {
        snprintf(w->name, sizeof w->name, "%s", PQgetvalue(r, 0, 0));
        if (!cstore_bytea(r, 0, 1, pub, 32))
            rc = adt_fail(err, ADT_ECORRUPT, "auditd_central.witness holds a bad key");
    }
    if (r)
        PQclear(r);
    if (!rc && (rc = note_signer_load(key_path, w->name, &w->signer, err)))
        adt_err_prefix(err, "the witness key file");
    if (!rc && sodium_memcmp(note_signer_pub(w->signer), pub, 32) != 0)
        rc = adt_fail(err, ADT_EAUTH, "%s is not the key of the central tier's witness %s (the "
                      "database records another public key): use the key file made by 'central "
                      "witness init'", key_path, w->name);
    if (cs)
        pool_put(w, cs);
    if (rc) {
        cwitness_close(w);
        return rc;
    }
    *out = w;
    return ADT_OK;
}

void cwitness_close(cwitness *w)
{
    if (!w)
        return;
    if (w->checker_started) {
        pthread_mutex_lock(&w->mu);
        w->stopping = true;
        pthread_cond_signal(&w->checker_cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->checker, NULL);
    }
    for (int i = 0; i < w->npending; i++)
        free(w->pending[i]);
    pthread_cond_destroy(&w->checker_cv);
    for (int i = 0; i < w->nidle; i++)
        cstore_close(w->idle[i]);
    note_signer_free(w->signer);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->conninfo);
    free(w);
}

const note_signer *cwitness_signer(const cwitness *w)
{
    return w->signer;
}

const char *cwitness_name(const cwitness *w)
{
    return w->name;
}

void cwitness_get_stats(cwitness *w, cwitness_stats *out)
{
    out->alerts = atomic_load(&w->alerts);
    out->confirmations = atomic_load(&w->confirmations);
}

/* ---------- witness_store_ops ---------- */

/* Runs `sql` with the one text parameter $1 = `param` on session cs. Returns the status (with
 * `what` in the message); on success OUT *out holds the rows, for the caller to PQclear. */
static int query1(cstore *cs, const char *sql, const char *param, const char *what,
                  PGresult **out, adt_err *err)
{
    const char *vals[1] = {param};
    return cstore_exec(cs, sql, 1, vals, NULL, NULL, PGRES_TUPLES_OK, out, what, err);
}

/* query1 on a session from the pool. On success OUT *cs is that session, for the caller to
 * pool_put; on failure the session is already back. */
static int pool_query1(cwitness *w, const char *sql, const char *param, const char *what,
                       cstore **cs, PGresult **out, adt_err *err)
{
    int rc = pool_get(w, cs, err);
    if (!rc && (rc = query1(*cs, sql, param, what, out, err)))
        pool_put(w, *cs);
    return rc;
}

#define LATEST_WHAT "reading the checkpoint the centre cosigned"
/* The latest checkpoint the centre cosigned for a site (size, root, note), by
 * the site's origin ($1) or, with LATEST_BY_HASH, by the hex SHA-256 of it. */
#define LATEST_SELECT                                                                              \
    "SELECT l.size, l.root, l.note FROM auditd_central.witness_latest l"                           \
    " JOIN auditd_central.sites s ON s.id = l.site_id"
#define LATEST_BY_ORIGIN LATEST_SELECT " WHERE s.origin = $1"
#define LATEST_BY_HASH LATEST_SELECT " WHERE encode(sha256(convert_to(s.origin, 'UTF8')), 'hex') = $1"

static int op_log_keys(void *ctx, const char *origin, witness_log_key *keys, size_t cap,
                       size_t *n, adt_err *err)
{
    cwitness *w = ctx;
    *n = 0;
    cstore *cs;
    PGresult *r;
    int rc = pool_query1(w, "SELECT pubkey FROM auditd_central.sites WHERE origin = $1", origin,
                         "reading the site's key", &cs, &r, err);
    if (rc)
        return rc;
    if (PQntuples(r) != 1)
        rc = ADT_ENOTFOUND;
    else if (cap < 1 || !cstore_bytea(r, 0, 0, keys[0].pub, 32))
        rc = adt_fail(err, ADT_ECORRUPT, "auditd_central.sites holds a bad key");
    else {
        /* A site's key name is its origin (docs/central.md). */
        snprintf(keys[0].name, sizeof keys[0].name, "%s", origin);
        *n = 1;
    }
    PQclear(r);
    pool_put(w, cs);
    return rc;
}

static int op_latest(void *ctx, const char *origin, uint64_t *size, merkle_hash root, bool *has,
                     adt_err *err)
{
    cwitness *w = ctx;
    *has = false;
    *size = 0;
    cstore *cs;
    PGresult *r;
    int rc = pool_query1(w, LATEST_BY_ORIGIN, origin, LATEST_WHAT, &cs, &r, err);
    if (rc)
        return rc;
    if (PQntuples(r) == 1) {
        if (num_u64(PQgetvalue(r, 0, 0), INT64_MAX, size) ||
            !cstore_bytea(r, 0, 1, root, MERKLE_HASH_LEN))
            rc = adt_fail(err, ADT_ECORRUPT, "auditd_central.witness_latest holds a bad row");
        else
            *has = true;
    }
    PQclear(r);
    pool_put(w, cs);
    return rc;
}

/* One statement, so one transaction, committed (and with PostgreSQL's default
 * synchronous_commit, flushed) before the witness answers: the UPDATE matches
 * only while the row still holds (old_size, old_root); a concurrent swap makes
 * PostgreSQL re-check that condition on the row it committed, so exactly one
 * of two racing swaps wins. The first cosignature of a site is an INSERT that
 * does nothing if another front-end inserted first. */
static int op_swap(void *ctx, const char *origin, uint64_t old_size, bool old_has,
                   const merkle_hash old_root, uint64_t size, const merkle_hash root,
                   const char *note, size_t note_len, uint64_t *current, adt_err *err)
{
    cwitness *w = ctx;
    *current = 0;
    cstore *cs;
    int rc = pool_get(w, &cs, err);
    if (rc)
        return rc;
    char os[24], ns[24];
    snprintf(os, sizeof os, "%llu", (unsigned long long)old_size);
    snprintf(ns, sizeof ns, "%llu", (unsigned long long)size);
    char *nt = malloc(note_len + 1);
    if (!nt) {
        pool_put(w, cs);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    memcpy(nt, note, note_len);
    nt[note_len] = '\0';
    const char *vals[6] = {origin, ns, (const char *)root, nt, os, (const char *)old_root};
    int lens[6] = {0, 0, MERKLE_HASH_LEN, 0, 0, MERKLE_HASH_LEN};
    int fmts[6] = {0, 0, 1, 0, 0, 1};
    PGresult *r =
        old_has
            ? PQexecParams(cstore_conn(cs),
                           "WITH u AS (UPDATE auditd_central.witness_latest SET size = $2,"
                           "  root = $3, note = $4, cosigned_at = now()"
                           "  WHERE site_id = (SELECT id FROM auditd_central.sites WHERE origin = $1)"
                           "  AND size = $5 AND root = $6 RETURNING site_id),"
                           " c AS (INSERT INTO auditd_central.cosigned (site_id, size, root, note)"
                           "  SELECT site_id, $2, $3, $4 FROM u ON CONFLICT DO NOTHING)"
                           " SELECT count(*) FROM u",
                           6, NULL, vals, lens, fmts, 0)
            : PQexecParams(cstore_conn(cs),
                           "WITH u AS (INSERT INTO auditd_central.witness_latest (site_id, size,"
                           "  root, note) SELECT id, $2, $3, $4 FROM auditd_central.sites"
                           "  WHERE origin = $1 ON CONFLICT (site_id) DO NOTHING RETURNING site_id),"
                           " c AS (INSERT INTO auditd_central.cosigned (site_id, size, root, note)"
                           "  SELECT site_id, $2, $3, $4 FROM u ON CONFLICT DO NOTHING)"
                           " SELECT count(*) FROM u",
                           4, NULL, vals, lens, fmts, 0);
    free(nt);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = cstore_fail(cs, r, err, "storing the cosigned checkpoint");
    } else {
        bool swapped = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "1");
        PQclear(r);
        if (!swapped) {
            /* On this session: a second one from the pool could wait forever
             * for sessions held by other swaps doing the same. */
            rc = query1(cs, LATEST_BY_ORIGIN, origin, LATEST_WHAT, &r, err);
            if (!rc) {
                if (PQntuples(r) == 1 && num_u64(PQgetvalue(r, 0, 0), INT64_MAX, current))
                    rc = adt_fail(err, ADT_ECORRUPT, "auditd_central.witness_latest holds a "
                                  "bad size");
                else
                    rc = ADT_ECONFLICT;
                PQclear(r);
            }
        }
    }
    pool_put(w, cs);
    return rc;
}

static const witness_store_ops ops = {op_log_keys, op_latest, op_swap};

const witness_store_ops *cwitness_ops(void)
{
    return &ops;
}

int cwitness_latest_by_hash(void *ctx, const char *hex, buf *note, adt_err *err)
{
    cwitness *w = ctx;
    cstore *cs;
    PGresult *r;
    int rc = pool_query1(w, LATEST_BY_HASH, hex, "reading the cosigned checkpoint", &cs, &r, err);
    if (rc)
        return rc;
    if (PQntuples(r) != 1)
        rc = adt_fail(err, ADT_ENOTFOUND, "the centre has cosigned no checkpoint of a site "
                      "whose origin hashes to %s", hex);
    else
        rc = buf_append(note, PQgetvalue(r, 0, 2), (size_t)PQgetlength(r, 0, 2));
    PQclear(r);
    pool_put(w, cs);
    return rc;
}

/* ---------- refusals ---------- */

static void b64_hash(const merkle_hash h, char *out, size_t cap)
{
    codec_b64(h, MERKLE_HASH_LEN, out, cap);
}

struct refusal {
    time_t first, next;              /* when it was seen, when to try the site next */
    int tries;
    cstore_site site;
    uint64_t n;                      /* the centre's latest cosigned size */
    merkle_hash rn;
    char stored[SITELOG_NOTE_MAX];   /* and its note */
    uint64_t m;                      /* the submitted checkpoint */
    merkle_hash rm;
    char submitted[SITELOG_NOTE_MAX];
    char served[SITELOG_NOTE_MAX];   /* what the site serves now (when asked) */
};

static void witness_alert(cwitness *w, cstore *cs, refusal *f, const char *kind, const char *site_note,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void witness_alert(cwitness *w, cstore *cs, refusal *f, const char *kind, const char *site_note,
                  const char *fmt, ...)
{
    char detail[ADT_ERR_MAX * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    int64_t id = 0;
    adt_err err = {0};
    if (cstore_alert_witness(cs, f->site.id, kind, f->stored, site_note, detail, &id, &err)) {
        log_msg(LOG_ERROR, MOD, "site %s: %s detected by the witness but not recorded (%s): %s",
                f->site.origin, kind, err.msg, detail);
        return;
    }
    if (id) {
        atomic_fetch_add(&w->alerts, 1);
        log_msg(LOG_ERROR, MOD, "ALERT #%lld %s (witness): site %s: %s", (long long)id, kind,
                f->site.origin, detail);
    }
}

/* What the site serves now, verified with its key. */
static int served_checkpoint(sitelog *sl, refusal *f, uint64_t *s, merkle_hash root, adt_err *err)
{
    size_t nl = 0;
    int rc = sitelog_checkpoint(sl, f->served, sizeof f->served, &nl, err);
    if (!rc)
        rc = note_verify_checkpoint(f->served, nl, f->site.origin, f->site.pub, s, root, err);
    return rc;
}

/* Check a refusal that the submitted checkpoint alone does not settle
 * against the site itself. False when the site could not be asked (again later). */
static bool confirm(cwitness *w, cstore *cs, refusal *f)
{
    bool settled = true;
    atomic_fetch_add(&w->confirmations, 1);
    char *token = NULL;
    size_t tl = 0;
    sitelog *sl = NULL;
    adt_err err = {0};
    int rc = cstore_site_token(cs, f->site.id, &token, &tl, &err);
    if (!rc) {
        rc = sitelog_open(f->site.url, token, &sl, &err);
        sodium_memzero(token, tl);
        sodium_free(token);
    }
    char a[64], b[64];
    b64_hash(f->rn, a, sizeof a);
    if (rc)
        goto unchecked;
    if (f->m > f->n) {
        /* Larger, with a proof that did not verify: can the site prove it? */
        merkle_hash proof[MERKLE_MAX_PROOF];
        size_t np = 0;
        if (sitelog_consistency(sl, f->n, f->m, proof, &np, &err) == ADT_OK) {
            if (!merkle_verify_consistency(f->n, f->m, f->rn, f->rm, proof, np))
                witness_alert(w, cs, f, "fork", f->submitted,
                      "the site's checkpoint of size %llu is not consistent with its checkpoint "
                      "of size %llu (root %s) that the centre cosigned: neither the proof "
                      "submitted to the witness nor the one the site serves verifies (its log "
                      "was rewritten or forked)",
                      (unsigned long long)f->m, (unsigned long long)f->n, a);
            goto out;
        }
        /* No proof to be had: look at what the site serves (a cut log cannot
         * prove anything from a size it no longer has). */
    }
    uint64_t s = 0;
    merkle_hash rs;
    if ((rc = served_checkpoint(sl, f, &s, rs, &err)))
        goto unchecked;
    b64_hash(rs, b, sizeof b);
    if (s < f->n)
        witness_alert(w, cs, f, "cut", f->served,
              "the site now serves a checkpoint of size %llu, below the size %llu the centre "
              "cosigned as its witness: its log was cut",
              (unsigned long long)s, (unsigned long long)f->n);
    else if (s == f->n && memcmp(rs, f->rn, MERKLE_HASH_LEN))
        witness_alert(w, cs, f, "fork", f->served,
              "the site signed two different trees of size %llu: root %s (cosigned by the "
              "centre) and root %s (served now)",
              (unsigned long long)s, a, b);
    /* else: an older checkpoint submitted again (a replay, a stale submitter)
     * while the site serves one consistent with what was cosigned. */
    goto out;
unchecked:
    if (f->tries == 0)
        log_msg(LOG_WARN, MOD, "site %s: a refused checkpoint could not be checked against the "
                "site yet (retrying): %s", f->site.origin, err.msg);
    settled = false;
out:
    sitelog_close(sl);
    return settled;
}

/* The checker thread: each pending refusal is tried when due, with backoff. */
static void *checker_main(void *arg)
{
    cwitness *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stopping) {
        time_t now = time(NULL);
        refusal *f = NULL;
        for (int i = 0; i < w->npending && !f; i++)
            if (w->pending[i]->next <= now)
                f = w->pending[i];
        if (!f) {
            struct timespec ts = bgtask_deadline_ms(1000);
            pthread_cond_timedwait(&w->checker_cv, &w->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&w->mu);
        cstore *cs = NULL;
        adt_err err = {0};
        bool settled = false;
        if (pool_get(w, &cs, &err) == ADT_OK) {
            settled = confirm(w, cs, f);
            pool_put(w, cs);
        }
        pthread_mutex_lock(&w->mu);
        f->tries++;
        int wait = f->tries > 5 ? RETRY_MAX_S : 1 << (f->tries - 1); /* 1, 2, 4 ... s */
        f->next = time(NULL) + (wait > RETRY_MAX_S ? RETRY_MAX_S : wait);
        if (!settled && time(NULL) - f->first > GIVE_UP_S) {
            log_msg(LOG_WARN, MOD, "site %s: a refused checkpoint could not be checked against "
                    "the site for an hour; left to the mirror's own checks", f->site.origin);
            settled = true;
        }
        if (settled) {
            for (int i = 0; i < w->npending; i++)
                if (w->pending[i] == f) {
                    w->pending[i] = w->pending[--w->npending];
                    break;
                }
            free(f);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Queue `f` (taken over) unless its site has one waiting already. */
static void enqueue(cwitness *w, refusal *f)
{
    f->first = f->next = time(NULL);
    pthread_mutex_lock(&w->mu);
    bool queued = false;
    for (int i = 0; i < w->npending; i++)
        if (w->pending[i]->site.id == f->site.id)
            queued = true;
    if (!queued && w->npending == PENDING_MAX)
        log_msg(LOG_WARN, MOD, "site %s: too many refusals waiting to be checked; this one is "
                "left to the mirror's own checks", f->site.origin);
    else if (!queued) {
        if (!w->checker_started &&
            pthread_create(&w->checker, NULL, checker_main, w) == 0)
            w->checker_started = true;
        if (w->checker_started) {
            w->pending[w->npending++] = f;
            f = NULL;
            pthread_cond_signal(&w->checker_cv);
        }
    }
    pthread_mutex_unlock(&w->mu);
    free(f);
}

void cwitness_after(void *ctx, const char *body, size_t len, const witness_answer *a)
{
    cwitness *w = ctx;
    /* Only refusals of a parsed checkpoint can say something about its signer:
     * 403/404 are about the request, 200 is agreement. */
    if ((a->status != 400 && a->status != 409 && a->status != 422) || !a->origin[0])
        return;
    witness_request *rq = malloc(sizeof *rq);
    note_parsed *np = malloc(sizeof *np);
    refusal *f = calloc(1, sizeof *f);
    cstore *cs = NULL;
    adt_err err = {0};
    note_checkpoint cp;
    if (!rq || !np || !f || witness_parse_request(body, len, rq, &err) ||
        note_parse(rq->note, rq->note_len, np, &err) ||
        note_checkpoint_parse(rq->note, np->text_len, &cp, &err) ||
        rq->note_len >= sizeof f->submitted)
        goto out;
    if (pool_get(w, &cs, &err)) {
        log_msg(LOG_WARN, MOD, "a refused checkpoint of %s was not looked into: %s", cp.origin,
                err.msg);
        goto out;
    }
    if (cstore_site_get(cs, cp.origin, &f->site, &err))
        goto out;
    memcpy(f->submitted, rq->note, rq->note_len);
    f->submitted[rq->note_len] = '\0';
    /* Signed by the site? Otherwise it says nothing about the site. */
    if (note_verify_checkpoint(f->submitted, rq->note_len, f->site.origin, f->site.pub, &f->m,
                               f->rm, &err))
        goto out;
    bool has = false;
    if (cwitness_latest_of(cs, f->site.id, &f->n, f->rn, f->stored, sizeof f->stored, &has,
                           &err) ||
        !has)
        goto out;
    if (f->m == f->n) {
        if (memcmp(f->rm, f->rn, MERKLE_HASH_LEN)) {
            char x[64], y[64];
            b64_hash(f->rn, x, sizeof x);
            b64_hash(f->rm, y, sizeof y);
            witness_alert(w, cs, f, "fork", f->submitted,
                  "the site signed two different trees of size %llu: root %s (cosigned by the "
                  "centre) and root %s (submitted to the witness)",
                  (unsigned long long)f->m, x, y);
        }
    } else if (f->m < f->n || a->status == 422) {
        enqueue(w, f);
        f = NULL;
    }
out:
    if (cs)
        pool_put(w, cs);
    free(rq);
    free(np);
    free(f);
}
