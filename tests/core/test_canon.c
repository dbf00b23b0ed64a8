/* test_canon.c: canonical JSON (canon.c), RFC 3339 times (rfc3339.c) and
 * event validation (event.c). Table-driven: input, expected bytes or error. */
#include "canon.h"
#include "event.h"
#include "lt_helpers.h"
#include "rfc3339.h"

#include <check.h>
#include <stdint.h>
#include <time.h>

#define OK_ ADT_OK

typedef struct ccase {
    const char *in;
    size_t len; /* 0: strlen(in) */
    int rc;
    const char *out; /* expected canonical bytes when rc == OK */
} ccase;

static int run_canon(const char *in, size_t len, const canon_limits *lim, bool obj, buf *out,
                     adt_err *err)
{
    /* An exact-size copy so ASan sees any read past the end. */
    char *copy = malloc(len ? len : 1);
    memcpy(copy, in, len);
    int rc = canon_json(copy, len, lim, obj, out, err);
    free(copy);
    return rc;
}

/* The fast check (canon_is_canonical) may only accept what canon_json
 * leaves exactly as it is. */
static void check_fast_agrees(const char *in, size_t len, const canon_limits *lim)
{
    char *copy = malloc(len ? len : 1); /* exact size: ASan sees a read past the end */
    memcpy(copy, in, len);
    if (canon_is_canonical(copy, len, lim)) {
        buf out;
        buf_init(&out, 1 << 20);
        adt_err err = {0};
        int rc = canon_json(copy, len, lim, true, &out, &err);
        ck_assert_msg(rc == ADT_OK, "fast check accepted '%.*s', canon_json refused it: %s",
                      (int)len, in, err.msg);
        ck_assert_msg(out.len == len && memcmp(out.data, in, len) == 0,
                      "fast check accepted '%.*s', canon_json made '%s'", (int)len, in, out.data);
        buf_free(&out);
    }
    free(copy);
}

static void check_cases(const ccase *cs, size_t n, bool obj)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = cs[i].len ? cs[i].len : strlen(cs[i].in);
        check_fast_agrees(cs[i].in, len, NULL);
        if (cs[i].rc == ADT_OK)
            check_fast_agrees(cs[i].out, strlen(cs[i].out), NULL);
        buf out;
        buf_init(&out, 1 << 20);
        buf_puts(&out, "PRE");
        adt_err err = {0};
        int rc = run_canon(cs[i].in, len, NULL, obj, &out, &err);
        ck_assert_msg(rc == cs[i].rc, "case %zu '%s': rc %d (%s), want %d", i, cs[i].in, rc,
                      err.msg, cs[i].rc);
        if (rc == ADT_OK) {
            ck_assert_msg(out.len == 3 + strlen(cs[i].out) &&
                              memcmp(out.data + 3, cs[i].out, out.len - 3) == 0,
                          "case %zu '%s': got '%s', want '%s'", i, cs[i].in, out.data + 3,
                          cs[i].out);
            /* Canonical form is a fixed point. */
            buf again;
            buf_init(&again, 1 << 20);
            ck_assert_int_eq(run_canon(out.data + 3, out.len - 3, NULL, obj, &again, &err), ADT_OK);
            ck_assert_uint_eq(again.len, out.len - 3);
            ck_assert_mem_eq(again.data, out.data + 3, again.len);
            buf_free(&again);
        } else {
            /* Nothing appended on failure; a message that says where. */
            ck_assert_uint_eq(out.len, 3);
            ck_assert_str_eq(out.data, "PRE");
            ck_assert_msg(err.msg[0] != '\0', "case %zu: no message", i);
        }
        buf_free(&out);
    }
}

START_TEST(test_canon_valid)
{
    static const ccase cs[] = {
        {"{}", 0, OK_, "{}"},
        {" {\n\t\"b\" : 1 ,\r\n \"a\":2 } ", 0, OK_, "{\"a\":2,\"b\":1}"},
        {"{\"z\":{\"y\":[3,{\"d\":1,\"c\":2}],\"x\":null},\"a\":true}", 0, OK_,
         "{\"a\":true,\"z\":{\"x\":null,\"y\":[3,{\"c\":2,\"d\":1}]}}"},
        /* Byte order of the UTF-8 keys: "" < "B" < "a" < "ab" < "b" < "é". */
        {"{\"b\":1,\"\xc3\xa9\":3,\"ab\":6,\"B\":2,\"a\":4,\"\":5}", 0, OK_,
         "{\"\":5,\"B\":2,\"a\":4,\"ab\":6,\"b\":1,\"\xc3\xa9\":3}"},
        /* Keys compared decoded: \u0062 is "b". */
        {"{\"\\u0062\":1,\"a\":2}", 0, OK_, "{\"a\":2,\"b\":1}"},
        /* Many members (merge sort path), reverse order. */
        {"{\"l\":12,\"k\":11,\"j\":10,\"i\":9,\"h\":8,\"g\":7,\"f\":6,\"e\":5,\"d\":4,\"c\":3,\"b\":2,\"a\":1}",
         0, OK_,
         "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11,\"l\":12}"},
        /* Escapes normalised. */
        {"{\"s\":\"\\u00e9\\/\\u001f\\u0000\\\"\\\\\"}", 0, OK_,
         "{\"s\":\"\xc3\xa9/\\u001f\\u0000\\\"\\\\\"}"},
        {"{\"s\":\"\\u000a\\u0009\\u0008\\u000c\\u000d\\n\"}", 0, OK_, "{\"s\":\"\\n\\t\\b\\f\\r\\n\"}"},
        {"{\"s\":\"\\u00C9\\u007f\\u20AC\"}", 0, OK_, "{\"s\":\"\xc3\x89\x7f\xe2\x82\xac\"}"},
        {"{\"s\":\"\\ud83d\\ude00\"}", 0, OK_, "{\"s\":\"\xf0\x9f\x98\x80\"}"},
        {"{\"s\":\"\xf0\x9f\x98\x80 raw \xe2\x82\xac \xc3\xa9\"}", 0, OK_,
         "{\"s\":\"\xf0\x9f\x98\x80 raw \xe2\x82\xac \xc3\xa9\"}"},
        {"{\"s\":\"\x7f\"}", 0, OK_, "{\"s\":\"\x7f\"}"},
        {"{\"\\u001f\":1}", 0, OK_, "{\"\\u001f\":1}"},
        /* Numbers exactly as given. */
        {"{\"n\":[1.50,-0,1E+2,1e-7,0.0,-12.5e10,123456789012345678901234567890]}", 0, OK_,
         "{\"n\":[1.50,-0,1E+2,1e-7,0.0,-12.5e10,123456789012345678901234567890]}"},
        {"{\"t\":[true,false,null,[],{},\"\"]}", 0, OK_, "{\"t\":[true,false,null,[],{},\"\"]}"},
        /* The extremes of a double, and zeros written with an exponent, fit. */
        {"{\"n\":[1.7976931348623157e308,-1.7976931348623157E+308,2.2250738585072014e-308,"
         "4.9e-324,0e999,0.000E-999,-0e5]}", 0, OK_,
         "{\"n\":[1.7976931348623157e308,-1.7976931348623157E+308,2.2250738585072014e-308,"
         "4.9e-324,0e999,0.000E-999,-0e5]}"},
    };
    check_cases(cs, sizeof cs / sizeof cs[0], true);
    /* Top-level scalars when an object is not required. */
    static const ccase sc[] = {
        {" 12 ", 0, OK_, "12"}, {"\"\\u0041\"", 0, OK_, "\"A\""}, {"[ ]", 0, OK_, "[]"},
        {"null", 0, OK_, "null"}, {"", 0, ADT_EINVAL, NULL}, {"  ", 0, ADT_EINVAL, NULL},
    };
    check_cases(sc, sizeof sc / sizeof sc[0], false);
}
END_TEST

START_TEST(test_canon_invalid)
{
    static const ccase cs[] = {
        {"[1]", 0, ADT_EINVAL, NULL}, /* object required */
        {"\"s\"", 0, ADT_EINVAL, NULL},
        {"{\"a\":1,\"a\":2}", 0, ADT_EINVAL, NULL},
        {"{\"a\":1,\"\\u0061\":2}", 0, ADT_EINVAL, NULL},
        {"{\"x\":{\"b\":1,\"c\":2,\"b\":3}}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"\xff\"}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"\xc0\xaf\"}", 0, ADT_EINVAL, NULL},         /* overlong '/' */
        {"{\"s\":\"\xc1\xbf\"}", 0, ADT_EINVAL, NULL},         /* overlong */
        {"{\"s\":\"\xe0\x80\xaf\"}", 0, ADT_EINVAL, NULL},     /* overlong, 3 bytes */
        {"{\"s\":\"\xf0\x80\x80\xaf\"}", 0, ADT_EINVAL, NULL}, /* overlong, 4 bytes */
        {"{\"s\":\"\xed\xa0\x80\"}", 0, ADT_EINVAL, NULL},     /* raw surrogate D800 */
        {"{\"s\":\"\xed\xbf\xbf\"}", 0, ADT_EINVAL, NULL},     /* raw surrogate DFFF */
        {"{\"s\":\"\xf4\x90\x80\x80\"}", 0, ADT_EINVAL, NULL}, /* > U+10FFFF */
        {"{\"s\":\"\xf5\x80\x80\x80\"}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"\xe2\x82\"}", 0, ADT_EINVAL, NULL},         /* truncated */
        {"{\"s\":\"\x80\"}", 0, ADT_EINVAL, NULL},             /* lone continuation */
        {"{\"\xff\":1}", 0, ADT_EINVAL, NULL},                 /* in a key */
        {"{\"s\":\"\\ud800\"}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"\\udc00\"}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"\\ud800\\u0041\"}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"\\ud800\\ud800\"}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"\\u12\"}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"\\u12g4\"}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"\\x41\"}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"\\'\"}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"a\tb\"}", 0, ADT_EINVAL, NULL},             /* raw control */
        {"{\"s\":\"a\nb\"}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"a\x00" "b\"}", 9, ADT_EINVAL, NULL},        /* raw NUL */
        {"{\"s\":\"abc}", 0, ADT_EINVAL, NULL},
        {"{\"s\":\"abc\\", 0, ADT_EINVAL, NULL},
        {"{\"n\":01}", 0, ADT_EINVAL, NULL},
        {"{\"n\":1.}", 0, ADT_EINVAL, NULL},
        {"{\"n\":.5}", 0, ADT_EINVAL, NULL},
        {"{\"n\":+1}", 0, ADT_EINVAL, NULL},
        {"{\"n\":1e}", 0, ADT_EINVAL, NULL},
        {"{\"n\":1e+}", 0, ADT_EINVAL, NULL},
        {"{\"n\":-}", 0, ADT_EINVAL, NULL},
        {"{\"n\":-a}", 0, ADT_EINVAL, NULL},
        {"{\"n\":0x10}", 0, ADT_EINVAL, NULL},
        /* Numbers a double cannot hold: infinite, or zero although not 0. */
        {"{\"n\":1e999}", 0, ADT_EINVAL, NULL},
        {"{\"n\":-1E+400}", 0, ADT_EINVAL, NULL},
        {"{\"n\":1.8e308}", 0, ADT_EINVAL, NULL},
        {"{\"n\":[1,{\"m\":1e-999}]}", 0, ADT_EINVAL, NULL},
        {"{\"n\":2e-400}", 0, ADT_EINVAL, NULL},
        {"{\"n\":NaN}", 0, ADT_EINVAL, NULL},
        {"{\"n\":Infinity}", 0, ADT_EINVAL, NULL},
        {"{\"n\":1", 0, ADT_EINVAL, NULL},
        {"{\"n\":-", 0, ADT_EINVAL, NULL},
        {"{\"t\":tru}", 0, ADT_EINVAL, NULL},
        {"{\"t\":nul", 0, ADT_EINVAL, NULL},
        {"{\"t\":True}", 0, ADT_EINVAL, NULL},
        {"{\"a\":1,}", 0, ADT_EINVAL, NULL},
        {"{\"a\":[1,]}", 0, ADT_EINVAL, NULL},
        {"{,}", 0, ADT_EINVAL, NULL},
        {"{\"a\" 1}", 0, ADT_EINVAL, NULL},
        {"{a:1}", 0, ADT_EINVAL, NULL},
        {"{'a':1}", 0, ADT_EINVAL, NULL},
        {"{\"a\":1} x", 0, ADT_EINVAL, NULL},
        {"{\"a\":1}{}", 0, ADT_EINVAL, NULL},
        {"{\"a\":1", 0, ADT_EINVAL, NULL},
        {"{\"a\":", 0, ADT_EINVAL, NULL},
        {"{\"a\"", 0, ADT_EINVAL, NULL},
        {"{", 0, ADT_EINVAL, NULL},
        {"{\"a\":[1,2}", 0, ADT_EINVAL, NULL},
        {"{\"a\":{\"b\":1]}", 0, ADT_EINVAL, NULL},
        {"\xef\xbb\xbf{}", 0, ADT_EINVAL, NULL}, /* BOM */
        {"{\"a\":1}\x00", 8, ADT_EINVAL, NULL},
        {"{\"a\":\f1}", 0, ADT_EINVAL, NULL}, /* form feed is not JSON whitespace */
    };
    check_cases(cs, sizeof cs / sizeof cs[0], true);
    /* 65-character numbers are refused (numbers are kept verbatim, bounded). */
    char num[128] = "{\"n\":";
    memset(num + 5, '7', 65);
    strcpy(num + 70, "}");
    ccase longnum = {num, 0, ADT_EINVAL, NULL};
    check_cases(&longnum, 1, true);
    num[69] = '}';
    num[70] = '\0';
    ccase okn = {num, 0, OK_, num};
    check_cases(&okn, 1, true);
    /* The message names the byte offset. */
    buf out;
    buf_init(&out, 1024);
    adt_err err;
    ck_assert_int_eq(canon_json("{\"a\":1,}", 8, NULL, true, &out, &err), ADT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "byte 7"));
    ck_assert_int_eq(canon_json("{\"k\":1,\"k\":2}", 13, NULL, true, &out, &err), ADT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "duplicate"));
    ck_assert_ptr_nonnull(strstr(err.msg, "\"k\""));
    buf_free(&out);
}
END_TEST

static int canon_lim(const char *in, const canon_limits *lim)
{
    buf out;
    buf_init(&out, 1 << 20);
    adt_err err;
    int rc = run_canon(in, strlen(in), lim, false, &out, &err);
    buf_free(&out);
    return rc;
}

START_TEST(test_canon_limits)
{
    canon_limits l = {100, 3, 10};
    ck_assert_int_eq(canon_lim("{\"a\":{\"b\":{\"c\":1}}}", &l), ADT_OK);
    int rc = canon_lim("{\"a\":{\"b\":{\"c\":{}}}}", &l);
    ck_assert(rc == ADT_EINVAL || rc == ADT_ETOOBIG);
    ck_assert_int_eq(canon_lim("[[[1]]]", &l), ADT_OK);
    rc = canon_lim("[[[[1]]]]", &l);
    ck_assert(rc == ADT_EINVAL || rc == ADT_ETOOBIG);
    l = (canon_limits){100, 1, 10};
    ck_assert_int_eq(canon_lim("{\"a\":1,\"b\":\"x\"}", &l), ADT_OK);
    rc = canon_lim("{\"a\":[]}", &l);
    ck_assert(rc == ADT_EINVAL || rc == ADT_ETOOBIG);
    /* Size. */
    l = (canon_limits){13, 8, 100};
    ck_assert_int_eq(canon_lim("{\"a\":\"12345\"}", &l), ADT_OK);
    ck_assert_int_eq(canon_lim("{\"a\":\"123456\"}", &l), ADT_ETOOBIG);
    /* Members: total values, the container itself included. */
    l = (canon_limits){1000, 8, 4};
    ck_assert_int_eq(canon_lim("[1,2,3]", &l), ADT_OK);
    ck_assert_int_eq(canon_lim("[1,2,3,4]", &l), ADT_ETOOBIG);
    ck_assert_int_eq(canon_lim("{\"a\":1,\"b\":2,\"c\":{}}", &l), ADT_OK);
    ck_assert_int_eq(canon_lim("{\"a\":1,\"b\":2,\"c\":{\"d\":1}}", &l), ADT_ETOOBIG);
    /* The event defaults: depth 16, 4096 values, 64 KiB. */
    ck_assert_uint_eq(canon_event_limits.max_bytes, 65536);
    ck_assert_int_eq(canon_event_limits.max_depth, 16);
    ck_assert_uint_eq(canon_event_limits.max_members, 4096);
    char deep[200] = "";
    for (int i = 0; i < 16; i++)
        strcat(deep, "[");
    for (int i = 0; i < 16; i++)
        strcat(deep, "]");
    ck_assert_int_eq(canon_lim(deep, NULL), ADT_OK);
    strcpy(deep, "[");
    for (int i = 0; i < 16; i++)
        strcat(deep, "[");
    for (int i = 0; i < 17; i++)
        strcat(deep, "]");
    rc = canon_lim(deep, NULL);
    ck_assert(rc == ADT_EINVAL || rc == ADT_ETOOBIG);
    /* Very deep input is refused without exhausting the stack. */
    canon_limits big = {1 << 22, 16, 1 << 22};
    size_t dn = 1 << 20;
    char *d = malloc(dn + 1);
    memset(d, '[', dn);
    d[dn] = '\0';
    rc = canon_lim(d, &big);
    ck_assert(rc == ADT_EINVAL || rc == ADT_ETOOBIG);
    memset(d, '{', dn);
    rc = canon_lim(d, &big);
    ck_assert(rc == ADT_EINVAL || rc == ADT_ETOOBIG);
    free(d);
    /* 4097 values. */
    buf many;
    buf_init(&many, 1 << 20);
    buf_putc(&many, '[');
    for (int i = 0; i < 4096; i++)
        buf_puts(&many, i ? ",0" : "0");
    buf_putc(&many, ']');
    ck_assert_int_eq(canon_lim(many.data, NULL), ADT_ETOOBIG);
    buf_free(&many);
    /* Over 64 KiB by default. */
    size_t bn = 65537;
    char *b = malloc(bn + 1);
    memset(b, ' ', bn);
    memcpy(b, "{}", 2);
    b[bn] = '\0';
    ck_assert_int_eq(canon_lim(b, NULL), ADT_ETOOBIG);
    b[bn - 1] = '\0';
    ck_assert_int_eq(canon_lim(b, NULL), ADT_OK);
    free(b);
    /* An output buffer at its maximum refuses to grow; contents kept. */
    buf small;
    buf_init(&small, 8);
    buf_puts(&small, "ab");
    adt_err err;
    ck_assert_int_eq(canon_json("{\"abc\":\"defgh\"}", 15, NULL, true, &small, &err), ADT_ETOOBIG);
    ck_assert_uint_eq(small.len, 2);
    ck_assert_str_eq(small.data, "ab");
    buf_free(&small);
}
END_TEST

START_TEST(test_canon_member)
{
    const char *j = "{\"a\":1,\"b\":\"x\",\"c\":{\"d\":2,\"z\":[1]},\"e\":[1,\"]\"],\"f\":\"q\\\"\\\\\",\"g\":true}";
    struct {
        const char *key, *want;
    } cs[] = {{"a", "1"}, {"b", "\"x\""}, {"c", "{\"d\":2,\"z\":[1]}"}, {"e", "[1,\"]\"]"},
              {"f", "\"q\\\"\\\\\""}, {"g", "true"}};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        const char *v = NULL;
        size_t vl = 0;
        ck_assert_int_eq(canon_member(j, strlen(j), cs[i].key, &v, &vl), ADT_OK);
        ck_assert_msg(vl == strlen(cs[i].want) && memcmp(v, cs[i].want, vl) == 0,
                      "member %s: '%.*s'", cs[i].key, (int)vl, v);
    }
    const char *v;
    size_t vl;
    ck_assert_int_eq(canon_member(j, strlen(j), "d", &v, &vl), ADT_ENOTFOUND); /* nested only */
    ck_assert_int_eq(canon_member(j, strlen(j), "z", &v, &vl), ADT_ENOTFOUND);
    ck_assert_int_eq(canon_member(j, strlen(j), "", &v, &vl), ADT_ENOTFOUND);
    ck_assert_int_eq(canon_member(j, strlen(j), "ab", &v, &vl), ADT_ENOTFOUND);
    ck_assert_int_eq(canon_member("{}", 2, "a", &v, &vl), ADT_ENOTFOUND);
    ck_assert_int_eq(canon_member("[1]", 3, "a", &v, &vl), ADT_EINVAL);
    ck_assert_int_eq(canon_member("", 0, "a", &v, &vl), ADT_EINVAL);
    /* A string that looks like a member does not fool it. */
    const char *t = "{\"a\":\"\\\"b\\\":9\",\"b\":2}";
    ck_assert_int_eq(canon_member(t, strlen(t), "b", &v, &vl), ADT_OK);
    ck_assert_uint_eq(vl, 1);
    ck_assert_int_eq(v[0], '2');
    /* Non-canonical spacing is accepted too. */
    const char *w = "{ \"a\" : 1 ,\n \"b\" : [ 2 ] }";
    ck_assert_int_eq(canon_member(w, strlen(w), "b", &v, &vl), ADT_OK);
    ck_assert_int_eq(v[0], '[');
    ck_assert_int_eq(v[vl - 1], ']');
    /* Truncated inputs never read past the end (run under ASan). */
    const char *trunc[] = {"{\"a\":", "{\"a\"", "{\"a\":\"xx", "{\"a\":[1,2", "{\"a\":\"\\", "{\"",
                           "{\"a\":1,\"b"};
    for (size_t i = 0; i < sizeof trunc / sizeof trunc[0]; i++) {
        size_t n = strlen(trunc[i]);
        char *c = malloc(n);
        memcpy(c, trunc[i], n);
        int rc = canon_member(c, n, "b", &v, &vl);
        ck_assert_msg(rc == ADT_EINVAL || rc == ADT_ENOTFOUND, "'%s': %d", trunc[i], rc);
        free(c);
    }
}
END_TEST

START_TEST(test_put_string_and_utf8)
{
    buf b;
    buf_init(&b, 256);
    ck_assert_int_eq(canon_put_string(&b, "a\"b\\c\x01\x1f\x7f\n\xc3\xa9", 11), ADT_OK);
    ck_assert_str_eq(b.data, "\"a\\\"b\\\\c\\u0001\\u001f\x7f\\n\xc3\xa9\"");
    buf_reset(&b);
    ck_assert_int_eq(canon_put_string(&b, "x\0y", 3), ADT_OK);
    ck_assert_str_eq(b.data, "\"x\\u0000y\"");
    buf_free(&b);
    ck_assert(canon_utf8_valid("", 0));
    ck_assert(canon_utf8_valid("plain", 5));
    ck_assert(canon_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 13));
    ck_assert(canon_utf8_valid("\xed\x9f\xbf\xee\x80\x80", 6)); /* U+D7FF, U+E000 */
    ck_assert(!canon_utf8_valid("\xc0\x80", 2));
    ck_assert(!canon_utf8_valid("\xe0\x9f\xbf", 3));
    ck_assert(!canon_utf8_valid("\xed\xa0\x80", 3));
    ck_assert(!canon_utf8_valid("\xf4\x90\x80\x80", 4));
    ck_assert(!canon_utf8_valid("\xf8\x88\x80\x80\x80", 5));
    ck_assert(!canon_utf8_valid("\xc3", 1));
    ck_assert(!canon_utf8_valid("a\xe2\x82", 3));
    ck_assert(!canon_utf8_valid("\xfe\xff", 2));
}
END_TEST

/* ---- RFC 3339 ---- */

static int64_t p3339(const char *s)
{
    int64_t us = INT64_MIN;
    size_t n = strlen(s);
    char *c = malloc(n + 1);
    memcpy(c, s, n + 1);
    int rc = rfc3339_parse(c, n, &us);
    free(c);
    return rc == ADT_OK ? us : INT64_MIN;
}

/* Plain strings and keys take a fast path (copied as they are); strings
 * with escapes, control characters or non-ASCII take the decoding path.
 * Both must give the same canonical bytes: each string is canonicalised as
 * a key and as a value and compared with canon_put_string of its decoding. */
START_TEST(test_fast_path_same_bytes)
{
    static const char *const strs[] = {
        "\"plain ascii, long enough to span several eight-byte words\"",
        "\"\"", "\"a\"", "\"1234567\"", "\"12345678\"", "\"123456789\"",
        "\"tab\\there\"", "\"quote \\\" inside\"", "\"slash \\/ escaped\"",
        "\"unicode \\u00e4 escaped\"", "\"raw \xc3\xa4 utf-8 after seven\"",
        "\"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac euros\"", "\"del \x7f kept\"",
        "\"surrogates \\ud83d\\ude00 pair\"", "\"backslash \\\\ twice\"",
        "\"ctl \\u0001\"", "\"~}|{`_^]\\\\[@?>=<;:9876543210/.-,+*)(\\u0027&%$#! \""};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        char dec[256];
        size_t dl;
        ck_assert_int_eq(canon_unquote(strs[i], strlen(strs[i]), dec, sizeof dec, &dl), ADT_OK);
        buf want, doc, got;
        buf_init(&want, 4096);
        buf_init(&doc, 4096);
        buf_init(&got, 4096);
        buf_puts(&want, "{");
        canon_put_string(&want, dec, dl);
        buf_puts(&want, ":");
        canon_put_string(&want, dec, dl);
        buf_puts(&want, "}");
        buf_printf(&doc, "{ %s : %s }", strs[i], strs[i]);
        adt_err err;
        ck_assert_int_eq(canon_json(doc.data, doc.len, &canon_event_limits, true, &got, &err),
                         ADT_OK);
        ck_assert_msg(!strcmp(got.data, want.data), "%s: %s vs %s", strs[i], got.data, want.data);
        buf_free(&want);
        buf_free(&doc);
        buf_free(&got);
    }
    /* invalid UTF-8 inside an otherwise plain string is still refused */
    buf out;
    buf_init(&out, 64);
    adt_err err;
    ck_assert_int_eq(canon_json("\"abcdefgh\xff\"", 11, &canon_event_limits, false, &out, &err),
                     ADT_EINVAL);
    ck_assert_int_eq(canon_json("{\"abcdefgh\xc3\":1}", 15, &canon_event_limits, true, &out, &err),
                     ADT_EINVAL);
    buf_free(&out);
}
END_TEST

/* canon_is_canonical: accepts canonical objects (stored as they are by the
 * ledger), declines anything canon_json would change or refuse, and what it
 * leaves to canon_json on purpose (escapes, exponents). Every case is also
 * checked against canon_json (check_fast_agrees), as every case above and
 * the fuzz corpus (fuzz_canon) are. */
START_TEST(test_is_canonical)
{
    static const struct {
        const char *in;
        bool fast;
    } cs[] = {
        {"{}", true},
        {"{\"a\":1}", true},
        {"{\"\":5,\"B\":2,\"a\":4,\"ab\":6,\"b\":1,\"\xc3\xa9\":3}", true},
        {"{\"a\":true,\"z\":{\"x\":null,\"y\":[3,{\"c\":2,\"d\":1}]}}", true},
        {"{\"n\":[1.50,-0,0.0,-12.5,123456789012345678901234567890],\"t\":[true,false,null,[],{},\"\"]}", true},
        {"{\"s\":\"\xf0\x9f\x98\x80 raw \xe2\x82\xac \xc3\xa9 \x7f\"}", true},
        {"{\"accepted\":17,\"actor\":\"agent:gw-1\",\"time\":\"2026-07-01T08:00:00Z\",\"type\":\"telemetry.batch\"}", true},
        /* not canonical: canon_json changes them */
        {" {}", false}, {"{} ", false}, {"{\"a\": 1}", false}, {"{\"a\":1 }", false},
        {"{\"b\":1,\"a\":2}", false}, {"{\"ab\":1,\"a\":2}", false},
        {"{\"a\":{\"d\":1,\"c\":2}}", false}, {"{\"a\":[{\"y\":1,\"x\":2}]}", false},
        {"{\"s\":\"\\/\"}", false}, {"{\"s\":\"\\u0041\"}", false},
        /* refused by canon_json */
        {"{\"a\":1,\"a\":2}", false}, {"{\"a\":01}", false}, {"{\"a\":1,}", false},
        {"{\"a\":-}", false}, {"{\"a\":1.}", false}, {"{\"a\":tru}", false},
        {"{\"s\":\"\xc0\xaf\"}", false}, {"{\"s\":\"\xed\xa0\x80\"}", false},
        {"{\"s\":\"a\x01\"}", false}, {"{\"s\":\"abc}", false}, {"{\"a\":1", false},
        {"[1]", false}, {"\"a\"", false}, {"", false}, {"{\"a\":1}x", false},
        /* left to canon_json on purpose (canonical or not) */
        {"{\"s\":\"\\n\"}", false}, {"{\"s\":\"\\\\\"}", false}, {"{\"\\u001f\":1}", false},
        {"{\"n\":1e5}", false}, {"{\"n\":1E+2}", false}, {"{\"n\":1e999}", false},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        size_t len = strlen(cs[i].in);
        ck_assert_msg(canon_is_canonical(cs[i].in, len, NULL) == cs[i].fast, "case %zu '%s': want %d",
                      i, cs[i].in, cs[i].fast);
        check_fast_agrees(cs[i].in, len, NULL);
    }
    /* Limits: declined where canon_json would refuse. */
    static const canon_limits small = {16, 2, 4};
    ck_assert(canon_is_canonical("{\"a\":{\"b\":1}}", 13, &small));
    ck_assert(!canon_is_canonical("{\"a\":{\"b\":[1]}}", 15, &small));       /* depth 3 */
    ck_assert(!canon_is_canonical("{\"a\":[1,2,3,4]}", 15, &small));         /* 6 values */
    ck_assert(!canon_is_canonical("{\"a\":\"0123456789ab\"}", 21, &small)); /* 21 bytes */
    check_fast_agrees("{\"a\":{\"b\":[1]}}", 15, &small);
    check_fast_agrees("{\"a\":[1,2,3,4]}", 15, &small);
    /* Numbers of 64 characters pass, of 65 are left to canon_json (which refuses them). */
    char num[80] = "{\"n\":";
    memset(num + 5, '1', 64);
    strcpy(num + 69, "}");
    ck_assert(canon_is_canonical(num, strlen(num), NULL));
    check_fast_agrees(num, strlen(num), NULL);
    memset(num + 5, '1', 65);
    strcpy(num + 70, "}");
    ck_assert(!canon_is_canonical(num, strlen(num), NULL));
}
END_TEST

START_TEST(test_rfc3339_valid)
{
    struct {
        const char *s;
        int64_t us;
    } cs[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01t00:00:00z", 0},
        {"1970-01-01T00:00:00.5Z", 500000},
        {"1970-01-01T00:00:00.000001Z", 1},
        {"1970-01-01T00:00:00.123456789Z", 123456},
        {"1970-01-01T01:00:00+01:00", 0},
        {"1969-12-31T19:00:00-05:00", 0},
        {"1970-01-01T00:00:00-00:00", 0},
        {"1970-01-01T05:30:00+05:30", 0},
        {"1969-12-31T23:59:59Z", -1000000},
        {"2026-07-01T08:00:00Z", 1782892800LL * 1000000},
        {"2026-07-01T10:00:00.25+02:00", 1782892800LL * 1000000 + 250000},
        {"2024-02-29T23:59:59Z", 1709251199LL * 1000000},
        {"2000-02-29T00:00:00Z", (951868800LL - 86400) * 1000000},
        {"1900-01-01T00:00:00Z", -2208988800LL * 1000000},
        {"9999-12-31T23:59:59Z", 253402300799LL * 1000000},
        {"0001-01-01T00:00:00Z", -62135596800LL * 1000000},
        /* A leap second is accepted (folded into :59). */
        {"2016-12-31T23:59:60Z", (1483228800LL - 1) * 1000000},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
        ck_assert_msg(p3339(cs[i].s) == cs[i].us, "%s -> %lld, want %lld", cs[i].s,
                      (long long)p3339(cs[i].s), (long long)cs[i].us);
}
END_TEST

START_TEST(test_rfc3339_invalid)
{
    static const char *const bad[] = {
        "", "2026-07-01", "2026-07-01T08:00:00", "2026-07-01T08:00Z", "2026-07-01 08:00:00Z",
        "2026-07-01T08:00:00+0100", "2026-07-01T08:00:00+01", "2026-07-01T08:00:00+24:00",
        "2026-07-01T08:00:00+01:60", "2026-07-01T08:00:00ZZ", "2026-07-01T08:00:00Z ",
        " 2026-07-01T08:00:00Z", "2026-07-01T08:00:00.Z", "2026-07-01T08:00:00,5Z",
        "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z",
        "2026-01-32T00:00:00Z", "2026-04-31T00:00:00Z", "2026-06-31T00:00:00Z",
        "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
        "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:61Z",
        "2026-1-01T00:00:00Z", "+026-01-01T00:00:00Z", "-026-01-01T00:00:00Z",
        "2026/01/01T00:00:00Z", "2026-01-01T00-00-00Z", "2026-01-01T0a:00:00Z",
        "20260101T000000Z", "2026-01-01T00:00:00.123Zjunk", "2026-01-01T00:00:00+01:00Z",
        "2026-01-01T00:00:00 +01:00", "2026-01-01T-1:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(p3339(bad[i]) == INT64_MIN, "'%s' was accepted", bad[i]);
    /* Length is honoured: a valid prefix of a longer buffer. */
    int64_t us;
    ck_assert_int_eq(rfc3339_parse("1970-01-01T00:00:00Zxyz", 20, &us), ADT_OK);
    ck_assert_int_eq(us, 0);
    ck_assert_int_ne(rfc3339_parse("1970-01-01T00:00:00Z", 19, &us), ADT_OK);
}
END_TEST

START_TEST(test_rfc3339_format)
{
    char s[40];
    ck_assert_int_eq(rfc3339_format(0, s, sizeof s), ADT_OK);
    ck_assert_str_eq(s, "1970-01-01T00:00:00.000000Z");
    ck_assert_int_eq(rfc3339_format(-1, s, sizeof s), ADT_OK);
    ck_assert_str_eq(s, "1969-12-31T23:59:59.999999Z");
    ck_assert_int_eq(rfc3339_format(1782892800LL * 1000000 + 7, s, sizeof s), ADT_OK);
    ck_assert_str_eq(s, "2026-07-01T08:00:00.000007Z");
    ck_assert_int_eq(rfc3339_format_s(1709251199LL * 1000000 + 999999, s, sizeof s), ADT_OK);
    ck_assert_str_eq(s, "2024-02-29T23:59:59Z");
    ck_assert_int_ne(rfc3339_format(0, s, 27), ADT_OK);
    ck_assert_int_eq(rfc3339_format(0, s, 28), ADT_OK);
    ck_assert_int_ne(rfc3339_format_s(0, s, 20), ADT_OK);
    ck_assert_int_ne(rfc3339_format(253402300800LL * 1000000, s, sizeof s), ADT_OK); /* year 10000 */
    ck_assert_int_eq(rfc3339_format(-62167219200LL * 1000000, s, sizeof s), ADT_OK);
    ck_assert_str_eq(s, "0000-01-01T00:00:00.000000Z");
    ck_assert_int_ne(rfc3339_format(-62167219200LL * 1000000 - 1, s, sizeof s), ADT_OK); /* year -1 */
    /* The whole int64 range is refused cleanly (no overflow: run under UBSan). */
    ck_assert_int_ne(rfc3339_format(INT64_MAX, s, sizeof s), ADT_OK);
    ck_assert_int_ne(rfc3339_format(INT64_MIN, s, sizeof s), ADT_OK);
    ck_assert_int_ne(rfc3339_format_s(INT64_MIN + 1, s, sizeof s), ADT_OK);
    /* Round trips against the C library's calendar for random instants. */
    srand(1234);
    for (int i = 0; i < 20000; i++) {
        int64_t secs = ((int64_t)rand() << 20 ^ rand()) % (253402300799LL + 62135596800LL) - 62135596800LL;
        int64_t us = secs * 1000000 + rand() % 1000000;
        ck_assert_int_eq(rfc3339_format(us, s, sizeof s), ADT_OK);
        ck_assert_int_eq(p3339(s), us);
        time_t t = (time_t)secs;
        struct tm tm;
        ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
        char want[40];
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        ck_assert_msg(strncmp(s, want, 19) == 0, "%s vs libc %s", s, want);
    }
    int64_t now = rfc3339_now_us();
    ck_assert(now > 1767225600LL * 1000000); /* after 2026-01-01 */
}
END_TEST

/* ---- events ---- */

static int ev(const char *json, buf *out, event_info *info, adt_err *err)
{
    return event_validate(json, strlen(json), NULL, out, info, err);
}

START_TEST(test_event_validate)
{
    buf out;
    buf_init(&out, 1 << 16);
    event_info info;
    adt_err err;
    ck_assert_int_eq(ev("{\"type\":\"firmware.deploy\",\"time\":\"2026-07-01T10:00:00+02:00\","
                        "\"actor\":\"agent:gw-1\",\"zz\":[1],\"a\":{}}", &out, &info, &err), ADT_OK);
    ck_assert_str_eq(out.data, "{\"a\":{},\"actor\":\"agent:gw-1\",\"time\":\"2026-07-01T10:00:00+02:00\","
                               "\"type\":\"firmware.deploy\",\"zz\":[1]}");
    ck_assert_str_eq(info.type, "firmware.deploy");
    ck_assert_str_eq(info.actor, "agent:gw-1");
    ck_assert_int_eq(info.time_us, 1782892800LL * 1000000);
    buf_reset(&out);
    ck_assert_int_eq(ev("{\"type\":\"x-acme.valve_test-2\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"\xc3\xa9mile\"}",
                        &out, &info, &err), ADT_OK);
    ck_assert_str_eq(info.actor, "\xc3\xa9mile");
    struct {
        const char *json, *word;
    } bad[] = {
        {"{\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}", "type"},
        {"{\"type\":\"alert.ack\",\"actor\":\"a\"}", "time"},
        {"{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\"}", "actor"},
        {"{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"\"}", "actor"},
        {"{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":7}", "actor"},
        {"{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":null}", "actor"},
        {"{\"type\":[\"alert.ack\"],\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}", "type"},
        {"{\"type\":\"alert.acknowledge\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}", "vocabulary"},
        {"{\"type\":\"x-\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}", "vocabulary"},
        {"{\"type\":\"x-Acme\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}", "vocabulary"},
        {"{\"type\":\"x-a b\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}", "vocabulary"},
        {"{\"type\":\"ALERT.ACK\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}", "vocabulary"},
        {"{\"type\":\"alert.ack\",\"time\":\"2026-07-01\",\"actor\":\"a\"}", "time"},
        {"{\"type\":\"alert.ack\",\"time\":\"yesterday\",\"actor\":\"a\"}", "time"},
        {"{\"type\":\"alert.ack\",\"time\":\"2026-02-30T08:00:00Z\",\"actor\":\"a\"}", "time"},
        {"{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\",\"actor\":\"b\"}", "duplicate"},
        {"[{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}]", NULL},
        {"{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_reset(&out);
        buf_puts(&out, "KEEP");
        memset(&err, 0, sizeof err);
        int rc = ev(bad[i].json, &out, &info, &err);
        ck_assert_msg(rc == ADT_EINVAL, "case %zu (%s): rc %d", i, bad[i].json, rc);
        ck_assert_msg(out.len == 4 && strcmp(out.data, "KEEP") == 0, "case %zu: output left: %s", i, out.data);
        if (bad[i].word)
            ck_assert_msg(strstr(err.msg, bad[i].word), "case %zu: message '%s' lacks '%s'", i,
                          err.msg, bad[i].word);
    }
    /* Type over 128 bytes. */
    char t[400];
    snprintf(t, sizeof t, "{\"type\":\"x-%0130d\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}", 0);
    buf_reset(&out);
    ck_assert_int_eq(ev(t, &out, &info, &err), ADT_EINVAL);
    buf_free(&out);
}
END_TEST

/* The vocabulary in the code is the one documented in docs/events.md. */
START_TEST(test_event_vocabulary)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/docs/events.md", AUDITD_SOURCE_DIR);
    size_t len;
    char *doc = ts_read_file(path, &len);
    ck_assert_ptr_nonnull(doc);
    int count = 0;
    for (int i = 0; event_type_table[i].type; i++, count++) {
        const char *t = event_type_table[i].type;
        ck_assert(event_type_known(t));
        char want[160];
        snprintf(want, sizeof want, "`%s`", t);
        ck_assert_msg(strstr(doc, want), "type %s is not documented in docs/events.md", t);
        /* "Who may write what": the row "| `t` | w1, w2 |" names exactly the code's writers. */
        snprintf(want, sizeof want, "\n| `%s` | ", t);
        const char *row = strstr(doc, want);
        ck_assert_msg(row, "type %s has no row in the writers table of docs/events.md", t);
        row += strlen(want);
        unsigned mask = 0;
        while (*row && *row != '|' && *row != '\n') {
            size_t n = strcspn(row, ",| \n");
            if (n) {
                event_writer w = event_writer_parse(row, n);
                ck_assert_msg(w != EVENT_WRITER_NONE, "type %s: unknown writer in docs/events.md", t);
                mask |= (unsigned)w;
            }
            row += n ? n : 1;
        }
        ck_assert_msg(mask == event_type_table[i].writers,
                      "type %s: docs/events.md writers differ from event_type_table", t);
    }
    ck_assert_int_ge(count, 30);
    /* Every `a.b` type in the doc's type tables is known to the code. */
    for (char *p = strstr(doc, "\n| `"); p; p = strstr(p + 1, "\n| `")) {
        char *s = p + 4, *e = strchr(s, '`');
        if (!e || e - s > 60)
            continue;
        char name[64];
        memcpy(name, s, (size_t)(e - s));
        name[e - s] = '\0';
        if (!strchr(name, '.') || strchr(name, ' ') || strchr(name, '<'))
            continue;
        ck_assert_msg(event_type_known(name), "documented type %s unknown", name);
    }
    free(doc);
    ck_assert(!event_type_known(""));
    ck_assert(!event_type_known("x-"));
    ck_assert(event_type_known("x-a"));
    ck_assert(!event_type_known("change"));
    ck_assert(!event_type_known("change.request "));
    /* writers */
    ck_assert(event_writer_may("ledger.verify", EVENT_WRITER_AUDITD));
    ck_assert(!event_writer_may("ledger.verify", EVENT_WRITER_EDGE));
    ck_assert(!event_writer_may("ledger.verify", EVENT_WRITER_PLATFORM));
    ck_assert(!event_writer_may("x-a", EVENT_WRITER_AUDITD));
    ck_assert(event_writer_may("x-a", EVENT_WRITER_EDGE));
    ck_assert(!event_writer_may("change.approve", EVENT_WRITER_NONE));
    ck_assert(!event_writer_may("nope.nope", EVENT_WRITER_ADMIN));
    char names[64];
    event_writers_text(EVENT_WRITER_AUDITD | EVENT_WRITER_PLATFORM, names, sizeof names);
    ck_assert_str_eq(names, "auditd, platform");
    ck_assert_str_eq(event_writer_name(EVENT_WRITER_PERSON), "person");
    ck_assert_str_eq(event_writer_name((event_writer)3), "");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("canon");
    TCase *tc = tcase_create("canon");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_canon_valid);
    tcase_add_test(tc, test_canon_invalid);
    tcase_add_test(tc, test_canon_limits);
    tcase_add_test(tc, test_canon_member);
    tcase_add_test(tc, test_put_string_and_utf8);
    tcase_add_test(tc, test_fast_path_same_bytes);
    tcase_add_test(tc, test_is_canonical);
    tcase_add_test(tc, test_rfc3339_valid);
    tcase_add_test(tc, test_rfc3339_invalid);
    tcase_add_test(tc, test_rfc3339_format);
    tcase_add_test(tc, test_event_validate);
    tcase_add_test(tc, test_event_vocabulary);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
