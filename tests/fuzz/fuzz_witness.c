/* fuzz_witness.c: the witness's add-checkpoint logic (witness.c) on arbitrary
 * request bodies, over an in-memory store (the witness_store_ops interface a
 * database implements). The input is tried as a whole body, and as a
 * checkpoint text that is signed here with the registered log key and sent
 * with "old <size>" (so the cosigning path is reached). Properties: the answer
 * is one of tlog-witness's statuses; a 200 carries a cosignature line that
 * verifies and moves the stored size to the checkpoint's; anything else
 * leaves the store as it was; a 409 names the stored size. */
#include "cosig.h"
#include "merkle.h"
#include "note.h"
#include "status.h"
#include "witness.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG "fuzz.example/log"

typedef struct mem {
    uint8_t lpk[32];
    bool has;
    uint64_t size;
    merkle_hash root;
} mem;

static int m_keys(void *ctx, const char *origin, witness_log_key *keys, size_t cap, size_t *n,
                  adt_err *err)
{
    mem *m = ctx;
    if (strcmp(origin, LOG) || cap < 1)
        return adt_fail(err, ADT_ENOTFOUND, "unknown");
    snprintf(keys[0].name, sizeof keys[0].name, "%s", LOG);
    memcpy(keys[0].pub, m->lpk, 32);
    *n = 1;
    return ADT_OK;
}

static int m_latest(void *ctx, const char *origin, uint64_t *size, merkle_hash root, bool *has,
                    adt_err *err)
{
    (void)origin;
    (void)err;
    mem *m = ctx;
    *has = m->has;
    *size = m->has ? m->size : 0;
    memcpy(root, m->root, 32);
    return ADT_OK;
}

static int m_swap(void *ctx, const char *origin, uint64_t old_size, bool old_has,
                  const merkle_hash old_root, uint64_t size, const merkle_hash root,
                  const char *note, size_t note_len, uint64_t *current, adt_err *err)
{
    (void)origin;
    (void)note;
    (void)note_len;
    (void)err;
    mem *m = ctx;
    if (m->has != old_has || (m->has && (m->size != old_size || memcmp(m->root, old_root, 32)))) {
        *current = m->has ? m->size : 0;
        return ADT_ECONFLICT;
    }
    m->has = true;
    m->size = size;
    memcpy(m->root, root, 32);
    return ADT_OK;
}

static const witness_store_ops ops = {m_keys, m_latest, m_swap};
static uint8_t lsk[64];
static mem store;
static note_signer *wsigner;
static witness *wit;
static int ready;

static void init(void)
{
    if (ready)
        return;
    if (sodium_init() < 0)
        abort();
    uint8_t seed[32];
    memset(seed, 5, sizeof seed);
    crypto_sign_seed_keypair(store.lpk, lsk, seed);
    /* The witness key: a key file in a temporary directory. */
    char dir[] = "/tmp/fuzz-witness-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    char path[64];
    snprintf(path, sizeof path, "%s/witness.key", dir);
    uint8_t pub[32];
    memset(seed, 6, sizeof seed);
    adt_err err;
    if (note_keygen_seeded(path, seed, pub, &err) ||
        note_signer_load(path, "fuzz.example/witness", &wsigner, &err) ||
        witness_new(wsigner, &ops, &store, &wit, &err))
        abort();
    unlink(path);
    rmdir(dir);
    ready = 1;
}

static void check(const char *body, size_t len)
{
    mem before = store;
    witness_answer a;
    adt_err err;
    if (witness_add_checkpoint(wit, body, len, 1700000000, &a, &err) != ADT_OK)
        abort(); /* the in-memory store never fails */
    switch (a.status) {
    case 200: {
        if (!store.has || !a.cosig[0] || a.size != store.size)
            abort();
        break;
    }
    case 409:
        if (a.size != (before.has ? before.size : 0) || memcmp(&store, &before, sizeof store))
            abort();
        break;
    case 400: case 403: case 404: case 422:
        if (memcmp(&store, &before, sizeof store) || !a.message[0])
            abort();
        break;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    memset(&store.root, 0, sizeof store.root);
    store.has = false;
    store.size = 0;
    check((const char *)data, size);

    /* As a checkpoint text signed by the log: "old 0" then "old <size>". */
    if (size < 1000) {
        size_t cap = size + 256;
        char *b = malloc(cap);
        int hl = snprintf(b, cap, "old 0\n\n");
        memcpy(b + hl, data, size);
        uint8_t sig[68];
        note_key_id(LOG, store.lpk, sig);
        crypto_sign_detached(sig + 4, NULL, data, size, lsk);
        char sb[128];
        sodium_bin2base64(sb, sizeof sb, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
        int sl = snprintf(b + hl + size, cap - (size_t)hl - size, "\n\xE2\x80\x94 %s %s\n", LOG, sb);
        size_t len = (size_t)hl + size + (size_t)sl;
        check(b, len);
        check(b, len); /* again: 409 (old 0 is stale) unless the size was 0 */
        free(b);
    }
    return 0;
}
