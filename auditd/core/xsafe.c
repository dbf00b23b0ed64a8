/* xsafe.c: see xsafe.h. */
#include "xsafe.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlerror.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Problems gathered during one libxml2 call. */
typedef struct xsafe_collect {
    const char *name;
    xsafe_diag_fn diag;
    void *dctx;
    adt_err *err;
    size_t count;
} xsafe_collect;

/* Record one problem: the first goes to err, every one to diag. */
static void collect_add(xsafe_collect *c, long line, const char *msg)
{
    char clean[ADT_ERR_MAX];
    size_t n = 0;
    /* libxml2 messages end in a newline and may hold control bytes. */
    for (const char *p = msg ? msg : "unknown error"; *p && n + 1 < sizeof clean; p++)
        clean[n++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
    while (n > 0 && clean[n - 1] == ' ')
        n--;
    clean[n] = '\0';
    if (c->count == 0 && c->err) {
        if (line > 0)
            adt_fail(c->err, ADT_EINVAL, "%s:%ld: %s", c->name, line, clean);
        else
            adt_fail(c->err, ADT_EINVAL, "%s: %s", c->name, clean);
    }
    c->count++;
    if (c->diag)
        c->diag(c->dctx, c->name, line, clean);
}

static void collect_structured(void *ctx, xmlErrorPtr e)
{
    xsafe_collect *c = ctx;
    if (!e || e->level < XML_ERR_ERROR)
        return;
    collect_add(c, e->line, e->message);
}

/* Append ", and N more problems" to the first message when there are more. */
static void collect_finish(xsafe_collect *c)
{
    if (c->count > 1 && c->err) {
        size_t n = strlen(c->err->msg);
        snprintf(c->err->msg + n, sizeof c->err->msg - n, " (and %zu more problems)",
                 c->count - 1);
    }
}

/* The line of byte offset `off` in data (1-based). */
static long line_of(const char *data, size_t off)
{
    long line = 1;
    for (size_t i = 0; i < off; i++)
        if (data[i] == '\n')
            line++;
    return line;
}

/* Find a DOCTYPE declaration before the root element. Returns its offset or
 * (size_t)-1. A DOCTYPE can only appear in the prolog, so scanning stops at
 * the first "<" followed by a name start character. */
static size_t find_doctype(const char *data, size_t len)
{
    static const char tok[] = "<!DOCTYPE";
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '<' || i + 1 >= len)
            continue;
        char c = data[i + 1];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' ||
            (unsigned char)c >= 0x80)
            return (size_t)-1;
        if (len - i >= sizeof tok - 1 && memcmp(data + i, tok, sizeof tok - 1) == 0)
            return i;
    }
    return (size_t)-1;
}

int xsafe_parse(const char *data, size_t len, const char *name, xsafe_diag_fn diag, void *dctx,
                xmlDocPtr *out, adt_err *err)
{
    *out = NULL;
    xsafe_collect c = {name, diag, dctx, err, 0};
    if (len > INT_MAX)
        return adt_fail(err, ADT_ETOOBIG, "%s: too large for the XML parser", name);
    if (len == 0) {
        collect_add(&c, 0, "empty document: expected XML");
        return ADT_EINVAL;
    }
    size_t dt = find_doctype(data, len);
    if (dt != (size_t)-1) {
        collect_add(&c, line_of(data, dt),
                    "a DOCTYPE is not allowed (no DTDs or entities): remove it");
        return ADT_EINVAL;
    }
    xmlInitParser();
    void *old_ctx = xmlStructuredErrorContext;
    xmlStructuredErrorFunc old_fn = xmlStructuredError;
    xmlSetStructuredErrorFunc(&c, collect_structured);
    xmlDocPtr doc = xmlReadMemory(data, (int)len, name, NULL,
                                  XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOWARNING);
    xmlSetStructuredErrorFunc(old_ctx, old_fn);
    if (!doc || c.count > 0) {
        if (c.count == 0)
            collect_add(&c, 0, "not well-formed XML");
        xmlFreeDoc(doc);
        collect_finish(&c);
        return ADT_EINVAL;
    }
    if (doc->intSubset || doc->extSubset) {
        collect_add(&c, 1, "a DOCTYPE is not allowed (no DTDs or entities): remove it");
        xmlFreeDoc(doc);
        return ADT_EINVAL;
    }
    if (!xmlDocGetRootElement(doc)) {
        collect_add(&c, 0, "no root element");
        xmlFreeDoc(doc);
        return ADT_EINVAL;
    }
    *out = doc;
    return ADT_OK;
}

/* Compile the schema of parser `pc` (freed here), problems reported
 * through `c`. */
static int compile_schema(xmlSchemaParserCtxtPtr pc, xsafe_collect *c, xmlSchemaPtr *out)
{
    if (!pc)
        return adt_fail(c->err, ADT_ENOMEM, "cannot create a schema parser");
    xmlSchemaSetParserStructuredErrors(pc, collect_structured, c);
    *out = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    if (*out)
        return ADT_OK;
    if (c->count == 0)
        adt_fail(c->err, ADT_EINVAL, "%s: not a usable XML schema", c->name);
    return ADT_EINVAL;
}

int xsafe_schema_mem(const char *xsd, size_t len, xmlSchemaPtr *out, adt_err *err)
{
    *out = NULL;
    xsafe_collect c = {"schema", NULL, NULL, err, 0};
    if (len > INT_MAX)
        return adt_fail(err, ADT_ETOOBIG, "schema too large");
    xmlInitParser();
    return compile_schema(xmlSchemaNewMemParserCtxt(xsd, (int)len), &c, out);
}

int xsafe_schema_file(const char *path, xmlSchemaPtr *out, adt_err *err)
{
    *out = NULL;
    xsafe_collect c = {path, NULL, NULL, err, 0};
    xmlInitParser();
    FILE *f = fopen(path, "rb");
    if (!f)
        return adt_fail(err, errno == ENOENT ? ADT_ENOTFOUND : ADT_EIO,
                        "%s: cannot open the schema: %s", path, strerror(errno));
    fclose(f);
    /* Schemas may include others: those are loaded, but never over the network. */
    xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
    int rc = compile_schema(xmlSchemaNewParserCtxt(path), &c, out);
    if (rc == ADT_EINVAL && c.count)
        adt_err_prefix(err, "schema ");
    return rc;
}

int xsafe_validate(xmlDocPtr doc, xmlSchemaPtr schema, const char *name, xsafe_diag_fn diag,
                   void *dctx, adt_err *err)
{
    xsafe_collect c = {name, diag, dctx, err, 0};
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    if (!vc)
        return adt_fail(err, ADT_ENOMEM, "cannot create a schema validator");
    xmlSchemaSetValidStructuredErrors(vc, collect_structured, &c);
    int r = xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    if (r != 0) {
        if (c.count == 0)
            collect_add(&c, 0, r < 0 ? "schema validation failed (internal error)"
                                     : "does not conform to the schema");
        collect_finish(&c);
        return ADT_EINVAL;
    }
    return ADT_OK;
}

char *xsafe_attr(xmlNodePtr node, const char *attr)
{
    return (char *)xmlGetNoNsProp(node, (const xmlChar *)attr);
}

int xsafe_is(xmlNodePtr node, const char *ns, const char *local)
{
    if (!node || node->type != XML_ELEMENT_NODE || strcmp((const char *)node->name, local) != 0)
        return 0;
    if (!ns)
        return 1;
    return node->ns && node->ns->href && strcmp((const char *)node->ns->href, ns) == 0;
}
