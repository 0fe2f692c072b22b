/*
 * compare.h - the statistics behind `factorysim compare` (and the sweep
 * report's bands), exposed for unit tests.
 *
 * Two designs run with the same seed and replication see the same request
 * stream (common random numbers, DESIGN.md), so the difference of a metric
 * between them has much less noise than either metric: the interval to report
 * is the paired one, a t interval on the per-replication differences d_i =
 * b_i - a_i.  When runs cannot be paired (different seeds or workloads), the
 * fallback is Welch's unequal-variance interval on the difference of means.
 */
#ifndef FS_COMPARE_H
#define FS_COMPARE_H

#include <stddef.h>

typedef struct cmp_ci {
	size_t n;      /* pairs (paired) or the smaller sample (Welch) */
	double mean;   /* the difference of means, b - a */
	double half;   /* half width of the interval; NaN when it cannot be computed */
	double lo, hi; /* mean -/+ half */
	double df;     /* degrees of freedom of the t quantile */
} cmp_ci;

/* Paired interval at level (e.g. 0.95) of mean(b - a) over n pairs.  Pairs
 * with a NaN on either side are skipped; fewer than two usable pairs give
 * half = NaN (mean still set when one pair is left).  Returns the pairs used. */
size_t compare_paired_ci(const double *a, const double *b, size_t n, double level, cmp_ci *out);

/* Welch interval at level of mean(b) - mean(a) (NaNs skipped); half = NaN
 * unless both samples have at least two values. */
size_t compare_welch_ci(const double *a, size_t na, const double *b, size_t nb, double level,
			cmp_ci *out);

/* The t interval of the mean of x (NaNs skipped): *mean and *half (NaN for
 * fewer than two values).  Returns the values used. */
size_t compare_mean_ci(const double *x, size_t n, double level, double *mean, double *half);

#endif
