/* kpi.c: KPI definition parsing and the pure KPI arithmetic (see kpi.h). */
#include "kpi.h"

#include "rperiod.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* reports/kpis.json, embedded at build time (reports/embed_assets.cmake). */
extern const char reports_asset_kpis[];

const char *kpi_builtin_defs(void) { return reports_asset_kpis; }

int kpi_defs_for(const char *data_dir, const char *kpis_path, kpi_defs *out, adt_err *err)
{
    if (kpis_path)
        return kpi_defs_load(kpis_path, out, err);
    char path[4200];
    struct stat st;
    int n = snprintf(path, sizeof path, "%s/kpis.json", data_dir);
    if (n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0)
        return kpi_defs_load(path, out, err);
    return kpi_defs_parse(reports_asset_kpis, strlen(reports_asset_kpis),
                          "built-in reports/kpis.json", out, err);
}

const char *const kpi_severity_names[KPI_SEV__COUNT] = {"low", "medium", "high", "critical"};

int kpi_severity_index(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < KPI_SEV__COUNT; i++)
        if (!strcmp(name, kpi_severity_names[i]))
            return i;
    return -1;
}

static const char *const id_names[KPI__COUNT] = {
    [KPI_AVAILABILITY] = "availability",
    [KPI_EFFECTIVENESS] = "effectiveness",
    [KPI_QUALITY_RATIO] = "quality_ratio",
    [KPI_OEE] = "oee",
    [KPI_MTBF] = "mtbf",
    [KPI_MTTR] = "mttr",
    [KPI_DOWNTIME] = "unplanned_downtime",
    [KPI_ENERGY_PER_GOOD_UNIT] = "energy_per_good_unit",
    [KPI_ENERGY_REDUCTION] = "energy_reduction",
    [KPI_DETECTION_RATE] = "defect_detection_rate",
    [KPI_PRECISION] = "model_precision",
    [KPI_FALSE_ALARM_RATE] = "false_alarm_rate",
    [KPI_CONTROLS_SATISFIED] = "controls_satisfied",
    [KPI_CONTROL_COVERAGE] = "controls_with_rules",
    [KPI_CONTROLS_SATISFIED_RULED] = "controls_satisfied_of_ruled",
    [KPI_OPEN_FINDINGS] = "open_findings",
    [KPI_TIME_TO_ACK] = "incident_time_to_ack",
    [KPI_TIME_TO_RESOLVE] = "incident_time_to_resolve",
    [KPI_RACI_SLA] = "raci_sla_adherence",
    [KPI_TELEMETRY_REJECTION] = "telemetry_rejection_rate",
    [KPI_DRIFT_EVENTS] = "drift_events",
};

const char *kpi_id_name(kpi_id id)
{
    return (unsigned)id < KPI__COUNT ? id_names[id] : "unknown";
}

int kpi_id_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < KPI__COUNT; i++)
        if (!strcmp(s, id_names[i]))
            return i;
    return -1;
}

/* ---- arithmetic ---------------------------------------------------------- */

static kpi_value na(const char *why)
{
    kpi_value v = {false, 0.0, why, NULL};
    return v;
}

static kpi_value ok(double x)
{
    if (!isfinite(x))
        return na("the computation did not give a finite number");
    kpi_value v = {true, x, NULL, NULL};
    return v;
}

static kpi_value ok_note(double x, const char *note)
{
    kpi_value v = ok(x);
    if (v.available)
        v.note = note;
    return v;
}

uint64_t kpi_min_operator_labels(const kpi_params *p)
{
    return p && p->min_operator_labels ? p->min_operator_labels : KPI_MIN_OPERATOR_LABELS;
}

/* The confusion counts model KPI `id` uses in a window: the operators'
 * verdicts when its own denominator holds enough of them (precision: verdicts
 * on alarms; recall: confirmed failures), else the failure_label field. The
 * false-alarm rate always counts the field: operators judge what was raised,
 * so their failure-free verdicts are alarms and the rate would be theirs. */
typedef struct confusion {
    bool labels;     /* any labelled reading */
    bool op;         /* the operators' verdicts */
    uint64_t tp, fp, fn, tn, scored, op_labels;
} confusion;

static uint64_t op_denominator(kpi_id id, const kpi_inputs *in)
{
    switch (id) {
    case KPI_PRECISION: return in->op_tp + in->op_fp;
    case KPI_DETECTION_RATE: return in->op_tp + in->op_fn;
    default: return 0;
    }
}

static confusion confusion_of(kpi_id id, const kpi_inputs *in, const kpi_params *p)
{
    confusion c = {0};
    c.op_labels = in->op_tp + in->op_fp + in->op_fn + in->op_tn;
    uint64_t den = op_denominator(id, in);
    c.op = den > 0 && den >= kpi_min_operator_labels(p);
    if (c.op) {
        c.labels = true;
        c.tp = in->op_tp;
        c.fp = in->op_fp;
        c.fn = in->op_fn;
        c.tn = in->op_tn;
        c.scored = in->op_scored;
    } else {
        c.labels = in->has_labels;
        c.tp = in->tp;
        c.fp = in->fp;
        c.fn = in->fn;
        c.tn = in->tn;
        c.scored = in->scored;
    }
    return c;
}

const char *kpi_label_source(kpi_id id, const kpi_inputs *in, const kpi_params *p)
{
    if (id != KPI_DETECTION_RATE && id != KPI_PRECISION && id != KPI_FALSE_ALARM_RATE)
        return NULL;
    return confusion_of(id, in, p).op ? "operator_labels" : "failure_label_field";
}

kpi_value kpi_compute(kpi_id id, const kpi_inputs *in, const kpi_params *p,
                      const double *baseline_epgu)
{
    const confusion cf = confusion_of(id, in, p);
    switch (id) {
    case KPI_AVAILABILITY:
        if (!in->has_time_model)
            return na("no machine state data in the window");
        if (in->pbt_s <= 0)
            return na("no planned busy time in the window");
        return ok(in->apt_s / in->pbt_s);
    case KPI_EFFECTIVENESS:
        if (!in->has_time_model || !in->has_production)
            return na("needs machine state and production counts");
        if (!(p && p->ideal_cycle_s > 0))
            return na("no ideal cycle time defined");
        if (in->apt_s <= 0)
            return na("no production time in the window");
        return ok(p->ideal_cycle_s * in->produced / in->apt_s);
    case KPI_QUALITY_RATIO:
        if (!in->has_production)
            return na("no production counts in the window");
        if (in->produced <= 0)
            return na("nothing was produced in the window");
        return ok(in->good / in->produced);
    case KPI_OEE: {
        kpi_value a = kpi_compute(KPI_AVAILABILITY, in, p, NULL);
        kpi_value e = kpi_compute(KPI_EFFECTIVENESS, in, p, NULL);
        kpi_value q = kpi_compute(KPI_QUALITY_RATIO, in, p, NULL);
        if (!a.available)
            return na(a.why);
        if (!e.available)
            return na(e.why);
        if (!q.available)
            return na(q.why);
        return ok(a.value * e.value * q.value);
    }
    case KPI_MTBF:
        if (!in->has_time_model)
            return na("no machine state data in the window");
        if (in->failures == 0)
            return na("no failures in the window");
        return ok(in->apt_s / (double)in->failures);
    case KPI_MTTR:
        if (!in->has_time_model)
            return na("no machine state data in the window");
        if (in->restorations == 0)
            return na("no restored failures in the window");
        return ok(in->ttr_s / (double)in->restorations);
    case KPI_DOWNTIME:
        if (!in->has_time_model)
            return na("no machine state data in the window");
        if (in->pbt_s <= 0)
            return na("no planned busy time in the window");
        return ok(in->adot_s / in->pbt_s);
    case KPI_ENERGY_PER_GOOD_UNIT:
        if (!in->has_energy || !in->has_production)
            return na("needs energy readings and production counts");
        if (in->good <= 0)
            return na("no good units in the window");
        return ok(in->energy_kwh / in->good);
    case KPI_ENERGY_REDUCTION: {
        if (!baseline_epgu)
            return na("no energy baseline (neither measured nor stated)");
        if (*baseline_epgu <= 0)
            return na("the energy baseline is not positive");
        kpi_value e = kpi_compute(KPI_ENERGY_PER_GOOD_UNIT, in, p, NULL);
        if (!e.available)
            return na(e.why);
        return ok((*baseline_epgu - e.value) / *baseline_epgu);
    }
    case KPI_DETECTION_RATE:
        if (!cf.labels)
            return na("no labelled readings in the window");
        if (cf.tp + cf.fn == 0)
            return na(cf.op ? "no failure the operators confirmed in the window"
                            : "no failures in the window");
        /* Failures happened and nothing warned of them: a real 0 %. */
        return ok_note((double)cf.tp / (double)(cf.tp + cf.fn),
                       !cf.scored ? "no model was in force: no failure was warned of"
                       : cf.op    ? "from the operators' verdicts in the console"
                                  : NULL);
    case KPI_PRECISION:
        if (!cf.labels)
            return na("no labelled readings in the window");
        if (cf.tp + cf.fp == 0)
            return na(cf.scored ? "the model raised no alarm in the window"
                                : "no model was in force: no alarm was raised");
        return ok_note((double)cf.tp / (double)(cf.tp + cf.fp),
                       cf.op ? "from the operators' verdicts in the console" : NULL);
    case KPI_FALSE_ALARM_RATE:
        if (!cf.labels)
            return na("no labelled readings in the window");
        if (cf.fp + cf.tn == 0)
            return na("no failure-free readings in the window");
        return ok_note((double)cf.fp / (double)(cf.fp + cf.tn),
                       cf.scored ? NULL : "no model was in force: no alarm was raised");
    case KPI_CONTROLS_SATISFIED:
        if (!in->has_controls)
            return na("no control evaluation for the window (no events or readings in it)");
        if (in->controls_in_scope == 0)
            return na("no controls in scope");
        return ok((double)in->controls_satisfied / (double)in->controls_in_scope);
    case KPI_CONTROL_COVERAGE:
        if (!in->has_controls)
            return na("no control evaluation for the window (no events or readings in it)");
        if (in->controls_in_scope == 0)
            return na("no controls in scope");
        return ok((double)in->controls_with_rules / (double)in->controls_in_scope);
    case KPI_CONTROLS_SATISFIED_RULED:
        if (!in->has_controls)
            return na("no control evaluation for the window (no events or readings in it)");
        if (in->controls_with_rules == 0)
            return na("no in-scope control has an evidence rule");
        return ok((double)in->controls_satisfied / (double)in->controls_with_rules);
    case KPI_OPEN_FINDINGS: {
        if (!in->has_controls)
            return na("no control evaluation for the window (no events or readings in it)");
        uint64_t s = 0;
        for (int i = 0; i < KPI_SEV__COUNT; i++)
            s += in->findings_open[i];
        return ok((double)s);
    }
    case KPI_TIME_TO_ACK:
        if (!in->has_incidents)
            return na("no ledger data");
        if (in->acked == 0)
            return na(in->incidents_opened ? "no incident opened in the window was acknowledged"
                                           : "no incident was opened in the window");
        return ok(in->ack_s_sum / (double)in->acked);
    case KPI_TIME_TO_RESOLVE:
        if (!in->has_incidents)
            return na("no ledger data");
        if (in->resolved == 0)
            return na(in->incidents_opened ? "no incident opened in the window was resolved"
                                           : "no incident was opened in the window");
        return ok(in->resolve_s_sum / (double)in->resolved);
    case KPI_RACI_SLA:
        if (!in->has_incidents)
            return na("no ledger data");
        if (in->sla_due == 0)
            return na("no incident with an SLA outcome in the window");
        return ok((double)in->sla_met / (double)in->sla_due);
    case KPI_TELEMETRY_REJECTION:
        if (!in->has_telemetry)
            return na("no telemetry store");
        if (in->received == 0)
            return na("no readings received for the window");
        return ok((double)in->quarantined / (double)in->received);
    case KPI_DRIFT_EVENTS:
        if (!in->has_drift)
            return na("no model was in force in the window: nothing to monitor");
        return ok((double)in->drift_events);
    case KPI__COUNT:
        break;
    }
    return na("unknown KPI");
}

static size_t term(kpi_term *out, size_t cap, size_t n, const char *id, const char *name,
                   const char *unit, kpi_role role, double value)
{
    if (n < cap)
        out[n] = (kpi_term){id, name, unit, role, value};
    return n + 1;
}

#define NUM KPI_TERM_NUMERATOR
#define DEN KPI_TERM_DENOMINATOR
#define INP KPI_TERM_INPUT

size_t kpi_terms(kpi_id id, const kpi_inputs *in, const kpi_params *p,
                 const double *baseline_epgu, kpi_term *out, size_t cap)
{
    size_t n = 0;
    const double h = 3600.0;
    const confusion cf = confusion_of(id, in, p);
    switch (id) {
    case KPI_AVAILABILITY:
        n = term(out, cap, n, "apt_h", "actual production time (APT)", "h", NUM, in->apt_s / h);
        n = term(out, cap, n, "pbt_h", "planned busy time (PBT)", "h", DEN, in->pbt_s / h);
        break;
    case KPI_EFFECTIVENESS:
        n = term(out, cap, n, "ptu_x_pq_h", "ideal time for the parts produced (PTU x PQ)", "h",
                 NUM, (p ? p->ideal_cycle_s : 0) * in->produced / h);
        n = term(out, cap, n, "apt_h", "actual production time (APT)", "h", DEN, in->apt_s / h);
        n = term(out, cap, n, "pq", "produced quantity (PQ)", "units", INP, in->produced);
        n = term(out, cap, n, "ptu_s", "planned run time per unit (PTU)", "s", INP,
                 p ? p->ideal_cycle_s : 0);
        break;
    case KPI_QUALITY_RATIO:
        n = term(out, cap, n, "gq", "good quantity (GQ)", "units", NUM, in->good);
        n = term(out, cap, n, "pq", "produced quantity (PQ)", "units", DEN, in->produced);
        break;
    case KPI_OEE:
        n = term(out, cap, n, "apt_h", "actual production time (APT)", "h", INP, in->apt_s / h);
        n = term(out, cap, n, "pbt_h", "planned busy time (PBT)", "h", INP, in->pbt_s / h);
        n = term(out, cap, n, "pq", "produced quantity (PQ)", "units", INP, in->produced);
        n = term(out, cap, n, "gq", "good quantity (GQ)", "units", INP, in->good);
        n = term(out, cap, n, "ptu_s", "planned run time per unit (PTU)", "s", INP,
                 p ? p->ideal_cycle_s : 0);
        break;
    case KPI_MTBF:
        n = term(out, cap, n, "apt_h", "actual production time (APT)", "h", NUM, in->apt_s / h);
        n = term(out, cap, n, "fe", "failure events (FE)", "failures", DEN,
                 (double)in->failures);
        break;
    case KPI_MTTR:
        n = term(out, cap, n, "ttr_min", "time to restoration, summed (TTR)", "min", NUM,
                 in->ttr_s / 60.0);
        n = term(out, cap, n, "restorations", "restorations", "restorations", DEN,
                 (double)in->restorations);
        break;
    case KPI_DOWNTIME:
        n = term(out, cap, n, "adot_h", "unplanned down time in planned hours (ADOT)", "h", NUM,
                 in->adot_s / h);
        n = term(out, cap, n, "pbt_h", "planned busy time (PBT)", "h", DEN, in->pbt_s / h);
        break;
    case KPI_ENERGY_PER_GOOD_UNIT:
        n = term(out, cap, n, "energy_kwh", "energy of the work units", "kWh", NUM,
                 in->energy_kwh);
        n = term(out, cap, n, "gq", "good quantity (GQ)", "units", DEN, in->good);
        break;
    case KPI_ENERGY_REDUCTION:
        n = term(out, cap, n, "baseline_kwh_per_unit", "baseline energy per good unit",
                 "kWh/unit", INP, baseline_epgu ? *baseline_epgu : NAN);
        n = term(out, cap, n, "energy_kwh", "energy of the work units", "kWh", INP,
                 in->energy_kwh);
        n = term(out, cap, n, "gq", "good quantity (GQ)", "units", INP, in->good);
        break;
    case KPI_DETECTION_RATE:
        n = term(out, cap, n, "tp", "failure readings with an alarm (TP)", "readings", NUM,
                 (double)cf.tp);
        n = term(out, cap, n, "tp_fn", "failure readings (TP + FN)", "readings", DEN,
                 (double)(cf.tp + cf.fn));
        n = term(out, cap, n, "scored", "labelled readings the model scored", "readings", INP,
                 (double)cf.scored);
        n = term(out, cap, n, "operator_labels", "readings with an operator verdict", "readings",
                 INP, (double)cf.op_labels);
        break;
    case KPI_PRECISION:
        n = term(out, cap, n, "tp", "alarms on failure readings (TP)", "readings", NUM,
                 (double)cf.tp);
        n = term(out, cap, n, "tp_fp", "alarms (TP + FP)", "readings", DEN,
                 (double)(cf.tp + cf.fp));
        n = term(out, cap, n, "operator_labels", "readings with an operator verdict", "readings",
                 INP, (double)cf.op_labels);
        break;
    case KPI_FALSE_ALARM_RATE:
        n = term(out, cap, n, "fp", "alarms on failure-free readings (FP)", "readings", NUM,
                 (double)cf.fp);
        n = term(out, cap, n, "fp_tn", "failure-free readings (FP + TN)", "readings", DEN,
                 (double)(cf.fp + cf.tn));
        break;
    case KPI_CONTROLS_SATISFIED:
        n = term(out, cap, n, "satisfied", "controls satisfied", "controls", NUM,
                 (double)in->controls_satisfied);
        n = term(out, cap, n, "in_scope", "controls in scope", "controls", DEN,
                 (double)in->controls_in_scope);
        n = term(out, cap, n, "with_rules", "in scope with an evidence rule", "controls", INP,
                 (double)in->controls_with_rules);
        break;
    case KPI_CONTROL_COVERAGE:
        n = term(out, cap, n, "with_rules", "in scope with an evidence rule", "controls", NUM,
                 (double)in->controls_with_rules);
        n = term(out, cap, n, "in_scope", "controls in scope", "controls", DEN,
                 (double)in->controls_in_scope);
        break;
    case KPI_CONTROLS_SATISFIED_RULED:
        n = term(out, cap, n, "satisfied", "controls satisfied", "controls", NUM,
                 (double)in->controls_satisfied);
        n = term(out, cap, n, "with_rules", "in scope with an evidence rule", "controls", DEN,
                 (double)in->controls_with_rules);
        n = term(out, cap, n, "not_satisfied", "controls not satisfied", "controls", INP,
                 (double)in->controls_not_satisfied);
        break;
    case KPI_OPEN_FINDINGS:
        n = term(out, cap, n, "critical", "critical", "findings", INP,
                 (double)in->findings_open[KPI_SEV_CRITICAL]);
        n = term(out, cap, n, "high", "high", "findings", INP,
                 (double)in->findings_open[KPI_SEV_HIGH]);
        n = term(out, cap, n, "medium", "medium", "findings", INP,
                 (double)in->findings_open[KPI_SEV_MEDIUM]);
        n = term(out, cap, n, "low", "low", "findings", INP,
                 (double)in->findings_open[KPI_SEV_LOW]);
        break;
    case KPI_TIME_TO_ACK:
        n = term(out, cap, n, "ack_min", "minutes to acknowledge, summed", "min", NUM,
                 in->ack_s_sum / 60.0);
        n = term(out, cap, n, "acked", "incidents acknowledged", "incidents", DEN,
                 (double)in->acked);
        n = term(out, cap, n, "opened", "incidents opened", "incidents", INP,
                 (double)in->incidents_opened);
        break;
    case KPI_TIME_TO_RESOLVE:
        n = term(out, cap, n, "resolve_min", "minutes to resolve, summed", "min", NUM,
                 in->resolve_s_sum / 60.0);
        n = term(out, cap, n, "resolved", "incidents resolved", "incidents", DEN,
                 (double)in->resolved);
        n = term(out, cap, n, "opened", "incidents opened", "incidents", INP,
                 (double)in->incidents_opened);
        break;
    case KPI_RACI_SLA:
        n = term(out, cap, n, "sla_met", "incidents within both SLAs", "incidents", NUM,
                 (double)in->sla_met);
        n = term(out, cap, n, "sla_due", "incidents whose SLA outcome is known", "incidents",
                 DEN, (double)in->sla_due);
        break;
    case KPI_TELEMETRY_REJECTION:
        n = term(out, cap, n, "quarantined", "quarantined at ingestion", "readings", NUM,
                 (double)in->quarantined);
        n = term(out, cap, n, "received", "readings received", "readings", DEN,
                 (double)in->received);
        n = term(out, cap, n, "recovered", "recovered by a replay", "readings", INP,
                 (double)in->recovered);
        n = term(out, cap, n, "still_quarantined", "still quarantined", "readings", INP,
                 (double)(in->quarantined - (in->recovered < in->quarantined ? in->recovered
                                                                            : in->quarantined)));
        break;
    case KPI_DRIFT_EVENTS:
        n = term(out, cap, n, "drift_detected", "drift.detected for a model in force", "events",
                 NUM, (double)in->drift_events);
        break;
    case KPI__COUNT:
        break;
    }
    return n < cap ? n : cap;
}

#undef NUM
#undef DEN
#undef INP

const char *kpi_evidence(kpi_id id)
{
    switch (id) {
    case KPI_AVAILABILITY:
    case KPI_MTBF:
    case KPI_MTTR:
    case KPI_DOWNTIME:
        return "ledger: machine.state events of the work units";
    case KPI_EFFECTIVENESS:
    case KPI_OEE:
        return "ledger: machine.state events; telemetry store: produced and good meters";
    case KPI_QUALITY_RATIO:
        return "telemetry store: produced and good meters of the work units";
    case KPI_ENERGY_PER_GOOD_UNIT:
    case KPI_ENERGY_REDUCTION:
        return "telemetry store: energy and good meters of the work units";
    case KPI_DETECTION_RATE:
    case KPI_PRECISION:
    case KPI_FALSE_ALARM_RATE:
        return "telemetry store: the predictions stored at ingestion against the readings' "
               "failure labels, or the operators' verdicts (ledger: label.set) where a window "
               "holds enough of them";
    case KPI_CONTROLS_SATISFIED:
    case KPI_CONTROL_COVERAGE:
    case KPI_CONTROLS_SATISFIED_RULED:
    case KPI_OPEN_FINDINGS:
        return "control evaluation of the ledger (controls/rules, docs/controls.md)";
    case KPI_TIME_TO_ACK:
    case KPI_TIME_TO_RESOLVE:
    case KPI_RACI_SLA:
        return "ledger: incident.open, incident.ack, incident.resolve; RACI policy SLAs";
    case KPI_TELEMETRY_REJECTION:
        return "telemetry store: stored readings and the quarantine, by reading time";
    case KPI_DRIFT_EVENTS:
        return "ledger: drift.detected (auditd drift) and model.deploy";
    case KPI__COUNT:
        break;
    }
    return "";
}

uint64_t kpi_evidence_count(kpi_id id, const kpi_inputs *in, const kpi_params *p,
                            const char **what)
{
    switch (id) {
    case KPI_AVAILABILITY:
    case KPI_MTBF:
    case KPI_MTTR:
    case KPI_DOWNTIME:
        *what = "machine.state events";
        return in->state_events;
    case KPI_EFFECTIVENESS:
    case KPI_OEE:
    case KPI_QUALITY_RATIO:
    case KPI_ENERGY_PER_GOOD_UNIT:
    case KPI_ENERGY_REDUCTION:
        *what = "work-unit readings";
        return in->meter_readings;
    case KPI_DETECTION_RATE:
    case KPI_PRECISION:
    case KPI_FALSE_ALARM_RATE:
        if (confusion_of(id, in, p).op) {
            *what = "readings with an operator verdict";
            return in->op_tp + in->op_fp + in->op_fn + in->op_tn;
        }
        *what = "labelled readings";
        return in->tp + in->fp + in->fn + in->tn;
    case KPI_CONTROLS_SATISFIED:
    case KPI_CONTROL_COVERAGE:
    case KPI_CONTROLS_SATISFIED_RULED:
    case KPI_OPEN_FINDINGS:
        *what = "controls in scope";
        return in->controls_in_scope;
    case KPI_TIME_TO_ACK:
    case KPI_TIME_TO_RESOLVE:
    case KPI_RACI_SLA:
        *what = "incidents opened";
        return in->incidents_opened;
    case KPI_TELEMETRY_REJECTION:
        *what = "readings received";
        return in->received;
    case KPI_DRIFT_EVENTS:
        *what = "drift.detected events";
        return in->drift_events;
    case KPI__COUNT:
        break;
    }
    *what = "";
    return 0;
}

const char *kpi_status(const kpi_def *d, const kpi_value *v)
{
    if (!v->available)
        return "n/a";
    if (!d->has_target)
        return "no-target";
    /* Compare in display units, rounded as shown, so a value printed as the
     * target is never reported as missing it. */
    double p = pow(10.0, d->decimals);
    double shown = round(v->value * d->scale * p) / p;
    double target = round(d->target * d->scale * p) / p;
    if (d->direction == KPI_DIR_HIGHER)
        return shown >= target ? "met" : "missed";
    return shown <= target ? "met" : "missed";
}

void kpi_format_value(const kpi_def *d, const kpi_value *v, char *out, size_t cap)
{
    if (!v->available) {
        snprintf(out, cap, "n/a");
        return;
    }
    if (d->format == KPI_FMT_COUNT) {
        snprintf(out, cap, "%.0f", v->value * d->scale);
        return;
    }
    snprintf(out, cap, "%.*f", d->decimals, v->value * d->scale);
}

void kpi_inputs_add(kpi_inputs *a, const kpi_inputs *b)
{
    a->has_time_model |= b->has_time_model;
    a->pbt_s += b->pbt_s;
    a->apt_s += b->apt_s;
    a->adot_s += b->adot_s;
    a->failures += b->failures;
    a->restorations += b->restorations;
    a->ttr_s += b->ttr_s;
    a->state_events += b->state_events;
    a->has_production |= b->has_production;
    a->produced += b->produced;
    a->good += b->good;
    a->has_energy |= b->has_energy;
    a->energy_kwh += b->energy_kwh;
    a->meter_readings += b->meter_readings;
    a->has_labels |= b->has_labels;
    a->tp += b->tp;
    a->fp += b->fp;
    a->fn += b->fn;
    a->tn += b->tn;
    a->scored += b->scored;
    a->op_tp += b->op_tp;
    a->op_fp += b->op_fp;
    a->op_fn += b->op_fn;
    a->op_tn += b->op_tn;
    a->op_scored += b->op_scored;
    a->has_controls |= b->has_controls;
    a->controls_in_scope += b->controls_in_scope;
    a->controls_with_rules += b->controls_with_rules;
    a->controls_satisfied += b->controls_satisfied;
    a->controls_not_satisfied += b->controls_not_satisfied;
    for (int i = 0; i < KPI_SEV__COUNT; i++)
        a->findings_open[i] += b->findings_open[i];
    a->has_incidents |= b->has_incidents;
    a->incidents_opened += b->incidents_opened;
    a->acked += b->acked;
    a->ack_s_sum += b->ack_s_sum;
    a->resolved += b->resolved;
    a->resolve_s_sum += b->resolve_s_sum;
    a->sla_due += b->sla_due;
    a->sla_met += b->sla_met;
    a->has_telemetry |= b->has_telemetry;
    a->received += b->received;
    a->quarantined += b->quarantined;
    a->recovered += b->recovered;
    a->has_drift |= b->has_drift;
    a->drift_events += b->drift_events;
}

double kpi_planned_seconds(const kpi_params *p, int64_t a, int64_t b)
{
    if (b <= a)
        return 0;
    if (!p || !p->has_calendar)
        return (double)(b - a) / 1e6;
    const int64_t day = 86400LL * 1000000, hour = 3600LL * 1000000;
    int64_t d0 = a >= 0 ? a / day : (a - day + 1) / day;
    int64_t d1 = (b - 1) >= 0 ? (b - 1) / day : (b - day) / day;
    double s = 0;
    for (int64_t dn = d0; dn <= d1; dn++) {
        int wd = (int)(((dn % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
        int64_t lo = dn * day + p->planned[wd][0] * hour, hi = dn * day + p->planned[wd][1] * hour;
        if (lo < a)
            lo = a;
        if (hi > b)
            hi = b;
        if (hi > lo)
            s += (double)(hi - lo) / 1e6;
    }
    return s;
}

/* ---- definitions --------------------------------------------------------- */

typedef struct pctx {
    const char *name; /* file label */
    adt_err *err;
} pctx;

static int perr(pctx *c, const char *where, const char *what)
{
    return adt_fail(c->err, ADT_EINVAL, "%s: %s: %s", c->name, where, what);
}

/* A required (or optional, when `opt`) bounded non-empty string member. */
static int get_str(pctx *c, const cJSON *o, const char *key, bool opt, const char *where,
                   char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char w[160];
    snprintf(w, sizeof w, "%s.%s", where, key);
    if (!v) {
        if (opt) {
            *out = NULL;
            return ADT_OK;
        }
        return perr(c, w, "is required (a non-empty string)");
    }
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > 2000)
        return perr(c, w, "must be a non-empty string of at most 2000 bytes");
    *out = strdup(v->valuestring);
    return *out ? ADT_OK : adt_fail(c->err, ADT_ENOMEM, "out of memory");
}

static int get_strs(pctx *c, const cJSON *o, const char *key, const char *where, char ***out,
                    size_t *n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char w[160];
    snprintf(w, sizeof w, "%s.%s", where, key);
    *out = NULL;
    *n = 0;
    if (!v)
        return ADT_OK;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > KPI_MAX_ANCHORS)
        return perr(c, w, "must be an array of at most 32 strings");
    int cnt = cJSON_GetArraySize(v);
    if (cnt == 0)
        return ADT_OK;
    char **a = calloc((size_t)cnt, sizeof *a);
    if (!a)
        return adt_fail(c->err, ADT_ENOMEM, "out of memory");
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsString(e) || !e->valuestring[0] || strlen(e->valuestring) > 200) {
            for (int j = 0; j < i; j++)
                free(a[j]);
            free(a);
            return perr(c, w, "every element must be a non-empty string of at most 200 bytes");
        }
        a[i] = strdup(e->valuestring);
        if (!a[i]) {
            for (int j = 0; j < i; j++)
                free(a[j]);
            free(a);
            return adt_fail(c->err, ADT_ENOMEM, "out of memory");
        }
        i++;
    }
    *out = a;
    *n = (size_t)cnt;
    return ADT_OK;
}

/* An optional finite number member or null; `*has` says which. */
static int get_num(pctx *c, const cJSON *o, const char *key, const char *where, bool *has,
                   double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char w[160];
    snprintf(w, sizeof w, "%s.%s", where, key);
    *has = false;
    if (!v || cJSON_IsNull(v))
        return ADT_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return perr(c, w, "must be a number or null");
    *has = true;
    *out = v->valuedouble;
    return ADT_OK;
}

static void def_free(kpi_def *d)
{
    free(d->key);
    free(d->name);
    free(d->group);
    free(d->unit);
    free(d->formula);
    free(d->source);
    free(d->impact);
    free(d->activity);
    for (size_t i = 0; i < d->nsensors; i++)
        free(d->sensors[i]);
    free(d->sensors);
    for (size_t i = 0; i < d->nmodels; i++)
        free(d->models[i]);
    free(d->models);
    for (size_t i = 0; i < d->nedge; i++)
        free(d->edge[i]);
    free(d->edge);
    memset(d, 0, sizeof *d);
}

void kpi_defs_free(kpi_defs *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        def_free(&d->defs[i]);
    free(d->defs);
    free(d->version);
    free(d->site);
    free(d->baseline_period);
    free(d->baseline_note);
    memset(d, 0, sizeof *d);
}

int kpi_defs_find(const kpi_defs *d, kpi_id id)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->defs[i].id == id)
            return (int)i;
    return -1;
}

static double unit_scale(const char *unit)
{
    if (!strcmp(unit, "%"))
        return 100.0;
    if (!strcmp(unit, "h"))
        return 1.0 / 3600.0;
    if (!strcmp(unit, "min"))
        return 1.0 / 60.0;
    return 1.0;
}

static int parse_def(pctx *c, const cJSON *o, int idx, kpi_def *d, const kpi_defs *sofar)
{
    char where[96];
    snprintf(where, sizeof where, "kpis[%d]", idx);
    if (!cJSON_IsObject(o))
        return perr(c, where, "must be an object");
    const cJSON *idv = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!cJSON_IsString(idv))
        return perr(c, where, "needs \"id\", one of the KPI ids listed in docs/reports.md");
    int id = kpi_id_parse(idv->valuestring);
    if (id < 0) {
        char m[200];
        snprintf(m, sizeof m, "unknown KPI id \"%.60s\" (see docs/reports.md for the ids)",
                 idv->valuestring);
        return perr(c, where, m);
    }
    if (kpi_defs_find(sofar, (kpi_id)id) >= 0) {
        char m[200];
        snprintf(m, sizeof m, "KPI \"%s\" is defined twice", idv->valuestring);
        return perr(c, where, m);
    }
    snprintf(where, sizeof where, "kpis[%d] (%s)", idx, idv->valuestring);
    d->id = (kpi_id)id;
    int rc;
    if ((rc = get_str(c, o, "id", false, where, &d->key)) ||
        (rc = get_str(c, o, "name", false, where, &d->name)) ||
        (rc = get_str(c, o, "group", false, where, &d->group)) ||
        (rc = get_str(c, o, "unit", false, where, &d->unit)) ||
        (rc = get_str(c, o, "formula", false, where, &d->formula)) ||
        (rc = get_str(c, o, "source", false, where, &d->source)) ||
        (rc = get_str(c, o, "impact", false, where, &d->impact)) ||
        (rc = get_str(c, o, "activity", true, where, &d->activity)))
        return rc;
    const cJSON *anc = cJSON_GetObjectItemCaseSensitive(o, "anchors");
    char aw[128];
    snprintf(aw, sizeof aw, "%s.anchors", where);
    if (!cJSON_IsObject(anc))
        return perr(c, aw, "is required: an object with sensors, models and edge arrays");
    if ((rc = get_strs(c, anc, "sensors", aw, &d->sensors, &d->nsensors)) ||
        (rc = get_strs(c, anc, "models", aw, &d->models, &d->nmodels)) ||
        (rc = get_strs(c, anc, "edge", aw, &d->edge, &d->nedge)))
        return rc;
    if (d->nsensors + d->nmodels + d->nedge == 0)
        return perr(c, aw, "must name at least one sensor, model or edge rule that moves the KPI");

    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(o, "direction");
    if (cJSON_IsString(dir) && !strcmp(dir->valuestring, "higher"))
        d->direction = KPI_DIR_HIGHER;
    else if (cJSON_IsString(dir) && !strcmp(dir->valuestring, "lower"))
        d->direction = KPI_DIR_LOWER;
    else
        return perr(c, where, "\"direction\" must be \"higher\" or \"lower\" (which way is better)");

    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(o, "format");
    if (!fmt || (cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "number")))
        d->format = KPI_FMT_NUMBER;
    else if (cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "percent"))
        d->format = KPI_FMT_PERCENT;
    else if (cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "count"))
        d->format = KPI_FMT_COUNT;
    else
        return perr(c, where, "\"format\" must be \"percent\", \"number\" or \"count\"");
    if (d->format == KPI_FMT_PERCENT && strcmp(d->unit, "%"))
        return perr(c, where, "a percent KPI must have unit \"%\"");

    const cJSON *hl = cJSON_GetObjectItemCaseSensitive(o, "headline");
    if (hl && !cJSON_IsBool(hl))
        return perr(c, where, "\"headline\" must be true or false");
    d->headline = cJSON_IsTrue(hl);
    const cJSON *ik = cJSON_GetObjectItemCaseSensitive(o, "impact_kpi");
    if (ik && !cJSON_IsBool(ik))
        return perr(c, where, "\"impact_kpi\" must be true or false");
    d->impact_kpi = cJSON_IsTrue(ik);

    d->decimals = d->format == KPI_FMT_COUNT ? 0 : 1;
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(o, "decimals");
    if (dec) {
        if (!cJSON_IsNumber(dec) || dec->valuedouble < 0 || dec->valuedouble > 6 ||
            dec->valuedouble != (double)(int)dec->valuedouble)
            return perr(c, where, "\"decimals\" must be an integer from 0 to 6");
        d->decimals = (int)dec->valuedouble;
    }
    d->scale = unit_scale(d->unit);
    /* Baseline and target are written in display units; stored in computed units. */
    if ((rc = get_num(c, o, "baseline", where, &d->has_baseline, &d->baseline)) ||
        (rc = get_num(c, o, "target", where, &d->has_target, &d->target)))
        return rc;
    d->baseline /= d->scale;
    d->target /= d->scale;
    return ADT_OK;
}

static int parse_sla(pctx *c, const cJSON *root, kpi_defs *d)
{
    static const struct {
        const char *key;
        double def[KPI_SEV__COUNT]; /* minutes: low, medium, high, critical */
    } tab[2] = {{"ack_minutes", {1440, 240, 60, 15}}, {"resolve_minutes", {10080, 4320, 1440, 240}}};
    const cJSON *sla = cJSON_GetObjectItemCaseSensitive(root, "sla");
    if (sla && !cJSON_IsObject(sla))
        return perr(c, "sla", "must be an object {ack_minutes: {...}, resolve_minutes: {...}}");
    for (int t = 0; t < 2; t++) {
        double *dst = t == 0 ? d->sla_ack_s : d->sla_resolve_s;
        for (int i = 0; i < KPI_SEV__COUNT; i++)
            dst[i] = tab[t].def[i] * 60.0;
        const cJSON *o = sla ? cJSON_GetObjectItemCaseSensitive(sla, tab[t].key) : NULL;
        if (!o)
            continue;
        char w[64];
        snprintf(w, sizeof w, "sla.%s", tab[t].key);
        if (!cJSON_IsObject(o))
            return perr(c, w, "must be an object severity -> minutes");
        const cJSON *e;
        cJSON_ArrayForEach(e, o)
        {
            int s = kpi_severity_index(e->string);
            if (s < 0)
                return perr(c, w, "keys must be low, medium, high or critical");
            if (!cJSON_IsNumber(e) || !(e->valuedouble > 0) || e->valuedouble > 525600)
                return perr(c, w, "values must be minutes in (0, 525600]");
            dst[s] = e->valuedouble * 60.0;
        }
    }
    return ADT_OK;
}

/* "baseline": {"period": "2026-Q2", "note": "..."} and
 * "value": {"currency": "EUR", "energy_price_per_kwh": x, "downtime_cost_per_hour": y},
 * both optional. */
static int parse_baseline_value(pctx *c, const cJSON *root, kpi_defs *d)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "baseline");
    if (b) {
        if (!cJSON_IsObject(b))
            return perr(c, "baseline", "must be an object {\"period\": \"2026-Q2\", \"note\": ...}");
        int rc;
        if ((rc = get_str(c, b, "period", false, "baseline", &d->baseline_period)) ||
            (rc = get_str(c, b, "note", true, "baseline", &d->baseline_note)))
            return rc;
        rperiod per;
        adt_err pe;
        if (rperiod_parse(d->baseline_period, &per, &pe))
            return perr(c, "baseline.period", pe.msg);
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "value");
    if (!v)
        return ADT_OK;
    if (!cJSON_IsObject(v))
        return perr(c, "value", "must be an object {currency, energy_price_per_kwh, "
                                "downtime_cost_per_hour}");
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(v, "currency");
    if (!cJSON_IsString(cur) || strlen(cur->valuestring) != 3 ||
        strspn(cur->valuestring, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
        return perr(c, "value.currency", "must be an ISO 4217 code of three capitals (\"EUR\")");
    memcpy(d->currency, cur->valuestring, 4);
    static const char *const keys[2] = {"energy_price_per_kwh", "downtime_cost_per_hour"};
    bool *has[2] = {&d->has_energy_price, &d->has_downtime_cost};
    double *dst[2] = {&d->energy_price, &d->downtime_cost};
    for (int k = 0; k < 2; k++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(v, keys[k]);
        if (!x || cJSON_IsNull(x))
            continue;
        char w[64];
        snprintf(w, sizeof w, "value.%s", keys[k]);
        if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0) || x->valuedouble > 1e9)
            return perr(c, w, "must be a number from 0 to 1e9, or null");
        *has[k] = true;
        *dst[k] = x->valuedouble;
    }
    return ADT_OK;
}

/* 1-based line of byte offset `off` in text. */
static int line_of(const char *text, size_t len, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && i < len; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

/* The "parameters" object: ideal cycle time, the operators' labels a KPI
 * needs, the planned hours of each weekday. */
static int parse_params(pctx *c, const cJSON *root, kpi_params *pp)
{
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(root, "parameters");
    if (par && !cJSON_IsObject(par))
        return perr(c, "parameters", "must be an object");
    const cJSON *ict = par ? cJSON_GetObjectItemCaseSensitive(par, "ideal_cycle_s") : NULL;
    if (ict && (!cJSON_IsNumber(ict) || !(ict->valuedouble > 0) || ict->valuedouble > 86400))
        return perr(c, "parameters.ideal_cycle_s", "must be seconds per unit in (0, 86400]");
    pp->ideal_cycle_s = ict ? ict->valuedouble : 0.0;
    const cJSON *mol = par ? cJSON_GetObjectItemCaseSensitive(par, "min_operator_labels") : NULL;
    if (mol && (!cJSON_IsNumber(mol) || !(mol->valuedouble >= 1 && mol->valuedouble <= 1e9) ||
                mol->valuedouble != (double)(int64_t)mol->valuedouble))
        return perr(c, "parameters.min_operator_labels", "must be a whole number in [1, 1e9]");
    pp->min_operator_labels = mol ? (uint64_t)mol->valuedouble : KPI_MIN_OPERATOR_LABELS;
    const cJSON *cal = par ? cJSON_GetObjectItemCaseSensitive(par, "planned_hours") : NULL;
    if (cal) {
        static const char *const days[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
        if (!cJSON_IsObject(cal))
            return perr(c, "parameters.planned_hours", "must be an object weekday -> [from, to]");
        const cJSON *e;
        cJSON_ArrayForEach(e, cal)
        {
            int wd = -1;
            for (int k = 0; k < 7; k++)
                if (!strcmp(e->string, days[k]))
                    wd = k;
            const cJSON *f = cJSON_GetArrayItem(e, 0), *t = cJSON_GetArrayItem(e, 1);
            if (wd < 0 || !cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !cJSON_IsNumber(f) ||
                !cJSON_IsNumber(t) || f->valuedouble != (int)f->valuedouble ||
                t->valuedouble != (int)t->valuedouble || f->valuedouble < 0 ||
                t->valuedouble > 24 || f->valuedouble > t->valuedouble)
                return perr(c, "parameters.planned_hours",
                            "keys are sun..sat, values [from, to] whole hours with 0 <= from <= to <= 24");
            pp->planned[wd][0] = (int)f->valuedouble;
            pp->planned[wd][1] = (int)t->valuedouble;
        }
        pp->has_calendar = true;
    }
    return ADT_OK;
}

int kpi_defs_parse(const char *text, size_t len, const char *name, kpi_defs *out, adt_err *err)
{
    pctx c = {name ? name : "kpis", err};
    if (len > KPI_DEFS_MAX_BYTES)
        return adt_fail(err, ADT_ETOOBIG, "%s: KPI definitions larger than %u bytes", c.name,
                        KPI_DEFS_MAX_BYTES);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        return adt_fail(err, ADT_EINVAL, "%s:%d: not valid JSON near byte %zu", c.name,
                        line_of(text, len, off), off);
    }
    kpi_defs d;
    memset(&d, 0, sizeof d);
    int rc = ADT_OK;
    if (!cJSON_IsObject(root)) {
        rc = perr(&c, "top level", "must be an object");
        goto done;
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "auditd-kpis/1")) {
        rc = perr(&c, "format", "must be \"auditd-kpis/1\"");
        goto done;
    }
    if ((rc = get_str(&c, root, "version", false, "top level", &d.version)))
        goto done;
    if ((rc = parse_params(&c, root, &d.params)))
        goto done;
    if ((rc = parse_sla(&c, root, &d)) || (rc = parse_baseline_value(&c, root, &d)) ||
        (rc = get_str(&c, root, "site", true, "top level", &d.site)))
        goto done;
    const cJSON *kpis = cJSON_GetObjectItemCaseSensitive(root, "kpis");
    if (!cJSON_IsArray(kpis) || cJSON_GetArraySize(kpis) == 0 ||
        cJSON_GetArraySize(kpis) > KPI_DEFS_MAX) {
        rc = perr(&c, "kpis", "must be an array of 1 to 64 KPI definitions");
        goto done;
    }
    d.defs = calloc((size_t)cJSON_GetArraySize(kpis), sizeof *d.defs);
    if (!d.defs) {
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
        goto done;
    }
    const cJSON *k;
    int i = 0;
    cJSON_ArrayForEach(k, kpis)
    {
        rc = parse_def(&c, k, i, &d.defs[i], &d);
        d.n = (size_t)i + 1; /* so kpi_defs_free releases a half-parsed entry */
        if (rc)
            goto done;
        i++;
    }
    d.n = (size_t)i;
done:
    cJSON_Delete(root);
    if (rc) {
        kpi_defs_free(&d);
        return rc;
    }
    *out = d;
    return ADT_OK;
}

int kpi_defs_load(const char *path, kpi_defs *out, adt_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return adt_fail(err, ADT_EIO, "cannot open KPI definitions %s: %s", path, strerror(errno));
    char *text = malloc(KPI_DEFS_MAX_BYTES + 1);
    if (!text) {
        fclose(f);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    size_t n = fread(text, 1, KPI_DEFS_MAX_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (bad)
        rc = adt_fail(err, ADT_EIO, "reading %s failed", path);
    else
        rc = kpi_defs_parse(text, n, path, out, err);
    free(text);
    return rc;
}

/* ---- inputs as JSON ------------------------------------------------------ */

typedef enum { F_BOOL, F_DBL, F_U64 } ftype;
typedef struct field {
    const char *name;
    ftype t;
    size_t off;
} field;

#define FB(n) {#n, F_BOOL, offsetof(kpi_inputs, n)}
#define FD(n) {#n, F_DBL, offsetof(kpi_inputs, n)}
#define FU(n) {#n, F_U64, offsetof(kpi_inputs, n)}
/* Every member of kpi_inputs but findings_open (written as an object). */
static const field fields[] = {
    FB(has_time_model), FD(pbt_s), FD(apt_s), FD(adot_s), FU(failures), FU(restorations),
    FD(ttr_s), FU(state_events), FB(has_production), FD(produced), FD(good), FB(has_energy),
    FD(energy_kwh), FU(meter_readings), FB(has_labels), FU(tp), FU(fp), FU(fn), FU(tn),
    FU(scored), FB(has_controls), FU(controls_in_scope), FU(controls_with_rules),
    FU(controls_satisfied), FU(controls_not_satisfied), FB(has_incidents), FU(incidents_opened),
    FU(acked), FD(ack_s_sum), FU(resolved), FD(resolve_s_sum), FU(sla_due), FU(sla_met),
    FB(has_telemetry), FU(received), FU(quarantined), FU(recovered), FB(has_drift),
    FU(drift_events)};
#define NFIELDS (sizeof fields / sizeof fields[0])
#define U64_EXACT 9007199254740992.0 /* 2^53: counts a JSON number carries exactly */

int kpi_inputs_json(const kpi_inputs *in, buf *out)
{
    const char *base = (const char *)in;
    int rc = buf_putc(out, '{');
    for (size_t i = 0; !rc && i < NFIELDS; i++) {
        const field *f = &fields[i];
        rc = buf_printf(out, "%s\"%s\":", i ? "," : "", f->name);
        if (rc)
            break;
        if (f->t == F_BOOL)
            rc = buf_puts(out, *(const bool *)(base + f->off) ? "true" : "false");
        else if (f->t == F_DBL)
            rc = buf_printf(out, "%.17g", *(const double *)(base + f->off));
        else
            rc = buf_printf(out, "%llu", (unsigned long long)*(const uint64_t *)(base + f->off));
    }
    for (int s = 0; !rc && s < KPI_SEV__COUNT; s++)
        rc = buf_printf(out, "%s\"%s\":%llu", s ? "," : ",\"findings_open\":{",
                        kpi_severity_names[s], (unsigned long long)in->findings_open[s]);
    if (!rc)
        rc = buf_puts(out, "}}");
    return rc;
}

static int u64_of(const cJSON *v, const char *name, uint64_t *out, adt_err *err)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > U64_EXACT || v->valuedouble != floor(v->valuedouble))
        return adt_fail(err, ADT_EINVAL, "inputs.%s must be a whole number >= 0", name);
    *out = (uint64_t)v->valuedouble;
    return ADT_OK;
}

int kpi_inputs_parse(const void *jv, kpi_inputs *out, adt_err *err)
{
    const cJSON *j = jv;
    kpi_inputs in;
    memset(&in, 0, sizeof in);
    if (!cJSON_IsObject(j))
        return adt_fail(err, ADT_EINVAL, "inputs must be a JSON object");
    char *base = (char *)&in;
    _Static_assert(NFIELDS < 64, "one bit per field");
    uint64_t seen = 0; /* bit i: fields[i]; bit NFIELDS: findings_open */
    for (const cJSON *m = j->child; m; m = m->next) {
        if (!m->string)
            return adt_fail(err, ADT_EINVAL, "inputs has a member without a name");
        if (!strcmp(m->string, "findings_open")) {
            if (!cJSON_IsObject(m))
                return adt_fail(err, ADT_EINVAL, "inputs.findings_open must be an object");
            unsigned sevs = 0;
            for (const cJSON *x = m->child; x; x = x->next) {
                int sv = kpi_severity_index(x->string);
                if (sv < 0 || (sevs & (1u << sv)))
                    return adt_fail(err, ADT_EINVAL, "inputs.findings_open: unknown or repeated "
                                    "severity '%.40s'", x->string ? x->string : "");
                sevs |= 1u << sv;
                if (u64_of(x, "findings_open", &in.findings_open[sv], err))
                    return ADT_EINVAL;
            }
            if (sevs != (1u << KPI_SEV__COUNT) - 1)
                return adt_fail(err, ADT_EINVAL, "inputs.findings_open must name each severity "
                                "once");
            if (seen & (1ull << NFIELDS))
                return adt_fail(err, ADT_EINVAL, "inputs.findings_open is given twice");
            seen |= 1ull << NFIELDS;
            continue;
        }
        size_t i = 0;
        while (i < NFIELDS && strcmp(fields[i].name, m->string))
            i++;
        if (i == NFIELDS)
            return adt_fail(err, ADT_EINVAL, "inputs: unknown member '%.60s'", m->string);
        const field *f = &fields[i];
        if (seen & (1ull << i))
            return adt_fail(err, ADT_EINVAL, "inputs.%s is given twice", f->name);
        seen |= 1ull << i;
        if (f->t == F_BOOL) {
            if (!cJSON_IsBool(m))
                return adt_fail(err, ADT_EINVAL, "inputs.%s must be true or false", f->name);
            *(bool *)(base + f->off) = cJSON_IsTrue(m);
        } else if (f->t == F_DBL) {
            if (!cJSON_IsNumber(m) || !isfinite(m->valuedouble) || m->valuedouble < 0)
                return adt_fail(err, ADT_EINVAL, "inputs.%s must be a finite number >= 0",
                                f->name);
            *(double *)(base + f->off) = m->valuedouble;
        } else if (u64_of(m, f->name, (uint64_t *)(base + f->off), err)) {
            return ADT_EINVAL;
        }
    }
    if (seen != (1ull << (NFIELDS + 1)) - 1)
        return adt_fail(err, ADT_EINVAL, "inputs must have each of its %zu members exactly once",
                        NFIELDS + 1);
    *out = in;
    return ADT_OK;
}
