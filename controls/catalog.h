/* catalog.h: the control store: which controls exist, what they are called,
 * which are in scope, and how NIST SP 800-53 Rev. 5 maps to ISO/IEC
 * 27001:2022 Annex A.
 *
 * The store is an SQLite file, <data-dir>/controls.db (WAL). On first open it
 * is seeded from the curated files built into the binary (controls/data/):
 * the SP 800-53r5 controls auditd's rules use, the 93 Annex A ids with short
 * names, the crosswalk pairs auditd relies on, and the example Statement of
 * Applicability. Users replace or extend it with catalog_import_oscal(),
 * catalog_import_crosswalk(), catalog_scope_baseline() and catalog_scope_soa()
 * (the `auditd controls import|import-crosswalk|scope` commands).
 *
 * Frameworks are named CATALOG_NIST ("nist80053") and CATALOG_ISO
 * ("iso27001"). Control ids are stored normalised (catalog_normalize_id):
 * OSCAL form for NIST ("ac-2", "ac-2.1"), "A.5.1" for ISO. Every function
 * that takes an id normalises it first, so callers may pass "AC-2(1)".
 *
 * Every import is one transaction: on any error nothing is changed and the
 * message names the file (and line, where one applies).
 *
 * Ownership: strings in a catalog_control are copies owned by the struct.
 * Threads: one handle per thread (SQLite connection). */
#ifndef AUDITD_CATALOG_H
#define AUDITD_CATALOG_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct catalog catalog;

#define CATALOG_DB_FILE "controls.db"
#define CATALOG_NIST "nist80053"
#define CATALOG_ISO "iso27001"
#define CATALOG_ID_MAX 64      /* normalised id, with NUL */
#define CATALOG_TITLE_MAX 256  /* title, with NUL (longer titles are refused) */
#define CATALOG_NAME_MAX 64    /* framework or baseline name, with NUL */
#define CATALOG_JUST_MAX 1024  /* SoA justification, with NUL */
/* Imported files larger than this are refused (the full NIST catalog is ~2 MiB). */
#define CATALOG_MAX_FILE (32u << 20)

/* One control as stored. */
typedef struct catalog_control {
    char framework[CATALOG_NAME_MAX]; /* "nist80053" or "iso27001" (or an imported catalog's) */
    char id[CATALOG_ID_MAX];          /* normalised: "ac-2.1", "A.5.1" */
    char label[CATALOG_ID_MAX];       /* display form: "AC-2(1)", "A.5.1" */
    char title[CATALOG_TITLE_MAX];    /* short title: "Automated System Account Management" */
    char theme[CATALOG_NAME_MAX];     /* NIST family id ("ac") or ISO theme ("Organizational") */
    bool withdrawn;                   /* NIST: status withdrawn */
    bool in_scope;                    /* per the scope in force (see catalog_scope_*) */
    char justification[CATALOG_JUST_MAX]; /* SoA justification ("" if none) */
} catalog_control;

/* Open (creating and seeding if needed) the store in `data_dir`
 * (<data_dir>/controls.db; the directory is created if missing).
 * data_dir NULL opens a private in-memory store, seeded the same way (tests,
 * fuzzing). */
int catalog_open(const char *data_dir, catalog **out, adt_err *err);
void catalog_close(catalog *c);

/* Normalise a control id. NIST forms "ac-2.1", "AC-2(1)", "AC-02(01)",
 * "ac-2(1)", "AC 2 (1)" all give "ac-2.1"; ISO forms "A.5.1", "a.5.1",
 * "A.05.01", "5.1" (with no family letters) give "A.5.1". Returns ADT_OK, or
 * ADT_EINVAL if `in` is neither form (out is then ""), or ADT_ENOMEM if `cap`
 * is too small. `cap` >= CATALOG_ID_MAX is always enough. */
int catalog_normalize_id(const char *in, char *out, size_t cap);

/* The framework an id belongs to by its form: CATALOG_NIST, CATALOG_ISO,
 * or NULL if it is neither. */
const char *catalog_framework_of(const char *id);

/* Display label of a normalised NIST id ("ac-2.1" -> "AC-2(1)"); ISO ids are
 * returned unchanged. ADT_EINVAL if `id` is not a normalised id. */
int catalog_label(const char *id, char *out, size_t cap);

/* Look up a control. `framework` may be NULL (deduced from the id's form).
 * ADT_ENOTFOUND (with a message) if the store does not have it. */
int catalog_lookup(catalog *c, const char *framework, const char *id, catalog_control *out,
                   adt_err *err);

/* True if the control exists and is in scope. Unknown ids are not in scope. */
bool catalog_in_scope(catalog *c, const char *framework, const char *id);

/* Called once per control; return 0 to go on, non-zero to stop (returned). */
typedef int (*catalog_control_fn)(void *ctx, const catalog_control *ctl);
/* Called once per id; same convention. */
typedef int (*catalog_id_fn)(void *ctx, const char *id);

/* Every in-scope, not withdrawn control of `framework` in catalog order
 * (family, then number, then enhancement; ISO by clause number). */
int catalog_list_in_scope(catalog *c, const char *framework, catalog_control_fn fn, void *ctx,
                          adt_err *err);
/* Every control of `framework`, in scope or not. */
int catalog_list(catalog *c, const char *framework, catalog_control_fn fn, void *ctx,
                 adt_err *err);

/* The crosswalk: the ISO Annex A ids a NIST control maps to (sorted by clause
 * number), and the reverse. No pairs is not an error (fn never called). */
int catalog_crosswalk_iso(catalog *c, const char *nist_id, catalog_id_fn fn, void *ctx,
                          adt_err *err);
int catalog_crosswalk_nist(catalog *c, const char *iso_id, catalog_id_fn fn, void *ctx,
                           adt_err *err);

/* What an import did. */
typedef struct catalog_import_stats {
    char kind[16];                    /* "catalog", "profile", "crosswalk", "soa", "baseline" */
    char name[CATALOG_NAME_MAX];      /* framework (catalog) or baseline (profile) name */
    uint64_t controls;                /* controls and enhancements imported / ids in the baseline */
    uint64_t pairs;                   /* crosswalk pairs */
    uint64_t nist_ids, iso_ids;       /* distinct ids in the crosswalk */
    uint64_t applicable, excluded;    /* SoA */
} catalog_import_stats;

/* Import an OSCAL catalog or profile in XML (detected by the root element).
 *  - catalog: every control and enhancement (nested at any depth, in groups)
 *    is added or updated under `framework` (NULL = CATALOG_NIST) with its
 *    id, label and title; withdrawn ones are kept, marked withdrawn;
 *  - profile: the ids of every import's include-controls/with-ids become the
 *    baseline `name` (NULL = derived from metadata/title: "LOW", "MODERATE",
 *    "HIGH" or "PRIVACY" if the title names one, else the title). Every id
 *    must already be in the store (import the catalog first).
 * `xsd_path` (may be NULL) is the OSCAL XML schema to validate against first.
 * The parser does not touch the network, expands no entities, loads no DTD
 * and refuses files over CATALOG_MAX_FILE. One transaction. */
int catalog_import_oscal(catalog *c, const char *path, const char *xsd_path,
                         const char *framework, const char *name,
                         catalog_import_stats *st, adt_err *err);
/* The same from memory; `name_for_errors` labels messages. */
int catalog_import_oscal_mem(catalog *c, const char *data, size_t len,
                             const char *name_for_errors, const char *xsd_path,
                             const char *framework, const char *name,
                             catalog_import_stats *st, adt_err *err);

/* Replace the crosswalk with the pairs in `path`: either CSV with a header
 * whose first two columns are the NIST id and the ISO id (extra columns are
 * ignored), or JSON {"crosswalk": {"AC-1": ["A.5.1", ...], ...}}. Every id
 * must be in the store. One transaction. */
int catalog_import_crosswalk(catalog *c, const char *path, catalog_import_stats *st,
                             adt_err *err);
int catalog_import_crosswalk_mem(catalog *c, const char *data, size_t len,
                                 const char *name_for_errors, catalog_import_stats *st,
                                 adt_err *err);

/* Set the NIST scope to the named baseline (case-insensitive; ADT_ENOTFOUND
 * lists the known baselines). "ALL" puts every NIST control in scope. */
int catalog_scope_baseline(catalog *c, const char *baseline, catalog_import_stats *st,
                           adt_err *err);

/* Set the ISO scope from a Statement of Applicability CSV (docs/catalog.md):
 * header "control_id,applicable,justification"; one row per Annex A control
 * (every one of the store's ISO controls must be stated exactly once);
 * applicable is yes/no; an excluded control needs a justification. */
int catalog_scope_soa(catalog *c, const char *path, catalog_import_stats *st, adt_err *err);
int catalog_scope_soa_mem(catalog *c, const char *data, size_t len, const char *name_for_errors,
                          catalog_import_stats *st, adt_err *err);

/* A short description of the scope in force for `framework`, e.g.
 * "baseline MODERATE (287 controls)" or "soa soa-example.csv (90 of 93)". */
int catalog_scope_describe(catalog *c, const char *framework, char *out, size_t cap,
                           adt_err *err);

/* The names of the baselines in the store. */
int catalog_list_baselines(catalog *c, catalog_id_fn fn, void *ctx, adt_err *err);

#endif
