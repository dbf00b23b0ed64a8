/* registry.c: versioned profiles and registered devices (registry.h). */
#include "registry.h"

#include "canon.h"
#include "profile.h"
#include "rfc3339.h"
#include "sqldb.h"
#include "tdb.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every registry change bumps this counter so ingestion caches notice it. */
#define BUMP "UPDATE meta SET v = v + 1 WHERE k = 'registry';"

static int begin(sqlite3 *db, adt_err *err)
{
    return sqldb_begin(db, err);
}

static void rollback(sqlite3 *db)
{
    sqldb_rollback(db);
}

/* Latest (version, sha256) of a profile; version 0 if none. */
static int latest(sqlite3 *db, const char *name, int64_t *version, char sha[65], adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db, "SELECT version, sha256 FROM profiles WHERE name=? "
                             "ORDER BY version DESC LIMIT 1", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    *version = 0;
    sha[0] = 0;
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *version = sqlite3_column_int64(st, 0);
        snprintf(sha, 65, "%s", (const char *)sqlite3_column_text(st, 1));
    } else if (s != SQLITE_DONE) {
        rc = sqldb_fail(db, "reading profiles", err);
    }
    sqlite3_finalize(st);
    return rc;
}

int registry_profile_put(sqlite3 *db, const evsink *s, const char *actor, const char *json,
                         size_t len, registry_put *res, adt_err *err)
{
    memset(res, 0, sizeof *res);
    res->ledger_index = EVSINK_NONE;
    profile *p;
    int rc = profile_parse(json, len, &p, err);
    if (rc)
        return rc;
    snprintf(res->name, sizeof res->name, "%s", p->name);
    snprintf(res->sha256, sizeof res->sha256, "%s", p->sha256);
    sqlite3_stmt *st = NULL;
    rc = begin(db, err);
    if (rc)
        goto out;
    int64_t v;
    char sha[65];
    rc = latest(db, p->name, &v, sha, err);
    if (rc)
        goto fail;
    if (v > 0 && !strcmp(sha, p->sha256)) {
        res->version = v;
        rc = sqldb_exec(db, "COMMIT", "committing", err);
        goto out;
    }
    res->version = v + 1;
    res->changed = true;
    rc = sqldb_prepare(db, "INSERT INTO profiles(name, version, sha256, json, created_us) "
                         "VALUES(?,?,?,?,?)", &st, err);
    if (rc)
        goto fail;
    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, res->version);
    sqlite3_bind_text(st, 3, p->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, p->canonical, (int)p->canonical_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, rfc3339_now_us());
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = sqldb_fail(db, "storing the profile", err);
        goto fail;
    }
    int64_t rowid = sqlite3_last_insert_rowid(db);
    sqlite3_finalize(st);
    st = NULL;
    evsink_event ev;
    evsink_begin(&ev, EVSINK_PIPELINE, "profile.change", EVENT_WRITER_AUDITD, actor);
    evsink_str(&ev, "profile", p->name);
    evsink_int(&ev, "version", res->version);
    evsink_str(&ev, "sha256", p->sha256);
    rc = evsink_record(s, &ev, 1, &res->ledger_index, err);
    evsink_free(&ev);
    if (rc)
        goto fail;
    if (res->ledger_index != EVSINK_NONE) {
        char sql[128];
        snprintf(sql, sizeof sql, "UPDATE profiles SET ledger_index=%llu WHERE id=%lld",
                 (unsigned long long)res->ledger_index, (long long)rowid);
        rc = sqldb_exec(db, sql, "recording the ledger index", err);
        if (rc)
            goto fail;
    }
    rc = sqldb_exec(db, BUMP "COMMIT", "committing the profile", err);
    goto out;
fail:
    sqlite3_finalize(st);
    st = NULL;
    rollback(db);
out:
    sqlite3_finalize(st);
    profile_free(p);
    return rc;
}

int registry_profiles_json(sqlite3 *db, buf *out, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db,
                         "SELECT p.name, p.version, p.sha256, p.json FROM profiles p "
                         "WHERE p.version = (SELECT MAX(version) FROM profiles q "
                         "WHERE q.name = p.name) ORDER BY p.name", &st, err);
    if (rc)
        return rc;
    rc = buf_putc(out, '[');
    int n = 0;
    int s;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *json = (const char *)sqlite3_column_text(st, 3);
        profile *p = NULL;
        adt_err e2;
        if (profile_parse(json, strlen(json), &p, &e2)) {
            rc = adt_fail(err, ADT_ECORRUPT, "stored profile %s: %s",
                          sqlite3_column_text(st, 0), e2.msg);
            break;
        }
        rc = buf_printf(out, "%s{\"profile\":\"%s\",\"version\":%lld,\"sha256\":\"%s\","
                             "\"device_type\":\"%s\",\"sampling_interval_s\":%lld,\"fields\":%zu}",
                        n++ ? "," : "", p->name, (long long)sqlite3_column_int64(st, 1),
                        sqlite3_column_text(st, 2), p->device_type, (long long)p->interval_s,
                        p->nfields);
        profile_free(p);
    }
    sqlite3_finalize(st);
    if (!rc)
        rc = buf_putc(out, ']');
    return rc;
}

int registry_profile_json(sqlite3 *db, const char *name, int64_t version, buf *out,
                          adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db, version > 0
                                 ? "SELECT json FROM profiles WHERE name=? AND version=?"
                                 : "SELECT json FROM profiles WHERE name=? "
                                   "ORDER BY version DESC LIMIT 1",
                         &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (version > 0)
        sqlite3_bind_int64(st, 2, version);
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = buf_puts(out, (const char *)sqlite3_column_text(st, 0));
    else
        rc = adt_fail(err, ADT_ENOTFOUND, "no profile '%s'%s; 'auditd profile list' shows them",
                      name, version > 0 ? " at that version" : "");
    sqlite3_finalize(st);
    return rc;
}

bool registry_device_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':'))
            return false;
    }
    return true;
}

static int check_devices(const registry_device *devs, size_t n, adt_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!registry_device_name_ok(devs[i].name))
            return adt_fail(err, ADT_EINVAL,
                            "device %zu: id must be 1..64 characters of A-Z a-z 0-9 _ - . :",
                            i + 1);
        if ((devs[i].site && strlen(devs[i].site) > 64) ||
            (devs[i].firmware && strlen(devs[i].firmware) > 64))
            return adt_fail(err, ADT_EINVAL, "device %s: site and firmware are at most 64 bytes",
                            devs[i].name);
    }
    return ADT_OK;
}

/* The statements of one registration, prepared once for all its devices. */
typedef struct dev_stmts {
    sqlite3_stmt *get, *ins, *upd;
} dev_stmts;

static int dev_stmts_prepare(sqlite3 *db, dev_stmts *q, adt_err *err)
{
    memset(q, 0, sizeof *q);
    int rc = sqldb_prepare(db, "SELECT id, profile, site, firmware FROM devices WHERE name=?",
                           &q->get, err);
    if (!rc)
        rc = sqldb_prepare(db, "INSERT INTO devices(name, profile, site, firmware, registered_us) "
                               "VALUES(?,?,?,?,?)", &q->ins, err);
    if (!rc)
        rc = sqldb_prepare(db, "UPDATE devices SET profile=?, site=?, firmware=? WHERE id=?",
                           &q->upd, err);
    return rc;
}

static void dev_stmts_finalize(dev_stmts *q)
{
    sqlite3_finalize(q->get);
    sqlite3_finalize(q->ins);
    sqlite3_finalize(q->upd);
}

/* Insert `d`, or update it when its attributes changed (an unspecified
 * firmware keeps the twin's). OUT: *id, *changed (false: nothing to record). */
static int upsert_device(sqlite3 *db, const dev_stmts *q, const registry_device *d, int64_t *id,
                         bool *changed, adt_err *err)
{
    const char *site = d->site ? d->site : "";
    sqlite3_reset(q->get);
    sqlite3_bind_text(q->get, 1, d->name, -1, SQLITE_STATIC);
    int sr = sqlite3_step(q->get);
    if (sr == SQLITE_DONE) {
        sqlite3_reset(q->get);
        sqlite3_reset(q->ins);
        sqlite3_bind_text(q->ins, 1, d->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q->ins, 2, d->profile, -1, SQLITE_STATIC);
        sqlite3_bind_text(q->ins, 3, site, -1, SQLITE_STATIC);
        sqlite3_bind_text(q->ins, 4, d->firmware ? d->firmware : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(q->ins, 5, rfc3339_now_us());
        if (sqlite3_step(q->ins) != SQLITE_DONE)
            return sqldb_fail(db, "registering a device", err);
        *id = sqlite3_last_insert_rowid(db);
        *changed = true;
        return ADT_OK;
    }
    if (sr != SQLITE_ROW)
        return sqldb_fail(db, "reading devices", err);
    *id = sqlite3_column_int64(q->get, 0);
    char fw[80];
    snprintf(fw, sizeof fw, "%s", d->firmware ? d->firmware
                                              : (const char *)sqlite3_column_text(q->get, 3));
    *changed = strcmp((const char *)sqlite3_column_text(q->get, 1), d->profile) ||
               strcmp((const char *)sqlite3_column_text(q->get, 2), site) ||
               strcmp((const char *)sqlite3_column_text(q->get, 3), fw);
    sqlite3_reset(q->get);
    if (!*changed)
        return ADT_OK;
    sqlite3_reset(q->upd);
    sqlite3_bind_text(q->upd, 1, d->profile, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->upd, 2, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->upd, 3, fw, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q->upd, 4, *id);
    return sqlite3_step(q->upd) == SQLITE_DONE ? ADT_OK
                                               : sqldb_fail(db, "updating a device", err);
}

/* Store the ledger index of each recorded registration. */
static int set_device_indices(sqlite3 *db, const int64_t *ids, size_t n, uint64_t first,
                              adt_err *err)
{
    if (first == EVSINK_NONE)
        return ADT_OK;
    sqlite3_stmt *st;
    int rc = sqldb_prepare(db, "UPDATE devices SET ledger_index=? WHERE id=?", &st, err);
    for (size_t i = 0; !rc && i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, (int64_t)(first + i));
        sqlite3_bind_int64(st, 2, ids[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sqldb_fail(db, "recording the ledger index", err);
    }
    sqlite3_finalize(st);
    return rc;
}

int registry_devices_put(sqlite3 *db, const evsink *s, const char *actor,
                         const registry_device *devs, size_t n, adt_err *err)
{
    int rc = check_devices(devs, n, err);
    if (rc)
        return rc;
    evsink_event *evs = calloc(n ? n : 1, sizeof *evs);
    int64_t *ids = calloc(n ? n : 1, sizeof *ids);
    size_t nev = 0;
    dev_stmts q = {0};
    if (!evs || !ids)
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
    if (!rc)
        rc = begin(db, err);
    if (!rc)
        rc = dev_stmts_prepare(db, &q, err);
    for (size_t i = 0; !rc && i < n; i++) {
        const registry_device *d = &devs[i];
        int64_t pv = 0, id = 0;
        char sha[65];
        bool changed = false;
        rc = latest(db, d->profile ? d->profile : "", &pv, sha, err);
        if (!rc && pv == 0)
            rc = adt_fail(err, ADT_EINVAL,
                          "device %s: profile '%s' is not loaded ('auditd profile load FILE')",
                          d->name, d->profile ? d->profile : "");
        if (!rc)
            rc = upsert_device(db, &q, d, &id, &changed, err);
        if (rc || !changed)
            continue;
        evsink_event *e = &evs[nev];
        evsink_begin(e, EVSINK_PIPELINE, "device.register", EVENT_WRITER_AUDITD, actor);
        evsink_str(e, "device", d->name);
        evsink_str(e, "profile", d->profile);
        evsink_int(e, "profile_version", pv);
        evsink_str(e, "profile_sha256", sha);
        evsink_str(e, "site", d->site ? d->site : "");
        ids[nev++] = id;
    }
    dev_stmts_finalize(&q);
    uint64_t first = EVSINK_NONE;
    if (!rc && nev)
        rc = evsink_record(s, evs, nev, &first, err);
    if (!rc)
        rc = set_device_indices(db, ids, nev, first, err);
    if (!rc)
        rc = sqldb_exec(db, BUMP "COMMIT", "committing the devices", err);
    if (rc)
        rollback(db);
    for (size_t i = 0; i < nev; i++)
        evsink_free(&evs[i]);
    free(evs);
    free(ids);
    return rc;
}

int registry_devices_ndjson(sqlite3 *db, const evsink *s, const char *actor, const char *text,
                            size_t len, size_t *count, adt_err *err)
{
    size_t cap = 16, n = 0;
    registry_device *devs = malloc(cap * sizeof *devs);
    cJSON **docs = malloc(cap * sizeof *docs);
    int rc = (devs && docs) ? ADT_OK : adt_fail(err, ADT_ENOMEM, "out of memory");
    size_t off = 0, lineno = 0;
    while (!rc && off < len) {
        const char *line = text + off;
        const char *nl = memchr(line, '\n', len - off);
        size_t ll = nl ? (size_t)(nl - line) : len - off;
        off += ll + (nl ? 1 : 0);
        lineno++;
        while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' '))
            ll--;
        if (ll == 0)
            continue;
        cJSON *j = cJSON_ParseWithLength(line, ll);
        const cJSON *dv = cJSON_GetObjectItemCaseSensitive(j, "device");
        const cJSON *pf = cJSON_GetObjectItemCaseSensitive(j, "profile");
        const cJSON *si = cJSON_GetObjectItemCaseSensitive(j, "site");
        const cJSON *fw = cJSON_GetObjectItemCaseSensitive(j, "firmware");
        if (!cJSON_IsObject(j) || !cJSON_IsString(dv) || !cJSON_IsString(pf) ||
            (si && !cJSON_IsString(si)) || (fw && !cJSON_IsString(fw))) {
            cJSON_Delete(j);
            rc = adt_fail(err, ADT_EINVAL,
                          "line %zu: expected {\"device\":\"ID\",\"profile\":\"NAME\","
                          "\"site\":\"S\"?,\"firmware\":\"V\"?}", lineno);
            break;
        }
        if (n == cap) {
            cap *= 2;
            registry_device *d2 = realloc(devs, cap * sizeof *devs);
            if (d2)
                devs = d2;
            cJSON **j2 = realloc(docs, cap * sizeof *docs);
            if (j2)
                docs = j2;
            if (!d2 || !j2) {
                cJSON_Delete(j);
                rc = adt_fail(err, ADT_ENOMEM, "out of memory");
                break;
            }
        }
        docs[n] = j;
        devs[n] = (registry_device){dv->valuestring, pf->valuestring,
                                    si ? si->valuestring : NULL, fw ? fw->valuestring : NULL};
        n++;
    }
    if (!rc)
        rc = registry_devices_put(db, s, actor, devs, n, err);
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(docs[i]);
    free(docs);
    free(devs);
    if (count)
        *count = rc ? 0 : n;
    return rc;
}

/* One row of the devices query (registry_devices_json) as a JSON object,
 * after a comma unless it is row 0. */
static int device_row_json(sqlite3_stmt *st, int row, buf *out)
{
    static const char *const key[] = {"device", "profile", "profile_version", "site",
                                      "firmware", "model_version"};
    for (int c = 0; c < 6; c++) {
        const char *v = (const char *)sqlite3_column_text(st, c);
        if (buf_printf(out, "%s\"%s\":", c ? "," : row ? ",{" : "{", key[c]) ||
            (c == 2 ? buf_printf(out, "%lld", (long long)sqlite3_column_int64(st, c))
                    : canon_put_string(out, v ? v : "", v ? strlen(v) : 0)))
            return ADT_ETOOBIG;
    }
    char t1[40], t2[40];
    int rc;
    if (sqlite3_column_type(st, 6) == SQLITE_NULL) {
        rc = buf_puts(out, ",\"last_seen\":null,\"last_values\":null,"
                           "\"last_profile_version\":null");
    } else {
        rfc3339_format(sqlite3_column_int64(st, 6), t1, sizeof t1);
        rc = buf_printf(out, ",\"last_seen\":\"%s\",\"last_values\":%s,"
                             "\"last_profile_version\":%lld",
                        t1, (const char *)sqlite3_column_text(st, 7),
                        (long long)sqlite3_column_int64(st, 9));
    }
    rfc3339_format_s(sqlite3_column_int64(st, 8), t2, sizeof t2);
    return rc || buf_printf(out, ",\"registered\":\"%s\"}", t2) ? ADT_ETOOBIG : ADT_OK;
}

int registry_devices_json(sqlite3 *db, const char *name, buf *out, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(
        db,
        "SELECT d.name, d.profile, (SELECT MAX(version) FROM profiles q "
        "WHERE q.name=d.profile), d.site, d.firmware, d.model_version, d.last_seen_us, "
        "d.last_values, d.registered_us, p.version FROM devices d "
        "LEFT JOIN profiles p ON p.id=d.last_pv "
        "WHERE ?1 IS NULL OR d.name=?1 ORDER BY d.name",
        &st, err);
    if (rc)
        return rc;
    if (name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int n = 0;
    if (!name)
        rc = buf_putc(out, '[');
    while (!rc && sqlite3_step(st) == SQLITE_ROW)
        rc = device_row_json(st, n++, out);
    sqlite3_finalize(st);
    if (!name && !rc)
        rc = buf_putc(out, ']');
    if (name && !rc && n == 0)
        return adt_fail(err, ADT_ENOTFOUND, "no device '%s'; 'auditd device list' shows them",
                        name);
    return rc ? (rc == ADT_ENOTFOUND ? rc : ADT_ETOOBIG) : ADT_OK;
}
