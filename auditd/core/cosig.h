/* cosig.h: witness cosignatures, C2SP tlog-cosignature, Ed25519 `cosignature/v1`.
 *
 * A cosignature is a signed-note signature line added to a checkpoint by a
 * witness (c2sp.org/tlog-cosignature, "Format" and "Ed25519 signed message"):
 *   — <witness name> base64(key id[4] || timestamp[8, big-endian] || Ed25519 signature[64])
 * key id   = SHA-256(<name> || 0x0A || 0x04 || 32-byte public key)[0:4]
 * message  = "cosignature/v1\n" "time <timestamp, decimal>\n" <checkpoint text, final newline included>
 * vkey     = <name>+<hex key id>+<base64(0x04 || public key)>
 * The timestamp is POSIX seconds, never 0 here, at most 2^63-1.
 *
 * The witness key is an ordinary note_signer (its own key file) whose
 * signatures are made through note_signer_sign. */
#ifndef AUDITD_COSIG_H
#define AUDITD_COSIG_H

#include "note.h"
#include "status.h"

#include <stddef.h>
#include <stdint.h>

#define COSIG_LINE_MAX (NOTE_ORIGIN_MAX + 128) /* "— name " + 104 base64 chars + "\n" */
#define COSIG_TIMESTAMP_MAX INT64_MAX

/* A cosigner's public key as a verifier knows it. */
typedef struct cosig_key {
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    uint8_t id[4];
    char vkey[NOTE_KEYLINE_MAX]; /* the vkey text, no newline */
} cosig_key;

/* Parse a type-0x04 vkey (a type-0x01 log key is refused with a message saying so). */
int cosig_key_parse(const char *vkey, cosig_key *out, adt_err *err);
/* The key of (name, pub): id and vkey computed. */
int cosig_key_make(const char *name, const uint8_t pub[32], cosig_key *out, adt_err *err);

/* Sign checkpoint text text[0, text_len) (final newline included, no
 * signature lines) at `timestamp` (1 .. 2^63-1): writes the whole signature
 * line with its newline into `line` (cap >= COSIG_LINE_MAX). */
int cosig_sign(const note_signer *s, const char *text, size_t text_len, uint64_t timestamp,
               char *line, size_t cap, adt_err *err);

/* Check the cosignature(s) of key `k` in a parsed note. ADT_OK when at least
 * one line names the key and every line by it verifies (*timestamp gets the
 * newest one); ADT_ENOTFOUND when no line names it (name and key id both
 * match: signed-note); ADT_ECRYPTO when a line by it does not verify. */
int cosig_verify(const char *note, const note_parsed *p, const cosig_key *k, uint64_t *timestamp,
                 adt_err *err);

#endif
