/* tstore.h: read access to stored telemetry (`<data-dir>/telemetry.db`) for
 * training, lineage and drift. See docs/pipeline.md.
 *
 * Readings are stored by ingestion (pipeline.h, `auditd telemetry ingest`) in
 * batches; every stored batch has a digest recorded in the ledger
 * (`telemetry.batch`), and a dataset is a set of batches whose version id is
 * the digest over their digests (`dataset.define`).
 *
 * Ownership: a `tstore` handle is opened read-only and used by one thread at a
 * time. Strings and arrays passed to callbacks are borrowed for the call. */
#ifndef AUDITD_TSTORE_H
#define AUDITD_TSTORE_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tstore tstore;

/* Open `<data_dir>/telemetry.db` read-only. ADT_ENOTFOUND if there is none
 * (nothing was ingested yet). */
int tstore_open(const char *data_dir, tstore **out, adt_err *err);
void tstore_close(tstore *t);

/* Calls fn for every reading of the dataset's batches (in time order), with the
 * numeric feature values in the order of `features` (NAN where missing or not
 * numeric; booleans are 0/1) and the failure label (0/1, -1 if the reading's
 * profile has no `failure_label` field or the value is missing).
 * `dataset` is a dataset version id (64 hex digits) as printed by
 * `auditd dataset define`. fn returns 0 to go on; a non-zero value stops the
 * scan and is returned. Returns ADT_ENOTFOUND for an unknown dataset. */
typedef int (*tstore_row_fn)(void *ctx, const char *device, int64_t time_us,
                             const double *x, size_t nx, int label);
int tstore_dataset_rows(tstore *t, const char *dataset, const char *const *features,
                        size_t nfeatures, tstore_row_fn fn, void *ctx, adt_err *err);

/* Same over a time window [from_us, to_us) of stored readings (for drift),
 * in time order. */
int tstore_window_rows(tstore *t, int64_t from_us, int64_t to_us, const char *const *features,
                       size_t nfeatures, tstore_row_fn fn, void *ctx, adt_err *err);

/* Like tstore_window_rows, with what ingestion's model said about each
 * reading: `prob` is the stored prediction's probability and `model` /
 * `version` the model version that made it (NAN and NULL when the reading was
 * not scored, i.e. no model was deployed when it was ingested; ingestion
 * scores a reading once). For reports. */
typedef int (*tstore_scored_fn)(void *ctx, const char *device, int64_t time_us,
                                const double *x, size_t nx, int label, double prob,
                                const char *model, const char *version);
int tstore_window_scored(tstore *t, int64_t from_us, int64_t to_us,
                         const char *const *features, size_t nfeatures, tstore_scored_fn fn,
                         void *ctx, adt_err *err);

/* Calls fn for every quarantined reading (one row per refused reading, kept
 * also after a replay recovered it) whose reading time is in [from_us, to_us);
 * a reading without a usable time counts at its reception time. `replayed`
 * is true when a replay stored it after all. In quarantine id order. */
typedef int (*tstore_quarantine_fn)(void *ctx, const char *device, int64_t time_us,
                                    const char *reason, bool replayed);
int tstore_window_quarantine(tstore *t, int64_t from_us, int64_t to_us, tstore_quarantine_fn fn,
                             void *ctx, adt_err *err);

#endif
