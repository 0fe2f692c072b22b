/*
 * phold.c - the PHOLD benchmark on the factorysim event core, run sequentially.
 *
 * PHOLD is the synthetic model that ROSS and other DES engines report: N
 * logical processes start with K events each; handling an event schedules
 * exactly one new event, to a uniformly random LP with probability 0.25 and
 * otherwise to itself, after a delay of lookahead 0.1 plus an exponential with
 * mean 0.9 (simulated seconds).  The pending set therefore holds N x K events
 * throughout, which is what the benchmark sweeps.
 *
 * Usage: phold --lps N --start K --end T --seed S [--remote P]
 * The last line reads `... events=<count> events_per_s=<rate> checksum=<hex>`;
 * the checksum folds every processed (time, lp) pair, so the same seed must
 * give the same checksum.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_randist.h>

#include "rng.h"
#include "sim.h"

typedef struct phold {
	gsl_rng *rng;
	uint32_t lps;
	double remote;
	sim_time lookahead;
	double mean_s;
	int model;
	uint64_t checksum;
} phold;

static void phold_event(sim *s, void *ctx, const sim_event *ev)
{
	phold *p = ctx;
	uint64_t h = p->checksum ^ ((uint64_t)ev->time * 0x9e3779b97f4a7c15ULL) ^ ev->lp;
	p->checksum = (h << 13 | h >> 51) * 0xff51afd7ed558ccdULL;

	uint32_t dest = ev->lp;
	if (gsl_rng_uniform(p->rng) < p->remote)
		dest = (uint32_t)gsl_rng_uniform_int(p->rng, p->lps);
	sim_time delay = p->lookahead + sim_from_s(gsl_ran_exponential(p->rng, p->mean_s));
	sim_schedule(s, ev->time + delay, p->model, 0, dest, 0, 0);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: phold --lps N --start K --end T --seed S [--remote P]\n"
			"  N logical processes, K starting events each, run to simulated time T [s]\n");
}

int main(int argc, char **argv)
{
	uint64_t lps = 1024, start = 1, seed = 1;
	double end_s = 100, remote = 0.25;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = !v;
		if (!bad && !strcmp(a, "--lps"))
			bad = parse_u64(v, &lps) || lps == 0 || lps > UINT32_MAX;
		else if (!bad && !strcmp(a, "--start"))
			bad = parse_u64(v, &start) || start == 0;
		else if (!bad && !strcmp(a, "--seed"))
			bad = parse_u64(v, &seed);
		else if (!bad && !strcmp(a, "--end")) {
			char *e;
			end_s = strtod(v, &e);
			bad = *e || !(end_s > 0 && end_s < 1e9);
		} else if (!bad && !strcmp(a, "--remote")) {
			char *e;
			remote = strtod(v, &e);
			bad = *e || !(remote >= 0 && remote <= 1);
		} else
			bad = 1;
		if (bad) {
			fprintf(stderr, "phold: bad argument '%s%s%s'\n", a, v ? " " : "", v ? v : "");
			usage();
			return 2;
		}
		i++;
	}
	if (lps * start > (uint64_t)1 << 31) {
		fprintf(stderr, "phold: N x K = %" PRIu64 " pending events is too many\n", lps * start);
		return 2;
	}

	phold p = { .lps = (uint32_t)lps, .remote = remote, .lookahead = sim_from_s(0.1),
		    .mean_s = 0.9 };
	p.rng = rng_stream_alloc(gsl_rng_taus2, seed, 0, "phold");
	sim *s = sim_create(lps * start);
	if (!p.rng || !s) {
		fprintf(stderr, "phold: out of memory\n");
		return 1;
	}
	sim_handler h[] = { phold_event };
	sim_model m = { .name = "phold", .ctx = &p, .handlers = h, .n_handlers = 1 };
	fs_error err;
	p.model = sim_add_model(s, &m, &err);
	for (uint64_t lp = 0; lp < lps; lp++)
		for (uint64_t k = 0; k < start; k++)
			sim_schedule(s, sim_from_s(gsl_ran_exponential(p.rng, p.mean_s)), p.model, 0,
				     (uint32_t)lp, 0, 0);

	double t0 = now_s();
	int rc = sim_run(s, sim_from_s(end_s), &err);
	double wall = now_s() - t0;
	if (rc) {
		char msg[1024];
		fs_error_format(&err, msg, sizeof msg);
		fprintf(stderr, "phold: %s\n", msg);
		return 1;
	}
	uint64_t n = sim_events_processed(s);
	printf("phold lps=%" PRIu64 " start=%" PRIu64 " pending=%zu end=%g seed=%" PRIu64
	       " wall_s=%.3f events=%" PRIu64 " events_per_s=%.0f checksum=%016" PRIx64 "\n",
	       lps, start, sim_pending_count(s), end_s, seed, wall, n, (double)n / wall,
	       p.checksum);
	sim_destroy(s);
	gsl_rng_free(p.rng);
	return 0;
}
