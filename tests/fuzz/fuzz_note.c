/* fuzz_note.c: note_verify_checkpoint and note_key_parse on arbitrary bytes.
 * The input is tried three ways: as a whole note; as a checkpoint body that
 * is then signed correctly here (so the parser's success path is reached);
 * and as a verifier key line. Properties: a correctly signed well-formed body
 * verifies and yields the size and root it states; a parsed key line is
 * reproduced exactly by note_key_line. */
#include "merkle.h"
#include "note.h"
#include "status.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME "fuzz.example/log"

static uint8_t pk[32], sk[64];
static int ready;

static void init_key(void)
{
    if (ready)
        return;
    if (sodium_init() < 0)
        abort();
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_key();
    const char *in = (const char *)data;
    uint64_t sz;
    merkle_hash root;
    adt_err err;
    (void)note_verify_checkpoint(in, size, NAME, pk, &sz, root, &err);

    /* Sign the input as a body and verify. */
    if (size < 600) {
        uint8_t id[4];
        note_key_id(NAME, pk, id);
        uint8_t sig[68];
        memcpy(sig, id, 4);
        crypto_sign_detached(sig + 4, NULL, data, size, sk);
        char b64[128];
        sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
        size_t cap = size + 256;
        char *note = malloc(cap);
        memcpy(note, in, size);
        int n = snprintf(note + size, cap - size, "\n\xE2\x80\x94 %s %s\n", NAME, b64);
        size_t nl = size + (size_t)n;
        int rc = note_verify_checkpoint(note, nl, NAME, pk, &sz, root, &err);
        if (rc == ADT_OK) {
            /* The body must then be exactly "NAME\n<size>\n<b64 root>\n". */
            char want[256];
            char rb[64];
            sodium_bin2base64(rb, sizeof rb, root, 32, sodium_base64_VARIANT_ORIGINAL);
            int wl = snprintf(want, sizeof want, "%s\n%llu\n%s\n", NAME, (unsigned long long)sz, rb);
            if ((size_t)wl != size || memcmp(want, in, size) != 0)
                abort();
            /* Any flipped body byte breaks it. */
            note[size / 2] ^= 0x01;
            if (note_verify_checkpoint(note, nl, NAME, pk, &sz, root, &err) == ADT_OK)
                abort();
        }
        free(note);
    }

    /* As a key line (NUL-terminated copy). */
    char *line = malloc(size + 1);
    memcpy(line, in, size);
    line[size] = '\0';
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    if (note_key_parse(line, name, sizeof name, pub, &err) == ADT_OK) {
        char again[NOTE_KEYLINE_MAX];
        if (note_key_line(name, pub, again, sizeof again) != ADT_OK)
            abort();
        size_t l = strcspn(line, "\r\n");
        if (strlen(again) != l || memcmp(again, line, l) != 0)
            abort();
    }
    free(line);
    return 0;
}
