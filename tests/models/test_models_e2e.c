/* test_models_e2e.c: from simulated plant telemetry to a deployed model and a
 * drift alarm, with the real binary: simulate, ingest, dataset define,
 * model train/register/approve/deploy, scoring at ingestion, drift on an
 * unshifted window (no alarm) and on a shifted one (alarm), and the ledger. */
#include "ledger.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
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
        ck_assert_msg(rc_ == 0, "%s: exit %d: %s", a_[0], rc_, e_ ? e_ : "");                  \
        free(e_);                                                                              \
    } while (0)

typedef struct found {
    int n_drift, n_alert, n_pred, n_train;
    char drift_feature[16][64];
    char alert_kind[32], alert_model[64];
    double drift_psi[16], drift_threshold;
} found;

static int scan(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    (void)index;
    found *f = ctx;
    cJSON *j = cJSON_ParseWithLength(leaf, len);
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(j, "type"));
    cJSON *p = cJSON_GetObjectItem(j, "payload");
    if (t && !strcmp(t, "drift.detected") && f->n_drift < 16) {
        snprintf(f->drift_feature[f->n_drift], 64, "%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(p, "feature")));
        ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "model")),
                         "failure-predictor");
        ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(p, "ks")));
        f->drift_psi[f->n_drift] = cJSON_GetObjectItem(p, "psi")->valuedouble;
        f->drift_threshold = cJSON_GetObjectItem(p, "threshold")->valuedouble;
        f->n_drift++;
    } else if (t && !strcmp(t, "alert.raise")) {
        f->n_alert++;
        snprintf(f->alert_kind, sizeof f->alert_kind, "%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(p, "kind")));
        snprintf(f->alert_model, sizeof f->alert_model, "%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(p, "model")));
    } else if (t && !strcmp(t, "prediction.summary")) {
        f->n_pred++;
    } else if (t && !strcmp(t, "model.train")) {
        f->n_train++;
        ck_assert(cJSON_IsNumber(
            cJSON_GetObjectItem(cJSON_GetObjectItem(p, "metrics"), "pr_auc")));
    }
    cJSON_Delete(j);
    return 0;
}

static void scan_ledger(found *f)
{
    memset(f, 0, sizeof *f);
    ledger *lg;
    adt_err e;
    ck_assert_int_eq(ledger_open(data, LEDGER_RDONLY, &lg, &e), ADT_OK);
    ck_assert_int_eq(ledger_scan(lg, 0, UINT64_MAX, scan, f, &e), 0);
    ledger_close(lg);
}

/* Copy the CNC readings of `in` to `out` four days later, shifted: air and
 * process temperature +5 K, torque x 1.3. */
static void write_shifted(const char *in, const char *out)
{
    size_t len;
    char *text = ts_read_file(in, &len);
    ck_assert_ptr_nonnull(text);
    FILE *f = fopen(out, "w");
    ck_assert_ptr_nonnull(f);
    size_t written = 0;
    for (char *line = text, *nl; *line; line = nl ? nl + 1 : line + strlen(line)) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        cJSON *j = cJSON_Parse(line);
        cJSON *v = cJSON_GetObjectItem(j, "values");
        cJSON *air = cJSON_GetObjectItem(v, "air_temp_k");
        const char *time = cJSON_GetStringValue(cJSON_GetObjectItem(j, "time"));
        if (!air || !time || strncmp(time, "2026-07-01", 10) != 0) {
            cJSON_Delete(j);
            continue;
        }
        cJSON *proc = cJSON_GetObjectItem(v, "process_temp_k");
        cJSON *tq = cJSON_GetObjectItem(v, "torque_nm");
        cJSON_SetNumberValue(air, air->valuedouble + 5);
        cJSON_SetNumberValue(proc, proc->valuedouble + 5);
        cJSON_SetNumberValue(tq, tq->valuedouble * 1.3 > 100 ? 100 : tq->valuedouble * 1.3);
        char nt[64];
        snprintf(nt, sizeof nt, "2026-07-05%s", time + 10);
        cJSON_ReplaceItemInObject(j, "time", cJSON_CreateString(nt));
        char *s = cJSON_PrintUnformatted(j);
        fprintf(f, "%s\n", s);
        free(s);
        cJSON_Delete(j);
        written++;
    }
    fclose(f);
    free(text);
    ck_assert_uint_gt(written, 1000);
}

START_TEST(telemetry_to_drift_alarm)
{
    dir = ts_tmpdir("models-e2e");
    char sim[1024], tel[1100], devs[1100], p1[1100], p2[1100], p3[1100], shifted[1100];
    size_t dl = strlen(dir) + 16;
    data = malloc(dl);
    snprintf(data, dl, "%s/data", dir);
    snprintf(sim, sizeof sim, "%s/sim", dir);
    snprintf(tel, sizeof tel, "%s/telemetry.ndjson", sim);
    snprintf(devs, sizeof devs, "%s/devices.ndjson", sim);
    snprintf(p1, sizeof p1, "%s/profiles/cnc-mill.json", sim);
    snprintf(p2, sizeof p2, "%s/profiles/legacy-plc.json", sim);
    snprintf(p3, sizeof p3, "%s/profiles/edge-camera.json", sim);
    snprintf(shifted, sizeof shifted, "%s/shifted.ndjson", dir);

    RUN_OK("init");
    RUN_OK("simulate", "--seed", "5", "--days", "2", "--out", sim);
    RUN_OK("profile", "load", p1, p2, p3);
    RUN_OK("device", "register", "--file", devs);
    RUN_OK("telemetry", "ingest", tel, "--quiet");

    char *out = NULL, *err = NULL;
    const char *def[] = {"dataset", "define", "--from", "2026-07-01", "--to", "2026-07-03", NULL};
    ck_assert_msg(runv(&out, &err, def) == 0, "dataset define: %s", err);
    cJSON *j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    char ds[129];
    snprintf(ds, sizeof ds, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "dataset")));
    cJSON_Delete(j);
    free(out);
    free(err);

    const char *train[] = {"model", "train", "--dataset", ds, "--json", NULL};
    ck_assert_msg(runv(&out, &err, train) == 0, "train: %s", err);
    j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    char file[1100];
    snprintf(file, sizeof file, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "file")));
    cJSON *m = cJSON_GetObjectItem(j, "metrics");
    double precision = cJSON_GetObjectItem(m, "precision")->valuedouble;
    double recall = cJSON_GetObjectItem(m, "recall")->valuedouble;
    fprintf(stderr, "simulated plant, held-out: precision %.3f recall %.3f pr_auc %.3f\n",
            precision, recall, cJSON_GetObjectItem(m, "pr_auc")->valuedouble);
    ck_assert(recall >= 0.8);
    ck_assert(precision >= 0.5);
    cJSON_Delete(j);
    free(out);
    free(err);

    /* Training again to the same file would change a model that may be registered. */
    const char *again[] = {"model", "train", "--dataset", ds, NULL};
    ck_assert_int_eq(runv(NULL, &err, again), 1);
    ck_assert_ptr_nonnull(strstr(err, "--force"));
    free(err);

    RUN_OK("model", "register", file, "--name", "failure-predictor", "--version", "1",
           "--dataset", ds);
    RUN_OK("model", "approve", "failure-predictor", "--version", "1", "--approver", "carol",
           "--change-id", "CHG-7");
    char policy[1024];
    snprintf(policy, sizeof policy, "%s/policies/examples/plant.xml", AUDITD_SOURCE_DIR);
    RUN_OK("model", "deploy", "failure-predictor", "--version", "1", "--actor", "carol",
           "--change-id", "CHG-7", "--policy", policy);

    /* The training window itself: no drift, no event. */
    const char *d0[] = {"drift", "--model", "failure-predictor", "--from", "2026-07-01T00:00:00Z",
                        "--to", "2026-07-03T00:00:00Z", "--json", NULL};
    ck_assert_msg(runv(&out, &err, d0) == 0, "drift: %s", err);
    j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "drift")));
    cJSON_Delete(j);
    free(out);
    free(err);
    found f;
    scan_ledger(&f);
    ck_assert_int_eq(f.n_drift, 0);
    ck_assert_int_eq(f.n_alert, 0);
    ck_assert_int_eq(f.n_train, 1);

    /* Shifted readings, ingested while the model is deployed: scored, and drifting. */
    write_shifted(tel, shifted);
    RUN_OK("telemetry", "ingest", shifted, "--quiet");
    const char *d1[] = {"drift", "--model", "failure-predictor", "--from", "2026-07-05T00:00:00Z",
                        "--to", "2026-07-06T00:00:00Z", NULL};
    ck_assert_msg(runv(&out, &err, d1) == 0, "drift: %s", err);
    ck_assert_ptr_nonnull(strstr(out, "DRIFT"));
    free(out);
    free(err);
    scan_ledger(&f);
    ck_assert_int_ge(f.n_pred, 1);
    ck_assert_int_ge(f.n_drift, 2);
    bool air = false, torque = false, type = false;
    for (int i = 0; i < f.n_drift; i++) {
        air |= !strcmp(f.drift_feature[i], "air_temp_k");
        torque |= !strcmp(f.drift_feature[i], "torque_nm");
        type |= !strcmp(f.drift_feature[i], "machine_type");
        ck_assert(f.drift_psi[i] > 0.2);
    }
    ck_assert(air && torque && !type);
    ck_assert_double_eq_tol(f.drift_threshold, 0.2, 1e-12);
    ck_assert_int_eq(f.n_alert, 1);
    ck_assert_str_eq(f.alert_kind, "drift");
    ck_assert_str_eq(f.alert_model, "failure-predictor");

    ts_rmrf(dir);
    free(dir);
    free(data);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("models_e2e");
    TCase *t = tcase_create("e2e");
    tcase_set_timeout(t, 240);
    tcase_add_test(t, telemetry_to_drift_alarm);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
