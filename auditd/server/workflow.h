/* workflow.h: automated workflows: rules that act, not only find.
 *
 *  - a drift detection (`alert.raise` of kind drift naming a model) opens a
 *    retraining change request, `retrain.request`, assigned to the
 *    Responsible people of the model's RACI activity and naming its
 *    Accountable (unless one is pending for that model already);
 *  - an alert not acknowledged within its SLA (the RACI `ack` of the
 *    alert's activity, else that of the first incident activity, else 4 h)
 *    is escalated to the activity's Accountable: `alert.escalate`.
 * Each action is one ledger event written by auditd (actor
 * "auditd:workflow") whose `trigger` is the ledger index of the event that
 * caused it. Idempotent: state is rebuilt from the ledger, and an action
 * whose trigger already has its event is not taken twice, also when several
 * runners (the daemon's workflow thread, `auditd workflow run`, in as many
 * processes) run at once: a run holds an exclusive lock on
 * <data-dir>/workflow.lock (flock) while it reads the ledger to its end,
 * decides and appends, so a runner always sees the other runners' actions
 * before it decides (docs/console.md, "Automated workflows").
 * Threads: a workflow belongs to one thread at a time. */
#ifndef AUDITD_WORKFLOW_H
#define AUDITD_WORKFLOW_H

#include "ledger.h"
#include "status.h"

#include <stddef.h>
#include <stdint.h>

#define WORKFLOW_ACTOR "auditd:workflow"
#define WORKFLOW_SOURCE "auditd:workflow"
#define WORKFLOW_LOCK_FILE "workflow.lock"

/* Append one canonical event payload of `type`; OUT: its index. */
typedef int (*workflow_append_fn)(void *ctx, const char *type, const char *payload, size_t len,
                                  uint64_t *index, adt_err *err);

typedef struct workflow workflow;

int workflow_new(const char *data_dir, workflow **out, adt_err *err);
void workflow_free(workflow *w);

/* Read the entries of `lg` not seen yet, then take every action due at
 * `now_us`. OUT: actions (may be NULL). */
int workflow_run(workflow *w, ledger *lg, int64_t now_us, workflow_append_fn fn, void *ctx,
                 size_t *actions, adt_err *err);

#endif
