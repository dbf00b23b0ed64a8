#include "cship.h"

#include "log.h"
#include "numparse.h"
#include "rfc3339.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool str_field(const cJSON *o, const char *key, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= cap)
        return false;
    for (const char *p = v->valuestring; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            return false;
    snprintf(out, cap, "%s", v->valuestring);
    return true;
}

static bool contains(const char *h, size_t hl, const char *n, size_t nl)
{
    const char *p = h, *end = h + hl;
    while ((size_t)(end - p) >= nl) {
        const char *q = memchr(p, n[0], (size_t)(end - p) - nl + 1);
        if (!q)
            return false;
        if (!memcmp(q, n, nl))
            return true;
        p = q + 1;
    }
    return false;
}

bool cship_ref_of_leaf(const char *leaf, size_t len, cship_ref *out)
{
    /* Cheap first: most entries are not shipments. */
    static const char tag[] = "\"type\":\"site.shipment\"";
    if (len < sizeof tag || !contains(leaf, len, tag, sizeof tag - 1))
        return false;
    cJSON *j = cJSON_ParseWithLength(leaf, len);
    bool ok = false;
    const cJSON *p = j ? cJSON_GetObjectItemCaseSensitive(j, "payload") : NULL;
    const cJSON *type = j ? cJSON_GetObjectItemCaseSensitive(j, "type") : NULL;
    const cJSON *writer = j ? cJSON_GetObjectItemCaseSensitive(j, "writer") : NULL;
    cship_ref r;
    memset(&r, 0, sizeof r);
    char sha[65];
    if (cJSON_IsObject(p) && cJSON_IsString(type) && !strcmp(type->valuestring, "site.shipment") &&
        cJSON_IsString(writer) && !strcmp(writer->valuestring, "auditd") &&
        str_field(p, "kind", r.kind, sizeof r.kind) &&
        str_field(p, "period", r.period, sizeof r.period) &&
        str_field(p, "time", r.time, sizeof r.time) && str_field(p, "sha256", sha, sizeof sha) &&
        strlen(sha) == 64) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(p, "bytes");
        size_t bl = 0;
        ok = cJSON_IsNumber(b) && isfinite(b->valuedouble) && b->valuedouble >= 0 &&
             b->valuedouble <= CSHIP_MAX_BYTES && b->valuedouble == floor(b->valuedouble) &&
             sodium_hex2bin(r.sha256, 32, sha, 64, NULL, &bl, NULL) == 0 && bl == 32;
        for (int i = 0; ok && i < 64; i++)
            ok = (sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f');
        if (ok)
            r.bytes = (uint64_t)b->valuedouble;
    }
    cJSON_Delete(j);
    if (ok) {
        r.idx = out->idx;
        *out = r;
    }
    return ok;
}

int cship_insert(cstore *cs, int64_t site_id, const cship_ref *refs, size_t n, adt_err *err)
{
    char id[24], idx[24], bytes[24];
    snprintf(id, sizeof id, "%lld", (long long)site_id);
    for (size_t i = 0; i < n; i++) {
        const cship_ref *r = &refs[i];
        snprintf(idx, sizeof idx, "%llu", (unsigned long long)r->idx);
        snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)r->bytes);
        const char *vals[7] = {id, idx, r->kind, r->period, (const char *)r->sha256, bytes,
                               r->time};
        int lens[7] = {0, 0, 0, 0, 32, 0, 0};
        int fmts[7] = {0, 0, 0, 0, 1, 0, 0};
        PGresult *q = PQexecParams(cstore_conn(cs),
                                   "INSERT INTO auditd_central.shipments (site_id, idx, kind,"
                                   " period, sha256, bytes, recorded_at) VALUES ($1, $2, $3, $4,"
                                   " $5, $6, $7) ON CONFLICT DO NOTHING",
                                   7, NULL, vals, lens, fmts, 0);
        if (PQresultStatus(q) != PGRES_COMMAND_OK)
            return cstore_fail(cs, q, err, "recording a shipped batch");
        PQclear(q);
    }
    return ADT_OK;
}

/* ---------- rollups ---------- */

#define ROWS_MAX 200000
#define DEVICES_MAX 512

static bool whole(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 9007199254740992.0 || v->valuedouble != floor(v->valuedouble))
        return false;
    *out = (uint64_t)v->valuedouble;
    return true;
}

/* A count or NULL (absent role): *has says which. */
static bool opt_whole(const cJSON *v, bool *has, uint64_t *out)
{
    *has = !cJSON_IsNull(v);
    *out = 0;
    return !*has || whole(v, out);
}

static bool opt_sum(const cJSON *v, bool *has, double *out)
{
    *has = !cJSON_IsNull(v);
    *out = 0;
    if (!*has)
        return true;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0)
        return false;
    *out = v->valuedouble;
    return true;
}

static bool short_str(const cJSON *v, size_t cap)
{
    return cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) < cap;
}

/* The elements of array `x` into a[0..cap); returns how many it has (more
 * than cap: the caller refuses it). */
static int tuple(const cJSON *x, const cJSON **a, int cap)
{
    int n = 0;
    const cJSON *e;
    if (cJSON_IsArray(x))
        cJSON_ArrayForEach(e, x)
        {
            if (n < cap)
                a[n] = e;
            n++;
        }
    return n;
}

/* An hour of the batch ([from, to), whole hours) and a device of it. */
static bool hour_dev(const cJSON *h, const cJSON *d, int ndev, int64_t from, int64_t to,
                     uint64_t *hour, uint64_t *dev)
{
    return whole(h, hour) && whole(d, dev) && *dev < (uint64_t)ndev && *hour % 3600 == 0 &&
           (int64_t)*hour * 1000000 >= from && (int64_t)*hour * 1000000 < to;
}

/* One element of "rows": [hour, device, readings, sampled_s, running_s,
 * idle_s, down_s, energy_kwh, produced, good, inspected, rejected,
 * labelled, failures], the optional ones null together. */
static bool row_of(const cJSON *x, const char *const *names, int ndev, int64_t from, int64_t to,
                   cship_row *r)
{
    memset(r, 0, sizeof *r);
    uint64_t hour = 0, dev = 0;
    bool has_down, has_idle, has_rej, has_fail;
    const cJSON *a[14];
    bool ok = tuple(x, a, 14) == 14 && hour_dev(a[0], a[1], ndev, from, to, &hour, &dev) &&
              whole(a[2], &r->readings) && whole(a[3], &r->sampled_s) &&
              opt_whole(a[4], &r->has_state, &r->running_s) &&
              opt_whole(a[5], &has_idle, &r->idle_s) && opt_whole(a[6], &has_down, &r->down_s) &&
              has_idle == r->has_state && has_down == r->has_state &&
              opt_sum(a[7], &r->has_energy, &r->energy_kwh) &&
              opt_sum(a[8], &r->has_produced, &r->produced) &&
              opt_sum(a[9], &r->has_good, &r->good) &&
              opt_whole(a[10], &r->has_inspection, &r->inspected) &&
              opt_whole(a[11], &has_rej, &r->rejected) && has_rej == r->has_inspection &&
              opt_whole(a[12], &r->has_labels, &r->labelled) &&
              opt_whole(a[13], &has_fail, &r->failures) && has_fail == r->has_labels &&
              r->rejected <= r->inspected && r->failures <= r->labelled;
    if (ok) {
        r->hour_s = (int64_t)hour;
        r->device = names[dev];
    }
    return ok;
}

/* One element of "predictions": [hour, device, model, version, predictions,
 * positives, tp, fp, fn, tn]. */
static bool pred_of(const cJSON *x, const char *const *names, int ndev, int64_t from, int64_t to,
                    cship_pred *p)
{
    memset(p, 0, sizeof *p);
    uint64_t hour = 0, dev = 0;
    const cJSON *a[10];
    bool ok = tuple(x, a, 10) == 10 && hour_dev(a[0], a[1], ndev, from, to, &hour, &dev) &&
              short_str(a[2], 128) && short_str(a[3], 64) && whole(a[4], &p->predictions) &&
              whole(a[5], &p->positives) && whole(a[6], &p->tp) && whole(a[7], &p->fp) &&
              whole(a[8], &p->fn) && whole(a[9], &p->tn) && p->positives <= p->predictions;
    if (ok) {
        p->hour_s = (int64_t)hour;
        p->device = names[dev];
        p->model = a[2]->valuestring;
        p->version = a[3]->valuestring;
    }
    return ok;
}

int cship_parse_rollups(const char *body, size_t len,
                        int (*on_row)(void *ctx, const cship_row *r),
                        int (*on_pred)(void *ctx, const cship_pred *p), void *ctx, adt_err *err)
{
    if (len > CSHIP_MAX_BYTES)
        return adt_fail(err, ADT_ETOOBIG, "rollups batch over %u bytes", CSHIP_MAX_BYTES);
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j)
        return adt_fail(err, ADT_EINVAL, "rollups batch: not JSON");
    int rc = ADT_OK;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    const cJSON *hours = cJSON_GetObjectItemCaseSensitive(j, "hours");
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(j, "devices");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    const cJSON *preds = cJSON_GetObjectItemCaseSensitive(j, "predictions");
    const cJSON *hf = cJSON_GetObjectItemCaseSensitive(hours, "from");
    const cJSON *ht = cJSON_GetObjectItemCaseSensitive(hours, "to");
    int64_t from = 0, to = 0;
    const char *names[DEVICES_MAX];
    int ndev = 0;
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "auditd-shipment/1") ||
        !cJSON_IsString(kind) || strcmp(kind->valuestring, "rollups"))
        rc = adt_fail(err, ADT_EINVAL, "rollups batch: not an auditd-shipment/1 of kind rollups");
    else if (!cJSON_IsString(hf) || !cJSON_IsString(ht) ||
             rfc3339_parse(hf->valuestring, strlen(hf->valuestring), &from) ||
             rfc3339_parse(ht->valuestring, strlen(ht->valuestring), &to) || to <= from)
        rc = adt_fail(err, ADT_EINVAL, "rollups batch: 'hours' must give from < to (RFC 3339)");
    else if (!cJSON_IsArray(devs) || cJSON_GetArraySize(devs) > DEVICES_MAX ||
             !cJSON_IsArray(rows) || cJSON_GetArraySize(rows) > ROWS_MAX ||
             !cJSON_IsArray(preds) || cJSON_GetArraySize(preds) > ROWS_MAX)
        rc = adt_fail(err, ADT_EINVAL, "rollups batch: 'devices' (at most %d), 'rows' and "
                      "'predictions' (at most %d) must be arrays", DEVICES_MAX, ROWS_MAX);
    const cJSON *x;
    if (!rc)
        cJSON_ArrayForEach(x, devs)
        {
            if (!short_str(x, 64)) {
                rc = adt_fail(err, ADT_EINVAL, "rollups batch: device %d is not a name of 1..63 "
                              "bytes", ndev);
                break;
            }
            names[ndev++] = x->valuestring;
        }
    size_t i = 0;
    if (!rc)
        cJSON_ArrayForEach(x, rows)
        {
            cship_row r;
            if (!row_of(x, names, ndev, from, to, &r)) {
                rc = adt_fail(err, ADT_EINVAL, "rollups batch: rows[%zu] is not [hour, device, "
                              "readings, sampled_s, running_s, idle_s, down_s, energy_kwh, "
                              "produced, good, inspected, rejected, labelled, failures] within "
                              "the batch's hours", i);
                break;
            }
            if (on_row && (rc = on_row(ctx, &r)))
                break;
            i++;
        }
    i = 0;
    if (!rc)
        cJSON_ArrayForEach(x, preds)
        {
            cship_pred p;
            if (!pred_of(x, names, ndev, from, to, &p)) {
                rc = adt_fail(err, ADT_EINVAL, "rollups batch: predictions[%zu] is not [hour, "
                              "device, model, version, predictions, positives, tp, fp, fn, tn]", i);
                break;
            }
            if (on_pred && (rc = on_pred(ctx, &p)))
                break;
            i++;
        }
    cJSON_Delete(j);
    return rc;
}

/* COPY text: a value, or \N; text escaped (backslash, tab, newline). */
typedef struct load {
    buf rows, preds;
    char ship[24], site[24];
} load;

static int copy_text(buf *b, const char *s)
{
    int rc = ADT_OK;
    for (; !rc && *s; s++) {
        if (*s == '\\' || *s == '\t' || *s == '\n' || *s == '\r')
            rc = buf_printf(b, "\\%03o", (unsigned)(unsigned char)*s);
        else
            rc = buf_putc(b, *s);
    }
    return rc;
}

static int opt_u(buf *b, bool has, uint64_t v)
{
    return has ? buf_printf(b, "\t%llu", (unsigned long long)v) : buf_puts(b, "\t\\N");
}

static int opt_d(buf *b, bool has, double v)
{
    return has ? buf_printf(b, "\t%.17g", v) : buf_puts(b, "\t\\N");
}

static int load_row(void *ctx, const cship_row *r)
{
    load *l = ctx;
    buf *b = &l->rows;
    int rc = buf_printf(b, "%s\t%lld\t", l->site, (long long)r->hour_s);
    if (!rc) rc = copy_text(b, r->device);
    if (!rc)
        rc = buf_printf(b, "\t%llu\t%llu", (unsigned long long)r->readings,
                        (unsigned long long)r->sampled_s);
    if (!rc) rc = opt_u(b, r->has_state, r->running_s);
    if (!rc) rc = opt_u(b, r->has_state, r->idle_s);
    if (!rc) rc = opt_u(b, r->has_state, r->down_s);
    if (!rc) rc = opt_d(b, r->has_energy, r->energy_kwh);
    if (!rc) rc = opt_d(b, r->has_produced, r->produced);
    if (!rc) rc = opt_d(b, r->has_good, r->good);
    if (!rc) rc = opt_u(b, r->has_inspection, r->inspected);
    if (!rc) rc = opt_u(b, r->has_inspection, r->rejected);
    if (!rc) rc = opt_u(b, r->has_labels, r->labelled);
    if (!rc) rc = opt_u(b, r->has_labels, r->failures);
    if (!rc) rc = buf_printf(b, "\t%s\n", l->ship);
    return rc;
}

static int load_pred(void *ctx, const cship_pred *p)
{
    load *l = ctx;
    buf *b = &l->preds;
    int rc = buf_printf(b, "%s\t%lld\t", l->site, (long long)p->hour_s);
    if (!rc) rc = copy_text(b, p->device);
    if (!rc) rc = buf_putc(b, '\t');
    if (!rc) rc = copy_text(b, p->model);
    if (!rc) rc = buf_putc(b, '\t');
    if (!rc) rc = copy_text(b, p->version);
    if (!rc)
        rc = buf_printf(b, "\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%s\n",
                        (unsigned long long)p->predictions, (unsigned long long)p->positives,
                        (unsigned long long)p->tp, (unsigned long long)p->fp,
                        (unsigned long long)p->fn, (unsigned long long)p->tn, l->ship);
    return rc;
}

static int copy_in(cstore *cs, const char *sql, const buf *data, adt_err *err)
{
    PGconn *db = cstore_conn(cs);
    PGresult *r = PQexec(db, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        return cstore_fail(cs, r, err, "loading rollups");
    PQclear(r);
    int rc = ADT_OK;
    if (data->len && PQputCopyData(db, data->data, (int)data->len) != 1)
        rc = cstore_fail(cs, NULL, err, "loading rollups");
    if (PQputCopyEnd(db, rc ? "aborted" : NULL) != 1 && !rc)
        rc = cstore_fail(cs, NULL, err, "loading rollups");
    while ((r = PQgetResult(db)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc)
            rc = cstore_fail(cs, r, err, "loading rollups");
        else
            PQclear(r);
    }
    return rc;
}

static int exec_ok(cstore *cs, const char *sql, adt_err *err)
{
    PGresult *r = PQexec(cstore_conn(cs), sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return cstore_fail(cs, r, err, "loading rollups");
    PQclear(r);
    return ADT_OK;
}

/* Inside the caller's transaction: the batch's rows into rollups and
 * rollup_predictions, each replacing a row of an earlier batch. */
static int load_rollups(cstore *cs, const char *site, const char *idx, const buf *body,
                        adt_err *err)
{
    load *l = calloc(1, sizeof *l);
    if (!l)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    buf_init(&l->rows, 64u << 20);
    buf_init(&l->preds, 64u << 20);
    snprintf(l->site, sizeof l->site, "%s", site);
    snprintf(l->ship, sizeof l->ship, "%s", idx);
    int rc = cship_parse_rollups(body->data, body->len, load_row, load_pred, l, err);
    if (!rc)
        rc = exec_ok(cs,
                     "CREATE TEMP TABLE IF NOT EXISTS r_in (site_id bigint, hour_s bigint, device"
                     " text, readings bigint, sampled_s bigint, running_s bigint, idle_s bigint,"
                     " down_s bigint, energy_kwh double precision, produced double precision,"
                     " good double precision, inspected bigint, rejected bigint, labelled bigint,"
                     " failures bigint, shipment bigint) ON COMMIT DELETE ROWS;"
                     "CREATE TEMP TABLE IF NOT EXISTS p_in (site_id bigint, hour_s bigint, device"
                     " text, model text, version text, predictions bigint, positives bigint, tp"
                     " bigint, fp bigint, fn bigint, tn bigint, shipment bigint)"
                     " ON COMMIT DELETE ROWS",
                     err);
    if (!rc)
        rc = copy_in(cs, "COPY r_in FROM STDIN", &l->rows, err);
    if (!rc)
        rc = copy_in(cs, "COPY p_in FROM STDIN", &l->preds, err);
    if (!rc)
        rc = exec_ok(cs,
                     "INSERT INTO auditd_central.rollups SELECT site_id, to_timestamp(hour_s),"
                     " device, readings, sampled_s, running_s, idle_s, down_s, energy_kwh,"
                     " produced, good, inspected, rejected, labelled, failures, shipment FROM r_in"
                     " ON CONFLICT (site_id, hour, device) DO UPDATE SET readings ="
                     " excluded.readings, sampled_s = excluded.sampled_s, running_s ="
                     " excluded.running_s, idle_s = excluded.idle_s, down_s = excluded.down_s,"
                     " energy_kwh = excluded.energy_kwh, produced = excluded.produced, good ="
                     " excluded.good, inspected = excluded.inspected, rejected ="
                     " excluded.rejected, labelled = excluded.labelled, failures ="
                     " excluded.failures, shipment = excluded.shipment"
                     " WHERE excluded.shipment > auditd_central.rollups.shipment;"
                     "INSERT INTO auditd_central.rollup_predictions SELECT site_id,"
                     " to_timestamp(hour_s), device, model, version, predictions, positives, tp,"
                     " fp, fn, tn, shipment FROM p_in ON CONFLICT (site_id, hour, device, model,"
                     " version) DO UPDATE SET predictions = excluded.predictions, positives ="
                     " excluded.positives, tp = excluded.tp, fp = excluded.fp, fn = excluded.fn,"
                     " tn = excluded.tn, shipment = excluded.shipment"
                     " WHERE excluded.shipment > auditd_central.rollup_predictions.shipment",
                     err);
    buf_free(&l->rows);
    buf_free(&l->preds);
    free(l);
    return rc;
}

static int note_try(cstore *cs, const char *id, const char *idx, const char *problem)
{
    const char *vals[3] = {id, idx, problem};
    PGresult *q = PQexecParams(cstore_conn(cs),
                               "UPDATE auditd_central.shipments SET tries = tries + 1,"
                               " problem = $3 WHERE site_id = $1 AND idx = $2 AND body IS NULL",
                               3, NULL, vals, NULL, NULL, 0);
    int ok = PQresultStatus(q) == PGRES_COMMAND_OK;
    PQclear(q);
    return ok ? ADT_OK : ADT_EIO;
}

int cship_fetch(cstore *cs, sitelog *sl, int64_t site_id, int max, int *fetched, adt_err *err)
{
    *fetched = 0;
    char id[24], lim[16], tries[16];
    snprintf(id, sizeof id, "%lld", (long long)site_id);
    snprintf(lim, sizeof lim, "%d", max);
    snprintf(tries, sizeof tries, "%d", CSHIP_TRIES_MAX);
    const char *vals[3] = {id, lim, tries};
    PGresult *r = PQexecParams(cstore_conn(cs),
                               "SELECT idx, encode(sha256, 'hex'), bytes, kind FROM"
                               " auditd_central.shipments WHERE site_id = $1 AND body IS NULL"
                               " AND tries < $3 ORDER BY idx LIMIT $2",
                               3, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return cstore_fail(cs, r, err, "reading the batches to fetch");
    buf body;
    buf_init(&body, CSHIP_MAX_BYTES);
    int rc = ADT_OK;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        const char *idx = PQgetvalue(r, i, 0), *sha = PQgetvalue(r, i, 1);
        uint64_t bytes = 0;
        num_u64(PQgetvalue(r, i, 2), CSHIP_MAX_BYTES, &bytes);
        adt_err fe = {0};
        int f = sitelog_shipment(sl, sha, &body, &fe);
        if (f == ADT_EIO || f == ADT_EAUTH) {
            rc = adt_fail(err, f, "%s", fe.msg); /* the site is away: the next pull tries again */
            break;
        }
        char problem[ADT_ERR_MAX + 64] = "";
        uint8_t h[32], want[32];
        size_t bl = 0;
        if (f)
            snprintf(problem, sizeof problem, "%s", fe.msg);
        else if (body.len != bytes)
            snprintf(problem, sizeof problem, "the site served %zu bytes, its ledger records %llu",
                     body.len, (unsigned long long)bytes);
        else {
            crypto_hash_sha256(h, (const uint8_t *)body.data, body.len);
            sodium_hex2bin(want, 32, sha, 64, NULL, &bl, NULL);
            if (sodium_memcmp(h, want, 32))
                snprintf(problem, sizeof problem, "the site served other bytes than the batch "
                         "its ledger records (SHA-256 differs)");
        }
        if (problem[0]) {
            log_msg(LOG_WARN, "central", "site %lld: batch %.16s... (entry %s) not stored: %s",
                    (long long)site_id, sha, idx, problem);
            if (note_try(cs, id, idx, problem))
                rc = adt_fail(err, ADT_EIO, "recording a failed fetch: %s",
                              PQerrorMessage(cstore_conn(cs)));
            continue;
        }
        /* The bytes are the site's (its ledger says so): they are kept; a
         * rollups batch is also loaded, in the same transaction, unless it
         * is malformed (then the problem is kept beside it). */
        adt_err le = {0};
        int lrc = exec_ok(cs, "BEGIN", err);
        if (lrc) {
            rc = lrc;
            break;
        }
        bool loaded = true;
        if (!strcmp(PQgetvalue(r, i, 3), "rollups") &&
            load_rollups(cs, id, idx, &body, &le) != ADT_OK) {
            if (!cstore_ok(cs)) {
                rc = adt_fail(err, ADT_EIO, "%s", le.msg);
                break;
            }
            cstore_rollback(cs);
            loaded = false;
            log_msg(LOG_WARN, "central", "site %lld: rollups batch (entry %s) kept but not "
                    "loaded: %s", (long long)site_id, idx, le.msg);
            if ((rc = exec_ok(cs, "BEGIN", err)))
                break;
        }
        const char *uv[4] = {id, idx, body.data, loaded ? NULL : le.msg};
        int ul[4] = {0, 0, (int)body.len, 0};
        int uf[4] = {0, 0, 1, 0};
        PGresult *u = PQexecParams(cstore_conn(cs),
                                   "UPDATE auditd_central.shipments SET body = $3,"
                                   " fetched_at = now(), problem = $4"
                                   " WHERE site_id = $1 AND idx = $2 AND body IS NULL",
                                   4, NULL, uv, ul, uf, 0);
        if (PQresultStatus(u) != PGRES_COMMAND_OK)
            rc = cstore_fail(cs, u, err, "storing a fetched batch");
        else
            PQclear(u);
        if (!rc)
            rc = exec_ok(cs, "COMMIT", err);
        if (rc)
            cstore_rollback(cs);
        else
            (*fetched)++;
    }
    buf_free(&body);
    PQclear(r);
    return rc;
}
