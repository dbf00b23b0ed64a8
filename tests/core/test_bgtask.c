/* test_bgtask.c: a worker started and stopped (bgtask.h), and the deadline
 * a timed wait is given. */
#include "bgtask.h"

#include <check.h>
#include <stdlib.h>

typedef struct worker {
    pthread_mutex_t mu;
    pthread_cond_t work;
    bool stopping;
    bool waiting; /* in its timed wait at least once */
    int woken;
} worker;

static void *run(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stopping) {
        struct timespec t = bgtask_deadline_ms(10000);
        w->waiting = true;
        pthread_cond_timedwait(&w->work, &w->mu, &t);
        w->woken++;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static int64_t ns_between(struct timespec a, struct timespec b)
{
    return (int64_t)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
}

/* The deadline is `ms` after now, its nanoseconds always below one second
 * (pthread_cond_timedwait refuses others with EINVAL). */
START_TEST(deadline_in_range)
{
    static const int64_t ms[] = {-5, 0, 1, 999, 1000, 1001, 1999, 3000, 86400000};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        struct timespec before;
        clock_gettime(CLOCK_REALTIME, &before);
        struct timespec d = bgtask_deadline_ms(ms[i]);
        ck_assert_int_ge(d.tv_nsec, 0);
        ck_assert_int_lt(d.tv_nsec, 1000000000L);
        int64_t want = (ms[i] < 0 ? 0 : ms[i]) * 1000000LL;
        int64_t got = ns_between(before, d);
        ck_assert_msg(got >= want && got < want + 100000000LL, "%lld ms: %lld ns ahead",
                      (long long)ms[i], (long long)got);
    }
}
END_TEST

/* A worker waiting with a long deadline is woken by the stop and returns. */
START_TEST(stop_wakes_the_worker)
{
    worker w = {.mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER};
    pthread_t t;
    adt_err e;
    ck_assert_int_eq(bgtask_start(&t, run, &w, "the test worker", &e), ADT_OK);
    for (bool waiting = false; !waiting;) { /* until it sleeps on its 10 s deadline */
        pthread_mutex_lock(&w.mu);
        waiting = w.waiting;
        pthread_mutex_unlock(&w.mu);
    }
    struct timespec before, after;
    clock_gettime(CLOCK_MONOTONIC, &before);
    bgtask_stop(t, &w.mu, &w.work, &w.stopping);
    clock_gettime(CLOCK_MONOTONIC, &after);
    ck_assert(w.stopping);
    ck_assert_int_ge(w.woken, 1);
    ck_assert_msg(ns_between(before, after) < 5000000000LL, "the stop waited for the deadline");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bgtask");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, deadline_in_range);
    tcase_add_test(tc, stop_wakes_the_worker);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
