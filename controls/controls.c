/* controls.c: the control evaluation service (controls.h). */
#include "controls.h"

#include "catalog.h"
#include "eval.h"
#include "log.h"
#include "period.h"
#include "raci.h"
#include "rfc3339.h"
#include "rules.h"
#include "sqldb.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CATCHUP_CHUNK 50000 /* entries folded per lock hold by the worker */
/* The worker saves the engine state when both this many entries and this
 * many seconds have passed since the last save (and at close): a save
 * serialises every open key, so it must not run per commit. */
#define SAVE_EVERY 200000
#define SAVE_INTERVAL_US (300LL * 1000000)
#define PERIODS_KEPT 8 /* period engines kept (least recently used dropped) */

/* A period engine kept by the service: the same engine as the continuous
 * one with a closed window, fed by the same folds, saved beside it. */
typedef struct kept {
    int64_t from, to;
    eval_engine *e;
    uint64_t saved_next; /* eval_next_index() at the last save */
    uint64_t used;       /* LRU stamp */
} kept;

struct controls {
    char *data_dir;
    pthread_mutex_t mu;      /* everything below except the notify fields */
    rules_schema *schema;
    rules_set rules;
    catalog *cat;
    raci_policy *raci;       /* NULL when no policy was loaded */
    raci_policy **old_raci;  /* superseded policies, alive until close (period */
    size_t nold;             /* evaluations may still be reading them) */
    struct stat raci_st;     /* of <data_dir>/raci.xml when loaded; st_ino 0 = absent */
    ledger *lg;              /* read-only handle for continuous evaluation */
    eval_engine *cont;       /* the continuous engine (open window) */
    sqlite3 *db;             /* controls_eval.db */
    uint64_t saved_next;     /* eval_next_index() at the last save */
    int64_t saved_at;        /* when (rfc3339_now_us) */
    bool state_loaded;       /* load_state ran (lazily: one-shot users never pay) */
    kept per[PERIODS_KEPT];  /* period engines, fed with the continuous one */
    size_t nper;
    uint64_t tick;           /* LRU clock of per[] */

    pthread_mutex_t nmu;     /* notify state */
    pthread_cond_t ncv;
    uint64_t notified_size;  /* largest tree size a commit announced */
    uint64_t done_size;      /* entries the worker has folded in */
    bool stop, worker_on;
    pthread_t worker;
};

/* ---- helpers ------------------------------------------------------------- */

static bool cat_normalise(void *ctx, const char *framework, const char *id, char *out, size_t cap)
{
    catalog *cat = ctx;
    if (catalog_normalize_id(id, out, cap))
        return false;
    const char *fw = catalog_framework_of(out);
    if (!fw || strcmp(fw, framework))
        return false;
    catalog_control ctl;
    adt_err e = {0};
    return catalog_lookup(cat, framework, out, &ctl, &e) == ADT_OK;
}

/* Where rules come from: $AUDITD_RULES_DIR, DATA_DIR/rules, the source
 * tree's controls/rules; NULL = the copies compiled into the library. */
static const char *rules_dir_for(const char *data_dir, char *tmp, size_t cap)
{
    const char *env = getenv("AUDITD_RULES_DIR");
    if (env && *env)
        return env;
    struct stat st;
    snprintf(tmp, cap, "%s/rules", data_dir);
    if (stat(tmp, &st) == 0 && S_ISDIR(st.st_mode))
        return tmp;
    if (stat(rules_default_dir(), &st) == 0 && S_ISDIR(st.st_mode))
        return rules_default_dir();
    return NULL;
}

static int open_db(controls *c, adt_err *err)
{
    /* Rebuildable: every row here is recomputed from the ledger. */
    int rc = sqldb_open(c->data_dir, CONTROLS_EVAL_DB, SQLDB_CREATE, SQLDB_REBUILDABLE, NULL,
                        &c->db, err);
    if (rc)
        return rc;
    return sqldb_exec(c->db,
                   "CREATE TABLE IF NOT EXISTS eval_cursor(id INTEGER PRIMARY KEY CHECK(id=1),"
                   " tree_size INTEGER NOT NULL, rules_fingerprint TEXT NOT NULL,"
                   " policy_sha256 TEXT, evaluated_at TEXT NOT NULL);"
                   "CREATE TABLE IF NOT EXISTS eval_state(id INTEGER PRIMARY KEY CHECK(id=1),"
                   " next INTEGER NOT NULL, anchor TEXT NOT NULL, rules_fingerprint TEXT NOT NULL,"
                   " policy_sha256 TEXT NOT NULL, state TEXT NOT NULL);"
                   "CREATE TABLE IF NOT EXISTS period_state(from_us INTEGER NOT NULL,"
                   " to_us INTEGER NOT NULL, next INTEGER NOT NULL, anchor TEXT NOT NULL,"
                   " rules_fingerprint TEXT NOT NULL, policy_sha256 TEXT NOT NULL,"
                   " state TEXT NOT NULL, PRIMARY KEY(from_us, to_us));"
                   "CREATE TABLE IF NOT EXISTS control_status(framework TEXT NOT NULL,"
                   " id TEXT NOT NULL, status TEXT NOT NULL, findings INTEGER NOT NULL,"
                   " tree_size INTEGER NOT NULL, evaluated_at TEXT NOT NULL,"
                   " PRIMARY KEY(framework, id));",
                   "creating the evaluation tables", err);
}

static void policy_stat(const char *data_dir, struct stat *st)
{
    char path[4096];
    memset(st, 0, sizeof *st);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, RACI_POLICY_FILE) < sizeof path &&
        stat(path, st) != 0)
        memset(st, 0, sizeof *st);
}

static void drop_periods(controls *c);

/* If `auditd policy load` replaced the policy since it was loaded, load the
 * new one and restart continuous evaluation under it (one fold of the
 * ledger). A policy that fails to load is logged and the old one kept.
 * Caller holds c->mu. */
static void maybe_reload_policy(controls *c)
{
    struct stat st;
    policy_stat(c->data_dir, &st);
    if (st.st_ino == c->raci_st.st_ino && st.st_size == c->raci_st.st_size &&
        st.st_mtim.tv_sec == c->raci_st.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == c->raci_st.st_mtim.tv_nsec)
        return;
    adt_err err = {0};
    raci_policy *p = NULL;
    int rc = raci_load_current(c->data_dir, &p, &err);
    if (rc && rc != ADT_ENOTFOUND) {
        log_msg(LOG_WARN, "controls", "keeping the RACI policy in force: %s", err.msg);
        c->raci_st = st;
        return;
    }
    raci_policy **o = realloc(c->old_raci, (c->nold + 1) * sizeof *o);
    eval_engine *e = NULL;
    if (!o || eval_new(&c->rules, p, INT64_MIN, INT64_MAX, &e, &err)) {
        if (o)
            c->old_raci = o;
        raci_free(p);
        log_msg(LOG_WARN, "controls", "cannot switch RACI policy: %s", err.msg);
        return;
    }
    c->old_raci = o;
    if (c->raci)
        c->old_raci[c->nold++] = c->raci;
    c->raci = p;
    c->raci_st = st;
    eval_free(c->cont);
    c->cont = e;
    c->saved_next = 0;
    drop_periods(c);
    log_msg(LOG_INFO, "controls", "RACI policy %s %s in force; re-evaluating the ledger",
            p ? raci_name(p) : "(none)", p ? raci_version(p) : "");
}

/* ---- the continuous engine ------------------------------------------------ */

/* The hex leaf hash of entry next-1 ("" for 0): ties saved state to this
 * ledger, so a state saved for another ledger is never resumed. */
static int anchor_of(controls *c, uint64_t next, char out[65], adt_err *err)
{
    out[0] = 0;
    if (!next)
        return ADT_OK;
    merkle_hash h;
    int rc = ledger_leaf_hash(c->lg, next - 1, h, err);
    if (rc)
        return rc;
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(merkle_hash); i++) {
        out[2 * i] = hx[h[i] >> 4];
        out[2 * i + 1] = hx[h[i] & 15];
    }
    out[2 * sizeof(merkle_hash)] = 0;
    return ADT_OK;
}

/* The engine's state as JSON text (caller frees) and the anchor of its
 * position; NULL with the reason logged. */
static char *state_text(controls *c, const eval_engine *e, char anchor[65])
{
    adt_err err = {0};
    cJSON *st = NULL;
    char *txt = NULL;
    if (anchor_of(c, eval_next_index(e), anchor, &err) || eval_save(e, &st, &err) ||
        !(txt = cJSON_PrintUnformatted(st)))
        log_msg(LOG_WARN, "controls", "not saving the evaluation state: %s",
                err.msg[0] ? err.msg : "out of memory");
    cJSON_Delete(st);
    return txt;
}

/* Store a state: `sql` binds next, anchor, fingerprint, policy, state, then
 * (for periods) from and to. */
static bool store_state(controls *c, const char *sql, const eval_engine *e, const kept *k)
{
    char anchor[65];
    char *txt = state_text(c, e, anchor);
    if (!txt)
        return false;
    sqlite3_stmt *s = NULL;
    bool ok = sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_int64(s, 1, (sqlite3_int64)eval_next_index(e));
        sqlite3_bind_text(s, 2, anchor, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, c->rules.fingerprint, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, c->raci ? raci_sha256(c->raci) : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, txt, -1, SQLITE_STATIC);
        if (k) {
            sqlite3_bind_int64(s, 6, k->from);
            sqlite3_bind_int64(s, 7, k->to);
        }
        ok = sqlite3_step(s) == SQLITE_DONE;
    }
    if (!ok)
        log_msg(LOG_WARN, "controls", "saving the evaluation state: %s", sqlite3_errmsg(c->db));
    sqlite3_finalize(s);
    free(txt);
    return ok;
}

/* Save the continuous engine's state (caller holds c->mu). Failures are
 * logged: the next start then folds the ledger from the start. */
static void save_state(controls *c)
{
    if (eval_next_index(c->cont) == c->saved_next)
        return;
    if (store_state(c, "INSERT OR REPLACE INTO eval_state(id, next, anchor, rules_fingerprint, "
                       "policy_sha256, state) VALUES(1,?,?,?,?,?)", c->cont, NULL)) {
        c->saved_next = eval_next_index(c->cont);
        c->saved_at = rfc3339_now_us();
    }
}

static void save_period(controls *c, kept *k)
{
    if (eval_next_index(k->e) == k->saved_next)
        return;
    if (store_state(c, "INSERT OR REPLACE INTO period_state(next, anchor, rules_fingerprint, "
                       "policy_sha256, state, from_us, to_us) VALUES(?,?,?,?,?,?,?)", k->e, k))
        k->saved_next = eval_next_index(k->e);
}

static void save_all(controls *c)
{
    save_state(c);
    for (size_t i = 0; i < c->nper; i++)
        save_period(c, &c->per[i]);
}

/* A saved state of window [from, to) made with these rules, this policy
 * and this ledger, restored into a new engine; NULL when there is none. */
static eval_engine *load_engine(controls *c, const char *sql, int64_t from, int64_t to)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(s, 1, c->rules.fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, c->raci ? raci_sha256(c->raci) : "", -1, SQLITE_STATIC);
    if (from != INT64_MIN || to != INT64_MAX) {
        sqlite3_bind_int64(s, 3, from);
        sqlite3_bind_int64(s, 4, to);
    }
    adt_err err = {0};
    eval_engine *e = NULL;
    if (sqlite3_step(s) == SQLITE_ROW) {
        uint64_t next = (uint64_t)sqlite3_column_int64(s, 0), size = 0;
        const char *anchor = (const char *)sqlite3_column_text(s, 1);
        const char *txt = (const char *)sqlite3_column_text(s, 2);
        char mine[65];
        cJSON *st = NULL;
        if (!anchor || !txt || ledger_size(c->lg, &size, &err) || next > size ||
            anchor_of(c, next, mine, &err) || strcmp(mine, anchor)) {
            log_msg(LOG_INFO, "controls", "saved evaluation state does not match this ledger; "
                                          "evaluating from the start");
        } else if (!(st = cJSON_Parse(txt)) || eval_new(&c->rules, c->raci, from, to, &e, &err) ||
                   eval_restore(e, st, &err) || eval_next_index(e) != next) {
            log_msg(LOG_WARN, "controls", "cannot resume the saved evaluation (%s); evaluating "
                    "from the start", err.msg[0] ? err.msg : "bad JSON");
            eval_free(e);
            e = NULL;
        }
        cJSON_Delete(st);
    }
    sqlite3_finalize(s);
    return e;
}

/* Resume from the saved state if it was made with these rules, this policy
 * and this ledger; otherwise evaluation starts from entry 0. */
static void load_state(controls *c)
{
    eval_engine *e = load_engine(c, "SELECT next, anchor, state FROM eval_state WHERE id=1 AND "
                                    "rules_fingerprint=? AND policy_sha256=?",
                                 INT64_MIN, INT64_MAX);
    if (e) {
        eval_free(c->cont);
        c->cont = e;
        c->saved_next = eval_next_index(e);
    }
}

/* Forget every kept period engine (the policy changed), saving nothing. */
static void drop_periods(controls *c)
{
    for (size_t i = 0; i < c->nper; i++)
        eval_free(c->per[i].e);
    c->nper = 0;
}

/* The kept engine of window [from, to): found, restored from its saved
 * state, or new (at entry 0). The least recently used is saved and dropped
 * when all places are taken. Caller holds c->mu. */
static kept *period_engine(controls *c, int64_t from, int64_t to, adt_err *err)
{
    c->tick++;
    for (size_t i = 0; i < c->nper; i++)
        if (c->per[i].from == from && c->per[i].to == to) {
            c->per[i].used = c->tick;
            return &c->per[i];
        }
    /* A free place, or the least recently used one, replaced where it is:
     * engines never move, so callers may hold several kept pointers (the
     * ones they just asked for are the most recently used). */
    size_t slot = c->nper;
    if (c->nper == PERIODS_KEPT) {
        slot = 0;
        for (size_t i = 1; i < c->nper; i++)
            if (c->per[i].used < c->per[slot].used)
                slot = i;
        save_period(c, &c->per[slot]);
        eval_free(c->per[slot].e);
    }
    kept *k = &c->per[slot];
    memset(k, 0, sizeof *k);
    k->from = from;
    k->to = to;
    k->used = c->tick;
    k->e = load_engine(c, "SELECT next, anchor, state FROM period_state WHERE "
                          "rules_fingerprint=? AND policy_sha256=? AND from_us=? AND to_us=?",
                       from, to);
    if (k->e)
        k->saved_next = eval_next_index(k->e);
    else if (eval_new(&c->rules, c->raci, from, to, &k->e, err))
        k->e = NULL;
    if (!k->e) {
        if (slot < c->nper) /* an evicted place: close the gap (the caller gives up) */
            c->per[slot] = c->per[--c->nper];
        return NULL;
    }
    if (slot == c->nper)
        c->nper++;
    return k;
}

/* One pass over the ledger feeds every engine due for the entry: the
 * continuous one (when `cont`) and the kept period engines, each exactly
 * once, in index order. */
typedef struct foldctx {
    controls *c;
    bool cont;
    adt_err *err;
} foldctx;

static int fold_cb(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    foldctx *f = ctx;
    controls *c = f->c;
    if (f->cont && eval_next_index(c->cont) == index &&
        eval_feed(c->cont, index, leaf, len, f->err))
        return 1;
    for (size_t i = 0; i < c->nper; i++)
        if (eval_next_index(c->per[i].e) == index &&
            eval_feed(c->per[i].e, index, leaf, len, f->err))
            return 1;
    return 0;
}

/* Fold entries up to `to` (exclusive) into the engines behind it, at most
 * `max` entries (0: no limit) past the first engine's position. OUT: *more
 * when entries before `to` are left. Caller holds c->mu. */
static int fold(controls *c, bool cont, uint64_t to, uint64_t max, bool *more, adt_err *err)
{
    uint64_t from = cont ? eval_next_index(c->cont) : UINT64_MAX;
    for (size_t i = 0; i < c->nper; i++)
        if (eval_next_index(c->per[i].e) < from)
            from = eval_next_index(c->per[i].e);
    uint64_t end = to;
    if (from < to && max && to - from > max)
        end = from + max;
    if (more)
        *more = from < to && end < to;
    if (from >= end)
        return ADT_OK;
    foldctx f = {c, cont, err};
    return ledger_scan(c->lg, from, end, fold_cb, &f, err);
}

/* Fold entries [next, min(size, next+max)) into the continuous engine (and
 * the kept period engines). Caller holds c->mu. */
static int catch_up(controls *c, uint64_t max, bool *more, adt_err *err)
{
    if (!c->state_loaded) {
        c->state_loaded = true;
        load_state(c);
    }
    uint64_t size, before = eval_next_index(c->cont);
    int rc = ledger_size(c->lg, &size, err);
    if (!rc)
        rc = fold(c, true, size, max, more, err);
    if (rc)
        return rc;
    uint64_t to = eval_next_index(c->cont);
    if (to == before)
        return ADT_OK;
    char now[32];
    rfc3339_format_s(rfc3339_now_us(), now, sizeof now);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO eval_cursor(id, tree_size, rules_fingerprint, "
                           "policy_sha256, evaluated_at) VALUES(1,?,?,?,?) ON CONFLICT(id) DO "
                           "UPDATE SET tree_size=excluded.tree_size, rules_fingerprint="
                           "excluded.rules_fingerprint, policy_sha256=excluded.policy_sha256, "
                           "evaluated_at=excluded.evaluated_at", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, (sqlite3_int64)to);
        sqlite3_bind_text(s, 2, c->rules.fingerprint, -1, SQLITE_STATIC);
        if (c->raci)
            sqlite3_bind_text(s, 3, raci_sha256(c->raci), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, now, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            log_msg(LOG_WARN, "controls", "recording the cursor: %s", sqlite3_errmsg(c->db));
    }
    sqlite3_finalize(s);
    return ADT_OK;
}

static void *worker_main(void *arg)
{
    controls *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->nmu);
        while (!c->stop && c->notified_size <= c->done_size)
            pthread_cond_wait(&c->ncv, &c->nmu);
        bool stop = c->stop;
        pthread_mutex_unlock(&c->nmu);
        if (stop)
            return NULL;
        bool more = true;
        while (more) {
            adt_err err = {0};
            pthread_mutex_lock(&c->mu);
            int rc = catch_up(c, CATCHUP_CHUNK, &more, &err);
            uint64_t done = eval_next_index(c->cont);
            if (!rc && done - c->saved_next >= SAVE_EVERY &&
                rfc3339_now_us() - c->saved_at >= SAVE_INTERVAL_US)
                save_all(c);
            pthread_mutex_unlock(&c->mu);
            if (rc) {
                log_msg(LOG_ERROR, "controls", "continuous evaluation: %s", err.msg);
                /* wait for the next commit before trying again */
                pthread_mutex_lock(&c->nmu);
                c->done_size = c->notified_size;
                pthread_mutex_unlock(&c->nmu);
                break;
            }
            pthread_mutex_lock(&c->nmu);
            c->done_size = done;
            more = more && !c->stop;
            pthread_mutex_unlock(&c->nmu);
        }
    }
}

void controls_notify(controls *c, const ledger_commit *commit)
{
    if (!c || !commit)
        return;
    pthread_mutex_lock(&c->nmu);
    if (commit->tree_size > c->notified_size)
        c->notified_size = commit->tree_size;
    if (!c->worker_on && !c->stop) {
        /* started on the first commit, so one-shot users (the CLI) never pay */
        if (pthread_create(&c->worker, NULL, worker_main, c) == 0)
            c->worker_on = true;
        else
            log_msg(LOG_ERROR, "controls", "cannot start the evaluation thread; evaluation "
                                           "happens on each read instead");
    }
    pthread_cond_signal(&c->ncv);
    pthread_mutex_unlock(&c->nmu);
}

/* ---- open / close --------------------------------------------------------- */

int controls_open(const char *data_dir, controls **out, adt_err *err)
{
    controls *c = calloc(1, sizeof *c);
    if (!c || !(c->data_dir = strdup(data_dir))) {
        free(c);
        return adt_fail(err, ADT_ENOMEM, "out of memory opening controls");
    }
    c->saved_at = rfc3339_now_us();
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->nmu, NULL);
    pthread_cond_init(&c->ncv, NULL);
    int rc = catalog_open(data_dir, &c->cat, err);
    if (!rc) {
        policy_stat(data_dir, &c->raci_st);
        rc = raci_load_current(data_dir, &c->raci, err);
        if (rc == ADT_ENOTFOUND) {
            c->raci = NULL;
            rc = ADT_OK;
        } else if (rc) {
            adt_err_prefix(err, "RACI policy in force");
        }
    }
    if (!rc)
        rc = rules_schema_open(NULL, &c->schema, err);
    if (!rc) {
        char tmp[4096];
        const char *dir = rules_dir_for(data_dir, tmp, sizeof tmp);
        rules_catalog rc_cat = {c->cat, cat_normalise};
        rc = dir ? rules_load_dir(c->schema, &rc_cat, dir, &c->rules, err)
                 : rules_load_builtin(c->schema, &rc_cat, &c->rules, err);
        if (!rc && !c->rules.n)
            rc = adt_fail(err, ADT_EINVAL, "no evidence rules (*.xml) in %s",
                          dir ? dir : "the built-in set");
    }
    if (!rc)
        rc = ledger_open(data_dir, LEDGER_RDONLY, &c->lg, err);
    if (!rc)
        rc = open_db(c, err);
    if (!rc)
        rc = eval_new(&c->rules, c->raci, INT64_MIN, INT64_MAX, &c->cont, err);
    if (rc) {
        controls_close(c);
        return rc;
    }
    *out = c;
    return ADT_OK;
}

void controls_close(controls *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->nmu);
    c->stop = true;
    bool joined = c->worker_on;
    pthread_cond_broadcast(&c->ncv);
    pthread_mutex_unlock(&c->nmu);
    if (joined)
        pthread_join(c->worker, NULL);
    if (c->cont && c->db && c->lg)
        save_all(c);
    drop_periods(c);
    eval_free(c->cont);
    if (c->db)
        sqlite3_close(c->db);
    if (c->lg)
        ledger_close(c->lg);
    rules_set_free(&c->rules);
    rules_schema_close(c->schema);
    raci_free(c->raci);
    for (size_t i = 0; i < c->nold; i++)
        raci_free(c->old_raci[i]);
    free(c->old_raci);
    if (c->cat)
        catalog_close(c->cat);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->nmu);
    pthread_cond_destroy(&c->ncv);
    free(c->data_dir);
    free(c);
}

/* ---- rule results -> control status -------------------------------------- */

/* Which ISO ids each rule supports through the crosswalk of its NIST
 * controls, looked up once per status document (not once per control). */
#define XW_MAX 64
typedef struct rule_iso {
    char ids[XW_MAX][CATALOG_ID_MAX];
    const char *via[XW_MAX]; /* the NIST id giving the pair */
    size_t n;
} rule_iso;

typedef struct ctl_acc {
    controls_result *res; /* controls are appended to res->controls */
    size_t cap;
    const char *framework;
    int fw;               /* CONTROLS_FW_* of `framework` */
    controls *c;
    rule_iso *iso;        /* per rule */
} ctl_acc;

typedef struct iso_collect {
    rule_iso *ri;
    const char *via;
} iso_collect;

static int iso_cb(void *ctx, const char *id)
{
    iso_collect *ic = ctx;
    if (ic->ri->n < XW_MAX) {
        snprintf(ic->ri->ids[ic->ri->n], CATALOG_ID_MAX, "%s", id);
        ic->ri->via[ic->ri->n++] = ic->via;
    }
    return 0;
}

static void crosswalk_rules(controls *c, rule_iso *iso)
{
    for (size_t k = 0; k < c->rules.n; k++) {
        const rule *r = &c->rules.rules[k];
        iso[k].n = 0;
        for (size_t i = 0; i < r->ncontrols; i++) {
            if (strcmp(r->controls[i].framework, CATALOG_NIST))
                continue;
            iso_collect ic = {&iso[k], r->controls[i].id};
            adt_err e = {0};
            catalog_crosswalk_iso(c->cat, r->controls[i].id, iso_cb, &ic, &e);
        }
    }
}

/* Does rule `r` support control (framework, id)? Sets *via to the NIST id
 * whose crosswalk gives an ISO id, or the reason an ISO id is stated. */
static bool rule_supports(const rule *r, const rule_iso *ri, const char *framework,
                          const char *id, const char **via)
{
    for (size_t i = 0; i < r->ncontrols; i++) {
        const rule_control *rc = &r->controls[i];
        if (!strcmp(rc->framework, framework) && !strcmp(rc->id, id)) {
            *via = rc->reason;
            return true;
        }
    }
    if (strcmp(framework, CATALOG_ISO))
        return false;
    for (size_t i = 0; i < ri->n; i++)
        if (!strcmp(ri->ids[i], id)) {
            *via = ri->via[i];
            return true;
        }
    return false;
}

static int control_cb(void *ctx, const catalog_control *ctl)
{
    ctl_acc *a = ctx;
    controls *c = a->c;
    controls_result *res = a->res;
    if (res->ncontrols == a->cap) {
        size_t nc = a->cap ? 2 * a->cap : 64;
        controls_control *v = realloc(res->controls, nc * sizeof *v);
        if (!v)
            return ADT_ENOMEM;
        res->controls = v;
        a->cap = nc;
    }
    controls_control *o = &res->controls[res->ncontrols++];
    memset(o, 0, sizeof *o);
    o->framework = a->framework;
    o->id = strdup(ctl->id);
    o->label = strdup(ctl->label);
    o->title = strdup(ctl->title);
    o->rules = calloc(c->rules.n ? c->rules.n : 1, sizeof *o->rules);
    if (!o->id || !o->label || !o->title || !o->rules)
        return ADT_ENOMEM;
    bool any_fail = false, any_pass = false;
    for (size_t i = 0; i < c->rules.n; i++) {
        const char *via = NULL;
        if (!rule_supports(&c->rules.rules[i], &a->iso[i], a->framework, ctl->id, &via))
            continue;
        controls_rule_ref *ref = &o->rules[o->nrules++];
        ref->rule = i;
        if (via && !(ref->via = strdup(via)))
            return ADT_ENOMEM;
        any_fail |= res->rules[i].status == EVAL_FAIL;
        any_pass |= res->rules[i].status == EVAL_PASS;
        o->findings_count += res->rules[i].findings_count;
    }
    o->status = any_fail ? CONTROLS_NOT_SATISFIED
                : any_pass ? CONTROLS_SATISFIED
                           : CONTROLS_NOT_EVALUATED;
    res->summary[a->fw][o->status]++;
    return ADT_OK;
}

static char *dup_or_null(const char *s, bool *ok)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *ok = false;
    return d;
}

/* The typed result from rule results (taken over by it, freed on failure
 * too). Caller holds c->mu (catalog). */
static int make_result(controls *c, const raci_policy *pol, eval_rule_result *rules,
                       size_t nrules, const char *framework, int64_t from_us, int64_t to_us,
                       int64_t as_of, uint64_t tree_size, controls_result **out, adt_err *err)
{
    controls_result *res = calloc(1, sizeof *res);
    rule_iso *iso = calloc(c->rules.n ? c->rules.n : 1, sizeof *iso);
    if (!res || !iso) {
        free(res);
        free(iso);
        eval_results_free(rules, nrules);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    res->rules = rules;
    res->nrules = nrules;
    res->as_of_us = as_of;
    res->from_us = from_us;
    res->to_us = to_us;
    res->tree_size = tree_size;
    bool ok = true;
    if (pol) {
        res->policy_name = dup_or_null(raci_name(pol), &ok);
        res->policy_version = dup_or_null(raci_version(pol), &ok);
        res->policy_sha256 = dup_or_null(raci_sha256(pol), &ok);
    }
    res->rules_fingerprint = dup_or_null(c->rules.fingerprint, &ok);
    int rc = ok ? ADT_OK : ADT_ENOMEM;
    crosswalk_rules(c, iso);
    static const char *const fws[CONTROLS_FW_N] = {CATALOG_NIST, CATALOG_ISO};
    for (int i = 0; i < CONTROLS_FW_N && !rc; i++) {
        if (framework && strcmp(framework, fws[i]))
            continue;
        res->has_framework[i] = true;
        ctl_acc a = {res, res->ncontrols, fws[i], i, c, iso};
        rc = catalog_list_in_scope(c->cat, fws[i], control_cb, &a, err);
    }
    if (rc == ADT_ENOMEM)
        adt_fail(err, rc, "out of memory");
    free(iso);
    if (rc) {
        controls_result_free(res);
        return rc;
    }
    *out = res;
    return ADT_OK;
}

void controls_result_free(controls_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ncontrols; i++) {
        controls_control *x = &r->controls[i];
        free(x->id);
        free(x->label);
        free(x->title);
        for (size_t k = 0; x->rules && k < x->nrules; k++)
            free(x->rules[k].via);
        free(x->rules);
    }
    free(r->controls);
    eval_results_free(r->rules, r->nrules);
    free(r->policy_name);
    free(r->policy_version);
    free(r->policy_sha256);
    free(r->rules_fingerprint);
    free(r);
}

const char *controls_status_name(controls_status s)
{
    return s == CONTROLS_SATISFIED       ? "satisfied"
           : s == CONTROLS_NOT_SATISFIED ? "not_satisfied"
                                         : "not_evaluated";
}

/* One control of the status document: its rules with their status, the
 * findings and evidence of those rules (capped), and its own status. */
static cJSON *control_json(const controls_result *r, const controls_control *x)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "framework", x->framework);
    cJSON_AddStringToObject(o, "id", x->id);
    cJSON_AddStringToObject(o, "label", x->label);
    cJSON_AddStringToObject(o, "title", x->title);
    cJSON *rl = cJSON_AddArrayToObject(o, "rules");
    cJSON *fl = cJSON_CreateArray();
    cJSON *el = cJSON_CreateArray();
    size_t nf = 0, ne = 0;
    for (size_t k = 0; k < x->nrules; k++) {
        const eval_rule_result *rr = &r->rules[x->rules[k].rule];
        const char *via = x->rules[k].via;
        cJSON *ref = cJSON_CreateObject();
        cJSON_AddStringToObject(ref, "id", rr->id);
        cJSON_AddStringToObject(ref, "status", eval_status_name(rr->status));
        if (via)
            cJSON_AddStringToObject(ref, strchr(via, ' ') ? "reason" : "via", via);
        cJSON_AddItemToArray(rl, ref);
        for (size_t f = 0; f < rr->nfindings; f++)
            if (nf++ < CONTROLS_MAX_FINDINGS)
                cJSON_AddItemToArray(fl, eval_finding_json(rr, &rr->findings[f]));
        for (size_t e = 0; e < rr->nevidence; e++)
            if (ne++ < CONTROLS_MAX_EVIDENCE)
                cJSON_AddItemToArray(el, cJSON_CreateNumber((double)rr->evidence[e]));
    }
    cJSON_AddStringToObject(o, "status", controls_status_name(x->status));
    cJSON_AddItemToObject(o, "findings", fl);
    cJSON_AddNumberToObject(o, "findings_count", (double)x->findings_count);
    cJSON_AddItemToObject(o, "evidence", el);
    return o;
}

int controls_result_json(const controls_result *r, cJSON **out, adt_err *err)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    char t[32];
    rfc3339_format_s(r->as_of_us, t, sizeof t);
    cJSON_AddStringToObject(doc, "as_of", t);
    if (r->from_us != INT64_MIN || r->to_us != INT64_MAX) {
        cJSON *p = cJSON_AddObjectToObject(doc, "period");
        if (r->from_us != INT64_MIN && !rfc3339_format_s(r->from_us, t, sizeof t))
            cJSON_AddStringToObject(p, "from", t);
        if (r->to_us != INT64_MAX && !rfc3339_format_s(r->to_us, t, sizeof t))
            cJSON_AddStringToObject(p, "to", t);
    }
    cJSON_AddNumberToObject(doc, "tree_size", (double)r->tree_size);
    if (r->policy_sha256) {
        cJSON *p = cJSON_AddObjectToObject(doc, "policy");
        cJSON_AddStringToObject(p, "name", r->policy_name);
        cJSON_AddStringToObject(p, "version", r->policy_version);
        cJSON_AddStringToObject(p, "sha256", r->policy_sha256);
    } else {
        cJSON_AddNullToObject(doc, "policy");
    }
    cJSON_AddStringToObject(doc, "rules_fingerprint", r->rules_fingerprint);
    cJSON *summary = cJSON_AddObjectToObject(doc, "summary");
    cJSON *ctls = cJSON_AddArrayToObject(doc, "controls");
    static const char *const fws[CONTROLS_FW_N] = {CATALOG_NIST, CATALOG_ISO};
    for (int i = 0; i < CONTROLS_FW_N; i++) {
        if (!r->has_framework[i])
            continue;
        cJSON *s = cJSON_AddObjectToObject(summary, fws[i]);
        cJSON_AddNumberToObject(s, "satisfied", (double)r->summary[i][CONTROLS_SATISFIED]);
        cJSON_AddNumberToObject(s, "not_satisfied", (double)r->summary[i][CONTROLS_NOT_SATISFIED]);
        cJSON_AddNumberToObject(s, "not_evaluated", (double)r->summary[i][CONTROLS_NOT_EVALUATED]);
    }
    for (size_t i = 0; i < r->ncontrols; i++)
        cJSON_AddItemToArray(ctls, control_json(r, &r->controls[i]));
    cJSON *rules = cJSON_AddArrayToObject(doc, "rules");
    for (size_t i = 0; i < r->nrules; i++)
        cJSON_AddItemToArray(rules, eval_rule_json(&r->rules[i]));
    *out = doc;
    return ADT_OK;
}

/* Record the continuous status per control (for history and quick reads). */
static void save_status(controls *c, const controls_result *r)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return;
    char as_of[32];
    rfc3339_format_s(r->as_of_us, as_of, sizeof as_of);
    if (sqlite3_prepare_v2(c->db,
                           "INSERT OR REPLACE INTO control_status(framework, id, status, "
                           "findings, tree_size, evaluated_at) VALUES(?,?,?,?,?,?)",
                           -1, &s, NULL) == SQLITE_OK) {
        for (size_t i = 0; i < r->ncontrols; i++) {
            const controls_control *x = &r->controls[i];
            sqlite3_reset(s);
            sqlite3_bind_text(s, 1, x->framework, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, x->id, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 3, controls_status_name(x->status), -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 4, (sqlite3_int64)x->findings_count);
            sqlite3_bind_int64(s, 5, (sqlite3_int64)r->tree_size);
            sqlite3_bind_text(s, 6, as_of, -1, SQLITE_STATIC);
            sqlite3_step(s);
        }
    }
    sqlite3_finalize(s);
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
}

/* The continuous status now, after folding in every committed entry. */
static int current_result(controls *c, const char *framework, controls_result **out,
                          adt_err *err)
{
    pthread_mutex_lock(&c->mu);
    maybe_reload_policy(c);
    int rc = catch_up(c, 0, NULL, err);
    eval_rule_result *rules = NULL;
    size_t n = 0;
    int64_t now = rfc3339_now_us();
    if (!rc)
        rc = eval_results(c->cont, now, &rules, &n, err);
    if (!rc)
        rc = make_result(c, c->raci, rules, n, framework, INT64_MIN, INT64_MAX, now,
                         eval_next_index(c->cont), out, err);
    if (!rc && !framework)
        save_status(c, *out);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static int check_period_args(int64_t from_us, int64_t to_us, const char *framework,
                             adt_err *err)
{
    if (from_us >= to_us)
        return adt_fail(err, ADT_EINVAL, "the period is empty (from must be before to)");
    if (framework && strcmp(framework, CATALOG_NIST) && strcmp(framework, CATALOG_ISO))
        return adt_fail(err, ADT_EINVAL, "unknown framework '%s': use %s or %s", framework,
                        CATALOG_NIST, CATALOG_ISO);
    return ADT_OK;
}

/* The ledger's size, or `at_size` when given (and not beyond it). */
static int target_size(controls *c, uint64_t at_size, uint64_t *out, adt_err *err)
{
    int rc = ledger_size(c->lg, out, err);
    if (!rc && at_size) {
        if (at_size > *out)
            return adt_fail(err, ADT_EINVAL, "the ledger has %llu entries, not %llu",
                            (unsigned long long)*out, (unsigned long long)at_size);
        *out = at_size;
    }
    return rc;
}

typedef struct feedctx {
    eval_engine *e;
    adt_err *err;
} feedctx;

static int feed_cb(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    feedctx *f = ctx;
    return eval_feed(f->e, index, leaf, len, f->err) ? 1 : 0;
}

/* A window evaluated from scratch over entries [0, size), on a private
 * engine: for a checkpoint older than what the kept engine has folded. */
static int rebuild(controls *c, const raci_policy *policy, int64_t from_us, int64_t to_us,
                   uint64_t size, eval_engine **out, adt_err *err)
{
    ledger *lg = NULL;
    int rc = ledger_open(c->data_dir, LEDGER_RDONLY, &lg, err);
    if (!rc)
        rc = eval_new(&c->rules, policy, from_us, to_us, out, err);
    if (!rc) {
        feedctx f = {*out, err};
        rc = ledger_scan(lg, 0, size, feed_cb, &f, err);
    }
    ledger_close(lg);
    return rc;
}

int controls_period_results(controls *c, const controls_window *w, size_t n, uint64_t at_size,
                            const char *framework, controls_result **out, adt_err *err)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        int rc = check_period_args(w[i].from_us, w[i].to_us, framework, err);
        if (rc)
            return rc;
    }
    if (n > PERIODS_KEPT)
        return adt_fail(err, ADT_EINVAL, "at most %d windows at once", PERIODS_KEPT);
    pthread_mutex_lock(&c->mu);
    maybe_reload_policy(c);
    uint64_t size = 0;
    int rc = target_size(c, at_size, &size, err);
    /* the kept engines of the windows, then one fold brings those behind
     * the checkpoint up to it */
    kept *k[PERIODS_KEPT] = {0};
    for (size_t i = 0; !rc && i < n; i++)
        rc = (k[i] = period_engine(c, w[i].from_us, w[i].to_us, err)) ? ADT_OK : ADT_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++)
        if (eval_next_index(k[i]->e) > size)
            k[i] = NULL; /* folded past the checkpoint: rebuilt below */
    if (!rc)
        rc = fold(c, false, size, 0, NULL, err);
    int64_t now = rfc3339_now_us();
    for (size_t i = 0; !rc && i < n; i++) {
        int64_t as_of = w[i].to_us < now ? w[i].to_us : now;
        eval_engine *e = k[i] ? k[i]->e : NULL, *own = NULL;
        if (!e)
            rc = rebuild(c, c->raci, w[i].from_us, w[i].to_us, size, &own, err);
        eval_rule_result *rules = NULL;
        size_t nr = 0;
        if (!rc)
            rc = eval_results(own ? own : e, as_of, &rules, &nr, err);
        eval_free(own);
        if (!rc)
            rc = make_result(c, c->raci, rules, nr, framework, w[i].from_us, w[i].to_us, as_of,
                             size, &out[i], err);
    }
    pthread_mutex_unlock(&c->mu);
    if (rc)
        for (size_t i = 0; i < n; i++) {
            controls_result_free(out[i]);
            out[i] = NULL;
        }
    return rc;
}

int controls_period_result(controls *c, int64_t from_us, int64_t to_us, uint64_t at_size,
                           const char *framework, controls_result **out, adt_err *err)
{
    controls_window w = {from_us, to_us};
    return controls_period_results(c, &w, 1, at_size, framework, out, err);
}

int controls_evaluate_period(controls *c, int64_t from_us, int64_t to_us, const char *framework,
                             cJSON **out, adt_err *err)
{
    controls_result *r = NULL;
    int rc = controls_period_result(c, from_us, to_us, 0, framework, &r, err);
    if (!rc)
        rc = controls_result_json(r, out, err);
    controls_result_free(r);
    return rc;
}

/* ---- periods -------------------------------------------------------------- */

/* The grammar is core's (period.h); kept for its callers until they use it. */
int controls_parse_period(const char *s, int64_t *from_us, int64_t *to_us, adt_err *err)
{
    period_spec p;
    int rc = period_parse(s, &p, err);
    if (!rc) {
        *from_us = p.from_us;
        *to_us = p.to_us;
    }
    return rc;
}

/* ---- HTTP API ------------------------------------------------------------- */

static int send_json(api_response *resp, int status, cJSON *doc)
{
    char *txt = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!txt)
        return api_error(resp, 500, "internal", "out of memory");
    buf_reset(&resp->body);
    int rc = buf_puts(&resp->body, txt);
    free(txt);
    if (rc)
        return api_error(resp, 500, "internal", "response too large");
    resp->status = status;
    resp->content_type = "application/json";
    return ADT_OK;
}

static int send_err(api_response *resp, const adt_err *err)
{
    int code = err->code ? err->code : ADT_EINTERNAL;
    api_error(resp, api_status_for(code), adt_status_name(code), "%s", err->msg);
    return ADT_OK;
}

/* The status document for a request: continuous, or ?period=. */
static int doc_for(controls *c, const api_request *req, const char *framework, cJSON **doc,
                   adt_err *err)
{
    const char *period = api_param_get(req, "period");
    if (period) {
        int64_t from, to;
        int rc = controls_parse_period(period, &from, &to, err);
        return rc ? rc : controls_evaluate_period(c, from, to, framework, doc, err);
    }
    controls_result *r = NULL;
    int rc = current_result(c, framework, &r, err);
    if (!rc)
        rc = controls_result_json(r, doc, err);
    controls_result_free(r);
    return rc;
}

static const char *framework_param(const char *f)
{
    if (!f)
        return NULL;
    if (!strcmp(f, "iso") || !strcmp(f, "iso27001"))
        return CATALOG_ISO;
    if (!strcmp(f, "nist") || !strcmp(f, "nist80053"))
        return CATALOG_NIST;
    return "";
}

/* GET /v1/raci */
static int api_raci(controls *c, api_response *resp)
{
    adt_err err = {0};
    cJSON *doc = NULL;
    pthread_mutex_lock(&c->mu);
    maybe_reload_policy(c);
    const raci_policy *pol = c->raci; /* stays alive until close */
    pthread_mutex_unlock(&c->mu);
    if (!pol)
        return api_error(resp, 404, "not_found", "no RACI policy is loaded in this data "
                         "directory (auditd policy load FILE)"), ADT_OK;
    if (raci_to_json(pol, &doc, &err))
        return send_err(resp, &err);
    return send_json(resp, 200, doc);
}

/* GET /v1/controls: the list stays light (findings and evidence are per control). */
static int api_list(cJSON *doc, api_response *resp)
{
    cJSON_DeleteItemFromObject(doc, "rules");
    cJSON *ctl;
    cJSON_ArrayForEach(ctl, cJSON_GetObjectItem(doc, "controls"))
    {
        cJSON_DeleteItemFromObject(ctl, "findings");
        cJSON_DeleteItemFromObject(ctl, "evidence");
    }
    return send_json(resp, 200, doc);
}

/* The in-scope controls that rule `rid` counts against, as "framework/id". */
static cJSON *controls_of_rule(const cJSON *doc, const char *rid)
{
    cJSON *cl = cJSON_CreateArray();
    cJSON *ctl;
    cJSON_ArrayForEach(ctl, cJSON_GetObjectItem(doc, "controls"))
    {
        cJSON *rr;
        cJSON_ArrayForEach(rr, cJSON_GetObjectItem(ctl, "rules"))
        {
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(rr, "id")), rid))
                continue;
            char lab[96];
            snprintf(lab, sizeof lab, "%s/%s",
                     cJSON_GetStringValue(cJSON_GetObjectItem(ctl, "framework")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(ctl, "id")));
            cJSON_AddItemToArray(cl, cJSON_CreateString(lab));
        }
    }
    return cl;
}

/* Copy the evaluation's point (as_of, tree_size) from the status document onto an answer. */
static void add_point(cJSON *answer, const cJSON *doc)
{
    cJSON_AddItemToObject(answer, "as_of", cJSON_Duplicate(cJSON_GetObjectItem(doc, "as_of"), 1));
    cJSON_AddItemToObject(answer, "tree_size",
                          cJSON_Duplicate(cJSON_GetObjectItem(doc, "tree_size"), 1));
}

/* The full result of rule `rid` in the status document (NULL if none). */
static const cJSON *rule_result(const cJSON *doc, const char *rid)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "rules"))
    {
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(x, "id")), rid))
            return x;
    }
    return NULL;
}

/* GET /v1/findings[?severity=] */
static int api_findings(cJSON *doc, const char *sev, api_response *resp)
{
    cJSON *out = cJSON_CreateObject();
    add_point(out, doc);
    cJSON *fl = cJSON_AddArrayToObject(out, "findings");
    cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(doc, "rules"))
    {
        const char *rid = cJSON_GetStringValue(cJSON_GetObjectItem(r, "id"));
        cJSON *f;
        cJSON_ArrayForEach(f, cJSON_GetObjectItem(r, "findings"))
        {
            if (sev && strcmp(sev, cJSON_GetStringValue(cJSON_GetObjectItem(f, "severity"))))
                continue;
            cJSON *d = cJSON_Duplicate(f, true);
            /* which in-scope controls the finding counts against */
            cJSON_AddItemToObject(d, "controls", controls_of_rule(doc, rid));
            cJSON_AddItemToArray(fl, d);
        }
    }
    cJSON_Delete(doc);
    return send_json(resp, 200, out);
}

/* GET /v1/controls/{framework}/{id}: one control with its rules' full results. */
static int api_control(controls *c, const api_request *req, const char *rest,
                       api_response *resp)
{
    const char *slash = strchr(rest, '/');
    char fwb[32], idb[CATALOG_ID_MAX], norm[CATALOG_ID_MAX];
    if (!slash || (size_t)(slash - rest) >= sizeof fwb || strlen(slash + 1) >= sizeof idb ||
        !slash[1])
        return api_error(resp, 404, "not_found", "use /v1/controls/{iso27001|nist80053}/{id}"),
               ADT_OK;
    memcpy(fwb, rest, (size_t)(slash - rest));
    fwb[slash - rest] = 0;
    snprintf(idb, sizeof idb, "%s", slash + 1);
    const char *fw = framework_param(fwb);
    if (!fw || !*fw)
        return api_error(resp, 404, "not_found", "unknown framework '%s': use iso27001 or "
                         "nist80053", fwb), ADT_OK;
    if (catalog_normalize_id(idb, norm, sizeof norm))
        return api_error(resp, 404, "not_found", "'%s' is not a control id", idb), ADT_OK;
    adt_err err = {0};
    cJSON *doc = NULL;
    if (doc_for(c, req, fw, &doc, &err))
        return send_err(resp, &err);
    cJSON *ctl, *found = NULL;
    cJSON_ArrayForEach(ctl, cJSON_GetObjectItem(doc, "controls"))
    {
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(ctl, "id")), norm)) {
            found = ctl;
            break;
        }
    }
    if (!found) {
        cJSON_Delete(doc);
        return api_error(resp, 404, "not_found", "control %s %s is not in the catalog or not in "
                         "scope", fw, idb), ADT_OK;
    }
    cJSON_DetachItemViaPointer(cJSON_GetObjectItem(doc, "controls"), found);
    add_point(found, doc);
    cJSON_AddItemToObject(found, "policy", cJSON_Duplicate(cJSON_GetObjectItem(doc, "policy"), 1));
    /* the full result of every rule behind it */
    cJSON *details = cJSON_AddArrayToObject(found, "rule_results");
    cJSON *rr;
    cJSON_ArrayForEach(rr, cJSON_GetObjectItem(found, "rules"))
    {
        const cJSON *x = rule_result(doc, cJSON_GetStringValue(cJSON_GetObjectItem(rr, "id")));
        if (x)
            cJSON_AddItemToArray(details, cJSON_Duplicate(x, true));
    }
    cJSON_Delete(doc);
    return send_json(resp, 200, found);
}

int controls_api(controls *c, const api_request *req, api_response *resp)
{
    const char *p = req->path;
    if (strcmp(p, "/v1/controls") && strncmp(p, "/v1/controls/", 13) &&
        strcmp(p, "/v1/findings") && strcmp(p, "/v1/raci"))
        return ADT_ENOTFOUND;
    if (strcmp(req->method, "GET"))
        return api_error(resp, 405, "method", "%s takes GET", p), ADT_OK;
    if (!api_role_may(req->role, API_NEED_READ))
        return api_error(resp, 403, "forbidden", "control status needs an auditor or admin "
                         "token"), ADT_OK;
    if (!strcmp(p, "/v1/raci"))
        return api_raci(c, resp);
    const char *fwq = framework_param(api_param_get(req, "framework"));
    if (fwq && !*fwq)
        return api_error(resp, 400, "invalid", "framework must be iso27001 or nist80053"),
               ADT_OK;
    if (strcmp(p, "/v1/controls") && strcmp(p, "/v1/findings"))
        return api_control(c, req, p + 13, resp);
    adt_err err = {0};
    cJSON *doc = NULL;
    if (doc_for(c, req, fwq, &doc, &err))
        return send_err(resp, &err);
    if (!strcmp(p, "/v1/controls"))
        return api_list(doc, resp);
    return api_findings(doc, api_param_get(req, "severity"), resp);
}
