/* agentsig.h: the signature an agent puts on every request (docs/api.md).
 *
 * Header (one line, no spaces inside values):
 *   Authorization: AuditdAgent name=<agent>,ts=<unix seconds>,seq=<n>,sig=<base64>
 * The Ed25519 signature (standard padded base64 of 64 bytes) covers the
 * message built by agentsig_message():
 *   "auditd-agent-sig-v1\n<METHOD>\n<PATH>\n<agent>\n<ts>\n<seq>\n<hex sha256(body)>\n"
 * PATH is the request path without the query string. `seq` must be strictly
 * greater than the agent's last accepted seq; `ts` within the server's skew.
 *
 * The accepted signature is recorded in each leaf as canonical JSON
 * (agentsig_json) so anyone can rebuild the message and check it offline. */
#ifndef AUDITD_AGENTSIG_H
#define AUDITD_AGENTSIG_H

#include "buf.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENTSIG_SCHEME "AuditdAgent"
#define AGENTSIG_NAME_MAX 64
#define AGENTSIG_HDR_MAX 512
#define AGENTSIG_KEYID_HEX 16 /* hex of the first 8 bytes of SHA-256(pubkey) */

typedef struct agentsig_hdr {
    char name[AGENTSIG_NAME_MAX + 1];
    int64_t ts;
    uint64_t seq;
    uint8_t sig[64];
} agentsig_hdr;

/* True if `s[0..n)` is a valid agent or token name: 1..64 of [A-Za-z0-9._-]. */
bool agentsig_name_valid(const char *s, size_t n);

/* Parse an Authorization header value that starts with "AuditdAgent ".
 * Strict: exactly the four fields, each once, in any order. */
int agentsig_parse(const char *value, size_t len, agentsig_hdr *out, adt_err *err);

/* Write the header value (without "Authorization: ") into out[cap]. */
int agentsig_format(const agentsig_hdr *h, char *out, size_t cap);

/* Append the signed message to `out`. */
int agentsig_message(buf *out, const char *method, const char *path, const char *name, int64_t ts,
                     uint64_t seq, const uint8_t body_sha256[32]);

/* Key id of an agent public key: 16 lowercase hex chars + NUL. */
void agentsig_key_id(const uint8_t pub[32], char out[AGENTSIG_KEYID_HEX + 1]);

/* Sign: fills h->sig. `sk` is a libsodium 64-byte Ed25519 secret key. */
int agentsig_sign(agentsig_hdr *h, const char *method, const char *path,
                  const uint8_t body_sha256[32], const uint8_t sk[64], adt_err *err);
/* Verify h->sig against `pub`. ADT_OK or ADT_EAUTH. */
int agentsig_verify(const agentsig_hdr *h, const char *method, const char *path,
                    const uint8_t body_sha256[32], const uint8_t pub[32], adt_err *err);

/* The canonical JSON record of an accepted signature (keys sorted):
 * {"agent","alg":"ed25519","body_sha256":hex,"key_id","method","path","seq",
 *  "signature":base64,"ts","v":1} */
int agentsig_json(buf *out, const agentsig_hdr *h, const uint8_t pub[32], const char *method,
                  const char *path, const uint8_t body_sha256[32]);

/* Check a recorded signature (the leaf's "sig" object, as produced by
 * agentsig_json) with `pub`: rebuild the message from its fields and verify.
 * On success `body_sha256` gets the signed body hash and `seq` the seq. */
int agentsig_verify_record(const char *json, size_t len, const uint8_t pub[32],
                           uint8_t body_sha256[32], uint64_t *seq, adt_err *err);

/* Key files: one line, standard base64 of the 32-byte Ed25519 seed.
 * agentsig_key_write creates `path` exclusively with mode 0600.
 * agentsig_key_load refuses files readable by group or others; `sk` (64 bytes)
 * should be sodium_malloc'd by the caller. */
int agentsig_key_write(const char *path, uint8_t pub[32], adt_err *err);
int agentsig_key_load(const char *path, uint8_t *sk, uint8_t pub[32], adt_err *err);

/* Standard padded base64 helpers (libsodium). decode: exact length wanted. */
int agentsig_b64(const uint8_t *bin, size_t n, char *out, size_t cap);
int agentsig_unb64(const char *s, size_t len, uint8_t *bin, size_t want, adt_err *err);
void agentsig_hex(const uint8_t *bin, size_t n, char *out);

#endif
