/* test_tamper.c: an attacker with write access to ledger.db (but not the
 * signing key) edits it with sqlite3 or by raw byte writes. ledger_verify and
 * `auditd verify` must notice every such edit and name the first bad index.
 * The attacker drops the immutability triggers to make the edit and puts
 * them back afterwards, as a careful one would. */
#include "lt_helpers.h"
#include "note.h"

#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define N 20
#define NO_INDEX UINT64_MAX

/* One pristine ledger of N entries (a checkpoint at every size) is built once
 * per test case in the runner process; each test tampers with its own copy. */
static char *g_template;

/* N entries appended one by one to the new ledger `dir`; returns dir. */
static char *fill_ledger(char *dir)
{
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    for (uint64_t k = 0; k < N; k++)
        lt_append1(lg, k, "agent:tamper");
    ledger_close(lg);
    return dir;
}

static void template_setup(void)
{
    g_template = fill_ledger(lt_new_ledger("t-template"));
    sqlite3 *db = lt_db(g_template);
    lt_exec_ok(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(db);
}

static void template_teardown(void)
{
    lt_remove_ledger(g_template);
    g_template = NULL;
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char a[4400], b[4400];
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    size_t len;
    char *data = ts_read_file(a, &len);
    ck_assert_ptr_nonnull(data);
    ck_assert_int_eq(ts_write_file(b, data, len), 0);
    ck_assert_int_eq(chmod(b, 0600), 0);
    free(data);
}

static char *make_ledger(const char *tag)
{
    char *root = ts_tmpdir(tag);
    ck_assert_ptr_nonnull(root);
    char *dir = malloc(4200);
    snprintf(dir, 4200, "%s/data", root);
    free(root);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    copy_file(g_template, dir, LEDGER_DB_FILE);
    copy_file(g_template, dir, LEDGER_KEY_FILE);
    return dir;
}

/* The attacker's session: triggers dropped (their SQL kept) until attack_end. */
typedef struct attack {
    sqlite3 *db;
    int ntrig;
    char *trig_sql[32];
} attack;

static void attack_begin(attack *a, const char *dir)
{
    memset(a, 0, sizeof *a);
    a->db = lt_db(dir);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(a->db, "SELECT name, sql FROM sqlite_master WHERE type='trigger'",
                                        -1, &s, NULL), SQLITE_OK);
    char names[32][64];
    while (sqlite3_step(s) == SQLITE_ROW) {
        ck_assert_int_lt(a->ntrig, 32);
        snprintf(names[a->ntrig], sizeof names[0], "%s", sqlite3_column_text(s, 0));
        a->trig_sql[a->ntrig++] = strdup((const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_finalize(s);
    ck_assert_int_ge(a->ntrig, 6);
    for (int i = 0; i < a->ntrig; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP TRIGGER %s", names[i]);
        lt_exec_ok(a->db, sql);
    }
}

static void attack_end(attack *a)
{
    for (int i = 0; i < a->ntrig; i++) {
        lt_exec_ok(a->db, a->trig_sql[i]);
        free(a->trig_sql[i]);
    }
    sqlite3_close(a->db);
}

/* Flip one bit of byte `off` (negative: from the end) of a blob column. */
static void flip_blob(sqlite3 *db, const char *table, const char *col, const char *keycol,
                      int64_t key, long off)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE %s = ?", col, table, keycol);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_int64(s, 1, key);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_bytes(s, 0);
    int type = sqlite3_column_type(s, 0);
    unsigned char *b = malloc((size_t)n + 1);
    memcpy(b, sqlite3_column_blob(s, 0), (size_t)n);
    sqlite3_finalize(s);
    long at = off >= 0 ? off : n + off;
    ck_assert(at >= 0 && at < n);
    b[at] ^= 0x01;
    snprintf(sql, sizeof sql, "UPDATE %s SET %s = ? WHERE %s = ?", table, col, keycol);
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (type == SQLITE_TEXT)
        sqlite3_bind_text(s, 1, (const char *)b, n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_blob(s, 1, b, n, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, key);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
    ck_assert_int_eq(sqlite3_changes(db), 1);
    sqlite3_finalize(s);
    free(b);
}

/* Expect verify to fail at `idx` in [idx, idx_hi] (NO_INDEX: no index applies),
 * with `word` in the problem; and the same through the real CLI. */
static void expect_detected(const char *dir, uint64_t idx, uint64_t idx_hi, const char *word)
{
    ledger_verify_result vr;
    adt_err err;
    int rc = ledger_verify(dir, &vr, &err);
    ck_assert_msg(rc == ADT_OK || !vr.ok, "verify could not run: %s", err.msg);
    ck_assert_msg(!vr.ok, "tampering was not detected (want index %llu)", (unsigned long long)idx);
    if (idx == NO_INDEX) {
        ck_assert_msg(!vr.has_bad_index, "unexpected bad index %llu: %s",
                      (unsigned long long)vr.bad_index, vr.problem);
    } else {
        ck_assert_msg(vr.has_bad_index, "no bad index given: %s", vr.problem);
        ck_assert_msg(vr.bad_index >= idx && vr.bad_index <= idx_hi,
                      "bad index %llu, want %llu..%llu: %s", (unsigned long long)vr.bad_index,
                      (unsigned long long)idx, (unsigned long long)idx_hi, vr.problem);
    }
    if (word)
        ck_assert_msg(strstr(vr.problem, word), "problem '%s' does not mention '%s'", vr.problem, word);
    char *out = NULL, *errout = NULL;
    const char *args[] = {"verify", "--data-dir", dir, NULL};
    int st = ts_run(NULL, 0, &out, &errout, args);
    ck_assert_msg(st != 0, "auditd verify exited 0: %s", out);
    if (idx != NO_INDEX) {
        char want[64];
        snprintf(want, sizeof want, "index %llu", (unsigned long long)vr.bad_index);
        ck_assert_msg(errout && strstr(errout, want), "auditd verify stderr lacks '%s': %s", want,
                      errout ? errout : "");
    }
    if (word)
        ck_assert_msg(errout && strstr(errout, word), "auditd verify stderr lacks '%s': %s", word,
                      errout ? errout : "");
    free(out);
    free(errout);
}

/* One edit of an attacker's session: SQL run with the triggers dropped, or
 * (sql NULL) one bit of a blob column flipped (flip_blob). */
typedef struct edit {
    const char *sql;
    const char *table, *col, *keycol;
    int64_t key;
    long off;
} edit;
#define SQL(s) {.sql = (s)}
#define FLIP(table, col, keycol, key, off) {NULL, (table), (col), (keycol), (key), (off)}

/* The edits e[0..n) made to the ledger in `dir` in one attacker's session;
 * then verify must name idx..idx_hi (expect_detected). Removes dir. */
static void tamper_expect(char *dir, const edit *e, size_t n, uint64_t idx, uint64_t idx_hi,
                          const char *word)
{
    attack a;
    attack_begin(&a, dir);
    for (size_t i = 0; i < n; i++) {
        if (e[i].sql)
            lt_exec_ok(a.db, e[i].sql);
        else
            flip_blob(a.db, e[i].table, e[i].col, e[i].keycol, e[i].key, e[i].off);
    }
    attack_end(&a);
    expect_detected(dir, idx, idx_hi, word);
    lt_remove_ledger(dir);
}
#define TAMPER(dir, idx, idx_hi, word, ...)                                                      \
    do {                                                                                         \
        const edit e_[] = {__VA_ARGS__};                                                         \
        tamper_expect((dir), e_, sizeof e_ / sizeof e_[0], (idx), (idx_hi), (word));             \
    } while (0)

static void expect_ok(const char *dir, uint64_t entries)
{
    ledger_verify_result vr;
    adt_err err;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "verify failed: %s", vr.problem);
    ck_assert_uint_eq(vr.entries, entries);
    char *out = NULL;
    const char *args[] = {"verify", "--data-dir", dir, NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, NULL, args), 0);
    char want[64];
    snprintf(want, sizeof want, "ok: %llu entries", (unsigned long long)entries);
    ck_assert_msg(out && strstr(out, want), "stdout: %s", out ? out : "");
    free(out);
}

START_TEST(test_untouched)
{
    char *dir = make_ledger("t-ok");
    expect_ok(dir, N);
    ledger_verify_result vr;
    adt_err err;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_uint_eq(vr.checkpoints, N + 1);
    ledger *lg;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    uint8_t want[32];
    lt_rc_root(lg, N, want);
    ck_assert_mem_eq(vr.root, want, 32);
    ledger_close(lg);
    /* Dropping and recreating the triggers unchanged is not tampering. */
    attack a;
    attack_begin(&a, dir);
    attack_end(&a);
    expect_ok(dir, N);
    lt_remove_ledger(dir);
}
END_TEST

START_TEST(test_flip_leaf_byte)
{
    TAMPER(make_ledger("t-leaf"), 7, 7, NULL,
           FLIP("entries", "leaf", "seq", 7, 30) /* inside the payload */);
}
END_TEST

/* Leaf and its stored hash changed together: the chain (next prev) and the
 * tree catch it. */
START_TEST(test_rewrite_leaf_and_hash)
{
    char *dir = make_ledger("t-leafh");
    attack a;
    attack_begin(&a, dir);
    lt_exec_ok(a.db, "UPDATE entries SET leaf = replace(leaf, 'entry-000006-marker', 'entry-000006-MARKER') WHERE seq = 6");
    lt_exec_ok(a.db, "UPDATE entries SET leaf = CAST(leaf AS BLOB) WHERE seq = 6");
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(a.db, "SELECT leaf FROM entries WHERE seq = 6", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    uint8_t h[32];
    rc_leaf_hash(sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), h);
    sqlite3_finalize(s);
    ck_assert_int_eq(sqlite3_prepare_v2(a.db, "UPDATE entries SET leaf_hash = ? WHERE seq = 6", -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_blob(s, 1, h, 32, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    attack_end(&a);
    /* Entry 6 itself or the node over 6..7 (or entry 7's prev) is named. */
    expect_detected(dir, 6, 7, NULL);
    lt_remove_ledger(dir);
}
END_TEST

START_TEST(test_flip_leaf_hash)
{
    TAMPER(make_ledger("t-lh"), 11, 11, NULL,
           FLIP("entries", "leaf_hash", "seq", 11, 5));
}
END_TEST

#define NODE_ID(level, index) ((int64_t)(((uint64_t)(level) << 56) | (uint64_t)(index)))

/* Stored nodes are those of level >= 4 (docs/ledger.md): N = 20 entries
 * have one, (4, 0) over leaves 0..15. */
START_TEST(test_flip_node_hash)
{
    TAMPER(make_ledger("t-node"), 0, 15, "node",
           FLIP("nodes", "hash", "id", NODE_ID(4, 0), 0) /* leaves 0..15 */);
}
END_TEST

START_TEST(test_delete_node)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM nodes WHERE id = %lld", (long long)NODE_ID(4, 0));
    TAMPER(make_ledger("t-delnode"), 0, 15, "node", SQL(sql) /* leaves 0..15 */);
}
END_TEST

/* A ledger of the first format (every level stored, docs/ledger.md) still
 * verifies, and a flipped or deleted node of any level is found in it. */
static char *make_v1_ledger(const char *tag)
{
    return fill_ledger(lt_new_ledger_v1(tag));
}

START_TEST(test_v1_layout)
{
    char *dir = make_v1_ledger("t-v1");
    ledger_verify_result vr;
    adt_err err;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "%s", vr.problem);
    ck_assert_uint_eq(vr.entries, N);
    sqlite3 *db = lt_db(dir);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM nodes", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int64(s, 0), 10 + 5 + 2 + 1); /* every level of 20 leaves */
    sqlite3_finalize(s);
    sqlite3_close(db);
    TAMPER(dir, 4, 5, "node", FLIP("nodes", "hash", "id", NODE_ID(1, 2), 0) /* leaves 4..5 */);

    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM nodes WHERE id = %lld", (long long)NODE_ID(2, 2));
    TAMPER(make_v1_ledger("t-v1b"), 8, 11, "node", SQL(sql) /* leaves 8..11 */);
}
END_TEST

/* The signature line is the last line of the note: flip a base64 digit of it. */
START_TEST(test_flip_checkpoint_sig)
{
    TAMPER(make_ledger("t-sig"), 8, 8, "checkpoint",
           FLIP("checkpoints", "note", "size", 9, -10));
}
END_TEST

START_TEST(test_flip_checkpoint_root)
{
    TAMPER(make_ledger("t-croot"), 12, 12, "checkpoint",
           FLIP("checkpoints", "root", "size", 13, 3));
}
END_TEST

START_TEST(test_delete_entry)
{
    TAMPER(make_ledger("t-del"), 5, 5, NULL,
           SQL("DELETE FROM entries WHERE seq = 5"));
}
END_TEST

START_TEST(test_delete_first_entry)
{
    TAMPER(make_ledger("t-del0"), 0, 0, NULL,
           SQL("DELETE FROM entries WHERE seq = 0"));
}
END_TEST

START_TEST(test_swap_seq)
{
    TAMPER(make_ledger("t-swap"), 3, 3, NULL,
           SQL("UPDATE entries SET seq = -1 WHERE seq = 3;"
               "UPDATE entries SET seq = 3 WHERE seq = 9;"
               "UPDATE entries SET seq = 9 WHERE seq = -1;"));
}
END_TEST

START_TEST(test_swap_contents)
{
    TAMPER(make_ledger("t-swapc"), 3, 3, NULL,
           SQL("CREATE TEMP TABLE t AS SELECT seq, leaf, leaf_hash FROM entries WHERE seq IN (3, 9);"
               "UPDATE entries SET leaf = (SELECT leaf FROM t WHERE seq = 9), "
               "  leaf_hash = (SELECT leaf_hash FROM t WHERE seq = 9) WHERE seq = 3;"
               "UPDATE entries SET leaf = (SELECT leaf FROM t WHERE seq = 3), "
               "  leaf_hash = (SELECT leaf_hash FROM t WHERE seq = 3) WHERE seq = 9;"));

    /* Leaf bytes only (hashes left in place). */
    TAMPER(make_ledger("t-swapl"), 14, 14, NULL,
           SQL("CREATE TEMP TABLE t AS SELECT seq, leaf FROM entries WHERE seq IN (14, 15);"
               "UPDATE entries SET leaf = (SELECT leaf FROM t WHERE seq = 15) WHERE seq = 14;"
               "UPDATE entries SET leaf = (SELECT leaf FROM t WHERE seq = 14) WHERE seq = 15;"));
}
END_TEST

START_TEST(test_truncate_tail)
{
    TAMPER(make_ledger("t-trunc"), 15, 15, "truncated",
           SQL("DELETE FROM entries WHERE seq >= 15"));
}
END_TEST

START_TEST(test_drop_trigger)
{
    char *dir = make_ledger("t-trig");
    sqlite3 *db = lt_db(dir);
    lt_exec_ok(db, "DROP TRIGGER entries_no_update");
    sqlite3_close(db);
    expect_detected(dir, NO_INDEX, NO_INDEX, "entries_no_update");
    lt_remove_ledger(dir);

    dir = make_ledger("t-trig2");
    db = lt_db(dir);
    lt_exec_ok(db, "DROP TRIGGER checkpoints_no_delete");
    sqlite3_close(db);
    expect_detected(dir, NO_INDEX, NO_INDEX, "checkpoints_no_delete");
    lt_remove_ledger(dir);
}
END_TEST

/* A trigger swapped for a do-nothing one of the same name is as good as
 * dropped: verify must look at what the trigger does, not only its name. */
START_TEST(test_neutered_trigger)
{
    char *dir = make_ledger("t-neuter");
    sqlite3 *db = lt_db(dir);
    lt_exec_ok(db, "DROP TRIGGER entries_no_update;"
                   "CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries BEGIN SELECT 1; END;");
    ck_assert_int_eq(lt_exec(db, "UPDATE entries SET leaf = leaf WHERE seq = 0"), SQLITE_OK);
    sqlite3_close(db);
    expect_detected(dir, NO_INDEX, NO_INDEX, "entries_no_update");
    lt_remove_ledger(dir);
}
END_TEST

/* A foreign trigger that silently drops inserts (RAISE(IGNORE)) must not let
 * an append be acknowledged without its entry being stored. */
START_TEST(test_append_insert_ignored)
{
    char *dir = make_ledger("t-ignored");
    sqlite3 *db = lt_db(dir);
    lt_exec_ok(db, "CREATE TRIGGER zz_swallow BEFORE INSERT ON entries WHEN NEW.seq >= 20 "
                   "BEGIN SELECT RAISE(IGNORE); END;");
    sqlite3_close(db);
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    char payload[] = "{\"a\":1}";
    ledger_item it = {.writer = EVENT_WRITER_EDGE, .source = "s", .type = "x-t", .payload = payload, .payload_len = strlen(payload)};
    ledger_commit c;
    int rc = ledger_append(lg, &it, 1, &c, &err);
    uint64_t size = 0;
    ck_assert_int_eq(ledger_size(lg, &size, &err), ADT_OK);
    ledger_close(lg);
    ck_assert_msg(rc != ADT_OK || size == 21,
                  "append acknowledged entry %llu (checkpoint for size %llu) but the ledger "
                  "holds %llu entries", (unsigned long long)c.first,
                  (unsigned long long)c.tree_size, (unsigned long long)size);
    lt_remove_ledger(dir);
}
END_TEST

/* Verify reports triggers on the ledger's tables that auditd did not create
 * (they can change what future appends store). */
START_TEST(test_foreign_trigger)
{
    char *dir = make_ledger("t-foreign");
    sqlite3 *db = lt_db(dir);
    lt_exec_ok(db, "CREATE TRIGGER zz_swallow BEFORE INSERT ON entries WHEN NEW.seq >= 20 "
                   "BEGIN SELECT RAISE(IGNORE); END;");
    sqlite3_close(db);
    expect_detected(dir, NO_INDEX, NO_INDEX, "zz_swallow");
    lt_remove_ledger(dir);
}
END_TEST

/* Entries, checkpoints truncated to one entry; tree nodes of the removed
 * entries left behind. Verify promises to notice nodes for missing entries. */
START_TEST(test_leftover_nodes)
{
    TAMPER(make_ledger("t-leftover"), NO_INDEX, NO_INDEX, "nodes",
           SQL("DELETE FROM entries WHERE seq >= 1; DELETE FROM checkpoints WHERE size > 1;"));
}
END_TEST

/* A bogus node for a subtree that does not exist (inserting new rows needs no
 * trigger to be dropped). */
START_TEST(test_extra_node)
{
    char *dir = make_ledger("t-extranode");
    sqlite3 *db = lt_db(dir);
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO nodes(id, hash) VALUES (%lld, zeroblob(32))",
             (long long)NODE_ID(5, 1000));
    lt_exec_ok(db, sql);
    sqlite3_close(db);
    expect_detected(dir, NO_INDEX, NO_INDEX, "nodes");
    lt_remove_ledger(dir);
}
END_TEST

/* The documented limit: an admin with the key can truncate and rewrite
 * history consistently, and verify alone cannot tell. A witness that kept an
 * earlier checkpoint does, through a consistency proof. */
START_TEST(test_consistent_rewrite_needs_witness)
{
    char *dir = make_ledger("t-rewrite");
    ledger *lg;
    adt_err err;
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    char witness_note[NOTE_MAX];
    uint64_t wsize;
    merkle_hash wroot;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    ck_assert_int_eq(note_key_parse(ledger_key_line(lg), name, sizeof name, pub, &err), ADT_OK);
    ck_assert_int_eq(ledger_checkpoint(lg, witness_note, sizeof witness_note, &wsize, &err), ADT_OK);
    ledger_close(lg);
    ck_assert_int_eq(note_verify_checkpoint(witness_note, strlen(witness_note), name, pub, &wsize,
                                            wroot, &err), ADT_OK);
    ck_assert_uint_eq(wsize, N);

    attack a;
    attack_begin(&a, dir);
    char sql[256];
    snprintf(sql, sizeof sql,
             "DELETE FROM entries WHERE seq >= 10; DELETE FROM checkpoints WHERE size > 10;"
             "DELETE FROM nodes WHERE ((id & 72057594037927935) + 1) << (id >> 56) > 10;");
    lt_exec_ok(a.db, sql);
    attack_end(&a);
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    for (uint64_t k = 10; k < N + 5; k++)
        lt_append1(lg, k + 1000, "agent:rewritten");
    ledger_close(lg);
    expect_ok(dir, N + 5);

    /* The witness asks for a proof that its checkpoint is a prefix. */
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    char note[NOTE_MAX];
    uint64_t nsize;
    merkle_hash nroot;
    ck_assert_int_eq(ledger_checkpoint(lg, note, sizeof note, &nsize, &err), ADT_OK);
    ck_assert_int_eq(note_verify_checkpoint(note, strlen(note), name, pub, &nsize, nroot, &err), ADT_OK);
    ck_assert_uint_eq(nsize, N + 5);
    merkle_hash h[MERKLE_MAX_PROOF];
    size_t k;
    ck_assert_int_eq(ledger_prove_consistency(lg, wsize, nsize, h, &k, &err), ADT_OK);
    ck_assert(!rc_verify_consistency(wsize, nsize, wroot, nroot, (const uint8_t(*)[32])h, k));
    ck_assert(!merkle_verify_consistency(wsize, nsize, wroot, nroot, (const merkle_hash *)h, k));
    /* ...while an honest prefix (size 10, untouched) still checks out. */
    uint8_t r10[32];
    lt_rc_root(lg, 10, r10);
    ck_assert_int_eq(ledger_prove_consistency(lg, 10, nsize, h, &k, &err), ADT_OK);
    ck_assert(rc_verify_consistency(10, nsize, r10, nroot, (const uint8_t(*)[32])h, k));
    ledger_close(lg);
    lt_remove_ledger(dir);
}
END_TEST

/* Two edits at once: verify names the one a single pass row after row would
 * meet first, whichever of its threads (docs/ledger.md, "What auditd verify
 * checks") finds it. */
START_TEST(test_first_of_two)
{
    TAMPER(make_ledger("t-two1"), 3, 3, "hash",
           FLIP("entries", "leaf", "seq", 3, 30), /* a leaf hash mismatch at 3 */
           SQL("DELETE FROM entries WHERE seq = 12") /* a gap at 12 */);

    TAMPER(make_ledger("t-two2"), 4, 4, "checkpoint",
           FLIP("checkpoints", "note", "size", 5, -10), /* a bad signature at size 5 */
           FLIP("entries", "leaf", "seq", 9, 30));

    TAMPER(make_ledger("t-two3"), 2, 2, "hash",
           FLIP("entries", "leaf", "seq", 2, 30),
           FLIP("checkpoints", "note", "size", 9, -10));

    /* Entry 6 given entry 7's leaf hash: its hash (the worker's check) fails
     * at 6 before the chain does at 7 (the pass's); a leaf flipped at 14. */
    TAMPER(make_ledger("t-two4"), 6, 6, NULL,
           SQL("CREATE TEMP TABLE t AS SELECT seq, leaf, leaf_hash FROM entries WHERE seq IN (6, 7);"
               "UPDATE entries SET leaf_hash = (SELECT leaf_hash FROM t WHERE seq = 7) WHERE seq = 6;"),
           FLIP("entries", "leaf", "seq", 14, 30));
}
END_TEST

/* A leaf replaced by one larger than any entry auditd writes (verify checks
 * such a row on its own thread instead of copying it to the worker). */
START_TEST(test_oversized_leaf)
{
    TAMPER(make_ledger("t-big"), 5, 5, "hash",
           SQL("UPDATE entries SET leaf = zeroblob(3145728) WHERE seq = 5"));
}
END_TEST

/* A ledger big enough that verify hands its rows to the worker thread in
 * several batches (512 rows each): an edit far in is still found at its
 * index, and so is the first of two. */
START_TEST(test_many_batches)
{
    enum { M = 1500, PER = 100 };
    char *dir = lt_new_ledger("t-many");
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    static char text[PER][96];
    ledger_item it[PER];
    for (int r = 0; r < M / PER; r++) {
        for (int k = 0; k < PER; k++) {
            int n = snprintf(text[k], sizeof text[k], "{\"k\":%d,\"note\":\"entry-%06d-marker\"}",
                             r * PER + k, r * PER + k);
            it[k] = (ledger_item){.writer = EVENT_WRITER_EDGE, .source = "agent:many",
                                  .type = "x-test.entry", .payload = text[k], .payload_len = (size_t)n};
        }
        ledger_commit c;
        ck_assert_int_eq(ledger_append(lg, it, PER, &c, &err), ADT_OK);
    }
    ledger_close(lg);
    ledger_verify_result vr;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "%s", vr.problem);
    ck_assert_uint_eq(vr.entries, M);
    ck_assert_uint_eq(vr.checkpoints, M / PER + 1);
    attack a;
    attack_begin(&a, dir);
    flip_blob(a.db, "entries", "leaf", "seq", 1234, 30);
    attack_end(&a);
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(!vr.ok && vr.has_bad_index && vr.bad_index == 1234, "%s", vr.problem);
    /* The counts a failed verify records (ledger.verify's tree_size and
     * checkpoints) are those before the finding, whichever thread made it. */
    ck_assert_uint_eq(vr.entries, 1234);
    ck_assert_uint_eq(vr.checkpoints, 1234 / PER + 1);
    attack_begin(&a, dir);
    flip_blob(a.db, "entries", "leaf", "seq", 700, 30);
    lt_exec_ok(a.db, "DELETE FROM entries WHERE seq = 1400");
    attack_end(&a);
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(!vr.ok && vr.has_bad_index && vr.bad_index == 700, "%s", vr.problem);
    ck_assert_uint_eq(vr.entries, 700);
    ck_assert_uint_eq(vr.checkpoints, 700 / PER + 1);
    lt_remove_ledger(dir);
}
END_TEST

/* ---- raw byte edits of ledger.db ---- */

static char *checkpointed_db(const char *dir)
{
    sqlite3 *db = lt_db(dir);
    lt_exec_ok(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(db);
    char *p = malloc(4300);
    snprintf(p, 4300, "%s/%s", dir, LEDGER_DB_FILE);
    return p;
}

/* Find `needle` exactly once in the file; flip bit 0 of byte `at` of it. */
static void raw_flip(const char *path, const void *needle, size_t nlen, size_t at)
{
    size_t len;
    char *data = ts_read_file(path, &len);
    ck_assert_ptr_nonnull(data);
    const char *hit = lt_memmem(data, len, needle, nlen);
    ck_assert_msg(hit != NULL, "bytes not found in %s", path);
    size_t off = (size_t)(hit - data);
    ck_assert_msg(lt_memmem(hit + 1, len - off - 1, needle, nlen) == NULL, "bytes found twice");
    unsigned char b = (unsigned char)data[off + at] ^ 0x01;
    free(data);
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)(off + at)), 1);
    ck_assert_int_eq(fsync(fd), 0);
    close(fd);
}

START_TEST(test_raw_leaf_byte)
{
    char *dir = make_ledger("t-raw");
    char *db = checkpointed_db(dir);
    const char *m = "entry-000007-marker";
    raw_flip(db, m, strlen(m), 13);
    expect_detected(dir, 7, 7, NULL);
    free(db);
    lt_remove_ledger(dir);
}
END_TEST

START_TEST(test_raw_leaf_hash)
{
    char *dir = make_ledger("t-rawh");
    ledger *lg;
    adt_err err;
    merkle_hash h;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    ck_assert_int_eq(ledger_leaf_hash(lg, 12, h, &err), ADT_OK);
    ledger_close(lg);
    char *db = checkpointed_db(dir);
    raw_flip(db, h, 32, 17);
    expect_detected(dir, 12, 12, NULL);
    free(db);
    lt_remove_ledger(dir);
}
END_TEST

START_TEST(test_raw_checkpoint)
{
    char *dir = make_ledger("t-rawc");
    ledger *lg;
    adt_err err;
    char note[NOTE_MAX];
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    ck_assert_int_eq(ledger_checkpoint_at(lg, 17, note, sizeof note, &err), ADT_OK);
    ledger_close(lg);
    char *db = checkpointed_db(dir);
    /* A base64 digit of the signature, 12 characters before the end. */
    size_t nl = strlen(note);
    raw_flip(db, note, nl, nl - 12);
    expect_detected(dir, 16, 16, "checkpoint");
    free(db);
    lt_remove_ledger(dir);
}
END_TEST

/* Random single-byte corruption anywhere in ledger.db: verify never crashes,
 * and whenever it passes, every entry and checkpoint still reads back exactly
 * as before (a change verify did not see would be a gap). */
START_TEST(test_raw_random_flips)
{
    enum { ROUNDS = 150 };
    ledger *lg;
    adt_err err;
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    char *orig_leaf[N];
    char *orig_note[N + 1];
    ck_assert_int_eq(ledger_open(g_template, LEDGER_RDONLY, &lg, &err), ADT_OK);
    for (uint64_t i = 0; i < N; i++) {
        ck_assert_int_eq(ledger_entry(lg, i, &leaf, &err), ADT_OK);
        orig_leaf[i] = strdup(leaf.data);
    }
    for (uint64_t i = 0; i <= N; i++) {
        char note[NOTE_MAX];
        ck_assert_int_eq(ledger_checkpoint_at(lg, i, note, sizeof note, &err), ADT_OK);
        orig_note[i] = strdup(note);
    }
    ledger_close(lg);
    const char *es = getenv("LT_SEED"); /* another run: LT_SEED=<n> */
    unsigned seed = es ? (unsigned)strtoul(es, NULL, 10) : 3u;
    fprintf(stderr, "test_raw_random_flips: seed %u (LT_SEED to replay)\n", seed);
    int passed = 0, refused = 0;
    for (int r = 0; r < ROUNDS; r++) {
        char *dir = make_ledger("t-rand");
        char db[4300];
        snprintf(db, sizeof db, "%s/%s", dir, LEDGER_DB_FILE);
        size_t len;
        char *data = ts_read_file(db, &len);
        ck_assert_ptr_nonnull(data);
        free(data);
        size_t off = (size_t)rand_r(&seed) % len;
        unsigned char b;
        int fd = open(db, O_RDWR);
        ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
        b ^= (unsigned char)(1u << (rand_r(&seed) % 8));
        ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
        close(fd);
        ledger_verify_result vr;
        int rc = ledger_verify(dir, &vr, &err);
        if (rc != ADT_OK || !vr.ok) {
            refused++;
            lt_remove_ledger(dir);
            continue;
        }
        passed++;
        ck_assert_uint_eq(vr.entries, N);
        ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
        for (uint64_t i = 0; i < N; i++) {
            int erc = ledger_entry(lg, i, &leaf, &err);
            ck_assert_msg(erc == ADT_OK, "verify passed but entry %llu cannot be read (flip at "
                          "byte %zu): %s", (unsigned long long)i, off, err.msg);
            ck_assert_msg(strcmp(leaf.data, orig_leaf[i]) == 0,
                          "verify passed but entry %llu changed (flip at byte %zu)",
                          (unsigned long long)i, off);
        }
        for (uint64_t i = 0; i <= N; i++) {
            char note[NOTE_MAX];
            int crc = ledger_checkpoint_at(lg, i, note, sizeof note, &err);
            ck_assert_msg(crc == ADT_OK, "verify passed but checkpoint %llu cannot be read (flip at "
                          "byte %zu): %s", (unsigned long long)i, off, err.msg);
            ck_assert_msg(strcmp(note, orig_note[i]) == 0,
                          "verify passed but checkpoint %llu changed (flip at byte %zu)",
                          (unsigned long long)i, off);
        }
        ledger_close(lg);
        lt_remove_ledger(dir);
    }
    fprintf(stderr, "test_raw_random_flips: %d flips refused, %d harmless\n", refused, passed);
    ck_assert_int_gt(refused, 0);
    for (uint64_t i = 0; i < N; i++)
        free(orig_leaf[i]);
    for (uint64_t i = 0; i <= N; i++)
        free(orig_note[i]);
    buf_free(&leaf);
}
END_TEST

/* Flip the divider key of the root (interior) page of a table's B-tree: a
 * full scan still sees every row in order, but looking a row up by key fails.
 * Verify must notice (SQLite's PRAGMA quick_check does). */
static void flip_root_divider(const char *dir, const char *table)
{
    sqlite3 *db = lt_db(dir);
    sqlite3_stmt *s;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT rootpage FROM sqlite_master WHERE type='table' AND name='%s'", table);
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    long root = (long)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    long psz = (long)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    lt_exec_ok(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(db);
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, LEDGER_DB_FILE);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    unsigned char *page = malloc((size_t)psz);
    off_t base = (off_t)(root - 1) * psz;
    ck_assert_int_eq(pread(fd, page, (size_t)psz, base), psz);
    ck_assert_msg(page[0] == 0x05, "root page of %s is not an interior table page (%d)", table, page[0]);
    unsigned cell = (unsigned)page[12] << 8 | page[13]; /* first cell pointer */
    unsigned char *key = page + cell + 4;               /* after the left-child page number */
    ck_assert_msg(key[0] < 0x80, "divider key is not a one-byte varint");
    unsigned char b = key[0] ^ 0x01;
    ck_assert_int_eq(pwrite(fd, &b, 1, base + (off_t)(cell + 4)), 1);
    close(fd);
    free(page);
}

static void expect_refused_any(const char *dir)
{
    ledger_verify_result vr;
    adt_err err;
    int rc = ledger_verify(dir, &vr, &err);
    ck_assert_msg(rc != ADT_OK || !vr.ok, "verify passed on a database whose B-tree is malformed");
    const char *args[] = {"verify", "--data-dir", dir, NULL};
    ck_assert_int_ne(ts_run(NULL, 0, NULL, NULL, args), 0);
}

START_TEST(test_raw_btree_divider)
{
    char *dir = make_ledger("t-div-c");
    flip_root_divider(dir, "checkpoints");
    expect_refused_any(dir);
    lt_remove_ledger(dir);
    dir = make_ledger("t-div-e");
    flip_root_divider(dir, "entries");
    expect_refused_any(dir);
    lt_remove_ledger(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tamper");
    TCase *tc = tcase_create("sql");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, template_setup, template_teardown);
    tcase_add_test(tc, test_untouched);
    tcase_add_test(tc, test_flip_leaf_byte);
    tcase_add_test(tc, test_rewrite_leaf_and_hash);
    tcase_add_test(tc, test_flip_leaf_hash);
    tcase_add_test(tc, test_flip_node_hash);
    tcase_add_test(tc, test_delete_node);
    tcase_add_test(tc, test_v1_layout);
    tcase_add_test(tc, test_flip_checkpoint_sig);
    tcase_add_test(tc, test_flip_checkpoint_root);
    tcase_add_test(tc, test_delete_entry);
    tcase_add_test(tc, test_delete_first_entry);
    tcase_add_test(tc, test_swap_seq);
    tcase_add_test(tc, test_swap_contents);
    tcase_add_test(tc, test_truncate_tail);
    tcase_add_test(tc, test_drop_trigger);
    tcase_add_test(tc, test_neutered_trigger);
    tcase_add_test(tc, test_leftover_nodes);
    tcase_add_test(tc, test_extra_node);
    tcase_add_test(tc, test_append_insert_ignored);
    tcase_add_test(tc, test_foreign_trigger);
    tcase_add_test(tc, test_consistent_rewrite_needs_witness);
    tcase_add_test(tc, test_first_of_two);
    tcase_add_test(tc, test_many_batches);
    tcase_add_test(tc, test_oversized_leaf);
    suite_add_tcase(s, tc);
    TCase *raw = tcase_create("raw");
    tcase_set_timeout(raw, 60);
    tcase_add_unchecked_fixture(raw, template_setup, template_teardown);
    tcase_add_test(raw, test_raw_leaf_byte);
    tcase_add_test(raw, test_raw_leaf_hash);
    tcase_add_test(raw, test_raw_checkpoint);
    tcase_add_test(raw, test_raw_random_flips);
    tcase_add_test(raw, test_raw_btree_divider);
    suite_add_tcase(s, raw);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
