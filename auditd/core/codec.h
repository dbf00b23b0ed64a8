/* codec.h: binary <-> text: lowercase hex and standard base64 (RFC 4648
 * section 4, with padding). Decoding and base64 use libsodium's
 * constant-time codecs; hex encoding is a plain table (it encodes digests
 * and other public bytes, hot in the ledger; never print a secret with it).
 *
 * Decoding is strict, for untrusted text: the whole input must be valid
 * (no whitespace, no missing or extra padding, hex of either case), and the
 * decoded length must be exactly `want` bytes when `want` is not 0. */
#ifndef AUDITD_CODEC_H
#define AUDITD_CODEC_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Text sizes, with the terminating NUL. */
#define CODEC_HEX_LEN(n) (2 * (n) + 1)
#define CODEC_B64_LEN(n) (4 * (((n) + 2) / 3) + 1)

/* Encode bin[0..n) into out (cap >= CODEC_HEX_LEN(n) / CODEC_B64_LEN(n));
 * returns out, or "" when cap is too small. */
char *codec_hex(const void *bin, size_t n, char *out, size_t cap);
char *codec_b64(const void *bin, size_t n, char *out, size_t cap);

/* Whether s is exactly `len` characters of lowercase hex (the form of the
 * digests auditd writes: codec_hex of a SHA-256 is 64 of them). */
bool codec_is_hex(const char *s, size_t len);

/* Decode text[0..len) into out[0..cap). OUT: *n decoded bytes (may be NULL
 * when `want` is set). ADT_EINVAL naming the problem otherwise. */
int codec_unhex(const char *text, size_t len, uint8_t *out, size_t cap, size_t want, size_t *n,
                adt_err *err);
int codec_unb64(const char *text, size_t len, uint8_t *out, size_t cap, size_t want, size_t *n,
                adt_err *err);

#endif
