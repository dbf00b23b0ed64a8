/* cli_console.c: `auditd person ...` (the people who use the web console) and
 * `auditd workflow run` (the automated workflows, once). */
#include "cli.h"

#include "agentsig.h"
#include "evsink.h"
#include "ledger.h"
#include "person.h"
#include "raci.h"
#include "state.h"
#include "workflow.h"
#include "rfc3339.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: auditd person add NAME --role ROLE[,ROLE...] [--data-dir DIR]\n"
    "       auditd person reset NAME [--data-dir DIR]\n"
    "       auditd person revoke NAME [--data-dir DIR]\n"
    "       auditd person list [--data-dir DIR]\n"
    "Console roles: steering, auditor, operator, data-scientist, approver, admin.\n"
    "add and reset print a new password once on stdout (only an Argon2id hash is stored);\n"
    "the person signs in at http://HOST:PORT/ui/ with NAME and it. NAME should be the\n"
    "person's principal id in the RACI policy: the policy decides what they may approve,\n"
    "acknowledge or label. add and revoke are recorded in the ledger (person.add/revoke).\n";

/* `person add` (add) or `person reset`: a new password, shown once; an
 * addition is recorded as person.add (undone if it cannot be). */
static int person_set(person_db *pdb, ledger *lg, const char *dir, const char *name, bool add,
                      unsigned roles)
{
    int rc = 0;
    adt_err err = {0};
    char actor[80], fields[512], cred[PERSON_CRED_ID_LEN + 1], rt[128];
    char *pw = sodium_malloc(PERSON_PASSWORD_LEN + 1);
    if (!pw)
        rc = cli_failf("person", "out of secure memory");
    else if (add ? person_add(pdb, name, roles, pw, cred, &err)
                 : person_reset(pdb, name, pw, cred, &err))
        rc = cli_fail(add ? "person add" : "person reset", &err);
    if (!rc && add) {
        person_roles_text(roles, rt, sizeof rt);
        snprintf(fields, sizeof fields, "{\"person\":\"%s\",\"roles\":\"%s\",\"credential\":\"%s\"}",
                 name, rt, cred);
        if (state_audit_event(lg, "person.add", cli_actor(actor, sizeof actor), fields, &err)) {
            adt_err e2;
            person_revoke(pdb, name, &e2);
            rc = cli_failf("person add", "could not record person.add (person revoked again): %s",
                           err.msg);
        }
        raci_policy *pol = NULL;
        adt_err e3;
        if (!rc && !raci_load_current(dir, &pol, &e3) && !raci_principal_exists(pol, name))
            fprintf(stderr, "note: '%s' is not a principal of the RACI policy in force, so the "
                            "policy lets them approve, acknowledge or label nothing\n", name);
        raci_free(pol);
    }
    if (!rc) {
        printf("%s\n", pw);
        fprintf(stderr, "password for %s (credential %s); it is shown only now\n", name, cred);
    }
    if (pw)
        sodium_free(pw);
    return rc;
}

/* `person revoke`: recorded as person.revoke with the roles and credential
 * the person had. */
static int person_end(person_db *pdb, ledger *lg, const char *name)
{
    int rc = 0;
    adt_err err = {0};
    char actor[80], fields[512], rt[128];
    unsigned r0 = 0;
    char c0[PERSON_CRED_ID_LEN + 1] = "";
    person_active(pdb, name, &r0, c0, &err);
    if (person_revoke(pdb, name, &err)) {
        rc = cli_fail("person revoke", &err);
    } else {
        person_roles_text(r0, rt, sizeof rt);
        snprintf(fields, sizeof fields, "{\"person\":\"%s\",\"roles\":\"%s\",\"credential\":\"%s\"}",
                 name, rt, c0);
        if (state_audit_event(lg, "person.revoke", cli_actor(actor, sizeof actor), fields, &err))
            rc = cli_failf("person revoke", "revoked but the event was not recorded: %s", err.msg);
        else
            printf("person %s revoked\n", name);
    }
    return rc;
}

int cli_person(int argc, char **argv)
{
    int status;
    if (cli_no_subcommand(argc, argv, usage, &status))
        return status;
    const char *sub = argv[1], *dir = NULL, *roles_s = NULL;
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &dir), CLIOPT_S("role", 0, &roles_s),
                           CLIOPT_END};
    cliopt_args args;
    if (cli_parse_max("person", argc, argv, 2, opts, &args, 1, usage, &status))
        return status;
    const char *name = args.npos ? args.pos[0] : NULL;
    dir = cli_data_dir(dir);
    adt_err err = {0};
    if (sodium_init() < 0)
        return cli_failf("person", "libsodium failed to initialise");
    person_db *pdb;
    if (strcmp(sub, "list") && strcmp(sub, "add") && strcmp(sub, "reset") && strcmp(sub, "revoke")) {
        fprintf(stderr, "auditd person: unknown subcommand '%s'\n%s", sub, usage);
        return 2;
    }
    if (strcmp(sub, "list") && !name) {
        fprintf(stderr, "auditd person %s: give NAME\n%s", sub, usage);
        return 2;
    }
    unsigned roles = 0;
    if (!strcmp(sub, "add") && person_roles_parse(roles_s, &roles, &err))
        return cli_fail("person add", &err) + 1;
    ledger *lg = NULL;
    if (strcmp(sub, "list") && strcmp(sub, "reset") && ledger_open(dir, LEDGER_RDWR, &lg, &err)) {
        adt_err_prefix(&err, "opening the ledger in %s (create one with 'auditd init')", dir);
        return cli_fail("person", &err);
    }
    if (person_open(dir, &pdb, &err)) {
        ledger_close(lg);
        return cli_fail("person", &err);
    }
    int rc = 0;
    if (!strcmp(sub, "list")) {
        buf b;
        buf_init(&b, 16u << 20);
        if (person_list_json(pdb, &b, &err))
            rc = cli_fail("person list", &err);
        else
            printf("%s\n", b.data);
        buf_free(&b);
    } else if (!strcmp(sub, "add") || !strcmp(sub, "reset")) {
        rc = person_set(pdb, lg, dir, name, !strcmp(sub, "add"), roles);
    } else {
        rc = person_end(pdb, lg, name);
    }
    person_close(pdb);
    ledger_close(lg);
    return rc;
}

/* ---------- workflow ---------- */

static int wf_append(void *ctx, const char *type, const char *payload, size_t len, uint64_t *index,
                     adt_err *err)
{
    ledger_item it = {.source = WORKFLOW_SOURCE, .type = type, .payload = payload,
                      .payload_len = len, .writer = EVENT_WRITER_AUDITD};
    ledger_commit c;
    int rc = evsink_append(&(evsink){.lg = ctx}, &it, 1, NULL, &c, err);
    if (!rc) {
        *index = c.first;
        printf("%s recorded at index %llu\n", type, (unsigned long long)c.first);
    }
    return rc;
}

int cli_workflow(int argc, char **argv)
{
    static const char wusage[] =
        "usage: auditd workflow run [--data-dir DIR]\n"
        "Runs the automated workflows once over the whole ledger: a drift alert opens a\n"
        "retraining change request (retrain.request) assigned by the RACI policy; an alert\n"
        "not acknowledged within its SLA is escalated to the Accountable (alert.escalate).\n"
        "Each action is a ledger event citing its trigger's index; nothing is done twice.\n"
        "auditd serve runs the same every 30 seconds.\n";
    if (argc < 2 || cli_wants_help(argc, argv) || strcmp(argv[1], "run")) {
        fputs(wusage, argc < 2 || strcmp(argv[1], "run") ? stderr : stdout);
        return cli_wants_help(argc, argv) ? 0 : 2;
    }
    const char *dir = NULL;
    int status;
    if (cli_parse_dir("workflow run", argc, argv, 2, wusage, &dir, &status))
        return status;
    dir = cli_data_dir(dir);
    adt_err err = {0};
    ledger *lg = NULL;
    workflow *w = NULL;
    if (ledger_open(dir, LEDGER_RDWR, &lg, &err)) {
        adt_err_prefix(&err, "opening the ledger in %s", dir);
        return cli_fail("workflow run", &err);
    }
    size_t n = 0;
    int rc = workflow_new(dir, &w, &err);
    if (!rc)
        rc = workflow_run(w, lg, rfc3339_now_us(), wf_append, lg, &n, &err);
    workflow_free(w);
    ledger_close(lg);
    if (rc)
        return cli_fail("workflow run", &err);
    printf("%zu action(s) taken\n", n);
    return 0;
}
