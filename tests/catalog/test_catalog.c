/* test_catalog.c: the control store: id normalisation, the seeded data, the
 * OSCAL importer against NIST's official catalog and baselines, the
 * crosswalk, the SoA, bad input (all or nothing), and the commands. */
#include "buf.h"
#include "catalog.h"
#include "tsupport.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NIST_DIR "data/nist-800-53r5/"

static char *shared(const char *rel)
{
    return strdup(ts_shared(rel));
}

static int count_cb(void *ctx, const catalog_control *c)
{
    (void)c;
    (*(size_t *)ctx)++;
    return 0;
}

static size_t count_in_scope(catalog *c, const char *fw)
{
    size_t n = 0;
    adt_err err;
    ck_assert_int_eq(catalog_list_in_scope(c, fw, count_cb, &n, &err), ADT_OK);
    return n;
}

static size_t count_all(catalog *c, const char *fw)
{
    size_t n = 0;
    adt_err err;
    ck_assert_int_eq(catalog_list(c, fw, count_cb, &n, &err), ADT_OK);
    return n;
}

typedef struct ids {
    size_t n;
    char v[64][CATALOG_ID_MAX];
} ids;

static int id_cb(void *ctx, const char *id)
{
    ids *x = ctx;
    if (x->n < 64)
        snprintf(x->v[x->n], CATALOG_ID_MAX, "%s", id);
    x->n++;
    return 0;
}

static catalog *open_mem(void)
{
    catalog *c = NULL;
    adt_err err = {0};
    int rc = catalog_open(NULL, &c, &err);
    ck_assert_msg(rc == ADT_OK, "open: %s", err.msg);
    return c;
}

/* ---- Ids ------------------------------------------------------------------------ */

START_TEST(normalize_ids)
{
    struct {
        const char *in, *out;
    } ok[] = {
        {"ac-2.1", "ac-2.1"},     {"AC-2(1)", "ac-2.1"},   {"AC-02(01)", "ac-2.1"},
        {"ac-2(1)", "ac-2.1"},    {"AC 2 (1)", "ac-2.1"},  {" si-7.15 ", "si-7.15"},
        {"SI-07(15)", "si-7.15"}, {"au-2", "au-2"},        {"AU-02", "au-2"},
        {"A.5.1", "A.5.1"},       {"a.5.1", "A.5.1"},      {"A.05.01", "A.5.1"},
        {"8.28", "A.8.28"},       {"A.8.34", "A.8.34"},
    };
    char out[CATALOG_ID_MAX];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ck_assert_msg(catalog_normalize_id(ok[i].in, out, sizeof out) == ADT_OK, "%s",
                      ok[i].in);
        ck_assert_str_eq(out, ok[i].out);
    }
    const char *bad[] = {"",     "ac",     "ac-",    "ac-2(",  "ac-2(1", "ac-2)1", "ac-2.1.1",
                         "ac-0", "A.9.1",  "A.4.1",  "A.5",    "A.5.",   "x",      "a-2",
                         "abc-2", "ac-2 x", "A.5.1x", "AC-2(1)(2)", "ac-1234567", NULL};
    for (size_t i = 0; bad[i]; i++)
        ck_assert_msg(catalog_normalize_id(bad[i], out, sizeof out) == ADT_EINVAL,
                      "'%s' accepted as '%s'", bad[i], out);
    ck_assert_int_eq(catalog_normalize_id(NULL, out, sizeof out), ADT_EINVAL);
    ck_assert_int_eq(catalog_normalize_id("ac-2.1", out, 4), ADT_ENOMEM);
    ck_assert_str_eq(catalog_framework_of("AC-17(1)"), CATALOG_NIST);
    ck_assert_str_eq(catalog_framework_of("A.8.16"), CATALOG_ISO);
    ck_assert_ptr_null(catalog_framework_of("nope"));
    ck_assert_int_eq(catalog_label("ac-17.1", out, sizeof out), ADT_OK);
    ck_assert_str_eq(out, "AC-17(1)");
    ck_assert_int_eq(catalog_label("AC-17(1)", out, sizeof out), ADT_EINVAL);
}
END_TEST

/* ---- Seeded store ------------------------------------------------------------------ */

START_TEST(seeded_store)
{
    catalog *c = open_mem();
    adt_err err;
    catalog_control ctl;
    ck_assert_int_eq(catalog_lookup(c, NULL, "AC-2", &ctl, &err), ADT_OK);
    ck_assert_str_eq(ctl.framework, CATALOG_NIST);
    ck_assert_str_eq(ctl.id, "ac-2");
    ck_assert_str_eq(ctl.label, "AC-2");
    ck_assert_str_eq(ctl.title, "Account Management");
    ck_assert_str_eq(ctl.theme, "ac");
    ck_assert(ctl.in_scope);
    ck_assert_int_eq(catalog_lookup(c, CATALOG_NIST, "SI-07(15)", &ctl, &err), ADT_OK);
    ck_assert_str_eq(ctl.label, "SI-7(15)");
    ck_assert_str_eq(ctl.title, "Code Authentication");
    /* Every control the rules use is there. */
    const char *used[] = {"AC-2", "AC-5", "AC-6", "AU-2", "AU-6", "AU-9", "AU-10", "CA-7",
                          "CM-2", "CM-3", "CM-5", "CM-8", "CP-9", "CP-4", "IA-2", "IA-3",
                          "IR-4", "IR-5", "IR-6", "IR-8", "PS-4", "RA-5", "SA-10", "SC-8",
                          "SC-13", "SI-2", "SI-4", "SI-7", "SI-10", "SR-4", "AC-17", "SI-12"};
    for (size_t i = 0; i < sizeof used / sizeof used[0]; i++)
        ck_assert_msg(catalog_in_scope(c, CATALOG_NIST, used[i]), "%s", used[i]);
    ck_assert_uint_eq(count_all(c, CATALOG_NIST), 43);
    ck_assert_uint_eq(count_in_scope(c, CATALOG_NIST), 43);
    /* ISO: 93 controls, 90 applicable per the example SoA. */
    ck_assert_uint_eq(count_all(c, CATALOG_ISO), 93);
    ck_assert_uint_eq(count_in_scope(c, CATALOG_ISO), 90);
    ck_assert_int_eq(catalog_lookup(c, NULL, "A.5.23", &ctl, &err), ADT_OK);
    ck_assert(!ctl.in_scope);
    ck_assert_ptr_nonnull(strstr(ctl.justification, "No cloud services"));
    ck_assert_str_eq(ctl.theme, "Organizational");
    ck_assert(!catalog_in_scope(c, NULL, "A.7.9"));
    ck_assert(catalog_in_scope(c, NULL, "A.8.15"));
    ck_assert(!catalog_in_scope(c, NULL, "AC-1")); /* not in the store */
    ck_assert_int_eq(catalog_lookup(c, NULL, "AC-1", &ctl, &err), ADT_ENOTFOUND);
    ck_assert_int_eq(catalog_lookup(c, NULL, "zz", &ctl, &err), ADT_EINVAL);
    /* The crosswalk, both ways, in clause order. */
    ids x = {0};
    ck_assert_int_eq(catalog_crosswalk_iso(c, "AC-2", id_cb, &x, &err), ADT_OK);
    ck_assert_uint_eq(x.n, 3);
    ck_assert_str_eq(x.v[0], "A.5.16");
    ck_assert_str_eq(x.v[1], "A.5.18");
    ck_assert_str_eq(x.v[2], "A.8.2");
    memset(&x, 0, sizeof x);
    ck_assert_int_eq(catalog_crosswalk_nist(c, "A.8.15", id_cb, &x, &err), ADT_OK);
    ck_assert_uint_eq(x.n, 4);
    ck_assert_str_eq(x.v[0], "au-2");
    ck_assert_str_eq(x.v[1], "au-6");
    memset(&x, 0, sizeof x);
    ck_assert_int_eq(catalog_crosswalk_iso(c, "AU-10", id_cb, &x, &err), ADT_OK);
    ck_assert_uint_eq(x.n, 0);
    char d[128];
    ck_assert_int_eq(catalog_scope_describe(c, CATALOG_ISO, d, sizeof d, &err), ADT_OK);
    ck_assert_str_eq(d, "soa soa-example.csv (90 of 93 controls)");
    catalog_close(c);
}
END_TEST

/* ---- The official catalog, baselines and crosswalk ---------------------------------- */

START_TEST(import_official_catalog_and_baselines)
{
    char *dir = ts_tmpdir("catalog");
    catalog *c = NULL;
    adt_err err = {0};
    ck_assert_int_eq(catalog_open(dir, &c, &err), ADT_OK);
    char *cat = shared(NIST_DIR "NIST_SP-800-53_rev5_catalog.xml");
    char *xsd = shared("data/oscal-schemas/oscal_catalog_schema.xsd");
    catalog_import_stats st;
    int rc = catalog_import_oscal(c, cat, xsd, NULL, NULL, &st, &err);
    ck_assert_msg(rc == ADT_OK, "%s", err.msg);
    ck_assert_str_eq(st.kind, "catalog");
    ck_assert_uint_eq(st.controls, 1189);
    ck_assert_uint_eq(count_all(c, CATALOG_NIST), 1189);
    catalog_control ctl;
    ck_assert_int_eq(catalog_lookup(c, NULL, "AC-02(01)", &ctl, &err), ADT_OK);
    ck_assert_str_eq(ctl.label, "AC-2(1)");
    ck_assert_str_eq(ctl.title, "Automated System Account Management");
    ck_assert_int_eq(catalog_lookup(c, NULL, "ac-2.10", &ctl, &err), ADT_OK);
    ck_assert(ctl.withdrawn);
    ck_assert(!ctl.in_scope);
    ck_assert_uint_eq(count_in_scope(c, CATALOG_NIST), 1189 - 182); /* scope ALL, not withdrawn */

    /* The MODERATE profile becomes a baseline of 287 ids (validated against the XSD). */
    char *mod = shared(NIST_DIR "NIST_SP-800-53_rev5_MODERATE-baseline_profile.xml");
    char *pxsd = shared("data/oscal-schemas/oscal_profile_schema.xsd");
    rc = catalog_import_oscal(c, mod, pxsd, NULL, NULL, &st, &err);
    ck_assert_msg(rc == ADT_OK, "%s", err.msg);
    ck_assert_str_eq(st.kind, "profile");
    ck_assert_str_eq(st.name, "MODERATE");
    ck_assert_uint_eq(st.controls, 287);
    char *low = shared(NIST_DIR "NIST_SP-800-53_rev5_LOW-baseline_profile.xml");
    ck_assert_int_eq(catalog_import_oscal(c, low, NULL, NULL, NULL, &st, &err), ADT_OK);
    ck_assert_str_eq(st.name, "LOW");
    ck_assert_uint_eq(st.controls, 149);

    ck_assert_int_eq(catalog_scope_baseline(c, "moderate", &st, &err), ADT_OK);
    ck_assert_uint_eq(st.controls, 287);
    ck_assert_uint_eq(count_in_scope(c, CATALOG_NIST), 287);
    ck_assert(catalog_in_scope(c, NULL, "AC-2(4)"));
    ck_assert(!catalog_in_scope(c, NULL, "AC-2(6)"));
    ck_assert(!catalog_in_scope(c, NULL, "SR-4")); /* not selected in MODERATE */
    ck_assert_int_eq(catalog_scope_baseline(c, "EXTREME", &st, &err), ADT_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "known: LOW, MODERATE"), "%s", err.msg);
    ck_assert_uint_eq(count_in_scope(c, CATALOG_NIST), 287); /* unchanged */
    catalog_close(c);

    /* The scope persists in the data directory. */
    ck_assert_int_eq(catalog_open(dir, &c, &err), ADT_OK);
    ck_assert_uint_eq(count_in_scope(c, CATALOG_NIST), 287);
    char d[128];
    ck_assert_int_eq(catalog_scope_describe(c, CATALOG_NIST, d, sizeof d, &err), ADT_OK);
    ck_assert_str_eq(d, "baseline MODERATE (287 of 1007 controls)");

    /* The crosswalk: JSON and CSV give the same 439 pairs, 205 + 91 ids. */
    char *xj = shared("data/crosswalk/nist_800_53_to_iso_27001_crosswalk.json");
    char *xc = shared("data/crosswalk/nist80053r5_to_iso27001_2022_annexA_DERIVED.csv");
    rc = catalog_import_crosswalk(c, xj, &st, &err);
    ck_assert_msg(rc == ADT_OK, "%s", err.msg);
    ck_assert_uint_eq(st.pairs, 439);
    ck_assert_uint_eq(st.nist_ids, 205);
    ck_assert_uint_eq(st.iso_ids, 91);
    rc = catalog_import_crosswalk(c, xc, &st, &err);
    ck_assert_msg(rc == ADT_OK, "%s", err.msg);
    ck_assert_uint_eq(st.pairs, 439);
    ck_assert_uint_eq(st.nist_ids, 205);
    ck_assert_uint_eq(st.iso_ids, 91);
    ids x = {0};
    ck_assert_int_eq(catalog_crosswalk_iso(c, "AC-1", id_cb, &x, &err), ADT_OK);
    ck_assert_uint_eq(x.n, 7);
    ck_assert_str_eq(x.v[0], "A.5.1");
    ck_assert_str_eq(x.v[6], "A.5.37");
    memset(&x, 0, sizeof x);
    ck_assert_int_eq(catalog_crosswalk_nist(c, "A.7.6", id_cb, &x, &err), ADT_OK);
    ck_assert_uint_eq(x.n, 0); /* per the README: no 800-53 pair */
    catalog_close(c);
    free(cat);
    free(xsd);
    free(mod);
    free(pxsd);
    free(low);
    free(xj);
    free(xc);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- Bad input: clear errors, nothing imported ----------------------------------------- */

static void import_fails(catalog *c, const char *xml, const char *want, int code)
{
    adt_err err = {0};
    catalog_import_stats st;
    size_t before = count_all(c, CATALOG_NIST);
    int rc = catalog_import_oscal_mem(c, xml, strlen(xml), "in.xml", NULL, NULL, NULL, &st, &err);
    ck_assert_msg(rc == code, "rc %d (%s) for: %s", rc, err.msg, xml);
    ck_assert_msg(strstr(err.msg, want), "want '%s', got '%s'", want, err.msg);
    ck_assert_uint_eq(count_all(c, CATALOG_NIST), before);
}

#define OSCAL "xmlns=\"http://csrc.nist.gov/ns/oscal/1.0\""

START_TEST(bad_oscal_input)
{
    catalog *c = open_mem();
    import_fails(c, "<catalog " OSCAL "><group id=\"ac\"><control id=\"ac-99\">", "in.xml:1:",
                 ADT_EINVAL);
    import_fails(c, "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"/>",
                 "in.xml:2: not an OSCAL catalog or profile: the root element is <rss> without "
                 "a namespace",
                 ADT_EINVAL);
    import_fails(c, "<catalog xmlns=\"urn:other\"/>", "in namespace urn:other", ADT_EINVAL);
    /* A bad id after a good control: the good one is not kept either. */
    import_fails(c,
                 "<catalog " OSCAL ">\n<group id=\"zz\">\n"
                 "<control id=\"ac-98\"><title>Fine</title></control>\n"
                 "<control id=\"zz-1-b\"><title>Bad</title></control>\n</group></catalog>",
                 "in.xml:4: control id 'zz-1-b' is not a valid nist80053 control id", ADT_EINVAL);
    ck_assert(!catalog_in_scope(c, NULL, "ac-98"));
    import_fails(c, "<catalog " OSCAL "><control id=\"ac-97\"/></catalog>",
                 "control ac-97 has no <title>", ADT_EINVAL);
    import_fails(c, "<catalog " OSCAL "><metadata/></catalog>", "the catalog holds no controls",
                 ADT_EINVAL);
    /* Entities are never declared, let alone expanded. */
    import_fails(c,
                 "<?xml version=\"1.0\"?>\n<!DOCTYPE catalog [<!ENTITY a \"aaaaaaaa\">"
                 "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n<catalog " OSCAL "/>",
                 "in.xml:2: a DOCTYPE is not allowed", ADT_EINVAL);
    import_fails(c, "<catalog " OSCAL "><control id=\"ac-96\"><title>&xxe;</title></control>"
                    "</catalog>",
                 "in.xml:1:", ADT_EINVAL);
    /* A profile naming a control the store does not have. */
    import_fails(c,
                 "<profile " OSCAL ">\n<import href=\"#x\"><include-controls>\n"
                 "<with-id>ac-2</with-id>\n<with-id>ac-2.99</with-id>\n"
                 "</include-controls></import></profile>",
                 "in.xml:4: control ac-2.99 is not in the control store", ADT_ENOTFOUND);
    adt_err err;
    catalog_import_stats st;
    ck_assert_int_eq(catalog_scope_baseline(c, "PROFILE", &st, &err), ADT_ENOTFOUND);
    /* A document that is OSCAL but not schema-valid, with --xsd. */
    char *xsd = shared("data/oscal-schemas/oscal_catalog_schema.xsd");
    const char *nometa = "<catalog " OSCAL " uuid=\"74c8ba1e-5cd4-4ad1-bbfd-d888e2f6c724\">\n"
                         "<control id=\"ac-95\"><title>T</title></control></catalog>";
    ck_assert_int_eq(catalog_import_oscal_mem(c, nometa, strlen(nometa), "v.xml", xsd, NULL, NULL,
                                              &st, &err),
                     ADT_EINVAL);
    ck_assert_msg(strstr(err.msg, "v.xml:2:"), "%s", err.msg);
    ck_assert(!catalog_in_scope(c, NULL, "ac-95"));
    /* Without --xsd the same document imports (a structural subset is enough). */
    ck_assert_int_eq(catalog_import_oscal_mem(c, nometa, strlen(nometa), "v.xml", NULL, NULL,
                                              NULL, &st, &err),
                     ADT_OK);
    ck_assert(catalog_in_scope(c, NULL, "ac-95"));
    free(xsd);
    ck_assert_int_eq(catalog_import_oscal(c, "/nonexistent.xml", NULL, NULL, NULL, &st, &err),
                     ADT_ENOTFOUND);
    catalog_close(c);
}
END_TEST

START_TEST(bad_crosswalk_input)
{
    catalog *c = open_mem();
    adt_err err;
    catalog_import_stats st;
    struct {
        const char *in, *want;
    } cases[] = {
        /* The seeded store lacks AC-1: import the catalog first. */
        {"nist_id,iso_id\nac-2,A.5.16\nAC-1,A.5.1\n",
         "x.csv:3: NIST control ac-1 is not in the control store"},
        {"nist_id,iso_id\nac-2,A.9.1\n", "x.csv:2: 'A.9.1' is not a control id"},
        {"nist_id,iso_id\nac-2,A.5.16\nac-2\n", "x.csv:3: expected NIST_ID,ISO_ID"},
        {"nist_id,iso_id\nac-2,ac-6\n", "x.csv:2: a pair needs one SP 800-53 id and one"},
        {"nist_id,iso_id\n\"ac-2,A.5.16\n", "x.csv:2: unterminated quoted field"},
        {"nist_id,iso_id\n", "no crosswalk pairs found"},
        {"{\"crosswalk\":{\"AC-2\":[\"A.5.16\",7]}}", "crosswalk[\"AC-2\"]: expected strings"},
        {"{\"crosswalk\":[1]}", "expected an object"},
        {"{\"crosswalk\":{\"AC-2\":[\"A.5.16\"]", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = catalog_import_crosswalk_mem(c, cases[i].in, strlen(cases[i].in), "x.csv", &st,
                                              &err);
        ck_assert_msg(rc != ADT_OK, "case %zu accepted", i);
        ck_assert_msg(strstr(err.msg, cases[i].want), "case %zu: got '%s'", i, err.msg);
        ids x = {0};
        ck_assert_int_eq(catalog_crosswalk_iso(c, "AC-2", id_cb, &x, &err), ADT_OK);
        ck_assert_uint_eq(x.n, 3); /* the seeded crosswalk is intact */
    }
    /* Columns in either order; quoted fields; CRLF. */
    const char *ok = "iso,nist,source\r\n\"A.5.3\",AC-05,\"mine, mine\"\r\n";
    ck_assert_int_eq(catalog_import_crosswalk_mem(c, ok, strlen(ok), "x.csv", &st, &err), ADT_OK);
    ck_assert_uint_eq(st.pairs, 1);
    ids x = {0};
    ck_assert_int_eq(catalog_crosswalk_nist(c, "A.5.3", id_cb, &x, &err), ADT_OK);
    ck_assert_uint_eq(x.n, 1);
    ck_assert_str_eq(x.v[0], "ac-5");
    catalog_close(c);
}
END_TEST

static char *soa_text(const char *skip, const char *extra)
{
    buf b;
    buf_init(&b, 1 << 20);
    buf_puts(&b, "control_id,applicable,justification\n");
    const char *clauses[] = {"5", "6", "7", "8"};
    int counts[] = {37, 8, 14, 34};
    for (int k = 0; k < 4; k++)
        for (int i = 1; i <= counts[k]; i++) {
            char id[16];
            snprintf(id, sizeof id, "A.%s.%d", clauses[k], i);
            if (skip && !strcmp(id, skip))
                continue;
            buf_printf(&b, "%s,yes,\n", id);
        }
    if (extra)
        buf_puts(&b, extra);
    return buf_steal(&b, NULL);
}

START_TEST(soa_rules)
{
    catalog *c = open_mem();
    adt_err err;
    catalog_import_stats st;
    /* Complete, all applicable. */
    char *s = soa_text(NULL, NULL);
    ck_assert_int_eq(catalog_scope_soa_mem(c, s, strlen(s), "soa.csv", &st, &err), ADT_OK);
    ck_assert_uint_eq(st.applicable, 93);
    ck_assert_uint_eq(count_in_scope(c, CATALOG_ISO), 93);
    free(s);
    /* An exclusion without a justification is an error, with its line. */
    s = soa_text("A.8.30", "A.8.30,no,  \n");
    ck_assert_int_eq(catalog_scope_soa_mem(c, s, strlen(s), "soa.csv", &st, &err), ADT_EINVAL);
    ck_assert_str_eq(err.msg, "soa.csv:94: A.8.30 is excluded without a justification; every "
                              "exclusion must say why (ISO/IEC 27001:2022 6.1.3 d)");
    ck_assert_uint_eq(count_in_scope(c, CATALOG_ISO), 93); /* unchanged */
    free(s);
    s = soa_text("A.8.30", "A.8.30,no,\"Nothing outsourced, all in house\"\n");
    ck_assert_int_eq(catalog_scope_soa_mem(c, s, strlen(s), "soa.csv", &st, &err), ADT_OK);
    ck_assert_uint_eq(st.excluded, 1);
    ck_assert_uint_eq(count_in_scope(c, CATALOG_ISO), 92);
    free(s);
    struct {
        const char *skip, *extra, *want;
    } bad[] = {
        {"A.5.7", NULL, "soa.csv: 1 Annex A control is not stated (A.5.7)"},
        {NULL, "A.5.1,yes,\n", "soa.csv:95: A.5.1 is stated twice"},
        {NULL, "A.9.9,yes,\n", "soa.csv:95: 'A.9.9' is not an Annex A control id"},
        {"A.5.1", "A.5.1,maybe,\n", "soa.csv:94: A.5.1: applicable must be yes or no"},
        {"A.5.1", "A.5.1,yes\n", "soa.csv:94: expected 3 fields"},
        {"A.5.1", "AC-2,yes,\n", "'AC-2' is not an Annex A control id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = soa_text(bad[i].skip, bad[i].extra);
        ck_assert_int_eq(catalog_scope_soa_mem(c, s, strlen(s), "soa.csv", &st, &err),
                         strstr(bad[i].want, "not stated") ? ADT_EINVAL : err.code);
        ck_assert_msg(strstr(err.msg, bad[i].want), "case %zu: got '%s'", i, err.msg);
        ck_assert_uint_eq(count_in_scope(c, CATALOG_ISO), 92);
        free(s);
    }
    const char *nohdr = "A.5.1,yes,\n";
    ck_assert_int_eq(catalog_scope_soa_mem(c, nohdr, strlen(nohdr), "soa.csv", &st, &err),
                     ADT_EINVAL);
    ck_assert_msg(strstr(err.msg, "soa.csv:1: expected the header"), "%s", err.msg);
    catalog_close(c);
}
END_TEST

/* ---- The commands ---------------------------------------------------------------------- */

START_TEST(cli_import_scope_show)
{
    char *dir = ts_tmpdir("catalog-cli");
    char *out = NULL, *errs = NULL;
    const char *show[] = {"controls", "show", "AC-2", "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, show), 0);
    ck_assert_msg(strstr(out, "nist80053 AC-2 (ac-2): Account Management"), "%s%s", out, errs);
    ck_assert_ptr_nonnull(strstr(out, "A.5.16, A.5.18, A.8.2"));
    free(out);
    free(errs);
    char *cat = shared(NIST_DIR "NIST_SP-800-53_rev5_catalog.xml");
    char *prof = shared(NIST_DIR "NIST_SP-800-53_rev5_MODERATE-baseline_profile.xml");
    char *xsd = shared("data/oscal-schemas/oscal_profile_schema.xsd");
    /* The profile before its catalog: refused, nothing imported. */
    const char *imp_p[] = {"controls", "import", prof, "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, imp_p), 1);
    ck_assert_ptr_nonnull(strstr(errs, "is not in the control store"));
    ck_assert_ptr_nonnull(strstr(errs, "nothing was imported"));
    free(out);
    free(errs);
    const char *imp_c[] = {"controls", "import", cat, "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, imp_c), 0);
    ck_assert_ptr_nonnull(strstr(out, "imported 1189 controls and enhancements into nist80053"));
    free(out);
    free(errs);
    const char *imp_p2[] = {"controls", "import", prof, "--xsd", xsd, "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, imp_p2), 0);
    ck_assert_ptr_nonnull(strstr(out, "imported baseline MODERATE: 287 controls"));
    free(out);
    free(errs);
    /* A scope change is a ledger event: without a ledger it is refused, scope unchanged. */
    const char *scope[] = {"controls", "scope", "--baseline", "MODERATE", "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, scope), 1);
    ck_assert_msg(strstr(errs, "auditd init") != NULL, "%s", errs);
    free(out);
    free(errs);
    const char *init[] = {"init", "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, init), 0);
    free(out);
    free(errs);
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, scope), 0);
    ck_assert_msg(strstr(out, "scope change recorded (ledger entry 0)") != NULL, "%s%s", out, errs);
    free(out);
    free(errs);
    const char *scope_show[] = {"controls", "scope", "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, scope_show), 0);
    ck_assert_ptr_nonnull(strstr(out, "baseline MODERATE (287 of 1007 controls)"));
    ck_assert_ptr_nonnull(strstr(out, "soa soa-example.csv (90 of 93 controls)"));
    free(out);
    free(errs);
    char *xw = shared("data/crosswalk/nist_800_53_to_iso_27001_crosswalk.json");
    const char *imp_x[] = {"controls", "import-crosswalk", xw, "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, imp_x), 0);
    ck_assert_ptr_nonnull(strstr(out, "imported 439 crosswalk pairs (205 NIST ids, 91 ISO ids)"));
    free(out);
    free(errs);
    /* A bad SoA: file:line, exit 1; the example SoA from controls/data loads. */
    char bad[1024];
    snprintf(bad, sizeof bad, "%s/soa.csv", dir);
    const char *txt = "control_id,applicable,justification\nA.5.1,no,\n";
    ts_write_file(bad, txt, strlen(txt));
    const char *soa_bad[] = {"controls", "scope", "--soa", bad, "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, soa_bad), 1);
    char want[1200];
    snprintf(want, sizeof want, "%s:2: A.5.1 is excluded without a justification", bad);
    ck_assert_msg(strstr(errs, want), "%s", errs);
    free(out);
    free(errs);
    const char *soa_ok[] = {"controls", "scope", "--soa",
                            AUDITD_SOURCE_DIR "/controls/data/soa-example.csv", "--data-dir",
                            dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, soa_ok), 0);
    ck_assert_ptr_nonnull(strstr(out, "90 applicable, 3 excluded"));
    free(out);
    free(errs);
    const char *unk[] = {"controls", "frobnicate", "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, &errs, unk), 2);
    free(out);
    free(errs);
    free(cat);
    free(prof);
    free(xsd);
    free(xw);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("catalog");
    TCase *t = tcase_create("ids");
    tcase_add_test(t, normalize_ids);
    tcase_add_test(t, seeded_store);
    suite_add_tcase(s, t);
    t = tcase_create("import");
    tcase_add_test(t, import_official_catalog_and_baselines);
    tcase_add_test(t, bad_oscal_input);
    tcase_add_test(t, bad_crosswalk_input);
    tcase_add_test(t, soa_rules);
    tcase_add_test(t, cli_import_scope_show);
    tcase_set_timeout(t, 120);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
