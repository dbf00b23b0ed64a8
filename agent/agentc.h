/* agentc.h: the edge agent's client side (`auditd agent send`,
 * `auditd agent verify-receipts`), over libcurl.
 *
 * Spool: <spool>/spool.db (SQLite, WAL, synchronous=FULL). Every event read
 * is stored there before anything is sent. A batch is recorded as an
 * "attempt" (its seq and event ids) before it is posted; the attempt is
 * settled by a receipt (201, or 200 with the original receipt when the
 * server had the same bytes already), cleared when the server certainly did
 * not commit it (429, 503), or, when the outcome is unknown (any network
 * error, timeout, other 5xx), resolved with GET /v1/agent/batches/{seq}
 * before anything is resent: 200 settles it, 409 (still in flight) asks
 * again later, 404 resends exactly the same events, so the same body bytes,
 * which the server appends at most once (it keeps each agent's batches by
 * body SHA-256). So every event is appended exactly once.
 *
 * Retries back off exponentially with jitter (100 ms doubling up to
 * max_backoff_ms, never less than the server's Retry-After). A 4xx other
 * than 429 (and than 409 in_flight) is permanent: the batch's events are
 * marked rejected with the server's message and the send stops with
 * ADT_EINVAL. */
#ifndef AUDITD_AGENTC_H
#define AUDITD_AGENTC_H

#include "status.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define AGENTC_SPOOL_FILE "spool.db"

typedef struct agentc_tls {
    const char *cacert; /* PEM file of trusted CAs (e.g. the server's self-signed cert) */
    bool insecure;      /* skip certificate checks (tests only) */
} agentc_tls;

typedef struct agentc_opts {
    const char *server;    /* base URL, e.g. http://127.0.0.1:8080 */
    const char *name;      /* agent name */
    const char *key_path;  /* key file from `auditd agent add --key-out` */
    const char *spool_dir; /* created if missing */
    const char *path;      /* "/v1/events" (default) or "/v1/telemetry" */
    const char *follow;    /* read this file and keep following it, or NULL for `in` */
    unsigned batch;        /* events per request (default 500) */
    unsigned max_backoff_ms; /* default 30000 */
    unsigned give_up_s;    /* stop retrying after this long (0 = never) */
    agentc_tls tls;
    volatile sig_atomic_t *stop; /* set by a signal handler: finish and return */
    bool quiet;
} agentc_opts;

typedef struct agentc_stats {
    uint64_t read, acked, rejected, pending, requests, retries;
} agentc_stats;

/* Spool what `in` holds (NDJSON, one event a line) and deliver everything
 * pending in the spool. */
int agentc_send(const agentc_opts *o, FILE *in, agentc_stats *st, adt_err *err);

typedef struct agentc_vstats {
    uint64_t receipts, entries, tree_size;
} agentc_vstats;

/* Check every stored receipt against the server's current checkpoint:
 * checkpoint signatures (key pinned in the spool at first contact), each
 * entry's leaf (hash, payload = the spooled event, signature by this agent)
 * and inclusion in the receipt's checkpoint, and consistency from each
 * receipt's tree size to the current one. `token` is an auditor token. */
int agentc_verify_receipts(const char *server, const char *spool_dir, const char *token,
                           const agentc_tls *tls, agentc_vstats *st, adt_err *err);

#endif
