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

int registry_profile_put(sqlite3 *db, const psink *s, const char *actor, const char *json,
                         size_t len, registry_put *res, adt_err *err)
{
    memset(res, 0, sizeof *res);
    res->ledger_index = PSINK_NONE;
    profile *p;
    int rc = profile_parse(json, len, &p, err);
    if (rc)
        return rc;
    snprintf(res->name, sizeof res->name, "%s", p->name);
    snprintf(res->sha256, sizeof res->sha256, "%s", p->sha256);
    buf ev;
    buf_init(&ev, LEDGER_MAX_LEAF);
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
    char body[512];
    snprintf(body, sizeof body, "{\"profile\":\"%s\",\"version\":%lld,\"sha256\":\"%s\"}",
             p->name, (long long)res->version, p->sha256);
    rc = psink_event("profile.change", actor, body, &ev, err);
    if (rc)
        goto fail;
    ledger_item it = {PSINK_SOURCE, "profile.change", ev.data, ev.len, NULL, 0, false,
                          EVENT_WRITER_AUDITD};
    rc = psink_append(s, &it, 1, &res->ledger_index, err);
    if (rc)
        goto fail;
    if (res->ledger_index != PSINK_NONE) {
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
    buf_free(&ev);
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
        rc |= buf_puts(out, n++ ? "," : "");
        rc |= buf_printf(out, "{\"profile\":\"%s\",\"version\":%lld,\"sha256\":\"%s\","
                              "\"device_type\":\"%s\",\"sampling_interval_s\":%lld,\"fields\":%zu}",
                         p->name, (long long)sqlite3_column_int64(st, 1),
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

static bool device_name_ok(const char *s)
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

int registry_devices_put(sqlite3 *db, const psink *s, const char *actor,
                         const registry_device *devs, size_t n, adt_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!device_name_ok(devs[i].name))
            return adt_fail(err, ADT_EINVAL,
                            "device %zu: id must be 1..64 characters of A-Z a-z 0-9 _ - . :",
                            i + 1);
        if ((devs[i].site && strlen(devs[i].site) > 64) ||
            (devs[i].firmware && strlen(devs[i].firmware) > 64))
            return adt_fail(err, ADT_EINVAL, "device %s: site and firmware are at most 64 bytes",
                            devs[i].name);
    }
    ledger_item *items = calloc(n ? n : 1, sizeof *items);
    buf *evs = calloc(n ? n : 1, sizeof *evs);
    int64_t *ids = calloc(n ? n : 1, sizeof *ids);
    if (!items || !evs || !ids) {
        free(items);
        free(evs);
        free(ids);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        buf_init(&evs[i], 4096);
    size_t nitems = 0;
    sqlite3_stmt *get = NULL, *ins = NULL, *upd = NULL;
    int rc = begin(db, err);
    if (rc)
        goto out;
    rc = sqldb_prepare(db, "SELECT id, profile, site, firmware FROM devices WHERE name=?", &get,
                     err);
    if (!rc)
        rc = sqldb_prepare(db, "INSERT INTO devices(name, profile, site, firmware, registered_us) "
                             "VALUES(?,?,?,?,?)", &ins, err);
    if (!rc)
        rc = sqldb_prepare(db, "UPDATE devices SET profile=?, site=?, firmware=? WHERE id=?", &upd,
                         err);
    if (rc)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const registry_device *d = &devs[i];
        int64_t pv;
        char sha[65];
        rc = latest(db, d->profile ? d->profile : "", &pv, sha, err);
        if (rc)
            goto fail;
        if (pv == 0) {
            rc = adt_fail(err, ADT_EINVAL,
                          "device %s: profile '%s' is not loaded ('auditd profile load FILE')",
                          d->name, d->profile ? d->profile : "");
            goto fail;
        }
        const char *site = d->site ? d->site : "";
        const char *fw = d->firmware ? d->firmware : "";
        sqlite3_reset(get);
        sqlite3_bind_text(get, 1, d->name, -1, SQLITE_STATIC);
        int sr = sqlite3_step(get);
        bool changed = true;
        int64_t id = 0;
        if (sr == SQLITE_ROW) {
            id = sqlite3_column_int64(get, 0);
            const char *op = (const char *)sqlite3_column_text(get, 1);
            const char *os = (const char *)sqlite3_column_text(get, 2);
            const char *of = (const char *)sqlite3_column_text(get, 3);
            /* Unspecified firmware keeps the twin's value. */
            if (!d->firmware)
                fw = of;
            changed = strcmp(op, d->profile) || strcmp(os, site) || strcmp(of, fw);
            char fwcopy[80];
            snprintf(fwcopy, sizeof fwcopy, "%s", fw);
            sqlite3_reset(get);
            if (changed) {
                sqlite3_reset(upd);
                sqlite3_bind_text(upd, 1, d->profile, -1, SQLITE_STATIC);
                sqlite3_bind_text(upd, 2, site, -1, SQLITE_STATIC);
                sqlite3_bind_text(upd, 3, fwcopy, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(upd, 4, id);
                if (sqlite3_step(upd) != SQLITE_DONE) {
                    rc = sqldb_fail(db, "updating a device", err);
                    goto fail;
                }
            }
        } else if (sr == SQLITE_DONE) {
            sqlite3_reset(get);
            sqlite3_reset(ins);
            sqlite3_bind_text(ins, 1, d->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, d->profile, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 3, site, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 4, fw, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 5, rfc3339_now_us());
            if (sqlite3_step(ins) != SQLITE_DONE) {
                rc = sqldb_fail(db, "registering a device", err);
                goto fail;
            }
            id = sqlite3_last_insert_rowid(db);
        } else {
            rc = sqldb_fail(db, "reading devices", err);
            goto fail;
        }
        if (!changed)
            continue;
        buf body;
        buf_init(&body, 4096);
        rc = buf_puts(&body, "{\"device\":");
        rc |= canon_put_string(&body, d->name, strlen(d->name));
        rc |= buf_puts(&body, ",\"profile\":");
        rc |= canon_put_string(&body, d->profile, strlen(d->profile));
        rc |= buf_printf(&body, ",\"profile_version\":%lld,\"profile_sha256\":\"%s\",\"site\":",
                         (long long)pv, sha);
        rc |= canon_put_string(&body, site, strlen(site));
        rc |= buf_putc(&body, '}');
        if (!rc)
            rc = psink_event("device.register", actor, body.data, &evs[nitems], err);
        buf_free(&body);
        if (rc)
            goto fail;
        ids[nitems] = id;
        items[nitems] = (ledger_item){PSINK_SOURCE, "device.register", evs[nitems].data,
                                      evs[nitems].len, NULL, 0, false, EVENT_WRITER_AUDITD};
        nitems++;
    }
    if (nitems) {
        uint64_t first;
        rc = psink_append(s, items, nitems, &first, err);
        if (rc)
            goto fail;
        for (size_t i = 0; i < nitems && first != PSINK_NONE; i++) {
            char sql[128];
            snprintf(sql, sizeof sql, "UPDATE devices SET ledger_index=%llu WHERE id=%lld",
                     (unsigned long long)(first + i), (long long)ids[i]);
            rc = sqldb_exec(db, sql, "recording the ledger index", err);
            if (rc)
                goto fail;
        }
    }
    sqlite3_finalize(get);
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    get = ins = upd = NULL;
    rc = sqldb_exec(db, BUMP "COMMIT", "committing the devices", err);
    goto out;
fail:
    sqlite3_finalize(get);
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    rollback(db);
out:
    for (size_t i = 0; i < n; i++)
        buf_free(&evs[i]);
    free(evs);
    free(items);
    free(ids);
    return rc;
}

int registry_devices_ndjson(sqlite3 *db, const psink *s, const char *actor, const char *text,
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
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        char t1[40], t2[40];
        rc |= buf_puts(out, n++ ? "," : "");
        rc |= buf_puts(out, "{\"device\":");
        for (int c = 0; c < 6; c++) {
            static const char *const k[] = {NULL, "profile", "profile_version", "site",
                                            "firmware", "model_version"};
            if (c > 0)
                rc |= buf_printf(out, ",\"%s\":", k[c]);
            if (c == 2)
                rc |= buf_printf(out, "%lld", (long long)sqlite3_column_int64(st, c));
            else {
                const char *v = (const char *)sqlite3_column_text(st, c);
                rc |= canon_put_string(out, v ? v : "", v ? strlen(v) : 0);
            }
        }
        if (sqlite3_column_type(st, 6) == SQLITE_NULL) {
            rc |= buf_puts(out, ",\"last_seen\":null,\"last_values\":null,"
                                "\"last_profile_version\":null");
        } else {
            rfc3339_format(sqlite3_column_int64(st, 6), t1, sizeof t1);
            rc |= buf_printf(out, ",\"last_seen\":\"%s\",\"last_values\":%s,"
                                  "\"last_profile_version\":%lld",
                             t1, (const char *)sqlite3_column_text(st, 7),
                             (long long)sqlite3_column_int64(st, 9));
        }
        rfc3339_format_s(sqlite3_column_int64(st, 8), t2, sizeof t2);
        rc |= buf_printf(out, ",\"registered\":\"%s\"}", t2);
    }
    sqlite3_finalize(st);
    if (!name && !rc)
        rc = buf_putc(out, ']');
    if (name && !rc && n == 0)
        return adt_fail(err, ADT_ENOTFOUND, "no device '%s'; 'auditd device list' shows them",
                        name);
    return rc ? (rc == ADT_ENOTFOUND ? rc : ADT_ETOOBIG) : ADT_OK;
}
