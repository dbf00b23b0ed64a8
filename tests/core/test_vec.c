/* test_vec.c: room in a growable array (vec.h). */
#include "vec.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

START_TEST(grows_by_doubling)
{
    int *a = NULL;
    size_t cap = 0;
    for (size_t n = 0; n < 1000; n++) {
        int *na = vec_room(a, &cap, n, sizeof *a, 64);
        ck_assert_ptr_nonnull(na);
        a = na;
        a[n] = (int)n;
        ck_assert_uint_gt(cap, n);
        if (n < 64)
            ck_assert_uint_eq(cap, 64); /* `first` the first time */
    }
    ck_assert_uint_eq(cap, 1024); /* 64, 128, ..., 1024 */
    for (size_t n = 0; n < 1000; n++)
        ck_assert_int_eq(a[n], (int)n);
    /* room already there: the same array, the same capacity */
    ck_assert_ptr_eq(vec_room(a, &cap, 1000, sizeof *a, 64), a);
    ck_assert_uint_eq(cap, 1024);
    free(a);
}
END_TEST

START_TEST(overflow_leaves_the_array)
{
    char *a = malloc(8);
    ck_assert_ptr_nonnull(a);
    size_t cap = 8;
    /* an element count whose bytes do not fit a size_t */
    ck_assert_ptr_null(vec_room(a, &cap, 8, SIZE_MAX / 4, 1));
    ck_assert_uint_eq(cap, 8);
    ck_assert_ptr_null(vec_room(a, &cap, SIZE_MAX / 2 + 1, 1, 1));
    ck_assert_uint_eq(cap, 8);
    free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, grows_by_doubling);
    tcase_add_test(tc, overflow_leaves_the_array);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
