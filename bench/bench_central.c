/* bench_central: the central tier's mirroring throughput next to the site's own
 * append rate, both measured in this run on this machine, and the mirror's
 * memory as entries accumulate.
 *
 * Starts a temporary PostgreSQL cluster beside it (scripts/pgtmp.sh, default
 * durability: fsync on), then:
 *   1. one site: appends COUNT entries of ~500 bytes with ledger_append in
 *      batches of 1,000 (the site's append rate: the ledger alone, without
 *      HTTP, so a high baseline), serves them with a real `auditd serve`, and
 *      times `auditd central mirror --once` over them (one stream), sampling
 *      the mirror process's RSS against the entries it has stored;
 *   2. SITES sites of PER_SITE entries each, all served at once, mirrored by
 *      one `auditd central mirror --once` (one writer thread and PostgreSQL
 *      session per site): total and per-stream rates, peak RSS.
 * usage: bench_central [COUNT=300000] [SITES=20] [PER_SITE=20000] */
#include "ledger.h"

#include "bench_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1000
#define MAX_SITES 64
#define PGTMP AUDITD_SOURCE_DIR "/scripts/pgtmp.sh"

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_central: %s: %s\n", what, msg);
    exit(1);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Run AUDITD_BIN with args; first line of stdout into out (may be NULL). */
static int run(const char *const *args, char *out, size_t cap)
{
    int p[2];
    if (pipe(p))
        die("pipe", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 2);
        const char *argv[32];
        int n = 0;
        argv[n++] = AUDITD_BIN;
        for (int i = 0; args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(AUDITD_BIN, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    char got[4096];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof got - 1 && (r = read(p[0], got + len, sizeof got - 1 - len)) > 0)
        len += (size_t)r;
    got[len] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    if (out && cap) {
        size_t n = strcspn(got, "\n");
        if (n >= cap)
            n = cap - 1;
        memcpy(out, got, n);
        out[n] = '\0';
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static pid_t spawn(const char *const *args, const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        const char *argv[32];
        int n = 0;
        argv[n++] = AUDITD_BIN;
        for (int i = 0; args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(AUDITD_BIN, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* VmRSS of a process in KiB (0 if gone). */
static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    long v = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            v = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

/* A ~500-byte event summary, deterministic from (site, i). */
static size_t make_payload(int site, uint64_t i, char *out, size_t cap)
{
    uint8_t h[32];
    uint64_t k[2] = {(uint64_t)site, i};
    crypto_hash_sha256(h, (const unsigned char *)k, sizeof k);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, h, 32);
    int n = snprintf(out, cap,
                     "{\"accepted\":%llu,\"actor\":\"agent:gw-%u\",\"batch_id\":\"b-%010llu\","
                     "\"devices\":12,\"digest\":\"%s\",\"from\":\"2026-07-01T07:00:00Z\","
                     "\"note\":\"",
                     (unsigned long long)(i % 5000), (unsigned)(i % 7), (unsigned long long)i, hex);
    size_t len = (size_t)n;
    while (len < 440)
        out[len++] = 'x';
    len += (size_t)snprintf(out + len, cap - len,
                            "\",\"quarantined\":0,\"readings\":%llu,\"time\":\"2026-07-01T08:00:00Z\","
                            "\"to\":\"2026-07-01T08:00:00Z\",\"type\":\"x-bench.batch\"}",
                            (unsigned long long)(i % 5000));
    return len;
}

typedef struct fill_job {
    const char *dir;
    int site;
    uint64_t n;
    double t;
} fill_job;

static double fill(const char *dir, int site, uint64_t n);

static void *fill_main(void *arg)
{
    fill_job *j = arg;
    j->t = fill(j->dir, j->site, j->n);
    return NULL;
}

/* Append `n` entries to the ledger in `dir`; returns the seconds taken. */
static double fill(const char *dir, int site, uint64_t n)
{
    ledger *lg;
    adt_err err;
    if (ledger_open(dir, LEDGER_RDWR, &lg, &err))
        die("ledger_open", err.msg);
    char(*payloads)[640] = malloc(BATCH * sizeof *payloads);
    ledger_item *items = malloc(BATCH * sizeof *items);
    if (!payloads || !items)
        die("fill", "out of memory");
    double t0 = bench_now_s();
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < BATCH ? (size_t)(n - done) : BATCH;
        for (size_t i = 0; i < k; i++) {
            size_t pl = make_payload(site, done + i, payloads[i], sizeof payloads[i]);
            items[i] = (ledger_item){.source = "bench", .type = "x-bench.batch",
                                     .payload = payloads[i], .payload_len = pl,
                                     .writer = EVENT_WRITER_ADMIN};
        }
        ledger_commit c;
        if (ledger_append(lg, items, k, &c, &err))
            die("ledger_append", err.msg);
        done += k;
    }
    double t = bench_now_s() - t0;
    ledger_close(lg);
    free(payloads);
    free(items);
    return t;
}

typedef struct site {
    char dir[256];
    char origin[64];
    char token[160];
    char key[512];
    char url[64];
    int port;
    pid_t pid;
} site;

static void site_create(site *s, const char *root, int i)
{
    snprintf(s->dir, sizeof s->dir, "%s/site-%02d", root, i);
    snprintf(s->origin, sizeof s->origin, "bench-%02d.example/log", i);
    if (run((const char *const[]){"init", "--data-dir", s->dir, "--origin", s->origin, NULL},
            NULL, 0))
        die("auditd init", s->dir);
    if (run((const char *const[]){"token", "create", "--role", "auditor", "--name", "central",
                                  "--data-dir", s->dir, NULL},
            s->token, sizeof s->token))
        die("auditd token create", s->dir);
    if (run((const char *const[]){"key", "--data-dir", s->dir, NULL}, s->key, sizeof s->key))
        die("auditd key", s->dir);
}

static void site_serve(site *s)
{
    if ((s->port = bench_free_port()) < 0)
        die("free port", strerror(errno));
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    char listen[64], log[300];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
    snprintf(log, sizeof log, "%s/daemon.log", s->dir);
    s->pid = spawn((const char *const[]){"serve", "--data-dir", s->dir, "--listen", listen, NULL},
                   log);
    for (int i = 0; i < 500 && !port_open(s->port); i++)
        sleep_ms(20);
    if (!port_open(s->port))
        die("auditd serve", "did not start");
    sleep_ms(200); /* server.start recorded */
}

static void site_register(site *s, const char *db)
{
    if (run((const char *const[]){"central", "site", "add", "--db", db, "--origin", s->origin,
                                  "--key", s->key, "--url", s->url, "--token", s->token, NULL},
            NULL, 0))
        die("central site add", s->origin);
}

/* Run `central mirror --once` for the given sites (NULL: all), sampling its RSS;
 * returns seconds; peak RSS into *peak. With `trace`, prints RSS against the
 * entries stored so far (read from the database with psql). */
static double mirror_once(const char *db, const char *root, const char *origin, long *peak,
                          bool trace)
{
    char log[300];
    snprintf(log, sizeof log, "%s/mirror.log", root);
    const char *args[] = {"central", "mirror", "--once", "--db", db,
                          origin ? "--site" : NULL, origin, NULL};
    double t0 = bench_now_s();
    pid_t m = spawn(args, log);
    *peak = 0;
    double next_trace = t0 + 0.5;
    int st = 0;
    for (;;) {
        long r = rss_kib(m);
        if (r > *peak)
            *peak = r;
        if (waitpid(m, &st, WNOHANG) == m)
            break;
        if (trace && bench_now_s() >= next_trace) {
            char cmd[1200], out[64] = "";
            snprintf(cmd, sizeof cmd,
                     "psql '%s' -Atc 'SELECT coalesce(sum(next_entry),0) FROM auditd_central.streams'",
                     db);
            FILE *p = popen(cmd, "r");
            if (p && fgets(out, sizeof out, p))
                out[strcspn(out, "\n")] = '\0';
            if (p)
                pclose(p);
            printf("    %10s entries stored   mirror RSS %6.1f MiB\n", out, (double)r / 1024.0);
            next_trace += 0.5;
        }
        sleep_ms(10);
    }
    double t = bench_now_s() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("central mirror --once", "failed (see mirror.log in the bench directory)");
    return t;
}

int main(int argc, char **argv)
{
    uint64_t count = argc > 1 ? strtoull(argv[1], NULL, 10) : 300000;
    int nsites = argc > 2 ? atoi(argv[2]) : 20;
    uint64_t per_site = argc > 3 ? strtoull(argv[3], NULL, 10) : 20000;
    if (count < 1000 || nsites < 1 || nsites > MAX_SITES || per_site < 100)
        die("usage", "bench_central [COUNT>=1000] [SITES 1..64] [PER_SITE>=100]");
    if (sodium_init() < 0)
        die("sodium", "init failed");
    signal(SIGPIPE, SIG_IGN);
    char root[128];
    snprintf(root, sizeof root, "/tmp/auditd-bench-central-%ld", (long)getpid());
    if (mkdir(root, 0700))
        die("mkdir", strerror(errno));
    char pgdir[200], cmd[600], db[512] = "";
    snprintf(pgdir, sizeof pgdir, "/tmp/auditd-bench-central-pg-%ld", (long)getpid());
    snprintf(cmd, sizeof cmd, "'%s' start '%s' --owner-pid %ld", PGTMP, pgdir, (long)getpid());
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(db, sizeof db, p))
        die("PostgreSQL", "scripts/pgtmp.sh start failed");
    pclose(p);
    db[strcspn(db, "\n")] = '\0';
    if (run((const char *const[]){"central", "init", "--db", db, NULL}, NULL, 0))
        die("central init", db);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    printf("bench_central: %ld CPUs; PostgreSQL 15 beside it (fsync on); ~500-byte entries\n",
           ncpu);

    /* 1. One stream. */
    site one;
    site_create(&one, root, 0);
    double ta = fill(one.dir, 0, count);
    site_serve(&one);
    site_register(&one, db);
    printf("\n1. one site, %llu entries\n", (unsigned long long)count);
    long peak1 = 0;
    double tm = mirror_once(db, root, one.origin, &peak1, true);
    double append_rate = (double)count / ta, mirror_rate = (double)count / tm;
    printf("  site append (ledger_append, batches of 1,000): %9.0f entries/s   (baseline)\n",
           append_rate);
    printf("  central mirror, one stream:                    %9.0f entries/s   = %.0f %% of "
           "the append rate (target >= 50 %%)\n",
           mirror_rate, 100.0 * mirror_rate / append_rate);
    printf("  mirror peak RSS: %.1f MiB\n", (double)peak1 / 1024.0);

    /* 2. Many streams at once. */
    site *ss = calloc((size_t)nsites, sizeof *ss);
    fill_job *jobs = calloc((size_t)nsites, sizeof *jobs);
    pthread_t *th = calloc((size_t)nsites, sizeof *th);
    for (int i = 0; i < nsites; i++)
        site_create(&ss[i], root, i + 1);
    /* Baseline: the sites appending all at once on this machine (each its own
     * ledger, as separate plants would), the same entries. */
    double t0 = bench_now_s();
    for (int i = 0; i < nsites; i++) {
        jobs[i] = (fill_job){.dir = ss[i].dir, .site = i + 1, .n = per_site};
        pthread_create(&th[i], NULL, fill_main, &jobs[i]);
    }
    for (int i = 0; i < nsites; i++)
        pthread_join(th[i], NULL);
    double tfill = bench_now_s() - t0;
    for (int i = 0; i < nsites; i++) {
        site_serve(&ss[i]);
        site_register(&ss[i], db);
    }
    printf("\n2. %d sites x %llu entries, all served at once, one mirror process\n", nsites,
           (unsigned long long)per_site);
    /* The first site is mirrored already: it is checked and found current. */
    long peak2 = 0;
    double t2 = mirror_once(db, root, NULL, &peak2, false);
    double total = (double)nsites * (double)per_site;
    printf("  %2d sites appending at once (ledger_append):    %9.0f entries/s in total, %.0f per "
           "site   (baseline)\n", nsites, total / tfill, total / tfill / nsites);
    printf("  central mirror, %2d streams at once:            %9.0f entries/s in total, %.0f per "
           "stream = %.0f %% of the sites' append rate\n",
           nsites, total / t2, total / t2 / nsites, 100.0 * tfill / t2);
    printf("  mirror peak RSS with %d streams: %.1f MiB\n", nsites, (double)peak2 / 1024.0);
    free(jobs);
    free(th);

    for (int i = 0; i < nsites; i++) {
        kill(ss[i].pid, SIGTERM);
        waitpid(ss[i].pid, NULL, 0);
    }
    kill(one.pid, SIGTERM);
    waitpid(one.pid, NULL, 0);
    free(ss);
    snprintf(cmd, sizeof cmd, "'%s' stop '%s'; rm -rf '%s'", PGTMP, pgdir, root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_central: cleanup of %s failed\n", root);
    return 0;
}
