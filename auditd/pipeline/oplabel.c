/* oplabel.c: operators' labels as ground truth (oplabel.h). */
#include "oplabel.h"

#include "leaf.h"
#include "profile.h"
#include "rfc3339.h"
#include "vec.h"
#include "sha256.h"
#include "sqldb.h"
#include "tdb.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One label.set as read, before the precedence rules. */
typedef struct raw {
    uint64_t index;
    char *target;
    char *device;      /* NULL: covers no reading */
    int64_t reading_us;
    int value;         /* 1, 0, or -1 for unsure */
} raw;

struct oplabel_set {
    raw *r;
    size_t nr, cr;
    oplabel *v;        /* verdicts by (device, reading_us) once finished */
    size_t nv;
    bool finished;
    oplabel_stats st;
};

int oplabel_set_new(oplabel_set **out, adt_err *err)
{
    *out = calloc(1, sizeof **out);
    return *out ? ADT_OK : adt_fail(err, ADT_ENOMEM, "out of memory");
}

void oplabel_set_free(oplabel_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nr; i++) {
        free(s->r[i].target);
        free(s->r[i].device);
    }
    free(s->r);
    free(s->v);
    free(s);
}

static int push(oplabel_set *s, uint64_t index, const char *target, const char *device,
                int64_t reading_us, int value, adt_err *err)
{
    if (s->finished)
        return adt_fail(err, ADT_EINTERNAL, "operator labels: the set is finished already");
    if (s->nr >= OPLABEL_MAX)
        return adt_fail(err, ADT_ETOOBIG, "more than %d operator labels: read a smaller range",
                        OPLABEL_MAX);
    raw *nr = vec_room(s->r, &s->cr, s->nr, sizeof *nr, 64);
    if (!nr)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    s->r = nr;
    raw *x = &s->r[s->nr];
    x->index = index;
    x->target = strdup(target);
    x->device = device ? strdup(device) : NULL;
    x->reading_us = reading_us;
    x->value = value;
    if (!x->target || (device && !x->device)) {
        free(x->target);
        free(x->device);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    s->nr++;
    return ADT_OK;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int oplabel_set_add_leaf(oplabel_set *s, uint64_t index, const char *leaf, size_t len,
                         adt_err *err)
{
    leaf_view v;
    adt_err e2;
    if (leaf_parse(leaf, len, index, &v, &e2) || strcmp(v.type, "label.set") ||
        (v.writer != EVENT_WRITER_PERSON && v.writer != EVENT_WRITER_ADMIN))
        return ADT_OK; /* not an operator's label (verify reports a malformed leaf) */
    s->st.events++;
    cJSON *j = cJSON_ParseWithLength(v.payload, v.payload_len);
    const char *target = jstr(j, "target"), *label = jstr(j, "label");
    const char *device = jstr(j, "device"), *rt = jstr(j, "reading_time");
    int value = !label                                  ? -2
                : !strcmp(label, "confirmed_failure") ? 1
                : !strcmp(label, "false_alarm")       ? 0
                : !strcmp(label, "unsure")            ? -1
                                                      : -2;
    int64_t us = 0;
    if (device && (!*device || !rt || rfc3339_parse(rt, strlen(rt), &us)))
        device = NULL; /* no usable reading named */
    int rc = ADT_OK;
    if (target && *target && value >= -1)
        rc = push(s, index, target, device, us, value, err);
    cJSON_Delete(j);
    return rc;
}

typedef struct read_ctx {
    oplabel_set *s;
    adt_err *err;
    int rc;
} read_ctx;

static int read_fn(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    read_ctx *c = ctx;
    c->rc = oplabel_set_add_leaf(c->s, index, leaf, len, c->err);
    return c->rc;
}

int oplabel_set_read(oplabel_set *s, ledger *lg, uint64_t upto, adt_err *err)
{
    uint64_t size = 0;
    int rc = ledger_size(lg, &size, err);
    if (rc)
        return rc;
    if (upto > size)
        upto = size;
    read_ctx c = {s, err, ADT_OK};
    rc = upto ? ledger_scan(lg, 0, upto, read_fn, &c, err) : ADT_OK;
    return c.rc ? c.rc : rc;
}

static int by_target(const void *a, const void *b)
{
    const raw *x = a, *y = b;
    int c = strcmp(x->target, y->target);
    return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

static int by_reading(const void *a, const void *b)
{
    const oplabel *x = a, *y = b;
    int c = strcmp(x->device, y->device);
    if (c)
        return c;
    if (x->reading_us != y->reading_us)
        return x->reading_us < y->reading_us ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int oplabel_set_finish(oplabel_set *s, adt_err *err)
{
    if (s->finished)
        return ADT_OK;
    if (s->nr > 1)
        qsort(s->r, s->nr, sizeof *s->r, by_target);
    s->v = malloc((s->nr ? s->nr : 1) * sizeof *s->v);
    if (!s->v)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    size_t nv = 0;
    for (size_t i = 0; i < s->nr; i++) {
        if (i + 1 < s->nr && !strcmp(s->r[i].target, s->r[i + 1].target))
            continue; /* a later label of the same target replaces this one */
        const raw *x = &s->r[i];
        s->st.targets++;
        if (x->value < 0)
            s->st.unsure++;
        else if (!x->device)
            s->st.no_reading++;
        else
            s->v[nv++] = (oplabel){x->index, x->device, x->reading_us, x->value};
    }
    if (nv > 1)
        qsort(s->v, nv, sizeof *s->v, by_reading);
    size_t k = 0;
    for (size_t i = 0; i < nv; i++) {
        if (i + 1 < nv && !strcmp(s->v[i].device, s->v[i + 1].device) &&
            s->v[i].reading_us == s->v[i + 1].reading_us) {
            s->st.overruled++; /* the latest verdict on a reading counts */
            continue;
        }
        s->v[k++] = s->v[i];
    }
    s->nv = k;
    for (size_t i = 0; i < k; i++) {
        s->st.failures += s->v[i].value == 1;
        s->st.false_alarms += s->v[i].value == 0;
    }
    s->st.verdicts = k;
    s->finished = true;
    return ADT_OK;
}

bool oplabel_find(const oplabel_set *s, const char *device, int64_t reading_us, int *value,
                  uint64_t *index)
{
    if (!s || !s->finished || !s->nv)
        return false;
    oplabel key = {0, device, reading_us, 0};
    size_t lo = 0, hi = s->nv;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->v[mid].device, key.device);
        if (!c)
            c = s->v[mid].reading_us < reading_us ? -1 : s->v[mid].reading_us > reading_us;
        if (!c) {
            if (value)
                *value = s->v[mid].value;
            if (index)
                *index = s->v[mid].index;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

size_t oplabel_count(const oplabel_set *s)
{
    return s && s->finished ? s->nv : 0;
}

const oplabel *oplabel_at(const oplabel_set *s, size_t i)
{
    return s && s->finished && i < s->nv ? &s->v[i] : NULL;
}

void oplabel_stats_get(const oplabel_set *s, oplabel_stats *st)
{
    *st = s->st;
}

/* ---- what an alert covers ---- */

int oplabel_alert_reading(sqlite3 *tdb, const char *device, int64_t alert_us, int64_t *reading_us,
                          adt_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqldb_prepare(tdb,
                         "SELECT r.time_us, p.json FROM readings r JOIN devices d ON d.id = "
                         "r.device JOIN profiles p ON p.id = r.pv WHERE d.name = ?1 AND "
                         "r.time_us <= ?2 AND r.time_us >= ?3 ORDER BY r.time_us DESC, r.id DESC "
                         "LIMIT 1",
                         &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, alert_us);
    sqlite3_bind_int64(st, 3, alert_us - OPLABEL_ALERT_WINDOW_US);
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE) {
        rc = adt_fail(err, ADT_ENOTFOUND, "%s has no stored reading in the hour before the alert",
                      device);
    } else if (r != SQLITE_ROW) {
        rc = sqldb_fail(tdb, "finding the alert's reading", err);
    } else {
        *reading_us = sqlite3_column_int64(st, 0);
        const char *json = (const char *)sqlite3_column_text(st, 1);
        profile *p = NULL;
        adt_err e2;
        if (!json || profile_parse(json, strlen(json), &p, &e2) ||
            profile_role_index(p, PROFILE_ROLE_FAILURE_LABEL) < 0)
            rc = adt_fail(err, ADT_ENOTFOUND, "%s's profile has no failure_label field: its "
                          "readings are not about machine failures", device);
        profile_free(p);
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- labelled datasets ---- */

static const char dl_schema[] =
    "CREATE TABLE IF NOT EXISTS dataset_labels("
    " dataset TEXT NOT NULL, ledger_index INTEGER NOT NULL, device TEXT NOT NULL,"
    " time_us INTEGER NOT NULL, label INTEGER NOT NULL, PRIMARY KEY(dataset, ledger_index))"
    " WITHOUT ROWID;";

static int by_index(const void *a, const void *b)
{
    const oplabel *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Whether the reading (device, time) is one of dataset `base`'s rows. */
static int in_dataset(sqlite3 *db, sqlite3_stmt **st, const char *base, const char *device,
                      int64_t us, bool *yes, adt_err *err)
{
    if (!*st) {
        int rc = sqldb_prepare(db,
                             "SELECT 1 FROM readings r JOIN devices d ON d.id = r.device "
                             "JOIN datasets ds ON ds.id = ?1 WHERE d.name = ?2 AND r.time_us = ?3 "
                             "AND r.time_us >= ds.from_us AND r.time_us < ds.to_us AND "
                             "(ds.devices = '[]' OR d.name IN (SELECT value FROM "
                             "json_each(ds.devices))) AND EXISTS (SELECT 1 FROM dataset_batches "
                             "db JOIN batches b ON b.id = db.batch WHERE db.dataset = ?1 AND "
                             "r.id BETWEEN b.first_row AND b.last_row) LIMIT 1",
                             st, err);
        if (rc)
            return rc;
    }
    sqlite3_reset(*st);
    sqlite3_bind_text(*st, 1, base, -1, SQLITE_STATIC);
    sqlite3_bind_text(*st, 2, device, -1, SQLITE_STATIC);
    sqlite3_bind_int64(*st, 3, us);
    int r = sqlite3_step(*st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return sqldb_fail(db, "checking a labelled reading", err);
    *yes = r == SQLITE_ROW;
    return ADT_OK;
}

/* The base dataset a labelled one derives from: its window, devices (a JSON
 * array, malloc'd) and size. */
typedef struct base_ds {
    int64_t from, to, batches, readings;
    char *devices;
} base_ds;

static int read_base(sqlite3 *db, const char *base, base_ds *b, adt_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqldb_prepare(db, "SELECT from_us, to_us, devices, batches, readings FROM datasets "
                             "WHERE id = ?", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, base, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return adt_fail(err, ADT_ENOTFOUND, "no dataset %s ('auditd dataset list')", base);
    }
    b->from = sqlite3_column_int64(st, 0);
    b->to = sqlite3_column_int64(st, 1);
    b->devices = strdup((const char *)sqlite3_column_text(st, 2));
    b->batches = sqlite3_column_int64(st, 3);
    b->readings = sqlite3_column_int64(st, 4);
    sqlite3_finalize(st);
    return b->devices ? ADT_OK : adt_fail(err, ADT_ENOMEM, "out of memory");
}

/* The operators' labels in the ledger (up to its size now, out->upto) on
 * readings of dataset `base`, by ledger index. OUT *kept (malloc'd), *nk;
 * *set, which the labels' devices point into: free it after *kept. */
static int labels_on_base(sqlite3 *db, ledger *lg, const char *base, oplabel_dataset *out,
                          oplabel_set **set, oplabel **kept, size_t *nk, adt_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if ((rc = ledger_size(lg, &out->upto, err)) || (rc = oplabel_set_new(set, err)) ||
        (rc = oplabel_set_read(*set, lg, out->upto, err)) || (rc = oplabel_set_finish(*set, err)))
        goto out;
    *kept = malloc((oplabel_count(*set) ? oplabel_count(*set) : 1) * sizeof **kept);
    if (!*kept) {
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; !rc && i < oplabel_count(*set); i++) {
        const oplabel *l = oplabel_at(*set, i);
        bool yes = false;
        rc = in_dataset(db, &st, base, l->device, l->reading_us, &yes, err);
        if (!rc && yes)
            (*kept)[(*nk)++] = *l;
    }
    if (!rc)
        qsort(*kept, *nk, sizeof **kept, by_index);
out:
    sqlite3_finalize(st);
    return rc;
}

/* The labelled dataset's id: the SHA-256 of its base and labels (index,
 * device, reading time, verdict), with the verdicts counted into `out`. */
static void labelled_id(const char *base, const oplabel *kept, size_t nk, oplabel_dataset *out)
{
    sha256_ctx hs;
    sha256_init(&hs);
    char line[512];
    snprintf(line, sizeof line, "auditd-dataset-labels-v1\nbase=%s\n", base);
    sha256_update(&hs, line, strlen(line));
    for (size_t i = 0; i < nk; i++) {
        snprintf(line, sizeof line, "label=%llu ", (unsigned long long)kept[i].index);
        sha256_update(&hs, line, strlen(line));
        sha256_update(&hs, kept[i].device, strlen(kept[i].device));
        snprintf(line, sizeof line, " %lld %d\n", (long long)kept[i].reading_us, kept[i].value);
        sha256_update(&hs, line, strlen(line));
        out->failures += kept[i].value == 1;
        out->false_alarms += kept[i].value == 0;
    }
    sha256_final_hex(&hs, out->id);
    out->labelled = true;
    out->labels = nk;
}

/* Whether dataset out->id is defined already (then its ledger index in out). */
static int find_defined(sqlite3 *db, oplabel_dataset *out, adt_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqldb_prepare(db, "SELECT ledger_index FROM datasets WHERE id = ?", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->existed = true;
        if (sqlite3_column_type(st, 0) != SQLITE_NULL)
            out->ledger_index = (uint64_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return ADT_OK;
}

/* The labelled dataset's rows: the base's batches and the labels. */
static int store_labels(sqlite3 *db, const char *base, const oplabel *kept, size_t nk,
                        const oplabel_dataset *out, adt_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqldb_prepare(db, "INSERT INTO dataset_batches(dataset, batch) SELECT ?1, batch FROM "
                               "dataset_batches WHERE dataset = ?2", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, base, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sqldb_fail(db, "recording the labelled dataset", err);
    sqlite3_finalize(st);
    st = NULL;
    if (!rc)
        rc = sqldb_prepare(db, "INSERT INTO dataset_labels(dataset, ledger_index, device, time_us, "
                               "label) VALUES(?,?,?,?,?)", &st, err);
    for (size_t i = 0; !rc && i < nk; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)kept[i].index);
        sqlite3_bind_text(st, 3, kept[i].device, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, kept[i].reading_us);
        sqlite3_bind_int(st, 5, kept[i].value);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sqldb_fail(db, "recording the dataset's labels", err);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Record dataset.define (the base's shape, plus which labels) and then the
 * dataset's row with the event's ledger index. */
static int record_define(sqlite3 *db, const evsink *s, const char *actor, const char *base,
                         const base_ds *b, const oplabel *kept, size_t nk, oplabel_dataset *out,
                         adt_err *err)
{
    int64_t fb = 0, lb = 0;
    sqlite3_stmt *st = NULL;
    int rc = sqldb_prepare(db, "SELECT min(batch), max(batch) FROM dataset_batches WHERE dataset = ?",
                           &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, base, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        fb = sqlite3_column_int64(st, 0);
        lb = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    st = NULL;
    evsink_event e;
    evsink_begin(&e, EVSINK_PIPELINE, "dataset.define", EVENT_WRITER_AUDITD, actor);
    evsink_str(&e, "dataset", out->id);
    evsink_str(&e, "base", base);
    evsink_int(&e, "batches", b->batches);
    evsink_int(&e, "first_batch", fb);
    evsink_int(&e, "last_batch", lb);
    evsink_int(&e, "readings", b->readings);
    evsink_time(&e, "from", b->from);
    evsink_time(&e, "to", b->to);
    evsink_json(&e, "devices", b->devices, strlen(b->devices));
    evsink_object(&e, "labels");
    evsink_uint(&e, "count", nk);
    evsink_uint(&e, "confirmed_failure", out->failures);
    evsink_uint(&e, "false_alarm", out->false_alarms);
    evsink_uint(&e, "upto", out->upto);
    evsink_uint(&e, "first_index", kept[0].index);
    evsink_uint(&e, "last_index", kept[nk - 1].index);
    evsink_end(&e);
    rc = evsink_record(s, &e, 1, &out->ledger_index, err);
    evsink_free(&e);
    if (rc || (rc = sqldb_prepare(db, "INSERT INTO datasets(id, from_us, to_us, devices, batches, "
                                        "readings, created_us, ledger_index) VALUES(?,?,?,?,?,?,?,?)",
                                  &st, err)))
        return rc;
    sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, b->from);
    sqlite3_bind_int64(st, 3, b->to);
    sqlite3_bind_text(st, 4, b->devices, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, b->batches);
    sqlite3_bind_int64(st, 6, b->readings);
    sqlite3_bind_int64(st, 7, rfc3339_now_us());
    if (out->ledger_index != EVSINK_NONE)
        sqlite3_bind_int64(st, 8, (int64_t)out->ledger_index);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sqldb_fail(db, "recording the labelled dataset", err);
    sqlite3_finalize(st);
    return rc;
}

int oplabel_dataset_define(sqlite3 *db, ledger *lg, const evsink *s, const char *actor,
                           const char *base, oplabel_dataset *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    out->ledger_index = EVSINK_NONE;
    if (strlen(base) != 64)
        return adt_fail(err, ADT_EINVAL, "a dataset id is 64 hex digits");
    snprintf(out->base, sizeof out->base, "%s", base);
    snprintf(out->id, sizeof out->id, "%s", base);
    base_ds b = {0};
    oplabel_set *set = NULL;
    oplabel *kept = NULL;
    size_t nk = 0;
    int rc = read_base(db, base, &b, err);
    if (!rc)
        rc = labels_on_base(db, lg, base, out, &set, &kept, &nk, err);
    if (rc || nk == 0)
        goto out; /* no verdict on its readings: the base is the answer */
    labelled_id(base, kept, nk, out);
    if ((rc = sqldb_begin(db, err)))
        goto out;
    if (!(rc = sqldb_exec(db, dl_schema, "creating dataset_labels", err)) &&
        !(rc = find_defined(db, out, err)) && !out->existed &&
        !(rc = store_labels(db, base, kept, nk, out, err)))
        rc = record_define(db, s, actor, base, &b, kept, nk, out, err);
    if (!rc)
        rc = sqldb_commit(db, err);
    if (rc)
        sqldb_rollback(db);
out:
    free(kept);
    oplabel_set_free(set);
    free(b.devices);
    return rc;
}

int oplabel_dataset_each(sqlite3 *db, const char *dataset, oplabel_row_fn fn, void *ctx,
                         adt_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqldb_prepare(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                             "'dataset_labels'", &st, err);
    if (rc)
        return rc;
    bool have = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!have)
        return ADT_OK; /* no labelled dataset was ever defined here */
    rc = sqldb_prepare(db, "SELECT ledger_index, device, time_us, label FROM dataset_labels WHERE "
                         "dataset = ? ORDER BY ledger_index", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, dataset, -1, SQLITE_STATIC);
    int r = SQLITE_DONE;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW)
        rc = fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                sqlite3_column_int64(st, 2), sqlite3_column_int(st, 3));
    if (!rc && r != SQLITE_DONE)
        rc = sqldb_fail(db, "reading the dataset's labels", err);
    sqlite3_finalize(st);
    return rc;
}

typedef struct load_ctx {
    oplabel_set *s;
    adt_err *err;
} load_ctx;

static int load_fn(void *ctx, uint64_t index, const char *device, int64_t reading_us, int value)
{
    load_ctx *c = ctx;
    char target[64];
    snprintf(target, sizeof target, "#%llu", (unsigned long long)index); /* one per verdict */
    return push(c->s, index, target, device ? device : "", reading_us, value ? 1 : 0, c->err);
}

int oplabel_dataset_labels(sqlite3 *db, const char *dataset, oplabel_set **out, adt_err *err)
{
    oplabel_set *s = NULL;
    int rc = oplabel_set_new(&s, err);
    if (rc)
        return rc;
    load_ctx c = {s, err};
    rc = oplabel_dataset_each(db, dataset, load_fn, &c, err);
    if (!rc)
        rc = oplabel_set_finish(s, err);
    if (rc) {
        oplabel_set_free(s);
        return rc;
    }
    s->st.events = 0; /* these are a dataset's verdicts, not events read */
    *out = s;
    return ADT_OK;
}
