/* httpc.c: HTTP client requests over libcurl (httpc.h). */
#include "httpc.h"

#include "numparse.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int httpc_init(httpc *h, const char *base, size_t resp_max, long timeout_s, adt_err *err)
{
    memset(h, 0, sizeof *h);
    size_t bl = base ? strlen(base) : 0;
    if (bl == 0 || bl > HTTPC_URL_MAX || (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)))
        return adt_fail(err, ADT_EINVAL, "server URL '%.200s' must start with http:// or https://",
                        base ? base : "");
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    memcpy(h->base, base, bl);
    h->base[bl] = '\0';
    h->timeout_s = timeout_s;
    h->curl = curl_easy_init();
    if (!h->curl)
        return adt_fail(err, ADT_ENOMEM, "libcurl failed to initialise");
    buf_init(&h->resp, resp_max);
    return ADT_OK;
}

void httpc_free(httpc *h)
{
    if (h->curl)
        curl_easy_cleanup(h->curl);
    h->curl = NULL;
    buf_free(&h->resp);
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    httpc *h = ud;
    return buf_append(&h->resp, p, sz * nm) ? 0 : sz * nm;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    httpc *h = ud;
    size_t n = sz * nm;
    if (n > 12 && !strncasecmp(p, "Retry-After:", 12)) {
        char v[32];
        size_t k = 0;
        for (size_t i = 12; i < n && k < sizeof v - 1; i++)
            if (p[i] >= '0' && p[i] <= '9')
                v[k++] = p[i];
        v[k] = '\0';
        uint64_t s;
        if (k && !num_u64(v, 3600, &s))
            h->retry_after = (int)s;
    }
    return n;
}

httpc_result httpc_do(httpc *h, const char *method, const char *path, const char *const *headers,
                      const void *body, size_t len, char *emsg, size_t ecap)
{
    char url[HTTPC_URL_MAX + 1024];
    if ((size_t)snprintf(url, sizeof url, "%s%s", h->base, path) >= sizeof url) {
        snprintf(emsg, ecap, "%.300s...: request URL too long", h->base);
        return HTTPC_REFUSED;
    }
    buf_reset(&h->resp);
    h->status = 0;
    h->retry_after = 0;
    CURL *c = h->curl;
    curl_easy_reset(c);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout_s);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (h->cacert)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
    if (h->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode cr = curl_easy_perform(c);
    curl_slist_free_all(hl);
    if (cr == CURLE_WRITE_ERROR && h->resp.len >= h->resp.max) {
        snprintf(emsg, ecap, "%.300s: the answer is larger than %zu bytes", url, h->resp.max);
        return HTTPC_TOOBIG;
    }
    if (cr != CURLE_OK) {
        snprintf(emsg, ecap, "%.300s: %s", url, curl_easy_strerror(cr));
        return cr == CURLE_COULDNT_CONNECT || cr == CURLE_COULDNT_RESOLVE_HOST ? HTTPC_REFUSED
                                                                               : HTTPC_LOST;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
    return HTTPC_OK;
}

void httpc_server_msg(const httpc *h, char *out, size_t cap)
{
    cJSON *j = cJSON_ParseWithLength(h->resp.data ? h->resp.data : "", h->resp.len);
    const cJSON *m = j ? cJSON_GetObjectItemCaseSensitive(j, "message") : NULL;
    if (cJSON_IsString(m))
        snprintf(out, cap, "%.300s", m->valuestring);
    else
        snprintf(out, cap, "%.*s", (int)(h->resp.len > 200 ? 200 : h->resp.len),
                 h->resp.data ? h->resp.data : "");
    cJSON_Delete(j);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}
