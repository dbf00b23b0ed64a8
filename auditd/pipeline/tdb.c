/* tdb.c: telemetry database schema and connections (tdb.h). */
#include "tdb.h"

#include "sqldb.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta(k, v) VALUES('registry', 0);"
    "CREATE TABLE IF NOT EXISTS profiles("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL,"
    " sha256 TEXT NOT NULL, json TEXT NOT NULL, created_us INTEGER NOT NULL,"
    " ledger_index INTEGER, UNIQUE(name, version));"
    "CREATE TABLE IF NOT EXISTS devices("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, profile TEXT NOT NULL,"
    " site TEXT NOT NULL DEFAULT '', firmware TEXT NOT NULL DEFAULT '',"
    " model_version TEXT NOT NULL DEFAULT '', registered_us INTEGER NOT NULL,"
    " last_seen_us INTEGER, last_values TEXT, last_pv INTEGER, ledger_index INTEGER);"
    "CREATE TABLE IF NOT EXISTS batches("
    " id INTEGER PRIMARY KEY, actor TEXT NOT NULL, received_us INTEGER NOT NULL,"
    " readings INTEGER NOT NULL DEFAULT 0, accepted INTEGER NOT NULL DEFAULT 0,"
    " quarantined INTEGER NOT NULL DEFAULT 0, first_row INTEGER, last_row INTEGER,"
    " from_us INTEGER, to_us INTEGER, devices INTEGER NOT NULL DEFAULT 0, digest TEXT,"
    " ledger_index INTEGER, reject_index INTEGER, pred_index INTEGER,"
    " pred_model TEXT, pred_version TEXT);"
    "CREATE INDEX IF NOT EXISTS batches_time ON batches(from_us);"
    "CREATE TABLE IF NOT EXISTS readings("
    " id INTEGER PRIMARY KEY, device INTEGER NOT NULL, time_us INTEGER NOT NULL,"
    " pv INTEGER NOT NULL, batch INTEGER NOT NULL, v BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS readings_dt ON readings(device, time_us);"
    /* windows (drift, reports) in time order: 5x faster than sorting a quarter */
    "CREATE INDEX IF NOT EXISTS readings_t ON readings(time_us);"
    "CREATE TABLE IF NOT EXISTS quarantine("
    " id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, received_us INTEGER NOT NULL,"
    " device TEXT, time_us INTEGER, reason TEXT NOT NULL, detail TEXT NOT NULL,"
    " line TEXT NOT NULL, replayed_batch INTEGER);"
    "CREATE INDEX IF NOT EXISTS quarantine_open ON quarantine(replayed_batch, id);"
    "CREATE TABLE IF NOT EXISTS predictions("
    " id INTEGER PRIMARY KEY, reading INTEGER NOT NULL, device INTEGER NOT NULL,"
    " time_us INTEGER NOT NULL, prob REAL NOT NULL, model TEXT NOT NULL,"
    " version TEXT NOT NULL, batch INTEGER NOT NULL);"
    /* predictions are read by id (lineage), by reading (the report's pass
     * over a window, tstore_window_scored) and, per hour, through the
     * rollups. Reading ids only grow, so this index is appended at its end;
     * an index by (device, time) cost a fifth of scoring's time. */
    "DROP INDEX IF EXISTS predictions_dt;"
    "CREATE INDEX IF NOT EXISTS predictions_reading ON predictions(reading);"
    "CREATE TABLE IF NOT EXISTS datasets("
    " id TEXT PRIMARY KEY, from_us INTEGER NOT NULL, to_us INTEGER NOT NULL,"
    " devices TEXT NOT NULL, batches INTEGER NOT NULL, readings INTEGER NOT NULL,"
    " created_us INTEGER NOT NULL, ledger_index INTEGER);"
    "CREATE TABLE IF NOT EXISTS dataset_batches("
    " dataset TEXT NOT NULL, batch INTEGER NOT NULL, PRIMARY KEY(dataset, batch))"
    " WITHOUT ROWID;"
    /* hourly rollups (rollup.h; docs/pipeline.md "Rollups") */
    "CREATE TABLE IF NOT EXISTS rollups("
    " hour_us INTEGER NOT NULL, device INTEGER NOT NULL, readings INTEGER NOT NULL,"
    " sampled_s INTEGER NOT NULL, running_s INTEGER, idle_s INTEGER, down_s INTEGER,"
    " energy_kwh REAL, produced REAL, good REAL, inspected INTEGER, rejected INTEGER,"
    " labelled INTEGER, failures INTEGER, fields TEXT NOT NULL,"
    " PRIMARY KEY(hour_us, device)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rollup_predictions("
    " hour_us INTEGER NOT NULL, device INTEGER NOT NULL, model TEXT NOT NULL,"
    " version TEXT NOT NULL, predictions INTEGER NOT NULL, positives INTEGER NOT NULL,"
    " tp INTEGER NOT NULL, fp INTEGER NOT NULL, fn INTEGER NOT NULL, tn INTEGER NOT NULL,"
    " PRIMARY KEY(hour_us, device, model, version)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS meters("
    " device INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, energy_kwh REAL, produced REAL,"
    " good REAL);";

int tdb_open(const char *data_dir, bool rw, sqlite3 **out, adt_err *err)
{
    sqlite3 *db;
    int rc = sqldb_open(data_dir, TDB_FILE, rw ? SQLDB_CREATE : SQLDB_READ, SQLDB_DURABLE,
                        "no telemetry yet (run 'auditd telemetry ingest' first)", &db, err);
    if (!rc && rw)
        rc = sqldb_exec(db, schema, "creating the schema", err);
    if (!rc)
        rc = sqldb_exec(db, "PRAGMA cache_size=-65536;", "setting the cache", err);
    if (rc) {
        sqldb_close(db);
        return rc;
    }
    *out = db;
    return ADT_OK;
}

void tdb_close(sqlite3 *db)
{
    sqldb_close(db);
}
