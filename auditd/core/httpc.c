/* httpc.c: HTTP client requests over libcurl (httpc.h). */
#include "httpc.h"

#include "numparse.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
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
    curl_slist_free_all(h->hdrs);
    h->hdrs = NULL;
    buf_free(&h->resp);
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    httpc *h = ud;
    if (buf_append(&h->resp, p, sz * nm)) {
        h->toobig = true; /* stop reading: curl reports a write error */
        return 0;
    }
    return sz * nm;
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

int httpc_global_init(adt_err *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return adt_fail(err, ADT_EINTERNAL, "libcurl failed to initialise");
    return ADT_OK;
}

/* Make h's easy handle ready for the request, its URL in url[0..ucap);
 * false if that URL does not fit. */
static bool setup(httpc *h, const char *method, const char *path, const char *const *headers,
                  const void *body, size_t len, char *url, size_t ucap)
{
    if ((size_t)snprintf(url, ucap, "%s%s", h->base, path) >= ucap)
        return false;
    buf_reset(&h->resp);
    h->status = 0;
    h->retry_after = 0;
    h->toobig = false;
    CURL *c = h->curl;
    curl_easy_reset(c);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_slist_free_all(h->hdrs);
    h->hdrs = hl; /* kept until the request ends: libcurl reads it while sending */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_ms > 0 ? h->connect_ms : 5000L);
    if (h->timeout_ms > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    else
        curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout_s);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!h->identity)
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
    return true;
}

static void drop_headers(httpc *h)
{
    curl_slist_free_all(h->hdrs);
    h->hdrs = NULL;
}

/* The request on h ended with cr: its result, and in what[0..wcap) on failure
 * what went wrong. */
static httpc_result finish(httpc *h, CURLcode cr, char *what, size_t wcap)
{
    drop_headers(h);
    if (cr == CURLE_WRITE_ERROR && h->toobig) {
        snprintf(what, wcap, "the answer is larger than %zu bytes", h->resp.max);
        return HTTPC_TOOBIG;
    }
    if (cr != CURLE_OK) {
        snprintf(what, wcap, "%s", curl_easy_strerror(cr));
        return cr == CURLE_COULDNT_CONNECT || cr == CURLE_COULDNT_RESOLVE_HOST ? HTTPC_REFUSED
                                                                               : HTTPC_LOST;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &h->status);
    return HTTPC_OK;
}

httpc_result httpc_do(httpc *h, const char *method, const char *path, const char *const *headers,
                      const void *body, size_t len, char *emsg, size_t ecap)
{
    char url[HTTPC_URL_MAX + 1024];
    if (!setup(h, method, path, headers, body, len, url, sizeof url)) {
        snprintf(emsg, ecap, "%.300s...: request URL too long", h->base);
        return HTTPC_REFUSED;
    }
    CURLcode cr = curl_easy_perform(h->curl);
    char what[256];
    httpc_result r = finish(h, cr, what, sizeof what);
    if (r != HTTPC_OK)
        snprintf(emsg, ecap, "%.300s: %s", url, what);
    return r;
}

int httpc_group_init(httpc_group *g, adt_err *err)
{
    g->multi = curl_multi_init();
    return g->multi ? ADT_OK : adt_fail(err, ADT_ENOMEM, "libcurl failed to start a request group");
}

void httpc_group_free(httpc_group *g)
{
    if (g->multi)
        curl_multi_cleanup(g->multi);
    g->multi = NULL;
}

void httpc_group_do(httpc_group *g, httpc_req *reqs, size_t n)
{
    CURLM *m = g->multi;
    bool *busy = calloc(n ? n : 1, sizeof *busy);
    for (size_t i = 0; i < n; i++) {
        httpc_req *r = &reqs[i];
        char url[HTTPC_URL_MAX + 1024]; /* libcurl keeps its own copy */
        r->emsg[0] = '\0';
        r->res = HTTPC_REFUSED;
        if (!busy) {
            snprintf(r->emsg, sizeof r->emsg, "out of memory");
        } else if (!setup(r->h, r->method, r->path, r->headers, r->body, r->len, url, sizeof url)) {
            snprintf(r->emsg, sizeof r->emsg, "request URL too long");
        } else if (curl_multi_add_handle(m, r->h->curl) != CURLM_OK) {
            drop_headers(r->h);
            snprintf(r->emsg, sizeof r->emsg, "libcurl could not start the request");
        } else {
            busy[i] = true;
        }
    }
    if (!busy)
        return;
    int running = 0;
    CURLMcode mc = CURLM_OK;
    do {
        if ((mc = curl_multi_perform(m, &running)) != CURLM_OK)
            break;
        if (running)
            curl_multi_poll(m, NULL, 0, 200, NULL);
    } while (running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        for (size_t i = 0; i < n; i++)
            if (busy[i] && reqs[i].h->curl == msg->easy_handle) {
                CURLcode cr = msg->data.result;
                curl_multi_remove_handle(m, msg->easy_handle);
                busy[i] = false;
                reqs[i].res = finish(reqs[i].h, cr, reqs[i].emsg, sizeof reqs[i].emsg);
                break;
            }
    }
    /* Only if the group itself failed: the request may have left. */
    for (size_t i = 0; i < n; i++)
        if (busy[i]) {
            curl_multi_remove_handle(m, reqs[i].h->curl);
            drop_headers(reqs[i].h);
            reqs[i].res = HTTPC_LOST;
            snprintf(reqs[i].emsg, sizeof reqs[i].emsg, "interrupted: %s", curl_multi_strerror(mc));
        }
    free(busy);
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
