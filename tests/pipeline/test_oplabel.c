/* test_oplabel.c: operators' labels as ground truth (oplabel.h) on a real
 * ledger and telemetry.db: which label counts (a later label of a target
 * replaces an earlier one, unsure withdraws, the latest verdict on a reading
 * wins, only person/admin writers), what an alert covers, labelled datasets
 * (the version id recomputed here from its documented text, verdicts outside
 * the dataset left out, the same verdicts giving the same id) and their
 * lineage. Training on one is followed end to end in tests/ui. */
#include "canon.h"
#include "evsink.h"
#include "ingest.h"
#include "ledger.h"
#include "lineage.h"
#include "oplabel.h"
#include "registry.h"
#include "rfc3339.h"
#include "tdb.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char prof[] =
    "{\"profile\":\"pump\",\"device_type\":\"pump\",\"sampling_interval_s\":60,\"fields\":["
    "{\"name\":\"temp\",\"type\":\"number\",\"unit\":\"K\",\"min\":250,\"max\":400},"
    "{\"name\":\"failure\",\"type\":\"boolean\",\"role\":\"failure_label\"}]}";
static const char cam_prof[] =
    "{\"profile\":\"cam\",\"device_type\":\"camera\",\"sampling_interval_s\":60,\"fields\":["
    "{\"name\":\"inference_ms\",\"type\":\"number\"}]}";

static char *dir;
static ledger *lg;
static ingest *g;
static evsink sink;

static void setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    dir = ts_tmpdir("pl-oplabel");
    adt_err e;
    ck_assert_int_eq(ledger_init(dir, "test/oplabel", &e), ADT_OK);
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &e), ADT_OK);
    sink = (evsink){.lg = lg};
    ck_assert_int_eq(ingest_open(dir, &sink, false, &g, &e), ADT_OK);
    registry_put r;
    ck_assert_int_eq(registry_profile_put(ingest_db(g), &sink, "t", prof, strlen(prof), &r, &e),
                     ADT_OK);
    ck_assert_int_eq(registry_profile_put(ingest_db(g), &sink, "t", cam_prof, strlen(cam_prof),
                                          &r, &e),
                     ADT_OK);
    registry_device d[3] = {{"p-1", "pump", "plant-1", "fw"}, {"p-2", "pump", "plant-1", "fw"},
                            {"cam-1", "cam", "plant-1", "fw"}};
    ck_assert_int_eq(registry_devices_put(ingest_db(g), &sink, "t", d, 3, &e), ADT_OK);
    ingest_invalidate(g);
}

static void teardown(void)
{
    ingest_close(g);
    ledger_close(lg);
    ts_rmrf(dir);
    free(dir);
}

/* Append one event with the given writer; returns its index. */
static uint64_t put(event_writer w, const char *json)
{
    adt_err e;
    buf c;
    buf_init(&c, 65536);
    ck_assert_msg(canon_json(json, strlen(json), NULL, true, &c, &e) == ADT_OK, "%s", e.msg);
    cJSON *j = cJSON_Parse(json);
    ledger_item it = {.source = "console", .type = cJSON_GetObjectItem(j, "type")->valuestring,
                      .payload = c.data, .payload_len = c.len, .writer = w};
    ledger_commit cm;
    ck_assert_msg(ledger_append(lg, &it, 1, &cm, &e) == ADT_OK, "%s", e.msg);
    cJSON_Delete(j);
    buf_free(&c);
    return cm.first;
}

static uint64_t label(const char *target, const char *value, const char *device, const char *rt)
{
    char ev[600];
    if (device)
        snprintf(ev, sizeof ev, "{\"type\":\"label.set\",\"time\":\"2026-07-02T00:00:00Z\","
                                "\"actor\":\"grace\",\"target\":\"%s\",\"label\":\"%s\","
                                "\"comment\":\"\",\"activity\":\"data:telemetry\","
                                "\"device\":\"%s\",\"reading_time\":\"%s\"}",
                 target, value, device, rt);
    else
        snprintf(ev, sizeof ev, "{\"type\":\"label.set\",\"time\":\"2026-07-02T00:00:00Z\","
                                "\"actor\":\"grace\",\"target\":\"%s\",\"label\":\"%s\","
                                "\"comment\":\"\",\"activity\":\"data:telemetry\"}",
                 target, value);
    return put(EVENT_WRITER_PERSON, ev);
}

static int64_t us(const char *t)
{
    int64_t v = 0;
    ck_assert_int_eq(rfc3339_parse(t, strlen(t), &v), ADT_OK);
    return v;
}

START_TEST(precedence)
{
    adt_err e;
    label("prediction:1", "confirmed_failure", "p-1", "2026-07-01T00:01:00Z");
    uint64_t fa = label("prediction:1", "false_alarm", "p-1", "2026-07-01T00:01:00Z");
    label("prediction:2", "confirmed_failure", "p-1", "2026-07-01T00:02:00Z");
    label("prediction:2", "unsure", "p-1", "2026-07-01T00:02:00Z"); /* withdraws */
    label("alert:DRIFT-1", "confirmed_failure", NULL, NULL);        /* covers no reading */
    /* two targets on one reading: the latest verdict counts */
    label("prediction:3", "false_alarm", "p-2", "2026-07-01T00:03:00Z");
    uint64_t al = label("alert:A-3", "confirmed_failure", "p-2", "2026-07-01T00:03:00Z");
    /* a bad time names no reading; an admin's label counts */
    label("prediction:4", "confirmed_failure", "p-2", "yesterday");
    uint64_t adm = put(EVENT_WRITER_ADMIN, "{\"type\":\"label.set\",\"time\":\"2026-07-02T00:00:00Z\","
                                           "\"actor\":\"bob\",\"target\":\"prediction:5\",\"label\":"
                                           "\"confirmed_failure\",\"device\":\"p-2\",\"reading_time\":"
                                           "\"2026-07-01T00:05:00Z\"}");
    /* not labels: another type with the same fields */
    put(EVENT_WRITER_PLATFORM, "{\"type\":\"x-label\",\"time\":\"2026-07-02T00:00:00Z\",\"actor\":\"x\","
                               "\"target\":\"prediction:6\",\"label\":\"confirmed_failure\","
                               "\"device\":\"p-2\",\"reading_time\":\"2026-07-01T00:06:00Z\"}");
    oplabel_set *s;
    ck_assert_int_eq(oplabel_set_new(&s, &e), ADT_OK);
    ck_assert_int_eq(oplabel_set_read(s, lg, UINT64_MAX, &e), ADT_OK);
    ck_assert_int_eq(oplabel_set_finish(s, &e), ADT_OK);
    oplabel_stats st;
    oplabel_stats_get(s, &st);
    ck_assert_uint_eq(st.events, 9);
    ck_assert_uint_eq(st.targets, 7);
    ck_assert_uint_eq(st.unsure, 1);
    ck_assert_uint_eq(st.no_reading, 2);
    ck_assert_uint_eq(st.overruled, 1);
    ck_assert_uint_eq(st.verdicts, 3);
    ck_assert_uint_eq(oplabel_count(s), 3);
    int v;
    uint64_t ix;
    ck_assert(oplabel_find(s, "p-1", us("2026-07-01T00:01:00Z"), &v, &ix));
    ck_assert_int_eq(v, 0);
    ck_assert_uint_eq(ix, fa);
    ck_assert(!oplabel_find(s, "p-1", us("2026-07-01T00:02:00Z"), &v, &ix));
    ck_assert(oplabel_find(s, "p-2", us("2026-07-01T00:03:00Z"), &v, &ix));
    ck_assert_int_eq(v, 1);
    ck_assert_uint_eq(ix, al);
    ck_assert(oplabel_find(s, "p-2", us("2026-07-01T00:05:00Z"), &v, &ix));
    ck_assert_uint_eq(ix, adm);
    ck_assert(!oplabel_find(s, "p-2", us("2026-07-01T00:06:00Z"), &v, &ix));
    ck_assert(!oplabel_find(s, "p-3", us("2026-07-01T00:03:00Z"), &v, &ix));
    ck_assert(!oplabel_find(NULL, "p-2", us("2026-07-01T00:03:00Z"), &v, &ix));
    oplabel_set_free(s);
    /* read up to an earlier size: only what the ledger held then */
    ck_assert_int_eq(oplabel_set_new(&s, &e), ADT_OK);
    ck_assert_int_eq(oplabel_set_read(s, lg, fa, &e), ADT_OK); /* before the false alarm */
    ck_assert_int_eq(oplabel_set_finish(s, &e), ADT_OK);
    ck_assert(oplabel_find(s, "p-1", us("2026-07-01T00:01:00Z"), &v, &ix));
    ck_assert_int_eq(v, 1);
    ck_assert_uint_eq(oplabel_count(s), 1);
    oplabel_set_free(s);
}
END_TEST

static void ingest_text(const char *nd)
{
    ingest_result r;
    adt_err e;
    ck_assert_int_eq(ingest_ndjson(g, "t", nd, strlen(nd), &r, &e), ADT_OK);
    ck_assert_uint_eq(r.quarantined, 0);
}

START_TEST(alert_coverage)
{
    adt_err e;
    ingest_text("{\"device\":\"p-1\",\"time\":\"2026-07-01T00:00:00Z\",\"values\":{\"temp\":300}}\n"
                "{\"device\":\"p-1\",\"time\":\"2026-07-01T00:30:00Z\",\"values\":{\"temp\":301}}\n"
                "{\"device\":\"cam-1\",\"time\":\"2026-07-01T00:30:00Z\",\"values\":{\"inference_ms\":2}}\n");
    int64_t r = 0;
    /* the latest reading at or before the alert */
    ck_assert_int_eq(oplabel_alert_reading(ingest_db(g), "p-1", us("2026-07-01T00:45:00Z"), &r, &e),
                     ADT_OK);
    ck_assert_int_eq(r, us("2026-07-01T00:30:00Z"));
    ck_assert_int_eq(oplabel_alert_reading(ingest_db(g), "p-1", us("2026-07-01T00:30:00Z"), &r, &e),
                     ADT_OK);
    ck_assert_int_eq(r, us("2026-07-01T00:30:00Z"));
    ck_assert_int_eq(oplabel_alert_reading(ingest_db(g), "p-1", us("2026-07-01T00:29:59Z"), &r, &e),
                     ADT_OK);
    ck_assert_int_eq(r, us("2026-07-01T00:00:00Z"));
    /* nothing in the hour before; a device without failure labels; unknown */
    ck_assert_int_eq(oplabel_alert_reading(ingest_db(g), "p-1", us("2026-07-01T01:30:01Z"), &r, &e),
                     ADT_ENOTFOUND);
    ck_assert_int_eq(oplabel_alert_reading(ingest_db(g), "cam-1", us("2026-07-01T00:40:00Z"), &r, &e),
                     ADT_ENOTFOUND);
    ck_assert_msg(strstr(e.msg, "failure_label"), "%s", e.msg);
    ck_assert_int_eq(oplabel_alert_reading(ingest_db(g), "nope", us("2026-07-01T00:40:00Z"), &r, &e),
                     ADT_ENOTFOUND);
}
END_TEST

START_TEST(labelled_dataset)
{
    adt_err e;
    /* p-1 and p-2, one reading a minute for 20 minutes; the simulator-like
     * label says failure on minutes 5 and 15 of p-1; p-2's readings carry none */
    char nd[8192];
    size_t k = 0;
    for (int m = 0; m < 20; m++) {
        k += (size_t)snprintf(nd + k, sizeof nd - k,
                              "{\"device\":\"p-1\",\"time\":\"2026-07-01T00:%02d:00Z\",\"values\":"
                              "{\"temp\":%d,\"failure\":%s}}\n",
                              m, 300 + m, m == 5 || m == 15 ? "true" : "false");
        k += (size_t)snprintf(nd + k, sizeof nd - k,
                              "{\"device\":\"p-2\",\"time\":\"2026-07-01T00:%02d:00Z\",\"values\":"
                              "{\"temp\":%d}}\n", m, 310 + m);
    }
    ingest_text(nd);
    sqlite3 *db = ingest_db(g);
    lineage_dataset base;
    ck_assert_int_eq(lineage_dataset_define(db, &sink, "t", us("2026-07-01T00:00:00Z"),
                                            us("2026-07-01T00:10:00Z"), NULL, 0, &base, &e),
                     ADT_OK);
    /* without any label the base is the answer */
    oplabel_dataset ld;
    ck_assert_int_eq(oplabel_dataset_define(db, lg, &sink, "t", base.id, &ld, &e), ADT_OK);
    ck_assert(!ld.labelled);
    ck_assert_str_eq(ld.id, base.id);
    /* verdicts: p-1 minute 5 a false alarm (the field said failure), minute 6
     * a failure (the field said none), p-2 minute 3 a failure (no field);
     * one outside the window (minute 12) and one on an unknown reading */
    uint64_t i1 = label("prediction:1", "false_alarm", "p-1", "2026-07-01T00:05:00Z");
    uint64_t i2 = label("prediction:2", "confirmed_failure", "p-1", "2026-07-01T00:06:00Z");
    uint64_t i3 = label("alert:A-1", "confirmed_failure", "p-2", "2026-07-01T00:03:00Z");
    label("prediction:3", "confirmed_failure", "p-1", "2026-07-01T00:12:00Z");
    label("prediction:4", "confirmed_failure", "p-1", "2026-07-01T00:05:30Z");
    ck_assert_int_eq(oplabel_dataset_define(db, lg, &sink, "t", base.id, &ld, &e), ADT_OK);
    ck_assert(ld.labelled && !ld.existed);
    ck_assert_uint_eq(ld.labels, 3);
    ck_assert_uint_eq(ld.failures, 2);
    ck_assert_uint_eq(ld.false_alarms, 1);
    ck_assert_str_eq(ld.base, base.id);
    /* the id, recomputed from its documented text */
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "auditd-dataset-labels-v1\nbase=%s\n"
                     "label=%llu p-1 %lld 0\nlabel=%llu p-1 %lld 1\nlabel=%llu p-2 %lld 1\n",
                     base.id, (unsigned long long)i1, (long long)us("2026-07-01T00:05:00Z"),
                     (unsigned long long)i2, (long long)us("2026-07-01T00:06:00Z"),
                     (unsigned long long)i3, (long long)us("2026-07-01T00:03:00Z"));
    uint8_t h[32];
    char hx[65];
    crypto_hash_sha256(h, (const unsigned char *)text, (size_t)n);
    sodium_bin2hex(hx, sizeof hx, h, 32);
    ck_assert_str_eq(ld.id, hx);
    /* recorded: dataset.define with base and labels */
    buf b;
    buf_init(&b, LEDGER_MAX_LEAF);
    ck_assert_int_eq(ledger_entry(lg, ld.ledger_index, &b, &e), ADT_OK);
    cJSON *leaf = cJSON_Parse(b.data);
    cJSON *p = cJSON_GetObjectItem(leaf, "payload");
    ck_assert_str_eq(cJSON_GetObjectItem(leaf, "type")->valuestring, "dataset.define");
    ck_assert_str_eq(cJSON_GetObjectItem(p, "dataset")->valuestring, ld.id);
    ck_assert_str_eq(cJSON_GetObjectItem(p, "base")->valuestring, base.id);
    cJSON *lj = cJSON_GetObjectItem(p, "labels");
    ck_assert_int_eq(cJSON_GetObjectItem(lj, "count")->valueint, 3);
    ck_assert_int_eq((int)cJSON_GetObjectItem(lj, "first_index")->valuedouble, (int)i1);
    ck_assert_int_eq((int)cJSON_GetObjectItem(lj, "last_index")->valuedouble, (int)i3);
    cJSON_Delete(leaf);
    buf_free(&b);
    /* the same verdicts again: the same dataset, nothing new recorded */
    uint64_t size0 = 0, size1 = 0;
    ck_assert_int_eq(ledger_size(lg, &size0, &e), ADT_OK);
    oplabel_dataset again;
    ck_assert_int_eq(oplabel_dataset_define(db, lg, &sink, "t", base.id, &again, &e), ADT_OK);
    ck_assert(again.existed);
    ck_assert_str_eq(again.id, ld.id);
    ck_assert_int_eq(ledger_size(lg, &size1, &e), ADT_OK);
    ck_assert_uint_eq(size0, size1);
    /* the verdicts it pins, as training reads them */
    oplabel_set *s;
    ck_assert_int_eq(oplabel_dataset_labels(db, ld.id, &s, &e), ADT_OK);
    ck_assert_uint_eq(oplabel_count(s), 3);
    int v;
    ck_assert(oplabel_find(s, "p-2", us("2026-07-01T00:03:00Z"), &v, NULL) && v == 1);
    oplabel_set_free(s);
    ck_assert_int_eq(oplabel_dataset_labels(db, base.id, &s, &e), ADT_OK);
    ck_assert_uint_eq(oplabel_count(s), 0);
    oplabel_set_free(s);
    /* a later verdict makes a new labelled dataset */
    label("prediction:1", "confirmed_failure", "p-1", "2026-07-01T00:05:00Z");
    ck_assert_int_eq(oplabel_dataset_define(db, lg, &sink, "t", base.id, &again, &e), ADT_OK);
    ck_assert(!again.existed);
    ck_assert_str_ne(again.id, ld.id);
    ck_assert_uint_eq(again.failures, 3);
    /* lineage of the labelled dataset proves each verdict */
    buf out;
    buf_init(&out, 1 << 22);
    ck_assert_int_eq(lineage_trace(db, lg, ld.id, &out, &e), ADT_OK);
    cJSON *tr = cJSON_Parse(out.data);
    int nl = 0;
    cJSON *stp;
    cJSON_ArrayForEach(stp, cJSON_GetObjectItem(tr, "steps"))
    if (!strcmp(cJSON_GetObjectItem(stp, "step")->valuestring, "label")) {
        nl++;
        ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(stp, "verified")));
    }
    ck_assert_int_eq(nl, 3);
    cJSON_Delete(tr);
    buf_free(&out);
    ck_assert_int_eq(oplabel_dataset_define(db, lg, &sink, "t", "00", &again, &e), ADT_EINVAL);
    char zero[65];
    memset(zero, '0', 64);
    zero[64] = 0;
    ck_assert_int_eq(oplabel_dataset_define(db, lg, &sink, "t", zero, &again, &e), ADT_ENOTFOUND);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("oplabel");
    TCase *tc = tcase_create("oplabel");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, precedence);
    tcase_add_test(tc, alert_coverage);
    tcase_add_test(tc, labelled_dataset);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
