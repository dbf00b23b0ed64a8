/* conreq.c: strict parsing of the web console's requests (conreq.h). */
#include "conreq.h"

#include "canon.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool conreq_cookie(const char *hdr, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (!hdr || !nl || !cap)
        return false;
    for (const char *p = hdr; *p;) {
        while (*p == ' ' || *p == ';' || *p == '\t')
            p++;
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--; /* optional whitespace before the next ';' */
        if (n > nl + 1 && !strncmp(p, name, nl) && p[nl] == '=') {
            size_t vl = n - nl - 1;
            if (vl >= cap)
                return false;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

bool conreq_token_ok(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++)
        if (n >= CONREQ_TOKEN_HEX || !((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == CONREQ_TOKEN_HEX;
}

bool conreq_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > CONREQ_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.' || ch == ':' || ch == '@'))
            return false;
    }
    return true;
}

/* The body as a JSON object (an empty body is {}); NULL with err. */
static cJSON *object_of(const char *body, size_t len, adt_err *err)
{
    if (len > CONREQ_BODY_MAX) {
        adt_fail(err, ADT_ETOOBIG, "console requests are at most %d bytes", CONREQ_BODY_MAX);
        return NULL;
    }
    if (!body || !len)
        return cJSON_CreateObject();
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        adt_fail(err, ADT_EINVAL, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* A string member, or NULL when absent or not a string. */
static const char *member(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Copy free text (absent = "") after checking its bound and encoding. */
static int text(const cJSON *o, const char *k, char *out, size_t cap, bool *present, adt_err *err)
{
    const char *v = member(o, k);
    if (present)
        *present = v != NULL;
    if (!v) {
        out[0] = '\0';
        return ADT_OK;
    }
    size_t n = strlen(v);
    if (n >= cap || !canon_utf8_valid(v, n))
        return adt_fail(err, ADT_EINVAL, "%s: at most %zu bytes of UTF-8", k, cap - 1);
    memcpy(out, v, n + 1);
    return ADT_OK;
}

static bool copy_id(const char *v, char *out, size_t cap)
{
    if (!conreq_id_ok(v) || strlen(v) >= cap)
        return false;
    snprintf(out, cap, "%s", v);
    return true;
}

int conreq_parse_login(const char *body, size_t len, conreq_login *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    cJSON *j = object_of(body, len, err);
    if (!j)
        return err->code;
    const char *name = member(j, "name"), *pw = member(j, "password");
    int rc = ADT_OK;
    if (!name || !pw || !*name || !*pw || strlen(name) > CONREQ_NAME_MAX ||
        strlen(pw) > CONREQ_PASSWORD_MAX)
        rc = adt_fail(err, ADT_EINVAL, "give {\"name\": ..., \"password\": ...} (a name of at most "
                      "%d and a password of at most %d bytes)", CONREQ_NAME_MAX, CONREQ_PASSWORD_MAX);
    else {
        snprintf(out->name, sizeof out->name, "%s", name);
        snprintf(out->password, sizeof out->password, "%s", pw);
    }
    /* The parse tree holds a copy of the password: wipe it before freeing. */
    cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "password");
    if (cJSON_IsString(p) && p->valuestring) {
        volatile char *q = p->valuestring;
        while (*q)
            *q++ = 0;
    }
    cJSON_Delete(j);
    return rc;
}

int conreq_parse_label(const char *body, size_t len, conreq_label *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    cJSON *j = object_of(body, len, err);
    if (!j)
        return err->code;
    const char *target = member(j, "target"), *label = member(j, "label");
    int rc = ADT_OK;
    if (!copy_id(target, out->target, sizeof out->target)) {
        rc = adt_fail(err, ADT_EINVAL, "target must be alert:ID or prediction:ID");
    } else if (!strncmp(out->target, "alert:", 6) && out->target[6]) {
        out->kind = CONREQ_TARGET_ALERT;
        snprintf(out->alert_id, sizeof out->alert_id, "%s", out->target + 6);
    } else if (!strncmp(out->target, "prediction:", 11)) {
        out->kind = CONREQ_TARGET_PREDICTION;
        const char *d = out->target + 11;
        char *end = NULL;
        errno = 0;
        long long v = (*d >= '1' && *d <= '9') ? strtoll(d, &end, 10) : 0;
        if (errno || !end || *end || v <= 0)
            rc = adt_fail(err, ADT_EINVAL, "prediction:ID takes a positive number");
        out->prediction = v;
    } else {
        rc = adt_fail(err, ADT_EINVAL, "target must be alert:ID or prediction:ID");
    }
    if (!rc && (!label || (strcmp(label, "confirmed_failure") && strcmp(label, "false_alarm") &&
                           strcmp(label, "unsure"))))
        rc = adt_fail(err, ADT_EINVAL, "label must be confirmed_failure, false_alarm or unsure");
    if (!rc)
        snprintf(out->label, sizeof out->label, "%s", label);
    if (!rc)
        rc = text(j, "comment", out->comment, sizeof out->comment, NULL, err);
    cJSON_Delete(j);
    return rc;
}

bool conreq_split_model_target(const char *t, char *name, size_t nc, char *ver, size_t vc)
{
    if (!t || strncmp(t, "model:", 6))
        return false;
    const char *at = strchr(t + 6, '@');
    if (!at || at == t + 6 || !at[1] || strchr(at + 1, '@'))
        return false;
    size_t nl = (size_t)(at - t - 6);
    if (nl >= nc || strlen(at + 1) >= vc)
        return false;
    memcpy(name, t + 6, nl);
    name[nl] = '\0';
    snprintf(ver, vc, "%s", at + 1);
    return true;
}

int conreq_parse_change(const char *body, size_t len, conreq_change *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    cJSON *j = object_of(body, len, err);
    if (!j)
        return err->code;
    int rc = ADT_OK;
    if (!copy_id(member(j, "change_id"), out->change_id, sizeof out->change_id) ||
        !copy_id(member(j, "target"), out->target, sizeof out->target) ||
        !conreq_split_model_target(out->target, out->model, sizeof out->model, out->version,
                                   sizeof out->version))
        rc = adt_fail(err, ADT_EINVAL, "give {\"change_id\": \"CHG-...\", \"target\": "
                      "\"model:NAME@VERSION\", \"reason\": ...}");
    if (!rc)
        rc = text(j, "reason", out->reason, sizeof out->reason, NULL, err);
    cJSON_Delete(j);
    return rc;
}

int conreq_parse_decision(const char *body, size_t len, conreq_decision *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    cJSON *j = object_of(body, len, err);
    if (!j)
        return err->code;
    int rc = text(j, "reason", out->reason, sizeof out->reason, &out->has_reason, err);
    cJSON_Delete(j);
    return rc;
}

int conreq_parse_report(const char *body, size_t len, conreq_report *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    cJSON *j = object_of(body, len, err);
    if (!j)
        return err->code;
    const char *period = member(j, "period"), *fmt = member(j, "format");
    int rc = ADT_OK;
    if (!copy_id(period, out->period, sizeof out->period) ||
        (fmt && (!*fmt || strlen(fmt) >= sizeof out->format || !conreq_id_ok(fmt))))
        rc = adt_fail(err, ADT_EINVAL, "give {\"period\": \"2026-Q3\", \"format\": "
                      "\"html\"|\"json\"|\"oscal-json\"...}");
    else if (fmt) {
        out->has_format = true;
        snprintf(out->format, sizeof out->format, "%s", fmt);
    }
    cJSON_Delete(j);
    return rc;
}
