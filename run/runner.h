/*
 * runner.h - one simulation run, from a loaded scenario to a closed HDF5 file.
 *
 * This is the composition root: it builds the workload, the event engine and
 * the models a scenario names (station, serving, facility, faults), runs warm-up plus
 * duration with a control tick that commits one row of every series, writes
 * the summary, and closes the recorder (temporary file renamed into place).
 * The CLI's `run`, the sweep workers and the benchmarks all call it.
 *
 * Thread safety: runner_run() keeps no global state; several may run at once
 * in one process (sweeps), each with its own scenario copy.  HDF5 access is
 * serialised inside output/ (h5lock.h).
 */
#ifndef FS_RUNNER_H
#define FS_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "facility.h"
#include "faults.h"
#include "record.h"
#include "scenario.h"
#include "serving.h"
#include "sim.h"
#include "station.h"

typedef struct run_summary {
	const scenario *sc;
	const char *output; /* the HDF5 path, or NULL */
	double wall_s;
	uint64_t events;
	bool has_station;
	station_result st;
	bool has_serving;
	srv_result sv;
	bool has_site;
	fac_result fac;
	bool has_faults;
	flt_result flt;
	serving *sv_model; /* kept alive for the class results; runner_summary_free() */
} run_summary;

typedef struct runner_opts {
	const char *scenario_file; /* as given, for the file's root attributes */
	const char *output;        /* HDF5 path; NULL: record nothing */
	/* optional: told every summary value as it is recorded (sweeps collect
	 * their metrics this way); name is the /summary path */
	void (*on_summary)(void *ctx, const char *name, double value, const char *units);
	void *summary_ctx;
	bool progress;             /* a progress line on stderr */
	/* called with the engine just before it runs and with NULL after, so that
	 * a signal handler can sim_stop() it */
	void (*running)(sim *s, void *ctx);
	void *running_ctx;
} runner_opts;

/* Run sc.  On success sum is filled (free it with runner_summary_free) and
 * the file, if any, is in place.  On failure or interruption the temporary
 * file is removed and an earlier file under the output name is untouched. */
int runner_run(const scenario *sc, const runner_opts *o, run_summary *sum, fs_error *err);

void runner_summary_free(run_summary *sum);

/* "h200: calibrated; rubin-cpx: datasheet": which GPU figures a run uses. */
void runner_gpu_figures(const scenario *sc, char *buf, size_t n);

#endif
