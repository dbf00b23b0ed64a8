/* test_cliopt.c: declarative command-line options (cliopt.h). */
#include "cliopt.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(parse)
{
    const char *dir = NULL, *actor = NULL;
    bool quiet = false;
    int64_t batch = 10;
    cliopt_list dev = {0};
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &dir), CLIOPT_S("actor", 0, &actor),
                           CLIOPT_F("quiet", 'q', &quiet), CLIOPT_N("batch", 0, &batch, 1, 1000),
                           CLIOPT_L("device", 0, &dev), CLIOPT_END};
    char *argv[] = {"cmd", "in.ndjson", "-d", "/tmp/x", "--batch=50", "--device", "a",
                    "-q",  "--device",  "b",  "-",      "--",         "--actor"};
    cliopt_args a;
    adt_err err = {0};
    ck_assert_int_eq(cliopt_parse(13, argv, 1, opts, &a, &err), ADT_OK);
    ck_assert_str_eq(dir, "/tmp/x");
    ck_assert_int_eq(batch, 50);
    ck_assert(quiet);
    ck_assert_uint_eq(dev.n, 2);
    ck_assert_str_eq(dev.v[1], "b");
    ck_assert_ptr_null(actor);
    ck_assert_uint_eq(a.npos, 3); /* in.ndjson, -, --actor (after --) */
    ck_assert_str_eq(a.pos[1], "-");
    ck_assert_str_eq(a.pos[2], "--actor");
    ck_assert(!a.help);
    char *help[] = {"cmd", "--help"};
    ck_assert_int_eq(cliopt_parse(2, help, 1, opts, &a, &err), ADT_OK);
    ck_assert(a.help);
}
END_TEST

START_TEST(refused)
{
    const char *dir = NULL;
    bool quiet = false;
    int64_t batch = 10;
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &dir), CLIOPT_F("quiet", 0, &quiet),
                           CLIOPT_N("batch", 0, &batch, 1, 1000), CLIOPT_END};
    struct {
        int argc;
        char *argv[4];
        const char *msg;
    } cases[] = {{2, {"c", "--nope"}, "unknown option '--nope'"},
                 {2, {"c", "--data-dir"}, "--data-dir needs a value"},
                 {3, {"c", "--batch", "0"}, "--batch must be an integer from 1 to 1000"},
                 {3, {"c", "--batch", "5x"}, "--batch must be"},
                 {2, {"c", "--quiet=yes"}, "--quiet takes no value"},
                 {2, {"c", "-x"}, "unknown option '-x'"},
                 {2, {"c", "-dq"}, "unknown option"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cliopt_args a;
        adt_err err = {0};
        ck_assert_int_eq(cliopt_parse(cases[i].argc, cases[i].argv, 1, opts, &a, &err), ADT_EINVAL);
        ck_assert_msg(strstr(err.msg, cases[i].msg) != NULL, "%s", err.msg);
    }
}
END_TEST

START_TEST(defaults)
{
    setenv("AUDITD_DATA_DIR", "/env/dir", 1);
    ck_assert_str_eq(cliopt_data_dir(NULL), "/env/dir");
    ck_assert_str_eq(cliopt_data_dir("given"), "given");
    unsetenv("AUDITD_DATA_DIR");
    ck_assert_str_eq(cliopt_data_dir(""), "./auditd-data");
    setenv("AUDITD_ACTOR", "alice", 1);
    setenv("USER", "bob", 1);
    ck_assert_str_eq(cliopt_actor(NULL), "alice");
    ck_assert_str_eq(cliopt_actor("carol"), "carol");
    unsetenv("AUDITD_ACTOR");
    ck_assert_str_eq(cliopt_actor(""), "bob");
    setenv("USER", "has space", 1);
    ck_assert_str_eq(cliopt_actor(NULL), "operator");
    unsetenv("USER");
    ck_assert_str_eq(cliopt_actor(NULL), "operator");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cliopt");
    TCase *tc = tcase_create("cliopt");
    tcase_add_test(tc, parse);
    tcase_add_test(tc, refused);
    tcase_add_test(tc, defaults);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
