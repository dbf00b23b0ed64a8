/* lineage.c: dataset versions and lineage traces (lineage.h). */
#include "lineage.h"

#include "canon.h"
#include "codec.h"
#include "leaf.h"
#include "numparse.h"
#include "oplabel.h"
#include "rfc3339.h"
#include "sha256.h"
#include "sqldb.h"
#include "tdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The dataset's devices, sorted and de-duplicated: as a JSON array (for
 * SQL's json_each and the ledger event) and as the id's comma list. */
typedef struct devset {
    const char **names;
    size_t n;
    buf json, list;
} devset;

static void devset_free(devset *d)
{
    free(d->names);
    buf_free(&d->json);
    buf_free(&d->list);
}

static int devset_build(const char *const *devices, size_t ndevices, devset *d, adt_err *err)
{
    memset(d, 0, sizeof *d);
    buf_init(&d->json, 1u << 20);
    buf_init(&d->list, 1u << 20);
    d->names = malloc((ndevices ? ndevices : 1) * sizeof *d->names);
    if (!d->names)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    if (ndevices)
        memcpy(d->names, devices, ndevices * sizeof *d->names);
    qsort(d->names, ndevices, sizeof *d->names, cmp_str);
    int rc = buf_putc(&d->json, '[');
    for (size_t i = 0; !rc && i < ndevices; i++) {
        const char *name = d->names[i];
        if (d->n && !strcmp(name, d->names[d->n - 1]))
            continue;
        if (!canon_utf8_valid(name, strlen(name)))
            return adt_fail(err, ADT_EINVAL, "device names must be UTF-8");
        const char *sep = d->n ? "," : "";
        rc = buf_puts(&d->json, sep);
        if (!rc)
            rc = canon_put_string(&d->json, name, strlen(name));
        if (!rc)
            rc = buf_puts(&d->list, sep);
        if (!rc)
            rc = buf_puts(&d->list, name);
        d->names[d->n++] = name;
    }
    if (!rc)
        rc = buf_putc(&d->json, ']');
    return rc ? adt_fail(err, ADT_ETOOBIG, "device list too long") : ADT_OK;
}

/* The stored batches of the dataset, in id order, hashed into its id
 * (lineage.h). OUT: bids[*nb] (malloc'd). */
static int find_batches(sqlite3 *db, int64_t from_us, int64_t to_us, const devset *d,
                        char id[65], int64_t **bids, size_t *nb, adt_err *err)
{
    sha256_ctx hs;
    sha256_init(&hs);
    char head[256];
    snprintf(head, sizeof head, "auditd-dataset-v1\nfrom=%lld\nto=%lld\ndevices=",
             (long long)from_us, (long long)to_us);
    sha256_update(&hs, head, strlen(head));
    sha256_update(&hs, d->list.data ? d->list.data : "", d->list.len);
    sha256_update(&hs, "\n", 1);
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db,
                           "SELECT b.id, b.digest FROM batches b WHERE b.accepted > 0 AND "
                           "b.from_us < ?2 AND b.to_us >= ?1 AND (?3 = '[]' OR EXISTS (SELECT 1 "
                           "FROM readings r JOIN devices d ON d.id = r.device WHERE r.id BETWEEN "
                           "b.first_row AND b.last_row AND d.name IN (SELECT value FROM "
                           "json_each(?3)))) ORDER BY b.id",
                           &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, from_us);
    sqlite3_bind_int64(st, 2, to_us);
    sqlite3_bind_text(st, 3, d->json.data, (int)d->json.len, SQLITE_STATIC);
    size_t cap = 0;
    *bids = NULL;
    *nb = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (*nb == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *nbids = realloc(*bids, cap * sizeof *nbids);
            if (!nbids) {
                rc = adt_fail(err, ADT_ENOMEM, "out of memory");
                break;
            }
            *bids = nbids;
        }
        (*bids)[(*nb)++] = sqlite3_column_int64(st, 0);
        sha256_update(&hs, sqlite3_column_text(st, 1), 64);
        sha256_update(&hs, "\n", 1);
    }
    sqlite3_finalize(st);
    if (!rc && *nb == 0)
        rc = adt_fail(err, ADT_EINVAL,
                      "no stored telemetry batch in that window%s: ingest first or widen it",
                      d->n ? " for those devices" : "");
    if (!rc)
        sha256_final_hex(&hs, id);
    return rc;
}

/* A dataset defined before: *found, with its readings and ledger index. */
static int find_dataset(sqlite3 *db, lineage_dataset *out, bool *found, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db, "SELECT readings, ledger_index FROM datasets WHERE id=?", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
    *found = sqlite3_step(st) == SQLITE_ROW;
    if (*found) {
        out->existed = true;
        out->readings = (uint64_t)sqlite3_column_int64(st, 0);
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            out->ledger_index = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return ADT_OK;
}

/* ?1 the dataset id, ?2 and ?3 its window, ?4 its devices (JSON array). */
static void bind_dataset(sqlite3_stmt *st, const lineage_dataset *out, const devset *d)
{
    sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, out->from_us);
    sqlite3_bind_int64(st, 3, out->to_us);
    sqlite3_bind_text(st, 4, d->json.data, (int)d->json.len, SQLITE_STATIC);
}

/* Store the dataset's batches and count its readings (inside the window
 * and of its devices). */
static int store_batches(sqlite3 *db, lineage_dataset *out, const devset *d, const int64_t *bids,
                         size_t nb, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db, "INSERT INTO dataset_batches(dataset, batch) VALUES(?,?)", &st, err);
    for (size_t i = 0; !rc && i < nb; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, bids[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sqldb_fail(db, "recording the dataset", err);
    }
    sqlite3_finalize(st);
    if (!rc)
        rc = sqldb_prepare(db,
                           "SELECT COUNT(*) FROM dataset_batches db JOIN batches b ON b.id = db.batch "
                           "JOIN readings r ON r.id BETWEEN b.first_row AND b.last_row "
                           "JOIN devices d ON d.id = r.device WHERE db.dataset = ?1 AND "
                           "r.time_us >= ?2 AND r.time_us < ?3 AND (?4 = '[]' OR d.name IN "
                           "(SELECT value FROM json_each(?4)))",
                           &st, err);
    if (rc)
        return rc;
    bind_dataset(st, out, d);
    if (sqlite3_step(st) == SQLITE_ROW)
        out->readings = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return ADT_OK;
}

static int record_dataset(const evsink *s, const char *actor, lineage_dataset *out,
                          const devset *d, const int64_t *bids, size_t nb, adt_err *err)
{
    evsink_event e;
    evsink_begin(&e, EVSINK_PIPELINE, "dataset.define", EVENT_WRITER_AUDITD, actor);
    evsink_str(&e, "dataset", out->id);
    evsink_uint(&e, "batches", nb);
    evsink_int(&e, "first_batch", bids[0]);
    evsink_int(&e, "last_batch", bids[nb - 1]);
    evsink_uint(&e, "readings", out->readings);
    evsink_time(&e, "from", out->from_us);
    evsink_time(&e, "to", out->to_us);
    evsink_array(&e, "devices");
    for (size_t i = 0; i < d->n; i++)
        evsink_str(&e, NULL, d->names[i]);
    evsink_end(&e);
    int rc = evsink_record(s, &e, 1, &out->ledger_index, err);
    evsink_free(&e);
    return rc;
}

static int insert_dataset(sqlite3 *db, const lineage_dataset *out, const devset *d, size_t nb,
                          adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db, "INSERT INTO datasets(id, from_us, to_us, devices, batches, "
                               "readings, created_us, ledger_index) VALUES(?,?,?,?,?,?,?,?)",
                           &st, err);
    if (rc)
        return rc;
    bind_dataset(st, out, d);
    sqlite3_bind_int64(st, 5, (int64_t)nb);
    sqlite3_bind_int64(st, 6, (int64_t)out->readings);
    sqlite3_bind_int64(st, 7, rfc3339_now_us());
    if (out->ledger_index != EVSINK_NONE)
        sqlite3_bind_int64(st, 8, (int64_t)out->ledger_index);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sqldb_fail(db, "recording the dataset", err);
    sqlite3_finalize(st);
    return rc;
}

int lineage_dataset_define(sqlite3 *db, const evsink *s, const char *actor, int64_t from_us,
                           int64_t to_us, const char *const *devices, size_t ndevices,
                           lineage_dataset *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    out->ledger_index = EVSINK_NONE;
    out->from_us = from_us;
    out->to_us = to_us;
    if (to_us <= from_us)
        return adt_fail(err, ADT_EINVAL, "--to must be after --from");
    char t[40];
    if (rfc3339_format(from_us, t, sizeof t) || rfc3339_format(to_us, t, sizeof t))
        return adt_fail(err, ADT_EINVAL, "the window must lie within the years 0000 to 9999");
    if (ndevices > 4096)
        return adt_fail(err, ADT_ETOOBIG, "at most 4096 devices per dataset");
    devset d;
    int64_t *bids = NULL;
    size_t nb = 0;
    bool found = false;
    int rc = devset_build(devices, ndevices, &d, err);
    if (!rc)
        rc = sqldb_begin(db, err);
    if (!rc)
        rc = find_batches(db, from_us, to_us, &d, out->id, &bids, &nb, err);
    out->batches = nb;
    if (!rc)
        rc = find_dataset(db, out, &found, err);
    /* A dataset defined before is recorded once: nothing new. */
    if (!rc && !found) {
        rc = store_batches(db, out, &d, bids, nb, err);
        if (!rc)
            rc = record_dataset(s, actor, out, &d, bids, nb, err);
        if (!rc)
            rc = insert_dataset(db, out, &d, nb, err);
    }
    if (!rc)
        rc = sqldb_exec(db, "COMMIT", "committing the dataset", err);
    if (rc)
        sqldb_rollback(db);
    free(bids);
    devset_free(&d);
    return rc;
}

int lineage_datasets_json(sqlite3 *db, buf *out, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db, "SELECT id, from_us, to_us, devices, batches, readings, "
                             "ledger_index FROM datasets ORDER BY created_us", &st, err);
    if (rc)
        return rc;
    rc = buf_putc(out, '[');
    int n = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        char tf[40], tt[40];
        rfc3339_format(sqlite3_column_int64(st, 1), tf, sizeof tf);
        rfc3339_format(sqlite3_column_int64(st, 2), tt, sizeof tt);
        char index[24] = "null";
        if (sqlite3_column_type(st, 6) != SQLITE_NULL)
            snprintf(index, sizeof index, "%lld", (long long)sqlite3_column_int64(st, 6));
        rc = buf_printf(out,
                        "%s{\"dataset\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"devices\":%s,"
                        "\"batches\":%lld,\"readings\":%lld,\"ledger_index\":%s}",
                        n++ ? "," : "", sqlite3_column_text(st, 0), tf, tt,
                        sqlite3_column_text(st, 3), (long long)sqlite3_column_int64(st, 4),
                        (long long)sqlite3_column_int64(st, 5), index);
    }
    sqlite3_finalize(st);
    if (rc || buf_putc(out, ']'))
        return adt_fail(err, ADT_ETOOBIG, "dataset list too large");
    return ADT_OK;
}

/* ---- lineage ------------------------------------------------------------ */

typedef struct trace {
    ledger *lg;
    uint64_t size;
    merkle_hash root;
    buf *out;
    int nsteps;
} trace;

/* Append one step: `fields` is JSON members text (without braces). */
static int step(trace *t, const char *kind, uint64_t index, const char *fields, adt_err *err)
{
    buf *o = t->out;
    if (buf_printf(o, "%s{\"step\":\"%s\"%s%s", t->nsteps++ ? "," : "", kind,
                   fields && *fields ? "," : "", fields ? fields : ""))
        return ADT_ETOOBIG;
    if (index == EVSINK_NONE || index >= t->size)
        return buf_puts(o, ",\"index\":null,\"proof\":null}") ? ADT_ETOOBIG : ADT_OK;
    merkle_hash proof[MERKLE_MAX_PROOF], leaf;
    size_t n = 0;
    int rc = ledger_prove_inclusion(t->lg, index, t->size, proof, &n, err);
    if (!rc)
        rc = ledger_leaf_hash(t->lg, index, leaf, err);
    if (rc)
        return rc;
    bool ok = merkle_verify_inclusion(index, t->size, leaf, proof, n, t->root);
    char b64[64];
    codec_b64(leaf, MERKLE_HASH_LEN, b64, sizeof b64);
    rc = buf_printf(o, ",\"index\":%llu,\"leaf_hash\":\"%s\",\"proof\":[",
                    (unsigned long long)index, b64);
    for (size_t i = 0; i < n && !rc; i++) {
        codec_b64(proof[i], MERKLE_HASH_LEN, b64, sizeof b64);
        rc = buf_printf(o, "%s\"%s\"", i ? "," : "", b64);
    }
    if (rc || buf_printf(o, "],\"verified\":%s}", ok ? "true" : "false"))
        return ADT_ETOOBIG;
    return ADT_OK;
}

/* Find the latest ledger entry of `type` whose payload has model/version
 * equal to the given ones, below index `before`. */
typedef struct find_ctx {
    const char *type;
    const char *model, *version;
    uint64_t found;
    char dataset[80];
} find_ctx;

static bool payload_is(const leaf_view *v, const char *key, const char *want)
{
    char got[200];
    return leaf_payload_str(v, key, got, sizeof got) == ADT_OK && !strcmp(got, want);
}

static int find_fn(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    find_ctx *f = ctx;
    leaf_view v;
    if (leaf_parse(leaf, len, index, &v, NULL) != ADT_OK || strcmp(v.type, f->type) ||
        !payload_is(&v, "model", f->model) || !payload_is(&v, "version", f->version))
        return 0;
    f->found = index;
    if (leaf_payload_str(&v, "dataset", f->dataset, sizeof f->dataset) != ADT_OK)
        f->dataset[0] = '\0';
    return 0;
}

static int find_event(ledger *lg, const char *type, const char *model, const char *version,
                      uint64_t before, uint64_t *index, char *dataset, size_t dcap, adt_err *err)
{
    find_ctx f = {type, model, version, EVSINK_NONE, ""};
    int rc = ledger_scan(lg, 0, before, find_fn, &f, err);
    if (rc)
        return rc;
    *index = f.found;
    if (dataset)
        snprintf(dataset, dcap, "%s", f.dataset);
    return ADT_OK;
}

typedef struct label_ctx {
    trace *t;
    adt_err *err;
} label_ctx;

static int label_step(void *ctx, uint64_t index, const char *device, int64_t reading_us,
                      int value)
{
    label_ctx *c = ctx;
    char f[600], tm[40];
    buf dv;
    buf_init(&dv, 512);
    rfc3339_format(reading_us, tm, sizeof tm);
    int rc = canon_put_string(&dv, device, strlen(device));
    if (rc || dv.len > 400) {
        buf_free(&dv);
        return ADT_ETOOBIG;
    }
    snprintf(f, sizeof f, "\"type\":\"label.set\",\"device\":%s,\"reading_time\":\"%s\","
             "\"label\":\"%s\"", dv.data, tm, value ? "confirmed_failure" : "false_alarm");
    buf_free(&dv);
    return step(c->t, "label", index, f, c->err);
}

static int trace_dataset(sqlite3 *db, trace *t, const char *id, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db, "SELECT from_us, to_us, devices, batches, readings, ledger_index "
                             "FROM datasets WHERE id=?", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return adt_fail(err, ADT_ENOTFOUND, "dataset %.80s is not defined in this data directory",
                        id);
    }
    char f[1024], tf[40], tt[40];
    rfc3339_format(sqlite3_column_int64(st, 0), tf, sizeof tf);
    rfc3339_format(sqlite3_column_int64(st, 1), tt, sizeof tt);
    uint64_t li = sqlite3_column_type(st, 5) == SQLITE_NULL
                      ? EVSINK_NONE
                      : (uint64_t)sqlite3_column_int64(st, 5);
    const char *devs = (const char *)sqlite3_column_text(st, 2);
    snprintf(f, sizeof f,
             "\"type\":\"dataset.define\",\"dataset\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
             "\"batches\":%lld,\"readings\":%lld,\"devices\":%s",
             id, tf, tt, (long long)sqlite3_column_int64(st, 3),
             (long long)sqlite3_column_int64(st, 4), strlen(devs) < 700 ? devs : "\"(many)\"");
    sqlite3_finalize(st);
    rc = step(t, "dataset", li, f, err);
    if (!rc) /* a labelled dataset: each operator verdict it pins, provable too */
        rc = oplabel_dataset_each(db, id, label_step, &(label_ctx){t, err}, err);
    if (rc)
        return rc;
    rc = sqldb_prepare(db, "SELECT b.id, b.digest, b.accepted, b.from_us, b.to_us, b.ledger_index "
                         "FROM dataset_batches db JOIN batches b ON b.id = db.batch "
                         "WHERE db.dataset = ? ORDER BY b.id", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        rfc3339_format(sqlite3_column_int64(st, 3), tf, sizeof tf);
        rfc3339_format(sqlite3_column_int64(st, 4), tt, sizeof tt);
        snprintf(f, sizeof f,
                 "\"type\":\"telemetry.batch\",\"batch_id\":%lld,\"digest\":\"%s\","
                 "\"accepted\":%lld,\"from\":\"%s\",\"to\":\"%s\"",
                 (long long)sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1),
                 (long long)sqlite3_column_int64(st, 2), tf, tt);
        uint64_t bi = sqlite3_column_type(st, 5) == SQLITE_NULL
                          ? EVSINK_NONE
                          : (uint64_t)sqlite3_column_int64(st, 5);
        rc = step(t, "batch", bi, f, err);
    }
    sqlite3_finalize(st);
    return rc;
}

static int trace_model(sqlite3 *db, trace *t, const char *model, const char *version,
                       uint64_t before, adt_err *err)
{
    char f[512], ds[80];
    uint64_t di, ri;
    int rc = find_event(t->lg, "model.deploy", model, version, before, &di, NULL, 0, err);
    if (rc)
        return rc;
    buf mv;
    buf_init(&mv, 512);
    if (buf_puts(&mv, "\"model\":") || canon_put_string(&mv, model, strlen(model)) ||
        buf_puts(&mv, ",\"version\":") || canon_put_string(&mv, version, strlen(version)) ||
        mv.len > 400) {
        buf_free(&mv);
        return adt_fail(err, ADT_EINVAL, "model name or version too long");
    }
    snprintf(f, sizeof f, "\"type\":\"model.deploy\",%s", mv.data);
    rc = step(t, "model.deploy", di, f, err);
    if (!rc)
        rc = find_event(t->lg, "model.register", model, version, before, &ri, ds, sizeof ds,
                        err);
    if (!rc) {
        snprintf(f, sizeof f, "\"type\":\"model.register\",%s,\"dataset\":\"%s\"", mv.data,
                 codec_is_hex(ds, 64) ? ds : "");
        rc = step(t, "model.register", ri, f, err);
    }
    buf_free(&mv);
    if (rc)
        return rc;
    if (ri == EVSINK_NONE)
        return adt_fail(err, ADT_ENOTFOUND,
                        "no model.register event for %s@%s in the ledger: the model's data "
                        "cannot be traced", model, version);
    if (!codec_is_hex(ds, 64))
        return adt_fail(err, ADT_ENOTFOUND,
                        "model.register of %s@%s names no dataset version id", model, version);
    return trace_dataset(db, t, ds, err);
}

int lineage_trace(sqlite3 *db, ledger *lg, const char *what, buf *out, adt_err *err)
{
    trace t = {lg, 0, {0}, out, 0};
    char cp[NOTE_MAX];
    int rc = ledger_checkpoint(lg, cp, sizeof cp, &t.size, err);
    if (!rc)
        rc = ledger_root(lg, t.size, t.root, err);
    if (rc)
        return rc;
    if (buf_puts(out, "{\"query\":") || canon_put_string(out, what, strlen(what)) ||
        buf_printf(out, ",\"tree_size\":%llu,\"checkpoint\":", (unsigned long long)t.size) ||
        canon_put_string(out, cp, strlen(cp)) || buf_puts(out, ",\"steps\":["))
        return ADT_ETOOBIG;
    const char *s = what;
    if (!strncmp(s, "prediction:", 11))
        s += 11;
    int64_t pid;
    if (s[0] >= '0' && s[0] <= '9' && !num_i64(s, 1, INT64_MAX, &pid)) {
        sqlite3_stmt *st;
        rc = sqldb_prepare(db,
                         "SELECT p.id, d.name, p.time_us, p.prob, p.model, p.version, p.batch, "
                         "b.pred_index, b.digest FROM predictions p JOIN devices d ON "
                         "d.id = p.device JOIN batches b ON b.id = p.batch WHERE p.id = ?",
                         &st, err);
        if (rc)
            return rc;
        sqlite3_bind_int64(st, 1, pid);
        if (sqlite3_step(st) != SQLITE_ROW) {
            sqlite3_finalize(st);
            return adt_fail(err, ADT_ENOTFOUND, "no prediction %lld", (long long)pid);
        }
        char f[1024], tm[40], model[200], version[200];
        rfc3339_format(sqlite3_column_int64(st, 2), tm, sizeof tm);
        snprintf(model, sizeof model, "%s", sqlite3_column_text(st, 4));
        snprintf(version, sizeof version, "%s", sqlite3_column_text(st, 5));
        buf tmp;
        buf_init(&tmp, 1024);
        const char *dn = (const char *)sqlite3_column_text(st, 1);
        rc = canon_put_string(&tmp, dn, strlen(dn));
        snprintf(f, sizeof f,
                 "\"type\":\"prediction.summary\",\"prediction\":%lld,\"device\":%s,"
                 "\"time\":\"%s\",\"probability\":%.6f,\"batch_id\":%lld,"
                 "\"input_digest\":\"%s\"",
                 (long long)pid, tmp.data, tm, sqlite3_column_double(st, 3),
                 (long long)sqlite3_column_int64(st, 6), sqlite3_column_text(st, 8));
        buf_free(&tmp);
        uint64_t pi = sqlite3_column_type(st, 7) == SQLITE_NULL
                          ? EVSINK_NONE
                          : (uint64_t)sqlite3_column_int64(st, 7);
        sqlite3_finalize(st);
        rc = step(&t, "prediction.summary", pi, f, err);
        if (!rc)
            rc = trace_model(db, &t, model, version, pi == EVSINK_NONE ? UINT64_MAX : pi, err);
    } else if (codec_is_hex(what, 64)) {
        rc = trace_dataset(db, &t, what, err);
    } else {
        if (!strncmp(s, "model:", 6))
            s += 6;
        const char *at = strrchr(s, '@');
        if (!at || at == s || !at[1] || at - s > 128 || strlen(at + 1) > 128)
            return adt_fail(err, ADT_EINVAL,
                            "'%.100s': give a prediction id (N or prediction:N), a model "
                            "(NAME@VERSION) or a dataset id", what);
        char model[130];
        memcpy(model, s, (size_t)(at - s));
        model[at - s] = 0;
        rc = trace_model(db, &t, model, at + 1, UINT64_MAX, err);
    }
    if (rc)
        return rc;
    rc = buf_puts(out, "]}");
    return rc ? ADT_ETOOBIG : ADT_OK;
}
