/* model_reg.c: the model registry (`<data-dir>/models.db`), model metadata
 * parsing, and the approval/deployment gate. Every state change is written to
 * models.db and the ledger inside one models.db transaction: the ledger
 * append happens before COMMIT, so a failed append leaves the registry as it was. */
#include "model.h"

#include "afile.h"
#include "canon.h"
#include "drift.h"
#include "event.h"
#include "codec.h"
#include "evsink.h"
#include "ledger.h"
#include "rfc3339.h"
#include "sha256.h"
#include "sqldb.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int model_check_id(const char *what, const char *s, size_t max, adt_err *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return adt_fail(err, ADT_EINVAL, "%s must be 1 to %zu characters", what, max);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == ':' || c == '@'))
            return adt_fail(err, ADT_EINVAL,
                            "%s '%s' has character '%c' at %zu: use letters, digits and . _ - : @",
                            what, s, c >= 32 && c < 127 ? c : '?', i);
    }
    return ADT_OK;
}

/* ---- Metadata -------------------------------------------------------------------- */

struct model_meta {
    char dataset[129];
    char sha256[65];
    double threshold;
    model_metrics metrics;
    char *drift_json;
};

static const canon_limits meta_limits = {MODEL_META_MAX, 8, 100000};

static int meta_num(const cJSON *o, const char *k, double lo, double hi, double *out,
                    adt_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return adt_fail(err, ADT_EINVAL, "metadata: '%s' must be a number in [%g, %g]", k, lo, hi);
    *out = v->valuedouble;
    return ADT_OK;
}

int model_meta_parse(const char *json, size_t len, model_meta **out, adt_err *err)
{
    *out = NULL;
    /* Strict JSON first (UTF-8, duplicates, size, depth), then the fields. */
    buf canon;
    buf_init(&canon, MODEL_META_MAX);
    int rc = canon_json(json, len, &meta_limits, true, &canon, err);
    if (rc) {
        buf_free(&canon);
        adt_err_prefix(err, "metadata");
        return rc;
    }
    cJSON *j = cJSON_ParseWithLength(canon.data, canon.len);
    buf_free(&canon);
    if (!j)
        return adt_fail(err, ADT_ENOMEM, "metadata: out of memory");
    model_meta *m = calloc(1, sizeof *m);
    if (!m) {
        cJSON_Delete(j);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "format");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "auditd-model-meta/1") != 0) {
        rc = adt_fail(err, ADT_EINVAL, "metadata: 'format' must be \"auditd-model-meta/1\"");
        goto fail;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "featureset");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, MODEL_FEATURESET) != 0) {
        rc = adt_fail(err, ADT_EINVAL, "metadata: 'featureset' must be \"%s\"", MODEL_FEATURESET);
        goto fail;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "features");
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != MODEL_NRAW) {
        rc = adt_fail(err, ADT_EINVAL, "metadata: 'features' must list the %d raw features",
                      MODEL_NRAW);
        goto fail;
    }
    for (int i = 0; i < MODEL_NRAW; i++) {
        const cJSON *f = cJSON_GetArrayItem(v, i);
        if (!cJSON_IsString(f) || strcmp(f->valuestring, model_feature_names[i]) != 0) {
            rc = adt_fail(err, ADT_EINVAL, "metadata: features[%d] must be \"%s\"", i,
                          model_feature_names[i]);
            goto fail;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "dataset");
    if (!cJSON_IsString(v) ||
        model_check_id("metadata: 'dataset'", v->valuestring, sizeof m->dataset - 1, err)) {
        rc = adt_fail(err, ADT_EINVAL, "metadata: 'dataset' must be a dataset version id");
        goto fail;
    }
    snprintf(m->dataset, sizeof m->dataset, "%s", v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(j, "model_sha256");
    if (!cJSON_IsString(v) || !codec_is_hex(v->valuestring, 64)) {
        rc = adt_fail(err, ADT_EINVAL, "metadata: 'model_sha256' must be 64 lowercase hex digits");
        goto fail;
    }
    snprintf(m->sha256, sizeof m->sha256, "%s", v->valuestring);
    if ((rc = meta_num(j, "threshold", 0, 1, &m->threshold, err)))
        goto fail;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "metrics");
    if (!cJSON_IsObject(mt)) {
        rc = adt_fail(err, ADT_EINVAL, "metadata: 'metrics' must be an object");
        goto fail;
    }
    if ((rc = meta_num(mt, "precision", 0, 1, &m->metrics.precision, err)) ||
        (rc = meta_num(mt, "recall", 0, 1, &m->metrics.recall, err)) ||
        (rc = meta_num(mt, "pr_auc", 0, 1, &m->metrics.pr_auc, err)))
        goto fail;
    m->metrics.threshold = m->threshold;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "drift");
    if (!cJSON_IsObject(d)) {
        rc = adt_fail(err, ADT_EINVAL, "metadata: 'drift' must be an object");
        goto fail;
    }
    for (int i = 0; i < MODEL_NRAW; i++) {
        drift_ref ref;
        if ((rc = drift_ref_from_json(cJSON_GetObjectItemCaseSensitive(d, model_feature_names[i]),
                                      &ref, err))) {
            adt_err_prefix(err, "metadata: drift.%s", model_feature_names[i]);
            goto fail;
        }
    }
    m->drift_json = cJSON_PrintUnformatted(d);
    if (!m->drift_json) {
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
        goto fail;
    }
    cJSON_Delete(j);
    *out = m;
    return ADT_OK;
fail:
    cJSON_Delete(j);
    model_meta_free(m);
    return rc;
}

void model_meta_free(model_meta *m)
{
    if (!m)
        return;
    free(m->drift_json);
    free(m);
}

const char *model_meta_dataset(const model_meta *m)
{
    return m->dataset;
}
const char *model_meta_sha256(const model_meta *m)
{
    return m->sha256;
}
double model_meta_threshold(const model_meta *m)
{
    return m->threshold;
}
const model_metrics *model_meta_metrics(const model_meta *m)
{
    return &m->metrics;
}
const char *model_meta_drift_json(const model_meta *m)
{
    return m->drift_json;
}

/* ---- models.db ------------------------------------------------------------------- */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS models("
    " name TEXT NOT NULL, version TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " dataset TEXT NOT NULL, threshold REAL NOT NULL, precision REAL NOT NULL,"
    " recall REAL NOT NULL, pr_auc REAL NOT NULL, drift TEXT NOT NULL,"
    " status TEXT NOT NULL, registered_at INTEGER NOT NULL, registered_by TEXT NOT NULL,"
    " register_index INTEGER, deployed_at INTEGER, deployed_by TEXT, deploy_change TEXT,"
    " deploy_index INTEGER, PRIMARY KEY(name, version));"
    "CREATE TABLE IF NOT EXISTS approvals("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL,"
    " change_id TEXT NOT NULL, approver TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " approved_at INTEGER NOT NULL, ledger_index INTEGER NOT NULL,"
    " UNIQUE(name, version, change_id, approver));";

/* Open models.db (durable: registrations and approvals are acknowledged),
 * creating it with its schema when `create`. */
static int db_open(const char *data_dir, bool create, sqlite3 **out, adt_err *err)
{
    int rc = sqldb_open(data_dir, MODEL_DB_FILE, create ? SQLDB_CREATE : SQLDB_WRITE,
                        SQLDB_DURABLE, "no model is registered", out, err);
    if (!rc && create && (rc = sqldb_exec(*out, schema, "creating the schema", err))) {
        sqldb_close(*out);
        *out = NULL;
    }
    return rc;
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

#define INFO_COLS                                                                              \
    "m.name, m.version, m.file, m.sha256, m.dataset, m.status, m.precision, m.recall,"       \
    " m.pr_auc, m.threshold, m.registered_at, m.deployed_at, m.deployed_by,"                \
    " (SELECT approver FROM approvals a WHERE a.name=m.name AND a.version=m.version"         \
    "  ORDER BY a.id DESC LIMIT 1),"                                                         \
    " (SELECT change_id FROM approvals a WHERE a.name=m.name AND a.version=m.version"        \
    "  ORDER BY a.id DESC LIMIT 1), m.drift"

static void read_info(sqlite3_stmt *st, model_info *m)
{
    memset(m, 0, sizeof *m);
    copy_col(st, 0, m->name, sizeof m->name);
    copy_col(st, 1, m->version, sizeof m->version);
    copy_col(st, 2, m->file, sizeof m->file);
    copy_col(st, 3, m->sha256, sizeof m->sha256);
    copy_col(st, 4, m->dataset, sizeof m->dataset);
    copy_col(st, 5, m->status, sizeof m->status);
    m->precision = sqlite3_column_double(st, 6);
    m->recall = sqlite3_column_double(st, 7);
    m->pr_auc = sqlite3_column_double(st, 8);
    m->threshold = sqlite3_column_double(st, 9);
    m->registered_us = sqlite3_column_int64(st, 10);
    m->deployed_us = sqlite3_column_int64(st, 11);
    copy_col(st, 12, m->deployed_by, sizeof m->deployed_by);
    copy_col(st, 13, m->approver, sizeof m->approver);
    copy_col(st, 14, m->change_id, sizeof m->change_id);
}

/* Run a one-row query for model_info; ADT_ENOTFOUND when no row. */
static int query_info(sqlite3 *db, const char *sql, const char *a, const char *b, model_info *info,
                      char **drift, adt_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sqldb_fail(db, "query", err);
    if (a)
        sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    int s = sqlite3_step(st), rc = ADT_OK;
    if (s == SQLITE_ROW) {
        read_info(st, info);
        if (drift) {
            const unsigned char *t = sqlite3_column_text(st, 15);
            *drift = strdup(t ? (const char *)t : "");
            if (!*drift)
                rc = adt_fail(err, ADT_ENOMEM, "out of memory");
        }
    } else if (s == SQLITE_DONE) {
        rc = ADT_ENOTFOUND;
    } else {
        rc = sqldb_fail(db, "query", err);
    }
    sqlite3_finalize(st);
    return rc;
}

/* query_info, and ADT_ENOTFOUND says what was looked for (`none`, printf-style). */
static int find_info(sqlite3 *db, const char *sql, const char *a, const char *b, model_info *info,
                     char **drift, adt_err *err, const char *none, ...)
    __attribute__((format(printf, 8, 9)));
static int find_info(sqlite3 *db, const char *sql, const char *a, const char *b, model_info *info,
                     char **drift, adt_err *err, const char *none, ...)
{
    int rc = query_info(db, sql, a, b, info, drift, err);
    if (rc == ADT_ENOTFOUND) {
        va_list ap;
        va_start(ap, none);
        adt_vfail(err, rc, none, ap);
        va_end(ap);
    }
    return rc;
}

static int find_version(sqlite3 *db, const char *name, const char *version, model_info *info,
                        char **drift, adt_err *err)
{
    return find_info(db, "SELECT " INFO_COLS " FROM models m WHERE m.name=?1 AND m.version=?2",
                     name, version, info, drift, err,
                     "no model %s version %s is registered ('auditd model list')", name, version);
}

/* Run one UPDATE or INSERT of `sql` with text parameters ?1.. (NULL ends
 * them) and integer ?N+1 = `num` when `with_num`; `what` names it in errors. */
static int run_sql(sqlite3 *db, const char *what, const char *sql, const char *const *texts,
                   bool with_num, int64_t num, adt_err *err)
{
    sqlite3_stmt *st;
    int k;
    int rc = sqldb_prepare_texts(db, sql, texts, &st, &k, err);
    if (rc)
        return rc;
    if (with_num)
        sqlite3_bind_int64(st, k + 1, num);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    return s == SQLITE_DONE ? ADT_OK : sqldb_fail(db, what, err);
}

/* Begin the event `type` about model name@version (its artifact's SHA-256
 * `hex`), written by auditd for `actor` at `when`. */
static void model_event(evsink_event *e, const char *type, const char *actor, int64_t when,
                        const char *name, const char *version, const char *hex)
{
    evsink_begin(e, EVSINK_MODELS, type, EVENT_WRITER_AUDITD, actor);
    evsink_at(e, when);
    evsink_str(e, "model", name);
    evsink_str(e, "version", version);
    evsink_str(e, "artifact_sha256", hex);
}

/* Record `e` in the data directory's ledger, store its index with `sql`
 * (an UPDATE: ?1 name, ?2 version, ?3 the index) and commit the caller's
 * models.db transaction. The ledger append comes first: when it fails the
 * caller rolls back and the registry is as it was. `e` is freed. */
static int record_and_commit(sqlite3 *db, const char *data_dir, evsink_event *e, const char *sql,
                             const char *name, const char *version, unsigned long long *idx,
                             adt_err *err)
{
    evsink s = {.data_dir = data_dir};
    uint64_t first = EVSINK_NONE;
    int rc = evsink_record(&s, e, 1, &first, err);
    if (rc == ADT_ENOTFOUND)
        adt_err_prefix(err, "recording %s", e->type);
    evsink_free(e);
    if (!rc) {
        const char *texts[] = {name, version, NULL};
        rc = run_sql(db, "recording the ledger index", sql, texts, true, (int64_t)first, err);
    }
    if (!rc)
        rc = sqldb_commit(db, err);
    if (!rc && idx)
        *idx = first;
    return rc;
}

/* The model file's SHA-256 and its metadata (checked against the file and
 * the dataset it is registered for). */
static int read_artifact(const char *abs, const char *meta_path, const char *dataset,
                         char hex[SHA256_HEX_LEN], model_meta **meta, adt_err *err)
{
    int rc = sha256_file_hex(abs, MODEL_FILE_MAX, hex, err);
    if (rc)
        return rc;
    buf text;
    buf_init(&text, MODEL_META_MAX);
    rc = afile_read(meta_path, MODEL_META_MAX, &text, err);
    if (rc)
        adt_err_prefix(err, "the metadata written beside the model by 'auditd model train'");
    else if ((rc = model_meta_parse(text.data, text.len, meta, err)))
        adt_err_prefix(err, "%s", meta_path);
    buf_free(&text);
    if (rc)
        return rc;
    if (strcmp(model_meta_sha256(*meta), hex) != 0)
        return adt_fail(err, ADT_ECONFLICT,
                        "%s has SHA-256 %s but its metadata describes %s: the file was changed "
                        "after training",
                        abs, hex, model_meta_sha256(*meta));
    if (strcmp(model_meta_dataset(*meta), dataset) != 0)
        return adt_fail(err, ADT_ECONFLICT, "the model was trained on dataset %s, not %s",
                        model_meta_dataset(*meta), dataset);
    return ADT_OK;
}

static int insert_model(sqlite3 *db, const char *name, const char *version, const char *abs,
                        const char *hex, const char *dataset, const model_meta *meta,
                        const char *actor, int64_t when, adt_err *err)
{
    model_info existing;
    int rc = query_info(db, "SELECT " INFO_COLS " FROM models m WHERE m.name=?1 AND m.version=?2",
                        name, version, &existing, NULL, err);
    if (rc == ADT_OK)
        return adt_fail(err, ADT_EEXIST,
                        "%s version %s is registered already: choose a new version", name, version);
    if (rc != ADT_ENOTFOUND)
        return rc;
    const model_metrics *mm = model_meta_metrics(meta);
    sqlite3_stmt *st;
    const char *texts[] = {name, version, abs, hex, dataset, NULL};
    if ((rc = sqldb_prepare_texts(db,
                                  "INSERT INTO models(name,version,file,sha256,dataset,threshold,"
                                  "precision,recall,pr_auc,drift,status,registered_at,"
                                  "registered_by) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,"
                                  "'registered',?11,?12)",
                                  texts, &st, NULL, err)))
        return rc;
    sqlite3_bind_double(st, 6, model_meta_threshold(meta));
    sqlite3_bind_double(st, 7, mm->precision);
    sqlite3_bind_double(st, 8, mm->recall);
    sqlite3_bind_double(st, 9, mm->pr_auc);
    sqlite3_bind_text(st, 10, model_meta_drift_json(meta), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, when);
    sqlite3_bind_text(st, 12, actor, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    return s == SQLITE_DONE ? ADT_OK : sqldb_fail(db, "registering the model", err);
}

/* The time an event is recorded with: `at_us`, or now when it is 0. */
static int64_t event_time(int64_t at_us)
{
    return at_us ? at_us : rfc3339_now_us();
}

int model_register(const char *data_dir, const char *file, const char *name, const char *version,
                   const char *dataset, const char *actor, model_info *info, adt_err *err)
{
    return model_register_at(data_dir, file, name, version, dataset, actor, 0, info, err);
}

int model_register_at(const char *data_dir, const char *file, const char *name,
                      const char *version, const char *dataset, const char *actor, int64_t at_us,
                      model_info *info, adt_err *err)
{
    const int64_t when = event_time(at_us);
    int rc;
    if ((rc = model_check_id("model name", name, MODEL_NAME_MAX, err)) ||
        (rc = model_check_id("version", version, MODEL_VERSION_MAX, err)) ||
        (rc = model_check_id("dataset", dataset, 128, err)))
        return rc;
    if (!file || !*file || strlen(file) >= sizeof ((model_info *)0)->file)
        return adt_fail(err, ADT_EINVAL, "model file path missing or too long");
    char *abs = realpath(file, NULL);
    if (!abs)
        return adt_fail(err, ADT_ENOTFOUND, "model file %s not found", file);
    char meta_path[sizeof ((model_info *)0)->file + 16], hex[SHA256_HEX_LEN];
    model_meta *meta = NULL;
    sqlite3 *db = NULL;
    if (strlen(abs) >= sizeof ((model_info *)0)->file)
        rc = adt_fail(err, ADT_EINVAL, "model file path too long");
    else
        snprintf(meta_path, sizeof meta_path, "%s.meta.json", abs);
    if (!rc)
        rc = read_artifact(abs, meta_path, dataset, hex, &meta, err);
    if (!rc && !(rc = db_open(data_dir, true, &db, err)) && !(rc = sqldb_begin(db, err)))
        rc = insert_model(db, name, version, abs, hex, dataset, meta, actor, when, err);
    if (!rc) {
        const model_metrics *mm = model_meta_metrics(meta);
        evsink_event e;
        model_event(&e, "model.register", actor, when, name, version, hex);
        evsink_str(&e, "dataset", dataset);
        evsink_object(&e, "metrics");
        evsink_num(&e, "precision", mm->precision);
        evsink_num(&e, "recall", mm->recall);
        evsink_num(&e, "pr_auc", mm->pr_auc);
        evsink_end(&e);
        evsink_num(&e, "threshold", model_meta_threshold(meta));
        rc = record_and_commit(db, data_dir, &e,
                               "UPDATE models SET register_index=?3 WHERE name=?1 AND version=?2",
                               name, version, NULL, err);
    }
    if (rc)
        sqldb_rollback(db);
    else if (info)
        rc = find_version(db, name, version, info, NULL, err);
    sqldb_close(db);
    model_meta_free(meta);
    free(abs);
    return rc;
}

static int check_principal(const char *what, const char *p, adt_err *err)
{
    size_t n = p ? strlen(p) : 0;
    if (n == 0 || n > 128 || !canon_utf8_valid(p, n))
        return adt_fail(err, ADT_EINVAL, "%s must be 1 to 128 bytes of UTF-8", what);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x21 || p[i] == 0x7f)
            return adt_fail(err, ADT_EINVAL, "%s must not contain spaces or control characters",
                            what);
    return ADT_OK;
}

/* The model version and the change a decision on it (approval, deployment) is taken under. */
static int check_change(const char *name, const char *version, const char *change_id,
                        adt_err *err)
{
    int rc;
    if ((rc = model_check_id("model name", name, MODEL_NAME_MAX, err)) ||
        (rc = model_check_id("version", version, MODEL_VERSION_MAX, err)))
        return rc;
    return model_check_id("change id", change_id, 128, err);
}

/* The approval row, not yet indexed (ledger_index -1 until recorded). */
static int insert_approval(sqlite3 *db, const char *name, const char *version,
                           const char *change_id, const char *approver, const char *sha256,
                           int64_t when, int64_t *rowid, adt_err *err)
{
    sqlite3_stmt *st;
    const char *texts[] = {name, version, change_id, approver, sha256, NULL};
    int rc = sqldb_prepare_texts(db,
                                 "INSERT INTO approvals(name,version,change_id,approver,sha256,"
                                 "approved_at,ledger_index) VALUES(?1,?2,?3,?4,?5,?6,-1)",
                                 texts, &st, NULL, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 6, when);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    *rowid = sqlite3_last_insert_rowid(db);
    if (s == SQLITE_CONSTRAINT)
        return adt_fail(err, ADT_EEXIST, "%s approved change %s for %s@%s already", approver,
                        change_id, name, version);
    return s == SQLITE_DONE ? ADT_OK : sqldb_fail(db, "recording the approval", err);
}

static int approve(const char *data_dir, const char *name, const char *version,
                   const char *approver, const char *credential, const char *change_id,
                   int64_t at_us, unsigned long long *index, adt_err *err);

int model_approve(const char *data_dir, const char *name, const char *version,
                  const char *approver, const char *change_id, unsigned long long *index,
                  adt_err *err)
{
    return approve(data_dir, name, version, approver, NULL, change_id, 0, index, err);
}

int model_approve_at(const char *data_dir, const char *name, const char *version,
                     const char *approver, const char *change_id, int64_t at_us,
                     unsigned long long *index, adt_err *err)
{
    return approve(data_dir, name, version, approver, NULL, change_id, at_us, index, err);
}

int model_approve_as(const char *data_dir, const char *name, const char *version,
                     const char *approver, const char *credential, const char *change_id,
                     unsigned long long *index, adt_err *err)
{
    return approve(data_dir, name, version, approver, credential, change_id, 0, index, err);
}

/* An approval by `approver` (signed in to the console with `credential`, or
 * NULL at the command line), recorded as given at `at_us` (0 = now). */
static int approve(const char *data_dir, const char *name, const char *version,
                   const char *approver, const char *credential, const char *change_id,
                   int64_t at_us, unsigned long long *index, adt_err *err)
{
    const int64_t when = event_time(at_us);
    int rc;
    if ((rc = check_change(name, version, change_id, err)) ||
        (rc = check_principal("approver", approver, err)))
        return rc;
    sqlite3 *db = NULL;
    model_info m;
    int64_t rowid = 0;
    if (!(rc = db_open(data_dir, true, &db, err)) && !(rc = sqldb_begin(db, err)) &&
        !(rc = find_version(db, name, version, &m, NULL, err)))
        rc = insert_approval(db, name, version, change_id, approver, m.sha256, when, &rowid,
                             err);
    if (!rc) {
        const char *texts[] = {name, version, NULL};
        rc = run_sql(db, "approving", "UPDATE models SET status='approved' WHERE name=?1 AND "
                                      "version=?2 AND status='registered'",
                     texts, false, 0, err);
    }
    if (!rc) {
        /* A decision a person takes: at the command line the administrator's,
         * in the web console the signed-in person's (naming the credential). */
        char activity[MODEL_NAME_MAX + 8], target[MODEL_NAME_MAX + MODEL_VERSION_MAX + 8];
        snprintf(activity, sizeof activity, "model:%s", name);
        snprintf(target, sizeof target, "model:%s@%s", name, version);
        evsink_event e;
        evsink_begin(&e, EVSINK_MODELS, "change.approve",
                     credential ? EVENT_WRITER_PERSON : EVENT_WRITER_ADMIN, approver);
        evsink_at(&e, when);
        evsink_str(&e, "change_id", change_id);
        evsink_str(&e, "activity", activity);
        evsink_str(&e, "target", target);
        evsink_str(&e, "artifact_sha256", m.sha256);
        if (credential)
            evsink_str(&e, "credential", credential);
        char sql[200];
        snprintf(sql, sizeof sql, "UPDATE approvals SET ledger_index=?3 WHERE name=?1 AND "
                                  "version=?2 AND id=%lld",
                 (long long)rowid);
        rc = record_and_commit(db, data_dir, &e, sql, name, version, index, err);
    }
    if (rc)
        sqldb_rollback(db);
    sqldb_close(db);
    return rc;
}

/* The approval that allows this deployment: same change, same model
 * version, given by the Accountable party. */
static int find_approval(sqlite3 *db, const char *name, const char *version,
                         const char *change_id, const char *accountable, char sha[65],
                         int64_t *index, adt_err *err)
{
    sqlite3_stmt *st;
    const char *texts[] = {name, version, change_id, accountable, NULL};
    int rc = sqldb_prepare_texts(db,
                                 "SELECT sha256, ledger_index FROM approvals WHERE name=?1 AND "
                                 "version=?2 AND change_id=?3 AND approver=?4 ORDER BY id DESC "
                                 "LIMIT 1",
                                 texts, &st, NULL, err);
    if (rc)
        return rc;
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        copy_col(st, 0, sha, 65);
        *index = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (s == SQLITE_DONE)
        return adt_fail(err, ADT_EFORBIDDEN,
                        "deployment refused: change %s has no approval of %s@%s by %s, the "
                        "Accountable for activity model:%s ('auditd model approve %s --version %s "
                        "--approver %s --change-id %s')",
                        change_id, name, version, accountable, name, name, version, accountable,
                        change_id);
    return s == SQLITE_ROW ? ADT_OK : sqldb_fail(db, "reading approvals", err);
}

/* The artefact must still be the bytes registered and approved. */
static int check_artifact(const model_info *m, const char *approved_sha, const char *accountable,
                          char hex[SHA256_HEX_LEN], adt_err *err)
{
    int rc = sha256_file_hex(m->file, MODEL_FILE_MAX, hex, err);
    if (rc) {
        adt_err_prefix(err, "deployment refused: reading the artefact");
        return rc;
    }
    if (strcmp(hex, approved_sha) != 0 || strcmp(hex, m->sha256) != 0)
        return adt_fail(err, ADT_ECONFLICT,
                        "deployment refused: %s now has SHA-256 %s but %s approved %s "
                        "(registered %s); the artefact changed after approval",
                        m->file, hex, accountable, approved_sha, m->sha256);
    return ADT_OK;
}

/* The name's previous deployment retires; this version is deployed. */
static int mark_deployed(sqlite3 *db, const char *name, const char *version, const char *actor,
                         const char *change_id, int64_t when, adt_err *err)
{
    const char *retire[] = {name, NULL};
    int rc = run_sql(db, "retiring the deployed version",
                     "UPDATE models SET status='retired' WHERE name=?1 AND status='deployed'",
                     retire, false, 0, err);
    const char *deploy[] = {name, version, actor, change_id, NULL};
    return rc ? rc
              : run_sql(db, "deploying",
                        "UPDATE models SET status='deployed', deployed_by=?3, deploy_change=?4, "
                        "deployed_at=?5 WHERE name=?1 AND version=?2",
                        deploy, true, when, err);
}

/* The build record of the artefact: the ledger entry of its model.register,
 * which names the dataset, the metrics and the SHA-256 of the trained file. */
static void build_id(sqlite3 *db, const char *name, const char *version, char out[48])
{
    snprintf(out, 48, "model.register");
    sqlite3_stmt *st;
    const char *texts[] = {name, version, NULL};
    if (sqldb_prepare_texts(db, "SELECT register_index FROM models WHERE name=?1 AND version=?2",
                            texts, &st, NULL, NULL))
        return;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
        snprintf(out, 48, "model.register@%lld", (long long)sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
}

int model_deploy(const char *data_dir, const char *name, const char *version, const char *actor,
                 const char *change_id, const char *accountable, unsigned long long *index,
                 adt_err *err)
{
    return model_deploy_at(data_dir, name, version, actor, change_id, accountable, 0, index, err);
}

int model_deploy_at(const char *data_dir, const char *name, const char *version,
                    const char *actor, const char *change_id, const char *accountable,
                    int64_t at_us, unsigned long long *index, adt_err *err)
{
    const int64_t when = event_time(at_us);
    int rc;
    if ((rc = check_change(name, version, change_id, err)) ||
        (rc = check_principal("actor", actor, err)) ||
        (rc = check_principal("accountable principal", accountable, err)))
        return rc;
    sqlite3 *db = NULL;
    model_info m;
    char approved_sha[65] = "", hex[SHA256_HEX_LEN];
    int64_t approval_index = -1;
    if (!(rc = db_open(data_dir, true, &db, err)) && !(rc = sqldb_begin(db, err)))
        rc = find_version(db, name, version, &m, NULL, err);
    if (!rc && !strcmp(m.status, "deployed"))
        rc = adt_fail(err, ADT_ECONFLICT, "%s@%s is deployed already", name, version);
    if (!rc)
        rc = find_approval(db, name, version, change_id, accountable, approved_sha,
                           &approval_index, err);
    if (!rc)
        rc = check_artifact(&m, approved_sha, accountable, hex, err);
    if (!rc)
        rc = mark_deployed(db, name, version, actor, change_id, when, err);
    if (!rc) {
        char activity[MODEL_NAME_MAX + 8], build[48];
        snprintf(activity, sizeof activity, "model:%s", name);
        build_id(db, name, version, build);
        evsink_event e;
        model_event(&e, "model.deploy", actor, when, name, version, hex);
        evsink_str(&e, "change_id", change_id);
        evsink_str(&e, "activity", activity);
        evsink_str(&e, "approved_by", accountable);
        evsink_object(&e, "provenance");
        evsink_str(&e, "source", m.file);
        evsink_str(&e, "dataset", m.dataset);
        evsink_str(&e, "build_id", build);
        evsink_int(&e, "approval_index", approval_index);
        evsink_end(&e);
        rc = record_and_commit(db, data_dir, &e,
                               "UPDATE models SET deploy_index=?3 WHERE name=?1 AND version=?2",
                               name, version, index, err);
    }
    if (rc)
        sqldb_rollback(db);
    sqldb_close(db);
    return rc;
}

int model_list(const char *data_dir, model_list_fn fn, void *ctx, adt_err *err)
{
    sqlite3 *db = NULL;
    int rc = db_open(data_dir, false, &db, err);
    if (rc == ADT_ENOTFOUND)
        return ADT_OK; /* nothing registered yet: an empty list */
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT " INFO_COLS " FROM models m ORDER BY m.name, m.registered_at",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = sqldb_fail(db, "list", err);
        sqldb_close(db);
        return rc;
    }
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        model_info m;
        read_info(st, &m);
        if ((rc = fn(ctx, &m)) != 0)
            break;
    }
    if (!rc && s != SQLITE_DONE)
        rc = sqldb_fail(db, "list", err);
    sqlite3_finalize(st);
    sqldb_close(db);
    return rc;
}

int model_get(const char *data_dir, const char *name, const char *version, model_info *info,
              char **drift_json, adt_err *err)
{
    if (drift_json)
        *drift_json = NULL;
    int rc = model_check_id("model name", name, MODEL_NAME_MAX, err);
    if (rc || (version && (rc = model_check_id("version", version, MODEL_VERSION_MAX, err))))
        return rc;
    sqlite3 *db = NULL;
    if ((rc = db_open(data_dir, false, &db, err)))
        return rc;
    if (version)
        rc = find_version(db, name, version, info, drift_json, err);
    else /* the deployed version, else the latest registered */
        rc = find_info(db,
                       "SELECT " INFO_COLS " FROM models m WHERE m.name=?1 ORDER BY"
                       " (m.status='deployed') DESC, m.registered_at DESC LIMIT 1",
                       name, NULL, info, drift_json, err,
                       "no model named %s is registered ('auditd model list')", name);
    sqldb_close(db);
    return rc;
}

int model_scorer_open(const char *data_dir, model_scorer **out, adt_err *err)
{
    *out = NULL;
    model_info info;
    int rc = model_deployed(data_dir, &info, err);
    return rc ? rc : model_scorer_load(&info, out, err);
}

int model_deployed(const char *data_dir, model_info *info, adt_err *err)
{
    /* Ingestion asks on every start: do not create models.db just to say no. */
    sqlite3 *db = NULL;
    int rc = db_open(data_dir, false, &db, err);
    if (rc == ADT_ENOTFOUND)
        return adt_fail(err, ADT_ENOTFOUND, "no model is deployed in %s", data_dir);
    if (rc)
        return rc;
    rc = find_info(db,
                   "SELECT " INFO_COLS " FROM models m WHERE m.status='deployed'"
                   " ORDER BY m.deployed_at DESC LIMIT 1",
                   NULL, NULL, info, NULL, err, "no model is deployed in %s", data_dir);
    sqldb_close(db);
    return rc;
}

static int add_str(cJSON *o, const char *k, const char *v)
{
    return cJSON_AddStringToObject(o, k, v) ? 0 : ADT_ENOMEM;
}

cJSON *model_info_json(const model_info *m)
{
    char reg[32] = "", dep[32] = "";
    rfc3339_format_s(m->registered_us, reg, sizeof reg);
    if (m->deployed_us)
        rfc3339_format_s(m->deployed_us, dep, sizeof dep);
    cJSON *o = cJSON_CreateObject();
    cJSON *mt = cJSON_CreateObject();
    if (!o || !mt || !cJSON_AddItemToObject(o, "metrics", mt) || add_str(o, "name", m->name) ||
        add_str(o, "version", m->version) || add_str(o, "status", m->status) ||
        add_str(o, "sha256", m->sha256) || add_str(o, "file", m->file) ||
        add_str(o, "dataset", m->dataset) || add_str(o, "approved_by", m->approver) ||
        add_str(o, "change_id", m->change_id) || add_str(o, "deployed_by", m->deployed_by) ||
        add_str(o, "registered_at", reg) || add_str(o, "deployed_at", dep) ||
        !cJSON_AddNumberToObject(o, "threshold", m->threshold) ||
        !cJSON_AddNumberToObject(mt, "precision", m->precision) ||
        !cJSON_AddNumberToObject(mt, "recall", m->recall) ||
        !cJSON_AddNumberToObject(mt, "pr_auc", m->pr_auc)) {
        if (!o || (mt && !cJSON_GetObjectItemCaseSensitive(o, "metrics")))
            cJSON_Delete(mt);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int list_json_row(void *ctx, const model_info *m)
{
    cJSON *o = model_info_json(m);
    if (!o)
        return ADT_ENOMEM;
    cJSON_AddItemToArray(ctx, o);
    return 0;
}

int model_list_json(const char *data_dir, cJSON **out, adt_err *err)
{
    *out = cJSON_CreateArray();
    if (!*out)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    int rc = model_list(data_dir, list_json_row, *out, err);
    if (rc == ADT_ENOMEM)
        adt_fail(err, rc, "out of memory listing models");
    if (rc) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}
