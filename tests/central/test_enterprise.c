/* test_enterprise.c: the enterprise report end to end, black box. Three small
 * simulated plants (different seeds and sizes), each its own `auditd serve`
 * on 127.0.0.1 witnessed by `auditd central serve` over a real PostgreSQL
 * cluster; each ships its baseline fortnight and its period with `auditd
 * ship`; the centre mirrors, cosigns and fetches; `auditd report --scope
 * enterprise` is then checked:
 *  - every site's figures equal that site's own report, and the enterprise
 *    figures are the ratios of the summed numerators and denominators;
 *  - every finding's evidence is checked by a verifier written here from
 *    RFC 6962 (tests/support/rfc6962_check.c) and the C2SP texts
 *    (tests/support/c2sp_check.c): the leaf hashes to its leaf hash, the path
 *    leads to the root of the site's checkpoint, which carries the site's
 *    signature and the centre's cosignature; the cited site.shipment entry
 *    names the batch the finding came from, which the site still serves;
 *  - OSCAL XML against the NIST XSD, OSCAL JSON against the NIST JSON schema;
 *  - a site that rewrites its history gets site.integrity findings. */
#include "c2sp_check.h"
#include "ledger.h"
#include "rfc6962_check.h"
#include "tcentral.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSITES 3
#define PERIOD "2026-07-01..2026-07-14"
#define BASE "2026-06-17..2026-06-30"

static char db[600];
static char keyfile[4200], vkey[NOTE_KEYLINE_MAX];
static char *centre_dir, *work;
static int centre_port;
static pid_t centre = -1;
static tc_site sites[NSITES];
static char kpis_path[NSITES][1200];

static void run_ok(const char *const *args, char **out)
{
    char *o = NULL, *e = NULL;
    int st = ts_run(NULL, 0, &o, &e, args);
    ck_assert_msg(st == 0, "auditd %s %s failed (%d): %s %s", args[0], args[1] ? args[1] : "", st,
                  o ? o : "", e ? e : "");
    if (out)
        *out = o;
    else
        free(o);
    free(e);
}

/* The KPI definitions of site i: the built-in ones, its own name, the
 * fortnight before the period as its baseline. */
static void write_kpis(int i, const char *dir)
{
    size_t kl;
    char src[1100];
    snprintf(src, sizeof src, "%s/reports/kpis.json", AUDITD_SOURCE_DIR);
    char *k = ts_read_file(src, &kl);
    ck_assert_ptr_nonnull(k);
    cJSON *j = cJSON_Parse(k);
    free(k);
    ck_assert_ptr_nonnull(j);
    char name[32];
    snprintf(name, sizeof name, "plant-%d", i + 1);
    cJSON_ReplaceItemInObject(j, "site", cJSON_CreateString(name));
    cJSON *b = cJSON_GetObjectItem(j, "baseline");
    cJSON_ReplaceItemInObject(b, "period", cJSON_CreateString(BASE));
    char *txt = cJSON_Print(j);
    snprintf(kpis_path[i], sizeof kpis_path[i], "%s/kpis.json", dir);
    ck_assert_int_eq(ts_write_file(kpis_path[i], txt, strlen(txt)), 0);
    free(txt);
    cJSON_Delete(j);
}

static void setup_site(int i)
{
    tc_site *s = &sites[i];
    char tag[32], origin[64];
    snprintf(tag, sizeof tag, "ent-site%d", i);
    snprintf(origin, sizeof origin, "plant-%d.example/log", i + 1);
    tc_site_init(s, tag, origin);
    char policy[1100], soa[1100], sim[1200], key[1200], seed[16], machines[16];
    snprintf(policy, sizeof policy, "%s/policies/examples/plant.xml", AUDITD_SOURCE_DIR);
    snprintf(soa, sizeof soa, "%s/controls/data/soa-example.csv", AUDITD_SOURCE_DIR);
    snprintf(sim, sizeof sim, "%s/sim", s->dir);
    snprintf(key, sizeof key, "%s/platform.key", s->dir);
    snprintf(seed, sizeof seed, "%d", 11 + i);
    snprintf(machines, sizeof machines, "%d", 2 + i);
    run_ok((const char *const[]){"policy", "load", policy, "--actor", "frank", "--data-dir",
                                 s->dir, NULL}, NULL);
    run_ok((const char *const[]){"controls", "scope", "--soa", soa, "--actor", "frank",
                                 "--data-dir", s->dir, NULL}, NULL);
    run_ok((const char *const[]){"agent", "add", "platform", "--role", "platform", "--key-out", key,
                                 "--data-dir", s->dir, NULL}, NULL);
    write_kpis(i, s->dir);
    const char *simargs[] = {"simulate", "--seed", seed, "--days", "28", "--start", "2026-06-17",
                             "--interval", "3600", "--machines", machines, "--out", sim, NULL};
    run_ok(simargs, NULL);
    char profiles[3][1300], devices[1300];
    static const char *const pn[3] = {"cnc-mill", "legacy-plc", "edge-camera"};
    for (int p = 0; p < 3; p++)
        snprintf(profiles[p], sizeof profiles[p], "%s/profiles/%s.json", sim, pn[p]);
    run_ok((const char *const[]){"profile", "load", profiles[0], profiles[1], profiles[2],
                                 "--data-dir", s->dir, NULL}, NULL);
    snprintf(devices, sizeof devices, "%s/devices.ndjson", sim);
    run_ok((const char *const[]){"device", "register", "--file", devices, "--data-dir", s->dir,
                                 NULL}, NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", centre_port);
    tc_site_start_args(s, (const char *const[]){"--witness", url, "--witness-key", vkey, NULL});
    tc_site_add(db, s);
    const char *post[] = {"simulate", "--seed", seed, "--days", "28", "--start", "2026-06-17",
                          "--interval", "3600", "--machines", machines, "--out", sim, "--post",
                          s->url, "--name", "platform", "--key", key, NULL};
    run_ok(post, NULL);
    run_ok((const char *const[]){"ship", "--period", BASE, "--kpis", kpis_path[i], "--time",
                                 "2026-07-01T06:00:00Z", "--data-dir", s->dir, NULL}, NULL);
    run_ok((const char *const[]){"ship", "--period", PERIOD, "--kpis", kpis_path[i], "--time",
                                 "2026-07-15T06:00:00Z", "--data-dir", s->dir, NULL}, NULL);
}

/* Every recorded batch fetched, every site witnessed and mirrored. */
static void wait_centre(void)
{
    int64_t want = tc_qi(db, "SELECT count(*) FROM auditd_central.sites");
    for (int i = 0; i < NSITES; i++) {
        int64_t n = (int64_t)tc_site_size(&sites[i]);
        char sql[300];
        snprintf(sql, sizeof sql,
                 "SELECT coalesce(min(least(s.mirror_size, coalesce(w.size, 0))), 0) FROM"
                 " auditd_central.streams s JOIN auditd_central.sites x ON x.id = s.site_id"
                 " LEFT JOIN auditd_central.witness_latest w ON w.site_id = s.site_id"
                 " WHERE x.origin = '%s'",
                 sites[i].origin);
        ck_assert_int_ge(tc_wait_at_least(db, sql, n, 60000), n);
    }
    ck_assert_int_eq(want, NSITES);
    ck_assert_int_eq(tc_wait_at_least(db, "SELECT (count(*) > 0 AND count(*) = count(body))::int"
                                          " FROM auditd_central.shipments",
                                      1, 60000),
                     1);
}

static cJSON *enterprise_json(void)
{
    char *out = NULL;
    run_ok((const char *const[]){"report", "--scope", "enterprise", "--db", db, "--period", PERIOD,
                                 "--format", "json", "--kpis", kpis_path[0], NULL},
           &out);
    cJSON *j = cJSON_Parse(out);
    ck_assert_msg(j != NULL, "not JSON: %.300s", out);
    free(out);
    return j;
}

static const cJSON *item(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    ck_assert_msg(v != NULL, "no member '%s'", k);
    return v;
}

static const cJSON *kpi_of(const cJSON *arr, const char *id)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, arr) if (!strcmp(item(k, "id")->valuestring, id)) return k;
    return NULL;
}

static double term(const cJSON *terms, const char *role, bool *found)
{
    const cJSON *t;
    *found = false;
    cJSON_ArrayForEach(t, terms) if (!strcmp(item(t, "role")->valuestring, role))
    {
        *found = true;
        return item(t, "value")->valuedouble;
    }
    return 0;
}

/* ---------- the tests ---------- */

START_TEST(test_sites_and_totals)
{
    cJSON *e = enterprise_json();
    const cJSON *ss = item(e, "sites");
    ck_assert_int_eq(cJSON_GetArraySize(ss), NSITES);
    const cJSON *tot = item(item(e, "enterprise"), "kpis");
    int checked = 0, ratio = 0;
    for (int i = 0; i < NSITES; i++) {
        /* The site's own report of the period (not recorded). */
        char *out = NULL;
        run_ok((const char *const[]){"report", "--period", PERIOD, "--format", "json", "--kpis",
                                     kpis_path[i], "--no-record", "--data-dir", sites[i].dir,
                                     NULL},
               &out);
        cJSON *own = cJSON_Parse(out);
        free(out);
        const cJSON *site = NULL, *x;
        cJSON_ArrayForEach(x, ss) if (!strcmp(item(x, "origin")->valuestring, sites[i].origin))
            site = x;
        ck_assert_ptr_nonnull(site);
        ck_assert_str_eq(item(site, "status")->valuestring, "ok");
        ck_assert(cJSON_IsTrue(item(item(site, "checkpoint"), "cosigned")));
        const cJSON *k;
        cJSON_ArrayForEach(k, item(own, "kpis"))
        {
            const char *id = item(k, "id")->valuestring;
            const cJSON *mine = kpi_of(item(site, "kpis"), id);
            ck_assert_msg(mine != NULL, "%s missing at %s", id, sites[i].origin);
            ck_assert_msg(!strcmp(item(item(mine, "current"), "display")->valuestring,
                                  item(k, "display")->valuestring),
                          "%s at %s: enterprise %s, the site's own report %s", id,
                          sites[i].origin, item(item(mine, "current"), "display")->valuestring,
                          item(k, "display")->valuestring);
            checked++;
        }
        cJSON_Delete(own);
    }
    /* The total of every ratio KPI is the ratio of the summed terms. */
    const cJSON *k;
    cJSON_ArrayForEach(k, tot)
    {
        const char *id = item(k, "id")->valuestring;
        bool fn, fd;
        double num = term(item(item(k, "inputs"), "current"), "numerator", &fn);
        double den = term(item(item(k, "inputs"), "current"), "denominator", &fd);
        if (!fn || !fd)
            continue;
        double sn = 0, sd = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, ss)
        {
            bool a, b;
            const cJSON *sk = kpi_of(item(x, "kpis"), id);
            sn += term(item(item(sk, "inputs"), "current"), "numerator", &a);
            sd += term(item(item(sk, "inputs"), "current"), "denominator", &b);
        }
        ck_assert_msg(fabs(num - sn) <= 1e-6 * fmax(1, fabs(sn)), "%s numerator %g, sites %g", id,
                      num, sn);
        ck_assert_msg(fabs(den - sd) <= 1e-6 * fmax(1, fabs(sd)), "%s denominator %g, sites %g",
                      id, den, sd);
        const cJSON *v = item(item(k, "current"), "value");
        if (cJSON_IsNumber(v) && sd > 0 && !strcmp(item(k, "unit")->valuestring, "%")) {
            ck_assert_msg(fabs(v->valuedouble - 100.0 * sn / sd) < 1e-6, "%s = %g, not %g", id,
                          v->valuedouble, 100.0 * sn / sd);
            ratio++;
        }
    }
    ck_assert_int_gt(checked, 3 * 15);
    ck_assert_int_gt(ratio, 4);
    /* Posture: the enterprise's counts are the sites' sums. */
    for (int f = 0; f < 2; f++) {
        double sum = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, ss) sum += item(cJSON_GetArrayItem(item(x, "posture"), f),
                                              "in_scope")->valuedouble;
        ck_assert_int_eq((int64_t)item(cJSON_GetArrayItem(item(item(e, "enterprise"), "posture"),
                                                          f), "in_scope")->valuedouble,
                         (int64_t)sum);
    }
    cJSON_Delete(e);
}
END_TEST

static void b64dec(const char *s, uint8_t *out, size_t cap, size_t *n)
{
    ck_assert_int_eq(sodium_base642bin(out, cap, s, strlen(s), NULL, n, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
}

static void hexdec(const char *s, uint8_t out[32])
{
    size_t n = 0;
    ck_assert_int_eq(sodium_hex2bin(out, 32, s, strlen(s), NULL, &n, NULL), 0);
    ck_assert_int_eq(n, 32);
}

/* The independent check of one evidence item (RFC 6962 + C2SP): returns
 * whether it holds, so that a tampered copy can be shown to fail. */
static bool evidence_holds(const cJSON *ev, const cJSON *site, const c2sp_vkey *wk)
{
    const char *note = item(item(site, "checkpoint"), "note")->valuestring;
    c2sp_vkey sk;
    if (!c2sp_vkey_parse(item(site, "key")->valuestring, &sk) ||
        !c2sp_note_signed(note, &sk, NULL) || !c2sp_note_signed(note, wk, NULL))
        return false;
    char origin[256];
    uint64_t size = 0;
    uint8_t root[32];
    if (!c2sp_checkpoint(note, origin, sizeof origin, &size, root) ||
        strcmp(origin, item(site, "origin")->valuestring) ||
        size != (uint64_t)item(ev, "tree_size")->valuedouble)
        return false;
    static uint8_t leaf[1 << 20];
    size_t ll = 0;
    b64dec(item(ev, "leaf")->valuestring, leaf, sizeof leaf, &ll);
    uint8_t lh[32], want[32];
    rc_leaf_hash(leaf, ll, lh);
    hexdec(item(ev, "leaf_hash")->valuestring, want);
    if (memcmp(lh, want, 32))
        return false;
    uint8_t path[64][32];
    size_t np = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, item(ev, "inclusion_proof"))
    {
        size_t n = 0;
        if (np == 64)
            return false;
        b64dec(h->valuestring, path[np++], 32, &n);
        if (n != 32)
            return false;
    }
    return rc_verify_inclusion((uint64_t)item(ev, "index")->valuedouble, size, lh,
                               (const uint8_t(*)[32])path, np, root);
}

START_TEST(test_findings_proven)
{
    cJSON *e = enterprise_json();
    c2sp_vkey wk;
    ck_assert(c2sp_vkey_parse(item(item(e, "witness"), "vkey")->valuestring, &wk));
    ck_assert_int_eq(wk.type, 0x04);
    const cJSON *fs = item(e, "findings"), *f;
    int n = 0, batches = 0;
    ck_assert_int_gt(cJSON_GetArraySize(fs), 0);
    cJSON_ArrayForEach(f, fs)
    {
        const cJSON *site = NULL, *x;
        cJSON_ArrayForEach(x, item(e, "sites")) if (!strcmp(item(x, "origin")->valuestring,
                                                            item(f, "site")->valuestring)) site = x;
        ck_assert_ptr_nonnull(site);
        ck_assert_msg(cJSON_IsString(item(f, "owner")) || !strcmp(item(f, "kind")->valuestring,
                                                                  "site.integrity"),
                      "a finding without an owner");
        ck_assert_int_ge(cJSON_GetArraySize(item(f, "evidence")), 1);
        const cJSON *ev;
        cJSON_ArrayForEach(ev, item(f, "evidence"))
        {
            ck_assert_msg(evidence_holds(ev, site, &wk), "finding %s at %s: evidence %d does not "
                          "verify", item(f, "rule")->valuestring, item(f, "site")->valuestring,
                          (int)item(ev, "index")->valuedouble);
            n++;
            if (strcmp(item(ev, "role")->valuestring, "batch"))
                continue;
            /* The cited entry records the batch the finding came from. */
            static uint8_t leaf[1 << 20];
            size_t ll = 0;
            b64dec(item(ev, "leaf")->valuestring, leaf, sizeof leaf - 1, &ll);
            leaf[ll] = 0;
            cJSON *lj = cJSON_Parse((const char *)leaf);
            ck_assert_ptr_nonnull(lj);
            ck_assert_str_eq(item(lj, "type")->valuestring, "site.shipment");
            ck_assert_str_eq(item(lj, "writer")->valuestring, "auditd");
            const char *sha = item(item(lj, "payload"), "sha256")->valuestring;
            ck_assert_str_eq(sha, item(item(item(site, "batches"), "controls"),
                                       "sha256")->valuestring);
            if (batches++ < 3) {
                const tc_site *ts = NULL;
                for (int i = 0; i < NSITES; i++)
                    if (!strcmp(sites[i].origin, item(site, "origin")->valuestring))
                        ts = &sites[i];
                char path[128], authz[300];
                snprintf(path, sizeof path, "/v1/shipments/%s", sha);
                snprintf(authz, sizeof authz, "Authorization: Bearer %s", ts->token);
                ts_http r;
                ck_assert_int_eq(ts_http_req(ts->port, "GET", path,
                                             (const char *const[]){authz, NULL}, NULL, 0, &r),
                                 0);
                ck_assert_int_eq(r.status, 200);
                uint8_t h[32];
                char hx[65];
                crypto_hash_sha256(h, (const uint8_t *)r.body, r.body_len);
                sodium_bin2hex(hx, sizeof hx, h, 32);
                ck_assert_str_eq(hx, sha);
                ck_assert_ptr_nonnull(strstr(r.body, item(f, "rule")->valuestring));
                ts_http_free(&r);
            }
            cJSON_Delete(lj);
        }
    }
    ck_assert_int_gt(n, 0);
    ck_assert_int_gt(batches, 0);
    /* The verifier can fail: a changed path, leaf or checkpoint does not pass. */
    const cJSON *f0 = cJSON_GetArrayItem(fs, 0);
    const cJSON *site0 = NULL, *x;
    cJSON_ArrayForEach(x, item(e, "sites")) if (!strcmp(item(x, "origin")->valuestring,
                                                        item(f0, "site")->valuestring)) site0 = x;
    cJSON *ev = cJSON_Duplicate(cJSON_GetArrayItem(item(f0, "evidence"), 0), 1);
    cJSON *p0 = cJSON_GetArrayItem(item(ev, "inclusion_proof"), 0);
    ck_assert_ptr_nonnull(p0);
    char *s = p0->valuestring;
    s[3] = s[3] == 'A' ? 'B' : 'A';
    ck_assert(!evidence_holds(ev, site0, &wk));
    cJSON_Delete(ev);
    cJSON *cs = cJSON_Duplicate(site0, 1);
    cJSON *note = (cJSON *)item(item(cs, "checkpoint"), "note");
    char *nv = strdup(note->valuestring);
    char *nl = strchr(strchr(nv, '\n') + 1, '\n');
    nl[-1] = nl[-1] == '1' ? '2' : '1'; /* another tree size */
    cJSON_SetValuestring(note, nv);
    free(nv);
    ck_assert(!evidence_holds(cJSON_GetArrayItem(item(f0, "evidence"), 0), cs, &wk));
    cJSON_Delete(cs);
    cJSON_Delete(e);
}
END_TEST

START_TEST(test_formats)
{
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/out", work);
    char *out = NULL;
    run_ok((const char *const[]){"report", "--scope", "enterprise", "--db", db, "--period", PERIOD,
                                 "--format", "all", "--out-dir", dir, "--kpis", kpis_path[0], NULL},
           &out);
    free(out);
    char path[4400];
    /* OSCAL XML against the NIST schema. */
    snprintf(path, sizeof path, "%s/enterprise-%s.oscal.xml", dir, PERIOD);
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    xmlSchemaParserCtxtPtr pc =
        xmlSchemaNewParserCtxt(ts_shared("data/oscal-schemas/oscal_assessment-results_schema.xsd"));
    xmlSchemaPtr schema = xmlSchemaParse(pc);
    ck_assert_ptr_nonnull(schema);
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    ck_assert_int_eq(xmlSchemaValidateDoc(vc, doc), 0);
    xmlSchemaFreeValidCtxt(vc);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(pc);
    int results = 0;
    for (xmlNodePtr n = xmlDocGetRootElement(doc)->children; n; n = n->next)
        results += n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, BAD_CAST "result");
    ck_assert_int_eq(results, NSITES + 1);
    xmlFreeDoc(doc);
    /* OSCAL JSON against the NIST JSON schema (draft-07; its one \p{} pattern,
     * on tokens, rewritten for Python's re, which lacks it). */
    snprintf(path, sizeof path, "%s/enterprise-%s.oscal.json", dir, PERIOD);
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys,jsonschema\n"
             "s=json.load(open(sys.argv[1]))\n"
             "s=json.loads(json.dumps(s).replace(\"\\\\\\\\p{L}\",\"[^\\\\\\\\W\\\\\\\\d_]\")"
             ".replace(\"\\\\\\\\p{N}\",\"\\\\\\\\d\"))\n"
             "e=list(jsonschema.Draft7Validator(s).iter_errors(json.load(open(sys.argv[2]))))\n"
             "[print(list(x.path), x.message[:200]) for x in e[:5]]\n"
             "sys.exit(1 if e else 0)' '%s' '%s' 2>&1",
             ts_shared("data/oscal-schemas/oscal_assessment-results_schema-1.2.1.json"), path);
    FILE *p = popen(cmd, "r");
    char msg[2048] = "";
    size_t got = fread(msg, 1, sizeof msg - 1, p);
    msg[got] = 0;
    int st = pclose(p);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "OSCAL JSON is not valid: %s", msg);
    /* CSV: a header, then per KPI the enterprise row and one per site. */
    snprintf(path, sizeof path, "%s/enterprise-%s.kpis.csv", dir, PERIOD);
    size_t len = 0;
    char *csv = ts_read_file(path, &len);
    ck_assert_ptr_nonnull(csv);
    int lines = 0, ent = 0;
    for (char *l = csv; (l = strstr(l, "\r\n")); l += 2)
        lines++;
    for (char *l = csv; (l = strstr(l, ",enterprise,")); l++)
        ent++;
    ck_assert_int_eq(lines, 1 + ent * (NSITES + 1));
    free(csv);
    snprintf(path, sizeof path, "%s/enterprise-%s.html", dir, PERIOD);
    char *html = ts_read_file(path, &len);
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "plant-3"));
    ck_assert_ptr_nonnull(strstr(html, "Findings and their owners"));
    ck_assert_ptr_null(strstr(html, "<script"));
    free(html);
}
END_TEST

/* Last: one site rewrites its history with its key. */
START_TEST(test_integrity_finding)
{
    tc_site *s = &sites[NSITES - 1];
    tc_site_stop(s, SIGKILL);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", s->dir, LEDGER_DB_FILE);
    sqlite3 *d;
    ck_assert_int_eq(sqlite3_open(path, &d), SQLITE_OK);
    /* drop the guard triggers (an attacker with the file), cut, re-append */
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(d, "SELECT name FROM sqlite_master WHERE type = 'trigger'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    char names[32][64];
    int nt = 0;
    while (sqlite3_step(st) == SQLITE_ROW && nt < 32)
        snprintf(names[nt++], sizeof names[0], "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    for (int i = 0; i < nt; i++) {
        char q[128];
        snprintf(q, sizeof q, "DROP TRIGGER %.63s", names[i]);
        ck_assert_int_eq(sqlite3_exec(d, q, NULL, NULL, NULL), SQLITE_OK);
    }
    uint64_t n = tc_site_size(s);
    char q[512];
    snprintf(q, sizeof q,
             "DELETE FROM entries WHERE seq >= %llu; DELETE FROM checkpoints WHERE size > %llu;"
             "DELETE FROM nodes WHERE ((id & 72057594037927935) + 1) << (id >> 56) > %llu;"
             "DELETE FROM batches;",
             (unsigned long long)(n - 50), (unsigned long long)(n - 50),
             (unsigned long long)(n - 50));
    ck_assert_int_eq(sqlite3_exec(d, q, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(d);
    tc_site_append(s, 200, "rewritten");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", centre_port);
    tc_site_start_args(s, (const char *const[]){"--witness", url, "--witness-key", vkey, NULL});
    ck_assert_int_ge(tc_wait_at_least(db, "SELECT count(*) FROM auditd_central.alerts", 2, 30000),
                     2);
    cJSON *e = enterprise_json();
    int integrity = 0;
    const cJSON *f, *site = NULL, *x;
    cJSON_ArrayForEach(x, item(e, "sites")) if (!strcmp(item(x, "origin")->valuestring, s->origin))
        site = x;
    ck_assert_str_eq(item(site, "status")->valuestring, "integrity-alert");
    c2sp_vkey wk;
    ck_assert(c2sp_vkey_parse(item(item(e, "witness"), "vkey")->valuestring, &wk));
    cJSON_ArrayForEach(f, item(e, "findings"))
    {
        if (strcmp(item(f, "kind")->valuestring, "site.integrity"))
            continue;
        ck_assert_str_eq(item(f, "site")->valuestring, s->origin);
        ck_assert_str_eq(item(f, "severity")->valuestring, "critical");
        const cJSON *ev = cJSON_GetArrayItem(item(f, "evidence"), 0);
        ck_assert_ptr_nonnull(ev);
        ck_assert(evidence_holds(ev, site, &wk));
        /* both signed checkpoints of the alert travel with it */
        c2sp_vkey sk;
        ck_assert(c2sp_vkey_parse(s->key, &sk));
        ck_assert(c2sp_note_signed(item(item(f, "alert_evidence"), "site_checkpoint")->valuestring,
                                   &sk, NULL));
        integrity++;
    }
    ck_assert_int_ge(integrity, 2); /* the witness's and the mirror's */
    cJSON_Delete(e);
}
END_TEST

static void suite_setup(void)
{
    tc_pg_start("enterprise");
    tc_newdb("ent", db, sizeof db);
    ck_assert_int_eq(tc_central(db, NULL, NULL, (const char *const[]){"init", NULL}), 0);
    work = ts_tmpdir("ent-centre");
    ts_rmrf(work);
    mkdir(work, 0700);
    centre_dir = malloc(4300);
    snprintf(centre_dir, 4300, "%s/centre", work);
    mkdir(centre_dir, 0700);
    snprintf(keyfile, sizeof keyfile, "%s/witness.secret", work);
    tc_witness_init(db, "centre.example/witness", keyfile, vkey, sizeof vkey);
    centre_port = ts_free_port();
    centre = tc_centre_start(db, centre_dir, keyfile, centre_port, NULL);
    for (int i = 0; i < NSITES; i++)
        setup_site(i);
    wait_centre();
}

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("enterprise");
    TCase *tc = tcase_create("enterprise");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, suite_setup, NULL);
    tcase_add_test(tc, test_sites_and_totals);
    tcase_add_test(tc, test_findings_proven);
    tcase_add_test(tc, test_formats);
    tcase_add_test(tc, test_integrity_finding);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    /* One plant setup for all tests: they run in this process, in order. */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (centre > 0)
        ts_daemon_stop(centre, SIGTERM);
    for (int i = 0; i < NSITES; i++)
        tc_site_free(&sites[i]);
    tc_pg_stop();
    ts_rmrf(work);
    free(work);
    free(centre_dir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
