/* sha256.h: SHA-256 (FIPS 180-4), the hash of the ledger's tree, of batch
 * and dataset digests, of profiles, policies and model files.
 *
 * One-shot and incremental forms, and the lowercase hex text auditd prints
 * and stores digests as. */
#ifndef AUDITD_SHA256_H
#define AUDITD_SHA256_H

#include "status.h"

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 65 /* 64 digits and the NUL */

typedef struct sha256_ctx {
    crypto_hash_sha256_state st;
} sha256_ctx;

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[SHA256_LEN]);

/* Lowercase hex of SHA-256(data). */
void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN]);
/* Lowercase hex of a digest. */
void sha256_final_hex(sha256_ctx *c, char hex[SHA256_HEX_LEN]);
/* Lowercase hex of SHA-256 of the file at `path`, read in chunks; files over
 * `max` bytes are refused with ADT_ETOOBIG, a missing one is ADT_ENOTFOUND. */
int sha256_file_hex(const char *path, uint64_t max, char hex[SHA256_HEX_LEN], adt_err *err);

#endif
