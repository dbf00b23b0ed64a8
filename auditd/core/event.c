#include "event.h"

#include "rfc3339.h"

#include <stdio.h>
#include <string.h>

/* Who may write what. Keep in step with docs/events.md (a test checks that
 * every type is documented there with these writers). */
enum {
    A = EVENT_WRITER_AUDITD,
    D = EVENT_WRITER_ADMIN,
    E = EVENT_WRITER_EDGE,
    P = EVENT_WRITER_PLATFORM,
    U = EVENT_WRITER_PERSON
};

const event_type_def event_type_table[] = {
    /* change management and deployment */
    {"change.request", P | D | U},
    {"change.consult", P | D | U},
    {"change.approve", P | D | U},
    {"change.reject", P | D | U},
    {"firmware.scan", P | D},
    {"firmware.deploy", P | E | D},
    {"model.register", A},
    {"model.deploy", A},
    {"model.train", A},
    {"config.change", P | E | D},
    {"notify.inform", P | D | U},
    /* incidents and alerts */
    {"incident.open", P | E | D | U},
    {"incident.ack", P | D | U},
    {"incident.resolve", P | D | U},
    {"incident.review", P | D | U},
    {"alert.raise", P | E | A},
    {"alert.ack", P | D | U},
    {"alert.resolve", P | D | U},
    {"alert.escalate", A},
    {"label.set", D | U},
    {"retrain.request", A},
    /* access and identity */
    {"access.grant", P | D},
    {"access.revoke", P | D},
    {"access.review", P | D},
    {"principal.depart", P | D},
    {"agent.add", A},
    {"agent.revoke", A},
    {"token.create", A},
    {"token.revoke", A},
    {"person.add", A},
    {"person.revoke", A},
    {"server.start", A},
    {"server.stop", A},
    /* operations and assurance */
    {"ledger.verify", A},
    {"backup.taken", P | D},
    {"backup.restore_test", P | D},
    {"policy.load", A},
    {"scope.change", A},
    {"report.issued", A},
    {"site.shipment", A},
    /* pipeline */
    {"profile.change", A},
    {"device.register", A},
    {"telemetry.batch", A},
    {"telemetry.reject", A},
    {"dataset.define", A},
    {"prediction.summary", A},
    {"drift.detected", A},
    {"machine.state", E | P},
    {"quarantine.replay", U},
    {NULL, 0}};

static const char *const writer_names[] = {"auditd", "admin", "edge", "platform", "person"};

static bool private_type_ok(const char *type)
{
    size_t n = strlen(type);
    if (n < 3 || n > EVENT_TYPE_MAX)
        return false;
    for (size_t i = 2; i < n; i++) {
        char c = type[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
            return false;
    }
    return true;
}

unsigned event_type_writers(const char *type)
{
    if (!strncmp(type, "x-", 2))
        return private_type_ok(type) ? (EVENT_WRITERS_ALL & ~(unsigned)EVENT_WRITER_AUDITD) : 0;
    for (size_t i = 0; event_type_table[i].type; i++)
        if (!strcmp(event_type_table[i].type, type))
            return event_type_table[i].writers;
    return 0;
}

bool event_type_known(const char *type) { return event_type_writers(type) != 0; }

bool event_writer_may(const char *type, event_writer w)
{
    return w != EVENT_WRITER_NONE && (event_type_writers(type) & (unsigned)w) == (unsigned)w;
}

const char *event_writer_name(event_writer w)
{
    for (size_t i = 0; i < sizeof writer_names / sizeof *writer_names; i++)
        if ((unsigned)w == 1u << i)
            return writer_names[i];
    return "";
}

event_writer event_writer_parse(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof writer_names / sizeof *writer_names; i++)
        if (strlen(writer_names[i]) == n && !memcmp(writer_names[i], s, n))
            return (event_writer)(1u << i);
    return EVENT_WRITER_NONE;
}

void event_writers_text(unsigned mask, char *out, size_t cap)
{
    size_t used = 0;
    if (cap)
        out[0] = '\0';
    for (size_t i = 0; i < sizeof writer_names / sizeof *writer_names; i++) {
        if (!(mask & (1u << i)))
            continue;
        int k = snprintf(out + used, cap > used ? cap - used : 0, "%s%s", used ? ", " : "",
                         writer_names[i]);
        if (k < 0 || (size_t)k >= (cap > used ? cap - used : 0))
            return;
        used += (size_t)k;
    }
}

/* Copy a top-level string member (without escapes) of canonical JSON. */
static int string_member(const char *json, size_t len, const char *key, char *out, size_t cap,
                         adt_err *err)
{
    const char *v;
    size_t vl;
    int rc = canon_member(json, len, key, &v, &vl);
    if (rc == ADT_ENOTFOUND)
        return adt_fail(err, ADT_EINVAL, "event has no \"%s\" field (required: type, time, actor)", key);
    if (rc || vl < 2 || v[0] != '"')
        return adt_fail(err, ADT_EINVAL, "event field \"%s\" must be a string", key);
    if (vl - 2 == 0)
        return adt_fail(err, ADT_EINVAL, "event field \"%s\" is empty", key);
    if (vl - 2 >= cap)
        return adt_fail(err, ADT_EINVAL, "event field \"%s\" is longer than %zu bytes", key, cap - 1);
    if (memchr(v + 1, '\\', vl - 2))
        return adt_fail(err, ADT_EINVAL, "event field \"%s\" must not contain escaped characters", key);
    memcpy(out, v + 1, vl - 2);
    out[vl - 2] = '\0';
    return ADT_OK;
}

int event_validate(const char *json, size_t len, const canon_limits *lim, buf *out,
                   event_info *info, adt_err *err)
{
    size_t start = out->len;
    int rc = canon_json(json, len, lim, true, out, err);
    if (rc)
        return rc;
    const char *c = out->data + start;
    size_t cl = out->len - start;
    event_info tmp;
    char when[64];
    if ((rc = string_member(c, cl, "type", tmp.type, sizeof tmp.type, err)) ||
        (rc = string_member(c, cl, "actor", tmp.actor, sizeof tmp.actor, err)) ||
        (rc = string_member(c, cl, "time", when, sizeof when, err)))
        goto fail;
    if (!event_type_known(tmp.type)) {
        rc = adt_fail(err, ADT_EINVAL,
                      "event type \"%s\" is not in the vocabulary (docs/events.md); private types "
                      "start with \"x-\"", tmp.type);
        goto fail;
    }
    if (rfc3339_parse(when, strlen(when), &tmp.time_us) != ADT_OK) {
        rc = adt_fail(err, ADT_EINVAL, "event time \"%s\" is not RFC 3339 (e.g. 2026-07-01T08:00:00Z)", when);
        goto fail;
    }
    if (info)
        *info = tmp;
    return ADT_OK;
fail:
    out->len = start;
    out->data[start] = '\0';
    return rc;
}
