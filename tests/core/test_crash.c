/* test_crash.c: writers killed with SIGKILL at random moments, and
 * concurrent writers (processes, handles, commitq threads). After every kill
 * the ledger verifies and every append that was acknowledged is there with
 * the same leaf. */
#include "commitq.h"
#include "lt_helpers.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What a writer reports after an append returned: 32 bytes, one atomic pipe write. */
typedef struct ack {
    uint64_t index;
    uint64_t tree_size;
    uint32_t round, tid, ctr, mode;
} ack;

static void write_ack(int fd, const ack *a)
{
    ssize_t w;
    do
        w = write(fd, a, sizeof *a);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)sizeof *a)
        _exit(5);
}

static int payload_a(char *out, size_t cap, uint32_t round, uint64_t index)
{
    return snprintf(out, cap, "{\"i\":%llu,\"r\":%u,\"h\":\"%016llx\"}", (unsigned long long)index,
                    round, (unsigned long long)(index * 0x9E3779B97F4A7C15ull));
}

static int payload_b(char *out, size_t cap, uint32_t round, uint32_t tid, uint32_t ctr)
{
    return snprintf(out, cap, "{\"t\":%u,\"c\":%u,\"r\":%u,\"pad\":\"%0*d\"}", tid, ctr, round,
                    (int)(ctr % 50), 0);
}

/* The canonical payload as it must appear in the leaf. */
static void expect_payload(const ack *a, char *out, size_t cap)
{
    if (a->mode == 0)
        snprintf(out, cap, "{\"payload\":{\"h\":\"%016llx\",\"i\":%llu,\"r\":%u},",
                 (unsigned long long)(a->index * 0x9E3779B97F4A7C15ull),
                 (unsigned long long)a->index, a->round);
    else
        snprintf(out, cap, "{\"payload\":{\"c\":%u,\"pad\":\"%0*d\",\"r\":%u,\"t\":%u},", a->ctr,
                 (int)(a->ctr % 50), 0, a->round, a->tid);
}

/* Child, mode 0: ledger_append in batches of 1..8, payload from the index. */
static void child_append(const char *dir, uint32_t round, int fd)
{
    ledger *lg;
    adt_err err;
    if (ledger_open(dir, LEDGER_RDWR, &lg, &err))
        _exit(2);
    unsigned seed = round * 7919u + 1;
    char pl[8][128];
    for (;;) {
        uint64_t size;
        if (ledger_size(lg, &size, &err))
            _exit(3);
        size_t n = 1 + (size_t)(rand_r(&seed) % 8);
        ledger_item items[8];
        for (size_t j = 0; j < n; j++) {
            int l = payload_a(pl[j], sizeof pl[j], round, size + j);
            items[j] = (ledger_item){.writer = EVENT_WRITER_EDGE, .source = "crash-a", .type = "x-test.crash",
                                     .payload = pl[j], .payload_len = (size_t)l};
        }
        ledger_commit c;
        if (ledger_append(lg, items, n, &c, &err))
            _exit(4);
        if (c.first != size || c.count != n)
            _exit(6);
        for (size_t j = 0; j < n; j++) {
            ack a = {.index = c.first + j, .tree_size = c.tree_size, .round = round, .mode = 0};
            write_ack(fd, &a);
        }
    }
}

typedef struct cthread {
    commitq *q;
    uint32_t round, tid;
    int fd;
    int iterations; /* < 0: forever */
    uint64_t appended, busy;
    ack *acks;      /* when not writing to a pipe */
    size_t nacks;
} cthread;

static void *submitter(void *arg)
{
    cthread *t = arg;
    uint32_t ctr = 0;
    char pl[4][160];
    for (int it = 0; t->iterations < 0 || it < t->iterations; it++) {
        size_t n = 1 + (size_t)((ctr + t->tid) % 4);
        ledger_item items[4];
        for (size_t j = 0; j < n; j++) {
            int l = payload_b(pl[j], sizeof pl[j], t->round, t->tid, ctr + (uint32_t)j);
            items[j] = (ledger_item){.writer = EVENT_WRITER_EDGE, .source = "crash-b", .type = "x-test.crash",
                                     .payload = pl[j], .payload_len = (size_t)l};
        }
        ledger_commit c;
        adt_err err;
        int rc = commitq_submit(t->q, items, n, &c, &err);
        if (rc == ADT_EBUSY) {
            t->busy++;
            it--;
            usleep(200);
            continue;
        }
        if (rc || c.count != n || c.tree_size < c.first + n)
            _exit(7);
        for (size_t j = 0; j < n; j++) {
            ack a = {.index = c.first + j, .tree_size = c.tree_size, .round = t->round,
                     .tid = t->tid, .ctr = ctr + (uint32_t)j, .mode = 1};
            if (t->fd >= 0)
                write_ack(t->fd, &a);
            else
                t->acks[t->nacks++] = a;
        }
        t->appended += n;
        ctr += (uint32_t)n;
    }
    return NULL;
}

/* Child, mode 1: commitq with three submitting threads. */
static void child_commitq(const char *dir, uint32_t round, int fd)
{
    commitq *q;
    adt_err err;
    if (commitq_start(dir, NULL, &q, &err))
        _exit(2);
    pthread_t th[3];
    cthread ct[3];
    for (uint32_t i = 0; i < 3; i++) {
        ct[i] = (cthread){.q = q, .round = round, .tid = i, .fd = fd, .iterations = -1};
        pthread_create(&th[i], NULL, submitter, &ct[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    _exit(0);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void read_acks(int fd, ack **acks, size_t *n, size_t *cap, double until_ms)
{
    static char part[sizeof(ack)];
    static size_t have = 0;
    for (;;) {
        int wait = -1;
        if (until_ms > 0) {
            double left = until_ms - now_ms();
            if (left <= 0)
                return;
            wait = (int)left + 1;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        ssize_t got = read(fd, part + have, sizeof part - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            ck_assert_uint_eq(have, 0); /* records are written whole */
            return;
        }
        have += (size_t)got;
        if (have == sizeof part) {
            if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 1024;
                *acks = realloc(*acks, *cap * sizeof **acks);
            }
            memcpy(&(*acks)[(*n)++], part, sizeof part);
            have = 0;
        }
    }
}

static void check_acks(const char *dir, const ack *acks, size_t n, uint64_t *size_out)
{
    ledger_verify_result vr;
    adt_err err;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "verify after kill: %s", vr.problem);
    ledger *lg;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    uint64_t size;
    ck_assert_int_eq(ledger_size(lg, &size, &err), ADT_OK);
    ck_assert_uint_eq(size, vr.entries);
    buf leaf;
    buf_init(&leaf, LEDGER_MAX_LEAF);
    char note[NOTE_MAX];
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(acks[i].index < size, "acknowledged entry %llu lost (size %llu)",
                      (unsigned long long)acks[i].index, (unsigned long long)size);
        ck_assert_int_eq(ledger_entry(lg, acks[i].index, &leaf, &err), ADT_OK);
        char want[256];
        expect_payload(&acks[i], want, sizeof want);
        ck_assert_msg(strncmp(leaf.data, want, strlen(want)) == 0,
                      "entry %llu holds %s, expected %s", (unsigned long long)acks[i].index,
                      leaf.data, want);
        /* The checkpoint returned with the ack is stored. */
        ck_assert_int_eq(ledger_checkpoint_at(lg, acks[i].tree_size, note, sizeof note, &err), ADT_OK);
    }
    buf_free(&leaf);
    ledger_close(lg);
    if (size_out)
        *size_out = size;
}

START_TEST(test_sigkill_rounds)
{
    char *dir = lt_new_ledger("crash");
    unsigned seed = (unsigned)time(NULL);
    fprintf(stderr, "test_sigkill_rounds: seed %u\n", seed);
    size_t total_acks = 0;
    uint64_t last_size = 0;
    for (uint32_t round = 0; round < 30; round++) {
        int pfd[2];
        ck_assert_int_eq(pipe(pfd), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(pfd[0]);
            if (round % 2 == 0)
                child_append(dir, round, pfd[1]);
            else
                child_commitq(dir, round, pfd[1]);
            _exit(0);
        }
        close(pfd[1]);
        int ms = 20 + (int)(rand_r(&seed) % 181);
        ack *acks = NULL;
        size_t n = 0, cap = 0;
        read_acks(pfd[0], &acks, &n, &cap, now_ms() + ms);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
                      "writer failed on its own in round %u (status %d)", round, st);
        read_acks(pfd[0], &acks, &n, &cap, 0);
        close(pfd[0]);
        uint64_t size;
        check_acks(dir, acks, n, &size);
        ck_assert_uint_ge(size, last_size);
        last_size = size;
        total_acks += n;
        free(acks);
    }
    fprintf(stderr, "test_sigkill_rounds: %zu acknowledged appends survived 30 kills; size %llu\n",
            total_acks, (unsigned long long)last_size);
    ck_assert_uint_gt(total_acks, 5); /* the writers did run between kills */
    /* The ledger goes on normally afterwards. */
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    ledger_commit c = lt_append1(lg, 0, "after");
    ck_assert_uint_eq(c.first, last_size);
    uint8_t want[32];
    lt_rc_root(lg, last_size + 1, want);
    ck_assert_mem_eq(c.root, want, 32);
    ledger_close(lg);
    ledger_verify_result vr;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "%s", vr.problem);
    lt_remove_ledger(dir);
}
END_TEST

/* Child process writer for the concurrency test: 150 entries in batches of 1..5. */
static void child_writer(const char *dir, const char *source, unsigned seed)
{
    ledger *lg;
    adt_err err;
    if (ledger_open(dir, LEDGER_RDWR, &lg, &err))
        _exit(2);
    char pl[5][64];
    ledger_item items[5];
    for (int k = 0; k < 150;) {
        int n = 1 + (int)(rand_r(&seed) % 5);
        if (k + n > 150)
            n = 150 - k;
        for (int j = 0; j < n; j++) {
            int l = snprintf(pl[j], sizeof pl[j], "{\"n\":%d}", k + j);
            items[j] = (ledger_item){.writer = EVENT_WRITER_EDGE, .source = source, .type = "x-test.conc", .payload = pl[j],
                                     .payload_len = (size_t)l};
        }
        ledger_commit c;
        if (ledger_append(lg, items, (size_t)n, &c, &err))
            _exit(3);
        k += n;
    }
    ledger_close(lg);
    _exit(0);
}

typedef struct tally {
    int by_source[4];
    int next_n[2];
    bool order_ok;
} tally;

static int tally_cb(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    tally *t = ctx;
    static const char *const src[] = {"\"source\":\"proc-A\"", "\"source\":\"proc-B\"",
                                      "\"source\":\"crash-b\"", "\"source\":\"ledger-init\""};
    for (int s = 0; s < 3; s++) {
        if (!lt_memmem(leaf, len, src[s], strlen(src[s])))
            continue;
        t->by_source[s]++;
        if (s < 2) {
            char want[64];
            snprintf(want, sizeof want, "{\"payload\":{\"n\":%d},", t->next_n[s]);
            if (strncmp(leaf, want, strlen(want)) != 0)
                t->order_ok = false;
            t->next_n[s]++;
        }
        return 0;
    }
    (void)index;
    t->by_source[3]++;
    return 0;
}

static int listener_events;
static void on_commit(void *ctx, const ledger_commit *c)
{
    (void)ctx;
    __atomic_add_fetch(&listener_events, (int)c->count, __ATOMIC_SEQ_CST);
}

START_TEST(test_concurrent_writers)
{
    char *dir = lt_new_ledger("conc");
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0)
            child_writer(dir, i ? "proc-B" : "proc-A", 77u + (unsigned)i);
    }
    commitq *q;
    adt_err err;
    ck_assert_int_eq(commitq_start(dir, NULL, &q, &err), ADT_OK);
    commitq_set_listener(q, on_commit, NULL);
    enum { T = 4, ITER = 40 };
    pthread_t th[T];
    cthread ct[T];
    for (uint32_t i = 0; i < T; i++) {
        ct[i] = (cthread){.q = q, .round = 99, .tid = i, .fd = -1, .iterations = ITER,
                          .acks = calloc(ITER * 4, sizeof(ack))};
        ck_assert_int_eq(pthread_create(&th[i], NULL, submitter, &ct[i]), 0);
    }
    uint64_t thread_events = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        thread_events += ct[i].appended;
    }
    commitq_stats st;
    commitq_get_stats(q, &st);
    commitq_stop(q);
    for (int i = 0; i < 2; i++) {
        int s;
        ck_assert_int_eq(waitpid(kids[i], &s, 0), kids[i]);
        ck_assert_msg(WIFEXITED(s) && WEXITSTATUS(s) == 0, "writer process %d failed: %d", i, s);
    }
    ck_assert_uint_eq(st.events_appended, thread_events);
    ck_assert_uint_eq(st.batches_committed, T * ITER);
    ck_assert_uint_le(st.groups_committed, T * ITER);
    ck_assert_int_eq(listener_events, (int)thread_events);
    for (int i = 0; i < T; i++) {
        check_acks(dir, ct[i].acks, ct[i].nacks, NULL);
        free(ct[i].acks);
    }
    ledger *lg;
    ck_assert_int_eq(ledger_open(dir, LEDGER_RDONLY, &lg, &err), ADT_OK);
    uint64_t size;
    ck_assert_int_eq(ledger_size(lg, &size, &err), ADT_OK);
    ck_assert_uint_eq(size, 300 + thread_events);
    tally t = {.order_ok = true};
    ck_assert_int_eq(ledger_scan(lg, 0, UINT64_MAX, tally_cb, &t, &err), ADT_OK);
    ck_assert_int_eq(t.by_source[0], 150);
    ck_assert_int_eq(t.by_source[1], 150);
    ck_assert_int_eq(t.by_source[2], (int)thread_events);
    ck_assert_int_eq(t.by_source[3], 0);
    ck_assert_msg(t.order_ok, "a process's entries are out of its own order");
    /* The last checkpoint covers everything. */
    char note[NOTE_MAX];
    uint64_t csize;
    ck_assert_int_eq(ledger_checkpoint(lg, note, sizeof note, &csize, &err), ADT_OK);
    ck_assert_uint_eq(csize, size);
    ledger_close(lg);
    ledger_verify_result vr;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "%s", vr.problem);
    ck_assert_uint_eq(vr.entries, size);
    lt_remove_ledger(dir);
}
END_TEST

/* Verify reads one consistent snapshot: run against a ledger that another
 * process keeps appending to (from empty), it never reports a false problem. */
START_TEST(test_verify_during_appends)
{
    char *dir = lt_new_ledger("vconc");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        child_append(dir, 1000, open("/dev/null", O_WRONLY));
        _exit(0);
    }
    int checked = 0;
    double until = now_ms() + 3000;
    while (now_ms() < until) {
        ledger_verify_result vr;
        adt_err err;
        int rc = ledger_verify(dir, &vr, &err);
        if (rc == ADT_EBUSY)
            continue;
        if (rc != ADT_OK || !vr.ok) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            ck_abort_msg("verify during appends (after %llu entries): %s", (unsigned long long)vr.entries,
                         rc ? err.msg : vr.problem);
        }
        checked++;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_int_gt(checked, 3);
    lt_remove_ledger(dir);
}
END_TEST

/* A bounded queue refuses with ADT_EBUSY instead of growing, and a refused
 * or invalid batch appends nothing while its neighbours in the group commit. */
typedef struct badsub {
    commitq *q;
    int rc;
} badsub;

static void *bad_submitter(void *arg)
{
    badsub *b = arg;
    ledger_item items[2] = {
        {.writer = EVENT_WRITER_EDGE, .source = "ok", .type = "x-t", .payload = "{\"a\":1}", .payload_len = 7},
        {.writer = EVENT_WRITER_EDGE, .source = "ok", .type = "x-t", .payload = "{\"a\":", .payload_len = 5}};
    adt_err err;
    ledger_commit c;
    for (;;) {
        b->rc = commitq_submit(b->q, items, 2, &c, &err);
        if (b->rc != ADT_EBUSY)
            return NULL;
        usleep(100);
    }
}

START_TEST(test_commitq_busy_and_invalid)
{
    char *dir = lt_new_ledger("busy");
    commitq *q;
    adt_err err;
    commitq_opts o = {.max_pending_events = 2, .max_group_events = 100};
    ck_assert_int_eq(commitq_start(dir, &o, &q, &err), ADT_OK);
    ledger_commit c;
    ck_assert_int_eq(commitq_submit(q, NULL, 0, &c, &err), ADT_EINVAL);
    enum { T = 8, ITER = 15 };
    pthread_t th[T];
    cthread ct[T];
    for (uint32_t i = 0; i < T; i++) {
        ct[i] = (cthread){.q = q, .round = 5, .tid = i, .fd = -1, .iterations = ITER,
                          .acks = calloc(ITER * 4, sizeof(ack))};
        pthread_create(&th[i], NULL, submitter, &ct[i]);
    }
    badsub bs = {.q = q};
    pthread_t bt;
    pthread_create(&bt, NULL, bad_submitter, &bs);
    uint64_t events = 0, busy = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        events += ct[i].appended;
        busy += ct[i].busy;
    }
    pthread_join(bt, NULL);
    ck_assert_int_eq(bs.rc, ADT_EINVAL);
    commitq_stats st;
    commitq_get_stats(q, &st);
    commitq_stop(q);
    ck_assert_uint_gt(busy, 0);
    ck_assert_uint_ge(st.rejected_busy, busy);
    ck_assert_uint_eq(st.events_appended, events);
    for (int i = 0; i < T; i++) {
        check_acks(dir, ct[i].acks, ct[i].nacks, NULL);
        free(ct[i].acks);
    }
    ledger_verify_result vr;
    ck_assert_int_eq(ledger_verify(dir, &vr, &err), ADT_OK);
    ck_assert_msg(vr.ok, "%s", vr.problem);
    ck_assert_uint_eq(vr.entries, events);
    lt_remove_ledger(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("crash");
    tcase_set_timeout(tc, 110);
    tcase_add_test(tc, test_sigkill_rounds);
    tcase_add_test(tc, test_concurrent_writers);
    tcase_add_test(tc, test_commitq_busy_and_invalid);
    tcase_add_test(tc, test_verify_during_appends);
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
