#include "cschema.h"

#include "numparse.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct migration {
    int version;
    const char *name;
    const char *sql;
} migration;

/* Migration 1: sites, their streams, mirrored checkpoints and entries, alerts.
 * Mirrored history (entries, checkpoints) and alerts are guarded by triggers:
 * no UPDATE, DELETE or TRUNCATE of history, and an alert can only gain its
 * resolution. Like the site ledger's triggers, they are a guard rail against
 * bugs and casual sessions, not a security boundary: the table owner can drop
 * them (docs/central.md, "What is trusted where"). */
static const char m1_sql[] =
    "CREATE TABLE auditd_central.sites ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  origin text NOT NULL UNIQUE CHECK (length(origin) BETWEEN 1 AND 200),"
    "  key_line text NOT NULL,"
    "  pubkey bytea NOT NULL CHECK (length(pubkey) = 32),"
    "  url text NOT NULL,"
    "  added_at timestamptz NOT NULL DEFAULT now(),"
    "  added_by text NOT NULL);"
    "CREATE TABLE auditd_central.site_tokens ("
    "  site_id bigint PRIMARY KEY REFERENCES auditd_central.sites(id),"
    "  token text NOT NULL);"
    "CREATE TABLE auditd_central.streams ("
    "  site_id bigint PRIMARY KEY REFERENCES auditd_central.sites(id),"
    "  pending_size bigint NOT NULL DEFAULT 0,"
    "  pending_root bytea NOT NULL CHECK (length(pending_root) = 32),"
    "  pending_note text,"
    "  mirror_size bigint NOT NULL DEFAULT 0,"
    "  mirror_root bytea NOT NULL CHECK (length(mirror_root) = 32),"
    "  mirror_note text,"
    "  next_entry bigint NOT NULL DEFAULT 0,"
    "  frontier bytea NOT NULL DEFAULT ''::bytea,"
    "  halted boolean NOT NULL DEFAULT false,"
    "  checked_at timestamptz,"
    "  last_error text,"
    "  last_error_at timestamptz,"
    "  CHECK (0 <= mirror_size AND mirror_size <= next_entry AND next_entry <= pending_size));"
    "CREATE TABLE auditd_central.checkpoints ("
    "  site_id bigint NOT NULL REFERENCES auditd_central.sites(id),"
    "  size bigint NOT NULL CHECK (size >= 0),"
    "  root bytea NOT NULL CHECK (length(root) = 32),"
    "  note text NOT NULL,"
    "  received_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (site_id, size));"
    /* No foreign key on entries: the stream row is locked by every insert
     * transaction, which is the check that matters, and a per-row FK lookup
     * would slow mirroring for nothing. */
    "CREATE TABLE auditd_central.entries ("
    "  site_id bigint NOT NULL,"
    "  idx bigint NOT NULL CHECK (idx >= 0),"
    "  leaf bytea NOT NULL,"
    "  leaf_hash bytea NOT NULL,"
    "  PRIMARY KEY (site_id, idx));"
    "CREATE TABLE auditd_central.alerts ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  site_id bigint NOT NULL REFERENCES auditd_central.sites(id),"
    "  kind text NOT NULL CHECK (kind IN ('fork', 'cut', 'bad_entries')),"
    "  detected_at timestamptz NOT NULL DEFAULT now(),"
    "  detected_by text NOT NULL,"
    "  stored_note text,"
    "  site_note text,"
    "  detail text NOT NULL,"
    "  resolved_at timestamptz,"
    "  resolved_by text,"
    "  resolution text);"
    "CREATE INDEX alerts_open ON auditd_central.alerts (site_id) WHERE resolved_at IS NULL;"
    "CREATE FUNCTION auditd_central.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN RAISE EXCEPTION 'auditd_central.% is append-only: % refused', TG_TABLE_NAME, TG_OP;"
    " END $$;"
    "CREATE FUNCTION auditd_central.alert_guard() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF (NEW.id, NEW.site_id, NEW.kind, NEW.detected_at, NEW.detected_by, NEW.stored_note,"
    "      NEW.site_note, NEW.detail) IS DISTINCT FROM (OLD.id, OLD.site_id, OLD.kind,"
    "      OLD.detected_at, OLD.detected_by, OLD.stored_note, OLD.site_note, OLD.detail)"
    "     OR OLD.resolved_at IS NOT NULL THEN"
    "    RAISE EXCEPTION 'auditd_central.alerts: an alert can only be resolved, once';"
    "  END IF;"
    "  RETURN NEW;"
    " END $$;"
    "CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON auditd_central.entries"
    "  FOR EACH ROW EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON auditd_central.entries"
    "  FOR EACH STATEMENT EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON auditd_central.checkpoints"
    "  FOR EACH ROW EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON auditd_central.checkpoints"
    "  FOR EACH STATEMENT EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER alerts_kept BEFORE DELETE ON auditd_central.alerts"
    "  FOR EACH ROW EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER alerts_no_truncate BEFORE TRUNCATE ON auditd_central.alerts"
    "  FOR EACH STATEMENT EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER alerts_resolve_only BEFORE UPDATE ON auditd_central.alerts"
    "  FOR EACH ROW EXECUTE FUNCTION auditd_central.alert_guard();";

/* Migration 2: the centre as each site's witness, and tree nodes for proofs.
 *  - alerts.source: who raised an alert, the mirror or the witness front-end;
 *  - witness: the public half of the witness key the front-ends share (the
 *    secret is a file on each front-end, never in the database: whoever
 *    administers PostgreSQL could otherwise cosign anything);
 *  - witness_latest: per site, the newest checkpoint cosigned, moved only
 *    forwards by a compare-and-swap UPDATE (and a trigger as a guard rail);
 *  - cosigned: every checkpoint cosigned, append-only (reports cite them);
 *  - nodes: perfect subtrees of level >= 4 completed by the stored entries
 *    (id as in the site ledger: level and index), so that an inclusion proof
 *    costs a few rows instead of every leaf hash. */
static const char m2_sql[] =
    "ALTER TABLE auditd_central.alerts ADD COLUMN source text NOT NULL DEFAULT 'mirror'"
    "  CHECK (source IN ('mirror', 'witness'));"
    "CREATE OR REPLACE FUNCTION auditd_central.alert_guard() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF (NEW.id, NEW.site_id, NEW.kind, NEW.detected_at, NEW.detected_by, NEW.stored_note,"
    "      NEW.site_note, NEW.detail, NEW.source) IS DISTINCT FROM (OLD.id, OLD.site_id, OLD.kind,"
    "      OLD.detected_at, OLD.detected_by, OLD.stored_note, OLD.site_note, OLD.detail,"
    "      OLD.source)"
    "     OR OLD.resolved_at IS NOT NULL THEN"
    "    RAISE EXCEPTION 'auditd_central.alerts: an alert can only be resolved, once';"
    "  END IF;"
    "  RETURN NEW;"
    " END $$;"
    "CREATE TABLE auditd_central.witness ("
    "  id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),"
    "  name text NOT NULL,"
    "  vkey text NOT NULL,"
    "  pubkey bytea NOT NULL CHECK (length(pubkey) = 32),"
    "  created_at timestamptz NOT NULL DEFAULT now(),"
    "  created_by text NOT NULL);"
    "CREATE TABLE auditd_central.witness_latest ("
    "  site_id bigint PRIMARY KEY REFERENCES auditd_central.sites(id),"
    "  size bigint NOT NULL CHECK (size >= 0),"
    "  root bytea NOT NULL CHECK (length(root) = 32),"
    "  note text NOT NULL,"
    "  cosigned_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE auditd_central.cosigned ("
    "  site_id bigint NOT NULL REFERENCES auditd_central.sites(id),"
    "  size bigint NOT NULL CHECK (size >= 0),"
    "  root bytea NOT NULL CHECK (length(root) = 32),"
    "  note text NOT NULL,"
    "  cosigned_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (site_id, size));"
    "CREATE TABLE auditd_central.nodes ("
    "  site_id bigint NOT NULL,"
    "  level smallint NOT NULL CHECK (level BETWEEN 1 AND 63),"
    "  idx bigint NOT NULL CHECK (idx >= 0),"
    "  hash bytea NOT NULL CHECK (length(hash) = 32),"
    "  PRIMARY KEY (site_id, level, idx));"
    "CREATE FUNCTION auditd_central.witness_forward() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF NEW.site_id <> OLD.site_id OR NEW.size < OLD.size"
    "     OR (NEW.size = OLD.size AND NEW.root <> OLD.root) THEN"
    "    RAISE EXCEPTION 'auditd_central.witness_latest only moves forwards';"
    "  END IF;"
    "  RETURN NEW;"
    " END $$;"
    "CREATE TRIGGER witness_latest_forward BEFORE UPDATE ON auditd_central.witness_latest"
    "  FOR EACH ROW EXECUTE FUNCTION auditd_central.witness_forward();"
    "CREATE TRIGGER witness_latest_kept BEFORE DELETE ON auditd_central.witness_latest"
    "  FOR EACH ROW EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER witness_latest_no_truncate BEFORE TRUNCATE ON auditd_central.witness_latest"
    "  FOR EACH STATEMENT EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER witness_kept BEFORE UPDATE OR DELETE ON auditd_central.witness"
    "  FOR EACH ROW EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER cosigned_append_only BEFORE UPDATE OR DELETE ON auditd_central.cosigned"
    "  FOR EACH ROW EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER cosigned_no_truncate BEFORE TRUNCATE ON auditd_central.cosigned"
    "  FOR EACH STATEMENT EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER nodes_append_only BEFORE UPDATE OR DELETE ON auditd_central.nodes"
    "  FOR EACH ROW EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER nodes_no_truncate BEFORE TRUNCATE ON auditd_central.nodes"
    "  FOR EACH STATEMENT EXECUTE FUNCTION auditd_central.refuse_change();";

/* Migration 3: batches shipped by the sites (docs/central.md, "Shipments").
 * A row is made when the mirror stores the site.shipment entry that records
 * the batch's SHA-256 (in the same transaction as the entry), and gets its
 * body once fetched from the site and found to have that digest; a body is
 * set once and never changed, rows are never deleted. */
static const char m3_sql[] =
    "CREATE TABLE auditd_central.shipments ("
    "  site_id bigint NOT NULL REFERENCES auditd_central.sites(id),"
    "  idx bigint NOT NULL CHECK (idx >= 0),"
    "  kind text NOT NULL,"
    "  period text NOT NULL,"
    "  sha256 bytea NOT NULL CHECK (length(sha256) = 32),"
    "  bytes bigint NOT NULL CHECK (bytes >= 0),"
    "  recorded_at text NOT NULL,"
    "  body bytea,"
    "  fetched_at timestamptz,"
    "  tries integer NOT NULL DEFAULT 0,"
    "  problem text,"
    "  PRIMARY KEY (site_id, idx),"
    "  CHECK (body IS NULL OR length(body) = bytes));"
    "CREATE INDEX shipments_wanted ON auditd_central.shipments (site_id) WHERE body IS NULL;"
    "CREATE INDEX shipments_period ON auditd_central.shipments (period, kind, site_id, idx);"
    "CREATE FUNCTION auditd_central.shipment_guard() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF (NEW.site_id, NEW.idx, NEW.kind, NEW.period, NEW.sha256, NEW.bytes, NEW.recorded_at)"
    "     IS DISTINCT FROM (OLD.site_id, OLD.idx, OLD.kind, OLD.period, OLD.sha256, OLD.bytes,"
    "     OLD.recorded_at) OR OLD.body IS NOT NULL THEN"
    "    RAISE EXCEPTION 'auditd_central.shipments: a batch only gains its fetched body, once';"
    "  END IF;"
    "  RETURN NEW;"
    " END $$;"
    "CREATE TRIGGER shipments_fetch_only BEFORE UPDATE ON auditd_central.shipments"
    "  FOR EACH ROW EXECUTE FUNCTION auditd_central.shipment_guard();"
    "CREATE TRIGGER shipments_kept BEFORE DELETE ON auditd_central.shipments"
    "  FOR EACH ROW EXECUTE FUNCTION auditd_central.refuse_change();"
    "CREATE TRIGGER shipments_no_truncate BEFORE TRUNCATE ON auditd_central.shipments"
    "  FOR EACH STATEMENT EXECUTE FUNCTION auditd_central.refuse_change();"
    /* The rows of the fetched rollups batches, for the enterprise report to
     * sum in SQL: derived from the stored batches (which stay as they were
     * shipped); a later batch of the same site replaces the rows it carries. */
    "CREATE TABLE auditd_central.rollups ("
    "  site_id bigint NOT NULL REFERENCES auditd_central.sites(id),"
    "  hour timestamptz NOT NULL,"
    "  device text NOT NULL,"
    "  readings bigint NOT NULL CHECK (readings >= 0),"
    "  sampled_s bigint NOT NULL CHECK (sampled_s >= 0),"
    "  running_s bigint, idle_s bigint, down_s bigint,"
    "  energy_kwh double precision, produced double precision, good double precision,"
    "  inspected bigint, rejected bigint, labelled bigint, failures bigint,"
    "  shipment bigint NOT NULL,"
    "  PRIMARY KEY (site_id, hour, device));"
    "CREATE TABLE auditd_central.rollup_predictions ("
    "  site_id bigint NOT NULL REFERENCES auditd_central.sites(id),"
    "  hour timestamptz NOT NULL,"
    "  device text NOT NULL,"
    "  model text NOT NULL,"
    "  version text NOT NULL,"
    "  predictions bigint NOT NULL, positives bigint NOT NULL,"
    "  tp bigint NOT NULL, fp bigint NOT NULL, fn bigint NOT NULL, tn bigint NOT NULL,"
    "  shipment bigint NOT NULL,"
    "  PRIMARY KEY (site_id, hour, device, model, version));";

static const migration migrations[] = {
    {1, "mirror: sites, streams, checkpoints, entries, alerts", m1_sql},
    {2, "witness: witness key, latest and cosigned checkpoints, alert source; tree nodes", m2_sql},
    {3, "shipments: batches the sites record and the centre fetches; their rollups", m3_sql},
};
#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

_Static_assert(NMIGRATIONS == CSCHEMA_VERSION, "one migration per schema version");

static int pg_fail(PGconn *db, PGresult *r, adt_err *err, const char *what)
{
    const char *m = r ? PQresultErrorMessage(r) : "";
    if (!m || !*m)
        m = PQerrorMessage(db);
    char clean[400];
    snprintf(clean, sizeof clean, "%s", m ? m : "");
    size_t n = strlen(clean);
    while (n && (clean[n - 1] == '\n' || clean[n - 1] == ' '))
        clean[--n] = '\0';
    if (r)
        PQclear(r);
    return adt_fail(err, ADT_EIO, "%s: PostgreSQL: %s", what, clean);
}

static int exec_ok(PGconn *db, const char *sql, adt_err *err, const char *what)
{
    PGresult *r = PQexec(db, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return pg_fail(db, r, err, what);
    PQclear(r);
    return ADT_OK;
}

/* The version recorded in the database: 0 when the schema or the migrations
 * table does not exist. */
static int read_version(PGconn *db, int *v, adt_err *err)
{
    PGresult *r = PQexec(db, "SELECT to_regclass('auditd_central.schema_migrations') IS NOT NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(db, r, err, "reading the schema version");
    bool exists = !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    *v = 0;
    if (!exists)
        return ADT_OK;
    r = PQexec(db, "SELECT coalesce(max(version), 0) FROM auditd_central.schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_fail(db, r, err, "reading the schema version");
    int64_t x;
    int rc = num_i64(PQgetvalue(r, 0, 0), 0, 1000000, &x);
    PQclear(r);
    if (rc)
        return adt_fail(err, ADT_ECORRUPT, "auditd_central.schema_migrations holds a bad version");
    *v = (int)x;
    return ADT_OK;
}

int cschema_migrate(PGconn *db, int *from, int *to, adt_err *err)
{
    char lock[128], unlock[128];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%d, 0)", CSCHEMA_LOCK_CLASS);
    snprintf(unlock, sizeof unlock, "SELECT pg_advisory_unlock(%d, 0)", CSCHEMA_LOCK_CLASS);
    int rc = exec_ok(db, lock, err, "waiting for the migration lock");
    if (rc)
        return rc;
    rc = exec_ok(db,
                 "CREATE SCHEMA IF NOT EXISTS auditd_central;"
                 "CREATE TABLE IF NOT EXISTS auditd_central.schema_migrations ("
                 "  version integer PRIMARY KEY, name text NOT NULL,"
                 "  applied_at timestamptz NOT NULL DEFAULT now())",
                 err, "creating the schema auditd_central");
    int v = 0;
    if (!rc)
        rc = read_version(db, &v, err);
    if (from)
        *from = v;
    if (!rc && v > CSCHEMA_VERSION)
        rc = adt_fail(err, ADT_ECONFLICT,
                      "the database is at schema version %d, newer than this auditd's %d: "
                      "upgrade auditd", v, CSCHEMA_VERSION);
    for (size_t i = 0; !rc && i < NMIGRATIONS; i++) {
        const migration *m = &migrations[i];
        if (m->version <= v)
            continue;
        char what[160];
        snprintf(what, sizeof what, "applying migration %d (%s)", m->version, m->name);
        rc = exec_ok(db, "BEGIN", err, what);
        if (!rc)
            rc = exec_ok(db, m->sql, err, what);
        if (!rc) {
            char vs[16];
            snprintf(vs, sizeof vs, "%d", m->version);
            const char *pv[2] = {vs, m->name};
            PGresult *r = PQexecParams(db,
                                       "INSERT INTO auditd_central.schema_migrations "
                                       "(version, name) VALUES ($1, $2)",
                                       2, NULL, pv, NULL, NULL, 0);
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                rc = pg_fail(db, r, err, what);
            else
                PQclear(r);
        }
        if (!rc)
            rc = exec_ok(db, "COMMIT", err, what);
        if (rc) {
            PQclear(PQexec(db, "ROLLBACK"));
            break;
        }
        v = m->version;
    }
    if (to)
        *to = v;
    adt_err ignore;
    (void)exec_ok(db, unlock, &ignore, "releasing the migration lock");
    return rc;
}

int cschema_check(PGconn *db, adt_err *err)
{
    int v = 0;
    int rc = read_version(db, &v, err);
    if (rc)
        return rc;
    if (v == CSCHEMA_VERSION)
        return ADT_OK;
    if (v == 0)
        return adt_fail(err, ADT_ENOTFOUND,
                        "the database holds no central tier (schema auditd_central): run "
                        "'auditd central init --db ...' first");
    if (v < CSCHEMA_VERSION)
        return adt_fail(err, ADT_ECONFLICT,
                        "the database is at schema version %d, this auditd needs %d: run "
                        "'auditd central init --db ...' to migrate it",
                        v, CSCHEMA_VERSION);
    return adt_fail(err, ADT_ECONFLICT,
                    "the database is at schema version %d, newer than this auditd's %d: "
                    "upgrade auditd",
                    v, CSCHEMA_VERSION);
}
