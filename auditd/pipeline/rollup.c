/* rollup.c: hourly rollups of telemetry (rollup.h, docs/pipeline.md). */
#include "rollup.h"

#include "canon.h"
#include "hmap.h"
#include "rfc3339.h"
#include "sqldb.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { M_ENERGY = 0, M_PRODUCED = 1, M_GOOD = 2, M_COUNT = 3 };
enum { S_RUNNING = 0, S_IDLE = 1, S_DOWN = 2 };

/* Count, sum, minimum and maximum of one numeric field. */
typedef struct fstat {
    double n, sum, min, max;
} fstat;

/* One device-hour of the batch. */
typedef struct hrow {
    int64_t device, hour_us;
    uint64_t readings;
    int64_t sampled_s;
    bool has_state;
    int64_t state_s[3];
    bool has_meter[M_COUNT];
    double meter_inc[M_COUNT];
    bool has_inspection;
    uint64_t inspected, rejected;
    bool has_labels;
    uint64_t labelled, failures;
    const profile *p; /* names the fields; alive for the batch (the ingest cache) */
    fstat *fields;    /* p->nfields; n == 0 for fields not numeric or not seen */
} hrow;

/* One device-hour-model version of the batch. */
typedef struct prow {
    int64_t device, hour_us;
    char model[129], version[129];
    uint64_t predictions, positives, tp, fp, fn, tn;
} prow;

/* A device's meters: the values and time of its latest reading. */
typedef struct meters {
    int64_t device;
    int64_t time_us; /* INT64_MIN: no reading yet */
    double v[M_COUNT];
} meters;

enum {
    Q_GET_ROW, Q_PUT_ROW, Q_GET_PRED, Q_PUT_PRED, Q_GET_METERS, Q_PUT_METERS, Q_COUNT
};

static const char *const q_sql[Q_COUNT] = {
    [Q_GET_ROW] = "SELECT readings, sampled_s, running_s, idle_s, down_s, energy_kwh, produced, "
                  "good, inspected, rejected, labelled, failures, fields FROM rollups "
                  "WHERE hour_us = ?1 AND device = ?2",
    [Q_PUT_ROW] = "INSERT OR REPLACE INTO rollups(hour_us, device, readings, sampled_s, running_s, "
                  "idle_s, down_s, energy_kwh, produced, good, inspected, rejected, labelled, "
                  "failures, fields) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
    [Q_GET_PRED] = "SELECT predictions, positives, tp, fp, fn, tn FROM rollup_predictions "
                   "WHERE hour_us = ?1 AND device = ?2 AND model = ?3 AND version = ?4",
    [Q_PUT_PRED] = "INSERT OR REPLACE INTO rollup_predictions(hour_us, device, model, version, "
                   "predictions, positives, tp, fp, fn, tn) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    [Q_GET_METERS] = "SELECT time_us, energy_kwh, produced, good FROM meters WHERE device = ?1",
    [Q_PUT_METERS] = "INSERT OR REPLACE INTO meters(device, time_us, energy_kwh, produced, good) "
                     "VALUES(?1,?2,?3,?4,?5)",
};

struct rollup_acc {
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    hmap rows, preds, meters; /* keyed by (device, hour) / (device, hour) / device */
    /* the prediction rows used last, by (device, hour): the batch's readings
     * come device after device, hour after hour, so most finds skip the
     * hash of the key; cleared with preds */
    struct prow *pcache[64];
};

/* ---- Roles ------------------------------------------------------------------- */

static int numeric_role(const profile *p, profile_role role)
{
    int i = profile_role_index(p, role);
    if (i < 0)
        return -1;
    profile_type t = p->fields[i].type;
    return t == PROFILE_NUMBER || t == PROFILE_INTEGER ? i : -1;
}

void rollup_roles_of(const profile *p, rollup_roles *out)
{
    out->state = profile_role_index(p, PROFILE_ROLE_MACHINE_STATE);
    if (out->state >= 0 && p->fields[out->state].type != PROFILE_ENUM)
        out->state = -1;
    out->energy = numeric_role(p, PROFILE_ROLE_ENERGY_METER);
    out->produced = numeric_role(p, PROFILE_ROLE_PRODUCED_COUNT);
    out->good = numeric_role(p, PROFILE_ROLE_GOOD_COUNT);
    out->inspection = profile_role_index(p, PROFILE_ROLE_INSPECTION_RESULT);
    if (out->inspection >= 0 && p->fields[out->inspection].type != PROFILE_ENUM &&
        p->fields[out->inspection].type != PROFILE_BOOLEAN)
        out->inspection = -1;
    out->label = numeric_role(p, PROFILE_ROLE_FAILURE_LABEL);
    if (out->label < 0 && profile_role_index(p, PROFILE_ROLE_FAILURE_LABEL) >= 0 &&
        p->fields[profile_role_index(p, PROFILE_ROLE_FAILURE_LABEL)].type == PROFILE_BOOLEAN)
        out->label = profile_role_index(p, PROFILE_ROLE_FAILURE_LABEL);
    out->energy_kwh_per_unit = 0;
    if (out->energy >= 0) {
        const char *u = p->fields[out->energy].unit;
        out->energy_kwh_per_unit = !u ? 0 : !strcmp(u, "kWh") ? 1 : !strcmp(u, "Wh") ? 1e-3
                                            : !strcmp(u, "MWh")                   ? 1e3
                                                                                 : 0;
        if (out->energy_kwh_per_unit == 0)
            out->energy = -1;
    }
    out->interval_s = p->interval_s;
}

/* ---- Accumulating ------------------------------------------------------------- */

int rollup_acc_open(sqlite3 *db, rollup_acc **out, adt_err *err)
{
    *out = NULL;
    rollup_acc *a = calloc(1, sizeof *a);
    if (!a)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    a->db = db;
    hmap_init(&a->rows);
    hmap_init(&a->preds);
    hmap_init(&a->meters);
    int rc = ADT_OK;
    for (int i = 0; !rc && i < Q_COUNT; i++)
        rc = sqldb_prepare(db, q_sql[i], &a->q[i], err);
    if (rc) {
        rollup_acc_close(a);
        return rc;
    }
    *out = a;
    return ADT_OK;
}

static void free_row(void *v)
{
    hrow *r = v;
    if (r)
        free(r->fields);
    free(r);
}

void rollup_discard(rollup_acc *a)
{
    hmap_free(&a->rows, free_row);
    hmap_free(&a->preds, free);
    hmap_free(&a->meters, free);
    memset(a->pcache, 0, sizeof a->pcache);
}

void rollup_acc_close(rollup_acc *a)
{
    if (!a)
        return;
    rollup_discard(a);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(a->q[i]);
    free(a);
}

static int64_t hour_of(int64_t t)
{
    int64_t h = t / ROLLUP_HOUR_US;
    if (t % ROLLUP_HOUR_US < 0)
        h--; /* floor, also before 1970 */
    return h * ROLLUP_HOUR_US;
}

static hrow *row_of(rollup_acc *a, int64_t device, int64_t hour, const profile *p)
{
    int64_t key[2] = {device, hour};
    void **slot = hmap_slot_of(&a->rows, (const char *)key, sizeof key);
    if (!slot)
        return NULL;
    hrow *r = *slot;
    if (r)
        return r; /* (a device that changed profile keeps the first one's fields) */
    r = calloc(1, sizeof *r);
    fstat *f = r ? calloc(p->nfields ? p->nfields : 1, sizeof *f) : NULL;
    if (!r || !f) {
        free(r);
        free(f);
        hmap_del(&a->rows, (const char *)key, sizeof key);
        return NULL;
    }
    r->device = device;
    r->hour_us = hour;
    r->p = p;
    r->fields = f;
    *slot = r;
    return r;
}

/* The meters of `device`, loaded from telemetry.db the first time the batch
 * sees it. */
static int meters_of(rollup_acc *a, int64_t device, meters **out, adt_err *err)
{
    void **slot = hmap_slot_of(&a->meters, (const char *)&device, sizeof device);
    if (!slot)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    if ((*out = *slot))
        return ADT_OK;
    meters *m = malloc(sizeof *m);
    if (!m) {
        hmap_del(&a->meters, (const char *)&device, sizeof device);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    m->device = device;
    m->time_us = INT64_MIN;
    for (int k = 0; k < M_COUNT; k++)
        m->v[k] = NAN;
    sqlite3_stmt *q = a->q[Q_GET_METERS];
    sqlite3_reset(q);
    sqlite3_bind_int64(q, 1, device);
    int s = sqlite3_step(q);
    if (s == SQLITE_ROW) {
        m->time_us = sqlite3_column_int64(q, 0);
        for (int k = 0; k < M_COUNT; k++)
            if (sqlite3_column_type(q, 1 + k) != SQLITE_NULL)
                m->v[k] = sqlite3_column_double(q, 1 + k);
    }
    sqlite3_reset(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE) {
        free(m);
        hmap_del(&a->meters, (const char *)&device, sizeof device);
        return sqldb_fail(a->db, "reading meters", err);
    }
    *slot = *out = m;
    return ADT_OK;
}

/* The meters: each increment from the device's previous reading in time; a
 * decrease is a meter reset (the new value is the increment); a reading
 * older than the device's latest adds none. */
static void add_meters(hrow *r, meters *m, int64_t t, const rollup_roles *ro,
                       const profile_value *vals)
{
    int idx[M_COUNT] = {ro->energy, ro->produced, ro->good};
    bool later = t > m->time_us;
    for (int k = 0; k < M_COUNT; k++) {
        if (idx[k] < 0)
            continue;
        r->has_meter[k] = true;
        const profile_value *v = &vals[idx[k]];
        if (!v->present || !isfinite(v->num) || v->num < 0 || !later)
            continue;
        double x = k == M_ENERGY ? v->num * ro->energy_kwh_per_unit : v->num;
        if (!isnan(m->v[k]))
            r->meter_inc[k] += x >= m->v[k] ? x - m->v[k] : x;
        m->v[k] = x;
    }
    if (later)
        m->time_us = t;
}

int rollup_add(rollup_acc *a, int64_t device, int64_t time_us, const profile *p,
               const rollup_roles *ro, const profile_value *vals, adt_err *err)
{
    hrow *r = row_of(a, device, hour_of(time_us), p);
    if (!r)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    meters *m;
    int rc = meters_of(a, device, &m, err);
    if (rc)
        return rc;
    r->readings++;
    r->sampled_s += ro->interval_s;
    if (ro->state >= 0) {
        r->has_state = true;
        const profile_value *v = &vals[ro->state];
        if (v->present) {
            size_t n = p->fields[ro->state].n_enum, i = (size_t)v->num;
            r->state_s[i == 0 ? S_RUNNING : i + 1 == n ? S_DOWN : S_IDLE] += ro->interval_s;
        }
    }
    add_meters(r, m, time_us, ro, vals);
    if (ro->inspection >= 0) {
        r->has_inspection = true;
        const profile_value *v = &vals[ro->inspection];
        if (v->present) {
            r->inspected++;
            bool pass = p->fields[ro->inspection].type == PROFILE_BOOLEAN ? v->num != 0
                                                                          : v->num == 0;
            r->rejected += !pass;
        }
    }
    if (ro->label >= 0) {
        r->has_labels = true;
        const profile_value *v = &vals[ro->label];
        if (v->present && !isnan(v->num)) {
            r->labelled++;
            r->failures += v->num != 0;
        }
    }
    if (r->p != p)
        return ADT_OK; /* a second profile in the hour: its fields are not summed */
    for (size_t i = 0; i < p->nfields; i++) {
        profile_type t = p->fields[i].type;
        const profile_value *v = &vals[i];
        if ((t != PROFILE_NUMBER && t != PROFILE_INTEGER) || !v->present || !isfinite(v->num))
            continue;
        fstat *f = &r->fields[i];
        if (f->n == 0 || v->num < f->min)
            f->min = v->num;
        if (f->n == 0 || v->num > f->max)
            f->max = v->num;
        f->n++;
        f->sum += v->num;
    }
    return ADT_OK;
}

int rollup_add_prediction(rollup_acc *a, int64_t device, int64_t time_us, const char *model,
                          const char *version, double prob, double threshold, int label,
                          adt_err *err)
{
    int64_t dh[2] = {device, hour_of(time_us)};
    prow **cached = &a->pcache[((uint64_t)device * 31u + (uint64_t)(dh[1] / ROLLUP_HOUR_US)) & 63u];
    prow *r = *cached;
    if (!r || r->device != device || r->hour_us != dh[1] || strcmp(r->model, model) ||
        strcmp(r->version, version)) {
        /* key: device, hour, model NUL version */
        char key[16 + 2 * 129];
        size_t ml = strlen(model), vl = strlen(version);
        if (ml > 128 || vl > 128)
            return adt_fail(err, ADT_EINVAL, "model name or version longer than 128 bytes");
        memcpy(key, dh, 16);
        memcpy(key + 16, model, ml + 1);
        memcpy(key + 17 + ml, version, vl);
        void **slot = hmap_slot_of(&a->preds, key, 17 + ml + vl);
        r = slot ? *slot : NULL;
        if (slot && !r && (r = calloc(1, sizeof *r))) {
            r->device = device;
            r->hour_us = dh[1];
            memcpy(r->model, model, ml + 1);
            memcpy(r->version, version, vl + 1);
            *slot = r;
        }
        if (!r)
            return adt_fail(err, ADT_ENOMEM, "out of memory");
        *cached = r;
    }
    bool pos = prob >= threshold;
    r->predictions++;
    r->positives += pos;
    if (label == 1 && pos)
        r->tp++;
    else if (label == 0 && pos)
        r->fp++;
    else if (label == 1)
        r->fn++;
    else if (label == 0)
        r->tn++;
    return ADT_OK;
}

/* ---- Flushing ------------------------------------------------------------------ */

/* Fields stats as JSON text {"name":[n,sum,min,max],...}: this batch's
 * merged with the stored ones by name. */
static int fields_json(const hrow *r, const char *stored, buf *out)
{
    cJSON *old = stored && *stored ? cJSON_Parse(stored) : NULL;
    int rc = buf_putc(out, '{');
    bool first = true;
    for (size_t i = 0; !rc && i < r->p->nfields; i++) {
        fstat f = r->fields[i];
        const char *name = r->p->fields[i].name;
        cJSON *o = old ? cJSON_GetObjectItemCaseSensitive(old, name) : NULL;
        if (cJSON_IsArray(o) && cJSON_GetArraySize(o) == 4) {
            double on = cJSON_GetArrayItem(o, 0)->valuedouble;
            double osum = cJSON_GetArrayItem(o, 1)->valuedouble;
            double omin = cJSON_GetArrayItem(o, 2)->valuedouble;
            double omax = cJSON_GetArrayItem(o, 3)->valuedouble;
            if (f.n == 0 || omin < f.min)
                f.min = omin;
            if (f.n == 0 || omax > f.max)
                f.max = omax;
            f.n += on;
            f.sum += osum;
            cJSON_DeleteItemFromObjectCaseSensitive(old, name);
        }
        if (f.n == 0)
            continue;
        if (!first)
            rc = buf_putc(out, ',');
        first = false;
        if (!rc)
            rc = canon_put_string(out, name, strlen(name));
        if (!rc)
            rc = buf_printf(out, ":[%.17g,%.17g,%.17g,%.17g]", f.n, f.sum, f.min, f.max);
    }
    /* fields stored before that this batch's profile does not have */
    const cJSON *it;
    cJSON_ArrayForEach(it, old)
    {
        if (rc || !cJSON_IsArray(it) || cJSON_GetArraySize(it) != 4)
            continue;
        char *txt = cJSON_PrintUnformatted(it);
        if (!first)
            rc = buf_putc(out, ',');
        first = false;
        if (!rc)
            rc = canon_put_string(out, it->string, strlen(it->string));
        if (!rc)
            rc = buf_printf(out, ":%s", txt ? txt : "[0,0,0,0]");
        free(txt);
    }
    if (!rc)
        rc = buf_putc(out, '}');
    cJSON_Delete(old);
    return rc;
}

static void bind_opt(sqlite3_stmt *st, int col, bool has, double v)
{
    if (has)
        sqlite3_bind_double(st, col, v);
    else
        sqlite3_bind_null(st, col);
}

/* Stored column `c` of the row query, or 0; *has set when not NULL. */
static double stored_num(sqlite3_stmt *q, int c, bool *has)
{
    if (sqlite3_column_type(q, c) == SQLITE_NULL)
        return 0;
    *has = true;
    return sqlite3_column_double(q, c);
}

static int flush_row(rollup_acc *a, hrow *r, buf *fields, adt_err *err)
{
    sqlite3_stmt *q = a->q[Q_GET_ROW];
    sqlite3_reset(q);
    sqlite3_bind_int64(q, 1, r->hour_us);
    sqlite3_bind_int64(q, 2, r->device);
    int s = sqlite3_step(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE) {
        sqlite3_reset(q);
        return sqldb_fail(a->db, "reading rollups", err);
    }
    double energy = r->meter_inc[M_ENERGY], produced = r->meter_inc[M_PRODUCED],
           good = r->meter_inc[M_GOOD];
    const char *stored_fields = NULL;
    if (s == SQLITE_ROW) {
        r->readings += (uint64_t)sqlite3_column_int64(q, 0);
        r->sampled_s += sqlite3_column_int64(q, 1);
        bool st = false;
        for (int k = 0; k < 3; k++)
            r->state_s[k] += (int64_t)stored_num(q, 2 + k, &st);
        r->has_state = r->has_state || st;
        energy += stored_num(q, 5, &r->has_meter[M_ENERGY]);
        produced += stored_num(q, 6, &r->has_meter[M_PRODUCED]);
        good += stored_num(q, 7, &r->has_meter[M_GOOD]);
        bool ins = false, lab = false;
        r->inspected += (uint64_t)stored_num(q, 8, &ins);
        r->rejected += (uint64_t)stored_num(q, 9, &ins);
        r->has_inspection = r->has_inspection || ins;
        r->labelled += (uint64_t)stored_num(q, 10, &lab);
        r->failures += (uint64_t)stored_num(q, 11, &lab);
        r->has_labels = r->has_labels || lab;
        stored_fields = (const char *)sqlite3_column_text(q, 12);
    }
    buf_reset(fields);
    int rc = fields_json(r, stored_fields, fields);
    sqlite3_reset(q);
    if (rc)
        return adt_fail(err, ADT_ENOMEM, "out of memory summing fields");
    sqlite3_stmt *p = a->q[Q_PUT_ROW];
    sqlite3_reset(p);
    sqlite3_bind_int64(p, 1, r->hour_us);
    sqlite3_bind_int64(p, 2, r->device);
    sqlite3_bind_int64(p, 3, (int64_t)r->readings);
    sqlite3_bind_int64(p, 4, r->sampled_s);
    for (int k = 0; k < 3; k++)
        bind_opt(p, 5 + k, r->has_state, (double)r->state_s[k]);
    bind_opt(p, 8, r->has_meter[M_ENERGY], energy);
    bind_opt(p, 9, r->has_meter[M_PRODUCED], produced);
    bind_opt(p, 10, r->has_meter[M_GOOD], good);
    bind_opt(p, 11, r->has_inspection, (double)r->inspected);
    bind_opt(p, 12, r->has_inspection, (double)r->rejected);
    bind_opt(p, 13, r->has_labels, (double)r->labelled);
    bind_opt(p, 14, r->has_labels, (double)r->failures);
    sqlite3_bind_text(p, 15, fields->data, (int)fields->len, SQLITE_STATIC);
    return sqlite3_step(p) == SQLITE_DONE ? ADT_OK : sqldb_fail(a->db, "storing rollups", err);
}

/* A prediction rollup's key (hour, device, model, version) bound as
 * parameters 1-4 of st, reset first. */
static void bind_pred_key(sqlite3_stmt *st, const prow *r)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, r->hour_us);
    sqlite3_bind_int64(st, 2, r->device);
    sqlite3_bind_text(st, 3, r->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->version, -1, SQLITE_STATIC);
}

static int flush_pred(rollup_acc *a, prow *r, adt_err *err)
{
    sqlite3_stmt *q = a->q[Q_GET_PRED];
    bind_pred_key(q, r);
    int s = sqlite3_step(q);
    uint64_t *c[6] = {&r->predictions, &r->positives, &r->tp, &r->fp, &r->fn, &r->tn};
    if (s == SQLITE_ROW)
        for (int k = 0; k < 6; k++)
            *c[k] += (uint64_t)sqlite3_column_int64(q, k);
    sqlite3_reset(q);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return sqldb_fail(a->db, "reading prediction rollups", err);
    sqlite3_stmt *p = a->q[Q_PUT_PRED];
    bind_pred_key(p, r);
    for (int k = 0; k < 6; k++)
        sqlite3_bind_int64(p, 5 + k, (int64_t)*c[k]);
    return sqlite3_step(p) == SQLITE_DONE ? ADT_OK
                                          : sqldb_fail(a->db, "storing prediction rollups", err);
}

static int flush_meters(rollup_acc *a, const meters *m, adt_err *err)
{
    if (m->time_us == INT64_MIN)
        return ADT_OK;
    sqlite3_stmt *p = a->q[Q_PUT_METERS];
    sqlite3_reset(p);
    sqlite3_bind_int64(p, 1, m->device);
    sqlite3_bind_int64(p, 2, m->time_us);
    for (int k = 0; k < M_COUNT; k++)
        bind_opt(p, 3 + k, !isnan(m->v[k]), m->v[k]);
    return sqlite3_step(p) == SQLITE_DONE ? ADT_OK : sqldb_fail(a->db, "storing meters", err);
}

int rollup_flush(rollup_acc *a, adt_err *err)
{
    buf fields;
    buf_init(&fields, 1u << 20);
    int rc = ADT_OK;
    void *v;
    for (size_t it = 0; !rc && hmap_next(&a->rows, &it, NULL, NULL, &v);)
        rc = flush_row(a, v, &fields, err);
    for (size_t it = 0; !rc && hmap_next(&a->preds, &it, NULL, NULL, &v);)
        rc = flush_pred(a, v, err);
    for (size_t it = 0; !rc && hmap_next(&a->meters, &it, NULL, NULL, &v);)
        rc = flush_meters(a, v, err);
    buf_free(&fields);
    rollup_discard(a);
    return rc;
}

/* ---- Rebuilding ------------------------------------------------------------------ */

/* The profile versions met while rebuilding, parsed once each. */
typedef struct rprof {
    profile *p;
    rollup_roles roles;
} rprof;

static void rprof_free(void *v)
{
    rprof *r = v;
    if (r)
        profile_free(r->p);
    free(r);
}

static int rprof_get(sqlite3 *db, hmap *cache, int64_t pv, rprof **out, adt_err *err)
{
    void **slot = hmap_slot_of(cache, (const char *)&pv, sizeof pv);
    if (!slot)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    if ((*out = *slot))
        return ADT_OK;
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db, "SELECT json FROM profiles WHERE id = ?", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, pv);
    rprof *r = calloc(1, sizeof *r);
    if (!r)
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
    else if (sqlite3_step(st) != SQLITE_ROW)
        rc = adt_fail(err, ADT_ECORRUPT, "a reading refers to missing profile version %lld",
                      (long long)pv);
    else {
        const char *json = (const char *)sqlite3_column_text(st, 0);
        rc = profile_parse(json, strlen(json), &r->p, err);
    }
    sqlite3_finalize(st);
    if (rc) {
        free(r);
        hmap_del(cache, (const char *)&pv, sizeof pv);
        return rc;
    }
    rollup_roles_of(r->p, &r->roles);
    *slot = *out = r;
    return ADT_OK;
}

/* The readings in the order they were stored, so that meters step exactly
 * as they did at ingestion (and it is one sequential pass over the table). */
static int rebuild_readings(rollup_acc *a, hmap *profs, uint64_t *count, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(a->db,
                           "SELECT device, time_us, pv, v FROM readings ORDER BY id",
                           &st, err);
    if (rc)
        return rc;
    profile_value vals[PROFILE_MAX_FIELDS];
    int s;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        rprof *rp = NULL;
        if ((rc = rprof_get(a->db, profs, sqlite3_column_int64(st, 2), &rp, err)) ||
            (rc = profile_unpack(rp->p, sqlite3_column_blob(st, 3),
                                 (size_t)sqlite3_column_bytes(st, 3), vals, err)) ||
            (rc = rollup_add(a, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), rp->p,
                             &rp->roles, vals, err)))
            break;
        if (++*count % 65536 == 0)
            rc = rollup_flush(a, err); /* bounded memory; meters are reloaded as stored */
    }
    if (!rc && s != SQLITE_DONE)
        rc = sqldb_fail(a->db, "reading telemetry", err);
    sqlite3_finalize(st);
    return rc ? rc : rollup_flush(a, err);
}

/* A model version's threshold, asked once per version. */
static int threshold_of(hmap *cache, rollup_threshold_fn fn, void *ctx, const char *model,
                        const char *version, double *out, adt_err *err)
{
    char key[260];
    int n = snprintf(key, sizeof key, "%s%c%s", model, 0, version);
    if (n < 0 || (size_t)n >= sizeof key)
        return adt_fail(err, ADT_EINVAL, "model name or version too long");
    double *v = hmap_get(cache, key, (size_t)n);
    if (!v) {
        if (!(v = malloc(sizeof *v)) || hmap_put(cache, key, (size_t)n, v, NULL)) {
            free(v);
            return adt_fail(err, ADT_ENOMEM, "out of memory");
        }
        *v = fn ? fn(ctx, model, version) : -1;
    }
    *out = *v;
    return ADT_OK;
}

/* The predictions, with the failure label of the reading each was made on. */
static int rebuild_predictions(rollup_acc *a, hmap *profs, rollup_threshold_fn threshold,
                               void *tctx, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(a->db,
                           "SELECT p.device, p.time_us, p.prob, p.model, p.version, r.pv, r.v "
                           "FROM predictions p JOIN readings r ON r.id = p.reading ORDER BY p.id",
                           &st, err);
    if (rc)
        return rc;
    profile_value vals[PROFILE_MAX_FIELDS];
    uint64_t n = 0;
    hmap thresholds; /* "model NUL version" -> threshold + 2 (so never NULL) */
    hmap_init(&thresholds);
    int s;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        rprof *rp = NULL;
        if ((rc = rprof_get(a->db, profs, sqlite3_column_int64(st, 5), &rp, err)) ||
            (rc = profile_unpack(rp->p, sqlite3_column_blob(st, 6),
                                 (size_t)sqlite3_column_bytes(st, 6), vals, err)))
            break;
        const char *model = (const char *)sqlite3_column_text(st, 3);
        const char *version = (const char *)sqlite3_column_text(st, 4);
        int label = rp->roles.label >= 0 && vals[rp->roles.label].present
                        ? vals[rp->roles.label].num != 0
                        : -1;
        double thr = -1;
        if ((rc = threshold_of(&thresholds, threshold, tctx, model, version, &thr, err)))
            break;
        /* an unknown threshold: the prediction is counted, without outcome */
        rc = rollup_add_prediction(a, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                                   model, version, sqlite3_column_double(st, 2),
                                   thr < 0 ? INFINITY : thr, thr < 0 ? -1 : label, err);
        if (!rc && ++n % 65536 == 0)
            rc = rollup_flush(a, err);
    }
    if (!rc && s != SQLITE_DONE)
        rc = sqldb_fail(a->db, "reading predictions", err);
    sqlite3_finalize(st);
    hmap_free(&thresholds, free);
    return rc ? rc : rollup_flush(a, err);
}

int rollup_rebuild(sqlite3 *db, rollup_threshold_fn threshold, void *tctx, uint64_t *readings,
                   adt_err *err)
{
    *readings = 0;
    rollup_acc *a;
    int rc = rollup_acc_open(db, &a, err);
    if (rc)
        return rc;
    hmap profs;
    hmap_init(&profs);
    if (!(rc = sqldb_begin(db, err)) &&
        !(rc = sqldb_exec(db, "DELETE FROM rollups; DELETE FROM rollup_predictions; "
                              "DELETE FROM meters;", "clearing the rollups", err)) &&
        !(rc = rebuild_readings(a, &profs, readings, err)) &&
        !(rc = rebuild_predictions(a, &profs, threshold, tctx, err)))
        rc = sqldb_commit(db, err);
    if (rc)
        sqldb_rollback(db);
    hmap_free(&profs, rprof_free);
    rollup_acc_close(a);
    return rc;
}

/* ---- Reading -------------------------------------------------------------------- */

/* A telemetry.db filled before rollups existed has no rollup tables (a
 * read-only open cannot add them). */
static int no_rollups(sqlite3 *db, int rc, adt_err *err)
{
    if (rc && strstr(sqlite3_errmsg(db), "no such table"))
        return adt_fail(err, ADT_ENOTFOUND,
                        "telemetry.db has no rollups yet (filled before they existed): run "
                        "'auditd telemetry rollups --rebuild'");
    return rc;
}

/* The caller of a window read: its function (one of the two) and context. */
typedef struct reader {
    rollup_row_fn row_fn;
    rollup_pred_fn pred_fn;
    void *ctx;
} reader;

static int hour_row(sqlite3_stmt *st, const reader *rd)
{
    rollup_row r = {.hour_us = sqlite3_column_int64(st, 0),
                    .device = (const char *)sqlite3_column_text(st, 1),
                    .readings = (uint64_t)sqlite3_column_int64(st, 2),
                    .sampled_s = sqlite3_column_int64(st, 3),
                    .fields_json = (const char *)sqlite3_column_text(st, 14)};
    r.running_s = (int64_t)stored_num(st, 4, &r.has_state);
    r.idle_s = (int64_t)stored_num(st, 5, &r.has_state);
    r.down_s = (int64_t)stored_num(st, 6, &r.has_state);
    r.energy_kwh = stored_num(st, 7, &r.has_energy);
    r.produced = stored_num(st, 8, &r.has_produced);
    r.good = stored_num(st, 9, &r.has_good);
    r.inspected = (uint64_t)stored_num(st, 10, &r.has_inspection);
    r.rejected = (uint64_t)stored_num(st, 11, &r.has_inspection);
    r.labelled = (uint64_t)stored_num(st, 12, &r.has_labels);
    r.failures = (uint64_t)stored_num(st, 13, &r.has_labels);
    return rd->row_fn(rd->ctx, &r);
}

static int pred_row(sqlite3_stmt *st, const reader *rd)
{
    rollup_pred p = {.hour_us = sqlite3_column_int64(st, 0),
                     .device = (const char *)sqlite3_column_text(st, 1),
                     .model = (const char *)sqlite3_column_text(st, 2),
                     .version = (const char *)sqlite3_column_text(st, 3)};
    uint64_t *c[6] = {&p.predictions, &p.positives, &p.tp, &p.fp, &p.fn, &p.tn};
    for (int k = 0; k < 6; k++)
        *c[k] = (uint64_t)sqlite3_column_int64(st, 4 + k);
    return rd->pred_fn(rd->ctx, &p);
}

/* The two window reads: hourly rows and prediction rows. Each query takes
 * the hours [?1, ?2) of device ?3 (NULL: all), in a stable order. */
typedef enum window_kind { WINDOW_HOURS, WINDOW_PREDICTIONS } window_kind;

static const struct window_query {
    const char *sql;
    const char *what; /* names the rows in messages */
    int (*row)(sqlite3_stmt *st, const reader *rd); /* decodes one, calls the reader */
} window_queries[] = {
    [WINDOW_HOURS] = {"SELECT r.hour_us, d.name, r.readings, r.sampled_s, r.running_s, "
                      "r.idle_s, r.down_s, r.energy_kwh, r.produced, r.good, r.inspected, "
                      "r.rejected, r.labelled, r.failures, r.fields FROM rollups r "
                      "JOIN devices d ON d.id = r.device WHERE r.hour_us >= ?1 AND "
                      "r.hour_us < ?2 AND (?3 IS NULL OR d.name = ?3) "
                      "ORDER BY r.hour_us, d.name",
                      "reading rollups", hour_row},
    [WINDOW_PREDICTIONS] = {"SELECT p.hour_us, d.name, p.model, p.version, p.predictions, "
                            "p.positives, p.tp, p.fp, p.fn, p.tn FROM rollup_predictions p "
                            "JOIN devices d ON d.id = p.device WHERE p.hour_us >= ?1 AND "
                            "p.hour_us < ?2 AND (?3 IS NULL OR d.name = ?3) "
                            "ORDER BY p.hour_us, d.name, p.model, p.version",
                            "reading prediction rollups", pred_row},
};

/* Run window query `k` over [from_us, to_us) of `device` and hand each row to
 * the reader until its function returns non-zero (returned). */
static int read_window(sqlite3 *db, window_kind k, int64_t from_us, int64_t to_us,
                       const char *device, const reader *rd, adt_err *err)
{
    const struct window_query *q = &window_queries[k];
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db, q->sql, &st, err);
    if (rc)
        return no_rollups(db, rc, err);
    sqlite3_bind_int64(st, 1, from_us);
    sqlite3_bind_int64(st, 2, to_us);
    if (device)
        sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
    int s;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW)
        rc = q->row(st, rd);
    if (!rc && s != SQLITE_DONE)
        rc = sqldb_fail(db, q->what, err);
    sqlite3_finalize(st);
    return rc;
}

int rollup_read(sqlite3 *db, int64_t from_us, int64_t to_us, const char *device,
                rollup_row_fn fn, void *ctx, adt_err *err)
{
    return read_window(db, WINDOW_HOURS, from_us, to_us, device,
                       &(reader){.row_fn = fn, .ctx = ctx}, err);
}

int rollup_read_predictions(sqlite3 *db, int64_t from_us, int64_t to_us, const char *device,
                            rollup_pred_fn fn, void *ctx, adt_err *err)
{
    return read_window(db, WINDOW_PREDICTIONS, from_us, to_us, device,
                       &(reader){.pred_fn = fn, .ctx = ctx}, err);
}

/* ---- JSON ------------------------------------------------------------------------- */

typedef struct json_ctx {
    buf *out;
    size_t n;
} json_ctx;

static int opt_json(buf *b, const char *key, bool has, double v)
{
    return has ? buf_printf(b, ",\"%s\":%.17g", key, v) : buf_printf(b, ",\"%s\":null", key);
}

/* The start of one array element: its device and hour. */
static int head_json(json_ctx *c, const char *device, int64_t hour_us)
{
    buf *b = c->out;
    char hour[40];
    rfc3339_format_s(hour_us, hour, sizeof hour);
    int rc;
    if ((rc = buf_puts(b, c->n++ ? ",{\"device\":" : "{\"device\":")) ||
        (rc = canon_put_string(b, device, strlen(device))))
        return rc;
    return buf_printf(b, ",\"hour\":\"%s\"", hour);
}

static int row_json(void *vctx, const rollup_row *r)
{
    json_ctx *c = vctx;
    buf *b = c->out;
    int rc;
    if ((rc = head_json(c, r->device, r->hour_us)) ||
        (rc = buf_printf(b, ",\"readings\":%llu,\"sampled_s\":%lld",
                         (unsigned long long)r->readings, (long long)r->sampled_s)) ||
        (rc = opt_json(b, "running_s", r->has_state, (double)r->running_s)) ||
        (rc = opt_json(b, "idle_s", r->has_state, (double)r->idle_s)) ||
        (rc = opt_json(b, "down_s", r->has_state, (double)r->down_s)) ||
        (rc = opt_json(b, "energy_kwh", r->has_energy, r->energy_kwh)) ||
        (rc = opt_json(b, "produced", r->has_produced, r->produced)) ||
        (rc = opt_json(b, "good", r->has_good, r->good)) ||
        (rc = opt_json(b, "inspected", r->has_inspection, (double)r->inspected)) ||
        (rc = opt_json(b, "rejected", r->has_inspection, (double)r->rejected)) ||
        (rc = opt_json(b, "labelled", r->has_labels, (double)r->labelled)) ||
        (rc = opt_json(b, "failures", r->has_labels, (double)r->failures)) ||
        (rc = buf_printf(b, ",\"fields\":%s}", r->fields_json ? r->fields_json : "{}")))
        return rc;
    return 0;
}

static int pred_json(void *vctx, const rollup_pred *p)
{
    json_ctx *c = vctx;
    buf *b = c->out;
    int rc;
    if ((rc = head_json(c, p->device, p->hour_us)) || (rc = buf_puts(b, ",\"model\":")) ||
        (rc = canon_put_string(b, p->model, strlen(p->model))) ||
        (rc = buf_puts(b, ",\"version\":")) ||
        (rc = canon_put_string(b, p->version, strlen(p->version))) ||
        (rc = buf_printf(b, ",\"predictions\":%llu,\"positives\":%llu,\"tp\":%llu,\"fp\":%llu,"
                            "\"fn\":%llu,\"tn\":%llu}",
                         (unsigned long long)p->predictions, (unsigned long long)p->positives,
                         (unsigned long long)p->tp, (unsigned long long)p->fp,
                         (unsigned long long)p->fn, (unsigned long long)p->tn)))
        return rc;
    return 0;
}

int rollup_json(sqlite3 *db, int64_t from_us, int64_t to_us, const char *device, buf *out,
                adt_err *err)
{
    json_ctx c = {out, 0};
    int rc = buf_puts(out, "{\"rollups\":[");
    if (!rc)
        rc = rollup_read(db, from_us, to_us, device, row_json, &c, err);
    if (!rc)
        rc = buf_puts(out, "],\"predictions\":[");
    c.n = 0;
    if (!rc)
        rc = rollup_read_predictions(db, from_us, to_us, device, pred_json, &c, err);
    if (!rc)
        rc = buf_puts(out, "]}");
    if (rc == ADT_ETOOBIG || rc == ADT_ENOMEM)
        return adt_fail(err, rc, "the rollups of that period are too large: narrow it");
    return rc;
}
