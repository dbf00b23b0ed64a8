/* Black-box tests of `auditd serve` and `auditd agent/token`: the real daemon
 * on 127.0.0.1, real SQLite files, real signatures. */
#include "agentsig.h"
#include "canon.h"
#include "merkle.h"
#include "note.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------- fixture ---------- */

typedef struct fx {
    char *dir;
    char key[4200];
    char auditor[128], admin[128];
    uint8_t sk[64], pub[32];
    int port;
    pid_t pid;
    uint64_t seq;
} fx;

__attribute__((noinline)) static char *run_ok(const char *in, const char *const *args)
{
    char *out = NULL, *err = NULL;
    int st = ts_run(in, in ? strlen(in) : 0, &out, &err, args);
    ck_assert_msg(st == 0, "auditd %s %s failed (%d): %s", args[0], args[1] ? args[1] : "", st, err);
    free(err);
    return out;
}

static void trim_nl(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* One prepared data directory (ledger, agent gw-1, tokens aud and adm) that
 * every test copies: the CLI runs once per suite, not once per test. */
static char *g_tmpl;
static char g_auditor[128], g_admin[128];

/* Outside a test (no ck_assert): exit with a message on failure. */
static char *run_or_die(const char *const *args)
{
    char *out = NULL, *err = NULL;
    int st = ts_run(NULL, 0, &out, &err, args);
    if (st != 0) {
        fprintf(stderr, "test_server: preparing the template: auditd %s %s failed (%d): %s\n",
                args[0], args[1] ? args[1] : "", st, err ? err : "");
        exit(1);
    }
    free(err);
    return out;
}

static void make_template(void)
{
    g_tmpl = ts_tmpdir("tmpl");
    if (!g_tmpl)
        exit(1);
    char key[4200];
    snprintf(key, sizeof key, "%s/gw-1.key", g_tmpl);
    free(run_or_die((const char *const[]){"init", "--data-dir", g_tmpl, NULL}));
    free(run_or_die((const char *const[]){"agent", "add", "gw-1", "--role", "edge", "--key-out",
                                            key, "--data-dir", g_tmpl, NULL}));
    for (int i = 0; i < 8; i++) {
        char name[16], k[4200];
        snprintf(name, sizeof name, "fl-%d", i);
        snprintf(k, sizeof k, "%s/fl-%d.key", g_tmpl, i);
        free(run_or_die((const char *const[]){"agent", "add", name, "--role", "edge", "--key-out", k,
                                              "--data-dir", g_tmpl, NULL}));
    }
    char *t = run_or_die((const char *const[]){"token", "create", "--role", "auditor", "--name",
                                                 "aud", "--data-dir", g_tmpl, NULL});
    trim_nl(t);
    snprintf(g_auditor, sizeof g_auditor, "%s", t);
    free(t);
    t = run_or_die((const char *const[]){"token", "create", "--role", "admin", "--name", "adm",
                                           "--data-dir", g_tmpl, NULL});
    trim_nl(t);
    snprintf(g_admin, sizeof g_admin, "%s", t);
    free(t);
}

static void fx_setup(fx *f, const char *tag)
{
    memset(f, 0, sizeof *f);
    ck_assert_int_ge(sodium_init(), 0);
    f->dir = ts_tmpdir(tag);
    ck_assert_ptr_nonnull(f->dir);
    char src[4200];
    snprintf(src, sizeof src, "%s/.", g_tmpl);
    pid_t p = fork();
    if (p == 0) {
        execlp("cp", "cp", "-a", src, f->dir, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    snprintf(f->key, sizeof f->key, "%s/gw-1.key", f->dir);
    adt_err err;
    ck_assert_int_eq(agentsig_key_load(f->key, f->sk, f->pub, &err), ADT_OK);
    snprintf(f->auditor, sizeof f->auditor, "%s", g_auditor);
    snprintf(f->admin, sizeof f->admin, "%s", g_admin);
    f->seq = (uint64_t)time(NULL) * 1000000u;
}

static void fx_start(fx *f, const char *const *extra)
{
    f->port = ts_free_port();
    f->pid = ts_daemon_start(f->dir, f->port, extra, 10000);
    ck_assert_msg(f->pid > 0, "daemon did not start");
}

static void fx_teardown(fx *f)
{
    if (f->pid > 0)
        ts_daemon_stop(f->pid, SIGKILL);
    if (!getenv("AUDITD_TEST_KEEP"))
        ts_rmrf(f->dir);
    else
        fprintf(stderr, "kept %s\n", f->dir);
    free(f->dir);
}

/* A signed request as agent `name` with key sk; ts offset in seconds. */
static void agent_req(fx *f, const char *method, const char *path, const char *name,
                      const uint8_t *sk, uint64_t seq, long ts_off, const char *body, ts_http *r)
{
    uint8_t bh[32];
    crypto_hash_sha256(bh, (const unsigned char *)(body ? body : ""), body ? strlen(body) : 0);
    agentsig_hdr h;
    memset(&h, 0, sizeof h);
    snprintf(h.name, sizeof h.name, "%s", name);
    h.ts = (int64_t)time(NULL) + ts_off;
    h.seq = seq;
    adt_err err;
    agentsig_sign(&h, method, path, bh, sk, &err);
    char v[AGENTSIG_HDR_MAX], hdr[AGENTSIG_HDR_MAX + 32];
    agentsig_format(&h, v, sizeof v);
    snprintf(hdr, sizeof hdr, "Authorization: %s", v);
    const char *hs[] = {hdr, "Content-Type: application/x-ndjson", NULL};
    ck_assert_int_eq(ts_http_req(f->port, method, path, hs, body, body ? strlen(body) : 0, r), 0);
}

static void post_events(fx *f, const char *body, ts_http *r)
{
    agent_req(f, "POST", "/v1/events", "gw-1", f->sk, ++f->seq, 0, body, r);
}

static void bearer_get(fx *f, const char *token, const char *path, ts_http *r)
{
    char hdr[200];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", token ? token : "");
    const char *hs[] = {hdr, NULL};
    ck_assert_int_eq(ts_http_req(f->port, "GET", path, token ? hs : NULL, NULL, 0, r), 0);
}

static uint64_t ledger_size(fx *f)
{
    ts_http r;
    ck_assert_int_eq(ts_http_req(f->port, "GET", "/v1/log/checkpoint", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    char *nl = strchr(r.body, '\n');
    ck_assert_ptr_nonnull(nl);
    uint64_t n = strtoull(nl + 1, NULL, 10);
    ts_http_free(&r);
    return n;
}

static const char *EV1 = "{\"type\":\"incident.open\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"alice\","
                         "\"incident_id\":\"I-1\",\"severity\":\"high\"}";

static void expect_status(ts_http *r, long want, const char *what)
{
    ck_assert_msg(r->status == want, "%s: got %ld, want %ld: %s", what, r->status, want, r->body);
    if (want >= 400) {
        cJSON *j = cJSON_Parse(r->body);
        ck_assert_msg(j && cJSON_IsString(cJSON_GetObjectItem(j, "error")) &&
                          cJSON_IsString(cJSON_GetObjectItem(j, "message")),
                      "%s: error body is not {error, message}: %s", what, r->body);
        cJSON_Delete(j);
    }
    ts_http_free(r);
}

/* ---------- tests ---------- */

START_TEST(test_auth_matrix)
{
    fx f;
    fx_setup(&f, "auth");
    fx_start(&f, NULL);
    ts_http r;
    post_events(&f, EV1, &r);
    expect_status(&r, 201, "good post");
    uint64_t n0 = ledger_size(&f);

    /* Readers: no token, garbage token, agent on a reader endpoint, auditor ok. */
    bearer_get(&f, NULL, "/v1/log/entries/0", &r);
    expect_status(&r, 401, "no token");
    bearer_get(&f, "adt_0000000000000000_00", "/v1/log/entries/0", &r);
    expect_status(&r, 401, "garbage token");
    agent_req(&f, "GET", "/v1/log/entries/0", "gw-1", f.sk, ++f.seq, 0, NULL, &r);
    expect_status(&r, 403, "agent reading entries");
    bearer_get(&f, f.auditor, "/v1/log/entries/0", &r);
    expect_status(&r, 200, "auditor reading entries");
    bearer_get(&f, f.auditor, "/v1/agents", &r);
    expect_status(&r, 403, "auditor on admin endpoint");
    bearer_get(&f, f.admin, "/v1/agents", &r);
    expect_status(&r, 200, "admin on admin endpoint");
    bearer_get(&f, f.admin, "/v1/log/entries/0", &r);
    expect_status(&r, 200, "admin can read");

    /* Agents. */
    ck_assert_int_eq(ts_http_req(f.port, "POST", "/v1/events", NULL, EV1, strlen(EV1), &r), 0);
    expect_status(&r, 401, "no signature");
    {
        char hdr[200];
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", f.auditor);
        const char *hs[] = {hdr, NULL};
        ck_assert_int_eq(ts_http_req(f.port, "POST", "/v1/events", hs, EV1, strlen(EV1), &r), 0);
        expect_status(&r, 403, "auditor posting events");
    }
    agent_req(&f, "POST", "/v1/events", "nobody", f.sk, ++f.seq, 0, EV1, &r);
    expect_status(&r, 401, "unknown agent");
    uint8_t opk[32], osk[64];
    crypto_sign_keypair(opk, osk);
    agent_req(&f, "POST", "/v1/events", "gw-1", osk, ++f.seq, 0, EV1, &r);
    expect_status(&r, 401, "wrong key");
    {
        /* Bad signature: signed over one body, another sent. */
        uint8_t bh[32];
        crypto_hash_sha256(bh, (const unsigned char *)"other", 5);
        agentsig_hdr h = {.ts = time(NULL), .seq = ++f.seq};
        strcpy(h.name, "gw-1");
        adt_err err;
        agentsig_sign(&h, "POST", "/v1/events", bh, f.sk, &err);
        char v[AGENTSIG_HDR_MAX], hdr[AGENTSIG_HDR_MAX + 32];
        agentsig_format(&h, v, sizeof v);
        snprintf(hdr, sizeof hdr, "Authorization: %s", v);
        const char *hs[] = {hdr, NULL};
        ck_assert_int_eq(ts_http_req(f.port, "POST", "/v1/events", hs, EV1, strlen(EV1), &r), 0);
        expect_status(&r, 401, "bad signature");
        ck_assert_int_eq(ts_http_req(f.port, "POST", "/v1/events",
                                     (const char *const[]){"Authorization: AuditdAgent name=gw-1", NULL},
                                     EV1, strlen(EV1), &r), 0);
        expect_status(&r, 401, "malformed signature header");
    }
    /* Replay: the same request again is answered from the committed batch
     * (200, nothing appended); a used seq with a body never committed, or a
     * lower seq, is a replay (409). */
    const char *ev2 = "{\"type\":\"incident.open\",\"time\":\"2026-07-01T09:00:00Z\",\"actor\":\"bob\","
                      "\"incident_id\":\"I-2\",\"severity\":\"low\"}";
    const char *ev3 = "{\"type\":\"incident.open\",\"time\":\"2026-07-01T10:00:00Z\",\"actor\":\"bob\","
                      "\"incident_id\":\"I-3\",\"severity\":\"low\"}";
    uint64_t s = ++f.seq;
    agent_req(&f, "POST", "/v1/events", "gw-1", f.sk, s, 0, ev2, &r);
    expect_status(&r, 201, "fresh seq");
    uint64_t n1 = ledger_size(&f);
    ck_assert_int_eq(n1, n0 + 1);
    agent_req(&f, "POST", "/v1/events", "gw-1", f.sk, s, 0, ev2, &r);
    expect_status(&r, 200, "the same request again");
    agent_req(&f, "POST", "/v1/events", "gw-1", f.sk, s, 0, ev3, &r);
    expect_status(&r, 409, "replayed seq, other body");
    agent_req(&f, "POST", "/v1/events", "gw-1", f.sk, s - 3, 0, EV1, &r);
    expect_status(&r, 409, "lower seq");
    /* s - 5 signed the first post of EV1: repeating that request is a resend. */
    agent_req(&f, "POST", "/v1/events", "gw-1", f.sk, s - 5, 0, EV1, &r);
    expect_status(&r, 200, "the first request again");
    agent_req(&f, "POST", "/v1/events", "gw-1", f.sk, ++f.seq, -1000, EV1, &r);
    expect_status(&r, 409, "stale timestamp");
    agent_req(&f, "POST", "/v1/events", "gw-1", f.sk, ++f.seq, 1000, EV1, &r);
    expect_status(&r, 409, "future timestamp");
    ck_assert_int_eq(ledger_size(&f), n1);

    /* Revocations take effect at once, while the daemon runs. */
    free(run_ok(NULL, (const char *const[]){"token", "revoke", "aud", "--data-dir", f.dir, NULL}));
    bearer_get(&f, f.auditor, "/v1/log/entries/0", &r);
    expect_status(&r, 401, "revoked token");
    free(run_ok(NULL, (const char *const[]){"agent", "revoke", "gw-1", "--data-dir", f.dir, NULL}));
    post_events(&f, EV1, &r);
    expect_status(&r, 401, "revoked agent");
    /* The revocations are ledger events (appended by the CLI). */
    ck_assert_int_eq(ledger_size(&f), n1 + 2);
    bearer_get(&f, f.admin, "/v1/events?source=auditd&type=agent.revoke", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"agent\":\"gw-1\""));
    ts_http_free(&r);
    bearer_get(&f, f.admin, "/v1/events?type=token.create", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"name\":\"aud\""));
    ck_assert_ptr_null(strstr(r.body, f.auditor)); /* never the token itself */
    ts_http_free(&r);
    fx_teardown(&f);
}
END_TEST

START_TEST(test_bad_input)
{
    fx f;
    fx_setup(&f, "input");
    fx_start(&f, (const char *const[]){"--max-body-bytes", "200000", "--max-batch-events", "5", NULL});
    ts_http r;
    post_events(&f, EV1, &r);
    expect_status(&r, 201, "good");
    uint64_t n0 = ledger_size(&f);
    struct {
        const char *body;
        long status;
        const char *needle;
    } cases[] = {
        {"{\"type\":", 400, "invalid JSON"},
        {"[1,2]", 400, ""},
        {"{\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}", 400, "type"},
        {"{\"type\":\"alert.ack\",\"actor\":\"a\"}", 400, "time"},
        {"{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\"}", 400, "actor"},
        {"{\"type\":\"alert.ack\",\"time\":\"07/01/2026\",\"actor\":\"a\"}", 400, "RFC 3339"},
        {"{\"type\":\"no.such\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}", 400, "vocabulary"},
        {"{\"type\":\"server.stop\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}", 403, "auditd"},
        {"{\"type\":\"alert.ack\",\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}",
         400, "duplicate"},
        {"{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\xff\"}", 400, "UTF-8"},
        {"{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}\n"
         "{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}\n"
         "{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\"}\n",
         400, "event 3 (line 3)"},
        {"", 400, "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        post_events(&f, cases[i].body, &r);
        ck_assert_msg(r.status == cases[i].status, "case %zu: %ld %s", i, r.status, r.body);
        ck_assert_msg(strstr(r.body, cases[i].needle), "case %zu: message lacks '%s': %s", i,
                      cases[i].needle, r.body);
        ts_http_free(&r);
    }
    /* Nesting too deep. */
    char deep[400];
    strcpy(deep, "{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\",\"x\":");
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    post_events(&f, deep, &r);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "depth") ? r.body : strstr(r.body, "nest"));
    ts_http_free(&r);
    /* Too many events. */
    char six[1000] = "";
    for (int i = 0; i < 6; i++)
        strcat(six, "{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}\n");
    post_events(&f, six, &r);
    expect_status(&r, 413, "too many events");
    /* Oversized body: 413 from the Content-Length, before reading it. */
    size_t big = 300000;
    char *b = malloc(big + 1);
    memset(b, ' ', big);
    b[big] = '\0';
    memcpy(b, EV1, strlen(EV1));
    post_events(&f, b, &r);
    expect_status(&r, 413, "oversized body");
    free(b);
    ck_assert_int_eq(ledger_size(&f), n0);
    /* Unknown path, wrong method. */
    ck_assert_int_eq(ts_http_req(f.port, "GET", "/v1/nope", NULL, NULL, 0, &r), 0);
    expect_status(&r, 404, "unknown path");
    ck_assert_int_eq(ts_http_req(f.port, "DELETE", "/v1/events", NULL, NULL, 0, &r), 0);
    expect_status(&r, 405, "DELETE");
    fx_teardown(&f);
}
END_TEST

static int b64h(const char *s, merkle_hash out)
{
    adt_err e;
    return agentsig_unb64(s, strlen(s), out, 32, &e);
}

START_TEST(test_receipt_and_log)
{
    fx f;
    fx_setup(&f, "receipt");
    fx_start(&f, NULL);
    ts_http r;
    const char *batch =
        "{\"type\":\"incident.open\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"bob\",\"incident_id\":\"I1\"}\n"
        "{\"type\":\"config.change\",\"time\":\"2026-07-01T09:00:00Z\",\"actor\":\"carol\",\"change_id\":\"C1\"}\n"
        "{\"type\":\"firmware.deploy\",\"time\":\"2026-07-02T08:00:00Z\",\"actor\":\"bob\",\"change_id\":\"C1\"}\n";
    post_events(&f, batch, &r);
    ck_assert_msg(r.status == 201, "%s", r.body);
    cJSON *rc = cJSON_Parse(r.body);
    ts_http_free(&r);
    ck_assert_ptr_nonnull(rc);
    uint64_t first = (uint64_t)cJSON_GetObjectItem(rc, "first")->valuedouble;
    uint64_t count = (uint64_t)cJSON_GetObjectItem(rc, "count")->valuedouble;
    uint64_t tree = (uint64_t)cJSON_GetObjectItem(rc, "tree_size")->valuedouble;
    ck_assert_int_eq(count, 3);
    ck_assert_uint_ge(tree, first + count);
    /* The checkpoint verifies with the published key. */
    ck_assert_int_eq(ts_http_req(f.port, "GET", "/v1/log/key", NULL, NULL, 0, &r), 0);
    trim_nl(r.body);
    char name[NOTE_ORIGIN_MAX + 2];
    uint8_t kpub[32];
    adt_err err;
    ck_assert_int_eq(note_key_parse(r.body, name, sizeof name, kpub, &err), ADT_OK);
    ts_http_free(&r);
    const char *note = cJSON_GetObjectItem(rc, "checkpoint")->valuestring;
    uint64_t nsize;
    merkle_hash root;
    ck_assert_int_eq(note_verify_checkpoint(note, strlen(note), name, kpub, &nsize, root, &err), ADT_OK);
    ck_assert_int_eq(nsize, tree);
    /* Each inline proof verifies, and its leaf is the entry served. */
    cJSON *ents = cJSON_GetObjectItem(rc, "entries");
    ck_assert_int_eq(cJSON_GetArraySize(ents), 3);
    for (int k = 0; k < 3; k++) {
        cJSON *e = cJSON_GetArrayItem(ents, k);
        merkle_hash lh, proof[MERKLE_MAX_PROOF];
        ck_assert_int_eq(b64h(cJSON_GetObjectItem(e, "leaf_hash")->valuestring, lh), 0);
        size_t np = 0;
        cJSON *x;
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(e, "inclusion")) b64h(x->valuestring, proof[np++]);
        ck_assert(merkle_verify_inclusion(first + (uint64_t)k, tree, lh, proof, np, root));
        char p[100];
        snprintf(p, sizeof p, "/v1/log/entries/%llu", (unsigned long long)(first + (uint64_t)k));
        bearer_get(&f, f.auditor, p, &r);
        ck_assert_int_eq(r.status, 200);
        cJSON *ej = cJSON_Parse(r.body);
        const char *lb = cJSON_GetObjectItem(ej, "leaf")->valuestring;
        uint8_t leaf[8192];
        size_t ll;
        ck_assert_int_eq(sodium_base642bin(leaf, sizeof leaf, lb, strlen(lb), NULL, &ll, NULL,
                                           sodium_base64_VARIANT_ORIGINAL), 0);
        merkle_hash got;
        merkle_leaf_hash(leaf, ll, got);
        ck_assert_mem_eq(got, lh, 32);
        /* The leaf carries the agent's signature, checkable offline. */
        const char *sv;
        size_t sl;
        ck_assert_int_eq(canon_member((const char *)leaf, ll, "sig", &sv, &sl), ADT_OK);
        uint8_t bh[32], want[32];
        uint64_t sseq;
        ck_assert_int_eq(agentsig_verify_record(sv, sl, f.pub, bh, &sseq, &err), ADT_OK);
        crypto_hash_sha256(want, (const unsigned char *)batch, strlen(batch));
        ck_assert_mem_eq(bh, want, 32);
        ck_assert_int_eq(sseq, f.seq);
        cJSON_Delete(ej);
        ts_http_free(&r);
    }
    cJSON_Delete(rc);
    /* Proof endpoints. */
    char p[160];
    snprintf(p, sizeof p, "/v1/log/proof/consistency?first=1&second=%llu", (unsigned long long)tree);
    bearer_get(&f, f.auditor, p, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"hashes\":["));
    ts_http_free(&r);
    bearer_get(&f, f.auditor, "/v1/log/proof/inclusion?index=9&tree_size=2", &r);
    expect_status(&r, 400, "bad proof range");
    bearer_get(&f, f.auditor, "/v1/log/proof/inclusion?index=x&tree_size=2", &r);
    expect_status(&r, 400, "bad number");
    bearer_get(&f, f.auditor, "/v1/log/entries/99999", &r);
    expect_status(&r, 404, "missing entry");
    /* Query index: filters and pagination. */
    bearer_get(&f, f.auditor, "/v1/events?source=gw-1&actor=bob", &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *q = cJSON_Parse(r.body);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(q, "events")), 2);
    cJSON_Delete(q);
    ts_http_free(&r);
    bearer_get(&f, f.auditor, "/v1/events?source=gw-1&from=2026-07-01T08:30:00Z&to=2026-07-02T00:00:00Z", &r);
    q = cJSON_Parse(r.body);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(q, "events")), 1);
    ck_assert_ptr_nonnull(strstr(r.body, "config.change"));
    cJSON_Delete(q);
    ts_http_free(&r);
    bearer_get(&f, f.auditor, "/v1/events?source=gw-1&limit=2", &r);
    q = cJSON_Parse(r.body);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(q, "events")), 2);
    const char *cur = cJSON_GetObjectItem(q, "next_cursor")->valuestring;
    ck_assert_ptr_nonnull(cur);
    snprintf(p, sizeof p, "/v1/events?source=gw-1&limit=2&cursor=%s", cur);
    cJSON_Delete(q);
    ts_http_free(&r);
    bearer_get(&f, f.auditor, p, &r);
    q = cJSON_Parse(r.body);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(q, "events")), 1);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(q, "next_cursor")));
    cJSON_Delete(q);
    ts_http_free(&r);
    bearer_get(&f, f.auditor, "/v1/events?from=yesterday", &r);
    expect_status(&r, 400, "bad from");
    /* Metrics and health. */
    ck_assert_int_eq(ts_http_req(f.port, "GET", "/metrics", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "auditd_events_appended_total"));
    ck_assert_ptr_nonnull(strstr(r.body, "auditd_commit_latency_seconds_bucket"));
    ck_assert_ptr_nonnull(strstr(r.body, "auditd_requests_rejected_total{reason=\"invalid\"} 3"));
    ts_http_free(&r);
    fx_teardown(&f);
}
END_TEST

static pid_t spawn_agent(fx *f, const char *spool, const char *input, int port, int *in_fd,
                         const char *const *extra)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[0], 0);
        close(p[1]);
        char logp[4200];
        snprintf(logp, sizeof logp, "%s.log", spool);
        FILE *lf = fopen(logp, "w");
        if (lf) {
            dup2(fileno(lf), 1);
            dup2(fileno(lf), 2);
        }
        const char *argv[32] = {AUDITD_BIN, "agent", "send", "--server", url, "--name", "gw-1",
                                "--key", f->key, "--spool", spool, "--max-backoff-ms", "400"};
        int n = 13;
        for (int i = 0; extra && extra[i]; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        execv(AUDITD_BIN, (char *const *)argv);
        _exit(127);
    }
    close(p[0]);
    size_t len = strlen(input), off = 0;
    while (off < len) {
        ssize_t w = write(p[1], input + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(p[1]);
    if (in_fd)
        *in_fd = -1;
    return pid;
}

static int wait_exit(pid_t pid, int secs)
{
    for (int i = 0; i < secs * 20; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static char *make_events(int n)
{
    char *s = malloc((size_t)n * 160 + 1);
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)sprintf(s + o, "{\"type\":\"x-test.tick\",\"time\":\"2026-07-01T08:00:00Z\","
                                    "\"actor\":\"agent:gw-1\",\"id\":\"e%06d\"}\n", i);
    s[o] = '\0';
    return s;
}

/* Count gw-1's x-test.tick entries and check that ids are unique. */
static int count_agent_events(fx *f, int expect_max)
{
    char *seen = calloc((size_t)expect_max + 1, 1);
    int total = 0, dups = 0;
    char cursor[32] = "";
    for (;;) {
        char p[200];
        snprintf(p, sizeof p, "/v1/events?source=gw-1&type=x-test.tick&limit=1000%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        ts_http r;
        bearer_get(f, f->admin, p, &r);
        ck_assert_int_eq(r.status, 200);
        cJSON *q = cJSON_Parse(r.body);
        cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(q, "events"))
        {
            cJSON *pl = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "leaf"), "payload");
            int id = atoi(cJSON_GetObjectItem(pl, "id")->valuestring + 1);
            if (id >= 0 && id <= expect_max && seen[id]++)
                dups++;
            total++;
        }
        cJSON *nc = cJSON_GetObjectItem(q, "next_cursor");
        bool more = cJSON_IsString(nc);
        if (more)
            snprintf(cursor, sizeof cursor, "%s", nc->valuestring);
        cJSON_Delete(q);
        ts_http_free(&r);
        if (!more)
            break;
    }
    free(seen);
    ck_assert_msg(dups == 0, "%d events were appended twice", dups);
    return total;
}

static void verify_receipts(fx *f, const char *spool)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f->port);
    char *out = NULL, *err = NULL;
    int st = ts_run(NULL, 0, &out, &err,
                    (const char *const[]){"agent", "verify-receipts", "--server", url, "--spool",
                                          spool, "--token", f->auditor, NULL});
    ck_assert_msg(st == 0, "verify-receipts: %s %s", out, err);
    ck_assert_ptr_nonnull(strstr(out, "ok:"));
    free(out);
    free(err);
}

static void ledger_verify_ok(fx *f)
{
    char *out = NULL, *err = NULL;
    int st = ts_run(NULL, 0, &out, &err, (const char *const[]){"verify", "--data-dir", f->dir, NULL});
    ck_assert_msg(st == 0, "auditd verify: %s %s", out, err);
    free(out);
    free(err);
}

START_TEST(test_agent_spools_while_down)
{
    fx f;
    fx_setup(&f, "spool");
    f.port = ts_free_port();
    char spool[4200];
    snprintf(spool, sizeof spool, "%s/spool", f.dir);
    char *evs = make_events(1200);
    pid_t ag = spawn_agent(&f, spool, evs, f.port, NULL, (const char *const[]){"--batch", "250", NULL});
    sleep(1); /* the agent is retrying against a closed port */
    f.pid = ts_daemon_start(f.dir, f.port, NULL, 10000);
    ck_assert_int_gt(f.pid, 0);
    int st = wait_exit(ag, 60);
    ck_assert_msg(st == 0, "agent exit %d", st);
    ck_assert_int_eq(count_agent_events(&f, 1200), 1200);
    verify_receipts(&f, spool);
    /* A second run with nothing new sends nothing more. */
    ag = spawn_agent(&f, spool, "", f.port, NULL, NULL);
    ck_assert_int_eq(wait_exit(ag, 30), 0);
    ck_assert_int_eq(count_agent_events(&f, 1200), 1200);
    free(evs);
    fx_teardown(&f);
}
END_TEST

START_TEST(test_sigkill_during_ingestion)
{
    fx f;
    fx_setup(&f, "kill");
    const char *const dflags[] = {"--receipt-proofs-max", "100", NULL};
    fx_start(&f, dflags);
    char spool[4200];
    snprintf(spool, sizeof spool, "%s/spool", f.dir);
    const int N = 3000;
    char *evs = make_events(N);
    pid_t ag = spawn_agent(&f, spool, evs, f.port, NULL, (const char *const[]){"--batch", "25", NULL});
    /* Kill the daemon mid-stream, twice, and bring it back on the same port. */
    for (int round = 0; round < 2; round++) {
        usleep(400000);
        ck_assert_int_eq(ts_daemon_stop(f.pid, SIGKILL), 128 + SIGKILL);
        usleep(300000);
        f.pid = ts_daemon_start(f.dir, f.port, dflags, 10000);
        ck_assert_int_gt(f.pid, 0);
    }
    int st = wait_exit(ag, 120);
    ck_assert_msg(st == 0, "agent exit %d", st);
    ck_assert_int_eq(count_agent_events(&f, N), N);
    verify_receipts(&f, spool);
    ck_assert_int_eq(ts_daemon_stop(f.pid, SIGTERM), 0);
    f.pid = -1;
    ledger_verify_ok(&f);
    free(evs);
    fx_teardown(&f);
}
END_TEST

START_TEST(test_overload)
{
    fx f;
    fx_setup(&f, "flood");
    /* A tiny queue and one event per transaction make the queue fill up. */
    fx_start(&f, (const char *const[]){"--queue-max-events", "60", "--max-group-events", "40", NULL});
    /* One agent per thread keeps each agent's seqs in order. */
    enum { T = 8 };
    char names[T][16], keys[T][4200];
    uint8_t sks[T][64];
    for (int t = 0; t < T; t++) {
        snprintf(names[t], sizeof names[t], "fl-%d", t);
        snprintf(keys[t], sizeof keys[t], "%s/fl-%d.key", f.dir, t);
        uint8_t pk[32];
        adt_err err;
        ck_assert_int_eq(agentsig_key_load(keys[t], sks[t], pk, &err), ADT_OK);
    }
    uint64_t n0 = ledger_size(&f);
    int ok = 0, busy = 0, other = 0, events_ok = 0;
    bool ra = false;
    pid_t kids[T];
    int pipes[T][2];
    for (int t = 0; t < T; t++) {
        ck_assert_int_eq(pipe(pipes[t]), 0);
        kids[t] = fork();
        if (kids[t] == 0) {
            close(pipes[t][0]);
            char body[40 * 140] = "";
            uint8_t bh[32];
            int res[5] = {0};
            for (int k = 0; k < 30; k++) {
                /* Each request its own batch (identical bytes would be one). */
                body[0] = '\0';
                for (int i = 0; i < 40; i++) {
                    char line[140];
                    snprintf(line, sizeof line, "{\"type\":\"x-test.flood\",\"time\":"
                             "\"2026-07-01T08:00:00Z\",\"actor\":\"a\",\"k\":%d}\n", k);
                    strcat(body, line);
                }
                crypto_hash_sha256(bh, (const unsigned char *)body, strlen(body));
                agentsig_hdr h = {.ts = time(NULL), .seq = (uint64_t)k + 1};
                strcpy(h.name, names[t]);
                adt_err err;
                agentsig_sign(&h, "POST", "/v1/events", bh, sks[t], &err);
                char val[AGENTSIG_HDR_MAX], hdr[AGENTSIG_HDR_MAX + 32];
                agentsig_format(&h, val, sizeof val);
                snprintf(hdr, sizeof hdr, "Authorization: %s", val);
                const char *hs[] = {hdr, NULL};
                ts_http r;
                if (ts_http_req(f.port, "POST", "/v1/events", hs, body, strlen(body), &r)) {
                    res[2]++;
                    continue;
                }
                if (r.status == 201) {
                    res[0]++;
                    res[3] += 40;
                } else if (r.status == 429) {
                    res[1]++;
                    if (strstr(r.headers, "Retry-After:") || strstr(r.headers, "retry-after:"))
                        res[4] = 1;
                } else {
                    res[2]++;
                }
                ts_http_free(&r);
            }
            if (write(pipes[t][1], res, sizeof res) != sizeof res)
                _exit(1);
            _exit(0);
        }
        close(pipes[t][1]);
    }
    for (int t = 0; t < T; t++) {
        int res[5] = {0};
        ck_assert_int_eq(read(pipes[t][0], res, sizeof res), (ssize_t)sizeof res);
        close(pipes[t][0]);
        waitpid(kids[t], NULL, 0);
        ok += res[0];
        busy += res[1];
        other += res[2];
        events_ok += res[3];
        ra = ra || res[4];
    }
    ck_assert_int_eq(other, 0);
    ck_assert_msg(busy > 0, "no 429 under a flood (ok %d)", ok);
    ck_assert(ra);
    ck_assert_int_gt(ok, 0);
    /* Everything acknowledged is there, nothing else. */
    ck_assert_int_eq(ledger_size(&f), n0 + (uint64_t)events_ok);
    /* Memory stayed bounded. */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)f.pid);
    char *status = ts_read_file(path, NULL);
    ck_assert_ptr_nonnull(status);
    char *rss = strstr(status, "VmHWM:");
    ck_assert_ptr_nonnull(rss);
    long kb = strtol(rss + 6, NULL, 10);
    ck_assert_msg(kb < 300 * 1024, "daemon peak RSS %ld kB", kb);
    free(status);
    ts_http r;
    ck_assert_int_eq(ts_http_req(f.port, "GET", "/metrics", NULL, NULL, 0, &r), 0);
    ck_assert_ptr_null(strstr(r.body, "auditd_requests_rejected_total{reason=\"busy\"} 0\n"));
    ts_http_free(&r);
    fx_teardown(&f);
}
END_TEST

START_TEST(test_sigterm_drain)
{
    fx f;
    fx_setup(&f, "drain");
    fx_start(&f, NULL);
    ts_http r;
    post_events(&f, EV1, &r);
    expect_status(&r, 201, "post");
    ck_assert_int_eq(ts_daemon_stop(f.pid, SIGTERM), 0);
    f.pid = -1;
    /* The last entry is server.stop and the latest checkpoint covers it. */
    const char *const cp_args[] = {"checkpoint", "--data-dir", f.dir, NULL};
    char *cp = run_ok(NULL, cp_args);
    uint64_t size = strtoull(strchr(cp, '\n') + 1, NULL, 10);
    free(cp);
    char idx[32];
    snprintf(idx, sizeof idx, "%llu", (unsigned long long)(size - 1));
    const char *const entry_args[] = {"entry", idx, "--data-dir", f.dir, NULL};
    char *out = run_ok(NULL, entry_args);
    cJSON *e = cJSON_Parse(out);
    const char *lb = cJSON_GetObjectItem(e, "leaf")->valuestring;
    uint8_t leaf[8192];
    size_t ll;
    ck_assert_int_eq(sodium_base642bin(leaf, sizeof leaf - 1, lb, strlen(lb), NULL, &ll, NULL,
                                       sodium_base64_VARIANT_ORIGINAL), 0);
    leaf[ll] = 0;
    ck_assert_msg(strstr((char *)leaf, "\"type\":\"server.stop\""), "last leaf: %s", leaf);
    cJSON_Delete(e);
    free(out);
    ledger_verify_ok(&f);
    fx_teardown(&f);
}
END_TEST

START_TEST(test_config_and_plain_rule)
{
    fx f;
    fx_setup(&f, "config");
    char conf[4200];
    snprintf(conf, sizeof conf, "%s/bad.conf", f.dir);
    const char *text = "listen = 127.0.0.1:9\nmax_body_bytes = huge\n";
    ck_assert_int_eq(ts_write_file(conf, text, strlen(text)), 0);
    char *out = NULL, *err = NULL;
    int st = ts_run(NULL, 0, &out, &err,
                    (const char *const[]){"serve", "--data-dir", f.dir, "--config", conf, NULL});
    ck_assert_int_ne(st, 0);
    ck_assert_msg(strstr(err, "bad.conf:2"), "%s", err);
    free(out);
    free(err);
    /* Plain HTTP on a non-loopback address is refused before binding. */
    st = ts_run(NULL, 0, &out, &err,
                (const char *const[]){"serve", "--data-dir", f.dir, "--listen", "0.0.0.0:9", NULL});
    ck_assert_int_ne(st, 0);
    ck_assert_msg(strstr(err, "plain HTTP"), "%s", err);
    free(out);
    free(err);
    /* Flags override the file. */
    snprintf(conf, sizeof conf, "%s/auditd.conf", f.dir);
    text = "# defaults for this plant\nlisten = 127.0.0.1:1\nlog_level = warn\n";
    ck_assert_int_eq(ts_write_file(conf, text, strlen(text)), 0);
    fx_start(&f, NULL); /* --listen from ts_daemon_start wins over the file's port 1 */
    ts_http r;
    bearer_get(&f, f.admin, "/v1/events?type=server.start", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "config_sha256"));
    ts_http_free(&r);
    /* Registering an existing public key; refusals name the problem. */
    {
        uint8_t pk[32], sk[64];
        crypto_sign_keypair(pk, sk);
        char b64[64];
        agentsig_b64(pk, 32, b64, sizeof b64);
        free(run_ok(NULL, (const char *const[]){"agent", "add", "plc-7", "--role", "platform",
                                                "--pubkey", b64, "--data-dir", f.dir, NULL}));
        agent_req(&f, "POST", "/v1/events", "plc-7", sk, 1, 0, EV1, &r);
        expect_status(&r, 201, "agent registered by public key");
        char *o2 = NULL, *e2 = NULL;
        int st2 = ts_run(NULL, 0, &o2, &e2, (const char *const[]){"agent", "add", "plc-7", "--role",
                                                                  "edge", "--pubkey", b64,
                                                                  "--data-dir", f.dir, NULL});
        ck_assert_int_ne(st2, 0);
        ck_assert_msg(strstr(e2, "exists"), "%s", e2);
        free(o2);
        free(e2);
        st2 = ts_run(NULL, 0, &o2, &e2, (const char *const[]){"agent", "add", "x1", "--role", "boss",
                                                              "--pubkey", b64, "--data-dir", f.dir,
                                                              NULL});
        ck_assert_int_ne(st2, 0);
        ck_assert_msg(strstr(e2, "edge or platform"), "%s", e2);
        free(o2);
        free(e2);
        st2 = ts_run(NULL, 0, &o2, &e2, (const char *const[]){"agent", "add", "x2", "--role", "edge",
                                                              "--pubkey", "bm90IGEga2V5",
                                                              "--data-dir", f.dir, NULL});
        ck_assert_int_ne(st2, 0);
        ck_assert_msg(strstr(e2, "base64"), "%s", e2);
        free(o2);
        free(e2);
        struct stat sb;
        ck_assert_int_eq(stat(f.key, &sb), 0);
        ck_assert_int_eq(sb.st_mode & 0777, 0600);
    }
    /* CLI listings. */
    out = run_ok(NULL, (const char *const[]){"agent", "list", "--data-dir", f.dir, NULL});
    ck_assert_ptr_nonnull(strstr(out, "\"name\":\"gw-1\""));
    free(out);
    out = run_ok(NULL, (const char *const[]){"token", "list", "--data-dir", f.dir, NULL});
    ck_assert_ptr_nonnull(strstr(out, "\"name\":\"adm\""));
    ck_assert_ptr_null(strstr(out, f.admin));
    free(out);
    fx_teardown(&f);
}
END_TEST

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static bool have_openssl(void)
{
    return access("/usr/bin/openssl", X_OK) == 0 || access("/bin/openssl", X_OK) == 0;
}

START_TEST(test_tls)
{
    if (!have_openssl()) {
        fprintf(stderr, "test_tls: skipped: openssl not installed\n");
        return;
    }
    fx f;
    fx_setup(&f, "tls");
    char cert[4200], key[4200], cmd[9000];
    snprintf(cert, sizeof cert, "%s/cert.pem", f.dir);
    snprintf(key, sizeof key, "%s/key.pem", f.dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout %s "
             "-out %s -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    ck_assert_int_eq(system(cmd), 0);
    f.port = ts_free_port();
    char listen[64], url[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", f.port);
    snprintf(url, sizeof url, "https://127.0.0.1:%d", f.port);
    f.pid = fork();
    if (f.pid == 0) {
        char logp[4200];
        snprintf(logp, sizeof logp, "%s/daemon.log", f.dir);
        FILE *lf = fopen(logp, "w");
        if (lf) {
            dup2(fileno(lf), 1);
            dup2(fileno(lf), 2);
        }
        execl(AUDITD_BIN, AUDITD_BIN, "serve", "--data-dir", f.dir, "--listen", listen,
              "--tls-cert", cert, "--tls-key", key, (char *)NULL);
        _exit(127);
    }
    /* Wait for the TLS health check (verifying the certificate). */
    long status = 0;
    for (int i = 0; i < 200 && status != 200; i++) {
        CURL *c = curl_easy_init();
        char hu[128];
        snprintf(hu, sizeof hu, "%s/healthz", url);
        curl_easy_setopt(c, CURLOPT_URL, hu);
        curl_easy_setopt(c, CURLOPT_CAINFO, cert);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        if (status != 200)
            usleep(50000);
    }
    ck_assert_int_eq(status, 200);
    /* Plain HTTP to the TLS port gets no HTTP answer. */
    ts_http r;
    int prc = ts_http_req(f.port, "GET", "/healthz", NULL, NULL, 0, &r);
    ck_assert(prc != 0 || r.status != 200);
    ts_http_free(&r);
    /* The agent delivers over HTTPS, trusting the self-signed certificate. */
    char spool[4200];
    snprintf(spool, sizeof spool, "%s/spool", f.dir);
    char *evs = make_events(10);
    char *out = NULL, *err = NULL;
    int st = ts_run(evs, strlen(evs), &out, &err,
                    (const char *const[]){"agent", "send", "--server", url, "--name", "gw-1", "--key",
                                          f.key, "--spool", spool, "--cacert", cert, "--give-up",
                                          "20", NULL});
    ck_assert_msg(st == 0, "agent over TLS: %s", err);
    free(out);
    free(err);
    st = ts_run(NULL, 0, &out, &err,
                (const char *const[]){"agent", "verify-receipts", "--server", url, "--spool", spool,
                                      "--token", f.auditor, "--cacert", cert, NULL});
    ck_assert_msg(st == 0, "verify over TLS: %s", err);
    free(out);
    free(err);
    free(evs);
    ck_assert_int_eq(ts_daemon_stop(f.pid, SIGTERM), 0);
    f.pid = -1;
    fx_teardown(&f);
}
END_TEST

START_TEST(test_agent_rejected_batch)
{
    fx f;
    fx_setup(&f, "reject");
    fx_start(&f, NULL);
    char spool[4200];
    snprintf(spool, sizeof spool, "%s/spool", f.dir);
    const char *in = "{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}\n"
                     "{\"type\":\"alert.ack\",\"time\":\"not a time\",\"actor\":\"a\"}\n";
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f.port);
    char *out = NULL, *err = NULL;
    int st = ts_run(in, strlen(in), &out, &err,
                    (const char *const[]){"agent", "send", "--server", url, "--name", "gw-1", "--key",
                                          f.key, "--spool", spool, NULL});
    ck_assert_int_ne(st, 0);
    ck_assert_msg(strstr(err, "rejected") && strstr(err, "RFC 3339"), "%s", err);
    ck_assert_msg(strstr(err, "rejected 2"), "%s", err);
    free(out);
    free(err);
    fx_teardown(&f);
}
END_TEST

START_TEST(test_parts_routing)
{
    fx f;
    fx_setup(&f, "parts");
    fx_start(&f, NULL);
    static const char *const paths[] = {"/v1/devices", "/v1/quarantine", "/v1/models",
                                        "/v1/controls", "/v1/findings",
                                        "/v1/reports/2026-Q3?format=json", NULL};
    uint64_t size0 = ledger_size(&f);
    for (int i = 0; paths[i]; i++) {
        ts_http r;
        bearer_get(&f, NULL, paths[i], &r);
        ck_assert_msg(r.status == 401, "%s without a token: %ld", paths[i], r.status);
        ts_http_free(&r);
        agent_req(&f, "GET", paths[i], "gw-1", f.sk, ++f.seq, 0, NULL, &r);
        ck_assert_msg(r.status == 403 || r.status == 401, "%s as an agent: %ld", paths[i], r.status);
        ts_http_free(&r);
        bearer_get(&f, f.auditor, paths[i], &r);
        /* Served by the part, never refused. */
        ck_assert_msg(r.status == 200, "%s as auditor: %ld %s", paths[i], r.status,
                      r.body);
        ts_http_free(&r);
    }
    /* A GET changes no state: reading a report records nothing. Issuing is
     * a POST, and records report.issued. */
    ck_assert_uint_eq(ledger_size(&f), size0);
    {
        char hdr[200];
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", f.auditor);
        const char *hs[] = {hdr, NULL};
        ts_http r;
        ck_assert_int_eq(ts_http_req(f.port, "POST", "/v1/reports/2026-Q3?format=json", hs, NULL, 0,
                                     &r), 0);
        ck_assert_msg(r.status == 201, "POST report: %ld %s", r.status, r.body);
        ck_assert(strstr(r.body, "\"recorded\":\"report.issued\""));
        ck_assert_uint_eq(ledger_size(&f), size0 + 1);
        ts_http_free(&r);
        ck_assert_int_eq(ts_http_req(f.port, "POST", "/v1/reports/2026-Q3", NULL, NULL, 0, &r), 0);
        ck_assert_int_eq(r.status, 401);
        ts_http_free(&r);
    }
    /* Telemetry is agent-only and signed like events. */
    const char *tel = "{\"device\":\"d-1\",\"time\":\"2026-07-01T08:00:00Z\",\"values\":{\"t\":1}}\n";
    ts_http r;
    {
        char hdr[200];
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", f.admin);
        const char *hs[] = {hdr, NULL};
        ck_assert_int_eq(ts_http_req(f.port, "POST", "/v1/telemetry", hs, tel, strlen(tel), &r), 0);
        ck_assert_int_eq(r.status, 403);
        ts_http_free(&r);
    }
    agent_req(&f, "POST", "/v1/telemetry", "gw-1", f.sk, ++f.seq, 0, tel, &r);
    ck_assert_msg(r.status < 300 || r.status == 400, "telemetry: %ld %s", r.status,
                  r.body);
    ts_http_free(&r);
    fx_teardown(&f);
}
END_TEST

/* SIGTERM while agents are posting: the daemon exits 0, every request it
 * acknowledged is in the ledger, and the rest were refused (503) or never
 * connected, with nothing half-appended. */
START_TEST(test_sigterm_inflight)
{
    fx f;
    fx_setup(&f, "drainload");
    fx_start(&f, NULL);
    uint64_t n0 = ledger_size(&f);
    enum { K = 4 };
    pid_t kids[K];
    int pipes[K][2];
    for (int t = 0; t < K; t++) {
        ck_assert_int_eq(pipe(pipes[t]), 0);
        kids[t] = fork();
        if (kids[t] == 0) {
            close(pipes[t][0]);
            char name[16], key[4200];
            snprintf(name, sizeof name, "fl-%d", t);
            snprintf(key, sizeof key, "%s/fl-%d.key", f.dir, t);
            uint8_t sk[64], pk[32];
            adt_err err;
            if (agentsig_key_load(key, sk, pk, &err))
                _exit(2);
            size_t cap = 200 * 120 + 1, o = 0;
            char *body = malloc(cap);
            uint8_t bh[32];
            int res[3] = {0}; /* events acknowledged, 503s, other statuses */
            for (uint64_t k = 1; k < 10000; k++) {
                o = 0;
                for (int i = 0; i < 200; i++)
                    o += (size_t)snprintf(body + o, cap - o, "{\"type\":\"x-test.drain\",\"time\":"
                                          "\"2026-07-01T08:00:00Z\",\"actor\":\"a\",\"k\":%llu}\n",
                                          (unsigned long long)k);
                crypto_hash_sha256(bh, (const unsigned char *)body, o);
                agentsig_hdr h = {.ts = time(NULL), .seq = k};
                strcpy(h.name, name);
                agentsig_sign(&h, "POST", "/v1/events", bh, sk, &err);
                char val[AGENTSIG_HDR_MAX], hdr[AGENTSIG_HDR_MAX + 32];
                agentsig_format(&h, val, sizeof val);
                snprintf(hdr, sizeof hdr, "Authorization: %s", val);
                const char *hs[] = {hdr, NULL};
                ts_http r;
                int rc = ts_http_req(f.port, "POST", "/v1/events", hs, body, o, &r);
                long st = r.status;
                ts_http_free(&r);
                if (rc)
                    break; /* the daemon is gone */
                if (st == 201)
                    res[0] += 200;
                else if (st == 503)
                    res[1]++;
                else
                    res[2]++;
            }
            free(body);
            if (write(pipes[t][1], res, sizeof res) != sizeof res)
                _exit(1);
            _exit(0);
        }
        close(pipes[t][1]);
    }
    usleep(500000);
    ck_assert_int_eq(ts_daemon_stop(f.pid, SIGTERM), 0);
    f.pid = -1;
    int acked = 0, other = 0;
    for (int t = 0; t < K; t++) {
        int res[3] = {0};
        ck_assert_int_eq(read(pipes[t][0], res, sizeof res), (ssize_t)sizeof res);
        close(pipes[t][0]);
        waitpid(kids[t], NULL, 0);
        acked += res[0];
        other += res[2];
    }
    ck_assert_int_gt(acked, 0);
    ck_assert_int_eq(other, 0);
    /* Exactly what was acknowledged, plus server.stop; the checkpoint covers it all. */
    const char *const cp_args[] = {"checkpoint", "--data-dir", f.dir, NULL};
    char *cp = run_ok(NULL, cp_args);
    uint64_t size = strtoull(strchr(cp, '\n') + 1, NULL, 10);
    free(cp);
    ck_assert_int_eq(size, n0 + (uint64_t)acked + 1);
    ledger_verify_ok(&f);
    fx_teardown(&f);
}
END_TEST

static void append_line(const char *path, int id)
{
    FILE *fp = fopen(path, "a");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "{\"type\":\"x-test.tick\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\","
                "\"id\":\"e%06d\"}\n", id);
    fclose(fp);
}

/* --follow: lines appended later are delivered; after a restart the agent
 * resumes where it stopped, sending nothing twice. */
START_TEST(test_agent_follow)
{
    fx f;
    fx_setup(&f, "follow");
    fx_start(&f, NULL);
    char spool[4200], file[4200];
    snprintf(spool, sizeof spool, "%s/spool", f.dir);
    snprintf(file, sizeof file, "%s/events.ndjson", f.dir);
    for (int i = 0; i < 3; i++)
        append_line(file, i);
    const char *const extra[] = {"--follow", file, NULL};
    pid_t ag = spawn_agent(&f, spool, "", f.port, NULL, extra);
    usleep(300000);
    append_line(file, 3);
    append_line(file, 4);
    for (int i = 0; i < 100 && count_agent_events(&f, 10) < 5; i++)
        usleep(50000);
    ck_assert_int_eq(count_agent_events(&f, 10), 5);
    kill(ag, SIGTERM);
    ck_assert_int_eq(wait_exit(ag, 20), 0);
    append_line(file, 5);
    ag = spawn_agent(&f, spool, "", f.port, NULL, extra);
    for (int i = 0; i < 100 && count_agent_events(&f, 10) < 6; i++)
        usleep(50000);
    kill(ag, SIGTERM);
    ck_assert_int_eq(wait_exit(ag, 20), 0);
    ck_assert_int_eq(count_agent_events(&f, 10), 6);
    fx_teardown(&f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("blackbox");
    tcase_set_timeout(tc, 200);
    const char *only = getenv("AUDITD_TEST_ONLY");
    if (!only || !strcmp(only, "test_auth_matrix"))
        tcase_add_test(tc, test_auth_matrix);
    if (!only || !strcmp(only, "test_bad_input"))
        tcase_add_test(tc, test_bad_input);
    if (!only || !strcmp(only, "test_receipt_and_log"))
        tcase_add_test(tc, test_receipt_and_log);
    if (!only || !strcmp(only, "test_config_and_plain_rule"))
        tcase_add_test(tc, test_config_and_plain_rule);
    if (!only || !strcmp(only, "test_sigterm_drain"))
        tcase_add_test(tc, test_sigterm_drain);
    if (!only || !strcmp(only, "test_agent_rejected_batch"))
        tcase_add_test(tc, test_agent_rejected_batch);
    if (!only || !strcmp(only, "test_agent_spools_while_down"))
        tcase_add_test(tc, test_agent_spools_while_down);
    if (!only || !strcmp(only, "test_sigkill_during_ingestion"))
        tcase_add_test(tc, test_sigkill_during_ingestion);
    if (!only || !strcmp(only, "test_overload"))
        tcase_add_test(tc, test_overload);
    if (!only || !strcmp(only, "test_parts_routing"))
        tcase_add_test(tc, test_parts_routing);
    if (!only || !strcmp(only, "test_sigterm_inflight"))
        tcase_add_test(tc, test_sigterm_inflight);
    if (!only || !strcmp(only, "test_agent_follow"))
        tcase_add_test(tc, test_agent_follow);
    if (!only || !strcmp(only, "test_tls"))
        tcase_add_test(tc, test_tls);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    make_template();
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ts_rmrf(g_tmpl);
    free(g_tmpl);
    return failed ? 1 : 0;
}
