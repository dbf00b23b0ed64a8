/* server.h: the auditd HTTP daemon (docs/server.md, docs/api.md).
 *
 * libmicrohttpd serves HTTP or HTTPS (GnuTLS) on one address; every request
 * is authenticated (agent request signature, or reader bearer token), checked
 * against the route's role, then served here (events, log, index, admin) or
 * handed to the pipeline, controls and reports parts through api.h. All
 * appends go through one commit queue (commitq), so a 201 means durable.
 *
 * Lifecycle: server_start() opens everything, records a server.start event
 * and listens; server_stop() drains: stops accepting, lets in-flight
 * requests finish (their batches commit), appends server.stop (whose commit
 * signs the final checkpoint) and frees everything. */
#ifndef AUDITD_SERVER_H
#define AUDITD_SERVER_H

#include "api.h"
#include "srvcfg.h"
#include "status.h"
#include "witsrv.h"

#include <stdint.h>

typedef struct server server;

int server_start(const char *data_dir, const srvcfg *cfg, server **out, adt_err *err);

/* What a caller above the daemon (the CLI's `auditd central serve`) adds to
 * it without the daemon depending on that caller's part. Borrowed; it must
 * outlive the server. */
typedef struct server_ext {
    /* Serve POST /add-checkpoint and GET /v1/witness/... from this witness
     * instead of the data directory's witness.db. */
    const witsrv_backend *witness;
    /* Serve GET /v1/central/... (auditor or admin token) with this handler:
     * it fills `resp` and returns ADT_OK, or an error status. NULL: 404. */
    int (*central_api)(void *ctx, const api_request *req, api_response *resp);
    void *central_ctx;
} server_ext;

/* server_start with the additions of `ext` (may be NULL). */
int server_start_ext(const char *data_dir, const srvcfg *cfg, const server_ext *ext,
                     server **out, adt_err *err);
/* The bound TCP port. */
uint16_t server_port(const server *s);
/* Drain and stop (see above); `s` is freed. Returns ADT_OK when the final
 * checkpoint was signed. */
int server_stop(server *s, adt_err *err);

#endif
