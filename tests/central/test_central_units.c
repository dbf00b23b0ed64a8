/* test_central_units.c: the parsers of a site's answers (sitelog.h), which read
 * bytes the central tier does not trust, and URL checks. No network. */
#include "note.h"
#include "sitelog.h"

#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char H32[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; /* bytes 0..31 */

static int proof(const char *json, size_t *n)
{
    merkle_hash h[MERKLE_MAX_PROOF];
    adt_err err;
    return sitelog_parse_proof(json, strlen(json), h, n, &err);
}

START_TEST(test_parse_proof)
{
    size_t n = 99;
    char j[512];
    snprintf(j, sizeof j, "{\"first\":1,\"second\":2,\"hashes\":[\"%s\",\"%s\"]}", H32, H32);
    ck_assert_int_eq(proof(j, &n), ADT_OK);
    ck_assert_uint_eq(n, 2);
    merkle_hash h[MERKLE_MAX_PROOF];
    adt_err err;
    ck_assert_int_eq(sitelog_parse_proof(j, strlen(j), h, &n, &err), ADT_OK);
    ck_assert_int_eq(h[1][31], 31);
    ck_assert_int_eq(proof("{\"hashes\":[]}", &n), ADT_OK);
    ck_assert_uint_eq(n, 0);
    const char *bad[] = {"", "[]", "{}", "{\"hashes\":{}}", "{\"hashes\":[1]}",
                         "{\"hashes\":[\"AAAA\"]}", "{\"hashes\":[\"!!!\"]}",
                         "{\"hashes\":[\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"]}", "{\"hashes\":["};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(proof(bad[i], &n) != ADT_OK, "accepted %s", bad[i]);
    /* More than MERKLE_MAX_PROOF hashes. */
    size_t cap = (MERKLE_MAX_PROOF + 2) * 50 + 32;
    char *big = malloc(cap);
    size_t o = (size_t)snprintf(big, cap, "{\"hashes\":[");
    for (int i = 0; i <= MERKLE_MAX_PROOF; i++)
        o += (size_t)snprintf(big + o, cap - o, "%s\"%s\"", i ? "," : "", H32);
    snprintf(big + o, cap - o, "]}");
    ck_assert_int_eq(proof(big, &n), ADT_EINVAL);
    free(big);
}
END_TEST

/* A page from a textual description: each item is a leaf, or "#N" for a raw
 * 4-byte length N with no bytes after it. */
static int entries(const char *const *items, size_t n, const char *tail, size_t tail_len,
                   uint64_t start, uint64_t end, sitelog_page *p)
{
    buf_reset(&p->data);
    for (size_t i = 0; i < n; i++) {
        uint32_t l = (uint32_t)strlen(items[i]);
        if (items[i][0] == '#')
            l = (uint32_t)strtoul(items[i] + 1, NULL, 10);
        uint8_t be[4] = {(uint8_t)(l >> 24), (uint8_t)(l >> 16), (uint8_t)(l >> 8), (uint8_t)l};
        buf_append(&p->data, be, 4);
        if (items[i][0] != '#')
            buf_append(&p->data, items[i], strlen(items[i]));
    }
    if (tail)
        buf_append(&p->data, tail, tail_len);
    adt_err err;
    return sitelog_parse_entries(p, start, end, &err);
}

START_TEST(test_parse_entries)
{
    sitelog_page p;
    sitelog_page_init(&p);
    const char *two[] = {"{\"a\":1}", "x"};
    ck_assert_int_eq(entries(two, 2, NULL, 0, 5, 9, &p), ADT_OK);
    ck_assert_uint_eq(p.start, 5);
    ck_assert_uint_eq(p.count, 2);
    ck_assert_uint_eq(p.len[0], 7);
    ck_assert(!memcmp(p.data.data + p.off[0], "{\"a\":1}", 7));
    ck_assert_uint_eq(p.len[1], 1);
    ck_assert_int_eq(p.data.data[p.off[1]], 'x');
    /* Empty page, more entries than asked for, a zero or oversized length, a
     * page cut inside a length or a leaf. */
    ck_assert_int_eq(entries(NULL, 0, NULL, 0, 5, 9, &p), ADT_EINVAL);
    ck_assert_int_eq(entries(two, 2, NULL, 0, 5, 6, &p), ADT_EINVAL);
    ck_assert_uint_eq(p.count, 0);
    const char *zero[] = {"#0"};
    ck_assert_int_eq(entries(zero, 1, NULL, 0, 5, 9, &p), ADT_EINVAL);
    const char *huge[] = {"#4294967295"};
    ck_assert_int_eq(entries(huge, 1, NULL, 0, 5, 9, &p), ADT_EINVAL);
    ck_assert_int_eq(entries(two, 2, "\0\0", 2, 5, 9, &p), ADT_EINVAL);
    const char *cut[] = {"x", "#10"};
    ck_assert_int_eq(entries(cut, 2, "abc", 3, 5, 9, &p), ADT_EINVAL);
    ck_assert_uint_eq(p.count, 0);
    sitelog_page_free(&p);
}
END_TEST

START_TEST(test_url_and_token)
{
    adt_err err;
    ck_assert_int_eq(sitelog_url_check("http://127.0.0.1:8080", &err), ADT_OK);
    ck_assert_int_eq(sitelog_url_check("https://plant-1.example/auditd/", &err), ADT_OK);
    const char *bad[] = {"", "127.0.0.1:8080", "ftp://x", "http://a b", "http://x/?q=1",
                         "http://x/#f", "http://x\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(sitelog_url_check(bad[i], &err) == ADT_EINVAL, "accepted %s", bad[i]);
    sitelog *s = NULL;
    ck_assert_int_eq(sitelog_open("http://127.0.0.1:1", "", &s, &err), ADT_EINVAL);
    ck_assert_int_eq(sitelog_open("http://127.0.0.1:1", "a b", &s, &err), ADT_EINVAL);
    ck_assert_int_eq(sitelog_open("http://127.0.0.1:1", "adt_x", &s, &err), ADT_OK);
    /* Nothing listens on port 1: a clear transport error naming the URL. */
    char note[NOTE_MAX];
    size_t nl;
    ck_assert_int_eq(sitelog_checkpoint(s, note, sizeof note, &nl, &err), ADT_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "http://127.0.0.1:1/v1/log/checkpoint"));
    sitelog_close(s);
}
END_TEST

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("central_units");
    TCase *tc = tcase_create("sitelog");
    tcase_add_test(tc, test_parse_proof);
    tcase_add_test(tc, test_parse_entries);
    tcase_add_test(tc, test_url_and_token);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
