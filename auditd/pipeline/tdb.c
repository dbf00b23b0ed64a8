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
    /* prob, mv: the prediction made at ingestion, if scored (below) */
    "CREATE TABLE IF NOT EXISTS readings("
    " id INTEGER PRIMARY KEY, device INTEGER NOT NULL, time_us INTEGER NOT NULL,"
    " pv INTEGER NOT NULL, batch INTEGER NOT NULL, v BLOB NOT NULL, prob REAL, mv INTEGER);"
    "CREATE INDEX IF NOT EXISTS readings_dt ON readings(device, time_us);"
    /* windows (drift, reports) in time order: 5x faster than sorting a quarter */
    "CREATE INDEX IF NOT EXISTS readings_t ON readings(time_us);"
    "CREATE TABLE IF NOT EXISTS quarantine("
    " id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, received_us INTEGER NOT NULL,"
    " device TEXT, time_us INTEGER, reason TEXT NOT NULL, detail TEXT NOT NULL,"
    " line TEXT NOT NULL, replayed_batch INTEGER);"
    "CREATE INDEX IF NOT EXISTS quarantine_open ON quarantine(replayed_batch, id);"
    /* Predictions (schema 2): a scored reading's row carries its prediction,
     * the probability and the model version as a number (prediction_models),
     * so storing one adds no row and no index entry; its device, time and
     * batch are the reading's, its id is the reading's id. Predictions
     * stored before schema 2 stay, with their ids, in predictions_v1
     * (tdb_open renames the old table once); the view `predictions` shows
     * both under the old columns, so every reader is unchanged. New ids never
     * collide with old ones: an old id is at most the number of readings
     * scored then, a new reading's id is above every reading's id then. */
    "CREATE TABLE IF NOT EXISTS prediction_models("
    " id INTEGER PRIMARY KEY, model TEXT NOT NULL, version TEXT NOT NULL,"
    " UNIQUE(model, version));"
    "CREATE TABLE IF NOT EXISTS predictions_v1("
    " id INTEGER PRIMARY KEY, reading INTEGER NOT NULL, device INTEGER NOT NULL,"
    " time_us INTEGER NOT NULL, prob REAL NOT NULL, model TEXT NOT NULL,"
    " version TEXT NOT NULL, batch INTEGER NOT NULL);"
    "DROP INDEX IF EXISTS predictions_dt;"
    "CREATE INDEX IF NOT EXISTS predictions_reading ON predictions_v1(reading);"
    "CREATE VIEW IF NOT EXISTS predictions(id, reading, device, time_us, prob, model, version,"
    " batch) AS"
    " SELECT r.id, r.id, r.device, r.time_us, r.prob, m.model, m.version, r.batch"
    " FROM readings r JOIN prediction_models m ON m.id = r.mv"
    " UNION ALL"
    " SELECT id, reading, device, time_us, prob, model, version, batch FROM predictions_v1;"
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

/* Whether `sql` (a one-row, one-column query) has a row. */
static bool exists(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return false;
    bool yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

/* A telemetry.db of schema 1 keeps its predictions in a table named
 * `predictions` (renamed to predictions_v1: ids, rows and index unchanged)
 * and its readings have no prediction columns (added, NULL in old rows);
 * then the schema makes the view. One transaction, so that two processes
 * opening it at once cannot both try. */
static int migrate(sqlite3 *db, adt_err *err)
{
    int rc = sqldb_begin(db, err);
    if (rc) {
        adt_err_prefix(err, "migrating telemetry.db");
        return rc;
    }
    if (exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'predictions'"))
        rc = sqldb_exec(db, "ALTER TABLE predictions RENAME TO predictions_v1",
                        "migrating telemetry.db's predictions", err);
    if (!rc && exists(db, "SELECT 1 FROM sqlite_master WHERE name = 'readings'") &&
        !exists(db, "SELECT 1 FROM pragma_table_info('readings') WHERE name = 'prob'"))
        rc = sqldb_exec(db, "ALTER TABLE readings ADD COLUMN prob REAL;"
                            "ALTER TABLE readings ADD COLUMN mv INTEGER;",
                        "migrating telemetry.db's readings", err);
    if (!rc)
        rc = sqldb_exec(db, schema, "creating the schema", err);
    if (!rc)
        return sqldb_commit(db, err);
    sqldb_rollback(db);
    return rc;
}

int tdb_open(const char *data_dir, bool rw, sqlite3 **out, adt_err *err)
{
    sqlite3 *db;
    int rc = sqldb_open(data_dir, TDB_FILE, rw ? SQLDB_CREATE : SQLDB_READ, SQLDB_DURABLE,
                        "no telemetry yet (run 'auditd telemetry ingest' first)", &db, err);
    if (!rc && rw)
        rc = migrate(db, err);
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
