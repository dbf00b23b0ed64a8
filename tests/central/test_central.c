/* test_central.c: the central tier end to end: real site daemons on 127.0.0.1,
 * a real PostgreSQL cluster (scripts/pgtmp.sh), the real `auditd central`
 * commands. Mirroring, the site's range read, registration, forks, cuts,
 * edited entries, concurrent and stale writers. */
#include "cstore.h"
#include "ledger.h"
#include "merkle.h"
#include "mirror.h"
#include "sitelog.h"
#include "tcentral.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
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

static void fresh_db(const char *name)
{
    tc_newdb(name, db, sizeof db);
    char *out = NULL;
    ck_assert_int_eq(tc_central(db, &out, NULL, (const char *const[]){"init", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(out, "to 1"));
    free(out);
}

/* `central mirror --once`; returns its exit status, output into *out if given. */
static int mirror_once(char **out)
{
    char *o = NULL, *e = NULL;
    int st = tc_central(db, &o, &e, (const char *const[]){"mirror", "--once", NULL});
    if (out)
        *out = o;
    else
        free(o);
    free(e);
    return st;
}

static int64_t stored(const tc_site *s)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM auditd_central.entries e JOIN auditd_central.sites s"
             " ON s.id = e.site_id WHERE s.origin = '%s'", s->origin);
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

/* The mirrored root (from the stored mirror checkpoint) equals the site's. */
static void expect_same_root(const tc_site *s)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT encode(st.mirror_root, 'hex') FROM auditd_central.streams st"
             " JOIN auditd_central.sites s ON s.id = st.site_id WHERE s.origin = '%s'", s->origin);
    char *hex = tc_q(db, sql);
    uint8_t root[32];
    tc_site_root(s, root);
    char want[65];
    sodium_bin2hex(want, sizeof want, root, 32);
    ck_assert_str_eq(hex, want);
    free(hex);
}

/* ---------- the site's range read ---------- */

START_TEST(test_range_endpoint)
{
    tc_site s;
    tc_site_init(&s, "c-range", "range.example/log");
    tc_site_append(&s, 300, "r");
    /* Entries large enough that a page is cut by its byte budget (4 MiB). */
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(s.dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    static char big[60000];
    snprintf(big, sizeof big, "{\"actor\":\"t\",\"blob\":\"");
    size_t o = strlen(big);
    memset(big + o, 'x', 50000);
    snprintf(big + o + 50000, sizeof big - o - 50000, "\",\"time\":\"2026-07-01T08:00:00Z\"}");
    for (int i = 0; i < 120; i++) {
        ledger_item it = {.source = "t", .type = "x-test.big", .payload = big,
                          .payload_len = strlen(big), .writer = EVENT_WRITER_ADMIN};
        ledger_commit c;
        ck_assert_int_eq(ledger_append(lg, &it, 1, &c, &err), ADT_OK);
    }
    ledger_close(lg);
    tc_site_start(&s);
    char auth[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", s.token);
    const char *hdr[] = {auth, NULL};
    ts_http r;

    /* Without a token: 401. */
    ck_assert_int_eq(ts_http_req(s.port, "GET", "/v1/log/entries?start=0&end=2", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 401);
    ts_http_free(&r);
    /* Bad ranges: 400 with a message. */
    const char *bad[] = {"/v1/log/entries?start=5&end=5", "/v1/log/entries?start=x",
                         "/v1/log/entries?end=3", "/v1/log/entries?start=100000&end=100001",
                         "/v1/log/entries?start=-1&end=2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(ts_http_req(s.port, "GET", bad[i], hdr, NULL, 0, &r), 0);
        ck_assert_msg(r.status == 400, "%s: %ld", bad[i], r.status);
        ck_assert_ptr_nonnull(strstr(r.body, "\"error\":\"invalid\""));
        ts_http_free(&r);
    }
    /* Every leaf of a page is exactly the single-entry answer's leaf. */
    ck_assert_int_eq(ts_http_req(s.port, "GET", "/v1/log/entries?start=10&end=60", hdr, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.headers, "application/octet-stream"));
    sitelog_page page;
    sitelog_page_init(&page);
    buf_append(&page.data, r.body, r.body_len);
    ck_assert_int_eq(sitelog_parse_entries(&page, 10, 60, &err), ADT_OK);
    ck_assert_uint_eq(page.count, 50);
    for (int i = 0; i < 50; i += 7) {
        char path[64];
        snprintf(path, sizeof path, "/v1/log/entries/%d", 10 + i);
        ts_http one;
        ck_assert_int_eq(ts_http_req(s.port, "GET", path, hdr, NULL, 0, &one), 0);
        cJSON *oj = cJSON_Parse(one.body);
        const char *b64 = cJSON_GetObjectItem(oj, "leaf")->valuestring;
        unsigned char *leaf = malloc(strlen(b64));
        size_t ll = 0;
        ck_assert_int_eq(sodium_base642bin(leaf, strlen(b64), b64, strlen(b64), NULL, &ll, NULL,
                                           sodium_base64_VARIANT_ORIGINAL), 0);
        ck_assert_uint_eq(ll, page.len[i]);
        ck_assert(!memcmp(leaf, page.data.data + page.off[i], ll));
        free(leaf);
        cJSON_Delete(oj);
        ts_http_free(&one);
    }
    ts_http_free(&r);
    /* The byte budget cuts a page of big entries short, but never to nothing;
     * without `end` the page runs to the ledger's size. */
    ck_assert_int_eq(ts_http_req(s.port, "GET", "/v1/log/entries?start=300", hdr, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    buf_reset(&page.data);
    buf_append(&page.data, r.body, r.body_len);
    ck_assert_int_eq(sitelog_parse_entries(&page, 300, 421, &err), ADT_OK);
    ck_assert_int_gt(page.count, 0);
    ck_assert_int_lt(page.count, 121);
    ck_assert_int_lt((int)r.body_len, 5 << 20);
    ts_http_free(&r);
    sitelog_page_free(&page);
    tc_site_free(&s);
}
END_TEST

/* ---------- registration ---------- */

START_TEST(test_init_and_site_add)
{
    fresh_db("t_add");
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(tc_central(db, &out, NULL, (const char *const[]){"init", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(out, "nothing to do"));
    free(out);
    ck_assert_int_eq(tc_qi(db, "SELECT max(version) FROM auditd_central.schema_migrations"), 1);

    tc_site s;
    tc_site_init(&s, "c-add", "add.example/log");
    /* The key must be the site's, for the origin given. */
    ck_assert_int_eq(tc_central(db, NULL, &err,
                                (const char *const[]){"site", "add", "--origin", "other.example/log",
                                                      "--key", s.key, "--url", s.url, "--token",
                                                      s.token, NULL}),
                     1);
    ck_assert_ptr_nonnull(strstr(err, "not 'other.example/log'"));
    free(err);
    ck_assert_int_eq(tc_central(db, NULL, &err,
                                (const char *const[]){"site", "add", "--origin", s.origin, "--key",
                                                      "garbage", "--url", s.url, "--token", s.token,
                                                      NULL}),
                     1);
    free(err);
    ck_assert_int_eq(tc_central(db, NULL, &err,
                                (const char *const[]){"site", "add", "--origin", s.origin, "--key",
                                                      s.key, "--url", "ftp://x", "--token", s.token,
                                                      NULL}),
                     1);
    ck_assert_ptr_nonnull(strstr(err, "http://"));
    free(err);
    /* No token: a usage error. A token file readable by others is refused. */
    ck_assert_int_eq(tc_central(db, NULL, NULL,
                                (const char *const[]){"site", "add", "--origin", s.origin, "--key",
                                                      s.key, "--url", s.url, NULL}),
                     2);
    char tf[4200];
    snprintf(tf, sizeof tf, "%s/central.token", s.dir);
    ts_write_file(tf, s.token, strlen(s.token));
    chmod(tf, 0644);
    ck_assert_int_eq(tc_central(db, NULL, &err,
                                (const char *const[]){"site", "add", "--origin", s.origin, "--key",
                                                      s.key, "--url", s.url, "--token-file", tf,
                                                      NULL}),
                     1);
    ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
    free(err);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.sites"), 0);
    chmod(tf, 0600);
    ck_assert_int_eq(tc_central(db, NULL, NULL,
                                (const char *const[]){"site", "add", "--origin", s.origin, "--key",
                                                      s.key, "--url", s.url, "--token-file", tf,
                                                      NULL}),
                     0);
    /* Twice: refused, nothing changed. */
    ck_assert_int_eq(tc_central(db, NULL, &err,
                                (const char *const[]){"site", "add", "--origin", s.origin, "--key",
                                                      s.key, "--url", s.url, "--token", s.token,
                                                      NULL}),
                     1);
    ck_assert_ptr_nonnull(strstr(err, "registered already"));
    free(err);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.sites"), 1);
    /* No --db: a usage error naming what to give. */
    char *e2 = NULL;
    ck_assert_int_eq(ts_run(NULL, 0, NULL, &e2, (const char *const[]){"central", "status", NULL}),
                     2);
    ck_assert_ptr_nonnull(strstr(e2, "--db"));
    free(e2);
    /* A database without the schema: told to run init. */
    char other[600];
    tc_newdb("t_add_empty", other, sizeof other);
    ck_assert_int_eq(tc_central(other, NULL, &err, (const char *const[]){"status", NULL}), 1);
    ck_assert_ptr_nonnull(strstr(err, "central init"));
    free(err);
    tc_site_free(&s);
}
END_TEST

/* ---------- mirroring ---------- */

START_TEST(test_mirror_incremental)
{
    fresh_db("t_incr");
    tc_site s;
    tc_site_init(&s, "c-incr", "incr.example/log");
    tc_site_append(&s, 2500, "a");
    tc_site_start(&s);
    tc_site_add(db, &s);
    char *out = NULL;
    ck_assert_int_eq(mirror_once(&out), 0);
    ck_assert_ptr_nonnull(strstr(out, "current"));
    free(out);
    ck_assert_int_eq(stored(&s), (int64_t)tc_site_size(&s));
    expect_same_root(&s);
    /* Several packages, and a size that is not a package multiple. */
    tc_site_append(&s, 12001, "b");
    ck_assert_int_eq(mirror_once(NULL), 0);
    ck_assert_int_eq(stored(&s), (int64_t)tc_site_size(&s));
    expect_same_root(&s);
    /* Nothing new: nothing stored, still current. */
    ck_assert_int_eq(mirror_once(NULL), 0);
    ck_assert_int_eq(stored(&s), (int64_t)tc_site_size(&s));
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.checkpoints"), 2);
    expect_verify_ok();
    /* Every stored leaf is byte for byte the site's. */
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(s.dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    for (uint64_t i = 0; i < tc_site_size(&s); i += 997) {
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT encode(leaf, 'hex') FROM auditd_central.entries WHERE idx = %llu",
                 (unsigned long long)i);
        char *hex = tc_q(db, sql);
        buf leaf;
        buf_init(&leaf, LEDGER_MAX_LEAF + 1);
        ck_assert_int_eq(ledger_entry(lg, i, &leaf, &err), ADT_OK);
        char *want = malloc(leaf.len * 2 + 1);
        sodium_bin2hex(want, leaf.len * 2 + 1, (const unsigned char *)leaf.data, leaf.len);
        ck_assert_str_eq(hex, want);
        free(want);
        free(hex);
        buf_free(&leaf);
    }
    ledger_close(lg);
    /* The stored history refuses to be rewritten, even by hand. */
    ck_assert(!tc_exec(db, "UPDATE auditd_central.entries SET leaf = 'x' WHERE idx = 1"));
    ck_assert(!tc_exec(db, "DELETE FROM auditd_central.entries WHERE idx = 1"));
    ck_assert(!tc_exec(db, "TRUNCATE auditd_central.checkpoints CASCADE"));
    /* status: the site, current, no alerts. */
    ck_assert_int_eq(tc_central(db, &out, NULL, (const char *const[]){"status", "--json", NULL}), 0);
    cJSON *j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    cJSON *site = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "sites"), 0);
    ck_assert_str_eq(cJSON_GetObjectItem(site, "state")->valuestring, "active");
    ck_assert_int_eq((int64_t)cJSON_GetObjectItem(site, "mirror_size")->valuedouble,
                     (int64_t)tc_site_size(&s));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "alerts")), 0);
    cJSON_Delete(j);
    free(out);
    tc_site_free(&s);
}
END_TEST

/* The site down: a clear error naming it, nothing stored; the stream records it. */
START_TEST(test_site_unreachable)
{
    fresh_db("t_down");
    tc_site s;
    tc_site_init(&s, "c-down", "down.example/log");
    tc_site_append(&s, 10, "a");
    tc_site_add(db, &s);
    char *out = NULL;
    ck_assert_int_eq(mirror_once(&out), 1);
    ck_assert_ptr_nonnull(strstr(out, "FAILED"));
    ck_assert_ptr_nonnull(strstr(out, s.url));
    free(out);
    ck_assert_int_eq(stored(&s), 0);
    char *err = tc_q(db, "SELECT last_error FROM auditd_central.streams");
    ck_assert_ptr_nonnull(strstr(err, s.url));
    free(err);
    /* A wrong token: told what to do. */
    tc_site_start(&s);
    ck_assert(tc_exec(db, "UPDATE auditd_central.site_tokens SET token = 'adt_wrong'"));
    ck_assert_int_eq(mirror_once(&out), 1);
    ck_assert_ptr_nonnull(strstr(out, "token"));
    free(out);
    ck_assert_int_eq(stored(&s), 0);
    tc_site_free(&s);
}
END_TEST

/* ---------- forks, cuts, edited entries ---------- */

static int64_t alerts(const char *kind)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM auditd_central.alerts WHERE kind = '%s'", kind);
    return tc_qi(db, sql);
}

static void expect_halted(const char *kind, int64_t stored_want, const tc_site *s)
{
    char *out = NULL;
    ck_assert_int_eq(mirror_once(&out), 1);
    ck_assert_msg(strstr(out, "HALTED") != NULL, "%s", out);
    free(out);
    ck_assert_int_eq(alerts(kind), 1);
    ck_assert_int_eq(stored(s), stored_want);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.streams WHERE halted"), 1);
    /* Nothing of the bad log is stored: every stored checkpoint is one of the
     * good history, and the mirror still verifies. */
    expect_verify_ok();
    /* status shows it; a second pull does not add a second alert. */
    ck_assert_int_eq(tc_central(db, &out, NULL, (const char *const[]){"status", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(out, "HALTED"));
    ck_assert_ptr_nonnull(strstr(out, kind));
    ck_assert_ptr_nonnull(strstr(out, "OPEN"));
    free(out);
    ck_assert_int_eq(mirror_once(NULL), 1);
    ck_assert_int_eq(alerts(kind), 1);
}

/* Drop the ledger's triggers, run `sql`, put them back (an attacker with the file). */
static void tamper(const tc_site *s, const char *sql)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", s->dir, LEDGER_DB_FILE);
    sqlite3 *d;
    ck_assert_int_eq(sqlite3_open(path, &d), SQLITE_OK);
    sqlite3_busy_timeout(d, 5000);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(d, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'",
                                        -1, &st, NULL), SQLITE_OK);
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

/* The key holder truncates history and appends other entries, all re-signed:
 * the site's own verify passes, the centre sees the fork. */
START_TEST(test_fork_rewritten)
{
    fresh_db("t_fork");
    tc_site s;
    tc_site_init(&s, "c-fork", "fork.example/log");
    tc_site_append(&s, 1000, "a");
    tc_site_start(&s);
    tc_site_add(db, &s);
    ck_assert_int_eq(mirror_once(NULL), 0);
    int64_t n = stored(&s);
    tamper(&s, "DELETE FROM entries WHERE seq >= 500; DELETE FROM checkpoints WHERE size > 500;"
               "DELETE FROM nodes WHERE ((id & 72057594037927935) + 1) << (id >> 56) > 500;");
    tc_site_append(&s, 800, "rewritten");
    char *out = NULL;
    ck_assert_int_eq(ts_run(NULL, 0, &out, NULL, (const char *const[]){"verify", "--data-dir", s.dir, NULL}), 0);
    free(out);
    expect_halted("fork", n, &s);
    /* The alert holds both signed checkpoints: evidence anyone can check. */
    char *held = tc_q(db, "SELECT stored_note FROM auditd_central.alerts");
    char *served = tc_q(db, "SELECT site_note FROM auditd_central.alerts");
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    adt_err err;
    uint64_t n1, n2;
    merkle_hash r1, r2;
    ck_assert_int_eq(note_key_parse(s.key, name, sizeof name, pub, &err), ADT_OK);
    ck_assert_int_eq(note_verify_checkpoint(held, strlen(held), name, pub, &n1, r1, &err), ADT_OK);
    ck_assert_int_eq(note_verify_checkpoint(served, strlen(served), name, pub, &n2, r2, &err), ADT_OK);
    ck_assert_int_eq(n1, (uint64_t)n);
    ck_assert_int_eq(n2, tc_site_size(&s));
    free(held);
    free(served);
    /* The operator resumes: the stream checks again, and the fork is reported again. */
    ck_assert_int_eq(tc_central(db, &out, NULL,
                                (const char *const[]){"site", "resume", "--origin", s.origin, "--by",
                                                      "alice", "--reason", "checking", NULL}),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "1 alert(s) resolved"));
    free(out);
    ck_assert_int_eq(mirror_once(NULL), 1);
    ck_assert_int_eq(alerts("fork"), 2);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.alerts WHERE resolved_by = 'alice'"), 1);
    ck_assert_int_eq(stored(&s), n);
    /* An alert can be resolved, not edited or deleted. */
    ck_assert(!tc_exec(db, "UPDATE auditd_central.alerts SET detail = 'nothing'"));
    ck_assert(!tc_exec(db, "DELETE FROM auditd_central.alerts"));
    tc_site_free(&s);
}
END_TEST

/* Another ledger under the same origin and key (a copy that went its own way),
 * served at the same size: two signed trees of one size. */
START_TEST(test_fork_same_size)
{
    fresh_db("t_fork2");
    tc_site s, t;
    tc_site_init(&s, "c-fork2", "fork2.example/log");
    tc_site_append(&s, 300, "a");
    tc_site_copy(&t, &s, "c-fork2-copy");
    tc_site_append(&s, 200, "honest");
    tc_site_append(&t, 200, "other");
    tc_site_start(&s);
    tc_site_add(db, &s);
    ck_assert_int_eq(mirror_once(NULL), 0);
    int64_t n = stored(&s);
    tc_site_stop(&s, SIGKILL);
    tc_site_start(&t); /* same port, same origin and key */
    expect_halted("fork", n, &s);
    char *detail = tc_q(db, "SELECT detail FROM auditd_central.alerts");
    ck_assert_ptr_nonnull(strstr(detail, "two different trees"));
    free(detail);
    tc_site_stop(&t, SIGKILL);
    /* The honest site back, operator resumes: mirroring goes on from there. */
    tc_site_start(&s);
    tc_site_append(&s, 50, "more");
    ck_assert_int_eq(tc_central(db, NULL, NULL,
                                (const char *const[]){"site", "resume", "--origin", s.origin, NULL}),
                     0);
    ck_assert_int_eq(mirror_once(NULL), 0);
    ck_assert_int_eq(stored(&s), (int64_t)tc_site_size(&s));
    expect_same_root(&s);
    expect_verify_ok();
    tc_site_free(&s);
    ts_rmrf(t.dir);
    free(t.dir);
}
END_TEST

/* The tail deleted with its checkpoints (no key needed): the site serves an
 * older checkpoint than the centre holds. */
START_TEST(test_cut)
{
    fresh_db("t_cut");
    tc_site s;
    tc_site_init(&s, "c-cut", "cut.example/log");
    tc_site_append(&s, 600, "a");
    tc_site_append(&s, 400, "b");
    tc_site_start(&s);
    tc_site_add(db, &s);
    ck_assert_int_eq(mirror_once(NULL), 0);
    int64_t n = stored(&s);
    tamper(&s, "DELETE FROM entries WHERE seq >= 601; DELETE FROM checkpoints WHERE size > 601;"
               "DELETE FROM nodes WHERE ((id & 72057594037927935) + 1) << (id >> 56) > 601;");
    expect_halted("cut", n, &s);
    tc_site_free(&s);
}
END_TEST

/* An entry edited in place after the site signed it, before the centre read
 * it: the package does not prove, nothing of it is stored. */
START_TEST(test_bad_entries)
{
    fresh_db("t_bad");
    tc_site s;
    tc_site_init(&s, "c-bad", "bad.example/log");
    tc_site_append(&s, 100, "a");
    tc_site_start(&s);
    tc_site_add(db, &s);
    ck_assert_int_eq(mirror_once(NULL), 0);
    int64_t n = stored(&s);
    tc_site_append(&s, 100, "b");
    tamper(&s, "UPDATE entries SET leaf = replace(leaf, '\"tag\":\"b\"', '\"tag\":\"B\"') WHERE seq = 150;"
               "UPDATE entries SET leaf_hash = x'00' WHERE seq = 150;");
    expect_halted("bad_entries", n, &s);
    tc_site_free(&s);
}
END_TEST

/* ---------- several writers ---------- */

/* Two front-ends mirror the same sites at once: one writer per stream (the
 * advisory lock), every entry stored once. */
START_TEST(test_two_front_ends)
{
    fresh_db("t_two");
    tc_site s[3];
    const char *names[3] = {"two-a.example/log", "two-b.example/log", "two-c.example/log"};
    for (int i = 0; i < 3; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "c-two%d", i);
        tc_site_init(&s[i], tag, names[i]);
        tc_site_append(&s[i], 5000, "a");
        tc_site_start(&s[i]);
        tc_site_add(db, &s[i]);
    }
    char *dir = ts_tmpdir("c-two-logs");
    char l1[4200], l2[4200];
    snprintf(l1, sizeof l1, "%s/m1.log", dir);
    snprintf(l2, sizeof l2, "%s/m2.log", dir);
    const char *extra[] = {"--interval-ms", "50", NULL};
    pid_t m1 = tc_mirror_spawn(db, l1, extra);
    pid_t m2 = tc_mirror_spawn(db, l2, extra);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 3; i++)
            tc_site_append(&s[i], 3000, "more");
    int64_t total = 0;
    for (int i = 0; i < 3; i++)
        total += (int64_t)tc_site_size(&s[i]);
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT sum(mirror_size) FROM auditd_central.streams",
                                      total, 60000),
                     total);
    /* status names one writer per stream. */
    char *out = NULL;
    ck_assert_int_eq(tc_central(db, &out, NULL, (const char *const[]){"status", "--json", NULL}), 0);
    cJSON *j = cJSON_Parse(out);
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "sites"))
        ck_assert_ptr_nonnull(strstr(cJSON_GetObjectItem(it, "writer")->valuestring, "mirror"));
    cJSON_Delete(j);
    free(out);
    /* Kill the writer of everything: the other takes over. */
    kill(m1, SIGKILL);
    waitpid(m1, NULL, 0);
    for (int i = 0; i < 3; i++)
        tc_site_append(&s[i], 1000, "after");
    total += 3000;
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT sum(mirror_size) FROM auditd_central.streams",
                                      total, 60000),
                     total);
    kill(m2, SIGTERM);
    int st;
    waitpid(m2, &st, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.entries"), total);
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.alerts"), 0);
    expect_verify_ok();
    for (int i = 0; i < 3; i++) {
        expect_same_root(&s[i]);
        tc_site_free(&s[i]);
    }
    ts_rmrf(dir);
    free(dir);
}
END_TEST

/* Without the lock, the row checks alone keep a stale writer from storing
 * anything twice: duplicated and out-of-order pulls are harmless. */
START_TEST(test_stale_writer)
{
    fresh_db("t_stale");
    tc_site s;
    tc_site_init(&s, "c-stale", "stale.example/log");
    tc_site_append(&s, 10000, "a");
    tc_site_start(&s);
    tc_site_add(db, &s);
    mirror_stream *a, *b;
    adt_err err;
    mirror_pull p;
    ck_assert_int_eq(mirror_stream_open(db, 1, MIRROR_NO_LOCK, &a, &err), ADT_OK);
    ck_assert_int_eq(mirror_stream_open(db, 1, MIRROR_NO_LOCK, &b, &err), ADT_OK);
    /* a reads the checkpoint, stores nothing yet. */
    ck_assert_int_eq(mirror_stream_pull(a, 0, NULL, &p, &err), ADT_OK);
    ck_assert_int_eq(p.stored, 0);
    /* b stores everything; then a, with its old view, stores nothing twice. */
    ck_assert_int_eq(mirror_stream_pull(b, UINT64_MAX, NULL, &p, &err), ADT_OK);
    ck_assert_int_eq(p.outcome, MIRROR_CURRENT);
    ck_assert_int_eq(mirror_stream_pull(a, UINT64_MAX, NULL, &p, &err), ADT_OK);
    ck_assert_int_eq(p.stored, 0);
    ck_assert_int_eq(p.outcome, MIRROR_CURRENT);
    ck_assert_int_eq(stored(&s), (int64_t)tc_site_size(&s));
    /* Out of order: a holds an older pending checkpoint when b has moved on. */
    tc_site_append(&s, 5000, "b");
    ck_assert_int_eq(mirror_stream_pull(a, 0, NULL, &p, &err), ADT_OK);
    tc_site_append(&s, 5000, "c");
    ck_assert_int_eq(mirror_stream_pull(b, UINT64_MAX, NULL, &p, &err), ADT_OK);
    ck_assert_int_eq(mirror_stream_pull(a, UINT64_MAX, NULL, &p, &err), ADT_OK);
    ck_assert_int_eq(p.outcome, MIRROR_CURRENT);
    ck_assert_int_eq(p.next_entry, tc_site_size(&s));
    /* Both pull again and again: nothing changes. */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(mirror_stream_pull(a, UINT64_MAX, NULL, &p, &err), ADT_OK);
        ck_assert_int_eq(mirror_stream_pull(b, UINT64_MAX, NULL, &p, &err), ADT_OK);
        ck_assert_int_eq(p.stored, 0);
    }
    mirror_stream_close(a);
    mirror_stream_close(b);
    ck_assert_int_eq(stored(&s), (int64_t)tc_site_size(&s));
    ck_assert_int_eq(tc_qi(db, "SELECT count(*) FROM auditd_central.alerts"), 0);
    expect_verify_ok();
    expect_same_root(&s);
    /* With the lock, a second writer is a standby. */
    cstore *c1;
    ck_assert_int_eq(cstore_open(db, "test", 0, &c1, &err), ADT_OK);
    bool got;
    ck_assert_int_eq(cstore_stream_lock(c1, 1, &got, &err), ADT_OK);
    ck_assert(got);
    ck_assert_int_eq(mirror_stream_open(db, 1, 0, &a, &err), ADT_OK);
    ck_assert_int_eq(mirror_stream_pull(a, UINT64_MAX, NULL, &p, &err), ADT_OK);
    ck_assert_int_eq(p.outcome, MIRROR_STANDBY);
    cstore_close(c1); /* the lock goes with the session (once its backend has exited) */
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(mirror_stream_pull(a, UINT64_MAX, NULL, &p, &err), ADT_OK);
        if (p.outcome != MIRROR_STANDBY)
            break;
        tc_sleep_ms(20);
    }
    ck_assert_int_eq(p.outcome, MIRROR_CURRENT);
    mirror_stream_close(a);
    tc_site_free(&s);
}
END_TEST

/* verify notices a mirror edited behind the triggers' back. */
START_TEST(test_verify_detects_tampering)
{
    fresh_db("t_vtamper");
    tc_site s;
    tc_site_init(&s, "c-vt", "vt.example/log");
    tc_site_append(&s, 300, "a");
    tc_site_start(&s);
    tc_site_add(db, &s);
    ck_assert_int_eq(mirror_once(NULL), 0);
    expect_verify_ok();
    ck_assert(tc_exec(db, "ALTER TABLE auditd_central.entries DISABLE TRIGGER USER;"
                          "UPDATE auditd_central.entries SET leaf = leaf || '\\x20'::bytea WHERE idx = 42;"
                          "ALTER TABLE auditd_central.entries ENABLE TRIGGER USER"));
    char *out = NULL;
    ck_assert_int_eq(tc_central(db, &out, NULL, (const char *const[]){"verify", NULL}), 1);
    ck_assert_ptr_nonnull(strstr(out, "FAILED at index 42"));
    free(out);
    tc_site_free(&s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("central");
    TCase *tc = tcase_create("central");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_range_endpoint);
    tcase_add_test(tc, test_init_and_site_add);
    tcase_add_test(tc, test_mirror_incremental);
    tcase_add_test(tc, test_site_unreachable);
    tcase_add_test(tc, test_fork_rewritten);
    tcase_add_test(tc, test_fork_same_size);
    tcase_add_test(tc, test_cut);
    tcase_add_test(tc, test_bad_entries);
    tcase_add_test(tc, test_two_front_ends);
    tcase_add_test(tc, test_stale_writer);
    tcase_add_test(tc, test_verify_detects_tampering);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    tc_pg_start("central");
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tc_pg_stop();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
