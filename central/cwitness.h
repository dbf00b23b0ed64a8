/* cwitness.h: the centre as each registered site's C2SP witness
 * (c2sp.org/tlog-witness), its state in PostgreSQL (docs/central.md,
 * "Witnessing").
 *
 * The decisions are core's (witness.h); this module is their storage behind
 * witness_store_ops, and what the centre does with a refusal:
 *  - the logs it witnesses are the registered sites (origin and key from
 *    `sites`); the newest checkpoint cosigned per site is `witness_latest`,
 *    moved by a compare-and-swap UPDATE (one statement, committed before the
 *    answer), with every cosigned checkpoint also kept in `cosigned`;
 *  - the witness key is shared by every front-end: its public half is in the
 *    database (`witness`), its secret is a file on each front-end (mode 0600,
 *    loaded into sodium_malloc'd memory), checked against that public half;
 *  - a refused checkpoint that carries the site's valid signature and
 *    contradicts what the centre cosigned (same size and another root; a
 *    smaller size; a larger one whose consistency the site itself cannot
 *    prove) is checked against the site (its served checkpoint, its own
 *    consistency proof) and raised as a `fork` or `cut` alert with source
 *    `witness` in the central alerts table. A refusal that says nothing
 *    about the key holder (bad signature, unknown origin, a stale 409, an old
 *    checkpoint replayed while the site still serves a consistent one) raises
 *    nothing.
 *
 * Threads: a cwitness may be used from any number of threads (a pool of
 * PostgreSQL sessions inside). */
#ifndef AUDITD_CWITNESS_H
#define AUDITD_CWITNESS_H

#include "buf.h"
#include "cstore.h"
#include "note.h"
#include "status.h"
#include "witness.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cwitness cwitness;

/* Make the central tier a witness named `name`: a new Ed25519 key written to
 * `key_path` (mode 0600, created exclusively) and its public half recorded
 * in the database. ADT_EEXIST if the database has a witness already (then
 * nothing is written). OUT: vkey (the type-0x04 vkey the sites configure). */
int cwitness_init(cstore *cs, const char *name, const char *key_path, const char *by, char *vkey,
                  size_t cap, adt_err *err);

/* The database's witness: its vkey; ADT_ENOTFOUND before cwitness_init. */
int cwitness_vkey(cstore *cs, char *vkey, size_t cap, adt_err *err);

/* The newest checkpoint cosigned for a site: size, root and the note (checkpoint,
 * the site's signature, the centre's cosignature) into note[0..cap) (may be
 * NULL). *has = false when none. */
int cwitness_latest_of(cstore *cs, int64_t site_id, uint64_t *size, merkle_hash root, char *note,
                       size_t cap, bool *has, adt_err *err);

/* Serve as the witness: load the secret key file (it must be the key the
 * database records), with up to `sessions` PostgreSQL sessions (default 4). */
int cwitness_open(const char *conninfo, const char *key_path, int sessions, cwitness **out,
                  adt_err *err);
void cwitness_close(cwitness *w);

const note_signer *cwitness_signer(const cwitness *w);
const char *cwitness_name(const cwitness *w);
/* The storage operations (ctx = the cwitness). */
const witness_store_ops *cwitness_ops(void);
/* GET /v1/witness/<hex>/checkpoint: the newest cosigned note of the site whose
 * origin's SHA-256 (lowercase hex) is `hex`; ADT_ENOTFOUND if none. */
int cwitness_latest_by_hash(void *ctx, const char *hex, buf *note, adt_err *err);
/* After each decided add-checkpoint request: look into a refusal (above).
 * Never fails the request; problems are logged. */
void cwitness_after(void *ctx, const char *body, size_t len, const witness_answer *a);

/* Counters for /metrics and tests. */
typedef struct cwitness_stats {
    uint64_t alerts;       /* alerts raised by this front-end */
    uint64_t confirmations; /* refusals checked against the site */
} cwitness_stats;
void cwitness_get_stats(cwitness *w, cwitness_stats *out);

#endif
