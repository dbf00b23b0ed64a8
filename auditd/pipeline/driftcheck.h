/* driftcheck.h: the drift check of a model: the telemetry of a window
 * against the model's training distribution (drift.h statistics), with the
 * ledger record when a feature has drifted. See docs/models.md. */
#ifndef AUDITD_DRIFTCHECK_H
#define AUDITD_DRIFTCHECK_H

#include "status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct driftcheck_feature {
    char feature[64];
    size_t n;        /* window values used */
    double psi, ks, ks_p;
    int drifted;     /* psi > threshold */
} driftcheck_feature;

typedef struct driftcheck_report {
    char model[65], version[65];
    int64_t from_us, to_us;
    double threshold;
    size_t rows;                 /* window rows read */
    size_t nfeatures;
    driftcheck_feature features[16];
    int alerted;                 /* events were appended */
    char alert_id[96];
} driftcheck_report;

/* Compare the telemetry of [from_us, to_us) with the training summary of
 * model `name` (`version` NULL = the deployed one, else the newest). For each
 * feature whose PSI exceeds `threshold`, record `drift.detected`; if any did,
 * one `alert.raise` (kind "drift"). All events by `actor`, in one ledger
 * transaction, recorded as made at `at_us` (0 = now: a check run later over an
 * earlier window, `auditd drift --time`). ADT_ENOTFOUND when the window holds
 * no reading. */
int driftcheck_run(const char *data_dir, const char *name, const char *version, int64_t from_us,
                   int64_t to_us, double threshold, const char *actor, int64_t at_us,
                   driftcheck_report *rep, adt_err *err);

#endif
