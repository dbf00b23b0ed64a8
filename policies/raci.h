/* raci.h: RACI policies: who is Responsible, Accountable, Consulted and
 * Informed for each governed activity, with service levels, and the
 * incremental evaluation of ledger events against them.
 *
 * The file format (XML, namespace RACI_NS, schema policies/raci.xsd) is
 * documented in docs/policies.md; policies/examples/plant.xml is the plant's.
 *
 * Loading validates against the built-in XSD and then checks what a schema
 * cannot: ids are unique, every activity has exactly one Accountable (a
 * principal, or a role with exactly one member) and at least one Responsible,
 * every referenced principal and role is defined, durations are valid.
 * Every problem is reported with file:line.
 *
 * Ownership: a raci_policy is immutable once loaded; every const char * it
 * returns lives as long as the policy. Threads: a loaded policy may be read
 * from many threads; a raci_eval belongs to one thread at a time. */
#ifndef AUDITD_RACI_H
#define AUDITD_RACI_H

#include "buf.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RACI_NS "urn:auditd:raci:1"
#define RACI_MAX_FILE (1u << 20)  /* policy files over 1 MiB are refused */
#define RACI_ID_MAX 128           /* ids (principal, role, activity), with NUL */
/* Where `auditd policy load` stores the policy in force, in the data dir. */
#define RACI_POLICY_FILE "raci.xml"
/* ...and every policy ever loaded, as policies/<sha256>.xml. */
#define RACI_POLICY_DIR "policies"

typedef struct raci_policy raci_policy;
typedef struct raci_activity raci_activity;

/* Assignment letters, combinable as a mask. */
enum { RACI_R = 1, RACI_A = 2, RACI_C = 4, RACI_I = 8 };

/* Called once per problem found while loading (may be NULL): `line` is the
 * 1-based line in `file` (0 when none applies). */
typedef void (*raci_diag_fn)(void *ctx, const char *file, long line, const char *msg);

/* Load and check a policy file. On failure returns ADT_EINVAL (or ADT_EIO,
 * ADT_ETOOBIG) with `err` holding the first problem as "file:line: message"
 * and a count of the others; every problem also goes to `diag`. */
int raci_load(const char *path, raci_diag_fn diag, void *dctx, raci_policy **out, adt_err *err);
/* The same from memory; `name` stands for the file name in messages. */
int raci_load_mem(const char *data, size_t len, const char *name, raci_diag_fn diag, void *dctx,
                  raci_policy **out, adt_err *err);
/* Load <data_dir>/raci.xml (the policy `auditd policy load` stored).
 * ADT_ENOTFOUND if no policy was loaded into this data directory. */
int raci_load_current(const char *data_dir, raci_policy **out, adt_err *err);
void raci_free(raci_policy *p);

/* The built-in schema (policies/raci.xsd) text, NUL-terminated. */
const char *raci_xsd(void);

/* Identity of the policy: the `name` and `version` attributes of the root,
 * and the lowercase hex SHA-256 of the file's exact bytes. */
const char *raci_name(const raci_policy *p);
const char *raci_version(const raci_policy *p);
const char *raci_sha256(const raci_policy *p);

/* Principals and roles. */
bool raci_principal_exists(const raci_policy *p, const char *principal);
bool raci_role_exists(const raci_policy *p, const char *role);
/* True if `principal` holds `role`. */
bool raci_has_role(const raci_policy *p, const char *principal, const char *role);

/* Activities, in file order. NULL if absent. */
const raci_activity *raci_find_activity(const raci_policy *p, const char *activity_id);
size_t raci_activity_count(const raci_policy *p);
const raci_activity *raci_activity_at(const raci_policy *p, size_t i);
const char *raci_activity_id(const raci_activity *a);
/* "data", "model", "incident", "compliance", "firmware", "access" or "other". */
const char *raci_activity_kind(const raci_activity *a);
/* The accountable principal (a role with one member is resolved to it). */
const char *raci_accountable(const raci_activity *a);
/* Must every Consulted party be consulted before a change is approved? */
bool raci_consult_required(const raci_activity *a);

/* The RACI_* letters `principal` holds on `activity`, resolving roles
 * (0 if none, or if the activity is unknown). */
int raci_letters(const raci_policy *p, const char *activity_id, const char *principal);
/* Shorthand: holds R or A. */
bool raci_may_act(const raci_policy *p, const char *activity_id, const char *principal);

/* One assignment as written: to a principal or to a role. */
typedef struct raci_assignee {
    const char *principal; /* non-NULL for a principal assignment */
    const char *role;      /* non-NULL for a role assignment */
} raci_assignee;
/* The assignments with letter `letter` (one of RACI_R/A/C/I), as written. */
size_t raci_assignees(const raci_activity *a, int letter, const raci_assignee **out);
/* The principals holding `letter` on `a` (roles expanded, deduplicated),
 * appended to `out` (room for `cap`); returns how many there are (may exceed cap). */
size_t raci_principals(const raci_policy *p, const raci_activity *a, int letter,
                       const char **out, size_t cap);

/* Service levels in seconds; -1 when the policy sets none.
 * ack/resolve: from incident.open; inform: from the triggering event. */
typedef struct raci_sla {
    int64_t ack_s, resolve_s, inform_s;
} raci_sla;
raci_sla raci_activity_sla(const raci_activity *a);

/* Parse a duration: ISO 8601 "PnW", "PnDTnHnMnS" (any subset, no years or
 * months, no fractions) or plain seconds "14400". ADT_EINVAL otherwise. */
int raci_parse_duration(const char *s, int64_t *seconds);

/* The policy as JSON (GET /v1/raci): name, version, sha256, roles,
 * principals, activities with r/a/c/i, consult_before_approval and sla. */
int raci_to_json(const raci_policy *p, cJSON **out, adt_err *err);

/* ---- Evaluation -------------------------------------------------------
 * A small state machine fed the ledger's events in ledger order. It keeps
 * per-change and per-incident state (bounded by RACI_EVAL_MAX_OPEN) and calls
 * `fn` for each finding as soon as it can be decided. Findings:
 *
 *  rule id                      when
 *  raci.actor_not_responsible   change.request, firmware.deploy, model.deploy,
 *                               incident.ack or incident.resolve by a principal
 *                               who is neither R nor A of the activity
 *  raci.unknown_activity        a governed event naming an activity the policy
 *                               does not define
 *  raci.approver_not_accountable change.approve by anyone but the A
 *  raci.self_approval           change.approve by the change's requester
 *  raci.consult_missing         change.approve before every C was consulted
 *                               (activities with consult-before-approval)
 *  raci.deploy_unapproved       a deploy whose change_id has no approval by A
 *  raci.inform_late             an I not informed (notify.inform with ref) within
 *                               the inform SLA of incident.open or a deploy
 *  raci.ack_late, raci.resolve_late  incident SLA missed
 *
 * Deadline findings come when the late event arrives, or from
 * raci_eval_advance() once `now` passes the deadline with nothing arrived. */

#define RACI_EVAL_MAX_OPEN 100000  /* open changes + incidents + pending informs */
#define RACI_MAX_EVIDENCE 8

/* One event, fields borrowed for the call. */
typedef struct raci_event {
    const char *type;      /* e.g. "change.approve" */
    int64_t time_us;       /* the event's `time` */
    const char *actor;
    const char *activity;  /* may be NULL */
    const char *ref;       /* change_id, incident_id, or notify.inform's ref; may be NULL */
    uint64_t index;        /* ledger index */
} raci_event;

typedef struct raci_finding {
    const char *rule;          /* "raci.self_approval", ... (static string) */
    const char *severity;      /* "low" | "medium" | "high" */
    const char *activity;      /* borrowed for the callback */
    const char *ref;           /* change or incident id, may be NULL */
    const char *actor;         /* who did it (or who failed to), may be NULL */
    const char *owner;         /* the activity's accountable principal, may be NULL */
    const char *policy_version;
    const char *policy_sha256;
    char message[384];
    uint64_t evidence[RACI_MAX_EVIDENCE]; /* ledger indices, in order */
    size_t n_evidence;
    int64_t time_us;           /* when it became a finding */
} raci_finding;

typedef void (*raci_finding_fn)(void *ctx, const raci_finding *f);

typedef struct raci_eval raci_eval;

/* A new evaluation against `p` (borrowed; must outlive the evaluator). */
int raci_eval_new(const raci_policy *p, raci_finding_fn fn, void *ctx, raci_eval **out,
                  adt_err *err);
void raci_eval_free(raci_eval *e);
/* Feed one event. Events whose type RACI does not govern are ignored.
 * ADT_ETOOBIG if RACI_EVAL_MAX_OPEN would be exceeded. */
int raci_eval_feed(raci_eval *e, const raci_event *ev, adt_err *err);
/* Feed a ledger payload (the event object per docs/events.md): picks type,
 * time, actor, activity and change_id / incident_id / ref. Payloads without
 * a parsable time or actor are ignored (other rules report them). */
int raci_eval_feed_json(raci_eval *e, uint64_t index, const cJSON *payload, adt_err *err);
/* Report every deadline that passed by `now_us` with nothing arrived. */
int raci_eval_advance(raci_eval *e, int64_t now_us, adt_err *err);
/* Save the state (open changes, incidents, pending informs) as JSON so an
 * evaluation can resume from a cursor; restore into a fresh evaluator. */
int raci_eval_save(const raci_eval *e, cJSON **out, adt_err *err);
int raci_eval_restore(raci_eval *e, const cJSON *state, adt_err *err);

/* ---- Storing a policy in a data directory ----------------------------- */

/* Called by raci_store once the new policy is checked and staged, before it
 * is put in force; a non-zero return cancels the store (nothing changes).
 * The CLI appends the policy.load ledger event here. */
typedef int (*raci_store_commit_fn)(void *ctx, const raci_policy *p, adt_err *err);

/* Check `path`, copy it to <data_dir>/policies/<sha256>.xml, call `commit`
 * (may be NULL), then atomically replace <data_dir>/raci.xml with it.
 * Returns the loaded policy in *out (out may be NULL). */
int raci_store(const char *data_dir, const char *path, raci_store_commit_fn commit, void *cctx,
               raci_policy **out, adt_err *err);

#endif
