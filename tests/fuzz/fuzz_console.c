/* Fuzz target: what the web console's requests carry (conreq.h): the Cookie
 * header with the session token, and the JSON bodies of sign-in, labels,
 * change requests, decisions and report issuing. The same bytes go through
 * every parser; each either fills its struct with values inside the
 * documented bounds or fails with a message, never both, never neither. */
#include "canon.h"
#include "conreq.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_text(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n >= cap || !canon_utf8_valid(s, n))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the Cookie header (a C string up to the first NUL) */
    char *hdr = malloc(size + 1);
    if (!hdr)
        return 0;
    memcpy(hdr, data, size);
    hdr[size] = 0;
    char v[CONREQ_TOKEN_HEX + 2];
    if (conreq_cookie(hdr, "auditd_session", v, sizeof v)) {
        if (!*v || strlen(v) >= sizeof v || strchr(v, ';'))
            abort();
        if (conreq_token_ok(v) && strlen(v) != CONREQ_TOKEN_HEX)
            abort();
    }
    free(hdr);

    const char *body = (const char *)data;
    adt_err err;
    conreq_login lg;
    memset(&err, 0, sizeof err);
    if (conreq_parse_login(body, size, &lg, &err) == ADT_OK) {
        if (!*lg.name || !*lg.password || err.msg[0])
            abort();
    } else if (!err.msg[0]) {
        abort();
    }
    conreq_label lb;
    memset(&err, 0, sizeof err);
    if (conreq_parse_label(body, size, &lb, &err) == ADT_OK) {
        if (!conreq_id_ok(lb.target) || (lb.kind == CONREQ_TARGET_PREDICTION && lb.prediction <= 0) ||
            (lb.kind == CONREQ_TARGET_ALERT && !conreq_id_ok(lb.alert_id)) ||
            (strcmp(lb.label, "confirmed_failure") && strcmp(lb.label, "false_alarm") &&
             strcmp(lb.label, "unsure")))
            abort();
        check_text(lb.comment, sizeof lb.comment);
    } else if (!err.msg[0]) {
        abort();
    }
    conreq_change ch;
    memset(&err, 0, sizeof err);
    if (conreq_parse_change(body, size, &ch, &err) == ADT_OK) {
        if (!conreq_id_ok(ch.change_id) || !conreq_id_ok(ch.target) || !*ch.model || !*ch.version)
            abort();
        check_text(ch.reason, sizeof ch.reason);
    } else if (!err.msg[0]) {
        abort();
    }
    conreq_decision d;
    memset(&err, 0, sizeof err);
    if (conreq_parse_decision(body, size, &d, &err) == ADT_OK)
        check_text(d.reason, sizeof d.reason);
    else if (!err.msg[0])
        abort();
    conreq_report r;
    memset(&err, 0, sizeof err);
    if (conreq_parse_report(body, size, &r, &err) == ADT_OK) {
        if (!conreq_id_ok(r.period) || (r.has_format && !conreq_id_ok(r.format)))
            abort();
    } else if (!err.msg[0]) {
        abort();
    }
    return 0;
}
