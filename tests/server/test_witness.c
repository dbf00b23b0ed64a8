/* Black-box tests of witnessing (C2SP tlog-witness, tlog-cosignature): two
 * real daemons on 127.0.0.1, a log (`auditd serve --witness URL
 * --witness-key VKEY`) and a witness (`auditd witness init`, `add-log`,
 * `auditd serve`), real SQLite files.
 *
 * Every cosignature is checked with the independent verifier below, written
 * from the C2SP texts (signed-note, tlog-checkpoint, tlog-cosignature) with
 * libsodium alone; it shares no code with auditd/core. The witness endpoint
 * is driven with hand-built requests (checkpoints signed here, Merkle trees
 * from tests/support/rfc6962_check.c) for every status tlog-witness defines. */
#include "agentsig.h"
#include "rfc6962_check.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ORIGIN "log.test/witnessed"
#define WNAME "witness.test/w1"
#define EM "\xE2\x80\x94"

/* ---------- independent verifier (C2SP text + libsodium only) ---------- */

/* signed-note: key ID = SHA-256(key name || 0x0A || signature type || public key)[:4] */
static void ind_key_id(const char *name, uint8_t type, const uint8_t pub[32], uint8_t id[4])
{
    size_t n = strlen(name);
    uint8_t *m = malloc(n + 34), h[32];
    memcpy(m, name, n);
    m[n] = 0x0A;
    m[n + 1] = type;
    memcpy(m + n + 2, pub, 32);
    crypto_hash_sha256(h, m, n + 34);
    free(m);
    memcpy(id, h, 4);
}

/* signed-note "Verifier keys": <name>+hex(key ID)+base64(type || public key) */
static bool ind_vkey(const char *vkey, uint8_t type, char *name, size_t cap, uint8_t pub[32])
{
    const char *p1 = strchr(vkey, '+'), *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
    if (!p2 || (size_t)(p1 - vkey) >= cap)
        return false;
    memcpy(name, vkey, (size_t)(p1 - vkey));
    name[p1 - vkey] = '\0';
    uint8_t raw[64];
    size_t rl = 0;
    if (sodium_base642bin(raw, sizeof raw, p2 + 1, strcspn(p2 + 1, "\n"), NULL, &rl, NULL,
                          sodium_base64_VARIANT_ORIGINAL) || rl != 33 || raw[0] != type)
        return false;
    memcpy(pub, raw + 1, 32);
    uint8_t id[4];
    char hex[9];
    ind_key_id(name, type, pub, id);
    snprintf(hex, sizeof hex, "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
    return (size_t)(p2 - p1 - 1) == 8 && memcmp(hex, p1 + 1, 8) == 0;
}

/* Find the signature line of (name, id) in `note`; decode it into raw.
 * The text is everything before the last empty line, its newline included. */
static bool ind_find(const char *note, const char *name, const uint8_t id[4], uint8_t *raw,
                     size_t cap, size_t *rl, size_t *text_len)
{
    const char *sep = NULL;
    for (const char *p = strstr(note, "\n\n"); p; p = strstr(p + 1, "\n\n"))
        sep = p;
    if (!sep)
        return false;
    *text_len = (size_t)(sep - note) + 1;
    char want[300];
    snprintf(want, sizeof want, EM " %s ", name);
    for (const char *l = sep + 2; *l;) {
        const char *eol = strchr(l, '\n');
        if (!eol)
            return false;
        if (!strncmp(l, want, strlen(want))) {
            const char *b = l + strlen(want);
            if (sodium_base642bin(raw, cap, b, (size_t)(eol - b), NULL, rl, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) == 0 &&
                *rl >= 4 && memcmp(raw, id, 4) == 0)
                return true;
        }
        l = eol + 1;
    }
    return false;
}

/* The log's Ed25519 note signature (type 0x01) over the text. */
static bool ind_log_sig(const char *note, const char *name, const uint8_t pub[32])
{
    uint8_t id[4], raw[128];
    size_t rl, tl;
    ind_key_id(name, 0x01, pub, id);
    return ind_find(note, name, id, raw, sizeof raw, &rl, &tl) && rl == 68 &&
           crypto_sign_verify_detached(raw + 4, (const uint8_t *)note, tl, pub) == 0;
}

/* tlog-cosignature, Ed25519: signature = u64 BE timestamp || Ed25519 over
 * "cosignature/v1\n" "time <ts>\n" || note text. */
static bool ind_cosig(const char *note, const char *name, const uint8_t pub[32], uint64_t *ts)
{
    uint8_t id[4], raw[128];
    size_t rl, tl;
    ind_key_id(name, 0x04, pub, id);
    if (!ind_find(note, name, id, raw, sizeof raw, &rl, &tl) || rl != 4 + 8 + 64)
        return false;
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = t << 8 | raw[4 + i];
    char head[64];
    int hl = snprintf(head, sizeof head, "cosignature/v1\ntime %llu\n", (unsigned long long)t);
    uint8_t *m = malloc((size_t)hl + tl);
    memcpy(m, head, (size_t)hl);
    memcpy(m + hl, note, tl);
    bool ok = crypto_sign_verify_detached(raw + 12, m, (size_t)hl + tl, pub) == 0;
    free(m);
    *ts = t;
    return ok && t != 0;
}

/* ---------- helpers ---------- */

static char *run_ok(const char *const *args)
{
    char *out = NULL, *err = NULL;
    int st = ts_run(NULL, 0, &out, &err, args);
    ck_assert_msg(st == 0, "auditd %s %s failed (%d): %s", args[0], args[1] ? args[1] : "", st, err);
    free(err);
    return out;
}

static int run_st(const char *const *args, char **out, char **err)
{
    return ts_run(NULL, 0, out, err, args);
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n')
        s[--n] = '\0';
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct world {
    char *root;
    char log[4200], wit[4200], agent_key[4200];
    char log_vkey[600], wit_vkey[600];
    char lname[256], wname[256];
    uint8_t lpub[32], wpub[32], ask[64], apub[32];
    int lport, wport;
    pid_t lpid, wpid;
    uint64_t seq;
} world;

static void world_setup(world *w, const char *tag)
{
    memset(w, 0, sizeof *w);
    ck_assert_int_ge(sodium_init(), 0);
    w->root = ts_tmpdir(tag);
    ck_assert_ptr_nonnull(w->root);
    snprintf(w->log, sizeof w->log, "%s/log", w->root);
    snprintf(w->wit, sizeof w->wit, "%s/witness", w->root);
    snprintf(w->agent_key, sizeof w->agent_key, "%s/gw.key", w->root);
    free(run_ok((const char *const[]){"init", "--data-dir", w->log, "--origin", ORIGIN, NULL}));
    free(run_ok((const char *const[]){"agent", "add", "gw", "--role", "edge", "--key-out",
                                      w->agent_key, "--data-dir", w->log, NULL}));
    free(run_ok((const char *const[]){"init", "--data-dir", w->wit, "--origin", "witness.test/own",
                                      NULL}));
    free(run_ok((const char *const[]){"witness", "init", "--name", WNAME, "--data-dir", w->wit,
                                      NULL}));
    char *k = run_ok((const char *const[]){"key", "--data-dir", w->log, NULL});
    trim(k);
    snprintf(w->log_vkey, sizeof w->log_vkey, "%s", k);
    free(k);
    k = run_ok((const char *const[]){"witness", "key", "--data-dir", w->wit, NULL});
    trim(k);
    snprintf(w->wit_vkey, sizeof w->wit_vkey, "%s", k);
    free(k);
    ck_assert_msg(ind_vkey(w->log_vkey, 0x01, w->lname, sizeof w->lname, w->lpub), "log vkey %s",
                  w->log_vkey);
    ck_assert_msg(ind_vkey(w->wit_vkey, 0x04, w->wname, sizeof w->wname, w->wpub),
                  "witness vkey %s is not a type-0x04 vkey", w->wit_vkey);
    ck_assert_str_eq(w->wname, WNAME);
    free(run_ok((const char *const[]){"witness", "add-log", "--origin", ORIGIN, "--key", w->log_vkey,
                                      "--data-dir", w->wit, NULL}));
    adt_err err;
    ck_assert_int_eq(agentsig_key_load(w->agent_key, w->ask, w->apub, &err), ADT_OK);
    w->seq = (uint64_t)time(NULL) * 1000000u;
    w->wport = ts_free_port();
}

static void start_witness(world *w)
{
    w->wpid = ts_daemon_start(w->wit, w->wport, NULL, 10000);
    ck_assert_msg(w->wpid > 0, "witness daemon did not start");
}

static void start_log(world *w, const char *dir)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", w->wport);
    const char *extra[] = {"--witness", url, "--witness-key", w->wit_vkey, NULL};
    w->lport = ts_free_port();
    w->lpid = ts_daemon_start(dir, w->lport, extra, 10000);
    ck_assert_msg(w->lpid > 0, "log daemon did not start");
}

static void world_teardown(world *w)
{
    if (w->lpid > 0)
        ts_daemon_stop(w->lpid, SIGKILL);
    if (w->wpid > 0)
        ts_daemon_stop(w->wpid, SIGKILL);
    if (!getenv("AUDITD_TEST_KEEP"))
        ts_rmrf(w->root);
    else
        fprintf(stderr, "kept %s\n", w->root);
    free(w->root);
}

/* POST one signed batch of `n` events; returns the receipt JSON. */
static cJSON *post_events(world *w, int n)
{
    char *body = malloc((size_t)n * 200 + 1);
    size_t used = 0;
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(body + used, 200,
                                 "{\"type\":\"incident.open\",\"time\":\"2026-07-01T08:00:00Z\","
                                 "\"actor\":\"alice\",\"incident_id\":\"I-%llu-%d\","
                                 "\"severity\":\"low\"}\n",
                                 (unsigned long long)w->seq, i);
    uint8_t bh[32];
    crypto_hash_sha256(bh, (const uint8_t *)body, used);
    agentsig_hdr h;
    memset(&h, 0, sizeof h);
    snprintf(h.name, sizeof h.name, "gw");
    h.ts = (int64_t)time(NULL);
    h.seq = ++w->seq;
    adt_err err;
    ck_assert_int_eq(agentsig_sign(&h, "POST", "/v1/events", bh, w->ask, &err), ADT_OK);
    char v[AGENTSIG_HDR_MAX], hdr[AGENTSIG_HDR_MAX + 32];
    agentsig_format(&h, v, sizeof v);
    snprintf(hdr, sizeof hdr, "Authorization: %s", v);
    const char *hs[] = {hdr, "Content-Type: application/x-ndjson", NULL};
    ts_http r;
    ck_assert_int_eq(ts_http_req(w->lport, "POST", "/v1/events", hs, body, used, &r), 0);
    free(body);
    ck_assert_msg(r.status == 201, "POST /v1/events: %ld %s", r.status, r.body);
    cJSON *j = cJSON_Parse(r.body);
    ts_http_free(&r);
    ck_assert_ptr_nonnull(j);
    return j;
}

static char *get(int port, const char *path, long want)
{
    ts_http r;
    ck_assert_int_eq(ts_http_req(port, "GET", path, NULL, NULL, 0, &r), 0);
    ck_assert_msg(r.status == want, "GET %s: %ld %s", path, r.status, r.body);
    char *b = r.body;
    r.body = NULL;
    ts_http_free(&r);
    return b;
}

static uint64_t note_size(const char *note)
{
    const char *nl = strchr(note, '\n');
    ck_assert_ptr_nonnull(nl);
    return strtoull(nl + 1, NULL, 10);
}

/* Poll /healthz until the witness state is `state` and, if min_size, its
 * cosigned size is the tree size and at least min_size. */
static cJSON *wait_health(world *w, const char *state, uint64_t min_size, int max_ms)
{
    for (int waited = 0;; waited += 100) {
        char *b = get(w->lport, "/healthz", 200);
        cJSON *j = cJSON_Parse(b);
        free(b);
        cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "witnesses"), 0);
        ck_assert_msg(x != NULL, "/healthz has no witness details");
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(x, "state"));
        double cs = cJSON_GetNumberValue(cJSON_GetObjectItem(x, "cosigned_size"));
        double ts = cJSON_GetNumberValue(cJSON_GetObjectItem(x, "tree_size"));
        if (st && !strcmp(st, state) && (!min_size || (cs == ts && cs >= (double)min_size)))
            return j;
        if (waited >= max_ms) {
            char *p = cJSON_PrintUnformatted(j);
            ck_abort_msg("witness did not reach state %s (size >= %llu) in %d ms: %s", state,
                         (unsigned long long)min_size, max_ms, p);
        }
        cJSON_Delete(j);
        sleep_ms(100);
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void check_cosigned_note(world *w, const char *note, const char *what)
{
    uint64_t ts = 0;
    ck_assert_msg(ind_log_sig(note, w->lname, w->lpub), "%s: log signature does not verify:\n%s",
                  what, note);
    ck_assert_msg(ind_cosig(note, w->wname, w->wpub, &ts), "%s: no valid cosignature:\n%s", what,
                  note);
    int64_t d = (int64_t)ts - (int64_t)time(NULL);
    ck_assert_msg(d > -600 && d < 60, "%s: cosignature timestamp %llu is not now", what,
                  (unsigned long long)ts);
    /* The log's line comes first (the note stays a valid checkpoint for
     * verifiers that only know the log's key). */
    const char *first = strstr(note, "\n\n" EM " ");
    ck_assert(first && !strncmp(first + 2 + strlen(EM " "), w->lname, strlen(w->lname)));
}

/* ---------- sqlite3 edits (the attacker drops and restores the triggers) ---------- */

typedef struct attack {
    sqlite3 *db;
    int n;
    char *sql[32];
} attack;

static void attack_begin(attack *a, const char *dir)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/ledger.db", dir);
    memset(a, 0, sizeof *a);
    ck_assert_int_eq(sqlite3_open(p, &a->db), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(a->db, "SELECT name, sql FROM sqlite_master WHERE "
                                               "type='trigger'", -1, &s, NULL), SQLITE_OK);
    char names[32][64];
    while (sqlite3_step(s) == SQLITE_ROW && a->n < 32) {
        snprintf(names[a->n], sizeof names[0], "%s", sqlite3_column_text(s, 0));
        a->sql[a->n++] = strdup((const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_finalize(s);
    ck_assert_int_ge(a->n, 6);
    for (int i = 0; i < a->n; i++) {
        char q[128];
        snprintf(q, sizeof q, "DROP TRIGGER %.63s", names[i]);
        ck_assert_int_eq(sqlite3_exec(a->db, q, NULL, NULL, NULL), SQLITE_OK);
    }
}

static void attack_end(attack *a)
{
    for (int i = 0; i < a->n; i++) {
        ck_assert_int_eq(sqlite3_exec(a->db, a->sql[i], NULL, NULL, NULL), SQLITE_OK);
        free(a->sql[i]);
    }
    sqlite3_close(a->db);
}

/* Delete every entry from `keep` on, with the tree nodes, checkpoints and
 * batch identities that cover them: what `auditd verify` cannot see. */
static void cut_tail(const char *dir, uint64_t keep)
{
    attack a;
    attack_begin(&a, dir);
    char q[640];
    snprintf(q, sizeof q,
             "DELETE FROM entries WHERE seq >= %llu; DELETE FROM checkpoints WHERE size > %llu;"
             "DELETE FROM nodes WHERE ((id & 72057594037927935) + 1) << (id >> 56) > %llu;"
             "DELETE FROM batches WHERE first + count > %llu;",
             (unsigned long long)keep, (unsigned long long)keep, (unsigned long long)keep,
             (unsigned long long)keep);
    ck_assert_int_eq(sqlite3_exec(a.db, q, NULL, NULL, NULL), SQLITE_OK);
    attack_end(&a);
}

static void copy_dir(const char *from, const char *to)
{
    char src[4300];
    snprintf(src, sizeof src, "%s/.", from);
    pid_t p = fork();
    if (p == 0) {
        execlp("cp", "cp", "-a", src, to, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---------- the log and the witness ---------- */

START_TEST(test_cosigned_while_ingesting)
{
    world w;
    world_setup(&w, "wit-e2e");
    start_witness(&w);
    start_log(&w, w.log);

    /* Checkpoints get cosigned. */
    cJSON_Delete(post_events(&w, 3));
    cJSON *h = wait_health(&w, "ok", 4, 5000);
    cJSON_Delete(h);
    char *cp = get(w.lport, "/v1/log/checkpoint", 200);
    check_cosigned_note(&w, cp, "GET /v1/log/checkpoint");
    ck_assert_uint_ge(note_size(cp), 4);
    free(cp);
    /* A receipt carries its own checkpoint and the newest cosigned one. */
    cJSON *rcpt = post_events(&w, 2);
    const char *cc = cJSON_GetStringValue(cJSON_GetObjectItem(rcpt, "cosigned_checkpoint"));
    ck_assert_msg(cc != NULL, "the receipt has no cosigned_checkpoint");
    check_cosigned_note(&w, cc, "receipt cosigned_checkpoint");
    ck_assert_uint_le(note_size(cc),
                      (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(rcpt, "tree_size")));
    ck_assert(ind_log_sig(cJSON_GetStringValue(cJSON_GetObjectItem(rcpt, "checkpoint")), w.lname,
                          w.lpub));
    cJSON_Delete(rcpt);
    char *m = get(w.lport, "/metrics", 200);
    ck_assert_msg(strstr(m, "auditd_witness_up{witness=\"" WNAME "\"} 1"), "metrics:\n%s", m);
    free(m);
    m = get(w.wport, "/metrics", 200);
    ck_assert_msg(!strstr(m, "auditd_witness_answers_total{status=\"200\"} 0\n"), "%s", m);
    free(m);

    /* The witness goes down: ingestion goes on, /healthz and /metrics say so. */
    ck_assert_int_eq(ts_daemon_stop(w.wpid, SIGTERM), 0);
    w.wpid = -1;
    int64_t worst = 0;
    for (int i = 0; i < 10; i++) {
        int64_t t0 = now_ms();
        cJSON_Delete(post_events(&w, 20));
        if (now_ms() - t0 > worst)
            worst = now_ms() - t0;
    }
    ck_assert_msg(worst < 2000, "a POST took %lld ms while the witness was down", (long long)worst);
    h = wait_health(&w, "down", 0, 5000);
    const char *le = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "witnesses"), 0), "last_error"));
    ck_assert_msg(le && strstr(le, "unreachable"), "last_error: %s", le ? le : "(none)");
    cJSON_Delete(h);
    m = get(w.lport, "/metrics", 200);
    ck_assert_msg(strstr(m, "auditd_witness_up{witness=\"" WNAME "\"} 0"), "metrics:\n%s", m);
    ck_assert(strstr(m, "auditd_witness_submissions_total{witness=\"" WNAME "\",result=\"unreachable\"}"));
    ck_assert(!strstr(m, "result=\"unreachable\"} 0\n"));
    free(m);

    /* Back up: it catches up (backoff is at most 30 s; here a few seconds). */
    char *tcp = get(w.lport, "/v1/log/checkpoint", 200);
    uint64_t size_now = note_size(tcp);
    free(tcp);
    start_witness(&w);
    h = wait_health(&w, "ok", size_now, 40000);
    cJSON_Delete(h);

    /* Shutdown submits the final checkpoint (server.stop's). */
    ck_assert_int_eq(ts_daemon_stop(w.lpid, SIGTERM), 0);
    w.lpid = -1;
    char *out = run_ok((const char *const[]){"checkpoint", "--data-dir", w.log, NULL});
    check_cosigned_note(&w, out, "auditd checkpoint after shutdown");
    uint64_t final = note_size(out);
    free(out);
    out = run_ok((const char *const[]){"witness", "latest", ORIGIN, "--data-dir", w.wit, NULL});
    check_cosigned_note(&w, out, "auditd witness latest");
    ck_assert_uint_eq(note_size(out), final);
    char trusted[4300];
    snprintf(trusted, sizeof trusted, "%s/trusted.txt", w.root);
    ck_assert_int_eq(ts_write_file(trusted, out, strlen(out)), 0);
    free(out);

    /* The report computed at that checkpoint names the witness (xml: the report data). */
    char at[32];
    snprintf(at, sizeof at, "%llu", (unsigned long long)final);
    out = run_ok((const char *const[]){"report", "--period", "2026-Q3", "--format", "xml", "--at-size",
                                       at, "--no-record", "--data-dir", w.log, NULL});
    ck_assert_msg(strstr(out, "<witness name=\"" WNAME "\""), "the report's integrity section does "
                  "not name the witness");
    free(out);

    /* verify --trusted-checkpoint on the intact ledger. */
    char *err = NULL;
    int st = run_st((const char *const[]){"verify", "--data-dir", w.log, "--trusted-checkpoint",
                                          trusted, "--witness-key", w.wit_vkey, NULL},
                    &out, &err);
    ck_assert_msg(st == 0, "verify --trusted-checkpoint on the intact ledger: %s", err);
    ck_assert(strstr(out, "cosigned by " WNAME));
    free(out);
    free(err);
    /* A witness key that did not cosign it is named. */
    char other[4300];
    snprintf(other, sizeof other, "%s/other", w.root);
    free(run_ok((const char *const[]){"witness", "init", "--name", "witness.test/w2", "--data-dir",
                                      other, NULL}));
    char *ok2 = run_ok((const char *const[]){"witness", "key", "--data-dir", other, NULL});
    trim(ok2);
    st = run_st((const char *const[]){"verify", "--data-dir", w.log, "--trusted-checkpoint", trusted,
                                      "--witness-key", w.wit_vkey, "--witness-key", ok2, NULL},
                &out, &err);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(strstr(err, "no cosignature by witness witness.test/w2"), "%s", err);
    free(out);
    free(err);
    free(ok2);

    /* The tail cut with sqlite3: plain verify passes, the trusted checkpoint does not. */
    char cut[4300];
    snprintf(cut, sizeof cut, "%s/cut", w.root);
    copy_dir(w.log, cut);
    cut_tail(cut, final - 5);
    st = run_st((const char *const[]){"verify", "--data-dir", cut, NULL}, &out, &err);
    ck_assert_msg(st == 0, "plain verify was expected to pass the cut tail (its documented limit): %s",
                  err);
    free(out);
    free(err);
    st = run_st((const char *const[]){"verify", "--data-dir", cut, "--trusted-checkpoint", trusted,
                                      "--witness-key", w.wit_vkey, NULL},
                &out, &err);
    ck_assert_int_eq(st, 1);
    char want[300];
    snprintf(want, sizeof want, "the ledger has %llu entries but the trusted checkpoint, cosigned by "
             "witness " WNAME ", has %llu: the tail was cut", (unsigned long long)(final - 5),
             (unsigned long long)final);
    ck_assert_msg(strstr(err, want), "verify said: %s", err);
    free(out);
    free(err);
    /* The witness knows too: the cut log, restarted, meets a conflict. */
    start_log(&w, cut);
    h = wait_health(&w, "conflict", 0, 5000);
    cJSON_Delete(h);
    ck_assert_int_eq(ts_daemon_stop(w.lpid, SIGTERM), 0);
    w.lpid = -1;

    /* A rewrite below the cosigned size, re-signed with the ledger key (the
     * administrator's attack): plain verify passes, the trusted checkpoint
     * and the witness both refuse it. */
    char rw[4300];
    snprintf(rw, sizeof rw, "%s/rewritten", w.root);
    copy_dir(w.log, rw);
    cut_tail(rw, final - 5);
    char ev[4096] = "";
    for (int i = 0; i < 9; i++) {
        size_t l = strlen(ev);
        snprintf(ev + l, sizeof ev - l, "{\"type\":\"incident.open\",\"time\":\"2026-07-01T09:00:00Z\","
                 "\"actor\":\"mallory\",\"incident_id\":\"FAKE-%d\",\"severity\":\"low\"}\n", i);
    }
    char *o2 = NULL, *e2 = NULL;
    st = ts_run(ev, strlen(ev), &o2, &e2, (const char *const[]){"append", "--data-dir", rw, NULL});
    ck_assert_msg(st == 0, "append: %s", e2);
    free(o2);
    free(e2);
    st = run_st((const char *const[]){"verify", "--data-dir", rw, NULL}, &out, &err);
    ck_assert_msg(st == 0, "plain verify passes a re-signed rewrite (documented limit): %s", err);
    free(out);
    free(err);
    st = run_st((const char *const[]){"verify", "--data-dir", rw, "--trusted-checkpoint", trusted,
                                      "--witness-key", w.wit_vkey, NULL},
                &out, &err);
    ck_assert_int_eq(st, 1);
    ck_assert_msg(strstr(err, "history below") && strstr(err, "was rewritten") &&
                      strstr(err, "cosigned by witness " WNAME),
                  "verify said: %s", err);
    free(out);
    free(err);
    start_log(&w, rw);
    h = wait_health(&w, "down", 0, 5000);
    le = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "witnesses"), 0), "last_error"));
    ck_assert_msg(le && strstr(le, "answered 422"), "the witness should refuse the rewritten "
                  "ledger's proof with 422: %s", le ? le : "(none)");
    cJSON_Delete(h);
    world_teardown(&w);
}
END_TEST

/* ---------- the witness endpoint, by hand ---------- */

typedef struct hand {
    uint8_t pk[32], sk[64];
    char name[64];
    char vkey[200];
} hand;

static void hand_key(hand *k, const char *name, uint8_t seedbyte)
{
    uint8_t seed[32];
    memset(seed, seedbyte, sizeof seed);
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
    snprintf(k->name, sizeof k->name, "%s", name);
    uint8_t id[4], kb[33] = {0x01};
    ind_key_id(name, 0x01, k->pk, id);
    memcpy(kb + 1, k->pk, 32);
    char b[64];
    sodium_bin2base64(b, sizeof b, kb, 33, sodium_base64_VARIANT_ORIGINAL);
    snprintf(k->vkey, sizeof k->vkey, "%s+%02x%02x%02x%02x+%s", name, id[0], id[1], id[2], id[3], b);
}

/* A checkpoint (tlog-checkpoint) for (origin, size, root) signed by `k`,
 * with `extra` signature lines appended. */
static void hand_checkpoint(const hand *k, const char *origin, uint64_t size, const uint8_t root[32],
                            const char *extra, char *out, size_t cap)
{
    char rb[64];
    sodium_bin2base64(rb, sizeof rb, root, 32, sodium_base64_VARIANT_ORIGINAL);
    int tl = snprintf(out, cap, "%s\n%llu\n%s\n", origin, (unsigned long long)size, rb);
    uint8_t sig[68];
    ind_key_id(k->name, 0x01, k->pk, sig);
    crypto_sign_detached(sig + 4, NULL, (const uint8_t *)out, (size_t)tl, k->sk);
    char sb[128];
    sodium_bin2base64(sb, sizeof sb, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out + tl, cap - (size_t)tl, "\n" EM " %s %s\n%s", k->name, sb, extra ? extra : "");
}

static void b64h(const uint8_t h[32], char out[64])
{
    sodium_bin2base64(out, 64, h, 32, sodium_base64_VARIANT_ORIGINAL);
}

typedef struct ans {
    long status;
    char *body;
    char *headers;
} ans;

static ans post(int port, const char *old_and_proof, const char *checkpoint)
{
    size_t n = strlen(old_and_proof) + strlen(checkpoint) + 2;
    char *b = malloc(n);
    snprintf(b, n, "%s\n%s", old_and_proof, checkpoint);
    ts_http r;
    ck_assert_int_eq(ts_http_req(port, "POST", "/add-checkpoint", NULL, b, strlen(b), &r), 0);
    free(b);
    ans a = {r.status, r.body, r.headers};
    return a;
}

static void expect(ans a, long want, const char *what)
{
    ck_assert_msg(a.status == want, "%s: got %ld, want %ld: %s", what, a.status, want, a.body);
    if (want != 200 && want != 409) {
        cJSON *j = cJSON_Parse(a.body);
        ck_assert_msg(j && cJSON_IsString(cJSON_GetObjectItem(j, "error")) &&
                          cJSON_IsString(cJSON_GetObjectItem(j, "message")),
                      "%s: error body is not {error, message}: %s", what, a.body);
        cJSON_Delete(j);
    }
    free(a.body);
    free(a.headers);
}

static void expect_409(ans a, const char *size_line, const char *what)
{
    ck_assert_msg(a.status == 409, "%s: got %ld: %s", what, a.status, a.body);
    ck_assert_msg(strstr(a.headers, "Content-Type: text/x.tlog.size") ||
                      strstr(a.headers, "content-type: text/x.tlog.size"),
                  "%s: headers %s", what, a.headers);
    ck_assert_str_eq(a.body, size_line);
    free(a.body);
    free(a.headers);
}

START_TEST(test_endpoint_statuses)
{
    world w;
    world_setup(&w, "wit-hand");
    hand lg, other;
    hand_key(&lg, "hand.test/log", 3);
    hand_key(&other, "hand.test/log", 4); /* same name, another key: unknown to the witness */
    free(run_ok((const char *const[]){"witness", "add-log", "--origin", "hand.test/log", "--key",
                                      lg.vkey, "--data-dir", w.wit, NULL}));
    free(run_ok((const char *const[]){"witness", "add-log", "--origin", "hand.test/fresh", "--key",
                                      lg.vkey, "--data-dir", w.wit, NULL}));
    start_witness(&w);
    int port = w.wport;

    /* Leaves 0..7 and the trees of sizes 2, 4, 8 (tests/support, RFC 6962). */
    uint8_t leaves[8][32], r2[32], r4[32], r8[32], r34[32], r48[32], empty[32];
    for (int i = 0; i < 8; i++) {
        char l[16];
        snprintf(l, sizeof l, "leaf-%d", i);
        rc_leaf_hash(l, strlen(l), leaves[i]);
    }
    rc_root_of((const uint8_t(*)[32])leaves, 2, r2);
    rc_root_of((const uint8_t(*)[32])leaves, 4, r4);
    rc_root_of((const uint8_t(*)[32])leaves, 8, r8);
    rc_root_of((const uint8_t(*)[32])(leaves + 2), 2, r34);
    rc_root_of((const uint8_t(*)[32])(leaves + 4), 4, r48);
    crypto_hash_sha256(empty, NULL, 0);
    char cp[4096], line[200], b[64];

    /* 200: first checkpoint, old 0, no proof; the answer is one cosignature line. */
    hand_checkpoint(&lg, "hand.test/log", 2, r2, NULL, cp, sizeof cp);
    ans a = post(port, "old 0\n", cp);
    ck_assert_msg(a.status == 200, "first add-checkpoint: %ld %s", a.status, a.body);
    ck_assert(!strncmp(a.body, EM " " WNAME " ", strlen(EM " " WNAME " ")));
    ck_assert(a.body[strlen(a.body) - 1] == '\n' && strchr(a.body, '\n') == a.body + strlen(a.body) - 1);
    char full[8192];
    snprintf(full, sizeof full, "%s%s", cp, a.body);
    uint64_t ts;
    ck_assert_msg(ind_cosig(full, w.wname, w.wpub, &ts), "cosignature does not verify:\n%s", full);
    free(a.body);
    free(a.headers);

    /* 409: the witness is at 2, not 0; the body is its size (text/x.tlog.size). */
    hand_checkpoint(&lg, "hand.test/log", 4, r4, NULL, cp, sizeof cp);
    expect_409(post(port, "old 0\n", cp), "2\n", "stale old size");
    expect_409(post(port, "old 1\n", cp), "2\n", "wrong old size");

    /* 200 with a consistency proof 2 -> 4: [MTH(D[2:4])]. */
    b64h(r34, b);
    snprintf(line, sizeof line, "old 2\n%s\n", b);
    a = post(port, line, cp);
    ck_assert_msg(a.status == 200, "2 -> 4: %ld %s", a.status, a.body);
    snprintf(full, sizeof full, "%s%s", cp, a.body);
    ck_assert(ind_cosig(full, w.wname, w.wpub, &ts));
    free(a.body);
    free(a.headers);

    /* 422: a proof 4 -> 8 that does not verify; same size, another root. */
    hand_checkpoint(&lg, "hand.test/log", 8, r8, NULL, cp, sizeof cp);
    b64h(r34, b);
    snprintf(line, sizeof line, "old 4\n%s\n", b);
    expect(post(port, line, cp), 422, "bad consistency proof");
    hand_checkpoint(&lg, "hand.test/log", 4, r8, NULL, cp, sizeof cp);
    expect(post(port, "old 4\n", cp), 422, "same size, other root");
    /* 422 on a fresh origin: old 0 with a proof; size 0 without the empty root. */
    hand_checkpoint(&lg, "hand.test/fresh", 2, r2, NULL, cp, sizeof cp);
    snprintf(line, sizeof line, "old 0\n%s\n", b);
    expect(post(port, line, cp), 422, "old 0 with a proof");
    hand_checkpoint(&lg, "hand.test/fresh", 0, r2, NULL, cp, sizeof cp);
    expect(post(port, "old 0\n", cp), 422, "size 0 with a non-empty root");
    hand_checkpoint(&lg, "hand.test/fresh", 0, empty, NULL, cp, sizeof cp);
    a = post(port, "old 0\n", cp);
    ck_assert_msg(a.status == 200, "the empty tree: %ld %s", a.status, a.body);
    free(a.body);
    free(a.headers);

    /* 403: signed by an unknown key only; a trusted key's line that fails. */
    hand_checkpoint(&other, "hand.test/log", 8, r8, NULL, cp, sizeof cp);
    b64h(r48, b);
    snprintf(line, sizeof line, "old 4\n%s\n", b);
    expect(post(port, line, cp), 403, "no trusted signature");
    hand_checkpoint(&lg, "hand.test/log", 8, r8, NULL, cp, sizeof cp);
    char *sigb64 = strstr(cp, EM " hand.test/log ") + strlen(EM " hand.test/log ");
    sigb64[10] = sigb64[10] == 'A' ? 'B' : 'A'; /* inside the Ed25519 signature */
    expect(post(port, line, cp), 403, "a bad signature by the trusted key");

    /* 404: an origin the witness does not know. */
    hand_checkpoint(&lg, "hand.test/unknown", 2, r2, NULL, cp, sizeof cp);
    expect(post(port, "old 0\n", cp), 404, "unknown origin");

    /* 400: not the format; old above the checkpoint's size; 64 proof lines. */
    expect(post(port, "old 4", "not a checkpoint\n"), 400, "garbage");
    hand_checkpoint(&lg, "hand.test/log", 8, r8, NULL, cp, sizeof cp);
    expect(post(port, "old 9\n", cp), 400, "old size above the checkpoint's");
    expect(post(port, "old 04\n", cp), 400, "leading zero");
    char many[64 * 46 + 16] = "old 4\n";
    for (int i = 0; i < 64; i++) {
        b64h(r48, b);
        strcat(many, b);
        strcat(many, "\n");
    }
    expect(post(port, many, cp), 400, "64 proof lines");

    /* 200 for 4 -> 8 with [MTH(D[4:8])], other keys' signature lines (an
     * ML-DSA-sized cosignature, an unknown Ed25519 key) ignored. */
    char extra[4096];
    uint8_t big[2432];
    memset(big, 0x5A, sizeof big);
    char *bb = malloc(sodium_base64_ENCODED_LEN(sizeof big, sodium_base64_VARIANT_ORIGINAL));
    sodium_bin2base64(bb, sodium_base64_ENCODED_LEN(sizeof big, sodium_base64_VARIANT_ORIGINAL), big,
                      sizeof big, sodium_base64_VARIANT_ORIGINAL);
    snprintf(extra, sizeof extra, EM " other.test/mldsa %s\n", bb);
    free(bb);
    hand_checkpoint(&lg, "hand.test/log", 8, r8, extra, cp, sizeof cp);
    a = post(port, line, cp);
    ck_assert_msg(a.status == 200, "4 -> 8 with foreign signature lines: %ld %s", a.status, a.body);
    free(a.body);
    free(a.headers);
    /* The same size again with the same root and an empty proof: cosigned again. */
    expect(post(port, "old 8\n", cp), 200, "same size and root");

    /* Only POST; and a log that is not a witness says 404. */
    ts_http r;
    ck_assert_int_eq(ts_http_req(port, "GET", "/add-checkpoint", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 405);
    ts_http_free(&r);
    int lp = ts_free_port();
    pid_t lpid = ts_daemon_start(w.log, lp, NULL, 10000);
    ck_assert(lpid > 0);
    ck_assert_int_eq(ts_http_req(lp, "POST", "/add-checkpoint", NULL, "old 0\n\n", 7, &r), 0);
    ck_assert_int_eq(r.status, 404);
    ts_http_free(&r);
    ts_daemon_stop(lpid, SIGTERM);

    /* The witness kept the newest (8) with the log's line and its cosignature. */
    char *out = run_ok((const char *const[]){"witness", "latest", "hand.test/log", "--data-dir",
                                             w.wit, NULL});
    ck_assert_uint_eq(note_size(out), 8);
    ck_assert(ind_cosig(out, w.wname, w.wpub, &ts));
    ck_assert(!strstr(out, "other.test/mldsa"));
    free(out);
    /* The same over the monitoring path: GET /v1/witness/<hex SHA-256 of the origin>/checkpoint. */
    uint8_t oh[32];
    char ohex[65], path[128];
    crypto_hash_sha256(oh, (const uint8_t *)"hand.test/log", strlen("hand.test/log"));
    sodium_bin2hex(ohex, sizeof ohex, oh, sizeof oh);
    snprintf(path, sizeof path, "/v1/witness/%s/checkpoint", ohex);
    char *mon = get(port, path, 200);
    ck_assert_uint_eq(note_size(mon), 8);
    ck_assert(ind_cosig(mon, w.wname, w.wpub, &ts));
    ck_assert(ind_log_sig(mon, lg.name, lg.pk));
    free(mon);
    ohex[0] = ohex[0] == '0' ? '1' : '0';
    snprintf(path, sizeof path, "/v1/witness/%s/checkpoint", ohex);
    free(get(port, path, 404));
    world_teardown(&w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("witness");
    TCase *tc = tcase_create("daemons");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_endpoint_statuses);
    tcase_add_test(tc, test_cosigned_while_ingesting);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
