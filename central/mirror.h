/* mirror.h: mirroring site ledgers into the central store with C2SP
 * tlog-mirror semantics (docs/central.md, "Mirroring").
 *
 * For each site stream the mirror keeps, in PostgreSQL (cstore.h), a pending
 * checkpoint (the newest site checkpoint whose signature and consistency with
 * every earlier one it verified), the entries proven so far with their compact
 * range, and the mirror checkpoint (the newest one whose entries are all
 * stored). A pull:
 *   1. fetches the site's checkpoint, verifies its signature with the
 *      registered key, and its consistency with the pending checkpoint (a
 *      consistency proof from the site); a smaller size is a cut, the same size
 *      with another root or a proof that does not verify is a fork: an alert is
 *      raised and the stream halts, storing nothing of the site's new state;
 *   2. reads entries in packages of at most MIRROR_PACKAGE entries, folds their
 *      leaf hashes into the stored compact range and checks the resulting root
 *      against the pending checkpoint (equal at its size, else by a consistency
 *      proof); only then stores the package, in one transaction that also moves
 *      the compact range and, at the pending size, the mirror checkpoint. A
 *      package that does not prove is an alert (bad_entries); nothing is stored.
 * Every write checks that the stream's row is what this writer last read, so a
 * duplicated, stale or out-of-order pull stores nothing twice, and a failure
 * at any point resumes from what is stored. Memory per stream is bounded by a
 * package, whatever the number of entries mirrored. */
#ifndef AUDITD_MIRROR_H
#define AUDITD_MIRROR_H

#include "status.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MIRROR_PACKAGE 8192 /* entries per package (as C2SP tlog-mirror's 32 x 256) */

typedef struct mirror_stream mirror_stream;

enum {
    /* Tests only: write without taking the stream's advisory lock, to show that
     * the row checks alone keep concurrent writers from storing anything twice. */
    MIRROR_NO_LOCK = 1
};

typedef enum mirror_outcome {
    MIRROR_CURRENT = 0, /* everything up to the pending checkpoint is stored */
    MIRROR_PARTIAL,     /* stopped early (max_entries, stop, or a concurrent writer): pull again */
    MIRROR_STANDBY,     /* another session holds the stream's writer lock */
    MIRROR_HALTED       /* an alert halted the stream (now or before): an operator must act */
} mirror_outcome;

typedef struct mirror_pull {
    mirror_outcome outcome;
    uint64_t stored;       /* entries stored by this pull */
    uint64_t pending_size;
    uint64_t next_entry;
    uint64_t mirror_size;
    int64_t alert_id;      /* raised by this pull, else 0 */
    char alert_kind[16];
} mirror_pull;

/* A stream handle for site `site_id`. Connects (and takes the lock) lazily, in
 * the first pull, and again after a lost connection. */
int mirror_stream_open(const char *conninfo, int64_t site_id, int flags, mirror_stream **out,
                       adt_err *err);
void mirror_stream_close(mirror_stream *ms);
/* The site's origin once a pull has connected, else "". */
const char *mirror_stream_origin(const mirror_stream *ms);

/* One pull (above), storing at most about `max_entries` entries (whole
 * packages). Stops between packages when *stop becomes non-zero (stop may be
 * NULL). A failure to reach the site or PostgreSQL is an error (nothing half
 * stored; pull again later); an alert is not an error (outcome MIRROR_HALTED). */
int mirror_stream_pull(mirror_stream *ms, uint64_t max_entries, const atomic_int *stop,
                       mirror_pull *res, adt_err *err);

/* ---------- the mirror service ---------- */

typedef struct mirror_opts {
    const char *conninfo;
    int interval_ms;            /* pause between pulls of a stream that is current (1000) */
    int max_backoff_ms;         /* longest pause after failures, doubling from interval (60000) */
    bool once;                  /* pull each stream up to the site's checkpoint of now, then return */
    int max_active;             /* streams pulling at the same moment (default 4): bounds memory
                                 * to about max_active packages whatever the number of sites */
    const char *const *origins; /* only these sites (NULL: all, and sites added later) */
    size_t norigins;
    atomic_int *stop;           /* set non-zero to stop (e.g. from a signal handler); mirror_run
                                 * sets it itself when it fails after starting writers */
    /* With `once`: called for each site when done, in site order. rc != 0 with
     * `msg` when the site could not be mirrored. */
    void (*on_done)(void *ctx, const char *origin, int rc, const char *msg,
                    const mirror_pull *last);
    void *ctx;
} mirror_opts;

typedef struct mirror_summary {
    int sites, current, standby, halted, failed;
    uint64_t stored;
} mirror_summary;

/* Run one writer thread per site stream (each with its own PostgreSQL session
 * and advisory lock; a stream locked by another front-end is left to it and
 * retried), until *stop (or, with `once`, until every stream is done). At most
 * `max_active` of them pull at a time; a stream gives its buffers back after
 * each pull, so the process's memory depends on max_active and the package
 * size, not on the number of sites or of entries mirrored. */
int mirror_run(const mirror_opts *o, mirror_summary *sum, adt_err *err);

#endif
