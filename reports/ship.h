/* ship.h: what a site ships to its central tier (docs/central.md,
 * "Shipments"), never raw readings.
 *
 * For a period, `ship_period` computes the site's KPI inputs and control
 * status with the report's own computation (rdata.h, at one signed
 * checkpoint) and reads its hourly telemetry rollups (rollup.h), and makes
 * batches, format "auditd-shipment/1" (JSON):
 *   rollups     the period's hourly rollups per device and per model version
 *               (pipeline.md, "Rollups"; the per-field statistics stay at the
 *               site), with what the centre needs to read them: the planned
 *               operating calendar, the ideal cycle, the baseline period; one
 *               batch per calendar month of the period (more if a month has
 *               over SHIP_ROLLUP_ROWS rows);
 *   kpi-inputs  the additive inputs (kpi_inputs) of the period, of the
 *               previous period, of the site's own baseline period and of
 *               each week, the KPI owners (RACI) and the parameters the
 *               formulas need;
 *   controls    the compliance posture per framework and the findings, each
 *               with its owner and the ledger entry it is about.
 * Each batch is kept in <data-dir>/shipments.db under its SHA-256 and
 * recorded in the ledger as a `site.shipment` event {kind, period, sha256,
 * bytes, format}, so the centre, which mirrors the ledger with proofs, can
 * fetch the bytes (GET /v1/shipments/{sha256}) and prove them against the
 * site's checkpoint. Batches are recorded after they are stored: the ledger
 * never names a batch the site cannot serve. */
#ifndef AUDITD_SHIP_H
#define AUDITD_SHIP_H

#include "api.h"
#include "buf.h"
#include "status.h"

#include <stdbool.h>
#include <stdint.h>

#define SHIP_FORMAT "auditd-shipment/1"
#define SHIP_DB_FILE "shipments.db"
#define SHIP_MAX_BYTES (8u << 20)  /* a batch is never larger (the centre's limit) */
#define SHIP_ROLLUP_ROWS 40000     /* rollup rows per batch at most */
#define SHIP_BATCHES_MAX 128

typedef struct ship_opts {
    const char *data_dir;
    const char *period;     /* "2026-Q3", a month or a range (rperiod.h) */
    const char *kpis_path;  /* NULL: <data-dir>/kpis.json if present, else built-in */
    int64_t time_us;        /* the time of the site.shipment events; 0 = now */
    const char *actor;      /* NULL = "auditd" */
} ship_opts;

typedef struct ship_batch {
    char kind[16];          /* "kpi-inputs", "controls", "rollups" */
    char sha256[65];
    uint64_t bytes;
    uint64_t index;         /* the site.shipment entry */
} ship_batch;

/* Build, store and record the period's batches (all in one ledger
 * transaction). OUT: out[0..*n), at most SHIP_BATCHES_MAX. */
int ship_period(const ship_opts *o, ship_batch *out, size_t *n, adt_err *err);

/* GET /v1/shipments/{sha256} (auditor or admin): the stored batch bytes
 * (application/json). ADT_ENOTFOUND if the path is not /v1/shipments/...;
 * ADT_OK once `resp` is filled (also for 4xx). */
int ship_api(const char *data_dir, const api_request *req, api_response *resp);

#endif
