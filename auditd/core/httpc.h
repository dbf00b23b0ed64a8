/* httpc.h: one HTTP client request at a time, over libcurl: the way auditd's
 * clients (the edge agent, agent/; the central tier reading site logs,
 * central/sitelog.c) call a daemon.
 *
 * A client holds one connection's state (keep-alive) and the last answer:
 * its status, body (bounded: a larger answer is HTTPC_TOOBIG) and
 * Retry-After. Requests carry the headers the caller gives ("Name: value"
 * lines); every request has the same limits: 5 s to connect, a total
 * timeout per client, http and https only, no signals, compressed answers
 * accepted, no "Expect: 100-continue". A caller may set its own connect and
 * total timeouts in milliseconds and ask for answers as sent (no
 * Accept-Encoding) through the fields marked "caller may set".
 *
 * Several clients' requests can be in flight together on one thread
 * (httpc_group_do: the daemon's witness submitter, auditd/server/wsubmit.c,
 * asks every witness at once).
 *
 * Built as its own target, auditd_httpc (the one core room that needs
 * libcurl), so only its users link libcurl. Threads: a client is for one
 * thread at a time; call httpc_global_init (or curl_global_init) once before
 * the first client, while no other thread uses libcurl. */
#ifndef AUDITD_HTTPC_H
#define AUDITD_HTTPC_H

#include "buf.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>

#define HTTPC_URL_MAX 4096

typedef enum httpc_result {
    HTTPC_OK = 0,      /* an answer came (any status) */
    HTTPC_REFUSED = 1, /* could not connect or resolve: the request never left */
    HTTPC_LOST = 2,    /* failed later: the request may have reached the server */
    HTTPC_TOOBIG = 3   /* the answer was larger than the client's body limit */
} httpc_result;

typedef struct httpc {
    void *curl;                    /* the easy handle */
    char base[HTTPC_URL_MAX + 1];  /* the server's base URL, without a trailing '/' */
    const char *cacert;            /* caller may set: PEM file of trusted CAs, or NULL (borrowed) */
    bool insecure;                 /* caller may set: skip certificate checks (tests only) */
    long timeout_s;                /* whole request */
    long connect_ms;               /* caller may set: time to connect in ms; 0: 5000 */
    long timeout_ms;               /* caller may set: whole request in ms; 0: timeout_s */
    bool identity;                 /* caller may set: send no Accept-Encoding (answers as sent) */
    buf resp;                      /* the last answer's body */
    long status;                   /* its HTTP status; 0 before one */
    int retry_after;               /* its Retry-After in seconds; 0 without */
    bool toobig;                   /* the last answer overflowed resp (internal) */
    void *hdrs;                    /* the request's header list while it runs (internal) */
} httpc;

/* libcurl's process-wide set-up (curl_global_init; libcurl counts calls):
 * once before the first client, while no other thread uses libcurl. */
int httpc_global_init(adt_err *err);

/* A client of `base` (http:// or https://, else ADT_EINVAL naming it),
 * answers of at most `resp_max` bytes. */
int httpc_init(httpc *h, const char *base, size_t resp_max, long timeout_s, adt_err *err);
void httpc_free(httpc *h);

/* `method` ("GET", "POST") base + `path`, with `headers` (NULL-terminated
 * "Name: value" lines, may be NULL) and, for a POST, body[0..len). On
 * failure `emsg` holds "<url>: <what went wrong>". */
httpc_result httpc_do(httpc *h, const char *method, const char *path, const char *const *headers,
                      const void *body, size_t len, char *emsg, size_t ecap);

/* One request of a group (httpc_group_do): the arguments of httpc_do, and
 * what it would have returned. One request per client in a group. */
typedef struct httpc_req {
    httpc *h;
    const char *method, *path;
    const char *const *headers;
    const void *body;
    size_t len;
    httpc_result res;     /* out: as httpc_do's; the answer is in h as after httpc_do */
    char emsg[256];       /* out: on failure, what went wrong (without the URL: the caller
                           * knows which request it was) */
} httpc_req;

/* Requests in flight together on one thread (libcurl multi). A group keeps
 * the connections its requests opened, for its next requests, until freed. */
typedef struct httpc_group {
    void *multi;
} httpc_group;

int httpc_group_init(httpc_group *g, adt_err *err);
void httpc_group_free(httpc_group *g);
/* Send reqs[0..n) at once (each with its client's limits) and return when
 * every one has ended, each with its res, emsg and answer. */
void httpc_group_do(httpc_group *g, httpc_req *reqs, size_t n);

/* What the server said in the last answer: the `message` of a JSON error
 * body, else the start of the body (control characters as spaces). */
void httpc_server_msg(const httpc *h, char *out, size_t cap);

#endif
