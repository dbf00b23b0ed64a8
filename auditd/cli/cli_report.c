/* cli_report.c: `auditd report`: issue a value report or OSCAL assessment results. */
#include "cli.h"

#include "log.h"
#include "numparse.h"
#include "reports.h"

#include <errno.h>
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

int cli_report(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    report_opts o = {0};
    o.record = true;
    o.format = REPORT_HTML;
    const char *data_dir = NULL, *out_path = NULL, *out_dir = NULL, *fmt = "html";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
#define VAL() (has_val ? argv[++i] : NULL)
        if (!strcmp(a, "--period") && has_val)
            o.period = VAL();
        else if (!strcmp(a, "--format") && has_val)
            fmt = VAL();
        else if (!strcmp(a, "--out") && has_val)
            out_path = VAL();
        else if (!strcmp(a, "--out-dir") && has_val)
            out_dir = VAL();
        else if (!strcmp(a, "--template") && has_val)
            o.template_path = VAL();
        else if (!strcmp(a, "--kpis") && has_val)
            o.kpis_path = VAL();
        else if (!strcmp(a, "--data-dir") && has_val)
            data_dir = VAL();
        else if (!strcmp(a, "--actor") && has_val)
            o.actor = VAL();
        else if (!strcmp(a, "--time") && has_val) {
            if (cli_event_time(cmd, VAL(), &o.issued_us))
                return 2;
        }
        else if (!strcmp(a, "--at-size") && has_val) {
            uint64_t n;
            const char *v = VAL();
            if (num_u64(v, UINT64_MAX, &n) || n == 0)
                return cli_failf(cmd, "--at-size wants a tree size >= 1, not '%s'", v), 2;
            o.at_size = n;
        } else if (!strcmp(a, "--no-record"))
            o.record = false;
        else if (!strcmp(a, "--verbose"))
            log_set_level(LOG_DEBUG);
        else {
            fprintf(stderr, "auditd %s: unknown or incomplete option '%s'\n", cmd, a);
            usage(stderr);
            return 2;
        }
#undef VAL
    }
    if (!o.period) {
        fprintf(stderr, "auditd %s: --period is required (e.g. --period 2026-Q3)\n", cmd);
        return 2;
    }
    o.data_dir = cli_data_dir(data_dir);
    if (!o.actor) {
        const char *u = getenv("USER");
        o.actor = u && *u ? u : "auditd";
    }
    if (!strcmp(fmt, "all")) {
        if (!out_dir)
            return cli_failf(cmd, "--format all needs --out-dir DIR"), 2;
        if (mkdir(out_dir, 0755) && errno != EEXIST)
            return cli_failf(cmd, "cannot create %s: %s", out_dir, strerror(errno));
        /* One computation, at one checkpoint, for every format: they show the
         * same data. */
        report_set *set = NULL;
        adt_err err = {0};
        if (reports_compute(&o, &set, &err))
            return cli_fail(cmd, &err);
        static const report_format all[] = {REPORT_HTML, REPORT_OSCAL_XML, REPORT_OSCAL_JSON,
                                            REPORT_JSON, REPORT_CSV};
        int rc = 0;
        for (size_t i = 0; i < sizeof all / sizeof all[0] && !rc; i++) {
            char path[4096];
            o.format = all[i];
            if (snprintf(path, sizeof path, "%s/report-%s.%s", out_dir, o.period,
                         report_format_ext(all[i])) >= (int)sizeof path)
                rc = cli_failf(cmd, "--out-dir path too long");
            else
                rc = issue(cmd, set, &o, path);
        }
        reports_set_free(set);
        return rc;
    }
    if (report_format_parse(fmt, &o.format)) {
        fprintf(stderr, "auditd %s: --format must be html, json, csv, oscal-xml, oscal-json, xml or all, not '%s'\n",
                cmd, fmt);
        return 2;
    }
    report_set *set = NULL;
    adt_err err = {0};
    if (reports_compute(&o, &set, &err))
        return cli_fail(cmd, &err);
    int rc = issue(cmd, set, &o, out_path);
    reports_set_free(set);
    return rc;
}
