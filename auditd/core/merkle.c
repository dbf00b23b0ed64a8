#include "merkle.h"

#include "sha256.h"
#include "status.h"

#include <sodium.h>
#include <string.h>

void merkle_leaf_hash(const void *leaf, size_t len, merkle_hash out)
{
    static const unsigned char zero = 0x00;
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, &zero, 1);
    sha256_update(&c, leaf, len);
    sha256_final(&c, out);
}

void merkle_node_hash(const merkle_hash left, const merkle_hash right, merkle_hash out)
{
    unsigned char in[1 + 2 * MERKLE_HASH_LEN];
    in[0] = 0x01;
    memcpy(in + 1, left, MERKLE_HASH_LEN);
    memcpy(in + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
    sha256(in, sizeof in, out);
}

void merkle_empty_root(merkle_hash out) { sha256("", 0, out); }

uint64_t merkle_split(uint64_t n)
{
    uint64_t k = 1;
    while (k <= (n - 1) / 2) /* i.e. 2k < n, without overflow near 2^64 */
        k <<= 1;
    return k;
}

/* The loop RFC 9162 shares between inclusion (2.1.3.2) and consistency
 * (2.1.4.2) verification: fold the proof hashes `p` into `sr` (and, for
 * consistency, the left-side ones into `fr` as well), starting at node
 * numbers fn (the first tree's last leaf, or the leaf) and sn (the second
 * tree's last leaf). False if the proof has too many hashes or too few. */
static bool fold_proof(uint64_t fn, uint64_t sn, const merkle_hash *p, size_t np, uint8_t *fr,
                       uint8_t *sr)
{
    for (size_t i = 0; i < np; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            if (fr)
                merkle_node_hash(p[i], fr, fr);
            merkle_node_hash(p[i], sr, sr);
            if (!(fn & 1)) {
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            merkle_node_hash(sr, p[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0;
}

/* RFC 9162 2.1.3.2, steps 1-6. */
bool merkle_verify_inclusion(uint64_t index, uint64_t size, const merkle_hash leaf,
                             const merkle_hash *proof, size_t n, const merkle_hash root)
{
    if (index >= size)
        return false;
    merkle_hash r;
    memcpy(r, leaf, MERKLE_HASH_LEN);
    return fold_proof(index, size - 1, proof, n, NULL, r) &&
           sodium_memcmp(r, root, MERKLE_HASH_LEN) == 0;
}

/* RFC 9162 2.1.4.2. */
bool merkle_verify_consistency(uint64_t size1, uint64_t size2, const merkle_hash root1,
                               const merkle_hash root2, const merkle_hash *proof, size_t n)
{
    if (size1 > size2)
        return false;
    if (size1 == size2)
        return n == 0 && sodium_memcmp(root1, root2, MERKLE_HASH_LEN) == 0;
    if (size1 == 0)
        return n == 0; /* anything is consistent with the empty tree */
    if (n == 0)
        return false;
    const merkle_hash *p = proof;
    size_t np = n;
    merkle_hash first;
    bool pow2 = (size1 & (size1 - 1)) == 0;
    if (pow2) {
        memcpy(first, root1, MERKLE_HASH_LEN);
    } else {
        memcpy(first, p[0], MERKLE_HASH_LEN);
        p++;
        np--;
    }
    uint64_t fn = size1 - 1, sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    merkle_hash fr, sr;
    memcpy(fr, first, MERKLE_HASH_LEN);
    memcpy(sr, first, MERKLE_HASH_LEN);
    return fold_proof(fn, sn, p, np, fr, sr) && sodium_memcmp(fr, root1, MERKLE_HASH_LEN) == 0 &&
           sodium_memcmp(sr, root2, MERKLE_HASH_LEN) == 0;
}

void merkle_frontier_init(merkle_frontier *f)
{
    f->size = 0;
    f->count = 0;
}

int merkle_frontier_push(merkle_frontier *f, const merkle_hash leaf,
                         int (*on_node)(void *ctx, int level, uint64_t index, const merkle_hash h),
                         void *ctx)
{
    if (f->size == UINT64_MAX)
        return ADT_ETOOBIG;
    merkle_hash cur;
    memcpy(cur, leaf, MERKLE_HASH_LEN);
    uint64_t idx = f->size; /* index of the leaf; subtree index at each level */
    int level = 0;
    /* Each trailing 1 bit of the old size means a perfect subtree of that
     * level waits on the right edge to be merged with the new one. */
    while (idx & 1) {
        f->count--;
        merkle_node_hash(f->h[f->count], cur, cur);
        idx >>= 1;
        level++;
        if (on_node) {
            int rc = on_node(ctx, level, idx, cur);
            if (rc)
                return rc;
        }
    }
    memcpy(f->h[f->count++], cur, MERKLE_HASH_LEN);
    f->size++;
    return ADT_OK;
}

void merkle_frontier_root(const merkle_frontier *f, merkle_hash out)
{
    if (f->count == 0) {
        merkle_empty_root(out);
        return;
    }
    merkle_hash r;
    memcpy(r, f->h[f->count - 1], MERKLE_HASH_LEN);
    for (int i = f->count - 2; i >= 0; i--)
        merkle_node_hash(f->h[i], r, r);
    memcpy(out, r, MERKLE_HASH_LEN);
}
