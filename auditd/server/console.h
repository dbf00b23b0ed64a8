/* console.h: the web console's server side (docs/console.md).
 *
 * Sessions: a person signs in with name and password (POST /v1/session);
 * the answer sets an `HttpOnly; Secure; SameSite=Strict` cookie holding a
 * random session token (kept only as its SHA-256, in state.db through
 * person.h, so sessions survive a restart) and returns a CSRF token derived
 * from the session token that every state-changing request must echo in
 * `X-CSRF-Token`. Sessions end after 1 hour idle or 8 hours, or when the
 * person is revoked or given a new password. Request bodies and the cookie
 * are parsed by conreq.h.
 *
 * Rights: the daemon's one rights table (rights.h) says which console roles
 * may use which method and path, for the console's own endpoints and for
 * the /v1 API when it is reached with a session cookie. On top of it every action is
 * checked against the RACI policy in force (an approval only by the
 * activity's Accountable, an acknowledgement only by its R or A, ...).
 * Every action is one ledger event with writer `person`, `actor` the
 * signed-in person, appended through the daemon's commit queue.
 *
 * Assets (ui/) are served under /ui/ with a strict Content-Security-Policy.
 * Threads: one console serves every request thread (internally locked). */
#ifndef AUDITD_CONSOLE_H
#define AUDITD_CONSOLE_H

#include "api.h"
#include "commitq.h"
#include "evindex.h"
#include "ledger.h"
#include "status.h"

#include <stdbool.h>

typedef struct console console;

/* What the daemon lends the console (borrowed; must outlive it). */
typedef struct console_env {
    const char *data_dir;
    commitq *cq;
    evindex *ix;
    ledger *(*pool_get)(void *ctx, adt_err *err); /* a read-only ledger handle */
    void (*pool_put)(void *ctx, ledger *lg);
    /* Replay the quarantine (as the pipeline itself), answering the request
     * recorded at ledger index `request`; NULL if the pipeline is not built. */
    int (*replay)(void *ctx, uint64_t request, buf *out_json, adt_err *err);
    void *ctx;
} console_env;

int console_open(const console_env *env, console **out, adt_err *err);
void console_close(console *c);
/* Start the automated workflows (workflow.h) on a thread of their own, every
 * 30 s; console_stop (also done by console_close) ends them. Call once the
 * commit queue takes events, stop before it stops. */
int console_start(console *c, adt_err *err);
void console_stop(console *c);

/* The request headers a session is checked with (NULL when absent). */
typedef struct console_hdrs {
    const char *cookie;
    const char *csrf;           /* X-CSRF-Token */
    const char *origin;
    const char *host;
    const char *sec_fetch_site;
} console_hdrs;

/* Authenticate a request that carries no Authorization header by its
 * session cookie, check CSRF for anything but GET/HEAD, and check that the
 * person's console roles allow `method` `path`. On success fills
 * req->role (auditor, or admin for the admin role), ->principal (copied into
 * `principal`), ->writer (person) and ->person_roles. ADT_EAUTH (no or
 * expired session), ADT_EFORBIDDEN (CSRF, origin, or rights) with `err`. */
int console_authenticate(console *c, const console_hdrs *h, api_request *req, char *principal,
                         size_t pcap, adt_err *err);

/* True if this path is served by the console (assets, session, /v1/console). */
bool console_path(const char *path);

/* Serve a console path (assets, sign-in/out, views, actions). The caller
 * authenticated it, except the assets and POST /v1/session (sign in). */
int console_api(console *c, const console_hdrs *h, const api_request *req, api_response *resp);

/* Headers every response carries (Content-Security-Policy and friends):
 * calls fn(name, value) for each. */
void console_security_headers(void (*fn)(void *ctx, const char *name, const char *value),
                              void *ctx);

#endif
