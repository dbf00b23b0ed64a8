/* note.h: C2SP signed notes (c2sp.org/signed-note) carrying tlog-checkpoint v1
 * bodies (c2sp.org/tlog-checkpoint), Ed25519.
 *
 * Format (see shared/docs/LEDGER-CONTRACT.md):
 *   <origin>\n<size>\n<base64 root>\n\n— <name> <base64(keyid[4] || sig[64])>\n
 * key id = SHA-256(name || 0x0A || 0x01 || pubkey)[0:4]
 * verifier key line = <name>+<8 hex key id>+<base64(0x01 || pubkey)>
 *
 * A note may carry any number of signature lines (the log's, witnesses'
 * cosignatures, other keys'): note_parse splits and checks them all, and the
 * verifiers below look only at the lines whose key name and id match the key
 * they are given, ignoring the others as signed-note requires. */
#ifndef AUDITD_NOTE_H
#define AUDITD_NOTE_H

#include "merkle.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTE_MAX 1024       /* a checkpoint note always fits */
#define NOTE_KEYLINE_MAX 512
#define NOTE_ORIGIN_MAX 200

/* Signature type bytes (signed-note, "Signature types"). */
#define NOTE_SIG_ED25519 0x01  /* a plain Ed25519 note signature (the ledger's checkpoints) */
#define NOTE_SIG_COSIG_V1 0x04 /* a timestamped Ed25519 cosignature (tlog-cosignature; cosig.h) */

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

/* The signer's key name. */
const char *note_signer_name(const note_signer *s);
/* A raw Ed25519 signature of `msg` with the signer's key, for signature
 * formats built on the same key material (cosig.h). */
int note_signer_sign(const note_signer *s, const void *msg, size_t len, uint8_t sig[64]);

/* Key id of (name, pub) for signature type 0x01. */
void note_key_id(const char *name, const uint8_t pub[32], uint8_t id[4]);
/* Write the verifier key line (no trailing newline). */
int note_key_line(const char *name, const uint8_t pub[32], char *out, size_t cap);
/* Parse a verifier key line. `name` gets at most NOTE_ORIGIN_MAX+1 bytes. */
int note_key_parse(const char *line, char *name, size_t name_cap, uint8_t pub[32], adt_err *err);

/* The same for an Ed25519 key of signature type `type` (NOTE_SIG_*):
 * key id = SHA-256(name || 0x0A || type || pub)[0:4], vkey =
 * <name>+<hex key id>+<base64(type || pub)>. A vkey of another type is refused. */
void note_vkey_id(const char *name, uint8_t type, const uint8_t pub[32], uint8_t id[4]);
int note_vkey_line(const char *name, uint8_t type, const uint8_t pub[32], char *out, size_t cap);
int note_vkey_parse(const char *line, uint8_t type, char *name, size_t name_cap, uint8_t pub[32],
                    adt_err *err);

/* ---------- signed notes with several signatures ---------- */

#define NOTE_TEXT_MAX (64u << 10)  /* bytes of a whole note the parser accepts */
#define NOTE_SIGS_MAX 32           /* signature lines (signed-note: verifiers accept >= 16) */
#define NOTE_SIG_BYTES_MAX 4096    /* decoded key id + signature (ML-DSA-44 cosignatures: 2432) */

/* One signature line, as offsets into the note it was parsed from. */
typedef struct note_sigline {
    size_t line_off, line_len; /* the whole line, "— " to its newline included */
    size_t name_off, name_len; /* the key name */
    size_t b64_off, b64_len;   /* the base64 signature */
    size_t raw_len;            /* its decoded length: 4-byte key id + signature */
    uint8_t id[4];             /* the key id */
} note_sigline;

typedef struct note_parsed {
    size_t text_len;           /* the note text is note[0, text_len), final newline included */
    size_t nsigs;
    note_sigline sigs[NOTE_SIGS_MAX];
} note_parsed;

/* Split a signed note into its text and signature lines, checking what
 * signed-note requires of every line: valid UTF-8, no control characters but
 * newline, the text ended by the last empty line, and each signature line
 * "— <name> <base64>\n" with a name without spaces or '+' and canonical base64
 * of a 4-byte key id and a non-empty signature. A malformed line refuses the
 * whole note (ADT_EINVAL); more than NOTE_SIGS_MAX lines or NOTE_TEXT_MAX
 * bytes give ADT_ETOOBIG. Signatures are not verified here. */
int note_parse(const char *note, size_t len, note_parsed *out, adt_err *err);
/* True if line `sl` of `note` names the key (name, id). */
bool note_sig_by(const char *note, const note_sigline *sl, const char *name, const uint8_t id[4]);
/* The signature bytes after the key id of line `sl` into out[0..cap); *n gets their count. */
int note_sig_bytes(const char *note, const note_sigline *sl, uint8_t *out, size_t cap, size_t *n);
/* Check the type-0x01 signature(s) of (name, pub) in a parsed note: ADT_OK
 * when there is one and every line by that key verifies; ADT_ENOTFOUND when
 * no line names that key; ADT_ECRYPTO when a line by that key fails. */
int note_verify_ed25519(const char *note, const note_parsed *p, const char *name,
                        const uint8_t pub[32], adt_err *err);

/* A checkpoint's text (tlog-checkpoint): origin, size, root, then optional
 * non-empty extension lines (counted, not interpreted). */
typedef struct note_checkpoint {
    char origin[NOTE_ORIGIN_MAX + 1];
    uint64_t size;
    merkle_hash root;
    size_t extensions;
} note_checkpoint;
int note_checkpoint_parse(const char *text, size_t text_len, note_checkpoint *out, adt_err *err);

/* Sign a checkpoint for (origin = signer's name, size, root) into `out`. */
int note_sign_checkpoint(const note_signer *s, uint64_t size, const merkle_hash root, char *out,
                         size_t cap, adt_err *err);
/* Verify a signed checkpoint note against (name, pub); on success return its
 * size and root. Strict: a well-formed note (note_parse), the origin equal to
 * `name`, no extension lines, a valid signature by this key; other keys'
 * signature lines (cosignatures) are allowed and ignored. */
int note_verify_checkpoint(const char *note, size_t len, const char *name, const uint8_t pub[32],
                           uint64_t *size, merkle_hash root, adt_err *err);

#endif
