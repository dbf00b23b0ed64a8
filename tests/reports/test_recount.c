/* test_recount.c: every KPI of the report recomputed independently.
 *
 * One small plant is simulated (auditd simulate, 28 days from 2026-06-17, the
 * programme going live on 2 Jul) and fed as an operator would: the real
 * binary loads the policy, scope, profiles and devices, ingests the telemetry
 * in two parts around a model that is trained, approved and deployed
 * in between (with --time), replays the quarantine after a profile fix and
 * runs a drift check; the plant's events go into the ledger as their agents'
 * writers. The report (`auditd report --format json`) for 2026-07-01..14
 * (previous and baseline period 2026-06-17..30) is then checked KPI by KPI
 * against a recount written here from the raw inputs: the simulator's files
 * (readings and events, parsed line by line), what ingestion stored
 * (telemetry.db's predictions, read with SQL), the ledger's own entries and
 * the control evaluation's document. The recount shares no code with
 * reports/: it guards the computation (and issue 12's move of it onto
 * rollups) with a second implementation of each definition. */
#include "ledger.h"
#include "event.h"
#include "canon.h"
#include "rfc3339.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US 1000000LL
#define DAY (86400LL * US)
#define HOUR (3600LL * US)

static char *dir;
static cJSON *report;  /* the report's KPI document */
static cJSON *ctl[2];  /* control evaluation of the period and of the previous period */

/* the windows: period, previous (= baseline) */
static int64_t win_from[2], win_to[2];

static int64_t T(const char *s)
{
    int64_t t = 0;
    ck_assert_msg(rfc3339_parse(s, strlen(s), &t) == ADT_OK, "time %s", s);
    return t;
}

static int win_of(int64_t t)
{
    for (int w = 0; w < 2; w++)
        if (t >= win_from[w] && t < win_to[w])
            return w;
    return -1;
}

static void run_ok(const char *in, size_t inlen, char **out, const char *const *args)
{
    char *o = NULL, *e = NULL;
    int rc = ts_run(in, inlen, &o, &e, args);
    ck_assert_msg(rc == 0, "auditd %s %s failed (%d): %s %s", args[0], args[1] ? args[1] : "", rc,
                  o ? o : "", e ? e : "");
    if (out)
        *out = o;
    else
        free(o);
    free(e);
}

/* ---- the raw inputs, read here --------------------------------------------- */

typedef struct reading {
    char device[16];
    int64_t t;
    double energy, produced, good; /* NAN if absent */
    int failure;                   /* -1 absent */
    double motor_current;          /* NAN if absent */
    bool exposure;                 /* sends exposure_ms */
} reading;

static reading *rd;
static size_t nrd;

typedef struct sev {
    char type[32], device[16], state[16], incident[16], severity[16];
    int64_t t;
} sev;

static sev *ev;
static size_t nev;

static void read_sim(const char *simdir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/telemetry.ndjson", simdir);
    size_t len;
    char *text = ts_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    size_t cap = 1 << 16;
    rd = calloc(cap, sizeof *rd);
    for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = 0;
        cJSON *j = cJSON_Parse(line);
        ck_assert_ptr_nonnull(j);
        if (nrd == cap)
            rd = realloc(rd, (cap *= 2) * sizeof *rd);
        reading *r = &rd[nrd++];
        snprintf(r->device, sizeof r->device, "%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(j, "device")));
        r->t = T(cJSON_GetStringValue(cJSON_GetObjectItem(j, "time")));
        const cJSON *v = cJSON_GetObjectItem(j, "values");
        const cJSON *x;
        r->energy = (x = cJSON_GetObjectItem(v, "energy_kwh")) ? x->valuedouble : NAN;
        r->produced = (x = cJSON_GetObjectItem(v, "produced")) ? x->valuedouble : NAN;
        r->good = (x = cJSON_GetObjectItem(v, "good")) ? x->valuedouble : NAN;
        r->failure = (x = cJSON_GetObjectItem(v, "failure")) ? (int)x->valuedouble : -1;
        r->motor_current = (x = cJSON_GetObjectItem(v, "motor_current_a")) ? x->valuedouble : NAN;
        r->exposure = cJSON_GetObjectItem(v, "exposure_ms") != NULL;
        cJSON_Delete(j);
    }
    free(text);

    snprintf(path, sizeof path, "%s/events.ndjson", simdir);
    text = ts_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    cap = 4096;
    ev = calloc(cap, sizeof *ev);
    for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = 0;
        cJSON *j = cJSON_Parse(line);
        ck_assert_ptr_nonnull(j);
        if (nev == cap)
            ev = realloc(ev, (cap *= 2) * sizeof *ev);
        sev *e = &ev[nev++];
        memset(e, 0, sizeof *e);
        const char *s;
#define CP(field, key)                                                                           \
    if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(j, key))))                                 \
        snprintf(e->field, sizeof e->field, "%s", s);
        CP(type, "type");
        CP(device, "device");
        CP(state, "state");
        CP(incident, "incident_id");
        CP(severity, "severity");
#undef CP
        e->t = T(cJSON_GetStringValue(cJSON_GetObjectItem(j, "time")));
        cJSON_Delete(j);
    }
    free(text);
}

/* Append the simulator's events to the ledger as their agents would (the
 * writer each type allows), in one transaction. */
static void append_events(const char *simdir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/events.ndjson", simdir);
    size_t len;
    char *text = ts_read_file(path, &len);
    ledger *lg;
    adt_err e = {0};
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &e), ADT_OK);
    size_t n = 0, cap = 8192;
    ledger_item *items = calloc(cap, sizeof *items);
    buf *canon = calloc(cap, sizeof *canon);
    for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        ck_assert_uint_lt(n, cap);
        buf_init(&canon[n], 1 << 16);
        event_info info;
        ck_assert_msg(event_validate(line, (size_t)(nl - line), NULL, &canon[n], &info, &e) ==
                          ADT_OK,
                      "%s", e.msg);
        static char types[8192][EVENT_TYPE_MAX + 1];
        snprintf(types[n], sizeof types[n], "%s", info.type);
        items[n] = (ledger_item){"agent:sim", types[n], canon[n].data, canon[n].len, NULL, 0, false,
                                 (event_writer)ts_writer_for(types[n])};
        n++;
    }
    ledger_commit cm;
    ck_assert_msg(ledger_append(lg, items, n, &cm, &e) == ADT_OK, "%s", e.msg);
    ledger_close(lg);
    for (size_t i = 0; i < n; i++)
        buf_free(&canon[i]);
    free(canon);
    free(items);
    free(text);
}

/* A drift.detected as auditd's drift monitor writes it. */
static void append_drift(const char *time, const char *feature)
{
    char j[512];
    snprintf(j, sizeof j,
             "{\"type\":\"drift.detected\",\"time\":\"%s\",\"actor\":\"carol\",\"model\":"
             "\"failure-predictor\",\"version\":\"1\",\"feature\":\"%s\",\"psi\":0.31,\"ks\":0.12,"
             "\"ks_p\":0.001,\"threshold\":0.2,\"alert_id\":\"t-%s\"}",
             time, feature, feature);
    buf c;
    buf_init(&c, 1 << 16);
    adt_err e = {0};
    event_info info;
    ck_assert_int_eq(event_validate(j, strlen(j), NULL, &c, &info, &e), ADT_OK);
    ledger *lg;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &e), ADT_OK);
    ledger_item it = {"auditd:models", "drift.detected", c.data, c.len, NULL, 0, false,
                      EVENT_WRITER_AUDITD};
    ledger_commit cm;
    ck_assert_msg(ledger_append(lg, &it, 1, &cm, &e) == ADT_OK, "%s", e.msg);
    ledger_close(lg);
    buf_free(&c);
}

/* Write the readings with time in [a, b) to `path`. */
static void write_part(const char *simdir, const char *path, int64_t a, int64_t b)
{
    char src[1200];
    snprintf(src, sizeof src, "%s/telemetry.ndjson", simdir);
    size_t len;
    char *text = ts_read_file(src, &len);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    size_t i = 0;
    for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1, i++)
        if (rd[i].t >= a && rd[i].t < b)
            fwrite(line, 1, (size_t)(nl - line) + 1, f);
    fclose(f);
    free(text);
}

/* ---- the fixture: the plant fed as an operator would ---------------------- */

static uint64_t ingest_quarantined; /* sum of "quarantined" over the ingestion results */

static void ingest(const char *file)
{
    char *out = NULL;
    const char *a[] = {"telemetry", "ingest", file, "--data-dir", dir, "--batch", "2000", NULL};
    run_ok(NULL, 0, &out, a);
    for (char *line = out, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = 0;
        cJSON *j = cJSON_Parse(line);
        ck_assert_ptr_nonnull(j);
        ingest_quarantined += (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "quarantined"));
        cJSON_Delete(j);
    }
    free(out);
}

static char kpis_path[1024];

static void setup(void)
{
    dir = ts_tmpdir("recount");
    win_from[0] = T("2026-07-01T00:00:00Z");
    win_to[0] = T("2026-07-15T00:00:00Z");
    win_from[1] = T("2026-06-17T00:00:00Z");
    win_to[1] = T("2026-07-01T00:00:00Z");
    char sim[1024], policy[1024], soa[1024], part[1024];
    snprintf(sim, sizeof sim, "%s/sim", dir);
    snprintf(policy, sizeof policy, "%s/policies/examples/plant.xml", AUDITD_SOURCE_DIR);
    snprintf(soa, sizeof soa, "%s/controls/data/soa-example.csv", AUDITD_SOURCE_DIR);
    const char *init[] = {"init", "--data-dir", dir, "--origin", "test/recount", NULL};
    run_ok(NULL, 0, NULL, init);
    const char *pol[] = {"policy", "load", policy, "--data-dir", dir, "--actor", "frank", NULL};
    run_ok(NULL, 0, NULL, pol);
    const char *scope[] = {"controls", "scope", "--soa", soa, "--data-dir", dir, "--actor", "frank",
                           NULL};
    run_ok(NULL, 0, NULL, scope);
    const char *simu[] = {"simulate", "--seed", "7", "--days", "28", "--start", "2026-06-17",
                          "--interval", "600", "--go-live", "2026-07-02T06:00:00Z", "--out", sim,
                          NULL};
    run_ok(NULL, 0, NULL, simu);
    read_sim(sim);
    char profiles[3][1100], devices[1100], fix[1100];
    static const char *const pn[3] = {"cnc-mill", "legacy-plc", "edge-camera"};
    for (int i = 0; i < 3; i++)
        snprintf(profiles[i], sizeof profiles[i], "%s/profiles/%s.json", sim, pn[i]);
    const char *pl[] = {"profile", "load", profiles[0], profiles[1], profiles[2], "--data-dir",
                        dir, NULL};
    run_ok(NULL, 0, NULL, pl);
    snprintf(devices, sizeof devices, "%s/devices.ndjson", sim);
    const char *dr[] = {"device", "register", "--file", devices, "--data-dir", dir, NULL};
    run_ok(NULL, 0, NULL, dr);
    append_events(sim);
    /* a drift.detected before any model was deployed: not a drift event */
    append_drift("2026-06-25T12:00:00Z", "air_temp_k");

    /* before the deployment */
    snprintf(part, sizeof part, "%s/part1.ndjson", dir);
    write_part(sim, part, 0, T("2026-07-02T06:00:00Z"));
    ingest(part);
    char *out = NULL;
    const char *ds[] = {"dataset", "define", "--from", "2026-06-17", "--to", "2026-07-01",
                        "--data-dir", dir, NULL};
    run_ok(NULL, 0, &out, ds);
    cJSON *dj = cJSON_Parse(out);
    char dataset[80];
    snprintf(dataset, sizeof dataset, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(dj, "dataset")));
    cJSON_Delete(dj);
    free(out);
    char model[1100];
    snprintf(model, sizeof model, "%s/model.json", dir);
    const char *tr[] = {"model", "train", "--dataset", dataset, "--out", model, "--data-dir", dir,
                        "--time", "2026-07-01T09:00:00Z", NULL};
    run_ok(NULL, 0, NULL, tr);
    const char *rg[] = {"model", "register", model, "--name", "failure-predictor", "--version",
                        "1", "--dataset", dataset, "--data-dir", dir, "--time",
                        "2026-07-01T10:00:00Z", NULL};
    run_ok(NULL, 0, NULL, rg);
    const char *ap[] = {"model", "approve", "failure-predictor", "--version", "1", "--approver",
                        "carol", "--change-id", "CHG-ML-1", "--data-dir", dir, "--time",
                        "2026-07-01T15:00:00Z", NULL};
    run_ok(NULL, 0, NULL, ap);
    const char *dp[] = {"model", "deploy", "failure-predictor", "--version", "1", "--actor",
                        "agent:platform", "--change-id", "CHG-ML-1", "--data-dir", dir, "--time",
                        "2026-07-02T06:00:00Z", NULL};
    run_ok(NULL, 0, NULL, dp);
    /* after it: scored at ingestion */
    snprintf(part, sizeof part, "%s/part2.ndjson", dir);
    write_part(sim, part, T("2026-07-02T06:00:00Z"), INT64_MAX);
    ingest(part);
    /* the camera's fixed profile, then the replay */
    snprintf(fix, sizeof fix, "%s/fixes/edge-camera.json", sim);
    const char *pf[] = {"profile", "load", fix, "--data-dir", dir, NULL};
    run_ok(NULL, 0, NULL, pf);
    const char *rp[] = {"telemetry", "quarantine", "replay", "--data-dir", dir, NULL};
    run_ok(NULL, 0, NULL, rp);
    const char *dc[] = {"drift", "--model", "failure-predictor", "--from", "2026-07-02T06:00:00Z",
                        "--to", "2026-07-14T23:00:00Z", "--actor", "carol", "--time",
                        "2026-07-14T23:00:00Z", "--data-dir", dir, NULL};
    run_ok(NULL, 0, NULL, dc);
    /* and one detection in the period for certain */
    append_drift("2026-07-10T12:00:00Z", "torque_nm");

    /* the KPI definitions with the previous fortnight as the baseline */
    size_t kl;
    char src[1100];
    snprintf(src, sizeof src, "%s/reports/kpis.json", AUDITD_SOURCE_DIR);
    char *k = ts_read_file(src, &kl);
    char *q = strstr(k, "\"2026-Q2\"");
    ck_assert_ptr_nonnull(q);
    snprintf(kpis_path, sizeof kpis_path, "%s/kpis.json", dir);
    FILE *f = fopen(kpis_path, "wb");
    fwrite(k, 1, (size_t)(q - k), f);
    fputs("\"2026-06-17..2026-06-30\"", f);
    fputs(q + 9, f);
    fclose(f);
    free(k);

    const char *rep[] = {"report", "--period", "2026-07-01..2026-07-14", "--format", "json",
                         "--kpis", kpis_path, "--no-record", "--time", "2026-07-15T08:00:00Z",
                         "--data-dir", dir, NULL};
    run_ok(NULL, 0, &out, rep);
    report = cJSON_Parse(out);
    ck_assert_ptr_nonnull(report);
    free(out);
    static const char *const per[2] = {"2026-07-01..2026-07-14", "2026-06-17..2026-06-30"};
    for (int w = 0; w < 2; w++) {
        const char *cs[] = {"controls", "status", "--period", per[w], "--format", "json",
                            "--data-dir", dir, NULL};
        run_ok(NULL, 0, &out, cs);
        ctl[w] = cJSON_Parse(out);
        ck_assert_ptr_nonnull(ctl[w]);
        free(out);
    }
}

static void teardown(void)
{
    cJSON_Delete(report);
    cJSON_Delete(ctl[0]);
    cJSON_Delete(ctl[1]);
    free(rd);
    free(ev);
    ts_rmrf(dir);
    free(dir);
}

/* ---- the report's values ---------------------------------------------------- */

static const cJSON *kpi(const char *id)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItem(report, "kpis"))
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(k, "id")), id))
            return k;
    ck_abort_msg("kpi %s missing from the report", id);
    return NULL;
}

/* Window 0: the value; 1: the previous period's; 2: the baseline's (= 1 here). */
static const cJSON *val(const char *id, int w)
{
    const cJSON *k = kpi(id);
    if (w == 0)
        return cJSON_GetObjectItem(k, "value");
    return cJSON_GetObjectItem(cJSON_GetObjectItem(k, w == 1 ? "previous" : "baseline"), "value");
}

/* The report shows `want` (display units) for `id` in windows 0..2 (2 = the
 * baseline, measured in window 1). */
static void expect(const char *id, const double want[2])
{
    for (int w = 0; w < 3; w++) {
        const cJSON *v = val(id, w);
        double x = want[w == 2 ? 1 : w];
        if (isnan(x)) {
            ck_assert_msg(cJSON_IsNull(v), "%s window %d: expected n/a", id, w);
            continue;
        }
        ck_assert_msg(cJSON_IsNumber(v), "%s window %d: no value (expected %.10g)", id, w, x);
        ck_assert_msg(fabs(v->valuedouble - x) <= 1e-9 * (1 + fabs(x)),
                      "%s window %d: report %.12g, recount %.12g", id, w, v->valuedouble, x);
    }
}

/* The report's named input of `id` in the period. */
static double input(const char *id, const char *term)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(cJSON_GetObjectItem(kpi(id), "inputs"), "current"))
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(t, "id")), term))
            return cJSON_GetObjectItem(t, "value")->valuedouble;
    ck_abort_msg("%s has no input %s", id, term);
    return NAN;
}

/* ---- the recount ---------------------------------------------------------------- */

/* Seconds of [a, b) in the plant's planned hours: Mon-Fri 06-22, Sat 06-14 (UTC),
 * as kpis.json's planned_hours say. */
static double planned(int64_t a, int64_t b)
{
    double s = 0;
    for (int64_t d = a / DAY * DAY; d < b; d += DAY) {
        int wd = (int)((d / DAY + 4) % 7); /* 0 = Sunday */
        int h0 = wd >= 1 && wd <= 5 ? 6 : wd == 6 ? 6 : 0, h1 = wd >= 1 && wd <= 5 ? 22 : wd == 6 ? 14 : 0;
        int64_t lo = d + h0 * HOUR, hi = d + h1 * HOUR;
        lo = lo < a ? a : lo;
        hi = hi > b ? b : hi;
        if (hi > lo)
            s += (double)(hi - lo) / US;
    }
    return s;
}

typedef struct tm_sums {
    double apt, pbt, adot, ttr;
    double failures, restorations;
} tm_sums;

static tm_sums tmw[2];

/* The ISO 22400 time model from the simulator's machine.state events: a state
 * holds until the device's next one; the last until the end of the data. */
static void recount_time_model(void)
{
    memset(tmw, 0, sizeof tmw);
    int64_t end = 0;
    for (size_t i = 0; i < nrd; i++)
        if (strcmp(rd[i].device, "plc-02") && rd[i].t > end)
            end = rd[i].t;
    for (size_t i = 0; i < nev; i++)
        if (!strcmp(ev[i].type, "machine.state") && ev[i].t > end)
            end = ev[i].t;
    static const char *const devs[] = {"cnc-01", "cnc-02", "cnc-03", "cnc-04",
                                       "cnc-05", "cnc-06", "cnc-07", "cnc-08"};
    for (size_t d = 0; d < sizeof devs / sizeof devs[0]; d++) {
        const sev *prev = NULL;
        int64_t down_at = 0;
        for (size_t i = 0; i <= nev; i++) {
            const sev *e = i < nev ? &ev[i] : NULL;
            if (e && (strcmp(e->type, "machine.state") || strcmp(e->device, devs[d])))
                continue;
            if (prev) {
                int64_t a = prev->t, b = e ? e->t : end;
                for (int w = 0; w < 2; w++) {
                    int64_t lo = a > win_from[w] ? a : win_from[w], hi = b < win_to[w] ? b : win_to[w];
                    if (hi <= lo)
                        continue;
                    if (!strcmp(prev->state, "running")) {
                        tmw[w].apt += (double)(hi - lo) / US;
                        tmw[w].pbt += (double)(hi - lo) / US;
                    } else {
                        double p = planned(lo, hi);
                        tmw[w].pbt += p;
                        if (!strcmp(prev->state, "down"))
                            tmw[w].adot += p;
                    }
                }
            }
            if (!e)
                break;
            bool was_down = prev && !strcmp(prev->state, "down");
            int w = win_of(e->t);
            if (!strcmp(e->state, "down") && !was_down) {
                down_at = e->t;
                if (w >= 0)
                    tmw[w].failures++;
            } else if (strcmp(e->state, "down") && was_down && w >= 0) {
                tmw[w].restorations++;
                tmw[w].ttr += (double)(e->t - down_at) / US;
            }
            prev = e;
        }
    }
}

typedef struct meters {
    double energy, produced, good;
} meters;

static meters mw[2];

/* Energy, produced and good of the CNC machines: the sum of each meter's
 * increments whose later reading is in the window. */
static void recount_meters(void)
{
    memset(mw, 0, sizeof mw);
    for (int m = 1; m <= 8; m++) {
        char dev[16];
        snprintf(dev, sizeof dev, "cnc-%02d", m);
        const reading *last = NULL;
        for (size_t i = 0; i < nrd; i++) {
            const reading *r = &rd[i];
            if (strcmp(r->device, dev))
                continue;
            int w = win_of(r->t);
            if (last && w >= 0) {
                double dp = r->produced - last->produced, dg = r->good - last->good;
                mw[w].energy += r->energy - last->energy;
                mw[w].produced += dp;
                mw[w].good += dg > dp ? dp : dg;
            }
            last = r;
        }
    }
}

START_TEST(availability_downtime_mtbf_mttr)
{
    recount_time_model();
    double av[2], dt[2], mtbf[2], mttr[2];
    for (int w = 0; w < 2; w++) {
        ck_assert(tmw[w].pbt > 0 && tmw[w].failures > 0 && tmw[w].restorations > 0);
        av[w] = 100 * tmw[w].apt / tmw[w].pbt;
        dt[w] = 100 * tmw[w].adot / tmw[w].pbt;
        mtbf[w] = tmw[w].apt / tmw[w].failures / 3600;
        mttr[w] = tmw[w].ttr / tmw[w].restorations / 60;
    }
    expect("availability", av);
    expect("unplanned_downtime", dt);
    expect("mtbf", mtbf);
    expect("mttr", mttr);
    ck_assert_double_eq_tol(input("availability", "apt_h"), tmw[0].apt / 3600, 1e-6);
    ck_assert_double_eq_tol(input("availability", "pbt_h"), tmw[0].pbt / 3600, 1e-6);
    ck_assert_double_eq_tol(input("mtbf", "fe"), tmw[0].failures, 1e-9);
    /* the programme went live on 2 Jul: the plant's repairs got shorter */
    ck_assert(mttr[0] < mttr[1]);
}
END_TEST

START_TEST(quality_effectiveness_oee_energy)
{
    recount_time_model();
    recount_meters();
    double q[2], e[2], oee[2], epgu[2], red[2];
    for (int w = 0; w < 2; w++) {
        ck_assert(mw[w].produced > 0 && mw[w].good > 0);
        q[w] = mw[w].good / mw[w].produced;
        e[w] = 1500.0 * mw[w].produced / tmw[w].apt; /* PTU = ideal_cycle_s in kpis.json */
        oee[w] = 100 * (tmw[w].apt / tmw[w].pbt) * e[w] * q[w];
        epgu[w] = mw[w].energy / mw[w].good;
    }
    for (int w = 0; w < 2; w++) {
        red[w] = 100 * (epgu[1] - epgu[w]) / epgu[1]; /* against the measured baseline */
        q[w] *= 100;
        e[w] *= 100;
    }
    expect("quality_ratio", q);
    expect("effectiveness", e);
    expect("oee", oee);
    expect("energy_per_good_unit", epgu);
    expect("energy_reduction", red);
    ck_assert_double_eq_tol(input("energy_per_good_unit", "energy_kwh"), mw[0].energy, 1e-6);
    ck_assert_double_eq_tol(input("energy_per_good_unit", "gq"), mw[0].good, 1e-9);
    /* the idle power-down rule went live: less energy per good unit */
    ck_assert(red[0] > 0);
}
END_TEST

/* The failure label of each reading against the prediction stored at ingestion
 * (telemetry.db, read with SQL), at the model's registered threshold. */
START_TEST(model_detection_precision_false_alarms)
{
    char path[1100];
    snprintf(path, sizeof path, "file:%s/telemetry.db?mode=ro", dir);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
                     SQLITE_OK);
    char *out = NULL;
    const char *ml[] = {"model", "list", "--json", "--data-dir", dir, NULL};
    run_ok(NULL, 0, &out, ml);
    cJSON *models = cJSON_Parse(out);
    free(out);
    double thr = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(models, 0), "threshold"));
    cJSON_Delete(models);
    ck_assert(thr > 0 && thr < 1);
    double tp[2] = {0}, fp[2] = {0}, fn[2] = {0}, tn[2] = {0};
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT p.prob FROM predictions p JOIN devices d ON "
                                        "d.id = p.device WHERE d.name = ?1 AND p.time_us = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    size_t scored = 0;
    for (size_t i = 0; i < nrd; i++) {
        const reading *r = &rd[i];
        int w = win_of(r->t);
        if (r->failure < 0 || w < 0)
            continue;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, r->device, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, r->t);
        bool alarm = false;
        if (sqlite3_step(st) == SQLITE_ROW) {
            alarm = sqlite3_column_double(st, 0) >= thr;
            scored++;
        }
        if (alarm && r->failure)
            tp[w]++;
        else if (alarm)
            fp[w]++;
        else if (r->failure)
            fn[w]++;
        else
            tn[w]++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    ck_assert_uint_gt(scored, 1000);
    double rec[2], prec[2], far[2];
    for (int w = 0; w < 2; w++) {
        rec[w] = 100 * tp[w] / (tp[w] + fn[w]);
        prec[w] = tp[w] + fp[w] > 0 ? 100 * tp[w] / (tp[w] + fp[w]) : NAN;
        far[w] = 100 * fp[w] / (fp[w] + tn[w]);
    }
    /* before the deployment nothing warned: a measured 0 %, not a missing value */
    ck_assert_double_eq(rec[1], 0);
    ck_assert(isnan(prec[1]));
    expect("defect_detection_rate", rec);
    expect("model_precision", prec);
    expect("false_alarm_rate", far);
    ck_assert_double_eq_tol(input("defect_detection_rate", "tp"), tp[0], 1e-9);
    ck_assert_double_eq_tol(input("defect_detection_rate", "tp_fn"), tp[0] + fn[0], 1e-9);
    ck_assert(rec[0] > 50);
}
END_TEST

/* Every reading counted once by its own time: received = lines of the
 * simulator's file; quarantined = those validation refuses (an unregistered
 * device, a PLC register glitch outside [0, 200] A, the camera's exposure_ms
 * before its profile knew it); recovered = the camera's, after the replay. */
START_TEST(telemetry_quarantine_counted_once)
{
    double rec[2] = {0}, quar[2] = {0}, recov[2] = {0}, total_q = 0;
    for (size_t i = 0; i < nrd; i++) {
        const reading *r = &rd[i];
        bool q = !strcmp(r->device, "plc-02") ||
                 (!isnan(r->motor_current) && (r->motor_current < 0 || r->motor_current > 200)) ||
                 r->exposure;
        total_q += q;
        int w = win_of(r->t);
        if (w < 0)
            continue;
        rec[w]++;
        quar[w] += q;
        recov[w] += r->exposure && strcmp(r->device, "plc-02");
    }
    /* the ingestion results (one per batch) add up to the same quarantine */
    ck_assert_double_eq(total_q, (double)ingest_quarantined);
    double rate[2];
    for (int w = 0; w < 2; w++)
        rate[w] = 100 * quar[w] / rec[w];
    expect("telemetry_rejection_rate", rate);
    ck_assert_double_eq_tol(input("telemetry_rejection_rate", "received"), rec[0], 1e-9);
    ck_assert_double_eq_tol(input("telemetry_rejection_rate", "quarantined"), quar[0], 1e-9);
    ck_assert_double_eq_tol(input("telemetry_rejection_rate", "recovered"), recov[0], 1e-9);
    ck_assert(recov[0] > 0); /* the camera's firmware changed in the period */
}
END_TEST

/* Incidents opened in the window: mean minutes to ack and resolve; within
 * the RACI SLA of incident:plant-1 (ack 4 h, resolve 72 h, plant.xml). */
START_TEST(incidents_and_raci_sla)
{
    double ack[2] = {0}, nack[2] = {0}, res[2] = {0}, nres[2] = {0}, met[2] = {0}, due[2] = {0};
    for (size_t i = 0; i < nev; i++) {
        if (strcmp(ev[i].type, "incident.open"))
            continue;
        int w = win_of(ev[i].t);
        if (w < 0)
            continue;
        int64_t a = 0, r = 0;
        for (size_t j = 0; j < nev; j++) {
            if (strcmp(ev[j].incident, ev[i].incident))
                continue;
            if (!strcmp(ev[j].type, "incident.ack") && !a)
                a = ev[j].t;
            if (!strcmp(ev[j].type, "incident.resolve") && !r)
                r = ev[j].t;
        }
        ck_assert(a && r); /* the simulator acknowledges and resolves every incident */
        ack[w] += (double)(a - ev[i].t) / US / 60;
        nack[w]++;
        res[w] += (double)(r - ev[i].t) / US / 60;
        nres[w]++;
        due[w]++;
        met[w] += a - ev[i].t <= 4 * HOUR && r - ev[i].t <= 72 * HOUR;
    }
    double mack[2], mres[2], sla[2];
    for (int w = 0; w < 2; w++) {
        mack[w] = nack[w] ? ack[w] / nack[w] : NAN;
        mres[w] = nres[w] ? res[w] / nres[w] : NAN;
        sla[w] = due[w] ? 100 * met[w] / due[w] : NAN;
    }
    expect("incident_time_to_ack", mack);
    expect("incident_time_to_resolve", mres);
    expect("raci_sla_adherence", sla);
}
END_TEST

/* The control evaluation of each window (auditd controls status --format json):
 * controls in scope, with an evidence rule, satisfied; findings per rule. */
START_TEST(controls_coverage_findings)
{
    double sat[2], cov[2], ruled[2], fnd[2];
    for (int w = 0; w < 2; w++) {
        double n = 0, with = 0, ok = 0, f = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(ctl[w], "controls"))
        {
            n++;
            with += cJSON_GetArraySize(cJSON_GetObjectItem(c, "rules")) > 0;
            ok += !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "status")), "satisfied");
        }
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(ctl[w], "rules"))
        {
            const cJSON *x = cJSON_GetObjectItem(c, "findings_count");
            f += cJSON_IsNumber(x) ? x->valuedouble : 0;
        }
        ck_assert(n > 0 && with > 0);
        sat[w] = 100 * ok / n;
        cov[w] = 100 * with / n;
        ruled[w] = 100 * ok / with;
        fnd[w] = f;
    }
    expect("controls_satisfied", sat);
    expect("controls_with_rules", cov);
    expect("controls_satisfied_of_ruled", ruled);
    expect("open_findings", fnd);
    /* the headline comes with its coverage: most in-scope controls have no rule */
    ck_assert(cov[0] < 100);
}
END_TEST

/* drift.detected from the ledger, counted only while a model was deployed
 * (the one dated before the deployment is not a drift event). */
START_TEST(drift_only_for_a_deployed_model)
{
    ledger *lg;
    adt_err e = {0};
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &e), ADT_OK);
    uint64_t size = 0;
    ck_assert_int_eq(ledger_size(lg, &size, &e), ADT_OK);
    int64_t deployed = 0;
    double n[2] = {0};
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    for (uint64_t i = 0; i < size; i++) {
        ck_assert_int_eq(ledger_entry(lg, i, &leaf, &e), ADT_OK);
        cJSON *j = cJSON_Parse(leaf.data);
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(j, "type"));
        cJSON *p = cJSON_GetObjectItem(j, "payload");
        if (!strcmp(type, "model.deploy"))
            deployed = T(cJSON_GetStringValue(cJSON_GetObjectItem(p, "time")));
        if (!strcmp(type, "drift.detected")) {
            int64_t t = T(cJSON_GetStringValue(cJSON_GetObjectItem(p, "time")));
            int w = win_of(t);
            if (w >= 0 && deployed && deployed <= t)
                n[w]++;
        }
        cJSON_Delete(j);
    }
    buf_free(&leaf);
    ledger_close(lg);
    ck_assert(deployed > 0 && n[0] >= 1);
    /* the previous fortnight had no model in force: nothing to monitor, n/a */
    double want[2] = {n[0], NAN};
    expect("drift_events", want);
}
END_TEST

/* Every KPI of the report is checked above; a new one must be added here. */
START_TEST(every_kpi_is_recounted)
{
    static const char *const done[] = {
        "availability", "unplanned_downtime", "mtbf", "mttr", "quality_ratio", "effectiveness",
        "oee", "energy_per_good_unit", "energy_reduction", "defect_detection_rate",
        "model_precision", "false_alarm_rate", "telemetry_rejection_rate",
        "incident_time_to_ack", "incident_time_to_resolve", "raci_sla_adherence",
        "controls_satisfied", "controls_with_rules", "controls_satisfied_of_ruled",
        "open_findings", "drift_events"};
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItem(report, "kpis"))
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(k, "id"));
        bool found = false;
        for (size_t i = 0; i < sizeof done / sizeof done[0]; i++)
            found |= !strcmp(done[i], id);
        ck_assert_msg(found, "KPI %s has no independent recount in test_recount.c", id);
        /* and each carries its inputs and evidence */
        ck_assert(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetObjectItem(k, "inputs"), "current")));
        ck_assert(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(k, "evidence"), "source")));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("recount");
    TCase *tc = tcase_create("recount");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, availability_downtime_mtbf_mttr);
    tcase_add_test(tc, quality_effectiveness_oee_energy);
    tcase_add_test(tc, model_detection_precision_false_alarms);
    tcase_add_test(tc, telemetry_quarantine_counted_once);
    tcase_add_test(tc, incidents_and_raci_sla);
    tcase_add_test(tc, controls_coverage_findings);
    tcase_add_test(tc, drift_only_for_a_deployed_model);
    tcase_add_test(tc, every_kpi_is_recounted);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
