/* rights.h: who may call what: the daemon's one rights table.
 *
 * One row per method and path pattern says who the endpoint is for (an
 * api_need: public, agents, reader tokens, admin tokens, console sessions)
 * and which console roles (person.h) open it to a signed-in person. The
 * router (server.c) authenticates every request against it, the console
 * (console.c) checks sessions and lists a person's rights from it. Token
 * roles are named by api.h (api_token_role_parse), agent roles are the
 * writers their events carry (event.h, state_agent_role_valid). Parts below the
 * daemon that check a caller again (pipeline, controls, reports) use
 * api_role_may, so they cannot disagree with a row.
 *
 * Patterns: segments compared one by one; "*" is one non-empty segment; a
 * trailing "..." matches the rest (also nothing). The first matching row
 * decides; HEAD is checked as GET. A request reaches the table only after a
 * route matched it (server.c), so rows may be wider than the routes. */
#ifndef AUDITD_RIGHTS_H
#define AUDITD_RIGHTS_H

#include "api.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct rights_entry {
    const char *method;
    const char *pattern;
    api_need need;
    unsigned console; /* console roles (PERSON_* bits) that open it to a session; 0: none */
    const char *what; /* shown to people in GET /v1/session */
} rights_entry;

/* The row deciding `method` `path`, or NULL (nobody may). */
const rights_entry *rights_find(const char *method, const char *path);

/* May a person with console `roles` call `method` `path`? *what (may be
 * NULL) is the row's description, NULL without a row. */
bool rights_console_may(unsigned roles, const char *method, const char *path, const char **what);

/* The API role a person with console `roles` acts with on row `r`: admin on
 * the rows only console admins hold, else auditor (a reader). */
api_role rights_person_role(const rights_entry *r, unsigned roles);

/* The rows, in order, for listing (GET /v1/session): i < rights_count(). */
size_t rights_count(void);
const rights_entry *rights_at(size_t i);

#endif
