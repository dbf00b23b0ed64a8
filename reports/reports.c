/* reports.c: the report document, its renderings, its ledger record and the
 * HTTP endpoint (see reports.h). */
#include "reports.h"

#include "canon.h"
#include "event.h"
#include "kpi.h"
#include "ledger.h"
#include "oscal.h"
#include "rdata.h"
#include "rfc3339.h"

#include <cjson/cJSON.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxslt/security.h>
#include <libxslt/transform.h>
#include <libxslt/xslt.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/xsltutils.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Embedded at build time (reports/CMakeLists.txt generates them). */
extern const char reports_asset_template[];
extern const char reports_asset_kpis[];

const char *reports_builtin_template(void)
{
    return reports_asset_template;
}

const char *reports_builtin_kpis(void)
{
    return reports_asset_kpis;
}

static const struct {
    const char *name, *mime, *ext;
} formats[] = {
    [REPORT_HTML] = {"html", "text/html; charset=utf-8", "html"},
    [REPORT_JSON] = {"json", "application/json", "kpis.json"},
    [REPORT_CSV] = {"csv", "text/csv; charset=utf-8", "kpis.csv"},
    [REPORT_OSCAL_XML] = {"oscal-xml", "application/oscal+xml", "oscal.xml"},
    [REPORT_OSCAL_JSON] = {"oscal-json", "application/oscal+json", "oscal.json"},
    [REPORT_XML] = {"xml", "application/xml", "report.xml"},
};

int report_format_parse(const char *s, report_format *out)
{
    for (size_t i = 0; s && i < sizeof formats / sizeof formats[0]; i++)
        if (!strcmp(s, formats[i].name)) {
            *out = (report_format)i;
            return ADT_OK;
        }
    return ADT_EINVAL;
}

const char *report_format_name(report_format f)
{
    return formats[f].name;
}

const char *report_format_mime(report_format f)
{
    return formats[f].mime;
}

const char *report_format_ext(report_format f)
{
    return formats[f].ext;
}

/* ---- computed values ------------------------------------------------------ */

typedef struct kvals {
    const kpi_defs *defs;
    kpi_value cur[KPI_DEFS_MAX], prev[KPI_DEFS_MAX];
    kpi_value week[KPI_DEFS_MAX][RDATA_MAX_WEEKS];
} kvals;

static void compute_all(const rdata *d, kvals *v)
{
    const kpi_defs *defs = d->defs;
    v->defs = defs;
    int bi = kpi_defs_find(defs, KPI_ENERGY_PER_GOOD_UNIT);
    const double *base = bi >= 0 && defs->defs[bi].has_baseline ? &defs->defs[bi].baseline : NULL;
    for (size_t i = 0; i < defs->n; i++) {
        kpi_id id = defs->defs[i].id;
        v->cur[i] = kpi_compute(id, &d->cur, &defs->params, base);
        v->prev[i] = kpi_compute(id, &d->prev, &defs->params, base);
        for (int w = 0; w < d->nweeks; w++)
            v->week[i][w] = kpi_compute(id, &d->week[w], &defs->params, base);
    }
}

/* ---- XML helpers ---------------------------------------------------------- */

/* Copy `s` with characters XML 1.0 cannot carry replaced by '?', truncated
 * at a UTF-8 boundary to fit. */
static const char *xclean(const char *s, char *tmp, size_t cap)
{
    size_t j = 0;
    for (; s[j] && j + 1 < cap; j++) {
        unsigned char c = (unsigned char)s[j];
        tmp[j] = (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f ? '?' : (char)c;
    }
    if (s[j]) /* truncated: do not end inside a multi-byte sequence */
        while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80)
            j--;
    tmp[j] = 0;
    return tmp;
}

static xmlNodePtr el(xmlNodePtr parent, const char *name, const char *text)
{
    char tmp[4096];
    return xmlNewTextChild(parent, NULL, BAD_CAST name,
                           text ? BAD_CAST xclean(text, tmp, sizeof tmp) : NULL);
}

static void at(xmlNodePtr n, const char *name, const char *val)
{
    char tmp[4096];
    xmlNewProp(n, BAD_CAST name, BAD_CAST xclean(val ? val : "", tmp, sizeof tmp));
}

static void atf(xmlNodePtr n, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void atf(xmlNodePtr n, const char *name, const char *fmt, ...)
{
    char v[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    at(n, name, v);
}

static void atn(xmlNodePtr n, const char *name, double v)
{
    atf(n, name, "%.10g", v);
}

static void atu(xmlNodePtr n, const char *name, uint64_t v)
{
    atf(n, name, "%llu", (unsigned long long)v);
}

static void fmt_time(int64_t us, char *out, size_t cap)
{
    if (!us) {
        snprintf(out, cap, "%s", "");
        return;
    }
    char t[32];
    rfc3339_format_s(us, t, sizeof t);
    snprintf(out, cap, "%s", t);
}

static void fmt_day(int64_t us, char *out, size_t cap)
{
    char t[32];
    rfc3339_format_s(us, t, sizeof t);
    t[10] = 0;
    snprintf(out, cap, "%s", t);
}

/* ---- the report document -------------------------------------------------- */

static double disp(const kpi_def *k, double v)
{
    return v * k->scale;
}

static void kpi_node(xmlNodePtr kpis, const rdata *d, const kvals *v, size_t i)
{
    const kpi_def *k = &d->defs->defs[i];
    const kpi_value *c = &v->cur[i], *p = &v->prev[i];
    xmlNodePtr n = xmlNewChild(kpis, NULL, BAD_CAST "kpi", NULL);
    at(n, "id", k->key);
    at(n, "group", k->group);
    at(n, "unit", k->unit);
    at(n, "format", k->format == KPI_FMT_PERCENT ? "percent" : k->format == KPI_FMT_COUNT ? "count" : "number");
    at(n, "direction", k->direction == KPI_DIR_HIGHER ? "higher" : "lower");
    at(n, "headline", k->headline ? "true" : "false");
    atf(n, "decimals", "%d", k->decimals);
    at(n, "status", kpi_status(k, c));
    at(n, "available", c->available ? "true" : "false");
    char s[64];
    kpi_format_value(k, c, s, sizeof s);
    at(n, "display", s);
    double hi = 0;
    if (c->available) {
        atn(n, "value", c->value);
        atn(n, "display-value", disp(k, c->value));
        hi = fabs(disp(k, c->value));
    } else {
        at(n, "why", c->why);
    }
    if (k->has_target) {
        kpi_value t = {true, k->target, NULL};
        kpi_format_value(k, &t, s, sizeof s);
        at(n, "target", s);
        atn(n, "target-value", disp(k, k->target));
        if (fabs(disp(k, k->target)) > hi)
            hi = fabs(disp(k, k->target));
    }
    if (k->has_baseline) {
        kpi_value b = {true, k->baseline, NULL};
        kpi_format_value(k, &b, s, sizeof s);
        at(n, "baseline", s);
        atn(n, "baseline-value", disp(k, k->baseline));
        if (fabs(disp(k, k->baseline)) > hi)
            hi = fabs(disp(k, k->baseline));
    }
    if (p->available) {
        kpi_format_value(k, p, s, sizeof s);
        at(n, "previous", s);
        atn(n, "previous-value", disp(k, p->value));
        if (fabs(disp(k, p->value)) > hi)
            hi = fabs(disp(k, p->value));
        if (c->available) {
            double delta = disp(k, c->value) - disp(k, p->value);
            atf(n, "delta", "%+.*f", k->decimals, delta);
            bool better = k->direction == KPI_DIR_HIGHER ? delta > 0 : delta < 0;
            at(n, "trend-direction", fabs(delta) < pow(10.0, -k->decimals) / 2 ? "flat" : better ? "better" : "worse");
        }
    }
    /* The bullet chart's scale: 0..100 for percentages, else 0..1.25 x the largest value. */
    double bmax = hi > 0 ? hi * 1.25 : 1.0;
    if (k->format == KPI_FMT_PERCENT && hi >= 40)
        bmax = hi > 100 ? hi * 1.1 : 100.0;
    atn(n, "bullet-max", bmax);
    el(n, "name", k->name);
    el(n, "formula", k->formula);
    el(n, "source", k->source);
    el(n, "impact", k->impact);
    for (size_t j = 0; j < k->nsensors; j++)
        at(el(n, "anchor", k->sensors[j]), "kind", "sensor");
    for (size_t j = 0; j < k->nmodels; j++)
        at(el(n, "anchor", k->models[j]), "kind", "model");
    for (size_t j = 0; j < k->nedge; j++)
        at(el(n, "anchor", k->edge[j]), "kind", "edge");
    xmlNodePtr tr = xmlNewChild(n, NULL, BAD_CAST "trend", NULL);
    double mn = INFINITY, mx = -INFINITY;
    int avail = 0;
    for (int w = 0; w < d->nweeks; w++) {
        const kpi_value *wv = &v->week[i][w];
        xmlNodePtr pt = xmlNewChild(tr, NULL, BAD_CAST "point", NULL);
        atf(pt, "week", "%d", w + 1);
        at(pt, "available", wv->available ? "true" : "false");
        if (wv->available) {
            double x = disp(k, wv->value);
            atn(pt, "value", x);
            avail++;
            if (x < mn)
                mn = x;
            if (x > mx)
                mx = x;
        }
    }
    atf(tr, "points", "%d", avail);
    if (avail) {
        if (k->has_target) {
            double t = disp(k, k->target);
            if (t < mn)
                mn = t;
            if (t > mx)
                mx = t;
        }
        if (mx - mn < 1e-9) {
            mx += 1;
            mn -= 1;
        }
        atn(tr, "min", mn);
        atn(tr, "max", mx);
    }
}

static int sev_rank(const char *s)
{
    int i = kpi_severity_index(s);
    return i < 0 ? KPI_SEV_MEDIUM : i;
}

static int finding_cmp(const void *a, const void *b)
{
    const rdata_finding *x = a, *y = b;
    int r = sev_rank(y->severity) - sev_rank(x->severity);
    if (r)
        return r;
    r = strcmp(x->rule, y->rule);
    return r ? r : (x < y ? -1 : x > y);
}

static int incident_cmp(const void *a, const void *b)
{
    const rdata_incident *x = a, *y = b;
    int r = sev_rank(y->severity) - sev_rank(x->severity);
    if (r)
        return r;
    return x->opened_us < y->opened_us ? -1 : x->opened_us > y->opened_us;
}

#define REPORT_TOP_FINDINGS 25
#define REPORT_TOP_INCIDENTS 40

static xmlDocPtr build_doc(rdata *d, const kvals *v)
{
    char t1[64], t2[64];
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr r = xmlNewNode(NULL, BAD_CAST "report");
    xmlDocSetRootElement(doc, r);
    at(r, "version", "1");
    at(r, "period", d->period.label);
    at(r, "previous-period", d->period.prev_label);
    fmt_day(d->period.from_us, t1, sizeof t1);
    fmt_day(d->period.to_us - 1, t2, sizeof t2);
    at(r, "from", t1);
    at(r, "to", t2);
    at(r, "as-of", d->as_of);
    at(r, "origin", d->origin);
    at(r, "kpi-definitions", d->defs->version);
    at(r, "title", "Industrial AIoT programme: value and compliance report");

    xmlNodePtr wk = xmlNewChild(r, NULL, BAD_CAST "weeks", NULL);
    for (int w = 0; w < d->nweeks; w++) {
        xmlNodePtr n = xmlNewChild(wk, NULL, BAD_CAST "week", NULL);
        int64_t ws = d->period.from_us + (int64_t)w * d->week_len_us;
        int64_t we = w == d->nweeks - 1 ? d->period.to_us : ws + d->week_len_us;
        atf(n, "n", "%d", w + 1);
        fmt_day(ws, t1, sizeof t1);
        fmt_day(we - 1, t2, sizeof t2);
        at(n, "start", t1);
        at(n, "end", t2);
    }

    xmlNodePtr kp = xmlNewChild(r, NULL, BAD_CAST "kpis", NULL);
    int met = 0, missed = 0, na = 0;
    for (size_t i = 0; i < d->defs->n; i++) {
        kpi_node(kp, d, v, i);
        const char *st = kpi_status(&d->defs->defs[i], &v->cur[i]);
        met += !strcmp(st, "met");
        missed += !strcmp(st, "missed");
        na += !strcmp(st, "n/a");
    }
    atf(kp, "met", "%d", met);
    atf(kp, "missed", "%d", missed);
    atf(kp, "not-available", "%d", na);

    /* compliance per framework */
    xmlNodePtr cp = xmlNewChild(r, NULL, BAD_CAST "compliance", NULL);
    at(cp, "available", d->controls ? "true" : "false");
    if (!d->controls)
        at(cp, "problem", d->controls_problem[0] ? d->controls_problem : "no control evaluation");
    static const char *const fwid[2] = {"iso27001", "nist80053"};
    static const char *const fwname[2] = {"ISO/IEC 27001:2022 Annex A", "NIST SP 800-53 Rev. 5"};
    for (int f = 0; f < 2 && d->controls; f++) {
        xmlNodePtr n = xmlNewChild(cp, NULL, BAD_CAST "framework", NULL);
        at(n, "id", fwid[f]);
        at(n, "name", fwname[f]);
        uint64_t tot = d->fw_satisfied[f] + d->fw_not_satisfied[f] + d->fw_not_evaluated[f];
        atu(n, "in-scope", tot);
        atu(n, "satisfied", d->fw_satisfied[f]);
        atu(n, "not-satisfied", d->fw_not_satisfied[f]);
        atu(n, "not-evaluated", d->fw_not_evaluated[f]);
        if (tot)
            atf(n, "share", "%.1f", 100.0 * (double)d->fw_satisfied[f] / (double)tot);
    }

    /* findings */
    xmlNodePtr fs = xmlNewChild(r, NULL, BAD_CAST "findings", NULL);
    uint64_t ftotal = 0;
    for (int s = 0; s < KPI_SEV__COUNT; s++)
        ftotal += d->cur.findings_open[s];
    atu(fs, "total", ftotal);
    for (int s = KPI_SEV__COUNT - 1; s >= 0; s--)
        atu(fs, kpi_severity_names[s], d->cur.findings_open[s]);
    /* One row per rule (a rule can fire many times: the committee needs the
     * problem and its owner once, with how often it occurred). */
    if (d->nfindings)
        qsort(d->findings, d->nfindings, sizeof *d->findings, finding_cmp);
    size_t shown = 0;
    for (size_t i = 0; i < d->nfindings && shown < REPORT_TOP_FINDINGS; i++) {
        const rdata_finding *g = &d->findings[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(d->findings[j].rule, g->rule);
        if (seen)
            continue;
        size_t count = 0;
        for (size_t j = i; j < d->nfindings; j++)
            count += !strcmp(d->findings[j].rule, g->rule);
        xmlNodePtr n = el(fs, "finding", g->message);
        at(n, "framework", g->framework);
        at(n, "control", g->control);
        at(n, "severity", g->severity);
        at(n, "rule", g->rule);
        at(n, "owner", g->owner[0] ? g->owner : "unassigned");
        atu(n, "occurrences", count);
        shown++;
    }

    /* incidents */
    xmlNodePtr in = xmlNewChild(r, NULL, BAD_CAST "incidents", NULL);
    uint64_t opened = 0, sla_met = 0, sla_missed = 0, open_now = 0;
    size_t ncur = 0;
    for (size_t i = 0; i < d->nincidents; i++) {
        const rdata_incident *x = &d->incidents[i];
        if (x->opened_us < d->period.from_us)
            continue;
        d->incidents[ncur++] = *x; /* keep the period's incidents only, in place */
    }
    d->nincidents = ncur;
    if (ncur)
        qsort(d->incidents, ncur, sizeof *d->incidents, incident_cmp);
    for (size_t i = 0; i < ncur; i++) {
        const rdata_incident *x = &d->incidents[i];
        opened++;
        sla_met += x->sla == 1;
        sla_missed += x->sla == 0;
        open_now += !x->resolved_us;
        if (i >= REPORT_TOP_INCIDENTS)
            continue;
        xmlNodePtr n = el(in, "incident", x->summary);
        at(n, "id", x->id);
        at(n, "severity", x->severity);
        at(n, "activity", x->activity);
        at(n, "owner", x->owner[0] ? x->owner : "unassigned");
        atu(n, "ledger-index", x->index);
        fmt_time(x->opened_us, t1, sizeof t1);
        at(n, "opened", t1);
        if (x->acked_us)
            atf(n, "ack-min", "%.0f", (double)(x->acked_us - x->opened_us) / 60e6);
        if (x->resolved_us)
            atf(n, "resolve-min", "%.0f", (double)(x->resolved_us - x->opened_us) / 60e6);
        at(n, "sla", x->sla == 1 ? "met" : x->sla == 0 ? "missed" : "pending");
    }
    atu(in, "opened", opened);
    atu(in, "sla-met", sla_met);
    atu(in, "sla-missed", sla_missed);
    atu(in, "unresolved", open_now);
    atf(in, "shown", "%d", (int)(ncur < REPORT_TOP_INCIDENTS ? ncur : REPORT_TOP_INCIDENTS));
    at(in, "raci-policy", d->raci_version[0] ? d->raci_version : "");
    at(in, "raci-name", d->raci_name);

    /* model inventory */
    xmlNodePtr md = xmlNewChild(r, NULL, BAD_CAST "models", NULL);
    for (size_t i = 0; i < d->ndeploys; i++) {
        const rdata_deploy *x = &d->deploys[i];
        xmlNodePtr n = xmlNewChild(md, NULL, BAD_CAST "model", NULL);
        at(n, "name", x->model);
        at(n, "version", x->version);
        fmt_time(x->time_us, t1, sizeof t1);
        at(n, "deployed", t1);
        at(n, "deployed-by", x->deployed_by);
        at(n, "approved-by", x->approvers[0] ? x->approvers : "none recorded");
        at(n, "change-id", x->change_id);
        at(n, "artifact", x->artifact);
        atu(n, "ledger-index", x->index);
        at(n, "in-force", x->in_force ? "true" : "false");
        if (x->time_us >= d->period.to_us)
            at(n, "after-period", "true");
        if (x->has_metrics && isfinite(x->precision))
            atf(n, "precision", "%.1f", 100 * x->precision);
        if (x->has_metrics && isfinite(x->recall))
            atf(n, "recall", "%.1f", 100 * x->recall);
        atu(n, "predictions", x->predictions);
        atu(n, "positives", x->positives);
    }
    xmlNodePtr lv = xmlNewChild(md, NULL, BAD_CAST "live", NULL);
    at(lv, "available", d->cur.has_confusion ? "true" : "false");
    if (d->scored_model[0])
        at(lv, "model", d->scored_model);
    if (d->excluded_to_us) {
        fmt_time(d->excluded_from_us, t1, sizeof t1);
        fmt_time(d->excluded_to_us, t2, sizeof t2);
        at(lv, "excluded-from", t1);
        at(lv, "excluded-to", t2);
    }
    if (d->cur.has_confusion) {
        atu(lv, "tp", d->cur.tp);
        atu(lv, "fp", d->cur.fp);
        atu(lv, "fn", d->cur.fn);
        atu(lv, "tn", d->cur.tn);
    } else {
        at(lv, "why", d->model_problem[0] ? d->model_problem : "no labelled predictions");
    }

    /* data quality and drift */
    xmlNodePtr dq = xmlNewChild(r, NULL, BAD_CAST "data-quality", NULL);
    at(dq, "available", d->cur.has_telemetry ? "true" : "false");
    atu(dq, "submitted", d->cur.readings_submitted);
    atu(dq, "rejected", d->cur.readings_rejected);
    at(dq, "telemetry-store", d->telemetry_store ? "true" : "false");
    if (d->telemetry_problem[0])
        at(dq, "problem", d->telemetry_problem);
    atu(dq, "readings-read", d->readings_scanned);
    for (size_t i = 0; i < d->nreasons; i++) {
        xmlNodePtr n = xmlNewChild(dq, NULL, BAD_CAST "reason", NULL);
        at(n, "name", d->reasons[i].reason);
        atu(n, "count", d->reasons[i].count);
    }
    xmlNodePtr dr = xmlNewChild(r, NULL, BAD_CAST "drift", NULL);
    atu(dr, "count", d->cur.drift_events);
    atu(dr, "previous", d->prev.drift_events);
    for (size_t i = 0; i < d->ndrift; i++) {
        const rdata_drift *x = &d->drift[i];
        xmlNodePtr n = xmlNewChild(dr, NULL, BAD_CAST "event", NULL);
        at(n, "model", x->model);
        at(n, "feature", x->feature);
        if (isfinite(x->psi))
            atf(n, "psi", "%.3f", x->psi);
        if (isfinite(x->ks))
            atf(n, "ks", "%.3f", x->ks);
        if (isfinite(x->threshold))
            atf(n, "threshold", "%.3f", x->threshold);
        fmt_time(x->time_us, t1, sizeof t1);
        at(n, "time", t1);
        atu(n, "ledger-index", x->index);
    }

    /* ledger integrity */
    xmlNodePtr ig = xmlNewChild(r, NULL, BAD_CAST "integrity", NULL);
    char hex[65];
    rdata_hex(d->root, 32, hex);
    atu(ig, "tree-size", d->tree_size);
    at(ig, "root", hex);
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, d->root, 32, sodium_base64_VARIANT_ORIGINAL);
    at(ig, "root-base64", b64);
    at(ig, "signature", d->checkpoint_verified ? "verified" : "failed");
    at(ig, "key", d->key_line);
    atu(ig, "entries-read", d->entries_scanned);
    el(ig, "checkpoint", d->checkpoint);
    for (size_t i = 0; i < d->nwitnesses; i++) {
        xmlNodePtr wn = xmlNewChild(ig, NULL, BAD_CAST "witness", NULL);
        at(wn, "name", d->witnesses[i].name);
        at(wn, "key", d->witnesses[i].key);
        at(wn, "time", d->witnesses[i].time);
    }
    xmlNodePtr pv = xmlNewChild(ig, NULL, BAD_CAST "previous", NULL);
    at(pv, "present", d->has_prev_report ? "true" : "false");
    if (d->has_prev_report) {
        atu(pv, "ledger-index", d->prev_report_index);
        at(pv, "period", d->prev_report_period);
        at(pv, "format", d->prev_report_format);
        at(pv, "sha256", d->prev_report_sha256);
        atu(pv, "tree-size", d->prev_tree_size);
        rdata_hex(d->prev_root, 32, hex);
        at(pv, "root", hex);
        at(pv, "checkpoint-signature", d->prev_checkpoint_verified ? "verified" : "not-found");
        at(pv, "consistency", d->prev_consistency == 1 ? "proven" : "failed");
        if (d->prev_problem[0])
            at(pv, "problem", d->prev_problem);
    }

    xmlNodePtr so = xmlNewChild(r, NULL, BAD_CAST "signoff", NULL);
    static const char *const roles[] = {"Plant manager", "Information security officer (ISMS owner)",
                                        "Head of data and AI", "Internal audit"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        el(so, "role", roles[i]);
    return doc;
}

/* ---- renderings ------------------------------------------------------------- */

typedef struct xerr {
    char msg[ADT_ERR_MAX];
} xerr;

static void xerr_fn(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xerr_fn(void *ctx, const char *fmt, ...)
{
    xerr *e = ctx;
    size_t n = strlen(e->msg);
    if (n + 1 >= sizeof e->msg)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg + n, sizeof e->msg - n, fmt, ap);
    va_end(ap);
}

static int render_html(xmlDocPtr doc, const char *template_path, buf *out, adt_err *err)
{
    xerr xe = {{0}};
    xmlSetGenericErrorFunc(&xe, xerr_fn);
    xsltSetGenericErrorFunc(&xe, xerr_fn);
    xmlDocPtr sdoc;
    const char *label = template_path ? template_path : "templates/report-html.xsl";
    if (template_path)
        sdoc = xmlReadFile(template_path, NULL, XML_PARSE_NONET);
    else
        sdoc = xmlReadMemory(reports_asset_template, (int)strlen(reports_asset_template),
                             "report-html.xsl", NULL, XML_PARSE_NONET);
    int rc = ADT_OK;
    xsltStylesheetPtr ss = NULL;
    xsltSecurityPrefsPtr sec = NULL;
    xsltTransformContextPtr ctxt = NULL;
    xmlDocPtr res = NULL;
    if (!sdoc) {
        rc = adt_fail(err, ADT_EINVAL, "template %s is not well-formed XML: %s", label, xe.msg);
        goto done;
    }
    ss = xsltParseStylesheetDoc(sdoc);
    if (!ss) {
        xmlFreeDoc(sdoc);
        rc = adt_fail(err, ADT_EINVAL, "template %s is not a valid XSLT stylesheet: %s", label,
                      xe.msg);
        goto done;
    }
    /* Templates may not read or write files or the network. */
    sec = xsltNewSecurityPrefs();
    if (!sec || xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_FILE, xsltSecurityForbid) ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_FILE, xsltSecurityForbid) ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_CREATE_DIRECTORY, xsltSecurityForbid) ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_NETWORK, xsltSecurityForbid) ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_NETWORK, xsltSecurityForbid)) {
        rc = adt_fail(err, ADT_ENOMEM, "cannot set up the XSLT sandbox");
        goto done;
    }
    ctxt = xsltNewTransformContext(ss, doc);
    if (!ctxt || xsltSetCtxtSecurityPrefs(sec, ctxt)) {
        rc = adt_fail(err, ADT_ENOMEM, "cannot set up the XSLT transformation");
        goto done;
    }
    xsltSetCtxtParseOptions(ctxt, XML_PARSE_NONET);
    res = xsltApplyStylesheetUser(ss, doc, NULL, NULL, NULL, ctxt);
    if (!res || ctxt->state != XSLT_STATE_OK) {
        rc = adt_fail(err, ADT_EINVAL, "template %s failed: %s", label,
                      xe.msg[0] ? xe.msg : "transformation error");
        goto done;
    }
    xmlChar *txt = NULL;
    int len = 0;
    if (xsltSaveResultToString(&txt, &len, res, ss) || !txt) {
        rc = adt_fail(err, ADT_EINTERNAL, "serialising the HTML failed");
        goto done;
    }
    if (buf_append(out, txt, (size_t)len))
        rc = adt_fail(err, ADT_ETOOBIG, "the report exceeds %zu bytes", out->max);
    xmlFree(txt);
done:
    if (res)
        xmlFreeDoc(res);
    if (ctxt)
        xsltFreeTransformContext(ctxt);
    if (sec)
        xsltFreeSecurityPrefs(sec);
    if (ss)
        xsltFreeStylesheet(ss);
    xmlSetGenericErrorFunc(NULL, NULL);
    xsltSetGenericErrorFunc(NULL, NULL);
    return rc;
}

static int save_xml(xmlDocPtr doc, buf *out, adt_err *err)
{
    xmlChar *txt = NULL;
    int len = 0;
    xmlDocDumpFormatMemoryEnc(doc, &txt, &len, "UTF-8", 1);
    if (!txt)
        return adt_fail(err, ADT_ENOMEM, "serialising XML failed");
    int rc = buf_append(out, txt, (size_t)len);
    xmlFree(txt);
    return rc ? adt_fail(err, ADT_ETOOBIG, "the report exceeds %zu bytes", out->max) : ADT_OK;
}

static int save_json(cJSON *j, buf *out, adt_err *err)
{
    char *s = cJSON_PrintBuffered(j, 1 << 16, 1);
    if (!s)
        return adt_fail(err, ADT_ENOMEM, "serialising JSON failed");
    int rc = buf_puts(out, s);
    if (!rc)
        rc = buf_putc(out, '\n');
    free(s);
    return rc ? adt_fail(err, ADT_ETOOBIG, "the report exceeds %zu bytes", out->max) : ADT_OK;
}

static cJSON *num_or_null(bool ok, double v)
{
    return ok && isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static int render_json(const rdata *d, const kvals *v, buf *out, adt_err *err)
{
    cJSON *j = cJSON_CreateObject();
    char hex[65];
    rdata_hex(d->root, 32, hex);
    cJSON_AddStringToObject(j, "period", d->period.label);
    cJSON_AddStringToObject(j, "previous_period", d->period.prev_label);
    cJSON_AddStringToObject(j, "as_of", d->as_of);
    cJSON_AddStringToObject(j, "origin", d->origin);
    cJSON_AddNumberToObject(j, "tree_size", (double)d->tree_size);
    cJSON_AddStringToObject(j, "root", hex);
    cJSON_AddStringToObject(j, "kpi_definitions", d->defs->version);
    cJSON *arr = cJSON_AddArrayToObject(j, "kpis");
    for (size_t i = 0; i < d->defs->n; i++) {
        const kpi_def *k = &d->defs->defs[i];
        cJSON *o = cJSON_CreateObject();
        char s[64];
        cJSON_AddStringToObject(o, "id", k->key);
        cJSON_AddStringToObject(o, "name", k->name);
        cJSON_AddStringToObject(o, "group", k->group);
        cJSON_AddStringToObject(o, "unit", k->unit);
        cJSON_AddStringToObject(o, "direction", k->direction == KPI_DIR_HIGHER ? "higher" : "lower");
        cJSON_AddItemToObject(o, "value", num_or_null(v->cur[i].available, disp(k, v->cur[i].value)));
        kpi_format_value(k, &v->cur[i], s, sizeof s);
        cJSON_AddStringToObject(o, "display", s);
        cJSON_AddItemToObject(o, "previous", num_or_null(v->prev[i].available, disp(k, v->prev[i].value)));
        cJSON_AddItemToObject(o, "target", num_or_null(k->has_target, disp(k, k->target)));
        cJSON_AddItemToObject(o, "baseline", num_or_null(k->has_baseline, disp(k, k->baseline)));
        cJSON_AddStringToObject(o, "status", kpi_status(k, &v->cur[i]));
        if (!v->cur[i].available)
            cJSON_AddStringToObject(o, "why", v->cur[i].why);
        cJSON *wk = cJSON_AddArrayToObject(o, "weekly");
        for (int w = 0; w < d->nweeks; w++)
            cJSON_AddItemToArray(wk, num_or_null(v->week[i][w].available, disp(k, v->week[i][w].value)));
        cJSON_AddStringToObject(o, "formula", k->formula);
        cJSON_AddStringToObject(o, "source", k->source);
        cJSON_AddItemToArray(arr, o);
    }
    int rc = save_json(j, out, err);
    cJSON_Delete(j);
    return rc;
}

static int csv_field(buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n"))
        return buf_puts(b, s);
    int rc = buf_putc(b, '"');
    for (; !rc && *s; s++)
        rc = *s == '"' ? buf_puts(b, "\"\"") : buf_putc(b, *s);
    return rc ? rc : buf_putc(b, '"');
}

/* RFC 4180 CSV, CRLF line ends; numbers in display units, empty when n/a. */
static int render_csv(const rdata *d, const kvals *v, buf *out, adt_err *err)
{
    int rc = buf_puts(out, "period,id,name,group,unit,value,previous,target,baseline,status,direction,note\r\n");
    for (size_t i = 0; !rc && i < d->defs->n; i++) {
        const kpi_def *k = &d->defs->defs[i];
        char val[64] = "", prev[64] = "", tgt[64] = "", base[64] = "";
        if (v->cur[i].available)
            kpi_format_value(k, &v->cur[i], val, sizeof val);
        if (v->prev[i].available)
            kpi_format_value(k, &v->prev[i], prev, sizeof prev);
        kpi_value t = {true, k->target, NULL}, b = {true, k->baseline, NULL};
        if (k->has_target)
            kpi_format_value(k, &t, tgt, sizeof tgt);
        if (k->has_baseline)
            kpi_format_value(k, &b, base, sizeof base);
        const char *cols[] = {d->period.label, k->key, k->name, k->group, k->unit, val, prev, tgt,
                              base, kpi_status(k, &v->cur[i]),
                              k->direction == KPI_DIR_HIGHER ? "higher" : "lower",
                              v->cur[i].available ? "" : v->cur[i].why};
        for (size_t c = 0; !rc && c < sizeof cols / sizeof cols[0]; c++) {
            if (c)
                rc = buf_putc(out, ',');
            if (!rc)
                rc = csv_field(out, cols[c]);
        }
        if (!rc)
            rc = buf_puts(out, "\r\n");
    }
    return rc ? adt_fail(err, ADT_ETOOBIG, "the report exceeds %zu bytes", out->max) : ADT_OK;
}

/* ---- issuing ------------------------------------------------------------------ */

static int load_defs(const report_opts *o, kpi_defs *defs, adt_err *err)
{
    if (o->kpis_path)
        return kpi_defs_load(o->kpis_path, defs, err);
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/kpis.json", o->data_dir) < (int)sizeof path &&
        stat(path, &st) == 0)
        return kpi_defs_load(path, defs, err);
    return kpi_defs_parse(reports_asset_kpis, strlen(reports_asset_kpis),
                          "built-in reports/kpis.json", defs, err);
}

static int record(const report_opts *o, const char *period, const report_issued *is,
                  uint64_t *index, adt_err *err)
{
    buf j, canon;
    buf_init(&j, 4096);
    buf_init(&canon, 4096);
    char now[40];
    rfc3339_format(rfc3339_now_us(), now, sizeof now);
    int rc = buf_puts(&j, "{\"type\":\"report.issued\",\"time\":");
    rc = rc ? rc : canon_put_string(&j, now, strlen(now));
    rc = rc ? rc : buf_puts(&j, ",\"actor\":");
    const char *actor = o->actor && *o->actor ? o->actor : "auditd";
    rc = rc ? rc : canon_put_string(&j, actor, strlen(actor));
    rc = rc ? rc : buf_puts(&j, ",\"period\":");
    rc = rc ? rc : canon_put_string(&j, period, strlen(period));
    rc = rc ? rc
            : buf_printf(&j, ",\"format\":\"%s\",\"sha256\":\"%s\",\"tree_size\":%llu,\"root\":\"%s\"}",
                         report_format_name(o->format), is->sha256,
                         (unsigned long long)is->tree_size, is->root);
    if (rc) {
        buf_free(&j);
        return adt_fail(err, ADT_EINTERNAL, "building the report.issued event failed");
    }
    event_info info;
    rc = event_validate(j.data, j.len, NULL, &canon, &info, err);
    buf_free(&j);
    if (rc) {
        buf_free(&canon);
        return rc;
    }
    ledger *lg = NULL;
    rc = ledger_open(o->data_dir, LEDGER_RDWR, &lg, err);
    if (!rc) {
        ledger_item it = {"auditd:reports", "report.issued", canon.data, canon.len, NULL, 0, false,
                          EVENT_WRITER_AUDITD};
        ledger_commit cm;
        rc = ledger_append(lg, &it, 1, &cm, err);
        if (!rc)
            *index = cm.first;
        ledger_close(lg);
    }
    buf_free(&canon);
    return rc;
}

int reports_record(const report_opts *o, report_issued *issued, const char *period,
                   adt_err *err)
{
    rperiod per;
    int rc = rperiod_parse(period, &per, err);
    if (rc)
        return rc;
    rc = record(o, per.label, issued, &issued->index, err);
    if (!rc)
        issued->recorded = true;
    return rc;
}

int reports_generate(const report_opts *o, buf *out, report_issued *issued, adt_err *err)
{
    rperiod per;
    int rc = rperiod_parse(o->period, &per, err);
    if (rc)
        return rc;
    if ((unsigned)o->format > REPORT_XML)
        return adt_fail(err, ADT_EINVAL, "unknown report format");
    kpi_defs defs;
    rc = load_defs(o, &defs, err);
    if (rc)
        return rc;
    rdata *d = NULL;
    rdata_opts ro = {o->at_size, o->skip_controls, false};
    rc = rdata_collect(o->data_dir, &per, &defs, &ro, &d, err);
    if (rc) {
        kpi_defs_free(&defs);
        return rc;
    }
    kvals *v = calloc(1, sizeof *v);
    if (!v) {
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
        goto done;
    }
    compute_all(d, v);
    size_t start = out->len;
    switch (o->format) {
    case REPORT_JSON:
        rc = render_json(d, v, out, err);
        break;
    case REPORT_CSV:
        rc = render_csv(d, v, out, err);
        break;
    case REPORT_HTML:
    case REPORT_XML: {
        xmlDocPtr doc = build_doc(d, v);
        rc = o->format == REPORT_XML ? save_xml(doc, out, err)
                                     : render_html(doc, o->template_path, out, err);
        xmlFreeDoc(doc);
        break;
    }
    case REPORT_OSCAL_XML:
    case REPORT_OSCAL_JSON: {
        ledger *lg = NULL;
        rc = ledger_open(o->data_dir, LEDGER_RDONLY, &lg, err);
        if (rc)
            break;
        if (o->format == REPORT_OSCAL_XML) {
            xmlDocPtr doc = NULL;
            rc = oscal_build_xml(d, lg, &doc, err);
            if (!rc)
                rc = oscal_check_xml(doc, err);
            if (!rc)
                rc = save_xml(doc, out, err);
            if (doc)
                xmlFreeDoc(doc);
        } else {
            cJSON *j = NULL;
            rc = oscal_build_json(d, lg, &j, err);
            if (!rc)
                rc = oscal_check_json(j, err);
            if (!rc)
                rc = save_json(j, out, err);
            cJSON_Delete(j);
        }
        ledger_close(lg);
        break;
    }
    }
    if (rc)
        goto done;
    report_issued is;
    memset(&is, 0, sizeof is);
    uint8_t h[32];
    crypto_hash_sha256(h, (const unsigned char *)out->data + start, out->len - start);
    rdata_hex(h, 32, is.sha256);
    rdata_hex(d->root, 32, is.root);
    is.tree_size = d->tree_size;
    if (o->record) {
        rc = record(o, per.label, &is, &is.index, err);
        if (rc) {
            adt_err_prefix(err, "the report was produced but could not be recorded in the ledger");
            out->len = start;
            out->data[start] = 0;
            goto done;
        }
        is.recorded = true;
    }
    if (issued)
        *issued = is;
done:
    free(v);
    rdata_free(d);
    kpi_defs_free(&defs);
    return rc;
}

/* ---- HTTP --------------------------------------------------------------------- */

int reports_api(const char *data_dir, const api_request *req, api_response *resp)
{
    static const char prefix[] = "/v1/reports/";
    if (!req->path || strncmp(req->path, prefix, sizeof prefix - 1))
        return ADT_ENOTFOUND;
    const char *period = req->path + sizeof prefix - 1;
    if (strcmp(req->method, "GET"))
        return api_error(resp, 405, "method_not_allowed", "use GET /v1/reports/{period}?format=...");
    if (req->role != API_ROLE_AUDITOR && req->role != API_ROLE_ADMIN)
        return api_error(resp, 403, "forbidden", "reports need an auditor or admin token");
    if (!*period || strchr(period, '/'))
        return api_error(resp, 404, "not_found",
                         "use /v1/reports/{period}, e.g. /v1/reports/2026-Q3");
    const char *fmt = api_param_get(req, "format");
    report_format f = REPORT_HTML;
    if (fmt && report_format_parse(fmt, &f))
        return api_error(resp, 400, "invalid",
                         "format must be html, json, csv, oscal-xml, oscal-json or xml");
    report_opts o = {0};
    o.data_dir = data_dir;
    o.period = period;
    o.format = f;
    o.record = true;
    o.actor = req->principal && *req->principal ? req->principal : "auditd";
    adt_err err = {0};
    report_issued is;
    buf_reset(&resp->body);
    int rc = reports_generate(&o, &resp->body, &is, &err);
    if (rc) {
        buf_reset(&resp->body);
        return api_error(resp, api_status_for(rc), adt_status_name(rc), "%s", err.msg);
    }
    resp->status = 200;
    resp->content_type = report_format_mime(f);
    return ADT_OK;
}
