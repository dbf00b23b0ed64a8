/* rperiod.c: a report's period and the previous one (rperiod.h). */
#include "rperiod.h"

#include <string.h>

int rperiod_parse(const char *s, rperiod *out, adt_err *err)
{
    period_spec cur, prev;
    int rc = period_parse(s, &cur, err);
    if (rc)
        return rc;
    period_previous(&cur, &prev);
    memset(out, 0, sizeof *out);
    memcpy(out->label, cur.label, sizeof out->label);
    memcpy(out->prev_label, prev.label, sizeof out->prev_label);
    out->from_us = cur.from_us;
    out->to_us = cur.to_us;
    out->prev_from_us = prev.from_us;
    out->prev_to_us = prev.to_us;
    return ADT_OK;
}
