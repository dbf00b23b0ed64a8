/* canon.h: strict JSON parsing into canonical bytes.
 *
 * The ledger stores every event as canonical JSON: objects with their members
 * sorted by the UTF-8 bytes of their keys (memcmp order), no insignificant
 * whitespace, strings re-escaped minimally (only '"', '\\' and control
 * characters; \b \f \n \r \t in short form, other controls as \u00XX with
 * lowercase hex), non-ASCII kept as raw UTF-8, numbers kept exactly as
 * submitted (after checking the JSON number grammar), so no precision is lost.
 *
 * Input is untrusted: it must be valid UTF-8 (no overlongs, no surrogates),
 * valid JSON (RFC 8259), without duplicate keys, and within `canon_limits`.
 * Anything else is refused with ADT_EINVAL (or ADT_ETOOBIG) and a message
 * naming the byte offset and the problem. */
#ifndef AUDITD_CANON_H
#define AUDITD_CANON_H

#include "buf.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct canon_limits {
    size_t max_bytes;   /* input size limit */
    int max_depth;      /* nesting of arrays/objects; 1 = a flat object */
    size_t max_members; /* total values in the document */
} canon_limits;

/* The defaults used for submitted events: 64 KiB, depth 16, 4096 values. */
extern const canon_limits canon_event_limits;

/* Parse `in[0..len)` and append its canonical form to `out`.
 * If `require_object` the top-level value must be an object. */
int canon_json(const char *in, size_t len, const canon_limits *lim, bool require_object,
               buf *out, adt_err *err);

/* Whether in[0..len) is, byte for byte, what canon_json(in, len, lim,
 * require_object = true) would produce: then it may be stored as it is.
 * One pass, no allocation. False means "not known to be canonical", never
 * "invalid": the caller then runs canon_json, which canonicalises or
 * refuses with its message. So it declines, besides anything not canonical
 * (whitespace, members out of byte order, a duplicate key, \/ or \u0041),
 * whatever canon_json would have to check more closely: any backslash in a
 * string, a number with an exponent, input over lim's limits. */
bool canon_is_canonical(const char *in, size_t len, const canon_limits *lim);

/* Find top-level member `key` in a canonical (or any valid) JSON object and
 * return the span of its raw value (for a string, including the quotes).
 * Does not allocate; a fast structural scan. Returns ADT_ENOTFOUND if absent,
 * ADT_EINVAL if `json` is not an object. */
int canon_member(const char *json, size_t len, const char *key, const char **val,
                 size_t *vlen);

/* Index just past the JSON value that starts at json[i], for valid JSON
 * (structural skip only; may return a value > len on truncated input). */
size_t canon_skip_value(const char *json, size_t len, size_t i);

/* Decode the JSON string value v[0..vlen) (with its quotes, e.g. a span from
 * canon_member) into out[0..cap) as NUL-terminated UTF-8. ADT_OK; ADT_EINVAL
 * if it is not exactly one valid JSON string; ADT_ETOOBIG if its text is
 * cap bytes or longer. OUT: *outlen (may be NULL). */
int canon_unquote(const char *v, size_t vlen, char *out, size_t cap, size_t *outlen);

/* Append `s` (raw UTF-8, `n` bytes) as a canonical JSON string with quotes. */
int canon_put_string(buf *out, const char *s, size_t n);

/* Check that `s[0..n)` is well-formed UTF-8 (no overlongs or surrogates). */
bool canon_utf8_valid(const char *s, size_t n);

#endif
