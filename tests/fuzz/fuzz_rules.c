/* fuzz_rules.c: the evidence rule parser (rules_parse): libxml2 parsing,
 * validation against the built-in rules.xsd, and the semantic checks, with no
 * catalog (so every syntactically valid control id is accepted). */
#include "rules.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rules_schema *schema;
    adt_err err;
    if (!schema && rules_schema_open(NULL, &schema, &err) != ADT_OK)
        abort();
    rule r;
    err.msg[0] = 0;
    int rc = rules_parse(schema, NULL, "fuzz.xml", (const char *)data, size, &r, &err);
    if (rc == ADT_OK) {
        /* an accepted rule is complete */
        if (!r.id || !r.title || !r.ncontrols || r.ncontrols > RULES_MAX_ITEMS ||
            (unsigned)r.kind > RULE_RACI || !r.file)
            abort();
        if ((r.kind == RULE_WITHIN || r.kind == RULE_REVOKED_WITHIN) && r.sla_us <= 0)
            abort();
        if (r.kind == RULE_EVERY && r.period_us <= 0)
            abort();
        rules_rule_free(&r);
    } else if (!err.msg[0] || strncmp(err.msg, "fuzz.xml", 8)) {
        abort(); /* every error names the input */
    }
    return 0;
}
