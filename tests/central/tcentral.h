/* tcentral.h: helpers for the central tier's tests: a temporary PostgreSQL
 * cluster (scripts/pgtmp.sh), one fresh database per test, real site daemons on
 * 127.0.0.1 and the real `auditd central` commands.
 *
 * Failures abort the calling test (ck_abort_msg) with what went wrong. */
#ifndef AUDITD_TCENTRAL_H
#define AUDITD_TCENTRAL_H

#include "note.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The suite's cluster, started by tc_pg_start in main() before the tests run
 * (each test is a forked child that inherits it). */
typedef struct tc_pg {
    char dir[256];
    char conninfo[512];
} tc_pg;
extern tc_pg tc_cluster;

/* Start the cluster (fails the process if PostgreSQL cannot start: a missing
 * PostgreSQL is a failure, never a skip). Stopped by tc_pg_stop, or by the
 * watchdog when this process dies. */
void tc_pg_start(const char *tag);
/* `mode`: "fast" or "immediate" (as after a crash). */
void tc_pg_restart(const char *mode);
void tc_pg_stop(void);

/* A fresh database `name` on the cluster; its connection string into out. */
void tc_newdb(const char *name, char *out, size_t cap);
/* First column of the first row of `sql` (malloc'd), or NULL if no row. */
char *tc_q(const char *db, const char *sql);
int64_t tc_qi(const char *db, const char *sql);
/* Run `sql` (any statements); returns true if it succeeded. */
bool tc_exec(const char *db, const char *sql);

/* A site: its own data directory, auditor token, verifier key, and a port that
 * stays the same across restarts. */
typedef struct tc_site {
    char *dir;
    char origin[64];
    char url[64];
    char token[160];
    char key[NOTE_KEYLINE_MAX];
    int port;
    pid_t pid;
} tc_site;

void tc_site_init(tc_site *s, const char *tag, const char *origin);
/* A site sharing another's ledger history and key: a copy of its directory
 * (the original must not be appended to while copying). */
void tc_site_copy(tc_site *dst, const tc_site *src, const char *tag);
void tc_site_start(tc_site *s);
void tc_site_stop(tc_site *s, int sig);
void tc_site_free(tc_site *s);
/* Append n entries directly to the site's ledger (the daemon may be running);
 * `tag` goes into every payload so that two sites' entries differ. */
void tc_site_append(tc_site *s, int n, const char *tag);
uint64_t tc_site_size(const tc_site *s);
/* The root of the site's ledger at its latest checkpoint. */
void tc_site_root(const tc_site *s, uint8_t root[32]);

/* Register the site with the central database. */
void tc_site_add(const char *db, const tc_site *s);

/* `auditd central ARGS... --db DB`; returns the exit status, output malloc'd. */
int tc_central(const char *db, char **out, char **errout, const char *const *args);
/* `auditd central mirror --db DB ARGS...` in the background, logging to `log`. */
pid_t tc_mirror_spawn(const char *db, const char *log, const char *const *extra);

/* Poll `sql` until its integer value reaches at least `want` (or timeout_ms);
 * returns the last value. */
int64_t tc_wait_at_least(const char *db, const char *sql, int64_t want, int timeout_ms);
void tc_sleep_ms(int ms);

#endif
