/* lineage.h: datasets (versioned sets of telemetry batches) and lineage
 * queries that connect a prediction to the exact data its model was trained
 * on, with ledger inclusion proofs for every step. See docs/pipeline.md.
 *
 * Dataset version id = lowercase hex SHA-256 of
 *   "auditd-dataset-v1\n" "from=<us>\n" "to=<us>\n" "devices=<d1,d2,...>\n"
 *   then "<batch digest>\n" for each batch in batch id order,
 * where the batches are the stored batches overlapping [from, to) (and, with
 * devices, holding readings of them), devices sorted and de-duplicated. Its
 * rows are those readings of those batches inside the window (and devices). */
#ifndef AUDITD_LINEAGE_H
#define AUDITD_LINEAGE_H

#include "buf.h"
#include "ledger.h"
#include "evsink.h"
#include "status.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct lineage_dataset {
    char id[65];
    int64_t from_us, to_us;
    uint64_t batches, readings;
    uint64_t ledger_index; /* of dataset.define (EVSINK_NONE without ledger) */
    bool existed;          /* defined before: nothing new recorded */
} lineage_dataset;

/* Define the dataset of window [from_us, to_us) and optional devices, record
 * `dataset.define` in the ledger. ADT_EINVAL if no batch falls in it. */
int lineage_dataset_define(sqlite3 *db, const evsink *s, const char *actor, int64_t from_us,
                           int64_t to_us, const char *const *devices, size_t ndevices,
                           lineage_dataset *out, adt_err *err);

/* JSON array of defined datasets. */
int lineage_datasets_json(sqlite3 *db, buf *out, adt_err *err);

/* Trace `what` (a prediction id `N` or `prediction:N`, a model
 * `NAME@VERSION` or `model:NAME@VERSION`, or a dataset id) back to the
 * telemetry batches, as JSON with each step's ledger index and its RFC 6962
 * inclusion proof against the latest checkpoint (also included). */
int lineage_trace(sqlite3 *db, ledger *lg, const char *what, buf *out, adt_err *err);

#endif
