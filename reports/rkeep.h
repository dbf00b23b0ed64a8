/* rkeep.h: the reports' kept ledger folds (`reports_fold.db`, docs/reports.md
 * "Kept state").
 *
 * A report's ledger pass is a fold over the entries [0, size) for one set of
 * windows. Its state after the fold is kept here, per key (the fold's format
 * version and every window bound it depends on, rdata.c builds it), with the
 * ledger size it covers and the ledger's root at that size. A later report
 * of the same windows restores it, checks that the ledger still has that
 * root at that size (the same ledger: RFC 6962 roots commit to every entry
 * below), and folds only the entries after it. The file is a cache of what
 * the ledger proves: anything that does not check out (another key, another
 * ledger, a bad checksum, a damaged file) is ignored and the fold is rebuilt
 * from the ledger; nothing here ever makes a report fail.
 *
 * The state is an opaque byte string written and read with the bounded
 * helpers below (little-endian, lengths checked on every read). The file is
 * SQLDB_REBUILDABLE; at most RKEEP_MAX states are kept (least recently
 * used dropped). One connection per caller; not shared between threads. */
#ifndef AUDITD_RKEEP_H
#define AUDITD_RKEEP_H

#include "buf.h"
#include "merkle.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RKEEP_FILE "reports_fold.db"
#define RKEEP_MAX 16
#define RKEEP_KEY_MAX 256

typedef struct rkeep rkeep;

/* Open (creating) <data_dir>/reports_fold.db. A file SQLite cannot read
 * (damaged, not a database) is removed and created anew: it only ever held
 * a cache. */
int rkeep_open(const char *data_dir, rkeep **out, adt_err *err);
void rkeep_close(rkeep *k);

/* The kept state of `key`: the size it covers, the root at that size and the
 * state bytes (malloc'd; the caller frees). ADT_ENOTFOUND when none is kept;
 * ADT_EEXIST when it covers more than `max_size` entries (the caller's tree
 * size): *size and root are set but the state is neither read nor checked
 * nor copied; ADT_ECORRUPT when its checksum does not match (the caller
 * rebuilds). */
int rkeep_load(rkeep *k, const char *key, uint64_t max_size, uint64_t *size, merkle_hash root,
               uint8_t **state, size_t *len, adt_err *err);

/* Keep `state` for `key` at `size` with `root`, replacing what was kept for
 * it (the caller does not save a fold older than the one it restored: an
 * `--at-size` report below the kept size folds privately). Drops the least
 * recently used states beyond RKEEP_MAX. */
int rkeep_save(rkeep *k, const char *key, uint64_t size, const merkle_hash root,
               const uint8_t *state, size_t len, adt_err *err);

/* ---- writing and reading the state bytes ------------------------------------ */

/* The state being written, in core's bounded buffer (at most RKEEP_STATE_MAX
 * bytes: what rkeep_save can bind). */
#define RKEEP_STATE_MAX ((size_t)INT32_MAX)
typedef struct rkeep_w {
    buf b;
    bool oom; /* a write failed (memory, the bound, or a record table naming a
               * number field that is not 8 bytes): the state is not kept */
} rkeep_w;

/* An empty state (no allocation until the first write). Cannot fail. */
void rkeep_w_init(rkeep_w *w);
void rkeep_w_u64(rkeep_w *w, uint64_t v);
void rkeep_w_i64(rkeep_w *w, int64_t v);
void rkeep_w_f64(rkeep_w *w, double v); /* the bits, NaN included */
void rkeep_w_bytes(rkeep_w *w, const void *p, size_t n); /* length, then bytes */
void rkeep_w_str(rkeep_w *w, const char *s);
void rkeep_w_free(rkeep_w *w);
/* A count written before the items it counts: rkeep_w_count_at writes a
 * placeholder and returns where it is; rkeep_w_set_count fills it in. */
size_t rkeep_w_count_at(rkeep_w *w);
void rkeep_w_set_count(rkeep_w *w, size_t at, uint64_t n);

typedef struct rkeep_r {
    const uint8_t *p;
    size_t len, pos;
    bool bad; /* a read went past the end or a length was out of bounds */
} rkeep_r;

uint64_t rkeep_r_u64(rkeep_r *r);
int64_t rkeep_r_i64(rkeep_r *r);
double rkeep_r_f64(rkeep_r *r);
/* The next length-prefixed bytes, borrowed from the state; *n gets the length. */
const uint8_t *rkeep_r_bytes(rkeep_r *r, size_t *n);
/* The next string into out[cap]; bad when it does not fit (a state written
 * by this code always fits). */
void rkeep_r_str(rkeep_r *r, char *out, size_t cap);
/* A count of items of at least `min_size` bytes each: bad when the rest of
 * the state cannot hold that many (so a damaged count never allocates much). */
size_t rkeep_r_count(rkeep_r *r, size_t min_size);


/* ---- records: a struct's fields written and read in one table's order ---- */

/* One field of a record: its kind, where it sits and its size (a string's
 * capacity; 8 for the numbers). Writing and reading the same table keeps the
 * two sides of a record's encoding from drifting apart. */
typedef enum rkeep_kind { RKEEP_STR, RKEEP_I64, RKEEP_U64, RKEEP_F64 } rkeep_kind;
typedef struct rkeep_field {
    rkeep_kind kind;
    size_t off, size;
} rkeep_field;

#define RKEEP_FIELD(kind, T, m) {(kind), offsetof(T, m), sizeof(((T *)0)->m)}
#define RKEEP_NFIELDS(tab) (sizeof(tab) / sizeof(tab)[0])

/* Write rec's fields in the table's order (a number field must be 8 bytes:
 * int64_t, uint64_t or double as its kind says). */
void rkeep_w_rec(rkeep_w *w, const void *rec, const rkeep_field *f, size_t nf);
/* Read them back into rec (its other bytes untouched); bad as the field
 * readers are, or when a number field is not 8 bytes. */
void rkeep_r_rec(rkeep_r *r, void *rec, const rkeep_field *f, size_t nf);
/* The fewest bytes one record of this table takes (for rkeep_r_count). */
size_t rkeep_rec_min(size_t nf);

#endif
