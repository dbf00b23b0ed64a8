/* model.c: features, metrics, training with the XGBoost C API, and the scorer
 * ingestion uses. The registry (models.db) is in model_reg.c. */
#include "model.h"

#include "afile.h"
#include "buf.h"
#include "drift.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xgboost/c_api.h>

const char *const model_feature_names[MODEL_NFEAT] = {
    "air_temp_k",   "process_temp_k", "rotational_speed_rpm",
    "torque_nm",    "tool_wear_min",  "machine_type",
    "temp_diff_k",  "power_w",        "wear_torque",
};

enum { F_AIR, F_PROC, F_RPM, F_TORQUE, F_WEAR, F_TYPE };

void model_derive(const double *raw, float *out)
{
    for (int i = 0; i < MODEL_NRAW; i++)
        out[i] = (float)raw[i];
    out[MODEL_NRAW + 0] = (float)(raw[F_PROC] - raw[F_AIR]);
    /* P = T * omega, omega = 2 pi n / 60 for n in rpm. */
    out[MODEL_NRAW + 1] = (float)(raw[F_TORQUE] * raw[F_RPM] * (2.0 * M_PI / 60.0));
    out[MODEL_NRAW + 2] = (float)(raw[F_WEAR] * raw[F_TORQUE]);
    /* XGBoost refuses infinities in a whole batch; treat them as missing. */
    for (int i = 0; i < MODEL_NFEAT; i++)
        if (isinf(out[i]))
            out[i] = NAN;
}

/* ---- Metrics ---------------------------------------------------------------- */

typedef struct scored {
    float s;
    int y;
} scored;

static int cmp_scored_desc(const void *a, const void *b)
{
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x < y) - (x > y);
}

/* Sorted (descending) copy of the scores with their labels; caller frees. */
static scored *sort_scores(const float *score, const int *label, size_t n)
{
    scored *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        v[i].s = isnan(score[i]) ? -INFINITY : score[i];
        v[i].y = label[i] == 1;
    }
    qsort(v, n, sizeof *v, cmp_scored_desc);
    return v;
}

int model_average_precision(const float *score, const int *label, size_t n, double *ap)
{
    *ap = 0;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += label[i] == 1;
    if (pos == 0)
        return ADT_OK;
    scored *v = sort_scores(score, label, n);
    if (!v)
        return ADT_ENOMEM;
    size_t tp = 0, k = 0;
    double prev_recall = 0, sum = 0;
    while (k < n) {
        /* One threshold per distinct score: ties enter together. */
        size_t j = k;
        while (j < n && v[j].s == v[k].s) {
            tp += (size_t)v[j].y;
            j++;
        }
        double recall = (double)tp / (double)pos;
        double precision = (double)tp / (double)j;
        sum += (recall - prev_recall) * precision;
        prev_recall = recall;
        k = j;
    }
    free(v);
    *ap = sum;
    return ADT_OK;
}

int model_evaluate(const float *score, const int *label, size_t n, double threshold,
                   model_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    m->threshold = threshold;
    for (size_t i = 0; i < n; i++) {
        int y = label[i] == 1, p = score[i] >= threshold;
        m->positives += (size_t)y;
        m->tp += (size_t)(y && p);
        m->fp += (size_t)(!y && p);
        m->fn += (size_t)(y && !p);
    }
    m->precision = m->tp + m->fp ? (double)m->tp / (double)(m->tp + m->fp) : 0;
    m->recall = m->positives ? (double)m->tp / (double)m->positives : 0;
    m->f1 = m->precision + m->recall > 0
                ? 2 * m->precision * m->recall / (m->precision + m->recall)
                : 0;
    return model_average_precision(score, label, n, &m->pr_auc);
}

/* ---- Rows ------------------------------------------------------------------- */

struct model_rows {
    double *raw;     /* n * MODEL_NRAW */
    int *label;
    uint64_t *hash;  /* split hash of the row key */
    size_t n, cap;
};

/* FNV-1a 64 then the splitmix64 finaliser, so that close keys spread evenly. */
static uint64_t key_hash(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

int model_rows_new(model_rows **out, adt_err *err)
{
    *out = calloc(1, sizeof **out);
    return *out ? ADT_OK : adt_fail(err, ADT_ENOMEM, "out of memory");
}

void model_rows_free(model_rows *r)
{
    if (!r)
        return;
    free(r->raw);
    free(r->label);
    free(r->hash);
    free(r);
}

size_t model_rows_count(const model_rows *r)
{
    return r->n;
}

int model_rows_add(model_rows *r, const char *key, size_t keylen, const double *raw, int label,
                   adt_err *err)
{
    if (label != 0 && label != 1)
        return adt_fail(err, ADT_EINVAL, "row label must be 0 or 1, got %d", label);
    if (r->n == r->cap) {
        if (r->cap >= MODEL_MAX_ROWS)
            return adt_fail(err, ADT_ETOOBIG, "more than %u rows: define a smaller dataset",
                            MODEL_MAX_ROWS);
        size_t nc = r->cap ? r->cap * 2 : 4096;
        double *nr = realloc(r->raw, nc * MODEL_NRAW * sizeof *nr);
        if (!nr)
            return adt_fail(err, ADT_ENOMEM, "out of memory");
        r->raw = nr;
        int *nl = realloc(r->label, nc * sizeof *nl);
        if (!nl)
            return adt_fail(err, ADT_ENOMEM, "out of memory");
        r->label = nl;
        uint64_t *nh = realloc(r->hash, nc * sizeof *nh);
        if (!nh)
            return adt_fail(err, ADT_ENOMEM, "out of memory");
        r->hash = nh;
        r->cap = nc;
    }
    memcpy(r->raw + r->n * MODEL_NRAW, raw, MODEL_NRAW * sizeof *raw);
    r->label[r->n] = label;
    r->hash[r->n] = key_hash(key, keylen);
    r->n++;
    return ADT_OK;
}

/* ---- XGBoost helpers ----------------------------------------------------------- */

static int xgb_fail(adt_err *err, const char *what)
{
    return adt_fail(err, ADT_EINTERNAL, "XGBoost %s failed: %s", what, XGBGetLastError());
}

typedef struct train_params {
    int rounds, max_depth;
    double eta;
    unsigned long long seed;
    int nthread;
} train_params;

/* Train a binary:logistic booster on x (n x MODEL_NFEAT floats) and y. */
static int booster_train(const float *x, const float *y, size_t n, const train_params *p,
                         BoosterHandle *out, double *spw_out, adt_err *err)
{
    *out = NULL;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += y[i] > 0.5f;
    if (pos == 0 || pos == n)
        return adt_fail(err, ADT_EINVAL,
                        "the training rows hold %s: a classifier needs both classes",
                        pos == 0 ? "no failure" : "only failures");
    /* Class imbalance: weight positives by negatives/positives (XGBoost docs,
     * "Parameters", scale_pos_weight). */
    double spw = (double)(n - pos) / (double)pos;
    if (spw_out)
        *spw_out = spw;
    DMatrixHandle d = NULL;
    BoosterHandle b = NULL;
    if (XGDMatrixCreateFromMat(x, n, MODEL_NFEAT, NAN, &d))
        return xgb_fail(err, "DMatrix creation");
    if (XGDMatrixSetFloatInfo(d, "label", y, n)) {
        XGDMatrixFree(d);
        return xgb_fail(err, "setting labels");
    }
    if (XGBoosterCreate(&d, 1, &b)) {
        XGDMatrixFree(d);
        return xgb_fail(err, "booster creation");
    }
    char v_depth[16], v_eta[32], v_seed[32], v_spw[32], v_thr[16];
    snprintf(v_depth, sizeof v_depth, "%d", p->max_depth);
    snprintf(v_eta, sizeof v_eta, "%.6g", p->eta);
    snprintf(v_seed, sizeof v_seed, "%llu", p->seed);
    snprintf(v_spw, sizeof v_spw, "%.9g", spw);
    snprintf(v_thr, sizeof v_thr, "%d", p->nthread);
    const char *params[][2] = {
        {"verbosity", "0"},         {"objective", "binary:logistic"},
        {"eval_metric", "aucpr"},   {"tree_method", "hist"},
        {"max_depth", v_depth},     {"eta", v_eta},
        {"seed", v_seed},           {"scale_pos_weight", v_spw},
        {"subsample", "0.9"},       {"min_child_weight", "1"},
        {"nthread", v_thr},
    };
    int rc = ADT_OK;
    for (size_t i = 0; i < sizeof params / sizeof params[0] && !rc; i++)
        if (XGBoosterSetParam(b, params[i][0], params[i][1]))
            rc = xgb_fail(err, "SetParam");
    for (int it = 0; it < p->rounds && !rc; it++)
        if (XGBoosterUpdateOneIter(b, it, d))
            rc = xgb_fail(err, "training iteration");
    XGDMatrixFree(d);
    if (rc) {
        XGBoosterFree(b);
        return rc;
    }
    *out = b;
    return ADT_OK;
}

/* Predict a dense row-major float matrix with one DMatrix per batch. Measured
 * against XGBoosterPredictFromDense (in-place, array interface) with
 * XGBoost 1.7 on one thread, this path was about 20 % faster per row for
 * batches of 1,000 (bench/bench_models.c). */
static int booster_predict(BoosterHandle b, const float *x, size_t n, float *out, adt_err *err)
{
    if (n == 0)
        return ADT_OK;
    DMatrixHandle d = NULL;
    if (XGDMatrixCreateFromMat(x, n, MODEL_NFEAT, NAN, &d))
        return xgb_fail(err, "DMatrix creation");
    static const char cfg[] = "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
                              "\"iteration_end\":0,\"strict_shape\":false}";
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    int rc = ADT_OK;
    if (XGBoosterPredictFromDMatrix(b, d, cfg, &shape, &dim, &res)) {
        rc = xgb_fail(err, "prediction");
    } else {
        bst_ulong total = 1;
        for (bst_ulong i = 0; i < dim; i++)
            total *= shape[i];
        if (total != n)
            rc = adt_fail(err, ADT_EINTERNAL, "XGBoost returned %llu predictions for %zu rows",
                          (unsigned long long)total, n);
        else
            memcpy(out, res, n * sizeof *out);
    }
    XGDMatrixFree(d);
    return rc;
}

/* ---- Training ------------------------------------------------------------------- */

#define MODEL_FOLDS 4
#define MODEL_TEST_PERCENT 20

/* Choose the decision threshold from out-of-fold scores. Among thresholds
 * whose precision is at least `min_precision`, find the best recall R*; then
 * take the most precise threshold whose recall is within MODEL_RECALL_SLACK
 * of R* (buying much precision for a point of recall, which the plain
 * "highest recall" rule would not). When no threshold reaches the precision,
 * the one with the best F1. */
#define MODEL_RECALL_SLACK 0.02
static double choose_threshold(const float *score, const int *label, size_t n,
                               double min_precision)
{
    scored *v = sort_scores(score, label, n);
    double *cp = malloc((n ? n : 1) * sizeof *cp), *cr = malloc((n ? n : 1) * sizeof *cr);
    float *ct = malloc((n ? n : 1) * sizeof *ct);
    if (!v || !cp || !cr || !ct) {
        free(v);
        free(cp);
        free(cr);
        free(ct);
        return 0.5;
    }
    size_t pos = 0, m = 0;
    for (size_t i = 0; i < n; i++)
        pos += (size_t)v[i].y;
    size_t tp = 0, k = 0;
    while (k < n && pos > 0) {
        size_t j = k;
        while (j < n && v[j].s == v[k].s)
            tp += (size_t)v[j++].y;
        cp[m] = (double)tp / (double)j;
        cr[m] = (double)tp / (double)pos;
        ct[m++] = v[k].s;
        k = j;
    }
    double best_r = -1, f1_best = -1, t = 0.5;
    for (size_t i = 0; i < m; i++) {
        if (cp[i] >= min_precision && cr[i] > best_r)
            best_r = cr[i];
        double f1 = cp[i] + cr[i] > 0 ? 2 * cp[i] * cr[i] / (cp[i] + cr[i]) : 0;
        if (best_r < 0 && f1 > f1_best) {
            f1_best = f1;
            t = ct[i];
        }
    }
    if (best_r >= 0) {
        double best_p = -1;
        for (size_t i = 0; i < m; i++)
            if (cp[i] >= min_precision && cr[i] >= best_r - MODEL_RECALL_SLACK &&
                cp[i] > best_p) {
                best_p = cp[i];
                t = ct[i];
            }
    }
    free(v);
    free(cp);
    free(cr);
    free(ct);
    return t;
}

static cJSON *metrics_json(const model_metrics *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    /* Six decimals: stable text across platforms, ample for rates. */
    if (!cJSON_AddNumberToObject(o, "precision", round(m->precision * 1e6) / 1e6) ||
        !cJSON_AddNumberToObject(o, "recall", round(m->recall * 1e6) / 1e6) ||
        !cJSON_AddNumberToObject(o, "pr_auc", round(m->pr_auc * 1e6) / 1e6) ||
        !cJSON_AddNumberToObject(o, "f1", round(m->f1 * 1e6) / 1e6) ||
        !cJSON_AddNumberToObject(o, "n", (double)m->n) ||
        !cJSON_AddNumberToObject(o, "positives", (double)m->positives) ||
        !cJSON_AddNumberToObject(o, "tp", (double)m->tp) ||
        !cJSON_AddNumberToObject(o, "fp", (double)m->fp) ||
        !cJSON_AddNumberToObject(o, "fn", (double)m->fn)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *model_metrics_json(const model_metrics *m)
{
    return metrics_json(m);
}

static int build_meta(const model_rows *rows, const model_train_opts *o, const train_params *p,
                      const model_train_result *res, buf *out, adt_err *err)
{
    cJSON *m = cJSON_CreateObject();
    cJSON *feat = cJSON_CreateStringArray(model_feature_names, MODEL_NRAW);
    cJSON *der = cJSON_CreateStringArray(model_feature_names + MODEL_NRAW, MODEL_NDERIVED);
    cJSON *params = cJSON_CreateObject();
    cJSON *split = cJSON_CreateObject();
    cJSON *mt = metrics_json(&res->test);
    cJSON *mo = metrics_json(&res->train_oof);
    cJSON *drift = cJSON_CreateObject();
    int rc = ADT_OK;
    if (!m || !feat || !der || !params || !split || !mt || !mo || !drift) {
        cJSON_Delete(feat);
        cJSON_Delete(der);
        cJSON_Delete(params);
        cJSON_Delete(split);
        cJSON_Delete(mt);
        cJSON_Delete(mo);
        cJSON_Delete(drift);
        cJSON_Delete(m);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    cJSON_AddItemToObject(m, "features", feat);
    cJSON_AddItemToObject(m, "derived", der);
    cJSON_AddItemToObject(m, "params", params);
    cJSON_AddItemToObject(m, "split", split);
    cJSON_AddItemToObject(m, "metrics", mt);
    cJSON_AddItemToObject(m, "train_metrics", mo);
    cJSON_AddItemToObject(m, "drift", drift);
    int major = 0, minor = 0, patch = 0;
    XGBoostVersion(&major, &minor, &patch);
    char xv[32];
    snprintf(xv, sizeof xv, "%d.%d.%d", major, minor, patch);
    if (!cJSON_AddStringToObject(m, "format", "auditd-model-meta/1") ||
        !cJSON_AddStringToObject(m, "featureset", MODEL_FEATURESET) ||
        !cJSON_AddStringToObject(m, "name", o->name ? o->name : "") ||
        !cJSON_AddStringToObject(m, "dataset", o->dataset ? o->dataset : "") ||
        !cJSON_AddStringToObject(m, "objective", "binary:logistic") ||
        !cJSON_AddStringToObject(m, "model_format", "xgboost-json") ||
        !cJSON_AddStringToObject(m, "xgboost_version", xv) ||
        !cJSON_AddStringToObject(m, "model_sha256", res->sha256) ||
        !cJSON_AddNumberToObject(m, "threshold", res->threshold) ||
        !cJSON_AddNumberToObject(params, "rounds", p->rounds) ||
        !cJSON_AddNumberToObject(params, "max_depth", p->max_depth) ||
        !cJSON_AddNumberToObject(params, "eta", p->eta) ||
        !cJSON_AddNumberToObject(params, "seed", (double)p->seed) ||
        !cJSON_AddNumberToObject(params, "scale_pos_weight",
                                 round(res->scale_pos_weight * 1e6) / 1e6) ||
        !cJSON_AddNumberToObject(params, "min_precision", o->min_precision) ||
        !cJSON_AddStringToObject(split, "method",
                                 "splitmix64(fnv1a64(row key)) mod 100 < 20 is held out") ||
        !cJSON_AddNumberToObject(split, "train", (double)res->n_train) ||
        !cJSON_AddNumberToObject(split, "test", (double)res->n_test))
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
    /* Training distribution summary of each raw feature, over the whole dataset. */
    double *col = rc ? NULL : malloc((rows->n ? rows->n : 1) * sizeof *col);
    if (!rc && !col)
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
    for (size_t f = 0; f < MODEL_NRAW && !rc; f++) {
        for (size_t i = 0; i < rows->n; i++)
            col[i] = rows->raw[i * MODEL_NRAW + f];
        drift_ref ref;
        rc = drift_ref_build(col, rows->n, &ref, err);
        if (rc) {
            adt_err_prefix(err, "feature %s", model_feature_names[f]);
            break;
        }
        cJSON *rj = drift_ref_to_json(&ref);
        if (!rj || !cJSON_AddItemToObject(drift, model_feature_names[f], rj)) {
            cJSON_Delete(rj);
            rc = adt_fail(err, ADT_ENOMEM, "out of memory");
        }
    }
    free(col);
    if (!rc) {
        char *text = cJSON_Print(m);
        if (!text || buf_puts(out, text) || buf_putc(out, '\n'))
            rc = adt_fail(err, ADT_ENOMEM, "metadata too large");
        free(text);
    }
    cJSON_Delete(m);
    return rc;
}

/* The arrays of one training run: derived features and labels of every row,
 * the split into training and held-out rows, and scratch space. */
typedef struct train_work {
    size_t n, ntr, nte;
    float *x, *y;        /* features and labels of every row */
    int *lab;
    size_t *tr_idx, *te_idx; /* rows of the training and held-out parts */
    float *xa, *ya;      /* scratch: a fold's rows, predictions */
    float *score;
    int *la;
} train_work;

static void work_free(train_work *w)
{
    free(w->x);
    free(w->y);
    free(w->lab);
    free(w->tr_idx);
    free(w->te_idx);
    free(w->xa);
    free(w->ya);
    free(w->score);
    free(w->la);
}

static int work_alloc(train_work *w, size_t n, adt_err *err)
{
    size_t m = n ? n : 1;
    memset(w, 0, sizeof *w);
    w->n = n;
    w->x = malloc(m * MODEL_NFEAT * sizeof *w->x);
    w->y = malloc(m * sizeof *w->y);
    w->lab = malloc(m * sizeof *w->lab);
    w->tr_idx = malloc(m * sizeof *w->tr_idx);
    w->te_idx = malloc(m * sizeof *w->te_idx);
    w->xa = malloc(m * MODEL_NFEAT * sizeof *w->xa);
    w->ya = malloc(m * sizeof *w->ya);
    w->score = malloc(m * sizeof *w->score);
    w->la = calloc(m, sizeof *w->la); /* calloc: GCC cannot see every slot is written */
    if (w->x && w->y && w->lab && w->tr_idx && w->te_idx && w->xa && w->ya && w->score && w->la)
        return ADT_OK;
    work_free(w);
    return adt_fail(err, ADT_ENOMEM, "out of memory for %zu rows", n);
}

/* Derive the features and split the rows by hash: MODEL_TEST_PERCENT held
 * out. The held-out part must hold both classes. */
static int split_rows(const model_rows *rows, train_work *w, model_train_result *res,
                      adt_err *err)
{
    for (size_t i = 0; i < w->n; i++) {
        model_derive(rows->raw + i * MODEL_NRAW, w->x + i * MODEL_NFEAT);
        w->y[i] = (float)rows->label[i];
        w->lab[i] = rows->label[i];
        if (rows->hash[i] % 100 < MODEL_TEST_PERCENT)
            w->te_idx[w->nte++] = i;
        else
            w->tr_idx[w->ntr++] = i;
    }
    res->n_train = w->ntr;
    res->n_test = w->nte;
    size_t te_pos = 0;
    for (size_t i = 0; i < w->nte; i++)
        te_pos += (size_t)w->lab[w->te_idx[i]];
    if (w->nte == 0 || te_pos == 0 || te_pos == w->nte)
        return adt_fail(err, ADT_EINVAL,
                        "the held-out part (%zu rows, %zu failures) needs both classes: use a "
                        "larger dataset",
                        w->nte, te_pos);
    return ADT_OK;
}

/* Out-of-fold scores on the training part, to choose the threshold on data
 * the scoring model did not see. Fold = (hash / 100) mod MODEL_FOLDS. */
static int choose_oof_threshold(const model_rows *rows, train_work *w, const train_params *p,
                                double min_precision, model_train_result *res, adt_err *err)
{
    int rc = ADT_OK;
    for (int fold = 0; fold < MODEL_FOLDS && !rc; fold++) {
        size_t na = 0, nv = 0;
        for (size_t k = 0; k < w->ntr; k++) {
            size_t i = w->tr_idx[k];
            if ((int)((rows->hash[i] / 100) % MODEL_FOLDS) == fold)
                continue;
            memcpy(w->xa + na * MODEL_NFEAT, w->x + i * MODEL_NFEAT, MODEL_NFEAT * sizeof *w->xa);
            w->ya[na++] = w->y[i];
        }
        BoosterHandle b = NULL;
        if ((rc = booster_train(w->xa, w->ya, na, p, &b, NULL, err))) {
            adt_err_prefix(err, "fold %d", fold);
            break;
        }
        for (size_t k = 0; k < w->ntr; k++) {
            size_t i = w->tr_idx[k];
            if ((int)((rows->hash[i] / 100) % MODEL_FOLDS) == fold)
                memcpy(w->xa + nv++ * MODEL_NFEAT, w->x + i * MODEL_NFEAT,
                       MODEL_NFEAT * sizeof *w->xa);
        }
        rc = booster_predict(b, w->xa, nv, w->ya, err);
        XGBoosterFree(b);
        nv = 0;
        for (size_t k = 0; k < w->ntr && !rc; k++) {
            size_t i = w->tr_idx[k];
            if ((int)((rows->hash[i] / 100) % MODEL_FOLDS) == fold)
                w->score[k] = w->ya[nv++];
        }
    }
    if (rc)
        return rc;
    for (size_t k = 0; k < w->ntr; k++)
        w->la[k] = w->lab[w->tr_idx[k]];
    res->threshold = choose_threshold(w->score, w->la, w->ntr, min_precision);
    if (model_evaluate(w->score, w->la, w->ntr, res->threshold, &res->train_oof))
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    return ADT_OK;
}

/* The model itself, trained on the whole training part, and its metrics
 * on the held-out part. */
static int fit_and_test(train_work *w, const train_params *p, BoosterHandle *b,
                        model_train_result *res, adt_err *err)
{
    for (size_t k = 0; k < w->ntr; k++) {
        memcpy(w->xa + k * MODEL_NFEAT, w->x + w->tr_idx[k] * MODEL_NFEAT,
               MODEL_NFEAT * sizeof *w->xa);
        w->ya[k] = w->y[w->tr_idx[k]];
    }
    int rc = booster_train(w->xa, w->ya, w->ntr, p, b, &res->scale_pos_weight, err);
    if (rc)
        return rc;
    for (size_t k = 0; k < w->nte; k++) {
        memcpy(w->xa + k * MODEL_NFEAT, w->x + w->te_idx[k] * MODEL_NFEAT,
               MODEL_NFEAT * sizeof *w->xa);
        w->la[k] = w->lab[w->te_idx[k]];
    }
    if ((rc = booster_predict(*b, w->xa, w->nte, w->score, err)))
        return rc;
    if (model_evaluate(w->score, w->la, w->nte, res->threshold, &res->test))
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    return ADT_OK;
}

/* Write the model (JSON) to o->out_path and its metadata beside it. */
static int save_model(BoosterHandle b, const model_rows *rows, const model_train_opts *o,
                      const train_params *p, model_train_result *res, adt_err *err)
{
    bst_ulong mlen = 0;
    const char *mdata = NULL;
    if (XGBoosterSaveModelToBuffer(b, "{\"format\":\"json\"}", &mlen, &mdata))
        return xgb_fail(err, "saving the model");
    sha256_hex(mdata, (size_t)mlen, res->sha256);
    int rc = afile_write(o->out_path, mdata, (size_t)mlen, 0644, err);
    if (rc)
        return rc;
    buf meta, mp;
    buf_init(&meta, MODEL_META_MAX);
    buf_init(&mp, 8192);
    if (!(rc = build_meta(rows, o, p, res, &meta, err))) {
        if (buf_printf(&mp, "%s.meta.json", o->out_path))
            rc = adt_fail(err, ADT_EINVAL, "output path too long");
        else
            rc = afile_write(mp.data, meta.data, meta.len, 0644, err);
    }
    buf_free(&mp);
    buf_free(&meta);
    return rc;
}

int model_train(const model_rows *rows, const model_train_opts *o, model_train_result *res,
                adt_err *err)
{
    memset(res, 0, sizeof *res);
    if (!o->out_path || !*o->out_path)
        return adt_fail(err, ADT_EINVAL, "no output file: pass --out FILE");
    train_params p = {
        .rounds = o->rounds > 0 ? o->rounds : 50,
        .max_depth = o->max_depth > 0 ? o->max_depth : 4,
        .eta = o->eta > 0 ? o->eta : 0.2,
        .seed = o->seed,
        .nthread = 1, /* OpenMP spinning on busy shared machines costs more than it saves here */
    };
    model_train_opts oo = *o;
    oo.min_precision = o->min_precision > 0 ? o->min_precision : 0.6;
    if (p.rounds > 5000 || p.max_depth > 16 || p.eta > 1 || oo.min_precision > 1)
        return adt_fail(err, ADT_EINVAL,
                        "training options out of range (rounds <= 5000, depth <= 16, eta <= 1)");
    train_work w;
    int rc = work_alloc(&w, rows->n, err);
    if (rc)
        return rc;
    BoosterHandle b = NULL;
    if (!(rc = split_rows(rows, &w, res, err)) &&
        !(rc = choose_oof_threshold(rows, &w, &p, oo.min_precision, res, err)) &&
        !(rc = fit_and_test(&w, &p, &b, res, err)))
        rc = save_model(b, rows, &oo, &p, res, err);
    if (b)
        XGBoosterFree(b);
    work_free(&w);
    return rc;
}

/* ---- Scorer --------------------------------------------------------------------- */

struct model_scorer {
    BoosterHandle b;
    char name[MODEL_NAME_MAX + 1];
    char version[MODEL_VERSION_MAX + 1];
    float threshold;
    float *x;        /* derived-feature scratch, grown as batches need */
    size_t cap;      /* rows x can hold */
};

int model_scorer_load(const model_info *info, model_scorer **out, adt_err *err)
{
    *out = NULL;
    buf data;
    buf_init(&data, MODEL_FILE_MAX);
    int rc = afile_read(info->file, MODEL_FILE_MAX, &data, err);
    if (rc) {
        buf_free(&data);
        adt_err_prefix(err, "deployed model %s@%s", info->name, info->version);
        return rc;
    }
    /* Hash what is loaded, not the path: the bytes scored with are the bytes approved. */
    char hex[SHA256_HEX_LEN];
    sha256_hex(data.data, data.len, hex);
    if (strcmp(hex, info->sha256) != 0) {
        buf_free(&data);
        return adt_fail(err, ADT_ECORRUPT,
                        "deployed model %s@%s: %s has SHA-256 %s but %s was approved; restore "
                        "the file or deploy a new version",
                        info->name, info->version, info->file, hex, info->sha256);
    }
    model_scorer *s = calloc(1, sizeof *s);
    if (!s) {
        buf_free(&data);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    if (XGBoosterCreate(NULL, 0, &s->b) ||
        XGBoosterLoadModelFromBuffer(s->b, data.data, (bst_ulong)data.len) ||
        XGBoosterSetParam(s->b, "nthread", "1") || XGBoosterSetParam(s->b, "verbosity", "0")) {
        rc = xgb_fail(err, "loading the deployed model");
        buf_free(&data);
        model_scorer_close(s);
        return rc;
    }
    buf_free(&data);
    bst_ulong nf = 0;
    if (XGBoosterGetNumFeature(s->b, &nf) || nf != MODEL_NFEAT) {
        model_scorer_close(s);
        return adt_fail(err, ADT_ECORRUPT, "deployed model %s@%s expects %llu features, not %d",
                        info->name, info->version, (unsigned long long)nf, MODEL_NFEAT);
    }
    snprintf(s->name, sizeof s->name, "%s", info->name);
    snprintf(s->version, sizeof s->version, "%s", info->version);
    s->threshold = (float)info->threshold;
    *out = s;
    return ADT_OK;
}

int model_scorer_score(model_scorer *s, const double *x, size_t nrows, size_t nx, float *prob,
                       adt_err *err)
{
    if (nx != MODEL_NRAW)
        return adt_fail(err, ADT_EINVAL, "scorer needs %d raw features per row, got %zu",
                        MODEL_NRAW, nx);
    if (nrows == 0)
        return ADT_OK;
    if (nrows > s->cap) {
        if (nrows > MODEL_MAX_ROWS)
            return adt_fail(err, ADT_ETOOBIG, "batch of %zu rows is over %u", nrows,
                            MODEL_MAX_ROWS);
        float *nb = realloc(s->x, nrows * MODEL_NFEAT * sizeof *nb);
        if (!nb)
            return adt_fail(err, ADT_ENOMEM, "out of memory");
        s->x = nb;
        s->cap = nrows;
    }
    for (size_t i = 0; i < nrows; i++)
        model_derive(x + i * MODEL_NRAW, s->x + i * MODEL_NFEAT);
    return booster_predict(s->b, s->x, nrows, prob, err);
}

const char *const *model_scorer_features(const model_scorer *s, size_t *n)
{
    (void)s;
    *n = MODEL_NRAW;
    return model_feature_names;
}

const char *model_scorer_model(const model_scorer *s)
{
    return s->name;
}

const char *model_scorer_version(const model_scorer *s)
{
    return s->version;
}

float model_scorer_threshold(const model_scorer *s)
{
    return s->threshold;
}

void model_scorer_close(model_scorer *s)
{
    if (!s)
        return;
    if (s->b)
        XGBoosterFree(s->b);
    free(s->x);
    free(s);
}
