/* conreq.h: what the web console's requests carry, parsed strictly.
 *
 * The cookie header and the JSON bodies of sign-in and of every console
 * action (docs/console.md, docs/api.md) are untrusted bytes. This module
 * turns them into fixed-size structs or a message naming the problem, with
 * no I/O and no state, so a fuzz target drives every parser
 * (tests/fuzz/fuzz_console.c) and the console only ever sees checked values.
 *
 * Bounds: a body is at most CONREQ_BODY_MAX bytes (ADT_ETOOBIG beyond, the
 * daemon answers 413); ids are 1..CONREQ_ID_MAX printable characters of
 * [A-Za-z0-9._:@-]; free text (comment, reason) at most CONREQ_TEXT_MAX
 * bytes of UTF-8. Everything else is ADT_EINVAL with the expected shape.
 * A member of the wrong type counts as absent. Unknown members are ignored. */
#ifndef AUDITD_CONREQ_H
#define AUDITD_CONREQ_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>

#define CONREQ_BODY_MAX 16384
#define CONREQ_ID_MAX 128
#define CONREQ_TEXT_MAX 1000
#define CONREQ_NAME_MAX 64     /* a person's name (person.h PERSON_NAME_MAX) */
#define CONREQ_PASSWORD_MAX 256
#define CONREQ_TOKEN_HEX 64    /* a session token: 32 random bytes in lowercase hex */

/* The value of cookie `name` in a Cookie header ("a=1; b=2") into out.
 * False when absent, empty or longer than cap - 1. */
bool conreq_cookie(const char *hdr, const char *name, char *out, size_t cap);

/* A session token: exactly CONREQ_TOKEN_HEX lowercase hex digits. */
bool conreq_token_ok(const char *s);

/* A bounded, printable id (alert, incident, change ids, periods, targets). */
bool conreq_id_ok(const char *s);

/* POST /v1/session {"name", "password"}. The caller wipes `password`
 * (sodium_memzero) once it is checked. */
typedef struct conreq_login {
    char name[CONREQ_NAME_MAX + 1];
    char password[CONREQ_PASSWORD_MAX + 1];
} conreq_login;
int conreq_parse_login(const char *body, size_t len, conreq_login *out, adt_err *err);

/* POST /v1/console/labels {"target": "alert:ID" | "prediction:N",
 * "label": "confirmed_failure" | "false_alarm" | "unsure", "comment"?}. */
typedef enum conreq_target_kind { CONREQ_TARGET_ALERT = 0, CONREQ_TARGET_PREDICTION } conreq_target_kind;
typedef struct conreq_label {
    char target[CONREQ_ID_MAX + 1];
    conreq_target_kind kind;
    char alert_id[CONREQ_ID_MAX + 1]; /* for an alert */
    long long prediction;             /* for a prediction (> 0) */
    char label[20];
    char comment[CONREQ_TEXT_MAX + 1];
} conreq_label;
int conreq_parse_label(const char *body, size_t len, conreq_label *out, adt_err *err);

/* POST /v1/console/changes {"change_id", "target": "model:NAME@VERSION",
 * "reason"?}. */
typedef struct conreq_change {
    char change_id[CONREQ_ID_MAX + 1];
    char target[CONREQ_ID_MAX + 1];
    char model[CONREQ_ID_MAX + 1];
    char version[CONREQ_ID_MAX + 1];
    char reason[CONREQ_TEXT_MAX + 1];
} conreq_change;
int conreq_parse_change(const char *body, size_t len, conreq_change *out, adt_err *err);

/* POST /v1/console/changes/ID/{consult,approve,reject} {"reason"?} (an empty
 * body is an empty object). */
typedef struct conreq_decision {
    bool has_reason;
    char reason[CONREQ_TEXT_MAX + 1];
} conreq_decision;
int conreq_parse_decision(const char *body, size_t len, conreq_decision *out, adt_err *err);

/* POST /v1/console/reports {"period": "2026-Q3", "format"?}. The format name
 * is only bounded here; reports decide whether they know it. */
typedef struct conreq_report {
    char period[64];
    bool has_format;
    char format[16];
} conreq_report;
int conreq_parse_report(const char *body, size_t len, conreq_report *out, adt_err *err);

/* "model:NAME@VERSION" -> name, version (both non-empty). */
bool conreq_split_model_target(const char *t, char *name, size_t nc, char *ver, size_t vc);

#endif
