/* test_ingest.c: ingestion on a real telemetry.db and ledger: every profile
 * rule lands in the quarantine with its reason, replay after fixing the
 * profile or registering the device, profile versions kept per reading,
 * ledger records (batch digest, rejects), datasets and the tstore read API,
 * lineage of a dataset with verified inclusion proofs, all-or-nothing. */
#include "ingest.h"
#include "ledger.h"
#include "lineage.h"
#include "registry.h"
#include "sqldb.h"
#include "tdb.h"
#include "tstore.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char prof_v1[] =
    "{\"profile\":\"pump\",\"device_type\":\"pump\",\"sampling_interval_s\":60,\"fields\":["
    "{\"name\":\"temp\",\"type\":\"number\",\"unit\":\"K\",\"min\":250,\"max\":400,"
    "\"required\":true},"
    "{\"name\":\"rpm\",\"type\":\"integer\",\"min\":0,\"max\":5000},"
    "{\"name\":\"state\",\"type\":\"enum\",\"values\":[\"run\",\"stop\"],\"role\":"
    "\"machine_state\"},"
    "{\"name\":\"failure\",\"type\":\"boolean\",\"role\":\"failure_label\"}]}";

/* v2 adds a field (a firmware update started sending it). */
static const char prof_v2[] =
    "{\"profile\":\"pump\",\"device_type\":\"pump\",\"sampling_interval_s\":60,\"fields\":["
    "{\"name\":\"temp\",\"type\":\"number\",\"unit\":\"K\",\"min\":250,\"max\":400,"
    "\"required\":true},"
    "{\"name\":\"rpm\",\"type\":\"integer\",\"min\":0,\"max\":5000},"
    "{\"name\":\"state\",\"type\":\"enum\",\"values\":[\"run\",\"stop\"],\"role\":"
    "\"machine_state\"},"
    "{\"name\":\"failure\",\"type\":\"boolean\",\"role\":\"failure_label\"},"
    "{\"name\":\"pressure\",\"type\":\"number\",\"unit\":\"bar\"}]}";

static const char batch1[] =
    "{\"device\":\"p-1\",\"time\":\"2026-07-01T00:00:00Z\",\"values\":{\"temp\":300,\"rpm\":1500,"
    "\"state\":\"run\",\"failure\":false}}\n"
    "{\"device\":\"p-1\",\"time\":\"2026-07-01T00:01:00Z\",\"values\":{\"temp\":\"hot\"}}\n"
    "{\"device\":\"p-1\",\"time\":\"2026-07-01T00:02:00Z\",\"values\":{\"temp\":{\"value\":27,"
    "\"unit\":\"Cel\"}}}\n"
    "{\"device\":\"p-1\",\"time\":\"2026-07-01T00:03:00Z\",\"values\":{\"temp\":999}}\n"
    "{\"device\":\"p-1\",\"time\":\"2026-07-01T00:04:00Z\",\"values\":{\"rpm\":10}}\n"
    "{\"device\":\"p-1\",\"time\":\"2026-07-01T00:05:00Z\",\"values\":{\"temp\":301,"
    "\"pressure\":2.5}}\n"
    "{\"device\":\"p-1\",\"time\":\"2026-07-01T00:06:00Z\",\"values\":{\"temp\":301,"
    "\"state\":\"fly\"}}\n"
    "{\"device\":\"p-9\",\"time\":\"2026-07-01T00:07:00Z\",\"values\":{\"temp\":301}}\n"
    "{\"device\":\"p-1\",\"time\":\"yesterday\",\"values\":{\"temp\":301}}\n"
    "not json at all\n"
    "\n"
    "{\"device\":\"p-1\",\"time\":\"2026-07-01T00:08:00Z\",\"values\":{\"temp\":302,"
    "\"failure\":true},\"extra\":1}\n"
    "{\"device\":\"p-1\",\"time\":\"2026-07-01T00:09:00Z\",\"values\":{\"temp\":303,"
    "\"failure\":true}}\n";

static char *dir;
static ledger *lg;
static ingest *g;
static evsink sink;

static void setup(void)
{
    dir = ts_tmpdir("pl-ingest");
    adt_err e;
    ck_assert_int_eq(ledger_init(dir, "test/pipeline", &e), ADT_OK);
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &e), ADT_OK);
    sink = (evsink){.lg = lg};
    ck_assert_int_eq(ingest_open(dir, &sink, false, &g, &e), ADT_OK);
    registry_put r;
    ck_assert_int_eq(registry_profile_put(ingest_db(g), &sink, "tester", prof_v1,
                                          strlen(prof_v1), &r, &e),
                     ADT_OK);
    ck_assert(r.changed);
    ck_assert_int_eq(r.version, 1);
    registry_device d = {"p-1", "pump", "plant-1", "fw-1"};
    ck_assert_int_eq(registry_devices_put(ingest_db(g), &sink, "tester", &d, 1, &e), ADT_OK);
    ingest_invalidate(g);
}

static void teardown(void)
{
    ingest_close(g);
    ledger_close(lg);
    ts_rmrf(dir);
    free(dir);
}

/* The payload of ledger entry `i` (parsed). */
static cJSON *entry_payload(uint64_t i, char *type, size_t tcap)
{
    buf b;
    buf_init(&b, LEDGER_MAX_LEAF);
    adt_err e;
    ck_assert_int_eq(ledger_entry(lg, i, &b, &e), ADT_OK);
    cJSON *leaf = cJSON_Parse(b.data);
    buf_free(&b);
    ck_assert_ptr_nonnull(leaf);
    snprintf(type, tcap, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(leaf, "type")));
    cJSON *p = cJSON_DetachItemFromObject(leaf, "payload");
    cJSON_Delete(leaf);
    return p;
}

static int64_t count(const char *sql)
{
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(ingest_db(g), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

START_TEST(every_rule_quarantined)
{
    ingest_result r;
    adt_err e;
    ck_assert_int_eq(ingest_ndjson(g, "agent:gw-1", batch1, strlen(batch1), &r, &e), ADT_OK);
    ck_assert_uint_eq(r.readings, 12);
    ck_assert_uint_eq(r.accepted, 2);
    ck_assert_uint_eq(r.quarantined, 10);
    ck_assert_uint_eq(r.reasons[PROFILE_R_TYPE], 1);
    ck_assert_uint_eq(r.reasons[PROFILE_R_UNIT], 1);
    ck_assert_uint_eq(r.reasons[PROFILE_R_RANGE], 1);
    ck_assert_uint_eq(r.reasons[PROFILE_R_MISSING], 1);
    ck_assert_uint_eq(r.reasons[PROFILE_R_UNKNOWN_FIELD], 1);
    ck_assert_uint_eq(r.reasons[PROFILE_R_ENUM], 1);
    ck_assert_uint_eq(r.reasons[PROFILE_R_UNKNOWN_DEVICE], 1);
    ck_assert_uint_eq(r.reasons[PROFILE_R_TIME], 1);
    ck_assert_uint_eq(r.reasons[PROFILE_R_PARSE], 2);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM readings"), 2);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM quarantine"), 10);

    /* the quarantine keeps each whole line with its reason and detail */
    buf q;
    buf_init(&q, 1u << 20);
    ck_assert_int_eq(ingest_quarantine_json(ingest_db(g), false, 0, &q, &e), ADT_OK);
    cJSON *arr = cJSON_Parse(q.data);
    ck_assert_int_eq(cJSON_GetArraySize(arr), 10);
    cJSON *it;
    int seen_unit = 0, seen_unknown = 0;
    cJSON_ArrayForEach(it, arr)
    {
        const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(it, "reason"));
        const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(it, "detail"));
        const char *line = cJSON_GetStringValue(cJSON_GetObjectItem(it, "line"));
        ck_assert_ptr_nonnull(line);
        ck_assert_ptr_nonnull(strstr(batch1, line));
        if (!strcmp(reason, "unit")) {
            seen_unit++;
            ck_assert_ptr_nonnull(strstr(detail, "Cel"));
        }
        if (!strcmp(reason, "unknown_field")) {
            seen_unknown++;
            ck_assert_ptr_nonnull(strstr(detail, "pressure"));
        }
    }
    ck_assert_int_eq(seen_unit, 1);
    ck_assert_int_eq(seen_unknown, 1);
    cJSON_Delete(arr);
    buf_free(&q);

    /* ledger: telemetry.batch with the digest, telemetry.reject with the counts */
    ck_assert(r.batch_index != EVSINK_NONE);
    char type[64];
    cJSON *p = entry_payload(r.batch_index, type, sizeof type);
    ck_assert_str_eq(type, "telemetry.batch");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "digest")), r.digest);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "actor")), "agent:gw-1");
    ck_assert_int_eq(cJSON_GetObjectItem(p, "accepted")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(p, "quarantined")->valueint, 10);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "from")),
                     "2026-07-01T00:00:00.000000Z");
    cJSON_Delete(p);
    p = entry_payload(r.reject_index, type, sizeof type);
    ck_assert_str_eq(type, "telemetry.reject");
    cJSON *reasons = cJSON_GetObjectItem(p, "reasons");
    ck_assert_int_eq(cJSON_GetObjectItem(reasons, "parse")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(reasons, "unit")->valueint, 1);
    ck_assert_str_eq(cJSON_GetStringValue(
                         cJSON_GetArrayItem(cJSON_GetObjectItem(p, "unknown_devices"), 0)),
                     "p-9");
    cJSON_Delete(p);

    /* twin: last values of the latest accepted reading */
    buf tw;
    buf_init(&tw, 1u << 16);
    ck_assert_int_eq(registry_devices_json(ingest_db(g), "p-1", &tw, &e), ADT_OK);
    cJSON *t = cJSON_Parse(tw.data);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(t, "last_seen")),
                     "2026-07-01T00:09:00.000000Z");
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "last_values"), "temp")->valueint,
                     303);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(t, "firmware")), "fw-1");
    cJSON_Delete(t);
    buf_free(&tw);
    ck_assert_int_eq(registry_devices_json(ingest_db(g), "nope", &tw, &e), ADT_ENOTFOUND);
}
END_TEST

START_TEST(replay_after_fix)
{
    ingest_result r;
    adt_err e;
    ck_assert_int_eq(ingest_ndjson(g, "agent:gw-1", batch1, strlen(batch1), &r, &e), ADT_OK);
    /* replay with nothing fixed: nothing stored, reasons kept */
    ingest_result rr;
    ck_assert_int_eq(ingest_replay(g, "tester", 0, &rr, &e), ADT_OK);
    ck_assert_uint_eq(rr.readings, 10);
    ck_assert_uint_eq(rr.accepted, 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM quarantine WHERE replayed_batch IS NULL"), 10);

    /* fix: profile v2 knows "pressure"; register p-9 */
    registry_put pr;
    ck_assert_int_eq(registry_profile_put(ingest_db(g), &sink, "tester", prof_v2,
                                          strlen(prof_v2), &pr, &e),
                     ADT_OK);
    ck_assert(pr.changed);
    ck_assert_int_eq(pr.version, 2);
    /* loading it again changes nothing */
    registry_put same;
    ck_assert_int_eq(registry_profile_put(ingest_db(g), &sink, "tester", prof_v2,
                                          strlen(prof_v2), &same, &e),
                     ADT_OK);
    ck_assert(!same.changed);
    ck_assert_int_eq(same.version, 2);
    ck_assert(same.ledger_index == EVSINK_NONE);
    char type[64];
    cJSON *p = entry_payload(pr.ledger_index, type, sizeof type);
    ck_assert_str_eq(type, "profile.change");
    ck_assert_int_eq(cJSON_GetObjectItem(p, "version")->valueint, 2);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "sha256")), pr.sha256);
    cJSON_Delete(p);
    registry_device d = {"p-9", "pump", "plant-1", NULL};
    ck_assert_int_eq(registry_devices_put(ingest_db(g), &sink, "tester", &d, 1, &e), ADT_OK);

    ck_assert_int_eq(ingest_replay(g, "tester", 0, &rr, &e), ADT_OK);
    ck_assert_uint_eq(rr.accepted, 2); /* pressure and p-9 */
    ck_assert_uint_eq(rr.quarantined, 8);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM quarantine WHERE replayed_batch IS NULL"), 8);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM readings"), 4);
    /* readings keep the profile version they were validated against */
    ck_assert_int_eq(count("SELECT COUNT(DISTINCT pv) FROM readings"), 2);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM readings r JOIN profiles p ON p.id = r.pv "
                           "WHERE p.version = 2"),
                     2);
    p = entry_payload(rr.batch_index, type, sizeof type);
    ck_assert_str_eq(type, "telemetry.batch");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(p, "replay")));
    cJSON_Delete(p);
    ck_assert(rr.reject_index == EVSINK_NONE);
}
END_TEST

typedef struct rows {
    int n;
    int64_t last;
    int labels1, labels0;
    int nan_rpm;
    double temp_sum;
} rows;

static int on_row(void *ctx, const char *device, int64_t t, const double *x, size_t nx, int label)
{
    rows *r = ctx;
    ck_assert_uint_eq(nx, 3);
    ck_assert(t >= r->last);
    ck_assert_str_eq(device, "p-1");
    r->last = t;
    r->n++;
    r->temp_sum += x[0];
    if (isnan(x[1]))
        r->nan_rpm++;
    ck_assert(isnan(x[2])); /* not a field of the profile */
    if (label == 1)
        r->labels1++;
    else if (label == 0)
        r->labels0++;
    return 0;
}

START_TEST(dataset_and_read_api)
{
    ingest_result r;
    adt_err e;
    ck_assert_int_eq(ingest_ndjson(g, "agent:gw-1", batch1, strlen(batch1), &r, &e), ADT_OK);
    lineage_dataset ds, again;
    ck_assert_int_eq(lineage_dataset_define(ingest_db(g), &sink, "carol", 1782864000000000LL,
                                            1782864000000000LL + 3600000000LL, NULL, 0, &ds, &e),
                     ADT_OK);
    ck_assert_uint_eq(strlen(ds.id), 64);
    ck_assert_uint_eq(ds.batches, 1);
    ck_assert_uint_eq(ds.readings, 2);
    ck_assert(!ds.existed);
    ck_assert_int_eq(lineage_dataset_define(ingest_db(g), &sink, "carol", 1782864000000000LL,
                                            1782864000000000LL + 3600000000LL, NULL, 0, &again,
                                            &e),
                     ADT_OK);
    ck_assert(again.existed);
    ck_assert_str_eq(again.id, ds.id);
    ck_assert_uint_eq(again.ledger_index, ds.ledger_index);
    /* an empty window is refused */
    ck_assert_int_eq(lineage_dataset_define(ingest_db(g), &sink, "carol", 0, 1000, NULL, 0,
                                            &again, &e),
                     ADT_EINVAL);

    tstore *t;
    ck_assert_int_eq(tstore_open(dir, &t, &e), ADT_OK);
    const char *const feats[] = {"temp", "rpm", "nope"};
    rows rw = {0};
    ck_assert_int_eq(tstore_dataset_rows(t, ds.id, feats, 3, on_row, &rw, &e), ADT_OK);
    ck_assert_int_eq(rw.n, 2);
    ck_assert_int_eq(rw.labels0, 1);
    ck_assert_int_eq(rw.labels1, 1);
    ck_assert_int_eq(rw.nan_rpm, 1);
    ck_assert(fabs(rw.temp_sum - 603) < 1e-9);
    ck_assert_int_eq(tstore_dataset_rows(t, "00", feats, 3, on_row, &rw, &e), ADT_ENOTFOUND);
    rows w = {0};
    ck_assert_int_eq(tstore_window_rows(t, 1782864000000000LL + 60000000LL,
                                        1782864000000000LL + 3600000000LL, feats, 3, on_row, &w,
                                        &e),
                     ADT_OK);
    ck_assert_int_eq(w.n, 1);
    tstore_close(t);

    /* lineage of the dataset: dataset.define and the batch, each proven */
    buf out;
    buf_init(&out, 1u << 20);
    ck_assert_int_eq(lineage_trace(ingest_db(g), lg, ds.id, &out, &e), ADT_OK);
    cJSON *j = cJSON_Parse(out.data);
    ck_assert_ptr_nonnull(j);
    cJSON *steps = cJSON_GetObjectItem(j, "steps");
    ck_assert_int_eq(cJSON_GetArraySize(steps), 2);
    cJSON *s0 = cJSON_GetArrayItem(steps, 0), *s1 = cJSON_GetArrayItem(steps, 1);
    ck_assert_int_eq(cJSON_GetObjectItem(s0, "index")->valueint, (int)ds.ledger_index);
    ck_assert_int_eq(cJSON_GetObjectItem(s1, "index")->valueint, (int)r.batch_index);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(s1, "digest")), r.digest);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(s0, "verified")));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(s1, "verified")));
    ck_assert_int_gt(cJSON_GetArraySize(cJSON_GetObjectItem(s1, "proof")), 0);
    cJSON_Delete(j);
    buf_free(&out);
}
END_TEST

START_TEST(digest_is_content_and_all_or_nothing)
{
    ingest_result r1, r2;
    adt_err e;
    ck_assert_int_eq(ingest_ndjson(g, "a", batch1, strlen(batch1), &r1, &e), ADT_OK);
    /* same readings again: same digest (the digest covers content, not ids) */
    ck_assert_int_eq(ingest_ndjson(g, "b", batch1, strlen(batch1), &r2, &e), ADT_OK);
    ck_assert_str_eq(r1.digest, r2.digest);
    ck_assert_int_ne(r1.batch_id, r2.batch_id);
    /* a ledger that refuses the append: nothing is stored */
    ledger *ro;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &ro, &e), ADT_OK);
    evsink bad = {.lg = ro};
    ingest *g2;
    ck_assert_int_eq(ingest_open(dir, &bad, false, &g2, &e), ADT_OK);
    int64_t before = count("SELECT COUNT(*) FROM readings");
    int64_t qbefore = count("SELECT COUNT(*) FROM quarantine");
    ingest_result r3;
    ck_assert_int_ne(ingest_ndjson(g2, "c", batch1, strlen(batch1), &r3, &e), ADT_OK);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM readings"), before);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM quarantine"), qbefore);
    ingest_close(g2);
    ledger_close(ro);
    /* too many readings in one batch */
    size_t big = (size_t)INGEST_MAX_READINGS + 1;
    char *many = malloc(big * 3);
    for (size_t i = 0; i < big; i++)
        memcpy(many + 3 * i, "{}\n", 3);
    ck_assert_int_eq(ingest_ndjson(g, "d", many, big * 3, &r3, &e), ADT_ETOOBIG);
    free(many);
}
END_TEST

/* What tstore_window_scored says, per reading: probability and version. */
typedef struct scored_seen {
    int n;
    double prob[8];
    char version[8][8];
} scored_seen;

static int on_scored(void *ctx, const char *device, int64_t time_us, const double *x, size_t nx,
                     int label, double prob, const char *model, const char *version)
{
    (void)device, (void)time_us, (void)x, (void)nx, (void)label, (void)model;
    scored_seen *s = ctx;
    ck_assert_int_lt(s->n, 8);
    s->prob[s->n] = prob;
    snprintf(s->version[s->n], sizeof s->version[0], "%s", version ? version : "-");
    s->n++;
    return 0;
}

/* A telemetry.db of schema 1 (predictions in their own table, readings
 * without prediction columns) opened for writing: the old predictions keep
 * their ids and stay readable through the view and tstore; a prediction
 * stored the schema 2 way (in its reading's row) gets its reading's id,
 * which no old id can take; opening again changes nothing. */
START_TEST(schema1_predictions_migrated)
{
    char *d1 = ts_tmpdir("pl-schema1");
    char path[600];
    snprintf(path, sizeof path, "%s/telemetry.db", d1);
    sqlite3 *raw;
    ck_assert_int_eq(sqlite3_open(path, &raw), SQLITE_OK);
    char sql[4096];
    /* temp 300 K, the other three fields missing (packed: docs/pipeline.md) */
    snprintf(sql, sizeof sql,
             "CREATE TABLE profiles(id INTEGER PRIMARY KEY, name TEXT NOT NULL, version INTEGER "
             "NOT NULL, sha256 TEXT NOT NULL, json TEXT NOT NULL, created_us INTEGER NOT NULL, "
             "ledger_index INTEGER, UNIQUE(name, version));"
             "INSERT INTO profiles VALUES(1, 'pump', 1, 'x', '%s', 0, NULL);"
             "CREATE TABLE devices(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, profile "
             "TEXT NOT NULL, site TEXT NOT NULL DEFAULT '', firmware TEXT NOT NULL DEFAULT '', "
             "model_version TEXT NOT NULL DEFAULT '', registered_us INTEGER NOT NULL, "
             "last_seen_us INTEGER, last_values TEXT, last_pv INTEGER, ledger_index INTEGER);"
             "INSERT INTO devices(id, name, profile, registered_us) VALUES(1, 'p-1', 'pump', 0);"
             "CREATE TABLE readings(id INTEGER PRIMARY KEY, device INTEGER NOT NULL, time_us "
             "INTEGER NOT NULL, pv INTEGER NOT NULL, batch INTEGER NOT NULL, v BLOB NOT NULL);"
             "INSERT INTO readings VALUES(1, 1, 1000, 1, 1, x'010000000000C07240000000'),"
             "(2, 1, 2000, 1, 1, x'010000000000C07240000000'),"
             "(3, 1, 3000, 1, 1, x'010000000000C07240000000');"
             "CREATE TABLE predictions(id INTEGER PRIMARY KEY, reading INTEGER NOT NULL, device "
             "INTEGER NOT NULL, time_us INTEGER NOT NULL, prob REAL NOT NULL, model TEXT NOT "
             "NULL, version TEXT NOT NULL, batch INTEGER NOT NULL);"
             "CREATE INDEX predictions_reading ON predictions(reading);"
             "INSERT INTO predictions VALUES(1, 2, 1, 2000, 0.75, 'fp', '1', 1),"
             "(2, 3, 1, 3000, 0.25, 'fp', '1', 1);",
             prof_v1);
    ck_assert_int_eq(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    for (int pass = 0; pass < 2; pass++) {
        sqlite3 *db;
        adt_err e;
        ck_assert_int_eq(tdb_open(d1, true, &db, &e), ADT_OK);
        if (pass == 0) /* a reading scored by schema 2's ingestion */
            ck_assert_int_eq(sqlite3_exec(db,
                                          "INSERT INTO prediction_models(model, version) "
                                          "VALUES('fp', '2');"
                                          "INSERT INTO readings(device, time_us, pv, batch, v, "
                                          "prob, mv) VALUES(1, 4000, 1, 2, "
                                          "x'010000000000C07240000000', 0.5, 1);",
                                          NULL, NULL, NULL),
                             SQLITE_OK);
        sqlite3_stmt *st;
        ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT id, reading, device, time_us, prob, "
                                                "model, version, batch FROM predictions "
                                                "ORDER BY id", -1, &st, NULL),
                         SQLITE_OK);
        static const int64_t want[3][4] = {{1, 2, 2000, 1}, {2, 3, 3000, 1}, {4, 4, 4000, 2}};
        static const double prob[3] = {0.75, 0.25, 0.5};
        for (int i = 0; i < 3; i++) {
            ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
            ck_assert_int_eq(sqlite3_column_int64(st, 0), want[i][0]);
            ck_assert_int_eq(sqlite3_column_int64(st, 1), want[i][1]);
            ck_assert_int_eq(sqlite3_column_int64(st, 2), 1);
            ck_assert_int_eq(sqlite3_column_int64(st, 3), want[i][2]);
            ck_assert(sqlite3_column_double(st, 4) == prob[i]);
            ck_assert_str_eq((const char *)sqlite3_column_text(st, 5), "fp");
            ck_assert_str_eq((const char *)sqlite3_column_text(st, 6), i < 2 ? "1" : "2");
            ck_assert_int_eq(sqlite3_column_int64(st, 7), want[i][3]);
        }
        ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        sqldb_close(db);
    }
    tstore *t;
    adt_err e;
    ck_assert_int_eq(tstore_open(d1, &t, &e), ADT_OK);
    const char *feat[] = {"temp"};
    scored_seen seen = {0};
    ck_assert_int_eq(tstore_window_scored(t, 0, 10000, feat, 1, on_scored, &seen, &e), ADT_OK);
    tstore_close(t);
    ck_assert_int_eq(seen.n, 4);
    ck_assert(isnan(seen.prob[0]) && !strcmp(seen.version[0], "-"));
    ck_assert(seen.prob[1] == 0.75 && !strcmp(seen.version[1], "1"));
    ck_assert(seen.prob[2] == 0.25 && !strcmp(seen.version[2], "1"));
    ck_assert(seen.prob[3] == 0.5 && !strcmp(seen.version[3], "2"));
    ts_rmrf(d1);
    free(d1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ingest");
    TCase *tc = tcase_create("ingest");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_rule_quarantined);
    tcase_add_test(tc, replay_after_fix);
    tcase_add_test(tc, dataset_and_read_api);
    tcase_add_test(tc, digest_is_content_and_all_or_nothing);
    tcase_add_test(tc, schema1_predictions_migrated);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
