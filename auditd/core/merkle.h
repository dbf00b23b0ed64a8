/* merkle.h: RFC 6962 (RFC 9162 section 2.1) Merkle tree hashing and proof checking.
 *
 * Pure functions, no storage. The ledger stores nodes; this module defines the
 * hashes and verifies proofs, so anyone holding a proof can check it with this
 * code alone. Hashes are SHA-256, 32 bytes. */
#ifndef AUDITD_MERKLE_H
#define AUDITD_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN 32
#define MERKLE_MAX_PROOF 128 /* proof lengths are at most 2*64 hashes */

typedef uint8_t merkle_hash[MERKLE_HASH_LEN];

/* SHA-256(0x00 || leaf) */
void merkle_leaf_hash(const void *leaf, size_t len, merkle_hash out);
/* SHA-256(0x01 || left || right) */
void merkle_node_hash(const merkle_hash left, const merkle_hash right, merkle_hash out);
/* SHA-256("") : the root of the empty tree */
void merkle_empty_root(merkle_hash out);

/* The largest power of two strictly below n (n >= 2). */
uint64_t merkle_split(uint64_t n);

/* Verify an inclusion proof (RFC 9162 2.1.3.2) of leaf hash `leaf` at `index`
 * in a tree of `size` leaves with root `root`. */
bool merkle_verify_inclusion(uint64_t index, uint64_t size, const merkle_hash leaf,
                             const merkle_hash *proof, size_t n, const merkle_hash root);

/* Verify a consistency proof (RFC 9162 2.1.4.2) between (size1, root1) and
 * (size2, root2). */
bool merkle_verify_consistency(uint64_t size1, uint64_t size2, const merkle_hash root1,
                               const merkle_hash root2, const merkle_hash *proof, size_t n);

/* A compact range: the perfect subtrees covering leaves [0, size), largest
 * first (one per set bit of size). Holds at most 64 hashes: this is the only
 * tree state the ledger keeps in memory. */
typedef struct merkle_frontier {
    uint64_t size;
    int count;
    merkle_hash h[64];
} merkle_frontier;

void merkle_frontier_init(merkle_frontier *f);
/* Add the next leaf hash. For every perfect subtree completed by this leaf,
 * calls `on_node(ctx, level, index, hash)` (level >= 1; index counts subtrees
 * of that level from 0), so a store can persist it. `on_node` may be NULL. */
int merkle_frontier_push(merkle_frontier *f, const merkle_hash leaf,
                         int (*on_node)(void *ctx, int level, uint64_t index, const merkle_hash h),
                         void *ctx);
/* Root of the tree of `f->size` leaves. */
void merkle_frontier_root(const merkle_frontier *f, merkle_hash out);

#endif
