/* commitq.h: group commit in front of a ledger.
 *
 * Many threads submit batches; one writer thread appends every batch waiting
 * at that moment in a single durable transaction with one signed checkpoint,
 * then wakes the submitters. A submit returns only after its entries are
 * durable. The queue is bounded (in events): when full, submit fails at once
 * with ADT_EBUSY (the HTTP layer answers 429) instead of growing memory.
 *
 * Listeners (e.g. continuous control evaluation) can be told of each commit. */
#ifndef AUDITD_COMMITQ_H
#define AUDITD_COMMITQ_H

#include "ledger.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct commitq commitq;

typedef struct commitq_opts {
    size_t max_pending_events; /* queue bound in events (default 100000) */
    size_t max_group_events;   /* at most this many events per transaction (default 20000) */
} commitq_opts;

typedef struct commitq_stats {
    uint64_t events_appended;
    uint64_t batches_committed;  /* submitted batches appended */
    uint64_t batches_deduplicated; /* identified batches found committed already (resends) */
    uint64_t groups_committed;   /* transactions */
    uint64_t rejected_busy;
    uint64_t queue_depth;        /* events waiting now */
    uint64_t tree_size;
    /* commit latency histogram (seconds): counts of groups with latency <= bound */
    uint64_t latency_le[12];
    double latency_sum;
} commitq_stats;

/* Commit latency histogram bucket upper bounds (seconds), matching latency_le. */
extern const double commitq_latency_bounds[12];

/* Called on the writer thread after each durable commit, with the new range.
 * Must be quick; it must not call commitq_submit. */
typedef void (*commitq_listener)(void *ctx, const ledger_commit *c);

/* Start the writer thread on `dir` (opens its own LEDGER_RDWR handle). */
int commitq_start(const char *dir, const commitq_opts *opts, commitq **out, adt_err *err);
void commitq_set_listener(commitq *q, commitq_listener fn, void *ctx);

/* Append `items[0..n)` (all or nothing) and wait until durable. The items'
 * strings must stay valid until this returns. Errors: ADT_EBUSY (queue full),
 * ADT_ESHUTDOWN (stopping), ADT_EINVAL (an item is invalid; nothing appended). */
int commitq_submit(commitq *q, const ledger_item *items, size_t n, ledger_commit *out,
                   adt_err *err);

/* The same for a batch with an identity (ledger.h, ledger_batch_id; NULL =
 * none). If that identity was committed before, nothing is appended, and
 * `out`, *rec and *duplicate (each may be NULL) describe the original
 * commit: its range, its seq and the checkpoint signed when it was
 * appended. The check and the
 * append are one ledger transaction, so a batch resent while the first copy
 * is still queued is appended once. */
int commitq_submit_batch(commitq *q, const ledger_item *items, size_t n, const ledger_batch_id *id,
                         ledger_commit *out, ledger_batch_rec *rec, bool *duplicate, adt_err *err);

void commitq_get_stats(commitq *q, commitq_stats *st);

/* Stop accepting, commit everything queued, stop the thread, free. The last
 * commit's checkpoint covers every acknowledged entry. */
void commitq_stop(commitq *q);

#endif
