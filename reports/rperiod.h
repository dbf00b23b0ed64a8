/* rperiod.h: report periods in UTC.
 *
 *   "2026-Q3"                 a calendar quarter   [2026-07-01, 2026-10-01)
 *   "2026-07"                 a calendar month     [2026-07-01, 2026-08-01)
 *   "2026-07-01..2026-09-30"  a custom range, end day inclusive
 *
 * The previous period is the previous quarter / month, or for a custom range
 * the range of the same length that ends where this one starts.
 * (Written here rather than using controls_parse_period because reports also
 * need the previous period and the week buckets; both accept the same syntax.) */
#ifndef AUDITD_RPERIOD_H
#define AUDITD_RPERIOD_H

#include "status.h"

#include <stdint.h>

#define RPERIOD_LABEL_MAX 40

typedef struct rperiod {
    char label[RPERIOD_LABEL_MAX];      /* as given, validated */
    char prev_label[RPERIOD_LABEL_MAX]; /* "2026-Q2", "2026-06", or a range */
    int64_t from_us, to_us;             /* [from, to) */
    int64_t prev_from_us, prev_to_us;
} rperiod;

int rperiod_parse(const char *s, rperiod *out, adt_err *err);

#endif
