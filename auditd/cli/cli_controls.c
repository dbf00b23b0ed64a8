/* cli_controls.c: `auditd controls` (import, import-crosswalk, scope, show;
 * status is cli_rules.c's), `auditd raci` and `auditd policy`. */
#include "cli.h"

#include "catalog.h"
#include "evsink.h"
#include "raci.h"
#include "sha256.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_stats(const char *what, const catalog_import_stats *st)
{
    if (!strcmp(st->kind, "catalog"))
        printf("imported %llu controls and enhancements into %s from %s\n",
               (unsigned long long)st->controls, st->name, what);
    else if (!strcmp(st->kind, "profile"))
        printf("imported baseline %s: %llu controls from %s\n", st->name,
               (unsigned long long)st->controls, what);
    else if (!strcmp(st->kind, "crosswalk"))
        printf("imported %llu crosswalk pairs (%llu NIST ids, %llu ISO ids) from %s\n",
               (unsigned long long)st->pairs, (unsigned long long)st->nist_ids,
               (unsigned long long)st->iso_ids, what);
    else if (!strcmp(st->kind, "soa"))
        printf("ISO/IEC 27001 scope from %s: %llu applicable, %llu excluded\n", what,
               (unsigned long long)st->applicable, (unsigned long long)st->excluded);
    else if (!strcmp(st->kind, "baseline"))
        printf("NIST SP 800-53 scope: baseline %s (%llu controls)\n", st->name,
               (unsigned long long)st->controls);
}

static const char controls_usage[] =
    "usage: auditd controls SUBCOMMAND [--data-dir DIR] ...\n"
    "  import FILE [--xsd XSD] [--framework NAME] [--name BASELINE]\n"
    "      Load an OSCAL catalog or profile (XML) into DIR/controls.db. A catalog adds its\n"
    "      controls (framework nist80053 unless --framework); a profile's selected controls\n"
    "      become a named baseline (LOW, MODERATE, HIGH, PRIVACY from its title, or --name).\n"
    "      --xsd validates against the OSCAL XML schema first. All or nothing.\n"
    "  import-crosswalk FILE\n"
    "      Replace the SP 800-53 -> ISO/IEC 27001:2022 crosswalk with FILE: CSV (NIST_ID,\n"
    "      ISO_ID[,SOURCE] with a header) or JSON {\"crosswalk\":{\"AC-1\":[\"A.5.1\"]}}.\n"
    "  scope [--baseline NAME] [--soa FILE] [--actor NAME]\n"
    "      Select the in-scope NIST baseline (ALL = every control) and/or load the ISO\n"
    "      Statement of Applicability (CSV control_id,applicable,justification; see\n"
    "      docs/catalog.md). A change is recorded in the ledger (scope.change).\n"
    "      Without options, print the scope in force.\n"
    "  show ID\n"
    "      One control (AC-2(1), ac-2.1, A.5.15, ...): title, scope, crosswalk.\n"
    "  status [...]\n"
    "      Control status from the evidence rules ('auditd controls status --help').\n"
    "The store is seeded from the built-in controls/data on first use.\n";

static int open_store(const char *cmd, const char *data_dir, catalog **out)
{
    adt_err err = {0};
    if (catalog_open(cli_data_dir(data_dir), out, &err) != ADT_OK)
        return cli_fail(cmd, &err);
    return 0;
}

static int controls_import(int argc, char **argv, bool crosswalk)
{
    const char *cmd = crosswalk ? "controls import-crosswalk" : "controls import";
    const char *data_dir = NULL, *xsd = NULL, *fw = NULL, *name = NULL;
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &data_dir), CLIOPT_S("xsd", 0, &xsd),
                           CLIOPT_S("framework", 0, &fw), CLIOPT_S("name", 0, &name), CLIOPT_END};
    const cliopt dir_only[] = {CLIOPT_S("data-dir", 'd', &data_dir), CLIOPT_END};
    cliopt_args a;
    int rc;
    if (cli_parse(cmd, argc, argv, 1, crosswalk ? dir_only : opts, &a, controls_usage, &rc))
        return rc;
    const char *const *pos = a.pos;
    if (a.npos != 1) {
        fprintf(stderr, "%s", controls_usage);
        return cli_failf(cmd, "name the file to import"), 2;
    }
    catalog *c;
    if ((rc = open_store(cmd, data_dir, &c)))
        return rc;
    adt_err err = {0};
    catalog_import_stats st;
    rc = crosswalk ? catalog_import_crosswalk(c, pos[0], &st, &err)
                   : catalog_import_oscal(c, pos[0], xsd, fw, name, &st, &err);
    catalog_close(c);
    if (rc != ADT_OK) {
        cli_fail(cmd, &err);
        fprintf(stderr, "auditd %s: nothing was imported\n", cmd);
        return 1;
    }
    print_stats(pos[0], &st);
    return 0;
}

/* Record a scope change in the ledger (scope.change, docs/events.md), so an
 * auditor can see which scope every later evaluation ran under. */
static int record_scope(const char *cmd, const char *data_dir, const char *actor,
                        const char *framework, const char *what, const char *sha256,
                        const catalog_import_stats *st)
{
    evsink_event e;
    evsink_begin(&e, EVSINK_CONTROLS, "scope.change", EVENT_WRITER_AUDITD, actor);
    evsink_str(&e, "framework", framework);
    if (sha256) {
        evsink_str(&e, "soa_sha256", sha256);
        evsink_uint(&e, "applicable", st->applicable);
        evsink_uint(&e, "excluded", st->excluded);
    } else {
        evsink_str(&e, "baseline", what);
        evsink_uint(&e, "controls", st->controls);
    }
    evsink s = {.data_dir = cli_data_dir(data_dir)};
    uint64_t index;
    adt_err err = {0};
    int rc = evsink_record(&s, &e, 1, &index, &err);
    evsink_free(&e);
    if (rc) {
        cli_fail(cmd, &err);
        fprintf(stderr, "auditd %s: the scope changed but was not recorded in the ledger; run the "
                        "command again once the ledger is reachable\n", cmd);
        return 1;
    }
    printf("scope change recorded (ledger entry %llu)\n", (unsigned long long)index);
    return 0;
}

static int controls_scope(int argc, char **argv)
{
    const char *cmd = "controls scope";
    const char *data_dir = NULL, *baseline = NULL, *soa = NULL, *actor = NULL;
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &data_dir), CLIOPT_S("baseline", 0, &baseline),
                           CLIOPT_S("soa", 0, &soa), CLIOPT_S("actor", 0, &actor), CLIOPT_END};
    cliopt_args a;
    int rc;
    if (cli_parse_max(cmd, argc, argv, 1, opts, &a, 0, controls_usage, &rc))
        return rc;
    adt_err err = {0};
    if (baseline || soa) { /* the change must be recordable before it is made */
        ledger *lg;
        if (ledger_open(cli_data_dir(data_dir), LEDGER_RDWR, &lg, &err) != ADT_OK) {
            cli_fail(cmd, &err);
            fprintf(stderr, "auditd %s: scope changes are recorded in the ledger; the scope is unchanged\n", cmd);
            return 1;
        }
        ledger_close(lg);
    }
    catalog *c;
    if ((rc = open_store(cmd, data_dir, &c)))
        return rc;
    catalog_import_stats st;
    if (baseline) {
        if (catalog_scope_baseline(c, baseline, &st, &err) != ADT_OK) {
            catalog_close(c);
            return cli_fail(cmd, &err);
        }
        print_stats(baseline, &st);
        if ((rc = record_scope(cmd, data_dir, cliopt_actor(actor), CATALOG_NIST, baseline,
                               NULL, &st))) {
            catalog_close(c);
            return rc;
        }
    }
    if (soa) {
        if (catalog_scope_soa(c, soa, &st, &err) != ADT_OK) {
            catalog_close(c);
            cli_fail(cmd, &err);
            fprintf(stderr, "auditd %s: the ISO scope is unchanged\n", cmd);
            return 1;
        }
        print_stats(soa, &st);
        char hex[SHA256_HEX_LEN];
        if (sha256_file_hex(soa, UINT64_MAX, hex, &err) != ADT_OK) {
            catalog_close(c);
            return cli_fail(cmd, &err);
        }
        if ((rc = record_scope(cmd, data_dir, cliopt_actor(actor), CATALOG_ISO, soa, hex, &st))) {
            catalog_close(c);
            return rc;
        }
    }
    if (!baseline && !soa) {
        char d[200];
        const char *fws[] = {CATALOG_NIST, CATALOG_ISO};
        for (size_t i = 0; i < 2; i++) {
            if (catalog_scope_describe(c, fws[i], d, sizeof d, &err) != ADT_OK) {
                catalog_close(c);
                return cli_fail(cmd, &err);
            }
            printf("%-10s %s\n", fws[i], d);
        }
    }
    catalog_close(c);
    return 0;
}

static int print_id(void *ctx, const char *id)
{
    int *n = ctx;
    printf("%s%s", (*n)++ ? ", " : "", id);
    return 0;
}

static int controls_show(int argc, char **argv)
{
    const char *cmd = "controls show";
    const char *data_dir = NULL;
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &data_dir), CLIOPT_END};
    cliopt_args a;
    int rc;
    if (cli_parse(cmd, argc, argv, 1, opts, &a, controls_usage, &rc))
        return rc;
    const char *const *pos = a.pos;
    if (a.npos != 1)
        return cli_failf(cmd, "name a control id (e.g. AC-2(1) or A.5.15)"), 2;
    catalog *c;
    if ((rc = open_store(cmd, data_dir, &c)))
        return rc;
    adt_err err = {0};
    catalog_control ctl;
    if (catalog_lookup(c, NULL, pos[0], &ctl, &err) != ADT_OK) {
        catalog_close(c);
        return cli_fail(cmd, &err);
    }
    printf("%s %s (%s): %s\n", ctl.framework, ctl.label, ctl.id, ctl.title);
    printf("  in scope: %s%s%s%s\n", ctl.in_scope ? "yes" : "no",
           ctl.withdrawn ? " (withdrawn)" : "", ctl.justification[0] ? "; " : "",
           ctl.justification);
    int n = 0;
    printf("  crosswalk: ");
    rc = !strcmp(ctl.framework, CATALOG_NIST)
             ? catalog_crosswalk_iso(c, ctl.id, print_id, &n, &err)
             : catalog_crosswalk_nist(c, ctl.id, print_id, &n, &err);
    printf("%s\n", n ? "" : "(none)");
    catalog_close(c);
    return rc == ADT_OK ? 0 : cli_fail(cmd, &err);
}

int cli_controls(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout, "%s", controls_usage);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "status"))
        return cli_controls_status(argc - 1, argv + 1);
    if (cli_wants_help(argc, argv)) {
        printf("%s", controls_usage);
        return 0;
    }
    if (!strcmp(sub, "import"))
        return controls_import(argc - 1, argv + 1, false);
    if (!strcmp(sub, "import-crosswalk"))
        return controls_import(argc - 1, argv + 1, true);
    if (!strcmp(sub, "scope"))
        return controls_scope(argc - 1, argv + 1);
    if (!strcmp(sub, "show"))
        return controls_show(argc - 1, argv + 1);
    fprintf(stderr, "%s", controls_usage);
    return cli_failf("controls", "unknown subcommand '%s'", sub), 2;
}

/* ---- raci ---------------------------------------------------------------- */

static const char raci_usage[] =
    "usage: auditd raci check FILE\n"
    "       auditd raci show [FILE] [--data-dir DIR]\n"
    "check: validate a RACI policy against policies/raci.xsd and its rules (exactly one\n"
    "  accountable and at least one responsible per activity; every principal and role\n"
    "  referenced is defined; ...). Each problem is printed as FILE:LINE: message;\n"
    "  the exit status is 1 if there is any.\n"
    "show: print the policy (FILE, or the one in force in DIR) as JSON.\n"
    "Format: docs/policies.md.\n";

static void print_diag(void *ctx, const char *file, long line, const char *msg)
{
    size_t *n = ctx;
    (*n)++;
    if (line > 0)
        fprintf(stderr, "%s:%ld: %s\n", file, line, msg);
    else
        fprintf(stderr, "%s: %s\n", file, msg);
}

int cli_raci(int argc, char **argv)
{
    int rc;
    if (cli_no_subcommand(argc, argv, raci_usage, &rc))
        return rc;
    const char *sub = argv[1], *data_dir = NULL;
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &data_dir), CLIOPT_END};
    if (strcmp(sub, "check") && strcmp(sub, "show")) {
        fprintf(stderr, "%s", raci_usage);
        return cli_failf("raci", "unknown subcommand '%s'", sub), 2;
    }
    const char *cmd = !strcmp(sub, "check") ? "raci check" : "raci show";
    cliopt_args a;
    if (cli_parse_max(cmd, argc, argv, 2, opts, &a, 1, raci_usage, &rc))
        return rc;
    size_t npos = a.npos;
    const char *const *pos = a.pos;
    adt_err err = {0};
    raci_policy *p = NULL;
    if (!strcmp(sub, "check")) {
        if (npos != 1)
            return cli_failf(cmd, "name the policy file"), 2;
        size_t problems = 0;
        rc = raci_load(pos[0], print_diag, &problems, &p, &err);
        if (rc != ADT_OK) {
            if (problems == 0)
                return cli_fail(cmd, &err);
            fprintf(stderr, "auditd %s: %s: %zu problem%s\n", cmd, pos[0], problems,
                    problems == 1 ? "" : "s");
            return 1;
        }
        printf("%s: ok: policy %s version %s, %zu activities, sha256 %s\n", pos[0],
               raci_name(p), raci_version(p), raci_activity_count(p), raci_sha256(p));
        raci_free(p);
        return 0;
    }
    rc = npos == 1 ? raci_load(pos[0], NULL, NULL, &p, &err)
                   : raci_load_current(cli_data_dir(data_dir), &p, &err);
    if (rc != ADT_OK)
        return cli_fail(cmd, &err);
    cJSON *j = NULL;
    rc = raci_to_json(p, &j, &err);
    raci_free(p);
    if (rc != ADT_OK)
        return cli_fail(cmd, &err);
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    if (!s)
        return cli_failf(cmd, "out of memory");
    printf("%s\n", s);
    free(s);
    return 0;
}

/* ---- policy ----------------------------------------------------------------- */

static const char policy_usage[] =
    "usage: auditd policy load FILE [--actor NAME] [--data-dir DIR]\n"
    "       auditd policy show [--data-dir DIR]\n"
    "load: check the RACI policy FILE (as 'auditd raci check'), keep a copy as\n"
    "  DIR/policies/<sha256>.xml, append a policy.load event (policy name, sha256,\n"
    "  version; actor NAME, default 'auditd') to the ledger in DIR, then put it in force\n"
    "  as DIR/raci.xml. All or nothing; the ledger must exist ('auditd init').\n"
    "show: the policy in force: name, version, sha256.\n";

typedef struct load_commit {
    const char *data_dir;
    const char *actor;
    uint64_t index;
} load_commit;

/* raci_store's commit step: the ledger event that records the load. */
static int append_load_event(void *ctx, const raci_policy *p, adt_err *err)
{
    load_commit *lc = ctx;
    evsink_event e;
    evsink_begin(&e, EVSINK_AUDITD, "policy.load", EVENT_WRITER_AUDITD, lc->actor);
    evsink_str(&e, "policy", raci_name(p));
    evsink_str(&e, "sha256", raci_sha256(p));
    evsink_str(&e, "version", raci_version(p));
    evsink s = {.data_dir = lc->data_dir};
    int rc = evsink_record(&s, &e, 1, &lc->index, err);
    evsink_free(&e);
    if (rc == ADT_ENOTFOUND)
        adt_err_prefix(err, "recording the load (run 'auditd init' first)");
    return rc;
}

int cli_policy(int argc, char **argv)
{
    int rc;
    if (cli_no_subcommand(argc, argv, policy_usage, &rc))
        return rc;
    const char *sub = argv[1], *data_dir = NULL, *actor = NULL;
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &data_dir), CLIOPT_S("actor", 0, &actor),
                           CLIOPT_END};
    cliopt_args a;
    adt_err err = {0};
    raci_policy *p = NULL;
    if (!strcmp(sub, "load")) {
        if (cli_parse("policy load", argc, argv, 2, opts, &a, policy_usage, &rc))
            return rc;
        if (a.npos != 1)
            return cli_failf("policy load", "name the policy file"), 2;
        load_commit lc = {cli_data_dir(data_dir), cliopt_actor(actor), 0};
        if (raci_store(lc.data_dir, a.pos[0], append_load_event, &lc, &p, &err) != ADT_OK) {
            cli_fail("policy load", &err);
            fprintf(stderr, "auditd policy load: the policy in force is unchanged\n");
            return 1;
        }
        printf("policy %s version %s (sha256 %s) in force; ledger entry %llu\n", raci_name(p),
               raci_version(p), raci_sha256(p), (unsigned long long)lc.index);
        raci_free(p);
        return 0;
    }
    if (!strcmp(sub, "show")) {
        if (cli_parse_max("policy show", argc, argv, 2, opts, &a, 0, policy_usage, &rc))
            return rc;
        if (raci_load_current(cli_data_dir(data_dir), &p, &err) != ADT_OK)
            return cli_fail("policy show", &err);
        printf("policy %s version %s sha256 %s (%zu activities)\n", raci_name(p),
               raci_version(p), raci_sha256(p), raci_activity_count(p));
        raci_free(p);
        return 0;
    }
    fprintf(stderr, "%s", policy_usage);
    return cli_failf("policy", "unknown subcommand '%s'", sub), 2;
}
