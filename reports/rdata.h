/* rdata.h: everything a report shows, gathered in one pass per source.
 *
 * Sources, each optional (absent data makes the KPIs that need it "not
 * available", never zero):
 *  - the ledger, entries [0, tree_size) of the latest signed checkpoint (or
 *    of `at_size`), folded once (the state after the fold is kept per set of
 *    windows and resumed by the next report: rkeep.h): machine.state, incident.*,
 *    change.approve, model.register/deploy, firmware.deploy, drift.detected,
 *    telemetry.batch, report.issued
 *    (docs/events.md);
 *  - the telemetry store, one pass over the readings of the previous,
 *    baseline and current periods (energy, produced and good meters, the
 *    failure label against the prediction stored at ingestion) and one over
 *    the quarantine;
 *  - the control evaluation (controls_period_result) of each window, at the checkpoint;
 *  - the RACI policy in force (incident SLAs, owners of KPIs and incidents).
 *
 * Windows: the period, its previous period, the baseline period of the KPI
 * definitions (which may be one of the other two), and the 7-day buckets of
 * the period and of the previous period. Times are the events' own `time`
 * and the readings' time (microseconds UTC). The struct is shared by the
 * report writers in this part; nothing outside reports/ uses it. */
#ifndef AUDITD_RDATA_H
#define AUDITD_RDATA_H

#include "controls.h"
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
#define RDATA_MAX_MARKERS 16

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
    uint64_t predictions, positives; /* readings of the period it scored, and its alarms */
    bool in_force;             /* the model's latest deployment as of the report's date */
} rdata_deploy;

typedef struct rdata_drift {
    char model[RDATA_STR];
    char version[64];
    char feature[64];
    double psi, ks, threshold;
    int64_t time_us;
    uint64_t index;
} rdata_drift;

typedef struct rdata_reason {
    char reason[64];
    uint64_t count;            /* quarantined at ingestion in the period */
    uint64_t still;            /* of those, not recovered by a replay */
} rdata_reason;

typedef struct rdata_finding {
    char framework[32];
    char control[64];
    /* borrowed from rdata.controls: */
    const char *severity;      /* critical, high, medium or low */
    const char *rule;
    const char *title;         /* the rule's title: what is required ("" if none) */
    const char *owner;         /* "" when unassigned */
    const char *message;
    int64_t time_us;           /* when it happened (0 unknown) */
    uint64_t index;            /* ledger index of the event it is about */
    bool has_index;
} rdata_finding;

/* A deployment drawn on the trend charts (model or firmware). */
typedef struct rdata_marker {
    int64_t time_us;
    char label[96];
} rdata_marker;

/* Per framework: iso27001, nist80053. */
typedef struct rdata_posture {
    uint64_t in_scope, with_rules, satisfied, not_satisfied, no_evidence;
} rdata_posture;

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
    char checkpoint_recorded[32]; /* recorded_at of entry tree_size-1 */
    char as_of[32];            /* the report's date: the issue time, else checkpoint_recorded */
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

    /* The baseline period (kpis.json "baseline"); base_alias says whether it
     * is the period itself (1), the previous period (2) or its own window (0). */
    bool has_base;
    rperiod base;              /* base.from_us/to_us/label */
    int base_alias;

    /* KPI inputs per window */
    kpi_inputs cur, prev, basein;
    int nweeks, nprev_weeks;
    int64_t week_len_us;
    kpi_inputs week[RDATA_MAX_WEEKS], pweek[RDATA_MAX_WEEKS];
    int64_t data_end_us;       /* latest reading or machine.state time seen */
    int64_t seen_from_us, seen_to_us; /* earliest and latest time of any event or reading
                                         read (0, 0 = none): a window outside has no data */

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
    rdata_marker markers[RDATA_MAX_MARKERS]; /* deployments from the previous period on */
    size_t nmarkers;

    /* control evaluation of the period */
    controls_result *controls; /* the period's control evaluation at the checkpoint, or NULL */
    char controls_problem[ADT_ERR_MAX];
    rdata_posture posture[2];  /* iso27001, nist80053 */

    /* RACI */
    char raci_version[64];
    char raci_name[RDATA_STR];
    char kpi_owner[KPI_DEFS_MAX][RDATA_STR];      /* Accountable of each KPI's activity */
    char kpi_owner_name[KPI_DEFS_MAX][RDATA_STR]; /* the principal's name in the policy */

    char (*units)[RDATA_STR];  /* the work units (devices with machine.state), by name */
    size_t nunits;
    bool telemetry_store;      /* telemetry.db was read */
    char telemetry_problem[ADT_ERR_MAX];
    char model_problem[ADT_ERR_MAX]; /* why live precision/recall is missing */
    char scored_models[256];   /* model@version that scored the period's readings */
    uint64_t entries_scanned;
    uint64_t fold_from;        /* the entry the ledger pass started at: the size of the kept
                                  fold it resumed (rkeep.h), else 0; not in any document */
    uint64_t readings_scanned;
    uint64_t telemetry_batches; /* telemetry.batch entries read */
} rdata;

#define RDATA_MAX_LIST 200

typedef struct rdata_opts {
    uint64_t at_size;          /* 0 = the latest checkpoint */
    int64_t issued_us;         /* the report's date; 0 = recorded_at of the checkpoint's last entry */
    bool skip_controls;        /* do not run the control evaluation */
    bool skip_telemetry;
} rdata_opts;

/* Gather everything for `period` from `data_dir`. `defs` must outlive the result.
 * OUT: *out, freed with rdata_free. */
int rdata_collect(const char *data_dir, const rperiod *period, const kpi_defs *defs,
                  const rdata_opts *opts, rdata **out, adt_err *err);
void rdata_free(rdata *d);

/* Whether a kept ledger fold's state (reports_fold.db, rkeep.h), which a
 * damaged or hostile file feeds, reads back whole through the parser a report
 * restores it with, under the key the state names (the windows are not set,
 * so what the parser checks against them is not exercised). For the fuzz
 * target; a report also checks the key, the ledger's root and the checksum
 * before it parses. */
bool rdata_fold_parses(const uint8_t *state, size_t len);

/* The inputs of the baseline window (NULL without a baseline period). */
const kpi_inputs *rdata_base(const rdata *d);

/* Lowercase hex of a hash into out[65]. */
void rdata_hex(const uint8_t *h, size_t n, char *out);

#endif
