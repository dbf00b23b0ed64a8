/* ledger.h: the append-only, hash-chained, Merkle-tree ledger.
 *
 * Public formats (leaf bytes, tree, checkpoints, proofs) follow
 * shared/docs/LEDGER-CONTRACT.md exactly; see docs/ledger.md for the storage.
 *
 * A data directory holds `ledger.db` (SQLite, WAL) and `ledger.key` (the
 * Ed25519 secret key, mode 0600). Every entry is the canonical JSON leaf
 *   {"payload":{...},"prev":"<hex leaf hash of seq-1>","recorded_at":"...Z",
 *    "seq":N,"sig":{...}?,"source":"...","type":"...","writer":"..."}
 * built once at append time and never re-serialised.
 *
 * Threads: a `ledger` handle is used by one thread at a time. Open one handle
 * per thread; handles in several threads or processes on one directory are
 * safe (SQLite locking; an appender that finds the ledger grown by another
 * writer reloads its state before appending).
 *
 * Memory: a handle keeps O(1) state (the 64-hash frontier), whatever the size. */
#ifndef AUDITD_LEDGER_H
#define AUDITD_LEDGER_H

#include "buf.h"
#include "event.h"
#include "merkle.h"
#include "note.h"
#include "status.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ledger ledger;

#define LEDGER_DB_FILE "ledger.db"
#define LEDGER_KEY_FILE "ledger.key"
#define LEDGER_MAX_LEAF (1u << 20) /* 1 MiB: an entry never exceeds this */

/* One entry to append. All strings are borrowed for the call. */
typedef struct ledger_item {
    const char *source;  /* agent or component that submitted it (UTF-8, 1..128 bytes) */
    const char *type;    /* event type, e.g. "firmware.deploy" (1..128 bytes) */
    const char *payload; /* the submitted event: a JSON object, canonicalised by the ledger
                          * (stored as it is when canon_is_canonical accepts it) */
    size_t payload_len;
    const char *sig;     /* canonical JSON object: the submitter's signature, or NULL */
    size_t sig_len;
    /* The payload is exactly what canon_json (or event_validate) produced, so
     * the ledger stores it as it is instead of canonicalising it a second
     * time. Set it only for bytes straight out of canon_json. */
    bool payload_canonical;
    /* Who vouches for the entry (event.h). Required: the ledger refuses an
     * item without one, and a type the writer may not write (ADT_EFORBIDDEN),
     * so no path can store evidence under the wrong writer. */
    event_writer writer;
} ledger_item;

/* What a committed append returns: the entries got indices
 * [first, first+count); `checkpoint` is the note signed for `tree_size`
 * (>= first+count) in the same transaction, so the entries are provable. */
typedef struct ledger_commit {
    uint64_t first;
    uint64_t count;
    uint64_t tree_size;
    merkle_hash root;
    char checkpoint[NOTE_MAX];
} ledger_commit;

enum { LEDGER_RDONLY = 0, LEDGER_RDWR = 1 };

/* Create a new ledger in `dir` (created if missing, mode 0700) with checkpoint
 * origin `origin` (printable ASCII, no spaces or '+'; e.g. "auditd.example/plant-1").
 * Fails with ADT_EEXIST if a ledger is there already. */
int ledger_init(const char *dir, const char *origin, adt_err *err);

/* The same with a given Ed25519 seed: for reproducible fixtures and golden
 * tests only (a production key must come from ledger_init's generator). */
int ledger_init_seeded(const char *dir, const char *origin, const uint8_t seed[32], adt_err *err);

/* Replace the clock that stamps recorded_at (microseconds since the epoch),
 * for golden tests; NULL restores the real clock. */
void ledger_set_clock(ledger *lg, int64_t (*now_us)(void *ctx), void *ctx);

/* Open an existing ledger. LEDGER_RDWR loads the signing key. */
int ledger_open(const char *dir, int mode, ledger **out, adt_err *err);
void ledger_close(ledger *lg);

const char *ledger_origin(const ledger *lg);
/* The verifier key line (no newline). */
const char *ledger_key_line(const ledger *lg);
const uint8_t *ledger_pubkey(const ledger *lg);
/* The lowest tree level whose perfect subtrees are rows of `nodes`: 4, or 1
 * in a ledger of the first format (docs/ledger.md, "Tables"). */
int ledger_node_min_level(const ledger *lg);

/* Append `n` items (n >= 1) in one durable transaction (WAL, synchronous=FULL)
 * and sign a checkpoint for the new size in the same transaction. All or
 * nothing: on failure nothing is appended. */
int ledger_append(ledger *lg, const ledger_item *items, size_t n, ledger_commit *out,
                  adt_err *err);

/* The identity of a submitted batch: the agent that sent it and the SHA-256
 * of the exact request body (docs/ledger.md, "Batches"). Identical bytes
 * from the same agent are the same batch, whatever request (seq) carried
 * them, so a resend is never appended twice. */
typedef struct ledger_batch_id {
    const char *agent;       /* the batch's source */
    uint8_t body_sha256[32];
    uint64_t seq;            /* the request seq that carried it (recorded with it) */
} ledger_batch_id;

/* A batch as recorded in the batches table. */
typedef struct ledger_batch_rec {
    uint64_t seq;            /* the seq it was committed under */
    uint64_t first, count;   /* its entries [first, first+count) */
    uint64_t tree_size;      /* the checkpoint signed in the transaction that appended it */
    uint8_t body_sha256[32];
} ledger_batch_rec;

/* One batch of a group append. */
typedef struct ledger_batch {
    const ledger_item *items;
    size_t n;
    const ledger_batch_id *id; /* NULL: not identified (never deduplicated) */
    /* OUT */
    bool duplicate;          /* `id` was committed before: nothing was appended for it */
    ledger_batch_rec rec;    /* where its entries are: the original ones when duplicate */
} ledger_batch;

/* Append batches[0..nb) in one durable transaction, like ledger_append. A
 * batch whose id is already recorded (or appears earlier in the call) is
 * not appended again: it is marked duplicate and `rec` describes the
 * original. The others are appended in order and their ids recorded in the
 * same transaction. `out` describes what this call appended (count may be
 * 0: then no new checkpoint is signed). All or nothing on error. */
int ledger_append_batches(ledger *lg, ledger_batch *batches, size_t nb, ledger_commit *out,
                          adt_err *err);

/* The recorded batch of `agent` with this body hash, or with this seq.
 * ADT_ENOTFOUND if none (also for a ledger of an older version, which has
 * no batches table until a writer opens it). */
int ledger_batch_find(ledger *lg, const char *agent, const uint8_t body_sha256[32],
                      ledger_batch_rec *rec, adt_err *err);
int ledger_batch_by_seq(ledger *lg, const char *agent, uint64_t seq, ledger_batch_rec *rec,
                        adt_err *err);

/* The number of committed entries (reads the database: sees other writers). */
int ledger_size(ledger *lg, uint64_t *size, adt_err *err);

/* The latest signed checkpoint note (with its final newline) into `out`. */
int ledger_checkpoint(ledger *lg, char *out, size_t cap, uint64_t *size, adt_err *err);
/* The stored checkpoint signed at exactly `size`, if there is one. */
int ledger_checkpoint_at(ledger *lg, uint64_t size, char *out, size_t cap, adt_err *err);

/* The exact leaf bytes of entry `index`, replacing the contents of `leaf`. */
int ledger_entry(ledger *lg, uint64_t index, buf *leaf, adt_err *err);
int ledger_leaf_hash(ledger *lg, uint64_t index, merkle_hash out, adt_err *err);

/* Root of the tree of the first `size` entries (size <= ledger size). */
int ledger_root(ledger *lg, uint64_t size, merkle_hash out, adt_err *err);

/* RFC 6962 PATH(index, D[size]) into `hashes` (room for MERKLE_MAX_PROOF);
 * `*n` gets the count. Requires index < size <= ledger size. */
int ledger_prove_inclusion(ledger *lg, uint64_t index, uint64_t size, merkle_hash *hashes,
                           size_t *n, adt_err *err);
/* RFC 6962 PROOF(first, D[second]). Requires 0 < first <= second <= ledger size
 * (first == second gives an empty proof). */
int ledger_prove_consistency(ledger *lg, uint64_t first, uint64_t second, merkle_hash *hashes,
                             size_t *n, adt_err *err);

/* Call `fn` for every entry with from <= index < to, in order (to = UINT64_MAX
 * for all). `fn` returns 0 to go on, non-zero to stop (that value is returned). */
typedef int (*ledger_scan_fn)(void *ctx, uint64_t index, const char *leaf, size_t len);
int ledger_scan(ledger *lg, uint64_t from, uint64_t to, ledger_scan_fn fn, void *ctx,
                adt_err *err);

/* Full verification of a data directory, independent of any open handle:
 * every leaf hash, seq and prev link, every stored tree node, every stored
 * checkpoint's signature and root, the immutability triggers. */
typedef struct ledger_verify_result {
    uint64_t entries;       /* entries checked */
    uint64_t checkpoints;   /* checkpoints checked */
    bool ok;
    uint64_t bad_index;     /* first bad entry index, when !ok and one applies */
    bool has_bad_index;
    char problem[ADT_ERR_MAX];
    merkle_hash root;       /* recomputed root of all entries */
} ledger_verify_result;
int ledger_verify(const char *dir, ledger_verify_result *res, adt_err *err);
/* Record a problem a verification found in `res`: ok = false, the message
 * (fmt and ap), and the entry it concerns when `has_index`. Returns
 * ADT_ECORRUPT. ledger_verify's own, shared with the central tier's
 * verification of a mirrored log (central/cstore.c). */
int ledger_verify_vfail(ledger_verify_result *res, bool has_index, uint64_t index, const char *fmt,
                        va_list ap) __attribute__((format(printf, 4, 0)));

/* leaf_chain (leaf.h) as verify runs it over every entry: the same answer
 * for every input, faster (SSE2 on x86). Exposed for fuzz_leaf, which
 * compares the two. */
bool ledger_leaf_chain(const char *leaf, size_t len, const char **prev, size_t *prev_len,
                       uint64_t *seq);

/* Helpers for leaves. Append the RFC 3339 UTC time now, with microseconds. */
int ledger_now_rfc3339(char *out, size_t cap);

#endif
