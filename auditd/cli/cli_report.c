/* cli_report.c: `auditd report`: issue a value report or OSCAL assessment results. */
#include "cli.h"

#include "ereport.h"
#include "log.h"
#include "numparse.h"
#include "reports.h"
#include "ship.h"

#include <errno.h>
#include <sodium.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: auditd report --period PERIOD [--format FMT] [--out FILE] [options]\n"
            "\n"
            "Compute the period's KPIs, compliance posture, incidents, model inventory, data\n"
            "quality and ledger integrity at the latest signed checkpoint, write the report,\n"
            "and record it in the ledger (a report.issued event with its SHA-256).\n"
            "\n"
            "  --period P       2026-Q3 (quarter), 2026-07 (month) or 2026-07-01..2026-09-30\n"
            "                   (days, end inclusive); all UTC\n"
            "  --format F       html (default), json, csv (the KPI table), oscal-xml,\n"
            "                   oscal-json (OSCAL assessment results), xml (report data)\n"
            "                   or all (html, oscal-xml, oscal-json, json and csv into --out-dir,\n"
            "                   all computed at the same checkpoint)\n"
            "  --out FILE       write there (default: stdout); '-' is stdout\n"
            "  --out-dir DIR    with --format all: write report-PERIOD.<ext> files there\n"
            "  --template FILE  an XSLT stylesheet replacing templates/report-html.xsl\n"
            "  --kpis FILE      KPI definitions (default <data-dir>/kpis.json, else built-in)\n"
            "  --at-size N      compute at the stored checkpoint of tree size N (reproduce an\n"
            "                   earlier report; the bytes match if the inputs are unchanged)\n"
            "  --no-record      do not append report.issued (drafts)\n"
            "  --actor NAME     who issues it (default $USER)\n"
            "  --time T         the report's date and the time of its report.issued event\n"
            "                   (RFC 3339; default: the checkpoint's last recorded_at for\n"
            "                   the date, now for the event); for a report of a simulated or\n"
            "                   earlier time. The ledger's recorded_at stays the real time.\n"
            "  --verbose        log where the time goes (ledger, telemetry, controls)\n"
            "  --data-dir DIR   the data directory\n"
            "  --scope enterprise --db CONNINFO\n"
            "                   the enterprise report at the central tier (docs/central.md):\n"
            "                   every registered site's shipped KPI inputs and control status\n"
            "                   for PERIOD, KPIs per site and in total (summed numerators and\n"
            "                   denominators), each site against its own baseline, posture per\n"
            "                   site and framework, findings with owners, each citing site\n"
            "                   ledger entries with inclusion proofs against the checkpoint the\n"
            "                   centre cosigned; --db or $AUDITD_CENTRAL_DB. Formats as above\n"
            "                   (OSCAL: one result per site and the roll-up); not recorded\n"
            "\n"
            "Prints the written path, the SHA-256 and the ledger index of report.issued.\n");
}

static int write_file(const char *path, const char *data, size_t len, adt_err *err)
{
    /* Write beside the target and rename, so a failure leaves no partial file. */
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return adt_fail(err, ADT_EINVAL, "output path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return adt_fail(err, ADT_EIO, "cannot create %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return adt_fail(err, ADT_EIO, "writing %s failed: %s", path, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) || close(fd) || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return adt_fail(err, ADT_EIO, "writing %s failed: %s", path, strerror(e));
    }
    return ADT_OK;
}

/* Render one format of `set`, store it, then record it: the ledger never
 * names a report that was not written, and a report that could not be
 * recorded is removed again. */
static int issue(const char *cmd, report_set *set, const report_opts *opts,
                 const char *out_path)
{
    report_opts o = *opts;
    bool record = o.record;
    buf out;
    buf_init(&out, REPORT_MAX_BYTES);
    report_issued is;
    adt_err err = {0};
    int rc = reports_render(set, o.format, o.template_path, &out, &is, &err);
    if (rc) {
        buf_free(&out);
        return cli_fail(cmd, &err);
    }
    bool to_stdout = !out_path || !strcmp(out_path, "-");
    if (!to_stdout && (rc = write_file(out_path, out.data, out.len, &err))) {
        buf_free(&out);
        return cli_fail(cmd, &err);
    }
    if (record && (rc = reports_record(&o, &is, o.period, &err))) {
        if (!to_stdout)
            unlink(out_path);
        buf_free(&out);
        adt_err_prefix(&err, "recording report.issued failed (no report was issued)");
        return cli_fail(cmd, &err);
    }
    if (to_stdout && (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout))) {
        buf_free(&out);
        return cli_failf(cmd, "writing to stdout failed");
    }
    FILE *info = to_stdout ? stderr : stdout;
    fprintf(info, "%s %s sha256=%s tree_size=%llu", report_format_name(o.format),
            to_stdout ? "-" : out_path, is.sha256, (unsigned long long)is.tree_size);
    if (is.recorded)
        fprintf(info, " recorded_at_index=%llu", (unsigned long long)is.index);
    fputc('\n', info);
    buf_free(&out);
    return 0;
}

/* `report --scope enterprise`: computed once, rendered per format, written
 * like the site report's files (temp file + rename). */
static int enterprise(const char *cmd, const ereport_opts *eo, const char *fmt,
                      const char *out_path, const char *out_dir, const char *template_path)
{
    ereport *r = NULL;
    adt_err err = {0};
    if (ereport_compute(eo, &r, &err))
        return cli_fail(cmd, &err);
    report_format one;
    bool all = !strcmp(fmt, "all");
    if (!all && report_format_parse(fmt, &one)) {
        ereport_free(r);
        fprintf(stderr, "auditd %s: --format must be html, json, csv, oscal-xml, oscal-json, xml "
                "or all, not '%s'\n", cmd, fmt);
        return 2;
    }
    if (all && mkdir(out_dir, 0755) && errno != EEXIST) {
        ereport_free(r);
        return cli_failf(cmd, "cannot create %s: %s", out_dir, strerror(errno));
    }
    static const report_format every[] = {REPORT_HTML, REPORT_OSCAL_XML, REPORT_OSCAL_JSON,
                                          REPORT_JSON, REPORT_CSV};
    size_t n = all ? sizeof every / sizeof every[0] : 1;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        report_format f = all ? every[i] : one;
        buf out;
        buf_init(&out, REPORT_MAX_BYTES);
        char path[4096];
        const char *dest = out_path;
        if (all) {
            if (snprintf(path, sizeof path, "%s/enterprise-%s.%s", out_dir, eo->period,
                         report_format_ext(f)) >= (int)sizeof path) {
                buf_free(&out);
                rc = cli_failf(cmd, "--out-dir path too long");
                break;
            }
            dest = path;
        }
        if (ereport_render(r, f, template_path, &out, &err)) {
            rc = cli_fail(cmd, &err);
        } else if (dest && strcmp(dest, "-")) {
            if (write_file(dest, out.data, out.len, &err))
                rc = cli_fail(cmd, &err);
            else {
                uint8_t h[32];
                char hx[65];
                crypto_hash_sha256(h, (const uint8_t *)out.data, out.len);
                sodium_bin2hex(hx, sizeof hx, h, 32);
                printf("%s %s sha256=%s\n", report_format_name(f), dest, hx);
            }
        } else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout)) {
            rc = cli_failf(cmd, "writing to stdout failed");
        }
        buf_free(&out);
    }
    ereport_summary sm;
    ereport_get_summary(r, &sm);
    fprintf(stderr, "enterprise %s: %d sites (%d with both batches), %zu findings (%zu "
            "site.integrity), %zu entries cited with inclusion proofs%s\n", eo->period, sm.sites,
            sm.sites_with_data, sm.findings, sm.integrity_findings, sm.citations,
            sm.all_cosigned ? ", every site's checkpoint cosigned by the centre"
                            : "; some sites' checkpoints are not cosigned by the centre");
    ereport_free(r);
    return rc;
}

/* `--format all`: one computation, at one checkpoint, written in every
 * format into out_dir (they show the same data). */
static int issue_all(const char *cmd, report_opts *o, const char *out_dir)
{
    if (!out_dir)
        return cli_failf(cmd, "--format all needs --out-dir DIR"), 2;
    if (mkdir(out_dir, 0755) && errno != EEXIST)
        return cli_failf(cmd, "cannot create %s: %s", out_dir, strerror(errno));
    report_set *set = NULL;
    adt_err err = {0};
    if (reports_compute(o, &set, &err))
        return cli_fail(cmd, &err);
    static const report_format all[] = {REPORT_HTML, REPORT_OSCAL_XML, REPORT_OSCAL_JSON,
                                        REPORT_JSON, REPORT_CSV};
    int rc = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0] && !rc; i++) {
        char path[4096];
        o->format = all[i];
        if (snprintf(path, sizeof path, "%s/report-%s.%s", out_dir, o->period,
                     report_format_ext(all[i])) >= (int)sizeof path)
            rc = cli_failf(cmd, "--out-dir path too long");
        else
            rc = issue(cmd, set, o, path);
    }
    reports_set_free(set);
    return rc;
}

/* `--scope enterprise`: the central tier's report over every site. */
static int issue_enterprise(const char *cmd, const report_opts *o, const char *db,
                            const char *fmt, const char *out_path, const char *out_dir)
{
    if (!db)
        db = getenv("AUDITD_CENTRAL_DB");
    if (!db || !*db) {
        fprintf(stderr, "auditd %s: --scope enterprise needs the central database: --db "
                "CONNINFO or $AUDITD_CENTRAL_DB\n", cmd);
        return 2;
    }
    if (!strcmp(fmt, "all") && !out_dir) {
        fprintf(stderr, "auditd %s: --format all needs --out-dir DIR\n", cmd);
        return 2;
    }
    ereport_opts eo = {.conninfo = db, .period = o->period, .kpis_path = o->kpis_path,
                       .issued_us = o->issued_us};
    return enterprise(cmd, &eo, fmt, out_path, out_dir, o->template_path);
}

int cli_report(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    report_opts o = {0};
    o.format = REPORT_HTML;
    const char *data_dir = NULL, *out_path = NULL, *out_dir = NULL, *fmt = "html";
    const char *scope = "site", *db = NULL, *time_s = NULL, *actor = NULL;
    bool no_record = false, verbose = false;
    int64_t at_size = 0;
    const cliopt opts[] = {
        CLIOPT_S("period", 0, &o.period), CLIOPT_S("format", 0, &fmt),
        CLIOPT_S("out", 0, &out_path), CLIOPT_S("out-dir", 0, &out_dir),
        CLIOPT_S("template", 0, &o.template_path), CLIOPT_S("kpis", 0, &o.kpis_path),
        CLIOPT_S("data-dir", 'd', &data_dir), CLIOPT_S("actor", 0, &actor),
        CLIOPT_S("time", 0, &time_s), CLIOPT_N("at-size", 0, &at_size, 1, INT64_MAX),
        CLIOPT_S("scope", 0, &scope), CLIOPT_S("db", 0, &db),
        CLIOPT_F("no-record", 0, &no_record), CLIOPT_F("verbose", 0, &verbose), CLIOPT_END};
    cliopt_args args = {0};
    adt_err err = {0};
    int prc = cliopt_parse(argc, argv, 1, opts, &args, &err);
    if (prc || args.npos) {
        if (!prc)
            fprintf(stderr, "auditd %s: unexpected argument '%s'\n", cmd, args.pos[0]);
        else
            fprintf(stderr, "auditd %s: %s\n", cmd, err.msg);
        usage(stderr);
        return 2;
    }
    o.record = !no_record;
    o.at_size = (uint64_t)at_size;
    if (verbose)
        log_set_level(LOG_DEBUG);
    if (time_s && cli_event_time(cmd, time_s, &o.issued_us))
        return 2;
    if (!o.period) {
        fprintf(stderr, "auditd %s: --period is required (e.g. --period 2026-Q3)\n", cmd);
        return 2;
    }
    if (strcmp(scope, "site") && strcmp(scope, "enterprise")) {
        fprintf(stderr, "auditd %s: --scope must be site or enterprise, not '%s'\n", cmd, scope);
        return 2;
    }
    if (!strcmp(scope, "enterprise"))
        return issue_enterprise(cmd, &o, db, fmt, out_path, out_dir);
    o.data_dir = cli_data_dir(data_dir);
    o.actor = cliopt_actor(actor);
    if (!strcmp(fmt, "all"))
        return issue_all(cmd, &o, out_dir);
    if (report_format_parse(fmt, &o.format)) {
        fprintf(stderr, "auditd %s: --format must be html, json, csv, oscal-xml, oscal-json, xml or all, not '%s'\n",
                cmd, fmt);
        return 2;
    }
    report_set *set = NULL;
    if (reports_compute(&o, &set, &err))
        return cli_fail(cmd, &err);
    int rc = issue(cmd, set, &o, out_path);
    reports_set_free(set);
    return rc;
}

/* ---------- ship ---------- */

static void ship_usage(FILE *f)
{
    fprintf(f,
            "usage: auditd ship --period PERIOD [--time T] [--kpis FILE] [--actor NAME]\n"
            "                   [--data-dir DIR]\n"
            "\n"
            "Make the period's batches for the central tier (docs/central.md, \"Shipments\"):\n"
            "the hourly telemetry rollups (per device and model version, one batch per\n"
            "month), the KPI inputs (numerators and denominators of the period, the previous\n"
            "period, the site's baseline period and each week) and the control status\n"
            "(posture per framework, findings with owners), computed like the report at one\n"
            "signed checkpoint; never raw readings. Each batch is kept in shipments.db and\n"
            "recorded\n"
            "in the ledger (site.shipment, with its SHA-256); the centre fetches it with\n"
            "GET /v1/shipments/{sha256} once it has mirrored that entry.\n"
            "  --time T   the time of the site.shipment events (RFC 3339; default now)\n"
            "Prints one line per batch: kind, sha256, bytes, ledger index.\n");
}

int cli_ship(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (cli_wants_help(argc, argv)) {
        ship_usage(stdout);
        return 0;
    }
    ship_opts o = {0};
    const char *data_dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool v = i + 1 < argc;
        if (!strcmp(a, "--period") && v)
            o.period = argv[++i];
        else if (!strcmp(a, "--kpis") && v)
            o.kpis_path = argv[++i];
        else if (!strcmp(a, "--actor") && v)
            o.actor = argv[++i];
        else if (!strcmp(a, "--data-dir") && v)
            data_dir = argv[++i];
        else if (!strcmp(a, "--time") && v) {
            if (cli_event_time(cmd, argv[++i], &o.time_us))
                return 2;
        } else {
            fprintf(stderr, "auditd %s: unknown or incomplete option '%s'\n", cmd, a);
            ship_usage(stderr);
            return 2;
        }
    }
    if (!o.period) {
        fprintf(stderr, "auditd %s: --period is required (e.g. --period 2026-Q3)\n", cmd);
        return 2;
    }
    o.data_dir = cli_data_dir(data_dir);
    ship_batch b[SHIP_BATCHES_MAX];
    size_t n = 0;
    adt_err err = {0};
    if (ship_period(&o, b, &n, &err))
        return cli_fail(cmd, &err);
    for (size_t i = 0; i < n; i++)
        printf("%s sha256=%s bytes=%llu recorded_at_index=%llu\n", b[i].kind, b[i].sha256,
               (unsigned long long)b[i].bytes, (unsigned long long)b[i].index);
    return 0;
}
