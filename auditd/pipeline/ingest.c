/* ingest.c: validation, storage, quarantine and ledger records of telemetry
 * batches (ingest.h). */
#include "ingest.h"

#include "canon.h"
#include "hmap.h"
#include "log.h"
#include "model.h"
#include "rfc3339.h"
#include "rline.h"
#include "rollup.h"
#include "scoreq.h"
#include "sha256.h"
#include "sqldb.h"
#include "tdb.h"
#include "vec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A loaded (latest) profile version. */
typedef struct iprof {
    int64_t pv;      /* profiles.id */
    int64_t version; /* counter */
    profile *p;
    rollup_roles roles; /* its KPI roles, for rollups */
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
    evsink sink;
    bool score;
    bool loaded;
    sqlite3_int64 data_version; /* meta 'registry' counter of the cache */
    iprof *profs;
    size_t nprofs;
    idev *devs;
    size_t ndevs;
    hmap by_name; /* device name -> index into devs, plus one */
    uint64_t stamp;
    uint64_t replay_request; /* ledger index of the request a replay answers, or EVSINK_NONE */
    sqlite3_stmt *ins_reading, *ins_readings, *ins_quar, *upd_quar_ok, *upd_quar_bad, *ins_mv,
        *sel_mv, *upd_twin, *upd_model;
    rollup_acc *rollups; /* the batch's, flushed before its commit */
    scoreq *sq;          /* scores a batch's rows while its lines are read */
    model_scorer *scorer;
    int64_t scorer_checked_us;
    char data_dir[4096];
};

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
    hmap_free(&g->by_name, NULL);
    g->profs = NULL;
    g->devs = NULL;
    g->nprofs = g->ndevs = 0;
    g->loaded = false;
}

void ingest_invalidate(ingest *g)
{
    g->loaded = false;
}

static int find_dev(const ingest *g, const char *name, size_t n)
{
    uintptr_t v = (uintptr_t)hmap_get(&g->by_name, name, n);
    return v ? (int)(v - 1) : -1;
}

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
    int rc = sqldb_prepare(g->db,
                         "SELECT id, version, json FROM profiles p WHERE version = "
                         "(SELECT MAX(version) FROM profiles q WHERE q.name=p.name)",
                         &st, err);
    if (rc)
        return rc;
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        iprof *np = vec_room(g->profs, &cap, g->nprofs, sizeof *np, 8);
        if (!np) {
            rc = adt_fail(err, ADT_ENOMEM, "out of memory");
            break;
        }
        g->profs = np;
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
        rollup_roles_of(ip->p, &ip->roles);
        g->nprofs++;
    }
    sqlite3_finalize(st);
    if (rc)
        return rc;
    rc = sqldb_prepare(g->db, "SELECT id, name, profile FROM devices ORDER BY id", &st, err);
    if (rc)
        return rc;
    cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        idev *nd = vec_room(g->devs, &cap, g->ndevs, sizeof *nd, 16);
        if (!nd) {
            rc = adt_fail(err, ADT_ENOMEM, "out of memory");
            break;
        }
        g->devs = nd;
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
    for (size_t i = 0; i < g->ndevs; i++)
        if (hmap_put(&g->by_name, g->devs[i].name, strlen(g->devs[i].name),
                     (void *)(uintptr_t)(i + 1), NULL))
            return adt_fail(err, ADT_ENOMEM, "out of memory");
    map_features(g);
    g->loaded = true;
    return ADT_OK;
}

/* Readings are inserted READING_ROWS to a statement: per-statement work
 * (cursor, statement transaction, halt) is a good part of storing one row.
 * A row carries its prediction, if scored (tdb.c). */
#define READING_ROWS 32
#define READING_COLS 7
#define INSERT_READINGS "INSERT INTO readings(device, time_us, pv, batch, v, prob, mv) VALUES"

/* `head` (an INSERT ... VALUES) followed by `rows` groups of `cols`
 * parameters, prepared. */
static int prepare_multi(sqlite3 *db, const char *head, int cols, int rows, sqlite3_stmt **out,
                         adt_err *err)
{
    buf sql;
    buf_init(&sql, 16384);
    int rc = buf_puts(&sql, head);
    for (int r = 0; !rc && r < rows; r++) {
        rc = buf_puts(&sql, r ? ",(?" : "(?");
        for (int c = 1; !rc && c < cols; c++)
            rc = buf_puts(&sql, ",?");
        if (!rc)
            rc = buf_putc(&sql, ')');
    }
    if (!rc)
        rc = buf_putc(&sql, '\0');
    rc = rc ? adt_fail(err, ADT_ENOMEM, "out of memory") : sqldb_prepare(db, sql.data, out, err);
    buf_free(&sql);
    return rc;
}

int ingest_open(const char *data_dir, const evsink *sink, bool score, ingest **out, adt_err *err)
{
    *out = NULL;
    ingest *g = calloc(1, sizeof *g);
    if (!g)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    if (sink)
        g->sink = *sink;
    g->score = score;
    g->replay_request = EVSINK_NONE;
    snprintf(g->data_dir, sizeof g->data_dir, "%s", data_dir);
    int rc = tdb_open(data_dir, true, &g->db, err);
    if (!rc)
        rc = prepare_multi(g->db, INSERT_READINGS, READING_COLS, 1, &g->ins_reading, err);
    if (!rc)
        rc = prepare_multi(g->db, INSERT_READINGS, READING_COLS, READING_ROWS, &g->ins_readings,
                           err);
    if (!rc)
        rc = sqldb_prepare(g->db, "INSERT INTO quarantine(batch, received_us, device, time_us, "
                                "reason, detail, line) VALUES(?,?,?,?,?,?,?)", &g->ins_quar, err);
    if (!rc)
        rc = sqldb_prepare(g->db, "UPDATE quarantine SET replayed_batch=? WHERE id=?",
                         &g->upd_quar_ok, err);
    if (!rc)
        rc = sqldb_prepare(g->db, "UPDATE quarantine SET reason=?, detail=? WHERE id=?",
                         &g->upd_quar_bad, err);
    if (!rc)
        rc = sqldb_prepare(g->db, "INSERT OR IGNORE INTO prediction_models(model, version) "
                                  "VALUES(?1, ?2)", &g->ins_mv, err);
    if (!rc)
        rc = sqldb_prepare(g->db, "SELECT id FROM prediction_models WHERE model = ?1 AND "
                                  "version = ?2", &g->sel_mv, err);
    if (!rc)
        rc = sqldb_prepare(g->db, "UPDATE devices SET last_seen_us=?1, last_values=?2, last_pv=?3 "
                                "WHERE id=?4 AND (last_seen_us IS NULL OR last_seen_us<=?1)",
                         &g->upd_twin, err);
    if (!rc)
        rc = sqldb_prepare(g->db, "UPDATE devices SET model_version=? WHERE id=?", &g->upd_model,
                         err);
    if (!rc)
        rc = rollup_acc_open(g->db, &g->rollups, err);
    if (!rc && score)
        rc = scoreq_start(&g->sq, err);
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
    sqlite3_finalize(g->ins_readings);
    sqlite3_finalize(g->ins_mv);
    sqlite3_finalize(g->sel_mv);
    sqlite3_finalize(g->upd_twin);
    sqlite3_finalize(g->upd_model);
    rollup_acc_close(g->rollups);
    scoreq_stop(g->sq);
    if (g->scorer)
        model_scorer_close(g->scorer);
    sqldb_close(g->db);
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

/* Rows of the batch to score, with what their rollups need. Allocated for
 * the whole batch at its start: the scoring thread reads rows while later
 * ones are added, so the arrays never move. */
typedef struct scored_rows {
    double *x;        /* n rows of nx raw features */
    float *prob;      /* their scores, written by the scoring thread */
    int *label;       /* the reading's failure label, -1: none */
    size_t n, cap, nx;
    size_t submitted; /* rows handed to the scoring thread */
} scored_rows;

#define SCORE_CHUNK 2048 /* rows per scoring job */
/* ... and near the end of the batch, so that little is left to score once
 * the last line is read (the main thread waits for that) */
#define SCORE_TAIL 256

static int scored_rows_alloc(scored_rows *s, size_t cap)
{
    s->x = malloc((cap ? cap : 1) * (s->nx ? s->nx : 1) * sizeof *s->x);
    s->prob = malloc((cap ? cap : 1) * sizeof *s->prob);
    s->label = malloc((cap ? cap : 1) * sizeof *s->label);
    s->cap = cap;
    return s->x && s->prob && s->label ? ADT_OK : ADT_ENOMEM;
}

static void scored_rows_free(scored_rows *s)
{
    free(s->x);
    free(s->prob);
    free(s->label);
}

static int add_scored(scored_rows *s, const double *row, int label)
{
    if (s->n == s->cap)
        return ADT_EINTERNAL; /* sized for the batch: cannot happen */
    memcpy(s->x + s->n * s->nx, row, s->nx * sizeof *row);
    s->label[s->n] = label;
    s->n++;
    return ADT_OK;
}

/* An accepted reading, stored once the batch's scores are in (so that its
 * row carries its prediction). */
typedef struct pending {
    int dev;         /* index into devs */
    int scored;      /* row in the batch's scored_rows, -1: not scored */
    int64_t time;
    int64_t qid;     /* quarantine row it replays, 0: none */
    size_t off, len; /* its packed values in the batch's arena */
} pending;

static void put_be64(uint8_t *b, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* rline's view of the registry: a device's profile, by name. */
static const profile *line_device(void *ctx, const char *name, size_t n, int *dev)
{
    const ingest *g = ctx;
    int d = find_dev(g, name, n);
    if (d < 0 || g->devs[d].prof < 0)
        return NULL;
    *dev = d;
    return g->profs[g->devs[d].prof].p;
}

/* Parse and validate one line (rline.h). On success out->dev and out->time
 * are set and the packed values are in `packed`. */
static profile_reason check_line(ingest *g, const char *p, size_t n, buf *packed, rline_out *out)
{
    if (n > INGEST_MAX_LINE) {
        out->devname[0] = 0;
        out->time = 0;
        snprintf(out->detail, sizeof out->detail, "line longer than %u bytes", INGEST_MAX_LINE);
        return PROFILE_R_PARSE;
    }
    return rline_check(p, n, line_device, g, packed, out);
}

/* ---- One batch, in phases ------------------------------------------------------
 * begin (transaction, registry cache, batch row) -> each line (quarantined, or
 * stored with its digest record, twin candidate and scoring row) -> scores ->
 * twins -> ledger record -> finish (batch row, commit). Any failure rolls the
 * whole batch back: nothing is stored without its ledger record. */

#define UNKNOWN_LISTED 20 /* unknown device names listed in telemetry.reject */

typedef struct batch {
    ingest *g;
    const char *actor;
    bool replay;
    int64_t now;
    ingest_result *res;
    buf packed;                /* the line being stored */
    sha256_ctx digest;         /* over the stored readings (docs/pipeline.md) */
    int64_t first_row, last_row, from, to;
    char unknown[UNKNOWN_LISTED][72];
    size_t nunknown;
    scored_rows sc;
    pending *pend;             /* the accepted readings, in order */
    size_t npend;
    buf arena;                 /* their packed values */
    double *row;               /* scratch: one row of raw features */
    const char *model, *version;
    int64_t mv;                /* prediction_models.id of model@version */
    float threshold;
    size_t nlines;
} batch;

static int batch_begin(batch *b, adt_err *err)
{
    ingest *g = b->g;
    int rc = sqldb_begin(g->db, err);
    if (!rc)
        rc = load(g, err);
    if (rc)
        return rc;
    g->stamp++;
    if (g->scorer) {
        model_scorer_features(g->scorer, &b->sc.nx);
        b->model = model_scorer_model(g->scorer);
        b->version = model_scorer_version(g->scorer);
        b->threshold = model_scorer_threshold(g->scorer);
        b->row = malloc((b->sc.nx ? b->sc.nx : 1) * sizeof *b->row);
        if (!b->row || scored_rows_alloc(&b->sc, b->nlines))
            return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    b->pend = malloc((b->nlines ? b->nlines : 1) * sizeof *b->pend);
    if (!b->pend)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    sqlite3_stmt *st;
    rc = sqldb_prepare(g->db, "INSERT INTO batches(actor, received_us) VALUES(?,?)", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, b->actor, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, b->now);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sqldb_fail(g->db, "creating the batch", err);
    sqlite3_finalize(st);
    b->res->batch_id = sqlite3_last_insert_rowid(g->db);
    return rc;
}

/* A refused line: kept whole in the quarantine with the reason (a replayed
 * one gets its reason updated). */
static int quarantine_line(batch *b, const span *sp, profile_reason r, const char *devname,
                           int64_t t, const char *detail, adt_err *err)
{
    ingest *g = b->g;
    b->res->quarantined++;
    b->res->reasons[r]++;
    if (r == PROFILE_R_UNKNOWN_DEVICE && b->nunknown < UNKNOWN_LISTED &&
        canon_utf8_valid(devname, strlen(devname))) {
        bool seen = false;
        for (size_t k = 0; k < b->nunknown && !seen; k++)
            seen = !strcmp(b->unknown[k], devname);
        if (!seen)
            snprintf(b->unknown[b->nunknown++], sizeof b->unknown[0], "%s", devname);
    }
    sqlite3_stmt *q = sp->qid ? g->upd_quar_bad : g->ins_quar;
    sqlite3_reset(q);
    if (sp->qid) {
        sqlite3_bind_text(q, 1, profile_reason_name(r), -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, detail, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 3, sp->qid);
    } else {
        sqlite3_bind_int64(q, 1, b->res->batch_id);
        sqlite3_bind_int64(q, 2, b->now);
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
    return sqlite3_step(q) == SQLITE_DONE ? ADT_OK
                                           : sqldb_fail(g->db, "quarantining a reading", err);
}

/* The digest record of a stored reading: device name NUL, time (BE64),
 * profile SHA-256 hex, packed length (BE32), packed values. */
static void digest_reading(batch *b, const idev *d, const iprof *ip, int64_t t)
{
    uint8_t hdr[12];
    put_be64(hdr, (uint64_t)t);
    size_t pl = b->packed.len;
    hdr[8] = (uint8_t)(pl >> 24);
    hdr[9] = (uint8_t)(pl >> 16);
    hdr[10] = (uint8_t)(pl >> 8);
    hdr[11] = (uint8_t)pl;
    sha256_update(&b->digest, d->name, strlen(d->name) + 1);
    sha256_update(&b->digest, hdr, 8);
    sha256_update(&b->digest, ip->p->sha256, 64);
    sha256_update(&b->digest, hdr + 8, 4);
    sha256_update(&b->digest, b->packed.data, pl);
}

/* The device's latest reading of the batch becomes its twin's. */
static int twin_candidate(batch *b, idev *d, int64_t t, adt_err *err)
{
    if (d->stamp != b->g->stamp) {
        d->stamp = b->g->stamp;
        d->last_time = INT64_MIN;
        d->scored = false;
        b->res->devices++;
    }
    if (t < d->last_time)
        return ADT_OK;
    d->last_time = t;
    buf_reset(&d->last);
    return buf_append(&d->last, b->packed.data, b->packed.len)
               ? adt_fail(err, ADT_ENOMEM, "out of memory")
               : ADT_OK;
}

/* Hand the rows not yet submitted to the scoring thread once there are at
 * least `min` of them. */
static int submit_scoring(batch *b, size_t min, adt_err *err)
{
    scored_rows *sc = &b->sc;
    size_t n = sc->n - sc->submitted;
    if (n == 0 || n < min)
        return ADT_OK;
    int rc = scoreq_submit(b->g->sq, b->g->scorer, sc->x + sc->submitted * sc->nx, n, sc->nx,
                           sc->prob + sc->submitted, err);
    if (!rc)
        sc->submitted = sc->n;
    return rc;
}

/* A valid line: kept for storing, digested, rolled up and queued for
 * scoring. */
static int accept_reading(batch *b, const span *sp, int dev, int64_t t, adt_err *err)
{
    ingest *g = b->g;
    idev *d = &g->devs[dev];
    iprof *ip = &g->profs[d->prof];
    if (b->npend == b->nlines)
        return adt_fail(err, ADT_EINTERNAL, "more readings than lines in the batch");
    pending *pd = &b->pend[b->npend++];
    *pd = (pending){.dev = dev, .scored = -1, .time = t, .qid = sp->qid, .off = b->arena.len,
                    .len = b->packed.len};
    if (buf_append(&b->arena, b->packed.data, b->packed.len))
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    b->res->accepted++;
    if (t < b->from)
        b->from = t;
    if (t > b->to)
        b->to = t;
    digest_reading(b, d, ip, t);
    int rc = twin_candidate(b, d, t, err);
    if (rc)
        return rc;
    profile_value vals[PROFILE_MAX_FIELDS];
    if (profile_unpack(ip->p, b->packed.data, b->packed.len, vals, err))
        return ADT_EINTERNAL;
    if ((rc = rollup_add(g->rollups, d->id, t, ip->p, &ip->roles, vals, err)) ||
        !b->row || !ip->feat)
        return rc;
    for (size_t k = 0; k < b->sc.nx; k++) {
        const profile_value *v = &vals[ip->feat[k]];
        b->row[k] = v->present ? v->num : NAN;
    }
    int label = -1;
    if (ip->roles.label >= 0 && vals[ip->roles.label].present)
        label = vals[ip->roles.label].num != 0;
    pd->scored = (int)b->sc.n;
    if (add_scored(&b->sc, b->row, label))
        return adt_fail(err, ADT_EINTERNAL, "more rows to score than lines in the batch");
    return submit_scoring(b, b->nlines - b->res->readings < SCORE_CHUNK ? SCORE_TAIL : SCORE_CHUNK,
                          err);
}

static int batch_line(batch *b, const span *sp, adt_err *err)
{
    rline_out lo;
    buf_reset(&b->packed);
    b->res->readings++;
    profile_reason r = check_line(b->g, sp->p, sp->n, &b->packed, &lo);
    return r == PROFILE_OK ? accept_reading(b, sp, lo.dev, lo.time, err)
                           : quarantine_line(b, sp, r, lo.devname, lo.time, lo.detail, err);
}

/* b->mv: the id of the scoring model version in prediction_models, added
 * (in the batch's transaction) the first time it scores. */
static int model_version_id(batch *b, adt_err *err)
{
    ingest *g = b->g;
    sqlite3_stmt *st[2] = {g->ins_mv, g->sel_mv};
    for (int k = 0; k < 2; k++) {
        sqlite3_reset(st[k]);
        sqlite3_bind_text(st[k], 1, b->model, -1, SQLITE_STATIC);
        sqlite3_bind_text(st[k], 2, b->version, -1, SQLITE_STATIC);
        int s = sqlite3_step(st[k]);
        if (s != (k ? SQLITE_ROW : SQLITE_DONE)) {
            int rc = sqldb_fail(g->db, "recording the model version", err);
            sqlite3_reset(st[k]);
            return rc;
        }
    }
    b->mv = sqlite3_column_int64(g->sel_mv, 0);
    sqlite3_reset(g->sel_mv);
    return ADT_OK;
}

/* The batch's scores (the scoring thread has been computing them while the
 * lines were read): wait for the last ones. */
static int batch_score(batch *b, adt_err *err)
{
    if (!b->sc.n)
        return ADT_OK;
    int rc = submit_scoring(b, 1, err);
    int wrc = scoreq_wait(b->g->sq, err);
    if (!rc)
        rc = wrc;
    return rc ? rc : model_version_id(b, err);
}

/* Bind pending reading `pd` as row `row` of statement `st`. */
static void bind_reading(batch *b, sqlite3_stmt *st, int row, const pending *pd)
{
    const ingest *g = b->g;
    const idev *d = &g->devs[pd->dev];
    int c = READING_COLS * row;
    sqlite3_bind_int64(st, c + 1, d->id);
    sqlite3_bind_int64(st, c + 2, pd->time);
    sqlite3_bind_int64(st, c + 3, g->profs[d->prof].pv);
    sqlite3_bind_int64(st, c + 4, b->res->batch_id);
    sqlite3_bind_blob(st, c + 5, b->arena.data + pd->off, (int)pd->len, SQLITE_STATIC);
    if (pd->scored >= 0) {
        sqlite3_bind_double(st, c + 6, b->sc.prob[pd->scored]);
        sqlite3_bind_int64(st, c + 7, b->mv);
    } else {
        sqlite3_bind_null(st, c + 6);
        sqlite3_bind_null(st, c + 7);
    }
}

/* After a reading is stored: its replayed quarantine row is marked, its
 * prediction counted and rolled up. */
static int after_stored(batch *b, const pending *pd, adt_err *err)
{
    ingest *g = b->g;
    if (pd->qid) {
        sqlite3_reset(g->upd_quar_ok);
        sqlite3_bind_int64(g->upd_quar_ok, 1, b->res->batch_id);
        sqlite3_bind_int64(g->upd_quar_ok, 2, pd->qid);
        if (sqlite3_step(g->upd_quar_ok) != SQLITE_DONE)
            return sqldb_fail(g->db, "marking a replayed reading", err);
    }
    if (pd->scored < 0)
        return ADT_OK;
    idev *d = &g->devs[pd->dev];
    float prob = b->sc.prob[pd->scored];
    b->res->predictions++;
    if (prob >= b->threshold)
        b->res->positives++;
    d->scored = true;
    return rollup_add_prediction(g->rollups, d->id, pd->time, b->model, b->version, prob,
                                 b->threshold, b->sc.label[pd->scored], err);
}

/* Store the accepted readings in order, READING_ROWS to a statement. One
 * transaction gives them consecutive row ids (tdb.h): checked. */
static int batch_store(batch *b, adt_err *err)
{
    ingest *g = b->g;
    size_t full = b->npend - b->npend % READING_ROWS;
    int rc = ADT_OK;
    for (size_t i = 0; !rc && i < b->npend;) {
        bool multi = i < full;
        size_t rows = multi ? READING_ROWS : 1;
        sqlite3_stmt *st = multi ? g->ins_readings : g->ins_reading;
        sqlite3_reset(st);
        for (size_t k = 0; k < rows; k++)
            bind_reading(b, st, (int)k, &b->pend[i + k]);
        if (sqlite3_step(st) != SQLITE_DONE)
            return sqldb_fail(g->db, "storing a reading", err);
        int64_t last = sqlite3_last_insert_rowid(g->db);
        if (!b->first_row)
            b->first_row = last - (int64_t)rows + 1;
        b->last_row = last;
        for (size_t k = 0; !rc && k < rows; k++)
            rc = after_stored(b, &b->pend[i + k], err);
        i += rows;
    }
    if (!rc && b->npend && b->last_row - b->first_row + 1 != (int64_t)b->npend)
        rc = adt_fail(err, ADT_EINTERNAL, "the batch's readings did not get consecutive row ids");
    return rc;
}

/* Twins: the latest reading of each device in this batch. */
static int batch_twins(batch *b, adt_err *err)
{
    ingest *g = b->g;
    buf body;
    buf_init(&body, LEDGER_MAX_LEAF);
    int rc = ADT_OK;
    for (size_t i = 0; !rc && i < g->ndevs; i++) {
        idev *d = &g->devs[i];
        if (d->stamp != g->stamp)
            continue;
        iprof *ip = &g->profs[d->prof];
        profile_value vals[PROFILE_MAX_FIELDS];
        buf_reset(&body);
        if (profile_unpack(ip->p, d->last.data, d->last.len, vals, err) ||
            profile_values_json(ip->p, vals, &body)) {
            rc = ADT_EINTERNAL;
            break;
        }
        sqlite3_reset(g->upd_twin);
        sqlite3_bind_int64(g->upd_twin, 1, d->last_time);
        sqlite3_bind_text(g->upd_twin, 2, body.data, (int)body.len, SQLITE_STATIC);
        sqlite3_bind_int64(g->upd_twin, 3, ip->pv);
        sqlite3_bind_int64(g->upd_twin, 4, d->id);
        if (sqlite3_step(g->upd_twin) != SQLITE_DONE) {
            rc = sqldb_fail(g->db, "updating a twin", err);
            break;
        }
        if (!d->scored || !b->version)
            continue;
        sqlite3_reset(g->upd_model);
        sqlite3_bind_text(g->upd_model, 1, b->version, -1, SQLITE_STATIC);
        sqlite3_bind_int64(g->upd_model, 2, d->id);
        if (sqlite3_step(g->upd_model) != SQLITE_DONE)
            rc = sqldb_fail(g->db, "updating a twin", err);
    }
    buf_free(&body);
    return rc;
}

/* The ledger record of the batch, in one append: telemetry.batch, and
 * telemetry.reject / prediction.summary when they apply. */
static int batch_record(batch *b, adt_err *err)
{
    ingest_result *res = b->res;
    evsink_event ev[3];
    size_t n = 0;
    int reject_slot = -1, pred_slot = -1;
    evsink_event *e = &ev[n++];
    evsink_begin(e, EVSINK_PIPELINE, "telemetry.batch", EVENT_WRITER_AUDITD, b->actor);
    evsink_int(e, "batch_id", res->batch_id);
    evsink_str(e, "digest", res->digest);
    evsink_uint(e, "readings", res->readings);
    evsink_uint(e, "accepted", res->accepted);
    evsink_uint(e, "quarantined", res->quarantined);
    evsink_uint(e, "devices", res->devices);
    evsink_bool(e, "replay", b->replay);
    if (res->accepted) {
        evsink_time(e, "from", b->from);
        evsink_time(e, "to", b->to);
    }
    if (b->replay && b->g->replay_request != EVSINK_NONE)
        evsink_index(e, "request", b->g->replay_request); /* the person's quarantine.replay */
    if (res->quarantined && !b->replay) {
        reject_slot = (int)n;
        e = &ev[n++];
        evsink_begin(e, EVSINK_PIPELINE, "telemetry.reject", EVENT_WRITER_AUDITD, b->actor);
        evsink_int(e, "batch_id", res->batch_id);
        evsink_uint(e, "count", res->quarantined);
        evsink_object(e, "reasons");
        for (int r = 1; r < PROFILE_R_COUNT; r++)
            if (res->reasons[r])
                evsink_uint(e, profile_reason_name((profile_reason)r), res->reasons[r]);
        evsink_end(e);
        evsink_array(e, "unknown_devices");
        for (size_t u = 0; u < b->nunknown; u++)
            evsink_str(e, NULL, b->unknown[u]);
        evsink_end(e);
    }
    if (res->predictions) {
        pred_slot = (int)n;
        e = &ev[n++];
        evsink_begin(e, EVSINK_PIPELINE, "prediction.summary", EVENT_WRITER_AUDITD, b->actor);
        evsink_str(e, "model", b->model);
        evsink_str(e, "version", b->version);
        evsink_str(e, "input_digest", res->digest);
        evsink_int(e, "batch_id", res->batch_id);
        evsink_uint(e, "count", res->predictions);
        evsink_uint(e, "positives", res->positives);
    }
    uint64_t first;
    int rc = evsink_record(&b->g->sink, ev, n, &first, err);
    for (size_t i = 0; i < n; i++)
        evsink_free(&ev[i]);
    if (rc) {
        adt_err_prefix(err, "recording the batch in the ledger (nothing stored)");
        return rc;
    }
    if (first != EVSINK_NONE) {
        res->batch_index = first;
        if (reject_slot >= 0)
            res->reject_index = first + (uint64_t)reject_slot;
        if (pred_slot >= 0)
            res->pred_index = first + (uint64_t)pred_slot;
    }
    return ADT_OK;
}

/* The batch row gets its counts, row range, digest and ledger indices; commit. */
static int batch_finish(batch *b, adt_err *err)
{
    ingest *g = b->g;
    ingest_result *res = b->res;
    sqlite3_stmt *st;
    int rc = sqldb_prepare(g->db,
                           "UPDATE batches SET readings=?, accepted=?, quarantined=?, first_row=?, "
                           "last_row=?, from_us=?, to_us=?, devices=?, digest=?, ledger_index=?, "
                           "reject_index=?, pred_index=?, pred_model=?, pred_version=? WHERE id=?",
                           &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)res->readings);
    sqlite3_bind_int64(st, 2, (int64_t)res->accepted);
    sqlite3_bind_int64(st, 3, (int64_t)res->quarantined);
    if (res->accepted) {
        sqlite3_bind_int64(st, 4, b->first_row);
        sqlite3_bind_int64(st, 5, b->last_row);
        sqlite3_bind_int64(st, 6, b->from);
        sqlite3_bind_int64(st, 7, b->to);
    }
    sqlite3_bind_int64(st, 8, (int64_t)res->devices);
    sqlite3_bind_text(st, 9, res->digest, -1, SQLITE_STATIC);
    uint64_t idx[3] = {res->batch_index, res->reject_index, res->pred_index};
    for (int i = 0; i < 3; i++)
        if (idx[i] != EVSINK_NONE)
            sqlite3_bind_int64(st, 10 + i, (int64_t)idx[i]);
    if (res->predictions) {
        sqlite3_bind_text(st, 13, b->model, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 14, b->version, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 15, res->batch_id);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sqldb_fail(g->db, "recording the batch", err);
    sqlite3_finalize(st);
    if (!rc)
        rc = rollup_flush(g->rollups, err);
    return rc ? rc : sqldb_exec(g->db, "COMMIT", "committing the batch", err);
}

static int run_batch(ingest *g, const char *actor, const span *lines, size_t nlines,
                     bool replay, ingest_result *res, adt_err *err)
{
    memset(res, 0, sizeof *res);
    res->batch_index = res->reject_index = res->pred_index = EVSINK_NONE;
    if (nlines > INGEST_MAX_READINGS)
        return adt_fail(err, ADT_ETOOBIG, "batch of %zu readings: at most %d per batch", nlines,
                        INGEST_MAX_READINGS);
    refresh_scorer(g);
    batch b = {.g = g, .actor = actor, .replay = replay, .now = rfc3339_now_us(), .res = res,
               .from = INT64_MAX, .to = INT64_MIN, .threshold = 0.5f, .nlines = nlines};
    buf_init(&b.packed, INGEST_MAX_LINE);
    buf_init(&b.arena, (size_t)1 << 40); /* at most the packed values of nlines lines */
    sha256_init(&b.digest);
    int rc = batch_begin(&b, err);
    for (size_t i = 0; !rc && i < nlines; i++)
        rc = batch_line(&b, &lines[i], err);
    if (!rc)
        rc = batch_score(&b, err);
    if (!rc)
        rc = batch_store(&b, err);
    if (!rc)
        rc = batch_twins(&b, err);
    if (!rc) {
        sha256_final_hex(&b.digest, res->digest);
        rc = batch_record(&b, err);
    }
    if (!rc)
        rc = batch_finish(&b, err);
    if (rc) {
        sqldb_rollback(g->db);
        rollup_discard(g->rollups);
        /* The cache may hold state of the rolled back batch (twins): reload. */
        g->loaded = false;
    }
    if (b.sc.submitted && g->sq)
        scoreq_wait(g->sq, NULL); /* no job may still read the rows freed here */
    buf_free(&b.packed);
    buf_free(&b.arena);
    free(b.pend);
    scored_rows_free(&b.sc);
    free(b.row);
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
    return ingest_replay_requested(g, actor, EVSINK_NONE, limit, res, err);
}

int ingest_replay_requested(ingest *g, const char *actor, uint64_t request, size_t limit,
                            ingest_result *res, adt_err *err)
{
    if (limit == 0 || limit > INGEST_MAX_READINGS)
        limit = INGEST_MAX_READINGS;
    sqlite3_stmt *st;
    int rc = sqldb_prepare(g->db, "SELECT id, line FROM quarantine WHERE replayed_batch IS NULL "
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
            res->batch_index = res->reject_index = res->pred_index = EVSINK_NONE;
        } else {
            g->replay_request = request;
            rc = run_batch(g, actor, lines, n, true, res, err);
            g->replay_request = EVSINK_NONE;
        }
    }
    for (size_t i = 0; i < n; i++)
        free((char *)lines[i].p);
    free(lines);
    return rc;
}

static int put_index(buf *out, const char *key, uint64_t v)
{
    if (v == EVSINK_NONE)
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
    for (int i = 1; i < PROFILE_R_COUNT && !rc; i++)
        if (r->reasons[i])
            rc = buf_printf(out, "%s\"%s\":%llu", k++ ? "," : "",
                            profile_reason_name((profile_reason)i),
                            (unsigned long long)r->reasons[i]);
    if (rc || buf_putc(out, '}') || put_index(out, "ledger_index", r->batch_index) ||
        put_index(out, "reject_index", r->reject_index) ||
        put_index(out, "prediction_index", r->pred_index) || buf_putc(out, '}'))
        return ADT_ETOOBIG;
    return ADT_OK;
}

/* A string column as JSON, or `otherwise` when it is NULL or not UTF-8. */
static int put_text(buf *out, const char *s, size_t n, const char *otherwise)
{
    return s && canon_utf8_valid(s, n) ? canon_put_string(out, s, n) : buf_puts(out, otherwise);
}

/* One row of the quarantine query (ingest_quarantine_json) as a JSON object,
 * after a comma unless it is row 0. The line itself is a string when it is
 * UTF-8, else its bytes in hex. */
static int quarantine_row_json(sqlite3_stmt *st, int row, buf *out)
{
    char t[40];
    rfc3339_format(sqlite3_column_int64(st, 2), t, sizeof t);
    const char *dev = (const char *)sqlite3_column_text(st, 3);
    const char *reason = (const char *)sqlite3_column_text(st, 4);
    const char *detail = (const char *)sqlite3_column_text(st, 5);
    if (buf_printf(out, "%s{\"id\":%lld,\"batch\":%lld,\"received\":\"%s\",\"device\":",
                   row ? "," : "", (long long)sqlite3_column_int64(st, 0),
                   (long long)sqlite3_column_int64(st, 1), t) ||
        put_text(out, dev, dev ? strlen(dev) : 0, "null") || buf_puts(out, ",\"reason\":") ||
        put_text(out, reason, reason ? strlen(reason) : 0, "\"\"") ||
        buf_puts(out, ",\"detail\":") ||
        put_text(out, detail, detail ? strlen(detail) : 0, "\"(not UTF-8)\""))
        return ADT_ETOOBIG;
    const char *line = sqlite3_column_blob(st, 6);
    size_t ll = (size_t)sqlite3_column_bytes(st, 6);
    int rc;
    if (canon_utf8_valid(line ? line : "", ll)) {
        rc = buf_puts(out, ",\"line\":") || canon_put_string(out, line ? line : "", ll);
    } else {
        rc = buf_puts(out, ",\"line_hex\":\"");
        for (size_t i = 0; i < ll && !rc; i++)
            rc = buf_printf(out, "%02x", (unsigned char)line[i]);
        rc = rc || buf_putc(out, '"');
    }
    if (rc)
        return ADT_ETOOBIG;
    rc = sqlite3_column_type(st, 7) == SQLITE_NULL
             ? buf_puts(out, ",\"replayed_batch\":null}")
             : buf_printf(out, ",\"replayed_batch\":%lld}", (long long)sqlite3_column_int64(st, 7));
    return rc ? ADT_ETOOBIG : ADT_OK;
}

int ingest_quarantine_json(sqlite3 *db, bool all, size_t limit, buf *out, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db,
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
    while (!rc && sqlite3_step(st) == SQLITE_ROW)
        rc = quarantine_row_json(st, n++, out);
    sqlite3_finalize(st);
    if (rc || buf_putc(out, ']'))
        return adt_fail(err, ADT_ETOOBIG, "quarantine listing too large: use a limit");
    return ADT_OK;
}
