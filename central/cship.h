/* cship.h: batches shipped by the sites, at the centre (docs/central.md,
 * "Shipments").
 *
 * A site records each batch it ships as a `site.shipment` ledger entry
 * (written by auditd) naming the batch's SHA-256 and size. When the mirror
 * stores a package of entries (proven against the site's checkpoint), it
 * recognises those entries (cship_ref_of_leaf) and records them as wanted, in
 * the package's transaction; then it fetches each wanted batch from the site
 * (GET /v1/shipments/{sha256}) and stores it only if it has exactly that
 * size and digest. So every stored batch is proven by the site's signed,
 * mirrored ledger, and the centre needs to trust neither the site's daemon
 * nor the network for it. */
#ifndef AUDITD_CSHIP_H
#define AUDITD_CSHIP_H

#include "cstore.h"
#include "sitelog.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CSHIP_MAX_BYTES (8u << 20) /* the largest batch the centre fetches */
#define CSHIP_TRIES_MAX 10         /* fetch attempts before a batch is left missing */

typedef struct cship_ref {
    uint64_t idx;          /* the site.shipment entry */
    char kind[16];
    char period[40];
    uint8_t sha256[32];
    uint64_t bytes;
    char time[40];         /* the event's time */
} cship_ref;

/* True if leaf[0..len) is a site.shipment entry written by auditd with a
 * well-formed payload (kind, period, sha256, bytes <= CSHIP_MAX_BYTES, time);
 * fills *out (idx is not touched). Pure; fuzzed (tests/fuzz/fuzz_cship.c). */
bool cship_ref_of_leaf(const char *leaf, size_t len, cship_ref *out);

/* A rollups batch (kind "rollups", docs/central.md): each hourly row and
 * prediction row, checked strictly (device index in range, hour on the hour
 * and inside the batch's span, counts whole and >= 0, sums finite and >= 0,
 * at most SHIP-sized arrays). Callbacks may be NULL; non-zero stops. */
typedef struct cship_row {
    int64_t hour_s;          /* start of the UTC hour, POSIX seconds */
    const char *device;
    uint64_t readings, sampled_s;
    bool has_state, has_energy, has_produced, has_good, has_inspection, has_labels;
    uint64_t running_s, idle_s, down_s;
    double energy_kwh, produced, good;
    uint64_t inspected, rejected, labelled, failures;
} cship_row;
typedef struct cship_pred {
    int64_t hour_s;
    const char *device, *model, *version;
    uint64_t predictions, positives, tp, fp, fn, tn;
} cship_pred;
int cship_parse_rollups(const char *body, size_t len,
                        int (*on_row)(void *ctx, const cship_row *r),
                        int (*on_pred)(void *ctx, const cship_pred *p), void *ctx, adt_err *err);

/* Record refs as wanted (inside the caller's transaction; duplicates ignored). */
int cship_insert(cstore *cs, int64_t site_id, const cship_ref *refs, size_t n, adt_err *err);

/* Fetch up to `max` wanted batches of the site from `sl`, checking size and
 * digest; a batch that does not match, or that the site does not have, is
 * counted as a failed try with the problem recorded. OUT: *fetched. A
 * transport failure stops (ADT_EIO) with what was done kept. */
int cship_fetch(cstore *cs, sitelog *sl, int64_t site_id, int max, int *fetched, adt_err *err);

#endif
