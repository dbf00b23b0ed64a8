/* fuzz_signote.c: the multi-signature signed-note parser (note_parse), the
 * checkpoint text parser and cosignature verification on arbitrary bytes.
 * Properties: a parsed note's signature lines lie inside the input, start
 * with the em dash and end with a newline, and the text ends with a newline;
 * verifying a parsed note with a fixed key never crashes; the input used as a
 * checkpoint text and cosigned here verifies, and a flipped text byte does not. */
#include "cosig.h"
#include "note.h"
#include "status.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WNAME "fuzz.example/witness"

static uint8_t pk[32], sk[64];
static cosig_key key;
static int ready;

static void init_key(void)
{
    if (ready)
        return;
    if (sodium_init() < 0)
        abort();
    uint8_t seed[32];
    memset(seed, 9, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    adt_err err;
    if (cosig_key_make(WNAME, pk, &key, &err))
        abort();
    ready = 1;
}

/* A cosignature line over text[0, n) at ts, built from the spec by hand. */
static void cosign(const uint8_t *text, size_t n, uint64_t ts, char *line, size_t cap)
{
    char head[64];
    int hl = snprintf(head, sizeof head, "cosignature/v1\ntime %llu\n", (unsigned long long)ts);
    uint8_t *m = malloc((size_t)hl + n + 1);
    memcpy(m, head, (size_t)hl);
    memcpy(m + hl, text, n);
    uint8_t raw[76];
    memcpy(raw, key.id, 4);
    for (int i = 0; i < 8; i++)
        raw[4 + i] = (uint8_t)(ts >> (56 - 8 * i));
    crypto_sign_detached(raw + 12, NULL, m, (size_t)hl + n, sk);
    free(m);
    char b[128];
    sodium_bin2base64(b, sizeof b, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    snprintf(line, cap, "\xE2\x80\x94 %s %s\n", WNAME, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_key();
    const char *in = (const char *)data;
    note_parsed *p = malloc(sizeof *p);
    adt_err err;
    if (note_parse(in, size, p, &err) == ADT_OK) {
        if (p->text_len == 0 || p->text_len > size || in[p->text_len - 1] != '\n' || p->nsigs == 0)
            abort();
        for (size_t i = 0; i < p->nsigs; i++) {
            const note_sigline *s = &p->sigs[i];
            if (s->line_off + s->line_len > size || memcmp(in + s->line_off, "\xE2\x80\x94 ", 4) ||
                in[s->line_off + s->line_len - 1] != '\n' || s->raw_len < 5)
                abort();
            uint8_t sig[NOTE_SIG_BYTES_MAX];
            size_t n;
            if (note_sig_bytes(in, s, sig, sizeof sig, &n) != ADT_OK || n + 4 != s->raw_len)
                abort();
        }
        uint64_t ts;
        (void)cosig_verify(in, p, &key, &ts, &err);
        note_checkpoint cp;
        (void)note_checkpoint_parse(in, p->text_len, &cp, &err);
    } else if (!err.msg[0]) {
        abort(); /* a refusal always says why */
    }

    /* The input as a note text, cosigned correctly. */
    if (size < 2000 && size > 0 && data[size - 1] == '\n') {
        char line[COSIG_LINE_MAX];
        uint64_t ts0 = 1 + (size * 2654435761u) % 4000000000u;
        cosign(data, size, ts0, line, sizeof line);
        size_t cap = size + strlen(line) + 2;
        char *note = malloc(cap);
        memcpy(note, in, size);
        note[size] = '\n';
        memcpy(note + size + 1, line, strlen(line));
        size_t nl = size + 1 + strlen(line);
        if (note_parse(note, nl, p, &err) == ADT_OK && p->text_len == size) {
            uint64_t ts = 0;
            if (cosig_verify(note, p, &key, &ts, &err) != ADT_OK || ts != ts0)
                abort();
            note[size / 2] ^= 0x01;
            if (note_parse(note, nl, p, &err) == ADT_OK && p->text_len == size &&
                cosig_verify(note, p, &key, &ts, &err) == ADT_OK)
                abort();
        }
        free(note);
    }
    free(p);
    return 0;
}
