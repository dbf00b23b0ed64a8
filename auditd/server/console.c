/* console.c: sessions, rights, views and actions of the web console
 * (console.h, docs/console.md). */
#include "console.h"

#include "bgtask.h"
#include "canon.h"
#include "conreq.h"
#include "event.h"
#include "leaf.h"
#include "evsink.h"
#include "log.h"
#include "person.h"
#include "raci.h"
#include "rfc3339.h"
#include "rights.h"
#include "ui.h"
#include "workflow.h"

#include "lineage.h"
#include "model.h"
#include "oplabel.h"
#include "tdb.h"
#include "kpi.h"
#include "reports.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "console"
#define TOKEN_HEX CONREQ_TOKEN_HEX
#define MAX_SESSIONS 512
#define SESSION_IDLE_US (3600LL * 1000000)
#define SESSION_MAX_US (8 * 3600LL * 1000000)
#define SESSION_TOUCH_US (60LL * 1000000) /* idle time is measured to the minute */
#define COOKIE_NAME "auditd_session"
#define MAX_LOGIN_HASHING 4     /* Argon2id checks at once (64 MiB each) */
#define FAIL_SLOTS 256
#define FAIL_MAX 5              /* failed sign-ins per name ... */
#define FAIL_WINDOW_US (15 * 60LL * 1000000) /* ... in this window, then 429 */
#define EVENTS_MAX 20000        /* entries of one type read for a view */
#define KPI_FRESH_US (60 * 1000000LL) /* the workflow thread refreshes them every 30 s */

typedef struct failure {
    char name[PERSON_NAME_MAX + 1];
    int count;
    int64_t first_us;
} failure;

struct console {
    console_env env;
    person_db *pdb;
    pthread_mutex_t mu; /* failures */
    failure fails[FAIL_SLOTS];
    atomic_int hashing;
    pthread_t wf_thread; /* automated workflows every WORKFLOW_PERIOD_S */
    bool wf_started;
    pthread_mutex_t wf_mu;
    pthread_cond_t wf_cv;
    bool wf_stop;
    pthread_mutex_t kmu; /* the KPI cache */
    char kpi_period[64];
    uint64_t kpi_size;
    int64_t kpi_at_us;  /* when computed: a view may show KPIs up to KPI_FRESH_US old */
    char *kpi_json;
};

/* ---------- automated workflows (workflow.h) in the daemon ---------- */

#define WORKFLOW_PERIOD_S 30

static int wf_append(void *ctx, const char *type, const char *payload, size_t len, uint64_t *index,
                     adt_err *err)
{
    console *c = ctx;
    ledger_item it = {.source = WORKFLOW_SOURCE, .type = type, .payload = payload,
                      .payload_len = len, .writer = EVENT_WRITER_AUDITD};
    ledger_commit cm;
    int rc = evsink_append(&(evsink){.cq = c->env.cq}, &it, 1, NULL, &cm, err);
    if (!rc) {
        *index = cm.first;
        log_msg(LOG_INFO, MOD, "workflow: %s recorded at index %llu", type,
                (unsigned long long)cm.first);
    }
    return rc;
}

static void kpi_refresh(console *c, const char *period);

static void *wf_main(void *arg)
{
    console *c = arg;
    workflow *w = NULL;
    adt_err err = {0};
    if (workflow_new(c->env.data_dir, &w, &err)) {
        log_msg(LOG_ERROR, MOD, "workflows not running: %s", err.msg);
        return NULL;
    }
    pthread_mutex_lock(&c->wf_mu);
    while (!c->wf_stop) {
        pthread_mutex_unlock(&c->wf_mu);
        ledger *lg = c->env.pool_get(c->env.ctx, &err);
        if (lg) {
            if (workflow_run(w, lg, rfc3339_now_us(), wf_append, c, NULL, &err))
                log_msg(LOG_WARN, MOD, "workflow run failed (retried in %d s): %s",
                        WORKFLOW_PERIOD_S, err.msg);
            c->env.pool_put(c->env.ctx, lg);
        }
        kpi_refresh(c, NULL); /* so that the steering view answers from the cache */
        struct timespec ts = bgtask_deadline_ms(WORKFLOW_PERIOD_S * 1000LL);
        pthread_mutex_lock(&c->wf_mu);
        if (!c->wf_stop)
            pthread_cond_timedwait(&c->wf_cv, &c->wf_mu, &ts);
    }
    pthread_mutex_unlock(&c->wf_mu);
    workflow_free(w);
    return NULL;
}

void console_stop(console *c)
{
    if (!c || !c->wf_started)
        return;
    pthread_mutex_lock(&c->wf_mu);
    c->wf_stop = true;
    pthread_cond_signal(&c->wf_cv);
    pthread_mutex_unlock(&c->wf_mu);
    pthread_join(c->wf_thread, NULL);
    c->wf_started = false;
}

int console_start(console *c, adt_err *err)
{
    if (pthread_create(&c->wf_thread, NULL, wf_main, c))
        return adt_fail(err, ADT_ENOMEM, "cannot start the workflow thread");
    c->wf_started = true;
    return ADT_OK;
}

/* ---------- open / close ---------- */

int console_open(const console_env *env, console **out, adt_err *err)
{
    console *c = calloc(1, sizeof *c);
    if (!c)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    c->env = *env;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->kmu, NULL);
    pthread_mutex_init(&c->wf_mu, NULL);
    pthread_cond_init(&c->wf_cv, NULL);
    int rc = person_open(env->data_dir, &c->pdb, err);
    if (rc) {
        console_close(c);
        return rc;
    }
    *out = c;
    return ADT_OK;
}

void console_close(console *c)
{
    if (!c)
        return;
    console_stop(c);
    person_close(c->pdb);
    free(c->kpi_json);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->kmu);
    pthread_mutex_destroy(&c->wf_mu);
    pthread_cond_destroy(&c->wf_cv);
    free(c);
}

bool console_path(const char *path)
{
    return !strcmp(path, "/ui") || !strncmp(path, "/ui/", 4) || !strcmp(path, "/v1/session") ||
           !strncmp(path, "/v1/console/", 12);
}

void console_security_headers(void (*fn)(void *ctx, const char *name, const char *value),
                              void *ctx)
{
    fn(ctx, "Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'");
    fn(ctx, "X-Frame-Options", "DENY");
    fn(ctx, "X-Content-Type-Options", "nosniff");
    fn(ctx, "Referrer-Policy", "no-referrer");
    fn(ctx, "Cross-Origin-Opener-Policy", "same-origin");
    fn(ctx, "Cross-Origin-Resource-Policy", "same-origin");
}

/* ---------- sessions ---------- */

static void hex(const uint8_t *b, size_t n, char *out)
{
    sodium_bin2hex(out, n * 2 + 1, b, n);
}

static const person_session_limits session_limits = {
    .idle_us = SESSION_IDLE_US, .max_us = SESSION_MAX_US, .max_sessions = MAX_SESSIONS,
    .touch_us = SESSION_TOUCH_US};

/* The session token of the request's cookie (lowercase hex) into token[]. */
static bool cookie_token(const console_hdrs *h, char token[TOKEN_HEX + 2])
{
    return h->cookie && conreq_cookie(h->cookie, COOKIE_NAME, token, TOKEN_HEX + 2) &&
           conreq_token_ok(token);
}

static void token_hash(const char *token, uint8_t h[32])
{
    crypto_hash_sha256(h, (const unsigned char *)token, TOKEN_HEX);
}

/* The CSRF token of a session: derived from its token, so it is never
 * stored, and only someone holding the cookie (which scripts cannot read)
 * or the session's own answer knows it. */
static void csrf_of(const char *token, char csrf[TOKEN_HEX + 1])
{
    static const char ctx[] = "auditd-csrf-v1\n";
    crypto_hash_sha256_state st;
    uint8_t h[32];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)ctx, sizeof ctx - 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)token, TOKEN_HEX);
    crypto_hash_sha256_final(&st, h);
    hex(h, 32, csrf);
    sodium_memzero(h, sizeof h);
}

static bool same_origin(const console_hdrs *h)
{
    if (h->sec_fetch_site && strcmp(h->sec_fetch_site, "same-origin") && strcmp(h->sec_fetch_site, "none"))
        return false;
    if (!h->origin)
        return true;
    if (!h->host)
        return false;
    const char *o = h->origin;
    if (!strncmp(o, "http://", 7))
        o += 7;
    else if (!strncmp(o, "https://", 8))
        o += 8;
    else
        return false;
    return !strcmp(o, h->host);
}

int console_authenticate(console *c, const console_hdrs *h, api_request *req, char *principal,
                         size_t pcap, adt_err *err)
{
    char token[TOKEN_HEX + 2];
    if (!cookie_token(h, token))
        return adt_fail(err, ADT_EAUTH, "sign in first (POST /v1/session), or send a bearer token "
                        "(Authorization: Bearer ...)");
    uint8_t th[32];
    char name[PERSON_NAME_MAX + 1], csrf[TOKEN_HEX + 1], cred[PERSON_CRED_ID_LEN + 1];
    unsigned roles = 0;
    token_hash(token, th);
    csrf_of(token, csrf);
    sodium_memzero(token, sizeof token);
    int rc = person_session_find(c->pdb, th, rfc3339_now_us(), &session_limits, name, &roles,
                                 cred, err);
    if (rc)
        return rc;
    bool reading = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    if (!reading) {
        if (!same_origin(h))
            return adt_fail(err, ADT_EFORBIDDEN, "cross-origin request refused");
        if (!h->csrf || strlen(h->csrf) != TOKEN_HEX || sodium_memcmp(h->csrf, csrf, TOKEN_HEX))
            return adt_fail(err, ADT_EFORBIDDEN, "missing or wrong X-CSRF-Token (take it from GET "
                            "/v1/session)");
    }
    const rights_entry *p = rights_find(req->method, req->path);
    if (!rights_console_may(roles, req->method, req->path, NULL)) {
        char rt[128];
        person_roles_text(roles, rt, sizeof rt);
        return adt_fail(err, ADT_EFORBIDDEN, "%s %s is not among the rights of your console roles "
                        "(%s)", req->method, req->path, rt);
    }
    snprintf(principal, pcap, "%s", name);
    req->principal = principal;
    req->role = rights_person_role(p, roles);
    req->writer = EVENT_WRITER_PERSON;
    req->person_roles = roles;
    return ADT_OK;
}

/* ---------- small JSON helpers ---------- */

static int send_json(api_response *resp, int status, cJSON *j)
{
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!t)
        return api_error(resp, 500, "internal", "out of memory");
    buf_reset(&resp->body);
    int rc = buf_puts(&resp->body, t);
    if (!rc)
        rc = buf_putc(&resp->body, '\n');
    free(t);
    if (rc)
        return api_error(resp, 500, "internal", "answer too large");
    resp->status = status;
    return ADT_OK;
}

static int fail_resp(api_response *resp, int rc, const char *msg)
{
    const char *name = rc == ADT_EINVAL       ? "invalid"
                       : rc == ADT_EAUTH      ? "unauthenticated"
                       : rc == ADT_EFORBIDDEN ? "forbidden"
                       : rc == ADT_ENOTFOUND  ? "not_found"
                       : rc == ADT_ECONFLICT || rc == ADT_EEXIST ? "conflict"
                       : rc == ADT_EBUSY      ? "busy"
                       : rc == ADT_ETOOBIG    ? "too_large"
                                              : "internal";
    return api_error(resp, api_status_for(rc), name, "%s", msg);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The same, "" when absent (for fields copied into a view as they are). */
static const char *jstr0(const cJSON *o, const char *k)
{
    const char *v = jstr(o, k);
    return v ? v : "";
}

/* ---------- reading the ledger through the event index ---------- */

/* Append {index, writer, recorded_at, source, payload...} for every entry of
 * `type` to `arr` (payload fields at top level, plus "index"). */
static int events_of(console *c, ledger *lg, const char *type, cJSON *arr, adt_err *err)
{
    evindex_query q = {.type = type, .from_us = INT64_MIN, .to_us = INT64_MAX, .limit = 1000};
    uint64_t idx[1000];
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF + 1);
    int rc = ADT_OK, more = 1, total = 0;
    while (!rc && more && total < EVENTS_MAX) {
        unsigned n = 0;
        rc = evindex_query_run(c->env.ix, &q, idx, &n, &more, err);
        for (unsigned i = 0; !rc && i < n; i++) {
            buf_reset(&leaf);
            rc = ledger_entry(lg, idx[i], &leaf, err);
            if (rc)
                break;
            leaf_view lv;
            adt_err perr; /* a damaged entry is left out here; verify names it */
            cJSON *p = leaf_parse(leaf.data, leaf.len, idx[i], &lv, &perr)
                           ? NULL
                           : cJSON_ParseWithLength(lv.payload, lv.payload_len);
            if (cJSON_IsObject(p)) {
                cJSON_AddNumberToObject(p, "index", (double)idx[i]);
                cJSON_AddStringToObject(p, "writer", event_writer_name(lv.writer));
                cJSON_AddStringToObject(p, "source", lv.source);
                cJSON_AddItemToArray(arr, p);
                total++;
            } else {
                cJSON_Delete(p);
            }
        }
        if (n) {
            q.after = idx[n - 1];
            q.has_after = 1;
        } else {
            more = 0;
        }
    }
    buf_free(&leaf);
    return rc;
}

/* A fresh array of every entry of the given types, caught up first. */
static cJSON *events_many(console *c, ledger *lg, const char *const *types, size_t nt, adt_err *err)
{
    if (evindex_catch_up(c->env.ix, lg, err))
        return NULL;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < nt; i++)
        if (events_of(c, lg, types[i], arr, err)) {
            cJSON_Delete(arr);
            return NULL;
        }
    return arr;
}

/* events_many on a ledger handle borrowed from the pool and given back. NULL on failure, with
 * err set (by the pool when no handle could be opened). */
static cJSON *events_pooled(console *c, const char *const *types, size_t nt, adt_err *err)
{
    ledger *lg = c->env.pool_get(c->env.ctx, err);
    if (!lg)
        return NULL;
    cJSON *evs = events_many(c, lg, types, nt, err);
    c->env.pool_put(c->env.ctx, lg);
    return evs;
}

static bool is_type(const cJSON *e, const char *t)
{
    const char *v = jstr(e, "type");
    return v && !strcmp(v, t);
}

static bool str_eq(const cJSON *e, const char *k, const char *v)
{
    const char *x = jstr(e, k);
    return x && v && !strcmp(x, v);
}

/* ---------- RACI helpers ---------- */

static const raci_activity *first_of_kind(const raci_policy *p, const char *kind)
{
    for (size_t i = 0; i < raci_activity_count(p); i++)
        if (!strcmp(raci_activity_kind(raci_activity_at(p, i)), kind))
            return raci_activity_at(p, i);
    return NULL;
}

/* The activity an alert belongs to: its own `activity`, else model:MODEL for
 * a model's alert, else the first incident activity (the site's response). */
static void alert_activity(const raci_policy *p, const cJSON *raise, char *out, size_t cap)
{
    const char *a = jstr(raise, "activity"), *m = jstr(raise, "model");
    if (a) {
        snprintf(out, cap, "%s", a);
        return;
    }
    if (m) {
        snprintf(out, cap, "model:%s", m);
        if (!p || raci_find_activity(p, out))
            return;
    }
    const raci_activity *inc = p ? first_of_kind(p, "incident") : NULL;
    snprintf(out, cap, "%s", inc ? raci_activity_id(inc) : "");
}

/* The acknowledgement SLA of an activity in seconds: its own, else the first
 * incident activity's, else 4 hours. */
static int64_t ack_sla(const raci_policy *p, const char *activity)
{
    const raci_activity *a = p ? raci_find_activity(p, activity) : NULL;
    if (a && raci_activity_sla(a).ack_s > 0)
        return raci_activity_sla(a).ack_s;
    const raci_activity *inc = p ? first_of_kind(p, "incident") : NULL;
    if (inc && raci_activity_sla(inc).ack_s > 0)
        return raci_activity_sla(inc).ack_s;
    return 4 * 3600;
}

static int load_policy(console *c, raci_policy **p, adt_err *err)
{
    int rc = raci_load_current(c->env.data_dir, p, err);
    if (rc == ADT_ENOTFOUND)
        return adt_fail(err, ADT_ECONFLICT, "no RACI policy is loaded ('auditd policy load'), so "
                        "nobody may act");
    return rc;
}

/* ---------- appending a person's event ---------- */

/* Build {type, time, actor, credential, fields...} and append it through the
 * commit queue with writer person. `ev` is consumed. OUT: index. */
static int append_person_event(console *c, const api_request *req, cJSON *ev, uint64_t *index,
                               adt_err *err)
{
    char now[40], cred[PERSON_CRED_ID_LEN + 1] = "";
    unsigned roles;
    int rc = person_active(c->pdb, req->principal, &roles, cred, err);
    if (rc) {
        cJSON_Delete(ev);
        return rc;
    }
    rfc3339_format(rfc3339_now_us(), now, sizeof now);
    cJSON_AddStringToObject(ev, "time", now);
    cJSON_AddStringToObject(ev, "actor", req->principal);
    cJSON_AddStringToObject(ev, "credential", cred);
    char *t = cJSON_PrintUnformatted(ev);
    const char *type = jstr(ev, "type");
    char tbuf[EVENT_TYPE_MAX + 1];
    snprintf(tbuf, sizeof tbuf, "%s", type ? type : "");
    cJSON_Delete(ev);
    if (!t)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    buf canon;
    buf_init(&canon, LEDGER_MAX_LEAF / 2);
    event_info info;
    rc = event_validate(t, strlen(t), NULL, &canon, &info, err);
    free(t);
    if (!rc) {
        ledger_item it = {.source = "console", .type = tbuf, .payload = canon.data,
                          .payload_len = canon.len, .writer = EVENT_WRITER_PERSON};
        rc = evsink_append(&(evsink){.cq = c->env.cq}, &it, 1, index, NULL, err);
    }
    buf_free(&canon);
    if (!rc) {
        log_msg(LOG_INFO, MOD, "%s recorded %s", req->principal, tbuf);
        /* A person's own act shows at their next view: the cached KPIs
         * (which may count labels) are recomputed once the ledger grew. */
        pthread_mutex_lock(&c->kmu);
        c->kpi_at_us = 0;
        pthread_mutex_unlock(&c->kmu);
    }
    return rc;
}

static int answer_recorded(api_response *resp, const char *type, uint64_t index)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "recorded", type);
    cJSON_AddNumberToObject(j, "index", (double)index);
    return send_json(resp, 201, j);
}

/* ---------- sign in, session, sign out ---------- */

static failure *fail_slot(console *c, const char *name, int64_t now, bool create)
{
    failure *free_slot = NULL;
    for (int i = 0; i < FAIL_SLOTS; i++) {
        failure *f = &c->fails[i];
        if (f->count && now - f->first_us > FAIL_WINDOW_US)
            memset(f, 0, sizeof *f);
        if (f->count && !strcmp(f->name, name))
            return f;
        if (!f->count && !free_slot)
            free_slot = f;
    }
    if (!create)
        return NULL;
    if (!free_slot) { /* full: reuse the oldest */
        free_slot = &c->fails[0];
        for (int i = 1; i < FAIL_SLOTS; i++)
            if (c->fails[i].first_us < free_slot->first_us)
                free_slot = &c->fails[i];
    }
    memset(free_slot, 0, sizeof *free_slot);
    snprintf(free_slot->name, sizeof free_slot->name, "%s", name);
    free_slot->first_us = now;
    return free_slot;
}

static int session_answer(console *c, const char *name, const char *csrf, api_response *resp)
{
    unsigned roles = 0;
    char cred[PERSON_CRED_ID_LEN + 1];
    adt_err err = {0};
    int rc = person_active(c->pdb, name, &roles, cred, &err);
    if (rc)
        return fail_resp(resp, rc, err.msg);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", name);
    cJSON_AddStringToObject(j, "credential", cred);
    cJSON_AddStringToObject(j, "csrf", csrf);
    cJSON *ra = cJSON_AddArrayToObject(j, "roles");
    for (unsigned b = 1; b <= PERSON_ADMIN; b <<= 1)
        if (roles & b)
            cJSON_AddItemToArray(ra, cJSON_CreateString(person_role_name(b)));
    cJSON *al = cJSON_AddArrayToObject(j, "rights");
    for (size_t i = 0; i < rights_count(); i++) {
        const rights_entry *r = rights_at(i);
        if (r->need == API_NEED_PUBLIC || !(r->console & roles))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "method", r->method);
        cJSON_AddStringToObject(o, "path", r->pattern);
        cJSON_AddStringToObject(o, "what", r->what);
        cJSON_AddItemToArray(al, o);
    }
    return send_json(resp, 200, j);
}

static int h_login(console *c, const api_request *req, api_response *resp)
{
    conreq_login *in = sodium_malloc(sizeof *in); /* holds the password */
    if (!in)
        return api_error(resp, 500, "internal", "out of secure memory");
    adt_err err = {0};
    int rc = conreq_parse_login(req->body, req->body_len, in, &err);
    if (rc) {
        sodium_free(in);
        return fail_resp(resp, rc, err.msg);
    }
    char name[PERSON_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s", in->name);
    int64_t now = rfc3339_now_us();
    pthread_mutex_lock(&c->mu);
    failure *f = fail_slot(c, name, now, false);
    bool locked = f && f->count >= FAIL_MAX;
    pthread_mutex_unlock(&c->mu);
    if (locked) {
        sodium_free(in);
        resp->retry_after = 900;
        return api_error(resp, 429, "busy", "too many failed sign-ins for this name; wait 15 "
                         "minutes or ask an administrator for a new password");
    }
    if (atomic_fetch_add(&c->hashing, 1) >= MAX_LOGIN_HASHING) {
        atomic_fetch_sub(&c->hashing, 1);
        sodium_free(in);
        resp->retry_after = 1;
        return api_error(resp, 429, "busy", "too many sign-ins at once; retry in a second");
    }
    unsigned roles = 0;
    char cred[PERSON_CRED_ID_LEN + 1];
    rc = person_check(c->pdb, name, in->password, &roles, cred, &err);
    atomic_fetch_sub(&c->hashing, 1);
    sodium_free(in); /* wipes the password */
    if (rc) {
        pthread_mutex_lock(&c->mu);
        failure *ff = fail_slot(c, name, now, true);
        ff->count++;
        pthread_mutex_unlock(&c->mu);
        log_msg(LOG_WARN, MOD, "failed sign-in for '%s'", name);
        return fail_resp(resp, rc, err.msg);
    }
    uint8_t tok[32], th[32];
    char token[TOKEN_HEX + 1], csrf[TOKEN_HEX + 1];
    randombytes_buf(tok, sizeof tok);
    hex(tok, 32, token);
    sodium_memzero(tok, sizeof tok);
    token_hash(token, th);
    csrf_of(token, csrf);
    rc = person_session_start(c->pdb, th, name, cred, now, &session_limits, &err);
    if (rc) {
        sodium_memzero(token, sizeof token);
        return fail_resp(resp, rc, err.msg);
    }
    pthread_mutex_lock(&c->mu);
    failure *ff = fail_slot(c, name, now, false);
    if (ff)
        memset(ff, 0, sizeof *ff);
    pthread_mutex_unlock(&c->mu);
    snprintf(resp->set_cookie, sizeof resp->set_cookie,
             COOKIE_NAME "=%s; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=%lld", token,
             (long long)(SESSION_MAX_US / 1000000));
    sodium_memzero(token, sizeof token);
    log_msg(LOG_INFO, MOD, "%s signed in", name);
    rc = session_answer(c, name, csrf, resp);
    sodium_memzero(csrf, sizeof csrf);
    return rc;
}

/* GET /v1/session (the caller's CSRF token again) and DELETE (sign out).
 * console_authenticate checked the session already. */
static int h_session(console *c, const console_hdrs *h, const api_request *req,
                     api_response *resp)
{
    char token[TOKEN_HEX + 2], csrf[TOKEN_HEX + 1];
    if (!cookie_token(h, token))
        return api_error(resp, 401, "unauthenticated", "no session cookie");
    uint8_t th[32];
    token_hash(token, th);
    csrf_of(token, csrf);
    sodium_memzero(token, sizeof token);
    if (!strcmp(req->method, "DELETE")) {
        adt_err err = {0};
        int rc = person_session_end(c->pdb, th, &err);
        if (rc == ADT_ENOTFOUND)
            return api_error(resp, 401, "unauthenticated", "your session has ended; sign in again");
        if (rc)
            return fail_resp(resp, rc, err.msg);
        snprintf(resp->set_cookie, sizeof resp->set_cookie,
                 COOKIE_NAME "=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
        log_msg(LOG_INFO, MOD, "%s signed out", req->principal);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "signed_out", req->principal);
        return send_json(resp, 200, j);
    }
    return session_answer(c, req->principal, csrf, resp);
}

static void default_period(const cJSON *reports, char *out, size_t cap);

/* Compute the report of `period` as JSON (not recorded: a view is not an
 * issue) and keep it as the cached KPIs of ledger size `size`. OUT *kpis
 * (when not NULL): the report parsed. */
static int kpi_cache_fill(console *c, const char *period, uint64_t size, cJSON **kpis, adt_err *err)
{
    report_opts o = {0};
    o.data_dir = c->env.data_dir;
    o.period = period;
    o.format = REPORT_JSON;
    buf out;
    buf_init(&out, REPORT_MAX_BYTES);
    int rc = reports_generate(&o, &out, NULL, err);
    if (!rc) {
        if (kpis)
            *kpis = cJSON_ParseWithLength(out.data, out.len);
        pthread_mutex_lock(&c->kmu);
        free(c->kpi_json);
        c->kpi_json = buf_steal(&out, NULL);
        c->kpi_size = size;
        c->kpi_at_us = rfc3339_now_us();
        snprintf(c->kpi_period, sizeof c->kpi_period, "%s", period);
        pthread_mutex_unlock(&c->kmu);
    }
    buf_free(&out);
    return rc;
}

/* Recompute the cached KPIs of `period` (NULL: the cached one, else the
 * period of the latest issued report) when the ledger grew. Called from the
 * workflow thread. */
static void kpi_refresh(console *c, const char *period)
{
    char per[64] = "";
    uint64_t cached = 0;
    pthread_mutex_lock(&c->kmu);
    snprintf(per, sizeof per, "%s", period ? period : c->kpi_period);
    cached = c->kpi_json ? c->kpi_size : 0;
    pthread_mutex_unlock(&c->kmu);
    adt_err err = {0};
    ledger *lg = c->env.pool_get(c->env.ctx, &err);
    if (!lg)
        return;
    uint64_t size = 0;
    cJSON *reports = NULL;
    if (!ledger_size(lg, &size, &err) && !per[0]) {
        static const char *const types[] = {"report.issued"};
        reports = events_many(c, lg, types, 1, &err);
    }
    c->env.pool_put(c->env.ctx, lg);
    if (!per[0] && reports)
        default_period(reports, per, sizeof per);
    cJSON_Delete(reports);
    if (!per[0] || (cached && cached == size))
        return;
    kpi_cache_fill(c, per, size, NULL, &err);
}

/* ---------- views ---------- */

/* The period to show: ?period=, else that of the latest issued report, else
 * the quarter of the latest event. */
static void default_period(const cJSON *reports, char *out, size_t cap)
{
    int n = cJSON_GetArraySize(reports);
    for (int i = n - 1; i >= 0; i--) {
        const char *p = jstr(cJSON_GetArrayItem(reports, i), "period");
        if (p) {
            snprintf(out, cap, "%s", p);
            return;
        }
    }
    int64_t y;
    int m, d;
    rfc3339_civil_from_days(rfc3339_now_us() / 86400000000LL, &y, &m, &d);
    snprintf(out, cap, "%04lld-Q%d", (long long)y, (m - 1) / 3 + 1);
}

static int v_steering(console *c, const api_request *req, api_response *resp)
{
    adt_err err = {0};
    ledger *lg = c->env.pool_get(c->env.ctx, &err);
    if (!lg)
        return fail_resp(resp, ADT_EIO, err.msg);
    static const char *const types[] = {"report.issued"};
    cJSON *reports = events_many(c, lg, types, 1, &err);
    uint64_t size = 0;
    if (reports && ledger_size(lg, &size, &err)) {
        cJSON_Delete(reports);
        reports = NULL;
    }
    c->env.pool_put(c->env.ctx, lg);
    if (!reports)
        return fail_resp(resp, err.code ? err.code : ADT_EIO, err.msg);
    char period[64];
    const char *qp = api_param_get(req, "period");
    if (qp && (strlen(qp) >= sizeof period || !conreq_id_ok(qp))) {
        cJSON_Delete(reports);
        return api_error(resp, 400, "invalid", "period must look like 2026-Q3 or 2026-07");
    }
    if (qp)
        snprintf(period, sizeof period, "%s", qp);
    else
        default_period(reports, period, sizeof period);
    /* KPIs: the report's own computation (not recorded: a view is not an
     * issue), cached until the ledger grows. */
    cJSON *kpis = NULL;
    pthread_mutex_lock(&c->kmu);
    if (c->kpi_json && !strcmp(c->kpi_period, period) &&
        (c->kpi_size == size || rfc3339_now_us() - c->kpi_at_us < KPI_FRESH_US))
        kpis = cJSON_Parse(c->kpi_json);
    pthread_mutex_unlock(&c->kmu);
    char why[ADT_ERR_MAX] = "";
    if (!kpis && kpi_cache_fill(c, period, size, &kpis, &err))
        snprintf(why, sizeof why, "%s", err.msg);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "period", period);
    cJSON_AddNumberToObject(j, "tree_size", (double)size);
    if (kpis)
        cJSON_AddItemToObject(j, "report", kpis);
    else
        cJSON_AddStringToObject(j, "report_error", why);
    cJSON_AddItemToObject(j, "issued", reports);
    return send_json(resp, 200, j);
}

/* Issue the report: the same as POST /v1/reports/{period} (reports_issue),
 * with the person as the report.issued actor. */
static int a_issue_report(console *c, const api_request *req, api_response *resp)
{
    conreq_report in;
    adt_err err = {0};
    int rc = conreq_parse_report(req->body, req->body_len, &in, &err);
    report_format f = REPORT_HTML;
    if (!rc && in.has_format && report_format_parse(in.format, &f))
        rc = adt_fail(&err, ADT_EINVAL, "format must be html, json, csv, oscal-xml, oscal-json or "
                      "xml");
    if (rc)
        return fail_resp(resp, rc, err.msg);
    report_opts o = {0};
    o.data_dir = c->env.data_dir;
    o.period = in.period;
    o.format = f;
    o.actor = req->principal;
    o.cq = c->env.cq;
    return reports_issue(&o, resp);
}

/* The latest label of each target, as an object target -> label event. */
static cJSON *latest_labels(const cJSON *evs)
{
    cJSON *m = cJSON_CreateObject();
    const cJSON *e;
    cJSON_ArrayForEach(e, evs)
    {
        if (!is_type(e, "label.set") || !jstr(e, "target"))
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(m, jstr(e, "target"));
        cJSON_AddItemToObject(m, jstr(e, "target"), cJSON_Duplicate(e, true));
    }
    return m;
}

static int64_t ev_time(const cJSON *e)
{
    const char *t = jstr(e, "time");
    int64_t us = 0;
    if (!t || rfc3339_parse(t, strlen(t), &us))
        return 0;
    return us;
}

static void add_deadline(cJSON *o, const char *key, int64_t from_us, int64_t secs)
{
    if (secs <= 0 || !from_us)
        return;
    char t[40];
    rfc3339_format(from_us + secs * 1000000LL, t, sizeof t);
    cJSON_AddStringToObject(o, key, t);
}

/* The report's threshold for counting operators' verdicts: that of the
 * cached KPI data (the site's kpis.json), else the default. */
static uint64_t min_operator_labels(console *c)
{
    uint64_t n = 30;
    n = KPI_MIN_OPERATOR_LABELS;
    pthread_mutex_lock(&c->kmu);
    cJSON *k = c->kpi_json ? cJSON_Parse(c->kpi_json) : NULL;
    pthread_mutex_unlock(&c->kmu);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(k, "labels"),
                                                      "min_operator_labels");
    if (cJSON_IsNumber(m) && m->valuedouble >= 1)
        n = (uint64_t)m->valuedouble;
    cJSON_Delete(k);
    return n;
}

/* One row of the operations view: the alert raised by `e`, its RACI
 * activity and acknowledgement deadline, and its state from `evs`. */
static cJSON *op_alert(const raci_policy *pol, const cJSON *e, const cJSON *evs,
                       const cJSON *labels, int64_t now)
{
    const char *id = jstr(e, "alert_id");
    cJSON *a = cJSON_CreateObject();
    char act[RACI_ID_MAX];
    alert_activity(pol, e, act, sizeof act);
    int64_t sla = ack_sla(pol, act);
    cJSON_AddStringToObject(a, "alert_id", id);
    cJSON_AddStringToObject(a, "kind", jstr0(e, "kind"));
    cJSON_AddStringToObject(a, "subject", jstr(e, "model")    ? jstr(e, "model")
                                          : jstr(e, "device") ? jstr(e, "device")
                                                              : "");
    cJSON_AddStringToObject(a, "raised_at", jstr0(e, "time"));
    cJSON_AddNumberToObject(a, "index", cJSON_GetObjectItem(e, "index")->valuedouble);
    cJSON_AddStringToObject(a, "activity", act);
    const raci_activity *ra = pol ? raci_find_activity(pol, act) : NULL;
    cJSON_AddStringToObject(a, "accountable", ra ? raci_accountable(ra) : "");
    cJSON_AddNumberToObject(a, "ack_sla_seconds", (double)sla);
    add_deadline(a, "ack_due", ev_time(e), sla);
    const char *state = "open";
    const cJSON *f;
    cJSON_ArrayForEach(f, evs)
    {
        if (!str_eq(f, "alert_id", id))
            continue;
        if (is_type(f, "alert.ack") && strcmp(state, "resolved")) {
            state = "acknowledged";
            cJSON_AddStringToObject(a, "acknowledged_by", jstr0(f, "actor"));
        }
        if (is_type(f, "alert.resolve"))
            state = "resolved";
        if (is_type(f, "alert.escalate")) {
            cJSON_AddStringToObject(a, "escalated_to", jstr0(f, "to"));
            cJSON_AddNumberToObject(a, "escalation_index",
                                    cJSON_GetObjectItem(f, "index")->valuedouble);
        }
    }
    cJSON_AddStringToObject(a, "state", state);
    cJSON_AddBoolToObject(a, "overdue", !strcmp(state, "open") && ev_time(e) &&
                                            now > ev_time(e) + sla * 1000000LL);
    char tgt[160];
    snprintf(tgt, sizeof tgt, "alert:%s", id);
    cJSON *lb = cJSON_GetObjectItemCaseSensitive(labels, tgt);
    if (lb)
        cJSON_AddItemToObject(a, "label", cJSON_Duplicate(lb, true));
    return a;
}

/* One row of the operations view: the incident opened by `e`, its RACI
 * service levels and its state from `evs`. */
static cJSON *op_incident(const raci_policy *pol, const cJSON *e, const cJSON *evs)
{
    const char *id = jstr(e, "incident_id");
    const char *act = jstr0(e, "activity");
    const raci_activity *ra = pol ? raci_find_activity(pol, act) : NULL;
    raci_sla sla = ra ? raci_activity_sla(ra) : (raci_sla){-1, -1, -1};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "incident_id", id);
    cJSON_AddStringToObject(o, "severity", jstr0(e, "severity"));
    cJSON_AddStringToObject(o, "summary", jstr0(e, "summary"));
    cJSON_AddStringToObject(o, "activity", act);
    cJSON_AddStringToObject(o, "opened_at", jstr0(e, "time"));
    cJSON_AddStringToObject(o, "opened_by", jstr0(e, "actor"));
    cJSON_AddNumberToObject(o, "index", cJSON_GetObjectItem(e, "index")->valuedouble);
    cJSON_AddStringToObject(o, "accountable", ra ? raci_accountable(ra) : "");
    add_deadline(o, "ack_due", ev_time(e), sla.ack_s);
    add_deadline(o, "resolve_due", ev_time(e), sla.resolve_s);
    const char *state = "open";
    const cJSON *f;
    cJSON_ArrayForEach(f, evs)
    {
        if (!str_eq(f, "incident_id", id))
            continue;
        if (is_type(f, "incident.ack") && strcmp(state, "resolved")) {
            state = "acknowledged";
            cJSON_AddStringToObject(o, "acknowledged_at", jstr0(f, "time"));
        }
        if (is_type(f, "incident.resolve")) {
            state = "resolved";
            cJSON_AddStringToObject(o, "resolved_at", jstr0(f, "time"));
        }
    }
    cJSON_AddStringToObject(o, "state", state);
    return o;
}

/* The latest positive predictions of the deployed model, to label. */
static void op_predictions(console *c, const cJSON *labels, cJSON *preds)
{
    model_info mi;
    adt_err merr = {0};
    sqlite3 *db = NULL;
    if (!model_deployed(c->env.data_dir, &mi, &merr) && !tdb_open(c->env.data_dir, false, &db, &merr)) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT p.id, d.name, p.time_us, p.prob, p.model, p.version "
                                   "FROM predictions p JOIN devices d ON d.id = p.device "
                                   "WHERE p.prob >= ?1 ORDER BY p.time_us DESC LIMIT 25",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_double(st, 1, mi.threshold);
            while (sqlite3_step(st) == SQLITE_ROW) {
                cJSON *p = cJSON_CreateObject();
                char tgt[64], t[40];
                snprintf(tgt, sizeof tgt, "prediction:%lld", (long long)sqlite3_column_int64(st, 0));
                rfc3339_format(sqlite3_column_int64(st, 2), t, sizeof t);
                cJSON_AddStringToObject(p, "target", tgt);
                cJSON_AddStringToObject(p, "device", (const char *)sqlite3_column_text(st, 1));
                cJSON_AddStringToObject(p, "reading_time", t);
                cJSON_AddNumberToObject(p, "probability", sqlite3_column_double(st, 3));
                cJSON_AddStringToObject(p, "model", (const char *)sqlite3_column_text(st, 4));
                cJSON_AddStringToObject(p, "version", (const char *)sqlite3_column_text(st, 5));
                cJSON *lb = cJSON_GetObjectItemCaseSensitive(labels, tgt);
                if (lb)
                    cJSON_AddItemToObject(p, "label", cJSON_Duplicate(lb, true));
                cJSON_AddItemToArray(preds, p);
            }
        }
        sqlite3_finalize(st);
    }
    if (db)
        tdb_close(db);
}

/* What a view reads first: the events of `types` (the index caught up) and
 * the RACI policy in force (*pol NULL when none is loaded: the view shows what
 * it can without one). Returns ADT_OK, or, with *evs NULL, the status of
 * answering that the events could not be read. */
static int view_read(console *c, const char *const *types, size_t nt, api_response *resp,
                     cJSON **evs, raci_policy **pol)
{
    adt_err err = {0};
    *pol = NULL;
    if (!(*evs = events_pooled(c, types, nt, &err)))
        return fail_resp(resp, err.code ? err.code : ADT_EIO, err.msg);
    adt_err perr = {0};
    raci_load_current(c->env.data_dir, pol, &perr);
    return ADT_OK;
}

/* GET /v1/console/operations: alerts, incidents, how far the operators' verdicts
 * are from counting, and predictions to label. */
static int v_operations(console *c, const api_request *req, api_response *resp)
{
    (void)req;
    static const char *const types[] = {"alert.raise", "alert.ack", "alert.resolve",
                                        "alert.escalate", "label.set", "incident.open",
                                        "incident.ack", "incident.resolve"};
    cJSON *evs;
    raci_policy *pol;
    int rc = view_read(c, types, sizeof types / sizeof *types, resp, &evs, &pol);
    if (!evs)
        return rc;
    cJSON *labels = latest_labels(evs);
    int64_t now = rfc3339_now_us();
    cJSON *alerts = cJSON_CreateArray(), *incidents = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, evs)
    {
        if (is_type(e, "alert.raise") && jstr(e, "alert_id"))
            cJSON_AddItemToArray(alerts, op_alert(pol, e, evs, labels, now));
        else if (is_type(e, "incident.open") && jstr(e, "incident_id"))
            cJSON_AddItemToArray(incidents, op_incident(pol, e, evs));
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "alerts", alerts);
    cJSON_AddItemToObject(j, "incidents", incidents);
    /* How far the operators' verdicts are from counting in the report. */
    uint64_t verdicts = 0;
    const cJSON *lt;
    cJSON_ArrayForEach(lt, labels)
    verdicts += jstr(lt, "device") && !str_eq(lt, "label", "unsure");
    cJSON_AddNumberToObject(j, "operator_verdicts", (double)verdicts);
    cJSON_AddNumberToObject(j, "min_operator_labels", (double)min_operator_labels(c));
    /* Predictions to label: the latest positive predictions of the deployed model. */
    cJSON *preds = cJSON_AddArrayToObject(j, "predictions");
    op_predictions(c, labels, preds);
    cJSON_Delete(labels);
    cJSON_Delete(evs);
    raci_free(pol);
    return send_json(resp, 200, j);
}

/* Pending and recent changes with their consultations and RACI parties. */
static cJSON *changes_json(const cJSON *evs, const raci_policy *pol)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, evs)
    {
        if (!(is_type(e, "change.request") || is_type(e, "retrain.request")) || !jstr(e, "change_id"))
            continue;
        const char *id = jstr(e, "change_id"), *act = jstr0(e, "activity");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "change_id", id);
        cJSON_AddStringToObject(o, "kind", jstr(e, "type"));
        cJSON_AddStringToObject(o, "activity", act);
        cJSON_AddStringToObject(o, "target", jstr0(e, "target"));
        cJSON_AddStringToObject(o, "requested_by", jstr0(e, "actor"));
        cJSON_AddStringToObject(o, "requested_at", jstr0(e, "time"));
        cJSON_AddStringToObject(o, "reason", jstr0(e, "reason"));
        cJSON_AddNumberToObject(o, "index", cJSON_GetObjectItem(e, "index")->valuedouble);
        const cJSON *tr = cJSON_GetObjectItem(e, "trigger");
        if (cJSON_IsNumber(tr))
            cJSON_AddNumberToObject(o, "trigger", tr->valuedouble);
        const raci_activity *ra = pol ? raci_find_activity(pol, act) : NULL;
        cJSON_AddStringToObject(o, "accountable", ra ? raci_accountable(ra) : "");
        cJSON *cons = cJSON_AddArrayToObject(o, "consulted");
        cJSON *need = cJSON_AddArrayToObject(o, "to_consult");
        if (ra) {
            const char *who[32];
            size_t n = raci_principals(pol, ra, RACI_C, who, 32);
            for (size_t i = 0; i < n && i < 32; i++)
                cJSON_AddItemToArray(need, cJSON_CreateString(who[i]));
        }
        cJSON_AddBoolToObject(o, "consult_required", ra && raci_consult_required(ra));
        const char *state = "pending";
        const cJSON *f;
        cJSON_ArrayForEach(f, evs)
        {
            if (!str_eq(f, "change_id", id))
                continue;
            if (is_type(f, "change.consult") && jstr(f, "actor"))
                cJSON_AddItemToArray(cons, cJSON_CreateString(jstr(f, "actor")));
            if (is_type(f, "change.approve")) {
                state = "approved";
                cJSON_AddStringToObject(o, "decided_by", jstr0(f, "actor"));
                cJSON_AddNumberToObject(o, "decision_index", cJSON_GetObjectItem(f, "index")->valuedouble);
            }
            if (is_type(f, "change.reject")) {
                state = "rejected";
                cJSON_AddStringToObject(o, "decided_by", jstr0(f, "actor"));
                cJSON_AddNumberToObject(o, "decision_index", cJSON_GetObjectItem(f, "index")->valuedouble);
            }
        }
        cJSON_AddStringToObject(o, "state", state);
        cJSON_AddItemToArray(out, o);
    }
    return out;
}

static const char *const change_types[] = {"change.request", "retrain.request", "change.consult",
                                           "change.approve", "change.reject"};
#define NCHANGE_TYPES (sizeof change_types / sizeof *change_types)

static int v_models(console *c, const api_request *req, api_response *resp)
{
    static const char *const types[] = {"change.request", "retrain.request", "change.consult",
                                        "change.approve", "change.reject", "drift.detected",
                                        "alert.escalate", "model.train"};
    cJSON *evs;
    raci_policy *pol;
    int rc = view_read(c, types, sizeof types / sizeof *types, resp, &evs, &pol);
    if (!evs)
        return rc;
    adt_err err = {0};
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "changes", changes_json(evs, pol));
    /* drift per feature: every drift.detected, newest last */
    cJSON *drift = cJSON_AddArrayToObject(j, "drift");
    cJSON *esc = cJSON_AddArrayToObject(j, "escalations");
    cJSON *train = cJSON_AddArrayToObject(j, "trainings");
    const cJSON *e;
    cJSON_ArrayForEach(e, evs)
    {
        if (is_type(e, "drift.detected"))
            cJSON_AddItemToArray(drift, cJSON_Duplicate(e, true));
        else if (is_type(e, "alert.escalate") && str_eq(e, "to", req->principal))
            cJSON_AddItemToArray(esc, cJSON_Duplicate(e, true));
        else if (is_type(e, "model.train"))
            cJSON_AddItemToArray(train, cJSON_Duplicate(e, true));
    }
    cJSON *models = NULL;
    if (model_list_json(c->env.data_dir, &models, &err) == ADT_OK)
        cJSON_AddItemToObject(j, "models", models);
    else
        cJSON_AddItemToObject(j, "models", cJSON_CreateArray());
    cJSON_Delete(evs);
    raci_free(pol);
    return send_json(resp, 200, j);
}

static int v_lineage(console *c, const api_request *req, api_response *resp)
{
    const char *m = api_param_get(req, "model");
    if (!m || !conreq_id_ok(m) || !strchr(m, '@'))
        return api_error(resp, 400, "invalid", "give ?model=NAME@VERSION");
    adt_err err = {0};
    sqlite3 *db = NULL;
    int rc = tdb_open(c->env.data_dir, false, &db, &err);
    if (rc)
        return fail_resp(resp, rc, err.msg);
    ledger *lg = c->env.pool_get(c->env.ctx, &err);
    if (!lg) {
        tdb_close(db);
        return fail_resp(resp, ADT_EIO, err.msg);
    }
    buf_reset(&resp->body);
    rc = lineage_trace(db, lg, m, &resp->body, &err);
    c->env.pool_put(c->env.ctx, lg);
    tdb_close(db);
    if (rc) {
        buf_reset(&resp->body);
        return fail_resp(resp, rc, err.msg);
    }
    resp->status = 200;
    return ADT_OK;
}

static int v_people(console *c, api_response *resp)
{
    adt_err err = {0};
    buf_reset(&resp->body);
    int rc = buf_puts(&resp->body, "{\"people\":");
    if (!rc)
        rc = person_list_json(c->pdb, &resp->body, &err);
    if (!rc)
        rc = buf_puts(&resp->body, "}\n");
    if (rc)
        return fail_resp(resp, rc, err.msg[0] ? err.msg : "answer too large");
    resp->status = 200;
    return ADT_OK;
}

/* ---------- actions ---------- */

/* Find the event of `type` whose `key` is `id` (the last one). */
static cJSON *find_event(cJSON *evs, const char *type, const char *key, const char *id)
{
    cJSON *hit = NULL, *e;
    cJSON_ArrayForEach(e, evs)
    if (is_type(e, type) && str_eq(e, key, id))
        hit = e;
    return hit;
}

static bool has_event(cJSON *evs, const char *type, const char *key, const char *id)
{
    return find_event(evs, type, key, id) != NULL;
}

/* Alerts and incidents: ack / resolve. `what` is "alert" or "incident". */
static int a_ack_resolve(console *c, const api_request *req, api_response *resp, const char *what,
                         const char *id, const char *op)
{
    if (!conreq_id_ok(id))
        return api_error(resp, 400, "invalid", "bad %s id", what);
    adt_err err = {0};
    bool alert = !strcmp(what, "alert");
    const char *const at[] = {"alert.raise", "alert.ack", "alert.resolve"};
    const char *const it[] = {"incident.open", "incident.ack", "incident.resolve"};
    cJSON *evs = events_pooled(c, alert ? at : it, 3, &err);
    if (!evs)
        return fail_resp(resp, err.code ? err.code : ADT_EIO, err.msg);
    const char *key = alert ? "alert_id" : "incident_id";
    cJSON *open = find_event(evs, alert ? "alert.raise" : "incident.open", key, id);
    raci_policy *pol = NULL;
    int rc = ADT_OK;
    char act[RACI_ID_MAX] = "", type[32];
    snprintf(type, sizeof type, "%s.%s", what, op);
    if (!open)
        rc = adt_fail(&err, ADT_ENOTFOUND, "no %s '%s' in the ledger", what, id);
    else if ((rc = load_policy(c, &pol, &err)) == ADT_OK) {
        if (alert)
            alert_activity(pol, open, act, sizeof act);
        else
            snprintf(act, sizeof act, "%s", jstr0(open, "activity"));
        char rk[48];
        snprintf(rk, sizeof rk, "%s.resolve", what);
        if (has_event(evs, rk, key, id))
            rc = adt_fail(&err, ADT_ECONFLICT, "%s %s is resolved already", what, id);
        else if (!strcmp(op, "ack") && has_event(evs, type, key, id))
            rc = adt_fail(&err, ADT_ECONFLICT, "%s %s is acknowledged already", what, id);
        else if (!raci_may_act(pol, act, req->principal))
            rc = adt_fail(&err, ADT_EFORBIDDEN, "the RACI policy makes %s neither Responsible nor "
                          "Accountable for %s, so %s may not %s %s %s", req->principal,
                          act[0] ? act : "(no activity)", req->principal,
                          !strcmp(op, "ack") ? "acknowledge" : "resolve", what, id);
    }
    cJSON_Delete(evs);
    raci_free(pol);
    if (rc)
        return fail_resp(resp, rc, err.msg);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddStringToObject(ev, key, id);
    cJSON_AddStringToObject(ev, "activity", act);
    uint64_t index = 0;
    if ((rc = append_person_event(c, req, ev, &index, &err)))
        return fail_resp(resp, rc, err.msg);
    return answer_recorded(resp, type, index);
}

/* The reading a label covers (oplabel.h): a prediction's reading, or for an
 * alert naming a device that device's last reading before it. `device` and
 * `rtime` stay empty when it covers none. */
static int label_reading(console *c, const conreq_label *in, const cJSON *raise, char *device,
                         size_t dcap, char *rtime, size_t rcap, adt_err *err)
{
    sqlite3 *db = NULL;
    int rc = tdb_open(c->env.data_dir, false, &db, err);
    if (rc == ADT_ENOTFOUND && in->kind == CONREQ_TARGET_ALERT)
        return ADT_OK; /* nothing ingested: the alert covers no reading */
    if (rc)
        return rc;
    if (in->kind == CONREQ_TARGET_PREDICTION) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT d.name, p.time_us FROM predictions p JOIN devices d "
                                   "ON d.id = p.device WHERE p.id = ?", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, in->prediction);
            if (sqlite3_step(st) == SQLITE_ROW) {
                snprintf(device, dcap, "%s", (const char *)sqlite3_column_text(st, 0));
                rfc3339_format(sqlite3_column_int64(st, 1), rtime, rcap);
            } else {
                rc = adt_fail(err, ADT_ENOTFOUND, "no prediction %lld", in->prediction);
            }
        } else {
            rc = adt_fail(err, ADT_EIO, "telemetry.db: %s", sqlite3_errmsg(db));
        }
        sqlite3_finalize(st);
    } else {
        const char *dev = jstr(raise, "device");
        int64_t at = ev_time(raise), us = 0;
        adt_err e2 = {0};
        if (dev && at && strlen(dev) < dcap && !oplabel_alert_reading(db, dev, at, &us, &e2)) {
            snprintf(device, dcap, "%s", dev);
            rfc3339_format(us, rtime, rcap);
        }
    }
    tdb_close(db);
    return rc;
}

static int a_label(console *c, const api_request *req, api_response *resp)
{
    conreq_label in;
    adt_err err = {0};
    int rc = conreq_parse_label(req->body, req->body_len, &in, &err);
    if (rc)
        return fail_resp(resp, rc, err.msg);
    char device[129] = "", rtime[40] = "", act[RACI_ID_MAX] = "";
    cJSON *evs = NULL;
    const cJSON *raise = NULL;
    if (in.kind == CONREQ_TARGET_ALERT) {
        static const char *const t[] = {"alert.raise"};
        evs = events_pooled(c, t, 1, &err);
        if (!evs)
            rc = err.code ? err.code : ADT_EIO;
        else if (!(raise = find_event(evs, "alert.raise", "alert_id", in.alert_id)))
            rc = adt_fail(&err, ADT_ENOTFOUND, "no alert '%s' in the ledger", in.alert_id);
    }
    if (!rc)
        rc = label_reading(c, &in, raise, device, sizeof device, rtime, sizeof rtime, &err);
    cJSON_Delete(evs);
    raci_policy *pol = NULL;
    if (!rc && !(rc = load_policy(c, &pol, &err))) {
        /* A label states the truth about plant data: its R or A label. */
        const raci_activity *data = first_of_kind(pol, "data");
        snprintf(act, sizeof act, "%s", data ? raci_activity_id(data) : "");
        if (!raci_may_act(pol, act, req->principal))
            rc = adt_fail(&err, ADT_EFORBIDDEN, "the RACI policy makes %s neither Responsible nor "
                          "Accountable for %s, so %s may not label plant data", req->principal,
                          act[0] ? act : "a data activity", req->principal);
    }
    raci_free(pol);
    if (rc)
        return fail_resp(resp, rc, err.msg);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", "label.set");
    cJSON_AddStringToObject(ev, "target", in.target);
    cJSON_AddStringToObject(ev, "label", in.label);
    cJSON_AddStringToObject(ev, "comment", in.comment);
    cJSON_AddStringToObject(ev, "activity", act);
    if (device[0]) {
        cJSON_AddStringToObject(ev, "device", device);
        cJSON_AddStringToObject(ev, "reading_time", rtime);
    }
    uint64_t index = 0;
    if ((rc = append_person_event(c, req, ev, &index, &err)))
        return fail_resp(resp, rc, err.msg);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "recorded", "label.set");
    cJSON_AddNumberToObject(j, "index", (double)index);
    if (device[0]) {
        cJSON *cov = cJSON_AddObjectToObject(j, "covers");
        cJSON_AddStringToObject(cov, "device", device);
        cJSON_AddStringToObject(cov, "reading_time", rtime);
    } else {
        cJSON_AddNullToObject(j, "covers");
    }
    return send_json(resp, 201, j);
}

static int a_change_request(console *c, const api_request *req, api_response *resp)
{
    conreq_change in;
    adt_err err = {0};
    int rc = conreq_parse_change(req->body, req->body_len, &in, &err);
    if (rc)
        return fail_resp(resp, rc, err.msg);
    const char *id = in.change_id, *target = in.target, *name = in.model;
    char act[RACI_ID_MAX];
    if (strlen(name) + 7 > sizeof act)
        return api_error(resp, 400, "invalid", "a model name of at most %zu characters",
                         sizeof act - 7);
    raci_policy *pol = NULL;
    if (!rc) {
        snprintf(act, sizeof act, "model:%.*s", (int)(sizeof act - 7), name);
        cJSON *evs = events_pooled(c, change_types, NCHANGE_TYPES, &err);
        if (!evs)
            rc = err.code ? err.code : ADT_EIO;
        else if (has_event(evs, "change.request", "change_id", id) ||
                 has_event(evs, "retrain.request", "change_id", id))
            rc = adt_fail(&err, ADT_EEXIST, "change %s exists already", id);
        cJSON_Delete(evs);
    }
    if (!rc && !(rc = load_policy(c, &pol, &err)) && !raci_may_act(pol, act, req->principal))
        rc = adt_fail(&err, ADT_EFORBIDDEN, "the RACI policy makes %s neither Responsible nor "
                      "Accountable for %s", req->principal, act);
    raci_free(pol);
    if (rc)
        return fail_resp(resp, rc, err.msg);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", "change.request");
    cJSON_AddStringToObject(ev, "change_id", id);
    cJSON_AddStringToObject(ev, "activity", act);
    cJSON_AddStringToObject(ev, "target", target);
    cJSON_AddStringToObject(ev, "reason", in.reason);
    uint64_t index = 0;
    if ((rc = append_person_event(c, req, ev, &index, &err)))
        return fail_resp(resp, rc, err.msg);
    return answer_recorded(resp, "change.request", index);
}

/* consult / approve / reject a pending change. */
static int a_change_decide(console *c, const api_request *req, api_response *resp, const char *id,
                           const char *op)
{
    if (!conreq_id_ok(id))
        return api_error(resp, 400, "invalid", "bad change id");
    conreq_decision in;
    adt_err err = {0};
    int rc = conreq_parse_decision(req->body, req->body_len, &in, &err);
    if (rc)
        return fail_resp(resp, rc, err.msg);
    const char *reason = in.has_reason ? in.reason : NULL;
    cJSON *evs = events_pooled(c, change_types, NCHANGE_TYPES, &err);
    if (!rc && !evs)
        rc = err.code ? err.code : ADT_EIO;
    cJSON *reqev = evs ? find_event(evs, "change.request", "change_id", id) : NULL;
    if (!reqev && evs)
        reqev = find_event(evs, "retrain.request", "change_id", id);
    raci_policy *pol = NULL;
    char act[RACI_ID_MAX] = "", type[32];
    snprintf(type, sizeof type, "change.%s", op);
    if (!rc && !reqev)
        rc = adt_fail(&err, ADT_ENOTFOUND, "no change request '%s' in the ledger", id);
    if (!rc && (has_event(evs, "change.approve", "change_id", id) ||
                has_event(evs, "change.reject", "change_id", id)))
        rc = adt_fail(&err, ADT_ECONFLICT, "change %s is decided already", id);
    if (!rc && !(rc = load_policy(c, &pol, &err))) {
        snprintf(act, sizeof act, "%s", jstr0(reqev, "activity"));
        const raci_activity *ra = raci_find_activity(pol, act);
        const char *acc = ra ? raci_accountable(ra) : NULL;
        if (!ra) {
            rc = adt_fail(&err, ADT_ECONFLICT, "activity '%s' is not in the RACI policy", act);
        } else if (!strcmp(op, "consult")) {
            if (!(raci_letters(pol, act, req->principal) & RACI_C))
                rc = adt_fail(&err, ADT_EFORBIDDEN, "%s is not Consulted on %s in the RACI policy",
                              req->principal, act);
            else {
                cJSON *e;
                cJSON_ArrayForEach(e, evs)
                if (is_type(e, "change.consult") && str_eq(e, "change_id", id) &&
                    str_eq(e, "actor", req->principal))
                    rc = adt_fail(&err, ADT_ECONFLICT, "%s was consulted on %s already",
                                  req->principal, id);
            }
        } else if (!acc || strcmp(acc, req->principal)) {
            rc = adt_fail(&err, ADT_EFORBIDDEN, "only the Accountable of %s (%s) may %s change %s; "
                          "%s is not", act, acc ? acc : "nobody", op, id, req->principal);
        } else if (str_eq(reqev, "actor", req->principal)) {
            rc = adt_fail(&err, ADT_EFORBIDDEN, "%s requested change %s and may not decide it "
                          "(separation of duties)", req->principal, id);
        } else if (!strcmp(op, "approve") && raci_consult_required(ra)) {
            const char *who[32];
            size_t n = raci_principals(pol, ra, RACI_C, who, 32);
            for (size_t i = 0; !rc && i < n && i < 32; i++) {
                bool done = false;
                cJSON *e;
                cJSON_ArrayForEach(e, evs)
                if (is_type(e, "change.consult") && str_eq(e, "change_id", id) &&
                    str_eq(e, "actor", who[i]))
                    done = true;
                if (!done)
                    rc = adt_fail(&err, ADT_ECONFLICT, "%s must be consulted on %s before it is "
                                  "approved (the RACI policy requires it)", who[i], id);
            }
        }
    }
    char name[CONREQ_ID_MAX + 1] = "", ver[CONREQ_ID_MAX + 1] = "";
    bool model_change = reqev && conreq_split_model_target(jstr(reqev, "target"), name,
                                                           sizeof name, ver, sizeof ver);
    cJSON_Delete(evs);
    raci_free(pol);
    if (rc)
        return fail_resp(resp, rc, err.msg);
    uint64_t index = 0;
    if (model_change && !strcmp(op, "approve")) {
        /* The registry keeps the approval the deployment gate checks. */
        char cred[PERSON_CRED_ID_LEN + 1] = "";
        unsigned roles;
        unsigned long long ix = 0;
        if ((rc = person_active(c->pdb, req->principal, &roles, cred, &err)) ||
            (rc = model_approve_as(c->env.data_dir, name, ver, req->principal, cred, id, &ix, &err)))
            return fail_resp(resp, rc, err.msg);
        log_msg(LOG_INFO, MOD, "%s approved %s (model %s@%s)", req->principal, id, name, ver);
        return answer_recorded(resp, type, ix);
    }
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddStringToObject(ev, "change_id", id);
    cJSON_AddStringToObject(ev, "activity", act);
    if (reason)
        cJSON_AddStringToObject(ev, "reason", reason);
    else if (!strcmp(op, "reject"))
        cJSON_AddStringToObject(ev, "reason", "");
    if ((rc = append_person_event(c, req, ev, &index, &err)))
        return fail_resp(resp, rc, err.msg);
    return answer_recorded(resp, type, index);
}

/* Quarantined readings not replayed yet (0 without a telemetry store). */
static int quarantine_pending(console *c, int64_t *n, adt_err *err)
{
    *n = 0;
    sqlite3 *db = NULL;
    int rc = tdb_open(c->env.data_dir, false, &db, err);
    if (rc == ADT_ENOTFOUND)
        return ADT_OK;
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM quarantine WHERE replayed_batch IS NULL", -1,
                           &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        rc = adt_fail(err, ADT_EIO, "telemetry.db: %s", sqlite3_errmsg(db));
    else
        *n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    tdb_close(db);
    return rc;
}

/* The person asks for the replay (`quarantine.replay`, writer person); the
 * pipeline replays as itself and its telemetry.batch cites that request. */
static int a_replay(console *c, const api_request *req, api_response *resp)
{
    if (!c->env.replay)
        return api_error(resp, 501, "not_implemented", "the pipeline is not built into this daemon");
    adt_err err = {0};
    int64_t pending = 0;
    int rc = quarantine_pending(c, &pending, &err);
    if (!rc && pending == 0)
        rc = adt_fail(&err, ADT_ECONFLICT, "the quarantine holds no reading to replay");
    if (rc)
        return fail_resp(resp, rc, err.msg);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", "quarantine.replay");
    cJSON_AddNumberToObject(ev, "pending", (double)pending);
    uint64_t index = 0;
    if ((rc = append_person_event(c, req, ev, &index, &err)))
        return fail_resp(resp, rc, err.msg);
    buf out;
    buf_init(&out, 1u << 20);
    rc = c->env.replay(c->env.ctx, index, &out, &err);
    cJSON *r = rc ? NULL : cJSON_ParseWithLength(out.data, out.len);
    buf_free(&out);
    if (rc) {
        adt_err_prefix(&err, "the request was recorded (quarantine.replay at index %llu) but the "
                       "replay failed", (unsigned long long)index);
        return fail_resp(resp, rc, err.msg);
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "recorded", "quarantine.replay");
    cJSON_AddNumberToObject(j, "index", (double)index);
    cJSON_AddItemToObject(j, "replay", r ? r : cJSON_CreateNull());
    return send_json(resp, 201, j);
}

/* ---------- assets and dispatch ---------- */

static int serve_asset(const api_request *req, api_response *resp)
{
    const char *p = req->path;
    const char *name = !strcmp(p, "/ui") || !strcmp(p, "/ui/") ? "index.html" : p + 4;
    const unsigned char *data;
    size_t len;
    const char *mime;
    if (ui_asset(name, &data, &len, &mime))
        return api_error(resp, 404, "not_found", "no console file %s", p);
    buf_reset(&resp->body);
    if (buf_append(&resp->body, data, len))
        return api_error(resp, 500, "internal", "asset too large");
    resp->status = 200;
    resp->content_type = mime;
    return ADT_OK;
}

/* "/v1/console/alerts/ALR-1/ack" -> kind "alerts", id "ALR-1", op "ack". */
static bool split3(const char *rest, char *kind, size_t kc, char *id, size_t ic, char *op, size_t oc)
{
    const char *a = strchr(rest, '/');
    if (!a)
        return false;
    const char *b2 = strchr(a + 1, '/');
    if (!b2 || strchr(b2 + 1, '/'))
        return false;
    if ((size_t)(a - rest) >= kc || (size_t)(b2 - a - 1) >= ic || strlen(b2 + 1) >= oc)
        return false;
    snprintf(kind, kc, "%.*s", (int)(a - rest), rest);
    snprintf(id, ic, "%.*s", (int)(b2 - a - 1), a + 1);
    snprintf(op, oc, "%s", b2 + 1);
    return true;
}

int console_api(console *c, const console_hdrs *h, const api_request *req, api_response *resp)
{
    const char *p = req->path, *m = req->method;
    if (!strcmp(p, "/ui") || !strncmp(p, "/ui/", 4))
        return serve_asset(req, resp);
    if (!strcmp(p, "/v1/session")) {
        if (!strcmp(m, "POST"))
            return h_login(c, req, resp);
        return h_session(c, h, req, resp);
    }
    const char *rest = p + strlen("/v1/console/");
    if (!strcmp(m, "GET")) {
        if (!strcmp(rest, "steering"))
            return v_steering(c, req, resp);
        if (!strcmp(rest, "operations"))
            return v_operations(c, req, resp);
        if (!strcmp(rest, "models"))
            return v_models(c, req, resp);
        if (!strcmp(rest, "lineage"))
            return v_lineage(c, req, resp);
        if (!strcmp(rest, "people"))
            return v_people(c, resp);
        return api_error(resp, 404, "not_found", "no console view %s", p);
    }
    if (strcmp(m, "POST"))
        return api_error(resp, 405, "method_not_allowed", "%s is not allowed on %s", m, p);
    if (!strcmp(rest, "labels"))
        return a_label(c, req, resp);
    if (!strcmp(rest, "changes"))
        return a_change_request(c, req, resp);
    if (!strcmp(rest, "reports"))
        return a_issue_report(c, req, resp);
    if (!strcmp(rest, "quarantine/replay"))
        return a_replay(c, req, resp);
    char kind[32], id[160], op[16];
    if (split3(rest, kind, sizeof kind, id, sizeof id, op, sizeof op)) {
        if (!strcmp(kind, "alerts") && (!strcmp(op, "ack") || !strcmp(op, "resolve")))
            return a_ack_resolve(c, req, resp, "alert", id, op);
        if (!strcmp(kind, "incidents") && (!strcmp(op, "ack") || !strcmp(op, "resolve")))
            return a_ack_resolve(c, req, resp, "incident", id, op);
        if (!strcmp(kind, "changes") &&
            (!strcmp(op, "consult") || !strcmp(op, "approve") || !strcmp(op, "reject")))
            return a_change_decide(c, req, resp, id, op);
    }
    return api_error(resp, 404, "not_found", "no console action %s", p);
}
