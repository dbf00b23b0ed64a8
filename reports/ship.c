/* ship.c: the batches a site ships to its central tier (see ship.h). */
#include "ship.h"

#include "canon.h"
#include "event.h"
#include "kpi.h"
#include "ledger.h"
#include "rdata.h"
#include "rfc3339.h"
#include "rollup.h"
#include "evsink.h"
#include "rperiod.h"
#include "sqldb.h"
#include "tdb.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const fw_names[2] = {"iso27001", "nist80053"};

/* ---------- the store: shipments.db ---------- */

static int db_fail(sqlite3 *db, adt_err *err, const char *what)
{
    return adt_fail(err, ADT_EIO, "%s: %s", what, db ? sqlite3_errmsg(db) : "cannot open");
}

/* shipments.db holds what was shipped, so it is durable. */
static int store_open(const char *dir, bool create, sqlite3 **out, adt_err *err)
{
    int rc = sqldb_open(dir, SHIP_DB_FILE, create ? SQLDB_CREATE : SQLDB_READ, SQLDB_DURABLE,
                        "this site has shipped nothing yet", out, err);
    if (!rc && create &&
        (rc = sqldb_exec(*out,
                         "CREATE TABLE IF NOT EXISTS shipments (sha256 TEXT PRIMARY KEY, kind TEXT "
                         "NOT NULL, period TEXT NOT NULL, created_at TEXT NOT NULL, body BLOB NOT "
                         "NULL)",
                         "preparing shipments.db", err))) {
        sqldb_close(*out);
        *out = NULL;
    }
    return rc;
}

static int store_put(sqlite3 *db, const char *sha, const char *kind, const char *period,
                     const buf *body, adt_err *err)
{
    sqlite3_stmt *st = NULL;
    char now[40];
    rfc3339_format(rfc3339_now_us(), now, sizeof now);
    if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO shipments VALUES (?, ?, ?, ?, ?)", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(db, err, "storing the batch");
    sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, period, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, body->data, (int)body->len, SQLITE_STATIC);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? ADT_OK : db_fail(db, err, "storing the batch");
}

/* ---------- the batches ---------- */

static int jstr(buf *b, const char *key, const char *v)
{
    int rc = buf_printf(b, "\"%s\":", key);
    return rc ? rc : v ? canon_put_string(b, v, strlen(v)) : buf_puts(b, "null");
}

static int day(int64_t us, char *out, size_t cap)
{
    char t[40];
    int rc = rfc3339_format(us, t, sizeof t);
    snprintf(out, cap, "%.10s", t);
    return rc;
}

/* {"label","from","to"} with `to` the last day included. */
static int window(buf *b, const char *label, int64_t from, int64_t to)
{
    char f[16], t[16];
    day(from, f, sizeof f);
    day(to - 86400LL * 1000000, t, sizeof t);
    int rc = buf_putc(b, '{');
    if (!rc) rc = jstr(b, "label", label);
    if (!rc) rc = buf_printf(b, ",\"from\":\"%s\",\"to\":\"%s\"}", f, t);
    return rc;
}

static int head(buf *b, const char *kind, const rdata *d)
{
    char root[65];
    rdata_hex(d->root, MERKLE_HASH_LEN, root);
    int rc = buf_puts(b, "{\"format\":\"" SHIP_FORMAT "\",");
    if (!rc) rc = jstr(b, "kind", kind);
    if (!rc) rc = buf_putc(b, ',');
    if (!rc) rc = jstr(b, "origin", d->origin);
    if (!rc) rc = buf_putc(b, ',');
    if (!rc) rc = jstr(b, "site", d->defs->site);
    if (!rc) rc = buf_puts(b, ",\"period\":");
    if (!rc) rc = window(b, d->period.label, d->period.from_us, d->period.to_us);
    if (!rc)
        rc = buf_printf(b, ",\"checkpoint\":{\"tree_size\":%llu,\"root\":\"%s\"},",
                        (unsigned long long)d->tree_size, root);
    if (!rc) rc = jstr(b, "as_of", d->as_of);
    return rc;
}

/* The planned operating calendar {"sun":[from,to],...}, or null (24/7). */
static int calendar(buf *b, const kpi_params *p)
{
    static const char *const wd[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    if (!p->has_calendar)
        return buf_puts(b, "null");
    int rc = buf_putc(b, '{');
    for (int i = 0; !rc && i < 7; i++)
        rc = buf_printf(b, "%s\"%s\":[%d,%d]", i ? "," : "", wd[i], p->planned[i][0],
                        p->planned[i][1]);
    return rc ? rc : buf_putc(b, '}');
}

static int inputs_or_null(buf *b, const kpi_inputs *in)
{
    return in ? kpi_inputs_json(in, b) : buf_puts(b, "null");
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int build_kpis(const rdata *d, buf *b)
{
    const kpi_defs *defs = d->defs;
    int rc = head(b, "kpi-inputs", d);
    if (!rc) rc = buf_puts(b, ",\"previous_period\":");
    if (!rc) rc = window(b, d->period.prev_label, d->period.prev_from_us, d->period.prev_to_us);
    if (!rc) rc = buf_puts(b, ",\"baseline_period\":");
    if (!rc && d->has_base)
        rc = window(b, d->base.label, d->base.from_us, d->base.to_us);
    else if (!rc)
        rc = buf_puts(b, "null");
    if (!rc) rc = buf_putc(b, ',');
    if (!rc) rc = jstr(b, "kpi_definitions", defs->version);
    if (!rc)
        rc = buf_printf(b, ",\"params\":{\"ideal_cycle_s\":%.17g,\"planned_hours\":",
                        defs->params.ideal_cycle_s);
    if (!rc)
        rc = calendar(b, &defs->params);
    if (!rc)
        rc = buf_putc(b, '}');
    if (!rc) rc = buf_puts(b, ",\"inputs\":{\"current\":");
    if (!rc) rc = kpi_inputs_json(&d->cur, b);
    if (!rc) rc = buf_puts(b, ",\"previous\":");
    if (!rc) rc = kpi_inputs_json(&d->prev, b);
    if (!rc) rc = buf_puts(b, ",\"baseline\":");
    if (!rc) rc = inputs_or_null(b, rdata_base(d));
    if (!rc) rc = buf_puts(b, "},\"weeks\":[");
    for (int w = 0; !rc && w < d->nweeks; w++) {
        int64_t f = d->period.from_us + (int64_t)w * d->week_len_us;
        int64_t t = f + d->week_len_us < d->period.to_us ? f + d->week_len_us : d->period.to_us;
        char fs[16], ts[16];
        day(f, fs, sizeof fs);
        day(t, ts, sizeof ts);
        rc = buf_printf(b, "%s{\"week\":%d,\"from\":\"%s\",\"to\":\"%s\",\"inputs\":", w ? "," : "",
                        w + 1, fs, ts);
        if (!rc) rc = kpi_inputs_json(&d->week[w], b);
        if (!rc) rc = buf_putc(b, '}');
    }
    /* The work units (devices with machine.state): the centre sums their
     * meters from the rollups, as the report does. */
    char (*u)[RDATA_STR] = NULL;
    if (!rc && d->nunits && !(u = malloc(d->nunits * sizeof *u)))
        rc = ADT_ENOMEM;
    for (size_t i = 0; !rc && i < d->nunits; i++)
        memcpy(u[i], d->units[i], sizeof u[i]);
    if (u)
        qsort(u, d->nunits, sizeof *u, cmp_name);
    if (!rc) rc = buf_puts(b, "],\"work_units\":[");
    for (size_t i = 0; !rc && i < d->nunits; i++) {
        rc = buf_puts(b, i ? "," : "");
        if (!rc) rc = canon_put_string(b, u[i], strlen(u[i]));
    }
    free(u);
    if (!rc) rc = buf_puts(b, "],\"owners\":[");
    for (size_t i = 0, n = 0; !rc && i < defs->n; i++) {
        const kpi_def *k = &defs->defs[i];
        rc = buf_puts(b, n++ ? ",{" : "{");
        if (!rc) rc = jstr(b, "kpi", k->key);
        if (!rc) rc = buf_putc(b, ',');
        if (!rc) rc = jstr(b, "activity", k->activity);
        if (!rc) rc = buf_putc(b, ',');
        if (!rc) rc = jstr(b, "principal", d->kpi_owner[i][0] ? d->kpi_owner[i] : NULL);
        if (!rc) rc = buf_putc(b, ',');
        if (!rc) rc = jstr(b, "name", d->kpi_owner_name[i][0] ? d->kpi_owner_name[i] : NULL);
        if (!rc) rc = buf_putc(b, '}');
    }
    if (!rc) rc = buf_puts(b, "]}");
    return rc;
}

static int build_controls(const rdata *d, buf *b)
{
    int rc = head(b, "controls", d);
    if (!rc) rc = buf_puts(b, ",\"evaluated\":");
    if (!rc) rc = buf_puts(b, d->controls ? "true" : "false");
    if (!rc) rc = buf_putc(b, ',');
    if (!rc) rc = jstr(b, "problem", d->controls_problem[0] ? d->controls_problem : NULL);
    if (!rc) rc = buf_puts(b, ",\"posture\":[");
    for (int f = 0; !rc && f < 2; f++) {
        const rdata_posture *p = &d->posture[f];
        rc = buf_printf(b,
                        "%s{\"framework\":\"%s\",\"in_scope\":%llu,\"with_rules\":%llu,"
                        "\"satisfied\":%llu,\"not_satisfied\":%llu,\"no_evidence\":%llu}",
                        f ? "," : "", fw_names[f], (unsigned long long)p->in_scope,
                        (unsigned long long)p->with_rules, (unsigned long long)p->satisfied,
                        (unsigned long long)p->not_satisfied, (unsigned long long)p->no_evidence);
    }
    if (!rc) rc = buf_puts(b, "],\"findings\":[");
    for (size_t i = 0; !rc && i < d->nfindings; i++) {
        const rdata_finding *f = &d->findings[i];
        char when[40] = "";
        if (f->time_us)
            rfc3339_format(f->time_us, when, sizeof when);
        rc = buf_puts(b, i ? ",{" : "{");
        if (!rc) rc = jstr(b, "framework", f->framework);
        if (!rc) rc = buf_putc(b, ',');
        if (!rc) rc = jstr(b, "control", f->control);
        if (!rc) rc = buf_putc(b, ',');
        if (!rc) rc = jstr(b, "severity", f->severity);
        if (!rc) rc = buf_putc(b, ',');
        if (!rc) rc = jstr(b, "rule", f->rule);
        if (!rc) rc = buf_putc(b, ',');
        if (!rc) rc = jstr(b, "title", f->title);
        if (!rc) rc = buf_putc(b, ',');
        if (!rc) rc = jstr(b, "owner", f->owner[0] ? f->owner : NULL);
        if (!rc) rc = buf_putc(b, ',');
        if (!rc) rc = jstr(b, "message", f->message);
        if (!rc) rc = buf_putc(b, ',');
        if (!rc) rc = jstr(b, "time", when[0] ? when : NULL);
        if (!rc && f->has_index)
            rc = buf_printf(b, ",\"index\":%llu}", (unsigned long long)f->index);
        else if (!rc)
            rc = buf_puts(b, ",\"index\":null}");
    }
    if (!rc) rc = buf_puts(b, "]}");
    return rc;
}

/* ---------- rollups ---------- */

typedef struct rctx {
    buf *b;
    char devs[512][64]; /* device names, by index in the batch */
    int ndev;
    uint64_t rows;
    int rc;
} rctx;

static int dev_index(rctx *c, const char *name)
{
    for (int i = 0; i < c->ndev; i++)
        if (!strcmp(c->devs[i], name))
            return i;
    if (c->ndev == 512 || strlen(name) >= sizeof c->devs[0])
        return -1;
    snprintf(c->devs[c->ndev], sizeof c->devs[0], "%s", name);
    return c->ndev++;
}

static int num_or_null(buf *b, bool has, double v)
{
    return has ? buf_printf(b, ",%.17g", v) : buf_puts(b, ",null");
}

static int on_row(void *ctx, const rollup_row *r)
{
    rctx *c = ctx;
    int d = dev_index(c, r->device);
    if (d < 0)
        return c->rc = ADT_ETOOBIG;
    int rc = buf_printf(c->b, "%s[%lld,%d,%llu,%lld", c->rows ? "," : "",
                        (long long)(r->hour_us / 1000000), d, (unsigned long long)r->readings,
                        (long long)r->sampled_s);
    if (!rc) rc = num_or_null(c->b, r->has_state, (double)r->running_s);
    if (!rc) rc = num_or_null(c->b, r->has_state, (double)r->idle_s);
    if (!rc) rc = num_or_null(c->b, r->has_state, (double)r->down_s);
    if (!rc) rc = num_or_null(c->b, r->has_energy, r->energy_kwh);
    if (!rc) rc = num_or_null(c->b, r->has_produced, r->produced);
    if (!rc) rc = num_or_null(c->b, r->has_good, r->good);
    if (!rc) rc = num_or_null(c->b, r->has_inspection, (double)r->inspected);
    if (!rc) rc = num_or_null(c->b, r->has_inspection, (double)r->rejected);
    if (!rc) rc = num_or_null(c->b, r->has_labels, (double)r->labelled);
    if (!rc) rc = num_or_null(c->b, r->has_labels, (double)r->failures);
    if (!rc) rc = buf_putc(c->b, ']');
    c->rows++;
    return c->rc = rc;
}

static int on_pred(void *ctx, const rollup_pred *p)
{
    rctx *c = ctx;
    int d = dev_index(c, p->device);
    if (d < 0)
        return c->rc = ADT_ETOOBIG;
    int rc = buf_printf(c->b, "%s[%lld,%d,", c->rows ? "," : "", (long long)(p->hour_us / 1000000),
                        d);
    if (!rc) rc = canon_put_string(c->b, p->model, strlen(p->model));
    if (!rc) rc = buf_putc(c->b, ',');
    if (!rc) rc = canon_put_string(c->b, p->version, strlen(p->version));
    if (!rc)
        rc = buf_printf(c->b, ",%llu,%llu,%llu,%llu,%llu,%llu]",
                        (unsigned long long)p->predictions, (unsigned long long)p->positives,
                        (unsigned long long)p->tp, (unsigned long long)p->fp,
                        (unsigned long long)p->fn, (unsigned long long)p->tn);
    c->rows++;
    return c->rc = rc;
}

static int count_row(void *ctx, const rollup_row *r)
{
    (void)r;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* One rollups batch for the hours [from, to). */
static int build_rollups(sqlite3 *tdb, const rdata *d, int64_t from, int64_t to, buf *b,
                         adt_err *err)
{
    const kpi_defs *defs = d->defs;
    rctx *c = calloc(1, sizeof *c);
    if (!c)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    buf rows, preds;
    buf_init(&rows, SHIP_MAX_BYTES);
    buf_init(&preds, SHIP_MAX_BYTES);
    c->b = &rows;
    int rc = rollup_read(tdb, from, to, NULL, on_row, c, err);
    uint64_t nrows = c->rows;
    c->b = &preds;
    c->rows = 0;
    if (!rc)
        rc = rollup_read_predictions(tdb, from, to, NULL, on_pred, c, err);
    if (rc && c->rc)
        rc = adt_fail(err, c->rc, "the rollups of one batch do not fit (%u bytes, 512 devices)",
                      SHIP_MAX_BYTES);
    if (!rc) rc = head(b, "rollups", d);
    char f[40], t[40];
    rfc3339_format_s(from, f, sizeof f);
    rfc3339_format_s(to, t, sizeof t);
    if (!rc)
        rc = buf_printf(b, ",\"hours\":{\"from\":\"%s\",\"to\":\"%s\",\"rows\":%llu}", f, t,
                        (unsigned long long)nrows);
    if (!rc)
        rc = buf_printf(b, ",\"params\":{\"ideal_cycle_s\":%.17g,\"planned_hours\":",
                        defs->params.ideal_cycle_s);
    if (!rc)
        rc = calendar(b, &defs->params);
    if (!rc) rc = buf_puts(b, ",\"baseline_period\":");
    if (!rc && d->has_base)
        rc = window(b, d->base.label, d->base.from_us, d->base.to_us);
    else if (!rc)
        rc = buf_puts(b, "null");
    if (!rc) rc = buf_puts(b, "},\"devices\":[");
    for (int i = 0; !rc && i < c->ndev; i++) {
        rc = buf_puts(b, i ? "," : "");
        if (!rc) rc = canon_put_string(b, c->devs[i], strlen(c->devs[i]));
    }
    if (!rc) rc = buf_puts(b, "],\"rows\":[");
    if (!rc && rows.len) rc = buf_append(b, rows.data, rows.len);
    if (!rc) rc = buf_puts(b, "],\"predictions\":[");
    if (!rc && preds.len) rc = buf_append(b, preds.data, preds.len);
    if (!rc) rc = buf_puts(b, "]}");
    if (rc && !err->msg[0])
        rc = adt_fail(err, ADT_ETOOBIG, "a rollups batch is over %u bytes", SHIP_MAX_BYTES);
    buf_free(&rows);
    buf_free(&preds);
    free(c);
    return rc;
}

/* The cuts of [from, to) into batches: calendar months, each halved until it
 * holds at most SHIP_ROLLUP_ROWS rows (a day at least). */
static int rollup_spans(sqlite3 *tdb, int64_t from, int64_t to, int64_t (*spans)[2], size_t cap,
                        size_t *n, adt_err *err)
{
    *n = 0;
    int64_t a = from;
    while (a < to) {
        int64_t y;
        int m, dd;
        rfc3339_civil_from_days(a / (86400LL * 1000000), &y, &m, &dd);
        int64_t next = rfc3339_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) *
                       86400LL * 1000000;
        int64_t b = next < to ? next : to;
        for (;;) {
            uint64_t rows = 0;
            int rc = rollup_read(tdb, a, b, NULL, count_row, &rows, err);
            if (rc)
                return rc;
            int64_t half = a + ((b - a) / 2 / (86400LL * 1000000)) * 86400LL * 1000000;
            if (rows <= SHIP_ROLLUP_ROWS || half <= a)
                break;
            b = half;
        }
        if (*n == cap)
            return adt_fail(err, ADT_ETOOBIG, "the period needs more than %zu rollup batches", cap);
        spans[*n][0] = a;
        spans[*n][1] = b;
        (*n)++;
        a = b;
    }
    return ADT_OK;
}

static int load_defs(const ship_opts *o, kpi_defs *defs, adt_err *err)
{
    return kpi_defs_for(o->data_dir, o->kpis_path, defs, err);
}

/* The site.shipment events, recorded in one append through the evidence sink. */
#define SHIP_BATCH_MAX 8 /* kinds shipped per period (ship_period's out[]) */
static int record(const ship_opts *o, const char *period, ship_batch *b, size_t n, adt_err *err)
{
    if (n > SHIP_BATCH_MAX)
        return adt_fail(err, ADT_EINTERNAL, "more than %d shipment kinds", SHIP_BATCH_MAX);
    if (!n)
        return ADT_OK;
    evsink sink = {.data_dir = o->data_dir};
    evsink_event ev[SHIP_BATCH_MAX];
    int64_t t = o->time_us ? o->time_us : rfc3339_now_us();
    for (size_t i = 0; i < n; i++) {
        evsink_begin(&ev[i], "auditd:ship", "site.shipment", EVENT_WRITER_AUDITD,
                     o->actor && *o->actor ? o->actor : "auditd");
        evsink_at(&ev[i], t);
        evsink_str(&ev[i], "period", period);
        evsink_str(&ev[i], "kind", b[i].kind);
        evsink_str(&ev[i], "format", SHIP_FORMAT);
        evsink_str(&ev[i], "sha256", b[i].sha256);
        evsink_uint(&ev[i], "bytes", b[i].bytes);
    }
    uint64_t first = EVSINK_NONE;
    int rc = evsink_record(&sink, ev, n, &first, err);
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            b[i].index = first + i;
        evsink_free(&ev[i]);
    }
    return rc;
}

int ship_period(const ship_opts *o, ship_batch *out, size_t *nout, adt_err *err)
{
    *nout = 0;
    rperiod per;
    int rc = rperiod_parse(o->period, &per, err);
    if (rc)
        return rc;
    kpi_defs defs;
    if ((rc = load_defs(o, &defs, err)))
        return rc;
    rdata *d = NULL;
    rdata_opts ro = {0, o->time_us, false, false};
    rc = rdata_collect(o->data_dir, &per, &defs, &ro, &d, err);
    buf *body = calloc(SHIP_BATCHES_MAX, sizeof *body);
    int64_t (*spans)[2] = calloc(SHIP_BATCHES_MAX, sizeof *spans);
    size_t n = 0, nspans = 0;
    if (!rc && (!body || !spans))
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
    for (size_t i = 0; body && i < SHIP_BATCHES_MAX; i++)
        buf_init(&body[i], SHIP_MAX_BYTES);
    if (!rc && (build_kpis(d, &body[0]) || build_controls(d, &body[1])))
        rc = adt_fail(err, ADT_ETOOBIG, "a batch is over %u bytes", SHIP_MAX_BYTES);
    if (!rc) {
        snprintf(out[0].kind, sizeof out[0].kind, "kpi-inputs");
        snprintf(out[1].kind, sizeof out[1].kind, "controls");
        n = 2;
    }
    /* The rollups, when the site has a telemetry store. */
    sqlite3 *tdb = NULL;
    adt_err te = {0};
    if (!rc && tdb_open(o->data_dir, false, &tdb, &te) == ADT_OK) {
        rc = rollup_spans(tdb, per.from_us, per.to_us, spans, SHIP_BATCHES_MAX - 2, &nspans, err);
        for (size_t i = 0; !rc && i < nspans; i++) {
            rc = build_rollups(tdb, d, spans[i][0], spans[i][1], &body[n], err);
            snprintf(out[n].kind, sizeof out[n].kind, "rollups");
            n++;
        }
    }
    if (tdb)
        sqlite3_close(tdb);
    sqlite3 *db = NULL;
    if (!rc)
        rc = store_open(o->data_dir, true, &db, err);
    for (size_t i = 0; !rc && i < n; i++) {
        uint8_t h[32];
        crypto_hash_sha256(h, (const uint8_t *)body[i].data, body[i].len);
        sodium_bin2hex(out[i].sha256, sizeof out[i].sha256, h, 32);
        out[i].bytes = body[i].len;
        rc = store_put(db, out[i].sha256, out[i].kind, per.label, &body[i], err);
    }
    sqlite3_close(db);
    if (!rc)
        rc = record(o, per.label, out, n, err);
    if (!rc)
        *nout = n;
    for (size_t i = 0; body && i < SHIP_BATCHES_MAX; i++)
        buf_free(&body[i]);
    free(body);
    free(spans);
    rdata_free(d);
    kpi_defs_free(&defs);
    return rc;
}

int ship_api(const char *data_dir, const api_request *req, api_response *resp)
{
    static const char prefix[] = "/v1/shipments/";
    if (!req->path || strncmp(req->path, prefix, sizeof prefix - 1))
        return ADT_ENOTFOUND;
    const char *sha = req->path + sizeof prefix - 1;
    if (strcmp(req->method, "GET"))
        return api_error(resp, 405, "method_not_allowed", "use GET /v1/shipments/{sha256}");
    if (!api_role_may(req->role, API_NEED_READ))
        return api_error(resp, 403, "forbidden", "shipments need an auditor or admin token");
    bool hex = strlen(sha) == 64;
    for (size_t i = 0; hex && i < 64; i++)
        hex = (sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f');
    if (!hex)
        return api_error(resp, 404, "not_found", "use /v1/shipments/{lowercase hex SHA-256 of "
                         "the batch}, as a site.shipment event names it");
    sqlite3 *db = NULL;
    adt_err err = {0};
    int rc = store_open(data_dir, false, &db, &err);
    if (rc == ADT_ENOTFOUND)
        return api_error(resp, 404, "not_found", "%s", err.msg);
    if (rc)
        return api_error(resp, 500, "internal", "%s", err.msg);
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(db, "SELECT body FROM shipments WHERE sha256 = ?", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        rc = api_error(resp, 500, "internal", "reading shipments.db: %s", sqlite3_errmsg(db));
    } else {
        sqlite3_bind_text(st, 1, sha, 64, SQLITE_STATIC);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            buf_reset(&resp->body);
            rc = buf_append(&resp->body, sqlite3_column_blob(st, 0),
                            (size_t)sqlite3_column_bytes(st, 0));
            resp->status = 200;
            resp->content_type = "application/json";
        } else {
            rc = api_error(resp, 404, "not_found", "no batch %s was shipped from this site", sha);
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}
