/* codec.c: hex and base64 (codec.h). */
#include "codec.h"

#include <sodium.h>
#include <string.h>

char *codec_hex(const void *bin, size_t n, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    if (cap < CODEC_HEX_LEN(n)) {
        if (cap)
            out[0] = '\0';
        return out;
    }
    const uint8_t *b = bin;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

char *codec_b64(const void *bin, size_t n, char *out, size_t cap)
{
    if (cap < CODEC_B64_LEN(n)) {
        if (cap)
            out[0] = '\0';
        return out;
    }
    return sodium_bin2base64(out, cap, bin, n, sodium_base64_VARIANT_ORIGINAL);
}

static int check_len(const char *what, size_t got, size_t want, size_t *n, adt_err *err)
{
    if (want && got != want)
        return adt_fail(err, ADT_EINVAL, "%s decodes to %zu bytes, not %zu", what, got, want);
    if (n)
        *n = got;
    return ADT_OK;
}

int codec_unhex(const char *text, size_t len, uint8_t *out, size_t cap, size_t want, size_t *n,
                adt_err *err)
{
    if (len % 2)
        return adt_fail(err, ADT_EINVAL, "hex text has an odd number of digits (%zu)", len);
    if (len / 2 > cap)
        return adt_fail(err, ADT_EINVAL, "hex text of %zu digits is longer than %zu bytes", len,
                        cap);
    size_t got = 0;
    const char *end = NULL;
    if (sodium_hex2bin(out, cap, text, len, NULL, &got, &end) != 0 || end != text + len)
        return adt_fail(err, ADT_EINVAL, "not hex: a character other than 0-9, a-f at %zu",
                        end ? (size_t)(end - text) : (size_t)0);
    return check_len("hex text", got, want, n, err);
}

int codec_unb64(const char *text, size_t len, uint8_t *out, size_t cap, size_t want, size_t *n,
                adt_err *err)
{
    if (len / 4 * 3 > cap + 2)
        return adt_fail(err, ADT_EINVAL, "base64 text of %zu characters is longer than %zu bytes",
                        len, cap);
    size_t got = 0;
    const char *end = NULL;
    if (sodium_base642bin(out, cap, text, len, NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text + len)
        return adt_fail(err, ADT_EINVAL,
                        "not standard base64 with padding (problem at character %zu)",
                        end ? (size_t)(end - text) : (size_t)0);
    return check_len("base64 text", got, want, n, err);
}

bool codec_is_hex(const char *s, size_t len)
{
    if (!s || strlen(s) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}
