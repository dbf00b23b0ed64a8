/* witness.h: the witness side of C2SP tlog-witness (c2sp.org/tlog-witness,
 * "add-checkpoint"), independent of where the witness keeps its state.
 *
 * A witness is configured with logs (an origin and the Ed25519 key(s) it
 * trusts for it) and remembers, per origin, the latest checkpoint it
 * cosigned (size and root). For each add-checkpoint request it decides, in
 * the order the spec gives:
 *   400  the body is not "old N\n", up to 63 base64 hash lines, an empty line
 *        and a well-formed checkpoint; or the old size is above the checkpoint's
 *   404  the origin is not a registered log
 *   403  no signature by a trusted key for the origin, or one that fails
 *   409  the old size is not the size of the latest checkpoint it cosigned for
 *        the origin (0 if none): the answer carries that size
 *   422  a size-0 checkpoint whose root is not SHA-256(""); a proof sent with
 *        old size 0; a consistency proof (RFC 6962 2.1.2) from the stored
 *        (size, root) that does not verify; same size with another root
 *   200  otherwise: it cosigns (cosig.h) and stores the new latest checkpoint
 *        atomically with the check (compare-and-swap), then answers the
 *        cosignature line.
 *
 * Storage is behind witness_store_ops so that the same logic runs over
 * SQLite (witness_sqlite.h) or another database. */
#ifndef AUDITD_WITNESS_H
#define AUDITD_WITNESS_H

#include "cosig.h"
#include "merkle.h"
#include "note.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WITNESS_KEY_FILE "witness.key"
#define WITNESS_PROOF_MAX 63        /* tlog-witness: at most 63 consistency proof lines */
#define WITNESS_BODY_MAX (NOTE_TEXT_MAX + 4096)
#define WITNESS_LOG_KEYS_MAX 8      /* trusted keys per origin */

/* A log key the witness trusts for an origin (signature type 0x01). */
typedef struct witness_log_key {
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
} witness_log_key;

/* The witness's state. Every function returns ADT_OK or an error (with `err`
 * set) that makes the request fail with 500; `ctx` is the store's handle.
 * Implementations must be safe to call from several threads at once. */
typedef struct witness_store_ops {
    /* The keys registered for `origin` into keys[0..cap), count in *n;
     * ADT_ENOTFOUND if the origin is not registered. */
    int (*log_keys)(void *ctx, const char *origin, witness_log_key *keys, size_t cap, size_t *n,
                    adt_err *err);
    /* The latest cosigned (size, root) for `origin`; *has = false (and *size
     * = 0) when the witness never cosigned a checkpoint for it. */
    int (*latest)(void *ctx, const char *origin, uint64_t *size, merkle_hash root, bool *has,
                  adt_err *err);
    /* Compare and swap, atomically: if the stored latest for `origin` is still
     * (old_size, old_root), or absent when !old_has, make it (size, root, note)
     * durable and return ADT_OK; otherwise change nothing and return
     * ADT_ECONFLICT with the stored size in *current. `note` is the checkpoint
     * text, the log signature lines verified and the witness's cosignature. */
    int (*swap)(void *ctx, const char *origin, uint64_t old_size, bool old_has,
                const merkle_hash old_root, uint64_t size, const merkle_hash root, const char *note,
                size_t note_len, uint64_t *current, adt_err *err);
} witness_store_ops;

/* A parsed add-checkpoint request body; `note` points into the body. */
typedef struct witness_request {
    uint64_t old_size;
    size_t nproof;
    merkle_hash proof[WITNESS_PROOF_MAX];
    const char *note;
    size_t note_len;
} witness_request;

/* Parse the body (tlog-witness: old size line, proof lines, empty line,
 * checkpoint). ADT_EINVAL (or ADT_ETOOBIG) with the reason when it is not one. */
int witness_parse_request(const char *body, size_t len, witness_request *out, adt_err *err);

/* What to answer. */
typedef struct witness_answer {
    int status;                  /* 200, 400, 403, 404, 409 or 422 */
    uint64_t size;               /* 409: the witness's latest size; 200: the cosigned size */
    char origin[NOTE_ORIGIN_MAX + 1]; /* when the checkpoint parsed */
    char cosig[COSIG_LINE_MAX];  /* 200: the cosignature line, newline included */
    char message[ADT_ERR_MAX];   /* otherwise: what was wrong */
} witness_answer;

typedef struct witness witness;

/* A witness signing with `signer` (borrowed; its name is the witness name)
 * over the store `ops`/`ctx` (borrowed). */
int witness_new(const note_signer *signer, const witness_store_ops *ops, void *ctx, witness **out,
                adt_err *err);
void witness_free(witness *w);
/* The witness's cosigner key (name, id, vkey). */
const cosig_key *witness_key(const witness *w);

/* Decide on one request body at time `now` (POSIX seconds, > 0, the
 * cosignature's timestamp). ADT_OK: `ans` holds the answer to send. Any
 * other status: the store failed; answer 500 (err says why). */
int witness_add_checkpoint(witness *w, const char *body, size_t len, uint64_t now,
                           witness_answer *ans, adt_err *err);

#endif
