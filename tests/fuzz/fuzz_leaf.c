/* fuzz_leaf.c: leaf_parse on arbitrary bytes (leaves come from a file that
 * can be altered). Whatever parses must have its payload (and signature)
 * inside the input, as JSON objects, and NUL-terminated short fields.
 * ledger_leaf_chain (verify's) must find what leaf_chain finds, exactly. */
#include "leaf.h"
#include "ledger.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    leaf_view v;
    adt_err err;
    const char *prev;
    size_t pl;
    uint64_t seq;
    bool found = leaf_chain(s, size, &prev, &pl, &seq);
    if (found && (prev < s || prev + pl > s + size))
        abort();
    const char *prev2 = NULL;
    size_t pl2 = 0;
    uint64_t seq2 = 0;
    if (ledger_leaf_chain(s, size, &prev2, &pl2, &seq2) != found ||
        (found && (prev2 != prev || pl2 != pl || seq2 != seq)))
        abort();
    if (leaf_parse(s, size, 0, &v, &err) != ADT_OK)
        return 0;
    if (v.payload < s || v.payload + v.payload_len > s + size || v.payload_len < 2 ||
        v.payload[0] != '{' || v.payload[v.payload_len - 1] != '}')
        abort();
    if (v.has_sig && (v.sig < s || v.sig + v.sig_len > s + size || v.sig[0] != '{'))
        abort();
    if (strlen(v.type) > EVENT_TYPE_MAX || strlen(v.source) > LEAF_SOURCE_MAX ||
        strlen(v.actor) > EVENT_ACTOR_MAX)
        abort();
    char x[64];
    leaf_payload_str(&v, "actor", x, sizeof x);
    return 0;
}
