/*
 * sweep.h - parameter sweeps: many design points x replications of one base
 * scenario, run on an OpenMP pool, over MPI ranks or as a Slurm array.
 *
 * A sweep file (YAML) names the base scenario, the parameters to vary by key
 * path (lists, ranges, full grids, Latin hypercube or Sobol samples),
 * constraints that rule points out, the replications, the metrics to collect
 * (summary paths of a run file) and what to keep of each run's time series.
 * See examples/sweep/README.md for the schema.
 *
 * How a sweep runs, and why it can always resume:
 *  - The plan is a pure function of the sweep file and the scenarios it loads:
 *    every design point's scenario is loaded and validated (and its
 *    constraints evaluated) before anything runs, so a bad value stops the
 *    sweep up front with a file:line:col message.
 *  - Feasible points x replications are numbered into slots.  Replication r
 *    of every point runs with the base seed and replication index r, so all
 *    points see the same workload stream (common random numbers).
 *  - Each slot is an ordinary run written to OUT.d/pPPPPPP_rRRR.h5 through
 *    the recorder (temporary name, fsync, rename).  A run file under its
 *    final name is therefore complete; on restart such slots are skipped, a
 *    killed run leaves only a .tmp file that is cleaned up, and nothing is
 *    lost or run twice.
 *  - OUT is then written from the run files in slot order (output/sweepio.c),
 *    so the table is the same whatever the thread count, rank count or
 *    sharding that produced them.
 */
#ifndef FS_SWEEP_H
#define FS_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SWEEP_NAME_LEN 64
#define SWEEP_KEY_LEN 192
#define SWEEP_MAX_PARAMS 40   /* gsl_qrng_sobol's dimension limit */
#define SWEEP_MAX_METRICS 64
#define SWEEP_MAX_SETS 64
#define SWEEP_MAX_POINTS 10000000u

enum sweep_design { SWEEP_GRID, SWEEP_LHS, SWEEP_SOBOL };
enum sweep_series { SWEEP_SERIES_NONE, SWEEP_SERIES_KEEP, SWEEP_SERIES_LINK };

typedef struct sweep_param {
	char name[SWEEP_NAME_LEN]; /* column name in /sweep/table */
	char key[SWEEP_KEY_LEN];   /* scenario key path, e.g. power.gpu_cap or racks.0.count */
	/* values as scenario text: a list, or generated from a range */
	char **values;
	size_t n_values;
	/* for lhs/sobol: a numeric interval in `unit`, or the list above */
	bool interval;
	double lo, hi;
	char unit[32];
	bool integer, log_scale;
	int with;                  /* >= 0: varies together with that parameter (same
				    * value index), not as a dimension of its own */
} sweep_param;

typedef struct sweep_metric {
	char name[SWEEP_NAME_LEN];     /* column name */
	char summary[SWEEP_KEY_LEN];   /* /summary path in a run file */
} sweep_metric;

typedef struct sweep_spec {
	char file[512];     /* the sweep file */
	char base[1024];    /* the base scenario, as a path usable from the cwd */
	char name[SWEEP_NAME_LEN];
	uint32_t replications;
	int design;         /* enum sweep_design */
	uint32_t samples;   /* lhs/sobol */
	uint64_t design_seed; /* lhs permutations */
	int series;         /* enum sweep_series */
	char *sets[SWEEP_MAX_SETS]; /* fixed overrides, "key=value" */
	size_t n_sets;
	sweep_param params[SWEEP_MAX_PARAMS];
	size_t n_params;
	char **constraints; /* expressions; all must hold */
	int *constraint_line, *constraint_col;
	size_t n_constraints;
	sweep_metric metrics[SWEEP_MAX_METRICS];
	size_t n_metrics;
} sweep_spec;

/* One feasible point of the plan. */
typedef struct sweep_point {
	uint32_t index;   /* design index (grid position or sample number) */
	double *value;    /* n_params SI values (categorical: level index) */
	char **text;      /* n_params scenario texts */
} sweep_point;

typedef struct sweep_plan {
	const sweep_spec *spec;
	uint64_t seed;            /* the base scenario's seed */
	uint32_t n_design;        /* design points before constraints */
	sweep_point *points;      /* feasible points, in design order */
	uint32_t n_points;
	uint64_t n_slots;         /* n_points x replications */
	uint64_t fingerprint;     /* hash of every point's resolved scenario */
	double est_run_s;         /* rough wall time of one run on one core */
	char **levels[SWEEP_MAX_PARAMS]; /* categorical levels per param (or NULL) */
	size_t n_levels[SWEEP_MAX_PARAMS];
} sweep_plan;

int sweep_load(const char *path, sweep_spec *out, fs_error *err);
void sweep_spec_clear(sweep_spec *s);

/* Enumerate the design, load and validate every point, apply constraints. */
int sweep_plan_make(const sweep_spec *s, sweep_plan *out, fs_error *err);
void sweep_plan_clear(sweep_plan *p);

/* The "key=value" overrides of a slot (fixed sets, the point, replication):
 * fills sets[] (pointing into plan/spec memory and buf) and returns the count. */
size_t sweep_slot_sets(const sweep_plan *p, uint64_t slot, const char **sets, size_t max,
		       char *buf, size_t buf_len);

/* The run file of a slot: DIR/pPPPPPP_rRRR.h5 */
void sweep_slot_path(const sweep_plan *p, const char *dir, uint64_t slot, char *buf, size_t n);

typedef struct sweep_opts {
	const char *output;   /* OUT; runs go to OUT.d/ */
	int threads;          /* OpenMP threads; <= 0: 1 */
	uint32_t shard, n_shards; /* run slots with slot % n_shards == shard */
	bool quiet;
	bool use_mpi;         /* MPI=1 builds under mpirun: rank 0 hands out slots */
} sweep_opts;

typedef struct sweep_stats {
	uint64_t ran, skipped, total;
	double wall_s;
} sweep_stats;

/* Run the slots of this process (resuming), then write OUT.  Returns 0, or
 * an fs_code (FS_ERR_INTERRUPTED-like codes when stopped by a signal). */
int sweep_run(const sweep_plan *p, const sweep_opts *o, sweep_stats *st, fs_error *err);

/* Ask running sweeps to stop (async-signal-safe). */
void sweep_request_stop(void);

/* Evaluate a constraint expression with the variables given by lookup;
 * *out is 1 if it holds, 0 if not.  Exposed for tests. */
typedef int (*sweep_lookup_fn)(void *ctx, const char *name, double *value);
int sweep_expr_eval(const char *expr, sweep_lookup_fn lookup, void *ctx, int *out, char *why,
		    size_t why_len);

#endif
