#include "api.h"

#include "canon.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *api_param_get(const api_request *req, const char *key)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (req->params[i].key && !strcmp(req->params[i].key, key))
            return req->params[i].value;
    return NULL;
}

int api_error(api_response *resp, int status, const char *code, const char *fmt, ...)
{
    char msg[ADT_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    resp->status = status;
    resp->content_type = "application/json";
    buf_reset(&resp->body);
    int rc = buf_puts(&resp->body, "{\"error\":");
    if (!rc)
        rc = canon_put_string(&resp->body, code, strlen(code));
    if (!rc)
        rc = buf_puts(&resp->body, ",\"message\":");
    if (!rc)
        rc = canon_put_string(&resp->body, msg, strlen(msg));
    if (!rc)
        rc = buf_puts(&resp->body, "}\n");
    return rc;
}

int api_status_for(int code)
{
    switch (code) {
    case ADT_OK: return 200;
    case ADT_EINVAL: return 400;
    case ADT_EAUTH: return 401;
    case ADT_EFORBIDDEN: return 403;
    case ADT_ENOTFOUND: return 404;
    case ADT_EREPLAY: return 409;
    case ADT_ECONFLICT: return 409;
    case ADT_EEXIST: return 409;
    case ADT_ETOOBIG: return 413;
    case ADT_EBUSY: return 429;
    case ADT_ESHUTDOWN: return 503;
    default: return 500;
    }
}

bool api_role_may(api_role role, api_need need)
{
    switch (need) {
    case API_NEED_PUBLIC: return true;
    case API_NEED_AGENT: return role == API_ROLE_AGENT;
    case API_NEED_READ: return role == API_ROLE_AUDITOR || role == API_ROLE_ADMIN;
    case API_NEED_ADMIN: return role == API_ROLE_ADMIN;
    case API_NEED_SESSION: return false;
    }
    return false;
}

const char *api_need_text(api_need need)
{
    switch (need) {
    case API_NEED_PUBLIC: return "nothing";
    case API_NEED_AGENT: return "an agent";
    case API_NEED_READ: return "an auditor or admin token";
    case API_NEED_ADMIN: return "an admin token";
    case API_NEED_SESSION: return "a console session";
    }
    return "?";
}

int api_token_role_parse(const char *name, api_role *role, adt_err *err)
{
    if (name && !strcmp(name, "auditor"))
        *role = API_ROLE_AUDITOR;
    else if (name && !strcmp(name, "admin"))
        *role = API_ROLE_ADMIN;
    else
        return adt_fail(err, ADT_EINVAL, "token role must be auditor or admin, not '%s'",
                        name ? name : "");
    return ADT_OK;
}

const char *api_token_role_name(api_role role)
{
    return role == API_ROLE_ADMIN ? "admin" : role == API_ROLE_AUDITOR ? "auditor" : "";
}
