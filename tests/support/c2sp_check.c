/* Written from the C2SP texts for the tests only (see c2sp_check.h). */
#include "c2sp_check.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void key_id(const char *name, uint8_t type, const uint8_t pub[32], uint8_t id[4])
{
    /* signed-note: key ID = SHA-256(key name || 0x0A || signature type || public key)[:4] */
    crypto_hash_sha256_state st;
    uint8_t h[32];
    const uint8_t nl = 0x0A;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
    crypto_hash_sha256_update(&st, &nl, 1);
    crypto_hash_sha256_update(&st, &type, 1);
    crypto_hash_sha256_update(&st, pub, 32);
    crypto_hash_sha256_final(&st, h);
    memcpy(id, h, 4);
}

bool c2sp_vkey_parse(const char *text, c2sp_vkey *out)
{
    memset(out, 0, sizeof *out);
    const char *p1 = strchr(text, '+');
    const char *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
    if (!p1 || !p2 || p2 - p1 != 9 || (size_t)(p1 - text) >= sizeof out->name || p1 == text)
        return false;
    memcpy(out->name, text, (size_t)(p1 - text));
    uint8_t raw[33];
    size_t rl = 0;
    size_t tl = strcspn(p2 + 1, "\r\n");
    if (sodium_base642bin(raw, sizeof raw, p2 + 1, tl, NULL, &rl, NULL,
                          sodium_base64_VARIANT_ORIGINAL) ||
        rl != 33 || (raw[0] != 0x01 && raw[0] != 0x04))
        return false;
    out->type = raw[0];
    memcpy(out->pub, raw + 1, 32);
    key_id(out->name, out->type, out->pub, out->id);
    char hex[9];
    sodium_bin2hex(hex, sizeof hex, out->id, 4);
    return memcmp(hex, p1 + 1, 8) == 0;
}

/* The text ends at the last "\n\n": everything up to and including the first
 * newline of it is signed. */
static size_t text_len(const char *note)
{
    const char *last = NULL;
    for (const char *p = strstr(note, "\n\n"); p; p = strstr(p + 1, "\n\n"))
        last = p;
    return last ? (size_t)(last - note) + 1 : 0;
}

bool c2sp_note_signed(const char *note, const c2sp_vkey *k, uint64_t *ts)
{
    size_t tl = text_len(note);
    if (!tl)
        return false;
    static const char dash[] = "\xE2\x80\x94 "; /* U+2014 EM DASH, space */
    bool found = false;
    for (const char *line = note + tl + 1; *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            return false;
        size_t nl = strlen(k->name);
        if (!strncmp(line, dash, 4) && !strncmp(line + 4, k->name, nl) && line[4 + nl] == ' ') {
            const char *b64 = line + 5 + nl;
            uint8_t raw[4 + 8 + 64];
            size_t rl = 0;
            if (sodium_base642bin(raw, sizeof raw, b64, (size_t)(end - b64), NULL, &rl, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) == 0 &&
                memcmp(raw, k->id, 4) == 0) {
                if (k->type == 0x01 && rl == 4 + 64) {
                    if (crypto_sign_verify_detached(raw + 4, (const uint8_t *)note, tl, k->pub))
                        return false;
                    found = true;
                } else if (k->type == 0x04 && rl == 4 + 8 + 64) {
                    uint64_t t = 0;
                    for (int i = 0; i < 8; i++)
                        t = t << 8 | raw[4 + i];
                    /* tlog-cosignature: "cosignature/v1\n" "time <decimal>\n" checkpoint text */
                    char head[64];
                    int hl = snprintf(head, sizeof head, "cosignature/v1\ntime %llu\n",
                                      (unsigned long long)t);
                    uint8_t *msg = malloc((size_t)hl + tl);
                    if (!msg)
                        return false;
                    memcpy(msg, head, (size_t)hl);
                    memcpy(msg + hl, note, tl);
                    bool ok = crypto_sign_verify_detached(raw + 12, msg, (size_t)hl + tl, k->pub) == 0;
                    free(msg);
                    if (!ok)
                        return false;
                    if (ts)
                        *ts = t;
                    found = true;
                }
            }
        }
        line = end + 1;
    }
    return found;
}

bool c2sp_checkpoint(const char *note, char *origin, size_t cap, uint64_t *size, uint8_t root[32])
{
    const char *l1 = strchr(note, '\n');
    const char *l2 = l1 ? strchr(l1 + 1, '\n') : NULL;
    const char *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
    if (!l3 || (size_t)(l1 - note) >= cap)
        return false;
    memcpy(origin, note, (size_t)(l1 - note));
    origin[l1 - note] = '\0';
    char *e = NULL;
    unsigned long long s = strtoull(l1 + 1, &e, 10);
    if (e != l2)
        return false;
    *size = s;
    size_t rl = 0;
    return sodium_base642bin(root, 32, l2 + 1, (size_t)(l3 - l2 - 1), NULL, &rl, NULL,
                             sodium_base64_VARIANT_ORIGINAL) == 0 &&
           rl == 32;
}
