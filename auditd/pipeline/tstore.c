/* tstore.c: read access to stored telemetry (tstore.h). */
#include "tstore.h"

#include "profile.h"
#include "sqldb.h"
#include "tdb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A profile version seen in the rows, with the feature mapping of the call. */
typedef struct tprof {
    int64_t pv;
    profile *p;
    int *fidx;  /* per requested feature: field index or -1 */
    int label;  /* failure_label field index or -1 */
} tprof;

struct tstore {
    sqlite3 *db;
    bool schema1; /* tdb_schema1: predictions in their own table */
    tprof *profs;
    size_t nprofs, cap;
};

int tstore_open(const char *data_dir, tstore **out, adt_err *err)
{
    *out = NULL;
    tstore *t = calloc(1, sizeof *t);
    if (!t)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    int rc = tdb_open(data_dir, false, &t->db, err);
    if (rc) {
        free(t);
        return rc;
    }
    t->schema1 = tdb_schema1(t->db);
    *out = t;
    return ADT_OK;
}

static void clear_profs(tstore *t)
{
    for (size_t i = 0; i < t->nprofs; i++) {
        profile_free(t->profs[i].p);
        free(t->profs[i].fidx);
    }
    t->nprofs = 0;
}

void tstore_close(tstore *t)
{
    if (!t)
        return;
    clear_profs(t);
    free(t->profs);
    sqldb_close(t->db);
    free(t);
}

static int get_prof(tstore *t, int64_t pv, const char *const *features, size_t nf, tprof **out,
                    adt_err *err)
{
    for (size_t i = 0; i < t->nprofs; i++)
        if (t->profs[i].pv == pv) {
            *out = &t->profs[i];
            return ADT_OK;
        }
    sqlite3_stmt *st;
    int rc = sqldb_prepare(t->db, "SELECT json FROM profiles WHERE id=?", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, pv);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return adt_fail(err, ADT_ECORRUPT, "reading refers to missing profile version %lld",
                        (long long)pv);
    }
    if (t->nprofs == t->cap) {
        size_t c = t->cap ? t->cap * 2 : 8;
        tprof *np = realloc(t->profs, c * sizeof *np);
        if (!np) {
            sqlite3_finalize(st);
            return adt_fail(err, ADT_ENOMEM, "out of memory");
        }
        t->profs = np;
        t->cap = c;
    }
    tprof *tp = &t->profs[t->nprofs];
    memset(tp, 0, sizeof *tp);
    const char *json = (const char *)sqlite3_column_text(st, 0);
    rc = profile_parse(json, strlen(json), &tp->p, err);
    sqlite3_finalize(st);
    if (rc)
        return rc;
    tp->pv = pv;
    tp->fidx = malloc((nf ? nf : 1) * sizeof *tp->fidx);
    if (!tp->fidx) {
        profile_free(tp->p);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < nf; k++)
        tp->fidx[k] = profile_field_index(tp->p, features[k]);
    tp->label = profile_role_index(tp->p, PROFILE_ROLE_FAILURE_LABEL);
    t->nprofs++;
    *out = tp;
    return ADT_OK;
}

/* Rows of `st`: (device name, time_us, pv, packed values), and with
 * `sfn` also (prob, model, version) of the reading's prediction. Exactly one
 * of fn and sfn is set. */
static int emit2(tstore *t, sqlite3_stmt *st, const char *const *features, size_t nf,
                 tstore_row_fn fn, tstore_scored_fn sfn, void *ctx, adt_err *err)
{
    clear_profs(t);
    double *x = malloc((nf ? nf : 1) * sizeof *x);
    if (!x)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    int rc = ADT_OK, s;
    profile_value vals[PROFILE_MAX_FIELDS];
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        tprof *tp = NULL;
        rc = get_prof(t, sqlite3_column_int64(st, 2), features, nf, &tp, err);
        if (rc)
            break;
        rc = profile_unpack(tp->p, sqlite3_column_blob(st, 3),
                            (size_t)sqlite3_column_bytes(st, 3), vals, err);
        if (rc)
            break;
        for (size_t k = 0; k < nf; k++) {
            int f = tp->fidx[k];
            x[k] = (f >= 0 && vals[f].present) ? vals[f].num : NAN;
        }
        int label = -1;
        if (tp->label >= 0 && vals[tp->label].present && !isnan(vals[tp->label].num))
            label = vals[tp->label].num != 0 ? 1 : 0;
        if (sfn) {
            bool scored = sqlite3_column_type(st, 4) != SQLITE_NULL;
            rc = sfn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                     x, nf, label, scored ? sqlite3_column_double(st, 4) : NAN,
                     scored ? (const char *)sqlite3_column_text(st, 5) : NULL,
                     scored ? (const char *)sqlite3_column_text(st, 6) : NULL);
        } else {
            rc = fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                    x, nf, label);
        }
        if (rc)
            break;
    }
    if (!rc && s != SQLITE_DONE)
        rc = sqldb_fail(t->db, "reading telemetry", err);
    free(x);
    return rc;
}

static int emit(tstore *t, sqlite3_stmt *st, const char *const *features, size_t nf,
                tstore_row_fn fn, void *ctx, adt_err *err)
{
    return emit2(t, st, features, nf, fn, NULL, ctx, err);
}

int tstore_dataset_rows(tstore *t, const char *dataset, const char *const *features,
                        size_t nfeatures, tstore_row_fn fn, void *ctx, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(t->db, "SELECT 1 FROM datasets WHERE id=?", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, dataset, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!found)
        return adt_fail(err, ADT_ENOTFOUND,
                        "no dataset %.80s ('auditd dataset list' shows the defined ones)",
                        dataset);
    rc = sqldb_prepare(
        t->db,
        "SELECT d.name, r.time_us, r.pv, r.v FROM datasets ds "
        "JOIN dataset_batches db ON db.dataset = ds.id "
        "JOIN batches b ON b.id = db.batch "
        "JOIN readings r ON r.id BETWEEN b.first_row AND b.last_row "
        "JOIN devices d ON d.id = r.device "
        "WHERE ds.id = ?1 AND r.time_us >= ds.from_us AND r.time_us < ds.to_us "
        "AND (ds.devices = '[]' OR d.name IN (SELECT value FROM json_each(ds.devices))) "
        "ORDER BY r.time_us, r.id",
        &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, dataset, -1, SQLITE_STATIC);
    rc = emit(t, st, features, nfeatures, fn, ctx, err);
    sqlite3_finalize(st);
    return rc;
}

/* Prepare `sql` over [from_us, to_us) (its two parameters). */
static int window_stmt(tstore *t, const char *sql, int64_t from_us, int64_t to_us,
                       sqlite3_stmt **st, adt_err *err)
{
    int rc = sqldb_prepare(t->db, sql, st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(*st, 1, from_us);
    sqlite3_bind_int64(*st, 2, to_us);
    return ADT_OK;
}

int tstore_window_rows(tstore *t, int64_t from_us, int64_t to_us, const char *const *features,
                       size_t nfeatures, tstore_row_fn fn, void *ctx, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = window_stmt(t,
                         "SELECT d.name, r.time_us, r.pv, r.v FROM readings r "
                         "JOIN devices d ON d.id = r.device "
                         "WHERE r.time_us >= ? AND r.time_us < ? ORDER BY r.time_us, r.id",
                         from_us, to_us, &st, err);
    if (rc)
        return rc;
    rc = emit(t, st, features, nfeatures, fn, ctx, err);
    sqlite3_finalize(st);
    return rc;
}

int tstore_window_scored(tstore *t, int64_t from_us, int64_t to_us,
                         const char *const *features, size_t nfeatures, tstore_scored_fn fn,
                         void *ctx, adt_err *err)
{
    /* Each reading with its prediction, if any: schema 2 keeps it in the
     * reading's row, older ones under their own id (predictions_v1, indexed
     * by reading); tdb.c. Ingestion scores a reading once. A telemetry.db
     * not yet opened for writing by this version (read-only here) still has
     * the schema 1 table. */
    sqlite3_stmt *st;
    int rc = window_stmt(t,
                         t->schema1
                             ? "SELECT d.name, r.time_us, r.pv, r.v, p.prob, p.model, p.version "
                               "FROM readings r JOIN devices d ON d.id = r.device "
                               "LEFT JOIN predictions p ON p.reading = r.id "
                               "WHERE r.time_us >= ? AND r.time_us < ? ORDER BY r.time_us, r.id"
                             : "SELECT d.name, r.time_us, r.pv, r.v, coalesce(r.prob, o.prob), "
                               "coalesce(m.model, o.model), coalesce(m.version, o.version) "
                               "FROM readings r JOIN devices d ON d.id = r.device "
                               "LEFT JOIN prediction_models m ON m.id = r.mv "
                               "LEFT JOIN predictions_v1 o ON o.reading = r.id "
                               "WHERE r.time_us >= ? AND r.time_us < ? ORDER BY r.time_us, r.id",
                         from_us, to_us, &st, err);
    if (rc)
        return rc;
    rc = emit2(t, st, features, nfeatures, NULL, fn, ctx, err);
    sqlite3_finalize(st);
    return rc;
}

int tstore_window_quarantine(tstore *t, int64_t from_us, int64_t to_us, tstore_quarantine_fn fn,
                             void *ctx, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = window_stmt(t,
                         "SELECT device, coalesce(time_us, received_us), reason, "
                         "replayed_batch IS NOT NULL FROM quarantine "
                         "WHERE coalesce(time_us, received_us) >= ? AND "
                         "coalesce(time_us, received_us) < ? ORDER BY id",
                         from_us, to_us, &st, err);
    if (rc)
        return rc;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *dev = (const char *)sqlite3_column_text(st, 0);
        rc = fn(ctx, dev ? dev : "", sqlite3_column_int64(st, 1),
                (const char *)sqlite3_column_text(st, 2), sqlite3_column_int(st, 3) != 0);
        if (rc)
            break;
    }
    if (!rc && s != SQLITE_DONE)
        rc = sqldb_fail(t->db, "reading the quarantine", err);
    sqlite3_finalize(st);
    return rc;
}
