#include "numparse.h"

#include "status.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int num_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return ADT_EINVAL;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return ADT_EINVAL;
    *out = v;
    return ADT_OK;
}

int num_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return ADT_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return ADT_EINVAL;
    *out = v;
    return ADT_OK;
}

int num_u64n(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20)
        return ADT_EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ADT_EINVAL;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return ADT_EINVAL;
        v = v * 10 + d;
    }
    if (v > max)
        return ADT_EINVAL;
    *out = v;
    return ADT_OK;
}

int num_double(const char *s, double *out)
{
    if (!s || !*s || strchr(" \t\n\r\f\v", *s))
        return ADT_EINVAL;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return ADT_EINVAL;
    *out = v;
    return ADT_OK;
}
