/* event.h: validation of submitted audit events (docs/events.md).
 *
 * An event is a JSON object with at least `type` (from the vocabulary, or
 * "x-<name>" for private types), `time` (RFC 3339) and `actor` (non-empty
 * string). Validation canonicalises it (canon.h) so that what is checked is
 * exactly what the ledger stores. */
#ifndef AUDITD_EVENT_H
#define AUDITD_EVENT_H

#include "buf.h"
#include "canon.h"
#include "status.h"

#include <stdbool.h>
#include <stdint.h>

#define EVENT_TYPE_MAX 128
#define EVENT_ACTOR_MAX 128

typedef struct event_info {
    char type[EVENT_TYPE_MAX + 1];
    char actor[EVENT_ACTOR_MAX + 1];
    int64_t time_us;
} event_info;

/* Validate one event and append its canonical bytes to `out` (nothing is
 * appended on failure). `lim` NULL = canon_event_limits. */
int event_validate(const char *json, size_t len, const canon_limits *lim, buf *out,
                   event_info *info, adt_err *err);

/* True if `type` is in the documented vocabulary or is an "x-" type. */
bool event_type_known(const char *type);

/* The documented vocabulary, NULL-terminated. */
extern const char *const event_types[];

#endif
