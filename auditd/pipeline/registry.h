/* registry.h: device profiles (versioned) and registered devices with their
 * twin records, in telemetry.db. Every change is recorded in the ledger in
 * the same step: `profile.change` {profile, version, sha256} and
 * `device.register` {device, profile, profile_version, site}.
 *
 * A profile's version is a counter per profile name plus the SHA-256 of its
 * canonical JSON; loading identical content again changes nothing. Each
 * reading keeps the profile version it was validated against. */
#ifndef AUDITD_REGISTRY_H
#define AUDITD_REGISTRY_H

#include "buf.h"
#include "evsink.h"
#include "status.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct registry_put {
    char name[65];
    int64_t version;
    char sha256[65];
    bool changed;          /* false: identical to the latest version */
    uint64_t ledger_index; /* of profile.change, EVSINK_NONE if unchanged */
} registry_put;

/* Load a profile document (validated with profile_parse). */
int registry_profile_put(sqlite3 *db, const evsink *s, const char *actor, const char *json,
                         size_t len, registry_put *res, adt_err *err);

/* JSON array of {"profile","version","sha256","device_type","fields"} (latest versions). */
int registry_profiles_json(sqlite3 *db, buf *out, adt_err *err);
/* The stored canonical JSON of profile `name` at `version` (0 = latest). */
int registry_profile_json(sqlite3 *db, const char *name, int64_t version, buf *out,
                          adt_err *err);

typedef struct registry_device {
    const char *name;     /* device id, 1..64 chars of A-Z a-z 0-9 _ - . : */
    const char *profile;  /* a loaded profile name */
    const char *site;     /* may be NULL */
    const char *firmware; /* may be NULL */
} registry_device;

/* Whether `s` is a valid device name (and site name): 1..64 characters of
 * A-Z a-z 0-9 _ - . : (so it can stand in an MQTT topic level). */
bool registry_device_name_ok(const char *s);

/* Register (or re-register with changed attributes) devices, all or nothing.
 * Unknown profiles and bad names are refused naming the device. */
int registry_devices_put(sqlite3 *db, const evsink *s, const char *actor,
                         const registry_device *devs, size_t n, adt_err *err);

/* Parse an NDJSON registration file: lines {"device","profile","site"?,"firmware"?}
 * and register them all (or nothing). Errors name the line. */
int registry_devices_ndjson(sqlite3 *db, const evsink *s, const char *actor, const char *text,
                            size_t len, size_t *count, adt_err *err);

/* Twin JSON: one device (`name`; ADT_ENOTFOUND if unknown) or, with name
 * NULL, an array of all. Fields: device, profile, profile_version (latest),
 * site, firmware, model_version, last_seen, last_values, last_profile_version
 * (the version the latest reading was validated against), registered. */
int registry_devices_json(sqlite3 *db, const char *name, buf *out, adt_err *err);

#endif
