/* model_data.c: training from a stored dataset (tstore) with its ledger event.
 * Kept apart from model.c so that model.c links without the telemetry store. */
#include "model.h"

#include "oplabel.h"
#include "rfc3339.h"
#include "tdb.h"
#include "tstore.h"

#include <stdio.h>
#include <string.h>

typedef struct collect_ctx {
    model_rows *rows;
    size_t skipped; /* readings without a label */
    const oplabel_set *ops; /* the dataset's operator verdicts (may be empty) */
    model_label_use use;
    adt_err *err;
    int rc;
} collect_ctx;

static int collect_row(void *vctx, const char *device, int64_t time_us, const double *x, size_t nx,
                       int label)
{
    collect_ctx *c = vctx;
    if (nx != MODEL_NRAW) {
        c->rc = adt_fail(c->err, ADT_EINTERNAL, "tstore returned %zu features, not %d", nx,
                         MODEL_NRAW);
        return c->rc;
    }
    /* An operator's verdict on the reading replaces its failure_label. */
    int verdict;
    if (oplabel_find(c->ops, device, time_us, &verdict, NULL)) {
        c->use.used++;
        c->use.confirmed_failure += verdict == 1;
        c->use.false_alarm += verdict == 0;
        c->use.changed += (label == 0 || label == 1) && label != verdict;
        c->use.added += label != 0 && label != 1;
        label = verdict;
    }
    if (label != 0 && label != 1) {
        c->skipped++;
        return 0;
    }
    /* The split key: the reading's identity, independent of row order. */
    char key[256];
    int kl = snprintf(key, sizeof key, "%s|%lld", device, (long long)time_us);
    if (kl < 0)
        kl = 0;
    if ((size_t)kl >= sizeof key)
        kl = (int)sizeof key - 1;
    c->rc = model_rows_add(c->rows, key, (size_t)kl, x, label, c->err);
    return c->rc;
}

/* model.train's `operator_labels`: which verdicts training used, and how. */
static bool add_label_use(cJSON *ev, const model_label_use *u)
{
    cJSON *o = cJSON_AddObjectToObject(ev, "operator_labels");
    return o && cJSON_AddNumberToObject(o, "used", (double)u->used) &&
           cJSON_AddNumberToObject(o, "confirmed_failure", (double)u->confirmed_failure) &&
           cJSON_AddNumberToObject(o, "false_alarm", (double)u->false_alarm) &&
           cJSON_AddNumberToObject(o, "changed", (double)u->changed) &&
           cJSON_AddNumberToObject(o, "added", (double)u->added);
}

int model_train_dataset(const char *data_dir, const model_train_opts *o, const char *actor,
                        model_train_result *res, adt_err *err)
{
    memset(res, 0, sizeof *res);
    int rc;
    if ((rc = model_check_id("model name", o->name, MODEL_NAME_MAX, err)) ||
        (rc = model_check_id("dataset", o->dataset, 128, err)))
        return rc;
    tstore *ts = NULL;
    if ((rc = tstore_open(data_dir, &ts, err)))
        return rc;
    model_rows *rows = NULL;
    if ((rc = model_rows_new(&rows, err))) {
        tstore_close(ts);
        return rc;
    }
    /* The verdicts the dataset was defined with (none for a plain dataset). */
    oplabel_set *ops = NULL;
    sqlite3 *db = NULL;
    if (!(rc = tdb_open(data_dir, false, &db, err)))
        rc = oplabel_dataset_labels(db, o->dataset, &ops, err);
    tdb_close(db);
    if (rc) {
        model_rows_free(rows);
        tstore_close(ts);
        return rc;
    }
    collect_ctx c = {.rows = rows, .ops = ops, .err = err};
    c.use.verdicts = oplabel_count(ops);
    rc = tstore_dataset_rows(ts, o->dataset, model_feature_names, MODEL_NRAW, collect_row, &c,
                             err);
    tstore_close(ts);
    oplabel_set_free(ops);
    if (!rc && c.rc)
        rc = c.rc;
    if (!rc && model_rows_count(rows) == 0)
        rc = adt_fail(err, ADT_EINVAL,
                      "dataset %s has no labelled reading (%zu without failure_label)", o->dataset,
                      c.skipped);
    if (!rc)
        rc = model_train(rows, o, res, err);
    model_rows_free(rows);
    if (rc)
        return rc;
    res->labels = c.use;

    cJSON *ev = cJSON_CreateObject();
    cJSON *metrics = model_metrics_json(&res->test);
    char ts_now[32];
    rfc3339_format(o->time_us ? o->time_us : rfc3339_now_us(), ts_now, sizeof ts_now);
    if (!ev || !metrics || !cJSON_AddItemToObject(ev, "metrics", metrics) ||
        !cJSON_AddStringToObject(ev, "type", "model.train") ||
        !cJSON_AddStringToObject(ev, "time", ts_now) ||
        !cJSON_AddStringToObject(ev, "actor", actor) ||
        !cJSON_AddStringToObject(ev, "model", o->name) ||
        !cJSON_AddStringToObject(ev, "dataset", o->dataset) ||
        !cJSON_AddStringToObject(ev, "artifact_sha256", res->sha256) ||
        !cJSON_AddNumberToObject(ev, "threshold", res->threshold) ||
        !cJSON_AddNumberToObject(ev, "train_rows", (double)res->n_train) ||
        !cJSON_AddNumberToObject(ev, "test_rows", (double)res->n_test) ||
        !add_label_use(ev, &res->labels)) {
        if (!ev || (metrics && !cJSON_GetObjectItemCaseSensitive(ev, "metrics")))
            cJSON_Delete(metrics);
        cJSON_Delete(ev);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    rc = model_ledger_append(data_dir, &ev, 1, NULL, err);
    cJSON_Delete(ev);
    return rc;
}
