/* ledger.c: storage of the ledger in SQLite.
 *
 * Tables (see docs/ledger.md):
 *   meta(key, value)              origin, public key, format
 *   entries(seq, leaf, leaf_hash) the exact leaf bytes and SHA-256(0x00||leaf)
 *   nodes(id, hash)               every complete subtree hash of level >=
 *                                 min_level (4; 1 in ledgers of format
 *                                 auditd-ledger-1); id = level * 2^56 +
 *                                 index at that level
 *   checkpoints(size, root, note) every signed checkpoint
 * Triggers refuse UPDATE and DELETE on all four.
 *
 * Any subtree hash the proofs need is either one stored node, one leaf hash,
 * a fold of the at most 2^(min_level-1) leaf hashes under an unstored node,
 * or (on the right edge) a fold of at most 64 of those, so roots and proofs
 * cost O(log n) row reads and the handle keeps O(1) memory.
 *
 * Why levels 1..3 are not stored (format auditd-ledger-2): they are 7 of
 * every 8 node rows, and their inserts land in the middle of the nodes
 * B-tree (ids are ordered by level first); writing them cost about a quarter
 * of an append's CPU. A proof recomputes such a subtree from at most 8
 * consecutive leaf hashes, one short range read. A ledger made before
 * (format auditd-ledger-1) keeps storing and reading every level, so both
 * layouts open, append, prove and verify. */
#include "ledger.h"

#include "bgtask.h"
#include "canon.h"
#include "codec.h"
#include "leaf.h"
#include "numparse.h"
#include "rfc3339.h"
#include "sqldb.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define NODE_ID(level, index) ((int64_t)(((uint64_t)(level) << 56) | (uint64_t)(index)))
#define MAX_SOURCE 128
#define MAX_TYPE 128
#define PATH_MAX_LEN 4096
/* The formats (meta 'format') and the lowest tree level each stores. */
#define FORMAT_V1 "auditd-ledger-1"
#define FORMAT_V2 "auditd-ledger-2"
#define MIN_LEVEL_V1 1
#define MIN_LEVEL_V2 4
/* Entries are inserted PEND_ROWS at a time with one multi-row statement (one
 * statement journal and one trigger-carrying statement run instead of 32),
 * or fewer when their leaves reach PEND_BYTES. */
#define PEND_ROWS 32
#define PEND_BYTES (256u << 10)

enum {
    ST_INSERT_ENTRY,
    ST_INSERT_ENTRIES,
    ST_INSERT_NODE,
    ST_INSERT_NODES,
    ST_INSERT_CKPT,
    ST_GET_LEAF,
    ST_GET_LEAF_HASH,
    ST_LEAF_HASHES,
    ST_GET_NODE,
    ST_MAX_SEQ,
    ST_LATEST_CKPT,
    ST_CKPT_AT,
    ST_SCAN,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_INSERT_ENTRY] = "INSERT INTO entries(seq, leaf, leaf_hash) VALUES (?, ?, ?)",
    [ST_INSERT_ENTRIES] = NULL, /* PEND_ROWS rows: built by ledger_open, writers only */
    [ST_INSERT_NODE] = "INSERT INTO nodes(id, hash) VALUES (?, ?)",
    [ST_INSERT_NODES] = NULL, /* PEND_ROWS rows: built by ledger_open, writers only */
    [ST_INSERT_CKPT] = "INSERT INTO checkpoints(size, root, note) VALUES (?, ?, ?)",
    [ST_GET_LEAF] = "SELECT leaf FROM entries WHERE seq = ?",
    [ST_GET_LEAF_HASH] = "SELECT leaf_hash FROM entries WHERE seq = ?",
    [ST_LEAF_HASHES] = "SELECT seq, leaf_hash FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq",
    [ST_GET_NODE] = "SELECT hash FROM nodes WHERE id = ?",
    [ST_MAX_SEQ] = "SELECT max(seq) FROM entries",
    [ST_LATEST_CKPT] = "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1",
    [ST_CKPT_AT] = "SELECT note FROM checkpoints WHERE size = ?",
    [ST_SCAN] = "SELECT seq, leaf FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq",
};

/* The batches table (docs/ledger.md, "Batches") may be missing from a ledger
 * made by an older version until a writer opens it, so its statements are
 * prepared on first use. */
enum { BT_FIND, BT_BY_SEQ, BT_INSERT, BT_COUNT };
static const char *const batch_sql[BT_COUNT] = {
    [BT_FIND] = "SELECT seq, first, count, tree_size, body_sha256 FROM batches WHERE agent = ? AND body_sha256 = ?",
    [BT_BY_SEQ] = "SELECT seq, first, count, tree_size, body_sha256 FROM batches WHERE agent = ? AND seq = ?",
    [BT_INSERT] = "INSERT INTO batches(agent, body_sha256, seq, first, count, tree_size) VALUES (?, ?, ?, ?, ?, ?)",
};

static const char *const batches_schema_sql =
    "CREATE TABLE IF NOT EXISTS batches(agent TEXT NOT NULL, body_sha256 BLOB NOT NULL,"
    " seq INTEGER NOT NULL, first INTEGER NOT NULL, count INTEGER NOT NULL,"
    " tree_size INTEGER NOT NULL, PRIMARY KEY (agent, body_sha256)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS batches_by_seq ON batches(agent, seq);";

struct ledger {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    sqlite3_stmt *bt[BT_COUNT];
    int mode;
    int min_level;            /* lowest tree level stored in nodes (format) */
    char origin[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    char key_line[NOTE_KEYLINE_MAX];
    note_signer *signer;      /* RDWR only */
    /* Writer state, valid while `fresh`: the tree frontier and last leaf hash. */
    bool fresh;
    merkle_frontier fr;
    merkle_hash last_leaf;
    buf leaf;                 /* scratch for building leaves */
    /* Entries built but not yet inserted (see PEND_ROWS): their leaves one
     * after another in `pend`, and each one's end offset and leaf hash.
     * They are the last npend pushed to `fr`: seqs fr.size - npend on. */
    buf pend;
    size_t npend;
    size_t pend_end[PEND_ROWS];
    merkle_hash pend_hash[PEND_ROWS];
    /* Tree nodes completed but not yet inserted, stored with the entries. */
    size_t nnodes;
    int64_t node_id[PEND_ROWS];
    merkle_hash node_hash[PEND_ROWS];
    /* The last leaf tail built (see leaf_tail): for a run of items with the
     * same source, type and writer it is checked and built once. */
    buf tail;
    char tail_source[MAX_SOURCE + 1], tail_type[MAX_TYPE + 1];
    event_writer tail_writer;
    int64_t (*clock)(void *);
    void *clock_ctx;
};

static const char *const schema_sql =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE entries(seq INTEGER PRIMARY KEY, leaf BLOB NOT NULL, leaf_hash BLOB NOT NULL);"
    "CREATE TABLE nodes(id INTEGER PRIMARY KEY, hash BLOB NOT NULL);"
    "CREATE TABLE checkpoints(size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL);";

/* The immutability triggers. verify compares each one's stored SQL with this
 * text, so a trigger dropped or replaced by a harmless one is noticed.
 * INSERT OR REPLACE deletes the old row without firing DELETE triggers
 * (unless recursive_triggers is on), hence the *_no_replace ones. */
typedef struct trigger_def {
    const char *name;
    const char *sql;
} trigger_def;

static const trigger_def triggers[] = {
    {"entries_no_update",
     "CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END"},
    {"entries_no_delete",
     "CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END"},
    {"nodes_no_update",
     "CREATE TRIGGER nodes_no_update BEFORE UPDATE ON nodes BEGIN SELECT RAISE(ABORT, 'ledger tree is append-only'); END"},
    {"nodes_no_delete",
     "CREATE TRIGGER nodes_no_delete BEFORE DELETE ON nodes BEGIN SELECT RAISE(ABORT, 'ledger tree is append-only'); END"},
    {"checkpoints_no_update",
     "CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END"},
    {"checkpoints_no_delete",
     "CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END"},
    {"meta_no_update",
     "CREATE TRIGGER meta_no_update BEFORE UPDATE ON meta BEGIN SELECT RAISE(ABORT, 'ledger metadata is immutable'); END"},
    {"meta_no_delete",
     "CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta BEGIN SELECT RAISE(ABORT, 'ledger metadata is immutable'); END"},
    {"entries_no_replace",
     "CREATE TRIGGER entries_no_replace BEFORE INSERT ON entries WHEN EXISTS (SELECT 1 FROM entries WHERE seq = NEW.seq) BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END"},
    {"nodes_no_replace",
     "CREATE TRIGGER nodes_no_replace BEFORE INSERT ON nodes WHEN EXISTS (SELECT 1 FROM nodes WHERE id = NEW.id) BEGIN SELECT RAISE(ABORT, 'ledger tree is append-only'); END"},
    {"checkpoints_no_replace",
     "CREATE TRIGGER checkpoints_no_replace BEFORE INSERT ON checkpoints WHEN EXISTS (SELECT 1 FROM checkpoints WHERE size = NEW.size) BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END"},
    {"meta_no_replace",
     "CREATE TRIGGER meta_no_replace BEFORE INSERT ON meta WHEN EXISTS (SELECT 1 FROM meta WHERE key = NEW.key) BEGIN SELECT RAISE(ABORT, 'ledger metadata is immutable'); END"},
};

static int path_join(char *out, size_t cap, const char *dir, const char *file)
{
    int n = snprintf(out, cap, "%s/%s", dir, file);
    return (n < 0 || (size_t)n >= cap) ? ADT_ETOOBIG : ADT_OK;
}

static bool valid_origin(const char *o)
{
    size_t n = strlen(o);
    if (n == 0 || n > NOTE_ORIGIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)o[i] <= 0x20 || (unsigned char)o[i] >= 0x7F || o[i] == '+')
            return false;
    return true;
}

static int init_ledger(const char *dir, const char *origin, const uint8_t *seed, adt_err *err);

int ledger_init(const char *dir, const char *origin, adt_err *err)
{
    return init_ledger(dir, origin, NULL, err);
}

int ledger_init_seeded(const char *dir, const char *origin, const uint8_t seed[32], adt_err *err)
{
    return init_ledger(dir, origin, seed, err);
}

void ledger_set_clock(ledger *lg, int64_t (*now_us)(void *ctx), void *ctx)
{
    lg->clock = now_us;
    lg->clock_ctx = ctx;
}

static int init_ledger(const char *dir, const char *origin, const uint8_t *seed, adt_err *err)
{
    if (!valid_origin(origin))
        return adt_fail(err, ADT_EINVAL,
                        "origin '%s' is invalid: use printable ASCII without spaces or '+', "
                        "e.g. auditd.example/plant-1", origin);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return adt_fail(err, ADT_EIO, "cannot create %s: %s", dir, strerror(errno));
    char dbp[PATH_MAX_LEN], keyp[PATH_MAX_LEN];
    if (path_join(dbp, sizeof dbp, dir, LEDGER_DB_FILE) || path_join(keyp, sizeof keyp, dir, LEDGER_KEY_FILE))
        return adt_fail(err, ADT_EINVAL, "data directory path too long");
    if (access(dbp, F_OK) == 0)
        return adt_fail(err, ADT_EEXIST, "a ledger exists already in %s (refusing to overwrite it)", dir);
    uint8_t pub[32];
    int rc = seed ? note_keygen_seeded(keyp, seed, pub, err) : note_keygen(keyp, pub, err);
    if (rc)
        return rc;
    sqlite3 *db;
    if ((rc = sqldb_open(dir, LEDGER_DB_FILE, SQLDB_CREATE, SQLDB_DURABLE, NULL, &db, err))) {
        unlink(keyp);
        return rc;
    }
    rc = ADT_OK;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, batches_schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = sqldb_fail(db, "creating the ledger schema", err);
    }
    for (size_t i = 0; !rc && i < sizeof triggers / sizeof triggers[0]; i++)
        if (sqlite3_exec(db, triggers[i].sql, NULL, NULL, NULL) != SQLITE_OK)
            rc = sqldb_fail(db, "creating the ledger triggers", err);
    if (!rc) {
        sqlite3_stmt *s = NULL;
        const char *sql = "INSERT INTO meta(key, value) VALUES ('format', '" FORMAT_V2 "'), "
                          "('origin', ?1), ('pubkey', ?2)";
        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
            rc = sqldb_fail(db, "writing ledger metadata", err);
        } else {
            sqlite3_bind_text(s, 1, origin, -1, SQLITE_STATIC);
            sqlite3_bind_blob(s, 2, pub, 32, SQLITE_STATIC);
            if (sqlite3_step(s) != SQLITE_DONE)
                rc = sqldb_fail(db, "writing ledger metadata", err);
            sqlite3_finalize(s);
        }
    }
    if (!rc && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = sqldb_fail(db, "committing the new ledger", err);
    if (rc)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    if (rc) {
        unlink(dbp);
        unlink(keyp);
        return rc;
    }
    /* Sign the empty tree's checkpoint so a ledger always has one. */
    ledger *lg;
    if ((rc = ledger_open(dir, LEDGER_RDWR, &lg, err)))
        return rc;
    ledger_commit c;
    rc = ledger_append(lg, NULL, 0, &c, err);
    ledger_close(lg);
    return rc;
}

static int load_meta(ledger *lg, adt_err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(lg->db, "SELECT key, value FROM meta", -1, &s, NULL) != SQLITE_OK)
        return adt_fail(err, ADT_ECORRUPT, "not an auditd ledger (no metadata): %s",
                        sqlite3_errmsg(lg->db));
    bool have_origin = false, have_pub = false, have_format = false;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        int n = sqlite3_column_bytes(s, 1);
        const void *v = sqlite3_column_blob(s, 1);
        if (!k)
            continue;
        if (!strcmp(k, "origin") && n > 0 && n <= NOTE_ORIGIN_MAX) {
            memcpy(lg->origin, v, (size_t)n);
            lg->origin[n] = '\0';
            have_origin = true;
        } else if (!strcmp(k, "pubkey") && n == 32) {
            memcpy(lg->pub, v, 32);
            have_pub = true;
        } else if (!strcmp(k, "format") && n == 15 && !memcmp(v, FORMAT_V1, 15)) {
            have_format = true;
            lg->min_level = MIN_LEVEL_V1;
        } else if (!strcmp(k, "format") && n == 15 && !memcmp(v, FORMAT_V2, 15)) {
            have_format = true;
            lg->min_level = MIN_LEVEL_V2;
        }
    }
    sqlite3_finalize(s);
    if (!have_origin || !have_pub || !have_format)
        return adt_fail(err, ADT_ECORRUPT, "ledger metadata is incomplete or of an unknown format");
    return note_key_line(lg->origin, lg->pub, lg->key_line, sizeof lg->key_line);
}

int ledger_open(const char *dir, int mode, ledger **out, adt_err *err)
{
    if (sodium_init() < 0)
        return adt_fail(err, ADT_ECRYPTO, "libsodium failed to initialise");
    ledger *lg = calloc(1, sizeof *lg);
    if (!lg)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    lg->mode = mode;
    buf_init(&lg->leaf, LEDGER_MAX_LEAF);
    buf_init(&lg->pend, PEND_BYTES + LEDGER_MAX_LEAF);
    buf_init(&lg->tail, 2 * (MAX_SOURCE + MAX_TYPE) + 64);
    /* Readers open read-write too (never writing): WAL readers need the shm
     * file, and a read-only open could not recover a crashed writer's WAL.
     * Durable: a commit is on disk before it returns, which acknowledgements
     * rely on. */
    char hint[PATH_MAX_LEN + 64];
    snprintf(hint, sizeof hint, "run 'auditd init --data-dir %s' first", dir);
    int rc = sqldb_open(dir, LEDGER_DB_FILE, SQLDB_WRITE, SQLDB_DURABLE, hint, &lg->db, err);
    if (!rc)
        rc = load_meta(lg, err);
    /* The multi-row inserts only a writer runs (ledger_append_batches
     * refuses a reader): a reader, opened per request by the server and the
     * reports, neither builds nor prepares them (each compiles the entries
     * or nodes triggers in). */
    char multi[2][64 + PEND_ROWS * 10];
    if (mode == LEDGER_RDWR) {
        int ml = snprintf(multi[0], sizeof multi[0], "INSERT INTO entries(seq, leaf, leaf_hash) VALUES (?, ?, ?)");
        int nl = snprintf(multi[1], sizeof multi[1], "INSERT INTO nodes(id, hash) VALUES (?, ?)");
        for (int i = 1; i < PEND_ROWS; i++) {
            ml += snprintf(multi[0] + ml, sizeof multi[0] - (size_t)ml, ",(?,?,?)");
            nl += snprintf(multi[1] + nl, sizeof multi[1] - (size_t)nl, ",(?,?)");
        }
    }
    for (int i = 0; !rc && i < ST_COUNT; i++) {
        if (!stmt_sql[i] && mode != LEDGER_RDWR)
            continue;
        if (sqlite3_prepare_v3(lg->db, stmt_sql[i] ? stmt_sql[i] : multi[i == ST_INSERT_NODES], -1,
                               SQLITE_PREPARE_PERSISTENT, &lg->st[i], NULL) != SQLITE_OK)
            rc = sqldb_fail(lg->db, "preparing ledger statements", err);
    }
    /* A writer brings a ledger of an older version up to date (the batches
     * table only; the public formats are unchanged). */
    if (!rc && mode == LEDGER_RDWR &&
        sqlite3_exec(lg->db, batches_schema_sql, NULL, NULL, NULL) != SQLITE_OK)
        rc = sqldb_fail(lg->db, "creating the batches table", err);
    if (!rc && mode == LEDGER_RDWR) {
        char keyp[PATH_MAX_LEN];
        if (path_join(keyp, sizeof keyp, dir, LEDGER_KEY_FILE))
            rc = adt_fail(err, ADT_EINVAL, "data directory path too long");
        else
            rc = note_signer_load(keyp, lg->origin, &lg->signer, err);
        if (!rc && memcmp(note_signer_pub(lg->signer), lg->pub, 32) != 0)
            rc = adt_fail(err, ADT_ECORRUPT,
                          "%s does not hold the key the ledger was created with", keyp);
    }
    if (rc) {
        ledger_close(lg);
        return rc;
    }
    *out = lg;
    return ADT_OK;
}

void ledger_close(ledger *lg)
{
    if (!lg)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(lg->st[i]);
    for (int i = 0; i < BT_COUNT; i++)
        sqlite3_finalize(lg->bt[i]);
    sqlite3_close(lg->db);
    note_signer_free(lg->signer);
    buf_free(&lg->leaf);
    buf_free(&lg->pend);
    buf_free(&lg->tail);
    free(lg);
}

const char *ledger_origin(const ledger *lg) { return lg->origin; }
const char *ledger_key_line(const ledger *lg) { return lg->key_line; }
const uint8_t *ledger_pubkey(const ledger *lg) { return lg->pub; }
int ledger_node_min_level(const ledger *lg) { return lg->min_level; }

static int db_size(ledger *lg, uint64_t *size, adt_err *err)
{
    *size = 0;
    sqlite3_stmt *s = lg->st[ST_MAX_SEQ];
    sqlite3_reset(s);
    int r = sqlite3_step(s);
    if (r != SQLITE_ROW) {
        sqlite3_reset(s);
        return sqldb_fail(lg->db, "reading the ledger size", err);
    }
    *size = sqlite3_column_type(s, 0) == SQLITE_NULL ? 0 : (uint64_t)sqlite3_column_int64(s, 0) + 1;
    sqlite3_reset(s);
    return ADT_OK;
}

int ledger_size(ledger *lg, uint64_t *size, adt_err *err) { return db_size(lg, size, err); }

static int get_hash(ledger *lg, int stmt, int64_t key, merkle_hash out, adt_err *err)
{
    sqlite3_stmt *s = lg->st[stmt];
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, key);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW && sqlite3_column_bytes(s, 0) == MERKLE_HASH_LEN) {
        memcpy(out, sqlite3_column_blob(s, 0), MERKLE_HASH_LEN);
        sqlite3_reset(s);
        return ADT_OK;
    }
    sqlite3_reset(s);
    if (r == SQLITE_ROW || r == SQLITE_DONE)
        return adt_fail(err, ADT_ECORRUPT, "ledger tree is missing %s %lld: run 'auditd verify'",
                        stmt == ST_GET_LEAF_HASH ? "leaf hash" : "node", (long long)key);
    return sqldb_fail(lg->db, "reading the tree", err);
}

/* A subtree below min_level, folded from its 2^level stored leaf hashes
 * (one range read). */
static int folded_hash(ledger *lg, int level, uint64_t start, merkle_hash out, adt_err *err)
{
    sqlite3_stmt *s = lg->st[ST_LEAF_HASHES];
    uint64_t n = 1ull << level;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, (int64_t)start);
    sqlite3_bind_int64(s, 2, (int64_t)(start + n));
    merkle_frontier fr;
    merkle_frontier_init(&fr);
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW && fr.size < n &&
           (uint64_t)sqlite3_column_int64(s, 0) == start + fr.size &&
           sqlite3_column_bytes(s, 1) == MERKLE_HASH_LEN)
        merkle_frontier_push(&fr, sqlite3_column_blob(s, 1), NULL, NULL);
    sqlite3_reset(s);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return sqldb_fail(lg->db, "reading the tree", err);
    if (fr.size != n)
        return adt_fail(err, ADT_ECORRUPT, "ledger tree is missing leaf hash %llu: run 'auditd verify'",
                        (unsigned long long)(start + fr.size));
    merkle_frontier_root(&fr, out);
    return ADT_OK;
}

/* Hash of the perfect subtree of `level` whose leftmost leaf is `start`. */
static int perfect_hash(ledger *lg, int level, uint64_t start, merkle_hash out, adt_err *err)
{
    if (level == 0)
        return get_hash(lg, ST_GET_LEAF_HASH, (int64_t)start, out, err);
    if (level < lg->min_level)
        return folded_hash(lg, level, start, out, err);
    return get_hash(lg, ST_GET_NODE, NODE_ID(level, start >> level), out, err);
}

static int log2_exact(uint64_t n)
{
    int l = 0;
    while ((1ull << l) < n)
        l++;
    return l;
}

/* MTH(D[a:b]) where a is aligned to the largest power of two <= b-a (always
 * true for the ranges RFC 6962's recursion produces). */
static int range_hash(ledger *lg, uint64_t a, uint64_t b, merkle_hash out, adt_err *err)
{
    uint64_t n = b - a;
    if ((n & (n - 1)) == 0)
        return perfect_hash(lg, log2_exact(n), a, out, err);
    uint64_t k = merkle_split(n);
    merkle_hash l, r;
    int rc = perfect_hash(lg, log2_exact(k), a, l, err);
    if (!rc)
        rc = range_hash(lg, a + k, b, r, err);
    if (!rc)
        merkle_node_hash(l, r, out);
    return rc;
}

static int load_frontier(ledger *lg, adt_err *err)
{
    uint64_t size = 0;
    int rc = db_size(lg, &size, err);
    if (rc)
        return rc;
    merkle_frontier_init(&lg->fr);
    uint64_t off = 0;
    for (int bit = 63; bit >= 0; bit--) {
        if (!(size & (1ull << bit)))
            continue;
        if ((rc = perfect_hash(lg, bit, off, lg->fr.h[lg->fr.count], err)))
            return rc;
        lg->fr.count++;
        off += 1ull << bit;
    }
    lg->fr.size = size;
    if (size > 0 && (rc = get_hash(lg, ST_GET_LEAF_HASH, (int64_t)(size - 1), lg->last_leaf, err)))
        return rc;
    lg->fresh = true;
    return ADT_OK;
}

/* Binds pending row i to the statement's parameters col + 1, col + 2, ... */
typedef void (*bind_row_fn)(ledger *lg, sqlite3_stmt *s, int col, size_t i);

/* Insert n pending rows of ncols columns each, bound by `bind`: PEND_ROWS
 * of them with the multi-row statement `multi_st`, fewer one by one with
 * `one_st`. ADT_OK; ADT_EIO when a statement failed; ADT_ECORRUPT when rows
 * were not all stored (a foreign trigger could make an insert a silent
 * no-op). On failure *bad is the first row of the failed statement. */
static int insert_pending(ledger *lg, size_t n, int one_st, int multi_st, int ncols,
                          bind_row_fn bind, size_t *bad)
{
    bool multi = n == PEND_ROWS;
    sqlite3_stmt *s = lg->st[multi ? multi_st : one_st];
    for (size_t i = 0; i < n; i++) {
        if (!multi)
            sqlite3_reset(s);
        bind(lg, s, multi ? ncols * (int)i : 0, i);
        if (multi && i + 1 < n)
            continue;
        int r = sqlite3_step(s);
        sqlite3_reset(s);
        *bad = multi ? 0 : i;
        if (r != SQLITE_DONE)
            return ADT_EIO;
        if (sqlite3_changes(lg->db) != (multi ? (int)n : 1))
            return ADT_ECORRUPT;
    }
    return ADT_OK;
}

static void bind_node(ledger *lg, sqlite3_stmt *s, int col, size_t i)
{
    sqlite3_bind_int64(s, col + 1, lg->node_id[i]);
    sqlite3_bind_blob(s, col + 2, lg->node_hash[i], MERKLE_HASH_LEN, SQLITE_STATIC);
}

/* Insert the pending tree nodes (insert_pending). */
static int flush_nodes(ledger *lg)
{
    size_t n = lg->nnodes, bad;
    lg->nnodes = 0;
    return insert_pending(lg, n, ST_INSERT_NODE, ST_INSERT_NODES, 2, bind_node, &bad) ? ADT_EIO
                                                                                       : ADT_OK;
}

static int on_node(void *ctx, int level, uint64_t index, const merkle_hash h)
{
    ledger *lg = ctx;
    if (level < lg->min_level)
        return ADT_OK;
    int rc;
    if (lg->nnodes == PEND_ROWS && (rc = flush_nodes(lg)))
        return rc;
    lg->node_id[lg->nnodes] = NODE_ID(level, index);
    memcpy(lg->node_hash[lg->nnodes], h, MERKLE_HASH_LEN);
    lg->nnodes++;
    return ADT_OK;
}

static bool valid_label(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max || !canon_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return false;
    return true;
}

/* Check that `it` may be stored (labels, its writer allowed for its type),
 * and build the end of its leaf, the members that depend only on it:
 * ,"source":..,"type":..,"writer":".."} into lg->tail. A batch usually has
 * one source, type and writer: then this runs once. */
static int leaf_tail(ledger *lg, const ledger_item *it, adt_err *err)
{
    if (lg->tail.len && it->writer == lg->tail_writer && it->source && it->type &&
        !strcmp(it->source, lg->tail_source) && !strcmp(it->type, lg->tail_type))
        return ADT_OK;
    buf_reset(&lg->tail);
    if (!valid_label(it->source, MAX_SOURCE))
        return adt_fail(err, ADT_EINVAL, "source must be 1..%d bytes of UTF-8 without control characters", MAX_SOURCE);
    if (!valid_label(it->type, MAX_TYPE))
        return adt_fail(err, ADT_EINVAL, "type must be 1..%d bytes of UTF-8 without control characters", MAX_TYPE);
    const char *wname = event_writer_name(it->writer);
    if (!*wname)
        return adt_fail(err, ADT_EINVAL, "no writer given for a %s entry (a bug in the caller)", it->type);
    unsigned allowed = event_type_writers(it->type);
    if (!allowed)
        return adt_fail(err, ADT_EINVAL, "event type \"%s\" is not in the vocabulary (docs/events.md)", it->type);
    if (!(allowed & (unsigned)it->writer)) {
        char names[96];
        event_writers_text(allowed, names, sizeof names);
        return adt_fail(err, ADT_EFORBIDDEN, "%s may not write \"%s\" entries (writers: %s)", wname,
                        it->type, names);
    }
    buf *t = &lg->tail;
    int rc;
    if ((rc = buf_puts(t, ",\"source\":")) || (rc = canon_put_string(t, it->source, strlen(it->source))) ||
        (rc = buf_puts(t, ",\"type\":")) || (rc = canon_put_string(t, it->type, strlen(it->type))) ||
        (rc = buf_puts(t, ",\"writer\":\"")) || (rc = buf_puts(t, wname)) || (rc = buf_puts(t, "\"}"))) {
        buf_reset(t);
        return adt_fail(err, rc, "out of memory");
    }
    snprintf(lg->tail_source, sizeof lg->tail_source, "%s", it->source);
    snprintf(lg->tail_type, sizeof lg->tail_type, "%s", it->type);
    lg->tail_writer = it->writer;
    return ADT_OK;
}

/* The chain members after the payload: ,"prev":"<hex>","recorded_at":"<t>","seq":N */
static int put_chain(ledger *lg, uint64_t seq, const char *recorded_at, buf *b)
{
    char txt[9 + CODEC_HEX_LEN(MERKLE_HASH_LEN) + 17 + 40 + 8 + 20];
    size_t n = 0;
    memcpy(txt, ",\"prev\":\"", 9);
    n = 9;
    if (seq > 0) {
        codec_hex(lg->last_leaf, MERKLE_HASH_LEN, txt + n, CODEC_HEX_LEN(MERKLE_HASH_LEN));
        n += 2 * MERKLE_HASH_LEN;
    }
    size_t rl = strlen(recorded_at);
    if (rl > 40)
        return ADT_EINVAL;
    memcpy(txt + n, "\",\"recorded_at\":\"", 17);
    n += 17;
    memcpy(txt + n, recorded_at, rl);
    n += rl;
    memcpy(txt + n, "\",\"seq\":", 8);
    n += 8;
    char digits[20];
    size_t nd = 0;
    do
        digits[nd++] = (char)('0' + seq % 10);
    while ((seq /= 10) > 0);
    while (nd > 0)
        txt[n++] = digits[--nd];
    return buf_append(b, txt, n);
}

/* Build the canonical leaf for `it` at `seq` into lg->leaf. Keys in byte
 * order: payload, prev, recorded_at, seq, sig, source, type, writer. */
static int build_leaf(ledger *lg, const ledger_item *it, uint64_t seq, const char *recorded_at,
                      adt_err *err)
{
    buf *b = &lg->leaf;
    buf_reset(b);
    int rc = leaf_tail(lg, it, err);
    if (rc)
        return rc;
    static const canon_limits leaf_lim = {LEDGER_MAX_LEAF / 2, 32, 65536};
    if ((rc = buf_puts(b, "{\"payload\":")))
        return adt_fail(err, rc, "out of memory");
    if (it->payload_canonical) {
        /* Already canonical (the caller's contract); only its shape is checked here. */
        if (it->payload_len < 2 || it->payload_len > leaf_lim.max_bytes || it->payload[0] != '{' ||
            it->payload[it->payload_len - 1] != '}')
            return adt_fail(err, ADT_EINVAL, "payload: not a canonical JSON object");
        if ((rc = buf_append(b, it->payload, it->payload_len)))
            return adt_fail(err, rc, "entry is larger than %u bytes", LEDGER_MAX_LEAF);
    } else if (canon_is_canonical(it->payload, it->payload_len, &leaf_lim)) {
        /* Exactly the bytes canon_json would write (canon.h): stored as they
         * are, without canonicalising them again. */
        if ((rc = buf_append(b, it->payload, it->payload_len)))
            return adt_fail(err, rc, "entry is larger than %u bytes", LEDGER_MAX_LEAF);
    } else if ((rc = canon_json(it->payload, it->payload_len, &leaf_lim, true, b, err))) {
        adt_err_prefix(err, "payload");
        return rc;
    }
    if ((rc = put_chain(lg, seq, recorded_at, b)))
        return adt_fail(err, rc, "entry is larger than %u bytes", LEDGER_MAX_LEAF);
    if (it->sig) {
        static const canon_limits sig_lim = {8192, 4, 64};
        if ((rc = buf_puts(b, ",\"sig\":")))
            return adt_fail(err, rc, "entry is larger than %u bytes", LEDGER_MAX_LEAF);
        if ((rc = canon_json(it->sig, it->sig_len, &sig_lim, true, b, err))) {
            adt_err_prefix(err, "signature");
            return rc;
        }
    }
    if ((rc = buf_append(b, lg->tail.data, lg->tail.len)))
        return adt_fail(err, rc, "entry is larger than %u bytes", LEDGER_MAX_LEAF);
    return ADT_OK;
}

int ledger_now_rfc3339(char *out, size_t cap) { return rfc3339_format(rfc3339_now_us(), out, cap); }

/* The batches statement `which`, prepared on first use. NULL when the table
 * does not exist (a ledger of an older version opened read-only). */
static sqlite3_stmt *batch_stmt(ledger *lg, int which)
{
    if (!lg->bt[which] &&
        sqlite3_prepare_v3(lg->db, batch_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &lg->bt[which],
                           NULL) != SQLITE_OK)
        lg->bt[which] = NULL;
    return lg->bt[which];
}

/* Run a prepared batches lookup (agent bound as ?1, key as ?2) into `rec`. */
static int batch_lookup(ledger *lg, sqlite3_stmt *s, ledger_batch_rec *rec, adt_err *err)
{
    int r = sqlite3_step(s);
    int rc = ADT_OK;
    if (r == SQLITE_ROW && sqlite3_column_bytes(s, 4) == 32) {
        rec->seq = (uint64_t)sqlite3_column_int64(s, 0);
        rec->first = (uint64_t)sqlite3_column_int64(s, 1);
        rec->count = (uint64_t)sqlite3_column_int64(s, 2);
        rec->tree_size = (uint64_t)sqlite3_column_int64(s, 3);
        memcpy(rec->body_sha256, sqlite3_column_blob(s, 4), 32);
    } else if (r == SQLITE_ROW || r == SQLITE_DONE) {
        rc = adt_fail(err, ADT_ENOTFOUND, "no such batch");
    } else {
        rc = sqldb_fail(lg->db, "reading the batches table", err);
    }
    sqlite3_reset(s);
    return rc;
}

int ledger_batch_find(ledger *lg, const char *agent, const uint8_t body_sha256[32],
                      ledger_batch_rec *rec, adt_err *err)
{
    sqlite3_stmt *s = batch_stmt(lg, BT_FIND);
    if (!s)
        return adt_fail(err, ADT_ENOTFOUND, "this ledger records no batches yet");
    sqlite3_bind_text(s, 1, agent, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, body_sha256, 32, SQLITE_STATIC);
    return batch_lookup(lg, s, rec, err);
}

int ledger_batch_by_seq(ledger *lg, const char *agent, uint64_t seq, ledger_batch_rec *rec,
                        adt_err *err)
{
    sqlite3_stmt *s = batch_stmt(lg, BT_BY_SEQ);
    if (!s)
        return adt_fail(err, ADT_ENOTFOUND, "this ledger records no batches yet");
    if (seq > INT64_MAX)
        return adt_fail(err, ADT_ENOTFOUND, "no such batch");
    sqlite3_bind_text(s, 1, agent, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)seq);
    return batch_lookup(lg, s, rec, err);
}

int ledger_append(ledger *lg, const ledger_item *items, size_t n, ledger_commit *out,
                  adt_err *err)
{
    ledger_batch b = {.items = items, .n = n};
    return ledger_append_batches(lg, &b, n ? 1 : 0, out, err);
}

/* Whether batches[k] was committed before (in an earlier transaction, or
 * earlier in this call): then b->duplicate is set and b->rec describes the
 * original (its tree_size filled in by record_batches for one of this call). */
static int find_duplicate(ledger *lg, ledger_batch *batches, size_t k, adt_err *err)
{
    ledger_batch *b = &batches[k];
    for (size_t j = 0; j < k; j++)
        if (batches[j].id && !batches[j].duplicate &&
            !strcmp(batches[j].id->agent, b->id->agent) &&
            !memcmp(batches[j].id->body_sha256, b->id->body_sha256, 32)) {
            b->duplicate = true;
            b->rec = batches[j].rec;
            return ADT_OK;
        }
    sqlite3_stmt *q = batch_stmt(lg, BT_FIND);
    if (!q)
        return sqldb_fail(lg->db, "reading the batches table", err);
    sqlite3_bind_text(q, 1, b->id->agent, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, b->id->body_sha256, 32, SQLITE_STATIC);
    adt_err e2;
    int rc = batch_lookup(lg, q, &b->rec, &e2);
    if (rc == ADT_OK)
        b->duplicate = true;
    else if (rc != ADT_ENOTFOUND) {
        *err = e2;
        return rc;
    }
    return ADT_OK;
}

static void bind_entry(ledger *lg, sqlite3_stmt *s, int col, size_t i)
{
    size_t start = i ? lg->pend_end[i - 1] : 0;
    sqlite3_bind_int64(s, col + 1, (int64_t)(lg->fr.size - lg->npend + i));
    sqlite3_bind_blob(s, col + 2, lg->pend.data + start, (int)(lg->pend_end[i] - start),
                      SQLITE_STATIC);
    sqlite3_bind_blob(s, col + 3, lg->pend_hash[i], MERKLE_HASH_LEN, SQLITE_STATIC);
}

/* Insert the pending entries (insert_pending). */
static int flush_entries(ledger *lg, adt_err *err)
{
    size_t n = lg->npend, bad;
    uint64_t first = lg->fr.size - n;
    int rc = insert_pending(lg, n, ST_INSERT_ENTRY, ST_INSERT_ENTRIES, 3, bind_entry, &bad);
    lg->npend = 0;
    buf_reset(&lg->pend);
    if (rc == ADT_EIO)
        return sqldb_fail(lg->db, "storing an entry", err);
    /* Never acknowledge what was not stored. */
    if (rc)
        return adt_fail(err, ADT_ECORRUPT,
                        "entries from %llu were not all stored (a foreign trigger?): run "
                        "'auditd verify'", (unsigned long long)(first + bad));
    return ADT_OK;
}

/* Store one entry: its leaf (built in lg->leaf) and leaf hash are queued
 * for flush_entries, the tree nodes it completes for flush_nodes (on_node);
 * append_entries flushes both before the checkpoint is signed. */
static int store_entry(ledger *lg, adt_err *err)
{
    int rc;
    if ((lg->npend == PEND_ROWS || lg->pend.len >= PEND_BYTES) && (rc = flush_entries(lg, err)))
        return rc;
    merkle_hash lh;
    merkle_leaf_hash(lg->leaf.data, lg->leaf.len, lh);
    if (buf_append(&lg->pend, lg->leaf.data, lg->leaf.len))
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    lg->pend_end[lg->npend] = lg->pend.len;
    memcpy(lg->pend_hash[lg->npend], lh, MERKLE_HASH_LEN);
    lg->npend++;
    if (merkle_frontier_push(&lg->fr, lh, on_node, lg))
        return sqldb_fail(lg->db, "storing a tree node", err);
    memcpy(lg->last_leaf, lh, MERKLE_HASH_LEN);
    return ADT_OK;
}

/* Append the entries of every batch not committed before. *ev counts the
 * events of the call, for messages. */
static int append_entries(ledger *lg, ledger_batch *batches, size_t nb, const char *now,
                          adt_err *err)
{
    size_t ev = 0;
    for (size_t k = 0; k < nb; k++) {
        ledger_batch *b = &batches[k];
        b->duplicate = false;
        memset(&b->rec, 0, sizeof b->rec);
        int rc;
        if (b->id && (rc = find_duplicate(lg, batches, k, err)))
            return rc;
        if (b->duplicate) {
            ev += b->n;
            continue;
        }
        b->rec.first = lg->fr.size;
        b->rec.count = b->n;
        if (b->id) {
            b->rec.seq = b->id->seq;
            memcpy(b->rec.body_sha256, b->id->body_sha256, 32);
        }
        for (size_t i = 0; i < b->n; i++, ev++) {
            uint64_t seq = lg->fr.size;
            if ((rc = build_leaf(lg, &b->items[i], seq, now, err))) {
                adt_err_prefix(err, "event %zu of the batch", (nb > 1 ? ev : i) + 1);
                return rc;
            }
            if ((rc = store_entry(lg, err)))
                return rc;
        }
    }
    int rc = flush_entries(lg, err);
    if (!rc && flush_nodes(lg))
        rc = sqldb_fail(lg->db, "storing a tree node", err);
    return rc;
}

/* The identities of the batches appended, in the same transaction as their
 * entries: a crash keeps both or neither. */
static int record_batches(ledger *lg, ledger_batch *batches, size_t nb, uint64_t tree_size,
                          adt_err *err)
{
    for (size_t k = 0; k < nb; k++) {
        ledger_batch *b = &batches[k];
        if (b->duplicate && b->rec.tree_size == 0)
            b->rec.tree_size = tree_size; /* a duplicate within this call */
        if (b->duplicate)
            continue;
        b->rec.tree_size = tree_size;
        if (!b->id)
            continue;
        sqlite3_stmt *s = batch_stmt(lg, BT_INSERT);
        if (!s)
            return sqldb_fail(lg->db, "recording the batch", err);
        sqlite3_bind_text(s, 1, b->id->agent, -1, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, b->id->body_sha256, 32, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, b->id->seq > INT64_MAX ? INT64_MAX : (int64_t)b->id->seq);
        sqlite3_bind_int64(s, 4, (int64_t)b->rec.first);
        sqlite3_bind_int64(s, 5, (int64_t)b->rec.count);
        sqlite3_bind_int64(s, 6, (int64_t)tree_size);
        int r = sqlite3_step(s);
        sqlite3_reset(s);
        if (r != SQLITE_DONE)
            return sqldb_fail(lg->db, "recording the batch", err);
    }
    return ADT_OK;
}

/* The checkpoint of c->tree_size into c->checkpoint. One checkpoint per
 * size: an append that adds nothing (init, shutdown, a group of resent
 * batches) returns the stored one instead of signing again. */
static int sign_checkpoint(ledger *lg, ledger_commit *c, adt_err *err)
{
    if (c->count == 0) {
        sqlite3_stmt *q = lg->st[ST_CKPT_AT];
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, (int64_t)c->tree_size);
        bool have = sqlite3_step(q) == SQLITE_ROW;
        if (have)
            snprintf(c->checkpoint, sizeof c->checkpoint, "%s",
                     (const char *)sqlite3_column_text(q, 0));
        sqlite3_reset(q);
        if (have)
            return ADT_OK;
    }
    int rc = note_sign_checkpoint(lg->signer, c->tree_size, c->root, c->checkpoint,
                                  sizeof c->checkpoint, err);
    if (rc)
        return rc;
    sqlite3_stmt *s = lg->st[ST_INSERT_CKPT];
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, (int64_t)c->tree_size);
    sqlite3_bind_blob(s, 2, c->root, MERKLE_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, c->checkpoint, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    if (r != SQLITE_DONE)
        return sqldb_fail(lg->db, "storing the checkpoint", err);
    if (sqlite3_changes(lg->db) != 1)
        return adt_fail(err, ADT_ECORRUPT, "the checkpoint was not stored (a foreign trigger?)");
    return ADT_OK;
}

int ledger_append_batches(ledger *lg, ledger_batch *batches, size_t nb, ledger_commit *out,
                          adt_err *err)
{
    if (lg->mode != LEDGER_RDWR)
        return adt_fail(err, ADT_EFORBIDDEN, "ledger opened read-only");
    if (sqlite3_exec(lg->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return sqldb_fail(lg->db, "starting the append transaction", err);
    /* Another process or handle may have appended since: reload if so. */
    uint64_t size = 0;
    int rc = db_size(lg, &size, err);
    if (!rc && (!lg->fresh || size != lg->fr.size))
        rc = load_frontier(lg, err);
    char now[40];
    rfc3339_format(lg->clock ? lg->clock(lg->clock_ctx) : rfc3339_now_us(), now, sizeof now);
    ledger_commit c = {.first = lg->fr.size};
    lg->npend = 0;
    lg->pend.len = 0;
    lg->nnodes = 0;
    if (!rc)
        rc = append_entries(lg, batches, nb, now, err);
    if (!rc) {
        c.count = lg->fr.size - c.first;
        c.tree_size = lg->fr.size;
        merkle_frontier_root(&lg->fr, c.root);
        rc = record_batches(lg, batches, nb, c.tree_size, err);
    }
    if (!rc)
        rc = sign_checkpoint(lg, &c, err);
    if (!rc && sqlite3_exec(lg->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = sqldb_fail(lg->db, "committing the append", err);
    if (rc) {
        sqlite3_exec(lg->db, "ROLLBACK", NULL, NULL, NULL);
        lg->fresh = false; /* the frontier may hold rolled-back leaves */
        return rc;
    }
    if (out)
        *out = c;
    return ADT_OK;
}

int ledger_checkpoint(ledger *lg, char *out, size_t cap, uint64_t *size, adt_err *err)
{
    sqlite3_stmt *s = lg->st[ST_LATEST_CKPT];
    sqlite3_reset(s);
    int r = sqlite3_step(s);
    if (r != SQLITE_ROW) {
        sqlite3_reset(s);
        return r == SQLITE_DONE ? adt_fail(err, ADT_ECORRUPT, "the ledger has no checkpoint")
                                : sqldb_fail(lg->db, "reading the checkpoint", err);
    }
    if (size)
        *size = (uint64_t)sqlite3_column_int64(s, 0);
    int n = snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 1));
    sqlite3_reset(s);
    return (n < 0 || (size_t)n >= cap) ? adt_fail(err, ADT_ETOOBIG, "checkpoint too large") : ADT_OK;
}

int ledger_checkpoint_at(ledger *lg, uint64_t size, char *out, size_t cap, adt_err *err)
{
    sqlite3_stmt *s = lg->st[ST_CKPT_AT];
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, (int64_t)size);
    int r = sqlite3_step(s);
    if (r != SQLITE_ROW) {
        sqlite3_reset(s);
        return r == SQLITE_DONE ? adt_fail(err, ADT_ENOTFOUND, "no checkpoint was signed at size %llu", (unsigned long long)size)
                                : sqldb_fail(lg->db, "reading the checkpoint", err);
    }
    int n = snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    return (n < 0 || (size_t)n >= cap) ? adt_fail(err, ADT_ETOOBIG, "checkpoint too large") : ADT_OK;
}

static int check_size(ledger *lg, uint64_t want, adt_err *err)
{
    uint64_t size = 0;
    int rc = db_size(lg, &size, err);
    if (rc)
        return rc;
    if (want > size)
        return adt_fail(err, ADT_ENOTFOUND, "the ledger has %llu entries; %llu asked for",
                        (unsigned long long)size, (unsigned long long)want);
    return ADT_OK;
}

int ledger_entry(ledger *lg, uint64_t index, buf *leaf, adt_err *err)
{
    if (index > INT64_MAX)
        return adt_fail(err, ADT_ENOTFOUND, "no entry %llu", (unsigned long long)index);
    sqlite3_stmt *s = lg->st[ST_GET_LEAF];
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, (int64_t)index);
    int r = sqlite3_step(s);
    if (r != SQLITE_ROW) {
        sqlite3_reset(s);
        return r == SQLITE_DONE ? adt_fail(err, ADT_ENOTFOUND, "no entry %llu in the ledger", (unsigned long long)index)
                                : sqldb_fail(lg->db, "reading an entry", err);
    }
    buf_reset(leaf);
    int rc = buf_append(leaf, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
    sqlite3_reset(s);
    return rc ? adt_fail(err, rc, "entry too large for the buffer") : ADT_OK;
}

int ledger_leaf_hash(ledger *lg, uint64_t index, merkle_hash out, adt_err *err)
{
    if (index > INT64_MAX)
        return adt_fail(err, ADT_ENOTFOUND, "no entry %llu", (unsigned long long)index);
    int rc = get_hash(lg, ST_GET_LEAF_HASH, (int64_t)index, out, err);
    if (rc == ADT_ECORRUPT && check_size(lg, index + 1, NULL) != ADT_OK)
        return adt_fail(err, ADT_ENOTFOUND, "no entry %llu in the ledger", (unsigned long long)index);
    return rc;
}

/* Reads that take many lookups run in one read transaction: one snapshot
 * (consistent with itself while writers go on) and one lock acquisition
 * instead of one per statement. Nested use (inside an append) is a no-op. */
static bool read_begin(ledger *lg)
{
    if (!sqlite3_get_autocommit(lg->db))
        return false;
    return sqlite3_exec(lg->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
}

static void read_end(ledger *lg, bool began)
{
    if (began)
        sqlite3_exec(lg->db, "COMMIT", NULL, NULL, NULL);
}

static int root_locked(ledger *lg, uint64_t size, merkle_hash out, adt_err *err);

int ledger_root(ledger *lg, uint64_t size, merkle_hash out, adt_err *err)
{
    bool began = read_begin(lg);
    int rc = root_locked(lg, size, out, err);
    read_end(lg, began);
    return rc;
}

static int root_locked(ledger *lg, uint64_t size, merkle_hash out, adt_err *err)
{
    int rc = check_size(lg, size, err);
    if (rc)
        return rc;
    if (size == 0) {
        merkle_empty_root(out);
        return ADT_OK;
    }
    return range_hash(lg, 0, size, out, err);
}

/* The proof hash after recursing into one side of the split of D[a:b] at
 * a+k: the other side's subtree (right: D[a+k:b]; left: the perfect D[a:a+k]). */
static int put_sibling(ledger *lg, bool went_left, uint64_t a, uint64_t k, uint64_t b,
                       merkle_hash *out, size_t *n, adt_err *err)
{
    int rc = went_left ? range_hash(lg, a + k, b, out[*n], err)
                       : perfect_hash(lg, log2_exact(k), a, out[*n], err);
    if (!rc)
        (*n)++;
    return rc;
}

/* RFC 6962 PATH(m, D[a:b]), m absolute. Appends deepest first. */
static int path(ledger *lg, uint64_t m, uint64_t a, uint64_t b, merkle_hash *out, size_t *n,
                adt_err *err)
{
    if (b - a == 1)
        return ADT_OK;
    uint64_t k = merkle_split(b - a);
    bool left = m < a + k;
    int rc = left ? path(lg, m, a, a + k, out, n, err) : path(lg, m, a + k, b, out, n, err);
    return rc ? rc : put_sibling(lg, left, a, k, b, out, n, err);
}

int ledger_prove_inclusion(ledger *lg, uint64_t index, uint64_t size, merkle_hash *hashes,
                           size_t *n, adt_err *err)
{
    if (index >= size)
        return adt_fail(err, ADT_EINVAL, "index %llu is not below tree size %llu",
                        (unsigned long long)index, (unsigned long long)size);
    bool began = read_begin(lg);
    int rc = check_size(lg, size, err);
    *n = 0;
    if (!rc)
        rc = path(lg, index, 0, size, hashes, n, err);
    read_end(lg, began);
    return rc;
}

/* RFC 6962 SUBPROOF(m, D[a:b], complete): m counts leaves from a. */
static int subproof(ledger *lg, uint64_t m, uint64_t a, uint64_t b, bool complete,
                    merkle_hash *out, size_t *n, adt_err *err)
{
    int rc;
    if (m == b - a) {
        if (complete)
            return ADT_OK;
        if ((rc = range_hash(lg, a, b, out[*n], err)))
            return rc;
        (*n)++;
        return ADT_OK;
    }
    uint64_t k = merkle_split(b - a);
    bool left = m <= k;
    rc = left ? subproof(lg, m, a, a + k, complete, out, n, err)
              : subproof(lg, m - k, a + k, b, false, out, n, err);
    return rc ? rc : put_sibling(lg, left, a, k, b, out, n, err);
}

int ledger_prove_consistency(ledger *lg, uint64_t first, uint64_t second, merkle_hash *hashes,
                             size_t *n, adt_err *err)
{
    if (first == 0 || first > second)
        return adt_fail(err, ADT_EINVAL, "consistency needs 0 < first <= second (got %llu, %llu)",
                        (unsigned long long)first, (unsigned long long)second);
    bool began = read_begin(lg);
    int rc = check_size(lg, second, err);
    *n = 0;
    if (!rc && first != second)
        rc = subproof(lg, first, 0, second, true, hashes, n, err);
    read_end(lg, began);
    return rc;
}

int ledger_scan(ledger *lg, uint64_t from, uint64_t to, ledger_scan_fn fn, void *ctx,
                adt_err *err)
{
    /* A separate statement per scan so callbacks may use the handle. */
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(lg->db, stmt_sql[ST_SCAN], -1, &s, NULL) != SQLITE_OK)
        return sqldb_fail(lg->db, "scanning the ledger", err);
    sqlite3_bind_int64(s, 1, from > INT64_MAX ? INT64_MAX : (int64_t)from);
    sqlite3_bind_int64(s, 2, to > INT64_MAX ? INT64_MAX : (int64_t)to);
    int r, rc = ADT_OK;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        rc = fn(ctx, (uint64_t)sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1),
                (size_t)sqlite3_column_bytes(s, 1));
        if (rc)
            break;
    }
    if (!rc && r != SQLITE_DONE)
        rc = sqldb_fail(lg->db, "scanning the ledger", err);
    sqlite3_finalize(s);
    return rc;
}

/* ---- verification ---- */

typedef struct verifier {
    sqlite3 *db;
    int min_level;           /* levels below are not stored (format) */
    sqlite3_stmt *level[64]; /* per-level cursor over stored nodes, in index order */
    bool level_done[64];
    ledger_verify_result *res;
    uint64_t key;            /* where a finding now would fall in the order of the checks (VKEY) */
    uint64_t checkpoints;    /* checkpoints verified on this thread (vworker_add) */
} verifier;

/* The order in which one thread checking row after row would meet each
 * finding; verify reports the first. For entry (or tree size) i: the
 * checkpoints signed at size i, then their order, then entry i's hash, then
 * everything else about entry i (its seq, its chain, the nodes it completes);
 * after the last entry, what concerns the whole. */
#define VKEY_CKPT(i) (4 * (uint64_t)(i))
#define VKEY_CKPT_ORDER(i) (4 * (uint64_t)(i) + 1)
#define VKEY_HASH(i) (4 * (uint64_t)(i) + 2)
#define VKEY_ENTRY(i) (4 * (uint64_t)(i) + 3)
#define VKEY_END(n, k) (4 * (uint64_t)(n) + 4 + (k))
/* The entry (or tree size) i a key belongs to: the entries before it are
 * the ones a single thread would have counted as checked. */
#define VKEY_INDEX(key) ((key) / 4)

static int vfail(ledger_verify_result *res, bool has_index, uint64_t index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

int ledger_verify_vfail(ledger_verify_result *res, bool has_index, uint64_t index, const char *fmt,
                        va_list ap)
{
    vsnprintf(res->problem, sizeof res->problem, fmt, ap);
    res->ok = false;
    res->has_bad_index = has_index;
    res->bad_index = index;
    return ADT_ECORRUPT;
}

static int vfail(ledger_verify_result *res, bool has_index, uint64_t index, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ledger_verify_vfail(res, has_index, index, fmt, ap);
    va_end(ap);
    return rc;
}

static int verify_node(void *ctx, int level, uint64_t index, const merkle_hash h)
{
    verifier *v = ctx;
    if (level < v->min_level)
        return ADT_OK;
    uint64_t first_leaf = index << level;
    if (!v->level[level]) {
        if (sqlite3_prepare_v2(v->db, "SELECT id, hash FROM nodes WHERE id >= ?1 AND id < ?2 ORDER BY id",
                               -1, &v->level[level], NULL) != SQLITE_OK)
            return vfail(v->res, false, 0, "cannot read tree nodes: %s", sqlite3_errmsg(v->db));
        sqlite3_bind_int64(v->level[level], 1, NODE_ID(level, 0));
        sqlite3_bind_int64(v->level[level], 2, NODE_ID(level + 1, 0));
    }
    sqlite3_stmt *s = v->level[level];
    if (sqlite3_step(s) != SQLITE_ROW) {
        v->level_done[level] = true;
        return vfail(v->res, true, first_leaf + (1ull << level) - 1,
                     "tree node (level %d, index %llu) is missing", level, (unsigned long long)index);
    }
    int64_t id = sqlite3_column_int64(s, 0);
    if (id != NODE_ID(level, index))
        return vfail(v->res, true, first_leaf,
                     "tree node (level %d, index %llu) is missing or out of order", level,
                     (unsigned long long)index);
    if (sqlite3_column_bytes(s, 1) != MERKLE_HASH_LEN ||
        memcmp(sqlite3_column_blob(s, 1), h, MERKLE_HASH_LEN) != 0)
        return vfail(v->res, true, first_leaf,
                     "stored tree node (level %d, index %llu) over entries %llu..%llu does not "
                     "match the recomputed hash", level, (unsigned long long)index,
                     (unsigned long long)first_leaf,
                     (unsigned long long)(first_leaf + (1ull << level) - 1));
    return ADT_OK;
}

/* 0. SQLite's own structure check: a damaged B-tree can still iterate in
 * order while lookups (entries, proofs) fail, which the scan would not see.
 * PRAGMA quick_check reads every page, as long as the scan of the entries
 * itself: it runs on a thread of its own with its own connection (both
 * read one snapshot-consistent file), so verify takes about as long as the
 * slower of the two rather than their sum. */
typedef struct structure_check {
    char dir[PATH_MAX_LEN];
    bool damaged;
    char problem[ADT_ERR_MAX];
    pthread_t thread;
    bool started;
} structure_check;

static void *structure_run(void *arg)
{
    structure_check *sc = arg;
    sqlite3 *db = NULL;
    adt_err err;
    if (sqldb_open(sc->dir, LEDGER_DB_FILE, SQLDB_WRITE, SQLDB_DURABLE, NULL, &db, &err)) {
        sc->damaged = true;
        snprintf(sc->problem, sizeof sc->problem, "the database file is damaged: %.400s", err.msg);
        return NULL;
    }
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &q, NULL) != SQLITE_OK) {
        sc->damaged = true;
        snprintf(sc->problem, sizeof sc->problem, "the database file is damaged: %s",
                 sqlite3_errmsg(db));
    } else {
        const char *r = sqlite3_step(q) == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0)
                                                      : NULL;
        if (!r || strcmp(r, "ok") != 0) {
            sc->damaged = true;
            snprintf(sc->problem, sizeof sc->problem,
                     "the database file is damaged (SQLite quick_check: %s)",
                     r ? r : sqlite3_errmsg(db));
        }
    }
    sqlite3_finalize(q);
    sqldb_close(db);
    return NULL;
}

static void structure_start(structure_check *sc, const char *dir)
{
    memset(sc, 0, sizeof *sc);
    snprintf(sc->dir, sizeof sc->dir, "%s", dir);
    sc->started = pthread_create(&sc->thread, NULL, structure_run, sc) == 0;
    if (!sc->started)
        structure_run(sc); /* no thread: check in line */
}

/* A damaged file explains whatever else went wrong: its report wins. */
static bool structure_finish(structure_check *sc, ledger_verify_result *res)
{
    if (sc->started)
        pthread_join(sc->thread, NULL);
    if (sc->damaged)
        vfail(res, false, 0, "%s", sc->problem);
    return sc->damaged;
}

/* Whether leaf bytes carry a `sig` record for (agent, seq, body hex). */
static bool leaf_signed_for(const char *leaf, size_t len, const char *agent, uint64_t seq,
                            const char *bhex)
{
    const char *sig, *v;
    size_t sl, vl;
    if (canon_member(leaf, len, "sig", &sig, &sl) != ADT_OK)
        return false;
    char want[200];
    int n = snprintf(want, sizeof want, "\"%s\"", agent);
    if (canon_member(sig, sl, "agent", &v, &vl) != ADT_OK || n < 0 || (size_t)n != vl ||
        memcmp(v, want, vl))
        return false;
    n = snprintf(want, sizeof want, "\"%s\"", bhex);
    if (canon_member(sig, sl, "body_sha256", &v, &vl) != ADT_OK || (size_t)n != vl ||
        memcmp(v, want, vl))
        return false;
    uint64_t got;
    return canon_member(sig, sl, "seq", &v, &vl) == ADT_OK &&
           num_u64n(v, vl, UINT64_MAX, &got) == ADT_OK && got == seq;
}

/* Step 6 of verify. Returns non-zero after vfail. */
static int verify_batches(ledger *lg, uint64_t size, ledger_verify_result *res)
{
    sqlite3_stmt *b;
    if (sqlite3_prepare_v2(lg->db, "SELECT agent, body_sha256, seq, first, count, tree_size FROM "
                                   "batches ORDER BY first", -1, &b, NULL) != SQLITE_OK)
        return ADT_OK; /* a ledger of an older version: no batches recorded */
    int rc = ADT_OK;
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF + 1);
    while (!rc && sqlite3_step(b) == SQLITE_ROW) {
        const char *agent = (const char *)sqlite3_column_text(b, 0);
        int64_t seq = sqlite3_column_int64(b, 2), first = sqlite3_column_int64(b, 3),
                count = sqlite3_column_int64(b, 4), ts = sqlite3_column_int64(b, 5);
        char bhex[65] = "";
        if (sqlite3_column_bytes(b, 1) == 32)
            codec_hex(sqlite3_column_blob(b, 1), 32, bhex, sizeof bhex);
        if (!agent || !bhex[0] || first < 0 || count < 1 || seq < 0 ||
            (uint64_t)first + (uint64_t)count > size || ts < first + count || (uint64_t)ts > size) {
            rc = vfail(res, false, 0, "the batches table records a batch of '%s' (entries %lld, "
                       "%lld of them) that does not fit the ledger: the table was altered",
                       agent ? agent : "?", (long long)first, (long long)count);
            break;
        }
        int64_t ends[2] = {first, first + count - 1};
        for (int k = 0; k < 2 && !rc; k++) {
            adt_err e2;
            if (ledger_entry(lg, (uint64_t)ends[k], &leaf, &e2) != ADT_OK ||
                !leaf_signed_for(leaf.data, leaf.len, agent, (uint64_t)seq, bhex))
                rc = vfail(res, true, (uint64_t)ends[k], "entry %lld is not part of the batch the "
                           "batches table says (agent '%s', seq %lld): the table was altered",
                           (long long)ends[k], agent, (long long)seq);
        }
    }
    buf_free(&leaf);
    sqlite3_finalize(b);
    return rc;
}

/* 1. The immutability triggers must all be there, and no other. */
static bool verify_triggers(ledger *lg, ledger_verify_result *res)
{
    for (size_t i = 0; i < sizeof triggers / sizeof triggers[0]; i++) {
        sqlite3_stmt *t;
        sqlite3_prepare_v2(lg->db, "SELECT sql FROM sqlite_master WHERE type='trigger' AND name=?", -1, &t, NULL);
        sqlite3_bind_text(t, 1, triggers[i].name, -1, SQLITE_STATIC);
        bool present = sqlite3_step(t) == SQLITE_ROW;
        const char *sql = present ? (const char *)sqlite3_column_text(t, 0) : NULL;
        bool same = sql && !strcmp(sql, triggers[i].sql);
        sqlite3_finalize(t);
        if (!same) {
            vfail(res, false, 0, "immutability trigger %s is %s: the database was altered outside auditd",
                  triggers[i].name, present ? "not the one auditd created" : "missing");
            return false;
        }
    }
    sqlite3_stmt *t;
    sqlite3_prepare_v2(lg->db, "SELECT name, tbl_name FROM sqlite_master WHERE type='trigger'", -1, &t, NULL);
    bool ok = true;
    while (ok && sqlite3_step(t) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(t, 0);
        bool known = false;
        for (size_t i = 0; name && i < sizeof triggers / sizeof triggers[0]; i++)
            known = known || !strcmp(name, triggers[i].name);
        if (!known) {
            vfail(res, false, 0, "unknown trigger %s on table %s: the database was altered outside auditd",
                  name ? name : "?", (const char *)sqlite3_column_text(t, 1));
            ok = false;
        }
    }
    sqlite3_finalize(t);
    return ok;
}

/* ---- the checks of one row, on a thread of their own ----
 * Whether an entry's bytes hash to its stored leaf hash, and whether a
 * checkpoint note is signed by the ledger's key for the size and root the
 * pass recomputed, depend on that row alone: SHA-256 of every leaf and the
 * signatures are most of verify's work, so the pass (verify_entries) hands
 * them, in batches of copies, to a worker thread and goes on with what
 * depends on the order of the rows (seq, the chain, the tree, stored nodes).
 * The pass builds the tree from the stored leaf hashes and checks each prev
 * against the previous row's stored hash: where a stored hash differs from
 * its leaf, the worker's finding comes first in VKEY order, so the report is
 * the one a single thread checking row after row would give. Without a
 * thread, the batches are checked in line. */
enum { VI_ENTRY, VI_CKPT };
typedef struct vitem {
    int kind;
    uint64_t n;        /* entry index, or checkpoint size */
    size_t off, len;   /* in the batch's data: the leaf, or the note (SIZE_MAX: none) */
    merkle_hash h;     /* the stored leaf hash, or the recomputed root */
    merkle_hash croot; /* the checkpoint row's root column */
    bool croot_ok;     /* ... which is 32 bytes */
} vitem;

#define VBATCH_ITEMS 512
#define VBATCH_BYTES (1u << 20)

typedef struct vbatch {
    buf data;
    vitem item[VBATCH_ITEMS];
    size_t n;
} vbatch;

typedef struct vworker {
    ledger *lg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    vbatch b[2];
    int filling;        /* the batch the pass fills; the other one is the worker's */
    bool pending;       /* the worker's batch is handed over and not yet checked */
    bool quit, started, failed;
    pthread_t thread;
    uint64_t checkpoints; /* checkpoints whose signature verified */
    uint64_t key;       /* VKEY of the finding, when failed */
    ledger_verify_result res; /* the finding */
} vworker;

/* One row's own check, its bytes at d[0..it->len): an entry's leaf hash, a
 * checkpoint's note. True when it holds; else the finding is in *res, its
 * place in *key. */
static bool vitem_ok(const ledger *lg, const vitem *it, const char *d, ledger_verify_result *res,
                     uint64_t *key)
{
    if (it->kind == VI_ENTRY) {
        merkle_hash lh;
        merkle_leaf_hash(d, it->len, lh);
        if (memcmp(lh, it->h, MERKLE_HASH_LEN) == 0)
            return true;
        vfail(res, true, it->n, "entry %llu: its bytes do not hash to the stored leaf hash (the "
              "entry or its hash was altered)", (unsigned long long)it->n);
        *key = VKEY_HASH(it->n);
        return false;
    }
    uint64_t size = it->n, nsize;
    merkle_hash nroot;
    adt_err e2;
    if (it->len == SIZE_MAX ||
        note_verify_checkpoint(d, it->len, lg->origin, lg->pub, &nsize, nroot, &e2) != ADT_OK) {
        vfail(res, size > 0, size ? size - 1 : 0, "checkpoint at size %llu: %s",
              (unsigned long long)size, it->len == SIZE_MAX ? "missing note" : e2.msg);
    } else if (nsize != size || memcmp(nroot, it->h, 32) != 0 || !it->croot_ok ||
               memcmp(it->croot, it->h, 32) != 0) {
        vfail(res, size > 0, size ? size - 1 : 0,
              "checkpoint at size %llu does not match the tree recomputed from the entries "
              "(entries before it were altered, or the checkpoint was)", (unsigned long long)size);
    } else {
        return true;
    }
    *key = VKEY_CKPT(size);
    return false;
}

static void vworker_check(vworker *w, vbatch *b)
{
    for (size_t k = 0; k < b->n && !w->failed; k++) {
        const vitem *it = &b->item[k];
        if (!vitem_ok(w->lg, it, b->data.data + it->off, &w->res, &w->key))
            w->failed = true;
        else if (it->kind == VI_CKPT)
            w->checkpoints++;
    }
    b->n = 0;
    buf_reset(&b->data);
}

static void *vworker_run(void *arg)
{
    vworker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->quit)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->pending)
            break;
        vbatch *b = &w->b[w->filling ^ 1];
        pthread_mutex_unlock(&w->mu);
        vworker_check(w, b);
        pthread_mutex_lock(&w->mu);
        w->pending = false;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void vworker_start(vworker *w, ledger *lg)
{
    memset(w, 0, sizeof *w);
    w->lg = lg;
    w->res.ok = true;
    for (int k = 0; k < 2; k++)
        buf_init(&w->b[k].data, VBATCH_BYTES + LEDGER_MAX_LEAF);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    adt_err e; /* without a thread, the batches are checked in line */
    w->started = bgtask_start(&w->thread, vworker_run, w, "the verify worker thread", &e) == ADT_OK;
}

/* Hand the batch being filled to the worker (waiting until it is done with
 * the previous one); without a thread, check it here. False once the worker
 * has a finding: the pass may stop, nothing after it can come first. */
static bool vworker_handoff(vworker *w)
{
    if (!w->started) {
        vworker_check(w, &w->b[w->filling]);
        return !w->failed;
    }
    pthread_mutex_lock(&w->mu);
    while (w->pending)
        pthread_cond_wait(&w->cv, &w->mu);
    bool go_on = !w->failed;
    if (w->b[w->filling].n > 0) {
        w->filling ^= 1;
        w->pending = true;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return go_on;
}

/* Room for an item of `len` bytes in the batch being filled (handing it
 * over first when full). NULL once the worker has a finding. */
static vitem *vworker_item(vworker *w, size_t len)
{
    vbatch *b = &w->b[w->filling];
    if ((b->n == VBATCH_ITEMS || b->data.len + len > VBATCH_BYTES) && b->n > 0 && !vworker_handoff(w))
        return NULL;
    b = &w->b[w->filling];
    return &b->item[b->n];
}

/* Queue `it` with its bytes d[0..len) (NULL: none) for the worker; bytes
 * longer than any entry or note auditd writes (a damaged or forged row) are
 * checked here, on the pass's thread (a finding then goes to v). False when
 * there is a finding or memory ran out (then *oom). */
static bool vworker_add(vworker *w, verifier *v, const vitem *it, const void *d, size_t len,
                        bool *oom)
{
    if (d && len > LEDGER_MAX_LEAF) {
        vitem big = *it;
        big.len = len;
        if (!vitem_ok(w->lg, &big, d, v->res, &v->key))
            return false;
        if (it->kind == VI_CKPT)
            v->checkpoints++;
        return true;
    }
    vitem *slot = vworker_item(w, d ? len : 0);
    if (!slot)
        return false;
    vbatch *b = &w->b[w->filling];
    *slot = *it;
    slot->off = b->data.len;
    slot->len = d ? len : SIZE_MAX;
    if (d && buf_append(&b->data, d, len) != ADT_OK) {
        *oom = true;
        return false;
    }
    b->n++;
    return true;
}

/* Check what is queued, stop the thread (it checks a batch handed over
 * before it sees `quit`), free the batches. */
static void vworker_finish(vworker *w)
{
    vworker_handoff(w);
    if (w->started)
        bgtask_stop(w->thread, &w->mu, &w->cv, &w->quit);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    for (int k = 0; k < 2; k++)
        buf_free(&w->b[k].data);
}

/* 4. The checkpoints stored at the tree's current size are queued for the
 * worker (signed by the ledger's key, for this size and root). Advances *cr
 * over them; false when the worker already has a finding, or after vfail. */
static bool verify_checkpoints_at(verifier *v, vworker *w, sqlite3_stmt *cs, int *cr,
                                  const merkle_frontier *fr, uint64_t *rows, bool *oom)
{
    while (*cr == SQLITE_ROW && (uint64_t)sqlite3_column_int64(cs, 0) == fr->size) {
        vitem it = {.kind = VI_CKPT, .n = fr->size};
        merkle_frontier_root(fr, it.h);
        it.croot_ok = sqlite3_column_bytes(cs, 1) == 32;
        if (it.croot_ok)
            memcpy(it.croot, sqlite3_column_blob(cs, 1), 32);
        const char *note = (const char *)sqlite3_column_text(cs, 2);
        if (!vworker_add(w, v, &it, note, note ? strlen(note) : 0, oom))
            return false;
        (*rows)++;
        *cr = sqlite3_step(cs);
    }
    if (*cr == SQLITE_ROW && (uint64_t)sqlite3_column_int64(cs, 0) < fr->size) {
        v->key = VKEY_CKPT_ORDER(fr->size);
        vfail(v->res, false, 0, "checkpoint rows are out of order");
        return false;
    }
    return true;
}

/* ---- the chain fields of a leaf, for verify's pass ----
 * leaf_chain (leaf.h) crosses the payload with canon_skip_value, byte by
 * byte between strings: about a quarter of the pass's time. skip_object
 * runs the same machine (strings, skipped with their escapes; brackets
 * counted, whatever their kind) but, on x86, sixteen bytes at a time with
 * SSE2 wherever those bytes hold no backslash; bytes with one, and the
 * tail, go one by one. ledger_leaf_chain gives leaf_chain's answer for
 * every input (fuzz_leaf compares the two) and asks leaf_chain whenever it
 * finds no chain fields itself. */
typedef struct jscan {
    size_t depth;
    bool in_str, esc;
} jscan;

/* One byte of the machine. True when the object closes with it. */
static inline bool jscan_byte(jscan *j, char c)
{
    if (j->in_str) {
        if (j->esc)
            j->esc = false;
        else if (c == '\\')
            j->esc = true;
        else if (c == '"')
            j->in_str = false;
        return false;
    }
    if (c == '"')
        j->in_str = true;
    else if (c == '{' || c == '[')
        j->depth++;
    else if ((c == '}' || c == ']') && --j->depth == 0)
        return true;
    return false;
}

/* Index just past the object that starts at s[i] ('{'); n + 1 when it
 * does not close within s[0..n). */
static size_t skip_object(const char *s, size_t n, size_t i)
{
    jscan j = {0};
#if defined(__SSE2__)
    const __m128i vq = _mm_set1_epi8('"'), vb = _mm_set1_epi8('\\'), vo = _mm_set1_epi8('{'),
                  va = _mm_set1_epi8('['), vc = _mm_set1_epi8('}'), vd = _mm_set1_epi8(']');
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        if (j.esc || _mm_movemask_epi8(_mm_cmpeq_epi8(x, vb)) != 0) {
            for (size_t e = i + 16; i < e; i++)
                if (jscan_byte(&j, s[i]))
                    return i + 1;
            continue;
        }
        unsigned q = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vq));
        unsigned o = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, vo), _mm_cmpeq_epi8(x, va)));
        unsigned c = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, vc), _mm_cmpeq_epi8(x, vd)));
        /* Bit k of `in`: byte k is inside a string (an opening quote
         * counts as inside, a closing one as outside; no backslash here,
         * so every quote opens or closes one). */
        unsigned in = q;
        in ^= in << 1;
        in ^= in << 2;
        in ^= in << 4;
        in ^= in << 8;
        if (j.in_str)
            in = ~in;
        in &= 0xFFFF;
        unsigned st = (o | c) & ~in;
        while (st) {
            unsigned k = (unsigned)__builtin_ctz(st);
            st &= st - 1;
            if (o & (1u << k))
                j.depth++;
            else if (--j.depth == 0)
                return i + k + 1;
        }
        j.in_str = (in >> 15) & 1;
        i += 16;
    }
#endif
    for (; i < n; i++)
        if (jscan_byte(&j, s[i]))
            return i + 1;
    return n + 1;
}

bool ledger_leaf_chain(const char *leaf, size_t len, const char **prev, size_t *prev_len,
                       uint64_t *seq)
{
    static const char head[] = "{\"payload\":{", p[] = ",\"prev\":\"",
                      r[] = "\",\"recorded_at\":\"", q[] = "\",\"seq\":";
    size_t i = sizeof head - 1;
    const char *e;
    if (len < i || memcmp(leaf, head, i) != 0)
        return leaf_chain(leaf, len, prev, prev_len, seq);
    i = skip_object(leaf, len, i - 1);
    if (i > len || len - i < sizeof p - 1 || memcmp(leaf + i, p, sizeof p - 1) != 0)
        return leaf_chain(leaf, len, prev, prev_len, seq);
    i += sizeof p - 1;
    if (!(e = memchr(leaf + i, '"', len - i)))
        return leaf_chain(leaf, len, prev, prev_len, seq);
    size_t pv = i, pl = (size_t)(e - leaf) - i;
    i = (size_t)(e - leaf);
    if (len - i < sizeof r - 1 || memcmp(leaf + i, r, sizeof r - 1) != 0)
        return leaf_chain(leaf, len, prev, prev_len, seq);
    i += sizeof r - 1;
    if (!(e = memchr(leaf + i, '"', len - i)))
        return leaf_chain(leaf, len, prev, prev_len, seq);
    i = (size_t)(e - leaf);
    if (len - i < sizeof q - 1 || memcmp(leaf + i, q, sizeof q - 1) != 0)
        return leaf_chain(leaf, len, prev, prev_len, seq);
    i += sizeof q - 1;
    size_t d = i;
    while (i < len && leaf[i] >= '0' && leaf[i] <= '9')
        i++;
    if (num_u64n(leaf + d, i - d, UINT64_MAX, seq) != ADT_OK)
        return leaf_chain(leaf, len, prev, prev_len, seq);
    *prev = leaf + pv;
    *prev_len = pl;
    return true;
}

/* 2. One entry's seq and prev link (its hash is the worker's). `prev` is
 * the previous row's stored leaf hash, which the worker checks against its
 * leaf before this finding would count. */
static bool verify_entry(const char *leaf, size_t len, uint64_t i, const merkle_hash prev,
                         ledger_verify_result *res)
{
    const char *pv;
    size_t pvl;
    uint64_t lseq;
    if (!ledger_leaf_chain(leaf, len, &pv, &pvl, &lseq)) {
        vfail(res, true, i, "entry %llu is not a leaf in the ledger's format", (unsigned long long)i);
        return false;
    }
    if (lseq != i) {
        vfail(res, true, i, "entry %llu: its seq field does not say %llu (rows were moved or swapped)",
              (unsigned long long)i, (unsigned long long)i);
        return false;
    }
    char prev_hex[2 * MERKLE_HASH_LEN + 1] = "";
    if (i > 0)
        codec_hex(prev, MERKLE_HASH_LEN, prev_hex, sizeof prev_hex);
    if (pvl != (i > 0 ? 2 * MERKLE_HASH_LEN : 0) || memcmp(pv, prev_hex, pvl) != 0) {
        vfail(res, true, i, "entry %llu: prev does not name the leaf hash of entry %llu (the chain is broken)",
              (unsigned long long)i, (unsigned long long)(i ? i - 1 : 0));
        return false;
    }
    return true;
}

/* 2-4. Every entry in order, the tree nodes as the frontier completes them,
 * the checkpoints as their sizes are reached; the row-by-row checks go to
 * the worker `w`. OUT: the frontier of all entries. Returns ADT_OK (a
 * finding is in v->res at v->key, or the worker's) or a read failure. */
static int verify_entries(ledger *lg, verifier *v, vworker *w, merkle_frontier *fr, adt_err *err)
{
    ledger_verify_result *res = v->res;
    sqlite3_stmt *es = NULL, *cs = NULL;
    int rc = ADT_OK;
    bool oom = false;
    uint64_t ckpt_rows = 0;
    if (sqlite3_prepare_v2(lg->db, "SELECT seq, leaf, leaf_hash FROM entries ORDER BY seq", -1, &es, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(lg->db, "SELECT size, root, note FROM checkpoints ORDER BY size", -1, &cs, NULL) != SQLITE_OK) {
        rc = sqldb_fail(lg->db, "reading the ledger", err);
        goto out;
    }
    merkle_frontier_init(fr);
    merkle_hash prev = {0};
    int cr = sqlite3_step(cs);
    for (uint64_t i = 0;; i++) {
        if (!verify_checkpoints_at(v, w, cs, &cr, fr, &ckpt_rows, &oom))
            goto out;
        int er = sqlite3_step(es);
        if (er == SQLITE_DONE)
            break;
        if (er != SQLITE_ROW) {
            rc = sqldb_fail(lg->db, "reading entries", err);
            goto out;
        }
        v->key = VKEY_ENTRY(i);
        uint64_t seq = (uint64_t)sqlite3_column_int64(es, 0);
        if (seq != i) {
            vfail(res, true, i, "entry %llu is missing (the next stored entry is %llu): rows were deleted",
                  (unsigned long long)i, (unsigned long long)seq);
            goto out;
        }
        const char *leaf = sqlite3_column_blob(es, 1);
        size_t len = (size_t)sqlite3_column_bytes(es, 1);
        vitem it = {.kind = VI_ENTRY, .n = i};
        if (sqlite3_column_bytes(es, 2) != MERKLE_HASH_LEN) {
            v->key = VKEY_HASH(i);
            vfail(res, true, i, "entry %llu: its bytes do not hash to the stored leaf hash (the entry "
                  "or its hash was altered)", (unsigned long long)i);
            goto out;
        }
        memcpy(it.h, sqlite3_column_blob(es, 2), MERKLE_HASH_LEN);
        if (!vworker_add(w, v, &it, leaf ? leaf : "", len, &oom))
            goto out;
        if (!verify_entry(leaf ? leaf : "", len, i, prev, res) ||
            merkle_frontier_push(fr, it.h, verify_node, v))
            goto out;
        memcpy(prev, it.h, MERKLE_HASH_LEN);
        res->entries++;
    }
    if (cr == SQLITE_ROW) {
        v->key = VKEY_END(fr->size, 0);
        vfail(res, true, fr->size, "a checkpoint was signed at size %llu but only %llu entries are stored: "
              "the tail was truncated", (unsigned long long)sqlite3_column_int64(cs, 0), (unsigned long long)fr->size);
    } else if (ckpt_rows == 0) {
        v->key = VKEY_END(fr->size, 1);
        vfail(res, false, 0, "no signed checkpoint found");
    }
out:
    if (oom && !rc)
        rc = adt_fail(err, ADT_ENOMEM, "out of memory while verifying");
    sqlite3_finalize(es);
    sqlite3_finalize(cs);
    return rc;
}

/* The pass's finding and the worker's: the first in VKEY order stands.
 * When it is the worker's, the pass may have gone on past it (by up to two
 * batches, as the threads ran): the entries checked are then those before
 * the finding (VKEY_INDEX), as one thread row after row counts them (a failed
 * verify records this count: state_verify_fields). */
static void verify_merge(verifier *v, vworker *w)
{
    if (w->failed && (v->res->ok || w->key < v->key)) {
        *v->res = w->res;
        v->res->entries = VKEY_INDEX(w->key);
    }
    v->res->checkpoints = w->checkpoints + v->checkpoints;
}


/* 5. Every expected node was found in order; the same count means no extra
 * ones (e.g. left behind by deleted entries). */
static void verify_node_count(ledger *lg, uint64_t size, ledger_verify_result *res)
{
    uint64_t expect_nodes = 0;
    for (int l = lg->min_level; l < 64; l++)
        expect_nodes += size >> l;
    sqlite3_stmt *cn;
    if (sqlite3_prepare_v2(lg->db, "SELECT count(*) FROM nodes", -1, &cn, NULL) == SQLITE_OK &&
        sqlite3_step(cn) == SQLITE_ROW && (uint64_t)sqlite3_column_int64(cn, 0) != expect_nodes)
        vfail(res, false, 0, "the tree holds %lld nodes where %llu entries make %llu: nodes were added "
              "or left behind by deleted entries", (long long)sqlite3_column_int64(cn, 0),
              (unsigned long long)size, (unsigned long long)expect_nodes);
    sqlite3_finalize(cn);
}

int ledger_verify(const char *dir, ledger_verify_result *res, adt_err *err)
{
    memset(res, 0, sizeof *res);
    res->ok = true;
    ledger *lg;
    int rc = ledger_open(dir, LEDGER_RDONLY, &lg, err);
    if (rc)
        return rc;
    structure_check sc;
    structure_start(&sc, dir);
    verifier v = {.db = lg->db, .min_level = lg->min_level, .res = res};
    merkle_frontier fr;
    merkle_frontier_init(&fr);
    /* Steps 1 to 6 read one snapshot: appends made meanwhile by others are
     * neither half seen (entries of one size, nodes of a larger one) nor
     * waited for. */
    bool began = read_begin(lg);
    bool triggers_ok = verify_triggers(lg, res);
    if (triggers_ok) {
        vworker w;
        vworker_start(&w, lg);
        rc = verify_entries(lg, &v, &w, &fr, err);
        vworker_finish(&w);
        verify_merge(&v, &w);
        if (rc && w.failed)
            rc = ADT_OK; /* a finding before the failed read */
    }
    if (triggers_ok && !rc && res->ok) {
        verify_node_count(lg, fr.size, res);
        /* 6. Every recorded batch identity names entries that exist and were
         * signed by that agent for that seq and body (a forged row could make
         * the daemon answer a resend as if it had been committed). */
        if (res->ok)
            verify_batches(lg, fr.size, res);
        if (res->ok)
            merkle_frontier_root(&fr, res->root);
    }
    for (int l = 0; l < 64; l++)
        sqlite3_finalize(v.level[l]);
    read_end(lg, began);
    ledger_close(lg);
    if (structure_finish(&sc, res))
        rc = ADT_OK;
    return rc;
}
