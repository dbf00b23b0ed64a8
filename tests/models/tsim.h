/* tsim.h: a small AI4I-2020-style machine simulator for the model tests and
 * benchmark (physics after Matzka, "Explainable Artificial Intelligence for
 * Predictive Maintenance Applications", AI4I 2020): failures by tool wear
 * (TWF), heat dissipation (HDF), power (PWF), overstrain (OSF) and random (RNF).
 * Deterministic for a seed. Row layout: model_feature_names[0..MODEL_NRAW). */
#ifndef AUDITD_TEST_TSIM_H
#define AUDITD_TEST_TSIM_H

#include <math.h>
#include <stdint.h>

typedef struct tsim {
    uint64_t s;
    double air;
    double wear;
    double replace_at;
} tsim;

static inline uint64_t tsim_next(tsim *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline double tsim_unif(tsim *g)
{
    return (double)(tsim_next(g) >> 11) / 9007199254740992.0;
}

static inline double tsim_norm(tsim *g)
{
    double u = tsim_unif(g), v = tsim_unif(g);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static inline void tsim_init(tsim *g, uint64_t seed)
{
    g->s = seed;
    g->air = 300;
    g->wear = 0;
    g->replace_at = 200 + 40 * tsim_unif(g);
}

/* One reading: raw[6] and the failure label. `shift` adds a distribution
 * shift to air and process temperature (K) and torque (x Nm) for drift tests. */
static inline int tsim_row(tsim *g, double *raw, double shift)
{
    double u = tsim_unif(g);
    int type = u < 0.5 ? 0 : u < 0.8 ? 1 : 2; /* L 50 %, M 30 %, H 20 % */
    g->air += 0.3 * tsim_norm(g) - 0.05 * (g->air - 300);
    double air = g->air + shift;
    double proc = air + 10 + tsim_norm(g);
    double torque = 40 + 10 * tsim_norm(g) + shift;
    if (torque < 3)
        torque = 3;
    double rpm = 1540 - 15 * (torque - 40) + 60 * tsim_norm(g);
    g->wear += type == 2 ? 5 : type == 1 ? 3 : 2;
    double wear = g->wear;
    int fail = 0;
    if (wear >= g->replace_at) {
        if (tsim_unif(g) < 0.5)
            fail = 1; /* TWF */
        g->wear = 0;
        g->replace_at = 200 + 40 * tsim_unif(g);
    }
    double power = torque * rpm * 2 * M_PI / 60;
    double osf = type == 0 ? 11000 : type == 1 ? 12000 : 13000;
    if ((proc - air) < 8.6 && rpm < 1380)
        fail = 1; /* HDF */
    if (power < 3500 || power > 9000)
        fail = 1; /* PWF */
    if (wear * torque > osf)
        fail = 1; /* OSF */
    if (tsim_unif(g) < 0.001)
        fail = 1; /* RNF */
    raw[0] = air;
    raw[1] = proc;
    raw[2] = rpm;
    raw[3] = torque;
    raw[4] = wear;
    raw[5] = type;
    return fail;
}

#endif
