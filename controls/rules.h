/* rules.h: evidence rules: the declarative XML format and its parser.
 *
 * A rule file (controls/rules/<id>.xml, schema controls/rules/rules.xsd,
 * format in docs/controls.md) names the controls it supports, selects ledger
 * events by type and field predicates, and states with one of a few kinds
 * what satisfies or violates them:
 *   precedes        every subject event has an earlier cause event with the
 *                   same key fields (optionally by the RACI party, by another
 *                   actor, within a maximum age, not cancelled by an `until`)
 *   field-equals    the matching earlier cause carries the same field values
 *   within          every trigger is followed by a response with the same key
 *                   within an SLA (optionally from the RACI party)
 *   every           a matching event at least once per period
 *   rate            sum(numerator fields) / sum(denominator fields) <= max
 *   absent          no event matches
 *   revoked-within  after a trigger (e.g. principal.depart) every grant the
 *                   principal still holds is revoked within an SLA
 *   raci            the findings of the RACI policy's own evaluation
 *                   (policies/raci.h) with the listed ids
 *
 * Loading validates each file against rules.xsd (libxml2), then checks what
 * the schema cannot: durations, numbers, and that every named control exists
 * in the catalog (via `rules_catalog`). Every error names file:line.
 *
 * Ownership: a rules_set owns all its strings; rules are immutable once
 * loaded and may be read from several threads. */
#ifndef AUDITD_RULES_H
#define AUDITD_RULES_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_MAX_FILE (64 * 1024) /* bytes per rule file */
#define RULES_MAX_FILES 256
#define RULES_MAX_ITEMS 16         /* types, predicates, keys, terms... per list */

typedef enum rule_kind {
    RULE_PRECEDES = 0,
    RULE_FIELD_EQUALS,
    RULE_WITHIN,
    RULE_EVERY,
    RULE_RATE,
    RULE_ABSENT,
    RULE_REVOKED_WITHIN,
    RULE_RACI
} rule_kind;

enum { RULE_SLA_NONE = 0, RULE_SLA_ACK, RULE_SLA_RESOLVE, RULE_SLA_INFORM };

typedef enum rule_sev { SEV_LOW = 0, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL } rule_sev;

typedef enum rule_op {
    OP_EQ = 0, OP_NE, OP_IN, OP_PREFIX, OP_GT, OP_GE, OP_LT, OP_LE, OP_EXISTS, OP_MISSING
} rule_op;

/* Who must do the earlier (precedes) or answering (within) event. */
typedef enum rule_party {
    PARTY_ANY = 0,
    PARTY_ACCOUNTABLE,   /* the RACI A of the activity */
    PARTY_RESPONSIBLE,   /* one of the RACI R of the activity */
    PARTY_CONSULTED,     /* one of the RACI C */
    PARTY_EACH_CONSULTED,/* every RACI C, each with its own event */
    PARTY_EACH_INFORMED  /* every RACI I, each with its own event */
} rule_party;

/* A field path: payload members joined by '.', or "$source" / "$type" / "$sig" /
 * "$recorded_at" for the leaf's own members. */
typedef struct rule_pred {
    char *field;
    rule_op op;
    char *value;      /* for eq/ne/prefix: the text; for in: space-separated */
    double num;       /* for gt/ge/lt/le */
} rule_pred;

/* Selects events: type in `types` ("*" = any) and every predicate holds. */
typedef struct rule_sel {
    char *types[RULES_MAX_ITEMS];
    size_t ntypes;
    rule_pred preds[RULES_MAX_ITEMS];
    size_t npreds;
    char *field;      /* rate terms: the numeric field; revoked-within: key field */
    char *items[RULES_MAX_ITEMS]; /* revoked-within grants: identity fields */
    size_t nitems;
    struct rule_sel *revoke;      /* revoked-within grants: the revoking events */
} rule_sel;

/* a = the field on the earlier side (cause / trigger), b = on the later side. */
typedef struct rule_pair {
    char *a;
    char *b;
} rule_pair;

typedef struct rule_sla_when {
    char *field;
    char *value;
    int64_t sla_us;
} rule_sla_when;

typedef struct rule_control {
    char framework[16]; /* "nist80053" or "iso27001" */
    char id[64];        /* normalised by the catalog, e.g. "cm-3", "A.8.32" */
    char *reason;       /* for an ISO id stated in the rule; NULL otherwise */
} rule_control;

typedef struct rule {
    char *id;
    char *title;
    char *file;          /* path it was loaded from */
    int line;            /* line of the <rule> element */
    rule_sev severity;
    char *activity;      /* RACI activity for the finding owner, or NULL */
    rule_kind kind;
    rule_control controls[RULES_MAX_ITEMS];
    size_t ncontrols;

    /* precedes, field-equals: later = subject, earlier = cause.
     * within: earlier = trigger, later = response.
     * every, absent: sels[0..nsels) (absent: any matching selector violates).
     * rate: sels = numerator terms, sels2 = denominator terms.
     * revoked-within: earlier = trigger, sels = grants.
     * raci: earlier.types = the events that count as checked (none: all). */
    rule_sel earlier, later, until;
    bool has_until;
    rule_sel sels[RULES_MAX_ITEMS];
    size_t nsels;
    rule_sel sels2[RULES_MAX_ITEMS];
    size_t nsels2;
    rule_pair keys[RULES_MAX_ITEMS];
    size_t nkeys;
    rule_pair equals[RULES_MAX_ITEMS]; /* field-equals */
    size_t nequals;
    rule_sla_when sla_when[RULES_MAX_ITEMS];
    size_t nsla_when;

    rule_party party;
    char *activity_field;  /* where the activity id is, default "activity" */
    bool distinct_actor;
    bool ledger_order;     /* precedes: causes count by ledger order, whatever their time */
    bool missing_violates; /* field-equals: no matching cause is a violation */
    int64_t max_age_us;    /* precedes: 0 = no limit */
    int64_t sla_us;        /* within / revoked-within (the fallback when sla_from) */
    int sla_from;          /* within: 0, or take the activity's RACI SLA first:
                              RULE_SLA_ACK / RULE_SLA_RESOLVE / RULE_SLA_INFORM */
    int64_t period_us;     /* every */
    double max_ratio;      /* rate */
    double min_denominator;/* rate: below this, no evidence */
    char *raci_findings[RULES_MAX_ITEMS]; /* raci: the RACI finding ids mapped here */
    size_t nraci_findings;
} rule;

typedef struct rules_set {
    rule *rules;
    size_t n;
    char fingerprint[65]; /* hex SHA-256 over the files' names and bytes */
} rules_set;

/* What the parser asks the control catalog (catalog.h, adapted by the caller).
 * `normalise` rewrites `id` (e.g. "cm-03" -> "CM-3") into out[cap] and
 * returns false if the control does not exist in `framework`. */
typedef struct rules_catalog {
    void *ctx;
    bool (*normalise)(void *ctx, const char *framework, const char *id, char *out, size_t cap);
} rules_catalog;

typedef struct rules_schema rules_schema;

/* The built-in rules directory (the source tree's controls/rules). */
const char *rules_default_dir(void);

/* Load the XML schema at `xsd_path`, or the built-in controls/rules/rules.xsd
 * (compiled into the library) when `xsd_path` is NULL. */
int rules_schema_open(const char *xsd_path, rules_schema **out, adt_err *err);
void rules_schema_close(rules_schema *s);

/* Parse one rule document from memory (`name` is used in messages).
 * `cat` may be NULL (no catalog check). On success `*out` is filled and owned
 * by the caller (rules_rule_free). */
int rules_parse(const rules_schema *s, const rules_catalog *cat, const char *name,
                const char *data, size_t len, rule *out, adt_err *err);
void rules_rule_free(rule *r);

/* Load every *.xml in `dir` (sorted by name), validating each against `s`.
 * Rule ids must be unique. All or nothing. */
int rules_load_dir(const rules_schema *s, const rules_catalog *cat, const char *dir,
                   rules_set *out, adt_err *err);
/* The same for the shipped rules compiled into the library (used when no
 * rules directory is available). Same fingerprint as loading their files. */
int rules_load_builtin(const rules_schema *s, const rules_catalog *cat, rules_set *out,
                       adt_err *err);
void rules_set_free(rules_set *set);

/* Parse an ISO 8601 duration of the form PnW or PnDTnHnMnS (no months or
 * years, which have no fixed length) into microseconds. */
int rules_parse_duration(const char *s, int64_t *us, adt_err *err);

const char *rules_kind_name(rule_kind k);
const char *rules_sev_name(rule_sev s);

#endif
