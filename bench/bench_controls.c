/* bench_controls.c: control evaluation at scale.
 *
 *   bench_controls [EVENTS] [BATCH]      (default 1000000 events, batches of 10000)
 *
 * Generates an AIoT plant's events (changes, deployments, incidents, alerts,
 * telemetry batches, verifications, backups; one change in a hundred
 * self-approved) spread over 2026-Q3, and measures in one run:
 *  1. ingestion (ledger_append in batches) without control evaluation: the
 *     baseline;
 *  2. the same ingestion into a second data directory with continuous
 *     evaluation (controls_notify after each commit; the evaluation thread
 *     folds entries in while ingestion goes on; the clock stops when every
 *     entry is evaluated): the cost of evaluation, target <= 20%;
 *  3. evaluation of the period 2026-Q3 over all the events, next to a bare
 *     ledger_scan of the same entries: target < 5 s. */
#include "canon.h"
#include "controls.h"
#include "ledger.h"
#include "raci.h"
#include "rfc3339.h"

#include "bench_util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef AUDITD_SOURCE_DIR
#define AUDITD_SOURCE_DIR "."
#endif

/* A writer allowed for `type`: the one that would send it in production. */
static event_writer bench_writer(const char *type)
{
    static const event_writer order[] = {EVENT_WRITER_PLATFORM, EVENT_WRITER_EDGE, EVENT_WRITER_AUDITD};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (event_writer_may(type, order[i]))
            return order[i];
    return EVENT_WRITER_NONE;
}

static double cpu_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const adt_err *err)
{
    fprintf(stderr, "bench_controls: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

/* Event i of the generated plant, as canonical JSON (members in key order). */
static int gen_event(uint64_t i, char *out, size_t cap, const char **type)
{
    const int64_t base = 1782864000LL; /* 2026-07-01T00:00:00Z */
    char t[32];
    rfc3339_format_s((base + (int64_t)i * 7) * 1000000, t, sizeof t);
    if (i == 0) {
        *type = "profile.change";
        return snprintf(out, cap, "{\"actor\":\"auditd\",\"profile\":\"plc\",\"sha256\":\"00\","
                        "\"time\":\"%s\",\"type\":\"profile.change\",\"version\":\"1\"}", t);
    }
    uint64_t c = i / 20, k = i % 20;
    char sha[24];
    snprintf(sha, sizeof sha, "%016llx", (unsigned long long)(c * 2654435761ull));
    const char *approver = c % 100 == 7 ? "grace" : "alice";
    switch (k) {
    case 0:
        *type = "change.request";
        return snprintf(out, cap, "{\"activity\":\"firmware:plc\",\"actor\":\"grace\","
                        "\"artifact_sha256\":\"%s\",\"change_id\":\"CH-%llu\",\"target\":"
                        "\"firmware:plc@%llu\",\"time\":\"%s\",\"type\":\"change.request\"}",
                        sha, (unsigned long long)c, (unsigned long long)c, t);
    case 1:
        *type = "change.consult";
        return snprintf(out, cap, "{\"activity\":\"firmware:plc\",\"actor\":\"dave\",\"change_id\":"
                        "\"CH-%llu\",\"time\":\"%s\",\"type\":\"change.consult\"}",
                        (unsigned long long)c, t);
    case 2:
        *type = "change.approve";
        return snprintf(out, cap, "{\"activity\":\"firmware:plc\",\"actor\":\"%s\","
                        "\"artifact_sha256\":\"%s\",\"change_id\":\"CH-%llu\",\"time\":\"%s\","
                        "\"type\":\"change.approve\"}", approver, sha, (unsigned long long)c, t);
    case 3:
        *type = "firmware.scan";
        return snprintf(out, cap, "{\"actor\":\"dave\",\"artifact_sha256\":\"%s\",\"critical\":0,"
                        "\"result\":\"pass\",\"scanner\":\"trivy\",\"time\":\"%s\",\"type\":"
                        "\"firmware.scan\"}", sha, t);
    case 4:
        *type = "firmware.deploy";
        return snprintf(out, cap, "{\"activity\":\"firmware:plc\",\"actor\":\"grace\","
                        "\"artifact_sha256\":\"%s\",\"change_id\":\"CH-%llu\",\"device_class\":"
                        "\"plc\",\"provenance\":{\"build_id\":\"b-%llu\",\"source\":\"git:plc\"},"
                        "\"time\":\"%s\",\"type\":\"firmware.deploy\",\"version\":\"%llu\"}",
                        sha, (unsigned long long)c, (unsigned long long)c, t,
                        (unsigned long long)c);
    case 5:
        *type = "notify.inform";
        return snprintf(out, cap, "{\"activity\":\"firmware:plc\",\"actor\":\"erin\",\"ref\":"
                        "\"CH-%llu\",\"time\":\"%s\",\"type\":\"notify.inform\"}",
                        (unsigned long long)c, t);
    case 6:
        *type = "incident.open";
        return snprintf(out, cap, "{\"activity\":\"incident:plant-1\",\"actor\":\"agent:gw-1\","
                        "\"incident_id\":\"IN-%llu\",\"severity\":\"low\",\"summary\":\"PLC "
                        "fault\",\"time\":\"%s\",\"type\":\"incident.open\"}",
                        (unsigned long long)c, t);
    case 7:
    case 8:
    case 9: {
        static const char *const tp[] = {"incident.ack", "incident.resolve", "incident.review"};
        *type = tp[k - 7];
        return snprintf(out, cap, "{\"actor\":\"%s\",\"incident_id\":\"IN-%llu\",\"time\":\"%s\","
                        "\"type\":\"%s\"}", k == 9 ? "dave" : "alice", (unsigned long long)c, t,
                        *type);
    }
    case 10:
        *type = "alert.raise";
        return snprintf(out, cap, "{\"actor\":\"auditd\",\"alert_id\":\"AL-%llu\",\"kind\":"
                        "\"drift\",\"model\":\"fp\",\"time\":\"%s\",\"type\":\"alert.raise\"}",
                        (unsigned long long)c, t);
    case 11:
        *type = "alert.ack";
        return snprintf(out, cap, "{\"actor\":\"carol\",\"alert_id\":\"AL-%llu\",\"time\":\"%s\","
                        "\"type\":\"alert.ack\"}", (unsigned long long)c, t);
    case 18:
        *type = "ledger.verify";
        return snprintf(out, cap, "{\"actor\":\"auditd\",\"problem\":\"\",\"result\":\"pass\","
                        "\"time\":\"%s\",\"tree_size\":%llu,\"type\":\"ledger.verify\"}", t,
                        (unsigned long long)i);
    case 19:
        *type = "backup.taken";
        return snprintf(out, cap, "{\"actor\":\"ops\",\"sha256\":\"%s\",\"target\":\"ledger\","
                        "\"time\":\"%s\",\"type\":\"backup.taken\"}", sha, t);
    default:
        *type = "telemetry.batch";
        return snprintf(out, cap, "{\"accepted\":99,\"actor\":\"agent:gw-1\",\"batch_id\":"
                        "\"B-%llu\",\"devices\":4,\"digest\":\"%s\",\"from\":\"%s\",\"quarantined\":"
                        "1,\"readings\":100,\"time\":\"%s\",\"to\":\"%s\",\"type\":"
                        "\"telemetry.batch\"}", (unsigned long long)i, sha, t, t, t);
    }
}

static char *mkdir_tmp(const char *tag)
{
    const char *root = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/bench-controls-%s-XXXXXX", root && *root ? root : "/tmp",
             tag);
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static void setup(const char *dir)
{
    adt_err err = {0};
    char path[4200];
    snprintf(path, sizeof path, "%s/ledger", dir);
    if (ledger_init(path, "bench.example/controls", &err))
        die("ledger_init", &err);
    FILE *in = fopen(AUDITD_SOURCE_DIR "/policies/examples/plant.xml", "rb");
    snprintf(path, sizeof path, "%s/ledger/%s", dir, RACI_POLICY_FILE);
    FILE *outf = fopen(path, "wb");
    if (!in || !outf)
        die("copying policies/examples/plant.xml", NULL);
    char b[8192];
    size_t n;
    while ((n = fread(b, 1, sizeof b, in)) > 0)
        fwrite(b, 1, n, outf);
    fclose(in);
    fclose(outf);
}

/* Append `total` generated events in batches; with `c`, announce each commit.
 * Returns the seconds spent in ledger_append (+ notify). */
static double ingest(const char *ddir, uint64_t total, size_t batch, controls *c)
{
    adt_err err = {0};
    ledger *lg = NULL;
    if (ledger_open(ddir, LEDGER_RDWR, &lg, &err))
        die("ledger_open", &err);
    ledger_item *items = calloc(batch, sizeof *items);
    char *text = malloc(batch * 1024);
    if (!items || !text)
        die("out of memory", NULL);
    double spent = 0;
    for (uint64_t i = 0; i < total;) {
        size_t n = 0;
        for (; n < batch && i < total; n++, i++) {
            const char *type;
            int len = gen_event(i, text + n * 1024, 1024, &type);
            items[n] = (ledger_item){"bench", type, text + n * 1024, (size_t)len, NULL, 0, false,
                                     bench_writer(type)};
        }
        double t0 = bench_now_s();
        ledger_commit lc;
        if (ledger_append(lg, items, n, &lc, &err))
            die("ledger_append", &err);
        if (c)
            controls_notify(c, &lc);
        spent += bench_now_s() - t0;
    }
    free(items);
    free(text);
    ledger_close(lg);
    return spent;
}

/* The 1-minute load average, so a reader can judge how noisy the run was. */
static const char *loadavg(void)
{
    static char out[32] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(out, sizeof out, f))
            snprintf(out, sizeof out, "?");
        out[strcspn(out, " \n")] = 0;
        fclose(f);
    }
    return out;
}

static int count_cb(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    (void)index;
    *(uint64_t *)ctx += len;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t total = 1000000;
    size_t batch = 10000;
    if (argc > 1)
        total = strtoull(argv[1], NULL, 10);
    if (argc > 2)
        batch = (size_t)strtoull(argv[2], NULL, 10);
    if (total < 100 || batch < 1 || batch > 100000) {
        fprintf(stderr, "usage: bench_controls [EVENTS >= 100] [BATCH 1..100000]\n");
        return 2;
    }
    setenv("AUDITD_RULES_DIR", AUDITD_SOURCE_DIR "/controls/rules", 0);
    char *d1 = mkdir_tmp("base"), *d2 = mkdir_tmp("cont");
    if (!d1 || !d2)
        die("mkdtemp", NULL);
    setup(d1);
    setup(d2);
    char l1[4200], l2[4200];
    snprintf(l1, sizeof l1, "%s/ledger", d1);
    snprintf(l2, sizeof l2, "%s/ledger", d2);
    adt_err err = {0};
    printf("bench_controls: %llu events in batches of %zu\n", (unsigned long long)total, batch);

    /* 1. baseline ingestion */
    double c0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    double base = ingest(l1, total, batch, NULL);
    double base_cpu = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("  ingestion, no evaluation (baseline): %8.0f events/s (%.2f s; CPU %.2f s)\n",
           (double)total / base, base, base_cpu);

    /* 2. ingestion with continuous evaluation */
    controls *c = NULL;
    if (controls_open(l2, &c, &err))
        die("controls_open", &err);
    c0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    double t0 = bench_now_s();
    ingest(l2, total, batch, c);
    double appended = bench_now_s() - t0;
    /* wait for the evaluation thread, then take the status (folds any rest) */
    api_request req = {.method = "GET", .path = "/v1/controls", .role = API_ROLE_AUDITOR,
                       .principal = "bench"};
    api_response resp = {0};
    buf_init(&resp.body, 64u << 20);
    if (controls_api(c, &req, &resp) || resp.status != 200)
        die("GET /v1/controls", NULL);
    double with = bench_now_s() - t0;
    double with_cpu = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    cJSON *st = cJSON_ParseWithLength(resp.body.data, resp.body.len);
    cJSON *sum = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "summary"), "nist80053");
    printf("  ingestion + continuous evaluation:   %8.0f events/s (%.2f s, appends done at "
           "%.2f s; CPU %.2f s, both threads)\n", (double)total / with, with, appended, with_cpu);
    printf("  evaluation cost: %.1f%% of ingestion throughput (target <= 20%%); evaluation CPU "
           "%.1f%% of ingestion CPU\n", 100.0 * (1.0 - base / with),
           100.0 * (with_cpu - base_cpu) / base_cpu);
    printf("  continuous status: nist80053 %.0f satisfied, %.0f not satisfied\n",
           cJSON_GetNumberValue(cJSON_GetObjectItem(sum, "satisfied")),
           cJSON_GetNumberValue(cJSON_GetObjectItem(sum, "not_satisfied")));
    cJSON_Delete(st);
    buf_free(&resp.body);
    controls_close(c);

    /* 3. period evaluation over everything in d1, next to a bare scan */
    ledger *lg = NULL;
    if (ledger_open(l1, LEDGER_RDONLY, &lg, &err))
        die("ledger_open", &err);
    uint64_t bytes = 0;
    t0 = bench_now_s();
    if (ledger_scan(lg, 0, UINT64_MAX, count_cb, &bytes, &err))
        die("ledger_scan", &err);
    double scan = bench_now_s() - t0;
    ledger_close(lg);
    printf("  ledger_scan of %llu entries (%.0f MB), baseline: %.2f s (load average %s)\n",
           (unsigned long long)total, (double)bytes / 1e6, scan, loadavg());
    if (controls_open(l1, &c, &err))
        die("controls_open", &err);
    int64_t from, to;
    if (controls_parse_period("2026-Q3", &from, &to, &err))
        die("period", &err);
    cJSON *doc = NULL;
    t0 = bench_now_s();
    c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    if (controls_evaluate_period(c, from, to, NULL, &doc, &err))
        die("controls_evaluate_period", &err);
    double ev = bench_now_s() - t0, ev_cpu = cpu_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    uint64_t findings = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(doc, "rules"))
    {
        findings += (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "findings_count"));
    }
    printf("  period 2026-Q3 evaluation: %.2f s (CPU %.2f s; %.0f events/s; target < 5 s), "
           "%llu findings\n", ev, ev_cpu, (double)total / ev, (unsigned long long)findings);
    cJSON_Delete(doc);
    controls_close(c);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", d1, d2);
    if (getenv("BENCH_KEEP"))
        printf("  kept %s and %s (BENCH_KEEP)\n", l1, l2);
    else if (system(cmd) != 0)
        fprintf(stderr, "bench_controls: could not remove %s, %s\n", d1, d2);
    free(d1);
    free(d2);
    return 0;
}
