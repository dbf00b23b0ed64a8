/* test_models.c: metrics, drift statistics, training, the registry gate and
 * the scorer, with the ledger entries each step leaves. */
#include "drift.h"
#include "ledger.h"
#include "model.h"
#include "sha256.h"
#include "tsim.h"
#include "tsupport.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Metrics -------------------------------------------------------------------- */

START_TEST(average_precision_hand_case)
{
    /* Ranked: 1 0 1 0. Thresholds: 0.9 (P 1, R .5), 0.8 (P .5, R .5),
     * 0.7 (P 2/3, R 1), 0.6 (P .5, R 1). AP = .5*1 + .5*2/3 = 5/6. */
    float s[] = {0.6f, 0.9f, 0.7f, 0.8f};
    int y[] = {0, 1, 1, 0};
    double ap = -1;
    ck_assert_int_eq(model_average_precision(s, y, 4, &ap), ADT_OK);
    ck_assert_double_eq_tol(ap, 5.0 / 6.0, 1e-12);

    /* Ties enter together: scores {0.5,0.5} with labels {1,0}: one threshold,
     * P .5, R 1 -> AP .5 (not 1, as an arbitrary tie order could give). */
    float t[] = {0.5f, 0.5f};
    int ty[] = {0, 1};
    ck_assert_int_eq(model_average_precision(t, ty, 2, &ap), ADT_OK);
    ck_assert_double_eq_tol(ap, 0.5, 1e-12);

    /* Perfect ranking -> 1; no positive -> 0. */
    float p[] = {0.9f, 0.8f, 0.1f};
    int py[] = {1, 1, 0};
    ck_assert_int_eq(model_average_precision(p, py, 3, &ap), ADT_OK);
    ck_assert_double_eq_tol(ap, 1.0, 1e-12);
    int ny[] = {0, 0, 0};
    ck_assert_int_eq(model_average_precision(p, ny, 3, &ap), ADT_OK);
    ck_assert_double_eq_tol(ap, 0.0, 1e-12);
}
END_TEST

START_TEST(evaluate_counts)
{
    float s[] = {0.9f, 0.8f, 0.7f, 0.6f, 0.2f};
    int y[] = {1, 0, 1, 0, 1};
    model_metrics m;
    ck_assert_int_eq(model_evaluate(s, y, 5, 0.65, &m), ADT_OK);
    ck_assert_uint_eq(m.tp, 2);
    ck_assert_uint_eq(m.fp, 1);
    ck_assert_uint_eq(m.fn, 1);
    ck_assert_double_eq_tol(m.precision, 2.0 / 3.0, 1e-12);
    ck_assert_double_eq_tol(m.recall, 2.0 / 3.0, 1e-12);
    ck_assert_double_eq_tol(m.f1, 2.0 / 3.0, 1e-12);
    /* AP: 0.9 (1, 1/3), 0.8 (.5, 1/3), 0.7 (2/3, 2/3), 0.6 (.5, 2/3), 0.2 (.6, 1):
     * 1/3*1 + 1/3*2/3 + 1/3*.6 */
    ck_assert_double_eq_tol(m.pr_auc, 1.0 / 3 + 2.0 / 9 + 0.2, 1e-12);
}
END_TEST

/* ---- Drift statistics ------------------------------------------------------------- */

START_TEST(psi_hand_values)
{
    double e[] = {0.5, 0.5}, a[] = {0.25, 0.75};
    /* (.25-.5) ln(.5) + (.75-.5) ln(1.5) */
    ck_assert_double_eq_tol(drift_psi(e, a, 2, DRIFT_EPS), 0.2746530721670274, 1e-12);
    ck_assert_double_eq_tol(drift_psi(e, e, 2, DRIFT_EPS), 0.0, 1e-15);
    /* An empty bin is floored at epsilon: (1e-4-.5) ln(1e-4/.5) + .5 ln 2 */
    double z[] = {0.0, 1.0};
    ck_assert_double_eq_tol(drift_psi(e, z, 2, DRIFT_EPS), 4.60431846666895, 1e-9);
}
END_TEST

START_TEST(ks_hand_values)
{
    double a[] = {4, 2, 3, 1}, b[] = {8, 3, 4, 5, 6, 7};
    /* ECDF gap is largest at x = 4: 4/4 - 2/6 = 2/3. */
    double d = drift_ks(a, 4, b, 6);
    ck_assert_double_eq_tol(d, 2.0 / 3.0, 1e-12);
    /* Ne = 2.4, lambda = (sqrt(2.4) + .12 + .11/sqrt(2.4)) * 2/3 = 1.16013,
     * Q = 2 sum (-1)^(j-1) exp(-2 j^2 lambda^2) = 0.135474 */
    ck_assert_double_eq_tol(drift_ks_pvalue(d, 4, 6), 0.13547386007256818, 1e-9);
    double c[] = {1, 2, 3}, c2[] = {1, 2, 3};
    ck_assert_double_eq_tol(drift_ks(c, 3, c2, 3), 0.0, 1e-15);
    ck_assert_double_eq_tol(drift_ks_pvalue(0, 3, 3), 1.0, 1e-15);
}
END_TEST

START_TEST(ref_deciles_and_shift)
{
    double x[100], y[100];
    for (int i = 0; i < 100; i++)
        x[i] = 100 - i; /* 1..100, unsorted on purpose */
    drift_ref r;
    ck_assert_int_eq(drift_ref_build(x, 100, &r, NULL), ADT_OK);
    ck_assert_uint_eq(r.n, 100);
    ck_assert_uint_eq(r.nedges, 9);
    /* Type-7 quantile at .1 of 1..100: 1 + .1 * 99 = 10.9 */
    ck_assert_double_eq_tol(r.edges[0], 10.9, 1e-9);
    ck_assert_double_eq_tol(r.edges[8], 90.1, 1e-9);
    for (int b = 0; b < 10; b++)
        ck_assert_double_eq_tol(r.props[b], 0.1, 1e-12);
    ck_assert_double_eq_tol(r.q[50], 50.5, 1e-9);

    double psi = -1, d = -1;
    size_t m = 0;
    for (int i = 0; i < 100; i++)
        y[i] = i + 1;
    ck_assert_int_eq(drift_psi_ref(&r, y, 100, &psi, NULL), ADT_OK);
    ck_assert_double_eq_tol(psi, 0.0, 1e-12);
    ck_assert_int_eq(drift_ks_ref(&r, y, 100, &d, &m, NULL), ADT_OK);
    ck_assert_uint_eq(m, 100);
    ck_assert(d <= 0.011);

    /* Shift by 30: the lowest three deciles empty, the top one holds 40 %. */
    for (int i = 0; i < 100; i++)
        y[i] = i + 31;
    ck_assert_int_eq(drift_psi_ref(&r, y, 100, &psi, NULL), ADT_OK);
    double expect = 3 * (1e-4 - 0.1) * log(1e-4 / 0.1) + (0.4 - 0.1) * log(4.0);
    /* bins 4..9 hold .1 each except the last: values 31..130 -> bins from 31. */
    ck_assert(psi > 0.2);
    ck_assert_double_eq_tol(psi, expect, 1e-9);
    ck_assert_int_eq(drift_ks_ref(&r, y, 100, &d, &m, NULL), ADT_OK);
    ck_assert_double_eq_tol(d, 0.30, 0.011);

    /* A discrete feature: tied deciles collapse (interpolated ones between
     * atoms remain: 0, .5, 1, 1.2, 2); same data -> PSI 0. */
    double t[10] = {0, 0, 0, 0, 0, 1, 1, 1, 2, 2};
    double t2[10] = {0, 0, 0, 0, 0, 1, 1, 1, 2, 2};
    ck_assert_int_eq(drift_ref_build(t, 10, &r, NULL), ADT_OK);
    ck_assert_uint_eq(r.nedges, 5);
    ck_assert_int_eq(drift_psi_ref(&r, t2, 10, &psi, NULL), ADT_OK);
    ck_assert_double_eq_tol(psi, 0.0, 1e-12);

    /* JSON round trip, and a broken summary refused. */
    cJSON *j = drift_ref_to_json(&r);
    drift_ref back;
    ck_assert_int_eq(drift_ref_from_json(j, &back, NULL), ADT_OK);
    ck_assert_uint_eq(back.nedges, r.nedges);
    cJSON_ReplaceItemInObject(j, "props", cJSON_CreateString("x"));
    adt_err e;
    ck_assert_int_eq(drift_ref_from_json(j, &back, &e), ADT_EINVAL);
    cJSON_Delete(j);
    double nan1[2] = {NAN, NAN};
    ck_assert_int_eq(drift_ref_build(nan1, 2, &r, &e), ADT_EINVAL);
}
END_TEST

/* Independent samples of one process stay under the alarm; a shifted one does not. */
START_TEST(psi_unshifted_vs_shifted_samples)
{
    enum { N = 5000 };
    static double ref[MODEL_NRAW][N], same[MODEL_NRAW][N], moved[MODEL_NRAW][N];
    tsim a, b, c;
    tsim_init(&a, 101);
    tsim_init(&b, 202);
    tsim_init(&c, 303);
    for (int i = 0; i < N; i++) {
        double ra[MODEL_NRAW], rb[MODEL_NRAW], rc[MODEL_NRAW];
        tsim_row(&a, ra, 0);
        tsim_row(&b, rb, 0);
        tsim_row(&c, rc, 6); /* +6 K temperatures, +6 Nm torque (0.6 sd) */
        for (int f = 0; f < MODEL_NRAW; f++) {
            ref[f][i] = ra[f];
            same[f][i] = rb[f];
            moved[f][i] = rc[f];
        }
    }
    for (int f = 0; f < MODEL_NRAW; f++) {
        drift_ref r;
        ck_assert_int_eq(drift_ref_build(ref[f], N, &r, NULL), ADT_OK);
        double p_same, p_moved, d;
        size_t m;
        ck_assert_int_eq(drift_psi_ref(&r, same[f], N, &p_same, NULL), ADT_OK);
        ck_assert_int_eq(drift_psi_ref(&r, moved[f], N, &p_moved, NULL), ADT_OK);
        ck_assert_msg(p_same < 0.05, "%s: unshifted PSI %g", model_feature_names[f], p_same);
        ck_assert_int_eq(drift_ks_ref(&r, same[f], N, &d, &m, NULL), ADT_OK);
        ck_assert_msg(d < 0.05, "%s: unshifted KS %g", model_feature_names[f], d);
        if (f == 0 || f == 1 || f == 3) /* air, process temperature, torque */
            ck_assert_msg(p_moved > DRIFT_DEFAULT_THRESHOLD, "%s: shifted PSI %g",
                          model_feature_names[f], p_moved);
        if (f == 5) /* machine type is not shifted */
            ck_assert_msg(p_moved < 0.05, "machine_type: PSI %g", p_moved);
    }
}
END_TEST

/* ---- Training, registry, scorer ----------------------------------------------------- */

static model_rows *sim_rows(size_t n, uint64_t seed)
{
    model_rows *rows = NULL;
    ck_assert_int_eq(model_rows_new(&rows, NULL), ADT_OK);
    tsim g;
    tsim_init(&g, seed);
    for (size_t i = 0; i < n; i++) {
        double raw[MODEL_NRAW];
        int y = tsim_row(&g, raw, 0);
        char key[64];
        int kl = snprintf(key, sizeof key, "m%zu|%zu", i % 7, i);
        ck_assert_int_eq(model_rows_add(rows, key, (size_t)kl, raw, y, NULL), ADT_OK);
    }
    return rows;
}

#define DS "ds0000000000000000000000000000000000000000000000000000000000000000"

static const char *train_to(const char *dir, const char *file, size_t nrows,
                            model_train_result *res)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    model_rows *rows = sim_rows(nrows, 7);
    model_train_opts o = {.name = "failure-predictor", .dataset = DS, .out_path = path, .seed = 1};
    adt_err e = {0};
    int rc = model_train(rows, &o, res, &e);
    ck_assert_msg(rc == ADT_OK, "train: %s", e.msg);
    model_rows_free(rows);
    return path;
}

START_TEST(train_meets_targets)
{
    char *dir = ts_tmpdir("models-train");
    model_train_result res;
    const char *path = train_to(dir, "m.json", 12000, &res);
    fprintf(stderr,
            "held-out: n=%zu positives=%zu precision=%.3f recall=%.3f pr_auc=%.3f "
            "threshold=%.3f (oof precision=%.3f recall=%.3f)\n",
            res.test.n, res.test.positives, res.test.precision, res.test.recall,
            res.test.pr_auc, res.threshold, res.train_oof.precision, res.train_oof.recall);
    ck_assert_uint_gt(res.n_test, 1800);
    ck_assert_uint_lt(res.n_test, 3000);
    ck_assert(res.test.recall >= 0.8);
    ck_assert(res.test.precision >= 0.5);
    ck_assert(res.test.pr_auc > 0.6);
    /* The file written is the file hashed; the metadata parses and matches. */
    char hex[65];
    ck_assert_int_eq(sha256_file_hex(path, 1u << 28, hex, NULL), ADT_OK);
    ck_assert_str_eq(hex, res.sha256);
    char mp[1100];
    snprintf(mp, sizeof mp, "%s.meta.json", path);
    size_t len;
    char *meta = ts_read_file(mp, &len);
    ck_assert_ptr_nonnull(meta);
    model_meta *m = NULL;
    adt_err e;
    ck_assert_msg(model_meta_parse(meta, len, &m, &e) == ADT_OK, "%s", e.msg);
    ck_assert_str_eq(model_meta_sha256(m), res.sha256);
    ck_assert_str_eq(model_meta_dataset(m), DS);
    ck_assert_double_eq_tol(model_meta_threshold(m), res.threshold, 1e-9);
    model_meta_free(m);
    free(meta);

    /* Deterministic: same rows, options and seed -> the same model bytes. */
    model_train_result res2;
    train_to(dir, "m2.json", 12000, &res2);
    ck_assert_str_eq(res2.sha256, res.sha256);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

typedef struct scan_ctx {
    char types[64][32];
    char *leaves[64];
    size_t n;
} scan_ctx;

static int scan_fn(void *vctx, uint64_t index, const char *leaf, size_t len)
{
    (void)index;
    scan_ctx *c = vctx;
    if (c->n >= 64)
        return 1;
    cJSON *j = cJSON_ParseWithLength(leaf, len);
    ck_assert_ptr_nonnull(j);
    snprintf(c->types[c->n], sizeof c->types[0], "%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(j, "type")));
    c->leaves[c->n] = strndup(leaf, len);
    c->n++;
    cJSON_Delete(j);
    return 0;
}

static void scan_ledger(const char *dir, scan_ctx *c)
{
    memset(c, 0, sizeof *c);
    ledger *lg = NULL;
    adt_err e;
    ck_assert_msg(ledger_open(dir, LEDGER_RDONLY, &lg, &e) == ADT_OK, "%s", e.msg);
    ck_assert_int_eq(ledger_scan(lg, 0, UINT64_MAX, scan_fn, c, &e), 0);
    ledger_close(lg);
}

static void free_scan(scan_ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->leaves[i]);
}

/* The payload member `k` of leaf i as a string (static buffer). */
static const char *payload_str(const scan_ctx *c, size_t i, const char *k)
{
    static char out[256];
    cJSON *j = cJSON_Parse(c->leaves[i]);
    cJSON *p = cJSON_GetObjectItem(j, "payload");
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(p, k));
    snprintf(out, sizeof out, "%s", v ? v : "(absent)");
    cJSON_Delete(j);
    return out;
}

START_TEST(register_approve_deploy_score)
{
    char *dir = ts_tmpdir("models-reg");
    adt_err e = {0};
    ck_assert_msg(ledger_init(dir, "auditd.test/models", &e) == ADT_OK, "%s", e.msg);
    model_train_result res;
    const char *path = train_to(dir, "fp-1.json", 6000, &res);
    char file1[1024];
    snprintf(file1, sizeof file1, "%s", path);

    /* Nothing deployed yet. */
    model_scorer *s = NULL;
    ck_assert_int_eq(model_scorer_open(dir, &s, &e), ADT_ENOTFOUND);

    model_info info;
    ck_assert_msg(model_register(dir, file1, "failure-predictor", "1", DS, "alice", &info, &e) ==
                      ADT_OK,
                  "%s", e.msg);
    ck_assert_str_eq(info.sha256, res.sha256);
    ck_assert_str_eq(info.status, "registered");
    /* Twice: refused. Wrong dataset: refused. */
    ck_assert_int_eq(model_register(dir, file1, "failure-predictor", "1", DS, "alice", NULL, &e),
                     ADT_EEXIST);
    ck_assert_int_eq(model_register(dir, file1, "failure-predictor", "1b", "other", "alice", NULL,
                                    &e),
                     ADT_ECONFLICT);

    /* Unapproved deployment refused. */
    ck_assert_int_eq(model_deploy(dir, "failure-predictor", "1", "carol", "CHG-1", "carol", NULL,
                                  &e),
                     ADT_EFORBIDDEN);
    /* An approval by someone who is not the Accountable does not count. */
    ck_assert_int_eq(model_approve(dir, "failure-predictor", "1", "bob", "CHG-1", NULL, &e),
                     ADT_OK);
    ck_assert_int_eq(model_deploy(dir, "failure-predictor", "1", "carol", "CHG-1", "carol", NULL,
                                  &e),
                     ADT_EFORBIDDEN);
    ck_assert_ptr_nonnull(strstr(e.msg, "Accountable"));
    /* The Accountable's approval of another change does not count either. */
    ck_assert_int_eq(model_approve(dir, "failure-predictor", "1", "carol", "CHG-0", NULL, &e),
                     ADT_OK);
    ck_assert_int_eq(model_deploy(dir, "failure-predictor", "1", "carol", "CHG-1", "carol", NULL,
                                  &e),
                     ADT_EFORBIDDEN);
    unsigned long long ai = 0, di = 0;
    ck_assert_int_eq(model_approve(dir, "failure-predictor", "1", "carol", "CHG-1", &ai, &e),
                     ADT_OK);
    ck_assert_msg(model_deploy(dir, "failure-predictor", "1", "dave", "CHG-1", "carol", &di, &e) ==
                      ADT_OK,
                  "%s", e.msg);
    ck_assert_uint_gt(di, ai);

    /* The scorer loads it and agrees with the training-time threshold. */
    ck_assert_msg(model_scorer_open(dir, &s, &e) == ADT_OK, "%s", e.msg);
    ck_assert_str_eq(model_scorer_model(s), "failure-predictor");
    ck_assert_str_eq(model_scorer_version(s), "1");
    ck_assert_float_eq_tol(model_scorer_threshold(s), (float)res.threshold, 1e-6f);
    size_t nf = 0;
    const char *const *names = model_scorer_features(s, &nf);
    ck_assert_uint_eq(nf, MODEL_NRAW);
    ck_assert_str_eq(names[0], "air_temp_k");
    ck_assert_str_eq(names[5], "machine_type");
    /* A healthy machine vs power and overstrain failure conditions. */
    double x[3 * MODEL_NRAW] = {
        300, 310, 1540, 40, 20, 0,  /* normal */
        300, 310, 2300, 5, 20, 0,   /* power ~1.2 kW: PWF */
        300, 310, 1300, 65, 230, 0, /* wear x torque ~15000: OSF */
    };
    float prob[3];
    ck_assert_msg(model_scorer_score(s, x, 3, MODEL_NRAW, prob, &e) == ADT_OK, "%s", e.msg);
    ck_assert(prob[0] < model_scorer_threshold(s));
    ck_assert(prob[1] >= model_scorer_threshold(s));
    ck_assert(prob[2] >= model_scorer_threshold(s));
    ck_assert_int_eq(model_scorer_score(s, x, 3, 5, prob, &e), ADT_EINVAL);
    /* Missing and infinite inputs are scored as missing, not refused. */
    x[0] = NAN;
    x[3] = INFINITY;
    x[5] = NAN;
    ck_assert_msg(model_scorer_score(s, x, 3, MODEL_NRAW, prob, &e) == ADT_OK, "%s", e.msg);
    ck_assert(prob[0] >= 0 && prob[0] <= 1);
    model_scorer_close(s);

    /* Version 2: approved, then the artefact changes: hash mismatch refused. */
    model_train_result res2;
    const char *p2 = train_to(dir, "fp-2.json", 6000, &res2);
    char file2[1024];
    snprintf(file2, sizeof file2, "%s", p2);
    ck_assert_int_eq(model_register(dir, file2, "failure-predictor", "2", DS, "alice", NULL, &e),
                     ADT_OK);
    ck_assert_int_eq(model_approve(dir, "failure-predictor", "2", "carol", "CHG-2", NULL, &e),
                     ADT_OK);
    size_t len;
    char *bytes = ts_read_file(file2, &len);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_int_eq(ts_write_file(file2, bytes, len - 1), 0);
    ck_assert_int_eq(model_deploy(dir, "failure-predictor", "2", "dave", "CHG-2", "carol", NULL,
                                  &e),
                     ADT_ECONFLICT);
    ck_assert_ptr_nonnull(strstr(e.msg, "SHA-256"));
    /* Restored: now it goes, and version 1 is retired. */
    ck_assert_int_eq(ts_write_file(file2, bytes, len), 0);
    free(bytes);
    ck_assert_msg(model_deploy(dir, "failure-predictor", "2", "dave", "CHG-2", "carol", NULL,
                               &e) == ADT_OK,
                  "%s", e.msg);
    ck_assert_int_eq(model_get(dir, "failure-predictor", "1", &info, NULL, &e), ADT_OK);
    ck_assert_str_eq(info.status, "retired");
    /* The scorer hashes what it loads: a file swapped after deployment is refused. */
    bytes = ts_read_file(file2, &len);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_int_eq(ts_write_file(file2, bytes, len - 1), 0);
    ck_assert_int_eq(model_scorer_open(dir, &s, &e), ADT_ECORRUPT);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(ts_write_file(file2, bytes, len), 0);
    free(bytes);
    ck_assert_int_eq(model_scorer_open(dir, &s, &e), ADT_OK);
    ck_assert_str_eq(model_scorer_version(s), "2");
    model_scorer_close(s);
    char *drift = NULL;
    ck_assert_int_eq(model_get(dir, "failure-predictor", NULL, &info, &drift, &e), ADT_OK);
    ck_assert_str_eq(info.version, "2");
    ck_assert_str_eq(info.status, "deployed");
    ck_assert_str_eq(info.approver, "carol");
    ck_assert_ptr_nonnull(strstr(drift, "\"torque_nm\""));
    free(drift);

    /* The ledger: every step left its event, with the documented fields. */
    scan_ctx c;
    scan_ledger(dir, &c);
    const char *want[] = {"model.register", "change.approve", "change.approve", "change.approve",
                          "model.deploy",   "model.register", "change.approve", "model.deploy"};
    ck_assert_uint_eq(c.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < c.n; i++)
        ck_assert_str_eq(c.types[i], want[i]);
    ck_assert_str_eq(payload_str(&c, 0, "artifact_sha256"), res.sha256);
    ck_assert_str_eq(payload_str(&c, 0, "dataset"), DS);
    ck_assert_str_eq(payload_str(&c, 0, "actor"), "alice");
    ck_assert_ptr_nonnull(strstr(c.leaves[0], "\"metrics\":{\"pr_auc\":"));
    ck_assert_str_eq(payload_str(&c, 1, "actor"), "bob");
    ck_assert_str_eq(payload_str(&c, 3, "actor"), "carol");
    ck_assert_str_eq(payload_str(&c, 3, "activity"), "model:failure-predictor");
    ck_assert_str_eq(payload_str(&c, 3, "change_id"), "CHG-1");
    ck_assert_str_eq(payload_str(&c, 3, "artifact_sha256"), res.sha256);
    ck_assert_str_eq(payload_str(&c, 4, "actor"), "dave");
    ck_assert_str_eq(payload_str(&c, 4, "model"), "failure-predictor");
    ck_assert_str_eq(payload_str(&c, 4, "version"), "1");
    ck_assert_str_eq(payload_str(&c, 4, "change_id"), "CHG-1");
    ck_assert_str_eq(payload_str(&c, 4, "activity"), "model:failure-predictor");
    ck_assert_str_eq(payload_str(&c, 4, "artifact_sha256"), res.sha256);
    ck_assert_ptr_nonnull(strstr(c.leaves[4], "\"provenance\":{"));
    ck_assert_ptr_nonnull(strstr(c.leaves[4], "\"source\":\"auditd:models\""));
    ck_assert_str_eq(payload_str(&c, 7, "artifact_sha256"), res2.sha256);
    free_scan(&c);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(meta_refuses_bad_input)
{
    adt_err e;
    model_meta *m = NULL;
    const char *bad[] = {
        "",
        "[]",
        "{}",
        "{\"format\":\"auditd-model-meta/1\"}",
        "{\"format\":\"auditd-model-meta/1\",\"format\":\"x\"}",
        "{\"format\":\"auditd-model-meta/1\",\"featureset\":\"ai4i-v1\",\"features\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_ne(model_meta_parse(bad[i], strlen(bad[i]), &m, &e), ADT_OK);
        ck_assert_ptr_null(m);
        ck_assert_int_gt(strlen(e.msg), 0);
    }
    /* The fuzz corpus: the valid file is accepted, each bad_* is refused. */
    const char *files[] = {"valid.json", "bad_threshold.json", "bad_props.json",
                           "bad_features.json", "bad_quantiles.json", "badutf8.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/model_meta/%s", AUDITD_SOURCE_DIR,
                 files[i]);
        size_t len = 0;
        char *text = ts_read_file(path, &len);
        ck_assert_ptr_nonnull(text);
        int rc = model_meta_parse(text, len, &m, &e);
        if (i == 0) {
            ck_assert_msg(rc == ADT_OK, "%s: %s", files[i], e.msg);
            ck_assert_double_eq_tol(model_meta_threshold(m), 0.25, 1e-12);
            ck_assert_double_eq_tol(model_meta_metrics(m)->recall, 0.9, 1e-12);
            ck_assert_ptr_nonnull(strstr(model_meta_drift_json(m), "\"machine_type\""));
            model_meta_free(m);
        } else {
            ck_assert_msg(rc != ADT_OK, "%s accepted", files[i]);
        }
        free(text);
    }
    ck_assert_int_eq(model_check_id("version", "1.0-rc1", 64, &e), ADT_OK);
    ck_assert_int_eq(model_check_id("version", "1 0", 64, &e), ADT_EINVAL);
    ck_assert_int_eq(model_check_id("version", "", 64, &e), ADT_EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("models");
    TCase *unit = tcase_create("unit");
    tcase_add_test(unit, average_precision_hand_case);
    tcase_add_test(unit, evaluate_counts);
    tcase_add_test(unit, psi_hand_values);
    tcase_add_test(unit, ks_hand_values);
    tcase_add_test(unit, ref_deciles_and_shift);
    tcase_add_test(unit, psi_unshifted_vs_shifted_samples);
    tcase_add_test(unit, meta_refuses_bad_input);
    suite_add_tcase(s, unit);
    TCase *train = tcase_create("train");
    tcase_set_timeout(train, 240);
    tcase_add_test(train, train_meets_targets);
    tcase_add_test(train, register_approve_deploy_score);
    suite_add_tcase(s, train);
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
