#include "cosig.h"

#include "codec.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EM_DASH "\xE2\x80\x94"
#define HEADER "cosignature/v1\n"

int cosig_key_make(const char *name, const uint8_t pub[32], cosig_key *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    if (snprintf(out->name, sizeof out->name, "%s", name) >= (int)sizeof out->name)
        return adt_fail(err, ADT_EINVAL, "cosigner name is longer than %d bytes", NOTE_ORIGIN_MAX);
    memcpy(out->pub, pub, 32);
    note_vkey_id(name, NOTE_SIG_COSIG_V1, pub, out->id);
    if (note_vkey_line(name, NOTE_SIG_COSIG_V1, pub, out->vkey, sizeof out->vkey))
        return adt_fail(err, ADT_ETOOBIG, "cosigner vkey does not fit");
    return ADT_OK;
}

int cosig_key_parse(const char *vkey, cosig_key *out, adt_err *err)
{
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    int rc = note_vkey_parse(vkey, NOTE_SIG_COSIG_V1, name, sizeof name, pub, err);
    if (rc) {
        char n2[NOTE_ORIGIN_MAX + 1];
        adt_err e2;
        if (note_vkey_parse(vkey, NOTE_SIG_ED25519, n2, sizeof n2, pub, &e2) == ADT_OK)
            return adt_fail(err, ADT_EINVAL, "'%s' is a log's key (signature type 0x01), not a "
                            "witness cosignature key (type 0x04): use the key `auditd witness key` "
                            "prints", n2);
        return rc;
    }
    return cosig_key_make(name, pub, out, err);
}

/* Ed25519 signed message (tlog-cosignature): header line, timestamp line, text. */
static unsigned char *message(const char *text, size_t text_len, uint64_t ts, size_t *len)
{
    char tl[40];
    int n = snprintf(tl, sizeof tl, "time %llu\n", (unsigned long long)ts);
    size_t hl = sizeof HEADER - 1;
    unsigned char *m = malloc(hl + (size_t)n + text_len);
    if (!m)
        return NULL;
    memcpy(m, HEADER, hl);
    memcpy(m + hl, tl, (size_t)n);
    memcpy(m + hl + (size_t)n, text, text_len);
    *len = hl + (size_t)n + text_len;
    return m;
}

int cosig_sign(const note_signer *s, const char *text, size_t text_len, uint64_t timestamp,
               char *line, size_t cap, adt_err *err)
{
    if (timestamp == 0 || timestamp > COSIG_TIMESTAMP_MAX)
        return adt_fail(err, ADT_EINVAL, "cosignature timestamp must be 1..2^63-1");
    size_t ml = 0;
    unsigned char *m = message(text, text_len, timestamp, &ml);
    if (!m)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    uint8_t raw[4 + 8 + 64];
    note_vkey_id(note_signer_name(s), NOTE_SIG_COSIG_V1, note_signer_pub(s), raw);
    for (int i = 0; i < 8; i++)
        raw[4 + i] = (uint8_t)(timestamp >> (56 - 8 * i));
    int rc = note_signer_sign(s, m, ml, raw + 12);
    free(m);
    if (rc)
        return adt_fail(err, ADT_ECRYPTO, "signing the cosignature failed");
    char b64[CODEC_B64_LEN(sizeof raw)];
    codec_b64(raw, sizeof raw, b64, sizeof b64);
    int n = snprintf(line, cap, EM_DASH " %s %s\n", note_signer_name(s), b64);
    if (n < 0 || (size_t)n >= cap)
        return adt_fail(err, ADT_ETOOBIG, "cosignature line does not fit");
    return ADT_OK;
}

int cosig_verify(const char *note, const note_parsed *p, const cosig_key *k, uint64_t *timestamp,
                 adt_err *err)
{
    bool found = false;
    uint64_t newest = 0;
    for (size_t i = 0; i < p->nsigs; i++) {
        if (!note_sig_by(note, &p->sigs[i], k->name, k->id))
            continue;
        uint8_t sig[8 + 64];
        size_t sl = 0;
        if (p->sigs[i].raw_len != 4 + sizeof sig ||
            note_sig_bytes(note, &p->sigs[i], sig, sizeof sig, &sl))
            return adt_fail(err, ADT_ECRYPTO, "the cosignature by '%s' is not a timestamp and an "
                            "Ed25519 signature", k->name);
        uint64_t ts = 0;
        for (int b = 0; b < 8; b++)
            ts = ts << 8 | sig[b];
        size_t ml = 0;
        unsigned char *m = ts <= COSIG_TIMESTAMP_MAX ? message(note, p->text_len, ts, &ml) : NULL;
        if (ts > COSIG_TIMESTAMP_MAX)
            return adt_fail(err, ADT_ECRYPTO, "the cosignature by '%s' has a timestamp above 2^63-1",
                            k->name);
        if (!m)
            return adt_fail(err, ADT_ENOMEM, "out of memory");
        int bad = crypto_sign_verify_detached(sig + 8, m, ml, k->pub);
        free(m);
        if (bad)
            return adt_fail(err, ADT_ECRYPTO, "the cosignature by '%s' does not verify", k->name);
        found = true;
        if (ts > newest)
            newest = ts;
    }
    if (!found)
        return adt_fail(err, ADT_ENOTFOUND, "no cosignature by witness '%s' (key id %02x%02x%02x%02x)",
                        k->name, k->id[0], k->id[1], k->id[2], k->id[3]);
    if (timestamp)
        *timestamp = newest;
    return ADT_OK;
}
