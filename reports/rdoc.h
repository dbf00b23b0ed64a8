/* rdoc.h: a report's computed content, from its gathered data (rdata.h).
 *
 * rdoc_compute turns the windows' raw inputs into per-KPI results: the
 * value of the period, of the previous period and of the baseline (measured
 * in the baseline period of the KPI definitions, else the stated baseline),
 * the weekly values, the change against each, what the change was worth
 * where kpis.json gives unit costs, and the executive summary's sentences.
 * From those come the three documents the formats are made of:
 *   rdoc_build_xml   the report document (root <report>, docs/reports.md),
 *                    input of the HTML template and of `--format xml`
 *   rdoc_build_json  the KPI data (`--format json`, format
 *                    "auditd-report-kpis/2", docs/reports.md): typed, every
 *                    KPI with its numerator, denominator and evidence
 *   rdoc_csv         one row per KPI (RFC 4180)
 * All are pure functions of the rdata and the definitions: the same data
 * gives the same bytes. */
#ifndef AUDITD_RDOC_H
#define AUDITD_RDOC_H

#include "buf.h"
#include "rdata.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <libxml/tree.h>

typedef struct rdoc rdoc;

/* Compute every KPI of d->defs over d's windows. OUT: *out (rdoc_free). */
int rdoc_compute(const rdata *d, rdoc **out, adt_err *err);
void rdoc_free(rdoc *r);

/* The report document. May reorder d's findings and incidents lists. */
xmlDocPtr rdoc_build_xml(rdata *d, const rdoc *r);
/* The KPI data document. */
cJSON *rdoc_build_json(const rdata *d, const rdoc *r);
/* The KPI table as CSV appended to out (ADT_ETOOBIG past out->max). */
int rdoc_csv(const rdata *d, const rdoc *r, buf *out);

#endif
