/* test_ledger.c: a real ledger in a temp dir. Every inclusion and consistency
 * proof at every tree size is checked by the independent RFC 9162 verifier
 * against roots recomputed from the stored leaves; leaf format, hash chain,
 * checkpoints, immutability triggers and bad input. */
#include "canon.h"
#include "leaf.h"
#include "lt_helpers.h"
#include "note.h"
#include "rfc3339.h"

#include <cjson/cJSON.h>
#include <check.h>
#include <sodium.h>
#include <sys/stat.h>

#define ORIGIN "auditd.test/ledger"

/* Up to this size every proof of every size is checked; beyond it every 7th
 * size (and the last) is, with all its indices (keeps the suite fast under
 * ASan: the exhaustive part alone is ~8,500 inclusion + consistency proofs). */
#define MAX_N 300
#define EXHAUSTIVE_UPTO 130

static uint64_t stored_size(ledger *lg)
{
    uint64_t n = 0;
    adt_err err;
    ck_assert_int_eq(ledger_size(lg, &n, &err), ADT_OK);
    return n;
}

/* The leaf of entry `seq` as appended by lt_append1(k = seq). Checks the
 * exact byte layout and every field, independently of the product's parser. */
static void check_leaf(const char *leaf, size_t len, uint64_t seq, const uint8_t prev_lh[32],
                       const char *source)
{
    char want_head[256];
    snprintf(want_head, sizeof want_head,
             "{\"payload\":{\"k\":%llu,\"note\":\"entry-%06llu-marker\"},\"prev\":\"",
             (unsigned long long)seq, (unsigned long long)seq);
    ck_assert_msg(len > strlen(want_head) && memcmp(leaf, want_head, strlen(want_head)) == 0,
                  "leaf %llu starts wrong: %.*s", (unsigned long long)seq, (int)len, leaf);
    cJSON *j = cJSON_ParseWithLength(leaf, len);
    ck_assert_ptr_nonnull(j);
    /* Keys sorted, exactly the documented set. */
    static const char *const keys[] = {"payload", "prev", "recorded_at", "seq", "source", "type", "writer"};
    int i = 0;
    for (cJSON *c = j->child; c; c = c->next, i++) {
        ck_assert_int_lt(i, 7);
        ck_assert_str_eq(c->string, keys[i]);
    }
    ck_assert_int_eq(i, 7);
    cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "seq");
    ck_assert(cJSON_IsNumber(s));
    ck_assert_uint_eq((uint64_t)s->valuedouble, seq);
    char hex[65] = "";
    if (seq > 0)
        lt_hex(prev_lh, 32, hex);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "prev")->valuestring, hex);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "source")->valuestring, source);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "type")->valuestring, "x-test.entry");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "writer")->valuestring, "edge");
    const char *ra = cJSON_GetObjectItemCaseSensitive(j, "recorded_at")->valuestring;
    ck_assert_uint_eq(strlen(ra), 27);
    ck_assert_int_eq(ra[26], 'Z');
    int64_t us;
    ck_assert_int_eq(rfc3339_parse(ra, strlen(ra), &us), ADT_OK);
    int64_t now = rfc3339_now_us();
    ck_assert(us <= now && us > now - 600 * 1000000LL);
    cJSON_Delete(j);
    /* No insignificant whitespace: the bytes are their own canonical form. */
    buf cb;
    buf_init(&cb, LEDGER_MAX_LEAF);
    adt_err err;
    ck_assert_int_eq(canon_json(leaf, len, NULL, true, &cb, &err), ADT_OK);
    ck_assert_uint_eq(cb.len, len);
    ck_assert_mem_eq(cb.data, leaf, len);
    buf_free(&cb);
}

static void check_all_proofs(ledger *lg, uint64_t n, const uint8_t (*lh)[32],
                             const uint8_t (*roots)[32])
{
    merkle_hash h[MERKLE_MAX_PROOF];
    size_t k;
    adt_err err;
    for (uint64_t i = 0; i < n; i++) {
        int rc = ledger_prove_inclusion(lg, i, n, h, &k, &err);
        ck_assert_msg(rc == ADT_OK, "inclusion %llu/%llu: %s", (unsigned long long)i,
                      (unsigned long long)n, err.msg);
        ck_assert_msg(rc_verify_inclusion(i, n, lh[i], (const uint8_t(*)[32])h, k, roots[n]),
                      "inclusion proof of %llu in %llu does not verify", (unsigned long long)i,
                      (unsigned long long)n);
    }
    for (uint64_t m = 1; m <= n; m++) {
        int rc = ledger_prove_consistency(lg, m, n, h, &k, &err);
        ck_assert_msg(rc == ADT_OK, "consistency %llu->%llu: %s", (unsigned long long)m,
                      (unsigned long long)n, err.msg);
        ck_assert_msg(rc_verify_consistency(m, n, roots[m], roots[n], (const uint8_t(*)[32])h, k),
                      "consistency proof %llu -> %llu does not verify", (unsigned long long)m,
                      (unsigned long long)n);
    }
}

/* _i = 0: a ledger of the current format (tree levels 1..3 not stored,
 * recomputed from leaf hashes); 1: of the first format (every level stored). */
START_TEST(test_every_proof_every_size)
{
    char *dir = _i ? lt_new_ledger_v1("ledger-v1") : lt_new_ledger("ledger");
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    ck_assert_int_eq(note_key_parse(ledger_key_line(lg), name, sizeof name, pub, &err), ADT_OK);
    ck_assert_str_eq(name, ORIGIN);
    ck_assert_mem_eq(pub, ledger_pubkey(lg), 32);

    uint8_t(*lh)[32] = calloc(MAX_N, 32);
    uint8_t(*roots)[32] = calloc(MAX_N + 1, 32);
    rc_root_of((const uint8_t(*)[32])lh, 0, roots[0]);
    /* The empty tree's checkpoint is signed at init. */
    char note[NOTE_MAX];
    uint64_t csize = 99;
    merkle_hash croot;
    ck_assert_int_eq(ledger_checkpoint(lg, note, sizeof note, &csize, &err), ADT_OK);
    ck_assert_uint_eq(csize, 0);
    ck_assert_int_eq(note_verify_checkpoint(note, strlen(note), name, pub, &csize, croot, &err), ADT_OK);
    ck_assert_mem_eq(croot, roots[0], 32);

    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    for (uint64_t n = 1; n <= MAX_N; n++) {
        ledger_commit c = lt_append1(lg, n - 1, "agent:test");
        ck_assert_uint_eq(c.first, n - 1);
        ck_assert_uint_eq(c.count, 1);
        ck_assert_uint_eq(c.tree_size, n);
        ck_assert_uint_eq(stored_size(lg), n);
        ck_assert_int_eq(ledger_entry(lg, n - 1, &leaf, &err), ADT_OK);
        check_leaf(leaf.data, leaf.len, n - 1, n > 1 ? lh[n - 2] : NULL, "agent:test");
        rc_leaf_hash(leaf.data, leaf.len, lh[n - 1]);
        merkle_hash plh;
        ck_assert_int_eq(ledger_leaf_hash(lg, n - 1, plh, &err), ADT_OK);
        ck_assert_mem_eq(plh, lh[n - 1], 32);
        rc_root_of((const uint8_t(*)[32])lh, n, roots[n]);
        ck_assert_mem_eq(c.root, roots[n], 32);
        merkle_hash r;
        ck_assert_int_eq(ledger_root(lg, n, r, &err), ADT_OK);
        ck_assert_mem_eq(r, roots[n], 32);
        /* The checkpoint returned, the latest stored and the one at n agree. */
        ck_assert_int_eq(note_verify_checkpoint(c.checkpoint, strlen(c.checkpoint), name, pub,
                                                &csize, croot, &err), ADT_OK);
        ck_assert_uint_eq(csize, n);
        ck_assert_mem_eq(croot, roots[n], 32);
        ck_assert_int_eq(ledger_checkpoint(lg, note, sizeof note, &csize, &err), ADT_OK);
        ck_assert_uint_eq(csize, n);
        ck_assert_str_eq(note, c.checkpoint);
        ck_assert_int_eq(ledger_checkpoint_at(lg, n, note, sizeof note, &err), ADT_OK);
        ck_assert_str_eq(note, c.checkpoint);
        if (n <= EXHAUSTIVE_UPTO || n % 7 == 0 || n == MAX_N)
            check_all_proofs(lg, n, (const uint8_t(*)[32])lh, (const uint8_t(*)[32])roots);
    }
    /* Roots of every earlier size are still served. */
    for (uint64_t n = 0; n <= MAX_N; n++) {
        merkle_hash r;
        ck_assert_int_eq(ledger_root(lg, n, r, &err), ADT_OK);
        ck_assert_mem_eq(r, roots[n], 32);
        ck_assert_int_eq(ledger_checkpoint_at(lg, n, note, sizeof note, &err), ADT_OK);
        ck_assert_int_eq(note_verify_checkpoint(note, strlen(note), name, pub, &csize, croot, &err), ADT_OK);
        ck_assert_uint_eq(csize, n);
        ck_assert_mem_eq(croot, roots[n], 32);
    }
    /* Out-of-range requests are refused, not answered. */
    merkle_hash h[MERKLE_MAX_PROOF];
    size_t k;
    ck_assert_int_ne(ledger_prove_inclusion(lg, MAX_N, MAX_N, h, &k, &err), ADT_OK);
    ck_assert_int_eq(ledger_prove_inclusion(lg, 0, MAX_N + 1, h, &k, &err), ADT_ENOTFOUND);
    ck_assert_int_ne(ledger_prove_consistency(lg, 0, MAX_N, h, &k, &err), ADT_OK);
    ck_assert_int_ne(ledger_prove_consistency(lg, 5, 4, h, &k, &err), ADT_OK);
    ck_assert_int_eq(ledger_prove_consistency(lg, 1, MAX_N + 1, h, &k, &err), ADT_ENOTFOUND);
    ck_assert_int_eq(ledger_prove_consistency(lg, 7, 7, h, &k, &err), ADT_OK);
    ck_assert_uint_eq(k, 0);
    merkle_hash r;
    ck_assert_int_eq(ledger_root(lg, MAX_N + 1, r, &err), ADT_ENOTFOUND);
    ck_assert_int_eq(ledger_entry(lg, MAX_N, &leaf, &err), ADT_ENOTFOUND);
    ck_assert_int_eq(ledger_leaf_hash(lg, MAX_N, r, &err), ADT_ENOTFOUND);
    ck_assert_int_eq(ledger_checkpoint_at(lg, MAX_N + 1, note, sizeof note, &err), ADT_ENOTFOUND);
    buf_free(&leaf);
    ledger_close(lg);

    ledger_verify_result vr;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "verify: %s", vr.problem);
    ck_assert_uint_eq(vr.entries, MAX_N);
    ck_assert_uint_eq(vr.checkpoints, MAX_N + 1);
    ck_assert_mem_eq(vr.root, roots[MAX_N], 32);
    free(lh);
    free(roots);
    lt_remove_ledger(dir);
}
END_TEST

/* Batches: one transaction, one checkpoint at the end; a sig is carried. */
START_TEST(test_batch_and_sig)
{
    char *dir = lt_new_ledger("batch");
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    lt_append1(lg, 0, "a");
    ledger_item items[5];
    char pl[5][64];
    for (int i = 0; i < 5; i++) {
        snprintf(pl[i], sizeof pl[i], "{ \"b\" : [1, 2.50, -0e+3], \"a\": \"\\u00e9%d\" }", i);
        items[i] = (ledger_item){.writer = EVENT_WRITER_EDGE, .source = "agent:batch", .type = "firmware.deploy",
                                 .payload = pl[i], .payload_len = strlen(pl[i])};
    }
    const char *sig = "{\"sig\":\"AAAA\", \"alg\":\"ed25519\",\"kid\":\"k1\"}";
    items[2].sig = sig;
    items[2].sig_len = strlen(sig);
    ledger_commit c;
    ck_assert_int_eq(ledger_append(lg, items, 5, &c, &err), ADT_OK);
    ck_assert_uint_eq(c.first, 1);
    ck_assert_uint_eq(c.count, 5);
    ck_assert_uint_eq(c.tree_size, 6);
    char note[NOTE_MAX];
    ck_assert_int_eq(ledger_checkpoint_at(lg, 6, note, sizeof note, &err), ADT_OK);
    for (uint64_t s = 2; s < 6; s++)
        ck_assert_int_eq(ledger_checkpoint_at(lg, s, note, sizeof note, &err), ADT_ENOTFOUND);
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    ck_assert_int_eq(ledger_entry(lg, 3, &leaf, &err), ADT_OK);
    const char *want_payload = "{\"payload\":{\"a\":\"\xc3\xa9" "2\",\"b\":[1,2.50,-0e+3]},";
    ck_assert_msg(strncmp(leaf.data, want_payload, strlen(want_payload)) == 0, "leaf: %s", leaf.data);
    ck_assert_ptr_nonnull(strstr(leaf.data,
                                 ",\"seq\":3,\"sig\":{\"alg\":\"ed25519\",\"kid\":\"k1\",\"sig\":\"AAAA\"},"
                                 "\"source\":\"agent:batch\",\"type\":\"firmware.deploy\",\"writer\":\"edge\"}"));
    ck_assert_int_eq(ledger_entry(lg, 2, &leaf, &err), ADT_OK);
    ck_assert_ptr_null(strstr(leaf.data, "\"sig\""));
    buf_free(&leaf);
    /* An empty append at a signed size returns that checkpoint, adds nothing. */
    ledger_commit e;
    ck_assert_int_eq(ledger_append(lg, NULL, 0, &e, &err), ADT_OK);
    ck_assert_uint_eq(e.count, 0);
    ck_assert_uint_eq(e.tree_size, 6);
    ck_assert_str_eq(e.checkpoint, c.checkpoint);
    ck_assert_mem_eq(e.root, c.root, 32);
    ledger_close(lg);
    ledger_verify_result vr;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "%s", vr.problem);
    ck_assert_uint_eq(vr.entries, 6);
    ck_assert_uint_eq(vr.checkpoints, 3);
    lt_remove_ledger(dir);
}
END_TEST

/* Batch identities: a batch (agent, body SHA-256) committed once is never
 * appended again, within one call or across calls; its record says where it
 * is; verify checks the records against the leaves' signature records. */
typedef struct tbatch {
    ledger_batch_id id;
    ledger_item items[2];
    char pl[2][64], sig[256];
} tbatch;

static void make_tbatch(tbatch *t, const char *agent, int body, uint64_t seq)
{
    memset(t, 0, sizeof *t);
    t->id.agent = agent;
    t->id.seq = seq;
    char b[16];
    snprintf(b, sizeof b, "body-%d", body);
    crypto_hash_sha256(t->id.body_sha256, (const unsigned char *)b, strlen(b));
    char hex[65];
    lt_hex(t->id.body_sha256, 32, hex);
    snprintf(t->sig, sizeof t->sig, "{\"agent\":\"%s\",\"body_sha256\":\"%s\",\"seq\":%llu}", agent,
             hex, (unsigned long long)seq);
    for (int i = 0; i < 2; i++) {
        snprintf(t->pl[i], sizeof t->pl[i], "{\"body\":%d,\"i\":%d}", body, i);
        t->items[i] = (ledger_item){.source = agent, .type = "x-test.batch", .payload = t->pl[i],
                                    .payload_len = strlen(t->pl[i]), .sig = t->sig,
                                    .sig_len = strlen(t->sig), .writer = EVENT_WRITER_EDGE};
    }
}

START_TEST(test_batches)
{
    char *dir = lt_new_ledger("batches");
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    tbatch a, b, a2, c;
    make_tbatch(&a, "gw", 1, 100);
    make_tbatch(&b, "gw", 2, 101);
    make_tbatch(&a2, "gw", 1, 102); /* the same bytes as a, resent under another seq */
    ledger_batch g[3] = {{a.items, 2, &a.id, false, {0}}, {b.items, 2, &b.id, false, {0}},
                         {a2.items, 2, &a2.id, false, {0}}};
    ledger_commit cm;
    ck_assert_int_eq(ledger_append_batches(lg, g, 3, &cm, &err), ADT_OK);
    ck_assert_uint_eq(cm.first, 0);
    ck_assert_uint_eq(cm.count, 4);
    ck_assert(!g[0].duplicate && !g[1].duplicate && g[2].duplicate);
    ck_assert_uint_eq(g[0].rec.first, 0);
    ck_assert_uint_eq(g[1].rec.first, 2);
    ck_assert_uint_eq(g[2].rec.first, 0);
    ck_assert_uint_eq(g[2].rec.seq, 100);
    ck_assert_uint_eq(g[2].rec.tree_size, 4);
    /* Across calls: nothing appended, no checkpoint signed, the original named. */
    make_tbatch(&c, "gw", 2, 103);
    ledger_batch g2[1] = {{c.items, 2, &c.id, false, {0}}};
    ledger_commit cm2;
    ck_assert_int_eq(ledger_append_batches(lg, g2, 1, &cm2, &err), ADT_OK);
    ck_assert(g2[0].duplicate);
    ck_assert_uint_eq(cm2.count, 0);
    ck_assert_uint_eq(cm2.tree_size, 4);
    ck_assert_str_eq(cm2.checkpoint, cm.checkpoint);
    ck_assert_uint_eq(g2[0].rec.seq, 101);
    ck_assert_uint_eq(g2[0].rec.first, 2);
    /* Another agent's identical bytes are another batch. */
    tbatch o;
    make_tbatch(&o, "plc", 1, 100);
    ledger_batch g3[1] = {{o.items, 2, &o.id, false, {0}}};
    ck_assert_int_eq(ledger_append_batches(lg, g3, 1, &cm2, &err), ADT_OK);
    ck_assert(!g3[0].duplicate);
    ck_assert_uint_eq(cm2.first, 4);
    ledger_batch_rec rec;
    ck_assert_int_eq(ledger_batch_find(lg, "gw", b.id.body_sha256, &rec, &err), ADT_OK);
    ck_assert_uint_eq(rec.seq, 101);
    ck_assert_int_eq(ledger_batch_by_seq(lg, "gw", 100, &rec, &err), ADT_OK);
    ck_assert_uint_eq(rec.count, 2);
    ck_assert_int_eq(ledger_batch_by_seq(lg, "gw", 102, &rec, &err), ADT_ENOTFOUND);
    ck_assert_int_eq(ledger_batch_by_seq(lg, "plc", 101, &rec, &err), ADT_ENOTFOUND);
    ledger_close(lg);
    ledger_verify_result vr;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "%s", vr.problem);
    /* A batch record that does not match its entries is reported. */
    char path[4200];
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "UPDATE batches SET first = 2 WHERE seq = 100", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(db);
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert(!vr.ok);
    ck_assert_ptr_nonnull(strstr(vr.problem, "batches table"));
    /* A ledger of an older version (no batches table) still opens, verifies
     * and answers lookups with "not found"; a writer adds the table. */
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "DROP TABLE batches", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "%s", vr.problem);
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    ck_assert_int_eq(ledger_batch_by_seq(lg, "gw", 100, &rec, &err), ADT_ENOTFOUND);
    ledger_close(lg);
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    ck_assert_int_eq(ledger_append_batches(lg, g, 1, &cm2, &err), ADT_OK);
    ck_assert(!g[0].duplicate); /* its record was dropped with the table */
    ck_assert_int_eq(ledger_batch_by_seq(lg, "gw", 100, &rec, &err), ADT_OK);
    ledger_close(lg);
    lt_remove_ledger(dir);
}
END_TEST

static void expect_refused(ledger *lg, const ledger_item *items, size_t n, int want_rc,
                           const char *what)
{
    uint64_t before = stored_size(lg);
    char note_before[NOTE_MAX], note_after[NOTE_MAX];
    uint64_t cs;
    adt_err err;
    ck_assert_int_eq(ledger_checkpoint(lg, note_before, sizeof note_before, &cs, &err), ADT_OK);
    ledger_commit c;
    memset(&err, 0, sizeof err);
    int rc = ledger_append(lg, items, n, &c, &err);
    ck_assert_msg(rc == want_rc, "%s: got rc %d (%s), want %d", what, rc, err.msg, want_rc);
    ck_assert_msg(err.msg[0] != '\0', "%s: no error message", what);
    ck_assert_uint_eq(stored_size(lg), before);
    ck_assert_int_eq(ledger_checkpoint(lg, note_after, sizeof note_after, &cs, &err), ADT_OK);
    ck_assert_str_eq(note_before, note_after);
}

START_TEST(test_bad_input)
{
    char *dir = lt_new_ledger("bad");
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    lt_append1(lg, 0, "agent:ok");
    const char *good = "{\"a\":1}";
#define ITEM(src, typ, pl) \
    (ledger_item){.writer = EVENT_WRITER_EDGE, .source = (src), .type = (typ), .payload = (pl), .payload_len = strlen(pl)}
    ledger_item it;
    it = ITEM("agent:ok", "x-t", "{\"a\":1");
    expect_refused(lg, &it, 1, ADT_EINVAL, "truncated JSON");
    it = ITEM("agent:ok", "x-t", "{\"a\":01}");
    expect_refused(lg, &it, 1, ADT_EINVAL, "leading zero");
    it = ITEM("agent:ok", "x-t", "[1,2]");
    expect_refused(lg, &it, 1, ADT_EINVAL, "payload not an object");
    it = ITEM("agent:ok", "x-t", "[1,2]");
    it.payload_canonical = true; /* a caller claiming canonical bytes still needs an object */
    expect_refused(lg, &it, 1, ADT_EINVAL, "canonical payload not an object");
    it = ITEM("agent:ok", "x-t", "{\"a\":1,\"a\":2}");
    expect_refused(lg, &it, 1, ADT_EINVAL, "duplicate key");
    it = ITEM("agent:ok", "x-t", "{\"a\":\"\xc0\xaf\"}");
    expect_refused(lg, &it, 1, ADT_EINVAL, "overlong UTF-8 in payload");
    it = ITEM("\xff\xfe" "agent", "x-t", good);
    expect_refused(lg, &it, 1, ADT_EINVAL, "invalid UTF-8 source");
    it = ITEM("agent\xed\xa0\x80", "x-t", good);
    expect_refused(lg, &it, 1, ADT_EINVAL, "surrogate in source");
    it = ITEM("", "x-t", good);
    expect_refused(lg, &it, 1, ADT_EINVAL, "empty source");
    it = ITEM("agent\nx", "x-t", good);
    expect_refused(lg, &it, 1, ADT_EINVAL, "control character in source");
    it = ITEM("agent:ok", "", good);
    expect_refused(lg, &it, 1, ADT_EINVAL, "empty type");
    char longsrc[200];
    memset(longsrc, 'a', 129);
    longsrc[129] = '\0';
    it = ITEM(longsrc, "x-t", good);
    expect_refused(lg, &it, 1, ADT_EINVAL, "source of 129 bytes");
    it = ITEM("agent:ok", "x-t", good);
    it.sig = "{\"sig\":";
    it.sig_len = strlen(it.sig);
    expect_refused(lg, &it, 1, ADT_EINVAL, "invalid sig JSON");
    /* A too-large payload. */
    size_t big = LEDGER_MAX_LEAF;
    char *huge = malloc(big + 16);
    memcpy(huge, "{\"a\":\"", 6);
    memset(huge + 6, 'x', big);
    memcpy(huge + 6 + big, "\"}", 3);
    it = ITEM("agent:ok", "x-t", huge);
    ledger_commit c;
    uint64_t before = stored_size(lg);
    ck_assert_int_ne(ledger_append(lg, &it, 1, &c, &err), ADT_OK);
    ck_assert_uint_eq(stored_size(lg), before);
    free(huge);
    /* A batch whose third item is bad appends nothing at all. */
    ledger_item batch[5] = {ITEM("a", "x-t", good), ITEM("a", "x-t", good),
                            ITEM("a", "x-t", "{\"x\":tru}"), ITEM("a", "x-t", good),
                            ITEM("a", "x-t", good)};
    expect_refused(lg, batch, 5, ADT_EINVAL, "bad third item of five");
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(ledger_append(lg, batch, 5, &c, &err), ADT_EINVAL);
    ck_assert_msg(strstr(err.msg, "3") != NULL, "message should name item 3: %s", err.msg);
    /* The ledger goes on correctly after refusals (chain and tree intact). */
    ck_assert_int_eq(ledger_append(lg, batch, 2, &c, &err), ADT_OK);
    ck_assert_uint_eq(c.first, 1);
    ledger_commit c2 = lt_append1(lg, 3, "agent:ok");
    ck_assert_uint_eq(c2.first, 3);
    ck_assert_uint_eq(c2.tree_size, 4);
    uint8_t want[32];
    lt_rc_root(lg, 4, want);
    ck_assert_mem_eq(c2.root, want, 32);
    ledger_close(lg);
    /* Read-only handles refuse appends. */
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    it = ITEM("agent:ok", "x-t", good);
    ck_assert_int_eq(ledger_append(lg, &it, 1, &c, &err), ADT_EFORBIDDEN);
    ck_assert_uint_eq(stored_size(lg), 4);
    ledger_close(lg);
    ledger_verify_result vr;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "%s", vr.problem);
    ck_assert_uint_eq(vr.entries, 4);
#undef ITEM
    lt_remove_ledger(dir);
}
END_TEST

START_TEST(test_init_open_errors)
{
    char *dir = lt_new_ledger("init");
    adt_err err;
    ck_assert_int_eq(ledger_init(dir, ORIGIN, &err), ADT_EEXIST);
    char keyp[4300];
    snprintf(keyp, sizeof keyp, "%s/%s", dir, LEDGER_KEY_FILE);
    struct stat st;
    ck_assert_int_eq(stat(keyp, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert_int_eq(st.st_mode & 077, 0);
    ledger *lg = NULL;
    char missing[4400];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    ck_assert_int_eq(ledger_open(missing, LEDGER_RDONLY, &lg, &err), ADT_ENOTFOUND);
    ck_assert_int_eq(ledger_init(missing, "has space", &err), ADT_EINVAL);
    ck_assert_int_eq(ledger_init(missing, "a+b", &err), ADT_EINVAL);
    ck_assert_int_eq(ledger_init(missing, "", &err), ADT_EINVAL);
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    ck_assert_str_eq(ledger_origin(lg), ORIGIN);
    ledger_close(lg);
    /* A key file readable by others is refused for writing. */
    ck_assert_int_eq(chmod(keyp, 0644), 0);
    ck_assert_int_ne(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    ck_assert_int_eq(chmod(keyp, 0600), 0);
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    ledger_close(lg);
    lt_remove_ledger(dir);
}
END_TEST

/* Two handles on one directory: the second's writer state is stale and must
 * be reloaded, keeping chain and tree right. */
START_TEST(test_two_handles)
{
    char *dir = lt_new_ledger("two");
    ledger *a, *b;
    adt_err err;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &a, &err), ADT_OK);
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &b, &err), ADT_OK);
    uint64_t k = 0;
    for (int round = 0; round < 6; round++) {
        ledger *h = (round % 3 == 2) ? b : a;
        for (int i = 0; i < round + 1; i++, k++) {
            ledger_commit c = lt_append1(h, k, "agent:two");
            ck_assert_uint_eq(c.first, k);
            uint8_t want[32];
            lt_rc_root(a, k + 1, want);
            ck_assert_mem_eq(c.root, want, 32);
        }
        /* b appends right after a without having seen a's entries. */
        ledger_commit c = lt_append1(b, k, "agent:two");
        ck_assert_uint_eq(c.first, k);
        k++;
    }
    ledger_close(a);
    ledger_close(b);
    ledger_verify_result vr;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "%s", vr.problem);
    ck_assert_uint_eq(vr.entries, k);
    lt_remove_ledger(dir);
}
END_TEST

typedef struct scan_ctx {
    uint64_t next, stop_at;
} scan_ctx;

static int scan_cb(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    scan_ctx *s = ctx;
    ck_assert_uint_eq(index, s->next);
    char want[64];
    snprintf(want, sizeof want, "\"seq\":%llu,", (unsigned long long)index);
    ck_assert_ptr_nonnull(lt_memmem(leaf, len, want, strlen(want)));
    s->next++;
    return index == s->stop_at ? 42 : 0;
}

START_TEST(test_scan)
{
    char *dir = lt_new_ledger("scan");
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    for (uint64_t k = 0; k < 20; k++)
        lt_append1(lg, k, "s");
    scan_ctx s = {.next = 0, .stop_at = UINT64_MAX};
    ck_assert_int_eq(ledger_scan(lg, 0, UINT64_MAX, scan_cb, &s, &err), ADT_OK);
    ck_assert_uint_eq(s.next, 20);
    s = (scan_ctx){.next = 5, .stop_at = UINT64_MAX};
    ck_assert_int_eq(ledger_scan(lg, 5, 9, scan_cb, &s, &err), ADT_OK);
    ck_assert_uint_eq(s.next, 9);
    s = (scan_ctx){.next = 3, .stop_at = 6};
    ck_assert_int_eq(ledger_scan(lg, 3, UINT64_MAX, scan_cb, &s, &err), 42);
    ck_assert_uint_eq(s.next, 7);
    ledger_close(lg);
    lt_remove_ledger(dir);
}
END_TEST

/* The triggers make entries, nodes, checkpoints and meta append-only. */
START_TEST(test_immutability)
{
    char *dir = lt_new_ledger("immut");
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    for (uint64_t k = 0; k < 16; k++) /* 16: one stored tree node, (4, 0) */
        lt_append1(lg, k, "s");
    ledger_close(lg);
    sqlite3 *db = lt_db(dir);
    static const char *const stmts[] = {
        "UPDATE entries SET leaf = x'00' WHERE seq = 3",
        "UPDATE entries SET seq = 100 WHERE seq = 7",
        "UPDATE entries SET leaf_hash = zeroblob(32)",
        "DELETE FROM entries WHERE seq = 7",
        "DELETE FROM entries",
        "UPDATE nodes SET hash = zeroblob(32)",
        "DELETE FROM nodes WHERE id = 288230376151711744",
        "DELETE FROM nodes",
        "UPDATE checkpoints SET note = 'x' WHERE size = 8",
        "UPDATE checkpoints SET root = zeroblob(32)",
        "DELETE FROM checkpoints WHERE size = 8",
        "DELETE FROM checkpoints",
        "UPDATE meta SET value = 'evil' WHERE key = 'origin'",
        "DELETE FROM meta",
        "INSERT OR REPLACE INTO entries(seq, leaf, leaf_hash) VALUES (2, x'00', zeroblob(32))",
        "REPLACE INTO checkpoints(size, root, note) VALUES (8, zeroblob(32), 'x')",
        "INSERT OR REPLACE INTO nodes(id, hash) VALUES (288230376151711744, zeroblob(32))",
    };
    char allowed[2048] = "";
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
        if (lt_exec(db, stmts[i]) == SQLITE_OK) {
            size_t l = strlen(allowed);
            snprintf(allowed + l, sizeof allowed - l, " [%s]", stmts[i]);
        }
    }
    sqlite3_close(db);
    ck_assert_msg(allowed[0] == '\0', "modifications were allowed:%s", allowed);
    ledger_verify_result vr;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "%s", vr.problem);
    ck_assert_uint_eq(vr.entries, 16);
    ck_assert_uint_eq(vr.checkpoints, 17);
    lt_remove_ledger(dir);
}
END_TEST

/* verify's ledger_leaf_chain must find exactly what leaf_chain finds, on
 * real leaves and on leaves cut, spliced and with bytes replaced by the
 * characters that steer both (quotes, backslashes, brackets), at every
 * offset of the sixteen-byte blocks the fast one reads. */
START_TEST(test_leaf_chain_same)
{
    static const char *const base[] = {
        "{\"payload\":{\"a\":\"x\\\"}{[\\\\\",\"b\":[\"]\",\"}\",{\"d\":\"\\\\\\\"\"}],\"note\":\"0123456789abcdef0123456789\"},"
        "\"prev\":\"abababababababababababababababababababababababababababababababab\","
        "\"recorded_at\":\"2026-07-01T08:00:00.000001Z\",\"seq\":42,\"source\":\"s\",\"type\":\"t\"}",
        "{\"payload\":{},\"prev\":\"\",\"recorded_at\":\"2026-07-01T08:00:00Z\",\"seq\":0,\"source\":\"s\",\"type\":\"t\"}",
        "{\"payload\":{\"a\":{\"b\":[1,2,{\"c\":\"}}]]\"}],\"d\":{}},\"e\":[[[]]]},\"prev\":\"00\",\"recorded_at\":\"x\",\"seq\":18446744073709551615}",
    };
    static const char steer[] = "\"\\{}[],:0a";
    unsigned seed = 12;
    char m[512];
    for (size_t b = 0; b < sizeof base / sizeof base[0]; b++) {
        size_t bl = strlen(base[b]);
        for (int round = 0; round < 20000; round++) {
            memcpy(m, base[b], bl);
            size_t ml = bl;
            int edits = 1 + rand_r(&seed) % 3;
            for (int e = 0; e < edits; e++) {
                size_t at = (size_t)rand_r(&seed) % ml;
                int kind = rand_r(&seed) % 4;
                if (kind == 0)
                    ml = at + 1; /* cut */
                else if (kind == 1 && ml + 16 < sizeof m) { /* insert a run */
                    size_t k = 1 + (size_t)rand_r(&seed) % 16;
                    memmove(m + at + k, m + at, ml - at);
                    memset(m + at, steer[rand_r(&seed) % (sizeof steer - 1)], k);
                    ml += k;
                } else {
                    m[at] = steer[rand_r(&seed) % (sizeof steer - 1)];
                }
            }
            char *c = malloc(ml ? ml : 1); /* exact size: ASan sees a read past the end */
            memcpy(c, m, ml);
            const char *p1 = NULL, *p2 = NULL;
            size_t l1 = 0, l2 = 0;
            uint64_t s1 = 0, s2 = 0;
            bool f1 = leaf_chain(c, ml, &p1, &l1, &s1), f2 = ledger_leaf_chain(c, ml, &p2, &l2, &s2);
            ck_assert_msg(f1 == f2 && (!f1 || (p1 == p2 && l1 == l2 && s1 == s2)),
                          "base %zu round %d: leaf_chain %d, ledger_leaf_chain %d on '%.*s'", b,
                          round, f1, f2, (int)ml, c);
            free(c);
        }
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ledger");
    TCase *tc = tcase_create("ledger");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_every_proof_every_size, 0, 2);
    tcase_add_test(tc, test_batch_and_sig);
    tcase_add_test(tc, test_batches);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_init_open_errors);
    tcase_add_test(tc, test_two_handles);
    tcase_add_test(tc, test_scan);
    tcase_add_test(tc, test_immutability);
    tcase_add_test(tc, test_leaf_chain_same);
    suite_add_tcase(s, tc);
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
