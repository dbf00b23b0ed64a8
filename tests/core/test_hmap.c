/* test_hmap.c: the string-keyed hash map (hmap.h) against a plain array. */
#include "hmap.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int freed;
static void count_free(void *v)
{
    (void)v;
    freed++;
}

START_TEST(put_get_del)
{
    hmap m;
    hmap_init(&m);
    ck_assert_ptr_null(hmap_gets(&m, "x"));
    ck_assert_ptr_null(hmap_del(&m, "x", 1));
    enum { N = 5000 };
    static int vals[N];
    char key[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "device-%d", i);
        vals[i] = i;
        ck_assert_int_eq(hmap_put(&m, key, strlen(key), &vals[i], NULL), 0);
    }
    ck_assert_uint_eq(hmap_count(&m), N);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "device-%d", i);
        int *v = hmap_gets(&m, key);
        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(*v, i);
    }
    /* a span inside a larger text finds the key */
    const char *text = "xxdevice-42yy";
    ck_assert_ptr_eq(hmap_get(&m, text + 2, 9), &vals[42]);
    /* replacing returns the old value */
    void *old = NULL;
    ck_assert_int_eq(hmap_put(&m, "device-7", 8, &vals[8], &old), 0);
    ck_assert_ptr_eq(old, &vals[7]);
    ck_assert_uint_eq(hmap_count(&m), N);
    /* delete every even key; the odd ones stay findable across tombstones */
    for (int i = 0; i < N; i += 2) {
        snprintf(key, sizeof key, "device-%d", i);
        ck_assert_ptr_nonnull(hmap_del(&m, key, strlen(key)));
    }
    ck_assert_uint_eq(hmap_count(&m), N / 2);
    for (int i = 1; i < N; i += 2) {
        snprintf(key, sizeof key, "device-%d", i);
        ck_assert_ptr_nonnull(hmap_gets(&m, key));
    }
    /* reinsert over tombstones */
    for (int i = 0; i < N; i += 2) {
        snprintf(key, sizeof key, "device-%d", i);
        void **slot = hmap_slot_of(&m, key, strlen(key));
        ck_assert_ptr_nonnull(slot);
        ck_assert_ptr_null(*slot);
        *slot = &vals[i];
    }
    size_t it = 0, seen = 0;
    const char *k;
    size_t kl;
    void *v;
    while (hmap_next(&m, &it, &k, &kl, &v)) {
        ck_assert_uint_eq(strlen(k), kl);
        seen++;
    }
    ck_assert_uint_eq(seen, N);
    ck_assert_str_eq(hmap_key(&m, "device-3", 8), "device-3");
    freed = 0;
    hmap_free(&m, count_free);
    ck_assert_int_eq(freed, N);
    ck_assert_uint_eq(hmap_count(&m), 0);
}
END_TEST

START_TEST(binary_keys)
{
    hmap m;
    hmap_init(&m);
    int a = 1, b = 2, c = 3;
    ck_assert_int_eq(hmap_put(&m, "a\0b", 3, &a, NULL), 0);
    ck_assert_int_eq(hmap_put(&m, "a", 1, &b, NULL), 0);
    ck_assert_int_eq(hmap_put(&m, "", 0, &c, NULL), 0);
    ck_assert_ptr_eq(hmap_get(&m, "a\0b", 3), &a);
    ck_assert_ptr_eq(hmap_get(&m, "a", 1), &b);
    ck_assert_ptr_eq(hmap_get(&m, "", 0), &c);
    hmap_free(&m, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hmap");
    TCase *tc = tcase_create("hmap");
    tcase_add_test(tc, put_get_del);
    tcase_add_test(tc, binary_keys);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
