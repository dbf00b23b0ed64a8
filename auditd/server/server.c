#include "server.h"

#include "agentsig.h"
#include "api.h"
#include "bgtask.h"
#include "canon.h"
#include "commitq.h"
#include "cosigdb.h"
#include "console.h"
#include "evbatch.h"
#include "evindex.h"
#include "ledger.h"
#include "log.h"
#include "numparse.h"
#include "rfc3339.h"
#include "rights.h"
#include "state.h"
#include "witsrv.h"
#include "wsubmit.h"

#include "pipeline.h"
#include "controls.h"
#include "reports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MOD "server"
#define POOL_MAX 64
#define MAX_PARAMS 32
#define RESP_MAX (64u << 20)
#define DRAIN_WAIT_MS 30000
/* Body of a POST to a public (unauthenticated) endpoint: at most this much
 * is ever buffered for a caller nobody vouches for. */
#define PUBLIC_BODY_MAX (64u << 10)
/* After a refusal decided while a body is arriving (413 for a chunked body,
 * 429 over max_body_memory), libmicrohttpd can answer only once the body has
 * ended: up to this many more bytes are read and dropped (never kept), then
 * the connection is closed without an answer. */
#define DISCARD_MAX (16u << 20)
/* How long GET /v1/agent/batches/{seq} waits for a batch still in flight
 * before answering 409 with Retry-After. */
#define INFLIGHT_WAIT_MS 5000
/* File descriptors kept beside connections (SQLite files, pool handles, MQTT). */
#define FD_RESERVE 512

/* Reasons a request is refused, for /metrics. */
enum {
    R_INVALID, R_UNAUTH, R_FORBIDDEN, R_NOTFOUND, R_METHOD, R_REPLAY, R_TOOBIG, R_BUSY,
    R_SHUTDOWN, R_UNAVAIL, R_INTERNAL, R_COUNT
};
static const char *const reason_names[R_COUNT] = {
    "invalid", "unauthenticated", "forbidden", "not_found", "method_not_allowed", "replay",
    "too_large", "busy", "shutting_down", "unavailable", "internal"};

static const uint64_t batch_bounds[] = {1, 10, 100, 1000, 10000};
#define NBATCH (sizeof batch_bounds / sizeof batch_bounds[0])

struct server {
    char dir[4096];
    srvcfg cfg;
    uint16_t port;
    struct MHD_Daemon *mhd;
    commitq *cq;
    state *st;
    evindex *ix;
    char key_line[NOTE_KEYLINE_MAX];
    /* Read-only ledger handles: one per request at a time, never shared. */
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    ledger *pool[POOL_MAX];
    int pool_free, pool_open;
    atomic_int draining;
    atomic_int ready; /* set once server.start is recorded */
    atomic_long inflight;
    atomic_ullong requests;
    atomic_ullong rejected[R_COUNT];
    atomic_ullong batch_le[NBATCH + 1];
    atomic_ullong batch_sum, batch_count;
    atomic_ullong body_bytes;   /* request body memory reserved now (max_body_memory) */
    atomic_ullong body_refused; /* requests refused because bodies filled max_body_memory */
    /* Handler threads: requests that may block (commits, ledger reads,
     * reports) run here while their connection is suspended, so the epoll
     * threads never wait and idle sockets cost no thread. */
    pthread_mutex_t jobs_mu;
    pthread_cond_t jobs_cv, jobs_idle;
    struct conn_req *jobs_head, *jobs_tail;
    int jobs_running;
    bool jobs_stop;
    pthread_t *workers;
    int nworkers;
    /* Agent batch requests between their headers and their end, by (agent,
     * seq): GET /v1/agent/batches/{seq} never says 404 for one of them. */
    pthread_mutex_t fl_mu;
    pthread_cond_t fl_cv;
    struct conn_req *fl_head;
    /* The scheduled ledger verification. */
    pthread_t verify_thread;
    bool verify_started, verify_stop;
    pthread_mutex_t verify_mu;
    pthread_cond_t verify_cv;
    char *tls_cert, *tls_key; /* key in sodium_malloc'd memory */
    size_t tls_key_len;
    pipeline *pl;
    bool mqtt_started;
    controls *ct;
    cosigdb *cdb;   /* witnesses' cosignatures on our checkpoints (NULL: none yet, none configured) */
    wsubmit *wsub;  /* submitter to --witness URLs, or NULL */
    witsrv *wsrv;   /* POST /add-checkpoint when this data directory is a witness, or NULL */
    server_ext ext; /* additions by the caller (server_start_ext), zero without */
    console *con; /* the web console (console.c) */
};

/* ---------- ledger read pool ---------- */

static ledger *pool_get(server *s, adt_err *err)
{
    pthread_mutex_lock(&s->pool_mu);
    for (;;) {
        if (s->pool_free > 0) {
            ledger *lg = s->pool[--s->pool_free];
            pthread_mutex_unlock(&s->pool_mu);
            return lg;
        }
        if (s->pool_open < POOL_MAX) {
            s->pool_open++;
            pthread_mutex_unlock(&s->pool_mu);
            ledger *lg = NULL;
            if (ledger_open(s->dir, LEDGER_RDONLY, &lg, err)) {
                pthread_mutex_lock(&s->pool_mu);
                s->pool_open--;
                pthread_cond_signal(&s->pool_cv);
                pthread_mutex_unlock(&s->pool_mu);
                return NULL;
            }
            return lg;
        }
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    }
}

static void pool_put(server *s, ledger *lg)
{
    if (!lg)
        return;
    pthread_mutex_lock(&s->pool_mu);
    s->pool[s->pool_free++] = lg;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

static void pool_close_all(server *s)
{
    for (int i = 0; i < s->pool_free; i++)
        ledger_close(s->pool[i]);
    s->pool_free = s->pool_open = 0;
}

/* The console borrows read handles and the pipeline's replay. */
static ledger *con_pool_get(void *ctx, adt_err *err)
{
    return pool_get(ctx, err);
}

static void con_pool_put(void *ctx, ledger *lg)
{
    pool_put(ctx, lg);
}

static int con_replay(void *ctx, uint64_t request, buf *out, adt_err *err)
{
    server *s = ctx;
    return pipeline_replay(s->pl, request, out, err);
}

/* ---------- helpers ---------- */

static int b64_hash(buf *out, const merkle_hash h)
{
    char b[64];
    agentsig_b64(h, MERKLE_HASH_LEN, b, sizeof b);
    return buf_printf(out, "\"%s\"", b);
}

static int put_hashes(buf *out, const merkle_hash *h, size_t n)
{
    int rc = buf_putc(out, '[');
    for (size_t i = 0; !rc && i < n; i++) {
        if (i)
            rc = buf_putc(out, ',');
        if (!rc)
            rc = b64_hash(out, h[i]);
    }
    return rc ? rc : buf_putc(out, ']');
}

static int err_resp(api_response *r, int code, const char *fmt_msg)
{
    const char *name;
    switch (code) {
    case ADT_EINVAL: name = "invalid"; break;
    case ADT_EAUTH: name = "unauthenticated"; break;
    case ADT_EFORBIDDEN: name = "forbidden"; break;
    case ADT_ENOTFOUND: name = "not_found"; break;
    case ADT_EREPLAY: name = "replay"; break;
    case ADT_ECONFLICT: case ADT_EEXIST: name = "conflict"; break;
    case ADT_ETOOBIG: name = "too_large"; break;
    case ADT_EBUSY: name = "busy"; break;
    case ADT_ESHUTDOWN: name = "shutting_down"; break;
    default: name = "internal"; break;
    }
    int st = api_status_for(code);
    api_error(r, st, name, "%s", fmt_msg);
    if (st == 429 || st == 503)
        r->retry_after = 1;
    return ADT_OK;
}

/* The checkpoint `note` (size, root) as a JSON string, followed by the
 * witnesses' cosignatures on it if it has any; then, when some checkpoint has
 * been cosigned, the newest such as "cosigned_checkpoint" (a receipt's own
 * checkpoint is too fresh to be cosigned yet: this one is, and the receipt's
 * tree is consistent with it). */
static int put_cosigned(server *s, buf *out, const char *note, uint64_t size,
                        const merkle_hash root, adt_err *err)
{
    buf cn;
    buf_init(&cn, COSIGDB_NOTE_MAX);
    int rc = cosigdb_attach(s->cdb, note, size, root, &cn, NULL, err);
    if (!rc)
        rc = canon_put_string(out, cn.data, cn.len);
    uint64_t csize = 0;
    if (!rc && s->cdb && cosigdb_latest(s->cdb, &cn, &csize, err) == ADT_OK && csize <= size) {
        rc = buf_printf(out, ",\"cosigned_checkpoint\":");
        if (!rc)
            rc = canon_put_string(out, cn.data, cn.len);
    }
    buf_free(&cn);
    return rc;
}

/* Receipt of entries [first, first+count) from `agent`/`seq` at checkpoint
 * (tree_size, note). Proofs inline when count <= receipt_proofs_max. */
static int build_receipt(server *s, ledger *lg, buf *out, const char *agent, uint64_t seq,
                         uint64_t first, uint64_t count, uint64_t tree_size, const char *note,
                         adt_err *err)
{
    merkle_hash root;
    int rc = ledger_root(lg, tree_size, root, err);
    if (rc)
        return rc;
    rc = buf_puts(out, "{\"agent\":");
    if (!rc)
        rc = canon_put_string(out, agent, strlen(agent));
    if (!rc)
        rc = buf_printf(out, ",\"seq\":%llu,\"first\":%llu,\"count\":%llu,\"tree_size\":%llu,\"root\":",
                        (unsigned long long)seq, (unsigned long long)first,
                        (unsigned long long)count, (unsigned long long)tree_size);
    if (!rc)
        rc = b64_hash(out, root);
    if (!rc)
        rc = buf_puts(out, ",\"checkpoint\":");
    if (!rc)
        rc = put_cosigned(s, out, note, tree_size, root, err);
    if (!rc)
        rc = buf_printf(out, ",\"proof_url\":\"/v1/log/proof/inclusion?index={index}&tree_size=%llu\"",
                        (unsigned long long)tree_size);
    if (!rc && count <= s->cfg.receipt_proofs_max) {
        rc = buf_puts(out, ",\"entries\":[");
        merkle_hash path[MERKLE_MAX_PROOF], leaf;
        for (uint64_t i = 0; !rc && i < count; i++) {
            size_t n = 0;
            rc = ledger_leaf_hash(lg, first + i, leaf, err);
            if (!rc)
                rc = ledger_prove_inclusion(lg, first + i, tree_size, path, &n, err);
            if (!rc)
                rc = buf_printf(out, "%s{\"index\":%llu,\"leaf_hash\":", i ? "," : "",
                                (unsigned long long)(first + i));
            if (!rc)
                rc = b64_hash(out, leaf);
            if (!rc)
                rc = buf_puts(out, ",\"inclusion\":");
            if (!rc)
                rc = put_hashes(out, path, n);
            if (!rc)
                rc = buf_putc(out, '}');
        }
        if (!rc)
            rc = buf_putc(out, ']');
    }
    if (!rc)
        rc = buf_puts(out, "}\n");
    if (rc && !err->msg[0])
        adt_fail(err, rc, "building the receipt failed");
    return rc;
}

/* ---------- handlers ---------- */

typedef struct rq {
    server *s;
    const api_request *req;
    api_response *resp;
    const agentsig_hdr *sig;     /* for agent requests */
    const uint8_t *body_sha256;  /* for agent requests: SHA-256 of the body */
    bool stale_seq;              /* an agent request under a seq already used (a resend) */
    const console_hdrs *ch;      /* session cookie and friends */
} rq;

static int h_healthz(rq *q)
{
    commitq_stats st;
    commitq_get_stats(q->s->cq, &st);
    if (atomic_load(&q->s->draining))
        return err_resp(q->resp, ADT_ESHUTDOWN, "the daemon is shutting down");
    if (!atomic_load(&q->s->ready))
        return err_resp(q->resp, ADT_ESHUTDOWN, "the daemon is starting");
    q->resp->status = 200;
    int rc = buf_printf(&q->resp->body, "{\"status\":\"ok\",\"tree_size\":%llu,\"queue_depth\":%llu",
                        (unsigned long long)st.tree_size, (unsigned long long)st.queue_depth);
    if (!rc && q->s->wsub) { /* details: a witness that is down does not make the daemon unhealthy */
        rc = buf_puts(&q->resp->body, ",\"witnesses\":");
        if (!rc)
            rc = wsubmit_health(q->s->wsub, &q->resp->body);
    }
    return rc ? rc : buf_puts(&q->resp->body, "}\n");
}

static int h_metrics(rq *q)
{
    server *s = q->s;
    buf *b = &q->resp->body;
    commitq_stats st;
    commitq_get_stats(s->cq, &st);
    q->resp->status = 200;
    q->resp->content_type = "text/plain; version=0.0.4";
    int rc = buf_printf(b,
        "# HELP auditd_events_appended_total Events appended to the ledger by this daemon.\n"
        "# TYPE auditd_events_appended_total counter\nauditd_events_appended_total %llu\n"
        "# HELP auditd_batches_committed_total Submitted batches committed.\n"
        "# TYPE auditd_batches_committed_total counter\nauditd_batches_committed_total %llu\n"
        "# HELP auditd_commit_groups_total Ledger transactions (group commits).\n"
        "# TYPE auditd_commit_groups_total counter\nauditd_commit_groups_total %llu\n"
        "# HELP auditd_ledger_size Entries in the ledger.\n"
        "# TYPE auditd_ledger_size gauge\nauditd_ledger_size %llu\n"
        "# HELP auditd_commit_queue_depth Events waiting to be committed.\n"
        "# TYPE auditd_commit_queue_depth gauge\nauditd_commit_queue_depth %llu\n"
        "# HELP auditd_http_requests_total HTTP requests received.\n"
        "# TYPE auditd_http_requests_total counter\nauditd_http_requests_total %llu\n",
        (unsigned long long)st.events_appended, (unsigned long long)st.batches_committed,
        (unsigned long long)st.groups_committed, (unsigned long long)st.tree_size,
        (unsigned long long)st.queue_depth, (unsigned long long)atomic_load(&s->requests));
    const union MHD_DaemonInfo *ci =
        s->mhd ? MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS) : NULL;
    if (!rc)
        rc = buf_printf(b,
            "# HELP auditd_batches_deduplicated_total Resent batches answered with their original receipt (nothing appended).\n"
            "# TYPE auditd_batches_deduplicated_total counter\nauditd_batches_deduplicated_total %llu\n"
            "# HELP auditd_http_connections Open HTTP connections.\n"
            "# TYPE auditd_http_connections gauge\nauditd_http_connections %u\n"
            "# HELP auditd_body_memory_bytes Request body memory reserved now (max_body_memory).\n"
            "# TYPE auditd_body_memory_bytes gauge\nauditd_body_memory_bytes %llu\n"
            "# HELP auditd_body_memory_refused_total Requests refused because bodies in flight filled max_body_memory.\n"
            "# TYPE auditd_body_memory_refused_total counter\nauditd_body_memory_refused_total %llu\n",
            (unsigned long long)st.batches_deduplicated, ci ? ci->num_connections : 0u,
            (unsigned long long)atomic_load(&s->body_bytes),
            (unsigned long long)atomic_load(&s->body_refused));
    if (!rc)
        rc = buf_puts(b, "# HELP auditd_requests_rejected_total Requests refused, by reason.\n"
                         "# TYPE auditd_requests_rejected_total counter\n");
    for (int i = 0; !rc && i < R_COUNT; i++) {
        unsigned long long v = atomic_load(&s->rejected[i]);
        if (i == R_BUSY)
            v = v > st.rejected_busy ? v : st.rejected_busy;
        rc = buf_printf(b, "auditd_requests_rejected_total{reason=\"%s\"} %llu\n", reason_names[i], v);
    }
    if (!rc)
        rc = buf_puts(b, "# HELP auditd_batch_events Events per accepted request.\n"
                         "# TYPE auditd_batch_events histogram\n");
    unsigned long long cum = 0;
    for (size_t i = 0; !rc && i < NBATCH; i++) {
        cum += atomic_load(&s->batch_le[i]);
        rc = buf_printf(b, "auditd_batch_events_bucket{le=\"%llu\"} %llu\n",
                        (unsigned long long)batch_bounds[i], cum);
    }
    if (!rc)
        rc = buf_printf(b, "auditd_batch_events_bucket{le=\"+Inf\"} %llu\nauditd_batch_events_sum %llu\n"
                           "auditd_batch_events_count %llu\n",
                        (unsigned long long)atomic_load(&s->batch_count),
                        (unsigned long long)atomic_load(&s->batch_sum),
                        (unsigned long long)atomic_load(&s->batch_count));
    if (!rc)
        rc = buf_puts(b, "# HELP auditd_commit_latency_seconds Latency of ledger group commits.\n"
                         "# TYPE auditd_commit_latency_seconds histogram\n");
    for (int i = 0; !rc && i < 12; i++)
        rc = buf_printf(b, "auditd_commit_latency_seconds_bucket{le=\"%g\"} %llu\n",
                        commitq_latency_bounds[i], (unsigned long long)st.latency_le[i]);
    if (!rc)
        rc = buf_printf(b, "auditd_commit_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
                           "auditd_commit_latency_seconds_sum %.6f\n"
                           "auditd_commit_latency_seconds_count %llu\n",
                        (unsigned long long)st.groups_committed, st.latency_sum,
                        (unsigned long long)st.groups_committed);
    if (!rc && s->wsub)
        rc = wsubmit_metrics(s->wsub, b);
    if (!rc && s->wsrv)
        rc = witsrv_metrics(s->wsrv, b);
    return rc;
}

/* A pooled ledger handle for handler q (pool_put it), or NULL after
 * answering 500 with the reason none could be opened. */
static ledger *rq_ledger(rq *q, adt_err *err)
{
    ledger *lg = pool_get(q->s, err);
    if (!lg)
        err_resp(q->resp, ADT_EIO, err->msg);
    return lg;
}

/* rq_ledger and the ledger's size now, or NULL after answering (500 when no
 * handle opens; the size's own error otherwise, the handle returned). */
static ledger *rq_ledger_sized(rq *q, uint64_t *size, adt_err *err)
{
    ledger *lg = rq_ledger(q, err);
    if (!lg)
        return NULL;
    int rc = ledger_size(lg, size, err);
    if (!rc)
        return lg;
    pool_put(q->s, lg);
    err_resp(q->resp, rc, err->msg);
    return NULL;
}

static int h_log_key(rq *q)
{
    q->resp->status = 200;
    q->resp->content_type = "text/plain; charset=utf-8";
    return buf_printf(&q->resp->body, "%s\n", q->s->key_line);
}

static int h_log_checkpoint(rq *q)
{
    adt_err err = {0};
    ledger *lg = rq_ledger(q, &err);
    if (!lg)
        return ADT_OK;
    char note[NOTE_MAX];
    uint64_t size;
    merkle_hash root;
    int rc = ledger_checkpoint(lg, note, sizeof note, &size, &err);
    if (!rc)
        rc = ledger_root(lg, size, root, &err);
    pool_put(q->s, lg);
    /* With its witnesses' cosignatures; ?cosigned=1: the newest cosigned one. */
    const char *c = api_param_get(q->req, "cosigned");
    if (!rc && c && strcmp(c, "1") && strcmp(c, "true"))
        rc = adt_fail(&err, ADT_EINVAL, "cosigned must be 1 or true");
    if (!rc && c)
        rc = q->s->cdb ? cosigdb_latest(q->s->cdb, &q->resp->body, NULL, &err)
                       : adt_fail(&err, ADT_ENOTFOUND, "no witness has cosigned a checkpoint of "
                                  "this ledger (see auditd serve --witness)");
    else if (!rc)
        rc = cosigdb_attach(q->s->cdb, note, size, root, &q->resp->body, NULL, &err);
    if (rc)
        return err_resp(q->resp, rc, err.msg);
    q->resp->status = 200;
    q->resp->content_type = "text/plain; charset=utf-8";
    return ADT_OK;
}

static int h_witness(rq *q)
{
    if (!q->s->wsrv)
        return api_error(q->resp, 404, "not_found", "this auditd is not a witness (make it one with "
                         "'auditd witness init --name NAME' and restart it)");
    return witsrv_add_checkpoint(q->s->wsrv, q->req, q->resp);
}

static int h_witness_get(rq *q)
{
    if (!q->s->wsrv)
        return api_error(q->resp, 404, "not_found", "this auditd is not a witness");
    return witsrv_get_checkpoint(q->s->wsrv, q->req, q->resp);
}

static int h_central(rq *q)
{
    if (!q->s->ext.central_api)
        return api_error(q->resp, 404, "not_found", "this auditd is not a central front-end "
                         "(run 'auditd central serve')");
    int rc = q->s->ext.central_api(q->s->ext.central_ctx, q->req, q->resp);
    if (rc && q->resp->status == 0)
        return err_resp(q->resp, rc, "request failed");
    return ADT_OK;
}

static int param_u64(rq *q, const char *name, uint64_t *v, bool required, bool *present)
{
    const char *p = api_param_get(q->req, name);
    if (present)
        *present = p != NULL;
    if (!p) {
        if (required) {
            api_error(q->resp, 400, "invalid", "query parameter '%s' is required", name);
            return ADT_EINVAL;
        }
        return ADT_OK;
    }
    if (num_u64(p, INT64_MAX, v)) {
        api_error(q->resp, 400, "invalid", "query parameter '%s' must be a non-negative integer", name);
        return ADT_EINVAL;
    }
    return ADT_OK;
}

static int h_log_entry(rq *q)
{
    const char *tail = q->req->path + strlen("/v1/log/entries/");
    uint64_t idx;
    if (num_u64(tail, INT64_MAX, &idx))
        return api_error(q->resp, 400, "invalid", "entry index must be a non-negative integer");
    adt_err err = {0};
    uint64_t size = 0;
    ledger *lg = rq_ledger_sized(q, &size, &err);
    if (!lg)
        return ADT_OK;
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF + 1);
    int rc = ADT_OK;
    if (idx >= size)
        rc = adt_fail(&err, ADT_ENOTFOUND, "entry %llu does not exist (the ledger has %llu entries)",
                      (unsigned long long)idx, (unsigned long long)size);
    if (!rc)
        rc = ledger_entry(lg, idx, &leaf, &err);
    pool_put(q->s, lg);
    if (rc) {
        buf_free(&leaf);
        return err_resp(q->resp, rc, err.msg);
    }
    merkle_hash h;
    merkle_leaf_hash(leaf.data, leaf.len, h);
    char *b64 = malloc(sodium_base64_ENCODED_LEN(leaf.len, sodium_base64_VARIANT_ORIGINAL));
    if (!b64) {
        buf_free(&leaf);
        return err_resp(q->resp, ADT_ENOMEM, "out of memory");
    }
    sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(leaf.len, sodium_base64_VARIANT_ORIGINAL),
                      (const unsigned char *)leaf.data, leaf.len, sodium_base64_VARIANT_ORIGINAL);
    q->resp->status = 200;
    rc = buf_printf(&q->resp->body, "{\"index\":%llu,\"leaf\":\"%s\",\"leaf_hash\":",
                    (unsigned long long)idx, b64);
    if (!rc)
        rc = b64_hash(&q->resp->body, h);
    if (!rc)
        rc = buf_puts(&q->resp->body, "}\n");
    free(b64);
    buf_free(&leaf);
    return rc;
}

/* GET /v1/log/proof/inclusion?index=I&tree_size=N and
 * GET /v1/log/proof/consistency?first=M&second=N: the RFC 6962 proof, with
 * the two numbers named as asked. */
static int h_proof(rq *q, bool inclusion)
{
    const char *ka = inclusion ? "index" : "first", *kb = inclusion ? "tree_size" : "second";
    uint64_t a = 0, b = 0;
    if (param_u64(q, ka, &a, true, NULL) || param_u64(q, kb, &b, true, NULL))
        return ADT_OK;
    adt_err err = {0};
    uint64_t size = 0;
    ledger *lg = rq_ledger_sized(q, &size, &err);
    if (!lg)
        return ADT_OK;
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t np = 0;
    int rc = ADT_OK;
    if (inclusion ? a >= b || b > size : a == 0 || a > b || b > size)
        rc = adt_fail(&err, ADT_EINVAL, inclusion
                                            ? "need index < tree_size <= %llu (the ledger size)"
                                            : "need 0 < first <= second <= %llu (the ledger size)",
                      (unsigned long long)size);
    if (!rc)
        rc = inclusion ? ledger_prove_inclusion(lg, a, b, path, &np, &err)
                       : ledger_prove_consistency(lg, a, b, path, &np, &err);
    pool_put(q->s, lg);
    if (rc)
        return err_resp(q->resp, rc, err.msg);
    q->resp->status = 200;
    rc = buf_printf(&q->resp->body, "{\"%s\":%llu,\"%s\":%llu,\"hashes\":", ka,
                    (unsigned long long)a, kb, (unsigned long long)b);
    if (!rc)
        rc = put_hashes(&q->resp->body, path, np);
    return rc ? rc : buf_puts(&q->resp->body, "}\n");
}

static int h_proof_inclusion(rq *q)
{
    return h_proof(q, true);
}

static int h_proof_consistency(rq *q)
{
    return h_proof(q, false);
}

/* GET /v1/log/entries?start=S[&end=E]: the exact leaves of entries [S, E) in
 * one answer, so that a mirror reads a log in pages instead of one request per
 * entry (docs/api.md, docs/central.md). The answer is binary, like C2SP
 * tlog-tiles entry bundles but with 4-byte lengths (a leaf may exceed 64 KiB):
 * for each entry in order, its length as a big-endian uint32, then its bytes.
 * It holds at most LOG_RANGE_MAX entries and stops after the entry that takes
 * it past LOG_RANGE_BYTES, so it is bounded whatever the leaves; at least one
 * entry is always returned. Requires S < E (default S + LOG_RANGE_MAX, cut at
 * the ledger size) and S < the ledger size. */
#define LOG_RANGE_MAX 10000
#define LOG_RANGE_BYTES (4u << 20)

typedef struct range_acc {
    buf *out;
    uint64_t count;
} range_acc;

static int range_put(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    (void)index;
    range_acc *a = ctx;
    if (a->out->len >= LOG_RANGE_BYTES)
        return -1; /* page full: stop (not an error) */
    uint8_t be[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                     (uint8_t)len};
    int rc = buf_append(a->out, be, sizeof be);
    if (!rc)
        rc = buf_append(a->out, leaf, len);
    if (!rc)
        a->count++;
    return rc;
}

static int h_log_entries_range(rq *q)
{
    uint64_t start = 0, end = 0;
    bool has_end = false;
    if (param_u64(q, "start", &start, true, NULL) || param_u64(q, "end", &end, false, &has_end))
        return ADT_OK;
    adt_err err = {0};
    uint64_t size = 0;
    ledger *lg = rq_ledger_sized(q, &size, &err);
    if (!lg)
        return ADT_OK;
    int rc = ADT_OK;
    if (!has_end)
        end = start + LOG_RANGE_MAX < size ? start + LOG_RANGE_MAX : size;
    if (start >= end || start >= size)
        rc = adt_fail(&err, ADT_EINVAL, "need start < end and start < %llu (the ledger size)",
                      (unsigned long long)size);
    if (rc) {
        pool_put(q->s, lg);
        return err_resp(q->resp, rc, err.msg);
    }
    if (end - start > LOG_RANGE_MAX)
        end = start + LOG_RANGE_MAX;
    range_acc acc = {.out = &q->resp->body};
    rc = ledger_scan(lg, start, end, range_put, &acc, &err);
    pool_put(q->s, lg);
    if (rc == -1)
        rc = ADT_OK;
    if (rc) {
        buf_reset(&q->resp->body);
        return err_resp(q->resp, rc, err.msg[0] ? err.msg : "the answer outgrew its buffer");
    }
    q->resp->status = 200;
    q->resp->content_type = "application/octet-stream";
    return ADT_OK;
}

static void count_batch(server *s, uint64_t n)
{
    size_t i = 0;
    while (i < NBATCH && n > batch_bounds[i])
        i++;
    atomic_fetch_add(&s->batch_le[i], 1);
    atomic_fetch_add(&s->batch_sum, n);
    atomic_fetch_add(&s->batch_count, 1);
}

/* 403 for an event whose type the sender may not write, naming the type and
 * the writers allowed (docs/events.md, "Who may write what"). */
static int forbidden_type(api_response *r, size_t index, const char *type, event_writer w)
{
    unsigned allowed = event_type_writers(type);
    char names[96];
    event_writers_text(allowed, names, sizeof names);
    const char *wn = event_writer_name(w);
    api_error(r, 403, "forbidden", "event %zu: a%s %s agent may not write \"%s\" events (writers: "
              "%s); nothing was appended", index + 1, wn[0] == 'e' ? "n" : "", wn[0] ? wn : "unknown",
              type, names);
    /* The same facts as fields, for programs: {"error","message","type","writers","event"}. */
    buf *b = &r->body;
    if (b->len < 2 || b->data[b->len - 2] != '}')
        return ADT_OK;
    b->len -= 2;
    int rc = buf_puts(b, ",\"type\":");
    if (!rc)
        rc = canon_put_string(b, type, strlen(type));
    if (!rc)
        rc = buf_puts(b, ",\"writers\":[");
    bool first = true;
    for (unsigned bit = 1; !rc && bit <= EVENT_WRITERS_ALL; bit <<= 1)
        if (allowed & bit) {
            rc = buf_printf(b, "%s\"%s\"", first ? "" : ",", event_writer_name((event_writer)bit));
            first = false;
        }
    if (!rc)
        rc = buf_printf(b, "],\"event\":%zu}\n", index + 1);
    return rc;
}

static bool inflight_wait(server *s, const char *agent, uint64_t seq, int ms);

/* Answer with the receipt of a committed batch: its range and the
 * checkpoint signed when it was appended (the original receipt). */
static int receipt_of(rq *q, int status, const ledger_batch_rec *rec)
{
    adt_err err = {0};
    ledger *lg = rq_ledger(q, &err);
    if (!lg)
        return ADT_OK;
    char note[NOTE_MAX];
    int rc = ledger_checkpoint_at(lg, rec->tree_size, note, sizeof note, &err);
    if (!rc) {
        q->resp->status = status;
        rc = build_receipt(q->s, lg, &q->resp->body, q->req->principal, rec->seq, rec->first,
                           rec->count, rec->tree_size, note, &err);
    }
    pool_put(q->s, lg);
    return rc ? err_resp(q->resp, rc, err.msg) : ADT_OK;
}

static int h_events_post(rq *q)
{
    server *s = q->s;
    evbatch_limits lim = {s->cfg.max_batch_events, s->cfg.max_body_bytes};
    evbatch b;
    adt_err err = {0};
    int rc = evbatch_parse(q->req->body, q->req->body_len, &lim, &b, &err);
    if (rc)
        return err_resp(q->resp, rc, err.msg);
    size_t bad = 0;
    if (!evbatch_writer_check(&b, q->req->writer, &bad)) {
        rc = forbidden_type(q->resp, bad, b.types[bad], q->req->writer);
        evbatch_free(&b);
        return rc;
    }
    /* The batch is the agent and the SHA-256 of these exact bytes. */
    ledger_batch_id id = {.agent = q->req->principal, .seq = q->sig->seq};
    memcpy(id.body_sha256, q->body_sha256, 32);
    if (q->stale_seq) {
        /* The request reuses a seq (a resend of the same request): it may
         * only be answered from the batch already committed. */
        evbatch_free(&b);
        ledger *lg = pool_get(s, &err);
        if (!lg)
            return err_resp(q->resp, ADT_EIO, err.msg);
        ledger_batch_rec rec;
        rc = ledger_batch_find(lg, id.agent, id.body_sha256, &rec, &err);
        pool_put(s, lg);
        if (rc == ADT_ENOTFOUND)
            return err_resp(q->resp, ADT_EREPLAY, "this seq was used already and this body was "
                            "never committed: sign the batch with a new seq");
        if (rc)
            return err_resp(q->resp, rc, err.msg);
        return receipt_of(q, 200, &rec);
    }
    if (evbatch_items(&b, q->req->principal, q->req->writer, q->req->sig_json, q->req->sig_len)) {
        evbatch_free(&b);
        return err_resp(q->resp, ADT_ENOMEM, "out of memory");
    }
    ledger_commit c;
    ledger_batch_rec rec;
    bool dup = false;
    rc = commitq_submit_batch(s->cq, b.items, b.n, &id, &c, &rec, &dup, &err);
    size_t n = b.n;
    evbatch_free(&b);
    if (rc)
        return err_resp(q->resp, rc, err.msg);
    if (!dup)
        count_batch(s, n);
    ledger *lg = pool_get(s, &err);
    if (!lg)
        return err_resp(q->resp, ADT_EIO, err.msg);
    /* 201: appended now. 200: these bytes were committed before (a resend):
     * nothing was appended and the receipt is the original one. */
    q->resp->status = dup ? 200 : 201;
    rc = build_receipt(s, lg, &q->resp->body, q->req->principal, dup ? rec.seq : q->sig->seq,
                       c.first, c.count, c.tree_size, c.checkpoint, &err);
    pool_put(s, lg);
    if (rc) {
        log_msg(LOG_ERROR, MOD, "events %llu..%llu committed but the receipt failed: %s",
                (unsigned long long)c.first, (unsigned long long)(c.first + c.count), err.msg);
        return err_resp(q->resp, ADT_EINTERNAL, "events were committed but the receipt failed; ask "
                        "GET /v1/agent/batches/{seq}");
    }
    return ADT_OK;
}

static int h_agent_batch(rq *q)
{
    server *s = q->s;
    uint64_t seq;
    if (num_u64(q->req->path + strlen("/v1/agent/batches/"), INT64_MAX, &seq))
        return api_error(q->resp, 400, "invalid", "batch seq must be a positive integer");
    /* A batch whose request is still arriving or committing is neither
     * committed nor refused yet: never 404 for it. */
    if (inflight_wait(s, q->req->principal, seq, INFLIGHT_WAIT_MS)) {
        api_error(q->resp, 409, "in_flight", "the batch signed with seq %llu is still being "
                  "received or committed; ask again after Retry-After", (unsigned long long)seq);
        q->resp->retry_after = 1;
        return ADT_OK;
    }
    adt_err err = {0};
    ledger *lg = pool_get(s, &err);
    if (!lg)
        return err_resp(q->resp, ADT_EIO, err.msg);
    ledger_batch_rec rec;
    int rc = ledger_batch_by_seq(lg, q->req->principal, seq, &rec, &err);
    if (rc == ADT_OK) {
        pool_put(s, lg);
        return receipt_of(q, 200, &rec);
    }
    /* Batches committed before batch identities were recorded: the events
     * index, at the latest checkpoint. */
    uint64_t first = 0, count = 0, size = 0;
    char note[NOTE_MAX];
    rc = rc == ADT_ENOTFOUND ? evindex_catch_up(s->ix, lg, &err) : rc;
    if (!rc)
        rc = evindex_batch(s->ix, q->req->principal, seq, &first, &count, &err);
    if (!rc)
        rc = ledger_checkpoint(lg, note, sizeof note, &size, &err);
    if (!rc) {
        q->resp->status = 200;
        rc = build_receipt(s, lg, &q->resp->body, q->req->principal, seq, first, count, size, note,
                           &err);
    }
    pool_put(s, lg);
    if (rc)
        return err_resp(q->resp, rc, err.msg);
    return ADT_OK;
}

static int time_param(rq *q, const char *name, int64_t *v)
{
    const char *p = api_param_get(q->req, name);
    if (!p)
        return ADT_OK;
    if (rfc3339_parse(p, strlen(p), v)) {
        api_error(q->resp, 400, "invalid", "'%s' must be an RFC 3339 time (2026-07-01T00:00:00Z)", name);
        return ADT_EINVAL;
    }
    return ADT_OK;
}

static int h_events_get(rq *q)
{
    server *s = q->s;
    evindex_query eq = {.type = api_param_get(q->req, "type"),
                        .source = api_param_get(q->req, "source"),
                        .actor = api_param_get(q->req, "actor"),
                        .from_us = INT64_MIN,
                        .to_us = INT64_MAX,
                        .limit = 100};
    uint64_t lim = 100, cur = 0;
    bool has_cur = false;
    if (time_param(q, "from", &eq.from_us) || time_param(q, "to", &eq.to_us) ||
        param_u64(q, "limit", &lim, false, NULL) || param_u64(q, "cursor", &cur, false, &has_cur))
        return ADT_OK;
    if (lim < 1 || lim > 1000)
        return api_error(q->resp, 400, "invalid", "limit must be 1..1000");
    eq.limit = (unsigned)lim;
    eq.after = cur;
    eq.has_after = has_cur;
    adt_err err = {0};
    ledger *lg = pool_get(s, &err);
    if (!lg)
        return err_resp(q->resp, ADT_EIO, err.msg);
    uint64_t *idx = calloc(eq.limit, sizeof *idx);
    unsigned n = 0;
    int more = 0;
    int rc = idx ? evindex_catch_up(s->ix, lg, &err) : adt_fail(&err, ADT_ENOMEM, "out of memory");
    if (!rc)
        rc = evindex_query_run(s->ix, &eq, idx, &n, &more, &err);
    buf *b = &q->resp->body;
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF + 1);
    if (!rc)
        rc = buf_puts(b, "{\"events\":[");
    for (unsigned i = 0; !rc && i < n; i++) {
        rc = ledger_entry(lg, idx[i], &leaf, &err);
        if (!rc)
            rc = buf_printf(b, "%s{\"index\":%llu,\"leaf\":", i ? "," : "", (unsigned long long)idx[i]);
        if (!rc)
            rc = buf_append(b, leaf.data, leaf.len);
        if (!rc)
            rc = buf_putc(b, '}');
    }
    if (!rc) {
        if (more && n > 0)
            rc = buf_printf(b, "],\"next_cursor\":\"%llu\"}\n", (unsigned long long)idx[n - 1]);
        else
            rc = buf_puts(b, "],\"next_cursor\":null}\n");
    }
    pool_put(s, lg);
    buf_free(&leaf);
    free(idx);
    if (rc)
        return err_resp(q->resp, rc, err.msg[0] ? err.msg : "answer too large; lower limit");
    q->resp->status = 200;
    return ADT_OK;
}

/* {"<key>": <list>} from one of state.c's JSON listings. */
static int h_state_list(rq *q, const char *key,
                        int (*list)(state *st, buf *out, adt_err *err))
{
    adt_err err = {0};
    buf_printf(&q->resp->body, "{\"%s\":", key);
    int rc = list(q->s->st, &q->resp->body, &err);
    if (rc)
        return err_resp(q->resp, rc, err.msg);
    q->resp->status = 200;
    return buf_puts(&q->resp->body, "}\n");
}

static int h_agents_list(rq *q)
{
    return h_state_list(q, "agents", state_agent_list_json);
}

static int h_tokens_list(rq *q)
{
    return h_state_list(q, "tokens", state_token_list_json);
}

/* Record an administrative act through the commit queue (source "auditd"). */
static int audit_via_queue(server *s, const char *type, const char *actor, const char *fields,
                           adt_err *err)
{
    return state_audit_record(&(evsink){.cq = s->cq}, type, actor, fields, 0, err);
}

static int h_agent_revoke(rq *q)
{
    const char *p = q->req->path + strlen("/v1/agents/");
    const char *slash = strchr(p, '/');
    if (!slash || strcmp(slash, "/revoke") || !agentsig_name_valid(p, (size_t)(slash - p)))
        return api_error(q->resp, 404, "not_found", "use POST /v1/agents/{name}/revoke");
    char name[AGENTSIG_NAME_MAX + 1], role[32], fields[512];
    memcpy(name, p, (size_t)(slash - p));
    name[slash - p] = '\0';
    adt_err err = {0};
    int rc = state_agent_revoke(q->s->st, name, role, sizeof role, &err);
    if (rc)
        return err_resp(q->resp, rc, err.msg);
    snprintf(fields, sizeof fields, "{\"agent\":\"%s\",\"role\":\"%s\"}", name, role);
    char actor[100];
    snprintf(actor, sizeof actor, "token:%s", q->req->principal);
    if ((rc = audit_via_queue(q->s, "agent.revoke", actor, fields, &err)))
        log_msg(LOG_ERROR, MOD, "agent %s revoked but not recorded in the ledger: %s", name, err.msg);
    q->resp->status = 200;
    return buf_printf(&q->resp->body, "{\"revoked\":\"%s\"}\n", name);
}

typedef int (*part_fn)(rq *q);

/* A part that did not open when the daemon started (its error is in the
 * daemon's log); the rest of the daemon keeps serving. */
static int h_unavailable(rq *q, const char *part)
{
    return api_error(q->resp, 503, "unavailable", "%s is served by the %s, which did not open when "
                     "the daemon started: see the daemon's log, fix the cause and restart it",
                     q->req->path, part);
}

static int part_answer(rq *q, int rc)
{
    if (rc == ADT_ENOTFOUND && q->resp->status == 0)
        return api_error(q->resp, 404, "not_found", "no such resource: %s", q->req->path);
    if (rc && q->resp->status == 0)
        return err_resp(q->resp, rc, "request failed");
    return ADT_OK;
}

static int h_pipeline(rq *q)
{
    if (!q->s->pl)
        return h_unavailable(q, "pipeline");
    return part_answer(q, pipeline_api(q->s->pl, q->req, q->resp));
}
static int h_controls(rq *q)
{
    if (!q->s->ct)
        return h_unavailable(q, "controls engine");
    return part_answer(q, controls_api(q->s->ct, q->req, q->resp));
}
static int h_reports(rq *q)
{
    return part_answer(q, reports_api(q->s->dir, q->s->cq, q->req, q->resp));
}

static int h_console(rq *q)
{
    if (!q->s->con)
        return h_unavailable(q, "web console");
    int rc = console_api(q->s->con, q->ch, q->req, q->resp);
    if (rc && q->resp->status == 0)
        return err_resp(q->resp, rc, "request failed");
    return ADT_OK;
}

/* ---------- routing ---------- */


typedef struct route {
    const char *method;
    const char *path;
    int prefix; /* 1: path or path + "/..." ; 2: path + "..." (the rest non-empty) */
    part_fn fn;
} route;

static const route routes[] = {
    {"GET", "/healthz", 0, h_healthz},
    {"GET", "/metrics", 0, h_metrics},
    {"GET", "/v1/log/key", 0, h_log_key},
    {"GET", "/v1/log/checkpoint", 0, h_log_checkpoint},
    {"GET", "/v1/log/entries", 0, h_log_entries_range},
    {"GET", "/v1/log/entries/", 2, h_log_entry},
    {"GET", "/v1/log/proof/inclusion", 0, h_proof_inclusion},
    {"GET", "/v1/log/proof/consistency", 0, h_proof_consistency},
    {"POST", "/v1/events", 0, h_events_post},
    {"GET", "/v1/events", 0, h_events_get},
    {"GET", "/v1/agent/batches/", 2, h_agent_batch},
    {"GET", "/v1/agents", 0, h_agents_list},
    {"POST", "/v1/agents/", 2, h_agent_revoke},
    {"GET", "/v1/tokens", 0, h_tokens_list},
    {"POST", "/v1/telemetry", 0, h_pipeline},
    {"GET", "/v1/devices", 1, h_pipeline},
    {"GET", "/v1/quarantine", 1, h_pipeline},
    {"GET", "/v1/models", 1, h_pipeline},
    {"GET", "/v1/controls", 1, h_controls},
    {"GET", "/v1/findings", 0, h_controls},
    {"GET", "/v1/raci", 0, h_controls},
    {"GET", "/v1/reports/", 2, h_reports},  /* read: records nothing */
    {"POST", "/v1/reports/", 2, h_reports}, /* issue: records report.issued */
    {"GET", "/v1/shipments/", 2, h_reports}, /* batches for the central tier */
    {"POST", "/add-checkpoint", 0, h_witness}, /* C2SP tlog-witness */
    {"GET", "/v1/witness/", 2, h_witness_get}, /* its monitoring prefix */
    {"GET", "/v1/central/", 2, h_central},     /* auditd central serve */
    {"GET", "/ui", 1, h_console},
    {"POST", "/v1/session", 0, h_console},
    {"GET", "/v1/session", 0, h_console},
    {"DELETE", "/v1/session", 0, h_console},
    {"GET", "/v1/console/", 2, h_console},
    {"POST", "/v1/console/", 2, h_console},
};

static bool path_matches(const route *r, const char *path)
{
    size_t n = strlen(r->path);
    switch (r->prefix) {
    case 0: return !strcmp(path, r->path);
    case 1: return !strncmp(path, r->path, n) && (path[n] == '\0' || path[n] == '/');
    default: return !strncmp(path, r->path, n) && path[n] != '\0';
    }
}

/* ---------- MHD glue ----------
 *
 * libmicrohttpd runs `threads` epoll threads that never block: they read
 * headers, decide authentication from them (before a body byte is kept),
 * buffer bodies within max_body_memory, and answer the cheap public
 * endpoints. Every other request is handed to one of `workers` handler
 * threads with its connection suspended, and the connection is resumed to
 * send the answer. So idle or slow sockets cost no thread, and a commit or a
 * report never delays /healthz. */

typedef struct param_acc {
    api_param p[MAX_PARAMS];
    size_t n;
    bool overflow;
} param_acc;

/* One request, from its headers to its completion. */
typedef struct conn_req {
    server *s;
    struct MHD_Connection *conn;
    const route *rt;
    const rights_entry *right;  /* who may call it (rights.h); NULL: nobody */
    const char *url, *method;   /* libmicrohttpd's, valid until the request completes */
    param_acc pa;
    buf body;
    uint64_t body_max;          /* the route's body limit */
    uint64_t reserved;          /* bytes reserved against max_body_memory */
    uint64_t discarded;         /* bytes dropped after a refusal */
    /* Authentication, decided from the headers. */
    console_hdrs ch;            /* the console's session headers */
    unsigned person_roles;
    api_role role;
    event_writer writer;
    char principal[AGENTSIG_NAME_MAX + 8];
    bool agent;                 /* the signature is checked once the body is in */
    agentsig_hdr sig;
    uint8_t pub[32];
    bool stale_seq;
    /* The answer: a refusal decided early, or the handler's. */
    api_response resp;
    bool answered;
    struct conn_req *next_job;
    /* In-flight registration (agent requests, from their headers to their
     * completion; seq_settled once the seq was used up or refused). */
    bool registered, seq_settled;
    struct conn_req *fl_next, *fl_prev;
} conn_req;

static enum MHD_Result on_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    param_acc *a = cls;
    if (a->n >= MAX_PARAMS) {
        a->overflow = true;
        return MHD_NO;
    }
    a->p[a->n].key = key;
    a->p[a->n].value = value ? value : "";
    a->n++;
    return MHD_YES;
}

static int reason_of(const api_response *r)
{
    int status = r->status;
    switch (status) {
    case 400: return R_INVALID;
    case 401: return R_UNAUTH;
    case 403: return R_FORBIDDEN;
    case 404: return R_NOTFOUND;
    case 405: return R_METHOD;
    case 409: return R_REPLAY;
    case 413: return R_TOOBIG;
    case 429: return R_BUSY;
    case 503: return r->retry_after ? R_SHUTDOWN : R_UNAVAIL; /* draining sets Retry-After */
    default: return R_INTERNAL;
    }
}

static void add_header(void *ctx, const char *name, const char *value)
{
    MHD_add_response_header(ctx, name, value);
}

static enum MHD_Result send_resp(server *s, struct MHD_Connection *c, api_response *r)
{
    if (r->status == 0)
        err_resp(r, ADT_EINTERNAL, "handler produced no answer");
    if (r->status >= 400)
        atomic_fetch_add(&s->rejected[reason_of(r)], 1);
    size_t len = 0;
    char *data = buf_steal(&r->body, &len);
    struct MHD_Response *resp;
    if (data && len)
        resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    else {
        free(data);
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    console_security_headers(add_header, resp);
    if (r->set_cookie[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
    if (r->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---------- in-flight agent batches ---------- */

static void inflight_add(server *s, conn_req *cr)
{
    pthread_mutex_lock(&s->fl_mu);
    cr->fl_prev = NULL;
    cr->fl_next = s->fl_head;
    if (s->fl_head)
        s->fl_head->fl_prev = cr;
    s->fl_head = cr;
    cr->registered = true;
    pthread_mutex_unlock(&s->fl_mu);
}

static void inflight_remove(server *s, conn_req *cr)
{
    if (!cr->registered)
        return;
    pthread_mutex_lock(&s->fl_mu);
    if (cr->fl_prev)
        cr->fl_prev->fl_next = cr->fl_next;
    else
        s->fl_head = cr->fl_next;
    if (cr->fl_next)
        cr->fl_next->fl_prev = cr->fl_prev;
    cr->registered = false;
    pthread_cond_broadcast(&s->fl_cv);
    pthread_mutex_unlock(&s->fl_mu);
}

static bool inflight_has_locked(server *s, const char *agent, uint64_t seq)
{
    for (conn_req *p = s->fl_head; p; p = p->fl_next)
        if (p->sig.seq == seq && !strcmp(p->sig.name, agent))
            return true;
    return false;
}

static void inflight_settle(server *s, conn_req *cr)
{
    if (!cr->registered)
        return;
    pthread_mutex_lock(&s->fl_mu);
    cr->seq_settled = true;
    pthread_cond_broadcast(&s->fl_cv);
    pthread_mutex_unlock(&s->fl_mu);
}

static bool lower_unsettled_locked(server *s, const conn_req *cr)
{
    for (conn_req *p = s->fl_head; p; p = p->fl_next)
        if (p != cr && !p->seq_settled && p->sig.seq < cr->sig.seq && !strcmp(p->sig.name, cr->sig.name))
            return true;
    return false;
}

/* Seqs are used up in their order: wait (up to `ms`) until every request of
 * the same agent with a lower seq that is still in flight has used up or
 * lost its own, so that a later request (a lookup after a dropped
 * connection) does not turn an earlier one still arriving into a replay. */
static void inflight_wait_lower(server *s, conn_req *cr, int ms)
{
    struct timespec until = bgtask_deadline_ms(ms);
    pthread_mutex_lock(&s->fl_mu);
    while (lower_unsettled_locked(s, cr))
        if (pthread_cond_timedwait(&s->fl_cv, &s->fl_mu, &until))
            break;
    pthread_mutex_unlock(&s->fl_mu);
}

/* True if (agent, seq) is still in flight after waiting up to `ms`. */
static bool inflight_wait(server *s, const char *agent, uint64_t seq, int ms)
{
    struct timespec until = bgtask_deadline_ms(ms);
    pthread_mutex_lock(&s->fl_mu);
    bool busy;
    while ((busy = inflight_has_locked(s, agent, seq)) && ms > 0)
        if (pthread_cond_timedwait(&s->fl_cv, &s->fl_mu, &until))
            break;
    busy = inflight_has_locked(s, agent, seq);
    pthread_mutex_unlock(&s->fl_mu);
    return busy;
}

/* ---------- authentication ---------- */

/* The agent's part of authenticate, from the headers alone: the
 * AuditdAgent header parses, the agent is known and not revoked, its
 * timestamp is within max_skew_seconds and its seq ahead, or the request is
 * the resend of a committed batch request (cr->stale_seq). A copy still in
 * flight is 409 with Retry-After. Fills `resp` on refusal. */
static int authenticate_agent(server *s, const char *authz, conn_req *cr, api_response *resp)
{
    adt_err err = {0};
    size_t alen = strlen(authz);
    agentsig_hdr *sig = &cr->sig;
    char agent_role[16] = "";
    uint64_t last_seq = 0;
    int rc = agentsig_parse(authz, alen, sig, &err);
    if (!rc)
        rc = state_agent_lookup(s->st, sig->name, cr->pub, agent_role, sizeof agent_role,
                                &last_seq, &err);
    if (rc == ADT_ENOTFOUND)
        rc = ADT_EAUTH;
    if (!rc) {
        int64_t now = time(NULL);
        int64_t d = now > sig->ts ? now - sig->ts : sig->ts - now;
        if ((uint64_t)d > s->cfg.max_skew_seconds)
            rc = adt_fail(&err, ADT_EREPLAY, "request timestamp is %lld s away from the server's "
                          "clock (allowed: %llu s); check the agent's clock", (long long)d,
                          (unsigned long long)s->cfg.max_skew_seconds);
    }
    if (!rc)
        rc = state_seq_check(sig->name, last_seq, sig->seq, (uint64_t)rfc3339_now_us(), &err);
    /* The same request again while the first copy is still arriving or
     * committing: 409 with Retry-After (whichever copy got here first
     * decides). */
    if ((!rc || rc == ADT_EREPLAY) && inflight_wait(s, sig->name, sig->seq, 0)) {
        api_error(resp, 409, "in_flight", "the request signed with seq %llu is still being "
                  "received or committed; ask again after Retry-After",
                  (unsigned long long)sig->seq);
        resp->retry_after = 1;
        return ADT_ECONFLICT;
    }
    /* A seq already used is let through only as the resend of a
     * committed batch request: it is answered with the original receipt
     * (after the signature and the body are checked), never appended. */
    if (rc == ADT_EREPLAY && sig->seq <= last_seq && cr->rt->fn == h_events_post) {
        ledger *lg = pool_get(s, &err);
        ledger_batch_rec rec;
        adt_err e2;
        if (lg && ledger_batch_by_seq(lg, sig->name, sig->seq, &rec, &e2) == ADT_OK) {
            cr->stale_seq = true;
            rc = ADT_OK;
        }
        pool_put(s, lg);
    }
    if (rc) {
        err_resp(resp, rc, err.msg);
        return rc;
    }
    snprintf(cr->principal, sizeof cr->principal, "%s", sig->name);
    cr->role = API_ROLE_AGENT;
    cr->writer = event_writer_parse(agent_role, strlen(agent_role));
    cr->agent = true;
    return ADT_OK;
}

/* Who is calling, decided from the request line and headers alone, before
 * any body byte is kept: a bearer token must be valid; an agent must be
 * known and not revoked, its timestamp within max_skew_seconds and its seq
 * ahead (or a resend of a committed or in-flight batch request). Then the
 * route's role is checked. The agent's signature covers the body's SHA-256,
 * so it is checked by authenticate_body once the body is in; nothing is
 * done for the request before that. This is the one place that decides;
 * returns ADT_OK or fills `resp` with the refusal. */
static int authenticate(server *s, struct MHD_Connection *c, conn_req *cr, api_response *resp)
{
    if (!cr->right) {
        err_resp(resp, ADT_EFORBIDDEN, "no right opens this endpoint to anyone");
        return ADT_EFORBIDDEN;
    }
    api_need need = cr->right->need;
    const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    adt_err err = {0};
    cr->role = API_ROLE_NONE;
    cr->principal[0] = '\0';
    if (need == API_NEED_PUBLIC)
        return ADT_OK;
    /* A person signed in to the console: the session cookie, CSRF for state
     * changes, and the console's rights table (console.c) decide. Agents'
     * endpoints never take a cookie. */
    if (!authz && cr->ch.cookie && need != API_NEED_AGENT && s->con) {
        api_request req = {.method = cr->method, .path = cr->url};
        int rc = console_authenticate(s->con, &cr->ch, &req, cr->principal, sizeof cr->principal,
                                      &err);
        if (rc) {
            err_resp(resp, rc, err.msg);
            return rc;
        }
        cr->role = req.role;
        cr->writer = req.writer;
        cr->person_roles = req.person_roles;
        return ADT_OK;
    }
    if (need == API_NEED_SESSION) {
        err_resp(resp, ADT_EAUTH, "this endpoint is for people signed in to the console "
                                  "(POST /v1/session sets the session cookie)");
        return ADT_EAUTH;
    }
    if (!authz) {
        err_resp(resp, ADT_EAUTH, need == API_NEED_AGENT
                                      ? "this endpoint needs an agent request signature "
                                        "(Authorization: AuditdAgent ...)"
                                      : "this endpoint needs a bearer token (Authorization: Bearer ...)");
        return ADT_EAUTH;
    }
    size_t alen = strlen(authz);
    if (alen > 7 && !strncmp(authz, "Bearer ", 7)) {
        api_role role;
        int rc = state_token_check(s->st, authz + 7, &role, cr->principal, sizeof cr->principal, &err);
        if (rc) {
            err_resp(resp, rc, err.msg);
            return rc;
        }
        cr->role = role;
    } else if (!strncmp(authz, AGENTSIG_SCHEME " ", strlen(AGENTSIG_SCHEME) + 1)) {
        int rc = authenticate_agent(s, authz, cr, resp);
        if (rc)
            return rc;
    } else {
        err_resp(resp, ADT_EAUTH, "unsupported Authorization scheme: use Bearer or AuditdAgent");
        return ADT_EAUTH;
    }
    if (!api_role_may(cr->role, need)) {
        char m[200];
        snprintf(m, sizeof m, "%s %s needs %s", cr->method, cr->url, api_need_text(need));
        err_resp(resp, ADT_EFORBIDDEN, m);
        return ADT_EFORBIDDEN;
    }
    return ADT_OK;
}

/* The agent's proof, once the body is in: the signature over the body's
 * SHA-256 verifies with the agent's key, and the seq is used up (unless the
 * request is the resend of a committed batch, which appends nothing).
 * Fills `bh` and the leaf's signature record. */
static int authenticate_body(server *s, conn_req *cr, uint8_t bh[32], buf *sig_json,
                             api_response *resp)
{
    adt_err err = {0};
    crypto_hash_sha256(bh, (const unsigned char *)(cr->body.data ? cr->body.data : ""), cr->body.len);
    int rc = agentsig_verify(&cr->sig, cr->method, cr->url, bh, cr->pub, &err);
    if (!rc && !cr->stale_seq) {
        inflight_wait_lower(s, cr, INFLIGHT_WAIT_MS);
        rc = state_agent_use_seq(s->st, cr->sig.name, cr->sig.seq, &err);
    }
    inflight_settle(s, cr);
    if (!rc && agentsig_json(sig_json, &cr->sig, cr->pub, cr->method, cr->url, bh))
        rc = adt_fail(&err, ADT_EINTERNAL, "signature record too large");
    if (rc)
        err_resp(resp, rc, err.msg);
    return rc;
}

/* ---------- running a request ---------- */

static bool is_quick(const route *rt)
{
    /* Cheap, public, no ledger handle: answered on the epoll thread. */
    return rt->fn == h_healthz || rt->fn == h_metrics || rt->fn == h_log_key;
}

/* Run the route's handler (on a worker, or inline for quick routes) and
 * leave the answer in cr->resp. */
static void run_request(conn_req *cr)
{
    server *s = cr->s;
    api_request req = {.method = cr->method,
                       .path = cr->url,
                       .params = cr->pa.p,
                       .nparams = cr->pa.n,
                       .body = cr->body.len ? cr->body.data : NULL,
                       .body_len = cr->body.len,
                       .role = cr->role,
                       .principal = cr->principal,
                       .writer = cr->writer,
                       .person_roles = cr->person_roles};
    uint8_t bh[32] = {0};
    buf sig_json;
    buf_init(&sig_json, 4096);
    if (!cr->agent || authenticate_body(s, cr, bh, &sig_json, &cr->resp) == ADT_OK) {
        if (cr->agent) {
            req.sig_json = sig_json.data;
            req.sig_len = sig_json.len;
        }
        rq q = {.s = s, .req = &req, .resp = &cr->resp, .sig = &cr->sig, .body_sha256 = bh,
                .stale_seq = cr->stale_seq, .ch = &cr->ch};
        if (cr->rt->fn(&q) && cr->resp.status == 0)
            err_resp(&cr->resp, ADT_EINTERNAL, "answer too large or internal error");
    }
    buf_free(&sig_json);
    /* The body is no longer needed: give its memory back now. */
    buf_free(&cr->body);
    atomic_fetch_sub(&s->body_bytes, cr->reserved);
    cr->reserved = 0;
    cr->answered = true;
}

static void *worker_main(void *arg)
{
    server *s = arg;
    pthread_mutex_lock(&s->jobs_mu);
    for (;;) {
        while (!s->jobs_head && !s->jobs_stop)
            pthread_cond_wait(&s->jobs_cv, &s->jobs_mu);
        if (!s->jobs_head)
            break;
        conn_req *cr = s->jobs_head;
        s->jobs_head = cr->next_job;
        if (!s->jobs_head)
            s->jobs_tail = NULL;
        s->jobs_running++;
        pthread_mutex_unlock(&s->jobs_mu);
        run_request(cr);
        /* The last touch of cr: once resumed, the epoll thread may send the
         * answer and free it. */
        MHD_resume_connection(cr->conn);
        pthread_mutex_lock(&s->jobs_mu);
        s->jobs_running--;
        if (!s->jobs_head && !s->jobs_running)
            pthread_cond_broadcast(&s->jobs_idle);
    }
    pthread_mutex_unlock(&s->jobs_mu);
    return NULL;
}

static void job_push(server *s, conn_req *cr)
{
    pthread_mutex_lock(&s->jobs_mu);
    cr->next_job = NULL;
    if (s->jobs_tail)
        s->jobs_tail->next_job = cr;
    else
        s->jobs_head = cr;
    s->jobs_tail = cr;
    pthread_cond_signal(&s->jobs_cv);
    pthread_mutex_unlock(&s->jobs_mu);
}

/* Wait until no job is queued or running (every suspended connection was
 * resumed), then stop the workers. */
static void workers_stop(server *s)
{
    pthread_mutex_lock(&s->jobs_mu);
    while (s->jobs_head || s->jobs_running)
        pthread_cond_wait(&s->jobs_idle, &s->jobs_mu);
    s->jobs_stop = true;
    pthread_cond_broadcast(&s->jobs_cv);
    pthread_mutex_unlock(&s->jobs_mu);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    s->nworkers = 0;
}

/* ---------- request phases ---------- */

/* Reserve `n` more bytes of body memory; false (nothing reserved) if that
 * would pass max_body_memory. */
static bool body_reserve(server *s, conn_req *cr, uint64_t n)
{
    uint64_t before = atomic_fetch_add(&s->body_bytes, n);
    if (before + n > s->cfg.max_body_memory) {
        atomic_fetch_sub(&s->body_bytes, n);
        atomic_fetch_add(&s->body_refused, 1);
        return false;
    }
    cr->reserved += n;
    return true;
}

/* A refusal decided while the body arrives: drop the body, keep the answer
 * for when the request has ended. */
static void refuse_late(conn_req *cr, int code, const char *msg)
{
    buf_free(&cr->body);
    atomic_fetch_sub(&cr->s->body_bytes, cr->reserved);
    cr->reserved = 0;
    buf_reset(&cr->resp.body);
    err_resp(&cr->resp, code, msg);
    cr->answered = true;
}

/* The headers are in: route, authenticate, reserve body memory. Answers at
 * once (before any body byte is read) when refusing. */
static enum MHD_Result begin_request(server *s, struct MHD_Connection *c, const char *url,
                                     const char *method, conn_req *cr)
{
    api_response *r = &cr->resp;
    if (atomic_load(&s->draining)) {
        err_resp(r, ADT_ESHUTDOWN, "the daemon is shutting down; retry shortly");
        return send_resp(s, c, r);
    }
    /* HEAD is served as GET (libmicrohttpd sends no body for it). */
    const char *rm = !strcmp(method, "HEAD") ? "GET" : method;
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (path_matches(&routes[i], url)) {
            path_known = true;
            if (!strcmp(routes[i].method, rm)) {
                cr->rt = &routes[i];
                cr->right = rights_find(rm, url);
                break;
            }
        }
    if (!cr->rt) {
        if (path_known)
            api_error(r, 405, "method_not_allowed", "%s is not allowed on %s", method, url);
        else
            api_error(r, 404, "not_found", "no such endpoint: %s (see docs/api.md)", url);
        return send_resp(s, c, r);
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, on_param, &cr->pa);
    if (cr->pa.overflow) {
        err_resp(r, ADT_EINVAL, "too many query parameters");
        return send_resp(s, c, r);
    }
    cr->body_max = strcmp(rm, "POST") ? 0
                   : cr->right && cr->right->need == API_NEED_PUBLIC ? PUBLIC_BODY_MAX
                                               : s->cfg.max_body_bytes;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t clen = 0;
    bool has_cl = cl && !num_u64(cl, UINT64_MAX, &clen);
    if (has_cl && clen > cr->body_max) {
        char m[200];
        snprintf(m, sizeof m, "body of %llu bytes is over the limit of %llu bytes for %s %s",
                 (unsigned long long)clen, (unsigned long long)cr->body_max, method, url);
        err_resp(r, ADT_ETOOBIG, m);
        return send_resp(s, c, r);
    }
    cr->ch = (console_hdrs){
        .cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE),
        .csrf = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token"),
        .origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"),
        .host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
        .sec_fetch_site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site")};
    if (authenticate(s, c, cr, r))
        return send_resp(s, c, r);
    /* Known size: reserve it all now (and size the buffer exactly). */
    if (has_cl && clen > 0) {
        if (!body_reserve(s, cr, clen + 1)) {
            err_resp(r, ADT_EBUSY, "request bodies in flight fill max_body_memory; retry after "
                     "Retry-After");
            return send_resp(s, c, r);
        }
        cr->body.max = clen;
    }
    if (cr->agent && !cr->stale_seq)
        inflight_add(s, cr);
    /* Authenticated callers may stay idle longer than anonymous ones. */
    if (cr->role != API_ROLE_NONE)
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                                  (unsigned int)s->cfg.idle_timeout_seconds);
    return MHD_YES;
}

/* A piece of the body. */
static enum MHD_Result body_chunk(server *s, conn_req *cr, const char *data, size_t n)
{
    if (cr->answered) {
        /* Refused already: read and drop the rest, within bounds. */
        cr->discarded += n;
        return cr->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (cr->body.len + n > cr->body_max) {
        char m[200];
        snprintf(m, sizeof m, "body is over the limit of %llu bytes for %s %s",
                 (unsigned long long)cr->body_max, cr->method, cr->url);
        refuse_late(cr, ADT_ETOOBIG, m);
        cr->discarded = n;
        return MHD_YES;
    }
    /* Memory is reserved before it is allocated: the buffer grows by
     * doubling (up to its maximum, the Content-Length when there is one,
     * which begin_request reserved whole). */
    size_t need = cr->body.len + n + 1;
    if (need > cr->body.cap) {
        uint64_t cap = cr->body.cap ? cr->body.cap : 256;
        while (cap < need)
            cap *= 2;
        if (cap > (uint64_t)cr->body.max + 1)
            cap = (uint64_t)cr->body.max + 1;
        if (cap > cr->reserved && !body_reserve(s, cr, cap - cr->reserved)) {
            refuse_late(cr, ADT_EBUSY, "request bodies in flight fill max_body_memory; retry "
                        "after Retry-After");
            cr->discarded = n;
            return MHD_YES;
        }
    }
    if (buf_append(&cr->body, data, n)) {
        refuse_late(cr, ADT_ENOMEM, "out of memory for the request body");
        cr->discarded = n;
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    server *s = cls;
    conn_req *cr = *con_cls;
    if (!cr) {
        cr = calloc(1, sizeof *cr);
        if (!cr)
            return MHD_NO;
        cr->s = s;
        cr->conn = c;
        cr->url = url;
        cr->method = method;
        buf_init(&cr->body, s->cfg.max_body_bytes);
        buf_init(&cr->resp.body, RESP_MAX);
        *con_cls = cr;
        atomic_fetch_add(&s->inflight, 1);
        atomic_fetch_add(&s->requests, 1);
        return begin_request(s, c, url, method, cr);
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return body_chunk(s, cr, upload_data, n);
    }
    /* The request has ended. */
    if (cr->answered)
        return send_resp(s, c, &cr->resp);
    if (is_quick(cr->rt)) {
        run_request(cr);
        return send_resp(s, c, &cr->resp);
    }
    MHD_suspend_connection(c);
    job_push(s, cr);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    server *s = cls;
    conn_req *cr = *con_cls;
    if (!cr)
        return;
    inflight_remove(s, cr);
    atomic_fetch_sub(&s->body_bytes, cr->reserved);
    buf_free(&cr->body);
    buf_free(&cr->resp.body);
    free(cr);
    *con_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
}

static void on_commit(void *ctx, const ledger_commit *c)
{
    server *s = ctx;
    wsubmit_notify(s->wsub, c->tree_size);
    if (s->ct)
        controls_notify(s->ct, c);
}

static void mhd_log(void *cls, const char *fm, va_list ap)
{
    (void)cls;
    char m[512];
    vsnprintf(m, sizeof m, fm, ap);
    size_t n = strlen(m);
    while (n && m[n - 1] == '\n')
        m[--n] = '\0';
    log_msg(LOG_WARN, "mhd", "%s", m);
}

static char *read_file(const char *path, size_t *len, bool secret, adt_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        adt_fail(err, ADT_EIO, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20;
    char *p = secret ? sodium_malloc(cap) : malloc(cap);
    size_t n = p ? fread(p, 1, cap - 1, f) : 0;
    fclose(f);
    if (!p) {
        adt_fail(err, ADT_ENOMEM, "out of memory");
        return NULL;
    }
    p[n] = '\0';
    *len = n;
    return p;
}

/* Raise the soft descriptor limit to the hard one and return how many
 * connections fit beside FD_RESERVE descriptors for files (at most `want`). */
static unsigned fd_budget(uint64_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                getrlimit(RLIMIT_NOFILE, &rl);
        }
        uint64_t fit = rl.rlim_cur > FD_RESERVE + 16 ? (uint64_t)rl.rlim_cur - FD_RESERVE : 16;
        if (rl.rlim_cur != RLIM_INFINITY && want > fit) {
            log_msg(LOG_WARN, MOD, "max_connections %llu lowered to %llu: the process may open "
                    "%llu files (raise 'ulimit -n')", (unsigned long long)want,
                    (unsigned long long)fit, (unsigned long long)rl.rlim_cur);
            want = fit;
        }
    }
    return want > UINT32_MAX ? UINT32_MAX : (unsigned)want;
}

static int workers_start(server *s, adt_err *err)
{
    s->workers = calloc(s->cfg.workers, sizeof *s->workers);
    if (!s->workers)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    for (uint64_t i = 0; i < s->cfg.workers; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0)
            return adt_fail(err, ADT_EINTERNAL, "cannot start request handler thread %llu of %llu",
                            (unsigned long long)i + 1, (unsigned long long)s->cfg.workers);
        s->nworkers++;
    }
    return ADT_OK;
}

/* ---------- scheduled ledger verification ---------- */

/* Verify the whole ledger (ledger_verify, on its own handle) and record the
 * result as a ledger.verify event written by auditd. */
static int verify_and_record(server *s, adt_err *err)
{
    ledger_verify_result res;
    int rc = ledger_verify(s->dir, &res, err);
    if (rc)
        return rc;
    buf f;
    buf_init(&f, 4096);
    rc = state_verify_fields(&f, &res);
    if (!rc)
        rc = audit_via_queue(s, "ledger.verify", "auditd", f.data, err);
    else
        adt_fail(err, rc, "ledger.verify fields too large");
    buf_free(&f);
    if (!rc)
        log_msg(res.ok ? LOG_INFO : LOG_ERROR, MOD, "scheduled verify: %s (%llu entries)%s%s",
                res.ok ? "pass" : "FAILED", (unsigned long long)res.entries, res.ok ? "" : ": ",
                res.ok ? "" : res.problem);
    return rc;
}

/* The time of the newest ledger.verify written by auditd (0 if none). */
static int64_t last_verify_us(server *s)
{
    adt_err err = {0};
    ledger *lg = pool_get(s, &err);
    if (!lg)
        return 0;
    uint64_t idx = 0;
    int64_t t = 0;
    if (evindex_catch_up(s->ix, lg, &err) || evindex_last(s->ix, "ledger.verify", "auditd", &idx,
                                                           &t, &err))
        t = 0;
    pool_put(s, lg);
    return t;
}

/* Every verify_interval_seconds, counted from the last recorded
 * verification (so restarts neither skip nor repeat one): at start when it
 * is overdue. */
static void *verify_main(void *arg)
{
    server *s = arg;
    int64_t every = (int64_t)s->cfg.verify_interval_seconds * 1000000;
    int64_t last = last_verify_us(s);
    int64_t due = last ? last + every : 0;
    pthread_mutex_lock(&s->verify_mu);
    while (!s->verify_stop) {
        int64_t now = rfc3339_now_us();
        if (now < due) {
            struct timespec ts = {.tv_sec = (time_t)(due / 1000000),
                                  .tv_nsec = (long)(due % 1000000) * 1000};
            pthread_cond_timedwait(&s->verify_cv, &s->verify_mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&s->verify_mu);
        adt_err err = {0};
        if (verify_and_record(s, &err))
            log_msg(LOG_ERROR, MOD, "scheduled verify could not run or be recorded: %s", err.msg);
        pthread_mutex_lock(&s->verify_mu);
        due = rfc3339_now_us() + every;
    }
    pthread_mutex_unlock(&s->verify_mu);
    return NULL;
}

static void verify_stop(server *s)
{
    if (!s->verify_started)
        return;
    pthread_mutex_lock(&s->verify_mu);
    s->verify_stop = true;
    pthread_cond_broadcast(&s->verify_cv);
    pthread_mutex_unlock(&s->verify_mu);
    pthread_join(s->verify_thread, NULL);
    s->verify_started = false;
}

/* Stop taking telemetry (MQTT, then the handle) once HTTP is stopped. */
static void close_pipeline(server *s)
{
    if (s->pl) {
        if (s->mqtt_started)
            pipeline_mqtt_stop(s->pl);
        pipeline_close(s->pl);
        s->pl = NULL;
    }
}

static void free_server(server *s)
{
    verify_stop(s);
    if (s->mhd) {
        /* No connection may stay suspended when libmicrohttpd stops. */
        pthread_mutex_lock(&s->jobs_mu);
        while (s->jobs_head || s->jobs_running)
            pthread_cond_wait(&s->jobs_idle, &s->jobs_mu);
        pthread_mutex_unlock(&s->jobs_mu);
        MHD_stop_daemon(s->mhd);
    }
    workers_stop(s);
    free(s->workers);
    close_pipeline(s);
    console_close(s->con); /* its workflow thread appends through the queue */
    s->con = NULL;
    /* The commit listener feeds controls: stop the queue before closing them. */
    if (s->cq)
        commitq_stop(s->cq);
    /* After the last commit: one more round for the final checkpoint. */
    wsubmit_stop(s->wsub);
    cosigdb_close(s->cdb);
    witsrv_close(s->wsrv);
    if (s->ct)
        controls_close(s->ct);
    pool_close_all(s);
    evindex_close(s->ix);
    state_close(s->st);
    free(s->tls_cert);
    if (s->tls_key) {
        sodium_free(s->tls_key);
    }
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    pthread_mutex_destroy(&s->jobs_mu);
    pthread_cond_destroy(&s->jobs_cv);
    pthread_cond_destroy(&s->jobs_idle);
    pthread_mutex_destroy(&s->fl_mu);
    pthread_cond_destroy(&s->fl_cv);
    pthread_mutex_destroy(&s->verify_mu);
    pthread_cond_destroy(&s->verify_cv);
    free(s);
}

/* Witnessing, both ways: the store of cosignatures our checkpoints got (and
 * the submitter, with --witness), and the witness endpoint when this data
 * directory is a witness itself. */
static int witness_parts_open(server *s, const char *dir, const srvcfg *cfg, adt_err *err)
{
    if (s->ext.witness) {
        /* The caller's witness replaces the data directory's. */
        int rc = witsrv_open_backend(s->ext.witness, &s->wsrv, err);
        if (rc)
            return rc;
    }
    int rc = cosigdb_open(dir, cfg->witness_urls > 0, &s->cdb, err);
    if (rc == ADT_ENOTFOUND) {
        s->cdb = NULL;
        rc = ADT_OK;
    }
    if (!rc && cfg->witness_urls)
        rc = wsubmit_start(dir, cfg, s->cdb, &s->wsub, err);
    if (!rc && !s->wsrv)
        rc = witsrv_open(dir, &s->wsrv, err);
    return rc;
}

int server_start(const char *data_dir, const srvcfg *cfg, server **out, adt_err *err)
{
    return server_start_ext(data_dir, cfg, NULL, out, err);
}

/* Start phase 1: the ledger's read pool, state, the event index, the commit
 * queue and its listener, controls, witnessing, the pipeline (and MQTT) and
 * the console. A part that does not open (controls, pipeline) leaves its
 * endpoints answering 503; anything else fails the start. */
static int open_parts(server *s, const char *data_dir, const srvcfg *cfg, adt_err *err)
{
    int rc;
    ledger *lg = NULL;
    if ((rc = ledger_open(data_dir, LEDGER_RDONLY, &lg, err))) {
        adt_err_prefix(err, "opening the ledger in %s (create one with 'auditd init')", data_dir);
        return rc;
    }
    snprintf(s->key_line, sizeof s->key_line, "%s", ledger_key_line(lg));
    pool_put(s, lg);
    s->pool_open = 1;
    if ((rc = state_open(data_dir, &s->st, err)) || (rc = evindex_open(data_dir, &s->ix, err)))
        return rc;
    commitq_opts qo = {.max_pending_events = cfg->queue_max_events,
                       .max_group_events = cfg->max_group_events};
    if ((rc = commitq_start(data_dir, &qo, &s->cq, err)))
        return rc;
    if ((rc = controls_open(data_dir, &s->ct, err))) {
        log_msg(LOG_WARN, MOD, "controls not available (their endpoints answer 503): %s", err->msg);
        s->ct = NULL;
        rc = ADT_OK;
    }
    if ((rc = witness_parts_open(s, data_dir, cfg, err)))
        return rc;
    commitq_set_listener(s->cq, on_commit, s);
    console_env ce = {.data_dir = s->dir, .cq = s->cq, .ix = s->ix, .pool_get = con_pool_get,
                      .pool_put = con_pool_put, .replay = NULL, .ctx = s};
    if ((rc = pipeline_open(data_dir, s->cq, &s->pl, err))) {
        log_msg(LOG_WARN, MOD, "pipeline not available (its endpoints answer 503): %s", err->msg);
        s->pl = NULL;
        rc = ADT_OK;
    }
    if (cfg->mqtt[0] && !s->pl) {
        rc = adt_fail(err, ADT_EINVAL, "--mqtt needs the pipeline, which did not open");
        return rc;
    }
    if (s->pl && cfg->mqtt[0]) {
        if ((rc = pipeline_mqtt_start_tls(s->pl, cfg->mqtt, cfg->mqtt_ca, cfg->mqtt_cert,
                                          cfg->mqtt_key, err)))
            return rc;
        s->mqtt_started = true;
    }
    if (s->pl)
        ce.replay = con_replay;
    if ((rc = console_open(&ce, &s->con, err))) {
        adt_err_prefix(err, "opening the web console");
        return rc;
    }
    return ADT_OK;
}

/* Start phase 2: the handler workers and libmicrohttpd on cfg->listen
 * (TLS when configured). Sets s->port. */
static int start_http(server *s, const srvcfg *cfg, adt_err *err)
{
    int rc;
    char host[256];
    uint16_t port;
    if ((rc = srvcfg_listen_split(cfg->listen, host, sizeof host, &port, err)))
        return rc;
    struct sockaddr_in a4 = {0};
    struct sockaddr_in6 a6 = {0};
    struct sockaddr *sa;
    /* epoll threads that never block (suspend/resume hands slow requests to
     * the workers): no thread per idle socket and no select() limit of 1024
     * descriptors. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (strchr(host, ':')) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(port);
        inet_pton(AF_INET6, host, &a6.sin6_addr);
        sa = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        a4.sin_family = AF_INET;
        a4.sin_port = htons(port);
        inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &a4.sin_addr);
        sa = (struct sockaddr *)&a4;
    }
    unsigned max_conn = fd_budget(cfg->max_connections);
    unsigned threads = cfg->threads ? (unsigned)cfg->threads : 2;
    if ((rc = workers_start(s, err)))
        return rc;
    struct MHD_OptionItem opts[16];
    int no = 0;
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, sa};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)max_conn, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                         (intptr_t)cfg->max_connections_per_ip, NULL};
    /* The daemon-wide inactivity timeout is the short one for connections
     * whose request is not authenticated yet (no complete header, or an
     * anonymous caller); begin_request lengthens it once a caller is known. */
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                         (intptr_t)cfg->header_timeout_seconds, NULL};
    /* Per-connection memory (request line, headers, read buffer): the
     * libmicrohttpd default, stated. Headers beyond it are refused by it. */
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 32 * 1024, NULL};
    if (threads > 1)
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
    if (cfg->tls_cert[0]) {
        size_t cl;
        if (!(s->tls_cert = read_file(cfg->tls_cert, &cl, false, err)) ||
            !(s->tls_key = read_file(cfg->tls_key, &s->tls_key_len, true, err))) {
            rc = ADT_EIO;
            return rc;
        }
        flags |= MHD_USE_TLS;
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
    }
    opts[no] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    if (!s->mhd) {
        rc = adt_fail(err, ADT_EIO, "cannot listen on %s (address in use, no permission, or a bad "
                      "TLS certificate/key)", cfg->listen);
        return rc;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : port;
    return ADT_OK;
}

/* Start phase 3: server.start in the ledger (the configuration's digest,
 * the address, TLS or not). OUT: hash, the configuration's SHA-256 hex. */
static int record_start(server *s, const srvcfg *cfg, char hash[65], adt_err *err)
{
    int rc;
    char fields[600];
    srvcfg_sha256_hex(cfg, hash);
    buf lb;
    buf_init(&lb, 400);
    canon_put_string(&lb, cfg->listen, strlen(cfg->listen));
    snprintf(fields, sizeof fields, "{\"config_sha256\":\"%s\",\"listen\":%s,\"tls\":%s}", hash,
             lb.data ? lb.data : "\"\"", cfg->tls_cert[0] ? "true" : "false");
    buf_free(&lb);
    if ((rc = audit_via_queue(s, "server.start", "auditd", fields, err))) {
        adt_err_prefix(err, "recording server.start");
        return rc;
    }
    return ADT_OK;
}

int server_start_ext(const char *data_dir, const srvcfg *cfg, const server_ext *ext,
                     server **out, adt_err *err)
{
    int rc = srvcfg_check(cfg, err);
    if (rc)
        return rc;
    if (sodium_init() < 0)
        return adt_fail(err, ADT_ECRYPTO, "libsodium failed to initialise");
    server *s = calloc(1, sizeof *s);
    if (!s)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    snprintf(s->dir, sizeof s->dir, "%s", data_dir);
    s->cfg = *cfg;
    if (ext)
        s->ext = *ext;
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    pthread_mutex_init(&s->jobs_mu, NULL);
    pthread_cond_init(&s->jobs_cv, NULL);
    pthread_cond_init(&s->jobs_idle, NULL);
    pthread_mutex_init(&s->fl_mu, NULL);
    pthread_cond_init(&s->fl_cv, NULL);
    pthread_mutex_init(&s->verify_mu, NULL);
    pthread_cond_init(&s->verify_cv, NULL);
    log_set_level(cfg->log_level);

    char hash[65];
    if ((rc = open_parts(s, data_dir, cfg, err)) || (rc = start_http(s, cfg, err)) ||
        (rc = record_start(s, cfg, hash, err)))
        goto fail;
    if ((rc = console_start(s->con, err)))
        goto fail;
    atomic_store(&s->ready, 1);
    if (cfg->verify_interval_seconds) {
        if (pthread_create(&s->verify_thread, NULL, verify_main, s) != 0) {
            rc = adt_fail(err, ADT_EINTERNAL, "cannot start the scheduled verify thread");
            goto fail;
        }
        s->verify_started = true;
    }
    log_msg(LOG_INFO, MOD, "listening on %s (%s), data %s, config sha256 %s", cfg->listen,
            cfg->tls_cert[0] ? "https" : "http", data_dir, hash);
    *out = s;
    return ADT_OK;
fail:
    free_server(s);
    return rc;
}

uint16_t server_port(const server *s)
{
    return s->port;
}

int server_stop(server *s, adt_err *err)
{
    atomic_store(&s->draining, 1);
    MHD_socket ls = MHD_quiesce_daemon(s->mhd);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    for (int waited = 0; atomic_load(&s->inflight) > 0 && waited < DRAIN_WAIT_MS; waited += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    long left = atomic_load(&s->inflight);
    verify_stop(s);
    /* Requests handed to the workers finish (their batches commit) before
     * libmicrohttpd stops: it must not stop with suspended connections. */
    pthread_mutex_lock(&s->jobs_mu);
    while (s->jobs_head || s->jobs_running)
        pthread_cond_wait(&s->jobs_idle, &s->jobs_mu);
    pthread_mutex_unlock(&s->jobs_mu);
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    workers_stop(s);
    close_pipeline(s);
    int rc = audit_via_queue(s, "server.stop", "auditd", "{}", err);
    if (rc)
        adt_err_prefix(err, "recording server.stop");
    commitq_stats st;
    commitq_get_stats(s->cq, &st);
    log_msg(LOG_INFO, MOD, "stopped: %llu entries, final checkpoint signed%s",
            (unsigned long long)st.tree_size, left ? " (some requests were cut at the drain timeout)" : "");
    free_server(s);
    return rc;
}
