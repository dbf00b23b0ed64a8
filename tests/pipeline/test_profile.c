/* test_profile.c: device profile parsing and every validation rule. */
#include "profile.h"
#include "rline.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char good[] =
    "{\"profile\":\"p1\",\"device_type\":\"pump\",\"sampling_interval_s\":10,\"fields\":["
    "{\"name\":\"temp\",\"type\":\"number\",\"unit\":\"K\",\"min\":250,\"max\":400,"
    "\"required\":true},"
    "{\"name\":\"count\",\"type\":\"integer\",\"min\":0,\"role\":\"produced_count\"},"
    "{\"name\":\"on\",\"type\":\"boolean\"},"
    "{\"name\":\"note\",\"type\":\"string\",\"max_length\":8},"
    "{\"name\":\"state\",\"type\":\"enum\",\"values\":[\"run\",\"stop\"],"
    "\"role\":\"machine_state\"}]}";

static profile *load(const char *json)
{
    profile *p = NULL;
    adt_err e;
    int rc = profile_parse(json, strlen(json), &p, &e);
    ck_assert_msg(rc == ADT_OK, "parse: %s", e.msg);
    return p;
}

/* Validate the values object `vals` and return the reason; detail in *d. */
static profile_reason check(const profile *p, const char *vals, char *d, size_t dcap)
{
    cJSON *j = cJSON_Parse(vals);
    ck_assert_ptr_nonnull(j);
    buf b;
    buf_init(&b, 4096);
    profile_reason r = profile_validate(p, j, &b, d, dcap);
    if (r != PROFILE_OK)
        ck_assert_uint_eq(b.len, 0); /* nothing packed on failure */
    buf_free(&b);
    cJSON_Delete(j);
    return r;
}

START_TEST(parse_good_and_digest)
{
    profile *p = load(good);
    ck_assert_str_eq(p->name, "p1");
    ck_assert_uint_eq(p->nfields, 5);
    ck_assert_int_eq(p->fields[4].type, PROFILE_ENUM);
    ck_assert_int_eq(profile_role_index(p, PROFILE_ROLE_MACHINE_STATE), 4);
    ck_assert_int_eq(profile_role_index(p, PROFILE_ROLE_FAILURE_LABEL), -1);
    ck_assert_uint_eq(strlen(p->sha256), 64);
    /* the digest is over the canonical form: whitespace and member order do not matter */
    profile *q = load("{ \"fields\":[{\"type\":\"number\",\"name\":\"temp\",\"unit\":\"K\","
                      "\"min\":250,\"max\":400,\"required\":true},"
                      "{\"name\":\"count\",\"type\":\"integer\",\"min\":0,\"role\":"
                      "\"produced_count\"},{\"name\":\"on\",\"type\":\"boolean\"},"
                      "{\"name\":\"note\",\"type\":\"string\",\"max_length\":8},"
                      "{\"name\":\"state\",\"type\":\"enum\",\"values\":[\"run\",\"stop\"],"
                      "\"role\":\"machine_state\"}], \"sampling_interval_s\":10,"
                      "\"device_type\":\"pump\", \"profile\":\"p1\"}");
    ck_assert_str_eq(p->sha256, q->sha256);
    profile_free(q);
    q = load("{\"profile\":\"p1\",\"device_type\":\"pump\",\"sampling_interval_s\":11,"
             "\"fields\":[{\"name\":\"temp\",\"type\":\"number\"}]}");
    ck_assert_str_ne(p->sha256, q->sha256);
    profile_free(q);
    profile_free(p);
}
END_TEST

START_TEST(parse_errors)
{
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"[]", "object"},
        {"{\"profile\":\"p\",\"device_type\":\"x\",\"sampling_interval_s\":1}", "required"},
        {"{\"profile\":\"p p\",\"device_type\":\"x\",\"sampling_interval_s\":1,\"fields\":"
         "[{\"name\":\"a\",\"type\":\"number\"}]}",
         "profile"},
        {"{\"profile\":\"p\",\"device_type\":\"x\",\"sampling_interval_s\":1,\"fields\":"
         "[{\"name\":\"a\",\"type\":\"float\"}]}",
         "type must be"},
        {"{\"profile\":\"p\",\"device_type\":\"x\",\"sampling_interval_s\":1,\"fields\":"
         "[{\"name\":\"a\",\"type\":\"enum\"}]}",
         "needs values"},
        {"{\"profile\":\"p\",\"device_type\":\"x\",\"sampling_interval_s\":1,\"fields\":"
         "[{\"name\":\"a\",\"type\":\"number\",\"min\":5,\"max\":1}]}",
         "min is above max"},
        {"{\"profile\":\"p\",\"device_type\":\"x\",\"sampling_interval_s\":1,\"fields\":"
         "[{\"name\":\"a\",\"type\":\"number\"},{\"name\":\"a\",\"type\":\"number\"}]}",
         "defined twice"},
        {"{\"profile\":\"p\",\"device_type\":\"x\",\"sampling_interval_s\":1,\"fields\":"
         "[{\"name\":\"a\",\"type\":\"number\",\"role\":\"energy_meter\"},"
         "{\"name\":\"b\",\"type\":\"number\",\"role\":\"energy_meter\"}]}",
         "both have role"},
        {"{\"profile\":\"p\",\"device_type\":\"x\",\"sampling_interval_s\":1,\"fields\":"
         "[{\"name\":\"a\",\"type\":\"number\",\"colour\":1}]}",
         "unknown attribute"},
        {"{\"profile\":\"p\",\"device_type\":\"x\",\"sampling_interval_s\":1,\"extra\":1,"
         "\"fields\":[{\"name\":\"a\",\"type\":\"number\"}]}",
         "unknown member"},
        {"{\"profile\":\"p\",\"profile\":\"q\",\"device_type\":\"x\",\"sampling_interval_s\":1,"
         "\"fields\":[{\"name\":\"a\",\"type\":\"number\"}]}",
         "duplicate"},
        {"{\"profile\":\"p\",\"device_type\":\"x\",\"sampling_interval_s\":1.5,\"fields\":"
         "[{\"name\":\"a\",\"type\":\"number\"}]}",
         "sampling_interval_s"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        profile *p = NULL;
        adt_err e;
        int rc = profile_parse(bad[i].json, strlen(bad[i].json), &p, &e);
        ck_assert_msg(rc == ADT_EINVAL, "case %zu accepted", i);
        ck_assert_ptr_null(p);
        ck_assert_msg(strstr(e.msg, bad[i].needle), "case %zu: '%s' lacks '%s'", i, e.msg,
                      bad[i].needle);
    }
}
END_TEST

START_TEST(every_rule)
{
    profile *p = load(good);
    char d[256];
    ck_assert_int_eq(check(p, "{\"temp\":300,\"count\":3,\"on\":true,\"note\":\"ok\","
                              "\"state\":\"run\"}",
                           d, sizeof d),
                     PROFILE_OK);
    ck_assert_int_eq(check(p, "{\"temp\":300}", d, sizeof d), PROFILE_OK);
    ck_assert_int_eq(check(p, "{\"temp\":{\"value\":300,\"unit\":\"K\"}}", d, sizeof d),
                     PROFILE_OK);
    /* type */
    ck_assert_int_eq(check(p, "{\"temp\":\"300\"}", d, sizeof d), PROFILE_R_TYPE);
    ck_assert_ptr_nonnull(strstr(d, "temp"));
    ck_assert_int_eq(check(p, "{\"temp\":300,\"count\":1.5}", d, sizeof d), PROFILE_R_TYPE);
    ck_assert_ptr_nonnull(strstr(d, "count"));
    ck_assert_int_eq(check(p, "{\"temp\":300,\"on\":1}", d, sizeof d), PROFILE_R_TYPE);
    ck_assert_int_eq(check(p, "{\"temp\":300,\"note\":5}", d, sizeof d), PROFILE_R_TYPE);
    ck_assert_int_eq(check(p, "{\"temp\":300,\"state\":true}", d, sizeof d), PROFILE_R_TYPE);
    /* unit */
    ck_assert_int_eq(check(p, "{\"temp\":{\"value\":27,\"unit\":\"Cel\"}}", d, sizeof d),
                     PROFILE_R_UNIT);
    ck_assert_ptr_nonnull(strstr(d, "Cel"));
    ck_assert_int_eq(check(p, "{\"temp\":300,\"count\":{\"value\":1,\"unit\":\"m\"}}", d,
                           sizeof d),
                     PROFILE_R_UNIT);
    /* range */
    ck_assert_int_eq(check(p, "{\"temp\":400.5}", d, sizeof d), PROFILE_R_RANGE);
    ck_assert_ptr_nonnull(strstr(d, "400.5"));
    ck_assert_int_eq(check(p, "{\"temp\":249}", d, sizeof d), PROFILE_R_RANGE);
    ck_assert_int_eq(check(p, "{\"temp\":300,\"count\":-1}", d, sizeof d), PROFILE_R_RANGE);
    ck_assert_int_eq(check(p, "{\"temp\":300,\"note\":\"too long!\"}", d, sizeof d),
                     PROFILE_R_RANGE);
    /* enum */
    ck_assert_int_eq(check(p, "{\"temp\":300,\"state\":\"fly\"}", d, sizeof d), PROFILE_R_ENUM);
    /* missing (also null for a required field) */
    ck_assert_int_eq(check(p, "{\"count\":1}", d, sizeof d), PROFILE_R_MISSING);
    ck_assert_ptr_nonnull(strstr(d, "temp"));
    ck_assert_int_eq(check(p, "{\"temp\":null}", d, sizeof d), PROFILE_R_MISSING);
    /* unknown field */
    ck_assert_int_eq(check(p, "{\"temp\":300,\"pressure\":2}", d, sizeof d),
                     PROFILE_R_UNKNOWN_FIELD);
    ck_assert_ptr_nonnull(strstr(d, "pressure"));
    /* malformed value objects */
    ck_assert_int_eq(check(p, "{\"temp\":{\"v\":300}}", d, sizeof d), PROFILE_R_TYPE);
    ck_assert_int_eq(check(p, "[1]", d, sizeof d), PROFILE_R_PARSE);
    profile_free(p);
}
END_TEST

START_TEST(pack_roundtrip)
{
    profile *p = load(good);
    cJSON *j = cJSON_Parse("{\"temp\":300.25,\"on\":false,\"note\":\"h\\u00e9\",\"state\":\"stop\"}");
    buf b;
    buf_init(&b, 4096);
    char d[256];
    ck_assert_int_eq(profile_validate(p, j, &b, d, sizeof d), PROFILE_OK);
    profile_value v[8];
    adt_err e;
    ck_assert_int_eq(profile_unpack(p, b.data, b.len, v, &e), ADT_OK);
    ck_assert(v[0].present && v[0].num == 300.25);
    ck_assert(!v[1].present);
    ck_assert(v[2].present && v[2].num == 0);
    ck_assert(v[3].present && v[3].str_len == 3 && !memcmp(v[3].str, "h\xc3\xa9", 3));
    ck_assert(v[4].present && v[4].num == 1 && !strcmp(v[4].str, "stop"));
    buf js;
    buf_init(&js, 4096);
    ck_assert_int_eq(profile_values_json(p, v, &js), ADT_OK);
    ck_assert_str_eq(js.data, "{\"temp\":300.25,\"on\":false,\"note\":\"h\xc3\xa9\","
                              "\"state\":\"stop\"}");
    /* a truncated or foreign blob is refused, never read past */
    ck_assert_int_eq(profile_unpack(p, b.data, b.len - 1, v, &e), ADT_ECORRUPT);
    ck_assert_int_eq(profile_unpack(p, "\x09", 1, v, &e), ADT_ECORRUPT);
    buf_free(&js);
    buf_free(&b);
    cJSON_Delete(j);
    profile_free(p);
}
END_TEST

START_TEST(example_profiles_parse)
{
    static const char *const names[] = {"cnc-mill", "legacy-plc", "edge-camera",
                                        "edge-camera-v2"};
    for (size_t i = 0; i < 4; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/auditd/pipeline/profiles/%s.json", AUDITD_SOURCE_DIR,
                 names[i]);
        FILE *f = fopen(path, "rb");
        ck_assert_msg(f != NULL, "%s", path);
        char text[16384];
        size_t n = fread(text, 1, sizeof text, f);
        fclose(f);
        profile *p = NULL;
        adt_err e;
        ck_assert_msg(profile_parse(text, n, &p, &e) == ADT_OK, "%s: %s", names[i], e.msg);
        profile_free(p);
    }
}
END_TEST

/* rline: the device m-1 with the profile `good`. */
static const profile *m1(void *ctx, const char *name, size_t n, int *dev)
{
    *dev = 7;
    return n == 3 && !memcmp(name, "m-1", 3) ? ctx : NULL;
}

static size_t cjson_allocs;

static void *counting_malloc(size_t n)
{
    cjson_allocs++;
    return malloc(n);
}

/* rline_check on `line`: its result and packed bytes are the tree reader's,
 * and *allocs how many allocations cJSON made while checking it. */
static profile_reason rline_same(const profile *p, const char *line, size_t *allocs)
{
    buf fast, tree;
    buf_init(&fast, 4096);
    buf_init(&tree, 4096);
    rline_out fo, to;
    cjson_allocs = 0;
    profile_reason r = rline_check(line, strlen(line), m1, (void *)p, &fast, &fo);
    *allocs = cjson_allocs;
    ck_assert_int_eq(rline_check_tree(line, strlen(line), m1, (void *)p, &tree, &to), r);
    ck_assert_uint_eq(fast.len, tree.len);
    ck_assert(!fast.len || !memcmp(fast.data, tree.data, fast.len));
    ck_assert_str_eq(fo.detail, to.detail);
    buf_free(&fast);
    buf_free(&tree);
    return r;
}

/* The plain form every sensor sends is read by the direct reader (no cJSON
 * tree: no allocation); other forms and refusals by the tree reader, with
 * the same answer. Without this, a direct reader that never accepted would
 * pass fuzz_telemetry (rline_check would always fall back). */
START_TEST(rline_plain_lines_read_directly)
{
    profile *p = load(good);
    cJSON_Hooks hooks = {counting_malloc, free};
    cJSON_InitHooks(&hooks);
    size_t allocs;
    static const char *const plain[] = {
        "{\"device\":\"m-1\",\"time\":\"2026-07-01T00:00:00Z\",\"values\":{\"temp\":300.5,"
        "\"count\":3,\"on\":true,\"note\":\"ok\",\"state\":\"run\"}}",
        "{ \"values\": {\"state\": \"stop\", \"temp\": {\"value\": 2.5e2, \"unit\": \"K\"}, "
        "\"note\": null}, \"time\": \"2026-07-01T00:00:01Z\", \"device\": \"m-1\" }\n"};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(rline_same(p, plain[i], &allocs), PROFILE_OK);
        ck_assert_uint_eq(allocs, 0);
    }
    /* an escape in a string: the tree reader's */
    ck_assert_int_eq(rline_same(p, "{\"device\":\"m-1\",\"time\":\"2026-07-01T00:00:00Z\","
                                   "\"values\":{\"temp\":300,\"note\":\"o\\u006b\"}}",
                                &allocs),
                     PROFILE_OK);
    ck_assert_uint_gt(allocs, 0);
    /* a refusal: the tree reader's, with its detail */
    ck_assert_int_eq(rline_same(p, "{\"device\":\"m-1\",\"time\":\"2026-07-01T00:00:00Z\","
                                   "\"values\":{\"temp\":500}}",
                                &allocs),
                     PROFILE_R_RANGE);
    ck_assert_uint_gt(allocs, 0);
    cJSON_InitHooks(NULL);
    profile_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("profile");
    TCase *tc = tcase_create("profile");
    tcase_add_test(tc, parse_good_and_digest);
    tcase_add_test(tc, parse_errors);
    tcase_add_test(tc, every_rule);
    tcase_add_test(tc, pack_roundtrip);
    tcase_add_test(tc, example_profiles_parse);
    tcase_add_test(tc, rline_plain_lines_read_directly);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
