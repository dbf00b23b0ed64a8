/* model_data.c: training from a stored dataset (tstore) with its ledger event.
 * Kept apart from model.c so that model.c links without the telemetry store. */
#include "model.h"

#include "evsink.h"
#include "oplabel.h"
#include "sqldb.h"
#include "tdb.h"
#include "tstore.h"

#include <math.h>
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

/* The metrics as in the model's metadata (model_metrics_json): rates to six decimals. */
static void add_metrics(evsink_event *e, const char *key, const model_metrics *m)
{
    evsink_object(e, key);
    evsink_num(e, "precision", round(m->precision * 1e6) / 1e6);
    evsink_num(e, "recall", round(m->recall * 1e6) / 1e6);
    evsink_num(e, "pr_auc", round(m->pr_auc * 1e6) / 1e6);
    evsink_num(e, "f1", round(m->f1 * 1e6) / 1e6);
    evsink_uint(e, "n", m->n);
    evsink_uint(e, "positives", m->positives);
    evsink_uint(e, "tp", m->tp);
    evsink_uint(e, "fp", m->fp);
    evsink_uint(e, "fn", m->fn);
    evsink_end(e);
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
    sqldb_close(db);
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

    evsink_event e;
    evsink_begin(&e, EVSINK_MODELS, "model.train", EVENT_WRITER_AUDITD, actor);
    evsink_at(&e, o->time_us);
    evsink_str(&e, "model", o->name);
    evsink_str(&e, "dataset", o->dataset);
    evsink_str(&e, "artifact_sha256", res->sha256);
    evsink_num(&e, "threshold", res->threshold);
    evsink_uint(&e, "train_rows", res->n_train);
    evsink_uint(&e, "test_rows", res->n_test);
    add_metrics(&e, "metrics", &res->test);
    /* which operator verdicts training used, and how (docs/models.md) */
    evsink_object(&e, "operator_labels");
    evsink_uint(&e, "used", res->labels.used);
    evsink_uint(&e, "confirmed_failure", res->labels.confirmed_failure);
    evsink_uint(&e, "false_alarm", res->labels.false_alarm);
    evsink_uint(&e, "changed", res->labels.changed);
    evsink_uint(&e, "added", res->labels.added);
    evsink_end(&e);
    evsink s = {.data_dir = data_dir};
    rc = evsink_record(&s, &e, 1, NULL, err);
    evsink_free(&e);
    return rc;
}
