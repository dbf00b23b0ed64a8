/* note.h: C2SP signed notes carrying tlog-checkpoint v1 bodies, Ed25519.
 *
 * Format (see shared/docs/LEDGER-CONTRACT.md):
 *   <origin>\n<size>\n<base64 root>\n\n— <name> <base64(keyid[4] || sig[64])>\n
 * key id = SHA-256(name || 0x0A || 0x01 || pubkey)[0:4]
 * verifier key line = <name>+<8 hex key id>+<base64(0x01 || pubkey)> */
#ifndef AUDITD_NOTE_H
#define AUDITD_NOTE_H

#include "merkle.h"
#include "status.h"

#include <stddef.h>
#include <stdint.h>

#define NOTE_MAX 1024       /* a checkpoint note always fits */
#define NOTE_KEYLINE_MAX 512
#define NOTE_ORIGIN_MAX 200

/* A signer: the secret key lives in sodium_malloc'd memory (guarded, locked,
 * wiped on free). */
typedef struct note_signer note_signer;

/* Generate a key pair. Writes the secret key file (mode 0600, created
 * exclusively) and returns the public key. */
int note_keygen(const char *secret_path, uint8_t pub[32], adt_err *err);
/* The same from a given 32-byte seed (reproducible fixtures and golden tests only). */
int note_keygen_seeded(const char *secret_path, const uint8_t seed[32], uint8_t pub[32],
                       adt_err *err);
/* Load a secret key file (must be mode 0600 or stricter) for `name`. */
int note_signer_load(const char *secret_path, const char *name, note_signer **out, adt_err *err);
void note_signer_free(note_signer *s);
const uint8_t *note_signer_pub(const note_signer *s);

/* Key id of (name, pub). */
void note_key_id(const char *name, const uint8_t pub[32], uint8_t id[4]);
/* Write the verifier key line (no trailing newline). */
int note_key_line(const char *name, const uint8_t pub[32], char *out, size_t cap);
/* Parse a verifier key line. `name` gets at most NOTE_ORIGIN_MAX+1 bytes. */
int note_key_parse(const char *line, char *name, size_t name_cap, uint8_t pub[32], adt_err *err);

/* Sign a checkpoint for (origin = signer's name, size, root) into `out`. */
int note_sign_checkpoint(const note_signer *s, uint64_t size, const merkle_hash root, char *out,
                         size_t cap, adt_err *err);
/* Verify a signed checkpoint note against (name, pub); on success return its
 * size and root. Strict: exact format, one signature line by this key. */
int note_verify_checkpoint(const char *note, size_t len, const char *name, const uint8_t pub[32],
                           uint64_t *size, merkle_hash root, adt_err *err);

#endif
