/* test_rollup.c: hourly rollups (rollup.h) kept by ingestion on a real
 * telemetry.db: per device and hour, through the profiles' KPI roles (two
 * profiles naming their fields differently give the same sums), meter
 * increments across batches and resets, the sampled time model, inspections
 * and labels, per-field statistics, prediction outcomes; nothing of a batch
 * whose ledger record failed. */
#include "ingest.h"
#include "ledger.h"
#include "registry.h"
#include "rollup.h"
#include "sqldb.h"
#include "tdb.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two machine profiles with the same roles under other names and units. */
static const char mill[] =
    "{\"profile\":\"mill\",\"device_type\":\"mill\",\"sampling_interval_s\":60,\"fields\":["
    "{\"name\":\"state\",\"type\":\"enum\",\"values\":[\"running\",\"idle\",\"down\"],"
    "\"role\":\"machine_state\"},"
    "{\"name\":\"energy_kwh\",\"type\":\"number\",\"unit\":\"kWh\",\"role\":\"energy_meter\"},"
    "{\"name\":\"produced\",\"type\":\"integer\",\"role\":\"produced_count\"},"
    "{\"name\":\"good\",\"type\":\"integer\",\"role\":\"good_count\"},"
    "{\"name\":\"inspection\",\"type\":\"enum\",\"values\":[\"pass\",\"fail\"],"
    "\"role\":\"inspection_result\"},"
    "{\"name\":\"failure\",\"type\":\"integer\",\"min\":0,\"max\":1,\"role\":\"failure_label\"},"
    "{\"name\":\"temp_k\",\"type\":\"number\",\"unit\":\"K\"}]}";
static const char line[] =
    "{\"profile\":\"line\",\"device_type\":\"plc\",\"sampling_interval_s\":300,\"fields\":["
    "{\"name\":\"st\",\"type\":\"enum\",\"values\":[\"run\",\"stop\",\"fault\"],"
    "\"role\":\"machine_state\"},"
    "{\"name\":\"wh\",\"type\":\"integer\",\"unit\":\"Wh\",\"role\":\"energy_meter\"},"
    "{\"name\":\"total\",\"type\":\"integer\",\"role\":\"produced_count\"},"
    "{\"name\":\"ok\",\"type\":\"integer\",\"role\":\"good_count\"}]}";

static char *dir;
static ledger *lg;
static ingest *g;
static evsink sink;

static void setup(void)
{
    dir = ts_tmpdir("pl-rollup");
    adt_err e;
    ck_assert_int_eq(ledger_init(dir, "test/rollup", &e), ADT_OK);
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &e), ADT_OK);
    sink = (evsink){.lg = lg};
    ck_assert_int_eq(ingest_open(dir, &sink, false, &g, &e), ADT_OK);
    registry_put r;
    ck_assert_int_eq(registry_profile_put(ingest_db(g), &sink, "t", mill, strlen(mill), &r, &e),
                     ADT_OK);
    ck_assert_int_eq(registry_profile_put(ingest_db(g), &sink, "t", line, strlen(line), &r, &e),
                     ADT_OK);
    registry_device d[2] = {{"m-1", "mill", NULL, NULL}, {"l-1", "line", NULL, NULL}};
    ck_assert_int_eq(registry_devices_put(ingest_db(g), &sink, "t", d, 2, &e), ADT_OK);
    ingest_invalidate(g);
}

static void teardown(void)
{
    ingest_close(g);
    ledger_close(lg);
    ts_rmrf(dir);
    free(dir);
}

static void ingest_text(const char *text)
{
    ingest_result r;
    adt_err e;
    ck_assert_msg(ingest_ndjson(g, "agent", text, strlen(text), &r, &e) == ADT_OK, "%s", e.msg);
    ck_assert_uint_eq(r.quarantined, 0);
}

typedef struct rows {
    rollup_row r[16];
    char dev[16][16];
    char fields[16][512];
    size_t n;
} rows;

static int keep(void *ctx, const rollup_row *r)
{
    rows *k = ctx;
    ck_assert_uint_lt(k->n, 16);
    k->r[k->n] = *r;
    snprintf(k->dev[k->n], sizeof k->dev[0], "%s", r->device);
    snprintf(k->fields[k->n], sizeof k->fields[0], "%s", r->fields_json);
    k->r[k->n].device = k->dev[k->n];
    k->r[k->n].fields_json = k->fields[k->n];
    k->n++;
    return 0;
}

#define T0 "2026-07-01T10"
#define HOUR0 (1782900000LL * 1000000) /* 2026-07-01T10:00:00Z */

START_TEST(roles_and_meters)
{
    /* batch 1: m-1 three readings in hour 10, one in hour 11; l-1 two in hour 10 */
    ingest_text("{\"device\":\"m-1\",\"time\":\"" T0 ":00:00Z\",\"values\":{\"state\":\"running\","
                "\"energy_kwh\":100,\"produced\":10,\"good\":9,\"inspection\":\"pass\","
                "\"failure\":0,\"temp_k\":300}}\n"
                "{\"device\":\"m-1\",\"time\":\"" T0 ":01:00Z\",\"values\":{\"state\":\"down\","
                "\"energy_kwh\":100.5,\"produced\":12,\"good\":10,\"inspection\":\"fail\","
                "\"failure\":1,\"temp_k\":310}}\n"
                "{\"device\":\"l-1\",\"time\":\"" T0 ":00:00Z\",\"values\":{\"st\":\"run\","
                "\"wh\":5000,\"total\":100,\"ok\":99}}\n"
                "{\"device\":\"m-1\",\"time\":\"" T0 ":02:00Z\",\"values\":{\"state\":\"idle\","
                "\"energy_kwh\":101.5,\"temp_k\":305}}\n"
                "{\"device\":\"l-1\",\"time\":\"" T0 ":05:00Z\",\"values\":{\"st\":\"fault\","
                "\"wh\":7500,\"total\":104,\"ok\":100}}\n"
                "{\"device\":\"m-1\",\"time\":\"2026-07-01T11:00:00Z\",\"values\":{\"state\":"
                "\"running\",\"energy_kwh\":102,\"produced\":13,\"good\":11}}\n");
    /* batch 2: m-1 later in hour 10 (after the hour-11 reading: no meter step),
     * and a meter reset in hour 11 */
    ingest_text("{\"device\":\"m-1\",\"time\":\"" T0 ":30:00Z\",\"values\":{\"state\":\"running\","
                "\"energy_kwh\":101.8,\"temp_k\":320}}\n"
                "{\"device\":\"m-1\",\"time\":\"2026-07-01T11:01:00Z\",\"values\":{\"state\":"
                "\"running\",\"energy_kwh\":1,\"produced\":2,\"good\":2}}\n");
    rows k = {0};
    adt_err e;
    ck_assert_int_eq(rollup_read(ingest_db(g), HOUR0, HOUR0 + 2 * ROLLUP_HOUR_US, NULL, keep,
                                 &k, &e),
                     ADT_OK);
    ck_assert_uint_eq(k.n, 3); /* (10, l-1), (10, m-1), (11, m-1) */
    /* l-1, hour 10: Wh -> kWh; run then fault (its last state: down) */
    const rollup_row *l = &k.r[0];
    ck_assert_str_eq(l->device, "l-1");
    ck_assert_int_eq(l->hour_us, HOUR0);
    ck_assert_uint_eq(l->readings, 2);
    ck_assert_int_eq(l->sampled_s, 600);
    ck_assert(l->has_state);
    ck_assert_int_eq(l->running_s, 300);
    ck_assert_int_eq(l->down_s, 300);
    ck_assert(l->has_energy);
    ck_assert_double_eq_tol(l->energy_kwh, 2.5, 1e-9);
    ck_assert_double_eq_tol(l->produced, 4, 1e-9);
    ck_assert_double_eq_tol(l->good, 1, 1e-9);
    ck_assert(!l->has_inspection);
    ck_assert(!l->has_labels);
    /* m-1, hour 10: four readings over two batches */
    const rollup_row *m = &k.r[1];
    ck_assert_str_eq(m->device, "m-1");
    ck_assert_uint_eq(m->readings, 4);
    ck_assert_int_eq(m->sampled_s, 240);
    ck_assert_int_eq(m->running_s, 120);
    ck_assert_int_eq(m->idle_s, 60);
    ck_assert_int_eq(m->down_s, 60);
    ck_assert_double_eq_tol(m->energy_kwh, 1.5, 1e-9); /* 100 -> 100.5 -> 101.5; 101.8 came late */
    ck_assert_double_eq_tol(m->produced, 2, 1e-9);
    ck_assert_double_eq_tol(m->good, 1, 1e-9);
    ck_assert_uint_eq(m->inspected, 2);
    ck_assert_uint_eq(m->rejected, 1);
    ck_assert_uint_eq(m->labelled, 2);
    ck_assert_uint_eq(m->failures, 1);
    cJSON *f = cJSON_Parse(m->fields_json);
    cJSON *t = cJSON_GetObjectItem(f, "temp_k");
    ck_assert_int_eq(cJSON_GetArraySize(t), 4);
    ck_assert_double_eq(cJSON_GetArrayItem(t, 0)->valuedouble, 4);    /* n */
    ck_assert_double_eq(cJSON_GetArrayItem(t, 1)->valuedouble, 1235); /* sum */
    ck_assert_double_eq(cJSON_GetArrayItem(t, 2)->valuedouble, 300);  /* min */
    ck_assert_double_eq(cJSON_GetArrayItem(t, 3)->valuedouble, 320);  /* max */
    cJSON_Delete(f);
    /* m-1, hour 11: 101.5 -> 102 (+0.5), then the meter was reset to 1 (+1) */
    const rollup_row *h = &k.r[2];
    ck_assert_uint_eq(h->readings, 2);
    ck_assert_double_eq_tol(h->energy_kwh, 1.5, 1e-9);
    ck_assert_double_eq_tol(h->produced, 1 + 2, 1e-9);
    /* one device, one hour */
    k.n = 0;
    ck_assert_int_eq(rollup_read(ingest_db(g), HOUR0, HOUR0 + ROLLUP_HOUR_US, "l-1", keep, &k, &e),
                     ADT_OK);
    ck_assert_uint_eq(k.n, 1);
    buf out;
    buf_init(&out, 1u << 20);
    ck_assert_int_eq(rollup_json(ingest_db(g), HOUR0, HOUR0 + ROLLUP_HOUR_US, NULL, &out, &e),
                     ADT_OK);
    /* the element's fields in their documented order: device, hour, readings */
    ck_assert_ptr_nonnull(strstr(out.data, "{\"rollups\":[{\"device\":\""));
    ck_assert_ptr_nonnull(strstr(out.data, ":00:00Z\",\"readings\":"));
    cJSON *j = cJSON_Parse(out.data);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rollups")), 2);
    cJSON_Delete(j);
    buf_free(&out);
}
END_TEST

/* A batch whose ledger record fails stores nothing, rollups included. */
START_TEST(nothing_without_ledger)
{
    ledger *ro;
    adt_err e;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &ro, &e), ADT_OK);
    evsink bad = {.lg = ro};
    ingest *g2;
    ck_assert_int_eq(ingest_open(dir, &bad, false, &g2, &e), ADT_OK);
    const char *text = "{\"device\":\"m-1\",\"time\":\"" T0 ":00:00Z\",\"values\":{\"state\":"
                       "\"running\",\"energy_kwh\":5}}\n";
    ingest_result r;
    ck_assert_int_ne(ingest_ndjson(g2, "agent", text, strlen(text), &r, &e), ADT_OK);
    ingest_close(g2);
    ledger_close(ro);
    rows k = {0};
    ck_assert_int_eq(rollup_read(ingest_db(g), 0, INT64_MAX, NULL, keep, &k, &e), ADT_OK);
    ck_assert_uint_eq(k.n, 0);
}
END_TEST

static int keep_pred(void *ctx, const rollup_pred *p)
{
    rollup_pred *out = ctx;
    *out = *p;
    out->device = out->model = out->version = NULL;
    return 0;
}

/* Prediction outcomes against the labels, merged across flushes. */
START_TEST(prediction_outcomes)
{
    sqlite3 *db;
    adt_err e;
    ck_assert_int_eq(tdb_open(dir, true, &db, &e), ADT_OK);
    rollup_acc *a;
    ck_assert_int_eq(rollup_acc_open(db, &a, &e), ADT_OK);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    /* device 1 (m-1): tp, fp, fn, tn, and one without a label */
    const double prob[5] = {0.9, 0.8, 0.1, 0.2, 0.95};
    const int label[5] = {1, 0, 1, 0, -1};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(rollup_add_prediction(a, 1, HOUR0 + i, "fp", "1", prob[i], 0.5, label[i],
                                               &e),
                         ADT_OK);
    ck_assert_int_eq(rollup_flush(a, &e), ADT_OK);
    ck_assert_int_eq(rollup_add_prediction(a, 1, HOUR0 + 9, "fp", "1", 0.7, 0.5, 1, &e), ADT_OK);
    ck_assert_int_eq(rollup_flush(a, &e), ADT_OK);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    rollup_pred p = {0};
    ck_assert_int_eq(rollup_read_predictions(db, HOUR0, HOUR0 + ROLLUP_HOUR_US, NULL, keep_pred,
                                             &p, &e),
                     ADT_OK);
    ck_assert_uint_eq(p.predictions, 6);
    ck_assert_uint_eq(p.positives, 4);
    ck_assert_uint_eq(p.tp, 2);
    ck_assert_uint_eq(p.fp, 1);
    ck_assert_uint_eq(p.fn, 1);
    ck_assert_uint_eq(p.tn, 1);
    rollup_acc_close(a);
    sqldb_close(db);
}
END_TEST

/* Roles, not names: what a profile declares decides what is summed. */
START_TEST(roles_of_profiles)
{
    profile *p;
    adt_err e;
    ck_assert_int_eq(profile_parse(line, strlen(line), &p, &e), ADT_OK);
    rollup_roles r;
    rollup_roles_of(p, &r);
    ck_assert_int_eq(r.state, 0);
    ck_assert_int_eq(r.energy, 1);
    ck_assert_double_eq(r.energy_kwh_per_unit, 1e-3);
    ck_assert_int_eq(r.produced, 2);
    ck_assert_int_eq(r.good, 3);
    ck_assert_int_eq(r.inspection, -1);
    ck_assert_int_eq(r.label, -1);
    ck_assert_int_eq(r.interval_s, 300);
    profile_free(p);
    /* an energy meter in a unit auditd cannot convert is not summed */
    const char *odd = "{\"profile\":\"x\",\"device_type\":\"x\",\"sampling_interval_s\":1,"
                      "\"fields\":[{\"name\":\"e\",\"type\":\"number\",\"unit\":\"BTU\","
                      "\"role\":\"energy_meter\"}]}";
    ck_assert_int_eq(profile_parse(odd, strlen(odd), &p, &e), ADT_OK);
    rollup_roles_of(p, &r);
    ck_assert_int_eq(r.energy, -1);
    profile_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rollup");
    TCase *tc = tcase_create("rollup");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, roles_and_meters);
    tcase_add_test(tc, nothing_without_ledger);
    tcase_add_test(tc, prediction_outcomes);
    tcase_add_test(tc, roles_of_profiles);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
