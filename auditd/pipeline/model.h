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

#include <stddef.h>

/* ---- Scoring (called by ingestion) ---------------------------------------- */

typedef struct model_scorer model_scorer;

/* Load the model currently deployed in `data_dir` (the newest `deployed` row
 * of models.db), checking the file's SHA-256 against the registered one.
 * ADT_ENOTFOUND if no model is deployed (callers then skip scoring). */
int model_scorer_open(const char *data_dir, model_scorer **out, adt_err *err);

/* Score `nrows` rows of raw profile fields. `x` is row-major, nrows * nx
 * doubles, columns in the order of model_scorer_features() (nx must equal its
 * count). Derived features (temperature difference, power, wear x torque) are
 * computed inside. NaN marks a missing value. OUT: prob[nrows], the
 * probability of failure in [0,1]. One XGBoost call per batch. */
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

#endif
