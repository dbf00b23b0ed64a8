/* psink.h: where pipeline components send their ledger events.
 *
 * The daemon appends through its commit queue (commitq_submit, group commit);
 * the command line appends to a ledger handle directly (ledger_append). A sink
 * with neither (tests, benchmarks of storage alone) drops nothing silently:
 * psink_append then reports ADT_OK with *first = PSINK_NONE. */
#ifndef AUDITD_PSINK_H
#define AUDITD_PSINK_H

#include "commitq.h"
#include "ledger.h"
#include "status.h"

#include <stdint.h>

#define PSINK_NONE UINT64_MAX
#define PSINK_SOURCE "auditd:pipeline"

typedef struct psink {
    commitq *cq; /* used if set */
    ledger *lg;  /* else this, if set */
} psink;

/* Append `n` events (canonical JSON payloads; source PSINK_SOURCE) durably,
 * all or nothing. OUT: *first = index of the first one (PSINK_NONE without a
 * ledger), *tree_size = the size of the checkpoint signed with them. */
int psink_append(const psink *s, const ledger_item *items, size_t n, uint64_t *first,
                 adt_err *err);

/* Build the canonical payload of an event: `type`, `time` = now and `actor`
 * are added to the members in `body` (a JSON object text such as
 * {"profile":"x"}). OUT: `out` (replaced). */
int psink_event(const char *type, const char *actor, const char *body, buf *out, adt_err *err);

#endif
