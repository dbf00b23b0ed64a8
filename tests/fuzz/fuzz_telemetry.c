/* fuzz_telemetry.c: the telemetry reading path on arbitrary bytes: NDJSON
 * split, each line checked by rline_check (the direct reader, falling back to
 * the cJSON tree reader) against the CNC profile (devices cnc-*) or a profile
 * with every field type (device x-1), times parsed strictly.
 *   - The direct reader must agree with the tree reader (rline_check_tree)
 *     on every line: same reason, same detail, same device name and time,
 *     same packed bytes.
 *   - Whatever validates must unpack from its packed form and render back to
 *     JSON that validates to the same packed bytes (the stored form is
 *     lossless for what was accepted).
 *   - Refusals pack nothing and always explain. */
#include "profile.h"
#include "rline.h"
#include "sim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static profile *cnc, *every;

static const char every_json[] =
    "{\"profile\":\"every\",\"device_type\":\"x\",\"sampling_interval_s\":60,\"fields\":["
    "{\"name\":\"n\",\"type\":\"number\",\"unit\":\"K\",\"min\":-5,\"max\":5},"
    "{\"name\":\"i\",\"type\":\"integer\",\"min\":0},"
    "{\"name\":\"b\",\"type\":\"boolean\",\"required\":true},"
    "{\"name\":\"s\",\"type\":\"string\",\"max_length\":8},"
    "{\"name\":\"e\",\"type\":\"enum\",\"values\":[\"a\",\"b\",\"c\"],\"unit\":\"u\"}]}";

static const profile *device(void *ctx, const char *name, size_t n, int *dev)
{
    (void)ctx;
    if (n == 3 && !memcmp(name, "x-1", 3)) {
        *dev = 1;
        return every;
    }
    if (n == 6 && !memcmp(name, "cnc-0", 5) && name[5] >= '1' && name[5] <= '8') {
        *dev = 0;
        return cnc;
    }
    return NULL;
}

static void check_line(const char *p, size_t n)
{
    buf fast, tree;
    buf_init(&fast, 1u << 16);
    buf_init(&tree, 1u << 16);
    rline_out fo, to;
    memset(&fo, 0x55, sizeof fo);
    memset(&to, 0x55, sizeof to);
    profile_reason rf = rline_check(p, n, device, NULL, &fast, &fo);
    profile_reason rt = rline_check_tree(p, n, device, NULL, &tree, &to);
    if (rf != rt || fo.time != to.time || strcmp(fo.devname, to.devname) ||
        fast.len != tree.len || (fast.len && memcmp(fast.data, tree.data, fast.len)))
        abort(); /* the direct reader read something else than the tree reader */
    if (rf == PROFILE_OK ? fo.dev != to.dev : strcmp(fo.detail, to.detail))
        abort();
    if (rf == PROFILE_OK) {
        const profile *pf = fo.dev ? every : cnc;
        profile_value v[PROFILE_MAX_FIELDS];
        adt_err e;
        if (profile_unpack(pf, fast.data, fast.len, v, &e))
            abort();
        buf js, line, again;
        buf_init(&js, 1u << 16);
        buf_init(&line, 1u << 17);
        buf_init(&again, 1u << 16);
        if (profile_values_json(pf, v, &js) ||
            buf_printf(&line, "{\"device\":\"%s\",\"time\":\"2026-07-01T00:00:00Z\",\"values\":",
                       fo.dev ? "x-1" : "cnc-01") ||
            buf_append(&line, js.data, js.len) || buf_putc(&line, '}'))
            abort();
        rline_out ao;
        if (rline_check(line.data, line.len, device, NULL, &again, &ao) != PROFILE_OK ||
            again.len != fast.len || memcmp(again.data, fast.data, fast.len))
            abort();
        buf_free(&js);
        buf_free(&line);
        buf_free(&again);
    } else if (fast.len != 0 || !fo.detail[0]) {
        abort();
    }
    buf_free(&fast);
    buf_free(&tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cnc) {
        adt_err e;
        if (profile_parse(sim_profile_cnc, strlen(sim_profile_cnc), &cnc, &e) ||
            profile_parse(every_json, strlen(every_json), &every, &e))
            abort();
    }
    if (size > (1u << 20))
        return 0;
    const char *p = (const char *)data;
    size_t off = 0;
    while (off < size) {
        const char *nl = memchr(p + off, '\n', size - off);
        size_t ll = nl ? (size_t)(nl - (p + off)) : size - off;
        check_line(p + off, ll);
        off += ll + (nl ? 1 : 0);
    }
    return 0;
}
