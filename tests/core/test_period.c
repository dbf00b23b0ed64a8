/* test_period.c: the one period grammar (period.h) and the previous period. */
#include "period.h"

#include <check.h>
#include <string.h>

#define D (86400LL * 1000000)
#define JUL1_2026 (1782864000LL * 1000000) /* 2026-07-01T00:00:00Z */

static period_spec parse_ok(const char *s)
{
    period_spec p;
    adt_err err = {0};
    ck_assert_msg(period_parse(s, &p, &err) == ADT_OK, "%s: %s", s, err.msg);
    return p;
}

START_TEST(forms)
{
    period_spec p = parse_ok("2026-Q3");
    ck_assert_int_eq(p.kind, PERIOD_QUARTER);
    ck_assert_int_eq(p.from_us, JUL1_2026);
    ck_assert_int_eq(p.to_us - p.from_us, 92 * D);
    ck_assert_str_eq(p.label, "2026-Q3");
    p = parse_ok("2026-q4");
    ck_assert_str_eq(p.label, "2026-Q4");
    ck_assert_int_eq(p.to_us, 1798761600LL * 1000000); /* 2027-01-01 */
    p = parse_ok("2026-07");
    ck_assert_int_eq(p.kind, PERIOD_MONTH);
    ck_assert_int_eq(p.from_us, JUL1_2026);
    ck_assert_int_eq(p.to_us - p.from_us, 31 * D);
    ck_assert_int_eq(parse_ok("2024-02").to_us - parse_ok("2024-02").from_us, 29 * D);
    p = parse_ok("2026");
    ck_assert_int_eq(p.kind, PERIOD_YEAR);
    ck_assert_int_eq(p.to_us - p.from_us, 365 * D);
    p = parse_ok("2026-07-01..2026-09-30");
    ck_assert_int_eq(p.kind, PERIOD_RANGE);
    ck_assert_int_eq(p.from_us, JUL1_2026);
    ck_assert_int_eq(p.to_us - p.from_us, 92 * D);
    ck_assert_str_eq(p.label, "2026-07-01..2026-09-30");
    p = parse_ok("2026-12-31..2027-01-01");
    ck_assert_int_eq(p.to_us - p.from_us, 2 * D);
}
END_TEST

START_TEST(previous)
{
    static const struct {
        const char *in, *prev;
    } cases[] = {
        {"2026-Q3", "2026-Q2"}, {"2026-Q1", "2025-Q4"},   {"2026-07", "2026-06"},
        {"2026-01", "2025-12"}, {"2026", "2025"},
        {"2026-07-01..2026-09-30", "2026-03-31..2026-06-30"},
        {"2026-03-01..2026-03-01", "2026-02-28..2026-02-28"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        period_spec p = parse_ok(cases[i].in), q;
        period_previous(&p, &q);
        ck_assert_msg(!strcmp(q.label, cases[i].prev), "%s: previous %s, want %s", cases[i].in,
                      q.label, cases[i].prev);
        ck_assert_int_eq(q.to_us, p.from_us);
        ck_assert_int_eq(q.kind, p.kind);
        /* the label parses back to the same window */
        period_spec r = parse_ok(q.label);
        ck_assert_int_eq(r.from_us, q.from_us);
        ck_assert_int_eq(r.to_us, q.to_us);
    }
}
END_TEST

START_TEST(refused)
{
    const char *bad[] = {"",        "2026-Q5",   "2026-Q0", "2026-13", "2026-00", "26-07", "Q3",
                         "2026-7",  "2026-Q3 ",  " 2026",   "1969-Q1", "9999",    "2026-02-30..2026-03-01",
                         "2026-09-30..2026-07-01", "2026-07-01..", "2000-01-01..2026-01-01",
                         "2026-07-01...2026-07-02", "2026-07-01..2026-07-1x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        period_spec p;
        adt_err err = {0};
        ck_assert_msg(period_parse(bad[i], &p, &err) == ADT_EINVAL, "'%s' accepted", bad[i]);
        ck_assert_msg(strstr(err.msg, "period") != NULL, "%s: %s", bad[i], err.msg);
    }
    period_spec p;
    adt_err err = {0};
    ck_assert_int_eq(period_parse(NULL, &p, &err), ADT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "2026-Q3")); /* the message shows the forms */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("period");
    TCase *tc = tcase_create("period");
    tcase_add_test(tc, forms);
    tcase_add_test(tc, previous);
    tcase_add_test(tc, refused);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
