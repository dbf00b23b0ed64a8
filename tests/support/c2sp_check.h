/* c2sp_check.h: a verifier of C2SP signed notes, checkpoints and cosignatures
 * written for the tests from the texts of c2sp.org/signed-note,
 * c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature (Ed25519 signature
 * types 0x01 and 0x04) with libsodium alone: it shares no code with
 * auditd/core/note.c or cosig.c, so that what the product signs is checked by
 * something other than the product. */
#ifndef AUDITD_C2SP_CHECK_H
#define AUDITD_C2SP_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A verifier key "<name>+<8 hex key id>+<base64(type || 32-byte key)>" of
 * type 0x01 or 0x04 whose key id matches. */
typedef struct c2sp_vkey {
    char name[256];
    uint8_t type;
    uint8_t pub[32];
    uint8_t id[4];
} c2sp_vkey;
bool c2sp_vkey_parse(const char *text, c2sp_vkey *out);

/* True if `note` (text, empty line, signature lines) has a line by `k` that
 * verifies: for type 0x01 an Ed25519 signature of the text; for type 0x04 an
 * 8-byte big-endian timestamp and an Ed25519 signature of
 * "cosignature/v1\ntime <ts>\n" + text (its timestamp into *ts, may be NULL). */
bool c2sp_note_signed(const char *note, const c2sp_vkey *k, uint64_t *ts);

/* The checkpoint body of `note`: origin, size, root (tlog-checkpoint). */
bool c2sp_checkpoint(const char *note, char *origin, size_t cap, uint64_t *size,
                     uint8_t root[32]);

#endif
