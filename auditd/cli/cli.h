/* cli.h: the `auditd` command line. Each file cli_<area>.c holds the
 * commands of one area (listed below by file); main.c dispatches on argv[1]
 * to one entry point per command. Entry points get argv with argv[0] = the
 * command name and return the process exit status (0 ok, 1 failure, 2 usage
 * error). Options are parsed with cliopt.h (cli_parse, cli_parse_dir), except
 * those of `auditd serve`, which are the keys of its configuration table
 * (srvcfg.h: a flag --max-body-bytes sets the key max_body_bytes). */
#ifndef AUDITD_CLI_H
#define AUDITD_CLI_H

#include "buf.h"
#include "cliopt.h"
#include "server.h"
#include "status.h"

#include <cjson/cJSON.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ledger (cli_ledger.c) */
int cli_init(int argc, char **argv);
int cli_append(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_checkpoint(int argc, char **argv);
int cli_key(int argc, char **argv);
int cli_entry(int argc, char **argv);
int cli_proof(int argc, char **argv);
/* daemon, agents, tokens (cli_server.c) */
int cli_serve(int argc, char **argv);
/* The pieces of `auditd serve` that `auditd central serve` reuses: parse its
 * options (returns 0 or an exit status), then run the daemon until SIGTERM or
 * SIGINT, with the server's extensions and hooks around it. */
typedef struct cli_serve_hooks {
    const server_ext *ext;
    int (*started)(void *ctx, adt_err *err); /* after the daemon listens; non-zero stops it */
    void (*stopping)(void *ctx);             /* on the signal, before the daemon drains */
    void *ctx;
} cli_serve_hooks;
int cli_serve_parse(const char *cmd, int argc, char **argv, const char **dir, srvcfg *cfg);
int cli_serve_run(const char *cmd, const char *dir, const srvcfg *cfg, const cli_serve_hooks *h);
int cli_agent(int argc, char **argv);
int cli_token(int argc, char **argv);
/* people of the web console and their workflows (cli_console.c) */
int cli_person(int argc, char **argv);
int cli_workflow(int argc, char **argv);
/* pipeline (cli_pipeline.c) */
int cli_simulate(int argc, char **argv);
int cli_profile(int argc, char **argv);
int cli_device(int argc, char **argv);
int cli_telemetry(int argc, char **argv);
int cli_dataset(int argc, char **argv);
int cli_lineage(int argc, char **argv);
/* models (cli_model.c) */
int cli_model(int argc, char **argv);
int cli_drift(int argc, char **argv);
/* compliance (cli_controls.c) */
int cli_controls(int argc, char **argv);
int cli_raci(int argc, char **argv);
int cli_policy(int argc, char **argv);
/* `auditd controls status`: the rules engine's report (cli_rules.c) */
int cli_controls_status(int argc, char **argv);
/* reports (cli_report.c) */
int cli_report(int argc, char **argv);
int cli_ship(int argc, char **argv);
/* witness (cli_witness.c) */
int cli_witness(int argc, char **argv);
/* `verify --trusted-checkpoint FILE [--witness-key VKEY]... [--log-key VKEY]`
 * (cli_witness.c): cli_trusted_take moves those options out of argv (so the
 * rest parses as before; -1 on a usage error), cli_trusted_check runs the
 * check once plain verify has passed and returns the exit status. */
#define CLI_TRUSTED_WITNESSES_MAX 16
typedef struct cli_trusted {
    const char *file;
    const char *log_key;
    const char *wkeys[CLI_TRUSTED_WITNESSES_MAX];
    int nw;
} cli_trusted;
int cli_trusted_take(int *argc, char **argv, cli_trusted *t);
int cli_trusted_check(const cli_trusted *t, const char *data_dir);
/* the central tier on PostgreSQL (cli_central.c) */
int cli_central(int argc, char **argv);

/* The data directory: `opt` if given, else $AUDITD_DATA_DIR, else ./auditd-data
 * (cliopt_data_dir). */
const char *cli_data_dir(const char *opt);
/* Parse argv[first..argc) with the option table `opts` (cliopt.h). Returns
 * true when the command is done, with *status its exit status: 0 after
 * printing `usage` for --help, 2 after a usage error (the message and the
 * usage on stderr). False: go on with the options and args->pos filled. */
bool cli_parse(const char *cmd, int argc, char **argv, int first, const cliopt *opts,
               cliopt_args *args, const char *usage, int *status);
/* cli_parse, then more than `max_pos` positional arguments is a usage error
 * (the message and the usage on stderr, *status 2). */
bool cli_parse_max(const char *cmd, int argc, char **argv, int first, const cliopt *opts,
                   cliopt_args *args, size_t max_pos, const char *usage, int *status);
/* For commands whose only option is --data-dir and that take no argument:
 * cli_parse_max with no positional argument. */
bool cli_parse_dir(const char *cmd, int argc, char **argv, int first, const char *usage,
                   const char **dir, int *status);
/* The actor of events the CLI records when none is given: cliopt_actor(NULL)
 * ($AUDITD_ACTOR, else $USER, else "operator") copied into `out`. */
const char *cli_actor(char *out, size_t cap);
/* Print "auditd CMD: <message>" to stderr; returns 1 (the failure exit status). */
int cli_fail(const char *cmd, const adt_err *err);
int cli_failf(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True if argv holds -h or --help. */
bool cli_wants_help(int argc, char **argv);
/* For commands made of subcommands (`auditd GROUP SUB ...`): true when there is
 * nothing to run, with *status its exit status: 2 after printing `usage` on
 * stderr when no SUB is given, 0 after printing it on stdout for -h/--help. */
bool cli_no_subcommand(int argc, char **argv, const char *usage, int *status);
/* `--time T` of the commands that record a decision or result made at
 * another time than now (simulations, late records): T must be RFC 3339.
 * NULL gives 0 (= now). Prints a usage error and returns 2 on a bad T. */
int cli_event_time(const char *cmd, const char *t, int64_t *out_us);
/* `--format text|json` of the commands that print records: NULL picks text on
 * a terminal and json otherwise (scripts keep getting JSON). Sets *text;
 * prints a usage error and returns 2 on another value. */
int cli_output_text(const char *cmd, const char *format, bool *text);
/* Print JSON for people: indented by two spaces, one member per line. */
void cli_print_pretty(const cJSON *j);
/* Read all of `f` into `b` (bounded by b->max). Kept for cli_witness.c;
 * new code reads files with afile_read (afile.h). */
int cli_read_all(FILE *f, buf *b, adt_err *err);

#endif
