/* ingest.c: validation, storage, quarantine and ledger records of telemetry
 * batches (ingest.h). */
#include "ingest.h"

#include "canon.h"
#include "log.h"
#include "rfc3339.h"
#include "tdb.h"

#ifdef AUDITD_HAVE_SCORER
#include "model.h"
#endif

#include <cjson/cJSON.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A loaded (latest) profile version. */
typedef struct iprof {
    int64_t pv;      /* profiles.id */
    int64_t version; /* counter */
    profile *p;
    int *feat;       /* field index per scorer feature, NULL if not scorable */
} iprof;

/* A registered device and its per-batch scratch. */
typedef struct idev {
    int64_t id;
    char *name;
    int prof;         /* index into profs, -1 if its profile is not loaded */
    uint64_t stamp;   /* batch number this scratch belongs to */
    int64_t last_time;
    buf last;         /* packed values of its latest reading in the batch */
    bool scored;
} idev;

struct ingest {
    sqlite3 *db;
    psink sink;
    bool score;
    bool loaded;
    sqlite3_int64 data_version; /* meta 'registry' counter of the cache */
    iprof *profs;
    size_t nprofs;
    idev *devs;
    size_t ndevs;
    size_t *hash; /* open addressing: device index + 1, 0 = empty */
    size_t hcap;
    uint64_t stamp;
    uint64_t replay_request; /* ledger index of the request a replay answers, or PSINK_NONE */
    sqlite3_stmt *ins_reading, *ins_quar, *upd_quar_ok, *upd_quar_bad, *ins_pred, *upd_twin,
        *upd_model;
#ifdef AUDITD_HAVE_SCORER
    model_scorer *scorer;
    int64_t scorer_checked_us;
    char data_dir[4096];
#endif
};

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void unload(ingest *g)
{
    for (size_t i = 0; i < g->nprofs; i++) {
        profile_free(g->profs[i].p);
        free(g->profs[i].feat);
    }
    free(g->profs);
    for (size_t i = 0; i < g->ndevs; i++) {
        free(g->devs[i].name);
        buf_free(&g->devs[i].last);
    }
    free(g->devs);
    free(g->hash);
    g->profs = NULL;
    g->devs = NULL;
    g->hash = NULL;
    g->nprofs = g->ndevs = g->hcap = 0;
    g->loaded = false;
}

void ingest_invalidate(ingest *g)
{
    g->loaded = false;
}

static int find_dev(const ingest *g, const char *name, size_t n)
{
    if (!g->hcap)
        return -1;
    size_t m = g->hcap - 1;
    for (size_t i = fnv(name, n) & m;; i = (i + 1) & m) {
        size_t v = g->hash[i];
        if (!v)
            return -1;
        const char *dn = g->devs[v - 1].name;
        if (strlen(dn) == n && !memcmp(dn, name, n))
            return (int)(v - 1);
    }
}

#ifdef AUDITD_HAVE_SCORER
static void map_features(ingest *g)
{
    for (size_t i = 0; i < g->nprofs; i++) {
        free(g->profs[i].feat);
        g->profs[i].feat = NULL;
    }
    if (!g->scorer)
        return;
    size_t nf;
    const char *const *names = model_scorer_features(g->scorer, &nf);
    for (size_t i = 0; i < g->nprofs; i++) {
        int *f = malloc((nf ? nf : 1) * sizeof *f);
        if (!f)
            continue;
        bool ok = true;
        for (size_t k = 0; k < nf && ok; k++) {
            f[k] = profile_field_index(g->profs[i].p, names[k]);
            ok = f[k] >= 0;
        }
        if (ok)
            g->profs[i].feat = f;
        else
            free(f);
    }
}

/* (Re)open the deployed model at most every 15 s, so a deployment made while
 * the daemon runs is picked up. */
static void refresh_scorer(ingest *g)
{
    int64_t now = rfc3339_now_us();
    if (!g->score || (g->scorer_checked_us && now - g->scorer_checked_us < 15000000))
        return;
    g->scorer_checked_us = now;
    model_scorer *s = NULL;
    adt_err e;
    int rc = model_scorer_open(g->data_dir, &s, &e);
    if (rc == ADT_ENOTFOUND) {
        if (g->scorer)
            model_scorer_close(g->scorer);
        g->scorer = NULL;
    } else if (rc) {
        log_msg(LOG_WARN, "pipeline", "not scoring: %s", e.msg);
    } else if (g->scorer && !strcmp(model_scorer_version(g->scorer), model_scorer_version(s)) &&
               !strcmp(model_scorer_model(g->scorer), model_scorer_model(s))) {
        model_scorer_close(s);
        return;
    } else {
        if (g->scorer)
            model_scorer_close(g->scorer);
        g->scorer = s;
    }
    map_features(g);
}
#endif

static int load(ingest *g, adt_err *err)
{
    sqlite3_stmt *gen;
    if (sqlite3_prepare_v2(g->db, "SELECT v FROM meta WHERE k = 'registry'", -1, &gen, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(gen) == SQLITE_ROW) {
            sqlite3_int64 v = sqlite3_column_int64(gen, 0);
            if (g->loaded && v != g->data_version)
                g->loaded = false;
            g->data_version = v;
        }
        sqlite3_finalize(gen);
    }
    if (g->loaded)
        return ADT_OK;
    unload(g);
    sqlite3_stmt *st;
    int rc = tdb_prepare(g->db,
                         "SELECT id, version, json FROM profiles p WHERE version = "
                         "(SELECT MAX(version) FROM profiles q WHERE q.name=p.name)",
                         &st, err);
    if (rc)
        return rc;
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (g->nprofs == cap) {
            cap = cap ? cap * 2 : 8;
            iprof *np = realloc(g->profs, cap * sizeof *np);
            if (!np) {
                rc = adt_fail(err, ADT_ENOMEM, "out of memory");
                break;
            }
            g->profs = np;
        }
        iprof *ip = &g->profs[g->nprofs];
        memset(ip, 0, sizeof *ip);
        const char *json = (const char *)sqlite3_column_text(st, 2);
        rc = profile_parse(json, strlen(json), &ip->p, err);
        if (rc) {
            adt_err_prefix(err, "stored profile");
            break;
        }
        ip->pv = sqlite3_column_int64(st, 0);
        ip->version = sqlite3_column_int64(st, 1);
        g->nprofs++;
    }
    sqlite3_finalize(st);
    if (rc)
        return rc;
    rc = tdb_prepare(g->db, "SELECT id, name, profile FROM devices ORDER BY id", &st, err);
    if (rc)
        return rc;
    cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (g->ndevs == cap) {
            cap = cap ? cap * 2 : 16;
            idev *nd = realloc(g->devs, cap * sizeof *nd);
            if (!nd) {
                rc = adt_fail(err, ADT_ENOMEM, "out of memory");
                break;
            }
            g->devs = nd;
        }
        idev *d = &g->devs[g->ndevs];
        memset(d, 0, sizeof *d);
        d->id = sqlite3_column_int64(st, 0);
        const char *nm = (const char *)sqlite3_column_text(st, 1);
        size_t nl = strlen(nm) + 1;
        d->name = malloc(nl);
        if (!d->name) {
            rc = adt_fail(err, ADT_ENOMEM, "out of memory");
            break;
        }
        memcpy(d->name, nm, nl);
        const char *pn = (const char *)sqlite3_column_text(st, 2);
        d->prof = -1;
        for (size_t i = 0; i < g->nprofs; i++)
            if (!strcmp(g->profs[i].p->name, pn))
                d->prof = (int)i;
        buf_init(&d->last, INGEST_MAX_LINE);
        g->ndevs++;
    }
    sqlite3_finalize(st);
    if (rc)
        return rc;
    g->hcap = 16;
    while (g->hcap < g->ndevs * 2)
        g->hcap *= 2;
    g->hash = calloc(g->hcap, sizeof *g->hash);
    if (!g->hash)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    for (size_t i = 0; i < g->ndevs; i++) {
        size_t m = g->hcap - 1;
        size_t h = fnv(g->devs[i].name, strlen(g->devs[i].name)) & m;
        while (g->hash[h])
            h = (h + 1) & m;
        g->hash[h] = i + 1;
    }
#ifdef AUDITD_HAVE_SCORER
    map_features(g);
#endif
    g->loaded = true;
    return ADT_OK;
}

int ingest_open(const char *data_dir, const psink *sink, bool score, ingest **out, adt_err *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return adt_fail(err, ADT_ECRYPTO, "libsodium failed to initialise");
    ingest *g = calloc(1, sizeof *g);
    if (!g)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    if (sink)
        g->sink = *sink;
    g->score = score;
    g->replay_request = PSINK_NONE;
#ifdef AUDITD_HAVE_SCORER
    snprintf(g->data_dir, sizeof g->data_dir, "%s", data_dir);
#endif
    int rc = tdb_open(data_dir, true, &g->db, err);
    if (!rc)
        rc = tdb_prepare(g->db, "INSERT INTO readings(device, time_us, pv, batch, v) "
                                "VALUES(?,?,?,?,?)", &g->ins_reading, err);
    if (!rc)
        rc = tdb_prepare(g->db, "INSERT INTO quarantine(batch, received_us, device, time_us, "
                                "reason, detail, line) VALUES(?,?,?,?,?,?,?)", &g->ins_quar, err);
    if (!rc)
        rc = tdb_prepare(g->db, "UPDATE quarantine SET replayed_batch=? WHERE id=?",
                         &g->upd_quar_ok, err);
    if (!rc)
        rc = tdb_prepare(g->db, "UPDATE quarantine SET reason=?, detail=? WHERE id=?",
                         &g->upd_quar_bad, err);
    if (!rc)
        rc = tdb_prepare(g->db, "INSERT INTO predictions(reading, device, time_us, prob, model, "
                                "version, batch) VALUES(?,?,?,?,?,?,?)", &g->ins_pred, err);
    if (!rc)
        rc = tdb_prepare(g->db, "UPDATE devices SET last_seen_us=?1, last_values=?2, last_pv=?3 "
                                "WHERE id=?4 AND (last_seen_us IS NULL OR last_seen_us<=?1)",
                         &g->upd_twin, err);
    if (!rc)
        rc = tdb_prepare(g->db, "UPDATE devices SET model_version=? WHERE id=?", &g->upd_model,
                         err);
    if (rc) {
        ingest_close(g);
        return rc;
    }
    *out = g;
    return ADT_OK;
}

void ingest_close(ingest *g)
{
    if (!g)
        return;
    unload(g);
    sqlite3_finalize(g->ins_reading);
    sqlite3_finalize(g->ins_quar);
    sqlite3_finalize(g->upd_quar_ok);
    sqlite3_finalize(g->upd_quar_bad);
    sqlite3_finalize(g->ins_pred);
    sqlite3_finalize(g->upd_twin);
    sqlite3_finalize(g->upd_model);
#ifdef AUDITD_HAVE_SCORER
    if (g->scorer)
        model_scorer_close(g->scorer);
#endif
    tdb_close(g->db);
    free(g);
}

sqlite3 *ingest_db(ingest *g)
{
    return g->db;
}

/* One input line: a span of the request body or a quarantined line. */
typedef struct span {
    const char *p;
    size_t n;
    int64_t qid; /* quarantine row being replayed, 0 for new input */
} span;

/* Scored rows of the batch. */
typedef struct scored_rows {
    double *x;
    int64_t *reading;
    int *dev;
    int64_t *time;
    size_t n, cap, nx;
} scored_rows;

static void put_be64(uint8_t *b, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* Parse and validate one line. On success *dev and *time are set and the
 * packed values are in `packed`. */
static profile_reason check_line(ingest *g, const char *p, size_t n, int *dev, int64_t *time,
                                 buf *packed, char *devname, size_t devcap, char *detail,
                                 size_t dcap)
{
    devname[0] = 0;
    *time = 0;
    cJSON *j = cJSON_ParseWithLength(p, n);
    if (!cJSON_IsObject(j)) {
        snprintf(detail, dcap, "not a JSON object");
        cJSON_Delete(j);
        return PROFILE_R_PARSE;
    }
    const cJSON *dv = NULL, *tm = NULL, *vals = NULL, *it;
    profile_reason r = PROFILE_OK;
    cJSON_ArrayForEach(it, j)
    {
        if (!strcmp(it->string, "device") && !dv)
            dv = it;
        else if (!strcmp(it->string, "time") && !tm)
            tm = it;
        else if (!strcmp(it->string, "values") && !vals)
            vals = it;
        else {
            snprintf(detail, dcap, "member '%.64s' unexpected or repeated (a reading is "
                                   "{\"device\",\"time\",\"values\"})", it->string);
            r = PROFILE_R_PARSE;
            goto out;
        }
    }
    if (!cJSON_IsString(dv) || !cJSON_IsObject(vals)) {
        snprintf(detail, dcap, "device (string) and values (object) are required");
        r = PROFILE_R_PARSE;
        goto out;
    }
    snprintf(devname, devcap, "%s", dv->valuestring);
    if (!cJSON_IsString(tm) || rfc3339_parse(tm->valuestring, strlen(tm->valuestring), time)) {
        snprintf(detail, dcap, "time must be an RFC 3339 string");
        r = PROFILE_R_TIME;
        goto out;
    }
    int d = find_dev(g, dv->valuestring, strlen(dv->valuestring));
    if (d < 0 || g->devs[d].prof < 0) {
        snprintf(detail, dcap, "device %.64s is not registered", dv->valuestring);
        r = PROFILE_R_UNKNOWN_DEVICE;
        goto out;
    }
    *dev = d;
    r = profile_validate(g->profs[g->devs[d].prof].p, vals, packed, detail, dcap);
out:
    cJSON_Delete(j);
    return r;
}

static int add_scored(scored_rows *s, const double *row, int64_t reading, int dev, int64_t t)
{
    if (s->n == s->cap) {
        size_t c = s->cap ? s->cap * 2 : 1024;
        double *x = realloc(s->x, c * s->nx * sizeof *x);
        if (x)
            s->x = x;
        int64_t *r = realloc(s->reading, c * sizeof *r);
        if (r)
            s->reading = r;
        int *d = realloc(s->dev, c * sizeof *d);
        if (d)
            s->dev = d;
        int64_t *tt = realloc(s->time, c * sizeof *tt);
        if (tt)
            s->time = tt;
        if (!x || !r || !d || !tt)
            return ADT_ENOMEM;
        s->cap = c;
    }
    memcpy(s->x + s->n * s->nx, row, s->nx * sizeof *row);
    s->reading[s->n] = reading;
    s->dev[s->n] = dev;
    s->time[s->n] = t;
    s->n++;
    return ADT_OK;
}

static int run_batch(ingest *g, const char *actor, const span *lines, size_t nlines,
                     bool replay, ingest_result *res, adt_err *err)
{
    memset(res, 0, sizeof *res);
    res->batch_index = res->reject_index = res->pred_index = PSINK_NONE;
    if (nlines > INGEST_MAX_READINGS)
        return adt_fail(err, ADT_ETOOBIG, "batch of %zu readings: at most %d per batch", nlines,
                        INGEST_MAX_READINGS);
#ifdef AUDITD_HAVE_SCORER
    refresh_scorer(g);
#endif
    int rc = tdb_exec(g->db, "BEGIN IMMEDIATE", "starting the batch", err);
    if (rc)
        return rc;
    rc = load(g, err);
    if (rc) {
        sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    g->stamp++;
    int64_t now = rfc3339_now_us();
    buf packed, ev[3], body;
    buf_init(&packed, INGEST_MAX_LINE);
    buf_init(&body, LEDGER_MAX_LEAF);
    for (int i = 0; i < 3; i++)
        buf_init(&ev[i], LEDGER_MAX_LEAF);
    scored_rows sc = {0};
    double *row = NULL;
    char unknown[20][72];
    size_t nunknown = 0;
    crypto_hash_sha256_state hs;
    crypto_hash_sha256_init(&hs);
    int64_t first_row = 0, last_row = 0, from = INT64_MAX, to = INT64_MIN;
    sqlite3_stmt *st = NULL;
    const char *model_name = NULL, *model_version = NULL;
    float threshold = 0.5f;
#ifdef AUDITD_HAVE_SCORER
    if (g->scorer) {
        model_scorer_features(g->scorer, &sc.nx);
        model_name = model_scorer_model(g->scorer);
        model_version = model_scorer_version(g->scorer);
        threshold = model_scorer_threshold(g->scorer);
        row = malloc((sc.nx ? sc.nx : 1) * sizeof *row);
        if (!row) {
            rc = adt_fail(err, ADT_ENOMEM, "out of memory");
            goto fail;
        }
    }
#endif
    rc = tdb_prepare(g->db, "INSERT INTO batches(actor, received_us) VALUES(?,?)", &st, err);
    if (rc)
        goto fail;
    sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = tdb_fail(g->db, "creating the batch", err);
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    res->batch_id = sqlite3_last_insert_rowid(g->db);

    for (size_t li = 0; li < nlines; li++) {
        const span *sp = &lines[li];
        char devname[72], detail[256];
        int dev = -1;
        int64_t t = 0;
        buf_reset(&packed);
        profile_reason r = sp->n > INGEST_MAX_LINE
                               ? (snprintf(detail, sizeof detail, "line longer than %u bytes",
                                           INGEST_MAX_LINE),
                                  devname[0] = 0, PROFILE_R_PARSE)
                               : check_line(g, sp->p, sp->n, &dev, &t, &packed, devname,
                                            sizeof devname, detail, sizeof detail);
        res->readings++;
        if (r != PROFILE_OK) {
            res->quarantined++;
            res->reasons[r]++;
            if (r == PROFILE_R_UNKNOWN_DEVICE && nunknown < 20) {
                bool seen = false;
                for (size_t k = 0; k < nunknown && !seen; k++)
                    seen = !strcmp(unknown[k], devname);
                if (!seen && canon_utf8_valid(devname, strlen(devname)))
                    snprintf(unknown[nunknown++], sizeof unknown[0], "%s", devname);
            }
            sqlite3_stmt *q = sp->qid ? g->upd_quar_bad : g->ins_quar;
            sqlite3_reset(q);
            if (sp->qid) {
                sqlite3_bind_text(q, 1, profile_reason_name(r), -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 2, detail, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(q, 3, sp->qid);
            } else {
                sqlite3_bind_int64(q, 1, res->batch_id);
                sqlite3_bind_int64(q, 2, now);
                if (devname[0])
                    sqlite3_bind_text(q, 3, devname, -1, SQLITE_TRANSIENT);
                else
                    sqlite3_bind_null(q, 3);
                if (t)
                    sqlite3_bind_int64(q, 4, t);
                else
                    sqlite3_bind_null(q, 4);
                sqlite3_bind_text(q, 5, profile_reason_name(r), -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 6, detail, -1, SQLITE_TRANSIENT);
                sqlite3_bind_blob(q, 7, sp->p, (int)sp->n, SQLITE_STATIC);
            }
            if (sqlite3_step(q) != SQLITE_DONE) {
                rc = tdb_fail(g->db, "quarantining a reading", err);
                goto fail;
            }
            continue;
        }
        idev *d = &g->devs[dev];
        iprof *ip = &g->profs[d->prof];
        sqlite3_stmt *ins = g->ins_reading;
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, d->id);
        sqlite3_bind_int64(ins, 2, t);
        sqlite3_bind_int64(ins, 3, ip->pv);
        sqlite3_bind_int64(ins, 4, res->batch_id);
        sqlite3_bind_blob(ins, 5, packed.data, (int)packed.len, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = tdb_fail(g->db, "storing a reading", err);
            goto fail;
        }
        int64_t rid = sqlite3_last_insert_rowid(g->db);
        if (!first_row)
            first_row = rid;
        last_row = rid;
        if (sp->qid) {
            sqlite3_reset(g->upd_quar_ok);
            sqlite3_bind_int64(g->upd_quar_ok, 1, res->batch_id);
            sqlite3_bind_int64(g->upd_quar_ok, 2, sp->qid);
            if (sqlite3_step(g->upd_quar_ok) != SQLITE_DONE) {
                rc = tdb_fail(g->db, "marking a replayed reading", err);
                goto fail;
            }
        }
        res->accepted++;
        if (t < from)
            from = t;
        if (t > to)
            to = t;
        /* digest record: name NUL, time (BE64), profile sha256 hex, len (BE32), packed */
        uint8_t hdr[12];
        put_be64(hdr, (uint64_t)t);
        hdr[8] = (uint8_t)(packed.len >> 24);
        hdr[9] = (uint8_t)(packed.len >> 16);
        hdr[10] = (uint8_t)(packed.len >> 8);
        hdr[11] = (uint8_t)packed.len;
        crypto_hash_sha256_update(&hs, (const uint8_t *)d->name, strlen(d->name) + 1);
        crypto_hash_sha256_update(&hs, hdr, 8);
        crypto_hash_sha256_update(&hs, (const uint8_t *)ip->p->sha256, 64);
        crypto_hash_sha256_update(&hs, hdr + 8, 4);
        crypto_hash_sha256_update(&hs, (const uint8_t *)packed.data, packed.len);
        if (d->stamp != g->stamp) {
            d->stamp = g->stamp;
            d->last_time = INT64_MIN;
            d->scored = false;
            res->devices++;
        }
        if (t >= d->last_time) {
            d->last_time = t;
            buf_reset(&d->last);
            if (buf_append(&d->last, packed.data, packed.len)) {
                rc = adt_fail(err, ADT_ENOMEM, "out of memory");
                goto fail;
            }
        }
        if (row && ip->feat) {
            profile_value vals[PROFILE_MAX_FIELDS];
            if (profile_unpack(ip->p, packed.data, packed.len, vals, err)) {
                rc = ADT_EINTERNAL;
                goto fail;
            }
            for (size_t k = 0; k < sc.nx; k++) {
                const profile_value *v = &vals[ip->feat[k]];
                row[k] = v->present ? v->num : NAN;
            }
            if (add_scored(&sc, row, rid, dev, t)) {
                rc = adt_fail(err, ADT_ENOMEM, "out of memory scoring the batch");
                goto fail;
            }
        }
    }

#ifdef AUDITD_HAVE_SCORER
    if (sc.n) {
        float *prob = malloc(sc.n * sizeof *prob);
        if (!prob) {
            rc = adt_fail(err, ADT_ENOMEM, "out of memory");
            goto fail;
        }
        rc = model_scorer_score(g->scorer, sc.x, sc.n, sc.nx, prob, err);
        for (size_t i = 0; !rc && i < sc.n; i++) {
            sqlite3_stmt *p = g->ins_pred;
            sqlite3_reset(p);
            sqlite3_bind_int64(p, 1, sc.reading[i]);
            sqlite3_bind_int64(p, 2, g->devs[sc.dev[i]].id);
            sqlite3_bind_int64(p, 3, sc.time[i]);
            sqlite3_bind_double(p, 4, prob[i]);
            sqlite3_bind_text(p, 5, model_name, -1, SQLITE_STATIC);
            sqlite3_bind_text(p, 6, model_version, -1, SQLITE_STATIC);
            sqlite3_bind_int64(p, 7, res->batch_id);
            if (sqlite3_step(p) != SQLITE_DONE)
                rc = tdb_fail(g->db, "storing a prediction", err);
            res->predictions++;
            if (prob[i] >= threshold)
                res->positives++;
            g->devs[sc.dev[i]].scored = true;
        }
        free(prob);
        if (rc)
            goto fail;
    }
#endif
    (void)threshold;

    /* Twins: the latest reading of each device in this batch. */
    for (size_t i = 0; i < g->ndevs; i++) {
        idev *d = &g->devs[i];
        if (d->stamp != g->stamp)
            continue;
        iprof *ip = &g->profs[d->prof];
        profile_value vals[PROFILE_MAX_FIELDS];
        buf_reset(&body);
        if (profile_unpack(ip->p, d->last.data, d->last.len, vals, err) ||
            profile_values_json(ip->p, vals, &body)) {
            rc = ADT_EINTERNAL;
            goto fail;
        }
        sqlite3_reset(g->upd_twin);
        sqlite3_bind_int64(g->upd_twin, 1, d->last_time);
        sqlite3_bind_text(g->upd_twin, 2, body.data, (int)body.len, SQLITE_STATIC);
        sqlite3_bind_int64(g->upd_twin, 3, ip->pv);
        sqlite3_bind_int64(g->upd_twin, 4, d->id);
        if (sqlite3_step(g->upd_twin) != SQLITE_DONE) {
            rc = tdb_fail(g->db, "updating a twin", err);
            goto fail;
        }
        if (d->scored && model_version) {
            sqlite3_reset(g->upd_model);
            sqlite3_bind_text(g->upd_model, 1, model_version, -1, SQLITE_STATIC);
            sqlite3_bind_int64(g->upd_model, 2, d->id);
            if (sqlite3_step(g->upd_model) != SQLITE_DONE) {
                rc = tdb_fail(g->db, "updating a twin", err);
                goto fail;
            }
        }
    }

    uint8_t h[32];
    crypto_hash_sha256_final(&hs, h);
    sodium_bin2hex(res->digest, sizeof res->digest, h, sizeof h);

    /* Ledger events. */
    ledger_item items[3];
    size_t nitems = 0;
    char tf[40] = "", tt[40] = "";
    if (res->accepted) {
        rfc3339_format(from, tf, sizeof tf);
        rfc3339_format(to, tt, sizeof tt);
    }
    buf_reset(&body);
    rc = buf_printf(&body,
                    "{\"batch_id\":%lld,\"digest\":\"%s\",\"readings\":%llu,\"accepted\":%llu,"
                    "\"quarantined\":%llu,\"devices\":%llu,\"replay\":%s",
                    (long long)res->batch_id, res->digest, (unsigned long long)res->readings,
                    (unsigned long long)res->accepted, (unsigned long long)res->quarantined,
                    (unsigned long long)res->devices, replay ? "true" : "false");
    if (res->accepted)
        rc |= buf_printf(&body, ",\"from\":\"%s\",\"to\":\"%s\"", tf, tt);
    if (replay && g->replay_request != PSINK_NONE)
        rc |= buf_printf(&body, ",\"request\":%llu", (unsigned long long)g->replay_request);
    rc |= buf_putc(&body, '}');
    if (rc || (rc = psink_event("telemetry.batch", actor, body.data, &ev[0], err)))
        goto fail;
    items[nitems++] = (ledger_item){PSINK_SOURCE, "telemetry.batch", ev[0].data, ev[0].len,
                                    NULL, 0, false, EVENT_WRITER_AUDITD};
    int reject_slot = -1, pred_slot = -1;
    if (res->quarantined && !replay) {
        buf_reset(&body);
        rc = buf_printf(&body, "{\"batch_id\":%lld,\"count\":%llu,\"reasons\":{",
                        (long long)res->batch_id, (unsigned long long)res->quarantined);
        int k = 0;
        for (int r = 1; r < PROFILE_R_COUNT; r++)
            if (res->reasons[r])
                rc |= buf_printf(&body, "%s\"%s\":%llu", k++ ? "," : "",
                                 profile_reason_name((profile_reason)r),
                                 (unsigned long long)res->reasons[r]);
        rc |= buf_puts(&body, "},\"unknown_devices\":[");
        for (size_t u = 0; u < nunknown; u++) {
            rc |= buf_puts(&body, u ? "," : "");
            rc |= canon_put_string(&body, unknown[u], strlen(unknown[u]));
        }
        rc |= buf_puts(&body, "]}");
        if (rc || (rc = psink_event("telemetry.reject", actor, body.data, &ev[1], err)))
            goto fail;
        reject_slot = (int)nitems;
        items[nitems++] = (ledger_item){PSINK_SOURCE, "telemetry.reject", ev[1].data, ev[1].len,
                                        NULL, 0, false, EVENT_WRITER_AUDITD};
    }
    if (res->predictions) {
        buf_reset(&body);
        rc = buf_puts(&body, "{\"model\":");
        rc |= canon_put_string(&body, model_name, strlen(model_name));
        rc |= buf_puts(&body, ",\"version\":");
        rc |= canon_put_string(&body, model_version, strlen(model_version));
        rc |= buf_printf(&body, ",\"input_digest\":\"%s\",\"batch_id\":%lld,\"count\":%llu,"
                                "\"positives\":%llu}",
                         res->digest, (long long)res->batch_id,
                         (unsigned long long)res->predictions,
                         (unsigned long long)res->positives);
        if (rc || (rc = psink_event("prediction.summary", actor, body.data, &ev[2], err)))
            goto fail;
        pred_slot = (int)nitems;
        items[nitems++] = (ledger_item){PSINK_SOURCE, "prediction.summary", ev[2].data,
                                        ev[2].len, NULL, 0, false, EVENT_WRITER_AUDITD};
    }
    uint64_t first;
    rc = psink_append(&g->sink, items, nitems, &first, err);
    if (rc) {
        adt_err_prefix(err, "recording the batch in the ledger (nothing stored)");
        goto fail;
    }
    if (first != PSINK_NONE) {
        res->batch_index = first;
        if (reject_slot >= 0)
            res->reject_index = first + (uint64_t)reject_slot;
        if (pred_slot >= 0)
            res->pred_index = first + (uint64_t)pred_slot;
    }
    rc = tdb_prepare(g->db,
                     "UPDATE batches SET readings=?, accepted=?, quarantined=?, first_row=?, "
                     "last_row=?, from_us=?, to_us=?, devices=?, digest=?, ledger_index=?, "
                     "reject_index=?, pred_index=?, pred_model=?, pred_version=? WHERE id=?",
                     &st, err);
    if (rc)
        goto fail;
    sqlite3_bind_int64(st, 1, (int64_t)res->readings);
    sqlite3_bind_int64(st, 2, (int64_t)res->accepted);
    sqlite3_bind_int64(st, 3, (int64_t)res->quarantined);
    if (res->accepted) {
        sqlite3_bind_int64(st, 4, first_row);
        sqlite3_bind_int64(st, 5, last_row);
        sqlite3_bind_int64(st, 6, from);
        sqlite3_bind_int64(st, 7, to);
    }
    sqlite3_bind_int64(st, 8, (int64_t)res->devices);
    sqlite3_bind_text(st, 9, res->digest, -1, SQLITE_STATIC);
    uint64_t idx[3] = {res->batch_index, res->reject_index, res->pred_index};
    for (int i = 0; i < 3; i++)
        if (idx[i] != PSINK_NONE)
            sqlite3_bind_int64(st, 10 + i, (int64_t)idx[i]);
    if (res->predictions) {
        sqlite3_bind_text(st, 13, model_name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 14, model_version, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 15, res->batch_id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = tdb_fail(g->db, "recording the batch", err);
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = tdb_exec(g->db, "COMMIT", "committing the batch", err);
    if (rc)
        goto fail;
    goto out;
fail:
    sqlite3_finalize(st);
    st = NULL;
    sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
    /* The cache may hold state of the rolled back batch (twins): reload. */
    g->loaded = false;
out:
    buf_free(&packed);
    buf_free(&body);
    for (int i = 0; i < 3; i++)
        buf_free(&ev[i]);
    free(sc.x);
    free(sc.reading);
    free(sc.dev);
    free(sc.time);
    free(row);
    return rc;
}

int ingest_ndjson(ingest *g, const char *actor, const char *data, size_t len,
                  ingest_result *res, adt_err *err)
{
    size_t cap = 1024, n = 0;
    span *lines = malloc(cap * sizeof *lines);
    if (!lines)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    size_t off = 0;
    while (off < len) {
        const char *p = data + off;
        const char *nl = memchr(p, '\n', len - off);
        size_t ll = nl ? (size_t)(nl - p) : len - off;
        off += ll + (nl ? 1 : 0);
        while (ll && (p[ll - 1] == '\r' || p[ll - 1] == ' ' || p[ll - 1] == '\t'))
            ll--;
        if (ll == 0)
            continue;
        if (n == INGEST_MAX_READINGS) {
            free(lines);
            memset(res, 0, sizeof *res);
            return adt_fail(err, ADT_ETOOBIG,
                            "more than %d readings in one batch: split the input",
                            INGEST_MAX_READINGS);
        }
        if (n == cap) {
            cap *= 2;
            span *nl2 = realloc(lines, cap * sizeof *lines);
            if (!nl2) {
                free(lines);
                return adt_fail(err, ADT_ENOMEM, "out of memory");
            }
            lines = nl2;
        }
        lines[n++] = (span){p, ll, 0};
    }
    int rc = run_batch(g, actor, lines, n, false, res, err);
    free(lines);
    return rc;
}

int ingest_replay(ingest *g, const char *actor, size_t limit, ingest_result *res, adt_err *err)
{
    return ingest_replay_requested(g, actor, PSINK_NONE, limit, res, err);
}

int ingest_replay_requested(ingest *g, const char *actor, uint64_t request, size_t limit,
                            ingest_result *res, adt_err *err)
{
    if (limit == 0 || limit > INGEST_MAX_READINGS)
        limit = INGEST_MAX_READINGS;
    sqlite3_stmt *st;
    int rc = tdb_prepare(g->db, "SELECT id, line FROM quarantine WHERE replayed_batch IS NULL "
                                "ORDER BY id LIMIT ?", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)limit);
    size_t cap = 256, n = 0;
    span *lines = malloc(cap * sizeof *lines);
    rc = lines ? ADT_OK : adt_fail(err, ADT_ENOMEM, "out of memory");
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap *= 2;
            span *l2 = realloc(lines, cap * sizeof *lines);
            if (!l2) {
                rc = adt_fail(err, ADT_ENOMEM, "out of memory");
                break;
            }
            lines = l2;
        }
        size_t ln = (size_t)sqlite3_column_bytes(st, 1);
        char *copy = malloc(ln + 1);
        if (!copy) {
            rc = adt_fail(err, ADT_ENOMEM, "out of memory");
            break;
        }
        memcpy(copy, sqlite3_column_blob(st, 1), ln);
        copy[ln] = 0;
        lines[n++] = (span){copy, ln, sqlite3_column_int64(st, 0)};
    }
    sqlite3_finalize(st);
    if (!rc) {
        if (n == 0) {
            memset(res, 0, sizeof *res);
            res->batch_index = res->reject_index = res->pred_index = PSINK_NONE;
        } else {
            g->replay_request = request;
            rc = run_batch(g, actor, lines, n, true, res, err);
            g->replay_request = PSINK_NONE;
        }
    }
    for (size_t i = 0; i < n; i++)
        free((char *)lines[i].p);
    free(lines);
    return rc;
}

static int put_index(buf *out, const char *key, uint64_t v)
{
    if (v == PSINK_NONE)
        return buf_printf(out, ",\"%s\":null", key);
    return buf_printf(out, ",\"%s\":%llu", key, (unsigned long long)v);
}

int ingest_result_json(const ingest_result *r, buf *out)
{
    int rc = buf_printf(out,
                        "{\"batch_id\":%lld,\"readings\":%llu,\"accepted\":%llu,"
                        "\"quarantined\":%llu,\"devices\":%llu,\"digest\":\"%s\","
                        "\"predictions\":%llu,\"positives\":%llu,\"reasons\":{",
                        (long long)r->batch_id, (unsigned long long)r->readings,
                        (unsigned long long)r->accepted, (unsigned long long)r->quarantined,
                        (unsigned long long)r->devices, r->digest,
                        (unsigned long long)r->predictions, (unsigned long long)r->positives);
    int k = 0;
    for (int i = 1; i < PROFILE_R_COUNT; i++)
        if (r->reasons[i])
            rc |= buf_printf(out, "%s\"%s\":%llu", k++ ? "," : "",
                             profile_reason_name((profile_reason)i),
                             (unsigned long long)r->reasons[i]);
    rc |= buf_putc(out, '}');
    rc |= put_index(out, "ledger_index", r->batch_index);
    rc |= put_index(out, "reject_index", r->reject_index);
    rc |= put_index(out, "prediction_index", r->pred_index);
    rc |= buf_putc(out, '}');
    return rc ? ADT_ETOOBIG : ADT_OK;
}

int ingest_quarantine_json(sqlite3 *db, bool all, size_t limit, buf *out, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = tdb_prepare(db,
                         all ? "SELECT id, batch, received_us, device, reason, detail, line, "
                               "replayed_batch FROM quarantine ORDER BY id LIMIT ?"
                             : "SELECT id, batch, received_us, device, reason, detail, line, "
                               "replayed_batch FROM quarantine WHERE replayed_batch IS NULL "
                               "ORDER BY id LIMIT ?",
                         &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, limit ? (int64_t)limit : INT64_MAX);
    rc = buf_putc(out, '[');
    int n = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        char t[40];
        rfc3339_format(sqlite3_column_int64(st, 2), t, sizeof t);
        rc |= buf_printf(out, "%s{\"id\":%lld,\"batch\":%lld,\"received\":\"%s\",\"device\":",
                         n++ ? "," : "", (long long)sqlite3_column_int64(st, 0),
                         (long long)sqlite3_column_int64(st, 1), t);
        const char *dev = (const char *)sqlite3_column_text(st, 3);
        if (dev && canon_utf8_valid(dev, strlen(dev)))
            rc |= canon_put_string(out, dev, strlen(dev));
        else
            rc |= buf_puts(out, "null");
        const char *reason = (const char *)sqlite3_column_text(st, 4);
        const char *detail = (const char *)sqlite3_column_text(st, 5);
        rc |= buf_puts(out, ",\"reason\":");
        rc |= canon_put_string(out, reason, strlen(reason));
        rc |= buf_puts(out, ",\"detail\":");
        rc |= canon_utf8_valid(detail, strlen(detail))
                  ? canon_put_string(out, detail, strlen(detail))
                  : buf_puts(out, "\"(not UTF-8)\"");
        const char *line = sqlite3_column_blob(st, 6);
        size_t ll = (size_t)sqlite3_column_bytes(st, 6);
        if (canon_utf8_valid(line ? line : "", ll)) {
            rc |= buf_puts(out, ",\"line\":");
            rc |= canon_put_string(out, line ? line : "", ll);
        } else {
            rc |= buf_puts(out, ",\"line_hex\":\"");
            for (size_t i = 0; i < ll && !rc; i++)
                rc |= buf_printf(out, "%02x", (unsigned char)line[i]);
            rc |= buf_putc(out, '"');
        }
        if (sqlite3_column_type(st, 7) == SQLITE_NULL)
            rc |= buf_puts(out, ",\"replayed_batch\":null}");
        else
            rc |= buf_printf(out, ",\"replayed_batch\":%lld}",
                             (long long)sqlite3_column_int64(st, 7));
    }
    sqlite3_finalize(st);
    rc |= buf_putc(out, ']');
    if (rc)
        return adt_fail(err, ADT_ETOOBIG, "quarantine listing too large: use a limit");
    return ADT_OK;
}
