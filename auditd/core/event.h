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

/* Who wrote an entry: the leaf's `writer` (docs/events.md, "Who may write
 * what"). A writer is the channel that vouches for the entry's content, not
 * the person in `actor`:
 *   auditd   - auditd's own code: the daemon and the CLI commands that compute
 *              what they record (digests, verification results, scope, reports)
 *   admin    - a person at the auditd command line on the host, recording a
 *              decision or fact (`model approve`, `ledger append`)
 *   edge     - an enrolled edge agent (signed requests)
 *   platform - an enrolled platform agent (signed requests)
 *   person   - a person signed in to the web console with their own credential
 * Each is one bit so that a type's allowed writers are a mask. */
typedef enum event_writer {
    EVENT_WRITER_NONE = 0, /* not recorded (entries of older ledgers): never allowed */
    EVENT_WRITER_AUDITD = 1u << 0,
    EVENT_WRITER_ADMIN = 1u << 1,
    EVENT_WRITER_EDGE = 1u << 2,
    EVENT_WRITER_PLATFORM = 1u << 3,
    EVENT_WRITER_PERSON = 1u << 4
} event_writer;

#define EVENT_WRITERS_ALL 0x1Fu
#define EVENT_WRITER_NAME_MAX 16

/* One row of the vocabulary: a type and the writers that may produce it. */
typedef struct event_type_def {
    const char *type;
    unsigned writers; /* mask of event_writer */
} event_type_def;

/* The vocabulary, in docs/events.md order, ending with {NULL, 0}. */
extern const event_type_def event_type_table[];

/* The writers allowed for `type`: the table's mask; for a private "x-" type
 * every writer but auditd (auditd writes only vocabulary types); 0 for an
 * unknown type. */
unsigned event_type_writers(const char *type);

/* True if `w` (one writer) may write `type`. */
bool event_writer_may(const char *type, event_writer w);

/* "auditd", "admin", "edge", "platform", "person"; "" for NONE or a mask. */
const char *event_writer_name(event_writer w);
/* The writer named by s[0..n), or EVENT_WRITER_NONE. */
event_writer event_writer_parse(const char *s, size_t n);
/* The names in `mask`, comma-separated ("auditd, admin"), into out. */
void event_writers_text(unsigned mask, char *out, size_t cap);

/* Validate one event and append its canonical bytes to `out` (nothing is
 * appended on failure). `lim` NULL = canon_event_limits. */
int event_validate(const char *json, size_t len, const canon_limits *lim, buf *out,
                   event_info *info, adt_err *err);

/* True if `type` is in the documented vocabulary or is an "x-" type. */
bool event_type_known(const char *type);

#endif
