/* cproof.h: RFC 6962 inclusion proofs from a site's mirror in PostgreSQL
 * (RFC 9162 2.1.3.1, PATH(m, D[n])), for the enterprise report's citations.
 *
 * The audit path of entry m in the tree of the first `size` entries is made
 * of subtree hashes. Perfect subtrees of level >= CSTORE_NODE_MIN_LEVEL are
 * read from `nodes` (stored by the mirror as it proves packages), lower ones
 * and right-edge ranges are computed from stored leaf hashes; a node the
 * mirror did not store (entries mirrored before schema version 2) is
 * computed from its children. All the proofs of one report for one site are
 * fetched together: two queries, whatever the number of citations. */
#ifndef AUDITD_CPROOF_H
#define AUDITD_CPROOF_H

#include "buf.h"
#include "cstore.h"
#include "merkle.h"
#include "status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cproof cproof;

/* A prover over site `site_id`'s first `size` mirrored entries (the caller
 * checks that they are all stored). `cs` is borrowed. */
int cproof_open(cstore *cs, int64_t site_id, uint64_t size, cproof **out, adt_err *err);
void cproof_free(cproof *p);

/* Prepare the proofs of entries idx[0..n) (each < size): reads what they
 * need in one pass. May be called more than once. */
int cproof_prepare(cproof *p, const uint64_t *idx, size_t n, adt_err *err);

/* The proof of entry `m` (prepared before, else read now): the audit path
 * into proof[0..*np) (room for MERKLE_MAX_PROOF), the leaf hash, and the
 * exact leaf bytes appended to `leaf` (may be NULL). */
int cproof_get(cproof *p, uint64_t m, merkle_hash *proof, size_t *np, merkle_hash leaf_hash,
               buf *leaf, adt_err *err);

/* The root of the first `size` entries. */
int cproof_root(cproof *p, merkle_hash out, adt_err *err);

#endif
