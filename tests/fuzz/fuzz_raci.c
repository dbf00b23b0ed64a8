/* fuzz_raci.c: the RACI policy loader (XML, XSD, semantic checks) and, for
 * inputs that load, the JSON export and a short evaluation. */
#include "raci.h"

#include <stdint.h>
#include <stdlib.h>

static void on_finding(void *ctx, const raci_finding *f)
{
    (void)f;
    (*(int *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    raci_policy *p = NULL;
    adt_err err;
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
