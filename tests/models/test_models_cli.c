/* test_models_cli.c: the `auditd model` commands as a user runs them (the real
 * binary): register, approve, deploy with the RACI policy's Accountable party,
 * refusals, list; and the ledger entries they leave. */
#include "ledger.h"
#include "model.h"
#include "tsim.h"
#include "tsupport.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DS "cafe000000000000000000000000000000000000000000000000000000000000"
#define NAME "failure-predictor"

static char *dir;
static char policy[1024];
static char model_file[1024];

static int run(char **out, char **errout, const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    for (; args[n]; n++)
        argv[n] = args[n];
    argv[n++] = "--data-dir";
    argv[n++] = dir;
    argv[n] = NULL;
    return ts_run(NULL, 0, out, errout, argv);
}

static void setup(void)
{
    dir = ts_tmpdir("models-cli");
    snprintf(policy, sizeof policy, "%s/policies/examples/plant.xml", AUDITD_SOURCE_DIR);
    const char *init[] = {"init", NULL};
    char *err = NULL;
    ck_assert_msg(run(NULL, &err, init) == 0, "init: %s", err);
    free(err);
    /* A trained model file (library level: the CLI's train needs telemetry). */
    snprintf(model_file, sizeof model_file, "%s/fp-1.json", dir);
    model_rows *rows = NULL;
    ck_assert_int_eq(model_rows_new(&rows, NULL), ADT_OK);
    tsim g;
    tsim_init(&g, 3);
    for (int i = 0; i < 3000; i++) {
        double raw[MODEL_NRAW];
        int y = tsim_row(&g, raw, 0);
        char key[32];
        int kl = snprintf(key, sizeof key, "d|%d", i);
        ck_assert_int_eq(model_rows_add(rows, key, (size_t)kl, raw, y, NULL), ADT_OK);
    }
    model_train_opts o = {.name = NAME, .dataset = DS, .out_path = model_file, .seed = 1,
                          .rounds = 30};
    model_train_result r;
    adt_err e;
    ck_assert_msg(model_train(rows, &o, &r, &e) == ADT_OK, "%s", e.msg);
    model_rows_free(rows);
}

static void teardown(void)
{
    ts_rmrf(dir);
    free(dir);
}

static int scan_types(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    (void)index;
    buf *b = ctx;
    cJSON *j = cJSON_ParseWithLength(leaf, len);
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(j, "type"));
    buf_printf(b, "%s,", t ? t : "?");
    cJSON_Delete(j);
    return 0;
}

START_TEST(register_approve_deploy_list)
{
    char *out = NULL, *err = NULL;
    const char *reg_nover[] = {"model", "register", model_file, "--name", NAME, "--dataset", DS,
                               NULL};
    ck_assert_int_eq(run(NULL, &err, reg_nover), 2);
    ck_assert_ptr_nonnull(strstr(err, "--version"));
    free(err);

    const char *reg[] = {"model",     "register", model_file, "--name",  NAME, "--version",
                         "1",         "--dataset", DS,        "--actor", "alice", NULL};
    ck_assert_msg(run(&out, &err, reg) == 0, "register: %s", err);
    ck_assert_ptr_nonnull(strstr(out, "registered " NAME "@1"));
    free(out);
    free(err);

    /* No policy in the data directory and none given: refused. */
    const char *dep_nopol[] = {"model",   "deploy", NAME,          "--version", "1",
                               "--actor", "dave",   "--change-id", "CHG-1",     NULL};
    ck_assert_int_eq(run(NULL, &err, dep_nopol), 1);
    ck_assert_ptr_nonnull(strstr(err, "RACI policy"));
    free(err);

    /* Unapproved: refused. */
    const char *dep[] = {"model",       "deploy", NAME,       "--version", "1", "--actor", "dave",
                         "--change-id", "CHG-1",  "--policy", policy,      NULL};
    ck_assert_int_eq(run(NULL, &err, dep), 1);
    ck_assert_ptr_nonnull(strstr(err, "no approval"));
    ck_assert_ptr_nonnull(strstr(err, "carol"));
    free(err);

    /* Approved by bob, who is not Accountable for model:failure-predictor: refused. */
    const char *ap_bob[] = {"model",      "approve", NAME,          "--version", "1",
                            "--approver", "bob",     "--change-id", "CHG-1",     NULL};
    ck_assert_int_eq(run(NULL, NULL, ap_bob), 0);
    ck_assert_int_eq(run(NULL, &err, dep), 1);
    ck_assert_ptr_nonnull(strstr(err, "Accountable"));
    free(err);

    /* Approved by carol (Accountable in plant.xml): deployed. */
    const char *ap_carol[] = {"model",      "approve", NAME,          "--version", "1",
                              "--approver", "carol",   "--change-id", "CHG-1",     NULL};
    ck_assert_int_eq(run(NULL, NULL, ap_carol), 0);
    ck_assert_msg(run(&out, &err, dep) == 0, "deploy: %s", err);
    ck_assert_ptr_nonnull(strstr(out, "deployed " NAME "@1"));
    free(out);
    free(err);

    /* list: status, approver, metrics. */
    const char *list[] = {"model", "list", NULL};
    ck_assert_int_eq(run(&out, NULL, list), 0);
    ck_assert_ptr_nonnull(strstr(out, "deployed"));
    ck_assert_ptr_nonnull(strstr(out, "carol"));
    free(out);
    const char *listj[] = {"model", "list", "--json", NULL};
    ck_assert_int_eq(run(&out, NULL, listj), 0);
    cJSON *j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(cJSON_GetArraySize(j), 1);
    cJSON *m = cJSON_GetArrayItem(j, 0);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(m, "status")), "deployed");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(m, "approved_by")), "carol");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(m, "deployed_by")), "dave");
    double recall = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "metrics"), "recall")->valuedouble;
    ck_assert(recall > 0.5);
    cJSON_Delete(j);
    free(out);

    /* Ledger: register, approve (bob), approve (carol), deploy; refusals left nothing. */
    ledger *lg = NULL;
    adt_err e;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &e), ADT_OK);
    buf types;
    buf_init(&types, 4096);
    ck_assert_int_eq(ledger_scan(lg, 0, UINT64_MAX, scan_types, &types, &e), 0);
    ledger_close(lg);
    ck_assert_str_eq(types.data, "model.register,change.approve,change.approve,model.deploy,");
    buf_free(&types);
}
END_TEST

START_TEST(hash_mismatch_refused)
{
    const char *reg[] = {"model", "register", model_file, "--name", NAME, "--version", "2",
                         "--dataset", DS, NULL};
    ck_assert_int_eq(run(NULL, NULL, reg), 0);
    const char *ap[] = {"model",      "approve", NAME,          "--version", "2",
                        "--approver", "carol",   "--change-id", "CHG-9",     NULL};
    ck_assert_int_eq(run(NULL, NULL, ap), 0);
    /* The artefact is replaced after approval. */
    ck_assert_int_eq(ts_write_file(model_file, "{}", 2), 0);
    char *err = NULL;
    const char *dep[] = {"model",       "deploy", NAME,       "--version", "2", "--actor", "carol",
                         "--change-id", "CHG-9",  "--policy", policy,      NULL};
    ck_assert_int_eq(run(NULL, &err, dep), 1);
    ck_assert_ptr_nonnull(strstr(err, "SHA-256"));
    free(err);
    /* An unknown model: refused as unknown (not as a missing policy activity). */
    const char *dep2[] = {"model",       "deploy", "other",    "--version", "2", "--actor", "carol",
                          "--change-id", "CHG-9",  "--policy", policy,      NULL};
    ck_assert_int_eq(run(NULL, &err, dep2), 1);
    ck_assert_msg(strstr(err, "unknown model 'other'") != NULL, "%s", err);
    free(err);
    /* A known model, an unknown version: named as such. */
    const char *dep3[] = {"model",       "deploy", NAME,       "--version", "9", "--actor", "carol",
                          "--change-id", "CHG-9",  "--policy", policy,      NULL};
    ck_assert_int_eq(run(NULL, &err, dep3), 1);
    ck_assert_msg(strstr(err, "unknown version 9") != NULL, "%s", err);
    free(err);
    /* A known model whose policy names no Accountable for it: refused. */
    char nopol[1100];
    snprintf(nopol, sizeof nopol, "%s/no-model.xml", dir);
    const char *x = "<raci xmlns=\"urn:auditd:raci:1\" name=\"t\" version=\"1\"><roles><role "
                    "id=\"ot\"/></roles><principals><principal id=\"alice\" kind=\"person\" "
                    "roles=\"ot\"/></principals><activities><activity id=\"data:x\" "
                    "kind=\"data\"><accountable principal=\"alice\"/><responsible principal=\"alice\"/>"
                    "</activity></activities>"
                    "</raci>";
    ck_assert_int_eq(ts_write_file(nopol, x, strlen(x)), 0);
    const char *dep4[] = {"model",       "deploy", NAME,       "--version", "2", "--actor", "carol",
                          "--change-id", "CHG-9",  "--policy", nopol,       NULL};
    ck_assert_int_eq(run(NULL, &err, dep4), 1);
    char want[128];
    snprintf(want, sizeof want, "defines no activity model:%s", NAME);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    free(err);
    /* Bad input: usage errors, named. */
    const char *bad[] = {"model", "approve", NAME, "--version", "2", "--approver", "carol",
                         "--change-id", "bad id", NULL};
    ck_assert_int_eq(run(NULL, &err, bad), 1);
    ck_assert_ptr_nonnull(strstr(err, "change id"));
    free(err);
    const char *unk[] = {"model", "frobnicate", NULL};
    ck_assert_int_eq(run(NULL, NULL, unk), 2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("models_cli");
    TCase *t = tcase_create("cli");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, register_approve_deploy_list);
    tcase_add_test(t, hash_mismatch_refused);
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
