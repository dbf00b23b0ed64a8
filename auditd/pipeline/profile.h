/* profile.h: device profiles: what a device of a given type sends, and the
 * rules every reading is validated against. See docs/pipeline.md and
 * auditd/pipeline/profiles/profile.schema.json for the JSON format.
 *
 * A profile is parsed from JSON (untrusted: bounded in size, depth and field
 * count), canonicalised (canon.h) and identified by the SHA-256 of that
 * canonical JSON. Readings are validated into a compact packed form (one
 * tagged value per profile field, in profile order) that the telemetry store
 * keeps as a blob.
 *
 * Ownership: a `profile` owns all its strings; profile_free releases it. */
#ifndef AUDITD_PROFILE_H
#define AUDITD_PROFILE_H

#include "buf.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILE_MAX_BYTES (64u * 1024u)
#define PROFILE_MAX_FIELDS 128
#define PROFILE_NAME_MAX 64
#define PROFILE_MAX_ENUM 32

typedef enum profile_type {
    PROFILE_NUMBER = 0,
    PROFILE_INTEGER,
    PROFILE_BOOLEAN,
    PROFILE_STRING,
    PROFILE_ENUM
} profile_type;

/* KPI roles a field can play: what the hourly rollups sum (rollup.h,
 * docs/pipeline.md "Rollups"); training also reads failure_label (tstore.h). */
typedef enum profile_role {
    PROFILE_ROLE_NONE = 0,
    PROFILE_ROLE_MACHINE_STATE,
    PROFILE_ROLE_ENERGY_METER,
    PROFILE_ROLE_PRODUCED_COUNT,
    PROFILE_ROLE_GOOD_COUNT,
    PROFILE_ROLE_INSPECTION_RESULT,
    PROFILE_ROLE_FAILURE_LABEL
} profile_role;

typedef struct profile_field {
    char *name;
    profile_type type;
    char *unit;          /* NULL = dimensionless */
    bool has_min, has_max;
    double min, max;
    bool required;
    profile_role role;
    char **enum_values;  /* PROFILE_ENUM only */
    size_t n_enum;
    size_t max_len;      /* PROFILE_STRING only (default 256) */
} profile_field;

typedef struct profile {
    char *name;
    char *device_type;
    char *description;
    int64_t interval_s;  /* sampling interval in seconds */
    profile_field *fields;
    size_t nfields;
    char *canonical;     /* the canonical JSON the digest is over */
    size_t canonical_len;
    char sha256[65];     /* lowercase hex of SHA-256(canonical) */
} profile;

/* Parse and check a profile document. Every problem is reported with the
 * field it concerns. OUT: *out (free with profile_free). */
int profile_parse(const char *json, size_t len, profile **out, adt_err *err);
void profile_free(profile *p);

/* Index of field `name`, or -1. */
int profile_field_index(const profile *p, const char *name);
/* Index of the first field with role `role`, or -1. */
int profile_role_index(const profile *p, profile_role role);

const char *profile_type_name(profile_type t);
const char *profile_role_name(profile_role r);

/* Why a reading was refused. Stable names: they appear in the quarantine, in
 * `telemetry.reject` events and in docs/pipeline.md. */
typedef enum profile_reason {
    PROFILE_OK = 0,
    PROFILE_R_PARSE,          /* not a JSON object of the reading format */
    PROFILE_R_TIME,           /* missing or invalid time */
    PROFILE_R_UNKNOWN_DEVICE, /* device not registered */
    PROFILE_R_TYPE,           /* value of the wrong type */
    PROFILE_R_UNIT,           /* value given in another unit than the profile's */
    PROFILE_R_RANGE,          /* below min or above max */
    PROFILE_R_ENUM,           /* not one of the allowed values */
    PROFILE_R_MISSING,        /* a required field is absent */
    PROFILE_R_UNKNOWN_FIELD,  /* a field the profile does not define */
    PROFILE_R_COUNT
} profile_reason;

const char *profile_reason_name(profile_reason r);

/* Validate the `values` object of a reading (a cJSON object, passed as
 * `const void *` to keep cJSON out of this header) against `p`, and append the
 * packed encoding to `packed`. On failure returns the first reason found and
 * writes a one-line explanation naming the field into `detail`; `packed` is
 * then left as it was. A value is a JSON scalar, or an object
 * {"value": scalar, "unit": "K"} whose unit must equal the profile's. */
profile_reason profile_validate(const profile *p, const void *values, buf *packed, char *detail,
                                size_t detail_cap);

/* One field's value as a reader found it (a JSON scalar; an object's
 * {"value", "unit"} already unwrapped), before it is checked. */
typedef enum profile_vkind {
    PROFILE_V_ABSENT = 0, /* no member for the field */
    PROFILE_V_NULL,       /* null: packed as absent */
    PROFILE_V_NUMBER,
    PROFILE_V_STRING,
    PROFILE_V_TRUE,
    PROFILE_V_FALSE,
    PROFILE_V_OTHER /* an array or object: the wrong type for every field */
} profile_vkind;

typedef struct profile_scalar {
    profile_vkind kind;
    double num;    /* PROFILE_V_NUMBER */
    const char *s; /* PROFILE_V_STRING: s[0..n), no NUL inside (borrowed) */
    size_t n;
} profile_scalar;

/* Check vals[i] against field i of `p`, for every field, and append their
 * packed encoding: the per-field step of profile_validate, for a reader that
 * has read the values itself (rline.c's direct reader), so the encoding and
 * its rules live here only. On failure returns the first reason and writes
 * `detail`; `packed` may then hold part of the values. */
profile_reason profile_pack_values(const profile *p, const profile_scalar *vals, buf *packed,
                                   char *detail, size_t detail_cap);

/* A decoded packed value. */
typedef struct profile_value {
    bool present;
    double num;          /* number, integer, boolean (0/1), enum index */
    const char *str;     /* string and enum: borrowed from the blob / profile */
    size_t str_len;
} profile_value;

/* Decode a packed blob produced by profile_validate with the same profile.
 * OUT: vals[p->nfields]. ADT_ECORRUPT if the blob does not match. */
int profile_unpack(const profile *p, const void *blob, size_t len, profile_value *vals,
                   adt_err *err);

/* Append the packed values as a JSON object (canonical member order is not
 * guaranteed; profile order). */
int profile_values_json(const profile *p, const profile_value *vals, buf *out);

#endif
