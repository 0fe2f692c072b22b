/*
 * test_report.c - unit tests of the pieces behind compare and report: nice
 * ticks and labels (output/svg.h) and the confidence intervals of compare
 * (output/compare.h).
 *
 * References are worked out by hand in the comments; the t quantiles are the
 * textbook values (t_{0.975} with 3 degrees of freedom = 3.182446305284263).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "svg.h"

static void assert_close(double got, double want, double rel, const char *what)
{
	double tol = rel * fmax(1.0, fabs(want));
	if (!(fabs(got - want) <= tol))
		fail_msg("%s: got %.17g, want %.17g (tol %.3g)", what, got, want, tol);
}

/* --- ticks ------------------------------------------------------------------------ */

static void test_nice_step(void **state)
{
	(void)state;
	/* range / target rounded up to 1, 2 or 5 x 10^k */
	assert_close(svg_nice_step(10, 5), 2, 1e-12, "10/5");
	assert_close(svg_nice_step(10, 6), 2, 1e-12, "10/6 = 1.67 -> 2");
	assert_close(svg_nice_step(7.3e6, 6), 2e6, 1e-12, "7.3 MW / 6 = 1.2 MW -> 2 MW");
	assert_close(svg_nice_step(0.9, 6), 0.2, 1e-12, "0.15 -> 0.2");
	assert_close(svg_nice_step(1, 4), 0.5, 1e-12, "0.25 -> 0.5");
	assert_close(svg_nice_step(24, 4), 10, 1e-12, "6 -> 10");
	assert_close(svg_nice_step(100, 100), 1, 1e-12, "exactly 1");
	assert_close(svg_nice_step(3e-3, 6), 5e-4, 1e-12, "0.5 ms steps");
}

static void test_nice_ticks(void **state)
{
	(void)state;
	double t[SVG_MAX_TICKS], step, lo = 0.13, hi = 9.7;
	/* step 2 (9.57/6 = 1.6); expanded to [0, 10]: 0 2 4 6 8 10 */
	size_t n = svg_nice_ticks(&lo, &hi, 6, true, t, SVG_MAX_TICKS, &step);
	assert_int_equal(n, 6);
	assert_close(lo, 0, 1e-12, "lo");
	assert_close(hi, 10, 1e-12, "hi");
	assert_close(step, 2, 1e-12, "step");
	for (size_t i = 0; i < n; i++)
		assert_close(t[i], 2.0 * (double)i, 1e-12, "tick");
	/* without expansion, only the multiples inside: 2 4 6 8 */
	lo = 0.13, hi = 9.7;
	n = svg_nice_ticks(&lo, &hi, 6, false, t, SVG_MAX_TICKS, &step);
	assert_int_equal(n, 4);
	assert_close(t[0], 2, 1e-12, "first inside");
	assert_close(t[3], 8, 1e-12, "last inside");
	/* a range across zero gives an exact zero, not 1e-17 */
	lo = -0.3, hi = 0.7;
	n = svg_nice_ticks(&lo, &hi, 5, true, t, SVG_MAX_TICKS, &step);
	assert_close(step, 0.2, 1e-12, "step 0.2");
	int zero = 0;
	for (size_t i = 0; i < n; i++)
		zero += t[i] == 0.0;
	assert_int_equal(zero, 1);
	/* the cap is respected */
	lo = 0, hi = 1000;
	n = svg_nice_ticks(&lo, &hi, 1000, false, t, 7, &step);
	assert_int_equal(n, 7);
}

static void test_log_ticks(void **state)
{
	(void)state;
	double t[SVG_MAX_TICKS];
	/* 2 ms .. 2 s (three decades): 1-2-5 in each decade */
	size_t n = svg_log_ticks(2e-3, 2, t, SVG_MAX_TICKS);
	double want[] = { 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1, 2 };
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++)
		assert_close(t[i], want[i], 1e-9, "1-2-5 tick");
	/* 1 ms .. 100 s: decades only */
	n = svg_log_ticks(1e-3, 100, t, SVG_MAX_TICKS);
	assert_int_equal(n, 6);
	assert_close(t[5], 100, 1e-9, "last decade");
}

static void test_axis_labels(void **state)
{
	(void)state;
	svg_axis a;
	char buf[64];
	/* 0 .. 1.6 MW: ticks every 0.5 MW share the prefix M and one decimal */
	svg_axis_linear(&a, 0, 1.6e6, "power", "W", true, true);
	svg_axis_label(&a, 1.5e6, buf, sizeof buf);
	assert_string_equal(buf, "1.5 MW");
	svg_axis_label(&a, 0, buf, sizeof buf);
	assert_string_equal(buf, "0.0 MW");
	/* 0 .. 0.45 s (ticks to 0.5 s): milliseconds, no decimals; the prefix is
	 * that of the largest tick, so an axis up to 1 s would read 0.2 s */
	svg_axis_linear(&a, 0, 0.45, "latency", "s", true, true);
	svg_axis_label(&a, 0.2, buf, sizeof buf);
	assert_string_equal(buf, "200 ms");
	/* counts: a k suffix from 10,000 up, and a bare zero */
	svg_axis_linear(&a, 0, 24000, "tokens", "1/s", true, true);
	svg_axis_label(&a, 15000, buf, sizeof buf);
	assert_string_equal(buf, "15k");
	svg_axis_label(&a, 0, buf, sizeof buf);
	assert_string_equal(buf, "0");
	assert_non_null(strstr(a.title, "[1/s]"));
	/* degC prints as °C on each tick */
	svg_axis_linear(&a, 20, 90, "temperature", "degC", true, false);
	svg_axis_label(&a, 40, buf, sizeof buf);
	assert_string_equal(buf, "40 °C");
	/* a day in hours */
	svg_axis_time(&a, 0, 86400, NULL);
	assert_close(a.step, 3 * 3600.0, 1e-9, "3 h steps");
	svg_axis_label(&a, 43200, buf, sizeof buf);
	assert_string_equal(buf, "12 h");
	/* table values */
	svg_format_value(buf, sizeof buf, 42330, "W", 4);
	assert_string_equal(buf, "42.33 kW");
	svg_format_value(buf, sizeof buf, 0.0388, "s", 3);
	assert_string_equal(buf, "38.8 ms");
	svg_format_value(buf, sizeof buf, 999999, "W", 3);
	assert_string_equal(buf, "1 MW");
	svg_format_value(buf, sizeof buf, NAN, "W", 3);
	assert_string_equal(buf, "–");
}

static void test_axis_set_ticks(void **state)
{
	(void)state;
	svg_axis a;
	char buf[64];
	/* a sweep's values as the ticks: 0.6, 0.85 and 1 need two decimals, all of them */
	svg_axis_linear(&a, 0.58, 1.02, "gpu_cap", "1", false, false);
	double v[] = { 0.6, 0.85, 1.0, 7.0 /* outside: dropped */ };
	svg_axis_set_ticks(&a, v, 4);
	assert_int_equal(a.nticks, 3);
	svg_axis_label(&a, 0.85, buf, sizeof buf);
	assert_string_equal(buf, "0.85");
	svg_axis_label(&a, 1.0, buf, sizeof buf);
	assert_string_equal(buf, "1.00");
	/* rack counts stay whole */
	svg_axis_linear(&a, 7.4, 20.6, "racks", "1", false, false);
	double r[] = { 8, 12, 16, 20 };
	svg_axis_set_ticks(&a, r, 4);
	assert_int_equal(a.nticks, 4);
	svg_axis_label(&a, 12, buf, sizeof buf);
	assert_string_equal(buf, "12");
}

/* The text elements svg_labels wrote: their count. */
static size_t count(const char *s, const char *what)
{
	size_t k = 0;
	for (const char *p = s; (p = strstr(p, what)); p++)
		k++;
	return k;
}

static void test_labels(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	svg_chart c;
	assert_int_equal(svg_chart_init(&c, out, 960, 340, "labels", NULL), 0);
	svg_axis_linear(&c.x, 0, 100, "x", "1", false, false);
	svg_axis_linear(&c.y, 0, 100, "y", "1", false, false);
	/* four points a pixel apart, as Pareto points of nearly equal designs are:
	 * there is room around them for every label */
	double x[] = { 50, 50.1, 50.2, 50.3 }, y[] = { 50, 50.2, 49.8, 50.1 };
	const char *t[] = { "gpu_cap=1, racks=12", "gpu_cap=1, racks=8", "gpu_cap=0.8, racks=16",
			    "gpu_cap=0.6, racks=20" };
	assert_int_equal(svg_labels(&c, x, y, t, 4, NULL, NULL, 0, 5, "#a02020"), 0);
	/* thirty at one point of a plot too small for them: some must overlap */
	svg_chart d;
	assert_int_equal(svg_chart_init(&d, out, 200, 140, "crowded", NULL), 0);
	double cx[30], cy[30];
	const char *ct[30];
	for (int i = 0; i < 30; i++)
		cx[i] = cy[i] = 0.5, ct[i] = "a long label";
	assert_true(svg_labels(&d, cx, cy, ct, 30, NULL, NULL, 0, 5, "#333") > 0);
	svg_chart_end(&c);
	svg_chart_end(&d);
	fclose(out);
	assert_int_equal(count(buf, "class=\"label\""), 34);
	free(buf);
}

/* --- confidence intervals -------------------------------------------------------------- */

static void test_paired_ci(void **state)
{
	(void)state;
	/* d = b - a = {1, 2, 1, 2}: mean 1.5, sd sqrt(1/3) = 0.5773502691896258,
	 * se = 0.2886751345948129, t(0.975, 3) = 3.182446305284263,
	 * half = 0.9186823... -> [0.5813176..., 2.4186823...] */
	double a[] = { 10, 12, 11, 13 }, b[] = { 11, 14, 12, 15 };
	cmp_ci ci;
	assert_int_equal(compare_paired_ci(a, b, 4, 0.95, &ci), 4);
	double half = 3.182446305284263 * sqrt(1.0 / 3.0) / 2.0;
	assert_close(ci.mean, 1.5, 1e-12, "mean difference");
	assert_close(ci.half, half, 1e-9, "half width");
	assert_close(ci.lo, 1.5 - half, 1e-9, "lo");
	assert_close(ci.hi, 1.5 + half, 1e-9, "hi");
	assert_close(ci.df, 3, 0, "df");
	/* a NaN on either side drops that pair: d = {1, 1, 2} */
	double a2[] = { 10, NAN, 11, 13 }, b2[] = { 11, 14, 12, 15 };
	assert_int_equal(compare_paired_ci(a2, b2, 4, 0.95, &ci), 3);
	assert_close(ci.mean, 4.0 / 3.0, 1e-12, "mean of three");
	/* one pair: a difference but no interval */
	assert_int_equal(compare_paired_ci(a, b, 1, 0.95, &ci), 1);
	assert_close(ci.mean, 1, 1e-12, "one pair");
	assert_true(isnan(ci.half));
}

static void test_welch_ci(void **state)
{
	(void)state;
	/* a = {1, 2, 3}: mean 2, var 1; b = {2, 4, 6, 8}: mean 5, var 20/3.
	 * se^2 = 1/3 + 5/3 = 2; df = 4 / ((1/3)^2/2 + (5/3)^2/3) = 4 / (1/18 + 25/27)
	 *      = 4.0754716981132075; half = t(0.975, df) sqrt(2). */
	double a[] = { 1, 2, 3 }, b[] = { 2, 4, 6, 8 };
	cmp_ci ci;
	compare_welch_ci(a, 3, b, 4, 0.95, &ci);
	assert_close(ci.mean, 3, 1e-12, "difference of means");
	assert_close(ci.df, 4.0754716981132075, 1e-12, "Welch-Satterthwaite df");
	/* t(0.975, 4.0755) lies between t(0.975, 4) = 2.776445 and t(0.975, 5) = 2.570582 */
	assert_true(ci.half > 2.570582 * sqrt(2) && ci.half < 2.776445 * sqrt(2));
	double mean, half;
	/* the mean's own interval: {1, 2, 3}: 2 +/- t(0.975, 2) / sqrt(3) */
	assert_int_equal(compare_mean_ci(a, 3, 0.95, &mean, &half), 3);
	assert_close(mean, 2, 1e-12, "mean");
	assert_close(half, 4.302652729911275 / sqrt(3.0), 1e-9, "half of the mean");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nice_step),   cmocka_unit_test(test_nice_ticks),
		cmocka_unit_test(test_log_ticks),   cmocka_unit_test(test_axis_labels),
		cmocka_unit_test(test_axis_set_ticks), cmocka_unit_test(test_labels),
		cmocka_unit_test(test_paired_ci),   cmocka_unit_test(test_welch_ci),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
