/* Black-box tests of the daemon's witness submitter (auditd/server/wsubmit.c)
 * against a hand-written HTTP responder on 127.0.0.1: the answers a real
 * witness (test_witness.c) never gives. The daemon is `auditd serve
 * --witness http://127.0.0.1:P --witness-key VKEY`; the responder records
 * each request byte for byte and answers as the test says:
 *
 * - the request on the wire: POST /add-checkpoint HTTP/1.1 with exactly the
 *   headers Host, Accept, Content-Type (text/plain; charset=utf-8) and
 *   Content-Length, no Accept-Encoding, no Expect, no User-Agent; the body
 *   "old 0\n\n" + the log's checkpoint (C2SP tlog-witness, add-checkpoint);
 * - a 409 with the size that was sent, a 409 without a size, a 500, an
 *   answer larger than the submitter's 64 KiB: /healthz and /metrics say so;
 * - a witness that never answers: the request ends after its 10 s limit,
 *   and at shutdown after its 3 s limit (the daemon still exits);
 * - at shutdown (SIGTERM) one last submission, even while backing off.
 *
 * AUDITD_TEST_BIN, if set, is the daemon to run (to compare another build's
 * requests with these expectations); the CLI steps use the built auditd. */
#include "tsupport.h"

#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ORIGIN "log.test/wsubmit"
#define WNAME "witness.test/hand"
#define REQ_MAX 65536

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---------- the responder ---------- */

typedef enum {
    A_SAME409, /* 409, text/x.tlog.size "0\n": the size the submitter sent */
    A_BAD409,  /* 409 without a size */
    A_500,     /* 500 "boom" */
    A_BIG,     /* 200 with 70000 bytes: over the submitter's 65536 */
    A_SLOW     /* read the request, never answer; wait until the client hangs up */
} answer;

typedef struct responder {
    int lfd, port;
    pthread_t th;
    pthread_mutex_t mu;
    answer mode;
    bool stop;
    int nreq;                 /* requests read */
    char first[REQ_MAX + 1];  /* the first request, head and body */
    size_t first_len;
    int64_t arrived_ms;       /* when the last request was read */
    int64_t hangup_ms;        /* A_SLOW: when the client closed (0: not yet) */
} responder;

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

/* Read one request (head + Content-Length body) into req; its length, or 0. */
static size_t read_request(int fd, char *req, size_t cap)
{
    size_t n = 0, need = 0;
    int64_t until = now_ms() + 5000;
    while (n < cap && now_ms() < until) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t k = recv(fd, req + n, cap - n, 0);
        if (k <= 0)
            return 0;
        n += (size_t)k;
        req[n] = '\0';
        char *end = strstr(req, "\r\n\r\n");
        if (!end)
            continue;
        if (!need) {
            size_t cl = 0;
            for (char *l = strstr(req, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
                if (!strncasecmp(l + 2, "Content-Length:", 15))
                    cl = strtoul(l + 17, NULL, 10);
            need = (size_t)(end + 4 - req) + cl;
        }
        if (n >= need)
            return n;
    }
    return 0;
}

/* One whole answer: status line, headers, body; the connection closes after it. */
static void answer_with(int fd, int status, const char *reason, const char *type, const char *body,
                        size_t len)
{
    char h[256];
    int n = snprintf(h, sizeof h,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason, type, len);
    if (n > 0 && (size_t)n < sizeof h)
        send_all(fd, h, (size_t)n);
    send_all(fd, body, len);
}

static void serve_one(responder *r, int fd)
{
    static char req[REQ_MAX + 1];
    size_t n = read_request(fd, req, REQ_MAX);
    if (!n)
        return;
    pthread_mutex_lock(&r->mu);
    if (r->nreq++ == 0) {
        memcpy(r->first, req, n);
        r->first[n] = '\0';
        r->first_len = n;
    }
    r->arrived_ms = now_ms();
    r->hangup_ms = 0;
    answer mode = r->mode;
    pthread_mutex_unlock(&r->mu);
    switch (mode) {
    case A_SAME409:
        answer_with(fd, 409, "Conflict", "text/x.tlog.size", "0\n", 2);
        break;
    case A_BAD409:
        answer_with(fd, 409, "Conflict", "text/x.tlog.size", "many\n", 5);
        break;
    case A_500:
        answer_with(fd, 500, "Internal Server Error", "text/plain", "boom\n", 5);
        break;
    case A_BIG: {
        static char big[70000];
        memset(big, 'a', sizeof big);
        answer_with(fd, 200, "OK", "text/plain", big, sizeof big);
        break;
    }
    case A_SLOW:
        for (int64_t until = now_ms() + 20000; now_ms() < until;) {
            struct pollfd p = {fd, POLLIN, 0};
            char c[256];
            if (poll(&p, 1, 50) > 0 && recv(fd, c, sizeof c, 0) <= 0)
                break;
            pthread_mutex_lock(&r->mu);
            bool stop = r->stop;
            pthread_mutex_unlock(&r->mu);
            if (stop)
                break;
        }
        pthread_mutex_lock(&r->mu);
        r->hangup_ms = now_ms();
        pthread_mutex_unlock(&r->mu);
        break;
    }
}

static void *responder_run(void *arg)
{
    responder *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            return NULL;
        struct pollfd p = {r->lfd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept(r->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_one(r, fd);
        close(fd);
    }
}

static void responder_start(responder *r, answer mode)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->mode = mode;
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(r->lfd, 0);
    int one = 1;
    setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */
    ck_assert_int_eq(bind(r->lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(r->lfd, 8), 0);
    socklen_t al = sizeof a;
    ck_assert_int_eq(getsockname(r->lfd, (struct sockaddr *)&a, &al), 0);
    r->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&r->th, NULL, responder_run, r), 0);
}

static void responder_stop(responder *r)
{
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    close(r->lfd);
    pthread_mutex_destroy(&r->mu);
}

static void set_mode(responder *r, answer mode)
{
    pthread_mutex_lock(&r->mu);
    r->mode = mode;
    pthread_mutex_unlock(&r->mu);
}

static int nreq(responder *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->nreq;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* A_SLOW: how long the last request was held before the client hung up
 * (waiting up to 5 s for the hang-up); -1 if it did not. */
static int64_t hangup_after(responder *r)
{
    for (int i = 0; i < 50; i++) {
        pthread_mutex_lock(&r->mu);
        int64_t held = r->hangup_ms ? r->hangup_ms - r->arrived_ms : -1;
        pthread_mutex_unlock(&r->mu);
        if (held >= 0)
            return held;
        sleep_ms(100);
    }
    return -1;
}

/* ---------- the log daemon ---------- */

typedef struct world {
    char *root;
    char log[4200], wit[4200];
    char wit_vkey[600];
    int lport;
    pid_t lpid;
} world;

static char *run_ok(const char *const *args)
{
    char *out = NULL, *err = NULL;
    int st = ts_run(NULL, 0, &out, &err, args);
    ck_assert_msg(st == 0, "auditd %s failed (%d): %s", args[0], st, err);
    free(err);
    return out;
}

static void world_setup(world *w, const char *tag)
{
    memset(w, 0, sizeof *w);
    w->root = ts_tmpdir(tag);
    ck_assert_ptr_nonnull(w->root);
    snprintf(w->log, sizeof w->log, "%s/log", w->root);
    snprintf(w->wit, sizeof w->wit, "%s/witness", w->root);
    free(run_ok((const char *const[]){"init", "--data-dir", w->log, "--origin", ORIGIN, NULL}));
    free(run_ok((const char *const[]){"init", "--data-dir", w->wit, "--origin", "witness.test/own",
                                      NULL}));
    free(run_ok((const char *const[]){"witness", "init", "--name", WNAME, "--data-dir", w->wit,
                                      NULL}));
    char *k = run_ok((const char *const[]){"witness", "key", "--data-dir", w->wit, NULL});
    k[strcspn(k, "\n")] = '\0';
    snprintf(w->wit_vkey, sizeof w->wit_vkey, "%s", k);
    free(k);
}

/* `serve` of the log, submitting to the responder on `wport`. */
static void start_log(world *w, int wport)
{
    const char *bin = getenv("AUDITD_TEST_BIN");
    bin = bin && *bin ? bin : AUDITD_BIN;
    char listen[64], url[64];
    w->lport = ts_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", w->lport);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", wport);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char logp[4300];
        snprintf(logp, sizeof logp, "%s/daemon.log", w->log);
        int lf = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (lf >= 0) {
            dup2(lf, 1);
            dup2(lf, 2);
        }
        execl(bin, bin, "serve", "--data-dir", w->log, "--listen", listen,
              "--verify-interval-seconds", "0", "--witness", url, "--witness-key", w->wit_vkey,
              (char *)NULL);
        _exit(127);
    }
    for (int waited = 0; waited < 10000; waited += 20) {
        ts_http r;
        if (ts_http_req(w->lport, "GET", "/healthz", NULL, NULL, 0, &r) == 0) {
            long st = r.status;
            ts_http_free(&r);
            if (st == 200) {
                w->lpid = pid;
                return;
            }
        }
        sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_abort_msg("the log daemon did not start (see %s/daemon.log)", w->log);
}

/* SIGTERM and wait; the milliseconds it took to exit. */
static int64_t stop_log(world *w)
{
    int64_t t0 = now_ms();
    int st = ts_daemon_stop(w->lpid, SIGTERM);
    w->lpid = 0;
    ck_assert_msg(st == 0, "the log daemon exited with %d", st);
    return now_ms() - t0;
}

static void world_teardown(world *w)
{
    if (w->lpid > 0)
        ts_daemon_stop(w->lpid, SIGKILL);
    if (!getenv("AUDITD_TEST_KEEP"))
        ts_rmrf(w->root);
    else
        fprintf(stderr, "kept %s\n", w->root);
    free(w->root);
}

static char *get(int port, const char *path)
{
    ts_http r;
    ck_assert_int_eq(ts_http_req(port, "GET", path, NULL, NULL, 0, &r), 0);
    ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status, r.body);
    char *b = r.body;
    r.body = NULL;
    ts_http_free(&r);
    return b;
}

/* Poll /healthz until the witness is down with a last_error containing
 * `want`; at most max_ms. */
static void wait_error(world *w, const char *want, int max_ms)
{
    char last[600] = "";
    for (int waited = 0; waited <= max_ms; waited += 100) {
        char *b = get(w->lport, "/healthz");
        cJSON *j = cJSON_Parse(b);
        free(b);
        cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "witnesses"), 0);
        ck_assert_msg(x != NULL, "/healthz has no witness details");
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(x, "state"));
        const char *le = cJSON_GetStringValue(cJSON_GetObjectItem(x, "last_error"));
        snprintf(last, sizeof last, "state %s, last_error %s", st ? st : "?", le ? le : "?");
        bool ok = st && !strcmp(st, "down") && le && strstr(le, want);
        cJSON_Delete(j);
        if (ok)
            return;
        sleep_ms(100);
    }
    ck_abort_msg("the witness was not reported down with \"%s\" in %d ms: %s", want, max_ms, last);
}

/* The value of the metric line starting with `prefix` ("name{labels}"), or -1. */
static long long metric(world *w, const char *prefix)
{
    char *m = get(w->lport, "/metrics");
    long long v = -1;
    for (char *l = m; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, prefix, strlen(prefix)) && l[strlen(prefix)] == ' ')
            v = strtoll(l + strlen(prefix) + 1, NULL, 10);
    free(m);
    return v;
}

/* ---------- tests ---------- */

/* The request as it goes on the wire, then each answer a witness should not
 * give, each reported; at shutdown one more submission. */
START_TEST(test_wire_and_bad_answers)
{
    world w;
    world_setup(&w, "wsubmit-wire");
    responder r;
    responder_start(&r, A_SAME409);
    start_log(&w, r.port);

    /* 409 with the size that was sent: a witness that contradicts itself. */
    wait_error(&w, "answered 409 with the size that was sent (0)", 10000);
    pthread_mutex_lock(&r.mu);
    char req[REQ_MAX + 1];
    memcpy(req, r.first, r.first_len + 1);
    size_t len = r.first_len;
    pthread_mutex_unlock(&r.mu);
    char *end = strstr(req, "\r\n\r\n");
    ck_assert_ptr_nonnull(end);
    const char *body = end + 4;
    size_t blen = len - (size_t)(body - req);
    end[2] = '\0'; /* the head, each line ending in CRLF */
    ck_assert_msg(!strncmp(req, "POST /add-checkpoint HTTP/1.1\r\n", 31), "request: %s", req);
    /* Exactly these headers, each once. */
    const char *want[] = {"Host:", "Accept:", "Content-Type:", "Content-Length:"};
    int seen[4] = {0}, lines = 0;
    for (char *l = strstr(req, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
        const char *h = l + 2;
        lines++;
        bool known = false;
        for (int i = 0; i < 4; i++)
            if (!strncasecmp(h, want[i], strlen(want[i]))) {
                seen[i]++;
                known = true;
            }
        ck_assert_msg(known, "unexpected header in the request: %.80s", h);
    }
    ck_assert_int_eq(lines, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(seen[i] == 1, "header %s seen %d times", want[i], seen[i]);
    char hl[128];
    snprintf(hl, sizeof hl, "\r\nHost: 127.0.0.1:%d\r\n", r.port);
    ck_assert_msg(strstr(req, hl), "Host: %s", req);
    ck_assert_msg(strstr(req, "\r\nAccept: */*\r\n"), "Accept: %s", req);
    ck_assert_msg(strstr(req, "\r\nContent-Type: text/plain; charset=utf-8\r\n"), "%s", req);
    snprintf(hl, sizeof hl, "\r\nContent-Length: %zu\r\n", blen);
    ck_assert_msg(strstr(req, hl), "Content-Length is not the body's %zu: %s", blen, req);
    /* tlog-witness: "old 0", no proof, an empty line, the checkpoint (origin first). */
    ck_assert_msg(!strncmp(body, "old 0\n\n" ORIGIN "\n", strlen("old 0\n\n" ORIGIN "\n")),
                  "body: %s", body);
    ck_assert_msg(blen > 2 && body[blen - 1] == '\n', "the checkpoint ends without a newline");

    /* A 409 without a size. */
    set_mode(&r, A_BAD409);
    wait_error(&w, "answered 409 without a tree size", 5000);
    /* A 500: its status and the start of its body. */
    set_mode(&r, A_500);
    wait_error(&w, "answered 500: boom", 8000);
    ck_assert_int_ge(metric(&w, "auditd_witness_submissions_total{witness=\"" WNAME
                                "\",result=\"refused\"}"), 3);
    /* An answer over 64 KiB: the submitter stops reading; the witness counts
     * as unreachable. */
    long long unreach = metric(&w, "auditd_witness_submissions_total{witness=\"" WNAME
                                   "\",result=\"unreachable\"}");
    ck_assert_int_eq(unreach, 0);
    set_mode(&r, A_BIG);
    wait_error(&w, "unreachable", 12000);
    ck_assert_int_eq(metric(&w, "auditd_witness_submissions_total{witness=\"" WNAME
                                "\",result=\"unreachable\"}"), 1);
    ck_assert_int_eq(metric(&w, "auditd_witness_up{witness=\"" WNAME "\"}"), 0);
    ck_assert_int_ge(metric(&w, "auditd_witness_consecutive_failures{witness=\"" WNAME "\"}"), 4);

    /* Shutdown: one last submission although the witness is backing off (16 s). */
    set_mode(&r, A_SAME409);
    int before = nreq(&r);
    int64_t took = stop_log(&w);
    ck_assert_msg(nreq(&r) == before + 1, "%d requests at shutdown, want 1", nreq(&r) - before);
    ck_assert_msg(took < 6000, "the daemon took %lld ms to stop", (long long)took);
    responder_stop(&r);
    world_teardown(&w);
}
END_TEST

/* A witness that never answers: the request ends at its limit (10 s; 3 s at
 * shutdown), the witness is reported down, the daemon still stops. */
START_TEST(test_silent_witness)
{
    world w;
    world_setup(&w, "wsubmit-slow");
    responder r;
    responder_start(&r, A_SLOW);
    start_log(&w, r.port);
    wait_error(&w, "unreachable", 20000);
    int64_t held = hangup_after(&r);
    ck_assert_msg(held >= 9000 && held < 12500, "the request gave up after %lld ms, not 10 s",
                  (long long)held);
    /* Shutdown while the witness is silent: the last request has 3 s. (The
     * retry 1 s after the failure may already be in flight: the daemon lets
     * it end first.) */
    int before = nreq(&r);
    int64_t took = stop_log(&w);
    int sent = nreq(&r) - before;
    ck_assert_msg(sent == 1 || sent == 2, "%d requests at shutdown, want 1", sent);
    held = hangup_after(&r);
    ck_assert_msg(held >= 2500 && held < 4500, "the last request gave up after %lld ms, not 3 s",
                  (long long)held);
    ck_assert_msg(took < (sent == 1 ? 6000 : 16000), "the daemon took %lld ms to stop",
                  (long long)took);
    responder_stop(&r);
    world_teardown(&w);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("wsubmit");
    TCase *t = tcase_create("responder");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_wire_and_bad_answers);
    tcase_add_test(t, test_silent_witness);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
