/* rules.c: parse and check evidence rule files (format: rules.xsd, docs/controls.md). */
#include "rules.h"

#include "buf.h"
#include "numparse.h"
#include "afile.h"
#include "sha256.h"
#include "xsafe.h"

#include <dirent.h>
#include <errno.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef AUDITD_RULES_DIR
#define AUDITD_RULES_DIR "controls/rules"
#endif

/* The schema text, compiled in from controls/rules/rules.xsd (CMakeLists). */
extern const unsigned char rules_xsd_text[];
extern const unsigned long rules_xsd_text_len;

struct rules_schema {
    xmlSchemaPtr schema;
};

const char *rules_default_dir(void) { return AUDITD_RULES_DIR; }

const char *rules_kind_name(rule_kind k)
{
    static const char *const names[] = {"precedes", "field-equals", "within", "every",
                                        "rate", "absent", "revoked-within", "raci"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

const char *rules_sev_name(rule_sev s)
{
    static const char *const names[] = {"low", "medium", "high", "critical"};
    return (unsigned)s < 4 ? names[s] : "?";
}

int rules_schema_open(const char *xsd_path, rules_schema **out, adt_err *err)
{
    rules_schema *s = calloc(1, sizeof *s);
    if (!s)
        return adt_fail(err, ADT_ENOMEM, "out of memory loading the rule schema");
    int rc = xsd_path ? xsafe_schema_file(xsd_path, &s->schema, err)
                      : xsafe_schema_mem((const char *)rules_xsd_text, rules_xsd_text_len,
                                         &s->schema, err);
    if (rc) {
        adt_err_prefix(err, "rule schema");
        free(s);
        return rc;
    }
    *out = s;
    return ADT_OK;
}

void rules_schema_close(rules_schema *s)
{
    if (!s)
        return;
    xmlSchemaFree(s->schema);
    free(s);
}

int rules_parse_duration(const char *s, int64_t *us, adt_err *err)
{
    /* PnW | P[nD][T[nH][nM][nS]] with at least one component. */
    const char *p = s;
    if (*p++ != 'P')
        return adt_fail(err, ADT_EINVAL, "duration '%s' must start with P (e.g. P7D, PT4H)", s);
    int64_t total = 0;
    int parts = 0;
    bool in_time = false;
    while (*p) {
        if (*p == 'T') {
            if (in_time)
                return adt_fail(err, ADT_EINVAL, "duration '%s' has two T", s);
            in_time = true;
            p++;
            continue;
        }
        int64_t n = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 7) {
            n = n * 10 + (*p - '0');
            p++;
            digits++;
        }
        if (!digits || (*p >= '0' && *p <= '9'))
            return adt_fail(err, ADT_EINVAL, "duration '%s': expected 1 to 6 digits", s);
        int64_t unit;
        switch (*p) {
        case 'W': unit = in_time ? 0 : 7 * 86400; break;
        case 'D': unit = in_time ? 0 : 86400; break;
        case 'H': unit = in_time ? 3600 : 0; break;
        case 'M': unit = in_time ? 60 : 0; break; /* months (date part) are refused */
        case 'S': unit = in_time ? 1 : 0; break;
        default: unit = 0;
        }
        if (!unit)
            return adt_fail(err, ADT_EINVAL,
                            "duration '%s': use W or D before T and H, M, S after it "
                            "(no months or years)", s);
        total += n * unit;
        parts++;
        p++;
    }
    if (!parts)
        return adt_fail(err, ADT_EINVAL, "duration '%s' is empty", s);
    if (total <= 0)
        return adt_fail(err, ADT_EINVAL, "duration '%s' must be positive", s);
    *us = total * 1000000;
    return ADT_OK;
}

/* ---- tree walking -------------------------------------------------------- */

typedef struct pctx {
    const char *name;
    const rules_catalog *cat;
    adt_err *err;
} pctx;

static int perr(pctx *p, xmlNodePtr n, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr(pctx *p, xmlNodePtr n, int code, const char *fmt, ...)
{
    char msg[ADT_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return adt_fail(p->err, code, "%s:%ld: %s", p->name, n ? xmlGetLineNo(n) : 0L, msg);
}

static xmlNodePtr first_el(xmlNodePtr n)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

static xmlNodePtr next_el(xmlNodePtr n)
{
    for (xmlNodePtr c = n->next; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

static bool is(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* A malloc'd copy of attribute `a`, or NULL if absent (use get_dup for defaults). */
static char *attr(xmlNodePtr n, const char *a)
{
    char *x = xsafe_attr(n, a);
    if (!x)
        return NULL;
    char *c = strdup(x);
    xmlFree(x);
    return c;
}

static int attr_into(pctx *p, xmlNodePtr n, const char *a, const char *dflt, char **out)
{
    char *v = attr(n, a);
    if (!v && dflt)
        v = strdup(dflt);
    if (!v && dflt)
        return perr(p, n, ADT_ENOMEM, "out of memory");
    *out = v;
    return ADT_OK;
}

/* Split a whitespace-separated list into out[0..*n) (malloc'd strings). */
static int split(pctx *p, xmlNodePtr n, const char *s, char **out, size_t *cnt)
{
    *cnt = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        if (!*s)
            break;
        const char *e = s;
        while (*e && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r')
            e++;
        if (*cnt >= RULES_MAX_ITEMS)
            return perr(p, n, ADT_ETOOBIG, "more than %d items in a list", RULES_MAX_ITEMS);
        out[*cnt] = strndup(s, (size_t)(e - s));
        if (!out[*cnt])
            return perr(p, n, ADT_ENOMEM, "out of memory");
        (*cnt)++;
        s = e;
    }
    return ADT_OK;
}

static void sel_free(rule_sel *s)
{
    for (size_t i = 0; i < s->ntypes; i++)
        free(s->types[i]);
    for (size_t i = 0; i < s->npreds; i++) {
        free(s->preds[i].field);
        free(s->preds[i].value);
    }
    for (size_t i = 0; i < s->nitems; i++)
        free(s->items[i]);
    free(s->field);
    if (s->revoke) {
        sel_free(s->revoke);
        free(s->revoke);
    }
    memset(s, 0, sizeof *s);
}

static int parse_op(const char *s, rule_op *op)
{
    static const char *const ops[] = {"eq", "ne", "in", "prefix", "gt",
                                      "ge", "lt", "le", "exists", "missing"};
    for (int i = 0; i < 10; i++)
        if (!strcmp(s, ops[i])) {
            *op = (rule_op)i;
            return 0;
        }
    return -1;
}

static int parse_types(pctx *p, xmlNodePtr n, const char *attrname, rule_sel *s)
{
    char *t = attr(n, attrname);
    if (!t)
        return perr(p, n, ADT_EINVAL, "<%s> needs a %s attribute", n->name, attrname);
    int rc = split(p, n, t, s->types, &s->ntypes);
    free(t);
    if (!rc && !s->ntypes)
        rc = perr(p, n, ADT_EINVAL, "<%s> %s is empty", n->name, attrname);
    return rc;
}

/* A selector element: types + <where> children, plus the extra attributes of
 * terms (field), keyed selectors (key) and grants (key, item, revoke). */
static int parse_sel(pctx *p, xmlNodePtr n, rule_sel *s)
{
    int rc = parse_types(p, n, "types", s);
    if (rc)
        return rc;
    for (xmlNodePtr w = first_el(n); w; w = next_el(w)) {
        if (!is(w, "where"))
            return perr(p, w, ADT_EINVAL, "unexpected <%s> in <%s>", w->name, n->name);
        if (s->npreds >= RULES_MAX_ITEMS)
            return perr(p, w, ADT_ETOOBIG, "more than %d <where>", RULES_MAX_ITEMS);
        rule_pred *pr = &s->preds[s->npreds++];
        char *op = attr(w, "op");
        pr->field = attr(w, "field");
        pr->value = attr(w, "value");
        int bad = parse_op(op ? op : "eq", &pr->op);
        free(op);
        if (bad || !pr->field)
            return perr(p, w, ADT_EINVAL, "<where> needs a field and a known op");
        switch (pr->op) {
        case OP_EXISTS:
        case OP_MISSING:
            if (pr->value)
                return perr(p, w, ADT_EINVAL, "<where op=\"exists|missing\"> takes no value");
            break;
        case OP_GT:
        case OP_GE:
        case OP_LT:
        case OP_LE:
            if (!pr->value || num_double(pr->value, &pr->num) || !isfinite(pr->num))
                return perr(p, w, ADT_EINVAL,
                            "<where field=\"%s\"> needs a finite number value for a comparison",
                            pr->field);
            break;
        default:
            if (!pr->value)
                return perr(p, w, ADT_EINVAL, "<where field=\"%s\"> needs a value", pr->field);
        }
    }
    char *v = attr(n, "field");
    if (!v)
        v = attr(n, "key");
    s->field = v;
    char *items = attr(n, "item");
    if (items) {
        rc = split(p, n, items, s->items, &s->nitems);
        free(items);
        if (rc)
            return rc;
    }
    if (xmlHasProp(n, (const xmlChar *)"revoke")) {
        s->revoke = calloc(1, sizeof *s->revoke);
        if (!s->revoke)
            return perr(p, n, ADT_ENOMEM, "out of memory");
        rc = parse_types(p, n, "revoke", s->revoke);
        if (rc)
            return rc;
    }
    return ADT_OK;
}

static int parse_pair(pctx *p, xmlNodePtr n, const char *later_name, const char *earlier_name,
                      bool later_first, rule_pair *pr)
{
    /* precedes: <key subject=".." cause=".."/>  (subject is the later event)
     * within:   <key trigger=".." response=".."/> (trigger is the earlier one) */
    char *first = attr(n, later_first ? later_name : earlier_name);
    char *second = attr(n, later_first ? earlier_name : later_name);
    if (!first) {
        free(second);
        return perr(p, n, ADT_EINVAL, "<%s> needs %s", n->name,
                    later_first ? later_name : earlier_name);
    }
    if (!second && !(second = strdup(first))) {
        free(first);
        return perr(p, n, ADT_ENOMEM, "out of memory");
    }
    pr->a = later_first ? second : first;
    pr->b = later_first ? first : second;
    return ADT_OK;
}

static int parse_party(pctx *p, xmlNodePtr n, rule *r)
{
    static const char *const parties[] = {"any", "accountable", "responsible",
                                          "consulted", "each-consulted", "each-informed"};
    char *by = attr(n, "by");
    r->party = PARTY_ANY;
    if (by) {
        int found = -1;
        for (int i = 0; i < 6; i++)
            if (!strcmp(by, parties[i]))
                found = i;
        free(by);
        if (found < 0)
            return perr(p, n, ADT_EINVAL, "unknown by= party");
        r->party = (rule_party)found;
    }
    return attr_into(p, n, "activity-field", "activity", &r->activity_field);
}

static int parse_dur_attr(pctx *p, xmlNodePtr n, const char *a, bool required, int64_t *us)
{
    char *v = attr(n, a);
    if (!v) {
        if (required)
            return perr(p, n, ADT_EINVAL, "<%s> needs %s", n->name, a);
        *us = 0;
        return ADT_OK;
    }
    adt_err e = {0};
    int rc = rules_parse_duration(v, us, &e);
    free(v);
    if (rc)
        return perr(p, n, rc, "%s: %s", a, e.msg);
    return ADT_OK;
}

static int parse_num_attr(pctx *p, xmlNodePtr n, const char *a, double dflt, double *out)
{
    char *v = attr(n, a);
    if (!v) {
        *out = dflt;
        return ADT_OK;
    }
    int rc = num_double(v, out);
    free(v);
    if (rc || !isfinite(*out) || *out < 0)
        return perr(p, n, ADT_EINVAL, "%s must be a non-negative number", a);
    return ADT_OK;
}

static int parse_controls(pctx *p, xmlNodePtr n, rule *r)
{
    for (xmlNodePtr c = first_el(n); c; c = next_el(c)) {
        if (!is(c, "control"))
            return perr(p, c, ADT_EINVAL, "unexpected <%s> in <controls>", c->name);
        if (r->ncontrols >= RULES_MAX_ITEMS)
            return perr(p, c, ADT_ETOOBIG, "more than %d controls", RULES_MAX_ITEMS);
        rule_control *ctl = &r->controls[r->ncontrols];
        char *fw = attr(c, "framework"), *id = attr(c, "id");
        ctl->reason = attr(c, "reason");
        int rc = ADT_OK;
        if (!fw || !id || (strcmp(fw, "nist80053") && strcmp(fw, "iso27001")))
            rc = perr(p, c, ADT_EINVAL, "<control> needs framework nist80053|iso27001 and an id");
        else if (!strcmp(fw, "iso27001") && (!ctl->reason || !*ctl->reason))
            rc = perr(p, c, ADT_EINVAL,
                      "ISO control %s is stated in the rule: give a reason= (ISO ids normally "
                      "come from the crosswalk of the NIST controls)", id);
        else if (strlen(id) >= sizeof ctl->id)
            rc = perr(p, c, ADT_EINVAL, "control id '%s' is too long", id);
        else {
            snprintf(ctl->framework, sizeof ctl->framework, "%s", fw);
            if (p->cat && p->cat->normalise) {
                if (!p->cat->normalise(p->cat->ctx, fw, id, ctl->id, sizeof ctl->id))
                    rc = perr(p, c, ADT_ENOTFOUND,
                              "control %s %s does not exist in the control catalog "
                              "(check the id, or import the catalog that defines it)", fw, id);
            } else {
                snprintf(ctl->id, sizeof ctl->id, "%s", id);
            }
        }
        for (size_t i = 0; !rc && i < r->ncontrols; i++)
            if (!strcmp(r->controls[i].framework, ctl->framework) &&
                !strcmp(r->controls[i].id, ctl->id))
                rc = perr(p, c, ADT_EINVAL, "control %s %s is named twice", fw, id);
        free(fw);
        free(id);
        r->ncontrols++; /* counted even on error, so reason is freed */
        if (rc)
            return rc;
    }
    if (!r->ncontrols)
        return perr(p, n, ADT_EINVAL, "a rule must name at least one control");
    return ADT_OK;
}

/* <precedes> and <field-equals>: a subject, its cause, keys and equal fields (and <until>). */
static int parse_precedes(pctx *p, xmlNodePtr k, rule *r, const char *kn)
{
    int rc = ADT_OK;
    xmlNodePtr c = first_el(k);
    r->kind = !strcmp(kn, "precedes") ? RULE_PRECEDES : RULE_FIELD_EQUALS;
    if (!is(c, "subject") || (rc = parse_sel(p, c, &r->later)))
        return rc ? rc : perr(p, k, ADT_EINVAL, "<%s> starts with <subject>", kn);
    c = next_el(c);
    if (!is(c, "cause") || (rc = parse_sel(p, c, &r->earlier)))
        return rc ? rc : perr(p, k, ADT_EINVAL, "<%s> needs <cause> after <subject>", kn);
    for (c = next_el(c); c; c = next_el(c)) {
        if (is(c, "key") || is(c, "equal")) {
            bool key = is(c, "key");
            size_t *cnt = key ? &r->nkeys : &r->nequals;
            if (*cnt >= RULES_MAX_ITEMS)
                return perr(p, c, ADT_ETOOBIG, "too many <%s>", c->name);
            rc = parse_pair(p, c, "subject", "cause", true,
                            key ? &r->keys[*cnt] : &r->equals[*cnt]);
            if (rc)
                return rc;
            (*cnt)++;
        } else if (is(c, "until") && r->kind == RULE_PRECEDES && !r->has_until) {
            if ((rc = parse_sel(p, c, &r->until)))
                return rc;
            r->has_until = true;
        } else {
            return perr(p, c, ADT_EINVAL, "unexpected <%s> in <%s>", c->name, kn);
        }
    }
    if (r->kind == RULE_FIELD_EQUALS) {
        if (!r->nkeys || !r->nequals)
            return perr(p, k, ADT_EINVAL, "<field-equals> needs <key> and <equal>");
        char *m = attr(k, "missing");
        r->missing_violates = m && !strcmp(m, "violation");
        free(m);
        r->activity_field = strdup("activity");
        if (!r->activity_field)
            return perr(p, k, ADT_ENOMEM, "out of memory");
        return ADT_OK;
    }
    if ((rc = parse_party(p, k, r)))
        return rc;
    if (r->party == PARTY_EACH_INFORMED)
        return perr(p, k, ADT_EINVAL, "<precedes by=\"each-informed\">: informing comes "
                                      "after the event; use <within>");
    char *d = attr(k, "distinct-actor");
    r->distinct_actor = d && (!strcmp(d, "true") || !strcmp(d, "1"));
    free(d);
    char *o = attr(k, "order");
    r->ledger_order = o && !strcmp(o, "ledger");
    free(o);
    return parse_dur_attr(p, k, "max-age", false, &r->max_age_us);
}

/* The kind `kind` of rule element k (<within>, <revoked-within>), which
 * starts with its <trigger> (into r->earlier). OUT: *c = the trigger. */
static int parse_trigger(pctx *p, xmlNodePtr k, rule *r, rule_kind kind, xmlNodePtr *c)
{
    int rc = ADT_OK;
    *c = first_el(k);
    r->kind = kind;
    if (!is(*c, "trigger") || (rc = parse_sel(p, *c, &r->earlier)))
        return rc ? rc : perr(p, k, ADT_EINVAL, "<%s> starts with <trigger>", (const char *)k->name);
    return ADT_OK;
}

/* <within>: a trigger, its response within an SLA, keys and <sla-when>. */
static int parse_within(pctx *p, xmlNodePtr k, rule *r, const char *kn)
{
    xmlNodePtr c;
    int rc = parse_trigger(p, k, r, RULE_WITHIN, &c);
    if (rc)
        return rc;
    c = next_el(c);
    if (!is(c, "response") || (rc = parse_sel(p, c, &r->later)))
        return rc ? rc : perr(p, k, ADT_EINVAL, "<within> needs <response> after <trigger>");
    for (c = next_el(c); c; c = next_el(c)) {
        if (is(c, "key")) {
            if (r->nkeys >= RULES_MAX_ITEMS)
                return perr(p, c, ADT_ETOOBIG, "too many <key>");
            if ((rc = parse_pair(p, c, "response", "trigger", false, &r->keys[r->nkeys])))
                return rc;
            r->nkeys++;
        } else if (is(c, "sla-when")) {
            if (r->nsla_when >= RULES_MAX_ITEMS)
                return perr(p, c, ADT_ETOOBIG, "too many <sla-when>");
            rule_sla_when *w = &r->sla_when[r->nsla_when++];
            w->field = attr(c, "field");
            w->value = attr(c, "value");
            if (!w->field || !w->value)
                return perr(p, c, ADT_EINVAL, "<sla-when> needs field and value");
            if ((rc = parse_dur_attr(p, c, "sla", true, &w->sla_us)))
                return rc;
        } else {
            return perr(p, c, ADT_EINVAL, "unexpected <%s> in <within>", c->name);
        }
    }
    if (!r->nkeys)
        return perr(p, k, ADT_EINVAL, "<within> needs at least one <key>");
    if ((rc = parse_party(p, k, r)))
        return rc;
    if (r->party == PARTY_EACH_CONSULTED || r->party == PARTY_CONSULTED)
        return perr(p, k, ADT_EINVAL, "<within by=\"consulted\">: consulting comes before "
                                      "the change; use <precedes>");
    char *f = attr(k, "sla-from");
    r->sla_from = !f ? RULE_SLA_NONE
                  : !strcmp(f, "ack") ? RULE_SLA_ACK
                  : !strcmp(f, "resolve") ? RULE_SLA_RESOLVE
                  : !strcmp(f, "inform") ? RULE_SLA_INFORM : -1;
    free(f);
    if (r->sla_from < 0)
        return perr(p, k, ADT_EINVAL, "sla-from must be ack, resolve or inform");
    return parse_dur_attr(p, k, "sla", true, &r->sla_us);
}

/* <every> (one <event> per period) and <absent> (none of the <event>s). */
static int parse_every(pctx *p, xmlNodePtr k, rule *r, const char *kn)
{
    int rc = ADT_OK;
    xmlNodePtr c = first_el(k);
    r->kind = !strcmp(kn, "every") ? RULE_EVERY : RULE_ABSENT;
    for (; c; c = next_el(c)) {
        if (!is(c, "event") || r->nsels >= (r->kind == RULE_EVERY ? 1u : RULES_MAX_ITEMS))
            return perr(p, c, ADT_EINVAL, "unexpected <%s> in <%s>", c->name, kn);
        if ((rc = parse_sel(p, c, &r->sels[r->nsels++])))
            return rc;
    }
    if (!r->nsels)
        return perr(p, k, ADT_EINVAL, "<%s> needs an <event>", kn);
    return r->kind == RULE_EVERY ? parse_dur_attr(p, k, "period", true, &r->period_us)
                                 : ADT_OK;
}

/* <rate>: numerator over denominator terms, at most max=. */
static int parse_rate(pctx *p, xmlNodePtr k, rule *r, const char *kn)
{
    int rc = ADT_OK;
    xmlNodePtr c = first_el(k);
    r->kind = RULE_RATE;
    for (; c; c = next_el(c)) {
        bool num = is(c, "numerator");
        if (!num && !is(c, "denominator"))
            return perr(p, c, ADT_EINVAL, "unexpected <%s> in <rate>", c->name);
        size_t *cnt = num ? &r->nsels : &r->nsels2;
        if (*cnt >= RULES_MAX_ITEMS)
            return perr(p, c, ADT_ETOOBIG, "too many terms");
        rule_sel *s = num ? &r->sels[(*cnt)++] : &r->sels2[(*cnt)++];
        if ((rc = parse_sel(p, c, s)))
            return rc;
        if (!s->field)
            return perr(p, c, ADT_EINVAL, "<%s> needs field=", c->name);
    }
    if (!r->nsels || !r->nsels2)
        return perr(p, k, ADT_EINVAL, "<rate> needs <numerator> and <denominator>");
    if ((rc = parse_num_attr(p, k, "max", -1, &r->max_ratio)))
        return rc;
    if (r->max_ratio < 0)
        return perr(p, k, ADT_EINVAL, "<rate> needs max=");
    return parse_num_attr(p, k, "min-denominator", 1, &r->min_denominator);
}

/* <revoked-within>: grants revoked within an SLA of the trigger. */
static int parse_revoked(pctx *p, xmlNodePtr k, rule *r, const char *kn)
{
    xmlNodePtr c;
    int rc = parse_trigger(p, k, r, RULE_REVOKED_WITHIN, &c);
    if (rc)
        return rc;
    if (!r->earlier.field)
        return perr(p, c, ADT_EINVAL, "<trigger> needs key=");
    for (c = next_el(c); c; c = next_el(c)) {
        if (!is(c, "grant") || r->nsels >= RULES_MAX_ITEMS)
            return perr(p, c, ADT_EINVAL, "unexpected <%s> in <revoked-within>", c->name);
        rule_sel *s = &r->sels[r->nsels++];
        if ((rc = parse_sel(p, c, s)))
            return rc;
        if (!s->field || !s->nitems || !s->revoke)
            return perr(p, c, ADT_EINVAL, "<grant> needs key=, item= and revoke=");
    }
    if (!r->nsels)
        return perr(p, k, ADT_EINVAL, "<revoked-within> needs a <grant>");
    return parse_dur_attr(p, k, "sla", true, &r->sla_us);
}

/* <raci findings= types=>: the RACI evaluator's findings. */
static int parse_raci(pctx *p, xmlNodePtr k, rule *r, const char *kn)
{
    int rc = ADT_OK;
    r->kind = RULE_RACI;
    char *f = attr(k, "findings");
    if (!f)
        return perr(p, k, ADT_EINVAL, "<raci> needs findings=");
    rc = split(p, k, f, r->raci_findings, &r->nraci_findings);
    free(f);
    if (!rc && !r->nraci_findings)
        rc = perr(p, k, ADT_EINVAL, "<raci findings> is empty");
    if (!rc && xmlHasProp(k, (const xmlChar *)"types"))
        rc = parse_types(p, k, "types", &r->earlier);
    return rc;
}

static int parse_kind(pctx *p, xmlNodePtr k, rule *r)
{
    static const struct {
        const char *name;
        int (*parse)(pctx *, xmlNodePtr, rule *, const char *);
    } kinds[] = {{"precedes", parse_precedes},   {"field-equals", parse_precedes},
                 {"within", parse_within},       {"every", parse_every},
                 {"absent", parse_every},        {"rate", parse_rate},
                 {"revoked-within", parse_revoked}, {"raci", parse_raci}};
    const char *kn = (const char *)k->name;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kn, kinds[i].name))
            return kinds[i].parse(p, k, r, kn);
    return perr(p, k, ADT_EINVAL, "unknown rule kind <%s>", kn);
}

void rules_rule_free(rule *r)
{
    if (!r)
        return;
    free(r->id);
    free(r->title);
    free(r->file);
    free(r->activity);
    free(r->activity_field);
    for (size_t i = 0; i < r->ncontrols; i++)
        free(r->controls[i].reason);
    sel_free(&r->earlier);
    sel_free(&r->later);
    sel_free(&r->until);
    for (size_t i = 0; i < r->nsels; i++)
        sel_free(&r->sels[i]);
    for (size_t i = 0; i < r->nsels2; i++)
        sel_free(&r->sels2[i]);
    for (size_t i = 0; i < r->nkeys; i++) {
        free(r->keys[i].a);
        free(r->keys[i].b);
    }
    for (size_t i = 0; i < r->nequals; i++) {
        free(r->equals[i].a);
        free(r->equals[i].b);
    }
    for (size_t i = 0; i < r->nsla_when; i++) {
        free(r->sla_when[i].field);
        free(r->sla_when[i].value);
    }
    for (size_t i = 0; i < r->nraci_findings; i++)
        free(r->raci_findings[i]);
    memset(r, 0, sizeof *r);
}

static int parse_doc(pctx *p, xmlNodePtr root, rule *r)
{
    if (!is(root, "rule"))
        return perr(p, root, ADT_EINVAL, "the root element must be <rule>");
    r->line = (int)xmlGetLineNo(root);
    r->id = attr(root, "id");
    r->activity = attr(root, "activity");
    char *sev = attr(root, "severity");
    int s = -1;
    for (int i = 0; sev && i < 4; i++)
        if (!strcmp(sev, rules_sev_name((rule_sev)i)))
            s = i;
    free(sev);
    if (!r->id || s < 0)
        return perr(p, root, ADT_EINVAL, "<rule> needs id= and severity=low|medium|high|critical");
    r->severity = (rule_sev)s;
    xmlNodePtr c = first_el(root);
    if (!is(c, "title"))
        return perr(p, root, ADT_EINVAL, "<rule> starts with <title>");
    xmlChar *t = xmlNodeGetContent(c);
    r->title = strdup(t ? (const char *)t : "");
    xmlFree(t);
    if (!r->title)
        return perr(p, c, ADT_ENOMEM, "out of memory");
    c = next_el(c);
    if (is(c, "description"))
        c = next_el(c);
    if (!is(c, "controls"))
        return perr(p, c ? c : root, ADT_EINVAL, "<rule> needs <controls>");
    int rc = parse_controls(p, c, r);
    if (rc)
        return rc;
    c = next_el(c);
    if (!c)
        return perr(p, root, ADT_EINVAL, "<rule> needs a kind element after <controls>");
    if ((rc = parse_kind(p, c, r)))
        return rc;
    if (next_el(c))
        return perr(p, next_el(c), ADT_EINVAL, "only one kind element per rule");
    return ADT_OK;
}

int rules_parse(const rules_schema *s, const rules_catalog *cat, const char *name,
                const char *data, size_t len, rule *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    if (len > RULES_MAX_FILE)
        return adt_fail(err, ADT_ETOOBIG, "%s: rule files are limited to %d bytes", name,
                        RULES_MAX_FILE);
    xmlDocPtr doc = NULL;
    int rc = xsafe_parse(data, len, name, NULL, NULL, &doc, err);
    if (rc)
        return rc;
    if (s && (rc = xsafe_validate(doc, s->schema, name, NULL, NULL, err))) {
        xmlFreeDoc(doc);
        return rc;
    }
    pctx p = {name, cat, err};
    rc = parse_doc(&p, xmlDocGetRootElement(doc), out);
    xmlFreeDoc(doc);
    if (!rc && !(out->file = strdup(name)))
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
    if (rc)
        rules_rule_free(out);
    return rc;
}

void rules_set_free(rules_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        rules_rule_free(&set->rules[i]);
    free(set->rules);
    memset(set, 0, sizeof *set);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hash, parse and add one rule file to `out` (which has room). */
static int add_rule(const rules_schema *s, const rules_catalog *cat, const char *name,
                    const char *label, const char *data, size_t len, rules_set *out,
                    sha256_ctx *h, adt_err *err)
{
    sha256_update(h, name, strlen(name) + 1);
    sha256_update(h, data, len);
    sha256_update(h, "", 1);
    int rc = rules_parse(s, cat, label, data, len, &out->rules[out->n], err);
    if (rc)
        return rc;
    for (size_t j = 0; j < out->n; j++)
        if (!strcmp(out->rules[j].id, out->rules[out->n].id)) {
            rc = adt_fail(err, ADT_EINVAL, "%s:%d: rule id '%s' is already used by %s", label,
                          out->rules[out->n].line, out->rules[j].id, out->rules[j].file);
            rules_rule_free(&out->rules[out->n]);
            return rc;
        }
    out->n++;
    return ADT_OK;
}

static void finish(sha256_ctx *h, rules_set *out)
{
    sha256_final_hex(h, out->fingerprint);
}

int rules_load_dir(const rules_schema *s, const rules_catalog *cat, const char *dir,
                   rules_set *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d)
        return adt_fail(err, ADT_EIO, "rules directory %s: %s", dir, strerror(errno));
    char *names[RULES_MAX_FILES];
    size_t n = 0;
    int rc = ADT_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".xml") || de->d_name[0] == '.')
            continue;
        if (n >= RULES_MAX_FILES) {
            rc = adt_fail(err, ADT_ETOOBIG, "%s: more than %d rule files", dir, RULES_MAX_FILES);
            break;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = adt_fail(err, ADT_ENOMEM, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (!rc)
        qsort(names, n, sizeof names[0], cmp_str);
    if (!rc && !(out->rules = calloc(n ? n : 1, sizeof *out->rules)))
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
    sha256_ctx h;
    sha256_init(&h);
    buf data, path;
    buf_init(&data, RULES_MAX_FILE + 1);
    buf_init(&path, 4096);
    for (size_t i = 0; !rc && i < n; i++) {
        buf_reset(&path);
        if ((rc = buf_printf(&path, "%s/%s", dir, names[i]))) {
            rc = adt_fail(err, rc, "rules directory path too long");
            break;
        }
        if ((rc = afile_read(path.data, RULES_MAX_FILE, &data, err)))
            break;
        rc = add_rule(s, cat, names[i], path.data, data.data ? data.data : "", data.len, out, &h,
                      err);
    }
    buf_free(&data);
    buf_free(&path);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    if (rc) {
        rules_set_free(out);
        return rc;
    }
    finish(&h, out);
    return ADT_OK;
}

/* The shipped rules compiled in (controls/CMakeLists.txt), sorted by name. */
typedef struct rules_builtin_file {
    const char *name;
    const unsigned char *text;
    const unsigned long *len;
} rules_builtin_file;
extern const rules_builtin_file rules_builtin_files[];

int rules_load_builtin(const rules_schema *s, const rules_catalog *cat, rules_set *out,
                       adt_err *err)
{
    memset(out, 0, sizeof *out);
    size_t n = 0;
    while (rules_builtin_files[n].name)
        n++;
    if (!(out->rules = calloc(n ? n : 1, sizeof *out->rules)))
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    sha256_ctx h;
    sha256_init(&h);
    char label[300];
    for (size_t i = 0; i < n; i++) {
        const rules_builtin_file *f = &rules_builtin_files[i];
        snprintf(label, sizeof label, "(built-in) controls/rules/%s", f->name);
        int rc = add_rule(s, cat, f->name, label, (const char *)f->text, *f->len, out, &h, err);
        if (rc) {
            rules_set_free(out);
            return rc;
        }
    }
    finish(&h, out);
    return ADT_OK;
}
