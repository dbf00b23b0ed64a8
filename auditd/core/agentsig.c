#include "agentsig.h"

#include "canon.h"
#include "codec.h"
#include "numparse.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSG_TAG "auditd-agent-sig-v1"

bool agentsig_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > AGENTSIG_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* The hex and base64 of the signature scheme are core's codecs (codec.h). */
void agentsig_hex(const uint8_t *bin, size_t n, char *out)
{
    codec_hex(bin, n, out, CODEC_HEX_LEN(n));
}

int agentsig_b64(const uint8_t *bin, size_t n, char *out, size_t cap)
{
    if (cap < CODEC_B64_LEN(n))
        return ADT_ENOMEM;
    codec_b64(bin, n, out, cap);
    return ADT_OK;
}

int agentsig_unb64(const char *s, size_t len, uint8_t *bin, size_t want, adt_err *err)
{
    if (len != CODEC_B64_LEN(want) - 1 || codec_unb64(s, len, bin, want, want, NULL, err))
        return adt_fail(err, ADT_EINVAL, "expected standard padded base64 of %zu bytes", want);
    return ADT_OK;
}

int agentsig_parse(const char *v, size_t len, agentsig_hdr *out, adt_err *err)
{
    static const char scheme[] = AGENTSIG_SCHEME " ";
    memset(out, 0, sizeof *out);
    if (len > AGENTSIG_HDR_MAX)
        return adt_fail(err, ADT_EAUTH, "agent signature header is longer than %d bytes",
                        AGENTSIG_HDR_MAX);
    if (len < sizeof scheme - 1 || memcmp(v, scheme, sizeof scheme - 1))
        return adt_fail(err, ADT_EAUTH, "authorization scheme is not '" AGENTSIG_SCHEME "'");
    const char *p = v + sizeof scheme - 1, *end = v + len;
    while (p < end && *p == ' ')
        p++;
    unsigned seen = 0;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *fe = comma ? comma : end;
        const char *eq = memchr(p, '=', (size_t)(fe - p));
        if (!eq)
            return adt_fail(err, ADT_EAUTH, "agent signature field without '=': use name=,ts=,seq=,sig=");
        size_t kl = (size_t)(eq - p), vl = (size_t)(fe - eq - 1);
        const char *val = eq + 1;
        unsigned bit;
        if (kl == 4 && !memcmp(p, "name", 4)) {
            bit = 1;
            if (!agentsig_name_valid(val, vl))
                return adt_fail(err, ADT_EAUTH, "agent name must be 1..64 of [A-Za-z0-9._-]");
            memcpy(out->name, val, vl);
            out->name[vl] = '\0';
        } else if (kl == 2 && !memcmp(p, "ts", 2)) {
            bit = 2;
            uint64_t t;
            if (vl == 0 || vl > 19 || num_u64n(val, vl, INT64_MAX, &t))
                return adt_fail(err, ADT_EAUTH, "agent signature ts must be Unix seconds");
            out->ts = (int64_t)t;
        } else if (kl == 3 && !memcmp(p, "seq", 3)) {
            bit = 4;
            if (vl == 0 || vl > 19 || num_u64n(val, vl, INT64_MAX, &out->seq) || out->seq == 0)
                return adt_fail(err, ADT_EAUTH, "agent signature seq must be an integer in 1..2^63-1");
        } else if (kl == 3 && !memcmp(p, "sig", 3)) {
            bit = 8;
            adt_err e2;
            if (agentsig_unb64(val, vl, out->sig, 64, &e2))
                return adt_fail(err, ADT_EAUTH, "agent signature sig: %s", e2.msg);
        } else {
            return adt_fail(err, ADT_EAUTH, "unknown agent signature field '%.*s'",
                            (int)(kl > 32 ? 32 : kl), p);
        }
        if (seen & bit)
            return adt_fail(err, ADT_EAUTH, "agent signature field '%.*s' given twice", (int)kl, p);
        seen |= bit;
        p = comma ? comma + 1 : end;
        if (comma && p == end)
            return adt_fail(err, ADT_EAUTH, "agent signature header ends with ','");
    }
    if (seen != 15)
        return adt_fail(err, ADT_EAUTH, "agent signature header needs name, ts, seq and sig");
    return ADT_OK;
}

int agentsig_format(const agentsig_hdr *h, char *out, size_t cap)
{
    char b64[100];
    agentsig_b64(h->sig, 64, b64, sizeof b64);
    int n = snprintf(out, cap, AGENTSIG_SCHEME " name=%s,ts=%lld,seq=%llu,sig=%s", h->name,
                     (long long)h->ts, (unsigned long long)h->seq, b64);
    return n < 0 || (size_t)n >= cap ? ADT_ENOMEM : ADT_OK;
}

int agentsig_message(buf *out, const char *method, const char *path, const char *name, int64_t ts,
                     uint64_t seq, const uint8_t body_sha256[32])
{
    char hx[65];
    agentsig_hex(body_sha256, 32, hx);
    return buf_printf(out, MSG_TAG "\n%s\n%s\n%s\n%lld\n%llu\n%s\n", method, path, name,
                      (long long)ts, (unsigned long long)seq, hx);
}

void agentsig_key_id(const uint8_t pub[32], char out[AGENTSIG_KEYID_HEX + 1])
{
    uint8_t h[32];
    crypto_hash_sha256(h, pub, 32);
    agentsig_hex(h, AGENTSIG_KEYID_HEX / 2, out);
}

int agentsig_sign(agentsig_hdr *h, const char *method, const char *path,
                  const uint8_t body_sha256[32], const uint8_t sk[64], adt_err *err)
{
    buf m;
    buf_init(&m, 8192);
    int rc = agentsig_message(&m, method, path, h->name, h->ts, h->seq, body_sha256);
    if (rc) {
        buf_free(&m);
        return adt_fail(err, rc, "request path too long to sign");
    }
    crypto_sign_detached(h->sig, NULL, (const unsigned char *)m.data, m.len, sk);
    buf_free(&m);
    return ADT_OK;
}

int agentsig_verify(const agentsig_hdr *h, const char *method, const char *path,
                    const uint8_t body_sha256[32], const uint8_t pub[32], adt_err *err)
{
    buf m;
    buf_init(&m, 8192);
    int rc = agentsig_message(&m, method, path, h->name, h->ts, h->seq, body_sha256);
    if (!rc && crypto_sign_verify_detached(h->sig, (const unsigned char *)m.data, m.len, pub))
        rc = ADT_EAUTH;
    buf_free(&m);
    if (rc)
        return adt_fail(err, ADT_EAUTH, "agent signature does not verify with agent '%s''s key",
                        h->name);
    return ADT_OK;
}

int agentsig_json(buf *out, const agentsig_hdr *h, const uint8_t pub[32], const char *method,
                  const char *path, const uint8_t body_sha256[32])
{
    char hx[65], kid[AGENTSIG_KEYID_HEX + 1], b64[100];
    agentsig_hex(body_sha256, 32, hx);
    agentsig_key_id(pub, kid);
    agentsig_b64(h->sig, 64, b64, sizeof b64);
    int rc = buf_puts(out, "{\"agent\":");
    if (!rc)
        rc = canon_put_string(out, h->name, strlen(h->name));
    if (!rc)
        rc = buf_printf(out, ",\"alg\":\"ed25519\",\"body_sha256\":\"%s\",\"key_id\":\"%s\",\"method\":",
                        hx, kid);
    if (!rc)
        rc = canon_put_string(out, method, strlen(method));
    if (!rc)
        rc = buf_puts(out, ",\"path\":");
    if (!rc)
        rc = canon_put_string(out, path, strlen(path));
    if (!rc)
        rc = buf_printf(out, ",\"seq\":%llu,\"signature\":\"%s\",\"ts\":%lld,\"v\":1}",
                        (unsigned long long)h->seq, b64, (long long)h->ts);
    return rc;
}

int agentsig_key_write(const char *path, uint8_t pub[32], adt_err *err)
{
    uint8_t *seed = sodium_malloc(32), *sk = sodium_malloc(64);
    char *b64 = sodium_malloc(64);
    int rc = ADT_OK;
    if (!seed || !sk || !b64) {
        rc = adt_fail(err, ADT_ENOMEM, "out of secure memory");
        goto out;
    }
    randombytes_buf(seed, 32);
    crypto_sign_seed_keypair(pub, sk, seed);
    agentsig_b64(seed, 32, b64, 64);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        rc = adt_fail(err, errno == EEXIST ? ADT_EEXIST : ADT_EIO, "cannot create key file %s: %s%s",
                      path, strerror(errno), errno == EEXIST ? " (choose a new path)" : "");
        goto out;
    }
    size_t l = strlen(b64);
    b64[l] = '\n';
    if (write(fd, b64, l + 1) != (ssize_t)(l + 1) || fsync(fd)) {
        rc = adt_fail(err, ADT_EIO, "writing key file %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        goto out;
    }
    close(fd);
out:
    sodium_free(seed);
    sodium_free(sk);
    sodium_free(b64);
    return rc;
}

int agentsig_key_load(const char *path, uint8_t *sk, uint8_t pub[32], adt_err *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return adt_fail(err, ADT_EIO, "cannot open key file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || (st.st_mode & 077)) {
        close(fd);
        return adt_fail(err, ADT_EINVAL, "key file %s must not be readable by group or others "
                        "(chmod 600 %s)", path, path);
    }
    char *txt = sodium_malloc(128);
    uint8_t *seed = sodium_malloc(32);
    int rc = ADT_OK;
    if (!txt || !seed) {
        rc = adt_fail(err, ADT_ENOMEM, "out of secure memory");
        goto out;
    }
    ssize_t n = read(fd, txt, 127);
    if (n < 0) {
        rc = adt_fail(err, ADT_EIO, "reading key file %s: %s", path, strerror(errno));
        goto out;
    }
    size_t l = (size_t)n;
    while (l > 0 && (txt[l - 1] == '\n' || txt[l - 1] == '\r'))
        l--;
    adt_err e2;
    if (agentsig_unb64(txt, l, seed, 32, &e2)) {
        rc = adt_fail(err, ADT_EINVAL, "key file %s: %s", path, e2.msg);
        goto out;
    }
    crypto_sign_seed_keypair(pub, sk, seed);
out:
    close(fd);
    sodium_free(txt);
    sodium_free(seed);
    return rc;
}

static int hex_decode(const char *s, uint8_t *out, size_t n)
{
    size_t bl = 0;
    if (strlen(s) != 2 * n || sodium_hex2bin(out, n, s, 2 * n, NULL, &bl, NULL) || bl != n)
        return ADT_EINVAL;
    return ADT_OK;
}

int agentsig_verify_record(const char *json, size_t len, const uint8_t pub[32],
                           uint8_t body_sha256[32], uint64_t *seq, adt_err *err)
{
    cJSON *j = cJSON_ParseWithLength(json, len);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return adt_fail(err, ADT_EINVAL, "signature record is not a JSON object");
    }
    const cJSON *agent = cJSON_GetObjectItemCaseSensitive(j, "agent"),
                *alg = cJSON_GetObjectItemCaseSensitive(j, "alg"),
                *bsha = cJSON_GetObjectItemCaseSensitive(j, "body_sha256"),
                *method = cJSON_GetObjectItemCaseSensitive(j, "method"),
                *path = cJSON_GetObjectItemCaseSensitive(j, "path"),
                *sq = cJSON_GetObjectItemCaseSensitive(j, "seq"),
                *sg = cJSON_GetObjectItemCaseSensitive(j, "signature"),
                *ts = cJSON_GetObjectItemCaseSensitive(j, "ts");
    int rc = ADT_OK;
    agentsig_hdr h;
    memset(&h, 0, sizeof h);
    if (!cJSON_IsString(agent) || !cJSON_IsString(alg) || strcmp(alg->valuestring, "ed25519") ||
        !cJSON_IsString(bsha) || !cJSON_IsString(method) || !cJSON_IsString(path) ||
        !cJSON_IsNumber(sq) || !cJSON_IsString(sg) || !cJSON_IsNumber(ts) ||
        !agentsig_name_valid(agent->valuestring, strlen(agent->valuestring)) ||
        hex_decode(bsha->valuestring, body_sha256, 32)) {
        rc = adt_fail(err, ADT_EINVAL, "signature record lacks a field or has a bad one");
        goto out;
    }
    /* Numbers come from cJSON as doubles: re-read the exact integers. */
    const char *v;
    size_t vl;
    uint64_t u;
    if (canon_member(json, len, "seq", &v, &vl) || num_u64n(v, vl, INT64_MAX, &u)) {
        rc = adt_fail(err, ADT_EINVAL, "signature record seq is not an integer");
        goto out;
    }
    h.seq = u;
    if (canon_member(json, len, "ts", &v, &vl) || num_u64n(v, vl, INT64_MAX, &u)) {
        rc = adt_fail(err, ADT_EINVAL, "signature record ts is not an integer");
        goto out;
    }
    h.ts = (int64_t)u;
    snprintf(h.name, sizeof h.name, "%s", agent->valuestring);
    adt_err e2;
    if (agentsig_unb64(sg->valuestring, strlen(sg->valuestring), h.sig, 64, &e2)) {
        rc = adt_fail(err, ADT_EINVAL, "signature record signature: %s", e2.msg);
        goto out;
    }
    rc = agentsig_verify(&h, method->valuestring, path->valuestring, body_sha256, pub, err);
    if (!rc && seq)
        *seq = h.seq;
out:
    cJSON_Delete(j);
    return rc;
}
