#include "event.h"

#include "rfc3339.h"

#include <string.h>

/* Keep in step with docs/events.md. */
const char *const event_types[] = {
    "change.request", "change.consult", "change.approve", "change.reject",
    "firmware.scan", "firmware.deploy", "model.register", "model.deploy", "model.train",
    "config.change", "notify.inform",
    "incident.open", "incident.ack", "incident.resolve", "incident.review",
    "alert.raise", "alert.ack",
    "access.grant", "access.revoke", "access.review", "principal.depart",
    "agent.add", "agent.revoke", "token.create", "token.revoke", "server.start", "server.stop",
    "ledger.verify", "backup.taken", "backup.restore_test", "policy.load", "report.issued",
    "profile.change", "device.register", "telemetry.batch", "telemetry.reject", "dataset.define",
    "prediction.summary", "drift.detected", "machine.state", "scope.change",
    NULL};

bool event_type_known(const char *type)
{
    if (!strncmp(type, "x-", 2)) {
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
    for (size_t i = 0; event_types[i]; i++)
        if (!strcmp(event_types[i], type))
            return true;
    return false;
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
