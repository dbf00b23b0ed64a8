/* period.h: reporting periods in UTC, one grammar for every part.
 *
 *   "2026"                    a calendar year      [2026-01-01, 2027-01-01)
 *   "2026-Q3"                 a calendar quarter   [2026-07-01, 2026-10-01)
 *   "2026-07"                 a calendar month     [2026-07-01, 2026-08-01)
 *   "2026-07-01..2026-09-30"  a range of days, both included (at most 3660 days)
 * Years 1970..9998; "q" is accepted for "Q"; nothing else (no spaces).
 *
 * The previous period has the same kind and length: the previous year,
 * quarter or month, or for a range the range of as many days that ends the
 * day before this one starts. */
#ifndef AUDITD_PERIOD_H
#define AUDITD_PERIOD_H

#include "status.h"

#include <stdint.h>

#define PERIOD_LABEL_MAX 40

typedef enum period_kind { PERIOD_YEAR, PERIOD_QUARTER, PERIOD_MONTH, PERIOD_RANGE } period_kind;

typedef struct period_spec {
    period_kind kind;
    char label[PERIOD_LABEL_MAX]; /* normalised: "2026-Q3", "2026-07", "2026-07-01..2026-09-30" */
    int64_t from_us, to_us;       /* [from, to), microseconds since the epoch */
} period_spec;

/* Parse `s`. ADT_EINVAL with a message that names the text and the forms. */
int period_parse(const char *s, period_spec *out, adt_err *err);

/* The period before `p` (see above). */
void period_previous(const period_spec *p, period_spec *out);

#endif
