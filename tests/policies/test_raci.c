/* test_raci.c: RACI policy loading and checking (with file:line), queries,
 * the evaluation state machine, storing, and the raci/policy commands. */
#include "raci.h"
#include "tsupport.h"

#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PLANT AUDITD_SOURCE_DIR "/policies/examples/plant.xml"
#define H (INT64_C(3600) * 1000000)
#define T0 INT64_C(1790000000000000) /* 2026-09-21T14:13:20Z */

static raci_policy *plant(void)
{
    raci_policy *p = NULL;
    adt_err err = {0};
    int rc = raci_load(PLANT, NULL, NULL, &p, &err);
    ck_assert_msg(rc == ADT_OK, "plant.xml: %s", err.msg);
    return p;
}

/* A minimal policy document with `acts` as the activities. */
static char *doc(const char *acts)
{
    static const char head[] =
        "<?xml version=\"1.0\"?>\n"                                             /* 1 */
        "<raci xmlns=\"urn:auditd:raci:1\" name=\"t\" version=\"1\">\n"          /* 2 */
        "  <roles><role id=\"ot\"/><role id=\"it\"/></roles>\n"                  /* 3 */
        "  <principals>\n"                                                       /* 4 */
        "    <principal id=\"alice\" kind=\"person\" roles=\"ot\"/>\n"           /* 5 */
        "    <principal id=\"bob\" kind=\"person\" roles=\"it\"/>\n"             /* 6 */
        "  </principals>\n"                                                      /* 7 */
        "  <activities>\n";                                                      /* 8 */
    size_t n = strlen(head) + strlen(acts) + 64;
    char *s = malloc(n);
    snprintf(s, n, "%s%s  </activities>\n</raci>\n", head, acts);
    return s;
}

typedef struct diags {
    int n;
    char first[512];
    long lines[16];
} diags;

static void collect(void *ctx, const char *file, long line, const char *msg)
{
    diags *d = ctx;
    if (d->n == 0)
        snprintf(d->first, sizeof d->first, "%s:%ld: %s", file, line, msg);
    if (d->n < 16)
        d->lines[d->n] = line;
    d->n++;
}

/* ---- Loading and checking ---------------------------------------------------- */

START_TEST(plant_loads)
{
    raci_policy *p = plant();
    ck_assert_str_eq(raci_name(p), "plant-1");
    ck_assert_str_eq(raci_version(p), "2026.11.1");
    ck_assert_uint_eq(strlen(raci_sha256(p)), 64);
    ck_assert_uint_eq(raci_activity_count(p), 10);
    const raci_activity *m = raci_find_activity(p, "model:failure-predictor");
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(raci_activity_kind(m), "model");
    ck_assert_str_eq(raci_accountable(m), "carol");
    ck_assert(raci_consult_required(m));
    ck_assert_int_eq(raci_letters(p, "model:failure-predictor", "carol"), RACI_R | RACI_A);
    ck_assert_int_eq(raci_letters(p, "model:failure-predictor", "alice"), RACI_C);
    ck_assert_int_eq(raci_letters(p, "model:failure-predictor", "erin"), RACI_I);
    ck_assert_int_eq(raci_letters(p, "model:failure-predictor", "bob"), 0);
    ck_assert(raci_may_act(p, "model:failure-predictor", "agent:platform"));
    /* Roles resolve: grace is R for PLC firmware through the OT role. */
    ck_assert(raci_may_act(p, "firmware:plc", "grace"));
    ck_assert(!raci_may_act(p, "firmware:plc", "dave"));
    ck_assert(raci_has_role(p, "grace", "ot"));
    const char *who[4];
    ck_assert_uint_eq(raci_principals(p, raci_find_activity(p, "firmware:plc"), RACI_R, who, 4),
                      2);
    ck_assert_str_eq(who[0], "alice");
    ck_assert_str_eq(who[1], "grace");
    ck_assert_uint_eq(raci_principals(p, raci_find_activity(p, "firmware:plc"), RACI_C, who, 4),
                      1);
    ck_assert_str_eq(who[0], "dave");
    raci_sla s = raci_activity_sla(raci_find_activity(p, "incident:plant-1"));
    ck_assert_int_eq(s.ack_s, 4 * 3600);
    ck_assert_int_eq(s.resolve_s, 72 * 3600);
    ck_assert_int_eq(s.inform_s, 24 * 3600);
    ck_assert_str_eq(raci_accountable(raci_find_activity(p, "access:plant-1")), "bob");
    ck_assert_str_eq(raci_accountable(raci_find_activity(p, "compliance:iso27001")), "frank");
    ck_assert_ptr_null(raci_find_activity(p, "model:nope"));
    cJSON *j = NULL;
    adt_err err;
    ck_assert_int_eq(raci_to_json(p, &j, &err), ADT_OK);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "activities")), 10);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "sha256")->valuestring, raci_sha256(p));
    cJSON_Delete(j);
    raci_free(p);
}
END_TEST

START_TEST(two_accountables_refused_with_line)
{
    char *s = doc("    <activity id=\"firmware:plc\" kind=\"firmware\">\n" /* line 9 */
                  "      <accountable principal=\"alice\"/>\n"
                  "      <accountable principal=\"bob\"/>\n"
                  "      <responsible role=\"ot\"/>\n"
                  "    </activity>\n");
    raci_policy *p = NULL;
    adt_err err = {0};
    diags d = {0};
    ck_assert_int_eq(raci_load_mem(s, strlen(s), "two-a.xml", collect, &d, &p, &err),
                     ADT_EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(d.n, 1);
    ck_assert_str_eq(err.msg, "two-a.xml:9: activity 'firmware:plc' has 2 accountables; "
                              "exactly one is required");
    free(s);
}
END_TEST

START_TEST(missing_responsible_and_undefined_refs)
{
    char *s = doc("    <activity id=\"model:m\" kind=\"model\">\n"       /* 9 */
                  "      <accountable principal=\"alice\"/>\n"         /* 10 */
                  "    </activity>\n"                                  /* 11 */
                  "    <activity id=\"data:d\" kind=\"data\">\n"       /* 12 */
                  "      <accountable principal=\"alice\"/>\n"         /* 13 */
                  "      <responsible role=\"qa\"/>\n"                 /* 14 */
                  "      <consulted principal=\"zed\"/>\n"             /* 15 */
                  "    </activity>\n");
    raci_policy *p = NULL;
    adt_err err = {0};
    diags d = {0};
    ck_assert_int_eq(raci_load_mem(s, strlen(s), "p.xml", collect, &d, &p, &err), ADT_EINVAL);
    ck_assert_int_eq(d.n, 3);
    ck_assert_str_eq(d.first, "p.xml:9: activity 'model:m' has no responsible; at least one is "
                              "required");
    ck_assert_int_eq(d.lines[1], 14);
    ck_assert_int_eq(d.lines[2], 15);
    ck_assert_ptr_nonnull(strstr(err.msg, "(and 2 more problems)"));
    free(s);
}
END_TEST

START_TEST(structure_and_semantics_problems)
{
    struct {
        const char *acts;
        const char *want; /* substring of the first problem */
    } cases[] = {
        /* XSD: an unknown element, reported by libxml2 with its line. */
        {"    <activity id=\"data:d\" kind=\"data\">\n      <owner principal=\"alice\"/>\n"
         "    </activity>\n",
         "t.xml:10: Element '{urn:auditd:raci:1}owner'"},
        /* Both principal= and role=. */
        {"    <activity id=\"data:d\" kind=\"data\">\n"
         "      <accountable principal=\"alice\" role=\"ot\"/>\n"
         "      <responsible role=\"ot\"/>\n    </activity>\n",
         "t.xml:10: activity 'data:d': <accountable> needs exactly one of"},
        /* Kind and id disagree. */
        {"    <activity id=\"plc\" kind=\"firmware\">\n      <accountable principal=\"alice\"/>\n"
         "      <responsible role=\"ot\"/>\n    </activity>\n",
         "t.xml:9: activity 'plc' of kind 'firmware' must be named 'firmware:NAME'"},
        /* Duplicate activity. */
        {"    <activity id=\"data:d\" kind=\"data\"><accountable principal=\"alice\"/>"
         "<responsible role=\"ot\"/></activity>\n"
         "    <activity id=\"data:d\" kind=\"data\"><accountable principal=\"alice\"/>"
         "<responsible role=\"ot\"/></activity>\n",
         "t.xml:10: activity 'data:d' is defined twice"},
        /* Consultation required but nobody to consult. */
        {"    <activity id=\"data:d\" kind=\"data\" consult-before-approval=\"true\">\n"
         "      <accountable principal=\"alice\"/><responsible role=\"ot\"/>\n"
         "    </activity>\n",
         "t.xml:9: activity 'data:d' requires consultation"},
        /* Bad duration (the XSD pattern). */
        {"    <activity id=\"data:d\" kind=\"data\"><accountable principal=\"alice\"/>"
         "<responsible role=\"ot\"/><informed principal=\"bob\"/>\n"
         "      <sla inform=\"P1Y\"/></activity>\n",
         "t.xml:10:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = doc(cases[i].acts);
        raci_policy *p = NULL;
        adt_err err = {0};
        int rc = raci_load_mem(s, strlen(s), "t.xml", NULL, NULL, &p, &err);
        ck_assert_msg(rc == ADT_EINVAL, "case %zu accepted", i);
        ck_assert_msg(strstr(err.msg, cases[i].want), "case %zu: got '%s'", i, err.msg);
        free(s);
    }
    /* Not XML, a DOCTYPE (entities), the wrong root. */
    const char *bad[] = {
        "<raci xmlns=\"urn:auditd:raci:1\"><roles>",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE raci [<!ENTITY a \"aaaa\">]>\n<raci/>",
        "<policy xmlns=\"urn:auditd:raci:1\"/>",
        "",
    };
    const char *want[] = {"x.xml:1:", "x.xml:2: a DOCTYPE is not allowed",
                          "x.xml:1: root element is <policy>", "empty document"};
    /* Over the size limit: refused before parsing. */
    char *big = malloc(RACI_MAX_FILE + 1);
    memset(big, ' ', RACI_MAX_FILE + 1);
    raci_policy *bp = NULL;
    adt_err berr = {0};
    ck_assert_int_eq(raci_load_mem(big, RACI_MAX_FILE + 1, "big.xml", NULL, NULL, &bp, &berr),
                     ADT_ETOOBIG);
    free(big);
    for (size_t i = 0; i < 4; i++) {
        raci_policy *p = NULL;
        adt_err err = {0};
        ck_assert_int_eq(raci_load_mem(bad[i], strlen(bad[i]), "x.xml", NULL, NULL, &p, &err),
                         ADT_EINVAL);
        ck_assert_msg(strstr(err.msg, want[i]), "bad %zu: got '%s'", i, err.msg);
    }
}
END_TEST

START_TEST(durations)
{
    int64_t s;
    ck_assert_int_eq(raci_parse_duration("PT4H", &s), ADT_OK);
    ck_assert_int_eq(s, 14400);
    ck_assert_int_eq(raci_parse_duration("P1DT2H30M15S", &s), ADT_OK);
    ck_assert_int_eq(s, 86400 + 2 * 3600 + 30 * 60 + 15);
    ck_assert_int_eq(raci_parse_duration("P1W", &s), ADT_OK);
    ck_assert_int_eq(s, 604800);
    ck_assert_int_eq(raci_parse_duration("3600", &s), ADT_OK);
    ck_assert_int_eq(s, 3600);
    const char *bad[] = {"", "P", "PT", "P1Y", "P1M", "PT1.5H", "-5", "PT4H ", "4h", "P1DT",
                         "PT1234567890H", "PT4H4H"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(raci_parse_duration(bad[i], &s) == ADT_EINVAL, "'%s' accepted", bad[i]);
}
END_TEST

/* ---- Evaluation -------------------------------------------------------------- */

typedef struct got {
    int n;
    char rule[16][48];
    uint64_t ev[16][RACI_MAX_EVIDENCE];
    size_t nev[16];
    char version[32];
} got;

static void on_finding(void *ctx, const raci_finding *f)
{
    got *g = ctx;
    if (g->n < 16) {
        snprintf(g->rule[g->n], sizeof g->rule[0], "%s", f->rule);
        memcpy(g->ev[g->n], f->evidence, sizeof f->evidence);
        g->nev[g->n] = f->n_evidence;
        snprintf(g->version, sizeof g->version, "%s", f->policy_version);
    }
    g->n++;
}

static void feed(raci_eval *e, const char *type, int64_t t, const char *actor,
                 const char *activity, const char *ref, uint64_t index)
{
    raci_event ev = {type, t, actor, activity, ref, index};
    adt_err err;
    ck_assert_int_eq(raci_eval_feed(e, &ev, &err), ADT_OK);
}

START_TEST(eval_clean_firmware_change)
{
    raci_policy *p = plant();
    got g = {0};
    raci_eval *e;
    adt_err err;
    ck_assert_int_eq(raci_eval_new(p, on_finding, &g, &e, &err), ADT_OK);
    feed(e, "change.request", T0, "grace", "firmware:plc", "chg-1", 10);
    feed(e, "change.consult", T0 + H, "dave", "firmware:plc", "chg-1", 11);
    feed(e, "change.approve", T0 + 2 * H, "alice", "firmware:plc", "chg-1", 12);
    feed(e, "firmware.deploy", T0 + 3 * H, "grace", "firmware:plc", "chg-1", 13);
    feed(e, "notify.inform", T0 + 4 * H, "erin", "firmware:plc", "chg-1", 14);
    ck_assert_int_eq(raci_eval_advance(e, T0 + 100 * H, &err), ADT_OK);
    ck_assert_int_eq(g.n, 0);
    raci_eval_free(e);
    raci_free(p);
}
END_TEST

START_TEST(eval_self_approval_and_missing_consult)
{
    raci_policy *p = plant();
    got g = {0};
    raci_eval *e;
    adt_err err;
    ck_assert_int_eq(raci_eval_new(p, on_finding, &g, &e, &err), ADT_OK);
    feed(e, "change.request", T0, "carol", "model:failure-predictor", "m-1", 3);
    feed(e, "change.approve", T0 + H, "carol", "model:failure-predictor", "m-1", 7);
    ck_assert_int_eq(g.n, 2);
    ck_assert_str_eq(g.rule[0], "raci.self_approval");
    ck_assert_uint_eq(g.nev[0], 2);
    ck_assert_uint_eq(g.ev[0][0], 3);
    ck_assert_uint_eq(g.ev[0][1], 7);
    ck_assert_str_eq(g.rule[1], "raci.consult_missing");
    ck_assert_str_eq(g.version, "2026.11.1");
    raci_eval_free(e);
    raci_free(p);
}
END_TEST

START_TEST(eval_wrong_approver_and_actor)
{
    raci_policy *p = plant();
    got g = {0};
    raci_eval *e;
    adt_err err;
    ck_assert_int_eq(raci_eval_new(p, on_finding, &g, &e, &err), ADT_OK);
    feed(e, "change.request", T0, "erin", "firmware:camera", "c-9", 1); /* erin is only I */
    ck_assert_int_eq(g.n, 1);
    ck_assert_str_eq(g.rule[0], "raci.actor_not_responsible");
    feed(e, "change.consult", T0 + 1, "dave", NULL, "c-9", 2);
    feed(e, "change.approve", T0 + 2, "grace", NULL, "c-9", 3); /* R, not A */
    ck_assert_int_eq(g.n, 2);
    ck_assert_str_eq(g.rule[1], "raci.approver_not_accountable");
    ck_assert_uint_eq(g.nev[1], 2); /* the request and the approval */
    feed(e, "firmware.deploy", T0 + 3, "grace", "firmware:camera", "c-9", 4);
    ck_assert_int_eq(g.n, 3);
    ck_assert_str_eq(g.rule[2], "raci.deploy_unapproved");
    ck_assert_uint_eq(g.ev[2][0], 1);
    ck_assert_uint_eq(g.ev[2][1], 4);
    feed(e, "model.deploy", T0 + 4, "agent:gw-1", "model:failure-predictor", NULL, 5);
    ck_assert_int_eq(g.n, 5); /* gw-1 is not R; and nothing approved */
    ck_assert_str_eq(g.rule[3], "raci.actor_not_responsible");
    ck_assert_str_eq(g.rule[4], "raci.deploy_unapproved");
    feed(e, "change.request", T0 + 5, "alice", "firmware:toaster", "t-1", 6);
    ck_assert_int_eq(g.n, 6);
    ck_assert_str_eq(g.rule[5], "raci.unknown_activity");
    /* Events RACI does not govern are ignored. */
    feed(e, "telemetry.batch", T0 + 6, "agent:gw-1", NULL, NULL, 7);
    ck_assert_int_eq(g.n, 6);
    raci_eval_free(e);
    raci_free(p);
}
END_TEST

START_TEST(eval_inform_and_incident_slas)
{
    raci_policy *p = plant();
    got g = {0};
    raci_eval *e;
    adt_err err;
    ck_assert_int_eq(raci_eval_new(p, on_finding, &g, &e, &err), ADT_OK);
    /* A clean model change whose inform comes 25 h after the deploy. */
    feed(e, "change.request", T0, "agent:platform", "model:failure-predictor", "m-2", 20);
    feed(e, "change.consult", T0 + 1, "alice", NULL, "m-2", 21);
    feed(e, "change.approve", T0 + 2, "carol", NULL, "m-2", 22);
    feed(e, "model.deploy", T0 + 3, "agent:platform", "model:failure-predictor", "m-2", 23);
    ck_assert_int_eq(g.n, 0);
    feed(e, "notify.inform", T0 + 3 + 25 * H, "erin", "model:failure-predictor", "m-2", 30);
    ck_assert_int_eq(g.n, 1);
    ck_assert_str_eq(g.rule[0], "raci.inform_late");
    ck_assert_uint_eq(g.ev[0][0], 23);
    ck_assert_uint_eq(g.ev[0][1], 30);

    /* An incident acknowledged after 5 h (SLA 4 h), erin never informed,
     * never resolved. */
    feed(e, "incident.open", T0, "agent:cam-1", "incident:plant-1", "inc-1", 40);
    feed(e, "incident.ack", T0 + 5 * H, "alice", NULL, "inc-1", 41);
    ck_assert_int_eq(g.n, 2);
    ck_assert_str_eq(g.rule[1], "raci.ack_late");
    ck_assert_uint_eq(g.ev[1][0], 40);
    ck_assert_uint_eq(g.ev[1][1], 41);
    ck_assert_int_eq(raci_eval_advance(e, T0 + 23 * H, &err), ADT_OK);
    ck_assert_int_eq(g.n, 2); /* nothing due yet */
    ck_assert_int_eq(raci_eval_advance(e, T0 + 73 * H, &err), ADT_OK);
    ck_assert_int_eq(g.n, 4);
    ck_assert_str_eq(g.rule[2], "raci.resolve_late");
    ck_assert_str_eq(g.rule[3], "raci.inform_late");
    ck_assert_uint_eq(g.ev[3][0], 40);
    /* Reported once only. */
    ck_assert_int_eq(raci_eval_advance(e, T0 + 200 * H, &err), ADT_OK);
    feed(e, "incident.resolve", T0 + 200 * H, "alice", NULL, "inc-1", 50);
    ck_assert_int_eq(g.n, 4);
    /* An ack by someone who is neither R nor A. */
    feed(e, "incident.open", T0, "agent:cam-1", "incident:plant-1", "inc-2", 60);
    feed(e, "incident.ack", T0 + H, "erin", NULL, "inc-2", 61);
    ck_assert_int_eq(g.n, 5);
    ck_assert_str_eq(g.rule[4], "raci.actor_not_responsible");
    raci_eval_free(e);
    raci_free(p);
}
END_TEST

START_TEST(eval_save_restore)
{
    raci_policy *p = plant();
    got g = {0};
    raci_eval *e, *e2;
    adt_err err;
    ck_assert_int_eq(raci_eval_new(p, on_finding, &g, &e, &err), ADT_OK);
    feed(e, "change.request", T0, "grace", "firmware:plc", "chg-7", 1);
    feed(e, "change.consult", T0 + 1, "dave", NULL, "chg-7", 2);
    feed(e, "incident.open", T0, "agent:gw-1", "incident:plant-1", "inc-9", 3);
    cJSON *state = NULL;
    ck_assert_int_eq(raci_eval_save(e, &state, &err), ADT_OK);
    raci_eval_free(e);
    char *text = cJSON_PrintUnformatted(state);
    cJSON_Delete(state);
    state = cJSON_Parse(text);
    free(text);
    ck_assert_int_eq(raci_eval_new(p, on_finding, &g, &e2, &err), ADT_OK);
    ck_assert_int_eq(raci_eval_restore(e2, state, &err), ADT_OK);
    cJSON_Delete(state);
    /* The consultation was remembered: approving and deploying is clean. */
    feed(e2, "change.approve", T0 + 2, "alice", NULL, "chg-7", 4);
    feed(e2, "firmware.deploy", T0 + 3, "grace", NULL, "chg-7", 5);
    ck_assert_int_eq(g.n, 0);
    /* The incident was remembered too. */
    ck_assert_int_eq(raci_eval_advance(e2, T0 + 5 * H, &err), ADT_OK);
    ck_assert_int_eq(g.n, 1);
    ck_assert_str_eq(g.rule[0], "raci.ack_late");
    ck_assert_uint_eq(g.ev[0][0], 3);
    /* State from another policy version is refused. */
    cJSON *bogus = cJSON_Parse("{\"policy_sha256\":\"00\"}");
    raci_eval *e3;
    ck_assert_int_eq(raci_eval_new(p, on_finding, &g, &e3, &err), ADT_OK);
    ck_assert_int_eq(raci_eval_restore(e3, bogus, &err), ADT_ECONFLICT);
    cJSON_Delete(bogus);
    raci_eval_free(e3);
    raci_eval_free(e2);
    raci_free(p);
}
END_TEST

START_TEST(eval_feed_json)
{
    raci_policy *p = plant();
    got g = {0};
    raci_eval *e;
    adt_err err;
    ck_assert_int_eq(raci_eval_new(p, on_finding, &g, &e, &err), ADT_OK);
    cJSON *a = cJSON_Parse("{\"type\":\"change.request\",\"time\":\"2026-07-01T10:00:00Z\","
                           "\"actor\":\"carol\",\"activity\":\"model:failure-predictor\","
                           "\"change_id\":\"x-1\"}");
    cJSON *b = cJSON_Parse("{\"type\":\"change.approve\",\"time\":\"2026-07-01T11:00:00Z\","
                           "\"actor\":\"carol\",\"change_id\":\"x-1\"}");
    cJSON *c = cJSON_Parse("{\"type\":\"change.approve\",\"actor\":\"carol\"}"); /* no time */
    ck_assert_int_eq(raci_eval_feed_json(e, 100, a, &err), ADT_OK);
    ck_assert_int_eq(raci_eval_feed_json(e, 101, b, &err), ADT_OK);
    ck_assert_int_eq(raci_eval_feed_json(e, 102, c, &err), ADT_OK);
    ck_assert_int_eq(g.n, 2);
    ck_assert_str_eq(g.rule[0], "raci.self_approval");
    ck_assert_uint_eq(g.ev[0][0], 100);
    ck_assert_uint_eq(g.ev[0][1], 101);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    raci_eval_free(e);
    raci_free(p);
}
END_TEST

/* ---- Storing and the commands -------------------------------------------------- */

static int refuse(void *ctx, const raci_policy *p, adt_err *err)
{
    (void)ctx;
    (void)p;
    return adt_fail(err, ADT_EIO, "ledger unavailable");
}

START_TEST(store_is_all_or_nothing)
{
    char *dir = ts_tmpdir("raci-store");
    adt_err err;
    raci_policy *p = NULL;
    ck_assert_int_eq(raci_store(dir, PLANT, refuse, NULL, &p, &err), ADT_EIO);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(raci_load_current(dir, &p, &err), ADT_ENOTFOUND);
    ck_assert_int_eq(raci_store(dir, PLANT, NULL, NULL, &p, &err), ADT_OK);
    raci_policy *q = NULL;
    ck_assert_int_eq(raci_load_current(dir, &q, &err), ADT_OK);
    ck_assert_str_eq(raci_sha256(q), raci_sha256(p));
    char hist[1024];
    snprintf(hist, sizeof hist, "%s/policies/%s.xml", dir, raci_sha256(p));
    ck_assert_int_eq(access(hist, R_OK), 0);
    raci_free(q);
    raci_free(p);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(cli_check_and_load)
{
    char *dir = ts_tmpdir("raci-cli");
    char *out = NULL, *errs = NULL;
    const char *ok[] = {"raci", "check", PLANT, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, ok), 0);
    ck_assert_ptr_nonnull(strstr(out, "ok: policy plant-1 version 2026.11.1"));
    free(out);
    free(errs);

    char bad[1024];
    snprintf(bad, sizeof bad, "%s/bad.xml", dir);
    char *s = doc("    <activity id=\"firmware:plc\" kind=\"firmware\">\n"
                  "      <accountable principal=\"alice\"/>\n"
                  "      <accountable principal=\"bob\"/>\n"
                  "      <responsible principal=\"carol\"/>\n"
                  "    </activity>\n");
    ts_write_file(bad, s, strlen(s));
    free(s);
    const char *chk[] = {"raci", "check", bad, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, chk), 1);
    char want[1200];
    snprintf(want, sizeof want, "%s:9: activity 'firmware:plc' has 2 accountables", bad);
    ck_assert_msg(strstr(errs, want), "got: %s", errs);
    snprintf(want, sizeof want, "%s:12: activity 'firmware:plc': responsible principal 'carol' "
                                "is not defined", bad);
    ck_assert_msg(strstr(errs, want), "got: %s", errs);
    free(out);
    free(errs);

    /* policy load: needs a ledger; appends policy.load with the hash and version. */
    const char *load[] = {"policy", "load", PLANT, "--data-dir", dir, "--actor", "dana", NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, load), 1);
    free(out);
    free(errs);
    const char *init[] = {"init", "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, NULL, NULL, init), 0);
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, load), 0);
    ck_assert_msg(strstr(out, "policy plant-1 version 2026.11.1"), "got: %s / %s", out, errs);
    free(out);
    free(errs);
    const char *entry[] = {"entry", "0", "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, entry), 0);
    /* {"index":0,"leaf":"<base64 of the leaf>"} */
    cJSON *j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    const char *b64 = cJSON_GetObjectItem(j, "leaf")->valuestring;
    char leaf[4096];
    size_t leaf_len = 0;
    ck_assert_int_eq(sodium_base642bin((unsigned char *)leaf, sizeof leaf - 1, b64, strlen(b64),
                                       NULL, &leaf_len, NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
    leaf[leaf_len] = '\0';
    cJSON_Delete(j);
    raci_policy *p = plant();
    char want_ev[300];
    snprintf(want_ev, sizeof want_ev,
             "{\"payload\":{\"actor\":\"dana\",\"policy\":\"plant-1\",\"sha256\":\"%s\",",
             raci_sha256(p));
    ck_assert_msg(strncmp(leaf, want_ev, strlen(want_ev)) == 0, "leaf: %s", leaf);
    ck_assert_ptr_nonnull(strstr(leaf, "\"type\":\"policy.load\",\"version\":\"2026.11.1\"}"));
    raci_free(p);
    free(out);
    free(errs);
    const char *show[] = {"policy", "show", "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, show), 0);
    ck_assert_ptr_nonnull(strstr(out, "version 2026.11.1"));
    free(out);
    free(errs);
    /* A bad policy leaves the one in force alone. */
    const char *load_bad[] = {"policy", "load", bad, "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, load_bad), 1);
    free(out);
    free(errs);
    const char *entry1[] = {"entry", "1", "--data-dir", dir, NULL};
    ck_assert_int_ne(ts_run(NULL, 0, &out, &errs, entry1), 0);
    free(out);
    free(errs);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("raci");
    TCase *t = tcase_create("load");
    tcase_add_test(t, plant_loads);
    tcase_add_test(t, two_accountables_refused_with_line);
    tcase_add_test(t, missing_responsible_and_undefined_refs);
    tcase_add_test(t, structure_and_semantics_problems);
    tcase_add_test(t, durations);
    suite_add_tcase(s, t);
    t = tcase_create("eval");
    tcase_add_test(t, eval_clean_firmware_change);
    tcase_add_test(t, eval_self_approval_and_missing_consult);
    tcase_add_test(t, eval_wrong_approver_and_actor);
    tcase_add_test(t, eval_inform_and_incident_slas);
    tcase_add_test(t, eval_save_restore);
    tcase_add_test(t, eval_feed_json);
    suite_add_tcase(s, t);
    t = tcase_create("store");
    tcase_add_test(t, store_is_all_or_nothing);
    tcase_add_test(t, cli_check_and_load);
    tcase_set_timeout(t, 60);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
