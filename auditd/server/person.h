/* person.h: people who use the web console, in <data-dir>/state.db.
 *
 * Table (this module's only): srv_persons(name, roles, hash, cred_id,
 * created_at, revoked_at). A person's name is the principal id the RACI
 * policy uses (the `actor` of the events they record). `roles` are console
 * roles (below), not RACI roles: a console role opens views and kinds of
 * action; the RACI policy still decides, per activity, whether this person
 * may take that action.
 *
 * Credentials: a random password shown once at `person add`/`person reset`,
 * stored as an Argon2id hash (crypto_pwhash_str) and checked with
 * crypto_pwhash_str_verify; `cred_id` (16 hex) names the credential in the
 * ledger events a person records, so an auditor can tell which credential
 * vouched for an act. Threads: internally locked. */
#ifndef AUDITD_PERSON_H
#define AUDITD_PERSON_H

#include "buf.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>

/* Console roles, one bit each. */
enum {
    PERSON_STEERING = 1u << 0,  /* steering committee */
    PERSON_AUDITOR = 1u << 1,
    PERSON_OPERATOR = 1u << 2,
    PERSON_DATA_SCIENTIST = 1u << 3,
    PERSON_APPROVER = 1u << 4,  /* an Accountable approver */
    PERSON_ADMIN = 1u << 5
};
#define PERSON_ROLES_ALL 0x3Fu
#define PERSON_NAME_MAX 64
#define PERSON_PASSWORD_LEN 24
#define PERSON_CRED_ID_LEN 16

typedef struct person_db person_db;

int person_open(const char *data_dir, person_db **out, adt_err *err);
void person_close(person_db *p);

/* "steering,operator" -> mask. ADT_EINVAL naming the unknown role. */
int person_roles_parse(const char *s, unsigned *mask, adt_err *err);
/* mask -> "steering,operator" into out. */
void person_roles_text(unsigned mask, char *out, size_t cap);
/* The role's name for one bit ("data-scientist"), "" otherwise. */
const char *person_role_name(unsigned bit);

/* Add `name` with `roles`; writes a new password (PERSON_PASSWORD_LEN + 1
 * bytes, caller wipes it) and the credential id (PERSON_CRED_ID_LEN + 1).
 * ADT_EEXIST if the name was ever used. */
int person_add(person_db *p, const char *name, unsigned roles, char *password, char *cred_id,
               adt_err *err);
/* A new password for an active person (the old one stops working). */
int person_reset(person_db *p, const char *name, char *password, char *cred_id, adt_err *err);
/* Revoke: the person can no longer sign in (sessions end at the next request). */
int person_revoke(person_db *p, const char *name, adt_err *err);
/* Check a password. On success: roles and credential id. ADT_EAUTH for an
 * unknown or revoked person or a wrong password (one message for all three). */
int person_check(person_db *p, const char *name, const char *password, unsigned *roles,
                 char *cred_id, adt_err *err);
/* Is `name` active, with which roles and credential (sessions re-check this). */
int person_active(person_db *p, const char *name, unsigned *roles, char *cred_id, adt_err *err);
/* JSON array [{name, roles:[...], cred_id, created_at, revoked_at}]. */
int person_list_json(person_db *p, buf *out, adt_err *err);

#endif
