#include "commitq.h"

#include "log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const double commitq_latency_bounds[12] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                           0.1,   0.25,   0.5,   1.0,  2.5,   1e300};

/* A submitter's request; lives on the submitter's stack while it waits. */
typedef struct request {
    const ledger_item *items;
    size_t n;
    ledger_commit *out;
    adt_err err;
    int rc;
    bool done;
    struct request *next;
} request;

struct commitq {
    pthread_mutex_t mu;
    pthread_cond_t work;  /* signalled when requests arrive or stopping */
    pthread_cond_t done;  /* broadcast when a group is committed */
    request *head, *tail;
    size_t pending_events;
    bool stopping;
    pthread_t thread;
    ledger *lg;
    commitq_opts opts;
    commitq_stats stats;
    commitq_listener listener;
    void *listener_ctx;
    ledger_item *group;   /* writer-thread scratch: the items of one group */
    size_t group_cap;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void finish(commitq *q, request *r, int rc, const ledger_commit *c, uint64_t first)
{
    r->rc = rc;
    if (!rc && r->out) {
        *r->out = *c;
        r->out->first = first;
        r->out->count = r->n;
    }
    r->done = true;
    (void)q;
}

/* Append one group. If the group as a whole fails for an item's fault,
 * retry its requests one by one so one bad batch does not fail the others. */
static void commit_group(commitq *q, request *reqs)
{
    size_t total = 0, nreq = 0;
    for (request *r = reqs; r; r = r->next) {
        total += r->n;
        nreq++;
    }
    if (total > q->group_cap) {
        ledger_item *g = realloc(q->group, total * sizeof *g);
        if (!g) {
            pthread_mutex_lock(&q->mu);
            for (request *r = reqs; r; r = r->next) {
                adt_fail(&r->err, ADT_ENOMEM, "out of memory in the committer");
                finish(q, r, ADT_ENOMEM, NULL, 0);
            }
            pthread_mutex_unlock(&q->mu);
            return;
        }
        q->group = g;
        q->group_cap = total;
    }
    size_t off = 0;
    for (request *r = reqs; r; r = r->next) {
        memcpy(q->group + off, r->items, r->n * sizeof *r->items);
        off += r->n;
    }
    double t0 = now_s();
    ledger_commit c;
    adt_err err;
    int rc = ledger_append(q->lg, q->group, total, &c, &err);
    double dt = now_s() - t0;
    bool split = rc != ADT_OK && nreq > 1;
    ledger_commit single[1];
    pthread_mutex_lock(&q->mu);
    if (!split) {
        uint64_t first = rc ? 0 : c.first;
        for (request *r = reqs; r; r = r->next) {
            if (rc)
                r->err = err;
            finish(q, r, rc, &c, first);
            first += r->n;
        }
    }
    if (!rc) {
        q->stats.events_appended += total;
        q->stats.batches_committed += nreq;
        q->stats.groups_committed++;
        q->stats.tree_size = c.tree_size;
        q->stats.latency_sum += dt;
        for (int i = 0; i < 12; i++)
            if (dt <= commitq_latency_bounds[i])
                q->stats.latency_le[i]++;
    }
    pthread_mutex_unlock(&q->mu);
    if (!rc && q->listener)
        q->listener(q->listener_ctx, &c);
    if (!split)
        return;
    for (request *r = reqs, *next; r; r = next) {
        next = r->next; /* r may be gone once finished and unlocked */
        adt_err e1;
        int r1 = ledger_append(q->lg, r->items, r->n, single, &e1);
        pthread_mutex_lock(&q->mu);
        if (r1)
            r->err = e1;
        else {
            q->stats.events_appended += r->n;
            q->stats.batches_committed++;
            q->stats.groups_committed++;
            q->stats.tree_size = single->tree_size;
        }
        finish(q, r, r1, single, r1 ? 0 : single->first);
        pthread_mutex_unlock(&q->mu);
        if (!r1 && q->listener)
            q->listener(q->listener_ctx, single);
    }
}

static void *writer(void *arg)
{
    commitq *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (!q->head && !q->stopping)
            pthread_cond_wait(&q->work, &q->mu);
        if (!q->head && q->stopping) {
            pthread_mutex_unlock(&q->mu);
            break;
        }
        /* Take requests up to the group limit (at least one). */
        request *g = q->head, *last = q->head;
        size_t events = last->n;
        while (last->next && events + last->next->n <= q->opts.max_group_events) {
            last = last->next;
            events += last->n;
        }
        q->head = last->next;
        if (!q->head)
            q->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&q->mu);

        commit_group(q, g);

        pthread_mutex_lock(&q->mu);
        q->pending_events -= events;
        pthread_cond_broadcast(&q->done);
        pthread_mutex_unlock(&q->mu);
    }
    return NULL;
}

int commitq_start(const char *dir, const commitq_opts *opts, commitq **out, adt_err *err)
{
    commitq *q = calloc(1, sizeof *q);
    if (!q)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    q->opts.max_pending_events = opts && opts->max_pending_events ? opts->max_pending_events : 100000;
    q->opts.max_group_events = opts && opts->max_group_events ? opts->max_group_events : 20000;
    int rc = ledger_open(dir, LEDGER_RDWR, &q->lg, err);
    if (rc) {
        free(q);
        return rc;
    }
    if ((rc = ledger_size(q->lg, &q->stats.tree_size, err))) {
        ledger_close(q->lg);
        free(q);
        return rc;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->work, NULL);
    pthread_cond_init(&q->done, NULL);
    if (pthread_create(&q->thread, NULL, writer, q) != 0) {
        ledger_close(q->lg);
        free(q);
        return adt_fail(err, ADT_EINTERNAL, "cannot start the commit thread");
    }
    *out = q;
    return ADT_OK;
}

void commitq_set_listener(commitq *q, commitq_listener fn, void *ctx)
{
    pthread_mutex_lock(&q->mu);
    q->listener = fn;
    q->listener_ctx = ctx;
    pthread_mutex_unlock(&q->mu);
}

int commitq_submit(commitq *q, const ledger_item *items, size_t n, ledger_commit *out,
                   adt_err *err)
{
    if (n == 0)
        return adt_fail(err, ADT_EINVAL, "empty batch");
    request r = {.items = items, .n = n, .out = out};
    pthread_mutex_lock(&q->mu);
    if (q->stopping) {
        pthread_mutex_unlock(&q->mu);
        return adt_fail(err, ADT_ESHUTDOWN, "the server is shutting down: retry against the restarted server");
    }
    /* A batch larger than the whole queue is still taken when the queue is empty. */
    if (q->pending_events > 0 && q->pending_events + n > q->opts.max_pending_events) {
        q->stats.rejected_busy++;
        pthread_mutex_unlock(&q->mu);
        return adt_fail(err, ADT_EBUSY, "the commit queue is full (%zu events waiting): retry later",
                        q->pending_events);
    }
    q->pending_events += n;
    if (q->tail)
        q->tail->next = &r;
    else
        q->head = &r;
    q->tail = &r;
    pthread_cond_signal(&q->work);
    while (!r.done)
        pthread_cond_wait(&q->done, &q->mu);
    pthread_mutex_unlock(&q->mu);
    if (r.rc && err)
        *err = r.err;
    return r.rc;
}

void commitq_get_stats(commitq *q, commitq_stats *st)
{
    pthread_mutex_lock(&q->mu);
    *st = q->stats;
    st->queue_depth = q->pending_events;
    pthread_mutex_unlock(&q->mu);
}

void commitq_stop(commitq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    /* The last group's checkpoint covers everything acknowledged; make sure a
     * checkpoint exists at the final size even if the last commit failed. */
    ledger_commit c;
    adt_err err;
    if (ledger_append(q->lg, NULL, 0, &c, &err) != ADT_OK)
        log_msg(LOG_WARN, "commitq", "final checkpoint: %s", err.msg);
    ledger_close(q->lg);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->work);
    pthread_cond_destroy(&q->done);
    free(q->group);
    free(q);
}
