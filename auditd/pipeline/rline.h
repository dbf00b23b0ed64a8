/* rline.h: one reading line (docs/pipeline.md "Readings") checked against its
 * device's profile: parsed, validated and packed (profile.h).
 *
 * Two readers give the same answer for every input:
 *   - the direct reader, for the plain form every sensor sends: one pass over
 *     the bytes, no tree, no allocation. It accepts only lines it can vouch
 *     for (no escapes in strings, JSON-grammar numbers, the values as scalars
 *     or {"value", "unit"} objects, nothing after the closing brace) and only
 *     when the reading is valid;
 *   - the tree reader (cJSON, then profile_validate), which sees everything
 *     else and every refusal, with its reason and detail.
 * rline_check tries the first and falls back to the second, so what is
 * refused, and why, is exactly what the tree reader says. fuzz_telemetry
 * checks the two against each other on arbitrary bytes. */
#ifndef AUDITD_RLINE_H
#define AUDITD_RLINE_H

#include "buf.h"
#include "profile.h"

#include <stddef.h>
#include <stdint.h>

/* The profile the reading's device is validated against, or NULL when the
 * device is unknown (or its profile is not loaded). *dev is the caller's
 * handle of the device, handed back by rline_check. `name` is not
 * NUL-terminated. */
typedef const profile *(*rline_device_fn)(void *ctx, const char *name, size_t n, int *dev);

/* The result of checking one line. */
typedef struct rline_out {
    int dev;            /* the device's handle (valid when PROFILE_OK) */
    int64_t time;       /* the reading's time in microseconds, 0 when not read */
    char devname[72];   /* the device as given (truncated), "" when not read */
    char detail[256];   /* why it was refused */
} rline_out;

/* Check line [p, p + n): on PROFILE_OK the packed values are appended to
 * `packed`; otherwise `packed` is as it was and out->detail explains. */
profile_reason rline_check(const char *p, size_t n, rline_device_fn device, void *ctx,
                           buf *packed, rline_out *out);

/* The same through the tree reader only (the reference the direct reader is
 * held to; also what rline_check falls back to). */
profile_reason rline_check_tree(const char *p, size_t n, rline_device_fn device, void *ctx,
                                buf *packed, rline_out *out);

#endif
