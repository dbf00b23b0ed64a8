/* cstore.h: the central tier's state in PostgreSQL (schema in cschema.h,
 * design in docs/central.md).
 *
 * A `cstore` is one libpq connection (one session). Readers (status, verify)
 * may use any number of them on any front-end. The writer of a site's stream
 * is the session that holds the advisory lock (CSCHEMA_LOCK_CLASS, site id):
 * cstore_stream_lock takes it, and every write of the stream also locks the
 * stream's row and checks that it is still what the writer last read, so a
 * stale or duplicated writer changes nothing (ADT_ECONFLICT).
 *
 * Threads: a cstore is used by one thread at a time.
 * Errors: a lost connection is ADT_EIO and leaves cstore_ok() false; the
 * caller closes the handle and opens a new one (which must lock again). */
#ifndef AUDITD_CSTORE_H
#define AUDITD_CSTORE_H

#include "buf.h"
#include "ledger.h"
#include "merkle.h"

#include <libpq-fe.h>
#include "note.h"
#include "sitelog.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cstore cstore;

#define CSTORE_NAME_MAX 64   /* application_name as PostgreSQL keeps it */
#define CSTORE_TIME_MAX 40   /* a timestamptz as text */
#define CSTORE_SITES_MAX 4096

enum {
    CSTORE_NO_SCHEMA_CHECK = 1 /* open without requiring the current schema (init) */
};

/* Connect with a libpq connection string or URI (`conninfo`; "" uses the PG*
 * environment). `role` names this front-end in PostgreSQL's application_name
 * ("auditd-central <role> <host>:<pid>") unless the connection string sets one.
 * Checks the schema version unless flags has CSTORE_NO_SCHEMA_CHECK. */
int cstore_open(const char *conninfo, const char *role, int flags, cstore **out, adt_err *err);
void cstore_close(cstore *cs);
/* False once the connection is lost. */
bool cstore_ok(const cstore *cs);
/* The application_name this session uses (who detected an alert, who writes). */
const char *cstore_app_name(const cstore *cs);

/* Apply pending migrations (cschema_migrate). */
int cstore_migrate(cstore *cs, int *from, int *to, adt_err *err);

/* For the central tier's other modules (cwitness, cproof, cship), which keep
 * their own tables in the same schema: the session's connection, and the
 * error idiom (the PostgreSQL message with `what`; SQLSTATE 23505 is
 * ADT_EEXIST, serialisation failures ADT_EBUSY, else ADT_EIO). `r` may be
 * NULL and is cleared. */
PGconn *cstore_conn(cstore *cs);
int cstore_fail(cstore *cs, PGresult *r, adt_err *err, const char *what);
/* Run `sql` with n parameters as PQexecParams does (lens and fmts may be NULL: all text) and
 * turn any result but `want` (PGRES_COMMAND_OK or PGRES_TUPLES_OK) into cstore_fail(what). On
 * success OUT *out holds the result for the caller to PQclear; with out NULL it is cleared. */
int cstore_exec(cstore *cs, const char *sql, int n, const char *const *vals, const int *lens,
                const int *fmts, ExecStatusType want, PGresult **out, const char *what,
                adt_err *err);
/* Leave a transaction left open by a failure (no-op when idle). */
void cstore_rollback(cstore *cs);
/* The start of opening a handle that connects later (cwitness, mirror): libsodium initialised,
 * OUT *handle a zeroed malloc'd block of `size` bytes (the handle) and *copy a malloc'd copy
 * of conninfo ("" when NULL) for the handle to keep. On failure neither is left allocated. */
int cstore_client_new(const char *conninfo, size_t size, void **handle, char **copy,
                      adt_err *err);
/* A bytea column (text form) of exactly `want` bytes. */
bool cstore_bytea(const PGresult *r, int row, int col, uint8_t *out, size_t want);

/* ---------- sites ---------- */

typedef struct cstore_site {
    int64_t id;
    char origin[NOTE_ORIGIN_MAX + 1];
    char key_line[NOTE_KEYLINE_MAX];
    uint8_t pub[32];
    char url[SITELOG_URL_MAX + 1];
    char added_at[CSTORE_TIME_MAX];
    char added_by[CSTORE_NAME_MAX * 2];
} cstore_site;

/* Register a site: its verifier key line (whose name is the site's origin), the
 * base URL of its daemon and an auditor token there. Creates its empty stream.
 * ADT_EEXIST if the origin is registered already. */
int cstore_site_add(cstore *cs, const char *key_line, const char *url, const char *token,
                    const char *by, cstore_site *out, adt_err *err);
/* A site by origin (ADT_ENOTFOUND if none) or by id. */
int cstore_site_get(cstore *cs, const char *origin, cstore_site *out, adt_err *err);
int cstore_site_by_id(cstore *cs, int64_t id, cstore_site *out, adt_err *err);
/* The ids of every registered site, by id (at most `cap`). */
int cstore_site_ids(cstore *cs, int64_t *ids, size_t cap, size_t *n, adt_err *err);
/* The site's auditor token in sodium_malloc'd memory: OUT *token, free it with
 * sodium_free after sodium_memzero(token, *len). */
int cstore_site_token(cstore *cs, int64_t id, char **token, size_t *len, adt_err *err);
/* An operator's decision after an alert: resolve the site's open alerts (who,
 * why) and restart its stream. OUT: *resolved = how many alerts. ADT_ECONFLICT
 * if the stream is not halted and no alert is open. */
int cstore_site_resume(cstore *cs, int64_t id, const char *by, const char *reason,
                       int *resolved, adt_err *err);

/* ---------- a site's stream (the writer's side) ---------- */

/* What the writer knows of a stream; every write checks that the row still
 * says this (next entry and pending size) and updates it. */
typedef struct cstore_stream {
    int64_t site_id;
    bool halted;
    uint64_t pending_size;      /* the newest site checkpoint proven consistent */
    merkle_hash pending_root;
    char pending_note[SITELOG_NOTE_MAX]; /* "" before the first */
    uint64_t mirror_size;       /* the newest checkpoint whose entries are all stored */
    merkle_frontier frontier;   /* compact range of the stored entries [0, frontier.size) */
} cstore_stream;

/* Try to become the writer of the site's stream for this session.
 * OUT: *got = false when another session holds it (a standby). */
int cstore_stream_lock(cstore *cs, int64_t site_id, bool *got, adt_err *err);
int cstore_stream_load(cstore *cs, int64_t site_id, cstore_stream *st, adt_err *err);

/* Make (size, root, note) the pending checkpoint (size > st->pending_size) and
 * record it in `checkpoints`. The caller has verified its signature and its
 * consistency with st's pending checkpoint. ADT_ECONFLICT if the row changed
 * (reload); on success `st` is updated. */
int cstore_stream_advance(cstore *cs, cstore_stream *st, uint64_t size, const merkle_hash root,
                          const char *note, adt_err *err);

/* A perfect subtree completed by stored entries (merkle_frontier_push's
 * on_node): the central tier keeps those of level >= CSTORE_NODE_MIN_LEVEL,
 * and computes lower ones from at most 2^(level) leaf hashes when a proof
 * needs them. */
#define CSTORE_NODE_MIN_LEVEL 4
typedef struct cstore_node {
    int level;
    uint64_t index;
    merkle_hash hash;
} cstore_node;

/* Store `n` entries starting at st->frontier.size (leaf i = data[off[i]..+len[i]],
 * hash hashes[i]) whose new compact range `nf` the caller has proven against
 * the pending checkpoint, with the `nnodes` subtrees they complete; when
 * nf->size reaches the pending size, the pending checkpoint becomes the
 * mirror checkpoint in the same transaction. `in_tx` (may be NULL) runs
 * inside that transaction too, to record what the entries say (cship.h).
 * ADT_ECONFLICT if the row changed (nothing stored); on success `st` is updated. */
int cstore_stream_append(cstore *cs, cstore_stream *st, const char *data, const size_t *off,
                         const size_t *len, const merkle_hash *hashes, size_t n,
                         const cstore_node *nodes, size_t nnodes, const merkle_frontier *nf,
                         int (*in_tx)(cstore *cs, void *ctx, adt_err *err), void *ctx,
                         adt_err *err);

/* Raise an alert (`kind`: "fork", "cut" or "bad_entries") with the site's
 * offending checkpoint (may be NULL) and halt the stream, in one transaction.
 * The stored pending checkpoint is kept as evidence with it. OUT: *alert_id.
 * If the stream is already halted nothing is added (*alert_id = 0). */
int cstore_stream_halt(cstore *cs, cstore_stream *st, const char *kind, const char *site_note,
                       const char *detail, int64_t *alert_id, adt_err *err);

/* Raise an alert from the witness front-end (source "witness"): `kind` "fork"
 * or "cut", the checkpoint the centre cosigned last (`stored_note`) and the
 * one that contradicts it (`site_note`) as evidence. The stream is not halted
 * (the mirror never stores what it cannot prove, and checks the site on its
 * own). Nothing is added while the site has an open witness alert of that
 * kind (*alert_id = 0): a refused site resubmits every few seconds. */
int cstore_alert_witness(cstore *cs, int64_t site_id, const char *kind, const char *stored_note,
                         const char *site_note, const char *detail, int64_t *alert_id,
                         adt_err *err);

/* Record the outcome of a pull (error = NULL: success) for `central status`.
 * Best effort: failures are ignored (the next pull records again). */
void cstore_stream_note(cstore *cs, int64_t site_id, const char *error);

/* ---------- reading ---------- */

typedef struct cstore_site_status {
    cstore_site site;
    bool halted;
    uint64_t pending_size, mirror_size, next_entry;
    char checked_at[CSTORE_TIME_MAX];       /* "" never */
    char last_error[ADT_ERR_MAX];           /* "" none since the last success */
    char last_error_at[CSTORE_TIME_MAX];
    char writer[CSTORE_NAME_MAX * 2];       /* application_name holding the lock, "" none */
    uint64_t open_alerts;
    bool cosigned;                          /* the centre cosigned a checkpoint as its witness */
    uint64_t cosigned_size;                 /* the newest of them */
    char cosigned_at[CSTORE_TIME_MAX];
    uint64_t batches, batches_fetched;      /* shipped batches recorded by mirrored entries, fetched */
} cstore_site_status;

typedef struct cstore_alert {
    int64_t id;
    char origin[NOTE_ORIGIN_MAX + 1];
    char kind[16];
    char source[16];                        /* "mirror" or "witness" */
    char detected_at[CSTORE_TIME_MAX];
    char detected_by[CSTORE_NAME_MAX * 2];
    char detail[ADT_ERR_MAX * 2];
    char stored_note[SITELOG_NOTE_MAX];
    char site_note[SITELOG_NOTE_MAX];
    bool resolved;
    char resolved_at[CSTORE_TIME_MAX];
    char resolved_by[CSTORE_NAME_MAX * 2];
    char resolution[ADT_ERR_MAX];
} cstore_alert;

/* Call on_site for every site (by origin), then on_alert for every alert
 * (open ones only unless `all_alerts`), newest first. A callback returning
 * non-zero stops and that value is returned. */
int cstore_status(cstore *cs, bool all_alerts,
                  int (*on_site)(void *ctx, const cstore_site_status *s),
                  int (*on_alert)(void *ctx, const cstore_alert *a), void *ctx, adt_err *err);

/* The same as one JSON document {"sites": [...], "alerts": [...]} appended to
 * `out` (`auditd central status --json`, GET /v1/central/status). */
int cstore_status_json(cstore *cs, bool all_alerts, buf *out, adt_err *err);

/* Check one site's mirror from what is stored, in one read-only snapshot:
 * indices 0..next-1 all present, every leaf hashes to its leaf_hash, every
 * stored checkpoint is signed by the site's key and, for sizes the entries
 * reach, has the root recomputed from them; the stored compact range and the
 * mirror checkpoint agree with the entries. Memory stays bounded. */
typedef struct cstore_verify_result {
    ledger_verify_result v; /* entries, checkpoints, ok, the first problem, root of the stored entries */
    uint64_t mirror_size;
} cstore_verify_result;
int cstore_verify_site(cstore *cs, const cstore_site *site, cstore_verify_result *res,
                       adt_err *err);

#endif
