/* rights.c: the daemon's rights table (rights.h). */
#include "rights.h"

#include "person.h"

#include <string.h>

enum { ST = PERSON_STEERING, AU = PERSON_AUDITOR, OP = PERSON_OPERATOR, DS = PERSON_DATA_SCIENTIST,
       AP = PERSON_APPROVER, AD = PERSON_ADMIN, ALL = PERSON_ROLES_ALL };

/* Public rows first (they are never listed); then the rows people may hold,
 * in the order GET /v1/session lists them; then rows for tokens and agents
 * only (console 0), which also close what a console row leaves open. */
static const rights_entry table[] = {
    /* anyone */
    {"GET", "/healthz", API_NEED_PUBLIC, ALL, "liveness"},
    {"GET", "/metrics", API_NEED_PUBLIC, ALL, "metrics"},
    {"GET", "/v1/log/key", API_NEED_PUBLIC, ALL, "the log's public key"},
    {"GET", "/v1/log/checkpoint", API_NEED_PUBLIC, ALL, "the latest signed checkpoint"},
    {"POST", "/add-checkpoint", API_NEED_PUBLIC, ALL, "C2SP tlog-witness: cosign a checkpoint"},
    {"GET", "/v1/witness/...", API_NEED_PUBLIC, ALL, "the witness's monitoring"},
    {"GET", "/ui/...", API_NEED_PUBLIC, ALL, "the web console's files"},
    {"POST", "/v1/session", API_NEED_PUBLIC, ALL, "sign in"},
    /* people (and tokens, for the /v1/ API rows) */
    {"GET", "/v1/session", API_NEED_SESSION, ALL, "who am I"},
    {"DELETE", "/v1/session", API_NEED_SESSION, ALL, "sign out"},
    {"GET", "/v1/log/...", API_NEED_READ, ALL,
     "ledger entries and proofs (any record shown can be verified)"},
    /* steering committee */
    {"GET", "/v1/console/steering", API_NEED_SESSION, ST,
     "KPIs against baseline and previous quarter, issued reports"},
    {"POST", "/v1/console/reports", API_NEED_SESSION, ST, "issue the quarterly report"},
    {"GET", "/v1/reports/*", API_NEED_READ, ST | AU,
     "read a report (records nothing; issuing is the POST above)"},
    /* auditor */
    {"GET", "/v1/controls/...", API_NEED_READ, AU, "controls by framework"},
    {"GET", "/v1/findings", API_NEED_READ, AU, "findings"},
    {"GET", "/v1/events", API_NEED_READ, AU, "event search"},
    {"GET", "/v1/raci", API_NEED_READ, AU | DS | AP, "the RACI matrix"},
    /* operator */
    {"GET", "/v1/console/operations", API_NEED_SESSION, OP, "alerts, incidents, predictions to label"},
    {"GET", "/v1/devices/...", API_NEED_READ, OP, "device twins"},
    {"GET", "/v1/quarantine", API_NEED_READ, OP, "the quarantine"},
    {"POST", "/v1/console/alerts/*/ack", API_NEED_SESSION, OP, "acknowledge an alert"},
    {"POST", "/v1/console/alerts/*/resolve", API_NEED_SESSION, OP, "resolve an alert"},
    {"POST", "/v1/console/incidents/*/ack", API_NEED_SESSION, OP, "acknowledge an incident"},
    {"POST", "/v1/console/incidents/*/resolve", API_NEED_SESSION, OP, "resolve an incident"},
    {"POST", "/v1/console/labels", API_NEED_SESSION, OP, "label a prediction or an alert"},
    {"POST", "/v1/console/quarantine/replay", API_NEED_SESSION, OP, "replay the quarantine"},
    /* data scientist and Accountable approver */
    {"GET", "/v1/console/models", API_NEED_SESSION, DS | AP, "model registry, drift, change requests"},
    {"GET", "/v1/console/lineage", API_NEED_SESSION, DS | AP, "lineage of a model"},
    {"GET", "/v1/models", API_NEED_READ, DS | AP, "model registry (API)"},
    {"POST", "/v1/console/changes", API_NEED_SESSION, DS, "request a model change (retraining)"},
    {"POST", "/v1/console/changes/*/consult", API_NEED_SESSION, DS | AP,
     "record that you were consulted"},
    {"POST", "/v1/console/changes/*/approve", API_NEED_SESSION, AP,
     "approve a change (the Accountable only)"},
    {"POST", "/v1/console/changes/*/reject", API_NEED_SESSION, AP,
     "reject a change (the Accountable only)"},
    /* administrator */
    {"GET", "/v1/console/people", API_NEED_SESSION, AD, "people and their console roles"},
    {"GET", "/v1/agents", API_NEED_ADMIN, AD, "agents"},
    {"GET", "/v1/tokens", API_NEED_ADMIN, AD, "API tokens"},
    {"POST", "/v1/agents/*/revoke", API_NEED_ADMIN, AD, "revoke an agent"},
    /* tokens and agents only */
    {"POST", "/v1/agents/...", API_NEED_ADMIN, 0, "agents"},
    {"POST", "/v1/events", API_NEED_AGENT, 0, "append events"},
    {"GET", "/v1/agent/batches/...", API_NEED_AGENT, 0, "the receipt of a batch"},
    {"POST", "/v1/telemetry", API_NEED_AGENT, 0, "telemetry readings"},
    {"GET", "/v1/quarantine/...", API_NEED_READ, 0, "quarantined readings"},
    {"GET", "/v1/models/...", API_NEED_READ, 0, "a model"},
    {"GET", "/v1/reports/...", API_NEED_READ, 0, "a report"},
    {"POST", "/v1/reports/...", API_NEED_READ, 0, "issue a report (records report.issued)"},
    {"GET", "/v1/shipments/...", API_NEED_READ, 0, "batches for the central tier"},
    {"GET", "/v1/central/...", API_NEED_READ, 0, "the central tier (auditd central serve)"},
    {"GET", "/v1/console/...", API_NEED_SESSION, 0, "console views"},
    {"POST", "/v1/console/...", API_NEED_SESSION, 0, "console actions"},
};

static bool seg_match(const char *pat, const char *path)
{
    for (;;) {
        if (!strncmp(pat, "...", 3))
            return true;
        if (!*pat)
            return !*path;
        if (pat[0] == '*' && (pat[1] == '/' || !pat[1])) {
            const char *e = strchr(path, '/');
            size_t n = e ? (size_t)(e - path) : strlen(path);
            if (!n)
                return false;
            pat++;
            path += n;
            continue;
        }
        if (pat[0] == '/' && !strcmp(pat + 1, "...") && !*path)
            return true;
        if (*pat != *path)
            return false;
        pat++;
        path++;
    }
}

const rights_entry *rights_find(const char *method, const char *path)
{
    const char *m = !strcmp(method, "HEAD") ? "GET" : method;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(table[i].method, m) && seg_match(table[i].pattern, path))
            return &table[i];
    return NULL;
}

bool rights_console_may(unsigned roles, const char *method, const char *path, const char **what)
{
    const rights_entry *r = rights_find(method, path);
    if (what)
        *what = r && r->console ? r->what : NULL;
    return r && (r->console & roles);
}

api_role rights_person_role(const rights_entry *r, unsigned roles)
{
    return (roles & PERSON_ADMIN) && r->console == PERSON_ADMIN ? API_ROLE_ADMIN
               : API_ROLE_AUDITOR;
}

size_t rights_count(void)
{
    return sizeof table / sizeof table[0];
}

const rights_entry *rights_at(size_t i)
{
    return i < rights_count() ? &table[i] : NULL;
}
