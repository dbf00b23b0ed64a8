/* ereport.h: the enterprise report (docs/central.md, "Enterprise reports";
 * `auditd report --scope enterprise`), computed at the centre from what the
 * sites shipped and the centre proved.
 *
 * For a period, per registered site: its latest `kpi-inputs` and `controls`
 * batches for that period (cship.h: each fetched only because its digest is
 * in the site's mirrored, proven ledger), the newest checkpoint of the site
 * that the centre cosigned as its witness and whose entries are all mirrored,
 * and the site's integrity alerts. From those:
 *  - KPIs per site and in total: totals are computed from the sums of the
 *    sites' numerators and denominators (kpi_inputs_add), never as averages
 *    of ratios; each site against its own baseline period, the enterprise
 *    against the sum of the sites' baselines;
 *  - compliance posture per site and framework, and summed;
 *  - findings with owners: the sites' control findings, and a
 *    `site.integrity` finding for each alert of the witness or the mirror.
 *    Every finding cites site ledger entries (the batch's site.shipment entry,
 *    and the entry the finding is about when there is one) with RFC 6962
 *    inclusion proofs (cproof.h) against that cosigned checkpoint, which the
 *    report carries (the site's signature and the centre's cosignature), so
 *    anyone can check a finding with RFC 6962 and the C2SP texts alone.
 * Formats: html (templates/enterprise-html.xsl), json
 * ("auditd-enterprise-report/1"), csv, oscal-xml and oscal-json (OSCAL
 * assessment results: one result per site and one for the enterprise roll-up),
 * xml (the document the template reads). Nothing is written to the database. */
#ifndef AUDITD_EREPORT_H
#define AUDITD_EREPORT_H

#include "buf.h"
#include "reports.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EREPORT_FORMAT "auditd-enterprise-report/1"

typedef struct ereport_opts {
    const char *conninfo;
    const char *period;     /* as the sites shipped it: "2026-Q3", a month or a range */
    const char *kpis_path;  /* KPI definitions (names, units, targets); NULL = built-in */
    int64_t issued_us;      /* the report's date; 0 = now */
} ereport_opts;

typedef struct ereport ereport;

int ereport_compute(const ereport_opts *o, ereport **out, adt_err *err);
/* Render one format into `out` (appended; bounded by out->max). */
int ereport_render(ereport *r, report_format f, const char *template_path, buf *out,
                   adt_err *err);
void ereport_free(ereport *r);

/* Counts for the CLI's summary line. */
typedef struct ereport_summary {
    int sites, sites_with_data;
    size_t findings, integrity_findings, citations;
    bool all_cosigned;
} ereport_summary;
void ereport_get_summary(const ereport *r, ereport_summary *out);

/* The parser of a shipped batch's bytes (kind "kpi-inputs" or "controls",
 * format "auditd-shipment/1"): strict and bounded; exposed for the fuzz
 * target. Returns ADT_OK when the batch is well formed. */
int ereport_check_shipment(const char *body, size_t len, adt_err *err);

#endif
