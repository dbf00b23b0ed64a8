/* main.c: `auditd COMMAND ...`: dispatch to the command groups. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

typedef struct cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} cli_cmd;

static const cli_cmd commands[] = {
    {"init", cli_init, "create a new ledger (key pair, database) in the data directory"},
    {"append", cli_append, "append NDJSON events from stdin (all or nothing); prints each index"},
    {"verify", cli_verify, "check every entry, the hash chain, the tree and every checkpoint"},
    {"checkpoint", cli_checkpoint, "print the latest signed checkpoint"},
    {"key", cli_key, "print the verifier key line"},
    {"entry", cli_entry, "print entry N as JSON {index, leaf}"},
    {"proof", cli_proof, "print an inclusion or consistency proof as JSON {hashes}"},
    {"serve", cli_serve, "run the HTTP daemon"},
    {"agent", cli_agent, "add, revoke or list agents; send events as an agent; verify receipts"},
    {"token", cli_token, "create, revoke or list reader tokens"},
    {"person", cli_person, "add, reset, revoke or list the people of the web console"},
    {"workflow", cli_workflow, "run the automated workflows once (drift -> retraining, SLA escalation)"},
    {"simulate", cli_simulate, "generate a synthetic plant's telemetry and events"},
    {"profile", cli_profile, "load, list and show device profiles"},
    {"device", cli_device, "register devices and show their twins"},
    {"telemetry", cli_telemetry, "ingest telemetry, list or replay the quarantine"},
    {"dataset", cli_dataset, "define datasets from telemetry batches"},
    {"model", cli_model, "train, register, approve, deploy and list models"},
    {"lineage", cli_lineage, "trace a prediction or model back to its data"},
    {"drift", cli_drift, "compute feature drift against a model's training data"},
    {"controls", cli_controls, "import control catalogs and crosswalks; show control status"},
    {"raci", cli_raci, "check a RACI policy file"},
    {"policy", cli_policy, "load a RACI policy into the data directory"},
    {"report", cli_report, "write a quarterly value report or OSCAL assessment results"},
    {"witness", cli_witness, "act as a C2SP witness: key, logs to witness, cosigned checkpoints"},
    {"central", cli_central, "the central tier: mirror site ledgers into PostgreSQL with proofs"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: auditd COMMAND [OPTIONS]\n\n"
               "Governance and compliance audit service for industrial AIoT.\n"
               "Every command takes --data-dir DIR (default $AUDITD_DATA_DIR, else ./auditd-data).\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'auditd COMMAND --help' explains one command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("auditd 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "auditd: unknown command '%s'; 'auditd --help' lists the commands\n", argv[1]);
    return 2;
}
