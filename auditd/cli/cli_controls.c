#include "cli.h"

int cli_controls(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

int cli_raci(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

int cli_policy(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

