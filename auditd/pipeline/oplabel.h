/* oplabel.h: operators' labels as ground truth (docs/models.md, "Operator
 * labels").
 *
 * Operators label what a model or an agent raised, in the web console:
 * `label.set` {target: "alert:ID" | "prediction:N", label:
 * "confirmed_failure" | "false_alarm" | "unsure", device?, reading_time?},
 * written by a person (or an admin). What a label covers is decided when it
 * is given and written into the event as `device` + `reading_time`, the one
 * reading it is about (oplabel_alert_reading and the console, docs/console.md):
 *   - prediction:N  the reading the prediction was made for;
 *   - alert:ID      when the alert names a `device`: that device's latest
 *                   stored reading at or before the alert's time, at most
 *                   OPLABEL_ALERT_WINDOW_US before it, of a profile with a
 *                   failure_label field (a machine whose failures are
 *                   labelled); otherwise (a model's drift alert, a camera, no
 *                   reading nearby) no reading: the label stays on record
 *                   and on screen but is nobody's ground truth.
 * confirmed_failure makes the reading a failure (1), false_alarm not (0);
 * unsure says nothing. Precedence: a later label of the same target replaces
 * an earlier one (unsure withdraws a verdict); of several targets covering
 * one reading, the latest verdict (highest ledger index) counts.
 *
 * A set is filled from ledger entries in index order, then finished; it
 * answers "what did the operators say about this reading" by binary search.
 * Labelled datasets pin the verdicts that training uses (below).
 * Ownership: a set owns its strings. Threads: one thread at a time. */
#ifndef AUDITD_OPLABEL_H
#define AUDITD_OPLABEL_H

#include "evsink.h"
#include "ledger.h"
#include "status.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPLABEL_ALERT_WINDOW_US (3600LL * 1000000) /* an alert is about the last hour */
#define OPLABEL_MAX 1000000                        /* label.set events read into one set */

/* A verdict on one reading. */
typedef struct oplabel {
    uint64_t index;    /* ledger index of the label.set that counts */
    const char *device;
    int64_t reading_us;
    int value;         /* 1 confirmed_failure, 0 false_alarm */
} oplabel;

typedef struct oplabel_stats {
    uint64_t events;     /* label.set events read */
    uint64_t targets;    /* distinct targets labelled */
    uint64_t unsure;     /* targets whose latest label is unsure */
    uint64_t no_reading; /* targets whose latest label covers no reading */
    uint64_t overruled;  /* verdicts of a reading replaced by a later one of another target */
    uint64_t verdicts;   /* readings with a verdict (= oplabel_count) */
    uint64_t failures, false_alarms;
} oplabel_stats;

typedef struct oplabel_set oplabel_set;

int oplabel_set_new(oplabel_set **out, adt_err *err);
void oplabel_set_free(oplabel_set *s);

/* Feed ledger entry `index` (its exact leaf bytes); anything but a
 * well-formed label.set by a person or an admin is ignored. Entries must come
 * in index order. ADT_ETOOBIG past OPLABEL_MAX labels. */
int oplabel_set_add_leaf(oplabel_set *s, uint64_t index, const char *leaf, size_t len,
                         adt_err *err);
/* Feed ledger entries [0, upto) (upto is clamped to the ledger's size). */
int oplabel_set_read(oplabel_set *s, ledger *lg, uint64_t upto, adt_err *err);
/* Apply the precedence rules; afterwards the set only answers lookups. */
int oplabel_set_finish(oplabel_set *s, adt_err *err);

/* The verdict on a reading, if any (finished sets only). */
bool oplabel_find(const oplabel_set *s, const char *device, int64_t reading_us, int *value,
                  uint64_t *index);
size_t oplabel_count(const oplabel_set *s);
const oplabel *oplabel_at(const oplabel_set *s, size_t i); /* by (device, reading time) */
void oplabel_stats_get(const oplabel_set *s, oplabel_stats *st);

/* The reading an alert about `device` raised at `alert_us` covers (see
 * above). OUT: *reading_us. ADT_ENOTFOUND when it covers none. */
int oplabel_alert_reading(sqlite3 *tdb, const char *device, int64_t alert_us, int64_t *reading_us,
                          adt_err *err);

/* ---- labelled datasets ----
 * `auditd dataset define ... --labels` defines the dataset of a window (the
 * base, lineage.h) and then a labelled dataset: the base's batches and rows
 * plus the verdicts of the ledger's labels (entries [0, upto), upto = the
 * ledger's size then) on readings of the base. Its version id is the
 * lowercase hex SHA-256 of
 *   "auditd-dataset-labels-v1\n" "base=<base id>\n"
 *   then "label=<ledger index> <device> <reading time us> <0|1>\n" per
 *   verdict, in ledger index order,
 * so it pins exactly which label events training uses, and anyone holding the
 * ledger and the base can recompute it. It is recorded as `dataset.define`
 * {dataset, base, batches, first_batch, last_batch, readings, from, to,
 * devices, labels: {count, confirmed_failure, false_alarm, upto,
 * first_index, last_index}} and its verdicts are kept in telemetry.db
 * (dataset_labels). Without any verdict on its readings, the base is the
 * answer (labels = 0, `labelled` false) and nothing more is recorded. */
typedef struct oplabel_dataset {
    char id[65];
    char base[65];
    bool labelled;       /* id names a labelled dataset (else id = base) */
    bool existed;        /* defined before: nothing new recorded */
    uint64_t labels, failures, false_alarms;
    uint64_t upto;
    uint64_t ledger_index; /* of its dataset.define (EVSINK_NONE without ledger) */
} oplabel_dataset;

/* `db` writable telemetry.db; `lg` the ledger to read labels from; `s` where
 * dataset.define goes. */
int oplabel_dataset_define(sqlite3 *db, ledger *lg, const evsink *s, const char *actor,
                           const char *base, oplabel_dataset *out, adt_err *err);

/* The verdicts a dataset was defined with, as a finished set (empty for a
 * dataset without labels). */
int oplabel_dataset_labels(sqlite3 *db, const char *dataset, oplabel_set **out, adt_err *err);

/* Per verdict of a dataset (ledger index order): its ledger index, target
 * reading and value. For lineage. */
typedef int (*oplabel_row_fn)(void *ctx, uint64_t index, const char *device, int64_t reading_us,
                              int value);
int oplabel_dataset_each(sqlite3 *db, const char *dataset, oplabel_row_fn fn, void *ctx,
                         adt_err *err);

#endif
