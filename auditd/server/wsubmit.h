/* wsubmit.h: the log side of C2SP tlog-witness: a background thread that
 * submits the ledger's newest checkpoint to each configured witness
 * (`auditd serve --witness URL --witness-key VKEY`) and keeps the
 * cosignatures they return in cosigs.db (cosigdb.h).
 *
 * Rounds happen at most once a second, when the tree has grown past what a
 * witness cosigned, and once more at shutdown (after the final checkpoint).
 * A round sends every due witness, in parallel (core's HTTP client, a
 * httpc_group: POST <url>/add-checkpoint, Content-Type text/plain), the body
 * "old <the witness's size>\n" + the RFC 6962 consistency proof from that
 * size + "\n" + the checkpoint; a 409 tells the witness's size and the round
 * retries with a proof from there; a 200's cosignature is kept only if it
 * verifies with the witness's key over this checkpoint. A witness that fails
 * is retried with exponential backoff (1 s doubling to 30 s) and reported in
 * /metrics and /healthz; a witness that has cosigned a larger tree than the
 * ledger holds is reported as a conflict (the ledger may have been cut).
 *
 * Never blocks ingestion: the commit listener only stores the new size and
 * signals (wsubmit_notify); all I/O runs on the submitter's own thread with
 * its own read-only ledger handle. */
#ifndef AUDITD_WSUBMIT_H
#define AUDITD_WSUBMIT_H

#include "buf.h"
#include "cosigdb.h"
#include "srvcfg.h"
#include "status.h"

#include <stdint.h>

typedef struct wsubmit wsubmit;

/* Start submitting the ledger in `dir` to the witnesses in cfg (at least
 * one), storing cosignatures in `db` (borrowed; it must outlive the
 * submitter). Initialises libcurl (httpc_global_init): call before other
 * threads use it. */
int wsubmit_start(const char *dir, const srvcfg *cfg, cosigdb *db, wsubmit **out, adt_err *err);
/* The ledger now has `tree_size` entries (cheap; safe from any thread). */
void wsubmit_notify(wsubmit *w, uint64_t tree_size);
/* One last round for the final checkpoint (a few seconds at most), then stop
 * the thread and free. NULL is a no-op. */
void wsubmit_stop(wsubmit *w);

/* Prometheus lines per witness: up, cosigned size, lag, submissions by result. */
int wsubmit_metrics(wsubmit *w, buf *out);
/* JSON array of the witnesses' states for /healthz. */
int wsubmit_health(wsubmit *w, buf *out);

#endif
