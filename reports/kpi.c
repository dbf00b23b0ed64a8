/* kpi.c: KPI definition parsing and the pure KPI arithmetic (see kpi.h). */
#include "kpi.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    [KPI_ENERGY_PER_GOOD_UNIT] = "energy_per_good_unit",
    [KPI_ENERGY_REDUCTION] = "energy_reduction",
    [KPI_DETECTION_RATE] = "defect_detection_rate",
    [KPI_PRECISION] = "model_precision",
    [KPI_FALSE_ALARM_RATE] = "false_alarm_rate",
    [KPI_CONTROLS_SATISFIED] = "controls_satisfied",
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
    kpi_value v = {false, 0.0, why};
    return v;
}

static kpi_value ok(double x)
{
    if (!isfinite(x))
        return na("the computation did not give a finite number");
    kpi_value v = {true, x, NULL};
    return v;
}

kpi_value kpi_compute(kpi_id id, const kpi_inputs *in, const kpi_params *p,
                      const double *baseline_epgu)
{
    switch (id) {
    case KPI_AVAILABILITY:
        if (!in->has_time_model)
            return na("no machine state data");
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
            return na("no production counts");
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
            return na("no machine state data");
        if (in->failures == 0)
            return na("no failures in the window");
        return ok(in->apt_s / (double)in->failures);
    case KPI_MTTR:
        if (!in->has_time_model)
            return na("no machine state data");
        if (in->restorations == 0)
            return na("no restored failures in the window");
        return ok(in->ttr_s / (double)in->restorations);
    case KPI_ENERGY_PER_GOOD_UNIT:
        if (!in->has_energy || !in->has_production)
            return na("needs energy readings and production counts");
        if (in->good <= 0)
            return na("no good units in the window");
        return ok(in->energy_kwh / in->good);
    case KPI_ENERGY_REDUCTION: {
        if (!baseline_epgu)
            return na("no energy baseline defined");
        if (*baseline_epgu <= 0)
            return na("the energy baseline is not positive");
        kpi_value e = kpi_compute(KPI_ENERGY_PER_GOOD_UNIT, in, p, NULL);
        if (!e.available)
            return na(e.why);
        return ok((*baseline_epgu - e.value) / *baseline_epgu);
    }
    case KPI_DETECTION_RATE:
        if (!in->has_confusion)
            return na("no labelled predictions");
        if (in->tp + in->fn == 0)
            return na("no actual defects in the window");
        return ok((double)in->tp / (double)(in->tp + in->fn));
    case KPI_PRECISION:
        if (!in->has_confusion)
            return na("no labelled predictions");
        if (in->tp + in->fp == 0)
            return na("the model raised no alarms in the window");
        return ok((double)in->tp / (double)(in->tp + in->fp));
    case KPI_FALSE_ALARM_RATE:
        if (!in->has_confusion)
            return na("no labelled predictions");
        if (in->fp + in->tn == 0)
            return na("no defect-free cases in the window");
        return ok((double)in->fp / (double)(in->fp + in->tn));
    case KPI_CONTROLS_SATISFIED:
        if (!in->has_controls)
            return na("no control evaluation");
        if (in->controls_in_scope == 0)
            return na("no controls in scope");
        return ok((double)in->controls_satisfied / (double)in->controls_in_scope);
    case KPI_OPEN_FINDINGS: {
        if (!in->has_controls)
            return na("no control evaluation");
        uint64_t s = 0;
        for (int i = 0; i < KPI_SEV__COUNT; i++)
            s += in->findings_open[i];
        return ok((double)s);
    }
    case KPI_TIME_TO_ACK:
        if (!in->has_incidents)
            return na("no ledger data");
        if (in->acked == 0)
            return na("no incident was acknowledged in the window");
        return ok(in->ack_s_sum / (double)in->acked);
    case KPI_TIME_TO_RESOLVE:
        if (!in->has_incidents)
            return na("no ledger data");
        if (in->resolved == 0)
            return na("no incident was resolved in the window");
        return ok(in->resolve_s_sum / (double)in->resolved);
    case KPI_RACI_SLA:
        if (!in->has_incidents)
            return na("no ledger data");
        if (in->sla_due == 0)
            return na("no incident with an SLA outcome in the window");
        return ok((double)in->sla_met / (double)in->sla_due);
    case KPI_TELEMETRY_REJECTION:
        if (!in->has_telemetry)
            return na("no telemetry batches");
        if (in->readings_submitted == 0)
            return na("no readings submitted in the window");
        return ok((double)in->readings_rejected / (double)in->readings_submitted);
    case KPI_DRIFT_EVENTS:
        if (!in->has_drift)
            return na("no model under drift monitoring");
        return ok((double)in->drift_events);
    case KPI__COUNT:
        break;
    }
    return na("unknown KPI");
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
    a->has_production |= b->has_production;
    a->produced += b->produced;
    a->good += b->good;
    a->has_energy |= b->has_energy;
    a->energy_kwh += b->energy_kwh;
    a->has_confusion |= b->has_confusion;
    a->tp += b->tp;
    a->fp += b->fp;
    a->fn += b->fn;
    a->tn += b->tn;
    a->has_controls |= b->has_controls;
    a->controls_in_scope += b->controls_in_scope;
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
    a->readings_submitted += b->readings_submitted;
    a->readings_rejected += b->readings_rejected;
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

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
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
    *out = xstrdup(v->valuestring);
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
        a[i] = xstrdup(e->valuestring);
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
        (rc = get_str(c, o, "impact", false, where, &d->impact)))
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

/* 1-based line of byte offset `off` in text. */
static int line_of(const char *text, size_t len, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && i < len; i++)
        if (text[i] == '\n')
            line++;
    return line;
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
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(root, "parameters");
    if (par && !cJSON_IsObject(par)) {
        rc = perr(&c, "parameters", "must be an object");
        goto done;
    }
    const cJSON *ict = par ? cJSON_GetObjectItemCaseSensitive(par, "ideal_cycle_s") : NULL;
    if (ict && (!cJSON_IsNumber(ict) || !(ict->valuedouble > 0) || ict->valuedouble > 86400)) {
        rc = perr(&c, "parameters.ideal_cycle_s", "must be seconds per unit in (0, 86400]");
        goto done;
    }
    d.params.ideal_cycle_s = ict ? ict->valuedouble : 0.0;
    const cJSON *cal = par ? cJSON_GetObjectItemCaseSensitive(par, "planned_hours") : NULL;
    if (cal) {
        static const char *const days[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
        if (!cJSON_IsObject(cal)) {
            rc = perr(&c, "parameters.planned_hours", "must be an object weekday -> [from, to]");
            goto done;
        }
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
                t->valuedouble > 24 || f->valuedouble > t->valuedouble) {
                rc = perr(&c, "parameters.planned_hours",
                          "keys are sun..sat, values [from, to] whole hours with 0 <= from <= to <= 24");
                goto done;
            }
            d.params.planned[wd][0] = (int)f->valuedouble;
            d.params.planned[wd][1] = (int)t->valuedouble;
        }
        d.params.has_calendar = true;
    }
    if ((rc = parse_sla(&c, root, &d)))
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
