/* sqldb.c: SQLite connections and errors (sqldb.h). */
#include "sqldb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The file name part of the connection's main database, for messages. */
static const char *db_name(sqlite3 *db)
{
    const char *path = db ? sqlite3_db_filename(db, "main") : NULL;
    if (!path || !*path)
        return "database";
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int sqldb_fail(sqlite3 *db, const char *what, adt_err *err)
{
    int ec = db ? sqlite3_errcode(db) : SQLITE_NOMEM;
    int code = (ec == SQLITE_BUSY || ec == SQLITE_LOCKED)     ? ADT_EBUSY
               : (ec == SQLITE_CORRUPT || ec == SQLITE_NOTADB) ? ADT_ECORRUPT
                                                               : ADT_EIO;
    return adt_fail(err, code, "%s: %s: %s", db_name(db), what,
                    db ? sqlite3_errmsg(db) : "out of memory");
}

int sqldb_exec(sqlite3 *db, const char *sql, const char *what, adt_err *err)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return sqldb_fail(db, what, err);
    return ADT_OK;
}

int sqldb_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, adt_err *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return sqldb_fail(db, "preparing a statement", err);
    }
    return ADT_OK;
}

int sqldb_prepare_texts(sqlite3 *db, const char *sql, const char *const *texts,
                        sqlite3_stmt **st, int *n, adt_err *err)
{
    int rc = sqldb_prepare(db, sql, st, err);
    int k = 0;
    for (; !rc && texts[k]; k++)
        sqlite3_bind_text(*st, k + 1, texts[k], -1, SQLITE_STATIC);
    if (n)
        *n = k;
    return rc;
}

int sqldb_begin(sqlite3 *db, adt_err *err)
{
    return sqldb_exec(db, "BEGIN IMMEDIATE", "starting a transaction", err);
}

int sqldb_commit(sqlite3 *db, adt_err *err)
{
    return sqldb_exec(db, "COMMIT", "committing", err);
}

void sqldb_rollback(sqlite3 *db)
{
    if (db && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int sqldb_open(const char *dir, const char *file, sqldb_mode mode, sqldb_sync sync,
               const char *missing_hint, sqlite3 **out, adt_err *err)
{
    *out = NULL;
    if (!dir) {
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK) {
            sqlite3_close(db);
            return adt_fail(err, ADT_ENOMEM, "%s: cannot open an in-memory database", file);
        }
        *out = db;
        return ADT_OK;
    }
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof path)
        return adt_fail(err, ADT_EINVAL, "data directory path too long (%zu bytes)", strlen(dir));
    struct stat sb;
    if (mode != SQLDB_CREATE && stat(path, &sb) != 0)
        return adt_fail(err, ADT_ENOTFOUND, "no %s in %s%s%s", file, dir,
                        missing_hint ? ": " : "", missing_hint ? missing_hint : "");
    if (mode == SQLDB_CREATE && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return adt_fail(err, ADT_EIO, "cannot create the data directory %s: %s", dir,
                        strerror(errno));
    int flags = SQLITE_OPEN_NOMUTEX |
                (mode == SQLDB_READ    ? SQLITE_OPEN_READONLY
                 : mode == SQLDB_WRITE ? SQLITE_OPEN_READWRITE
                                       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        int rc = adt_fail(err, ADT_EIO, "cannot open %s: %s", path,
                          db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, SQLDB_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db, 0);
    if (mode != SQLDB_READ) {
        const char *pragmas = sync == SQLDB_DURABLE
                                  ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                  : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
        int rc = sqldb_exec(db, pragmas, "setting WAL mode", err);
        if (rc) {
            sqlite3_close(db);
            return rc;
        }
    }
    *out = db;
    return ADT_OK;
}

void sqldb_close(sqlite3 *db)
{
    if (db)
        sqlite3_close(db);
}
