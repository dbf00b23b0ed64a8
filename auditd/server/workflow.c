#include "workflow.h"

#include "event.h"
#include "leaf.h"
#include "raci.h"
#include "rfc3339.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define MAX_ALERTS 100000
#define DEFAULT_ACK_S (4 * 3600)

typedef struct wf_alert {
    char id[129];
    char model[65];
    char activity[RACI_ID_MAX];
    uint64_t index;   /* of alert.raise */
    int64_t time_us;
    bool drift, acked, escalated, retrain_done;
} wf_alert;

struct workflow {
    char dir[4096];
    int lock_fd;      /* <data-dir>/workflow.lock, flock'd for a whole run */
    uint64_t cursor;  /* next entry to read */
    wf_alert *a;
    size_t n, cap;
    cJSON *pending;   /* model -> change_id of a retrain.request not decided yet */
    cJSON *triggers;  /* "retrain:<idx>" / "escalate:<idx>" -> true, acted already */
};

int workflow_new(const char *data_dir, workflow **out, adt_err *err)
{
    workflow *w = calloc(1, sizeof *w);
    if (w)
        w->lock_fd = -1;
    if (!w || !(w->pending = cJSON_CreateObject()) || !(w->triggers = cJSON_CreateObject())) {
        workflow_free(w);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    snprintf(w->dir, sizeof w->dir, "%s", data_dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/" WORKFLOW_LOCK_FILE, data_dir);
    w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (w->lock_fd < 0) {
        int e = errno;
        workflow_free(w);
        return adt_fail(err, ADT_EIO, "cannot open %s: %s (the workflows' lock; is the data "
                        "directory writable?)", path, strerror(e));
    }
    *out = w;
    return ADT_OK;
}

void workflow_free(workflow *w)
{
    if (!w)
        return;
    if (w->lock_fd >= 0)
        close(w->lock_fd);
    free(w->a);
    cJSON_Delete(w->pending);
    cJSON_Delete(w->triggers);
    free(w);
}

static const char *js(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static wf_alert *find_alert(workflow *w, const char *id)
{
    for (size_t i = w->n; i-- > 0;)
        if (!strcmp(w->a[i].id, id))
            return &w->a[i];
    return NULL;
}

static void mark(workflow *w, const char *what, double idx)
{
    char k[64];
    snprintf(k, sizeof k, "%s:%.0f", what, idx);
    if (!cJSON_GetObjectItemCaseSensitive(w->triggers, k))
        cJSON_AddTrueToObject(w->triggers, k);
}

static bool marked(workflow *w, const char *what, uint64_t idx)
{
    char k[64];
    snprintf(k, sizeof k, "%s:%llu", what, (unsigned long long)idx);
    return cJSON_GetObjectItemCaseSensitive(w->triggers, k) != NULL;
}

static const char *const watched[] = {"alert.raise", "alert.ack", "alert.resolve", "alert.escalate",
                                      "retrain.request", "change.approve", "change.reject"};

static int on_entry(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    workflow *w = ctx;
    leaf_view lv;
    adt_err perr;
    if (leaf_parse(leaf, len, index, &lv, &perr))
        return 0; /* not a leaf of the ledger's form: verify reports it */
    bool hit = false;
    for (size_t i = 0; i < sizeof watched / sizeof *watched && !hit; i++)
        hit = !strcmp(watched[i], lv.type);
    if (!hit)
        return 0;
    cJSON *l = cJSON_ParseWithLength(lv.payload, lv.payload_len);
    const cJSON *p = l;
    const char *type = js(p, "type"), *id = js(p, "alert_id");
    const char *writer = lv.writer == EVENT_WRITER_AUDITD ? "auditd" : NULL;
    if (!type) {
        cJSON_Delete(l);
        return 0;
    }
    if (!strcmp(type, "alert.raise") && id && strlen(id) < sizeof w->a[0].id && !find_alert(w, id) &&
        w->n < MAX_ALERTS) {
        if (w->n == w->cap) {
            size_t nc = w->cap ? w->cap * 2 : 64;
            wf_alert *na = realloc(w->a, nc * sizeof *na);
            if (!na) {
                cJSON_Delete(l);
                return ADT_ENOMEM;
            }
            w->a = na;
            w->cap = nc;
        }
        wf_alert *a = &w->a[w->n++];
        memset(a, 0, sizeof *a);
        snprintf(a->id, sizeof a->id, "%s", id);
        const char *m = js(p, "model"), *k = js(p, "kind"), *act = js(p, "activity"), *t = js(p, "time");
        snprintf(a->model, sizeof a->model, "%s", m && strlen(m) < sizeof a->model ? m : "");
        snprintf(a->activity, sizeof a->activity, "%s", act && strlen(act) < sizeof a->activity ? act : "");
        a->drift = k && !strcmp(k, "drift") && a->model[0];
        a->index = index;
        if (!t || rfc3339_parse(t, strlen(t), &a->time_us))
            a->time_us = 0;
    } else if ((!strcmp(type, "alert.ack") || !strcmp(type, "alert.resolve")) && id) {
        wf_alert *a = find_alert(w, id);
        if (a)
            a->acked = true;
    } else if (!strcmp(type, "alert.escalate") && writer && !strcmp(writer, "auditd")) {
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(p, "trigger");
        if (cJSON_IsNumber(tr))
            mark(w, "escalate", tr->valuedouble);
    } else if (!strcmp(type, "retrain.request") && writer && !strcmp(writer, "auditd")) {
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(p, "trigger");
        const char *m = js(p, "model"), *cid = js(p, "change_id");
        if (cJSON_IsNumber(tr))
            mark(w, "retrain", tr->valuedouble);
        if (m && cid) {
            cJSON_DeleteItemFromObjectCaseSensitive(w->pending, m);
            cJSON_AddStringToObject(w->pending, m, cid);
        }
    } else if (!strcmp(type, "change.approve") || !strcmp(type, "change.reject")) {
        const char *cid = js(p, "change_id");
        cJSON *e = w->pending->child;
        while (cid && e) {
            cJSON *next = e->next;
            if (cJSON_IsString(e) && !strcmp(e->valuestring, cid))
                cJSON_DeleteItemFromObjectCaseSensitive(w->pending, e->string);
            e = next;
        }
    }
    cJSON_Delete(l);
    return 0;
}

static int emit(workflow *w, const char *type, cJSON *ev, int64_t now_us, workflow_append_fn fn,
                void *ctx, adt_err *err)
{
    char t[40];
    rfc3339_format(now_us, t, sizeof t);
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddStringToObject(ev, "time", t);
    cJSON_AddStringToObject(ev, "actor", WORKFLOW_ACTOR);
    char *text = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    if (!text)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    buf canon;
    buf_init(&canon, 65536);
    event_info info;
    int rc = event_validate(text, strlen(text), NULL, &canon, &info, err);
    free(text);
    uint64_t idx = 0;
    if (!rc)
        rc = fn(ctx, type, canon.data, canon.len, &idx, err);
    buf_free(&canon);
    (void)w;
    return rc;
}

static int run_locked(workflow *w, ledger *lg, int64_t now_us, workflow_append_fn fn, void *ctx,
                      size_t *actions, adt_err *err);

/* Every runner (the daemon's thread, `auditd workflow run`, in any process)
 * takes the lock for the whole run and reads the ledger up to its end under
 * it: an action appended by another runner is seen before this one decides,
 * so no trigger is acted on twice. The kernel drops the lock of a runner
 * that dies. */
int workflow_run(workflow *w, ledger *lg, int64_t now_us, workflow_append_fn fn, void *ctx,
                 size_t *actions, adt_err *err)
{
    if (actions)
        *actions = 0;
    while (flock(w->lock_fd, LOCK_EX) != 0)
        if (errno != EINTR)
            return adt_fail(err, ADT_EIO, "locking %s/" WORKFLOW_LOCK_FILE ": %s", w->dir,
                            strerror(errno));
    int rc = run_locked(w, lg, now_us, fn, ctx, actions, err);
    flock(w->lock_fd, LOCK_UN);
    return rc;
}

static int run_locked(workflow *w, ledger *lg, int64_t now_us, workflow_append_fn fn, void *ctx,
                      size_t *actions, adt_err *err)
{
    size_t done = 0;
    uint64_t size = 0;
    int rc = ledger_size(lg, &size, err);
    if (!rc && size > w->cursor)
        rc = ledger_scan(lg, w->cursor, size, on_entry, w, err);
    if (rc)
        return rc;
    w->cursor = size;
    raci_policy *pol = NULL;
    adt_err perr = {0};
    if (raci_load_current(w->dir, &pol, &perr)) {
        if (actions)
            *actions = 0;
        return ADT_OK; /* no policy: nobody to assign or escalate to */
    }
    const raci_activity *inc = NULL;
    for (size_t i = 0; i < raci_activity_count(pol) && !inc; i++)
        if (!strcmp(raci_activity_kind(raci_activity_at(pol, i)), "incident"))
            inc = raci_activity_at(pol, i);
    for (size_t i = 0; !rc && i < w->n; i++) {
        wf_alert *a = &w->a[i];
        char act[RACI_ID_MAX];
        if (a->activity[0])
            snprintf(act, sizeof act, "%s", a->activity);
        else if (a->model[0])
            snprintf(act, sizeof act, "model:%s", a->model);
        else
            snprintf(act, sizeof act, "%s", inc ? raci_activity_id(inc) : "");
        const raci_activity *ra = raci_find_activity(pol, act);
        if (!ra && inc) {
            ra = inc;
            snprintf(act, sizeof act, "%s", raci_activity_id(inc));
        }
        if (!ra)
            continue;
        /* drift -> retraining change request */
        if (a->drift && !marked(w, "retrain", a->index) &&
            !cJSON_GetObjectItemCaseSensitive(w->pending, a->model)) {
            char mact[RACI_ID_MAX], cid[160];
            snprintf(mact, sizeof mact, "model:%s", a->model);
            const raci_activity *ma = raci_find_activity(pol, mact);
            if (ma) {
                snprintf(cid, sizeof cid, "RETRAIN-%s-%llu", a->model, (unsigned long long)a->index);
                cJSON *ev = cJSON_CreateObject();
                cJSON_AddStringToObject(ev, "change_id", cid);
                cJSON_AddStringToObject(ev, "activity", mact);
                cJSON_AddStringToObject(ev, "model", a->model);
                char tgt[80];
                snprintf(tgt, sizeof tgt, "model:%s", a->model);
                cJSON_AddStringToObject(ev, "target", tgt);
                const char *who[32];
                size_t n = raci_principals(pol, ma, RACI_R, who, 32);
                cJSON *as = cJSON_AddArrayToObject(ev, "assigned");
                for (size_t k = 0; k < n && k < 32; k++)
                    if (strncmp(who[k], "agent:", 6))
                        cJSON_AddItemToArray(as, cJSON_CreateString(who[k]));
                cJSON_AddStringToObject(ev, "accountable", raci_accountable(ma));
                cJSON_AddNumberToObject(ev, "trigger", (double)a->index);
                char why[400];
                snprintf(why, sizeof why, "drift alert %s on %s", a->id, a->model);
                cJSON_AddStringToObject(ev, "reason", why);
                rc = emit(w, "retrain.request", ev, now_us, fn, ctx, err);
                if (!rc) {
                    mark(w, "retrain", (double)a->index);
                    cJSON_AddStringToObject(w->pending, a->model, cid);
                    done++;
                }
            }
        }
        /* unacknowledged past its SLA -> escalate to the Accountable */
        int64_t sla = raci_activity_sla(ra).ack_s;
        if (sla <= 0 && inc)
            sla = raci_activity_sla(inc).ack_s;
        if (sla <= 0)
            sla = DEFAULT_ACK_S;
        if (!rc && !a->acked && a->time_us && now_us > a->time_us + sla * 1000000LL &&
            !marked(w, "escalate", a->index)) {
            cJSON *ev = cJSON_CreateObject();
            cJSON_AddStringToObject(ev, "alert_id", a->id);
            cJSON_AddStringToObject(ev, "activity", act);
            cJSON_AddStringToObject(ev, "to", raci_accountable(ra));
            cJSON_AddNumberToObject(ev, "sla_seconds", (double)sla);
            cJSON_AddNumberToObject(ev, "trigger", (double)a->index);
            rc = emit(w, "alert.escalate", ev, now_us, fn, ctx, err);
            if (!rc) {
                mark(w, "escalate", (double)a->index);
                done++;
            }
        }
    }
    raci_free(pol);
    if (actions)
        *actions = done;
    return rc;
}
