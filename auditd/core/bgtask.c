/* bgtask.c: background worker threads (bgtask.h). */
#include "bgtask.h"

int bgtask_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *what,
                 adt_err *err)
{
    int e = pthread_create(thread, NULL, fn, arg);
    if (e != 0)
        return adt_fail(err, ADT_EINTERNAL, "cannot start %s (error %d): the process is out of "
                        "threads or memory", what, e);
    return ADT_OK;
}

void bgtask_stop(pthread_t thread, pthread_mutex_t *mu, pthread_cond_t *work, bool *stopping)
{
    pthread_mutex_lock(mu);
    *stopping = true;
    pthread_cond_signal(work);
    pthread_mutex_unlock(mu);
    pthread_join(thread, NULL);
}

struct timespec bgtask_deadline_ms(int64_t ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    if (ms < 0)
        ms = 0;
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}
