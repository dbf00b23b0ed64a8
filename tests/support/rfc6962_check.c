/* Written from the text of RFC 9162 sections 2.1.1, 2.1.3.2 and 2.1.4.2 for
 * the tests only; deliberately shares no code with auditd/core/merkle.c. */
#include "rfc6962_check.h"

#include <sodium.h>
#include <string.h>

static void hash_children(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
    crypto_hash_sha256_state st;
    const uint8_t one = 1;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &one, 1);
    crypto_hash_sha256_update(&st, l, 32);
    crypto_hash_sha256_update(&st, r, 32);
    crypto_hash_sha256_final(&st, out);
}

void rc_leaf_hash(const void *data, size_t len, uint8_t out[32])
{
    crypto_hash_sha256_state st;
    const uint8_t zero = 0;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &zero, 1);
    crypto_hash_sha256_update(&st, data, len);
    crypto_hash_sha256_final(&st, out);
}

void rc_root_of(const uint8_t (*leaves)[32], uint64_t n, uint8_t out[32])
{
    if (n == 0) {
        crypto_hash_sha256(out, (const unsigned char *)"", 0);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], 32);
        return;
    }
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t l[32], r[32];
    rc_root_of(leaves, k, l);
    rc_root_of(leaves + k, n - k, r);
    hash_children(l, r, out);
}

static int lsb(uint64_t x) { return (int)(x & 1u); }

bool rc_verify_inclusion(uint64_t leaf_index, uint64_t tree_size, const uint8_t leaf_hash[32],
                         const uint8_t (*path)[32], size_t n, const uint8_t root[32])
{
    if (leaf_index >= tree_size)
        return false;
    uint64_t fn = leaf_index, sn = tree_size - 1;
    uint8_t r[32];
    memcpy(r, leaf_hash, 32);
    for (size_t i = 0; i < n; i++) {
        if (sn == 0)
            return false;
        if (lsb(fn) || fn == sn) {
            hash_children(path[i], r, r);
            while (!lsb(fn) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            hash_children(r, path[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, 32) == 0;
}

bool rc_verify_consistency(uint64_t first, uint64_t second, const uint8_t first_root[32],
                           const uint8_t second_root[32], const uint8_t (*proof)[32], size_t n)
{
    if (first > second || first == 0)
        return false;
    if (first == second)
        return n == 0 && memcmp(first_root, second_root, 32) == 0;
    if (n == 0)
        return false;
    /* Step 2: prepend first_hash when first is an exact power of two. */
    uint8_t path[130][32];
    size_t m = 0;
    if ((first & (first - 1)) == 0)
        memcpy(path[m++], first_root, 32);
    if (n + m > 130)
        return false;
    memcpy(path[m], proof, n * 32);
    m += n;
    uint64_t fn = first - 1, sn = second - 1;
    while (lsb(fn)) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[32], sr[32];
    memcpy(fr, path[0], 32);
    memcpy(sr, path[0], 32);
    for (size_t i = 1; i < m; i++) {
        if (sn == 0)
            return false;
        if (lsb(fn) || fn == sn) {
            hash_children(path[i], fr, fr);
            hash_children(path[i], sr, sr);
            while (!lsb(fn) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            hash_children(sr, path[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(fr, first_root, 32) == 0 && memcmp(sr, second_root, 32) == 0;
}
