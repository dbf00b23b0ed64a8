/* edata.h: what the enterprise report knows, once gathered and computed by
 * ereport.c; read by its writers and by eoscal.c. Nothing outside central/
 * uses it. Ownership: everything is owned by the edata (edata_free). */
#ifndef AUDITD_EDATA_H
#define AUDITD_EDATA_H

#include "cstore.h"
#include "kpi.h"
#include "merkle.h"
#include "note.h"
#include "rperiod.h"
#include "sitelog.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDATA_STR 128
#define EDATA_FINDINGS_MAX 5000 /* per site batch */
#define EDATA_CITES_MAX 2       /* entries cited per finding */

typedef struct eowner {
    char kpi[32];
    char activity[EDATA_STR];
    char principal[EDATA_STR];
    char name[EDATA_STR];
} eowner;

/* A site's kpi-inputs batch. */
typedef struct ekpis {
    char site[EDATA_STR];
    char period[RPERIOD_LABEL_MAX];
    char prev_label[RPERIOD_LABEL_MAX];
    bool has_base;
    char base_label[RPERIOD_LABEL_MAX];
    char version[64];
    double ideal_cycle_s;
    bool has_calendar;        /* the planned operating calendar (kpi_params) */
    int planned[7][2];
    kpi_inputs cur, prev, base;
    int nweeks;
    eowner owners[KPI_DEFS_MAX];
    size_t nowners;
    char (*units)[64];        /* the work units (devices with machine.state), malloc'd */
    size_t nunits;
} ekpis;

typedef struct efinding {
    int site;                 /* index into edata.sites */
    char kind[16];            /* "control", "site.integrity" */
    char framework[32];
    char control[64];
    char severity[16];
    char rule[EDATA_STR];
    char title[256];
    char owner[EDATA_STR];
    char message[1024];
    char time[40];
    bool has_about;           /* the site entry the finding is about */
    uint64_t about;
    /* citations: site entries with inclusion proofs against the site's checkpoint */
    size_t ncites;
    struct ecite {
        uint64_t index;
        char role[16];        /* "batch" (the site.shipment entry), "about", "history" */
        merkle_hash leaf_hash;
        char *leaf;           /* the exact leaf bytes, malloc'd */
        size_t leaf_len;
        merkle_hash proof[MERKLE_MAX_PROOF];
        size_t nproof;
    } cites[EDATA_CITES_MAX];
    /* integrity findings: the two signed checkpoints of the alert */
    char *stored_note, *site_note;
} efinding;

typedef struct esite {
    cstore_site site;
    char label[NOTE_ORIGIN_MAX + 1]; /* the site's name from its batches, else its origin */
    uint64_t next_entry, mirror_size;
    bool halted;
    /* the checkpoint cited: the newest the centre cosigned whose entries are
     * all mirrored; else the mirror checkpoint (signed by the site only) */
    bool has_cp, cosigned;
    uint64_t cp_size;
    merkle_hash cp_root;
    char cp_note[SITELOG_NOTE_MAX];
    /* its batches for the period */
    bool has_kpis, has_controls;
    uint64_t kpis_idx, controls_idx;
    char kpis_sha[65], controls_sha[65];
    ekpis k;
    /* the telemetry KPIs' inputs summed from the site's hourly rollups at the
     * centre (period, and the site's baseline period), when it shipped any */
    bool has_rcur, has_rbase;
    kpi_inputs rcur, rbase;
    /* what the KPIs are computed from: the kpi-inputs batch's time model,
     * incidents, controls, drift and data quality, with the meters and labels
     * replaced by the rollups' sums where the centre has rollups */
    kpi_inputs mcur, mbase;
    uint64_t rollup_rows;     /* device-hours summed for the period */
    bool evaluated;           /* the site's control evaluation ran */
    uint64_t posture[2][5];   /* per framework: in scope, with rules, satisfied, not, no evidence */
    char problem[ADT_ERR_MAX]; /* why data is missing, "" if none */
    size_t nfindings;         /* of edata.findings */
    size_t nintegrity;
} esite;

/* One KPI, per site and in total. */
typedef struct ekpi {
    const kpi_def *def;       /* from edata.defs */
    kpi_value *site_cur, *site_base; /* per site */
    kpi_value total_cur, total_base;
    kpi_value total_cmp;      /* the total over the sites that have a baseline */
    bool total_has_base;
    kpi_inputs total_in, total_base_in, total_cmp_in;
    kpi_params total_params, total_base_params;
} ekpi;

typedef struct edata {
    rperiod period;
    char as_of[40];
    int64_t as_of_us;
    kpi_defs defs;
    char witness_name[NOTE_ORIGIN_MAX + 1];
    char witness_vkey[NOTE_KEYLINE_MAX];
    esite *sites;
    size_t nsites;
    efinding *findings;
    size_t nfindings, capfindings;
    ekpi *kpis;               /* defs.n of them */
    uint64_t posture[2][5];   /* summed */
    uint64_t by_severity[KPI_SEV__COUNT];
    int sites_with_base;
} edata;

/* A site's status in every form of the report: "integrity-alert", "incomplete" or "ok".
 * Inline here, with the data it reads, so that the OSCAL writer (eoscal.c) needs nothing
 * of ereport.c, which calls the writer. */
static inline const char *edata_site_status(const esite *s)
{
    return s->nintegrity ? "integrity-alert" : s->problem[0] ? "incomplete" : "ok";
}

#endif
