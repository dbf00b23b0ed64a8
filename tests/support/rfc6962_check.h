/* rfc6962_check.h: an RFC 9162 section 2.1.3.2 / 2.1.4.2 proof verifier written
 * for the tests from the RFC's text, independent of auditd/core/merkle.c, so
 * that the product's proofs are checked by something other than the product. */
#ifndef AUDITD_RFC6962_CHECK_H
#define AUDITD_RFC6962_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool rc_verify_inclusion(uint64_t leaf_index, uint64_t tree_size, const uint8_t leaf_hash[32],
                         const uint8_t (*path)[32], size_t n, const uint8_t root[32]);
bool rc_verify_consistency(uint64_t first, uint64_t second, const uint8_t first_root[32],
                           const uint8_t second_root[32], const uint8_t (*proof)[32], size_t n);
/* MTH over `n` leaf hashes by the recursive definition (slow; for tests). */
void rc_root_of(const uint8_t (*leaves)[32], uint64_t n, uint8_t out[32]);
void rc_leaf_hash(const void *data, size_t len, uint8_t out[32]);

#endif
