/* controls.h: the control evaluation service.
 *
 * Evaluates the evidence rules in the XML files in controls/rules/ (see rules.h and
 * docs/controls.md) against the ledger, for the in-scope controls of the
 * catalog (catalog.h: ISO/IEC 27001:2022 Annex A and NIST SP 800-53 Rev. 5),
 * with the RACI policy (policies/raci.h) naming who must approve, acknowledge,
 * be consulted and be informed.
 *
 * One engine, two kinds of window:
 *  - continuously: controls_notify() is the ledger commit listener; it only
 *    records that the ledger grew and wakes an evaluation thread that folds
 *    the new entries into per-rule state (reads fold any rest first). The
 *    state and its cursor are saved in <data-dir>/controls_eval.db, so the
 *    ledger is never rescanned, across restarts too;
 *  - for a period [from_us, to_us) by the events' time (controls_period_result):
 *    an engine kept for that window, fed by the same folds and saved beside
 *    the continuous one, so it too folds each entry once (see below).
 *
 * Each in-scope control comes out "satisfied", "not_satisfied" or
 * "not_evaluated" (no evidence), with findings (rule, severity, message,
 * owner from RACI where one applies) and the ledger indices of its evidence.
 *
 * Threads: a `controls` handle is internally locked; controls_notify may be
 * called from the commit queue's writer thread while controls_api runs on
 * HTTP threads. */
#ifndef AUDITD_CONTROLS_H
#define AUDITD_CONTROLS_H

#include "api.h"
#include "eval.h"
#include "ledger.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct controls controls;

#define CONTROLS_EVAL_DB "controls_eval.db"

/* Open the service on the data directory `data_dir` (which holds the ledger):
 * loads and validates the rules ($AUDITD_RULES_DIR, else <data_dir>/rules if
 * present, else the source tree's controls/rules if present, else the copies
 * compiled in), the catalog and the RACI policy, and opens controls_eval.db.
 * A bad rule file fails with ADT_EINVAL (a control missing from the catalog:
 * ADT_ENOTFOUND) and a message naming file:line. */
int controls_open(const char *data_dir, controls **out, adt_err *err);
void controls_close(controls *c);

/* Commit listener (commitq_listener-compatible when wrapped): records the new
 * tree size. Cheap, never blocks on evaluation, never fails. */
void controls_notify(controls *c, const ledger_commit *commit);

/* Serve:
 *   GET /v1/controls                         all in-scope controls with status
 *       ?framework=iso27001|nist80053
 *   GET /v1/controls/{framework}/{id}        one control: status, rules, findings,
 *                                            evidence indices
 *   GET /v1/findings                         every open finding (?severity=)
 *   GET /v1/raci                             the RACI policy in force
 * Returns ADT_OK when `resp` was filled (also for 4xx answers), or
 * ADT_ENOTFOUND if the path is not one of these (the server answers 404). */
int controls_api(controls *c, const api_request *req, api_response *resp);

/* ---- The result, typed ------------------------------------------------------ */

#define CONTROLS_MAX_FINDINGS 200  /* findings listed per control (of its rules') */
#define CONTROLS_MAX_EVIDENCE 1000 /* evidence indices listed per control */

/* Frameworks in the order results list them. */
enum { CONTROLS_FW_NIST, CONTROLS_FW_ISO, CONTROLS_FW_N };

typedef enum controls_status {
    CONTROLS_SATISFIED,     /* no rule fails and at least one passes */
    CONTROLS_NOT_SATISFIED, /* a rule fails */
    CONTROLS_NOT_EVALUATED, /* no rule, or none with evidence */
    CONTROLS_STATUS_N
} controls_status;

typedef struct controls_rule_ref {
    size_t rule; /* index into controls_result.rules */
    char *via;   /* the NIST id whose crosswalk maps the rule to this ISO control, or the
                    reason the rule states for the control (it has a space); NULL: direct */
} controls_rule_ref;

typedef struct controls_control {
    const char *framework;   /* "nist80053" or "iso27001" (static) */
    char *id, *label, *title;
    controls_status status;
    controls_rule_ref *rules; /* the evidence rules behind it, in rule order */
    size_t nrules;
    uint64_t findings_count; /* of its rules, exact */
} controls_control;

/* A control's findings are its rules' (the first CONTROLS_MAX_FINDINGS listed in
 * documents), its evidence their evidence (the first CONTROLS_MAX_EVIDENCE). */
typedef struct controls_result {
    int64_t as_of_us;            /* deadlines judged at */
    int64_t from_us, to_us;      /* the window; INT64_MIN / INT64_MAX when open */
    uint64_t tree_size;          /* entries [0, tree_size) evaluated */
    char *policy_name, *policy_version, *policy_sha256; /* NULL: no RACI policy */
    char *rules_fingerprint;
    eval_rule_result *rules;     /* every rule, in rule order */
    size_t nrules;
    controls_control *controls;  /* in-scope controls: NIST ones, then ISO ones */
    size_t ncontrols;
    bool has_framework[CONTROLS_FW_N];
    size_t summary[CONTROLS_FW_N][CONTROLS_STATUS_N]; /* controls per framework and status */
} controls_result;

void controls_result_free(controls_result *r);
const char *controls_status_name(controls_status s); /* "satisfied", "not_satisfied", ... */

/* Evaluate the window [from_us, to_us) of event time over the ledger's
 * first `at_size` entries (0: all of it), deadlines judged at min(to, now).
 * framework NULL = both ("iso27001" or "nist80053" otherwise).
 * OUT: *out, free with controls_result_free.
 *
 * One engine: a window is evaluated by an engine the service keeps (up to
 * 8 windows, least recently used dropped), fed by the same folds as the
 * continuous engine (the commit listener's thread feeds them as entries
 * arrive) and saved beside it in controls_eval.db (period_state), so a
 * period asked for again costs only the entries added since. A checkpoint
 * older than what the kept engine has folded (--at-size) is rebuilt from
 * the ledger on a private engine: the same code fed the same entries, so
 * the same result. */
int controls_period_result(controls *c, int64_t from_us, int64_t to_us, uint64_t at_size,
                           const char *framework, controls_result **out, adt_err *err);

/* The same for n windows (at most 8) at one checkpoint, folded in one pass.
 * OUT: out[0..n) (all NULL on failure). */
typedef struct controls_window {
    int64_t from_us, to_us;
} controls_window;
int controls_period_results(controls *c, const controls_window *w, size_t n, uint64_t at_size,
                            const char *framework, controls_result **out, adt_err *err);

/* The status document of a result (what `GET /v1/controls?period=` answers
 * and docs/controls.md describes); caller frees with cJSON_Delete. */
int controls_result_json(const controls_result *r, cJSON **out, adt_err *err);

/* Evaluate a period [from_us, to_us) and return the result as a cJSON document
 * (caller frees with cJSON_Delete) with per-control status, findings and
 * evidence indices, the policy version used, and the tree size evaluated at.
 * framework NULL = both ("iso27001" or "nist80053" otherwise). */
int controls_evaluate_period(controls *c, int64_t from_us, int64_t to_us,
                             const char *framework, cJSON **out, adt_err *err);

/* The window [from, to) of a period in core's grammar (period.h: "2026",
 * "2026-Q3", "2026-07", "2026-07-01..2026-09-30"); a wrapper of period_parse. */
int controls_parse_period(const char *s, int64_t *from_us, int64_t *to_us, adt_err *err);

#endif
