/* lineage.c: dataset versions and lineage traces (lineage.h). */
#include "lineage.h"

#include "canon.h"
#include "numparse.h"
#include "oplabel.h"
#include "rfc3339.h"
#include "tdb.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int lineage_dataset_define(sqlite3 *db, const psink *s, const char *actor, int64_t from_us,
                           int64_t to_us, const char *const *devices, size_t ndevices,
                           lineage_dataset *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    out->ledger_index = PSINK_NONE;
    out->from_us = from_us;
    out->to_us = to_us;
    if (to_us <= from_us)
        return adt_fail(err, ADT_EINVAL, "--to must be after --from");
    if (ndevices > 4096)
        return adt_fail(err, ADT_ETOOBIG, "at most 4096 devices per dataset");
    if (sodium_init() < 0)
        return adt_fail(err, ADT_ECRYPTO, "libsodium failed to initialise");
    const char **sorted = malloc((ndevices ? ndevices : 1) * sizeof *sorted);
    if (!sorted)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    if (ndevices)
        memcpy(sorted, devices, ndevices * sizeof *sorted);
    qsort(sorted, ndevices, sizeof *sorted, cmp_str);
    buf devjson, list, ev, body;
    buf_init(&devjson, 1u << 20);
    buf_init(&list, 1u << 20);
    buf_init(&ev, LEDGER_MAX_LEAF);
    buf_init(&body, LEDGER_MAX_LEAF);
    int rc = buf_putc(&devjson, '[');
    size_t nd = 0;
    for (size_t i = 0; i < ndevices; i++) {
        if (i && !strcmp(sorted[i], sorted[i - 1]))
            continue;
        if (!canon_utf8_valid(sorted[i], strlen(sorted[i]))) {
            rc = adt_fail(err, ADT_EINVAL, "device names must be UTF-8");
            break;
        }
        rc |= buf_puts(&devjson, nd ? "," : "");
        rc |= canon_put_string(&devjson, sorted[i], strlen(sorted[i]));
        rc |= buf_puts(&list, nd ? "," : "");
        rc |= buf_puts(&list, sorted[i]);
        nd++;
    }
    rc |= buf_putc(&devjson, ']');
    free(sorted);
    sqlite3_stmt *st = NULL;
    int64_t *bids = NULL;
    size_t nb = 0, bcap = 0;
    if (rc) {
        if (rc != ADT_EINVAL)
            rc = adt_fail(err, ADT_ETOOBIG, "device list too long");
        goto out;
    }
    crypto_hash_sha256_state hs;
    crypto_hash_sha256_init(&hs);
    char head[256];
    snprintf(head, sizeof head, "auditd-dataset-v1\nfrom=%lld\nto=%lld\ndevices=",
             (long long)from_us, (long long)to_us);
    crypto_hash_sha256_update(&hs, (const uint8_t *)head, strlen(head));
    crypto_hash_sha256_update(&hs, (const uint8_t *)(list.data ? list.data : ""), list.len);
    crypto_hash_sha256_update(&hs, (const uint8_t *)"\n", 1);
    rc = tdb_exec(db, "BEGIN IMMEDIATE", "starting a transaction", err);
    if (rc)
        goto out;
    rc = tdb_prepare(db,
                     "SELECT b.id, b.digest FROM batches b WHERE b.accepted > 0 AND "
                     "b.from_us < ?2 AND b.to_us >= ?1 AND (?3 = '[]' OR EXISTS (SELECT 1 "
                     "FROM readings r JOIN devices d ON d.id = r.device WHERE r.id BETWEEN "
                     "b.first_row AND b.last_row AND d.name IN (SELECT value FROM "
                     "json_each(?3)))) ORDER BY b.id",
                     &st, err);
    if (rc)
        goto fail;
    sqlite3_bind_int64(st, 1, from_us);
    sqlite3_bind_int64(st, 2, to_us);
    sqlite3_bind_text(st, 3, devjson.data, (int)devjson.len, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (nb == bcap) {
            bcap = bcap ? bcap * 2 : 64;
            int64_t *nbids = realloc(bids, bcap * sizeof *bids);
            if (!nbids) {
                rc = adt_fail(err, ADT_ENOMEM, "out of memory");
                goto fail;
            }
            bids = nbids;
        }
        bids[nb++] = sqlite3_column_int64(st, 0);
        crypto_hash_sha256_update(&hs, sqlite3_column_text(st, 1), 64);
        crypto_hash_sha256_update(&hs, (const uint8_t *)"\n", 1);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (nb == 0) {
        rc = adt_fail(err, ADT_EINVAL,
                      "no stored telemetry batch in that window%s: ingest first or widen it",
                      nd ? " for those devices" : "");
        goto fail;
    }
    uint8_t h[32];
    crypto_hash_sha256_final(&hs, h);
    sodium_bin2hex(out->id, sizeof out->id, h, sizeof h);
    out->batches = nb;
    rc = tdb_prepare(db, "SELECT readings, ledger_index FROM datasets WHERE id=?", &st, err);
    if (rc)
        goto fail;
    sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->existed = true;
        out->readings = (uint64_t)sqlite3_column_int64(st, 0);
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            out->ledger_index = (uint64_t)sqlite3_column_int64(st, 1);
        sqlite3_finalize(st);
        st = NULL;
        rc = tdb_exec(db, "COMMIT", "committing", err);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = tdb_prepare(db, "INSERT INTO dataset_batches(dataset, batch) VALUES(?,?)", &st, err);
    if (rc)
        goto fail;
    for (size_t i = 0; i < nb; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, bids[i]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = tdb_fail(db, "recording the dataset", err);
            goto fail;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = tdb_prepare(db,
                     "SELECT COUNT(*) FROM dataset_batches db JOIN batches b ON b.id = db.batch "
                     "JOIN readings r ON r.id BETWEEN b.first_row AND b.last_row "
                     "JOIN devices d ON d.id = r.device WHERE db.dataset = ?1 AND "
                     "r.time_us >= ?2 AND r.time_us < ?3 AND (?4 = '[]' OR d.name IN "
                     "(SELECT value FROM json_each(?4)))",
                     &st, err);
    if (rc)
        goto fail;
    sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from_us);
    sqlite3_bind_int64(st, 3, to_us);
    sqlite3_bind_text(st, 4, devjson.data, (int)devjson.len, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        out->readings = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    char tf[40], tt[40];
    rfc3339_format(from_us, tf, sizeof tf);
    rfc3339_format(to_us, tt, sizeof tt);
    rc = buf_printf(&body,
                    "{\"dataset\":\"%s\",\"batches\":%zu,\"first_batch\":%lld,"
                    "\"last_batch\":%lld,\"readings\":%llu,\"from\":\"%s\",\"to\":\"%s\","
                    "\"devices\":%s}",
                    out->id, nb, (long long)bids[0], (long long)bids[nb - 1],
                    (unsigned long long)out->readings, tf, tt, devjson.data);
    if (rc) {
        rc = adt_fail(err, ADT_ETOOBIG, "dataset.define event too large (too many devices)");
        goto fail;
    }
    rc = psink_event("dataset.define", actor, body.data, &ev, err);
    if (rc)
        goto fail;
    ledger_item it = {PSINK_SOURCE, "dataset.define", ev.data, ev.len, NULL, 0, false,
                          EVENT_WRITER_AUDITD};
    rc = psink_append(s, &it, 1, &out->ledger_index, err);
    if (rc)
        goto fail;
    rc = tdb_prepare(db, "INSERT INTO datasets(id, from_us, to_us, devices, batches, readings, "
                         "created_us, ledger_index) VALUES(?,?,?,?,?,?,?,?)", &st, err);
    if (rc)
        goto fail;
    sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from_us);
    sqlite3_bind_int64(st, 3, to_us);
    sqlite3_bind_text(st, 4, devjson.data, (int)devjson.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (int64_t)nb);
    sqlite3_bind_int64(st, 6, (int64_t)out->readings);
    sqlite3_bind_int64(st, 7, rfc3339_now_us());
    if (out->ledger_index != PSINK_NONE)
        sqlite3_bind_int64(st, 8, (int64_t)out->ledger_index);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = tdb_fail(db, "recording the dataset", err);
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = tdb_exec(db, "COMMIT", "committing the dataset", err);
    goto out;
fail:
    sqlite3_finalize(st);
    st = NULL;
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
    free(bids);
    buf_free(&devjson);
    buf_free(&list);
    buf_free(&ev);
    buf_free(&body);
    return rc;
}

int lineage_datasets_json(sqlite3 *db, buf *out, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = tdb_prepare(db, "SELECT id, from_us, to_us, devices, batches, readings, "
                             "ledger_index FROM datasets ORDER BY created_us", &st, err);
    if (rc)
        return rc;
    rc = buf_putc(out, '[');
    int n = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        char tf[40], tt[40];
        rfc3339_format(sqlite3_column_int64(st, 1), tf, sizeof tf);
        rfc3339_format(sqlite3_column_int64(st, 2), tt, sizeof tt);
        rc |= buf_printf(out,
                         "%s{\"dataset\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"devices\":%s,"
                         "\"batches\":%lld,\"readings\":%lld,\"ledger_index\":",
                         n++ ? "," : "", sqlite3_column_text(st, 0), tf, tt,
                         sqlite3_column_text(st, 3), (long long)sqlite3_column_int64(st, 4),
                         (long long)sqlite3_column_int64(st, 5));
        if (sqlite3_column_type(st, 6) == SQLITE_NULL)
            rc |= buf_puts(out, "null}");
        else
            rc |= buf_printf(out, "%lld}", (long long)sqlite3_column_int64(st, 6));
    }
    sqlite3_finalize(st);
    rc |= buf_putc(out, ']');
    return rc ? adt_fail(err, ADT_ETOOBIG, "dataset list too large") : ADT_OK;
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
    int rc = buf_printf(o, "%s{\"step\":\"%s\"", t->nsteps++ ? "," : "", kind);
    if (fields && *fields)
        rc |= buf_printf(o, ",%s", fields);
    if (index == PSINK_NONE || index >= t->size) {
        rc |= buf_puts(o, ",\"index\":null,\"proof\":null}");
        return rc ? ADT_ETOOBIG : ADT_OK;
    }
    merkle_hash proof[MERKLE_MAX_PROOF], leaf;
    size_t n = 0;
    int r2 = ledger_prove_inclusion(t->lg, index, t->size, proof, &n, err);
    if (!r2)
        r2 = ledger_leaf_hash(t->lg, index, leaf, err);
    if (r2)
        return r2;
    bool ok = merkle_verify_inclusion(index, t->size, leaf, proof, n, t->root);
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, leaf, MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
    rc |= buf_printf(o, ",\"index\":%llu,\"leaf_hash\":\"%s\",\"proof\":[",
                     (unsigned long long)index, b64);
    for (size_t i = 0; i < n; i++) {
        sodium_bin2base64(b64, sizeof b64, proof[i], MERKLE_HASH_LEN,
                          sodium_base64_VARIANT_ORIGINAL);
        rc |= buf_printf(o, "%s\"%s\"", i ? "," : "", b64);
    }
    rc |= buf_printf(o, "],\"verified\":%s}", ok ? "true" : "false");
    return rc ? ADT_ETOOBIG : ADT_OK;
}

/* Find the latest ledger entry of `type` whose payload has model/version
 * equal to the given ones, below index `before`. */
typedef struct find_ctx {
    const char *type;
    const char *model, *version;
    uint64_t found;
    char dataset[80];
} find_ctx;

static bool member_is(const char *json, size_t len, const char *key, const char *want)
{
    const char *v;
    size_t vl;
    if (canon_member(json, len, key, &v, &vl))
        return false;
    size_t wl = strlen(want);
    return vl == wl + 2 && v[0] == '"' && !memcmp(v + 1, want, wl);
}

static int find_fn(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    find_ctx *f = ctx;
    if (!member_is(leaf, len, "type", f->type))
        return 0;
    const char *p;
    size_t pl;
    if (canon_member(leaf, len, "payload", &p, &pl))
        return 0;
    if (!member_is(p, pl, "model", f->model) || !member_is(p, pl, "version", f->version))
        return 0;
    f->found = index;
    const char *d;
    size_t dl;
    if (!canon_member(p, pl, "dataset", &d, &dl) && dl >= 2 && dl - 2 < sizeof f->dataset &&
        d[0] == '"') {
        memcpy(f->dataset, d + 1, dl - 2);
        f->dataset[dl - 2] = 0;
    }
    return 0;
}

static int find_event(ledger *lg, const char *type, const char *model, const char *version,
                      uint64_t before, uint64_t *index, char *dataset, size_t dcap, adt_err *err)
{
    find_ctx f = {type, model, version, PSINK_NONE, ""};
    int rc = ledger_scan(lg, 0, before, find_fn, &f, err);
    if (rc)
        return rc;
    *index = f.found;
    if (dataset)
        snprintf(dataset, dcap, "%s", f.dataset);
    return ADT_OK;
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
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
    int rc = tdb_prepare(db, "SELECT from_us, to_us, devices, batches, readings, ledger_index "
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
                      ? PSINK_NONE
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
    rc = tdb_prepare(db, "SELECT b.id, b.digest, b.accepted, b.from_us, b.to_us, b.ledger_index "
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
                          ? PSINK_NONE
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
    rc = buf_puts(&mv, "\"model\":");
    rc |= canon_put_string(&mv, model, strlen(model));
    rc |= buf_puts(&mv, ",\"version\":");
    rc |= canon_put_string(&mv, version, strlen(version));
    if (rc || mv.len > 400) {
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
                 is_hex64(ds) ? ds : "");
        rc = step(t, "model.register", ri, f, err);
    }
    buf_free(&mv);
    if (rc)
        return rc;
    if (ri == PSINK_NONE)
        return adt_fail(err, ADT_ENOTFOUND,
                        "no model.register event for %s@%s in the ledger: the model's data "
                        "cannot be traced", model, version);
    if (!is_hex64(ds))
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
    rc = buf_puts(out, "{\"query\":");
    rc |= canon_put_string(out, what, strlen(what));
    rc |= buf_printf(out, ",\"tree_size\":%llu,\"checkpoint\":", (unsigned long long)t.size);
    rc |= canon_put_string(out, cp, strlen(cp));
    rc |= buf_puts(out, ",\"steps\":[");
    if (rc)
        return ADT_ETOOBIG;
    const char *s = what;
    if (!strncmp(s, "prediction:", 11))
        s += 11;
    int64_t pid;
    if (s[0] >= '0' && s[0] <= '9' && !num_i64(s, 1, INT64_MAX, &pid)) {
        sqlite3_stmt *st;
        rc = tdb_prepare(db,
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
                          ? PSINK_NONE
                          : (uint64_t)sqlite3_column_int64(st, 7);
        sqlite3_finalize(st);
        rc = step(&t, "prediction.summary", pi, f, err);
        if (!rc)
            rc = trace_model(db, &t, model, version, pi == PSINK_NONE ? UINT64_MAX : pi, err);
    } else if (is_hex64(what)) {
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
