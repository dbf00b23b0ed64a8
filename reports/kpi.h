/* kpi.h: KPI definitions and the pure KPI arithmetic.
 *
 * Two halves, both free of I/O:
 *  - definitions: reports/kpis.json (format in docs/reports.md) parsed by
 *    kpi_defs_parse into a `kpi_defs` (id, name, unit, formula, source, the
 *    sensors/models/edge logic that move the KPI, its RACI activity, baseline,
 *    target, direction; the baseline period and the unit costs);
 *  - arithmetic: kpi_compute turns raw aggregates (`kpi_inputs`, sums gathered
 *    by reports' one streaming pass per source) into values, and kpi_terms
 *    names the numerator, denominator and other inputs of each value so that
 *    anyone can recompute it. A KPI whose inputs are missing or whose
 *    denominator is zero is "not available" with the reason: this module never
 *    invents a number.
 *
 * Every count is defined once, here, in kpi_inputs: a telemetry reading is
 * received once (accepted or quarantined at ingestion), and a quarantined one
 * may later be recovered by a replay; a labelled reading is an alarm or not.
 * The sums are additive: the inputs of two windows (two weeks, two sites) add
 * up (kpi_inputs_add) and give the KPI of the union, which is how a central
 * tier recomputes enterprise KPIs from per-site numerators and denominators.
 *
 * Ownership: a kpi_defs owns all its strings; kpi_defs_free releases them.
 * Values (`kpi_value`) and terms point at static strings only. */
#ifndef AUDITD_KPI_H
#define AUDITD_KPI_H

#include "buf.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The KPIs this build knows how to compute; a definition file names a subset
 * (in any order) and gives each its presentation, baseline and target. */
typedef enum kpi_id {
    KPI_AVAILABILITY = 0,     /* ISO 22400-2 Availability: APT / PBT */
    KPI_EFFECTIVENESS,        /* ISO 22400-2 Effectiveness: PTU x PQ / APT */
    KPI_QUALITY_RATIO,        /* ISO 22400-2 Quality ratio: GQ / PQ */
    KPI_OEE,                  /* ISO 22400-2 OEE index: A x E x QR */
    KPI_MTBF,                 /* ISO 22400-2 mean operating time between failures: APT / FE */
    KPI_MTTR,                 /* ISO 22400-2 mean time to restoration: sum TTR / restorations */
    KPI_DOWNTIME,             /* unplanned downtime share: ADOT / PBT */
    KPI_ENERGY_PER_GOOD_UNIT, /* kWh / GQ */
    KPI_ENERGY_REDUCTION,     /* (baseline - value) / baseline of energy per good unit */
    KPI_DETECTION_RATE,       /* recall: TP / (TP + FN) */
    KPI_PRECISION,            /* TP / (TP + FP) */
    KPI_FALSE_ALARM_RATE,     /* FP / (FP + TN) */
    KPI_CONTROLS_SATISFIED,   /* satisfied / in-scope controls */
    KPI_CONTROL_COVERAGE,     /* in-scope controls with an evidence rule / in-scope controls */
    KPI_CONTROLS_SATISFIED_RULED, /* satisfied / in-scope controls with an evidence rule */
    KPI_OPEN_FINDINGS,        /* open findings (all severities; per severity in the report) */
    KPI_TIME_TO_ACK,          /* mean minutes from incident.open to incident.ack */
    KPI_TIME_TO_RESOLVE,      /* mean minutes from incident.open to incident.resolve */
    KPI_RACI_SLA,             /* share of incidents acked and resolved within SLA */
    KPI_TELEMETRY_REJECTION,  /* readings quarantined at ingestion / readings received */
    KPI_DRIFT_EVENTS,         /* drift.detected events for a model in force */
    KPI__COUNT
} kpi_id;

enum { KPI_SEV_LOW = 0, KPI_SEV_MEDIUM, KPI_SEV_HIGH, KPI_SEV_CRITICAL, KPI_SEV__COUNT };

/* Severity name -> index, or -1. */
int kpi_severity_index(const char *name);
extern const char *const kpi_severity_names[KPI_SEV__COUNT];

/* Raw aggregates for one window (the period, one week of it, the previous or
 * the baseline period). Every group has a `has_*` flag: false means the source
 * was absent, which makes the KPIs that need it "not available". Times in
 * seconds. */
typedef struct kpi_inputs {
    /* ISO 22400-1 time model of the work units (machine.state) */
    bool has_time_model;
    double pbt_s;            /* planned busy time: running + idle/down in planned hours */
    double apt_s;            /* actual production time: time in running */
    double adot_s;           /* actual unplanned down time: down in planned hours */
    uint64_t failures;       /* FE: transitions into down */
    uint64_t restorations;   /* failures whose down episode ended in the window */
    double ttr_s;            /* sum of those episodes' durations */
    uint64_t state_events;   /* machine.state events dated in the window (evidence) */

    /* meters of the work units (telemetry store) */
    bool has_production;
    double produced;         /* PQ */
    double good;             /* GQ */
    bool has_energy;
    double energy_kwh;
    uint64_t meter_readings; /* work-unit readings in the window (evidence) */

    /* labelled readings against what ingestion's model said (no stored
     * prediction = no alarm: no model was in force) */
    bool has_labels;
    uint64_t tp, fp, fn, tn;
    uint64_t scored;         /* labelled readings with a stored prediction */
    /* the same for the readings operators gave a verdict on in the console
     * (label.set, auditd/pipeline/oplabel.h): confirmed failure = 1, false
     * alarm = 0. Precision and recall count these instead of the
     * failure_label field when their denominator holds at least
     * kpi_params.min_operator_labels of them (kpi_label_source). */
    uint64_t op_tp, op_fp, op_fn, op_tn;
    uint64_t op_scored;      /* of those, readings with a stored prediction */

    /* the control evaluation of the window */
    bool has_controls;
    uint64_t controls_in_scope, controls_with_rules, controls_satisfied, controls_not_satisfied;
    uint64_t findings_open[KPI_SEV__COUNT];

    /* incidents opened in the window */
    bool has_incidents;      /* the ledger was scanned (zero incidents is a fact) */
    uint64_t incidents_opened;
    uint64_t acked;          /* opened in the window and acknowledged */
    double ack_s_sum;
    uint64_t resolved;
    double resolve_s_sum;
    uint64_t sla_due;        /* incidents whose SLA outcome is known */
    uint64_t sla_met;

    /* telemetry readings by reading time: received = accepted at ingestion +
     * quarantined at ingestion; recovered <= quarantined were stored later by
     * a replay */
    bool has_telemetry;
    uint64_t received;
    uint64_t quarantined;
    uint64_t recovered;

    /* drift monitoring of the models in force */
    bool has_drift;          /* a model was in force during the window */
    uint64_t drift_events;   /* drift.detected of a model in force at the time */
} kpi_inputs;

/* Parameters the formulas need that the data does not carry. */
typedef struct kpi_params {
    double ideal_cycle_s;    /* PTU: planned run time per unit, seconds (> 0) */
    /* The planned operating calendar (UTC): per weekday (0 = Sunday) the hours
     * [from, to) the work units are planned busy; from = to = 0 for none.
     * Without a calendar every hour is planned (a 24/7 plant). */
    bool has_calendar;
    int planned[7][2];
    /* Operator verdicts a KPI's denominator needs in a window before it counts
     * them instead of the readings' failure_label field: verdicts on alarms
     * for precision, confirmed failures for recall (0 = KPI_MIN_OPERATOR_LABELS). */
    uint64_t min_operator_labels;
} kpi_params;

/* 30 verdicts: below that one verdict moves the ratio by more than 3 points
 * and its standard error (sqrt(p(1-p)/n)) exceeds 9 points at p = 0.5. */
#define KPI_MIN_OPERATOR_LABELS 30

/* Whose truth a model KPI counts in a window: "operator_labels" (precision,
 * recall: enough verdicts in its denominator, see above) or
 * "failure_label_field" (the readings' own failure label: the simulator's
 * ground truth in the simulated plant; always for the false-alarm rate,
 * since operators judge what was raised); NULL for the other KPIs. */
const char *kpi_label_source(kpi_id id, const kpi_inputs *in, const kpi_params *p);
/* The threshold in force (p's, or the default). */
uint64_t kpi_min_operator_labels(const kpi_params *p);

/* Seconds of [a_us, b_us) inside the planned calendar of `p`. */
double kpi_planned_seconds(const kpi_params *p, int64_t a_us, int64_t b_us);

typedef enum kpi_format { KPI_FMT_PERCENT = 0, KPI_FMT_NUMBER, KPI_FMT_COUNT } kpi_format;
typedef enum kpi_direction { KPI_DIR_HIGHER = 0, KPI_DIR_LOWER } kpi_direction;

typedef struct kpi_def {
    kpi_id id;
    char *key;          /* the id as written in the file ("oee") */
    char *name;
    char *group;        /* "production", "quality", "energy", "model", "governance", "data" */
    char *unit;         /* display unit ("%", "h", "min", "kWh/unit", "count") */
    char *formula;
    char *source;       /* standard clause or "auditd definition" */
    char *impact;       /* why the committee cares */
    char *activity;     /* RACI activity whose Accountable owns the KPI, or NULL */
    char **sensors;     /* telemetry fields that move it */
    size_t nsensors;
    char **models;      /* models whose output moves it */
    size_t nmodels;
    char **edge;        /* edge logic / events that move it */
    size_t nedge;
    bool headline;      /* a card in the executive summary */
    bool impact_kpi;    /* an operational KPI an initiative is anchored in (impact section) */
    kpi_format format;
    kpi_direction direction;
    int decimals;       /* display decimals (0..6) */
    double scale;       /* display = value * scale (e.g. 100 for %, 1/3600 for h) */
    bool has_baseline;
    double baseline;    /* stated baseline, computed units (used when the baseline period has no value) */
    bool has_target;
    double target;
} kpi_def;

typedef struct kpi_defs {
    char *version;
    char *site;               /* site the definitions are for, or NULL */
    char *baseline_period;    /* period label measured as the baseline, or NULL */
    char *baseline_note;      /* what the baseline period was, or NULL */
    kpi_params params;
    double sla_ack_s[KPI_SEV__COUNT];     /* acknowledge within, per severity */
    double sla_resolve_s[KPI_SEV__COUNT]; /* resolve within, per severity */
    /* unit costs for "what it was worth" (optional) */
    char currency[8];         /* "EUR"; "" without unit costs */
    bool has_energy_price, has_downtime_cost;
    double energy_price;      /* currency per kWh */
    double downtime_cost;     /* currency per hour of unplanned downtime */
    kpi_def *defs;
    size_t n;
} kpi_defs;

#define KPI_DEFS_MAX_BYTES (256u * 1024u)
#define KPI_DEFS_MAX 64
#define KPI_MAX_ANCHORS 32

/* Parse a KPI definition document (JSON, see docs/reports.md). `name` labels
 * messages ("reports/kpis.json:12: ..."). All or nothing: on failure `out` is
 * untouched and `err` names the place and the problem. */
int kpi_defs_parse(const char *text, size_t len, const char *name, kpi_defs *out, adt_err *err);

/* The built-in definitions (reports/kpis.json, embedded at build time), as
 * NUL-terminated text for kpi_defs_parse. */
const char *kpi_builtin_defs(void);

/* The definitions in force for a data directory: `kpis_path` when given,
 * else <data_dir>/kpis.json when it exists, else the built-in ones. */
int kpi_defs_for(const char *data_dir, const char *kpis_path, kpi_defs *out, adt_err *err);
/* Read and parse a file. */
int kpi_defs_load(const char *path, kpi_defs *out, adt_err *err);
void kpi_defs_free(kpi_defs *d);
/* Index of the definition for `id`, or -1. */
int kpi_defs_find(const kpi_defs *d, kpi_id id);

/* The internal name of a KPI id ("availability"), and its inverse (-1 if unknown). */
const char *kpi_id_name(kpi_id id);
int kpi_id_parse(const char *s);

typedef struct kpi_value {
    bool available;
    double value;       /* in computed units: ratios 0..1, seconds, kWh/unit, counts */
    const char *why;    /* static reason when !available */
    const char *note;   /* static context for an available value, or NULL */
} kpi_value;

/* Compute one KPI from `in`. `baseline_epgu` is the energy-per-good-unit
 * baseline (NULL if none) that KPI_ENERGY_REDUCTION compares against. */
kpi_value kpi_compute(kpi_id id, const kpi_inputs *in, const kpi_params *p,
                      const double *baseline_epgu);

/* One named input of a KPI value, in display-friendly units. */
typedef enum kpi_role { KPI_TERM_NUMERATOR = 0, KPI_TERM_DENOMINATOR, KPI_TERM_INPUT } kpi_role;
typedef struct kpi_term {
    const char *id;     /* stable key: "apt_h", "received" */
    const char *name;   /* "actual production time (APT)" */
    const char *unit;   /* "h", "readings", "kWh", "" */
    kpi_role role;
    double value;
} kpi_term;
#define KPI_MAX_TERMS 8

/* The numerator, denominator and other inputs that `kpi_compute` used for
 * `id` (whether or not the value is available). Returns the number written
 * to out (<= cap). value = numerator / denominator for the ratio KPIs;
 * see docs/reports.md for each KPI's terms. */
size_t kpi_terms(kpi_id id, const kpi_inputs *in, const kpi_params *p,
                 const double *baseline_epgu, kpi_term *out, size_t cap);

/* Where a KPI's inputs come from ("ledger: machine.state events"), and how
 * many records of that kind the window held (`*what` names them). */
const char *kpi_evidence(kpi_id id);
uint64_t kpi_evidence_count(kpi_id id, const kpi_inputs *in, const kpi_params *p,
                            const char **what);

/* "met", "missed" or "no-target" / "n/a" for a value against a definition. */
const char *kpi_status(const kpi_def *d, const kpi_value *v);

/* Format `v` for display per `d` ("91.2", "n/a") into out (cap >= 32). */
void kpi_format_value(const kpi_def *d, const kpi_value *v, char *out, size_t cap);

/* Fold `b` into `a` (sums; flags OR-ed). */
void kpi_inputs_add(kpi_inputs *a, const kpi_inputs *b);

/* The inputs as one JSON object, every field under its name in this struct
 * (`findings_open` as an object by severity), appended to `out` (what a site
 * ships to its central tier, docs/central.md); doubles round-trip exactly. */
int kpi_inputs_json(const kpi_inputs *in, buf *out);
/* The same object back (`j` is a cJSON object, declared void to keep cJSON
 * out of this header). Strict: every field present with its type, counts
 * whole and >= 0, sums finite and >= 0, no other member; `err` names the
 * field. */
int kpi_inputs_parse(const void *j, kpi_inputs *out, adt_err *err);

#endif
