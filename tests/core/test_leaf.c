/* test_leaf.c: typed views of ledger entries (leaf.h) over leaves the
 * ledger wrote, and refusal of leaves it did not write. */
#include "canon.h"
#include "leaf.h"
#include "ledger.h"
#include "tsupport.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return 1782864000LL * 1000000; /* 2026-07-01T00:00:00Z */
}

START_TEST(views_of_written_leaves)
{
    char *dir = ts_tmpdir("leaf");
    adt_err err;
    ck_assert_int_eq(ledger_init(dir, "leaf.test/log", &err), ADT_OK);
    ledger *lg;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    ledger_set_clock(lg, fixed_clock, NULL);
    const char *p0 = "{\"type\":\"firmware.deploy\",\"time\":\"2026-07-02T10:00:00Z\","
                     "\"actor\":\"gr\\u00e4ce \\\"g\\\"\",\"version\":\"1.2\"}";
    const char *p1 = "{\"type\":\"x-note\",\"time\":\"bad\",\"text\":\"no actor\"}";
    const char *sig = "{\"alg\":\"ed25519\",\"seq\":7}";
    ledger_item items[2] = {
        {.source = "agent:gw-1", .type = "firmware.deploy", .payload = p0,
         .payload_len = strlen(p0), .sig = sig, .sig_len = strlen(sig),
         .writer = EVENT_WRITER_EDGE},
        {.source = "cli \"q\"", .type = "x-note", .payload = p1, .payload_len = strlen(p1),
         .writer = EVENT_WRITER_ADMIN}};
    ledger_commit c;
    ck_assert_int_eq(ledger_append(lg, items, 2, &c, &err), ADT_OK);
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    leaf_view v;
    ck_assert_int_eq(ledger_entry(lg, 0, &leaf, &err), ADT_OK);
    ck_assert_int_eq(leaf_parse(leaf.data, leaf.len, 0, &v, &err), ADT_OK);
    ck_assert_str_eq(v.type, "firmware.deploy");
    ck_assert_str_eq(v.source, "agent:gw-1");
    ck_assert_int_eq(v.writer, EVENT_WRITER_EDGE);
    ck_assert_str_eq(v.actor, "gr\xc3\xa4" "ce \"g\"");
    ck_assert(v.has_time);
    ck_assert_int_eq(v.time_us, 1782986400LL * 1000000);
    ck_assert_int_eq(v.recorded_us, 1782864000LL * 1000000);
    ck_assert(v.has_sig);
    ck_assert_int_eq(strncmp(v.sig, "{\"alg\":\"ed25519\",\"seq\":7}", v.sig_len), 0);
    ck_assert(v.payload > leaf.data && v.payload + v.payload_len < leaf.data + leaf.len);
    ck_assert_int_eq(v.payload[0], '{');
    ck_assert_int_eq(v.payload[v.payload_len - 1], '}');
    char ver[16];
    ck_assert_int_eq(leaf_payload_str(&v, "version", ver, sizeof ver), ADT_OK);
    ck_assert_str_eq(ver, "1.2");
    ck_assert_int_eq(leaf_payload_str(&v, "none", ver, sizeof ver), ADT_ENOTFOUND);
    ck_assert_int_eq(leaf_payload_str(&v, "version", ver, 2), ADT_ETOOBIG);
    /* the chain fields agree */
    const char *prev;
    size_t pl;
    uint64_t seq;
    ck_assert(leaf_chain(leaf.data, leaf.len, &prev, &pl, &seq));
    ck_assert_uint_eq(pl, 0);
    ck_assert_uint_eq(seq, 0);
    ck_assert_int_eq(ledger_entry(lg, 1, &leaf, &err), ADT_OK);
    ck_assert_int_eq(leaf_parse(leaf.data, leaf.len, 1, &v, &err), ADT_OK);
    ck_assert_str_eq(v.source, "cli \"q\"");
    ck_assert_str_eq(v.actor, "");
    ck_assert(!v.has_time);
    ck_assert(!v.has_sig);
    ck_assert(leaf_chain(leaf.data, leaf.len, &prev, &pl, &seq));
    ck_assert_uint_eq(pl, 64);
    ck_assert_uint_eq(seq, 1);
    /* at the wrong index it is refused */
    ck_assert_int_eq(leaf_parse(leaf.data, leaf.len, 2, &v, &err), ADT_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "entry 2"));
    buf_free(&leaf);
    ledger_close(lg);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(refused)
{
    static const char *const bad[] = {
        "",
        "{}",
        "{\"payload\":[],\"prev\":\"\",\"recorded_at\":\"2026-07-01T00:00:00Z\",\"seq\":0,"
        "\"source\":\"s\",\"type\":\"t\"}",
        "{\"payload\":{},\"prev\":\"\",\"recorded_at\":\"yesterday\",\"seq\":0,\"source\":\"s\","
        "\"type\":\"t\"}",
        "{\"payload\":{},\"prev\":\"\",\"recorded_at\":\"2026-07-01T00:00:00Z\",\"seq\":1,"
        "\"source\":\"s\",\"type\":\"t\"}",
        "{\"payload\":{},\"prev\":\"\",\"recorded_at\":\"2026-07-01T00:00:00Z\",\"seq\":0,"
        "\"source\":\"s\",\"type\":\"t\",\"writer\":\"nobody\"}",
        "{\"payload\":{},\"prev\":\"\",\"recorded_at\":\"2026-07-01T00:00:00Z\",\"seq\":0,"
        "\"source\":\"s\",\"type\":\"t\"} ",
        "{\"payload\":{},\"prev\":\"\",\"recorded_at\":\"2026-07-01T00:00:00Z\",\"seq\":0,"
        "\"source\":\"s\",\"type\":\"t\\ud800\"}",
        "{\"payload\":{\"a\":\"unterminated},\"prev\":\"\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        leaf_view v;
        adt_err err;
        ck_assert_msg(leaf_parse(bad[i], strlen(bad[i]), 0, &v, &err) == ADT_ECORRUPT, "%s",
                      bad[i]);
    }
    const char *ok = "{\"payload\":{},\"prev\":\"\",\"recorded_at\":\"2026-07-01T00:00:00Z\","
                     "\"seq\":0,\"source\":\"s\",\"type\":\"t\"}";
    leaf_view v;
    adt_err err;
    ck_assert_int_eq(leaf_parse(ok, strlen(ok), 0, &v, &err), ADT_OK);
    ck_assert_int_eq(v.writer, EVENT_WRITER_NONE); /* an older ledger's entry */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("leaf");
    TCase *tc = tcase_create("leaf");
    tcase_add_test(tc, views_of_written_leaves);
    tcase_add_test(tc, refused);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
