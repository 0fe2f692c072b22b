/*
 * record.h - what models see of the output: a table of function pointers.
 *
 * Models declare the series they produce once (path, units, description,
 * width) and then set values; the engine's owner (the CLI, a sweep worker or a
 * test) calls commit once per control tick to append one row to every series.
 * Notable moments go to an event log.  The HDF5 implementation lives in
 * output/recorder.c; rec_null() discards everything, for benchmarks and tests.
 *
 * Paths are relative to /timeseries, e.g. "site/it_power" or "racks/power".
 * A series of width 1 is a 1-D dataset [time]; width n > 1 is 2-D [time x n]
 * (one column per rack, say).  Values not set before a commit repeat the last
 * value committed (NaN for the first row), so a model may update sparsely.
 * Time itself is recorded by the sink as /timeseries/time in seconds.
 *
 * Units are SI strings as written to the `units` attribute: "W", "J", "s",
 * "degC", "K", "1" (dimensionless), "1/s", "B", "B/s", "FLOP/s".
 */
#ifndef FS_RECORD_H
#define FS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct rec_sink rec_sink;

/* One row of the /requests table: a finished (or dropped) request. */
typedef struct rec_request {
	uint64_t id;
	uint32_t cls;            /* workload class index */
	int32_t replica;         /* decode (or only) replica; -1 if never served */
	int32_t prefill_replica; /* prefill replica when disaggregated, else = replica */
	double arrival_s;        /* [s] */
	double first_token_s;    /* [s]; NaN if none */
	double finish_s;         /* [s]; NaN if not finished */
	uint32_t input_tokens;
	uint32_t output_tokens;
	uint32_t cached_tokens;  /* input tokens served from the prefix cache */
	uint32_t preemptions;
	uint8_t slo_met;         /* 1 met every SLO of its class, 0 not */
} rec_request;

struct rec_sink {
	void *ctx;
	/* Declare a series; returns its id (>= 0) or a negative fs_code with err set. */
	int (*declare)(void *ctx, const char *path, const char *units, const char *description,
		       size_t width, fs_error *err);
	/* Set column col (0-based) of series id for the row being built. */
	void (*set)(void *ctx, int id, size_t col, double value);
	/* Append the row being built at simulated time t_s. */
	int (*commit)(void *ctx, double t_s, fs_error *err);
	/* Log a notable event: kind ("grid_event", "trip", ...), subject ("rack 12"),
	 * a value with its units, and free text.  Goes to /events. */
	int (*event)(void *ctx, double t_s, const char *kind, const char *subject, double value,
		     const char *units, const char *detail, fs_error *err);
	/* A scalar result for /summary. */
	int (*summary)(void *ctx, const char *name, double value, const char *units,
		       const char *description, fs_error *err);
	/* Append a row to /requests (the caller samples). */
	int (*request)(void *ctx, const rec_request *row, fs_error *err);
	/* Name the classes (for /requests attrs and per-class summaries); once. */
	int (*classes)(void *ctx, const char *const *names, size_t n, fs_error *err);
};

/* A sink that accepts and discards everything; never fails. */
rec_sink *rec_null(void);

/* Convenience wrappers that tolerate a NULL sink. */
static inline int rec_declare(rec_sink *r, const char *path, const char *units, const char *desc,
			      size_t width, fs_error *err)
{
	return r ? r->declare(r->ctx, path, units, desc, width, err) : 0;
}
static inline void rec_set(rec_sink *r, int id, size_t col, double v)
{
	if (r && id >= 0)
		r->set(r->ctx, id, col, v);
}
static inline int rec_commit(rec_sink *r, double t_s, fs_error *err)
{
	return r ? r->commit(r->ctx, t_s, err) : 0;
}
static inline int rec_event(rec_sink *r, double t_s, const char *kind, const char *subject,
			    double value, const char *units, const char *detail, fs_error *err)
{
	return r ? r->event(r->ctx, t_s, kind, subject, value, units, detail, err) : 0;
}
static inline int rec_request_row(rec_sink *r, const rec_request *row, fs_error *err)
{
	return r && r->request ? r->request(r->ctx, row, err) : 0;
}
static inline int rec_classes(rec_sink *r, const char *const *names, size_t n, fs_error *err)
{
	return r && r->classes ? r->classes(r->ctx, names, n, err) : 0;
}
static inline int rec_summary(rec_sink *r, const char *name, double value, const char *units,
			      const char *desc, fs_error *err)
{
	return r ? r->summary(r->ctx, name, value, units, desc, err) : 0;
}

#endif
