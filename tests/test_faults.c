/*
 * test_faults.c - failures, remediation and maintenance (models/faults.h),
 * checked against results computed here, independently of the model.
 *
 *  1. Lifetimes: Weibull draws have mean lambda Gamma(1 + 1/k) and variance
 *     lambda^2 (Gamma(1 + 2/k) - Gamma(1 + 1/k)^2); the steady-state residual
 *     lifetime has mean E[X^2] / (2 E[X]) = lambda Gamma(1 + 2/k) /
 *     (2 Gamma(1 + 1/k)); exponential draws have mean MTBF.
 *  2. Availability: with exponential failures, instant detection, no drain
 *     and no spares, each component is an alternating renewal process, so a
 *     replica that needs every one of its components is up a share
 *     prod_i MTBF_i / (MTBF_i + MTTR_i) of the time.  Over replications the
 *     measured availability must hold it in its 99 % Student-t interval: one
 *     class (racks), then three at once (rack, tray, 8 GPUs).
 *  3. Conservation: requests from a finite trace, served through injected
 *     failures of every class, detection delays, drains and a maintenance
 *     window, all finish exactly once.  Retries on a hand-computed case: ten
 *     requests one second apart, round robin over two replicas, all still
 *     decoding at t = 20 s when replica 0's rack fails: five retries; with the
 *     KV lost their generated tokens are discarded, with it recovered none.
 *  4. Power: a rack that fails at a tick boundary draws nothing from then on;
 *     the site's IT and GPU energy fall by exactly its share, and the books
 *     (facility = IT + losses + cooling) still close.
 *  5. Determinism: same seed, same results; `reliability` with random
 *     failures off and nothing scheduled leaves every serving and power
 *     result bit-identical to a run without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>

#include "faults.h"
#include "runner.h"
#include "scenario.h"
#include "serving.h"
#include "sim.h"
#include "workload.h"

/* --- harness ------------------------------------------------------------------------ */

static scenario *load(const char *yaml, const char *const *sets, size_t nsets)
{
	scenario *sc = calloc(1, sizeof *sc);
	assert_non_null(sc);
	fs_error err;
	fs_error_clear(&err);
	int rc = scenario_load_string(yaml, "test_faults", sets, nsets, sc, &err);
	if (rc) {
		char buf[2048];
		fs_error_format(&err, buf, sizeof buf);
		print_error("scenario: %s\n", buf);
	}
	assert_int_equal(rc, FS_OK);
	return sc;
}

static void unload(scenario *sc)
{
	scenario_clear(sc);
	free(sc);
}

static void run(const scenario *sc, run_summary *sum)
{
	fs_error err;
	fs_error_clear(&err);
	runner_opts o = { 0 };
	int rc = runner_run(sc, &o, sum, &err);
	if (rc)
		print_error("run: %s (%s)\n", err.message, err.key);
	assert_int_equal(rc, FS_OK);
}

typedef struct rowvec {
	rec_request *v;
	size_t n, cap;
} rowvec;

static void collect(void *ctx, const rec_request *row)
{
	rowvec *rv = ctx;
	if (rv->n == rv->cap) {
		size_t ncap = rv->cap ? 2 * rv->cap : 1024;
		rec_request *nv = realloc(rv->v, ncap * sizeof *nv);
		if (!nv)
			abort();
		rv->v = nv;
		rv->cap = ncap;
	}
	rv->v[rv->n++] = *row;
}

/* Serving + faults on the engine (no site), every request's row collected;
 * runs to end_s. */
typedef struct direct {
	rowvec rows;
	srv_result sv;
	flt_result flt;
	uint64_t discarded;
} direct;

static void run_direct(const scenario *sc, double end_s, direct *d)
{
	memset(d, 0, sizeof *d);
	fs_error err;
	fs_error_clear(&err);
	sim *s = sim_create(1024);
	assert_non_null(s);
	workload *wl = NULL;
	assert_int_equal(workload_create(sc->classes, sc->n_classes, sc->seed, sc->replication, &wl,
					 &err),
			 FS_OK);
	serving *sv = NULL;
	int rc = serving_create(s, &sc->serving, sc->pool_hw, wl, sc->seed, sc->replication,
				sc->warmup_s, NULL, &sv, &err);
	if (rc)
		print_error("serving: %s\n", err.message);
	assert_int_equal(rc, FS_OK);
	serving_set_request_hook(sv, collect, &d->rows);
	faults *f = NULL;
	rc = faults_create(s, &sc->faults, sc->rack_list, sc->n_rack_list, sv, NULL, sc->seed,
			   sc->replication, sc->warmup_s, NULL, &f, &err);
	if (rc)
		print_error("faults: %s\n", err.message);
	assert_int_equal(rc, FS_OK);
	sim_set_tick(s, sim_from_s(sc->tick_s), 0, NULL, NULL);
	assert_int_equal(sim_run(s, sim_from_s(end_s), &err), FS_OK);
	serving_result(sv, &d->sv);
	d->sv.classes = NULL;
	faults_result(f, &d->flt);
	d->discarded = serving_tokens_discarded(sv);
	faults_destroy(f);
	serving_destroy(sv);
	workload_destroy(wl);
	sim_destroy(s);
}

/* --- 1. lifetimes ------------------------------------------------------------------- */

static void check_moments(const hw_lifetime *l, bool residual, double mean, double var)
{
	gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
	gsl_rng_set(g, 12345);
	const int n = 400000;
	double sum = 0, sum2 = 0;
	for (int i = 0; i < n; i++) {
		double x = faults_lifetime(l, g, residual);
		assert_true(x >= 0);
		sum += x;
		sum2 += x * x;
	}
	gsl_rng_free(g);
	double m = sum / n, v = sum2 / n - m * m;
	double se = sqrt(v / n);
	if (fabs(m - mean) > 4.5 * se)
		print_error("mean %.6g, expected %.6g (4.5 se = %.3g)\n", m, mean, 4.5 * se);
	assert_true(fabs(m - mean) <= 4.5 * se);
	if (var > 0)
		assert_true(fabs(v - var) <= 0.03 * var);
}

static void test_lifetime_moments(void **state)
{
	(void)state;
	const double shapes[] = { 0.7, 1.0, 1.5, 3.0 };
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		double k = shapes[i], mtbf = 80000 * 3600.0;
		hw_lifetime l = { .enabled = true, .mtbf_s = mtbf, .distribution = HW_LIFE_WEIBULL,
				  .shape = k };
		/* lambda from the mean, computed here */
		double g1 = gsl_sf_gamma(1 + 1 / k), g2 = gsl_sf_gamma(1 + 2 / k);
		double lambda = mtbf / g1;
		assert_true(fabs(faults_weibull_scale(mtbf, k) - lambda) <= 1e-12 * lambda);
		check_moments(&l, false, lambda * g1, lambda * lambda * (g2 - g1 * g1));
		check_moments(&l, true, lambda * g2 / (2 * g1), 0);
	}
	hw_lifetime e = { .enabled = true, .mtbf_s = 1000, .distribution = HW_LIFE_EXPONENTIAL,
			  .shape = 1 };
	check_moments(&e, false, 1000, 1e6);
	check_moments(&e, true, 1000, 1e6);
}

/* --- 2. availability against the alternating renewal result ---------------------- */

#define AVAIL_BASE                                                                             \
	"name: avail\nseed: 3\nduration: 3000 h\nwarmup: 50 h\ncontrol_tick: 10 min\n"          \
	"racks: [{ type: hgx-h100, count: 4 }]\n"                                              \
	"serving:\n  pools:\n    - { name: p, model: llama-3.1-8b, rack: hgx-h100, "          \
	"parallel: { tp: 8 } }\n"                                                             \
	"workload:\n  - { name: c, model: llama-3.1-8b, arrival: { rate: 0.001 /s }, "         \
	"input: { distribution: fixed, mean: 100 }, output: { distribution: fixed, mean: 10 } }\n"

static void check_availability(const char *yaml, double expect, int reps)
{
	double sum = 0, sum2 = 0;
	uint64_t failures = 0;
	for (int r = 0; r < reps; r++) {
		char set[64];
		snprintf(set, sizeof set, "replication=%d", r);
		const char *sets[] = { set };
		scenario *sc = load(yaml, sets, 1);
		run_summary sum_r;
		run(sc, &sum_r);
		assert_true(sum_r.has_faults);
		double a = sum_r.flt.availability;
		failures += sum_r.flt.failures_total;
		sum += a;
		sum2 += a * a;
		runner_summary_free(&sum_r);
		unload(sc);
	}
	double mean = sum / reps, sd = sqrt((sum2 - reps * mean * mean) / (reps - 1));
	double half = gsl_cdf_tdist_Pinv(0.995, reps - 1) * sd / sqrt(reps);
	print_message("availability %.5f +/- %.5f (99 %%), theory %.5f, %llu failures\n", mean, half,
		      expect, (unsigned long long)failures);
	assert_true(failures > 100);
	assert_true(fabs(mean - expect) <= half);
	/* and the interval is tight enough to mean something */
	assert_true(half < 0.02);
}

static void test_availability_one_class(void **state)
{
	(void)state;
	/* racks only: MTBF 10 h, repair 2 h (fixed): A = 10 / 12 */
	check_availability(AVAIL_BASE "reliability:\n  detect: 0 s\n  drain: 0 s\n"
			   "  repair_distribution: fixed\n"
			   "  gpu: { enabled: false }\n  tray: { enabled: false }\n"
			   "  switch_tray: { enabled: false }\n"
			   "  rack: { mtbf: 10 h, distribution: exponential, repair: 2 h }\n",
			   10.0 / 12.0, 12);
}

static void test_availability_product(void **state)
{
	(void)state;
	/* rack 100 h / 5 h, tray 50 h / 4 h, each of 8 GPUs 400 h / 3 h, exponential
	 * repairs; a TP-8 replica needs all ten components */
	double a = 100.0 / 105 * 50.0 / 54 * pow(400.0 / 403, 8);
	check_availability(AVAIL_BASE "reliability:\n  detect: 0 s\n  drain: 0 s\n"
			   "  repair_distribution: exponential\n"
			   "  switch_tray: { enabled: false }\n"
			   "  rack: { mtbf: 100 h, repair: 5 h }\n"
			   "  tray: { mtbf: 50 h, repair: 4 h }\n"
			   "  gpu: { mtbf: 400 h, repair: 3 h }\n",
			   a, 12);
}

/* --- 3. conservation and retries ---------------------------------------------------- */

static char trace_path[64];

static void write_trace(int n, double gap_s, int input, int output)
{
	snprintf(trace_path, sizeof trace_path, "/tmp/fs_test_faults_%d.jsonl", (int)getpid());
	FILE *f = fopen(trace_path, "w");
	assert_non_null(f);
	for (int i = 0; i < n; i++)
		fprintf(f, "{\"time\": %.6f, \"input\": %d, \"output\": %d}\n", i * gap_s, input,
			output);
	fclose(f);
}

static void test_retries_hand_computed(void **state)
{
	(void)state;
	/* ten requests at t = 0..9 s, 100,000 output tokens each (minutes of decode),
	 * round robin over two TP-8 replicas (one per rack): replica 0 holds
	 * requests 0, 2, 4, 6, 8 when its rack fails at t = 20 s */
	write_trace(10, 1.0, 100, 100000);
	for (int recovered = 0; recovered < 2; recovered++) {
		char yaml[2048];
		snprintf(yaml, sizeof yaml,
			 "name: retries\nseed: 1\nduration: 30 min\ncontrol_tick: 1 s\n"
			 "racks: [{ type: hgx-h100, count: 2 }]\n"
			 "serving:\n  pools:\n    - { name: p, model: llama-3.1-8b, rack: hgx-h100, "
			 "parallel: { tp: 8 }, router: round_robin }\n"
			 "workload:\n  - { name: c, model: llama-3.1-8b, arrival: { process: trace, "
			 "file: %s, format: jsonl } }\n"
			 "reliability:\n  enabled: false\n  detect: 0 s\n  kv_on_failure: %s\n"
			 "  rack: { repair: 1000 h }\n"
			 "  inject: [{ at: 20 s, component: rack, rack: 0 }]\n",
			 trace_path, recovered ? "recovered" : "lost");
		scenario *sc = load(yaml, NULL, 0);
		direct d;
		run_direct(sc, 1800, &d);
		print_message("kv %s: retries %llu, discarded %llu, finished %llu\n",
			      recovered ? "recovered" : "lost", (unsigned long long)d.flt.retries,
			      (unsigned long long)d.discarded, (unsigned long long)d.sv.overall.finished);
		assert_int_equal(d.flt.retries, 5);
		assert_int_equal(d.flt.failures[HW_FAIL_RACK], 1);
		assert_int_equal(d.rows.n, 10);
		assert_int_equal(d.sv.overall.finished, 10);
		for (size_t i = 0; i < d.rows.n; i++) {
			assert_true(isfinite(d.rows.v[i].finish_s));
			assert_int_equal(d.rows.v[i].replica, 1); /* all end on the survivor */
		}
		if (recovered) {
			assert_int_equal(d.discarded, 0);
		} else {
			/* each of the five had decoded for 11 to 20 s: hundreds of tokens,
			 * fewer than it asked for */
			assert_true(d.discarded > 5 * 100);
			assert_true(d.discarded < 5 * 100000);
		}
		free(d.rows.v);
		unload(sc);
	}
	unlink(trace_path);
}

static int by_id(const void *a, const void *b)
{
	const rec_request *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void test_conservation_under_failures(void **state)
{
	(void)state;
	/* 3,000 requests over 300 s on 2 NVL72 racks (TP 2: two replicas per tray),
	 * with failures of every class, detection delays, drains, spares for some,
	 * and a maintenance window; every request must finish exactly once */
	write_trace(3000, 0.1, 600, 150);
	for (int recovered = 0; recovered < 2; recovered++) {
		char yaml[4096];
		snprintf(yaml, sizeof yaml,
			 "name: conserve\nseed: 5\nduration: 20 min\ncontrol_tick: 1 s\n"
			 "racks: [{ type: gb200-nvl72, count: 2 }]\n"
			 "serving:\n  pools:\n    - { name: p, model: llama-3.1-8b, rack: gb200-nvl72, "
			 "parallel: { tp: 2 }, router: least_work, batching: { max_seqs: 16 } }\n"
			 "workload:\n  - { name: c, model: llama-3.1-8b, arrival: { process: trace, "
			 "file: %s, format: jsonl } }\n"
			 "reliability:\n  enabled: false\n  detect: 3 s\n  drain: 5 s\n"
			 "  kv_on_failure: %s\n  repair_distribution: fixed\n"
			 "  gpu: { repair: 40 s, replace: 10 s }\n  tray: { repair: 40 s, replace: 10 s }\n"
			 "  switch_tray: { repair: 30 s, replace: 10 s }\n  rack: { repair: 60 s }\n"
			 "  spares: { trays: 1 }\n"
			 "  inject:\n"
			 "    - { at: 20 s, component: gpu, rack: 0, index: 1 }\n"
			 "    - { at: 22 s, component: gpu, rack: 0, index: 5 }\n"
			 "    - { at: 50 s, component: tray, rack: 1, index: 3 }\n"
			 "    - { at: 90 s, component: switch_tray, rack: 1, index: 0 }\n"
			 "    - { at: 150 s, component: rack, rack: 0 }\n"
			 "    - { at: 155 s, component: gpu, rack: 1, index: 70 }\n"
			 "  maintenance: [{ at: 230 s, for: 40 s, racks: 50 %%, first: 1 }]\n",
			 trace_path, recovered ? "recovered" : "lost");
		scenario *sc = load(yaml, NULL, 0);
		direct d;
		run_direct(sc, 1200, &d);
		print_message("kv %s: retries %llu, rerouted %llu, discarded %llu, failures %llu, "
			      "availability %.4f, mttr %.1f s\n",
			      recovered ? "recovered" : "lost", (unsigned long long)d.flt.retries,
			      (unsigned long long)d.flt.rerouted, (unsigned long long)d.discarded,
			      (unsigned long long)d.flt.failures_total, d.flt.availability, d.flt.mttr_s);
		assert_int_equal(d.flt.failures_total, 6);
		assert_int_equal(d.flt.remediations, 6);
		assert_int_equal(d.flt.maintenance, 1);
		assert_true(d.flt.retries > 0);
		assert_true(d.flt.availability < 1);
		assert_true(d.flt.spares_used >= 1);
		/* every request once, finished */
		assert_int_equal(d.rows.n, 3000);
		qsort(d.rows.v, d.rows.n, sizeof *d.rows.v, by_id);
		for (size_t i = 0; i < d.rows.n; i++) {
			if (i)
				assert_true(d.rows.v[i].id != d.rows.v[i - 1].id);
			assert_true(isfinite(d.rows.v[i].finish_s));
			assert_true(d.rows.v[i].first_token_s <= d.rows.v[i].finish_s);
		}
		assert_int_equal(d.sv.overall.arrived, 3000);
		assert_int_equal(d.sv.overall.finished + d.sv.dropped, 3000);
		if (recovered)
			assert_int_equal(d.discarded, 0);
		free(d.rows.v);
		unload(sc);
	}
	unlink(trace_path);
}

/* --- 4. power ------------------------------------------------------------------------- */

#define POWER_BASE                                                                             \
	"name: power\nseed: 2\nduration: 1 h\ncontrol_tick: 10 s\n"                             \
	"racks: [{ type: hgx-h100, count: 2 }]\n"                                              \
	"serving:\n  pools:\n    - { name: p, model: llama-3.1-8b, rack: hgx-h100, "          \
	"parallel: { tp: 1 } }\n"                                                             \
	"workload:\n  - { name: c, model: llama-3.1-8b, arrival: { rate: 1e-9 /s } }\n"        \
	"site: { power_budget: 100 kW }\n"                                                     \
	"power:\n  chain:\n    - { name: ups, rating: 40 kW, noload: 1 %, k: 1 %, r: 2 % }\n"

static void test_down_rack_power(void **state)
{
	(void)state;
	scenario *a = load(POWER_BASE, NULL, 0);
	scenario *b = load(POWER_BASE "reliability:\n  enabled: false\n  detect: 0 s\n"
				      "  rack: { repair: 1000 h }\n"
				      "  inject: [{ at: 1000 s, component: rack, rack: 1 }]\n",
			   NULL, 0);
	run_summary ra, rb;
	run(a, &ra);
	run(b, &rb);
	assert_int_equal(ra.sv.overall.arrived, 0); /* idle racks: constant power */
	/* rack 1 draws nothing after 1000 s of 3600: IT = (3600 + 1000) / 7200 of two racks */
	double share = (3600.0 + 1000.0) / 7200.0;
	print_message("IT %.6g J vs %.6g J x %.4f; GPU %.6g J vs %.6g J\n", rb.fac.e_it_j,
		      ra.fac.e_it_j, share, rb.fac.e_gpu_j, ra.fac.e_gpu_j);
	assert_true(fabs(rb.fac.e_it_j - share * ra.fac.e_it_j) <= 1e-9 * ra.fac.e_it_j);
	assert_true(fabs(rb.fac.e_gpu_j - share * ra.fac.e_gpu_j) <= 1e-9 * ra.fac.e_gpu_j);
	/* the chain's losses follow (less load), and the books close */
	assert_true(rb.fac.e_loss_j < ra.fac.e_loss_j);
	const fac_result *p = &rb.fac;
	assert_true(fabs(p->e_facility_j - (p->e_it_j + p->e_loss_j + p->e_cool_j)) <=
		    1e-9 * p->e_facility_j);
	assert_true(rb.flt.availability < 0.8 && rb.flt.availability > 0.6);
	runner_summary_free(&ra);
	runner_summary_free(&rb);
	unload(a);
	unload(b);

	/* mid-tick: the rack's share of that tick follows the time it was up */
	scenario *c = load(POWER_BASE "reliability:\n  enabled: false\n  detect: 0 s\n"
				      "  rack: { repair: 1000 h }\n"
				      "  inject: [{ at: 1004 s, component: rack, rack: 1 }]\n",
			   NULL, 0);
	scenario *a2 = load(POWER_BASE, NULL, 0);
	run_summary rc, ra2;
	run(c, &rc);
	run(a2, &ra2);
	share = (3600.0 + 1004.0) / 7200.0;
	/* within the PSU curve's bend over one 10 s tick of one rack */
	double tick_rack = ra2.fac.e_it_j / 2 / 360;
	assert_true(fabs(rc.fac.e_it_j - share * ra2.fac.e_it_j) <= 0.05 * tick_rack);
	assert_true(fabs(rc.fac.e_gpu_j - share * ra2.fac.e_gpu_j) <= 1e-9 * ra2.fac.e_gpu_j);
	runner_summary_free(&rc);
	runner_summary_free(&ra2);
	unload(c);
	unload(a2);
}

/* --- 5. determinism ---------------------------------------------------------------- */

#define DET_BASE                                                                               \
	"name: det\nseed: 9\nduration: 2 h\nwarmup: 5 min\ncontrol_tick: 10 s\n"                \
	"racks: [{ type: gb200-nvl72, count: 2 }]\n"                                           \
	"serving:\n  pools:\n    - { name: p, model: llama-3.1-8b, rack: gb200-nvl72, "       \
	"parallel: { tp: 4 } }\n"                                                             \
	"workload:\n  - { name: c, model: llama-3.1-8b, arrival: { rate: 40 /s }, "            \
	"input: { mean: 800 }, output: { mean: 200 }, slo: { ttft: 1 s, tpot: 30 ms } }\n"    \
	"site: { power_budget: 400 kW }\n"

static bool same_class(const srv_class_result *x, const srv_class_result *y)
{
	/* the struct holds no pointers or padding-dependent fields we write
	 * differently: compare it whole */
	return memcmp(x, y, sizeof *x) == 0;
}

static void test_determinism(void **state)
{
	(void)state;
	/* accelerated failures so that two hours see several */
	const char *faulty = DET_BASE "reliability:\n  gpu: { mtbf: 200 h, repair: 20 min }\n"
				      "  tray: { mtbf: 100 h, distribution: weibull, shape: 1.3 }\n"
				      "  switch_tray: { mtbf: 100 h }\n"
				      "  spares: { trays: 1, replace: 5 min }\n";
	scenario *a = load(faulty, NULL, 0), *b = load(faulty, NULL, 0);
	run_summary ra, rb;
	run(a, &ra);
	run(b, &rb);
	print_message("failures %llu, retries %llu, availability %.5f\n",
		      (unsigned long long)ra.flt.failures_total, (unsigned long long)ra.flt.retries,
		      ra.flt.availability);
	assert_true(ra.flt.failures_total > 0);
	assert_memory_equal(&ra.flt, &rb.flt, sizeof ra.flt);
	assert_true(same_class(&ra.sv.overall, &rb.sv.overall));
	assert_memory_equal(&ra.fac, &rb.fac, sizeof ra.fac);
	runner_summary_free(&ra);
	runner_summary_free(&rb);
	unload(b);
	/* another replication differs */
	const char *sets[] = { "replication=1" };
	b = load(faulty, sets, 1);
	run(a, &ra);
	run(b, &rb);
	assert_true(memcmp(&ra.flt, &rb.flt, sizeof ra.flt) != 0);
	runner_summary_free(&ra);
	runner_summary_free(&rb);
	unload(a);
	unload(b);

	/* off: bit-identical to no reliability at all */
	scenario *plain = load(DET_BASE, NULL, 0);
	scenario *off = load(DET_BASE "reliability: { enabled: false }\n", NULL, 0);
	run(plain, &ra);
	run(off, &rb);
	assert_false(ra.has_faults);
	assert_true(rb.has_faults);
	assert_true(rb.flt.availability == 1.0);
	assert_true(same_class(&ra.sv.overall, &rb.sv.overall));
	assert_int_equal(ra.sv.iterations, rb.sv.iterations);
	assert_int_equal(ra.sv.stretches, rb.sv.stretches);
	assert_memory_equal(&ra.fac, &rb.fac, sizeof ra.fac);
	runner_summary_free(&ra);
	runner_summary_free(&rb);
	unload(plain);
	unload(off);
}

/* --- 6. schema -------------------------------------------------------------------- */

static void test_schema(void **state)
{
	(void)state;
	const char *yaml =
		DET_BASE "reliability:\n  gpu: { mtbf: 50000 h, distribution: weibull, shape: 1.1 }\n"
			 "  kv_on_failure: recovered\n  start: new\n"
			 "  spares: { trays: 4, switch_trays: 1, replace: 30 min }\n"
			 "  inject: [{ at: 1 h, component: tray, rack: 1, index: 17 }]\n"
			 "  maintenance: [{ at: 2 d, for: 4 h, racks: 10 %, first: 1 }]\n"
			 "  rolling_upgrade: { start: 3 d, batch: 50 %, per_batch: 2 h }\n";
	scenario *a = load(yaml, NULL, 0);
	const flt_params *p = &a->faults;
	assert_true(a->has_faults && p->enabled && p->kv_recovered && p->new_fleet);
	/* the override changes only what it names; the rest is the catalog's */
	assert_true(a->cat.has_reliability);
	const hw_reliability *cat = &a->cat.reliability;
	assert_true(p->rel.cls[HW_FAIL_GPU].mtbf_s == 50000 * 3600.0);
	assert_int_equal(p->rel.cls[HW_FAIL_GPU].distribution, HW_LIFE_WEIBULL);
	assert_true(p->rel.cls[HW_FAIL_GPU].shape == 1.1);
	assert_true(p->rel.cls[HW_FAIL_GPU].repair_s == cat->cls[HW_FAIL_GPU].repair_s);
	assert_true(p->rel.cls[HW_FAIL_RACK].mtbf_s == cat->cls[HW_FAIL_RACK].mtbf_s);
	assert_true(p->rel.detect_s == cat->detect_s);
	/* spares.replace sets the swap time of trays (and so GPUs) and switch trays */
	assert_true(p->rel.cls[HW_FAIL_TRAY].replace_s == 1800);
	assert_true(p->rel.cls[HW_FAIL_GPU].replace_s == 1800);
	assert_true(p->rel.cls[HW_FAIL_RACK].replace_s == cat->cls[HW_FAIL_RACK].replace_s);
	assert_int_equal(p->spares[HW_FAIL_TRAY], 4);
	assert_int_equal(p->n_inject, 1);
	assert_int_equal(p->inject[0].cls, HW_FAIL_TRAY);
	assert_int_equal(p->inject[0].index, 17);
	assert_true(p->maint[0].share == 0.1 && p->maint[0].first == 1);
	assert_true(p->has_rolling && p->roll_batch == 0.5);
	/* the resolved text loads back to the same parameters, and is a fixed point */
	scenario *b = load(a->text_resolved, NULL, 0);
	assert_memory_equal(&a->faults, &b->faults, sizeof a->faults);
	assert_string_equal(a->text_resolved, b->text_resolved);
	unload(b);
	/* NVL72: 18 compute trays, 9 switch trays (the catalog's topology) */
	assert_int_equal(a->rack_list[0]->trays, 18);
	assert_int_equal(a->rack_list[0]->switch_trays, 9);
	unload(a);

	/* errors name the place */
	const struct {
		const char *text, *msg;
	} bad[] = {
		{ "reliability:\n  gpu: { mtbf: 1 h, shape: 2 }\n",
		  "reliability.gpu.shape: shape is used only with distribution weibull" },
		{ "reliability:\n  inject: [{ at: 1 h, component: gpu, rack: 2 }]\n",
		  "reliability.inject[0].rack: value 2 is out of range" },
		{ "reliability:\n  inject: [{ at: 1 h, component: tray, rack: 0, index: 18 }]\n",
		  "reliability.inject[0].index: value 18 is out of range" },
		{ "reliability:\n  maintenance: [{ at: 1 h, for: 0 s, racks: 10 % }]\n",
		  "reliability.maintenance[0].for: value 0 s is out of range" },
		{ "reliability:\n  kv_on_failure: migrated\n",
		  "reliability.kv_on_failure: unknown choice 'migrated'" },
		{ "reliability:\n  spares: { gpus: 2 }\n",
		  "reliability.spares.gpus: unknown key 'gpus'" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[4096];
		snprintf(text, sizeof text, "%s%s", DET_BASE, bad[i].text);
		scenario sc;
		fs_error err;
		fs_error_clear(&err);
		assert_int_not_equal(scenario_load_string(text, "t.yaml", NULL, 0, &sc, &err), FS_OK);
		char msg[2048];
		fs_error_format(&err, msg, sizeof msg);
		if (!strstr(msg, bad[i].msg) || !strstr(msg, "t.yaml:"))
			print_error("got: %s\nexpected: %s\n", msg, bad[i].msg);
		assert_non_null(strstr(msg, bad[i].msg));
		assert_non_null(strstr(msg, "t.yaml:"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifetime_moments),
		cmocka_unit_test(test_availability_one_class),
		cmocka_unit_test(test_availability_product),
		cmocka_unit_test(test_retries_hand_computed),
		cmocka_unit_test(test_conservation_under_failures),
		cmocka_unit_test(test_down_rack_power),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_schema),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
