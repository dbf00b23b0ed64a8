/* lt_helpers.h: small helpers shared by the core test suites (header-only,
 * static inline so that each suite takes only what it uses). */
#ifndef AUDITD_LT_HELPERS_H
#define AUDITD_LT_HELPERS_H

#include "ledger.h"
#include "rfc6962_check.h"
#include "tsupport.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decode lowercase/uppercase hex of exactly 2*n digits into out[n]. */
static inline void lt_unhex(const char *hex, uint8_t *out, size_t n)
{
    ck_assert_uint_eq(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + (size_t)k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= (unsigned)(c - 'A' + 10);
            else
                ck_abort_msg("bad hex digit in %s", hex);
        }
        out[i] = (uint8_t)v;
    }
}

static inline void lt_hex(const uint8_t *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* memmem without _GNU_SOURCE. */
static inline const char *lt_memmem(const char *hay, size_t n, const char *needle, size_t k)
{
    if (k == 0)
        return hay;
    for (size_t i = 0; i + k <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

/* A fresh ledger in a new temp dir; caller frees the path (and ts_rmrf's it). */
static inline char *lt_new_ledger(const char *tag)
{
    char *dir = ts_tmpdir(tag);
    ck_assert_ptr_nonnull(dir);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/data", dir);
    adt_err err;
    int rc = ledger_init(sub, "auditd.test/ledger", &err);
    ck_assert_msg(rc == ADT_OK, "ledger_init: %s", err.msg);
    free(dir);
    return strdup(sub);
}

/* A ledger of the first format (auditd-ledger-1: every tree level stored),
 * as versions before the stored tree was thinned made them. Made from a
 * fresh one while it is empty (both formats hold the same rows then) by
 * changing its format the way only an old version could have written it. */
static inline char *lt_new_ledger_v1(const char *tag)
{
    char *dir = lt_new_ledger(tag);
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, LEDGER_DB_FILE);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name = 'meta_no_update'",
                                        -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    char *trig = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    ck_assert_int_eq(sqlite3_exec(db, "DROP TRIGGER meta_no_update; UPDATE meta SET value = "
                                      "'auditd-ledger-1' WHERE key = 'format'", NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, trig, NULL, NULL, NULL), SQLITE_OK);
    free(trig);
    sqlite3_close(db);
    return dir;
}

/* The temp dir that holds a ledger made by lt_new_ledger. */
static inline void lt_remove_ledger(char *sub)
{
    char *slash = strrchr(sub, '/');
    if (slash)
        *slash = '\0';
    ts_rmrf(sub);
    free(sub);
}

/* Append one item with payload {"k":<k>,"note":<note>}; returns the commit. */
static inline ledger_commit lt_append1(ledger *lg, uint64_t k, const char *source)
{
    char payload[256];
    snprintf(payload, sizeof payload, "{\"note\":\"entry-%06llu-marker\",\"k\":%llu}",
             (unsigned long long)k, (unsigned long long)k);
    ledger_item it = {.writer = EVENT_WRITER_EDGE, .source = source, .type = "x-test.entry", .payload = payload,
                      .payload_len = strlen(payload)};
    ledger_commit c;
    adt_err err;
    int rc = ledger_append(lg, &it, 1, &c, &err);
    ck_assert_msg(rc == ADT_OK, "ledger_append: %s", err.msg);
    return c;
}

static inline sqlite3 *lt_db(const char *dir)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/%s", dir, LEDGER_DB_FILE);
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    return db;
}

/* Run SQL, return the sqlite result code. */
static inline int lt_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static inline void lt_exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
    sqlite3_free(msg);
}

/* Root of the first n stored leaves, computed by the independent checker. */
static inline void lt_rc_root(ledger *lg, uint64_t n, uint8_t out[32])
{
    uint8_t(*lh)[32] = malloc((n ? n : 1) * 32);
    ck_assert_ptr_nonnull(lh);
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    adt_err err;
    for (uint64_t i = 0; i < n; i++) {
        ck_assert_int_eq(ledger_entry(lg, i, &leaf, &err), ADT_OK);
        rc_leaf_hash(leaf.data, leaf.len, lh[i]);
    }
    rc_root_of((const uint8_t(*)[32])lh, n, out);
    buf_free(&leaf);
    free(lh);
}

#endif
