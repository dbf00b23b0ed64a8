/* eoscal.h: the enterprise report as OSCAL assessment results (XML and JSON,
 * OSCAL 1.1.2 element order, checked against the NIST schemas in tests).
 *
 * One `result` per site: each of the site's findings (control findings and
 * site.integrity) is an OSCAL finding (target the control's objective,
 * not-satisfied) with an open risk and an observation whose
 * relevant-evidence items cite the site's ledger entries: props ledger-index,
 * leaf-hash, tree-size and inclusion-proof (the RFC 6962 audit path, base64
 * hashes separated by commas, leaf first) in the auditd namespace, and a link
 * to the back-matter resource holding the site's checkpoint cosigned by the
 * centre (the note, base64). One more `result` is the enterprise roll-up:
 * the summed KPIs and posture as props. uuids are derived from the content
 * (version-4 format), so the same data gives the same document. */
#ifndef AUDITD_EOSCAL_H
#define AUDITD_EOSCAL_H

#include "edata.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <libxml/tree.h>

int eoscal_build_xml(const edata *d, xmlDocPtr *out, adt_err *err);
int eoscal_build_json(const edata *d, cJSON **out, adt_err *err);

#endif
