/* srvcfg.h: the daemon's configuration (docs/server.md).
 *
 * A config file holds `key = value` lines; '#' starts a comment line; blank
 * lines are ignored. Command-line flags use the same keys (--max-body-bytes
 * for max_body_bytes) and override the file. An unknown key, a bad value or a
 * repeated key refuses to start with "file:line: problem". */
#ifndef AUDITD_SRVCFG_H
#define AUDITD_SRVCFG_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRVCFG_STR_MAX 1024
#define SRVCFG_WITNESS_MAX 8        /* witnesses a log submits its checkpoints to */
#define SRVCFG_VKEY_MAX 512
#define SRVCFG_RENDER_MAX 32768     /* srvcfg_render's output always fits */

/* A witness (C2SP tlog-witness) the daemon submits checkpoints to: its
 * submission URL prefix (POST <url>/add-checkpoint) and its cosigner vkey. */
typedef struct srvcfg_witness {
    char url[SRVCFG_STR_MAX];
    char key[SRVCFG_VKEY_MAX];
} srvcfg_witness;

typedef struct srvcfg {
    char listen[256];          /* ADDR:PORT, default 127.0.0.1:8080 */
    char tls_cert[SRVCFG_STR_MAX];
    char tls_key[SRVCFG_STR_MAX];
    bool allow_plain_http;     /* plain HTTP on a non-loopback address */
    char mqtt[SRVCFG_STR_MAX]; /* mqtt://HOST:PORT, mqtts://HOST:PORT or "" */
    char mqtt_ca[SRVCFG_STR_MAX];   /* PEM CA that signed the broker's certificate (mqtts) */
    char mqtt_cert[SRVCFG_STR_MAX]; /* PEM client certificate for the broker, optional */
    char mqtt_key[SRVCFG_STR_MAX];  /* its PEM private key */
    uint64_t max_batch_events; /* events per request, default 10000 */
    uint64_t max_body_bytes;   /* request body cap, default 8 MiB */
    uint64_t queue_max_events; /* commit queue bound, default 100000 */
    uint64_t max_group_events; /* events per ledger transaction, default 20000 */
    uint64_t max_skew_seconds; /* agent timestamp window, default 300 */
    uint64_t receipt_proofs_max; /* inline inclusion proofs for batches up to this size, default 64 */
    uint64_t max_connections;  /* concurrent connections, default 2048 */
    uint64_t max_connections_per_ip; /* concurrent connections from one address, default 64; 0 = no limit */
    uint64_t header_timeout_seconds; /* idle limit until a request is authenticated, default 10 */
    uint64_t idle_timeout_seconds;   /* idle limit of authenticated connections, default 60 */
    uint64_t max_body_memory;  /* bytes of request bodies held at once, default 64 MiB (429 beyond) */
    uint64_t threads;          /* epoll polling threads, default 2 (0 = 2) */
    uint64_t workers;          /* request handler threads, default 64 */
    uint64_t verify_interval_seconds; /* scheduled ledger verify, default 86400; 0 = off */
    int log_level;             /* 0 error .. 3 debug, default 2 */
    /* `witness = URL` and `witness_key = VKEY` may repeat (the only keys that
     * may): the i-th key goes with the i-th URL. Flags add to the file's. */
    srvcfg_witness witness[SRVCFG_WITNESS_MAX];
    size_t witness_urls, witness_keys;
} srvcfg;

void srvcfg_defaults(srvcfg *c);
/* Set one key from text. `where` prefixes errors (e.g. "auditd.conf:12" or "--listen"). */
int srvcfg_set(srvcfg *c, const char *key, const char *value, const char *where, adt_err *err);
/* Load a config file over `c`. */
int srvcfg_load(srvcfg *c, const char *path, adt_err *err);
/* Parse a whole config text (used by srvcfg_load and the fuzzer). `name` is used in messages. */
int srvcfg_parse(srvcfg *c, const char *text, size_t len, const char *name, adt_err *err);
/* Cross-field checks: TLS files both or neither; plain HTTP only on loopback
 * unless allow_plain_http; one witness_key per witness URL. */
int srvcfg_check(const srvcfg *c, adt_err *err);
/* Split listen into host and port. */
int srvcfg_listen_split(const char *listen, char *host, size_t hcap, uint16_t *port, adt_err *err);
/* True if `host` is a loopback address (127.0.0.0/8, ::1, localhost). */
bool srvcfg_is_loopback(const char *host);
/* The effective configuration as text, one `key = value` a line, sorted; its
 * SHA-256 (hex) is recorded in the server.start event. */
int srvcfg_render(const srvcfg *c, char *out, size_t cap);
void srvcfg_sha256_hex(const srvcfg *c, char out[65]);

#endif
