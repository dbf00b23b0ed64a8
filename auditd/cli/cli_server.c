/* cli_server.c: `auditd serve`, `auditd agent ...`, `auditd token ...`. */
#include "cli.h"

#include "agentc.h"
#include "agentsig.h"
#include "ledger.h"
#include "log.h"
#include "numparse.h"
#include "server.h"
#include "srvcfg.h"
#include "state.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------- serve ---------- */

static const char serve_usage[] =
    "usage: auditd serve [--data-dir DIR] [--config FILE] [--listen ADDR:PORT]\n"
    "                    [--tls-cert PEM --tls-key PEM] [--allow-plain-http] [--mqtt URL]\n"
    "                    [--witness URL --witness-key VKEY]... [--SETTING VALUE ...]\n"
    "Run the HTTP daemon on the ledger in DIR (create it first with 'auditd init').\n"
    "Settings come from --config FILE (default DIR/auditd.conf if present), then flags:\n"
    "  --listen ADDR:PORT         default 127.0.0.1:8080\n"
    "  --tls-cert, --tls-key      serve HTTPS (PEM files)\n"
    "  --allow-plain-http         plain HTTP on a non-loopback address (otherwise refused)\n"
    "  --mqtt URL                 subscribe to telemetry: mqtt://HOST:PORT, or over TLS\n"
    "                             mqtts://HOST:PORT with --mqtt-ca PEM (verifies the broker)\n"
    "  --mqtt-cert, --mqtt-key    client certificate for the broker (PEM, optional)\n"
    "  --max-batch-events N       events per request (10000)\n"
    "  --max-body-bytes N         request body limit (8388608)\n"
    "  --queue-max-events N       commit queue bound; beyond it 429 (100000)\n"
    "  --max-group-events N       events per ledger transaction (20000)\n"
    "  --max-skew-seconds N       agent clock skew accepted (300)\n"
    "  --receipt-proofs-max N     inline inclusion proofs up to this batch size (64)\n"
    "  --max-connections N        (2048)  --max-connections-per-ip N (64; 0 = no limit)\n"
    "  --header-timeout-seconds N idle limit until a request is authenticated (10)\n"
    "  --idle-timeout-seconds N   idle limit of authenticated connections (60)\n"
    "  --max-body-memory N        request bodies held at once; beyond it 429 (67108864)\n"
    "  --threads N                epoll threads (2)   --workers N  handler threads (64)\n"
    "  --verify-interval-seconds N  scheduled ledger verify, recorded as ledger.verify\n"
    "                             (86400; 0 = off)\n"
    "  --log-level L              error|warn|info|debug\n"
    "  --witness URL --witness-key VKEY\n"
    "                             submit checkpoints to a C2SP witness (VKEY: its 'auditd\n"
    "                             witness key'); repeatable. Cosignatures are kept in cosigs.db\n"
    "                             and served with the checkpoints\n"
    "SIGTERM or SIGINT drains: stop accepting, finish in-flight batches, sign a final\n"
    "checkpoint (server.stop event), exit 0. See docs/server.md.\n"
    "A data directory made a witness ('auditd witness init') also answers POST /add-checkpoint.\n";

/* Parse `auditd serve`'s options (argv[0] = the command) into *dir and *cfg:
 * the config file first (--config, else DIR/auditd.conf), then flags.
 * Returns 0, or the exit status after printing why. */
int cli_serve_parse(const char *cmd, int argc, char **argv, const char **dir, srvcfg *cfg)
{
    const char *dir_opt = NULL, *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data-dir") && i + 1 < argc)
            dir_opt = argv[++i];
        else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config = argv[++i];
    }
    *dir = cli_data_dir(dir_opt);
    srvcfg_defaults(cfg);
    adt_err err = {0};
    char defconf[4200];
    snprintf(defconf, sizeof defconf, "%s/auditd.conf", *dir);
    struct stat sb;
    if (!config && stat(defconf, &sb) == 0)
        config = defconf;
    if (config && srvcfg_load(cfg, config, &err))
        return cli_fail(cmd, &err);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--data-dir") || !strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (!strcmp(a, "--allow-plain-http")) {
            cfg->allow_plain_http = true;
            continue;
        }
        if (strncmp(a, "--", 2) || !a[2] || i + 1 >= argc) {
            fprintf(stderr, "auditd %s: unexpected argument '%s'\n%s", cmd, a, serve_usage);
            return 2;
        }
        char key[64];
        size_t n = strlen(a + 2);
        if (n >= sizeof key)
            return cli_failf(cmd, "unknown option '%s'", a) + 1;
        for (size_t k = 0; k <= n; k++)
            key[k] = a[2 + k] == '-' ? '_' : a[2 + k];
        if (srvcfg_set(cfg, key, argv[++i], a, &err)) {
            fprintf(stderr, "auditd %s: %s\n", cmd, err.msg);
            return 2;
        }
    }
    if (srvcfg_check(cfg, &err))
        return cli_fail(cmd, &err);
    return 0;
}

int cli_serve_run(const char *cmd, const char *dir, const srvcfg *cfg, const cli_serve_hooks *h)
{
    /* Every thread inherits this mask; only the main thread takes the signals. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    adt_err err = {0};
    server *s;
    if (server_start_ext(dir, cfg, h ? h->ext : NULL, &s, &err))
        return cli_fail(cmd, &err);
    fprintf(stderr, "auditd %s: listening on %s (port %u)\n", cmd, cfg->listen, server_port(s));
    if (h && h->started && h->started(h->ctx, &err)) {
        int rc = cli_fail(cmd, &err);
        adt_err ignore = {0};
        server_stop(s, &ignore);
        return rc;
    }
    int sig = 0;
    sigwait(&set, &sig);
    log_msg(LOG_INFO, "server", "signal %d: draining", sig);
    if (h && h->stopping)
        h->stopping(h->ctx);
    if (server_stop(s, &err))
        return cli_fail(cmd, &err);
    return 0;
}

int cli_serve(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(serve_usage, stdout);
        return 0;
    }
    const char *dir = NULL;
    srvcfg cfg;
    int u = cli_serve_parse("serve", argc, argv, &dir, &cfg);
    if (u)
        return u;
    return cli_serve_run("serve", dir, &cfg, NULL);
}

/* ---------- agent ---------- */

static const char agent_usage[] =
    "usage: auditd agent add NAME --role edge|platform (--key-out FILE | --pubkey B64) [--data-dir DIR]\n"
    "       auditd agent revoke NAME [--data-dir DIR]\n"
    "       auditd agent list [--data-dir DIR]\n"
    "       auditd agent send --server URL --name NAME --key FILE [--spool DIR]\n"
    "                         [--follow FILE] [--telemetry | --path P] [--batch N]\n"
    "                         [--give-up SECONDS] [--cacert PEM] [--insecure]\n"
    "       auditd agent verify-receipts --server URL [--spool DIR] [--token T]\n"
    "                         [--cacert PEM] [--insecure]\n"
    "add: register an agent; --key-out writes a new Ed25519 key (mode 0600), --pubkey\n"
    "     registers an existing public key (standard base64 of 32 bytes).\n"
    "send: spool NDJSON events from stdin (or follow FILE) in DIR (default $AUDITD_SPOOL_DIR,\n"
    "     else ./auditd-spool), post them in signed batches, retry with backoff, keep the\n"
    "     receipts; exit 0 once everything read was acknowledged.\n"
    "verify-receipts: check every stored receipt against the server's current checkpoint\n"
    "     (token: --token or $AUDITD_TOKEN, an auditor token).\n";


static int open_both(const char *dir, ledger **lg, state **st, adt_err *err)
{
    int rc = ledger_open(dir, LEDGER_RDWR, lg, err);
    if (rc) {
        adt_err_prefix(err, "opening the ledger in %s (create one with 'auditd init')", dir);
        return rc;
    }
    if ((rc = state_open(dir, st, err))) {
        ledger_close(*lg);
        *lg = NULL;
    }
    return rc;
}

/* Options of `agent add|revoke` and at most one NAME (NULL when none). */
static bool one_name(const char *cmd, int argc, char **argv, const cliopt *opts, const char *usage,
                     const char **name, int *status)
{
    cliopt_args args;
    if (cli_parse_max(cmd, argc, argv, 1, opts, &args, 1, usage, status))
        return true;
    *name = args.npos ? args.pos[0] : NULL;
    return false;
}

static int agent_add(int argc, char **argv)
{
    const char *dir = NULL, *role = NULL, *key_out = NULL, *pubkey = NULL;
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &dir), CLIOPT_S("role", 0, &role),
                           CLIOPT_S("key-out", 0, &key_out), CLIOPT_S("pubkey", 0, &pubkey),
                           CLIOPT_END};
    const char *name;
    int status;
    if (one_name("agent add", argc, argv, opts, agent_usage, &name, &status))
        return status;
    if (!name || !role || (!key_out == !pubkey)) {
        fprintf(stderr, "auditd agent add: need NAME, --role and one of --key-out or --pubkey\n%s",
                agent_usage);
        return 2;
    }
    if (!agentsig_name_valid(name, strlen(name)))
        return cli_failf("agent add", "agent name '%s' must be 1..64 of [A-Za-z0-9._-]", name);
    if (!state_agent_role_valid(role))
        return cli_failf("agent add", "role must be edge or platform, not '%s'", role);
    adt_err err = {0};
    uint8_t pub[32];
    if (pubkey && agentsig_unb64(pubkey, strlen(pubkey), pub, 32, &err))
        return cli_failf("agent add", "--pubkey: %s", err.msg);
    if (sodium_init() < 0)
        return cli_failf("agent add", "libsodium failed to initialise");
    ledger *lg;
    state *st;
    if (open_both(cli_data_dir(dir), &lg, &st, &err))
        return cli_fail("agent add", &err);
    int rc = 0;
    if (key_out && agentsig_key_write(key_out, pub, &err))
        rc = cli_fail("agent add", &err);
    if (!rc && state_agent_add(st, name, role, pub, &err)) {
        rc = cli_fail("agent add", &err);
        if (key_out)
            unlink(key_out);
    }
    if (!rc) {
        char fields[300], actor[80], kid[AGENTSIG_KEYID_HEX + 1];
        agentsig_key_id(pub, kid);
        snprintf(fields, sizeof fields, "{\"agent\":\"%s\",\"role\":\"%s\",\"key_id\":\"%s\"}", name,
                 role, kid);
        if (state_audit_event(lg, "agent.add", cli_actor(actor, sizeof actor), fields, &err))
            rc = cli_failf("agent add", "agent added but the agent.add event was not recorded: %s",
                           err.msg);
        else
            printf("agent %s added (role %s, key id %s)\n", name, role, kid);
    }
    state_close(st);
    ledger_close(lg);
    return rc;
}

static int agent_revoke(int argc, char **argv)
{
    const char *dir = NULL;
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &dir), CLIOPT_END};
    const char *name;
    int status;
    if (one_name("agent revoke", argc, argv, opts, agent_usage, &name, &status))
        return status;
    if (!name) {
        fprintf(stderr, "auditd agent revoke: need NAME\n%s", agent_usage);
        return 2;
    }
    adt_err err = {0};
    ledger *lg;
    state *st;
    if (open_both(cli_data_dir(dir), &lg, &st, &err))
        return cli_fail("agent revoke", &err);
    char role[32], fields[300], actor[80];
    int rc = 0;
    if (state_agent_revoke(st, name, role, sizeof role, &err))
        rc = cli_fail("agent revoke", &err);
    if (!rc) {
        snprintf(fields, sizeof fields, "{\"agent\":\"%s\",\"role\":\"%s\"}", name, role);
        if (state_audit_event(lg, "agent.revoke", cli_actor(actor, sizeof actor), fields, &err))
            rc = cli_failf("agent revoke", "agent revoked but the event was not recorded: %s", err.msg);
        else
            printf("agent %s revoked\n", name);
    }
    state_close(st);
    ledger_close(lg);
    return rc;
}

static int print_list(const char *cmd, const char *dir, int tokens)
{
    adt_err err = {0};
    state *st;
    if (state_open(cli_data_dir(dir), &st, &err))
        return cli_fail(cmd, &err);
    buf b;
    buf_init(&b, 64u << 20);
    int rc = tokens ? state_token_list_json(st, &b, &err) : state_agent_list_json(st, &b, &err);
    state_close(st);
    if (rc) {
        buf_free(&b);
        return cli_fail(cmd, &err);
    }
    printf("%s\n", b.data);
    buf_free(&b);
    return 0;
}

static void sig_stop(int sig);
static volatile sig_atomic_t stop_flag;
static void sig_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int agent_send(int argc, char **argv)
{
    agentc_opts o = {.path = "/v1/events", .batch = 500};
    bool telemetry = false;
    int64_t batch = 500, give_up = 0, backoff = 0;
    const cliopt opts[] = {
        CLIOPT_S("server", 0, &o.server), CLIOPT_S("name", 0, &o.name),
        CLIOPT_S("key", 0, &o.key_path), CLIOPT_S("spool", 0, &o.spool_dir),
        CLIOPT_S("follow", 0, &o.follow), CLIOPT_S("path", 0, &o.path),
        CLIOPT_F("telemetry", 0, &telemetry), CLIOPT_S("cacert", 0, &o.tls.cacert),
        CLIOPT_F("insecure", 0, &o.tls.insecure), CLIOPT_F("quiet", 0, &o.quiet),
        CLIOPT_N("batch", 0, &batch, 1, 100000), CLIOPT_N("give-up", 0, &give_up, 0, 86400 * 365),
        CLIOPT_N("max-backoff-ms", 0, &backoff, 100, 3600000), CLIOPT_END};
    cliopt_args args;
    int status;
    if (cli_parse_max("agent send", argc, argv, 1, opts, &args, 0, agent_usage, &status))
        return status;
    if (telemetry)
        o.path = "/v1/telemetry";
    o.batch = (unsigned)batch;
    o.give_up_s = (unsigned)give_up;
    o.max_backoff_ms = (unsigned)backoff;
    if (!o.server || !o.name || !o.key_path) {
        fprintf(stderr, "auditd agent send: need --server, --name and --key\n%s", agent_usage);
        return 2;
    }
    if (strncmp(o.path, "/v1/", 4))
        return cli_failf("agent send", "--path must start with /v1/") + 1;
    if (!o.spool_dir) {
        const char *e = getenv("AUDITD_SPOOL_DIR");
        o.spool_dir = e && *e ? e : "./auditd-spool";
    }
    struct sigaction sa = {0};
    sa.sa_handler = sig_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    o.stop = &stop_flag;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    agentc_stats st;
    adt_err err = {0};
    int rc = agentc_send(&o, o.follow ? NULL : stdin, &st, &err);
    fprintf(stderr, "auditd agent send: read %llu, acknowledged %llu, rejected %llu, pending %llu "
                    "(%llu requests, %llu retries)\n",
            (unsigned long long)st.read, (unsigned long long)st.acked,
            (unsigned long long)st.rejected, (unsigned long long)st.pending,
            (unsigned long long)st.requests, (unsigned long long)st.retries);
    curl_global_cleanup();
    if (rc)
        return cli_fail("agent send", &err);
    return 0;
}

static int agent_verify(int argc, char **argv)
{
    const char *url = NULL, *spool = NULL, *token = getenv("AUDITD_TOKEN");
    agentc_tls tls = {0};
    const cliopt opts[] = {CLIOPT_S("server", 0, &url), CLIOPT_S("spool", 0, &spool),
                           CLIOPT_S("token", 0, &token), CLIOPT_S("cacert", 0, &tls.cacert),
                           CLIOPT_F("insecure", 0, &tls.insecure), CLIOPT_END};
    cliopt_args args;
    int status;
    if (cli_parse_max("agent verify-receipts", argc, argv, 1, opts, &args, 0, agent_usage,
                      &status))
        return status;
    if (!url) {
        fprintf(stderr, "auditd agent verify-receipts: need --server\n%s", agent_usage);
        return 2;
    }
    if (!spool) {
        const char *e = getenv("AUDITD_SPOOL_DIR");
        spool = e && *e ? e : "./auditd-spool";
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    agentc_vstats st;
    adt_err err = {0};
    int rc = agentc_verify_receipts(url, spool, token, &tls, &st, &err);
    curl_global_cleanup();
    if (rc)
        return cli_fail("agent verify-receipts", &err);
    printf("ok: %llu receipts, %llu entries included and consistent with the current checkpoint "
           "(tree size %llu)\n", (unsigned long long)st.receipts, (unsigned long long)st.entries,
           (unsigned long long)st.tree_size);
    return 0;
}

int cli_agent(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(agent_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (cli_wants_help(argc, argv)) {
        fputs(agent_usage, stdout);
        return 0;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "add"))
        return agent_add(argc - 1, argv + 1);
    if (!strcmp(sub, "revoke"))
        return agent_revoke(argc - 1, argv + 1);
    if (!strcmp(sub, "send"))
        return agent_send(argc - 1, argv + 1);
    if (!strcmp(sub, "verify-receipts"))
        return agent_verify(argc - 1, argv + 1);
    if (!strcmp(sub, "list")) {
        const char *dir = NULL;
        int status;
        if (cli_parse_dir("agent list", argc, argv, 2, agent_usage, &dir, &status))
            return status;
        return print_list("agent list", dir, 0);
    }
    fprintf(stderr, "auditd agent: unknown subcommand '%s'\n%s", sub, agent_usage);
    return 2;
}

/* ---------- token ---------- */

static const char token_usage[] =
    "usage: auditd token create --role auditor|admin [--name NAME] [--data-dir DIR]\n"
    "       auditd token revoke ID|NAME [--data-dir DIR]\n"
    "       auditd token list [--data-dir DIR]\n"
    "create prints the new bearer token once on stdout (only its SHA-256 is stored).\n"
    "auditor: read-only; admin: also manages agents and tokens.\n";

int cli_token(int argc, char **argv)
{
    int status;
    if (cli_no_subcommand(argc, argv, token_usage, &status))
        return status;
    const char *sub = argv[1], *dir = NULL, *role = NULL, *name = NULL, *target = NULL;
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &dir), CLIOPT_S("role", 0, &role),
                           CLIOPT_S("name", 0, &name), CLIOPT_END};
    cliopt_args a;
    if (cli_parse_max("token", argc, argv, 2, opts, &a, 1, token_usage, &status))
        return status;
    if (a.npos == 1)
        target = a.pos[0];
    if (!strcmp(sub, "list"))
        return print_list("token list", dir, 1);
    adt_err err = {0};
    char actor[80], fields[400];
    if (!strcmp(sub, "create")) {
        if (!role || target) {
            fprintf(stderr, "auditd token create: need --role auditor|admin\n%s", token_usage);
            return 2;
        }
        api_role ar;
        if (api_token_role_parse(role, &ar, &err))
            return cli_failf("token create", "%s", err.msg);
        if (sodium_init() < 0)
            return cli_failf("token create", "libsodium failed to initialise");
        ledger *lg;
        state *st;
        if (open_both(cli_data_dir(dir), &lg, &st, &err))
            return cli_fail("token create", &err);
        char *tok = sodium_malloc(STATE_TOKEN_MAX);
        char id[17];
        int rc = 0;
        if (!tok || state_token_create(st, role, name, tok, id, &err))
            rc = cli_fail("token create", &err);
        if (!rc) {
            snprintf(fields, sizeof fields, "{\"token_id\":\"%s\",\"role\":\"%s\",\"name\":\"%s\"}", id,
                     role, name ? name : id);
            if (state_audit_event(lg, "token.create", cli_actor(actor, sizeof actor), fields, &err)) {
                char rid[17], rrole[16], rname[80];
                adt_err e2;
                state_token_revoke(st, id, rid, rrole, sizeof rrole, rname, sizeof rname, &e2);
                rc = cli_failf("token create", "could not record token.create (token revoked again): %s",
                               err.msg);
            } else {
                printf("%s\n", tok);
                fprintf(stderr, "token id %s (role %s); it is shown only now\n", id, role);
            }
        }
        if (tok)
            sodium_free(tok);
        state_close(st);
        ledger_close(lg);
        return rc;
    }
    if (!strcmp(sub, "revoke")) {
        if (!target) {
            fprintf(stderr, "auditd token revoke: need ID or NAME\n%s", token_usage);
            return 2;
        }
        ledger *lg;
        state *st;
        if (open_both(cli_data_dir(dir), &lg, &st, &err))
            return cli_fail("token revoke", &err);
        char id[17], rrole[16], rname[80];
        int rc = 0;
        if (state_token_revoke(st, target, id, rrole, sizeof rrole, rname, sizeof rname, &err))
            rc = cli_fail("token revoke", &err);
        if (!rc) {
            snprintf(fields, sizeof fields, "{\"token_id\":\"%s\",\"role\":\"%s\",\"name\":\"%s\"}", id,
                     rrole, rname);
            if (state_audit_event(lg, "token.revoke", cli_actor(actor, sizeof actor), fields, &err))
                rc = cli_failf("token revoke", "token revoked but the event was not recorded: %s",
                               err.msg);
            else
                printf("token %s revoked\n", id);
        }
        state_close(st);
        ledger_close(lg);
        return rc;
    }
    fprintf(stderr, "auditd token: unknown subcommand '%s'\n%s", sub, token_usage);
    return 2;
}
