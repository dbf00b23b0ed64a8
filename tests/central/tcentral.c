#include "tcentral.h"

#include "ledger.h"
#include "tsupport.h"

#include <check.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

tc_pg tc_cluster;

#define PGTMP AUDITD_SOURCE_DIR "/scripts/pgtmp.sh"

void tc_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Run a shell command line built from trusted test paths; its first output
 * line into out. Returns the exit status. */
static int sh_line(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    if (out && cap) {
        out[0] = '\0';
        if (fgets(out, (int)cap, p))
            out[strcspn(out, "\n")] = '\0';
        char drain[256];
        while (fgets(drain, sizeof drain, p))
            ;
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

void tc_pg_start(const char *tag)
{
    snprintf(tc_cluster.dir, sizeof tc_cluster.dir, "/tmp/auditd-central-%s-%ld", tag,
             (long)getpid());
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' stop '%s' >/dev/null 2>&1; '%s' start '%s' --owner-pid %ld --fast",
             PGTMP, tc_cluster.dir, PGTMP, tc_cluster.dir, (long)getpid());
    int st = sh_line(cmd, tc_cluster.conninfo, sizeof tc_cluster.conninfo);
    if (st != 0 || !tc_cluster.conninfo[0]) {
        fprintf(stderr, "FAILED: cannot start a temporary PostgreSQL cluster with %s (exit %d); "
                        "the central tier's tests need postgresql-15 (scripts/deps.sh)\n",
                PGTMP, st);
        exit(EXIT_FAILURE);
    }
}

void tc_pg_restart(const char *mode)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' restart '%s' %s", PGTMP, tc_cluster.dir, mode);
    ck_assert_msg(sh_line(cmd, NULL, 0) == 0, "PostgreSQL did not restart");
}

void tc_pg_stop(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' stop '%s'", PGTMP, tc_cluster.dir);
    sh_line(cmd, NULL, 0);
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static PGconn *conn(const char *db)
{
    PGconn *c = PQconnectdb(db);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "cannot connect to %s: %s", db, PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

void tc_newdb(const char *name, char *out, size_t cap)
{
    PGconn *c = conn(tc_cluster.conninfo);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    PQclear(PQexec(c, sql));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "CREATE DATABASE: %s",
                  PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    snprintf(out, cap, "%.*s dbname=%s", (int)(strstr(tc_cluster.conninfo, " dbname=") -
                                                tc_cluster.conninfo),
             tc_cluster.conninfo, name);
}

char *tc_q(const char *db, const char *sql)
{
    PGconn *c = conn(db);
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
    char *v = PQntuples(r) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    PQfinish(c);
    return v;
}

int64_t tc_qi(const char *db, const char *sql)
{
    char *v = tc_q(db, sql);
    ck_assert_msg(v != NULL, "%s: no row", sql);
    int64_t x = strtoll(v, NULL, 10);
    free(v);
    return x;
}

bool tc_exec(const char *db, const char *sql)
{
    PGconn *c = conn(db);
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    PQfinish(c);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* ---------- sites ---------- */

static void run_ok(const char *in, size_t in_len, char **out, const char *const *args)
{
    char *err = NULL;
    int st = ts_run(in, in_len, out, &err, args);
    ck_assert_msg(st == 0, "auditd %s failed (%d): %s", args[0], st, err ? err : "");
    free(err);
}

static void site_fill(tc_site *s)
{
    char *out = NULL;
    run_ok(NULL, 0, &out, (const char *const[]){"key", "--data-dir", s->dir, NULL});
    out[strcspn(out, "\n")] = '\0';
    snprintf(s->key, sizeof s->key, "%s", out);
    free(out);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
}

void tc_site_init(tc_site *s, const char *tag, const char *origin)
{
    memset(s, 0, sizeof *s);
    s->dir = ts_tmpdir(tag);
    ts_rmrf(s->dir);
    snprintf(s->origin, sizeof s->origin, "%s", origin);
    s->port = ts_free_port();
    s->pid = -1;
    run_ok(NULL, 0, NULL,
           (const char *const[]){"init", "--data-dir", s->dir, "--origin", origin, NULL});
    char *out = NULL;
    run_ok(NULL, 0, &out,
           (const char *const[]){"token", "create", "--role", "auditor", "--name", "central",
                                 "--data-dir", s->dir, NULL});
    out[strcspn(out, "\n")] = '\0';
    snprintf(s->token, sizeof s->token, "%s", out);
    free(out);
    site_fill(s);
}

void tc_site_copy(tc_site *dst, const tc_site *src, const char *tag)
{
    *dst = *src;
    dst->dir = ts_tmpdir(tag);
    dst->pid = -1;
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s' && rm -f '%s/daemon.log'", dst->dir,
             src->dir, dst->dir, dst->dir);
    ck_assert_int_eq(sh_line(cmd, NULL, 0), 0);
}

void tc_site_start(tc_site *s)
{
    for (int i = 0; i < 50 && s->pid <= 0; i++) {
        s->pid = ts_daemon_start(s->dir, s->port, NULL, 10000);
        if (s->pid <= 0)
            tc_sleep_ms(100); /* the port may still be held by a killed daemon */
    }
    ck_assert_msg(s->pid > 0, "the site daemon for %s did not start on port %d", s->origin,
                  s->port);
}

void tc_site_stop(tc_site *s, int sig)
{
    if (s->pid > 0)
        ts_daemon_stop(s->pid, sig);
    s->pid = -1;
}

void tc_site_free(tc_site *s)
{
    tc_site_stop(s, SIGTERM);
    if (s->dir) {
        ts_rmrf(s->dir);
        free(s->dir);
    }
    s->dir = NULL;
}

void tc_site_append(tc_site *s, int n, const char *tag)
{
    ledger *lg = NULL;
    adt_err err = {0};
    ck_assert_msg(ledger_open(s->dir, LEDGER_RDWR, &lg, &err) == ADT_OK, "%s", err.msg);
    enum { B = 1000 };
    static char payloads[B][160];
    ledger_item items[B];
    int done = 0;
    while (done < n) {
        int k = n - done < B ? n - done : B;
        for (int i = 0; i < k; i++) {
            snprintf(payloads[i], sizeof payloads[i],
                     "{\"actor\":\"test\",\"i\":%d,\"tag\":\"%s\",\"time\":\"2026-07-01T08:00:00Z\","
                     "\"type\":\"x-test.tick\"}",
                     done + i, tag);
            items[i] = (ledger_item){.source = "test", .type = "x-test.tick",
                                     .payload = payloads[i], .payload_len = strlen(payloads[i]),
                                     .writer = EVENT_WRITER_ADMIN};
        }
        ledger_commit c;
        ck_assert_msg(ledger_append(lg, items, (size_t)k, &c, &err) == ADT_OK, "%s", err.msg);
        done += k;
    }
    ledger_close(lg);
}

uint64_t tc_site_size(const tc_site *s)
{
    ledger *lg = NULL;
    adt_err err = {0};
    ck_assert_msg(ledger_open(s->dir, LEDGER_RDONLY, &lg, &err) == ADT_OK, "%s", err.msg);
    uint64_t n = 0;
    ck_assert_int_eq(ledger_size(lg, &n, &err), ADT_OK);
    ledger_close(lg);
    return n;
}

void tc_site_root(const tc_site *s, uint8_t root[32])
{
    ledger *lg = NULL;
    adt_err err = {0};
    ck_assert_msg(ledger_open(s->dir, LEDGER_RDONLY, &lg, &err) == ADT_OK, "%s", err.msg);
    uint64_t n = 0;
    ck_assert_int_eq(ledger_size(lg, &n, &err), ADT_OK);
    ck_assert_int_eq(ledger_root(lg, n, root, &err), ADT_OK);
    ledger_close(lg);
}

int tc_central(const char *db, char **out, char **errout, const char *const *args)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = "central";
    for (int i = 0; args[i] && n < 60; i++)
        argv[n++] = args[i];
    argv[n++] = "--db";
    argv[n++] = db;
    argv[n] = NULL;
    return ts_run(NULL, 0, out, errout, argv);
}

void tc_site_add(const char *db, const tc_site *s)
{
    char *err = NULL;
    int st = tc_central(db, NULL, &err,
                        (const char *const[]){"site", "add", "--origin", s->origin, "--key", s->key,
                                              "--url", s->url, "--token", s->token, NULL});
    ck_assert_msg(st == 0, "central site add %s: %s", s->origin, err ? err : "");
    free(err);
}

pid_t tc_mirror_spawn(const char *db, const char *log, const char *const *extra)
{
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        const char *argv[64];
        int n = 0;
        argv[n++] = AUDITD_BIN;
        argv[n++] = "central";
        argv[n++] = "mirror";
        argv[n++] = "--db";
        argv[n++] = db;
        for (int i = 0; extra && extra[i] && n < 62; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(AUDITD_BIN, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int64_t tc_wait_at_least(const char *db, const char *sql, int64_t want, int timeout_ms)
{
    int64_t v = -1;
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        char *s = tc_q(db, sql);
        v = s ? strtoll(s, NULL, 10) : -1;
        free(s);
        if (v >= want)
            return v;
        tc_sleep_ms(20);
    }
    return v;
}
