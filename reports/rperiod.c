/* rperiod.c: report period parsing (see rperiod.h). */
#include "rperiod.h"

#include "rfc3339.h"

#include <stdio.h>
#include <string.h>

#define US_PER_DAY (86400LL * 1000000LL)

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DD" at s (exactly 10 chars) -> day number. */
static int parse_date(const char *s, int64_t *day)
{
    int y, m, d;
    if (s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &m) ||
        digits(s + 8, 2, &d))
        return -1;
    if (y < 1970 || y > 9998 || m < 1 || m > 12 || d < 1 || d > rfc3339_days_in_month(y, m))
        return -1;
    *day = rfc3339_days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

static void fmt_date(int64_t day, char *out, size_t cap)
{
    int64_t y;
    int m, d;
    rfc3339_civil_from_days(day, &y, &m, &d);
    snprintf(out, cap, "%04lld-%02d-%02d", (long long)y, m, d);
}

int rperiod_parse(const char *s, rperiod *out, adt_err *err)
{
    rperiod p;
    memset(&p, 0, sizeof p);
    size_t n = s ? strlen(s) : 0;
    int y, q, m;
    if (n == 7 && s[4] == '-' && (s[5] == 'Q' || s[5] == 'q') && !digits(s, 4, &y) &&
        !digits(s + 6, 1, &q) && q >= 1 && q <= 4 && y >= 1970 && y <= 9998) {
        unsigned m0 = (unsigned)(q - 1) * 3 + 1;
        p.from_us = rfc3339_days_from_civil(y, m0, 1) * US_PER_DAY;
        p.to_us = (q == 4 ? rfc3339_days_from_civil(y + 1, 1, 1)
                          : rfc3339_days_from_civil(y, m0 + 3, 1)) * US_PER_DAY;
        int py = q == 1 ? y - 1 : y, pq = q == 1 ? 4 : q - 1;
        p.prev_from_us = rfc3339_days_from_civil(py, (unsigned)(pq - 1) * 3 + 1, 1) * US_PER_DAY;
        p.prev_to_us = p.from_us;
        snprintf(p.label, sizeof p.label, "%04d-Q%d", y, q);
        snprintf(p.prev_label, sizeof p.prev_label, "%04d-Q%d", py, pq);
    } else if (n == 7 && s[4] == '-' && !digits(s, 4, &y) && !digits(s + 5, 2, &m) && m >= 1 &&
               m <= 12 && y >= 1970 && y <= 9998) {
        p.from_us = rfc3339_days_from_civil(y, (unsigned)m, 1) * US_PER_DAY;
        p.to_us = (m == 12 ? rfc3339_days_from_civil(y + 1, 1, 1)
                           : rfc3339_days_from_civil(y, (unsigned)m + 1, 1)) * US_PER_DAY;
        int py = m == 1 ? y - 1 : y, pm = m == 1 ? 12 : m - 1;
        p.prev_from_us = rfc3339_days_from_civil(py, (unsigned)pm, 1) * US_PER_DAY;
        p.prev_to_us = p.from_us;
        snprintf(p.label, sizeof p.label, "%04d-%02d", y, m);
        snprintf(p.prev_label, sizeof p.prev_label, "%04d-%02d", py, pm);
    } else if (n == 22 && s[10] == '.' && s[11] == '.') {
        int64_t d0, d1;
        if (parse_date(s, &d0) || parse_date(s + 12, &d1))
            return adt_fail(err, ADT_EINVAL,
                            "period \"%s\": dates must be valid YYYY-MM-DD (e.g. 2026-07-01..2026-09-30)",
                            s);
        if (d1 < d0)
            return adt_fail(err, ADT_EINVAL, "period \"%s\": the end day is before the start day", s);
        if (d1 - d0 > 3660)
            return adt_fail(err, ADT_EINVAL, "period \"%s\": longer than 10 years", s);
        int64_t len = d1 - d0 + 1;
        p.from_us = d0 * US_PER_DAY;
        p.to_us = (d1 + 1) * US_PER_DAY;
        p.prev_from_us = (d0 - len) * US_PER_DAY;
        p.prev_to_us = p.from_us;
        memcpy(p.label, s, n + 1);
        char a[16], b[16];
        fmt_date(d0 - len, a, sizeof a);
        fmt_date(d0 - 1, b, sizeof b);
        snprintf(p.prev_label, sizeof p.prev_label, "%.10s..%.10s", a, b);
    } else {
        return adt_fail(err, ADT_EINVAL,
                        "period \"%.40s\" not understood: use a quarter (2026-Q3), a month "
                        "(2026-07) or a range of days (2026-07-01..2026-09-30), all UTC",
                        s ? s : "");
    }
    *out = p;
    return ADT_OK;
}
