#include "sitelog.h"

#include "httpc.h"
#include "ledger.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sitelog {
    httpc h;      /* the site's daemon (core's HTTP client) */
    char *authz;  /* "Authorization: Bearer <token>", sodium_malloc'd */
    size_t authz_len;
};

int sitelog_url_check(const char *url, adt_err *err)
{
    size_t n = url ? strlen(url) : 0;
    if (n == 0 || n > SITELOG_URL_MAX)
        return adt_fail(err, ADT_EINVAL, "a site URL must have 1..%d characters", SITELOG_URL_MAX);
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        return adt_fail(err, ADT_EINVAL, "site URL '%.200s' must start with http:// or https://",
                        url);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#')
            return adt_fail(err, ADT_EINVAL,
                            "site URL '%.200s' must be printable ASCII without spaces, query or "
                            "fragment (give the daemon's base URL, e.g. https://plant-1:8443)",
                            url);
    }
    return ADT_OK;
}

int sitelog_open(const char *url, const char *token, sitelog **out, adt_err *err)
{
    *out = NULL;
    int rc = sitelog_url_check(url, err);
    if (rc)
        return rc;
    size_t tl = token ? strlen(token) : 0;
    if (tl == 0 || tl > SITELOG_TOKEN_MAX)
        return adt_fail(err, ADT_EINVAL, "the site's auditor token must have 1..%d characters",
                        SITELOG_TOKEN_MAX);
    for (size_t i = 0; i < tl; i++)
        if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f)
            return adt_fail(err, ADT_EINVAL, "the site's auditor token must be printable ASCII");
    sitelog *s = calloc(1, sizeof *s);
    if (!s)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    s->authz_len = tl + 32;
    s->authz = sodium_malloc(s->authz_len);
    if (!s->authz) {
        sitelog_close(s);
        return adt_fail(err, ADT_ENOMEM, "out of memory for the token");
    }
    snprintf(s->authz, s->authz_len, "Authorization: Bearer %s", token);
    if ((rc = httpc_init(&s->h, url, SITELOG_RESP_MAX, 60, err))) {
        sitelog_close(s);
        return rc;
    }
    *out = s;
    return ADT_OK;
}

void sitelog_close(sitelog *s)
{
    if (!s)
        return;
    httpc_free(&s->h);
    if (s->authz) {
        sodium_memzero(s->authz, s->authz_len);
        sodium_free(s->authz);
    }
    free(s);
}

/* GET base + path; 200 or an error that names the URL and what the site said.
 * Transport failures and non-200 answers are ADT_EIO (try again later), except
 * 401/403 (ADT_EAUTH: the token is wrong or revoked). */
static int http_get(sitelog *s, const char *path, bool auth, adt_err *err)
{
    const char *hs[] = {auth ? s->authz : NULL, NULL};
    char em[600];
    if (httpc_do(&s->h, "GET", path, hs, NULL, 0, em, sizeof em) != HTTPC_OK)
        return adt_fail(err, ADT_EIO, "GET %s", em);
    if (s->h.status == 200)
        return ADT_OK;
    char m[400];
    httpc_server_msg(&s->h, m, sizeof m);
    if (s->h.status == 401 || s->h.status == 403)
        return adt_fail(err, ADT_EAUTH,
                        "GET %s%s: HTTP %ld (%s): the site refused the central tier's token; give "
                        "it a valid auditor token (auditd token create --role auditor on the site)",
                        s->h.base, path, s->h.status, m);
    return adt_fail(err, ADT_EIO, "GET %s%s: HTTP %ld (%s)", s->h.base, path, s->h.status, m);
}

int sitelog_checkpoint(sitelog *s, char *note, size_t cap, size_t *len, adt_err *err)
{
    int rc = http_get(s, "/v1/log/checkpoint", false, err);
    if (rc)
        return rc;
    if (s->h.resp.len >= cap)
        return adt_fail(err, ADT_ETOOBIG, "%s/v1/log/checkpoint: the answer (%zu bytes) is not a "
                        "checkpoint (at most %zu bytes)", s->h.base, s->h.resp.len, cap - 1);
    memcpy(note, s->h.resp.data, s->h.resp.len);
    note[s->h.resp.len] = '\0';
    *len = s->h.resp.len;
    return ADT_OK;
}

int sitelog_consistency(sitelog *s, uint64_t first, uint64_t second, merkle_hash *proof,
                        size_t *n, adt_err *err)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/log/proof/consistency?first=%llu&second=%llu",
             (unsigned long long)first, (unsigned long long)second);
    int rc = http_get(s, path, true, err);
    if (!rc)
        rc = sitelog_parse_proof(s->h.resp.data, s->h.resp.len, proof, n, err);
    if (rc && rc != ADT_EIO && rc != ADT_EAUTH)
        adt_err_prefix(err, "%s%s", s->h.base, path);
    return rc;
}

int sitelog_entries(sitelog *s, uint64_t start, uint64_t end, sitelog_page *page, adt_err *err)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/log/entries?start=%llu&end=%llu", (unsigned long long)start,
             (unsigned long long)end);
    int rc = http_get(s, path, true, err);
    if (!rc) {
        /* The answer becomes the page's data: the leaves are read in place. */
        buf t = page->data;
        page->data = s->h.resp;
        s->h.resp = t;
        buf_reset(&s->h.resp);
        rc = sitelog_parse_entries(page, start, end, err);
    }
    if (rc && rc != ADT_EIO && rc != ADT_EAUTH)
        adt_err_prefix(err, "%s%s", s->h.base, path);
    return rc;
}

int sitelog_shipment(sitelog *s, const char *sha_hex, buf *out, adt_err *err)
{
    char path[128];
    if (strlen(sha_hex) != 64)
        return adt_fail(err, ADT_EINVAL, "a shipment is named by 64 hex digits");
    snprintf(path, sizeof path, "/v1/shipments/%s", sha_hex);
    int rc = http_get(s, path, true, err);
    if (rc == ADT_EIO && s->h.status == 404)
        rc = ADT_ENOTFOUND;
    if (!rc) {
        buf_reset(out);
        rc = buf_append(out, s->h.resp.data, s->h.resp.len);
        if (rc)
            rc = adt_fail(err, ADT_ETOOBIG, "%s%s: the batch is larger than %zu bytes", s->h.base,
                          path, out->max);
    }
    return rc;
}

void sitelog_trim(sitelog *s)
{
    buf_free(&s->h.resp);
    buf_init(&s->h.resp, SITELOG_RESP_MAX);
}

void sitelog_page_init(sitelog_page *p)
{
    memset(p, 0, sizeof *p);
    buf_init(&p->data, SITELOG_RESP_MAX);
}

void sitelog_page_free(sitelog_page *p)
{
    buf_free(&p->data);
    free(p->off);
    free(p->len);
    memset(p, 0, sizeof *p);
}

/* ---------- parsers ---------- */

int sitelog_parse_proof(const char *json, size_t len, merkle_hash *proof, size_t *n,
                        adt_err *err)
{
    *n = 0;
    cJSON *j = cJSON_ParseWithLength(json ? json : "", len);
    if (!j)
        return adt_fail(err, ADT_EINVAL, "the proof answer is not JSON");
    int rc = ADT_OK;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "hashes");
    if (!cJSON_IsArray(h)) {
        rc = adt_fail(err, ADT_EINVAL, "the proof answer has no \"hashes\" array");
        goto out;
    }
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, h)
    {
        if (k >= MERKLE_MAX_PROOF) {
            rc = adt_fail(err, ADT_EINVAL, "the proof has more than %d hashes", MERKLE_MAX_PROOF);
            goto out;
        }
        size_t bl = 0;
        if (!cJSON_IsString(e) ||
            sodium_base642bin(proof[k], MERKLE_HASH_LEN, e->valuestring, strlen(e->valuestring),
                              NULL, &bl, NULL, sodium_base64_VARIANT_ORIGINAL) ||
            bl != MERKLE_HASH_LEN) {
            rc = adt_fail(err, ADT_EINVAL, "proof hash %zu is not base64 of 32 bytes", k);
            goto out;
        }
        k++;
    }
    *n = k;
out:
    cJSON_Delete(j);
    return rc;
}

int sitelog_parse_entries(sitelog_page *page, uint64_t want_start, uint64_t want_end,
                          adt_err *err)
{
    page->start = want_start;
    page->count = 0;
    uint64_t max = want_end > want_start ? want_end - want_start : 0;
    if (max > SITELOG_PAGE_MAX)
        max = SITELOG_PAGE_MAX;
    if (!page->off) {
        page->off = malloc(SITELOG_PAGE_MAX * sizeof *page->off);
        page->len = malloc(SITELOG_PAGE_MAX * sizeof *page->len);
        if (!page->off || !page->len)
            return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    const uint8_t *d = (const uint8_t *)page->data.data;
    size_t n = page->data.len, at = 0;
    uint64_t k = 0;
    while (at < n) {
        if (k == max)
            return adt_fail(err, ADT_EINVAL, "the page holds more than the %llu entries asked for",
                            (unsigned long long)max);
        if (n - at < 4)
            return adt_fail(err, ADT_EINVAL, "entry %llu: the page ends inside a length",
                            (unsigned long long)(want_start + k));
        uint32_t l = (uint32_t)d[at] << 24 | (uint32_t)d[at + 1] << 16 | (uint32_t)d[at + 2] << 8 |
                     (uint32_t)d[at + 3];
        at += 4;
        if (l == 0 || l > LEDGER_MAX_LEAF)
            return adt_fail(err, ADT_EINVAL, "entry %llu: a leaf of %u bytes (1..%u allowed)",
                            (unsigned long long)(want_start + k), l, LEDGER_MAX_LEAF);
        if (n - at < l)
            return adt_fail(err, ADT_EINVAL, "entry %llu: the page ends inside the leaf",
                            (unsigned long long)(want_start + k));
        page->off[k] = at;
        page->len[k] = l;
        at += l;
        k++;
    }
    if (k == 0)
        return adt_fail(err, ADT_EINVAL, "the page holds no entry");
    page->count = k;
    return ADT_OK;
}
