/* driftcheck.c: the drift check of a model (driftcheck.h): its training
 * summary from the registry, the window from the telemetry store, the
 * statistics from drift.h, the record through the evidence sink. */
#include "driftcheck.h"

#include "drift.h"
#include "evsink.h"
#include "model.h"
#include "rfc3339.h"
#include "tstore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRIFT_MAX_WINDOW 20000000u

/* The window's raw feature values, one column per feature. */
typedef struct window {
    double *col[MODEL_NRAW];
    size_t n, cap;
    int failed;
} window;

static int window_row(void *vctx, const char *device, int64_t time_us, const double *x, size_t nx,
                      int label)
{
    (void)device;
    (void)time_us;
    (void)label;
    window *w = vctx;
    if (nx != MODEL_NRAW)
        return w->failed = ADT_EINTERNAL;
    if (w->n == w->cap) {
        if (w->cap >= DRIFT_MAX_WINDOW)
            return w->failed = ADT_ETOOBIG;
        size_t nc = w->cap ? w->cap * 2 : 4096;
        for (size_t f = 0; f < MODEL_NRAW; f++) {
            double *p = realloc(w->col[f], nc * sizeof *p);
            if (!p)
                return w->failed = ADT_ENOMEM;
            w->col[f] = p;
        }
        w->cap = nc;
    }
    for (size_t f = 0; f < MODEL_NRAW; f++)
        w->col[f][w->n] = x[f];
    w->n++;
    return 0;
}

static void window_free(window *w)
{
    for (size_t f = 0; f < MODEL_NRAW; f++)
        free(w->col[f]);
}

/* The model's training summary per raw feature, from models.db. */
static int load_refs(const char *data_dir, const char *name, const char *version,
                     model_info *info, drift_ref refs[MODEL_NRAW], adt_err *err)
{
    char *drift_json = NULL;
    int rc = model_get(data_dir, name, version, info, &drift_json, err);
    if (rc)
        return rc;
    cJSON *dj = drift_json ? cJSON_Parse(drift_json) : NULL;
    free(drift_json);
    if (!dj)
        return adt_fail(err, ADT_ECORRUPT,
                        "model %s@%s has no readable drift summary in models.db; re-register it",
                        info->name, info->version);
    for (size_t f = 0; !rc && f < MODEL_NRAW; f++) {
        const cJSON *fj = cJSON_GetObjectItemCaseSensitive(dj, model_feature_names[f]);
        if (drift_ref_from_json(fj, &refs[f], err)) {
            adt_err_prefix(err, "model %s@%s, feature %s", info->name, info->version,
                           model_feature_names[f]);
            rc = ADT_ECORRUPT;
        }
    }
    cJSON_Delete(dj);
    return rc;
}

static int read_window(const char *data_dir, int64_t from_us, int64_t to_us, window *w,
                       adt_err *err)
{
    tstore *ts = NULL;
    int rc = tstore_open(data_dir, &ts, err);
    if (rc)
        return rc;
    rc = tstore_window_rows(ts, from_us, to_us, model_feature_names, MODEL_NRAW, window_row, w,
                            err);
    tstore_close(ts);
    if (w->failed)
        return adt_fail(err, w->failed, "reading the window: %s",
                        w->failed == ADT_ETOOBIG ? "more than 20 million readings; narrow "
                                                   "--from/--to"
                                                 : "out of memory");
    if (!rc && w->n == 0) {
        char f[32], t[32];
        rfc3339_format_s(from_us, f, sizeof f);
        rfc3339_format_s(to_us, t, sizeof t);
        rc = adt_fail(err, ADT_ENOTFOUND, "no telemetry between %s and %s: choose another window",
                      f, t);
    }
    return rc;
}

/* PSI and KS of each feature; returns how many drifted. */
static size_t measure(const drift_ref refs[MODEL_NRAW], window *w, driftcheck_report *rep)
{
    size_t ndrift = 0;
    for (size_t f = 0; f < MODEL_NRAW; f++) {
        driftcheck_feature *df = &rep->features[rep->nfeatures++];
        snprintf(df->feature, sizeof df->feature, "%s", model_feature_names[f]);
        adt_err e2;
        if (drift_psi_ref(&refs[f], w->col[f], w->n, &df->psi, &e2) != ADT_OK) {
            /* No finite value of this feature in the window: nothing to compare. */
            df->psi = df->ks = df->ks_p = NAN;
            continue;
        }
        size_t m = 0;
        drift_ks_ref(&refs[f], w->col[f], w->n, &df->ks, &m, &e2);
        df->n = m;
        df->ks_p = drift_ks_pvalue(df->ks, refs[f].n, m);
        df->drifted = df->psi > rep->threshold;
        ndrift += (size_t)df->drifted;
    }
    return ndrift;
}

/* One drift.detected per drifted feature, then one alert.raise. */
static int record_drift(const char *data_dir, const char *actor, int64_t at_us,
                        driftcheck_report *rep, size_t ndrift, adt_err *err)
{
    int64_t now = at_us ? at_us : rfc3339_now_us();
    snprintf(rep->alert_id, sizeof rep->alert_id, "drift-%s-%lld", rep->model, (long long)now);
    evsink_event evs[MODEL_NRAW + 1];
    size_t nev = 0;
    for (size_t f = 0; f < rep->nfeatures; f++) {
        const driftcheck_feature *df = &rep->features[f];
        if (!df->drifted)
            continue;
        evsink_event *e = &evs[nev++];
        evsink_begin(e, EVSINK_MODELS, "drift.detected", EVENT_WRITER_AUDITD, actor);
        evsink_at(e, now);
        evsink_str(e, "model", rep->model);
        evsink_str(e, "version", rep->version);
        evsink_str(e, "feature", df->feature);
        evsink_num(e, "psi", round(df->psi * 1e6) / 1e6);
        evsink_num(e, "ks", round(df->ks * 1e6) / 1e6);
        evsink_num(e, "ks_p", df->ks_p);
        evsink_num(e, "threshold", rep->threshold);
        evsink_str(e, "alert_id", rep->alert_id);
    }
    char from[32], to[32];
    rfc3339_format_s(rep->from_us, from, sizeof from);
    rfc3339_format_s(rep->to_us, to, sizeof to);
    evsink_event *e = &evs[nev++];
    evsink_begin(e, EVSINK_MODELS, "alert.raise", EVENT_WRITER_AUDITD, actor);
    evsink_at(e, now);
    evsink_str(e, "alert_id", rep->alert_id);
    evsink_str(e, "kind", "drift");
    evsink_str(e, "model", rep->model);
    evsink_str(e, "version", rep->version);
    evsink_str(e, "from", from);
    evsink_str(e, "to", to);
    evsink_uint(e, "features", ndrift);
    evsink s = {.data_dir = data_dir};
    int rc = evsink_record(&s, evs, nev, NULL, err);
    for (size_t i = 0; i < nev; i++)
        evsink_free(&evs[i]);
    if (!rc)
        rep->alerted = 1;
    return rc;
}

int driftcheck_run(const char *data_dir, const char *name, const char *version, int64_t from_us,
                   int64_t to_us, double threshold, const char *actor, int64_t at_us,
                   driftcheck_report *rep, adt_err *err)
{
    memset(rep, 0, sizeof *rep);
    if (!(threshold > 0) || !isfinite(threshold))
        return adt_fail(err, ADT_EINVAL, "drift threshold must be a positive number");
    if (from_us >= to_us)
        return adt_fail(err, ADT_EINVAL, "the window is empty: --from must be before --to");
    model_info info;
    drift_ref refs[MODEL_NRAW];
    window w = {0};
    int rc = load_refs(data_dir, name, version, &info, refs, err);
    if (!rc)
        rc = read_window(data_dir, from_us, to_us, &w, err);
    if (!rc) {
        snprintf(rep->model, sizeof rep->model, "%s", info.name);
        snprintf(rep->version, sizeof rep->version, "%s", info.version);
        rep->from_us = from_us;
        rep->to_us = to_us;
        rep->threshold = threshold;
        rep->rows = w.n;
        size_t ndrift = measure(refs, &w, rep);
        if (ndrift)
            rc = record_drift(data_dir, actor, at_us, rep, ndrift, err);
    }
    window_free(&w);
    return rc;
}
