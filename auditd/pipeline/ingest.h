/* ingest.h: telemetry ingestion: validate NDJSON readings against their
 * device's profile, store the valid ones, quarantine the rest with the reason
 * (never drop), score with the deployed model, and record each batch in the
 * ledger. See docs/pipeline.md for the reading format and the digest.
 *
 * One call = one batch = one SQLite transaction on telemetry.db plus one
 * durable ledger append (telemetry.batch, and telemetry.reject /
 * prediction.summary when they apply). The ledger append happens inside the
 * telemetry transaction, before its commit, so a batch is never stored
 * without its ledger record; if the ledger append fails nothing is stored.
 *
 * Threads: an `ingest` handle is used by one thread at a time. */
#ifndef AUDITD_INGEST_H
#define AUDITD_INGEST_H

#include "buf.h"
#include "profile.h"
#include "evsink.h"
#include "status.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define INGEST_MAX_LINE (64u * 1024u)   /* one reading */
#define INGEST_MAX_READINGS 200000      /* one batch */

typedef struct ingest ingest;

/* Open telemetry.db in `data_dir` for writing. `sink` (copied) receives the
 * ledger events. With `score`, readings are scored by the deployed model
 * (model.h) when there is one. */
int ingest_open(const char *data_dir, const evsink *sink, bool score, ingest **out, adt_err *err);
void ingest_close(ingest *g);
/* The connection, for registry operations through the same handle. */
sqlite3 *ingest_db(ingest *g);
/* Forget cached profiles and devices (after registry changes). */
void ingest_invalidate(ingest *g);

typedef struct ingest_result {
    int64_t batch_id;
    uint64_t readings, accepted, quarantined, devices;
    uint64_t reasons[PROFILE_R_COUNT];
    char digest[65];
    uint64_t batch_index;   /* ledger index of telemetry.batch (EVSINK_NONE without ledger) */
    uint64_t reject_index;  /* of telemetry.reject, or EVSINK_NONE */
    uint64_t pred_index;    /* of prediction.summary, or EVSINK_NONE */
    uint64_t predictions, positives;
} ingest_result;

/* Ingest one NDJSON batch (blank lines ignored). `actor` is the principal
 * that sent it (agent name or CLI user); it goes into the ledger events.
 * Returns ADT_OK even when readings were quarantined (see res); errors are
 * storage or ledger failures (nothing stored) and ADT_ETOOBIG. */
int ingest_ndjson(ingest *g, const char *actor, const char *data, size_t len,
                  ingest_result *res, adt_err *err);

/* Re-validate up to `limit` quarantined readings (oldest first) against the
 * current profiles and devices: the valid ones are stored as a new batch and
 * marked replayed, the others stay with their updated reason. */
int ingest_replay(ingest *g, const char *actor, size_t limit, ingest_result *res, adt_err *err);
/* The same, answering a request recorded in the ledger at index `request`
 * (a person's `quarantine.replay` from the console): the replay's
 * telemetry.batch cites it as `request`. EVSINK_NONE: no request. */
int ingest_replay_requested(ingest *g, const char *actor, uint64_t request, size_t limit,
                            ingest_result *res, adt_err *err);

/* The result as a JSON object. */
int ingest_result_json(const ingest_result *r, buf *out);

/* Quarantined readings as a JSON array (oldest first) of {id, batch,
 * received, device, reason, detail, line, replayed_batch}. Without `all`,
 * only those not replayed yet. */
int ingest_quarantine_json(sqlite3 *db, bool all, size_t limit, buf *out, adt_err *err);

#endif
