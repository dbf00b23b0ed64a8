/* ereport.c: the enterprise report (see ereport.h). */
#include "ereport.h"

#include "canon.h"
#include "cproof.h"
#include "cship.h"
#include "cwitness.h"
#include "edata.h"
#include "eoscal.h"
#include "ledger.h"
#include "log.h"
#include "numparse.h"
#include "rfc3339.h"
#include "vec.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <libxml/tree.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ereport {
    edata d;
};

static const char *const fw_ids[2] = {"iso27001", "nist80053"};
static const char *const fw_names[2] = {"ISO/IEC 27001:2022", "NIST SP 800-53 Rev. 5"};
enum { P_SCOPE, P_RULES, P_SAT, P_NOT, P_NOEV };

/* ---------- the batches: strict parsers ---------- */

static int sfield(const cJSON *o, const char *key, bool nullable, char *out, size_t cap,
                  adt_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    out[0] = '\0';
    if (nullable && (!v || cJSON_IsNull(v)))
        return ADT_OK;
    if (!cJSON_IsString(v))
        return adt_fail(err, ADT_EINVAL, "batch: '%s' must be a string", key);
    if (strlen(v->valuestring) >= cap)
        return adt_fail(err, ADT_EINVAL, "batch: '%s' is longer than %zu bytes", key, cap - 1);
    snprintf(out, cap, "%s", v->valuestring);
    return ADT_OK;
}

static int ufield(const cJSON *o, const char *key, uint64_t max, uint64_t *out, adt_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > (double)max || v->valuedouble != floor(v->valuedouble))
        return adt_fail(err, ADT_EINVAL, "batch: '%s' must be a whole number in 0..%llu", key,
                        (unsigned long long)max);
    *out = (uint64_t)v->valuedouble;
    return ADT_OK;
}

static int window(const cJSON *o, const char *key, bool nullable, char *label, bool *has,
                  adt_err *err)
{
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, key);
    if (has)
        *has = false;
    if (nullable && cJSON_IsNull(w))
        return ADT_OK;
    char from[16], to[16];
    if (!cJSON_IsObject(w) || sfield(w, "label", false, label, RPERIOD_LABEL_MAX, err) ||
        sfield(w, "from", false, from, sizeof from, err) ||
        sfield(w, "to", false, to, sizeof to, err))
        return adt_fail(err, ADT_EINVAL, "batch: '%s' must be a window {label, from, to}", key);
    if (has)
        *has = true;
    return ADT_OK;
}

static int parse_common(const cJSON *j, const char *want_kind, adt_err *err)
{
    char fmt[32], kind[16];
    if (!cJSON_IsObject(j))
        return adt_fail(err, ADT_EINVAL, "batch: not a JSON object");
    int rc = sfield(j, "format", false, fmt, sizeof fmt, err);
    if (!rc && strcmp(fmt, "auditd-shipment/1"))
        rc = adt_fail(err, ADT_EINVAL, "batch: format '%s' is not auditd-shipment/1", fmt);
    if (!rc)
        rc = sfield(j, "kind", false, kind, sizeof kind, err);
    if (!rc && want_kind && strcmp(kind, want_kind))
        rc = adt_fail(err, ADT_EINVAL, "batch: kind '%s', not '%s'", kind, want_kind);
    return rc;
}

static int parse_kpis(const cJSON *j, ekpis *k, adt_err *err)
{
    memset(k, 0, sizeof *k);
    int rc = parse_common(j, "kpi-inputs", err);
    if (!rc) rc = sfield(j, "site", true, k->site, sizeof k->site, err);
    if (!rc) rc = window(j, "period", false, k->period, NULL, err);
    if (!rc) rc = window(j, "previous_period", false, k->prev_label, NULL, err);
    if (!rc) rc = window(j, "baseline_period", true, k->base_label, &k->has_base, err);
    if (!rc) rc = sfield(j, "kpi_definitions", true, k->version, sizeof k->version, err);
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "params");
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(params, "ideal_cycle_s");
    if (!rc && (!cJSON_IsNumber(pc) || !isfinite(pc->valuedouble) || pc->valuedouble < 0))
        rc = adt_fail(err, ADT_EINVAL, "batch: params.ideal_cycle_s must be a number >= 0");
    if (!rc)
        k->ideal_cycle_s = pc->valuedouble;
    const cJSON *cal = cJSON_GetObjectItemCaseSensitive(params, "planned_hours");
    static const char *const wd[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    if (!rc && cal && !cJSON_IsNull(cal)) {
        if (!cJSON_IsObject(cal))
            rc = adt_fail(err, ADT_EINVAL, "batch: params.planned_hours must be an object");
        for (int i = 0; !rc && i < 7; i++) {
            const cJSON *h = cJSON_GetObjectItemCaseSensitive(cal, wd[i]);
            const cJSON *f = cJSON_GetArrayItem(h, 0), *t = cJSON_GetArrayItem(h, 1);
            if (!cJSON_IsArray(h) || cJSON_GetArraySize(h) != 2 || !cJSON_IsNumber(f) ||
                !cJSON_IsNumber(t) || f->valuedouble < 0 || t->valuedouble > 24 ||
                f->valuedouble > t->valuedouble || f->valuedouble != floor(f->valuedouble) ||
                t->valuedouble != floor(t->valuedouble))
                rc = adt_fail(err, ADT_EINVAL, "batch: params.planned_hours.%s must be [from, "
                              "to] hours, 0 <= from <= to <= 24", wd[i]);
            else {
                k->planned[i][0] = (int)f->valuedouble;
                k->planned[i][1] = (int)t->valuedouble;
            }
        }
        if (!rc)
            k->has_calendar = true;
    }
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "inputs");
    if (!rc && !cJSON_IsObject(in))
        rc = adt_fail(err, ADT_EINVAL, "batch: 'inputs' must be an object");
    if (!rc) rc = kpi_inputs_parse(cJSON_GetObjectItemCaseSensitive(in, "current"), &k->cur, err);
    if (!rc) rc = kpi_inputs_parse(cJSON_GetObjectItemCaseSensitive(in, "previous"), &k->prev, err);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(in, "baseline");
    if (!rc && k->has_base != (b && !cJSON_IsNull(b)))
        rc = adt_fail(err, ADT_EINVAL, "batch: a baseline period needs baseline inputs");
    if (!rc && k->has_base)
        rc = kpi_inputs_parse(b, &k->base, err);
    const cJSON *weeks = cJSON_GetObjectItemCaseSensitive(j, "weeks");
    if (!rc && (!cJSON_IsArray(weeks) || cJSON_GetArraySize(weeks) > 60))
        rc = adt_fail(err, ADT_EINVAL, "batch: 'weeks' must be an array of at most 60");
    const cJSON *w;
    if (!rc)
        cJSON_ArrayForEach(w, weeks)
        {
            kpi_inputs x;
            if ((rc = kpi_inputs_parse(cJSON_GetObjectItemCaseSensitive(w, "inputs"), &x, err)))
                break;
            k->nweeks++;
        }
    const cJSON *units = cJSON_GetObjectItemCaseSensitive(j, "work_units");
    if (!rc && units && !cJSON_IsNull(units)) {
        if (!cJSON_IsArray(units) || cJSON_GetArraySize(units) > 512)
            rc = adt_fail(err, ADT_EINVAL, "batch: 'work_units' must be an array of at most 512");
        else if (cJSON_GetArraySize(units) &&
                 !(k->units = calloc((size_t)cJSON_GetArraySize(units), sizeof *k->units)))
            rc = adt_fail(err, ADT_ENOMEM, "out of memory");
        const cJSON *un;
        if (!rc)
            cJSON_ArrayForEach(un, units)
            {
                if (!cJSON_IsString(un) || !un->valuestring[0] || strlen(un->valuestring) >= 64) {
                    rc = adt_fail(err, ADT_EINVAL, "batch: work_units[%zu] is not a device name",
                                  k->nunits);
                    break;
                }
                snprintf(k->units[k->nunits++], sizeof k->units[0], "%s", un->valuestring);
            }
    }
    const cJSON *owners = cJSON_GetObjectItemCaseSensitive(j, "owners");
    if (!rc && (!cJSON_IsArray(owners) || cJSON_GetArraySize(owners) > KPI_DEFS_MAX))
        rc = adt_fail(err, ADT_EINVAL, "batch: 'owners' must be an array of at most %d",
                      KPI_DEFS_MAX);
    if (!rc)
        cJSON_ArrayForEach(w, owners)
        {
            eowner *o = &k->owners[k->nowners++];
            if ((rc = sfield(w, "kpi", false, o->kpi, sizeof o->kpi, err)) ||
                (rc = sfield(w, "activity", true, o->activity, sizeof o->activity, err)) ||
                (rc = sfield(w, "principal", true, o->principal, sizeof o->principal, err)) ||
                (rc = sfield(w, "name", true, o->name, sizeof o->name, err)))
                break;
        }
    return rc;
}

/* A zeroed finding at the end of d's list (NULL when memory runs out). */
static efinding *new_finding(edata *d, adt_err *err)
{
    efinding *nf = vec_room(d->findings, &d->capfindings, d->nfindings, sizeof *nf, 64);
    if (!nf) {
        adt_fail(err, ADT_ENOMEM, "out of memory");
        return NULL;
    }
    d->findings = nf;
    efinding *f = &d->findings[d->nfindings++];
    memset(f, 0, sizeof *f);
    return f;
}

/* The findings are appended to d (when d is not NULL) for site `si`. */
static int parse_controls(const cJSON *j, edata *d, int si, esite *s, adt_err *err)
{
    int rc = parse_common(j, "controls", err);
    char label[RPERIOD_LABEL_MAX];
    if (!rc) rc = window(j, "period", false, label, NULL, err);
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "evaluated");
    if (!rc && !cJSON_IsBool(ev))
        rc = adt_fail(err, ADT_EINVAL, "batch: 'evaluated' must be true or false");
    if (!rc && s)
        s->evaluated = cJSON_IsTrue(ev);
    char problem[ADT_ERR_MAX];
    if (!rc) rc = sfield(j, "problem", true, problem, sizeof problem, err);
    const cJSON *posture = cJSON_GetObjectItemCaseSensitive(j, "posture");
    if (!rc && (!cJSON_IsArray(posture) || cJSON_GetArraySize(posture) != 2))
        rc = adt_fail(err, ADT_EINVAL, "batch: 'posture' must list the two frameworks");
    const cJSON *p;
    int f = 0;
    if (!rc)
        cJSON_ArrayForEach(p, posture)
        {
            char fw[32];
            static const char *const keys[5] = {"in_scope", "with_rules", "satisfied",
                                                "not_satisfied", "no_evidence"};
            if ((rc = sfield(p, "framework", false, fw, sizeof fw, err)))
                break;
            if (strcmp(fw, fw_ids[f])) {
                rc = adt_fail(err, ADT_EINVAL, "batch: posture[%d] is '%s', not '%s'", f, fw,
                              fw_ids[f]);
                break;
            }
            for (int k = 0; !rc && k < 5; k++) {
                uint64_t v = 0;
                rc = ufield(p, keys[k], 1000000, &v, err);
                if (!rc && s)
                    s->posture[f][k] = v;
            }
            f++;
        }
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(j, "findings");
    if (!rc && (!cJSON_IsArray(fs) || cJSON_GetArraySize(fs) > EDATA_FINDINGS_MAX))
        rc = adt_fail(err, ADT_EINVAL, "batch: 'findings' must be an array of at most %d",
                      EDATA_FINDINGS_MAX);
    if (rc)
        return rc;
    cJSON_ArrayForEach(p, fs)
    {
        efinding x;
        memset(&x, 0, sizeof x);
        x.site = si;
        snprintf(x.kind, sizeof x.kind, "control");
        if ((rc = sfield(p, "framework", false, x.framework, sizeof x.framework, err)) ||
            (rc = sfield(p, "control", false, x.control, sizeof x.control, err)) ||
            (rc = sfield(p, "severity", false, x.severity, sizeof x.severity, err)) ||
            (rc = sfield(p, "rule", false, x.rule, sizeof x.rule, err)) ||
            (rc = sfield(p, "title", false, x.title, sizeof x.title, err)) ||
            (rc = sfield(p, "owner", true, x.owner, sizeof x.owner, err)) ||
            (rc = sfield(p, "message", false, x.message, sizeof x.message, err)) ||
            (rc = sfield(p, "time", true, x.time, sizeof x.time, err)))
            return rc;
        if (kpi_severity_index(x.severity) < 0)
            return adt_fail(err, ADT_EINVAL, "batch: severity '%s' is not low, medium, high or "
                            "critical", x.severity);
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(p, "index");
        if (ix && !cJSON_IsNull(ix)) {
            if ((rc = ufield(p, "index", INT64_MAX, &x.about, err)))
                return rc;
            x.has_about = true;
        }
        if (!d)
            continue;
        efinding *nf = new_finding(d, err);
        if (!nf)
            return ADT_ENOMEM;
        *nf = x;
    }
    return ADT_OK;
}

int ereport_check_shipment(const char *body, size_t len, adt_err *err)
{
    if (len > CSHIP_MAX_BYTES)
        return adt_fail(err, ADT_ETOOBIG, "batch over %u bytes", CSHIP_MAX_BYTES);
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j)
        return adt_fail(err, ADT_EINVAL, "batch: not JSON");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    int rc;
    if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "controls")) {
        esite s;
        memset(&s, 0, sizeof s);
        rc = parse_controls(j, NULL, 0, &s, err);
    } else {
        ekpis *k = malloc(sizeof *k);
        rc = k ? parse_kpis(j, k, err) : adt_fail(err, ADT_ENOMEM, "out of memory");
        if (k)
            free(k->units);
        free(k);
    }
    cJSON_Delete(j);
    return rc;
}

/* ---------- gathering ---------- */

static void hex(const uint8_t *h, size_t n, char *out)
{
    sodium_bin2hex(out, n * 2 + 1, h, n);
}

/* The work units as a PostgreSQL text[] literal ({"a","b"}) into *ul
 * (initialised here; the caller frees it). */
static int units_array(const ekpis *k, buf *ul, adt_err *err)
{
    buf_init(ul, 1 << 20);
    int urc = buf_putc(ul, '{');
    for (size_t i = 0; !urc && i < k->nunits; i++) {
        urc = buf_puts(ul, i ? ",\"" : "\"");
        for (const char *c = k->units[i]; !urc && *c; c++)
            urc = (*c == '"' || *c == '\\') ? buf_printf(ul, "\\%c", *c) : buf_putc(ul, *c);
        if (!urc)
            urc = buf_putc(ul, '"');
    }
    if (!urc)
        urc = buf_putc(ul, '}');
    if (urc)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    return ADT_OK;
}

/* Add one (weekday, hour) group of the rollups (row i of r) to *in: time in
 * states split by the planned calendar, energy, production, labels. */
static void add_hour_group(const PGresult *r, int i, const ekpis *k, kpi_inputs *in,
                           uint64_t *rows, uint64_t *labelled, uint64_t *failures)
{
    int64_t dow = 0, hour = 0;
    uint64_t c[17];
    num_i64(PQgetvalue(r, i, 0), 1, 7, &dow);
    num_i64(PQgetvalue(r, i, 1), 0, 23, &hour);
    double x[17];
    for (int k2 = 2; k2 < 17; k2++) {
        x[k2] = strtod(PQgetvalue(r, i, k2), NULL);
        c[k2] = x[k2] > 0 ? (uint64_t)x[k2] : 0;
    }
    int wd = (int)(dow % 7); /* ISO Monday=1..Sunday=7 -> kpi_params Sunday=0 */
    bool planned = !k->has_calendar ||
                   (hour >= k->planned[wd][0] && hour < k->planned[wd][1]);
    *rows += c[2];
    in->meter_readings += c[3];
    if (c[7]) {
        in->has_time_model = true;
        in->apt_s += x[4];
        in->pbt_s += x[4] + (planned ? x[5] + x[6] : 0);
        in->adot_s += planned ? x[6] : 0;
    }
    if (c[9]) {
        in->has_energy = true;
        in->energy_kwh += x[8];
    }
    if (c[11] && c[13]) {
        in->has_production = true;
        in->produced += x[10];
        in->good += x[12];
    }
    if (c[16]) {
        in->has_labels = true;
        *labelled += c[14];
        *failures += c[15];
    }
}

/* The telemetry KPIs' inputs of [from, to) from the site's rollups, the
 * planned calendar applied hour by hour (exact: planned hours are whole
 * hours). *has = false when no rollup row falls in the window. */
static int rollup_inputs(cstore *cs, int64_t site_id, int64_t from_us, int64_t to_us,
                         const ekpis *k, kpi_inputs *in, uint64_t *rows, bool *has, adt_err *err)
{
    memset(in, 0, sizeof *in);
    *has = false;
    *rows = 0;
    char id[24], f[24], t[24];
    snprintf(id, sizeof id, "%lld", (long long)site_id);
    snprintf(f, sizeof f, "%lld", (long long)(from_us / 1000000));
    snprintf(t, sizeof t, "%lld", (long long)(to_us / 1000000));
    buf ul;
    int rc = units_array(k, &ul, err);
    if (rc) {
        buf_free(&ul);
        return rc;
    }
    const char *v[4] = {id, f, t, ul.data};
    PGresult *r;
    rc = cstore_exec(cs,
                     "SELECT extract(isodow FROM hour)::int, extract(hour FROM hour)::int,"
                     " count(*), coalesce(sum(readings) FILTER (WHERE u), 0),"
                     " coalesce(sum(running_s), 0),"
                     " coalesce(sum(idle_s), 0), coalesce(sum(down_s), 0),"
                     " count(running_s), coalesce(sum(energy_kwh) FILTER (WHERE u), 0),"
                     " count(energy_kwh) FILTER (WHERE u),"
                     " coalesce(sum(produced) FILTER (WHERE u), 0),"
                     " count(produced) FILTER (WHERE u),"
                     " coalesce(sum(least(good, produced)) FILTER (WHERE u), 0),"
                     " count(good) FILTER (WHERE u), coalesce(sum(labelled), 0),"
                     " coalesce(sum(failures), 0), count(labelled)"
                     " FROM (SELECT *, (cardinality($4::text[]) = 0 OR device ="
                     " ANY($4::text[])) AS u FROM auditd_central.rollups WHERE"
                     " site_id = $1 AND hour >= to_timestamp($2) AND hour <"
                     " to_timestamp($3)) r GROUP BY 1, 2",
                     4, v, NULL, NULL, PGRES_TUPLES_OK, &r, "summing the site's rollups", err);
    buf_free(&ul);
    if (rc)
        return rc;
    uint64_t labelled = 0, failures = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        add_hour_group(r, i, k, in, rows, &labelled, &failures);
    }
    PQclear(r);
    if (!*rows)
        return ADT_OK;
    *has = true;
    if (in->has_labels) {
        /* A labelled reading without a stored prediction raised no alarm. */
        rc = cstore_exec(cs,
                         "SELECT coalesce(sum(tp), 0), coalesce(sum(fp), 0), coalesce(sum(fn), 0),"
                         " coalesce(sum(tn), 0) FROM auditd_central.rollup_predictions"
                         " WHERE site_id = $1 AND hour >= to_timestamp($2) AND hour <"
                         " to_timestamp($3)",
                         3, v, NULL, NULL, PGRES_TUPLES_OK, &r,
                         "summing the site's prediction rollups", err);
        if (rc)
            return rc;
        uint64_t tp = 0, fp = 0, fn = 0, tn = 0;
        num_u64(PQgetvalue(r, 0, 0), INT64_MAX, &tp);
        num_u64(PQgetvalue(r, 0, 1), INT64_MAX, &fp);
        num_u64(PQgetvalue(r, 0, 2), INT64_MAX, &fn);
        num_u64(PQgetvalue(r, 0, 3), INT64_MAX, &tn);
        PQclear(r);
        in->tp = tp;
        in->fp = fp;
        in->fn = failures > tp ? failures - tp : 0;
        in->tn = labelled - failures > fp ? labelled - failures - fp : 0;
        in->scored = tp + fp + fn + tn;
    }
    return ADT_OK;
}

/* What every phase of gather_site reads a site with. */
typedef struct site_q {
    cstore *cs;
    esite *s;
    char id[24]; /* the site's id as text, for query parameters */
} site_q;

/* gather_site, phase 1: the site's mirror stream (next entry, size, halted). */
static int site_stream(const site_q *q, edata *d, int si, adt_err *err)
{
    esite *s = q->s;
    snprintf(s->label, sizeof s->label, "%s", s->site.origin);
    const char *v1[1] = {q->id};
    PGresult *r;
    int rc = cstore_exec(q->cs,
                         "SELECT next_entry, mirror_size, halted FROM"
                         " auditd_central.streams WHERE site_id = $1",
                         1, v1, NULL, NULL, PGRES_TUPLES_OK, &r, "reading the site's stream", err);
    if (rc)
        return rc;
    if (PQntuples(r) != 1)
        return cstore_fail(q->cs, r, err, "reading the site's stream");
    num_u64(PQgetvalue(r, 0, 0), INT64_MAX, &s->next_entry);
    num_u64(PQgetvalue(r, 0, 1), INT64_MAX, &s->mirror_size);
    s->halted = !strcmp(PQgetvalue(r, 0, 2), "t");
    PQclear(r);
    return ADT_OK;
}

/* Phase 2: the newest cosigned checkpoint the mirror covers; else the mirror's own. */
static int site_checkpoint(const site_q *q, edata *d, int si, adt_err *err)
{
    esite *s = q->s;
    const char *v1[1] = {q->id};
    PGresult *r;
    int rc = cstore_exec(q->cs,
                         "SELECT size, root, note, true FROM auditd_central.cosigned"
                         " WHERE site_id = $1 AND size > 0 AND size <= (SELECT next_entry FROM"
                         " auditd_central.streams WHERE site_id = $1) ORDER BY size DESC LIMIT 1",
                         1, v1, NULL, NULL, PGRES_TUPLES_OK, &r,
                         "reading the cosigned checkpoints", err);
    if (!rc && PQntuples(r) == 0) {
        PQclear(r);
        rc = cstore_exec(q->cs,
                         "SELECT mirror_size, mirror_root, coalesce(mirror_note, ''), false FROM"
                         " auditd_central.streams WHERE site_id = $1 AND mirror_size > 0",
                         1, v1, NULL, NULL, PGRES_TUPLES_OK, &r, "reading the mirror checkpoint",
                         err);
    }
    if (rc)
        return rc;
    if (PQntuples(r) == 1 && PQgetlength(r, 0, 2) < (int)sizeof s->cp_note &&
        !num_u64(PQgetvalue(r, 0, 0), INT64_MAX, &s->cp_size) &&
        cstore_bytea(r, 0, 1, s->cp_root, MERKLE_HASH_LEN)) {
        s->has_cp = true;
        s->cosigned = !strcmp(PQgetvalue(r, 0, 3), "t");
        snprintf(s->cp_note, sizeof s->cp_note, "%s", PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return ADT_OK;
}

/* Phase 3: the latest fetched batch of each kind (kpi-inputs, controls) for
 * the period, parsed; a malformed one becomes the site's problem. */
static int site_batches(const site_q *q, edata *d, int si, adt_err *err)
{
    esite *s = q->s;
    const char *v2[2] = {q->id, d->period.label};
    PGresult *r;
    int rc = cstore_exec(q->cs,
                         "SELECT DISTINCT ON (kind) kind, idx, encode(sha256, 'hex'), body FROM"
                         " auditd_central.shipments WHERE site_id = $1 AND period = $2 AND body IS"
                         " NOT NULL AND kind IN ('kpi-inputs', 'controls') ORDER BY kind, idx DESC",
                         2, v2, NULL, NULL, PGRES_TUPLES_OK, &r, "reading the site's batches", err);
    if (rc)
        return rc;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        bool kpis = !strcmp(PQgetvalue(r, i, 0), "kpi-inputs");
        uint64_t idx = 0;
        num_u64(PQgetvalue(r, i, 1), INT64_MAX, &idx);
        size_t blen = 0;
        unsigned char *body = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 3), &blen);
        cJSON *j = body ? cJSON_ParseWithLength((const char *)body, blen) : NULL;
        PQfreemem(body);
        adt_err pe = {0};
        int prc;
        if (kpis)
            prc = parse_kpis(j, &s->k, &pe);
        else
            prc = parse_controls(j, d, si, s, &pe);
        cJSON_Delete(j);
        if (prc) {
            /* Its digest is in the site's ledger, so the site sent it: say so. */
            snprintf(s->problem, sizeof s->problem, "the site's %s batch (entry %llu) is "
                     "malformed: %.300s", kpis ? "kpi-inputs" : "controls",
                     (unsigned long long)idx, pe.msg);
            continue;
        }
        if (kpis) {
            s->has_kpis = true;
            s->kpis_idx = idx;
            snprintf(s->kpis_sha, sizeof s->kpis_sha, "%s", PQgetvalue(r, i, 2));
            if (s->k.site[0])
                snprintf(s->label, sizeof s->label, "%s", s->k.site);
        } else {
            s->has_controls = true;
            s->controls_idx = idx;
            snprintf(s->controls_sha, sizeof s->controls_sha, "%s", PQgetvalue(r, i, 2));
        }
    }
    PQclear(r);
    return rc;
}

/* Phase 4: the telemetry KPIs from the rollups of the period and of the
 * site's own baseline period (shipped when that period was reported). */
static int site_rollups(const site_q *q, edata *d, int si, adt_err *err)
{
    cstore *cs = q->cs;
    esite *s = q->s;
    if (!s->has_kpis)
        return ADT_OK;
    uint64_t brows = 0;
    int rc = rollup_inputs(cs, s->site.id, d->period.from_us, d->period.to_us, &s->k, &s->rcur,
                           &s->rollup_rows, &s->has_rcur, err);
    rperiod bp;
    adt_err pe = {0};
    if (!rc && s->k.has_base && rperiod_parse(s->k.base_label, &bp, &pe) == ADT_OK)
        rc = rollup_inputs(cs, s->site.id, bp.from_us, bp.to_us, &s->k, &s->rbase, &brows,
                           &s->has_rbase, err);
    return rc;
}

/* Phase 5: why a batch is missing (recorded by the site but not fetched,
 * or never shipped). */
static int site_missing(const site_q *q, edata *d, int si, adt_err *err)
{
    esite *s = q->s;
    const char *v2[2] = {q->id, d->period.label};
    PGresult *r;
    if (!s->problem[0] && (!s->has_kpis || !s->has_controls)) {
        int rc = cstore_exec(q->cs,
                             "SELECT count(*), coalesce(max(problem), '') FROM"
                             " auditd_central.shipments WHERE site_id = $1 AND period = $2"
                             " AND body IS NULL",
                             2, v2, NULL, NULL, PGRES_TUPLES_OK, &r, "reading the site's batches",
                             err);
        if (rc)
            return rc;
        if (strcmp(PQgetvalue(r, 0, 0), "0"))
            snprintf(s->problem, sizeof s->problem, "%s batch(es) for %s recorded by the site "
                     "are not fetched yet%s%.300s", PQgetvalue(r, 0, 0), d->period.label,
                     PQgetvalue(r, 0, 1)[0] ? ": " : "", PQgetvalue(r, 0, 1));
        else
            snprintf(s->problem, sizeof s->problem, "the centre holds no %s batch of %s from "
                     "this site (the site ships with 'auditd ship --period %s')",
                     !s->has_kpis ? "kpi-inputs" : "controls", d->period.label, d->period.label);
        PQclear(r);
    }
    return ADT_OK;
}

/* Phase 6: integrity findings, from the centre's alerts still open or raised
 * since the period began. */
static int site_alerts(const site_q *q, edata *d, int si, adt_err *err)
{
    esite *s = q->s;
    PGresult *r;
    /* Integrity: alerts still open, or raised since the period began. */
    char from[40];
    rfc3339_format(d->period.from_us, from, sizeof from);
    const char *v3[2] = {q->id, from};
    int rc = cstore_exec(q->cs,
                         "SELECT kind, source, to_char(detected_at AT TIME ZONE 'UTC',"
                         " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), detail, coalesce(stored_note, ''),"
                         " coalesce(site_note, ''), resolved_at IS NOT NULL, id FROM"
                         " auditd_central.alerts WHERE site_id = $1 AND (resolved_at IS NULL OR"
                         " detected_at >= $2::timestamptz) ORDER BY id",
                         2, v3, NULL, NULL, PGRES_TUPLES_OK, &r, "reading the site's alerts", err);
    if (rc)
        return rc;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        efinding *f = new_finding(d, err);
        if (!f) {
            rc = ADT_ENOMEM;
            break;
        }
        f->site = si;
        snprintf(f->kind, sizeof f->kind, "site.integrity");
        snprintf(f->framework, sizeof f->framework, "integrity");
        snprintf(f->control, sizeof f->control, "site.integrity");
        snprintf(f->severity, sizeof f->severity, "critical");
        snprintf(f->rule, sizeof f->rule, "central.%s.%s", PQgetvalue(r, i, 1),
                 PQgetvalue(r, i, 0));
        bool resolved = !strcmp(PQgetvalue(r, i, 6), "t");
        snprintf(f->title, sizeof f->title, "Site ledger %s detected by the centre's %s (alert "
                 "#%s)%s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 7),
                 resolved ? ", since resolved by an operator" : "");
        snprintf(f->owner, sizeof f->owner, "central operator");
        snprintf(f->message, sizeof f->message, "%s", PQgetvalue(r, i, 3));
        snprintf(f->time, sizeof f->time, "%s", PQgetvalue(r, i, 2));
        f->stored_note = strdup(PQgetvalue(r, i, 4));
        f->site_note = strdup(PQgetvalue(r, i, 5));
        if (!f->stored_note || !f->site_note)
            rc = adt_fail(err, ADT_ENOMEM, "out of memory");
        s->nintegrity++;
    }
    PQclear(r);
    return rc;
}

/* One site of the enterprise report, in phases: the stream, the checkpoint
 * to cite, the batches, the rollups, what is missing, the alerts. */
static int gather_site(cstore *cs, edata *d, int si, adt_err *err)
{
    site_q q = {.cs = cs, .s = &d->sites[si]};
    snprintf(q.id, sizeof q.id, "%lld", (long long)q.s->site.id);
    int rc;
    if ((rc = site_stream(&q, d, si, err)) || (rc = site_checkpoint(&q, d, si, err)) ||
        (rc = site_batches(&q, d, si, err)) || (rc = site_rollups(&q, d, si, err)) ||
        (rc = site_missing(&q, d, si, err)) || (rc = site_alerts(&q, d, si, err)))
        return rc;
    return ADT_OK;
}

/* Citations and their proofs for every finding of site `si`. */
static int prove_site(cstore *cs, edata *d, int si, adt_err *err)
{
    esite *s = &d->sites[si];
    uint64_t *want = NULL;
    size_t nw = 0, cw = 0;
    int rc = ADT_OK;
    for (size_t i = 0; i < d->nfindings; i++) {
        efinding *f = &d->findings[i];
        if (f->site != si)
            continue;
        s->nfindings++;
        f->ncites = 0;
        if (!s->has_cp)
            continue;
        uint64_t cand[2];
        const char *roles[2];
        size_t nc = 0;
        if (!strcmp(f->kind, "control")) {
            cand[nc] = s->controls_idx;
            roles[nc++] = "batch";
            if (f->has_about && f->about != s->controls_idx) {
                cand[nc] = f->about;
                roles[nc++] = "about";
            }
        } else {
            cand[nc] = s->cp_size - 1;
            roles[nc++] = "history";
        }
        for (size_t k = 0; k < nc; k++) {
            if (cand[k] >= s->cp_size)
                continue; /* not covered by the checkpoint yet: said in the report */
            f->cites[f->ncites].index = cand[k];
            snprintf(f->cites[f->ncites].role, sizeof f->cites[0].role, "%s", roles[k]);
            f->ncites++;
            if (nw == cw) {
                size_t nc2 = cw ? cw * 2 : 64;
                uint64_t *x = realloc(want, nc2 * sizeof *x);
                if (!x) {
                    free(want);
                    return adt_fail(err, ADT_ENOMEM, "out of memory");
                }
                want = x;
                cw = nc2;
            }
            want[nw++] = cand[k];
        }
    }
    if (!nw) {
        free(want);
        return ADT_OK;
    }
    cproof *p = NULL;
    rc = cproof_open(cs, s->site.id, s->cp_size, &p, err);
    if (!rc)
        rc = cproof_prepare(p, want, nw, err);
    free(want);
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    for (size_t i = 0; !rc && i < d->nfindings; i++) {
        efinding *f = &d->findings[i];
        if (f->site != si)
            continue;
        for (size_t k = 0; !rc && k < f->ncites; k++) {
            buf_reset(&leaf);
            rc = cproof_get(p, f->cites[k].index, f->cites[k].proof, &f->cites[k].nproof,
                            f->cites[k].leaf_hash, &leaf, err);
            /* Checked before it is printed: the proof must lead to the cited root. */
            if (!rc && !merkle_verify_inclusion(f->cites[k].index, s->cp_size,
                                                f->cites[k].leaf_hash,
                                                (const merkle_hash *)f->cites[k].proof,
                                                f->cites[k].nproof, s->cp_root))
                rc = adt_fail(err, ADT_ECORRUPT, "site %s: the mirror does not prove entry "
                              "%llu against the checkpoint of size %llu: run 'auditd central "
                              "verify'", s->site.origin, (unsigned long long)f->cites[k].index,
                              (unsigned long long)s->cp_size);
            if (!rc) {
                f->cites[k].leaf = malloc(leaf.len ? leaf.len : 1);
                if (!f->cites[k].leaf)
                    rc = adt_fail(err, ADT_ENOMEM, "out of memory");
                else {
                    memcpy(f->cites[k].leaf, leaf.data, leaf.len);
                    f->cites[k].leaf_len = leaf.len;
                }
            }
        }
    }
    buf_free(&leaf);
    cproof_free(p);
    return rc;
}

/* ---------- computing ---------- */

/* The KPIs whose inputs come (in part) from the rollups at the centre: the
 * work units' meters and the labelled readings against the predictions
 * stored at ingestion. The time model (machine.state events), incidents,
 * drift, controls and data quality are the site's kpi-inputs, so the
 * enterprise figures keep the definitions of the sites' own reports. */
static bool from_rollups(kpi_id id)
{
    switch (id) {
    case KPI_EFFECTIVENESS:
    case KPI_QUALITY_RATIO:
    case KPI_OEE:
    case KPI_ENERGY_PER_GOOD_UNIT:
    case KPI_ENERGY_REDUCTION:
    case KPI_DETECTION_RATE:
    case KPI_PRECISION:
    case KPI_FALSE_ALARM_RATE:
        return true;
    default:
        return false;
    }
}

/* The kpi-inputs window with the rollups' meters and labels put in. */
static void merge(kpi_inputs *m, const kpi_inputs *k, const kpi_inputs *r, bool has_r)
{
    *m = *k;
    if (!has_r)
        return;
    m->has_production = r->has_production;
    m->produced = r->produced;
    m->good = r->good;
    m->has_energy = r->has_energy;
    m->energy_kwh = r->energy_kwh;
    m->meter_readings = r->meter_readings;
    m->has_labels = r->has_labels;
    m->tp = r->tp;
    m->fp = r->fp;
    m->fn = r->fn;
    m->tn = r->tn;
    m->scored = r->scored;
}

/* The inputs of KPI `id` at site s: the period's or the baseline's. */
static const kpi_inputs *site_inputs(const esite *s, kpi_id id, bool base, const char **source)
{
    *source = from_rollups(id) && (base ? s->has_rbase : s->has_rcur) ? "rollups" : "kpi-inputs";
    if (!s->has_kpis || (base && !s->k.has_base))
        return NULL;
    return base ? &s->mbase : &s->mcur;
}

static void compute_kpis(edata *d)
{
    for (size_t ki = 0; ki < d->defs.n; ki++) {
        ekpi *k = &d->kpis[ki];
        k->def = &d->defs.defs[ki];
        kpi_id id = k->def->id;
        /* Per-unit ideal time differs between sites: the total uses the
         * produced-weighted ideal cycle, which makes PTU x PQ of the total the
         * sum of the sites' PTU x PQ (effectiveness and OEE add up exactly). */
        double ptu_pq = 0, base_ptu_pq = 0, cmp_ptu_pq = 0;
        for (size_t si = 0; si < d->nsites; si++) {
            esite *s = &d->sites[si];
            kpi_params p = {.ideal_cycle_s = s->has_kpis ? s->k.ideal_cycle_s : 0};
            const char *src;
            const kpi_inputs *cur = site_inputs(s, id, false, &src);
            const kpi_inputs *base = site_inputs(s, id, true, &src);
            if (!cur) {
                k->site_cur[si] = (kpi_value){false, 0, "the site shipped no KPI inputs", NULL};
                k->site_base[si] = k->site_cur[si];
                continue;
            }
            const kpi_inputs *eb = site_inputs(s, KPI_ENERGY_PER_GOOD_UNIT, true, &src);
            double epgu = 0;
            bool has_epgu = eb && eb->has_energy && eb->has_production && eb->good > 0;
            if (has_epgu)
                epgu = eb->energy_kwh / eb->good;
            k->site_cur[si] = kpi_compute(id, cur, &p, has_epgu ? &epgu : NULL);
            k->site_base[si] = base ? kpi_compute(id, base, &p, NULL)
                                    : (kpi_value){false, 0, "no baseline period", NULL};
            kpi_inputs_add(&k->total_in, cur);
            ptu_pq += s->k.ideal_cycle_s * cur->produced;
            if (base) {
                kpi_inputs_add(&k->total_base_in, base);
                kpi_inputs_add(&k->total_cmp_in, cur);
                base_ptu_pq += s->k.ideal_cycle_s * base->produced;
                cmp_ptu_pq += s->k.ideal_cycle_s * cur->produced;
                k->total_has_base = true;
            }
        }
        k->total_params.ideal_cycle_s =
            k->total_in.produced > 0 ? ptu_pq / k->total_in.produced : 0;
        k->total_base_params.ideal_cycle_s =
            k->total_base_in.produced > 0 ? base_ptu_pq / k->total_base_in.produced : 0;
        double epgu = 0;
        bool has_epgu = k->total_has_base && k->total_base_in.has_energy &&
                        k->total_base_in.good > 0;
        if (has_epgu)
            epgu = k->total_base_in.energy_kwh / k->total_base_in.good;
        k->total_cur = kpi_compute(id, &k->total_in, &k->total_params, has_epgu ? &epgu : NULL);
        kpi_params cp = {.ideal_cycle_s = k->total_cmp_in.produced > 0
                                              ? cmp_ptu_pq / k->total_cmp_in.produced
                                              : 0};
        k->total_cmp = k->total_has_base ? kpi_compute(id, &k->total_cmp_in, &cp,
                                                       has_epgu ? &epgu : NULL)
                                         : (kpi_value){false, 0, "no site has a baseline period",
                                                       NULL};
        k->total_base = k->total_has_base
                            ? kpi_compute(id, &k->total_base_in, &k->total_base_params, NULL)
                            : (kpi_value){false, 0, "no site has a baseline period", NULL};
    }
}

static void edata_free(edata *d)
{
    for (size_t i = 0; i < d->nfindings; i++) {
        efinding *f = &d->findings[i];
        for (size_t k = 0; k < f->ncites; k++)
            free(f->cites[k].leaf);
        free(f->stored_note);
        free(f->site_note);
    }
    free(d->findings);
    for (size_t i = 0; d->sites && i < d->nsites; i++)
        free(d->sites[i].k.units);
    if (d->kpis)
        for (size_t i = 0; i < d->defs.n; i++) {
            free(d->kpis[i].site_cur);
            free(d->kpis[i].site_base);
        }
    free(d->kpis);
    free(d->sites);
    kpi_defs_free(&d->defs);
}

void ereport_free(ereport *r)
{
    if (!r)
        return;
    edata_free(&r->d);
    free(r);
}

static int severity_rank(const char *s)
{
    int i = kpi_severity_index(s);
    return i < 0 ? -1 : i;
}

static int cmp_findings(const void *a, const void *b)
{
    const efinding *x = a, *y = b;
    int sx = severity_rank(x->severity), sy = severity_rank(y->severity);
    if (sx != sy)
        return sy - sx;
    if (x->site != y->site)
        return x->site - y->site;
    int c = strcmp(x->framework, y->framework);
    return c ? c : strcmp(x->control, y->control);
}

int ereport_compute(const ereport_opts *o, ereport **out, adt_err *err)
{
    *out = NULL;
    ereport *r = calloc(1, sizeof *r);
    if (!r)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    edata *d = &r->d;
    int rc = rperiod_parse(o->period, &d->period, err);
    if (!rc && o->kpis_path)
        rc = kpi_defs_load(o->kpis_path, &d->defs, err);
    else if (!rc)
        rc = kpi_defs_parse(kpi_builtin_defs(), strlen(kpi_builtin_defs()),
                            "built-in reports/kpis.json", &d->defs, err);
    if (rc) {
        free(r);
        return rc;
    }
    d->as_of_us = o->issued_us ? o->issued_us : rfc3339_now_us();
    rfc3339_format_s(d->as_of_us, d->as_of, sizeof d->as_of);
    cstore *cs = NULL;
    rc = cstore_open(o->conninfo, "report", 0, &cs, err);
    /* One snapshot: the report sees one state of every site. */
    if (!rc) {
        PGresult *b = PQexec(cstore_conn(cs), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        if (PQresultStatus(b) != PGRES_COMMAND_OK)
            rc = cstore_fail(cs, b, err, "starting the report's snapshot");
        else
            PQclear(b);
    }
    int64_t *ids = malloc(CSTORE_SITES_MAX * sizeof *ids);
    size_t n = 0;
    if (!rc && !ids)
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
    if (!rc)
        rc = cstore_site_ids(cs, ids, CSTORE_SITES_MAX, &n, err);
    if (!rc && n == 0)
        rc = adt_fail(err, ADT_ENOTFOUND, "no site is registered with the central tier ('auditd "
                      "central site add')");
    if (!rc) {
        d->sites = calloc(n, sizeof *d->sites);
        d->kpis = calloc(d->defs.n ? d->defs.n : 1, sizeof *d->kpis);
        if (!d->sites || !d->kpis)
            rc = adt_fail(err, ADT_ENOMEM, "out of memory");
        for (size_t i = 0; !rc && i < d->defs.n; i++) {
            d->kpis[i].site_cur = calloc(n, sizeof(kpi_value));
            d->kpis[i].site_base = calloc(n, sizeof(kpi_value));
            if (!d->kpis[i].site_cur || !d->kpis[i].site_base)
                rc = adt_fail(err, ADT_ENOMEM, "out of memory");
        }
    }
    if (!rc) {
        char vk[NOTE_KEYLINE_MAX];
        if (cwitness_vkey(cs, vk, sizeof vk, err) == ADT_OK) {
            snprintf(d->witness_vkey, sizeof d->witness_vkey, "%s", vk);
            snprintf(d->witness_name, sizeof d->witness_name, "%.*s",
                     (int)strcspn(vk, "+"), vk);
        }
        memset(err, 0, sizeof *err);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        rc = cstore_site_by_id(cs, ids[i], &d->sites[i].site, err);
        d->nsites = i + 1;
        if (!rc)
            rc = gather_site(cs, d, (int)i, err);
    }
    for (size_t i = 0; !rc && i < d->nsites; i++)
        rc = prove_site(cs, d, (int)i, err);
    if (cs)
        cstore_rollback(cs);
    cstore_close(cs);
    free(ids);
    if (rc) {
        ereport_free(r);
        return rc;
    }
    for (size_t i = 0; i < d->nsites; i++) {
        esite *s = &d->sites[i];
        merge(&s->mcur, &s->k.cur, &s->rcur, s->has_rcur);
        merge(&s->mbase, &s->k.base, &s->rbase, s->has_rbase);
    }
    compute_kpis(d);
    for (size_t i = 0; i < d->nsites; i++) {
        esite *s = &d->sites[i];
        if (s->has_kpis && s->k.has_base)
            d->sites_with_base++;
        for (int f = 0; f < 2; f++)
            for (int k = 0; k < 5; k++)
                d->posture[f][k] += s->posture[f][k];
    }
    qsort(d->findings, d->nfindings, sizeof *d->findings, cmp_findings);
    for (size_t i = 0; i < d->nfindings; i++) {
        int sv = kpi_severity_index(d->findings[i].severity);
        if (sv >= 0)
            d->by_severity[sv]++;
    }
    *out = r;
    return ADT_OK;
}

void ereport_get_summary(const ereport *r, ereport_summary *out)
{
    const edata *d = &r->d;
    memset(out, 0, sizeof *out);
    out->sites = (int)d->nsites;
    out->all_cosigned = d->nsites > 0;
    for (size_t i = 0; i < d->nsites; i++) {
        out->sites_with_data += d->sites[i].has_kpis && d->sites[i].has_controls;
        out->all_cosigned &= d->sites[i].cosigned;
    }
    out->findings = d->nfindings;
    for (size_t i = 0; i < d->nfindings; i++) {
        out->integrity_findings += !strcmp(d->findings[i].kind, "site.integrity");
        out->citations += d->findings[i].ncites;
    }
}

/* ---------- display helpers ---------- */

static void fmt_value(const kpi_def *def, const kpi_value *v, char *out, size_t cap)
{
    kpi_format_value(def, v, out, cap);
}

/* The change of `cur` against `base` in display terms: points for
 * percentages, else percent of the baseline. */
static bool change_of(const kpi_def *def, const kpi_value *cur, const kpi_value *base, double *ch,
                      const char **unit)
{
    if (!cur->available || !base->available)
        return false;
    if (def->format == KPI_FMT_PERCENT) {
        *ch = (cur->value - base->value) * 100.0;
        *unit = "pts";
        return true;
    }
    if (base->value == 0)
        return false;
    *ch = (cur->value - base->value) / fabs(base->value) * 100.0;
    *unit = "%";
    return true;
}

static const char *better_worse(const kpi_def *def, double ch)
{
    if (fabs(ch) < 1e-9)
        return "flat";
    bool up = ch > 0;
    return (up == (def->direction == KPI_DIR_HIGHER)) ? "better" : "worse";
}

static const char *owner_of(const esite *s, const kpi_def *def, const char **name)
{
    *name = NULL;
    if (!s->has_kpis)
        return NULL;
    for (size_t i = 0; i < s->k.nowners; i++)
        if (!strcmp(s->k.owners[i].kpi, def->key)) {
            *name = s->k.owners[i].name[0] ? s->k.owners[i].name : NULL;
            return s->k.owners[i].principal[0] ? s->k.owners[i].principal : NULL;
        }
    return NULL;
}

static void b64(const uint8_t *p, size_t n, char *out, size_t cap)
{
    sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
}

/* ---------- JSON ---------- */

static cJSON *jvalue(const kpi_def *def, const kpi_value *v)
{
    cJSON *o = cJSON_CreateObject();
    char disp[64];
    fmt_value(def, v, disp, sizeof disp);
    if (v->available)
        cJSON_AddNumberToObject(o, "value", v->value * def->scale);
    else
        cJSON_AddNullToObject(o, "value");
    cJSON_AddStringToObject(o, "display", disp);
    if (!v->available && v->why)
        cJSON_AddStringToObject(o, "why", v->why);
    return o;
}

static cJSON *jterms(kpi_id id, const kpi_inputs *in, const kpi_params *p)
{
    kpi_term t[KPI_MAX_TERMS];
    size_t n = kpi_terms(id, in, p, NULL, t, KPI_MAX_TERMS);
    cJSON *a = cJSON_CreateArray();
    static const char *const roles[] = {"numerator", "denominator", "input"};
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", t[i].id);
        cJSON_AddStringToObject(o, "name", t[i].name);
        cJSON_AddStringToObject(o, "role", roles[t[i].role]);
        cJSON_AddStringToObject(o, "unit", t[i].unit);
        cJSON_AddNumberToObject(o, "value", t[i].value);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static void jchange(cJSON *o, const kpi_def *def, const kpi_value *cur, const kpi_value *base)
{
    double ch;
    const char *unit;
    if (change_of(def, cur, base, &ch, &unit)) {
        cJSON *c = cJSON_AddObjectToObject(o, "change_vs_baseline");
        cJSON_AddNumberToObject(c, "value", round(ch * 100) / 100);
        cJSON_AddStringToObject(c, "unit", unit);
        cJSON_AddStringToObject(c, "direction", better_worse(def, ch));
    } else {
        cJSON_AddNullToObject(o, "change_vs_baseline");
    }
}

/* `cmp` is what the baseline is compared with: the site's value, or for the
 * enterprise the total over the sites that have a baseline. */
static cJSON *jkpi(const ekpi *k, const kpi_value *cur, const kpi_value *cmp,
                   const kpi_value *base, const kpi_inputs *in, const kpi_inputs *bin,
                   const kpi_params *p, const kpi_params *bp)
{
    const kpi_def *def = k->def;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", def->key);
    cJSON_AddStringToObject(o, "name", def->name);
    cJSON_AddStringToObject(o, "unit", def->unit);
    cJSON_AddItemToObject(o, "current", jvalue(def, cur));
    cJSON_AddItemToObject(o, "baseline", jvalue(def, base));
    if (cmp != cur)
        cJSON_AddItemToObject(o, "current_of_sites_with_baseline", jvalue(def, cmp));
    jchange(o, def, cmp, base);
    cJSON_AddStringToObject(o, "status", kpi_status(def, cur));
    if (def->has_target)
        cJSON_AddNumberToObject(o, "target", def->target * def->scale);
    else
        cJSON_AddNullToObject(o, "target");
    cJSON *ins = cJSON_AddObjectToObject(o, "inputs");
    cJSON_AddItemToObject(ins, "current", in ? jterms(def->id, in, p) : cJSON_CreateNull());
    cJSON_AddItemToObject(ins, "baseline", bin ? jterms(def->id, bin, bp) : cJSON_CreateNull());
    return o;
}

static cJSON *jposture(const uint64_t p[2][5])
{
    cJSON *a = cJSON_CreateArray();
    for (int f = 0; f < 2; f++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "framework", fw_ids[f]);
        cJSON_AddStringToObject(o, "name", fw_names[f]);
        cJSON_AddNumberToObject(o, "in_scope", (double)p[f][P_SCOPE]);
        cJSON_AddNumberToObject(o, "with_rules", (double)p[f][P_RULES]);
        cJSON_AddNumberToObject(o, "satisfied", (double)p[f][P_SAT]);
        cJSON_AddNumberToObject(o, "not_satisfied", (double)p[f][P_NOT]);
        cJSON_AddNumberToObject(o, "no_evidence", (double)p[f][P_NOEV]);
        if (p[f][P_SCOPE])
            cJSON_AddNumberToObject(o, "satisfied_share",
                                    round(1000.0 * (double)p[f][P_SAT] / (double)p[f][P_SCOPE]) /
                                        10.0);
        else
            cJSON_AddNullToObject(o, "satisfied_share");
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static void jstr_or_null(cJSON *o, const char *k, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

/* The period's first and last day as YYYY-MM-DD (the end is exclusive, so the day before it). */
static void period_days(const edata *d, char f[40], char t[40])
{
    rfc3339_format(d->period.from_us, f, 40);
    rfc3339_format(d->period.to_us - 86400LL * 1000000, t, 40);
    f[10] = t[10] = '\0';
}

/* One site of the JSON report: its mirror, checkpoint, batches, KPIs and posture. */
static cJSON *j_site(const edata *d, size_t si)
{
    const esite *s = &d->sites[si];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "origin", s->site.origin);
    cJSON_AddStringToObject(o, "site", s->label);
    cJSON_AddStringToObject(o, "key", s->site.key_line);
    cJSON_AddStringToObject(o, "status", edata_site_status(s));
    jstr_or_null(o, "problem", s->problem);
    cJSON *m = cJSON_AddObjectToObject(o, "mirror");
    cJSON_AddNumberToObject(m, "entries", (double)s->next_entry);
    cJSON_AddNumberToObject(m, "mirror_size", (double)s->mirror_size);
    cJSON_AddBoolToObject(m, "halted", s->halted);
    if (s->has_cp) {
        cJSON *c = cJSON_AddObjectToObject(o, "checkpoint");
        char rh[65];
        hex(s->cp_root, 32, rh);
        cJSON_AddNumberToObject(c, "tree_size", (double)s->cp_size);
        cJSON_AddStringToObject(c, "root", rh);
        cJSON_AddBoolToObject(c, "cosigned", s->cosigned);
        cJSON_AddStringToObject(c, "note", s->cp_note);
    } else {
        cJSON_AddNullToObject(o, "checkpoint");
    }
    cJSON *b = cJSON_AddObjectToObject(o, "batches");
    if (s->has_kpis) {
        cJSON *x = cJSON_AddObjectToObject(b, "kpi_inputs");
        cJSON_AddNumberToObject(x, "index", (double)s->kpis_idx);
        cJSON_AddStringToObject(x, "sha256", s->kpis_sha);
    }
    if (s->has_controls) {
        cJSON *x = cJSON_AddObjectToObject(b, "controls");
        cJSON_AddNumberToObject(x, "index", (double)s->controls_idx);
        cJSON_AddStringToObject(x, "sha256", s->controls_sha);
    }
    jstr_or_null(o, "baseline_period", s->has_kpis && s->k.has_base ? s->k.base_label : NULL);
    cJSON *ks = cJSON_AddArrayToObject(o, "kpis");
    kpi_params p = {.ideal_cycle_s = s->has_kpis ? s->k.ideal_cycle_s : 0};
    for (size_t ki = 0; ki < d->defs.n; ki++) {
        const ekpi *k = &d->kpis[ki];
        const char *src = NULL, *bsrc = NULL;
        const kpi_inputs *ci = site_inputs(s, k->def->id, false, &src);
        const kpi_inputs *bi = site_inputs(s, k->def->id, true, &bsrc);
        cJSON *x = jkpi(k, &k->site_cur[si], &k->site_cur[si], &k->site_base[si], ci, bi, &p,
                        &p);
        cJSON *so = cJSON_AddObjectToObject(x, "source");
        cJSON_AddStringToObject(so, "current", src);
        cJSON_AddStringToObject(so, "baseline", bsrc);
        const char *name = NULL, *pr = owner_of(s, k->def, &name);
        cJSON *ow = cJSON_AddObjectToObject(x, "owner");
        jstr_or_null(ow, "activity", k->def->activity);
        jstr_or_null(ow, "principal", pr);
        jstr_or_null(ow, "name", name);
        cJSON_AddItemToArray(ks, x);
    }
    cJSON_AddBoolToObject(o, "controls_evaluated", s->evaluated);
    cJSON_AddItemToObject(o, "posture", jposture(s->posture));
    cJSON_AddNumberToObject(o, "findings", (double)s->nfindings);
    return o;
}

/* The enterprise totals: KPIs over all sites, posture, findings by severity. */
static cJSON *j_enterprise(const edata *d)
{
    cJSON *ent = cJSON_CreateObject();
    cJSON_AddNumberToObject(ent, "sites", (double)d->nsites);
    cJSON_AddNumberToObject(ent, "sites_with_baseline", d->sites_with_base);
    cJSON *ks = cJSON_AddArrayToObject(ent, "kpis");
    for (size_t ki = 0; ki < d->defs.n; ki++) {
        const ekpi *k = &d->kpis[ki];
        cJSON_AddItemToArray(ks, jkpi(k, &k->total_cur, &k->total_cmp, &k->total_base,
                                      &k->total_in,
                                      k->total_has_base ? &k->total_base_in : NULL,
                                      &k->total_params, &k->total_base_params));
    }
    cJSON_AddItemToObject(ent, "posture", jposture(d->posture));
    cJSON *sev = cJSON_AddObjectToObject(ent, "findings");
    cJSON_AddNumberToObject(sev, "total", (double)d->nfindings);
    for (int i = KPI_SEV__COUNT - 1; i >= 0; i--)
        cJSON_AddNumberToObject(sev, kpi_severity_names[i], (double)d->by_severity[i]);
    return ent;
}

/* One finding with its evidence: each cited leaf, its inclusion proof, the checkpoint it is in. */
static cJSON *j_finding(const edata *d, size_t i)
{
    const efinding *x = &d->findings[i];
    const esite *s = &d->sites[x->site];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "site", s->site.origin);
    cJSON_AddStringToObject(o, "kind", x->kind);
    cJSON_AddStringToObject(o, "severity", x->severity);
    cJSON_AddStringToObject(o, "framework", x->framework);
    cJSON_AddStringToObject(o, "control", x->control);
    cJSON_AddStringToObject(o, "rule", x->rule);
    cJSON_AddStringToObject(o, "title", x->title);
    jstr_or_null(o, "owner", x->owner);
    cJSON_AddStringToObject(o, "message", x->message);
    jstr_or_null(o, "time", x->time);
    if (x->has_about)
        cJSON_AddNumberToObject(o, "about_index", (double)x->about);
    else
        cJSON_AddNullToObject(o, "about_index");
    if (x->stored_note) {
        cJSON *ev = cJSON_AddObjectToObject(o, "alert_evidence");
        cJSON_AddStringToObject(ev, "stored_checkpoint", x->stored_note);
        cJSON_AddStringToObject(ev, "site_checkpoint", x->site_note);
    }
    cJSON *cites = cJSON_AddArrayToObject(o, "evidence");
    for (size_t k = 0; k < x->ncites; k++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddItemToArray(cites, c);
        char lh[65];
        hex(x->cites[k].leaf_hash, 32, lh);
        cJSON_AddNumberToObject(c, "index", (double)x->cites[k].index);
        cJSON_AddStringToObject(c, "role", x->cites[k].role);
        cJSON_AddStringToObject(c, "leaf_hash", lh);
        size_t bl = sodium_base64_ENCODED_LEN(x->cites[k].leaf_len,
                                              sodium_base64_VARIANT_ORIGINAL);
        char *lb = malloc(bl);
        if (lb) {
            b64((const uint8_t *)x->cites[k].leaf, x->cites[k].leaf_len, lb, bl);
            cJSON_AddStringToObject(c, "leaf", lb);
            free(lb);
        }
        cJSON *pr = cJSON_AddArrayToObject(c, "inclusion_proof");
        for (size_t h = 0; h < x->cites[k].nproof; h++) {
            char hb[48];
            b64(x->cites[k].proof[h], 32, hb, sizeof hb);
            cJSON_AddItemToArray(pr, cJSON_CreateString(hb));
        }
        cJSON_AddNumberToObject(c, "tree_size", (double)s->cp_size);
        cJSON_AddBoolToObject(c, "cosigned", s->cosigned);
    }
    return o;
}

static cJSON *build_json(const edata *d)
{
    cJSON *top = cJSON_CreateObject();
    cJSON_AddStringToObject(top, "format", EREPORT_FORMAT);
    cJSON_AddStringToObject(top, "scope", "enterprise");
    cJSON *per = cJSON_AddObjectToObject(top, "period");
    char f[40], t[40];
    period_days(d, f, t);
    cJSON_AddStringToObject(per, "label", d->period.label);
    cJSON_AddStringToObject(per, "from", f);
    cJSON_AddStringToObject(per, "to", t);
    cJSON_AddStringToObject(top, "as_of", d->as_of);
    cJSON_AddStringToObject(top, "kpi_definitions", d->defs.version ? d->defs.version : "");
    cJSON *w = cJSON_AddObjectToObject(top, "witness");
    jstr_or_null(w, "name", d->witness_name);
    jstr_or_null(w, "vkey", d->witness_vkey);
    cJSON *sites = cJSON_AddArrayToObject(top, "sites");
    for (size_t si = 0; si < d->nsites; si++)
        cJSON_AddItemToArray(sites, j_site(d, si));
    cJSON_AddItemToObject(top, "enterprise", j_enterprise(d));
    cJSON *fs = cJSON_AddArrayToObject(top, "findings");
    for (size_t i = 0; i < d->nfindings; i++)
        cJSON_AddItemToArray(fs, j_finding(d, i));
    return top;
}

/* ---------- CSV ---------- */

static int csv_cell(buf *b, const char *s, bool last)
{
    bool q = strpbrk(s, ",\"\r\n") != NULL;
    int rc = q ? buf_putc(b, '"') : ADT_OK;
    for (const char *p = s; !rc && *p; p++)
        rc = *p == '"' ? buf_puts(b, "\"\"") : buf_putc(b, *p);
    if (!rc && q)
        rc = buf_putc(b, '"');
    if (!rc)
        rc = buf_puts(b, last ? "\r\n" : ",");
    return rc;
}

static int csv_row(buf *b, const edata *d, const char *scope, const char *site, const ekpi *k,
                   const kpi_value *cur, const kpi_value *cmp, const kpi_value *base,
                   const kpi_inputs *in, const kpi_params *p, const char *owner)
{
    char v[64], bv[64], ch[32] = "", num[64] = "", den[64] = "";
    fmt_value(k->def, cur, v, sizeof v);
    fmt_value(k->def, base, bv, sizeof bv);
    double c;
    const char *u;
    if (change_of(k->def, cmp, base, &c, &u))
        snprintf(ch, sizeof ch, "%+.2f %s", c, u);
    if (in) {
        kpi_term t[KPI_MAX_TERMS];
        size_t n = kpi_terms(k->def->id, in, p, NULL, t, KPI_MAX_TERMS);
        for (size_t i = 0; i < n; i++) {
            if (t[i].role == KPI_TERM_NUMERATOR && !num[0])
                snprintf(num, sizeof num, "%.6g", t[i].value);
            if (t[i].role == KPI_TERM_DENOMINATOR && !den[0])
                snprintf(den, sizeof den, "%.6g", t[i].value);
        }
    }
    const char *cells[] = {d->period.label, scope, site, k->def->key, k->def->name, k->def->unit,
                           v, bv, ch, kpi_status(k->def, cur), num, den, owner ? owner : ""};
    int rc = ADT_OK;
    size_t nc = sizeof cells / sizeof cells[0];
    for (size_t i = 0; !rc && i < nc; i++)
        rc = csv_cell(b, cells[i], i + 1 == nc);
    return rc;
}

static int build_csv(const edata *d, buf *b)
{
    int rc = buf_puts(b, "period,scope,site,id,name,unit,value,baseline,change_vs_baseline,"
                         "status,numerator,denominator,owner\r\n");
    for (size_t ki = 0; !rc && ki < d->defs.n; ki++) {
        const ekpi *k = &d->kpis[ki];
        rc = csv_row(b, d, "enterprise", "", k, &k->total_cur, &k->total_cmp, &k->total_base,
                     &k->total_in, &k->total_params, NULL);
        for (size_t si = 0; !rc && si < d->nsites; si++) {
            const esite *s = &d->sites[si];
            kpi_params p = {.ideal_cycle_s = s->has_kpis ? s->k.ideal_cycle_s : 0};
            const char *name = NULL, *pr = owner_of(s, k->def, &name);
            const char *src;
            rc = csv_row(b, d, "site", s->site.origin, k, &k->site_cur[si], &k->site_cur[si],
                         &k->site_base[si], site_inputs(s, k->def->id, false, &src), &p,
                         name ? name : pr);
        }
    }
    return rc;
}

/* ---------- the XML document the HTML template reads ---------- */

static xmlNodePtr el(xmlNodePtr p, const char *name, const char *text)
{
    return xmlNewTextChild(p, NULL, BAD_CAST name, text ? BAD_CAST text : NULL);
}

static void at(xmlNodePtr n, const char *name, const char *v)
{
    xmlNewProp(n, BAD_CAST name, BAD_CAST(v ? v : ""));
}

static void atu(xmlNodePtr n, const char *name, uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    at(n, name, s);
}

static void xvalue(xmlNodePtr n, const kpi_def *def, const kpi_value *cur, const kpi_value *cmp,
                   const kpi_value *base)
{
    char v[64];
    fmt_value(def, cur, v, sizeof v);
    at(n, "display", v);
    at(n, "why", cur->available ? "" : cur->why);
    fmt_value(def, base, v, sizeof v);
    at(n, "baseline", v);
    double c;
    const char *u;
    if (change_of(def, cmp, base, &c, &u)) {
        char s[48];
        double shown = round(c * 10) / 10; /* as printed: -0.04 is "0.0", flat */
        if (shown == 0)
            shown = 0;
        snprintf(s, sizeof s, "%+.1f %s", shown, u);
        at(n, "change", s);
        at(n, "direction", better_worse(def, shown));
    }
    at(n, "status", kpi_status(def, cur));
}

static void xposture(xmlNodePtr parent, const uint64_t p[2][5])
{
    for (int f = 0; f < 2; f++) {
        xmlNodePtr x = el(parent, "framework", NULL);
        at(x, "id", fw_ids[f]);
        at(x, "name", fw_names[f]);
        atu(x, "in-scope", p[f][P_SCOPE]);
        atu(x, "with-rules", p[f][P_RULES]);
        atu(x, "satisfied", p[f][P_SAT]);
        atu(x, "not-satisfied", p[f][P_NOT]);
        atu(x, "no-evidence", p[f][P_NOEV]);
        char s[16] = "n/a";
        if (p[f][P_SCOPE])
            snprintf(s, sizeof s, "%.0f", 100.0 * (double)p[f][P_SAT] / (double)p[f][P_SCOPE]);
        at(x, "share", s);
    }
}

/* One site's line of the XML report. */
static void x_site(xmlNodePtr ss, const esite *s)
{
    xmlNodePtr x = el(ss, "site", NULL);
    at(x, "origin", s->site.origin);
    at(x, "label", s->label);
    at(x, "status", edata_site_status(s));
    at(x, "problem", s->problem);
    atu(x, "entries", s->next_entry);
    atu(x, "checkpoint", s->has_cp ? s->cp_size : 0);
    at(x, "cosigned", s->cosigned ? "yes" : "no");
    at(x, "baseline-period", s->has_kpis && s->k.has_base ? s->k.base_label : "");
    atu(x, "findings", s->nfindings);
    atu(x, "integrity", s->nintegrity);
    xposture(x, s->posture);
}

/* One KPI of the XML report: its total with the terms it is computed from, then each site. */
static void x_kpi(xmlNodePtr ks, const edata *d, const ekpi *k)
{
    xmlNodePtr x = el(ks, "kpi", NULL);
    at(x, "id", k->def->key);
    at(x, "name", k->def->name);
    at(x, "unit", k->def->unit);
    at(x, "group", k->def->group);
    if (k->def->has_target) {
        char tg[64];
        kpi_value tv = {true, k->def->target, NULL, NULL};
        fmt_value(k->def, &tv, tg, sizeof tg);
        at(x, "target", tg);
    }
    xmlNodePtr tot = el(x, "total", NULL);
    xvalue(tot, k->def, &k->total_cur, &k->total_cmp, &k->total_base);
    kpi_term tm[KPI_MAX_TERMS];
    size_t nt = kpi_terms(k->def->id, &k->total_in, &k->total_params, NULL, tm, KPI_MAX_TERMS);
    for (size_t i = 0; i < nt; i++) {
        if (tm[i].role == KPI_TERM_INPUT)
            continue;
        xmlNodePtr te = el(tot, "term", NULL);
        at(te, "name", tm[i].name);
        at(te, "role", tm[i].role == KPI_TERM_NUMERATOR ? "numerator" : "denominator");
        char v[48];
        if (fabs(tm[i].value) >= 1000)
            snprintf(v, sizeof v, "%.0f %s", tm[i].value, tm[i].unit);
        else
            snprintf(v, sizeof v, "%.4g %s", tm[i].value, tm[i].unit);
        at(te, "value", v);
    }
    for (size_t si = 0; si < d->nsites; si++) {
        xmlNodePtr sx = el(x, "site", NULL);
        at(sx, "origin", d->sites[si].site.origin);
        at(sx, "label", d->sites[si].label);
        xvalue(sx, k->def, &k->site_cur[si], &k->site_cur[si], &k->site_base[si]);
        const char *name = NULL, *pr = owner_of(&d->sites[si], k->def, &name);
        at(sx, "owner", name ? name : pr);
    }
}

/* One finding of the XML report, with the entries it cites. */
static void x_finding(xmlNodePtr fs, const edata *d, const efinding *x)
{
    const esite *s = &d->sites[x->site];
    xmlNodePtr fx = el(fs, "finding", x->message);
    at(fx, "site", s->label);
    at(fx, "kind", x->kind);
    at(fx, "severity", x->severity);
    at(fx, "framework", x->framework);
    at(fx, "control", x->control);
    at(fx, "title", x->title);
    at(fx, "owner", x->owner);
    at(fx, "when", x->time);
    char ev[256] = "";
    size_t used = 0;
    for (size_t k = 0; k < x->ncites && used < sizeof ev; k++) {
        int w = snprintf(ev + used, sizeof ev - used, "%s#%llu", k ? ", " : "",
                         (unsigned long long)x->cites[k].index);
        if (w > 0)
            used += (size_t)w;
    }
    at(fx, "entries", ev);
    atu(fx, "tree-size", s->cp_size);
    at(fx, "proven", x->ncites ? (s->cosigned ? "cosigned" : "site-signed") : "no");
}

static xmlDocPtr build_xml(const edata *d)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "enterprise");
    xmlDocSetRootElement(doc, root);
    char f[40], t[40];
    period_days(d, f, t);
    at(root, "period", d->period.label);
    at(root, "from", f);
    at(root, "to", t);
    at(root, "as-of", d->as_of);
    at(root, "witness", d->witness_name);
    at(root, "witness-key", d->witness_vkey);
    atu(root, "sites", d->nsites);
    atu(root, "sites-with-baseline", (uint64_t)d->sites_with_base);
    xmlNodePtr ss = el(root, "sites", NULL);
    for (size_t si = 0; si < d->nsites; si++)
        x_site(ss, &d->sites[si]);
    xmlNodePtr ks = el(root, "kpis", NULL);
    for (size_t ki = 0; ki < d->defs.n; ki++)
        x_kpi(ks, d, &d->kpis[ki]);
    xmlNodePtr cp = el(root, "compliance", NULL);
    xposture(cp, d->posture);
    xmlNodePtr fs = el(root, "findings", NULL);
    atu(fs, "total", d->nfindings);
    for (int i = 0; i < KPI_SEV__COUNT; i++)
        atu(fs, kpi_severity_names[i], d->by_severity[i]);
    for (size_t i = 0; i < d->nfindings; i++)
        x_finding(fs, d, &d->findings[i]);
    return doc;
}

/* ---------- rendering ---------- */

int ereport_render(ereport *r, report_format f, const char *template_path, buf *out,
                   adt_err *err)
{
    const edata *d = &r->d;
    int rc;
    switch (f) {
    case REPORT_JSON: {
        cJSON *j = build_json(d);
        rc = j ? reports_save_json(j, out, err) : adt_fail(err, ADT_ENOMEM, "out of memory");
        cJSON_Delete(j);
        return rc;
    }
    case REPORT_CSV:
        rc = build_csv(d, out);
        return rc ? adt_fail(err, rc, "the CSV does not fit") : ADT_OK;
    case REPORT_XML:
    case REPORT_HTML: {
        xmlDocPtr doc = build_xml(d);
        if (!doc)
            return adt_fail(err, ADT_ENOMEM, "out of memory");
        rc = f == REPORT_XML ? reports_save_xml(doc, out, err)
                             : reports_xslt_html(doc, template_path,
                                                 reports_builtin_enterprise_template(),
                                                 "templates/enterprise-html.xsl", out, err);
        xmlFreeDoc(doc);
        return rc;
    }
    case REPORT_OSCAL_XML: {
        xmlDocPtr doc = NULL;
        rc = eoscal_build_xml(d, &doc, err);
        if (!rc)
            rc = reports_save_xml(doc, out, err);
        xmlFreeDoc(doc);
        return rc;
    }
    case REPORT_OSCAL_JSON: {
        cJSON *j = NULL;
        rc = eoscal_build_json(d, &j, err);
        if (!rc)
            rc = reports_save_json(j, out, err);
        cJSON_Delete(j);
        return rc;
    }
    }
    return adt_fail(err, ADT_EINVAL, "unknown format");
}
