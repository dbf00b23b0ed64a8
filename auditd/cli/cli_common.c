/* cli_common.c: what every command shares (cli.h). */
#include "cli.h"

#include "rfc3339.h"

#include <stdarg.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

const char *cli_data_dir(const char *opt)
{
    return cliopt_data_dir(opt);
}

bool cli_parse(const char *cmd, int argc, char **argv, int first, const cliopt *opts,
               cliopt_args *args, const char *usage, int *status)
{
    adt_err err;
    if (cliopt_parse(argc, argv, first, opts, args, &err) != ADT_OK) {
        fprintf(stderr, "auditd %s: %s\n%s", cmd, err.msg, usage);
        *status = 2;
        return true;
    }
    if (args->help) {
        fputs(usage, stdout);
        *status = 0;
        return true;
    }
    return false;
}

bool cli_parse_max(const char *cmd, int argc, char **argv, int first, const cliopt *opts,
                   cliopt_args *args, size_t max_pos, const char *usage, int *status)
{
    if (cli_parse(cmd, argc, argv, first, opts, args, usage, status))
        return true;
    if (args->npos > max_pos) {
        fprintf(stderr, "auditd %s: unexpected argument '%s'\n%s", cmd, args->pos[max_pos],
                usage);
        *status = 2;
        return true;
    }
    return false;
}

bool cli_parse_dir(const char *cmd, int argc, char **argv, int first, const char *usage,
                   const char **dir, int *status)
{
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', dir), CLIOPT_END};
    cliopt_args args;
    return cli_parse_max(cmd, argc, argv, first, opts, &args, 0, usage, status);
}

const char *cli_actor(char *out, size_t cap)
{
    snprintf(out, cap, "%s", cliopt_actor(NULL));
    return out;
}

int cli_fail(const char *cmd, const adt_err *err)
{
    fprintf(stderr, "auditd %s: %s\n", cmd, err && err->msg[0] ? err->msg : "failed");
    return 1;
}

int cli_failf(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "auditd %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

bool cli_no_subcommand(int argc, char **argv, const char *usage, int *status)
{
    if (argc >= 2 && !cli_wants_help(argc, argv))
        return false;
    fputs(usage, argc < 2 ? stderr : stdout);
    *status = argc < 2 ? 2 : 0;
    return true;
}

int cli_event_time(const char *cmd, const char *t, int64_t *out_us)
{
    *out_us = 0;
    if (!t)
        return 0;
    if (rfc3339_parse(t, strlen(t), out_us) || *out_us <= 0) {
        fprintf(stderr,
                "auditd %s: --time '%s' is not an RFC 3339 time after 1970 "
                "(e.g. 2026-07-02T06:00:00Z)\n",
                cmd, t);
        return 2;
    }
    return 0;
}

int cli_output_text(const char *cmd, const char *format, bool *text)
{
    if (!format) {
        *text = isatty(STDOUT_FILENO) == 1;
        return 0;
    }
    if (!strcmp(format, "text") || !strcmp(format, "json")) {
        *text = !strcmp(format, "text");
        return 0;
    }
    fprintf(stderr, "auditd %s: --format must be text or json, not '%s'\n", cmd, format);
    return 2;
}

void cli_print_pretty(const cJSON *j)
{
    char *s = cJSON_Print(j);
    if (!s)
        return;
    /* cJSON indents with tabs: two spaces read better in a terminal */
    bool lead = true;
    for (const char *p = s; *p; p++) {
        if (*p == '\n')
            lead = true;
        else if (*p != '\t')
            lead = false;
        if (*p == '\t')
            fputs(lead ? "  " : " ", stdout); /* indentation, or after "key": */
        else
            putchar(*p);
    }
    putchar('\n');
    free(s);
}

int cli_read_all(FILE *f, buf *b, adt_err *err)
{
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        int rc = buf_append(b, tmp, n);
        if (rc)
            return adt_fail(err, rc, "input is larger than the limit of %zu bytes", b->max);
    }
    return ferror(f) ? adt_fail(err, ADT_EIO, "reading input failed") : ADT_OK;
}
