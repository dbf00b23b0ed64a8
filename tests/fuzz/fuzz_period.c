/* fuzz_period.c: period_parse on arbitrary bytes (it reads ?period= of HTTP
 * requests). Whatever parses must be a non-empty window whose label parses
 * back to the same window, and so must its previous period, which ends where
 * the period starts. */
#include "period.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_round_trip(const period_spec *p)
{
    period_spec back;
    adt_err err;
    if (period_parse(p->label, &back, &err) != ADT_OK || back.from_us != p->from_us ||
        back.to_us != p->to_us || back.kind != p->kind)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[64];
    if (size >= sizeof s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    period_spec p, prev;
    adt_err err;
    if (period_parse(s, &p, &err) != ADT_OK) {
        if (!strstr(err.msg, "period"))
            abort();
        return 0;
    }
    if (p.to_us <= p.from_us)
        abort();
    check_round_trip(&p);
    period_previous(&p, &prev);
    if (prev.to_us != p.from_us || prev.to_us <= prev.from_us)
        abort();
    if (prev.from_us >= 0) /* before 1970 the label is outside the grammar */
        check_round_trip(&prev);
    return 0;
}
