/* xsafe.h: bounded, offline XML parsing and XSD validation with libxml2, for
 * every XML file auditd reads from users (RACI policies, OSCAL catalogs).
 *
 * The parser never touches the network (XML_PARSE_NONET), loads no external
 * DTD, refuses any document with a DOCTYPE (so no entity can be declared,
 * let alone expanded), keeps libxml2's default depth and size limits (no
 * XML_PARSE_HUGE), and refuses inputs over the caller's size limit.
 * Problems are reported as "name:line: message". */
#ifndef AUDITD_XSAFE_H
#define AUDITD_XSAFE_H

#include "buf.h"
#include "status.h"

#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <stddef.h>

/* Called per problem (may be NULL); `line` 0 when unknown. */
typedef void (*xsafe_diag_fn)(void *ctx, const char *name, long line, const char *msg);

/* Parse `data[0..len)`. On failure ADT_EINVAL with the first problem in `err`
 * ("name:line: message"); every problem also goes to `diag`. The caller frees
 * *out with xmlFreeDoc. */
int xsafe_parse(const char *data, size_t len, const char *name, xsafe_diag_fn diag, void *dctx,
                xmlDocPtr *out, adt_err *err);

/* Compile a schema from memory or from a file (a file may include/import
 * others beside it; still offline). Free with xmlSchemaFree. */
int xsafe_schema_mem(const char *xsd, size_t len, xmlSchemaPtr *out, adt_err *err);
int xsafe_schema_file(const char *path, xmlSchemaPtr *out, adt_err *err);

/* Validate `doc` against `schema`; every problem goes to `diag` as
 * "name:line: message"; returns ADT_EINVAL with the first one and the count. */
int xsafe_validate(xmlDocPtr doc, xmlSchemaPtr schema, const char *name, xsafe_diag_fn diag,
                   void *dctx, adt_err *err);

/* The value of attribute `attr` of `node` (no namespace) as a malloc'd string,
 * or NULL. The caller frees it with xmlFree. */
char *xsafe_attr(xmlNodePtr node, const char *attr);

/* True if `node` is an element named `local` in namespace `ns` (ns NULL: any). */
int xsafe_is(xmlNodePtr node, const char *ns, const char *local);

#endif
