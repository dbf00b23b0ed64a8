/* cosigdb.h: the cosignatures a log has received from its witnesses, kept in
 * `cosigs.db` in the data directory (not ledger.db: they are not ledger
 * entries, and writing them must never wait on, or hold up, the ledger's
 * writer).
 *
 * Tables: cosigned (size, root, the ledger's signed checkpoint note at that
 * size) and cosignatures (size, witness vkey, the cosignature line, its
 * timestamp, when it arrived). Only cosignatures that verified with the
 * witness's key over the ledger's own checkpoint are stored (the caller
 * checks; cosigdb_add re-checks the line parses for the note).
 *
 * A checkpoint "with its cosignatures" is the ledger's note (text, empty
 * line, the log's signature line) followed by the cosignature lines: still a
 * C2SP signed note, the log's line first.
 *
 * Threads: a handle may be shared by threads (a mutex inside); the newest
 * cosigned note is cached in memory so that receipts do not read the file. */
#ifndef AUDITD_COSIGDB_H
#define AUDITD_COSIGDB_H

#include "buf.h"
#include "cosig.h"
#include "ledger.h"
#include "merkle.h"
#include "status.h"

#include <stdbool.h>
#include <stdint.h>

#define COSIGDB_FILE "cosigs.db"
#define COSIGDB_WITNESSES_MAX 16   /* cosignatures attached to one checkpoint */
#define COSIGDB_NOTE_MAX (NOTE_MAX + COSIGDB_WITNESSES_MAX * COSIG_LINE_MAX)

typedef struct cosigdb cosigdb;

/* Open dir/cosigs.db; with !create, ADT_ENOTFOUND when there is none. */
int cosigdb_open(const char *dir, bool create, cosigdb **out, adt_err *err);
void cosigdb_close(cosigdb *db);

/* Record witness `vkey`'s cosignature `line` (newline included) on the
 * ledger checkpoint `note` (the log-signed note for size/root) at
 * `timestamp`. A later cosignature by the same witness on the same size
 * replaces the earlier one. */
int cosigdb_add(cosigdb *db, const char *note, uint64_t size, const merkle_hash root,
                const char *vkey, const char *line, uint64_t timestamp, adt_err *err);

/* `note` (a log-signed checkpoint for size/root) followed by every stored
 * cosignature line for that exact (size, root), into `out` (replacing its
 * contents). *n (may be NULL) gets the number of cosignatures. */
int cosigdb_attach(cosigdb *db, const char *note, uint64_t size, const merkle_hash root, buf *out,
                   size_t *n, adt_err *err);

/* The newest cosigned checkpoint with its cosignatures into `out`, its size
 * into *size. ADT_ENOTFOUND when nothing was cosigned yet. */
int cosigdb_latest(cosigdb *db, buf *out, uint64_t *size, adt_err *err);

/* The largest size witness `vkey` cosigned; ADT_ENOTFOUND if it never did. */
int cosigdb_witness_size(cosigdb *db, const char *vkey, uint64_t *size, adt_err *err);

/* The witnesses' cosignatures on (size, root), newest first per witness. */
typedef struct cosigdb_cosig {
    char vkey[NOTE_KEYLINE_MAX];
    char line[COSIG_LINE_MAX];
    uint64_t timestamp;
} cosigdb_cosig;
int cosigdb_list(cosigdb *db, uint64_t size, const merkle_hash root, cosigdb_cosig *out,
                 size_t cap, size_t *n, adt_err *err);

/* Convenience for readers (CLI, reports): the ledger's checkpoint at `size`
 * (or its latest when `latest`) with the cosignatures stored in dir/cosigs.db
 * if there is one, into `out`; *out_size (may be NULL) gets its size. */
int cosigdb_checkpoint(const char *dir, ledger *lg, bool latest, uint64_t size, buf *out,
                       uint64_t *out_size, size_t *ncosigs, adt_err *err);

#endif
