/* scoreq.c: a scoring worker thread (scoreq.h). */
#include "scoreq.h"

#include "bgtask.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct job {
    model_scorer *s;
    const double *x;
    size_t n, nx;
    float *prob;
    struct job *next;
} job;

struct scoreq {
    pthread_mutex_t mu;
    pthread_cond_t work, idle;
    job *head, *tail;
    bool busy, stopping;
    int rc;      /* the first failure since the last wait */
    adt_err err;
    pthread_t thread;
};

static void *worker(void *arg)
{
    scoreq *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head && !q->stopping)
            pthread_cond_wait(&q->work, &q->mu);
        if (!q->head)
            break;
        job *j = q->head;
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        q->busy = true;
        bool skip = q->rc != ADT_OK; /* a failed batch: the rest is not wanted */
        pthread_mutex_unlock(&q->mu);
        adt_err e;
        int rc = skip ? ADT_OK : model_scorer_score(j->s, j->x, j->n, j->nx, j->prob, &e);
        free(j);
        pthread_mutex_lock(&q->mu);
        if (rc && !q->rc) {
            q->rc = rc;
            q->err = e;
        }
        q->busy = false;
        if (!q->head)
            pthread_cond_broadcast(&q->idle);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

int scoreq_start(scoreq **out, adt_err *err)
{
    *out = NULL;
    scoreq *q = calloc(1, sizeof *q);
    if (!q)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->work, NULL);
    pthread_cond_init(&q->idle, NULL);
    int rc = bgtask_start(&q->thread, worker, q, "the scoring thread", err);
    if (rc) {
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->work);
        pthread_cond_destroy(&q->idle);
        free(q);
        return rc;
    }
    *out = q;
    return ADT_OK;
}

int scoreq_submit(scoreq *q, model_scorer *s, const double *x, size_t n, size_t nx, float *prob,
                  adt_err *err)
{
    if (n == 0)
        return ADT_OK;
    job *j = malloc(sizeof *j);
    if (!j)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    *j = (job){s, x, n, nx, prob, NULL};
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->mu);
    return ADT_OK;
}

int scoreq_wait(scoreq *q, adt_err *err)
{
    pthread_mutex_lock(&q->mu);
    while (q->head || q->busy)
        pthread_cond_wait(&q->idle, &q->mu);
    int rc = q->rc;
    if (rc && err)
        *err = q->err;
    q->rc = ADT_OK;
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void scoreq_stop(scoreq *q)
{
    if (!q)
        return;
    bgtask_stop(q->thread, &q->mu, &q->work, &q->stopping);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->work);
    pthread_cond_destroy(&q->idle);
    free(q);
}
