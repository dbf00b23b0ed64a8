/* Unit tests: agent signature header and message, batch parsing and
 * validation, configuration parsing. */
#include "agentsig.h"
#include "canon.h"
#include "evbatch.h"
#include "srvcfg.h"

#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

START_TEST(test_sig_roundtrip)
{
    ck_assert_int_ge(sodium_init(), 0);
    uint8_t pk[32], sk[64], bh[32];
    crypto_sign_keypair(pk, sk);
    crypto_hash_sha256(bh, (const unsigned char *)"body", 4);
    agentsig_hdr h = {.ts = 1764000000, .seq = 42};
    strcpy(h.name, "gw-1");
    adt_err err;
    ck_assert_int_eq(agentsig_sign(&h, "POST", "/v1/events", bh, sk, &err), ADT_OK);
    char hdr[AGENTSIG_HDR_MAX];
    ck_assert_int_eq(agentsig_format(&h, hdr, sizeof hdr), ADT_OK);
    agentsig_hdr p;
    ck_assert_int_eq(agentsig_parse(hdr, strlen(hdr), &p, &err), ADT_OK);
    ck_assert_str_eq(p.name, "gw-1");
    ck_assert_int_eq(p.seq, 42);
    ck_assert_int_eq(p.ts, 1764000000);
    ck_assert_int_eq(agentsig_verify(&p, "POST", "/v1/events", bh, pk, &err), ADT_OK);
    /* Any change to what is covered breaks it. */
    ck_assert_int_eq(agentsig_verify(&p, "POST", "/v1/telemetry", bh, pk, &err), ADT_EAUTH);
    p.seq = 43;
    ck_assert_int_eq(agentsig_verify(&p, "POST", "/v1/events", bh, pk, &err), ADT_EAUTH);
    /* The leaf record is canonical JSON and verifies offline. */
    buf j;
    buf_init(&j, 4096);
    ck_assert_int_eq(agentsig_json(&j, &h, pk, "POST", "/v1/events", bh), ADT_OK);
    buf c;
    buf_init(&c, 8192);
    ck_assert_int_eq(canon_json(j.data, j.len, NULL, true, &c, &err), ADT_OK);
    ck_assert_str_eq(c.data, j.data);
    uint8_t got[32];
    uint64_t seq = 0;
    ck_assert_int_eq(agentsig_verify_record(j.data, j.len, pk, got, &seq, &err), ADT_OK);
    ck_assert_int_eq(seq, 42);
    ck_assert_mem_eq(got, bh, 32);
    buf_free(&j);
    buf_free(&c);
}
END_TEST

START_TEST(test_sig_parse_errors)
{
    static const char *const bad[] = {
        "Bearer abc",
        "AuditdAgent name=a,ts=1,seq=1",
        "AuditdAgent name=a,ts=1,seq=1,sig=AAAA",
        "AuditdAgent name=a,ts=x,seq=1,sig=AAAA",
        "AuditdAgent name=a b,ts=1,seq=1,sig=AAAA",
        "AuditdAgent name=a,name=b,ts=1,seq=1",
        "AuditdAgent name=a,ts=1,seq=0,sig=AAAA",
        "AuditdAgent name=a,ts=1,seq=1,sig=AAAA,",
        "AuditdAgent foo=1",
        "AuditdAgent ",
        NULL};
    for (int i = 0; bad[i]; i++) {
        agentsig_hdr h;
        adt_err err;
        ck_assert_msg(agentsig_parse(bad[i], strlen(bad[i]), &h, &err) == ADT_EAUTH, "accepted: %s",
                      bad[i]);
    }
}
END_TEST

START_TEST(test_batch)
{
    evbatch b;
    adt_err err;
    const char *one = "{ \"type\": \"incident.open\", \"time\": \"2026-07-01T08:00:00Z\",\n"
                      "  \"actor\": \"alice\", \"incident_id\": \"I-1\" }";
    ck_assert_int_eq(evbatch_parse(one, strlen(one), NULL, &b, &err), ADT_OK);
    ck_assert_int_eq(b.n, 1);
    ck_assert_str_eq(b.types[0], "incident.open");
    evbatch_free(&b);
    const char *nd = "{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}\n\n"
                     "{\"type\":\"x-acme.thing\",\"time\":\"2026-07-01T08:00:01Z\",\"actor\":\"b\"}\n";
    ck_assert_int_eq(evbatch_parse(nd, strlen(nd), NULL, &b, &err), ADT_OK);
    ck_assert_int_eq(b.n, 2);
    ck_assert_int_eq(evbatch_items(&b, "gw", EVENT_WRITER_EDGE, NULL, 0), ADT_OK);
    ck_assert_str_eq(b.items[1].type, "x-acme.thing");
    evbatch_free(&b);
    const char *bad2 = "{\"type\":\"alert.ack\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}\n"
                       "{\"type\":\"alert.ack\",\"time\":\"yesterday\",\"actor\":\"a\"}\n";
    ck_assert_int_eq(evbatch_parse(bad2, strlen(bad2), NULL, &b, &err), ADT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "event 2 (line 2)"));
    /* Who may write what: parsing accepts any vocabulary type; the writer
     * check names the first event the sender's role may not write. */
    const char *res = "{\"type\":\"incident.open\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}\n"
                      "{\"type\":\"ledger.verify\",\"time\":\"2026-07-01T08:00:00Z\",\"actor\":\"a\"}\n";
    ck_assert_int_eq(evbatch_parse(res, strlen(res), NULL, &b, &err), ADT_OK);
    size_t bad = 99;
    ck_assert(!evbatch_writer_check(&b, EVENT_WRITER_EDGE, &bad));
    ck_assert_int_eq(bad, 1);
    ck_assert(!evbatch_writer_check(&b, EVENT_WRITER_PLATFORM, &bad));
    ck_assert(!evbatch_writer_check(&b, EVENT_WRITER_NONE, &bad));
    ck_assert_int_eq(bad, 0);
    evbatch_free(&b);
    evbatch_limits lim = {1, 1 << 20};
    ck_assert_int_eq(evbatch_parse(nd, strlen(nd), &lim, &b, &err), ADT_ETOOBIG);
    ck_assert_int_eq(evbatch_parse("", 0, NULL, &b, &err), ADT_EINVAL);
}
END_TEST

START_TEST(test_config)
{
    srvcfg c;
    srvcfg_defaults(&c);
    adt_err err;
    const char *good = "# comment\nlisten = 127.0.0.1:9000\n\nqueue_max_events = 50\nlog_level=debug\n";
    ck_assert_int_eq(srvcfg_parse(&c, good, strlen(good), "a.conf", &err), ADT_OK);
    ck_assert_str_eq(c.listen, "127.0.0.1:9000");
    ck_assert_int_eq(c.queue_max_events, 50);
    ck_assert_int_eq(c.log_level, 3);
    const char *bad = "listen = 127.0.0.1:9000\nqueue_max_events = lots\n";
    ck_assert_int_eq(srvcfg_parse(&c, bad, strlen(bad), "b.conf", &err), ADT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "b.conf:2"));
    const char *unk = "colour = blue\n";
    ck_assert_int_eq(srvcfg_parse(&c, unk, strlen(unk), "c.conf", &err), ADT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "c.conf:1"));
    const char *twice = "threads = 2\nthreads = 3\n";
    ck_assert_int_eq(srvcfg_parse(&c, twice, strlen(twice), "d.conf", &err), ADT_EINVAL);
    /* The plain-HTTP rule. */
    srvcfg_defaults(&c);
    strcpy(c.listen, "0.0.0.0:8080");
    ck_assert_int_eq(srvcfg_check(&c, &err), ADT_EINVAL);
    c.allow_plain_http = true;
    ck_assert_int_eq(srvcfg_check(&c, &err), ADT_OK);
    strcpy(c.listen, "[::1]:8080");
    c.allow_plain_http = false;
    ck_assert_int_eq(srvcfg_check(&c, &err), ADT_OK);
    strcpy(c.listen, "127.0.0.2:80");
    ck_assert_int_eq(srvcfg_check(&c, &err), ADT_OK);
    strcpy(c.tls_cert, "c.pem");
    ck_assert_int_eq(srvcfg_check(&c, &err), ADT_EINVAL); /* key missing */
    /* Hostile-network settings: defaults, and a body limit no request could meet. */
    srvcfg_defaults(&c);
    ck_assert_int_eq(c.max_connections_per_ip, 64);
    ck_assert_int_eq(c.header_timeout_seconds, 10);
    ck_assert_int_eq(c.max_body_memory, 64u << 20);
    ck_assert_int_eq(c.verify_interval_seconds, 86400);
    const char *mem = "max_body_bytes = 4194304\nmax_body_memory = 2097152\n";
    ck_assert_int_eq(srvcfg_parse(&c, mem, strlen(mem), "e.conf", &err), ADT_OK);
    ck_assert_int_eq(srvcfg_check(&c, &err), ADT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "max_body_memory"));
    const char *zero = "header_timeout_seconds = 0\n";
    ck_assert_int_eq(srvcfg_parse(&c, zero, strlen(zero), "f.conf", &err), ADT_EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server_units");
    TCase *tc = tcase_create("units");
    tcase_add_test(tc, test_sig_roundtrip);
    tcase_add_test(tc, test_sig_parse_errors);
    tcase_add_test(tc, test_batch);
    tcase_add_test(tc, test_config);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
