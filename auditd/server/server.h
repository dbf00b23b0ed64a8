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

#include "srvcfg.h"
#include "status.h"

#include <stdint.h>

typedef struct server server;

int server_start(const char *data_dir, const srvcfg *cfg, server **out, adt_err *err);
/* The bound TCP port. */
uint16_t server_port(const server *s);
/* Drain and stop (see above); `s` is freed. Returns ADT_OK when the final
 * checkpoint was signed. */
int server_stop(server *s, adt_err *err);

#endif
