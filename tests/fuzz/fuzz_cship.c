/* fuzz_cship.c: the centre's readers of what a site ships
 * (cship_ref_of_leaf on ledger leaves, cship_parse_rollups on rollups
 * batches) on arbitrary bytes. Properties: no crash or leak; an accepted
 * shipment entry names a 32-byte digest and a size within the limit; parsing
 * the same bytes twice gives the same rows. */
#include "cship.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int count(void *ctx, const cship_row *r)
{
    if (!r->device || r->hour_s % 3600)
        abort();
    (*(size_t *)ctx)++;
    return 0;
}

static int count_pred(void *ctx, const cship_pred *p)
{
    if (!p->device || !p->model || !p->version || p->positives > p->predictions)
        abort();
    (*(size_t *)ctx)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    cship_ref r;
    memset(&r, 0, sizeof r);
    r.idx = 7;
    if (cship_ref_of_leaf(in, size, &r) && (r.bytes > CSHIP_MAX_BYTES || r.idx != 7 || !r.kind[0]))
        abort();
    size_t a = 0, b = 0;
    adt_err err;
    int rc1 = cship_parse_rollups(in, size, count, count_pred, &a, &err);
    int rc2 = cship_parse_rollups(in, size, count, count_pred, &b, &err);
    if (rc1 != rc2 || (rc1 == ADT_OK && a != b))
        abort();
    return 0;
}
