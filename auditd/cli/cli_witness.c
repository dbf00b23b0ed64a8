/* cli_witness.c: `auditd witness ...` (this data directory as a C2SP witness)
 * and `auditd verify --trusted-checkpoint` (the ledger against a checkpoint
 * kept outside it). See docs/ledger.md, "Witnesses". */
#include "cli.h"

#include "cosig.h"
#include "ledger.h"
#include "rfc3339.h"
#include "trustcp.h"
#include "witness_sqlite.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char witness_usage[] =
    "usage: auditd witness init --name NAME [--data-dir DIR]\n"
    "       auditd witness key [--data-dir DIR]\n"
    "       auditd witness add-log --origin ORIGIN --key LOG_VKEY [--data-dir DIR]\n"
    "       auditd witness latest ORIGIN [--data-dir DIR]\n"
    "       auditd witness logs [--data-dir DIR]\n"
    "Make this data directory a C2SP transparency-log witness (c2sp.org/tlog-witness):\n"
    "'auditd serve' then answers POST /add-checkpoint, cosigning the checkpoints of the\n"
    "logs registered here after checking their signature and consistency.\n"
    "  init     create the witness key (witness.key, mode 0600; not the ledger key) and\n"
    "           witness.db; NAME is the cosigner name, e.g. witness.example/w1\n"
    "  key      print the witness's verifier key (signature type 0x04), for the logs'\n"
    "           --witness-key\n"
    "  add-log  trust LOG_VKEY (the log's 'auditd key', type 0x01) for checkpoints whose\n"
    "           first line is ORIGIN\n"
    "  latest   print the newest checkpoint cosigned for ORIGIN, with its cosignature line\n"
    "  logs     list the registered logs: origin, latest cosigned size (- if none), key\n";

int cli_witness(int argc, char **argv)
{
    int status;
    if (cli_no_subcommand(argc, argv, witness_usage, &status))
        return status;
    const char *sub = argv[1];
    char cmd[64];
    snprintf(cmd, sizeof cmd, "witness %s", sub);
    const char *dir = NULL, *name = NULL, *origin = NULL, *key = NULL;
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &dir), CLIOPT_S("name", 0, &name),
                           CLIOPT_S("origin", 0, &origin), CLIOPT_S("key", 0, &key), CLIOPT_END};
    cliopt_args args;
    if (cli_parse_max(cmd, argc, argv, 2, opts, &args, 1, witness_usage, &status))
        return status;
    const char *pos = args.npos ? args.pos[0] : NULL;
    dir = cli_data_dir(dir);
    adt_err err = {0};
    /* The arguments each subcommand needs; init creates the store. */
    if (!strcmp(sub, "init")) {
        if (!name || pos) {
            fprintf(stderr, "auditd witness init: need --name NAME\n%s", witness_usage);
            return 2;
        }
        if (witness_sqlite_create(dir, name, NULL, &err))
            return cli_fail("witness init", &err);
    } else if (!strcmp(sub, "key")) {
        if (pos || name || origin || key)
            return cli_failf("witness key", "takes no arguments but --data-dir") + 1;
    } else if (!strcmp(sub, "add-log")) {
        if (!origin || !key || pos) {
            fprintf(stderr, "auditd witness add-log: need --origin ORIGIN and --key LOG_VKEY\n%s",
                    witness_usage);
            return 2;
        }
    } else if (!strcmp(sub, "latest")) {
        if (!pos || name || origin || key) {
            fprintf(stderr, "auditd witness latest: need ORIGIN\n%s", witness_usage);
            return 2;
        }
    } else if (strcmp(sub, "logs")) {
        fprintf(stderr, "auditd witness: unknown subcommand '%s'\n%s", sub, witness_usage);
        return 2;
    }
    witness_sqlite *ws = NULL;
    if (witness_sqlite_open(dir, &ws, &err))
        return cli_fail(cmd, &err);
    int rc = 0;
    if (!strcmp(sub, "init")) {
        note_signer *s = NULL;
        if (witness_sqlite_signer(ws, dir, &s, &err)) {
            rc = cli_fail("witness init", &err);
        } else {
            cosig_key k;
            cosig_key_make(name, note_signer_pub(s), &k, &err);
            printf("initialised witness %s in %s\nwitness key: %s\n", name, dir, k.vkey);
            note_signer_free(s);
        }
    } else if (!strcmp(sub, "key")) {
        note_signer *s = NULL;
        cosig_key k;
        if (witness_sqlite_signer(ws, dir, &s, &err) ||
            cosig_key_make(witness_sqlite_name(ws), note_signer_pub(s), &k, &err))
            rc = cli_fail("witness key", &err);
        else
            printf("%s\n", k.vkey);
        note_signer_free(s);
    } else if (!strcmp(sub, "add-log")) {
        if (witness_sqlite_add_log(ws, origin, key, &err))
            rc = cli_fail("witness add-log", &err);
        else
            printf("witnessing %s with key %s\n", origin, key);
    } else if (!strcmp(sub, "latest")) {
        buf note;
        buf_init(&note, NOTE_TEXT_MAX + COSIG_LINE_MAX + 1);
        uint64_t size = 0;
        if (witness_sqlite_latest(ws, pos, &note, &size, &err))
            rc = cli_fail("witness latest", &err);
        else
            fputs(note.data, stdout);
        buf_free(&note);
    } else {
        buf out;
        buf_init(&out, 16u << 20);
        if (witness_sqlite_list(ws, &out, &err))
            rc = cli_fail("witness logs", &err);
        else if (out.len)
            fputs(out.data, stdout);
        buf_free(&out);
    }
    witness_sqlite_close(ws);
    return rc;
}

/* ---------- verify --trusted-checkpoint ---------- */

int cli_trusted_take(int *argc, char **argv, cli_trusted *t)
{
    memset(t, 0, sizeof *t);
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < *argc;
        if (!strcmp(a, "--trusted-checkpoint") || !strcmp(a, "--witness-key") ||
            !strcmp(a, "--log-key")) {
            if (!more) {
                fprintf(stderr, "auditd verify: %s needs a value\n", a);
                return -1;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--trusted-checkpoint"))
                t->file = v;
            else if (!strcmp(a, "--log-key"))
                t->log_key = v;
            else if (t->nw == CLI_TRUSTED_WITNESSES_MAX) {
                fprintf(stderr, "auditd verify: at most %d --witness-key\n", CLI_TRUSTED_WITNESSES_MAX);
                return -1;
            } else {
                t->wkeys[t->nw++] = v;
            }
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    if (!t->file && (t->nw || t->log_key)) {
        fprintf(stderr, "auditd verify: --witness-key and --log-key go with --trusted-checkpoint FILE\n");
        return -1;
    }
    return 0;
}

int cli_trusted_check(const cli_trusted *t, const char *data_dir)
{
    cosig_key keys[CLI_TRUSTED_WITNESSES_MAX];
    adt_err err = {0};
    for (int i = 0; i < t->nw; i++)
        if (cosig_key_parse(t->wkeys[i], &keys[i], &err))
            return cli_failf("verify", "--witness-key %s: %s", t->wkeys[i], err.msg);
    FILE *f = fopen(t->file, "rb");
    if (!f)
        return cli_failf("verify", "cannot open the trusted checkpoint %s", t->file);
    buf note;
    buf_init(&note, NOTE_TEXT_MAX + 1);
    int rc = cli_read_all(f, &note, &err);
    fclose(f);
    if (rc) {
        buf_free(&note);
        return cli_fail("verify", &err);
    }
    trustcp_result *res = malloc(sizeof *res);
    if (!res) {
        buf_free(&note);
        return cli_failf("verify", "out of memory");
    }
    rc = trustcp_check(data_dir, note.data ? note.data : "", note.len, t->log_key, keys,
                       (size_t)t->nw, res, &err);
    buf_free(&note);
    if (rc) {
        free(res);
        return cli_fail("verify", &err);
    }
    if (!res->ok) {
        fprintf(stderr, "auditd verify: FAILED: %s\n", res->problem);
        free(res);
        return 1;
    }
    char rb[48];
    sodium_bin2base64(rb, sizeof rb, res->root, 32, sodium_base64_VARIANT_ORIGINAL);
    printf("trusted checkpoint ok: the ledger (%llu entries) holds the tree of size %llu with root "
           "%s\n", (unsigned long long)res->ledger_size, (unsigned long long)res->size, rb);
    for (size_t i = 0; i < res->nwitnesses; i++) {
        char ts[40];
        if (res->timestamps[i] > (uint64_t)(INT64_MAX / 1000000) ||
            rfc3339_format_s((int64_t)res->timestamps[i] * 1000000, ts, sizeof ts))
            snprintf(ts, sizeof ts, "time %llu", (unsigned long long)res->timestamps[i]);
        printf("  cosigned by %s at %s\n", keys[i].name, ts);
    }
    free(res);
    return 0;
}
