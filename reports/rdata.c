/* rdata.c: gather a report's data (see rdata.h). */
#include "rdata.h"

#include "canon.h"
#include "controls.h"
#include "cosigdb.h"
#include "hmap.h"
#include "leaf.h"
#include "ledger.h"
#include "log.h"
#include "model.h"
#include "oplabel.h"
#include "raci.h"
#include "rfc3339.h"
#include "rkeep.h"
#include "rollup.h"
#include "tdb.h"
#include "tstore.h"
#include "vec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rdata_hex(const uint8_t *h, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[h[i] >> 4];
        out[2 * i + 1] = hx[h[i] & 15];
    }
    out[2 * n] = 0;
}

static void scopy(char *dst, size_t cap, const char *src)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* ---- string -> index, on core's hash map ---------------------------------- */

/* Values are stored as index + 1 (a stored NULL would read as absent). */
typedef struct smap {
    hmap m;
    size_t n; /* entries */
} smap;

static void smap_free(smap *m)
{
    hmap_free(&m->m, NULL);
    m->n = 0;
}

/* Index of `key`, or SIZE_MAX. */
static size_t smap_get(const smap *m, const char *key)
{
    void *v = hmap_gets(&m->m, key);
    return v ? (size_t)(uintptr_t)v - 1 : SIZE_MAX;
}

static int smap_put(smap *m, const char *key, size_t val)
{
    void *old = NULL;
    int rc = hmap_put(&m->m, key, strlen(key), (void *)(uintptr_t)(val + 1), &old);
    if (!rc && !old)
        m->n++;
    return rc;
}

/* ---- growable arrays ------------------------------------------------------ */

/* Room for `need` elements in (*p, *cap): core's vec_room (room for element
 * need - 1, doubling from 256, overflow checked). */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return ADT_OK;
    void *q = vec_room(*p, cap, need - 1, elem, 256);
    if (!q)
        return ADT_ENOMEM;
    *p = q;
    return ADT_OK;
}

/* A new zeroed element at the end of (*arr, *n, *cap), or NULL with *rc set
 * to ADT_ENOMEM. */
static void *push(int *rc, void **arr, size_t *n, size_t *cap, size_t elem)
{
    if (grow(arr, cap, *n + 1, elem)) {
        *rc = ADT_ENOMEM;
        return NULL;
    }
    void *x = (char *)*arr + (*n)++ * elem;
    memset(x, 0, elem);
    return x;
}

/* ---- windows -------------------------------------------------------------- */

#define MAX_WINDOWS 5

static bool in_range(int64_t t, int64_t a, int64_t b)
{
    return t >= a && t < b;
}

static bool in_cur(const rdata *d, int64_t t)
{
    return in_range(t, d->period.from_us, d->period.to_us);
}

static bool base_own(const rdata *d)
{
    return d->has_base && d->base_alias == 0;
}

/* Every window an instant belongs to: the period and its week, the previous
 * period and its week, the baseline period when it is a window of its own. */
static int windows(rdata *d, int64_t t, kpi_inputs *out[MAX_WINDOWS])
{
    int n = 0;
    if (in_cur(d, t)) {
        out[n++] = &d->cur;
        int64_t w = (t - d->period.from_us) / d->week_len_us;
        if (w >= d->nweeks)
            w = d->nweeks - 1;
        out[n++] = &d->week[w];
    }
    if (in_range(t, d->period.prev_from_us, d->period.prev_to_us)) {
        out[n++] = &d->prev;
        int64_t w = (t - d->period.prev_from_us) / d->week_len_us;
        if (w >= d->nprev_weeks)
            w = d->nprev_weeks - 1;
        out[n++] = &d->pweek[w];
    }
    if (base_own(d) && in_range(t, d->base.from_us, d->base.to_us))
        out[n++] = &d->basein;
    return n;
}

/* Apply `fn` to every window's inputs (for flags that hold everywhere). */
#define ALL_WINDOWS(d, stmt)                                                                     \
    do {                                                                                         \
        kpi_inputs *w_;                                                                          \
        w_ = &(d)->cur;                                                                          \
        stmt;                                                                                    \
        w_ = &(d)->prev;                                                                         \
        stmt;                                                                                    \
        w_ = &(d)->basein;                                                                       \
        stmt;                                                                                    \
        for (int k_ = 0; k_ < (d)->nweeks; k_++) {                                               \
            w_ = &(d)->week[k_];                                                                 \
            stmt;                                                                                \
        }                                                                                        \
        for (int k_ = 0; k_ < (d)->nprev_weeks; k_++) {                                          \
            w_ = &(d)->pweek[k_];                                                                \
            stmt;                                                                                \
        }                                                                                        \
    } while (0)

/* The earliest instant any window starts at and the latest it ends at. */
static int64_t span_from(const rdata *d)
{
    int64_t f = d->period.prev_from_us;
    if (base_own(d) && d->base.from_us < f)
        f = d->base.from_us;
    return f;
}

static int64_t span_to(const rdata *d)
{
    int64_t t = d->period.to_us;
    if (base_own(d) && d->base.to_us > t)
        t = d->base.to_us;
    return t;
}

/* Note that the data hold something at `t` (an event or a reading). */
static void seen(rdata *d, int64_t t)
{
    if (!d->seen_from_us || t < d->seen_from_us)
        d->seen_from_us = t;
    if (t > d->seen_to_us)
        d->seen_to_us = t;
}

/* Whether [from, to) holds any event or reading that was read. */
static bool has_data(const rdata *d, int64_t from, int64_t to)
{
    return d->seen_from_us && d->seen_from_us < to && d->seen_to_us >= from;
}

/* ---- the ledger scan ------------------------------------------------------ */

typedef struct mstate {
    uint32_t dev;
    uint8_t state; /* 0 running, 1 idle, 2 down */
    int64_t t;
    uint64_t index; /* ledger index: equal times keep their ledger order */
} mstate;

typedef struct approval {
    char change_id[RDATA_STR];
    char actor[RDATA_STR];
} approval;

typedef struct regmetrics {
    char key[2 * RDATA_STR];
    double precision, recall, pr_auc;
} regmetrics;

/* A firmware deployment, for the trend charts' markers. */
typedef struct fwdep {
    int64_t t;
    char device[RDATA_STR];
    char label[96];
} fwdep;

/* Every model.deploy (for "a model in force at t"). */
typedef struct dep {
    char model[RDATA_STR];
    int64_t t;
} dep;

/* A label.set entry, kept as its leaf bytes (in scan.lb) for the
 * operators' verdicts, which are built from all of them after the fold. */
typedef struct labelrec {
    uint64_t index;
    size_t off, len;
} labelrec;

/* The ledger pass is a fold: each entry changes this state (and the fold's
 * part of rdata: incidents, model markers, the previous report, the seen
 * span, data_end_us, telemetry_batches) and nothing else, whatever the
 * report's date, so the state after entries [0, n) can be kept and resumed
 * (fold_save, fold_restore; rkeep.h). Everything that depends on the date,
 * the RACI policy or the KPI definitions is computed after it
 * (ledger_finish, time_model). What the fold keeps depends only on the
 * windows (fold_key). */
typedef struct scan {
    rdata *d;
    adt_err *err;
    int rc;
    smap devices;   /* work units: devices with machine.state */
    mstate *ms;
    size_t nms, cms;
    smap incidents; /* id -> index in d->incidents */
    size_t cinc;
    approval *appr;
    size_t nappr, cappr;
    regmetrics *reg;
    size_t nreg, creg;
    rdata_deploy *alldep; /* every model.deploy; those by the report's date go to d->deploys */
    size_t nalldep, calldep;
    dep *deps;
    size_t ndeps, cdeps;
    rdata_drift *drift; /* every drift.detected in the windows, judged after the scan */
    size_t ndrift, cdrift;
    fwdep fw[64];
    size_t nfw;
    labelrec *lab;
    size_t nlab, clab;
    char *lb; /* the label.set leaves */
    size_t nlb, clb;
    /* A restored fold keeps, before the windows, only each device's last
     * state (and where its down run began): a state dated before that one,
     * arriving later in the ledger, would need what was dropped, so the fold
     * is then rebuilt from entry 0 (stale). front[dev]: the time of the last
     * kept state before the windows, INT64_MIN for none. */
    int64_t *front;
    size_t nfront;
    bool stale;
    oplabel_set *ops; /* the operators' verdicts (label.set below the checkpoint) */
} scan;


static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jnum(const cJSON *o, const char *k, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        *out = v->valuedouble;
        return true;
    }
    return false;
}

static bool jtime(const cJSON *o, const char *k, int64_t *out)
{
    const char *s = jstr(o, k);
    return s && rfc3339_parse(s, strlen(s), out) == ADT_OK;
}

static void add_state(scan *s, const char *dev, const char *st, int64_t t, uint64_t index)
{
    uint8_t code;
    if (!strcmp(st, "running"))
        code = 0;
    else if (!strcmp(st, "idle"))
        code = 1;
    else if (!strcmp(st, "down"))
        code = 2;
    else
        return; /* not a state of the time model */
    size_t di = smap_get(&s->devices, dev);
    if (di == SIZE_MAX) {
        di = s->devices.n;
        if (smap_put(&s->devices, dev, di)) {
            s->rc = ADT_ENOMEM;
            return;
        }
    }
    if (t < span_from(s->d) && di < s->nfront && t < s->front[di])
        s->stale = true;
    mstate *m = push(&s->rc, (void **)&s->ms, &s->nms, &s->cms, sizeof *s->ms);
    if (!m)
        return;
    *m = (mstate){(uint32_t)di, code, t, index};
    if (t > s->d->data_end_us)
        s->d->data_end_us = t;
    seen(s->d, t);
}

static void on_machine_state(scan *s, const cJSON *p, uint64_t index)
{
    const char *dev = jstr(p, "device"), *st = jstr(p, "state");
    int64_t t;
    if (!dev || !st || !(jtime(p, "since", &t) || jtime(p, "time", &t)))
        return;
    add_state(s, dev, st, t, index);
}

/* The string member `key` of canonical JSON `j` copied into out (no escapes
 * allowed: false means "use the full parser"). */
static bool member_str(const char *j, size_t n, const char *key, char *out, size_t cap)
{
    const char *v;
    size_t vl;
    if (canon_member(j, n, key, &v, &vl) || vl < 2 || v[0] != '"' || vl - 2 >= cap ||
        memchr(v, '\\', vl))
        return false;
    memcpy(out, v + 1, vl - 2);
    out[vl - 2] = 0;
    return true;
}

/* machine.state is the most frequent event: read it without building a tree.
 * Returns false when the payload needs the full parser. */
static bool machine_state_fast(scan *s, const char *p, size_t n, uint64_t index)
{
    char dev[RDATA_STR], st[16], tm[64];
    if (!member_str(p, n, "device", dev, sizeof dev) || !member_str(p, n, "state", st, sizeof st))
        return false;
    if (!member_str(p, n, "since", tm, sizeof tm) && !member_str(p, n, "time", tm, sizeof tm))
        return false;
    int64_t t;
    if (rfc3339_parse(tm, strlen(tm), &t))
        return false;
    add_state(s, dev, st, t, index);
    return true;
}

static void on_incident(scan *s, const char *type, const cJSON *p, uint64_t index)
{
    rdata *d = s->d;
    const char *id = jstr(p, "incident_id");
    int64_t t;
    if (!id || !jtime(p, "time", &t))
        return;
    seen(d, t);
    size_t i = smap_get(&s->incidents, id);
    if (!strcmp(type, "incident.open")) {
        if (i != SIZE_MAX || !in_range(t, span_from(d), span_to(d)))
            return;
        rdata_incident *in = push(&s->rc, (void **)&d->incidents, &d->nincidents, &s->cinc,
                                  sizeof *d->incidents);
        if (!in)
            return;
        if (smap_put(&s->incidents, id, d->nincidents - 1)) {
            s->rc = ADT_ENOMEM;
            return;
        }
        scopy(in->id, sizeof in->id, id);
        scopy(in->severity, sizeof in->severity, jstr(p, "severity"));
        scopy(in->activity, sizeof in->activity, jstr(p, "activity"));
        scopy(in->summary, sizeof in->summary, jstr(p, "summary"));
        in->opened_us = t;
        in->index = index;
        in->sla = -1;
        return;
    }
    if (i == SIZE_MAX)
        return;
    rdata_incident *in = &d->incidents[i];
    if (!strcmp(type, "incident.ack") && !in->acked_us)
        in->acked_us = t;
    else if (!strcmp(type, "incident.resolve") && !in->resolved_us)
        in->resolved_us = t;
}

/* telemetry.batch: how far the readings go (the end of the observed data). */
static void on_batch(scan *s, const cJSON *p)
{
    int64_t t;
    s->d->telemetry_batches++;
    if (jtime(p, "from", &t))
        seen(s->d, t);
    if (jtime(p, "to", &t)) {
        seen(s->d, t);
        if (t > s->d->data_end_us)
            s->d->data_end_us = t;
    }
}

static void add_marker(rdata *d, int64_t t, const char *label)
{
    if (t < d->period.prev_from_us || t >= d->period.to_us || d->nmarkers >= RDATA_MAX_MARKERS)
        return;
    rdata_marker *m = &d->markers[d->nmarkers++];
    m->time_us = t;
    scopy(m->label, sizeof m->label, label);
}

/* Firmware deployments are kept until the scan ends: only those to a work
 * unit (a device with machine.state, whose KPIs the report shows) are drawn. */
static void on_firmware(scan *s, const cJSON *p)
{
    int64_t t;
    const char *cls = jstr(p, "device_class"), *ver = jstr(p, "version"), *dev = jstr(p, "device");
    if (!jtime(p, "time", &t) || !cls || !ver)
        return;
    seen(s->d, t);
    if (!dev || s->nfw >= sizeof s->fw / sizeof s->fw[0])
        return;
    fwdep *f = &s->fw[s->nfw++];
    f->t = t;
    scopy(f->device, sizeof f->device, dev);
    snprintf(f->label, sizeof f->label, "%.20s firmware %.40s", cls, ver);
}

static void firmware_markers(scan *s)
{
    for (size_t i = 0; i < s->nfw; i++)
        if (smap_get(&s->devices, s->fw[i].device) != SIZE_MAX)
            add_marker(s->d, s->fw[i].t, s->fw[i].label);
}

static void on_model(scan *s, const char *type, const cJSON *p, uint64_t index)
{
    rdata *d = s->d;
    if (!strcmp(type, "change.approve")) {
        const char *cid = jstr(p, "change_id"), *actor = jstr(p, "actor");
        int64_t at;
        if (jtime(p, "time", &at))
            seen(d, at);
        if (!cid || !actor)
            return;
        approval *a = push(&s->rc, (void **)&s->appr, &s->nappr, &s->cappr, sizeof *s->appr);
        if (!a)
            return;
        scopy(a->change_id, sizeof a->change_id, cid);
        scopy(a->actor, sizeof a->actor, actor);
        return;
    }
    const char *model = jstr(p, "model"), *version = jstr(p, "version");
    if (!model || !version)
        return;
    if (!strcmp(type, "model.register")) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(p, "metrics");
        if (!cJSON_IsObject(m))
            return;
        regmetrics *r = push(&s->rc, (void **)&s->reg, &s->nreg, &s->creg, sizeof *s->reg);
        if (!r)
            return;
        snprintf(r->key, sizeof r->key, "%s@%s", model, version);
        r->precision = r->recall = r->pr_auc = NAN;
        jnum(m, "precision", &r->precision);
        jnum(m, "recall", &r->recall);
        jnum(m, "pr_auc", &r->pr_auc);
        return;
    }
    if (!strcmp(type, "model.deploy")) {
        int64_t t;
        if (!jtime(p, "time", &t))
            return;
        seen(d, t);
        dep *dp = push(&s->rc, (void **)&s->deps, &s->ndeps, &s->cdeps, sizeof *s->deps);
        if (!dp)
            return;
        scopy(dp->model, sizeof dp->model, model);
        dp->t = t;
        char label[96];
        snprintf(label, sizeof label, "model %.40s@%.20s", model, version);
        add_marker(d, t, label);
        /* every deployment: the inventory, as of the report's date, is
         * chosen after the fold (deploys_finish) */
        rdata_deploy *x = push(&s->rc, (void **)&s->alldep, &s->nalldep, &s->calldep,
                               sizeof *s->alldep);
        if (!x)
            return;
        scopy(x->model, sizeof x->model, model);
        scopy(x->version, sizeof x->version, version);
        scopy(x->change_id, sizeof x->change_id, jstr(p, "change_id"));
        scopy(x->deployed_by, sizeof x->deployed_by, jstr(p, "actor"));
        scopy(x->artifact, sizeof x->artifact, jstr(p, "artifact_sha256"));
        x->time_us = t;
        x->index = index;
        return;
    }
}

/* drift.detected, written only by auditd's drift monitor (`auditd drift`);
 * judged after the scan against the deployments (see drift_finish). */
static void on_drift(scan *s, const cJSON *p, uint64_t index)
{
    int64_t t;
    const char *model = jstr(p, "model");
    if (!model || !jtime(p, "time", &t))
        return;
    seen(s->d, t);
    /* only the windows count it (drift_finish) */
    if (!in_range(t, span_from(s->d), span_to(s->d)))
        return;
    rdata_drift *x = push(&s->rc, (void **)&s->drift, &s->ndrift, &s->cdrift, sizeof *s->drift);
    if (!x)
        return;
    scopy(x->model, sizeof x->model, model);
    scopy(x->version, sizeof x->version, jstr(p, "version"));
    scopy(x->feature, sizeof x->feature, jstr(p, "feature"));
    x->psi = x->ks = x->threshold = NAN;
    jnum(p, "psi", &x->psi);
    jnum(p, "ks", &x->ks);
    jnum(p, "threshold", &x->threshold);
    x->time_us = t;
    x->index = index;
}

static int hex_to_hash(const char *s, merkle_hash out)
{
    if (!s || strlen(s) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        int v = 0;
        for (int j = 0; j < 2; j++) {
            char c = s[2 * i + j];
            int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (x < 0)
                return -1;
            v = v * 16 + x;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

static void on_report(scan *s, const cJSON *p, uint64_t index)
{
    rdata *d = s->d;
    double ts;
    merkle_hash root;
    if (!jnum(p, "tree_size", &ts) || ts < 1 || ts > 1e15 || hex_to_hash(jstr(p, "root"), root))
        return;
    d->has_prev_report = true;
    d->prev_report_index = index;
    d->prev_tree_size = (uint64_t)ts;
    memcpy(d->prev_root, root, sizeof root);
    scopy(d->prev_report_period, sizeof d->prev_report_period, jstr(p, "period"));
    scopy(d->prev_report_format, sizeof d->prev_report_format, jstr(p, "format"));
    scopy(d->prev_report_sha256, sizeof d->prev_report_sha256, jstr(p, "sha256"));
}

enum {
    T_STATE = 0, T_INC_OPEN, T_INC_ACK, T_INC_RESOLVE, T_APPROVE, T_REGISTER, T_DEPLOY,
    T_DRIFT, T_BATCH, T_REPORT, T_FIRMWARE, T__N
};
static const char *const wanted[T__N] = {
    [T_STATE] = "machine.state",       [T_INC_OPEN] = "incident.open",
    [T_INC_ACK] = "incident.ack",      [T_INC_RESOLVE] = "incident.resolve",
    [T_APPROVE] = "change.approve",    [T_REGISTER] = "model.register",
    [T_DEPLOY] = "model.deploy",
    [T_DRIFT] = "drift.detected",      [T_BATCH] = "telemetry.batch",
    [T_REPORT] = "report.issued",      [T_FIRMWARE] = "firmware.deploy"};

/* One entry of the ledger pass, read through core's leaf view. Entries that
 * are not leaves of the ledger's form (only a damaged file has them; verify
 * names them) are passed over, as are the types the report does not use. */
static int scan_fn(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    scan *s = ctx;
    leaf_view v;
    adt_err perr;
    if (leaf_parse(leaf, len, index, &v, &perr))
        return 0;
    if (!strcmp(v.type, "label.set")) {
        labelrec *l = push(&s->rc, (void **)&s->lab, &s->nlab, &s->clab, sizeof *s->lab);
        if (l && grow((void **)&s->lb, &s->clb, s->nlb + len, 1))
            s->rc = ADT_ENOMEM;
        if (s->rc)
            return 1;
        memcpy(s->lb + s->nlb, leaf, len);
        *l = (labelrec){index, s->nlb, len};
        s->nlb += len;
        return 0;
    }
    int k;
    for (k = 0; k < T__N; k++)
        if (!strcmp(v.type, wanted[k]))
            break;
    if (k == T__N)
        return 0;
    if (k == T_STATE && machine_state_fast(s, v.payload, v.payload_len, index))
        return s->rc ? 1 : 0;
    cJSON *p = cJSON_ParseWithLength(v.payload, v.payload_len);
    if (!p)
        return 0;
    switch (k) {
    case T_STATE: on_machine_state(s, p, index); break;
    case T_INC_OPEN:
    case T_INC_ACK:
    case T_INC_RESOLVE: on_incident(s, wanted[k], p, index); break;
    case T_APPROVE:
    case T_REGISTER:
    case T_DEPLOY: on_model(s, wanted[k], p, index); break;
    case T_DRIFT: on_drift(s, p, index); break;
    case T_BATCH: on_batch(s, p); break;
    case T_REPORT: on_report(s, p, index); break;
    case T_FIRMWARE: on_firmware(s, p); break;
    default: break;
    }
    cJSON_Delete(p);
    return s->rc ? 1 : 0;
}

/* ---- time model from machine.state ---------------------------------------- */

static int ms_cmp(const void *a, const void *b)
{
    const mstate *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return 0;
}

/* Attribute [a, b) in `state` to window [lo, hi). ISO 22400 time model:
 * running is actual production time (APT) whenever it happens; idle and down
 * count towards planned busy time (PBT) only inside the planned calendar
 * (outside it they are planned downtime, not a loss). */
static void add_span(kpi_inputs *w, const kpi_params *p, int64_t a, int64_t b, int64_t lo,
                     int64_t hi, int state)
{
    if (a < lo)
        a = lo;
    if (b > hi)
        b = hi;
    if (b <= a)
        return;
    w->has_time_model = true;
    if (state == 0) {
        double sec = (double)(b - a) / 1e6;
        w->pbt_s += sec;
        w->apt_s += sec;
        return;
    }
    double planned = kpi_planned_seconds(p, a, b);
    w->pbt_s += planned;
    if (state == 2)
        w->adot_s += planned;
}

/* [a, b) into the windows of one period split in weeks. */
static void add_weeks(kpi_inputs *whole, kpi_inputs *weeks, int nweeks, int64_t week_len,
                      const kpi_params *p, int64_t from, int64_t to, int64_t a, int64_t b,
                      int state)
{
    add_span(whole, p, a, b, from, to, state);
    if (b <= from || a >= to)
        return;
    int64_t lo = a > from ? a : from, hi = b < to ? b : to;
    int w0 = (int)((lo - from) / week_len), w1 = (int)((hi - 1 - from) / week_len);
    if (w1 >= nweeks)
        w1 = nweeks - 1;
    for (int w = w0; w <= w1; w++) {
        int64_t ws = from + (int64_t)w * week_len;
        int64_t we = w == nweeks - 1 ? to : ws + week_len;
        add_span(&weeks[w], p, a, b, ws, we, state);
    }
}

static void add_interval(rdata *d, int64_t a, int64_t b, int state)
{
    const kpi_params *p = &d->defs->params;
    add_weeks(&d->cur, d->week, d->nweeks, d->week_len_us, p, d->period.from_us,
              d->period.to_us, a, b, state);
    add_weeks(&d->prev, d->pweek, d->nprev_weeks, d->week_len_us, p, d->period.prev_from_us,
              d->period.prev_to_us, a, b, state);
    if (base_own(d))
        add_span(&d->basein, p, a, b, d->base.from_us, d->base.to_us, state);
}

/* A device's state holds until its next state; the last one until the end of
 * the observed data (the latest reading or state event, data_end_us), never
 * beyond the report's date: a state is not extrapolated into time nobody
 * observed, so a period without data has no time model (n/a, not 0 %). */
static void time_model(scan *s)
{
    rdata *d = s->d;
    if (!s->nms)
        return;
    /* a restored fold is in order already (fold_save writes it sorted) */
    size_t k = 1;
    while (k < s->nms && ms_cmp(&s->ms[k - 1], &s->ms[k]) <= 0)
        k++;
    if (k < s->nms)
        qsort(s->ms, s->nms, sizeof *s->ms, ms_cmp);
    int64_t horizon = d->data_end_us;
    if (d->as_of_us && d->as_of_us < horizon)
        horizon = d->as_of_us;
    int64_t down_start = 0;
    for (size_t i = 0; i < s->nms; i++) {
        const mstate *m = &s->ms[i];
        bool first = i == 0 || s->ms[i - 1].dev != m->dev;
        int prev_state = first ? -1 : s->ms[i - 1].state;
        kpi_inputs *w[MAX_WINDOWS];
        int n = windows(d, m->t, w);
        for (int j = 0; j < n; j++)
            w[j]->state_events++;
        if (m->state == 2 && prev_state != 2) {
            down_start = m->t;
            for (int j = 0; j < n; j++)
                w[j]->failures++;
        } else if (m->state != 2 && prev_state == 2) {
            for (int j = 0; j < n; j++) {
                w[j]->restorations++;
                w[j]->ttr_s += (double)(m->t - down_start) / 1e6;
            }
        }
        bool last = i + 1 == s->nms || s->ms[i + 1].dev != m->dev;
        int64_t end = last ? (horizon > m->t ? horizon : m->t) : s->ms[i + 1].t;
        add_interval(d, m->t, end, m->state);
    }
}

/* ---- the kept fold (rkeep.h) ------------------------------------------------ */

/* Bump when what the fold keeps or how an entry changes it changes (here,
 * or in how core's leaf view and canonical JSON read an entry): a state
 * saved by other code is then never resumed. */
#define FOLD_VERSION 1

/* Everything the fold depends on besides the entries: its format and the
 * bounds it filters by (the span of all windows for states, incidents and
 * drift; the previous period's start and the period's end for the
 * deployment markers). */
static void fold_key(const rdata *d, char key[RKEEP_KEY_MAX])
{
    snprintf(key, RKEEP_KEY_MAX, "rdata-fold/%d span=%lld..%lld markers=%lld..%lld",
             FOLD_VERSION, (long long)span_from(d), (long long)span_to(d),
             (long long)d->period.prev_from_us, (long long)d->period.to_us);
}

/* The memory of the scan's own lists (the fold's state but for rdata's). */
static void scan_lists_free(scan *s)
{
    smap_free(&s->devices);
    smap_free(&s->incidents);
    free(s->ms);
    free(s->appr);
    free(s->reg);
    free(s->alldep);
    free(s->deps);
    free(s->drift);
    free(s->lab);
    free(s->lb);
    free(s->front);
}

/* The fold's own part of rdata and of the scan back to nothing. */
static void fold_reset(scan *s)
{
    rdata *d = s->d;
    scan_lists_free(s);
    free(d->incidents);
    oplabel_set *ops = s->ops;
    adt_err *err = s->err;
    memset(s, 0, sizeof *s);
    s->d = d;
    s->err = err;
    s->ops = ops;
    d->incidents = NULL;
    d->nincidents = 0;
    d->nmarkers = 0;
    d->data_end_us = d->seen_from_us = d->seen_to_us = 0;
    d->telemetry_batches = 0;
    d->has_prev_report = false;
    d->prev_report_index = d->prev_tree_size = 0;
    memset(d->prev_root, 0, sizeof d->prev_root);
    d->prev_report_period[0] = d->prev_report_format[0] = d->prev_report_sha256[0] = 0;
}

/* The keys of a string map by their index (borrowed from the map). */
static const char **smap_keys(const smap *m)
{
    const char **k = calloc(m->n ? m->n : 1, sizeof *k);
    size_t it = 0, kl;
    const char *key;
    void *v;
    while (k && hmap_next(&m->m, &it, &key, &kl, &v))
        if ((size_t)(uintptr_t)v - 1 < m->n)
            k[(size_t)(uintptr_t)v - 1] = key;
    return k;
}

static void w_smap(rkeep_w *w, const smap *m)
{
    const char **k = smap_keys(m);
    if (!k) {
        w->oom = true;
        return;
    }
    rkeep_w_u64(w, m->n);
    for (size_t i = 0; i < m->n; i++)
        rkeep_w_str(w, k[i]);
    free(k);
}

static void r_smap(rkeep_r *r, scan *s, smap *m)
{
    size_t n = rkeep_r_count(r, 8);
    for (size_t i = 0; i < n && !r->bad; i++) {
        size_t l = 0;
        const uint8_t *p = rkeep_r_bytes(r, &l);
        char *key = p ? malloc(l + 1) : NULL;
        if (p && !key) {
            s->rc = ADT_ENOMEM;
            r->bad = true;
            return;
        }
        if (key) {
            memcpy(key, p, l);
            key[l] = 0;
        }
        /* keys are distinct and hold no NUL: anything else is a damaged state */
        if (!p || memchr(p, 0, l) || smap_get(m, key) != SIZE_MAX || smap_put(m, key, i))
            r->bad = true;
        free(key);
    }
}

/* The machine states a later fold and the time model need: per device, all
 * states in the windows' span; before it, the last state (and, when it is
 * down, the state its down run began with: the time to repair counts from
 * there); after it, the first (it ends the last state in the span). The time
 * model over these gives what it gives over all states (time_model: the
 * states outside the span add nothing to any window but those). */
static void w_states(rkeep_w *w, const scan *s)
{
    const rdata *d = s->d;
    mstate *m = s->nms ? malloc(s->nms * sizeof *m) : NULL;
    if (s->nms && !m) {
        w->oom = true;
        return;
    }
    if (s->nms) {
        memcpy(m, s->ms, s->nms * sizeof *m);
        qsort(m, s->nms, sizeof *m, ms_cmp);
    }
    int64_t from = span_from(d), to = span_to(d);
    size_t at = rkeep_w_count_at(w), nkeep = 0; /* the count, set once the states are written */
    for (size_t a = 0; a < s->nms;) {
        size_t e = a;
        while (e < s->nms && m[e].dev == m[a].dev)
            e++;
        size_t p = a, q;
        while (p < e && m[p].t < from)
            p++;
        for (q = p; q < e && m[q].t < to; q++)
            ;
        size_t keep[2], nk = 0;
        if (p > a) {
            size_t run = p - 1;
            while (m[p - 1].state == 2 && run > a && m[run - 1].state == 2)
                run--;
            if (run != p - 1)
                keep[nk++] = run;
            keep[nk++] = p - 1;
        }
        for (int x = 0; x < 3; x++) {
            size_t lo = x == 0 ? 0 : x == 1 ? p : q;
            size_t hi = x == 0 ? nk : x == 1 ? q : (q < e ? q + 1 : q);
            for (size_t i = lo; i < hi; i++, nkeep++) {
                const mstate *k = x == 0 ? &m[keep[i]] : &m[i];
                rkeep_w_u64(w, (uint64_t)k->dev << 8 | k->state);
                rkeep_w_i64(w, k->t);
                rkeep_w_u64(w, k->index);
            }
        }
        a = e;
    }
    rkeep_w_set_count(w, at, nkeep);
    free(m);
}

static void r_states(rkeep_r *r, scan *s)
{
    size_t n = rkeep_r_count(r, 24);
    if (r->bad)
        return;
    if (n && !(s->ms = malloc(n * sizeof *s->ms))) {
        s->rc = ADT_ENOMEM;
        r->bad = true;
        return;
    }
    s->cms = n;
    s->nfront = s->devices.n;
    if (!(s->front = malloc((s->nfront ? s->nfront : 1) * sizeof *s->front))) {
        s->rc = ADT_ENOMEM;
        r->bad = true;
        return;
    }
    for (size_t i = 0; i < s->nfront; i++)
        s->front[i] = INT64_MIN;
    int64_t from = span_from(s->d);
    for (size_t i = 0; i < n && !r->bad; i++) {
        mstate *m = &s->ms[s->nms++];
        uint64_t ds = rkeep_r_u64(r), dev = ds >> 8, st = ds & 0xff;
        m->t = rkeep_r_i64(r);
        m->index = rkeep_r_u64(r);
        if (dev >= s->devices.n || st > 2) {
            r->bad = true;
            return;
        }
        m->dev = (uint32_t)dev;
        m->state = (uint8_t)st;
        if (m->t < from && m->t > s->front[dev])
            s->front[dev] = m->t;
    }
}

/* The kept lists' records, field by field: fold_save and fold_restore read
 * the same tables, so the two sides of the encoding cannot drift apart. */
#define STR(T, m) RKEEP_FIELD(RKEEP_STR, T, m)
#define I64(T, m) RKEEP_FIELD(RKEEP_I64, T, m)
#define U64(T, m) RKEEP_FIELD(RKEEP_U64, T, m)
#define F64(T, m) RKEEP_FIELD(RKEEP_F64, T, m)
#define LIST(tab) (tab), RKEEP_NFIELDS(tab)
static const rkeep_field incident_fields[] = {
    STR(rdata_incident, id),         STR(rdata_incident, severity),
    STR(rdata_incident, activity),   STR(rdata_incident, summary),
    I64(rdata_incident, opened_us),  I64(rdata_incident, acked_us),
    I64(rdata_incident, resolved_us), U64(rdata_incident, index)};
static const rkeep_field marker_fields[] = {I64(rdata_marker, time_us), STR(rdata_marker, label)};
static const rkeep_field fw_fields[] = {I64(fwdep, t), STR(fwdep, device), STR(fwdep, label)};
static const rkeep_field approval_fields[] = {STR(approval, change_id), STR(approval, actor)};
static const rkeep_field reg_fields[] = {STR(regmetrics, key), F64(regmetrics, precision),
                                         F64(regmetrics, recall), F64(regmetrics, pr_auc)};
static const rkeep_field dep_fields[] = {STR(dep, model), I64(dep, t)};
static const rkeep_field deploy_fields[] = {
    STR(rdata_deploy, model),       STR(rdata_deploy, version), STR(rdata_deploy, change_id),
    STR(rdata_deploy, deployed_by), STR(rdata_deploy, artifact), I64(rdata_deploy, time_us),
    U64(rdata_deploy, index)};
static const rkeep_field drift_fields[] = {
    STR(rdata_drift, model), STR(rdata_drift, version),   STR(rdata_drift, feature),
    F64(rdata_drift, psi),   F64(rdata_drift, ks),        F64(rdata_drift, threshold),
    I64(rdata_drift, time_us), U64(rdata_drift, index)};
#undef STR
#undef I64
#undef U64
#undef F64

/* A list of n records: its count, then each record's fields. */
static void w_list(rkeep_w *w, const void *arr, size_t n, size_t elem, const rkeep_field *f,
                   size_t nf)
{
    rkeep_w_u64(w, n);
    for (size_t i = 0; i < n; i++)
        rkeep_w_rec(w, (const unsigned char *)arr + i * elem, f, nf);
}

/* The fold's state as bytes (after the fold of entries [0, size)). */
static void fold_save(const scan *s, const char *key, rkeep_w *w)
{
    const rdata *d = s->d;
    rkeep_w_u64(w, FOLD_VERSION);
    rkeep_w_str(w, key); /* a state stored under another key is not resumed */
    rkeep_w_i64(w, d->data_end_us);
    rkeep_w_i64(w, d->seen_from_us);
    rkeep_w_i64(w, d->seen_to_us);
    rkeep_w_u64(w, d->telemetry_batches);
    rkeep_w_u64(w, d->has_prev_report);
    rkeep_w_u64(w, d->prev_report_index);
    rkeep_w_u64(w, d->prev_tree_size);
    rkeep_w_bytes(w, d->prev_root, sizeof d->prev_root);
    rkeep_w_str(w, d->prev_report_period);
    rkeep_w_str(w, d->prev_report_format);
    rkeep_w_str(w, d->prev_report_sha256);
    w_smap(w, &s->devices);
    w_states(w, s);
    w_smap(w, &s->incidents);
    w_list(w, d->incidents, d->nincidents, sizeof *d->incidents, LIST(incident_fields));
    w_list(w, d->markers, d->nmarkers, sizeof *d->markers, LIST(marker_fields));
    w_list(w, s->fw, s->nfw, sizeof *s->fw, LIST(fw_fields));
    w_list(w, s->appr, s->nappr, sizeof *s->appr, LIST(approval_fields));
    w_list(w, s->reg, s->nreg, sizeof *s->reg, LIST(reg_fields));
    w_list(w, s->deps, s->ndeps, sizeof *s->deps, LIST(dep_fields));
    w_list(w, s->alldep, s->nalldep, sizeof *s->alldep, LIST(deploy_fields));
    w_list(w, s->drift, s->ndrift, sizeof *s->drift, LIST(drift_fields));
    rkeep_w_u64(w, s->nlab);
    for (size_t i = 0; i < s->nlab; i++) {
        rkeep_w_u64(w, s->lab[i].index);
        rkeep_w_bytes(w, s->lb + s->lab[i].off, s->lab[i].len);
    }
}

/* Room for n more elements in (*arr, cap) of a restored list; false (r bad)
 * when the count is beyond what the state could hold. */
static bool r_room(rkeep_r *r, scan *s, void **arr, size_t *cap, size_t n, size_t elem)
{
    if (r->bad)
        return false;
    if (grow(arr, cap, n ? n : 1, elem)) {
        s->rc = ADT_ENOMEM;
        r->bad = true;
        return false;
    }
    return true;
}

/* A list written by w_list appended to the growable (*arr, cap, *n); each
 * record zeroed before its fields are read. */
static void r_list(rkeep_r *r, scan *s, void **arr, size_t *cap, size_t *n, size_t elem,
                   const rkeep_field *f, size_t nf)
{
    size_t k = rkeep_r_count(r, rkeep_rec_min(nf));
    if (!r_room(r, s, arr, cap, *n + k, elem))
        return;
    for (size_t i = 0; i < k && !r->bad; i++) {
        void *rec = (unsigned char *)*arr + (*n)++ * elem;
        memset(rec, 0, elem);
        rkeep_r_rec(r, rec, f, nf);
    }
}

/* The same into a fixed array of max records (bad when more were written). */
static void r_fixed(rkeep_r *r, void *arr, size_t *n, size_t max, size_t elem,
                    const rkeep_field *f, size_t nf)
{
    size_t k = rkeep_r_count(r, rkeep_rec_min(nf));
    if (k > max - *n)
        r->bad = true;
    for (size_t i = 0; i < k && !r->bad; i++) {
        void *rec = (unsigned char *)arr + (*n)++ * elem;
        memset(rec, 0, elem);
        rkeep_r_rec(r, rec, f, nf);
    }
}

/* The fold's state from bytes written by fold_save; false when they do not
 * read back whole (the caller resets the fold and rebuilds it). */
static bool fold_restore(scan *s, const char *key, const uint8_t *p, size_t len)
{
    rdata *d = s->d;
    rkeep_r rr = {p, len, 0, false}, *r = &rr;
    char its[RKEEP_KEY_MAX];
    if (rkeep_r_u64(r) != FOLD_VERSION)
        return false;
    rkeep_r_str(r, its, sizeof its);
    if (r->bad || strcmp(its, key))
        return false;
    d->data_end_us = rkeep_r_i64(r);
    d->seen_from_us = rkeep_r_i64(r);
    d->seen_to_us = rkeep_r_i64(r);
    d->telemetry_batches = rkeep_r_u64(r);
    d->has_prev_report = rkeep_r_u64(r) != 0;
    d->prev_report_index = rkeep_r_u64(r);
    d->prev_tree_size = rkeep_r_u64(r);
    size_t n = 0;
    const uint8_t *root = rkeep_r_bytes(r, &n);
    if (root && n == sizeof d->prev_root)
        memcpy(d->prev_root, root, n);
    else
        r->bad = true;
    rkeep_r_str(r, d->prev_report_period, sizeof d->prev_report_period);
    rkeep_r_str(r, d->prev_report_format, sizeof d->prev_report_format);
    rkeep_r_str(r, d->prev_report_sha256, sizeof d->prev_report_sha256);
    r_smap(r, s, &s->devices);
    r_states(r, s);
    r_smap(r, s, &s->incidents);
    r_list(r, s, (void **)&d->incidents, &s->cinc, &d->nincidents, sizeof *d->incidents,
           LIST(incident_fields));
    for (size_t i = 0; i < d->nincidents; i++)
        d->incidents[i].sla = -1; /* decided after the fold */
    if (!r->bad && s->incidents.n != d->nincidents)
        r->bad = true;
    r_fixed(r, d->markers, &d->nmarkers, RDATA_MAX_MARKERS, sizeof *d->markers, LIST(marker_fields));
    r_fixed(r, s->fw, &s->nfw, sizeof s->fw / sizeof s->fw[0], sizeof *s->fw, LIST(fw_fields));
    r_list(r, s, (void **)&s->appr, &s->cappr, &s->nappr, sizeof *s->appr, LIST(approval_fields));
    r_list(r, s, (void **)&s->reg, &s->creg, &s->nreg, sizeof *s->reg, LIST(reg_fields));
    r_list(r, s, (void **)&s->deps, &s->cdeps, &s->ndeps, sizeof *s->deps, LIST(dep_fields));
    r_list(r, s, (void **)&s->alldep, &s->calldep, &s->nalldep, sizeof *s->alldep,
           LIST(deploy_fields));
    r_list(r, s, (void **)&s->drift, &s->cdrift, &s->ndrift, sizeof *s->drift, LIST(drift_fields));
    n = rkeep_r_count(r, 16);
    if (r_room(r, s, (void **)&s->lab, &s->clab, n, sizeof *s->lab))
        for (size_t i = 0; i < n && !r->bad; i++) {
            uint64_t index = rkeep_r_u64(r);
            size_t l = 0;
            const uint8_t *leaf = rkeep_r_bytes(r, &l);
            if (!leaf || grow((void **)&s->lb, &s->clb, s->nlb + l, 1)) {
                r->bad = true;
                break;
            }
            if (l)
                memcpy(s->lb + s->nlb, leaf, l);
            s->lab[s->nlab++] = (labelrec){index, s->nlb, l};
            s->nlb += l;
        }
    return !r->bad && r->pos == r->len;
}

/* The ledger pass: entries [0, tree_size) folded, resuming the kept fold of
 * these windows when it covers a prefix of this ledger (the same root at its
 * size) no longer than the checkpoint; otherwise from entry 0. The fold
 * reached is kept for the next report, unless the kept one is further along
 * (a report at an older `--at-size`). A cache that cannot be opened, read or
 * written changes nothing but the time the report takes. */
static int ledger_fold(const char *data_dir, ledger *lg, scan *s, adt_err *err)
{
    rdata *d = s->d;
    char key[RKEEP_KEY_MAX];
    fold_key(d, key);
    rkeep *k = NULL;
    adt_err ke = {0};
    if (rkeep_open(data_dir, &k, &ke)) {
        log_msg(LOG_DEBUG, "reports", "no kept fold (%s): reading the whole ledger", ke.msg);
        k = NULL;
    }
    uint64_t from = 0, ksize = 0;
    bool newer = false; /* a valid kept fold beyond this checkpoint */
    uint8_t *st = NULL;
    size_t stlen = 0;
    merkle_hash kroot, mine;
    int lrc = k ? rkeep_load(k, key, d->tree_size, &ksize, kroot, &st, &stlen, &ke) : ADT_ENOTFOUND;
    if (lrc == ADT_OK || lrc == ADT_EEXIST) { /* EEXIST: further along, its state not read */
        bool same = ledger_root(lg, ksize, mine, &ke) == ADT_OK && !memcmp(mine, kroot, sizeof mine);
        if (same && ksize <= d->tree_size && fold_restore(s, key, st, stlen)) {
            from = ksize;
        } else {
            newer = same && ksize > d->tree_size;
            if (!newer)
                log_msg(LOG_INFO, "reports",
                        "the kept fold for %s does not match this ledger or does not read back: "
                        "rebuilt from the ledger", d->period.label);
            fold_reset(s);
        }
    } else if (k && lrc != ADT_ENOTFOUND) {
        log_msg(LOG_INFO, "reports", "the kept fold for %s is not usable (%s): rebuilt from the ledger",
                d->period.label, ke.msg);
    }
    free(st);
    int rc = ledger_scan(lg, from, d->tree_size, scan_fn, s, err);
    if (!rc && !s->rc && s->stale) {
        log_msg(LOG_DEBUG, "reports", "a machine state dated before what the kept fold holds: "
                                      "folding from entry 0");
        fold_reset(s);
        from = 0;
        rc = s->rc ? s->rc : ledger_scan(lg, 0, d->tree_size, scan_fn, s, err);
    }
    if (!rc && s->rc)
        rc = s->rc;
    d->fold_from = from;
    log_msg(LOG_DEBUG, "reports", "%s: ledger fold from entry %llu to %llu (%s)", d->period.label,
            (unsigned long long)from, (unsigned long long)d->tree_size,
            from ? "resumed" : newer ? "kept fold is further along" : "from the start");
    if (!rc && k && !newer && (from < d->tree_size || !from)) {
        rkeep_w w;
        rkeep_w_init(&w);
        fold_save(s, key, &w);
        if (w.oom || rkeep_save(k, key, d->tree_size, d->root, (const uint8_t *)w.b.data,
                                w.b.len, &ke))
            log_msg(LOG_INFO, "reports", "not keeping the fold for %s: %s", d->period.label,
                    w.oom ? "out of memory" : ke.msg);
        rkeep_w_free(&w);
    }
    rkeep_close(k);
    return rc;
}

/* ---- incidents: SLA and owners -------------------------------------------- */

static void incidents_finish(rdata *d, const raci_policy *pol)
{
    int64_t now = d->period.to_us;
    if (d->as_of_us && d->as_of_us < now)
        now = d->as_of_us;
    for (size_t i = 0; i < d->nincidents; i++) {
        rdata_incident *in = &d->incidents[i];
        int sev = kpi_severity_index(in->severity);
        double ack_s = d->defs->sla_ack_s[sev < 0 ? KPI_SEV_MEDIUM : sev];
        double res_s = d->defs->sla_resolve_s[sev < 0 ? KPI_SEV_MEDIUM : sev];
        if (pol && in->activity[0]) {
            const raci_activity *a = raci_find_activity(pol, in->activity);
            if (a) {
                raci_sla sla = raci_activity_sla(a);
                if (sla.ack_s >= 0)
                    ack_s = (double)sla.ack_s;
                if (sla.resolve_s >= 0)
                    res_s = (double)sla.resolve_s;
                scopy(in->owner, sizeof in->owner, raci_accountable(a));
            }
        }
        double ack = in->acked_us ? (double)(in->acked_us - in->opened_us) / 1e6 : -1;
        double res = in->resolved_us ? (double)(in->resolved_us - in->opened_us) / 1e6 : -1;
        double age = (double)(now - in->opened_us) / 1e6;
        if ((ack >= 0 && ack > ack_s) || (ack < 0 && age > ack_s) || (res >= 0 && res > res_s) ||
            (res < 0 && age > res_s))
            in->sla = 0;
        else if (ack >= 0 && res >= 0)
            in->sla = 1;
        else
            in->sla = -1;
        kpi_inputs *w[MAX_WINDOWS];
        int n = windows(d, in->opened_us, w);
        for (int j = 0; j < n; j++) {
            w[j]->incidents_opened++;
            if (ack >= 0) {
                w[j]->acked++;
                w[j]->ack_s_sum += ack;
            }
            if (res >= 0) {
                w[j]->resolved++;
                w[j]->resolve_s_sum += res;
            }
            if (in->sla >= 0) {
                w[j]->sla_due++;
                w[j]->sla_met += (uint64_t)in->sla;
            }
        }
    }
}

/* Owners of the KPIs: the Accountable of each definition's RACI activity,
 * with the name the policy gives the principal. */
static void kpi_owners(rdata *d, const raci_policy *pol)
{
    if (!pol)
        return;
    cJSON *pj = NULL;
    adt_err e;
    if (raci_to_json(pol, &pj, &e))
        pj = NULL;
    for (size_t i = 0; i < d->defs->n && i < KPI_DEFS_MAX; i++) {
        const char *act = d->defs->defs[i].activity;
        const raci_activity *a = act ? raci_find_activity(pol, act) : NULL;
        const char *acc = a ? raci_accountable(a) : NULL;
        if (!acc || !*acc)
            continue;
        scopy(d->kpi_owner[i], sizeof d->kpi_owner[i], acc);
        const cJSON *prs = pj ? cJSON_GetObjectItemCaseSensitive(pj, "principals") : NULL;
        const cJSON *pr;
        cJSON_ArrayForEach(pr, prs)
        {
            const char *id = jstr(pr, "id"), *name = jstr(pr, "name");
            if (id && name && !strcmp(id, acc))
                scopy(d->kpi_owner_name[i], sizeof d->kpi_owner_name[i], name);
        }
    }
    cJSON_Delete(pj);
}

/* Is a deployment of `model` (any version) in force at `t`: deployed at or
 * before t. (Retirement replaces a version by another; the model stays.) */
static bool model_in_force(const scan *s, const char *model, int64_t t)
{
    for (size_t i = 0; i < s->ndeps; i++)
        if (s->deps[i].t <= t && (!model || !strcmp(s->deps[i].model, model)))
            return true;
    return false;
}

/* Drift counts only the drift monitor's detections for a model in force at
 * the time; a window with no model in force has nothing to monitor (n/a). */
static void drift_finish(scan *s)
{
    rdata *d = s->d;
    d->cur.has_drift = model_in_force(s, NULL, d->period.to_us - 1);
    d->prev.has_drift = model_in_force(s, NULL, d->period.prev_to_us - 1);
    if (base_own(d))
        d->basein.has_drift = model_in_force(s, NULL, d->base.to_us - 1);
    for (int w = 0; w < d->nweeks; w++) {
        int64_t we = w == d->nweeks - 1 ? d->period.to_us
                                        : d->period.from_us + (int64_t)(w + 1) * d->week_len_us;
        d->week[w].has_drift = model_in_force(s, NULL, we - 1);
    }
    for (int w = 0; w < d->nprev_weeks; w++) {
        int64_t we = w == d->nprev_weeks - 1
                         ? d->period.prev_to_us
                         : d->period.prev_from_us + (int64_t)(w + 1) * d->week_len_us;
        d->pweek[w].has_drift = model_in_force(s, NULL, we - 1);
    }
    size_t cap = 0;
    for (size_t i = 0; i < s->ndrift; i++) {
        const rdata_drift *x = &s->drift[i];
        if (!model_in_force(s, x->model, x->time_us))
            continue;
        kpi_inputs *w[MAX_WINDOWS];
        int n = windows(d, x->time_us, w);
        for (int j = 0; j < n; j++)
            w[j]->drift_events++;
        if (!in_cur(d, x->time_us) || d->ndrift >= RDATA_MAX_LIST)
            continue;
        rdata_drift *y = push(&s->rc, (void **)&d->drift, &d->ndrift, &cap, sizeof *d->drift);
        if (!y)
            return;
        *y = *x;
    }
}

static void deploys_finish(scan *s)
{
    rdata *d = s->d;
    /* The inventory is as of the report's date: a model deployed after the
     * period is listed, marked as such. */
    int64_t horizon = d->as_of_us > d->period.to_us ? d->as_of_us : d->period.to_us;
    size_t cap = 0;
    for (size_t i = 0; i < s->nalldep; i++) {
        if (s->alldep[i].time_us > horizon)
            continue;
        rdata_deploy *x = push(&s->rc, (void **)&d->deploys, &d->ndeploys, &cap, sizeof *d->deploys);
        if (!x)
            return;
        *x = s->alldep[i];
    }
    for (size_t i = 0; i < d->ndeploys; i++) {
        rdata_deploy *x = &d->deploys[i];
        size_t used = 0;
        for (size_t a = 0; a < s->nappr; a++) {
            if (strcmp(s->appr[a].change_id, x->change_id) || !x->change_id[0])
                continue;
            int w = snprintf(x->approvers + used, sizeof x->approvers - used, "%s%s",
                             used ? ", " : "", s->appr[a].actor);
            if (w < 0 || (size_t)w >= sizeof x->approvers - used)
                break;
            used += (size_t)w;
        }
        char key[2 * RDATA_STR];
        snprintf(key, sizeof key, "%s@%s", x->model, x->version);
        for (size_t r = 0; r < s->nreg; r++)
            if (!strcmp(s->reg[r].key, key)) {
                x->has_metrics = true;
                x->precision = s->reg[r].precision;
                x->recall = s->reg[r].recall;
                x->pr_auc = s->reg[r].pr_auc;
            }
        x->in_force = true;
        for (size_t j = i + 1; j < d->ndeploys; j++)
            if (!strcmp(d->deploys[j].model, x->model))
                x->in_force = false;
    }
    /* Keep deployments that happened in the period or were in force during it. */
    size_t k = 0;
    for (size_t i = 0; i < d->ndeploys; i++) {
        rdata_deploy *x = &d->deploys[i];
        bool later_before_start = false;
        for (size_t j = i + 1; j < d->ndeploys; j++)
            if (!strcmp(d->deploys[j].model, x->model) &&
                d->deploys[j].time_us <= d->period.from_us)
                later_before_start = true;
        if (!later_before_start)
            d->deploys[k++] = *x;
    }
    d->ndeploys = k;
}

/* ---- telemetry: hourly rollups, stored predictions, quarantine ------------ */

/* The report reads what ingestion kept (rollup.h), never the readings
 * themselves: per device and hour, the readings stored, the meters'
 * increments (energy, produced and good units, found through the profiles'
 * KPI roles: energy_meter, produced_count, good_count), the failure labels,
 * and per model version the outcomes of the predictions made at ingestion
 * against that version's threshold. Hours are whole inside every window
 * (windows start and end on days). Only the operators' verdicts need a
 * reading's own prediction: each is looked up alone. */

typedef struct thr {
    char key[2 * RDATA_STR]; /* model@version */
    double threshold;        /* NAN = unknown to models.db */
} thr;

typedef struct tpass {
    rdata *d;
    const char *data_dir;
    const smap *units;  /* devices with machine.state: the work units (may be empty) */
    thr thr[16];
    size_t nthr;
} tpass;

/* The decision threshold of model@version (models.db; NAN when unknown),
 * cached, noting the version among the models that scored readings in the
 * report. */
static double threshold_of(tpass *tp, const char *model, const char *version)
{
    char key[2 * RDATA_STR];
    snprintf(key, sizeof key, "%s@%s", model, version);
    for (size_t i = 0; i < tp->nthr; i++)
        if (!strcmp(tp->thr[i].key, key))
            return tp->thr[i].threshold;
    model_info mi;
    adt_err e;
    double t = model_get(tp->data_dir, model, version, &mi, NULL, &e) == ADT_OK ? mi.threshold
                                                                               : NAN;
    if (isnan(t))
        snprintf(tp->d->model_problem, sizeof tp->d->model_problem,
                 "%s is not in the model registry: its predictions count as no alarm", key);
    if (tp->nthr < sizeof tp->thr / sizeof tp->thr[0]) {
        scopy(tp->thr[tp->nthr].key, sizeof tp->thr[tp->nthr].key, key);
        tp->thr[tp->nthr++].threshold = t;
        size_t used = strlen(tp->d->scored_models);
        snprintf(tp->d->scored_models + used, sizeof tp->d->scored_models - used, "%s%s",
                 used ? ", " : "", key);
    }
    return t;
}

/* One device-hour: readings received, labelled readings (each counted as no
 * alarm here; rollup_pred moves the scored ones to their outcome), and the
 * work units' meters. */
static int rollup_row_cb(void *ctx, const rollup_row *r)
{
    tpass *tp = ctx;
    rdata *d = tp->d;
    d->readings_scanned += r->readings;
    seen(d, r->hour_us);
    /* Production KPIs cover the work units that have a time model; a device
     * without machine.state (e.g. a PLC line) would mix unlike parts. */
    bool unit = !tp->units->n || smap_get(tp->units, r->device) != SIZE_MAX;
    kpi_inputs *w[MAX_WINDOWS];
    int n = windows(d, r->hour_us, w);
    for (int j = 0; j < n; j++) {
        w[j]->has_telemetry = true;
        w[j]->received += r->readings; /* corrected for replays in qpass_row */
        if (r->has_labels && r->labelled) {
            w[j]->has_labels = true;
            w[j]->fn += r->failures;
            w[j]->tn += r->labelled - r->failures;
        }
        if (!unit)
            continue;
        w[j]->meter_readings += r->readings;
        if (r->has_energy) {
            w[j]->has_energy = true;
            w[j]->energy_kwh += r->energy_kwh;
        }
        if (r->has_produced) {
            w[j]->has_production = true;
            w[j]->produced += r->produced;
            if (r->has_good)
                w[j]->good += r->good > r->produced ? r->produced : r->good;
        }
    }
    return 0;
}

/* One model version's predictions in a device-hour: the labelled ones move
 * from "no alarm" (rollup_row_cb) to their outcome; the period's count per
 * deployed version. An unknown version's predictions stay "no alarm". */
static int rollup_pred_cb(void *ctx, const rollup_pred *p)
{
    tpass *tp = ctx;
    rdata *d = tp->d;
    bool known = !isnan(threshold_of(tp, p->model, p->version));
    kpi_inputs *w[MAX_WINDOWS];
    int n = windows(d, p->hour_us, w);
    for (int j = 0; j < n; j++) {
        w[j]->scored += p->tp + p->fp + p->fn + p->tn;
        if (!known)
            continue;
        w[j]->tp += p->tp;
        w[j]->fp += p->fp;
        w[j]->fn -= p->tp; /* were counted as missed failures */
        w[j]->tn -= p->fp; /* were counted as quiet non-failures */
    }
    for (size_t i = 0; in_cur(d, p->hour_us) && i < d->ndeploys; i++)
        if (!strcmp(d->deploys[i].model, p->model) && !strcmp(d->deploys[i].version, p->version)) {
            d->deploys[i].predictions += p->predictions;
            d->deploys[i].positives += known ? p->positives : 0;
            break;
        }
    return 0;
}

/* An operator's verdict (1 confirmed failure, 0 false alarm) against the alarm. */
static void op_confusion_add(kpi_inputs *w, bool alarm, int verdict, bool scored)
{
    w->op_scored += scored;
    if (alarm && verdict)
        w->op_tp++;
    else if (alarm)
        w->op_fp++;
    else if (verdict)
        w->op_fn++;
    else
        w->op_tn++;
}

#define VERDICT_FOUND (-1) /* stops the lookup; not a status code */

typedef struct vlook {
    const char *device;
    bool found, scored;
    double prob;
    char model[RDATA_STR], version[RDATA_STR];
} vlook;

static int verdict_row(void *ctx, const char *device, int64_t time_us, const double *x,
                       size_t nx, int label, double prob, const char *model, const char *version)
{
    (void)time_us;
    (void)x;
    (void)nx;
    (void)label;
    vlook *v = ctx;
    if (strcmp(device, v->device))
        return 0;
    v->found = true;
    v->scored = !isnan(prob) && model && version;
    v->prob = prob;
    if (v->scored) {
        scopy(v->model, sizeof v->model, model);
        scopy(v->version, sizeof v->version, version);
    }
    return VERDICT_FOUND;
}

/* The operators' verdicts on stored readings, each against the alarm its
 * reading's stored prediction raised (at the version's threshold). */
static int verdicts_pass(tpass *tp, tstore *ts, const oplabel_set *ops, adt_err *err)
{
    rdata *d = tp->d;
    for (size_t i = 0; i < oplabel_count(ops); i++) {
        const oplabel *l = oplabel_at(ops, i);
        if (l->reading_us < span_from(d) || l->reading_us >= span_to(d))
            continue;
        vlook v = {.device = l->device};
        int rc = tstore_window_scored(ts, l->reading_us, l->reading_us + 1, NULL, 0, verdict_row,
                                      &v, err);
        if (rc && rc != VERDICT_FOUND)
            return rc;
        if (!v.found)
            continue;
        bool alarm = false;
        if (v.scored) {
            double t = threshold_of(tp, v.model, v.version);
            alarm = !isnan(t) && v.prob >= t;
        }
        kpi_inputs *w[MAX_WINDOWS];
        int n = windows(d, l->reading_us, w);
        for (int j = 0; j < n; j++)
            op_confusion_add(w[j], alarm, l->value, v.scored);
    }
    return ADT_OK;
}

/* One quarantined reading: received (and quarantined) at ingestion; when a
 * replay recovered it, the stored reading was counted in tpass_row already. */
static int qpass_row(void *ctx, const char *device, int64_t time_us, const char *reason,
                     bool replayed)
{
    (void)device;
    rdata *d = ctx;
    kpi_inputs *w[MAX_WINDOWS];
    int n = windows(d, time_us, w);
    for (int j = 0; j < n; j++) {
        w[j]->has_telemetry = true;
        w[j]->quarantined++;
        if (replayed)
            w[j]->recovered++;
        else
            w[j]->received++;
    }
    if (!in_cur(d, time_us) || !reason)
        return 0;
    size_t k;
    for (k = 0; k < d->nreasons; k++)
        if (!strcmp(d->reasons[k].reason, reason))
            break;
    if (k == d->nreasons) {
        if (k == sizeof d->reasons / sizeof d->reasons[0])
            return 0;
        scopy(d->reasons[k].reason, sizeof d->reasons[k].reason, reason);
        d->nreasons++;
    }
    d->reasons[k].count++;
    d->reasons[k].still += !replayed;
    return 0;
}

static void telemetry_pass(const char *data_dir, rdata *d, const scan *s)
{
    tstore *ts = NULL;
    sqlite3 *tdb = NULL;
    adt_err e;
    if (tstore_open(data_dir, &ts, &e) || tdb_open(data_dir, false, &tdb, &e)) {
        scopy(d->telemetry_problem, sizeof d->telemetry_problem, e.msg);
        scopy(d->model_problem, sizeof d->model_problem, "no telemetry store");
        tstore_close(ts);
        return;
    }
    d->telemetry_store = true;
    /* A store was read: every window has telemetry (zero readings is a fact). */
    ALL_WINDOWS(d, w_->has_telemetry = true);
    tpass tp;
    memset(&tp, 0, sizeof tp);
    tp.d = d;
    tp.data_dir = data_dir;
    tp.units = &s->devices;
    if (rollup_read(tdb, span_from(d), span_to(d), NULL, rollup_row_cb, &tp, &e) ||
        rollup_read_predictions(tdb, span_from(d), span_to(d), NULL, rollup_pred_cb, &tp, &e) ||
        verdicts_pass(&tp, ts, s->ops, &e) ||
        tstore_window_quarantine(ts, span_from(d), span_to(d), qpass_row, d, &e))
        scopy(d->telemetry_problem, sizeof d->telemetry_problem, e.msg);
    if (!d->cur.has_labels && !(d->cur.op_tp + d->cur.op_fp + d->cur.op_fn + d->cur.op_tn) &&
        !d->model_problem[0])
        scopy(d->model_problem, sizeof d->model_problem, "no labelled readings in the period");
    tdb_close(tdb);
    tstore_close(ts);
}

/* ---- controls --------------------------------------------------------------- */

/* Fold a control evaluation into a window's counters. A control "with
 * rules" has at least one evidence rule; without evidence it is neither
 * satisfied nor not satisfied. Findings are counted per rule (a rule serves
 * several controls, so counting per control would count a finding once per
 * control). posture: per framework (RDATA_FW_*), or NULL. */
static void count_controls(const controls_result *r, kpi_inputs *w, rdata_posture *posture)
{
    w->has_controls = true;
    for (size_t i = 0; i < r->ncontrols; i++) {
        const controls_control *c = &r->controls[i];
        int f = !strcmp(c->framework, "iso27001") ? 0 : 1; /* rdata_posture order */
        rdata_posture *p = posture ? &posture[f] : NULL;
        bool ruled = c->nrules > 0;
        w->controls_in_scope++;
        w->controls_with_rules += ruled;
        w->controls_satisfied += c->status == CONTROLS_SATISFIED;
        w->controls_not_satisfied += c->status == CONTROLS_NOT_SATISFIED;
        if (!p)
            continue;
        p->in_scope++;
        p->with_rules += ruled;
        p->satisfied += c->status == CONTROLS_SATISFIED;
        p->not_satisfied += c->status == CONTROLS_NOT_SATISFIED;
        p->no_evidence += c->status == CONTROLS_NOT_EVALUATED && ruled;
    }
    for (size_t i = 0; i < r->nrules; i++) {
        const eval_rule_result *x = &r->rules[i];
        if (!x->findings_count)
            continue;
        int sev = kpi_severity_index(x->severity);
        w->findings_open[sev < 0 ? KPI_SEV_MEDIUM : sev] += x->findings_count;
    }
}

/* The controls that rule `ri` is evidence for, as "label, label" and the
 * framework(s) they belong to. */
static void rule_controls(const controls_result *r, size_t ri, char *ctl, size_t cap,
                          char *fw, size_t fwcap)
{
    size_t used = 0;
    ctl[0] = fw[0] = 0;
    for (size_t i = 0; i < r->ncontrols; i++) {
        const controls_control *c = &r->controls[i];
        for (size_t k = 0; k < c->nrules; k++) {
            if (c->rules[k].rule != ri)
                continue;
            int w = snprintf(ctl + used, cap - used, "%s%s", used ? ", " : "", c->label);
            if (w > 0 && (size_t)w < cap - used)
                used += (size_t)w;
            if (!fw[0])
                scopy(fw, fwcap, c->framework);
            else if (strcmp(fw, c->framework))
                scopy(fw, fwcap, "iso27001, nist80053");
        }
    }
}

/* The period's findings, one entry per finding, with the controls its rule
 * is evidence for. Strings are borrowed from d->controls. */
static void list_findings(rdata *d)
{
    const controls_result *r = d->controls;
    size_t cap = 0;
    for (size_t ri = 0; ri < r->nrules; ri++) {
        const eval_rule_result *x = &r->rules[ri];
        if (!x->findings_count)
            continue;
        char ctl[64], fwname[32];
        rule_controls(r, ri, ctl, sizeof ctl, fwname, sizeof fwname);
        for (size_t k = 0; k < x->nfindings; k++) {
            const eval_finding *f = &x->findings[k];
            int rc = 0;
            rdata_finding *g = push(&rc, (void **)&d->findings, &d->nfindings, &cap,
                                    sizeof *d->findings);
            if (!g)
                return;
            scopy(g->framework, sizeof g->framework, fwname);
            scopy(g->control, sizeof g->control, ctl[0] ? ctl : "(no control in scope)");
            g->severity = kpi_severity_index(x->severity) < 0 ? "medium" : x->severity;
            g->rule = x->id;
            g->title = x->title ? x->title : "";
            g->owner = f->owner ? f->owner : "";
            g->message = f->message ? f->message : "";
            g->time_us = f->has_index ? f->time_us : 0;
            g->index = f->index;
            g->has_index = f->has_index;
        }
    }
}

/* The control evaluation of the period (kept for the documents), the
 * previous period and the baseline (counted only), each at the report's
 * checkpoint, from the engines the controls service keeps (one fold of
 * what they have not seen yet). A window without any event or reading has
 * nothing to evaluate: its governance KPIs are n/a, not "0 % satisfied". */
static void controls_pass(const char *data_dir, rdata *d)
{
    controls *c = NULL;
    adt_err e;
    if (controls_open(data_dir, &c, &e)) {
        scopy(d->controls_problem, sizeof d->controls_problem, e.msg);
        return;
    }
    controls_window w[3] = {{d->period.from_us, d->period.to_us}};
    kpi_inputs *into[3] = {&d->cur};
    size_t n = 1;
    if (has_data(d, d->period.prev_from_us, d->period.prev_to_us)) {
        w[n] = (controls_window){d->period.prev_from_us, d->period.prev_to_us};
        into[n++] = &d->prev;
    }
    if (base_own(d) && has_data(d, d->base.from_us, d->base.to_us)) {
        w[n] = (controls_window){d->base.from_us, d->base.to_us};
        into[n++] = &d->basein;
    }
    controls_result *r[3] = {NULL, NULL, NULL};
    if (controls_period_results(c, w, n, d->tree_size, NULL, r, &e)) {
        scopy(d->controls_problem, sizeof d->controls_problem, e.msg);
    } else {
        d->controls = r[0];
        if (has_data(d, d->period.from_us, d->period.to_us))
            count_controls(r[0], &d->cur, d->posture);
        list_findings(d);
        for (size_t i = 1; i < n; i++) {
            count_controls(r[i], into[i], NULL);
            controls_result_free(r[i]);
        }
    }
    controls_close(c);
}

/* ---- integrity ---------------------------------------------------------------- */

static int integrity(ledger *lg, rdata *d, uint64_t at_size, adt_err *err)
{
    uint64_t size = 0;
    int rc;
    if (at_size) {
        rc = ledger_checkpoint_at(lg, at_size, d->checkpoint, sizeof d->checkpoint, err);
        size = at_size;
    } else {
        rc = ledger_checkpoint(lg, d->checkpoint, sizeof d->checkpoint, &size, err);
    }
    if (rc)
        return rc;
    if (size == 0)
        return adt_fail(err, ADT_ENOTFOUND, "the ledger is empty: nothing to report on");
    scopy(d->origin, sizeof d->origin, ledger_origin(lg));
    scopy(d->key_line, sizeof d->key_line, ledger_key_line(lg));
    adt_err ve;
    uint64_t vsize = 0;
    merkle_hash vroot;
    d->checkpoint_verified = note_verify_checkpoint(d->checkpoint, strlen(d->checkpoint),
                                                    d->origin, ledger_pubkey(lg), &vsize, vroot,
                                                    &ve) == ADT_OK &&
                             vsize == size;
    if (!d->checkpoint_verified)
        return adt_fail(err, ADT_ECORRUPT,
                        "the ledger's checkpoint at size %llu does not verify with its key: %s; "
                        "run `auditd verify`",
                        (unsigned long long)size, ve.msg);
    d->tree_size = size;
    memcpy(d->root, vroot, sizeof vroot);
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    rc = ledger_entry(lg, size - 1, &leaf, err);
    if (rc == ADT_OK) {
        const char *v;
        size_t vl;
        if (canon_member(leaf.data, leaf.len, "recorded_at", &v, &vl) == ADT_OK && vl >= 2 &&
            vl - 2 < sizeof d->checkpoint_recorded) {
            memcpy(d->checkpoint_recorded, v + 1, vl - 2);
            d->checkpoint_recorded[vl - 2] = 0;
        }
    }
    buf_free(&leaf);
    return rc;
}

/* The witnesses that cosigned the report's checkpoint, each cosignature
 * checked with the witness key stored beside it. */
static void cosigned_by(const char *data_dir, rdata *d)
{
    cosigdb *db = NULL;
    adt_err e;
    if (cosigdb_open(data_dir, false, &db, &e))
        return;
    cosigdb_cosig cs[8];
    size_t n = 0;
    note_parsed *np = malloc(sizeof *np);
    if (np && cosigdb_list(db, d->tree_size, d->root, cs, 8, &n, &e) == ADT_OK) {
        for (size_t i = 0; i < n; i++) {
            char note[NOTE_MAX + COSIG_LINE_MAX];
            cosig_key k;
            uint64_t ts = 0;
            snprintf(note, sizeof note, "%s%s", d->checkpoint, cs[i].line);
            if (cosig_key_parse(cs[i].vkey, &k, &e) || note_parse(note, strlen(note), np, &e) ||
                cosig_verify(note, np, &k, &ts, &e) || ts > INT64_MAX / 1000000)
                continue;
            size_t w = d->nwitnesses++;
            scopy(d->witnesses[w].name, sizeof d->witnesses[w].name, k.name);
            scopy(d->witnesses[w].key, sizeof d->witnesses[w].key, k.vkey);
            rfc3339_format_s((int64_t)ts * 1000000, d->witnesses[w].time, sizeof d->witnesses[w].time);
        }
    }
    free(np);
    cosigdb_close(db);
}

static void prev_consistency(ledger *lg, rdata *d)
{
    d->prev_consistency = -1;
    if (!d->has_prev_report)
        return;
    if (d->prev_tree_size > d->tree_size) {
        d->prev_consistency = 0;
        scopy(d->prev_problem, sizeof d->prev_problem,
              "the previous report claims a larger tree than the current checkpoint");
        return;
    }
    char note[NOTE_MAX];
    adt_err e;
    uint64_t vs = 0;
    merkle_hash vr;
    if (ledger_checkpoint_at(lg, d->prev_tree_size, note, sizeof note, &e) == ADT_OK &&
        note_verify_checkpoint(note, strlen(note), d->origin, ledger_pubkey(lg), &vs, vr, &e) ==
            ADT_OK &&
        vs == d->prev_tree_size && !memcmp(vr, d->prev_root, sizeof vr))
        d->prev_checkpoint_verified = true;
    merkle_hash proof[MERKLE_MAX_PROOF];
    size_t n = 0;
    if (ledger_prove_consistency(lg, d->prev_tree_size, d->tree_size, proof, &n, &e)) {
        d->prev_consistency = 0;
        scopy(d->prev_problem, sizeof d->prev_problem, e.msg);
        return;
    }
    d->prev_consistency = merkle_verify_consistency(d->prev_tree_size, d->tree_size,
                                                    d->prev_root, d->root, proof, n)
                              ? 1
                              : 0;
    if (!d->prev_consistency)
        scopy(d->prev_problem, sizeof d->prev_problem,
              "the consistency proof from the previous report's tree does not verify: the "
              "ledger was rewritten");
}

/* ---- entry point ---------------------------------------------------------------- */

bool rdata_fold_parses(const uint8_t *state, size_t len)
{
    rkeep_r head = {state, len, 0, false};
    char key[RKEEP_KEY_MAX];
    (void)rkeep_r_u64(&head); /* the version: fold_restore checks it */
    rkeep_r_str(&head, key, sizeof key);
    if (head.bad)
        return false;
    rdata *d = calloc(1, sizeof *d);
    if (!d)
        return false;
    adt_err err = {0};
    scan s = {.d = d, .err = &err};
    bool ok = fold_restore(&s, key, state, len);
    scan_lists_free(&s);
    rdata_free(d);
    return ok;
}

void rdata_free(rdata *d)
{
    if (!d)
        return;
    free(d->incidents);
    free(d->deploys);
    free(d->drift);
    free(d->findings);
    free(d->units);
    controls_result_free(d->controls);
    free(d);
}

const kpi_inputs *rdata_base(const rdata *d)
{
    if (!d->has_base)
        return NULL;
    return d->base_alias == 1 ? &d->cur : d->base_alias == 2 ? &d->prev : &d->basein;
}

static void scan_free(scan *s)
{
    scan_lists_free(s);
    oplabel_set_free(s->ops);
}

/* After the ledger pass: drift, firmware markers, incidents against their
 * SLAs and owners (RACI policy in force), KPI owners, deployments. */
static void ledger_finish(const char *data_dir, scan *s)
{
    rdata *d = s->d;
    ALL_WINDOWS(d, w_->has_incidents = true);
    drift_finish(s);
    firmware_markers(s);
    raci_policy *pol = NULL;
    adt_err pe;
    if (raci_load_current(data_dir, &pol, &pe) == ADT_OK) {
        scopy(d->raci_name, sizeof d->raci_name, raci_name(pol));
        scopy(d->raci_version, sizeof d->raci_version, raci_version(pol));
    }
    incidents_finish(d, pol);
    kpi_owners(d, pol);
    if (pol)
        raci_free(pol);
    deploys_finish(s);
}

static int nweeks_of(int64_t span, int64_t week)
{
    return (int)((span + week - 1) / week);
}

/* The windows: the period, the previous one, the baseline (an alias of one
 * of those when it is the same window) and the week buckets of the trend
 * charts (at most RDATA_MAX_WEEKS, lengthened by whole weeks). */
static void set_windows(rdata *d, const rperiod *period, const kpi_defs *defs, adt_err *err)
{
    d->period = *period;
    d->defs = defs;
    if (defs->baseline_period && rperiod_parse(defs->baseline_period, &d->base, err) == ADT_OK) {
        d->has_base = true;
        d->base_alias = d->base.from_us == period->from_us && d->base.to_us == period->to_us ? 1
                        : d->base.from_us == period->prev_from_us &&
                                d->base.to_us == period->prev_to_us
                            ? 2
                            : 0;
    }
    int64_t span = period->to_us - period->from_us;
    int64_t pspan = period->prev_to_us - period->prev_from_us;
    int64_t week = 7LL * 86400 * 1000000;
    d->week_len_us = week;
    int64_t longest = span > pspan ? span : pspan;
    while (nweeks_of(longest, d->week_len_us) > RDATA_MAX_WEEKS)
        d->week_len_us += week;
    if (span < d->week_len_us)
        d->week_len_us = span; /* a short custom range is one bucket */
    d->nweeks = nweeks_of(span, d->week_len_us);
    d->nprev_weeks = nweeks_of(pspan, d->week_len_us);
    if (d->nprev_weeks > RDATA_MAX_WEEKS)
        d->nprev_weeks = RDATA_MAX_WEEKS;
}

int rdata_collect(const char *data_dir, const rperiod *period, const kpi_defs *defs,
                  const rdata_opts *opts, rdata **out, adt_err *err)
{
    rdata_opts o = {0};
    if (opts)
        o = *opts;
    rdata *d = calloc(1, sizeof *d);
    if (!d)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    set_windows(d, period, defs, err);

    ledger *lg = NULL;
    int rc = ledger_open(data_dir, LEDGER_RDONLY, &lg, err);
    if (rc) {
        free(d);
        return rc;
    }
    rc = integrity(lg, d, o.at_size, err);
    if (rc)
        goto fail;
    cosigned_by(data_dir, d);
    if (o.issued_us) {
        d->as_of_us = o.issued_us;
        rfc3339_format_s(o.issued_us, d->as_of, sizeof d->as_of);
    } else {
        scopy(d->as_of, sizeof d->as_of, d->checkpoint_recorded);
        rfc3339_parse(d->as_of, strlen(d->as_of), &d->as_of_us);
    }

    scan s;
    memset(&s, 0, sizeof s);
    s.d = d;
    s.err = err;
    int64_t t0 = rfc3339_now_us();
    rc = ledger_fold(data_dir, lg, &s, err);
    /* Every entry below the tree size is accounted for: folded now or by the
     * kept fold this one resumed. */
    d->entries_scanned = d->tree_size;
    int64_t t1 = rfc3339_now_us();
    if (rc == ADT_ENOMEM)
        rc = adt_fail(err, rc, "out of memory while reading the ledger");
    if (!rc)
        rc = oplabel_set_new(&s.ops, err);
    for (size_t i = 0; !rc && i < s.nlab; i++)
        rc = oplabel_set_add_leaf(s.ops, s.lab[i].index, s.lb + s.lab[i].off, s.lab[i].len, err);
    if (!rc)
        rc = oplabel_set_finish(s.ops, err);
    if (rc) {
        scan_free(&s);
        goto fail;
    }
    ledger_finish(data_dir, &s);
    prev_consistency(lg, d);
    ledger_close(lg);
    lg = NULL;

    int64_t t2 = rfc3339_now_us();
    if (!o.skip_telemetry)
        telemetry_pass(data_dir, d, &s);
    /* The time model needs the end of the observed data, which the readings
     * extend: after the telemetry pass. */
    time_model(&s);
    rc = s.rc;
    /* The work units by name, for what a site ships to its centre (ship.h). */
    if (!rc && s.devices.n) {
        const char **names = smap_keys(&s.devices); /* in first-seen order */
        d->units = names ? calloc(s.devices.n, sizeof *d->units) : NULL;
        for (size_t i = 0; d->units && i < s.devices.n; i++)
            scopy(d->units[i], sizeof d->units[0], names[i]);
        free(names);
        if (!d->units)
            rc = ADT_ENOMEM;
        else
            d->nunits = s.devices.n;
    }
    scan_free(&s);
    if (rc) {
        rc = adt_fail(err, rc, "out of memory while building the report data");
        goto fail;
    }
    int64_t t3 = rfc3339_now_us();
    if (!o.skip_controls)
        controls_pass(data_dir, d);
    int64_t t4 = rfc3339_now_us();
    if (d->has_base && d->base_alias == 1)
        d->basein = d->cur;
    else if (d->has_base && d->base_alias == 2)
        d->basein = d->prev;
    log_msg(LOG_DEBUG, "reports",
            "%s: ledger pass %.2f s (%llu entries), incidents %.2f s, telemetry and time model "
            "%.2f s (%llu readings), controls %.2f s",
            d->period.label, (double)(t1 - t0) / 1e6, (unsigned long long)d->entries_scanned,
            (double)(t2 - t1) / 1e6, (double)(t3 - t2) / 1e6,
            (unsigned long long)d->readings_scanned, (double)(t4 - t3) / 1e6);
    *out = d;
    return ADT_OK;
fail:
    ledger_close(lg);
    rdata_free(d);
    return rc;
}
