/*
 * test_rng.c - unit tests of sim/rng.h.
 *
 * SplitMix64 is checked against the published outputs for state 0 (Vigna's
 * splitmix64.c; also re-derived by an independent big-integer implementation);
 * stream seeding against its contract: a function of (seed, replication,
 * name) only, different for different triples.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "rng.h"

static void test_splitmix64_reference(void **state)
{
	(void)state;
	static const uint64_t want[] = { 0xe220a8397b1dcdafULL, 0x6e789e6aa1b965f4ULL,
					 0x06c45d188009454fULL, 0xf88bb8a8724c81ecULL };
	uint64_t st = 0;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		uint64_t got = rng_splitmix64(&st);
		if (got != want[i])
			fail_msg("output %zu: got %016llx want %016llx", i, (unsigned long long)got,
				 (unsigned long long)want[i]);
		/* the state is a Weyl sequence with the golden-ratio increment */
		assert_true(st == (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL);
	}
	/* the output depends on the state only: restarting reproduces it */
	uint64_t a = 12345, b = 12345;
	for (int i = 0; i < 100; i++)
		assert_true(rng_splitmix64(&a) == rng_splitmix64(&b));
}

static void draws(gsl_rng *r, unsigned long *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = gsl_rng_get(r);
}

static void test_stream_reproducible(void **state)
{
	(void)state;
	enum { N = 1000 };
	unsigned long x[N], y[N];
	gsl_rng *a = rng_stream_alloc(NULL, 42, 3, "arrivals");
	/* other streams created in between must not matter */
	gsl_rng *noise = rng_stream_alloc(NULL, 42, 3, "service");
	draws(noise, x, 10);
	gsl_rng *b = rng_stream_alloc(NULL, 42, 3, "arrivals");
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(gsl_rng_name(a), "mt19937"); /* NULL type = mt19937 */
	draws(a, x, N);
	draws(b, y, N);
	assert_memory_equal(x, y, sizeof x);
	assert_true(rng_stream_seed(42, 3, "arrivals") == rng_stream_seed(42, 3, "arrivals"));
	gsl_rng_free(a);
	gsl_rng_free(b);
	gsl_rng_free(noise);

	/* another generator type, same triple: reproducible too */
	a = rng_stream_alloc(gsl_rng_taus2, 7, 0, "x");
	b = rng_stream_alloc(gsl_rng_taus2, 7, 0, "x");
	assert_string_equal(gsl_rng_name(a), "taus2");
	draws(a, x, N);
	draws(b, y, N);
	assert_memory_equal(x, y, sizeof x);
	gsl_rng_free(a);
	gsl_rng_free(b);
}

/* first 4 draws of a stream, as one comparable record */
typedef struct first4 {
	unsigned long v[4];
} first4;

static first4 first_draws(uint64_t seed, uint64_t rep, const char *name)
{
	gsl_rng *r = rng_stream_alloc(NULL, seed, rep, name);
	assert_non_null(r);
	first4 f;
	draws(r, f.v, 4);
	gsl_rng_free(r);
	return f;
}

static void test_streams_differ(void **state)
{
	(void)state;
	/* near-identical triples */
	struct {
		uint64_t seed, rep;
		const char *name;
	} t[] = {
		{ 1, 0, "arrivals" }, { 2, 0, "arrivals" }, { 1, 1, "arrivals" },
		{ 1, 0, "arrivalt" }, { 1, 0, "arrival" },  { 1, 0, "" },
		{ 0, 0, "arrivals" }, { 1, 2, "arrivals" }, { 3, 0, "arrivals" },
		{ 1, 0, "service" },  { 1, 0, "Arrivals" }, { 0, 1, "arrivals" },
	};
	size_t n = sizeof t / sizeof t[0];
	uint64_t seeds[sizeof t / sizeof t[0]];
	first4 f[sizeof t / sizeof t[0]];
	for (size_t i = 0; i < n; i++) {
		seeds[i] = rng_stream_seed(t[i].seed, t[i].rep, t[i].name);
		f[i] = first_draws(t[i].seed, t[i].rep, t[i].name);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			if (seeds[i] == seeds[j])
				fail_msg("triples %zu and %zu share a seed", i, j);
			if (f[i].v[0] == f[j].v[0])
				fail_msg("triples %zu and %zu share a first draw", i, j);
		}
	/* neighbouring seeds should differ in about half of the 64 bits */
	for (uint64_t s = 0; s < 64; s++) {
		uint64_t d = rng_stream_seed(s, 0, "a") ^ rng_stream_seed(s + 1, 0, "a");
		int bits = __builtin_popcountll(d);
		assert_true(bits >= 12 && bits <= 52);
	}
}

static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
	return (a > b) - (a < b);
}

static void test_many_streams_distinct(void **state)
{
	(void)state;
	/* 4000 replications and 4000 names: all 64-bit seeds distinct, and the
	 * first two mt19937 draws (64 bits together) distinct too.  mt19937 takes
	 * a 32-bit seed, so 8000 streams collide by chance with probability about
	 * 0.7 %; a seed squeezed to fewer bits would collide almost surely.  The
	 * inputs are fixed, so the outcome is deterministic. */
	enum { M = 4000 };
	uint64_t *seeds = malloc(2 * M * sizeof *seeds);
	uint64_t *first = malloc(2 * M * sizeof *first);
	assert_true(seeds && first);
	char name[32];
	for (int i = 0; i < 2 * M; i++) {
		uint64_t rep = i < M ? (uint64_t)i : 0;
		if (i < M)
			snprintf(name, sizeof name, "jobs");
		else
			snprintf(name, sizeof name, "gpu%d.failures", i - M);
		seeds[i] = rng_stream_seed(99, rep, name);
		first4 f = first_draws(99, rep, name);
		first[i] = ((uint64_t)(f.v[0] & 0xffffffffUL) << 32) | (f.v[1] & 0xffffffffUL);
	}
	qsort(seeds, 2 * M, sizeof *seeds, cmp_u64);
	qsort(first, 2 * M, sizeof *first, cmp_u64);
	for (int i = 1; i < 2 * M; i++) {
		assert_true(seeds[i] != seeds[i - 1]);
		assert_true(first[i] != first[i - 1]);
	}
	free(seeds);
	free(first);
}

static void test_uniformity_chisq(void **state)
{
	(void)state;
	enum { N = 100000, BINS = 100 };
	const char *names[] = { "arrivals", "service", "x" };
	for (int k = 0; k < 3; k++) {
		gsl_rng *r = rng_stream_alloc(NULL, 2024, (uint64_t)k, names[k]);
		assert_non_null(r);
		long count[BINS] = { 0 };
		for (int i = 0; i < N; i++) {
			double u = gsl_rng_uniform(r);
			assert_true(u >= 0.0 && u < 1.0);
			count[(int)(u * BINS)]++;
		}
		double expect = (double)N / BINS, chi2 = 0;
		for (int b = 0; b < BINS; b++)
			chi2 += (count[b] - expect) * (count[b] - expect) / expect;
		double p = gsl_cdf_chisq_Q(chi2, BINS - 1);
		if (!(p > 1e-4))
			fail_msg("stream %s: chi2 = %.1f, p = %.3g", names[k], chi2, p);
		gsl_rng_free(r);
	}
	/* and the test can fail: a clearly non-uniform sequence is rejected */
	long count[BINS] = { 0 };
	for (int i = 0; i < N; i++) {
		double u = (i % 1000) / 1000.0;
		u = u * u; /* skewed */
		count[(int)(u * BINS)]++;
	}
	double expect = (double)N / BINS, chi2 = 0;
	for (int b = 0; b < BINS; b++)
		chi2 += (count[b] - expect) * (count[b] - expect) / expect;
	assert_true(gsl_cdf_chisq_Q(chi2, BINS - 1) < 1e-4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splitmix64_reference),
		cmocka_unit_test(test_stream_reproducible),
		cmocka_unit_test(test_streams_differ),
		cmocka_unit_test(test_many_streams_distinct),
		cmocka_unit_test(test_uniformity_chisq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
