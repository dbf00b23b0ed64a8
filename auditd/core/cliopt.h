/* cliopt.h: command-line options from a declarative table, and the defaults
 * every command shares (data directory, actor).
 *
 * A command lists its options once:
 *     const char *dir = NULL; bool quiet = false; int64_t batch = 10000;
 *     const cliopt opts[] = {
 *         CLIOPT_S("data-dir", 'd', &dir),
 *         CLIOPT_F("quiet", 'q', &quiet),
 *         CLIOPT_N("batch", 0, &batch, 1, 200000),
 *         CLIOPT_END};
 * and cliopt_parse fills the variables: "--name VALUE", "--name=VALUE",
 * "-n VALUE" for a short name, flags without a value; options and
 * positional arguments in any order, "--" ends the options, "-" alone is
 * positional (standard input). -h and --help set args->help. Numbers are
 * parsed strictly (numparse.h) and checked against [min, max]. */
#ifndef AUDITD_CLIOPT_H
#define AUDITD_CLIOPT_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLIOPT_LIST_MAX 256 /* values of one repeatable option */
#define CLIOPT_POS_MAX 256  /* positional arguments */

typedef enum cliopt_kind {
    CLIOPT_STR,  /* dst: const char **; the last one given wins */
    CLIOPT_FLAG, /* dst: bool *; set to true */
    CLIOPT_I64,  /* dst: int64_t *; within [min, max] */
    CLIOPT_LIST  /* dst: cliopt_list *; repeatable, in order */
} cliopt_kind;

typedef struct cliopt_list {
    const char *v[CLIOPT_LIST_MAX];
    size_t n;
} cliopt_list;

typedef struct cliopt {
    const char *name; /* long name without the dashes ("data-dir"); NULL ends the table */
    char short_name;  /* 'd' for -d, or 0 */
    cliopt_kind kind;
    void *dst;
    int64_t min, max; /* CLIOPT_I64 only */
} cliopt;

/* Table rows: a string, a flag, an integer in [lo, hi], a repeatable string. */
#define CLIOPT_S(name, sh, dst) {(name), (sh), CLIOPT_STR, (dst), 0, 0}
#define CLIOPT_F(name, sh, dst) {(name), (sh), CLIOPT_FLAG, (dst), 0, 0}
#define CLIOPT_N(name, sh, dst, lo, hi) {(name), (sh), CLIOPT_I64, (dst), (lo), (hi)}
#define CLIOPT_L(name, sh, dst) {(name), (sh), CLIOPT_LIST, (dst), 0, 0}
#define CLIOPT_END {NULL, 0, CLIOPT_STR, NULL, 0, 0}

typedef struct cliopt_args {
    const char *pos[CLIOPT_POS_MAX]; /* positional arguments, in order (borrowed from argv) */
    size_t npos;
    bool help;                       /* -h or --help was given */
} cliopt_args;

/* Parse argv[first..argc) with `opts`. ADT_OK, or ADT_EINVAL with a message
 * naming the option ("unknown option '--x'", "--batch needs a value",
 * "--batch must be an integer from 1 to 200000"). */
int cliopt_parse(int argc, char **argv, int first, const cliopt *opts, cliopt_args *args,
                 adt_err *err);

/* The data directory: `given` if not empty, else $AUDITD_DATA_DIR, else
 * "./auditd-data". */
const char *cliopt_data_dir(const char *given);

/* The actor recorded for an act at the command line: `given` if not empty,
 * else $AUDITD_ACTOR, else the login name $USER, else "operator". (An actor
 * is evidence of who acted; auditd's own computed records use their own.) */
const char *cliopt_actor(const char *given);

#endif
