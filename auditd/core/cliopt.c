/* cliopt.c: declarative command-line options (cliopt.h). */
#include "cliopt.h"

#include "numparse.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

static const cliopt *find_long(const cliopt *opts, const char *name, size_t n)
{
    for (const cliopt *o = opts; o->name; o++)
        if (strlen(o->name) == n && !memcmp(o->name, name, n))
            return o;
    return NULL;
}

static const cliopt *find_short(const cliopt *opts, char c)
{
    for (const cliopt *o = opts; o->name; o++)
        if (o->short_name && o->short_name == c)
            return o;
    return NULL;
}

/* Store `val` for option `o` (named `shown` in messages). */
static int assign(const cliopt *o, const char *shown, const char *val, adt_err *err)
{
    switch (o->kind) {
    case CLIOPT_STR:
        *(const char **)o->dst = val;
        return ADT_OK;
    case CLIOPT_FLAG:
        *(bool *)o->dst = true;
        return ADT_OK;
    case CLIOPT_I64:
        if (num_i64(val, o->min, o->max, (int64_t *)o->dst) != ADT_OK)
            return adt_fail(err, ADT_EINVAL, "%s must be an integer from %lld to %lld, not '%.40s'",
                            shown, (long long)o->min, (long long)o->max, val);
        return ADT_OK;
    case CLIOPT_LIST: {
        cliopt_list *l = o->dst;
        if (l->n == CLIOPT_LIST_MAX)
            return adt_fail(err, ADT_EINVAL, "%s may be given at most %d times", shown,
                            CLIOPT_LIST_MAX);
        l->v[l->n++] = val;
        return ADT_OK;
    }
    }
    return adt_fail(err, ADT_EINTERNAL, "%s: unknown option kind", shown);
}

int cliopt_parse(int argc, char **argv, int first, const cliopt *opts, cliopt_args *args,
                 adt_err *err)
{
    memset(args, 0, sizeof *args);
    bool options_done = false;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || !a[1]) {
            if (args->npos == CLIOPT_POS_MAX)
                return adt_fail(err, ADT_EINVAL, "more than %d arguments", CLIOPT_POS_MAX);
            args->pos[args->npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            options_done = true;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            args->help = true;
            continue;
        }
        const cliopt *o;
        const char *inline_val = NULL;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t n = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            o = find_long(opts, a + 2, n);
            if (eq)
                inline_val = eq + 1;
        } else {
            o = a[2] ? NULL : find_short(opts, a[1]);
        }
        if (!o)
            return adt_fail(err, ADT_EINVAL, "unknown option '%.60s'", a);
        char shown[72];
        snprintf(shown, sizeof shown, "--%s", o->name);
        if (o->kind == CLIOPT_FLAG) {
            if (inline_val)
                return adt_fail(err, ADT_EINVAL, "%s takes no value", shown);
            assign(o, shown, NULL, err);
            continue;
        }
        const char *val = inline_val;
        if (!val) {
            if (i + 1 >= argc)
                return adt_fail(err, ADT_EINVAL, "%s needs a value", shown);
            val = argv[++i];
        }
        int rc = assign(o, shown, val, err);
        if (rc)
            return rc;
    }
    return ADT_OK;
}

const char *cliopt_data_dir(const char *given)
{
    if (given && *given)
        return given;
    const char *env = getenv("AUDITD_DATA_DIR");
    return env && *env ? env : "./auditd-data";
}

/* A login name usable as an actor: 1..64 printable ASCII characters, no spaces. */
static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F)
            return false;
    return true;
}

const char *cliopt_actor(const char *given)
{
    if (given && *given)
        return given;
    const char *env = getenv("AUDITD_ACTOR");
    if (env && *env)
        return env;
    const char *user = getenv("USER");
    return name_ok(user) ? user : "operator";
}
