/* bench_pipeline.c: telemetry ingestion throughput.
 *
 * Measures, in the same run and on the same generated readings (CNC profile,
 * 14 fields, 10 devices):
 *   validated: ingest_ndjson (parse, validate against the profile, pack,
 *              store in telemetry.db with its indexes, batch digest, twins,
 *              hourly rollups, ledger record per batch), batches of 10,000
 *              readings, into a fresh data directory;
 *   baseline:  plain SQLite insert of the same rows (device, time, raw line)
 *              into a table with the same indexes, same pragmas, same batches;
 *   scored:    a model trained on the same readings (ingested once, untimed,
 *              into a training directory) is deployed in a second fresh
 *              directory, and the same readings ingested there, now also
 *              scored (XGBoost, on a thread, in chunks of 2,048 rows) with
 *              predictions and their rollups stored: the same work as
 *              `validated` plus scoring, so the difference is its cost.
 * The three run batch by batch in turn (validated, scored, plain), so that
 * all of them see the same load of a shared machine.
 * Usage: bench_pipeline [READINGS [PATHS]] (default 300000, all three paths);
 * PATHS is a comma-separated subset of validated,plain,scored, to profile
 * one path alone (callgrind: --toggle-collect=timed_span, and
 * --toggle-collect=model_scorer_score for the scoring thread). */
#include "ingest.h"
#include "ledger.h"
#include "lineage.h"
#include "model.h"
#include "registry.h"
#include "sim.h"
#include "sqldb.h"
#include "tdb.h"

#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 10000

static int fail(const char *what, const adt_err *e)
{
    fprintf(stderr, "bench_pipeline: %s: %s\n", what, e ? e->msg : "");
    return 1;
}

/* One data directory being ingested into: its ledger, the sink recording
 * there, the ingestion handle. */
typedef struct target {
    ledger *lg;
    evsink s;
    ingest *g;
} target;

/* A fresh data directory with a ledger, the CNC profile and the CNC devices. */
static int prepare(const char *ddir, const char *devs, target *t)
{
    adt_err err;
    if (ledger_init(ddir, "bench/pipeline", &err) || ledger_open(ddir, LEDGER_RDWR, &t->lg, &err))
        return fail("ledger", &err);
    t->s = (evsink){.lg = t->lg};
    if (ingest_open(ddir, &t->s, true, &t->g, &err))
        return fail("ingest open", &err);
    registry_put rp;
    if (registry_profile_put(ingest_db(t->g), &t->s, "bench", sim_profile_cnc,
                             strlen(sim_profile_cnc), &rp, &err))
        return fail("profile", &err);
    if (registry_devices_ndjson(ingest_db(t->g), &t->s, "bench", devs, strlen(devs), NULL, &err))
        return fail("devices", &err);
    ingest_invalidate(t->g);
    return 0;
}

/* A path's totals over its batches: wall and CPU seconds, and the readings
 * it stored (or scored). */
typedef struct span_total {
    double wall, cpu;
    uint64_t count;
} span_total;

/* Ingest readings [i, j) as one batch, adding its wall and CPU seconds and
 * the readings stored (or scored, with `predictions`) to *t. */
static int ingest_span(ingest *g, const char *data, const long *starts, long i, long j,
                       bool predictions, span_total *t)
{
    adt_err err;
    double t0 = bench_now_s(), c0 = bench_cpu_s();
    ingest_result r;
    if (ingest_ndjson(g, "bench", data + starts[i], (size_t)(starts[j] - starts[i]), &r, &err))
        return fail("ingest", &err);
    t->wall += bench_now_s() - t0;
    t->cpu += bench_cpu_s() - c0;
    t->count += predictions ? r.predictions : r.accepted;
    return 0;
}

/* ingest_span of a timed path (a name of its own for profilers). */
static __attribute__((noinline)) int timed_span(ingest *g, const char *data, const long *starts,
                                                long i, long j, bool predictions, span_total *t)
{
    int rc = ingest_span(g, data, starts, i, j, predictions, t);
    __asm__ volatile("" ::: "memory"); /* not folded into ingest_span */
    return rc;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 300000;
    const char *paths = argc > 2 ? argv[2] : "validated,plain,scored";
    bool do_valid = strstr(paths, "validated") != NULL, do_plain = strstr(paths, "plain") != NULL,
         do_scored = strstr(paths, "scored") != NULL;
    if (n < BATCH)
        n = BATCH;
    char dir[] = "/tmp/bench_pipeline.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char ddir[256], sdir[256];
    snprintf(ddir, sizeof ddir, "%s/data", dir);
    snprintf(sdir, sizeof sdir, "%s/sim", dir);
    adt_err err;
    /* Readings: from the simulator (8 CNC machines, 60 s) so they look real. */
    sim_opts so;
    sim_opts_default(&so);
    so.seed = 1;
    so.days = (int)(n / (8 * 1440)) + 2;
    sim_stats st;
    if (sim_run(&so, sdir, &st, &err))
        return fail("simulate", &err);
    char path[512];
    snprintf(path, sizeof path, "%s/telemetry.ndjson", sdir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 1;
    /* keep only the CNC lines, n of them */
    size_t cap = (size_t)n * 400, len = 0;
    char *data = malloc(cap);
    long *starts = malloc(sizeof *starts * ((size_t)n + 1));
    char line[2048];
    long k = 0;
    while (k < n && fgets(line, sizeof line, f)) {
        if (strncmp(line, "{\"device\":\"cnc-", 15))
            continue;
        size_t l = strlen(line);
        if (len + l > cap)
            break;
        starts[k++] = (long)len;
        memcpy(data + len, line, l);
        len += l;
    }
    fclose(f);
    starts[k] = (long)len;
    n = k;

    snprintf(path, sizeof path, "%s/devices.ndjson", sdir);
    f = fopen(path, "rb");
    char devs[8192];
    size_t dl = fread(devs, 1, sizeof devs - 1, f);
    fclose(f);
    devs[dl] = 0;
    /* only the cnc devices (the profiles of the others are not loaded) */
    char *cut = strstr(devs, "{\"device\":\"plc-01\"");
    if (cut)
        *cut = 0;

    /* The model: trained on the readings ingested once, untimed, into a
     * training directory. */
    char tdir[300];
    snprintf(tdir, sizeof tdir, "%s/train", dir);
    target tr;
    if (prepare(tdir, devs, &tr))
        return 1;
    span_total untimed = {0};
    for (long i = 0; i < n; i += BATCH)
        if (ingest_span(tr.g, data, starts, i, i + BATCH < n ? i + BATCH : n, false, &untimed))
            return 1;
    ingest_close(tr.g);
    sqlite3 *tdb;
    if (tdb_open(tdir, true, &tdb, &err))
        return fail("telemetry.db", &err);
    lineage_dataset ds;
    /* every reading: from the epoch to the end of year 9999 */
    if (lineage_dataset_define(tdb, &tr.s, "bench", 0, 253402300800000000LL - 1, NULL, 0, &ds, &err))
        return fail("dataset", &err);
    sqldb_close(tdb);
    ledger_close(tr.lg);
    char mpath[512];
    snprintf(mpath, sizeof mpath, "%s/model.json", dir);
    model_train_opts mo = {"failure-predictor", ds.id, mpath, 1, 20, 0, 0, 0, 0};
    model_train_result mr;
    if (model_train_dataset(tdir, &mo, "bench", &mr, &err))
        return fail("train", &err);

    /* validated: a fresh directory, no model deployed */
    target vt;
    if (prepare(ddir, devs, &vt))
        return 1;
    /* scored: a fresh directory with the model deployed */
    char sddir[300];
    snprintf(sddir, sizeof sddir, "%s/scored", dir);
    target sct;
    if (prepare(sddir, devs, &sct))
        return 1;
    ingest_close(sct.g);
    if (model_register(sddir, mpath, "failure-predictor", "1", ds.id, "bench", NULL, &err) ||
        model_approve(sddir, "failure-predictor", "1", "carol", "CHG-1", NULL, &err) ||
        model_deploy(sddir, "failure-predictor", "1", "carol", "CHG-1", "carol", NULL, &err))
        return fail("deploy", &err);
    if (ingest_open(sddir, &sct.s, true, &sct.g, &err))
        return fail("ingest open", &err);
    /* baseline: plain inserts of the same rows */
    char bpath[512];
    snprintf(bpath, sizeof bpath, "%s/plain.db", dir);
    sqlite3 *db;
    if (sqlite3_open(bpath, &db) != SQLITE_OK)
        return 1;
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;"
                 "CREATE TABLE plain(id INTEGER PRIMARY KEY, device TEXT NOT NULL, "
                 "time TEXT NOT NULL, line TEXT NOT NULL);"
                 "CREATE INDEX plain_dt ON plain(device, time);"
                 "CREATE INDEX plain_t ON plain(time);",
                 NULL, NULL, NULL);
    sqlite3_stmt *ins;
    sqlite3_prepare_v2(db, "INSERT INTO plain(device, time, line) VALUES(?,?,?)", -1, &ins,
                       NULL);

    /* The three are run batch by batch in turn (validated, scored, plain), so
     * that each sees the same load of this shared machine. */
    span_total valid = {0}, inf = {0}, plain = {0};
    for (long i = 0; i < n; i += BATCH) {
        long j = i + BATCH < n ? i + BATCH : n;
        if ((do_valid && timed_span(vt.g, data, starts, i, j, false, &valid)) ||
            (do_scored && timed_span(sct.g, data, starts, i, j, true, &inf)))
            return 1;
        if (!do_plain)
            continue;
        double t0 = bench_now_s(), c0 = bench_cpu_s();
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (long q = i; q < j; q++) {
            const char *l = data + starts[q];
            /* device and time sit at fixed offsets in these lines */
            sqlite3_reset(ins);
            sqlite3_bind_text(ins, 1, l + 11, 6, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, l + 27, 20, SQLITE_STATIC);
            sqlite3_bind_text(ins, 3, l, (int)(starts[q + 1] - starts[q] - 1), SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE) {
                fprintf(stderr, "baseline insert: %s\n", sqlite3_errmsg(db));
                return 1;
            }
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        plain.wall += bench_now_s() - t0;
        plain.cpu += bench_cpu_s() - c0;
    }
    sqlite3_finalize(ins);
    sqlite3_close(db);
    ingest_close(vt.g);
    ledger_close(vt.lg);
    ingest_close(sct.g);
    ledger_close(sct.lg);

    printf("pipeline ingest: %ld readings in batches of %d\n", n, BATCH);
    printf("  (wall clock includes fsync waits; per CPU second is the figure that does not "
           "depend on the disk and the machine's load)\n");
    if (do_valid)
        printf("  validated+stored+rollups+ledger: %10.0f readings/s wall (%.2f s), %10.0f per "
               "CPU s; %llu stored\n",
               n / valid.wall, valid.wall, n / valid.cpu, (unsigned long long)valid.count);
    if (do_plain)
        printf("  baseline plain insert:   %10.0f readings/s wall (%.2f s), %10.0f per CPU s\n",
               n / plain.wall, plain.wall, n / plain.cpu);
    if (do_valid && do_plain)
        printf("  ratio validated/plain:   %.2f wall, %.2f CPU\n", plain.wall / valid.wall,
               plain.cpu / valid.cpu);
    if (do_scored)
        printf("  the same, also scored:   %10.0f readings/s wall (%.2f s), %10.0f per CPU s; "
               "%llu predictions (target >= 150000/s wall: %s)\n",
               n / inf.wall, inf.wall, n / inf.cpu, (unsigned long long)inf.count,
               n / inf.wall >= 150000 ? "met" : "not met");
    if (do_scored && do_plain)
        printf("  ratio scored/plain:      %.2f wall, %.2f CPU\n", plain.wall / inf.wall,
               plain.cpu / inf.cpu);
    if (do_valid && do_scored)
        printf("  scoring adds:            %.0f%% wall, %.0f%% CPU (target <= 15%%: %s)\n",
               100.0 * (inf.wall / valid.wall - 1), 100.0 * (inf.cpu / valid.cpu - 1),
               inf.wall <= 1.15 * valid.wall && inf.cpu <= 1.15 * valid.cpu ? "met" : "not met");
    char cmd[600];
    (void)mr;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_pipeline: could not remove %s\n", dir);
    free(data);
    free(starts);
    return 0;
}
