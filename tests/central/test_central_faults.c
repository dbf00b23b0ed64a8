/* test_central_faults.c: the central tier under faults, black box: the real
 * `auditd central mirror` and site daemons as processes on 127.0.0.1, a real
 * PostgreSQL cluster. kill -9 of the mirror and of a site during mirroring, a
 * site down for a while, PostgreSQL restarted (as after a crash, and cleanly)
 * while the sites keep appending. After each fault: nothing proven is lost,
 * nothing unproven is stored (`central verify`), and the mirror ends equal to
 * the site. */
#include "ledger.h"
#include "tcentral.h"
#include "tsupport.h"

#include <check.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char db[600];

static void fresh_db(const char *name)
{
    tc_newdb(name, db, sizeof db);
    ck_assert_int_eq(tc_central(db, NULL, NULL, (const char *const[]){"init", NULL}), 0);
}

static int64_t next_entry(void)
{
    return tc_qi(db, "SELECT coalesce(max(next_entry), 0) FROM auditd_central.streams");
}

static void expect_verify_ok(void)
{
    char *out = NULL, *err = NULL;
    int st = tc_central(db, &out, &err, (const char *const[]){"verify", NULL});
    ck_assert_msg(st == 0, "central verify: %s %s", out, err);
    free(out);
    free(err);
}

static void expect_complete(const tc_site *s)
{
    int64_t n = (int64_t)tc_site_size(s);
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT max(mirror_size) FROM auditd_central.streams", n,
                                      90000),
                     n);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.entries"), n);
    char *hex = tc_q(db, "SELECT encode(mirror_root, 'hex') FROM auditd_central.streams");
    uint8_t root[32];
    tc_site_root(s, root);
    char want[65];
    sodium_bin2hex(want, sizeof want, root, 32);
    ck_assert_str_eq(hex, want);
    free(hex);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.alerts"), 0);
    expect_verify_ok();
}

static void stop(pid_t pid, int sig)
{
    kill(pid, sig);
    waitpid(pid, NULL, 0);
}

static char *logpath(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

START_TEST(test_kill_mirror)
{
    fresh_db("f_killm");
    tc_site s;
    tc_site_init(&s, "f-killm", "killm.example/log");
    tc_site_append(&s, 30000, "a");
    tc_site_start(&s);
    tc_site_add(db, &s);
    char *log = logpath(s.dir, "mirror.log");
    const char *extra[] = {"--interval-ms", "50", NULL};
    int mid = 0;
    int64_t prev = 0;
    for (int round = 0; round < 6; round++) {
        if (prev >= (int64_t)tc_site_size(&s))
            tc_site_append(&s, 12000, "more");
        pid_t m = tc_mirror_spawn(db, log, extra);
        int64_t now = tc_wait_at_least(db, "SELECT coalesce(max(next_entry), 0) FROM auditd_central.streams",
                                       prev + 1, 30000);
        ck_assert_int_gt(now, prev);
        tc_sleep_ms((int)(randombytes_uniform(40)));
        stop(m, SIGKILL);
        now = next_entry();
        if (now < (int64_t)tc_site_size(&s))
            mid++;
        /* What is stored after a kill is whole and proven. */
        expect_verify_ok();
        ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.entries"), now);
        prev = now;
    }
    ck_assert_msg(mid > 0, "no kill landed while mirroring was under way");
    ck_assert_int_eq(tc_central(db, NULL, NULL, (const char *const[]){"mirror", "--once", NULL}), 0);
    expect_complete(&s);
    free(log);
    tc_site_free(&s);
}
END_TEST

START_TEST(test_kill_site_and_down)
{
    fresh_db("f_kills");
    tc_site s;
    tc_site_init(&s, "f-kills", "kills.example/log");
    tc_site_append(&s, 30000, "a");
    tc_site_start(&s);
    tc_site_add(db, &s);
    char *log = logpath(s.dir, "mirror.log");
    const char *extra[] = {"--interval-ms", "50", "--max-backoff-ms", "400", NULL};
    pid_t m = tc_mirror_spawn(db, log, extra);
    ck_assert_int_gt(tc_wait_at_least(db, "SELECT coalesce(max(next_entry), 0) FROM auditd_central.streams",
                                      1, 30000),
                     0);
    tc_site_stop(&s, SIGKILL);
    int64_t at_kill = next_entry();
    /* Down for a while, and growing meanwhile (appended on the host). */
    tc_site_append(&s, 5000, "while-down");
    tc_sleep_ms(1500);
    char *err = tc_q(db, "SELECT coalesce(last_error, '') FROM auditd_central.streams");
    ck_assert_msg(strstr(err, s.url) != NULL, "last_error: %s", err);
    free(err);
    ck_assert_int_eq(next_entry(), tc_qi(db, "SELECT count(*) FROM auditd_central.entries"));
    ck_assert_int_ge(next_entry(), at_kill);
    expect_verify_ok();
    tc_site_start(&s);
    tc_site_append(&s, 5000, "after");
    expect_complete(&s);
    /* Recovered: the error is cleared once a pull succeeds. */
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT (last_error IS NULL)::int FROM auditd_central.streams",
                                      1, 10000),
                     1);
    stop(m, SIGTERM);
    free(log);
    tc_site_free(&s);
}
END_TEST

START_TEST(test_pg_restart_under_load)
{
    fresh_db("f_pgr");
    tc_site s[2];
    tc_site_init(&s[0], "f-pgr0", "pgr0.example/log");
    tc_site_init(&s[1], "f-pgr1", "pgr1.example/log");
    for (int i = 0; i < 2; i++) {
        tc_site_append(&s[i], 25000, "a");
        tc_site_start(&s[i]);
        tc_site_add(db, &s[i]);
    }
    char *log = logpath(s[0].dir, "mirror.log");
    const char *extra[] = {"--interval-ms", "50", "--max-backoff-ms", "400", NULL};
    pid_t m = tc_mirror_spawn(db, log, extra);
    const char *modes[] = {"immediate", "fast", "immediate"};
    const char *sql = "SELECT coalesce(sum(next_entry), 0) FROM auditd_central.streams";
    int64_t prev = 0;
    int mid = 0;
    for (int k = 0; k < 3; k++) {
        if (k) { /* a new backlog for this round */
            tc_site_append(&s[0], 8000, "load");
            tc_site_append(&s[1], 8000, "load");
        }
        int64_t now = tc_wait_at_least(db, sql, prev + 1, 60000);
        ck_assert_int_gt(now, prev);
        tc_pg_restart(modes[k]);
        if (tc_qi(db, sql) < (int64_t)(tc_site_size(&s[0]) + tc_site_size(&s[1])))
            mid++;
        /* The sites keep appending meanwhile. */
        tc_site_append(&s[0], 2000, "during");
        tc_site_append(&s[1], 2000, "during");
        expect_verify_ok();
        prev = tc_qi(db, sql);
    }
    ck_assert_msg(mid > 0, "no restart landed while mirroring was under way");
    int64_t want = (int64_t)(tc_site_size(&s[0]) + tc_site_size(&s[1]));
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT sum(mirror_size) FROM auditd_central.streams",
                                      want, 90000),
                     want);
    stop(m, SIGTERM);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.entries"), want);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.alerts"), 0);
    expect_verify_ok();
    free(log);
    tc_site_free(&s[0]);
    tc_site_free(&s[1]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("central_faults");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_kill_mirror);
    tcase_add_test(tc, test_kill_site_and_down);
    tcase_add_test(tc, test_pg_restart_under_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    tc_pg_start("faults");
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tc_pg_stop();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
