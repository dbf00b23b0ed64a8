#include "srvcfg.h"

#include "cosig.h"
#include "numparse.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_STR, K_U64, K_BOOL, K_LEVEL, K_WITNESS, K_WITNESS_KEY } ktype;
typedef struct key_def {
    const char *name;
    ktype type;
    size_t off;
    size_t size; /* for strings */
    uint64_t def, min, max; /* def: the default of a K_U64 */
    const char *doc;
} key_def;

#define STR(f, d) {#f, K_STR, offsetof(srvcfg, f), sizeof(((srvcfg *)0)->f), 0, 0, 0, d}
#define U64(f, def, lo, hi, d) {#f, K_U64, offsetof(srvcfg, f), 0, def, lo, hi, d}

static const key_def keys[] = {
    STR(listen, "ADDR:PORT to listen on"),
    STR(tls_cert, "PEM certificate file (with tls_key: serve HTTPS)"),
    STR(tls_key, "PEM private key file"),
    {"allow_plain_http", K_BOOL, offsetof(srvcfg, allow_plain_http), 0, 0, 0, 1,
     "allow plain HTTP on a non-loopback address"},
    STR(mqtt, "mqtt://HOST:PORT or mqtts://HOST:PORT telemetry subscription"),
    STR(mqtt_ca, "PEM CA certificate that verifies the MQTT broker (mqtts)"),
    STR(mqtt_cert, "PEM client certificate for the MQTT broker (optional)"),
    STR(mqtt_key, "PEM private key of the MQTT client certificate"),
    U64(max_batch_events, 10000, 1, 1000000, "events per request"),
    U64(max_body_bytes, 8u << 20, 1024, 1u << 30, "request body limit in bytes"),
    U64(queue_max_events, 100000, 1, 100000000, "commit queue bound in events (429 beyond)"),
    U64(max_group_events, 20000, 1, 10000000, "events per ledger transaction"),
    U64(max_skew_seconds, 300, 1, 86400, "accepted agent clock skew"),
    U64(receipt_proofs_max, 64, 0, 100000, "inline inclusion proofs for batches up to this size"),
    U64(max_connections, 2048, 1, 100000, "concurrent connections"),
    U64(max_connections_per_ip, 64, 0, 100000, "concurrent connections from one IP address (0 = no limit)"),
    U64(header_timeout_seconds, 10, 1, 3600, "seconds a connection may stay idle until its request is authenticated"),
    U64(idle_timeout_seconds, 60, 1, 86400, "seconds an authenticated connection may stay idle"),
    U64(max_body_memory, 64u << 20, 1u << 20, 1ull << 36, "bytes of request bodies held at once (429 beyond)"),
    U64(threads, 2, 0, 64, "epoll polling threads (0 = 2)"),
    U64(workers, 64, 1, 1024, "request handler threads"),
    U64(verify_interval_seconds, 86400, 0, 31536000, "seconds between scheduled ledger verifications (0 = off)"),
    {"log_level", K_LEVEL, offsetof(srvcfg, log_level), 0, 0, 0, 3, "error|warn|info|debug or 0..3"},
    {"witness", K_WITNESS, 0, 0, 0, 0, 0, "URL of a witness to submit checkpoints to (repeatable)"},
    {"witness_key", K_WITNESS_KEY, 0, 0, 0, 0, 0, "that witness's cosigner vkey (repeatable, in order)"},
};

/* The numeric defaults stand in the table above, next to their ranges. */
void srvcfg_defaults(srvcfg *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    c->log_level = 2;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i].type == K_U64)
            memcpy((char *)c + keys[i].off, &keys[i].def, sizeof keys[i].def);
}

int srvcfg_set(srvcfg *c, const char *key, const char *value, const char *where, adt_err *err)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const key_def *k = &keys[i];
        if (strcmp(k->name, key))
            continue;
        char *f = (char *)c + k->off;
        switch (k->type) {
        case K_STR:
            if (strlen(value) >= k->size)
                return adt_fail(err, ADT_EINVAL, "%s: %s is longer than %zu bytes", where, key,
                                k->size - 1);
            for (const char *p = value; *p; p++)
                if ((unsigned char)*p < 0x20)
                    return adt_fail(err, ADT_EINVAL, "%s: %s contains a control character", where, key);
            memcpy(f, value, strlen(value) + 1);
            return ADT_OK;
        case K_U64: {
            uint64_t v;
            if (num_u64(value, UINT64_MAX, &v) || v < k->min || v > k->max)
                return adt_fail(err, ADT_EINVAL, "%s: %s must be an integer in %llu..%llu, not '%s'",
                                where, key, (unsigned long long)k->min, (unsigned long long)k->max,
                                value);
            memcpy(f, &v, sizeof v);
            return ADT_OK;
        }
        case K_BOOL: {
            bool v;
            if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1"))
                v = true;
            else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0"))
                v = false;
            else
                return adt_fail(err, ADT_EINVAL, "%s: %s must be true or false, not '%s'", where,
                                key, value);
            memcpy(f, &v, sizeof v);
            return ADT_OK;
        }
        case K_LEVEL: {
            static const char *const names[] = {"error", "warn", "info", "debug"};
            for (int l = 0; l < 4; l++)
                if (!strcmp(value, names[l]) || (value[0] == '0' + l && !value[1])) {
                    memcpy(f, &l, sizeof l);
                    return ADT_OK;
                }
            return adt_fail(err, ADT_EINVAL, "%s: log_level must be error, warn, info or debug", where);
        }
        case K_WITNESS: {
            if (c->witness_urls == SRVCFG_WITNESS_MAX)
                return adt_fail(err, ADT_EINVAL, "%s: at most %d witnesses", where, SRVCFG_WITNESS_MAX);
            size_t n = strlen(value);
            bool ok = n < SRVCFG_STR_MAX && (!strncmp(value, "http://", 7) || !strncmp(value, "https://", 8));
            for (size_t j = 0; ok && j < n; j++)
                ok = (unsigned char)value[j] > 0x20 && value[j] != 0x7F;
            if (!ok)
                return adt_fail(err, ADT_EINVAL, "%s: witness must be an http:// or https:// URL "
                                "(the witness's submission prefix, without /add-checkpoint)", where);
            memcpy(c->witness[c->witness_urls++].url, value, n + 1);
            return ADT_OK;
        }
        case K_WITNESS_KEY: {
            if (c->witness_keys == SRVCFG_WITNESS_MAX)
                return adt_fail(err, ADT_EINVAL, "%s: at most %d witness keys", where, SRVCFG_WITNESS_MAX);
            cosig_key ck;
            adt_err e2;
            if (strlen(value) >= SRVCFG_VKEY_MAX || cosig_key_parse(value, &ck, &e2))
                return adt_fail(err, ADT_EINVAL, "%s: witness_key: %s", where,
                                strlen(value) >= SRVCFG_VKEY_MAX ? "too long" : e2.msg);
            memcpy(c->witness[c->witness_keys++].key, value, strlen(value) + 1);
            return ADT_OK;
        }
        }
    }
    return adt_fail(err, ADT_EINVAL, "%s: unknown setting '%s' (see docs/server.md)", where, key);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int srvcfg_parse(srvcfg *c, const char *text, size_t len, const char *name, adt_err *err)
{
    srvcfg tmp = *c;
    bool seen[sizeof keys / sizeof keys[0]] = {0};
    size_t lineno = 0;
    char line[2048];
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        const char *cur = p;
        p += l + 1;
        if (l >= sizeof line)
            return adt_fail(err, ADT_EINVAL, "%s:%zu: line longer than %zu bytes", name, lineno,
                            sizeof line - 1);
        if (memchr(cur, '\0', l))
            return adt_fail(err, ADT_EINVAL, "%s:%zu: NUL byte in line", name, lineno);
        memcpy(line, cur, l);
        line[l] = '\0';
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return adt_fail(err, ADT_EINVAL, "%s:%zu: expected 'key = value'", name, lineno);
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        if (!*k)
            return adt_fail(err, ADT_EINVAL, "%s:%zu: missing key before '='", name, lineno);
        char where[300];
        snprintf(where, sizeof where, "%.256s:%zu", name, lineno);
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (!strcmp(keys[i].name, k) && keys[i].type != K_WITNESS &&
                keys[i].type != K_WITNESS_KEY) {
                if (seen[i])
                    return adt_fail(err, ADT_EINVAL, "%s: '%s' is set twice", where, k);
                seen[i] = true;
            }
        int rc = srvcfg_set(&tmp, k, v, where, err);
        if (rc)
            return rc;
    }
    *c = tmp;
    return ADT_OK;
}

int srvcfg_load(srvcfg *c, const char *path, adt_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return adt_fail(err, ADT_EIO, "cannot open config file %s", path);
    char *data = malloc(1 << 20);
    size_t n = data ? fread(data, 1, 1 << 20, f) : 0;
    bool more = data && fgetc(f) != EOF;
    fclose(f);
    if (!data)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    int rc = more ? adt_fail(err, ADT_ETOOBIG, "config file %s is over 1 MiB", path)
                  : srvcfg_parse(c, data, n, path, err);
    free(data);
    return rc;
}

int srvcfg_listen_split(const char *listen, char *host, size_t hcap, uint16_t *port, adt_err *err)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen)
        return adt_fail(err, ADT_EINVAL, "listen address '%s' must be ADDR:PORT", listen);
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (h[0] == '[') {
        if (hl < 2 || h[hl - 1] != ']')
            return adt_fail(err, ADT_EINVAL, "listen address '%s': IPv6 needs [ADDR]:PORT", listen);
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= hcap)
        return adt_fail(err, ADT_EINVAL, "listen address '%s' has a bad host part", listen);
    memcpy(host, h, hl);
    host[hl] = '\0';
    uint64_t p;
    if (num_u64(colon + 1, 65535, &p) || p == 0)
        return adt_fail(err, ADT_EINVAL, "listen port in '%s' must be 1..65535", listen);
    *port = (uint16_t)p;
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(host, "localhost") && inet_pton(AF_INET, host, &a4) != 1 &&
        inet_pton(AF_INET6, host, &a6) != 1)
        return adt_fail(err, ADT_EINVAL, "listen host '%s' must be an IP address or localhost", host);
    return ADT_OK;
}

bool srvcfg_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcmp(host, "localhost"))
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

int srvcfg_check(const srvcfg *c, adt_err *err)
{
    char host[256];
    uint16_t port;
    int rc = srvcfg_listen_split(c->listen, host, sizeof host, &port, err);
    if (rc)
        return rc;
    if (c->max_body_bytes > c->max_body_memory)
        return adt_fail(err, ADT_EINVAL, "max_body_bytes (%llu) is over max_body_memory (%llu): "
                        "no request of the largest size could ever be taken; raise "
                        "max_body_memory or lower max_body_bytes",
                        (unsigned long long)c->max_body_bytes, (unsigned long long)c->max_body_memory);
    if (!c->tls_cert[0] != !c->tls_key[0])
        return adt_fail(err, ADT_EINVAL, "TLS needs both tls_cert and tls_key (--tls-cert, --tls-key)");
    if (!c->tls_cert[0] && !c->allow_plain_http && !srvcfg_is_loopback(host))
        return adt_fail(err, ADT_EINVAL,
                        "refusing plain HTTP on non-loopback address %s: give --tls-cert and "
                        "--tls-key, or --allow-plain-http if a TLS proxy fronts the daemon",
                        host);
    if (c->witness_urls != c->witness_keys)
        return adt_fail(err, ADT_EINVAL, "each witness URL needs its witness_key (--witness URL "
                        "--witness-key VKEY): got %zu URLs and %zu keys", c->witness_urls,
                        c->witness_keys);
    return ADT_OK;
}

int srvcfg_render(const srvcfg *c, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const key_def *k = &keys[i];
        const char *f = (const char *)c + k->off;
        int n;
        switch (k->type) {
        case K_STR: n = snprintf(out + used, cap - used, "%s = %s\n", k->name, f); break;
        case K_U64: {
            uint64_t v;
            memcpy(&v, f, sizeof v);
            n = snprintf(out + used, cap - used, "%s = %llu\n", k->name, (unsigned long long)v);
            break;
        }
        case K_BOOL: {
            bool v;
            memcpy(&v, f, sizeof v);
            n = snprintf(out + used, cap - used, "%s = %s\n", k->name, v ? "true" : "false");
            break;
        }
        case K_WITNESS:
        case K_WITNESS_KEY:
            n = 0;
            for (size_t w = 0; w < (k->type == K_WITNESS ? c->witness_urls : c->witness_keys); w++) {
                int m = snprintf(out + used + (size_t)n, cap - used - (size_t)n, "%s = %s\n", k->name,
                                 k->type == K_WITNESS ? c->witness[w].url : c->witness[w].key);
                if (m < 0 || (size_t)m >= cap - used - (size_t)n)
                    return ADT_ENOMEM;
                n += m;
            }
            break;
        default: {
            int v;
            memcpy(&v, f, sizeof v);
            n = snprintf(out + used, cap - used, "%s = %d\n", k->name, v);
            break;
        }
        }
        if (n < 0 || (size_t)n >= cap - used)
            return ADT_ENOMEM;
        used += (size_t)n;
    }
    return ADT_OK;
}

void srvcfg_sha256_hex(const srvcfg *c, char out[65])
{
    char text[SRVCFG_RENDER_MAX];
    uint8_t h[32];
    if (srvcfg_render(c, text, sizeof text))
        text[0] = '\0';
    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[h[i] >> 4];
        out[2 * i + 1] = hx[h[i] & 15];
    }
    out[64] = '\0';
}
