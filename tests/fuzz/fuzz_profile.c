/* fuzz_profile.c: profile_parse on arbitrary bytes. An accepted profile's
 * canonical JSON must parse again to the same digest and field list, and
 * every field must satisfy the documented limits. */
#include "profile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    profile *p = NULL;
    adt_err e;
    if (profile_parse((const char *)data, size, &p, &e) != ADT_OK) {
        if (p || !e.msg[0])
            abort();
        return 0;
    }
    if (p->nfields < 1 || p->nfields > PROFILE_MAX_FIELDS || strlen(p->sha256) != 64)
        abort();
    for (size_t i = 0; i < p->nfields; i++) {
        const profile_field *f = &p->fields[i];
        if (f->type == PROFILE_ENUM && (f->n_enum < 1 || f->n_enum > PROFILE_MAX_ENUM))
            abort();
        if (f->has_min && f->has_max && f->min > f->max)
            abort();
        if (profile_field_index(p, f->name) != (int)i)
            abort();
    }
    profile *q = NULL;
    if (profile_parse(p->canonical, p->canonical_len, &q, &e) != ADT_OK)
        abort();
    if (strcmp(p->sha256, q->sha256) || p->nfields != q->nfields)
        abort();
    profile_free(q);
    profile_free(p);
    return 0;
}
