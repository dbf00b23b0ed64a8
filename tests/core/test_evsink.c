/* test_evsink.c: the evidence sink (evsink.h): typed events become canonical
 * payloads, and every route (commit queue, handle, data directory, none)
 * appends them, the queue's listener seeing its commits. */
#include "evsink.h"
#include "tsupport.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

static void setup(void)
{
    dir = ts_tmpdir("evsink");
    adt_err err;
    ck_assert_int_eq(ledger_init(dir, "evsink.test/log", &err), ADT_OK);
}

static void teardown(void)
{
    ts_rmrf(dir);
    free(dir);
}

/* The payload of entry `index`, copied into out. */
static void payload_of(uint64_t index, char *out, size_t cap)
{
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    ck_assert_int_eq(ledger_entry(lg, index, &leaf, &err), ADT_OK);
    const char *p;
    size_t pl;
    ck_assert_int_eq(canon_member(leaf.data, leaf.len, "payload", &p, &pl), ADT_OK);
    ck_assert_uint_lt(pl, cap);
    memcpy(out, p, pl);
    out[pl] = '\0';
    buf_free(&leaf);
    ledger_close(lg);
}

START_TEST(members_are_canonical)
{
    evsink_event e;
    evsink_begin(&e, EVSINK_PIPELINE, "dataset.define", EVENT_WRITER_AUDITD, "ana");
    evsink_at(&e, 1782864000LL * 1000000); /* 2026-07-01T00:00:00Z */
    evsink_str(&e, "z", "last \"quoted\"");
    evsink_int(&e, "neg", -5);
    evsink_uint(&e, "big", UINT64_MAX);
    evsink_num(&e, "pi", 3.14159);
    evsink_num(&e, "tenth", 0.1);
    evsink_num(&e, "inf", INFINITY);
    evsink_bool(&e, "ok", true);
    evsink_index(&e, "none", EVSINK_NONE);
    evsink_time(&e, "at", 0);
    evsink_object(&e, "obj");
    evsink_str(&e, "b", "2");
    evsink_str(&e, "a", "1");
    evsink_end(&e);
    evsink_array(&e, "arr");
    evsink_str(&e, NULL, "x");
    evsink_uint(&e, NULL, 7);
    evsink_end(&e);
    evsink_json(&e, "raw", "{\"k\": [1, 2]}", 13);
    evsink s = {.data_dir = dir};
    uint64_t idx = 0;
    adt_err err;
    ck_assert_int_eq(evsink_record(&s, &e, 1, &idx, &err), ADT_OK);
    evsink_free(&e);
    ck_assert_uint_eq(idx, 0); /* init signs the empty tree and appends nothing */
    char p[2048];
    payload_of(idx, p, sizeof p);
    ck_assert_str_eq(p, "{\"actor\":\"ana\",\"arr\":[\"x\",7],\"at\":\"1970-01-01T00:00:00.000000Z\","
                        "\"big\":18446744073709551615,\"inf\":null,\"neg\":-5,\"none\":null,"
                        "\"obj\":{\"a\":\"1\",\"b\":\"2\"},\"ok\":true,\"pi\":3.14159,"
                        "\"raw\":{\"k\":[1,2]},\"tenth\":0.1,\"time\":\"2026-07-01T00:00:00.000000Z\","
                        "\"type\":\"dataset.define\",\"z\":\"last \\\"quoted\\\"\"}");
}
END_TEST

static uint64_t seen_first, seen_count;
static void listener(void *ctx, const ledger_commit *c)
{
    (void)ctx;
    seen_first = c->first;
    seen_count = c->count;
}

START_TEST(routes)
{
    adt_err err;
    uint64_t first;
    evsink_event e[2];
    for (int i = 0; i < 2; i++) {
        evsink_begin(&e[i], EVSINK_CONTROLS, "scope.change", EVENT_WRITER_AUDITD, "ana");
        evsink_int(&e[i], "n", i);
    }
    /* no ledger: nothing recorded, and it says so */
    evsink none = {0};
    ck_assert_int_eq(evsink_record(&none, e, 2, &first, &err), ADT_OK);
    ck_assert_uint_eq(first, EVSINK_NONE);
    /* a handle */
    ledger *lg;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    evsink h = {.lg = lg};
    ck_assert_int_eq(evsink_record(&h, e, 2, &first, &err), ADT_OK);
    ck_assert_uint_eq(first, 0);
    ledger_close(lg);
    /* the commit queue: its listener sees the append */
    commitq *q;
    ck_assert_int_eq(commitq_start(dir, NULL, &q, &err), ADT_OK);
    commitq_set_listener(q, listener, NULL);
    evsink cq = {.cq = q, .lg = NULL};
    ck_assert_int_eq(evsink_record(&cq, e, 2, &first, &err), ADT_OK);
    commitq_stop(q);
    ck_assert_uint_eq(first, 2);
    ck_assert_uint_eq(seen_first, 2);
    ck_assert_uint_eq(seen_count, 2);
    for (int i = 0; i < 2; i++)
        evsink_free(&e[i]);
    char p[512];
    payload_of(3, p, sizeof p);
    ck_assert_ptr_nonnull(strstr(p, "\"n\":1"));
    /* a directory without a ledger */
    evsink nowhere = {.data_dir = "/nonexistent/auditd"};
    evsink_event x;
    evsink_begin(&x, EVSINK_CONTROLS, "scope.change", EVENT_WRITER_AUDITD, "ana");
    ck_assert_int_eq(evsink_record(&nowhere, &x, 1, &first, &err), ADT_ENOTFOUND);
    evsink_free(&x);
}
END_TEST

START_TEST(refused)
{
    adt_err err;
    evsink s = {.data_dir = dir};
    evsink_event e;
    /* a writer not allowed for the type */
    evsink_begin(&e, EVSINK_MODELS, "model.deploy", EVENT_WRITER_EDGE, "ana");
    ck_assert_int_eq(evsink_record(&s, &e, 1, NULL, &err), ADT_EFORBIDDEN);
    evsink_free(&e);
    /* an unclosed object */
    evsink_begin(&e, EVSINK_MODELS, "model.deploy", EVENT_WRITER_AUDITD, "ana");
    evsink_object(&e, "o");
    ck_assert_int_eq(evsink_record(&s, &e, 1, NULL, &err), ADT_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "model.deploy"));
    evsink_free(&e);
    /* a member twice */
    evsink_begin(&e, EVSINK_MODELS, "model.deploy", EVENT_WRITER_AUDITD, "ana");
    evsink_str(&e, "actor", "bob");
    ck_assert_int_eq(evsink_record(&s, &e, 1, NULL, &err), ADT_EINVAL);
    evsink_free(&e);
    /* too large: the failure is kept until recorded */
    evsink_begin(&e, EVSINK_MODELS, "model.deploy", EVENT_WRITER_AUDITD, "ana");
    char *big = malloc(LEDGER_MAX_LEAF);
    memset(big, 'a', LEDGER_MAX_LEAF - 1);
    big[LEDGER_MAX_LEAF - 1] = '\0';
    evsink_str(&e, "big", big);
    evsink_str(&e, "after", "x");
    ck_assert_int_eq(evsink_record(&s, &e, 1, NULL, &err), ADT_ETOOBIG);
    free(big);
    evsink_free(&e);
    /* nothing of the refused events reached the ledger */
    ledger *lg;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    uint64_t size;
    ck_assert_int_eq(ledger_size(lg, &size, &err), ADT_OK);
    ck_assert_uint_eq(size, 0);
    ledger_close(lg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("evsink");
    TCase *tc = tcase_create("evsink");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, members_are_canonical);
    tcase_add_test(tc, routes);
    tcase_add_test(tc, refused);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
