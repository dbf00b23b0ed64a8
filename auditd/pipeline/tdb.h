/* tdb.h: the telemetry database `<data-dir>/telemetry.db` (SQLite, WAL):
 * its schema and connection setup. The tables (see docs/pipeline.md):
 *   profiles(name, version, sha256, json)      every version of every profile
 *   devices(name, profile, site, twin...)      registered devices and twins
 *   batches(id, digest, rows, ledger indices)  one per ingestion call
 *   readings(device, time_us, pv, batch, v,    accepted readings, v = packed values,
 *            prob, mv)                         prob/mv the prediction made at ingestion
 *                                              (NULL: not scored); indexed by
 *                                              (device, time) and by time
 *   quarantine(batch, device, reason, line)    refused readings, kept whole
 *   prediction_models(id, model, version)      readings.mv
 *   predictions (a view: id, reading, device,  scores made at ingestion: readings'
 *     time_us, prob, model, version, batch)    and schema 1's (predictions_v1)
 *   datasets / dataset_batches                 dataset versions
 *   rollups / rollup_predictions / meters      hourly rollups (rollup.h)
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

/* Open `<data_dir>/telemetry.db` (sqldb.h; durable): with `rw` created with
 * its schema when missing (a schema 1 file is migrated: tdb.c); read-only
 * opens of a missing file fail with ADT_ENOTFOUND. Close with sqldb_close. */
int tdb_open(const char *data_dir, bool rw, sqlite3 **out, adt_err *err);
/* Whether the open file still has schema 1: a file only ever opened
 * read-only by this version, whose readings carry no prediction columns and
 * whose predictions stand in their own table `predictions` (a read-write
 * open migrates it). */
bool tdb_schema1(sqlite3 *db);

#endif
