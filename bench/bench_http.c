/* bench_http: ingestion over HTTP against the in-process commit queue.
 *
 * Starts a real `auditd serve` on 127.0.0.1 (its own temporary data
 * directory), then, for batches of 1, 100 and 1,000 events:
 *   - baseline: T threads calling commitq_submit directly on another ledger;
 *   - HTTP: T client threads (one agent each, keep-alive connections) posting
 *     signed batches and waiting for each receipt.
 * Then a paced run at a fixed 10,000 events/s (batches of 10) for the
 * POST-to-receipt latency at that load. Prints events/s, requests/s, p50, p99.
 * Both sides store the same leaves (payload plus a signature record), so the
 * gap between the columns is the cost of HTTP, authentication and validation;
 * both are bounded by the disk's fsync rate (group commit).
 *
 * usage: bench_http [seconds-per-phase, default 4] [extra `auditd serve` flags...] */
#include "agentsig.h"
#include "commitq.h"
#include "ledger.h"
#include "rfc3339.h"

#include "bench_util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#define T 64

static int run(const char *const *args)
{
    pid_t p = fork();
    if (p == 0) {
        int dn = open("/dev/null", 1);
        dup2(dn, 1);
        execv(AUDITD_BIN, (char *const *)args);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A batch of n events; `req` makes each request's bytes its own (identical
 * bytes from one agent are one batch, answered 200 without appending). */
static char *make_batch(int n, uint64_t req, size_t *len)
{
    char *s = malloc((size_t)n * 160 + 1);
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, 160, "{\"type\":\"x-bench.tick\",\"time\":\"2026-07-01T08:00:00Z\","
                                          "\"actor\":\"agent:bench\",\"i\":%d,\"r\":%llu}\n", i,
                              (unsigned long long)req);
    *len = o;
    return s;
}

/* ---------- baseline: commitq in process ---------- */

typedef struct qarg {
    commitq *q;
    int batch;
    double until;
    uint64_t events;
} qarg;

static void *q_worker(void *v)
{
    qarg *a = v;
    ledger_item *it = calloc((size_t)a->batch, sizeof *it);
    static const char pl[] = "{\"actor\":\"agent:bench\",\"i\":0,\"r\":1800000000000000,\"time\":\"2026-07-01T08:00:00Z\","
                             "\"type\":\"x-bench.tick\"}";
    /* A signature record of the size the daemon stores in every leaf, so both
     * sides write the same bytes. */
    static const char sig[] =
        "{\"agent\":\"bench-0\",\"alg\":\"ed25519\",\"body_sha256\":\"0000000000000000000000000000"
        "000000000000000000000000000000000000\",\"key_id\":\"0000000000000000\",\"method\":\"POST\","
        "\"path\":\"/v1/events\",\"seq\":1764060000000000,\"signature\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\",\"ts\":1764060000,\"v\":1}";
    for (int i = 0; i < a->batch; i++)
        it[i] = (ledger_item){.writer = EVENT_WRITER_EDGE, .source = "bench-0", .type = "x-bench.tick", .payload = pl,
                              .payload_len = sizeof pl - 1, .sig = sig, .sig_len = sizeof sig - 1};
    while (bench_now_s() < a->until) {
        ledger_commit c;
        adt_err err;
        int rc = commitq_submit(a->q, it, (size_t)a->batch, &c, &err);
        if (rc == ADT_OK)
            a->events += (uint64_t)a->batch;
        else if (rc != ADT_EBUSY) {
            fprintf(stderr, "commitq_submit: %s\n", err.msg);
            break;
        }
    }
    free(it);
    return NULL;
}

static double baseline(const char *dir, int nthreads, int batch, double secs)
{
    commitq *q;
    adt_err err;
    commitq_opts o = {.max_pending_events = 1000000, .max_group_events = 20000};
    if (commitq_start(dir, &o, &q, &err)) {
        fprintf(stderr, "commitq_start: %s\n", err.msg);
        exit(1);
    }
    qarg a[T];
    pthread_t th[T];
    double t0 = bench_now_s();
    for (int i = 0; i < nthreads; i++) {
        a[i] = (qarg){q, batch, t0 + secs, 0};
        pthread_create(&th[i], NULL, q_worker, &a[i]);
    }
    uint64_t ev = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        ev += a[i].events;
    }
    double el = bench_now_s() - t0;
    commitq_stop(q);
    return (double)ev / el;
}

/* ---------- HTTP load ---------- */

typedef struct harg {
    int port, id, batch;
    double until, interval; /* interval > 0: paced, one request per interval */
    uint8_t sk[64];
    char name[32];
    uint64_t seq;
    uint64_t events, requests, busy, errors;
    double *lat;
    size_t nlat, caplat;
} harg;

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static void *h_worker(void *v)
{
    harg *a = v;
    size_t blen;
    char *body = NULL;
    uint8_t bh[32];
    CURL *c = curl_easy_init();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/events", a->port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    double next = bench_now_s();
    while (bench_now_s() < a->until) {
        if (a->interval > 0) {
            double w = next - bench_now_s();
            if (w > 0) {
                struct timespec ts = {(time_t)w, (long)((w - (double)(time_t)w) * 1e9)};
                nanosleep(&ts, NULL);
            }
            next += a->interval;
        }
        agentsig_hdr h = {.ts = time(NULL), .seq = ++a->seq};
        free(body);
        body = make_batch(a->batch, h.seq, &blen);
        crypto_hash_sha256(bh, (const unsigned char *)body, blen);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        snprintf(h.name, sizeof h.name, "%s", a->name);
        adt_err err;
        agentsig_sign(&h, "POST", "/v1/events", bh, a->sk, &err);
        char val[AGENTSIG_HDR_MAX], hdr[AGENTSIG_HDR_MAX + 32];
        agentsig_format(&h, val, sizeof val);
        snprintf(hdr, sizeof hdr, "Authorization: %s", val);
        struct curl_slist *hl = curl_slist_append(NULL, hdr);
        hl = curl_slist_append(hl, "Content-Type: application/x-ndjson");
        hl = curl_slist_append(hl, "Expect:");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        double t0 = bench_now_s();
        CURLcode rc = curl_easy_perform(c);
        double dt = bench_now_s() - t0;
        curl_slist_free_all(hl);
        long st = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
        a->requests++;
        if (rc == CURLE_OK && st == 201) {
            a->events += (uint64_t)a->batch;
            if (a->nlat == a->caplat) {
                a->caplat = a->caplat ? a->caplat * 2 : 4096;
                a->lat = realloc(a->lat, a->caplat * sizeof *a->lat);
            }
            a->lat[a->nlat++] = dt;
        } else if (st == 429) {
            a->busy++;
        } else {
            a->errors++;
        }
    }
    curl_easy_cleanup(c);
    free(body);
    return NULL;
}

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

typedef struct hres {
    double eps, rps, p50, p99;
    uint64_t busy, errors;
} hres;

static hres http_load(harg *args, int nthreads, int port, int batch, double secs, double rate_per_thread)
{
    pthread_t th[T];
    double t0 = bench_now_s();
    for (int i = 0; i < nthreads; i++) {
        args[i].port = port;
        args[i].batch = batch;
        args[i].until = t0 + secs;
        args[i].interval = rate_per_thread > 0 ? 1.0 / rate_per_thread : 0;
        args[i].events = args[i].requests = args[i].busy = args[i].errors = 0;
        args[i].nlat = 0;
        pthread_create(&th[i], NULL, h_worker, &args[i]);
    }
    hres r = {0};
    size_t n = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        n += args[i].nlat;
    }
    double el = bench_now_s() - t0;
    double *all = malloc((n ? n : 1) * sizeof *all);
    size_t k = 0;
    uint64_t ev = 0, rq = 0;
    for (int i = 0; i < nthreads; i++) {
        memcpy(all + k, args[i].lat, args[i].nlat * sizeof *all);
        k += args[i].nlat;
        ev += args[i].events;
        rq += args[i].requests - args[i].busy - args[i].errors;
        r.busy += args[i].busy;
        r.errors += args[i].errors;
    }
    qsort(all, n, sizeof *all, cmp_d);
    r.eps = (double)ev / el;
    r.rps = (double)rq / el;
    r.p50 = n ? all[n / 2] * 1000 : 0;
    r.p99 = n ? all[(size_t)((double)n * 0.99)] * 1000 : 0;
    free(all);
    return r;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 4.0;
    if (secs <= 0 || secs > 600)
        secs = 4.0;
    if (sodium_init() < 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    char tmpl[] = "/tmp/bench-http-XXXXXX";
    char *root = mkdtemp(tmpl);
    if (!root)
        return 1;
    char dir[256], qdir[256];
    snprintf(dir, sizeof dir, "%s/daemon", root);
    snprintf(qdir, sizeof qdir, "%s/inproc", root);
    if (run((const char *const[]){AUDITD_BIN, "init", "--data-dir", dir, NULL}) ||
        run((const char *const[]){AUDITD_BIN, "init", "--data-dir", qdir, NULL})) {
        fprintf(stderr, "bench_http: auditd init failed\n");
        return 1;
    }
    static harg args[T];
    for (int i = 0; i < T; i++) {
        snprintf(args[i].name, sizeof args[i].name, "bench-%d", i);
        char key[300];
        snprintf(key, sizeof key, "%s/%s.key", root, args[i].name);
        if (run((const char *const[]){AUDITD_BIN, "agent", "add", args[i].name, "--role", "edge",
                                      "--key-out", key, "--data-dir", dir, NULL})) {
            fprintf(stderr, "bench_http: agent add failed\n");
            return 1;
        }
        uint8_t pk[32];
        adt_err err;
        if (agentsig_key_load(key, args[i].sk, pk, &err)) {
            fprintf(stderr, "bench_http: %s\n", err.msg);
            return 1;
        }
        args[i].seq = (uint64_t)rfc3339_now_us();
    }
    int port = bench_free_port();
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    pid_t d = fork();
    if (d == 0) {
        const char *av[64] = {AUDITD_BIN, "serve", "--data-dir", dir, "--listen", listen,
                              "--queue-max-events", "1000000", "--log-level", "warn",
                              "--verify-interval-seconds", "0"};
        int n = 12;
        for (int i = 2; i < argc && n < 63; i++)
            av[n++] = argv[i];
        av[n] = NULL;
        execv(AUDITD_BIN, (char *const *)av);
        _exit(127);
    }
    /* Wait for /healthz. */
    int up = 0;
    for (int i = 0; i < 200 && !up; i++) {
        CURL *c = curl_easy_init();
        char u[96];
        snprintf(u, sizeof u, "http://%s/healthz", listen);
        curl_easy_setopt(c, CURLOPT_URL, u);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        long st = 0;
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
        curl_easy_cleanup(c);
        up = st == 200;
        if (!up)
            usleep(50000);
    }
    if (!up) {
        fprintf(stderr, "bench_http: daemon did not start\n");
        kill(d, SIGKILL);
        return 1;
    }
    printf("bench_http: %.0f s per phase, daemon pid %d; same threads and leaf sizes on both sides\n",
           secs, (int)d);
    printf("%-6s %-8s %14s %14s %12s %10s %10s %6s\n", "batch", "threads", "commitq ev/s",
           "HTTP ev/s", "HTTP req/s", "p50 ms", "p99 ms", "429s");
    static const int sizes[] = {1, 100, 1000};
    static const int threads[] = {64, 16, 8};
    hres r1000 = {0}, r1 = {0};
    for (size_t k = 0; k < 3; k++) {
        double base = baseline(qdir, threads[k], sizes[k], secs / 2);
        hres r = http_load(args, threads[k], port, sizes[k], secs, 0);
        if (sizes[k] == 1000)
            r1000 = r;
        if (sizes[k] == 1)
            r1 = r;
        printf("%-6d %-8d %14.0f %14.0f %12.0f %10.2f %10.2f %6llu%s\n", sizes[k], threads[k], base,
               r.eps, r.rps,
               r.p50, r.p99, (unsigned long long)r.busy, r.errors ? " (errors!)" : "");
        fflush(stdout);
    }
    /* Paced: 10,000 events/s as batches of 10 from 64 threads (15.625 req/s each). */
    hres p = http_load(args, 64, port, 10, secs, 15.625);
    printf("paced 10,000 ev/s (batches of 10): achieved %.0f ev/s, p50 %.2f ms, p99 %.2f ms\n",
           p.eps, p.p50, p.p99);
    printf("targets: >= 100000 ev/s at batch 1000: %s; >= 5000 req/s single-event: %s; "
           "p99 < 100 ms at 10,000 ev/s: %s\n",
           r1000.eps >= 100000 ? "met" : "NOT met", r1.rps >= 5000 ? "met" : "NOT met",
           p.p99 < 100 && p.eps > 9000 ? "met" : "NOT met");
    kill(d, SIGTERM);
    int st;
    waitpid(d, &st, 0);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_http: could not remove %s\n", root);
    curl_global_cleanup();
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
