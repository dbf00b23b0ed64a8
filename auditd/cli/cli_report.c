#include "cli.h"

int cli_report(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

