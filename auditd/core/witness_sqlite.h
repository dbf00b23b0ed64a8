/* witness_sqlite.h: a witness's state in SQLite, `witness.db` in the data
 * directory (its own file: never ledger.db), behind witness_store_ops.
 *
 * Tables: meta (format, the witness name and public key), logs (origin, the
 * log's vkey; several keys per origin allowed), latest (per origin: the size,
 * root and note of the latest cosigned checkpoint). The compare-and-swap of
 * `latest` is one BEGIN IMMEDIATE transaction (synchronous=FULL), so it is
 * atomic across threads and processes and durable before the witness answers.
 *
 * Threads: a handle may be used from several threads (one mutex inside). */
#ifndef AUDITD_WITNESS_SQLITE_H
#define AUDITD_WITNESS_SQLITE_H

#include "buf.h"
#include "note.h"
#include "status.h"
#include "witness.h"

#include <stdint.h>

#define WITNESS_DB_FILE "witness.db"

typedef struct witness_sqlite witness_sqlite;

/* Make `dir` a witness named `name` (a key name: printable ASCII, no spaces
 * or '+'): a new Ed25519 key in dir/witness.key (mode 0600, created
 * exclusively) and dir/witness.db. ADT_EEXIST if either is there already.
 * `seed` (32 bytes) is for reproducible tests only; NULL draws a fresh key. */
int witness_sqlite_create(const char *dir, const char *name, const uint8_t *seed, adt_err *err);

/* Open dir/witness.db. ADT_ENOTFOUND when `dir` is not a witness. */
int witness_sqlite_open(const char *dir, witness_sqlite **out, adt_err *err);
void witness_sqlite_close(witness_sqlite *ws);
const char *witness_sqlite_name(const witness_sqlite *ws);

/* Load dir/witness.key as the signer for this witness's name; refuses a key
 * that is not the one witness.db was created with. Free with note_signer_free. */
int witness_sqlite_signer(witness_sqlite *ws, const char *dir, note_signer **out, adt_err *err);

/* Register `log_vkey` (a type-0x01 vkey) as trusted for `origin`.
 * ADT_EEXIST if it is registered already. */
int witness_sqlite_add_log(witness_sqlite *ws, const char *origin, const char *log_vkey,
                           adt_err *err);
/* The latest note cosigned for `origin` (checkpoint, log signature, the
 * witness's cosignature) into `note`, its size into *size; ADT_ENOTFOUND if none. */
int witness_sqlite_latest(witness_sqlite *ws, const char *origin, buf *note, uint64_t *size,
                          adt_err *err);
/* The same for the log whose origin hashes to `origin_sha256_hex` (lowercase
 * hex of SHA-256 of the origin: tlog-witness's monitoring path). */
int witness_sqlite_latest_by_hash(witness_sqlite *ws, const char *origin_sha256_hex, buf *note,
                                  adt_err *err);
/* One line per registered key: "<origin> <latest size or -> <log vkey>\n". */
int witness_sqlite_list(witness_sqlite *ws, buf *out, adt_err *err);

/* The store operations over this handle (ctx = the witness_sqlite *). */
const witness_store_ops *witness_sqlite_ops(void);

#endif
