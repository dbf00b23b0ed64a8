/* drift.h: drift statistics: how far a sample of a feature has moved from its
 * training distribution (the check of a deployed model is driftcheck.h).
 *
 * Two measures per feature (docs/models.md):
 *  - PSI, the Population Stability Index (Siddiqi, "Credit Risk Scorecards",
 *    Wiley 2006; Yurdakul, "Statistical properties of the population
 *    stability index", 2018): PSI = sum_i (a_i - e_i) ln(a_i / e_i) over bins,
 *    e_i the training (expected) and a_i the recent (actual) proportion, both
 *    floored at DRIFT_EPS so that empty bins stay finite. Bins are the
 *    training data's deciles. Usual reading: < 0.1 stable, 0.1-0.25 moderate,
 *    > 0.25 major shift; the default alarm is 0.2.
 *  - the two-sample Kolmogorov-Smirnov statistic D = sup_x |F_a(x) - F_e(x)|
 *    with the asymptotic p-value Q_KS((sqrt(Ne) + 0.12 + 0.11/sqrt(Ne)) D),
 *    Ne = n m / (n + m), Q_KS(l) = 2 sum_{j>=1} (-1)^{j-1} exp(-2 j^2 l^2)
 *    (Stephens 1970; Press et al., Numerical Recipes, 3rd ed., 14.3.3).
 *
 * The training distribution is kept as a summary (`drift_ref`, stored with
 * the model): decile edges with the training proportion of each bin, and 101
 * percentiles, against which KS is computed with a piecewise-linear F_e. */
#ifndef AUDITD_DRIFT_H
#define AUDITD_DRIFT_H

#include "status.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define DRIFT_BINS 10
#define DRIFT_EPS 1e-4
#define DRIFT_NQ 101
#define DRIFT_DEFAULT_THRESHOLD 0.2

/* One feature's training distribution. Bin i holds x with
 * edges[i-1] < x <= edges[i] (edges[-1] = -inf, edges[nedges] = +inf). */
typedef struct drift_ref {
    size_t n;                    /* finite training values summarised */
    size_t nedges;               /* distinct inner edges, <= DRIFT_BINS - 1 */
    double edges[DRIFT_BINS - 1];
    double props[DRIFT_BINS];    /* nedges + 1 proportions, summing to 1 */
    double q[DRIFT_NQ];          /* q[k] = the k-th percentile */
} drift_ref;

/* Summarise `x[0..n)` (NaN ignored; x is sorted in place). ADT_EINVAL when
 * no finite value is left. */
int drift_ref_build(double *x, size_t n, drift_ref *out, adt_err *err);

/* PSI of two proportion vectors of `nbins` bins (each floored at eps). */
double drift_psi(const double *expected, const double *actual, size_t nbins, double eps);
/* PSI of sample x[0..n) (NaN ignored) against the summary. ADT_EINVAL if no
 * finite value. */
int drift_psi_ref(const drift_ref *r, const double *x, size_t n, double *psi, adt_err *err);

/* Exact two-sample KS statistic; sorts both arrays in place (no NaN allowed). */
double drift_ks(double *a, size_t na, double *b, size_t nb);
/* Asymptotic p-value of D for sample sizes na, nb (see above), in [0,1]. */
double drift_ks_pvalue(double d, size_t na, size_t nb);
/* KS of x[0..n) (sorted in place; NaN ignored) against the summary's
 * percentiles. ADT_EINVAL if no finite value. OUT: d, m (finite values used). */
int drift_ks_ref(const drift_ref *r, double *x, size_t n, double *d, size_t *m, adt_err *err);

/* The summary as a JSON object {"n","edges","props","q"}, and back (checked:
 * sizes, ascending edges and percentiles, proportions in [0,1] summing to 1). */
cJSON *drift_ref_to_json(const drift_ref *r);
int drift_ref_from_json(const cJSON *j, drift_ref *out, adt_err *err);

#endif
