/* Fuzz target: a POST /v1/events body through the batch parser and event
 * validator (evbatch_parse -> event_validate -> canon_json). Whatever the
 * input, it must either be refused with a message or yield events whose
 * canonical bytes parse again to themselves. */
#include "canon.h"
#include "evbatch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    evbatch b;
    adt_err err;
    evbatch_limits lim = {100, 1 << 20};
    int rc = evbatch_parse((const char *)data, size, &lim, &b, &err);
    if (rc) {
        if (!err.msg[0])
            abort(); /* every refusal says why */
        return 0;
    }
    if (b.n == 0 || b.n > lim.max_events)
        abort();
    if (evbatch_items(&b, "fuzz", EVENT_WRITER_EDGE, NULL, 0))
        abort();
    for (size_t i = 0; i < b.n; i++) {
        buf again;
        buf_init(&again, b.items[i].payload_len + 16);
        if (canon_json(b.items[i].payload, b.items[i].payload_len, NULL, true, &again, &err) ||
            again.len != b.items[i].payload_len ||
            memcmp(again.data, b.items[i].payload, again.len))
            abort(); /* canonical form is a fixed point */
        buf_free(&again);
    }
    evbatch_free(&b);
    return 0;
}
