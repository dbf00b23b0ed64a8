/* witsrv.h: the daemon's witness endpoint, POST /add-checkpoint (C2SP
 * tlog-witness), served when the data directory is a witness (it holds
 * witness.key and witness.db: `auditd witness init`).
 *
 * The decisions are core's (witness.h) over the SQLite store
 * (witness_sqlite.h); this module maps them to HTTP: 200 text/plain with the
 * cosignature line; 409 `text/x.tlog.size` with the witness's size and a
 * newline; 400, 403, 404, 422 with the JSON error body every auditd error has
 * ({"error", "message"}: the spec fixes the status, not these bodies). */
#ifndef AUDITD_WITSRV_H
#define AUDITD_WITSRV_H

#include "api.h"
#include "buf.h"
#include "status.h"

typedef struct witsrv witsrv;

/* Open the witness in `dir`. *out = NULL (and ADT_OK) when `dir` is not a
 * witness; an error when it is one but its files cannot be used. */
int witsrv_open(const char *dir, witsrv **out, adt_err *err);
void witsrv_close(witsrv *w);

/* Serve POST /add-checkpoint. Returns ADT_OK once `resp` is filled. */
int witsrv_add_checkpoint(witsrv *w, const api_request *req, api_response *resp);

/* Serve GET /v1/witness/<origin hash>/checkpoint (tlog-witness's monitoring
 * retrieval, monitoring prefix /v1/witness): the newest checkpoint cosigned
 * for that log, with the log's signature line and the witness's cosignature;
 * 404 if none. */
int witsrv_get_checkpoint(witsrv *w, const api_request *req, api_response *resp);

/* Prometheus lines: requests by answer status, cosign latency. */
int witsrv_metrics(witsrv *w, buf *out);

#endif
