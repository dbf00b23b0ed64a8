#include "cship.h"

#include "log.h"
#include "numparse.h"

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
                               "SELECT idx, encode(sha256, 'hex'), bytes FROM"
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
        const char *uv[3] = {id, idx, body.data};
        int ul[3] = {0, 0, (int)body.len};
        int uf[3] = {0, 0, 1};
        PGresult *u = PQexecParams(cstore_conn(cs),
                                   "UPDATE auditd_central.shipments SET body = $3,"
                                   " fetched_at = now(), problem = NULL"
                                   " WHERE site_id = $1 AND idx = $2 AND body IS NULL",
                                   3, NULL, uv, ul, uf, 0);
        if (PQresultStatus(u) != PGRES_COMMAND_OK)
            rc = cstore_fail(cs, u, err, "storing a fetched batch");
        else {
            PQclear(u);
            (*fetched)++;
        }
    }
    buf_free(&body);
    PQclear(r);
    return rc;
}
