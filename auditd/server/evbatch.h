/* evbatch.h: a submitted body (one JSON event, or NDJSON: one event per
 * line) parsed and validated into ledger items, all or nothing.
 *
 * Every event goes through event_validate (canonical JSON within
 * canon_event_limits, required type/time/actor, vocabulary). Whether the
 * sender may write each type is evbatch_writer_check's job. */
#ifndef AUDITD_EVBATCH_H
#define AUDITD_EVBATCH_H

#include "buf.h"
#include "event.h"
#include "ledger.h"
#include "status.h"

#include <stddef.h>

typedef struct evbatch_limits {
    size_t max_events; /* events per body (default 10000) */
    size_t max_body;   /* bytes per body (default 8 MiB) */
} evbatch_limits;

typedef struct evbatch {
    buf canon;       /* canonical payloads, back to back */
    size_t n;        /* events */
    size_t *off;     /* n+1 offsets into canon */
    char (*types)[EVENT_TYPE_MAX + 1];
    ledger_item *items; /* filled by evbatch_items */
} evbatch;

/* Whether writer `w` may write every event of `b` (event.h, the one table
 * of who may write what). If not, *bad is the index of the first event it
 * may not write. Checked before anything is queued. */
bool evbatch_writer_check(const evbatch *b, event_writer w, size_t *bad);

/* Parse and validate `body`. On failure nothing is kept and the message names
 * the event ("event 3 (line 3): ..."). ADT_EINVAL or ADT_ETOOBIG. */
int evbatch_parse(const char *body, size_t len, const evbatch_limits *lim, evbatch *out,
                  adt_err *err);
/* Point b->items at the parsed events with the given source, writer and signature. */
int evbatch_items(evbatch *b, const char *source, event_writer writer, const char *sig,
                  size_t sig_len);
void evbatch_free(evbatch *b);

#endif
