/* rfc3339.h: strict RFC 3339 timestamps <-> Unix time in microseconds (UTC). */
#ifndef AUDITD_RFC3339_H
#define AUDITD_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* Parse "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" (T/t, Z/z accepted).
 * Fractions beyond microseconds are truncated. Returns 0 (ADT_OK) or ADT_EINVAL. */
int rfc3339_parse(const char *s, size_t len, int64_t *us_out);
/* Format as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (27 chars + NUL; cap >= 28). */
int rfc3339_format(int64_t us, char *out, size_t cap);
/* Same, but seconds only: "YYYY-MM-DDTHH:MM:SSZ" (cap >= 21). */
int rfc3339_format_s(int64_t us, char *out, size_t cap);
/* Proleptic Gregorian calendar: days since 1970-01-01 of (y, m 1..12, d 1..31)
 * and back (H. Hinnant's era-based algorithms). */
int64_t rfc3339_days_from_civil(int64_t y, int m, int d);
void rfc3339_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* Days in month m (1..12) of year y. */
int rfc3339_days_in_month(int64_t y, int m);

/* Now, in microseconds since the epoch. */
int64_t rfc3339_now_us(void);

#endif
