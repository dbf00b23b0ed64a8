/* test_sqldb.c: SQLite connections and their errors (sqldb.h). */
#include "sqldb.h"
#include "tsupport.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *pragma_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

START_TEST(open_modes)
{
    char *dir = ts_tmpdir("sqldb");
    char sub[4200], v[64];
    snprintf(sub, sizeof sub, "%s/new", dir);
    sqlite3 *db;
    adt_err err = {0};
    /* missing files are named with the hint */
    ck_assert_int_eq(sqldb_open(sub, "x.db", SQLDB_READ, SQLDB_DURABLE, "run 'auditd init'", &db,
                                &err),
                     ADT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "x.db"));
    ck_assert_ptr_nonnull(strstr(err.msg, "auditd init"));
    ck_assert_int_eq(sqldb_open(sub, "x.db", SQLDB_CREATE, SQLDB_DURABLE, NULL, &db, &err), ADT_OK);
    ck_assert_str_eq(pragma_text(db, "PRAGMA journal_mode", v, sizeof v), "wal");
    ck_assert_str_eq(pragma_text(db, "PRAGMA synchronous", v, sizeof v), "2"); /* FULL */
    ck_assert_str_eq(pragma_text(db, "PRAGMA busy_timeout", v, sizeof v), "10000");
    ck_assert_int_eq(sqldb_exec(db, "CREATE TABLE t(a)", "creating", &err), ADT_OK);
    sqldb_close(db);
    ck_assert_int_eq(sqldb_open(sub, "x.db", SQLDB_WRITE, SQLDB_REBUILDABLE, NULL, &db, &err),
                     ADT_OK);
    ck_assert_str_eq(pragma_text(db, "PRAGMA synchronous", v, sizeof v), "1"); /* NORMAL */
    sqldb_close(db);
    ck_assert_int_eq(sqldb_open(sub, "x.db", SQLDB_READ, SQLDB_DURABLE, NULL, &db, &err), ADT_OK);
    ck_assert_int_eq(sqldb_exec(db, "INSERT INTO t VALUES(1)", "inserting", &err), ADT_EIO);
    ck_assert_msg(strncmp(err.msg, "x.db: inserting: ", 17) == 0, "%s", err.msg);
    sqldb_close(db);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(errors_and_transactions)
{
    char *dir = ts_tmpdir("sqldb");
    sqlite3 *a, *b;
    adt_err err = {0};
    ck_assert_int_eq(sqldb_open(dir, "t.db", SQLDB_CREATE, SQLDB_DURABLE, NULL, &a, &err), ADT_OK);
    ck_assert_int_eq(sqldb_open(dir, "t.db", SQLDB_WRITE, SQLDB_DURABLE, NULL, &b, &err), ADT_OK);
    sqlite3_busy_timeout(b, 10); /* keep the test fast */
    sqlite3_stmt *st;
    ck_assert_int_eq(sqldb_prepare(a, "SELEKT", &st, &err), ADT_EIO);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(err.msg, "preparing a statement"));
    ck_assert_int_eq(sqldb_exec(a, "CREATE TABLE t(a)", "creating", &err), ADT_OK);
    ck_assert_int_eq(sqldb_begin(a, &err), ADT_OK);
    ck_assert_int_eq(sqldb_begin(b, &err), ADT_EBUSY); /* a holds the write lock */
    ck_assert_int_eq(sqldb_exec(a, "INSERT INTO t VALUES(1)", "inserting", &err), ADT_OK);
    sqldb_rollback(a);
    sqldb_rollback(a); /* harmless without a transaction */
    ck_assert_int_eq(sqldb_begin(b, &err), ADT_OK);
    ck_assert_int_eq(sqldb_exec(b, "INSERT INTO t VALUES(2)", "inserting", &err), ADT_OK);
    ck_assert_int_eq(sqldb_commit(b, &err), ADT_OK);
    sqldb_close(a);
    sqldb_close(b);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(prepare_texts)
{
    sqlite3 *db;
    adt_err err = {0};
    ck_assert_int_eq(sqldb_open(NULL, "mem", SQLDB_CREATE, SQLDB_REBUILDABLE, NULL, &db, &err),
                     ADT_OK);
    const char *texts[] = {"a", "b", NULL};
    sqlite3_stmt *st;
    int n = -1;
    ck_assert_int_eq(sqldb_prepare_texts(db, "SELECT ?1 || ?2 || ?3", texts, &st, &n, &err),
                     ADT_OK);
    ck_assert_int_eq(n, 2); /* the caller binds ?3 */
    sqlite3_bind_int(st, n + 1, 7);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ab7");
    sqlite3_finalize(st);
    ck_assert_int_eq(sqldb_prepare_texts(db, "SELEKT ?1", texts, &st, NULL, &err), ADT_EIO);
    ck_assert_ptr_null(st);
    sqldb_close(db);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sqldb");
    TCase *tc = tcase_create("sqldb");
    tcase_add_test(tc, open_modes);
    tcase_add_test(tc, errors_and_transactions);
    tcase_add_test(tc, prepare_texts);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
