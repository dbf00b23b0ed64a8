#include "cli.h"

int cli_serve(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

int cli_agent(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

int cli_token(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

