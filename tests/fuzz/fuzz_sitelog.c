/* fuzz_sitelog.c: the central tier's parsers of a site's answers
 * (sitelog_parse_entries, sitelog_parse_proof) on arbitrary bytes. Properties:
 * an accepted page holds 1..(range asked for) non-empty leaves, each inside the
 * page; framing the leaves again gives back exactly the bytes parsed. */
#include "sitelog.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (sodium_init() < 0)
        abort();
    const char *in = (const char *)data;
    adt_err err;
    merkle_hash proof[MERKLE_MAX_PROOF];
    size_t n = 0;
    if (sitelog_parse_proof(in, size, proof, &n, &err) == ADT_OK && n > MERKLE_MAX_PROOF)
        abort();

    sitelog_page p, q;
    sitelog_page_init(&p);
    sitelog_page_init(&q);
    const uint64_t start = 5, end = 5 + 64;
    if (buf_append(&p.data, data, size) == ADT_OK &&
        sitelog_parse_entries(&p, start, end, &err) == ADT_OK) {
        if (p.count == 0 || p.count > end - start || p.start != start)
            abort();
        /* Written back with the same framing, the page is the same bytes. */
        for (uint64_t i = 0; i < p.count; i++) {
            if (p.len[i] == 0 || p.off[i] < 4 || p.off[i] + p.len[i] > p.data.len)
                abort();
            size_t l = p.len[i];
            uint8_t be[4] = {(uint8_t)(l >> 24), (uint8_t)(l >> 16), (uint8_t)(l >> 8), (uint8_t)l};
            if (buf_append(&q.data, be, 4) || buf_append(&q.data, p.data.data + p.off[i], l))
                abort();
        }
        if (q.data.len != p.data.len || memcmp(q.data.data, p.data.data, p.data.len))
            abort();
        if (sitelog_parse_entries(&q, start, end, &err) != ADT_OK || q.count != p.count)
            abort();
    }
    sitelog_page_free(&p);
    sitelog_page_free(&q);
    return 0;
}
