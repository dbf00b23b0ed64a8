/* bgtask.h: starting and stopping a background worker thread.
 *
 * The owners (the commit queue, commitq.c; the scoring queue,
 * pipeline/scoreq.c) keep their own queue, mutex and "work" condition; a
 * worker waits on the condition until there is work or `*stopping` is set,
 * and returns once it is set and nothing is left. These two calls are the
 * start and the stop they all share. */
#ifndef AUDITD_BGTASK_H
#define AUDITD_BGTASK_H

#include "status.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Start fn(arg) on a new thread. `what` names it in the error
 * ("the commit thread"). OUT: *thread. */
int bgtask_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *what,
                 adt_err *err);

/* Set *stopping under `mu`, wake the worker through `work`, and wait for it
 * to return. The owner frees what the worker used afterwards. */
void bgtask_stop(pthread_t thread, pthread_mutex_t *mu, pthread_cond_t *work, bool *stopping);

/* The CLOCK_REALTIME instant `ms` milliseconds from now (ms < 0 counts as 0):
 * the deadline a worker hands pthread_cond_timedwait to wake at the latest
 * then. */
struct timespec bgtask_deadline_ms(int64_t ms);

#endif
