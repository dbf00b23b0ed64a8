/* cli_central.c: `auditd central ...`: the central tier on PostgreSQL
 * (docs/central.md): init, site add/resume, mirror, status, verify. */
#include "cli.h"

#include "canon.h"
#include "cstore.h"
#include "cwitness.h"
#include "log.h"
#include "mirror.h"
#include "numparse.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: auditd central COMMAND [OPTIONS] [--db CONNINFO]\n"
            "\n"
            "The central tier: site ledgers mirrored into PostgreSQL with proofs, the\n"
            "sites' witness, the batches they ship (docs/central.md). The enterprise report\n"
            "is 'auditd report --scope enterprise'.\n"
            "\n"
            "  init                      create or migrate the schema auditd_central\n"
            "  site add --origin ORIGIN --key VKEY --url URL (--token T | --token-file F)\n"
            "                            register a site: its origin, its verifier key\n"
            "                            (auditd key on the site), its daemon's URL and an\n"
            "                            auditor token there\n"
            "  site resume --origin ORIGIN [--by NAME] [--reason TEXT]\n"
            "                            after an alert: resolve it and restart the stream\n"
            "  mirror [--once] [--site ORIGIN]... [--interval-ms N] [--max-backoff-ms N]\n"
            "         [--max-active N]   pull every site's log, proving each entry (runs until\n"
            "                            SIGINT/SIGTERM; --once: up to each site's checkpoint\n"
            "                            of now, exit 1 if a site failed or is halted); at\n"
            "                            most N streams (default 4) pull at the same moment\n"
            "  status [--json] [--all-alerts]\n"
            "                            sites, how far each is mirrored, who writes it, alerts\n"
            "  verify [--origin ORIGIN]  re-check the stored mirror: every leaf hash, every\n"
            "                            stored checkpoint's signature and root\n"
            "  witness init --name NAME --key-out FILE\n"
            "                            make the centre the sites' witness: a new key in FILE\n"
            "                            (0600; copy it to each front-end), its public half\n"
            "                            in the database; prints the vkey sites configure\n"
            "  witness key               the centre's witness vkey\n"
            "  serve --witness-key-file FILE [--no-mirror] [mirror options] [serve options]\n"
            "                            a central front-end: the daemon of 'auditd serve' on\n"
            "                            its own --data-dir, answering POST /add-checkpoint\n"
            "                            for every registered site from PostgreSQL, and\n"
            "                            GET /v1/central/status; mirrors too (unless\n"
            "                            --no-mirror). Any number may share the database\n"
            "\n"
            "--db takes a libpq connection string or URI (postgresql://user@host/db);\n"
            "default $AUDITD_CENTRAL_DB. Several front-ends may share one database.\n");
}

enum { O_DB = 1000, O_ORIGIN, O_KEY, O_URL, O_TOKEN, O_TOKEN_FILE, O_BY, O_REASON, O_ONCE,
       O_SITE, O_INTERVAL, O_BACKOFF, O_ACTIVE, O_JSON, O_ALL, O_VERBOSE, O_NAME, O_KEY_OUT,
       O_HELP };

static const struct option long_opts[] = {
    {"db", required_argument, NULL, O_DB},
    {"origin", required_argument, NULL, O_ORIGIN},
    {"key", required_argument, NULL, O_KEY},
    {"url", required_argument, NULL, O_URL},
    {"token", required_argument, NULL, O_TOKEN},
    {"token-file", required_argument, NULL, O_TOKEN_FILE},
    {"by", required_argument, NULL, O_BY},
    {"reason", required_argument, NULL, O_REASON},
    {"once", no_argument, NULL, O_ONCE},
    {"site", required_argument, NULL, O_SITE},
    {"interval-ms", required_argument, NULL, O_INTERVAL},
    {"max-backoff-ms", required_argument, NULL, O_BACKOFF},
    {"max-active", required_argument, NULL, O_ACTIVE},
    {"json", no_argument, NULL, O_JSON},
    {"all-alerts", no_argument, NULL, O_ALL},
    {"verbose", no_argument, NULL, O_VERBOSE},
    {"name", required_argument, NULL, O_NAME},
    {"key-out", required_argument, NULL, O_KEY_OUT},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0}};

#define MAX_SITES_ARG 256

typedef struct opts {
    const char *db, *origin, *key, *url, *token, *token_file, *by, *reason, *name, *key_out;
    bool once, json, all_alerts, verbose;
    const char *sites[MAX_SITES_ARG];
    size_t nsites;
    int64_t interval_ms, backoff_ms, max_active;
} opts;

/* Parse options after the subcommand words; 2 on a usage error. */
static int parse(const char *cmd, int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case O_DB: o->db = optarg; break;
        case O_ORIGIN: o->origin = optarg; break;
        case O_KEY: o->key = optarg; break;
        case O_URL: o->url = optarg; break;
        case O_TOKEN: o->token = optarg; break;
        case O_TOKEN_FILE: o->token_file = optarg; break;
        case O_BY: o->by = optarg; break;
        case O_REASON: o->reason = optarg; break;
        case O_ONCE: o->once = true; break;
        case O_JSON: o->json = true; break;
        case O_ALL: o->all_alerts = true; break;
        case O_VERBOSE: o->verbose = true; break;
        case O_NAME: o->name = optarg; break;
        case O_KEY_OUT: o->key_out = optarg; break;
        case O_SITE:
            if (o->nsites >= MAX_SITES_ARG) {
                cli_failf(cmd, "at most %d --site options", MAX_SITES_ARG);
                return 2;
            }
            o->sites[o->nsites++] = optarg;
            break;
        case O_INTERVAL:
        case O_BACKOFF: {
            int64_t v;
            if (num_i64(optarg, 10, 86400000, &v)) {
                cli_failf(cmd, "--%s must be a whole number of milliseconds in 10..86400000",
                          c == O_INTERVAL ? "interval-ms" : "max-backoff-ms");
                return 2;
            }
            if (c == O_INTERVAL)
                o->interval_ms = v;
            else
                o->backoff_ms = v;
            break;
        }
        case O_ACTIVE:
            if (num_i64(optarg, 1, 256, &o->max_active)) {
                cli_failf(cmd, "--max-active must be a whole number in 1..256");
                return 2;
            }
            break;
        case O_HELP: usage(stdout); exit(0);
        default:
            cli_failf(cmd, "unknown or incomplete option '%s'; 'auditd central --help' lists them",
                      argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        cli_failf(cmd, "unexpected argument '%s'", argv[optind]);
        return 2;
    }
    if (!o->db)
        o->db = getenv("AUDITD_CENTRAL_DB");
    if (!o->db || !*o->db) {
        cli_failf(cmd, "give the PostgreSQL database with --db CONNINFO (e.g. "
                       "postgresql://auditd@db.example/auditd) or $AUDITD_CENTRAL_DB");
        return 2;
    }
    return 0;
}

static const char *who(const char *by)
{
    if (by && *by)
        return by;
    const char *u = getenv("USER");
    return u && *u ? u : "operator";
}

static int open_store(const char *cmd, const opts *o, int flags, cstore **cs)
{
    adt_err err = {0};
    if (cstore_open(o->db, "cli", flags, cs, &err))
        return cli_fail(cmd, &err);
    return 0;
}

/* A command's start: its options, then the central database (exit status
 * 2 for a usage error, 1 when the database cannot be opened, else 0). */
static int begin(const char *cmd, int argc, char **argv, opts *o, int flags, cstore **cs)
{
    int u = parse(cmd, argc, argv, o);
    if (u)
        return u;
    return open_store(cmd, o, flags, cs) ? 1 : 0;
}

/* ---------- init ---------- */

static int cmd_init(int argc, char **argv)
{
    const char *cmd = "central init";
    opts o;
    cstore *cs;
    int u = begin(cmd, argc, argv, &o, CSTORE_NO_SCHEMA_CHECK, &cs);
    if (u)
        return u;
    adt_err err = {0};
    int from = 0, to = 0;
    int rc = cstore_migrate(cs, &from, &to, &err);
    cstore_close(cs);
    if (rc)
        return cli_fail(cmd, &err);
    if (from == to)
        printf("schema auditd_central is at version %d (nothing to do)\n", to);
    else
        printf("schema auditd_central migrated from version %d to %d\n", from, to);
    return 0;
}

/* ---------- site ---------- */

/* The token from --token or the first line of --token-file (mode 0600 or
 * stricter), in sodium_malloc'd memory. */
static int read_token(const char *cmd, const opts *o, char **tok, size_t *cap)
{
    if (!!o->token == !!o->token_file) {
        cli_failf(cmd, "give the site's auditor token with exactly one of --token or --token-file");
        return 2;
    }
    *cap = SITELOG_TOKEN_MAX + 2;
    *tok = sodium_malloc(*cap);
    if (!*tok)
        return cli_failf(cmd, "out of memory");
    if (o->token) {
        if (strlen(o->token) > SITELOG_TOKEN_MAX) {
            sodium_free(*tok);
            return cli_failf(cmd, "the token is longer than %d characters", SITELOG_TOKEN_MAX);
        }
        snprintf(*tok, *cap, "%s", o->token);
        return 0;
    }
    FILE *f = fopen(o->token_file, "r");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb)) {
        if (f)
            fclose(f);
        sodium_free(*tok);
        return cli_failf(cmd, "cannot read the token file %s", o->token_file);
    }
    if (sb.st_mode & 077) {
        fclose(f);
        sodium_free(*tok);
        return cli_failf(cmd, "the token file %s is readable by others: chmod 600 it",
                         o->token_file);
    }
    if (!fgets(*tok, (int)*cap, f))
        (*tok)[0] = '\0';
    fclose(f);
    (*tok)[strcspn(*tok, "\r\n")] = '\0';
    return 0;
}

static int cmd_site_add(int argc, char **argv)
{
    const char *cmd = "central site add";
    opts o;
    int u = parse(cmd, argc, argv, &o);
    if (u)
        return u;
    if (!o.origin || !o.key || !o.url) {
        cli_failf(cmd, "--origin, --key and --url are required");
        return 2;
    }
    adt_err err = {0};
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    if (note_key_parse(o.key, name, sizeof name, pub, &err)) {
        adt_err_prefix(&err, "--key must be the site's verifier key line ('auditd key' there)");
        return cli_fail(cmd, &err);
    }
    if (strcmp(name, o.origin))
        return cli_failf(cmd, "the key is for origin '%s', not '%s': give the key that site's "
                              "'auditd key' prints", name, o.origin);
    char *tok = NULL;
    size_t cap = 0;
    if ((u = read_token(cmd, &o, &tok, &cap)))
        return u;
    cstore *cs;
    if (open_store(cmd, &o, 0, &cs)) {
        sodium_free(tok);
        return 1;
    }
    cstore_site s;
    int rc = cstore_site_add(cs, o.key, o.url, tok, who(o.by), &s, &err);
    sodium_memzero(tok, cap);
    sodium_free(tok);
    cstore_close(cs);
    if (rc)
        return cli_fail(cmd, &err);
    printf("site %s registered (id %lld, %s); 'auditd central mirror' will mirror it\n", s.origin,
           (long long)s.id, s.url);
    return 0;
}

static int cmd_site_resume(int argc, char **argv)
{
    const char *cmd = "central site resume";
    opts o;
    int u = parse(cmd, argc, argv, &o);
    if (u)
        return u;
    if (!o.origin) {
        cli_failf(cmd, "--origin is required");
        return 2;
    }
    cstore *cs;
    if (open_store(cmd, &o, 0, &cs))
        return 1;
    adt_err err = {0};
    cstore_site s;
    int n = 0;
    int rc = cstore_site_get(cs, o.origin, &s, &err);
    if (!rc)
        rc = cstore_site_resume(cs, s.id, who(o.by), o.reason, &n, &err);
    cstore_close(cs);
    if (rc)
        return cli_fail(cmd, &err);
    printf("site %s resumed by %s: %d alert(s) resolved; the stream re-checks the site's log "
           "against what the centre holds\n", o.origin, who(o.by), n);
    return 0;
}

/* ---------- mirror ---------- */

static atomic_int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

static const char *outcome_name(mirror_outcome m)
{
    switch (m) {
    case MIRROR_CURRENT: return "current";
    case MIRROR_PARTIAL: return "partial";
    case MIRROR_STANDBY: return "standby (another front-end writes this stream)";
    default: return "HALTED (alert; see auditd central status)";
    }
}

static void on_done(void *ctx, const char *origin, int rc, const char *msg, const mirror_pull *p)
{
    int *bad = ctx;
    if (rc) {
        printf("%s: FAILED: %s\n", origin[0] ? origin : "?", msg);
        (*bad)++;
        return;
    }
    printf("%s: %s; %llu of %llu entries mirrored (mirror checkpoint %llu)\n", origin,
           outcome_name(p->outcome), (unsigned long long)p->next_entry,
           (unsigned long long)p->pending_size, (unsigned long long)p->mirror_size);
    if (p->outcome == MIRROR_HALTED || p->outcome == MIRROR_PARTIAL)
        (*bad)++;
}

static int cmd_mirror(int argc, char **argv)
{
    const char *cmd = "central mirror";
    opts o;
    int u = parse(cmd, argc, argv, &o);
    if (u)
        return u;
    log_set_level(o.verbose ? LOG_DEBUG : LOG_INFO);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int bad = 0;
    mirror_opts mo = {
        .conninfo = o.db,
        .interval_ms = (int)o.interval_ms,
        .max_backoff_ms = (int)o.backoff_ms,
        .once = o.once,
        .max_active = (int)o.max_active,
        .origins = o.nsites ? o.sites : NULL,
        .norigins = o.nsites,
        .stop = &stop_flag,
        .on_done = on_done,
        .ctx = &bad,
    };
    mirror_summary sum;
    adt_err err = {0};
    int rc = mirror_run(&mo, &sum, &err);
    if (rc)
        return cli_fail(cmd, &err);
    if (o.once)
        printf("%d site(s): %d current, %d standby, %d halted, %d failed; %llu entries stored\n",
               sum.sites, sum.current, sum.standby, sum.halted, sum.failed,
               (unsigned long long)sum.stored);
    return bad ? 1 : 0;
}

/* ---------- status ---------- */

typedef struct status_ctx {
    bool json;
    buf out;
    int sites, alerts;
} status_ctx;

static int st_site(void *vctx, const cstore_site_status *s)
{
    status_ctx *c = vctx;
    buf *b = &c->out;
    int rc = buf_printf(b, "site %s  %s  %s\n  mirrored %llu of %llu entries (mirror checkpoint "
                           "%llu)%s%s\n  writer: %s\n",
                        s->site.origin, s->site.url, s->halted ? "HALTED" : "active",
                        (unsigned long long)s->next_entry, (unsigned long long)s->pending_size,
                        (unsigned long long)s->mirror_size,
                        s->checked_at[0] ? ", checked " : ", never checked", s->checked_at,
                        s->writer[0] ? s->writer : "none (no 'central mirror' holds this stream)");
    if (!rc && s->cosigned)
        rc = buf_printf(b, "  witnessed: the centre cosigned size %llu (%s)\n",
                        (unsigned long long)s->cosigned_size, s->cosigned_at);
    if (!rc && s->batches)
        rc = buf_printf(b, "  shipped batches: %llu recorded in its ledger, %llu fetched and "
                        "checked\n", (unsigned long long)s->batches,
                        (unsigned long long)s->batches_fetched);
    if (!rc && s->last_error[0])
        rc = buf_printf(b, "  last error (%s): %s\n", s->last_error_at, s->last_error);
    c->sites++;
    return rc;
}

static int st_alert(void *vctx, const cstore_alert *a)
{
    status_ctx *c = vctx;
    buf *b = &c->out;
    if (!c->alerts)
        buf_puts(b, "alerts:\n");
    int rc = buf_printf(b, "  #%lld %s (%s)  site %s  %s  (by %s)%s\n    %s\n", (long long)a->id,
                        a->kind, a->source, a->origin, a->detected_at, a->detected_by,
                        a->resolved ? "  resolved" : "  OPEN", a->detail);
    if (!rc && a->resolved)
        rc = buf_printf(b, "    resolved %s by %s: %s\n", a->resolved_at, a->resolved_by,
                        a->resolution);
    c->alerts++;
    return rc;
}

static int cmd_status(int argc, char **argv)
{
    const char *cmd = "central status";
    opts o;
    cstore *cs;
    int u = begin(cmd, argc, argv, &o, 0, &cs);
    if (u)
        return u;
    status_ctx c = {.json = o.json};
    buf_init(&c.out, 64u << 20);
    adt_err err = {0};
    int rc = o.json ? cstore_status_json(cs, o.all_alerts, &c.out, &err)
                    : cstore_status(cs, o.all_alerts, st_site, st_alert, &c, &err);
    cstore_close(cs);
    if (rc) {
        buf_free(&c.out);
        if (!err.msg[0])
            adt_fail(&err, rc, "the status does not fit its buffer");
        return cli_fail(cmd, &err);
    }
    if (!o.json && !c.sites)
        buf_puts(&c.out, "no sites registered ('auditd central site add' registers one)\n");
    else if (!o.json && !c.alerts)
        buf_puts(&c.out, o.all_alerts ? "no alerts\n" : "no open alerts\n");
    fwrite(c.out.data, 1, c.out.len, stdout);
    buf_free(&c.out);
    return 0;
}

/* ---------- verify ---------- */

static int cmd_verify(int argc, char **argv)
{
    const char *cmd = "central verify";
    opts o;
    cstore *cs;
    int u = begin(cmd, argc, argv, &o, 0, &cs);
    if (u)
        return u;
    adt_err err = {0};
    int64_t *ids = malloc(CSTORE_SITES_MAX * sizeof *ids);
    size_t n = 0;
    int rc = ids ? ADT_OK : adt_fail(&err, ADT_ENOMEM, "out of memory");
    if (!rc && o.origin) {
        cstore_site s;
        rc = cstore_site_get(cs, o.origin, &s, &err);
        if (!rc)
            ids[n++] = s.id;
    } else if (!rc) {
        rc = cstore_site_ids(cs, ids, CSTORE_SITES_MAX, &n, &err);
    }
    int failed = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        cstore_site s;
        cstore_verify_result r;
        rc = cstore_site_by_id(cs, ids[i], &s, &err);
        if (!rc)
            rc = cstore_verify_site(cs, &s, &r, &err);
        if (rc)
            break;
        char root[64];
        sodium_bin2base64(root, sizeof root, r.v.root, 32, sodium_base64_VARIANT_ORIGINAL);
        if (r.v.ok) {
            printf("%s: ok: %llu entries, %llu checkpoints verified; mirror checkpoint %llu; "
                   "root %s\n", s.origin, (unsigned long long)r.v.entries,
                   (unsigned long long)r.v.checkpoints, (unsigned long long)r.mirror_size, root);
        } else {
            failed++;
            if (r.v.has_bad_index)
                printf("%s: FAILED at index %llu: %s\n", s.origin,
                       (unsigned long long)r.v.bad_index, r.v.problem);
            else
                printf("%s: FAILED: %s\n", s.origin, r.v.problem);
        }
    }
    free(ids);
    cstore_close(cs);
    if (rc)
        return cli_fail(cmd, &err);
    return failed ? 1 : 0;
}

/* ---------- witness ---------- */

static int cmd_witness(int argc, char **argv)
{
    const char *cmd = argc > 1 && !strcmp(argv[1], "init") ? "central witness init"
                                                            : "central witness key";
    bool init = !strcmp(cmd, "central witness init");
    if (argc < 2 || (!init && strcmp(argv[1], "key"))) {
        cli_failf("central witness", "use 'central witness init' or 'central witness key'");
        return 2;
    }
    opts o;
    int u = parse(cmd, argc - 1, argv + 1, &o);
    if (u)
        return u;
    if (init && (!o.name || !o.key_out)) {
        cli_failf(cmd, "--name NAME and --key-out FILE are required");
        return 2;
    }
    cstore *cs;
    if (open_store(cmd, &o, 0, &cs))
        return 1;
    adt_err err = {0};
    char vkey[NOTE_KEYLINE_MAX];
    int rc = init ? cwitness_init(cs, o.name, o.key_out, who(o.by), vkey, sizeof vkey, &err)
                  : cwitness_vkey(cs, vkey, sizeof vkey, &err);
    cstore_close(cs);
    if (rc)
        return cli_fail(cmd, &err);
    if (init)
        fprintf(stderr, "the witness's secret key is in %s (mode 0600): copy it to every central "
                "front-end as a secret ('central serve --witness-key-file'); sites configure the "
                "vkey below with 'auditd serve --witness URL --witness-key VKEY'\n", o.key_out);
    printf("%s\n", vkey);
    return 0;
}

/* ---------- serve ---------- */

typedef struct serve_ctx {
    const char *db;
    mirror_opts mo;
    bool mirror;
    pthread_t th;
    bool started;
    int mirror_rc;
    adt_err mirror_err;
} serve_ctx;

static int central_api(void *vctx, const api_request *req, api_response *resp)
{
    serve_ctx *c = vctx;
    if (strcmp(req->path, "/v1/central/status"))
        return api_error(resp, 404, "not_found", "no such resource: %s (the centre serves "
                         "GET /v1/central/status)", req->path);
    const char *all = api_param_get(req, "all_alerts");
    cstore *cs = NULL;
    adt_err err = {0};
    int rc = cstore_open(c->db, "api", 0, &cs, &err);
    if (!rc)
        rc = cstore_status_json(cs, all && !strcmp(all, "1"), &resp->body, &err);
    cstore_close(cs);
    if (rc)
        return api_error(resp, 503, "unavailable", "the central database: %s", err.msg);
    resp->status = 200;
    return ADT_OK;
}

static void *mirror_main(void *arg)
{
    serve_ctx *c = arg;
    mirror_summary sum;
    c->mirror_rc = mirror_run(&c->mo, &sum, &c->mirror_err);
    if (c->mirror_rc)
        log_msg(LOG_ERROR, "central", "the mirror stopped: %s", c->mirror_err.msg);
    return NULL;
}

static int serve_started(void *vctx, adt_err *err)
{
    serve_ctx *c = vctx;
    if (!c->mirror)
        return ADT_OK;
    if (pthread_create(&c->th, NULL, mirror_main, c))
        return adt_fail(err, ADT_EINTERNAL, "cannot start the mirror thread");
    c->started = true;
    return ADT_OK;
}

static void serve_stopping(void *vctx)
{
    serve_ctx *c = vctx;
    if (!c->started)
        return;
    atomic_store(&stop_flag, 1);
    pthread_join(c->th, NULL);
    c->started = false;
}

/* `central serve`: our options are taken out, the rest are `auditd serve`'s. */
static int cmd_serve(int argc, char **argv)
{
    const char *cmd = "central serve";
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    char **ours = calloc((size_t)argc + 1, sizeof *ours);
    if (!rest || !ours) {
        free(rest);
        free(ours);
        return cli_failf(cmd, "out of memory");
    }
    int nr = 0, no = 0;
    const char *key_file = NULL;
    bool no_mirror = false;
    int64_t sessions = 4;
    rest[nr++] = argv[0];
    ours[no++] = argv[0];
    int u = 0;
    for (int i = 1; i < argc && !u; i++) {
        const char *a = argv[i];
        bool val = i + 1 < argc;
        if (!strcmp(a, "--witness-key-file") && val) {
            key_file = argv[++i];
        } else if (!strcmp(a, "--no-mirror")) {
            no_mirror = true;
        } else if (!strcmp(a, "--sessions") && val) {
            if (num_i64(argv[++i], 1, 16, &sessions))
                u = cli_failf(cmd, "--sessions must be 1..16") + 1;
        } else if ((!strcmp(a, "--db") || !strcmp(a, "--site") || !strcmp(a, "--interval-ms") ||
                    !strcmp(a, "--max-backoff-ms") || !strcmp(a, "--max-active")) && val) {
            ours[no++] = argv[i++];
            ours[no++] = argv[i];
        } else if (!strcmp(a, "--verbose")) {
            ours[no++] = argv[i];
        } else {
            rest[nr++] = argv[i];
        }
    }
    opts o;
    if (!u)
        u = parse(cmd, no, ours, &o);
    if (!u && !key_file)
        u = cli_failf(cmd, "--witness-key-file FILE is required (the key 'auditd central "
                      "witness init' made)") + 1;
    const char *dir = NULL;
    srvcfg cfg;
    if (!u)
        u = cli_serve_parse(cmd, nr, rest, &dir, &cfg);
    free(rest);
    free(ours);
    if (u)
        return u;
    if (o.verbose)
        cfg.log_level = LOG_DEBUG;
    adt_err err = {0};
    cwitness *cw = NULL;
    if (cwitness_open(o.db, key_file, (int)sessions, &cw, &err))
        return cli_fail(cmd, &err);
    serve_ctx c = {
        .db = o.db,
        .mirror = !no_mirror,
        .mo = {.conninfo = o.db,
               .interval_ms = (int)o.interval_ms,
               .max_backoff_ms = (int)o.backoff_ms,
               .max_active = (int)o.max_active,
               .origins = o.nsites ? o.sites : NULL,
               .norigins = o.nsites,
               .stop = &stop_flag},
    };
    witsrv_backend wb = {.name = cwitness_name(cw),
                         .signer = cwitness_signer(cw),
                         .ops = cwitness_ops(),
                         .ctx = cw,
                         .latest_by_hash = cwitness_latest_by_hash,
                         .after = cwitness_after};
    server_ext ext = {.witness = &wb, .central_api = central_api, .central_ctx = &c};
    cli_serve_hooks h = {.ext = &ext, .started = serve_started, .stopping = serve_stopping,
                         .ctx = &c};
    int rc = cli_serve_run(cmd, dir, &cfg, &h);
    serve_stopping(&c);
    cwitness_close(cw);
    return rc;
}

int cli_central(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (sodium_init() < 0)
        return cli_failf("central", "libsodium failed to initialise");
    const char *sub = argv[1];
    if (!strcmp(sub, "init"))
        return cmd_init(argc - 1, argv + 1);
    if (!strcmp(sub, "mirror"))
        return cmd_mirror(argc - 1, argv + 1);
    if (!strcmp(sub, "status"))
        return cmd_status(argc - 1, argv + 1);
    if (!strcmp(sub, "verify"))
        return cmd_verify(argc - 1, argv + 1);
    if (!strcmp(sub, "witness"))
        return cmd_witness(argc - 1, argv + 1);
    if (!strcmp(sub, "serve"))
        return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(sub, "site") && argc >= 3) {
        if (!strcmp(argv[2], "add"))
            return cmd_site_add(argc - 2, argv + 2);
        if (!strcmp(argv[2], "resume"))
            return cmd_site_resume(argc - 2, argv + 2);
    }
    fprintf(stderr, "auditd central: unknown command '%s%s%s'; 'auditd central --help' lists them\n",
            sub, argc >= 3 && !strcmp(sub, "site") ? " " : "",
            argc >= 3 && !strcmp(sub, "site") ? argv[2] : "");
    return 2;
}
