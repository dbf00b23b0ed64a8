/* bench_enterprise: the enterprise report over SITES sites x one quarter from
 * their rollups (issue 13's target: < 5 s for 20 sites), next to a baseline
 * measured in the same run: a bare read of the same data (one SQL pass that
 * sums every rollup row of the quarter and of the baseline quarter, and
 * reads every shipped batch body).
 *
 *   bench_enterprise [SITES (20)] [DEVICES per site (10)] [ENTRIES per site (20000)]
 *                    [FINDINGS per site (40)]
 *
 * Starts its own PostgreSQL cluster (scripts/pgtmp.sh, fsync on) and fills it
 * as the centre would have: per site, ENTRIES mirrored entries with their tree
 * nodes (cstore_stream_append), a checkpoint signed by the site and cosigned
 * by the witness, a kpi-inputs and a controls batch (FINDINGS findings, each
 * citing an entry) and the hourly rollups of DEVICES devices over 2026-Q2 and
 * 2026-Q3. Then times ereport_compute (gathering, proofs, KPIs) and the
 * renderings. */
#include "cosig.h"
#include "cstore.h"
#include "cwitness.h"
#include "ereport.h"
#include "kpi.h"
#include "merkle.h"
#include "note.h"

#include "bench_util.h"

#include <errno.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PGTMP AUDITD_SOURCE_DIR "/scripts/pgtmp.sh"

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_enterprise: %s: %s\n", what, msg);
    exit(1);
}

static void sql(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        die(q, PQresultErrorMessage(r));
    PQclear(r);
}

typedef struct nodes {
    cstore_node *n;
    size_t len, cap;
} nodes;

static int keep_node(void *ctx, int level, uint64_t index, const merkle_hash h)
{
    nodes *ns = ctx;
    if (level < CSTORE_NODE_MIN_LEVEL)
        return 0;
    if (ns->len == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 4096;
        ns->n = realloc(ns->n, ns->cap * sizeof *ns->n);
        if (!ns->n)
            die("memory", "out of memory");
    }
    ns->n[ns->len].level = level;
    ns->n[ns->len].index = index;
    memcpy(ns->n[ns->len].hash, h, 32);
    ns->len++;
    return 0;
}

/* One site as the centre holds it after mirroring, witnessing and fetching. */
static void make_site(cstore *cs, PGconn *pg, int s, int devices, uint64_t entries, int findings,
                      const char *dir, const note_signer *wit)
{
    char origin[64], kpath[300], keyline[NOTE_KEYLINE_MAX];
    snprintf(origin, sizeof origin, "site-%02d.example/log", s);
    snprintf(kpath, sizeof kpath, "%s/site-%02d.key", dir, s);
    uint8_t pub[32];
    adt_err err = {0};
    note_signer *signer = NULL;
    if (note_keygen(kpath, pub, &err) || note_signer_load(kpath, origin, &signer, &err) ||
        note_key_line(origin, pub, keyline, sizeof keyline))
        die("site key", err.msg);
    cstore_site site;
    if (cstore_site_add(cs, keyline, "http://127.0.0.1:9", "bench-token", "bench", &site, &err))
        die("site add", err.msg);
    /* entries and their tree */
    char (*leaf)[160] = malloc(8192 * sizeof *leaf);
    size_t *off = malloc(8192 * sizeof *off), *len = malloc(8192 * sizeof *len);
    merkle_hash *hs = malloc(8192 * sizeof *hs);
    char *data = malloc(8192 * 160);
    merkle_frontier f;
    merkle_frontier_init(&f);
    /* first the whole tree's root, for the checkpoint the entries are proven against */
    for (uint64_t i = 0; i < entries; i++) {
        char l[160];
        int n = snprintf(l, sizeof l, "{\"payload\":{\"i\":%llu,\"site\":%d},\"seq\":%llu,"
                         "\"type\":\"x-bench\"}", (unsigned long long)i, s, (unsigned long long)i);
        merkle_hash h;
        merkle_leaf_hash(l, (size_t)n, h);
        merkle_frontier_push(&f, h, NULL, NULL);
    }
    merkle_hash root;
    merkle_frontier_root(&f, root);
    char note[NOTE_MAX];
    if (note_sign_checkpoint(signer, entries, root, note, sizeof note, &err))
        die("sign", err.msg);
    cstore_stream st;
    if (cstore_stream_load(cs, site.id, &st, &err) ||
        cstore_stream_advance(cs, &st, entries, root, note, &err))
        die("advance", err.msg);
    uint64_t done = 0;
    nodes ns = {0};
    while (done < entries) {
        size_t k = entries - done > 8192 ? 8192 : (size_t)(entries - done);
        merkle_frontier nf = st.frontier;
        ns.len = 0;
        size_t at = 0;
        for (size_t i = 0; i < k; i++) {
            uint64_t idx = done + i;
            int n = snprintf(data + at, 160, "{\"payload\":{\"i\":%llu,\"site\":%d},\"seq\":%llu,"
                             "\"type\":\"x-bench\"}", (unsigned long long)idx, s,
                             (unsigned long long)idx);
            off[i] = at;
            len[i] = (size_t)n;
            at += (size_t)n;
            merkle_leaf_hash(data + off[i], len[i], hs[i]);
            merkle_frontier_push(&nf, hs[i], keep_node, &ns);
        }
        if (cstore_stream_append(cs, &st, data, off, len, hs, k, ns.n, ns.len, &nf, NULL, NULL,
                                 &err))
            die("append", err.msg);
        done += k;
    }
    free(ns.n);
    free(leaf);
    free(off);
    free(len);
    free(hs);
    free(data);
    /* cosigned by the centre */
    char line[COSIG_LINE_MAX];
    size_t tl = strstr(note, "\n\n") - note + 1;
    if (cosig_sign(wit, note, tl, 1790000000, line, sizeof line, &err))
        die("cosign", err.msg);
    char cosigned[NOTE_MAX + COSIG_LINE_MAX];
    snprintf(cosigned, sizeof cosigned, "%s%s", note, line);
    char id[24], sz[24];
    snprintf(id, sizeof id, "%lld", (long long)site.id);
    snprintf(sz, sizeof sz, "%llu", (unsigned long long)entries);
    const char *v[4] = {id, sz, (const char *)root, cosigned};
    int lens[4] = {0, 0, 32, 0}, fmts[4] = {0, 0, 1, 0};
    PGresult *r = PQexecParams(pg,
                               "INSERT INTO auditd_central.cosigned (site_id, size, root, note)"
                               " VALUES ($1, $2, $3, $4)",
                               4, NULL, v, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die("cosigned", PQresultErrorMessage(r));
    PQclear(r);
    /* the batches */
    kpi_inputs in;
    memset(&in, 0, sizeof in);
    in.has_time_model = in.has_incidents = in.has_controls = in.has_telemetry = true;
    in.pbt_s = 2000000 + 1000.0 * s;
    in.apt_s = 1800000 + 900.0 * s;
    in.adot_s = 90000;
    in.failures = 40 + (uint64_t)s;
    in.restorations = 40;
    in.ttr_s = 200000;
    in.incidents_opened = 12;
    in.acked = in.resolved = 12;
    in.ack_s_sum = 20000;
    in.resolve_s_sum = 90000;
    in.sla_due = in.sla_met = 12;
    in.received = 900000;
    in.quarantined = 1200;
    in.controls_in_scope = 120;
    in.controls_with_rules = 45;
    in.controls_satisfied = 30;
    in.controls_not_satisfied = 15;
    buf b;
    buf_init(&b, 8u << 20);
    buf_printf(&b, "{\"format\":\"auditd-shipment/1\",\"kind\":\"kpi-inputs\",\"site\":\"site-%02d\","
               "\"period\":{\"label\":\"2026-Q3\",\"from\":\"2026-07-01\",\"to\":\"2026-09-30\"},"
               "\"previous_period\":{\"label\":\"2026-Q2\",\"from\":\"2026-04-01\",\"to\":"
               "\"2026-06-30\"},\"baseline_period\":{\"label\":\"2026-Q2\",\"from\":\"2026-04-01\","
               "\"to\":\"2026-06-30\"},\"kpi_definitions\":\"bench\",\"params\":{\"ideal_cycle_s\":"
               "1500,\"planned_hours\":null},\"inputs\":{\"current\":",
               s);
    kpi_inputs_json(&in, &b);
    buf_puts(&b, ",\"previous\":");
    kpi_inputs_json(&in, &b);
    buf_puts(&b, ",\"baseline\":");
    kpi_inputs_json(&in, &b);
    buf_puts(&b, "},\"weeks\":[],\"work_units\":[");
    for (int d = 0; d < devices; d++)
        buf_printf(&b, "%s\"dev-%d\"", d ? "," : "", d);
    buf_puts(&b, "],\"owners\":[]}");
    buf c;
    buf_init(&c, 8u << 20);
    buf_puts(&c, "{\"format\":\"auditd-shipment/1\",\"kind\":\"controls\",\"period\":{\"label\":"
                 "\"2026-Q3\",\"from\":\"2026-07-01\",\"to\":\"2026-09-30\"},\"evaluated\":true,"
                 "\"problem\":null,\"posture\":[{\"framework\":\"iso27001\",\"in_scope\":93,"
                 "\"with_rules\":35,\"satisfied\":20,\"not_satisfied\":10,\"no_evidence\":5},"
                 "{\"framework\":\"nist80053\",\"in_scope\":27,\"with_rules\":10,\"satisfied\":10,"
                 "\"not_satisfied\":5,\"no_evidence\":0}],\"findings\":[");
    for (int i = 0; i < findings; i++)
        buf_printf(&c, "%s{\"framework\":\"iso27001\",\"control\":\"A.5.%d\",\"severity\":\"%s\","
                   "\"rule\":\"rule-%d\",\"title\":\"A rule\",\"owner\":\"owner-%d\",\"message\":"
                   "\"finding %d of site %d\",\"time\":null,\"index\":%llu}",
                   i ? "," : "", i % 37, i % 3 ? "medium" : "high", i, i % 5, i, s,
                   (unsigned long long)((uint64_t)i * 7919 % (entries - 2)));
    buf_puts(&c, "]}");
    const buf *bodies[2] = {&b, &c};
    const char *kinds[2] = {"kpi-inputs", "controls"};
    for (int i = 0; i < 2; i++) {
        char ix[24], bytes[24];
        uint8_t h[32];
        crypto_hash_sha256(h, (const uint8_t *)bodies[i]->data, bodies[i]->len);
        snprintf(ix, sizeof ix, "%llu", (unsigned long long)(entries - 2 + (uint64_t)i));
        snprintf(bytes, sizeof bytes, "%zu", bodies[i]->len);
        const char *sv[6] = {id, ix, kinds[i], (const char *)h, bytes, bodies[i]->data};
        int sl[6] = {0, 0, 0, 32, 0, (int)bodies[i]->len}, sf[6] = {0, 0, 0, 1, 0, 1};
        r = PQexecParams(pg,
                         "INSERT INTO auditd_central.shipments (site_id, idx, kind, period, sha256,"
                         " bytes, recorded_at, body, fetched_at) VALUES ($1, $2, $3, '2026-Q3', $4,"
                         " $5, '2026-10-01T06:00:00Z', $6, now())",
                         6, NULL, sv, sl, sf, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            die("shipment", PQresultErrorMessage(r));
        PQclear(r);
    }
    buf_free(&b);
    buf_free(&c);
    /* hourly rollups of both quarters */
    char q[1600];
    snprintf(q, sizeof q,
             "INSERT INTO auditd_central.rollups SELECT %lld, h, 'dev-' || d, 60, 3600,"
             " 2900 + (d * 37 + extract(hour FROM h)::int * 11) %% 500, 300, 100,"
             " 4.5 + d * 0.01, 2 + (d %% 3), 1.9 + (d %% 3), NULL, NULL, 60, (d + extract(hour"
             " FROM h)::int) %% 2, 1 FROM generate_series('2026-04-01'::timestamptz,"
             " '2026-09-30 23:00'::timestamptz, '1 hour') h, generate_series(0, %d) d;"
             "INSERT INTO auditd_central.rollup_predictions SELECT %lld, h, 'dev-' || d,"
             " 'failure-predictor', '1', 60, 2, 1, 1, 0, 58, 1 FROM generate_series("
             "'2026-07-02'::timestamptz, '2026-09-30 23:00'::timestamptz, '1 hour') h,"
             " generate_series(0, %d) d",
             (long long)site.id, devices - 1, (long long)site.id, devices - 1);
    sql(pg, q);
    note_signer_free(signer);
}

int main(int argc, char **argv)
{
    int nsites = argc > 1 ? atoi(argv[1]) : 20;
    int devices = argc > 2 ? atoi(argv[2]) : 10;
    uint64_t entries = argc > 3 ? strtoull(argv[3], NULL, 10) : 20000;
    int findings = argc > 4 ? atoi(argv[4]) : 40;
    if (nsites < 1 || nsites > 200 || devices < 1 || devices > 500 || entries < 100 ||
        findings < 0 || findings > 5000)
        die("usage", "bench_enterprise [SITES 1..200] [DEVICES 1..500] [ENTRIES>=100] "
                     "[FINDINGS 0..5000]");
    if (sodium_init() < 0)
        die("sodium", "init failed");
    char root[128], pgdir[200], cmd[600], db[512] = "";
    snprintf(root, sizeof root, "/tmp/auditd-bench-enterprise-%ld", (long)getpid());
    if (mkdir(root, 0700))
        die("mkdir", strerror(errno));
    snprintf(pgdir, sizeof pgdir, "/tmp/auditd-bench-enterprise-pg-%ld", (long)getpid());
    snprintf(cmd, sizeof cmd, "'%s' start '%s' --owner-pid %ld", PGTMP, pgdir, (long)getpid());
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(db, sizeof db, p))
        die("PostgreSQL", "scripts/pgtmp.sh start failed");
    pclose(p);
    db[strcspn(db, "\n")] = '\0';
    adt_err err = {0};
    cstore *cs = NULL;
    int from = 0, to = 0;
    if (cstore_open(db, "bench", CSTORE_NO_SCHEMA_CHECK, &cs, &err) ||
        cstore_migrate(cs, &from, &to, &err))
        die("central init", err.msg);
    char wkey[300], vkey[NOTE_KEYLINE_MAX];
    snprintf(wkey, sizeof wkey, "%s/witness.key", root);
    if (cwitness_init(cs, "bench.example/witness", wkey, "bench", vkey, sizeof vkey, &err))
        die("witness", err.msg);
    note_signer *wit = NULL;
    if (note_signer_load(wkey, "bench.example/witness", &wit, &err))
        die("witness key", err.msg);
    PGconn *pg = PQconnectdb(db);
    if (PQstatus(pg) != CONNECTION_OK)
        die("connect", PQerrorMessage(pg));
    printf("bench_enterprise: %d sites x %d devices, 2026-Q2 and 2026-Q3 hourly rollups "
           "(%d rows per site), %llu mirrored entries and %d findings per site; PostgreSQL 15 "
           "beside it (fsync on); %ld CPUs\n",
           nsites, devices, 2 * 24 * 183 * devices, (unsigned long long)entries, findings,
           sysconf(_SC_NPROCESSORS_ONLN));
    double t0 = bench_now_s();
    for (int s = 1; s <= nsites; s++)
        make_site(cs, pg, s, devices, entries, findings, root, wit);
    sql(pg, "ANALYZE");
    printf("  filled in %.1f s\n", bench_now_s() - t0);

    /* Baseline: the bare read of the same data. */
    double c0 = bench_cpu_s(), w0 = bench_now_s();
    PGresult *r = PQexec(pg, "SELECT site_id, date_trunc('quarter', hour), sum(readings),"
                             " sum(running_s), sum(idle_s), sum(down_s), sum(energy_kwh),"
                             " sum(produced), sum(good), sum(labelled), sum(failures)"
                             " FROM auditd_central.rollups GROUP BY 1, 2");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        die("baseline", PQresultErrorMessage(r));
    PQclear(r);
    r = PQexec(pg, "SELECT site_id, sum(tp), sum(fp) FROM auditd_central.rollup_predictions"
                   " GROUP BY 1");
    PQclear(r);
    r = PQexec(pg, "SELECT body FROM auditd_central.shipments");
    size_t bytes = 0;
    for (int i = 0; i < PQntuples(r); i++)
        bytes += (size_t)PQgetlength(r, i, 0);
    PQclear(r);
    double bw = bench_now_s() - w0, bc = bench_cpu_s() - c0;
    printf("\n  bare read (rollups summed per site and quarter, %zu batch bytes read):"
           " %6.2f s wall (%.2f CPU s of this process)   (baseline)\n",
           bytes, bw, bc);

    ereport_opts o = {.conninfo = db, .period = "2026-Q3", .issued_us = 1790000000LL * 1000000};
    for (int rep = 0; rep < 2; rep++) {
        c0 = bench_cpu_s();
        w0 = bench_now_s();
        ereport *e = NULL;
        if (ereport_compute(&o, &e, &err))
            die("ereport_compute", err.msg);
        double cw = bench_now_s() - w0, cc = bench_cpu_s() - c0;
        ereport_summary sm;
        ereport_get_summary(e, &sm);
        static const report_format fs[] = {REPORT_JSON, REPORT_HTML, REPORT_OSCAL_XML,
                                           REPORT_CSV};
        double rw[4];
        size_t sizes[4];
        for (int i = 0; i < 4; i++) {
            buf out;
            buf_init(&out, REPORT_MAX_BYTES);
            double a = bench_now_s();
            if (ereport_render(e, fs[i], NULL, &out, &err))
                die("render", err.msg);
            rw[i] = bench_now_s() - a;
            sizes[i] = out.len;
            buf_free(&out);
        }
        double total = bench_now_s() - w0;
        printf("  enterprise report%s: gather, prove and compute %.2f s wall (%.2f CPU s); json "
               "%.2f s (%zu KB), html %.2f s (%zu KB), oscal-xml %.2f s (%zu KB), csv %.2f s;\n"
               "    all of it %.2f s = %.1fx the bare read; %zu findings, %zu entries cited with "
               "proofs (target < 5 s)\n",
               rep ? " (again, warm)" : "", cw, cc, rw[0], sizes[0] / 1024, rw[1],
               sizes[1] / 1024, rw[2], sizes[2] / 1024, rw[3], total, total / bw, sm.findings,
               sm.citations);
        ereport_free(e);
    }
    PQfinish(pg);
    note_signer_free(wit);
    cstore_close(cs);
    snprintf(cmd, sizeof cmd, "'%s' stop '%s'; rm -rf '%s'", PGTMP, pgdir, root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_enterprise: cleaning up failed\n");
    return 0;
}
