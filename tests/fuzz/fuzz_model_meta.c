/* fuzz_model_meta.c: the model metadata parser (model_meta_parse), which reads
 * FILE.meta.json at `auditd model register`, and the drift summary inside it. */
#include "model.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    model_meta *m = NULL;
    adt_err err;
    if (model_meta_parse((const char *)data, size, &m, &err) == ADT_OK) {
        /* Accepted metadata must be internally usable. */
        if (!model_meta_dataset(m)[0] || !model_meta_drift_json(m) ||
            model_meta_threshold(m) < 0 || model_meta_threshold(m) > 1)
            abort();
        model_meta_free(m);
    } else if (m != NULL || !err.msg[0]) {
        abort();
    }
    return 0;
}
