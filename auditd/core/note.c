#include "note.h"

#include "numparse.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EM_DASH "\xE2\x80\x94"
#define KEY_FILE_MAGIC "auditd-ed25519-secret-v1\n"

struct note_signer {
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    uint8_t id[4];
    unsigned char *sk; /* sodium_malloc'd, crypto_sign_SECRETKEYBYTES */
};

static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > NOTE_ORIGIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c >= 0x7F || c == '+')
            return false;
    }
    return true;
}

/* The value of a standard base64 digit, or -1. */
static int b64_digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode standard padded base64 (RFC 4648 section 4) exactly: only the
 * alphabet, padding to a multiple of 4, and zero unused bits, so that the
 * text is the one encoding of the bytes (libsodium 1.0.18's decoder lets
 * bytes >= 0x80 through, and accepts non-canonical padding bits). */
static bool b64_exact(const char *text, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    if (len % 4)
        return false;
    size_t pad = 0;
    if (len && text[len - 1] == '=')
        pad = text[len - 2] == '=' ? 2 : 1;
    size_t n = len / 4 * 3 - pad;
    if (n > cap)
        return false;
    uint32_t acc = 0;
    size_t o = 0;
    for (size_t i = 0; i < len - pad; i++) {
        int v = b64_digit((unsigned char)text[i]);
        if (v < 0)
            return false;
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (pad == 2) {
        if (acc & 0x0F)
            return false;
        out[o++] = (uint8_t)(acc >> 4);
    } else if (pad == 1) {
        if (acc & 0x03)
            return false;
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    *outlen = o;
    return true;
}

void note_vkey_id(const char *name, uint8_t type, const uint8_t pub[32], uint8_t id[4])
{
    crypto_hash_sha256_state st;
    unsigned char h[32];
    const unsigned char sep[2] = {0x0A, type};
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)name, strlen(name));
    crypto_hash_sha256_update(&st, sep, 2);
    crypto_hash_sha256_update(&st, pub, 32);
    crypto_hash_sha256_final(&st, h);
    memcpy(id, h, 4);
}

void note_key_id(const char *name, const uint8_t pub[32], uint8_t id[4])
{
    note_vkey_id(name, NOTE_SIG_ED25519, pub, id);
}

int note_vkey_line(const char *name, uint8_t type, const uint8_t pub[32], char *out, size_t cap)
{
    uint8_t id[4], kb[33];
    char b64[64];
    note_vkey_id(name, type, pub, id);
    kb[0] = type;
    memcpy(kb + 1, pub, 32);
    sodium_bin2base64(b64, sizeof b64, kb, sizeof kb, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(out, cap, "%s+%02x%02x%02x%02x+%s", name, id[0], id[1], id[2], id[3], b64);
    return (n < 0 || (size_t)n >= cap) ? ADT_ETOOBIG : ADT_OK;
}

int note_key_line(const char *name, const uint8_t pub[32], char *out, size_t cap)
{
    return note_vkey_line(name, NOTE_SIG_ED25519, pub, out, cap);
}

int note_vkey_parse(const char *line, uint8_t type, char *name, size_t name_cap, uint8_t pub[32],
                    adt_err *err)
{
    const char *p1 = strchr(line, '+');
    const char *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
    if (!p1 || !p2 || (size_t)(p1 - line) >= name_cap || p2 - p1 != 9)
        return adt_fail(err, ADT_EINVAL, "verifier key must be <name>+<8 hex key id>+<base64 key>");
    memcpy(name, line, (size_t)(p1 - line));
    name[p1 - line] = '\0';
    size_t blen = strcspn(p2 + 1, "\r\n");
    uint8_t kb[40];
    size_t kl = 0;
    if (!b64_exact(p2 + 1, blen, kb, sizeof kb, &kl) || kl != 33 || kb[0] != type)
        return adt_fail(err, ADT_EINVAL, "verifier key: the key is not base64 of 0x%02x || 32-byte "
                        "Ed25519 key%s", type, type == NOTE_SIG_COSIG_V1 ? " (a cosignature key)" : "");
    memcpy(pub, kb + 1, 32);
    uint8_t id[4];
    char hex[9];
    note_vkey_id(name, type, pub, id);
    snprintf(hex, sizeof hex, "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
    if (memcmp(hex, p1 + 1, 8) != 0)
        return adt_fail(err, ADT_EINVAL, "verifier key: key id %.8s does not match the key", p1 + 1);
    if (!valid_name(name))
        return adt_fail(err, ADT_EINVAL, "verifier key: invalid key name");
    return ADT_OK;
}

int note_key_parse(const char *line, char *name, size_t name_cap, uint8_t pub[32], adt_err *err)
{
    return note_vkey_parse(line, NOTE_SIG_ED25519, name, name_cap, pub, err);
}

static int keygen(const char *secret_path, const uint8_t *given_seed, uint8_t pub[32], adt_err *err);

int note_keygen(const char *secret_path, uint8_t pub[32], adt_err *err)
{
    return keygen(secret_path, NULL, pub, err);
}

int note_keygen_seeded(const char *secret_path, const uint8_t seed[32], uint8_t pub[32],
                       adt_err *err)
{
    return keygen(secret_path, seed, pub, err);
}

static int keygen(const char *secret_path, const uint8_t *given_seed, uint8_t pub[32], adt_err *err)
{
    if (sodium_init() < 0)
        return adt_fail(err, ADT_ECRYPTO, "libsodium failed to initialise");
    unsigned char *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    if (!sk)
        return adt_fail(err, ADT_ENOMEM, "sodium_malloc failed");
    if (given_seed)
        crypto_sign_seed_keypair(pub, sk, given_seed);
    else
        crypto_sign_keypair(pub, sk);
    int fd = open(secret_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        sodium_free(sk);
        return adt_fail(err, errno == EEXIST ? ADT_EEXIST : ADT_EIO, "cannot create key file %s: %s",
                        secret_path, strerror(errno));
    }
    /* Stored as the 32-byte seed (the secret key's first half); the rest is derivable. */
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
    unsigned char *seed = sodium_malloc(32);
    int rc = ADT_OK;
    if (!seed) {
        rc = adt_fail(err, ADT_ENOMEM, "sodium_malloc failed");
    } else {
        crypto_sign_ed25519_sk_to_seed(seed, sk);
        sodium_bin2base64(b64, sizeof b64, seed, 32, sodium_base64_VARIANT_ORIGINAL);
        size_t l1 = strlen(KEY_FILE_MAGIC), l2 = strlen(b64);
        if (write(fd, KEY_FILE_MAGIC, l1) != (ssize_t)l1 || write(fd, b64, l2) != (ssize_t)l2 ||
            write(fd, "\n", 1) != 1 || fsync(fd) != 0)
            rc = adt_fail(err, ADT_EIO, "writing key file %s: %s", secret_path, strerror(errno));
        sodium_memzero(b64, sizeof b64);
        sodium_free(seed);
    }
    close(fd);
    sodium_free(sk);
    if (rc)
        unlink(secret_path);
    return rc;
}

int note_signer_load(const char *secret_path, const char *name, note_signer **out, adt_err *err)
{
    if (sodium_init() < 0)
        return adt_fail(err, ADT_ECRYPTO, "libsodium failed to initialise");
    if (!valid_name(name))
        return adt_fail(err, ADT_EINVAL, "invalid key name '%s': printable ASCII without spaces or '+'", name);
    int fd = open(secret_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return adt_fail(err, ADT_EIO, "cannot open key file %s: %s", secret_path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        close(fd);
        return adt_fail(err, ADT_EFORBIDDEN,
                        "key file %s must be readable by its owner only (chmod 600 %s)",
                        secret_path, secret_path);
    }
    char *text = sodium_malloc(256);
    if (!text) {
        close(fd);
        return adt_fail(err, ADT_ENOMEM, "sodium_malloc failed");
    }
    ssize_t n = read(fd, text, 255);
    close(fd);
    size_t ml = strlen(KEY_FILE_MAGIC);
    if (n < (ssize_t)ml || memcmp(text, KEY_FILE_MAGIC, ml) != 0) {
        sodium_free(text);
        return adt_fail(err, ADT_EINVAL, "%s is not an auditd secret key file", secret_path);
    }
    text[n] = '\0';
    note_signer *s = calloc(1, sizeof *s);
    unsigned char *seed = sodium_malloc(32);
    if (s)
        s->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    if (!s || !seed || !s->sk) {
        sodium_free(text);
        sodium_free(seed);
        if (s)
            sodium_free(s->sk);
        free(s);
        return adt_fail(err, ADT_ENOMEM, "sodium_malloc failed");
    }
    size_t sl = 0;
    size_t b64len = strcspn(text + ml, "\r\n");
    int rc = ADT_OK;
    if (sodium_base642bin(seed, 32, text + ml, b64len, NULL, &sl, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        sl != 32) {
        rc = adt_fail(err, ADT_EINVAL, "%s: the secret key is not valid base64 of 32 bytes", secret_path);
    } else {
        crypto_sign_seed_keypair(s->pub, s->sk, seed);
        snprintf(s->name, sizeof s->name, "%s", name);
        note_key_id(name, s->pub, s->id);
        sodium_mprotect_readonly(s->sk);
    }
    sodium_free(seed);
    sodium_free(text);
    if (rc) {
        note_signer_free(s);
        return rc;
    }
    *out = s;
    return ADT_OK;
}

void note_signer_free(note_signer *s)
{
    if (!s)
        return;
    sodium_free(s->sk); /* sodium_free wipes the memory */
    free(s);
}

const uint8_t *note_signer_pub(const note_signer *s) { return s->pub; }

int note_sign_checkpoint(const note_signer *s, uint64_t size, const merkle_hash root, char *out,
                         size_t cap, adt_err *err)
{
    char rb64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(rb64, sizeof rb64, root, 32, sodium_base64_VARIANT_ORIGINAL);
    int bl = snprintf(out, cap, "%s\n%llu\n%s\n", s->name, (unsigned long long)size, rb64);
    if (bl < 0 || (size_t)bl >= cap)
        return adt_fail(err, ADT_ETOOBIG, "checkpoint does not fit");
    uint8_t sig[4 + 64];
    memcpy(sig, s->id, 4);
    if (crypto_sign_detached(sig + 4, NULL, (const unsigned char *)out, (unsigned long long)bl,
                             s->sk) != 0)
        return adt_fail(err, ADT_ECRYPTO, "signing the checkpoint failed");
    char sb64[sodium_base64_ENCODED_LEN(68, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(sb64, sizeof sb64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(out + bl, cap - (size_t)bl, "\n" EM_DASH " %s %s\n", s->name, sb64);
    if (n < 0 || (size_t)n >= cap - (size_t)bl)
        return adt_fail(err, ADT_ETOOBIG, "checkpoint does not fit");
    return ADT_OK;
}

const char *note_signer_name(const note_signer *s) { return s->name; }

int note_signer_sign(const note_signer *s, const void *msg, size_t len, uint8_t sig[64])
{
    return crypto_sign_detached(sig, NULL, msg, (unsigned long long)len, s->sk) == 0 ? ADT_OK
                                                                                   : ADT_ECRYPTO;
}

/* ---------- parsing signed notes ---------- */

/* Length of the UTF-8 sequence at p[0..n) that encodes one code point, with
 * the code point in *cp; 0 if the bytes are not valid UTF-8 (overlong forms,
 * surrogates and values above U+10FFFF are invalid, RFC 3629). */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((p[0] & 0xE0) == 0xC0) {
        len = 2, c = p[0] & 0x1Fu, min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        len = 3, c = p[0] & 0x0Fu, min = 0x800;
    } else if ((p[0] & 0xF8) == 0xF0) {
        len = 4, c = p[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* Unicode White_Space code points (signed-note: key names contain none). */
static bool unicode_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* A key name as signed-note requires: non-empty, no Unicode space, no '+'
 * (the text is already known to be valid UTF-8). */
static bool sig_name_ok(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t l = utf8_next((const unsigned char *)p + i, n - i, &c);
        if (l == 0 || unicode_space(c) || c == '+')
            return false;
        i += l;
    }
    return true;
}

int note_parse(const char *note, size_t len, note_parsed *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    if (len > NOTE_TEXT_MAX)
        return adt_fail(err, ADT_ETOOBIG, "signed note: %zu bytes is over the limit of %u", len,
                        NOTE_TEXT_MAX);
    /* Valid UTF-8 without ASCII control characters other than newline. */
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t l = utf8_next((const unsigned char *)note + i, len - i, &c);
        if (l == 0)
            return adt_fail(err, ADT_EINVAL, "signed note: byte %zu is not valid UTF-8", i);
        if ((c < 0x20 && c != '\n') || c == 0x7F)
            return adt_fail(err, ADT_EINVAL, "signed note: control character 0x%02x at byte %zu "
                            "(only newline is allowed)", (unsigned)c, i);
        i += l;
    }
    if (len == 0 || note[len - 1] != '\n')
        return adt_fail(err, ADT_EINVAL, "signed note: must end with a newline");
    /* The text is separated from the signatures by the last empty line. */
    size_t sep = len;
    for (size_t i = len - 1; i > 0; i--)
        if (note[i] == '\n' && note[i - 1] == '\n') {
            sep = i;
            break;
        }
    if (sep == len)
        return adt_fail(err, ADT_EINVAL, "signed note: no empty line between the text and the "
                        "signatures");
    out->text_len = sep; /* the text ends with note[sep - 1] == '\n' */
    static const char lead[] = EM_DASH " ";
    const size_t ll = sizeof lead - 1;
    for (size_t p = sep + 1; p < len;) {
        const char *line = note + p;
        const char *eol = memchr(line, '\n', len - p);
        size_t n = (size_t)(eol - line); /* the note ends with '\n': eol exists */
        if (out->nsigs == NOTE_SIGS_MAX)
            return adt_fail(err, ADT_ETOOBIG, "signed note: more than %d signature lines",
                            NOTE_SIGS_MAX);
        if (n < ll || memcmp(line, lead, ll) != 0)
            return adt_fail(err, ADT_EINVAL, "signed note: signature line %zu must start with an em "
                            "dash (U+2014) and a space", out->nsigs + 1);
        const char *nm = line + ll;
        const char *sp = memchr(nm, ' ', n - ll);
        if (!sp || !sig_name_ok(nm, (size_t)(sp - nm)))
            return adt_fail(err, ADT_EINVAL, "signed note: signature line %zu needs a key name "
                            "(no spaces or '+'), a space and the base64 signature",
                            out->nsigs + 1);
        const char *b64 = sp + 1;
        size_t bl = (size_t)(eol - b64);
        uint8_t head[3];
        size_t hl = 0;
        /* Check the whole signature is canonical base64 of 4 + n bytes (n >= 1)
         * without keeping it: decode group by group into a small buffer. */
        if (bl < 8 || bl % 4 || bl / 4 * 3 > NOTE_SIG_BYTES_MAX + 2)
            return adt_fail(err, ADT_EINVAL, "signed note: signature line %zu: the signature is not "
                            "base64 of a key id and a signature of at most %d bytes", out->nsigs + 1,
                            NOTE_SIG_BYTES_MAX - 4);
        size_t raw = 0;
        for (size_t g = 0; g < bl; g += 4) {
            if (!b64_exact(b64 + g, 4, head, sizeof head, &hl))
                return adt_fail(err, ADT_EINVAL, "signed note: signature line %zu: the signature is "
                                "not canonical base64", out->nsigs + 1);
            if (hl < 3 && g + 4 != bl)
                return adt_fail(err, ADT_EINVAL, "signed note: signature line %zu: base64 padding "
                                "inside the signature", out->nsigs + 1);
            if (g == 0)
                memcpy(out->sigs[out->nsigs].id, head, 3);
            else if (g == 4)
                out->sigs[out->nsigs].id[3] = head[0];
            raw += hl;
        }
        if (raw < 5 || raw > NOTE_SIG_BYTES_MAX)
            return adt_fail(err, ADT_EINVAL, "signed note: signature line %zu: the signature is not "
                            "base64 of a key id and a signature of at most %d bytes", out->nsigs + 1,
                            NOTE_SIG_BYTES_MAX - 4);
        note_sigline *sl = &out->sigs[out->nsigs++];
        sl->line_off = p;
        sl->line_len = n + 1;
        sl->name_off = (size_t)(nm - note);
        sl->name_len = (size_t)(sp - nm);
        sl->b64_off = (size_t)(b64 - note);
        sl->b64_len = bl;
        sl->raw_len = raw;
        p += n + 1;
    }
    if (out->nsigs == 0)
        return adt_fail(err, ADT_EINVAL, "signed note: no signature lines after the empty line");
    return ADT_OK;
}

bool note_sig_by(const char *note, const note_sigline *sl, const char *name, const uint8_t id[4])
{
    size_t n = strlen(name);
    return sl->name_len == n && memcmp(note + sl->name_off, name, n) == 0 &&
           memcmp(sl->id, id, 4) == 0;
}

int note_sig_bytes(const char *note, const note_sigline *sl, uint8_t *out, size_t cap, size_t *n)
{
    uint8_t *raw = malloc(sl->raw_len + 3);
    size_t rl = 0;
    if (!raw)
        return ADT_ENOMEM;
    bool ok = b64_exact(note + sl->b64_off, sl->b64_len, raw, sl->raw_len + 3, &rl) &&
              rl == sl->raw_len && rl - 4 <= cap;
    if (ok) {
        memcpy(out, raw + 4, rl - 4);
        *n = rl - 4;
    }
    free(raw);
    return ok ? ADT_OK : ADT_EINVAL;
}

int note_verify_ed25519(const char *note, const note_parsed *p, const char *name,
                        const uint8_t pub[32], adt_err *err)
{
    uint8_t id[4];
    note_key_id(name, pub, id);
    bool found = false;
    for (size_t i = 0; i < p->nsigs; i++) {
        if (!note_sig_by(note, &p->sigs[i], name, id))
            continue;
        uint8_t sig[64];
        size_t sl = 0;
        if (p->sigs[i].raw_len != 68 || note_sig_bytes(note, &p->sigs[i], sig, sizeof sig, &sl) ||
            crypto_sign_verify_detached(sig, (const unsigned char *)note, p->text_len, pub) != 0)
            return adt_fail(err, ADT_ECRYPTO, "the signature by '%s' does not verify", name);
        found = true;
    }
    if (!found)
        return adt_fail(err, ADT_ENOTFOUND, "no signature by key '%s'", name);
    return ADT_OK;
}

int note_checkpoint_parse(const char *text, size_t text_len, note_checkpoint *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    const char *end = text + text_len, *line[3] = {0}, *eol[3] = {0};
    const char *p = text;
    for (int i = 0; i < 3; i++) {
        const char *e = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        if (!e || e == p)
            return adt_fail(err, ADT_EINVAL, "checkpoint: the text must start with three non-empty "
                            "lines: origin, tree size, root hash");
        line[i] = p;
        eol[i] = e;
        p = e + 1;
    }
    size_t ol = (size_t)(eol[0] - line[0]);
    if (ol > NOTE_ORIGIN_MAX)
        return adt_fail(err, ADT_EINVAL, "checkpoint: the origin is longer than %d bytes",
                        NOTE_ORIGIN_MAX);
    memcpy(out->origin, line[0], ol);
    out->origin[ol] = '\0';
    const char *sz = line[1];
    size_t szl = (size_t)(eol[1] - sz);
    if ((szl > 1 && sz[0] == '0') || num_u64n(sz, szl, UINT64_MAX, &out->size) != ADT_OK)
        return adt_fail(err, ADT_EINVAL, "checkpoint: the tree size must be a decimal number without "
                        "leading zeroes");
    size_t rl = 0;
    if (!b64_exact(line[2], (size_t)(eol[2] - line[2]), out->root, sizeof out->root, &rl) || rl != 32)
        return adt_fail(err, ADT_EINVAL, "checkpoint: the root hash is not base64 of 32 bytes");
    /* Extension lines: opaque, but non-empty. */
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e || e == p)
            return adt_fail(err, ADT_EINVAL, "checkpoint: an extension line is empty or unterminated");
        out->extensions++;
        p = e + 1;
    }
    return ADT_OK;
}

int note_verify_checkpoint(const char *note, size_t len, const char *name, const uint8_t pub[32],
                           uint64_t *size, merkle_hash root, adt_err *err)
{
    note_parsed *np = malloc(sizeof *np);
    if (!np)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    note_checkpoint cp;
    int rc = note_parse(note, len, np, err);
    if (!rc)
        rc = note_checkpoint_parse(note, np->text_len, &cp, err);
    if (!rc && cp.extensions)
        rc = adt_fail(err, ADT_EINVAL, "checkpoint: the body must be exactly origin, size and root lines");
    if (!rc && strcmp(cp.origin, name) != 0)
        rc = adt_fail(err, ADT_EINVAL, "checkpoint: origin is not '%s'", name);
    if (!rc) {
        rc = note_verify_ed25519(note, np, name, pub, err);
        if (rc == ADT_ENOTFOUND)
            rc = ADT_EAUTH;
        if (rc)
            adt_err_prefix(err, "checkpoint");
    }
    free(np);
    if (rc)
        return rc;
    if (size)
        *size = cp.size;
    if (root)
        memcpy(root, cp.root, 32);
    return ADT_OK;
}
