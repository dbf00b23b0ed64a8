/* model_data.c: training from a stored dataset (tstore) with its ledger event.
 * Kept apart from model.c so that model.c links without the telemetry store. */
#include "model.h"

#include "evsink.h"
#include "tstore.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct collect_ctx {
    model_rows *rows;
    size_t skipped; /* readings without a label */
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
    collect_ctx c = {.rows = rows, .err = err};
    rc = tstore_dataset_rows(ts, o->dataset, model_feature_names, MODEL_NRAW, collect_row, &c,
                             err);
    tstore_close(ts);
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
    evsink s = {.data_dir = data_dir};
    rc = evsink_record(&s, &e, 1, NULL, err);
    evsink_free(&e);
    return rc;
}
