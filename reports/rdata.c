/* rdata.c: gather a report's data (see rdata.h). */
#include "rdata.h"

#include "canon.h"
#include "controls.h"
#include "cosigdb.h"
#include "ledger.h"
#include "log.h"
#include "model.h"
#include "raci.h"
#include "rfc3339.h"
#include "tstore.h"

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

/* ---- a small string -> index map (open addressing) ----------------------- */

typedef struct smap {
    char **keys;
    size_t *vals;
    size_t cap, n;
} smap;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static void smap_free(smap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* Index of `key`, or SIZE_MAX. */
static size_t smap_get(const smap *m, const char *key)
{
    if (!m->cap)
        return SIZE_MAX;
    for (size_t i = fnv(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return SIZE_MAX;
        if (!strcmp(m->keys[i], key))
            return m->vals[i];
    }
}

static int smap_put(smap *m, const char *key, size_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        char **nk = calloc(nc, sizeof *nk);
        size_t *nv = calloc(nc, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return ADT_ENOMEM;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = fnv(m->keys[i]) & (nc - 1);
            while (nk[j])
                j = (j + 1) & (nc - 1);
            nk[j] = m->keys[i];
            nv[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = nc;
    }
    size_t i = fnv(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (!strcmp(m->keys[i], key)) {
            m->vals[i] = val;
            return ADT_OK;
        }
        i = (i + 1) & (m->cap - 1);
    }
    size_t n = strlen(key) + 1;
    m->keys[i] = malloc(n);
    if (!m->keys[i])
        return ADT_ENOMEM;
    memcpy(m->keys[i], key, n);
    m->vals[i] = val;
    m->n++;
    return ADT_OK;
}

/* ---- growable arrays ------------------------------------------------------ */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return ADT_OK;
    size_t nc = *cap ? *cap * 2 : 256;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return ADT_ENOMEM;
    *p = q;
    *cap = nc;
    return ADT_OK;
}

/* ---- the scan ------------------------------------------------------------- */

typedef struct mstate {
    uint32_t dev;
    uint8_t state; /* 0 running, 1 idle, 2 down */
    int64_t t;
} mstate;

typedef struct approval {
    char change_id[RDATA_STR];
    char actor[RDATA_STR];
} approval;

typedef struct regmetrics {
    char key[2 * RDATA_STR];
    char dataset[129];
    double precision, recall, pr_auc;
} regmetrics;

typedef struct scan {
    rdata *d;
    adt_err *err;
    int rc;
    smap devices;
    mstate *ms;
    size_t nms, cms;
    smap incidents; /* id -> index in d->incidents */
    smap datasets;  /* dataset id -> index into ds_from/ds_to */
    int64_t *ds_from, *ds_to;
    size_t nds, cds;
    smap batches;   /* telemetry batch_id -> index into batch_from */
    int64_t *batch_from;
    size_t nbatch, cbatch;
    size_t cinc;
    approval *appr;
    size_t nappr, cappr;
    regmetrics *reg;
    size_t nreg, creg;
    size_t cdep;
    size_t cdrift;
    bool saw_model;
    /* prediction.summary per model@version */
    smap preds;
    uint64_t *pred_count, *pred_pos;
    size_t npred, cpred;
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

static bool in_cur(const rdata *d, int64_t t)
{
    return t >= d->period.from_us && t < d->period.to_us;
}

static bool in_prev(const rdata *d, int64_t t)
{
    return t >= d->period.prev_from_us && t < d->period.prev_to_us;
}

static kpi_inputs *week_of(rdata *d, int64_t t)
{
    if (!in_cur(d, t))
        return NULL;
    int64_t w = (t - d->period.from_us) / d->week_len_us;
    if (w >= d->nweeks)
        w = d->nweeks - 1;
    return &d->week[w];
}

/* The windows an instant belongs to (at most two: the period and its week, or
 * the previous period). */
static int windows(rdata *d, int64_t t, kpi_inputs *out[2])
{
    if (in_cur(d, t)) {
        out[0] = &d->cur;
        out[1] = week_of(d, t);
        return 2;
    }
    if (in_prev(d, t)) {
        out[0] = &d->prev;
        return 1;
    }
    return 0;
}

/* The batch_id member as a map key (ids are numbers or strings). */
static bool batch_key(const cJSON *p, char *key, size_t cap)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(p, "batch_id");
    if (cJSON_IsNumber(b) && isfinite(b->valuedouble))
        snprintf(key, cap, "%.0f", b->valuedouble);
    else if (cJSON_IsString(b))
        snprintf(key, cap, "s:%.100s", b->valuestring);
    else
        return false;
    return true;
}

/* When the readings of a batch were taken: the batch's `from` (its events are
 * stamped with the ingestion time, which may be long after). Reject and
 * prediction events of the same batch inherit it; else their own `time`. */
static bool batch_time(scan *s, const cJSON *p, int64_t *t)
{
    char key[128];
    if (batch_key(p, key, sizeof key)) {
        size_t i = smap_get(&s->batches, key);
        if (i != SIZE_MAX) {
            *t = s->batch_from[i];
            return true;
        }
    }
    return jtime(p, "time", t);
}

static int type_is(const char *v, size_t vl, const char *t)
{
    size_t n = strlen(t);
    return vl == n + 2 && !memcmp(v + 1, t, n);
}

static void on_machine_state(scan *s, const cJSON *p)
{
    const char *dev = jstr(p, "device"), *st = jstr(p, "state");
    int64_t t;
    if (!dev || !st || !(jtime(p, "since", &t) || jtime(p, "time", &t)))
        return;
    uint8_t code;
    if (!strcmp(st, "running"))
        code = 0;
    else if (!strcmp(st, "idle"))
        code = 1;
    else if (!strcmp(st, "down"))
        code = 2;
    else
        return;
    size_t di = smap_get(&s->devices, dev);
    if (di == SIZE_MAX) {
        di = s->devices.n;
        if (smap_put(&s->devices, dev, di)) {
            s->rc = ADT_ENOMEM;
            return;
        }
    }
    if (grow((void **)&s->ms, &s->cms, s->nms + 1, sizeof *s->ms)) {
        s->rc = ADT_ENOMEM;
        return;
    }
    s->ms[s->nms++] = (mstate){(uint32_t)di, code, t};
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
static bool machine_state_fast(scan *s, const char *p, size_t n)
{
    char dev[RDATA_STR], st[16], tm[64];
    if (!member_str(p, n, "device", dev, sizeof dev) || !member_str(p, n, "state", st, sizeof st))
        return false;
    if (!member_str(p, n, "since", tm, sizeof tm) && !member_str(p, n, "time", tm, sizeof tm))
        return false;
    int64_t t;
    if (rfc3339_parse(tm, strlen(tm), &t))
        return false;
    uint8_t code;
    if (!strcmp(st, "running"))
        code = 0;
    else if (!strcmp(st, "idle"))
        code = 1;
    else if (!strcmp(st, "down"))
        code = 2;
    else
        return true; /* not a state this report knows: skip, as the slow path would */
    size_t di = smap_get(&s->devices, dev);
    if (di == SIZE_MAX) {
        di = s->devices.n;
        if (smap_put(&s->devices, dev, di)) {
            s->rc = ADT_ENOMEM;
            return true;
        }
    }
    if (grow((void **)&s->ms, &s->cms, s->nms + 1, sizeof *s->ms)) {
        s->rc = ADT_ENOMEM;
        return true;
    }
    s->ms[s->nms++] = (mstate){(uint32_t)di, code, t};
    return true;
}

static void on_incident(scan *s, const char *type, const cJSON *p, uint64_t index)
{
    rdata *d = s->d;
    const char *id = jstr(p, "incident_id");
    int64_t t;
    if (!id || !jtime(p, "time", &t))
        return;
    size_t i = smap_get(&s->incidents, id);
    if (!strcmp(type, "incident.open")) {
        if (i != SIZE_MAX || !(in_cur(d, t) || in_prev(d, t)))
            return;
        if (grow((void **)&d->incidents, &s->cinc, d->nincidents + 1, sizeof *d->incidents) ||
            smap_put(&s->incidents, id, d->nincidents)) {
            s->rc = ADT_ENOMEM;
            return;
        }
        rdata_incident *in = &d->incidents[d->nincidents++];
        memset(in, 0, sizeof *in);
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

static void on_telemetry(scan *s, const char *type, const cJSON *p)
{
    int64_t t;
    if (!strcmp(type, "telemetry.batch")) {
        if (!jtime(p, "from", &t) && !jtime(p, "time", &t))
            return;
        char key[128];
        if (batch_key(p, key, sizeof key)) {
            if (grow((void **)&s->batch_from, &s->cbatch, s->nbatch + 1, sizeof *s->batch_from) ||
                smap_put(&s->batches, key, s->nbatch)) {
                s->rc = ADT_ENOMEM;
                return;
            }
            s->batch_from[s->nbatch++] = t;
        }
    } else if (!batch_time(s, p, &t)) {
        return;
    }
    kpi_inputs *w[2];
    int n = windows(s->d, t, w);
    double readings = 0, quarantined = 0, count = 0;
    if (!strcmp(type, "telemetry.batch")) {
        jnum(p, "readings", &readings);
        jnum(p, "quarantined", &quarantined);
    } else {
        jnum(p, "count", &count);
        readings = count;
        quarantined = count;
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(p, "reasons");
        if (cJSON_IsObject(r) && in_cur(s->d, t)) {
            const cJSON *e;
            cJSON_ArrayForEach(e, r)
            {
                if (!cJSON_IsNumber(e) || e->valuedouble < 0)
                    continue;
                size_t k;
                for (k = 0; k < s->d->nreasons; k++)
                    if (!strcmp(s->d->reasons[k].reason, e->string))
                        break;
                if (k == s->d->nreasons) {
                    if (k == sizeof s->d->reasons / sizeof s->d->reasons[0])
                        continue;
                    scopy(s->d->reasons[k].reason, sizeof s->d->reasons[k].reason, e->string);
                    s->d->nreasons++;
                }
                s->d->reasons[k].count += (uint64_t)e->valuedouble;
            }
        }
    }
    if (readings < 0 || quarantined < 0 || readings > 1e15 || quarantined > 1e15)
        return;
    for (int i = 0; i < n; i++) {
        if (!w[i])
            continue;
        w[i]->has_telemetry = true;
        w[i]->readings_submitted += (uint64_t)readings;
        w[i]->readings_rejected += (uint64_t)quarantined;
    }
}

static void on_model(scan *s, const char *type, const cJSON *p, uint64_t index)
{
    rdata *d = s->d;
    s->saw_model = true;
    if (!strcmp(type, "change.approve")) {
        const char *cid = jstr(p, "change_id"), *actor = jstr(p, "actor");
        if (!cid || !actor)
            return;
        if (grow((void **)&s->appr, &s->cappr, s->nappr + 1, sizeof *s->appr)) {
            s->rc = ADT_ENOMEM;
            return;
        }
        approval *a = &s->appr[s->nappr++];
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
        if (grow((void **)&s->reg, &s->creg, s->nreg + 1, sizeof *s->reg)) {
            s->rc = ADT_ENOMEM;
            return;
        }
        regmetrics *r = &s->reg[s->nreg++];
        memset(r, 0, sizeof *r);
        snprintf(r->key, sizeof r->key, "%s@%s", model, version);
        scopy(r->dataset, sizeof r->dataset, jstr(p, "dataset"));
        r->precision = r->recall = r->pr_auc = NAN;
        jnum(m, "precision", &r->precision);
        jnum(m, "recall", &r->recall);
        jnum(m, "pr_auc", &r->pr_auc);
        return;
    }
    if (!strcmp(type, "model.deploy")) {
        int64_t t;
        /* The inventory is as of the report's date: a model deployed after the
         * period (e.g. trained on its data) is listed, marked as such. */
        int64_t horizon = d->as_of_us > d->period.to_us ? d->as_of_us : d->period.to_us;
        if (!jtime(p, "time", &t) || t > horizon)
            return;
        if (grow((void **)&d->deploys, &s->cdep, d->ndeploys + 1, sizeof *d->deploys)) {
            s->rc = ADT_ENOMEM;
            return;
        }
        rdata_deploy *x = &d->deploys[d->ndeploys++];
        memset(x, 0, sizeof *x);
        scopy(x->model, sizeof x->model, model);
        scopy(x->version, sizeof x->version, version);
        scopy(x->change_id, sizeof x->change_id, jstr(p, "change_id"));
        scopy(x->deployed_by, sizeof x->deployed_by, jstr(p, "actor"));
        scopy(x->artifact, sizeof x->artifact, jstr(p, "artifact_sha256"));
        x->time_us = t;
        x->index = index;
        return;
    }
    if (!strcmp(type, "prediction.summary")) {
        int64_t t;
        double c = 0, pos = 0;
        if (!batch_time(s, p, &t) || !in_cur(d, t))
            return;
        jnum(p, "count", &c);
        jnum(p, "positives", &pos);
        if (c < 0 || pos < 0 || c > 1e15 || pos > 1e15)
            return;
        char key[2 * RDATA_STR];
        snprintf(key, sizeof key, "%s@%s", model, version);
        size_t i = smap_get(&s->preds, key);
        if (i == SIZE_MAX) {
            i = s->npred;
            if (grow((void **)&s->pred_count, &s->cpred, s->npred + 1, sizeof *s->pred_count)) {
                s->rc = ADT_ENOMEM;
                return;
            }
            size_t c2 = s->cpred;
            uint64_t *np = realloc(s->pred_pos, c2 * sizeof *np);
            if (!np || smap_put(&s->preds, key, i)) {
                if (np)
                    s->pred_pos = np;
                s->rc = ADT_ENOMEM;
                return;
            }
            s->pred_pos = np;
            s->pred_count[i] = s->pred_pos[i] = 0;
            s->npred++;
        }
        s->pred_count[i] += (uint64_t)c;
        s->pred_pos[i] += (uint64_t)pos;
    }
}

/* drift.detected from the drift monitor, and alert.raise of kind "drift"
 * from an agent: both are drift events. */
/* dataset.define: the window of readings a dataset (and the models trained on
 * it) saw, so live model quality can leave it out. */
static void on_dataset(scan *s, const cJSON *p)
{
    const char *id = jstr(p, "dataset");
    int64_t f, t;
    if (!id || !jtime(p, "from", &f) || !jtime(p, "to", &t))
        return;
    size_t i = smap_get(&s->datasets, id);
    if (i == SIZE_MAX) {
        size_t c2 = s->cds;
        if (grow((void **)&s->ds_from, &s->cds, s->nds + 1, sizeof *s->ds_from)) {
            s->rc = ADT_ENOMEM;
            return;
        }
        if (s->cds != c2) {
            int64_t *nt = realloc(s->ds_to, s->cds * sizeof *nt);
            if (!nt) {
                s->rc = ADT_ENOMEM;
                return;
            }
            s->ds_to = nt;
        }
        i = s->nds;
        if (smap_put(&s->datasets, id, i)) {
            s->rc = ADT_ENOMEM;
            return;
        }
        s->nds++;
    }
    s->ds_from[i] = f;
    s->ds_to[i] = t;
}

static void on_drift(scan *s, const char *type, const cJSON *p, uint64_t index)
{
    rdata *d = s->d;
    int64_t t;
    if (!strcmp(type, "alert.raise")) {
        const char *kind = jstr(p, "kind");
        if (!kind || strcmp(kind, "drift"))
            return;
    }
    s->saw_model = true;
    if (!jtime(p, "time", &t))
        return;
    kpi_inputs *w[2];
    int n = windows(d, t, w);
    for (int i = 0; i < n; i++)
        if (w[i])
            w[i]->drift_events++;
    if (!in_cur(d, t) || d->ndrift >= RDATA_MAX_LIST)
        return;
    if (grow((void **)&d->drift, &s->cdrift, d->ndrift + 1, sizeof *d->drift)) {
        s->rc = ADT_ENOMEM;
        return;
    }
    rdata_drift *x = &d->drift[d->ndrift++];
    memset(x, 0, sizeof *x);
    scopy(x->model, sizeof x->model, jstr(p, "model"));
    scopy(x->feature, sizeof x->feature,
          jstr(p, "feature") ? jstr(p, "feature") : jstr(p, "alert_id") ? jstr(p, "alert_id") : "");
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

/* The leaf's `type`, found from the end: leaves are canonical JSON with sorted
 * keys, so "type" is the last member and its string cannot contain an
 * unescaped quote; this avoids a structural scan of the whole payload.
 * false = not in that shape (the caller falls back to canon_member). */
static bool leaf_type(const char *leaf, size_t len, const char **tv, size_t *tl)
{
    static const char pat[] = ",\"type\":\"";
    const size_t pn = sizeof pat - 1;
    if (len < pn + 3 || leaf[len - 1] != '}' || leaf[len - 2] != '"')
        return false;
    size_t lim = len > 200 ? len - 200 : 0;
    for (size_t i = len - 2; i-- > lim;) {
        if (leaf[i] == '\\')
            return false;
        if (leaf[i] == '"') {
            if (i < pn - 1 || memcmp(leaf + i - (pn - 1), pat, pn))
                return false;
            *tv = leaf + i;
            *tl = len - 1 - i;
            return true;
        }
    }
    return false;
}

static int scan_fn(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    scan *s = ctx;
    s->d->entries_scanned++;
    const char *tv, *pv;
    size_t tl, pl;
    if (!leaf_type(leaf, len, &tv, &tl) &&
        (canon_member(leaf, len, "type", &tv, &tl) || tl < 3 || tv[0] != '"'))
        return 0;
    /* Cheap filter on the type before parsing the payload. */
    static const char *const wanted[] = {
        "machine.state", "incident.open", "incident.ack", "incident.resolve",
        "change.approve", "model.register", "model.deploy", "prediction.summary",
        "drift.detected", "telemetry.batch", "telemetry.reject", "report.issued", "alert.raise",
        "dataset.define"};
    size_t k;
    for (k = 0; k < sizeof wanted / sizeof wanted[0]; k++)
        if (type_is(tv, tl, wanted[k]))
            break;
    if (k == sizeof wanted / sizeof wanted[0])
        return 0;
    if (canon_member(leaf, len, "payload", &pv, &pl))
        return 0;
    if (k == 0 && machine_state_fast(s, pv, pl))
        return s->rc ? 1 : 0;
    cJSON *p = cJSON_ParseWithLength(pv, pl);
    if (!p)
        return 0;
    const char *type = wanted[k];
    if (k == 0)
        on_machine_state(s, p);
    else if (k <= 3)
        on_incident(s, type, p, index);
    else if (k <= 7)
        on_model(s, type, p, index);
    else if (k == 8 || k == 12)
        on_drift(s, type, p, index);
    else if (k == 13)
        on_dataset(s, p);
    else if (k <= 10)
        on_telemetry(s, type, p);
    else
        on_report(s, p, index);
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

static void add_interval(rdata *d, int64_t a, int64_t b, int state)
{
    const kpi_params *p = &d->defs->params;
    add_span(&d->prev, p, a, b, d->period.prev_from_us, d->period.prev_to_us, state);
    add_span(&d->cur, p, a, b, d->period.from_us, d->period.to_us, state);
    if (b <= d->period.from_us || a >= d->period.to_us)
        return;
    int64_t lo = a > d->period.from_us ? a : d->period.from_us;
    int64_t hi = b < d->period.to_us ? b : d->period.to_us;
    int w0 = (int)((lo - d->period.from_us) / d->week_len_us);
    int w1 = (int)((hi - 1 - d->period.from_us) / d->week_len_us);
    if (w1 >= d->nweeks)
        w1 = d->nweeks - 1;
    for (int w = w0; w <= w1; w++) {
        int64_t ws = d->period.from_us + (int64_t)w * d->week_len_us;
        int64_t we = w == d->nweeks - 1 ? d->period.to_us : ws + d->week_len_us;
        add_span(&d->week[w], p, a, b, ws, we, state);
    }
}

static void time_model(scan *s)
{
    rdata *d = s->d;
    if (!s->nms)
        return;
    qsort(s->ms, s->nms, sizeof *s->ms, ms_cmp);
    /* The last state of a device holds until the period ends, or until the
     * report's as-of time if that is earlier (a report mid-period). */
    int64_t horizon = d->period.to_us;
    if (d->as_of_us > d->period.prev_from_us && d->as_of_us < horizon)
        horizon = d->as_of_us;
    int64_t down_start = 0;
    for (size_t i = 0; i < s->nms; i++) {
        const mstate *m = &s->ms[i];
        bool first = i == 0 || s->ms[i - 1].dev != m->dev;
        int prev_state = first ? -1 : s->ms[i - 1].state;
        kpi_inputs *w[2];
        int n = windows(d, m->t, w);
        if (m->state == 2 && prev_state != 2) {
            down_start = m->t;
            for (int j = 0; j < n; j++)
                if (w[j])
                    w[j]->failures++;
        } else if (m->state != 2 && prev_state == 2) {
            for (int j = 0; j < n; j++)
                if (w[j]) {
                    w[j]->restorations++;
                    w[j]->ttr_s += (double)(m->t - down_start) / 1e6;
                }
        }
        bool last = i + 1 == s->nms || s->ms[i + 1].dev != m->dev;
        int64_t end = last ? (horizon > m->t ? horizon : m->t) : s->ms[i + 1].t;
        add_interval(d, m->t, end, m->state);
    }
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
        kpi_inputs *w[2];
        int n = windows(d, in->opened_us, w);
        for (int j = 0; j < n; j++) {
            if (!w[j])
                continue;
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

static void deploys_finish(scan *s)
{
    rdata *d = s->d;
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
        size_t pi = smap_get(&s->preds, key);
        if (pi != SIZE_MAX) {
            x->predictions = s->pred_count[pi];
            x->positives = s->pred_pos[pi];
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

/* ---- telemetry store: production, energy, live model quality -------------- */

#define TS_BATCH 4096
/* Counter fields read from readings: the CNC profile's (energy_kwh, produced,
 * good) and the legacy PLC's (energy_wh, counter_total, counter_good). All are
 * cumulative meters (profile roles energy_meter, produced_count, good_count):
 * a window's amount is the sum of per-device increments; a decrease is a
 * meter reset (the new value is the increment). */
#define TS_NBASE 6
static const char *const ts_base[TS_NBASE] = {"energy_kwh", "produced",      "good",
                                              "energy_wh",  "counter_total", "counter_good"};

typedef struct tdev {
    double last[3]; /* kWh, produced, good; NAN = not seen */
} tdev;

typedef struct tpass {
    rdata *d;
    const smap *units;  /* devices with machine.state: the work units (may be empty) */
    int64_t ex_from, ex_to; /* the scored model's training window, left out */
    model_scorer *scorer;
    size_t nf;          /* scorer raw features */
    float threshold;
    double *x;          /* TS_BATCH * nf */
    float *prob;
    int *label;
    int64_t *t;
    size_t n;
    smap devs;
    tdev *dev;
    size_t ndev, cdev;
    int rc;
} tpass;

static void confusion_add(kpi_inputs *w, bool pred, int label)
{
    w->has_confusion = true;
    if (pred && label)
        w->tp++;
    else if (pred)
        w->fp++;
    else if (label)
        w->fn++;
    else
        w->tn++;
}

static int tpass_flush(tpass *tp)
{
    if (!tp->n)
        return 0;
    adt_err e;
    if (model_scorer_score(tp->scorer, tp->x, tp->n, tp->nf, tp->prob, &e)) {
        scopy(tp->d->model_problem, sizeof tp->d->model_problem, e.msg);
        tp->n = 0;
        return 0;
    }
    for (size_t i = 0; i < tp->n; i++) {
        bool pred = tp->prob[i] >= tp->threshold;
        kpi_inputs *w[2];
        int n = windows(tp->d, tp->t[i], w);
        for (int j = 0; j < n; j++)
            if (w[j])
                confusion_add(w[j], pred, tp->label[i]);
    }
    tp->n = 0;
    return 0;
}

/* The increment of meter `k` of `dev` to `v` (0 for the first value seen). */
static double meter_step(tdev *dv, int k, double v)
{
    if (isnan(v) || v < 0)
        return NAN;
    double last = dv->last[k];
    dv->last[k] = v;
    if (isnan(last))
        return 0;
    return v >= last ? v - last : v;
}

static int tpass_row(void *ctx, const char *device, int64_t time_us, const double *x, size_t nx,
                     int label)
{
    tpass *tp = ctx;
    rdata *d = tp->d;
    d->readings_scanned++;
    size_t di = smap_get(&tp->devs, device);
    if (di == SIZE_MAX) {
        if (grow((void **)&tp->dev, &tp->cdev, tp->ndev + 1, sizeof *tp->dev) ||
            smap_put(&tp->devs, device, tp->ndev))
            return tp->rc = ADT_ENOMEM;
        di = tp->ndev++;
        tp->dev[di].last[0] = tp->dev[di].last[1] = tp->dev[di].last[2] = NAN;
    }
    tdev *dv = &tp->dev[di];
    /* Production KPIs cover the work units that have a time model; a device
     * without machine.state (e.g. a PLC line) would mix unlike parts. */
    bool unit = !tp->units->n || smap_get(tp->units, device) != SIZE_MAX;
    double ekwh = !isnan(x[0]) ? x[0] : !isnan(x[3]) ? x[3] / 1000.0 : NAN;
    double prod = !isnan(x[1]) ? x[1] : x[4];
    double good = !isnan(x[2]) ? x[2] : x[5];
    double de = meter_step(dv, 0, ekwh), dp = meter_step(dv, 1, prod), dg = meter_step(dv, 2, good);
    kpi_inputs *w[2];
    int n = windows(d, time_us, w);
    for (int j = 0; j < n && unit; j++) {
        if (!w[j])
            continue;
        if (!isnan(de)) {
            w[j]->has_energy = true;
            w[j]->energy_kwh += de;
        }
        if (!isnan(dp)) {
            w[j]->has_production = true;
            w[j]->produced += dp;
            if (!isnan(dg))
                w[j]->good += dg > dp ? dp : dg;
        }
    }
    if (tp->scorer && label >= 0 && n > 0 && nx == TS_NBASE + tp->nf &&
        !(time_us >= tp->ex_from && time_us < tp->ex_to)) {
        memcpy(tp->x + tp->n * tp->nf, x + TS_NBASE, tp->nf * sizeof *x);
        tp->label[tp->n] = label;
        tp->t[tp->n] = time_us;
        if (++tp->n == TS_BATCH)
            return tpass_flush(tp);
    }
    return 0;
}

static void telemetry_pass(const char *data_dir, rdata *d, const scan *s)
{
    tstore *ts = NULL;
    adt_err e;
    if (tstore_open(data_dir, &ts, &e)) {
        scopy(d->telemetry_problem, sizeof d->telemetry_problem, e.msg);
        scopy(d->model_problem, sizeof d->model_problem, "no telemetry store");
        return;
    }
    d->telemetry_store = true;
    tpass tp;
    memset(&tp, 0, sizeof tp);
    tp.d = d;
    tp.units = &s->devices;
    const char *feats[TS_NBASE + 64];
    for (size_t i = 0; i < TS_NBASE; i++)
        feats[i] = ts_base[i];
    size_t nfeat = TS_NBASE;
    if (model_scorer_open(data_dir, &tp.scorer, &e) == ADT_OK) {
        size_t nf = 0;
        const char *const *names = model_scorer_features(tp.scorer, &nf);
        if (nf > 64) {
            model_scorer_close(tp.scorer);
            tp.scorer = NULL;
        } else {
            for (size_t i = 0; i < nf; i++)
                feats[TS_NBASE + i] = names[i];
            nfeat += nf;
            tp.nf = nf;
            tp.threshold = model_scorer_threshold(tp.scorer);
            /* leave out the readings the model was trained on */
            char key[2 * RDATA_STR];
            snprintf(key, sizeof key, "%s@%s", model_scorer_model(tp.scorer),
                     model_scorer_version(tp.scorer));
            scopy(d->scored_model, sizeof d->scored_model, key);
            for (size_t r = 0; r < s->nreg; r++) {
                size_t di;
                if (strcmp(s->reg[r].key, key) || !s->reg[r].dataset[0] ||
                    (di = smap_get(&s->datasets, s->reg[r].dataset)) == SIZE_MAX)
                    continue;
                tp.ex_from = d->excluded_from_us = s->ds_from[di];
                tp.ex_to = d->excluded_to_us = s->ds_to[di];
            }
            tp.x = malloc(TS_BATCH * (nf ? nf : 1) * sizeof *tp.x);
            tp.prob = malloc(TS_BATCH * sizeof *tp.prob);
            tp.label = malloc(TS_BATCH * sizeof *tp.label);
            tp.t = malloc(TS_BATCH * sizeof *tp.t);
            if (!tp.x || !tp.prob || !tp.label || !tp.t) {
                model_scorer_close(tp.scorer);
                tp.scorer = NULL;
            }
        }
    } else {
        snprintf(d->model_problem, sizeof d->model_problem, "no deployed model to score: %.400s",
                 e.msg);
    }
    if (tstore_window_rows(ts, d->period.prev_from_us, d->period.to_us, feats, nfeat, tpass_row,
                           &tp, &e))
        scopy(d->telemetry_problem, sizeof d->telemetry_problem, e.msg);
    if (tp.scorer) {
        tpass_flush(&tp);
        model_scorer_close(tp.scorer);
        if (!d->cur.has_confusion && !d->model_problem[0])
            scopy(d->model_problem, sizeof d->model_problem,
                  "no labelled readings in the period");
    }
    smap_free(&tp.devs);
    free(tp.dev);
    free(tp.x);
    free(tp.prob);
    free(tp.label);
    free(tp.t);
    tstore_close(ts);
}

/* ---- controls --------------------------------------------------------------- */

static int fw_index(const char *fw)
{
    if (!fw)
        return -1;
    if (!strcmp(fw, "iso27001"))
        return 0;
    if (!strcmp(fw, "nist80053"))
        return 1;
    return -1;
}

static const char *first_str(const cJSON *o, const char *a, const char *b)
{
    const char *s = jstr(o, a);
    return s ? s : jstr(o, b);
}

/* Fold the evaluation document (docs/controls.md) into counters and the
 * findings list. Posture comes from "controls" (per framework); findings from
 * "rules", where each finding appears once (a rule supports several controls,
 * so counting per control would count a finding once per control). */
static void absorb_controls(rdata *d)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(d->controls, "controls");
    if (!cJSON_IsArray(arr))
        return;
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        const char *fw = jstr(c, "framework"), *st = jstr(c, "status");
        const char *id = first_str(c, "id", "control_id");
        if (!st || !id)
            continue;
        int f = fw_index(fw);
        d->cur.has_controls = true;
        d->cur.controls_in_scope++;
        if (!strcmp(st, "satisfied")) {
            d->cur.controls_satisfied++;
            if (f >= 0)
                d->fw_satisfied[f]++;
        } else if (!strcmp(st, "not_satisfied") || !strcmp(st, "not-satisfied")) {
            d->cur.controls_not_satisfied++;
            if (f >= 0)
                d->fw_not_satisfied[f]++;
        } else if (f >= 0) {
            d->fw_not_evaluated[f]++;
        }
    }
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(d->controls, "rules");
    size_t cap = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rules)
    {
        const char *rid = jstr(r, "id");
        int rsev = kpi_severity_index(jstr(r, "severity"));
        double fc = 0;
        jnum(r, "findings_count", &fc);
        if (!rid || !(fc > 0))
            continue;
        d->cur.findings_open[rsev < 0 ? KPI_SEV_MEDIUM : rsev] += (uint64_t)fc;
        /* the controls this rule is evidence for, as labels */
        char ctl[64] = "", fwname[32] = "";
        size_t used = 0;
        cJSON_ArrayForEach(c, arr)
        {
            const cJSON *ref;
            cJSON_ArrayForEach(ref, cJSON_GetObjectItemCaseSensitive(c, "rules"))
            {
                const char *x = jstr(ref, "id");
                if (!x || strcmp(x, rid))
                    continue;
                const char *lab = first_str(c, "label", "id");
                int w = snprintf(ctl + used, sizeof ctl - used, "%s%s", used ? ", " : "", lab ? lab : "");
                if (w > 0 && (size_t)w < sizeof ctl - used)
                    used += (size_t)w;
                if (!fwname[0])
                    scopy(fwname, sizeof fwname, jstr(c, "framework"));
                else if (strcmp(fwname, jstr(c, "framework") ? jstr(c, "framework") : ""))
                    scopy(fwname, sizeof fwname, "iso27001, nist80053");
            }
        }
        const cJSON *x;
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(r, "findings"))
        {
            const char *sev = jstr(x, "severity");
            int si = kpi_severity_index(sev);
            if (grow((void **)&d->findings, &cap, d->nfindings + 1, sizeof *d->findings))
                return;
            rdata_finding *g = &d->findings[d->nfindings++];
            memset(g, 0, sizeof *g);
            scopy(g->framework, sizeof g->framework, fwname);
            scopy(g->control, sizeof g->control, ctl[0] ? ctl : "(no control in scope)");
            scopy(g->severity, sizeof g->severity, si < 0 ? "medium" : sev);
            scopy(g->rule, sizeof g->rule, rid);
            scopy(g->owner, sizeof g->owner, jstr(x, "owner"));
            scopy(g->message, sizeof g->message, first_str(x, "message", "title"));
        }
    }
}

static void controls_pass(const char *data_dir, rdata *d)
{
    controls *c = NULL;
    adt_err e;
    if (controls_open(data_dir, &c, &e)) {
        scopy(d->controls_problem, sizeof d->controls_problem, e.msg);
        return;
    }
    if (controls_evaluate_period(c, d->period.from_us, d->period.to_us, NULL, &d->controls, &e))
        scopy(d->controls_problem, sizeof d->controls_problem, e.msg);
    controls_close(c);
    if (d->controls)
        absorb_controls(d);
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
            vl - 2 < sizeof d->as_of) {
            memcpy(d->as_of, v + 1, vl - 2);
            d->as_of[vl - 2] = 0;
            rfc3339_parse(d->as_of, strlen(d->as_of), &d->as_of_us);
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

void rdata_free(rdata *d)
{
    if (!d)
        return;
    free(d->incidents);
    free(d->deploys);
    free(d->drift);
    free(d->findings);
    cJSON_Delete(d->controls);
    free(d);
}

static void scan_free(scan *s)
{
    smap_free(&s->devices);
    smap_free(&s->incidents);
    smap_free(&s->preds);
    smap_free(&s->batches);
    free(s->batch_from);
    smap_free(&s->datasets);
    free(s->ds_from);
    free(s->ds_to);
    free(s->ms);
    free(s->appr);
    free(s->reg);
    free(s->pred_count);
    free(s->pred_pos);
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
    d->period = *period;
    d->defs = defs;
    int64_t span = period->to_us - period->from_us;
    int64_t week = 7LL * 86400 * 1000000;
    d->week_len_us = week;
    while ((span + d->week_len_us - 1) / d->week_len_us > RDATA_MAX_WEEKS)
        d->week_len_us += week;
    if (span < d->week_len_us)
        d->week_len_us = span; /* a short custom range is one bucket */
    d->nweeks = (int)((span + d->week_len_us - 1) / d->week_len_us);

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

    scan s;
    memset(&s, 0, sizeof s);
    s.d = d;
    s.err = err;
    int64_t t0 = rfc3339_now_us();
    rc = ledger_scan(lg, 0, d->tree_size, scan_fn, &s, err);
    int64_t t1 = rfc3339_now_us();
    if (!rc && s.rc)
        rc = adt_fail(err, s.rc, "out of memory while reading the ledger");
    if (rc) {
        scan_free(&s);
        goto fail;
    }
    d->cur.has_incidents = d->prev.has_incidents = true;
    for (int w = 0; w < d->nweeks; w++)
        d->week[w].has_incidents = true;
    if (s.saw_model) {
        d->cur.has_drift = d->prev.has_drift = true;
        for (int w = 0; w < d->nweeks; w++)
            d->week[w].has_drift = true;
    }
    time_model(&s);
    raci_policy *pol = NULL;
    adt_err pe;
    if (raci_load_current(data_dir, &pol, &pe) == ADT_OK) {
        scopy(d->raci_name, sizeof d->raci_name, raci_name(pol));
        scopy(d->raci_version, sizeof d->raci_version, raci_version(pol));
    }
    incidents_finish(d, pol);
    if (pol)
        raci_free(pol);
    deploys_finish(&s);
    prev_consistency(lg, d);
    ledger_close(lg);
    lg = NULL;

    int64_t t2 = rfc3339_now_us();
    if (!o.skip_telemetry)
        telemetry_pass(data_dir, d, &s);
    scan_free(&s);
    int64_t t3 = rfc3339_now_us();
    if (!o.skip_controls)
        controls_pass(data_dir, d);
    int64_t t4 = rfc3339_now_us();
    log_msg(LOG_DEBUG, "reports",
            "%s: ledger pass %.2f s (%llu entries), time model and incidents %.2f s, telemetry "
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
