/* oscal.h: OSCAL assessment results from a report's data.
 *
 * One `result` per report period; one `finding` per evaluated control
 * (satisfied / not-satisfied; controls without evidence are listed in
 * reviewed-controls and counted in a result prop, but get no finding); one
 * `observation` per control with evidence, whose `relevant-evidence` items
 * cite ledger entries by index and RFC 6962 leaf hash (props in the auditd
 * namespace OSCAL_AUDITD_NS) and link to the signed checkpoint they are proven
 * against, carried in back-matter as a resource (the note, base64).
 *
 * UUIDs are deterministic: version-4 format (the version and variant bits
 * set) over the first 16 bytes of SHA-256("auditd-oscal-v1" | origin | period |
 * tree size | root | kind | key), so the same checkpoint gives the same
 * document. They are unique within a document because every (kind, key) is.
 *
 * XML follows the OSCAL assessment-results schema (checked against the XSD in
 * tests); JSON follows the OSCAL 1.2.1 JSON schema's structure. Both are then
 * checked for what a schema cannot: unique uuids and resolving references. */
#ifndef AUDITD_OSCAL_H
#define AUDITD_OSCAL_H

#include "ledger.h"
#include "rdata.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <libxml/tree.h>

#define OSCAL_NS "http://csrc.nist.gov/ns/oscal/1.0"
#define OSCAL_AUDITD_NS "https://auditd.dev/ns/oscal"
#define OSCAL_VERSION "1.1.2"
#define OSCAL_MAX_EVIDENCE 20 /* ledger entries cited per control */

/* Build the document. `lg` (read-only is enough) supplies leaf hashes.
 * OUT: *out (xmlFreeDoc / cJSON_Delete). */
/* OSCAL XML building blocks, shared with the enterprise OSCAL (central):
 * a child element with text (NULL: empty), an attribute, a description-like
 * element holding one <p>, and an auditd <prop name ns value>. */
xmlNodePtr oscal_xel(xmlNodePtr p, xmlNsPtr ns, const char *name, const char *text);
void oscal_xattr(xmlNodePtr n, const char *name, const char *v);
xmlNodePtr oscal_xdesc(xmlNodePtr p, xmlNsPtr ns, const char *name, const char *text);
void oscal_xprop(xmlNodePtr p, xmlNsPtr ns, const char *name, const char *value);

int oscal_build_xml(const rdata *d, ledger *lg, xmlDocPtr *out, adt_err *err);
int oscal_build_json(const rdata *d, ledger *lg, cJSON **out, adt_err *err);

/* Every uuid attribute / member unique; every related-observation,
 * associated-risk / related-risks uuid and every "#uuid" href resolves. */
int oscal_check_xml(xmlDocPtr doc, adt_err *err);
int oscal_check_json(const cJSON *doc, adt_err *err);

/* The deterministic uuid for (kind, key) in `d` into out[37]. */
void oscal_uuid(const rdata *d, const char *kind, const char *key, char out[37]);

/* The version-4 (RFC 4122) uuid text of the first 16 bytes of a SHA-256
 * (its version and variant bits are set in h). For the central tier's
 * enterprise OSCAL too. */
void oscal_uuid_of_hash(uint8_t h[32], char out[37]);

/* A token for OSCAL ids from `s`: letters, digits, '.', '-', '_' (others
 * become '_'; a leading '_' if it does not start with a letter), at most
 * cap-1 characters. */
void oscal_token(const char *s, char *out, size_t cap);

#endif
