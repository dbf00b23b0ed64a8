/* cli_common.c: what every command shares (cli.h). */
#include "cli.h"

#include <stdarg.h>
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
