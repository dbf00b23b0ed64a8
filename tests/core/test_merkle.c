/* test_merkle.c: RFC 6962 hashing, the frontier, and proof verification
 * (auditd/core/merkle.c) against the RFC's test vector and the independent
 * checker in tests/support/rfc6962_check.c. */
#include "lt_helpers.h"
#include "merkle.h"
#include "sha256.h"

#include <check.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The 8 leaves of the RFC 6962 test vector (LEDGER-CONTRACT.md), hex. */
static const char *const vec_leaves[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f"};

/* Roots for sizes 1..8 as published with the RFC 6962 reference tests
 * (certificate-transparency merkle_tree_test); size 8 is the contract's. */
static const char *const vec_roots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

static uint8_t vec_lh[8][32];

static void vec_setup(void)
{
    for (int i = 0; i < 8; i++) {
        uint8_t raw[16];
        size_t n = strlen(vec_leaves[i]) / 2;
        if (n)
            lt_unhex(vec_leaves[i], raw, n);
        merkle_leaf_hash(raw, n, vec_lh[i]);
    }
}

/* ---- a test-local RFC 6962 PATH / PROOF generator (section 2.1.1/2.1.2) ---- */

static void gen_path(const uint8_t (*lh)[32], uint64_t m, uint64_t n, uint8_t (*out)[32],
                     size_t *k)
{
    if (n == 1)
        return;
    uint64_t s = 1;
    while (s * 2 < n)
        s *= 2;
    if (m < s) {
        gen_path(lh, m, s, out, k);
        rc_root_of(lh + s, n - s, out[(*k)++]);
    } else {
        gen_path(lh + s, m - s, n - s, out, k);
        rc_root_of(lh, s, out[(*k)++]);
    }
}

static void gen_subproof(const uint8_t (*lh)[32], uint64_t m, uint64_t n, bool b,
                         uint8_t (*out)[32], size_t *k)
{
    if (m == n) {
        if (!b)
            rc_root_of(lh, n, out[(*k)++]);
        return;
    }
    uint64_t s = 1;
    while (s * 2 < n)
        s *= 2;
    if (m <= s) {
        gen_subproof(lh, m, s, b, out, k);
        rc_root_of(lh + s, n - s, out[(*k)++]);
    } else {
        gen_subproof(lh + s, m - s, n - s, false, out, k);
        rc_root_of(lh, s, out[(*k)++]);
    }
}

START_TEST(test_vector_roots)
{
    vec_setup();
    uint8_t want[32], got[32];
    for (int n = 1; n <= 8; n++) {
        rc_root_of((const uint8_t(*)[32])vec_lh, (uint64_t)n, got);
        lt_unhex(vec_roots[n - 1], want, 32);
        ck_assert_msg(memcmp(want, got, 32) == 0, "independent root of size %d", n);
        /* The product's frontier must agree at every size. */
        merkle_frontier f;
        merkle_frontier_init(&f);
        for (int i = 0; i < n; i++)
            ck_assert_int_eq(merkle_frontier_push(&f, vec_lh[i], NULL, NULL), ADT_OK);
        ck_assert_uint_eq(f.size, (uint64_t)n);
        merkle_hash fr;
        merkle_frontier_root(&f, fr);
        ck_assert_msg(memcmp(want, fr, 32) == 0, "frontier root of size %d", n);
    }
    /* The contract's value, spelled out once more. */
    lt_unhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328", want, 32);
    rc_root_of((const uint8_t(*)[32])vec_lh, 8, got);
    ck_assert_mem_eq(want, got, 32);
}
END_TEST

/* The tree hashes with libcrypto (sha256.h); the independent checker with
 * libsodium. Both must give the same bytes: on the RFC 6962 vector (leaf,
 * node and root hashes at every size) and on inputs around every SHA-256
 * block boundary. */
START_TEST(test_libcrypto_equals_libsodium)
{
    uint8_t node_s[32];
    merkle_hash leaf_c, node_c;
    for (int i = 0; i < 8; i++) {
        uint8_t raw[16], leaf_s[32];
        size_t n = strlen(vec_leaves[i]) / 2;
        if (n)
            lt_unhex(vec_leaves[i], raw, n);
        merkle_leaf_hash(raw, n, leaf_c);
        rc_leaf_hash(raw, n, leaf_s);
        ck_assert_msg(memcmp(leaf_c, leaf_s, 32) == 0, "leaf %d", i);
    }
    vec_setup();
    for (int n = 2; n <= 8; n++) {
        merkle_hash root_c;
        merkle_frontier f;
        merkle_frontier_init(&f);
        for (int i = 0; i < n; i++)
            merkle_frontier_push(&f, vec_lh[i], NULL, NULL);
        merkle_frontier_root(&f, root_c);
        rc_root_of((const uint8_t(*)[32])vec_lh, (uint64_t)n, node_s);
        ck_assert_msg(memcmp(root_c, node_s, 32) == 0, "root of size %d", n);
    }
    merkle_node_hash(vec_lh[0], vec_lh[1], node_c);
    crypto_hash_sha256_state st;
    const uint8_t one = 1;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &one, 1);
    crypto_hash_sha256_update(&st, vec_lh[0], 32);
    crypto_hash_sha256_update(&st, vec_lh[1], 32);
    crypto_hash_sha256_final(&st, node_s);
    ck_assert_mem_eq(node_c, node_s, 32);
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + 7);
    for (size_t len = 0; len <= sizeof data; len++) {
        uint8_t a[32], b[32];
        sha256(data, len, a);
        crypto_hash_sha256(b, data, len);
        ck_assert_msg(memcmp(a, b, 32) == 0, "SHA-256 of %zu bytes", len);
    }
}
END_TEST

START_TEST(test_empty_root_and_hashes)
{
    uint8_t want[32];
    merkle_hash h;
    lt_unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, 32);
    merkle_empty_root(h);
    ck_assert_mem_eq(h, want, 32);
    merkle_frontier f;
    merkle_frontier_init(&f);
    merkle_frontier_root(&f, h);
    ck_assert_mem_eq(h, want, 32);
    /* Leaf hash of the empty leaf: SHA-256(0x00). */
    lt_unhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", want, 32);
    merkle_leaf_hash("", 0, h);
    ck_assert_mem_eq(h, want, 32);
    /* Node hash = SHA-256(0x01 || l || r), checked against the independent code. */
    uint8_t l[32], r[32], leaves[2][32], root[32];
    merkle_leaf_hash("a", 1, l);
    merkle_leaf_hash("b", 1, r);
    memcpy(leaves[0], l, 32);
    memcpy(leaves[1], r, 32);
    merkle_node_hash(l, r, h);
    rc_root_of((const uint8_t(*)[32])leaves, 2, root);
    ck_assert_mem_eq(h, root, 32);
    merkle_node_hash(r, l, h);
    ck_assert(memcmp(h, root, 32) != 0);
    rc_leaf_hash("a", 1, root);
    ck_assert_mem_eq(l, root, 32);
}
END_TEST

START_TEST(test_split)
{
    ck_assert_uint_eq(merkle_split(2), 1);
    ck_assert_uint_eq(merkle_split(3), 2);
    ck_assert_uint_eq(merkle_split(4), 2);
    ck_assert_uint_eq(merkle_split(5), 4);
    ck_assert_uint_eq(merkle_split(8), 4);
    ck_assert_uint_eq(merkle_split(9), 8);
    ck_assert_uint_eq(merkle_split(1000), 512);
    ck_assert_uint_eq(merkle_split(1ull << 40), 1ull << 39);
    ck_assert_uint_eq(merkle_split((1ull << 40) + 1), 1ull << 40);
    ck_assert_uint_eq(merkle_split(1ull << 63), 1ull << 62);
}
END_TEST

/* merkle_split's contract is n >= 2, any uint64_t: above 2^63 the doubling
 * must not wrap around (this runs with a short timeout). */
START_TEST(test_split_top)
{
    ck_assert_uint_eq(merkle_split((1ull << 63) + 1), 1ull << 63);
    ck_assert_uint_eq(merkle_split(UINT64_MAX), 1ull << 63);
}
END_TEST

/* The frontier reports every completed perfect subtree exactly once, with
 * the right (level, index) and hash. */
typedef struct node_log {
    int count;
    int level[256];
    uint64_t index[256];
    uint8_t h[256][32];
} node_log;

static int on_node(void *ctx, int level, uint64_t index, const merkle_hash h)
{
    node_log *nl = ctx;
    ck_assert_int_lt(nl->count, 256);
    nl->level[nl->count] = level;
    nl->index[nl->count] = index;
    memcpy(nl->h[nl->count], h, 32);
    nl->count++;
    return 0;
}

START_TEST(test_frontier_nodes)
{
    enum { N = 100 };
    uint8_t lh[N][32];
    for (int i = 0; i < N; i++) {
        char s[16];
        snprintf(s, sizeof s, "leaf %d", i);
        rc_leaf_hash(s, strlen(s), lh[i]);
    }
    merkle_frontier f;
    merkle_frontier_init(&f);
    node_log *nl = calloc(1, sizeof *nl);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(merkle_frontier_push(&f, lh[i], on_node, nl), ADT_OK);
        ck_assert_int_eq(f.count, __builtin_popcountll((unsigned long long)(i + 1)));
        merkle_hash got;
        uint8_t want[32];
        merkle_frontier_root(&f, got);
        rc_root_of((const uint8_t(*)[32])lh, (uint64_t)i + 1, want);
        ck_assert_msg(memcmp(got, want, 32) == 0, "root at size %d", i + 1);
    }
    /* Expected: for every level l >= 1, floor(N / 2^l) nodes. */
    int expect = 0;
    for (int l = 1; (N >> l) > 0; l++)
        expect += N >> l;
    ck_assert_int_eq(nl->count, expect);
    for (int k = 0; k < nl->count; k++) {
        uint64_t first = nl->index[k] << nl->level[k];
        uint8_t want[32];
        rc_root_of((const uint8_t(*)[32])(lh + first), 1ull << nl->level[k], want);
        ck_assert_msg(memcmp(nl->h[k], want, 32) == 0, "node level %d index %llu", nl->level[k],
                      (unsigned long long)nl->index[k]);
    }
    free(nl);
}
END_TEST

/* Known proofs of the RFC 6962 reference tests, verified by both verifiers. */
START_TEST(test_vector_proofs)
{
    vec_setup();
    uint8_t root8[32], root1[32], root6[32], root2[32], root5[32];
    lt_unhex(vec_roots[7], root8, 32);
    lt_unhex(vec_roots[0], root1, 32);
    lt_unhex(vec_roots[5], root6, 32);
    lt_unhex(vec_roots[1], root2, 32);
    lt_unhex(vec_roots[4], root5, 32);
    uint8_t p[3][32];
    lt_unhex("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", p[0], 32);
    lt_unhex("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", p[1], 32);
    lt_unhex("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4", p[2], 32);
    /* PATH(0, D[8]) and PROOF(1, D[8]) are the same three hashes. */
    ck_assert(rc_verify_inclusion(0, 8, vec_lh[0], (const uint8_t(*)[32])p, 3, root8));
    ck_assert(merkle_verify_inclusion(0, 8, vec_lh[0], (const merkle_hash *)p, 3, root8));
    ck_assert(rc_verify_consistency(1, 8, root1, root8, (const uint8_t(*)[32])p, 3));
    ck_assert(merkle_verify_consistency(1, 8, root1, root8, (const merkle_hash *)p, 3));
    uint8_t c68[3][32];
    lt_unhex("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", c68[0], 32);
    lt_unhex("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", c68[1], 32);
    lt_unhex("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7", c68[2], 32);
    ck_assert(rc_verify_consistency(6, 8, root6, root8, (const uint8_t(*)[32])c68, 3));
    ck_assert(merkle_verify_consistency(6, 8, root6, root8, (const merkle_hash *)c68, 3));
    uint8_t c25[2][32];
    lt_unhex("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", c25[0], 32);
    lt_unhex("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", c25[1], 32);
    ck_assert(rc_verify_consistency(2, 5, root2, root5, (const uint8_t(*)[32])c25, 2));
    ck_assert(merkle_verify_consistency(2, 5, root2, root5, (const merkle_hash *)c25, 2));
}
END_TEST

/* Every inclusion proof in trees of 1..40 leaves verifies, and every single
 * change to it is rejected by merkle_verify_inclusion. */
START_TEST(test_inclusion_tamper)
{
    enum { N = 40 };
    uint8_t lh[N][32];
    for (int i = 0; i < N; i++) {
        char s[16];
        snprintf(s, sizeof s, "x%d", i);
        rc_leaf_hash(s, strlen(s), lh[i]);
    }
    uint8_t proof[MERKLE_MAX_PROOF + 1][32];
    for (uint64_t n = 1; n <= N; n++) {
        uint8_t root[32];
        rc_root_of((const uint8_t(*)[32])lh, n, root);
        for (uint64_t m = 0; m < n; m++) {
            size_t k = 0;
            gen_path((const uint8_t(*)[32])lh, m, n, proof, &k);
            const merkle_hash *pp = (const merkle_hash *)proof;
            ck_assert(rc_verify_inclusion(m, n, lh[m], (const uint8_t(*)[32])proof, k, root));
            ck_assert_msg(merkle_verify_inclusion(m, n, lh[m], pp, k, root),
                          "valid proof %llu/%llu rejected", (unsigned long long)m,
                          (unsigned long long)n);
            /* Flip one bit in each proof element. */
            for (size_t j = 0; j < k; j++) {
                proof[j][j % 32] ^= 0x10;
                ck_assert(!merkle_verify_inclusion(m, n, lh[m], pp, k, root));
                proof[j][j % 32] ^= 0x10;
            }
            /* Wrong leaf, wrong root, wrong index, wrong size. */
            uint8_t bad[32];
            memcpy(bad, lh[m], 32);
            bad[0] ^= 1;
            ck_assert(!merkle_verify_inclusion(m, n, bad, pp, k, root));
            memcpy(bad, root, 32);
            bad[31] ^= 0x80;
            ck_assert(!merkle_verify_inclusion(m, n, lh[m], pp, k, bad));
            if (n > 1)
                ck_assert(!merkle_verify_inclusion((m + 1) % n, n, lh[m], pp, k, root));
            /* A larger claimed size may still fold the same path to the same root
             * (sizes are bound by the signed checkpoint, not by the proof): the
             * product must answer exactly as the independent checker does. */
            ck_assert_int_eq(merkle_verify_inclusion(m, n + 1, lh[m], pp, k, root),
                             rc_verify_inclusion(m, n + 1, lh[m], (const uint8_t(*)[32])proof, k, root));
            ck_assert(!merkle_verify_inclusion(n, n, lh[m], pp, k, root));
            /* Truncated, extended. */
            if (k > 0)
                ck_assert(!merkle_verify_inclusion(m, n, lh[m], pp, k - 1, root));
            memcpy(proof[k], lh[0], 32);
            ck_assert(!merkle_verify_inclusion(m, n, lh[m], pp, k + 1, root));
        }
    }
}
END_TEST

START_TEST(test_consistency_tamper)
{
    enum { N = 40 };
    uint8_t lh[N][32];
    for (int i = 0; i < N; i++) {
        char s[16];
        snprintf(s, sizeof s, "y%d", i);
        rc_leaf_hash(s, strlen(s), lh[i]);
    }
    uint8_t roots[N + 1][32];
    for (uint64_t n = 0; n <= N; n++)
        rc_root_of((const uint8_t(*)[32])lh, n, roots[n]);
    uint8_t proof[MERKLE_MAX_PROOF + 1][32];
    for (uint64_t n = 1; n <= N; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            size_t k = 0;
            if (m < n)
                gen_subproof((const uint8_t(*)[32])lh, m, n, true, proof, &k);
            const merkle_hash *pp = (const merkle_hash *)proof;
            ck_assert(rc_verify_consistency(m, n, roots[m], roots[n], (const uint8_t(*)[32])proof, k));
            ck_assert_msg(merkle_verify_consistency(m, n, roots[m], roots[n], pp, k),
                          "valid consistency %llu->%llu rejected", (unsigned long long)m,
                          (unsigned long long)n);
            if (m == n) {
                ck_assert(!merkle_verify_consistency(m, n, roots[m], roots[m - 1], pp, 0));
                continue;
            }
            for (size_t j = 0; j < k; j++) {
                proof[j][(j * 7) % 32] ^= 0x01;
                ck_assert_msg(!merkle_verify_consistency(m, n, roots[m], roots[n], pp, k),
                              "tampered element %zu of %llu->%llu accepted", j,
                              (unsigned long long)m, (unsigned long long)n);
                proof[j][(j * 7) % 32] ^= 0x01;
            }
            uint8_t bad[32];
            memcpy(bad, roots[m], 32);
            bad[5] ^= 4;
            ck_assert(!merkle_verify_consistency(m, n, bad, roots[n], pp, k));
            memcpy(bad, roots[n], 32);
            bad[5] ^= 4;
            ck_assert(!merkle_verify_consistency(m, n, roots[m], bad, pp, k));
            ck_assert(!merkle_verify_consistency(n, m, roots[n], roots[m], pp, k));
            ck_assert(!merkle_verify_consistency(m, n, roots[m], roots[n], pp, k - 1));
            memcpy(proof[k], lh[0], 32);
            ck_assert(!merkle_verify_consistency(m, n, roots[m], roots[n], pp, k + 1));
            ck_assert(!merkle_verify_consistency(m, n, roots[m], roots[n], pp, 0));
            if (n < N) {
                ck_assert(!merkle_verify_consistency(m, n + 1, roots[m], roots[n + 1], pp, k));
                ck_assert_int_eq(merkle_verify_consistency(m, n + 1, roots[m], roots[n], pp, k),
                                 rc_verify_consistency(m, n + 1, roots[m], roots[n],
                                                       (const uint8_t(*)[32])proof, k));
            }
        }
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("merkle");
    TCase *tc = tcase_create("vectors");
    tcase_add_test(tc, test_vector_roots);
    tcase_add_test(tc, test_libcrypto_equals_libsodium);
    tcase_add_test(tc, test_empty_root_and_hashes);
    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_frontier_nodes);
    tcase_add_test(tc, test_vector_proofs);
    tcase_add_test(tc, test_inclusion_tamper);
    tcase_add_test(tc, test_consistency_tamper);
    suite_add_tcase(s, tc);
    TCase *top = tcase_create("split_top");
    tcase_set_timeout(top, 3);
    tcase_add_test(top, test_split_top);
    suite_add_tcase(s, top);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
