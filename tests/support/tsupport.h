/* tsupport.h: helpers shared by the test suites: temporary directories,
 * running the real `auditd` binary, starting the real daemon on 127.0.0.1,
 * and HTTP over loopback with libcurl.
 *
 * AUDITD_BIN (the built executable) and AUDITD_SHARED_DIR (../shared) are
 * compile definitions set by tests/support/CMakeLists.txt. */
#ifndef AUDITD_TSUPPORT_H
#define AUDITD_TSUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A fresh empty directory under $TMPDIR (or /tmp); caller frees the string. */
char *ts_tmpdir(const char *tag);
/* rm -rf `dir` (only paths under the temp root are accepted). */
void ts_rmrf(const char *dir);

/* Run the auditd binary with NULL-terminated args (not including the program
 * name), feeding `in` (may be NULL) on stdin. Captures stdout and stderr into
 * malloc'd strings (either out-pointer may be NULL). Returns the exit status
 * (or 128+signal). */
int ts_run(const char *in, size_t in_len, char **out, char **errout, const char *const *args);

/* Read a whole file into a malloc'd NUL-terminated string. NULL on failure. */
char *ts_read_file(const char *path, size_t *len);
int ts_write_file(const char *path, const char *data, size_t len);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int ts_free_port(void);

/* A writer allowed for `type` (event.h), for tests that append directly:
 * platform, else edge, admin, person, auditd; EVENT_WRITER_NONE if none. */
int ts_writer_for(const char *type);

/* Start `auditd serve --data-dir DIR --listen 127.0.0.1:PORT
 * --verify-interval-seconds 0 <extra...>` (no scheduled verify unless
 * `extra` sets one) and
 * wait until GET /healthz answers (at most `wait_ms`). Returns the pid, or -1. */
pid_t ts_daemon_start(const char *dir, int port, const char *const *extra, int wait_ms);
/* Send `sig` and wait for the process; returns its exit status or 128+signal. */
int ts_daemon_stop(pid_t pid, int sig);

typedef struct ts_http {
    long status;
    char *body;       /* malloc'd, NUL-terminated */
    size_t body_len;
    char *headers;    /* malloc'd raw response headers */
} ts_http;

/* An HTTP request to http://127.0.0.1:PORT PATH. `headers` is a
 * NULL-terminated list of "Name: value" strings (may be NULL). Returns 0 when
 * a response arrived (any status), -1 on connection failure. */
int ts_http_req(int port, const char *method, const char *path, const char *const *headers,
                const char *body, size_t body_len, ts_http *res);
void ts_http_free(ts_http *res);

/* Path of a file under ../shared (e.g. "data/oscal-schemas/..."); static buffer. */
const char *ts_shared(const char *rel);

#endif
