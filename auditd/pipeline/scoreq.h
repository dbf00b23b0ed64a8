/* scoreq.h: scoring beside reading. Ingestion hands the rows of a batch to
 * score, a chunk at a time as it reads and validates its lines, to a worker
 * thread that runs the model (model.h) meanwhile; before it stores the
 * readings with their predictions it waits for the last chunk. On a machine
 * with a free core the model's time is hidden behind the reading's.
 *
 * Ownership: the rows and the output a job names must stay valid and
 * unchanged until scoreq_wait returns. One submitter thread at a time. */
#ifndef AUDITD_SCOREQ_H
#define AUDITD_SCOREQ_H

#include "model.h"
#include "status.h"

#include <stddef.h>

typedef struct scoreq scoreq;

/* Start the worker thread. */
int scoreq_start(scoreq **out, adt_err *err);
/* Wait for the jobs submitted, stop the thread, free. */
void scoreq_stop(scoreq *q);

/* Score x[0..n*nx) (row-major raw features) into prob[0..n) with `s`, on
 * the worker, after the jobs submitted before. */
int scoreq_submit(scoreq *q, model_scorer *s, const double *x, size_t n, size_t nx, float *prob,
                  adt_err *err);
/* Wait until every job submitted is done; the first failure among them. */
int scoreq_wait(scoreq *q, adt_err *err);

#endif
