/*
 * stats.c - online statistics (see stats.h).
 *
 * Moments come from GSL's gsl_rstat (Welford-style running mean/variance);
 * confidence intervals use GSL's Student t quantile.  The log histogram is
 * ours: GSL's gsl_histogram finds a bin by binary search over arbitrary
 * ranges, while geometric buckets give the index in O(1) with one log().
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>

#include "error.h"

int stats_acc_init(stats_acc *a)
{
	a->w = gsl_rstat_alloc();
	return a->w ? FS_OK : FS_ERR_NOMEM;
}

void stats_acc_clear(stats_acc *a)
{
	if (a && a->w) {
		gsl_rstat_free(a->w);
		a->w = NULL;
	}
}

void stats_acc_reset(stats_acc *a)
{
	gsl_rstat_reset(a->w);
}

void stats_acc_add(stats_acc *a, double x)
{
	gsl_rstat_add(x, a->w);
}

size_t stats_acc_n(const stats_acc *a)
{
	return gsl_rstat_n(a->w);
}

double stats_acc_mean(const stats_acc *a)
{
	return gsl_rstat_n(a->w) ? gsl_rstat_mean(a->w) : NAN;
}

double stats_acc_sd(const stats_acc *a)
{
	return gsl_rstat_n(a->w) > 1 ? gsl_rstat_sd(a->w) : NAN;
}

double stats_acc_min(const stats_acc *a)
{
	return gsl_rstat_n(a->w) ? gsl_rstat_min(a->w) : NAN;
}

double stats_acc_max(const stats_acc *a)
{
	return gsl_rstat_n(a->w) ? gsl_rstat_max(a->w) : NAN;
}

static double t_halfwidth(double sd, size_t n, double level)
{
	if (n < 2 || !(level > 0 && level < 1))
		return NAN;
	double t = gsl_cdf_tdist_Pinv(0.5 + level / 2, (double)(n - 1));
	return t * sd / sqrt((double)n);
}

double stats_acc_ci(const stats_acc *a, double level)
{
	return t_halfwidth(stats_acc_sd(a), stats_acc_n(a), level);
}

double stats_ci_halfwidth(const double *x, size_t n, double level)
{
	if (n < 2)
		return NAN;
	return t_halfwidth(gsl_stats_sd(x, 1, n), n, level);
}

/* --- time average --------------------------------------------------------------- */

void stats_tavg_start(stats_tavg *a, double t, double value)
{
	a->t0 = a->t_last = t;
	a->value = value;
	a->integral = 0;
}

void stats_tavg_set(stats_tavg *a, double t, double value)
{
	if (t > a->t_last) {
		a->integral += a->value * (t - a->t_last);
		a->t_last = t;
	}
	a->value = value;
}

double stats_tavg_mean(const stats_tavg *a, double t_now)
{
	double span = t_now - a->t0;
	if (!(span > 0))
		return a->value;
	double integral = a->integral + a->value * (t_now - a->t_last);
	return integral / span;
}

/* --- log histogram -------------------------------------------------------------- */

int stats_qhist_init(stats_qhist *h, double lo, double hi, double eps)
{
	memset(h, 0, sizeof *h);
	if (!(lo > 0 && hi > lo && eps > 0 && eps < 0.5))
		return FS_ERR_INTERNAL;
	h->lo = lo;
	h->hi = hi;
	h->eps = eps;
	/* bucket k covers [lo r^k, lo r^(k+1)) with r = (1+eps)/(1-eps), as in
	 * DDSketch (Masson et al., VLDB 2019). */
	h->log_ratio = log((1 + eps) / (1 - eps));
	double nb = ceil(log(hi / lo) / h->log_ratio);
	if (nb > 1e7)
		return FS_ERR_INTERNAL;
	h->nbuckets = (size_t)nb;
	h->count = calloc(h->nbuckets + 2, sizeof *h->count);
	if (!h->count)
		return FS_ERR_NOMEM;
	h->min = INFINITY;
	h->max = -INFINITY;
	return FS_OK;
}

void stats_qhist_clear(stats_qhist *h)
{
	if (!h)
		return;
	free(h->count);
	h->count = NULL;
}

void stats_qhist_reset(stats_qhist *h)
{
	memset(h->count, 0, (h->nbuckets + 2) * sizeof *h->count);
	h->n = 0;
	h->min = INFINITY;
	h->max = -INFINITY;
}

size_t stats_qhist_index(const stats_qhist *h, double x)
{
	if (x < h->lo)
		return 0;
	if (x >= h->hi)
		return h->nbuckets + 1;
	size_t k = (size_t)(log(x / h->lo) / h->log_ratio);
	return 1 + (k < h->nbuckets ? k : h->nbuckets - 1);
}

void stats_qhist_add(stats_qhist *h, double x)
{
	if (isnan(x))
		return;
	stats_qhist_add_at(h, stats_qhist_index(h, x), x);
}

void stats_qhist_add_at(stats_qhist *h, size_t idx, double x)
{
	if (isnan(x))
		return;
	h->count[idx]++;
	h->n++;
	if (x < h->min)
		h->min = x;
	if (x > h->max)
		h->max = x;
}

double stats_qhist_quantile(const stats_qhist *h, double q)
{
	if (h->n == 0 || isnan(q))
		return NAN;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	/* the smallest value with at least ceil(q n) observations at or below it */
	/* shave the product so that 0.07 x 100 (= 7.000000000000001) ranks 7 */
	uint64_t rank = (uint64_t)ceil(q * (double)h->n * (1 - 1e-12));
	if (rank < 1)
		rank = 1;
	uint64_t cum = 0;
	for (size_t i = 0; i < h->nbuckets + 2; i++) {
		cum += h->count[i];
		if (cum >= rank) {
			double v;
			if (i == 0)
				v = h->min; /* below lo: the least seen is the best we know */
			else if (i == h->nbuckets + 1)
				v = h->hi;
			else
				/* DDSketch estimate 2 r^(k+1) / (r + 1): within
				 * eps of every value in [lo r^k, lo r^(k+1)) */
				v = h->lo * 2 * exp((double)i * h->log_ratio) /
				    (exp(h->log_ratio) + 1);
			/* never report outside what was seen */
			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	return h->max;
}

int stats_qhist_merge(stats_qhist *a, const stats_qhist *b)
{
	if (a->nbuckets != b->nbuckets || a->lo != b->lo || a->eps != b->eps)
		return FS_ERR_INTERNAL;
	for (size_t i = 0; i < a->nbuckets + 2; i++)
		a->count[i] += b->count[i];
	a->n += b->n;
	if (b->min < a->min)
		a->min = b->min;
	if (b->max > a->max)
		a->max = b->max;
	return FS_OK;
}

/* --- batch means ---------------------------------------------------------------- */

int stats_batch_init(stats_batch *b, size_t batch_size)
{
	memset(b, 0, sizeof *b);
	b->batch_size = batch_size ? batch_size : 1;
	return stats_acc_init(&b->means);
}

void stats_batch_clear(stats_batch *b)
{
	if (b)
		stats_acc_clear(&b->means);
}

void stats_batch_add(stats_batch *b, double x)
{
	b->batch_sum += x;
	if (++b->in_batch == b->batch_size) {
		stats_acc_add(&b->means, b->batch_sum / (double)b->batch_size);
		b->batch_sum = 0;
		b->in_batch = 0;
	}
}

double stats_batch_mean(const stats_batch *b)
{
	return stats_acc_mean(&b->means);
}

double stats_batch_ci(const stats_batch *b, double level)
{
	return stats_acc_ci(&b->means, level);
}

size_t stats_batch_count(const stats_batch *b)
{
	return stats_acc_n(&b->means);
}
