/* reports.h: quarterly value reports and OSCAL assessment results.
 *
 * A report is computed at one signed checkpoint of the ledger (the latest,
 * unless asked otherwise): the KPIs of reports/kpis.json (see kpi.h), the
 * control evaluation, incidents, the model inventory, data quality and drift,
 * and a ledger integrity statement. Its data is first an XML document
 * (namespace-free, root <report>, see docs/reports.md), from which come:
 *   html        the steering-committee report (XSLT: templates/report-html.xsl,
 *               or a user template)
 *   json, csv   the KPI table
 *   oscal-xml, oscal-json   OSCAL assessment results (oscal.h)
 *   xml         the report data document itself
 * Every issued report is recorded in the ledger as a `report.issued` event
 * (period, format, SHA-256 of the bytes, the checkpoint's tree size and root).
 *
 * Output for a given checkpoint and input files is byte-for-byte reproducible:
 * the report's date is the `recorded_at` of the checkpoint's last entry and
 * the OSCAL uuids are derived from the content (see oscal.h). */
#ifndef AUDITD_REPORTS_H
#define AUDITD_REPORTS_H

#include "api.h"
#include "buf.h"
#include "commitq.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum report_format {
    REPORT_HTML = 0,
    REPORT_JSON,
    REPORT_CSV,
    REPORT_OSCAL_XML,
    REPORT_OSCAL_JSON,
    REPORT_XML
} report_format;

/* "html" | "json" | "csv" | "oscal-xml" | "oscal-json" | "xml" -> format. */
int report_format_parse(const char *s, report_format *out);
const char *report_format_name(report_format f);
const char *report_format_mime(report_format f);
/* A file name extension without the dot ("html", "oscal.xml"...). */
const char *report_format_ext(report_format f);

#define REPORT_MAX_BYTES (32u << 20) /* no report is larger; HTML stays far below 2 MiB */

typedef struct report_opts {
    const char *data_dir;
    const char *period;        /* "2026-Q3", "2026-07", "2026-07-01..2026-09-30" */
    report_format format;
    const char *template_path; /* HTML template; NULL = the built-in one */
    const char *kpis_path;     /* NULL = <data_dir>/kpis.json if present, else built-in */
    uint64_t at_size;          /* 0 = the latest checkpoint */
    bool record;               /* record `report.issued` (through evsink) */
    commitq *cq;               /* the daemon's commit queue, which report.issued then goes
                                  through to the ledger and its listeners; NULL = the
                                  ledger of data_dir, opened for the append */
    const char *actor;         /* who issued it (event `actor`); NULL = "auditd" */
    int64_t issued_us;         /* the report's date and the time of its report.issued event;
                                  0 = the checkpoint's last recorded_at (date) and now (event) */
    bool skip_controls;        /* for tests and benchmarks */
} report_opts;

/* What was issued. */
typedef struct report_issued {
    char sha256[65];           /* of the output bytes */
    uint64_t tree_size;        /* the checkpoint the report was computed at */
    char root[65];             /* its root, lowercase hex */
    bool recorded;
    uint64_t index;            /* ledger index of the report.issued entry */
} report_issued;

/* Produce the report into `out` (appended; bounded by out->max) and, if
 * o->record, record it. OUT: issued (may be NULL). */
int reports_generate(const report_opts *o, buf *out, report_issued *issued, adt_err *err);

/* The same in two steps, for several formats from one computation (the data
 * gathered once, at one checkpoint): reports_compute reads everything for
 * o->period (o->format, o->record and o->template_path are not used), then
 * reports_render writes format `f` into `out` and fills `issued` (sha256,
 * tree size, root; not recorded). OUT: *out (reports_set_free). */
typedef struct report_set report_set;
int reports_compute(const report_opts *o, report_set **out, adt_err *err);
int reports_render(report_set *s, report_format f, const char *template_path, buf *out,
                   report_issued *issued, adt_err *err);
uint64_t reports_set_tree_size(const report_set *s);
void reports_set_free(report_set *s);

/* Record an already produced report (o->data_dir, o->format, o->actor; the
 * period, hash, tree size and root from `issued`) as `report.issued`; sets
 * issued->recorded and ->index. For callers that must store the bytes first
 * (the CLI writes the file, then records, and removes the file on failure). */
int reports_record(const report_opts *o, report_issued *issued, const char *period,
                   adt_err *err);

/* Issue a report: produce it with o->record set, record it as
 * `report.issued`, and answer 201 with the JSON object {recorded:
 * "report.issued", index, period, format, media_type, sha256, tree_size,
 * root, document}, `document` being the exact text whose SHA-256 was
 * recorded (every format is UTF-8 text), so the ledger never names a report
 * nobody received. Errors fill `resp` (4xx/5xx); nothing is recorded then.
 * Returns ADT_OK when `resp` was filled. */
int reports_issue(const report_opts *o, api_response *resp);

/* /v1/reports/{period}?format=html|json|csv|oscal-xml|oscal-json|xml
 * (auditor or admin):
 *   GET  computes the report at the latest checkpoint and answers it with
 *        its media type; it records nothing (a GET changes no state), so it
 *        is a draft of what issuing would record;
 *   POST issues it (reports_issue, actor = the caller).
 * Returns ADT_OK when `resp` was filled (also for 4xx), ADT_ENOTFOUND if the
 * path is not /v1/reports/... `cq`: the daemon's commit queue, which an
 * issued report's report.issued goes through (NULL: the ledger of data_dir). */
int reports_api(const char *data_dir, commitq *cq, const api_request *req, api_response *resp);

/* A document serialised into out (bounded by out->max): XML indented, in
 * UTF-8; JSON indented, with a final newline. ADT_ETOOBIG over the bound. */
int reports_save_xml(xmlDocPtr doc, buf *out, adt_err *err);
int reports_save_json(const cJSON *j, buf *out, adt_err *err);

/* The built-in HTML template (embedded at build time; the KPI definitions:
 * kpi_builtin_defs in kpi.h). */
const char *reports_builtin_template(void);
/* The enterprise report's template (templates/enterprise-html.xsl), for the
 * central tier (central/ereport.h). */
const char *reports_builtin_enterprise_template(void);

/* Apply an XSLT stylesheet to `xml_doc` (an xmlDocPtr) in the same sandbox
 * as the report's (no file or network access): `template_path` if given,
 * else the built-in text `builtin` (named `builtin_name` in messages).
 * The HTML is appended to `out`. */
int reports_xslt_html(const void *xml_doc, const char *template_path, const char *builtin,
                      const char *builtin_name, buf *out, adt_err *err);

#endif
