/* reports.c: the report document, its renderings, its ledger record and the
 * HTTP endpoint (see reports.h). */
#include "reports.h"
#include "ship.h"

#include "canon.h"
#include "event.h"
#include "evsink.h"
#include "kpi.h"
#include "ledger.h"
#include "oscal.h"
#include "rdata.h"
#include "rdoc.h"
#include "rfc3339.h"

#include <cjson/cJSON.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxslt/security.h>
#include <libxslt/transform.h>
#include <libxslt/xslt.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/xsltutils.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Embedded at build time (reports/CMakeLists.txt generates them). */
extern const char reports_asset_template[];
extern const char reports_asset_enterprise[];

const char *reports_builtin_enterprise_template(void)
{
    return reports_asset_enterprise;
}

const char *reports_builtin_template(void)
{
    return reports_asset_template;
}

static const struct {
    const char *name, *mime, *ext;
} formats[] = {
    [REPORT_HTML] = {"html", "text/html; charset=utf-8", "html"},
    [REPORT_JSON] = {"json", "application/json", "kpis.json"},
    [REPORT_CSV] = {"csv", "text/csv; charset=utf-8", "kpis.csv"},
    [REPORT_OSCAL_XML] = {"oscal-xml", "application/oscal+xml", "oscal.xml"},
    [REPORT_OSCAL_JSON] = {"oscal-json", "application/oscal+json", "oscal.json"},
    [REPORT_XML] = {"xml", "application/xml", "report.xml"},
};

int report_format_parse(const char *s, report_format *out)
{
    for (size_t i = 0; s && i < sizeof formats / sizeof formats[0]; i++)
        if (!strcmp(s, formats[i].name)) {
            *out = (report_format)i;
            return ADT_OK;
        }
    return ADT_EINVAL;
}

const char *report_format_name(report_format f)
{
    return formats[f].name;
}

const char *report_format_mime(report_format f)
{
    return formats[f].mime;
}

const char *report_format_ext(report_format f)
{
    return formats[f].ext;
}

/* ---- renderings ------------------------------------------------------------- */

typedef struct xerr {
    char msg[ADT_ERR_MAX];
} xerr;

static void xerr_fn(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xerr_fn(void *ctx, const char *fmt, ...)
{
    xerr *e = ctx;
    size_t n = strlen(e->msg);
    if (n + 1 >= sizeof e->msg)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg + n, sizeof e->msg - n, fmt, ap);
    va_end(ap);
}

static int render_html(xmlDocPtr doc, const char *template_path, buf *out, adt_err *err)
{
    return reports_xslt_html(doc, template_path, reports_asset_template,
                             "templates/report-html.xsl", out, err);
}

int reports_xslt_html(const void *xml_doc, const char *template_path, const char *builtin,
                      const char *builtin_name, buf *out, adt_err *err)
{
    xmlDocPtr doc = (xmlDocPtr)xml_doc;
    xerr xe = {{0}};
    xmlSetGenericErrorFunc(&xe, xerr_fn);
    xsltSetGenericErrorFunc(&xe, xerr_fn);
    xmlDocPtr sdoc;
    const char *label = template_path ? template_path : builtin_name;
    if (template_path)
        sdoc = xmlReadFile(template_path, NULL, XML_PARSE_NONET);
    else
        sdoc = xmlReadMemory(builtin, (int)strlen(builtin), builtin_name, NULL, XML_PARSE_NONET);
    int rc = ADT_OK;
    xsltStylesheetPtr ss = NULL;
    xsltSecurityPrefsPtr sec = NULL;
    xsltTransformContextPtr ctxt = NULL;
    xmlDocPtr res = NULL;
    if (!sdoc) {
        rc = adt_fail(err, ADT_EINVAL, "template %s is not well-formed XML: %s", label, xe.msg);
        goto done;
    }
    ss = xsltParseStylesheetDoc(sdoc);
    if (!ss) {
        xmlFreeDoc(sdoc);
        rc = adt_fail(err, ADT_EINVAL, "template %s is not a valid XSLT stylesheet: %s", label,
                      xe.msg);
        goto done;
    }
    /* Templates may not read or write files or the network. */
    sec = xsltNewSecurityPrefs();
    if (!sec || xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_FILE, xsltSecurityForbid) ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_FILE, xsltSecurityForbid) ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_CREATE_DIRECTORY, xsltSecurityForbid) ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_NETWORK, xsltSecurityForbid) ||
        xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_NETWORK, xsltSecurityForbid)) {
        rc = adt_fail(err, ADT_ENOMEM, "cannot set up the XSLT sandbox");
        goto done;
    }
    ctxt = xsltNewTransformContext(ss, doc);
    if (!ctxt || xsltSetCtxtSecurityPrefs(sec, ctxt)) {
        rc = adt_fail(err, ADT_ENOMEM, "cannot set up the XSLT transformation");
        goto done;
    }
    xsltSetCtxtParseOptions(ctxt, XML_PARSE_NONET);
    res = xsltApplyStylesheetUser(ss, doc, NULL, NULL, NULL, ctxt);
    if (!res || ctxt->state != XSLT_STATE_OK) {
        rc = adt_fail(err, ADT_EINVAL, "template %s failed: %s", label,
                      xe.msg[0] ? xe.msg : "transformation error");
        goto done;
    }
    xmlChar *txt = NULL;
    int len = 0;
    if (xsltSaveResultToString(&txt, &len, res, ss) || !txt) {
        rc = adt_fail(err, ADT_EINTERNAL, "serialising the HTML failed");
        goto done;
    }
    if (buf_append(out, txt, (size_t)len))
        rc = adt_fail(err, ADT_ETOOBIG, "the report exceeds %zu bytes", out->max);
    xmlFree(txt);
done:
    if (res)
        xmlFreeDoc(res);
    if (ctxt)
        xsltFreeTransformContext(ctxt);
    if (sec)
        xsltFreeSecurityPrefs(sec);
    if (ss)
        xsltFreeStylesheet(ss);
    xmlSetGenericErrorFunc(NULL, NULL);
    xsltSetGenericErrorFunc(NULL, NULL);
    return rc;
}

int reports_save_xml(xmlDocPtr doc, buf *out, adt_err *err)
{
    xmlChar *txt = NULL;
    int len = 0;
    xmlDocDumpFormatMemoryEnc(doc, &txt, &len, "UTF-8", 1);
    if (!txt)
        return adt_fail(err, ADT_ENOMEM, "serialising XML failed");
    int rc = buf_append(out, txt, (size_t)len);
    xmlFree(txt);
    return rc ? adt_fail(err, ADT_ETOOBIG, "the report exceeds %zu bytes", out->max) : ADT_OK;
}

int reports_save_json(const cJSON *j, buf *out, adt_err *err)
{
    char *s = cJSON_PrintBuffered(j, 1 << 16, 1);
    if (!s)
        return adt_fail(err, ADT_ENOMEM, "serialising JSON failed");
    int rc = buf_puts(out, s);
    if (!rc)
        rc = buf_putc(out, '\n');
    free(s);
    return rc ? adt_fail(err, ADT_ETOOBIG, "the report exceeds %zu bytes", out->max) : ADT_OK;
}

/* ---- issuing ------------------------------------------------------------------ */

static int load_defs(const report_opts *o, kpi_defs *defs, adt_err *err)
{
    return kpi_defs_for(o->data_dir, o->kpis_path, defs, err);
}

#define REPORTS_SOURCE "auditd:reports" /* the leaf `source` of what reports records */

/* Record `report.issued` through the evidence sink: the daemon's commit
 * queue when o->cq is set (so the commit listeners see it), else the ledger
 * of o->data_dir. */
static int record(const report_opts *o, const char *period, const report_issued *is,
                  uint64_t *index, adt_err *err)
{
    evsink sink = {.cq = o->cq, .data_dir = o->data_dir};
    evsink_event e;
    evsink_begin(&e, REPORTS_SOURCE, "report.issued", EVENT_WRITER_AUDITD,
                 o->actor && *o->actor ? o->actor : "auditd");
    evsink_at(&e, o->issued_us ? o->issued_us : rfc3339_now_us());
    evsink_str(&e, "period", period);
    evsink_str(&e, "format", report_format_name(o->format));
    evsink_str(&e, "sha256", is->sha256);
    evsink_uint(&e, "tree_size", is->tree_size);
    evsink_str(&e, "root", is->root);
    int rc = evsink_record(&sink, &e, 1, index, err);
    evsink_free(&e);
    return rc;
}

int reports_record(const report_opts *o, report_issued *issued, const char *period,
                   adt_err *err)
{
    rperiod per;
    int rc = rperiod_parse(period, &per, err);
    if (rc)
        return rc;
    rc = record(o, per.label, issued, &issued->index, err);
    if (!rc)
        issued->recorded = true;
    return rc;
}

struct report_set {
    rperiod per;
    kpi_defs defs;
    rdata *d;
    rdoc *v;
    char data_dir[4096];
};

int reports_compute(const report_opts *o, report_set **out, adt_err *err)
{
    *out = NULL;
    report_set *s = calloc(1, sizeof *s);
    if (!s)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    int rc = rperiod_parse(o->period, &s->per, err);
    if (rc) {
        free(s);
        return rc;
    }
    if (snprintf(s->data_dir, sizeof s->data_dir, "%s", o->data_dir) >= (int)sizeof s->data_dir) {
        free(s);
        return adt_fail(err, ADT_EINVAL, "data directory path too long");
    }
    rc = load_defs(o, &s->defs, err);
    if (rc) {
        free(s);
        return rc;
    }
    rdata_opts ro = {o->at_size, o->issued_us, o->skip_controls, false};
    rc = rdata_collect(o->data_dir, &s->per, &s->defs, &ro, &s->d, err);
    if (!rc)
        rc = rdoc_compute(s->d, &s->v, err);
    if (rc) {
        reports_set_free(s);
        return rc;
    }
    *out = s;
    return ADT_OK;
}

void reports_set_free(report_set *s)
{
    if (!s)
        return;
    rdoc_free(s->v);
    rdata_free(s->d);
    kpi_defs_free(&s->defs);
    free(s);
}

uint64_t reports_set_tree_size(const report_set *s)
{
    return s->d->tree_size;
}

int reports_render(report_set *s, report_format f, const char *template_path, buf *out,
                   report_issued *issued, adt_err *err)
{
    if ((unsigned)f > REPORT_XML)
        return adt_fail(err, ADT_EINVAL, "unknown report format");
    rdata *d = s->d;
    rdoc *v = s->v;
    size_t start = out->len;
    int rc = ADT_OK;
    switch (f) {
    case REPORT_JSON: {
        cJSON *j = rdoc_build_json(d, v);
        rc = j ? reports_save_json(j, out, err) : adt_fail(err, ADT_ENOMEM, "out of memory");
        cJSON_Delete(j);
        break;
    }
    case REPORT_CSV:
        if (rdoc_csv(d, v, out))
            rc = adt_fail(err, ADT_ETOOBIG, "the report exceeds %zu bytes", out->max);
        break;
    case REPORT_HTML:
    case REPORT_XML: {
        xmlDocPtr doc = rdoc_build_xml(d, v);
        rc = f == REPORT_XML ? reports_save_xml(doc, out, err) : render_html(doc, template_path, out, err);
        xmlFreeDoc(doc);
        break;
    }
    case REPORT_OSCAL_XML:
    case REPORT_OSCAL_JSON: {
        ledger *lg = NULL;
        rc = ledger_open(s->data_dir, LEDGER_RDONLY, &lg, err);
        if (rc)
            break;
        if (f == REPORT_OSCAL_XML) {
            xmlDocPtr doc = NULL;
            rc = oscal_build_xml(d, lg, &doc, err);
            if (!rc)
                rc = oscal_check_xml(doc, err);
            if (!rc)
                rc = reports_save_xml(doc, out, err);
            if (doc)
                xmlFreeDoc(doc);
        } else {
            cJSON *j = NULL;
            rc = oscal_build_json(d, lg, &j, err);
            if (!rc)
                rc = oscal_check_json(j, err);
            if (!rc)
                rc = reports_save_json(j, out, err);
            cJSON_Delete(j);
        }
        ledger_close(lg);
        break;
    }
    }
    if (rc) {
        out->len = start;
        if (out->data)
            out->data[start] = 0;
        return rc;
    }
    if (issued) {
        memset(issued, 0, sizeof *issued);
        uint8_t h[32];
        crypto_hash_sha256(h, (const unsigned char *)out->data + start, out->len - start);
        rdata_hex(h, 32, issued->sha256);
        rdata_hex(d->root, 32, issued->root);
        issued->tree_size = d->tree_size;
    }
    return ADT_OK;
}

int reports_generate(const report_opts *o, buf *out, report_issued *issued, adt_err *err)
{
    if ((unsigned)o->format > REPORT_XML)
        return adt_fail(err, ADT_EINVAL, "unknown report format");
    report_set *s = NULL;
    int rc = reports_compute(o, &s, err);
    if (rc)
        return rc;
    size_t start = out->len;
    report_issued is;
    rc = reports_render(s, o->format, o->template_path, out, &is, err);
    if (!rc && o->record) {
        rc = record(o, s->per.label, &is, &is.index, err);
        if (rc) {
            adt_err_prefix(err, "the report was produced but could not be recorded in the ledger");
            out->len = start;
            out->data[start] = 0;
        } else {
            is.recorded = true;
        }
    }
    if (!rc && issued)
        *issued = is;
    reports_set_free(s);
    return rc;
}

/* ---- HTTP --------------------------------------------------------------------- */

int reports_issue(const report_opts *o, api_response *resp)
{
    report_opts io = *o;
    io.record = true;
    adt_err err = {0};
    report_issued is;
    buf doc;
    buf_init(&doc, REPORT_MAX_BYTES);
    int rc = reports_generate(&io, &doc, &is, &err);
    if (rc) {
        buf_free(&doc);
        return api_error(resp, api_status_for(rc), adt_status_name(rc), "%s", err.msg);
    }
    buf *b = &resp->body;
    buf_reset(b);
    rc = buf_printf(b, "{\"recorded\":\"report.issued\",\"index\":%llu,\"period\":",
                    (unsigned long long)is.index);
    rc |= canon_put_string(b, io.period, strlen(io.period));
    rc |= buf_printf(b, ",\"format\":\"%s\",\"media_type\":", report_format_name(io.format));
    const char *mime = report_format_mime(io.format);
    rc |= canon_put_string(b, mime, strlen(mime));
    rc |= buf_printf(b, ",\"sha256\":\"%s\",\"tree_size\":%llu,\"root\":\"%s\",\"document\":",
                     is.sha256, (unsigned long long)is.tree_size, is.root);
    rc |= canon_put_string(b, doc.data ? doc.data : "", doc.len);
    rc |= buf_puts(b, "}\n");
    buf_free(&doc);
    if (rc) {
        /* Recorded but not deliverable: say so, with the record to find it. */
        buf_reset(b);
        return api_error(resp, 500, "internal", "report recorded at ledger index %llu (sha256 %s) "
                         "but the answer did not fit; fetch it again with GET at tree size %llu",
                         (unsigned long long)is.index, is.sha256,
                         (unsigned long long)is.tree_size);
    }
    resp->status = 201;
    resp->content_type = "application/json";
    return ADT_OK;
}

int reports_api(const char *data_dir, commitq *cq, const api_request *req, api_response *resp)
{
    static const char prefix[] = "/v1/reports/";
    if (req->path && !strncmp(req->path, "/v1/shipments/", 14))
        return ship_api(data_dir, req, resp);
    if (!req->path || strncmp(req->path, prefix, sizeof prefix - 1))
        return ADT_ENOTFOUND;
    const char *period = req->path + sizeof prefix - 1;
    bool issue = !strcmp(req->method, "POST");
    if (!issue && strcmp(req->method, "GET"))
        return api_error(resp, 405, "method_not_allowed", "use GET /v1/reports/{period}?format=... "
                         "to read a report, POST to issue (record) it");
    if (!api_role_may(req->role, API_NEED_READ))
        return api_error(resp, 403, "forbidden", "reports need an auditor or admin token");
    if (!*period || strchr(period, '/'))
        return api_error(resp, 404, "not_found",
                         "use /v1/reports/{period}, e.g. /v1/reports/2026-Q3");
    const char *fmt = api_param_get(req, "format");
    report_format f = REPORT_HTML;
    if (fmt && report_format_parse(fmt, &f))
        return api_error(resp, 400, "invalid",
                         "format must be html, json, csv, oscal-xml, oscal-json or xml");
    report_opts o = {0};
    o.data_dir = data_dir;
    o.cq = cq;
    o.period = period;
    o.format = f;
    o.record = false;
    o.actor = req->principal && *req->principal ? req->principal : "auditd";
    if (issue)
        return reports_issue(&o, resp);
    adt_err err = {0};
    buf_reset(&resp->body);
    int rc = reports_generate(&o, &resp->body, NULL, &err);
    if (rc) {
        buf_reset(&resp->body);
        return api_error(resp, api_status_for(rc), adt_status_name(rc), "%s", err.msg);
    }
    resp->status = 200;
    resp->content_type = report_format_mime(f);
    return ADT_OK;
}
