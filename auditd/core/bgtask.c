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
