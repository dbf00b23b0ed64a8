/* fuzz_catalog.c: the control store's importers. The first byte picks the
 * importer (0: OSCAL catalog/profile XML, 1: crosswalk CSV/JSON, 2: SoA CSV),
 * the rest is the file. One seeded in-memory store serves every input (seeding
 * costs more than most inputs): failed imports change nothing, successful
 * ones only add or replace rows, so later inputs still exercise every path. */
#include "catalog.h"

#include <stdint.h>
#include <string.h>

static int count(void *ctx, const catalog_control *c)
{
    (void)c;
    (*(size_t *)ctx)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static catalog *c;
    adt_err err;
    if (!c && catalog_open(NULL, &c, &err) != ADT_OK)
        return 0;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    catalog_import_stats st;
    switch (data[0] % 3) {
    case 0:
        catalog_import_oscal_mem(c, in, n, "fuzz.xml", NULL, NULL, NULL, &st, &err);
        break;
    case 1:
        catalog_import_crosswalk_mem(c, in, n, "fuzz.csv", &st, &err);
        break;
    default:
        catalog_scope_soa_mem(c, in, n, "fuzz.csv", &st, &err);
        break;
    }
    size_t k = 0;
    catalog_list_in_scope(c, CATALOG_NIST, count, &k, &err);
    catalog_list_in_scope(c, CATALOG_ISO, count, &k, &err);
    /* The id normaliser on the raw input too (bounded, NUL-terminated copy). */
    char id[80], out[CATALOG_ID_MAX];
    size_t m = n < sizeof id - 1 ? n : sizeof id - 1;
    memcpy(id, in, m);
    id[m] = '\0';
    catalog_normalize_id(id, out, sizeof out);
    return 0;
}
