/* test_mqtt.c: telemetry over a real mosquitto broker on 127.0.0.1 (QoS 1,
 * persistent session: messages published while auditd is away arrive after
 * it reconnects) and over HTTP through the real daemon (`auditd serve
 * --mqtt`, agent-signed batches with `auditd agent send --telemetry`). */
#include "ingest.h"
#include "ledger.h"
#include "pipeline.h"
#include "registry.h"
#include "sqldb.h"
#include "tdb.h"
#include "tsupport.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char prof[] =
    "{\"profile\":\"pump\",\"device_type\":\"pump\",\"sampling_interval_s\":60,\"fields\":["
    "{\"name\":\"temp\",\"type\":\"number\",\"unit\":\"K\",\"min\":250,\"max\":400,"
    "\"required\":true},{\"name\":\"rpm\",\"type\":\"integer\",\"min\":0}]}";

static char *dir;
static pid_t broker = -1, tls_broker = -1;
static int mport;
static char url[64];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void start_broker(void)
{
    mport = ts_free_port();
    char conf[1024], text[256];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", dir);
    int n = snprintf(text, sizeof text,
                     "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", mport);
    ck_assert_int_eq(ts_write_file(conf, text, (size_t)n), 0);
    broker = fork();
    ck_assert_int_ge(broker, 0);
    if (broker == 0) {
        char logp[1100];
        snprintf(logp, sizeof logp, "%s/mosquitto.log", dir);
        if (!freopen(logp, "w", stderr) || !freopen(logp, "a", stdout))
            _exit(126);
        execl("/usr/sbin/mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    snprintf(url, sizeof url, "mqtt://127.0.0.1:%d", mport);
    /* wait until it accepts connections */
    mosquitto_lib_init();
    struct mosquitto *m = mosquitto_new(NULL, true, NULL);
    int ok = 0;
    for (int i = 0; i < 100 && !ok; i++) {
        ok = mosquitto_connect(m, "127.0.0.1", mport, 10) == MOSQ_ERR_SUCCESS;
        if (!ok)
            sleep_ms(50);
    }
    if (ok)
        mosquitto_disconnect(m);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    ck_assert_msg(ok, "mosquitto did not start on port %d", mport);
}

static void setup(void)
{
    dir = ts_tmpdir("pl-mqtt");
    start_broker();
    adt_err e;
    ck_assert_int_eq(ledger_init(dir, "test/mqtt", &e), ADT_OK);
    ledger *lg;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &e), ADT_OK);
    evsink s = {.lg = lg};
    sqlite3 *db;
    ck_assert_int_eq(tdb_open(dir, true, &db, &e), ADT_OK);
    registry_put r;
    ck_assert_int_eq(registry_profile_put(db, &s, "t", prof, strlen(prof), &r, &e), ADT_OK);
    registry_device d = {"p-1", "pump", "plant-1", NULL};
    ck_assert_int_eq(registry_devices_put(db, &s, "t", &d, 1, &e), ADT_OK);
    sqldb_close(db);
    ledger_close(lg);
}

static void teardown(void)
{
    if (broker > 0) {
        kill(broker, SIGTERM);
        waitpid(broker, NULL, 0);
        broker = -1;
    }
    if (tls_broker > 0) {
        kill(tls_broker, SIGTERM);
        waitpid(tls_broker, NULL, 0);
        tls_broker = -1;
    }
    ts_rmrf(dir);
    free(dir);
}

/* Publish QoS 1 messages and wait until the broker acknowledged them all. */
static int acked;
static void on_pub(struct mosquitto *m, void *o, int mid)
{
    (void)m;
    (void)o;
    (void)mid;
    __atomic_add_fetch(&acked, 1, __ATOMIC_SEQ_CST);
}

static void publish(const char *const *topics, const char *const *payloads, int n)
{
    mosquitto_lib_init();
    struct mosquitto *m = mosquitto_new(NULL, true, NULL);
    mosquitto_publish_callback_set(m, on_pub);
    ck_assert_int_eq(mosquitto_connect(m, "127.0.0.1", mport, 10), MOSQ_ERR_SUCCESS);
    ck_assert_int_eq(mosquitto_loop_start(m), MOSQ_ERR_SUCCESS);
    acked = 0;
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(mosquitto_publish(m, NULL, topics[i], (int)strlen(payloads[i]),
                                           payloads[i], 1, false),
                         MOSQ_ERR_SUCCESS);
    for (int i = 0; i < 200 && __atomic_load_n(&acked, __ATOMIC_SEQ_CST) < n; i++)
        sleep_ms(25);
    ck_assert_int_eq(__atomic_load_n(&acked, __ATOMIC_SEQ_CST), n);
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
}

/* GET through pipeline_api; returns the parsed body. */
static cJSON *get(pipeline *p, const char *path)
{
    api_request rq = {"GET", path, NULL, 0, NULL, 0, API_ROLE_AUDITOR, "t", NULL, 0, EVENT_WRITER_NONE, 0};
    api_response rs = {0};
    buf_init(&rs.body, 1u << 20);
    ck_assert_int_eq(pipeline_api(p, &rq, &rs), ADT_OK);
    cJSON *j = rs.status == 200 ? cJSON_Parse(rs.body.data) : NULL;
    buf_free(&rs.body);
    return j;
}

static int64_t readings(void)
{
    sqlite3 *db;
    adt_err e;
    ck_assert_int_eq(tdb_open(dir, false, &db, &e), ADT_OK);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM readings", -1, &st, NULL);
    sqlite3_step(st);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqldb_close(db);
    return n;
}

static void wait_readings(int64_t want)
{
    for (int i = 0; i < 400 && readings() < want; i++)
        sleep_ms(25);
    ck_assert_int_eq(readings(), want);
}

START_TEST(mqtt_end_to_end)
{
    pipeline *p;
    adt_err e;
    ck_assert_int_eq(pipeline_open(dir, NULL, &p, &e), ADT_OK);
    char dead[64];
    snprintf(dead, sizeof dead, "mqtt://127.0.0.1:%d", ts_free_port());
    ck_assert_int_eq(pipeline_mqtt_start(p, dead, &e), ADT_EIO); /* nobody listens there */
    ck_assert_int_eq(pipeline_mqtt_start(p, "http://x", &e), ADT_EINVAL);
    ck_assert_int_eq(pipeline_mqtt_start(p, url, &e), ADT_OK);
    sleep_ms(200); /* subscription in place */
    const char *topics[] = {"site/plant-1/device/p-1/telemetry",
                            "site/plant-1/device/p-1/telemetry",
                            "site/plant-1/device/p-7/telemetry"};
    const char *payloads[] = {
        "{\"time\":\"2026-07-01T00:00:00Z\",\"values\":{\"temp\":300,\"rpm\":10}}\n"
        "{\"time\":\"2026-07-01T00:01:00Z\",\"values\":{\"temp\":301}}\n",
        "{\"device\":\"p-1\",\"time\":\"2026-07-01T00:02:00Z\",\"values\":{\"temp\":900}}",
        "{\"time\":\"2026-07-01T00:03:00Z\",\"values\":{\"temp\":300}}"};
    publish(topics, payloads, 3);
    wait_readings(2);
    /* quarantine: the range violation and the unknown device, both kept */
    cJSON *q = NULL;
    for (int i = 0; i < 200; i++) {
        cJSON_Delete(q);
        q = get(p, "/v1/quarantine");
        if (cJSON_GetArraySize(q) == 2)
            break;
        sleep_ms(25);
    }
    ck_assert_int_eq(cJSON_GetArraySize(q), 2);
    int range = 0, unknown = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, q)
    {
        const char *r = cJSON_GetStringValue(cJSON_GetObjectItem(it, "reason"));
        range += !strcmp(r, "range");
        unknown += !strcmp(r, "unknown_device");
        if (!strcmp(r, "unknown_device"))
            ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(it, "device")), "p-7");
    }
    ck_assert_int_eq(range, 1);
    ck_assert_int_eq(unknown, 1);
    cJSON_Delete(q);
    cJSON *d = get(p, "/v1/devices/p-1");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(d, "last_seen")),
                     "2026-07-01T00:01:00.000000Z");
    cJSON_Delete(d);
    ck_assert_ptr_null(get(p, "/v1/devices/none"));

    /* persistent session: published while auditd is away, stored after it is back */
    pipeline_mqtt_stop(p);
    const char *t2[] = {"site/plant-1/device/p-1/telemetry"};
    const char *p2[] = {"{\"time\":\"2026-07-01T00:05:00Z\",\"values\":{\"temp\":305}}"};
    publish(t2, p2, 1);
    sleep_ms(100);
    ck_assert_int_eq(readings(), 2);
    ck_assert_int_eq(pipeline_mqtt_start(p, url, &e), ADT_OK);
    wait_readings(3);
    pipeline_close(p);

    /* the batches are in the ledger with the MQTT actor */
    ledger *lg;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &e), ADT_OK);
    uint64_t size;
    ck_assert_int_eq(ledger_size(lg, &size, &e), ADT_OK);
    int batches = 0;
    for (uint64_t i = 0; i < size; i++) {
        buf b;
        buf_init(&b, LEDGER_MAX_LEAF);
        ck_assert_int_eq(ledger_entry(lg, i, &b, &e), ADT_OK);
        if (strstr(b.data, "\"type\":\"telemetry.batch\"")) {
            batches++;
            ck_assert_ptr_nonnull(strstr(b.data, "\"actor\":\"mqtt:plant-1/p-"));
        }
        buf_free(&b);
    }
    ck_assert_int_eq(batches, 4);
    ledger_close(lg);
}
END_TEST


START_TEST(http_and_mqtt_through_the_daemon)
{
    char key[1100], spool[1100];
    snprintf(key, sizeof key, "%s/gw.key", dir);
    snprintf(spool, sizeof spool, "%s/spool", dir);
    const char *add[] = {"agent", "add", "gw-1", "--role", "edge", "--key-out", key,
                         "--data-dir", dir, NULL};
    char *err = NULL;
    ck_assert_msg(ts_run(NULL, 0, NULL, &err, add) == 0, "agent add: %s", err);
    free(err);
    int port = ts_free_port();
    const char *extra[] = {"--mqtt", url, NULL};
    pid_t d = ts_daemon_start(dir, port, extra, 20000);
    ck_assert_int_gt(d, 0);
    char server[64];
    snprintf(server, sizeof server, "http://127.0.0.1:%d", port);
    const char *lines = "{\"device\":\"p-1\",\"time\":\"2026-07-02T00:00:00Z\",\"values\":"
                        "{\"temp\":300}}\n"
                        "{\"device\":\"p-1\",\"time\":\"2026-07-02T00:01:00Z\",\"values\":"
                        "{\"temp\":\"x\"}}\n";
    const char *send[] = {"agent", "send", "--server", server, "--name", "gw-1", "--key", key,
                          "--spool", spool, "--telemetry", NULL};
    ck_assert_msg(ts_run(lines, strlen(lines), NULL, &err, send) == 0, "agent send: %s", err);
    free(err);
    ck_assert_int_eq(readings(), 1);
    const char *topics[] = {"site/plant-1/device/p-1/telemetry"};
    const char *payloads[] = {"{\"time\":\"2026-07-02T00:02:00Z\",\"values\":{\"temp\":301}}"};
    publish(topics, payloads, 1);
    wait_readings(2);
    /* reading endpoints need a reader token */
    const char *tok[] = {"token", "create", "--role", "auditor", "--data-dir", dir, NULL};
    char *out = NULL;
    ck_assert_int_eq(ts_run(NULL, 0, &out, NULL, tok), 0);
    char *t = strstr(out, "adt_");
    ck_assert_ptr_nonnull(t);
    t[strcspn(t, " \r\n")] = 0;
    char auth[512];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", t);
    const char *h[] = {auth, NULL};
    ts_http r;
    ck_assert_int_eq(ts_http_req(port, "GET", "/v1/devices", h, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(r.body);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0),
                                                              "last_seen")),
                     "2026-07-02T00:02:00.000000Z");
    cJSON_Delete(j);
    ts_http_free(&r);
    ck_assert_int_eq(ts_http_req(port, "GET", "/v1/quarantine", h, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"reason\":\"type\""));
    ts_http_free(&r);
    ck_assert_int_eq(ts_http_req(port, "GET", "/v1/devices", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 401);
    ts_http_free(&r);
    free(out);
    ck_assert_int_eq(ts_daemon_stop(d, SIGTERM), 0);
}
END_TEST

/* ---- MQTT over TLS --------------------------------------------------------- */

/* Run a program quietly; its exit status. */
static int quiet(const char *const *argv)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A CA `name` (name.pem, name.key) and, signed by it, a certificate for
 * 127.0.0.1 (name-srv.pem, name-srv.key) in `d`. */
static void make_ca(const char *d, const char *name)
{
    char ca[1100], cakey[1100], key[1100], csr[1100], crt[1100], ext[1100];
    snprintf(ca, sizeof ca, "%s/%s.pem", d, name);
    snprintf(cakey, sizeof cakey, "%s/%s.key", d, name);
    snprintf(key, sizeof key, "%s/%s-srv.key", d, name);
    snprintf(csr, sizeof csr, "%s/%s-srv.csr", d, name);
    snprintf(crt, sizeof crt, "%s/%s-srv.pem", d, name);
    snprintf(ext, sizeof ext, "%s/ext.cnf", d);
    const char *e = "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n";
    ck_assert_int_eq(ts_write_file(ext, e, strlen(e)), 0);
    const char *a[] = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                       cakey, "-out", ca, "-days", "2", "-subj", "/CN=test CA", NULL};
    ck_assert_int_eq(quiet(a), 0);
    const char *b[] = {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
                       csr, "-subj", "/CN=127.0.0.1", NULL};
    ck_assert_int_eq(quiet(b), 0);
    const char *c[] = {"openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
                       "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext, NULL};
    ck_assert_int_eq(quiet(c), 0);
}

static int tls_port;

/* mosquitto with one TLS listener on 127.0.0.1, its certificate from CA "good". */
static void start_tls_broker(void)
{
    char conf[1100], text[2048], d[1024];
    snprintf(d, sizeof d, "%s", dir);
    make_ca(d, "good");
    make_ca(d, "rogue");
    tls_port = ts_free_port();
    struct passwd *pw = getpwuid(getuid());
    snprintf(conf, sizeof conf, "%s/tls.conf", d);
    int n = snprintf(text, sizeof text,
                     "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                     "cafile %s/good.pem\ncertfile %s/good-srv.pem\nkeyfile %s/good-srv.key\n"
                     "tls_version tlsv1.2\nuser %s\n",
                     tls_port, d, d, d, pw ? pw->pw_name : "root");
    ck_assert_int_eq(ts_write_file(conf, text, (size_t)n), 0);
    tls_broker = fork();
    ck_assert_int_ge(tls_broker, 0);
    if (tls_broker == 0) {
        char logp[1100];
        snprintf(logp, sizeof logp, "%s/mosquitto-tls.log", d);
        if (!freopen(logp, "w", stderr) || !freopen(logp, "a", stdout))
            _exit(126);
        execl("/usr/sbin/mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    /* ready when a plain TCP connection is accepted */
    int ok = 0;
    for (int i = 0; i < 100 && !ok; i++) {
        char url2[64];
        snprintf(url2, sizeof url2, "%d", tls_port);
        mosquitto_lib_init();
        struct mosquitto *m = mosquitto_new(NULL, true, NULL);
        char ca[1100];
        snprintf(ca, sizeof ca, "%s/good.pem", d);
        mosquitto_tls_set(m, ca, NULL, NULL, NULL, NULL);
        ok = mosquitto_connect(m, "127.0.0.1", tls_port, 10) == MOSQ_ERR_SUCCESS;
        if (ok)
            mosquitto_disconnect(m);
        mosquitto_destroy(m);
        mosquitto_lib_cleanup();
        if (!ok)
            sleep_ms(50);
    }
    ck_assert_msg(ok, "mosquitto with TLS did not start on port %d", tls_port);
}

START_TEST(mqtt_over_tls)
{
    start_tls_broker();
    char good[1100], rogue[1100], u[96], plain[96];
    snprintf(good, sizeof good, "%s/good.pem", dir);
    snprintf(rogue, sizeof rogue, "%s/rogue.pem", dir);
    snprintf(u, sizeof u, "mqtts://127.0.0.1:%d", tls_port);
    snprintf(plain, sizeof plain, "mqtt://127.0.0.1:%d", tls_port);
    pipeline *p;
    adt_err e;
    ck_assert_int_eq(pipeline_open(dir, NULL, &p, &e), ADT_OK);
    /* mqtts needs the CA; TLS files on a plain URL are refused; the pair goes together */
    ck_assert_int_eq(pipeline_mqtt_start_tls(p, u, NULL, NULL, NULL, &e), ADT_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "--mqtt-ca"));
    ck_assert_int_eq(pipeline_mqtt_start_tls(p, plain, good, NULL, NULL, &e), ADT_EINVAL);
    ck_assert_int_eq(pipeline_mqtt_start_tls(p, u, good, good, NULL, &e), ADT_EINVAL);
    /* a broker whose certificate another CA signed is not trusted */
    ck_assert_int_ne(pipeline_mqtt_start_tls(p, u, rogue, NULL, NULL, &e), ADT_OK);
    /* the right CA: subscribed over TLS, a message is stored */
    ck_assert_msg(pipeline_mqtt_start_tls(p, u, good, NULL, NULL, &e) == ADT_OK, "%s", e.msg);
    sleep_ms(200);
    mosquitto_lib_init();
    struct mosquitto *m = mosquitto_new(NULL, true, NULL);
    mosquitto_publish_callback_set(m, on_pub);
    ck_assert_int_eq(mosquitto_tls_set(m, good, NULL, NULL, NULL, NULL), MOSQ_ERR_SUCCESS);
    ck_assert_int_eq(mosquitto_connect(m, "127.0.0.1", tls_port, 10), MOSQ_ERR_SUCCESS);
    ck_assert_int_eq(mosquitto_loop_start(m), MOSQ_ERR_SUCCESS);
    acked = 0;
    const char *msg = "{\"time\":\"2026-07-01T00:00:00Z\",\"values\":{\"temp\":300}}";
    ck_assert_int_eq(mosquitto_publish(m, NULL, "site/plant-1/device/p-1/telemetry",
                                       (int)strlen(msg), msg, 1, false),
                     MOSQ_ERR_SUCCESS);
    for (int i = 0; i < 200 && __atomic_load_n(&acked, __ATOMIC_SEQ_CST) < 1; i++)
        sleep_ms(25);
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    wait_readings(1);
    pipeline_mqtt_stop(p);
    pipeline_close(p);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("mqtt");
    TCase *tc = tcase_create("mqtt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, mqtt_end_to_end);
    tcase_add_test(tc, http_and_mqtt_through_the_daemon);
    tcase_add_test(tc, mqtt_over_tls);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
