/* cli_model.c: `auditd model train|register|approve|deploy|list|show` and
 * `auditd drift`. The RACI check of a deployment happens here (the CLI may
 * use policies; the pipeline library must not): the Accountable party of
 * activity "model:NAME" is looked up in the policy and handed to model_deploy. */
#include "cli.h"

#include "drift.h"
#include "driftcheck.h"
#include "model.h"
#include "numparse.h"
#include "raci.h"
#include "rfc3339.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct mopts {
    const char *data_dir, *dataset, *name, *out, *seed, *version, *approver, *change_id, *actor,
        *policy, *model, *from, *to, *threshold, *rounds, *depth, *eta, *min_precision, *time;
    bool json, force;
    cliopt_args args; /* positional arguments */
} mopts;

/* Parse the options of argv[1..argc) (one table for every model command;
 * each uses what it needs). Returns the number of positional arguments
 * (o->args.pos), or -1 when the command is done (help or usage error) with
 * *status its exit status. */
static int parse(int argc, char **argv, mopts *o, const char *usage, int *status)
{
    memset(o, 0, sizeof *o);
    const cliopt table[] = {
        CLIOPT_S("data-dir", 'd', &o->data_dir), CLIOPT_S("dataset", 0, &o->dataset),
        CLIOPT_S("name", 0, &o->name),           CLIOPT_S("out", 0, &o->out),
        CLIOPT_S("seed", 0, &o->seed),           CLIOPT_S("version", 0, &o->version),
        CLIOPT_S("approver", 0, &o->approver),   CLIOPT_S("change-id", 0, &o->change_id),
        CLIOPT_S("actor", 0, &o->actor),         CLIOPT_S("policy", 0, &o->policy),
        CLIOPT_S("model", 0, &o->model),         CLIOPT_S("from", 0, &o->from),
        CLIOPT_S("to", 0, &o->to),               CLIOPT_S("threshold", 0, &o->threshold),
        CLIOPT_S("rounds", 0, &o->rounds),       CLIOPT_S("max-depth", 0, &o->depth),
        CLIOPT_S("eta", 0, &o->eta),             CLIOPT_S("min-precision", 0, &o->min_precision),
        CLIOPT_F("json", 0, &o->json),           CLIOPT_F("force", 0, &o->force),
        CLIOPT_S("time", 0, &o->time),           CLIOPT_END};
    if (cli_parse(argv[0], argc, argv, 1, table, &o->args, usage, status))
        return -1;
    o->data_dir = cli_data_dir(o->data_dir);
    o->actor = cliopt_actor(o->actor);
    return (int)o->args.npos;
}

/* A missing required option: usage error (exit 2). */
static int need(const char *cmd, const char *val, const char *opt, const char *usage)
{
    if (val && *val)
        return 0;
    fprintf(stderr, "auditd %s: %s is required\n%s", cmd, opt, usage);
    return 2;
}

static void print_metrics(const char *label, const model_metrics *m)
{
    printf("%s: precision %.3f  recall %.3f  PR-AUC %.3f  F1 %.3f  (n %zu, failures %zu, "
           "tp %zu, fp %zu, fn %zu)\n",
           label, m->precision, m->recall, m->pr_auc, m->f1, m->n, m->positives, m->tp, m->fp,
           m->fn);
}

static const char train_usage[] =
    "usage: auditd model train --dataset VERSION [--name N] [--out FILE] [--seed S]\n"
    "                          [--rounds R] [--max-depth D] [--eta E] [--min-precision P]\n"
    "                          [--actor P] [--time T] [--json] [--force] [--data-dir DIR]\n"
    "Train a failure classifier (XGBoost, binary:logistic) on a defined dataset: 80/20\n"
    "split by hashed reading key, threshold chosen on out-of-fold training scores (the\n"
    "most precise one within 2 points of the best recall reached at precision >= P,\n"
    "default 0.6), metrics on the held-out 20 %.\n"
    "Writes FILE (XGBoost JSON; default DIR/models/N-<dataset>-s<S>.json) and\n"
    "FILE.meta.json (features, threshold, metrics, drift summary), and appends model.train.\n"
    "An existing FILE is not overwritten (a registered model would no longer match its\n"
    "hash) unless --force is given.\n"
    "Defaults: N failure-predictor, S 1, R 50, D 4, E 0.2.\n"
    "--time T (RFC 3339) records model.train as made at T (default now).\n"
    "A labelled dataset (auditd dataset define --labels) carries the operators' verdicts:\n"
    "each replaces its reading's failure_label; the count used is printed and recorded\n"
    "in model.train (operator_labels).\n";

/* What `model train` prints: JSON (--json) or text. */
static void train_print_json(const model_train_opts *t, const model_train_result *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", t->name);
    cJSON_AddStringToObject(j, "dataset", t->dataset);
    cJSON_AddStringToObject(j, "file", t->out_path);
    cJSON_AddStringToObject(j, "sha256", r->sha256);
    cJSON_AddNumberToObject(j, "threshold", r->threshold);
    cJSON_AddNumberToObject(j, "train_rows", (double)r->n_train);
    cJSON_AddNumberToObject(j, "test_rows", (double)r->n_test);
    cJSON_AddItemToObject(j, "metrics", model_metrics_json(&r->test));
    cJSON_AddItemToObject(j, "train_metrics", model_metrics_json(&r->train_oof));
    cJSON *ol = cJSON_AddObjectToObject(j, "operator_labels");
    cJSON_AddNumberToObject(ol, "used", (double)r->labels.used);
    cJSON_AddNumberToObject(ol, "confirmed_failure", (double)r->labels.confirmed_failure);
    cJSON_AddNumberToObject(ol, "false_alarm", (double)r->labels.false_alarm);
    cJSON_AddNumberToObject(ol, "changed", (double)r->labels.changed);
    cJSON_AddNumberToObject(ol, "added", (double)r->labels.added);
    char *s = cJSON_PrintUnformatted(j);
    printf("%s\n", s ? s : "{}");
    free(s);
    cJSON_Delete(j);
}

static void train_print_text(const model_train_opts *t, const model_train_result *r)
{
    printf("model %s trained on dataset %s\n", t->name, t->dataset);
    printf("file: %s\nsha256: %s\nmetadata: %s.meta.json\n", t->out_path, r->sha256, t->out_path);
    printf("rows: %zu train, %zu held out; scale_pos_weight %.2f; threshold %.4f\n", r->n_train,
           r->n_test, r->scale_pos_weight, r->threshold);
    if (r->labels.used)
        printf("operator labels: %llu used (%llu confirmed failures, %llu false alarms); %llu "
               "changed the reading's failure_label, %llu labelled a reading that had none\n",
               (unsigned long long)r->labels.used, (unsigned long long)r->labels.confirmed_failure,
               (unsigned long long)r->labels.false_alarm, (unsigned long long)r->labels.changed,
               (unsigned long long)r->labels.added);
    else
        printf("operator labels: none used (the dataset carries none; 'auditd dataset define "
               "... --labels' takes those recorded in the console)\n");
    print_metrics("held-out", &r->test);
    print_metrics("training (out-of-fold)", &r->train_oof);
}

static int cmd_train(int argc, char **argv)
{
    mopts o;
    int status, npos = parse(argc, argv, &o, train_usage, &status);
    if (npos < 0)
        return status;
    if (npos > 0)
        return cli_failf("model train", "unexpected argument '%s'", o.args.pos[0]) + 1;
    int u = need("model train", o.dataset, "--dataset VERSION", train_usage);
    if (u)
        return u;
    model_train_opts t = {.name = o.name ? o.name : "failure-predictor", .dataset = o.dataset,
                          .seed = 1};
    if (cli_event_time("model train", o.time, &t.time_us))
        return 2;
    int64_t v;
    if (o.seed) {
        if (num_i64(o.seed, 0, 2147483647, &v))
            return cli_failf("model train", "--seed must be an integer in [0, 2147483647]") + 1;
        t.seed = (unsigned long long)v;
    }
    if (o.rounds) {
        if (num_i64(o.rounds, 1, 5000, &v))
            return cli_failf("model train", "--rounds must be an integer in [1, 5000]") + 1;
        t.rounds = (int)v;
    }
    if (o.depth) {
        if (num_i64(o.depth, 1, 16, &v))
            return cli_failf("model train", "--max-depth must be an integer in [1, 16]") + 1;
        t.max_depth = (int)v;
    }
    double d;
    if (o.eta) {
        if (num_double(o.eta, &d) || !(d > 0 && d <= 1))
            return cli_failf("model train", "--eta must be a number in (0, 1]") + 1;
        t.eta = d;
    }
    if (o.min_precision) {
        if (num_double(o.min_precision, &d) || !(d > 0 && d <= 1))
            return cli_failf("model train", "--min-precision must be a number in (0, 1]") + 1;
        t.min_precision = d;
    }
    adt_err err;
    if (model_check_id("model name", t.name, MODEL_NAME_MAX, &err) ||
        model_check_id("dataset", t.dataset, 128, &err))
        return cli_fail("model train", &err) + 1;
    char def[4096];
    if (!o.out) {
        char dir[4000];
        snprintf(dir, sizeof dir, "%s/models", o.data_dir);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return cli_failf("model train", "cannot create %s: %s", dir, strerror(errno));
        int n = snprintf(def, sizeof def, "%s/%s-%.12s-s%llu.json", dir, t.name, t.dataset,
                         t.seed);
        if (n < 0 || (size_t)n >= sizeof def)
            return cli_failf("model train", "data directory path too long");
        o.out = def;
    }
    t.out_path = o.out;
    if (!o.force && access(o.out, F_OK) == 0)
        return cli_failf("model train",
                         "%s exists (it may be a registered model): choose another --out, or "
                         "pass --force",
                         o.out);
    model_train_result r;
    if (model_train_dataset(o.data_dir, &t, o.actor, &r, &err))
        return cli_fail("model train", &err);
    if (o.json)
        train_print_json(&t, &r);
    else
        train_print_text(&t, &r);
    return 0;
}

static const char register_usage[] =
    "usage: auditd model register FILE --name N --version V --dataset VERSION [--actor P]\n"
    "                             [--time T] [--data-dir DIR]\n"
    "Record FILE (and FILE.meta.json from 'auditd model train') in DIR/models.db with its\n"
    "SHA-256, dataset and metrics, and append a model.register event.\n"
    "--time T (RFC 3339) records the registration as made at T (default now); the\n"
    "ledger's recorded_at stays the real time.\n";

static int cmd_register(int argc, char **argv)
{
    mopts o;
    int status, npos = parse(argc, argv, &o, register_usage, &status);
    if (npos < 0)
        return status;
    if (npos != 1) {
        fprintf(stderr, "auditd model register: give exactly one model FILE\n%s", register_usage);
        return 2;
    }
    const char *file = o.args.pos[0];
    int u;
    if ((u = need("model register", o.name, "--name N", register_usage)) ||
        (u = need("model register", o.version, "--version V", register_usage)) ||
        (u = need("model register", o.dataset, "--dataset VERSION", register_usage)))
        return u;
    int64_t at = 0;
    if (cli_event_time("model register", o.time, &at))
        return 2;
    adt_err err;
    model_info m;
    if (model_register_at(o.data_dir, file, o.name, o.version, o.dataset, o.actor, at, &m, &err))
        return cli_fail("model register", &err);
    printf("registered %s@%s\nsha256: %s\ndataset: %s\nprecision %.3f  recall %.3f  PR-AUC "
           "%.3f  threshold %.4f\n",
           m.name, m.version, m.sha256, m.dataset, m.precision, m.recall, m.pr_auc, m.threshold);
    return 0;
}

static const char approve_usage[] =
    "usage: auditd model approve N --version V --approver PRINCIPAL --change-id C\n"
    "                            [--time T] [--data-dir DIR]\n"
    "Record PRINCIPAL's approval of change C deploying N@V (its registered SHA-256): a\n"
    "change.approve event for activity model:N. Only an approval by the activity's\n"
    "Accountable party (RACI policy) lets 'auditd model deploy' proceed.\n"
    "--time T (RFC 3339) records the approval as given at T (default now): for an\n"
    "approval given earlier on paper, or a simulation; recorded_at stays the real time.\n";

static int cmd_approve(int argc, char **argv)
{
    mopts o;
    int status, npos = parse(argc, argv, &o, approve_usage, &status);
    if (npos < 0)
        return status;
    if (npos != 1) {
        fprintf(stderr, "auditd model approve: give exactly one model name\n%s", approve_usage);
        return 2;
    }
    const char *name = o.args.pos[0];
    int u;
    if ((u = need("model approve", o.version, "--version V", approve_usage)) ||
        (u = need("model approve", o.approver, "--approver PRINCIPAL", approve_usage)) ||
        (u = need("model approve", o.change_id, "--change-id C", approve_usage)))
        return u;
    int64_t at = 0;
    if (cli_event_time("model approve", o.time, &at))
        return 2;
    adt_err err;
    unsigned long long idx = 0;
    if (model_approve_at(o.data_dir, name, o.version, o.approver, o.change_id, at, &idx, &err))
        return cli_fail("model approve", &err);
    printf("approval of %s@%s by %s under change %s recorded (ledger entry %llu)\n", name,
           o.version, o.approver, o.change_id, idx);
    return 0;
}

/* The Accountable principal for activity "model:NAME" from `policy_path`, or
 * else from the policy loaded into the data directory. */
static int accountable_for(const char *data_dir, const char *policy_path, const char *name,
                           const char *actor, char *out, size_t cap, adt_err *err)
{
    raci_policy *p = NULL;
    int rc = policy_path ? raci_load(policy_path, NULL, NULL, &p, err)
                         : raci_load_current(data_dir, &p, err);
    if (rc == ADT_ENOTFOUND && !policy_path)
        return adt_fail(err, ADT_EFORBIDDEN,
                        "deployment refused: no RACI policy in %s says who is Accountable for "
                        "model:%s; run 'auditd policy load FILE' or pass --policy FILE",
                        data_dir, name);
    if (rc)
        return rc;
    char activity[MODEL_NAME_MAX + 8];
    snprintf(activity, sizeof activity, "model:%s", name);
    const raci_activity *a = raci_find_activity(p, activity);
    const char *acc = a ? raci_accountable(a) : NULL;
    if (!acc || !*acc) {
        rc = adt_fail(err, ADT_EFORBIDDEN,
                      "deployment refused: policy %s (version %s) defines no activity %s with an "
                      "Accountable party; add it to the policy",
                      raci_name(p), raci_version(p), activity);
    } else if (strlen(acc) >= cap) {
        rc = adt_fail(err, ADT_EINVAL, "accountable principal id too long");
    } else {
        snprintf(out, cap, "%s", acc);
        /* Not a refusal (the gate is the Accountable's approval), but the RACI
         * evaluation will report it, so say so now. */
        if (!raci_may_act(p, activity, actor))
            fprintf(stderr,
                    "auditd model deploy: note: %s is neither Responsible nor Accountable for "
                    "%s; the RACI evaluation will report this deployment\n",
                    actor, activity);
    }
    raci_free(p);
    return rc;
}

static const char deploy_usage[] =
    "usage: auditd model deploy N --version V --actor P --change-id C [--policy FILE]\n"
    "                           [--time T] [--data-dir DIR]\n"
    "Deploy N@V under change C. Refused unless the Accountable party of activity model:N\n"
    "(from FILE, else the policy loaded with 'auditd policy load') approved change C for\n"
    "N@V, and unless the model file still has the approved SHA-256. Appends model.deploy;\n"
    "ingestion then scores readings with this model.\n"
    "--time T (RFC 3339) records the deployment as made at T (default now); scoring\n"
    "starts when the command runs, whatever T says.\n";

static int cmd_deploy(int argc, char **argv)
{
    mopts o;
    int status, npos = parse(argc, argv, &o, deploy_usage, &status);
    if (npos < 0)
        return status;
    if (npos != 1) {
        fprintf(stderr, "auditd model deploy: give exactly one model name\n%s", deploy_usage);
        return 2;
    }
    const char *name = o.args.pos[0];
    int u;
    if ((u = need("model deploy", o.version, "--version V", deploy_usage)) ||
        (u = need("model deploy", o.change_id, "--change-id C", deploy_usage)))
        return u;
    int64_t at = 0;
    if (cli_event_time("model deploy", o.time, &at))
        return 2;
    adt_err err;
    if (model_check_id("model name", name, MODEL_NAME_MAX, &err))
        return cli_fail("model deploy", &err) + 1;
    /* An unknown model is unknown, whatever the policy says about it. */
    model_info known;
    if (model_get(o.data_dir, name, o.version, &known, NULL, &err) == ADT_ENOTFOUND) {
        model_info any;
        adt_err e2;
        if (model_get(o.data_dir, name, NULL, &any, NULL, &e2) == ADT_ENOTFOUND)
            return cli_failf("model deploy",
                             "unknown model '%s': no version of it is registered ('auditd "
                             "model list' shows the registered ones)",
                             name);
        return cli_failf("model deploy",
                         "unknown version %s of model '%s' ('auditd model list' shows the "
                         "registered versions)",
                         o.version, name);
    }
    char acc[RACI_ID_MAX + 1];
    if (accountable_for(o.data_dir, o.policy, name, o.actor, acc, sizeof acc, &err))
        return cli_fail("model deploy", &err);
    unsigned long long idx = 0;
    if (model_deploy_at(o.data_dir, name, o.version, o.actor, o.change_id, acc, at, &idx, &err))
        return cli_fail("model deploy", &err);
    printf("deployed %s@%s under change %s (approved by %s, ledger entry %llu)\n", name,
           o.version, o.change_id, acc, idx);
    return 0;
}

static int list_row(void *vctx, const model_info *m)
{
    size_t *n = vctx;
    if (++*n == 1)
        printf("%-20s %-8s %-10s %-12s %-10s %-9s %-6s %-6s %-6s %-12s %s\n", "NAME", "VERSION",
               "STATUS", "APPROVED BY", "CHANGE", "THRESHOLD", "PREC", "RECALL", "PRAUC",
               "SHA256", "DATASET");
    printf("%-20s %-8s %-10s %-12s %-10s %-9.4f %-6.3f %-6.3f %-6.3f %-12.12s %.12s\n", m->name,
           m->version, m->status, m->approver[0] ? m->approver : "-",
           m->change_id[0] ? m->change_id : "-", m->threshold, m->precision, m->recall,
           m->pr_auc, m->sha256, m->dataset);
    return 0;
}

static const char list_usage[] =
    "usage: auditd model list [--json] [--data-dir DIR]\n"
    "Show every registered model version: status (registered, approved, deployed,\n"
    "retired), the latest approver and change, held-out metrics, SHA-256 and dataset.\n";

static int cmd_list(int argc, char **argv)
{
    mopts o;
    int status, npos = parse(argc, argv, &o, list_usage, &status);
    if (npos < 0)
        return status;
    if (npos > 0)
        return cli_failf("model list", "unexpected argument '%s'", o.args.pos[0]) + 1;
    adt_err err;
    if (o.json) {
        cJSON *arr = NULL;
        if (model_list_json(o.data_dir, &arr, &err))
            return cli_fail("model list", &err);
        char *text = cJSON_PrintUnformatted(arr);
        printf("%s\n", text ? text : "[]");
        free(text);
        cJSON_Delete(arr);
        return 0;
    }
    size_t n = 0;
    if (model_list(o.data_dir, list_row, &n, &err))
        return cli_fail("model list", &err);
    if (n == 0)
        printf("no model registered in %s\n", o.data_dir);
    return 0;
}

static const char model_usage[] =
    "usage: auditd model COMMAND [OPTIONS]   ('auditd model COMMAND --help' for one)\n"
    "  train     train a failure classifier on a dataset (XGBoost)\n"
    "  register  record a trained model file in the registry (models.db)\n"
    "  approve   record an approval of a model version under a change id\n"
    "  deploy    deploy an approved version (RACI Accountable approval + hash check)\n"
    "  list      show registered versions, status, approvals and metrics\n";

int cli_model(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        printf("%s", model_usage);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "train"))
        return cmd_train(argc - 1, argv + 1);
    if (!strcmp(sub, "register"))
        return cmd_register(argc - 1, argv + 1);
    if (!strcmp(sub, "approve"))
        return cmd_approve(argc - 1, argv + 1);
    if (!strcmp(sub, "deploy"))
        return cmd_deploy(argc - 1, argv + 1);
    if (!strcmp(sub, "list"))
        return cmd_list(argc - 1, argv + 1);
    fprintf(stderr, "auditd model: unknown command '%s'\n%s", sub, model_usage);
    return 2;
}

static const char drift_usage[] =
    "usage: auditd drift --model N [--version V] [--from T] [--to T] [--threshold X]\n"
    "                    [--actor P] [--time T] [--json] [--data-dir DIR]\n"
    "Compare the telemetry of [T_from, T_to) (RFC 3339; default the last 24 hours) with\n"
    "model N's training distribution (V: default the deployed version): per raw feature\n"
    "the PSI over the training deciles and the two-sample KS statistic with its p-value.\n"
    "Features with PSI above X (default 0.2) get a drift.detected event, and one\n"
    "alert.raise (kind drift) is appended. Exit status 0 either way; 1 on errors.\n"
    "--time T (RFC 3339) records those events as made at T (default now), e.g. the end\n"
    "of the window for a check run later.\n";

int cli_drift(int argc, char **argv)
{
    mopts o;
    int status, npos = parse(argc, argv, &o, drift_usage, &status);
    if (npos < 0)
        return status;
    if (npos > 0)
        return cli_failf("drift", "unexpected argument '%s'", o.args.pos[0]) + 1;
    int u = need("drift", o.model, "--model N", drift_usage);
    if (u)
        return u;
    int64_t to = rfc3339_now_us(), from;
    if (o.to && rfc3339_parse(o.to, strlen(o.to), &to))
        return cli_failf("drift", "--to '%s' is not an RFC 3339 time", o.to) + 1;
    from = to - 24LL * 3600 * 1000000;
    if (o.from && rfc3339_parse(o.from, strlen(o.from), &from))
        return cli_failf("drift", "--from '%s' is not an RFC 3339 time", o.from) + 1;
    double thr = DRIFT_DEFAULT_THRESHOLD;
    if (o.threshold && (num_double(o.threshold, &thr) || !(thr > 0)))
        return cli_failf("drift", "--threshold must be a positive number") + 1;
    int64_t at = 0;
    if (cli_event_time("drift", o.time, &at))
        return 2;
    driftcheck_report rep;
    adt_err err;
    if (driftcheck_run(o.data_dir, o.model, o.version, from, to, thr, o.actor, at, &rep, &err))
        return cli_fail("drift", &err);
    char f[32], t[32];
    rfc3339_format_s(rep.from_us, f, sizeof f);
    rfc3339_format_s(rep.to_us, t, sizeof t);
    if (o.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", rep.model);
        cJSON_AddStringToObject(j, "version", rep.version);
        cJSON_AddStringToObject(j, "from", f);
        cJSON_AddStringToObject(j, "to", t);
        cJSON_AddNumberToObject(j, "rows", (double)rep.rows);
        cJSON_AddNumberToObject(j, "threshold", rep.threshold);
        cJSON_AddBoolToObject(j, "drift", rep.alerted);
        if (rep.alerted)
            cJSON_AddStringToObject(j, "alert_id", rep.alert_id);
        cJSON *arr = cJSON_AddArrayToObject(j, "features");
        for (size_t k = 0; k < rep.nfeatures; k++) {
            const driftcheck_feature *df = &rep.features[k];
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "feature", df->feature);
            cJSON_AddNumberToObject(e, "n", (double)df->n);
            if (isfinite(df->psi)) {
                cJSON_AddNumberToObject(e, "psi", df->psi);
                cJSON_AddNumberToObject(e, "ks", df->ks);
                cJSON_AddNumberToObject(e, "ks_p", df->ks_p);
            } else {
                cJSON_AddNullToObject(e, "psi");
            }
            cJSON_AddBoolToObject(e, "drifted", df->drifted);
            cJSON_AddItemToArray(arr, e);
        }
        char *s = cJSON_PrintUnformatted(j);
        printf("%s\n", s ? s : "{}");
        free(s);
        cJSON_Delete(j);
        return 0;
    }
    printf("model %s@%s, window %s .. %s, %zu readings, PSI threshold %g\n", rep.model,
           rep.version, f, t, rep.rows, rep.threshold);
    printf("%-22s %8s %8s %8s %10s %s\n", "FEATURE", "N", "PSI", "KS", "KS p", "");
    for (size_t k = 0; k < rep.nfeatures; k++) {
        const driftcheck_feature *df = &rep.features[k];
        if (!isfinite(df->psi)) {
            printf("%-22s %8zu %8s %8s %10s no values\n", df->feature, df->n, "-", "-", "-");
            continue;
        }
        printf("%-22s %8zu %8.4f %8.4f %10.3g %s\n", df->feature, df->n, df->psi, df->ks,
               df->ks_p, df->drifted ? "DRIFT" : "");
    }
    if (rep.alerted)
        printf("drift detected: events appended, alert %s raised\n", rep.alert_id);
    else
        printf("no drift above the threshold\n");
    return 0;
}

