/* bench_report.c: time to produce a quarter's report.
 *
 *   bench_report [EVENTS [READINGS [HISTORY]]]   (defaults 300000, 200000, EVENTS)
 *
 * Builds a data directory with EVENTS ledger events spread over 2026-Q3
 * (machine state changes, incidents, telemetry batch records, drift, access
 * events the report skips) and READINGS simulated CNC readings ingested into
 * the telemetry store (with their hourly rollups), then times
 * `reports_generate` three times: the JSON KPI table cold (no kept fold of
 * the ledger and no kept control engine for the windows yet: the report
 * folds the ledger once and keeps both), the HTML report warm (the kept
 * folds restored, nothing to fold: the target figure), and a month
 * (2026-09, new windows: cold). Then history: twice HISTORY entries (default
 * EVENTS) dated before the windows (2025) are appended, and after each the
 * quarter's HTML report is timed twice: the first folds only the new entries
 * into the kept folds, the second is warm again; a warm report should not
 * grow with the history. The baseline, measured in the same run, is the
 * bare read of the same data: one ledger_scan over every entry and one
 * tstore_window_rows pass over the quarter's readings, with no work per row
 * (the ledger scan is measured again after each history step).
 * docs/reports.md has figures. */
#include "ingest.h"
#include "ledger.h"
#include "log.h"
#include "registry.h"
#include "reports.h"
#include "sim.h"
#include "tstore.h"

#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define Q3_START 1782864000LL /* 2026-07-01T00:00:00Z */
#define Q3_SECONDS (92LL * 86400)

/* A writer allowed for `type`: the one that would send it in production. */
static event_writer bench_writer(const char *type)
{
    static const event_writer order[] = {EVENT_WRITER_PLATFORM, EVENT_WRITER_EDGE, EVENT_WRITER_AUDITD};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (event_writer_may(type, order[i]))
            return order[i];
    return EVENT_WRITER_NONE;
}

static int fail(const char *what, const adt_err *e)
{
    fprintf(stderr, "bench_report: %s: %s\n", what, e ? e->msg : "");
    return 1;
}

static void iso(long long s, char *out, size_t cap)
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The i-th of n synthetic events spread over [start, start + seconds)
 * (canonical JSON: keys sorted); `tag` keeps incident ids apart. */
static int make_event(long i, long n, int machines, long long start, long long seconds, char tag,
                      char *out, size_t cap, const char **type)
{
    long long t = start + (long long)((double)i / (double)n * (double)seconds);
    char ts[32];
    iso(t, ts, sizeof ts);
    int k = (int)(i % 20);
    if (k < 12) { /* machine state: cycles running -> idle -> running -> down -> running */
        static const char *const st[] = {"running", "idle", "running", "down"};
        *type = "machine.state";
        return snprintf(out, cap,
                        "{\"actor\":\"agent:gw-1\",\"device\":\"cnc-%02d\",\"since\":\"%s\","
                        "\"state\":\"%s\",\"time\":\"%s\",\"type\":\"machine.state\"}",
                        (int)((i / 20) % machines) + 1, ts, st[(i / 20 / machines) % 4], ts);
    }
    if (k == 12) {
        *type = "incident.open";
        return snprintf(out, cap,
                        "{\"activity\":\"incident:plant-1\",\"actor\":\"agent:gw-1\","
                        "\"incident_id\":\"INC-%c%ld\",\"severity\":\"%s\",\"summary\":\"bench\","
                        "\"time\":\"%s\",\"type\":\"incident.open\"}",
                        tag, i, (i / 20) % 2 ? "high" : "medium", ts);
    }
    if (k == 13 || k == 14) {
        char ts2[32];
        iso(t + (k == 13 ? 1800 : 7200), ts2, sizeof ts2);
        *type = k == 13 ? "incident.ack" : "incident.resolve";
        return snprintf(out, cap,
                        "{\"actor\":\"alice\",\"incident_id\":\"INC-%c%ld\",\"time\":\"%s\","
                        "\"type\":\"%s\"}",
                        tag, i - (k - 12), ts2, *type);
    }
    if (k == 15) {
        *type = "telemetry.batch";
        return snprintf(out, cap,
                        "{\"accepted\":9990,\"actor\":\"gw-1\",\"batch_id\":%ld,\"devices\":8,"
                        "\"digest\":\"00\",\"from\":\"%s\",\"quarantined\":10,\"readings\":10000,"
                        "\"time\":\"%s\",\"to\":\"%s\",\"type\":\"telemetry.batch\"}",
                        i, ts, ts, ts);
    }
    if (k == 16 && (i / 20) % 50 == 0) {
        *type = "drift.detected";
        return snprintf(out, cap,
                        "{\"actor\":\"auditd\",\"feature\":\"torque_nm\",\"ks\":0.1,"
                        "\"model\":\"failure-predictor\",\"psi\":0.3,\"threshold\":0.2,"
                        "\"time\":\"%s\",\"type\":\"drift.detected\"}",
                        ts);
    }
    *type = "access.review"; /* events the report reads past */
    return snprintf(out, cap,
                    "{\"actor\":\"carol\",\"result\":\"pass\",\"scope\":\"ot\",\"time\":\"%s\","
                    "\"type\":\"access.review\"}",
                    ts);
}

static int row_noop(void *ctx, const char *device, int64_t t, const double *x, size_t nx, int l)
{
    (void)device;
    (void)t;
    (void)x;
    (void)nx;
    (void)l;
    ++*(uint64_t *)ctx;
    return 0;
}

static int scan_noop(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    (void)index;
    (void)leaf;
    *(uint64_t *)ctx += len;
    return 0;
}

static int add_readings(const char *ddir, const char *sdir, ledger *lg, long want, long *got)
{
    adt_err err;
    sim_opts so;
    sim_opts_default(&so);
    so.seed = 3;
    so.days = 92;
    so.machines = (int)(want / (92 * 1440)) + 1;
    if (so.machines > 1000)
        so.machines = 1000;
    so.interval_s = 60;
    sim_stats st;
    if (sim_run(&so, sdir, &st, &err))
        return fail("simulate", &err);
    evsink s = {.lg = lg};
    ingest *g;
    if (ingest_open(ddir, &s, false, &g, &err))
        return fail("ingest open", &err);
    registry_put rp;
    if (registry_profile_put(ingest_db(g), &s, "bench", sim_profile_cnc, strlen(sim_profile_cnc),
                             &rp, &err))
        return fail("profile", &err);
    char path[512];
    snprintf(path, sizeof path, "%s/devices.ndjson", sdir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 1;
    char *devs = calloc(1, 1 << 20);
    size_t dl = fread(devs, 1, (1 << 20) - 1, f);
    fclose(f);
    devs[dl] = 0;
    char *cut = strstr(devs, "{\"device\":\"plc-01\"");
    if (cut)
        *cut = 0;
    if (registry_devices_ndjson(ingest_db(g), &s, "bench", devs, strlen(devs), NULL, &err))
        return fail("devices", &err);
    free(devs);
    ingest_invalidate(g);
    snprintf(path, sizeof path, "%s/telemetry.ndjson", sdir);
    f = fopen(path, "rb");
    if (!f)
        return 1;
    size_t cap = 64u << 20, len = 0;
    char *batch = malloc(cap), line[2048];
    long n = 0, inb = 0;
    while (n < want && fgets(line, sizeof line, f)) {
        if (strncmp(line, "{\"device\":\"cnc-", 15))
            continue;
        size_t l = strlen(line);
        memcpy(batch + len, line, l);
        len += l;
        n++;
        if (++inb == 50000 || n == want) {
            ingest_result r;
            if (ingest_ndjson(g, "bench", batch, len, &r, &err))
                return fail("ingest", &err);
            len = 0;
            inb = 0;
        }
    }
    if (len) {
        ingest_result r;
        if (ingest_ndjson(g, "bench", batch, len, &r, &err))
            return fail("ingest", &err);
    }
    fclose(f);
    free(batch);
    ingest_close(g);
    *got = n;
    return 0;
}

/* Append n events over [start, start + seconds). */
static int fill(ledger *lg, long n, int machines, long long start, long long seconds, char tag)
{
    adt_err err;
    enum { B = 20000 };
    ledger_item *items = calloc(B, sizeof *items);
    char *bufs = malloc((size_t)B * 512);
    if (!items || !bufs)
        return 1;
    for (long i = 0; i < n; i += B) {
        long m = n - i < B ? n - i : B;
        for (long j = 0; j < m; j++) {
            const char *type;
            int w = make_event(i + j, n, machines, start, seconds, tag, bufs + j * 512, 512, &type);
            items[j] = (ledger_item){"agent:bench", type, bufs + j * 512, (size_t)w, NULL, 0, false,
                                     bench_writer(type)};
        }
        ledger_commit cm;
        if (ledger_append(lg, items, (size_t)m, &cm, &err))
            return fail("append", &err);
    }
    free(items);
    free(bufs);
    return 0;
}

/* One report of `period`: wall and CPU seconds. */
static int timed_report(const char *ddir, const char *period, report_format f, double *wall,
                        double *cpu, size_t *bytes)
{
    report_opts o = {0};
    o.data_dir = ddir;
    o.period = period;
    o.format = f;
    buf out;
    adt_err err;
    buf_init(&out, REPORT_MAX_BYTES);
    double t0 = bench_now_s(), c0 = bench_cpu_s();
    if (reports_generate(&o, &out, NULL, &err))
        return fail("report", &err);
    *wall = bench_now_s() - t0;
    *cpu = bench_cpu_s() - c0;
    if (bytes)
        *bytes = out.len;
    buf_free(&out);
    return 0;
}

/* The bare ledger scan: wall and CPU seconds. */
static int bare_scan(const char *ddir, double *wall, double *cpu, uint64_t *size)
{
    adt_err err;
    ledger *lg;
    if (ledger_open(ddir, LEDGER_RDONLY, &lg, &err))
        return fail("ledger open", &err);
    uint64_t bytes = 0;
    double t0 = bench_now_s(), c0 = bench_cpu_s();
    if (ledger_scan(lg, 0, UINT64_MAX, scan_noop, &bytes, &err))
        return fail("scan", &err);
    *wall = bench_now_s() - t0;
    *cpu = bench_cpu_s() - c0;
    ledger_size(lg, size, &err);
    ledger_close(lg);
    return 0;
}

int main(int argc, char **argv)
{
    long events = argc > 1 ? strtol(argv[1], NULL, 10) : 300000;
    long readings = argc > 2 ? strtol(argv[2], NULL, 10) : 200000;
    if (events < 1000)
        events = 1000;
    if (readings < 0)
        readings = 0;
    long history = argc > 3 ? strtol(argv[3], NULL, 10) : events;
    if (history < 0)
        history = 0;
    char dir[] = "/tmp/bench_report.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char ddir[256], sdir[256];
    snprintf(ddir, sizeof ddir, "%s/data", dir);
    snprintf(sdir, sizeof sdir, "%s/sim", dir);
    adt_err err;
    if (ledger_init(ddir, "bench/reports", &err))
        return fail("ledger init", &err);
    ledger *lg;
    if (ledger_open(ddir, LEDGER_RDWR, &lg, &err))
        return fail("ledger open", &err);
    double t0 = bench_now_s();
    int machines = readings ? (int)(readings / (92 * 1440)) + 1 : 8;
    if (fill(lg, events, machines, Q3_START, Q3_SECONDS, 'q'))
        return 1;
    double t_fill = bench_now_s() - t0;
    long got = 0;
    t0 = bench_now_s();
    if (readings && add_readings(ddir, sdir, lg, readings, &got))
        return 1;
    double t_ingest = bench_now_s() - t0;
    uint64_t size = 0;
    ledger_size(lg, &size, &err);

    /* baseline: the bare read of the same data */
    double c0 = bench_cpu_s();
    t0 = bench_now_s();
    uint64_t bytes = 0;
    if (ledger_scan(lg, 0, UINT64_MAX, scan_noop, &bytes, &err))
        return fail("scan", &err);
    double t_scan = bench_now_s() - t0;
    ledger_close(lg);
    uint64_t rows = 0;
    double t_rows = 0;
    tstore *ts;
    if (tstore_open(ddir, &ts, &err) == ADT_OK) {
        const char *feats[] = {"energy_kwh", "produced", "good"};
        t0 = bench_now_s();
        if (tstore_window_rows(ts, Q3_START * 1000000LL, (Q3_START + Q3_SECONDS) * 1000000LL, feats,
                               3, row_noop, &rows, &err))
            return fail("rows", &err);
        t_rows = bench_now_s() - t0;
        tstore_close(ts);
    }
    double c_base = bench_cpu_s() - c0;

    /* cold JSON, warm HTML, a month (new windows: cold) */
    static const char *const periods[3] = {"2026-Q3", "2026-Q3", "2026-09"};
    static const report_format fmts[3] = {REPORT_JSON, REPORT_HTML, REPORT_HTML};
    double tw[3] = {0}, tc[3] = {0};
    log_set_level(LOG_DEBUG); /* reports logs its phase times */
    size_t html_bytes = 0;
    for (int f = 0; f < 3; f++)
        if (timed_report(ddir, periods[f], fmts[f], &tw[f], &tc[f], f == 1 ? &html_bytes : NULL))
            return 1;

    /* history: entries dated before the windows (2025-01-01 .. 2025-12-31 in
     * two halves, in time order), appended; after each half the quarter's
     * report folds only them, then is warm again */
    double hw[2][2] = {{0}}, hc[2][2] = {{0}}, hs[2] = {0}, hsc[2] = {0};
    uint64_t hsize[2] = {0};
    for (int h = 0; h < 2 && history; h++) {
        ledger *l2;
        if (ledger_open(ddir, LEDGER_RDWR, &l2, &err))
            return fail("ledger open", &err);
        long long from = 1735689600LL + h * (182LL * 86400); /* 2025-01-01, 2025-07-02 */
        if (fill(l2, history, machines, from, 182LL * 86400, h ? 'b' : 'a'))
            return 1;
        ledger_close(l2);
        for (int r = 0; r < 2; r++)
            if (timed_report(ddir, "2026-Q3", REPORT_HTML, &hw[h][r], &hc[h][r], NULL))
                return 1;
        if (bare_scan(ddir, &hs[h], &hsc[h], &hsize[h]))
            return 1;
    }

    double t_base = t_scan + t_rows > 0 ? t_scan + t_rows : 1;
    double c_b = c_base > 0 ? c_base : 1;
    printf("report over 2026-Q3: %llu ledger entries (%ld generated events), %ld readings\n",
           (unsigned long long)size, events, got);
    printf("  setup: events appended in %.1f s, readings simulated+ingested in %.1f s\n", t_fill,
           t_ingest);
    printf("  baseline, bare read: ledger_scan %.2f s (%.1f MB) + tstore rows %.2f s (%llu rows) = "
           "%.2f s wall, %.2f CPU s\n",
           t_scan, (double)bytes / 1e6, t_rows, (unsigned long long)rows, t_scan + t_rows, c_base);
    printf("  report JSON, cold (folds the ledger once, keeps the fold and the control engines): "
           "%.2f s wall, %.2f CPU s = %.2fx / %.2fx the bare read\n", tw[0], tc[0], tw[0] / t_base,
           tc[0] / c_b);
    printf("  TARGET report HTML, warm (kept fold and engines, nothing new to fold): %.2f s wall, "
           "%.2f CPU s = %.2fx / %.2fx the bare read (%zu bytes; target < 1 s)\n",
           tw[1], tc[1], tw[1] / t_base, tc[1] / c_b, html_bytes);
    printf("  report HTML for 2026-09 (its windows new: cold): %.2f s wall, %.2f CPU s\n", tw[2], tc[2]);
    for (int h = 0; h < 2 && history; h++)
        printf("  + %ld entries of history (dated 2025, before the windows; ledger now %llu "
               "entries, bare ledger_scan %.2f s wall, %.2f CPU s): report HTML folding them "
               "%.2f s wall, %.2f CPU s; then warm %.2f s wall, %.2f CPU s\n",
               history, (unsigned long long)hsize[h], hs[h], hsc[h], hw[h][0], hc[h][0], hw[h][1],
               hc[h][1]);
    if (getenv("BENCH_REPORT_KEEP")) { /* for profiling: auditd report --data-dir DIR/data */
        printf("  kept %s\n", dir);
        return 0;
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_report: could not remove %s\n", dir);
    return 0;
}
