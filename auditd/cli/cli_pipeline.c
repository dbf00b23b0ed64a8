/* cli_pipeline.c: simulate, profile, device, telemetry, dataset, lineage
 * (docs/pipeline.md). */
#include "cli.h"

#include "agentc.h"
#include "ingest.h"
#include "ledger.h"
#include "lineage.h"
#include "oplabel.h"
#include "numparse.h"
#include "profile.h"
#include "registry.h"
#include "rfc3339.h"
#include "sim.h"
#include "tdb.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEVICE_ARGS 256

typedef struct popts {
    const char *data_dir;
    const char *actor;
    const char *file;
    const char *profile;
    const char *site;
    const char *firmware;
    const char *from, *to;
    const char *devices[MAX_DEVICE_ARGS];
    size_t ndevices;
    int64_t batch, limit, version;
    bool all, no_score, quiet, labels;
    /* simulate */
    const char *seed, *days, *start, *machines, *interval, *out, *post, *name, *key, *go_live;
    const char *format;
} popts;

enum {
    O_DATA = 1000, O_ACTOR, O_FILE, O_PROFILE, O_SITE, O_FW, O_FROM, O_TO, O_DEVICE, O_BATCH,
    O_LIMIT, O_VERSION, O_ALL, O_NOSCORE, O_SEED, O_DAYS, O_START, O_MACHINES, O_INTERVAL,
    O_OUT, O_POST, O_NAME, O_KEY, O_QUIET, O_GOLIVE, O_FORMAT, O_LABELS, O_HELP
};

/* Parse options of `argv` (argv[0] = the (sub)command). Returns the index of
 * the first positional argument, or -1 after printing a usage error. */
static int parse(int argc, char **argv, popts *o, const char *cmd, const char *usage)
{
    static const struct option lo[] = {
        {"data-dir", required_argument, NULL, O_DATA},
        {"actor", required_argument, NULL, O_ACTOR},
        {"file", required_argument, NULL, O_FILE},
        {"profile", required_argument, NULL, O_PROFILE},
        {"site", required_argument, NULL, O_SITE},
        {"firmware", required_argument, NULL, O_FW},
        {"from", required_argument, NULL, O_FROM},
        {"to", required_argument, NULL, O_TO},
        {"device", required_argument, NULL, O_DEVICE},
        {"batch", required_argument, NULL, O_BATCH},
        {"limit", required_argument, NULL, O_LIMIT},
        {"version", required_argument, NULL, O_VERSION},
        {"all", no_argument, NULL, O_ALL},
        {"no-score", no_argument, NULL, O_NOSCORE},
        {"quiet", no_argument, NULL, O_QUIET},
        {"seed", required_argument, NULL, O_SEED},
        {"days", required_argument, NULL, O_DAYS},
        {"start", required_argument, NULL, O_START},
        {"machines", required_argument, NULL, O_MACHINES},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"out", required_argument, NULL, O_OUT},
        {"post", required_argument, NULL, O_POST},
        {"name", required_argument, NULL, O_NAME},
        {"key", required_argument, NULL, O_KEY},
        {"go-live", required_argument, NULL, O_GOLIVE},
        {"format", required_argument, NULL, O_FORMAT},
        {"labels", no_argument, NULL, O_LABELS},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->batch = 10000;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        const char *a = optarg;
        switch (c) {
        case O_DATA: o->data_dir = a; break;
        case O_ACTOR: o->actor = a; break;
        case O_FILE: o->file = a; break;
        case O_PROFILE: o->profile = a; break;
        case O_SITE: o->site = a; break;
        case O_FW: o->firmware = a; break;
        case O_FROM: o->from = a; break;
        case O_TO: o->to = a; break;
        case O_DEVICE:
            if (o->ndevices == MAX_DEVICE_ARGS) {
                fprintf(stderr, "auditd %s: at most %d --device options\n", cmd,
                        MAX_DEVICE_ARGS);
                return -1;
            }
            o->devices[o->ndevices++] = a;
            break;
        case O_BATCH:
            if (num_i64(a, 1, INGEST_MAX_READINGS, &o->batch)) {
                fprintf(stderr, "auditd %s: --batch must be 1..%d\n", cmd, INGEST_MAX_READINGS);
                return -1;
            }
            break;
        case O_LIMIT:
            if (num_i64(a, 1, INT64_MAX, &o->limit)) {
                fprintf(stderr, "auditd %s: --limit must be a positive integer\n", cmd);
                return -1;
            }
            break;
        case O_VERSION:
            if (num_i64(a, 1, INT64_MAX, &o->version)) {
                fprintf(stderr, "auditd %s: --version must be a positive integer\n", cmd);
                return -1;
            }
            break;
        case O_ALL: o->all = true; break;
        case O_NOSCORE: o->no_score = true; break;
        case O_QUIET: o->quiet = true; break;
        case O_SEED: o->seed = a; break;
        case O_DAYS: o->days = a; break;
        case O_START: o->start = a; break;
        case O_MACHINES: o->machines = a; break;
        case O_INTERVAL: o->interval = a; break;
        case O_OUT: o->out = a; break;
        case O_POST: o->post = a; break;
        case O_NAME: o->name = a; break;
        case O_KEY: o->key = a; break;
        case O_GOLIVE: o->go_live = a; break;
        case O_FORMAT: o->format = a; break;
        case O_LABELS: o->labels = true; break;
        case 'h':
        case O_HELP: printf("%s", usage); exit(0);
        default:
            fprintf(stderr, "auditd %s: unknown or incomplete option '%s'\n%s", cmd,
                    argv[optind - 1], usage);
            return -1;
        }
    }
    o->data_dir = cli_data_dir(o->data_dir);
    if (!o->actor) {
        const char *u = getenv("USER");
        o->actor = (u && *u && strlen(u) < 64) ? u : "operator";
    }
    return optind;
}

static int open_ledger(const char *cmd, const char *dir, ledger **lg)
{
    adt_err err;
    if (ledger_open(dir, LEDGER_RDWR, lg, &err)) {
        if (err.code == ADT_ENOTFOUND)
            return cli_failf(cmd, "no ledger in %s: run 'auditd init --data-dir %s' first", dir,
                             dir);
        return cli_fail(cmd, &err);
    }
    return 0;
}

static int read_file(const char *cmd, const char *path, buf *b)
{
    adt_err err;
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return cli_failf(cmd, "%s: cannot open", path);
    int rc = cli_read_all(f, b, &err);
    if (f != stdin)
        fclose(f);
    if (rc) {
        adt_err_prefix(&err, "%s", path);
        return cli_fail(cmd, &err);
    }
    return 0;
}

/* ---- output for people --------------------------------------------------- */

/* A string member, or "" (for tables). */
static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* "2026-07-20T09:05:00.000000Z" -> "2026-07-20 09:05:00" into out[20]. */
static const char *short_time(const char *t, char out[20])
{
    snprintf(out, 20, "%.19s", t);
    if (strlen(out) == 19 && out[10] == 'T')
        out[10] = ' ';
    return out;
}

/* The quarantine listing (ingest_quarantine_json) as a table: one row per
 * reading, with the reading's own time and device from its line. */
static void print_quarantine(const char *json, bool all, int64_t limit)
{
    cJSON *arr = cJSON_Parse(json);
    int n = cJSON_GetArraySize(arr);
    if (n == 0) {
        printf("the quarantine holds no %sreadings\n", all ? "" : "unreplayed ");
        cJSON_Delete(arr);
        return;
    }
    printf("%-7s %-19s %-10s %-14s %-8s %s\n", "ID", "READING TIME", "DEVICE", "REASON",
           "REPLAYED", "DETAIL");
    const cJSON *q;
    cJSON_ArrayForEach(q, arr)
    {
        char tm[20] = "", rb[24] = "-";
        cJSON *line = cJSON_Parse(jstr(q, "line"));
        const char *t = line ? jstr(line, "time") : "";
        const cJSON *rbv = cJSON_GetObjectItemCaseSensitive(q, "replayed_batch");
        if (cJSON_IsNumber(rbv))
            snprintf(rb, sizeof rb, "batch %.0f", rbv->valuedouble);
        const char *dev = jstr(q, "device");
        printf("%-7.0f %-19s %-10.10s %-14.14s %-8s %.90s\n",
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(q, "id")),
               *t ? short_time(t, tm) : "(no time)", *dev ? dev : "?", jstr(q, "reason"), rb,
               jstr(q, "detail"));
        cJSON_Delete(line);
    }
    printf("%d reading%s shown%s; --format json prints them whole (with the original line)\n",
           n, n == 1 ? "" : "s",
           limit && n >= limit ? " (the --limit; there may be more)" : "");
    cJSON_Delete(arr);
}

/* A lineage trace (lineage_trace) as a table of steps, telemetry batches summed up. */
static void print_lineage(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    if (!j) {
        printf("%s\n", json);
        return;
    }
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(j, "steps");
    printf("lineage of %s, each step proven included in the checkpoint of tree size %.0f\n\n",
           jstr(j, "query"), cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "tree_size")));
    printf("%-16s %9s  %-8s %s\n", "STEP", "ENTRY", "PROOF", "WHAT");
    int nbatch = 0, shown = 0, unverified = 0, nlabel = 0;
    double readings = 0;
    char first[20] = "", last[20] = "";
    const cJSON *st;
    cJSON_ArrayForEach(st, steps)
    {
        const char *kind = jstr(st, "step");
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(st, "index");
        bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "verified"));
        unverified += !ok;
        char what[256] = "", idx[24] = "-";
        if (cJSON_IsNumber(ix))
            snprintf(idx, sizeof idx, "%.0f", ix->valuedouble);
        if (!strcmp(kind, "batch")) {
            nbatch++;
            readings += cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "accepted"));
            if (!first[0])
                short_time(jstr(st, "from"), first);
            short_time(jstr(st, "to"), last);
            if (shown >= 3)
                continue;
            shown++;
            char a[20], b[20];
            snprintf(what, sizeof what, "telemetry batch %.0f: %.0f readings %s .. %s, digest %.12s",
                     cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "batch_id")),
                     cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "accepted")),
                     short_time(jstr(st, "from"), a), short_time(jstr(st, "to"), b),
                     jstr(st, "digest"));
        } else if (!strcmp(kind, "dataset")) {
            char a[20], b[20];
            snprintf(what, sizeof what, "dataset %.12s: %.0f batches, %.0f readings, %s .. %s",
                     jstr(st, "dataset"),
                     cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "batches")),
                     cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "readings")),
                     short_time(jstr(st, "from"), a), short_time(jstr(st, "to"), b));
        } else if (!strcmp(kind, "model.register")) {
            snprintf(what, sizeof what, "%s@%s registered, trained on dataset %.12s",
                     jstr(st, "model"), jstr(st, "version"), jstr(st, "dataset"));
        } else if (!strcmp(kind, "label")) {
            if (nlabel++ >= 5)
                continue;
            snprintf(what, sizeof what, "operator's %s on %s at %s", jstr(st, "label"),
                     jstr(st, "device"), jstr(st, "reading_time"));
        } else if (!strcmp(kind, "model.deploy")) {
            snprintf(what, sizeof what, "%s@%s deployed", jstr(st, "model"), jstr(st, "version"));
        } else {
            snprintf(what, sizeof what, "%s", jstr(st, "type"));
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(st, "model");
            if (cJSON_IsString(m))
                snprintf(what, sizeof what, "%s by %s@%s", jstr(st, "type"), m->valuestring,
                         jstr(st, "version"));
        }
        printf("%-16s %9s  %-8s %s\n", kind, idx, ok ? "verified" : "FAILED", what);
    }
    if (nlabel > 5)
        printf("%-16s %9s  %-8s ... and %d more operator labels\n", "label", "", "", nlabel - 5);
    if (nbatch > shown)
        printf("%-16s %9s  %-8s ... and %d more batches\n", "batch", "", "", nbatch - shown);
    if (nbatch)
        printf("\n%d telemetry batches, %.0f readings from %s to %s%s\n", nbatch, readings, first,
               last, unverified ? "" : "; every inclusion proof verified");
    if (unverified)
        printf("\n%d step(s) FAILED their inclusion proof\n", unverified);
    printf("--format json prints every step with its leaf hash and proof\n");
    cJSON_Delete(j);
}

/* ---- profile ------------------------------------------------------------ */

int cli_profile(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd profile load FILE... [--data-dir DIR] [--actor NAME]\n"
        "       auditd profile list [--data-dir DIR]\n"
        "       auditd profile show NAME [--version N] [--data-dir DIR]\n"
        "Device profiles (docs/pipeline.md; schema auditd/pipeline/profiles/"
        "profile.schema.json).\n"
        "load validates each file and stores a new version when its content changed\n"
        "(version = counter + SHA-256 of the canonical JSON), recorded in the ledger as\n"
        "profile.change. Readings keep the version they were validated against.\n";
    if (argc < 2 || cli_wants_help(argc, argv)) {
        printf("%s", usage);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    popts o;
    int i = parse(argc - 1, argv + 1, &o, "profile", usage);
    if (i < 0)
        return 2;
    i += 1;
    adt_err err;
    sqlite3 *db;
    if (!strcmp(sub, "load")) {
        if (i >= argc)
            return cli_failf("profile load", "give at least one profile FILE") + 1;
        ledger *lg;
        if (open_ledger("profile load", o.data_dir, &lg))
            return 1;
        if (tdb_open(o.data_dir, true, &db, &err)) {
            ledger_close(lg);
            return cli_fail("profile load", &err);
        }
        psink s = {NULL, lg};
        int status = 0;
        /* Check every file first: nothing is stored if one is bad. */
        for (int k = i; k < argc && !status; k++) {
            buf b;
            buf_init(&b, 1u << 20);
            profile *p = NULL;
            if (read_file("profile load", argv[k], &b)) {
                status = 1;
            } else if (profile_parse(b.data ? b.data : "", b.len, &p, &err)) {
                adt_err_prefix(&err, "%s (nothing loaded)", argv[k]);
                status = cli_fail("profile load", &err);
            }
            profile_free(p);
            buf_free(&b);
        }
        for (; i < argc && !status; i++) {
            buf b;
            buf_init(&b, 1u << 20);
            if (read_file("profile load", argv[i], &b)) {
                buf_free(&b);
                status = 1;
                break;
            }
            registry_put r;
            if (registry_profile_put(db, &s, o.actor, b.data ? b.data : "", b.len, &r, &err)) {
                adt_err_prefix(&err, "%s", argv[i]);
                status = cli_fail("profile load", &err);
            } else {
                printf("{\"profile\":\"%s\",\"version\":%lld,\"sha256\":\"%s\",\"changed\":%s,"
                       "\"ledger_index\":",
                       r.name, (long long)r.version, r.sha256, r.changed ? "true" : "false");
                if (r.ledger_index == PSINK_NONE)
                    printf("null}\n");
                else
                    printf("%llu}\n", (unsigned long long)r.ledger_index);
            }
            buf_free(&b);
        }
        tdb_close(db);
        ledger_close(lg);
        return status;
    }
    if (strcmp(sub, "list") && strcmp(sub, "show"))
        return cli_failf("profile", "unknown subcommand '%s' (load, list, show)", sub) + 1;
    if (tdb_open(o.data_dir, false, &db, &err))
        return cli_fail("profile", &err);
    buf out;
    buf_init(&out, 64u << 20);
    int rc;
    if (!strcmp(sub, "list")) {
        rc = registry_profiles_json(db, &out, &err);
    } else {
        if (i >= argc) {
            tdb_close(db);
            buf_free(&out);
            return cli_failf("profile show", "give a profile NAME") + 1;
        }
        rc = registry_profile_json(db, argv[i], o.version, &out, &err);
    }
    tdb_close(db);
    if (rc) {
        buf_free(&out);
        return cli_fail("profile", &err);
    }
    printf("%s\n", out.data);
    buf_free(&out);
    return 0;
}

/* ---- device ------------------------------------------------------------- */

int cli_device(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd device register ID --profile NAME [--site S] [--firmware V]\n"
        "       auditd device register --file DEVICES.ndjson\n"
        "       auditd device list | show ID   [--data-dir DIR]\n"
        "Register devices to a loaded profile (recorded as device.register) and show\n"
        "their twins: last seen, last values, firmware, deployed model version.\n"
        "The file form takes lines {\"device\",\"profile\",\"site\"?,\"firmware\"?} and\n"
        "registers all of them or none.\n";
    if (argc < 2 || cli_wants_help(argc, argv)) {
        printf("%s", usage);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    popts o;
    int i = parse(argc - 1, argv + 1, &o, "device", usage);
    if (i < 0)
        return 2;
    i += 1;
    adt_err err;
    sqlite3 *db;
    if (!strcmp(sub, "register")) {
        if (!o.file && (i >= argc || !o.profile))
            return cli_failf("device register", "give ID --profile NAME, or --file FILE") + 1;
        ledger *lg;
        if (open_ledger("device register", o.data_dir, &lg))
            return 1;
        if (tdb_open(o.data_dir, true, &db, &err)) {
            ledger_close(lg);
            return cli_fail("device register", &err);
        }
        psink s = {NULL, lg};
        int rc;
        size_t n = 1;
        if (o.file) {
            buf b;
            buf_init(&b, 64u << 20);
            rc = read_file("device register", o.file, &b) ? ADT_EIO : ADT_OK;
            if (!rc) {
                rc = registry_devices_ndjson(db, &s, o.actor, b.data ? b.data : "", b.len, &n,
                                             &err);
                if (rc)
                    adt_err_prefix(&err, "%s", o.file);
            } else {
                err.msg[0] = 0;
            }
            buf_free(&b);
        } else {
            registry_device d = {argv[i], o.profile, o.site, o.firmware};
            rc = registry_devices_put(db, &s, o.actor, &d, 1, &err);
        }
        tdb_close(db);
        ledger_close(lg);
        if (rc)
            return err.msg[0] ? cli_fail("device register", &err) : 1;
        printf("{\"registered\":%zu}\n", n);
        return 0;
    }
    if (strcmp(sub, "list") && strcmp(sub, "show"))
        return cli_failf("device", "unknown subcommand '%s' (register, list, show)", sub) + 1;
    if (!strcmp(sub, "show") && i >= argc)
        return cli_failf("device show", "give a device ID") + 1;
    if (tdb_open(o.data_dir, false, &db, &err))
        return cli_fail("device", &err);
    buf out;
    buf_init(&out, 64u << 20);
    int rc = registry_devices_json(db, !strcmp(sub, "show") ? argv[i] : NULL, &out, &err);
    tdb_close(db);
    if (rc) {
        buf_free(&out);
        return cli_fail("device", &err);
    }
    printf("%s\n", out.data);
    buf_free(&out);
    return 0;
}

/* ---- telemetry ---------------------------------------------------------- */

static int print_result(const ingest_result *r)
{
    buf out;
    buf_init(&out, 1u << 20);
    int rc = ingest_result_json(r, &out);
    if (!rc)
        printf("%s\n", out.data);
    buf_free(&out);
    return rc;
}

/* Read NDJSON from `f` and ingest it in batches of `batch` lines. Lines over
 * INGEST_MAX_LINE are cut to that size (and then quarantined as unparsable). */
static int ingest_stream(ingest *g, FILE *f, const popts *o, const char *name)
{
    buf batch;
    buf_init(&batch, (size_t)INGEST_MAX_READINGS * (INGEST_MAX_LINE + 2));
    char *line = malloc(INGEST_MAX_LINE + 2);
    if (!line)
        return cli_failf("telemetry ingest", "out of memory");
    int64_t nlines = 0;
    uint64_t tot_r = 0, tot_a = 0, tot_q = 0, nb = 0;
    adt_err err;
    int status = 0;
    for (;;) {
        bool eof = !fgets(line, INGEST_MAX_LINE + 2, f);
        if (!eof) {
            size_t ll = strlen(line);
            bool cut = ll == INGEST_MAX_LINE + 1 && line[ll - 1] != '\n';
            if (cut) { /* skip the rest of an over-long line */
                int ch;
                while ((ch = fgetc(f)) != EOF && ch != '\n')
                    ;
                line[ll - 1] = '\n';
            }
            if (buf_append(&batch, line, ll) || (line[ll - 1] != '\n' && buf_putc(&batch, '\n'))) {
                status = cli_failf("telemetry ingest", "%s: batch too large", name);
                break;
            }
            if (ll > 1)
                nlines++;
        }
        if ((eof && batch.len) || nlines >= o->batch) {
            ingest_result r;
            if (ingest_ndjson(g, o->actor, batch.data, batch.len, &r, &err)) {
                adt_err_prefix(&err, "%s: batch %llu", name, (unsigned long long)nb + 1);
                status = cli_fail("telemetry ingest", &err);
                break;
            }
            nb++;
            tot_r += r.readings;
            tot_a += r.accepted;
            tot_q += r.quarantined;
            if (!o->quiet)
                print_result(&r);
            buf_reset(&batch);
            nlines = 0;
        }
        if (eof)
            break;
    }
    if (ferror(f))
        status = cli_failf("telemetry ingest", "%s: read error", name);
    if (!status)
        fprintf(stderr, "auditd telemetry ingest: %s: %llu batches, %llu readings, %llu stored, "
                        "%llu quarantined\n",
                name, (unsigned long long)nb, (unsigned long long)tot_r,
                (unsigned long long)tot_a, (unsigned long long)tot_q);
    free(line);
    buf_free(&batch);
    return status;
}

int cli_telemetry(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd telemetry ingest [FILE|-] [--batch N] [--actor NAME] [--no-score] "
        "[--quiet]\n"
        "       auditd telemetry quarantine list [--all] [--limit N] [--format text|json]\n"
        "       auditd telemetry quarantine replay [--limit N] [--actor NAME]\n"
        "       (all take --data-dir DIR)\n"
        "ingest reads NDJSON readings {\"device\",\"time\",\"values\"} (default stdin) and\n"
        "stores them in batches of N lines (default 10000): valid readings in telemetry.db,\n"
        "invalid ones in the quarantine with the reason; each batch is recorded in the\n"
        "ledger (telemetry.batch with its digest, telemetry.reject, prediction.summary).\n"
        "Prints one JSON result per batch. replay re-validates quarantined readings\n"
        "against the current profiles and devices.\n";
    if (argc < 2 || cli_wants_help(argc, argv)) {
        printf("%s", usage);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    adt_err err;
    popts o;
    if (!strcmp(sub, "ingest")) {
        int i = parse(argc - 1, argv + 1, &o, "telemetry ingest", usage);
        if (i < 0)
            return 2;
        i += 1;
        const char *path = i < argc ? argv[i] : "-";
        if (i + 1 < argc)
            return cli_failf("telemetry ingest", "one FILE at a time") + 1;
        FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
        if (!f)
            return cli_failf("telemetry ingest", "%s: cannot open", path);
        ledger *lg;
        if (open_ledger("telemetry ingest", o.data_dir, &lg)) {
            if (f != stdin)
                fclose(f);
            return 1;
        }
        psink s = {NULL, lg};
        ingest *g;
        int status;
        if (ingest_open(o.data_dir, &s, !o.no_score, &g, &err)) {
            status = cli_fail("telemetry ingest", &err);
        } else {
            status = ingest_stream(g, f, &o, strcmp(path, "-") ? path : "stdin");
            ingest_close(g);
        }
        ledger_close(lg);
        if (f != stdin)
            fclose(f);
        return status;
    }
    if (strcmp(sub, "quarantine"))
        return cli_failf("telemetry", "unknown subcommand '%s' (ingest, quarantine)", sub) + 1;
    if (argc < 3)
        return cli_failf("telemetry quarantine", "give list or replay") + 1;
    const char *op = argv[2];
    int i = parse(argc - 2, argv + 2, &o, "telemetry quarantine", usage);
    if (i < 0)
        return 2;
    if (i + 2 < argc)
        return cli_failf("telemetry quarantine", "unexpected argument '%s'", argv[i + 2]) + 1;
    if (!strcmp(op, "list")) {
        bool text;
        if (cli_output_text("telemetry quarantine list", o.format, &text))
            return 2;
        sqlite3 *db;
        if (tdb_open(o.data_dir, false, &db, &err))
            return cli_fail("telemetry quarantine list", &err);
        buf out;
        buf_init(&out, 256u << 20);
        int rc = ingest_quarantine_json(db, o.all, (size_t)o.limit, &out, &err);
        tdb_close(db);
        if (!rc && text)
            print_quarantine(out.data, o.all, o.limit);
        else if (!rc)
            printf("%s\n", out.data);
        buf_free(&out);
        return rc ? cli_fail("telemetry quarantine list", &err) : 0;
    }
    if (strcmp(op, "replay"))
        return cli_failf("telemetry quarantine", "unknown operation '%s' (list, replay)", op) +
               1;
    ledger *lg;
    if (open_ledger("telemetry quarantine replay", o.data_dir, &lg))
        return 1;
    psink s = {NULL, lg};
    ingest *g;
    int status = 0;
    if (ingest_open(o.data_dir, &s, !o.no_score, &g, &err)) {
        status = cli_fail("telemetry quarantine replay", &err);
    } else {
        ingest_result r;
        if (ingest_replay(g, o.actor, (size_t)o.limit, &r, &err))
            status = cli_fail("telemetry quarantine replay", &err);
        else
            print_result(&r);
        ingest_close(g);
    }
    ledger_close(lg);
    return status;
}

/* ---- dataset ------------------------------------------------------------ */

int cli_dataset(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd dataset define --from TIME --to TIME [--device D]... [--labels]\n"
        "                             [--data-dir DIR]\n"
        "       auditd dataset list [--data-dir DIR]\n"
        "define makes the set of stored telemetry batches overlapping [from, to) (and\n"
        "holding readings of the devices, if given) a dataset; prints its version id (the\n"
        "digest over the batch digests, see docs/pipeline.md) and records dataset.define.\n"
        "--labels also takes the operators' verdicts recorded so far (label.set from the\n"
        "web console: confirmed failure or false alarm) on the dataset's readings: it\n"
        "defines a labelled dataset on top (its id pins the exact label events, see\n"
        "docs/models.md) and prints that one; model train then uses those verdicts.\n"
        "TIME is RFC 3339 (2026-07-01T00:00:00Z) or a date (2026-07-01).\n";
    if (argc < 2 || cli_wants_help(argc, argv)) {
        printf("%s", usage);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    popts o;
    int i = parse(argc - 1, argv + 1, &o, "dataset", usage);
    if (i < 0)
        return 2;
    if (i + 1 < argc)
        return cli_failf("dataset", "unexpected argument '%s'", argv[i + 1]) + 1;
    adt_err err;
    sqlite3 *db;
    if (!strcmp(sub, "list")) {
        if (tdb_open(o.data_dir, false, &db, &err))
            return cli_fail("dataset list", &err);
        buf out;
        buf_init(&out, 64u << 20);
        int rc = lineage_datasets_json(db, &out, &err);
        tdb_close(db);
        if (!rc)
            printf("%s\n", out.data);
        buf_free(&out);
        return rc ? cli_fail("dataset list", &err) : 0;
    }
    if (strcmp(sub, "define"))
        return cli_failf("dataset", "unknown subcommand '%s' (define, list)", sub) + 1;
    if (!o.from || !o.to)
        return cli_failf("dataset define", "--from and --to are required") + 1;
    int64_t from, to;
    if (sim_parse_time(o.from, &from) || sim_parse_time(o.to, &to))
        return cli_failf("dataset define",
                         "--from/--to: expected RFC 3339 (2026-07-01T00:00:00Z) or YYYY-MM-DD") +
               1;
    ledger *lg;
    if (open_ledger("dataset define", o.data_dir, &lg))
        return 1;
    if (tdb_open(o.data_dir, true, &db, &err)) {
        ledger_close(lg);
        return cli_fail("dataset define", &err);
    }
    psink s = {NULL, lg};
    lineage_dataset d;
    oplabel_dataset ld = {0};
    int rc = lineage_dataset_define(db, &s, o.actor, from, to, o.devices, o.ndevices, &d, &err);
    if (!rc && o.labels)
        rc = oplabel_dataset_define(db, lg, &s, o.actor, d.id, &ld, &err);
    tdb_close(db);
    ledger_close(lg);
    if (rc)
        return cli_fail("dataset define", &err);
    if (o.quiet) {
        printf("%s\n", o.labels ? ld.id : d.id);
        return 0;
    }
    if (o.labels && ld.labelled) {
        printf("{\"dataset\":\"%s\",\"base\":\"%s\",\"batches\":%llu,\"readings\":%llu,"
               "\"labels\":{\"count\":%llu,\"confirmed_failure\":%llu,\"false_alarm\":%llu,"
               "\"upto\":%llu},\"existed\":%s,\"ledger_index\":",
               ld.id, d.id, (unsigned long long)d.batches, (unsigned long long)d.readings,
               (unsigned long long)ld.labels, (unsigned long long)ld.failures,
               (unsigned long long)ld.false_alarms, (unsigned long long)ld.upto,
               ld.existed ? "true" : "false");
        if (ld.ledger_index == PSINK_NONE)
            printf("null}\n");
        else
            printf("%llu}\n", (unsigned long long)ld.ledger_index);
        return 0;
    }
    if (o.labels)
        fprintf(stderr, "note: no operator verdict (label.set) covers a reading of this dataset "
                        "yet: the dataset has no operator labels\n");
    printf("{\"dataset\":\"%s\",\"batches\":%llu,\"readings\":%llu,\"existed\":%s,"
           "%s\"ledger_index\":",
           d.id, (unsigned long long)d.batches, (unsigned long long)d.readings,
           d.existed ? "true" : "false", o.labels ? "\"labels\":{\"count\":0}," : "");
    if (d.ledger_index == PSINK_NONE)
        printf("null}\n");
    else
        printf("%llu}\n", (unsigned long long)d.ledger_index);
    return 0;
}

/* ---- lineage ------------------------------------------------------------ */

int cli_lineage(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd lineage PREDICTION|MODEL@VERSION|DATASET [--format text|json]\n"
        "                      [--data-dir DIR]\n"
        "Which exact data trained the model that made this prediction? Prints the chain\n"
        "prediction.summary -> model.deploy -> model.register -> dataset.define ->\n"
        "telemetry.batch with each step's ledger index and its RFC 6962 inclusion proof\n"
        "against the latest checkpoint (printed too). PREDICTION is a prediction id\n"
        "(N or prediction:N, see telemetry.db predictions).\n"
        "text (the default on a terminal) summarises the chain in a table; json (the\n"
        "default otherwise) has every step with its leaf hash and proof.\n";
    if (cli_wants_help(argc, argv)) {
        printf("%s", usage);
        return 0;
    }
    popts o;
    int i = parse(argc, argv, &o, "lineage", usage);
    if (i < 0)
        return 2;
    if (i >= argc)
        return cli_failf("lineage", "give a prediction id, MODEL@VERSION or a dataset id") + 1;
    bool text;
    if (cli_output_text("lineage", o.format, &text))
        return 2;
    adt_err err;
    ledger *lg;
    if (ledger_open(o.data_dir, LEDGER_RDONLY, &lg, &err))
        return cli_fail("lineage", &err);
    sqlite3 *db;
    if (tdb_open(o.data_dir, false, &db, &err)) {
        ledger_close(lg);
        return cli_fail("lineage", &err);
    }
    buf out;
    buf_init(&out, 64u << 20);
    int rc = lineage_trace(db, lg, argv[i], &out, &err);
    tdb_close(db);
    ledger_close(lg);
    if (!rc && text)
        print_lineage(out.data);
    else if (!rc)
        printf("%s\n", out.data);
    buf_free(&out);
    return rc ? cli_fail("lineage", &err) : 0;
}

/* ---- simulate ----------------------------------------------------------- */

/* Send the generated events and telemetry to a live server as agent
 * o->name would: signed batches through the agent client (spooled in
 * OUT/spool-events and OUT/spool-telemetry, so an interrupted post resumes). */
static int post_files(const popts *o)
{
    static const struct {
        const char *file, *path, *spool;
        unsigned batch;
    } parts[] = {{"events.ndjson", "/v1/events", "spool-events", 1000},
                 {"telemetry.ndjson", "/v1/telemetry", "spool-telemetry", 5000}};
    for (size_t i = 0; i < 2; i++) {
        char file[4096], spool[4096];
        snprintf(file, sizeof file, "%s/%s", o->out, parts[i].file);
        snprintf(spool, sizeof spool, "%s/%s", o->out, parts[i].spool);
        FILE *f = fopen(file, "rb");
        if (!f)
            return cli_failf("simulate", "%s: cannot open", file);
        agentc_opts ao;
        memset(&ao, 0, sizeof ao);
        ao.server = o->post;
        ao.name = o->name;
        ao.key_path = o->key;
        ao.spool_dir = spool;
        ao.path = parts[i].path;
        ao.batch = parts[i].batch;
        ao.give_up_s = 120;
        ao.quiet = true;
        agentc_stats st;
        adt_err err;
        int rc = agentc_send(&ao, f, &st, &err);
        fclose(f);
        if (rc) {
            adt_err_prefix(&err, "posting %s", file);
            return cli_fail("simulate", &err);
        }
        fprintf(stderr, "auditd simulate: posted %s: %llu acknowledged, %llu rejected\n",
                parts[i].file, (unsigned long long)st.acked, (unsigned long long)st.rejected);
    }
    return 0;
}

int cli_simulate(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd simulate --seed N --days D [--start 2026-07-01] [--machines K]\n"
        "                       [--interval SECONDS] [--go-live TIME] --out DIR\n"
        "                       [--post URL --name AGENT --key FILE]\n"
        "Generate a synthetic plant (docs/pipeline.md): K CNC machines of types L/M/H\n"
        "(default 8) with one reading per machine every SECONDS (default 60), failure modes\n"
        "after the AI4I 2020 generation rules, a legacy PLC behind gateway gw-1 and an edge\n"
        "camera cam-1, and the plant's audit events. Same seed, same bytes. Writes into DIR:\n"
        "  telemetry.ndjson  readings, in time order   events.ndjson  audit events\n"
        "  devices.ndjson    device registrations       profiles/*.json device profiles\n"
        "Feed them with: auditd profile load DIR/profiles/*.json; auditd device register\n"
        "--file DIR/devices.ndjson; auditd telemetry ingest DIR/telemetry.ndjson; and\n"
        "auditd append < DIR/events.ndjson (or auditd agent send) for the events.\n"
        "--post sends both files to a running daemon as agent AGENT would (signed batches,\n"
        "spooled in DIR/spool-*; register the devices and profiles there first).\n"
        "--go-live TIME (YYYY-MM-DD or RFC 3339): from then on the simulated plant responds\n"
        "to the programme: maintenance acts on failure warnings (earlier tool changes,\n"
        "prepared repairs) and the CNC controllers power idle spindles down (firmware\n"
        "change CHG-006, deployed at TIME). Readings before TIME are unchanged.\n";
    if (cli_wants_help(argc, argv)) {
        printf("%s", usage);
        return 0;
    }
    popts o;
    int i = parse(argc, argv, &o, "simulate", usage);
    if (i < 0)
        return 2;
    if (i < argc)
        return cli_failf("simulate", "unexpected argument '%s'", argv[i]) + 1;
    if (o.post && (!o.name || !o.key || !o.out))
        return cli_failf("simulate", "--post URL needs --name AGENT --key FILE and --out DIR "
                                     "(the files are written there first)") + 1;
    sim_opts so;
    sim_opts_default(&so);
    int64_t v;
    if (!o.seed || num_i64(o.seed, 0, INT64_MAX, &v))
        return cli_failf("simulate", "--seed N (a non-negative integer) is required") + 1;
    so.seed = (uint64_t)v;
    if (!o.days || num_i64(o.days, 1, 3660, &v))
        return cli_failf("simulate", "--days D (1..3660) is required") + 1;
    so.days = (int)v;
    if (o.machines) {
        if (num_i64(o.machines, 1, 1000, &v))
            return cli_failf("simulate", "--machines must be 1..1000") + 1;
        so.machines = (int)v;
    }
    if (o.interval) {
        if (num_i64(o.interval, 1, 86400, &v))
            return cli_failf("simulate", "--interval must be 1..86400 seconds") + 1;
        so.interval_s = v;
    }
    if (o.start && sim_parse_time(o.start, &so.start_us))
        return cli_failf("simulate", "--start: expected YYYY-MM-DD or RFC 3339") + 1;
    if (o.go_live && (sim_parse_time(o.go_live, &so.go_live_us) || so.go_live_us <= 0))
        return cli_failf("simulate", "--go-live: expected YYYY-MM-DD or RFC 3339 after 1970") + 1;
    if (!o.out)
        return cli_failf("simulate", "--out DIR is required") + 1;
    adt_err err;
    sim_stats st;
    if (sim_run(&so, o.out, &st, &err))
        return cli_fail("simulate", &err);
    fprintf(stderr,
            "auditd simulate: %s: %llu readings (%llu failures), %llu events, %d devices\n",
            o.out, (unsigned long long)st.readings, (unsigned long long)st.failures,
            (unsigned long long)st.events, st.devices);
    return o.post ? post_files(&o) : 0;
}
