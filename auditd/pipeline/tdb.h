/* tdb.h: the telemetry database `<data-dir>/telemetry.db` (SQLite, WAL):
 * its schema and connection setup. The tables (see docs/pipeline.md):
 *   profiles(name, version, sha256, json)      every version of every profile
 *   devices(name, profile, site, twin...)      registered devices and twins
 *   batches(id, digest, rows, ledger indices)  one per ingestion call
 *   readings(device, time_us, pv, batch, v)    accepted readings, v = packed values;
 *                                              indexed by (device, time) and by time
 *   quarantine(batch, device, reason, line)    refused readings, kept whole
 *   predictions(reading, prob, model, version) scores made at ingestion
 *   datasets / dataset_batches                 dataset versions
 *   meta('registry')                           bumped by every registry change
 * Readings of one batch occupy a contiguous rowid range (one transaction),
 * which is how a batch finds its rows. */
#ifndef AUDITD_TDB_H
#define AUDITD_TDB_H

#include "status.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define TDB_FILE "telemetry.db"

/* Open (creating when `rw` and missing) `<data_dir>/telemetry.db`.
 * Read-only opens of a missing file fail with ADT_ENOTFOUND. */
int tdb_open(const char *data_dir, bool rw, sqlite3 **out, adt_err *err);
void tdb_close(sqlite3 *db);

/* Run SQL without results; on failure the message names `what`. */
int tdb_exec(sqlite3 *db, const char *sql, const char *what, adt_err *err);
/* Prepare a statement; ADT_EIO with the SQLite message on failure. */
int tdb_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, adt_err *err);
/* Map the last SQLite error to a status with a message. */
int tdb_fail(sqlite3 *db, const char *what, adt_err *err);

#endif
