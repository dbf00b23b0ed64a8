/* rdata.h: everything a report shows, gathered in one pass per source.
 *
 * Sources, each optional (absent data makes the KPIs that need it "not
 * available", never zero):
 *  - the ledger, entries [0, tree_size) of the latest signed checkpoint (or
 *    of `at_size`), one ledger_scan: machine.state, incident.*, change.approve,
 *    model.register/deploy, prediction.summary, drift.detected,
 *    telemetry.batch/reject, report.issued (docs/events.md);
 *  - the telemetry store (tstore_window_rows, one pass over the previous and
 *    current period): energy, produced and good counts, and the failure label
 *    against the deployed model's predictions;
 *  - the control evaluation (controls_evaluate_period);
 *  - the RACI policy in force (incident SLAs and accountable owners).
 *
 * Times are the events' own `time` (microseconds UTC). The struct is shared by
 * the report writers in this part; nothing outside reports/ uses it. */
#ifndef AUDITD_RDATA_H
#define AUDITD_RDATA_H

#include "kpi.h"
#include "merkle.h"
#include "note.h"
#include "rperiod.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define RDATA_MAX_WEEKS 60
#define RDATA_STR 128

typedef struct rdata_incident {
    char id[RDATA_STR];
    char severity[16];
    char activity[RDATA_STR];
    char summary[256];
    char owner[RDATA_STR];     /* RACI accountable of the activity, "" if unknown */
    int64_t opened_us, acked_us, resolved_us; /* 0 = not (yet) */
    uint64_t index;            /* ledger index of incident.open */
    int sla;                   /* 1 met, 0 missed, -1 pending / unknown */
} rdata_incident;

typedef struct rdata_deploy {
    char model[RDATA_STR];
    char version[64];
    char change_id[RDATA_STR];
    char deployed_by[RDATA_STR];
    char approvers[256];       /* comma-separated change.approve actors of change_id */
    char artifact[65];
    int64_t time_us;
    uint64_t index;
    bool has_metrics;          /* from model.register of model@version */
    double precision, recall, pr_auc;
    uint64_t predictions, positives; /* prediction.summary in the period */
    bool in_force;             /* the model's latest deployment as of the report's date */
} rdata_deploy;

typedef struct rdata_drift {
    char model[RDATA_STR];
    char feature[64];
    double psi, ks, threshold;
    int64_t time_us;
    uint64_t index;
} rdata_drift;

typedef struct rdata_reason {
    char reason[64];
    uint64_t count;
} rdata_reason;

typedef struct rdata_finding {
    char framework[32];
    char control[64];
    char severity[16];
    char rule[RDATA_STR];
    char owner[RDATA_STR];
    char message[512];
} rdata_finding;

typedef struct rdata {
    rperiod period;
    const kpi_defs *defs;      /* borrowed */

    /* the checkpoint the report is computed at */
    char origin[NOTE_ORIGIN_MAX + 1];
    char key_line[NOTE_KEYLINE_MAX];
    char checkpoint[NOTE_MAX];
    uint64_t tree_size;
    merkle_hash root;
    bool checkpoint_verified;  /* note_verify_checkpoint with the ledger's key */
    char as_of[32];            /* recorded_at of entry tree_size-1: the report's date */
    /* witnesses whose cosignature on this checkpoint (cosigs.db) verified */
    size_t nwitnesses;
    struct {
        char name[NOTE_ORIGIN_MAX + 1];
        char key[NOTE_KEYLINE_MAX];
        char time[32];
    } witnesses[8];
    int64_t as_of_us;

    /* the previous issued report (latest report.issued below tree_size) */
    bool has_prev_report;
    uint64_t prev_report_index;
    char prev_report_period[RPERIOD_LABEL_MAX];
    char prev_report_format[16];
    char prev_report_sha256[65];
    uint64_t prev_tree_size;
    merkle_hash prev_root;
    bool prev_checkpoint_verified; /* the stored checkpoint at prev_tree_size */
    int prev_consistency;      /* 1 proven, 0 failed, -1 not checked */
    char prev_problem[ADT_ERR_MAX];

    /* KPI inputs per window */
    kpi_inputs cur, prev;
    int nweeks;
    int64_t week_len_us;
    kpi_inputs week[RDATA_MAX_WEEKS];

    /* lists */
    rdata_incident *incidents;
    size_t nincidents;
    rdata_deploy *deploys;
    size_t ndeploys;
    rdata_drift *drift;        /* the first RDATA_MAX_LIST in the period */
    size_t ndrift;
    rdata_reason reasons[32];
    size_t nreasons;
    rdata_finding *findings;
    size_t nfindings;

    /* control evaluation */
    cJSON *controls;           /* controls_evaluate_period's document, or NULL */
    char controls_problem[ADT_ERR_MAX];
    uint64_t fw_satisfied[2], fw_not_satisfied[2], fw_not_evaluated[2]; /* iso, nist */

    char raci_version[64];
    char raci_name[RDATA_STR];
    bool telemetry_store;      /* telemetry.db was read */
    char telemetry_problem[ADT_ERR_MAX];
    char model_problem[ADT_ERR_MAX]; /* why live precision/recall is missing */
    char scored_model[2 * RDATA_STR]; /* name@version measured on the period's readings */
    int64_t excluded_from_us, excluded_to_us; /* its training window, left out (0, 0 = none) */
    uint64_t entries_scanned;
    uint64_t readings_scanned;
} rdata;

#define RDATA_MAX_LIST 200

typedef struct rdata_opts {
    uint64_t at_size;          /* 0 = the latest checkpoint */
    bool skip_controls;        /* do not run the control evaluation */
    bool skip_telemetry;
} rdata_opts;

/* Gather everything for `period` from `data_dir`. `defs` must outlive the result.
 * OUT: *out, freed with rdata_free. */
int rdata_collect(const char *data_dir, const rperiod *period, const kpi_defs *defs,
                  const rdata_opts *opts, rdata **out, adt_err *err);
void rdata_free(rdata *d);

/* Lowercase hex of a hash into out[65]. */
void rdata_hex(const uint8_t *h, size_t n, char *out);

#endif
