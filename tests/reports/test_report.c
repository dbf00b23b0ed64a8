/* test_report.c: reports end to end over a real ledger in a temp directory:
 * KPI values from ledger events, the HTML's structure (libxml2's HTML parser
 * and XPath), OSCAL XML validated against the XSD with its references
 * resolved, OSCAL JSON, CSV, the report.issued record, the consistency chain
 * between reports, reproducibility, bad input and the HTTP handler. */
#include "canon.h"
#include "event.h"
#include "ledger.h"
#include "log.h"
#include "oscal.h"
#include "rdata.h"
#include "reports.h"
#include "rkeep.h"
#include "sha256.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;

static void append(ledger *lg, const char *json)
{
    buf c;
    buf_init(&c, 1 << 16);
    adt_err e = {0};
    event_info info;
    ck_assert_msg(event_validate(json, strlen(json), NULL, &c, &info, &e) == ADT_OK, "%s: %s", json,
                  e.msg);
    ledger_item it = {"agent:test", info.type, c.data, c.len, NULL, 0, false,
                      (event_writer)ts_writer_for(info.type)};
    ledger_commit cm;
    ck_assert_msg(ledger_append(lg, &it, 1, &cm, &e) == ADT_OK, "%s", e.msg);
    buf_free(&c);
}

#define EV(type, time, rest)                                                                     \
    "{\"type\":\"" type "\",\"time\":\"" time "\",\"actor\":\"agent:gw-1\"" rest "}"

static void setup(void)
{
    dir = ts_tmpdir("reports");
    adt_err e = {0};
    ck_assert_msg(ledger_init(dir, "auditd.test/plant-1", &e) == ADT_OK, "%s", e.msg);
    ledger *lg;
    ck_assert(ledger_open(dir, LEDGER_RDWR, &lg, &e) == ADT_OK);
    /* m1: running all quarter but a 4 h breakdown on 1 Aug; m2: idle then running */
    append(lg, EV("machine.state", "2026-07-01T00:00:00Z", ",\"device\":\"m1\",\"state\":\"running\""));
    append(lg, EV("machine.state", "2026-08-01T00:00:00Z", ",\"device\":\"m1\",\"state\":\"down\""));
    append(lg, EV("machine.state", "2026-08-01T04:00:00Z", ",\"device\":\"m1\",\"state\":\"running\""));
    append(lg, EV("machine.state", "2026-07-01T00:00:00Z", ",\"device\":\"m2\",\"state\":\"idle\""));
    append(lg, EV("machine.state", "2026-07-01T12:00:00Z", ",\"device\":\"m2\",\"state\":\"running\""));
    /* the machines still report at the start of the next quarter: the data
     * cover the whole period (a state never outlives the observed data) */
    append(lg, EV("machine.state", "2026-10-01T00:00:00Z", ",\"device\":\"m1\",\"state\":\"running\""));
    append(lg, EV("machine.state", "2026-10-01T00:00:00Z", ",\"device\":\"m2\",\"state\":\"running\""));
    /* incidents: one within SLA (ack 30 min, resolve 120), one critical late (ack 60) */
    append(lg, EV("incident.open", "2026-07-05T10:00:00Z",
                  ",\"incident_id\":\"i1\",\"severity\":\"high\",\"activity\":\"incident:ot\",\"summary\":\"Spindle overheating on m1\""));
    append(lg, EV("incident.ack", "2026-07-05T10:30:00Z", ",\"incident_id\":\"i1\""));
    append(lg, EV("incident.resolve", "2026-07-05T12:00:00Z", ",\"incident_id\":\"i1\""));
    append(lg, EV("incident.open", "2026-07-06T10:00:00Z",
                  ",\"incident_id\":\"i2\",\"severity\":\"critical\",\"activity\":\"incident:ot\",\"summary\":\"Gateway <gw-1> & broker offline\""));
    append(lg, EV("incident.ack", "2026-07-06T11:00:00Z", ",\"incident_id\":\"i2\""));
    append(lg, EV("incident.resolve", "2026-07-06T14:00:00Z", ",\"incident_id\":\"i2\""));
    /* previous quarter: one incident acknowledged after 90 min */
    append(lg, EV("incident.open", "2026-05-01T10:00:00Z",
                  ",\"incident_id\":\"i0\",\"severity\":\"low\",\"activity\":\"incident:ot\",\"summary\":\"old\""));
    append(lg, EV("incident.ack", "2026-05-01T11:30:00Z", ",\"incident_id\":\"i0\""));
    /* telemetry */
    append(lg, EV("telemetry.batch", "2026-07-02T00:00:00Z",
                  ",\"batch_id\":\"b1\",\"digest\":\"00\",\"readings\":1000,\"accepted\":995,\"quarantined\":5,\"devices\":2,\"from\":\"2026-07-01T00:00:00Z\",\"to\":\"2026-07-02T00:00:00Z\""));
    append(lg, EV("telemetry.reject", "2026-07-03T00:00:00Z",
                  ",\"batch_id\":\"b2\",\"count\":5,\"reasons\":{\"out_of_range\":3,\"unknown_field\":2},\"unknown_devices\":0"));
    /* a model registered, approved, deployed; one drift event */
    append(lg, EV("model.register", "2026-07-01T08:00:00Z",
                  ",\"model\":\"cnc-failure\",\"version\":\"1.0.0\",\"artifact_sha256\":\"ab\",\"dataset\":\"d1\",\"metrics\":{\"precision\":0.81,\"recall\":0.92,\"pr_auc\":0.88}"));
    append(lg, "{\"type\":\"change.approve\",\"time\":\"2026-07-01T09:00:00Z\",\"actor\":\"alice\","
               "\"change_id\":\"chg-1\",\"activity\":\"model:cnc-failure\",\"artifact_sha256\":\"ab\"}");
    append(lg, "{\"type\":\"model.deploy\",\"time\":\"2026-07-01T10:00:00Z\",\"actor\":\"bob\","
               "\"change_id\":\"chg-1\",\"activity\":\"model:cnc-failure\",\"model\":\"cnc-failure\","
               "\"version\":\"1.0.0\",\"artifact_sha256\":\"ab\",\"provenance\":{\"source\":\"git\",\"build_id\":\"1\"}}");
    append(lg, EV("drift.detected", "2026-08-15T00:00:00Z",
                  ",\"model\":\"cnc-failure\",\"feature\":\"torque_nm\",\"psi\":0.31,\"ks\":0.12,\"threshold\":0.2"));
    ledger_close(lg);
}

static void teardown(void)
{
    ts_rmrf(dir);
    free(dir);
}

static int gen(report_format f, bool record, uint64_t at, buf *out, report_issued *is, adt_err *e)
{
    report_opts o = {0};
    o.data_dir = dir;
    o.period = "2026-Q3";
    o.format = f;
    o.record = record;
    o.at_size = at;
    o.actor = "carol";
    buf_init(out, REPORT_MAX_BYTES);
    return reports_generate(&o, out, is, e);
}

static const cJSON *kpi(const cJSON *doc, const char *id)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItem(doc, "kpis"))
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(k, "id")), id))
            return k;
    ck_abort_msg("kpi %s missing", id);
    return NULL;
}

static double kval(const cJSON *doc, const char *id)
{
    const cJSON *v = cJSON_GetObjectItem(kpi(doc, id), "value");
    ck_assert_msg(cJSON_IsNumber(v), "kpi %s has no value", id);
    return v->valuedouble;
}

/* ---- the kept fold (rkeep.h) ------------------------------------------------ */

static char *report_bytes(const char *period, report_format f, uint64_t at, size_t *n)
{
    report_opts o = {0};
    o.data_dir = dir;
    o.period = period;
    o.format = f;
    o.at_size = at;
    o.actor = "carol";
    buf out;
    buf_init(&out, REPORT_MAX_BYTES);
    adt_err e = {0};
    ck_assert_msg(reports_generate(&o, &out, NULL, &e) == ADT_OK, "%s: %s", period, e.msg);
    char *p = malloc(out.len + 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, out.data, out.len);
    p[out.len] = 0;
    *n = out.len;
    buf_free(&out);
    return p;
}

static void drop_kept(const char *d)
{
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s%s", d, RKEEP_FILE, sfx[i]);
        remove(p);
    }
}

/* Where the ledger pass of `period` at `at` starts: the kept fold's size
 * when it resumed one, else 0 (it keeps what it folded, as a report does). */
static uint64_t fold_start(const char *period, uint64_t at)
{
    adt_err e = {0};
    kpi_defs defs;
    rperiod rp;
    ck_assert_msg(kpi_defs_for(dir, NULL, &defs, &e) == ADT_OK, "%s", e.msg);
    ck_assert(rperiod_parse(period, &rp, &e) == ADT_OK);
    rdata_opts o = {.at_size = at, .skip_controls = true, .skip_telemetry = true};
    rdata *d = NULL;
    ck_assert_msg(rdata_collect(dir, &rp, &defs, &o, &d, &e) == ADT_OK, "%s", e.msg);
    uint64_t from = d->fold_from;
    rdata_free(d);
    kpi_defs_free(&defs);
    return from;
}

static uint64_t size_now(void)
{
    adt_err e = {0};
    ledger *lg = NULL;
    uint64_t n = 0;
    ck_assert(ledger_open(dir, LEDGER_RDONLY, &lg, &e) == ADT_OK);
    ck_assert(ledger_size(lg, &n, &e) == ADT_OK);
    ledger_close(lg);
    return n;
}

static void append_now(const char *json)
{
    adt_err e = {0};
    ledger *lg = NULL;
    ck_assert(ledger_open(dir, LEDGER_RDWR, &lg, &e) == ADT_OK);
    append(lg, json);
    ledger_close(lg);
}

static const char *const kperiods[] = {"2026-Q3", "2026-09", "2027-Q1"};
static const report_format kfmts[] = {REPORT_JSON, REPORT_HTML};

/* Every period and format: the report with the kept folds as they are, then
 * with none (each fold from entry 0): the same bytes. `at` 0 = the latest. */
static void same_as_cold(uint64_t at, const char *what)
{
    for (size_t p = 0; p < 3; p++)
        for (size_t f = 0; f < 2; f++) {
            size_t nw = 0, nc = 0;
            char *warm = report_bytes(kperiods[p], kfmts[f], at, &nw);
            drop_kept(dir);
            char *cold = report_bytes(kperiods[p], kfmts[f], at, &nc);
            ck_assert_msg(nw == nc && !memcmp(warm, cold, nw), "%s: %s (format %zu) differs from "
                          "the report folded from entry 0", what, kperiods[p], f);
            free(warm);
            free(cold);
        }
    for (size_t p = 0; p < 3; p++) /* each drop dropped all three: kept again */
        fold_start(kperiods[p], at);
}

/* A warm report (the kept fold resumed, nothing new), one resumed over new
 * entries, a cold one and one at an older --at-size give the same bytes; a
 * machine state dated before what the kept fold holds makes it fold again
 * from entry 0. */
START_TEST(kept_fold_same_bytes)
{
    size_t n = 0, n2 = 0;
    /* cold, then warm: nothing to fold */
    uint64_t size1 = size_now();
    char *first[3][2];
    for (size_t p = 0; p < 3; p++)
        for (size_t f = 0; f < 2; f++) {
            drop_kept(dir);
            first[p][f] = report_bytes(kperiods[p], kfmts[f], 0, &n);
            ck_assert_uint_eq(fold_start(kperiods[p], 0), size1);
            char *again = report_bytes(kperiods[p], kfmts[f], 0, &n2);
            ck_assert_msg(n == n2 && !memcmp(first[p][f], again, n), "%s warm != cold",
                          kperiods[p]);
            free(again);
        }
    for (size_t p = 0; p < 3; p++) /* kept again (each drop above dropped all three) */
        fold_start(kperiods[p], 0);
    /* new entries: history before the windows (m1 running on 10 Jan, down
     * from 1 Feb, again on 20 Feb and 1 Mar: the kept fold keeps only where
     * the down run began and the last state), a state inside the period, an
     * incident and its ack, a state after it */
    append_now(EV("machine.state", "2026-01-10T00:00:00Z", ",\"device\":\"m1\",\"state\":\"running\""));
    append_now(EV("machine.state", "2026-02-01T00:00:00Z", ",\"device\":\"m1\",\"state\":\"down\""));
    append_now(EV("machine.state", "2026-02-20T00:00:00Z", ",\"device\":\"m1\",\"state\":\"down\""));
    append_now(EV("machine.state", "2026-03-01T00:00:00Z", ",\"device\":\"m1\",\"state\":\"down\""));
    append_now(EV("machine.state", "2026-08-20T00:00:00Z", ",\"device\":\"m2\",\"state\":\"down\""));
    append_now(EV("machine.state", "2026-08-20T06:00:00Z", ",\"device\":\"m2\",\"state\":\"running\""));
    append_now(EV("incident.open", "2026-08-21T10:00:00Z",
                  ",\"incident_id\":\"i9\",\"severity\":\"high\",\"activity\":\"incident:ot\",\"summary\":\"late\""));
    append_now(EV("incident.ack", "2026-08-21T10:20:00Z", ",\"incident_id\":\"i9\""));
    append_now(EV("machine.state", "2026-12-01T00:00:00Z", ",\"device\":\"m2\",\"state\":\"idle\""));
    uint64_t size2 = size_now();
    for (size_t p = 0; p < 3; p++) { /* each period's kept fold resumes at size1 */
        ck_assert_uint_eq(fold_start(kperiods[p], 0), size1);
        ck_assert_uint_eq(fold_start(kperiods[p], 0), size2);
    }
    same_as_cold(0, "resumed over new entries");
    /* an older checkpoint: the kept fold is further along, so the report folds
     * privately, gives the first bytes, and leaves the kept fold as it was */
    for (size_t p = 0; p < 3; p++)
        for (size_t f = 0; f < 2; f++) {
            ck_assert_uint_eq(fold_start(kperiods[p], 0), size2);
            char *old = report_bytes(kperiods[p], kfmts[f], size1, &n);
            ck_assert_msg(!memcmp(old, first[p][f], n), "%s --at-size %llu differs from the "
                          "report made at that size", kperiods[p], (unsigned long long)size1);
            ck_assert_uint_eq(fold_start(kperiods[p], size1), 0);
            ck_assert_uint_eq(fold_start(kperiods[p], 0), size2);
            free(old);
            free(first[p][f]);
        }
    /* a state dated before the last kept one before the windows (m1 down on
     * 5 Jan: the down run still begins on 1 Feb, after the dropped running
     * state of 10 Jan; the kept states alone would make it begin on 5 Jan and
     * lengthen the repair ending on 1 Jul): what was dropped matters, so the
     * fold starts again from entry 0, with the bytes of a cold report */
    for (size_t p = 0; p < 3; p++)
        ck_assert_uint_eq(fold_start(kperiods[p], 0), size2);
    append_now(EV("machine.state", "2026-01-05T00:00:00Z", ",\"device\":\"m1\",\"state\":\"down\""));
    for (size_t p = 0; p < 3; p++) {
        ck_assert_uint_eq(fold_start(kperiods[p], 0), 0);
        ck_assert_uint_eq(fold_start(kperiods[p], 0), size2 + 1);
    }
    same_as_cold(0, "after a state older than the kept ones");
}
END_TEST

static void sql(const char *file_dir, const char *q)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", file_dir, RKEEP_FILE);
    sqlite3 *db = NULL;
    ck_assert(sqlite3_open(p, &db) == SQLITE_OK);
    char *msg = NULL;
    ck_assert_msg(sqlite3_exec(db, q, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", q, msg);
    sqlite3_close(db);
}

/* The parser a report restores a kept fold with (rdata_fold_parses, also the
 * fuzz target's): every state a report kept reads back whole; the same state
 * cut short, with a byte added, or with its first list's count made huge does
 * not (and allocates nothing for the count). */
START_TEST(kept_fold_parser)
{
    size_t rn = 0;
    free(report_bytes("2026-Q3", kfmts[0], 0, &rn));
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, RKEEP_FILE);
    sqlite3 *db = NULL;
    ck_assert(sqlite3_open(p, &db) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ck_assert(sqlite3_prepare_v2(db, "SELECT state FROM fold", -1, &st, NULL) == SQLITE_OK);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const uint8_t *b = sqlite3_column_blob(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        ck_assert(len > 40);
        ck_assert(rdata_fold_parses(b, len));
        ck_assert(!rdata_fold_parses(b, len - 1));
        uint8_t *c = malloc(len + 1);
        ck_assert_ptr_nonnull(c);
        memcpy(c, b, len);
        c[len] = 0;
        ck_assert(!rdata_fold_parses(c, len + 1));
        /* the count of the devices' map, behind the version, the key, seven
         * numbers, the previous report's root and three strings (each a
         * little-endian length, then its bytes) */
        size_t off = 8;
        for (int f = 0; f < 12; f++) {
            if (f >= 1 && f <= 7) {
                off += 8;
                continue;
            }
            uint64_t l;
            ck_assert(off + 8 <= len);
            memcpy(&l, c + off, 8);
            off += 8 + (size_t)l;
        }
        ck_assert(off + 8 <= len);
        memset(c + off, 0xff, 8);
        ck_assert(!rdata_fold_parses(c, len));
        free(c);
        n++;
    }
    ck_assert_int_gt(n, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
}
END_TEST

/* A kept fold that is not this ledger's, not these windows', damaged, or in a
 * file that is no database is not trusted: the fold starts from entry 0 and
 * the report has the bytes of a cold one. */
START_TEST(kept_fold_not_trusted)
{
    uint64_t size = size_now();
    size_t n = 0, nc = 0;
    char *cold[2];
    drop_kept(dir);
    for (size_t f = 0; f < 2; f++)
        cold[f] = report_bytes("2026-Q3", kfmts[f], 0, &n);
    for (int c = 0; c < 6; c++) {
        ck_assert_uint_eq(fold_start("2026-Q3", 0), size); /* kept and resumed */
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir, RKEEP_FILE);
        if (c == 0) { /* one byte of the state changed: the checksum differs */
            sql(dir, "UPDATE fold SET state = substr(state, 1, 100) || CASE WHEN substr(state, 101, 1) "
                     "= X'FF' THEN X'FE' ELSE X'FF' END || substr(state, 102)");
        } else if (c == 1) { /* the checksum made to match the changed state */
            sql(dir, "UPDATE fold SET state = zeroblob(length(state))");
            /* sha256 of the new state, as rkeep computes it */
            sqlite3 *db = NULL;
            ck_assert(sqlite3_open(p, &db) == SQLITE_OK);
            sqlite3_stmt *st = NULL;
            ck_assert(sqlite3_prepare_v2(db, "SELECT state, key FROM fold", -1, &st, NULL) == 0);
            while (sqlite3_step(st) == SQLITE_ROW) {
                uint8_t h[32];
                sha256(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), h);
                sqlite3_stmt *up = NULL;
                ck_assert(sqlite3_prepare_v2(db, "UPDATE fold SET sha256=? WHERE key=?", -1, &up,
                                             NULL) == 0);
                sqlite3_bind_blob(up, 1, h, 32, SQLITE_TRANSIENT);
                sqlite3_bind_text(up, 2, (const char *)sqlite3_column_text(st, 1), -1,
                                  SQLITE_TRANSIENT);
                ck_assert(sqlite3_step(up) == SQLITE_DONE);
                sqlite3_finalize(up);
            }
            sqlite3_finalize(st);
            sqlite3_close(db);
        } else if (c == 2) { /* another window's state under this window's key */
            ck_assert_uint_eq(fold_start("2026-09", 0), 0);
            ck_assert_uint_eq(fold_start("2026-09", 0), size);
            /* the month's state (used last) copied over the quarter's */
            sql(dir, "CREATE TEMP TABLE m AS SELECT * FROM fold ORDER BY used DESC LIMIT 1;"
                     "UPDATE fold SET state = (SELECT state FROM m), sha256 = (SELECT sha256 FROM m), "
                     "size = (SELECT size FROM m), root = (SELECT root FROM m) "
                     "WHERE key <> (SELECT key FROM m)");
        } else if (c == 3) { /* another ledger's state for the same windows */
            char *other = ts_tmpdir("reports-other");
            adt_err e = {0};
            ck_assert(ledger_init(other, "auditd.test/plant-2", &e) == ADT_OK);
            ledger *lg = NULL;
            ck_assert(ledger_open(other, LEDGER_RDWR, &lg, &e) == ADT_OK);
            append(lg, EV("machine.state", "2026-07-01T00:00:00Z", ",\"device\":\"x\",\"state\":\"down\""));
            ledger_close(lg);
            char *keep = dir;
            dir = other;
            free(report_bytes("2026-Q3", REPORT_JSON, 0, &n));
            dir = keep;
            drop_kept(dir);
            rkeep *k = NULL;
            ck_assert(rkeep_open(dir, &k, &e) == ADT_OK); /* an empty file of kept folds */
            rkeep_close(k);
            char q[1400];
            snprintf(q, sizeof q, "ATTACH '%s/%s' AS o; INSERT INTO main.fold SELECT * FROM o.fold",
                     other, RKEEP_FILE);
            sql(dir, q);
            ts_rmrf(other);
            free(other);
        } else if (c == 4) { /* the file cut short */
            ck_assert(truncate(p, 2048) == 0);
        } else { /* not a database at all */
            ck_assert(ts_write_file(p, "not a database", 14) == 0);
        }
        ck_assert_msg(fold_start("2026-Q3", 0) == 0, "case %d: the kept fold was trusted", c);
        for (size_t f = 0; f < 2; f++) {
            char *now = report_bytes("2026-Q3", kfmts[f], 0, &nc);
            ck_assert_msg(nc == strlen(cold[f]) && !memcmp(now, cold[f], nc),
                          "case %d: the report differs from the cold one", c);
            free(now);
        }
    }
    for (size_t f = 0; f < 2; f++)
        free(cold[f]);
}
END_TEST

/* The rows of the kept folds' file counted by `q` (one integer). */
static int kept_count(const char *q)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, RKEEP_FILE);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    ck_assert(sqlite3_open(p, &db) == SQLITE_OK);
    ck_assert(sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK);
    ck_assert(sqlite3_step(st) == SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* A report with nothing new to fold, or at an older --at-size, does not
 * write the kept state again (a trigger counts the writes of `state`); a
 * state that is not trusted is written anew, which shows the count works. */
START_TEST(kept_fold_not_rewritten)
{
    uint64_t size = size_now();
    drop_kept(dir);
    ck_assert_uint_eq(fold_start("2026-Q3", 0), 0);
    sql(dir, "CREATE TABLE writes(n INTEGER);"
             "CREATE TRIGGER counted AFTER UPDATE OF state ON fold BEGIN"
             " INSERT INTO writes VALUES(1); END;");
    ck_assert_uint_eq(fold_start("2026-Q3", 0), size);    /* warm: nothing new */
    ck_assert_uint_eq(fold_start("2026-Q3", size - 1), 0); /* older: folds privately */
    ck_assert_int_eq(kept_count("SELECT count(*) FROM writes"), 0);
    sql(dir, "UPDATE fold SET root = zeroblob(32)");        /* another ledger's, it seems */
    ck_assert_uint_eq(fold_start("2026-Q3", 0), 0);
    ck_assert_int_eq(kept_count("SELECT count(*) FROM writes"), 1);
    ck_assert_uint_eq(fold_start("2026-Q3", 0), size);
    ck_assert_int_eq(kept_count("SELECT count(*) FROM writes"), 1);
    drop_kept(dir);
}
END_TEST

/* At most RKEEP_MAX sets of windows are kept: the least recently used go. */
START_TEST(kept_folds_bounded)
{
    char period[16];
    uint64_t size = size_now();
    for (int m = 0; m < RKEEP_MAX + 2; m++) { /* 2025-01 .. 2026-06: two too many */
        snprintf(period, sizeof period, "%d-%02d", 2025 + m / 12, m % 12 + 1);
        ck_assert_uint_eq(fold_start(period, 0), 0);
        if (m == 8) /* 2025-01 used again: no longer among the oldest */
            ck_assert_uint_eq(fold_start("2025-01", 0), size);
    }
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, RKEEP_FILE);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    ck_assert(sqlite3_open(p, &db) == SQLITE_OK);
    ck_assert(sqlite3_prepare_v2(db, "SELECT count(*) FROM fold", -1, &st, NULL) == SQLITE_OK);
    ck_assert(sqlite3_step(st) == SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), RKEEP_MAX);
    sqlite3_finalize(st);
    sqlite3_close(db);
    ck_assert_uint_eq(fold_start("2026-06", 0), size); /* the newest */
    ck_assert_uint_eq(fold_start("2025-01", 0), size); /* used since */
    ck_assert_uint_eq(fold_start("2025-02", 0), 0);    /* the two least recently used */
    ck_assert_uint_eq(fold_start("2025-03", 0), 0);
}
END_TEST

START_TEST(kpi_values_from_the_ledger)
{
    buf out;
    report_issued is;
    adt_err e = {0};
    ck_assert_msg(gen(REPORT_JSON, false, 0, &out, &is, &e) == ADT_OK, "%s", e.msg);
    cJSON *doc = cJSON_Parse(out.data);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "format")),
                     "auditd-report-kpis/2");
    ck_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "period"), "label")),
        "2026-Q3");
    /* The built-in calendar plans Mon-Fri 06-22 and Sat 06-14 (UTC). Running
     * counts wherever it happens: APT = (92 d - 4 h) + (92 d - 12 h). m1's
     * breakdown (Sat 1 Aug 00-04) is outside the plan; m2's idle morning
     * (Wed 1 Jul 00-12) is planned from 06: PBT = APT + 6 h. */
    double apt = 2 * 92 * 24.0 - 16, pbt = apt + 6;
    ck_assert_double_eq_tol(kval(doc, "availability"), 100 * apt / pbt, 1e-9);
    /* one failure, restored after 4 h; MTBF = APT / 1 in hours */
    ck_assert_double_eq_tol(kval(doc, "mtbf"), apt, 1e-9);
    ck_assert_double_eq_tol(kval(doc, "mttr"), 240, 1e-9);
    ck_assert_double_eq_tol(kval(doc, "incident_time_to_ack"), 45, 1e-9);
    ck_assert_double_eq_tol(kval(doc, "incident_time_to_resolve"), 180, 1e-9);
    ck_assert_double_eq_tol(kval(doc, "raci_sla_adherence"), 50, 1e-9);
    /* the drift monitor's detection counts: the model was deployed before it */
    ck_assert_double_eq_tol(kval(doc, "drift_events"), 1, 1e-9);
    /* previous quarter: i0 acknowledged after 90 minutes; numerator and
     * denominator are in the data */
    const cJSON *ack = kpi(doc, "incident_time_to_ack");
    ck_assert_double_eq_tol(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ack, "previous"), "value")->valuedouble, 90, 1e-9);
    const cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(ack, "inputs"), "current"), 0);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(t0, "role")), "numerator");
    ck_assert_double_eq_tol(cJSON_GetObjectItem(t0, "value")->valuedouble, 90, 1e-9);
    ck_assert_ptr_nonnull(cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ack, "evidence"), "source")));
    /* no telemetry store: the telemetry KPI is n/a with its reason, not 0 % */
    const cJSON *tel = kpi(doc, "telemetry_rejection_rate");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(tel, "value")));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(tel, "status")), "n/a");
    /* no machine in the previous quarter: availability there is n/a, not 0 % */
    const cJSON *av = cJSON_GetObjectItem(kpi(doc, "availability"), "previous");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(av, "value")));
    ck_assert_ptr_nonnull(cJSON_GetStringValue(cJSON_GetObjectItem(av, "why")));
    /* no telemetry store, no production: not available with a reason, never a number */
    const cJSON *oee = kpi(doc, "oee");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(oee, "value")));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(oee, "status")), "n/a");
    ck_assert_ptr_nonnull(cJSON_GetStringValue(cJSON_GetObjectItem(oee, "why")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(kpi(doc, "energy_reduction"), "value")));
    /* 14 weekly buckets in a 92-day quarter */
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(kpi(doc, "availability"), "weekly")), 14);
    cJSON_Delete(doc);
    /* nothing recorded for a draft */
    ledger *lg;
    uint64_t size;
    ck_assert(ledger_open(dir, LEDGER_RDONLY, &lg, &e) == ADT_OK);
    ck_assert(ledger_size(lg, &size, &e) == ADT_OK);
    ck_assert_int_eq(size, is.tree_size);
    ledger_close(lg);
    buf_free(&out);
}
END_TEST

static xmlXPathObjectPtr xp(xmlXPathContextPtr c, const char *expr)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, c);
    ck_assert_msg(o != NULL, "xpath %s", expr);
    return o;
}

static double xnum(xmlXPathContextPtr c, const char *expr)
{
    xmlXPathObjectPtr o = xp(c, expr);
    double v = xmlXPathCastToNumber(o);
    xmlXPathFreeObject(o);
    return v;
}

static char *xstr(xmlXPathContextPtr c, const char *expr)
{
    xmlXPathObjectPtr o = xp(c, expr);
    char *s = (char *)xmlXPathCastToString(o);
    xmlXPathFreeObject(o);
    return s;
}

START_TEST(html_structure_and_record)
{
    buf out;
    report_issued is;
    adt_err e = {0};
    ck_assert_msg(gen(REPORT_HTML, true, 0, &out, &is, &e) == ADT_OK, "%s", e.msg);
    ck_assert(is.recorded);
    ck_assert_int_lt(out.len, 2u << 20);
    ck_assert(!strncmp(out.data, "<!DOCTYPE html", 14));
    htmlDocPtr doc = htmlReadMemory(out.data, (int)out.len, "r.html", "UTF-8",
                                    HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
    ck_assert_ptr_nonnull(doc);
    xmlXPathContextPtr c = xmlXPathNewContext(doc);
    static const char *const sections[] = {"summary",   "impact",    "kpis",   "trends",
                                           "compliance", "findings", "incidents", "models",
                                           "data",      "integrity", "definitions", "signoff"};
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        char q[128];
        snprintf(q, sizeof q, "count(//section[@id='%s']/h2)", sections[i]);
        ck_assert_msg(xnum(c, q) == 1, "section %s missing", sections[i]);
    }
    /* executive summary: six headline cards, each with a bullet chart */
    ck_assert_double_eq(xnum(c, "count(//div[@class='card'])"), 6);
    ck_assert_double_eq(xnum(c, "count(//div[@class='card']/svg)"), 6);
    /* one row per KPI in the KPI table; 21 KPIs defined */
    ck_assert_double_eq(xnum(c, "count(//section[@id='kpis']/table/tbody/tr)"), 21);
    /* the controls headline comes with its coverage */
    char *cov = xstr(c, "normalize-space(//div[@class='card'][.//div[@class='cov']]//div[@class='cov'])");
    ck_assert_msg(strstr(cov, "Coverage:") && strstr(cov, "evidence rule"), "%s", cov);
    xmlFree(cov);
    /* trend charts carry dated axes (week-start labels like "1 Jul") */
    ck_assert(xnum(c, "count(//section[@id='trends']//*[local-name()='text'][contains(., ' Jul')])") > 0);
    /* self-contained: no scripts, no external resources, CSS for print */
    ck_assert_double_eq(xnum(c, "count(//script | //link | //*[@src] | //iframe)"), 0);
    char *css = xstr(c, "//style");
    ck_assert_ptr_nonnull(strstr(css, "@media print"));
    xmlFree(css);
    /* the incident summary escapes markup from the ledger (no injected elements) */
    char *inc = xstr(c, "//section[@id='incidents']//tr[td[1][starts-with(., 'i2')]]/td[1]/div");
    ck_assert_str_eq(inc, "Gateway <gw-1> & broker offline");
    xmlFree(inc);
    ck_assert_double_eq(xnum(c, "count(//gw-1)"), 0);
    /* model inventory: who deployed and who approved */
    char *appr = xstr(c, "//section[@id='models']//tbody/tr[1]/td[5]");
    ck_assert_ptr_nonnull(strstr(appr, "alice"));
    xmlFree(appr);
    char *prec = xstr(c, "normalize-space(//section[@id='models']//tbody/tr[1]/td[6])");
    ck_assert_str_eq(prec, "81.0 %");
    xmlFree(prec);
    /* integrity statement names the checkpoint's size and root */
    char *integ = xstr(c, "//section[@id='integrity']/div");
    char want[128];
    snprintf(want, sizeof want, "first %llu entries", (unsigned long long)is.tree_size);
    ck_assert_msg(strstr(integ, want) != NULL, "%s", integ);
    ck_assert_ptr_nonnull(strstr(integ, is.root));
    ck_assert_ptr_nonnull(strstr(integ, "verified"));
    xmlFree(integ);
    xmlXPathFreeContext(c);
    xmlFreeDoc(doc);

    /* the ledger's last entry is report.issued with this report's hash */
    ledger *lg;
    ck_assert(ledger_open(dir, LEDGER_RDONLY, &lg, &e) == ADT_OK);
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    ck_assert(ledger_entry(lg, is.index, &leaf, &e) == ADT_OK);
    ck_assert_int_eq(is.index, is.tree_size); /* appended right after the checkpoint used */
    cJSON *l = cJSON_Parse(leaf.data);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(l, "type")), "report.issued");
    cJSON *p = cJSON_GetObjectItem(l, "payload");
    uint8_t h[32];
    char hex[65];
    crypto_hash_sha256(h, (const uint8_t *)out.data, out.len);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "sha256")), hex);
    ck_assert_str_eq(is.sha256, hex);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "period")), "2026-Q3");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "format")), "html");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "actor")), "carol");
    ck_assert_int_eq((uint64_t)cJSON_GetObjectItem(p, "tree_size")->valuedouble, is.tree_size);
    merkle_hash root;
    ck_assert(ledger_root(lg, is.tree_size, root, &e) == ADT_OK);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", root[i]);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "root")), hex);
    cJSON_Delete(l);
    buf_free(&leaf);
    ledger_close(lg);

    /* reproducible: the same checkpoint gives the same bytes */
    buf again;
    report_issued is2;
    ck_assert(gen(REPORT_HTML, false, is.tree_size, &again, &is2, &e) == ADT_OK);
    ck_assert_str_eq(is2.sha256, is.sha256);
    buf_free(&again);

    /* the next report proves consistency with this one's checkpoint */
    buf next;
    report_issued is3;
    ck_assert(gen(REPORT_XML, true, 0, &next, &is3, &e) == ADT_OK);
    xmlDocPtr x = xmlReadMemory(next.data, (int)next.len, "r.xml", NULL, XML_PARSE_NONET);
    c = xmlXPathNewContext(x);
    char *cons = xstr(c, "string(/report/integrity/previous/@consistency)");
    ck_assert_str_eq(cons, "proven");
    xmlFree(cons);
    ck_assert_double_eq(xnum(c, "number(/report/integrity/previous/@tree-size)"),
                        (double)is.tree_size);
    char *ps = xstr(c, "string(/report/integrity/previous/@sha256)");
    ck_assert_str_eq(ps, is.sha256);
    xmlFree(ps);
    char *sig = xstr(c, "string(/report/integrity/previous/@checkpoint-signature)");
    ck_assert_str_eq(sig, "verified");
    xmlFree(sig);
    xmlXPathFreeContext(c);
    xmlFreeDoc(x);
    buf_free(&next);
    buf_free(&out);
}
END_TEST

static void schema_err(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    (void)fmt;
}

START_TEST(oscal_xml_validates)
{
    buf out;
    report_issued is;
    adt_err e = {0};
    ck_assert_msg(gen(REPORT_OSCAL_XML, false, 0, &out, &is, &e) == ADT_OK, "%s", e.msg);
    xmlDocPtr doc = xmlReadMemory(out.data, (int)out.len, "ar.xml", NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    xmlSetGenericErrorFunc(NULL, schema_err);
    xmlSchemaParserCtxtPtr pc =
        xmlSchemaNewParserCtxt(ts_shared("data/oscal-schemas/oscal_assessment-results_schema.xsd"));
    xmlSchemaPtr schema = xmlSchemaParse(pc);
    ck_assert_ptr_nonnull(schema);
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    ck_assert_int_eq(xmlSchemaValidateDoc(vc, doc), 0);
    xmlSetGenericErrorFunc(NULL, NULL);
    ck_assert_int_eq(oscal_check_xml(doc, &e), ADT_OK);

    xmlXPathContextPtr c = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(c, BAD_CAST "o", BAD_CAST OSCAL_NS);
    ck_assert_double_eq(xnum(c, "count(/o:assessment-results/o:result)"), 1);
    /* a finding per evaluated control, each with a status */
    double nf = xnum(c, "count(//o:finding)");
    ck_assert_double_eq(nf, xnum(c, "count(//o:finding/o:target/o:status[@state])"));
    /* evidence cites ledger entries with index and leaf hash, linked to the checkpoint */
    double nev = xnum(c, "count(//o:relevant-evidence)");
    ck_assert_double_eq(nev, xnum(c, "count(//o:relevant-evidence/o:prop[@name='ledger-index'])"));
    ck_assert_double_eq(nev, xnum(c, "count(//o:relevant-evidence/o:prop[@name='leaf-hash'])"));
    ck_assert_double_eq(xnum(c, "count(//o:back-matter/o:resource/o:base64)"), 1);
    if (nev > 0) {
        /* the cited leaf hash is the ledger's */
        double idx = xnum(c, "number((//o:relevant-evidence)[1]/o:prop[@name='ledger-index']/@value)");
        char *lh = xstr(c, "string((//o:relevant-evidence)[1]/o:prop[@name='leaf-hash']/@value)");
        ledger *lg;
        ck_assert(ledger_open(dir, LEDGER_RDONLY, &lg, &e) == ADT_OK);
        merkle_hash h;
        ck_assert(ledger_leaf_hash(lg, (uint64_t)idx, h, &e) == ADT_OK);
        char hex[65];
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", h[i]);
        ck_assert_str_eq(lh, hex);
        xmlFree(lh);
        ledger_close(lg);
    }
    xmlXPathFreeContext(c);

    /* the program's own checks catch what the XSD cannot */
    xmlNodePtr ro = NULL;
    for (xmlNodePtr n = xmlDocGetRootElement(doc)->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, BAD_CAST "result"))
            ro = n;
    ck_assert_ptr_nonnull(ro);
    xmlNodePtr f = xmlNewChild(ro, NULL, BAD_CAST "finding", NULL);
    xmlNewProp(f, BAD_CAST "uuid", BAD_CAST "11111111-2222-4333-8444-555555555555");
    xmlNodePtr rel = xmlNewChild(f, NULL, BAD_CAST "related-observation", NULL);
    xmlNewProp(rel, BAD_CAST "observation-uuid", BAD_CAST "99999999-2222-4333-8444-555555555555");
    ck_assert_int_ne(oscal_check_xml(doc, &e), ADT_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "does not resolve"));
    xmlSetProp(rel, BAD_CAST "observation-uuid", BAD_CAST "11111111-2222-4333-8444-555555555555");
    xmlNodePtr f2 = xmlNewChild(ro, NULL, BAD_CAST "finding", NULL);
    xmlNewProp(f2, BAD_CAST "uuid", BAD_CAST "11111111-2222-4333-8444-555555555555");
    ck_assert_int_ne(oscal_check_xml(doc, &e), ADT_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "used twice"));

    xmlSchemaFreeValidCtxt(vc);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(pc);
    xmlFreeDoc(doc);
    buf_free(&out);
}
END_TEST

START_TEST(oscal_json_shape)
{
    buf out;
    report_issued is;
    adt_err e = {0};
    ck_assert_msg(gen(REPORT_OSCAL_JSON, false, 0, &out, &is, &e) == ADT_OK, "%s", e.msg);
    cJSON *doc = cJSON_Parse(out.data);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(oscal_check_json(doc, &e), ADT_OK);
    cJSON *ar = cJSON_GetObjectItem(doc, "assessment-results");
    ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(ar, "import-ap"), "href"));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(ar, "metadata"),
                                                              "oscal-version")),
                     OSCAL_VERSION);
    cJSON *results = cJSON_GetObjectItem(ar, "results");
    ck_assert_int_eq(cJSON_GetArraySize(results), 1);
    cJSON *r0 = cJSON_GetArrayItem(results, 0);
    ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(r0, "reviewed-controls"),
                                              "control-selections"));
    /* same uuids as the XML: both derive from the checkpoint */
    buf x;
    report_issued isx;
    ck_assert(gen(REPORT_OSCAL_XML, false, 0, &x, &isx, &e) == ADT_OK);
    const char *u = cJSON_GetStringValue(cJSON_GetObjectItem(ar, "uuid"));
    ck_assert_ptr_nonnull(strstr(x.data, u));
    buf_free(&x);
    /* uuids are version-4 format */
    ck_assert_int_eq(u[14], '4');
    ck_assert(strchr("89ab", u[19]) != NULL);
    cJSON_Delete(doc);
    buf_free(&out);
}
END_TEST

START_TEST(csv_table)
{
    buf out;
    report_issued is;
    adt_err e = {0};
    ck_assert(gen(REPORT_CSV, false, 0, &out, &is, &e) == ADT_OK);
    int lines = 0;
    for (size_t i = 0; i < out.len; i++)
        lines += out.data[i] == '\n';
    ck_assert_int_eq(lines, 22); /* header + 21 KPIs */
    ck_assert(!strncmp(out.data, "period,id,name,group,unit,value,previous,baseline,", 50));
    ck_assert_ptr_nonnull(strstr(out.data, "\r\n2026-Q3,incident_time_to_ack,"));
    /* value 45, previous 90, no baseline period in the data (Q2 is the previous
     * quarter here: measured 90), target 30, numerator 90 min over 2 incidents */
    ck_assert_msg(strstr(out.data, ",45.0,90.0,90.0,measured,30.0,missed,lower,90,2,"), "%s",
                  out.data);
    buf_free(&out);
}
END_TEST

START_TEST(bad_input_changes_nothing)
{
    adt_err e = {0};
    ledger *lg;
    uint64_t before, after;
    ck_assert(ledger_open(dir, LEDGER_RDONLY, &lg, &e) == ADT_OK);
    ck_assert(ledger_size(lg, &before, &e) == ADT_OK);
    ledger_close(lg);
    report_opts o = {0};
    o.data_dir = dir;
    o.format = REPORT_HTML;
    o.record = true;
    buf out;
    buf_init(&out, REPORT_MAX_BYTES);
    o.period = "2026-Q5";
    ck_assert_int_eq(reports_generate(&o, &out, NULL, &e), ADT_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "2026-Q5"));
    o.period = "2026-Q3";
    char tpl[512];
    snprintf(tpl, sizeof tpl, "%s/bad.xsl", dir);
    ts_write_file(tpl, "<xsl:stylesheet", 15);
    o.template_path = tpl;
    ck_assert_int_eq(reports_generate(&o, &out, NULL, &e), ADT_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "bad.xsl"));
    /* a template trying to read a file is stopped by the sandbox */
    const char *evil =
        "<xsl:stylesheet version=\"1.0\" xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">"
        "<xsl:template match=\"/\"><x><xsl:copy-of select=\"document('/etc/passwd')\"/></x>"
        "</xsl:template></xsl:stylesheet>";
    ts_write_file(tpl, evil, strlen(evil));
    int rc = reports_generate(&o, &out, NULL, &e);
    ck_assert(rc != ADT_OK || strstr(out.data, "root:") == NULL);
    ck_assert(out.len == 0 || strstr(out.data, "root:") == NULL);
    o.template_path = NULL;
    o.kpis_path = tpl;
    ts_write_file(tpl, "{\"format\":\"auditd-kpis/1\"}", 26);
    ck_assert_int_eq(reports_generate(&o, &out, NULL, &e), ADT_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "version"));
    ck_assert(ledger_open(dir, LEDGER_RDONLY, &lg, &e) == ADT_OK);
    ck_assert(ledger_size(lg, &after, &e) == ADT_OK);
    ledger_close(lg);
    ck_assert_int_eq(after, before + (rc == ADT_OK)); /* only a successful render records */
    buf_free(&out);
}
END_TEST

START_TEST(custom_template)
{
    /* a user's template sees the same report document */
    char tpl[512];
    snprintf(tpl, sizeof tpl, "%s/mine.xsl", dir);
    const char *x =
        "<xsl:stylesheet version=\"1.0\" xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">"
        "<xsl:output method=\"text\"/><xsl:template match=\"/report\">"
        "<xsl:value-of select=\"@period\"/>|<xsl:value-of select=\"count(kpis/kpi)\"/>|"
        "<xsl:value-of select=\"kpis/kpi[@id='incident_time_to_ack']/@display\"/>|"
        "<xsl:value-of select=\"integrity/@signature\"/></xsl:template></xsl:stylesheet>";
    ts_write_file(tpl, x, strlen(x));
    report_opts o = {0};
    o.data_dir = dir;
    o.period = "2026-Q3";
    o.format = REPORT_HTML;
    o.template_path = tpl;
    buf out;
    buf_init(&out, REPORT_MAX_BYTES);
    adt_err e = {0};
    ck_assert_msg(reports_generate(&o, &out, NULL, &e) == ADT_OK, "%s", e.msg);
    ck_assert_str_eq(out.data, "2026-Q3|21|45.0|verified");
    buf_free(&out);
}
END_TEST

START_TEST(http_handler)
{
    api_param prm[1] = {{"format", "csv"}};
    api_request req = {"GET", "/v1/reports/2026-Q3", prm, 1, NULL, 0, API_ROLE_AGENT, "agent:gw-1",
                       NULL, 0, EVENT_WRITER_EDGE, 0};
    api_response resp = {0};
    buf_init(&resp.body, 64u << 20);
    ck_assert_int_eq(reports_api(dir, NULL, &req, &resp), ADT_OK);
    ck_assert_int_eq(resp.status, 403);
    req.role = API_ROLE_AUDITOR;
    req.principal = "auditor-1";
    buf_reset(&resp.body);
    ck_assert_int_eq(reports_api(dir, NULL, &req, &resp), ADT_OK);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.content_type, "text/csv; charset=utf-8");
    ck_assert(!strncmp(resp.body.data, "period,", 7));
    prm[0].value = "pdf";
    buf_reset(&resp.body);
    ck_assert_int_eq(reports_api(dir, NULL, &req, &resp), ADT_OK);
    ck_assert_int_eq(resp.status, 400);
    req.path = "/v1/reports/2026-13";
    prm[0].value = "json";
    buf_reset(&resp.body);
    ck_assert_int_eq(reports_api(dir, NULL, &req, &resp), ADT_OK);
    ck_assert_int_eq(resp.status, 400);
    req.path = "/v1/other";
    ck_assert_int_eq(reports_api(dir, NULL, &req, &resp), ADT_ENOTFOUND);
    buf_free(&resp.body);
}
END_TEST

static uint64_t ledger_len(void);

/* GET reads (records nothing); POST issues: 201 with the document and the
 * ledger record of exactly those bytes. */
START_TEST(http_get_reads_post_issues)
{
    api_param prm[1] = {{"format", "json"}};
    api_request req = {"GET", "/v1/reports/2026-Q3", prm, 1, NULL, 0, API_ROLE_AUDITOR, "frank",
                       NULL, 0, EVENT_WRITER_EDGE, 0};
    api_response resp = {0};
    buf_init(&resp.body, 64u << 20);
    uint64_t before = ledger_len();
    ck_assert_int_eq(reports_api(dir, NULL, &req, &resp), ADT_OK);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_uint_eq(ledger_len(), before);
    char *draft = strdup(resp.body.data);
    req.method = "POST";
    buf_reset(&resp.body);
    ck_assert_int_eq(reports_api(dir, NULL, &req, &resp), ADT_OK);
    ck_assert_msg(resp.status == 201, "%d %s", resp.status, resp.body.data);
    ck_assert_uint_eq(ledger_len(), before + 1);
    cJSON *j = cJSON_Parse(resp.body.data);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "recorded")->valuestring, "report.issued");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "format")->valuestring, "json");
    ck_assert_uint_eq((uint64_t)cJSON_GetObjectItem(j, "index")->valuedouble, before);
    const char *doc = cJSON_GetObjectItem(j, "document")->valuestring;
    uint8_t h[32];
    char hx[65];
    crypto_hash_sha256(h, (const unsigned char *)doc, strlen(doc));
    sodium_bin2hex(hx, sizeof hx, h, 32);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "sha256")->valuestring, hx);
    /* the draft read before is what was issued (same checkpoint, same bytes) */
    ck_assert_str_eq(doc, draft);
    cJSON_Delete(j);
    free(draft);
    /* other methods, other roles: refused, nothing recorded */
    req.method = "DELETE";
    buf_reset(&resp.body);
    ck_assert_int_eq(reports_api(dir, NULL, &req, &resp), ADT_OK);
    ck_assert_int_eq(resp.status, 405);
    req.method = "POST";
    req.role = API_ROLE_AGENT;
    buf_reset(&resp.body);
    ck_assert_int_eq(reports_api(dir, NULL, &req, &resp), ADT_OK);
    ck_assert_int_eq(resp.status, 403);
    ck_assert_uint_eq(ledger_len(), before + 1);
    buf_free(&resp.body);
}
END_TEST

static uint64_t ledger_len(void)
{
    adt_err e = {0};
    ledger *lg;
    uint64_t n = 0;
    ck_assert(ledger_open(dir, LEDGER_RDONLY, &lg, &e) == ADT_OK);
    ck_assert(ledger_size(lg, &n, &e) == ADT_OK);
    ledger_close(lg);
    return n;
}

START_TEST(cli_black_box)
{
    char out_dir[512];
    snprintf(out_dir, sizeof out_dir, "%s/out", dir);
    uint64_t before = ledger_len();
    char *out = NULL, *err = NULL;
    const char *all[] = {"report", "--data-dir", dir, "--period", "2026-Q3", "--format", "all",
                         "--out-dir", out_dir, "--actor", "carol", NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &err, all), 0);
    /* five files, each printed with its path and hash, all from one checkpoint */
    static const char *const ext[] = {"html", "oscal.xml", "oscal.json", "kpis.json", "kpis.csv"};
    for (size_t i = 0; i < 5; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/report-2026-Q3.%s", out_dir, ext[i]);
        ck_assert_msg(strstr(out, path) != NULL, "%s not printed in: %s", path, out);
        size_t len = 0;
        char *data = ts_read_file(path, &len);
        ck_assert_ptr_nonnull(data);
        ck_assert_int_gt(len, 100);
        free(data);
    }
    char want[64];
    snprintf(want, sizeof want, "tree_size=%llu", (unsigned long long)before);
    const char *p = out;
    int same = 0;
    while ((p = strstr(p, want))) {
        same++;
        p++;
    }
    ck_assert_int_eq(same, 5);
    ck_assert_int_eq(ledger_len(), before + 5);
    free(out);
    free(err);

    /* bad input: a clear message, exit 2, nothing recorded */
    const char *bad[] = {"report", "--data-dir", dir, "--period", "2026-Q9", NULL};
    out = err = NULL;
    ck_assert_int_ne(ts_run(NULL, 0, &out, &err, bad), 0);
    ck_assert_ptr_nonnull(strstr(err, "2026-Q9"));
    free(out);
    free(err);
    const char *nofmt[] = {"report", "--data-dir", dir, "--period", "2026-Q3", "--format", "pdf", NULL};
    out = err = NULL;
    ck_assert_int_eq(ts_run(NULL, 0, &out, &err, nofmt), 2);
    ck_assert_ptr_nonnull(strstr(err, "--format"));
    free(out);
    free(err);
    /* an unwritable output: the report is not issued */
    const char *nowrite[] = {"report", "--data-dir", dir, "--period", "2026-Q3", "--out",
                             "/nonexistent-dir/r.html", NULL};
    out = err = NULL;
    ck_assert_int_ne(ts_run(NULL, 0, &out, &err, nowrite), 0);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir"));
    free(out);
    free(err);
    ck_assert_int_eq(ledger_len(), before + 5);
    /* --time: the report's date and its report.issued time; with --at-size the
     * bytes reproduce */
    char f1[600], f2[600];
    snprintf(f1, sizeof f1, "%s/t1.html", dir);
    snprintf(f2, sizeof f2, "%s/t2.html", dir);
    const char *t1[] = {"report", "--data-dir", dir, "--period", "2026-Q3", "--time",
                        "2026-10-02T09:30:00Z", "--out", f1, NULL};
    out = NULL;
    ck_assert_int_eq(ts_run(NULL, 0, &out, NULL, t1), 0);
    uint64_t rec = ledger_len() - 1, at = 0;
    const char *ts = strstr(out, "tree_size=");
    ck_assert_ptr_nonnull(ts);
    at = strtoull(ts + 10, NULL, 10);
    free(out);
    char atbuf[32];
    snprintf(atbuf, sizeof atbuf, "%llu", (unsigned long long)at);
    const char *t2[] = {"report", "--data-dir", dir, "--period", "2026-Q3", "--time",
                        "2026-10-02T09:30:00Z", "--at-size", atbuf, "--no-record", "--out", f2,
                        NULL};
    ck_assert_int_eq(ts_run(NULL, 0, NULL, NULL, t2), 0);
    size_t l1, l2;
    char *h1 = ts_read_file(f1, &l1), *h2 = ts_read_file(f2, &l2);
    ck_assert(l1 == l2 && !memcmp(h1, h2, l1));
    ck_assert_ptr_nonnull(strstr(h1, "issued 2 Oct 2026, 09:30 UTC"));
    free(h1);
    free(h2);
    ledger *lg;
    adt_err e = {0};
    ck_assert(ledger_open(dir, LEDGER_RDONLY, &lg, &e) == ADT_OK);
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    ck_assert(ledger_entry(lg, rec, &leaf, &e) == ADT_OK);
    ck_assert_ptr_nonnull(strstr(leaf.data, "\"time\":\"2026-10-02T09:30:00"));
    ck_assert_ptr_nonnull(strstr(leaf.data, "report.issued"));
    buf_free(&leaf);
    ledger_close(lg);
    const char *badt[] = {"report", "--data-dir", dir, "--period", "2026-Q3", "--time", "yesterday",
                          NULL};
    err = NULL;
    ck_assert_int_eq(ts_run(NULL, 0, NULL, &err, badt), 2);
    ck_assert_ptr_nonnull(strstr(err, "--time"));
    free(err);
    /* the daily verification of a simulated clock: verify --record --time T
     * records auditd's own result with the event time T */
    const char *vt[] = {"verify", "--data-dir", dir, "--record", "--time", "2026-07-02T23:55:00Z",
                        NULL};
    ck_assert_int_eq(ts_run(NULL, 0, NULL, NULL, vt), 0);
    ck_assert(ledger_open(dir, LEDGER_RDONLY, &lg, &e) == ADT_OK);
    buf_init(&leaf, LEDGER_MAX_LEAF);
    ck_assert(ledger_entry(lg, ledger_len() - 1, &leaf, &e) == ADT_OK);
    ck_assert_ptr_nonnull(strstr(leaf.data, "\"type\":\"ledger.verify\""));
    ck_assert_ptr_nonnull(strstr(leaf.data, "\"time\":\"2026-07-02T23:55:00"));
    ck_assert_ptr_nonnull(strstr(leaf.data, "\"writer\":\"auditd\""));
    buf_free(&leaf);
    ledger_close(lg);
    const char *vt2[] = {"verify", "--data-dir", dir, "--time", "2026-07-02T23:55:00Z", NULL};
    err = NULL;
    ck_assert_int_eq(ts_run(NULL, 0, NULL, &err, vt2), 2);
    ck_assert_ptr_nonnull(strstr(err, "--record"));
    free(err);
    const char *help[] = {"report", "--help", NULL};
    out = NULL;
    ck_assert_int_eq(ts_run(NULL, 0, &out, NULL, help), 0);
    ck_assert_ptr_nonnull(strstr(out, "--period"));
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reports");
    TCase *tc = tcase_create("reports");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, kpi_values_from_the_ledger);
    tcase_add_test(tc, html_structure_and_record);
    tcase_add_test(tc, oscal_xml_validates);
    tcase_add_test(tc, oscal_json_shape);
    tcase_add_test(tc, csv_table);
    tcase_add_test(tc, bad_input_changes_nothing);
    tcase_add_test(tc, custom_template);
    tcase_add_test(tc, http_handler);
    tcase_add_test(tc, http_get_reads_post_issues);
    tcase_add_test(tc, cli_black_box);
    tcase_add_test(tc, kept_fold_same_bytes);
    tcase_add_test(tc, kept_fold_not_trusted);
    tcase_add_test(tc, kept_fold_parser);
    tcase_add_test(tc, kept_folds_bounded);
    tcase_add_test(tc, kept_fold_not_rewritten);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
