/* Golden files for the formats outside verifiers rely on (LEDGER-CONTRACT.md):
 * exact leaf bytes, the signed checkpoint note, the verifier key line, and
 * proof JSON. The ledger is built from a fixed key seed and a fixed clock, so
 * every byte is reproducible (Ed25519 signatures are deterministic).
 * AUDITD_GOLDEN_UPDATE=1 rewrites the files (review the diff by hand, and
 * check them with an independent verifier, before committing). */
#include "ledger.h"
#include "tsupport.h"

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
