/*
 * recorder.h - the HDF5 run file.  This module and its siblings in output/ are
 * the only code that calls HDF5.
 *
 * A recorder owns one run file.  It is written under a temporary name in the
 * same directory (PATH.tmp.PID) and renamed to PATH only by recorder_close()
 * after everything is flushed, so an interrupted or failed run never leaves a
 * corrupt file under the output name, and an earlier file of that name stays
 * untouched until the new one is complete.  A run killed outright (SIGKILL, a
 * crash) leaves PATH.tmp.PID behind; recorder_open() removes such files whose
 * process no longer exists on this host (a live writer's are left alone).
 * An interrupted run may instead keep what it has: recorder_close_partial().
 *
 * Layout (DESIGN.md, "Output"):
 *   /                    attrs: program, version, git_revision, scenario_name,
 *                        scenario_file, seed, replication, tick_s, complete,
 *                        partial (1: an interrupted run's results so far, with
 *                        stopped_at_s, the simulated time reached),
 *                        gpu_figures (calibrated or datasheet, per GPU used)
 *   /scenario/given      the YAML as given (string dataset)
 *   /scenario/resolved   the resolved YAML, every default filled in
 *   /summary/NAME        scalar datasets, each with units + description
 *   /timeseries/time     control-tick times [s]
 *   /timeseries/PATH     one per declared series: 1-D [time] or 2-D [time x width]
 *   /events              compound table: time, kind, subject, value, units, detail
 *   /requests            compound table, one row per request passed to the sink's
 *                        request(): the fields of rec_request (record.h) named id,
 *                        class, replica, prefill_replica, arrival, first_token,
 *                        finish, input_tokens, output_tokens, cached_tokens,
 *                        preemptions, slo_met; packed little-endian.  Always
 *                        present (0 rows if none).  attrs: units, description,
 *                        field_units and field_descriptions (string arrays in
 *                        field order), classes (string array: name of class i;
 *                        empty if classes() was never called)
 * Every dataset carries `units` and `description` attributes.  Series are
 * chunked, extendible (unlimited first dimension) and deflate-compressed; rows
 * are buffered in memory and written a chunk at a time, so memory does not grow
 * with the length of the run.  Object time stamps are switched off so that two
 * runs with the same seed give byte-comparable datasets (h5diff).
 */
#ifndef FS_RECORDER_H
#define FS_RECORDER_H

#include <stdint.h>

#include "error.h"
#include "record.h"

typedef struct recorder recorder;

typedef struct recorder_meta {
	const char *version;           /* program version, e.g. "0.1.0" */
	const char *git_revision;      /* short hash, "unknown" outside git */
	const char *scenario_name;
	const char *scenario_file;     /* path as given on the command line */
	uint64_t seed;
	uint32_t replication;
	double tick_s;                 /* control tick [s] */
	const char *scenario_given;    /* YAML text as given (may be NULL) */
	const char *scenario_resolved; /* resolved YAML text (may be NULL) */
	const char *gpu_figures;       /* which GPUs' figures are calibrated and which are
					* datasheet, e.g. "h200: calibrated; a100: datasheet" */
} recorder_meta;

typedef struct recorder_opts {
	int compression;   /* deflate level 0-9; 0 = none; default 4 */
	uint32_t chunk_rows; /* rows per chunk and per write; default 1024 */
} recorder_opts;

/* Create the temporary file and write the metadata.  opts may be NULL. */
int recorder_open(const char *path, const recorder_meta *meta, const recorder_opts *opts,
		  recorder **out, fs_error *err);

/* The models-facing interface of this recorder; valid until close/abort. */
rec_sink *recorder_sink(recorder *r);

/* Flush every buffer, set the root attribute complete=1, close the file and
 * rename it to its final path.  Frees r whether or not it succeeds; on
 * failure the temporary file is removed. */
int recorder_close(recorder *r, fs_error *err);

/* The same for an interrupted run whose results so far are worth keeping:
 * flush, leave complete = 0, set the root attributes partial = 1 and
 * stopped_at_s (the simulated time reached), close and rename into place. */
int recorder_close_partial(recorder *r, double stopped_at_s, fs_error *err);

/* Close and delete the temporary file; the final path is left untouched.
 * Frees r.  NULL is a no-op. */
void recorder_abort(recorder *r);

/* The temporary path being written (for messages and tests). */
const char *recorder_tmp_path(const recorder *r);

#endif
