/* raci.c: loading, checking, querying and storing RACI policies (raci.h). */
#include "raci_int.h"
#include "canon.h"
#include "numparse.h"
#include "rfc3339.h"
#include "afile.h"
#include "sha256.h"
#include "xsafe.h"

#include <errno.h>
#include <fcntl.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* policies/raci.xsd, compiled in by embed.cmake. */
extern const unsigned char raci_xsd_text[];
extern const unsigned long raci_xsd_text_len;

const char *raci_xsd(void)
{
    return (const char *)raci_xsd_text;
}

/* ---- Loading ------------------------------------------------------------ */

/* The state of one load: where problems go. */
typedef struct load_ctx {
    const char *name;
    raci_diag_fn diag;
    void *dctx;
    adt_err *err;
    size_t problems;
    bool oom;
} load_ctx;

static void problem(load_ctx *l, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report one semantic problem at `line` of the file. */
static void problem(load_ctx *l, long line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (l->problems == 0)
        adt_fail(l->err, ADT_EINVAL, "%s:%ld: %s", l->name, line, msg);
    l->problems++;
    if (l->diag)
        l->diag(l->dctx, l->name, line, msg);
}

static void diag_forward(void *ctx, const char *name, long line, const char *msg)
{
    load_ctx *l = ctx;
    l->problems++;
    if (l->diag)
        l->diag(l->dctx, name, line, msg);
}

static char *dup_str(load_ctx *l, const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        l->oom = true;
    return d;
}

/* An attribute copied into malloc'd memory (NULL if absent). */
static char *attr_dup(load_ctx *l, xmlNodePtr n, const char *attr)
{
    char *v = xsafe_attr(n, attr);
    if (!v)
        return NULL;
    char *d = dup_str(l, v);
    xmlFree(v);
    return d;
}

static long node_line(xmlNodePtr n)
{
    return xmlGetLineNo(n);
}

static int cmp_role(const void *a, const void *b)
{
    return strcmp(((const raci_role *)a)->id, ((const raci_role *)b)->id);
}

static int cmp_principal(const void *a, const void *b)
{
    return strcmp(((const raci_principal *)a)->id, ((const raci_principal *)b)->id);
}

static int cmp_act_ptr(const void *a, const void *b)
{
    return strcmp((*(raci_activity *const *)a)->id, (*(raci_activity *const *)b)->id);
}

static const raci_role *find_role(const raci_policy *p, const char *id)
{
    raci_role key = {.id = (char *)id};
    return p->nroles ? bsearch(&key, p->roles, p->nroles, sizeof key, cmp_role) : NULL;
}

const raci_principal *raci__principal(const raci_policy *p, const char *id)
{
    if (!id || !p->nprincipals)
        return NULL;
    raci_principal key = {.id = (char *)id};
    return bsearch(&key, p->principals, p->nprincipals, sizeof key, cmp_principal);
}

static size_t count_elements(xmlNodePtr parent, const char *local)
{
    size_t n = 0;
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        if (xsafe_is(c, RACI_NS, local))
            n++;
    return n;
}

static xmlNodePtr child(xmlNodePtr parent, const char *local)
{
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        if (xsafe_is(c, RACI_NS, local))
            return c;
    return NULL;
}

static void free_assignees(raci_activity *a)
{
    for (int k = 0; k < RACI_IX_N; k++) {
        for (size_t i = 0; i < a->n[k]; i++) {
            free((char *)a->as[k][i].principal);
            free((char *)a->as[k][i].role);
        }
        free(a->as[k]);
    }
}

void raci_free(raci_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nroles; i++) {
        free(p->roles[i].id);
        free(p->roles[i].name);
    }
    free(p->roles);
    for (size_t i = 0; i < p->nprincipals; i++) {
        raci_principal *pr = &p->principals[i];
        free(pr->id);
        free(pr->kind);
        free(pr->name);
        for (size_t j = 0; j < pr->nroles; j++)
            free(pr->roles[j]);
        free(pr->roles);
    }
    free(p->principals);
    for (size_t i = 0; i < p->nacts; i++) {
        raci_activity *a = &p->acts[i];
        free(a->id);
        free(a->kind);
        free(a->name);
        free_assignees(a);
    }
    free(p->acts);
    free(p->acts_sorted);
    free(p->name);
    free(p->version);
    free(p);
}

/* Split a whitespace-separated list (the XSD's IdList) into malloc'd strings. */
static int split_roles(load_ctx *l, const char *s, raci_principal *pr)
{
    if (!s)
        return ADT_OK;
    size_t cap = 0;
    for (const char *q = s; *q;) {
        while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
            q++;
        if (!*q)
            break;
        const char *e = q;
        while (*e && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r')
            e++;
        if (pr->nroles == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            char **nr = realloc(pr->roles, ncap * sizeof *nr);
            if (!nr)
                return l->oom = true, ADT_ENOMEM;
            pr->roles = nr;
            cap = ncap;
        }
        pr->roles[pr->nroles] = strndup(q, (size_t)(e - q));
        if (!pr->roles[pr->nroles])
            return l->oom = true, ADT_ENOMEM;
        pr->nroles++;
        q = e;
    }
    return ADT_OK;
}

static const char *letter_name(int ix)
{
    static const char *const names[] = {"responsible", "accountable", "consulted", "informed"};
    return names[ix];
}

/* The roles, sorted by id; a role defined twice is a problem. */
static int build_roles(load_ctx *l, xmlNodePtr roles, raci_policy *p)
{
    size_t n = count_elements(roles, "role");
    p->roles = calloc(n ? n : 1, sizeof *p->roles);
    if (!p->roles)
        return l->oom = true, ADT_ENOMEM;
    for (xmlNodePtr c = roles ? roles->children : NULL; c; c = c->next) {
        if (!xsafe_is(c, RACI_NS, "role"))
            continue;
        raci_role *r = &p->roles[p->nroles++];
        r->id = attr_dup(l, c, "id");
        r->name = attr_dup(l, c, "name");
        r->line = node_line(c);
        if (l->oom || !r->id)
            return ADT_ENOMEM;
    }
    qsort(p->roles, p->nroles, sizeof *p->roles, cmp_role);
    for (size_t i = 1; i < p->nroles; i++)
        if (!strcmp(p->roles[i].id, p->roles[i - 1].id))
            problem(l, p->roles[i].line > p->roles[i - 1].line ? p->roles[i].line
                                                                : p->roles[i - 1].line,
                    "role '%s' is defined twice", p->roles[i].id);
    return ADT_OK;
}

/* One principal: its id must say whether it is an agent, its roles exist. */
static int build_principal(load_ctx *l, xmlNodePtr c, const raci_policy *p, raci_principal *pr)
{
    pr->id = attr_dup(l, c, "id");
    pr->kind = attr_dup(l, c, "kind");
    pr->name = attr_dup(l, c, "name");
    pr->line = node_line(c);
    char *rl = xsafe_attr(c, "roles");
    int rc = split_roles(l, rl, pr);
    xmlFree(rl);
    if (rc != ADT_OK || l->oom || !pr->id || !pr->kind)
        return ADT_ENOMEM;
    bool agent_id = strncmp(pr->id, "agent:", 6) == 0;
    if (!strcmp(pr->kind, "agent") && !agent_id)
        problem(l, pr->line, "agent '%s': agent ids start with 'agent:' (e.g. agent:%s)", pr->id,
                pr->id);
    else if (strcmp(pr->kind, "agent") && agent_id)
        problem(l, pr->line, "principal '%s' is named like an agent but has kind '%s'", pr->id,
                pr->kind);
    for (size_t j = 0; j < pr->nroles; j++)
        if (!find_role(p, pr->roles[j]))
            problem(l, pr->line, "principal '%s' has role '%s', which is not defined", pr->id,
                    pr->roles[j]);
    return ADT_OK;
}

/* The principals (after the roles), sorted by id. */
static int build_principals(load_ctx *l, xmlNodePtr prs, raci_policy *p)
{
    size_t n = count_elements(prs, "principal");
    p->principals = calloc(n ? n : 1, sizeof *p->principals);
    if (!p->principals)
        return l->oom = true, ADT_ENOMEM;
    for (xmlNodePtr c = prs ? prs->children : NULL; c; c = c->next)
        if (xsafe_is(c, RACI_NS, "principal") &&
            build_principal(l, c, p, &p->principals[p->nprincipals++]))
            return ADT_ENOMEM;
    qsort(p->principals, p->nprincipals, sizeof *p->principals, cmp_principal);
    for (size_t i = 1; i < p->nprincipals; i++)
        if (!strcmp(p->principals[i].id, p->principals[i - 1].id))
            problem(l, p->principals[i].line > p->principals[i - 1].line
                           ? p->principals[i].line
                           : p->principals[i - 1].line,
                    "principal '%s' is defined twice", p->principals[i].id);
    return ADT_OK;
}

/* <sla ack= resolve= inform=> of activity `a`. */
static void read_sla(load_ctx *l, xmlNodePtr e, raci_activity *a)
{
    static const char *const keys[] = {"ack", "resolve", "inform"};
    int64_t *dst[] = {&a->sla.ack_s, &a->sla.resolve_s, &a->sla.inform_s};
    for (int k = 0; k < 3; k++) {
        char *v = xsafe_attr(e, keys[k]);
        if (v && raci_parse_duration(v, dst[k]) != ADT_OK)
            problem(l, node_line(e),
                    "activity '%s': sla %s '%s' is not a duration (PT4H, P3D or seconds)", a->id,
                    keys[k], v);
        xmlFree(v);
    }
}

/* One <responsible|accountable|consulted|informed> (letter `ix`) of `a`:
 * exactly one of principal= or role=, naming one that is defined. */
static int add_assignee(load_ctx *l, xmlNodePtr e, int ix, const raci_policy *p,
                        raci_activity *a, size_t cap[RACI_IX_N])
{
    long line = node_line(e);
    char *pr = attr_dup(l, e, "principal"), *ro = attr_dup(l, e, "role");
    if (l->oom || (pr != NULL) == (ro != NULL)) {
        if (!l->oom)
            problem(l, line, "activity '%s': <%s> needs exactly one of principal= or role=",
                    a->id, letter_name(ix));
        free(pr);
        free(ro);
        return l->oom ? ADT_ENOMEM : ADT_OK;
    }
    if (pr && !raci__principal(p, pr))
        problem(l, line, "activity '%s': %s principal '%s' is not defined", a->id,
                letter_name(ix), pr);
    if (ro && !find_role(p, ro))
        problem(l, line, "activity '%s': %s role '%s' is not defined", a->id, letter_name(ix),
                ro);
    if (a->n[ix] == cap[ix]) {
        size_t ncap = cap[ix] ? cap[ix] * 2 : 2;
        raci_assignee *na = realloc(a->as[ix], ncap * sizeof *na);
        if (!na) {
            free(pr);
            free(ro);
            return l->oom = true, ADT_ENOMEM;
        }
        a->as[ix] = na;
        cap[ix] = ncap;
    }
    a->as[ix][a->n[ix]++] = (raci_assignee){pr, ro};
    return ADT_OK;
}

/* Exactly one person accountable (a principal, or a role with one member),
 * at least one responsible, and the consulted/informed the flags ask for. */
static void check_activity(load_ctx *l, const raci_policy *p, raci_activity *a)
{
    if (a->n[RACI_IX_A] != 1)
        problem(l, a->line, "activity '%s' has %zu accountable%s; exactly one is required",
                a->id, a->n[RACI_IX_A], a->n[RACI_IX_A] == 1 ? "" : "s");
    else if (a->as[RACI_IX_A][0].principal)
        a->accountable = a->as[RACI_IX_A][0].principal;
    else if (find_role(p, a->as[RACI_IX_A][0].role)) {
        const char *only = NULL;
        size_t members = 0;
        for (size_t i = 0; i < p->nprincipals; i++)
            for (size_t j = 0; j < p->principals[i].nroles; j++)
                if (!strcmp(p->principals[i].roles[j], a->as[RACI_IX_A][0].role)) {
                    members++;
                    only = p->principals[i].id;
                }
        if (members != 1)
            problem(l, a->line,
                    "activity '%s': accountable role '%s' has %zu members; exactly one "
                    "person must be accountable (name a principal)",
                    a->id, a->as[RACI_IX_A][0].role, members);
        else
            a->accountable = only;
    }
    if (a->n[RACI_IX_R] == 0)
        problem(l, a->line, "activity '%s' has no responsible; at least one is required", a->id);
    if (a->consult && a->n[RACI_IX_C] == 0)
        problem(l, a->line,
                "activity '%s' requires consultation before approval but names no consulted",
                a->id);
    if (a->sla.inform_s >= 0 && a->n[RACI_IX_I] == 0)
        problem(l, a->line, "activity '%s' has an inform SLA but names no informed", a->id);
}

/* One activity: its attributes, SLA and assignees, then its checks. */
static int build_activity(load_ctx *l, xmlNodePtr c, const raci_policy *p, raci_activity *a)
{
    a->id = attr_dup(l, c, "id");
    a->kind = attr_dup(l, c, "kind");
    a->name = attr_dup(l, c, "name");
    a->line = node_line(c);
    a->sla = (raci_sla){-1, -1, -1};
    char *cb = xsafe_attr(c, "consult-before-approval");
    a->consult = cb && (!strcmp(cb, "true") || !strcmp(cb, "1"));
    xmlFree(cb);
    if (l->oom || !a->id || !a->kind)
        return ADT_ENOMEM;
    if (strcmp(a->kind, "other")) {
        size_t kl = strlen(a->kind);
        if (strncmp(a->id, a->kind, kl) || a->id[kl] != ':' || !a->id[kl + 1])
            problem(l, a->line, "activity '%s' of kind '%s' must be named '%s:NAME'", a->id,
                    a->kind, a->kind);
    }
    size_t cap[RACI_IX_N] = {0};
    for (xmlNodePtr e = c->children; e; e = e->next) {
        int ix = xsafe_is(e, RACI_NS, "responsible")   ? RACI_IX_R
                 : xsafe_is(e, RACI_NS, "accountable") ? RACI_IX_A
                 : xsafe_is(e, RACI_NS, "consulted")   ? RACI_IX_C
                 : xsafe_is(e, RACI_NS, "informed")    ? RACI_IX_I
                                                       : -1;
        if (xsafe_is(e, RACI_NS, "sla"))
            read_sla(l, e, a);
        else if (ix >= 0 && add_assignee(l, e, ix, p, a, cap))
            return ADT_ENOMEM;
    }
    check_activity(l, p, a);
    return ADT_OK;
}

/* The activities (after roles and principals); acts_sorted by id. */
static int build_activities(load_ctx *l, xmlNodePtr acts, raci_policy *p)
{
    size_t n = count_elements(acts, "activity");
    p->acts = calloc(n ? n : 1, sizeof *p->acts);
    p->acts_sorted = calloc(n ? n : 1, sizeof *p->acts_sorted);
    if (!p->acts || !p->acts_sorted)
        return l->oom = true, ADT_ENOMEM;
    for (xmlNodePtr c = acts ? acts->children : NULL; c; c = c->next) {
        if (!xsafe_is(c, RACI_NS, "activity"))
            continue;
        raci_activity *a = &p->acts[p->nacts];
        p->acts_sorted[p->nacts++] = a;
        if (build_activity(l, c, p, a))
            return ADT_ENOMEM;
    }
    qsort(p->acts_sorted, p->nacts, sizeof *p->acts_sorted, cmp_act_ptr);
    for (size_t i = 1; i < p->nacts; i++)
        if (!strcmp(p->acts_sorted[i]->id, p->acts_sorted[i - 1]->id)) {
            const raci_activity *x = p->acts_sorted[i], *y = p->acts_sorted[i - 1];
            problem(l, x->line > y->line ? x->line : y->line, "activity '%s' is defined twice",
                    x->id);
        }
    return ADT_OK;
}

/* Read the structure from a schema-valid document. Semantic problems are
 * reported through `l`; the policy is built even when there are some. */
static int build(load_ctx *l, xmlNodePtr root, raci_policy *p)
{
    p->name = attr_dup(l, root, "name");
    p->version = attr_dup(l, root, "version");
    if (build_roles(l, child(root, "roles"), p) ||
        build_principals(l, child(root, "principals"), p) ||
        build_activities(l, child(root, "activities"), p))
        return ADT_ENOMEM;
    return l->oom ? ADT_ENOMEM : ADT_OK;
}

int raci_load_mem(const char *data, size_t len, const char *name, raci_diag_fn diag, void *dctx,
                  raci_policy **out, adt_err *err)
{
    adt_err local;
    if (!err)
        err = &local; /* messages are built in err->msg */
    *out = NULL;
    if (!name)
        name = "policy";
    if (len > RACI_MAX_FILE)
        return adt_fail(err, ADT_ETOOBIG, "%s: %zu bytes is over the %u-byte limit for policies",
                        name, len, RACI_MAX_FILE);
    load_ctx l = {name, diag, dctx, err, 0, false};
    xmlDocPtr doc = NULL;
    int rc = xsafe_parse(data, len, name, diag, dctx, &doc, err);
    if (rc != ADT_OK)
        return rc;
    xmlSchemaPtr schema = NULL;
    adt_err serr;
    rc = xsafe_schema_mem(raci_xsd(), raci_xsd_text_len, &schema, &serr);
    if (rc != ADT_OK) {
        xmlFreeDoc(doc);
        return adt_fail(err, ADT_EINTERNAL, "built-in RACI schema: %s", serr.msg);
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!xsafe_is(root, RACI_NS, "raci")) {
        problem(&l, node_line(root),
                "root element is <%s>; a RACI policy is <raci xmlns=\"%s\">", root->name,
                RACI_NS);
        rc = ADT_EINVAL;
    } else {
        rc = xsafe_validate(doc, schema, name, diag_forward, &l, err);
    }
    xmlSchemaFree(schema);
    if (rc != ADT_OK) {
        xmlFreeDoc(doc);
        return rc;
    }
    raci_policy *p = calloc(1, sizeof *p);
    if (!p) {
        xmlFreeDoc(doc);
        return adt_fail(err, ADT_ENOMEM, "out of memory loading %s", name);
    }
    rc = build(&l, root, p);
    xmlFreeDoc(doc);
    if (rc == ADT_OK && l.problems > 0) {
        if (l.problems > 1) {
            size_t m = strlen(err->msg);
            snprintf(err->msg + m, sizeof err->msg - m, " (and %zu more problems)",
                     l.problems - 1);
        }
        rc = ADT_EINVAL;
    } else if (rc != ADT_OK) {
        rc = adt_fail(err, ADT_ENOMEM, "out of memory loading %s", name);
    }
    if (rc != ADT_OK) {
        raci_free(p);
        return rc;
    }
    sha256_hex(data, len, p->sha256);
    *out = p;
    return ADT_OK;
}

int raci_load(const char *path, raci_diag_fn diag, void *dctx, raci_policy **out, adt_err *err)
{
    *out = NULL;
    buf b;
    buf_init(&b, RACI_MAX_FILE + 1);
    int rc = afile_read(path, RACI_MAX_FILE, &b, err);
    if (rc == ADT_OK)
        rc = raci_load_mem(b.data, b.len, path, diag, dctx, out, err);
    buf_free(&b);
    return rc;
}

int raci_load_current(const char *data_dir, raci_policy **out, adt_err *err)
{
    *out = NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, RACI_POLICY_FILE) >= sizeof path)
        return adt_fail(err, ADT_EINVAL, "data directory path too long");
    if (access(path, F_OK) != 0)
        return adt_fail(err, ADT_ENOTFOUND,
                        "no RACI policy in %s: load one with 'auditd policy load FILE'",
                        data_dir);
    return raci_load(path, NULL, NULL, out, err);
}

/* ---- Queries ------------------------------------------------------------ */

const char *raci_name(const raci_policy *p)
{
    return p->name;
}

const char *raci_version(const raci_policy *p)
{
    return p->version;
}

const char *raci_sha256(const raci_policy *p)
{
    return p->sha256;
}

bool raci_principal_exists(const raci_policy *p, const char *principal)
{
    return raci__principal(p, principal) != NULL;
}

bool raci_role_exists(const raci_policy *p, const char *role)
{
    return role && find_role(p, role) != NULL;
}

bool raci_has_role(const raci_policy *p, const char *principal, const char *role)
{
    const raci_principal *pr = raci__principal(p, principal);
    if (!pr || !role)
        return false;
    for (size_t i = 0; i < pr->nroles; i++)
        if (!strcmp(pr->roles[i], role))
            return true;
    return false;
}

bool raci__matches(const raci_policy *p, const raci_assignee *as, const char *principal)
{
    if (!principal)
        return false;
    if (as->principal)
        return !strcmp(as->principal, principal);
    return raci_has_role(p, principal, as->role);
}

const raci_activity *raci_find_activity(const raci_policy *p, const char *activity_id)
{
    if (!activity_id || !p->nacts)
        return NULL;
    raci_activity key = {.id = (char *)activity_id};
    const raci_activity *kp = &key;
    raci_activity *const *hit =
        bsearch(&kp, p->acts_sorted, p->nacts, sizeof *p->acts_sorted, cmp_act_ptr);
    return hit ? *hit : NULL;
}

size_t raci_activity_count(const raci_policy *p)
{
    return p->nacts;
}

const raci_activity *raci_activity_at(const raci_policy *p, size_t i)
{
    return i < p->nacts ? &p->acts[i] : NULL;
}

const char *raci_activity_id(const raci_activity *a)
{
    return a->id;
}

const char *raci_activity_kind(const raci_activity *a)
{
    return a->kind;
}

const char *raci_accountable(const raci_activity *a)
{
    return a->accountable;
}

bool raci_consult_required(const raci_activity *a)
{
    return a->consult;
}

raci_sla raci_activity_sla(const raci_activity *a)
{
    return a->sla;
}

static int letter_ix(int letter)
{
    switch (letter) {
    case RACI_R: return RACI_IX_R;
    case RACI_A: return RACI_IX_A;
    case RACI_C: return RACI_IX_C;
    case RACI_I: return RACI_IX_I;
    default: return -1;
    }
}

int raci_letters(const raci_policy *p, const char *activity_id, const char *principal)
{
    const raci_activity *a = raci_find_activity(p, activity_id);
    if (!a || !principal)
        return 0;
    static const int bits[RACI_IX_N] = {RACI_R, RACI_A, RACI_C, RACI_I};
    int mask = 0;
    for (int k = 0; k < RACI_IX_N; k++)
        for (size_t i = 0; i < a->n[k]; i++)
            if (raci__matches(p, &a->as[k][i], principal)) {
                mask |= bits[k];
                break;
            }
    /* A role with one member named as accountable resolves to that person. */
    if (a->accountable && !strcmp(a->accountable, principal))
        mask |= RACI_A;
    return mask;
}

bool raci_may_act(const raci_policy *p, const char *activity_id, const char *principal)
{
    return (raci_letters(p, activity_id, principal) & (RACI_R | RACI_A)) != 0;
}

size_t raci_assignees(const raci_activity *a, int letter, const raci_assignee **out)
{
    int ix = letter_ix(letter);
    if (ix < 0) {
        *out = NULL;
        return 0;
    }
    *out = a->as[ix];
    return a->n[ix];
}

size_t raci_principals(const raci_policy *p, const raci_activity *a, int letter,
                       const char **out, size_t cap)
{
    int ix = letter_ix(letter);
    if (ix < 0)
        return 0;
    size_t count = 0;
    /* Principals are sorted, so the result is sorted and deduplicated. */
    for (size_t i = 0; i < p->nprincipals; i++) {
        const char *id = p->principals[i].id;
        for (size_t j = 0; j < a->n[ix]; j++)
            if (raci__matches(p, &a->as[ix][j], id)) {
                if (count < cap)
                    out[count] = id;
                count++;
                break;
            }
    }
    return count;
}

/* Parse up to 9 digits at *s followed by unit `u`; advance on success. */
static bool dur_part(const char **s, char u, int64_t mult, int64_t *acc, bool *any)
{
    const char *q = *s;
    int64_t v = 0;
    int nd = 0;
    while (*q >= '0' && *q <= '9' && nd < 10) {
        v = v * 10 + (*q - '0');
        q++;
        nd++;
    }
    if (nd == 0 || *q != u)
        return false;
    if (nd > 9)
        return false;
    *acc += v * mult;
    *any = true;
    *s = q + 1;
    return true;
}

int raci_parse_duration(const char *s, int64_t *seconds)
{
    if (!s || !*s)
        return ADT_EINVAL;
    if (*s >= '0' && *s <= '9')
        return num_i64(s, 0, INT64_C(999999999999), seconds) == ADT_OK ? ADT_OK : ADT_EINVAL;
    if (*s != 'P')
        return ADT_EINVAL;
    const char *q = s + 1;
    int64_t acc = 0;
    bool any = false;
    dur_part(&q, 'W', 7 * 86400, &acc, &any);
    dur_part(&q, 'D', 86400, &acc, &any);
    if (*q == 'T') {
        q++;
        bool anyt = false;
        dur_part(&q, 'H', 3600, &acc, &anyt);
        dur_part(&q, 'M', 60, &acc, &anyt);
        dur_part(&q, 'S', 1, &acc, &anyt);
        if (!anyt)
            return ADT_EINVAL;
        any = true;
    }
    if (!any || *q)
        return ADT_EINVAL;
    *seconds = acc;
    return ADT_OK;
}

/* ---- JSON --------------------------------------------------------------- */

static cJSON *assignees_json(const raci_activity *a, int ix)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < a->n[ix]; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        if (a->as[ix][i].principal)
            cJSON_AddStringToObject(o, "principal", a->as[ix][i].principal);
        else
            cJSON_AddStringToObject(o, "role", a->as[ix][i].role);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

int raci_to_json(const raci_policy *p, cJSON **out, adt_err *err)
{
    *out = NULL;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    cJSON_AddStringToObject(j, "name", p->name);
    cJSON_AddStringToObject(j, "version", p->version);
    cJSON_AddStringToObject(j, "sha256", p->sha256);
    cJSON *roles = cJSON_AddArrayToObject(j, "roles");
    for (size_t i = 0; roles && i < p->nroles; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "id", p->roles[i].id);
        if (p->roles[i].name)
            cJSON_AddStringToObject(o, "name", p->roles[i].name);
        cJSON_AddItemToArray(roles, o);
    }
    cJSON *prs = cJSON_AddArrayToObject(j, "principals");
    for (size_t i = 0; prs && i < p->nprincipals; i++) {
        const raci_principal *pr = &p->principals[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "id", pr->id);
        cJSON_AddStringToObject(o, "kind", pr->kind);
        if (pr->name)
            cJSON_AddStringToObject(o, "name", pr->name);
        cJSON *rl = cJSON_AddArrayToObject(o, "roles");
        for (size_t k = 0; rl && k < pr->nroles; k++)
            cJSON_AddItemToArray(rl, cJSON_CreateString(pr->roles[k]));
        cJSON_AddItemToArray(prs, o);
    }
    cJSON *acts = cJSON_AddArrayToObject(j, "activities");
    for (size_t i = 0; acts && i < p->nacts; i++) {
        const raci_activity *a = &p->acts[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "id", a->id);
        cJSON_AddStringToObject(o, "kind", a->kind);
        if (a->name)
            cJSON_AddStringToObject(o, "name", a->name);
        if (a->accountable)
            cJSON_AddStringToObject(o, "accountable", a->accountable);
        static const char *const keys[RACI_IX_N] = {"r", "a", "c", "i"};
        for (int k = 0; k < RACI_IX_N; k++)
            cJSON_AddItemToObject(o, keys[k], assignees_json(a, k));
        cJSON_AddBoolToObject(o, "consult_before_approval", a->consult);
        cJSON *sla = cJSON_AddObjectToObject(o, "sla");
        if (sla) {
            if (a->sla.ack_s >= 0)
                cJSON_AddNumberToObject(sla, "ack_s", (double)a->sla.ack_s);
            if (a->sla.resolve_s >= 0)
                cJSON_AddNumberToObject(sla, "resolve_s", (double)a->sla.resolve_s);
            if (a->sla.inform_s >= 0)
                cJSON_AddNumberToObject(sla, "inform_s", (double)a->sla.inform_s);
        }
        cJSON_AddItemToArray(acts, o);
    }
    /* cJSON's Add* functions fail silently on allocation failure: check the result. */
    char *probe = cJSON_PrintUnformatted(j);
    if (!probe || cJSON_GetArraySize(cJSON_GetObjectItem(j, "activities")) != (int)p->nacts) {
        free(probe);
        cJSON_Delete(j);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    free(probe);
    *out = j;
    return ADT_OK;
}

/* ---- Storing -------------------------------------------------------------- */

int raci_store(const char *data_dir, const char *path, raci_store_commit_fn commit, void *cctx,
               raci_policy **out, adt_err *err)
{
    if (out)
        *out = NULL;
    buf b;
    buf_init(&b, RACI_MAX_FILE + 1);
    raci_policy *p = NULL;
    afile_staged cur = {.pending = false};
    int rc = afile_read(path, RACI_MAX_FILE, &b, err);
    if (rc == ADT_OK)
        rc = raci_load_mem(b.data, b.len, path, NULL, NULL, &p, err);
    char dir[4096], hist[4200], curp[4200];
    if (rc == ADT_OK &&
        (size_t)snprintf(dir, sizeof dir, "%s/%s", data_dir, RACI_POLICY_DIR) >= sizeof dir)
        rc = adt_fail(err, ADT_EINVAL, "data directory path too long");
    if (rc == ADT_OK) {
        snprintf(hist, sizeof hist, "%s/%s.xml", dir, p->sha256);
        snprintf(curp, sizeof curp, "%s/%s", data_dir, RACI_POLICY_FILE);
        if (mkdir(data_dir, 0700) != 0 && errno != EEXIST)
            rc = adt_fail(err, ADT_EIO, "%s: cannot create: %s", data_dir, strerror(errno));
        else if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            rc = adt_fail(err, ADT_EIO, "%s: cannot create: %s", dir, strerror(errno));
    }
    /* Every policy ever loaded is kept by hash; the one in force is staged,
     * recorded by `commit` (the ledger), and only then put in force. */
    if (rc == ADT_OK)
        rc = afile_write(hist, b.data, b.len, 0600, err);
    if (rc == ADT_OK)
        rc = afile_stage(&cur, curp, b.data, b.len, 0600, err);
    if (rc == ADT_OK && commit)
        rc = commit(cctx, p, err);
    if (rc == ADT_OK)
        rc = afile_publish(&cur, err);
    afile_abort(&cur);
    buf_free(&b);
    if (rc != ADT_OK) {
        raci_free(p);
        return rc;
    }
    if (out)
        *out = p;
    else
        raci_free(p);
    return ADT_OK;
}
