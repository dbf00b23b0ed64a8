/* test_kpi.c: the KPI arithmetic against hand-computed values (edge cases
 * included), the KPI definition parser, and report periods. */
#include "controls.h"
#include "kpi.h"
#include "reports.h"
#include "rperiod.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const kpi_params P = {.ideal_cycle_s = 30.0};

/* A plant day: PBT 24 h = 20 h running + 2 h idle + 2 h down; 3 failures, 2
 * restored after 40 and 80 min; 2,160 parts of which 2,100 good; 648 kWh. */
static kpi_inputs day(void)
{
    kpi_inputs in;
    memset(&in, 0, sizeof in);
    in.has_time_model = true;
    in.pbt_s = 24 * 3600.0;
    in.apt_s = 20 * 3600.0;
    in.adot_s = 2 * 3600.0;
    in.failures = 3;
    in.restorations = 2;
    in.ttr_s = 40 * 60.0 + 80 * 60.0;
    in.has_production = true;
    in.produced = 2160;
    in.good = 2100;
    in.has_energy = true;
    in.energy_kwh = 648;
    return in;
}

START_TEST(iso22400_formulas)
{
    kpi_inputs in = day();
    kpi_value v;
    v = kpi_compute(KPI_AVAILABILITY, &in, &P, NULL);
    ck_assert(v.available);
    ck_assert_double_eq_tol(v.value, 20.0 / 24.0, 1e-12);
    /* Effectiveness = PTU x PQ / APT = 30 s x 2160 / 72000 s = 0.9 */
    v = kpi_compute(KPI_EFFECTIVENESS, &in, &P, NULL);
    ck_assert_double_eq_tol(v.value, 0.9, 1e-12);
    v = kpi_compute(KPI_QUALITY_RATIO, &in, &P, NULL);
    ck_assert_double_eq_tol(v.value, 2100.0 / 2160.0, 1e-12);
    /* OEE = 0.8333 x 0.9 x 0.97222 = 0.729166... */
    v = kpi_compute(KPI_OEE, &in, &P, NULL);
    ck_assert_double_eq_tol(v.value, (20.0 / 24.0) * 0.9 * (2100.0 / 2160.0), 1e-12);
    ck_assert_double_eq_tol(v.value, 0.7291666666666666, 1e-12);
    /* MTBF = APT / FE = 20 h / 3 */
    v = kpi_compute(KPI_MTBF, &in, &P, NULL);
    ck_assert_double_eq_tol(v.value, 20 * 3600.0 / 3, 1e-9);
    /* MTTR = (40 + 80) min / 2 = 60 min */
    v = kpi_compute(KPI_MTTR, &in, &P, NULL);
    ck_assert_double_eq_tol(v.value, 3600.0, 1e-9);
    /* 648 kWh / 2100 good = 0.308571... */
    v = kpi_compute(KPI_ENERGY_PER_GOOD_UNIT, &in, &P, NULL);
    ck_assert_double_eq_tol(v.value, 648.0 / 2100.0, 1e-12);
    double base = 0.35;
    v = kpi_compute(KPI_ENERGY_REDUCTION, &in, &P, &base);
    ck_assert_double_eq_tol(v.value, (0.35 - 648.0 / 2100.0) / 0.35, 1e-12);
}
END_TEST

START_TEST(model_and_governance)
{
    kpi_inputs in;
    memset(&in, 0, sizeof in);
    in.has_labels = true;
    in.scored = 1000;
    in.tp = 45;
    in.fp = 15;
    in.fn = 5;
    in.tn = 935;
    ck_assert_double_eq_tol(kpi_compute(KPI_DETECTION_RATE, &in, &P, NULL).value, 0.9, 1e-12);
    ck_assert_double_eq_tol(kpi_compute(KPI_PRECISION, &in, &P, NULL).value, 0.75, 1e-12);
    ck_assert_double_eq_tol(kpi_compute(KPI_FALSE_ALARM_RATE, &in, &P, NULL).value, 15.0 / 950,
                            1e-12);
    in.has_controls = true;
    in.controls_in_scope = 40;
    in.controls_satisfied = 30;
    in.controls_not_satisfied = 4; /* 6 without evidence count against */
    in.findings_open[KPI_SEV_HIGH] = 3;
    in.findings_open[KPI_SEV_LOW] = 2;
    ck_assert_double_eq_tol(kpi_compute(KPI_CONTROLS_SATISFIED, &in, &P, NULL).value, 0.75, 1e-12);
    ck_assert_double_eq_tol(kpi_compute(KPI_OPEN_FINDINGS, &in, &P, NULL).value, 5, 1e-12);
    in.has_incidents = true;
    in.acked = 4;
    in.ack_s_sum = 4 * 600 + 1200; /* 10,10,10,30 min */
    in.resolved = 2;
    in.resolve_s_sum = 7200 + 3600;
    in.sla_due = 5;
    in.sla_met = 4;
    ck_assert_double_eq_tol(kpi_compute(KPI_TIME_TO_ACK, &in, &P, NULL).value, 900, 1e-9);
    ck_assert_double_eq_tol(kpi_compute(KPI_TIME_TO_RESOLVE, &in, &P, NULL).value, 5400, 1e-9);
    ck_assert_double_eq_tol(kpi_compute(KPI_RACI_SLA, &in, &P, NULL).value, 0.8, 1e-12);
    in.has_telemetry = true;
    in.received = 200000;
    in.quarantined = 300; /* at ingestion; a replay later recovered 250 */
    in.recovered = 250;
    ck_assert_double_eq_tol(kpi_compute(KPI_TELEMETRY_REJECTION, &in, &P, NULL).value, 0.0015,
                            1e-15);
    kpi_term t[KPI_MAX_TERMS];
    size_t nt = kpi_terms(KPI_TELEMETRY_REJECTION, &in, &P, NULL, t, KPI_MAX_TERMS);
    ck_assert_uint_eq(nt, 4);
    ck_assert_str_eq(t[0].id, "quarantined");
    ck_assert_int_eq(t[0].role, KPI_TERM_NUMERATOR);
    ck_assert_double_eq(t[0].value, 300);
    ck_assert_int_eq(t[1].role, KPI_TERM_DENOMINATOR);
    ck_assert_double_eq(t[1].value, 200000);
    ck_assert_str_eq(t[3].id, "still_quarantined");
    ck_assert_double_eq(t[3].value, 50);
    /* coverage beside the headline: 30 of 40 satisfied, 20 with a rule */
    in.controls_with_rules = 32;
    ck_assert_double_eq_tol(kpi_compute(KPI_CONTROL_COVERAGE, &in, &P, NULL).value, 0.8, 1e-12);
    ck_assert_double_eq_tol(kpi_compute(KPI_CONTROLS_SATISFIED_RULED, &in, &P, NULL).value,
                            30.0 / 32, 1e-12);
    in.has_drift = true;
    in.drift_events = 0;
    kpi_value v = kpi_compute(KPI_DRIFT_EVENTS, &in, &P, NULL);
    ck_assert(v.available); /* zero drift with a monitored model is a fact */
    ck_assert_double_eq(v.value, 0);
}
END_TEST

START_TEST(edge_cases)
{
    kpi_inputs in = day();
    kpi_value v;
    /* no downtime: availability 100 %, no failures: MTBF and MTTR not available */
    in.apt_s = in.pbt_s;
    in.adot_s = 0;
    in.failures = in.restorations = 0;
    in.ttr_s = 0;
    v = kpi_compute(KPI_AVAILABILITY, &in, &P, NULL);
    ck_assert(v.available);
    ck_assert_double_eq(v.value, 1.0);
    v = kpi_compute(KPI_MTBF, &in, &P, NULL);
    ck_assert(!v.available);
    ck_assert_str_eq(v.why, "no failures in the window");
    ck_assert(!kpi_compute(KPI_MTTR, &in, &P, NULL).available);
    /* no production: quality, OEE, energy per unit not available, never 0 */
    in = day();
    in.produced = in.good = 0;
    ck_assert(!kpi_compute(KPI_QUALITY_RATIO, &in, &P, NULL).available);
    ck_assert(!kpi_compute(KPI_OEE, &in, &P, NULL).available);
    ck_assert(!kpi_compute(KPI_ENERGY_PER_GOOD_UNIT, &in, &P, NULL).available);
    /* effectiveness is 0 (the machines ran, made nothing): a real zero */
    v = kpi_compute(KPI_EFFECTIVENESS, &in, &P, NULL);
    ck_assert(v.available);
    ck_assert_double_eq(v.value, 0.0);
    /* missing baseline: the reduction is not available */
    in = day();
    v = kpi_compute(KPI_ENERGY_REDUCTION, &in, &P, NULL);
    ck_assert(!v.available);
    ck_assert_str_eq(v.why, "no energy baseline (neither measured nor stated)");
    double zero = 0;
    ck_assert(!kpi_compute(KPI_ENERGY_REDUCTION, &in, &P, &zero).available);
    /* no data at all: every KPI not available */
    kpi_inputs none;
    memset(&none, 0, sizeof none);
    double base = 1;
    for (int i = 0; i < KPI__COUNT; i++)
        ck_assert_msg(!kpi_compute((kpi_id)i, &none, &P, &base).available, "%s", kpi_id_name(i));
    /* no ideal cycle time: effectiveness not available */
    kpi_params p0 = {.ideal_cycle_s = 0};
    in = day();
    ck_assert(!kpi_compute(KPI_EFFECTIVENESS, &in, &p0, NULL).available);
    /* no model in force: failures happened and nothing warned of them, a
     * measured 0 % with the reason beside it; precision has no alarms: n/a */
    kpi_inputs m;
    memset(&m, 0, sizeof m);
    m.has_labels = true;
    m.fn = 3;
    m.tn = 10;
    ck_assert(!kpi_compute(KPI_PRECISION, &m, &P, NULL).available);
    ck_assert_str_eq(kpi_compute(KPI_PRECISION, &m, &P, NULL).why,
                     "no model was in force: no alarm was raised");
    v = kpi_compute(KPI_DETECTION_RATE, &m, &P, NULL);
    ck_assert(v.available);
    ck_assert_double_eq(v.value, 0.0);
    ck_assert_ptr_nonnull(v.note);
    m.scored = 13; /* a model scored them and raised nothing: no note */
    ck_assert_ptr_null(kpi_compute(KPI_DETECTION_RATE, &m, &P, NULL).note);
    /* drift: nothing to monitor without a model, a real zero with one */
    kpi_inputs dr;
    memset(&dr, 0, sizeof dr);
    ck_assert(!kpi_compute(KPI_DRIFT_EVENTS, &dr, &P, NULL).available);
    dr.has_drift = true;
    ck_assert(kpi_compute(KPI_DRIFT_EVENTS, &dr, &P, NULL).available);
    /* downtime: ADOT over PBT (day(): 2 h of 24) */
    in = day();
    ck_assert_double_eq_tol(kpi_compute(KPI_DOWNTIME, &in, &P, NULL).value, 2.0 / 24, 1e-12);
    /* the inputs of a window add up: two days give the KPI of both */
    kpi_inputs two = day(), d2 = day();
    d2.apt_s = 10 * 3600.0;
    kpi_inputs_add(&two, &d2);
    ck_assert_double_eq_tol(kpi_compute(KPI_AVAILABILITY, &two, &P, NULL).value, 30.0 / 48,
                            1e-12);
}
END_TEST

/* The operators' verdicts replace the failure_label field in precision
 * (from min_operator_labels verdicts on alarms) and recall (from as many
 * confirmed failures) and not before; never in the false-alarm rate. The
 * terms, the evidence and the source say which was used. */
START_TEST(operator_label_source)
{
    kpi_inputs m;
    memset(&m, 0, sizeof m);
    m.has_labels = true; /* the field: 90 % precision, 3 of 4 failures warned of */
    m.tp = 9;
    m.fp = 1;
    m.fn = 3;
    m.tn = 987;
    m.scored = 1000;
    m.op_tp = 15; /* the operators: 15 confirmed of 29 alarms they judged */
    m.op_fp = 14;
    m.op_scored = 29;
    ck_assert_uint_eq(kpi_min_operator_labels(&P), KPI_MIN_OPERATOR_LABELS);
    ck_assert_uint_eq(KPI_MIN_OPERATOR_LABELS, 30);
    /* 29 verdicts on alarms < 30: still the field */
    ck_assert_str_eq(kpi_label_source(KPI_PRECISION, &m, &P), "failure_label_field");
    ck_assert_double_eq_tol(kpi_compute(KPI_PRECISION, &m, &P, NULL).value, 0.9, 1e-12);
    ck_assert_ptr_null(kpi_label_source(KPI_OEE, &m, &P));
    const char *what;
    ck_assert_uint_eq(kpi_evidence_count(KPI_PRECISION, &m, &P, &what), 1000);
    /* the 30th: precision counts the operators; recall (15 confirmed) not yet */
    m.op_fp = 15;
    m.op_scored = 30;
    ck_assert_str_eq(kpi_label_source(KPI_PRECISION, &m, &P), "operator_labels");
    ck_assert_str_eq(kpi_label_source(KPI_DETECTION_RATE, &m, &P), "failure_label_field");
    kpi_value v = kpi_compute(KPI_PRECISION, &m, &P, NULL);
    ck_assert_double_eq_tol(v.value, 0.5, 1e-12);
    ck_assert_str_eq(v.note, "from the operators' verdicts in the console");
    ck_assert_double_eq_tol(kpi_compute(KPI_DETECTION_RATE, &m, &P, NULL).value, 0.75, 1e-12);
    ck_assert_uint_eq(kpi_evidence_count(KPI_PRECISION, &m, &P, &what), 30);
    ck_assert_str_eq(what, "readings with an operator verdict");
    /* 15 confirmed failures nothing warned of: recall from 30 confirmed */
    m.op_fn = 15;
    ck_assert_str_eq(kpi_label_source(KPI_DETECTION_RATE, &m, &P), "operator_labels");
    ck_assert_double_eq_tol(kpi_compute(KPI_DETECTION_RATE, &m, &P, NULL).value, 0.5, 1e-12);
    /* the false-alarm rate stays the field's, whatever the verdicts */
    m.op_tn = 100;
    ck_assert_str_eq(kpi_label_source(KPI_FALSE_ALARM_RATE, &m, &P), "failure_label_field");
    ck_assert_double_eq_tol(kpi_compute(KPI_FALSE_ALARM_RATE, &m, &P, NULL).value, 1.0 / 988,
                            1e-12);
    kpi_term t[KPI_MAX_TERMS];
    size_t nt = kpi_terms(KPI_PRECISION, &m, &P, NULL, t, KPI_MAX_TERMS);
    ck_assert_uint_eq(nt, 3);
    ck_assert_double_eq(t[0].value, 15);
    ck_assert_double_eq(t[1].value, 30);
    ck_assert_str_eq(t[2].id, "operator_labels");
    ck_assert_double_eq(t[2].value, 145);
    /* a site's own threshold (kpis.json parameters.min_operator_labels) */
    kpi_params p2 = P;
    p2.min_operator_labels = 31;
    ck_assert_str_eq(kpi_label_source(KPI_PRECISION, &m, &p2), "failure_label_field");
    p2.min_operator_labels = 5;
    ck_assert_str_eq(kpi_label_source(KPI_PRECISION, &m, &p2), "operator_labels");
    /* a real plant without failure_label: only verdicts, enough of them */
    kpi_inputs r;
    memset(&r, 0, sizeof r);
    ck_assert(!kpi_compute(KPI_PRECISION, &r, &P, NULL).available);
    r.op_tp = 20;
    r.op_fp = 10;
    r.op_scored = 30;
    ck_assert_double_eq_tol(kpi_compute(KPI_PRECISION, &r, &P, NULL).value, 2.0 / 3, 1e-12);
    ck_assert(!kpi_compute(KPI_DETECTION_RATE, &r, &P, NULL).available); /* 20 confirmed */
    r.op_fn = 10;
    v = kpi_compute(KPI_DETECTION_RATE, &r, &P, NULL);
    ck_assert_double_eq_tol(v.value, 2.0 / 3, 1e-12);
    ck_assert_str_eq(v.note, "from the operators' verdicts in the console");
    /* additive, like every input: two windows of 15 verdicts make 30 */
    kpi_inputs a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.op_tp = 10;
    a.op_fp = 5;
    b.op_tp = 5;
    b.op_fp = 10;
    ck_assert_str_eq(kpi_label_source(KPI_PRECISION, &a, &P), "failure_label_field");
    kpi_inputs_add(&a, &b);
    ck_assert_str_eq(kpi_label_source(KPI_PRECISION, &a, &P), "operator_labels");
    ck_assert_double_eq_tol(kpi_compute(KPI_PRECISION, &a, &P, NULL).value, 0.5, 1e-12);
}
END_TEST

START_TEST(status_and_format)
{
    kpi_def d;
    memset(&d, 0, sizeof d);
    d.format = KPI_FMT_PERCENT;
    d.scale = 100;
    d.decimals = 1;
    d.direction = KPI_DIR_HIGHER;
    d.has_target = true;
    d.target = 0.90;
    kpi_value v = {true, 0.8996, NULL, NULL}; /* shows as 90.0: met */
    ck_assert_str_eq(kpi_status(&d, &v), "met");
    v.value = 0.8994; /* 89.9 */
    ck_assert_str_eq(kpi_status(&d, &v), "missed");
    char s[32];
    kpi_format_value(&d, &v, s, sizeof s);
    ck_assert_str_eq(s, "89.9");
    d.direction = KPI_DIR_LOWER;
    ck_assert_str_eq(kpi_status(&d, &v), "met");
    v.available = false;
    ck_assert_str_eq(kpi_status(&d, &v), "n/a");
    kpi_format_value(&d, &v, s, sizeof s);
    ck_assert_str_eq(s, "n/a");
    d.has_target = false;
    v.available = true;
    ck_assert_str_eq(kpi_status(&d, &v), "no-target");
}
END_TEST

START_TEST(builtin_definitions)
{
    kpi_defs d;
    adt_err e = {0};
    const char *t = kpi_builtin_defs();
    ck_assert_int_eq(kpi_defs_parse(t, strlen(t), "kpis.json", &d, &e), ADT_OK);
    /* every KPI the issue asks for is defined, anchored and has a direction */
    for (int i = 0; i < KPI__COUNT; i++) {
        int k = kpi_defs_find(&d, (kpi_id)i);
        ck_assert_msg(k >= 0, "KPI %s missing from kpis.json", kpi_id_name(i));
        const kpi_def *x = &d.defs[k];
        ck_assert(x->nsensors + x->nmodels + x->nedge > 0);
    }
    int a = kpi_defs_find(&d, KPI_AVAILABILITY);
    ck_assert_ptr_nonnull(strstr(d.defs[a].source, "ISO 22400-2"));
    ck_assert_double_eq_tol(d.defs[a].target, 0.90, 1e-12); /* written as 90 (%) */
    int m = kpi_defs_find(&d, KPI_MTBF);
    ck_assert_double_eq_tol(d.defs[m].target, 12 * 3600.0, 1e-6); /* hours -> seconds */
    ck_assert_double_eq_tol(d.sla_ack_s[KPI_SEV_CRITICAL], 15 * 60.0, 1e-9);
    ck_assert_double_eq_tol(d.params.ideal_cycle_s, 1500.0, 1e-12);
    ck_assert(d.params.has_calendar);
    ck_assert_int_eq(d.params.planned[1][0], 6); /* Monday 06-22 */
    ck_assert_int_eq(d.params.planned[1][1], 22);
    ck_assert_int_eq(d.params.planned[0][1], 0); /* no Sunday shift */
    /* the baseline period, the unit costs and an owner for every KPI */
    ck_assert_str_eq(d.baseline_period, "2026-Q2");
    ck_assert_str_eq(d.currency, "EUR");
    ck_assert(d.has_energy_price && d.has_downtime_cost);
    size_t impact = 0;
    for (size_t i = 0; i < d.n; i++) {
        ck_assert_msg(d.defs[i].activity != NULL, "%s has no RACI activity", d.defs[i].key);
        impact += d.defs[i].impact_kpi;
    }
    ck_assert_uint_ge(impact, 6);
    kpi_defs_free(&d);
}
END_TEST

static void bad(const char *json, const char *expect)
{
    kpi_defs d;
    adt_err e = {0};
    int rc = kpi_defs_parse(json, strlen(json), "t.json", &d, &e);
    ck_assert_int_ne(rc, ADT_OK);
    ck_assert_msg(strstr(e.msg, expect) != NULL, "message '%s' lacks '%s'", e.msg, expect);
}

#define ONE(x)                                                                                   \
    "{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"kpis\":[{\"id\":\"oee\",\"name\":\"n\","  \
    "\"group\":\"g\",\"unit\":\"%\",\"formula\":\"f\",\"source\":\"s\",\"impact\":\"i\","        \
    "\"anchors\":{\"sensors\":[\"state\"]},\"direction\":\"higher\",\"format\":\"percent\"" x "}]}"

START_TEST(definition_errors)
{
    kpi_defs d;
    adt_err e = {0};
    ck_assert_int_eq(kpi_defs_parse(ONE(""), strlen(ONE("")), "t.json", &d, &e), ADT_OK);
    ck_assert_int_eq((int)d.n, 1);
    ck_assert(!d.defs[0].has_target);
    kpi_defs_free(&d);
    bad("{\"format\":", "t.json:1: not valid JSON");
    bad("[1]", "must be an object");
    bad("{\"format\":\"x\"}", "format");
    bad(ONE(",\"target\":\"high\""), "kpis[0] (oee).target: must be a number or null");
    bad(ONE(",\"decimals\":9"), "decimals");
    bad(ONE(",\"headline\":1"), "headline");
    bad(ONE(",\"impact_kpi\":\"yes\""), "impact_kpi");
    bad("{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"baseline\":{\"period\":\"2026-Q9\"},"
        "\"kpis\":[]}",
        "baseline.period");
    bad("{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"value\":{\"currency\":\"euro\"},"
        "\"kpis\":[]}",
        "value.currency");
    bad("{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"value\":{\"currency\":\"EUR\","
        "\"energy_price_per_kwh\":-1},\"kpis\":[]}",
        "value.energy_price_per_kwh");
    bad("{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"kpis\":[{\"id\":\"uptime\"}]}",
        "unknown KPI id \"uptime\"");
    bad("{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"kpis\":[]}", "1 to 64");
    bad("{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"parameters\":{\"min_operator_labels\":0},"
        "\"kpis\":[]}",
        "parameters.min_operator_labels");
    bad("{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"parameters\":{\"min_operator_labels\":2.5},"
        "\"kpis\":[]}",
        "parameters.min_operator_labels");
    bad("{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"parameters\":{\"min_operator_labels\":1e300},"
        "\"kpis\":[]}",
        "parameters.min_operator_labels");
    bad("{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"sla\":{\"ack_minutes\":{\"urgent\":5}},"
        "\"kpis\":[]}",
        "low, medium, high or critical");
    /* anchors are required: a KPI nothing moves is not a KPI */
    const char *noanchor =
        "{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"kpis\":[{\"id\":\"oee\",\"name\":\"n\","
        "\"group\":\"g\",\"unit\":\"%\",\"formula\":\"f\",\"source\":\"s\",\"impact\":\"i\","
        "\"anchors\":{},\"direction\":\"higher\"}]}";
    bad(noanchor, "at least one sensor");
    /* duplicate ids */
    char dup[2048];
    snprintf(dup, sizeof dup, "%s", ONE(""));
    char *k = strstr(dup, "{\"id\"");
    char one[1024];
    size_t n = strlen(k) - 2; /* the object without the closing "]}" */
    memcpy(one, k, n);
    one[n] = 0;
    char two[3000];
    snprintf(two, sizeof two,
             "{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"kpis\":[%s,%s]}", one, one);
    bad(two, "defined twice");
}
END_TEST

START_TEST(calendar)
{
    kpi_params p = {.ideal_cycle_s = 1, .has_calendar = true};
    p.planned[3][0] = 6; /* Wednesday 06:00-22:00 */
    p.planned[3][1] = 22;
    p.planned[4][0] = 6; /* Thursday 06:00-14:00 */
    p.planned[4][1] = 14;
    const int64_t h = 3600LL * 1000000, wed = 1782864000LL * 1000000; /* 2026-07-01, a Wednesday */
    ck_assert_double_eq(kpi_planned_seconds(&p, wed, wed + 12 * h), 6 * 3600.0);
    ck_assert_double_eq(kpi_planned_seconds(&p, wed, wed + 48 * h), (16 + 8) * 3600.0);
    ck_assert_double_eq(kpi_planned_seconds(&p, wed + 23 * h, wed + 30 * h), 0.0);
    ck_assert_double_eq(kpi_planned_seconds(&p, wed + 10 * h, wed + 10 * h), 0.0);
    p.has_calendar = false; /* 24/7 */
    ck_assert_double_eq(kpi_planned_seconds(&p, wed, wed + 12 * h), 12 * 3600.0);
    bad("{\"format\":\"auditd-kpis/1\",\"version\":\"t\",\"parameters\":{\"planned_hours\":"
        "{\"mon\":[22,6]}},\"kpis\":[]}",
        "planned_hours");
}
END_TEST

START_TEST(periods)
{
    rperiod p;
    adt_err e = {0};
    ck_assert_int_eq(rperiod_parse("2026-Q3", &p, &e), ADT_OK);
    /* 2026-07-01T00:00:00Z = 1782864000 */
    ck_assert_int_eq(p.from_us, 1782864000LL * 1000000);
    ck_assert_int_eq(p.to_us, (1782864000LL + 92 * 86400) * 1000000);
    ck_assert_str_eq(p.prev_label, "2026-Q2");
    ck_assert_int_eq(p.prev_to_us, p.from_us);
    ck_assert_int_eq(p.to_us - p.from_us, 92LL * 86400 * 1000000);
    ck_assert_int_eq(rperiod_parse("2026-Q1", &p, &e), ADT_OK);
    ck_assert_str_eq(p.prev_label, "2025-Q4");
    ck_assert_int_eq(rperiod_parse("2024-02", &p, &e), ADT_OK);
    ck_assert_int_eq(p.to_us - p.from_us, 29LL * 86400 * 1000000); /* leap year */
    ck_assert_str_eq(p.prev_label, "2024-01");
    ck_assert_int_eq(rperiod_parse("2026-07-01..2026-09-30", &p, &e), ADT_OK);
    ck_assert_int_eq(p.from_us, 1782864000LL * 1000000);
    ck_assert_int_eq(p.to_us - p.from_us, 92LL * 86400 * 1000000);
    ck_assert_str_eq(p.prev_label, "2026-03-31..2026-06-30");
    ck_assert_int_eq(rperiod_parse("2026-01", &p, &e), ADT_OK);
    ck_assert_str_eq(p.prev_label, "2025-12");
    const char *badp[] = {"2026-Q5", "2026-13", "2026-09-30..2026-07-01", "2026-02-30..2026-03-01",
                          "Q3", "", "2026-Q3 ", "1969-Q1", "2026-7"};
    for (size_t i = 0; i < sizeof badp / sizeof badp[0]; i++)
        ck_assert_msg(rperiod_parse(badp[i], &p, &e) == ADT_EINVAL, "%s accepted", badp[i]);
    ck_assert_ptr_nonnull(strstr(e.msg, "2026-Q3"));
    /* the same windows as the control evaluation's own period parser */
    const char *same[] = {"2026-Q3", "2026-Q1", "2026-07", "2024-02", "2026-07-01..2026-09-30",
                          "2026-12-31..2027-01-01"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        int64_t f, t;
        ck_assert_int_eq(rperiod_parse(same[i], &p, &e), ADT_OK);
        ck_assert_int_eq(controls_parse_period(same[i], &f, &t, &e), ADT_OK);
        ck_assert_msg(f == p.from_us && t == p.to_us, "%s differs from controls", same[i]);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kpi");
    TCase *tc = tcase_create("kpi");
    tcase_add_test(tc, iso22400_formulas);
    tcase_add_test(tc, model_and_governance);
    tcase_add_test(tc, edge_cases);
    tcase_add_test(tc, operator_label_source);
    tcase_add_test(tc, status_and_format);
    tcase_add_test(tc, builtin_definitions);
    tcase_add_test(tc, definition_errors);
    tcase_add_test(tc, calendar);
    tcase_add_test(tc, periods);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
