/* test_cosig.c: signed notes with several signatures (note_parse), witness
 * cosignatures (cosig.c), the witness decision logic over its SQLite store
 * (witness.c, witness_sqlite.c: compare-and-swap under concurrent requests
 * from two connections), the log's cosignature store (cosigdb.c) and the
 * trusted-checkpoint check (trustcp.c). The black-box tests against two real
 * daemons are in tests/server/test_witness.c. */
#include "cosig.h"
#include "cosigdb.h"
#include "lt_helpers.h"
#include "note.h"
#include "trustcp.h"
#include "witness.h"
#include "witness_sqlite.h"

#include <check.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#define EM "\xE2\x80\x94"

static const char TEXT[] = "example.test/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

/* A witness key from a fixed seed, in a temporary witness directory. */
typedef struct wfx {
    char *root;
    char dir[4200];
    witness_sqlite *ws;
    note_signer *signer;
    cosig_key key;
} wfx;

static void wfx_open(wfx *f, const char *name, uint8_t seedbyte)
{
    memset(f, 0, sizeof *f);
    f->root = ts_tmpdir("cosig");
    snprintf(f->dir, sizeof f->dir, "%s/w", f->root);
    uint8_t seed[32];
    memset(seed, seedbyte, sizeof seed);
    adt_err err;
    ck_assert_int_eq(witness_sqlite_create(f->dir, name, seed, &err), ADT_OK);
    ck_assert_int_eq(witness_sqlite_open(f->dir, &f->ws, &err), ADT_OK);
    ck_assert_int_eq(witness_sqlite_signer(f->ws, f->dir, &f->signer, &err), ADT_OK);
    ck_assert_int_eq(cosig_key_make(name, note_signer_pub(f->signer), &f->key, &err), ADT_OK);
}

static void wfx_close(wfx *f)
{
    note_signer_free(f->signer);
    witness_sqlite_close(f->ws);
    ts_rmrf(f->root);
    free(f->root);
}

static int parse(const char *note, note_parsed *p)
{
    adt_err err;
    size_t n = strlen(note);
    char *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
    memcpy(copy, note, n);
    int rc = note_parse(copy, n, p, &err);
    free(copy);
    return rc;
}

START_TEST(test_cosig_line_format)
{
    wfx f;
    wfx_open(&f, "witness.test/w", 9);
    char line[COSIG_LINE_MAX];
    adt_err err;
    ck_assert_int_eq(cosig_sign(f.signer, TEXT, strlen(TEXT), 1700000000, line, sizeof line, &err),
                     ADT_OK);
    /* "— <name> base64(key id || u64 BE timestamp || signature)\n" */
    ck_assert(!strncmp(line, EM " witness.test/w ", strlen(EM " witness.test/w ")));
    const char *b = line + strlen(EM " witness.test/w ");
    uint8_t raw[100];
    size_t rl;
    ck_assert_int_eq(sodium_base642bin(raw, sizeof raw, b, strlen(b) - 1, NULL, &rl, NULL,
                                       sodium_base64_VARIANT_ORIGINAL), 0);
    ck_assert_uint_eq(rl, 76);
    uint8_t id[4];
    note_vkey_id("witness.test/w", 0x04, note_signer_pub(f.signer), id);
    ck_assert_mem_eq(raw, id, 4);
    uint64_t ts = 0;
    for (int i = 0; i < 8; i++)
        ts = ts << 8 | raw[4 + i];
    ck_assert_uint_eq(ts, 1700000000);
    char msg[256];
    int ml = snprintf(msg, sizeof msg, "cosignature/v1\ntime 1700000000\n%s", TEXT);
    ck_assert_int_eq(crypto_sign_verify_detached(raw + 12, (uint8_t *)msg, (size_t)ml,
                                                 note_signer_pub(f.signer)), 0);
    /* The vkey: base64 of 0x04 || key (so it starts with 'B'); a type-0x01
     * key is refused with a hint. */
    ck_assert(strrchr(f.key.vkey, '+')[1] == 'B');
    cosig_key k2;
    ck_assert_int_eq(cosig_key_parse(f.key.vkey, &k2, &err), ADT_OK);
    ck_assert_mem_eq(k2.pub, f.key.pub, 32);
    char logkey[NOTE_KEYLINE_MAX];
    note_key_line("witness.test/w", f.key.pub, logkey, sizeof logkey);
    ck_assert_int_eq(cosig_key_parse(logkey, &k2, &err), ADT_EINVAL);
    ck_assert_msg(strstr(err.msg, "log's key"), "%s", err.msg);
    /* Timestamps 0 and above 2^63-1 are not signed. */
    ck_assert_int_eq(cosig_sign(f.signer, TEXT, strlen(TEXT), 0, line, sizeof line, &err), ADT_EINVAL);
    ck_assert_int_eq(cosig_sign(f.signer, TEXT, strlen(TEXT), (uint64_t)INT64_MAX + 1, line,
                                sizeof line, &err), ADT_EINVAL);
    wfx_close(&f);
}
END_TEST

START_TEST(test_cosig_verify)
{
    wfx f, g;
    wfx_open(&f, "witness.test/w", 9);
    wfx_open(&g, "witness.test/w", 10); /* same name, another key */
    char line[COSIG_LINE_MAX], other[COSIG_LINE_MAX], note[2048];
    adt_err err;
    ck_assert_int_eq(cosig_sign(f.signer, TEXT, strlen(TEXT), 1700000001, line, sizeof line, &err), 0);
    ck_assert_int_eq(cosig_sign(g.signer, TEXT, strlen(TEXT), 1700000002, other, sizeof other, &err), 0);
    /* A log line first (any valid-looking signature), then the cosignatures. */
    snprintf(note, sizeof note, "%s\n" EM " example.test/log AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n%s%s",
             TEXT, other, line);
    note_parsed p;
    ck_assert_int_eq(parse(note, &p), ADT_OK);
    ck_assert_uint_eq(p.nsigs, 3);
    ck_assert_uint_eq(p.text_len, strlen(TEXT));
    uint64_t ts = 0;
    ck_assert_int_eq(cosig_verify(note, &p, &f.key, &ts, &err), ADT_OK);
    ck_assert_uint_eq(ts, 1700000001);
    ck_assert_int_eq(cosig_verify(note, &p, &g.key, &ts, &err), ADT_OK);
    ck_assert_uint_eq(ts, 1700000002);
    /* Absent: a note with only g's line has none by f (same name, other id: ignored). */
    snprintf(note, sizeof note, "%s\n%s", TEXT, other);
    ck_assert_int_eq(parse(note, &p), ADT_OK);
    ck_assert_int_eq(cosig_verify(note, &p, &f.key, &ts, &err), ADT_ENOTFOUND);
    /* Over another text: the line names f's key but does not verify. */
    char text2[sizeof TEXT];
    memcpy(text2, TEXT, sizeof TEXT);
    text2[17] = '6';
    snprintf(note, sizeof note, "%s\n%s", text2, line);
    ck_assert_int_eq(parse(note, &p), ADT_OK);
    ck_assert_int_eq(cosig_verify(note, &p, &f.key, &ts, &err), ADT_ECRYPTO);
    /* Every single bit flip of the signature part is refused or not f's. */
    snprintf(note, sizeof note, "%s\n%s", TEXT, line);
    size_t n = strlen(note), start = strlen(TEXT) + 1;
    int accepted = 0;
    for (size_t i = start; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            char *m = strdup(note);
            m[i] ^= (char)(1 << bit);
            note_parsed q;
            adt_err e2;
            if (note_parse(m, n, &q, &e2) == ADT_OK && cosig_verify(m, &q, &f.key, &ts, &e2) == ADT_OK)
                accepted++;
            free(m);
        }
    ck_assert_int_eq(accepted, 0);
    wfx_close(&f);
    wfx_close(&g);
}
END_TEST

START_TEST(test_note_parse_rules)
{
    static const char sig[] = EM " k.test/a AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
    note_parsed p;
    char note[8192];
    snprintf(note, sizeof note, "text\n\n%s", sig);
    ck_assert_int_eq(parse(note, &p), ADT_OK);
    /* The text may hold empty lines: the last empty line separates. */
    snprintf(note, sizeof note, "a\n\nb\n\n%s", sig);
    ck_assert_int_eq(parse(note, &p), ADT_OK);
    ck_assert_uint_eq(p.text_len, 5);
    /* Malformed: each refuses the whole note. */
    const char *bad[] = {
        "text\n\n",                                            /* no signature */
        "text\n" EM " k.test/a AAAAAAAA\n",                    /* no empty line */
        "text\n\n" EM " k.test/a AAAAAAAA",                    /* no final newline */
        "text\n\n- k.test/a AAAAAAAA\n",                       /* not an em dash */
        "text\n\n" EM " k.test/a\n",                           /* no signature */
        "text\n\n" EM "  AAAAAAAA\n",                          /* empty name */
        "text\n\n" EM " k+x AAAAAAAA\n",                       /* '+' in the name */
        "text\n\n" EM " k\xC2\xA0x AAAAAAAA\n",                /* U+00A0 in the name */
        "text\n\n" EM " k.test/a AAAA\n",                      /* only 3 bytes */
        "text\n\n" EM " k.test/a AAAAAAB=\n",                  /* non-zero unused bits */
        "text\n\n" EM " k.test/a AAAA AAAA\n",                 /* space in the signature */
        "text\n\n" EM " k.test/a AA==AAAA\n",                  /* padding inside */
        "te\rxt\n\n" EM " k.test/a AAAAAAAA\n",                /* control character */
        "te\txt\n\n" EM " k.test/a AAAAAAAA\n",                /* tab */
        "t\xC0\xAFxt\n\n" EM " k.test/a AAAAAAAA\n",           /* overlong UTF-8 */
        "t\xED\xA0\x80xt\n\n" EM " k.test/a AAAAAAAA\n",       /* a surrogate */
        "t\xFFxt\n\n" EM " k.test/a AAAAAAAA\n",               /* not UTF-8 */
        "text\n\n" EM " k.test/a AAAAAAAA\n\n",                /* empty line after signatures */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse(bad[i], &p) != ADT_OK, "malformed note %zu accepted", i);
    /* Canonical base64 of 5 bytes (4-byte key id, 1-byte signature) is the minimum. */
    ck_assert_int_eq(parse("text\n\n" EM " k.test/a AAAAAAA=\n", &p), ADT_OK);
    ck_assert_uint_eq(p.sigs[0].raw_len, 5);
    /* Up to NOTE_SIGS_MAX signature lines (the spec asks for at least 16). */
    size_t used = (size_t)snprintf(note, sizeof note, "text\n\n");
    for (int i = 0; i < NOTE_SIGS_MAX; i++)
        used += (size_t)snprintf(note + used, sizeof note - used, "%s", sig);
    ck_assert_int_eq(parse(note, &p), ADT_OK);
    ck_assert_uint_eq(p.nsigs, NOTE_SIGS_MAX);
    snprintf(note + used, sizeof note - used, "%s", sig);
    ck_assert_int_eq(parse(note, &p), ADT_ETOOBIG);
}
END_TEST

START_TEST(test_checkpoint_text)
{
    note_checkpoint cp;
    adt_err err;
    const char *ok = "o.test/x\n18446744073709551615\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\n";
    ck_assert_int_eq(note_checkpoint_parse(ok, strlen(ok), &cp, &err), ADT_OK);
    ck_assert_uint_eq(cp.size, UINT64_MAX);
    ck_assert_uint_eq(cp.extensions, 1);
    ck_assert_str_eq(cp.origin, "o.test/x");
    const char *bad[] = {
        "o\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", /* overflow */
        "o\n05\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",                   /* leading zero */
        "o\n-5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",                    /* 31 bytes */
        "\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",                    /* empty origin */
        "o\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\nx\n",              /* empty extension */
        "o\n5\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(note_checkpoint_parse(bad[i], strlen(bad[i]), &cp, &err) != ADT_OK,
                      "bad checkpoint text %zu accepted", i);
}
END_TEST

/* ---- the witness over SQLite, with a real ledger as the log ---- */

static char *g_log; /* a ledger of 64 entries, one checkpoint per size */

static void log_setup(void)
{
    g_log = lt_new_ledger("wlog");
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(g_log, LEDGER_RDWR, &lg, &err), ADT_OK);
    for (uint64_t k = 0; k < 64; k++)
        lt_append1(lg, k, "agent:w");
    ledger_close(lg);
}

static void log_teardown(void)
{
    lt_remove_ledger(g_log);
}

/* "old S\n" + proof S->T + "\n" + checkpoint at T, from the ledger. */
static void request(ledger *lg, uint64_t s, uint64_t t, buf *out)
{
    adt_err err;
    char note[NOTE_MAX];
    buf_reset(out);
    buf_printf(out, "old %llu\n", (unsigned long long)s);
    if (s > 0 && s < t) {
        merkle_hash h[MERKLE_MAX_PROOF];
        size_t n;
        ck_assert_int_eq(ledger_prove_consistency(lg, s, t, h, &n, &err), ADT_OK);
        for (size_t i = 0; i < n; i++) {
            char b[64];
            sodium_bin2base64(b, sizeof b, h[i], 32, sodium_base64_VARIANT_ORIGINAL);
            buf_printf(out, "%s\n", b);
        }
    }
    ck_assert_int_eq(ledger_checkpoint_at(lg, t, note, sizeof note, &err), ADT_OK);
    buf_printf(out, "\n%s", note);
}

typedef struct racer {
    witness *w;
    witness_sqlite *ws;
    unsigned seed;
    int n200, n409;
    uint64_t olds[64], news[64];
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    ledger *lg;
    adt_err err;
    if (ledger_open(g_log, LEDGER_RDONLY, &lg, &err))
        return NULL;
    buf b;
    buf_init(&b, 1 << 16);
    for (int i = 0; i < 40; i++) {
        uint64_t s = 0;
        merkle_hash root;
        bool has;
        if (witness_sqlite_ops()->latest(r->ws, "auditd.test/ledger", &s, root, &has, &err))
            break;
        if (s >= 64)
            break;
        uint64_t t = s + 1 + (uint64_t)(rand_r(&r->seed) % 3);
        if (t > 64)
            t = 64;
        request(lg, s, t, &b);
        witness_answer a;
        if (witness_add_checkpoint(r->w, b.data, b.len, 1700000000 + (uint64_t)i, &a, &err))
            break;
        if (a.status == 200 && r->n200 < 64) {
            r->olds[r->n200] = s;
            r->news[r->n200++] = t;
        } else if (a.status == 409) {
            r->n409++;
        }
    }
    buf_free(&b);
    ledger_close(lg);
    return NULL;
}

START_TEST(test_witness_cas_race)
{
    wfx f;
    wfx_open(&f, "witness.test/race", 11);
    adt_err err;
    ledger *lg;
    ck_assert_int_eq(ledger_open(g_log, LEDGER_RDONLY, &lg, &err), ADT_OK);
    ck_assert_int_eq(witness_sqlite_add_log(f.ws, "auditd.test/ledger", ledger_key_line(lg), &err),
                     ADT_OK);
    ledger_close(lg);
    /* Two connections (as two processes would have), four threads on each. */
    witness_sqlite *ws2;
    ck_assert_int_eq(witness_sqlite_open(f.dir, &ws2, &err), ADT_OK);
    witness *w1, *w2;
    ck_assert_int_eq(witness_new(f.signer, witness_sqlite_ops(), f.ws, &w1, &err), ADT_OK);
    ck_assert_int_eq(witness_new(f.signer, witness_sqlite_ops(), ws2, &w2, &err), ADT_OK);
    racer r[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].w = i < 4 ? w1 : w2;
        r[i].ws = i < 4 ? f.ws : ws2;
        r[i].seed = (unsigned)i * 7919u + 1;
        pthread_create(&th[i], NULL, race, &r[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    /* The cosigned checkpoints form one chain from 0, strictly growing: no
     * request ever rolled the witness back (tlog-witness's race). */
    uint64_t at = 0;
    int total = 0, followed = 0, conflicts = 0;
    for (int i = 0; i < 8; i++) {
        total += r[i].n200;
        conflicts += r[i].n409;
    }
    for (;;) {
        bool moved = false;
        for (int i = 0; i < 8 && !moved; i++)
            for (int k = 0; k < r[i].n200; k++)
                if (r[i].olds[k] == at) {
                    ck_assert_uint_gt(r[i].news[k], at);
                    at = r[i].news[k];
                    followed++;
                    moved = true;
                    break;
                }
        if (!moved)
            break;
    }
    ck_assert_int_eq(followed, total);
    ck_assert_int_gt(total, 1);
    buf note;
    buf_init(&note, 1 << 16);
    uint64_t size;
    ck_assert_int_eq(witness_sqlite_latest(f.ws, "auditd.test/ledger", &note, &size, &err), ADT_OK);
    ck_assert_uint_eq(size, at);
    note_parsed p;
    ck_assert_int_eq(note_parse(note.data, note.len, &p, &err), ADT_OK);
    ck_assert_uint_eq(p.nsigs, 2); /* the log's line and the witness's cosignature */
    uint64_t ts;
    ck_assert_int_eq(cosig_verify(note.data, &p, &f.key, &ts, &err), ADT_OK);
    fprintf(stderr, "cas race: %d cosigned in one chain to %llu, %d answered 409\n", total,
            (unsigned long long)at, conflicts);
    buf_free(&note);
    witness_free(w1);
    witness_free(w2);
    witness_sqlite_close(ws2);
    wfx_close(&f);
}
END_TEST

START_TEST(test_witness_sqlite_admin)
{
    wfx f;
    wfx_open(&f, "witness.test/adm", 12);
    adt_err err;
    ck_assert_int_eq(witness_sqlite_create(f.dir, "witness.test/adm", NULL, &err), ADT_EEXIST);
    char d2[4300];
    snprintf(d2, sizeof d2, "%s/bad", f.root);
    ck_assert_int_eq(witness_sqlite_create(d2, "bad name", NULL, &err), ADT_EINVAL);
    ck_assert_int_eq(witness_sqlite_create(d2, "a+b", NULL, &err), ADT_EINVAL);
    ledger *lg;
    ck_assert_int_eq(ledger_open(g_log, LEDGER_RDONLY, &lg, &err), ADT_OK);
    const char *vk = ledger_key_line(lg);
    ck_assert_int_eq(witness_sqlite_add_log(f.ws, "o.test/1", vk, &err), ADT_OK);
    ck_assert_int_eq(witness_sqlite_add_log(f.ws, "o.test/1", vk, &err), ADT_EEXIST);
    ck_assert_int_eq(witness_sqlite_add_log(f.ws, "o.test/1", f.key.vkey, &err), ADT_EINVAL);
    ck_assert_int_eq(witness_sqlite_add_log(f.ws, "", vk, &err), ADT_EINVAL);
    ck_assert_int_eq(witness_sqlite_add_log(f.ws, "o\nx", vk, &err), ADT_EINVAL);
    buf b;
    buf_init(&b, 4096);
    uint64_t size;
    ck_assert_int_eq(witness_sqlite_latest(f.ws, "o.test/1", &b, &size, &err), ADT_ENOTFOUND);
    ck_assert_int_eq(witness_sqlite_list(f.ws, &b, &err), ADT_OK);
    ck_assert_msg(strstr(b.data, "o.test/1 - ") != NULL, "%s", b.data);
    buf_free(&b);
    ledger_close(lg);
    /* A key file that is not the one witness.db was made with is refused. */
    char kp[4300];
    snprintf(kp, sizeof kp, "%s/%s", f.dir, WITNESS_KEY_FILE);
    ck_assert_int_eq(unlink(kp), 0);
    uint8_t pub[32];
    ck_assert_int_eq(note_keygen(kp, pub, &err), ADT_OK);
    note_signer *s2;
    ck_assert_int_eq(witness_sqlite_signer(f.ws, f.dir, &s2, &err), ADT_ECORRUPT);
    /* Not a witness. */
    witness_sqlite *none;
    ck_assert_int_eq(witness_sqlite_open(f.root, &none, &err), ADT_ENOTFOUND);
    wfx_close(&f);
}
END_TEST

/* ---- the log side: cosigs.db and the trusted-checkpoint check ---- */

START_TEST(test_cosigdb_and_trusted)
{
    char *dir = lt_new_ledger("cosigdb");
    wfx f;
    wfx_open(&f, "witness.test/t", 13);
    adt_err err;
    ledger *lg;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    ledger_commit c;
    for (uint64_t k = 0; k < 10; k++)
        c = lt_append1(lg, k, "agent:t");
    note_parsed p;
    ck_assert_int_eq(note_parse(c.checkpoint, strlen(c.checkpoint), &p, &err), ADT_OK);
    char line[COSIG_LINE_MAX];
    ck_assert_int_eq(cosig_sign(f.signer, c.checkpoint, p.text_len, 1782864000, line, sizeof line,
                                &err), ADT_OK);
    cosigdb *db;
    ck_assert_int_eq(cosigdb_open(dir, false, &db, &err), ADT_ENOTFOUND);
    ck_assert_int_eq(cosigdb_open(dir, true, &db, &err), ADT_OK);
    buf out;
    buf_init(&out, COSIGDB_NOTE_MAX);
    uint64_t size = 0;
    ck_assert_int_eq(cosigdb_latest(db, &out, &size, &err), ADT_ENOTFOUND);
    ck_assert_int_eq(cosigdb_add(db, c.checkpoint, c.tree_size, c.root, f.key.vkey, line,
                                 1782864000, &err), ADT_OK);
    ck_assert_int_eq(cosigdb_latest(db, &out, &size, &err), ADT_OK);
    ck_assert_uint_eq(size, 10);
    char want[2048];
    snprintf(want, sizeof want, "%s%s", c.checkpoint, line);
    ck_assert_str_eq(out.data, want);
    size_t n = 0;
    ck_assert_int_eq(cosigdb_attach(db, c.checkpoint, 10, c.root, &out, &n, &err), ADT_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(out.data, want);
    /* Another root at the same size: refused (the ledger changed under us). */
    merkle_hash other;
    memset(other, 7, sizeof other);
    ck_assert_int_eq(cosigdb_add(db, c.checkpoint, 10, other, f.key.vkey, line, 1782864000, &err),
                     ADT_ECONFLICT);
    ck_assert_int_eq(cosigdb_attach(db, c.checkpoint, 10, other, &out, &n, &err), ADT_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(cosigdb_witness_size(db, f.key.vkey, &size, &err), ADT_OK);
    ck_assert_uint_eq(size, 10);
    cosigdb_close(db);
    ck_assert_int_eq(cosigdb_checkpoint(dir, lg, true, 0, &out, &size, &n, &err), ADT_OK);
    ck_assert_str_eq(out.data, want);
    ck_assert_uint_eq(n, 1);

    /* The trusted check: intact; a witness that did not cosign; the wrong log. */
    trustcp_result res;
    ck_assert_int_eq(trustcp_check(dir, want, strlen(want), NULL, &f.key, 1, &res, &err), ADT_OK);
    ck_assert_msg(res.ok, "%s", res.problem);
    ck_assert_uint_eq(res.nwitnesses, 1);
    ck_assert_uint_eq(res.timestamps[0], 1782864000);
    wfx g;
    wfx_open(&g, "witness.test/g", 14);
    ck_assert_int_eq(trustcp_check(dir, want, strlen(want), NULL, &g.key, 1, &res, &err), ADT_OK);
    ck_assert(!res.ok && strstr(res.problem, "no cosignature by witness witness.test/g"));
    ck_assert_int_eq(trustcp_check(g_log, want, strlen(want), NULL, &f.key, 1, &res, &err), ADT_OK);
    ck_assert_msg(!res.ok, "a checkpoint of another ledger passed");
    /* Pinned to another log key: its signature is missing. */
    char lk[NOTE_KEYLINE_MAX];
    note_key_line("auditd.test/ledger", g.key.pub, lk, sizeof lk);
    ck_assert_int_eq(trustcp_check(dir, want, strlen(want), lk, &f.key, 1, &res, &err), ADT_OK);
    ck_assert(!res.ok && strstr(res.problem, "is not signed by the log key"));
    /* Entries grow past it: still fine (a prefix). */
    for (uint64_t k = 10; k < 13; k++)
        lt_append1(lg, k, "agent:t");
    ck_assert_int_eq(trustcp_check(dir, want, strlen(want), NULL, &f.key, 1, &res, &err), ADT_OK);
    ck_assert_msg(res.ok, "%s", res.problem);
    ledger_close(lg);
    buf_free(&out);
    wfx_close(&g);
    wfx_close(&f);
    lt_remove_ledger(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cosig");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, test_cosig_line_format);
    tcase_add_test(tc, test_cosig_verify);
    tcase_add_test(tc, test_note_parse_rules);
    tcase_add_test(tc, test_checkpoint_text);
    suite_add_tcase(s, tc);
    TCase *wt = tcase_create("witness");
    tcase_set_timeout(wt, 120);
    tcase_add_unchecked_fixture(wt, log_setup, log_teardown);
    tcase_add_test(wt, test_witness_cas_race);
    tcase_add_test(wt, test_witness_sqlite_admin);
    tcase_add_test(wt, test_cosigdb_and_trusted);
    suite_add_tcase(s, wt);
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
