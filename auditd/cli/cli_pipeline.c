/* cli_pipeline.c: simulate, profile, device, telemetry, dataset, lineage
 * (docs/pipeline.md). */
#include "cli.h"

#include "afile.h"
#include "agentc.h"
#include "ingest.h"
#include "ledger.h"
#include "lineage.h"
#include "model.h"
#include "oplabel.h"
#include "numparse.h"
#include "profile.h"
#include "registry.h"
#include "rfc3339.h"
#include "rollup.h"
#include "sim.h"
#include "sqldb.h"
#include "tdb.h"

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
    cliopt_list devices;
    int64_t batch, limit, version;
    bool all, no_score, quiet, rebuild, labels;
    /* simulate */
    const char *seed, *days, *start, *machines, *interval, *out, *post, *name, *key, *go_live;
    const char *format;
    cliopt_args args; /* positional arguments */
} popts;

/* Parse the options of argv[first..argc) (every pipeline command takes the
 * same table; each uses what it needs). Returns true when the command is
 * done (help or usage error) with *status its exit status. */
static bool parse(const char *cmd, int argc, char **argv, int first, popts *o, const char *usage,
                  int *status)
{
    memset(o, 0, sizeof *o);
    o->batch = 10000;
    const cliopt table[] = {
        CLIOPT_S("data-dir", 'd', &o->data_dir),  CLIOPT_S("actor", 0, &o->actor),
        CLIOPT_S("file", 0, &o->file),            CLIOPT_S("profile", 0, &o->profile),
        CLIOPT_S("site", 0, &o->site),            CLIOPT_S("firmware", 0, &o->firmware),
        CLIOPT_S("from", 0, &o->from),            CLIOPT_S("to", 0, &o->to),
        CLIOPT_L("device", 0, &o->devices),
        CLIOPT_N("batch", 0, &o->batch, 1, INGEST_MAX_READINGS),
        CLIOPT_N("limit", 0, &o->limit, 1, INT64_MAX),
        CLIOPT_N("version", 0, &o->version, 1, INT64_MAX),
        CLIOPT_F("all", 0, &o->all),              CLIOPT_F("no-score", 0, &o->no_score),
        CLIOPT_F("quiet", 'q', &o->quiet),        CLIOPT_F("rebuild", 0, &o->rebuild),
        CLIOPT_S("seed", 0, &o->seed),
        CLIOPT_S("days", 0, &o->days),            CLIOPT_S("start", 0, &o->start),
        CLIOPT_S("machines", 0, &o->machines),    CLIOPT_S("interval", 0, &o->interval),
        CLIOPT_S("out", 0, &o->out),              CLIOPT_S("post", 0, &o->post),
        CLIOPT_S("name", 0, &o->name),            CLIOPT_S("key", 0, &o->key),
        CLIOPT_S("go-live", 0, &o->go_live),      CLIOPT_S("format", 0, &o->format),
        CLIOPT_F("labels", 0, &o->labels),
        CLIOPT_END};
    if (cli_parse(cmd, argc, argv, first, table, &o->args, usage, status))
        return true;
    o->data_dir = cli_data_dir(o->data_dir);
    o->actor = cliopt_actor(o->actor);
    return false;
}

/* A usage error for an argument the command does not take. */
static int unexpected(const char *cmd, const popts *o, size_t allowed)
{
    return o->args.npos > allowed
               ? cli_failf(cmd, "unexpected argument '%s'", o->args.pos[allowed]) + 1
               : 0;
}

static int open_ledger(const char *cmd, const char *dir, ledger **lg)
{
    adt_err err;
    return ledger_open(dir, LEDGER_RDWR, lg, &err) ? cli_fail(cmd, &err) : 0;
}

/* A command that changes telemetry.db records it in the ledger: both open. */
typedef struct writer {
    ledger *lg;
    sqlite3 *db;
    evsink sink;
} writer;

static int writer_open(const char *cmd, const char *dir, writer *w)
{
    memset(w, 0, sizeof *w);
    adt_err err;
    if (open_ledger(cmd, dir, &w->lg))
        return 1;
    if (tdb_open(dir, true, &w->db, &err)) {
        ledger_close(w->lg);
        return cli_fail(cmd, &err);
    }
    w->sink = (evsink){.lg = w->lg};
    return 0;
}

static void writer_close(writer *w)
{
    sqldb_close(w->db);
    ledger_close(w->lg);
}

/* A read-only command: telemetry.db alone. */
static int reader_open(const char *cmd, const char *dir, sqlite3 **db)
{
    adt_err err;
    return tdb_open(dir, false, db, &err) ? cli_fail(cmd, &err) : 0;
}

/* Print the JSON a listing function wrote, or fail. */
static int print_json(const char *cmd, int rc, buf *out, const adt_err *err)
{
    if (!rc)
        printf("%s\n", out->data);
    buf_free(out);
    return rc ? cli_fail(cmd, err) : 0;
}

/* A listing of telemetry.db (the registry, datasets, rollups) as JSON. */
typedef int (*listing_fn)(sqlite3 *db, const popts *o, const void *arg, buf *out,
                          adt_err *err);

/* A listing's JSON printed for people (--format text). */
typedef void (*text_fn)(const char *json, const popts *o);

/* Open telemetry.db to read, write fn's listing (bounded by 256 MiB) and
 * print it: as JSON, or through `text` when it is set. */
static int print_listing(const char *cmd, const popts *o, listing_fn fn, const void *arg,
                         text_fn text)
{
    sqlite3 *db;
    if (reader_open(cmd, o->data_dir, &db))
        return 1;
    buf out;
    buf_init(&out, 256u << 20);
    adt_err err;
    int rc = fn(db, o, arg, &out, &err);
    sqldb_close(db);
    if (!rc && text) {
        text(out.data, o);
        buf_free(&out);
        return 0;
    }
    return print_json(cmd, rc, &out, &err);
}

/* The subcommands of a command: `auditd GROUP NAME ...`, taking at most
 * `max_args` positional arguments after the group's name (0: any). Either
 * `run` does the work, or the subcommand prints `listing`, of the one
 * argument `arg` names ("a device ID") when `arg` is set. */
typedef struct subcmd {
    const char *name;
    int (*run)(const char *cmd, const popts *o);
    size_t max_args;
    listing_fn listing;
    const char *arg;
} subcmd;

/* Run the subcommand named by o->args.pos[0] ("GROUP NAME" is its cmd in
 * messages); an unknown one is a usage error naming the known ones. */
static int run_subcommand(const char *group, const popts *o, const subcmd *subs, size_t n,
                          const char *usage)
{
    const char *sub = o->args.npos ? o->args.pos[0] : "";
    char cmd[64], names[128] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(cmd, sizeof cmd, "%s %s", group, subs[i].name);
        if (strcmp(sub, subs[i].name))
            continue;
        int status = subs[i].max_args ? unexpected(cmd, o, subs[i].max_args) : 0;
        if (status || subs[i].run)
            return status ? status : subs[i].run(cmd, o);
        if (subs[i].arg && o->args.npos < 2)
            return cli_failf(cmd, "give %s", subs[i].arg) + 1;
        return print_listing(cmd, o, subs[i].listing, subs[i].arg ? o->args.pos[1] : NULL, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", subs[i].name);
        used += w > 0 && (size_t)w < sizeof names - used ? (size_t)w : 0;
    }
    fputs(usage, stderr);
    return cli_failf(group, "unknown subcommand '%s' (%s)", sub, names) + 1;
}

/* `auditd GROUP SUB ...`: the options, then the subcommand. */
static int run_group(const char *group, int argc, char **argv, const char *usage,
                     const subcmd *subs, size_t n)
{
    popts o;
    int status;
    if (parse(group, argc, argv, 1, &o, usage, &status))
        return status;
    return run_subcommand(group, &o, subs, n, usage);
}

/* `auditd CMD ...` without subcommands: the options, then `run`. */
static int run_command(const char *cmd, int argc, char **argv, const char *usage,
                       int (*run)(const char *cmd, const popts *o))
{
    popts o;
    int status;
    if (parse(cmd, argc, argv, 1, &o, usage, &status))
        return status;
    return run(cmd, &o);
}

/* A JSON ledger index, null when nothing was recorded. */
static void print_index(uint64_t index)
{
    if (index == EVSINK_NONE)
        printf("null}\n");
    else
        printf("%llu}\n", (unsigned long long)index);
}

static int read_file(const char *cmd, const char *path, buf *b)
{
    adt_err err;
    return afile_read(path, b->max, b, &err) ? cli_fail(cmd, &err) : 0;
}

/* ---- profile ------------------------------------------------------------ */

/* Check every file first: nothing is stored if one is bad. */
static int profiles_check(const char *cmd, const cliopt_args *a)
{
    adt_err err;
    for (size_t k = 1; k < a->npos; k++) {
        buf b;
        buf_init(&b, 1u << 20);
        profile *p = NULL;
        int status = read_file(cmd, a->pos[k], &b);
        if (!status && profile_parse(b.data, b.len, &p, &err)) {
            adt_err_prefix(&err, "%s (nothing loaded)", a->pos[k]);
            status = cli_fail(cmd, &err);
        }
        profile_free(p);
        buf_free(&b);
        if (status)
            return status;
    }
    return 0;
}

static int profiles_load(const char *cmd, const popts *o)
{
    if (o->args.npos < 2)
        return cli_failf(cmd, "give at least one profile FILE") + 1;
    int status = profiles_check(cmd, &o->args);
    writer w;
    if (status || (status = writer_open(cmd, o->data_dir, &w)))
        return status;
    for (size_t k = 1; k < o->args.npos && !status; k++) {
        const char *file = o->args.pos[k];
        buf b;
        buf_init(&b, 1u << 20);
        registry_put r;
        adt_err err;
        status = read_file(cmd, file, &b);
        if (!status && registry_profile_put(w.db, &w.sink, o->actor, b.data, b.len, &r, &err)) {
            adt_err_prefix(&err, "%s", file);
            status = cli_fail(cmd, &err);
        } else if (!status) {
            printf("{\"profile\":\"%s\",\"version\":%lld,\"sha256\":\"%s\",\"changed\":%s,"
                   "\"ledger_index\":",
                   r.name, (long long)r.version, r.sha256, r.changed ? "true" : "false");
            print_index(r.ledger_index);
        }
        buf_free(&b);
    }
    writer_close(&w);
    return status;
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
static void print_quarantine(const char *json, const popts *o)
{
    bool all = o->all;
    int64_t limit = o->limit;
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
static void print_lineage(const char *json, const popts *o)
{
    (void)o;
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

static int profile_listing(sqlite3 *db, const popts *o, const void *name, buf *out,
                           adt_err *err)
{
    return name ? registry_profile_json(db, name, o->version, out, err)
                : registry_profiles_json(db, out, err);
}

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
    static const subcmd subs[] = {{"load", profiles_load, 0, NULL, NULL},
                                  {"list", NULL, 1, profile_listing, NULL},
                                  {"show", NULL, 2, profile_listing, "a profile NAME"}};
    return run_group("profile", argc, argv, usage, subs, sizeof subs / sizeof subs[0]);
}

/* ---- device ------------------------------------------------------------- */

static int devices_register(const char *cmd, const popts *o)
{
    if (!o->file && (o->args.npos < 2 || !o->profile))
        return cli_failf(cmd, "give ID --profile NAME, or --file FILE") + 1;
    writer w;
    if (writer_open(cmd, o->data_dir, &w))
        return 1;
    adt_err err;
    size_t n = 1;
    int status = 0;
    if (o->file) {
        buf b;
        buf_init(&b, 64u << 20);
        status = read_file(cmd, o->file, &b);
        if (!status &&
            registry_devices_ndjson(w.db, &w.sink, o->actor, b.data, b.len, &n, &err)) {
            adt_err_prefix(&err, "%s", o->file);
            status = cli_fail(cmd, &err);
        }
        buf_free(&b);
    } else {
        registry_device d = {o->args.pos[1], o->profile, o->site, o->firmware};
        if (registry_devices_put(w.db, &w.sink, o->actor, &d, 1, &err))
            status = cli_fail(cmd, &err);
    }
    writer_close(&w);
    if (!status)
        printf("{\"registered\":%zu}\n", n);
    return status;
}

static int device_listing(sqlite3 *db, const popts *o, const void *id, buf *out, adt_err *err)
{
    return registry_devices_json(db, id, out, err);
}

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
    static const subcmd subs[] = {{"register", devices_register, 2, NULL, NULL},
                                  {"list", NULL, 1, device_listing, NULL},
                                  {"show", NULL, 2, device_listing, "a device ID"}};
    return run_group("device", argc, argv, usage, subs, sizeof subs / sizeof subs[0]);
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

static int telemetry_ingest(const char *cmd, const popts *o)
{
    if (o->args.npos > 2)
        return cli_failf(cmd, "one FILE at a time") + 1;
    const char *path = o->args.npos == 2 ? o->args.pos[1] : "-";
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return cli_failf(cmd, "%s: cannot open", path);
    ledger *lg;
    int status = open_ledger(cmd, o->data_dir, &lg);
    if (!status) {
        evsink s = {.lg = lg};
        ingest *g;
        adt_err err;
        if (ingest_open(o->data_dir, &s, !o->no_score, &g, &err)) {
            status = cli_fail(cmd, &err);
        } else {
            status = ingest_stream(g, f, o, strcmp(path, "-") ? path : "stdin");
            ingest_close(g);
        }
        ledger_close(lg);
    }
    if (f != stdin)
        fclose(f);
    return status;
}

static int quarantine_listing(sqlite3 *db, const popts *o, const void *arg, buf *out,
                              adt_err *err)
{
    (void)arg;
    return ingest_quarantine_json(db, o->all, (size_t)o->limit, out, err);
}

static int quarantine_list(const char *cmd, const popts *o)
{
    bool text;
    if (cli_output_text(cmd, o->format, &text))
        return 2;
    return print_listing(cmd, o, quarantine_listing, NULL, text ? print_quarantine : NULL);
}

static int quarantine_replay(const char *cmd, const popts *o)
{
    ledger *lg;
    if (open_ledger(cmd, o->data_dir, &lg))
        return 1;
    evsink s = {.lg = lg};
    ingest *g;
    adt_err err;
    int status = 0;
    if (ingest_open(o->data_dir, &s, !o->no_score, &g, &err)) {
        status = cli_fail(cmd, &err);
    } else {
        ingest_result r;
        if (ingest_replay(g, o->actor, (size_t)o->limit, &r, &err))
            status = cli_fail(cmd, &err);
        else
            print_result(&r);
        ingest_close(g);
    }
    ledger_close(lg);
    return status;
}

/* The decision threshold of a registered model version, for rebuilt
 * prediction outcomes; negative when the registry does not know it. */
static double model_threshold(void *ctx, const char *model, const char *version)
{
    model_info m;
    adt_err err;
    return model_get(ctx, model, version, &m, NULL, &err) == ADT_OK ? m.threshold : -1;
}

static int rollups_rebuild(const char *cmd, const popts *o)
{
    sqlite3 *db;
    adt_err err;
    if (tdb_open(o->data_dir, true, &db, &err))
        return cli_fail(cmd, &err);
    uint64_t n = 0;
    int rc = rollup_rebuild(db, model_threshold, (void *)o->data_dir, &n, &err);
    sqldb_close(db);
    if (rc)
        return cli_fail(cmd, &err);
    printf("{\"rebuilt_from_readings\":%llu}\n", (unsigned long long)n);
    return 0;
}

static int rollup_listing(sqlite3 *db, const popts *o, const void *span, buf *out,
                          adt_err *err)
{
    const int64_t *t = span;
    return rollup_json(db, t[0], t[1], o->devices.n ? o->devices.v[0] : NULL, out, err);
}

static int telemetry_rollups(const char *cmd, const popts *o)
{
    if (o->rebuild)
        return rollups_rebuild(cmd, o);
    int64_t from = INT64_MIN, to = INT64_MAX;
    if ((o->from && sim_parse_time(o->from, &from)) || (o->to && sim_parse_time(o->to, &to)))
        return cli_failf(cmd, "--from/--to: expected RFC 3339 (2026-07-01T00:00:00Z) or "
                              "YYYY-MM-DD") + 1;
    if (o->devices.n > 1)
        return cli_failf(cmd, "one --device at a time") + 1;
    const int64_t span[2] = {from, to};
    return print_listing(cmd, o, rollup_listing, span, NULL);
}

static int telemetry_quarantine(const char *cmd, const popts *o)
{
    const char *op = o->args.npos > 1 ? o->args.pos[1] : "";
    if (!strcmp(op, "list"))
        return quarantine_list("telemetry quarantine list", o);
    if (!strcmp(op, "replay"))
        return quarantine_replay("telemetry quarantine replay", o);
    return cli_failf(cmd, "give list or replay, not '%s'", op) + 1;
}

int cli_telemetry(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd telemetry ingest [FILE|-] [--batch N] [--actor NAME] [--no-score] "
        "[--quiet]\n"
        "       auditd telemetry quarantine list [--all] [--limit N] [--format text|json]\n"
        "       auditd telemetry quarantine replay [--limit N] [--actor NAME]\n"
        "       auditd telemetry rollups [--from TIME] [--to TIME] [--device D] | --rebuild\n"
        "       (all take --data-dir DIR)\n"
        "ingest reads NDJSON readings {\"device\",\"time\",\"values\"} (default stdin) and\n"
        "stores them in batches of N lines (default 10000): valid readings in telemetry.db,\n"
        "invalid ones in the quarantine with the reason; each batch is recorded in the\n"
        "ledger (telemetry.batch with its digest, telemetry.reject, prediction.summary).\n"
        "Prints one JSON result per batch. replay re-validates quarantined readings\n"
        "against the current profiles and devices. rollups prints the hourly rollups of\n"
        "the hours starting in [TIME, TIME) as JSON (docs/pipeline.md, \"Rollups\");\n"
        "--rebuild recomputes them all from the stored readings and predictions.\n";
    static const subcmd subs[] = {{"ingest", telemetry_ingest, 0, NULL, NULL},
                                  {"quarantine", telemetry_quarantine, 2, NULL, NULL},
                                  {"rollups", telemetry_rollups, 1, NULL, NULL}};
    return run_group("telemetry", argc, argv, usage, subs, sizeof subs / sizeof subs[0]);
}

/* ---- dataset ------------------------------------------------------------ */

static int dataset_define(const char *cmd, const popts *o)
{
    if (!o->from || !o->to)
        return cli_failf(cmd, "--from and --to are required") + 1;
    int64_t from, to;
    if (sim_parse_time(o->from, &from) || sim_parse_time(o->to, &to))
        return cli_failf(cmd, "--from/--to: expected RFC 3339 (2026-07-01T00:00:00Z) or "
                              "YYYY-MM-DD") + 1;
    writer w;
    if (writer_open(cmd, o->data_dir, &w))
        return 1;
    lineage_dataset d;
    oplabel_dataset ld = {0};
    adt_err err;
    int rc = lineage_dataset_define(w.db, &w.sink, o->actor, from, to, o->devices.v,
                                    o->devices.n, &d, &err);
    if (!rc && o->labels) /* the operators' verdicts on its readings, pinned on top */
        rc = oplabel_dataset_define(w.db, w.lg, &w.sink, o->actor, d.id, &ld, &err);
    writer_close(&w);
    if (rc)
        return cli_fail(cmd, &err);
    if (o->quiet) {
        printf("%s\n", o->labels ? ld.id : d.id);
        return 0;
    }
    if (o->labels && ld.labelled) {
        printf("{\"dataset\":\"%s\",\"base\":\"%s\",\"batches\":%llu,\"readings\":%llu,"
               "\"labels\":{\"count\":%llu,\"confirmed_failure\":%llu,\"false_alarm\":%llu,"
               "\"upto\":%llu},\"existed\":%s,\"ledger_index\":",
               ld.id, d.id, (unsigned long long)d.batches, (unsigned long long)d.readings,
               (unsigned long long)ld.labels, (unsigned long long)ld.failures,
               (unsigned long long)ld.false_alarms, (unsigned long long)ld.upto,
               ld.existed ? "true" : "false");
        print_index(ld.ledger_index);
        return 0;
    }
    if (o->labels)
        fprintf(stderr, "note: no operator verdict (label.set) covers a reading of this dataset "
                        "yet: the dataset has no operator labels\n");
    printf("{\"dataset\":\"%s\",\"batches\":%llu,\"readings\":%llu,\"existed\":%s,"
           "%s\"ledger_index\":",
           d.id, (unsigned long long)d.batches, (unsigned long long)d.readings,
           d.existed ? "true" : "false", o->labels ? "\"labels\":{\"count\":0}," : "");
    print_index(d.ledger_index);
    return 0;
}

static int dataset_listing(sqlite3 *db, const popts *o, const void *arg, buf *out,
                           adt_err *err)
{
    return lineage_datasets_json(db, out, err);
}

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
    static const subcmd subs[] = {{"define", dataset_define, 1, NULL, NULL},
                                  {"list", NULL, 1, dataset_listing, NULL}};
    return run_group("dataset", argc, argv, usage, subs, sizeof subs / sizeof subs[0]);
}

/* ---- lineage ------------------------------------------------------------ */

/* The trace of o->args.pos[0] (lineage_trace), with the ledger opened to read. */
static int lineage_listing(sqlite3 *db, const popts *o, const void *arg, buf *out, adt_err *err)
{
    (void)arg;
    ledger *lg;
    int rc = ledger_open(o->data_dir, LEDGER_RDONLY, &lg, err);
    if (!rc) {
        rc = lineage_trace(db, lg, o->args.pos[0], out, err);
        ledger_close(lg);
    }
    return rc;
}

static int lineage(const char *cmd, const popts *o)
{
    if (o->args.npos != 1)
        return cli_failf(cmd, "give one prediction id, MODEL@VERSION or dataset id") + 1;
    bool text;
    if (cli_output_text(cmd, o->format, &text))
        return 2;
    return print_listing(cmd, o, lineage_listing, NULL, text ? print_lineage : NULL);
}

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
    return run_command("lineage", argc, argv, usage, lineage);
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

static int simulate(const char *cmd, const popts *o)
{
    int status = unexpected(cmd, o, 0);
    if (status)
        return status;
    if (o->post && (!o->name || !o->key || !o->out))
        return cli_failf(cmd, "--post URL needs --name AGENT --key FILE and --out DIR "
                              "(the files are written there first)") + 1;
    sim_opts so;
    sim_opts_default(&so);
    int64_t v;
    if (!o->seed || num_i64(o->seed, 0, INT64_MAX, &v))
        return cli_failf(cmd, "--seed N (a non-negative integer) is required") + 1;
    so.seed = (uint64_t)v;
    if (!o->days || num_i64(o->days, 1, 3660, &v))
        return cli_failf(cmd, "--days D (1..3660) is required") + 1;
    so.days = (int)v;
    if (o->machines) {
        if (num_i64(o->machines, 1, 1000, &v))
            return cli_failf(cmd, "--machines must be 1..1000") + 1;
        so.machines = (int)v;
    }
    if (o->interval) {
        if (num_i64(o->interval, 1, 86400, &v))
            return cli_failf(cmd, "--interval must be 1..86400 seconds") + 1;
        so.interval_s = v;
    }
    if (o->start && sim_parse_time(o->start, &so.start_us))
        return cli_failf(cmd, "--start: expected YYYY-MM-DD or RFC 3339") + 1;
    if (o->go_live && (sim_parse_time(o->go_live, &so.go_live_us) || so.go_live_us <= 0))
        return cli_failf(cmd, "--go-live: expected YYYY-MM-DD or RFC 3339 after 1970") + 1;
    if (!o->out)
        return cli_failf(cmd, "--out DIR is required") + 1;
    adt_err err;
    sim_stats st;
    if (sim_run(&so, o->out, &st, &err))
        return cli_fail(cmd, &err);
    fprintf(stderr,
            "auditd simulate: %s: %llu readings (%llu failures), %llu events, %d devices\n",
            o->out, (unsigned long long)st.readings, (unsigned long long)st.failures,
            (unsigned long long)st.events, st.devices);
    return o->post ? post_files(o) : 0;
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
    return run_command("simulate", argc, argv, usage, simulate);
}
