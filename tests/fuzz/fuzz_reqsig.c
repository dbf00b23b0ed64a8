/* Fuzz target: the agent request-signature header parser (agentsig_parse)
 * and, on the same bytes, the daemon's config-file parser (srvcfg_parse).
 * A header that parses must format back to a header that parses to the same
 * fields. */
#include "agentsig.h"
#include "srvcfg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    agentsig_hdr h, h2;
    adt_err err;
    if (agentsig_parse((const char *)data, size, &h, &err) == ADT_OK) {
        char out[AGENTSIG_HDR_MAX + 1];
        if (agentsig_format(&h, out, sizeof out) ||
            agentsig_parse(out, strlen(out), &h2, &err) != ADT_OK || strcmp(h.name, h2.name) ||
            h.ts != h2.ts || h.seq != h2.seq || memcmp(h.sig, h2.sig, 64))
            abort();
    } else if (!err.msg[0]) {
        abort();
    }
    srvcfg c;
    srvcfg_defaults(&c);
    if (srvcfg_parse(&c, (const char *)data, size, "fuzz.conf", &err) == ADT_OK) {
        char text[SRVCFG_RENDER_MAX];
        if (srvcfg_render(&c, text, sizeof text))
            abort();
        (void)srvcfg_check(&c, &err);
    } else if (!strstr(err.msg, "fuzz.conf:")) {
        abort(); /* config errors always name file:line */
    }
    return 0;
}
