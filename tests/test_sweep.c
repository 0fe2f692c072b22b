/*
 * test_sweep.c - unit tests of run/sweep.h: constraint expressions against
 * hand-computed values, the grid with tied parameters, Latin hypercube
 * stratification (every stratum of every parameter used exactly once), the
 * Sobol design against the published first points of the 2-D Sobol sequence
 * (Bratley & Fox, ACM TOMS 659), and the slot overrides (common random
 * numbers: the replication index is the only thing that changes between
 * replications of a point).
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
#include <unistd.h>
#include <errno.h>
#include <sys/stat.h>

#include "sweep.h"

static int lookup_xy(void *ctx, const char *name, double *v)
{
	(void)ctx;
	if (!strcmp(name, "x")) {
		*v = 3;
		return 0;
	}
	if (!strcmp(name, "y.0.z")) {
		*v = 4;
		return 0;
	}
	return -1;
}

static int eval(const char *e, int *out, char *why)
{
	return sweep_expr_eval(e, lookup_xy, NULL, out, why, 200);
}

static void test_expressions(void **state)
{
	(void)state;
	int r = -1;
	char why[200];
	assert_int_equal(eval("x*x + y.0.z*y.0.z == 25", &r, why), 0);
	assert_int_equal(r, 1);
	assert_int_equal(eval("(x - y.0.z) * 2 < -1", &r, why), 0); /* -2 < -1 */
	assert_int_equal(r, 1);
	assert_int_equal(eval("x / 2 >= 1.5e0", &r, why), 0);
	assert_int_equal(r, 1);
	assert_int_equal(eval("-x + 10 / 4 > 0", &r, why), 0); /* -0.5 > 0 */
	assert_int_equal(r, 0);
	assert_int_equal(eval("2 * 3 + 4 != 10", &r, why), 0); /* precedence: 10 */
	assert_int_equal(r, 0);
	assert_int_not_equal(eval("x <=", &r, why), 0);
	assert_int_not_equal(eval("x", &r, why), 0);
	assert_non_null(strstr(why, "comparison"));
	assert_int_not_equal(eval("nope < 1", &r, why), 0);
	assert_non_null(strstr(why, "'nope'"));
	assert_int_not_equal(eval("(x < 1", &r, why), 0);
	assert_int_not_equal(eval("x < 1 2", &r, why), 0);
}

static char g_dir[512];

static const char *write_sweep(const char *name, const char *body)
{
	static char path[700];
	snprintf(path, sizeof path, "%s/%s.yaml", g_dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	char cwd[400];
	assert_non_null(getcwd(cwd, sizeof cwd));
	fprintf(f, "base: %s/examples/queueing/mm4.yaml\nset: { duration: 1 min, warmup: 0 s }\n"
		   "metrics: [station/wait_mean]\n%s",
		cwd, body);
	fclose(f);
	return path;
}

static void plan_of(const char *name, const char *body, sweep_spec *s, sweep_plan *p)
{
	fs_error err;
	fs_error_clear(&err);
	int rc = sweep_load(write_sweep(name, body), s, &err);
	if (rc)
		fail_msg("load: %s", err.message);
	rc = sweep_plan_make(s, p, &err);
	if (rc)
		fail_msg("plan: %s (%s:%d)", err.message, err.file, err.line);
}

static void test_grid_tied(void **state)
{
	(void)state;
	static sweep_spec s;
	sweep_plan p;
	plan_of("grid", "replications: 3\nparameters:\n"
			"  - { name: c, key: station.servers, range: { from: 4, to: 6, step: 1 } }\n"
			"  - { name: mean, key: station.service.mean, values: [1 s, 2 s] }\n"
			"  - { name: rate, key: station.arrival.rate, with: c, values: [1 /s, 2 /s, 3 /s] }\n"
			"constraints: [ \"rate * mean / c < 1\" ]\n",
		&s, &p);
	/* 3 x 2 design points; rate tied to c; rho = rate x mean / c < 1 rules out none
	 * (max 3 x 2 / 6 = 1 is ruled out: exactly 1) */
	assert_int_equal(p.n_design, 6);
	assert_int_equal(p.n_points, 5);
	assert_int_equal(p.n_slots, 15);
	for (uint32_t i = 0; i < p.n_points; i++) {
		const double *v = p.points[i].value;
		assert_true(v[2] == v[0] - 3); /* rate = c - 3 (1, 2, 3 /s for 4, 5, 6) */
		assert_true(v[2] * v[1] / v[0] < 1);
	}
	/* last parameter of its own fastest: point 1 is c=4, mean=2 s */
	assert_int_equal(p.points[1].index, 1);
	assert_true(p.points[1].value[0] == 4 && p.points[1].value[1] == 2);
	/* the slot overrides: the point's values, then the replication index */
	const char *sets[16];
	char buf[2048];
	size_t n0 = sweep_slot_sets(&p, 3, sets, 16, buf, sizeof buf);
	assert_string_equal(sets[n0 - 1], "replication=0");
	assert_string_equal(sets[n0 - 2], "station.arrival.rate=1 /s");
	size_t n2 = sweep_slot_sets(&p, 5, sets, 16, buf, sizeof buf);
	assert_int_equal(n0, n2);
	assert_string_equal(sets[n2 - 1], "replication=2");
	char path[300];
	sweep_slot_path(&p, "OUT.d", 5, path, sizeof path);
	assert_string_equal(path, "OUT.d/p000001_r002.h5");
	sweep_plan_clear(&p);
	sweep_spec_clear(&s);
}

static void test_lhs_strata(void **state)
{
	(void)state;
	static sweep_spec s;
	sweep_plan p;
	plan_of("lhs", "design: lhs\nsamples: 10\ndesign_seed: 7\nparameters:\n"
		       "  - { name: mean, key: station.service.mean, min: 0.1 s, max: 1.1 s }\n"
		       "  - { name: rate, key: station.arrival.rate, min: 0 /s, max: 1 /s }\n",
		&s, &p);
	assert_int_equal(p.n_points, 10);
	for (int k = 0; k < 2; k++) {
		int seen[10] = { 0 };
		for (uint32_t i = 0; i < 10; i++) {
			double v = p.points[i].value[k] - (k == 0 ? 0.1 : 0);
			int stratum = (int)floor(v * 10);
			assert_in_range(stratum, 0, 9);
			seen[stratum]++;
		}
		for (int j = 0; j < 10; j++)
			assert_int_equal(seen[j], 1);
	}
	sweep_plan_clear(&p);
	sweep_spec_clear(&s);
}

static void test_sobol(void **state)
{
	(void)state;
	static sweep_spec s;
	sweep_plan p;
	plan_of("sobol", "design: sobol\nsamples: 4\nparameters:\n"
			 "  - { name: mean, key: station.service.mean, min: 0 s, max: 8 s }\n"
			 "  - { name: rate, key: station.arrival.rate, min: 0 /s, max: 8 /s }\n",
		&s, &p);
	/* the first points of the 2-D Sobol sequence: (1/2, 1/2), (3/4, 1/4),
	 * (1/4, 3/4), (3/8, 3/8) */
	static const double want[4][2] = { { 4, 4 }, { 6, 2 }, { 2, 6 }, { 3, 3 } };
	assert_int_equal(p.n_points, 4);
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 2; k++)
			if (fabs(p.points[i].value[k] - want[i][k]) > 1e-12)
				fail_msg("point %d param %d: %g, want %g", i, k, p.points[i].value[k],
					 want[i][k]);
	sweep_plan_clear(&p);
	sweep_spec_clear(&s);
}

static void test_bad_files(void **state)
{
	(void)state;
	static sweep_spec s;
	fs_error err;
	fs_error_clear(&err);
	/* a value bad for the scenario is reported before anything runs, naming the point */
	sweep_plan p;
	int rc = sweep_load(write_sweep("bad", "parameters:\n"
					       "  - { name: c, key: station.servers, values: [2, -1] }\n"),
			    &s, &err);
	assert_int_equal(rc, 0);
	rc = sweep_plan_make(&s, &p, &err);
	assert_int_equal(rc, FS_ERR_INPUT);
	assert_non_null(strstr(err.message, "sweep point 1 (c=-1)"));
	sweep_spec_clear(&s);
	fs_error_clear(&err);
	rc = sweep_load(write_sweep("dup", "parameters:\n"
					       "  - { name: c, key: station.servers, values: [2] }\n"
					       "  - { name: c, key: station.servers, values: [3] }\n"),
			&s, &err);
	assert_int_equal(rc, FS_ERR_INPUT);
	assert_int_equal(err.line, 6);
	assert_non_null(strstr(err.message, "unique"));
}

int main(void)
{
	snprintf(g_dir, sizeof g_dir, "/tmp/fs_test_sweep.%ld", (long)getpid());
	if (mkdir(g_dir, 0777) && errno != EEXIST)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expressions), cmocka_unit_test(test_grid_tied),
		cmocka_unit_test(test_lhs_strata), cmocka_unit_test(test_sobol),
		cmocka_unit_test(test_bad_files),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
	if (system(cmd))
		rc = rc ? rc : 1;
	return rc;
}
