/* sha256.h: SHA-256 (FIPS 180-4), the hash of the ledger's tree, of batch
 * and dataset digests, of profiles, policies and model files.
 *
 * One-shot and incremental forms, and the lowercase hex text auditd prints
 * and stores digests as.
 *
 * Implemented with OpenSSL's libcrypto, which uses the CPU's SHA extensions
 * (x86 SHA-NI, ARMv8 SHA2) where there are some and vectorised code
 * elsewhere: about 5 times libsodium's portable SHA-256 on this project's
 * machines (docs/dependencies.md). The results are the same bytes
 * (tests/core/test_merkle.c checks both on the RFC 6962 vectors). */
#ifndef AUDITD_SHA256_H
#define AUDITD_SHA256_H

#include "status.h"

#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 65 /* 64 digits and the NUL */

typedef struct sha256_ctx {
    SHA256_CTX st;
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
