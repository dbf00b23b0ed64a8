/* sim.h: a synthetic plant for demos and tests: CNC machines (AI4I 2020
 * style variables and failure rules), a legacy PLC behind a gateway, an edge
 * AI camera, and the plant's audit event stream. Deterministic: the same
 * options give the same bytes (own PRNG, fixed number formats).
 * See docs/pipeline.md for the generation rules and their source. */
#ifndef AUDITD_SIM_H
#define AUDITD_SIM_H

#include "status.h"

#include <stdint.h>

typedef struct sim_opts {
    uint64_t seed;
    int days;
    int64_t start_us;   /* default 2026-07-01T00:00:00Z */
    int machines;       /* CNC machines, default 8 */
    int64_t interval_s; /* CNC sampling interval, default 60 */
    /* When the plant's programme goes live (0 = never, the plant as it was).
     * From then on the simulated plant responds to it (docs/pipeline.md,
     * "Go-live"): maintenance acts on failure warnings and the CNC
     * controllers power idle spindles down. The readings before go-live are
     * the same bytes as without it. */
    int64_t go_live_us;
} sim_opts;

typedef struct sim_stats {
    uint64_t readings;
    uint64_t failures;  /* failing processes */
    uint64_t failure_readings;
    uint64_t events;
    int devices;
    uint64_t by_mode[6]; /* none, TWF, HDF, PWF, OSF, RNF (processes) */
    uint64_t warned_tool_changes; /* after go-live: tools changed on a warning */
} sim_stats;

void sim_opts_default(sim_opts *o);

/* Write profiles/{cnc-mill,legacy-plc,edge-camera}.json, devices.ndjson,
 * telemetry.ndjson and events.ndjson into `out_dir` (created if missing). */
int sim_run(const sim_opts *o, const char *out_dir, sim_stats *st, adt_err *err);

/* The example profile documents (also in auditd/pipeline/profiles/). */
extern const char sim_profile_cnc[];
extern const char sim_profile_plc[];
extern const char sim_profile_camera[];

/* "YYYY-MM-DD" (midnight UTC) or RFC 3339. ADT_OK or ADT_EINVAL. */
int sim_parse_time(const char *s, int64_t *us);

#endif
