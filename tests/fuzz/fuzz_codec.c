/* fuzz_codec.c: strict hex and base64 decoding of arbitrary text. Whatever
 * decodes must encode back to the same text (hex in lowercase). */
#include "codec.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const char *text = (const char *)data;
    uint8_t bin[4096];
    char back[CODEC_HEX_LEN(4096)];
    size_t n;
    adt_err err;
    if (codec_unhex(text, size, bin, sizeof bin, 0, &n, &err) == ADT_OK) {
        codec_hex(bin, n, back, sizeof back);
        if (strlen(back) != size)
            abort();
        for (size_t i = 0; i < size; i++)
            if (back[i] != tolower((unsigned char)text[i]))
                abort();
    }
    if (codec_unb64(text, size, bin, sizeof bin, 0, &n, &err) == ADT_OK) {
        codec_b64(bin, n, back, sizeof back);
        if (strlen(back) != size || memcmp(back, text, size) != 0)
            abort();
    }
    return 0;
}
