/* cli_ledger.c: init, append, verify, checkpoint, key, entry, proof. */
#include "cli.h"

#include "afile.h"
#include "codec.h"
#include "cosigdb.h"
#include "event.h"
#include "evsink.h"
#include "ledger.h"
#include "numparse.h"
#include "state.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define APPEND_MAX_INPUT (256u << 20)

/* The options of the ledger commands, each taking the ones it needs. */
typedef struct opts {
    const char *data_dir;
    const char *origin;
    const char *source;
    const char *format;
    const char *time;
    int64_t tree_size; /* -1: not given */
    bool quiet;
    bool cosigned;
    bool record;
    cliopt_args args;  /* positional arguments */
} opts;

/* Parse the options (the data directory defaulted). Returns the number of
 * positional arguments (o->args.pos), or -1 after a usage error (more than
 * `max_pos` arguments is one); --help prints `usage` and exits 0. */
static int parse_opts(int argc, char **argv, opts *o, const char *usage, size_t max_pos)
{
    memset(o, 0, sizeof *o);
    o->tree_size = -1;
    const cliopt table[] = {CLIOPT_S("data-dir", 'd', &o->data_dir),
                            CLIOPT_S("origin", 0, &o->origin),
                            CLIOPT_S("source", 0, &o->source),
                            CLIOPT_N("tree-size", 0, &o->tree_size, 0, INT64_MAX),
                            CLIOPT_F("quiet", 'q', &o->quiet),
                            CLIOPT_F("record", 0, &o->record),
                            CLIOPT_F("cosigned", 0, &o->cosigned),
                            CLIOPT_S("format", 0, &o->format),
                            CLIOPT_S("time", 0, &o->time),
                            CLIOPT_END};
    int status;
    if (cli_parse(argv[0], argc, argv, 1, table, &o->args, usage, &status)) {
        if (status == 0)
            exit(0);
        return -1;
    }
    o->data_dir = cli_data_dir(o->data_dir);
    if (o->args.npos > max_pos) {
        cli_failf(argv[0], "unexpected argument '%s'", o->args.pos[max_pos]);
        return -1;
    }
    return (int)o->args.npos;
}

int cli_init(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd init [--data-dir DIR] [--origin NAME]\n"
        "Create a ledger in DIR: an Ed25519 key pair (ledger.key, mode 0600) and ledger.db.\n"
        "NAME is the checkpoint origin and key name (default auditd.local/ledger).\n";
    opts o;
    if (parse_opts(argc, argv, &o, usage, 0) < 0)
        return 2;
    adt_err err;
    if (ledger_init(o.data_dir, o.origin ? o.origin : "auditd.local/ledger", &err))
        return cli_fail("init", &err);
    ledger *lg;
    if (ledger_open(o.data_dir, LEDGER_RDONLY, &lg, &err))
        return cli_fail("init", &err);
    printf("initialised ledger in %s\nverifier key: %s\n", o.data_dir, ledger_key_line(lg));
    ledger_close(lg);
    return 0;
}

int cli_append(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd append [--data-dir DIR] [--source NAME] < events.ndjson\n"
        "Append NDJSON events (one JSON object a line; blank lines ignored) as one\n"
        "all-or-nothing batch. Each event needs type, time (RFC 3339) and actor\n"
        "(docs/events.md). Prints the index of each new entry.\n";
    opts o;
    if (parse_opts(argc, argv, &o, usage, 0) < 0)
        return 2;
    adt_err err;
    buf in;
    buf_init(&in, APPEND_MAX_INPUT);
    if (afile_read("-", APPEND_MAX_INPUT, &in, &err)) {
        buf_free(&in);
        return cli_fail("append", &err);
    }
    /* Validate every line first: a bad line appends nothing. */
    buf canon;
    buf_init(&canon, APPEND_MAX_INPUT * 2);
    size_t n = 0, cap = 0;
    size_t *offs = NULL;
    int rc = 0;
    size_t line = 0;
    for (char *p = in.data ? in.data : "", *end = p + in.len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        size_t k = 0;
        while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
            k++;
        if (k < len) {
            if (n + 1 >= cap) {
                cap = cap ? cap * 2 : 1024;
                size_t *no = realloc(offs, cap * sizeof *no);
                if (!no) {
                    rc = cli_failf("append", "out of memory");
                    break;
                }
                offs = no;
            }
            offs[n] = canon.len;
            if (event_validate(p, len, NULL, &canon, NULL, &err)) {
                rc = cli_failf("append", "line %zu: %s; nothing was appended", line, err.msg);
                break;
            }
            n++;
            offs[n] = canon.len;
        }
        p += len + (nl ? 1 : 0);
    }
    buf_free(&in);
    if (!rc && n == 0)
        rc = cli_failf("append", "no events on standard input");
    ledger_item *items = NULL;
    char *types = NULL;
    if (!rc) {
        items = calloc(n, sizeof *items);
        types = calloc(n, EVENT_TYPE_MAX + 1);
        if (!items || !types)
            rc = cli_failf("append", "out of memory");
    }
    for (size_t k = 0; !rc && k < n; k++) {
        const char *ev = canon.data + offs[k];
        size_t el = offs[k + 1] - offs[k];
        const char *tv;
        size_t tl;
        canon_member(ev, el, "type", &tv, &tl);
        memcpy(types + k * (EVENT_TYPE_MAX + 1), tv + 1, tl - 2);
        items[k] = (ledger_item){.source = o.source ? o.source : "cli",
                                 .type = types + k * (EVENT_TYPE_MAX + 1),
                                 .payload = ev,
                                 .payload_len = el,
                                 .payload_canonical = true, /* from event_validate */
                                 .writer = EVENT_WRITER_ADMIN};
    }
    if (!rc) {
        evsink s = {.data_dir = o.data_dir};
        ledger_commit c;
        if (evsink_append(&s, items, n, NULL, &c, &err))
            rc = cli_fail("append", &err);
        else if (!o.quiet)
            for (uint64_t k = 0; k < c.count; k++)
                printf("%llu\n", (unsigned long long)(c.first + k));
    }
    free(items);
    free(types);
    free(offs);
    buf_free(&canon);
    return rc;
}

/* Append the result as a ledger.verify event (writer auditd: the check was
 * computed here, not claimed by anyone). Returns 0 or the exit status 1. */
static int record_verify(const opts *o, const ledger_verify_result *res, int64_t at_us)
{
    adt_err err = {0};
    buf f;
    buf_init(&f, 4096);
    ledger *lg = NULL;
    char actor[100];
    int rc = state_verify_fields(&f, res);
    if (rc)
        adt_fail(&err, rc, "the verification result is too large to record");
    if (!rc)
        rc = ledger_open(o->data_dir, LEDGER_RDWR, &lg, &err);
    if (!rc)
        rc = state_audit_event_at(lg, "ledger.verify", cli_actor(actor, sizeof actor), f.data,
                                  at_us, &err);
    ledger_close(lg);
    buf_free(&f);
    if (rc) {
        adt_err_prefix(&err, "recording the result (--record)");
        return cli_fail("verify", &err);
    }
    fprintf(stderr, "auditd verify: result recorded in the ledger as a ledger.verify event\n");
    return 0;
}

int cli_verify(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd verify [--data-dir DIR] [--record [--time T]]\n"
        "                     [--trusted-checkpoint FILE [--witness-key VKEY]... [--log-key VKEY]]\n"
        "Recompute every leaf hash, the hash chain (seq, prev), every stored tree node and\n"
        "the root at every stored checkpoint; check every checkpoint's signature, the\n"
        "immutability triggers and the recorded batch identities. Exit 0 if all hold; else\n"
        "name the first bad index, exit 1.\n"
        "--record  append the result (pass or fail) as a ledger.verify event written by\n"
        "          auditd: the evidence the ledger-verified-daily rule counts. Off by default,\n"
        "          so verifying a copy (a backup, an auditor's copy without the key) writes\n"
        "          nothing; the daemon records its own scheduled verify.\n"
        "--time T  (with --record) the event's time, RFC 3339: the verification of the\n"
        "          ledger as it stands now, recorded for another time of a simulation's\n"
        "          clock (scripts/demo.sh verifies at each simulated day's end); the\n"
        "          ledger's recorded_at stays the real time.\n"
        "This cannot see a tail cut with its checkpoints, or a history re-signed with the\n"
        "ledger key. --trusted-checkpoint FILE (a checkpoint kept elsewhere: a witness's\n"
        "'auditd witness latest', a receipt's) also checks FILE's log signature (the\n"
        "ledger's key, or --log-key) and the cosignature of each --witness-key, then that\n"
        "the ledger holds a tree of FILE's size with exactly FILE's root.\n";
    cli_trusted trusted;
    if (cli_trusted_take(&argc, argv, &trusted))
        return 2;
    opts o;
    if (parse_opts(argc, argv, &o, usage, SIZE_MAX) < 0)
        return 2;
    int64_t at = 0;
    if (o.time && !o.record)
        return cli_failf("verify", "--time only goes with --record") + 1;
    if (cli_event_time("verify", o.time, &at))
        return 2;
    adt_err err;
    ledger_verify_result res;
    if (ledger_verify(o.data_dir, &res, &err))
        return cli_fail("verify", &err);
    int rec = o.record ? record_verify(&o, &res, at) : 0;
    if (!res.ok) {
        if (res.has_bad_index)
            fprintf(stderr, "auditd verify: FAILED at index %llu: %s\n",
                    (unsigned long long)res.bad_index, res.problem);
        else
            fprintf(stderr, "auditd verify: FAILED: %s\n", res.problem);
        return 1;
    }
    char hex[65];
    codec_hex(res.root, MERKLE_HASH_LEN, hex, sizeof hex);
    printf("ok: %llu entries, %llu checkpoints verified; root %s\n",
           (unsigned long long)res.entries, (unsigned long long)res.checkpoints, hex);
    if (trusted.file) {
        int t = cli_trusted_check(&trusted, o.data_dir);
        return t ? t : rec;
    }
    return rec;
}

static int open_ro(const char *cmd, const opts *o, ledger **lg)
{
    adt_err err;
    if (ledger_open(o->data_dir, LEDGER_RDONLY, lg, &err))
        return cli_fail(cmd, &err);
    return 0;
}

int cli_checkpoint(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd checkpoint [--data-dir DIR] [--cosigned]\n"
        "Print the latest signed checkpoint (a C2SP signed note) followed by the witnesses'\n"
        "cosignatures it has (cosigs.db; see 'auditd serve --witness'). --cosigned: the\n"
        "newest checkpoint that has cosignatures instead (fails if there is none).\n";
    opts o;
    ledger *lg;
    if (parse_opts(argc, argv, &o, usage, 0) < 0)
        return 2;
    adt_err err = {0};
    buf out;
    buf_init(&out, COSIGDB_NOTE_MAX);
    int rc;
    if (o.cosigned) {
        cosigdb *db = NULL;
        rc = cosigdb_open(o.data_dir, false, &db, &err);
        if (!rc)
            rc = cosigdb_latest(db, &out, NULL, &err);
        cosigdb_close(db);
    } else {
        if (open_ro("checkpoint", &o, &lg)) {
            buf_free(&out);
            return 1;
        }
        rc = cosigdb_checkpoint(o.data_dir, lg, true, 0, &out, NULL, NULL, &err);
        ledger_close(lg);
    }
    if (!rc)
        fputs(out.data, stdout);
    buf_free(&out);
    return rc ? cli_fail("checkpoint", &err) : 0;
}

int cli_key(int argc, char **argv)
{
    static const char usage[] = "usage: auditd key [--data-dir DIR]\n"
                                "Print the verifier key line: <name>+<key id>+<base64 key>.\n";
    opts o;
    ledger *lg;
    if (parse_opts(argc, argv, &o, usage, 0) < 0)
        return 2;
    if (open_ro("key", &o, &lg))
        return 1;
    printf("%s\n", ledger_key_line(lg));
    ledger_close(lg);
    return 0;
}

int cli_entry(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd entry N [--format text|json] [--data-dir DIR]\n"
        "Print entry N. text (the default on a terminal): its RFC 6962 leaf hash and the\n"
        "leaf, indented. json (the default otherwise):\n"
        "{\"index\":N,\"leaf\":\"<base64 of the exact leaf bytes>\"}.\n";
    opts o;
    int n = parse_opts(argc, argv, &o, usage, 1);
    if (n < 0)
        return 2;
    bool text;
    if (cli_output_text("entry", o.format, &text))
        return 2;
    uint64_t idx;
    if (n != 1 || num_u64(o.args.pos[0], INT64_MAX, &idx))
        return cli_failf("entry", "expected one entry index (a non-negative integer)") + 1;
    ledger *lg;
    if (open_ro("entry", &o, &lg))
        return 1;
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    adt_err err;
    merkle_hash lh;
    int rc = ledger_entry(lg, idx, &leaf, &err);
    if (!rc && text)
        rc = ledger_leaf_hash(lg, idx, lh, &err);
    ledger_close(lg);
    if (rc) {
        buf_free(&leaf);
        return cli_fail("entry", &err);
    }
    if (text) {
        cJSON *j = cJSON_ParseWithLength(leaf.data, leaf.len);
        char hex[2 * MERKLE_HASH_LEN + 1];
        codec_hex(lh, MERKLE_HASH_LEN, hex, sizeof hex);
        printf("entry %llu, leaf hash %s (RFC 6962)\n", (unsigned long long)idx, hex);
        if (j)
            cli_print_pretty(j);
        else
            printf("%.*s\n", (int)leaf.len, leaf.data);
        cJSON_Delete(j);
        buf_free(&leaf);
        return 0;
    }
    size_t bl = CODEC_B64_LEN(leaf.len);
    char *b64 = malloc(bl);
    if (!b64) {
        buf_free(&leaf);
        return cli_failf("entry", "out of memory");
    }
    codec_b64(leaf.data, leaf.len, b64, bl);
    printf("{\"index\":%llu,\"leaf\":\"%s\"}\n", (unsigned long long)idx, b64);
    free(b64);
    buf_free(&leaf);
    return 0;
}

static void print_hashes(const merkle_hash *h, size_t n, uint64_t a, uint64_t b, bool incl)
{
    printf("{\"hashes\":[");
    for (size_t k = 0; k < n; k++) {
        char b64[64];
        codec_b64(h[k], MERKLE_HASH_LEN, b64, sizeof b64);
        printf("%s\"%s\"", k ? "," : "", b64);
    }
    if (incl)
        printf("],\"index\":%llu,\"tree_size\":%llu}\n", (unsigned long long)a, (unsigned long long)b);
    else
        printf("],\"first\":%llu,\"second\":%llu}\n", (unsigned long long)a, (unsigned long long)b);
}

int cli_proof(int argc, char **argv)
{
    static const char usage[] =
        "usage: auditd proof inclusion N [--tree-size S] [--data-dir DIR]\n"
        "       auditd proof consistency M N [--data-dir DIR]\n"
        "Print an RFC 6962 proof as JSON {\"hashes\": [base64...]}: the audit path of entry N\n"
        "in the tree of size S (default: the latest checkpoint's size), or the consistency\n"
        "proof from tree size M to N.\n";
    opts o;
    int npos = parse_opts(argc, argv, &o, usage, 3);
    if (npos < 0)
        return 2;
    if (npos < 1)
        return cli_failf("proof", "say 'inclusion' or 'consistency'") + 1;
    const char *kind = o.args.pos[0];
    const char *const *rest = o.args.pos + 1;
    npos--;
    /* the arguments: entry a in tree size b, or tree sizes a to b */
    bool incl = !strcmp(kind, "inclusion");
    uint64_t a = 0, b = 0;
    if (incl) {
        if (npos != 1 || num_u64(rest[0], INT64_MAX, &a))
            return cli_failf("proof", "inclusion takes one entry index") + 1;
    } else if (!strcmp(kind, "consistency")) {
        if (npos != 2 || num_u64(rest[0], INT64_MAX, &a) || num_u64(rest[1], INT64_MAX, &b))
            return cli_failf("proof", "consistency takes two tree sizes M N") + 1;
    } else {
        return cli_failf("proof", "unknown proof kind '%s': say 'inclusion' or 'consistency'",
                         kind) + 1;
    }
    ledger *lg;
    if (open_ro("proof", &o, &lg))
        return 1;
    merkle_hash h[MERKLE_MAX_PROOF];
    size_t n = 0;
    adt_err err;
    int rc = ADT_OK;
    if (incl && o.tree_size >= 0) {
        b = (uint64_t)o.tree_size;
    } else if (incl) {
        char note[NOTE_MAX];
        rc = ledger_checkpoint(lg, note, sizeof note, &b, &err);
    }
    if (!rc)
        rc = incl ? ledger_prove_inclusion(lg, a, b, h, &n, &err)
                  : ledger_prove_consistency(lg, a, b, h, &n, &err);
    ledger_close(lg);
    if (rc)
        return cli_fail("proof", &err);
    print_hashes(h, n, a, b, incl);
    return 0;
}
