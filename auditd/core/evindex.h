/* evindex.h: a query index of ledger entries in <data-dir>/events_index.db.
 *
 * One row per entry: index, type, source, actor, event time, and (for
 * agent-signed entries) the request seq. Filled incrementally from the
 * ledger (ledger_scan from the last indexed entry) before each query, so the
 * ledger is the only source of truth and is never rescanned whole: losing
 * the index file only costs one catch-up. Used by the daemon's event search
 * (GET /v1/events), its batch receipts and the console; reports keep their
 * own fold of the ledger instead (reports/rkeep.h).
 *
 * Threads: internally locked; callers pass a ledger handle of their own. */
#ifndef AUDITD_EVINDEX_H
#define AUDITD_EVINDEX_H

#include "buf.h"
#include "ledger.h"
#include "status.h"

#include <stdint.h>

#define EVINDEX_DB_FILE "events_index.db"

typedef struct evindex evindex;

int evindex_open(const char *data_dir, evindex **out, adt_err *err);
void evindex_close(evindex *ix);

/* Index every entry not indexed yet. */
int evindex_catch_up(evindex *ix, ledger *lg, adt_err *err);

typedef struct evindex_query {
    const char *type, *source, *actor; /* NULL = any */
    int64_t from_us, to_us;            /* event time in [from, to); INT64_MIN/MAX = open */
    uint64_t after;                    /* cursor: indices > after ... */
    int has_after;
    unsigned limit;                    /* 1..1000 */
} evindex_query;

/* Matching indices in order into idx[0..*n) (room for q->limit), and whether
 * more follow. */
int evindex_query_run(evindex *ix, const evindex_query *q, uint64_t *idx, unsigned *n, int *more,
                      adt_err *err);

/* Entries appended for (agent, seq): first index and count. ADT_ENOTFOUND if none. */
int evindex_batch(evindex *ix, const char *agent, uint64_t seq, uint64_t *first, uint64_t *count,
                  adt_err *err);

/* The newest entry of `type` from `source`: its index and event time.
 * ADT_ENOTFOUND if none. */
int evindex_last(evindex *ix, const char *type, const char *source, uint64_t *idx,
                 int64_t *time_us, adt_err *err);

#endif
