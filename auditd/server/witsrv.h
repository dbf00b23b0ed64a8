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
#include "note.h"
#include "status.h"
#include "witness.h"

typedef struct witsrv witsrv;

/* Open the witness in `dir`. *out = NULL (and ADT_OK) when `dir` is not a
 * witness; an error when it is one but its files cannot be used. */
int witsrv_open(const char *dir, witsrv **out, adt_err *err);

/* A witness kept somewhere else than the data directory's witness.db: the
 * central tier's store in PostgreSQL (central/cwitness.h) passes itself in
 * through server_start_ext, so the daemon serves it without knowing where
 * the state lives. Everything is borrowed and must outlive the witsrv. */
typedef struct witsrv_backend {
    const char *name;                 /* the witness's name, for the log */
    const note_signer *signer;        /* its cosigner key */
    const witness_store_ops *ops;     /* its state (compare-and-swap) */
    void *ctx;
    /* GET /v1/witness/<hex>/checkpoint: the newest cosigned note of the log
     * whose origin's SHA-256 is `hex` into `note`; ADT_ENOTFOUND if none. */
    int (*latest_by_hash)(void *ctx, const char *hex, buf *note, adt_err *err);
    /* Optional: told of every decided request (body and answer) after the
     * answer is made, e.g. to look into refusals of a validly signed
     * checkpoint. Must not fail the request. */
    void (*after)(void *ctx, const char *body, size_t len, const witness_answer *a);
} witsrv_backend;

int witsrv_open_backend(const witsrv_backend *b, witsrv **out, adt_err *err);
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
