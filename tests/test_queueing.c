/*
 * test_queueing.c - the engine, the RNG streams and the statistics checked
 * together against queueing theory.
 *
 * An M/M/c station's mean wait is known in closed form (Erlang C), and an
 * M/D/1 station's by Pollaczek-Khinchine.  We run independent replications,
 * form a Student-t confidence interval over their means, and require the
 * theoretical value inside it.  The intervals are at 99 % so that a change in
 * how many numbers a model draws does not flip the test by bad luck (with the
 * seed fixed the test is deterministic either way); to show the check has
 * teeth, each test also requires a nearby wrong answer to fall outside.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sim.h"
#include "station.h"
#include "stats.h"

/* Run R replications; return the mean of means and the 99 % half width. */
static void replicate(const station_params *p, int reps, double warmup_s, double duration_s,
		      double *mean, double *half, double *util)
{
	double *w = calloc((size_t)reps, sizeof *w);
	double *u = calloc((size_t)reps, sizeof *u);
	assert_non_null(w);
	assert_non_null(u);
	for (int r = 0; r < reps; r++) {
		sim *s = sim_create(64);
		assert_non_null(s);
		station *st = NULL;
		fs_error err;
		assert_int_equal(station_create(s, p, 2024, (uint32_t)r, warmup_s, duration_s, NULL,
						&st, &err),
				 FS_OK);
		assert_int_equal(sim_run(s, sim_from_s(warmup_s + duration_s), &err), FS_OK);
		station_result res;
		station_result_get(st, &res);
		assert_true(res.served > 0);
		w[r] = res.wait_mean_s;
		u[r] = res.utilization;
		station_destroy(st);
		sim_destroy(s);
	}
	double sum = 0, usum = 0;
	for (int r = 0; r < reps; r++) {
		sum += w[r];
		usum += u[r];
	}
	*mean = sum / reps;
	*half = stats_ci_halfwidth(w, (size_t)reps, 0.99);
	*util = usum / reps;
	free(w);
	free(u);
}

/* Hand-computed closed forms, independent of the model code path. */
static void test_closed_forms(void **state)
{
	(void)state;
	/* M/M/1, lambda 0.5, mu 1: Wq = rho / (mu - lambda) = 1 s */
	assert_true(fabs(station_erlang_c_wait(1, 0.5, 1.0) - 1.0) < 1e-12);
	/* M/M/2, lambda 1, mu 1: P(wait) = 1/3, Wq = P / (c mu - lambda) = 1/3 s */
	assert_true(fabs(station_erlang_c_wait(2, 1.0, 1.0) - 1.0 / 3) < 1e-12);
	/* M/M/3, lambda 2.4, mu 1 (rho 0.8): sum_{k<3} a^k/k! = 1 + 2.4 + 2.88 = 6.28,
	 * a^3/3! / (1 - rho) = 2.304 / 0.2 = 11.52, P = 11.52 / 17.8, Wq = P / 0.6 */
	assert_true(fabs(station_erlang_c_wait(3, 2.4, 1.0) - (11.52 / 17.8) / 0.6) < 1e-12);
	/* M/D/1, lambda 0.8, D 1: Wq = rho D / (2 (1 - rho)) = 2 s */
	assert_true(fabs(station_md1_wait(0.8, 1.0) - 2.0) < 1e-12);
	assert_true(isinf(station_erlang_c_wait(2, 2.0, 1.0))); /* rho = 1: unstable */
}

static void test_mmc_erlang_c(void **state)
{
	(void)state;
	station_params p = { .servers = 3, .arrival_rate = 2.4, .arrival_kind = STATION_POISSON,
			     .service_mean_s = 1.0, .service_dist = STATION_EXPONENTIAL };
	double mean, half, util;
	replicate(&p, 20, 2000, 20000, &mean, &half, &util);
	double theory = station_erlang_c_wait(3, 2.4, 1.0); /* 1.0787 s */
	print_message("M/M/3 rho 0.8: simulated Wq %.4f +/- %.4f s (99 %%), Erlang C %.4f s, "
		      "utilization %.4f\n",
		      mean, half, theory, util);
	assert_true(half > 0 && half < 0.1 * theory);
	assert_true(fabs(mean - theory) <= half);
	/* teeth: a 10 % faster server would wait 1.0787 -> 0.68 s; must be rejected */
	assert_true(fabs(mean - station_erlang_c_wait(3, 2.4, 1.1)) > half);
	assert_true(fabs(util - 0.8) < 0.01);
}

static void test_md1_pollaczek_khinchine(void **state)
{
	(void)state;
	station_params p = { .servers = 1, .arrival_rate = 0.7, .arrival_kind = STATION_POISSON,
			     .service_mean_s = 1.0, .service_dist = STATION_DETERMINISTIC };
	double mean, half, util;
	replicate(&p, 20, 2000, 20000, &mean, &half, &util);
	double theory = station_md1_wait(0.7, 1.0); /* 1.1667 s */
	print_message("M/D/1 rho 0.7: simulated Wq %.4f +/- %.4f s (99 %%), P-K %.4f s\n", mean,
		      half, theory);
	assert_true(fabs(mean - theory) <= half);
	/* teeth: M/M/1 at the same load waits twice as long */
	assert_true(fabs(mean - station_erlang_c_wait(1, 0.7, 1.0)) > half);
}

/* Common random numbers: the arrival stream does not depend on the number of
 * servers, so adding a server changes waits but not arrivals. */
static void test_common_random_numbers(void **state)
{
	(void)state;
	uint64_t arrived[2];
	for (int k = 0; k < 2; k++) {
		station_params p = { .servers = 2 + k, .arrival_rate = 1.5,
				     .arrival_kind = STATION_POISSON, .service_mean_s = 1.0,
				     .service_dist = STATION_EXPONENTIAL };
		sim *s = sim_create(64);
		station *st;
		fs_error err;
		assert_int_equal(station_create(s, &p, 7, 0, 0, 1000, NULL, &st, &err), FS_OK);
		assert_int_equal(sim_run(s, sim_from_s(1000), &err), FS_OK);
		station_result r;
		station_result_get(st, &r);
		arrived[k] = r.arrived;
		station_destroy(st);
		sim_destroy(s);
	}
	assert_true(arrived[0] > 1000);
	assert_int_equal(arrived[0], arrived[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_closed_forms),
		cmocka_unit_test(test_mmc_erlang_c),
		cmocka_unit_test(test_md1_pollaczek_khinchine),
		cmocka_unit_test(test_common_random_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
