/* test_cli.c: the ledger commands of the real `auditd` binary, black-box:
 * init, append, verify, checkpoint, key, entry, proof, and --help for each.
 * Proofs printed by the CLI are checked with the independent verifier. */
#include "lt_helpers.h"
#include "note.h"

#include <cjson/cJSON.h>
#include <check.h>
#include <sodium.h>

#define ORIGIN "auditd.test/cli"

static char *g_root, *g_dir;

static void setup(void)
{
    g_root = ts_tmpdir("cli");
    ck_assert_ptr_nonnull(g_root);
    g_dir = malloc(4200);
    snprintf(g_dir, 4200, "%s/data", g_root);
}

static void teardown(void)
{
    ts_rmrf(g_root);
    free(g_root);
    free(g_dir);
}

/* Run `auditd <cmd> --data-dir DIR [args...]`. */
static int run(const char *in, char **out, char **errout, const char *cmd, const char *a1,
               const char *a2, const char *a3)
{
    const char *args[8] = {cmd, "--data-dir", g_dir, a1, a2, a3, NULL};
    if (out)
        *out = NULL;
    if (errout)
        *errout = NULL;
    return ts_run(in, in ? strlen(in) : 0, out, errout, args);
}

static const char *ev(int i)
{
    static char b[8][160];
    snprintf(b[i % 8], sizeof b[0],
             "{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:%02dZ\",\"actor\":\"alice\",\"alert_id\":\"a%d\"}",
             i % 60, i);
    return b[i % 8];
}

static uint64_t size_now(void)
{
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(g_dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    uint64_t n;
    ck_assert_int_eq(ledger_size(lg, &n, &err), ADT_OK);
    ledger_close(lg);
    return n;
}

static void init_ledger(void)
{
    char *out, *errout;
    int st = run(NULL, &out, &errout, "init", "--origin", ORIGIN, NULL);
    ck_assert_msg(st == 0, "init: %s", errout);
    ck_assert_ptr_nonnull(strstr(out, "verifier key: " ORIGIN "+"));
    free(out);
    free(errout);
}

static void append_ok(int from, int count)
{
    char in[4096] = "";
    for (int i = from; i < from + count; i++) {
        strcat(in, ev(i));
        strcat(in, "\n");
    }
    char *out, *errout;
    int st = run(in, &out, &errout, "append", NULL, NULL, NULL);
    ck_assert_msg(st == 0, "append: %s", errout);
    char want[1024] = "";
    uint64_t first = size_now() - (uint64_t)count;
    for (int i = 0; i < count; i++) {
        char l[32];
        snprintf(l, sizeof l, "%llu\n", (unsigned long long)(first + (uint64_t)i));
        strcat(want, l);
    }
    ck_assert_str_eq(out, want);
    free(out);
    free(errout);
}

START_TEST(test_init_key_append_verify)
{
    init_ledger();
    char *out, *errout;
    /* A second init refuses to overwrite. */
    ck_assert_int_ne(run(NULL, NULL, &errout, "init", NULL, NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(errout, "exists"));
    free(errout);
    /* key */
    ck_assert_int_eq(run(NULL, &out, NULL, "key", NULL, NULL, NULL), 0);
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    adt_err err;
    out[strcspn(out, "\n")] = '\0';
    ck_assert_int_eq(note_key_parse(out, name, sizeof name, pub, &err), ADT_OK);
    ck_assert_str_eq(name, ORIGIN);
    free(out);
    /* append: indices printed, one per event */
    append_ok(0, 3);
    ck_assert_uint_eq(size_now(), 3);
    append_ok(3, 2);
    ck_assert_uint_eq(size_now(), 5);
    /* Blank lines are skipped, --source is recorded. */
    char in[1024];
    snprintf(in, sizeof in, "\n%s\n  \n%s", ev(5), ev(6));
    const char *args[] = {"append", "--data-dir", g_dir, "--source", "agent:gw-9", NULL};
    ck_assert_int_eq(ts_run(in, strlen(in), &out, NULL, args), 0);
    ck_assert_str_eq(out, "5\n6\n");
    free(out);
    ledger *lg;
    ck_assert_int_eq(ledger_open(g_dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    ck_assert_int_eq(ledger_entry(lg, 6, &leaf, &err), ADT_OK);
    ck_assert_ptr_nonnull(strstr(leaf.data, "\"source\":\"agent:gw-9\""));
    ck_assert_ptr_nonnull(strstr(leaf.data, "\"type\":\"alert.ack\""));
    ck_assert_int_eq(ledger_entry(lg, 0, &leaf, &err), ADT_OK);
    ck_assert_ptr_nonnull(strstr(leaf.data, "\"source\":\"cli\""));
    buf_free(&leaf);
    ledger_close(lg);
    /* verify */
    ck_assert_int_eq(run(NULL, &out, NULL, "verify", NULL, NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "ok: 7 entries"));
    free(out);
    /* checkpoint: signed by the key, for size 7, with the recomputed root */
    ck_assert_int_eq(run(NULL, &out, NULL, "checkpoint", NULL, NULL, NULL), 0);
    uint64_t size;
    merkle_hash root;
    ck_assert_int_eq(note_verify_checkpoint(out, strlen(out), name, pub, &size, root, &err), ADT_OK);
    ck_assert_uint_eq(size, 7);
    ck_assert_int_eq(ledger_open(g_dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    uint8_t want[32];
    lt_rc_root(lg, 7, want);
    ledger_close(lg);
    ck_assert_mem_eq(root, want, 32);
    ck_assert(strncmp(out, ORIGIN "\n7\n", strlen(ORIGIN) + 3) == 0);
    free(out);
}
END_TEST

START_TEST(test_append_bad_line)
{
    init_ledger();
    append_ok(0, 2);
    char in[2048] = "";
    for (int i = 0; i < 5; i++) {
        strcat(in, i == 2 ? "{\"type\":\"alert.ack\",\"time\":\"not a time\",\"actor\":\"bob\"}" : ev(10 + i));
        strcat(in, "\n");
    }
    char *out, *errout;
    int st = run(in, &out, &errout, "append", NULL, NULL, NULL);
    ck_assert_int_ne(st, 0);
    ck_assert_msg(strstr(errout, "line 3"), "stderr: %s", errout);
    ck_assert_str_eq(out, "");
    free(out);
    free(errout);
    ck_assert_uint_eq(size_now(), 2);
    /* Invalid JSON, unknown type, invalid UTF-8: each named by line. */
    const char *bad[] = {
        "{\"type\":\"alert.ack\"",
        "{\"type\":\"bogus.type\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}",
        "{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"\xff\"}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(in, sizeof in, "%s\n\n%s\n", ev(1), bad[i]);
        st = run(in, &out, &errout, "append", NULL, NULL, NULL);
        ck_assert_int_ne(st, 0);
        ck_assert_msg(strstr(errout, "line 3"), "case %zu stderr: %s", i, errout);
        free(out);
        free(errout);
    }
    /* Nothing on stdin. */
    st = run("", &out, &errout, "append", NULL, NULL, NULL);
    ck_assert_int_ne(st, 0);
    ck_assert_ptr_nonnull(strstr(errout, "no events"));
    free(out);
    free(errout);
    ck_assert_uint_eq(size_now(), 2);
    ck_assert_int_eq(run(NULL, NULL, NULL, "verify", NULL, NULL, NULL), 0);
}
END_TEST

/* Decode the "hashes" array of a proof; returns its length. */
static size_t parse_hashes(const char *json, uint8_t (*h)[32], cJSON **root_out)
{
    cJSON *j = cJSON_Parse(json);
    ck_assert_msg(j != NULL, "not JSON: %s", json);
    cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "hashes");
    ck_assert(cJSON_IsArray(a));
    size_t n = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        ck_assert(cJSON_IsString(e));
        size_t bl;
        ck_assert_int_eq(sodium_base642bin(h[n], 32, e->valuestring, strlen(e->valuestring), NULL,
                                           &bl, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
        ck_assert_uint_eq(bl, 32);
        n++;
    }
    *root_out = j;
    return n;
}

START_TEST(test_entry_and_proofs)
{
    init_ledger();
    append_ok(0, 4);
    append_ok(4, 3);
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(g_dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    uint8_t lh[7][32], roots[8][32];
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    for (int i = 0; i < 7; i++) {
        ck_assert_int_eq(ledger_entry(lg, (uint64_t)i, &leaf, &err), ADT_OK);
        rc_leaf_hash(leaf.data, leaf.len, lh[i]);
        if (i != 0 && i != 4 && i != 6)
            continue; /* each CLI run costs a process start */
        /* entry N: {"index":N,"leaf":base64 of the exact bytes} */
        char idx[8];
        snprintf(idx, sizeof idx, "%d", i);
        char *out;
        ck_assert_int_eq(run(NULL, &out, NULL, "entry", idx, NULL, NULL), 0);
        cJSON *j = cJSON_Parse(out);
        ck_assert_ptr_nonnull(j);
        ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "index")->valueint, i);
        const char *b64 = cJSON_GetObjectItemCaseSensitive(j, "leaf")->valuestring;
        uint8_t *dec = malloc(leaf.len + 8);
        size_t dl;
        ck_assert_int_eq(sodium_base642bin(dec, leaf.len + 8, b64, strlen(b64), NULL, &dl, NULL,
                                           sodium_base64_VARIANT_ORIGINAL), 0);
        ck_assert_uint_eq(dl, leaf.len);
        ck_assert_mem_eq(dec, leaf.data, dl);
        free(dec);
        cJSON_Delete(j);
        free(out);
    }
    buf_free(&leaf);
    ledger_close(lg);
    for (int n = 0; n <= 7; n++)
        rc_root_of((const uint8_t(*)[32])lh, (uint64_t)n, roots[n]);
    char *out, *errout;
    ck_assert_int_ne(run(NULL, NULL, &errout, "entry", "7", NULL, NULL), 0);
    free(errout);
    ck_assert_int_ne(run(NULL, NULL, &errout, "entry", "-1", NULL, NULL), 0);
    free(errout);
    ck_assert_int_ne(run(NULL, NULL, &errout, "entry", "1x", NULL, NULL), 0);
    free(errout);

    /* Inclusion at the latest checkpoint (size 7) and at an explicit size. */
    uint8_t h[MERKLE_MAX_PROOF][32];
    for (int i = 0; i < 7; i += 3) {
        char idx[8];
        snprintf(idx, sizeof idx, "%d", i);
        ck_assert_int_eq(run(NULL, &out, NULL, "proof", "inclusion", idx, NULL), 0);
        cJSON *j;
        size_t n = parse_hashes(out, h, &j);
        ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "tree_size")->valueint, 7);
        ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "index")->valueint, i);
        ck_assert(rc_verify_inclusion((uint64_t)i, 7, lh[i], (const uint8_t(*)[32])h, n, roots[7]));
        cJSON_Delete(j);
        free(out);
    }
    const char *args[] = {"proof", "--data-dir", g_dir, "inclusion", "2", "--tree-size", "4", NULL};
    ck_assert_int_eq(ts_run(NULL, 0, &out, NULL, args), 0);
    cJSON *j;
    size_t n = parse_hashes(out, h, &j);
    ck_assert(rc_verify_inclusion(2, 4, lh[2], (const uint8_t(*)[32])h, n, roots[4]));
    cJSON_Delete(j);
    free(out);
    const char *bad_args[] = {"proof", "--data-dir", g_dir, "inclusion", "2", "--tree-size", "9", NULL};
    ck_assert_int_ne(ts_run(NULL, 0, NULL, NULL, bad_args), 0);
    ck_assert_int_ne(run(NULL, NULL, NULL, "proof", "inclusion", "7", NULL), 0);
    /* Consistency between every pair of sizes. */
    static const int pairs[][2] = {{1, 7}, {4, 7}, {6, 7}, {7, 7}, {2, 5}, {3, 4}};
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        {
            int m = pairs[p][0], k = pairs[p][1];
            char a[8], b[8];
            snprintf(a, sizeof a, "%d", m);
            snprintf(b, sizeof b, "%d", k);
            const char *cargs[] = {"proof", "--data-dir", g_dir, "consistency", a, b, NULL};
            ck_assert_int_eq(ts_run(NULL, 0, &out, NULL, cargs), 0);
            n = parse_hashes(out, h, &j);
            ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "first")->valueint, m);
            ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "second")->valueint, k);
            ck_assert_msg(rc_verify_consistency((uint64_t)m, (uint64_t)k, roots[m], roots[k],
                                                (const uint8_t(*)[32])h, n),
                          "cli consistency %d -> %d", m, k);
            cJSON_Delete(j);
            free(out);
        }
    }
    ck_assert_int_ne(run(NULL, NULL, NULL, "proof", "consistency", "0", "5"), 0);
    ck_assert_int_ne(run(NULL, NULL, NULL, "proof", "consistency", "5", "3"), 0);
    ck_assert_int_ne(run(NULL, NULL, NULL, "proof", "consistency", "3", "8"), 0);
    ck_assert_int_ne(run(NULL, NULL, NULL, "proof", "sideways", "1", NULL), 0);
}
END_TEST

START_TEST(test_help_and_errors)
{
    static const char *const cmds[] = {"init", "append", "verify", "checkpoint", "key", "entry", "proof"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *args[] = {cmds[i], "--help", NULL};
        char *out = NULL;
        int st = ts_run(NULL, 0, &out, NULL, args);
        ck_assert_msg(st == 0, "%s --help exited %d", cmds[i], st);
        char want[64];
        snprintf(want, sizeof want, "usage: auditd %s", cmds[i]);
        ck_assert_msg(out && strstr(out, want), "%s --help: %s", cmds[i], out ? out : "");
        ck_assert_msg(strstr(out, "--data-dir"), "%s --help does not mention --data-dir", cmds[i]);
        free(out);
    }
    /* No ledger there yet: every reader says how to make one. */
    static const char *const readers[] = {"verify", "checkpoint", "key"};
    for (size_t i = 0; i < 3; i++) {
        char *errout;
        ck_assert_int_ne(run(NULL, NULL, &errout, readers[i], NULL, NULL, NULL), 0);
        ck_assert_msg(strstr(errout, "auditd init"), "%s: %s", readers[i], errout);
        free(errout);
    }
    char *errout;
    ck_assert_int_eq(run(NULL, NULL, &errout, "verify", "--bogus", NULL, NULL), 2);
    free(errout);
    ck_assert_int_ne(run(NULL, NULL, &errout, "init", "--origin", "bad origin", NULL), 0);
    ck_assert_ptr_nonnull(strstr(errout, "origin"));
    free(errout);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_init_key_append_verify);
    tcase_add_test(tc, test_append_bad_line);
    tcase_add_test(tc, test_entry_and_proofs);
    tcase_add_test(tc, test_help_and_errors);
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
