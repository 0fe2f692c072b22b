/*
 * facility_bench.c - facility-scale figures: the 100 MW campus (or any
 * factory scenario), whole or a scaled fraction, through the full run (the
 * runner: serving, power chain, cooling, controller, HDF5 recorder).
 *
 *   facility-bench [SCENARIO] [--fraction F] [-j THREADS] [--sequential]
 *                  [--set PATH=VALUE]... [-o FILE] [--keep] [--print-sets]
 *
 * --fraction F scales the site together: every pool's racks (and so the rack
 * counts), every class's arrival rate, the power budget and the power-chain
 * ratings, so that a fraction of the campus runs at the same load per rack.
 * -j sets the OpenMP threads of the windowed serving engine (results do not
 * depend on it); --sequential runs the exact sequential engine
 * (serving.window = 0).  The HDF5 file goes to -o (default
 * build/facility-bench.h5, removed unless --keep), so that the recorder's
 * memory and time are part of the figures.  --print-sets prints the
 * overrides instead of running, for `factorysim run`.
 *
 * The last line is the machine-readable result:
 *   facility-bench ... wall_s= simulated_requests= simulated_requests_per_s=
 *   peak_rss_mb= racks= gpus=
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "runner.h"
#include "scenario.h"
#include "threads.h"

#define MAX_SETS 256

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(const fs_error *err)
{
	char msg[2048];
	fs_error_format(err, msg, sizeof msg);
	fprintf(stderr, "facility-bench: %s\n", msg);
	return 1;
}

static double peak_rss_mb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* --set strings, owned */
typedef struct sets {
	char *v[MAX_SETS];
	size_t n;
} sets;

static void add_set(sets *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_set(sets *s, const char *fmt, ...)
{
	if (s->n >= MAX_SETS) {
		fprintf(stderr, "facility-bench: too many --set overrides\n");
		exit(2);
	}
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	s->v[s->n++] = strdup(buf);
}

/* The pool a class enters (as serving_create finds it). */
static int class_pool(const scenario *sc, const wl_class_params *cp)
{
	for (size_t p = 0; p < sc->serving.n_pools; p++) {
		const srv_pool_params *pp = &sc->serving.pools[p];
		if (!strcmp(pp->model, cp->model) && pp->role != SRV_ROLE_DECODE &&
		    (!cp->pool[0] || !strcmp(pp->name, cp->pool)))
			return (int)p;
	}
	return -1;
}

/* The overrides that scale a loaded scenario's site by f.  Racks are whole,
 * so a class's rate scales with its pool's actual rack ratio: the load per
 * replica is the campus's at every fraction. */
static void scale_sets(const scenario *sc, double f, sets *out)
{
	/* pools first: the racks of each type become the sum of its pools' racks
	 * (plus its unused racks, scaled) */
	int type_racks[SC_MAX_RACKS] = { 0 }, type_used[SC_MAX_RACKS] = { 0 };
	double ratio[SC_MAX_POOLS];
	for (size_t p = 0; p < sc->serving.n_pools; p++) {
		const srv_pool_params *pp = &sc->serving.pools[p];
		int n = (int)lround(pp->racks * f);
		if (n < 1)
			n = 1;
		ratio[p] = (double)n / pp->racks;
		add_set(out, "serving.pools.%zu.racks=%d", p, n);
		for (size_t t = 0; t < sc->n_racks; t++)
			if (!strcmp(sc->racks[t].type, pp->rack)) {
				/* pools on different GPU groups of one type share racks */
				if (pp->rack_group == 0) {
					type_racks[t] += n;
					type_used[t] += pp->racks;
				}
				break;
			}
	}
	for (size_t t = 0; t < sc->n_racks; t++) {
		int rest = (int)lround((sc->racks[t].count - type_used[t]) * f);
		int n = type_racks[t] + (rest > 0 ? rest : 0);
		add_set(out, "racks.%zu.count=%d", t, n < 1 ? 1 : n);
	}
	for (size_t c = 0; c < sc->n_classes; c++) {
		int p = class_pool(sc, &sc->classes[c]);
		double r = p >= 0 ? ratio[p] : f;
		if (sc->classes[c].rate > 0)
			add_set(out, "workload.%zu.arrival.rate=%.17g/s", c, sc->classes[c].rate * r);
	}
	if (sc->has_site) {
		add_set(out, "site.power_budget=%.17gW", sc->site.budget_w * f);
		for (size_t k = 0; k < sc->site.n_chain; k++)
			add_set(out, "power.chain.%zu.rating=%.17gW", k, sc->site.chain[k].rating_w * f);
	}
}

int main(int argc, char **argv)
{
	threads_prefer_passive(argv); /* see threads.h */
	/* the serving model splits its CPU time into parallel and serial parts */
	setenv("FS_SHARD_TIMING", "1", 0);
	const char *path = "examples/campus-100mw/campus-100mw.yaml";
	const char *output = "build/facility-bench.h5";
	double fraction = 1.0;
	int threads = 0;
	bool keep = false, sequential = false, print_sets = false;
	sets user = { 0 };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--set") && i + 1 < argc)
			add_set(&user, "%s", argv[++i]);
		else if (!strcmp(argv[i], "--fraction") && i + 1 < argc)
			fraction = atof(argv[++i]);
		else if (!strcmp(argv[i], "-j") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			output = argv[++i];
		else if (!strcmp(argv[i], "--keep"))
			keep = true;
		else if (!strcmp(argv[i], "--print-sets"))
			print_sets = true;
		else if (!strcmp(argv[i], "--sequential"))
			sequential = true;
		else if (argv[i][0] != '-')
			path = argv[i];
		else {
			fprintf(stderr, "usage: facility-bench [SCENARIO] [--fraction F] [-j THREADS] "
					"[--sequential] [--set PATH=VALUE]... [-o FILE] [--keep] [--print-sets]\n");
			return 2;
		}
	}
	if (!(fraction > 0 && fraction <= 1)) {
		fprintf(stderr, "facility-bench: --fraction %g; expected 0 < F <= 1\n", fraction);
		return 2;
	}
#ifdef _OPENMP
	if (threads > 0)
		omp_set_num_threads(threads);
	threads = omp_get_max_threads();
#else
	threads = 1;
#endif
	static scenario sc;
	fs_error err;
	fs_error_clear(&err);
	sets all = { 0 };
	if (fraction < 1) {
		/* the user's overrides first (they may change what is scaled), then
		 * the scaling, then the user's again (an explicit value wins) */
		if (scenario_load(path, (const char *const *)user.v, user.n, &sc, &err))
			return fail(&err);
		scale_sets(&sc, fraction, &all);
		scenario_clear(&sc);
	}
	for (size_t i = 0; i < user.n; i++)
		add_set(&all, "%s", user.v[i]);
	if (sequential)
		add_set(&all, "serving.window=0s");
	if (print_sets) {
		/* the overrides, for `factorysim run SCENARIO $(facility-bench --print-sets ...)` */
		for (size_t i = 0; i < all.n; i++)
			printf("--set %s%s", all.v[i], i + 1 < all.n ? " " : "\n");
		return 0;
	}
	double t0 = now_s();
	if (scenario_load(path, (const char *const *)all.v, all.n, &sc, &err))
		return fail(&err);
	double t_load = now_s() - t0;
	run_summary sum;
	runner_opts o = { .scenario_file = path, .output = output };
	double t1 = now_s();
	if (runner_run(&sc, &o, &sum, &err))
		return fail(&err);
	double wall = now_s() - t1;
	uint64_t racks = sc.n_rack_list, gpus = 0;
	for (uint32_t k = 0; k < sc.n_rack_list; k++)
		for (int g = 0; g < sc.rack_list[k]->n_groups; g++)
			gpus += (uint64_t)sc.rack_list[k]->groups[g].count;
	uint64_t simulated = sum.has_serving ? sum.sv.simulated : 0;
	printf("facility-bench %s: fraction %g, %" PRIu64 " racks, %" PRIu64 " GPUs, %" PRIu64
	       " replicas, %.0f s simulated (%.0f s warm-up), load %.2f s, run %.2f s\n",
	       sc.name, fraction, racks, gpus, sum.sv.replicas, sc.warmup_s + sc.duration_s,
	       sc.warmup_s, t_load, sum.wall_s);
	if (sum.has_serving)
		printf("  serving: output %.0f tok/s, TTFT p50 %.3f s p99 %.3f s, TPOT p50 %.1f ms p99 "
		       "%.1f ms, SLO %.2f %%\n",
		       sum.sv.overall.output_tokens_per_s, sum.sv.overall.ttft_p50_s,
		       sum.sv.overall.ttft_p99_s, 1e3 * sum.sv.overall.tpot_p50_s,
		       1e3 * sum.sv.overall.tpot_p99_s, 100 * sum.sv.overall.slo_attainment);
	for (size_t c = 0; sum.has_serving && c < sum.sv.n_classes; c++) {
		const srv_class_result *x = &sum.sv.classes[c];
		printf("  %-10s %9.0f tok/s, TTFT p50 %.3f p99 %.3f s, TPOT p50 %.1f p99 %.1f ms, "
		       "SLO %.2f %%, finished %" PRIu64 " of %" PRIu64 "\n",
		       x->name, x->output_tokens_per_s, x->ttft_p50_s, x->ttft_p99_s,
		       1e3 * x->tpot_p50_s, 1e3 * x->tpot_p99_s, 100 * x->slo_attainment, x->finished,
		       x->arrived);
	}
	if (sum.has_site)
		printf("  site: IT %.2f MW mean, facility %.2f MW mean (peak %.2f), PUE %.3f, "
		       "IT energy %.4f MWh\n",
		       sum.fac.it_mean_w / 1e6, sum.fac.facility_mean_w / 1e6,
		       sum.fac.facility_peak_w / 1e6, sum.fac.pue, sum.fac.e_it_j / 3.6e9);
	if (sum.sv.shard_cpu_s > 0) {
		/* what the run would take on idle cores: the serial part (routing,
		 * arrivals, barriers, facility, recorder) plus the shards' work
		 * spread over the threads (measured in CPU time, so it holds on a
		 * loaded machine) */
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		double cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
			     (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
		double par = sum.sv.shard_cpu_s, ser = cpu - par;
		printf("  cpu: %.1f s in all, %.1f s in the shards (parallel), %.1f s serial; on idle "
		       "cores: 1 thread %.1f s, 2 threads %.1f s\n",
		       cpu, par, ser, cpu, ser + sum.sv.shard_two_s);
	}
	printf("facility-bench fraction=%g threads=%d window_s=%g wall_s=%.3f simulated_requests=%" PRIu64
	       " simulated_requests_per_s=%.0f peak_rss_mb=%.1f racks=%" PRIu64 " gpus=%" PRIu64 "\n",
	       fraction, threads, sc.serving.window_s, wall, simulated,
	       wall > 0 ? (double)simulated / wall : 0.0, peak_rss_mb(), racks, gpus);
	runner_summary_free(&sum);
	scenario_clear(&sc);
	if (!keep)
		remove(output);
	for (size_t i = 0; i < user.n; i++)
		free(user.v[i]);
	for (size_t i = 0; i < all.n; i++)
		free(all.v[i]);
	return 0;
}
