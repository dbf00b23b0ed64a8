/* fuzz_canon.c: canon_json and canon_member on arbitrary bytes.
 * Properties checked (abort on violation):
 *  - success leaves valid UTF-8 output that re-canonicalises to itself;
 *  - failure appends nothing;
 *  - canon_member never points outside its input, and in canonical JSON the
 *    span it returns is itself valid JSON;
 *  - canon_put_string output parses back to the same bytes for valid UTF-8;
 *  - canon_is_canonical accepts only what canon_json leaves unchanged. */
#include "buf.h"
#include "canon.h"
#include "status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const canon_limits lim = {1u << 16, 16, 4096};

static void check_member(const char *json, size_t len, const char *key, bool canonical)
{
    const char *v = NULL;
    size_t vl = 0;
    int rc = canon_member(json, len, key, &v, &vl);
    if (rc != ADT_OK)
        return;
    if (v < json || v + vl > json + len || vl == 0)
        abort();
    if (canonical) {
        buf b;
        buf_init(&b, len + 16);
        adt_err err;
        if (canon_json(v, vl, &lim, false, &b, &err) != ADT_OK)
            abort();
        /* A member of a canonical object is canonical. */
        if (b.len != vl || memcmp(b.data, v, vl) != 0)
            abort();
        buf_free(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    static const char *const keys[] = {"type", "a", "", "seq", "payload"};
    if (canon_is_canonical(in, size, &lim)) {
        buf same;
        buf_init(&same, 1u << 20);
        adt_err err;
        if (canon_json(in, size, &lim, true, &same, &err) != ADT_OK || same.len != size ||
            memcmp(same.data, in, size) != 0)
            abort();
        buf_free(&same);
    }
    for (int obj = 0; obj < 2; obj++) {
        buf out;
        buf_init(&out, 1u << 20);
        buf_puts(&out, "#");
        adt_err err;
        int rc = canon_json(in, size, &lim, obj, &out, &err);
        if (rc != ADT_OK) {
            if (out.len != 1 || out.data[0] != '#' || err.msg[0] == '\0')
                abort();
        } else {
            const char *c = out.data + 1;
            size_t cl = out.len - 1;
            if (!canon_utf8_valid(c, cl) || cl > size)
                abort();
            buf again;
            buf_init(&again, 1u << 20);
            if (canon_json(c, cl, &lim, obj, &again, &err) != ADT_OK)
                abort();
            if (again.len != cl || memcmp(again.data, c, cl) != 0)
                abort();
            buf_free(&again);
            if (obj)
                for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
                    check_member(c, cl, keys[k], true);
        }
        buf_free(&out);
    }
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        check_member(in, size, keys[k], false);
    /* A string built by canon_put_string is canonical JSON of those bytes. */
    buf s;
    buf_init(&s, 8 * size + 16);
    if (canon_put_string(&s, in, size) != ADT_OK)
        abort();
    buf back;
    buf_init(&back, 8 * size + 16);
    adt_err err;
    int rc = canon_json(s.data, s.len, &lim, false, &back, &err);
    bool valid = canon_utf8_valid(in, size);
    if (size + 2 <= lim.max_bytes && s.len <= lim.max_bytes) {
        if (valid && (rc != ADT_OK || back.len != s.len || memcmp(back.data, s.data, s.len) != 0))
            abort();
        if (!valid && rc == ADT_OK)
            abort();
    }
    buf_free(&back);
    buf_free(&s);
    return 0;
}
