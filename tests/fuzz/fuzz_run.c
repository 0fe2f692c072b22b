/* libFuzzer target: a scenario that validates is also run.  The input is
 * scenario YAML (as fuzz_scenario); overrides cut the run to one simulated
 * second without warm-up and a 0.5 s control tick, nothing is recorded
 * (runner output NULL), and scenarios whose memory estimate or expected
 * request count would make one input slow are skipped.  This reaches what
 * validation cannot: the models' set-up and their first iterations under
 * odd but accepted values (catalog figures, lengths, parallelism, cooling,
 * failures). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz_common.h"
#include "memest.h"
#include "runner.h"
#include "scenario.h"

#define MAX_BYTES ((size_t)256 << 20)
#define MAX_REQUESTS 20000.0
#define MAX_RACKS 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!freopen("/dev/null", "r", stdin))
		abort();
	return 0;
}

/* Requests in the shortened run, roughly (sessions: every turn). */
static double requests(const scenario *sc)
{
	double n = sc->has_station ? sc->station.arrival_rate * sc->duration_s : 0;
	for (size_t i = 0; i < sc->n_classes; i++) {
		const wl_class_params *c = &sc->classes[i];
		double turns = c->session.enabled ? c->session.turns_mean : 1;
		n += c->arrival == WL_TRACE ? sc->trace_rate[i] * sc->duration_s
					    : c->rate * turns * sc->duration_s;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	static const char *const sets[] = { "duration=1s", "warmup=0s", "control_tick=0.5s" };
	static scenario sc; /* large: keep it off the stack */
	fs_error err;
	fs_error_clear(&err);
	if (scenario_load_string(text, "fuzz.yaml", sets, 3, &sc, &err) == FS_OK) {
		size_t bytes = 0;
		runner_estimate_memory(&sc, &bytes, NULL, 0);
		bool run = bytes <= MAX_BYTES && requests(&sc) <= MAX_REQUESTS &&
			   sc.n_rack_list <= MAX_RACKS;
		int rc = -1;
		if (run) {
			runner_opts o = { .scenario_file = "fuzz.yaml", .output = NULL };
			run_summary sum;
			rc = runner_run(&sc, &o, &sum, &err);
			if (rc == FS_OK)
				runner_summary_free(&sum);
		}
		if (getenv("FUZZ_RUN_VERBOSE")) /* replaying: say what happened */
			fprintf(stderr, "fuzz_run: %s%s\n",
				!run ? "skipped (too big)" : rc ? "run failed: " : "ran",
				run && rc ? err.message : "");
		scenario_clear(&sc);
	} else if (getenv("FUZZ_RUN_VERBOSE")) {
		fprintf(stderr, "fuzz_run: invalid: %s\n", err.message);
	}
	free(text);
	return 0;
}
