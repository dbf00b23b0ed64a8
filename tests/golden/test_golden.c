/* Golden files for the formats outside verifiers rely on (LEDGER-CONTRACT.md):
 * exact leaf bytes, the signed checkpoint note, the verifier key line, and
 * proof JSON. The ledger is built from a fixed key seed and a fixed clock, so
 * every byte is reproducible (Ed25519 signatures are deterministic).
 * AUDITD_GOLDEN_UPDATE=1 rewrites the files (review the diff by hand, and
 * check them with an independent verifier, before committing). */
#include "cosig.h"
#include "ledger.h"
#include "tsupport.h"
#include "witness_sqlite.h"

#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t fixed_clock(void *ctx)
{
    int *tick = ctx;
    return 1782864000LL * 1000000 + (int64_t)(*tick)++ * 1000000; /* 2026-07-01T00:00:00Z + n s */
}

static void golden(const char *name, const char *got, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", getenv("AUDITD_GOLDEN_DIR"), name);
    if (getenv("AUDITD_GOLDEN_UPDATE")) {
        ck_assert_int_eq(ts_write_file(path, got, len), 0);
        return;
    }
    size_t wl;
    char *want = ts_read_file(path, &wl);
    ck_assert_msg(want != NULL, "golden file %s missing", path);
    ck_assert_msg(wl == len && memcmp(want, got, len) == 0, "%s differs:\n got: %.*s\nwant: %s", name,
                  (int)len, got, want);
    free(want);
}

static void proof_json(const merkle_hash *h, size_t n, buf *out)
{
    buf_reset(out);
    buf_puts(out, "{\"hashes\":[");
    for (size_t i = 0; i < n; i++) {
        char b64[64];
        sodium_bin2base64(b64, sizeof b64, h[i], 32, sodium_base64_VARIANT_ORIGINAL);
        buf_printf(out, "%s\"%s\"", i ? "," : "", b64);
    }
    buf_puts(out, "]}\n");
}

START_TEST(test_formats)
{
    char *dir = ts_tmpdir("golden");
    char d[4200];
    snprintf(d, sizeof d, "%s/data", dir);
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i + 1);
    adt_err err;
    ck_assert_int_eq(ledger_init_seeded(d, "golden.auditd.example/log", seed, &err), ADT_OK);
    ledger *lg;
    ck_assert_int_eq(ledger_open(d, LEDGER_RDWR, &lg, &err), ADT_OK);
    int tick = 0;
    ledger_set_clock(lg, fixed_clock, &tick);
    const char *events[] = {
        "{\"type\":\"firmware.deploy\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"alice\","
        "\"version\":\"4.2.1\",\"device_class\":\"plc\"}",
        "{ \"actor\" : \"dave\", \"type\": \"incident.open\", \"time\": \"2026-07-02T09:30:00+02:00\","
        " \"incident_id\": \"INC-7\", \"summary\": \"caf\\u00e9 \\/ line\\n2\", \"n\": 1.50 }",
        "{\"type\":\"x-acme.calibration\",\"time\":\"2026-07-03T10:00:00Z\",\"actor\":\"agent:gw-1\","
        "\"values\":[3,{\"b\":2,\"a\":1}]}"};
    const char *sig = "{\"alg\":\"ed25519\",\"agent\":\"gw-1\",\"seq\":7}";
    for (int i = 0; i < 3; i++) {
        ledger_item it = {.writer = i == 2 ? EVENT_WRITER_EDGE : EVENT_WRITER_ADMIN,
                          .source = i == 2 ? "agent:gw-1" : "cli",
                          .type = i == 0 ? "firmware.deploy" : i == 1 ? "incident.open" : "x-acme.calibration",
                          .payload = events[i],
                          .payload_len = strlen(events[i]),
                          .sig = i == 2 ? sig : NULL,
                          .sig_len = i == 2 ? strlen(sig) : 0};
        ledger_commit c;
        ck_assert_int_eq(ledger_append(lg, &it, 1, &c, &err), ADT_OK);
        ck_assert_uint_eq(c.first, (uint64_t)i);
    }
    buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "leaf-%d.json", i);
        ck_assert_int_eq(ledger_entry(lg, (uint64_t)i, &b, &err), ADT_OK);
        golden(name, b.data, b.len);
    }
    char note[NOTE_MAX];
    uint64_t size;
    ck_assert_int_eq(ledger_checkpoint(lg, note, sizeof note, &size, &err), ADT_OK);
    ck_assert_uint_eq(size, 3);
    golden("checkpoint-3.txt", note, strlen(note));
    /* A witness cosignature (tlog-cosignature, Ed25519) on that checkpoint,
     * from a fixed witness key at a fixed time. */
    char wdir[4300];
    snprintf(wdir, sizeof wdir, "%s/witness", dir);
    uint8_t wseed[32];
    for (int i = 0; i < 32; i++)
        wseed[i] = (uint8_t)(101 + i);
    ck_assert_int_eq(witness_sqlite_create(wdir, "golden.auditd.example/witness", wseed, &err), ADT_OK);
    witness_sqlite *ws;
    note_signer *wsig;
    ck_assert_int_eq(witness_sqlite_open(wdir, &ws, &err), ADT_OK);
    ck_assert_int_eq(witness_sqlite_signer(ws, wdir, &wsig, &err), ADT_OK);
    cosig_key wk;
    ck_assert_int_eq(cosig_key_make("golden.auditd.example/witness", note_signer_pub(wsig), &wk, &err),
                     ADT_OK);
    char wkl[NOTE_KEYLINE_MAX + 2];
    snprintf(wkl, sizeof wkl, "%s\n", wk.vkey);
    golden("witness-key.txt", wkl, strlen(wkl));
    size_t text_len = (size_t)(strstr(note, "\n\n") - note) + 1;
    char line[COSIG_LINE_MAX], cosigned[NOTE_MAX + COSIG_LINE_MAX];
    ck_assert_int_eq(cosig_sign(wsig, note, text_len, 1782864000, line, sizeof line, &err), ADT_OK);
    snprintf(cosigned, sizeof cosigned, "%s%s", note, line);
    golden("checkpoint-3-cosigned.txt", cosigned, strlen(cosigned));
    /* The golden cosignature checks by hand: key id || u64 BE time || Ed25519
     * over "cosignature/v1\ntime 1782864000\n" + the checkpoint text. */
    const char *b64 = strrchr(line, ' ') + 1;
    uint8_t raw[80];
    size_t rl;
    ck_assert_int_eq(sodium_base642bin(raw, sizeof raw, b64, strlen(b64) - 1, NULL, &rl, NULL,
                                       sodium_base64_VARIANT_ORIGINAL), 0);
    ck_assert_uint_eq(rl, 76);
    ck_assert_mem_eq(raw, wk.id, 4);
    static const uint8_t t_be[8] = {0, 0, 0, 0, 0x6a, 0x44, 0x58, 0x80}; /* 1782864000 */
    ck_assert_mem_eq(raw + 4, t_be, 8);
    char msg[512];
    int ml = snprintf(msg, sizeof msg, "cosignature/v1\ntime 1782864000\n%.*s", (int)text_len, note);
    ck_assert_int_eq(crypto_sign_verify_detached(raw + 12, (uint8_t *)msg, (size_t)ml, wk.pub), 0);
    note_signer_free(wsig);
    witness_sqlite_close(ws);
    ck_assert_int_eq(ledger_checkpoint_at(lg, 0, note, sizeof note, &err), ADT_OK);
    golden("checkpoint-0.txt", note, strlen(note));
    char key[NOTE_KEYLINE_MAX + 2];
    snprintf(key, sizeof key, "%s\n", ledger_key_line(lg));
    golden("key.txt", key, strlen(key));
    merkle_hash h[MERKLE_MAX_PROOF];
    size_t n;
    ck_assert_int_eq(ledger_prove_inclusion(lg, 1, 3, h, &n, &err), ADT_OK);
    proof_json(h, n, &b);
    golden("inclusion-1-3.json", b.data, b.len);
    ck_assert_int_eq(ledger_prove_consistency(lg, 1, 3, h, &n, &err), ADT_OK);
    proof_json(h, n, &b);
    golden("consistency-1-3.json", b.data, b.len);
    buf_free(&b);
    ledger_close(lg);
    ts_rmrf(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("formats");
    tcase_add_test(tc, test_formats);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
