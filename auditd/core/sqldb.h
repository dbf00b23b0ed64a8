/* sqldb.h: how auditd opens its SQLite files, and SQLite errors as statuses.
 *
 * Every database of a data directory (docs/architecture.md) is opened here,
 * so they all behave the same: WAL (readers never block the writer, and a
 * writer in another process, the CLI, can work beside the daemon), one busy
 * timeout, no SQLite mutexes (a connection is used by one thread at a time),
 * and a synchronous level chosen per file by what a lost commit would cost:
 *   SQLDB_DURABLE   synchronous=FULL: a commit is on disk before it returns.
 *                   For files whose commits are acknowledged or are evidence
 *                   (ledger.db, telemetry.db, models.db, controls.db).
 *   SQLDB_REBUILDABLE synchronous=NORMAL: a power cut may lose the last
 *                   commits, never corrupt the file. For indexes and working
 *                   state rebuilt from the ledger (events_index.db,
 *                   controls_eval.db, state.db's counters).
 * Errors carry the file's name: "telemetry.db: storing a reading: <SQLite's
 * message>", with SQLITE_BUSY/LOCKED -> ADT_EBUSY, CORRUPT/NOTADB ->
 * ADT_ECORRUPT, anything else ADT_EIO. */
#ifndef AUDITD_SQLDB_H
#define AUDITD_SQLDB_H

#include "status.h"

#include <sqlite3.h>

/* How long a connection waits for another writer's lock before SQLITE_BUSY. */
#define SQLDB_BUSY_TIMEOUT_MS 10000

typedef enum sqldb_mode {
    SQLDB_READ = 0,  /* read-only; ADT_ENOTFOUND if the file does not exist */
    SQLDB_WRITE = 1, /* read-write; ADT_ENOTFOUND if the file does not exist */
    SQLDB_CREATE = 2 /* read-write, created (and its directory, mode 0700) if missing */
} sqldb_mode;

typedef enum sqldb_sync { SQLDB_DURABLE = 0, SQLDB_REBUILDABLE = 1 } sqldb_sync;

/* Open `dir`/`file` as described above. Read-only opens set no journal mode
 * (they cannot) but get the busy timeout. OUT: *db (close with sqldb_close).
 * A missing file is ADT_ENOTFOUND with a message naming it and `missing_hint`
 * (what to run first; may be NULL). With `dir` NULL: a private in-memory
 * database (tests and one-shot tools); `file` then only names it. */
int sqldb_open(const char *dir, const char *file, sqldb_mode mode, sqldb_sync sync,
               const char *missing_hint, sqlite3 **db, adt_err *err);
void sqldb_close(sqlite3 *db);

/* The last error of `db` as a status, with the message
 * "<file>: <what>: <SQLite's message>". Returns the status. */
int sqldb_fail(sqlite3 *db, const char *what, adt_err *err);

/* Run SQL without results; on failure sqldb_fail(db, what). */
int sqldb_exec(sqlite3 *db, const char *sql, const char *what, adt_err *err);
/* Prepare one statement; on failure sqldb_fail(db, "preparing a statement"). */
int sqldb_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, adt_err *err);
/* The same, binding texts[0], texts[1].. (up to a NULL; borrowed until the
 * statement is finalized) to ?1, ?2..; returns how many in *n (may be NULL)
 * for the caller to bind what follows. */
int sqldb_prepare_texts(sqlite3 *db, const char *sql, const char *const *texts,
                        sqlite3_stmt **st, int *n, adt_err *err);

/* Transactions: BEGIN IMMEDIATE (the write lock now, not at the first
 * write, so two writers never deadlock on an upgrade), COMMIT, ROLLBACK
 * (never fails; safe without an open transaction). */
int sqldb_begin(sqlite3 *db, adt_err *err);
int sqldb_commit(sqlite3 *db, adt_err *err);
void sqldb_rollback(sqlite3 *db);

#endif
