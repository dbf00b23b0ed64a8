/* test_central_witness.c: the centre as each site's C2SP witness, black box:
 * `auditd central serve` (witness + mirror) and site daemons submitting with
 * `--witness`, as processes on 127.0.0.1 with a real PostgreSQL cluster.
 * Cosignatures are checked with tests/support/c2sp_check.c, written from the
 * C2SP texts. Faults: a site that rewrites or cuts its history is caught by
 * the witness and by the mirror; a site showing the witness and the mirror
 * two histories; a site down for a (simulated) day resumes; kill -9 of the
 * centre while it witnesses loses no cosigned state; the compare-and-swap
 * under concurrent requests on several PostgreSQL sessions. */
#include "c2sp_check.h"
#include "cosig.h"
#include "cstore.h"
#include "cwitness.h"
#include "ledger.h"
#include "tcentral.h"
#include "tsupport.h"
#include "witness.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char db[600];
static char keyfile[4200];
static char vkey[NOTE_KEYLINE_MAX];
static char *centre_dir;
static int centre_port;

/* A fresh database, a witness key, a centre front-end (witness + mirror). */
static pid_t fresh_centre(const char *name)
{
    tc_newdb(name, db, sizeof db);
    ck_assert_int_eq(tc_central(db, NULL, NULL, (const char *const[]){"init", NULL}), 0);
    free(centre_dir);
    char tag[64];
    snprintf(tag, sizeof tag, "cw-%s", name);
    centre_dir = ts_tmpdir(tag);
    ts_rmrf(centre_dir);
    ck_assert_int_eq(mkdir(centre_dir, 0700), 0);
    snprintf(keyfile, sizeof keyfile, "%s/witness.secret", centre_dir);
    tc_witness_init(db, "centre.example/witness", keyfile, vkey, sizeof vkey);
    centre_port = ts_free_port();
    return tc_centre_start(db, centre_dir, keyfile, centre_port, NULL);
}

/* Stop the front-end and remove its directory (each test runs in a fork of
 * its own, so it cleans up after itself). */
static void stop_centre(pid_t pid)
{
    ts_daemon_stop(pid, SIGTERM);
    ts_rmrf(centre_dir);
}

static void start_witnessed(tc_site *s)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", centre_port);
    tc_site_start_args(s, (const char *const[]){"--witness", url, "--witness-key", vkey, NULL});
}

static int64_t cosigned_size(void)
{
    return tc_qi(db, "SELECT coalesce(max(size), -1) FROM auditd_central.witness_latest");
}

static int64_t alerts_from(const char *source, const char *kind)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM auditd_central.alerts WHERE source = '%s' AND kind = '%s'",
             source, kind);
    return tc_qi(db, sql);
}

static void expect_verify_ok(void)
{
    char *out = NULL, *err = NULL;
    int st = tc_central(db, &out, &err, (const char *const[]){"verify", NULL});
    ck_assert_msg(st == 0, "central verify: %s %s", out, err);
    free(out);
    free(err);
}

/* Every cosigned checkpoint the centre keeps verifies, independently: the
 * site's signature and the centre's cosignature; sizes only grow. */
static void expect_cosigned_valid(const tc_site *s)
{
    c2sp_vkey sk, wk;
    ck_assert(c2sp_vkey_parse(s->key, &sk));
    ck_assert(c2sp_vkey_parse(vkey, &wk));
    ck_assert_int_eq(wk.type, 0x04);
    int64_t n = tc_qi(db, "SELECT count(*) FROM auditd_central.cosigned");
    ck_assert_int_gt(n, 0);
    for (int64_t i = 0; i < n; i++) {
        char sql[200];
        snprintf(sql, sizeof sql,
                 "SELECT note FROM auditd_central.cosigned ORDER BY size OFFSET %lld LIMIT 1",
                 (long long)i);
        char *note = tc_q(db, sql);
        uint64_t ts = 0, size = 0;
        char origin[256];
        uint8_t root[32];
        ck_assert_msg(c2sp_note_signed(note, &sk, NULL), "site signature: %s", note);
        ck_assert_msg(c2sp_note_signed(note, &wk, &ts), "centre cosignature: %s", note);
        ck_assert(c2sp_checkpoint(note, origin, sizeof origin, &size, root));
        ck_assert_str_eq(origin, s->origin);
        ck_assert_int_gt(ts, 0);
        free(note);
    }
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.cosigned c JOIN"
                               " auditd_central.witness_latest l USING (site_id)"
                               " WHERE c.size > l.size"),
                     0);
}

/* POST /add-checkpoint with `body`; returns the status. */
static long post_checkpoint(const char *body)
{
    ts_http r;
    ck_assert_int_eq(ts_http_req(centre_port, "POST", "/add-checkpoint", NULL, body, strlen(body),
                                 &r),
                     0);
    long st = r.status;
    ts_http_free(&r);
    return st;
}

static char *site_checkpoint_note(const tc_site *s, uint64_t size)
{
    ledger *lg = NULL;
    adt_err err = {0};
    ck_assert_int_eq(ledger_open(s->dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    char *note = malloc(NOTE_MAX);
    ck_assert_msg(ledger_checkpoint_at(lg, size, note, NOTE_MAX, &err) == ADT_OK, "%s", err.msg);
    ledger_close(lg);
    return note;
}

/* Drop the ledger's triggers, run `sql`, put them back (an attacker with the
 * file and the key). */
static void tamper(const tc_site *s, const char *sql)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", s->dir, LEDGER_DB_FILE);
    sqlite3 *d;
    ck_assert_int_eq(sqlite3_open(path, &d), SQLITE_OK);
    sqlite3_busy_timeout(d, 5000);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(d, "SELECT name, sql FROM sqlite_master WHERE type = "
                                           "'trigger'", -1, &st, NULL),
                     SQLITE_OK);
    char names[32][64];
    char *defs[32];
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < 32) {
        snprintf(names[n], sizeof names[n], "%s", sqlite3_column_text(st, 0));
        defs[n++] = strdup((const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    for (int i = 0; i < n; i++) {
        char q[2100];
        snprintf(q, sizeof q, "DROP TRIGGER %s", names[i]);
        ck_assert_int_eq(sqlite3_exec(d, q, NULL, NULL, NULL), SQLITE_OK);
    }
    char *em = NULL;
    ck_assert_msg(sqlite3_exec(d, sql, NULL, NULL, &em) == SQLITE_OK, "%s", em ? em : "");
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(sqlite3_exec(d, defs[i], NULL, NULL, NULL), SQLITE_OK);
        free(defs[i]);
    }
    sqlite3_close(d);
}

static void wait_witnessed_and_mirrored(const tc_site *s)
{
    int64_t n = (int64_t)tc_site_size(s);
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT coalesce(max(size), 0) FROM "
                                          "auditd_central.witness_latest",
                                      n, 30000),
                     n);
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT coalesce(max(mirror_size), 0) FROM "
                                          "auditd_central.streams",
                                      n, 30000),
                     n);
}

START_TEST(test_witness_cosigns)
{
    pid_t centre = fresh_centre("w_cosign");
    tc_site s;
    tc_site_init(&s, "cw-cosign", "cosign.example/log");
    tc_site_add(db, &s);
    tc_site_append(&s, 300, "a");
    uint64_t early = tc_site_size(&s);
    start_witnessed(&s);
    tc_site_append(&s, 200, "b"); /* appended by another process: still witnessed */
    wait_witnessed_and_mirrored(&s);
    expect_cosigned_valid(&s);

    /* The site serves its checkpoint with the centre's cosignature. */
    ts_http r;
    c2sp_vkey sk, wk;
    ck_assert(c2sp_vkey_parse(s.key, &sk));
    ck_assert(c2sp_vkey_parse(vkey, &wk));
    ck_assert_int_eq(ts_http_req(s.port, "GET", "/v1/log/checkpoint", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(c2sp_note_signed(r.body, &wk, NULL), "%s", r.body);
    ts_http_free(&r);
    /* tlog-witness monitoring: the centre's newest cosigned checkpoint per log. */
    uint8_t h[32];
    char hex[65], path[200];
    crypto_hash_sha256(h, (const uint8_t *)s.origin, strlen(s.origin));
    sodium_bin2hex(hex, sizeof hex, h, 32);
    snprintf(path, sizeof path, "/v1/witness/%s/checkpoint", hex);
    ck_assert_int_eq(ts_http_req(centre_port, "GET", path, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert(c2sp_note_signed(r.body, &sk, NULL) && c2sp_note_signed(r.body, &wk, NULL));
    ts_http_free(&r);

    /* Refusals that say nothing against the site raise nothing. */
    char *old = site_checkpoint_note(&s, early);
    buf b;
    buf_init(&b, 1 << 16);
    buf_printf(&b, "old 0\n\n%s", old);
    ck_assert_int_eq(post_checkpoint(b.data), 409); /* an old checkpoint replayed */
    buf_reset(&b);
    char *bad = strdup(old);
    char *sig = strchr(strstr(bad, "\xE2\x80\x94 ") + 4, ' ') + 10;
    *sig = *sig == 'A' ? 'B' : 'A'; /* the site's signature broken */
    buf_printf(&b, "old 0\n\n%s", bad);
    ck_assert_int_eq(post_checkpoint(b.data), 403);
    buf_reset(&b);
    char *other = strdup(old);
    memcpy(other, "cosigx", 6); /* an origin the centre does not witness */
    buf_printf(&b, "old 0\n\n%s", other);
    ck_assert_int_eq(post_checkpoint(b.data), 404);
    ck_assert_int_eq(post_checkpoint("old x\n\nnot a checkpoint\n"), 400);
    free(other);
    buf_free(&b);
    free(old);
    free(bad);
    tc_sleep_ms(300);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.alerts"), 0);

    /* The centre's read endpoint (a token of the centre's own daemon). */
    char *tok = NULL;
    ck_assert_int_eq(ts_run(NULL, 0, &tok, NULL,
                            (const char *const[]){"token", "create", "--role", "auditor", "--name",
                                                  "ops", "--data-dir", centre_dir, NULL}),
                     0);
    tok[strcspn(tok, "\n")] = '\0';
    char authz[300];
    snprintf(authz, sizeof authz, "Authorization: Bearer %s", tok);
    ck_assert_int_eq(ts_http_req(centre_port, "GET", "/v1/central/status",
                                 (const char *const[]){authz, NULL}, NULL, 0, &r),
                     0);
    ck_assert_int_eq(r.status, 200);
    char want[64];
    snprintf(want, sizeof want, "\"cosigned_size\":%llu", (unsigned long long)tc_site_size(&s));
    ck_assert_msg(strstr(r.body, want) != NULL, "%s", r.body);
    ts_http_free(&r);
    ck_assert_int_eq(ts_http_req(centre_port, "GET", "/v1/central/status", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 401);
    ts_http_free(&r);
    free(tok);

    /* Down for a (simulated) day: the ledger grows meanwhile; once back, one
     * consistency proof across the gap and the witness and mirror catch up. */
    tc_site_stop(&s, SIGKILL);
    tc_site_append(&s, 3000, "next-day");
    tc_sleep_ms(1500);
    ck_assert_int_lt(cosigned_size(), (int64_t)tc_site_size(&s));
    start_witnessed(&s);
    tc_site_append(&s, 10, "after");
    wait_witnessed_and_mirrored(&s);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.alerts"), 0);
    expect_cosigned_valid(&s);
    expect_verify_ok();
    stop_centre(centre);
    tc_site_free(&s);
}
END_TEST

/* The key holder rewrites history past 500 and appends more, re-signed: the
 * site's witness submission carries a proof from the cosigned size that does
 * not verify, and the site cannot prove it either: a witness alert; the
 * mirror's consistency check finds the same fork on its own. */
START_TEST(test_witness_fork)
{
    pid_t centre = fresh_centre("w_fork");
    tc_site s;
    tc_site_init(&s, "cw-fork", "wfork.example/log");
    tc_site_add(db, &s);
    tc_site_append(&s, 1000, "a");
    start_witnessed(&s);
    wait_witnessed_and_mirrored(&s);
    tc_site_stop(&s, SIGKILL);
    int64_t before = cosigned_size();
    int64_t stored = tc_qi(db, "SELECT count(*) FROM auditd_central.entries");
    tamper(&s, "DELETE FROM entries WHERE seq >= 500; DELETE FROM checkpoints WHERE size > 500;"
               "DELETE FROM nodes WHERE ((id & 72057594037927935) + 1) << (id >> 56) > 500;"
               "DELETE FROM batches;");
    tc_site_append(&s, 800, "rewritten");
    start_witnessed(&s);
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT count(*) FROM auditd_central.alerts WHERE "
                                          "source = 'witness' AND kind = 'fork'",
                                      1, 30000),
                     1);
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT count(*) FROM auditd_central.alerts WHERE "
                                          "source = 'mirror' AND kind = 'fork'",
                                      1, 30000),
                     1);
    /* The witness never moved to the rewritten history; nothing of it is stored. */
    tc_sleep_ms(1500);
    ck_assert_int_eq(cosigned_size(), before);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.entries"), stored);
    ck_assert_int_eq(alerts_from("witness", "fork"), 1); /* resubmissions add none */
    /* The evidence: the checkpoint the centre cosigned and the one that contradicts it. */
    c2sp_vkey sk, wk;
    ck_assert(c2sp_vkey_parse(s.key, &sk));
    ck_assert(c2sp_vkey_parse(vkey, &wk));
    char *held = tc_q(db, "SELECT stored_note FROM auditd_central.alerts WHERE source = 'witness'");
    char *seen = tc_q(db, "SELECT site_note FROM auditd_central.alerts WHERE source = 'witness'");
    ck_assert(c2sp_note_signed(held, &sk, NULL) && c2sp_note_signed(held, &wk, NULL));
    ck_assert(c2sp_note_signed(seen, &sk, NULL));
    free(held);
    free(seen);
    expect_verify_ok();
    char *out = NULL;
    ck_assert_int_eq(tc_central(db, &out, NULL, (const char *const[]){"status", NULL}), 0);
    ck_assert_msg(strstr(out, "fork (witness)") && strstr(out, "fork (mirror)"), "%s", out);
    free(out);
    stop_centre(centre);
    tc_site_free(&s);
}
END_TEST

/* A careful attacker cuts the tail and the site's memory of cosignatures: the
 * site submits from size 0, learns the witness's larger size (409): the
 * witness looks at what the site serves and raises a cut; so does the mirror. */
START_TEST(test_witness_cut)
{
    pid_t centre = fresh_centre("w_cut");
    tc_site s;
    tc_site_init(&s, "cw-cut", "wcut.example/log");
    tc_site_add(db, &s);
    tc_site_append(&s, 1000, "a");
    start_witnessed(&s);
    wait_witnessed_and_mirrored(&s);
    tc_site_stop(&s, SIGKILL);
    tamper(&s, "DELETE FROM entries WHERE seq >= 600; DELETE FROM checkpoints WHERE size > 600;"
               "DELETE FROM nodes WHERE ((id & 72057594037927935) + 1) << (id >> 56) > 600;"
               "DELETE FROM batches;");
    const char *files[] = {"cosigs.db", "cosigs.db-wal", "cosigs.db-shm"};
    for (int i = 0; i < 3; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/%s", s.dir, files[i]);
        unlink(path);
    }
    start_witnessed(&s);
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT count(*) FROM auditd_central.alerts WHERE "
                                          "source = 'witness' AND kind = 'cut'",
                                      1, 30000),
                     1);
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT count(*) FROM auditd_central.alerts WHERE "
                                          "source = 'mirror' AND kind = 'cut'",
                                      1, 30000),
                     1);
    expect_verify_ok();
    stop_centre(centre);
    tc_site_free(&s);
}
END_TEST

/* A site that shows the witness one history (a copy under the same key that
 * went its own way) and the mirror another: the mirror finds that the
 * checkpoint the centre cosigned is not consistent with what it is served. */
START_TEST(test_split_view)
{
    pid_t centre = fresh_centre("w_split");
    tc_site a, b;
    tc_site_init(&a, "cw-split-a", "split.example/log");
    tc_site_append(&a, 1000, "common");
    tc_site_copy(&b, &a, "cw-split-b");
    b.port = ts_free_port();
    tc_site_append(&a, 300, "mirror-sees");
    tc_site_append(&b, 100, "witness-sees");
    tc_site_add(db, &a); /* the mirror reads a */
    tc_site_start(&a);
    start_witnessed(&b); /* the witness hears from b */
    ck_assert_int_gt(tc_wait_at_least(db, "SELECT coalesce(max(size), 0) FROM "
                                          "auditd_central.witness_latest",
                                      1001, 30000),
                     1000);
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT count(*) FROM auditd_central.alerts WHERE "
                                          "source = 'mirror' AND kind = 'fork'",
                                      1, 30000),
                     1);
    char *detail = tc_q(db, "SELECT detail FROM auditd_central.alerts");
    ck_assert_msg(strstr(detail, "cosigned as the site's witness") != NULL, "%s", detail);
    free(detail);
    expect_verify_ok();
    stop_centre(centre);
    tc_site_free(&b);
    tc_site_free(&a);
}
END_TEST

/* kill -9 of the centre while a growing site is witnessed: every cosignature
 * the site holds is one the centre stored before answering, and the centre's
 * latest never moves back. */
START_TEST(test_kill_centre_witnessing)
{
    pid_t centre = fresh_centre("w_kill");
    tc_site s;
    tc_site_init(&s, "cw-kill", "wkill.example/log");
    tc_site_add(db, &s);
    tc_site_append(&s, 100, "a");
    start_witnessed(&s);
    int64_t seen = 0;
    int kills = 0;
    for (int round = 0; round < 5; round++) {
        for (int k = 0; k < 10; k++) {
            tc_site_append(&s, 40, "grow");
            tc_sleep_ms(30);
        }
        tc_wait_at_least(db, "SELECT coalesce(max(size), 0) FROM auditd_central.witness_latest",
                         seen + 1, 10000);
        tc_sleep_ms((int)randombytes_uniform(300));
        ts_daemon_stop(centre, SIGKILL);
        kills++;
        int64_t now = cosigned_size();
        ck_assert_int_ge(now, seen); /* never backwards */
        seen = now;
        centre = tc_centre_start(db, centre_dir, keyfile, centre_port, NULL);
    }
    ck_assert_int_eq(kills, 5);
    wait_witnessed_and_mirrored(&s);
    tc_site_stop(&s, SIGTERM); /* its last round submits the final checkpoint */
    /* Every cosignature the site keeps from the centre is stored at the centre. */
    char path[4300];
    snprintf(path, sizeof path, "%s/cosigs.db", s.dir);
    sqlite3 *d;
    ck_assert_int_eq(sqlite3_open_v2(path, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(d, "SELECT c.size, hex(c.root) FROM cosignatures s JOIN"
                                           " cosigned c ON c.size = s.size",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int held = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char sql[300];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM auditd_central.cosigned WHERE size = %lld AND"
                 " upper(encode(root, 'hex')) = '%s'",
                 (long long)sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1));
        ck_assert_msg(tc_qi(db, sql) == 1, "the site holds a cosignature of size %lld the centre "
                      "did not keep", (long long)sqlite3_column_int64(st, 0));
        held++;
    }
    sqlite3_finalize(st);
    sqlite3_close(d);
    ck_assert_int_gt(held, 3);
    expect_cosigned_valid(&s);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.alerts"), 0);
    expect_verify_ok();
    stop_centre(centre);
    tc_site_free(&s);
}
END_TEST

/* ---------- the compare-and-swap itself, many requests on many sessions ---------- */

typedef struct cas_arg {
    witness *w;
    const char *body;
    int status;
} cas_arg;

static void *cas_main(void *p)
{
    cas_arg *a = p;
    witness_answer ans;
    adt_err err = {0};
    ck_assert_int_eq(witness_add_checkpoint(a->w, a->body, strlen(a->body), 1800000000, &ans,
                                            &err),
                     ADT_OK);
    a->status = ans.status;
    return NULL;
}

START_TEST(test_cas_concurrent)
{
    tc_newdb("w_cas", db, sizeof db);
    ck_assert_int_eq(tc_central(db, NULL, NULL, (const char *const[]){"init", NULL}), 0);
    char *dir = ts_tmpdir("cw-cas");
    ts_rmrf(dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(keyfile, sizeof keyfile, "%s/witness.secret", dir);
    tc_witness_init(db, "cas.example/witness", keyfile, vkey, sizeof vkey);
    tc_site s;
    tc_site_init(&s, "cw-cas-site", "cas.example/log");
    tc_site_add(db, &s);
    /* Checkpoints at every size 1..40. */
    for (int i = 0; i < 40; i++)
        tc_site_append(&s, 1, "one");
    cwitness *cw = NULL;
    adt_err err = {0};
    ck_assert_msg(cwitness_open(db, keyfile, 4, &cw, &err) == ADT_OK, "%s", err.msg);
    witness *w = NULL;
    ck_assert_int_eq(witness_new(cwitness_signer(cw), cwitness_ops(), cw, &w, &err), ADT_OK);
    ledger *lg = NULL;
    ck_assert_int_eq(ledger_open(s.dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    uint64_t cur = 0;
    enum { T = 8 };
    for (int round = 0; round < 4; round++) {
        /* Eight requests from the same old size to eight different sizes. */
        buf bodies[T];
        cas_arg args[T];
        pthread_t th[T];
        for (int t = 0; t < T; t++) {
            uint64_t m = cur + 1 + (uint64_t)t;
            char note[NOTE_MAX];
            ck_assert_int_eq(ledger_checkpoint_at(lg, m, note, sizeof note, &err), ADT_OK);
            buf_init(&bodies[t], 1 << 16);
            buf_printf(&bodies[t], "old %llu\n", (unsigned long long)cur);
            if (cur) {
                merkle_hash proof[MERKLE_MAX_PROOF];
                size_t np = 0;
                ck_assert_int_eq(ledger_prove_consistency(lg, cur, m, proof, &np, &err), ADT_OK);
                for (size_t k = 0; k < np; k++) {
                    char b64[48];
                    sodium_bin2base64(b64, sizeof b64, proof[k], 32,
                                      sodium_base64_VARIANT_ORIGINAL);
                    buf_printf(&bodies[t], "%s\n", b64);
                }
            }
            buf_printf(&bodies[t], "\n%s", note);
            args[t] = (cas_arg){.w = w, .body = bodies[t].data};
        }
        for (int t = 0; t < T; t++)
            pthread_create(&th[t], NULL, cas_main, &args[t]);
        int won = 0;
        for (int t = 0; t < T; t++) {
            pthread_join(th[t], NULL);
            ck_assert_msg(args[t].status == 200 || args[t].status == 409, "status %d",
                          args[t].status);
            won += args[t].status == 200;
            buf_free(&bodies[t]);
        }
        ck_assert_int_eq(won, 1);
        int64_t now = cosigned_size();
        ck_assert_int_gt(now, (int64_t)cur);
        cur = (uint64_t)now;
    }
    /* The cosigned sizes form one chain of the site's own tree. */
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.cosigned"), 4);
    expect_cosigned_valid(&s);
    ledger_close(lg);
    witness_free(w);
    cwitness_close(cw);
    tc_site_free(&s);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("central_witness");
    /* One case per test, so CK_RUN_CASE=<name> runs one alone. */
    const struct {
        const char *name;
        const TTest *t;
    } tests[] = {{"cosigns", test_witness_cosigns}, {"fork", test_witness_fork},
                 {"cut", test_witness_cut},         {"split", test_split_view},
                 {"kill", test_kill_centre_witnessing}, {"cas", test_cas_concurrent}};
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        TCase *tc = tcase_create(tests[i].name);
        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, tests[i].t);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    tc_pg_start("cwitness");
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tc_pg_stop();
    if (centre_dir) {
        ts_rmrf(centre_dir);
        free(centre_dir);
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
