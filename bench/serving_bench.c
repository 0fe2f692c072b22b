/*
 * serving_bench.c - how many requests the serving twin simulates per wall
 * second on one core, for a busy fleet.
 *
 * Usage: serving-bench [SCENARIO] [--set PATH=VALUE]... [--naive]
 * Default scenario: bench/serving-bench.yaml (512 Llama-3.1-8B replicas on 64
 * HGX H100 servers, Azure-conversation-shaped requests near capacity).  The
 * last line reads `... simulated_requests=<n> simulated_requests_per_s=<rate>`.
 * Nothing is written to disk: the recorder is the null sink.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scenario.h"
#include "serving.h"
#include "sim.h"
#include "workload.h"

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
	fprintf(stderr, "serving-bench: %s\n", msg);
	return 1;
}

int main(int argc, char **argv)
{
	const char *path = "bench/serving-bench.yaml";
	const char *sets[64];
	size_t nsets = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--set") && i + 1 < argc && nsets < 63)
			sets[nsets++] = argv[++i];
		else if (!strcmp(argv[i], "--naive"))
			sets[nsets++] = "serving.naive=true";
		else if (argv[i][0] != '-')
			path = argv[i];
		else {
			fprintf(stderr, "usage: serving-bench [SCENARIO] [--set PATH=VALUE]... [--naive]\n");
			return 2;
		}
	}
	static scenario sc;
	fs_error err;
	fs_error_clear(&err);
	if (scenario_load(path, sets, nsets, &sc, &err))
		return fail(&err);
	if (!sc.has_serving) {
		fprintf(stderr, "serving-bench: %s has no serving section\n", path);
		return 2;
	}
	sim *s = sim_create(1 << 16);
	workload *wl = NULL;
	serving *sv = NULL;
	double t0 = now_s();
	if (!s || workload_create(sc.classes, sc.n_classes, sc.seed, sc.replication, &wl, &err) ||
	    serving_create(s, &sc.serving, sc.pool_hw, wl, sc.seed, sc.replication, sc.warmup_s,
			   NULL, &sv, &err))
		return fail(&err);
	double t1 = now_s();
	if (sim_run(s, sim_from_s(sc.warmup_s + sc.duration_s), &err))
		return fail(&err);
	double wall = now_s() - t1;
	srv_result r;
	serving_result(sv, &r);
	/* every request simulated, warm-up included: arrivals are what the engine handled */
	uint64_t n = 0;
	for (size_t c = 0; c < r.n_classes; c++)
		n += r.classes[c].arrived;
	double sim_s = sc.warmup_s + sc.duration_s;
	double scale = sim_s / sc.duration_s; /* arrived counts only the measured window */
	uint64_t simulated = (uint64_t)((double)n * scale + 0.5);
	printf("serving-bench %s: %" PRIu64 " replicas, %" PRIu64 " GPUs, %.0f s simulated, "
	       "setup %.2f s\n",
	       sc.name, r.replicas, r.gpus, sim_s, t1 - t0);
	printf("  finished %" PRIu64 ", output %.0f tok/s, TTFT p50 %.3f s, TPOT p50 %.1f ms, "
	       "iterations %" PRIu64 " in %" PRIu64 " engine events, %" PRIu64 " events total\n",
	       r.overall.finished, r.overall.output_tokens_per_s, r.overall.ttft_p50_s,
	       1e3 * r.overall.tpot_p50_s, r.iterations, r.stretches, sim_events_processed(s));
	printf("serving-bench mode=%s wall_s=%.3f simulated_requests=%" PRIu64
	       " simulated_requests_per_s=%.0f\n",
	       sc.serving.naive ? "naive" : "fast", wall, simulated, (double)simulated / wall);
	serving_destroy(sv);
	workload_destroy(wl);
	sim_destroy(s);
	scenario_clear(&sc);
	return 0;
}
