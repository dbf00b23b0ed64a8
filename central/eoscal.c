/* eoscal.c: the enterprise report as OSCAL assessment results (see eoscal.h). */
#include "eoscal.h"

#include "oscal.h"
#include "rfc3339.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void uuid_of(const edata *d, const char *kind, const char *key, char out[37])
{
    crypto_hash_sha256_state st;
    uint8_t h[32];
    crypto_hash_sha256_init(&st);
    const char *parts[] = {"auditd-enterprise-oscal-v1", d->period.label, d->as_of, kind, key};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        crypto_hash_sha256_update(&st, (const uint8_t *)parts[i], strlen(parts[i]) + 1);
    crypto_hash_sha256_final(&st, h);
    oscal_uuid_of_hash(h, out);
}

/* OSCAL strings may not start or end with white space, nor be empty. */
static const char *nonempty(const char *s, const char *dflt)
{
    return s && *s && *s != ' ' ? s : dflt;
}

static void hexs(const uint8_t *h, char *out)
{
    sodium_bin2hex(out, 65, h, 32);
}

/* The audit path as base64 hashes separated by commas, leaf first. */
static char *proof_text(const merkle_hash *p, size_t n)
{
    char *s = malloc(n * 45 + 2);
    if (!s)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            s[j++] = ',';
        sodium_bin2base64(s + j, 45, p[i], 32, sodium_base64_VARIANT_ORIGINAL);
        j += strlen(s + j);
    }
    if (!n)
        s[j++] = '-'; /* a tree of one entry: the path is empty */
    s[j] = 0;
    return s;
}

static char *b64_of(const char *data, size_t n)
{
    size_t bl = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(bl);
    if (s)
        sodium_bin2base64(s, bl, (const unsigned char *)data, n, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

static void period_bounds(const edata *d, char *start, char *end, size_t cap)
{
    rfc3339_format_s(d->period.from_us, start, cap);
    rfc3339_format_s(d->period.to_us - 1000000, end, cap);
}

static void finding_key(const edata *d, size_t i, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%zu", d->sites[d->findings[i].site].site.origin, i);
}

static void kpi_display(const ekpi *k, char *out, size_t cap)
{
    kpi_format_value(k->def, &k->total_cur, out, cap);
}

/* ---------- XML ---------- */

/* An auditd prop; an empty value is written "none" (OSCAL refuses empty). */
static void oprop(xmlNodePtr p, xmlNsPtr ns, const char *name, const char *value)
{
    oscal_xprop(p, ns, name, nonempty(value, "none"));
}

static void opropu(xmlNodePtr p, xmlNsPtr ns, const char *name, uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    oprop(p, ns, name, s);
}

/* ---------- the texts both forms of a site's result share ---------- */

/* A site result's title and description. */
static void result_texts(const edata *d, const esite *s, char *title, char *desc, size_t cap)
{
    snprintf(title, cap, "Site %s (%s), %s", s->label, s->site.origin, d->period.label);
    snprintf(desc, cap,
             "The site's control status and KPI inputs for %s as it shipped them (batches whose "
             "SHA-256 its ledger records), proven against its checkpoint of tree size %llu%s.",
             d->period.label, (unsigned long long)s->cp_size,
             s->cosigned ? " cosigned by the centre as its witness" : " (signed by the site only)");
}

/* The link from cited evidence to the site's checkpoint in back-matter. */
static void checkpoint_href(const edata *d, const esite *s, char out[40])
{
    char u[37];
    uuid_of(d, "checkpoint", s->site.origin, u);
    snprintf(out, 40, "#%s", u);
}

#define OBS_DESCRIPTION                                                                          \
    "Site ledger entries, each provable with the RFC 6962 inclusion proof given against the "    \
    "checkpoint in back-matter."
#define RISK_STATEMENT "The objective is not met at this site for the period."

/* A cited entry's link and description. */
static void cite_texts(const esite *s, const struct ecite *c, char *href, char *desc, size_t cap)
{
    snprintf(href, cap, "%s/v1/log/entries/%llu", s->site.url, (unsigned long long)c->index);
    snprintf(desc, cap, "Ledger entry %llu of %s (%s).", (unsigned long long)c->index,
             s->site.origin,
             !strcmp(c->role, "batch")   ? "the site.shipment entry of the batch holding this finding"
             : !strcmp(c->role, "about") ? "the entry the finding is about"
                                         : "the last entry of the history the centre proved");
}

/* A finding's title and description, and the objective it targets. */
static void finding_texts(const esite *s, const efinding *f, char *title, char *desc,
                          char *target, size_t cap)
{
    snprintf(title, cap, "%s %s not satisfied at %s", f->framework, f->control, s->label);
    snprintf(desc, cap, "[%s] %s%s%s", f->severity, nonempty(f->message, "-"),
             f->owner[0] ? " Owner: " : "", f->owner);
    char tok[128];
    oscal_token(f->control, tok, sizeof tok);
    snprintf(target, cap, "%s_obj", tok);
}

/* A new element `kind` of the assessment's under `parent`: its uuid (of kind
 * and key), title and description, in that order. */
static xmlNodePtr x_item(const edata *d, xmlNodePtr parent, xmlNsPtr ns, const char *kind,
                         const char *key, const char *title, const char *desc)
{
    char u[37];
    xmlNodePtr n = xmlNewChild(parent, ns, BAD_CAST kind, NULL);
    uuid_of(d, kind, key, u);
    oscal_xattr(n, "uuid", u);
    oscal_xel(n, ns, "title", title);
    oscal_xdesc(n, ns, "description", desc);
    return n;
}

/* One observation of the XML result: the finding's cited entries with their proofs. */
static void x_observation(const edata *d, const esite *s, const efinding *f, const char *key,
                          const char *cp_href, xmlNodePtr res, xmlNsPtr ns)
{
    char txt[1400], href[1400], rh[65];
    snprintf(txt, sizeof txt, "Ledger evidence for %s %s at %s", f->framework, f->control,
             s->label);
    xmlNodePtr ob = x_item(d, res, ns, "observation", key, txt, OBS_DESCRIPTION);
    oscal_xel(ob, ns, "method", "TEST");
    oscal_xel(ob, ns, "type", "control-objective");
    for (size_t k = 0; k < f->ncites; k++) {
        xmlNodePtr re = xmlNewChild(ob, ns, BAD_CAST "relevant-evidence", NULL);
        cite_texts(s, &f->cites[k], href, txt, sizeof txt);
        oscal_xattr(re, "href", href);
        oscal_xdesc(re, ns, "description", txt);
        opropu(re, ns, "ledger-index", f->cites[k].index);
        hexs(f->cites[k].leaf_hash, rh);
        oprop(re, ns, "leaf-hash", rh);
        opropu(re, ns, "tree-size", s->cp_size);
        char *pt = proof_text((const merkle_hash *)f->cites[k].proof, f->cites[k].nproof);
        oprop(re, ns, "inclusion-proof", pt ? pt : "-");
        free(pt);
        xmlNodePtr ln = xmlNewChild(re, ns, BAD_CAST "link", NULL);
        oscal_xattr(ln, "href", cp_href);
        oscal_xattr(ln, "rel", "proven-against");
    }
    oscal_xel(ob, ns, "collected", d->as_of);
}

static void x_risk(const edata *d, const esite *s, const efinding *f, const char *key,
                   xmlNodePtr res, xmlNsPtr ns)
{
    char txt[1400];
    snprintf(txt, sizeof txt, "%s: %s", s->label, nonempty(f->title, f->control));
    xmlNodePtr rk = x_item(d, res, ns, "risk", key, txt,
                           nonempty(f->message, "See the finding."));
    oscal_xdesc(rk, ns, "statement", RISK_STATEMENT);
    oscal_xel(rk, ns, "status", "open");
}

static void x_finding(const edata *d, const esite *s, const efinding *f, const char *key,
                      xmlNodePtr res, xmlNsPtr ns)
{
    char u[37], title[1400], desc[1400], target[1400];
    finding_texts(s, f, title, desc, target, sizeof title);
    xmlNodePtr fx = x_item(d, res, ns, "finding", key, title, desc);
    oprop(fx, ns, "kind", f->kind);
    oprop(fx, ns, "framework", f->framework);
    oprop(fx, ns, "severity", f->severity);
    oprop(fx, ns, "owner", f->owner);
    oprop(fx, ns, "site-origin", s->site.origin);
    xmlNodePtr tg = xmlNewChild(fx, ns, BAD_CAST "target", NULL);
    oscal_xattr(tg, "type", "objective-id");
    oscal_xattr(tg, "target-id", target);
    oscal_xattr(xmlNewChild(tg, ns, BAD_CAST "status", NULL), "state", "not-satisfied");
    if (f->ncites) {
        uuid_of(d, "observation", key, u);
        oscal_xattr(xmlNewChild(fx, ns, BAD_CAST "related-observation", NULL), "observation-uuid", u);
    }
    uuid_of(d, "risk", key, u);
    oscal_xattr(xmlNewChild(fx, ns, BAD_CAST "associated-risk", NULL), "risk-uuid", u);
}

static void x_site_result(const edata *d, size_t si, xmlNodePtr root, xmlNsPtr ns)
{
    const esite *s = &d->sites[si];
    char title[1400], txt[1400], start[40], end[40], rh[65];
    period_bounds(d, start, end, sizeof start);
    result_texts(d, s, title, txt, sizeof txt);
    xmlNodePtr res = x_item(d, root, ns, "result", s->site.origin, title, txt);
    oscal_xel(res, ns, "start", start);
    oscal_xel(res, ns, "end", end);
    oprop(res, ns, "site-origin", s->site.origin);
    oprop(res, ns, "site-status", edata_site_status(s));
    opropu(res, ns, "checkpoint-tree-size", s->cp_size);
    hexs(s->cp_root, rh);
    oprop(res, ns, "checkpoint-root", s->has_cp ? rh : "none");
    oprop(res, ns, "checkpoint-cosigned", s->cosigned ? "true" : "false");
    if (s->has_kpis)
        oprop(res, ns, "kpi-inputs-batch", s->kpis_sha);
    if (s->has_controls)
        oprop(res, ns, "controls-batch", s->controls_sha);
    xmlNodePtr rc = xmlNewChild(res, ns, BAD_CAST "reviewed-controls", NULL);
    xmlNodePtr cs = xmlNewChild(rc, ns, BAD_CAST "control-selection", NULL);
    xmlNewChild(cs, ns, BAD_CAST "include-all", NULL);
    char cp_href[40];
    checkpoint_href(d, s, cp_href);
    /* observations, then risks, then findings (the schema's order) */
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < d->nfindings; i++) {
            const efinding *f = &d->findings[i];
            if ((size_t)f->site != si)
                continue;
            char key[256];
            finding_key(d, i, key, sizeof key);
            if (pass == 0 && f->ncites)
                x_observation(d, s, f, key, cp_href, res, ns);
            else if (pass == 1)
                x_risk(d, s, f, key, res, ns);
            else if (pass == 2)
                x_finding(d, s, f, key, res, ns);
        }
    if (s->problem[0])
        oscal_xdesc(res, ns, "remarks", s->problem);
}

static void x_rollup(const edata *d, xmlNodePtr root, xmlNsPtr ns)
{
    char title[600], txt[600], start[40], end[40], name[96], v[64];
    period_bounds(d, start, end, sizeof start);
    snprintf(title, sizeof title, "Enterprise roll-up, %s", d->period.label);
    snprintf(txt, sizeof txt,
             "The %zu sites together: KPIs from the sums of the sites' numerators and "
             "denominators, control posture summed over the sites; the findings are in the "
             "sites' results.",
             d->nsites);
    xmlNodePtr res = x_item(d, root, ns, "result", "enterprise", title, txt);
    oscal_xel(res, ns, "start", start);
    oscal_xel(res, ns, "end", end);
    opropu(res, ns, "sites", d->nsites);
    opropu(res, ns, "findings", d->nfindings);
    for (int i = KPI_SEV__COUNT - 1; i >= 0; i--) {
        snprintf(name, sizeof name, "findings-%s", kpi_severity_names[i]);
        opropu(res, ns, name, d->by_severity[i]);
    }
    static const char *const fw[2] = {"iso27001", "nist80053"};
    for (int f = 0; f < 2; f++) {
        snprintf(name, sizeof name, "%s-in-scope", fw[f]);
        opropu(res, ns, name, d->posture[f][0]);
        snprintf(name, sizeof name, "%s-satisfied", fw[f]);
        opropu(res, ns, name, d->posture[f][2]);
        snprintf(name, sizeof name, "%s-not-satisfied", fw[f]);
        opropu(res, ns, name, d->posture[f][3]);
    }
    for (size_t k = 0; k < d->defs.n; k++) {
        snprintf(name, sizeof name, "kpi.%s", d->kpis[k].def->key);
        kpi_display(&d->kpis[k], v, sizeof v);
        oprop(res, ns, name, v);
    }
    xmlNodePtr rc = xmlNewChild(res, ns, BAD_CAST "reviewed-controls", NULL);
    xmlNewChild(xmlNewChild(rc, ns, BAD_CAST "control-selection", NULL), ns,
                BAD_CAST "include-all", NULL);
}

static void x_resource(const edata *d, size_t si, xmlNodePtr bm, xmlNsPtr ns)
{
    const esite *s = &d->sites[si];
    char u[37], txt[1400], rh[65];
    xmlNodePtr rs = xmlNewChild(bm, ns, BAD_CAST "resource", NULL);
    uuid_of(d, "checkpoint", s->site.origin, u);
    oscal_xattr(rs, "uuid", u);
    snprintf(txt, sizeof txt, "Checkpoint of %s%s", s->site.origin,
             s->cosigned ? " cosigned by the centre" : "");
    oscal_xel(rs, ns, "title", txt);
    snprintf(txt, sizeof txt,
             "C2SP tlog-checkpoint signed by the site (key %s)%s%s. Every evidence item of this "
             "site is proven against it.",
             s->site.key_line, s->cosigned ? " and cosigned (tlog-cosignature) by the witness " : "",
             s->cosigned ? d->witness_vkey : "");
    oscal_xdesc(rs, ns, "description", txt);
    opropu(rs, ns, "tree-size", s->cp_size);
    hexs(s->cp_root, rh);
    oprop(rs, ns, "root", s->has_cp ? rh : "none");
    if (s->has_cp && s->cp_note[0]) {
        char *b = b64_of(s->cp_note, strlen(s->cp_note));
        if (b) {
            xmlNodePtr x = oscal_xel(rs, ns, "base64", b);
            oscal_xattr(x, "filename", "checkpoint.txt");
            oscal_xattr(x, "media-type", "text/plain");
            free(b);
        }
    }
}

int eoscal_build_xml(const edata *d, xmlDocPtr *out, adt_err *err)
{
    char u[37], txt[512];
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "assessment-results");
    xmlNsPtr ns = xmlNewNs(root, BAD_CAST OSCAL_NS, NULL);
    xmlSetNs(root, ns);
    xmlDocSetRootElement(doc, root);
    uuid_of(d, "assessment-results", "", u);
    oscal_xattr(root, "uuid", u);
    xmlNodePtr md = xmlNewChild(root, ns, BAD_CAST "metadata", NULL);
    snprintf(txt, sizeof txt, "auditd enterprise assessment results %s", d->period.label);
    oscal_xel(md, ns, "title", txt);
    oscal_xel(md, ns, "last-modified", d->as_of);
    snprintf(txt, sizeof txt, "%s@%s", d->period.label, d->as_of);
    oscal_xel(md, ns, "version", txt);
    oscal_xel(md, ns, "oscal-version", OSCAL_VERSION);
    oprop(md, ns, "scope", "enterprise");
    if (d->witness_vkey[0])
        oprop(md, ns, "witness-key", d->witness_vkey);
    xmlNodePtr role = xmlNewChild(md, ns, BAD_CAST "role", NULL);
    oscal_xattr(role, "id", "assessor");
    oscal_xel(role, ns, "title", "Central tier (auditd central: mirror, witness and report)");
    oscal_xattr(xmlNewChild(root, ns, BAD_CAST "import-ap", NULL), "href",
        "urn:auditd:assessment-plan:enterprise");
    for (size_t si = 0; si < d->nsites; si++)
        x_site_result(d, si, root, ns);
    x_rollup(d, root, ns);
    xmlNodePtr bm = xmlNewChild(root, ns, BAD_CAST "back-matter", NULL);
    for (size_t si = 0; si < d->nsites; si++)
        x_resource(d, si, bm, ns);
    int rc = oscal_check_xml(doc, err);
    if (rc) {
        xmlFreeDoc(doc);
        return rc;
    }
    *out = doc;
    return ADT_OK;
}

/* ---------- JSON ---------- */

static void jprop(cJSON *arr, const char *name, const char *value)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "ns", OSCAL_AUDITD_NS);
    cJSON_AddStringToObject(p, "value", nonempty(value, "none"));
    cJSON_AddItemToArray(arr, p);
}

static void jpropu(cJSON *arr, const char *name, uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    jprop(arr, name, s);
}

static void add_nonempty(cJSON *o, const char *key, cJSON *arr)
{
    if (cJSON_GetArraySize(arr))
        cJSON_AddItemToObject(o, key, arr);
    else
        cJSON_Delete(arr);
}

/* One observation of the JSON result: the finding's cited entries with their proofs. */
/* A new object of the assessment's: its uuid (of kind and key), title and
 * description, in that order. */
static cJSON *j_item(const edata *d, const char *kind, const char *key, const char *title,
                     const char *desc)
{
    char u[37];
    cJSON *o = cJSON_CreateObject();
    uuid_of(d, kind, key, u);
    cJSON_AddStringToObject(o, "uuid", u);
    cJSON_AddStringToObject(o, "title", title);
    cJSON_AddStringToObject(o, "description", desc);
    return o;
}

static cJSON *j_observation(const edata *d, const esite *s, const efinding *f, const char *key,
                            const char *cp_href)
{
    char txt[1400], href[1400], rh[65];
    snprintf(txt, sizeof txt, "Ledger evidence for %s %s at %s", f->framework, f->control,
             s->label);
    cJSON *ob = j_item(d, "observation", key, txt, OBS_DESCRIPTION);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(ob, "methods"), cJSON_CreateString("TEST"));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(ob, "types"),
                         cJSON_CreateString("control-objective"));
    cJSON *rel = cJSON_AddArrayToObject(ob, "relevant-evidence");
    for (size_t k = 0; k < f->ncites; k++) {
        cJSON *re = cJSON_CreateObject();
        cJSON_AddItemToArray(rel, re);
        cite_texts(s, &f->cites[k], href, txt, sizeof txt);
        cJSON_AddStringToObject(re, "href", href);
        cJSON_AddStringToObject(re, "description", txt);
        cJSON *rp = cJSON_AddArrayToObject(re, "props");
        jpropu(rp, "ledger-index", f->cites[k].index);
        hexs(f->cites[k].leaf_hash, rh);
        jprop(rp, "leaf-hash", rh);
        jpropu(rp, "tree-size", s->cp_size);
        char *pt = proof_text((const merkle_hash *)f->cites[k].proof, f->cites[k].nproof);
        jprop(rp, "inclusion-proof", pt ? pt : "-");
        free(pt);
        cJSON *ln = cJSON_CreateObject();
        cJSON_AddStringToObject(ln, "href", cp_href);
        cJSON_AddStringToObject(ln, "rel", "proven-against");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(re, "links"), ln);
    }
    cJSON_AddStringToObject(ob, "collected", d->as_of);
    return ob;
}

static cJSON *j_risk(const edata *d, const esite *s, const efinding *f, const char *key)
{
    char txt[1400];
    snprintf(txt, sizeof txt, "%s: %s", s->label, nonempty(f->title, f->control));
    cJSON *rk = j_item(d, "risk", key, txt, nonempty(f->message, "See the finding."));
    cJSON_AddStringToObject(rk, "statement", RISK_STATEMENT);
    cJSON_AddStringToObject(rk, "status", "open");
    return rk;
}

static cJSON *j_finding(const edata *d, const esite *s, const efinding *f, const char *key)
{
    char u[37], title[1400], desc[1400], target[1400];
    finding_texts(s, f, title, desc, target, sizeof title);
    cJSON *fx = j_item(d, "finding", key, title, desc);
    cJSON *fp = cJSON_AddArrayToObject(fx, "props");
    jprop(fp, "kind", f->kind);
    jprop(fp, "framework", f->framework);
    jprop(fp, "severity", f->severity);
    jprop(fp, "owner", f->owner);
    jprop(fp, "site-origin", s->site.origin);
    cJSON *tg = cJSON_AddObjectToObject(fx, "target");
    cJSON_AddStringToObject(tg, "type", "objective-id");
    cJSON_AddStringToObject(tg, "target-id", target);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(tg, "status"), "state", "not-satisfied");
    if (f->ncites) {
        cJSON *ro = cJSON_CreateObject();
        uuid_of(d, "observation", key, u);
        cJSON_AddStringToObject(ro, "observation-uuid", u);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(fx, "related-observations"), ro);
    }
    cJSON *rr = cJSON_CreateObject();
    uuid_of(d, "risk", key, u);
    cJSON_AddStringToObject(rr, "risk-uuid", u);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(fx, "related-risks"), rr);
    return fx;
}

static cJSON *j_site_result(const edata *d, size_t si)
{
    const esite *s = &d->sites[si];
    char title[1400], txt[1400], start[40], end[40], rh[65];
    period_bounds(d, start, end, sizeof start);
    result_texts(d, s, title, txt, sizeof txt);
    cJSON *res = j_item(d, "result", s->site.origin, title, txt);
    cJSON_AddStringToObject(res, "start", start);
    cJSON_AddStringToObject(res, "end", end);
    cJSON *props = cJSON_AddArrayToObject(res, "props");
    jprop(props, "site-origin", s->site.origin);
    jprop(props, "site-status", edata_site_status(s));
    jpropu(props, "checkpoint-tree-size", s->cp_size);
    hexs(s->cp_root, rh);
    jprop(props, "checkpoint-root", s->has_cp ? rh : "none");
    jprop(props, "checkpoint-cosigned", s->cosigned ? "true" : "false");
    if (s->has_kpis)
        jprop(props, "kpi-inputs-batch", s->kpis_sha);
    if (s->has_controls)
        jprop(props, "controls-batch", s->controls_sha);
    cJSON *sel = cJSON_CreateObject();
    cJSON_AddObjectToObject(sel, "include-all");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(res, "reviewed-controls"),
                                                "control-selections"),
                         sel);
    char cp_href[40];
    checkpoint_href(d, s, cp_href);
    cJSON *obs = cJSON_CreateArray(), *risks = cJSON_CreateArray(), *finds = cJSON_CreateArray();
    for (size_t i = 0; i < d->nfindings; i++) {
        const efinding *f = &d->findings[i];
        if ((size_t)f->site != si)
            continue;
        char key[256];
        finding_key(d, i, key, sizeof key);
        if (f->ncites)
            cJSON_AddItemToArray(obs, j_observation(d, s, f, key, cp_href));
        cJSON_AddItemToArray(risks, j_risk(d, s, f, key));
        cJSON_AddItemToArray(finds, j_finding(d, s, f, key));
    }
    add_nonempty(res, "observations", obs);
    add_nonempty(res, "risks", risks);
    add_nonempty(res, "findings", finds);
    if (s->problem[0])
        cJSON_AddStringToObject(res, "remarks", s->problem);
    return res;
}

static cJSON *j_rollup(const edata *d)
{
    char title[600], txt[600], start[40], end[40], name[96], v[64];
    period_bounds(d, start, end, sizeof start);
    snprintf(title, sizeof title, "Enterprise roll-up, %s", d->period.label);
    snprintf(txt, sizeof txt,
             "The %zu sites together: KPIs from the sums of the sites' numerators and "
             "denominators, control posture summed over the sites; the findings are in the "
             "sites' results.",
             d->nsites);
    cJSON *res = j_item(d, "result", "enterprise", title, txt);
    cJSON_AddStringToObject(res, "start", start);
    cJSON_AddStringToObject(res, "end", end);
    cJSON *props = cJSON_AddArrayToObject(res, "props");
    jpropu(props, "sites", d->nsites);
    jpropu(props, "findings", d->nfindings);
    for (int i = KPI_SEV__COUNT - 1; i >= 0; i--) {
        snprintf(name, sizeof name, "findings-%s", kpi_severity_names[i]);
        jpropu(props, name, d->by_severity[i]);
    }
    static const char *const fw[2] = {"iso27001", "nist80053"};
    for (int f = 0; f < 2; f++) {
        snprintf(name, sizeof name, "%s-in-scope", fw[f]);
        jpropu(props, name, d->posture[f][0]);
        snprintf(name, sizeof name, "%s-satisfied", fw[f]);
        jpropu(props, name, d->posture[f][2]);
        snprintf(name, sizeof name, "%s-not-satisfied", fw[f]);
        jpropu(props, name, d->posture[f][3]);
    }
    for (size_t k = 0; k < d->defs.n; k++) {
        snprintf(name, sizeof name, "kpi.%s", d->kpis[k].def->key);
        kpi_display(&d->kpis[k], v, sizeof v);
        jprop(props, name, v);
    }
    cJSON *sel = cJSON_CreateObject();
    cJSON_AddObjectToObject(sel, "include-all");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(res, "reviewed-controls"),
                                                "control-selections"),
                         sel);
    return res;
}

static cJSON *j_resource(const edata *d, size_t si)
{
    const esite *s = &d->sites[si];
    char u[37], txt[1400], rh[65];
    cJSON *rs = cJSON_CreateObject();
    uuid_of(d, "checkpoint", s->site.origin, u);
    cJSON_AddStringToObject(rs, "uuid", u);
    snprintf(txt, sizeof txt, "Checkpoint of %s%s", s->site.origin,
             s->cosigned ? " cosigned by the centre" : "");
    cJSON_AddStringToObject(rs, "title", txt);
    snprintf(txt, sizeof txt,
             "C2SP tlog-checkpoint signed by the site (key %s)%s%s. Every evidence item of this "
             "site is proven against it.",
             s->site.key_line, s->cosigned ? " and cosigned (tlog-cosignature) by the witness " : "",
             s->cosigned ? d->witness_vkey : "");
    cJSON_AddStringToObject(rs, "description", txt);
    cJSON *rp = cJSON_AddArrayToObject(rs, "props");
    jpropu(rp, "tree-size", s->cp_size);
    hexs(s->cp_root, rh);
    jprop(rp, "root", s->has_cp ? rh : "none");
    if (s->has_cp && s->cp_note[0]) {
        char *b = b64_of(s->cp_note, strlen(s->cp_note));
        if (b) {
            cJSON *x = cJSON_AddObjectToObject(rs, "base64");
            cJSON_AddStringToObject(x, "filename", "checkpoint.txt");
            cJSON_AddStringToObject(x, "media-type", "text/plain");
            cJSON_AddStringToObject(x, "value", b);
            free(b);
        }
    }
    return rs;
}

int eoscal_build_json(const edata *d, cJSON **out, adt_err *err)
{
    char u[37], txt[512];
    cJSON *top = cJSON_CreateObject();
    cJSON *ar = cJSON_AddObjectToObject(top, "assessment-results");
    uuid_of(d, "assessment-results", "", u);
    cJSON_AddStringToObject(ar, "uuid", u);
    cJSON *md = cJSON_AddObjectToObject(ar, "metadata");
    snprintf(txt, sizeof txt, "auditd enterprise assessment results %s", d->period.label);
    cJSON_AddStringToObject(md, "title", txt);
    cJSON_AddStringToObject(md, "last-modified", d->as_of);
    snprintf(txt, sizeof txt, "%s@%s", d->period.label, d->as_of);
    cJSON_AddStringToObject(md, "version", txt);
    cJSON_AddStringToObject(md, "oscal-version", OSCAL_VERSION);
    cJSON *mp = cJSON_AddArrayToObject(md, "props");
    jprop(mp, "scope", "enterprise");
    if (d->witness_vkey[0])
        jprop(mp, "witness-key", d->witness_vkey);
    cJSON *role = cJSON_CreateObject();
    cJSON_AddStringToObject(role, "id", "assessor");
    cJSON_AddStringToObject(role, "title", "Central tier (auditd central: mirror, witness and report)");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(md, "roles"), role);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(ar, "import-ap"), "href",
                            "urn:auditd:assessment-plan:enterprise");
    cJSON *results = cJSON_AddArrayToObject(ar, "results");
    for (size_t si = 0; si < d->nsites; si++)
        cJSON_AddItemToArray(results, j_site_result(d, si));
    cJSON_AddItemToArray(results, j_rollup(d));
    cJSON *rs = cJSON_CreateArray();
    for (size_t si = 0; si < d->nsites; si++)
        cJSON_AddItemToArray(rs, j_resource(d, si));
    cJSON_AddItemToObject(cJSON_AddObjectToObject(ar, "back-matter"), "resources", rs);
    int rc = oscal_check_json(top, err);
    if (rc) {
        cJSON_Delete(top);
        return rc;
    }
    *out = top;
    return ADT_OK;
}
