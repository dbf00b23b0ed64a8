#include "wsubmit.h"

#include "bgtask.h"
#include "canon.h"
#include "codec.h"
#include "cosig.h"
#include "httpc.h"
#include "ledger.h"
#include "log.h"
#include "note.h"
#include "numparse.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "witness-submit"
#define ROUND_GAP_MS 1000      /* at most one round a second */
#define BACKOFF_MAX_MS 30000
#define RESP_MAX 65536
#define PASSES 3               /* a 409 teaches the witness's size: retry in the same round */

enum { RES_OK, RES_CONFLICT, RES_REFUSED, RES_UNREACHABLE, RES_COUNT };
static const char *const res_names[RES_COUNT] = {"ok", "conflict", "refused", "unreachable"};

typedef enum { ST_PENDING, ST_OK, ST_DOWN, ST_CONFLICT } wstate;
static const char *const st_names[] = {"pending", "ok", "down", "conflict"};

/* The request's one header besides libcurl's Host, Accept and Content-Length. */
static const char *const req_headers[] = {"Content-Type: text/plain; charset=utf-8", NULL};

typedef struct wit {
    cosig_key key;
    /* The submitter thread's view of the witness. */
    uint64_t size;           /* the witness's latest size as last learnt (0: unknown) */
    /* Shared with readers (metrics, health): under wsubmit.mu. */
    wstate state;
    uint64_t cosigned;       /* the largest size it cosigned for us */
    bool has_cosigned;
    unsigned failures;       /* consecutive */
    int64_t next_try_ms;
    int64_t last_ok_s;       /* wall clock */
    double last_latency_s;
    uint64_t results[RES_COUNT];
    char last_error[256];
    /* One request in flight: POST <url>/add-checkpoint through core's client. */
    httpc http;              /* its answer: http.status, http.resp (at most RESP_MAX) */
    buf body;
    bool retry;              /* a 409 gave a usable size: send again this round */
} wit;

struct wsubmit {
    char dir[4096];
    ledger *lg;
    cosigdb *db;
    size_t n;
    wit *w;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t tree_size;      /* newest size notified */
    bool stopping;
    int64_t last_round_ms;
    uint64_t rounds;
    double cpu_s;            /* the submitter thread's CPU time, for /metrics */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Needs a round? (mutex held) */
static bool due(const wsubmit *w, const wit *x, int64_t now)
{
    if (x->has_cosigned && x->cosigned == w->tree_size)
        return false;
    return now >= x->next_try_ms;
}

static void fail(wsubmit *w, wit *x, int result, wstate st, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void fail(wsubmit *w, wit *x, int result, wstate st, const char *fmt, ...)
{
    char m[sizeof x->last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&w->mu);
    bool was = x->state != st || strcmp(m, x->last_error) != 0;
    x->results[result]++;
    x->failures++;
    unsigned sh = x->failures > 6 ? 5 : x->failures - 1;
    int64_t wait = (int64_t)1000 << sh;
    if (wait > BACKOFF_MAX_MS)
        wait = BACKOFF_MAX_MS;
    x->next_try_ms = mono_ms() + wait;
    x->state = st;
    snprintf(x->last_error, sizeof x->last_error, "%s", m);
    pthread_mutex_unlock(&w->mu);
    if (was)
        log_msg(st == ST_CONFLICT ? LOG_ERROR : LOG_WARN, MOD, "witness %s: %s (retrying with "
                "backoff, now %lld ms)", x->key.name, m, (long long)wait);
}

/* Build the request of `x` for checkpoint (note, size); false if none to send. */
static bool prepare(wsubmit *w, wit *x, const char *note, uint64_t size, bool final)
{
    adt_err err = {0};
    if (x->size > size) {
        fail(w, x, RES_CONFLICT, ST_CONFLICT, "the witness has cosigned a tree of %llu entries but "
             "the ledger has %llu: the ledger may have been cut",
             (unsigned long long)x->size, (unsigned long long)size);
        return false;
    }
    buf_reset(&x->body);
    int rc = buf_printf(&x->body, "old %llu\n", (unsigned long long)x->size);
    if (!rc && x->size > 0 && x->size < size) {
        merkle_hash proof[MERKLE_MAX_PROOF];
        size_t np = 0;
        rc = ledger_prove_consistency(w->lg, x->size, size, proof, &np, &err);
        for (size_t i = 0; !rc && i < np; i++) {
            char b[CODEC_B64_LEN(MERKLE_HASH_LEN)];
            codec_b64(proof[i], MERKLE_HASH_LEN, b, sizeof b);
            rc = buf_printf(&x->body, "%s\n", b);
        }
    }
    if (!rc)
        rc = buf_printf(&x->body, "\n%s", note);
    if (rc) {
        fail(w, x, RES_REFUSED, ST_DOWN, "cannot build the request: %s",
             err.msg[0] ? err.msg : "too large");
        return false;
    }
    /* At shutdown the daemon waits for this round: shorter limits. */
    x->http.connect_ms = final ? 1000L : 3000L;
    x->http.timeout_ms = final ? 3000L : 10000L;
    return true;
}

/* Take the answer to a request for (note, size, root). */
static void take(wsubmit *w, wit *x, const httpc_req *r, const char *note, uint64_t size,
                 const merkle_hash root, double secs)
{
    x->retry = false;
    if (r->res != HTTPC_OK) {
        /* Not connected, timed out, cut off, or an answer over RESP_MAX. */
        fail(w, x, RES_UNREACHABLE, ST_DOWN, "unreachable: %s", r->emsg);
        return;
    }
    long status = x->http.status;
    const buf *resp = &x->http.resp;
    const char *body = resp->data ? resp->data : "";
    if (status == 409) {
        /* The body is the witness's size and a newline (text/x.tlog.size). */
        uint64_t s = 0;
        size_t l = resp->len;
        if (l < 2 || body[l - 1] != '\n' || (l > 2 && body[0] == '0') ||
            num_u64n(body, l - 1, UINT64_MAX, &s)) {
            fail(w, x, RES_REFUSED, ST_DOWN, "answered 409 without a tree size");
            return;
        }
        if (s > size) {
            x->size = s;
            fail(w, x, RES_CONFLICT, ST_CONFLICT, "the witness has cosigned a tree of %llu entries "
                 "but the ledger has %llu: the ledger may have been cut",
                 (unsigned long long)s, (unsigned long long)size);
            return;
        }
        if (s == x->size) {
            fail(w, x, RES_REFUSED, ST_DOWN, "answered 409 with the size that was sent (%llu)",
                 (unsigned long long)s);
            return;
        }
        x->size = s;
        x->retry = true;
        return;
    }
    if (status != 200) {
        size_t l = resp->len < 160 ? resp->len : 160;
        char excerpt[161];
        for (size_t i = 0; i < l; i++)
            excerpt[i] = (body[i] >= 0x20 && body[i] < 0x7F) ? body[i] : ' ';
        excerpt[l] = '\0';
        fail(w, x, RES_REFUSED, ST_DOWN, "answered %ld: %s", status, excerpt);
        return;
    }
    /* 200: signature lines; keep ours only if it verifies on this checkpoint. */
    buf full;
    buf_init(&full, NOTE_TEXT_MAX);
    note_parsed *np = malloc(sizeof *np);
    adt_err err = {0};
    uint64_t ts = 0;
    int rc = np ? buf_puts(&full, note) : ADT_ENOMEM;
    if (!rc)
        rc = buf_append(&full, body, resp->len);
    if (!rc)
        rc = note_parse(full.data, full.len, np, &err);
    if (!rc)
        rc = cosig_verify(full.data, np, &x->key, &ts, &err);
    char line[COSIG_LINE_MAX] = "";
    for (size_t i = 0; !rc && i < np->nsigs; i++)
        if (note_sig_by(full.data, &np->sigs[i], x->key.name, x->key.id) &&
            np->sigs[i].line_len < sizeof line) {
            memcpy(line, full.data + np->sigs[i].line_off, np->sigs[i].line_len);
            line[np->sigs[i].line_len] = '\0';
        }
    if (!rc && !line[0])
        rc = adt_fail(&err, ADT_EINVAL, "no cosignature line");
    if (rc) {
        fail(w, x, RES_REFUSED, ST_DOWN, "answered 200 without a valid cosignature by its key: %s",
             err.msg[0] ? err.msg : "malformed answer");
    } else if ((rc = cosigdb_add(w->db, note, size, root, x->key.vkey, line, ts, &err))) {
        fail(w, x, RES_REFUSED, rc == ADT_ECONFLICT ? ST_CONFLICT : ST_DOWN,
             "cosigned size %llu but storing it failed: %s", (unsigned long long)size, err.msg);
    } else {
        x->size = size;
        pthread_mutex_lock(&w->mu);
        bool was_down = x->state != ST_OK;
        x->results[RES_OK]++;
        x->failures = 0;
        x->next_try_ms = 0;
        x->state = ST_OK;
        x->cosigned = size;
        x->has_cosigned = true;
        x->last_ok_s = (int64_t)time(NULL);
        x->last_latency_s = secs;
        x->last_error[0] = '\0';
        pthread_mutex_unlock(&w->mu);
        log_msg(was_down ? LOG_INFO : LOG_DEBUG, MOD, "witness %s cosigned size %llu",
                x->key.name, (unsigned long long)size);
    }
    free(np);
    buf_free(&full);
}

static void round_once(wsubmit *w, bool final)
{
    char note[NOTE_MAX];
    uint64_t size = 0;
    merkle_hash root;
    adt_err err = {0};
    if (ledger_checkpoint(w->lg, note, sizeof note, &size, &err) ||
        ledger_root(w->lg, size, root, &err)) {
        log_msg(LOG_ERROR, MOD, "reading the checkpoint to submit: %s", err.msg);
        return;
    }
    /* One group a round: a 409's retry reuses the connection it came on. */
    httpc_group g;
    if (httpc_group_init(&g, &err)) {
        log_msg(LOG_ERROR, MOD, "starting a submission round: %s", err.msg);
        return;
    }
    httpc_req reqs[SRVCFG_WITNESS_MAX];
    wit *who[SRVCFG_WITNESS_MAX];
    for (int pass = 0; pass < PASSES; pass++) {
        int64_t now = mono_ms();
        size_t sent = 0;
        for (size_t i = 0; i < w->n; i++) {
            wit *x = &w->w[i];
            pthread_mutex_lock(&w->mu);
            bool go = pass == 0 ? (final || now >= x->next_try_ms) &&
                                      !(x->has_cosigned && x->cosigned == size)
                                : x->retry;
            pthread_mutex_unlock(&w->mu);
            x->retry = false;
            if (go && prepare(w, x, note, size, final)) {
                reqs[sent] = (httpc_req){.h = &x->http, .method = "POST", .path = "/add-checkpoint",
                                         .headers = req_headers, .body = x->body.data,
                                         .len = x->body.len};
                who[sent++] = x;
            }
        }
        if (!sent)
            break;
        int64_t t0 = mono_ms();
        httpc_group_do(&g, reqs, sent);
        double secs = (double)(mono_ms() - t0) / 1000.0;
        for (size_t k = 0; k < sent; k++)
            take(w, who[k], &reqs[k], note, size, root, secs);
    }
    httpc_group_free(&g);
}

static void *run(void *arg)
{
    wsubmit *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        for (;;) {
            if (w->stopping)
                break;
            int64_t now = mono_ms();
            bool any = false;
            int64_t wake = now + 1000;
            for (size_t i = 0; i < w->n; i++) {
                if (due(w, &w->w[i], now))
                    any = true;
                else if (!(w->w[i].has_cosigned && w->w[i].cosigned == w->tree_size) &&
                         w->w[i].next_try_ms < wake)
                    wake = w->w[i].next_try_ms;
            }
            int64_t gap = w->last_round_ms + ROUND_GAP_MS;
            if (any && now >= gap)
                break;
            if (any && gap < wake)
                wake = gap;
            struct timespec ts = bgtask_deadline_ms(wake - now > 1 ? wake - now : 1);
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            /* Entries appended by another process on this data directory (the
             * CLI's records: verify --record, reports, shipments) reach no
             * commit listener: the ledger's size is looked at once a wake. */
            pthread_mutex_unlock(&w->mu);
            uint64_t now_size = 0;
            adt_err ignore = {0};
            bool grown = ledger_size(w->lg, &now_size, &ignore) == ADT_OK;
            pthread_mutex_lock(&w->mu);
            if (grown && now_size > w->tree_size)
                w->tree_size = now_size;
        }
        bool stopping = w->stopping;
        w->last_round_ms = mono_ms();
        pthread_mutex_unlock(&w->mu);
        round_once(w, stopping);
        struct timespec cpu;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        pthread_mutex_lock(&w->mu);
        w->rounds++;
        w->cpu_s = (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9;
        pthread_mutex_unlock(&w->mu);
        if (stopping)
            return NULL;
    }
}

static void free_all(wsubmit *w)
{
    for (size_t i = 0; i < w->n; i++) {
        httpc_free(&w->w[i].http);
        buf_free(&w->w[i].body);
    }
    free(w->w);
    ledger_close(w->lg);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

int wsubmit_start(const char *dir, const srvcfg *cfg, cosigdb *db, wsubmit **out, adt_err *err)
{
    if (cfg->witness_urls == 0 || cfg->witness_urls != cfg->witness_keys)
        return adt_fail(err, ADT_EINVAL, "witness submission needs witness URLs and their keys");
    if (cfg->witness_urls > SRVCFG_WITNESS_MAX)
        return adt_fail(err, ADT_EINVAL, "at most %d witnesses", SRVCFG_WITNESS_MAX);
    int rc = httpc_global_init(err);
    if (rc)
        return rc;
    wsubmit *w = calloc(1, sizeof *w);
    if (!w)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->db = db;
    w->n = cfg->witness_urls;
    w->w = calloc(w->n, sizeof *w->w);
    rc = w->w ? ledger_open(dir, LEDGER_RDONLY, &w->lg, err)
              : adt_fail(err, ADT_ENOMEM, "out of memory");
    if (!rc)
        rc = ledger_size(w->lg, &w->tree_size, err);
    for (size_t i = 0; !rc && i < w->n; i++) {
        wit *x = &w->w[i];
        buf_init(&x->body, NOTE_MAX + 64 * (MERKLE_MAX_PROOF + 1));
        /* The URL's trailing '/' is dropped: POST <url>/add-checkpoint. No
         * total timeout here: prepare() sets each request's limits. */
        if ((rc = httpc_init(&x->http, cfg->witness[i].url, RESP_MAX, 0, err))) {
            adt_err_prefix(err, "witness %zu", i + 1);
            break;
        }
        x->http.identity = true; /* no Accept-Encoding: the witness's answers as sent */
        if ((rc = cosig_key_parse(cfg->witness[i].key, &x->key, err))) {
            adt_err_prefix(err, "witness_key %zu", i + 1);
            break;
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(w->w[k].key.vkey, x->key.vkey))
                rc = adt_fail(err, ADT_EINVAL, "witness key %s is given twice", x->key.vkey);
        uint64_t s = 0;
        adt_err e2 = {0};
        if (!rc && cosigdb_witness_size(db, x->key.vkey, &s, &e2) == ADT_OK) {
            x->size = s;
            x->cosigned = s;
            x->has_cosigned = true;
        }
    }
    if (!rc && pthread_create(&w->thread, NULL, run, w) != 0)
        rc = adt_fail(err, ADT_EINTERNAL, "cannot start the witness submitter thread");
    if (rc) {
        free_all(w);
        return rc;
    }
    w->started = true;
    log_msg(LOG_INFO, MOD, "submitting checkpoints to %zu witness%s", w->n, w->n == 1 ? "" : "es");
    *out = w;
    return ADT_OK;
}

void wsubmit_notify(wsubmit *w, uint64_t tree_size)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    if (tree_size > w->tree_size)
        w->tree_size = tree_size;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void wsubmit_stop(wsubmit *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started)
        pthread_join(w->thread, NULL);
    free_all(w);
}

/* A Prometheus label value: backslash and double quote escaped. */
static int label(buf *b, const char *s)
{
    int rc = 0;
    for (; !rc && *s; s++)
        rc = (*s == '\\' || *s == '"') ? buf_printf(b, "\\%c", *s) : buf_putc(b, *s);
    return rc;
}

int wsubmit_metrics(wsubmit *w, buf *b)
{
    static const char *const help =
        "# HELP auditd_witness_up 1 if the last submission to the witness was cosigned.\n"
        "# TYPE auditd_witness_up gauge\n"
        "# HELP auditd_witness_cosigned_size Largest tree size the witness cosigned.\n"
        "# TYPE auditd_witness_cosigned_size gauge\n"
        "# HELP auditd_witness_lag_entries Entries appended since the witness's cosigned size.\n"
        "# TYPE auditd_witness_lag_entries gauge\n"
        "# HELP auditd_witness_consecutive_failures Failed submissions since the last success.\n"
        "# TYPE auditd_witness_consecutive_failures gauge\n"
        "# HELP auditd_witness_last_cosigned_timestamp_seconds When the witness last cosigned.\n"
        "# TYPE auditd_witness_last_cosigned_timestamp_seconds gauge\n"
        "# HELP auditd_witness_submissions_total Submissions by result.\n"
        "# TYPE auditd_witness_submissions_total counter\n";
    int rc = buf_puts(b, help);
    pthread_mutex_lock(&w->mu);
    if (!rc)
        rc = buf_printf(b, "# HELP auditd_witness_rounds_total Submission rounds (all witnesses).\n"
                           "# TYPE auditd_witness_rounds_total counter\nauditd_witness_rounds_total %llu\n"
                           "# HELP auditd_witness_submitter_cpu_seconds_total CPU time of the "
                           "submitter thread.\n# TYPE auditd_witness_submitter_cpu_seconds_total "
                           "counter\nauditd_witness_submitter_cpu_seconds_total %.6f\n",
                        (unsigned long long)w->rounds, w->cpu_s);
    for (size_t i = 0; !rc && i < w->n; i++) {
        const wit *x = &w->w[i];
        uint64_t lag = x->has_cosigned && w->tree_size > x->cosigned ? w->tree_size - x->cosigned
                       : x->has_cosigned                            ? 0
                                                                    : w->tree_size;
        const char *metric[] = {"up", "cosigned_size", "lag_entries", "consecutive_failures",
                                "last_cosigned_timestamp_seconds"};
        unsigned long long val[] = {x->state == ST_OK, x->cosigned, lag, x->failures,
                                    (unsigned long long)x->last_ok_s};
        for (int k = 0; !rc && k < 5; k++) {
            rc = buf_printf(b, "auditd_witness_%s{witness=\"", metric[k]);
            if (!rc)
                rc = label(b, x->key.name);
            if (!rc)
                rc = buf_printf(b, "\"} %llu\n", val[k]);
        }
        for (int r = 0; !rc && r < RES_COUNT; r++) {
            rc = buf_puts(b, "auditd_witness_submissions_total{witness=\"");
            if (!rc)
                rc = label(b, x->key.name);
            if (!rc)
                rc = buf_printf(b, "\",result=\"%s\"} %llu\n", res_names[r],
                                (unsigned long long)x->results[r]);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int wsubmit_health(wsubmit *w, buf *b)
{
    int rc = buf_putc(b, '[');
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; !rc && i < w->n; i++) {
        const wit *x = &w->w[i];
        rc = buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        if (!rc)
            rc = canon_put_string(b, x->key.name, strlen(x->key.name));
        if (!rc)
            rc = buf_printf(b, ",\"state\":\"%s\",\"cosigned_size\":%llu,\"tree_size\":%llu,"
                               "\"consecutive_failures\":%u,\"last_error\":",
                            st_names[x->state], (unsigned long long)x->cosigned,
                            (unsigned long long)w->tree_size, x->failures);
        if (!rc)
            rc = canon_put_string(b, x->last_error, strlen(x->last_error));
        if (!rc)
            rc = buf_putc(b, '}');
    }
    pthread_mutex_unlock(&w->mu);
    return rc ? rc : buf_putc(b, ']');
}
