/* test_lineage.c: "which exact data trained the model that made this
 * prediction?" with the real binary: simulate, ingest two days, define the
 * training dataset, train/register/approve/deploy with the models commands,
 * ingest a third day (scored at ingestion), then `auditd lineage N` must walk
 * prediction.summary -> model.deploy -> model.register -> dataset.define ->
 * telemetry.batch, each step's inclusion proof checking against the
 * checkpoint's root with an independent RFC 6962 verifier. */
#include "ledger.h"
#include "rfc6962_check.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir, *data;

static int runv(char **out, char **errout, const char *const *args)
{
    const char *argv[40];
    size_t n = 0;
    for (; args[n]; n++)
        argv[n] = args[n];
    argv[n++] = "--data-dir";
    argv[n++] = data;
    argv[n] = NULL;
    return ts_run(NULL, 0, out, errout, argv);
}

#define RUN_OK(...)                                                                            \
    do {                                                                                       \
        const char *a_[] = {__VA_ARGS__, NULL};                                                \
        char *e_ = NULL;                                                                       \
        int rc_ = runv(NULL, &e_, a_);                                                         \
        ck_assert_msg(rc_ == 0, "%s: exit %d: %s", a_[0], rc_, e_ ? e_ : "");                   \
        free(e_);                                                                              \
    } while (0)

/* Split the simulator's telemetry at 2026-07-03 into two files. */
static void split(const char *in, const char *early, const char *late)
{
    size_t len;
    char *t = ts_read_file(in, &len);
    ck_assert_ptr_nonnull(t);
    FILE *a = fopen(early, "w"), *b = fopen(late, "w");
    ck_assert(a && b);
    for (char *line = t, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        char *tm = strstr(line, "\"time\":\"");
        ck_assert_ptr_nonnull(tm);
        FILE *f = strncmp(tm + 8, "2026-07-03", 10) < 0 ? a : b;
        fwrite(line, 1, (size_t)(nl - line + 1), f);
    }
    fclose(a);
    fclose(b);
    free(t);
}

static int64_t first_prediction(void)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/telemetry.db", data);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT MIN(id), COUNT(*) FROM predictions", -1, &st,
                                        NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t id = sqlite3_column_int64(st, 0);
    ck_assert_int_gt(sqlite3_column_int64(st, 1), 1000); /* one day of 4 machines at 120 s */
    sqlite3_finalize(st);
    sqlite3_close(db);
    return id;
}

/* Check one step's proof independently: leaf bytes from the ledger. */
static void check_step(ledger *lg, const cJSON *step, uint64_t size, const uint8_t root[32])
{
    const cJSON *ix = cJSON_GetObjectItem(step, "index");
    ck_assert_msg(cJSON_IsNumber(ix), "step %s has no index",
                  cJSON_GetStringValue(cJSON_GetObjectItem(step, "step")));
    uint64_t i = (uint64_t)ix->valuedouble;
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    adt_err e;
    ck_assert_int_eq(ledger_entry(lg, i, &leaf, &e), ADT_OK);
    /* the leaf is of the step's type */
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(step, "type"));
    char want[96];
    snprintf(want, sizeof want, "\"type\":\"%s\"", type);
    ck_assert_msg(strstr(leaf.data, want), "entry %llu is not %s", (unsigned long long)i, type);
    uint8_t lh[32];
    rc_leaf_hash(leaf.data, leaf.len, lh);
    buf_free(&leaf);
    const cJSON *proof = cJSON_GetObjectItem(step, "proof");
    size_t n = (size_t)cJSON_GetArraySize(proof);
    uint8_t(*path)[32] = calloc(n ? n : 1, 32);
    for (size_t k = 0; k < n; k++) {
        size_t bl;
        const char *b64 = cJSON_GetStringValue(cJSON_GetArrayItem(proof, (int)k));
        ck_assert_int_eq(sodium_base642bin(path[k], 32, b64, strlen(b64), NULL, &bl, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        ck_assert_uint_eq(bl, 32);
    }
    ck_assert_msg(rc_verify_inclusion(i, size, lh, (const uint8_t(*)[32])path, n, root),
                  "inclusion proof of %llu fails", (unsigned long long)i);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(step, "verified")));
    free(path);
}

START_TEST(prediction_to_training_batches)
{
    dir = ts_tmpdir("pl-lineage");
    char sim[1024], tel[1100], early[1100], late[1100], devs[1100], p1[1100], p2[1100],
        p3[1100];
    size_t dl = strlen(dir) + 16;
    data = malloc(dl);
    snprintf(data, dl, "%s/data", dir);
    snprintf(sim, sizeof sim, "%s/sim", dir);
    snprintf(tel, sizeof tel, "%s/telemetry.ndjson", sim);
    snprintf(early, sizeof early, "%s/early.ndjson", dir);
    snprintf(late, sizeof late, "%s/late.ndjson", dir);
    snprintf(devs, sizeof devs, "%s/devices.ndjson", sim);
    snprintf(p1, sizeof p1, "%s/profiles/cnc-mill.json", sim);
    snprintf(p2, sizeof p2, "%s/profiles/legacy-plc.json", sim);
    snprintf(p3, sizeof p3, "%s/profiles/edge-camera.json", sim);

    RUN_OK("init");
    RUN_OK("simulate", "--seed", "5", "--days", "3", "--machines", "4", "--interval", "120",
           "--out", sim);
    split(tel, early, late);
    RUN_OK("profile", "load", p1, p2, p3);
    RUN_OK("device", "register", "--file", devs);
    RUN_OK("telemetry", "ingest", early, "--quiet", "--batch", "5000");

    char *out = NULL, *err = NULL;
    const char *def[] = {"dataset", "define", "--from", "2026-07-01", "--to", "2026-07-03",
                         "--quiet", NULL};
    ck_assert_msg(runv(&out, &err, def) == 0, "dataset define: %s", err);
    char ds[80];
    snprintf(ds, sizeof ds, "%.64s", out);
    ck_assert_uint_eq(strspn(ds, "0123456789abcdef"), 64);
    free(out);
    free(err);

    const char *train[] = {"model", "train", "--dataset", ds, "--json", NULL};
    ck_assert_msg(runv(&out, &err, train) == 0, "train: %s", err);
    cJSON *j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    char file[1100];
    snprintf(file, sizeof file, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "file")));
    cJSON_Delete(j);
    free(out);
    free(err);
    RUN_OK("model", "register", file, "--name", "failure-predictor", "--version", "1",
           "--dataset", ds);
    RUN_OK("model", "approve", "failure-predictor", "--version", "1", "--approver", "carol",
           "--change-id", "CHG-9");
    char policy[1024];
    snprintf(policy, sizeof policy, "%s/policies/examples/plant.xml", AUDITD_SOURCE_DIR);
    RUN_OK("model", "deploy", "failure-predictor", "--version", "1", "--actor", "agent:platform",
           "--change-id", "CHG-9", "--policy", policy);
    RUN_OK("telemetry", "ingest", late, "--quiet");

    int64_t pid = first_prediction();
    char what[64];
    snprintf(what, sizeof what, "%lld", (long long)pid);
    const char *lin[] = {"lineage", what, NULL};
    ck_assert_msg(runv(&out, &err, lin) == 0, "lineage: %s", err);
    j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    free(out);
    free(err);

    /* the checkpoint the proofs are against */
    const char *cp = cJSON_GetStringValue(cJSON_GetObjectItem(j, "checkpoint"));
    ck_assert_ptr_nonnull(cp);
    const char *l2 = strchr(cp, '\n') + 1, *l3 = strchr(l2, '\n') + 1, *l4 = strchr(l3, '\n');
    uint64_t size = strtoull(l2, NULL, 10);
    ck_assert_uint_eq(size, (uint64_t)cJSON_GetObjectItem(j, "tree_size")->valuedouble);
    uint8_t root[32];
    size_t bl;
    ck_assert_int_eq(sodium_base642bin(root, 32, l3, (size_t)(l4 - l3), NULL, &bl, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);

    cJSON *steps = cJSON_GetObjectItem(j, "steps");
    int n = cJSON_GetArraySize(steps);
    ck_assert_int_ge(n, 5);
    static const char *const order[] = {"prediction.summary", "model.deploy", "model.register",
                                        "dataset"};
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(cJSON_GetStringValue(
                             cJSON_GetObjectItem(cJSON_GetArrayItem(steps, i), "step")),
                         order[i]);
    ck_assert_str_eq(cJSON_GetStringValue(
                         cJSON_GetObjectItem(cJSON_GetArrayItem(steps, 2), "dataset")),
                     ds);
    ck_assert_str_eq(cJSON_GetStringValue(
                         cJSON_GetObjectItem(cJSON_GetArrayItem(steps, 3), "dataset")),
                     ds);
    ledger *lg;
    adt_err e;
    ck_assert_int_eq(ledger_open(data, LEDGER_RDONLY, &lg, &e), ADT_OK);
    int batches = 0;
    for (int i = 0; i < n; i++) {
        cJSON *s = cJSON_GetArrayItem(steps, i);
        check_step(lg, s, size, root);
        if (i >= 4) {
            ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(s, "step")), "batch");
            /* training batches only: all before 2026-07-03 */
            ck_assert(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(s, "from")),
                             "2026-07-03") < 0);
            batches++;
        }
    }
    ck_assert_int_eq(batches,
                     (int)cJSON_GetObjectItem(cJSON_GetArrayItem(steps, 3), "batches")->valuedouble);
    ledger_close(lg);
    cJSON_Delete(j);

    /* the same chain from the model's name */
    const char *lm[] = {"lineage", "failure-predictor@1", NULL};
    ck_assert_int_eq(runv(&out, &err, lm), 0);
    ck_assert_ptr_nonnull(strstr(out, ds));
    free(out);
    free(err);
    const char *bad[] = {"lineage", "no-such@9", NULL};
    ck_assert_int_ne(runv(&out, &err, bad), 0);
    ck_assert_ptr_nonnull(strstr(err, "model.register"));
    free(out);
    free(err);
    ts_rmrf(dir);
    free(dir);
    free(data);
}
END_TEST

/* The commands around the quarantine, through the real binary: a bad
 * profile among good ones loads nothing; replay after the fix. */
START_TEST(cli_profiles_and_quarantine)
{
    dir = ts_tmpdir("pl-cli");
    size_t dl = strlen(dir) + 16;
    data = malloc(dl);
    snprintf(data, dl, "%s/data", dir);
    char good[1100], bad[1100], fixed[1100], tel[1100];
    snprintf(good, sizeof good, "%s/auditd/pipeline/profiles/edge-camera.json",
             AUDITD_SOURCE_DIR);
    snprintf(fixed, sizeof fixed, "%s/auditd/pipeline/profiles/edge-camera-v2.json",
             AUDITD_SOURCE_DIR);
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    snprintf(tel, sizeof tel, "%s/t.ndjson", dir);
    const char *badp = "{\"profile\":\"x\",\"device_type\":\"y\",\"sampling_interval_s\":1,"
                       "\"fields\":[{\"name\":\"a\",\"type\":\"float\"}]}";
    ck_assert_int_eq(ts_write_file(bad, badp, strlen(badp)), 0);
    const char *lines =
        "{\"device\":\"cam-01\",\"time\":\"2026-07-01T00:00:00Z\",\"values\":{"
        "\"inference_ms\":3,\"board_temp_c\":40,\"model_version\":\"m\",\"exposure_ms\":4}}\n"
        "{\"device\":\"cam-01\",\"time\":\"2026-07-01T00:05:00Z\",\"values\":{"
        "\"inference_ms\":3,\"board_temp_c\":40,\"model_version\":\"m\"}}\n";
    ck_assert_int_eq(ts_write_file(tel, lines, strlen(lines)), 0);
    RUN_OK("init");
    char *out = NULL, *err = NULL;
    const char *load_bad[] = {"profile", "load", good, bad, NULL};
    ck_assert_int_ne(runv(&out, &err, load_bad), 0);
    ck_assert_ptr_nonnull(strstr(err, "bad.json"));
    ck_assert_ptr_nonnull(strstr(err, "type must be"));
    free(out);
    free(err);
    const char *list[] = {"profile", "list", NULL};
    /* nothing was loaded: no telemetry.db yet, or an empty list */
    int rc = runv(&out, &err, list);
    ck_assert(rc != 0 || !strcmp(out, "[]\n"));
    free(out);
    free(err);
    RUN_OK("profile", "load", good);
    RUN_OK("device", "register", "cam-01", "--profile", "edge-camera", "--site", "plant-1");
    RUN_OK("telemetry", "ingest", tel);
    const char *ql[] = {"telemetry", "quarantine", "list", NULL};
    ck_assert_int_eq(runv(&out, &err, ql), 0);
    cJSON *j = cJSON_Parse(out);
    ck_assert_int_eq(cJSON_GetArraySize(j), 1);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "reason")),
                     "unknown_field");
    cJSON_Delete(j);
    free(out);
    free(err);
    RUN_OK("profile", "load", fixed);
    const char *rp[] = {"telemetry", "quarantine", "replay", NULL};
    ck_assert_int_eq(runv(&out, &err, rp), 0);
    j = cJSON_Parse(out);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "accepted")->valueint, 1);
    cJSON_Delete(j);
    free(out);
    free(err);
    ck_assert_int_eq(runv(&out, &err, ql), 0);
    ck_assert_str_eq(out, "[]\n");
    free(out);
    free(err);
    const char *show[] = {"device", "show", "cam-01", NULL};
    ck_assert_int_eq(runv(&out, &err, show), 0);
    j = cJSON_Parse(out);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "profile_version")->valueint, 2);
    /* the latest reading (00:05) was validated against v1 and has no exposure */
    ck_assert_int_eq(cJSON_GetObjectItem(j, "last_profile_version")->valueint, 1);
    ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "last_values"), "exposure_ms"));
    cJSON_Delete(j);
    free(out);
    free(err);
    const char *unknown[] = {"telemetry", "frobnicate", NULL};
    ck_assert_int_eq(runv(&out, &err, unknown), 2);
    free(out);
    free(err);
    ts_rmrf(dir);
    free(dir);
    free(data);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lineage");
    TCase *tc = tcase_create("lineage");
    tcase_set_timeout(tc, 280);
    tcase_add_test(tc, prediction_to_training_batches);
    tcase_add_test(tc, cli_profiles_and_quarantine);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
