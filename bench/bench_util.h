/* bench_util.h: what every benchmark measures with, written once.
 *
 * Wall time is CLOCK_MONOTONIC (never stepped by NTP); CPU time is this
 * process's, all threads, user + system (CLOCK_PROCESS_CPUTIME_ID), so a
 * figure can be printed as CPU seconds next to wall time. */
#ifndef AUDITD_BENCH_UTIL_H
#define AUDITD_BENCH_UTIL_H

/* Seconds on the monotonic clock (an arbitrary origin: use differences). */
double bench_now_s(void);

/* CPU seconds used so far by this process (every thread). */
double bench_cpu_s(void);

/* A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick), or
 * -1 when none could be had. A daemon started on it can still lose a race. */
int bench_free_port(void);

#endif
