/* test_codec.c: hex and base64 (codec.h), strict decoding. */
#include "codec.h"

#include <check.h>
#include <string.h>

START_TEST(round_trip)
{
    const uint8_t bin[5] = {0x00, 0x01, 0xab, 0xff, 0x7f};
    char hex[CODEC_HEX_LEN(5)], b64[CODEC_B64_LEN(5)];
    ck_assert_str_eq(codec_hex(bin, 5, hex, sizeof hex), "0001abff7f");
    ck_assert_str_eq(codec_b64(bin, 5, b64, sizeof b64), "AAGr/38=");
    uint8_t back[8];
    size_t n = 0;
    adt_err err = {0};
    ck_assert_int_eq(codec_unhex(hex, strlen(hex), back, sizeof back, 0, &n, &err), ADT_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(memcmp(back, bin, 5), 0);
    ck_assert_int_eq(codec_unhex("0001ABFF7F", 10, back, sizeof back, 5, NULL, &err), ADT_OK);
    ck_assert_int_eq(memcmp(back, bin, 5), 0);
    ck_assert_int_eq(codec_unb64(b64, strlen(b64), back, sizeof back, 5, &n, &err), ADT_OK);
    ck_assert_int_eq(memcmp(back, bin, 5), 0);
    /* RFC 4648 section 10 vectors */
    ck_assert_str_eq(codec_b64("foobar", 6, b64, sizeof b64), "Zm9vYmFy");
    ck_assert_str_eq(codec_b64("f", 1, b64, sizeof b64), "Zg==");
    /* too small an output buffer gives "" rather than a cut text */
    char tiny[4];
    ck_assert_str_eq(codec_hex(bin, 5, tiny, sizeof tiny), "");
}
END_TEST

START_TEST(is_hex)
{
    char hex[CODEC_HEX_LEN(32)];
    uint8_t d[32];
    for (int i = 0; i < 32; i++)
        d[i] = (uint8_t)(i * 37);
    codec_hex(d, 32, hex, sizeof hex);
    ck_assert(codec_is_hex(hex, 64));
    ck_assert(!codec_is_hex(hex, 63)); /* the length is exact */
    hex[5] = 'A';                      /* lowercase only: what auditd writes */
    ck_assert(!codec_is_hex(hex, 64));
    hex[5] = 'g';
    ck_assert(!codec_is_hex(hex, 64));
    ck_assert(!codec_is_hex(NULL, 0));
    ck_assert(codec_is_hex("", 0));
}
END_TEST

START_TEST(refused)
{
    uint8_t out[32];
    adt_err err = {0};
    const char *badhex[] = {"0", "0g", "00 ", " 00", "0x00"};
    for (size_t i = 0; i < sizeof badhex / sizeof badhex[0]; i++)
        ck_assert_msg(codec_unhex(badhex[i], strlen(badhex[i]), out, sizeof out, 0, NULL, &err) ==
                          ADT_EINVAL,
                      "%s", badhex[i]);
    ck_assert_int_eq(codec_unhex("0011", 4, out, sizeof out, 3, NULL, &err), ADT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "not 3"));
    ck_assert_int_eq(codec_unhex("001122", 6, out, 2, 0, NULL, &err), ADT_EINVAL);
    const char *badb64[] = {"Zg", "Zg=", "Zg===", "Z g==", "Zm9v\n", "Zm9v_-==", "@@@@"};
    for (size_t i = 0; i < sizeof badb64 / sizeof badb64[0]; i++)
        ck_assert_msg(codec_unb64(badb64[i], strlen(badb64[i]), out, sizeof out, 0, NULL, &err) ==
                          ADT_EINVAL,
                      "%s", badb64[i]);
    ck_assert_int_eq(codec_unb64("Zm9vYmFy", 8, out, sizeof out, 32, NULL, &err), ADT_EINVAL);
    ck_assert_int_eq(codec_unb64("Zm9vYmFy", 8, out, 3, 0, NULL, &err), ADT_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, is_hex);
    tcase_add_test(tc, refused);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
