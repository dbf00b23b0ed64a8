/* drift.c: drift statistics: PSI and two-sample KS against a stored training
 * summary (drift.h). Pure functions: no storage, no ledger. */
#include "drift.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Move the finite values to the front; returns their count. */
static size_t keep_finite(double *x, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            x[m++] = x[i];
    return m;
}

/* Linear-interpolated quantile of sorted s[0..n), p in [0,1] (the "type 7"
 * definition of Hyndman and Fan 1996, as R and NumPy default to). */
static double quantile_sorted(const double *s, size_t n, double p)
{
    if (n == 1)
        return s[0];
    double h = p * (double)(n - 1);
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1)
        return s[n - 1];
    double f = h - (double)lo;
    return s[lo] + f * (s[lo + 1] - s[lo]);
}

/* Index of the bin holding v: the first edge >= v. */
static size_t bin_of(const drift_ref *r, double v)
{
    size_t lo = 0, hi = r->nedges;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v <= r->edges[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int drift_ref_build(double *x, size_t n, drift_ref *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    size_t m = keep_finite(x, n);
    if (m == 0)
        return adt_fail(err, ADT_EINVAL, "no finite value to summarise");
    qsort(x, m, sizeof *x, cmp_double);
    out->n = m;
    for (int k = 1; k < DRIFT_BINS; k++) {
        double e = quantile_sorted(x, m, (double)k / DRIFT_BINS);
        /* Ties (discrete features) collapse edges: keep each edge once. */
        if (out->nedges == 0 || e > out->edges[out->nedges - 1])
            out->edges[out->nedges++] = e;
    }
    size_t counts[DRIFT_BINS] = {0};
    for (size_t i = 0; i < m; i++)
        counts[bin_of(out, x[i])]++;
    for (size_t b = 0; b <= out->nedges; b++)
        out->props[b] = (double)counts[b] / (double)m;
    for (int k = 0; k < DRIFT_NQ; k++)
        out->q[k] = quantile_sorted(x, m, (double)k / (DRIFT_NQ - 1));
    return ADT_OK;
}

double drift_psi(const double *expected, const double *actual, size_t nbins, double eps)
{
    double psi = 0;
    for (size_t i = 0; i < nbins; i++) {
        double e = expected[i] < eps ? eps : expected[i];
        double a = actual[i] < eps ? eps : actual[i];
        psi += (a - e) * log(a / e);
    }
    return psi;
}

int drift_psi_ref(const drift_ref *r, const double *x, size_t n, double *psi, adt_err *err)
{
    size_t counts[DRIFT_BINS] = {0}, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        counts[bin_of(r, x[i])]++;
        m++;
    }
    if (m == 0)
        return adt_fail(err, ADT_EINVAL, "no finite value in the window");
    double actual[DRIFT_BINS];
    for (size_t b = 0; b <= r->nedges; b++)
        actual[b] = (double)counts[b] / (double)m;
    *psi = drift_psi(r->props, actual, r->nedges + 1, DRIFT_EPS);
    return ADT_OK;
}

double drift_ks(double *a, size_t na, double *b, size_t nb)
{
    if (na == 0 || nb == 0)
        return 0;
    qsort(a, na, sizeof *a, cmp_double);
    qsort(b, nb, sizeof *b, cmp_double);
    size_t i = 0, j = 0;
    double d = 0;
    /* Walk the merged order; evaluate both ECDFs after each distinct value. */
    while (i < na && j < nb) {
        double v = a[i] < b[j] ? a[i] : b[j];
        while (i < na && a[i] == v)
            i++;
        while (j < nb && b[j] == v)
            j++;
        double diff = fabs((double)i / (double)na - (double)j / (double)nb);
        if (diff > d)
            d = diff;
    }
    return d;
}

double drift_ks_pvalue(double d, size_t na, size_t nb)
{
    if (na == 0 || nb == 0 || d <= 0)
        return 1.0;
    double ne = (double)na * (double)nb / ((double)na + (double)nb);
    double sq = sqrt(ne);
    double lambda = (sq + 0.12 + 0.11 / sq) * d;
    if (lambda < 1e-3)
        return 1.0;
    double sum = 0, sign = 1;
    for (int j = 1; j <= 100; j++) {
        double term = sign * 2.0 * exp(-2.0 * j * j * lambda * lambda);
        sum += term;
        if (fabs(term) < 1e-12)
            break;
        sign = -sign;
    }
    if (sum < 0)
        sum = 0;
    if (sum > 1)
        sum = 1;
    return sum;
}

/* The training CDF implied by the percentiles: piecewise linear between
 * (q[k], k/100), 0 below q[0], 1 at and above q[100]. Flat stretches
 * (repeated percentiles, i.e. atoms) take the highest level, as an ECDF would. */
static double ref_cdf(const drift_ref *r, double v)
{
    if (v < r->q[0])
        return 0;
    if (v >= r->q[DRIFT_NQ - 1])
        return 1;
    /* Last k with q[k] <= v. */
    size_t lo = 0, hi = DRIFT_NQ - 1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (r->q[mid] <= v)
            lo = mid;
        else
            hi = mid;
    }
    double span = r->q[lo + 1] - r->q[lo];
    double f = span > 0 ? (v - r->q[lo]) / span : 0;
    return ((double)lo + f) / (DRIFT_NQ - 1);
}

int drift_ks_ref(const drift_ref *r, double *x, size_t n, double *d, size_t *m_out, adt_err *err)
{
    size_t m = keep_finite(x, n);
    if (m == 0)
        return adt_fail(err, ADT_EINVAL, "no finite value in the window");
    qsort(x, m, sizeof *x, cmp_double);
    double best = 0;
    size_t i = 0;
    /* Sup over the window's jump points (both sides of each jump) and over the
     * percentile knots, where the reference CDF bends. */
    while (i < m) {
        double v = x[i];
        double below = (double)i / (double)m;
        while (i < m && x[i] == v)
            i++;
        double at = (double)i / (double)m;
        double fr = ref_cdf(r, v);
        /* Just below v the reference is (by continuity, except at atoms) about fr. */
        double frl = v > r->q[0] ? ref_cdf(r, nextafter(v, -INFINITY)) : 0;
        if (fabs(at - fr) > best)
            best = fabs(at - fr);
        if (fabs(below - frl) > best)
            best = fabs(below - frl);
    }
    for (int k = 0; k < DRIFT_NQ; k++) {
        double v = r->q[k];
        /* Window ECDF at v: values <= v. */
        size_t lo = 0, hi = m;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (x[mid] <= v)
                lo = mid + 1;
            else
                hi = mid;
        }
        double fw = (double)lo / (double)m;
        double diff = fabs(fw - ref_cdf(r, v));
        if (diff > best)
            best = diff;
    }
    *d = best;
    if (m_out)
        *m_out = m;
    return ADT_OK;
}

static cJSON *num_array(const double *v, size_t n)
{
    return cJSON_CreateDoubleArray(v, (int)n);
}

cJSON *drift_ref_to_json(const drift_ref *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON *edges = num_array(r->edges, r->nedges);
    cJSON *props = num_array(r->props, r->nedges + 1);
    cJSON *q = num_array(r->q, DRIFT_NQ);
    if (!cJSON_AddNumberToObject(o, "n", (double)r->n) || !edges ||
        !cJSON_AddItemToObject(o, "edges", edges) || (edges = NULL, !props) ||
        !cJSON_AddItemToObject(o, "props", props) || (props = NULL, !q) ||
        !cJSON_AddItemToObject(o, "q", q)) {
        cJSON_Delete(edges);
        cJSON_Delete(props);
        cJSON_Delete(q);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int read_array(const cJSON *a, const char *name, double *out, size_t min, size_t max,
                      size_t *n, adt_err *err)
{
    if (!cJSON_IsArray(a))
        return adt_fail(err, ADT_EINVAL, "drift summary: '%s' must be an array of numbers", name);
    int sz = cJSON_GetArraySize(a);
    if (sz < 0 || (size_t)sz < min || (size_t)sz > max)
        return adt_fail(err, ADT_EINVAL, "drift summary: '%s' must have %zu to %zu numbers, has %d",
                        name, min, max, sz);
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
            return adt_fail(err, ADT_EINVAL, "drift summary: '%s'[%zu] is not a finite number",
                            name, i);
        out[i++] = e->valuedouble;
    }
    *n = i;
    return ADT_OK;
}

int drift_ref_from_json(const cJSON *j, drift_ref *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(j))
        return adt_fail(err, ADT_EINVAL, "drift summary: expected an object");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "n");
    if (!cJSON_IsNumber(n) || !(n->valuedouble >= 1) || n->valuedouble > 1e15 ||
        n->valuedouble != floor(n->valuedouble))
        return adt_fail(err, ADT_EINVAL, "drift summary: 'n' must be a positive integer");
    out->n = (size_t)n->valuedouble;
    size_t ne = 0, np = 0, nq = 0;
    int rc = read_array(cJSON_GetObjectItemCaseSensitive(j, "edges"), "edges", out->edges, 0,
                        DRIFT_BINS - 1, &ne, err);
    if (rc)
        return rc;
    out->nedges = ne;
    rc = read_array(cJSON_GetObjectItemCaseSensitive(j, "props"), "props", out->props, ne + 1,
                    ne + 1, &np, err);
    if (rc)
        return rc;
    rc = read_array(cJSON_GetObjectItemCaseSensitive(j, "q"), "q", out->q, DRIFT_NQ, DRIFT_NQ, &nq,
                    err);
    if (rc)
        return rc;
    for (size_t i = 1; i < ne; i++)
        if (!(out->edges[i] > out->edges[i - 1]))
            return adt_fail(err, ADT_EINVAL, "drift summary: edges must be strictly ascending");
    for (size_t i = 1; i < DRIFT_NQ; i++)
        if (!(out->q[i] >= out->q[i - 1]))
            return adt_fail(err, ADT_EINVAL, "drift summary: percentiles must be ascending");
    double sum = 0;
    for (size_t i = 0; i < np; i++) {
        if (!(out->props[i] >= 0 && out->props[i] <= 1))
            return adt_fail(err, ADT_EINVAL, "drift summary: proportions must lie in [0,1]");
        sum += out->props[i];
    }
    if (fabs(sum - 1) > 1e-6)
        return adt_fail(err, ADT_EINVAL, "drift summary: proportions sum to %g, not 1", sum);
    return ADT_OK;
}
