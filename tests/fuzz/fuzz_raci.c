/* fuzz_raci.c: the RACI policy loader (XML, XSD, semantic checks) and, for
 * inputs that load, the JSON export and a short evaluation. Inputs starting
 * with '{' are saved evaluator state instead: restored (with the policy hash
 * set to match) into an evaluator of a fixed small policy, then driven. */
#include "raci.h"

#include <stdint.h>
#include <stdlib.h>

static void on_finding(void *ctx, const raci_finding *f)
{
    (void)f;
    (*(int *)ctx)++;
}

static const char fixed_policy[] =
    "<raci xmlns=\"urn:auditd:raci:1\" name=\"f\" version=\"1\">"
    "<roles><role id=\"ot\"/></roles><principals>"
    "<principal id=\"alice\" kind=\"person\" roles=\"ot\"/>"
    "<principal id=\"erin\" kind=\"person\"/></principals><activities>"
    "<activity id=\"firmware:plc\" kind=\"firmware\" consult-before-approval=\"true\">"
    "<accountable principal=\"alice\"/><responsible role=\"ot\"/>"
    "<consulted principal=\"erin\"/><informed principal=\"erin\"/>"
    "<informed role=\"ot\"/><sla inform=\"PT1H\"/></activity>"
    "<activity id=\"incident:s\" kind=\"incident\"><accountable principal=\"alice\"/>"
    "<responsible role=\"ot\"/><informed principal=\"erin\"/>"
    "<sla ack=\"PT1H\" resolve=\"PT2H\" inform=\"PT1H\"/></activity></activities></raci>";

static void restore_state(const uint8_t *data, size_t size)
{
    static raci_policy *p;
    adt_err err;
    if (!p && raci_load_mem(fixed_policy, sizeof fixed_policy - 1, "fixed.xml", NULL, NULL, &p,
                            &err) != ADT_OK)
        abort(); /* the fixed policy must load */
    cJSON *st = cJSON_ParseWithLength((const char *)data, size);
    if (!st)
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(st, "policy_sha256");
    cJSON_AddStringToObject(st, "policy_sha256", raci_sha256(p));
    int n = 0;
    raci_eval *e = NULL;
    if (raci_eval_new(p, on_finding, &n, &e, &err) == ADT_OK &&
        raci_eval_restore(e, st, &err) == ADT_OK) {
        static const char *const types[] = {"change.consult", "change.approve",
                                            "firmware.deploy", "notify.inform",
                                            "incident.ack", "incident.resolve"};
        static const char *const refs[] = {"c1", "i1", "x"};
        for (size_t t = 0; t < 6; t++)
            for (size_t r = 0; r < 3; r++) {
                raci_event ev = {types[t], (int64_t)t * 1000000, t % 2 ? "alice" : "erin",
                                 NULL, refs[r], t * 3 + r};
                raci_eval_feed(e, &ev, &err);
            }
        raci_eval_advance(e, INT64_C(1) << 40, &err);
        cJSON *out = NULL;
        if (raci_eval_save(e, &out, &err) == ADT_OK)
            cJSON_Delete(out);
    }
    raci_eval_free(e);
    cJSON_Delete(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    raci_policy *p = NULL;
    adt_err err;
    if (size > 0 && data[0] == '{') {
        restore_state(data, size);
        return 0;
    }
    if (raci_load_mem((const char *)data, size, "fuzz.xml", NULL, NULL, &p, &err) != ADT_OK)
        return 0;
    cJSON *j = NULL;
    if (raci_to_json(p, &j, &err) == ADT_OK)
        cJSON_Delete(j);
    int n = 0;
    raci_eval *e = NULL;
    if (raci_eval_new(p, on_finding, &n, &e, &err) == ADT_OK) {
        /* Drive every handler with the policy's own activities and principals. */
        static const char *const types[] = {"change.request", "change.consult", "change.approve",
                                            "firmware.deploy", "notify.inform", "incident.open",
                                            "incident.ack", "incident.resolve"};
        for (size_t i = 0; i < raci_activity_count(p) && i < 8; i++) {
            const raci_activity *a = raci_activity_at(p, i);
            const char *who[2] = {NULL, NULL};
            raci_principals(p, a, RACI_R, who, 2);
            for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
                raci_event ev = {types[t], (int64_t)t * 3600000000LL,
                                 who[t % 2] ? who[t % 2] : raci_accountable(a),
                                 raci_activity_id(a), "ref-1", i * 10 + t};
                raci_eval_feed(e, &ev, &err);
            }
        }
        raci_eval_advance(e, INT64_C(1) << 50, &err);
        cJSON *st = NULL;
        if (raci_eval_save(e, &st, &err) == ADT_OK)
            cJSON_Delete(st);
        raci_eval_free(e);
    }
    raci_free(p);
    return 0;
}
