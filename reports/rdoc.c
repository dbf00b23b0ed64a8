/* rdoc.c: a report's computed content and its documents (see rdoc.h). */
#include "rdoc.h"

#include "rfc3339.h"

#include <ctype.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- computed values -------------------------------------------------------- */

enum { BASE_NONE = 0, BASE_MEASURED, BASE_STATED };

typedef struct kres {
    kpi_value cur, prev, base;
    int base_src;              /* BASE_* */
    kpi_value week[RDATA_MAX_WEEKS], pweek[RDATA_MAX_WEEKS];
    /* what the change against the baseline was worth (energy, downtime) */
    bool has_worth;
    double worth;              /* currency; > 0 a saving */
    double quantity;           /* kWh saved or hours avoided (negative: more) */
    const char *quantity_unit; /* "kWh", "h" */
    char basis[320];
} kres;

#define MAX_SENTENCES 40

typedef struct sentence {
    const char *kind;          /* improved, worse, flat, worth, missed, na, info */
    char text[512];
} sentence;

struct rdoc {
    const kpi_defs *defs;
    kres k[KPI_DEFS_MAX];
    bool has_base_epgu;
    double base_epgu;          /* energy per good unit of the baseline (computed units) */
    int base_epgu_src;
    double worth_energy, worth_downtime;
    bool has_worth_energy, has_worth_downtime;
    sentence s[MAX_SENTENCES];
    size_t ns;
};

static double disp(const kpi_def *k, double v)
{
    return v * k->scale;
}

/* Numbers for people: thousands separators, fixed decimals. */
static void fmt_num(double v, int decimals, char *out, size_t cap)
{
    char raw[40];
    if (!isfinite(v) || fabs(v) >= 1e15) {
        snprintf(out, cap, "%g", v);
        return;
    }
    snprintf(raw, sizeof raw, "%.*f", decimals < 0 ? 0 : decimals > 6 ? 6 : decimals, fabs(v));
    const char *dot = strchr(raw, '.');
    size_t ilen = dot ? (size_t)(dot - raw) : strlen(raw);
    char tmp[40];
    size_t j = 0;
    if (v < 0 && strspn(raw, "0.") != strlen(raw))
        tmp[j++] = '-';
    for (size_t i = 0; i < ilen && j + 2 < sizeof tmp; i++) {
        tmp[j++] = raw[i];
        size_t left = ilen - i - 1;
        if (left && left % 3 == 0)
            tmp[j++] = ',';
    }
    if (dot)
        for (const char *p = dot; *p && j + 1 < sizeof tmp; p++)
            tmp[j++] = *p;
    tmp[j] = 0;
    snprintf(out, cap, "%s", tmp);
}

/* A KPI value as shown, with its unit ("88.1 %", "41 min", "3.632 kWh per good unit"). */
static void fmt_with_unit(const kpi_def *k, double v, char *out, size_t cap)
{
    char n[64];
    fmt_num(disp(k, v), k->format == KPI_FMT_COUNT ? 0 : k->decimals, n, sizeof n);
    if (k->format == KPI_FMT_COUNT)
        snprintf(out, cap, "%s", n);
    else if (!strcmp(k->unit, "kWh/unit"))
        snprintf(out, cap, "%s kWh per good unit", n);
    else
        snprintf(out, cap, "%s %s", n, k->unit);
}

static void compute_worth(const rdata *d, rdoc *r)
{
    const kpi_defs *defs = d->defs;
    if (d->has_base && d->base_alias == 1)
        return; /* the baseline against itself is worth nothing by definition */
    for (size_t i = 0; i < defs->n; i++) {
        const kpi_def *k = &defs->defs[i];
        kres *x = &r->k[i];
        if (k->id == KPI_ENERGY_PER_GOOD_UNIT && defs->has_energy_price && x->cur.available &&
            r->has_base_epgu && d->cur.good > 0) {
            x->quantity = (r->base_epgu - x->cur.value) * d->cur.good;
            x->quantity_unit = "kWh";
            x->worth = x->quantity * defs->energy_price;
            x->has_worth = true;
            char q[40], base[40], cur[40], price[40];
            fmt_num(d->cur.good, 0, q, sizeof q);
            fmt_num(r->base_epgu, 3, base, sizeof base);
            fmt_num(x->cur.value, 3, cur, sizeof cur);
            fmt_num(defs->energy_price, 3, price, sizeof price);
            snprintf(x->basis, sizeof x->basis,
                     "(%s - %s kWh per good unit) x %s good units x %s %s per kWh", base, cur, q,
                     price, defs->currency);
            r->worth_energy = x->worth;
            r->has_worth_energy = true;
        }
        if (k->id == KPI_DOWNTIME && defs->has_downtime_cost && x->cur.available &&
            x->base_src != BASE_NONE && d->cur.pbt_s > 0) {
            double pbt_h = d->cur.pbt_s / 3600.0;
            x->quantity = (x->base.value - x->cur.value) * pbt_h;
            x->quantity_unit = "h";
            x->worth = x->quantity * defs->downtime_cost;
            x->has_worth = true;
            char a[40], b[40], c[40], e[40];
            fmt_num(100 * x->base.value, 1, a, sizeof a);
            fmt_num(100 * x->cur.value, 1, b, sizeof b);
            fmt_num(pbt_h, 0, c, sizeof c);
            fmt_num(defs->downtime_cost, 0, e, sizeof e);
            snprintf(x->basis, sizeof x->basis,
                     "(%s %% - %s %% of planned time) x %s planned hours x %s %s per hour", a, b,
                     c, e, defs->currency);
            r->worth_downtime = x->worth;
            r->has_worth_downtime = true;
        }
    }
}

static void say(rdoc *r, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(rdoc *r, const char *kind, const char *fmt, ...)
{
    if (r->ns >= MAX_SENTENCES)
        return;
    sentence *s = &r->s[r->ns++];
    s->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->text, sizeof s->text, fmt, ap);
    va_end(ap);
}

/* The change from `from` to `to` in words: "+3.9 points", "-56.4 %". */
static void fmt_change(const kpi_def *k, double from, double to, char *out, size_t cap)
{
    char n[40];
    if (k->format == KPI_FMT_PERCENT) {
        fmt_num(disp(k, to - from), k->decimals, n, sizeof n);
        snprintf(out, cap, "%s%s points", to >= from ? "+" : "", n);
    } else if (from != 0) {
        fmt_num(100.0 * (to - from) / fabs(from), 1, n, sizeof n);
        snprintf(out, cap, "%s%s %%", to >= from ? "+" : "", n);
    } else {
        fmt_num(disp(k, to - from), k->decimals, n, sizeof n);
        snprintf(out, cap, "%s%s", to >= from ? "+" : "", n);
    }
}

static const char *owner_of(const rdata *d, size_t i, char *obuf, size_t cap)
{
    const kpi_def *k = &d->defs->defs[i];
    if (d->kpi_owner[i][0] && d->kpi_owner_name[i][0])
        snprintf(obuf, cap, "%s (%s), Accountable for %s", d->kpi_owner_name[i], d->kpi_owner[i],
                 k->activity);
    else if (d->kpi_owner[i][0])
        snprintf(obuf, cap, "%s, Accountable for %s", d->kpi_owner[i], k->activity);
    else if (k->activity)
        snprintf(obuf, cap, "the Accountable for %s (not in the RACI policy)", k->activity);
    else
        snprintf(obuf, cap, "no owner: the KPI names no RACI activity");
    return obuf;
}

/* The executive summary in plain words: what improved against the baseline
 * and by how much, what it was worth, what missed its target and who owns it. */
static void summarise(const rdata *d, rdoc *r)
{
    const kpi_defs *defs = d->defs;
    const char *blabel = d->has_base ? d->base.label : "the stated baseline";
    if (d->has_base && d->base_alias == 1) {
        say(r, "info", "%s is the baseline period of the KPI definitions: its values are what "
                       "the programme will be measured against.",
            d->period.label);
        for (size_t i = 0; i < defs->n; i++) {
            const kpi_def *k = &defs->defs[i];
            const kres *x = &r->k[i];
            if (!k->impact_kpi)
                continue;
            char now[96];
            if (x->cur.available)
                fmt_with_unit(k, x->cur.value, now, sizeof now);
            say(r, "info", "%s: %s%s%s%s.", k->name, x->cur.available ? now : "not available (",
                x->cur.available ? "" : x->cur.why, x->cur.available ? "" : ")",
                x->cur.available && x->cur.note ? " (no model was in force)" : "");
        }
        goto missed;
    }
    for (size_t i = 0; i < defs->n; i++) {
        const kpi_def *k = &defs->defs[i];
        const kres *x = &r->k[i];
        if (!k->impact_kpi)
            continue;
        if (!x->cur.available) {
            say(r, "na", "%s: not available for %s (%s).", k->name, d->period.label, x->cur.why);
            continue;
        }
        char now[96];
        fmt_with_unit(k, x->cur.value, now, sizeof now);
        if (x->base_src == BASE_NONE) {
            say(r, "info", "%s: %s in %s; no baseline to compare with.", k->name, now,
                d->period.label);
            continue;
        }
        char was[96], ch[96];
        fmt_with_unit(k, x->base.value, was, sizeof was);
        fmt_change(k, x->base.value, x->cur.value, ch, sizeof ch);
        double delta = disp(k, x->cur.value - x->base.value);
        bool flat = fabs(delta) < pow(10.0, -k->decimals) / 2;
        bool better = k->direction == KPI_DIR_HIGHER ? delta > 0 : delta < 0;
        const char *verb = flat ? "held at" : (delta > 0 ? "rose" : "fell");
        char src[128];
        snprintf(src, sizeof src, "%s %s", x->base_src == BASE_MEASURED ? "measured in" : "stated as",
                 x->base_src == BASE_MEASURED ? blabel : "the baseline");
        if (flat)
            say(r, "flat", "%s held at %s (baseline %s, %s).", k->name, now, was, src);
        else
            say(r, better ? "improved" : "worse", "%s %s from %s (baseline, %s) to %s (%s).",
                k->name, verb, was, src, now, ch);
        if (x->has_worth) {
            char q[64], w[64];
            fmt_num(fabs(x->quantity), 0, q, sizeof q);
            fmt_num(fabs(x->worth), 0, w, sizeof w);
            say(r, "worth", "That is %s %s %s, %s %s %s (%s).", q, x->quantity_unit,
                x->quantity >= 0
                    ? (!strcmp(x->quantity_unit, "h") ? "of unplanned downtime avoided"
                                                      : "of energy saved")
                    : (!strcmp(x->quantity_unit, "h") ? "more unplanned downtime"
                                                      : "more energy used"),
                x->worth >= 0 ? "worth" : "costing", defs->currency, w, x->basis);
        }
    }
    if (r->has_worth_energy || r->has_worth_downtime) {
        char w[64];
        double tot = (r->has_worth_energy ? r->worth_energy : 0) +
                     (r->has_worth_downtime ? r->worth_downtime : 0);
        fmt_num(fabs(tot), 0, w, sizeof w);
        say(r, "worth", "Together: %s %s %s in %s against the baseline, at the unit costs in the "
                        "KPI definitions.",
            defs->currency, w, tot >= 0 ? "saved" : "lost", d->period.label);
    }
missed:
    for (size_t i = 0; i < defs->n; i++) {
        const kpi_def *k = &defs->defs[i];
        const kres *x = &r->k[i];
        if (strcmp(kpi_status(k, &x->cur), "missed"))
            continue;
        char now[96], tgt[96], own[300];
        fmt_with_unit(k, x->cur.value, now, sizeof now);
        kpi_value t = {true, k->target, NULL, NULL};
        fmt_with_unit(k, t.value, tgt, sizeof tgt);
        say(r, "missed", "Missed: %s at %s against a target of %s; owner %s.", k->name, now, tgt,
            owner_of(d, i, own, sizeof own));
    }
}

int rdoc_compute(const rdata *d, rdoc **out, adt_err *err)
{
    rdoc *r = calloc(1, sizeof *r);
    if (!r)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    const kpi_defs *defs = d->defs;
    r->defs = defs;
    const kpi_inputs *bin = rdata_base(d);
    /* The energy baseline: measured in the baseline period, else stated. */
    int ei = kpi_defs_find(defs, KPI_ENERGY_PER_GOOD_UNIT);
    if (bin) {
        kpi_value b = kpi_compute(KPI_ENERGY_PER_GOOD_UNIT, bin, &defs->params, NULL);
        if (b.available) {
            r->has_base_epgu = true;
            r->base_epgu = b.value;
            r->base_epgu_src = BASE_MEASURED;
        }
    }
    if (!r->has_base_epgu && ei >= 0 && defs->defs[ei].has_baseline) {
        r->has_base_epgu = true;
        r->base_epgu = defs->defs[ei].baseline;
        r->base_epgu_src = BASE_STATED;
    }
    const double *be = r->has_base_epgu ? &r->base_epgu : NULL;
    for (size_t i = 0; i < defs->n && i < KPI_DEFS_MAX; i++) {
        const kpi_def *k = &defs->defs[i];
        kres *x = &r->k[i];
        x->cur = kpi_compute(k->id, &d->cur, &defs->params, be);
        x->prev = kpi_compute(k->id, &d->prev, &defs->params, be);
        if (bin) {
            x->base = kpi_compute(k->id, bin, &defs->params, be);
            if (x->base.available)
                x->base_src = BASE_MEASURED;
        }
        if (x->base_src == BASE_NONE && k->has_baseline) {
            x->base = (kpi_value){true, k->baseline, NULL, NULL};
            x->base_src = BASE_STATED;
        }
        if (k->id == KPI_ENERGY_REDUCTION && x->base_src == BASE_MEASURED && bin)
            x->base.note = "zero by definition: the baseline against itself";
        for (int w = 0; w < d->nweeks; w++)
            x->week[w] = kpi_compute(k->id, &d->week[w], &defs->params, be);
        for (int w = 0; w < d->nprev_weeks; w++)
            x->pweek[w] = kpi_compute(k->id, &d->pweek[w], &defs->params, be);
    }
    compute_worth(d, r);
    summarise(d, r);
    *out = r;
    return ADT_OK;
}

void rdoc_free(rdoc *r)
{
    free(r);
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

static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* "2 Jul" */
static void fmt_short_day(int64_t us, char *out, size_t cap)
{
    int64_t day = us >= 0 ? us / 86400000000LL : (us - 86399999999LL) / 86400000000LL;
    int64_t y;
    int m, dd;
    rfc3339_civil_from_days(day, &y, &m, &dd);
    snprintf(out, cap, "%d %s", dd, months[(m - 1) % 12]);
}

/* "2 Jul 2026, 06:00 UTC" */
static void fmt_when(int64_t us, char *out, size_t cap)
{
    if (!us) {
        snprintf(out, cap, "%s", "");
        return;
    }
    int64_t day = us >= 0 ? us / 86400000000LL : (us - 86399999999LL) / 86400000000LL;
    int64_t y;
    int m, dd;
    rfc3339_civil_from_days(day, &y, &m, &dd);
    int64_t sec = (us - day * 86400000000LL) / 1000000;
    snprintf(out, cap, "%d %s %lld, %02d:%02d UTC", dd, months[(m - 1) % 12], (long long)y,
             (int)(sec / 3600), (int)(sec / 60 % 60));
}

/* ---- the report document -------------------------------------------------- */

/* Nice axis ticks over [mn, mx]: 3 to 6 round values. */
static void ticks(double mn, double mx, double *lo, double *hi, double *step, int *decimals)
{
    if (!(mx > mn)) {
        double pad = fabs(mn) > 0 ? fabs(mn) * 0.05 : 1;
        mn -= pad;
        mx += pad;
    }
    double raw = (mx - mn) / 4;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag, nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    *step = nice * mag;
    *lo = floor(mn / *step) * *step;
    *hi = ceil(mx / *step) * *step;
    if (*hi - *lo < *step)
        *hi = *lo + *step;
    int dec = (int)ceil(-log10(*step));
    if (nice == 2.5)
        dec++;
    *decimals = dec < 0 ? 0 : dec > 6 ? 6 : dec;
}

static int64_t week_start(const rdata *d, bool prev, int w)
{
    return (prev ? d->period.prev_from_us : d->period.from_us) + (int64_t)w * d->week_len_us;
}

static int64_t week_end(const rdata *d, bool prev, int w)
{
    int n = prev ? d->nprev_weeks : d->nweeks;
    return w == n - 1 ? (prev ? d->period.prev_to_us : d->period.to_us)
                      : week_start(d, prev, w) + d->week_len_us;
}

static void value_attrs(xmlNodePtr n, const kpi_def *k, const kpi_value *v, const char *prefix)
{
    char name[64], s[64];
    if (v->available) {
        kpi_format_value(k, v, s, sizeof s);
        snprintf(name, sizeof name, "%s", prefix);
        at(n, name, s);
        snprintf(name, sizeof name, "%s-value", prefix);
        atn(n, name, disp(k, v->value));
        if (v->note) {
            snprintf(name, sizeof name, "%s-note", prefix);
            at(n, name, v->note);
        }
    } else {
        snprintf(name, sizeof name, "%s-why", prefix);
        at(n, name, v->why);
    }
}

static const char *change_direction(const kpi_def *k, double delta)
{
    if (fabs(delta) < pow(10.0, -k->decimals) / 2)
        return "flat";
    bool better = k->direction == KPI_DIR_HIGHER ? delta > 0 : delta < 0;
    return better ? "better" : "worse";
}

static void trend_node(xmlNodePtr n, const rdata *d, const kpi_def *k, const kres *x)
{
    xmlNodePtr tr = xmlNewChild(n, NULL, BAD_CAST "trend", NULL);
    double mn = INFINITY, mx = -INFINITY;
    int avail = 0, pavail = 0;
    char lab[32];
    for (int pass = 0; pass < 2; pass++) {
        bool prev = pass == 0;
        int nw = prev ? d->nprev_weeks : d->nweeks;
        for (int w = 0; w < nw; w++) {
            const kpi_value *wv = prev ? &x->pweek[w] : &x->week[w];
            xmlNodePtr pt = xmlNewChild(tr, NULL, BAD_CAST "point", NULL);
            at(pt, "period", prev ? "previous" : "current");
            atf(pt, "week", "%d", w + 1);
            atf(pt, "x", "%d", prev ? w : d->nprev_weeks + w);
            int64_t ws = week_start(d, prev, w), we = week_end(d, prev, w);
            fmt_short_day(ws, lab, sizeof lab);
            at(pt, "label", lab);
            double days = (double)(we - ws) / 86400e6;
            atf(pt, "days", "%g", days);
            bool partial = days < 6.999 && d->week_len_us >= 7LL * 86400000000LL;
            at(pt, "partial", partial ? "true" : "false");
            at(pt, "available", wv->available ? "true" : "false");
            if (!wv->available)
                continue;
            double v = disp(k, wv->value);
            atn(pt, "value", v);
            char s[64];
            kpi_format_value(k, wv, s, sizeof s);
            at(pt, "display", s);
            if (prev)
                pavail++;
            else
                avail++;
            if (v < mn)
                mn = v;
            if (v > mx)
                mx = v;
        }
    }
    atf(tr, "points", "%d", avail);
    atf(tr, "previous-points", "%d", pavail);
    if (avail + pavail == 0)
        return;
    if (k->has_target) {
        double t = disp(k, k->target);
        mn = t < mn ? t : mn;
        mx = t > mx ? t : mx;
    }
    if (x->base_src != BASE_NONE) {
        double b = disp(k, x->base.value);
        mn = b < mn ? b : mn;
        mx = b > mx ? b : mx;
    }
    /* the data's range, padded; a non-negative measure never below zero, a
     * share never above 100 % */
    double data_max = mx, pad = (mx - mn) * 0.1;
    mn = mn - pad < 0 && mn >= 0 ? 0 : mn - pad;
    mx += pad;
    if (k->format == KPI_FMT_PERCENT && data_max <= 100 && mx > 100)
        mx = 100;
    double lo, hi, step;
    int dec;
    ticks(mn, mx, &lo, &hi, &step, &dec);
    if (k->format == KPI_FMT_PERCENT && data_max <= 100 && hi > 100)
        hi = 100;
    atn(tr, "min", lo);
    atn(tr, "max", hi);
    for (double t = lo; t <= hi + step / 1e6 && t <= lo + 12 * step; t += step) {
        xmlNodePtr tk = xmlNewChild(tr, NULL, BAD_CAST "tick", NULL);
        atn(tk, "value", t);
        char s[64];
        snprintf(s, sizeof s, "%.*f", dec, t);
        at(tk, "label", s);
    }
}

/* A KPI's words: name, formula, source, impact, evidence, label source, anchors. */
static void kpi_words(xmlNodePtr n, const rdata *d, const kpi_def *k)
{
    el(n, "name", k->name);
    el(n, "formula", k->formula);
    el(n, "source", k->source);
    el(n, "impact", k->impact);
    const char *what = "";
    uint64_t cnt = kpi_evidence_count(k->id, &d->cur, &d->defs->params, &what);
    xmlNodePtr ev = el(n, "evidence", kpi_evidence(k->id));
    atu(ev, "count", cnt);
    at(ev, "what", what);
    const char *ls = kpi_label_source(k->id, &d->cur, &d->defs->params);
    if (ls)
        at(n, "label-source", ls);
    for (size_t j = 0; j < k->nsensors; j++)
        at(el(n, "anchor", k->sensors[j]), "kind", "sensor");
    for (size_t j = 0; j < k->nmodels; j++)
        at(el(n, "anchor", k->models[j]), "kind", "model");
    for (size_t j = 0; j < k->nedge; j++)
        at(el(n, "anchor", k->edge[j]), "kind", "edge");
}

/* A KPI's terms: its numerator, denominator and inputs in the period. */
static void kpi_terms_node(xmlNodePtr n, const rdata *d, const rdoc *r, const kpi_def *k)
{
    kpi_term terms[KPI_MAX_TERMS];
    size_t nt = kpi_terms(k->id, &d->cur, &d->defs->params, r->has_base_epgu ? &r->base_epgu : NULL,
                          terms, KPI_MAX_TERMS);
    for (size_t j = 0; j < nt; j++) {
        xmlNodePtr t = xmlNewChild(n, NULL, BAD_CAST "term", NULL);
        at(t, "id", terms[j].id);
        at(t, "name", terms[j].name);
        at(t, "unit", terms[j].unit);
        at(t, "role", terms[j].role == KPI_TERM_NUMERATOR     ? "numerator"
                      : terms[j].role == KPI_TERM_DENOMINATOR ? "denominator"
                                                              : "input");
        if (isfinite(terms[j].value)) {
            atn(t, "value", terms[j].value);
            char v[64];
            bool whole = terms[j].value == floor(terms[j].value) && fabs(terms[j].value) < 1e15;
            fmt_num(terms[j].value, whole ? 0 : fabs(terms[j].value) < 10 ? 3 : 1, v, sizeof v);
            at(t, "display", v);
        }
    }
}

/* What a KPI's change is worth, when it has a price. */
static void kpi_worth_node(xmlNodePtr n, const rdata *d, const kres *x)
{
    if (x->has_worth) {
        xmlNodePtr w = xmlNewChild(n, NULL, BAD_CAST "worth", NULL);
        atn(w, "amount", x->worth);
        char v[64];
        fmt_num(x->worth, 0, v, sizeof v);
        at(w, "display", v);
        at(w, "currency", d->defs->currency);
        atn(w, "quantity", x->quantity);
        fmt_num(x->quantity, 0, v, sizeof v);
        at(w, "quantity-display", v);
        at(w, "quantity-unit", x->quantity_unit);
        at(w, "basis", x->basis);
    }
}

static void kpi_node(xmlNodePtr kpis, const rdata *d, const rdoc *r, size_t i)
{
    const kpi_def *k = &d->defs->defs[i];
    const kres *x = &r->k[i];
    const kpi_value *c = &x->cur;
    xmlNodePtr n = xmlNewChild(kpis, NULL, BAD_CAST "kpi", NULL);
    at(n, "id", k->key);
    at(n, "group", k->group);
    at(n, "unit", k->unit);
    at(n, "format", k->format == KPI_FMT_PERCENT ? "percent"
                    : k->format == KPI_FMT_COUNT ? "count"
                                                 : "number");
    at(n, "direction", k->direction == KPI_DIR_HIGHER ? "higher" : "lower");
    at(n, "headline", k->headline ? "true" : "false");
    at(n, "impact-kpi", k->impact_kpi ? "true" : "false");
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
        if (c->note)
            at(n, "note", c->note);
    } else {
        at(n, "why", c->why);
    }
    if (k->has_target) {
        kpi_value t = {true, k->target, NULL, NULL};
        kpi_format_value(k, &t, s, sizeof s);
        at(n, "target", s);
        atn(n, "target-value", disp(k, k->target));
        hi = fabs(disp(k, k->target)) > hi ? fabs(disp(k, k->target)) : hi;
    }
    value_attrs(n, k, &x->prev, "previous");
    if (x->prev.available) {
        hi = fabs(disp(k, x->prev.value)) > hi ? fabs(disp(k, x->prev.value)) : hi;
        if (c->available) {
            double delta = disp(k, c->value) - disp(k, x->prev.value);
            atf(n, "delta", "%+.*f", k->decimals, delta);
            at(n, "trend-direction", change_direction(k, delta));
        }
    }
    if (x->base_src != BASE_NONE) {
        value_attrs(n, k, &x->base, "baseline");
        at(n, "baseline-source", x->base_src == BASE_MEASURED ? "measured" : "stated");
        if (x->base_src == BASE_MEASURED)
            at(n, "baseline-period", d->base.label);
        hi = fabs(disp(k, x->base.value)) > hi ? fabs(disp(k, x->base.value)) : hi;
        if (c->available) {
            double delta = disp(k, c->value) - disp(k, x->base.value);
            atf(n, "delta-baseline", "%+.*f", k->decimals, delta);
            at(n, "baseline-direction", change_direction(k, delta));
            char ch[96];
            fmt_change(k, x->base.value, c->value, ch, sizeof ch);
            at(n, "change-baseline", ch);
        }
    } else if (d->has_base) {
        at(n, "baseline-why", rdata_base(d) ? kpi_compute(k->id, rdata_base(d), &d->defs->params,
                                                         NULL).why
                                            : "no baseline");
    }
    if (d->kpi_owner[i][0]) {
        at(n, "owner", d->kpi_owner[i]);
        at(n, "owner-name", d->kpi_owner_name[i][0] ? d->kpi_owner_name[i] : d->kpi_owner[i]);
    }
    if (k->activity)
        at(n, "owner-activity", k->activity);
    /* The bullet chart's scale: 0..100 for percentages, else 0..1.25 x the largest value. */
    double bmax = hi > 0 ? hi * 1.25 : 1.0;
    if (k->format == KPI_FMT_PERCENT && hi >= 40)
        bmax = hi > 100 ? hi * 1.1 : 100.0;
    atn(n, "bullet-max", bmax);
    kpi_words(n, d, k);
    kpi_terms_node(n, d, r, k);
    kpi_worth_node(n, d, x);
    trend_node(n, d, k, x);
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
    if (r)
        return r;
    return x->time_us < y->time_us ? -1 : x->time_us > y->time_us;
}

static int incident_cmp(const void *a, const void *b)
{
    const rdata_incident *x = a, *y = b;
    int r = sev_rank(y->severity) - sev_rank(x->severity);
    if (r)
        return r;
    return x->opened_us < y->opened_us ? -1 : x->opened_us > y->opened_us;
}

/* Event types in words, for findings. */
static const struct {
    const char *type, *words;
} type_words[] = {
    {"change.request", "change request"},     {"change.approve", "approval"},
    {"change.consult", "consultation"},       {"firmware.deploy", "firmware deployment"},
    {"firmware.scan", "firmware scan"},       {"model.deploy", "model deployment"},
    {"model.register", "model registration"}, {"notify.inform", "notification"},
    {"incident.open", "incident"},            {"incident.ack", "acknowledgement"},
    {"incident.resolve", "resolution"},       {"incident.review", "post-incident review"},
    {"alert.raise", "alert"},                 {"alert.ack", "acknowledgement"},
    {"access.grant", "access grant"},         {"access.revoke", "access revocation"},
    {"access.review", "access review"},       {"principal.depart", "departure"},
    {"backup.taken", "backup"},               {"backup.restore_test", "restore test"},
    {"ledger.verify", "ledger verification"}, {"telemetry.batch", "telemetry batch"},
};

/* A duration of `sec` seconds in words ("16 h", "2 d 4 h", "45 min"). */
static void fmt_duration(long long sec, char *out, size_t cap)
{
    long long d = sec / 86400, h = sec / 3600 % 24, m = sec / 60 % 60;
    if (d && h)
        snprintf(out, cap, "%lld d %lld h", d, h);
    else if (d)
        snprintf(out, cap, "%lld d", d);
    else if (h && m)
        snprintf(out, cap, "%lld h %lld min", h, m);
    else if (h)
        snprintf(out, cap, "%lld h", h);
    else
        snprintf(out, cap, "%lld min", m ? m : 1);
}

/* A bounded text being written; a piece that does not fit whole is dropped. */
typedef struct words {
    char *s;
    size_t cap, len;
} words;

static void words_put(words *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void words_put(words *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->s + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < w->cap - w->len)
        w->len += (size_t)n;
}

/* Whether p, inside msg, starts a word. */
static bool word_start(const char *msg, const char *p)
{
    return p == msg || !isalnum((unsigned char)p[-1]);
}

/* The rules of humanize: each looks at p (inside msg) and, when its text
 * starts there, writes its rendering and returns where the text ends;
 * else NULL. */

/* " at index N", " (index N)", "index N": N goes to the references. */
static const char *index_ref(const char *msg, const char *p, words *refs)
{
    const char *q = NULL;
    size_t skip = 0;
    if (!strncmp(p, " at index ", 10))
        q = p + 10, skip = 10;
    else if (!strncmp(p, " (index ", 8))
        q = p + 8, skip = 8;
    else if (!strncmp(p, "index ", 6) && word_start(msg, p))
        q = p + 6, skip = 6;
    if (!q || !isdigit((unsigned char)*q))
        return NULL;
    const char *e = q;
    while (isdigit((unsigned char)*e))
        e++;
    words_put(refs, "%s%.*s", refs->len ? ", " : "", (int)(e - q), q);
    if (skip == 8 && *e == ')')
        e++;
    return e;
}

/* "57600 s" as a duration in words. */
static const char *seconds(const char *msg, const char *p, words *out)
{
    if (!isdigit((unsigned char)*p) || !word_start(msg, p))
        return NULL;
    const char *e = p;
    while (isdigit((unsigned char)*e))
        e++;
    if (strncmp(e, " s", 2) || isalnum((unsigned char)e[2]) || e - p >= 12)
        return NULL;
    char dur[48];
    fmt_duration(strtoll(p, NULL, 10), dur, sizeof dur);
    words_put(out, "%s", dur);
    return e + 2;
}

/* An RFC 3339 time "2026-07-01T00:00:00Z" in words. */
static const char *time_words(const char *p, words *out)
{
    int64_t tus;
    const char *z = NULL;
    if (!(isdigit((unsigned char)*p) && strlen(p) >= 20 && p[4] == '-' && p[10] == 'T' &&
          (z = strchr(p, 'Z')) && z - p <= 32 &&
          rfc3339_parse(p, (size_t)(z - p + 1), &tus) == ADT_OK))
        return NULL;
    char w[48];
    fmt_when(tus, w, sizeof w);
    words_put(out, "%s", w);
    return z + 1;
}

/* A digest: the first 12 hex digits are enough to recognise it. */
static const char *digest(const char *msg, const char *p, words *out)
{
    size_t hx = strspn(p, "0123456789abcdef");
    if (hx < 32 || !word_start(msg, p))
        return NULL;
    words_put(out, "%.12s...", p);
    return p + hx;
}

/* A compact duration "1d16h" / "8h00m" in words. */
static const char *compact_duration(const char *msg, const char *p, words *out)
{
    if (!isdigit((unsigned char)*p) || !word_start(msg, p))
        return NULL;
    const char *e = p;
    long long part[4] = {0, 0, 0, 0}; /* d h m s */
    int units = 0;
    while (isdigit((unsigned char)*e)) {
        const char *u = e;
        while (isdigit((unsigned char)*u))
            u++;
        const char *k = strchr("dhms", *u);
        if (!*u || !k || u - e > 6)
            break;
        part[k - "dhms"] = strtoll(e, NULL, 10);
        units++;
        e = u + 1;
    }
    if (!units || isalnum((unsigned char)*e))
        return NULL;
    char w[64] = "";
    static const char *const un[4] = {"d", "h", "min", "s"};
    size_t wl = 0;
    for (int u = 0; u < 4; u++)
        if (part[u] && wl < sizeof w)
            wl += (size_t)snprintf(w + wl, sizeof w - wl, "%s%lld %s", wl ? " " : "", part[u],
                                   un[u]);
    words_put(out, "%s", wl ? w : "0 min");
    return e;
}

/* An event type name ("change.approve") in words. */
static const char *type_name(const char *msg, const char *p, words *out)
{
    for (size_t t = 0; t < sizeof type_words / sizeof type_words[0]; t++) {
        size_t tl = strlen(type_words[t].type);
        if (!strncmp(p, type_words[t].type, tl) && !isalnum((unsigned char)p[tl]) &&
            p[tl] != '_' && word_start(msg, p)) {
            words_put(out, "%s", type_words[t].words);
            return p + tl;
        }
    }
    return NULL;
}

/* A finding's message for people: ledger references ("at index 2901",
 * "(index 2896)") move to `refs`, event type names become words, seconds
 * become durations, a leading RACI finding kind ("raci.self_approval: ") goes. */
static void humanize(const char *msg, char *out, size_t cap, char *refs, size_t rcap)
{
    words o = {out, cap, 0}, r = {refs, rcap, strlen(refs)};
    const char *p = msg;
    if (!strncmp(p, "raci.", 5)) {
        const char *c = strstr(p, ": ");
        if (c && c - p < 48)
            p = c + 2;
    }
    while (*p && o.len + 1 < cap) {
        const char *e;
        if ((e = index_ref(msg, p, &r)) || (e = seconds(msg, p, &o)) || (e = time_words(p, &o)) ||
            (e = digest(msg, p, &o)) || (e = compact_duration(msg, p, &o)) ||
            (e = type_name(msg, p, &o)))
            p = e;
        else
            out[o.len++] = *p++;
    }
    out[o.len] = 0;
    /* capital first letter */
    if (o.len && islower((unsigned char)out[0]))
        out[0] = (char)toupper((unsigned char)out[0]);
}

#define REPORT_TOP_FINDINGS 25
#define REPORT_TOP_INCIDENTS 40

static void period_attrs(xmlNodePtr r, const char *prefix, const char *label, int64_t from,
                         int64_t to)
{
    char name[64], t[32];
    snprintf(name, sizeof name, "%s", prefix);
    at(r, name, label);
    snprintf(name, sizeof name, "%s-from", prefix);
    fmt_day(from, t, sizeof t);
    at(r, name, t);
    snprintf(name, sizeof name, "%s-to", prefix);
    fmt_day(to - 1, t, sizeof t);
    at(r, name, t);
}

/* the report element: its period, windows, date and definitions */
static void xml_head(xmlNodePtr r, const rdata *d)
{
    char t1[64], t2[64];
    at(r, "version", "2");
    at(r, "period", d->period.label);
    fmt_day(d->period.from_us, t1, sizeof t1);
    fmt_day(d->period.to_us - 1, t2, sizeof t2);
    at(r, "from", t1);
    at(r, "to", t2);
    period_attrs(r, "previous-period", d->period.prev_label, d->period.prev_from_us,
                 d->period.prev_to_us);
    if (d->has_base) {
        period_attrs(r, "baseline-period", d->base.label, d->base.from_us, d->base.to_us);
        if (d->defs->baseline_note)
            at(r, "baseline-note", d->defs->baseline_note);
    }
    if (d->has_base && d->base_alias == 1)
        at(r, "period-is-baseline", "true");
    at(r, "as-of", d->as_of);
    fmt_when(d->as_of_us, t1, sizeof t1);
    at(r, "issued", t1);
    at(r, "checkpoint-recorded", d->checkpoint_recorded);
    at(r, "origin", d->origin);
    if (d->defs->site)
        at(r, "site", d->defs->site);
    at(r, "kpi-definitions", d->defs->version);
    at(r, "currency", d->defs->currency);
    at(r, "title", "Industrial AIoT programme: value and compliance report");
}

/* the trend charts' weeks (previous period, then the period) and markers */
static void xml_timeline(xmlNodePtr r, const rdata *d)
{
    char t1[64], t2[64];
    xmlNodePtr wk = xmlNewChild(r, NULL, BAD_CAST "weeks", NULL);
    for (int pass = 0; pass < 2; pass++) {
        bool prev = pass == 0;
        xmlNodePtr parent = prev ? xmlNewChild(r, NULL, BAD_CAST "previous-weeks", NULL) : wk;
        int nw = prev ? d->nprev_weeks : d->nweeks;
        for (int w = 0; w < nw; w++) {
            xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST "week", NULL);
            int64_t ws = week_start(d, prev, w), we = week_end(d, prev, w);
            atf(n, "n", "%d", w + 1);
            fmt_day(ws, t1, sizeof t1);
            fmt_day(we - 1, t2, sizeof t2);
            at(n, "start", t1);
            at(n, "end", t2);
            atf(n, "days", "%g", (double)(we - ws) / 86400e6);
            fmt_short_day(ws, t1, sizeof t1);
            at(n, "label", t1);
            at(n, "partial",
               (double)(we - ws) / 86400e6 < 6.999 && d->week_len_us >= 7LL * 86400000000LL
                   ? "true"
                   : "false");
        }
    }
    atf(r, "timeline-weeks", "%d", d->nprev_weeks + d->nweeks);
    xmlNodePtr mk = xmlNewChild(r, NULL, BAD_CAST "markers", NULL);
    for (size_t i = 0; i < d->nmarkers; i++) {
        xmlNodePtr m = xmlNewChild(mk, NULL, BAD_CAST "marker", NULL);
        /* position on the trend charts' x axis, in weeks from the previous
         * period's start (0 .. timeline-weeks) */
        double x = d->markers[i].time_us < d->period.from_us
                       ? (double)(d->markers[i].time_us - d->period.prev_from_us) /
                             (double)d->week_len_us
                       : d->nprev_weeks + (double)(d->markers[i].time_us - d->period.from_us) /
                                              (double)d->week_len_us;
        atf(m, "x", "%.3f", x);
        fmt_short_day(d->markers[i].time_us, t1, sizeof t1);
        at(m, "date", t1);
        at(m, "label", d->markers[i].label);
    }
}

/* the summary sentences and the KPI table */
static void xml_summary_kpis(xmlNodePtr r, const rdata *d, const rdoc *rv)
{
    char t1[64];
    xmlNodePtr sm = xmlNewChild(r, NULL, BAD_CAST "summary", NULL);
    for (size_t i = 0; i < rv->ns; i++)
        at(el(sm, "sentence", rv->s[i].text), "kind", rv->s[i].kind);
    if (rv->has_worth_energy || rv->has_worth_downtime) {
        double tot = (rv->has_worth_energy ? rv->worth_energy : 0) +
                     (rv->has_worth_downtime ? rv->worth_downtime : 0);
        atn(sm, "worth", tot);
        fmt_num(tot, 0, t1, sizeof t1);
        at(sm, "worth-display", t1);
    }

    xmlNodePtr kp = xmlNewChild(r, NULL, BAD_CAST "kpis", NULL);
    int met = 0, missed = 0, na = 0;
    for (size_t i = 0; i < d->defs->n; i++) {
        kpi_node(kp, d, rv, i);
        const char *st = kpi_status(&d->defs->defs[i], &rv->k[i].cur);
        met += !strcmp(st, "met");
        missed += !strcmp(st, "missed");
        na += !strcmp(st, "n/a");
    }
    atf(kp, "met", "%d", met);
    atf(kp, "missed", "%d", missed);
    atf(kp, "not-available", "%d", na);
}

/* compliance per framework, with coverage */
static void xml_compliance(xmlNodePtr r, const rdata *d)
{
    /* compliance per framework, with coverage: how many in-scope controls
     * have an evidence rule at all */
    xmlNodePtr cp = xmlNewChild(r, NULL, BAD_CAST "compliance", NULL);
    at(cp, "available", d->controls ? "true" : "false");
    if (!d->controls)
        at(cp, "problem", d->controls_problem[0] ? d->controls_problem : "no control evaluation");
    atu(cp, "in-scope", d->cur.controls_in_scope);
    atu(cp, "with-rules", d->cur.controls_with_rules);
    atu(cp, "satisfied", d->cur.controls_satisfied);
    static const char *const fwid[2] = {"iso27001", "nist80053"};
    static const char *const fwname[2] = {"ISO/IEC 27001:2022 Annex A", "NIST SP 800-53 Rev. 5"};
    for (int f = 0; f < 2 && d->controls; f++) {
        const rdata_posture *p = &d->posture[f];
        xmlNodePtr n = xmlNewChild(cp, NULL, BAD_CAST "framework", NULL);
        at(n, "id", fwid[f]);
        at(n, "name", fwname[f]);
        atu(n, "in-scope", p->in_scope);
        atu(n, "with-rules", p->with_rules);
        atu(n, "satisfied", p->satisfied);
        atu(n, "not-satisfied", p->not_satisfied);
        atu(n, "no-evidence", p->no_evidence);
        atu(n, "no-rules", p->in_scope - p->with_rules);
        atu(n, "not-evaluated", p->in_scope - p->satisfied - p->not_satisfied);
        if (p->in_scope)
            atf(n, "share", "%.1f", 100.0 * (double)p->satisfied / (double)p->in_scope);
        if (p->with_rules)
            atf(n, "share-ruled", "%.1f", 100.0 * (double)p->satisfied / (double)p->with_rules);
    }
}

/* findings, one row per rule, in words (sorts d->findings) */
static void xml_findings(xmlNodePtr r, rdata *d)
{
    char t1[64];
    /* findings, one row per rule, in words */
    xmlNodePtr fs = xmlNewChild(r, NULL, BAD_CAST "findings", NULL);
    uint64_t ftotal = 0;
    for (int s = 0; s < KPI_SEV__COUNT; s++)
        ftotal += d->cur.findings_open[s];
    atu(fs, "total", ftotal);
    for (int s = KPI_SEV__COUNT - 1; s >= 0; s--)
        atu(fs, kpi_severity_names[s], d->cur.findings_open[s]);
    if (d->nfindings)
        qsort(d->findings, d->nfindings, sizeof *d->findings, finding_cmp);
    size_t shown = 0;
    for (size_t i = 0; i < d->nfindings && shown < REPORT_TOP_FINDINGS; i++) {
        const rdata_finding *g = &d->findings[i];
        if (i > 0 && !strcmp(d->findings[i - 1].rule, g->rule))
            continue; /* sorted: the first of each rule is its earliest */
        size_t count = 0;
        char refs[512] = "";
        size_t ro = 0;
        for (size_t j = i; j < d->nfindings && !strcmp(d->findings[j].rule, g->rule); j++) {
            count++;
            if (d->findings[j].has_index && ro + 24 < sizeof refs) {
                int w = snprintf(refs + ro, sizeof refs - ro, "%s%llu", ro ? ", " : "",
                                 (unsigned long long)d->findings[j].index);
                if (w > 0)
                    ro += (size_t)w;
            }
        }
        char text[1024], more[512] = "";
        humanize(g->message, text, sizeof text, more, sizeof more);
        xmlNodePtr n = el(fs, "finding", text);
        at(n, "framework", g->framework);
        at(n, "control", g->control);
        at(n, "severity", g->severity);
        at(n, "rule", g->rule);
        at(n, "what", g->title[0] ? g->title : g->rule);
        at(n, "owner", g->owner[0] ? g->owner : "unassigned");
        atu(n, "occurrences", count);
        fmt_when(g->time_us, t1, sizeof t1);
        at(n, "when", t1);
        at(n, "ledger-entries", refs);
        at(n, "mentioned-entries", more);
        at(n, "original", g->message);
        shown++;
    }
}

/* incidents of the period (keeps only those in d->incidents, sorted) */
static void xml_incidents(xmlNodePtr r, rdata *d)
{
    char t1[64];
    /* incidents of the period */
    xmlNodePtr in = xmlNewChild(r, NULL, BAD_CAST "incidents", NULL);
    uint64_t opened = 0, sla_met = 0, sla_missed = 0, open_now = 0;
    size_t ncur = 0;
    for (size_t i = 0; i < d->nincidents; i++) {
        const rdata_incident *x = &d->incidents[i];
        if (x->opened_us < d->period.from_us || x->opened_us >= d->period.to_us)
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
        fmt_when(x->opened_us, t1, sizeof t1);
        at(n, "opened-words", t1);
        if (x->acked_us) {
            atf(n, "ack-min", "%.0f", (double)(x->acked_us - x->opened_us) / 60e6);
            fmt_duration((x->acked_us - x->opened_us) / 1000000, t1, sizeof t1);
            at(n, "ack-words", t1);
        }
        if (x->resolved_us) {
            atf(n, "resolve-min", "%.0f", (double)(x->resolved_us - x->opened_us) / 60e6);
            fmt_duration((x->resolved_us - x->opened_us) / 1000000, t1, sizeof t1);
            at(n, "resolve-words", t1);
        }
        at(n, "sla", x->sla == 1 ? "met" : x->sla == 0 ? "missed" : "pending");
    }
    atu(in, "opened", opened);
    atu(in, "sla-met", sla_met);
    atu(in, "sla-missed", sla_missed);
    atu(in, "unresolved", open_now);
    atf(in, "shown", "%d", (int)(ncur < REPORT_TOP_INCIDENTS ? ncur : REPORT_TOP_INCIDENTS));
    at(in, "raci-policy", d->raci_version[0] ? d->raci_version : "");
    at(in, "raci-name", d->raci_name);
}

/* model inventory, live outcomes and the operators' verdicts */
static void xml_models(xmlNodePtr r, const rdata *d)
{
    char t1[64];
    /* model inventory */
    xmlNodePtr md = xmlNewChild(r, NULL, BAD_CAST "models", NULL);
    for (size_t i = 0; i < d->ndeploys; i++) {
        const rdata_deploy *x = &d->deploys[i];
        xmlNodePtr n = xmlNewChild(md, NULL, BAD_CAST "model", NULL);
        at(n, "name", x->model);
        at(n, "version", x->version);
        fmt_time(x->time_us, t1, sizeof t1);
        at(n, "deployed", t1);
        fmt_when(x->time_us, t1, sizeof t1);
        at(n, "deployed-words", t1);
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
    at(lv, "available", d->cur.has_labels ? "true" : "false");
    if (d->scored_models[0])
        at(lv, "model", d->scored_models);
    if (d->cur.has_labels) {
        atu(lv, "tp", d->cur.tp);
        atu(lv, "fp", d->cur.fp);
        atu(lv, "fn", d->cur.fn);
        atu(lv, "tn", d->cur.tn);
        atu(lv, "labelled", d->cur.tp + d->cur.fp + d->cur.fn + d->cur.tn);
        atu(lv, "scored", d->cur.scored);
        if (d->model_problem[0])
            at(lv, "problem", d->model_problem);
    } else {
        at(lv, "why", d->model_problem[0] ? d->model_problem : "no labelled readings");
    }
    /* the operators' verdicts of the period, and which KPIs count them */
    const kpi_params *kpar = &d->defs->params;
    const kpi_inputs *ci = &d->cur;
    xmlNodePtr op = xmlNewChild(md, NULL, BAD_CAST "operator-labels", NULL);
    atu(op, "verdicts", ci->op_tp + ci->op_fp + ci->op_fn + ci->op_tn);
    atu(op, "tp", ci->op_tp);
    atu(op, "fp", ci->op_fp);
    atu(op, "fn", ci->op_fn);
    atu(op, "tn", ci->op_tn);
    atu(op, "min", kpi_min_operator_labels(kpar));
    at(op, "precision-source", kpi_label_source(KPI_PRECISION, ci, kpar));
    at(op, "recall-source", kpi_label_source(KPI_DETECTION_RATE, ci, kpar));
}

/* data quality and drift */
static void xml_data_quality(xmlNodePtr r, const rdata *d)
{
    char t1[64];
    /* data quality: every reading counted once, by reading time */
    xmlNodePtr dq = xmlNewChild(r, NULL, BAD_CAST "data-quality", NULL);
    const kpi_inputs *c = &d->cur;
    at(dq, "available", c->has_telemetry && c->received ? "true" : "false");
    atu(dq, "received", c->received);
    atu(dq, "accepted", c->received - c->quarantined);
    atu(dq, "quarantined", c->quarantined);
    atu(dq, "recovered", c->recovered);
    atu(dq, "still-quarantined", c->quarantined - c->recovered);
    if (c->received) {
        atf(dq, "rate", "%.2f", 100.0 * (double)c->quarantined / (double)c->received);
        double after = 100.0 * (double)(c->quarantined - c->recovered) / (double)c->received;
        atf(dq, "rate-after-replay", "%.*f", after > 0 && after < 0.1 ? 3 : 2, after);
    }
    atu(dq, "telemetry-batches", d->telemetry_batches);
    at(dq, "telemetry-store", d->telemetry_store ? "true" : "false");
    if (d->telemetry_problem[0])
        at(dq, "problem", d->telemetry_problem);
    atu(dq, "readings-read", d->readings_scanned);
    for (size_t i = 0; i < d->nreasons; i++) {
        xmlNodePtr n = xmlNewChild(dq, NULL, BAD_CAST "reason", NULL);
        at(n, "name", d->reasons[i].reason);
        atu(n, "count", d->reasons[i].count);
        atu(n, "still", d->reasons[i].still);
        atu(n, "recovered", d->reasons[i].count - d->reasons[i].still);
    }
    xmlNodePtr dr = xmlNewChild(r, NULL, BAD_CAST "drift", NULL);
    at(dr, "monitored", d->cur.has_drift ? "true" : "false");
    atu(dr, "count", d->cur.drift_events);
    if (d->prev.has_drift)
        atu(dr, "previous", d->prev.drift_events);
    for (size_t i = 0; i < d->ndrift; i++) {
        const rdata_drift *x = &d->drift[i];
        xmlNodePtr n = xmlNewChild(dr, NULL, BAD_CAST "event", NULL);
        at(n, "model", x->model);
        at(n, "version", x->version);
        at(n, "feature", x->feature);
        if (isfinite(x->psi))
            atf(n, "psi", "%.3f", x->psi);
        if (isfinite(x->ks))
            atf(n, "ks", "%.3f", x->ks);
        if (isfinite(x->threshold))
            atf(n, "threshold", "%.3f", x->threshold);
        fmt_time(x->time_us, t1, sizeof t1);
        at(n, "time", t1);
        fmt_when(x->time_us, t1, sizeof t1);
        at(n, "when", t1);
        atu(n, "ledger-index", x->index);
    }
}

/* ledger integrity, witnesses and the previous report */
static void xml_integrity(xmlNodePtr r, const rdata *d)
{
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
    at(ig, "recorded", d->checkpoint_recorded);
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
}

/* the sign-off roles */
static void xml_signoff(xmlNodePtr r)
{
    xmlNodePtr so = xmlNewChild(r, NULL, BAD_CAST "signoff", NULL);
    static const char *const roles[] = {"Plant manager", "Information security officer (ISMS owner)",
                                        "Head of data and AI", "Internal audit"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        el(so, "role", roles[i]);
}

xmlDocPtr rdoc_build_xml(rdata *d, const rdoc *rv)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr r = xmlNewNode(NULL, BAD_CAST "report");
    xmlDocSetRootElement(doc, r);
    xml_head(r, d);
    xml_timeline(r, d);
    xml_summary_kpis(r, d, rv);
    xml_compliance(r, d);
    xml_findings(r, d);
    xml_incidents(r, d);
    xml_models(r, d);
    xml_data_quality(r, d);
    xml_integrity(r, d);
    xml_signoff(r);
    return doc;
}

/* ---- the KPI data document (JSON) ------------------------------------------ */

static cJSON *num_or_null(bool ok, double v)
{
    return ok && isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *str_or_null(const char *s)
{
    return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *period_json(const char *label, int64_t from, int64_t to)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];
    cJSON_AddStringToObject(o, "label", label);
    fmt_day(from, t, sizeof t);
    cJSON_AddStringToObject(o, "from", t);
    fmt_day(to - 1, t, sizeof t);
    cJSON_AddStringToObject(o, "to", t);
    return o;
}

/* {value, display, why, note} of one window's value. */
static cJSON *value_json(const kpi_def *k, const kpi_value *v)
{
    cJSON *o = cJSON_CreateObject();
    char s[64];
    cJSON_AddItemToObject(o, "value", num_or_null(v->available, disp(k, v->value)));
    kpi_format_value(k, v, s, sizeof s);
    cJSON_AddStringToObject(o, "display", s);
    cJSON_AddItemToObject(o, "why", str_or_null(v->available ? NULL : v->why));
    cJSON_AddItemToObject(o, "note", str_or_null(v->available ? v->note : NULL));
    return o;
}

static cJSON *terms_json(kpi_id id, const kpi_inputs *in, const rdata *d, const rdoc *r)
{
    kpi_term t[KPI_MAX_TERMS];
    size_t n = kpi_terms(id, in, &d->defs->params, r->has_base_epgu ? &r->base_epgu : NULL, t,
                         KPI_MAX_TERMS);
    cJSON *a = cJSON_CreateArray();
    for (size_t j = 0; j < n; j++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", t[j].id);
        cJSON_AddStringToObject(o, "name", t[j].name);
        cJSON_AddStringToObject(o, "role", t[j].role == KPI_TERM_NUMERATOR     ? "numerator"
                                           : t[j].role == KPI_TERM_DENOMINATOR ? "denominator"
                                                                               : "input");
        cJSON_AddStringToObject(o, "unit", t[j].unit);
        cJSON_AddItemToObject(o, "value", num_or_null(true, t[j].value));
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *strs_json(char **v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

static double change_of(const kpi_def *k, const kpi_value *from, const kpi_value *to, bool *ok)
{
    *ok = from->available && to->available;
    return *ok ? disp(k, to->value) - disp(k, from->value) : 0;
}

/* One KPI of the KPI data document: its value, previous and baseline values
 * with their changes, owner, inputs, evidence, worth, weekly series, anchors. */
static cJSON *kpi_json(const rdata *d, const rdoc *r, size_t i)
{
    const kpi_def *k = &d->defs->defs[i];
    const kres *x = &r->k[i];
    cJSON *o = cJSON_CreateObject();
    char s[64];
    cJSON_AddStringToObject(o, "id", k->key);
    cJSON_AddStringToObject(o, "name", k->name);
    cJSON_AddStringToObject(o, "group", k->group);
    cJSON_AddStringToObject(o, "unit", k->unit);
    cJSON_AddStringToObject(o, "direction",
                            k->direction == KPI_DIR_HIGHER ? "higher" : "lower");
    cJSON_AddBoolToObject(o, "headline", k->headline);
    cJSON_AddBoolToObject(o, "impact_kpi", k->impact_kpi);
    cJSON_AddItemToObject(o, "value", num_or_null(x->cur.available, disp(k, x->cur.value)));
    kpi_format_value(k, &x->cur, s, sizeof s);
    cJSON_AddStringToObject(o, "display", s);
    cJSON_AddStringToObject(o, "status", kpi_status(k, &x->cur));
    cJSON_AddItemToObject(o, "why", str_or_null(x->cur.available ? NULL : x->cur.why));
    cJSON_AddItemToObject(o, "note", str_or_null(x->cur.available ? x->cur.note : NULL));
    /* the model KPIs: whose truth (operators' verdicts or the failure_label field) */
    const kpi_params *kp = &d->defs->params;
    cJSON_AddItemToObject(o, "label_source", str_or_null(kpi_label_source(k->id, &d->cur, kp)));
    cJSON_AddItemToObject(o, "target", num_or_null(k->has_target, disp(k, k->target)));
    cJSON *pv = value_json(k, &x->prev);
    cJSON_AddItemToObject(pv, "label_source", str_or_null(kpi_label_source(k->id, &d->prev, kp)));
    cJSON_AddItemToObject(o, "previous", pv);
    cJSON *b = value_json(k, &x->base);
    cJSON_AddItemToObject(b, "label_source",
                          str_or_null(rdata_base(d) ? kpi_label_source(k->id, rdata_base(d), kp)
                                                    : NULL));
    cJSON_AddItemToObject(b, "source", x->base_src == BASE_MEASURED ? cJSON_CreateString("measured")
                                       : x->base_src == BASE_STATED ? cJSON_CreateString("stated")
                                                                    : cJSON_CreateNull());
    cJSON_AddItemToObject(b, "period", x->base_src == BASE_MEASURED
                                           ? cJSON_CreateString(d->base.label)
                                           : cJSON_CreateNull());
    if (x->base_src == BASE_NONE) {
        cJSON_ReplaceItemInObject(b, "value", cJSON_CreateNull());
        cJSON_ReplaceItemInObject(b, "display", cJSON_CreateString("n/a"));
    }
    cJSON_AddItemToObject(o, "baseline", b);
    cJSON *ch = cJSON_AddObjectToObject(o, "change");
    bool okp, okb;
    double dp = change_of(k, &x->prev, &x->cur, &okp);
    kpi_value bv = x->base_src == BASE_NONE ? (kpi_value){false, 0, "no baseline", NULL}
                                            : x->base;
    double db = change_of(k, &bv, &x->cur, &okb);
    cJSON_AddItemToObject(ch, "vs_previous", num_or_null(okp, dp));
    cJSON_AddItemToObject(ch, "vs_baseline", num_or_null(okb, db));
    cJSON_AddItemToObject(ch, "direction_vs_baseline",
                          okb ? cJSON_CreateString(change_direction(k, db)) : cJSON_CreateNull());
    cJSON *own = cJSON_AddObjectToObject(o, "owner");
    cJSON_AddItemToObject(own, "activity", str_or_null(k->activity));
    cJSON_AddItemToObject(own, "principal", str_or_null(d->kpi_owner[i]));
    cJSON_AddItemToObject(own, "name", str_or_null(d->kpi_owner_name[i]));
    cJSON *inp = cJSON_AddObjectToObject(o, "inputs");
    cJSON_AddItemToObject(inp, "current", terms_json(k->id, &d->cur, d, r));
    cJSON_AddItemToObject(inp, "previous", terms_json(k->id, &d->prev, d, r));
    const kpi_inputs *bin = rdata_base(d);
    cJSON_AddItemToObject(inp, "baseline",
                          bin ? terms_json(k->id, bin, d, r) : cJSON_CreateNull());
    cJSON *ev = cJSON_AddObjectToObject(o, "evidence");
    const char *what = "";
    uint64_t cnt = kpi_evidence_count(k->id, &d->cur, &d->defs->params, &what);
    cJSON_AddStringToObject(ev, "source", kpi_evidence(k->id));
    cJSON_AddStringToObject(ev, "counted", what);
    cJSON_AddNumberToObject(ev, "count", (double)cnt);
    cJSON_AddNumberToObject(ev, "tree_size", (double)d->tree_size);
    if (x->has_worth) {
        cJSON *w = cJSON_AddObjectToObject(o, "worth");
        cJSON_AddNumberToObject(w, "amount", x->worth);
        cJSON_AddStringToObject(w, "currency", d->defs->currency);
        cJSON_AddNumberToObject(w, "quantity", x->quantity);
        cJSON_AddStringToObject(w, "quantity_unit", x->quantity_unit);
        cJSON_AddStringToObject(w, "basis", x->basis);
    } else {
        cJSON_AddNullToObject(o, "worth");
    }
    cJSON *wl = cJSON_AddArrayToObject(o, "weekly");
    for (int w = 0; w < d->nweeks; w++)
        cJSON_AddItemToArray(wl, num_or_null(x->week[w].available, disp(k, x->week[w].value)));
    cJSON *pw = cJSON_AddArrayToObject(o, "previous_weekly");
    for (int w = 0; w < d->nprev_weeks; w++)
        cJSON_AddItemToArray(pw,
                             num_or_null(x->pweek[w].available, disp(k, x->pweek[w].value)));
    cJSON_AddStringToObject(o, "formula", k->formula);
    cJSON_AddStringToObject(o, "source", k->source);
    cJSON *an = cJSON_AddObjectToObject(o, "anchors");
    cJSON_AddItemToObject(an, "sensors", strs_json(k->sensors, k->nsensors));
    cJSON_AddItemToObject(an, "models", strs_json(k->models, k->nmodels));
    cJSON_AddItemToObject(an, "edge", strs_json(k->edge, k->nedge));
    return o;
}

/* Whose truth the model KPIs count in the period (kpi.h), and the weeks. */
static void labels_weeks_json(cJSON *j, const rdata *d)
{
    const kpi_inputs *ci = &d->cur;
    const kpi_params *kpar = &d->defs->params;
    cJSON *lab = cJSON_AddObjectToObject(j, "labels");
    cJSON_AddStringToObject(lab, "precision", kpi_label_source(KPI_PRECISION, ci, kpar));
    cJSON_AddStringToObject(lab, "recall", kpi_label_source(KPI_DETECTION_RATE, ci, kpar));
    cJSON_AddNumberToObject(lab, "operator_verdicts",
                            (double)(ci->op_tp + ci->op_fp + ci->op_fn + ci->op_tn));
    cJSON_AddNumberToObject(lab, "on_alarms", (double)(ci->op_tp + ci->op_fp));
    cJSON_AddNumberToObject(lab, "confirmed_failures", (double)(ci->op_tp + ci->op_fn));
    cJSON_AddNumberToObject(lab, "field_labelled", (double)(ci->tp + ci->fp + ci->fn + ci->tn));
    cJSON_AddNumberToObject(lab, "min_operator_labels", (double)kpi_min_operator_labels(kpar));
    cJSON *wk = cJSON_AddArrayToObject(j, "weeks");
    for (int w = 0; w < d->nweeks; w++) {
        cJSON *o = cJSON_CreateObject();
        char t[32];
        int64_t ws = week_start(d, false, w), we = week_end(d, false, w);
        cJSON_AddNumberToObject(o, "week", w + 1);
        fmt_day(ws, t, sizeof t);
        cJSON_AddStringToObject(o, "from", t);
        fmt_day(we - 1, t, sizeof t);
        cJSON_AddStringToObject(o, "to", t);
        cJSON_AddNumberToObject(o, "days", (double)(we - ws) / 86400e6);
        cJSON_AddItemToArray(wk, o);
    }
}

cJSON *rdoc_build_json(const rdata *d, const rdoc *r)
{
    cJSON *j = cJSON_CreateObject();
    char hex[65];
    rdata_hex(d->root, 32, hex);
    cJSON_AddStringToObject(j, "format", "auditd-report-kpis/2");
    cJSON_AddItemToObject(j, "period", period_json(d->period.label, d->period.from_us,
                                                   d->period.to_us));
    cJSON_AddItemToObject(j, "previous_period",
                          period_json(d->period.prev_label, d->period.prev_from_us,
                                      d->period.prev_to_us));
    cJSON_AddItemToObject(j, "baseline_period",
                          d->has_base ? period_json(d->base.label, d->base.from_us, d->base.to_us)
                                      : cJSON_CreateNull());
    cJSON_AddStringToObject(j, "as_of", d->as_of);
    cJSON_AddStringToObject(j, "checkpoint_recorded", d->checkpoint_recorded);
    cJSON_AddStringToObject(j, "origin", d->origin);
    cJSON_AddItemToObject(j, "site", str_or_null(d->defs->site));
    cJSON_AddNumberToObject(j, "tree_size", (double)d->tree_size);
    cJSON_AddStringToObject(j, "root", hex);
    cJSON_AddStringToObject(j, "kpi_definitions", d->defs->version);
    cJSON *val = cJSON_AddObjectToObject(j, "unit_costs");
    cJSON_AddItemToObject(val, "currency", str_or_null(d->defs->currency));
    cJSON_AddItemToObject(val, "energy_price_per_kwh",
                          num_or_null(d->defs->has_energy_price, d->defs->energy_price));
    cJSON_AddItemToObject(val, "downtime_cost_per_hour",
                          num_or_null(d->defs->has_downtime_cost, d->defs->downtime_cost));
    labels_weeks_json(j, d);
    cJSON *arr = cJSON_AddArrayToObject(j, "kpis");
    for (size_t i = 0; i < d->defs->n; i++)
        cJSON_AddItemToArray(arr, kpi_json(d, r, i));
    cJSON *sm = cJSON_AddArrayToObject(j, "summary");
    for (size_t i = 0; i < r->ns; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", r->s[i].kind);
        cJSON_AddStringToObject(o, "text", r->s[i].text);
        cJSON_AddItemToArray(sm, o);
    }
    return j;
}

/* ---- CSV ----------------------------------------------------------------------- */

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
int rdoc_csv(const rdata *d, const rdoc *r, buf *out)
{
    int rc = buf_puts(out, "period,id,name,group,unit,value,previous,baseline,baseline_source,"
                           "target,status,direction,numerator,denominator,owner,note\r\n");
    for (size_t i = 0; !rc && i < d->defs->n; i++) {
        const kpi_def *k = &d->defs->defs[i];
        const kres *x = &r->k[i];
        char val[64] = "", prev[64] = "", tgt[64] = "", base[64] = "", num[64] = "",
             den[64] = "";
        if (x->cur.available)
            kpi_format_value(k, &x->cur, val, sizeof val);
        if (x->prev.available)
            kpi_format_value(k, &x->prev, prev, sizeof prev);
        kpi_value t = {true, k->target, NULL, NULL};
        if (k->has_target)
            kpi_format_value(k, &t, tgt, sizeof tgt);
        if (x->base_src != BASE_NONE)
            kpi_format_value(k, &x->base, base, sizeof base);
        kpi_term terms[KPI_MAX_TERMS];
        size_t nt = kpi_terms(k->id, &d->cur, &d->defs->params,
                              r->has_base_epgu ? &r->base_epgu : NULL, terms, KPI_MAX_TERMS);
        for (size_t j = 0; j < nt; j++) {
            if (terms[j].role == KPI_TERM_NUMERATOR)
                snprintf(num, sizeof num, "%.10g", terms[j].value);
            else if (terms[j].role == KPI_TERM_DENOMINATOR)
                snprintf(den, sizeof den, "%.10g", terms[j].value);
        }
        const char *cols[] = {d->period.label, k->key, k->name, k->group, k->unit, val, prev,
                              base,
                              x->base_src == BASE_MEASURED ? "measured"
                              : x->base_src == BASE_STATED ? "stated"
                                                           : "",
                              tgt, kpi_status(k, &x->cur),
                              k->direction == KPI_DIR_HIGHER ? "higher" : "lower", num, den,
                              d->kpi_owner[i],
                              x->cur.available ? (x->cur.note ? x->cur.note : "") : x->cur.why};
        for (size_t c = 0; !rc && c < sizeof cols / sizeof cols[0]; c++) {
            if (c)
                rc = buf_putc(out, ',');
            if (!rc)
                rc = csv_field(out, cols[c]);
        }
        if (!rc)
            rc = buf_puts(out, "\r\n");
    }
    return rc ? ADT_ETOOBIG : ADT_OK;
}
