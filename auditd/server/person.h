/* person.h: people who use the web console, in <data-dir>/state.db.
 *
 * Tables (this module's only): srv_persons(name, roles, hash, cred_id,
 * created_at, revoked_at) and srv_sessions(token_sha256, name, cred_id,
 * created_us, last_us): the console's sign-in sessions, kept only as the
 * SHA-256 of their token, so they survive a restart of the daemon and a
 * copy of state.db gives nobody a usable cookie. A person's name is the principal id the RACI
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
#include <stdint.h>

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

/* ---- sessions (docs/console.md, "Sessions and security") ----
 * A session is the SHA-256 of a random token (the cookie holds the token)
 * bound to a person and to the credential that signed in: a reset or a
 * revocation ends it. It ends `idle_us` after its last use or `max_us`
 * after it began, whichever comes first. Times are microseconds since the
 * epoch, passed in by the caller (tests move the clock). */
typedef struct person_session_limits {
    int64_t idle_us;
    int64_t max_us;
    int max_sessions;      /* at most this many at once: the least recently used goes */
    int64_t touch_us;      /* last use is written at most this often (a write per request costs) */
} person_session_limits;

/* Record a session for `name`, who just signed in with credential `cred_id`.
 * Expired sessions are removed first. */
int person_session_start(person_db *p, const uint8_t token_sha256[32], const char *name,
                         const char *cred_id, int64_t now_us, const person_session_limits *lim,
                         adt_err *err);
/* The person of a live session: name (PERSON_NAME_MAX + 1), roles and
 * credential id (PERSON_CRED_ID_LEN + 1) of the person now. ADT_EAUTH when
 * the session is unknown, has expired (it is removed), or its person was
 * revoked or given a new password since. */
int person_session_find(person_db *p, const uint8_t token_sha256[32], int64_t now_us,
                        const person_session_limits *lim, char *name, unsigned *roles,
                        char *cred_id, adt_err *err);
/* End one session (sign out). ADT_ENOTFOUND if there was none. */
int person_session_end(person_db *p, const uint8_t token_sha256[32], adt_err *err);
/* Live sessions now (for tests and /metrics-like checks). */
int person_session_count(person_db *p, int64_t now_us, const person_session_limits *lim,
                         uint64_t *n, adt_err *err);

#endif
