/* fuzz_telemetry.c: the telemetry reading path on arbitrary bytes: NDJSON
 * split, each line parsed (cJSON) and its values validated against the CNC
 * profile (profile_validate), times parsed strictly. Whatever validates must
 * unpack from its packed form and render back to JSON that validates to the
 * same packed bytes (the stored form is lossless for what was accepted). */
#include "profile.h"
#include "rfc3339.h"
#include "sim.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static profile *cnc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cnc) {
        adt_err e;
        if (profile_parse(sim_profile_cnc, strlen(sim_profile_cnc), &cnc, &e))
            abort();
    }
    if (size > (1u << 20))
        return 0;
    const char *p = (const char *)data;
    size_t off = 0;
    while (off < size) {
        const char *nl = memchr(p + off, '\n', size - off);
        size_t ll = nl ? (size_t)(nl - (p + off)) : size - off;
        cJSON *j = cJSON_ParseWithLength(p + off, ll);
        off += ll + (nl ? 1 : 0);
        if (!j)
            continue;
        const cJSON *t = cJSON_GetObjectItem(j, "time");
        int64_t us;
        if (cJSON_IsString(t))
            (void)rfc3339_parse(t->valuestring, strlen(t->valuestring), &us);
        const cJSON *vals = cJSON_GetObjectItem(j, "values");
        buf packed;
        buf_init(&packed, 1u << 16);
        char detail[256];
        profile_reason r = profile_validate(cnc, vals ? vals : j, &packed, detail, sizeof detail);
        if (r == PROFILE_OK) {
            profile_value v[PROFILE_MAX_FIELDS];
            adt_err e;
            if (profile_unpack(cnc, packed.data, packed.len, v, &e))
                abort();
            buf js, again;
            buf_init(&js, 1u << 16);
            buf_init(&again, 1u << 16);
            if (profile_values_json(cnc, v, &js))
                abort();
            cJSON *back = cJSON_Parse(js.data);
            if (!back || profile_validate(cnc, back, &again, detail, sizeof detail) != PROFILE_OK)
                abort();
            if (again.len != packed.len || memcmp(again.data, packed.data, packed.len))
                abort();
            cJSON_Delete(back);
            buf_free(&js);
            buf_free(&again);
        } else if (packed.len != 0 || !detail[0]) {
            abort(); /* refusals pack nothing and always explain */
        }
        buf_free(&packed);
        cJSON_Delete(j);
    }
    return 0;
}
