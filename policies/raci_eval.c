/* raci_eval.c: the incremental RACI evaluation (raci.h, "Evaluation").
 *
 * State, all bounded together by RACI_EVAL_MAX_OPEN:
 *  - open changes by change_id: activity, requester, who was consulted,
 *    whether the accountable approved; closed by a deploy or a reject;
 *  - open incidents by incident_id: open time, acknowledged?; closed by resolve;
 *  - inform obligations by ref (change or incident id): who must still be
 *    informed and by when; closed when everyone is informed or reported late.
 * Every finding carries the ledger indices of the events that evidence it. */
#include "raci_int.h"

#include "hmap.h"
#include "rfc3339.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONSULTS 64 /* consultations remembered per change */

/* ---- State ----------------------------------------------------------------- */

typedef struct chg {
    char *activity;   /* as named by the first event, may be NULL */
    char *requester;  /* NULL if the request was not seen */
    uint64_t req_index;
    char *consulted[MAX_CONSULTS];
    uint64_t consult_index[MAX_CONSULTS];
    size_t ncons;
    bool approved;    /* by the accountable */
    uint64_t approve_index;
} chg;

typedef struct inc {
    char *activity;
    uint64_t open_index;
    int64_t open_us;
    bool acked, ack_reported, resolve_reported;
} inc;

enum { OB_PENDING = 0, OB_DONE = 1, OB_REPORTED = 2 };

typedef struct obl {
    char *activity;
    uint64_t trigger_index;
    int64_t deadline_us;
    size_t n;               /* = the activity's informed count */
    unsigned char *state;   /* per informed assignee */
} obl;

struct raci_eval {
    const raci_policy *p;
    raci_finding_fn fn;
    void *ctx;
    hmap changes, incidents, obls; /* by change id, incident id, inform key */
};

static void chg_free(chg *c)
{
    if (!c)
        return;
    free(c->activity);
    free(c->requester);
    for (size_t i = 0; i < c->ncons; i++)
        free(c->consulted[i]);
    free(c);
}

static void inc_free(inc *i)
{
    if (!i)
        return;
    free(i->activity);
    free(i);
}

static void obl_free(obl *o)
{
    if (!o)
        return;
    free(o->activity);
    free(o->state);
    free(o);
}

static void chg_free_v(void *v) { chg_free(v); }
static void inc_free_v(void *v) { inc_free(v); }
static void obl_free_v(void *v) { obl_free(v); }

int raci_eval_new(const raci_policy *p, raci_finding_fn fn, void *ctx, raci_eval **out,
                  adt_err *err)
{
    *out = NULL;
    if (!p)
        return adt_fail(err, ADT_EINVAL, "no RACI policy given");
    raci_eval *e = calloc(1, sizeof *e);
    if (!e)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    e->p = p;
    e->fn = fn;
    e->ctx = ctx;
    *out = e;
    return ADT_OK;
}

void raci_eval_free(raci_eval *e)
{
    if (!e)
        return;
    hmap_free(&e->changes, chg_free_v);
    hmap_free(&e->incidents, inc_free_v);
    hmap_free(&e->obls, obl_free_v);
    free(e);
}

static size_t open_count(const raci_eval *e)
{
    return e->changes.live + e->incidents.live + e->obls.live;
}

static int check_room(const raci_eval *e, adt_err *err)
{
    if (open_count(e) >= RACI_EVAL_MAX_OPEN)
        return adt_fail(err, ADT_ETOOBIG,
                        "RACI evaluation: over %d open changes, incidents and inform "
                        "obligations; close changes (deploy/reject) and resolve incidents",
                        RACI_EVAL_MAX_OPEN);
    return ADT_OK;
}

/* ---- Findings -------------------------------------------------------------- */

static void emit(raci_eval *e, const char *rule, const char *sev, const raci_activity *a,
                 const char *activity, const char *ref, const char *actor, int64_t t,
                 const uint64_t *ev, size_t nev, const char *fmt, ...)
    __attribute__((format(printf, 11, 12)));

static void emit(raci_eval *e, const char *rule, const char *sev, const raci_activity *a,
                 const char *activity, const char *ref, const char *actor, int64_t t,
                 const uint64_t *ev, size_t nev, const char *fmt, ...)
{
    if (!e->fn)
        return;
    raci_finding f = {0};
    f.rule = rule;
    f.severity = sev;
    f.activity = a ? a->id : activity;
    f.ref = ref;
    f.actor = actor;
    f.owner = a ? a->accountable : NULL;
    f.policy_version = e->p->version;
    f.policy_sha256 = e->p->sha256;
    f.time_us = t;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f.message, sizeof f.message, fmt, ap);
    va_end(ap);
    /* Evidence in ledger order, without duplicates. */
    for (size_t i = 0; i < nev && f.n_evidence < RACI_MAX_EVIDENCE; i++) {
        size_t j = f.n_evidence;
        bool dup = false;
        for (size_t k = 0; k < f.n_evidence; k++)
            dup |= f.evidence[k] == ev[i];
        if (dup)
            continue;
        while (j > 0 && f.evidence[j - 1] > ev[i]) {
            f.evidence[j] = f.evidence[j - 1];
            j--;
        }
        f.evidence[j] = ev[i];
        f.n_evidence++;
    }
    e->fn(e->ctx, &f);
}

static const char *or_unknown(const char *s)
{
    return s ? s : "(unknown)";
}

/* ---- Event handlers -------------------------------------------------------- */

/* The activity named by the event (or remembered for its change/incident).
 * Reports an activity the policy does not define. */
static const raci_activity *activity_of(raci_eval *e, const raci_event *ev, const char *stored)
{
    const char *id = ev->activity ? ev->activity : stored;
    if (!id)
        return NULL;
    const raci_activity *a = raci_find_activity(e->p, id);
    if (!a) {
        uint64_t x = ev->index;
        emit(e, "raci.unknown_activity", "medium", NULL, id, ev->ref, ev->actor, ev->time_us, &x,
             1, "%s names activity '%s', which RACI policy %s does not define", ev->type, id,
             e->p->version);
    }
    return a;
}

/* An action (request, deploy, ack, resolve) must be done by an R or the A. */
static void check_actor(raci_eval *e, const raci_activity *a, const raci_event *ev)
{
    if (!a || raci_may_act(e->p, a->id, ev->actor))
        return;
    uint64_t x = ev->index;
    emit(e, "raci.actor_not_responsible", "high", a, NULL, ev->ref, ev->actor, ev->time_us, &x, 1,
         "%s on %s by '%s', who is neither responsible nor accountable (accountable: %s)",
         ev->type, a->id, or_unknown(ev->actor), or_unknown(a->accountable));
}

static int get_change(raci_eval *e, const raci_event *ev, chg **out, adt_err *err)
{
    *out = hmap_gets(&e->changes, ev->ref);
    if (*out) {
        /* A change first seen without an activity learns it from a later event. */
        if (!(*out)->activity && ev->activity && !((*out)->activity = strdup(ev->activity)))
            return adt_fail(err, ADT_ENOMEM, "out of memory");
        return ADT_OK;
    }
    int rc = check_room(e, err);
    if (rc != ADT_OK)
        return rc;
    chg *c = calloc(1, sizeof *c);
    if (!c)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    if (ev->activity && !(c->activity = strdup(ev->activity))) {
        chg_free(c);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    if (hmap_put(&e->changes, ev->ref, strlen(ev->ref), c, NULL) != ADT_OK) {
        chg_free(c);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    *out = c;
    return ADT_OK;
}

static int on_request(raci_eval *e, const raci_event *ev, adt_err *err)
{
    const raci_activity *a = activity_of(e, ev, NULL);
    check_actor(e, a, ev);
    if (!ev->ref)
        return ADT_OK;
    chg *c;
    int rc = get_change(e, ev, &c, err);
    if (rc != ADT_OK || c->requester)
        return rc; /* a repeated request keeps the first requester */
    if (ev->actor && !(c->requester = strdup(ev->actor)))
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    c->req_index = ev->index;
    return ADT_OK;
}

static int on_consult(raci_eval *e, const raci_event *ev, adt_err *err)
{
    if (!ev->ref || !ev->actor)
        return ADT_OK;
    chg *c;
    int rc = get_change(e, ev, &c, err);
    if (rc != ADT_OK || c->ncons >= MAX_CONSULTS)
        return rc;
    for (size_t i = 0; i < c->ncons; i++)
        if (!strcmp(c->consulted[i], ev->actor))
            return ADT_OK;
    if (!(c->consulted[c->ncons] = strdup(ev->actor)))
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    c->consult_index[c->ncons++] = ev->index;
    return ADT_OK;
}

static int on_approve(raci_eval *e, const raci_event *ev, adt_err *err)
{
    chg *c = NULL;
    if (ev->ref) {
        int rc = get_change(e, ev, &c, err);
        if (rc != ADT_OK)
            return rc;
    }
    const raci_activity *a = activity_of(e, ev, c ? c->activity : NULL);
    if (!a)
        return ADT_OK;
    uint64_t evid[RACI_MAX_EVIDENCE];
    size_t n = 0;
    if (c && c->requester)
        evid[n++] = c->req_index;
    evid[n++] = ev->index;
    bool is_a = ev->actor && a->accountable && !strcmp(ev->actor, a->accountable);
    if (!is_a)
        emit(e, "raci.approver_not_accountable", "high", a, NULL, ev->ref, ev->actor,
             ev->time_us, evid, n,
             "change %s on %s approved by '%s'; only the accountable '%s' may approve",
             or_unknown(ev->ref), a->id, or_unknown(ev->actor), or_unknown(a->accountable));
    if (c && c->requester && ev->actor && !strcmp(c->requester, ev->actor))
        emit(e, "raci.self_approval", "high", a, NULL, ev->ref, ev->actor, ev->time_us, evid, n,
             "change %s on %s was requested and approved by the same principal '%s'",
             or_unknown(ev->ref), a->id, ev->actor);
    if (a->consult) {
        char missing[256] = "";
        size_t ml = 0;
        for (size_t i = 0; i < a->n[RACI_IX_C]; i++) {
            const raci_assignee *as = &a->as[RACI_IX_C][i];
            bool ok = false;
            for (size_t k = 0; c && k < c->ncons && !ok; k++)
                if (raci__matches(e->p, as, c->consulted[k])) {
                    ok = true;
                    if (n < RACI_MAX_EVIDENCE)
                        evid[n++] = c->consult_index[k];
                }
            if (!ok && ml < sizeof missing) {
                int w = snprintf(missing + ml, sizeof missing - ml, "%s%s%s", ml ? ", " : "",
                                 as->role ? "role " : "", as->principal ? as->principal : as->role);
                ml += w > 0 ? (size_t)w : 0;
            }
        }
        if (missing[0])
            emit(e, "raci.consult_missing", "medium", a, NULL, ev->ref, ev->actor, ev->time_us,
                 evid, n, "change %s on %s approved by '%s' before consulting %s",
                 or_unknown(ev->ref), a->id, or_unknown(ev->actor), missing);
    }
    if (c && is_a && !c->approved) {
        c->approved = true;
        c->approve_index = ev->index;
    }
    return ADT_OK;
}

static int on_reject(raci_eval *e, const raci_event *ev, adt_err *err)
{
    (void)err;
    if (ev->ref)
        chg_free(hmap_del(&e->changes, ev->ref, strlen(ev->ref)));
    return ADT_OK;
}

/* Start an inform obligation keyed by `key` for activity `a` at `ev`. */
static int start_inform(raci_eval *e, const raci_activity *a, const raci_event *ev,
                        const char *key, adt_err *err)
{
    if (!a || a->sla.inform_s < 0 || a->n[RACI_IX_I] == 0 || hmap_gets(&e->obls, key))
        return ADT_OK;
    int rc = check_room(e, err);
    if (rc != ADT_OK)
        return rc;
    obl *o = calloc(1, sizeof *o);
    if (!o || !(o->activity = strdup(a->id)) || !(o->state = calloc(a->n[RACI_IX_I], 1))) {
        obl_free(o);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    o->n = a->n[RACI_IX_I];
    o->trigger_index = ev->index;
    o->deadline_us = ev->time_us + a->sla.inform_s * INT64_C(1000000);
    if (hmap_put(&e->obls, key, strlen(key), o, NULL) != ADT_OK) {
        obl_free(o);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    return ADT_OK;
}

static int on_deploy(raci_eval *e, const raci_event *ev, adt_err *err)
{
    chg *c = ev->ref ? hmap_gets(&e->changes, ev->ref) : NULL;
    const raci_activity *a = activity_of(e, ev, c ? c->activity : NULL);
    if (!a)
        return ADT_OK;
    check_actor(e, a, ev);
    if (!c || !c->approved) {
        uint64_t evid[2];
        size_t n = 0;
        if (c && c->requester)
            evid[n++] = c->req_index;
        evid[n++] = ev->index;
        emit(e, "raci.deploy_unapproved", "high", a, NULL, ev->ref, ev->actor, ev->time_us, evid,
             n, "%s of %s (change %s) without an approval by the accountable '%s'", ev->type,
             a->id, or_unknown(ev->ref), or_unknown(a->accountable));
    }
    char key[80];
    const char *k = ev->ref;
    if (!k) {
        snprintf(key, sizeof key, "deploy#%llu", (unsigned long long)ev->index);
        k = key;
    }
    int rc = start_inform(e, a, ev, k, err);
    if (ev->ref)
        chg_free(hmap_del(&e->changes, ev->ref, strlen(ev->ref)));
    return rc;
}

static int on_inform(raci_eval *e, const raci_event *ev, adt_err *err)
{
    (void)err;
    obl *o = ev->ref ? hmap_gets(&e->obls, ev->ref) : NULL;
    if (!o)
        return ADT_OK;
    const raci_activity *a = raci_find_activity(e->p, o->activity);
    if (!a)
        return ADT_OK;
    bool open = false;
    for (size_t i = 0; i < o->n; i++) {
        if (o->state[i] == OB_PENDING && raci__matches(e->p, &a->as[RACI_IX_I][i], ev->actor)) {
            o->state[i] = OB_DONE;
            if (ev->time_us > o->deadline_us) {
                uint64_t evid[2] = {o->trigger_index, ev->index};
                emit(e, "raci.inform_late", "low", a, NULL, ev->ref, ev->actor, ev->time_us,
                     evid, 2, "'%s' was informed about %s on %s %lld s after the deadline",
                     ev->actor, ev->ref, a->id,
                     (long long)((ev->time_us - o->deadline_us) / 1000000));
            }
        }
        open |= o->state[i] == OB_PENDING;
    }
    if (!open)
        obl_free(hmap_del(&e->obls, ev->ref, strlen(ev->ref)));
    return ADT_OK;
}

static int on_incident_open(raci_eval *e, const raci_event *ev, adt_err *err)
{
    const raci_activity *a = activity_of(e, ev, NULL);
    if (!a || !ev->ref || hmap_gets(&e->incidents, ev->ref))
        return ADT_OK;
    int rc = check_room(e, err);
    if (rc != ADT_OK)
        return rc;
    inc *i = calloc(1, sizeof *i);
    if (!i || !(i->activity = strdup(a->id)) || hmap_put(&e->incidents, ev->ref, strlen(ev->ref), i, NULL) != ADT_OK) {
        inc_free(i);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    i->open_index = ev->index;
    i->open_us = ev->time_us;
    return start_inform(e, a, ev, ev->ref, err);
}

static void late_check(raci_eval *e, const raci_activity *a, const inc *i, const raci_event *ev,
                       int64_t sla_s, const char *rule, const char *what)
{
    if (sla_s < 0 || ev->time_us <= i->open_us + sla_s * INT64_C(1000000))
        return;
    uint64_t evid[2] = {i->open_index, ev->index};
    emit(e, rule, "medium", a, NULL, ev->ref, ev->actor, ev->time_us, evid, 2,
         "incident %s on %s %s after %lld s; the SLA is %lld s", ev->ref, a->id, what,
         (long long)((ev->time_us - i->open_us) / 1000000), (long long)sla_s);
}

static int on_incident_ack(raci_eval *e, const raci_event *ev, bool resolve, adt_err *err)
{
    (void)err;
    inc *i = ev->ref ? hmap_gets(&e->incidents, ev->ref) : NULL;
    const raci_activity *a = activity_of(e, ev, i ? i->activity : NULL);
    check_actor(e, a, ev);
    if (!i || !a)
        return ADT_OK;
    if (!i->acked) {
        i->acked = true;
        if (!i->ack_reported)
            late_check(e, a, i, ev, a->sla.ack_s, "raci.ack_late", "acknowledged");
    }
    if (resolve) {
        if (!i->resolve_reported)
            late_check(e, a, i, ev, a->sla.resolve_s, "raci.resolve_late", "resolved");
        inc_free(hmap_del(&e->incidents, ev->ref, strlen(ev->ref)));
    }
    return ADT_OK;
}

int raci_eval_feed(raci_eval *e, const raci_event *ev, adt_err *err)
{
    if (!ev || !ev->type)
        return adt_fail(err, ADT_EINVAL, "event without a type");
    const char *t = ev->type;
    if (!strcmp(t, "change.request"))
        return on_request(e, ev, err);
    if (!strcmp(t, "change.consult"))
        return on_consult(e, ev, err);
    if (!strcmp(t, "change.approve"))
        return on_approve(e, ev, err);
    if (!strcmp(t, "change.reject"))
        return on_reject(e, ev, err);
    if (!strcmp(t, "firmware.deploy") || !strcmp(t, "model.deploy"))
        return on_deploy(e, ev, err);
    if (!strcmp(t, "notify.inform"))
        return on_inform(e, ev, err);
    if (!strcmp(t, "incident.open"))
        return on_incident_open(e, ev, err);
    if (!strcmp(t, "incident.ack"))
        return on_incident_ack(e, ev, false, err);
    if (!strcmp(t, "incident.resolve"))
        return on_incident_ack(e, ev, true, err);
    return ADT_OK;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int raci_eval_feed_json(raci_eval *e, uint64_t index, const cJSON *payload, adt_err *err)
{
    raci_event ev = {0};
    ev.type = jstr(payload, "type");
    ev.actor = jstr(payload, "actor");
    const char *time = jstr(payload, "time");
    if (!ev.type || !ev.actor || !time || rfc3339_parse(time, strlen(time), &ev.time_us) != ADT_OK)
        return ADT_OK;
    ev.activity = jstr(payload, "activity");
    ev.ref = jstr(payload, "change_id");
    if (!ev.ref)
        ev.ref = jstr(payload, "incident_id");
    if (!ev.ref)
        ev.ref = jstr(payload, "ref");
    ev.index = index;
    return raci_eval_feed(e, &ev, err);
}

int raci_eval_advance(raci_eval *e, int64_t now_us, adt_err *err)
{
    (void)err;
    const char *key;
    void *val;
    for (size_t it = 0; hmap_next(&e->incidents, &it, &key, NULL, &val);) {
        inc *i = val;
        const raci_activity *a = raci_find_activity(e->p, i->activity);
        if (!a)
            continue;
        int64_t ack_dl = i->open_us + a->sla.ack_s * INT64_C(1000000);
        int64_t res_dl = i->open_us + a->sla.resolve_s * INT64_C(1000000);
        if (!i->acked && !i->ack_reported && a->sla.ack_s >= 0 && now_us > ack_dl) {
            i->ack_reported = true;
            emit(e, "raci.ack_late", "medium", a, NULL, key, NULL, ack_dl, &i->open_index, 1,
                 "incident %s on %s not acknowledged within the SLA of %lld s", key, a->id,
                 (long long)a->sla.ack_s);
        }
        if (!i->resolve_reported && a->sla.resolve_s >= 0 && now_us > res_dl) {
            i->resolve_reported = true;
            emit(e, "raci.resolve_late", "medium", a, NULL, key, NULL, res_dl, &i->open_index, 1,
                 "incident %s on %s not resolved within the SLA of %lld s", key, a->id,
                 (long long)a->sla.resolve_s);
        }
    }
    for (size_t it = 0; hmap_next(&e->obls, &it, &key, NULL, &val);) {
        obl *o = val;
        if (now_us <= o->deadline_us)
            continue;
        const raci_activity *a = raci_find_activity(e->p, o->activity);
        for (size_t i = 0; a && i < o->n; i++) {
            if (o->state[i] != OB_PENDING)
                continue;
            o->state[i] = OB_REPORTED;
            const raci_assignee *as = &a->as[RACI_IX_I][i];
            const char *who = as->principal ? as->principal : as->role;
            emit(e, "raci.inform_late", "low", a, NULL, key, who, o->deadline_us,
                 &o->trigger_index, 1, "%s%s was not informed about %s on %s within %lld s",
                 as->role ? "role " : "", who, key, a->id, (long long)a->sla.inform_s);
        }
        /* Deleting leaves a tombstone: safe while iterating the slots. */
        obl_free(hmap_del(&e->obls, key, strlen(key)));
    }
    return ADT_OK;
}

/* ---- Save and restore -------------------------------------------------------- */

static cJSON *u64_json(uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    return cJSON_CreateString(s);
}

static cJSON *i64_json(int64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)v);
    return cJSON_CreateString(s);
}

int raci_eval_save(const raci_eval *e, cJSON **out, adt_err *err)
{
    *out = NULL;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    cJSON_AddStringToObject(j, "policy_sha256", e->p->sha256);
    cJSON *ch = cJSON_AddObjectToObject(j, "changes");
    const char *key;
    void *val;
    for (size_t it = 0; ch && hmap_next(&e->changes, &it, &key, NULL, &val);) {
        const chg *c = val;
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        if (c->activity)
            cJSON_AddStringToObject(o, "activity", c->activity);
        if (c->requester) {
            cJSON_AddStringToObject(o, "requester", c->requester);
            cJSON_AddItemToObject(o, "req_index", u64_json(c->req_index));
        }
        if (c->approved)
            cJSON_AddItemToObject(o, "approve_index", u64_json(c->approve_index));
        cJSON *cons = cJSON_AddArrayToObject(o, "consulted");
        for (size_t i = 0; cons && i < c->ncons; i++) {
            cJSON *pair = cJSON_CreateArray();
            cJSON_AddItemToArray(pair, cJSON_CreateString(c->consulted[i]));
            cJSON_AddItemToArray(pair, u64_json(c->consult_index[i]));
            cJSON_AddItemToArray(cons, pair);
        }
        cJSON_AddItemToObject(ch, key, o);
    }
    cJSON *in = cJSON_AddObjectToObject(j, "incidents");
    for (size_t it = 0; in && hmap_next(&e->incidents, &it, &key, NULL, &val);) {
        const inc *i = val;
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "activity", i->activity);
        cJSON_AddItemToObject(o, "open_index", u64_json(i->open_index));
        cJSON_AddItemToObject(o, "open_us", i64_json(i->open_us));
        cJSON_AddBoolToObject(o, "acked", i->acked);
        cJSON_AddBoolToObject(o, "ack_reported", i->ack_reported);
        cJSON_AddBoolToObject(o, "resolve_reported", i->resolve_reported);
        cJSON_AddItemToObject(in, key, o);
    }
    cJSON *ob = cJSON_AddObjectToObject(j, "informs");
    for (size_t it = 0; ob && hmap_next(&e->obls, &it, &key, NULL, &val);) {
        const obl *o = val;
        cJSON *x = cJSON_CreateObject();
        if (!x)
            break;
        cJSON_AddStringToObject(x, "activity", o->activity);
        cJSON_AddItemToObject(x, "trigger_index", u64_json(o->trigger_index));
        cJSON_AddItemToObject(x, "deadline_us", i64_json(o->deadline_us));
        cJSON *st = cJSON_AddArrayToObject(x, "state");
        for (size_t i = 0; st && i < o->n; i++)
            cJSON_AddItemToArray(st, cJSON_CreateNumber(o->state[i]));
        cJSON_AddItemToObject(ob, key, x);
    }
    char *probe = cJSON_PrintUnformatted(j);
    if (!probe) {
        cJSON_Delete(j);
        return adt_fail(err, ADT_ENOMEM, "out of memory saving RACI state");
    }
    free(probe);
    *out = j;
    return ADT_OK;
}

static int num_from(const cJSON *o, const char *k, bool is_signed, int64_t *out)
{
    const char *s = jstr(o, k);
    if (!s)
        return ADT_EINVAL;
    char *end;
    errno = 0;
    long long v = is_signed ? strtoll(s, &end, 10) : (long long)strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return ADT_EINVAL;
    *out = v;
    return ADT_OK;
}

/* One saved change (`x`, keyed by its reference). Returns ADT_OK, the
 * code of a failed get_change, or ADT_EINVAL when `x` is malformed. */
static int restore_change(raci_eval *e, const cJSON *x, adt_err *err)
{
    raci_event ev = {.ref = x->string, .activity = jstr(x, "activity")};
    chg *c;
    if (hmap_gets(&e->changes, x->string)) /* a duplicate key */
        return ADT_EINVAL;
    int rc = get_change(e, &ev, &c, err);
    if (rc)
        return rc;
    const char *rq = jstr(x, "requester");
    int64_t v;
    if (rq) {
        if (!(c->requester = strdup(rq)) || num_from(x, "req_index", false, &v))
            return ADT_EINVAL;
        c->req_index = (uint64_t)v;
    }
    if (num_from(x, "approve_index", false, &v) == ADT_OK) {
        c->approved = true;
        c->approve_index = (uint64_t)v;
    }
    const cJSON *pair;
    cJSON_ArrayForEach(pair, cJSON_GetObjectItemCaseSensitive(x, "consulted"))
    {
        const cJSON *who = cJSON_GetArrayItem(pair, 0), *idx = cJSON_GetArrayItem(pair, 1);
        if (c->ncons >= MAX_CONSULTS || !cJSON_IsString(who) || !cJSON_IsString(idx))
            return ADT_EINVAL;
        char *end;
        unsigned long long iv = strtoull(idx->valuestring, &end, 10);
        if (*end || !(c->consulted[c->ncons] = strdup(who->valuestring)))
            return ADT_EINVAL;
        c->consult_index[c->ncons++] = iv;
    }
    return ADT_OK;
}

/* One saved open incident. ADT_EINVAL when malformed. */
static int restore_incident(raci_eval *e, const cJSON *x, adt_err *err)
{
    const char *act = jstr(x, "activity");
    int64_t oi, ou;
    if (!act || hmap_gets(&e->incidents, x->string) || num_from(x, "open_index", false, &oi) ||
        num_from(x, "open_us", true, &ou) || check_room(e, err))
        return ADT_EINVAL;
    inc *i = calloc(1, sizeof *i);
    if (!i || !(i->activity = strdup(act)) ||
        hmap_put(&e->incidents, x->string, strlen(x->string), i, NULL) != ADT_OK) {
        inc_free(i);
        return ADT_EINVAL;
    }
    i->open_index = (uint64_t)oi;
    i->open_us = ou;
    i->acked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "acked"));
    i->ack_reported = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "ack_reported"));
    i->resolve_reported = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "resolve_reported"));
    return ADT_OK;
}

/* One saved inform obligation. ADT_EINVAL when malformed. */
static int restore_inform(raci_eval *e, const cJSON *x, adt_err *err)
{
    const char *act = jstr(x, "activity");
    const raci_activity *a = act ? raci_find_activity(e->p, act) : NULL;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(x, "state");
    int64_t ti, dl;
    if (!a || hmap_gets(&e->obls, x->string) || !cJSON_IsArray(st) ||
        (size_t)cJSON_GetArraySize(st) != a->n[RACI_IX_I] ||
        num_from(x, "trigger_index", false, &ti) || num_from(x, "deadline_us", true, &dl) ||
        check_room(e, err))
        return ADT_EINVAL;
    obl *o = calloc(1, sizeof *o);
    if (!o || !(o->activity = strdup(act)) || !(o->state = calloc(a->n[RACI_IX_I], 1)) ||
        hmap_put(&e->obls, x->string, strlen(x->string), o, NULL) != ADT_OK) {
        obl_free(o);
        return ADT_EINVAL;
    }
    o->n = a->n[RACI_IX_I];
    o->trigger_index = (uint64_t)ti;
    o->deadline_us = dl;
    size_t k = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, st)
    {
        o->state[k++] = cJSON_IsNumber(v) && v->valueint >= 0 && v->valueint <= 2
                            ? (unsigned char)v->valueint
                            : OB_PENDING;
    }
    return ADT_OK;
}

int raci_eval_restore(raci_eval *e, const cJSON *state, adt_err *err)
{
    const char *sha = jstr(state, "policy_sha256");
    if (!sha || strcmp(sha, e->p->sha256))
        return adt_fail(err, ADT_ECONFLICT,
                        "saved RACI state belongs to another policy version: re-evaluate from "
                        "the start of the ledger");
    if (open_count(e))
        return adt_fail(err, ADT_EINVAL, "restore needs a fresh evaluator");
    static const char *const parts[] = {"changes", "incidents", "informs"};
    static int (*const restore[])(raci_eval *, const cJSON *, adt_err *) = {
        restore_change, restore_incident, restore_inform};
    int rc = ADT_OK;
    const cJSON *x;
    for (size_t i = 0; i < 3 && !rc; i++) {
        const cJSON *part = cJSON_GetObjectItemCaseSensitive(state, parts[i]);
        if (part && !cJSON_IsObject(part))
            rc = ADT_EINVAL;
        else
            cJSON_ArrayForEach(x, part)
            {
                if (!x->string || !cJSON_IsObject(x))
                    rc = ADT_EINVAL;
            }
    }
    for (size_t i = 0; i < 3 && !rc; i++)
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(state, parts[i]))
        {
            if ((rc = restore[i](e, x, err)))
                break;
        }
    if (!rc)
        return ADT_OK;
    hmap_free(&e->changes, chg_free_v);
    hmap_free(&e->incidents, inc_free_v);
    hmap_free(&e->obls, obl_free_v);
    return adt_fail(err, rc, "saved RACI state is malformed: re-evaluate from the start of the "
                             "ledger");
}
