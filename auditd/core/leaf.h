/* leaf.h: a ledger entry read once into a small typed view.
 *
 * Everything that reads entries back (control evaluation, reports, lineage,
 * the event index) needs the same few fields of a leaf: its type, writer,
 * source, the actor and time of its payload, the payload itself, whether it
 * carries a submitter's signature. leaf_parse reads them in one pass over the
 * leaf the ledger wrote (ledger.h: canonical JSON, members in byte order
 * payload, prev, recorded_at, seq, sig?, source, type, writer?), so no reader
 * keeps its own JSON scanner.
 *
 * Leaves come from a file that can be altered: the parse is bounded and
 * refuses (ADT_ECORRUPT, naming the entry) anything not in that form; what
 * it accepts has every string decoded and checked.
 *
 * Ownership: `payload` and `sig` point into the leaf bytes passed in, which
 * must outlive the view; the other fields are copies. */
#ifndef AUDITD_LEAF_H
#define AUDITD_LEAF_H

#include "event.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEAF_SOURCE_MAX 128

typedef struct leaf_view {
    uint64_t index;                     /* the entry's index (= its seq) */
    char type[EVENT_TYPE_MAX + 1];
    event_writer writer;                /* EVENT_WRITER_NONE on entries of older ledgers */
    char source[LEAF_SOURCE_MAX + 1];
    char actor[EVENT_ACTOR_MAX + 1];    /* the payload's "actor"; "" when it has none */
    int64_t time_us;                    /* the payload's "time" when has_time */
    bool has_time;
    int64_t recorded_us;                /* when the ledger appended it */
    const char *payload;                /* the payload object's bytes (borrowed) */
    size_t payload_len;
    const char *sig;                    /* the submitter's signature object, or NULL */
    size_t sig_len;
    bool has_sig;
} leaf_view;

/* Read leaf[0..len) of entry `index` into *out. ADT_ECORRUPT with the
 * problem and the index when the bytes are not a leaf of this ledger's
 * form (or its seq is not `index`). */
int leaf_parse(const char *leaf, size_t len, uint64_t index, leaf_view *out, adt_err *err);

/* Only the hash-chain fields, for verification (no decoding): the span of
 * the hex text of `prev` and the value of `seq`. False when the leaf is not
 * in the ledger's form. */
bool leaf_chain(const char *leaf, size_t len, const char **prev, size_t *prev_len,
                uint64_t *seq);

/* A string member of the payload (decoded into out[0..cap)). ADT_ENOTFOUND
 * when absent, ADT_EINVAL when not a string, ADT_ETOOBIG when longer. */
int leaf_payload_str(const leaf_view *v, const char *key, char *out, size_t cap);

#endif
