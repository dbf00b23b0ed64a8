/* state.h: agents and reader tokens in <data-dir>/state.db (SQLite, WAL).
 *
 * Tables (this module's only): srv_agents(name, role, pubkey, key_id,
 * created_at, revoked_at, last_seq) and srv_tokens(id, name, role, hash,
 * created_at, revoked_at). Tokens are stored as SHA-256 of the token text
 * and compared with sodium_memcmp; the token itself is shown once.
 *
 * Threads: a handle is internally locked, so one handle may serve every
 * request thread. Several processes may use the file at once (the CLI adds
 * an agent while the daemon runs; the daemon sees it on the next request). */
#ifndef AUDITD_STATE_H
#define AUDITD_STATE_H

#include "api.h"
#include "buf.h"
#include "evsink.h"
#include "ledger.h"
#include "status.h"

#include <stdbool.h>
#include <stdint.h>

#define STATE_DB_FILE "state.db"
#define STATE_TOKEN_MAX 96

typedef struct state state;

int state_open(const char *data_dir, state **out, adt_err *err);
void state_close(state *st);

/* Agent roles: "edge" or "platform", the writer their events carry (event.h). */
bool state_agent_role_valid(const char *role);
/* Register `name` with `pub`. ADT_EEXIST if the name was ever used. */
int state_agent_add(state *st, const char *name, const char *role, const uint8_t pub[32],
                    adt_err *err);
/* Mark revoked (requests fail with 401 from now on). */
int state_agent_revoke(state *st, const char *name, char *role_out, size_t rcap, adt_err *err);
/* Look up an active agent. ADT_ENOTFOUND (unknown) or ADT_EAUTH (revoked). */
int state_agent_get(state *st, const char *name, uint8_t pub[32], char *role, size_t rcap,
                    adt_err *err);
/* The same, with the agent's last accepted seq (may be NULL). */
int state_agent_lookup(state *st, const char *name, uint8_t pub[32], char *role, size_t rcap,
                       uint64_t *last_seq, adt_err *err);

/* How far a request seq may jump: 2^40 beyond the larger of the last seq
 * accepted and the server's clock in microseconds (the scheme `auditd agent
 * send` uses). So a first request may start at "now", and no seq, however
 * large, can use up the rest of the range and lock its agent out. */
#define STATE_SEQ_MAX_JUMP (1ull << 40)

/* Whether `seq` is acceptable after `last_seq` at `now_us` (greater, and
 * within STATE_SEQ_MAX_JUMP). ADT_EREPLAY with a message otherwise. Used to
 * refuse from the headers, before a body is read. */
int state_seq_check(const char *name, uint64_t last_seq, uint64_t seq, uint64_t now_us,
                    adt_err *err);

/* Record `seq` as used if state_seq_check holds against the stored last seq
 * (atomic across processes). ADT_EREPLAY otherwise. */
int state_agent_use_seq(state *st, const char *name, uint64_t seq, adt_err *err);
/* JSON array of agents into `out`. */
int state_agent_list_json(state *st, buf *out, adt_err *err);

/* Reader tokens: role "auditor" or "admin". Creates a token, returns its text
 * (out_token, STATE_TOKEN_MAX) and id (17 bytes). `name` NULL = the id. */
int state_token_create(state *st, const char *role, const char *name, char *out_token,
                       char *out_id, adt_err *err);
/* Revoke by id or name. */
int state_token_revoke(state *st, const char *id_or_name, char *id_out, char *role_out,
                       size_t rcap, char *name_out, size_t ncap, adt_err *err);
/* Check a bearer token: role and name of an active token. ADT_EAUTH otherwise. */
int state_token_check(state *st, const char *token, api_role *role, char *name, size_t ncap,
                      adt_err *err);
int state_token_list_json(state *st, buf *out, adt_err *err);

/* Record one administrative event (source "auditd", writer auditd) through
 * `sink` (evsink.h: the daemon's commit queue, or a ledger handle), its
 * `time` = `at_us` (0 = now). `fields_json` is a JSON object of the extra
 * fields ("{}" for none). */
int state_audit_record(const evsink *sink, const char *type, const char *actor,
                       const char *fields_json, int64_t at_us, adt_err *err);
/* The same through `lg`
 * (LEDGER_RDWR; ledger_append is safe beside a running daemon).
 * `fields_json` is a JSON object of the extra fields ("{}" for none). */
int state_audit_event(ledger *lg, const char *type, const char *actor, const char *fields_json,
                      adt_err *err);
/* The same with the event's `time` = `at_us` (0 = now), for a result the CLI
 * records for another (simulated) time: `auditd verify --record --time T`. */
int state_audit_event_at(ledger *lg, const char *type, const char *actor, const char *fields_json,
                         int64_t at_us, adt_err *err);
/* The fields of a `ledger.verify` event for a verification result, as a
 * JSON object into `out`: result (pass|fail), tree_size (entries checked),
 * checkpoints, and root (hex, when it passed) or problem and bad_index. */
int state_verify_fields(buf *out, const ledger_verify_result *res);

/* Build that event's canonical payload into `out` (`time` = at_us, 0 = now). */
int state_audit_payload_at(buf *out, const char *type, const char *actor, const char *fields_json,
                           int64_t at_us, adt_err *err);

#endif
