/* test_sim.c: the synthetic plant: same seed = same bytes (library and the
 * real binary), the AI4I 2020 failure rules hold in the generated data, the
 * example profiles in the repository are the ones the simulator writes, and
 * the event stream is well formed with its deliberate violations. */
#define _GNU_SOURCE /* memmem */
#include "profile.h"
#include "sim.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *tmp;

static void setup(void)
{
    tmp = ts_tmpdir("pl-sim");
}

static void teardown(void)
{
    ts_rmrf(tmp);
    free(tmp);
}

static char *file_in(const char *dir, const char *name, size_t *len)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *t = ts_read_file(path, len);
    ck_assert_msg(t != NULL, "%s", path);
    return t;
}

static void same_file(const char *a, const char *b, const char *name, bool want_same)
{
    size_t la, lb;
    char *x = file_in(a, name, &la), *y = file_in(b, name, &lb);
    bool same = la == lb && !memcmp(x, y, la);
    ck_assert_msg(same == want_same, "%s: expected %s", name, want_same ? "same" : "different");
    free(x);
    free(y);
}

START_TEST(same_seed_same_bytes)
{
    char a[1024], b[1024], c[1024];
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(b, sizeof b, "%s/b", tmp);
    snprintf(c, sizeof c, "%s/c", tmp);
    sim_opts o;
    sim_opts_default(&o);
    o.seed = 3;
    o.days = 3;
    o.machines = 4;
    sim_stats s1, s2, s3;
    adt_err e;
    ck_assert_int_eq(sim_run(&o, a, &s1, &e), ADT_OK);
    ck_assert_int_eq(sim_run(&o, b, &s2, &e), ADT_OK);
    o.seed = 4;
    ck_assert_int_eq(sim_run(&o, c, &s3, &e), ADT_OK);
    ck_assert_uint_eq(s1.readings, s2.readings);
    /* 4 machines x 3 days x 1440 + PLC and camera every 5 min (+ none unregistered yet) */
    ck_assert_uint_ge(s1.readings, 4 * 3 * 1440 + 2 * 3 * 288);
    for (const char *const *n = (const char *const[]){"telemetry.ndjson", "events.ndjson",
                                                      "devices.ndjson",
                                                      "profiles/cnc-mill.json", NULL};
         *n; n++)
        same_file(a, b, *n, true);
    same_file(a, c, "telemetry.ndjson", false);
}
END_TEST

START_TEST(cli_same_bytes)
{
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/cli-a", tmp);
    snprintf(b, sizeof b, "%s/cli-b", tmp);
    const char *args1[] = {"simulate", "--seed", "9", "--days", "1", "--machines", "3",
                           "--interval", "120", "--out", a, NULL};
    const char *args2[] = {"simulate", "--seed", "9", "--days", "1", "--machines", "3",
                           "--interval", "120", "--out", b, NULL};
    char *err = NULL;
    ck_assert_int_eq(ts_run(NULL, 0, NULL, &err, args1), 0);
    free(err);
    ck_assert_int_eq(ts_run(NULL, 0, NULL, NULL, args2), 0);
    same_file(a, b, "telemetry.ndjson", true);
    same_file(a, b, "events.ndjson", true);
    /* 3 machines x 720 readings at 120 s */
    size_t len;
    char *t = file_in(a, "telemetry.ndjson", &len);
    size_t cnc = 0;
    for (char *p = t; (p = strstr(p, "\"device\":\"cnc-")); p++)
        cnc++;
    ck_assert_uint_eq(cnc, 3 * 720);
    free(t);
    const char *bad[] = {"simulate", "--seed", "x", "--days", "1", "--out", a, NULL};
    char *e2 = NULL;
    ck_assert_int_ne(ts_run(NULL, 0, NULL, &e2, bad), 0);
    ck_assert_ptr_nonnull(strstr(e2, "--seed"));
    free(e2);
}
END_TEST

/* --go-live: the same readings before it; after it the plant responds (shorter
 * repairs, idle power-down, earlier tool changes) and CHG-006 deploys the edge rule. */
START_TEST(go_live_changes_only_what_follows)
{
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/gl-a", tmp);
    snprintf(b, sizeof b, "%s/gl-b", tmp);
    sim_opts o;
    sim_opts_default(&o);
    o.seed = 11;
    o.days = 20;
    o.machines = 4;
    o.interval_s = 300;
    sim_stats s1, s2;
    adt_err e;
    ck_assert_int_eq(sim_run(&o, a, &s1, &e), ADT_OK);
    ck_assert_int_eq(sim_parse_time("2026-07-11T06:00:00Z", &o.go_live_us), ADT_OK);
    ck_assert_int_eq(sim_run(&o, b, &s2, &e), ADT_OK);
    size_t la, lb;
    char *x = file_in(a, "telemetry.ndjson", &la), *y = file_in(b, "telemetry.ndjson", &lb);
    /* the first line at or after the go-live */
    const char *cut = strstr(x, "\"time\":\"2026-07-11T06:00:00Z\"");
    ck_assert_ptr_nonnull(cut);
    while (cut > x && cut[-1] != '\n')
        cut--;
    size_t before = (size_t)(cut - x);
    ck_assert(lb > before && !memcmp(x, y, before));
    ck_assert(la != lb || memcmp(x, y, la) != 0);
    /* idle spindles draw 0.25 kW after the go-live, never before */
    ck_assert_ptr_null(strstr(x, "\"power_kw\":0.250"));
    ck_assert_ptr_nonnull(strstr(y + before, "\"power_kw\":0.250"));
    ck_assert_ptr_null(memmem(y, before, "\"power_kw\":0.250", strlen("\"power_kw\":0.250")));
    ck_assert_uint_gt(s2.warned_tool_changes, 0);
    ck_assert_uint_eq(s1.warned_tool_changes, 0);
    free(x);
    free(y);
    x = file_in(a, "events.ndjson", &la);
    y = file_in(b, "events.ndjson", &lb);
    ck_assert_ptr_null(strstr(x, "CHG-006"));
    const char *dep = strstr(y, "\"type\":\"firmware.deploy\",\"time\":\"2026-07-11T06:00:00Z\"");
    ck_assert_ptr_nonnull(dep);
    ck_assert_ptr_nonnull(strstr(dep, "CHG-006"));
    /* no model alert before the programme is live: ALR-001 (day 7) is the camera's */
    const char *alr = strstr(y, "\"alert_id\":\"ALR-001\"");
    ck_assert_ptr_nonnull(alr);
    ck_assert_ptr_nonnull(strstr(alr, "\"kind\":\"anomaly\""));
    free(x);
    free(y);
}
END_TEST

static double num(const cJSON *v, const char *k)
{
    const cJSON *x = cJSON_GetObjectItem(v, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

START_TEST(failure_rules_hold)
{
    char d[1024];
    snprintf(d, sizeof d, "%s/rules", tmp);
    sim_opts o;
    sim_opts_default(&o);
    o.seed = 11;
    o.days = 14;
    sim_stats st;
    adt_err e;
    ck_assert_int_eq(sim_run(&o, d, &st, &e), ADT_OK);
    size_t len;
    char *text = file_in(d, "telemetry.ndjson", &len);
    static const double osf[] = {11000, 12000, 13000};
    static const int inc[] = {2, 3, 5};
    size_t modes[6] = {0}, running = 0, n_air = 0;
    double air_sum = 0, air_sq = 0, diff_sum = 0;
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        *nl = 0;
        if (strncmp(line, "{\"device\":\"cnc-", 15))
            continue;
        cJSON *j = cJSON_Parse(line);
        ck_assert_ptr_nonnull(j);
        cJSON *v = cJSON_GetObjectItem(j, "values");
        const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(v, "state"));
        const char *mt = cJSON_GetStringValue(cJSON_GetObjectItem(v, "machine_type"));
        const char *mode = cJSON_GetStringValue(cJSON_GetObjectItem(v, "failure_mode"));
        int type = mt[0] == 'L' ? 0 : mt[0] == 'M' ? 1 : mt[0] == 'H' ? 2 : -1;
        ck_assert_int_ge(type, 0);
        double air = num(v, "air_temp_k"), proc = num(v, "process_temp_k");
        double rpm = num(v, "rotational_speed_rpm"), tq = num(v, "torque_nm");
        double wear = num(v, "tool_wear_min"), kw = num(v, "power_kw");
        int failure = (int)num(v, "failure");
        air_sum += air;
        air_sq += air * air;
        n_air++;
        ck_assert(num(v, "good") <= num(v, "produced"));
        if (strcmp(state, "running")) {
            ck_assert_int_eq(failure, 0);
            cJSON_Delete(j);
            continue;
        }
        running++;
        diff_sum += proc - air;
        static const char *const names[] = {"none", "TWF", "HDF", "PWF", "OSF", "RNF"};
        int m = -1;
        for (int k = 0; k < 6; k++)
            if (!strcmp(mode, names[k]))
                m = k;
        ck_assert_int_ge(m, 0);
        ck_assert_int_eq(failure, m != 0);
        modes[m]++;
        /* each labelled mode satisfies its AI4I rule (margins: measurement noise) */
        if (m == 1)
            ck_assert_msg(wear + inc[type] >= 199 && wear <= 241, "TWF at wear %g", wear);
        if (m == 2)
            ck_assert_msg(proc - air < 8.6 + 0.3 && rpm < 1380 + 15, "HDF: dT %g rpm %g",
                          proc - air, rpm);
        if (m == 3)
            ck_assert_msg(kw * 1000 < 3500 + 250 || kw * 1000 > 9000 - 250, "PWF at %g kW", kw);
        if (m == 4)
            ck_assert_msg((wear + inc[type]) * tq > osf[type] * 0.96, "OSF: %g x %g", wear, tq);
        /* and the converse, away from the thresholds: these must be failures */
        if (proc - air < 8.2 && rpm < 1350)
            ck_assert_msg(failure, "dT %g rpm %g without failure", proc - air, rpm);
        if (kw * 1000 < 3200 || kw * 1000 > 9300)
            ck_assert_msg(failure, "power %g kW without failure", kw);
        cJSON_Delete(j);
    }
    free(text);
    ck_assert_uint_gt(running, 10000);
    ck_assert_uint_gt(modes[2], 0);
    ck_assert_uint_gt(modes[3], 0);
    ck_assert_uint_gt(modes[4], 0);
    ck_assert_uint_gt(st.failures, 20);
    double failure_share = (double)(running - modes[0]) / (double)running;
    ck_assert_msg(failure_share > 0.01 && failure_share < 0.10, "failure share %g",
                  failure_share);
    double mean = air_sum / (double)n_air;
    double sd = sqrt(air_sq / (double)n_air - mean * mean);
    ck_assert_msg(fabs(mean - 300) < 1.5 && sd > 0.8 && sd < 3.5, "air %g sd %g", mean, sd);
    ck_assert_msg(fabs(diff_sum / (double)running - 10) < 0.5, "process - air");
}
END_TEST

START_TEST(repository_profiles_are_the_simulators)
{
    static const struct {
        const char *file;
        const char *text;
    } p[] = {{"cnc-mill.json", sim_profile_cnc},
             {"legacy-plc.json", sim_profile_plc},
             {"edge-camera.json", sim_profile_camera}};
    for (size_t i = 0; i < 3; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/auditd/pipeline/profiles/%s", AUDITD_SOURCE_DIR,
                 p[i].file);
        size_t len;
        char *t = ts_read_file(path, &len);
        ck_assert_ptr_nonnull(t);
        ck_assert_msg(len == strlen(p[i].text) && !memcmp(t, p[i].text, len),
                      "%s differs from the simulator's", p[i].file);
        free(t);
    }
}
END_TEST

START_TEST(events_well_formed_with_violations)
{
    char d[1024];
    snprintf(d, sizeof d, "%s/ev", tmp);
    sim_opts o;
    sim_opts_default(&o);
    o.seed = 5;
    o.days = 92;
    o.machines = 2;
    o.interval_s = 600;
    sim_stats st;
    adt_err e;
    ck_assert_int_eq(sim_run(&o, d, &st, &e), ADT_OK);
    size_t len;
    char *text = file_in(d, "events.ndjson", &len);
    size_t n = 0, self_approve = 0, scan_fail = 0, depart = 0, state = 0, deploy = 0;
    char prev_time[40] = "";
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        *nl = 0;
        cJSON *j = cJSON_Parse(line);
        ck_assert_ptr_nonnull(j);
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(j, "type"));
        const char *time = cJSON_GetStringValue(cJSON_GetObjectItem(j, "time"));
        const char *actor = cJSON_GetStringValue(cJSON_GetObjectItem(j, "actor"));
        ck_assert(type && time && actor);
        int64_t us;
        ck_assert_int_eq(sim_parse_time(time, &us), ADT_OK);
        ck_assert(strcmp(time, prev_time) >= 0); /* sorted by time */
        snprintf(prev_time, sizeof prev_time, "%s", time);
        if (!strcmp(type, "change.approve") && !strcmp(actor, "grace"))
            self_approve++;
        if (!strcmp(type, "firmware.scan") &&
            !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "result")), "fail"))
            scan_fail++;
        depart += !strcmp(type, "principal.depart");
        state += !strcmp(type, "machine.state");
        deploy += !strcmp(type, "firmware.deploy");
        cJSON_Delete(j);
        n++;
    }
    free(text);
    ck_assert_uint_eq(n, st.events);
    ck_assert_uint_eq(self_approve, 1);
    ck_assert_uint_eq(scan_fail, 1);
    ck_assert_uint_eq(depart, 2);
    ck_assert_uint_eq(deploy, 5);
    ck_assert_uint_gt(state, 100);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim");
    TCase *tc = tcase_create("sim");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, same_seed_same_bytes);
    tcase_add_test(tc, cli_same_bytes);
    tcase_add_test(tc, go_live_changes_only_what_follows);
    tcase_add_test(tc, failure_rules_hold);
    tcase_add_test(tc, repository_profiles_are_the_simulators);
    tcase_add_test(tc, events_well_formed_with_violations);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
