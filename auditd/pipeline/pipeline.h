/* pipeline.h: the telemetry pipeline as the daemon serves it: HTTP endpoints
 * and the MQTT subscriber, over ingest.h / registry.h / lineage.h. See
 * docs/pipeline.md.
 *
 * Threads: pipeline_api may be called from many threads at once; ingestion
 * and registry reads are serialised on one telemetry.db connection (SQLite
 * has one writer anyway), the MQTT callbacks run on libmosquitto's thread. */
#ifndef AUDITD_PIPELINE_H
#define AUDITD_PIPELINE_H

#include "api.h"
#include "commitq.h"
#include "status.h"

typedef struct pipeline pipeline;

/* Open the pipeline on `data_dir`. Ledger events go through `cq` (the
 * daemon's commit queue); with cq NULL the pipeline opens its own ledger
 * handle (tools and tests). */
int pipeline_open(const char *data_dir, commitq *cq, pipeline **out, adt_err *err);
void pipeline_close(pipeline *p);

/* Serve (the daemon has authenticated the caller and checked the role):
 *   POST /v1/telemetry        NDJSON batch of readings {"device","time","values"}
 *                             (role AGENT); answers the batch result
 *   GET  /v1/devices          all devices with their twins
 *   GET  /v1/devices/{id}     one device
 *   GET  /v1/quarantine       quarantined readings (?all=1, ?limit=N)
 *   GET  /v1/models           registered models (models.db)
 * Returns ADT_OK when `resp` was filled (also for 4xx answers), or
 * ADT_ENOTFOUND if the path is not one of these. */
int pipeline_api(pipeline *p, const api_request *req, api_response *resp);

/* Subscribe (QoS 1, persistent session) to site/+/device/+/telemetry on the
 * broker at `url` (mqtt://HOST:PORT, plain). Each message is one batch. The PUBACK
 * leaves only after the batch is durably stored (see docs/pipeline.md). */
/* Replay the quarantine (ingest_replay_requested) as the pipeline itself,
 * answering the request recorded at ledger index `request` (a person's
 * quarantine.replay); the result as JSON into out. */
int pipeline_replay(pipeline *p, uint64_t request, buf *out, adt_err *err);

int pipeline_mqtt_start(pipeline *p, const char *url, adt_err *err);
/* The same, also over TLS: `url` mqtts://HOST:PORT (default port 8883) needs
 * `ca_file` (PEM) to verify the broker's certificate and its name against
 * HOST; `cert_file` and `key_file` (PEM, both or neither) authenticate auditd
 * to the broker. NULL or "" = not given. Plain mqtt:// refuses TLS files. */
int pipeline_mqtt_start_tls(pipeline *p, const char *url, const char *ca_file,
                            const char *cert_file, const char *key_file, adt_err *err);
void pipeline_mqtt_stop(pipeline *p);

#endif
