/* bench_witness: what witnessing costs, each figure next to a baseline from
 * the same run.
 *
 *  1. Cosign latency in process: witness_add_checkpoint over the SQLite store
 *     (parse, verify the log signature and the RFC 6962 consistency proof,
 *     cosign, compare-and-swap with synchronous=FULL) for 200 successive
 *     checkpoints; baseline: 200 one-row durable SQLite updates (the fsync a
 *     cosignature must wait for) and one Ed25519 verify + sign.
 *  2. Cosign over HTTP: POST /add-checkpoint to a real witness daemon on
 *     127.0.0.1; baseline: GET /healthz on the same daemon.
 *  3. Submitter overhead on ingestion: signed batches of 100 events from 16
 *     threads to a real log daemon without --witness, with a live witness and
 *     with a witness that is down, alternated twice; events/s and p99.
 *
 * usage: bench_witness [seconds-per-ingestion-run, default 4] [rounds, default 3] */
#include "agentsig.h"
#include "ledger.h"
#include "numparse.h"
#include "rfc3339.h"
#include "witness.h"
#include "witness_sqlite.h"

#include "bench_util.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NCP 200  /* checkpoints cosigned in phases 1 and 2 */
#define T 16
#define BATCH 100

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

static char *run_out(const char *const *args)
{
    int pf[2];
    if (pipe(pf))
        return NULL;
    pid_t p = fork();
    if (p == 0) {
        dup2(pf[1], 1);
        close(pf[0]);
        execv(AUDITD_BIN, (char *const *)args);
        _exit(127);
    }
    close(pf[1]);
    char *b = calloc(1, 4096);
    size_t n = 0;
    ssize_t r;
    while ((r = read(pf[0], b + n, 4095 - n)) > 0)
        n += (size_t)r;
    close(pf[0]);
    waitpid(p, NULL, 0);
    while (n && b[n - 1] == '\n')
        b[--n] = '\0';
    return b;
}

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static void stats(double *v, size_t n, double *p50, double *p99, double *mean)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    qsort(v, n, sizeof *v, cmp_d);
    *p50 = v[n / 2] * 1000;
    *p99 = v[(size_t)((double)n * 0.99)] * 1000;
    *mean = s / (double)n * 1000;
}

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static long http(int port, const char *method, const char *path, const char *body, size_t len,
                 const char *hdr)
{
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    struct curl_slist *hl = hdr ? curl_slist_append(NULL, hdr) : NULL;
    if (hl)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    long st = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return st;
}

static pid_t serve(const char *dir, int port, const char *const *extra)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    pid_t d = fork();
    if (d == 0) {
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 2);
        const char *av[32] = {AUDITD_BIN, "serve", "--data-dir", dir, "--listen", listen,
                              "--log-level", "error"};
        int n = 8;
        for (int i = 0; extra && extra[i] && n < 31; i++)
            av[n++] = extra[i];
        av[n] = NULL;
        execv(AUDITD_BIN, (char *const *)av);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        if (http(port, "GET", "/healthz", NULL, 0, NULL) == 200)
            return d;
        usleep(50000);
    }
    kill(d, SIGKILL);
    return -1;
}

/* CPU seconds (user + system) a process has used so far, from /proc. */
static double cpu_s(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    const char *p = strrchr(line, ')'); /* fields after the command name: state is field 3 */
    if (!p)
        return 0;
    unsigned long long v[13] = {0}; /* fields 3..15; utime is 14, stime 15 */
    p++;
    for (int i = 0; i < 13 && *p; i++) {
        while (*p == ' ')
            p++;
        v[i] = i == 0 ? 0 : strtoull(p, NULL, 10);
        while (*p && *p != ' ')
            p++;
    }
    return (double)(v[11] + v[12]) / (double)sysconf(_SC_CLK_TCK);
}

/* Read one unlabelled metric from /metrics. */
typedef struct mbuf {
    char d[1 << 16];
    size_t n;
} mbuf;

static size_t mcollect(char *p, size_t sz, size_t n, void *u)
{
    mbuf *b = u;
    size_t k = sz * n;
    if (b->n + k >= sizeof b->d)
        k = sizeof b->d - 1 - b->n;
    memcpy(b->d + b->n, p, k);
    b->n += k;
    b->d[b->n] = '\0';
    return sz * n;
}

static void metric(int port, const char *name, double *out)
{
    static mbuf b;
    b.n = 0;
    b.d[0] = '\0';
    CURL *c = curl_easy_init();
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mcollect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(b.d, key);
    *out = p ? strtod(p + strlen(key), NULL) : 0;
}

static void stop(pid_t d)
{
    kill(d, SIGTERM);
    waitpid(d, NULL, 0);
}

/* "old S\n" + proof + "\n" + checkpoint at T, from `lg`. */
static size_t request(ledger *lg, uint64_t s, uint64_t t, char *out, size_t cap)
{
    adt_err err;
    size_t o = (size_t)snprintf(out, cap, "old %llu\n", (unsigned long long)s);
    if (s > 0) {
        merkle_hash h[MERKLE_MAX_PROOF];
        size_t n = 0;
        if (ledger_prove_consistency(lg, s, t, h, &n, &err))
            exit(1);
        for (size_t i = 0; i < n; i++) {
            char b[64];
            sodium_bin2base64(b, sizeof b, h[i], 32, sodium_base64_VARIANT_ORIGINAL);
            o += (size_t)snprintf(out + o, cap - o, "%s\n", b);
        }
    }
    char note[NOTE_MAX];
    if (ledger_checkpoint_at(lg, t, note, sizeof note, &err))
        exit(1);
    o += (size_t)snprintf(out + o, cap - o, "\n%s", note);
    return o;
}

/* ---------- ingestion load ---------- */

typedef struct harg {
    int port;
    double until;
    uint8_t sk[64];
    char name[32];
    uint64_t seq, events, errors;
    double *lat;
    size_t nlat, caplat;
} harg;

static void *h_worker(void *v)
{
    harg *a = v;
    char *body = malloc(BATCH * 128 + 1);
    size_t blen = 0;
    for (int i = 0; i < BATCH; i++)
        blen += (size_t)snprintf(body + blen, 128, "{\"type\":\"x-bench.tick\",\"time\":"
                                 "\"2026-07-01T08:00:00Z\",\"actor\":\"agent:bench\",\"i\":%d}\n", i);
    uint8_t bh[32];
    crypto_hash_sha256(bh, (const unsigned char *)body, blen);
    CURL *c = curl_easy_init();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/events", a->port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    while (bench_now_s() < a->until) {
        agentsig_hdr h = {.ts = time(NULL), .seq = ++a->seq};
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
        if (rc == CURLE_OK && st == 201) {
            a->events += BATCH;
            if (a->nlat == a->caplat) {
                a->caplat = a->caplat ? a->caplat * 2 : 4096;
                a->lat = realloc(a->lat, a->caplat * sizeof *a->lat);
            }
            a->lat[a->nlat++] = dt;
        } else {
            a->errors++;
        }
    }
    curl_easy_cleanup(c);
    free(body);
    return NULL;
}

static void load(harg *args, int port, double secs, double *eps, double *p99, uint64_t *errors)
{
    pthread_t th[T];
    double t0 = bench_now_s();
    for (int i = 0; i < T; i++) {
        args[i].port = port;
        args[i].until = t0 + secs;
        args[i].events = args[i].errors = 0;
        args[i].nlat = 0;
        pthread_create(&th[i], NULL, h_worker, &args[i]);
    }
    size_t n = 0;
    uint64_t ev = 0;
    *errors = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        n += args[i].nlat;
        ev += args[i].events;
        *errors += args[i].errors;
    }
    double el = bench_now_s() - t0;
    double *all = malloc((n ? n : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < T; i++) {
        memcpy(all + k, args[i].lat, args[i].nlat * sizeof *all);
        k += args[i].nlat;
    }
    double p50, mean;
    *eps = (double)ev / el;
    if (n)
        stats(all, n, &p50, p99, &mean);
    else
        *p99 = 0;
    free(all);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 4.0;
    if (secs <= 0 || secs > 600)
        secs = 4.0;
    int64_t r64 = 3;
    if (argc > 2 && num_i64(argv[2], 1, 20, &r64)) {
        fprintf(stderr, "bench_witness: rounds must be 1..20\n");
        return 2;
    }
    int rounds = (int)r64;
    if (sodium_init() < 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    char tmpl[] = "/tmp/bench-witness-XXXXXX";
    char *root = mkdtemp(tmpl);
    if (!root)
        return 1;
    char ldir[256], wdir[256], hdir[256], fsdir[256];
    snprintf(ldir, sizeof ldir, "%s/inproc-log", root);
    snprintf(wdir, sizeof wdir, "%s/witness", root);
    snprintf(hdir, sizeof hdir, "%s/http-log", root);
    snprintf(fsdir, sizeof fsdir, "%s/fsync.db", root);
    adt_err err;

    /* ---- 1. in process ---- */
    if (ledger_init(ldir, "bench.test/inproc", &err))
        return 1;
    ledger *lg;
    if (ledger_open(ldir, LEDGER_RDWR, &lg, &err))
        return 1;
    static const char pl[] = "{\"actor\":\"a\",\"time\":\"2026-07-01T08:00:00Z\",\"type\":\"x-bench.tick\"}";
    ledger_item it[10];
    for (int i = 0; i < 10; i++)
        it[i] = (ledger_item){.writer = EVENT_WRITER_EDGE, .source = "bench", .type = "x-bench.tick",
                              .payload = pl, .payload_len = sizeof pl - 1};
    for (int k = 0; k < NCP; k++) {
        ledger_commit c;
        if (ledger_append(lg, it, 10, &c, &err))
            return 1;
    }
    if (run((const char *const[]){AUDITD_BIN, "init", "--data-dir", wdir, "--origin", "bench.test/w-own", NULL}) ||
        run((const char *const[]){AUDITD_BIN, "witness", "init", "--name", "bench.test/witness",
                                  "--data-dir", wdir, NULL}) ||
        run((const char *const[]){AUDITD_BIN, "init", "--data-dir", hdir, "--origin", "bench.test/http", NULL})) {
        fprintf(stderr, "bench_witness: auditd init failed\n");
        return 1;
    }
    char *hkey = run_out((const char *const[]){AUDITD_BIN, "key", "--data-dir", hdir, NULL});
    char *wkey = run_out((const char *const[]){AUDITD_BIN, "witness", "key", "--data-dir", wdir, NULL});
    if (run((const char *const[]){AUDITD_BIN, "witness", "add-log", "--origin", "bench.test/inproc",
                                  "--key", ledger_key_line(lg), "--data-dir", wdir, NULL}) ||
        run((const char *const[]){AUDITD_BIN, "witness", "add-log", "--origin", "bench.test/http",
                                  "--key", hkey, "--data-dir", wdir, NULL}))
        return 1;
    /* An in-process witness on a copy of the witness state (the daemon gets the original). */
    char wcopy[256];
    snprintf(wcopy, sizeof wcopy, "%s/witness-inproc", root);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", wdir, wcopy);
    if (system(cmd) != 0)
        return 1;
    witness_sqlite *ws;
    note_signer *signer;
    witness *w;
    if (witness_sqlite_open(wcopy, &ws, &err) || witness_sqlite_signer(ws, wcopy, &signer, &err) ||
        witness_new(signer, witness_sqlite_ops(), ws, &w, &err)) {
        fprintf(stderr, "bench_witness: %s\n", err.msg);
        return 1;
    }
    static char reqs[NCP][16384];
    static size_t rlen[NCP];
    for (int k = 0; k < NCP; k++)
        rlen[k] = request(lg, (uint64_t)k * 10, (uint64_t)(k + 1) * 10, reqs[k], sizeof reqs[k]);
    double lat[NCP], base[NCP], p50, p99, mean, b50, b99, bmean;
    for (int k = 0; k < NCP; k++) {
        witness_answer a;
        double t0 = bench_now_s();
        if (witness_add_checkpoint(w, reqs[k], rlen[k], (uint64_t)time(NULL), &a, &err) || a.status != 200) {
            fprintf(stderr, "bench_witness: cosign %d: %d %s %s\n", k, a.status, a.message, err.msg);
            return 1;
        }
        lat[k] = bench_now_s() - t0;
    }
    sqlite3 *db;
    sqlite3_open(fsdir, &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(k INTEGER "
                     "PRIMARY KEY, v BLOB); INSERT INTO t VALUES(1, zeroblob(400));", NULL, NULL, NULL);
    for (int k = 0; k < NCP; k++) {
        double t0 = bench_now_s();
        sqlite3_exec(db, "BEGIN IMMEDIATE; UPDATE t SET v = randomblob(400) WHERE k = 1; COMMIT;",
                     NULL, NULL, NULL);
        base[k] = bench_now_s() - t0;
    }
    sqlite3_close(db);
    uint8_t pk[32], sk[64], sig[64], msg[200] = {0};
    crypto_sign_keypair(pk, sk);
    double c0 = bench_now_s();
    for (int k = 0; k < 1000; k++) {
        crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
        if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk))
            return 1;
    }
    double crypto_ms = (bench_now_s() - c0);
    stats(lat, NCP, &p50, &p99, &mean);
    stats(base, NCP, &b50, &b99, &bmean);
    printf("bench_witness: 2 cores shared, figures noisy; each line has its same-run baseline\n");
    printf("1. cosign in process (%d checkpoints, +10 entries each, proof ~%d hashes):\n", NCP, 8);
    printf("   witness_add_checkpoint   p50 %7.3f ms  p99 %7.3f ms  mean %7.3f ms\n", p50, p99, mean);
    printf("   baseline: durable 1-row SQLite update p50 %7.3f ms  p99 %7.3f ms  mean %7.3f ms;"
           " Ed25519 sign+verify %.3f ms\n", b50, b99, bmean, crypto_ms);
    witness_free(w);
    note_signer_free(signer);
    witness_sqlite_close(ws);

    /* ---- 2. over HTTP ---- */
    int wport = bench_free_port();
    pid_t wd = serve(wdir, wport, NULL);
    if (wd < 0) {
        fprintf(stderr, "bench_witness: witness daemon did not start\n");
        return 1;
    }
    for (int k = 0; k < NCP; k++) {
        double t0 = bench_now_s();
        long st = http(wport, "POST", "/add-checkpoint", reqs[k], rlen[k], NULL);
        lat[k] = bench_now_s() - t0;
        if (st != 200) {
            fprintf(stderr, "bench_witness: POST /add-checkpoint %d answered %ld\n", k, st);
            return 1;
        }
        t0 = bench_now_s();
        http(wport, "GET", "/healthz", NULL, 0, NULL);
        base[k] = bench_now_s() - t0;
    }
    stats(lat, NCP, &p50, &p99, &mean);
    stats(base, NCP, &b50, &b99, &bmean);
    printf("2. POST /add-checkpoint to a witness daemon (new connection each):\n");
    printf("   add-checkpoint           p50 %7.3f ms  p99 %7.3f ms  mean %7.3f ms\n", p50, p99, mean);
    printf("   baseline: GET /healthz   p50 %7.3f ms  p99 %7.3f ms  mean %7.3f ms\n", b50, b99, bmean);
    ledger_close(lg);

    /* ---- 3. ingestion with and without the submitter ---- */
    static harg args[T];
    for (int i = 0; i < T; i++) {
        snprintf(args[i].name, sizeof args[i].name, "bench-%d", i);
        char key[300];
        snprintf(key, sizeof key, "%s/%s.key", root, args[i].name);
        if (run((const char *const[]){AUDITD_BIN, "agent", "add", args[i].name, "--role", "edge",
                                      "--key-out", key, "--data-dir", hdir, NULL}))
            return 1;
        uint8_t p[32];
        if (agentsig_key_load(key, args[i].sk, p, &err))
            return 1;
        args[i].seq = (uint64_t)rfc3339_now_us();
    }
    char live[64], dead[64];
    snprintf(live, sizeof live, "http://127.0.0.1:%d", wport);
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", bench_free_port());
    const char *const none[] = {NULL};
    const char *const with_live[] = {"--witness", live, "--witness-key", wkey, NULL};
    const char *const with_dead[] = {"--witness", dead, "--witness-key", wkey, NULL};
    const char *const *modes[] = {none, with_live, with_dead};
    static const char *const names[] = {"no witness", "live witness", "witness down"};
    double sum[3] = {0}, p99s[3] = {0}, cpu_sum[3] = {0}, sub_cpu = 0, sub_rounds = 0, sub_secs = 0;
    printf("3. ingestion: %d threads, signed batches of %d events, %.0f s per run, %d rounds, order rotated:\n",
           T, BATCH, secs, rounds);
    /* A warm-up run, not counted: the first run of a fresh daemon was always
     * the fastest, whatever its mode (page cache, a small WAL). */
    {
        int port = bench_free_port();
        pid_t d = serve(hdir, port, none);
        if (d < 0)
            return 1;
        double eps, q99;
        uint64_t errors;
        load(args, port, secs, &eps, &q99, &errors);
        stop(d);
        printf("   (warm-up, not counted: %.0f ev/s)\n", eps);
    }
    for (int round = 0; round < rounds; round++)
        for (int k = 0; k < 3; k++) {
            int m = (k + round) % 3; /* rotate the order: no mode always runs first */
            int port = bench_free_port();
            pid_t d = serve(hdir, port, modes[m]);
            if (d < 0) {
                fprintf(stderr, "bench_witness: log daemon did not start\n");
                return 1;
            }
            double eps, q99;
            uint64_t errors;
            double cpu0 = cpu_s(d);
            load(args, port, secs, &eps, &q99, &errors);
            double cpu = cpu_s(d) - cpu0;
            if (m == 1) {
                double sc = 0, rn = 0;
                metric(port, "auditd_witness_submitter_cpu_seconds_total", &sc);
                metric(port, "auditd_witness_rounds_total", &rn);
                sub_cpu += sc;
                sub_rounds += rn;
                sub_secs += secs;
            }
            stop(d);
            double per = eps > 0 ? cpu * 1000 / (eps * secs / 10000) : 0;
            printf("   %-13s round %d: %8.0f ev/s  p99 %7.2f ms  daemon CPU %6.1f ms per 10,000 events%s\n",
                   names[m], round + 1, eps, q99, per, errors ? "  (errors!)" : "");
            fflush(stdout);
            sum[m] += eps;
            cpu_sum[m] += per;
            if (q99 > p99s[m])
                p99s[m] = q99;
        }
    printf("   submitter thread (live witness runs): %.0f rounds, %.1f ms CPU in %.0f s = %.3f%% of "
           "one core (%.2f ms a round)\n", sub_rounds, sub_cpu * 1000, sub_secs,
           sub_cpu / sub_secs * 100, sub_rounds > 0 ? sub_cpu * 1000 / sub_rounds : 0);
    printf("   daemon CPU per 10,000 events (mean): no witness %.1f ms, live witness %.1f ms, witness "
           "down %.1f ms\n", cpu_sum[0] / rounds, cpu_sum[1] / rounds, cpu_sum[2] / rounds);
    char *wl = run_out((const char *const[]){AUDITD_BIN, "witness", "logs", "--data-dir", wdir, NULL});
    printf("   mean: no witness %.0f ev/s; live witness %.0f ev/s (%+.1f%%); witness down %.0f ev/s "
           "(%+.1f%%)\n   witness now: %s\n",
           sum[0] / rounds, sum[1] / rounds, (sum[1] / sum[0] - 1) * 100, sum[2] / rounds,
           (sum[2] / sum[0] - 1) * 100, wl ? wl : "?");
    free(wl);
    stop(wd);
    free(hkey);
    free(wkey);
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_witness: could not remove %s\n", root);
    curl_global_cleanup();
    return 0;
}
