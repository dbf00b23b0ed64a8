/* Unit suites of the web console's server side: request parsing (conreq.c),
 * people and sessions (person.c), rights, sessions and CSRF through the
 * console itself (console.c), and the automated workflows (workflow.c),
 * including several runners at once in separate processes. Real SQLite
 * files and a real ledger in temporary directories; no daemon. */
#include "conreq.h"
#include "console.h"
#include "rights.h"
#include "person.h"
#include "raci.h"
#include "tsupport.h"
#include "workflow.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLANT AUDITD_SOURCE_DIR "/policies/examples/plant.xml"

/* ---------- conreq: cookies, tokens, ids, bodies ---------- */

START_TEST(test_cookie)
{
    char v[70];
    ck_assert(conreq_cookie("auditd_session=abc", "auditd_session", v, sizeof v));
    ck_assert_str_eq(v, "abc");
    ck_assert(conreq_cookie("a=1; auditd_session=xyz; b=2", "auditd_session", v, sizeof v));
    ck_assert_str_eq(v, "xyz");
    ck_assert(conreq_cookie("a=1;auditd_session=xyz ;b=2", "auditd_session", v, sizeof v));
    ck_assert_str_eq(v, "xyz");
    /* a longer name that starts the same is another cookie */
    ck_assert(!conreq_cookie("auditd_session_old=1", "auditd_session", v, sizeof v));
    ck_assert(!conreq_cookie("xauditd_session=1", "auditd_session", v, sizeof v));
    ck_assert(!conreq_cookie("auditd_session=", "auditd_session", v, sizeof v));
    ck_assert(!conreq_cookie("", "auditd_session", v, sizeof v));
    ck_assert(!conreq_cookie(";;;", "auditd_session", v, sizeof v));
    ck_assert(!conreq_cookie(NULL, "auditd_session", v, sizeof v));
    char small[4];
    ck_assert(!conreq_cookie("auditd_session=abcd", "auditd_session", small, sizeof small));
    ck_assert(conreq_cookie("auditd_session=abc", "auditd_session", small, sizeof small));
    ck_assert(conreq_token_ok("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    ck_assert(!conreq_token_ok("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    ck_assert(!conreq_token_ok("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"));
    ck_assert(!conreq_token_ok("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"));
    ck_assert(!conreq_token_ok(""));
    ck_assert(conreq_id_ok("ALR-001") && conreq_id_ok("model:fp@1") && conreq_id_ok("2026-Q3"));
    ck_assert(!conreq_id_ok("") && !conreq_id_ok("a b") && !conreq_id_ok("a/b") &&
              !conreq_id_ok("<x>") && !conreq_id_ok(NULL));
    char longid[200];
    memset(longid, 'a', 129);
    longid[129] = 0;
    ck_assert(!conreq_id_ok(longid));
    longid[128] = 0;
    ck_assert(conreq_id_ok(longid));
}
END_TEST

#define P(s) s, strlen(s)

START_TEST(test_bodies)
{
    adt_err e;
    conreq_login lg;
    ck_assert_int_eq(conreq_parse_login(P("{\"name\":\"grace\",\"password\":\"pw\"}"), &lg, &e), ADT_OK);
    ck_assert_str_eq(lg.name, "grace");
    ck_assert_str_eq(lg.password, "pw");
    ck_assert_int_eq(conreq_parse_login(P("{\"name\":\"grace\"}"), &lg, &e), ADT_EINVAL);
    ck_assert_int_eq(conreq_parse_login(P("[1]"), &lg, &e), ADT_EINVAL);
    ck_assert_int_eq(conreq_parse_login(P("{\"name\":1,\"password\":\"x\"}"), &lg, &e), ADT_EINVAL);
    ck_assert_int_eq(conreq_parse_login(P("{\"name\":\"g\",\"password\":\"\"}"), &lg, &e), ADT_EINVAL);
    ck_assert_int_eq(conreq_parse_login(P("{\"name\":\"g\",\"pass"), &lg, &e), ADT_EINVAL);
    ck_assert_int_eq(conreq_parse_login(NULL, 0, &lg, &e), ADT_EINVAL); /* {}: nothing given */
    char *big = malloc(CONREQ_BODY_MAX + 2);
    memset(big, ' ', CONREQ_BODY_MAX + 1);
    big[CONREQ_BODY_MAX + 1] = 0;
    ck_assert_int_eq(conreq_parse_login(big, CONREQ_BODY_MAX + 1, &lg, &e), ADT_ETOOBIG);
    free(big);

    conreq_label l;
    ck_assert_int_eq(conreq_parse_label(P("{\"target\":\"alert:ALR-1\",\"label\":\"false_alarm\","
                                          "\"comment\":\"recalibr\\u00e9\"}"), &l, &e), ADT_OK);
    ck_assert_int_eq(l.kind, CONREQ_TARGET_ALERT);
    ck_assert_str_eq(l.alert_id, "ALR-1");
    ck_assert_str_eq(l.comment, "recalibr\xc3\xa9");
    ck_assert_int_eq(conreq_parse_label(P("{\"target\":\"prediction:42\",\"label\":\"unsure\"}"),
                                        &l, &e), ADT_OK);
    ck_assert_int_eq(l.kind, CONREQ_TARGET_PREDICTION);
    ck_assert_int_eq(l.prediction, 42);
    ck_assert_str_eq(l.comment, "");
    static const char *const bad_labels[] = {
        "{\"target\":\"prediction:0\",\"label\":\"unsure\"}",
        "{\"target\":\"prediction:-1\",\"label\":\"unsure\"}",
        "{\"target\":\"prediction:01\",\"label\":\"unsure\"}",
        "{\"target\":\"prediction:1x\",\"label\":\"unsure\"}",
        "{\"target\":\"prediction:99999999999999999999\",\"label\":\"unsure\"}",
        "{\"target\":\"alert:\",\"label\":\"unsure\"}",
        "{\"target\":\"device:x\",\"label\":\"unsure\"}",
        "{\"target\":\"alert:A\",\"label\":\"maybe\"}",
        "{\"target\":\"alert:A\"}",
        "{\"target\":\"alert:A B\",\"label\":\"unsure\"}",
        "{\"label\":\"unsure\"}",
        NULL};
    for (int i = 0; bad_labels[i]; i++)
        ck_assert_msg(conreq_parse_label(P(bad_labels[i]), &l, &e) == ADT_EINVAL, "%s", bad_labels[i]);
    char comment[1200];
    int n = snprintf(comment, sizeof comment, "{\"target\":\"alert:A\",\"label\":\"unsure\",\"comment\":\"");
    memset(comment + n, 'x', 1001);
    snprintf(comment + n + 1001, sizeof comment - (size_t)n - 1001, "\"}");
    ck_assert_int_eq(conreq_parse_label(P(comment), &l, &e), ADT_EINVAL);
    ck_assert_msg(strstr(e.msg, "comment"), "%s", e.msg);

    conreq_change ch;
    ck_assert_int_eq(conreq_parse_change(P("{\"change_id\":\"CHG-1\",\"target\":\"model:fp@2\","
                                           "\"reason\":\"drift\"}"), &ch, &e), ADT_OK);
    ck_assert_str_eq(ch.model, "fp");
    ck_assert_str_eq(ch.version, "2");
    ck_assert_int_eq(conreq_parse_change(P("{\"change_id\":\"CHG-1\",\"target\":\"model:fp\"}"), &ch, &e), ADT_EINVAL);
    ck_assert_int_eq(conreq_parse_change(P("{\"change_id\":\"CHG-1\",\"target\":\"model:@2\"}"), &ch, &e), ADT_EINVAL);
    ck_assert_int_eq(conreq_parse_change(P("{\"change_id\":\"CHG-1\",\"target\":\"model:a@b@c\"}"), &ch, &e), ADT_EINVAL);
    ck_assert_int_eq(conreq_parse_change(P("{\"target\":\"model:a@1\"}"), &ch, &e), ADT_EINVAL);

    conreq_decision d;
    ck_assert_int_eq(conreq_parse_decision(NULL, 0, &d, &e), ADT_OK);
    ck_assert(!d.has_reason);
    ck_assert_int_eq(conreq_parse_decision(P("{\"reason\":\"ok\"}"), &d, &e), ADT_OK);
    ck_assert(d.has_reason);
    ck_assert_int_eq(conreq_parse_decision(P("{\"reason\":\"\\udc00\"}"), &d, &e), ADT_EINVAL);
    ck_assert_int_eq(conreq_parse_decision(P("\"x\""), &d, &e), ADT_EINVAL);

    conreq_report r;
    ck_assert_int_eq(conreq_parse_report(P("{\"period\":\"2026-Q3\",\"format\":\"json\"}"), &r, &e), ADT_OK);
    ck_assert(r.has_format);
    ck_assert_int_eq(conreq_parse_report(P("{\"period\":\"bad period!\"}"), &r, &e), ADT_EINVAL);
    ck_assert_int_eq(conreq_parse_report(P("{\"period\":\"2026-Q3\",\"format\":\"\"}"), &r, &e), ADT_EINVAL);
}
END_TEST

/* ---------- person.c: people and sessions ---------- */

static char *g_dir;

static void dir_setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    g_dir = ts_tmpdir("console-units");
    ck_assert(g_dir);
}

static void dir_teardown(void)
{
    ts_rmrf(g_dir);
    free(g_dir);
}

START_TEST(test_people)
{
    person_db *p;
    adt_err e;
    ck_assert_int_eq(person_open(g_dir, &p, &e), ADT_OK);
    unsigned roles;
    ck_assert_int_eq(person_roles_parse("operator,approver", &roles, &e), ADT_OK);
    ck_assert_uint_eq(roles, PERSON_OPERATOR | PERSON_APPROVER);
    char rt[128];
    person_roles_text(roles, rt, sizeof rt);
    ck_assert_str_eq(rt, "operator,approver");
    ck_assert_int_eq(person_roles_parse("operator,wizard", &roles, &e), ADT_EINVAL);
    ck_assert_msg(strstr(e.msg, "wizard"), "%s", e.msg);
    ck_assert_int_eq(person_roles_parse("", &roles, &e), ADT_EINVAL);
    char pw[PERSON_PASSWORD_LEN + 1], cred[PERSON_CRED_ID_LEN + 1], cred2[PERSON_CRED_ID_LEN + 1];
    ck_assert_int_eq(person_add(p, "grace", PERSON_OPERATOR, pw, cred, &e), ADT_OK);
    ck_assert_uint_eq(strlen(pw), PERSON_PASSWORD_LEN);
    ck_assert_int_eq(person_add(p, "grace", PERSON_OPERATOR, pw, cred2, &e), ADT_EEXIST);
    ck_assert_int_eq(person_add(p, "no body", PERSON_OPERATOR, pw, cred2, &e), ADT_EINVAL);
    ck_assert_int_eq(person_add(p, "x", 0, pw, cred2, &e), ADT_EINVAL);
    ck_assert_int_eq(person_add(p, "grace2", PERSON_OPERATOR, pw, cred2, &e), ADT_OK);
    ck_assert_int_eq(person_add(p, "grace", PERSON_OPERATOR, pw, cred2, &e), ADT_EEXIST);
    ck_assert_int_eq(person_reset(p, "grace", pw, cred2, &e), ADT_OK);
    ck_assert_str_ne(cred, cred2);
    char kept[PERSON_PASSWORD_LEN + 1];
    memcpy(kept, pw, sizeof kept);
    unsigned r2;
    char c3[PERSON_CRED_ID_LEN + 1];
    ck_assert_int_eq(person_check(p, "grace", pw, &r2, c3, &e), ADT_OK);
    ck_assert_str_eq(c3, cred2);
    ck_assert_uint_eq(r2, PERSON_OPERATOR);
    ck_assert_int_eq(person_check(p, "grace", "wrong", &r2, c3, &e), ADT_EAUTH);
    ck_assert_int_eq(person_check(p, "nobody", pw, &r2, c3, &e), ADT_EAUTH);
    char m1[ADT_ERR_MAX];
    snprintf(m1, sizeof m1, "%s", e.msg);
    ck_assert_int_eq(person_check(p, "grace", "wrong", &r2, c3, &e), ADT_EAUTH);
    ck_assert_str_eq(m1, e.msg); /* one message for unknown name and wrong password */
    ck_assert_int_eq(person_revoke(p, "grace", &e), ADT_OK);
    ck_assert_int_eq(person_check(p, "grace", pw, &r2, c3, &e), ADT_EAUTH);
    ck_assert_int_eq(person_active(p, "grace", &r2, c3, &e), ADT_EAUTH);
    ck_assert_int_eq(person_revoke(p, "grace", &e), ADT_ENOTFOUND);
    ck_assert_int_eq(person_reset(p, "grace", pw, c3, &e), ADT_ENOTFOUND);
    buf b;
    buf_init(&b, 1 << 20);
    ck_assert_int_eq(person_list_json(p, &b, &e), ADT_OK);
    cJSON *j = cJSON_Parse(b.data);
    ck_assert(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 2);
    ck_assert(!cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "revoked_at")));
    ck_assert(strstr(b.data, "hash") == NULL && strstr(b.data, "argon2") == NULL &&
              strstr(b.data, kept) == NULL);
    cJSON_Delete(j);
    buf_free(&b);
    person_close(p);
}
END_TEST

static void th(int k, uint8_t h[32])
{
    char t[32];
    snprintf(t, sizeof t, "token-%d", k);
    crypto_hash_sha256(h, (const unsigned char *)t, strlen(t));
}

START_TEST(test_sessions)
{
    person_db *p;
    adt_err e;
    ck_assert_int_eq(person_open(g_dir, &p, &e), ADT_OK);
    char pw[PERSON_PASSWORD_LEN + 1], cred[PERSON_CRED_ID_LEN + 1], cred2[PERSON_CRED_ID_LEN + 1];
    ck_assert_int_eq(person_add(p, "grace", PERSON_OPERATOR, pw, cred, &e), ADT_OK);
    ck_assert_int_eq(person_add(p, "carol", PERSON_APPROVER, pw, cred2, &e), ADT_OK);
    const int64_t S = 1000000;
    person_session_limits lim = {.idle_us = 3600 * S, .max_us = 8 * 3600 * S, .max_sessions = 3,
                                 .touch_us = 60 * S};
    int64_t t0 = 1780000000 * S;
    uint8_t h[8][32];
    for (int k = 0; k < 8; k++)
        th(k, h[k]);
    char name[PERSON_NAME_MAX + 1], c[PERSON_CRED_ID_LEN + 1];
    unsigned roles = 0;
    ck_assert_int_eq(person_session_start(p, h[0], "grace", cred, t0, &lim, &e), ADT_OK);
    ck_assert_int_eq(person_session_find(p, h[0], t0 + S, &lim, name, &roles, c, &e), ADT_OK);
    ck_assert_str_eq(name, "grace");
    ck_assert_str_eq(c, cred);
    ck_assert_uint_eq(roles, PERSON_OPERATOR);
    ck_assert_int_eq(person_session_find(p, h[1], t0, &lim, name, &roles, c, &e), ADT_EAUTH);
    /* survives closing and reopening state.db (a daemon restart) */
    person_close(p);
    ck_assert_int_eq(person_open(g_dir, &p, &e), ADT_OK);
    /* used within the idle time, it stays; then idle too long, it ends */
    ck_assert_int_eq(person_session_find(p, h[0], t0 + 3000 * S, &lim, name, &roles, c, &e), ADT_OK);
    ck_assert_int_eq(person_session_find(p, h[0], t0 + 6000 * S, &lim, name, &roles, c, &e), ADT_OK);
    ck_assert_int_eq(person_session_find(p, h[0], t0 + 6000 * S + 3601 * S, &lim, name, &roles, c, &e),
                     ADT_EAUTH);
    ck_assert_msg(strstr(e.msg, "idle"), "%s", e.msg);
    ck_assert_int_eq(person_session_find(p, h[0], t0 + 6000 * S, &lim, name, &roles, c, &e), ADT_EAUTH);
    /* a touch is written at most once a minute: a use 30 s after the last
     * write does not move it, so idle time is measured to the minute */
    ck_assert_int_eq(person_session_start(p, h[1], "grace", cred, t0, &lim, &e), ADT_OK);
    ck_assert_int_eq(person_session_find(p, h[1], t0 + 30 * S, &lim, name, &roles, c, &e), ADT_OK);
    ck_assert_int_eq(person_session_find(p, h[1], t0 + 3601 * S, &lim, name, &roles, c, &e), ADT_EAUTH);
    /* the maximum age ends it however busy it is */
    ck_assert_int_eq(person_session_start(p, h[2], "grace", cred, t0, &lim, &e), ADT_OK);
    for (int64_t t = t0; t < t0 + 8 * 3600 * S; t += 1800 * S)
        ck_assert_int_eq(person_session_find(p, h[2], t, &lim, name, &roles, c, &e), ADT_OK);
    ck_assert_int_eq(person_session_find(p, h[2], t0 + 8 * 3600 * S + S, &lim, name, &roles, c, &e),
                     ADT_EAUTH);
    ck_assert_msg(strstr(e.msg, "maximum age"), "%s", e.msg);
    /* at most max_sessions: the least recently used goes */
    int64_t t1 = t0 + 10 * 3600 * S;
    for (int k = 3; k < 6; k++)
        ck_assert_int_eq(person_session_start(p, h[k], k == 4 ? "carol" : "grace",
                                              k == 4 ? cred2 : cred, t1 + k * 120 * S, &lim, &e), ADT_OK);
    ck_assert_int_eq(person_session_find(p, h[3], t1 + 1000 * S, &lim, name, &roles, c, &e), ADT_OK);
    ck_assert_int_eq(person_session_start(p, h[6], "grace", cred, t1 + 1100 * S, &lim, &e), ADT_OK);
    uint64_t n = 0;
    ck_assert_int_eq(person_session_count(p, t1 + 1100 * S, &lim, &n, &e), ADT_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(person_session_find(p, h[4], t1 + 1100 * S, &lim, name, &roles, c, &e), ADT_EAUTH);
    ck_assert_int_eq(person_session_find(p, h[3], t1 + 1100 * S, &lim, name, &roles, c, &e), ADT_OK);
    /* sign out */
    ck_assert_int_eq(person_session_end(p, h[3], &e), ADT_OK);
    ck_assert_int_eq(person_session_end(p, h[3], &e), ADT_ENOTFOUND);
    ck_assert_int_eq(person_session_find(p, h[3], t1 + 1100 * S, &lim, name, &roles, c, &e), ADT_EAUTH);
    /* a new password ends the person's sessions, a revocation too */
    ck_assert_int_eq(person_session_find(p, h[5], t1 + 1100 * S, &lim, name, &roles, c, &e), ADT_OK);
    char c2[PERSON_CRED_ID_LEN + 1];
    ck_assert_int_eq(person_reset(p, "grace", pw, c2, &e), ADT_OK);
    ck_assert_int_eq(person_session_find(p, h[5], t1 + 1100 * S, &lim, name, &roles, c, &e), ADT_EAUTH);
    /* even a session row written with the old credential (by another process
     * racing the reset) does not pass: the credential must still be current */
    ck_assert_int_eq(person_session_start(p, h[7], "grace", cred, t1 + 1200 * S, &lim, &e), ADT_OK);
    ck_assert_int_eq(person_session_find(p, h[7], t1 + 1200 * S, &lim, name, &roles, c, &e), ADT_EAUTH);
    ck_assert_msg(strstr(e.msg, "reset"), "%s", e.msg);
    ck_assert_int_eq(person_session_start(p, h[7], "grace", c2, t1 + 1200 * S, &lim, &e), ADT_OK);
    ck_assert_int_eq(person_revoke(p, "grace", &e), ADT_OK);
    ck_assert_int_eq(person_session_find(p, h[7], t1 + 1200 * S, &lim, name, &roles, c, &e), ADT_EAUTH);
    /* only hashes are stored: no token in the file */
    person_close(p);
    char path[4200];
    snprintf(path, sizeof path, "%s/state.db", g_dir);
    size_t len = 0;
    char *db = ts_read_file(path, &len);
    ck_assert(db);
    for (size_t i = 0; i + 6 <= len; i++)
        ck_assert_msg(memcmp(db + i, "token-", 6), "a session token is stored in state.db");
    free(db);
}
END_TEST

/* ---------- console.c: rights, sign-in, CSRF, sessions across a restart ---------- */

typedef struct right_case {
    const char *method, *path;
    unsigned roles; /* the roles that may */
} right_case;

START_TEST(test_rights_table)
{
    enum { ST = PERSON_STEERING, AU = PERSON_AUDITOR, OP = PERSON_OPERATOR,
           DS = PERSON_DATA_SCIENTIST, AP = PERSON_APPROVER, AD = PERSON_ADMIN };
    static const right_case cases[] = {
        {"GET", "/v1/session", ST | AU | OP | DS | AP | AD},
        {"GET", "/v1/log/entries/5", ST | AU | OP | DS | AP | AD},
        {"HEAD", "/v1/log/checkpoint", ST | AU | OP | DS | AP | AD},
        {"POST", "/v1/log/entries/5", 0},
        {"GET", "/v1/console/steering", ST},
        {"POST", "/v1/console/reports", ST},
        {"GET", "/v1/reports/2026-Q3", ST | AU},
        {"POST", "/v1/reports/2026-Q3", 0}, /* the console issues through its own action */
        {"GET", "/v1/reports/2026-Q3/x", 0},
        {"GET", "/v1/controls/nist80053/ac-2", AU},
        {"GET", "/v1/controls", AU},
        {"GET", "/v1/findings", AU},
        {"GET", "/v1/events", AU},
        {"GET", "/v1/raci", AU | DS | AP},
        {"GET", "/v1/console/operations", OP},
        {"GET", "/v1/devices/cnc-01", OP},
        {"POST", "/v1/console/alerts/A-1/ack", OP},
        {"POST", "/v1/console/alerts/A-1/resolve", OP},
        {"POST", "/v1/console/alerts//ack", 0},
        {"POST", "/v1/console/alerts/A-1/ack/x", 0},
        {"POST", "/v1/console/incidents/I-1/ack", OP},
        {"POST", "/v1/console/labels", OP},
        {"POST", "/v1/console/quarantine/replay", OP},
        {"GET", "/v1/console/models", DS | AP},
        {"GET", "/v1/console/lineage", DS | AP},
        {"POST", "/v1/console/changes", DS},
        {"POST", "/v1/console/changes/C-1/consult", DS | AP},
        {"POST", "/v1/console/changes/C-1/approve", AP},
        {"POST", "/v1/console/changes/C-1/reject", AP},
        {"GET", "/v1/console/people", AD},
        {"GET", "/v1/agents", AD},
        {"POST", "/v1/agents/gw-1/revoke", AD},
        {"POST", "/v1/events", 0},
        {"POST", "/v1/telemetry", 0},
        {"GET", "/v1/tokens/../agents", 0},
        {"DELETE", "/v1/console/labels", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (unsigned bit = 1; bit <= PERSON_ADMIN; bit <<= 1) {
            bool want = (cases[i].roles & bit) != 0;
            ck_assert_msg(rights_console_may(bit, cases[i].method, cases[i].path, NULL) == want,
                          "%s %s for %s: want %d", cases[i].method, cases[i].path,
                          person_role_name(bit), want);
        }
    const char *what = NULL;
    ck_assert(rights_console_may(PERSON_APPROVER, "POST", "/v1/console/changes/C-1/approve", &what));
    ck_assert(what && strstr(what, "Accountable"));
    ck_assert(!rights_console_may(PERSON_ROLES_ALL, "PUT", "/v1/console/labels", &what));
    ck_assert(what == NULL);
    /* The same rows decide for tokens and agents (the router) and for the
     * parts' own checks (api_role_may): telemetry is for agents only. */
    const rights_entry *r = rights_find("POST", "/v1/telemetry");
    ck_assert(r && r->need == API_NEED_AGENT);
    ck_assert(api_role_may(API_ROLE_AGENT, r->need));
    ck_assert(!api_role_may(API_ROLE_ADMIN, r->need));
    r = rights_find("GET", "/v1/log/entries/7");
    ck_assert(r && r->need == API_NEED_READ);
    ck_assert(api_role_may(API_ROLE_AUDITOR, r->need) && !api_role_may(API_ROLE_AGENT, r->need));
    r = rights_find("HEAD", "/v1/log/key");
    ck_assert(r && r->need == API_NEED_PUBLIC);
    r = rights_find("POST", "/v1/agents/gw-1/revoke");
    ck_assert(r && r->need == API_NEED_ADMIN && rights_person_role(r, PERSON_ADMIN) == API_ROLE_ADMIN);
    ck_assert(rights_person_role(rights_find("GET", "/v1/events"), PERSON_ROLES_ALL) ==
              API_ROLE_AUDITOR);
}
END_TEST

typedef struct signed_in {
    char cookie[200];   /* "auditd_session=..." */
    char csrf[80];
} signed_in;

static int login(console *c, const char *name, const char *pw, signed_in *si)
{
    char body[256];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, pw);
    api_request req = {.method = "POST", .path = "/v1/session", .body = body,
                       .body_len = strlen(body)};
    api_response resp = {0};
    buf_init(&resp.body, 1 << 20);
    console_hdrs h = {0};
    ck_assert_int_eq(console_api(c, &h, &req, &resp), ADT_OK);
    int st = resp.status;
    if (st == 200) {
        cJSON *j = cJSON_Parse(resp.body.data);
        snprintf(si->csrf, sizeof si->csrf, "%s", cJSON_GetObjectItem(j, "csrf")->valuestring);
        cJSON_Delete(j);
        const char *sc = resp.set_cookie;
        ck_assert_msg(strstr(sc, "HttpOnly") && strstr(sc, "Secure") && strstr(sc, "SameSite=Strict"),
                      "%s", sc);
        size_t n = strcspn(sc, ";");
        snprintf(si->cookie, sizeof si->cookie, "%.*s", (int)n, sc);
        ck_assert(!strstr(resp.body.data, si->cookie + strlen("auditd_session=")));
    }
    buf_free(&resp.body);
    return st;
}

/* console_authenticate for method/path with the given headers. */
static int auth(console *c, const char *method, const char *path, const console_hdrs *h,
                adt_err *e)
{
    api_request req = {.method = method, .path = path};
    char principal[128];
    return console_authenticate(c, h, &req, principal, sizeof principal, e);
}

START_TEST(test_console_sessions_csrf)
{
    person_db *p;
    adt_err e;
    ck_assert_int_eq(person_open(g_dir, &p, &e), ADT_OK);
    char pw[PERSON_PASSWORD_LEN + 1], pw2[PERSON_PASSWORD_LEN + 1], cred[PERSON_CRED_ID_LEN + 1];
    ck_assert_int_eq(person_add(p, "grace", PERSON_OPERATOR, pw, cred, &e), ADT_OK);
    ck_assert_int_eq(person_add(p, "erin", PERSON_STEERING, pw2, cred, &e), ADT_OK);
    person_close(p);
    console_env env = {.data_dir = g_dir};
    console *c;
    ck_assert_int_eq(console_open(&env, &c, &e), ADT_OK);
    signed_in g, er;
    ck_assert_int_eq(login(c, "grace", "wrong", &g), 401);
    ck_assert_int_eq(login(c, "grace", pw, &g), 200);
    ck_assert_int_eq(login(c, "erin", pw2, &er), 200);
    console_hdrs h = {.cookie = g.cookie, .host = "127.0.0.1:8080"};
    ck_assert_int_eq(auth(c, "GET", "/v1/console/operations", &h, &e), ADT_OK);
    /* rights: grace is an operator, not steering */
    ck_assert_int_eq(auth(c, "GET", "/v1/console/steering", &h, &e), ADT_EFORBIDDEN);
    ck_assert_msg(strstr(e.msg, "rights of your console roles"), "%s", e.msg);
    /* state changes need the CSRF token of this very session */
    ck_assert_int_eq(auth(c, "POST", "/v1/console/labels", &h, &e), ADT_EFORBIDDEN);
    ck_assert_msg(strstr(e.msg, "X-CSRF-Token"), "%s", e.msg);
    h.csrf = er.csrf; /* another session's token */
    ck_assert_int_eq(auth(c, "POST", "/v1/console/labels", &h, &e), ADT_EFORBIDDEN);
    char bad[80];
    snprintf(bad, sizeof bad, "%s", g.csrf);
    bad[0] = bad[0] == 'a' ? 'b' : 'a';
    h.csrf = bad;
    ck_assert_int_eq(auth(c, "POST", "/v1/console/labels", &h, &e), ADT_EFORBIDDEN);
    h.csrf = g.csrf;
    ck_assert_int_eq(auth(c, "POST", "/v1/console/labels", &h, &e), ADT_OK);
    /* from another origin, or a cross-site fetch: refused even with the token */
    h.origin = "http://evil.example";
    ck_assert_int_eq(auth(c, "POST", "/v1/console/labels", &h, &e), ADT_EFORBIDDEN);
    h.origin = "http://127.0.0.1:8080";
    ck_assert_int_eq(auth(c, "POST", "/v1/console/labels", &h, &e), ADT_OK);
    h.sec_fetch_site = "cross-site";
    ck_assert_int_eq(auth(c, "POST", "/v1/console/labels", &h, &e), ADT_EFORBIDDEN);
    h.sec_fetch_site = "same-origin";
    ck_assert_int_eq(auth(c, "POST", "/v1/console/labels", &h, &e), ADT_OK);
    /* a forged or malformed cookie */
    console_hdrs f = {.cookie = "auditd_session=0000000000000000000000000000000000000000000000000000000000000000"};
    ck_assert_int_eq(auth(c, "GET", "/v1/console/operations", &f, &e), ADT_EAUTH);
    f.cookie = "auditd_session=../../etc";
    ck_assert_int_eq(auth(c, "GET", "/v1/console/operations", &f, &e), ADT_EAUTH);
    f.cookie = NULL;
    ck_assert_int_eq(auth(c, "GET", "/v1/console/operations", &f, &e), ADT_EAUTH);
    /* the daemon restarts: sessions and their CSRF tokens hold */
    console_close(c);
    ck_assert_int_eq(console_open(&env, &c, &e), ADT_OK);
    ck_assert_int_eq(auth(c, "POST", "/v1/console/labels", &h, &e), ADT_OK);
    /* GET /v1/session gives the same CSRF token back */
    api_request req = {.method = "GET", .path = "/v1/session", .principal = "grace"};
    api_response resp = {0};
    buf_init(&resp.body, 1 << 20);
    ck_assert_int_eq(console_api(c, &h, &req, &resp), ADT_OK);
    ck_assert_int_eq(resp.status, 200);
    ck_assert(strstr(resp.body.data, g.csrf));
    /* sign out: the session is gone, also for a restarted daemon */
    req.method = "DELETE";
    buf_reset(&resp.body);
    ck_assert_int_eq(console_api(c, &h, &req, &resp), ADT_OK);
    ck_assert_int_eq(resp.status, 200);
    ck_assert(strstr(resp.set_cookie, "Max-Age=0"));
    buf_free(&resp.body);
    ck_assert_int_eq(auth(c, "GET", "/v1/console/operations", &h, &e), ADT_EAUTH);
    /* erin's session still stands; revoking her ends it at the next request */
    console_hdrs he = {.cookie = er.cookie};
    ck_assert_int_eq(auth(c, "GET", "/v1/console/steering", &he, &e), ADT_OK);
    ck_assert_int_eq(person_open(g_dir, &p, &e), ADT_OK);
    ck_assert_int_eq(person_revoke(p, "erin", &e), ADT_OK);
    person_close(p);
    ck_assert_int_eq(auth(c, "GET", "/v1/console/steering", &he, &e), ADT_EAUTH);
    /* five failed sign-ins lock the name for the window */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(login(c, "grace", "wrong", &g), 401);
    ck_assert_int_eq(login(c, "grace", pw, &g), 429);
    console_close(c);
}
END_TEST

/* ---------- workflow.c ---------- */

static uint64_t append_event(ledger *lg, const char *json)
{
    adt_err e;
    buf c;
    buf_init(&c, 65536);
    ck_assert_msg(canon_json(json, strlen(json), NULL, true, &c, &e) == ADT_OK, "%s", e.msg);
    cJSON *j = cJSON_Parse(json);
    const char *type = cJSON_GetObjectItem(j, "type")->valuestring;
    ledger_item it = {.source = "test", .type = type, .payload = c.data, .payload_len = c.len,
                      .writer = (event_writer)ts_writer_for(type)};
    ledger_commit cm;
    ck_assert_msg(ledger_append(lg, &it, 1, &cm, &e) == ADT_OK, "%s", e.msg);
    cJSON_Delete(j);
    buf_free(&c);
    return cm.first;
}

static int wf_append(void *ctx, const char *type, const char *payload, size_t len, uint64_t *index,
                     adt_err *err)
{
    ledger_item it = {.source = WORKFLOW_SOURCE, .type = type, .payload = payload,
                      .payload_len = len, .writer = EVENT_WRITER_AUDITD};
    ledger_commit c;
    int rc = ledger_append(ctx, &it, 1, &c, err);
    if (!rc)
        *index = c.first;
    return rc;
}

/* Payloads of every entry of `type`. */
typedef struct collect {
    const char *type;
    cJSON *arr;
} collect;

static int collect_fn(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    collect *c = ctx;
    cJSON *l = cJSON_ParseWithLength(leaf, len);
    cJSON *p = cJSON_GetObjectItem(l, "payload");
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(p, "type"));
    if (t && !strcmp(t, c->type)) {
        cJSON *d = cJSON_Duplicate(p, true);
        cJSON_AddNumberToObject(d, "index", (double)index);
        cJSON_AddStringToObject(d, "writer", cJSON_GetStringValue(cJSON_GetObjectItem(l, "writer")));
        cJSON_AddItemToArray(c->arr, d);
    }
    cJSON_Delete(l);
    return 0;
}

static cJSON *entries_of(const char *dir, const char *type)
{
    ledger *lg;
    adt_err e;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &e), ADT_OK);
    collect c = {type, cJSON_CreateArray()};
    ck_assert_int_eq(ledger_scan(lg, 0, UINT64_MAX, collect_fn, &c, &e), ADT_OK);
    ledger_close(lg);
    return c.arr;
}

static void wf_setup(void)
{
    dir_setup();
    adt_err e;
    ck_assert_int_eq(ledger_init(g_dir, "test.auditd.example/wf", &e), ADT_OK);
    char *err = NULL;
    int st = ts_run(NULL, 0, NULL, &err,
                    (const char *const[]){"policy", "load", PLANT, "--data-dir", g_dir, "--actor",
                                          "frank", NULL});
    ck_assert_msg(st == 0, "policy load: %s", err);
    free(err);
}

START_TEST(test_workflow_actions)
{
    adt_err e;
    ledger *lg;
    ck_assert_int_eq(ledger_open(g_dir, LEDGER_RDWR, &lg, &e), ADT_OK);
    const int64_t H = 3600LL * 1000000;
    int64_t t0 = 1780000000LL * 1000000;
    uint64_t drift = append_event(lg, "{\"type\":\"alert.raise\",\"time\":\"2026-05-28T20:26:40Z\","
                                      "\"actor\":\"agent:platform\",\"alert_id\":\"ALR-D1\","
                                      "\"kind\":\"drift\",\"model\":\"failure-predictor\"}");
    uint64_t cam = append_event(lg, "{\"type\":\"alert.raise\",\"time\":\"2026-05-28T20:26:40Z\","
                                    "\"actor\":\"agent:cam-1\",\"alert_id\":\"ALR-C1\","
                                    "\"kind\":\"anomaly\",\"device\":\"cam-01\"}");
    append_event(lg, "{\"type\":\"alert.raise\",\"time\":\"2026-05-28T20:26:40Z\","
                     "\"actor\":\"agent:cam-1\",\"alert_id\":\"ALR-C2\","
                     "\"kind\":\"anomaly\",\"device\":\"cam-01\"}");
    append_event(lg, "{\"type\":\"alert.ack\",\"time\":\"2026-05-28T21:00:00Z\","
                     "\"actor\":\"alice\",\"alert_id\":\"ALR-C2\"}");
    workflow *w;
    ck_assert_int_eq(workflow_new(g_dir, &w, &e), ADT_OK);
    size_t n = 99;
    /* within the SLA: only the retraining request */
    ck_assert_int_eq(workflow_run(w, lg, t0 + H, wf_append, lg, &n, &e), ADT_OK);
    ck_assert_uint_eq(n, 1);
    cJSON *rr = entries_of(g_dir, "retrain.request");
    ck_assert_int_eq(cJSON_GetArraySize(rr), 1);
    cJSON *r0 = cJSON_GetArrayItem(rr, 0);
    ck_assert_str_eq(cJSON_GetObjectItem(r0, "writer")->valuestring, "auditd");
    ck_assert_str_eq(cJSON_GetObjectItem(r0, "actor")->valuestring, WORKFLOW_ACTOR);
    ck_assert_str_eq(cJSON_GetObjectItem(r0, "accountable")->valuestring, "carol");
    ck_assert_str_eq(cJSON_GetObjectItem(r0, "activity")->valuestring, "model:failure-predictor");
    ck_assert_uint_eq((uint64_t)cJSON_GetObjectItem(r0, "trigger")->valuedouble, drift);
    cJSON *as = cJSON_GetObjectItem(r0, "assigned");
    ck_assert_int_eq(cJSON_GetArraySize(as), 1); /* carol; agents are never assigned */
    ck_assert_str_eq(cJSON_GetArrayItem(as, 0)->valuestring, "carol");
    cJSON_Delete(rr);
    /* past the SLA: the two alerts nobody acknowledged go to their Accountable */
    ck_assert_int_eq(workflow_run(w, lg, t0 + 5 * H, wf_append, lg, &n, &e), ADT_OK);
    ck_assert_uint_eq(n, 2);
    cJSON *esc = entries_of(g_dir, "alert.escalate");
    ck_assert_int_eq(cJSON_GetArraySize(esc), 2);
    cJSON *x;
    bool saw_cam = false;
    cJSON_ArrayForEach(x, esc)
    {
        const char *id = cJSON_GetObjectItem(x, "alert_id")->valuestring;
        ck_assert(strcmp(id, "ALR-C2")); /* acknowledged in time */
        if (!strcmp(id, "ALR-C1")) {
            saw_cam = true;
            ck_assert_uint_eq((uint64_t)cJSON_GetObjectItem(x, "trigger")->valuedouble, cam);
            ck_assert_str_eq(cJSON_GetObjectItem(x, "to")->valuestring, "dave"); /* incident A */
        } else {
            ck_assert_str_eq(cJSON_GetObjectItem(x, "to")->valuestring, "carol");
        }
    }
    ck_assert(saw_cam);
    cJSON_Delete(esc);
    /* nothing twice: the same runner, and a fresh one that rebuilds from the ledger */
    ck_assert_int_eq(workflow_run(w, lg, t0 + 9 * H, wf_append, lg, &n, &e), ADT_OK);
    ck_assert_uint_eq(n, 0);
    workflow_free(w);
    ck_assert_int_eq(workflow_new(g_dir, &w, &e), ADT_OK);
    ck_assert_int_eq(workflow_run(w, lg, t0 + 9 * H, wf_append, lg, &n, &e), ADT_OK);
    ck_assert_uint_eq(n, 0);
    /* a second drift alert while the first request is pending: no new request;
     * once that is decided, the next drift alert opens one */
    append_event(lg, "{\"type\":\"alert.raise\",\"time\":\"2026-05-29T00:00:00Z\","
                     "\"actor\":\"agent:platform\",\"alert_id\":\"ALR-D2\","
                     "\"kind\":\"drift\",\"model\":\"failure-predictor\"}");
    ck_assert_int_eq(workflow_run(w, lg, t0 + 4 * H, wf_append, lg, &n, &e), ADT_OK);
    ck_assert_uint_eq(n, 0);
    char rej[400];
    snprintf(rej, sizeof rej, "{\"type\":\"change.reject\",\"time\":\"2026-05-29T01:00:00Z\","
                              "\"actor\":\"carol\",\"change_id\":\"RETRAIN-failure-predictor-%llu\","
                              "\"activity\":\"model:failure-predictor\",\"reason\":\"x\"}",
             (unsigned long long)drift);
    append_event(lg, rej);
    append_event(lg, "{\"type\":\"alert.raise\",\"time\":\"2026-05-29T02:00:00Z\","
                     "\"actor\":\"agent:platform\",\"alert_id\":\"ALR-D3\","
                     "\"kind\":\"drift\",\"model\":\"failure-predictor\"}");
    ck_assert_int_eq(workflow_run(w, lg, t0 + 4 * H, wf_append, lg, &n, &e), ADT_OK);
    ck_assert_uint_eq(n, 1);
    workflow_free(w);
    ledger_close(lg);
}
END_TEST

/* Several runners at once, each in its own process with its own ledger
 * handle (as the daemon's thread and `auditd workflow run` are): 300 overdue
 * alerts are escalated exactly once each. Without the lock the runners read
 * the same state and append the same escalations (this test failed that way
 * before workflow.lock). */
#define RACE_ALERTS 300
#define RACE_RUNNERS 4

START_TEST(test_workflow_runners_race)
{
    adt_err e;
    ledger *lg;
    ck_assert_int_eq(ledger_open(g_dir, LEDGER_RDWR, &lg, &e), ADT_OK);
    for (int i = 0; i < RACE_ALERTS; i++) {
        char ev[300];
        snprintf(ev, sizeof ev, "{\"type\":\"alert.raise\",\"time\":\"2026-05-28T20:26:40Z\","
                                "\"actor\":\"agent:cam-1\",\"alert_id\":\"ALR-%04d\","
                                "\"kind\":\"anomaly\",\"device\":\"cam-01\"}", i);
        append_event(lg, ev);
    }
    ledger_close(lg);
    int go[2];
    ck_assert_int_eq(pipe(go), 0);
    pid_t kids[RACE_RUNNERS];
    for (int k = 0; k < RACE_RUNNERS; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            close(go[1]);
            ledger *l2;
            workflow *w;
            adt_err e2;
            if (ledger_open(g_dir, LEDGER_RDWR, &l2, &e2) || workflow_new(g_dir, &w, &e2))
                _exit(2);
            char b;
            if (read(go[0], &b, 1) < 0) /* all start together when the pipe closes */
                _exit(3);
            size_t n = 0;
            int rc = workflow_run(w, l2, 1780000000LL * 1000000 + 10 * 3600LL * 1000000,
                                  wf_append, l2, &n, &e2);
            workflow_free(w);
            ledger_close(l2);
            _exit(rc ? 4 : 0);
        }
    }
    close(go[0]);
    close(go[1]);
    for (int k = 0; k < RACE_RUNNERS; k++) {
        int st = 0;
        ck_assert_int_eq(waitpid(kids[k], &st, 0), kids[k]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "runner %d: status %d", k, st);
    }
    cJSON *esc = entries_of(g_dir, "alert.escalate");
    ck_assert_int_eq(cJSON_GetArraySize(esc), RACE_ALERTS);
    /* and each trigger once */
    char *seen = calloc(1, 1u << 16);
    cJSON *x;
    cJSON_ArrayForEach(x, esc)
    {
        unsigned t = (unsigned)cJSON_GetObjectItem(x, "trigger")->valuedouble;
        ck_assert_uint_lt(t, 1u << 16);
        ck_assert_msg(!seen[t], "trigger %u escalated twice", t);
        seen[t] = 1;
    }
    free(seen);
    cJSON_Delete(esc);
    ledger_verify_result vr;
    ck_assert_int_eq(ledger_verify(g_dir, &vr, &e), ADT_OK);
    ck_assert_msg(vr.ok, "%s", vr.problem);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("console_units");
    TCase *tc = tcase_create("conreq");
    tcase_add_test(tc, test_cookie);
    tcase_add_test(tc, test_bodies);
    suite_add_tcase(s, tc);
    tc = tcase_create("person");
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, test_people);
    tcase_add_test(tc, test_sessions);
    suite_add_tcase(s, tc);
    tc = tcase_create("console");
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, test_rights_table);
    tcase_add_test(tc, test_console_sessions_csrf);
    suite_add_tcase(s, tc);
    tc = tcase_create("workflow");
    tcase_add_checked_fixture(tc, wf_setup, dir_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_workflow_actions);
    tcase_add_test(tc, test_workflow_runners_race);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
