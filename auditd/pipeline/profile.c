/* profile.c: device profile parsing and reading validation (profile.h). */
#include "profile.h"

#include "canon.h"
#include "sha256.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_MISSING = 0, TAG_F64 = 1, TAG_BOOL = 2, TAG_STR = 3, TAG_ENUM = 4 };

static const char *const type_names[] = {"number", "integer", "boolean", "string", "enum"};
static const char *const role_names[] = {"",           "machine_state",     "energy_meter",
                                         "produced_count", "good_count", "inspection_result",
                                         "failure_label"};
static const char *const reason_names[] = {"ok",    "parse", "time",    "unknown_device",
                                           "type",  "unit",  "range",   "enum",
                                           "missing", "unknown_field"};

const char *profile_type_name(profile_type t)
{
    return (unsigned)t < 5 ? type_names[t] : "?";
}

const char *profile_role_name(profile_role r)
{
    return (unsigned)r < 7 ? role_names[r] : "?";
}

const char *profile_reason_name(profile_reason r)
{
    return (unsigned)r < PROFILE_R_COUNT ? reason_names[r] : "?";
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void profile_free(profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nfields; i++) {
        profile_field *f = &p->fields[i];
        free(f->name);
        free(f->unit);
        for (size_t k = 0; k < f->n_enum; k++)
            free(f->enum_values[k]);
        free(f->enum_values);
    }
    free(p->fields);
    free(p->name);
    free(p->device_type);
    free(p->description);
    free(p->canonical);
    free(p);
}

/* Names: 1..64 bytes of [A-Za-z0-9_.-], starting with a letter or digit. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PROFILE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '_' || c == '-' || c == '.'));
        if (!ok)
            return false;
    }
    return true;
}

/* "values" of an enum field: 1..PROFILE_MAX_ENUM distinct strings. */
static int parse_enum_values(const cJSON *it, profile_field *f, adt_err *err)
{
    if (f->type != PROFILE_ENUM)
        return adt_fail(err, ADT_EINVAL, "field %s: values applies to enum fields only", f->name);
    int n = cJSON_GetArraySize(it);
    if (!cJSON_IsArray(it) || n < 1 || n > PROFILE_MAX_ENUM)
        return adt_fail(err, ADT_EINVAL, "field %s: values must be an array of 1..%d strings",
                        f->name, PROFILE_MAX_ENUM);
    f->enum_values = calloc((size_t)n, sizeof(char *));
    if (!f->enum_values)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    const cJSON *v;
    cJSON_ArrayForEach(v, it)
    {
        if (!cJSON_IsString(v) || strlen(v->valuestring) == 0 || strlen(v->valuestring) > 64)
            return adt_fail(err, ADT_EINVAL, "field %s: values[%zu] must be a string of 1..64 bytes",
                            f->name, f->n_enum);
        for (size_t q = 0; q < f->n_enum; q++)
            if (!strcmp(f->enum_values[q], v->valuestring))
                return adt_fail(err, ADT_EINVAL, "field %s: value '%s' listed twice", f->name,
                                v->valuestring);
        f->enum_values[f->n_enum] = dupstr(v->valuestring);
        if (!f->enum_values[f->n_enum])
            return adt_fail(err, ADT_ENOMEM, "out of memory");
        f->n_enum++;
    }
    return ADT_OK;
}

/* "min" or "max" (`k`) of a number or integer field. */
static int parse_bound(const cJSON *it, const char *k, profile_field *f, adt_err *err)
{
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return adt_fail(err, ADT_EINVAL, "field %s: %s must be a number", f->name, k);
    if (f->type != PROFILE_NUMBER && f->type != PROFILE_INTEGER)
        return adt_fail(err, ADT_EINVAL, "field %s: %s applies to number and integer only",
                        f->name, k);
    if (k[1] == 'i') {
        f->has_min = true;
        f->min = it->valuedouble;
    } else {
        f->has_max = true;
        f->max = it->valuedouble;
    }
    return ADT_OK;
}

/* "role": the field's KPI role (profile.h). */
static int parse_role(const cJSON *it, profile_field *f, adt_err *err)
{
    if (cJSON_IsString(it))
        for (int q = 1; q < 7; q++)
            if (!strcmp(it->valuestring, role_names[q])) {
                f->role = (profile_role)q;
                return ADT_OK;
            }
    return adt_fail(err, ADT_EINVAL,
                    "field %s: role must be one of machine_state, energy_meter, produced_count, "
                    "good_count, inspection_result, failure_label",
                    f->name);
}

/* One attribute `it` of a field, after its name and type. */
static int parse_attribute(const cJSON *it, profile_field *f, adt_err *err)
{
    const char *k = it->string;
    if (!strcmp(k, "name") || !strcmp(k, "type") || !strcmp(k, "description"))
        return ADT_OK;
    if (!strcmp(k, "unit")) {
        if (!cJSON_IsString(it) || strlen(it->valuestring) == 0 || strlen(it->valuestring) > 32)
            return adt_fail(err, ADT_EINVAL, "field %s: unit must be a string of 1..32 bytes",
                            f->name);
        f->unit = dupstr(it->valuestring);
        return f->unit ? ADT_OK : adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    if (!strcmp(k, "min") || !strcmp(k, "max"))
        return parse_bound(it, k, f, err);
    if (!strcmp(k, "required")) {
        if (!cJSON_IsBool(it))
            return adt_fail(err, ADT_EINVAL, "field %s: required must be true or false", f->name);
        f->required = cJSON_IsTrue(it);
        return ADT_OK;
    }
    if (!strcmp(k, "role"))
        return parse_role(it, f, err);
    if (!strcmp(k, "values"))
        return parse_enum_values(it, f, err);
    if (!strcmp(k, "max_length")) {
        if (f->type != PROFILE_STRING || !cJSON_IsNumber(it) || it->valuedouble < 1 ||
            it->valuedouble > 4096 || it->valuedouble != floor(it->valuedouble))
            return adt_fail(err, ADT_EINVAL,
                            "field %s: max_length applies to strings, an integer 1..4096",
                            f->name);
        f->max_len = (size_t)it->valuedouble;
        return ADT_OK;
    }
    return adt_fail(err, ADT_EINVAL,
                    "field %s: unknown attribute '%s' (allowed: name, type, unit, min, max, "
                    "required, role, values, max_length, description)",
                    f->name, k);
}

static int parse_field(const cJSON *jf, size_t idx, profile_field *f, adt_err *err)
{
    if (!cJSON_IsObject(jf))
        return adt_fail(err, ADT_EINVAL, "fields[%zu]: must be an object", idx);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(jf, "name");
    if (!cJSON_IsString(name) || !name_ok(name->valuestring))
        return adt_fail(err, ADT_EINVAL,
                        "fields[%zu].name: required, 1..64 characters of A-Z a-z 0-9 _ - .", idx);
    f->name = dupstr(name->valuestring);
    if (!f->name)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(jf, "type");
    int t = -1;
    if (cJSON_IsString(type))
        for (int k = 0; k < 5; k++)
            if (!strcmp(type->valuestring, type_names[k]))
                t = k;
    if (t < 0)
        return adt_fail(err, ADT_EINVAL,
                        "field %s: type must be one of number, integer, boolean, string, enum",
                        f->name);
    f->type = (profile_type)t;
    f->max_len = 256;
    const cJSON *it;
    int rc;
    cJSON_ArrayForEach(it, jf)
    {
        if ((rc = parse_attribute(it, f, err)))
            return rc;
    }
    if (f->type == PROFILE_ENUM && f->n_enum == 0)
        return adt_fail(err, ADT_EINVAL, "field %s: an enum needs values", f->name);
    if (f->has_min && f->has_max && f->min > f->max)
        return adt_fail(err, ADT_EINVAL, "field %s: min is above max", f->name);
    return ADT_OK;
}

/* One top-level member of a profile other than "fields" (*fields is set
 * to that one). */
static int parse_member(const cJSON *it, profile *p, const cJSON **fields, adt_err *err)
{
    const char *k = it->string;
    char **dst = NULL;
    if (!strcmp(k, "profile")) {
        if (!cJSON_IsString(it) || !name_ok(it->valuestring))
            return adt_fail(err, ADT_EINVAL,
                            "profile: must be a name of 1..64 characters of A-Z a-z 0-9 _ - .");
        dst = &p->name;
    } else if (!strcmp(k, "device_type")) {
        if (!cJSON_IsString(it) || !name_ok(it->valuestring))
            return adt_fail(err, ADT_EINVAL, "device_type: must be a name like cnc_mill");
        dst = &p->device_type;
    } else if (!strcmp(k, "description")) {
        if (!cJSON_IsString(it))
            return adt_fail(err, ADT_EINVAL, "description: must be a string");
        dst = &p->description;
    } else if (!strcmp(k, "sampling_interval_s")) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0.001 || it->valuedouble > 86400.0 * 7 ||
            it->valuedouble != floor(it->valuedouble))
            return adt_fail(err, ADT_EINVAL,
                            "sampling_interval_s: must be an integer number of seconds, "
                            "1..604800");
        p->interval_s = (int64_t)it->valuedouble;
    } else if (!strcmp(k, "fields")) {
        *fields = it;
    } else if (strcmp(k, "$schema") && strcmp(k, "vendor") && strcmp(k, "notes")) {
        return adt_fail(err, ADT_EINVAL,
                        "unknown member '%s' (allowed: profile, device_type, description, "
                        "sampling_interval_s, fields, vendor, notes, $schema)",
                        k);
    }
    if (dst)
        *dst = dupstr(it->valuestring);
    return ADT_OK;
}

/* The fields: 1..PROFILE_MAX_FIELDS, names distinct, a KPI role on one
 * field at most. */
static int parse_fields(const cJSON *fields, profile *p, adt_err *err)
{
    int n = cJSON_GetArraySize(fields);
    if (!cJSON_IsArray(fields) || n < 1 || n > PROFILE_MAX_FIELDS)
        return adt_fail(err, ADT_EINVAL, "fields: must be an array of 1..%d field objects",
                        PROFILE_MAX_FIELDS);
    p->fields = calloc((size_t)n, sizeof *p->fields);
    if (!p->fields)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    size_t idx = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, fields)
    {
        p->nfields = idx + 1;
        int rc = parse_field(it, idx, &p->fields[idx], err);
        if (rc)
            return rc;
        for (size_t q = 0; q < idx; q++)
            if (!strcmp(p->fields[q].name, p->fields[idx].name))
                return adt_fail(err, ADT_EINVAL, "field %s: defined twice", p->fields[idx].name);
        idx++;
    }
    for (size_t a = 0; a < p->nfields; a++)
        for (size_t b = a + 1; b < p->nfields; b++)
            if (p->fields[a].role && p->fields[a].role == p->fields[b].role)
                return adt_fail(err, ADT_EINVAL, "fields %s and %s: both have role %s",
                                p->fields[a].name, p->fields[b].name,
                                role_names[p->fields[a].role]);
    return ADT_OK;
}

int profile_parse(const char *json, size_t len, profile **out, adt_err *err)
{
    *out = NULL;
    static const canon_limits lim = {PROFILE_MAX_BYTES, 6, 8192};
    buf canon;
    buf_init(&canon, PROFILE_MAX_BYTES + 1024);
    int rc = canon_json(json, len, &lim, true, &canon, err);
    if (rc) {
        buf_free(&canon);
        return rc;
    }
    cJSON *root = cJSON_ParseWithLength(canon.data, canon.len);
    profile *p = calloc(1, sizeof *p);
    if (!root || !p)
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
    const cJSON *it, *fields = NULL;
    if (!rc)
        cJSON_ArrayForEach(it, root)
        {
            if ((rc = parse_member(it, p, &fields, err)))
                break;
        }
    if (!rc && (!p->name || !p->device_type || !p->interval_s || !fields))
        rc = adt_fail(err, ADT_EINVAL,
                      "profile, device_type, sampling_interval_s and fields are required");
    if (!rc)
        rc = parse_fields(fields, p, err);
    if (!rc) {
        p->canonical = buf_steal(&canon, &p->canonical_len);
        sha256_hex(p->canonical, p->canonical_len, p->sha256);
    }
    cJSON_Delete(root);
    buf_free(&canon);
    if (rc) {
        adt_err_prefix(err, "profile");
        profile_free(p);
        return rc;
    }
    *out = p;
    return ADT_OK;
}

int profile_field_index(const profile *p, const char *name)
{
    for (size_t i = 0; i < p->nfields; i++)
        if (!strcmp(p->fields[i].name, name))
            return (int)i;
    return -1;
}

int profile_role_index(const profile *p, profile_role role)
{
    for (size_t i = 0; i < p->nfields; i++)
        if (p->fields[i].role == role)
            return (int)i;
    return -1;
}

static void truncate_to(buf *b, size_t mark)
{
    b->len = mark;
    if (b->data)
        b->data[mark] = 0;
}

/* Shortest %g form that reads back as the same double. */
static int put_double(buf *out, double d)
{
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.15g", d);
    if (strtod(tmp, NULL) != d)
        snprintf(tmp, sizeof tmp, "%.17g", d);
    return buf_puts(out, tmp);
}

/* Each member of `obj` in the slot of its profile field; a member the
 * profile does not have, or one given twice, is the reading's fault. */
static profile_reason slot_members(const profile *p, const cJSON *obj, const cJSON **slot,
                                   char *detail, size_t detail_cap)
{
    const cJSON *it;
    size_t hint = 0; /* readings usually list fields in profile order */
    cJSON_ArrayForEach(it, obj)
    {
        int fi = -1;
        if (hint < p->nfields && !strcmp(p->fields[hint].name, it->string))
            fi = (int)hint;
        else
            fi = profile_field_index(p, it->string);
        hint = fi >= 0 ? (size_t)fi + 1 : 0;
        if (fi < 0) {
            snprintf(detail, detail_cap, "field %.64s: not in profile %s", it->string, p->name);
            return PROFILE_R_UNKNOWN_FIELD;
        }
        if (slot[fi]) {
            snprintf(detail, detail_cap, "field %s: given twice", p->fields[fi].name);
            return PROFILE_R_PARSE;
        }
        slot[fi] = it;
    }
    return PROFILE_OK;
}

/* {"value": x, "unit": "..."}: *v becomes x when the unit is the field's. */
static profile_reason unwrap_unit(const profile_field *f, const cJSON **v, char *detail,
                                  size_t detail_cap)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(*v, "unit");
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(*v, "value");
    if (!val || cJSON_GetArraySize(*v) != (u ? 2 : 1)) {
        snprintf(detail, detail_cap,
                 "field %s: an object value must be {\"value\": x, \"unit\": \"...\"}", f->name);
        return PROFILE_R_TYPE;
    }
    if (u && (!cJSON_IsString(u) || !f->unit || strcmp(u->valuestring, f->unit))) {
        snprintf(detail, detail_cap, "field %s: unit %.32s, profile says %s", f->name,
                 cJSON_IsString(u) ? u->valuestring : "(not a string)",
                 f->unit ? f->unit : "(none)");
        return PROFILE_R_UNIT;
    }
    *v = val;
    return PROFILE_OK;
}

/* "Reading too large" for the packed form. */
static profile_reason too_large(char *detail, size_t detail_cap)
{
    snprintf(detail, detail_cap, "reading too large");
    return PROFILE_R_PARSE;
}

static profile_reason pack_number(const profile_field *f, const profile_scalar *v, buf *packed,
                                  char *detail, size_t detail_cap)
{
    if (v->kind != PROFILE_V_NUMBER) {
        snprintf(detail, detail_cap, "field %s: expected %s", f->name, type_names[f->type]);
        return PROFILE_R_TYPE;
    }
    double d = v->num;
    if (!isfinite(d) ||
        (f->type == PROFILE_INTEGER && (d != floor(d) || fabs(d) > 9007199254740992.0))) {
        snprintf(detail, detail_cap, "field %s: %.17g is not %s", f->name, d,
                 f->type == PROFILE_INTEGER ? "an integer" : "finite");
        return PROFILE_R_TYPE;
    }
    if ((f->has_min && d < f->min) || (f->has_max && d > f->max)) {
        snprintf(detail, detail_cap, "field %s: %.17g outside [%.17g, %.17g]", f->name, d,
                 f->has_min ? f->min : -INFINITY, f->has_max ? f->max : INFINITY);
        return PROFILE_R_RANGE;
    }
    uint8_t b[9];
    b[0] = TAG_F64;
    memcpy(b + 1, &d, 8);
    return buf_append(packed, b, 9) ? too_large(detail, detail_cap) : PROFILE_OK;
}

static profile_reason pack_string(const profile_field *f, const profile_scalar *v, buf *packed,
                                  char *detail, size_t detail_cap)
{
    if (v->kind != PROFILE_V_STRING) {
        snprintf(detail, detail_cap, "field %s: expected string", f->name);
        return PROFILE_R_TYPE;
    }
    size_t n = v->n;
    if (n > f->max_len || !canon_utf8_valid(v->s, n)) {
        snprintf(detail, detail_cap, "field %s: string longer than %zu bytes or not UTF-8",
                 f->name, f->max_len);
        return PROFILE_R_RANGE;
    }
    uint8_t b[3] = {TAG_STR, (uint8_t)(n & 0xff), (uint8_t)(n >> 8)};
    if (buf_append(packed, b, 3) || buf_append(packed, v->s, n))
        return too_large(detail, detail_cap);
    return PROFILE_OK;
}

static profile_reason pack_enum(const profile_field *f, const profile_scalar *v, buf *packed,
                                char *detail, size_t detail_cap)
{
    if (v->kind != PROFILE_V_STRING) {
        snprintf(detail, detail_cap, "field %s: expected one of the enum strings", f->name);
        return PROFILE_R_TYPE;
    }
    size_t k = 0;
    while (k < f->n_enum &&
           (strlen(f->enum_values[k]) != v->n || memcmp(f->enum_values[k], v->s, v->n)))
        k++;
    if (k == f->n_enum) {
        snprintf(detail, detail_cap, "field %s: '%.*s' is not an allowed value", f->name,
                 (int)(v->n < 64 ? v->n : 64), v->s);
        return PROFILE_R_ENUM;
    }
    uint8_t b[2] = {TAG_ENUM, (uint8_t)k};
    return buf_append(packed, b, 2) ? too_large(detail, detail_cap) : PROFILE_OK;
}

static inline profile_reason pack_value(const profile_field *f, const profile_scalar *v,
                                        buf *packed, char *detail, size_t detail_cap)
    __attribute__((always_inline));

/* A cJSON value (NULL when absent) as a profile_scalar. */
static profile_scalar scalar_of(const cJSON *v)
{
    profile_scalar s = {.kind = PROFILE_V_ABSENT};
    if (!v)
        return s;
    if (cJSON_IsNull(v)) {
        s.kind = PROFILE_V_NULL;
    } else if (cJSON_IsNumber(v)) {
        s.kind = PROFILE_V_NUMBER;
        s.num = v->valuedouble;
    } else if (cJSON_IsString(v)) {
        s.kind = PROFILE_V_STRING;
        s.s = v->valuestring;
        s.n = strlen(v->valuestring);
    } else {
        s.kind = cJSON_IsTrue(v) ? PROFILE_V_TRUE : cJSON_IsFalse(v) ? PROFILE_V_FALSE
                                                                     : PROFILE_V_OTHER;
    }
    return s;
}

/* One field's value `v` (NULL when absent) checked and packed. */
static profile_reason pack_field(const profile_field *f, const cJSON *v, buf *packed,
                                 char *detail, size_t detail_cap)
{
    profile_reason r;
    if (v && cJSON_IsObject(v) && (r = unwrap_unit(f, &v, detail, detail_cap)) != PROFILE_OK)
        return r;
    profile_scalar sv = scalar_of(v);
    return pack_value(f, &sv, packed, detail, detail_cap);
}

/* One field's value checked and packed: the step both readers share.
 * Inlined into both loops: a call per field cost the direct reader 0.7 % of
 * the validated path's instructions (callgrind, bench_pipeline). */
static inline profile_reason pack_value(const profile_field *f, const profile_scalar *v,
                                        buf *packed, char *detail, size_t detail_cap)
{
    if (v->kind == PROFILE_V_ABSENT || v->kind == PROFILE_V_NULL) {
        if (f->required) {
            snprintf(detail, detail_cap, "field %s: required, missing", f->name);
            return PROFILE_R_MISSING;
        }
        return buf_putc(packed, TAG_MISSING) ? too_large(detail, detail_cap) : PROFILE_OK;
    }
    switch (f->type) {
    case PROFILE_NUMBER:
    case PROFILE_INTEGER: return pack_number(f, v, packed, detail, detail_cap);
    case PROFILE_STRING: return pack_string(f, v, packed, detail, detail_cap);
    case PROFILE_ENUM: return pack_enum(f, v, packed, detail, detail_cap);
    case PROFILE_BOOLEAN: break;
    }
    if (v->kind != PROFILE_V_TRUE && v->kind != PROFILE_V_FALSE) {
        snprintf(detail, detail_cap, "field %s: expected boolean", f->name);
        return PROFILE_R_TYPE;
    }
    uint8_t b[2] = {TAG_BOOL, v->kind == PROFILE_V_TRUE};
    return buf_append(packed, b, 2) ? too_large(detail, detail_cap) : PROFILE_OK;
}

profile_reason profile_pack_values(const profile *p, const profile_scalar *vals, buf *packed,
                                   char *detail, size_t detail_cap)
{
    for (size_t i = 0; i < p->nfields; i++) {
        profile_reason r = pack_value(&p->fields[i], &vals[i], packed, detail, detail_cap);
        if (r != PROFILE_OK)
            return r;
    }
    return PROFILE_OK;
}

/* The reading values are at most PROFILE_MAX_FIELDS wide. */
profile_reason profile_validate(const profile *p, const void *values, buf *packed, char *detail,
                                size_t detail_cap)
{
    const cJSON *obj = values;
    const cJSON *slot[PROFILE_MAX_FIELDS] = {0};
    detail[0] = 0;
    if (!cJSON_IsObject(obj)) {
        snprintf(detail, detail_cap, "values: must be an object");
        return PROFILE_R_PARSE;
    }
    profile_reason r = slot_members(p, obj, slot, detail, detail_cap);
    size_t mark = packed->len;
    for (size_t i = 0; i < p->nfields && r == PROFILE_OK; i++)
        r = pack_field(&p->fields[i], slot[i], packed, detail, detail_cap);
    if (r != PROFILE_OK)
        truncate_to(packed, mark);
    return r;
}

int profile_unpack(const profile *p, const void *blob, size_t len, profile_value *vals,
                   adt_err *err)
{
    const uint8_t *b = blob;
    size_t off = 0;
    for (size_t i = 0; i < p->nfields; i++) {
        profile_value *v = &vals[i];
        memset(v, 0, sizeof *v);
        if (off >= len)
            return adt_fail(err, ADT_ECORRUPT, "stored reading shorter than its profile");
        uint8_t tag = b[off++];
        switch (tag) {
        case TAG_MISSING:
            break;
        case TAG_F64:
            if (len - off < 8)
                return adt_fail(err, ADT_ECORRUPT, "stored reading truncated");
            memcpy(&v->num, b + off, 8);
            off += 8;
            v->present = true;
            break;
        case TAG_BOOL:
            if (len - off < 1)
                return adt_fail(err, ADT_ECORRUPT, "stored reading truncated");
            v->num = b[off++] ? 1 : 0;
            v->present = true;
            break;
        case TAG_STR: {
            if (len - off < 2)
                return adt_fail(err, ADT_ECORRUPT, "stored reading truncated");
            size_t n = (size_t)b[off] | ((size_t)b[off + 1] << 8);
            off += 2;
            if (len - off < n)
                return adt_fail(err, ADT_ECORRUPT, "stored reading truncated");
            v->str = (const char *)b + off;
            v->str_len = n;
            v->num = NAN;
            off += n;
            v->present = true;
            break;
        }
        case TAG_ENUM:
            if (len - off < 1 || b[off] >= p->fields[i].n_enum)
                return adt_fail(err, ADT_ECORRUPT, "stored enum value out of range");
            v->num = b[off];
            v->str = p->fields[i].enum_values[b[off]];
            v->str_len = strlen(v->str);
            off++;
            v->present = true;
            break;
        default:
            return adt_fail(err, ADT_ECORRUPT, "stored reading has unknown tag %u", tag);
        }
    }
    if (off != len)
        return adt_fail(err, ADT_ECORRUPT, "stored reading longer than its profile");
    return ADT_OK;
}

/* One value in its JSON form. */
static int put_value(buf *out, const profile_field *f, const profile_value *v)
{
    switch (f->type) {
    case PROFILE_NUMBER:
    case PROFILE_INTEGER: return put_double(out, v->num);
    case PROFILE_BOOLEAN: return buf_puts(out, v->num ? "true" : "false");
    case PROFILE_STRING:
    case PROFILE_ENUM: break;
    }
    return canon_put_string(out, v->str, v->str_len);
}

int profile_values_json(const profile *p, const profile_value *vals, buf *out)
{
    if (buf_putc(out, '{'))
        return ADT_ENOMEM;
    bool first = true;
    for (size_t i = 0; i < p->nfields; i++) {
        if (!vals[i].present)
            continue;
        if ((!first && buf_putc(out, ',')) ||
            canon_put_string(out, p->fields[i].name, strlen(p->fields[i].name)) ||
            buf_putc(out, ':') || put_value(out, &p->fields[i], &vals[i]))
            return ADT_ENOMEM;
        first = false;
    }
    return buf_putc(out, '}') ? ADT_ENOMEM : ADT_OK;
}
