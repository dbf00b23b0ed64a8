/* fuzz_shipment.c: the enterprise report's parser of shipped batches
 * (ereport_check_shipment: kinds kpi-inputs and controls) and the KPI inputs'
 * JSON round trip (kpi_inputs_parse / kpi_inputs_json) on arbitrary bytes.
 * Properties: no crash or leak; inputs accepted once are written back and
 * read again to the same values. */
#include "ereport.h"
#include "kpi.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    adt_err err;
    (void)ereport_check_shipment((const char *)data, size, &err);
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    const cJSON *in = j ? cJSON_GetObjectItemCaseSensitive(j, "inputs") : NULL;
    const cJSON *cur = in ? cJSON_GetObjectItemCaseSensitive(in, "current") : NULL;
    kpi_inputs a, b;
    if (cur && kpi_inputs_parse(cur, &a, &err) == ADT_OK) {
        buf out;
        buf_init(&out, 1 << 20);
        if (kpi_inputs_json(&a, &out))
            abort();
        cJSON *k = cJSON_ParseWithLength(out.data, out.len);
        buf again;
        buf_init(&again, 1 << 20);
        if (!k || kpi_inputs_parse(k, &b, &err) != ADT_OK || kpi_inputs_json(&b, &again) ||
            again.len != out.len || memcmp(again.data, out.data, out.len))
            abort();
        cJSON_Delete(k);
        buf_free(&out);
        buf_free(&again);
    }
    cJSON_Delete(j);
    return 0;
}
