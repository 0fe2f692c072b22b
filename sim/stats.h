/*
 * stats.h - online statistics for model outputs.
 *
 * Three pieces, each for a different question:
 *  - stats_acc: count, mean, variance, min, max of a stream, on GSL's running
 *    statistics (gsl_rstat), plus a Student-t confidence half width.
 *  - stats_tavg: a time average of a piecewise-constant quantity (queue length,
 *    power), integrated exactly at every change.
 *  - stats_qhist: a log-bucketed histogram for latency percentiles.  Buckets
 *    are geometric with ratio (1 + eps)/(1 - eps) and a quantile is reported as
 *    in DDSketch, so its relative error is at most eps
 *    (default eps = 0.5 %) for values inside [lo, hi].  Unlike P^2 it is exact
 *    up to that bound for every quantile at once, and two histograms merge
 *    (replications, threads, ranks) by adding counts.
 *  - stats_batch: batch means for a confidence interval on the mean of a
 *    correlated steady-state sequence (waits in a queue).
 */
#ifndef FS_STATS_H
#define FS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rstat.h>

/* --- running moments ------------------------------------------------------ */
typedef struct stats_acc {
	gsl_rstat_workspace *w;
} stats_acc;

int stats_acc_init(stats_acc *a);  /* 0 or FS_ERR_NOMEM */
void stats_acc_clear(stats_acc *a);
void stats_acc_reset(stats_acc *a);
void stats_acc_add(stats_acc *a, double x);
size_t stats_acc_n(const stats_acc *a);
double stats_acc_mean(const stats_acc *a);
double stats_acc_sd(const stats_acc *a);
double stats_acc_min(const stats_acc *a);
double stats_acc_max(const stats_acc *a);
/* Half width of the two-sided confidence interval (level e.g. 0.95) of the
 * mean, Student t with n-1 degrees of freedom; NaN for n < 2. */
double stats_acc_ci(const stats_acc *a, double level);

/* Same for an array of independent samples (replications). */
double stats_ci_halfwidth(const double *x, size_t n, double level);

/* --- time average of a piecewise-constant signal ----------------------------- */
typedef struct stats_tavg {
	double t0, t_last, value, integral;
} stats_tavg;

void stats_tavg_start(stats_tavg *a, double t, double value);
void stats_tavg_set(stats_tavg *a, double t, double value); /* flush, then change */
double stats_tavg_mean(const stats_tavg *a, double t_now);

/* --- log-bucket histogram for quantiles ----------------------------------------- */
typedef struct stats_qhist {
	double lo, hi, eps, log_ratio;
	size_t nbuckets;
	uint64_t *count;         /* [nbuckets + 2]: under, buckets..., over */
	uint64_t n;
	double min, max;
} stats_qhist;

/* Values in [lo, hi] (lo > 0) with relative error eps.  0 or FS_ERR_NOMEM. */
int stats_qhist_init(stats_qhist *h, double lo, double hi, double eps);
void stats_qhist_clear(stats_qhist *h);
void stats_qhist_reset(stats_qhist *h);
void stats_qhist_add(stats_qhist *h, double x);
/* The bucket of x, and adding by bucket: several histograms with the same
 * lo, hi and eps (per class and overall, say) share one log() per value. */
size_t stats_qhist_index(const stats_qhist *h, double x);
void stats_qhist_add_at(stats_qhist *h, size_t idx, double x);
/* q in [0,1]; NaN when empty.  A quantile that falls below lo reports the
 * least value seen, one above hi reports hi (capped at the greatest seen); q = 0
 * and q = 1 report the exact min and max. */
double stats_qhist_quantile(const stats_qhist *h, double q);
/* Add b's counts into a (same lo, hi, eps). 0 or FS_ERR_INTERNAL. */
int stats_qhist_merge(stats_qhist *a, const stats_qhist *b);

/* --- batch means ---------------------------------------------------------------- */
typedef struct stats_batch {
	size_t batch_size, in_batch;
	double batch_sum;
	stats_acc means;
} stats_batch;

int stats_batch_init(stats_batch *b, size_t batch_size);
void stats_batch_clear(stats_batch *b);
void stats_batch_add(stats_batch *b, double x);
double stats_batch_mean(const stats_batch *b);      /* mean of completed batches */
double stats_batch_ci(const stats_batch *b, double level);
size_t stats_batch_count(const stats_batch *b);

#endif
