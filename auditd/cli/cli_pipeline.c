#include "cli.h"

int cli_simulate(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

int cli_profile(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

int cli_device(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

int cli_telemetry(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

int cli_dataset(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

int cli_model(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

int cli_lineage(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

int cli_drift(int argc, char **argv)
{
    (void)argc;
    return cli_failf(argv[0], "not built yet");
}

