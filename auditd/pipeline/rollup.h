/* rollup.h: hourly rollups of telemetry, kept by ingestion.
 *
 * For every device and UTC hour that has readings, one row sums what the
 * readings of that hour say, read through the KPI roles their profile
 * declares (profile.h) rather than field names: the sampled time in each
 * machine state, energy, produced and good units, inspections, failure
 * labels, and per numeric field the count, sum, minimum and maximum; beside
 * it, per model version, the outcomes of the predictions made at ingestion.
 * Ingestion writes them in the transaction that stores the readings, so a
 * rollup never counts a reading that was not stored, nor misses one that
 * was. docs/pipeline.md ("Rollups") defines every column exactly.
 *
 * Use: ingestion adds each stored reading and prediction to a rollup_acc
 * and flushes it before its commit; readers ask for the rows of a period.
 * Ownership: strings handed to callbacks are borrowed for the call. */
#ifndef AUDITD_ROLLUP_H
#define AUDITD_ROLLUP_H

#include "profile.h"
#include "status.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROLLUP_HOUR_US INT64_C(3600000000)

/* What a profile's KPI roles mean for rollups, derived once per profile
 * version: field indices (-1 when the profile has no field of that role) and
 * the energy meter's unit as a factor to kWh (0: a unit auditd cannot
 * convert, the energy is not rolled up). */
typedef struct rollup_roles {
    int state, energy, produced, good, inspection, label;
    double energy_kwh_per_unit;
    int64_t interval_s;
} rollup_roles;

void rollup_roles_of(const profile *p, rollup_roles *out);

/* The rollups of the batch being ingested, accumulated in memory, on a
 * telemetry.db connection (its statements are prepared once). */
typedef struct rollup_acc rollup_acc;

int rollup_acc_open(sqlite3 *db, rollup_acc **out, adt_err *err);
void rollup_acc_close(rollup_acc *a);

/* Add a stored reading of device `device` (telemetry.db devices.id) at
 * `time_us` with its unpacked values. Meters (energy, produced, good) count
 * the increment from the device's previous reading in time, which may lie in
 * an earlier batch (the table `meters` keeps each device's last values). */
int rollup_add(rollup_acc *a, int64_t device, int64_t time_us, const profile *p,
               const rollup_roles *r, const profile_value *vals, adt_err *err);

/* Add a prediction made at ingestion: probability `prob` against the
 * model's `threshold`, with the reading's failure label (-1: none). */
int rollup_add_prediction(rollup_acc *a, int64_t device, int64_t time_us, const char *model,
                          const char *version, double prob, double threshold, int label,
                          adt_err *err);

/* Merge the batch's rows into telemetry.db, inside the caller's transaction,
 * and store the devices' meters. The accumulator is empty afterwards. */
int rollup_flush(rollup_acc *a, adt_err *err);
/* Forget the batch (its transaction was rolled back). */
void rollup_discard(rollup_acc *a);

/* Recompute every rollup from the stored readings and predictions (for a
 * telemetry.db filled before rollups existed, or to check them), in one
 * transaction. Prediction outcomes need each model version's threshold:
 * `threshold` gives it (return a negative number when unknown: those
 * predictions are counted, their outcomes are not). OUT: *readings. */
typedef double (*rollup_threshold_fn)(void *ctx, const char *model, const char *version);
int rollup_rebuild(sqlite3 *db, rollup_threshold_fn threshold, void *tctx, uint64_t *readings,
                   adt_err *err);

/* ---- Reading --------------------------------------------------------------- */

typedef struct rollup_row {
    const char *device;       /* device name */
    int64_t hour_us;          /* start of the UTC hour */
    uint64_t readings;
    int64_t sampled_s;        /* readings x the profile's sampling interval */
    bool has_state;           /* the profile has a machine_state field */
    int64_t running_s, idle_s, down_s;
    bool has_energy;
    double energy_kwh;
    bool has_produced, has_good;
    double produced, good;
    bool has_inspection;
    uint64_t inspected, rejected;
    bool has_labels;
    uint64_t labelled, failures;
    const char *fields_json;  /* {"field":[n,sum,min,max],...} numeric fields */
} rollup_row;

typedef struct rollup_pred {
    const char *device;
    int64_t hour_us;
    const char *model, *version;
    uint64_t predictions, positives; /* positive: probability >= the model's threshold */
    uint64_t tp, fp, fn, tn;         /* against the failure label, where the reading has one */
} rollup_pred;

typedef int (*rollup_row_fn)(void *ctx, const rollup_row *r);
typedef int (*rollup_pred_fn)(void *ctx, const rollup_pred *p);

/* The rows of the hours that start in [from_us, to_us), by hour then
 * device; `device` NULL for all. fn returns non-zero to stop (returned). */
int rollup_read(sqlite3 *db, int64_t from_us, int64_t to_us, const char *device,
                rollup_row_fn fn, void *ctx, adt_err *err);
int rollup_read_predictions(sqlite3 *db, int64_t from_us, int64_t to_us, const char *device,
                            rollup_pred_fn fn, void *ctx, adt_err *err);

/* The rows of a period as a JSON array (what `auditd telemetry rollups` prints). */
int rollup_json(sqlite3 *db, int64_t from_us, int64_t to_us, const char *device, buf *out,
                adt_err *err);

#endif
