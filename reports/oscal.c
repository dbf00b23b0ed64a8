/* oscal.c: OSCAL assessment results in XML and JSON (see oscal.h). */
#include "oscal.h"

#include "rfc3339.h"

#include <libxml/xpath.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void oscal_uuid_of_hash(uint8_t h[32], char out[37])
{
    h[6] = (uint8_t)((h[6] & 0x0f) | 0x40); /* version 4 */
    h[8] = (uint8_t)((h[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hx[] = "0123456789abcdef";
    size_t j = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[j++] = '-';
        out[j++] = hx[h[i] >> 4];
        out[j++] = hx[h[i] & 15];
    }
    out[j] = 0;
}

void oscal_uuid(const rdata *d, const char *kind, const char *key, char out[37])
{
    crypto_hash_sha256_state st;
    uint8_t h[32];
    char sz[24];
    snprintf(sz, sizeof sz, "%llu", (unsigned long long)d->tree_size);
    crypto_hash_sha256_init(&st);
    const char *parts[] = {"auditd-oscal-v1", d->origin, d->period.label, sz, kind, key};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        crypto_hash_sha256_update(&st, (const uint8_t *)parts[i], strlen(parts[i]) + 1);
        if (i == 3)
            crypto_hash_sha256_update(&st, d->root, 32);
    }
    crypto_hash_sha256_final(&st, h);
    oscal_uuid_of_hash(h, out);
}

/* ---- the controls, read once from the typed evaluation ------------------ */

typedef struct octl {
    const char *framework, *id, *title, *status; /* borrowed from d->controls */
    int state;              /* 1 satisfied, 0 not satisfied, -1 not evaluated */
    uint64_t ev[OSCAL_MAX_EVIDENCE];
    size_t nev, ev_total;
    const controls_control *ctl;
} octl;

void oscal_token(const char *s, char *out, size_t cap)
{
    size_t j = 0;
    if (!s || !*s)
        s = "unknown";
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        out[j++] = '_';
    for (; *s && j + 1 < cap; s++) {
        char c = *s;
        bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '-' || c == '_';
        out[j++] = okc ? c : '_';
    }
    out[j] = 0;
}

/* The in-scope controls with the evidence the checkpoint covers (the first
 * CONTROLS_MAX_EVIDENCE of its rules', as the status document lists them). */
static size_t read_controls(const rdata *d, octl **out)
{
    *out = NULL;
    const controls_result *r = d->controls;
    if (!r || !r->ncontrols)
        return 0;
    octl *c = calloc(r->ncontrols, sizeof *c);
    if (!c)
        return 0;
    for (size_t k = 0; k < r->ncontrols; k++) {
        const controls_control *x = &r->controls[k];
        octl *o = &c[k];
        o->ctl = x;
        o->framework = x->framework;
        o->id = x->id;
        o->title = x->title;
        o->status = controls_status_name(x->status);
        o->state = x->status == CONTROLS_SATISFIED       ? 1
                   : x->status == CONTROLS_NOT_SATISFIED ? 0
                                                         : -1;
        size_t listed = 0;
        for (size_t i = 0; i < x->nrules; i++) {
            const eval_rule_result *rr = &r->rules[x->rules[i].rule];
            for (size_t e = 0; e < rr->nevidence && listed < CONTROLS_MAX_EVIDENCE; e++, listed++) {
                uint64_t v = rr->evidence[e];
                if (v >= d->tree_size)
                    continue; /* only entries the checkpoint covers are cited */
                o->ev_total++;
                if (o->nev < OSCAL_MAX_EVIDENCE)
                    o->ev[o->nev++] = v;
            }
        }
    }
    *out = c;
    return r->ncontrols;
}

/* The control's findings in words (the first CONTROLS_MAX_FINDINGS of its rules'). */
static void finding_text(const rdata *d, const octl *c, char *out, size_t cap)
{
    size_t used = 0, listed = 0;
    out[0] = 0;
    const controls_result *r = d->controls;
    for (size_t i = 0; i < c->ctl->nrules; i++) {
        const eval_rule_result *rr = &r->rules[c->ctl->rules[i].rule];
        for (size_t k = 0; k < rr->nfindings && listed < CONTROLS_MAX_FINDINGS; k++, listed++) {
            const eval_finding *f = &rr->findings[k];
            const char *owner = f->owner;
            int w = snprintf(out + used, cap - used, "%s[%s] %s%s%s", used ? " " : "",
                             rr->severity, f->message ? f->message : "",
                             owner && *owner ? " Owner: " : "", owner && *owner ? owner : "");
            if (w < 0 || (size_t)w >= cap - used)
                return;
            used += (size_t)w;
        }
    }
}

/* ---- XML ------------------------------------------------------------------- */

xmlNodePtr oscal_xel(xmlNodePtr p, xmlNsPtr ns, const char *name, const char *text)
{
    return xmlNewTextChild(p, ns, BAD_CAST name, text ? BAD_CAST text : NULL);
}

void oscal_xattr(xmlNodePtr n, const char *name, const char *v)
{
    xmlNewProp(n, BAD_CAST name, BAD_CAST v);
}

xmlNodePtr oscal_xdesc(xmlNodePtr p, xmlNsPtr ns, const char *name, const char *text)
{
    xmlNodePtr d = xmlNewChild(p, ns, BAD_CAST name, NULL);
    oscal_xel(d, ns, "p", text);
    return d;
}

void oscal_xprop(xmlNodePtr p, xmlNsPtr ns, const char *name, const char *value)
{
    xmlNodePtr n = xmlNewChild(p, ns, BAD_CAST "prop", NULL);
    oscal_xattr(n, "name", name);
    oscal_xattr(n, "ns", OSCAL_AUDITD_NS);
    oscal_xattr(n, "value", value);
}

static void fmt_s(int64_t us, char *out, size_t cap)
{
    rfc3339_format_s(us, out, cap);
}

/* metadata and the plan it imports */
static void xml_metadata(const rdata *d, xmlNodePtr root, xmlNsPtr ns)
{
    char txt[1024];
    xmlNodePtr md = xmlNewChild(root, ns, BAD_CAST "metadata", NULL);
    snprintf(txt, sizeof txt, "auditd assessment results %s (%s)", d->period.label, d->origin);
    oscal_xel(md, ns, "title", txt);
    oscal_xel(md, ns, "last-modified", d->as_of);
    snprintf(txt, sizeof txt, "%s@%llu", d->period.label, (unsigned long long)d->tree_size);
    oscal_xel(md, ns, "version", txt);
    oscal_xel(md, ns, "oscal-version", OSCAL_VERSION);
    oscal_xprop(md, ns, "ledger-origin", d->origin);
    xmlNodePtr role = xmlNewChild(md, ns, BAD_CAST "role", NULL);
    oscal_xattr(role, "id", "assessor");
    oscal_xel(role, ns, "title", "Automated assessor (auditd evidence rules over the ledger)");
    xmlNodePtr ap = xmlNewChild(root, ns, BAD_CAST "import-ap", NULL);
    oscal_xattr(ap, "href", "urn:auditd:assessment-plan:controls-rules");
}

/* the result's head: what was evaluated, at which checkpoint, which controls */
static xmlNodePtr xml_result(const rdata *d, xmlNodePtr root, xmlNsPtr ns, const octl *c,
                             size_t nc, const char *rhex)
{
    char u[37], txt[1024], t[64];
    xmlNodePtr res = xmlNewChild(root, ns, BAD_CAST "result", NULL);
    oscal_uuid(d, "result", "", u);
    oscal_xattr(res, "uuid", u);
    snprintf(txt, sizeof txt, "Automated control evaluation %s", d->period.label);
    oscal_xel(res, ns, "title", txt);
    snprintf(txt, sizeof txt,
             "Evidence rules evaluated over the ledger events of %s, at the signed checkpoint of "
             "tree size %llu.",
             d->period.label, (unsigned long long)d->tree_size);
    oscal_xdesc(res, ns, "description", txt);
    fmt_s(d->period.from_us, t, sizeof t);
    oscal_xel(res, ns, "start", t);
    fmt_s(d->period.to_us - 1000000, t, sizeof t);
    oscal_xel(res, ns, "end", t);
    snprintf(txt, sizeof txt, "%llu", (unsigned long long)d->tree_size);
    oscal_xprop(res, ns, "checkpoint-tree-size", txt);
    oscal_xprop(res, ns, "checkpoint-root", rhex);
    size_t nne = 0;
    for (size_t i = 0; i < nc; i++)
        nne += c[i].state < 0;
    snprintf(txt, sizeof txt, "%zu", nne);
    oscal_xprop(res, ns, "controls-not-evaluated", txt);
    xmlNodePtr rc = xmlNewChild(res, ns, BAD_CAST "reviewed-controls", NULL);
    xmlNodePtr cs = xmlNewChild(rc, ns, BAD_CAST "control-selection", NULL);
    if (!nc)
        xmlNewChild(cs, ns, BAD_CAST "include-all", NULL);
    for (size_t i = 0; i < nc; i++) {
        char tok[128];
        oscal_token(c[i].id, tok, sizeof tok);
        oscal_xattr(xmlNewChild(cs, ns, BAD_CAST "include-control", NULL), "control-id", tok);
    }
    return res;
}

/* One observation: the control's evidence entries, each with its leaf hash,
 * proven against the checkpoint (cp_href). */
static int xml_observation(const rdata *d, ledger *lg, const octl *c, const char *key,
                           const char *cp_href, xmlNodePtr res, xmlNsPtr ns, adt_err *err)
{
    char u[37], txt[1024];
    xmlNodePtr ob = xmlNewChild(res, ns, BAD_CAST "observation", NULL);
    oscal_uuid(d, "observation", key, u);
    oscal_xattr(ob, "uuid", u);
    snprintf(txt, sizeof txt, "Ledger evidence for %s %s", c->framework, c->id);
    oscal_xel(ob, ns, "title", txt);
    snprintf(txt, sizeof txt,
             "%zu ledger entries are evidence for this control (%zu cited); each is provable "
             "against the signed checkpoint in back-matter.",
             c->ev_total, c->nev);
    oscal_xdesc(ob, ns, "description", txt);
    snprintf(txt, sizeof txt, "%zu", c->ev_total);
    oscal_xprop(ob, ns, "evidence-count", txt);
    oscal_xel(ob, ns, "method", "TEST");
    oscal_xel(ob, ns, "type", "control-objective");
    for (size_t e = 0; e < c->nev; e++) {
        merkle_hash lh;
        char hx[65];
        if (ledger_leaf_hash(lg, c->ev[e], lh, err))
            return err ? err->code : ADT_EIO;
        rdata_hex(lh, 32, hx);
        xmlNodePtr re = xmlNewChild(ob, ns, BAD_CAST "relevant-evidence", NULL);
        snprintf(txt, sizeof txt, "/v1/log/entries/%llu", (unsigned long long)c->ev[e]);
        oscal_xattr(re, "href", txt);
        snprintf(txt, sizeof txt, "Ledger entry %llu.", (unsigned long long)c->ev[e]);
        oscal_xdesc(re, ns, "description", txt);
        snprintf(txt, sizeof txt, "%llu", (unsigned long long)c->ev[e]);
        oscal_xprop(re, ns, "ledger-index", txt);
        oscal_xprop(re, ns, "leaf-hash", hx);
        xmlNodePtr ln = xmlNewChild(re, ns, BAD_CAST "link", NULL);
        oscal_xattr(ln, "href", cp_href);
        oscal_xattr(ln, "rel", "proven-against");
    }
    oscal_xel(ob, ns, "collected", d->as_of);
    return ADT_OK;
}

/* The risk of a control not satisfied. */
static void xml_risk(const rdata *d, const octl *c, const char *key, xmlNodePtr res, xmlNsPtr ns)
{
    char u[37], txt[1024];
    xmlNodePtr rk = xmlNewChild(res, ns, BAD_CAST "risk", NULL);
    oscal_uuid(d, "risk", key, u);
    oscal_xattr(rk, "uuid", u);
    snprintf(txt, sizeof txt, "%s %s not satisfied", c->framework, c->id);
    oscal_xel(rk, ns, "title", txt);
    finding_text(d, c, txt, sizeof txt);
    oscal_xdesc(rk, ns, "description", txt[0] ? txt : "The evidence rules found the control not satisfied.");
    oscal_xdesc(rk, ns, "statement", "The control's objective is not met for the period; see the findings.");
    oscal_xel(rk, ns, "status", "open");
}

/* The finding of an evaluated control, with its observation and risk. */
static void xml_finding(const rdata *d, const octl *c, const char *key, xmlNodePtr res,
                        xmlNsPtr ns)
{
    char u[37], txt[1024], tok[128];
    xmlNodePtr f = xmlNewChild(res, ns, BAD_CAST "finding", NULL);
    oscal_uuid(d, "finding", key, u);
    oscal_xattr(f, "uuid", u);
    snprintf(txt, sizeof txt, "%s %s %s", c->framework, c->id,
             c->state ? "satisfied" : "not satisfied");
    oscal_xel(f, ns, "title", txt);
    finding_text(d, c, txt, sizeof txt);
    if (!txt[0])
        snprintf(txt, sizeof txt, "%s%s", c->title ? c->title : "Control evaluated",
                 c->state ? ": the evidence rules are satisfied." : ".");
    oscal_xdesc(f, ns, "description", txt);
    oscal_xprop(f, ns, "framework", c->framework[0] ? c->framework : "unknown");
    xmlNodePtr tg = xmlNewChild(f, ns, BAD_CAST "target", NULL);
    oscal_xattr(tg, "type", "objective-id");
    oscal_token(c->id, tok, sizeof tok);
    snprintf(txt, sizeof txt, "%s_obj", tok);
    oscal_xattr(tg, "target-id", txt);
    oscal_xattr(xmlNewChild(tg, ns, BAD_CAST "status", NULL), "state",
        c->state ? "satisfied" : "not-satisfied");
    if (c->nev) {
        oscal_uuid(d, "observation", key, u);
        oscal_xattr(xmlNewChild(f, ns, BAD_CAST "related-observation", NULL), "observation-uuid", u);
    }
    if (c->state == 0) {
        oscal_uuid(d, "risk", key, u);
        oscal_xattr(xmlNewChild(f, ns, BAD_CAST "associated-risk", NULL), "risk-uuid", u);
    }
}

/* back-matter: the signed checkpoint itself (base64) */
static int xml_back_matter(const rdata *d, xmlNodePtr root, xmlNsPtr ns, const char *cp_uuid,
                           const char *rhex)
{
    char txt[1024];
    xmlNodePtr bm = xmlNewChild(root, ns, BAD_CAST "back-matter", NULL);
    xmlNodePtr rs = xmlNewChild(bm, ns, BAD_CAST "resource", NULL);
    oscal_xattr(rs, "uuid", cp_uuid);
    oscal_xel(rs, ns, "title", "Signed ledger checkpoint (C2SP tlog-checkpoint)");
    snprintf(txt, sizeof txt,
             "The checkpoint the evidence is proven against; verify it with the key %s.",
             d->key_line);
    oscal_xdesc(rs, ns, "description", txt);
    snprintf(txt, sizeof txt, "%llu", (unsigned long long)d->tree_size);
    oscal_xprop(rs, ns, "tree-size", txt);
    oscal_xprop(rs, ns, "root", rhex);
    size_t blen = sodium_base64_ENCODED_LEN(NOTE_MAX, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(blen);
    if (!b64)
        return ADT_ENOMEM;
    sodium_bin2base64(b64, blen, (const unsigned char *)d->checkpoint, strlen(d->checkpoint),
                      sodium_base64_VARIANT_ORIGINAL);
    xmlNodePtr b = oscal_xel(rs, ns, "base64", b64);
    free(b64);
    oscal_xattr(b, "filename", "checkpoint.txt");
    oscal_xattr(b, "media-type", "text/plain");
    return ADT_OK;
}

int oscal_build_xml(const rdata *d, ledger *lg, xmlDocPtr *out, adt_err *err)
{
    octl *c = NULL;
    size_t nc = read_controls(d, &c);
    char u[37], rhex[65];
    rdata_hex(d->root, 32, rhex);
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "assessment-results");
    xmlNsPtr ns = xmlNewNs(root, BAD_CAST OSCAL_NS, NULL);
    xmlSetNs(root, ns);
    xmlDocSetRootElement(doc, root);
    oscal_uuid(d, "assessment-results", "", u);
    oscal_xattr(root, "uuid", u);
    xml_metadata(d, root, ns);
    xmlNodePtr res = xml_result(d, root, ns, c, nc, rhex);
    char cp_uuid[37], cp_href[40], key[192];
    oscal_uuid(d, "checkpoint", "", cp_uuid);
    snprintf(cp_href, sizeof cp_href, "#%s", cp_uuid);
    int rcode = ADT_OK;
    /* the schema orders them: observations, risks, findings */
    for (size_t i = 0; i < nc && !rcode; i++) {
        snprintf(key, sizeof key, "%s/%s", c[i].framework, c[i].id);
        if (c[i].state >= 0 && c[i].nev)
            rcode = xml_observation(d, lg, &c[i], key, cp_href, res, ns, err);
    }
    for (size_t i = 0; i < nc && !rcode; i++) {
        snprintf(key, sizeof key, "%s/%s", c[i].framework, c[i].id);
        if (c[i].state == 0)
            xml_risk(d, &c[i], key, res, ns);
    }
    for (size_t i = 0; i < nc && !rcode; i++) {
        snprintf(key, sizeof key, "%s/%s", c[i].framework, c[i].id);
        if (c[i].state >= 0)
            xml_finding(d, &c[i], key, res, ns);
    }
    if (!nc) {
        char txt[1024];
        snprintf(txt, sizeof txt, "No control evaluation was available: %s",
                 d->controls_problem[0] ? d->controls_problem : "no controls in scope");
        oscal_xdesc(res, ns, "remarks", txt);
    }
    if (!rcode)
        rcode = xml_back_matter(d, root, ns, cp_uuid, rhex);
    free(c);
    if (!rcode) {
        *out = doc;
        return ADT_OK;
    }
    xmlFreeDoc(doc);
    if (err && err->code == rcode && err->msg[0])
        return rcode;
    return adt_fail(err, rcode, "building OSCAL failed");
}

/* ---- JSON -------------------------------------------------------------------- */

static void jprop(cJSON *arr, const char *name, const char *value)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "ns", OSCAL_AUDITD_NS);
    cJSON_AddStringToObject(p, "value", value);
    cJSON_AddItemToArray(arr, p);
}

/* metadata and the plan it imports */
static void json_metadata(const rdata *d, cJSON *ar)
{
    char txt[1024];
    cJSON *md = cJSON_AddObjectToObject(ar, "metadata");
    snprintf(txt, sizeof txt, "auditd assessment results %s (%s)", d->period.label, d->origin);
    cJSON_AddStringToObject(md, "title", txt);
    cJSON_AddStringToObject(md, "last-modified", d->as_of);
    snprintf(txt, sizeof txt, "%s@%llu", d->period.label, (unsigned long long)d->tree_size);
    cJSON_AddStringToObject(md, "version", txt);
    cJSON_AddStringToObject(md, "oscal-version", OSCAL_VERSION);
    jprop(cJSON_AddArrayToObject(md, "props"), "ledger-origin", d->origin);
    cJSON *role = cJSON_CreateObject();
    cJSON_AddStringToObject(role, "id", "assessor");
    cJSON_AddStringToObject(role, "title", "Automated assessor (auditd evidence rules over the ledger)");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(md, "roles"), role);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(ar, "import-ap"), "href",
                            "urn:auditd:assessment-plan:controls-rules");
}

/* the result's head: what was evaluated, at which checkpoint, which controls */
static cJSON *json_result(const rdata *d, cJSON *ar, const octl *c, size_t nc, const char *rhex)
{
    char u[37], txt[1024], t[64];
    cJSON *res = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(ar, "results"), res);
    oscal_uuid(d, "result", "", u);
    cJSON_AddStringToObject(res, "uuid", u);
    snprintf(txt, sizeof txt, "Automated control evaluation %s", d->period.label);
    cJSON_AddStringToObject(res, "title", txt);
    snprintf(txt, sizeof txt,
             "Evidence rules evaluated over the ledger events of %s, at the signed checkpoint of "
             "tree size %llu.",
             d->period.label, (unsigned long long)d->tree_size);
    cJSON_AddStringToObject(res, "description", txt);
    fmt_s(d->period.from_us, t, sizeof t);
    cJSON_AddStringToObject(res, "start", t);
    fmt_s(d->period.to_us - 1000000, t, sizeof t);
    cJSON_AddStringToObject(res, "end", t);
    cJSON *props = cJSON_AddArrayToObject(res, "props");
    snprintf(txt, sizeof txt, "%llu", (unsigned long long)d->tree_size);
    jprop(props, "checkpoint-tree-size", txt);
    jprop(props, "checkpoint-root", rhex);
    size_t nne = 0;
    for (size_t i = 0; i < nc; i++)
        nne += c[i].state < 0;
    snprintf(txt, sizeof txt, "%zu", nne);
    jprop(props, "controls-not-evaluated", txt);
    cJSON *sel = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(res, "reviewed-controls"),
                                                "control-selections"),
                         sel);
    if (!nc) {
        cJSON_AddObjectToObject(sel, "include-all");
        return res;
    }
    cJSON *inc = cJSON_AddArrayToObject(sel, "include-controls");
    for (size_t i = 0; i < nc; i++) {
        char tok[128];
        oscal_token(c[i].id, tok, sizeof tok);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "control-id", tok);
        cJSON_AddItemToArray(inc, o);
    }
    return res;
}

/* One observation: the control's evidence entries, each with its leaf hash,
 * proven against the checkpoint (cp_href). */
static int json_observation(const rdata *d, ledger *lg, const octl *c, const char *key,
                            const char *cp_href, cJSON *obs, adt_err *err)
{
    char u[37], txt[1024];
    cJSON *ob = cJSON_CreateObject();
    cJSON_AddItemToArray(obs, ob);
    oscal_uuid(d, "observation", key, u);
    cJSON_AddStringToObject(ob, "uuid", u);
    snprintf(txt, sizeof txt, "Ledger evidence for %s %s", c->framework, c->id);
    cJSON_AddStringToObject(ob, "title", txt);
    snprintf(txt, sizeof txt,
             "%zu ledger entries are evidence for this control (%zu cited); each is "
             "provable against the signed checkpoint in back-matter.",
             c->ev_total, c->nev);
    cJSON_AddStringToObject(ob, "description", txt);
    snprintf(txt, sizeof txt, "%zu", c->ev_total);
    jprop(cJSON_AddArrayToObject(ob, "props"), "evidence-count", txt);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(ob, "methods"), cJSON_CreateString("TEST"));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(ob, "types"),
                         cJSON_CreateString("control-objective"));
    cJSON *rel = cJSON_AddArrayToObject(ob, "relevant-evidence");
    for (size_t e = 0; e < c->nev; e++) {
        merkle_hash lh;
        char hx[65];
        if (ledger_leaf_hash(lg, c->ev[e], lh, err))
            return err ? err->code : ADT_EIO;
        rdata_hex(lh, 32, hx);
        cJSON *re = cJSON_CreateObject();
        snprintf(txt, sizeof txt, "/v1/log/entries/%llu", (unsigned long long)c->ev[e]);
        cJSON_AddStringToObject(re, "href", txt);
        snprintf(txt, sizeof txt, "Ledger entry %llu.", (unsigned long long)c->ev[e]);
        cJSON_AddStringToObject(re, "description", txt);
        cJSON *rp = cJSON_AddArrayToObject(re, "props");
        snprintf(txt, sizeof txt, "%llu", (unsigned long long)c->ev[e]);
        jprop(rp, "ledger-index", txt);
        jprop(rp, "leaf-hash", hx);
        cJSON *ln = cJSON_CreateObject();
        cJSON_AddStringToObject(ln, "href", cp_href);
        cJSON_AddStringToObject(ln, "rel", "proven-against");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(re, "links"), ln);
        cJSON_AddItemToArray(rel, re);
    }
    cJSON_AddStringToObject(ob, "collected", d->as_of);
    return ADT_OK;
}

/* The risk of a control not satisfied. */
static void json_risk(const rdata *d, const octl *c, const char *key, cJSON *risks)
{
    char u[37], txt[1024];
    cJSON *rk = cJSON_CreateObject();
    cJSON_AddItemToArray(risks, rk);
    oscal_uuid(d, "risk", key, u);
    cJSON_AddStringToObject(rk, "uuid", u);
    snprintf(txt, sizeof txt, "%s %s not satisfied", c->framework, c->id);
    cJSON_AddStringToObject(rk, "title", txt);
    finding_text(d, c, txt, sizeof txt);
    cJSON_AddStringToObject(rk, "description",
                            txt[0] ? txt : "The evidence rules found the control not satisfied.");
    cJSON_AddStringToObject(rk, "statement",
                            "The control's objective is not met for the period; see the findings.");
    cJSON_AddStringToObject(rk, "status", "open");
}

/* The finding of an evaluated control, with its observation and risk. */
static void json_finding(const rdata *d, const octl *c, const char *key, cJSON *finds)
{
    char u[37], txt[1024], tok[128];
    cJSON *f = cJSON_CreateObject();
    cJSON_AddItemToArray(finds, f);
    oscal_uuid(d, "finding", key, u);
    cJSON_AddStringToObject(f, "uuid", u);
    snprintf(txt, sizeof txt, "%s %s %s", c->framework, c->id,
             c->state ? "satisfied" : "not satisfied");
    cJSON_AddStringToObject(f, "title", txt);
    finding_text(d, c, txt, sizeof txt);
    if (!txt[0])
        snprintf(txt, sizeof txt, "%s%s", c->title ? c->title : "Control evaluated",
                 c->state ? ": the evidence rules are satisfied." : ".");
    cJSON_AddStringToObject(f, "description", txt);
    jprop(cJSON_AddArrayToObject(f, "props"), "framework",
          c->framework[0] ? c->framework : "unknown");
    cJSON *tg = cJSON_AddObjectToObject(f, "target");
    cJSON_AddStringToObject(tg, "type", "objective-id");
    oscal_token(c->id, tok, sizeof tok);
    snprintf(txt, sizeof txt, "%s_obj", tok);
    cJSON_AddStringToObject(tg, "target-id", txt);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(tg, "status"), "state",
                            c->state ? "satisfied" : "not-satisfied");
    if (c->nev) {
        cJSON *ro = cJSON_CreateObject();
        oscal_uuid(d, "observation", key, u);
        cJSON_AddStringToObject(ro, "observation-uuid", u);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(f, "related-observations"), ro);
    }
    if (c->state == 0) {
        cJSON *rr = cJSON_CreateObject();
        oscal_uuid(d, "risk", key, u);
        cJSON_AddStringToObject(rr, "risk-uuid", u);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(f, "related-risks"), rr);
    }
}

/* OSCAL JSON arrays must not be empty: add only those with members. */
static void add_nonempty(cJSON *o, const char *key, cJSON *arr)
{
    if (cJSON_GetArraySize(arr))
        cJSON_AddItemToObject(o, key, arr);
    else
        cJSON_Delete(arr);
}

/* back-matter: the signed checkpoint itself (base64) */
static int json_back_matter(const rdata *d, cJSON *ar, const char *cp_uuid, const char *rhex)
{
    char txt[1024];
    cJSON *rs = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(ar, "back-matter"), "resources"), rs);
    cJSON_AddStringToObject(rs, "uuid", cp_uuid);
    cJSON_AddStringToObject(rs, "title", "Signed ledger checkpoint (C2SP tlog-checkpoint)");
    snprintf(txt, sizeof txt,
             "The checkpoint the evidence is proven against; verify it with the key %s.",
             d->key_line);
    cJSON_AddStringToObject(rs, "description", txt);
    cJSON *rp = cJSON_AddArrayToObject(rs, "props");
    snprintf(txt, sizeof txt, "%llu", (unsigned long long)d->tree_size);
    jprop(rp, "tree-size", txt);
    jprop(rp, "root", rhex);
    size_t blen = sodium_base64_ENCODED_LEN(NOTE_MAX, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(blen);
    if (!b64)
        return ADT_ENOMEM;
    sodium_bin2base64(b64, blen, (const unsigned char *)d->checkpoint, strlen(d->checkpoint),
                      sodium_base64_VARIANT_ORIGINAL);
    cJSON *b = cJSON_AddObjectToObject(rs, "base64");
    cJSON_AddStringToObject(b, "filename", "checkpoint.txt");
    cJSON_AddStringToObject(b, "media-type", "text/plain");
    cJSON_AddStringToObject(b, "value", b64);
    free(b64);
    return ADT_OK;
}

int oscal_build_json(const rdata *d, ledger *lg, cJSON **out, adt_err *err)
{
    octl *c = NULL;
    size_t nc = read_controls(d, &c);
    char u[37], rhex[65];
    rdata_hex(d->root, 32, rhex);
    cJSON *top = cJSON_CreateObject();
    cJSON *ar = cJSON_AddObjectToObject(top, "assessment-results");
    oscal_uuid(d, "assessment-results", "", u);
    cJSON_AddStringToObject(ar, "uuid", u);
    json_metadata(d, ar);
    cJSON *res = json_result(d, ar, c, nc, rhex);
    char cp_uuid[37], cp_href[40];
    oscal_uuid(d, "checkpoint", "", cp_uuid);
    snprintf(cp_href, sizeof cp_href, "#%s", cp_uuid);
    cJSON *obs = cJSON_CreateArray(), *risks = cJSON_CreateArray(), *finds = cJSON_CreateArray();
    int rcode = ADT_OK;
    for (size_t i = 0; i < nc && !rcode; i++) {
        if (c[i].state < 0)
            continue;
        char key[192];
        snprintf(key, sizeof key, "%s/%s", c[i].framework, c[i].id);
        if (c[i].nev && (rcode = json_observation(d, lg, &c[i], key, cp_href, obs, err)))
            break;
        if (c[i].state == 0)
            json_risk(d, &c[i], key, risks);
        json_finding(d, &c[i], key, finds);
    }
    add_nonempty(res, "observations", obs);
    add_nonempty(res, "risks", risks);
    add_nonempty(res, "findings", finds);
    if (!nc) {
        char txt[1024];
        snprintf(txt, sizeof txt, "No control evaluation was available: %s",
                 d->controls_problem[0] ? d->controls_problem : "no controls in scope");
        cJSON_AddStringToObject(res, "remarks", txt);
    }
    if (!rcode)
        rcode = json_back_matter(d, ar, cp_uuid, rhex);
    free(c);
    if (rcode) {
        cJSON_Delete(top);
        if (err && err->code == rcode && err->msg[0])
            return rcode;
        return adt_fail(err, rcode, "building OSCAL JSON failed");
    }
    *out = top;
    return ADT_OK;
}

/* ---- reference checks ---------------------------------------------------------- */

typedef struct uset {
    char (*v)[37];
    size_t n, cap;
} uset;

static int uset_add(uset *s, const char *u)
{
    if (strlen(u) != 36)
        return ADT_EINVAL;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        void *p = realloc(s->v, nc * sizeof *s->v);
        if (!p)
            return ADT_ENOMEM;
        s->v = p;
        s->cap = nc;
    }
    memcpy(s->v[s->n++], u, 37);
    return ADT_OK;
}

/* Sorted once, then uniqueness is a neighbour check and lookups bsearch. */
static int ucmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int uset_check_unique(uset *s, adt_err *err)
{
    qsort(s->v, s->n, sizeof *s->v, ucmp);
    for (size_t i = 1; i < s->n; i++)
        if (!strcmp(s->v[i], s->v[i - 1]))
            return adt_fail(err, ADT_EINTERNAL, "OSCAL check: uuid %s is used twice", s->v[i]);
    return ADT_OK;
}

static bool uset_find(const uset *s, const char *u)
{
    return s->n && bsearch(u, s->v, s->n, sizeof *s->v, ucmp) != NULL;
}

static void xml_collect(xmlNodePtr n, uset *ids, int *bad)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        xmlChar *u = xmlGetProp(n, BAD_CAST "uuid");
        if (u) {
            if (uset_add(ids, (const char *)u))
                *bad = 1;
            xmlFree(u);
        }
        xml_collect(n->children, ids, bad);
    }
}

static int xml_refs(xmlNodePtr n, const uset *ids, adt_err *err)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        static const char *const ref_attrs[] = {"observation-uuid", "risk-uuid", "href"};
        for (size_t i = 0; i < 3; i++) {
            xmlChar *v = xmlGetProp(n, BAD_CAST ref_attrs[i]);
            if (!v)
                continue;
            const char *s = (const char *)v;
            bool check = i < 2 || s[0] == '#';
            const char *u = i < 2 ? s : s + 1;
            int rc = ADT_OK;
            if (check && !uset_find(ids, u))
                rc = adt_fail(err, ADT_EINTERNAL, "OSCAL check: <%s %s=\"%s\"> does not resolve",
                              (const char *)n->name, ref_attrs[i], s);
            xmlFree(v);
            if (rc)
                return rc;
        }
        int rc = xml_refs(n->children, ids, err);
        if (rc)
            return rc;
    }
    return ADT_OK;
}

int oscal_check_xml(xmlDocPtr doc, adt_err *err)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root)
        return adt_fail(err, ADT_EINVAL, "OSCAL check: empty document");
    uset ids = {0};
    int bad = 0;
    xml_collect(root, &ids, &bad);
    int rc = bad ? adt_fail(err, ADT_EINTERNAL, "OSCAL check: a uuid is malformed or memory ran out")
                 : uset_check_unique(&ids, err);
    if (!rc)
        rc = xml_refs(root, &ids, err);
    free(ids.v);
    return rc;
}

static void json_collect(const cJSON *n, uset *ids, int *bad)
{
    for (const cJSON *c = n ? n->child : NULL; c; c = c->next) {
        if (c->string && !strcmp(c->string, "uuid") && cJSON_IsString(c)) {
            if (uset_add(ids, c->valuestring))
                *bad = 1;
        }
        if (cJSON_IsObject(c) || cJSON_IsArray(c))
            json_collect(c, ids, bad);
    }
}

static int json_refs(const cJSON *n, const uset *ids, adt_err *err)
{
    for (const cJSON *c = n ? n->child : NULL; c; c = c->next) {
        if (c->string && cJSON_IsString(c)) {
            const char *s = c->valuestring;
            bool check = false;
            const char *u = s;
            if (!strcmp(c->string, "observation-uuid") || !strcmp(c->string, "risk-uuid"))
                check = true;
            else if (!strcmp(c->string, "href") && s[0] == '#') {
                check = true;
                u = s + 1;
            }
            if (check && !uset_find(ids, u))
                return adt_fail(err, ADT_EINTERNAL, "OSCAL check: \"%s\": \"%s\" does not resolve",
                                c->string, s);
        }
        if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            int rc = json_refs(c, ids, err);
            if (rc)
                return rc;
        }
    }
    return ADT_OK;
}

int oscal_check_json(const cJSON *doc, adt_err *err)
{
    uset ids = {0};
    int bad = 0;
    json_collect(doc, &ids, &bad);
    int rc = bad ? adt_fail(err, ADT_EINTERNAL, "OSCAL check: a uuid is malformed or memory ran out")
                 : uset_check_unique(&ids, err);
    if (!rc)
        rc = json_refs(doc, &ids, err);
    free(ids.v);
    return rc;
}
