/* cli_central.c: `auditd central ...`: the central tier on PostgreSQL
 * (docs/central.md): init, site add/resume, mirror, status, verify. */
#include "cli.h"

#include "canon.h"
#include "cstore.h"
#include "log.h"
#include "mirror.h"
#include "numparse.h"

#include <getopt.h>
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
            "The central tier: site ledgers mirrored into PostgreSQL with proofs.\n"
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
            "\n"
            "--db takes a libpq connection string or URI (postgresql://user@host/db);\n"
            "default $AUDITD_CENTRAL_DB. Several front-ends may share one database.\n");
}

enum { O_DB = 1000, O_ORIGIN, O_KEY, O_URL, O_TOKEN, O_TOKEN_FILE, O_BY, O_REASON, O_ONCE,
       O_SITE, O_INTERVAL, O_BACKOFF, O_ACTIVE, O_JSON, O_ALL, O_VERBOSE, O_HELP };

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
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0}};

#define MAX_SITES_ARG 256

typedef struct opts {
    const char *db, *origin, *key, *url, *token, *token_file, *by, *reason;
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

/* ---------- init ---------- */

static int cmd_init(int argc, char **argv)
{
    const char *cmd = "central init";
    opts o;
    int u = parse(cmd, argc, argv, &o);
    if (u)
        return u;
    cstore *cs;
    if (open_store(cmd, &o, CSTORE_NO_SCHEMA_CHECK, &cs))
        return 1;
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

static int jstr(buf *b, const char *key, const char *v, bool comma)
{
    int rc = buf_printf(b, "%s\"%s\":", comma ? "," : "", key);
    return rc ? rc : canon_put_string(b, v, strlen(v));
}

static int st_site(void *vctx, const cstore_site_status *s)
{
    status_ctx *c = vctx;
    buf *b = &c->out;
    int rc;
    if (c->json) {
        rc = buf_puts(b, c->sites ? ",{" : "{");
        if (!rc) rc = jstr(b, "origin", s->site.origin, false);
        if (!rc) rc = jstr(b, "url", s->site.url, true);
        if (!rc) rc = jstr(b, "state", s->halted ? "halted" : "active", true);
        if (!rc)
            rc = buf_printf(b, ",\"pending_size\":%llu,\"next_entry\":%llu,\"mirror_size\":%llu,"
                               "\"open_alerts\":%llu",
                            (unsigned long long)s->pending_size, (unsigned long long)s->next_entry,
                            (unsigned long long)s->mirror_size,
                            (unsigned long long)s->open_alerts);
        if (!rc) rc = jstr(b, "checked_at", s->checked_at, true);
        if (!rc) rc = jstr(b, "writer", s->writer, true);
        if (!rc) rc = jstr(b, "last_error", s->last_error, true);
        if (!rc) rc = jstr(b, "last_error_at", s->last_error_at, true);
        if (!rc) rc = buf_putc(b, '}');
    } else {
        rc = buf_printf(b, "site %s  %s  %s\n  mirrored %llu of %llu entries (mirror checkpoint "
                           "%llu)%s%s\n  writer: %s\n",
                        s->site.origin, s->site.url, s->halted ? "HALTED" : "active",
                        (unsigned long long)s->next_entry, (unsigned long long)s->pending_size,
                        (unsigned long long)s->mirror_size,
                        s->checked_at[0] ? ", checked " : ", never checked", s->checked_at,
                        s->writer[0] ? s->writer : "none (no 'central mirror' holds this stream)");
        if (!rc && s->last_error[0])
            rc = buf_printf(b, "  last error (%s): %s\n", s->last_error_at, s->last_error);
    }
    c->sites++;
    return rc;
}

static int st_alert(void *vctx, const cstore_alert *a)
{
    status_ctx *c = vctx;
    buf *b = &c->out;
    int rc;
    if (c->json) {
        rc = buf_printf(b, "%s{\"id\":%lld", c->alerts ? "," : "", (long long)a->id);
        if (!rc) rc = jstr(b, "origin", a->origin, true);
        if (!rc) rc = jstr(b, "kind", a->kind, true);
        if (!rc) rc = jstr(b, "detected_at", a->detected_at, true);
        if (!rc) rc = jstr(b, "detected_by", a->detected_by, true);
        if (!rc) rc = jstr(b, "detail", a->detail, true);
        if (!rc) rc = jstr(b, "stored_checkpoint", a->stored_note, true);
        if (!rc) rc = jstr(b, "site_checkpoint", a->site_note, true);
        if (!rc && a->resolved) {
            rc = jstr(b, "resolved_at", a->resolved_at, true);
            if (!rc) rc = jstr(b, "resolved_by", a->resolved_by, true);
            if (!rc) rc = jstr(b, "resolution", a->resolution, true);
        }
        if (!rc) rc = buf_putc(b, '}');
    } else {
        if (!c->alerts)
            buf_puts(b, "alerts:\n");
        rc = buf_printf(b, "  #%lld %s  site %s  %s  (by %s)%s\n    %s\n", (long long)a->id,
                        a->kind, a->origin, a->detected_at, a->detected_by,
                        a->resolved ? "  resolved" : "  OPEN", a->detail);
        if (!rc && a->resolved)
            rc = buf_printf(b, "    resolved %s by %s: %s\n", a->resolved_at, a->resolved_by,
                            a->resolution);
    }
    c->alerts++;
    return rc;
}

static int cmd_status(int argc, char **argv)
{
    const char *cmd = "central status";
    opts o;
    int u = parse(cmd, argc, argv, &o);
    if (u)
        return u;
    cstore *cs;
    if (open_store(cmd, &o, 0, &cs))
        return 1;
    status_ctx c = {.json = o.json};
    buf_init(&c.out, 64u << 20);
    adt_err err = {0};
    if (o.json)
        buf_puts(&c.out, "{\"sites\":[");
    int rc = cstore_status(cs, o.all_alerts, st_site, NULL, &c, &err);
    if (!rc && o.json)
        rc = buf_puts(&c.out, "],\"alerts\":[");
    if (!rc)
        rc = cstore_status(cs, o.all_alerts, NULL, st_alert, &c, &err);
    cstore_close(cs);
    if (rc) {
        buf_free(&c.out);
        if (!err.msg[0])
            adt_fail(&err, rc, "the status does not fit its buffer");
        return cli_fail(cmd, &err);
    }
    if (o.json)
        buf_puts(&c.out, "]}\n");
    else if (!c.sites)
        buf_puts(&c.out, "no sites registered ('auditd central site add' registers one)\n");
    else if (!c.alerts)
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
    int u = parse(cmd, argc, argv, &o);
    if (u)
        return u;
    cstore *cs;
    if (open_store(cmd, &o, 0, &cs))
        return 1;
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
        sodium_bin2base64(root, sizeof root, r.root, 32, sodium_base64_VARIANT_ORIGINAL);
        if (r.ok) {
            printf("%s: ok: %llu entries, %llu checkpoints verified; mirror checkpoint %llu; "
                   "root %s\n", s.origin, (unsigned long long)r.entries,
                   (unsigned long long)r.checkpoints, (unsigned long long)r.mirror_size, root);
        } else {
            failed++;
            if (r.has_bad_index)
                printf("%s: FAILED at index %llu: %s\n", s.origin,
                       (unsigned long long)r.bad_index, r.problem);
            else
                printf("%s: FAILED: %s\n", s.origin, r.problem);
        }
    }
    free(ids);
    cstore_close(cs);
    if (rc)
        return cli_fail(cmd, &err);
    return failed ? 1 : 0;
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
