/* raci_int.h: the private layout of a loaded RACI policy, shared by raci.c
 * (loading, queries, storing) and raci_eval.c (evaluation). Not for callers. */
#ifndef AUDITD_RACI_INT_H
#define AUDITD_RACI_INT_H

#include "raci.h"

typedef struct raci_role {
    char *id;
    char *name;
    long line;
} raci_role;

typedef struct raci_principal {
    char *id;
    char *kind; /* "person" | "agent" */
    char *name;
    char **roles;
    size_t nroles;
    long line;
} raci_principal;

/* Letter index into raci_activity.as: R, A, C, I. */
enum { RACI_IX_R = 0, RACI_IX_A, RACI_IX_C, RACI_IX_I, RACI_IX_N };

struct raci_activity {
    char *id;
    char *kind;
    char *name;
    bool consult;
    raci_assignee *as[RACI_IX_N];
    size_t n[RACI_IX_N];
    raci_sla sla;
    const char *accountable; /* resolved principal id */
    long line;
};

struct raci_policy {
    char *name;
    char *version;
    char sha256[65];
    raci_role *roles;           /* sorted by id */
    size_t nroles;
    raci_principal *principals; /* sorted by id */
    size_t nprincipals;
    raci_activity *acts;        /* file order */
    size_t nacts;
    raci_activity **acts_sorted; /* by id, for lookup */
};

/* Lookups (bsearch). NULL if absent. */
const raci_principal *raci__principal(const raci_policy *p, const char *id);

/* Does `principal` match assignee `as` (directly or by holding its role)? */
bool raci__matches(const raci_policy *p, const raci_assignee *as, const char *principal);

#endif
