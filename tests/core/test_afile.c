/* test_afile.c: bounded reads and atomic writes (afile.h). */
#include "afile.h"
#include "tsupport.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(write_read)
{
    char *dir = ts_tmpdir("afile");
    char path[4200];
    snprintf(path, sizeof path, "%s/a.txt", dir);
    adt_err err = {0};
    ck_assert_int_eq(afile_write(path, "hello", 5, 0600, &err), ADT_OK);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    buf b;
    buf_init(&b, 100);
    ck_assert_int_eq(afile_read(path, 100, &b, &err), ADT_OK);
    ck_assert_str_eq(b.data, "hello");
    /* replaced whole, with the new mode */
    ck_assert_int_eq(afile_write(path, "bye", 3, 0644, &err), ADT_OK);
    ck_assert_int_eq(afile_read(path, 100, &b, &err), ADT_OK);
    ck_assert_str_eq(b.data, "bye");
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0644);
    /* bounds and missing files */
    ck_assert_int_eq(afile_read(path, 2, &b, &err), ADT_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "limit"));
    snprintf(path, sizeof path, "%s/none", dir);
    ck_assert_int_eq(afile_read(path, 100, &b, &err), ADT_ENOTFOUND);
    /* an empty file is an empty text */
    snprintf(path, sizeof path, "%s/empty", dir);
    ck_assert_int_eq(afile_write(path, "", 0, 0600, &err), ADT_OK);
    ck_assert_int_eq(afile_read(path, 100, &b, &err), ADT_OK);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_ptr_nonnull(b.data);
    buf_free(&b);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(stage_publish_abort)
{
    char *dir = ts_tmpdir("afile");
    char path[4200];
    snprintf(path, sizeof path, "%s/policy.xml", dir);
    adt_err err = {0};
    ck_assert_int_eq(afile_write(path, "old", 3, 0600, &err), ADT_OK);
    afile_staged st;
    ck_assert_int_eq(afile_stage(&st, path, "new", 3, 0600, &err), ADT_OK);
    ck_assert_int_eq(access(st.tmp, F_OK), 0);
    buf b;
    buf_init(&b, 100);
    /* staged is not yet in force */
    ck_assert_int_eq(afile_read(path, 100, &b, &err), ADT_OK);
    ck_assert_str_eq(b.data, "old");
    afile_abort(&st);
    ck_assert_int_ne(access(st.tmp, F_OK), 0);
    ck_assert_int_eq(afile_read(path, 100, &b, &err), ADT_OK);
    ck_assert_str_eq(b.data, "old");
    ck_assert_int_eq(afile_publish(&st, &err), ADT_EINTERNAL);
    ck_assert_int_eq(afile_stage(&st, path, "new", 3, 0600, &err), ADT_OK);
    ck_assert_int_eq(afile_publish(&st, &err), ADT_OK);
    ck_assert_int_eq(afile_read(path, 100, &b, &err), ADT_OK);
    ck_assert_str_eq(b.data, "new");
    /* a directory that does not exist: nothing is left behind */
    snprintf(path, sizeof path, "%s/no/such", dir);
    ck_assert_int_eq(afile_write(path, "x", 1, 0600, &err), ADT_EIO);
    buf_free(&b);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("afile");
    TCase *tc = tcase_create("afile");
    tcase_add_test(tc, write_read);
    tcase_add_test(tc, stage_publish_abort);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
