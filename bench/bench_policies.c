/* bench_policies.c: the cost of RACI evaluation and control-store lookups.
 *
 *   bench_policies [EVENTS]     (default 1000000)
 *
 *  1. RACI: EVENTS change/deploy/inform/incident events of the plant policy
 *     (policies/examples/plant.xml), parsed with cJSON and fed to
 *     raci_eval_feed_json, next to the baseline of parsing them alone (the
 *     rules engine parses every payload anyway).
 *  2. Catalog: catalog_in_scope on the seeded store, next to the baseline of
 *     catalog_normalize_id alone. */
#include "catalog.h"
#include "raci.h"
#include "rfc3339.h"

#include "bench_util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef AUDITD_SOURCE_DIR
#define AUDITD_SOURCE_DIR "."
#endif

/* Event i: a firmware change cycle of 5 events, one change in 50 self-approved. */
static void gen(uint64_t i, char *out, size_t cap)
{
    static const char *const step[] = {"change.request", "change.consult", "change.approve",
                                       "firmware.deploy", "notify.inform"};
    static const char *const actor[] = {"grace", "dave", "alice", "grace", "erin"};
    uint64_t c = i / 5, k = i % 5;
    char t[32];
    rfc3339_format_s((INT64_C(1782864000) + (int64_t)i * 60) * 1000000, t, sizeof t);
    const char *who = (k == 2 && c % 50 == 0) ? "grace" : actor[k];
    snprintf(out, cap,
             "{\"activity\":\"firmware:plc\",\"actor\":\"%s\",\"change_id\":\"chg-%llu\","
             "\"time\":\"%s\",\"type\":\"%s\"}",
             who, (unsigned long long)c, t, step[k]);
}

static void count(void *ctx, const raci_finding *f)
{
    (void)f;
    (*(uint64_t *)ctx)++;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    if (n == 0)
        n = 1;
    adt_err err;
    raci_policy *p;
    if (raci_load(AUDITD_SOURCE_DIR "/policies/examples/plant.xml", NULL, NULL, &p, &err)) {
        fprintf(stderr, "bench_policies: %s\n", err.msg);
        return 1;
    }
    char ev[512];
    double t0 = bench_now_s();
    for (uint64_t i = 0; i < n; i++) {
        gen(i, ev, sizeof ev);
        cJSON_Delete(cJSON_Parse(ev));
    }
    double base = bench_now_s() - t0;
    uint64_t findings = 0;
    raci_eval *e;
    raci_eval_new(p, count, &findings, &e, &err);
    t0 = bench_now_s();
    for (uint64_t i = 0; i < n; i++) {
        gen(i, ev, sizeof ev);
        cJSON *j = cJSON_Parse(ev);
        raci_eval_feed_json(e, i, j, &err);
        cJSON_Delete(j);
    }
    raci_eval_advance(e, INT64_MAX / 2, &err);
    double with = bench_now_s() - t0;
    printf("raci: %llu events: parse only %.3f s (%.0f ev/s) | parse + evaluate %.3f s "
           "(%.0f ev/s), overhead %.0f%%, %llu findings\n",
           (unsigned long long)n, base, (double)n / base, with, (double)n / with,
           100.0 * (with - base) / base, (unsigned long long)findings);
    raci_eval_free(e);
    raci_free(p);

    catalog *c;
    if (catalog_open(NULL, &c, &err)) {
        fprintf(stderr, "bench_policies: %s\n", err.msg);
        return 1;
    }
    static const char *const ids[] = {"AC-2", "CM-3(2)", "SI-7", "A.8.15", "A.5.23", "IR-4"};
    uint64_t m = n / 5, hits = 0;
    char out[CATALOG_ID_MAX];
    t0 = bench_now_s();
    for (uint64_t i = 0; i < m; i++)
        hits += catalog_normalize_id(ids[i % 6], out, sizeof out) == ADT_OK;
    base = bench_now_s() - t0;
    t0 = bench_now_s();
    for (uint64_t i = 0; i < m; i++)
        hits += catalog_in_scope(c, NULL, ids[i % 6]);
    with = bench_now_s() - t0;
    printf("catalog: %llu lookups: normalise only %.3f s | catalog_in_scope %.3f s "
           "(%.0f lookups/s, %.1f us each)\n",
           (unsigned long long)m, base, with, (double)m / with, 1e6 * with / (double)m);
    catalog_close(c);
    return hits == 0;
}
