/*
 * sweepio.h - the sweep result file: /sweep/table, /sweep/points and /runs,
 * written from the sweep's run files, and the merge of shard files.
 *
 * Layout (a sweep file has the root attribute kind = "sweep"):
 *   /sweep/table   compound, one row per point x replication in (point,
 *                  replication) order: point (int64), replication (int64),
 *                  seed (uint64), one float64 per parameter (SI value, or the
 *                  0-based index into the attribute levels.NAME for parameters
 *                  given as words), one float64 per metric.
 *                  attrs: parameters, parameter_keys, parameter_units, metrics,
 *                  metric_units, metric_summaries (string arrays), levels.NAME,
 *                  units, description, rows_expected.
 *   /sweep/points  compound, one row per point: point, the parameters, n
 *                  (replications present), and per metric NAME.mean, NAME.lo,
 *                  NAME.hi (95 % Student-t interval over replications; NaN
 *                  when n < 2).  Written for a complete sweep or a merge.
 *   /runs/pPPPPPP_rRRR  per run: a copy of the run file's groups (series:
 *                  keep) or an external link to its root (series: link).
 * Rows are written in slot order, so the file does not depend on the order
 * in which runs finished, nor on threads, ranks or shards.
 */
#ifndef FS_SWEEPIO_H
#define FS_SWEEPIO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum { SWEEPIO_NONE = 0, SWEEPIO_KEEP = 1, SWEEPIO_LINK = 2 };

typedef struct sweepio_slot {
	uint32_t point, replication;
	const double *values;     /* n_params */
	char run_file[1100];      /* the run's HDF5 file */
} sweepio_slot;

typedef struct sweepio_desc {
	const char *name;
	uint64_t fingerprint, seed;
	uint32_t replications;
	int series;               /* SWEEPIO_* */
	size_t n_params;
	const char *param_names[64], *param_keys[64], *param_units[64];
	char **levels[64];        /* categorical levels (NULL: numeric) */
	size_t n_levels[64];
	size_t n_metrics;
	const char *metric_names[64], *metric_summaries[64];
	uint64_t n_slots;         /* slots this file covers */
	uint64_t rows_expected;   /* slots of the whole sweep */
	uint32_t shard, n_shards;
	/* the i-th slot this file covers (i < n_slots), in slot order */
	int (*slot)(void *ctx, uint64_t i, sweepio_slot *out);
	void *ctx;
} sweepio_desc;

/* Write OUT (temporary name, renamed when complete) from the run files. */
int sweepio_write(const sweepio_desc *d, const char *out, fs_error *err);

/* Read the metrics of one run file (summary paths) into values[]; a path
 * that is missing is an error naming it and the file. */
int sweepio_run_metrics(const char *run_file, const char *const *summaries, size_t n,
			double *values, fs_error *err);

/* Join shard files of one sweep into OUT.  *rows gets the rows written and
 * *expected the rows of the whole sweep (fewer: shards are missing).  A row
 * present in two shards is written once. */
int sweepio_merge(const char *const *shards, size_t n, const char *out, uint64_t *rows,
		  uint64_t *expected, fs_error *err);

#endif
