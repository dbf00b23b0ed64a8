/* cli_rules.c: `auditd controls status`: control status from the evidence rules. */
#include "cli.h"

#include "controls.h"
#include "rfc3339.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>


static const char usage_text[] =
    "usage: auditd controls status [--period P] [--framework iso27001|nist80053]\n"
    "                              [--format text|json] [--data-dir DIR]\n\n"
    "Evaluate the evidence rules (controls/rules/, or $AUDITD_RULES_DIR, or\n"
    "DIR/rules) against the ledger and print each in-scope control as satisfied,\n"
    "not satisfied (with its findings) or not evaluated (no evidence).\n\n"
    "  --period P     only events whose time falls in P (UTC): 2026-Q3, 2026-07,\n"
    "                 2026, or 2026-07-01..2026-09-30 (both days included);\n"
    "                 default: every event, deadlines judged as of now\n"
    "  --framework F  iso27001 or nist80053 (default: both)\n"
    "  --format F     text (default) or json (the full result, with every rule)\n";

static const char *s(const cJSON *o, const char *k)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
    return v ? v : "";
}

static double n(const cJSON *o, const char *k)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItem(o, k));
}

static void print_text(const cJSON *doc)
{
    const cJSON *pol = cJSON_GetObjectItem(doc, "policy");
    const cJSON *per = cJSON_GetObjectItem(doc, "period");
    printf("Control status as of %s, ledger size %.0f", s(doc, "as_of"), n(doc, "tree_size"));
    if (per)
        printf(", period %s .. %s", s(per, "from"), s(per, "to"));
    if (cJSON_IsObject(pol))
        printf(", RACI policy %s %s", s(pol, "name"), s(pol, "version"));
    else
        printf(", no RACI policy loaded");
    printf("\n");
    const char *fws[2] = {"nist80053", "iso27001"};
    for (int i = 0; i < 2; i++) {
        const cJSON *sum = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "summary"), fws[i]);
        if (!sum)
            continue;
        printf("\n%s: %.0f satisfied, %.0f not satisfied, %.0f not evaluated\n", fws[i],
               n(sum, "satisfied"), n(sum, "not_satisfied"), n(sum, "not_evaluated"));
        size_t silent = 0;
        const cJSON *ctl;
        cJSON_ArrayForEach(ctl, cJSON_GetObjectItem(doc, "controls"))
        {
            if (strcmp(s(ctl, "framework"), fws[i]))
                continue;
            const cJSON *rules = cJSON_GetObjectItem(ctl, "rules");
            if (!cJSON_GetArraySize(rules)) {
                silent++;
                continue;
            }
            const char *st = s(ctl, "status");
            printf("  %-14s %-9s %s\n",
                   !strcmp(st, "satisfied")       ? "satisfied"
                   : !strcmp(st, "not_satisfied") ? "NOT SATISFIED"
                                                  : "not evaluated",
                   s(ctl, "label"), s(ctl, "title"));
            const cJSON *r;
            printf("                 rules:");
            cJSON_ArrayForEach(r, rules)
            {
                printf(" %s (%s)", s(r, "id"), s(r, "status"));
            }
            printf("\n");
            const cJSON *f;
            int shown = 0;
            cJSON_ArrayForEach(f, cJSON_GetObjectItem(ctl, "findings"))
            {
                if (shown++ == 10) {
                    printf("                 ... %.0f findings in all (--format json lists "
                           "them)\n", n(ctl, "findings_count"));
                    break;
                }
                const char *owner = s(f, "owner");
                printf("                 [%s] %s: %s%s%s%s\n", s(f, "severity"), s(f, "rule"),
                       s(f, "message"), *owner ? " (owner " : "", owner, *owner ? ")" : "");
            }
        }
        if (silent)
            printf("  (%zu more controls in scope have no rule and are not evaluated)\n", silent);
    }
}

int cli_controls_status(int argc, char **argv)
{
    const char *cmd = "controls status";
    const char *data_dir = NULL, *period = NULL, *framework = NULL, *format = "text";
    const cliopt opts[] = {CLIOPT_S("data-dir", 'd', &data_dir), CLIOPT_S("period", 0, &period),
                           CLIOPT_S("framework", 0, &framework), CLIOPT_S("format", 0, &format),
                           CLIOPT_END};
    int first = 1;
    if (argc > 0 && argv[0] && !strcmp(argv[0], "controls") && argc > 1 &&
        !strcmp(argv[1], "status"))
        first = 2; /* called with the group name first */
    cliopt_args a;
    int status;
    if (cli_parse(cmd, argc, argv, first, opts, &a, usage_text, &status))
        return status;
    if (a.npos > 0) {
        fputs(usage_text, stderr);
        cli_failf(cmd, "unknown argument '%s'", a.pos[0]);
        return 2;
    }
    if (strcmp(format, "text") && strcmp(format, "json")) {
        cli_failf(cmd, "--format must be text or json, not '%s'", format);
        return 2;
    }
    if (framework) {
        if (!strcmp(framework, "iso"))
            framework = "iso27001";
        else if (!strcmp(framework, "nist"))
            framework = "nist80053";
        if (strcmp(framework, "iso27001") && strcmp(framework, "nist80053")) {
            cli_failf(cmd, "--framework must be iso27001 or nist80053, not '%s'", framework);
            return 2;
        }
    }
    int64_t from = INT64_MIN, to = INT64_MAX;
    adt_err err = {0};
    if (period && controls_parse_period(period, &from, &to, &err))
        return cli_fail(cmd, &err);
    controls *c = NULL;
    if (controls_open(cli_data_dir(data_dir), &c, &err))
        return cli_fail(cmd, &err);
    cJSON *doc = NULL;
    int rc = controls_evaluate_period(c, from, to, framework, &doc, &err);
    controls_close(c);
    if (rc)
        return cli_fail(cmd, &err);
    if (!strcmp(format, "json")) {
        char *txt = cJSON_Print(doc);
        if (txt)
            printf("%s\n", txt);
        cJSON_free(txt);
    } else {
        print_text(doc);
    }
    cJSON_Delete(doc);
    return 0;
}
