/* numparse.h: strict number parsing for untrusted text (never atoi/sscanf). */
#ifndef AUDITD_NUMPARSE_H
#define AUDITD_NUMPARSE_H

#include <stddef.h>
#include <stdint.h>

/* Whole string must be a decimal integer in [min, max]. ADT_OK or ADT_EINVAL. */
int num_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int num_u64(const char *s, uint64_t max, uint64_t *out);
/* Same for a span that is not NUL-terminated. */
int num_u64n(const char *s, size_t n, uint64_t max, uint64_t *out);
/* Whole string must be a finite decimal floating-point number. */
int num_double(const char *s, double *out);

#endif
