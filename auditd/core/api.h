/* api.h: the transport-neutral shape of an HTTP API call.
 *
 * The daemon (auditd/server) owns HTTP, TLS and authentication. It hands each
 * authenticated request to the part that serves the path as an `api_request`
 * and sends back the `api_response` that part fills in. Parts never see
 * libmicrohttpd, which keeps them testable alone.
 *
 * Ownership: everything in api_request is borrowed for the call. The handler
 * fills `resp->body` (initialised by the server with buf_init(&body, 64 MiB)). */
#ifndef AUDITD_API_H
#define AUDITD_API_H

#include "buf.h"
#include "event.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum api_role {
    API_ROLE_NONE = 0,   /* unauthenticated (public endpoints) */
    API_ROLE_AGENT = 1,  /* an agent whose request signature was verified */
    API_ROLE_AUDITOR = 2,
    API_ROLE_ADMIN = 3
} api_role;

/* Who an endpoint is for; the daemon's rights table (auditd/server/rights.c)
 * gives one per method and path, and parts that check a caller again use
 * api_role_may so they never disagree with it. */
typedef enum api_need {
    API_NEED_PUBLIC = 0, /* anyone */
    API_NEED_AGENT,      /* a signed agent request */
    API_NEED_READ,       /* an auditor or admin token (or a person whose console roles allow it) */
    API_NEED_ADMIN,      /* an admin token (or a console admin) */
    API_NEED_SESSION     /* a person signed in to the console, nothing else */
} api_need;

/* Does a caller with `role` (a token's, or an agent's) meet `need`?
 * API_NEED_SESSION is met by no token: the console decides (rights.h). */
bool api_role_may(api_role role, api_need need);
/* What `need` asks for, for refusals: "an auditor or admin token". */
const char *api_need_text(api_need need);
/* Token roles by name: "auditor", "admin" (ADT_EINVAL otherwise). */
int api_token_role_parse(const char *name, api_role *role, adt_err *err);
const char *api_token_role_name(api_role role);

typedef struct api_param {
    const char *key;
    const char *value;
} api_param;

typedef struct api_request {
    const char *method;       /* "GET", "POST" */
    const char *path;         /* decoded path without the query, e.g. "/v1/controls/nist80053/ac-2" */
    const api_param *params;  /* query parameters, decoded */
    size_t nparams;
    const char *body;         /* request body (NULL for none) */
    size_t body_len;
    api_role role;
    const char *principal;    /* agent name or token name; "" when anonymous */
    const char *sig_json;     /* canonical JSON of the verified agent signature, or NULL */
    size_t sig_len;
    event_writer writer;      /* for an agent: EVENT_WRITER_EDGE or _PLATFORM, from its role;
                                 EVENT_WRITER_PERSON for a console session */
    unsigned person_roles;    /* console roles of a signed-in person (person.h), else 0 */
} api_request;

typedef struct api_response {
    int status;               /* HTTP status */
    const char *content_type; /* static string; default "application/json" */
    buf body;
    int retry_after;          /* seconds for 429/503; 0 = no header */
    char set_cookie[192];     /* a Set-Cookie header value (the console's session), "" = none */
} api_response;

/* The value of query parameter `key`, or NULL. */
const char *api_param_get(const api_request *req, const char *key);

/* Fill `resp` with {"error": code, "message": msg} and `status`. */
int api_error(api_response *resp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The HTTP status for an adt_status (EINVAL->400, EAUTH->401, EFORBIDDEN->403,
 * ENOTFOUND->404, EREPLAY->409, ECONFLICT->409, ETOOBIG->413, EBUSY->429,
 * ESHUTDOWN->503, else 500). */
int api_status_for(int adt_code);

#endif
