/* evsink.h: the one way auditd records evidence in the ledger.
 *
 * A sink says where entries go: through the daemon's commit queue when the
 * daemon runs (group commit, and every commit reaches the commit listeners:
 * continuous control evaluation, the event index), else to an open ledger
 * handle (the command line, tools), else to the ledger of a data directory
 * opened for the one append. A sink with none of the three (tests of storage
 * alone) records nothing and says so: *first = EVSINK_NONE.
 *
 * An event auditd writes itself is typed: its type, the writer that vouches
 * for it (event.h), its actor and time, and payload members added one by one:
 *     evsink_event e;
 *     evsink_begin(&e, EVSINK_PIPELINE, "dataset.define", EVENT_WRITER_AUDITD, actor);
 *     evsink_str(&e, "dataset", id);
 *     evsink_uint(&e, "batches", n);
 *     int rc = evsink_record(&sink, &e, 1, &index, err);
 *     evsink_free(&e);
 * Members go in any order (the payload is canonicalised, canon.h); a
 * failure while building (a member too large, out of memory) is kept in the
 * event and reported by evsink_record, so building needs no error checks.
 * The payload always holds "type", "actor" and "time" (RFC 3339, UTC,
 * microseconds), as docs/events.md requires of every event.
 *
 * Threads: a sink is a value; what it points to sets the rules (a commit
 * queue is for any thread, a ledger handle for one at a time). */
#ifndef AUDITD_EVSINK_H
#define AUDITD_EVSINK_H

#include "buf.h"
#include "commitq.h"
#include "event.h"
#include "ledger.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVSINK_NONE UINT64_MAX

/* The sources auditd's own components record under (a leaf's `source`). */
#define EVSINK_AUDITD "auditd"
#define EVSINK_PIPELINE "auditd:pipeline"
#define EVSINK_MODELS "auditd:models"
#define EVSINK_CONTROLS "auditd:controls"

typedef struct evsink {
    commitq *cq;          /* used when set */
    ledger *lg;           /* else this read-write handle */
    const char *data_dir; /* else the ledger of this directory, opened per append */
} evsink;

#define EVSINK_DEPTH_MAX 4

typedef struct evsink_event {
    const char *source;                  /* borrowed */
    char type[EVENT_TYPE_MAX + 1];
    event_writer writer;
    int64_t time_us;                     /* "time" of the payload; now by default */
    buf body;                            /* the payload so far, without its closing brace */
    bool more[EVSINK_DEPTH_MAX + 1];     /* per nesting level: a member was written */
    char closer[EVSINK_DEPTH_MAX + 1];   /* per nesting level: '}' or ']' */
    int depth;                           /* 0 = the payload object */
    int rc;                              /* the first failure while building, sticky */
} evsink_event;

/* Start an event: `source` (one of EVSINK_*, borrowed until recorded),
 * `type` (event.h vocabulary), the writer, and the actor (docs/events.md).
 * The time is now unless evsink_at sets it. */
void evsink_begin(evsink_event *e, const char *source, const char *type, event_writer writer,
                  const char *actor);
/* The event's "time" (microseconds since the epoch); 0 keeps now. */
void evsink_at(evsink_event *e, int64_t time_us);
void evsink_free(evsink_event *e);

/* Payload members. `key` NULL adds an element to the array being built. */
void evsink_str(evsink_event *e, const char *key, const char *val);   /* NULL val: null */
void evsink_strn(evsink_event *e, const char *key, const char *val, size_t len);
void evsink_int(evsink_event *e, const char *key, int64_t val);
void evsink_uint(evsink_event *e, const char *key, uint64_t val);
void evsink_num(evsink_event *e, const char *key, double val);        /* non-finite: null */
void evsink_bool(evsink_event *e, const char *key, bool val);
void evsink_null(evsink_event *e, const char *key);
void evsink_time(evsink_event *e, const char *key, int64_t time_us); /* RFC 3339 string */
void evsink_index(evsink_event *e, const char *key, uint64_t index); /* EVSINK_NONE: null */
/* A JSON value given as text (checked when the payload is canonicalised). */
void evsink_json(evsink_event *e, const char *key, const char *json, size_t len);
/* Nested objects and arrays, at most EVSINK_DEPTH_MAX deep. */
void evsink_object(evsink_event *e, const char *key);
void evsink_array(evsink_event *e, const char *key);
void evsink_end(evsink_event *e);

/* Record evs[0..n) (n >= 1) in one durable append, all or nothing, and
 * check each against the vocabulary and its writers (the ledger refuses a
 * type from a writer not allowed: ADT_EFORBIDDEN). OUT: *first = index of
 * the first (EVSINK_NONE without a ledger; `first` may be NULL). */
int evsink_record(const evsink *s, evsink_event *evs, size_t n, uint64_t *first, adt_err *err);

/* Append ledger items built elsewhere (events submitted by agents or at the
 * command line, already validated) through the same routing. OUT: *first
 * and *commit (may be NULL): the index of the first and the checkpoint. */
int evsink_append(const evsink *s, const ledger_item *items, size_t n, uint64_t *first,
                  ledger_commit *commit, adt_err *err);

#endif
