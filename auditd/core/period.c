/* period.c: period grammar and arithmetic (period.h). */
#include "period.h"

#include "rfc3339.h"

#include <stdio.h>
#include <string.h>

#define US_PER_DAY (86400LL * 1000000LL)
#define YEAR_MIN 1970
#define YEAR_MAX 9998
#define RANGE_MAX_DAYS 3660

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

static int year_ok(const char *s, int *y)
{
    return !digits(s, 4, y) && *y >= YEAR_MIN && *y <= YEAR_MAX ? 0 : -1;
}

/* "YYYY-MM-DD" at s (exactly 10 chars) -> days since the epoch. */
static int parse_day(const char *s, int64_t *day)
{
    int y, m, d;
    if (s[4] != '-' || s[7] != '-' || year_ok(s, &y) || digits(s + 5, 2, &m) ||
        digits(s + 8, 2, &d) || m < 1 || m > 12 || d < 1 || d > rfc3339_days_in_month(y, m))
        return -1;
    *day = rfc3339_days_from_civil(y, m, d);
    return 0;
}

static void format_day(int64_t day, char *out, size_t cap)
{
    int64_t y;
    int m, d;
    rfc3339_civil_from_days(day, &y, &m, &d);
    snprintf(out, cap, "%04lld-%02d-%02d", (long long)y, m, d);
}

/* The period of `kind` starting at month m0 of year y (or at a day for ranges). */
static void set_months(period_spec *p, period_kind kind, int64_t y, int m0, int months)
{
    int m1 = m0 + months;
    int64_t y1 = y + (m1 - 1) / 12;
    m1 = (m1 - 1) % 12 + 1;
    p->kind = kind;
    p->from_us = rfc3339_days_from_civil(y, m0, 1) * US_PER_DAY;
    p->to_us = rfc3339_days_from_civil(y1, m1, 1) * US_PER_DAY;
    if (kind == PERIOD_YEAR)
        snprintf(p->label, sizeof p->label, "%04lld", (long long)y);
    else if (kind == PERIOD_QUARTER)
        snprintf(p->label, sizeof p->label, "%04lld-Q%d", (long long)y, (m0 - 1) / 3 + 1);
    else
        snprintf(p->label, sizeof p->label, "%04lld-%02d", (long long)y, m0);
}

static void set_days(period_spec *p, int64_t d0, int64_t d1)
{
    char a[16], b[16];
    format_day(d0, a, sizeof a);
    format_day(d1, b, sizeof b);
    p->kind = PERIOD_RANGE;
    p->from_us = d0 * US_PER_DAY;
    p->to_us = (d1 + 1) * US_PER_DAY;
    snprintf(p->label, sizeof p->label, "%s..%s", a, b);
}

int period_parse(const char *s, period_spec *out, adt_err *err)
{
    size_t n = s ? strlen(s) : 0;
    int y, q, m;
    if (n == 4 && !year_ok(s, &y)) {
        set_months(out, PERIOD_YEAR, y, 1, 12);
        return ADT_OK;
    }
    if (n == 7 && s[4] == '-' && !year_ok(s, &y)) {
        if ((s[5] == 'Q' || s[5] == 'q') && !digits(s + 6, 1, &q) && q >= 1 && q <= 4) {
            set_months(out, PERIOD_QUARTER, y, 3 * q - 2, 3);
            return ADT_OK;
        }
        if (!digits(s + 5, 2, &m) && m >= 1 && m <= 12) {
            set_months(out, PERIOD_MONTH, y, m, 1);
            return ADT_OK;
        }
    }
    if (n == 22 && s[10] == '.' && s[11] == '.') {
        int64_t d0, d1;
        if (parse_day(s, &d0) || parse_day(s + 12, &d1))
            return adt_fail(err, ADT_EINVAL,
                            "period \"%s\": both days must be valid dates YYYY-MM-DD (years "
                            "%d..%d), e.g. 2026-07-01..2026-09-30",
                            s, YEAR_MIN, YEAR_MAX);
        if (d1 < d0)
            return adt_fail(err, ADT_EINVAL, "period \"%s\" ends before it starts", s);
        if (d1 - d0 >= RANGE_MAX_DAYS)
            return adt_fail(err, ADT_EINVAL, "period \"%s\" is longer than %d days", s,
                            RANGE_MAX_DAYS);
        set_days(out, d0, d1);
        return ADT_OK;
    }
    return adt_fail(err, ADT_EINVAL,
                    "period \"%.40s\" is not understood: use a year (2026), a quarter (2026-Q3), "
                    "a month (2026-07) or a range of days (2026-07-01..2026-09-30), all UTC",
                    s ? s : "");
}

void period_previous(const period_spec *p, period_spec *out)
{
    int64_t y;
    int m, d;
    rfc3339_civil_from_days(p->from_us / US_PER_DAY, &y, &m, &d);
    switch (p->kind) {
    case PERIOD_YEAR:
        set_months(out, PERIOD_YEAR, y - 1, 1, 12);
        break;
    case PERIOD_QUARTER:
        set_months(out, PERIOD_QUARTER, m == 1 ? y - 1 : y, m == 1 ? 10 : m - 3, 3);
        break;
    case PERIOD_MONTH:
        set_months(out, PERIOD_MONTH, m == 1 ? y - 1 : y, m == 1 ? 12 : m - 1, 1);
        break;
    case PERIOD_RANGE: {
        int64_t d0 = p->from_us / US_PER_DAY, len = (p->to_us - p->from_us) / US_PER_DAY;
        set_days(out, d0 - len, d0 - 1);
        break;
    }
    }
}
