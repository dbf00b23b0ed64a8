/* eval.h: the evidence rule engine: feeds ledger entries, in ledger order,
 * through every rule of a rules_set and reports each rule's status.
 *
 * One engine evaluates one window [from_us, to_us) of event time (the
 * payload's `time`; INT64_MIN / INT64_MAX for an open window):
 *  - every entry whose time is before to_us is context (an approval, a grant,
 *    an open incident recorded before the window still counts);
 *  - only events whose time falls in the window are judged (a deploy, an
 *    incident, a verification inside the period);
 *  - entries with time >= to_us are ignored, as if not yet happened.
 * Feeding is incremental: continuous evaluation keeps one engine with an open
 * window and feeds each new entry once; period evaluation builds a fresh one.
 * Given the same entries, both give the same result at the same `as_of`.
 *
 * Deadlines (SLAs, periods) are judged at `as_of` when a result is taken:
 * an obligation whose deadline is after as_of is pending, not a violation.
 *
 * Memory: per-rule state grows with open keys (changes, incidents, grants);
 * stored findings and evidence indices are capped per rule (EVAL_MAX_LIST),
 * with the true totals counted.
 *
 * Threads: an engine belongs to one thread at a time. */
#ifndef AUDITD_EVAL_H
#define AUDITD_EVAL_H

#include "raci.h"
#include "rules.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVAL_MAX_LIST 1000 /* findings and evidence indices kept per rule */

typedef struct eval_engine eval_engine;

/* `rules` and `raci` (may be NULL: rules needing RACI then report that no
 * policy is loaded) are borrowed and must outlive the engine. */
int eval_new(const rules_set *rules, const raci_policy *raci, int64_t from_us, int64_t to_us,
             eval_engine **out, adt_err *err);
void eval_free(eval_engine *e);

/* Feed one ledger entry (the exact leaf bytes). Entries must come in index
 * order, each once. Entries that are not valid leaves, and entries whose
 * recorded `writer` is missing or not allowed for their type (event.h),
 * are counted and skipped: they cannot be evidence. Fails only on out of
 * memory. */
int eval_feed(eval_engine *e, uint64_t index, const char *leaf, size_t len, adt_err *err);

/* The next index the engine expects (the count of entries fed so far when
 * fed from 0). */
uint64_t eval_next_index(const eval_engine *e);

/* One rule's result (eval_results). Strings are owned by the result. */
typedef enum eval_status { EVAL_PASS, EVAL_FAIL, EVAL_NO_EVIDENCE } eval_status;

typedef struct eval_finding {
    char *message;
    char *owner;      /* NULL: no owner (no RACI policy, or none for the activity) */
    bool has_index;   /* the finding is about ledger entry `index`, dated time_us */
    uint64_t index;
    int64_t time_us;
} eval_finding;

typedef struct eval_rule_result {
    char *id, *title;
    const char *kind, *severity;    /* rules_kind_name, rules_sev_name (static) */
    eval_status status;             /* fail if any finding, else pass if evidence */
    uint64_t checked, pending;      /* events judged; obligations not yet due */
    bool has_ratio;                 /* rate rules with enough evidence */
    double ratio;
    uint64_t *evidence;             /* ledger indices, at most EVAL_MAX_LIST */
    size_t nevidence;
    uint64_t evidence_count;        /* the true total */
    eval_finding *findings;         /* at most EVAL_MAX_LIST, by index then message */
    size_t nfindings;
    uint64_t findings_count;        /* the true total */
} eval_rule_result;

/* Each rule's result at `as_of_us`, in rule order. OUT: *out (free with
 * eval_results_free(*out, *n)), *n = the number of rules. Does not change
 * the rule state (see eval_result). */
int eval_results(eval_engine *e, int64_t as_of_us, eval_rule_result **out, size_t *n,
                 adt_err *err);
void eval_results_free(eval_rule_result *r, size_t n);
const char *eval_status_name(eval_status s); /* "pass", "fail", "no_evidence" */
/* The JSON of a rule result and of one of its findings (below); NULL on OOM. */
cJSON *eval_rule_json(const eval_rule_result *r);
cJSON *eval_finding_json(const eval_rule_result *r, const eval_finding *f);

/* Each rule's result at `as_of_us`, as a JSON array (caller frees), in
 * rule order: {"id","title","kind","severity","status" (pass|fail|no_evidence),
 * "checked","pending","evidence":[indices],"evidence_count",
 * "findings":[{"rule","severity","message","owner"?,"index"?,"time"?}],
 * "findings_count"}. Does not change the rule state: deadlines that passed
 * by as_of are judged on the spot (RACI ones on a copy of its evaluator), so
 * results may be taken at any time and in any order. */
int eval_result(eval_engine *e, int64_t as_of_us, cJSON **out, adt_err *err);

/* Save the engine's state as JSON (caller frees), so that evaluation can
 * resume from eval_next_index() after a restart without refolding the
 * ledger. Restore into a fresh engine made by eval_new with the same rules,
 * policy and window; ADT_ECORRUPT if the document does not fit: then free
 * that engine and start over with a new one. */
int eval_save(const eval_engine *e, cJSON **out, adt_err *err);
int eval_restore(eval_engine *e, const cJSON *state, adt_err *err);

/* Counts: entries fed, entries skipped (malformed, or not vouched for by an allowed writer). */
void eval_counts(const eval_engine *e, uint64_t *fed, uint64_t *skipped);

#endif
