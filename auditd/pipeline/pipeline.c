/* pipeline.c: HTTP endpoints and the MQTT subscriber of the telemetry
 * pipeline (pipeline.h). */
#include "pipeline.h"

#include "canon.h"
#include "codec.h"
#include "ingest.h"
#include "ledger.h"
#include "log.h"
#include "numparse.h"
#include "registry.h"
#include "sha256.h"
#include "sqldb.h"
#include "tdb.h"

#include "model.h"

#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MOD "pipeline"
#define MQTT_TOPIC "site/+/device/+/telemetry"
#define MQTT_MAX_PAYLOAD (64u << 20)

struct pipeline {
    char data_dir[PATH_MAX];
    ledger *lg;           /* own handle when no commit queue was given */
    pthread_mutex_t wmu;  /* guards g */
    ingest *g;
    pthread_mutex_t rmu;  /* guards rdb */
    sqlite3 *rdb;         /* read connection for the GET endpoints */
    struct mosquitto *mosq;
    char client_id[64];
    int conn_state;       /* 0 connecting, 1 connected, -1 lost before connecting (atomic) */
    int conn_rc;          /* the CONNACK or disconnect code when conn_state is -1 */
};

int pipeline_open(const char *data_dir, commitq *cq, pipeline **out, adt_err *err)
{
    *out = NULL;
    pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    if (!realpath(data_dir, p->data_dir))
        snprintf(p->data_dir, sizeof p->data_dir, "%s", data_dir);
    pthread_mutex_init(&p->wmu, NULL);
    pthread_mutex_init(&p->rmu, NULL);
    int rc = ADT_OK;
    evsink s = {.cq = cq};
    if (!cq) {
        rc = ledger_open(data_dir, LEDGER_RDWR, &p->lg, err);
        s.lg = p->lg;
    }
    if (!rc)
        rc = ingest_open(data_dir, &s, true, &p->g, err);
    if (!rc)
        rc = tdb_open(data_dir, false, &p->rdb, err);
    if (rc) {
        pipeline_close(p);
        return rc;
    }
    *out = p;
    return ADT_OK;
}

void pipeline_close(pipeline *p)
{
    if (!p)
        return;
    pipeline_mqtt_stop(p);
    ingest_close(p->g);
    sqldb_close(p->rdb);
    if (p->lg)
        ledger_close(p->lg);
    pthread_mutex_destroy(&p->wmu);
    pthread_mutex_destroy(&p->rmu);
    free(p);
}

/* ---- HTTP ----------------------------------------------------------------- */

static int answer_err(api_response *resp, int rc, const adt_err *err)
{
    int st = api_status_for(rc);
    if (rc == ADT_EBUSY || rc == ADT_ESHUTDOWN)
        resp->retry_after = 1;
    return api_error(resp, st, adt_status_name(rc), "%s", err->msg);
}

static int post_telemetry(pipeline *p, const api_request *req, api_response *resp)
{
    /* The daemon's rights table opens POST /v1/telemetry to agents only. */
    if (!api_role_may(req->role, API_NEED_AGENT))
        return api_error(resp, 403, "forbidden", "telemetry is posted by agents");
    if (!req->body || req->body_len == 0)
        return api_error(resp, 400, "invalid",
                         "empty body: send NDJSON readings {\"device\",\"time\",\"values\"}");
    const char *actor = req->principal && *req->principal ? req->principal : "agent";
    ingest_result r;
    adt_err err;
    pthread_mutex_lock(&p->wmu);
    int rc = ingest_ndjson(p->g, actor, req->body, req->body_len, &r, &err);
    pthread_mutex_unlock(&p->wmu);
    if (rc)
        return answer_err(resp, rc, &err);
    resp->status = 200;
    resp->content_type = "application/json";
    if (ingest_result_json(&r, &resp->body))
        return api_error(resp, 500, "internal", "result too large");
    return ADT_OK;
}

int pipeline_replay(pipeline *p, uint64_t request, buf *out, adt_err *err)
{
    ingest_result r;
    pthread_mutex_lock(&p->wmu);
    int rc = ingest_replay_requested(p->g, EVSINK_PIPELINE, request, 200000, &r, err);
    pthread_mutex_unlock(&p->wmu);
    if (!rc && ingest_result_json(&r, out))
        rc = adt_fail(err, ADT_ETOOBIG, "replay result too large");
    return rc;
}

static int model_row(void *ctx, const model_info *m)
{
    buf *b = ctx;
    if (buf_puts(b, b->len > 1 ? ",{\"model\":" : "{\"model\":") ||
        canon_put_string(b, m->name, strlen(m->name)) || buf_puts(b, ",\"version\":") ||
        canon_put_string(b, m->version, strlen(m->version)) ||
        buf_printf(b, ",\"status\":\"%s\",\"sha256\":\"%s\",\"dataset\":", m->status,
                   m->sha256) ||
        canon_put_string(b, m->dataset, strlen(m->dataset)) ||
        buf_printf(b, ",\"precision\":%.6g,\"recall\":%.6g,\"pr_auc\":%.6g}", m->precision,
                   m->recall, m->pr_auc))
        return ADT_ETOOBIG;
    return ADT_OK;
}

static int get_models(pipeline *p, api_response *resp)
{
    adt_err err;
    buf_reset(&resp->body);
    int rc = buf_putc(&resp->body, '[');
    if (!rc)
        rc = model_list(p->data_dir, model_row, &resp->body, &err);
    if (rc == ADT_ENOTFOUND) {
        buf_reset(&resp->body);
        rc = buf_putc(&resp->body, '[');
    } else if (rc) {
        buf_reset(&resp->body);
        return answer_err(resp, rc, &err);
    }
    if (buf_putc(&resp->body, ']'))
        return api_error(resp, 500, "internal", "model list too large");
    resp->status = 200;
    resp->content_type = "application/json";
    return ADT_OK;
}

int pipeline_api(pipeline *p, const api_request *req, api_response *resp)
{
    const char *path = req->path;
    if (!strcmp(path, "/v1/telemetry")) {
        if (strcmp(req->method, "POST"))
            return api_error(resp, 405, "method_not_allowed", "POST NDJSON readings here");
        return post_telemetry(p, req, resp);
    }
    bool devices = !strcmp(path, "/v1/devices");
    bool device = !strncmp(path, "/v1/devices/", 12) && path[12];
    bool quarantine = !strcmp(path, "/v1/quarantine");
    bool models = !strcmp(path, "/v1/models");
    if (!devices && !device && !quarantine && !models)
        return ADT_ENOTFOUND;
    if (strcmp(req->method, "GET"))
        return api_error(resp, 405, "method_not_allowed", "use GET");
    if (models)
        return get_models(p, resp);
    adt_err err;
    int rc;
    buf_reset(&resp->body);
    pthread_mutex_lock(&p->rmu);
    if (quarantine) {
        const char *all = api_param_get(req, "all");
        const char *lim = api_param_get(req, "limit");
        int64_t limit = 1000;
        if (lim && num_i64(lim, 1, 100000, &limit)) {
            pthread_mutex_unlock(&p->rmu);
            return api_error(resp, 400, "invalid", "limit must be 1..100000");
        }
        rc = ingest_quarantine_json(p->rdb, all && (!strcmp(all, "1") || !strcmp(all, "true")),
                                    (size_t)limit, &resp->body, &err);
    } else {
        rc = registry_devices_json(p->rdb, device ? path + 12 : NULL, &resp->body, &err);
    }
    pthread_mutex_unlock(&p->rmu);
    if (rc) {
        buf_reset(&resp->body);
        return answer_err(resp, rc, &err);
    }
    resp->status = 200;
    resp->content_type = "application/json";
    return ADT_OK;
}

/* ---- MQTT ----------------------------------------------------------------- */

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    pipeline *p = obj;
    if (rc != 0) {
        log_msg(LOG_WARN, MOD, "MQTT broker refused the connection: %s",
                mosquitto_connack_string(rc));
        if (__atomic_load_n(&p->conn_state, __ATOMIC_SEQ_CST) == 0) {
            p->conn_rc = rc;
            __atomic_store_n(&p->conn_state, -1, __ATOMIC_SEQ_CST);
        }
        return;
    }
    __atomic_store_n(&p->conn_state, 1, __ATOMIC_SEQ_CST);
    int src = mosquitto_subscribe(m, NULL, MQTT_TOPIC, 1);
    if (src != MOSQ_ERR_SUCCESS)
        log_msg(LOG_ERROR, MOD, "MQTT subscribe failed: %s", mosquitto_strerror(src));
}

/* Before the first CONNACK a lost connection is a failed start (over TLS: a
 * handshake the broker's certificate did not pass). */
static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    pipeline *p = obj;
    if (__atomic_load_n(&p->conn_state, __ATOMIC_SEQ_CST) == 0) {
        p->conn_rc = rc;
        __atomic_store_n(&p->conn_state, -1, __ATOMIC_SEQ_CST);
    }
}

/* One line of a payload, with the topic's device added when it names none. */
static int add_device_line(const char *line, size_t ll, const char *device, buf *out)
{
    const char *v;
    size_t vl;
    size_t lead = 0;
    while (lead < ll && (line[lead] == ' ' || line[lead] == '\t'))
        lead++;
    if (lead == ll || line[lead] != '{' ||
        canon_member(line, ll, "device", &v, &vl) != ADT_ENOTFOUND)
        return buf_append(out, line, ll);
    /* keep the rest; a following member needs a comma */
    const char *rest = line + lead + 1;
    size_t rl = ll - lead - 1;
    size_t k = 0;
    while (k < rl && (rest[k] == ' ' || rest[k] == '\t'))
        k++;
    int rc = buf_printf(out, "{\"device\":\"%s\"%s", device, k < rl && rest[k] != '}' ? "," : "");
    return rc ? rc : buf_append(out, rest, rl);
}

/* Readings without a "device" member take the topic's device. */
static int add_device(const char *payload, size_t len, const char *device, buf *out)
{
    size_t off = 0;
    int rc = ADT_OK;
    while (off < len && !rc) {
        const char *line = payload + off;
        const char *nl = memchr(line, '\n', len - off);
        size_t ll = nl ? (size_t)(nl - line) : len - off;
        off += ll + (nl ? 1 : 0);
        rc = add_device_line(line, ll, device, out);
        if (!rc)
            rc = buf_putc(out, '\n');
    }
    return rc;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    pipeline *p = obj;
    char **parts = NULL;
    int n = 0;
    if (mosquitto_sub_topic_tokenise(msg->topic, &parts, &n) != MOSQ_ERR_SUCCESS)
        return;
    char site[65] = "", device[65] = "";
    if (n == 5 && parts[0] && parts[1] && parts[3] && !strcmp(parts[0], "site") &&
        !strcmp(parts[2] ? parts[2] : "", "device") && strlen(parts[1]) <= 64 &&
        registry_device_name_ok(parts[3])) {
        snprintf(site, sizeof site, "%s", parts[1]);
        snprintf(device, sizeof device, "%s", parts[3]);
    }
    mosquitto_sub_topic_tokens_free(&parts, n);
    if (!device[0] || !registry_device_name_ok(site)) {
        log_msg(LOG_WARN, MOD, "MQTT: ignoring topic '%.200s' (expected " MQTT_TOPIC ")",
                msg->topic);
        return;
    }
    if (msg->payloadlen <= 0)
        return;
    buf body;
    buf_init(&body, MQTT_MAX_PAYLOAD + (size_t)INGEST_MAX_READINGS * 80);
    char actor[160];
    snprintf(actor, sizeof actor, "mqtt:%s/%s", site, device);
    ingest_result r;
    adt_err err;
    int rc = add_device(msg->payload, (size_t)msg->payloadlen, device, &body);
    if (rc) {
        rc = adt_fail(&err, ADT_ETOOBIG, "MQTT message too large");
    } else {
        pthread_mutex_lock(&p->wmu);
        rc = ingest_ndjson(p->g, actor, body.data, body.len, &r, &err);
        pthread_mutex_unlock(&p->wmu);
    }
    buf_free(&body);
    if (rc == ADT_OK)
        return;
    if (rc == ADT_ETOOBIG || rc == ADT_EINVAL) {
        /* Redelivery would fail the same way. */
        log_msg(LOG_ERROR, MOD, "MQTT %s: message not stored and acknowledged: %s", msg->topic,
                err.msg);
        return;
    }
    /* Not stored: cut the connection before the queued PUBACK is written, so
     * the broker keeps the message in our persistent session and delivers it
     * again after the automatic reconnect. */
    log_msg(LOG_WARN, MOD, "MQTT %s: not stored (%s); withholding the acknowledgement",
            msg->topic, err.msg);
    int fd = mosquitto_socket(m);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

static int parse_url(const char *url, char *host, size_t hcap, int *port, bool *tls,
                     adt_err *err)
{
    size_t skip;
    if (!strncmp(url, "mqtt://", 7)) {
        skip = 7;
        *tls = false;
    } else if (!strncmp(url, "mqtts://", 8)) {
        skip = 8;
        *tls = true;
    } else {
        return adt_fail(err, ADT_EINVAL,
                        "MQTT URL '%.100s': expected mqtt://HOST:PORT or mqtts://HOST:PORT", url);
    }
    const char *h = url + skip;
    const char *colon = strrchr(h, ':');
    size_t hl = colon ? (size_t)(colon - h) : strlen(h);
    if (hl == 0 || hl >= hcap)
        return adt_fail(err, ADT_EINVAL, "MQTT URL '%.100s': bad host", url);
    for (size_t i = 0; i < hl; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-'))
            return adt_fail(err, ADT_EINVAL, "MQTT URL '%.100s': bad host", url);
    }
    memcpy(host, h, hl);
    host[hl] = 0;
    int64_t pv = *tls ? 8883 : 1883;
    if (colon && num_i64(colon + 1, 1, 65535, &pv))
        return adt_fail(err, ADT_EINVAL, "MQTT URL '%.100s': port must be 1..65535", url);
    *port = (int)pv;
    return ADT_OK;
}

int pipeline_mqtt_start(pipeline *p, const char *url, adt_err *err)
{
    return pipeline_mqtt_start_tls(p, url, NULL, NULL, NULL, err);
}

int pipeline_mqtt_start_tls(pipeline *p, const char *url, const char *ca_file,
                            const char *cert_file, const char *key_file, adt_err *err)
{
    if (p->mosq)
        return adt_fail(err, ADT_EEXIST, "MQTT already started");
    char host[256];
    int port = 0;
    bool tls = false;
    int rc = parse_url(url, host, sizeof host, &port, &tls, err);
    if (rc)
        return rc;
    if (ca_file && !*ca_file)
        ca_file = NULL;
    if (cert_file && !*cert_file)
        cert_file = NULL;
    if (key_file && !*key_file)
        key_file = NULL;
    if (tls && !ca_file)
        return adt_fail(err, ADT_EINVAL,
                        "MQTT URL '%.100s' is mqtts://: give the broker's CA certificate "
                        "(--mqtt-ca FILE) to verify it",
                        url);
    if (!tls && (ca_file || cert_file || key_file))
        return adt_fail(err, ADT_EINVAL,
                        "MQTT TLS files given for the plain URL '%.100s': use mqtts://HOST:PORT",
                        url);
    if (!cert_file != !key_file)
        return adt_fail(err, ADT_EINVAL,
                        "MQTT client certificate and key go together (--mqtt-cert and --mqtt-key)");
    /* A stable client id per data directory: with clean_session false the
     * broker keeps our subscription and unacknowledged QoS 1 messages while
     * we are away. */
    uint8_t h[32];
    sha256(p->data_dir, strlen(p->data_dir), h);
    char hex[17];
    codec_hex(h, 8, hex, sizeof hex);
    snprintf(p->client_id, sizeof p->client_id, "auditd-%s", hex);
    mosquitto_lib_init();
    p->mosq = mosquitto_new(p->client_id, false, p);
    if (!p->mosq) {
        mosquitto_lib_cleanup();
        return adt_fail(err, ADT_ENOMEM, "MQTT client: %s", strerror(errno));
    }
    __atomic_store_n(&p->conn_state, 0, __ATOMIC_SEQ_CST);
    mosquitto_connect_callback_set(p->mosq, on_connect);
    mosquitto_disconnect_callback_set(p->mosq, on_disconnect);
    mosquitto_message_callback_set(p->mosq, on_message);
    mosquitto_reconnect_delay_set(p->mosq, 1, 30, true);
    int mrc = MOSQ_ERR_SUCCESS;
    if (tls) {
        /* Verify the broker's certificate chain against ca_file and its name
         * against HOST (libmosquitto checks the name unless told to be
         * insecure, which auditd never does); TLS 1.2 or later. */
        mrc = mosquitto_tls_set(p->mosq, ca_file, NULL, cert_file, key_file, NULL);
        if (mrc == MOSQ_ERR_SUCCESS)
            mrc = mosquitto_tls_opts_set(p->mosq, 1, "tlsv1.2", NULL);
        if (mrc != MOSQ_ERR_SUCCESS) {
            rc = adt_fail(err, ADT_EINVAL, "MQTT TLS setup (CA %s%s%s): %s", ca_file,
                          cert_file ? ", client certificate " : "", cert_file ? cert_file : "",
                          mrc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(mrc));
            mosquitto_destroy(p->mosq);
            p->mosq = NULL;
            mosquitto_lib_cleanup();
            return rc;
        }
    }
    mrc = mosquitto_connect(p->mosq, host, port, 30);
    if (mrc == MOSQ_ERR_SUCCESS)
        mrc = mosquitto_loop_start(p->mosq);
    if (mrc != MOSQ_ERR_SUCCESS) {
        rc = adt_fail(err, ADT_EIO, "MQTT broker %s:%d: %s", host, port,
                      mrc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(mrc));
        mosquitto_destroy(p->mosq);
        p->mosq = NULL;
        mosquitto_lib_cleanup();
        return rc;
    }
    /* Over TLS the handshake completes in the network thread: wait for the
     * broker's CONNACK (at most 10 s), so a broker auditd cannot trust stops
     * the start instead of being retried in silence. */
    for (int i = 0; tls && i < 1000 && __atomic_load_n(&p->conn_state, __ATOMIC_SEQ_CST) == 0; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    int cs = __atomic_load_n(&p->conn_state, __ATOMIC_SEQ_CST);
    if (tls && cs != 1) {
        rc = adt_fail(err, ADT_EIO,
                      "MQTT broker %s:%d: no TLS connection (%s): check that --mqtt-ca %s signed "
                      "the broker's certificate and that it names %s",
                      host, port, cs == 0 ? "no answer within 10 s" : "the handshake failed",
                      ca_file, host);
        pipeline_mqtt_stop(p);
        return rc;
    }
    log_msg(LOG_INFO, MOD, "MQTT: subscribed to %s on %s:%d%s as %s", MQTT_TOPIC, host, port,
            tls ? " over TLS" : "", p->client_id);
    return ADT_OK;
}

void pipeline_mqtt_stop(pipeline *p)
{
    if (!p || !p->mosq)
        return;
    mosquitto_disconnect(p->mosq);
    mosquitto_loop_stop(p->mosq, false);
    mosquitto_destroy(p->mosq);
    p->mosq = NULL;
    mosquitto_lib_cleanup();
}
