/* bench_models.c: what scoring with the deployed model adds to ingestion.
 *
 * The same simulated plant telemetry (auditd simulate's generator) is ingested
 * in batches of 1,000 readings into fresh data directories, alternately without
 * scoring (the baseline) and with a deployed XGBoost model scoring every CNC
 * reading, and the pure scorer cost is measured alone. Prints seconds per run,
 * microseconds per reading and the overhead in percent (target: <= 30 %). */
#include "afile.h"
#include "ingest.h"
#include "ledger.h"
#include "model.h"
#include "registry.h"
#include "rfc3339.h"
#include "sim.h"
#include "tsim.h"

#include "bench_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1000
#define RUNS 5

static void die(const char *what, const adt_err *e)
{
    fprintf(stderr, "bench_models: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

static char *slurp(const char *path, size_t *len)
{
    buf b;
    buf_init(&b, 1u << 30);
    adt_err e;
    if (afile_read(path, 1u << 30, &b, &e))
        die(path, &e);
    return buf_steal(&b, len);
}

/* A data dir with the plant's profiles and devices loaded (and, with
 * `deploy`, a deployed model). */
static void prepare(const char *dir, const char *simdir, int deploy)
{
    adt_err e;
    if (ledger_init(dir, "bench.local/models", &e))
        die("ledger_init", &e);
    ledger *lg;
    if (ledger_open(dir, LEDGER_RDWR, &lg, &e))
        die("ledger_open", &e);
    evsink s = {.lg = lg};
    ingest *g;
    if (ingest_open(dir, &s, false, &g, &e))
        die("ingest_open", &e);
    const char *profs[] = {"cnc-mill", "legacy-plc", "edge-camera"};
    for (size_t i = 0; i < 3; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/profiles/%s.json", simdir, profs[i]);
        size_t len;
        char *json = slurp(p, &len);
        registry_put res;
        if (registry_profile_put(ingest_db(g), &s, "bench", json, len, &res, &e))
            die(p, &e);
        free(json);
    }
    char p[4096];
    snprintf(p, sizeof p, "%s/devices.ndjson", simdir);
    size_t len, count;
    char *devs = slurp(p, &len);
    if (registry_devices_ndjson(ingest_db(g), &s, "bench", devs, len, &count, &e))
        die("devices", &e);
    free(devs);
    ingest_close(g);
    ledger_close(lg);
    if (!deploy)
        return;
    model_rows *rows;
    if (model_rows_new(&rows, &e))
        die("rows", &e);
    tsim sg;
    tsim_init(&sg, 11);
    for (int i = 0; i < 4000; i++) {
        double raw[MODEL_NRAW];
        int y = tsim_row(&sg, raw, 0);
        char key[32];
        int kl = snprintf(key, sizeof key, "b|%d", i);
        if (model_rows_add(rows, key, (size_t)kl, raw, y, &e))
            die("rows", &e);
    }
    char mf[4096];
    snprintf(mf, sizeof mf, "%s/bench-model.json", dir);
    model_train_opts o = {.name = "failure-predictor", .dataset = "bench", .out_path = mf,
                          .seed = 1};
    model_train_result r;
    if (model_train(rows, &o, &r, &e))
        die("train", &e);
    model_rows_free(rows);
    if (model_register(dir, mf, "failure-predictor", "1", "bench", "bench", NULL, &e) ||
        model_approve(dir, "failure-predictor", "1", "carol", "CHG-B", NULL, &e) ||
        model_deploy(dir, "failure-predictor", "1", "carol", "CHG-B", "carol", NULL, &e))
        die("register/approve/deploy", &e);
}

/* Ingest all of `tel` in batches; returns seconds; OUT: readings, predictions. */
static double ingest_all(const char *dir, const char *tel, size_t len, int score,
                         unsigned long long *readings, unsigned long long *preds)
{
    adt_err e;
    ledger *lg;
    if (ledger_open(dir, LEDGER_RDWR, &lg, &e))
        die("ledger_open", &e);
    evsink s = {.lg = lg};
    ingest *g;
    if (ingest_open(dir, &s, score, &g, &e))
        die("ingest_open", &e);
    *readings = *preds = 0;
    double t0 = bench_now_s();
    size_t off = 0;
    while (off < len) {
        size_t end = off;
        for (int lines = 0; end < len && lines < BATCH; end++)
            if (tel[end] == '\n')
                lines++;
        ingest_result res;
        if (ingest_ndjson(g, "bench", tel + off, end - off, &res, &e))
            die("ingest", &e);
        *readings += res.readings;
        *preds += res.predictions;
        off = end;
    }
    double t = bench_now_s() - t0;
    ingest_close(g);
    ledger_close(lg);
    return t;
}

int main(void)
{
    char root[] = "/tmp/bench-models-XXXXXX";
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    char simdir[4096];
    snprintf(simdir, sizeof simdir, "%s/sim", root);
    sim_opts so;
    sim_opts_default(&so);
    so.days = 2;
    sim_stats st;
    adt_err e;
    if (sim_run(&so, simdir, &st, &e))
        die("sim_run", &e);
    char tp[4200];
    snprintf(tp, sizeof tp, "%s/telemetry.ndjson", simdir);
    size_t tlen;
    char *tel = slurp(tp, &tlen);

    double base[RUNS], with[RUNS];
    unsigned long long readings = 0, preds = 0, r2 = 0, p2 = 0;
    for (int run = 0; run < RUNS; run++) {
        char a[4200], b[4200];
        snprintf(a, sizeof a, "%s/base-%d", root, run);
        snprintf(b, sizeof b, "%s/scored-%d", root, run);
        prepare(a, simdir, 0);
        prepare(b, simdir, 1);
        base[run] = ingest_all(a, tel, tlen, 0, &readings, &preds);
        with[run] = ingest_all(b, tel, tlen, 1, &r2, &p2);
    }
    if (p2 == 0) {
        fprintf(stderr, "bench_models: no reading was scored: is a model deployed and do the "
                        "profiles carry the scorer's features?\n");
        return 1;
    }
    /* The scorer alone, on the CNC readings' feature rows. */
    model_scorer *sc;
    char b0[4200];
    snprintf(b0, sizeof b0, "%s/scored-0", root);
    if (model_scorer_open(b0, &sc, &e))
        die("scorer", &e);
    double *x = malloc(BATCH * MODEL_NRAW * sizeof *x);
    float *prob = malloc(BATCH * sizeof *prob);
    tsim sg;
    tsim_init(&sg, 5);
    for (int i = 0; i < BATCH; i++)
        tsim_row(&sg, x + i * MODEL_NRAW, 0);
    int reps = (int)(p2 / BATCH) + 1;
    double t0 = bench_now_s();
    for (int k = 0; k < reps * 5; k++)
        if (model_scorer_score(sc, x, BATCH, MODEL_NRAW, prob, &e))
            die("score", &e);
    double score_us = (bench_now_s() - t0) * 1e6 / ((double)reps * 5 * BATCH);
    model_scorer_close(sc);
    free(x);
    free(prob);

    double bmin = base[0], wmin = with[0];
    for (int i = 1; i < RUNS; i++) {
        if (base[i] < bmin)
            bmin = base[i];
        if (with[i] < wmin)
            wmin = with[i];
    }
    printf("bench_models: %llu readings (%llu scored), batches of %d, best of %d runs\n",
           readings, p2, BATCH, RUNS);
    printf("  ingest without scoring (baseline): %.3f s  %.2f us/reading\n", bmin,
           bmin * 1e6 / (double)readings);
    printf("  ingest with the deployed model:    %.3f s  %.2f us/reading\n", wmin,
           wmin * 1e6 / (double)readings);
    printf("  scoring overhead: %+.1f %% of ingestion (target <= 30 %%)\n",
           (wmin - bmin) / bmin * 100);
    printf("  scorer alone: %.3f us/row (batch %d, one DMatrix and one prediction per batch)"
           " = %.1f %% of baseline ingestion per reading\n",
           score_us, BATCH, score_us / (bmin * 1e6 / (double)readings) * 100);
    double score_s = score_us * (double)p2 / 1e6;
    printf("  of the overhead, model inference is %.3f s (%.0f %%); the rest is the pipeline's\n"
           "  handling of predictions (two columns of the reading's row, the rollup, the\n"
           "  summary event)\n",
           score_s, (wmin - bmin) > 0 ? score_s / (wmin - bmin) * 100 : 0);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_models: could not remove %s\n", root);
    free(tel);
    return 0;
}
