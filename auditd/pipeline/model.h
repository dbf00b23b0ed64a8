/* model.h: failure-classifier models: training, the registry, deployment
 * gating and cheap batch inference (XGBoost C API). See docs/models.md.
 *
 * Data: `<data-dir>/models.db` (SQLite, WAL) holds registered versions, their
 * approvals and deployments; model files live where the caller put them
 * (`auditd model train --out`), pinned by their SHA-256.
 *
 * Ownership: every handle returned here is freed by its matching close/free;
 * strings returned by accessors are owned by the handle and live as long as it. */
#ifndef AUDITD_MODEL_H
#define AUDITD_MODEL_H

#include "status.h"

#include <cjson/cJSON.h>

#include <stddef.h>
#include <stdint.h>

/* ---- Scoring (called by ingestion) ---------------------------------------- */

typedef struct model_scorer model_scorer;
typedef struct model_info model_info; /* a registered version: see the registry below */

#define MODEL_FILE_MAX (256u << 20) /* a model file is at most this large */

/* Load the model currently deployed in `data_dir` (the newest `deployed` row
 * of models.db, model_reg.c), checking the file's SHA-256 against the
 * registered one. ADT_ENOTFOUND if no model is deployed (callers then skip
 * scoring). */
int model_scorer_open(const char *data_dir, model_scorer **out, adt_err *err);
/* The same for a given registered version `info` (model.c). */
int model_scorer_load(const model_info *info, model_scorer **out, adt_err *err);

/* Score `nrows` rows of raw profile fields. `x` is row-major, nrows * nx
 * doubles, columns in the order of model_scorer_features() (nx must equal its
 * count). Derived features (temperature difference, power, wear x torque) are
 * computed inside. NaN marks a missing value. OUT: prob[nrows], the
 * probability of failure in [0,1]. One DMatrix and one prediction per batch:
 * pass whole batches, not single rows. */
int model_scorer_score(model_scorer *s, const double *x, size_t nrows, size_t nx, float *prob,
                       adt_err *err);

/* The raw profile field names the scorer needs, in the order x must have;
 * `*n` gets the count. */
const char *const *model_scorer_features(const model_scorer *s, size_t *n);
/* Model name and version of the deployed model. */
const char *model_scorer_model(const model_scorer *s);
const char *model_scorer_version(const model_scorer *s);
/* Decision threshold chosen at training: prob >= threshold means "failure". */
float model_scorer_threshold(const model_scorer *s);
void model_scorer_close(model_scorer *s);

/* ---- Feature set ----------------------------------------------------------
 * Raw profile fields (AI4I 2020 style) and the features derived from them.
 * `machine_type` is the product quality variant coded 0 = L, 1 = M, 2 = H. */
#define MODEL_NRAW 6
#define MODEL_NDERIVED 3
#define MODEL_NFEAT (MODEL_NRAW + MODEL_NDERIVED)
#define MODEL_FEATURESET "ai4i-v1"

/* The raw field names (MODEL_NRAW), then the derived ones (MODEL_NDERIVED):
 * temp_diff_k = process_temp_k - air_temp_k (heat dissipation),
 * power_w = torque_nm * rotational_speed_rpm * 2 pi / 60 (mechanical power),
 * wear_torque = tool_wear_min * torque_nm (overstrain). */
extern const char *const model_feature_names[MODEL_NFEAT];
/* Map one row of MODEL_NRAW raw values to MODEL_NFEAT model inputs (NaN
 * propagates; infinities, also from float overflow, become NaN = missing). */
void model_derive(const double *raw, float *out);

/* ---- Metrics -------------------------------------------------------------- */

typedef struct model_metrics {
    double precision, recall, f1, pr_auc;
    double threshold;
    size_t n, positives, tp, fp, fn;
} model_metrics;

/* Average precision (the area under the precision-recall curve as a step
 * function): AP = sum_k (R_k - R_{k-1}) P_k over the distinct scores in
 * descending order, tied scores taken together. 0 when there is no positive.
 * ADT_ENOMEM on allocation failure. */
int model_average_precision(const float *score, const int *label, size_t n, double *ap);
/* Confusion counts, precision, recall and F1 at `threshold` (score >= threshold
 * is positive); also fills pr_auc. Precision of no positive prediction is 0. */
int model_evaluate(const float *score, const int *label, size_t n, double threshold,
                   model_metrics *m);

/* ---- Training ------------------------------------------------------------- */

/* Rows to train on: raw feature values, a label and a key that fixes the
 * row's side of the train/test split (e.g. "device|time_us"). */
typedef struct model_rows model_rows;
int model_rows_new(model_rows **out, adt_err *err);
/* ADT_EINVAL for a label other than 0/1; ADT_ETOOBIG past MODEL_MAX_ROWS. */
int model_rows_add(model_rows *r, const char *key, size_t keylen, const double *raw, int label,
                   adt_err *err);
size_t model_rows_count(const model_rows *r);
void model_rows_free(model_rows *r);
#define MODEL_MAX_ROWS 5000000u

typedef struct model_train_opts {
    const char *name;        /* model name (metadata) */
    const char *dataset;     /* dataset version id (metadata) */
    const char *out_path;    /* model file; metadata goes to out_path + ".meta.json" */
    unsigned long long seed; /* XGBoost seed */
    int rounds;              /* boosting rounds; 0 = default 50 */
    int max_depth;           /* 0 = default 4 */
    double eta;              /* 0 = default 0.2 */
    double min_precision;    /* threshold choice; 0 = default 0.6 */
    int64_t time_us;         /* time of the model.train event; 0 = now */
} model_train_opts;

/* The operators' verdicts a labelled dataset carried into training
 * (oplabel.h, docs/models.md "Operator labels"): each replaces the reading's
 * failure_label (1 confirmed failure, 0 false alarm) in training and in the
 * held-out metrics. */
typedef struct model_label_use {
    uint64_t verdicts;          /* verdicts the dataset pins */
    uint64_t used;              /* of those, on readings that became rows */
    uint64_t confirmed_failure; /* used, by value */
    uint64_t false_alarm;
    uint64_t changed;           /* used where the failure_label said the opposite */
    uint64_t added;             /* used on readings without a failure_label (new rows) */
} model_label_use;

typedef struct model_train_result {
    model_metrics test;      /* held-out part (20 %) at the chosen threshold */
    model_metrics train_oof; /* training part, out-of-fold predictions */
    double threshold;
    double scale_pos_weight;
    size_t n_train, n_test;
    char sha256[65];         /* of the model file written */
    model_label_use labels;  /* model_train_dataset: operator verdicts used */
} model_train_result;

/* Train, choose the threshold, evaluate on the held-out part, write the model
 * (XGBoost JSON) and its metadata JSON. Deterministic for given rows, options
 * and seed. ADT_EINVAL when either part has no positive or no negative row. */
int model_train(const model_rows *rows, const model_train_opts *o, model_train_result *res,
                adt_err *err);

/* Read the dataset's rows from `<data_dir>/telemetry.db`, train as above and
 * append a `model.train` event by `actor` to the ledger. */
int model_train_dataset(const char *data_dir, const model_train_opts *o, const char *actor,
                        model_train_result *res, adt_err *err);

/* ---- Metadata (the JSON written beside a model file; untrusted on read) ---- */

#define MODEL_META_MAX (8u << 20)
#define MODEL_NAME_MAX 64
#define MODEL_VERSION_MAX 64

typedef struct model_meta model_meta;
/* Parse and check metadata: format, feature set, threshold and metrics in
 * [0,1], the model file's SHA-256, the drift summary. Bounded: at most
 * MODEL_META_MAX bytes. */
int model_meta_parse(const char *json, size_t len, model_meta **out, adt_err *err);
void model_meta_free(model_meta *m);
const char *model_meta_dataset(const model_meta *m);
const char *model_meta_sha256(const model_meta *m);
double model_meta_threshold(const model_meta *m);
const model_metrics *model_meta_metrics(const model_meta *m);
/* The drift summary as canonical JSON text (owned by m). */
const char *model_meta_drift_json(const model_meta *m);

/* ---- Registry (`<data_dir>/models.db`) and deployment gate ---------------- */

#define MODEL_DB_FILE "models.db"

struct model_info {
    char name[MODEL_NAME_MAX + 1];
    char version[MODEL_VERSION_MAX + 1];
    char file[4096];
    char sha256[65];
    char dataset[129];
    char status[16];          /* registered | approved | deployed | retired */
    char approver[129];       /* latest approval's principal, "" if none */
    char change_id[129];      /* latest approval's change id */
    char deployed_by[129];
    double precision, recall, pr_auc, threshold;
    long long registered_us, deployed_us;
};

/* Register `file` (its metadata at file + ".meta.json") as name@version.
 * Refuses (ADT_ECONFLICT) a dataset differing from the metadata's or a file
 * whose hash differs from the metadata's; ADT_EEXIST for a known name@version.
 * Appends `model.register` by `actor`; OUT: info (may be NULL). */
int model_register(const char *data_dir, const char *file, const char *name, const char *version,
                   const char *dataset, const char *actor, model_info *info, adt_err *err);
/* The same, recorded as having happened at `at_us` (0 = now): the event's
 * `time` and the registry's registered_at. For records of decisions made
 * earlier and for simulations (`auditd model register --time`); the ledger's
 * recorded_at stays the real time of the append. */
int model_register_at(const char *data_dir, const char *file, const char *name,
                      const char *version, const char *dataset, const char *actor, int64_t at_us,
                      model_info *info, adt_err *err);

/* Record that `approver` approved change `change_id` deploying name@version
 * (the registered SHA-256): a `change.approve` event, activity "model:NAME".
 * OUT: ledger index (may be NULL). */
int model_approve(const char *data_dir, const char *name, const char *version,
                  const char *approver, const char *change_id, unsigned long long *index,
                  adt_err *err);
/* The same at `at_us` (0 = now), see model_register_at. */
int model_approve_at(const char *data_dir, const char *name, const char *version,
                     const char *approver, const char *change_id, int64_t at_us,
                     unsigned long long *index, adt_err *err);
/* The same, taken by a person signed in to the web console: the event's
 * writer is `person` and it names the person's `credential` id. */
int model_approve_as(const char *data_dir, const char *name, const char *version,
                     const char *approver, const char *credential, const char *change_id,
                     unsigned long long *index, adt_err *err);

/* Deploy name@version under change `change_id`. `accountable` is the
 * Accountable principal of activity "model:NAME" as the caller's RACI policy
 * says (the library does not read policies). Refuses with ADT_EFORBIDDEN when
 * no approval of `change_id` for name@version by `accountable` exists, and
 * with ADT_ECONFLICT when the artefact's SHA-256 now differs from the
 * approved one. On success the version becomes `deployed`, the name's
 * previous deployment `retired`, and `model.deploy` is appended. */
int model_deploy(const char *data_dir, const char *name, const char *version, const char *actor,
                 const char *change_id, const char *accountable, unsigned long long *index,
                 adt_err *err);
/* The same at `at_us` (0 = now), see model_register_at. The event's
 * provenance names the model.register entry as build_id. */
int model_deploy_at(const char *data_dir, const char *name, const char *version,
                    const char *actor, const char *change_id, const char *accountable,
                    int64_t at_us, unsigned long long *index, adt_err *err);

/* Call fn for every registered version (by name, then registration time). */
typedef int (*model_list_fn)(void *ctx, const model_info *m);
int model_list(const char *data_dir, model_list_fn fn, void *ctx, adt_err *err);

/* The registry as a JSON array (what `auditd model list --json` prints and an
 * HTTP endpoint can serve): per version name, version, status, sha256, file,
 * dataset, approved_by, change_id, deployed_by, registered_at, deployed_at,
 * threshold, metrics {precision, recall, pr_auc}. */
cJSON *model_info_json(const model_info *m);
int model_list_json(const char *data_dir, cJSON **out, adt_err *err);

/* One version: `version` NULL = the deployed one, else the newest registered.
 * OUT: drift_json (malloc'd drift summary, may be NULL to skip). */
int model_get(const char *data_dir, const char *name, const char *version, model_info *info,
              char **drift_json, adt_err *err);

/* The most recently deployed version of any model. ADT_ENOTFOUND if none. */
int model_deployed(const char *data_dir, model_info *info, adt_err *err);

/* Metrics as a JSON object (precision, recall, pr_auc, f1, n, positives, tp, fp, fn). */
cJSON *model_metrics_json(const model_metrics *m);
/* Name, version and change id syntax: 1..max bytes of [A-Za-z0-9._:@-]. */
int model_check_id(const char *what, const char *s, size_t max, adt_err *err);

#endif
