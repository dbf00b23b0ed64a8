/* fuzz_kpi.c: the KPI definition parser (reports/kpis.json format) and the
 * report period parser (reached from GET /v1/reports/{period}). */
#include "kpi.h"
#include "rperiod.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kpi_defs d;
    adt_err e;
    if (kpi_defs_parse((const char *)data, size, "fuzz", &d, &e) == ADT_OK) {
        /* a parsed definition set is usable: every value formats */
        kpi_inputs in;
        memset(&in, 0, sizeof in);
        in.has_time_model = true;
        in.pbt_s = 10;
        in.apt_s = 5;
        for (size_t i = 0; i < d.n; i++) {
            kpi_value v = kpi_compute(d.defs[i].id, &in, &d.params, NULL);
            char s[64];
            kpi_format_value(&d.defs[i], &v, s, sizeof s);
            (void)kpi_status(&d.defs[i], &v);
        }
        kpi_defs_free(&d);
    }
    if (size < 64) {
        char p[64];
        memcpy(p, data, size);
        p[size] = 0;
        rperiod r;
        (void)rperiod_parse(p, &r, &e);
    }
    return 0;
}
