/* catalog.c: the control store (catalog.h): SQLite schema, seeding, id
 * normalisation, lookups, and the OSCAL, crosswalk and SoA importers. */
#include "catalog.h"
#include "buf.h"
#include "afile.h"
#include "sqldb.h"
#include "xsafe.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <libxml/tree.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define OSCAL_NS "http://csrc.nist.gov/ns/oscal/1.0"
#define CSV_MAX_FIELDS 16
#define CSV_MAX_FIELD 4096

/* The files in controls/data/, compiled in by auditd/core/embed.cmake (controls/CMakeLists.txt). */
extern const unsigned char catalog_data_nist[], catalog_data_iso[], catalog_data_crosswalk[],
    catalog_data_soa[];
extern const unsigned long catalog_data_nist_len, catalog_data_iso_len,
    catalog_data_crosswalk_len, catalog_data_soa_len;

struct catalog {
    sqlite3 *db;
    sqlite3_stmt *lookup; /* cached: the hot path for the rules */
};

/* The in-scope expression for a row `c` of table control. Withdrawn controls
 * are never in scope; with no scope row a framework is wholly in scope. */
#define IN_SCOPE_SQL                                                                     \
    "(c.withdrawn = 0 AND CASE COALESCE((SELECT mode FROM scope s WHERE "              \
    "s.framework = c.framework), 'all') "                                              \
    "WHEN 'all' THEN 1 "                                                               \
    "WHEN 'baseline' THEN EXISTS(SELECT 1 FROM baseline b WHERE b.framework = "        \
    "c.framework AND b.id = c.id AND b.name = (SELECT name FROM scope s WHERE "        \
    "s.framework = c.framework)) "                                                     \
    "WHEN 'soa' THEN COALESCE((SELECT applicable FROM soa a WHERE a.id = c.id), 0) "   \
    "ELSE 0 END)"

#define SELECT_CONTROL_SQL                                                               \
    "SELECT c.framework, c.id, c.label, c.title, c.theme, c.withdrawn, " IN_SCOPE_SQL  \
    ", COALESCE((SELECT justification FROM soa a WHERE a.id = c.id AND c.framework = " \
    "'iso27001'), '') FROM control c "

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS control(framework TEXT NOT NULL, id TEXT NOT NULL,"
    " label TEXT NOT NULL, title TEXT NOT NULL, theme TEXT NOT NULL DEFAULT '',"
    " withdrawn INTEGER NOT NULL DEFAULT 0, sort TEXT NOT NULL, source TEXT NOT NULL,"
    " PRIMARY KEY(framework, id));"
    "CREATE TABLE IF NOT EXISTS baseline(name TEXT NOT NULL, framework TEXT NOT NULL,"
    " id TEXT NOT NULL, source TEXT NOT NULL, PRIMARY KEY(name, framework, id));"
    "CREATE TABLE IF NOT EXISTS crosswalk(nist_id TEXT NOT NULL, iso_id TEXT NOT NULL,"
    " source TEXT NOT NULL, PRIMARY KEY(nist_id, iso_id));"
    "CREATE INDEX IF NOT EXISTS crosswalk_iso ON crosswalk(iso_id);"
    "CREATE TABLE IF NOT EXISTS scope(framework TEXT PRIMARY KEY, mode TEXT NOT NULL,"
    " name TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS soa(id TEXT PRIMARY KEY, applicable INTEGER NOT NULL,"
    " justification TEXT NOT NULL);";

/* ---- Ids ------------------------------------------------------------------- */

/* Parse 1..4 decimal digits (leading zeros allowed) at *p into 1..9999. */
static bool take_num(const char **p, int *out)
{
    const char *q = *p;
    int v = 0, nd = 0;
    while (*q >= '0' && *q <= '9') {
        if (++nd > 6)
            return false;
        v = v * 10 + (*q - '0');
        q++;
    }
    if (nd == 0 || v < 1 || v > 9999)
        return false;
    *p = q;
    *out = v;
    return true;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

int catalog_normalize_id(const char *in, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    if (!in)
        return ADT_EINVAL;
    const char *p = skip_ws(in);
    int a, b = 0;
    int n;
    if (isalpha((unsigned char)p[0]) && isalpha((unsigned char)p[1])) {
        /* NIST: FF-N, FF-N(E), FF-N.E; separator '-' or ' '. */
        char f0 = (char)tolower((unsigned char)p[0]), f1 = (char)tolower((unsigned char)p[1]);
        p += 2;
        if (*p != '-' && *p != ' ')
            return ADT_EINVAL;
        p = skip_ws(p + 1);
        if (!take_num(&p, &a))
            return ADT_EINVAL;
        p = skip_ws(p);
        if (*p == '(') {
            p = skip_ws(p + 1);
            if (!take_num(&p, &b))
                return ADT_EINVAL;
            p = skip_ws(p);
            if (*p != ')')
                return ADT_EINVAL;
            p++;
        } else if (*p == '.') {
            p++;
            if (!take_num(&p, &b))
                return ADT_EINVAL;
        }
        if (*skip_ws(p))
            return ADT_EINVAL;
        n = b ? snprintf(out, cap, "%c%c-%d.%d", f0, f1, a, b)
              : snprintf(out, cap, "%c%c-%d", f0, f1, a);
    } else {
        /* ISO/IEC 27001:2022 Annex A: [A.]C.N with clause C in 5..8. */
        if ((p[0] == 'A' || p[0] == 'a') && p[1] == '.')
            p += 2;
        if (!take_num(&p, &a) || a < 5 || a > 8 || *p != '.')
            return ADT_EINVAL;
        p++;
        if (!take_num(&p, &b) || b > 99 || *skip_ws(p))
            return ADT_EINVAL;
        n = snprintf(out, cap, "A.%d.%d", a, b);
    }
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = '\0';
        return ADT_ENOMEM;
    }
    return ADT_OK;
}

const char *catalog_framework_of(const char *id)
{
    char tmp[CATALOG_ID_MAX];
    if (catalog_normalize_id(id, tmp, sizeof tmp) != ADT_OK)
        return NULL;
    return tmp[0] == 'A' ? CATALOG_ISO : CATALOG_NIST;
}

int catalog_label(const char *id, char *out, size_t cap)
{
    char norm[CATALOG_ID_MAX];
    if (catalog_normalize_id(id, norm, sizeof norm) != ADT_OK || strcmp(norm, id))
        return ADT_EINVAL;
    int n;
    if (norm[0] == 'A') {
        n = snprintf(out, cap, "%s", norm);
    } else {
        const char *dot = strchr(norm, '.');
        if (dot)
            n = snprintf(out, cap, "%c%c%.*s(%s)", toupper((unsigned char)norm[0]),
                         toupper((unsigned char)norm[1]), (int)(dot - norm - 2), norm + 2,
                         dot + 1);
        else
            n = snprintf(out, cap, "%c%c%s", toupper((unsigned char)norm[0]),
                         toupper((unsigned char)norm[1]), norm + 2);
    }
    return n < 0 || (size_t)n >= cap ? ADT_ENOMEM : ADT_OK;
}

/* A sort key that orders ids numerically: "ac-0002.0001", "A.05.001". */
static void sort_key(const char *id, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = id; *p && o + 1 < cap;) {
        if (*p >= '0' && *p <= '9') {
            const char *q = p;
            while (*q >= '0' && *q <= '9')
                q++;
            size_t nd = (size_t)(q - p);
            for (size_t z = nd; z < 6 && o + 1 < cap; z++)
                out[o++] = '0';
            for (; p < q && o + 1 < cap; p++)
                out[o++] = *p;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

/* Normalise an id for `framework`: the NIST/ISO forms for those frameworks;
 * for another framework's catalog, the id as written if it is a plain token. */
static int norm_for(const char *framework, const char *in, char *out, size_t cap)
{
    if (!strcmp(framework, CATALOG_NIST) || !strcmp(framework, CATALOG_ISO)) {
        if (catalog_normalize_id(in, out, cap) != ADT_OK)
            return ADT_EINVAL;
        bool iso = out[0] == 'A';
        return iso == !strcmp(framework, CATALOG_ISO) ? ADT_OK : ADT_EINVAL;
    }
    size_t n = strlen(in);
    if (n == 0 || n >= cap)
        return ADT_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)in[i]) && in[i] != '.' && in[i] != '-' && in[i] != '_')
            return ADT_EINVAL;
    memcpy(out, in, n + 1);
    return ADT_OK;
}

/* ---- SQLite helpers ---------------------------------------------------------- */

/* Commit if rc is ADT_OK, else roll back; returns rc (or the commit's failure). */
static int finish(catalog *c, int rc, adt_err *err)
{
    if (rc == ADT_OK)
        return sqldb_commit(c->db, err);
    sqldb_rollback(c->db);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* ---- CSV (RFC 4180) ------------------------------------------------------------ */

typedef struct csv_reader {
    const char *p, *end;
    long line;        /* line of the next record */
    long rec_line;    /* line where the last record started */
    char *fields[CSV_MAX_FIELDS];
    size_t nf;
    buf store;        /* the last record's fields, NUL-separated */
} csv_reader;

static void csv_init(csv_reader *r, const char *data, size_t len)
{
    memset(r, 0, sizeof *r);
    r->p = data;
    r->end = data + len;
    r->line = 1;
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
        r->p += 3;
    buf_init(&r->store, CSV_MAX_FIELDS * (CSV_MAX_FIELD + 1));
}

/* Read the next record. Returns 1 (a record), 0 (end) or -1 (error in err,
 * "name:line: ..."). Blank lines are skipped. */
static int csv_next(csv_reader *r, const char *name, adt_err *err)
{
    while (r->p < r->end && (*r->p == '\n' || *r->p == '\r')) {
        if (*r->p == '\n')
            r->line++;
        r->p++;
    }
    if (r->p >= r->end)
        return 0;
    r->rec_line = r->line;
    buf_reset(&r->store);
    size_t starts[CSV_MAX_FIELDS];
    r->nf = 0;
    for (;;) {
        if (r->nf == CSV_MAX_FIELDS) {
            adt_fail(err, ADT_EINVAL, "%s:%ld: more than %d fields", name, r->rec_line,
                     CSV_MAX_FIELDS);
            return -1;
        }
        starts[r->nf] = r->store.len;
        size_t flen = 0;
        if (r->p < r->end && *r->p == '"') {
            r->p++;
            for (;;) {
                if (r->p >= r->end) {
                    adt_fail(err, ADT_EINVAL, "%s:%ld: unterminated quoted field", name,
                             r->rec_line);
                    return -1;
                }
                char ch = *r->p++;
                if (ch == '"') {
                    if (r->p < r->end && *r->p == '"')
                        r->p++;
                    else
                        break;
                }
                if (ch == '\n')
                    r->line++;
                if (++flen > CSV_MAX_FIELD || buf_putc(&r->store, ch) != ADT_OK) {
                    adt_fail(err, ADT_ETOOBIG, "%s:%ld: field over %d bytes", name, r->rec_line,
                             CSV_MAX_FIELD);
                    return -1;
                }
            }
            if (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r') {
                adt_fail(err, ADT_EINVAL, "%s:%ld: text after a closing quote", name,
                         r->rec_line);
                return -1;
            }
        } else {
            while (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r') {
                if (*r->p == '"') {
                    adt_fail(err, ADT_EINVAL, "%s:%ld: a quote inside an unquoted field", name,
                             r->rec_line);
                    return -1;
                }
                if (++flen > CSV_MAX_FIELD || buf_putc(&r->store, *r->p) != ADT_OK) {
                    adt_fail(err, ADT_ETOOBIG, "%s:%ld: field over %d bytes", name, r->rec_line,
                             CSV_MAX_FIELD);
                    return -1;
                }
                r->p++;
            }
        }
        if (buf_putc(&r->store, '\0') != ADT_OK) {
            adt_fail(err, ADT_ETOOBIG, "%s:%ld: record too long", name, r->rec_line);
            return -1;
        }
        r->nf++;
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        break;
    }
    if (r->p < r->end && *r->p == '\r')
        r->p++;
    if (r->p < r->end && *r->p == '\n') {
        r->p++;
        r->line++;
    }
    for (size_t i = 0; i < r->nf; i++)
        r->fields[i] = r->store.data + starts[i];
    return 1;
}

static void csv_free(csv_reader *r)
{
    buf_free(&r->store);
}

/* What an importer does with one record; `first` marks the first record of
 * the text (its header, or data where the header is optional). */
typedef int (*csv_record_fn)(void *ctx, csv_reader *r, bool first, adt_err *err);

/* Hand every record of `data` to fn, stopping at its first failure or at a
 * malformed record. OUT *records: how many records were read. */
static int csv_each(const char *data, size_t len, const char *name, csv_record_fn fn, void *ctx,
                    size_t *records, adt_err *err)
{
    csv_reader r;
    csv_init(&r, data, len);
    int rc = ADT_OK, got = 0;
    size_t n = 0;
    while (rc == ADT_OK && (got = csv_next(&r, name, err)) == 1)
        rc = fn(ctx, &r, n++ == 0, err);
    if (got < 0)
        rc = err->code ? err->code : ADT_EINVAL;
    csv_free(&r);
    *records = n;
    return rc;
}

/* Trim spaces in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* ---- Importers ------------------------------------------------------------------ */

static bool utf8_ok(const char *s)
{
    /* libxml2 and cJSON hand us UTF-8; CSV bytes are checked here. */
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
                              : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0 || (n == 1 && *p < 0xC2))
            return false;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return false;
    }
    return true;
}

/* Insert or replace one control. */
static int put_control(catalog *c, sqlite3_stmt *st, const char *fw, const char *id,
                       const char *label, const char *title, const char *theme, bool withdrawn,
                       const char *source, adt_err *err)
{
    char sk[CATALOG_ID_MAX * 2];
    sort_key(id, sk, sizeof sk);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, fw, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, label, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, theme ? theme : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, withdrawn);
    sqlite3_bind_text(st, 7, sk, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, source, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return sqldb_fail(c->db, "storing a control", err);
    return ADT_OK;
}

#define PUT_CONTROL_SQL                                                                   \
    "INSERT OR REPLACE INTO control(framework, id, label, title, theme, withdrawn, sort, " \
    "source) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"

/* Walking an OSCAL catalog. */
typedef struct oscal_walk {
    catalog *c;
    sqlite3_stmt *put;
    const char *name;   /* for messages */
    const char *fw;
    const char *source;
    uint64_t count;
    adt_err *err;
} oscal_walk;

/* The text of the first child element `local` of `n` (malloc'd), or NULL. */
static char *child_text(xmlNodePtr n, const char *local)
{
    for (xmlNodePtr k = n->children; k; k = k->next)
        if (xsafe_is(k, OSCAL_NS, local))
            return (char *)xmlNodeGetContent(k);
    return NULL;
}

/* The value of <prop name="NAME" value=".."/> (no namespace attribute, or
 * the NIST one), malloc'd, or NULL. */
static char *prop_value(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr k = n->children; k; k = k->next) {
        if (!xsafe_is(k, OSCAL_NS, "prop"))
            continue;
        char *pn = xsafe_attr(k, "name");
        bool hit = pn && !strcmp(pn, name);
        xmlFree(pn);
        if (hit)
            return xsafe_attr(k, "value");
    }
    return NULL;
}

/* Collapse runs of whitespace (titles may be wrapped in the XML). */
static void squash(char *s)
{
    char *o = s;
    bool sp = true;
    for (char *p = s; *p; p++) {
        bool ws = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
        if (ws) {
            if (!sp)
                *o++ = ' ';
            sp = true;
        } else {
            *o++ = *p;
            sp = false;
        }
    }
    if (o > s && o[-1] == ' ')
        o--;
    *o = '\0';
}

static int walk_controls(oscal_walk *w, xmlNodePtr parent, const char *theme, int depth)
{
    if (depth > 32)
        return adt_fail(w->err, ADT_EINVAL, "%s:%ld: groups and controls nested too deeply",
                        w->name, (long)xmlGetLineNo(parent));
    for (xmlNodePtr n = parent->children; n; n = n->next) {
        if (xsafe_is(n, OSCAL_NS, "group")) {
            char *gid = xsafe_attr(n, "id");
            int rc = walk_controls(w, n, gid ? gid : theme, depth + 1);
            xmlFree(gid);
            if (rc != ADT_OK)
                return rc;
            continue;
        }
        if (!xsafe_is(n, OSCAL_NS, "control"))
            continue;
        long line = xmlGetLineNo(n);
        char *rid = xsafe_attr(n, "id"), *title = child_text(n, "title");
        char *label = prop_value(n, "label"), *status = prop_value(n, "status");
        char id[CATALOG_ID_MAX], lab[CATALOG_ID_MAX];
        int rc = ADT_OK;
        if (!rid)
            rc = adt_fail(w->err, ADT_EINVAL, "%s:%ld: <control> without an id", w->name, line);
        else if (norm_for(w->fw, rid, id, sizeof id) != ADT_OK)
            rc = adt_fail(w->err, ADT_EINVAL,
                          "%s:%ld: control id '%.64s' is not a valid %s control id", w->name,
                          line, rid, w->fw);
        else if (!title)
            rc = adt_fail(w->err, ADT_EINVAL, "%s:%ld: control %s has no <title>", w->name, line,
                          rid);
        if (rc == ADT_OK) {
            squash(title);
            if (strlen(title) >= CATALOG_TITLE_MAX || !title[0])
                rc = adt_fail(w->err, ADT_EINVAL,
                              "%s:%ld: control %s: title is empty or over %d bytes", w->name,
                              line, id, CATALOG_TITLE_MAX - 1);
        }
        if (rc == ADT_OK) {
            if (!label || strlen(label) >= sizeof lab || !label[0]) {
                if (catalog_label(id, lab, sizeof lab) != ADT_OK)
                    snprintf(lab, sizeof lab, "%s", id);
            } else {
                snprintf(lab, sizeof lab, "%s", label);
            }
            bool wd = status && !strcmp(status, "withdrawn");
            rc = put_control(w->c, w->put, w->fw, id, lab, title, theme, wd, w->source, w->err);
            if (rc == ADT_OK)
                w->count++;
        }
        xmlFree(rid);
        xmlFree(title);
        xmlFree(label);
        xmlFree(status);
        if (rc == ADT_OK)
            rc = walk_controls(w, n, theme, depth + 1);
        if (rc != ADT_OK)
            return rc;
    }
    return ADT_OK;
}

static int import_catalog_doc(catalog *c, xmlNodePtr root, const char *name, const char *fw,
                              const char *source, catalog_import_stats *st, adt_err *err)
{
    sqlite3_stmt *put = NULL;
    int rc = sqldb_prepare(c->db, PUT_CONTROL_SQL, &put, err);
    if (rc != ADT_OK)
        return rc;
    oscal_walk w = {c, put, name, fw, source, 0, err};
    rc = walk_controls(&w, root, "", 0);
    sqlite3_finalize(put);
    if (rc == ADT_OK && w.count == 0)
        rc = adt_fail(err, ADT_EINVAL, "%s: the catalog holds no controls", name);
    if (rc == ADT_OK) {
        snprintf(st->kind, sizeof st->kind, "catalog");
        snprintf(st->name, sizeof st->name, "%s", fw);
        st->controls = w.count;
    }
    return rc;
}

/* Derive a baseline name from a profile title. */
static void baseline_name(const char *title, char *out, size_t cap)
{
    static const char *const known[] = {"PRIVACY", "MODERATE", "HIGH", "LOW"};
    for (size_t i = 0; title && i < sizeof known / sizeof known[0]; i++) {
        const char *h = strstr(title, known[i]);
        size_t kl = strlen(known[i]);
        while (h) {
            bool left = h == title || !isalnum((unsigned char)h[-1]);
            bool right = !isalnum((unsigned char)h[kl]);
            if (left && right) {
                snprintf(out, cap, "%s", known[i]);
                return;
            }
            h = strstr(h + 1, known[i]);
        }
    }
    size_t o = 0;
    for (const char *p = title ? title : "PROFILE"; *p && o + 1 < cap; p++) {
        if (isalnum((unsigned char)*p))
            out[o++] = (char)toupper((unsigned char)*p);
        else if (o && out[o - 1] != '-')
            out[o++] = '-';
    }
    while (o && out[o - 1] == '-')
        o--;
    out[o] = '\0';
    if (!o)
        snprintf(out, cap, "PROFILE");
}

static int upper_name(const char *in, char *out, size_t cap, adt_err *err)
{
    size_t n = strlen(in);
    if (n == 0 || n >= cap)
        return adt_fail(err, ADT_EINVAL, "baseline name must be 1..%zu characters", cap - 1);
    for (size_t i = 0; i <= n; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch && !isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
            return adt_fail(err, ADT_EINVAL,
                            "baseline name '%s': use letters, digits, '-', '_' or '.'", in);
        out[i] = (char)toupper(ch);
    }
    return ADT_OK;
}

/* One profile being imported as baseline `bn` of framework `fw`. */
typedef struct profile_import {
    catalog *c;
    const char *name, *fw, *bn, *source;
    sqlite3_stmt *ins, *exists, *drop;
} profile_import;

/* The baseline name: `bname` upper-cased, else from the profile's title. */
static int profile_baseline_name(xmlNodePtr root, const char *bname, char *bn, size_t cap,
                                 adt_err *err)
{
    if (bname)
        return upper_name(bname, bn, cap, err);
    char *title = NULL;
    for (xmlNodePtr k = root->children; k && !title; k = k->next)
        if (xsafe_is(k, OSCAL_NS, "metadata"))
            title = child_text(k, "title");
    baseline_name(title, bn, cap);
    xmlFree(title);
    return ADT_OK;
}

/* A statement on the baseline being imported: ?1 its name, ?2 its framework
 * (reset first when it is prepared already). */
static void bind_baseline(const profile_import *pi, sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, pi->bn, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, pi->fw, -1, SQLITE_STATIC);
}

static int prepare_baseline(const profile_import *pi, const char *sql, sqlite3_stmt **st,
                            adt_err *err)
{
    int rc = sqldb_prepare(pi->c->db, sql, st, err);
    if (!rc)
        bind_baseline(pi, *st);
    return rc;
}

/* <include-all>: every control of the framework not withdrawn. */
static int include_all(profile_import *pi, adt_err *err)
{
    sqlite3_stmt *all = NULL;
    int rc = prepare_baseline(pi,
                              "INSERT OR IGNORE INTO baseline(name, framework, id, source) "
                              "SELECT ?1, framework, id, ?3 FROM control WHERE "
                              "framework = ?2 AND withdrawn = 0",
                              &all, err);
    if (rc)
        return rc;
    sqlite3_bind_text(all, 3, pi->source, -1, SQLITE_STATIC);
    if (sqlite3_step(all) != SQLITE_DONE)
        rc = sqldb_fail(pi->c->db, "include-all", err);
    sqlite3_finalize(all);
    return rc;
}

/* <with-id> `k`: add (pass 0) or drop (pass 1) a control of the store. */
static int apply_with_id(profile_import *pi, xmlNodePtr k, int pass, adt_err *err)
{
    long line = xmlGetLineNo(k);
    char *raw = (char *)xmlNodeGetContent(k);
    char id[CATALOG_ID_MAX];
    if (!raw || norm_for(pi->fw, trim(raw), id, sizeof id) != ADT_OK) {
        int rc = adt_fail(err, ADT_EINVAL, "%s:%ld: '%.64s' is not a valid %s control id",
                          pi->name, line, raw ? raw : "", pi->fw);
        xmlFree(raw);
        return rc;
    }
    xmlFree(raw);
    sqlite3_reset(pi->exists);
    sqlite3_bind_text(pi->exists, 1, pi->fw, -1, SQLITE_STATIC);
    sqlite3_bind_text(pi->exists, 2, id, -1, SQLITE_TRANSIENT);
    int s = sqlite3_step(pi->exists);
    if (s == SQLITE_DONE)
        return adt_fail(err, ADT_ENOTFOUND,
                        "%s:%ld: control %s is not in the control store: import its catalog "
                        "first (auditd controls import CATALOG.xml)",
                        pi->name, line, id);
    if (s != SQLITE_ROW)
        return sqldb_fail(pi->c->db, "lookup", err);
    sqlite3_stmt *op = pass == 0 ? pi->ins : pi->drop;
    bind_baseline(pi, op);
    sqlite3_bind_text(op, 3, id, -1, SQLITE_TRANSIENT);
    if (pass == 0)
        sqlite3_bind_text(op, 4, pi->source, -1, SQLITE_STATIC);
    return sqlite3_step(op) == SQLITE_DONE ? ADT_OK
                                           : sqldb_fail(pi->c->db, "storing the baseline", err);
}

/* One selection of an <import>: include-all and include-controls in pass 0,
 * exclude-controls in pass 1 (OSCAL applies exclusions last). */
static int apply_selection(profile_import *pi, xmlNodePtr sel, int pass, adt_err *err)
{
    if (xsafe_is(sel, OSCAL_NS, "include-all"))
        return pass == 0 ? include_all(pi, err) : ADT_OK;
    bool inc = xsafe_is(sel, OSCAL_NS, "include-controls");
    bool exc = xsafe_is(sel, OSCAL_NS, "exclude-controls");
    if (!(inc && pass == 0) && !(exc && pass == 1))
        return ADT_OK;
    int rc = ADT_OK;
    for (xmlNodePtr k = sel->children; k && rc == ADT_OK; k = k->next) {
        if (xsafe_is(k, OSCAL_NS, "matching"))
            return adt_fail(err, ADT_EINVAL,
                            "%s:%ld: <matching> patterns are not supported; list the controls "
                            "with <with-id>",
                            pi->name, (long)xmlGetLineNo(k));
        if (xsafe_is(k, OSCAL_NS, "with-id"))
            rc = apply_with_id(pi, k, pass, err);
    }
    return rc;
}

/* The number of controls the baseline holds now: none is an error. */
static int count_baseline(profile_import *pi, catalog_import_stats *st, adt_err *err)
{
    sqlite3_stmt *cnt = NULL;
    int rc = prepare_baseline(pi, "SELECT COUNT(*) FROM baseline WHERE name = ?1 AND framework = ?2",
                              &cnt, err);
    if (rc)
        return rc;
    if (sqlite3_step(cnt) == SQLITE_ROW)
        st->controls = (uint64_t)sqlite3_column_int64(cnt, 0);
    sqlite3_finalize(cnt);
    if (st->controls == 0)
        return adt_fail(err, ADT_EINVAL, "%s: the profile selects no controls", pi->name);
    snprintf(st->kind, sizeof st->kind, "profile");
    snprintf(st->name, sizeof st->name, "%s", pi->bn);
    return ADT_OK;
}

static int import_profile_doc(catalog *c, xmlNodePtr root, const char *name, const char *fw,
                              const char *bname, const char *source, catalog_import_stats *st,
                              adt_err *err)
{
    char bn[CATALOG_NAME_MAX];
    int rc = profile_baseline_name(root, bname, bn, sizeof bn, err);
    if (rc)
        return rc;
    profile_import pi = {.c = c, .name = name, .fw = fw, .bn = bn, .source = source};
    sqlite3_stmt *del = NULL;
    if ((rc = sqldb_prepare(c->db, "DELETE FROM baseline WHERE name = ?1 AND framework = ?2",
                            &del, err)) ||
        (rc = sqldb_prepare(c->db,
                            "INSERT OR IGNORE INTO baseline(name, framework, id, source) "
                            "VALUES(?1, ?2, ?3, ?4)",
                            &pi.ins, err)) ||
        (rc = sqldb_prepare(c->db, "SELECT 1 FROM control WHERE framework = ?1 AND id = ?2",
                            &pi.exists, err)) ||
        (rc = sqldb_prepare(c->db,
                            "DELETE FROM baseline WHERE name = ?1 AND framework = ?2 AND id = ?3",
                            &pi.drop, err)))
        goto out;
    sqlite3_bind_text(del, 1, bn, -1, SQLITE_STATIC);
    sqlite3_bind_text(del, 2, fw, -1, SQLITE_STATIC);
    if (sqlite3_step(del) != SQLITE_DONE) {
        rc = sqldb_fail(c->db, "replacing the baseline", err);
        goto out;
    }
    size_t imports = 0;
    /* Two passes: includes, then excludes (OSCAL applies exclusions last). */
    for (int pass = 0; pass < 2 && rc == ADT_OK; pass++)
        for (xmlNodePtr im = root->children; im && rc == ADT_OK; im = im->next) {
            if (!xsafe_is(im, OSCAL_NS, "import"))
                continue;
            imports += pass == 0;
            for (xmlNodePtr sel = im->children; sel && rc == ADT_OK; sel = sel->next)
                rc = apply_selection(&pi, sel, pass, err);
        }
    if (rc == ADT_OK && imports == 0)
        rc = adt_fail(err, ADT_EINVAL, "%s: the profile has no <import>", name);
    if (rc == ADT_OK)
        rc = count_baseline(&pi, st, err);
out:
    sqlite3_finalize(del);
    sqlite3_finalize(pi.ins);
    sqlite3_finalize(pi.exists);
    sqlite3_finalize(pi.drop);
    return rc;
}

/* What an OSCAL import is told besides its text (catalog.h); the other
 * imports take none of it. */
typedef struct import_args {
    const char *xsd_path, *framework, *name;
} import_args;

/* An import inside the caller's transaction: `name` names the text in
 * messages; the text is at most CATALOG_MAX_FILE bytes and *st zeroed. */
typedef int (*import_fn)(catalog *c, const char *data, size_t len, const char *name,
                         const import_args *a, catalog_import_stats *st, adt_err *err);

/* Run `fn` in its own transaction: all of it or nothing. */
static int run_import(catalog *c, import_fn fn, const char *data, size_t len,
                      const char *name_for_errors, const import_args *a,
                      catalog_import_stats *st, adt_err *err)
{
    adt_err local;
    if (!err)
        err = &local; /* the importers read err->code */
    catalog_import_stats tmp;
    if (!st)
        st = &tmp;
    const char *name = name_for_errors ? name_for_errors : "input";
    memset(st, 0, sizeof *st);
    if (len > CATALOG_MAX_FILE)
        return adt_fail(err, ADT_ETOOBIG, "%s: over the %u-byte limit", name, CATALOG_MAX_FILE);
    int rc = sqldb_begin(c->db, err);
    if (rc != ADT_OK)
        return rc;
    rc = fn(c, data, len, name, a, st, err);
    return finish(c, rc, err);
}

/* run_import of the file at `path` (at most CATALOG_MAX_FILE bytes). */
static int run_import_file(catalog *c, import_fn fn, const char *path, const import_args *a,
                           catalog_import_stats *st, adt_err *err)
{
    buf b;
    buf_init(&b, CATALOG_MAX_FILE + 1);
    int rc = afile_read(path, CATALOG_MAX_FILE, &b, err);
    if (rc == ADT_OK)
        rc = run_import(c, fn, b.data, b.len, path, a, st, err);
    buf_free(&b);
    return rc;
}

/* Import an OSCAL document inside the caller's transaction. */
static int import_oscal_tx(catalog *c, const char *data, size_t len, const char *name,
                           const import_args *a, catalog_import_stats *st, adt_err *err)
{
    const char *xsd_path = a->xsd_path, *framework = a->framework, *bname = a->name;
    const char *fw = framework ? framework : CATALOG_NIST;
    char fwn[CATALOG_NAME_MAX];
    if (norm_for("x", fw, fwn, sizeof fwn) != ADT_OK)
        return adt_fail(err, ADT_EINVAL, "framework name '%s': use letters, digits, '.-_'", fw);
    xmlDocPtr doc = NULL;
    int rc = xsafe_parse(data, len, name, NULL, NULL, &doc, err);
    if (rc != ADT_OK)
        return rc;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    bool is_cat = xsafe_is(root, OSCAL_NS, "catalog"), is_prof = xsafe_is(root, OSCAL_NS, "profile");
    if (!is_cat && !is_prof) {
        rc = adt_fail(err, ADT_EINVAL,
                      "%s:%ld: not an OSCAL catalog or profile: the root element is <%.64s>%s%.100s; "
                      "expected <catalog> or <profile> in namespace %s",
                      name, (long)xmlGetLineNo(root), (const char *)root->name,
                      root->ns && root->ns->href ? " in namespace " : " without a namespace",
                      root->ns && root->ns->href ? (const char *)root->ns->href : "", OSCAL_NS);
        xmlFreeDoc(doc);
        return rc;
    }
    if (xsd_path) {
        xmlSchemaPtr schema = NULL;
        rc = xsafe_schema_file(xsd_path, &schema, err);
        if (rc == ADT_OK)
            rc = xsafe_validate(doc, schema, name, NULL, NULL, err);
        xmlSchemaFree(schema);
    }
    if (rc == ADT_OK)
        rc = is_cat ? import_catalog_doc(c, root, name, fw, base_name(name), st, err)
                    : import_profile_doc(c, root, name, fw, bname, base_name(name), st, err);
    xmlFreeDoc(doc);
    return rc;
}

int catalog_import_oscal_mem(catalog *c, const char *data, size_t len,
                             const char *name_for_errors, const char *xsd_path,
                             const char *framework, const char *name,
                             catalog_import_stats *st, adt_err *err)
{
    const import_args a = {xsd_path, framework, name};
    return run_import(c, import_oscal_tx, data, len, name_for_errors, &a, st, err);
}

int catalog_import_oscal(catalog *c, const char *path, const char *xsd_path,
                         const char *framework, const char *name, catalog_import_stats *st,
                         adt_err *err)
{
    const import_args a = {xsd_path, framework, name};
    return run_import_file(c, import_oscal_tx, path, &a, st, err);
}

/* ---- Crosswalk ---------------------------------------------------------------- */

typedef struct xw_ctx {
    catalog *c;
    sqlite3_stmt *ins, *exists;
    const char *name;
    const char *source;
    adt_err *err;
    uint64_t rows; /* pairs read from a CSV */
} xw_ctx;

static int control_exists(catalog *c, sqlite3_stmt *st, const char *fw, const char *id,
                          adt_err *err, bool *yes)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, fw, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    int s = sqlite3_step(st);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return sqldb_fail(c->db, "lookup", err);
    *yes = s == SQLITE_ROW;
    return ADT_OK;
}

/* Add one pair; `where` locates it for messages ("file:12" or "file: key AC-1"). */
static int xw_pair(xw_ctx *x, const char *a, const char *b, const char *where,
                   const char *source)
{
    char na[CATALOG_ID_MAX], nb[CATALOG_ID_MAX];
    if (catalog_normalize_id(a, na, sizeof na) != ADT_OK)
        return adt_fail(x->err, ADT_EINVAL, "%s: '%.64s' is not a control id", where, a);
    if (catalog_normalize_id(b, nb, sizeof nb) != ADT_OK)
        return adt_fail(x->err, ADT_EINVAL, "%s: '%.64s' is not a control id", where, b);
    const char *nist = na, *iso = nb;
    if (na[0] == 'A' && nb[0] != 'A') {
        nist = nb;
        iso = na;
    }
    if (nist[0] == 'A' || iso[0] != 'A')
        return adt_fail(x->err, ADT_EINVAL,
                        "%s: a pair needs one SP 800-53 id and one ISO 27001 Annex A id, not "
                        "'%s' and '%s'",
                        where, na, nb);
    bool yes = false;
    int rc = control_exists(x->c, x->exists, CATALOG_NIST, nist, x->err, &yes);
    if (rc != ADT_OK)
        return rc;
    if (!yes)
        return adt_fail(x->err, ADT_ENOTFOUND,
                        "%s: NIST control %s is not in the control store: import the SP "
                        "800-53 catalog first (auditd controls import CATALOG.xml)",
                        where, nist);
    if ((rc = control_exists(x->c, x->exists, CATALOG_ISO, iso, x->err, &yes)) != ADT_OK)
        return rc;
    if (!yes)
        return adt_fail(x->err, ADT_ENOTFOUND,
                        "%s: %s is not an ISO/IEC 27001:2022 Annex A control", where, iso);
    sqlite3_reset(x->ins);
    sqlite3_bind_text(x->ins, 1, nist, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(x->ins, 2, iso, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(x->ins, 3, source, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(x->ins) != SQLITE_DONE)
        return sqldb_fail(x->c->db, "storing a crosswalk pair", x->err);
    return ADT_OK;
}

/* One CSV record of NIST_ID,ISO_ID[,SOURCE]; a header is optional: a first
 * record of ids is data. */
static int xw_record(void *ctx, csv_reader *r, bool first, adt_err *err)
{
    xw_ctx *x = ctx;
    (void)err; /* x->err */
    char probe[CATALOG_ID_MAX];
    if (first && !(r->nf >= 2 && catalog_normalize_id(r->fields[0], probe, sizeof probe) == ADT_OK &&
                   catalog_normalize_id(r->fields[1], probe, sizeof probe) == ADT_OK))
        return ADT_OK;
    char where[300];
    snprintf(where, sizeof where, "%s:%ld", x->name, r->rec_line);
    if (r->nf < 2)
        return adt_fail(x->err, ADT_EINVAL, "%s: expected NIST_ID,ISO_ID[,SOURCE]", where);
    const char *src = r->nf >= 3 && *trim(r->fields[2]) ? r->fields[2] : x->source;
    if (!utf8_ok(src))
        return adt_fail(x->err, ADT_EINVAL, "%s: not UTF-8", where);
    int rc = xw_pair(x, trim(r->fields[0]), trim(r->fields[1]), where, src);
    if (rc == ADT_OK)
        x->rows++;
    return rc;
}

static int xw_csv(xw_ctx *x, const char *data, size_t len)
{
    size_t records;
    int rc = csv_each(data, len, x->name, xw_record, x, &records, x->err);
    if (rc == ADT_OK && x->rows == 0)
        rc = adt_fail(x->err, ADT_EINVAL, "%s: no crosswalk pairs found", x->name);
    return rc;
}

static int xw_json(xw_ctx *x, const char *data, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(data, len);
    if (!j)
        return adt_fail(x->err, ADT_EINVAL, "%s: not valid JSON (near byte %zu)", x->name,
                        (size_t)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - data : 0));
    int rc = ADT_OK;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(j, "crosswalk");
    if (!cJSON_IsObject(map)) {
        rc = adt_fail(x->err, ADT_EINVAL,
                      "%s: expected an object {\"crosswalk\": {\"AC-1\": [\"A.5.1\", ...]}}",
                      x->name);
        goto out;
    }
    uint64_t n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
    {
        char where[300];
        snprintf(where, sizeof where, "%s: crosswalk[\"%.64s\"]", x->name, e->string);
        if (!cJSON_IsArray(e)) {
            rc = adt_fail(x->err, ADT_EINVAL, "%s: expected an array of ISO ids", where);
            break;
        }
        const cJSON *v;
        cJSON_ArrayForEach(v, e)
        {
            if (!cJSON_IsString(v)) {
                rc = adt_fail(x->err, ADT_EINVAL, "%s: expected strings", where);
                break;
            }
            if ((rc = xw_pair(x, e->string, v->valuestring, where, x->source)) != ADT_OK)
                break;
            n++;
        }
        if (rc != ADT_OK)
            break;
    }
    if (rc == ADT_OK && n == 0)
        rc = adt_fail(x->err, ADT_EINVAL, "%s: no crosswalk pairs found", x->name);
out:
    cJSON_Delete(j);
    return rc;
}

static int count_q(catalog *c, const char *sql, uint64_t *out, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(c->db, sql, &st, err);
    if (rc != ADT_OK)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    else
        rc = sqldb_fail(c->db, "count", err);
    sqlite3_finalize(st);
    return rc;
}

static int import_crosswalk_tx(catalog *c, const char *data, size_t len, const char *name,
                               const import_args *a, catalog_import_stats *st, adt_err *err)
{
    xw_ctx x = {c, NULL, NULL, name, base_name(name), err, 0};
    int rc = sqldb_exec(c->db, "DELETE FROM crosswalk", "replacing the crosswalk", err);
    if (rc == ADT_OK)
        rc = sqldb_prepare(c->db, "INSERT OR IGNORE INTO crosswalk(nist_id, iso_id, source) VALUES(?1, ?2, ?3)",
                  &x.ins, err);
    if (rc == ADT_OK)
        rc = sqldb_prepare(c->db, "SELECT 1 FROM control WHERE framework = ?1 AND id = ?2", &x.exists, err);
    if (rc == ADT_OK) {
        size_t i = 0;
        while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' ||
                           data[i] == '\r'))
            i++;
        rc = (i < len && (data[i] == '{' || data[i] == '[')) ? xw_json(&x, data, len)
                                                             : xw_csv(&x, data, len);
    }
    sqlite3_finalize(x.ins);
    sqlite3_finalize(x.exists);
    if (rc == ADT_OK)
        rc = count_q(c, "SELECT COUNT(*) FROM crosswalk", &st->pairs, err);
    if (rc == ADT_OK)
        rc = count_q(c, "SELECT COUNT(DISTINCT nist_id) FROM crosswalk", &st->nist_ids, err);
    if (rc == ADT_OK)
        rc = count_q(c, "SELECT COUNT(DISTINCT iso_id) FROM crosswalk", &st->iso_ids, err);
    snprintf(st->kind, sizeof st->kind, "crosswalk");
    snprintf(st->name, sizeof st->name, "%s", base_name(name));
    return rc;
}

int catalog_import_crosswalk_mem(catalog *c, const char *data, size_t len,
                                 const char *name_for_errors, catalog_import_stats *st,
                                 adt_err *err)
{
    return run_import(c, import_crosswalk_tx, data, len, name_for_errors, NULL, st, err);
}

int catalog_import_crosswalk(catalog *c, const char *path, catalog_import_stats *st,
                             adt_err *err)
{
    return run_import_file(c, import_crosswalk_tx, path, NULL, st, err);
}

/* ---- ISO Annex A list (seed) ------------------------------------------------- */

typedef struct iso_ctx {
    catalog *c;
    sqlite3_stmt *put;
    const char *name;
} iso_ctx;

/* One record of id,theme,short_name; the first is the header. */
static int iso_record(void *ctx, csv_reader *r, bool first, adt_err *err)
{
    iso_ctx *x = ctx;
    if (first)
        return ADT_OK;
    char id[CATALOG_ID_MAX];
    if (r->nf != 3 || catalog_normalize_id(trim(r->fields[0]), id, sizeof id) != ADT_OK ||
        id[0] != 'A' || strlen(r->fields[2]) >= CATALOG_TITLE_MAX)
        return adt_fail(err, ADT_EINVAL, "%s:%ld: expected ID,THEME,SHORT_NAME", x->name,
                        r->rec_line);
    return put_control(x->c, x->put, CATALOG_ISO, id, id, trim(r->fields[2]), trim(r->fields[1]),
                       false, base_name(x->name), err);
}

/* id,theme,short_name with a header. */
static int import_iso_csv_tx(catalog *c, const char *data, size_t len, const char *name,
                             adt_err *err)
{
    iso_ctx x = {c, NULL, name};
    int rc = sqldb_prepare(c->db, PUT_CONTROL_SQL, &x.put, err);
    if (rc != ADT_OK)
        return rc;
    size_t records;
    rc = csv_each(data, len, name, iso_record, &x, &records, err);
    sqlite3_finalize(x.put);
    return rc;
}

/* ---- Scope ------------------------------------------------------------------- */

static int set_scope(catalog *c, const char *fw, const char *mode, const char *name,
                     adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(c->db, "INSERT OR REPLACE INTO scope(framework, mode, name) VALUES(?1, ?2, ?3)",
                  &st, err);
    if (rc != ADT_OK)
        return rc;
    sqlite3_bind_text(st, 1, fw, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, mode, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sqldb_fail(c->db, "setting the scope", err);
    sqlite3_finalize(st);
    return rc;
}

/* The scope change to a baseline, as an import whose text is the baseline's name. */
static int scope_baseline_tx(catalog *c, const char *data, size_t len, const char *name,
                             const import_args *a, catalog_import_stats *st, adt_err *err)
{
    (void)len;
    (void)name;
    (void)a;
    char bn[CATALOG_NAME_MAX];
    int rc = upper_name(data, bn, sizeof bn, err);
    if (rc != ADT_OK)
        return rc;
    if (!strcmp(bn, "ALL")) {
        rc = set_scope(c, CATALOG_NIST, "all", "ALL", err);
        if (rc == ADT_OK)
            rc = count_q(c,
                         "SELECT COUNT(*) FROM control WHERE framework = 'nist80053' AND "
                         "withdrawn = 0",
                         &st->controls, err);
    } else {
        sqlite3_stmt *q;
        rc = sqldb_prepare(c->db,
                  "SELECT COUNT(*) FROM baseline WHERE name = ?1 AND framework = 'nist80053'",
                  &q, err);
        if (rc == ADT_OK) {
            sqlite3_bind_text(q, 1, bn, -1, SQLITE_STATIC);
            if (sqlite3_step(q) == SQLITE_ROW)
                st->controls = (uint64_t)sqlite3_column_int64(q, 0);
            sqlite3_finalize(q);
        }
        if (rc == ADT_OK && st->controls == 0) {
            char names[256] = "";
            size_t o = 0;
            sqlite3_stmt *l;
            if (sqldb_prepare(c->db, "SELECT DISTINCT name FROM baseline ORDER BY name", &l, NULL) ==
                ADT_OK) {
                while (sqlite3_step(l) == SQLITE_ROW && o < sizeof names) {
                    int w = snprintf(names + o, sizeof names - o, "%s%s", o ? ", " : "",
                                     (const char *)sqlite3_column_text(l, 0));
                    o += w > 0 ? (size_t)w : 0;
                }
                sqlite3_finalize(l);
            }
            rc = adt_fail(err, ADT_ENOTFOUND,
                          "no baseline '%s' in the control store (known: %s); import its "
                          "profile first (auditd controls import PROFILE.xml)",
                          bn, names[0] ? names : "none, besides ALL");
        }
        if (rc == ADT_OK)
            rc = set_scope(c, CATALOG_NIST, "baseline", bn, err);
    }
    snprintf(st->kind, sizeof st->kind, "baseline");
    snprintf(st->name, sizeof st->name, "%s", bn);
    return rc;
}

int catalog_scope_baseline(catalog *c, const char *baseline, catalog_import_stats *st,
                           adt_err *err)
{
    const char *b = baseline ? baseline : "";
    return run_import(c, scope_baseline_tx, b, strlen(b), "baseline", NULL, st, err);
}

static int yes_no(const char *s, bool *out)
{
    static const char *const yes[] = {"yes", "y", "true", "1", "applicable"};
    static const char *const no[] = {"no", "n", "false", "0", "excluded"};
    for (size_t i = 0; i < 5; i++) {
        if (!strcasecmp(s, yes[i]))
            return *out = true, ADT_OK;
        if (!strcasecmp(s, no[i]))
            return *out = false, ADT_OK;
    }
    return ADT_EINVAL;
}

/* The SoA header row: control_id (or id), applicable, justification. */
static int soa_header(const csv_reader *r, const char *name, adt_err *err)
{
    if (r->nf < 3 ||
        (strcasecmp(trim(r->fields[0]), "control_id") && strcasecmp(r->fields[0], "id")) ||
        strcasecmp(trim(r->fields[1]), "applicable") ||
        strcasecmp(trim(r->fields[2]), "justification"))
        return adt_fail(err, ADT_EINVAL,
                        "%s:%ld: expected the header control_id,applicable,justification", name,
                        r->rec_line);
    return ADT_OK;
}

/* One SoA row: an Annex A control of the store, stated once, applicable
 * or excluded with a justification. */
static int soa_row(catalog *c, sqlite3_stmt *ins, sqlite3_stmt *exists, const csv_reader *r,
                   const char *name, catalog_import_stats *st, adt_err *err)
{
    char id[CATALOG_ID_MAX];
    bool app = false, yes = false;
    if (r->nf != 3)
        return adt_fail(err, ADT_EINVAL,
                        "%s:%ld: expected 3 fields (control_id,applicable,justification), "
                        "found %zu",
                        name, r->rec_line, r->nf);
    const char *just = trim(r->fields[2]);
    if (catalog_normalize_id(trim(r->fields[0]), id, sizeof id) != ADT_OK || id[0] != 'A')
        return adt_fail(err, ADT_EINVAL, "%s:%ld: '%.64s' is not an Annex A control id", name,
                        r->rec_line, r->fields[0]);
    int rc = control_exists(c, exists, CATALOG_ISO, id, err, &yes);
    if (rc)
        return rc;
    if (!yes)
        return adt_fail(err, ADT_ENOTFOUND,
                        "%s:%ld: %s is not an ISO/IEC 27001:2022 Annex A control", name,
                        r->rec_line, id);
    if (yes_no(trim(r->fields[1]), &app) != ADT_OK)
        return adt_fail(err, ADT_EINVAL, "%s:%ld: %s: applicable must be yes or no, not '%.32s'",
                        name, r->rec_line, id, r->fields[1]);
    if (!app && !just[0])
        return adt_fail(err, ADT_EINVAL,
                        "%s:%ld: %s is excluded without a justification; every exclusion "
                        "must say why (ISO/IEC 27001:2022 6.1.3 d)",
                        name, r->rec_line, id);
    if (strlen(just) >= CATALOG_JUST_MAX || !utf8_ok(just))
        return adt_fail(err, ADT_EINVAL, "%s:%ld: %s: justification over %d bytes or not UTF-8",
                        name, r->rec_line, id, CATALOG_JUST_MAX - 1);
    sqlite3_reset(ins);
    sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(ins, 2, app);
    sqlite3_bind_text(ins, 3, just, -1, SQLITE_TRANSIENT);
    int s = sqlite3_step(ins);
    if (s == SQLITE_CONSTRAINT)
        return adt_fail(err, ADT_EINVAL, "%s:%ld: %s is stated twice", name, r->rec_line, id);
    if (s != SQLITE_DONE)
        return sqldb_fail(c->db, "storing the SoA", err);
    if (app)
        st->applicable++;
    else
        st->excluded++;
    return ADT_OK;
}

/* Every Annex A control must be stated. */
static int soa_complete(catalog *c, const char *name, adt_err *err)
{
    sqlite3_stmt *miss;
    int rc = sqldb_prepare(c->db,
                           "SELECT id FROM control WHERE framework = 'iso27001' AND id NOT IN "
                           "(SELECT id FROM soa) ORDER BY sort",
                           &miss, err);
    if (rc)
        return rc;
    char list[200] = "";
    size_t o = 0, n = 0;
    while (sqlite3_step(miss) == SQLITE_ROW) {
        if (n < 8) {
            int w = snprintf(list + o, sizeof list - o, "%s%s", n ? ", " : "",
                             (const char *)sqlite3_column_text(miss, 0));
            o += w > 0 && (size_t)w < sizeof list - o ? (size_t)w : 0;
        }
        n++;
    }
    sqlite3_finalize(miss);
    if (n)
        return adt_fail(err, ADT_EINVAL,
                        "%s: %zu Annex A control%s not stated (%s%s); a Statement of "
                        "Applicability states every control",
                        name, n, n == 1 ? " is" : "s are", list, n > 8 ? ", ..." : "");
    return ADT_OK;
}

typedef struct soa_ctx {
    catalog *c;
    sqlite3_stmt *ins, *exists;
    const char *name;
    catalog_import_stats *st;
} soa_ctx;

static int soa_record(void *ctx, csv_reader *r, bool first, adt_err *err)
{
    soa_ctx *x = ctx;
    return first ? soa_header(r, x->name, err)
                 : soa_row(x->c, x->ins, x->exists, r, x->name, x->st, err);
}

static int soa_tx(catalog *c, const char *data, size_t len, const char *name,
                  const import_args *a, catalog_import_stats *st, adt_err *err)
{
    soa_ctx x = {c, NULL, NULL, name, st};
    size_t records = 0;
    int rc = sqldb_exec(c->db, "DELETE FROM soa", "replacing the statement of applicability", err);
    if (rc == ADT_OK)
        rc = sqldb_prepare(c->db, "INSERT INTO soa(id, applicable, justification) VALUES(?1, ?2, ?3)", &x.ins,
                  err);
    if (rc == ADT_OK)
        rc = sqldb_prepare(c->db, "SELECT 1 FROM control WHERE framework = ?1 AND id = ?2", &x.exists, err);
    if (rc != ADT_OK)
        goto out;
    rc = csv_each(data, len, name, soa_record, &x, &records, err);
    if (rc == ADT_OK && records == 0)
        rc = adt_fail(err, ADT_EINVAL, "%s: empty; expected control_id,applicable,justification",
                      name);
    if (rc == ADT_OK)
        rc = soa_complete(c, name, err);
    if (rc == ADT_OK)
        rc = set_scope(c, CATALOG_ISO, "soa", base_name(name), err);
    snprintf(st->kind, sizeof st->kind, "soa");
    snprintf(st->name, sizeof st->name, "%s", base_name(name));
out:
    sqlite3_finalize(x.ins);
    sqlite3_finalize(x.exists);
    return rc;
}

int catalog_scope_soa_mem(catalog *c, const char *data, size_t len, const char *name_for_errors,
                          catalog_import_stats *st, adt_err *err)
{
    return run_import(c, soa_tx, data, len, name_for_errors, NULL, st, err);
}

int catalog_scope_soa(catalog *c, const char *path, catalog_import_stats *st, adt_err *err)
{
    return run_import_file(c, soa_tx, path, NULL, st, err);
}

/* ---- Open and seed -------------------------------------------------------------- */

static int seed(catalog *c, adt_err *err)
{
    int rc = sqldb_begin(c->db, err);
    if (rc != ADT_OK)
        return rc;
    sqlite3_stmt *q;
    bool seeded = false;
    if ((rc = sqldb_prepare(c->db, "SELECT 1 FROM meta WHERE key = 'seeded'", &q, err)) == ADT_OK) {
        seeded = sqlite3_step(q) == SQLITE_ROW;
        sqlite3_finalize(q);
    }
    if (rc != ADT_OK || seeded)
        return finish(c, rc, err);
    catalog_import_stats st = {0};
    const import_args nist = {NULL, CATALOG_NIST, NULL};
    rc = import_oscal_tx(c, (const char *)catalog_data_nist, catalog_data_nist_len,
                         "controls/data/nist80053r5-auditd-subset.xml", &nist, &st, err);
    if (rc == ADT_OK)
        rc = import_iso_csv_tx(c, (const char *)catalog_data_iso, catalog_data_iso_len,
                               "controls/data/iso27001-2022-annexA.csv", err);
    if (rc == ADT_OK)
        rc = import_crosswalk_tx(c, (const char *)catalog_data_crosswalk,
                                 catalog_data_crosswalk_len, "controls/data/crosswalk.csv", NULL,
                                 &st, err);
    if (rc == ADT_OK)
        rc = soa_tx(c, (const char *)catalog_data_soa, catalog_data_soa_len,
                    "controls/data/soa-example.csv", NULL, &st, err);
    if (rc == ADT_OK)
        rc = set_scope(c, CATALOG_NIST, "all", "ALL", err);
    if (rc == ADT_OK)
        rc = sqldb_exec(c->db, "INSERT INTO meta(key, value) VALUES('seeded', 'controls/data')",
                        "recording the seed", err);
    if (rc != ADT_OK)
        adt_err_prefix(err, "seeding the control store from the built-in data: ");
    return finish(c, rc, err);
}

int catalog_open(const char *data_dir, catalog **out, adt_err *err)
{
    adt_err local;
    if (!err)
        err = &local;
    *out = NULL;
    catalog *c = calloc(1, sizeof *c);
    if (!c)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    /* Durable: imports and scope changes are recorded in the ledger as done. */
    int rc = sqldb_open(data_dir, CATALOG_DB_FILE, SQLDB_CREATE, SQLDB_DURABLE, NULL, &c->db, err);
    if (rc || (rc = sqldb_exec(c->db, "PRAGMA foreign_keys=ON;", "setting up", err)) ||
        (rc = sqldb_exec(c->db, schema_sql, "creating the schema", err)) || (rc = seed(c, err)) ||
        (rc = sqldb_prepare(c->db, SELECT_CONTROL_SQL "WHERE c.framework = ?1 AND c.id = ?2",
                            &c->lookup, err)))
        goto fail;
    *out = c;
    return ADT_OK;
fail:
    catalog_close(c);
    return rc;
}

void catalog_close(catalog *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->lookup);
    sqlite3_close(c->db);
    free(c);
}

/* ---- Queries ------------------------------------------------------------------- */

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void row_to_control(sqlite3_stmt *st, catalog_control *out)
{
    copy_col(out->framework, sizeof out->framework, st, 0);
    copy_col(out->id, sizeof out->id, st, 1);
    copy_col(out->label, sizeof out->label, st, 2);
    copy_col(out->title, sizeof out->title, st, 3);
    copy_col(out->theme, sizeof out->theme, st, 4);
    out->withdrawn = sqlite3_column_int(st, 5) != 0;
    out->in_scope = sqlite3_column_int(st, 6) != 0;
    copy_col(out->justification, sizeof out->justification, st, 7);
}

/* Resolve framework + id into normalised form. */
static int resolve(const char *framework, const char *id, const char **fw, char *norm,
                   size_t cap, adt_err *err)
{
    *fw = framework ? framework : catalog_framework_of(id);
    if (!*fw)
        return adt_fail(err, ADT_EINVAL,
                        "'%.64s' is not a control id (SP 800-53 'AC-2(1)' or Annex A 'A.5.1')",
                        id ? id : "");
    if (norm_for(*fw, id, norm, cap) != ADT_OK)
        return adt_fail(err, ADT_EINVAL, "'%.64s' is not a %s control id", id, *fw);
    return ADT_OK;
}

int catalog_lookup(catalog *c, const char *framework, const char *id, catalog_control *out,
                   adt_err *err)
{
    const char *fw;
    char norm[CATALOG_ID_MAX];
    int rc = resolve(framework, id, &fw, norm, sizeof norm, err);
    if (rc != ADT_OK)
        return rc;
    sqlite3_reset(c->lookup);
    sqlite3_bind_text(c->lookup, 1, fw, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(c->lookup, 2, norm, -1, SQLITE_TRANSIENT);
    int s = sqlite3_step(c->lookup);
    if (s == SQLITE_ROW) {
        row_to_control(c->lookup, out);
        sqlite3_reset(c->lookup);
        return ADT_OK;
    }
    sqlite3_reset(c->lookup);
    if (s != SQLITE_DONE)
        return sqldb_fail(c->db, "lookup", err);
    return adt_fail(err, ADT_ENOTFOUND, "control %s (%s) is not in the control store", norm, fw);
}

bool catalog_in_scope(catalog *c, const char *framework, const char *id)
{
    catalog_control ctl;
    return catalog_lookup(c, framework, id, &ctl, NULL) == ADT_OK && ctl.in_scope;
}

static int list_q(catalog *c, const char *framework, bool scoped, catalog_control_fn fn,
                  void *ctx, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(c->db,
                  scoped ? SELECT_CONTROL_SQL "WHERE c.framework = ?1 AND " IN_SCOPE_SQL
                                              " ORDER BY c.sort"
                         : SELECT_CONTROL_SQL "WHERE c.framework = ?1 ORDER BY c.sort",
                  &st, err);
    if (rc != ADT_OK)
        return rc;
    sqlite3_bind_text(st, 1, framework, -1, SQLITE_TRANSIENT);
    catalog_control *ctl = malloc(sizeof *ctl);
    if (!ctl) {
        sqlite3_finalize(st);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        row_to_control(st, ctl);
        if ((rc = fn(ctx, ctl)) != 0)
            break;
    }
    if (rc == ADT_OK && s != SQLITE_DONE)
        rc = sqldb_fail(c->db, "listing controls", err);
    free(ctl);
    sqlite3_finalize(st);
    return rc;
}

int catalog_list_in_scope(catalog *c, const char *framework, catalog_control_fn fn, void *ctx,
                          adt_err *err)
{
    return list_q(c, framework, true, fn, ctx, err);
}

int catalog_list(catalog *c, const char *framework, catalog_control_fn fn, void *ctx,
                 adt_err *err)
{
    return list_q(c, framework, false, fn, ctx, err);
}

/* fn(ctx, id) for the first column of every row of `sql` (its ?1 bound to
 * `arg` when given); a non-zero return of fn stops and is returned. */
static int each_id(catalog *c, const char *sql, const char *arg, catalog_id_fn fn, void *ctx,
                   const char *what, adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(c->db, sql, &st, err);
    if (rc != ADT_OK)
        return rc;
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        char v[CATALOG_ID_MAX > CATALOG_NAME_MAX ? CATALOG_ID_MAX : CATALOG_NAME_MAX];
        copy_col(v, sizeof v, st, 0);
        if ((rc = fn(ctx, v)) != 0)
            break;
    }
    if (rc == ADT_OK && s != SQLITE_DONE)
        rc = sqldb_fail(c->db, what, err);
    sqlite3_finalize(st);
    return rc;
}

/* The crosswalk read one way: the ids of the other framework paired with
 * control `id` of NIST (from_iso false) or ISO (true), in catalog order. */
static int crosswalk_q(catalog *c, bool from_iso, const char *id, catalog_id_fn fn, void *ctx,
                       adt_err *err)
{
    static const char *const sql[2] = {
        "SELECT x.iso_id FROM crosswalk x LEFT JOIN control c ON c.framework = "
        "'iso27001' AND c.id = x.iso_id WHERE x.nist_id = ?1 ORDER BY c.sort",
        "SELECT x.nist_id FROM crosswalk x LEFT JOIN control c ON c.framework = "
        "'nist80053' AND c.id = x.nist_id WHERE x.iso_id = ?1 ORDER BY c.sort"};
    const char *f;
    char norm[CATALOG_ID_MAX];
    int rc = resolve(from_iso ? CATALOG_ISO : CATALOG_NIST, id, &f, norm, sizeof norm, err);
    if (rc != ADT_OK)
        return rc;
    return each_id(c, sql[from_iso], norm, fn, ctx, "reading the crosswalk", err);
}

int catalog_crosswalk_iso(catalog *c, const char *nist_id, catalog_id_fn fn, void *ctx,
                          adt_err *err)
{
    return crosswalk_q(c, false, nist_id, fn, ctx, err);
}

int catalog_crosswalk_nist(catalog *c, const char *iso_id, catalog_id_fn fn, void *ctx,
                           adt_err *err)
{
    return crosswalk_q(c, true, iso_id, fn, ctx, err);
}

int catalog_scope_describe(catalog *c, const char *framework, char *out, size_t cap,
                           adt_err *err)
{
    sqlite3_stmt *st;
    int rc = sqldb_prepare(c->db, "SELECT mode, name FROM scope WHERE framework = ?1", &st, err);
    if (rc != ADT_OK)
        return rc;
    sqlite3_bind_text(st, 1, framework, -1, SQLITE_TRANSIENT);
    char mode[16] = "all", name[CATALOG_NAME_MAX] = "ALL";
    if (sqlite3_step(st) == SQLITE_ROW) {
        copy_col(mode, sizeof mode, st, 0);
        copy_col(name, sizeof name, st, 1);
    }
    sqlite3_finalize(st);
    uint64_t in = 0, all = 0;
    sqlite3_stmt *q;
    if ((rc = sqldb_prepare(c->db,
                   "SELECT COALESCE(SUM(" IN_SCOPE_SQL "), 0), COUNT(*) FROM control c WHERE "
                   "c.framework = ?1 AND c.withdrawn = 0",
                   &q, err)) != ADT_OK)
        return rc;
    sqlite3_bind_text(q, 1, framework, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_ROW) {
        in = (uint64_t)sqlite3_column_int64(q, 0);
        all = (uint64_t)sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    if (!strcmp(mode, "all"))
        snprintf(out, cap, "all controls (%llu)", (unsigned long long)all);
    else
        snprintf(out, cap, "%s %s (%llu of %llu controls)", mode, name, (unsigned long long)in,
                 (unsigned long long)all);
    return ADT_OK;
}

int catalog_list_baselines(catalog *c, catalog_id_fn fn, void *ctx, adt_err *err)
{
    return each_id(c, "SELECT DISTINCT name FROM baseline ORDER BY name", NULL, fn, ctx,
                   "listing baselines", err);
}
