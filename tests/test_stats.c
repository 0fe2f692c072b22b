/*
 * test_stats.c - unit tests of sim/stats.h.
 *
 * References come from outside the code under test: GSL's array statistics,
 * closed forms computed by hand, exact order statistics of sorted samples.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "error.h"
#include "stats.h"

static void assert_close(double got, double want, double rel, const char *what)
{
	double tol = rel * fmax(1.0, fabs(want));
	if (!(fabs(got - want) <= tol))
		fail_msg("%s: got %.17g, want %.17g (tol %.3g)", what, got, want, tol);
}

static gsl_rng *test_rng(unsigned long seed)
{
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	assert_non_null(r);
	gsl_rng_set(r, seed);
	return r;
}

/* --- stats_acc ------------------------------------------------------------------ */

static void test_acc_vs_gsl_arrays(void **state)
{
	(void)state;
	enum { N = 10007 };
	double *x = malloc(N * sizeof *x);
	assert_non_null(x);
	gsl_rng *r = test_rng(11);
	stats_acc a;
	assert_int_equal(stats_acc_init(&a), FS_OK);
	double lo = INFINITY, hi = -INFINITY;
	for (int i = 0; i < N; i++) {
		x[i] = 1e6 + gsl_ran_gaussian(r, 3.0) + (i % 7); /* large offset */
		stats_acc_add(&a, x[i]);
		lo = fmin(lo, x[i]);
		hi = fmax(hi, x[i]);
	}
	assert_int_equal(stats_acc_n(&a), N);
	assert_close(stats_acc_mean(&a), gsl_stats_mean(x, 1, N), 1e-12, "mean");
	assert_close(stats_acc_sd(&a), gsl_stats_sd(x, 1, N), 1e-9, "sd");
	assert_true(stats_acc_min(&a) == lo);
	assert_true(stats_acc_max(&a) == hi);

	/* CI: t_{n-1, (1+level)/2} s / sqrt(n), formula written out here */
	double s = gsl_stats_sd(x, 1, N);
	for (int k = 0; k < 3; k++) {
		double level = (double[]){ 0.9, 0.95, 0.99 }[k];
		double want = gsl_cdf_tdist_Pinv(1 - (1 - level) / 2, N - 1) * s / sqrt((double)N);
		assert_close(stats_acc_ci(&a, level), want, 1e-9, "acc ci");
		assert_close(stats_ci_halfwidth(x, N, level), want, 1e-9, "array ci");
	}
	assert_true(isnan(stats_acc_ci(&a, 0.0)));
	assert_true(isnan(stats_acc_ci(&a, 1.0)));

	stats_acc_reset(&a);
	assert_int_equal(stats_acc_n(&a), 0);
	assert_true(isnan(stats_acc_mean(&a)));
	assert_true(isnan(stats_acc_sd(&a)));
	assert_true(isnan(stats_acc_min(&a)));
	assert_true(isnan(stats_acc_max(&a)));
	assert_true(isnan(stats_acc_ci(&a, 0.95)));
	stats_acc_add(&a, 4.0);
	assert_true(stats_acc_mean(&a) == 4.0);
	assert_true(isnan(stats_acc_sd(&a))); /* n = 1 */
	assert_true(isnan(stats_acc_ci(&a, 0.95)));
	stats_acc_clear(&a);
	stats_acc_clear(&a); /* idempotent */
	gsl_rng_free(r);
	free(x);
}

static void test_ci_hand_computed(void **state)
{
	(void)state;
	/* {1,2,3,4,5}: mean 3, s^2 = 10/4, t_{4,0.975} = 2.7764451051977987 */
	const double x[] = { 1, 2, 3, 4, 5 };
	double want = 2.7764451051977987 * sqrt(2.5) / sqrt(5.0);
	assert_close(want, 1.96324316147756, 1e-12, "hand value");
	assert_close(stats_ci_halfwidth(x, 5, 0.95), want, 1e-12, "ci_halfwidth");
	stats_acc a;
	assert_int_equal(stats_acc_init(&a), FS_OK);
	for (int i = 0; i < 5; i++)
		stats_acc_add(&a, x[i]);
	assert_close(stats_acc_mean(&a), 3.0, 1e-15, "mean");
	assert_close(stats_acc_sd(&a), sqrt(2.5), 1e-14, "sd");
	assert_close(stats_acc_ci(&a, 0.95), want, 1e-12, "acc ci");
	stats_acc_clear(&a);
	/* two points {0, 2}: s = sqrt 2, t_{1,0.975} = 12.706204736174698 */
	const double y[] = { 0, 2 };
	assert_close(stats_ci_halfwidth(y, 2, 0.95), 12.706204736174698, 1e-12, "n=2");
	assert_true(isnan(stats_ci_halfwidth(y, 1, 0.95)));
	assert_true(isnan(stats_ci_halfwidth(y, 0, 0.95)));
	/* identical values: zero width */
	const double z[] = { 7, 7, 7, 7 };
	assert_true(stats_ci_halfwidth(z, 4, 0.95) == 0.0);
}

/* --- time average ------------------------------------------------------------------ */

static void test_tavg_step_signal(void **state)
{
	(void)state;
	stats_tavg a;
	/* value 2 on [10,11), 5 on [11,13), 0 on [13,14), 4 on [14,20) */
	stats_tavg_start(&a, 10.0, 2.0);
	assert_true(stats_tavg_mean(&a, 10.0) == 2.0); /* empty span: current value */
	assert_close(stats_tavg_mean(&a, 10.5), 2.0, 1e-15, "before any change");
	stats_tavg_set(&a, 11.0, 5.0);
	stats_tavg_set(&a, 13.0, 7.0);
	stats_tavg_set(&a, 13.0, 0.0); /* two changes at one instant: last wins */
	assert_close(stats_tavg_mean(&a, 13.0), (2.0 * 1 + 5.0 * 2) / 3.0, 1e-15, "at 13");
	stats_tavg_set(&a, 14.0, 4.0);
	/* the open segment counts up to t_now */
	assert_close(stats_tavg_mean(&a, 14.0), 12.0 / 4.0, 1e-15, "at 14");
	assert_close(stats_tavg_mean(&a, 16.0), (12.0 + 8.0) / 6.0, 1e-15, "at 16");
	assert_close(stats_tavg_mean(&a, 20.0), (12.0 + 24.0) / 10.0, 1e-15, "at 20");
	/* querying does not change the state */
	assert_close(stats_tavg_mean(&a, 20.0), 3.6, 1e-15, "again");
}

/* --- log histogram ---------------------------------------------------------------- */

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return (a > b) - (a < b);
}

/* per mille quantiles and their exact order statistic */
static const int qpm[] = { 10, 100, 500, 900, 990, 999 };

static void check_quantiles(const stats_qhist *h, const double *sorted, size_t n, double eps,
			    const char *what)
{
	for (size_t k = 0; k < sizeof qpm / sizeof qpm[0]; k++) {
		double q = qpm[k] / 1000.0;
		/* smallest value with at least ceil(q n) values <= it (integer ceil) */
		size_t rank = ((size_t)qpm[k] * n + 999) / 1000;
		double exact = sorted[rank - 1];
		double got = stats_qhist_quantile(h, q);
		double rel = fabs(got - exact) / exact;
		if (!(rel <= eps * (1 + 1e-9)))
			fail_msg("%s q=%g: got %.10g, exact %.10g, rel err %.3g > eps %g", what, q,
				 got, exact, rel, eps);
	}
	assert_true(stats_qhist_quantile(h, 0.0) == sorted[0]);
	assert_true(stats_qhist_quantile(h, 1.0) == sorted[n - 1]);
}

static void test_qhist_quantiles_vs_sorted(void **state)
{
	(void)state;
	enum { N = 100000 };
	double *x = malloc(N * sizeof *x);
	assert_non_null(x);
	const double eps_list[] = { 0.005, 0.02 };
	for (int dist = 0; dist < 2; dist++) {
		for (int e = 0; e < 2; e++) {
			double eps = eps_list[e];
			gsl_rng *r = test_rng(1000 + (unsigned long)(dist * 10 + e));
			stats_qhist h;
			assert_int_equal(stats_qhist_init(&h, 1e-6, 1e6, eps), FS_OK);
			for (int i = 0; i < N; i++) {
				x[i] = dist == 0 ? gsl_ran_lognormal(r, 0.0, 1.5)
						 : gsl_ran_exponential(r, 0.002);
				stats_qhist_add(&h, x[i]);
			}
			assert_int_equal(h.n, N);
			/* sorted twice, two ways, to be sure of the reference */
			gsl_sort(x, 1, N);
			for (int i = 1; i < N; i++)
				assert_true(x[i - 1] <= x[i]);
			check_quantiles(&h, x, N, eps, dist == 0 ? "lognormal" : "exponential");
			/* the median again through GSL's own sorted-data routine: for odd
			 * n - 1 multiples it interpolates, so compare within eps + slack */
			double med = gsl_stats_quantile_from_sorted_data(x, 1, N, 0.5);
			assert_true(fabs(stats_qhist_quantile(&h, 0.5) - med) / med < eps + 1e-3);
			stats_qhist_clear(&h);
			gsl_rng_free(r);
		}
	}
	free(x);
}

static void test_qhist_small_exact_cases(void **state)
{
	(void)state;
	/* a handful of values far apart: every quantile maps to a known value */
	const double v[] = { 3.0, 1000.0, 0.02, 55.5, 7.25 };
	double sorted[5];
	memcpy(sorted, v, sizeof v);
	qsort(sorted, 5, sizeof(double), cmp_double);
	stats_qhist h;
	const double eps = 0.01;
	assert_int_equal(stats_qhist_init(&h, 1e-3, 1e4, eps), FS_OK);
	for (int i = 0; i < 5; i++)
		stats_qhist_add(&h, v[i]);
	/* q in (0.2(j-1), 0.2 j] selects the j-th smallest */
	for (int j = 1; j <= 5; j++) {
		double qs[] = { 0.2 * j - 0.19, 0.2 * j - 0.01 };
		for (int k = 0; k < 2; k++) {
			double got = stats_qhist_quantile(&h, qs[k]);
			double want = sorted[j - 1];
			if (!(fabs(got - want) <= eps * want * (1 + 1e-9)))
				fail_msg("q=%g: got %g want %g", qs[k], got, want);
		}
	}
	assert_true(stats_qhist_quantile(&h, 0.0) == 0.02);
	assert_true(stats_qhist_quantile(&h, 1.0) == 1000.0);
	assert_true(stats_qhist_quantile(&h, -1.0) == 0.02);
	assert_true(stats_qhist_quantile(&h, 2.0) == 1000.0);
	assert_true(isnan(stats_qhist_quantile(&h, NAN)));

	/* a single value: every quantile is that value (clamped to min == max) */
	stats_qhist_reset(&h);
	assert_int_equal(h.n, 0);
	stats_qhist_add(&h, 12.345);
	for (int k = 0; k <= 10; k++)
		assert_true(stats_qhist_quantile(&h, k / 10.0) == 12.345);
	stats_qhist_clear(&h);
	stats_qhist_clear(&h); /* idempotent */
}

static void test_qhist_out_of_range(void **state)
{
	(void)state;
	stats_qhist h;
	const double lo = 1.0, hi = 100.0, eps = 0.005;
	assert_int_equal(stats_qhist_init(&h, lo, hi, eps), FS_OK);
	/* 3 below lo, 5 inside at 10, 2 above hi (one exactly at hi) */
	const double v[] = { 0.1, 0.5, 0.25, 10, 10, 10, 10, 10, 100.0, 500.0 };
	for (int i = 0; i < 10; i++)
		stats_qhist_add(&h, v[i]);
	assert_int_equal(h.n, 10);
	/* ranks 1..3 fall below lo: the report is within [min, lo] */
	for (int r = 1; r <= 3; r++) {
		double got = stats_qhist_quantile(&h, r / 10.0);
		if (!(got >= 0.1 && got <= lo))
			fail_msg("rank %d below lo: got %g, want within [0.1, %g]", r, got, lo);
	}
	/* ranks 4..8 are the 10s */
	for (int r = 4; r <= 8; r++)
		assert_true(fabs(stats_qhist_quantile(&h, r / 10.0) - 10.0) <= eps * 10.0 * (1 + 1e-9));
	/* ranks 9, 10 (q < 1) are at or above hi: reported as hi */
	assert_true(stats_qhist_quantile(&h, 0.9) == hi);
	assert_true(stats_qhist_quantile(&h, 0.95) == hi);
	/* q = 0 and 1 are exact */
	assert_true(stats_qhist_quantile(&h, 0.0) == 0.1);
	assert_true(stats_qhist_quantile(&h, 1.0) == 500.0);

	/* all values below lo: never outside [min, max] */
	stats_qhist_reset(&h);
	stats_qhist_add(&h, 0.3);
	stats_qhist_add(&h, 0.4);
	double m = stats_qhist_quantile(&h, 0.5);
	assert_true(m >= 0.3 && m <= 0.4);
	/* all values above hi */
	stats_qhist_reset(&h);
	stats_qhist_add(&h, 1e3);
	stats_qhist_add(&h, 2e3);
	m = stats_qhist_quantile(&h, 0.5);
	assert_true(m >= 1e3 && m <= 2e3);
	/* zero and negative values are counted below lo */
	stats_qhist_reset(&h);
	stats_qhist_add(&h, 0.0);
	stats_qhist_add(&h, -5.0);
	assert_int_equal(h.n, 2);
	assert_true(stats_qhist_quantile(&h, 0.0) == -5.0);
	assert_true(stats_qhist_quantile(&h, 1.0) == 0.0);
	stats_qhist_clear(&h);
}

static void test_qhist_nan_and_empty(void **state)
{
	(void)state;
	stats_qhist h;
	assert_int_equal(stats_qhist_init(&h, 1e-3, 1e3, 0.01), FS_OK);
	assert_true(isnan(stats_qhist_quantile(&h, 0.0)));
	assert_true(isnan(stats_qhist_quantile(&h, 0.5)));
	assert_true(isnan(stats_qhist_quantile(&h, 1.0)));
	stats_qhist_add(&h, NAN);
	stats_qhist_add(&h, -NAN);
	assert_int_equal(h.n, 0);
	assert_true(isnan(stats_qhist_quantile(&h, 0.5)));
	stats_qhist_add(&h, 2.0);
	stats_qhist_add(&h, NAN);
	assert_int_equal(h.n, 1);
	assert_true(stats_qhist_quantile(&h, 0.0) == 2.0);
	assert_true(stats_qhist_quantile(&h, 1.0) == 2.0);
	assert_true(stats_qhist_quantile(&h, 0.5) == 2.0);
	stats_qhist_clear(&h);
	/* invalid parameters are refused */
	assert_int_not_equal(stats_qhist_init(&h, 0.0, 1.0, 0.01), FS_OK);
	assert_int_not_equal(stats_qhist_init(&h, 2.0, 1.0, 0.01), FS_OK);
	assert_int_not_equal(stats_qhist_init(&h, 1.0, 2.0, 0.0), FS_OK);
	assert_int_not_equal(stats_qhist_init(&h, 1.0, 2.0, NAN), FS_OK);
	stats_qhist_clear(&h);
}

static void test_qhist_merge(void **state)
{
	(void)state;
	enum { N = 20000 };
	gsl_rng *r = test_rng(77);
	stats_qhist a, b, u;
	assert_int_equal(stats_qhist_init(&a, 1e-4, 1e4, 0.01), FS_OK);
	assert_int_equal(stats_qhist_init(&b, 1e-4, 1e4, 0.01), FS_OK);
	assert_int_equal(stats_qhist_init(&u, 1e-4, 1e4, 0.01), FS_OK);
	double *all = malloc(N * sizeof *all);
	assert_non_null(all);
	for (int i = 0; i < N; i++) {
		/* the halves differ in distribution, so the merge matters */
		double x = i < N / 2 ? gsl_ran_lognormal(r, 0, 1) : gsl_ran_lognormal(r, 3, 0.5);
		if (i % 997 == 0)
			x = 1e5; /* some above hi */
		if (i % 1009 == 0)
			x = 1e-5; /* some below lo */
		all[i] = x;
		stats_qhist_add(i < N / 2 ? &a : &b, x);
		stats_qhist_add(&u, x);
	}
	assert_int_equal(stats_qhist_merge(&a, &b), FS_OK);
	assert_int_equal(a.n, u.n);
	assert_true(a.min == u.min && a.max == u.max);
	for (int k = 0; k <= 1000; k++) {
		double q = k / 1000.0;
		double qa = stats_qhist_quantile(&a, q), qu = stats_qhist_quantile(&u, q);
		if (!(qa == qu))
			fail_msg("merged q=%g: %.17g vs union %.17g", q, qa, qu);
	}
	/* and the merged one against the exact order statistics */
	qsort(all, N, sizeof *all, cmp_double);
	for (size_t k = 0; k < sizeof qpm / sizeof qpm[0]; k++) {
		size_t rank = ((size_t)qpm[k] * N + 999) / 1000;
		double exact = all[rank - 1];
		if (exact < 1e-4 || exact >= 1e4)
			continue;
		assert_true(fabs(stats_qhist_quantile(&a, qpm[k] / 1000.0) - exact) / exact <=
			    0.01 * (1 + 1e-9));
	}
	/* merging into an empty histogram copies; merging an empty one is a no-op */
	stats_qhist e;
	assert_int_equal(stats_qhist_init(&e, 1e-4, 1e4, 0.01), FS_OK);
	assert_int_equal(stats_qhist_merge(&e, &u), FS_OK);
	assert_int_equal(e.n, u.n);
	stats_qhist_reset(&b);
	assert_int_equal(stats_qhist_merge(&e, &b), FS_OK);
	for (int k = 0; k <= 100; k++)
		assert_true(stats_qhist_quantile(&e, k / 100.0) == stats_qhist_quantile(&u, k / 100.0));
	/* mismatched layouts are refused */
	stats_qhist other;
	assert_int_equal(stats_qhist_init(&other, 1e-4, 1e4, 0.02), FS_OK);
	assert_int_not_equal(stats_qhist_merge(&a, &other), FS_OK);
	stats_qhist_clear(&other);
	assert_int_equal(stats_qhist_init(&other, 1e-3, 1e4, 0.01), FS_OK);
	assert_int_not_equal(stats_qhist_merge(&a, &other), FS_OK);
	stats_qhist_clear(&other);
	stats_qhist_clear(&a);
	stats_qhist_clear(&b);
	stats_qhist_clear(&u);
	stats_qhist_clear(&e);
	free(all);
	gsl_rng_free(r);
}

/* --- batch means ---------------------------------------------------------------- */

static void test_batch_hand(void **state)
{
	(void)state;
	stats_batch b;
	assert_int_equal(stats_batch_init(&b, 4), FS_OK);
	/* batches {1,2,3,4} -> 2.5, {5,6,7,8} -> 6.5, {9..12} -> 10.5; 13, 14 open */
	for (int i = 1; i <= 14; i++)
		stats_batch_add(&b, i);
	assert_int_equal(stats_batch_count(&b), 3);
	assert_close(stats_batch_mean(&b), 6.5, 1e-15, "batch mean");
	/* s = 4 over 3 batch means; t_{2,0.975} = 4.302652729749464 */
	assert_close(stats_batch_ci(&b, 0.95), 4.302652729749464 * 4.0 / sqrt(3.0), 1e-12,
		     "batch ci");
	stats_batch_clear(&b);

	/* batch size 0 is treated as 1 */
	assert_int_equal(stats_batch_init(&b, 0), FS_OK);
	stats_batch_add(&b, 3.0);
	assert_int_equal(stats_batch_count(&b), 1);
	assert_true(isnan(stats_batch_ci(&b, 0.95)));
	stats_batch_clear(&b);
}

static void test_batch_coverage(void **state)
{
	(void)state;
	enum { REPS = 200, BATCHES = 20, BSIZE = 50 };
	gsl_rng *r = test_rng(2024);
	int covered = 0;
	for (int rep = 0; rep < REPS; rep++) {
		stats_batch b;
		assert_int_equal(stats_batch_init(&b, BSIZE), FS_OK);
		for (int i = 0; i < BATCHES * BSIZE; i++)
			stats_batch_add(&b, gsl_ran_gaussian(r, 1.0));
		assert_int_equal(stats_batch_count(&b), BATCHES);
		double m = stats_batch_mean(&b), hw = stats_batch_ci(&b, 0.95);
		assert_true(hw > 0);
		if (fabs(m) <= hw)
			covered++;
		stats_batch_clear(&b);
	}
	double frac = covered / (double)REPS;
	if (!(frac >= 0.88 && frac <= 0.99))
		fail_msg("95%% batch-means CI covered 0 in %.3f of %d repetitions", frac, REPS);
	gsl_rng_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acc_vs_gsl_arrays),
		cmocka_unit_test(test_ci_hand_computed),
		cmocka_unit_test(test_tavg_step_signal),
		cmocka_unit_test(test_qhist_quantiles_vs_sorted),
		cmocka_unit_test(test_qhist_small_exact_cases),
		cmocka_unit_test(test_qhist_out_of_range),
		cmocka_unit_test(test_qhist_nan_and_empty),
		cmocka_unit_test(test_qhist_merge),
		cmocka_unit_test(test_batch_hand),
		cmocka_unit_test(test_batch_coverage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
