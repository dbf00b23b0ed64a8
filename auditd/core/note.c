#include "note.h"

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

/* Decode standard padded base64 exactly: the text must be what encoding the
 * decoded bytes gives back (rejects stray characters, which libsodium 1.0.18's
 * decoder lets through for bytes >= 0x80, and non-canonical padding bits). */
static bool b64_exact(const char *text, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t n = 0;
    if (sodium_base642bin(out, cap, text, len, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    char enc[sodium_base64_ENCODED_LEN(128, sodium_base64_VARIANT_ORIGINAL)];
    if (n > 128)
        return false;
    sodium_bin2base64(enc, sizeof enc, out, n, sodium_base64_VARIANT_ORIGINAL);
    if (strlen(enc) != len || memcmp(enc, text, len) != 0)
        return false;
    *outlen = n;
    return true;
}

void note_key_id(const char *name, const uint8_t pub[32], uint8_t id[4])
{
    crypto_hash_sha256_state st;
    unsigned char h[32];
    static const unsigned char sep[2] = {0x0A, 0x01};
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)name, strlen(name));
    crypto_hash_sha256_update(&st, sep, 2);
    crypto_hash_sha256_update(&st, pub, 32);
    crypto_hash_sha256_final(&st, h);
    memcpy(id, h, 4);
}

int note_key_line(const char *name, const uint8_t pub[32], char *out, size_t cap)
{
    uint8_t id[4], kb[33];
    char b64[64];
    note_key_id(name, pub, id);
    kb[0] = 0x01;
    memcpy(kb + 1, pub, 32);
    sodium_bin2base64(b64, sizeof b64, kb, sizeof kb, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(out, cap, "%s+%02x%02x%02x%02x+%s", name, id[0], id[1], id[2], id[3], b64);
    return (n < 0 || (size_t)n >= cap) ? ADT_ETOOBIG : ADT_OK;
}

int note_key_parse(const char *line, char *name, size_t name_cap, uint8_t pub[32], adt_err *err)
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
    if (!b64_exact(p2 + 1, blen, kb, sizeof kb, &kl) || kl != 33 || kb[0] != 0x01)
        return adt_fail(err, ADT_EINVAL, "verifier key: the key is not base64 of 0x01 || 32-byte Ed25519 key");
    memcpy(pub, kb + 1, 32);
    uint8_t id[4];
    char hex[9];
    note_key_id(name, pub, id);
    snprintf(hex, sizeof hex, "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
    if (memcmp(hex, p1 + 1, 8) != 0)
        return adt_fail(err, ADT_EINVAL, "verifier key: key id %.8s does not match the key", p1 + 1);
    if (!valid_name(name))
        return adt_fail(err, ADT_EINVAL, "verifier key: invalid key name");
    return ADT_OK;
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

int note_verify_checkpoint(const char *note, size_t len, const char *name, const uint8_t pub[32],
                           uint64_t *size, merkle_hash root, adt_err *err)
{
    /* The body ends at the first blank line: "...\n\n". */
    const char *sep = NULL;
    for (size_t i = 0; i + 1 < len; i++)
        if (note[i] == '\n' && note[i + 1] == '\n') {
            sep = note + i;
            break;
        }
    if (!sep)
        return adt_fail(err, ADT_EINVAL, "checkpoint: no blank line between body and signatures");
    size_t body_len = (size_t)(sep - note) + 1;
    /* Body: origin, size, root (extension lines are not used by auditd and refused). */
    const char *l1 = note, *e1 = memchr(l1, '\n', body_len);
    const char *l2 = e1 ? e1 + 1 : NULL, *e2 = l2 ? memchr(l2, '\n', body_len - (size_t)(l2 - note)) : NULL;
    const char *l3 = e2 ? e2 + 1 : NULL, *e3 = l3 ? memchr(l3, '\n', body_len - (size_t)(l3 - note)) : NULL;
    if (!e3 || (size_t)(e3 - note) + 1 != body_len)
        return adt_fail(err, ADT_EINVAL, "checkpoint: the body must be exactly origin, size and root lines");
    if ((size_t)(e1 - l1) != strlen(name) || memcmp(l1, name, (size_t)(e1 - l1)) != 0)
        return adt_fail(err, ADT_EINVAL, "checkpoint: origin is not '%s'", name);
    if ((e2 - l2) > 1 && l2[0] == '0')
        return adt_fail(err, ADT_EINVAL, "checkpoint: tree size has a leading zero");
    uint64_t sz = 0;
    for (const char *c = l2; c < e2; c++) {
        if (*c < '0' || *c > '9' || sz > (UINT64_MAX - 9) / 10)
            return adt_fail(err, ADT_EINVAL, "checkpoint: tree size is not a decimal number");
        sz = sz * 10 + (uint64_t)(*c - '0');
    }
    if (e2 == l2)
        return adt_fail(err, ADT_EINVAL, "checkpoint: empty tree size");
    uint8_t r[32];
    size_t rl = 0;
    if (!b64_exact(l3, (size_t)(e3 - l3), r, sizeof r, &rl) || rl != 32)
        return adt_fail(err, ADT_EINVAL, "checkpoint: root is not base64 of 32 bytes");
    /* Signature lines: "— <name> <base64>\n"; ours must be among them. */
    uint8_t id[4];
    note_key_id(name, pub, id);
    const char *p = sep + 2, *end = note + len;
    bool found = false;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            return adt_fail(err, ADT_EINVAL, "checkpoint: signature line without final newline");
        size_t dl = strlen(EM_DASH " ");
        if ((size_t)(eol - p) < dl || memcmp(p, EM_DASH " ", dl) != 0)
            return adt_fail(err, ADT_EINVAL, "checkpoint: signature line must start with an em dash and a space");
        const char *nm = p + dl, *sp = memchr(nm, ' ', (size_t)(eol - nm));
        if (!sp)
            return adt_fail(err, ADT_EINVAL, "checkpoint: malformed signature line");
        uint8_t sig[80];
        size_t sl = 0;
        if (!b64_exact(sp + 1, (size_t)(eol - sp - 1), sig, sizeof sig, &sl) || sl < 5)
            return adt_fail(err, ADT_EINVAL, "checkpoint: signature is not base64");
        if ((size_t)(sp - nm) == strlen(name) && memcmp(nm, name, (size_t)(sp - nm)) == 0 &&
            memcmp(sig, id, 4) == 0) {
            if (sl != 68 || crypto_sign_verify_detached(sig + 4, (const unsigned char *)note,
                                                        body_len, pub) != 0)
                return adt_fail(err, ADT_ECRYPTO, "checkpoint: the signature by '%s' does not verify", name);
            found = true;
        }
        p = eol + 1;
    }
    if (!found)
        return adt_fail(err, ADT_EAUTH, "checkpoint: no signature by key '%s'", name);
    if (size)
        *size = sz;
    if (root)
        memcpy(root, r, 32);
    return ADT_OK;
}
