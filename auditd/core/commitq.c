#include "commitq.h"

#include "bgtask.h"
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
    const ledger_batch_id *id;
    bool duplicate;
    ledger_batch_rec rec;
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
    ledger_batch *group;  /* writer-thread scratch: the batches of one group */
    size_t group_cap;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Settle one request from its batch's outcome. A duplicate's receipt is the
 * original's: its range and the checkpoint signed when it was appended. */
static void finish(commitq *q, request *r, int rc, const ledger_commit *c, const ledger_batch *b)
{
    r->rc = rc;
    if (!rc) {
        r->duplicate = b->duplicate;
        r->rec = b->rec;
        if (r->out) {
            *r->out = *c;
            r->out->first = b->rec.first;
            r->out->count = b->rec.count;
        }
    }
    r->done = true;
    (void)q;
}

/* For a duplicate, replace the group's checkpoint in r->out by the one that
 * first covered the original (checkpoints are immutable: read outside the
 * append transaction). Runs on the writer thread before the request is
 * settled. */
static void original_checkpoint(commitq *q, ledger_batch *b, ledger_commit *c, adt_err *err,
                                int *rc)
{
    if (*rc || !b->duplicate)
        return;
    c->tree_size = b->rec.tree_size;
    *rc = ledger_checkpoint_at(q->lg, b->rec.tree_size, c->checkpoint, sizeof c->checkpoint, err);
    if (!*rc)
        *rc = ledger_root(q->lg, b->rec.tree_size, c->root, err);
}

/* Room for `nreq` batches in q->group; on failure every request of the
 * group is finished with ADT_ENOMEM. */
static bool group_reserve(commitq *q, request *reqs, size_t nreq)
{
    if (nreq <= q->group_cap)
        return true;
    ledger_batch *g = realloc(q->group, nreq * sizeof *g);
    if (g) {
        q->group = g;
        q->group_cap = nreq;
        return true;
    }
    pthread_mutex_lock(&q->mu);
    for (request *r = reqs, *next; r; r = next) {
        next = r->next;
        adt_fail(&r->err, ADT_ENOMEM, "out of memory in the committer");
        finish(q, r, ADT_ENOMEM, NULL, NULL);
    }
    pthread_mutex_unlock(&q->mu);
    return false;
}

/* The receipts of a committed group: resent batches name the checkpoint
 * of their first commit (dups[k], with its own status drc[k]). Returns
 * non-zero (in *err) only when out of memory. */
typedef struct receipts {
    ledger_commit *dups; /* NULL: no batch of the group was a resend */
    int *drc;
    adt_err *derr;
} receipts;

static int group_receipts(commitq *q, size_t nreq, const ledger_commit *c, receipts *rs,
                          adt_err *err)
{
    size_t nd = 0;
    for (size_t k = 0; k < nreq; k++)
        nd += q->group[k].duplicate;
    if (!nd)
        return ADT_OK;
    rs->dups = calloc(nreq, sizeof *rs->dups);
    rs->drc = calloc(nreq, sizeof *rs->drc);
    rs->derr = calloc(nreq, sizeof *rs->derr);
    if (!rs->dups || !rs->drc || !rs->derr)
        return adt_fail(err, ADT_ENOMEM, "out of memory in the committer");
    for (size_t k = 0; k < nreq; k++) {
        rs->dups[k] = *c;
        original_checkpoint(q, &q->group[k], &rs->dups[k], &rs->derr[k], &rs->drc[k]);
    }
    return ADT_OK;
}

/* Count a committed group in the statistics (under q->mu). */
static void count_group(commitq *q, size_t nreq, const ledger_commit *c, double dt)
{
    if (c->count) {
        q->stats.events_appended += c->count;
        q->stats.groups_committed++;
        q->stats.tree_size = c->tree_size;
        q->stats.latency_sum += dt;
        for (int i = 0; i < 12; i++)
            if (dt <= commitq_latency_bounds[i])
                q->stats.latency_le[i]++;
    }
    for (size_t k = 0; k < nreq; k++) {
        if (q->group[k].duplicate)
            q->stats.batches_deduplicated++;
        else
            q->stats.batches_committed++;
    }
}

/* After a group failed: each request on its own, so one bad batch does not
 * fail the others. */
static void commit_one_by_one(commitq *q, request *reqs)
{
    ledger_commit single[1];
    for (request *r = reqs, *next; r; r = next) {
        next = r->next; /* r may be gone once finished and unlocked */
        adt_err e1;
        ledger_batch b = {.items = r->items, .n = r->n, .id = r->id};
        int r1 = ledger_append_batches(q->lg, &b, 1, single, &e1);
        ledger_commit oc = *single;
        original_checkpoint(q, &b, &oc, &e1, &r1);
        pthread_mutex_lock(&q->mu);
        if (r1)
            r->err = e1;
        else if (b.duplicate)
            q->stats.batches_deduplicated++;
        else {
            q->stats.events_appended += r->n;
            q->stats.batches_committed++;
            q->stats.groups_committed++;
            q->stats.tree_size = single->tree_size;
        }
        finish(q, r, r1, &oc, r1 ? NULL : &b);
        pthread_mutex_unlock(&q->mu);
        if (!r1 && single->count && q->listener)
            q->listener(q->listener_ctx, single);
    }
}

/* Append one group. If the group as a whole fails for an item's fault,
 * retry its requests one by one so one bad batch does not fail the others. */
static void commit_group(commitq *q, request *reqs)
{
    size_t nreq = 0;
    for (request *r = reqs; r; r = r->next)
        nreq++;
    if (!group_reserve(q, reqs, nreq))
        return;
    size_t k = 0;
    for (request *r = reqs; r; r = r->next, k++)
        q->group[k] = (ledger_batch){.items = r->items, .n = r->n, .id = r->id};
    double t0 = now_s();
    ledger_commit c;
    adt_err err;
    int rc = ledger_append_batches(q->lg, q->group, nreq, &c, &err);
    double dt = now_s() - t0;
    bool split = rc != ADT_OK && nreq > 1;
    receipts rs = {0};
    if (!rc)
        rc = group_receipts(q, nreq, &c, &rs, &err);
    pthread_mutex_lock(&q->mu);
    if (!split) {
        k = 0;
        for (request *r = reqs, *next; r; r = next, k++) {
            next = r->next;
            int r1 = rc ? rc : rs.drc ? rs.drc[k] : ADT_OK;
            if (rc)
                r->err = err;
            else if (r1)
                r->err = rs.derr[k];
            finish(q, r, r1, rs.dups ? &rs.dups[k] : &c, r1 ? NULL : &q->group[k]);
        }
    }
    if (!rc)
        count_group(q, nreq, &c, dt);
    pthread_mutex_unlock(&q->mu);
    free(rs.dups);
    free(rs.drc);
    free(rs.derr);
    if (!rc && c.count && q->listener)
        q->listener(q->listener_ctx, &c);
    if (split)
        commit_one_by_one(q, reqs);
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
    if ((rc = bgtask_start(&q->thread, writer, q, "the commit thread", err))) {
        ledger_close(q->lg);
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->work);
        pthread_cond_destroy(&q->done);
        free(q);
        return rc;
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
    return commitq_submit_batch(q, items, n, NULL, out, NULL, NULL, err);
}

int commitq_submit_batch(commitq *q, const ledger_item *items, size_t n, const ledger_batch_id *id,
                         ledger_commit *out, ledger_batch_rec *rec, bool *duplicate, adt_err *err)
{
    if (n == 0)
        return adt_fail(err, ADT_EINVAL, "empty batch");
    request r = {.items = items, .n = n, .id = id, .out = out};
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
    if (!r.rc && duplicate)
        *duplicate = r.duplicate;
    if (!r.rc && rec)
        *rec = r.rec;
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
    bgtask_stop(q->thread, &q->mu, &q->work, &q->stopping);
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
