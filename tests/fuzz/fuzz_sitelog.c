/* fuzz_sitelog.c: the central tier's parsers of a site's answers
 * (sitelog_parse_entries, sitelog_parse_proof) on arbitrary bytes. Properties:
 * an accepted page holds exactly `count` non-empty leaves inside the range
 * asked for, each within the decoded data; writing the page back as JSON and
 * parsing it again gives the same leaves. */
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
    if (sitelog_parse_entries(in, size, start, end, &p, &err) == ADT_OK) {
        if (p.count == 0 || p.count > end - start || p.start != start)
            abort();
        size_t cap = p.data.len * 2 + p.count * 8 + 128;
        char *j = malloc(cap);
        size_t o = (size_t)snprintf(j, cap, "{\"start\":%llu,\"count\":%llu,\"leaves\":[",
                                    (unsigned long long)p.start, (unsigned long long)p.count);
        for (uint64_t i = 0; i < p.count; i++) {
            if (p.len[i] == 0 || p.off[i] + p.len[i] > p.data.len)
                abort();
            if (i)
                j[o++] = ',';
            j[o++] = '"';
            sodium_bin2base64(j + o, cap - o, (const unsigned char *)p.data.data + p.off[i],
                              p.len[i], sodium_base64_VARIANT_ORIGINAL);
            o += strlen(j + o);
            j[o++] = '"';
        }
        o += (size_t)snprintf(j + o, cap - o, "]}");
        if (sitelog_parse_entries(j, o, start, end, &q, &err) != ADT_OK || q.count != p.count ||
            q.data.len != p.data.len || memcmp(q.data.data, p.data.data, p.data.len))
            abort();
        free(j);
    }
    sitelog_page_free(&p);
    sitelog_page_free(&q);
    return 0;
}
