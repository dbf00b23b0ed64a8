/* rperiod.h: the period a report covers and the one it compares with.
 *
 * The grammar and the arithmetic are core's (period.h: a year "2026", a
 * quarter "2026-Q3", a month "2026-07", a range of days
 * "2026-07-01..2026-09-30", all UTC); this is only the pair a report needs,
 * the period and its previous one (period_previous), in one value. The
 * control evaluation reads the same grammar, so both see the same windows. */
#ifndef AUDITD_RPERIOD_H
#define AUDITD_RPERIOD_H

#include "period.h"
#include "status.h"

#include <stdint.h>

#define RPERIOD_LABEL_MAX PERIOD_LABEL_MAX

typedef struct rperiod {
    char label[RPERIOD_LABEL_MAX];      /* normalised by period_parse */
    char prev_label[RPERIOD_LABEL_MAX]; /* "2026-Q2", "2026-06", or a range */
    int64_t from_us, to_us;             /* [from, to) */
    int64_t prev_from_us, prev_to_us;
} rperiod;

/* Parse `s` (period_parse) and fill in its previous period. ADT_EINVAL with
 * period_parse's message. */
int rperiod_parse(const char *s, rperiod *out, adt_err *err);

#endif
