#include "tsupport.h"

#include "event.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *tmp_root(void)
{
    const char *t = getenv("TMPDIR");
    return (t && *t) ? t : "/tmp";
}

char *ts_tmpdir(const char *tag)
{
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/auditd-test-%s-XXXXXX", tmp_root(), tag ? tag : "t");
    if (!mkdtemp(tmpl))
        return NULL;
    return strdup(tmpl);
}

void ts_rmrf(const char *dir)
{
    if (!dir || strncmp(dir, tmp_root(), strlen(tmp_root())) != 0 || strstr(dir, ".."))
        return;
    pid_t p = fork();
    if (p == 0) {
        execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
        _exit(127);
    }
    if (p > 0)
        waitpid(p, NULL, 0);
}

static void drain(int fd, char **dst, size_t *len, size_t *cap)
{
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0)
        return;
    if (*len + (size_t)n + 1 > *cap) {
        *cap = (*len + (size_t)n + 1) * 2;
        *dst = realloc(*dst, *cap);
    }
    memcpy(*dst + *len, tmp, (size_t)n);
    *len += (size_t)n;
    (*dst)[*len] = '\0';
}

int ts_run(const char *in, size_t in_len, char **out, char **errout, const char *const *args)
{
    int pin[2], pout[2], perr[2];
    if (pipe(pin) || pipe(pout) || pipe(perr))
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pin[1]);
        close(pout[0]);
        close(perr[0]);
        const char *argv[64];
        int n = 0;
        argv[n++] = AUDITD_BIN;
        for (int i = 0; args[i] && n < 63; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(AUDITD_BIN, (char *const *)argv);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    signal(SIGPIPE, SIG_IGN);
    size_t off = 0;
    if (!in)
        in_len = 0;
    char *ob = calloc(1, 1), *eb = calloc(1, 1);
    size_t ol = 0, oc = 1, el = 0, ec = 1;
    int wfd = pin[1];
    if (in_len == 0) {
        close(wfd);
        wfd = -1;
    }
    int open_fds = 2;
    while (open_fds > 0) {
        struct pollfd pf[3] = {{pout[0], POLLIN, 0}, {perr[0], POLLIN, 0}, {wfd, POLLOUT, 0}};
        int np = wfd >= 0 ? 3 : 2;
        if (poll(pf, (nfds_t)np, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd >= 0 && (pf[i].revents & (POLLIN | POLLHUP))) {
                char **dst = i == 0 ? &ob : &eb;
                size_t *l = i == 0 ? &ol : &el, *c = i == 0 ? &oc : &ec;
                size_t before = *l;
                drain(pf[i].fd, dst, l, c);
                if (*l == before) {
                    close(pf[i].fd);
                    if (i == 0)
                        pout[0] = -1;
                    else
                        perr[0] = -1;
                    open_fds--;
                }
            }
        }
        if (wfd >= 0 && (pf[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(wfd, in + off, in_len - off > 65536 ? 65536 : in_len - off);
            if (w > 0)
                off += (size_t)w;
            if (w < 0 || off >= in_len) {
                close(wfd);
                wfd = -1;
            }
        }
    }
    if (wfd >= 0)
        close(wfd);
    int st = 0;
    waitpid(pid, &st, 0);
    if (out)
        *out = ob;
    else
        free(ob);
    if (errout)
        *errout = eb;
    else
        free(eb);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

char *ts_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    size_t r;
    while ((r = fread(p + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0)
            p = realloc(p, cap *= 2);
    }
    fclose(f);
    p[n] = '\0';
    if (len)
        *len = n;
    return p;
}

int ts_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

int ts_writer_for(const char *type)
{
    static const event_writer order[] = {EVENT_WRITER_PLATFORM, EVENT_WRITER_EDGE, EVENT_WRITER_ADMIN,
                                         EVENT_WRITER_PERSON, EVENT_WRITER_AUDITD};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (event_writer_may(type, order[i]))
            return (int)order[i];
    return (int)EVENT_WRITER_NONE;
}

int ts_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &l)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

pid_t ts_daemon_start(const char *dir, int port, const char *const *extra, int wait_ms)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        const char *argv[64];
        int n = 0;
        argv[n++] = AUDITD_BIN;
        argv[n++] = "serve";
        argv[n++] = "--data-dir";
        argv[n++] = dir;
        argv[n++] = "--listen";
        argv[n++] = listen;
        /* No scheduled verify (it appends a ledger.verify at start on a
         * fresh ledger, which would race with tests counting entries);
         * tests of it pass their own --verify-interval-seconds after this. */
        argv[n++] = "--verify-interval-seconds";
        argv[n++] = "0";
        for (int i = 0; extra && extra[i] && n < 63; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        char logp[4200];
        snprintf(logp, sizeof logp, "%s/daemon.log", dir);
        int lf = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (lf >= 0) {
            dup2(lf, 1);
            dup2(lf, 2);
        }
        execv(AUDITD_BIN, (char *const *)argv);
        _exit(127);
    }
    for (int waited = 0; waited < wait_ms; waited += 20) {
        ts_http r;
        if (ts_http_req(port, "GET", "/healthz", NULL, NULL, 0, &r) == 0) {
            long st = r.status;
            ts_http_free(&r);
            if (st == 200)
                return pid;
        }
        int s;
        if (waitpid(pid, &s, WNOHANG) == pid)
            return -1;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int ts_daemon_stop(pid_t pid, int sig)
{
    int st = 0;
    kill(pid, sig);
    waitpid(pid, &st, 0);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

typedef struct membuf {
    char *p;
    size_t n;
} membuf;

static size_t on_data(char *ptr, size_t sz, size_t nm, void *ud)
{
    membuf *m = ud;
    size_t n = sz * nm;
    char *q = realloc(m->p, m->n + n + 1);
    if (!q)
        return 0;
    memcpy(q + m->n, ptr, n);
    m->p = q;
    m->n += n;
    m->p[m->n] = '\0';
    return n;
}

int ts_http_req(int port, const char *method, const char *path, const char *const *headers,
                const char *body, size_t body_len, ts_http *res)
{
    memset(res, 0, sizeof *res);
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    char url[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    membuf b = {calloc(1, 1), 0}, h = {calloc(1, 1), 0};
    struct curl_slist *hl = NULL;
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) { /* no response: nothing for the caller to free */
        free(b.p);
        free(h.p);
        memset(res, 0, sizeof *res);
        return -1;
    }
    res->body = b.p;
    res->body_len = b.n;
    res->headers = h.p;
    return 0;
}

void ts_http_free(ts_http *res)
{
    free(res->body);
    free(res->headers);
    memset(res, 0, sizeof *res);
}

const char *ts_shared(const char *rel)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", AUDITD_SHARED_DIR, rel);
    return path;
}
